/* Register/Update parameter and object-list parsers for the test LwM2M server. */
#include "tools/lwm2m-test-server/registration.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/common/parse.h"

static bool all_in(const uint8_t *v, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == 0 || !strchr(set, v[i]))
			return false;
	return true;
}

static bool printable_no_space(const uint8_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] <= 0x20 || v[i] >= 0x7f)
			return false;
	return true;
}

/* Copies a validated value into a fixed field: the callers checked n < size. */
static void copy_value(char *dst, const uint8_t *v, size_t n)
{
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static int parse_lt(lpw_reg_params_t *p, const uint8_t *v, size_t n, char *reason, size_t rlen)
{
	uint64_t lt = 0;
	if (n == 0 || n > 10 || !all_in(v, n, "0123456789"))
		return lpw_parse_fail(reason, rlen, "lt must be a decimal number");
	for (size_t i = 0; i < n; i++)
		lt = lt * 10 + (uint64_t)(v[i] - '0');
	if (lt == 0 || lt > UINT32_MAX)
		return lpw_parse_fail(reason, rlen, "lt out of range");
	p->lt = (uint32_t)lt;
	p->has_lt = true;
	return 0;
}

static int parse_lwm2m(lpw_reg_params_t *p, const uint8_t *v, size_t n, char *reason, size_t rlen)
{
	const uint8_t *dot = memchr(v, '.', n);
	if (n >= sizeof(p->lwm2m) || !dot || dot == v || dot == v + n - 1 || !all_in(v, n, "0123456789.") ||
	    memchr(dot + 1, '.', (size_t)(v + n - dot - 1)))
		return lpw_parse_fail(reason, rlen, "lwm2m must look like 1.1");
	copy_value(p->lwm2m, v, n);
	p->has_lwm2m = true;
	return 0;
}

/* One parameter whose name is known: checks and stores its value. */
static int store_param(lpw_reg_params_t *p, const char *name, const uint8_t *v, size_t n, bool has_value,
                       char *reason, size_t rlen)
{
	if (strcmp(name, "Q") == 0) {
		if (has_value)
			return lpw_parse_fail(reason, rlen, "Q takes no value");
		p->queue = true;
		return 0;
	}
	if (!has_value)
		return lpw_parse_fail(reason, rlen, "parameter %s needs a value", name);
	if (strcmp(name, "lt") == 0)
		return parse_lt(p, v, n, reason, rlen);
	if (strcmp(name, "lwm2m") == 0)
		return parse_lwm2m(p, v, n, reason, rlen);
	if (strcmp(name, "ep") == 0) {
		if (n == 0 || n > LPW_REG_EP_MAX || !printable_no_space(v, n))
			return lpw_parse_fail(reason, rlen, "ep must be 1..%d printable characters without spaces",
			                      LPW_REG_EP_MAX);
		copy_value(p->ep, v, n);
		p->has_ep = true;
		return 0;
	}
	if (strcmp(name, "b") == 0) {
		if (n == 0 || n >= sizeof(p->b) || !all_in(v, n, "USNTLQ"))
			return lpw_parse_fail(reason, rlen, "b must be binding letters from USNTLQ");
		copy_value(p->b, v, n);
		p->has_b = true;
		return 0;
	}
	/* sms: an MSISDN */
	if (n == 0 || n > LPW_REG_SMS_MAX || !all_in(v, n, "+0123456789"))
		return lpw_parse_fail(reason, rlen, "sms must be an MSISDN");
	copy_value(p->sms, v, n);
	p->has_sms = true;
	return 0;
}

static bool already_seen(const lpw_reg_params_t *p, const char *name)
{
	return (strcmp(name, "ep") == 0 && p->has_ep) || (strcmp(name, "lt") == 0 && p->has_lt) ||
	       (strcmp(name, "lwm2m") == 0 && p->has_lwm2m) || (strcmp(name, "b") == 0 && p->has_b) ||
	       (strcmp(name, "sms") == 0 && p->has_sms) || (strcmp(name, "Q") == 0 && p->queue);
}

int lpw_reg_parse_query(lpw_reg_params_t *p, lpw_reg_kind_t kind, const uint8_t *q, size_t len, char *reason,
                        size_t rlen)
{
	static const char *const reg_names[] = {"ep", "lt", "lwm2m", "b", "sms", "Q", NULL};
	static const char *const upd_names[] = {"lt", "b", "sms", NULL};
	const char *const *names = kind == LPW_REG_REGISTER ? reg_names : upd_names;
	const uint8_t *eq = memchr(q, '=', len);
	size_t name_len = eq ? (size_t)(eq - q) : len;
	char name[16];

	if (name_len == 0)
		return lpw_parse_fail(reason, rlen, "empty query parameter name");
	if (name_len >= sizeof(name) || !printable_no_space(q, name_len))
		return lpw_parse_fail(reason, rlen, "unknown parameter");
	copy_value(name, q, name_len);
	for (size_t i = 0; names[i]; i++) {
		if (strcmp(names[i], name) != 0)
			continue;
		if (already_seen(p, name))
			return lpw_parse_fail(reason, rlen, "duplicate parameter %s", name);
		return store_param(p, name, eq ? eq + 1 : NULL, eq ? len - name_len - 1 : 0, eq != NULL, reason,
		                   rlen);
	}
	for (size_t i = 0; kind == LPW_REG_UPDATE && reg_names[i]; i++)
		if (strcmp(reg_names[i], name) == 0)
			return lpw_parse_fail(reason, rlen, "parameter %s not allowed in Update", name);
	return lpw_parse_fail(reason, rlen, "unknown parameter %s", name);
}

int lpw_reg_check_register(const lpw_reg_params_t *p, char *reason, size_t rlen)
{
	if (!p->has_ep)
		return lpw_parse_fail(reason, rlen, "missing ep");
	if (!p->has_lwm2m)
		return lpw_parse_fail(reason, rlen, "missing lwm2m");
	return 0;
}

/* Skips one attribute value after '=': a quoted string or a run of token characters. Returns the new
 * index, or 0 on error (index 0 can never follow an '='). */
static size_t skip_attr_value(const uint8_t *b, size_t i, size_t len)
{
	if (i < len && b[i] == '"') {
		for (i++; i < len; i++) {
			if (b[i] == '\\' && i + 1 < len)
				i++;
			else if (b[i] == '"')
				return i + 1;
		}
		return 0;
	}
	size_t start = i;
	while (i < len && b[i] > 0x20 && b[i] < 0x7f && b[i] != ',' && b[i] != ';' && b[i] != '"')
		i++;
	return i == start ? 0 : i;
}

/* Checks one link starting at b[*pos] == '<'; leaves *pos after its last attribute. */
static int check_one_link(const uint8_t *b, size_t len, size_t *pos, char *reason, size_t rlen)
{
	size_t i = *pos;
	if (b[i] != '<')
		return lpw_parse_fail(reason, rlen, "link at offset %zu does not start with '<'", i);
	const uint8_t *close = memchr(b + i, '>', len - i);
	if (!close)
		return lpw_parse_fail(reason, rlen, "unterminated link at offset %zu", i);
	size_t end = (size_t)(close - b);
	if (end == i + 1 || b[i + 1] != '/')
		return lpw_parse_fail(reason, rlen, "link at offset %zu is not an absolute path", i);
	if (!printable_no_space(b + i + 1, end - i - 1) || memchr(b + i + 1, '<', end - i - 1))
		return lpw_parse_fail(reason, rlen, "bad character in link at offset %zu", i);
	i = end + 1;
	while (i < len && b[i] == ';') {
		size_t start = ++i;
		while (i < len && (b[i] == '-' || b[i] == '.' || b[i] == '_' || (b[i] >= '0' && b[i] <= '9') ||
		                   (b[i] >= 'a' && b[i] <= 'z') || (b[i] >= 'A' && b[i] <= 'Z')))
			i++;
		if (i == start)
			return lpw_parse_fail(reason, rlen, "empty attribute name at offset %zu", start);
		if (i < len && b[i] == '=') {
			i = skip_attr_value(b, i + 1, len);
			if (i == 0)
				return lpw_parse_fail(reason, rlen, "bad attribute value after offset %zu", start);
		}
	}
	*pos = i;
	return 0;
}

int lpw_reg_check_links(const uint8_t *b, size_t len, char *reason, size_t rlen)
{
	size_t i = 0;
	if (len == 0)
		return lpw_parse_fail(reason, rlen, "empty object list");
	for (;;) {
		int rc = check_one_link(b, len, &i, reason, rlen);
		if (rc)
			return rc;
		if (i == len)
			return 0;
		if (b[i] != ',')
			return lpw_parse_fail(reason, rlen, "expected ',' at offset %zu", i);
		if (++i == len)
			return lpw_parse_fail(reason, rlen, "trailing ',' in object list");
	}
}
