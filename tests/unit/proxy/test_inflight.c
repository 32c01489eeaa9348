/* Issue 16 item 2: every device request in flight to a server ends — with the answer, with the link, or at its
 * lifetime (RFC 7252 §4.8.2: EXCHANGE_LIFETIME 247 s for CON, NON_LIFETIME 145 s for NON); a request whose
 * RFC 7967 No-Response option wants no answer holds nothing. Real proxy, fake upstream, fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/proxy/proxy_fixture.h"

#define NO_RESPONSE 258 /* RFC 7967 */
#define CF_LINK_FORMAT 40

static coap_pdu_t *send_pdu(coap_pdu_type_t type, uint16_t mid, uint8_t tok, int no_response)
{
	coap_pdu_t *p = fx_pdu(type, COAP_REQUEST_CODE_POST, mid, &tok, 1);
	fx_add_opt(p, COAP_OPTION_URI_PATH, "dp");
	if (no_response >= 0)
		fx_add_uint_opt(p, NO_RESPONSE, (unsigned)no_response);
	fx_add_payload(p, "{\"t\":21}");
	return p;
}

/* Sends n requests of this type (message IDs from mid); returns the datagrams the device got meanwhile. */
static size_t uplink_n(fx_t *fx, coap_pdu_type_t type, uint16_t mid, size_t n, int no_response)
{
	size_t before = fx->ndown;
	for (size_t i = 0; i < n; i++) {
		coap_pdu_t *p = send_pdu(type, (uint16_t)(mid + i), (uint8_t)i, no_response);
		assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, p), 0);
		coap_delete_pdu(p);
	}
	return fx->ndown - before;
}

static void advance(fx_t *fx, int64_t ms)
{
	assert_int_equal(lpw_clock_advance(fx->clock, ms), 0);
	assert_true(lpw_loop_run_once(fx->loop, 0) >= 0);
}

/* The device's last datagram is a 5.03 (the in-flight table is full). */
static bool last_is_busy(fx_t *fx)
{
	coap_pdu_t *p = fx_last_down(fx);
	bool busy = coap_pdu_get_code(p) == COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE;
	coap_delete_pdu(p);
	return busy;
}

/* A silent server: 16 NONs fill the table; the next one is refused until NON_LIFETIME has passed. */
static void test_non_lifetime(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_NON, 0x1000, 16, -1), 0);
	assert_int_equal(fake_link_nsent(a), 16);
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_NON, 0x1100, 1, -1), 1);
	assert_true(last_is_busy(fx));

	advance(fx, 145000 - 1);
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_NON, 0x1200, 1, -1), 1);
	assert_true(last_is_busy(fx));
	advance(fx, 1);
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_NON, 0x1300, 16, -1), 0); /* all 16 slots are free again */
	assert_int_equal(fake_link_nsent(a), 32);
}

/* The same for CONs at EXCHANGE_LIFETIME; an answer after that finds nothing and reaches nobody. */
static void test_con_lifetime(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_CON, 0x2000, 16, -1), 0);
	advance(fx, 247000 - 1);
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_CON, 0x2100, 1, -1), 1);
	assert_true(last_is_busy(fx));
	advance(fx, 1);
	size_t down = fx->ndown;
	coap_bin_const_t t = coap_pdu_get_token(fake_link_sent(a, 0));
	coap_pdu_t *late = fx_pdu(COAP_MESSAGE_CON, COAP_RESPONSE_CODE_CHANGED, 0, t.s, t.length);
	fake_link_server_response(a, late);
	coap_delete_pdu(late);
	assert_int_equal(fx->ndown, down);
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_CON, 0x2200, 16, -1), 0);
	assert_int_equal(fake_link_nsent(a), 32);
	assert_int_equal(fx->stats.errors, 16); /* each expiry counted */
}

/* An answered request frees its slot at once and its lifetime timer with it. */
static void test_answer_ends_timer(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	size_t timers = lpw_timers_count(lpw_loop_timers(fx->loop));
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_CON, 0x3000, 1, -1), 0);
	assert_int_equal(lpw_timers_count(lpw_loop_timers(fx->loop)), timers + 1);
	coap_bin_const_t t = coap_pdu_get_token(fake_link_sent(a, 0));
	coap_pdu_t *r = fx_pdu(COAP_MESSAGE_CON, COAP_RESPONSE_CODE_CHANGED, 0, t.s, t.length);
	fake_link_server_response(a, r);
	coap_delete_pdu(r);
	assert_int_equal(lpw_timers_count(lpw_loop_timers(fx->loop)), timers);
	assert_int_equal(fx->ndown, 1);
}

