/* Unit tests for proxy/proxy.c and proxy/proxy_server.c: the real forwarding rules against a fake upstream
 * (fake_upstream.c), a fake clock and captured device datagrams. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/log.h"
#include "proxy/coap_codec.h"
#include "proxy/pdu_util.h"
#include "tests/unit/proxy/proxy_fixture.h"

static const char *const RD[] = {"rd"};
static const char *const RD5[] = {"rd", "5"};
static const char *const RD9[] = {"rd", "9"};
static const char *const OBJ30[] = {"3", "0"};
static const char *const DP[] = {"dp"};

/* A POST to a path of one or two segments with a text payload (Send, Update, ...). */
static coap_pdu_t *post_pdu(coap_pdu_type_t type, uint16_t mid, uint8_t tok, const char *seg1, const char *seg2,
                            const char *payload)
{
	coap_pdu_t *p = fx_pdu(type, COAP_REQUEST_CODE_POST, mid, &tok, 1);
	fx_add_opt(p, COAP_OPTION_URI_PATH, seg1);
	if (seg2)
		fx_add_opt(p, COAP_OPTION_URI_PATH, seg2);
	if (payload)
		fx_add_payload(p, payload);
	return p;
}

/* 1. device -> server: options and payload byte-identical, a new token; the answer piggybacked with MID/token. */
static void test_device_request_framing(void **state)
{
	fx_t *fx = *state;
	const uint8_t tok = 0xAB;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	coap_pdu_t *reg = fx_register_pdu(COAP_MESSAGE_CON, 0x1234, &tok, 1);

	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, reg), 0);
	assert_int_equal(fake_link_nsent(a), 1);
	const coap_pdu_t *up = fake_link_sent(a, 0);
	assert_int_equal(coap_pdu_get_code(up), COAP_REQUEST_CODE_POST);
	fx_assert_same_options(up, reg);
	fx_assert_same_payload(up, reg);
	coap_bin_const_t ut = coap_pdu_get_token(up);
	assert_true(ut.length > 0);
	assert_false(ut.length == 1 && ut.s[0] == tok);
	assert_int_equal(fx->ndown, 0);
	assert_int_equal(fx->stats.msgs_up[LPW_BINDING_NIDD_SGI], 1);

	coap_pdu_t *r = fx_server_answer(up, COAP_RESPONSE_CODE_CREATED);
	fx_add_opt(r, COAP_OPTION_LOCATION_PATH, "rd");
	fx_add_opt(r, COAP_OPTION_LOCATION_PATH, "5");
	fake_link_server_response(a, r);
	coap_delete_pdu(r);
	assert_int_equal(fx->ndown, 1);
	coap_pdu_t *ack = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(ack), COAP_MESSAGE_ACK);
	assert_int_equal(coap_pdu_get_mid(ack), 0x1234);
	assert_int_equal(coap_pdu_get_code(ack), COAP_RESPONSE_CODE_CREATED);
	fx_assert_token(ack, &tok, 1);
	fx_assert_path(ack, COAP_OPTION_LOCATION_PATH, RD5, 2);
	assert_true(fx->last_registered);
	assert_string_equal(fx->last_location, "/rd/5");
	coap_delete_pdu(ack);
	coap_delete_pdu(reg);

	/* NON request -> NON response with a MID of the gateway's and the device's token */
	coap_pdu_t *non = post_pdu(COAP_MESSAGE_NON, 0x2000, 0xCD, "dp", NULL, "{\"v\":1}");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, non), 0);
	assert_int_equal(fake_link_nsent(a), 2);
	up = fake_link_sent(a, 1);
	fx_assert_same_options(up, non);
	fx_assert_same_payload(up, non);
	r = fx_server_answer(up, COAP_RESPONSE_CODE_CHANGED);
	fake_link_server_response(a, r);
	coap_delete_pdu(r);
	assert_int_equal(fx->ndown, 2);
	coap_pdu_t *resp = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(resp), COAP_MESSAGE_NON);
	assert_int_equal(coap_pdu_get_code(resp), COAP_RESPONSE_CODE_CHANGED);
	assert_int_not_equal(coap_pdu_get_mid(resp), 0x2000);
	fx_assert_token(resp, (const uint8_t[]){0xCD}, 1);
	coap_delete_pdu(resp);
	coap_delete_pdu(non);
}

/* The server's GET /3/0 with token T on the link; returns the CON the device got (caller frees). */
static coap_pdu_t *server_get(fx_t *fx, lpw_uplink_t *link, const uint8_t *tok, size_t toklen, int observe)
{
	coap_pdu_t *get = fx_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, 0, tok, toklen);
	if (observe >= 0)
		fx_add_uint_opt(get, COAP_OPTION_OBSERVE, (unsigned)observe);
	fx_add_opt(get, COAP_OPTION_URI_PATH, "3");
	fx_add_opt(get, COAP_OPTION_URI_PATH, "0");
	size_t before = fx->ndown;
	fake_link_server_request(link, get);
	assert_int_equal(fx->ndown, before + 1);
	coap_pdu_t *con = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(con), COAP_MESSAGE_CON);
	fx_assert_same_options(con, get); /* Observe and Uri-Path carried as they are */
	coap_delete_pdu(get);
	return con;
}

