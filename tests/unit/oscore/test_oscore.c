/* unit_oscore: tools/oscore against the test vectors of RFC 8613 Appendix C (C.1-C.8, copied from the RFC text,
 * https://www.rfc-editor.org/rfc/rfc8613#appendix-C), plus tampering, replay and a full round trip. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/coap_codec.h"
#include "tools/oscore/oscore.h"

#define SECRET "0102030405060708090a0b0c0d0e0f10"
#define SALT "9e7ca92223786340"
#define ID_CONTEXT "37cbf3210017a2d3"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned int v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void assert_hex(const uint8_t *got, size_t len, const char *want)
{
	uint8_t w[256];
	size_t n = unhex(want, w, sizeof(w));
	assert_int_equal(len, n);
	assert_memory_equal(got, w, n);
}

/* A context from hex strings; salt and id_context may be NULL (absent). */
static lpw_oscore_ctx_t *ctx_hex(const char *salt, const char *sender, const char *recipient, const char *idctx)
{
	uint8_t sec[16], sa[16], s[8], r[8], ic[16];
	size_t sec_len = unhex(SECRET, sec, sizeof(sec));
	size_t sa_len = salt ? unhex(salt, sa, sizeof(sa)) : 0;
	size_t s_len = unhex(sender, s, sizeof(s));
	size_t r_len = unhex(recipient, r, sizeof(r));
	size_t ic_len = idctx ? unhex(idctx, ic, sizeof(ic)) : 0;
	lpw_oscore_ctx_t *ctx = lpw_oscore_ctx_new(sec, sec_len, salt ? sa : NULL, sa_len, s, s_len, r, r_len,
	                                           idctx ? ic : NULL, ic_len);
	assert_non_null(ctx);
	return ctx;
}

static void check_ctx(lpw_oscore_ctx_t *ctx, const char *skey, const char *rkey, const char *iv, const char *snonce,
                      const char *rnonce)
{
	uint8_t nonce[LPW_OSCORE_NONCE_LEN];
	assert_hex(lpw_oscore_ctx_sender_key(ctx), LPW_OSCORE_KEY_LEN, skey);
	assert_hex(lpw_oscore_ctx_recipient_key(ctx), LPW_OSCORE_KEY_LEN, rkey);
	assert_hex(lpw_oscore_ctx_common_iv(ctx), LPW_OSCORE_NONCE_LEN, iv);
	lpw_oscore_ctx_nonce(ctx, true, 0, nonce);
	assert_hex(nonce, sizeof(nonce), snonce);
	lpw_oscore_ctx_nonce(ctx, false, 0, nonce);
	assert_hex(nonce, sizeof(nonce), rnonce);
	lpw_oscore_ctx_free(ctx);
}

/* C.1.1, C.1.2: key derivation with Master Salt */
static void test_c1_with_salt(void **state)
{
	check_ctx(ctx_hex(SALT, "", "01", NULL), "f0910ed7295e6ad4b54fc793154302ff", "ffb14e093c94c9cac9471648b4f98710",
	          "4622d4dd6d944168eefb54987c", "4622d4dd6d944168eefb54987c", "4722d4dd6d944169eefb54987c");
	check_ctx(ctx_hex(SALT, "01", "", NULL), "ffb14e093c94c9cac9471648b4f98710", "f0910ed7295e6ad4b54fc793154302ff",
	          "4622d4dd6d944168eefb54987c", "4722d4dd6d944169eefb54987c", "4622d4dd6d944168eefb54987c");
}

/* C.2.1, C.2.2: key derivation without Master Salt */
static void test_c2_without_salt(void **state)
{
	check_ctx(ctx_hex(NULL, "00", "01", NULL), "321b26943253c7ffb6003b0b64d74041", "e57b5635815177cd679ab4bcec9d7dda",
	          "be35ae297d2dace910c52e99f9", "bf35ae297d2dace910c52e99f9", "bf35ae297d2dace810c52e99f9");
	check_ctx(ctx_hex(NULL, "01", "00", NULL), "e57b5635815177cd679ab4bcec9d7dda", "321b26943253c7ffb6003b0b64d74041",
	          "be35ae297d2dace910c52e99f9", "bf35ae297d2dace810c52e99f9", "bf35ae297d2dace910c52e99f9");
}

