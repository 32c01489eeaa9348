/* Unit tests for proxy/pdu_util: option-preserving copies, zero-length options, path strings. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/pdu_util.h"

static const uint8_t token[] = { 0x0a, 0x0f, 0x25, 0x5f };

static void add_str(coap_pdu_t *pdu, uint16_t number, const char *s)
{
	assert_int_not_equal(coap_add_option(pdu, number, strlen(s), (const uint8_t *)s), 0);
}

/* A protected-looking request: Uri-Host, empty OSCORE, Uri-Path rd/5, Content-Format, Uri-Query, payload. */
static coap_pdu_t *sample(void)
{
	coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, 0x1234, 256);
	uint8_t cf = 40;

	assert_non_null(pdu);
	assert_int_equal(coap_add_token(pdu, sizeof(token), token), 1);
	add_str(pdu, COAP_OPTION_URI_HOST, "srv");
	assert_int_not_equal(coap_add_option(pdu, COAP_OPTION_OSCORE, 0, NULL), 0);
	add_str(pdu, COAP_OPTION_URI_PATH, "rd");
	add_str(pdu, COAP_OPTION_URI_PATH, "5");
	assert_int_not_equal(coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT, 1, &cf), 0);
	add_str(pdu, COAP_OPTION_URI_QUERY, "lt=600");
	assert_int_equal(coap_add_data(pdu, 5, (const uint8_t *)"hello"), 1);
	return pdu;
}

typedef struct {
	uint16_t number;
	size_t len;
	uint8_t value[64];
} opt_rec_t;

/* Lists pdu's options as (number, bytes) in wire order; returns how many. */
static size_t options_of(const coap_pdu_t *pdu, opt_rec_t *out, size_t max)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	size_t n = 0;

	coap_option_iterator_init(pdu, &it, COAP_OPT_ALL);
	while ((opt = coap_option_next(&it)) && n < max) {
		out[n].number = it.number;
		out[n].len = coap_opt_length(opt);
		assert_true(out[n].len <= sizeof(out[n].value));
		memcpy(out[n].value, coap_opt_value(opt), out[n].len);
		n++;
	}
	return n;
}

static void assert_same_payload(const coap_pdu_t *a, const coap_pdu_t *b)
{
	size_t la = 0, lb = 0;
	const uint8_t *da = NULL, *db = NULL;

	assert_int_equal(coap_get_data(a, &la, &da), coap_get_data(b, &lb, &db));
	assert_int_equal(la, lb);
	if (la)
		assert_memory_equal(da, db, la);
}

static void test_plain_copy_keeps_everything(void **state)
{
	coap_pdu_t *src = sample();
	coap_pdu_t *dst = coap_pdu_init(COAP_MESSAGE_NON, 0, 7, 256);
	opt_rec_t a[16], b[16];
	size_t na, nb;

	assert_int_equal(coap_add_token(dst, sizeof(token), token), 1);
	assert_int_equal(lpw_pdu_copy(dst, src, NULL), 0);
	assert_int_equal(coap_pdu_get_code(dst), COAP_REQUEST_CODE_POST);
	assert_int_equal(coap_pdu_get_type(dst), COAP_MESSAGE_NON); /* framing is the caller's */
	assert_int_equal(coap_pdu_get_mid(dst), 7);
	na = options_of(src, a, 16);
	nb = options_of(dst, b, 16);
	assert_int_equal(na, 6);
	assert_int_equal(nb, na);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(a[i].number, b[i].number);
		assert_int_equal(a[i].len, b[i].len);
		assert_memory_equal(a[i].value, b[i].value, a[i].len);
	}
	assert_same_payload(src, dst);
	coap_delete_pdu(src);
	coap_delete_pdu(dst);
}