/* 2. server -> device: a CON with the device's own MID/token space; piggybacked and separate answers. */
static void test_server_request_framing(void **state)
{
	fx_t *fx = *state;
	const uint8_t T[] = {0x51, 0x52, 0x53}, T2[] = {0x61, 0x62};
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");

	coap_pdu_t *con = server_get(fx, a, T, sizeof(T), -1);
	assert_int_equal(coap_pdu_get_code(con), COAP_REQUEST_CODE_GET);
	fx_assert_path(con, COAP_OPTION_URI_PATH, OBJ30, 2);
	coap_bin_const_t dt = coap_pdu_get_token(con);
	assert_true(dt.length > 0 && !(dt.length == sizeof(T) && memcmp(dt.s, T, sizeof(T)) == 0));
	coap_pdu_t *ack = fx_pdu(COAP_MESSAGE_ACK, COAP_RESPONSE_CODE_CONTENT, coap_pdu_get_mid(con), dt.s, dt.length);
	fx_add_uint_opt(ack, COAP_OPTION_CONTENT_FORMAT, 11542);
	fx_add_payload(ack, "device-payload");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, ack), 0);
	assert_int_equal(fake_link_nsent(a), 1);
	const coap_pdu_t *up = fake_link_sent(a, 0);
	assert_int_equal(coap_pdu_get_code(up), COAP_RESPONSE_CODE_CONTENT);
	fx_assert_token(up, T, sizeof(T));
	fx_assert_same_options(up, ack);
	fx_assert_same_payload(up, ack);
	assert_int_equal(fx->ndown, 1); /* nothing more to the device */

	/* empty ACK, then the separate response as a CON of the device's */
	coap_pdu_t *con2 = server_get(fx, a, T2, sizeof(T2), -1);
	assert_int_not_equal(coap_pdu_get_mid(con2), coap_pdu_get_mid(con));
	coap_bin_const_t dt2 = coap_pdu_get_token(con2);
	assert_false(dt2.length == dt.length && memcmp(dt2.s, dt.s, dt.length) == 0);
	coap_pdu_t *empty = fx_pdu(COAP_MESSAGE_ACK, COAP_EMPTY_CODE, coap_pdu_get_mid(con2), NULL, 0);
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, empty), 0);
	assert_int_equal(fake_link_nsent(a), 1);
	assert_int_equal(fx->ndown, 2);
	coap_pdu_t *sep = fx_pdu(COAP_MESSAGE_CON, COAP_RESPONSE_CODE_CONTENT, 0x7777, dt2.s, dt2.length);
	fx_add_payload(sep, "late");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, sep), 0);
	assert_int_equal(fx->ndown, 3);
	coap_pdu_t *sep_ack = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(sep_ack), COAP_MESSAGE_ACK);
	assert_int_equal(coap_pdu_get_code(sep_ack), COAP_EMPTY_CODE);
	assert_int_equal(coap_pdu_get_mid(sep_ack), 0x7777);
	assert_int_equal(fake_link_nsent(a), 2);
	up = fake_link_sent(a, 1);
	assert_int_equal(coap_pdu_get_code(up), COAP_RESPONSE_CODE_CONTENT);
	fx_assert_token(up, T2, sizeof(T2));
	fx_assert_payload(up, (const uint8_t *)"late", 4);

	coap_delete_pdu(sep_ack);
	coap_delete_pdu(sep);
	coap_delete_pdu(empty);
	coap_delete_pdu(con2);
	coap_delete_pdu(ack);
	coap_delete_pdu(con);
}

/* 3. RFC 7252 §4.5: a retransmitted CON is not forwarded again; once answered, the same ACK goes back. */
static void test_duplicates(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	coap_pdu_t *req = post_pdu(COAP_MESSAGE_CON, 0x3000, 0x01, "dp", NULL, "x");

	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, req), 0);
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, req), 0);
	assert_int_equal(fake_link_nsent(a), 1);
	assert_int_equal(fx->ndown, 0);
	assert_int_equal(fx->stats.duplicates, 1);

	coap_pdu_t *r = fx_server_answer(fake_link_sent(a, 0), COAP_RESPONSE_CODE_CHANGED);
	fake_link_server_response(a, r);
	coap_delete_pdu(r);
	assert_int_equal(fx->ndown, 1);
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, req), 0);
	assert_int_equal(fx->ndown, 2);
	assert_int_equal(fx->down[1].len, fx->down[0].len);
	assert_memory_equal(fx->down[1].data, fx->down[0].data, fx->down[0].len);
	assert_int_equal(fake_link_nsent(a), 1);
	assert_int_equal(fx->stats.duplicates, 2);
	coap_pdu_t *ack = fx_down(fx, 1);
	assert_int_equal(coap_pdu_get_type(ack), COAP_MESSAGE_ACK);
	assert_int_equal(coap_pdu_get_mid(ack), 0x3000);
	coap_delete_pdu(ack);
	coap_delete_pdu(req);
}