/* C.3.1, C.3.2: key derivation with ID Context */
static void test_c3_id_context(void **state)
{
	check_ctx(ctx_hex(SALT, "", "01", ID_CONTEXT), "af2a1300a5e95788b356336eeecd2b92",
	          "e39a0c7c77b43f03b4b39ab9a268699f", "2ca58fb85ff1b81c0b7181b85e", "2ca58fb85ff1b81c0b7181b85e",
	          "2da58fb85ff1b81d0b7181b85e");
	check_ctx(ctx_hex(SALT, "01", "", ID_CONTEXT), "e39a0c7c77b43f03b4b39ab9a268699f",
	          "af2a1300a5e95788b356336eeecd2b92", "2ca58fb85ff1b81c0b7181b85e", "2da58fb85ff1b81d0b7181b85e",
	          "2ca58fb85ff1b81c0b7181b85e");
}

static coap_pdu_t *parse_hex(const char *hex)
{
	uint8_t b[256];
	size_t n = unhex(hex, b, sizeof(b));
	coap_pdu_t *pdu = lpw_coap_parse_udp(b, n, NULL);
	assert_non_null(pdu);
	return pdu;
}

/* An empty PDU with the same type and message ID as like: what the protect/unprotect calls fill in. */
static coap_pdu_t *blank_like(const coap_pdu_t *like)
{
	coap_pdu_t *pdu = coap_pdu_init(coap_pdu_get_type(like), 0, coap_pdu_get_mid(like), 1280);
	assert_non_null(pdu);
	return pdu;
}

static void assert_pdu_hex(const coap_pdu_t *pdu, const char *want)
{
	uint8_t b[1280];
	ssize_t n = lpw_coap_encode_udp(pdu, b, sizeof(b));
	assert_true(n > 0);
	assert_hex(b, (size_t)n, want);
}

/* Protects plain_hex with client (sequence number 20, as in the RFC) and compares with prot_hex; then the server
 * verifies prot_hex and must get plain_hex back. *out_info: the server's view of the request. */
static void request_vector(lpw_oscore_ctx_t *client, lpw_oscore_ctx_t *server, const char *plain_hex,
                           const char *prot_hex, lpw_oscore_req_info_t *client_info, lpw_oscore_req_info_t *server_info)
{
	coap_pdu_t *plain = parse_hex(plain_hex), *prot = parse_hex(prot_hex);
	coap_pdu_t *out = blank_like(plain), *back = blank_like(prot);
	lpw_oscore_ctx_set_sender_seq(client, 20);
	assert_int_equal(lpw_oscore_protect_request(client, plain, out, client_info), 0);
	assert_pdu_hex(out, prot_hex);
	assert_int_equal(lpw_oscore_ctx_sender_seq(client), 21);
	assert_int_equal(lpw_oscore_unprotect_request(server, prot, back, server_info), 0);
	assert_pdu_hex(back, plain_hex);
	assert_int_equal(server_info->piv_len, 1);
	assert_int_equal(server_info->piv[0], 0x14);
	assert_int_equal(server_info->kid_len, client_info->kid_len);
	coap_delete_pdu(plain);
	coap_delete_pdu(prot);
	coap_delete_pdu(out);
	coap_delete_pdu(back);
}

#define C4_PLAIN "44015d1f00003974396c6f63616c686f737483747631"
#define C4_PROT "44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e"
#define C7_PLAIN "64455d1f00003974ff48656c6c6f20576f726c6421"
#define C7_PROT "64445d1f0000397490ffdbaad1e9a7e7b2a813d3c31524378303cdafae119106"
#define C8_PROT "64445d1f00003974920100ff4d4c13669384b67354b2b6175ff4b8658c666a6cf88e"

