/* Unit tests for proxy/registration: classify, remember Register, locations, rewrite, defaults, persistence. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/pdu_util.h"
#include "proxy/registration.h"

/* The example Register of seed 003 (LwM2M tutorial slides, IETF/OMA 2019, "Example: Registration"). */
static const uint8_t seed_token[] = { 0x0a, 0x0f, 0x25, 0x5f, 0xe7, 0x1b, 0x37, 0xa0 };
static const char *seed_query[] = { "b=US", "lwm2m=1.1", "lt=600", "ep=john-VirtualBox", NULL };
static const char seed_payload[] = "</>;rt=\"oma.lwm2m\", </1/0>, </3/0>, </6/0>, </3303/0>";

static void add_str(coap_pdu_t *pdu, uint16_t number, const char *s)
{
	assert_int_not_equal(coap_add_option(pdu, number, strlen(s), (const uint8_t *)s), 0);
}

/* path "rd/5" (NULL: none), NULL-terminated query list (may be NULL), cf < 0: none, payload may be NULL. */
static coap_pdu_t *req(coap_pdu_code_t code, const char *path, const char **query, int cf, const char *payload)
{
	coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, code, 18947, 1024);
	char buf[128];

	assert_non_null(pdu);
	assert_int_equal(coap_add_token(pdu, sizeof(seed_token), seed_token), 1);
	if (path) {
		strcpy(buf, path);
		for (char *save, *seg = strtok_r(buf, "/", &save); seg; seg = strtok_r(NULL, "/", &save))
			add_str(pdu, COAP_OPTION_URI_PATH, seg);
	}
	if (cf >= 0) {
		uint8_t v = (uint8_t)cf;

		assert_int_not_equal(coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT, 1, &v), 0);
	}
	for (size_t i = 0; query && query[i]; i++)
		add_str(pdu, COAP_OPTION_URI_QUERY, query[i]);
	if (payload)
		assert_int_equal(coap_add_data(pdu, strlen(payload), (const uint8_t *)payload), 1);
	return pdu;
}

static coap_pdu_t *seed_register(void)
{
	return req(COAP_REQUEST_CODE_POST, "rd", seed_query, 40 /* application/link-format */, seed_payload);
}

/* A response with the given code and Location-Path "rd/<loc>" (loc NULL: none). */
static coap_pdu_t *resp(coap_pdu_code_t code, const char *loc)
{
	coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_ACK, code, 18947, 256);

	assert_non_null(pdu);
	if (loc) {
		add_str(pdu, COAP_OPTION_LOCATION_PATH, "rd");
		add_str(pdu, COAP_OPTION_LOCATION_PATH, loc);
	}
	return pdu;
}

/* Register + 2.01 in one go; returns the reg. */
static lpw_reg_t *registered(const char *loc)
{
	lpw_reg_t *reg = lpw_reg_new();
	coap_pdu_t *r = seed_register(), *a = resp(COAP_RESPONSE_CODE_CREATED, loc);

	assert_non_null(reg);
	assert_int_equal(lpw_reg_remember_register(reg, r), 0);
	assert_int_equal(lpw_reg_on_response(reg, LPW_REG_OP_REGISTER, r, a, LPW_REG_BY_DEVICE), 0);
	coap_delete_pdu(r);
	coap_delete_pdu(a);
	return reg;
}

static void test_seed_register_is_parsed(void **state)
{
	lpw_reg_t *reg = lpw_reg_new();
	coap_pdu_t *r = seed_register();
	coap_pdu_t *a = resp(COAP_RESPONSE_CODE_CREATED, "Chohyv1bmr"); /* the slide's 2.01 */

	assert_int_equal(lpw_reg_classify(reg, r), LPW_REG_OP_REGISTER);
	assert_false(lpw_reg_is_registered(reg));
	assert_int_equal(lpw_reg_lifetime(reg), LPW_REG_DEFAULT_LIFETIME);
	assert_int_equal(lpw_reg_remember_register(reg, r), 0);
	assert_false(lpw_reg_is_registered(reg)); /* not before the server said so */
	assert_int_equal(lpw_reg_lifetime(reg), 600);
	assert_string_equal(lpw_reg_endpoint(reg), "john-VirtualBox");
	assert_string_equal(lpw_reg_binding(reg), "US");
	assert_string_equal(lpw_reg_version(reg), "1.1");
	assert_false(lpw_reg_queue_mode(reg));
	assert_null(lpw_reg_device_location(reg));
	assert_int_equal(lpw_reg_on_response(reg, LPW_REG_OP_REGISTER, r, a, LPW_REG_BY_DEVICE), 0);
	assert_true(lpw_reg_is_registered(reg));
	assert_string_equal(lpw_reg_device_location(reg), "/rd/Chohyv1bmr");
	assert_string_equal(lpw_reg_server_location(reg), "/rd/Chohyv1bmr");
	coap_delete_pdu(r);
	coap_delete_pdu(a);
	lpw_reg_free(reg);
}