/* 4. CoAP ping and malformed messages: RST for a CON, silence for a NON, never anything upstream. */
static void test_ping_and_malformed(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	const uint8_t ping[] = {0x40, 0x00, 0x45, 0x67};
	const uint8_t bad_con[] = {0x49, 0x01, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8, 9}; /* token length 9 */
	const uint8_t bad_non[] = {0x59, 0x01, 0x12, 0x35, 1, 2, 3, 4, 5, 6, 7, 8, 9};

	assert_int_equal(fx_uplink_bytes(fx, FX_DEV_PLAIN, ping, sizeof(ping)), 0);
	assert_int_equal(fx->ndown, 1);
	coap_pdu_t *rst = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(rst), COAP_MESSAGE_RST);
	assert_int_equal(coap_pdu_get_code(rst), COAP_EMPTY_CODE);
	assert_int_equal(coap_pdu_get_mid(rst), 0x4567);
	assert_int_equal(coap_pdu_get_token(rst).length, 0);
	coap_delete_pdu(rst);

	assert_int_equal(fx_uplink_bytes(fx, FX_DEV_PLAIN, bad_con, sizeof(bad_con)), -EBADMSG);
	assert_int_equal(fx->ndown, 2);
	rst = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(rst), COAP_MESSAGE_RST);
	assert_int_equal(coap_pdu_get_mid(rst), 0x1234);
	coap_delete_pdu(rst);

	assert_int_equal(fx_uplink_bytes(fx, FX_DEV_PLAIN, bad_non, sizeof(bad_non)), -EBADMSG);
	assert_int_equal(fx->ndown, 2);
	assert_int_equal(fx_uplink_bytes(fx, FX_DEV_PLAIN, bad_con, 2), -EBADMSG); /* too short to name a MID */
	assert_int_equal(fx->ndown, 2);
	assert_int_equal(fx->stats.dropped_malformed, 3);
	assert_int_equal(fake_link_nsent(a), 0);
}

/* 5. LwM2M 1.1.1 §6.4.3: after a reconnect the gateway registers the device again, holds the device's
 * messages until that is done, and maps the location the device knows to the new one. */
static void test_reregister_on_reconnect(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_register_plain(fx);
	assert_int_equal(fx->ndown, 1);

	fake_link_set_state(a, LPW_LINK_DOWN, 0, "connection closed by the server");
	coap_pdu_t *upd = post_pdu(COAP_MESSAGE_CON, 0x0101, 0x11, "rd", "5", NULL);
	coap_pdu_t *send = post_pdu(COAP_MESSAGE_CON, 0x0102, 0x12, "dp", NULL, "{\"t\":21}");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, upd), 0);
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, send), 0);
	assert_int_equal(fake_link_nsent(a), 1);
	assert_int_equal(fake_link_connects(a), 1); /* holding a message asks for the link */
	assert_int_equal(fake_link_refused(a), 0);
	assert_int_equal(fx->ndown, 1);

	fake_link_set_state(a, LPW_LINK_UP, 1, NULL);
	assert_int_equal(fx->stats.upstream_reconnects, 1);
	assert_int_equal(fake_link_nsent(a), 2); /* the gateway's Register, nothing else yet */
	const coap_pdu_t *rereg = fake_link_sent(a, 1);
	assert_int_equal(coap_pdu_get_code(rereg), COAP_REQUEST_CODE_POST);
	fx_assert_path(rereg, COAP_OPTION_URI_PATH, RD, 1);
	fx_assert_same_options(rereg, fake_link_sent(a, 0));
	fx_assert_same_payload(rereg, fake_link_sent(a, 0));
	assert_false(coap_pdu_get_token(rereg).length == coap_pdu_get_token(fake_link_sent(a, 0)).length &&
	             memcmp(coap_pdu_get_token(rereg).s, coap_pdu_get_token(fake_link_sent(a, 0)).s,
	                    coap_pdu_get_token(rereg).length) == 0);

	coap_pdu_t *r = fx_server_answer(rereg, COAP_RESPONSE_CODE_CREATED);
	fx_add_opt(r, COAP_OPTION_LOCATION_PATH, "rd");
	fx_add_opt(r, COAP_OPTION_LOCATION_PATH, "9");
	fake_link_server_response(a, r);
	coap_delete_pdu(r);
	assert_int_equal(fx->ndown, 1); /* the device hears nothing of it */
	assert_string_equal(fx->last_location, "/rd/5");
	assert_int_equal(fake_link_nsent(a), 4); /* held messages, in order */
	const coap_pdu_t *up_upd = fake_link_sent(a, 2);
	fx_assert_path(up_upd, COAP_OPTION_URI_PATH, RD9, 2);
	const coap_pdu_t *up_send = fake_link_sent(a, 3);
	fx_assert_path(up_send, COAP_OPTION_URI_PATH, DP, 1);
	fx_assert_same_payload(up_send, send);

	r = fx_server_answer(up_upd, COAP_RESPONSE_CODE_CHANGED);
	fake_link_server_response(a, r);
	coap_delete_pdu(r);
	assert_int_equal(fx->ndown, 2);
	coap_pdu_t *ack = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(ack), COAP_MESSAGE_ACK);
	assert_int_equal(coap_pdu_get_mid(ack), 0x0101);
	assert_int_equal(coap_pdu_get_code(ack), COAP_RESPONSE_CODE_CHANGED);
	fx_assert_token(ack, (const uint8_t[]){0x11}, 1);
	assert_int_equal(lpw_pdu_has_option(ack, COAP_OPTION_LOCATION_PATH), false);
	coap_delete_pdu(ack);

	/* the next Update still names /rd/5 and still reaches /rd/9 */
	coap_pdu_t *upd2 = post_pdu(COAP_MESSAGE_CON, 0x0103, 0x13, "rd", "5", NULL);
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, upd2), 0);
	assert_int_equal(fake_link_nsent(a), 5);
	fx_assert_path(fake_link_sent(a, 4), COAP_OPTION_URI_PATH, RD9, 2);
	coap_delete_pdu(upd2);
	coap_delete_pdu(send);
	coap_delete_pdu(upd);
}