/* C.4: request with the C.1 context */
static void test_c4_request(void **state)
{
	lpw_oscore_ctx_t *c = ctx_hex(SALT, "", "01", NULL), *s = ctx_hex(SALT, "01", "", NULL);
	lpw_oscore_req_info_t ci, si;
	request_vector(c, s, C4_PLAIN, C4_PROT, &ci, &si);
	assert_int_equal(si.kid_len, 0);
	lpw_oscore_ctx_free(c);
	lpw_oscore_ctx_free(s);
}

/* C.5: request with the C.2 context (kid 0x00) */
static void test_c5_request(void **state)
{
	lpw_oscore_ctx_t *c = ctx_hex(NULL, "00", "01", NULL), *s = ctx_hex(NULL, "01", "00", NULL);
	lpw_oscore_req_info_t ci, si;
	request_vector(c, s, "440171c30000b932396c6f63616c686f737483747631",
	               "440271c30000b932396c6f63616c686f737463091400ff4ed339a5a379b0b8bc731fffb0", &ci, &si);
	assert_int_equal(si.kid_len, 1);
	assert_int_equal(si.kid[0], 0x00);
	lpw_oscore_ctx_free(c);
	lpw_oscore_ctx_free(s);
}

/* C.6: request with the C.3 context, kid context sent */
static void test_c6_request(void **state)
{
	lpw_oscore_ctx_t *c = ctx_hex(SALT, "", "01", ID_CONTEXT), *s = ctx_hex(SALT, "01", "", ID_CONTEXT);
	lpw_oscore_req_info_t ci, si;
	request_vector(c, s, "44012f8eef9bbf7a396c6f63616c686f737483747631",
	               "44022f8eef9bbf7a396c6f63616c686f73746b19140837cbf3210017a2d3ff72cd7273fd331ac45cffbe55c3", &ci,
	               &si);
	lpw_oscore_ctx_free(c);
	lpw_oscore_ctx_free(s);
}

/* C.7 (no Partial IV) and C.8 (with Partial IV, server sequence number 0): responses to the C.4 request */
static void response_vector(bool with_piv, const char *prot_hex)
{
	lpw_oscore_ctx_t *c = ctx_hex(SALT, "", "01", NULL), *s = ctx_hex(SALT, "01", "", NULL);
	lpw_oscore_req_info_t ci, si;
	request_vector(c, s, C4_PLAIN, C4_PROT, &ci, &si);
	coap_pdu_t *plain = parse_hex(C7_PLAIN), *prot = parse_hex(prot_hex);
	coap_pdu_t *out = blank_like(plain), *back = blank_like(prot);
	assert_int_equal(lpw_oscore_protect_response(s, plain, &si, with_piv, out), 0);
	assert_pdu_hex(out, prot_hex);
	assert_int_equal(lpw_oscore_unprotect_response(c, prot, &ci, back), 0);
	assert_pdu_hex(back, C7_PLAIN);
	coap_delete_pdu(plain);
	coap_delete_pdu(prot);
	coap_delete_pdu(out);
	coap_delete_pdu(back);
	lpw_oscore_ctx_free(c);
	lpw_oscore_ctx_free(s);
}

static void test_c7_response(void **state)
{
	response_vector(false, C7_PROT);
}

static void test_c8_response_with_piv(void **state)
{
	response_vector(true, C8_PROT);
}