static void expect_op(const lpw_reg_t *reg, coap_pdu_code_t code, const char *path, const char **q,
		      lpw_reg_op_t op)
{
	coap_pdu_t *pdu = req(code, path, q, -1, NULL);

	if (lpw_reg_classify(reg, pdu) != op)
		fail_msg("%s classified %d, expected %d", path ? path : "(no path)", lpw_reg_classify(reg, pdu), op);
	coap_delete_pdu(pdu);
}

static void test_classify(void **state)
{
	lpw_reg_t *idle = lpw_reg_new(), *reg = registered("5");
	const char *lt[] = { "lt=300", NULL }, *ep[] = { "ep=x", NULL };

	expect_op(reg, COAP_REQUEST_CODE_POST, "rd/5", NULL, LPW_REG_OP_UPDATE);
	expect_op(reg, COAP_REQUEST_CODE_POST, "rd/5", lt, LPW_REG_OP_UPDATE);
	expect_op(reg, COAP_REQUEST_CODE_DELETE, "rd/5", NULL, LPW_REG_OP_DEREGISTER);
	expect_op(reg, COAP_REQUEST_CODE_POST, "rd", ep, LPW_REG_OP_REGISTER); /* re-register while registered */
	expect_op(reg, COAP_REQUEST_CODE_GET, "rd/5", NULL, LPW_REG_OP_OTHER);
	expect_op(reg, COAP_REQUEST_CODE_POST, "rd/5/x", NULL, LPW_REG_OP_OTHER);
	expect_op(reg, COAP_REQUEST_CODE_POST, "rd/6", NULL, LPW_REG_OP_OTHER);
	expect_op(reg, COAP_REQUEST_CODE_POST, "bs", ep, LPW_REG_OP_BOOTSTRAP_REQUEST);
	expect_op(reg, COAP_REQUEST_CODE_POST, "dp", NULL, LPW_REG_OP_SEND);
	expect_op(reg, COAP_REQUEST_CODE_PUT, "dp", NULL, LPW_REG_OP_OTHER);
	expect_op(reg, COAP_REQUEST_CODE_POST, NULL, NULL, LPW_REG_OP_OTHER); /* e.g. OSCORE: path encrypted */
	expect_op(reg, COAP_REQUEST_CODE_POST, "3/0", NULL, LPW_REG_OP_OTHER);
	/* Table 6.8.4-1: over LoRaWAN every Register parameter is optional, so a bare POST /rd is one too. */
	expect_op(idle, COAP_REQUEST_CODE_POST, "rd", NULL, LPW_REG_OP_REGISTER);
	expect_op(idle, COAP_REQUEST_CODE_DELETE, "rd", NULL, LPW_REG_OP_OTHER);
	expect_op(idle, COAP_REQUEST_CODE_POST, "rd/5", NULL, LPW_REG_OP_OTHER);
	expect_op(idle, COAP_REQUEST_CODE_DELETE, "rd/5", NULL, LPW_REG_OP_OTHER);
	assert_int_equal(lpw_reg_classify(NULL, NULL), LPW_REG_OP_OTHER);
	lpw_reg_free(idle);
	lpw_reg_free(reg);
}

typedef struct {
	uint16_t number;
	size_t len;
	uint8_t value[64];
} opt_rec_t;

/* Options of pdu except `except`, in order. */
static size_t options_except(const coap_pdu_t *pdu, uint16_t except, opt_rec_t *out, size_t max)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	size_t n = 0;

	coap_option_iterator_init(pdu, &it, COAP_OPT_ALL);
	while ((opt = coap_option_next(&it)) && n < max) {
		if (it.number == except)
			continue;
		out[n].number = it.number;
		out[n].len = coap_opt_length(opt);
		memcpy(out[n].value, coap_opt_value(opt), out[n].len);
		n++;
	}
	return n;
}