/* An OSCORE-protected POST with the given OSCORE option value (len may be 0). */
static coap_pdu_t *oscore_pdu(uint16_t mid, uint8_t tok, const uint8_t *osc, size_t osc_len)
{
	coap_pdu_t *p = fx_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, mid, &tok, 1);
	assert_true(coap_add_option(p, COAP_OPTION_OSCORE, osc_len, osc) > 0);
	assert_true(coap_add_data(p, 9, (const uint8_t *)"\x8f\x01\x02\x03\x04\x05\x06\x07\x08"));
	return p;
}

static void assert_oscore_option(const coap_pdu_t *pdu, const uint8_t *osc, size_t len)
{
	lpw_pdu_optval_t v[2];
	assert_int_equal(lpw_pdu_get_options(pdu, COAP_OPTION_OSCORE, v, 2), 1);
	assert_int_equal(v[0].len, len);
	if (len)
		assert_memory_equal(v[0].value, osc, len);
}

/* 6. OSCORE passthrough (DESIGN.md decision 4) and the 4.04 that makes an OSCORE device register again. */
static void test_oscore(void **state)
{
	fx_t *fx = *state;
	const uint8_t osc[] = {0x09, 0x05, 0x42}; /* flags, partial IV, kid */
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_OSCORE, "a");

	coap_pdu_t *p1 = oscore_pdu(0x0500, 0x21, osc, sizeof(osc));
	assert_int_equal(fx_uplink(fx, FX_DEV_OSCORE, p1), 0);
	assert_int_equal(fake_link_nsent(a), 1);
	assert_oscore_option(fake_link_sent(a, 0), osc, sizeof(osc));
	fx_assert_same_options(fake_link_sent(a, 0), p1);
	fx_assert_same_payload(fake_link_sent(a, 0), p1);
	/* the protected response carries an empty OSCORE option: it must reach the device as such */
	coap_pdu_t *r = fx_server_answer(fake_link_sent(a, 0), COAP_RESPONSE_CODE_CHANGED);
	assert_true(coap_add_option(r, COAP_OPTION_OSCORE, 0, NULL) > 0);
	fx_add_payload(r, "enc");
	fake_link_server_response(a, r);
	coap_delete_pdu(r);
	coap_pdu_t *ack = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_mid(ack), 0x0500);
	assert_oscore_option(ack, NULL, 0);
	coap_delete_pdu(ack);

	coap_pdu_t *p2 = oscore_pdu(0x0501, 0x22, NULL, 0);
	assert_int_equal(fx_uplink(fx, FX_DEV_OSCORE, p2), 0);
	assert_int_equal(fake_link_nsent(a), 2);
	assert_oscore_option(fake_link_sent(a, 1), NULL, 0);
	fx_assert_same_payload(fake_link_sent(a, 1), p2);
	r = fx_server_answer(fake_link_sent(a, 1), COAP_RESPONSE_CODE_CHANGED);
	fake_link_server_response(a, r);
	coap_delete_pdu(r);

	/* reconnect: the gateway cannot rebuild an encrypted Register, so nothing is sent by itself ... */
	fake_link_set_state(a, LPW_LINK_DOWN, 0, NULL);
	fake_link_set_state(a, LPW_LINK_UP, 1, NULL);
	assert_int_equal(fake_link_nsent(a), 2);
	size_t before = fx->ndown;
	/* ... and the device's next request is answered 4.04 so that it registers again */
	coap_pdu_t *p3 = oscore_pdu(0x0502, 0x23, osc, sizeof(osc));
	assert_int_equal(fx_uplink(fx, FX_DEV_OSCORE, p3), 0);
	assert_int_equal(fake_link_nsent(a), 2);
	assert_int_equal(fx->ndown, before + 1);
	coap_pdu_t *nf = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(nf), COAP_MESSAGE_ACK);
	assert_int_equal(coap_pdu_get_mid(nf), 0x0502);
	assert_int_equal(coap_pdu_get_code(nf), COAP_RESPONSE_CODE_NOT_FOUND);
	fx_assert_token(nf, (const uint8_t[]){0x23}, 1);
	coap_delete_pdu(nf);
	coap_pdu_t *p4 = oscore_pdu(0x0503, 0x24, osc, sizeof(osc));
	assert_int_equal(fx_uplink(fx, FX_DEV_OSCORE, p4), 0);
	assert_int_equal(fake_link_nsent(a), 3);
	fx_assert_same_options(fake_link_sent(a, 2), p4);

	coap_delete_pdu(p4);
	coap_delete_pdu(p3);
	coap_delete_pdu(p2);
	coap_delete_pdu(p1);
}

