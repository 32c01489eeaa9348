/* Unit tests for what the proxy keeps across a gateway restart (issue 10 items 8-10): registrations restored and
 * connected at start-up, expired ones dropped, tokens toward the device never reused, and a notification that
 * never answers a plain request. A real state store in a temporary directory; the fake upstream and clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"
#include "tests/unit/proxy/proxy_fixture.h"

/* Server GET /3/0 on link; returns the device token of the CON carried to the device (4 bytes). */
static uint32_t carried_token(fx_t *fx, lpw_uplink_t *link, uint8_t server_tok)
{
	coap_pdu_t *get = fx_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, 0, &server_tok, 1);
	fx_add_opt(get, COAP_OPTION_URI_PATH, "3");
	size_t before = fx->ndown;
	fake_link_server_request(link, get);
	coap_delete_pdu(get);
	assert_int_equal(fx->ndown, before + 1);
	coap_pdu_t *con = fx_last_down(fx);
	coap_bin_const_t t = coap_pdu_get_token(con);
	assert_int_equal(t.length, 4);
	uint32_t v = (uint32_t)t.s[0] << 24 | (uint32_t)t.s[1] << 16 | (uint32_t)t.s[2] << 8 | t.s[3];
	coap_delete_pdu(con);
	return v;
}

/* Item 10: a restored registration asks for its connection at start-up, without any uplink, and the gateway
 * registers the device again as soon as it is up. */
static void test_restored_registration_connects_at_start(void **state)
{
	fx_t *fx = *state;
	fx_register_plain(fx);
	assert_true(fx->last_registered);
	fx_restart(fx);
	lpw_uplink_t *a = fx_link(fx, FX_DEV_PLAIN, "a");
	assert_int_equal(fake_link_connects(a), 1);
	assert_int_equal(fake_link_connects(fx_link(fx, FX_DEV_MULTI, "a")), 0); /* it never registered */
	fake_link_set_state(a, LPW_LINK_UP, 0, NULL);
	assert_int_equal(fake_link_nsent(a), 1);
	assert_int_equal(coap_pdu_get_code(fake_link_sent(a, 0)), COAP_REQUEST_CODE_POST);
	assert_null(fx_event(fx, "registration-expired"));
}

/* Item 8: a registration whose lifetime ran out while the gateway was down is dropped, with an event, and never
 * sent to the server again (neither at start-up nor on a later connection). */
static void test_expired_registration_dropped(void **state)
{
	fx_t *fx = *state;
	fx_register_plain(fx);
	assert_true(fx->last_registered);
	/* the server last renewed it 13 minutes ago; its lifetime is 300 s */
	assert_int_equal(lpw_store_put_u64(fx->store, "plain", "reg-at/a", (uint64_t)(lpw_clock_wall_s() - 780)), 0);
	fx_restart(fx);
	const fx_event_t *e = fx_event(fx, "registration-expired");
	assert_non_null(e);
	assert_string_equal(e->device, "plain");
	lpw_uplink_t *a = fx_link(fx, FX_DEV_PLAIN, "a");
	assert_int_equal(fake_link_connects(a), 0);
	uint8_t buf[16];
	size_t n;
	assert_int_equal(lpw_store_get(fx->store, "plain", "reg/a", buf, sizeof(buf), &n), -ENOENT);
	fake_link_set_state(a, LPW_LINK_UP, 0, NULL);
	assert_int_equal(fake_link_nsent(a), 0); /* no Register on the device's behalf */
}

/* Item 9: tokens toward the device do not start over after a restart (they did: 00000001 each time). */
static void test_tokens_not_reused_after_restart(void **state)
{
	fx_t *fx = *state;
	uint32_t before = carried_token(fx, fx_link_up(fx, FX_DEV_PLAIN, "a"), 0x51);
	fx_restart(fx);
	uint32_t after = carried_token(fx, fx_link_up(fx, FX_DEV_PLAIN, "a"), 0x51);
	assert_int_not_equal(before, after);
	assert_int_not_equal(after, 1);
}

/* Item 9: a notification (Observe present) carrying a plain request's token is not that request's answer. */
static void test_notification_never_answers_a_plain_request(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	uint32_t t = carried_token(fx, a, 0x52);
	const uint8_t tok[4] = {(uint8_t)(t >> 24), (uint8_t)(t >> 16), (uint8_t)(t >> 8), (uint8_t)t};
	coap_pdu_t *stale = fx_pdu(COAP_MESSAGE_NON, COAP_RESPONSE_CODE_CONTENT, 0x0900, tok, sizeof(tok));
	fx_add_uint_opt(stale, COAP_OPTION_OBSERVE, 7);
	fx_add_payload(stale, "old");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, stale), 0);
	coap_delete_pdu(stale);
	assert_int_equal(fake_link_nsent(a), 0);
	coap_pdu_t *answer = fx_pdu(COAP_MESSAGE_NON, COAP_RESPONSE_CODE_CONTENT, 0x0901, tok, sizeof(tok));
	fx_add_payload(answer, "new");
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, answer), 0);
	coap_delete_pdu(answer);
	assert_int_equal(fake_link_nsent(a), 1);
	fx_assert_payload(fake_link_sent(a, 0), (const uint8_t *)"new", 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restored_registration_connects_at_start, fx_setup_stored, fx_teardown),
		cmocka_unit_test_setup_teardown(test_expired_registration_dropped, fx_setup_stored, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tokens_not_reused_after_restart, fx_setup_stored, fx_teardown),
		cmocka_unit_test_setup_teardown(test_notification_never_answers_a_plain_request, fx_setup_stored,
		                                fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