/* The device knows /rd/5; after the gateway re-registered, the server has /rd/9. */
static lpw_reg_t *reregistered(void)
{
	lpw_reg_t *reg = registered("5");
	coap_pdu_t *again = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 1024);
	coap_pdu_t *a = resp(COAP_RESPONSE_CODE_CREATED, "9");

	assert_int_equal(lpw_reg_build_register(reg, again), 0);
	assert_int_equal(lpw_reg_on_response(reg, LPW_REG_OP_REGISTER, again, a, LPW_REG_BY_GATEWAY), 0);
	assert_true(lpw_reg_is_registered(reg));
	assert_string_equal(lpw_reg_device_location(reg), "/rd/5");
	assert_string_equal(lpw_reg_server_location(reg), "/rd/9");
	coap_delete_pdu(again);
	coap_delete_pdu(a);
	return reg;
}

static void test_rewrite_update_after_reregistration(void **state)
{
	lpw_reg_t *reg = reregistered();
	coap_pdu_t *upd = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, 77, 512);
	coap_pdu_t *dst = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 512);
	const uint8_t etag = 0xAB, echo[] = { 1, 2, 3, 4 }, cf = 40;
	opt_rec_t a[16], b[16];
	size_t na, nb, la, lb;
	const uint8_t *da, *db;
	char path[32];

	assert_int_equal(coap_add_token(upd, 2, (const uint8_t *)"\x01\x02"), 1);
	assert_int_not_equal(coap_add_option(upd, COAP_OPTION_IF_MATCH, 1, &etag), 0);
	add_str(upd, COAP_OPTION_URI_PATH, "rd");
	add_str(upd, COAP_OPTION_URI_PATH, "5");
	assert_int_not_equal(coap_add_option(upd, COAP_OPTION_CONTENT_FORMAT, 1, &cf), 0);
	add_str(upd, COAP_OPTION_URI_QUERY, "lt=300");
	add_str(upd, COAP_OPTION_URI_QUERY, "b=U");
	assert_int_not_equal(coap_add_option(upd, 252 /* Echo */, sizeof(echo), echo), 0);
	assert_int_equal(coap_add_data(upd, 6, (const uint8_t *)"</3/0>"), 1);
	assert_int_equal(coap_add_token(dst, 2, (const uint8_t *)"\x09\x09"), 1);

	assert_int_equal(lpw_reg_classify(reg, upd), LPW_REG_OP_UPDATE);
	assert_int_equal(lpw_reg_rewrite(reg, upd, dst), 0);
	assert_int_equal(lpw_pdu_uri_path_str(dst, path, sizeof(path)), 5);
	assert_string_equal(path, "/rd/9");
	assert_int_equal(coap_pdu_get_code(dst), COAP_REQUEST_CODE_POST);
	na = options_except(upd, COAP_OPTION_URI_PATH, a, 16);
	nb = options_except(dst, COAP_OPTION_URI_PATH, b, 16);
	assert_int_equal(na, 5);
	assert_int_equal(nb, na);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(a[i].number, b[i].number);
		assert_int_equal(a[i].len, b[i].len);
		assert_memory_equal(a[i].value, b[i].value, a[i].len);
	}
	assert_int_equal(coap_get_data(upd, &la, &da), 1);
	assert_int_equal(coap_get_data(dst, &lb, &db), 1);
	assert_int_equal(la, lb);
	assert_memory_equal(da, db, la);
	coap_delete_pdu(upd);
	coap_delete_pdu(dst);
	lpw_reg_free(reg);
}

static void test_rewrite_errors(void **state)
{
	lpw_reg_t *idle = lpw_reg_new(), *reg = reregistered();
	coap_pdu_t *wrong = req(COAP_REQUEST_CODE_POST, "rd/9", NULL, -1, NULL); /* the server's path, not ours */
	coap_pdu_t *del = req(COAP_REQUEST_CODE_DELETE, "rd/5", NULL, -1, NULL);
	coap_pdu_t *dst = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 64);
	coap_pdu_t *tiny = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 4);
	char path[32];

	assert_int_equal(lpw_reg_rewrite(reg, wrong, dst), -EINVAL);
	assert_int_equal(lpw_reg_rewrite(idle, del, dst), -ENOENT);
	assert_int_equal(lpw_reg_rewrite(reg, del, tiny), -ENOSPC);
	assert_int_equal(lpw_reg_rewrite(reg, del, dst), 0);
	assert_int_equal(coap_pdu_get_code(dst), COAP_REQUEST_CODE_DELETE);
	assert_int_equal(lpw_pdu_uri_path_str(dst, path, sizeof(path)), 5);
	assert_string_equal(path, "/rd/9");
	coap_delete_pdu(wrong);
	coap_delete_pdu(del);
	coap_delete_pdu(dst);
	coap_delete_pdu(tiny);
	lpw_reg_free(idle);
	lpw_reg_free(reg);
}