/* Advances the fake clock to the next timer deadline and runs one loop turn; returns the step taken. */
static int64_t run_to_next_deadline(fx_t *fx)
{
	int64_t next = lpw_timers_next_deadline(lpw_loop_timers(fx->loop));
	int64_t now = lpw_clock_now_ms(fx->clock);
	assert_true(next != INT64_MAX && next > now);
	/* one millisecond early nothing happens */
	size_t before = fx->ndown;
	assert_int_equal(lpw_clock_advance(fx->clock, next - now - 1), 0);
	assert_true(lpw_loop_run_once(fx->loop, 0) >= 0);
	assert_int_equal(fx->ndown, before);
	assert_int_equal(lpw_clock_advance(fx->clock, 1), 0);
	assert_true(lpw_loop_run_once(fx->loop, 0) >= 0);
	return next - now;
}

/* 7. RFC 7252 §4.2: an unanswered CON to the device goes 1 + MAX_RETRANSMIT (4) times with doubling
 * intervals, then the server gets 5.04 and an event is raised. */
static void test_retransmission_timeout(void **state)
{
	fx_t *fx = *state;
	const uint8_t T[] = {0x71, 0x72};
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	coap_pdu_t *con = server_get(fx, a, T, sizeof(T), -1);

	int64_t interval = run_to_next_deadline(fx);
	assert_true(interval >= 2000 && interval < 3000); /* ACK_TIMEOUT .. ACK_TIMEOUT * ACK_RANDOM_FACTOR */
	assert_int_equal(fx->ndown, 2);
	for (size_t k = 3; k <= 5; k++) {
		int64_t next = run_to_next_deadline(fx);
		assert_int_equal(next, 2 * interval);
		interval = next;
		assert_int_equal(fx->ndown, k);
	}
	for (size_t i = 1; i < fx->ndown; i++) { /* the very same datagram each time */
		assert_int_equal(fx->down[i].len, fx->down[0].len);
		assert_memory_equal(fx->down[i].data, fx->down[0].data, fx->down[0].len);
	}
	assert_int_equal(fake_link_nsent(a), 0);
	assert_null(fx_event(fx, "request-timeout"));

	assert_int_equal(run_to_next_deadline(fx), 2 * interval);
	assert_int_equal(fx->ndown, 5); /* no sixth transmission */
	assert_int_equal(fake_link_nsent(a), 1);
	assert_int_equal(coap_pdu_get_code(fake_link_sent(a, 0)), COAP_RESPONSE_CODE(504));
	fx_assert_token(fake_link_sent(a, 0), T, sizeof(T));
	const fx_event_t *e = fx_event(fx, "request-timeout");
	assert_non_null(e);
	assert_string_equal(e->device, "plain");
	assert_int_equal(lpw_timers_next_deadline(lpw_loop_timers(fx->loop)), INT64_MAX);

	/* a late ACK from the device changes nothing */
	coap_pdu_t *late = fx_pdu(COAP_MESSAGE_ACK, COAP_RESPONSE_CODE_CONTENT, coap_pdu_get_mid(con),
	                          coap_pdu_get_token(con).s, coap_pdu_get_token(con).length);
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, late), 0);
	assert_int_equal(fake_link_nsent(a), 1);
	coap_delete_pdu(late);
	coap_delete_pdu(con);
}

/* A notification from the device with its token; CON or NON. */
static coap_pdu_t *notification(coap_pdu_type_t type, uint16_t mid, coap_bin_const_t dtok, unsigned obs,
                                const char *payload)
{
	coap_pdu_t *n = fx_pdu(type, COAP_RESPONSE_CODE_CONTENT, mid, dtok.s, dtok.length);
	fx_add_uint_opt(n, COAP_OPTION_OBSERVE, obs);
	fx_add_payload(n, payload);
	return n;
}

/* Server GET /3/0 Observe=0 with token T, device ACK 2.05 Observe=1: returns the device's CON (caller frees). */
static coap_pdu_t *start_observation(fx_t *fx, lpw_uplink_t *a, const uint8_t *T, size_t tlen)
{
	coap_pdu_t *con = server_get(fx, a, T, tlen, 0);
	assert_int_equal(fx_observe(con), 0);
	coap_bin_const_t dt = coap_pdu_get_token(con);
	coap_pdu_t *ack = fx_pdu(COAP_MESSAGE_ACK, COAP_RESPONSE_CODE_CONTENT, coap_pdu_get_mid(con), dt.s, dt.length);
	fx_add_uint_opt(ack, COAP_OPTION_OBSERVE, 1);
	fx_add_payload(ack, "v1");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, ack), 0);
	coap_delete_pdu(ack);
	assert_int_equal(fake_link_nsent(a), 1);
	fx_assert_token(fake_link_sent(a, 0), T, tlen);
	assert_int_equal(fx_observe(fake_link_sent(a, 0)), 1);
	fx_assert_payload(fake_link_sent(a, 0), (const uint8_t *)"v1", 2);
	return con;
}

