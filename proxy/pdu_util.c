/* Small helpers over standalone libcoap PDUs: copy with changes, option lookup, path formatting. */
#include "proxy/pdu_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool in_skip(const lpw_pdu_copy_opts_t *opts, uint16_t number)
{
	if (!opts || !opts->skip)
		return false;
	for (size_t i = 0; i < opts->n_skip; i++)
		if (opts->skip[i] == number)
			return true;
	return false;
}

static int add_option(coap_pdu_t *dst, uint16_t number, size_t len, const uint8_t *value)
{
	/* coap_add_option refuses (returns 0) when dst's max size would be exceeded: report, never truncate. */
	if (coap_add_option(dst, number, len, value) == 0)
		return -ENOSPC;
	return 0;
}

static int add_uri_path(coap_pdu_t *dst, const lpw_pdu_copy_opts_t *opts)
{
	for (size_t i = 0; i < opts->n_uri_path; i++) {
		int rc = add_option(dst, COAP_OPTION_URI_PATH, opts->uri_path[i].len, opts->uri_path[i].value);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int check_opts(const lpw_pdu_copy_opts_t *opts)
{
	if (!opts || !opts->replace_uri_path)
		return 0;
	if (opts->n_uri_path > 0 && !opts->uri_path)
		return -EINVAL;
	for (size_t i = 0; i < opts->n_uri_path; i++) {
		if (opts->uri_path[i].len > LPW_PDU_MAX_SEGMENT)
			return -EINVAL;
		if (opts->uri_path[i].len > 0 && !opts->uri_path[i].value)
			return -EINVAL;
	}
	return 0;
}

static int copy_options(coap_pdu_t *dst, const coap_pdu_t *src, const lpw_pdu_copy_opts_t *opts)
{
	bool replace = opts && opts->replace_uri_path;
	bool path_done = !replace;
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	int rc;

	coap_option_iterator_init(src, &it, COAP_OPT_ALL);
	while ((opt = coap_option_next(&it))) {
		uint16_t number = it.number;

		/* The replacement goes where the Uri-Path options were, so dst keeps src's order and libcoap never
		 * has to insert an option in the middle. */
		if (!path_done && number >= COAP_OPTION_URI_PATH) {
			rc = add_uri_path(dst, opts);
			if (rc < 0)
				return rc;
			path_done = true;
		}
		if ((replace && number == COAP_OPTION_URI_PATH) || in_skip(opts, number))
			continue;
		rc = add_option(dst, number, coap_opt_length(opt), coap_opt_value(opt));
		if (rc < 0)
			return rc;
	}
	if (!path_done)
		return add_uri_path(dst, opts);
	return 0;
}

int lpw_pdu_copy(coap_pdu_t *dst, const coap_pdu_t *src, const lpw_pdu_copy_opts_t *opts)
{
	const uint8_t *data;
	size_t len;
	int rc;

	if (!dst || !src)
		return -EINVAL;
	rc = check_opts(opts);
	if (rc < 0)
		return rc;
	if (opts && opts->copy_token) {
		coap_bin_const_t tok = coap_pdu_get_token(src);

		if (!coap_add_token(dst, tok.length, tok.s))
			return -EINVAL;
	}
	coap_pdu_set_code(dst, coap_pdu_get_code(src));
	rc = copy_options(dst, src, opts);
	if (rc < 0)
		return rc;
	if (coap_get_data(src, &len, &data) && len > 0) {
		if (!coap_add_data(dst, len, data))
			return -ENOSPC;
	}
	return 0;
}

bool lpw_pdu_has_option(const coap_pdu_t *pdu, uint16_t number)
{
	coap_opt_iterator_t it;

	if (!pdu)
		return false;
	/* coap_check_option returns the option itself, non-NULL even when its value is empty. */
	return coap_check_option(pdu, number, &it) != NULL;
}

int lpw_pdu_get_options(const coap_pdu_t *pdu, uint16_t number, lpw_pdu_optval_t *out, size_t max)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	int count = 0;

	if (!pdu || (!out && max > 0))
		return -EINVAL;
	coap_option_iterator_init(pdu, &it, COAP_OPT_ALL);
	while ((opt = coap_option_next(&it))) {
		if (it.number != number)
			continue;
		if ((size_t)count < max) {
			out[count].len = coap_opt_length(opt);
			out[count].value = out[count].len ? coap_opt_value(opt) : NULL;
		}
		count++;
	}
	return count;
}

static bool needs_escape(uint8_t c)
{
	return c == '/' || c == '%' || c < 0x21 || c > 0x7e;
}

/* Appends s (n bytes) at *pos; on overflow stops, keeps buf terminated and reports -ENOSPC. */
static int put(char *buf, size_t size, size_t *pos, const char *s, size_t n)
{
	if (*pos + n >= size) {
		buf[*pos] = '\0';
		return -ENOSPC;
	}
	memcpy(buf + *pos, s, n);
	*pos += n;
	buf[*pos] = '\0';
	return 0;
}

static int put_segment(char *buf, size_t size, size_t *pos, const lpw_pdu_optval_t *seg)
{
	int rc = put(buf, size, pos, "/", 1);

	for (size_t i = 0; rc == 0 && i < seg->len; i++) {
		uint8_t c = seg->value[i];
		char esc[4];

		if (needs_escape(c)) {
			snprintf(esc, sizeof(esc), "%%%02X", c);
			rc = put(buf, size, pos, esc, 3);
		} else {
			rc = put(buf, size, pos, (const char *)&seg->value[i], 1);
		}
	}
	return rc;
}

int lpw_pdu_path_str(const lpw_pdu_optval_t *segs, size_t n, char *buf, size_t size)
{
	size_t pos = 0;
	int rc;

	if (!buf || size == 0 || (!segs && n > 0))
		return -EINVAL;
	buf[0] = '\0';
	if (n == 0)
		rc = put(buf, size, &pos, "/", 1);
	else
		rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = put_segment(buf, size, &pos, &segs[i]);
	return rc < 0 ? rc : (int)pos;
}

int lpw_pdu_uri_path_str(const coap_pdu_t *pdu, char *buf, size_t size)
{
	/* A datagram CoAP message is at most a few kB: 64 segments is far beyond any real path. */
	lpw_pdu_optval_t segs[64];
	int n;

	if (!pdu || !buf || size == 0)
		return -EINVAL;
	n = lpw_pdu_get_options(pdu, COAP_OPTION_URI_PATH, segs, 64);
	if (n < 0)
		return n;
	if (n > 64) {
		buf[0] = '\0';
		return -ENOSPC;
	}
	return lpw_pdu_path_str(segs, (size_t)n, buf, size);
}