/* The device registers again itself: it learns the server's new location, both become the same. */
static void test_device_reregistration_moves_both(void **state)
{
	lpw_reg_t *reg = reregistered();
	coap_pdu_t *r = seed_register(), *a = resp(COAP_RESPONSE_CODE_CREATED, "12");

	assert_int_equal(lpw_reg_remember_register(reg, r), 0);
	assert_int_equal(lpw_reg_on_response(reg, LPW_REG_OP_REGISTER, r, a, LPW_REG_BY_DEVICE), 0);
	assert_string_equal(lpw_reg_device_location(reg), "/rd/12");
	assert_string_equal(lpw_reg_server_location(reg), "/rd/12");
	coap_delete_pdu(r);
	coap_delete_pdu(a);
	lpw_reg_free(reg);
}

/* The query items of a rebuilt Register, as one "a&b&c" string. */
static void query_of(const coap_pdu_t *pdu, char *out, size_t size)
{
	lpw_pdu_optval_t q[40];
	int n = lpw_pdu_get_options(pdu, COAP_OPTION_URI_QUERY, q, 40);

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (i)
			strncat(out, "&", size - strlen(out) - 1);
		strncat(out, (const char *)q[i].value, q[i].len < size - strlen(out) - 1 ? q[i].len : 0);
	}
}

static void test_build_register_matches_original(void **state)
{
	lpw_reg_t *reg = registered("5");
	coap_pdu_t *dst = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 1024), *orig = seed_register();
	opt_rec_t a[16], b[16];
	size_t n, la, lb;
	const uint8_t *da, *db;

	assert_int_equal(lpw_reg_build_register(reg, dst), 0);
	assert_int_equal(coap_pdu_get_code(dst), COAP_REQUEST_CODE_POST);
	n = options_except(orig, 0, a, 16);
	assert_int_equal(options_except(dst, 0, b, 16), n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a[i].number, b[i].number);
		assert_int_equal(a[i].len, b[i].len);
		assert_memory_equal(a[i].value, b[i].value, a[i].len);
	}
	assert_int_equal(coap_get_data(orig, &la, &da), 1);
	assert_int_equal(coap_get_data(dst, &lb, &db), 1);
	assert_int_equal(la, lb);
	assert_memory_equal(da, db, la);
	coap_delete_pdu(dst);
	coap_delete_pdu(orig);
	lpw_reg_free(reg);
}

static void test_update_changes_lifetime(void **state)
{
	lpw_reg_t *reg = registered("5");
	const char *q[] = { "lt=300", "b=UQ", "sms=4912345", NULL };
	coap_pdu_t *u = req(COAP_REQUEST_CODE_POST, "rd/5", q, -1, NULL);
	coap_pdu_t *ok = resp(COAP_RESPONSE_CODE_CHANGED, NULL);
	coap_pdu_t *dst = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 1024);
	char qs[256];

	assert_int_equal(lpw_reg_on_response(reg, LPW_REG_OP_UPDATE, u, ok, LPW_REG_BY_DEVICE), 0);
	assert_int_equal(lpw_reg_lifetime(reg), 300);
	assert_string_equal(lpw_reg_binding(reg), "UQ");
	assert_true(lpw_reg_queue_mode(reg));
	assert_true(lpw_reg_is_registered(reg));
	assert_int_equal(lpw_reg_build_register(reg, dst), 0);
	query_of(dst, qs, sizeof(qs));
	assert_string_equal(qs, "b=UQ&lwm2m=1.1&lt=300&ep=john-VirtualBox&sms=4912345");
	coap_delete_pdu(u);
	coap_delete_pdu(ok);
	coap_delete_pdu(dst);
	lpw_reg_free(reg);
}