/* 8. RFC 7641 through the proxy: the observation keeps the server's token upstream and the device's token
 * southbound; a GET Observe=1 with the same token cancels it. */
static void test_observe(void **state)
{
	fx_t *fx = *state;
	const uint8_t T[] = {0x0b, 0x5e};
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	coap_pdu_t *con = start_observation(fx, a, T, sizeof(T));
	coap_bin_const_t dt = coap_pdu_get_token(con);

	coap_pdu_t *n1 = notification(COAP_MESSAGE_NON, 0x0801, dt, 2, "v2");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, n1), 0);
	assert_int_equal(fake_link_nsent(a), 2);
	fx_assert_token(fake_link_sent(a, 1), T, sizeof(T));
	assert_int_equal(fx_observe(fake_link_sent(a, 1)), 2);
	fx_assert_payload(fake_link_sent(a, 1), (const uint8_t *)"v2", 2);
	assert_int_equal(fx->ndown, 1); /* nothing to acknowledge for a NON */

	coap_pdu_t *n2 = notification(COAP_MESSAGE_CON, 0x0802, dt, 3, "v3");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, n2), 0);
	assert_int_equal(fake_link_nsent(a), 3);
	fx_assert_token(fake_link_sent(a, 2), T, sizeof(T));
	assert_int_equal(fx_observe(fake_link_sent(a, 2)), 3);
	assert_int_equal(fx->ndown, 2);
	coap_pdu_t *n2ack = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(n2ack), COAP_MESSAGE_ACK);
	assert_int_equal(coap_pdu_get_code(n2ack), COAP_EMPTY_CODE);
	assert_int_equal(coap_pdu_get_mid(n2ack), 0x0802);
	coap_delete_pdu(n2ack);

	/* cancel: the same server token, Observe=1 -> the device sees its own token again */
	coap_pdu_t *cancel = server_get(fx, a, T, sizeof(T), 1);
	assert_int_equal(fx_observe(cancel), 1);
	fx_assert_same_token(cancel, con);
	coap_pdu_t *cack = fx_pdu(COAP_MESSAGE_ACK, COAP_RESPONSE_CODE_CONTENT, coap_pdu_get_mid(cancel), dt.s, dt.length);
	fx_add_payload(cack, "v4");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, cack), 0);
	assert_int_equal(fake_link_nsent(a), 4);
	fx_assert_token(fake_link_sent(a, 3), T, sizeof(T));
	fx_assert_payload(fake_link_sent(a, 3), (const uint8_t *)"v4", 2);

	/* the observation is gone: a late notification is rejected (RFC 7641 §3.6) */
	coap_pdu_t *n3 = notification(COAP_MESSAGE_CON, 0x0803, dt, 4, "v5");
	size_t before = fx->ndown;
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, n3), 0);
	assert_int_equal(fake_link_nsent(a), 4);
	assert_int_equal(fx->ndown, before + 1);
	coap_pdu_t *rst = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(rst), COAP_MESSAGE_RST);
	assert_int_equal(coap_pdu_get_mid(rst), 0x0803);
	coap_delete_pdu(rst);

	coap_delete_pdu(n3);
	coap_delete_pdu(cack);
	coap_delete_pdu(cancel);
	coap_delete_pdu(n2);
	coap_delete_pdu(n1);
	coap_delete_pdu(con);
}