/* One flipped ciphertext byte fails verification; the window is untouched, so the original still verifies. */
static void test_tampered_ciphertext(void **state)
{
	lpw_oscore_ctx_t *s = ctx_hex(SALT, "01", "", NULL);
	lpw_oscore_req_info_t si;
	char bad[] = C4_PROT;
	size_t pos = strlen(bad) - 10; /* inside the ciphertext */
	bad[pos] = bad[pos] == '0' ? '1' : '0';
	coap_pdu_t *prot = parse_hex(bad), *out = blank_like(prot);
	assert_int_equal(lpw_oscore_unprotect_request(s, prot, out, &si), -EBADMSG);
	coap_delete_pdu(prot);
	coap_delete_pdu(out);
	prot = parse_hex(C4_PROT);
	out = blank_like(prot);
	assert_int_equal(lpw_oscore_unprotect_request(s, prot, out, &si), 0);
	coap_delete_pdu(prot);
	coap_delete_pdu(out);
	/* a tampered response too */
	lpw_oscore_ctx_t *c = ctx_hex(SALT, "", "01", NULL);
	char badr[] = C7_PROT;
	badr[strlen(badr) - 1] ^= 1;
	prot = parse_hex(badr);
	out = blank_like(prot);
	assert_int_equal(lpw_oscore_unprotect_response(c, prot, &si, out), -EBADMSG);
	coap_delete_pdu(prot);
	coap_delete_pdu(out);
	lpw_oscore_ctx_free(c);
	lpw_oscore_ctx_free(s);
}

static int unprotect_c4(lpw_oscore_ctx_t *s, const char *hex)
{
	lpw_oscore_req_info_t si;
	coap_pdu_t *prot = parse_hex(hex), *out = blank_like(prot);
	int rc = lpw_oscore_unprotect_request(s, prot, out, &si);
	coap_delete_pdu(prot);
	coap_delete_pdu(out);
	return rc;
}

static void test_replay_and_bad_options(void **state)
{
	lpw_oscore_ctx_t *s = ctx_hex(SALT, "01", "", NULL);
	assert_int_equal(unprotect_c4(s, C4_PROT), 0);
	assert_int_equal(unprotect_c4(s, C4_PROT), -EALREADY);
	/* no OSCORE option at all */
	assert_int_equal(unprotect_c4(s, C4_PLAIN), -EPROTO);
	/* reserved flag bit; Partial IV length 6..7 reserved; kid of another context */
	assert_int_equal(unprotect_c4(s, "44025d1f00003974396c6f63616c686f7374628914ff612f1092f1776f1c1668b3825e"), -EPROTO);
	assert_int_equal(unprotect_c4(s, "44025d1f00003974396c6f63616c686f7374620f14ff612f1092f1776f1c1668b3825e"), -EPROTO);
	assert_int_equal(unprotect_c4(s, "44025d1f00003974396c6f63616c686f737463091407ff612f1092f1776f1c1668b3825e"),
	                 -ENOKEY);
	/* a payload shorter than the tag */
	assert_int_equal(unprotect_c4(s, "44025d1f00003974396c6f63616c686f7374620915ff612f"), -EPROTO);
	const char *diag;
	assert_int_equal(lpw_oscore_error_code(-EALREADY, &diag), COAP_RESPONSE_CODE(401));
	assert_string_equal(diag, "Replay detected");
	assert_int_equal(lpw_oscore_error_code(-EBADMSG, &diag), COAP_RESPONSE_CODE(400));
	lpw_oscore_ctx_free(s);
}

/* The replay window accepts late arrivals inside the window once and refuses what fell out of it. */
static void test_replay_window(void **state)
{
	lpw_oscore_ctx_t *c = ctx_hex(NULL, "0a", "0b", NULL), *s = ctx_hex(NULL, "0b", "0a", NULL);
	coap_pdu_t *prot[40];
	for (int i = 0; i < 40; i++) {
		coap_pdu_t *plain = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, (coap_mid_t)i, 256);
		lpw_oscore_req_info_t ci;
		prot[i] = coap_pdu_init(COAP_MESSAGE_CON, 0, (coap_mid_t)i, 256);
		assert_int_equal(lpw_oscore_protect_request(c, plain, prot[i], &ci), 0);
		coap_delete_pdu(plain);
	}
	int order[] = {5, 39, 10, 5, 8, 39, 7, 9};
	int want[] = {0, 0, 0, -EALREADY, 0, -EALREADY, -EALREADY, 0};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		lpw_oscore_req_info_t si;
		coap_pdu_t *out = coap_pdu_init(COAP_MESSAGE_CON, 0, 0, 256);
		/* 5 and 7 are 34 and 32 below 39: outside the 32-entry window */
		assert_int_equal(lpw_oscore_unprotect_request(s, prot[order[i]], out, &si), want[i]);
		coap_delete_pdu(out);
	}
	for (int i = 0; i < 40; i++)
		coap_delete_pdu(prot[i]);
	lpw_oscore_ctx_free(c);
	lpw_oscore_ctx_free(s);
}