static void test_update_404_and_deregister(void **state)
{
	lpw_reg_t *reg = registered("5");
	coap_pdu_t *u = req(COAP_REQUEST_CODE_POST, "rd/5", NULL, -1, NULL);
	coap_pdu_t *nf = resp(COAP_RESPONSE_CODE_NOT_FOUND, NULL), *del = resp(COAP_RESPONSE_CODE_DELETED, NULL);
	coap_pdu_t *bad = resp(COAP_RESPONSE_CODE_BAD_REQUEST, NULL);
	coap_pdu_t *dst = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 1024);
	lpw_reg_t *reg2 = registered("6");

	/* A 4.00 to an Update changes nothing; a 4.04 means the server forgot us. */
	assert_int_equal(lpw_reg_on_response(reg, LPW_REG_OP_UPDATE, u, bad, LPW_REG_BY_DEVICE), 0);
	assert_true(lpw_reg_is_registered(reg));
	assert_int_equal(lpw_reg_on_response(reg, LPW_REG_OP_UPDATE, u, nf, LPW_REG_BY_DEVICE), 0);
	assert_false(lpw_reg_is_registered(reg));
	assert_null(lpw_reg_device_location(reg));
	assert_int_equal(lpw_reg_classify(reg, u), LPW_REG_OP_OTHER);
	assert_int_equal(lpw_reg_build_register(reg, dst), 0); /* still remembered for a re-registration */

	assert_int_equal(lpw_reg_on_response(reg2, LPW_REG_OP_DEREGISTER, NULL, del, LPW_REG_BY_DEVICE), 0);
	assert_false(lpw_reg_is_registered(reg2));
	assert_int_equal(lpw_reg_build_register(reg2, dst), -ENOENT);
	coap_delete_pdu(u);
	coap_delete_pdu(nf);
	coap_delete_pdu(del);
	coap_delete_pdu(bad);
	coap_delete_pdu(dst);
	lpw_reg_free(reg);
	lpw_reg_free(reg2);
}

static void test_register_failures(void **state)
{
	lpw_reg_t *reg = registered("5");
	coap_pdu_t *r = seed_register();
	coap_pdu_t *forbidden = resp(COAP_RESPONSE_CODE_FORBIDDEN, NULL);
	coap_pdu_t *noloc = resp(COAP_RESPONSE_CODE_CREATED, NULL);

	assert_int_equal(lpw_reg_on_response(reg, LPW_REG_OP_REGISTER, r, noloc, LPW_REG_BY_DEVICE), -EPROTO);
	assert_false(lpw_reg_is_registered(reg));
	lpw_reg_free(reg);
	reg = registered("5");
	assert_int_equal(lpw_reg_on_response(reg, LPW_REG_OP_REGISTER, r, forbidden, LPW_REG_BY_DEVICE), 0);
	assert_false(lpw_reg_is_registered(reg));
	assert_int_equal(lpw_reg_on_response(NULL, LPW_REG_OP_REGISTER, r, forbidden, LPW_REG_BY_DEVICE), -EINVAL);
	coap_delete_pdu(r);
	coap_delete_pdu(forbidden);
	coap_delete_pdu(noloc);
	lpw_reg_free(reg);
}

static void test_remember_rejects(void **state)
{
	lpw_reg_t *reg = lpw_reg_new();
	const char *badlt[] = { "ep=a", "lt=12x", NULL }, *neg[] = { "lt=-1", NULL }, *big[] = { "lt=4294967296", NULL };
	const char *many[LPW_REG_MAX_QUERY + 2];
	coap_pdu_t *ok = seed_register(), *p;

	assert_int_equal(lpw_reg_remember_register(reg, ok), 0);
	p = req(COAP_REQUEST_CODE_POST, "rd", badlt, -1, NULL);
	assert_int_equal(lpw_reg_remember_register(reg, p), -EINVAL);
	coap_delete_pdu(p);
	p = req(COAP_REQUEST_CODE_POST, "rd", neg, -1, NULL);
	assert_int_equal(lpw_reg_remember_register(reg, p), -EINVAL);
	coap_delete_pdu(p);
	p = req(COAP_REQUEST_CODE_POST, "rd", big, -1, NULL);
	assert_int_equal(lpw_reg_remember_register(reg, p), -EINVAL);
	coap_delete_pdu(p);
	for (size_t i = 0; i < LPW_REG_MAX_QUERY + 1; i++)
		many[i] = "x=1";
	many[LPW_REG_MAX_QUERY + 1] = NULL;
	p = req(COAP_REQUEST_CODE_POST, "rd", many, -1, NULL);
	assert_int_equal(lpw_reg_remember_register(reg, p), -E2BIG);
	coap_delete_pdu(p);
	p = req(COAP_REQUEST_CODE_GET, "rd", seed_query, -1, NULL);
	assert_int_equal(lpw_reg_remember_register(reg, p), -EINVAL);
	coap_delete_pdu(p);
	/* Every failure left the first Register in place. */
	assert_int_equal(lpw_reg_lifetime(reg), 600);
	assert_string_equal(lpw_reg_endpoint(reg), "john-VirtualBox");
	coap_delete_pdu(ok);
	lpw_reg_free(reg);
}