/* RFC 7967: No-Response 26 (no 2.xx, 4.xx or 5.xx wanted) holds no slot: 40 such NONs all go upstream and the
 * table stays empty; a CON gets the empty ACK the server would have sent, and its repeat gets it again. */
static void test_no_response(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_NON, 0x4000, 40, 26), 0);
	assert_int_equal(fake_link_nsent(a), 40);
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_NON, 0x4100, 16, -1), 0); /* still 16 free slots */
	assert_int_equal(fake_link_nsent(a), 56);

	coap_pdu_t *con = send_pdu(COAP_MESSAGE_CON, 0x4200, 0x42, 26);
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, con), 0);
	assert_int_equal(fake_link_nsent(a), 57);
	assert_int_equal(fx->ndown, 1);
	coap_pdu_t *ack = fx_last_down(fx);
	assert_int_equal(coap_pdu_get_type(ack), COAP_MESSAGE_ACK);
	assert_int_equal(coap_pdu_get_code(ack), COAP_EMPTY_CODE);
	assert_int_equal(coap_pdu_get_mid(ack), 0x4200);
	coap_delete_pdu(ack);
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, con), 0); /* the device repeats it: cached ACK, not forwarded */
	assert_int_equal(fake_link_nsent(a), 57);
	assert_int_equal(fx->ndown, 2);
	coap_delete_pdu(con);
}

/* A partial No-Response (only 2.xx suppressed) still wants errors: the request is held, with its lifetime. */
static void test_no_response_partial(void **state)
{
	fx_t *fx = *state;
	fx_link_up(fx, FX_DEV_PLAIN, "a");
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_NON, 0x5000, 16, 2), 0);
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_NON, 0x5100, 1, 2), 1);
	assert_true(last_is_busy(fx));
	advance(fx, 145000);
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_NON, 0x5200, 1, 2), 0);
}

/* The gateway's own re-Register after a reconnect holds the device's messages; a server that never answers it
 * must not hold them forever: at EXCHANGE_LIFETIME the event is raised and they go out. */
static void test_reregister_unanswered(void **state)
{
	fx_t *fx = *state;
	const uint8_t tok = 0xab;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	coap_pdu_t *reg = fx_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, 0x6000, &tok, 1);
	fx_add_opt(reg, COAP_OPTION_URI_PATH, "rd");
	fx_add_uint_opt(reg, COAP_OPTION_CONTENT_FORMAT, CF_LINK_FORMAT);
	fx_add_opt(reg, COAP_OPTION_URI_QUERY, "ep=node1");
	fx_add_opt(reg, COAP_OPTION_URI_QUERY, "lt=300");
	fx_add_payload(reg, "</3/0>");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, reg), 0);
	coap_delete_pdu(reg);
	coap_bin_const_t t = coap_pdu_get_token(fake_link_sent(a, 0));
	coap_pdu_t *r = fx_pdu(COAP_MESSAGE_CON, COAP_RESPONSE_CODE_CREATED, 0, t.s, t.length);
	fx_add_opt(r, COAP_OPTION_LOCATION_PATH, "rd");
	fx_add_opt(r, COAP_OPTION_LOCATION_PATH, "5");
	fake_link_server_response(a, r);
	coap_delete_pdu(r);

	fake_link_set_state(a, LPW_LINK_DOWN, 0, NULL);
	fake_link_set_state(a, LPW_LINK_UP, 1, NULL);
	assert_int_equal(fake_link_nsent(a), 2); /* the gateway's Register */
	assert_int_equal(uplink_n(fx, COAP_MESSAGE_CON, 0x6100, 1, -1), 0);
	assert_int_equal(fake_link_nsent(a), 2); /* held behind it */
	advance(fx, 247000 - 1);
	assert_null(fx_event(fx, "reregister-failed"));
	advance(fx, 1);
	assert_non_null(fx_event(fx, "reregister-failed"));
	/* the held message waited longer than its device waits (MAX_TRANSMIT_WAIT, 93 s): never forwarded
	 * (issue 10 item 7) */
	assert_int_equal(fake_link_nsent(a), 2);
}

/* The link's own events (repeated handshake failures) reach telemetry with the server's name. */
static void test_link_event(void **state)
{
	fx_t *fx = *state;
	fake_link_event(fx_link(fx, FX_DEV_PLAIN, "a"), "upstream-handshake-failing", "5 TLS handshakes in a row failed");
	const fx_event_t *e = fx_event(fx, "upstream-handshake-failing");
	assert_non_null(e);
	assert_string_equal(e->device, "plain");
	assert_string_equal(e->detail, "a: 5 TLS handshakes in a row failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_non_lifetime, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_con_lifetime, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_answer_ends_timer, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_response, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_response_partial, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reregister_unanswered, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_link_event, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