static const coap_opt_t *find_opt(const coap_pdu_t *pdu, uint16_t num)
{
	coap_opt_iterator_t it;
	return coap_check_option(pdu, num, &it);
}

/* A notification from server to client: Observe seq, payload; returns the protected PDU. */
static coap_pdu_t *notification(lpw_oscore_ctx_t *s, const lpw_oscore_req_info_t *si, uint8_t seq)
{
	coap_pdu_t *plain = coap_pdu_init(COAP_MESSAGE_NON, COAP_RESPONSE_CODE(205), 100 + seq, 256);
	coap_add_token(plain, 2, (const uint8_t *)"tk");
	coap_add_option(plain, COAP_OPTION_OBSERVE, 1, &seq);
	coap_add_data(plain, 4, (const uint8_t *)"21.5");
	coap_pdu_t *prot = coap_pdu_init(COAP_MESSAGE_NON, 0, 100 + seq, 256);
	assert_int_equal(lpw_oscore_protect_response(s, plain, si, true, prot), 0);
	coap_delete_pdu(plain);
	return prot;
}

/* Client and server contexts (ids swapped): an Observe request with path, query and payload, its first response,
 * two notifications, and a replayed notification. */
static void test_round_trip_observe(void **state)
{
	lpw_oscore_ctx_t *c = ctx_hex(SALT, "c1", "5e", NULL), *s = ctx_hex(SALT, "5e", "c1", NULL);
	lpw_oscore_req_info_t ci, si;
	coap_pdu_t *req = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, 7, 256);
	coap_add_token(req, 2, (const uint8_t *)"tk");
	coap_add_option(req, COAP_OPTION_URI_HOST, 4, (const uint8_t *)"host");
	coap_add_option(req, COAP_OPTION_OBSERVE, 0, NULL);
	coap_add_option(req, COAP_OPTION_URI_PATH, 4, (const uint8_t *)"3303");
	coap_add_option(req, COAP_OPTION_URI_QUERY, 3, (const uint8_t *)"a=b");
	coap_pdu_t *prot = coap_pdu_init(COAP_MESSAGE_CON, 0, 7, 256);
	assert_int_equal(lpw_oscore_protect_request(c, req, prot, &ci), 0);
	/* outer: FETCH, Uri-Host and Observe visible, path and query not */
	assert_int_equal(coap_pdu_get_code(prot), COAP_REQUEST_CODE_FETCH);
	assert_non_null(find_opt(prot, COAP_OPTION_URI_HOST));
	assert_non_null(find_opt(prot, COAP_OPTION_OBSERVE));
	assert_null(find_opt(prot, COAP_OPTION_URI_PATH));
	assert_null(find_opt(prot, COAP_OPTION_URI_QUERY));
	coap_pdu_t *back = coap_pdu_init(COAP_MESSAGE_CON, 0, 7, 256);
	assert_int_equal(lpw_oscore_unprotect_request(s, prot, back, &si), 0);
	uint8_t a[256], b[256];
	ssize_t na = lpw_coap_encode_udp(req, a, sizeof(a)), nb = lpw_coap_encode_udp(back, b, sizeof(b));
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, (size_t)na);
	assert_true(si.observe);

	/* two notifications, the second delivered twice */
	coap_pdu_t *n1 = notification(s, &si, 2), *n2 = notification(s, &si, 3);
	assert_int_equal(coap_pdu_get_code(n1), COAP_RESPONSE_CODE(205));
	assert_int_equal(coap_pdu_get_code(n2), COAP_RESPONSE_CODE(205));
	coap_pdu_t *p1 = coap_pdu_init(COAP_MESSAGE_NON, 0, 1, 256), *p2 = coap_pdu_init(COAP_MESSAGE_NON, 0, 2, 256);
	coap_pdu_t *p3 = coap_pdu_init(COAP_MESSAGE_NON, 0, 3, 256);
	assert_int_equal(lpw_oscore_unprotect_response(c, n1, &ci, p1), 0);
	assert_int_equal(lpw_oscore_unprotect_response(c, n2, &ci, p2), 0);
	assert_int_equal(lpw_oscore_unprotect_response(c, n2, &ci, p3), -EALREADY);
	assert_int_equal(lpw_oscore_unprotect_response(c, n1, &ci, p3), -EALREADY);
	const coap_opt_t *ob = find_opt(p2, COAP_OPTION_OBSERVE);
	assert_non_null(ob);
	assert_int_equal(coap_decode_var_bytes(coap_opt_value(ob), coap_opt_length(ob)), 3);
	size_t len;
	const uint8_t *data;
	assert_true(coap_get_data(p2, &len, &data));
	assert_int_equal(len, 4);
	assert_memory_equal(data, "21.5", 4);
	assert_int_equal(coap_pdu_get_code(p2), COAP_RESPONSE_CODE(205));

	/* a plain (non-notification) response carries a zero-length OSCORE option and outer 2.04 */
	coap_pdu_t *rsp = coap_pdu_init(COAP_MESSAGE_ACK, COAP_RESPONSE_CODE(202), 7, 256);
	coap_pdu_t *prsp = coap_pdu_init(COAP_MESSAGE_ACK, 0, 7, 256), *brsp = coap_pdu_init(COAP_MESSAGE_ACK, 0, 7, 256);
	coap_add_token(rsp, 2, (const uint8_t *)"tk");
	assert_int_equal(lpw_oscore_protect_response(s, rsp, &si, false, prsp), 0);
	ob = find_opt(prsp, 9);
	assert_non_null(ob);
	assert_int_equal(coap_opt_length(ob), 0);
	assert_int_equal(coap_pdu_get_code(prsp), COAP_RESPONSE_CODE(204));
	/* the client's context cannot verify its own messages, nor a response bound to another request */
	lpw_oscore_req_info_t other = ci;
	other.piv[0] ^= 1;
	assert_int_equal(lpw_oscore_unprotect_response(c, prsp, &other, brsp), -EBADMSG);
	assert_int_equal(lpw_oscore_unprotect_response(c, prsp, &ci, brsp), 0);
	assert_int_equal(coap_pdu_get_code(brsp), COAP_RESPONSE_CODE(202));

	coap_pdu_t *pdus[] = {req, prot, back, n1, n2, p1, p2, p3, rsp, prsp, brsp};
	for (size_t i = 0; i < sizeof(pdus) / sizeof(pdus[0]); i++)
		coap_delete_pdu(pdus[i]);
	lpw_oscore_ctx_free(c);
	lpw_oscore_ctx_free(s);
}