/* 9. LwM2M 1.1.1 §6.2, App. D.2: /bs to the bootstrap server, Uri-Host picks a server, else the first. */
static void test_routing(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_MULTI, "a");
	lpw_uplink_t *b = fx_link_up(fx, FX_DEV_MULTI, "b");
	lpw_uplink_t *bs = fx_link_up(fx, FX_DEV_MULTI, "bs");

	coap_pdu_t *boot = post_pdu(COAP_MESSAGE_CON, 0x0901, 0x31, "bs", NULL, NULL);
	fx_add_opt(boot, COAP_OPTION_URI_QUERY, "ep=multi");
	assert_int_equal(fx_uplink(fx, FX_DEV_MULTI, boot), 0);
	assert_int_equal(fake_link_nsent(bs), 1);
	assert_int_equal(fake_link_nsent(a), 0);
	assert_int_equal(fake_link_nsent(b), 0);
	fx_assert_same_options(fake_link_sent(bs, 0), boot);

	coap_pdu_t *to_b = fx_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, 0x0902, (const uint8_t[]){0x32}, 1);
	fx_add_opt(to_b, COAP_OPTION_URI_HOST, "b");
	fx_add_opt(to_b, COAP_OPTION_URI_PATH, "dp");
	assert_int_equal(fx_uplink(fx, FX_DEV_MULTI, to_b), 0);
	assert_int_equal(fake_link_nsent(b), 1);
	assert_int_equal(fake_link_nsent(a), 0);

	coap_pdu_t *by_host = fx_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, 0x0903, (const uint8_t[]){0x33}, 1);
	fx_add_opt(by_host, COAP_OPTION_URI_HOST, "b.example");
	fx_add_opt(by_host, COAP_OPTION_URI_PATH, "dp");
	assert_int_equal(fx_uplink(fx, FX_DEV_MULTI, by_host), 0);
	assert_int_equal(fake_link_nsent(b), 2);

	coap_pdu_t *plain = post_pdu(COAP_MESSAGE_CON, 0x0904, 0x34, "dp", NULL, "p");
	assert_int_equal(fx_uplink(fx, FX_DEV_MULTI, plain), 0);
	assert_int_equal(fake_link_nsent(a), 1);
	assert_int_equal(fake_link_nsent(b), 2);
	assert_int_equal(fake_link_nsent(bs), 1);

	/* the bootstrap server's answer goes back to the device */
	coap_pdu_t *r = fx_server_answer(fake_link_sent(bs, 0), COAP_RESPONSE_CODE_CHANGED);
	fake_link_server_response(bs, r);
	coap_delete_pdu(r);
	coap_pdu_t *ack = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_mid(ack), 0x0901);
	assert_int_equal(coap_pdu_get_code(ack), COAP_RESPONSE_CODE_CHANGED);
	coap_delete_pdu(ack);

	coap_delete_pdu(plain);
	coap_delete_pdu(by_host);
	coap_delete_pdu(to_b);
	coap_delete_pdu(boot);
}

/* A device without a bootstrap server gets 4.04 for /bs instead of a request to its LwM2M server. */
static void test_bootstrap_without_server(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	coap_pdu_t *boot = post_pdu(COAP_MESSAGE_CON, 0x0a01, 0x41, "bs", NULL, NULL);
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, boot), 0);
	assert_int_equal(fake_link_nsent(a), 0);
	coap_pdu_t *nf = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_code(nf), COAP_RESPONSE_CODE_NOT_FOUND);
	assert_int_equal(coap_pdu_get_mid(nf), 0x0a01);
	coap_delete_pdu(nf);
	coap_delete_pdu(boot);
}

/* A request in flight when the link drops is not lost: it goes out again once the link is back. */
static void test_inflight_resent_after_reconnect(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	coap_pdu_t *req = post_pdu(COAP_MESSAGE_CON, 0x0b01, 0x51, "dp", NULL, "lost?");

	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, req), 0);
	assert_int_equal(fake_link_nsent(a), 1);
	fake_link_set_state(a, LPW_LINK_DOWN, 0, NULL);
	/* the old session's answer can no longer arrive; a stale one is ignored */
	coap_pdu_t *stale = fx_server_answer(fake_link_sent(a, 0), COAP_RESPONSE_CODE_CHANGED);
	fake_link_server_response(a, stale);
	assert_int_equal(fx->ndown, 0);
	fake_link_set_state(a, LPW_LINK_UP, 1, NULL); /* not registered: nothing of the gateway's own */
	assert_int_equal(fake_link_nsent(a), 2);
	fx_assert_same_options(fake_link_sent(a, 1), req);
	fx_assert_same_payload(fake_link_sent(a, 1), req);
	coap_pdu_t *r = fx_server_answer(fake_link_sent(a, 1), COAP_RESPONSE_CODE_CHANGED);
	fake_link_server_response(a, r);
	assert_int_equal(fx->ndown, 1);
	coap_pdu_t *ack = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_mid(ack), 0x0b01);
	assert_int_equal(coap_pdu_get_code(ack), COAP_RESPONSE_CODE_CHANGED);
	coap_delete_pdu(ack);
	coap_delete_pdu(r);
	coap_delete_pdu(stale);
	coap_delete_pdu(req);
}

/* STYLE.md caps: the 17th request in flight is answered 5.03, in the framing of the request (NON -> NON). */
static void test_inflight_cap(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	for (uint16_t i = 0; i < 16; i++) {
		coap_pdu_t *req = post_pdu(COAP_MESSAGE_NON, (uint16_t)(0x0c00 + i), (uint8_t)i, "dp", NULL, "n");
		assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, req), 0);
		coap_delete_pdu(req);
	}
	assert_int_equal(fake_link_nsent(a), 16);
	assert_int_equal(fx->ndown, 0);
	coap_pdu_t *over = post_pdu(COAP_MESSAGE_NON, 0x0c10, 0x77, "dp", NULL, "n");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, over), 0);
	assert_int_equal(fake_link_nsent(a), 16);
	assert_int_equal(fx->ndown, 1);
	coap_pdu_t *busy = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(busy), COAP_MESSAGE_NON);
	assert_int_equal(coap_pdu_get_code(busy), COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE);
	assert_int_not_equal(coap_pdu_get_mid(busy), 0x0c10);
	fx_assert_token(busy, (const uint8_t[]){0x77}, 1);
	coap_delete_pdu(busy);
	coap_delete_pdu(over);

	coap_pdu_t *con = post_pdu(COAP_MESSAGE_CON, 0x0c11, 0x78, "dp", NULL, "c");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, con), 0);
	busy = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(busy), COAP_MESSAGE_ACK);
	assert_int_equal(coap_pdu_get_mid(busy), 0x0c11);
	assert_int_equal(coap_pdu_get_code(busy), COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE);
	coap_delete_pdu(busy);
	coap_delete_pdu(con);
}