static void test_lorawan_defaults_all_missing(void **state)
{
	lpw_reg_t *reg = lpw_reg_new();
	coap_pdu_t *bare = req(COAP_REQUEST_CODE_POST, "rd", NULL, 40, "</3/0>");
	coap_pdu_t *dst = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 1024);
	char qs[256];

	assert_int_equal(lpw_reg_apply_lorawan_defaults(reg, "0011223344556677", "T"), -ENOENT);
	assert_int_equal(lpw_reg_remember_register(reg, bare), 0);
	assert_int_equal(lpw_reg_lifetime(reg), LPW_REG_DEFAULT_LIFETIME);
	assert_int_equal(lpw_reg_apply_lorawan_defaults(reg, "0011223344556677", "T"),
			 LPW_REG_ADDED_EP | LPW_REG_ADDED_LT | LPW_REG_ADDED_LWM2M | LPW_REG_ADDED_B | LPW_REG_ADDED_Q);
	assert_int_equal(lpw_reg_lifetime(reg), 2592000);
	assert_string_equal(lpw_reg_endpoint(reg), "0011223344556677");
	assert_string_equal(lpw_reg_version(reg), "1.1");
	assert_string_equal(lpw_reg_binding(reg), "T");
	assert_true(lpw_reg_queue_mode(reg));
	assert_int_equal(lpw_reg_build_register(reg, dst), 0);
	query_of(dst, qs, sizeof(qs));
	assert_string_equal(qs, "ep=0011223344556677&lt=2592000&lwm2m=1.1&b=T&Q");
	/* Idempotent. */
	assert_int_equal(lpw_reg_apply_lorawan_defaults(reg, "0011223344556677", "T"), 0);
	coap_delete_pdu(bare);
	coap_delete_pdu(dst);
	lpw_reg_free(reg);
}

static void test_lorawan_defaults_partial(void **state)
{
	lpw_reg_t *reg = lpw_reg_new(), *r10 = lpw_reg_new();
	const char *q[] = { "ep=meter-7", "lt=3600", NULL }, *q10[] = { "lwm2m=1.0", NULL };
	coap_pdu_t *p = req(COAP_REQUEST_CODE_POST, "rd", q, -1, NULL);
	coap_pdu_t *p10 = req(COAP_REQUEST_CODE_POST, "rd", q10, -1, NULL);
	coap_pdu_t *dst = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 1024);
	char qs[256];

	assert_int_equal(lpw_reg_remember_register(reg, p), 0);
	/* The device's own ep and lt win; no binding given: b left out, Q still said. */
	assert_int_equal(lpw_reg_apply_lorawan_defaults(reg, "0011223344556677", NULL),
			 LPW_REG_ADDED_LWM2M | LPW_REG_ADDED_Q);
	assert_int_equal(lpw_reg_lifetime(reg), 3600);
	assert_string_equal(lpw_reg_endpoint(reg), "meter-7");
	assert_null(lpw_reg_binding(reg));
	/* LwM2M 1.0 has no Q parameter: queue mode goes into the binding. */
	assert_int_equal(lpw_reg_remember_register(r10, p10), 0);
	assert_int_equal(lpw_reg_apply_lorawan_defaults(r10, NULL, "T"),
			 LPW_REG_ADDED_LT | LPW_REG_ADDED_B | LPW_REG_ADDED_Q);
	assert_int_equal(lpw_reg_build_register(r10, dst), 0);
	query_of(dst, qs, sizeof(qs));
	assert_string_equal(qs, "lwm2m=1.0&lt=2592000&b=TQ");
	assert_true(lpw_reg_queue_mode(r10));
	coap_delete_pdu(p);
	coap_delete_pdu(p10);
	coap_delete_pdu(dst);
	lpw_reg_free(reg);
	lpw_reg_free(r10);
}

static uint8_t *blob_of(const lpw_reg_t *reg, size_t *out_len)
{
	size_t need = 0;
	uint8_t *buf;

	assert_int_equal(lpw_reg_serialise(reg, NULL, 0, &need), -ENOSPC);
	assert_true(need > 0);
	buf = malloc(need);
	assert_non_null(buf);
	assert_int_equal(lpw_reg_serialise(reg, buf, need - 1, out_len), -ENOSPC);
	assert_int_equal(lpw_reg_serialise(reg, buf, need, out_len), 0);
	assert_int_equal(*out_len, need);
	return buf;
}