static void test_bad_contexts(void **state)
{
	uint8_t k[16] = {1}, id[8] = {0};
	assert_null(lpw_oscore_ctx_new(k, 0, NULL, 0, id, 1, id + 1, 0, NULL, 0));   /* no secret */
	assert_null(lpw_oscore_ctx_new(k, 16, NULL, 0, id, 8, id, 0, NULL, 0));      /* 8-byte ID */
	assert_null(lpw_oscore_ctx_new(k, 16, NULL, 0, id, 1, id + 1, 1, NULL, 0)); /* same IDs */
	lpw_oscore_ctx_free(NULL);
	/* a message that is already OSCORE cannot be protected again */
	lpw_oscore_ctx_t *c = ctx_hex(SALT, "", "01", NULL);
	coap_pdu_t *prot = parse_hex(C4_PROT), *out = blank_like(prot);
	lpw_oscore_req_info_t ci;
	assert_int_equal(lpw_oscore_protect_request(c, prot, out, &ci), -EINVAL);
	assert_true(lpw_oscore_has_option(prot));
	coap_delete_pdu(prot);
	coap_delete_pdu(out);
	lpw_oscore_ctx_free(c);
}

/* --oscore SECRET:SALT:SENDER_ID:RECIPIENT_ID[:ID_CONTEXT] as device-sim and lwm2m-test-server take it. */
static void test_ctx_from_arg(void **state)
{
	char why[128];
	/* the C.1, C.2 and C.3 contexts again, from their command-line form */
	check_ctx(lpw_oscore_ctx_from_arg(SECRET ":" SALT "::01", why, sizeof(why)), "f0910ed7295e6ad4b54fc793154302ff",
	          "ffb14e093c94c9cac9471648b4f98710", "4622d4dd6d944168eefb54987c", "4622d4dd6d944168eefb54987c",
	          "4722d4dd6d944169eefb54987c");
	check_ctx(lpw_oscore_ctx_from_arg(SECRET "::01:00", why, sizeof(why)), "e57b5635815177cd679ab4bcec9d7dda",
	          "321b26943253c7ffb6003b0b64d74041", "be35ae297d2dace910c52e99f9", "bf35ae297d2dace810c52e99f9",
	          "bf35ae297d2dace910c52e99f9");
	check_ctx(lpw_oscore_ctx_from_arg(SECRET ":" SALT ":01::" ID_CONTEXT, why, sizeof(why)),
	          "e39a0c7c77b43f03b4b39ab9a268699f", "af2a1300a5e95788b356336eeecd2b92", "2ca58fb85ff1b81c0b7181b85e",
	          "2da58fb85ff1b81d0b7181b85e", "2ca58fb85ff1b81c0b7181b85e");
	static const struct {
		const char *arg, *reason; /* a piece of the reason */
	} bad[] = {
		{SECRET ":" SALT ":01", "3 fields"},
		{SECRET ":" SALT ":01:02:03:04", "6 fields"},
		{"", "1 fields"},
		{SECRET "0:" SALT ":01:02", "SECRET is not hex"},    /* odd length */
		{SECRET ":9e7ca9222378634g:01:02", "SALT is not hex"}, /* not a digit */
		{SECRET ":" SALT ": 1:02", "SENDER_ID is not hex"},    /* strtoul would take " 1" */
		{SECRET ":" SALT ":01:+2", "RECIPIENT_ID is not hex"},
		{SECRET SECRET SECRET SECRET SECRET "::01:02", "SECRET is not hex of at most 64"}, /* 80 bytes */
		{"::01:02", "secret must not be empty"},
		{SECRET "::01:01", "different"},
		{SECRET "::0102030405060708:01", "different"}, /* an 8-byte ID */
		{SECRET "::01:02:" SECRET SECRET SECRET, "ID context"}, /* a 48-byte ID Context */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(why, 'x', sizeof(why));
		assert_null(lpw_oscore_ctx_from_arg(bad[i].arg, why, sizeof(why)));
		assert_non_null(memchr(why, '\0', sizeof(why)));
		if (!strstr(why, bad[i].reason))
			fail_msg("'%s': reason '%s' does not say '%s'", bad[i].arg, why, bad[i].reason);
	}
	assert_null(lpw_oscore_ctx_from_arg("01:02", NULL, 0)); /* why is optional */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c1_with_salt),
		cmocka_unit_test(test_c2_without_salt),
		cmocka_unit_test(test_c3_id_context),
		cmocka_unit_test(test_c4_request),
		cmocka_unit_test(test_c5_request),
		cmocka_unit_test(test_c6_request),
		cmocka_unit_test(test_c7_response),
		cmocka_unit_test(test_c8_response_with_piv),
		cmocka_unit_test(test_tampered_ciphertext),
		cmocka_unit_test(test_replay_and_bad_options),
		cmocka_unit_test(test_replay_window),
		cmocka_unit_test(test_round_trip_observe),
		cmocka_unit_test(test_bad_contexts),
		cmocka_unit_test(test_ctx_from_arg),
	};
	coap_startup();
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	coap_cleanup();
	return rc;
}
