/* Issue 10 item 7: while no upstream session exists the device is answered at once (5.03 Service Unavailable
 * with Max-Age = seconds until the gateway's next attempt), and a request older than its device waits
 * (RFC 7252 §4.8.2: MAX_TRANSMIT_WAIT 93 s for a CON, NON_LIFETIME 145 s for a NON) is never forwarded. A
 * message may only wait while the link is connecting. Real proxy, fake upstream, fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/proxy/proxy_fixture.h"

static coap_pdu_t *req_pdu(coap_pdu_type_t type, uint16_t mid, uint8_t tok)
{
	coap_pdu_t *p = fx_pdu(type, COAP_REQUEST_CODE_POST, mid, &tok, 1);
	char body[8];
	snprintf(body, sizeof(body), "m%04x", (unsigned)mid);
	fx_add_opt(p, COAP_OPTION_URI_PATH, "dp");
	fx_add_payload(p, body);
	return p;
}

static void send_req(fx_t *fx, coap_pdu_type_t type, uint16_t mid, uint8_t tok)
{
	coap_pdu_t *p = req_pdu(type, mid, tok);
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, p), 0);
	coap_delete_pdu(p);
}

static void advance(fx_t *fx, int64_t ms)
{
	assert_int_equal(lpw_clock_advance(fx->clock, ms), 0);
	assert_true(lpw_loop_run_once(fx->loop, 0) >= 0);
}

/* The i-th datagram to the device is a 5.03 of this type, message ID (ACK) and token with this Max-Age. */
static void assert_unavailable(fx_t *fx, size_t i, coap_pdu_type_t type, int mid, uint8_t tok, unsigned max_age)
{
	coap_pdu_t *p = fx_down(fx, i);
	assert_int_equal(coap_pdu_get_type(p), type);
	assert_int_equal(coap_pdu_get_code(p), COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE);
	if (mid >= 0)
		assert_int_equal(coap_pdu_get_mid(p), mid);
	fx_assert_token(p, &tok, 1);
	coap_opt_iterator_t it;
	coap_opt_t *o = coap_check_option(p, COAP_OPTION_MAXAGE, &it);
	assert_non_null(o);
	assert_int_equal(coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)), max_age);
	coap_delete_pdu(p);
}

/* The link is down and in back-off: a CON and a NON are answered at once, nothing waits, no attempt is
 * forced before the scheduled one. */
static void test_outage_answers_at_once(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	fake_link_set_retry(a, 4500);
	fake_link_set_state(a, LPW_LINK_DOWN, 0, "TCP connect failed");
	send_req(fx, COAP_MESSAGE_CON, 0x7001, 0x71);
	assert_int_equal(fx->ndown, 1);
	assert_unavailable(fx, 0, COAP_MESSAGE_ACK, 0x7001, 0x71, 5);
	send_req(fx, COAP_MESSAGE_NON, 0x7002, 0x72);
	assert_int_equal(fx->ndown, 2);
	assert_unavailable(fx, 1, COAP_MESSAGE_NON, -1, 0x72, 5);
	/* the CON's retransmission gets the same answer from the duplicate cache */
	send_req(fx, COAP_MESSAGE_CON, 0x7001, 0x71);
	assert_int_equal(fx->ndown, 3);
	assert_memory_equal(fx->down[2].data, fx->down[0].data, fx->down[0].len);

	fake_link_set_retry(a, -1);
	fake_link_set_state(a, LPW_LINK_UP, 1, NULL);
	assert_int_equal(fake_link_nsent(a), 0); /* nothing was kept to be sent late */
}

/* Messages held while the link connects, and requests in flight, are answered when the attempt fails. */
static void test_connect_fails(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	send_req(fx, COAP_MESSAGE_CON, 0x7101, 0x81); /* in flight */
	assert_int_equal(fake_link_nsent(a), 1);
	fake_link_set_state(a, LPW_LINK_DOWN, 0, "connection closed by the server"); /* reconnects at once */
	send_req(fx, COAP_MESSAGE_CON, 0x7102, 0x82);                               /* held */
	assert_int_equal(lpw_uplink_state(a), LPW_LINK_CONNECTING);
	assert_int_equal(fx->ndown, 0);
	fake_link_set_retry(a, 2000);
	fake_link_set_state(a, LPW_LINK_DOWN, 0, "TCP connect failed");
	assert_int_equal(fx->ndown, 2);
	assert_unavailable(fx, 0, COAP_MESSAGE_ACK, 0x7101, 0x81, 2);
	assert_unavailable(fx, 1, COAP_MESSAGE_ACK, 0x7102, 0x82, 2);
	fake_link_set_retry(a, -1);
	fake_link_set_state(a, LPW_LINK_UP, 1, NULL);
	assert_int_equal(fake_link_nsent(a), 1);
}

/* A link that gave up (a §5.2.9 "fail") answers with Max-Age = reconnect_max (60 s in the fixture). */
static void test_failed_link(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link(fx, FX_DEV_PLAIN, "a");
	send_req(fx, COAP_MESSAGE_CON, 0x7201, 0x91); /* held: connecting */
	assert_int_equal(fx->ndown, 0);
	fake_link_set_state(a, LPW_LINK_FAILED, 0, "TLS alert bad_certificate (42): not retrying");
	assert_int_equal(fx->ndown, 1);
	assert_unavailable(fx, 0, COAP_MESSAGE_ACK, 0x7201, 0x91, 60);
	send_req(fx, COAP_MESSAGE_NON, 0x7202, 0x92);
	assert_int_equal(fx->ndown, 2);
	assert_unavailable(fx, 1, COAP_MESSAGE_NON, -1, 0x92, 60);
}

/* A connection that takes longer than the device waits: what it held is dropped, never forwarded late. */
static void test_stale_never_forwarded(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link(fx, FX_DEV_PLAIN, "a");
	send_req(fx, COAP_MESSAGE_CON, 0x7301, 0xa1); /* at t0 */
	advance(fx, 1000);
	send_req(fx, COAP_MESSAGE_CON, 0x7302, 0xa2); /* at t0 + 1 s */
	send_req(fx, COAP_MESSAGE_NON, 0x7303, 0xa3); /* at t0 + 1 s */
	advance(fx, 92000);                            /* t0 + 93 s: the first CON's device has given up */
	fake_link_set_state(a, LPW_LINK_UP, 0, NULL);
	assert_int_equal(fake_link_nsent(a), 2); /* the two younger ones, in order */
	fx_assert_payload(fake_link_sent(a, 0), (const uint8_t *)"m7302", 5);
	fx_assert_payload(fake_link_sent(a, 1), (const uint8_t *)"m7303", 5);
	assert_int_equal(fx->ndown, 0); /* nothing answers a device that stopped listening */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outage_answers_at_once, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_connect_fails, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_failed_link, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_stale_never_forwarded, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