static void test_serialise_round_trip(void **state)
{
	lpw_reg_t *reg = reregistered(), *copy = lpw_reg_new(), *empty = lpw_reg_new();
	coap_pdu_t *d1 = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 1024), *d2 = coap_pdu_init(COAP_MESSAGE_CON, 0, 1, 1024);
	size_t len, len2, l1, l2;
	uint8_t *blob = blob_of(reg, &len), *blob2;
	const uint8_t *p1, *p2;

	assert_int_equal(blob[0], LPW_REG_BLOB_VERSION);
	assert_int_equal(lpw_reg_deserialise(copy, blob, len), 0);
	assert_true(lpw_reg_is_registered(copy));
	assert_string_equal(lpw_reg_device_location(copy), "/rd/5");
	assert_string_equal(lpw_reg_server_location(copy), "/rd/9");
	assert_int_equal(lpw_reg_lifetime(copy), 600);
	assert_string_equal(lpw_reg_endpoint(copy), "john-VirtualBox");
	assert_string_equal(lpw_reg_binding(copy), "US");
	assert_int_equal(lpw_reg_build_register(reg, d1), 0);
	assert_int_equal(lpw_reg_build_register(copy, d2), 0);
	assert_int_equal(coap_get_data(d1, &l1, &p1), 1);
	assert_int_equal(coap_get_data(d2, &l2, &p2), 1);
	assert_int_equal(l1, l2);
	assert_memory_equal(p1, p2, l1);
	blob2 = blob_of(copy, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(blob2, blob, len);
	free(blob2);
	/* An empty state round-trips too. */
	blob2 = blob_of(empty, &len2);
	assert_int_equal(lpw_reg_deserialise(copy, blob2, len2), 0);
	assert_false(lpw_reg_is_registered(copy));
	assert_int_equal(lpw_reg_build_register(copy, d1), -ENOENT);
	free(blob2);
	free(blob);
	coap_delete_pdu(d1);
	coap_delete_pdu(d2);
	lpw_reg_free(reg);
	lpw_reg_free(copy);
	lpw_reg_free(empty);
}

typedef struct {
	const char *why;
	uint8_t bytes[48];
	size_t len;
} corrupt_t;

/* Layout: version, flags, cf_len, cf.., nq, (len, bytes)*, ndev, .., nsrv, .., payload_len(2), payload. */
static const corrupt_t corrupt[] = {
	{ "empty", { 0 }, 0 },
	{ "version 0", { 0, 0, 0, 0, 0, 0, 0, 0 }, 8 },
	{ "version 2", { 2, 0, 0, 0, 0, 0, 0, 0 }, 8 },
	{ "unknown flag", { 1, 0x08, 0, 0, 0, 0, 0, 0 }, 8 },
	{ "cf longer than 2", { 1, 0x06, 3, 1, 2, 3, 0, 0, 0, 0, 0 }, 11 },
	{ "cf bytes without cf flag", { 1, 0x02, 1, 40, 0, 0, 0, 0, 0 }, 9 },
	{ "trailing byte", { 1, 0, 0, 0, 0, 0, 0, 0, 0xff }, 9 },
	{ "query count over bound", { 1, 0x02, 0, 33 }, 4 },
	{ "query item past end", { 1, 0x02, 0, 1, 200, 'l', 't' }, 7 },
	{ "bad lt", { 1, 0x02, 0, 1, 5, 'l', 't', '=', 'x', '1', 0, 0, 0, 0 }, 14 },
	{ "NUL in query", { 1, 0x02, 0, 1, 4, 'e', 'p', '=', 0, 0, 0, 0, 0 }, 13 },
	{ "query without request", { 1, 0x00, 0, 1, 1, 'Q', 0, 0, 0, 0 }, 10 },
	{ "payload without request", { 1, 0x00, 0, 0, 0, 0, 0, 1, 'x' }, 9 },
	{ "registered without location", { 1, 0x03, 0, 0, 0, 0, 0, 0 }, 8 },
	{ "location without registration", { 1, 0x02, 0, 0, 1, 1, '5', 1, 1, '5', 0, 0 }, 12 },
	{ "server location missing", { 1, 0x03, 0, 0, 1, 1, '5', 0, 0, 0 }, 10 },
	{ "segment count over bound", { 1, 0x03, 0, 0, 17 }, 5 },
	{ "payload past end", { 1, 0x02, 0, 0, 0, 0, 0xff, 0xff, 'x' }, 9 },
	{ "no payload length", { 1, 0x02, 0, 0, 0, 0 }, 6 },
};