static void test_zero_length_oscore_is_present(void **state)
{
	coap_pdu_t *src = sample();
	coap_pdu_t *dst = coap_pdu_init(COAP_MESSAGE_ACK, 0, 1, 256);
	coap_pdu_t *plain = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, 2, 64);
	lpw_pdu_optval_t v;

	assert_true(lpw_pdu_has_option(src, COAP_OPTION_OSCORE));
	assert_int_equal(lpw_pdu_get_options(src, COAP_OPTION_OSCORE, &v, 1), 1);
	assert_int_equal(v.len, 0);
	assert_false(lpw_pdu_has_option(plain, COAP_OPTION_OSCORE));
	assert_int_equal(lpw_pdu_get_options(plain, COAP_OPTION_OSCORE, &v, 1), 0);
	assert_int_equal(lpw_pdu_copy(dst, src, NULL), 0);
	assert_true(lpw_pdu_has_option(dst, COAP_OPTION_OSCORE));
	assert_int_equal(lpw_pdu_get_options(dst, COAP_OPTION_OSCORE, &v, 1), 1);
	assert_int_equal(v.len, 0);
	coap_delete_pdu(src);
	coap_delete_pdu(dst);
	coap_delete_pdu(plain);
}

static void test_skip(void **state)
{
	coap_pdu_t *src = sample();
	coap_pdu_t *dst = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 256);
	uint16_t skip[] = { COAP_OPTION_URI_HOST, COAP_OPTION_URI_QUERY };
	lpw_pdu_copy_opts_t opts = { .skip = skip, .n_skip = 2 };
	opt_rec_t b[16];
	size_t nb;

	assert_int_equal(lpw_pdu_copy(dst, src, &opts), 0);
	nb = options_of(dst, b, 16);
	assert_int_equal(nb, 4);
	assert_int_equal(b[0].number, COAP_OPTION_OSCORE);
	assert_int_equal(b[1].number, COAP_OPTION_URI_PATH);
	assert_int_equal(b[2].number, COAP_OPTION_URI_PATH);
	assert_int_equal(b[3].number, COAP_OPTION_CONTENT_FORMAT);
	coap_delete_pdu(src);
	coap_delete_pdu(dst);
}

static void test_replace_uri_path(void **state)
{
	coap_pdu_t *src = sample();
	coap_pdu_t *dst = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 256);
	lpw_pdu_optval_t segs[] = { { (const uint8_t *)"rd", 2 }, { (const uint8_t *)"9", 1 }, { NULL, 0 } };
	lpw_pdu_copy_opts_t opts = { .replace_uri_path = true, .uri_path = segs, .n_uri_path = 3 };
	char path[64];

	assert_int_equal(lpw_pdu_copy(dst, src, &opts), 0);
	assert_int_equal(lpw_pdu_uri_path_str(dst, path, sizeof(path)), 6);
	assert_string_equal(path, "/rd/9/");
	assert_true(lpw_pdu_has_option(dst, COAP_OPTION_URI_HOST));
	assert_true(lpw_pdu_has_option(dst, COAP_OPTION_OSCORE));
	assert_int_equal(lpw_pdu_get_options(dst, COAP_OPTION_URI_QUERY, NULL, 0), 1);
	assert_same_payload(src, dst);
	coap_delete_pdu(src);
	coap_delete_pdu(dst);
}

/* Where src has no Uri-Path the new path still lands in option order, before or after the rest. */
static void test_replace_uri_path_when_absent(void **state)
{
	coap_pdu_t *low = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, 1, 64);
	coap_pdu_t *high = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, 2, 64);
	coap_pdu_t *d1 = coap_pdu_init(COAP_MESSAGE_CON, 0, 3, 64);
	coap_pdu_t *d2 = coap_pdu_init(COAP_MESSAGE_CON, 0, 4, 64);
	lpw_pdu_optval_t seg = { (const uint8_t *)"dp", 2 };
	lpw_pdu_copy_opts_t opts = { .replace_uri_path = true, .uri_path = &seg, .n_uri_path = 1 };
	opt_rec_t b[8];

	add_str(low, COAP_OPTION_URI_HOST, "h");
	add_str(high, COAP_OPTION_URI_QUERY, "q");
	assert_int_equal(lpw_pdu_copy(d1, low, &opts), 0);
	assert_int_equal(lpw_pdu_copy(d2, high, &opts), 0);
	assert_int_equal(options_of(d1, b, 8), 2);
	assert_int_equal(b[0].number, COAP_OPTION_URI_HOST);
	assert_int_equal(b[1].number, COAP_OPTION_URI_PATH);
	assert_int_equal(options_of(d2, b, 8), 2);
	assert_int_equal(b[0].number, COAP_OPTION_URI_PATH);
	assert_int_equal(b[1].number, COAP_OPTION_URI_QUERY);
	coap_delete_pdu(low);
	coap_delete_pdu(high);
	coap_delete_pdu(d1);
	coap_delete_pdu(d2);
}