/* STYLE.md caps: while the link is down at most 16 messages wait; the 17th CON is answered 5.03 (not dropped,
 * which would leave the device retransmitting into a duplicate filter that never answers), held ones go out. */
static void test_held_cap(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link(fx, FX_DEV_PLAIN, "a");
	char body[16][4];
	for (uint16_t i = 0; i < 16; i++) {
		snprintf(body[i], sizeof(body[i]), "h%u", (unsigned)i);
		coap_pdu_t *req = post_pdu(COAP_MESSAGE_CON, (uint16_t)(0x0d00 + i), (uint8_t)i, "dp", NULL, body[i]);
		assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, req), 0);
		coap_delete_pdu(req);
	}
	assert_int_equal(lpw_uplink_state(a), LPW_LINK_CONNECTING);
	assert_int_equal(fx->ndown, 0);
	coap_pdu_t *over = post_pdu(COAP_MESSAGE_CON, 0x0d10, 0x99, "dp", NULL, "h");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, over), 0);
	assert_int_equal(fx->ndown, 1);
	coap_pdu_t *busy = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(busy), COAP_MESSAGE_ACK);
	assert_int_equal(coap_pdu_get_mid(busy), 0x0d10);
	assert_int_equal(coap_pdu_get_code(busy), COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE);
	coap_delete_pdu(busy);
	/* its retransmission gets the same answer again, from the cache */
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, over), 0);
	assert_int_equal(fx->ndown, 2);
	assert_memory_equal(fx->down[1].data, fx->down[0].data, fx->down[0].len);
	coap_delete_pdu(over);

	fake_link_set_state(a, LPW_LINK_UP, 0, NULL);
	assert_int_equal(fake_link_nsent(a), 16);
	for (size_t i = 0; i < 16; i++) /* in the order the device sent them */
		fx_assert_payload(fake_link_sent(a, i), (const uint8_t *)body[i], strlen(body[i]));
}

/* stats.h: upstream_up / upstream_down are gauges (links up now, links lost now), not counters. */
static void test_link_gauges(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link(fx, FX_DEV_PLAIN, "a");
	lpw_uplink_t *b = fx_link(fx, FX_DEV_MULTI, "b");

	fake_link_set_state(a, LPW_LINK_UP, 0, NULL);
	fake_link_set_state(b, LPW_LINK_UP, 0, NULL);
	assert_int_equal(fx->stats.upstream_up, 2);
	assert_int_equal(fx->stats.upstream_down, 0);
	fake_link_set_state(a, LPW_LINK_DOWN, 0, "connection closed by the server");
	fake_link_set_state(a, LPW_LINK_CONNECTING, 0, "connecting");
	fake_link_set_state(a, LPW_LINK_DOWN, 0, "TCP connect failed"); /* the same link, lost again */
	assert_int_equal(fx->stats.upstream_up, 1);
	assert_int_equal(fx->stats.upstream_down, 1);
	fake_link_set_state(a, LPW_LINK_UP, 1, NULL);
	assert_int_equal(fx->stats.upstream_up, 2);
	assert_int_equal(fx->stats.upstream_down, 0);
	assert_int_equal(fx->stats.upstream_reconnects, 1);
	fake_link_set_state(b, LPW_LINK_FAILED, 0, "TLS alert: bad certificate");
	assert_int_equal(fx->stats.upstream_up, 1);
	assert_int_equal(fx->stats.upstream_down, 1);
}

/* 10. LwM2M 1.1.1 §5.2.9: a "fail" alert ends retries; the operator hears of it as an event. */
static void test_link_failed_event(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	assert_null(fx_event(fx, "upstream-failed"));
	fake_link_set_state(a, LPW_LINK_FAILED, 0, "TLS alert: bad certificate");
	const fx_event_t *e = fx_event(fx, "upstream-failed");
	assert_non_null(e);
	assert_string_equal(e->device, "plain");
	assert_non_null(strstr(e->detail, "a"));
	assert_non_null(strstr(e->detail, "bad certificate"));
	assert_int_equal(fx->nevents, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_device_request_framing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_server_request_framing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ping_and_malformed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reregister_on_reconnect, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_oscore, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_retransmission_timeout, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_observe, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_routing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bootstrap_without_server, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_link_failed_event, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_inflight_resent_after_reconnect, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_inflight_cap, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_held_cap, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_link_gauges, fx_setup, fx_teardown),
	};
	coap_startup();
	coap_set_log_level(LOG_EMERG); /* libcoap logs every bad option it parses */
	lpw_log_setup(LOG_ERR, LPW_LOG_TO_STDERR, "unit_proxy");
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	coap_cleanup();
	return rc;
}