static void test_corrupt_blobs_rejected(void **state)
{
	lpw_reg_t *reg = registered("5");
	size_t len;
	uint8_t *good = blob_of(reg, &len);

	for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		/* A heap copy of exactly len bytes, so ASan catches any read past the end. */
		uint8_t *b = malloc(corrupt[i].len ? corrupt[i].len : 1);

		memcpy(b, corrupt[i].bytes, corrupt[i].len);
		if (lpw_reg_deserialise(reg, b, corrupt[i].len) != -EINVAL)
			fail_msg("corrupt blob \"%s\" accepted", corrupt[i].why);
		free(b);
		assert_string_equal(lpw_reg_device_location(reg), "/rd/5"); /* state untouched */
	}
	/* Every truncation of a valid blob is refused. */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *b = malloc(cut ? cut : 1);

		memcpy(b, good, cut);
		if (lpw_reg_deserialise(reg, b, cut) != -EINVAL)
			fail_msg("blob cut at %zu of %zu accepted", cut, len);
		free(b);
	}
	assert_int_equal(lpw_reg_deserialise(reg, NULL, 3), -EINVAL);
	/* Positive controls next to the catalogue: the smallest blobs that are right. */
	{
		static const uint8_t minimal[] = { 1, 0, 0, 0, 0, 0, 0, 0 };
		static const uint8_t with_q[] = { 1, 0x02, 0, 1, 1, 'Q', 0, 0, 0, 0 };
		static const uint8_t reg_cf[] = { 1, 0x07, 1, 40, 1, 5, 'l', 't', '=', '6', '0', 1, 0, 1, 0, 0, 0 };

		assert_int_equal(lpw_reg_deserialise(reg, minimal, sizeof(minimal)), 0);
		assert_false(lpw_reg_is_registered(reg));
		assert_int_equal(lpw_reg_deserialise(reg, with_q, sizeof(with_q)), 0);
		assert_true(lpw_reg_queue_mode(reg));
		assert_int_equal(lpw_reg_deserialise(reg, reg_cf, sizeof(reg_cf)), 0);
		assert_int_equal(lpw_reg_lifetime(reg), 60);
		assert_string_equal(lpw_reg_device_location(reg), "/");
	}
	assert_int_equal(lpw_reg_deserialise(reg, good, len), 0);
	assert_true(lpw_reg_is_registered(reg));
	free(good);
	lpw_reg_free(reg);
}

/* Flipping any single byte of a valid blob either fails cleanly or yields a state that serialises again. */
static void test_bit_flips_never_crash(void **state)
{
	lpw_reg_t *reg = reregistered(), *other = lpw_reg_new();
	size_t len;
	uint8_t *good = blob_of(reg, &len);

	for (size_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			uint8_t *b = malloc(len);
			size_t need;
			int rc;

			memcpy(b, good, len);
			b[i] ^= (uint8_t)(1u << bit);
			rc = lpw_reg_deserialise(other, b, len);
			assert_true(rc == 0 || rc == -EINVAL);
			assert_int_equal(lpw_reg_serialise(other, NULL, 0, &need), -ENOSPC);
			assert_true(need >= 8); /* the smallest blob */
			free(b);
		}
	}
	free(good);
	lpw_reg_free(reg);
	lpw_reg_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_register_is_parsed),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_rewrite_update_after_reregistration),
		cmocka_unit_test(test_rewrite_errors),
		cmocka_unit_test(test_device_reregistration_moves_both),
		cmocka_unit_test(test_build_register_matches_original),
		cmocka_unit_test(test_update_changes_lifetime),
		cmocka_unit_test(test_update_404_and_deregister),
		cmocka_unit_test(test_register_failures),
		cmocka_unit_test(test_remember_rejects),
		cmocka_unit_test(test_lorawan_defaults_all_missing),
		cmocka_unit_test(test_lorawan_defaults_partial),
		cmocka_unit_test(test_serialise_round_trip),
		cmocka_unit_test(test_corrupt_blobs_rejected),
		cmocka_unit_test(test_bit_flips_never_crash),
	};
	int rc;

	coap_startup();
	coap_set_log_level(LOG_EMERG);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	coap_cleanup();
	return rc;
}