static void test_no_space(void **state)
{
	coap_pdu_t *src = sample();
	coap_pdu_t *tiny = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 12);
	coap_pdu_t *nopay = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 24);
	uint8_t big[300] = { 0 };
	lpw_pdu_optval_t seg = { big, sizeof(big) };
	lpw_pdu_copy_opts_t bad = { .replace_uri_path = true, .uri_path = &seg, .n_uri_path = 1 };
	coap_pdu_t *dst = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 256);

	assert_int_equal(lpw_pdu_copy(tiny, src, NULL), -ENOSPC);
	/* Options fit, the payload does not: still refused, never truncated. */
	assert_int_equal(lpw_pdu_copy(nopay, src, NULL), -ENOSPC);
	assert_int_equal(lpw_pdu_copy(dst, src, &bad), -EINVAL);
	assert_int_equal(lpw_pdu_copy(NULL, src, NULL), -EINVAL);
	coap_delete_pdu(src);
	coap_delete_pdu(tiny);
	coap_delete_pdu(nopay);
	coap_delete_pdu(dst);
}

static void test_copy_token(void **state)
{
	coap_pdu_t *src = sample();
	coap_pdu_t *dst = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 256);
	lpw_pdu_copy_opts_t opts = { .copy_token = true };
	coap_bin_const_t t;

	assert_int_equal(lpw_pdu_copy(dst, src, &opts), 0);
	t = coap_pdu_get_token(dst);
	assert_int_equal(t.length, sizeof(token));
	assert_memory_equal(t.s, token, sizeof(token));
	coap_delete_pdu(src);
	coap_delete_pdu(dst);
}

static void test_path_strings(void **state)
{
	coap_pdu_t *src = sample();
	coap_pdu_t *none = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, 1, 64);
	coap_pdu_t *odd = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, 1, 64);
	char buf[32], small[4];

	assert_int_equal(lpw_pdu_uri_path_str(src, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "/rd/5");
	assert_int_equal(lpw_pdu_uri_path_str(none, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "/");
	assert_int_not_equal(coap_add_option(odd, COAP_OPTION_URI_PATH, 4, (const uint8_t *)"a/b "), 0);
	assert_int_equal(lpw_pdu_uri_path_str(odd, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "/a%2Fb%20");
	assert_int_equal(lpw_pdu_uri_path_str(src, small, sizeof(small)), -ENOSPC);
	assert_int_equal(strlen(small), 3);
	assert_int_equal(lpw_pdu_uri_path_str(src, buf, 0), -EINVAL);
	coap_delete_pdu(src);
	coap_delete_pdu(none);
	coap_delete_pdu(odd);
}

static void test_get_options_more_than_max(void **state)
{
	coap_pdu_t *src = sample();
	lpw_pdu_optval_t one;

	assert_int_equal(lpw_pdu_get_options(src, COAP_OPTION_URI_PATH, &one, 1), 2);
	assert_int_equal(one.len, 2);
	assert_memory_equal(one.value, "rd", 2);
	assert_int_equal(lpw_pdu_get_options(src, COAP_OPTION_URI_PATH, NULL, 1), -EINVAL);
	coap_delete_pdu(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_copy_keeps_everything),
		cmocka_unit_test(test_zero_length_oscore_is_present),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_replace_uri_path),
		cmocka_unit_test(test_replace_uri_path_when_absent),
		cmocka_unit_test(test_no_space),
		cmocka_unit_test(test_copy_token),
		cmocka_unit_test(test_path_strings),
		cmocka_unit_test(test_get_options_more_than_max),
	};
	int rc;

	coap_startup();
	coap_set_log_level(LOG_EMERG);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	coap_cleanup();
	return rc;
}
