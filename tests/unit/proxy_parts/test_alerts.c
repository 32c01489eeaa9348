/* Unit tests for proxy/alerts: every row of LwM2M 1.1.1 Transport table 5.2.9-1, unknown alerts, back-off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/alerts.h"

typedef struct {
	uint8_t value;
	const char *name;
	lpw_alert_action_t action;
} row_t;

/*
 * Table 5.2.9-1 as printed (seed 001 near line 618), "Ignore" rows mapped to Retry, "Retry**"/"***" to Retry,
 * "Fail***" to Fail. Row "86 internal_error RFC 7507": 86 is RFC 7507's inappropriate_fallback.
 */
static const row_t table[] = {
	{ 0, "close_notify", LPW_ALERT_RETRY },
	{ 10, "unexpected_message", LPW_ALERT_RETRY },
	{ 20, "bad_record_mac", LPW_ALERT_RETRY },
	{ 21, "decryption_failed", LPW_ALERT_RETRY },
	{ 22, "record_overflow", LPW_ALERT_RETRY },
	{ 30, "decompression_failure", LPW_ALERT_RETRY },
	{ 40, "handshake_failure", LPW_ALERT_RETRY },
	{ 41, "no_certificate", LPW_ALERT_RETRY },
	{ 42, "bad_certificate", LPW_ALERT_FAIL },
	{ 43, "unsupported_certificate", LPW_ALERT_FAIL },
	{ 44, "certificate_revoked", LPW_ALERT_FAIL },
	{ 45, "certificate_expired", LPW_ALERT_FAIL },
	{ 46, "certificate_unknown", LPW_ALERT_FAIL },
	{ 47, "illegal_parameter", LPW_ALERT_RETRY },
	{ 48, "unknown_ca", LPW_ALERT_FAIL },
	{ 49, "access_denied", LPW_ALERT_FAIL },
	{ 50, "decode_error", LPW_ALERT_RETRY },
	{ 51, "decrypt_error", LPW_ALERT_RETRY },
	{ 60, "export_restriction", LPW_ALERT_RETRY },
	{ 70, "protocol_version", LPW_ALERT_RETRY },
	{ 71, "insufficient_security", LPW_ALERT_RETRY },
	{ 86, "inappropriate_fallback", LPW_ALERT_RETRY },
	{ 90, "user_canceled", LPW_ALERT_RETRY },
	{ 100, "no_renegotiation", LPW_ALERT_RETRY },
	{ 110, "unsupported_extension", LPW_ALERT_RETRY },
	{ 111, "certificate_unobtainable", LPW_ALERT_RETRY },
	{ 112, "unrecognized_name", LPW_ALERT_FAIL },
	{ 113, "bad_certificate_status_response", LPW_ALERT_FAIL },
	{ 114, "bad_certificate_hash_value", LPW_ALERT_FAIL },
	{ 115, "unknown_psk_identity", LPW_ALERT_FAIL },
};

static void test_every_table_row(void **state)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (lpw_alert_classify(table[i].value) != table[i].action)
			fail_msg("alert %u (%s) misclassified", table[i].value, table[i].name);
		assert_string_equal(lpw_alert_name(table[i].value), table[i].name);
	}
}

static void test_beyond_the_table(void **state)
{
	/* TLS 1.3 certificate_required: only new credentials help, like bad_certificate. */
	assert_int_equal(lpw_alert_classify(116), LPW_ALERT_FAIL);
	assert_string_equal(lpw_alert_name(116), "certificate_required");
	assert_int_equal(lpw_alert_classify(80), LPW_ALERT_RETRY);
	assert_string_equal(lpw_alert_name(80), "internal_error");
	assert_int_equal(lpw_alert_classify(109), LPW_ALERT_RETRY);
	/* Unknown alerts retry (bounded by back-off and the caller's attempt limit). */
	assert_int_equal(lpw_alert_classify(1), LPW_ALERT_RETRY);
	assert_int_equal(lpw_alert_classify(255), LPW_ALERT_RETRY);
	assert_string_equal(lpw_alert_name(255), "unknown");
	assert_string_equal(lpw_alert_name(1), "unknown");
}

/* Exactly these values are Fail: anything else in 0..255 is Retry. */
static void test_fail_set_is_exact(void **state)
{
	static const uint8_t fails[] = { 42, 43, 44, 45, 46, 48, 49, 112, 113, 114, 115, 116 };
	size_t nfail = 0;

	for (unsigned v = 0; v < 256; v++) {
		bool expect = memchr(fails, (int)v, sizeof(fails)) != NULL;

		assert_int_equal(lpw_alert_classify((uint8_t)v) == LPW_ALERT_FAIL, expect);
		nfail += expect;
	}
	assert_int_equal(nfail, sizeof(fails));
}

static void test_backoff_growth_and_bounds(void **state)
{
	const int64_t min = 1000, max = 60000;

	/* random 0 gives the floor, UINT32_MAX something at most the cap. */
	assert_int_equal(lpw_backoff_next_ms(0, min, max, 0), 1000);
	assert_int_equal(lpw_backoff_next_ms(1, min, max, 0), 1000); /* cap 2000, floor max(1000, 1000) */
	assert_int_equal(lpw_backoff_next_ms(2, min, max, 0), 2000); /* cap 4000 */
	assert_int_equal(lpw_backoff_next_ms(3, min, max, 0), 4000); /* cap 8000 */
	assert_int_equal(lpw_backoff_next_ms(3, min, max, 4000), 8000);
	assert_int_equal(lpw_backoff_next_ms(10, min, max, 0), 30000);
	assert_int_equal(lpw_backoff_next_ms(10, min, max, 30000), 60000);
	for (uint32_t attempt = 0; attempt < 100; attempt++) {
		int64_t cap = attempt < 6 ? min << attempt : max;

		if (cap > max)
			cap = max;
		for (uint32_t r = 0; r < 2000; r += 7) {
			uint32_t rnd = r * 2654435761u;
			int64_t d = lpw_backoff_next_ms(attempt, min, max, rnd);

			assert_true(d >= min && d <= max);
			assert_true(d >= cap / 2 && d <= cap);
		}
	}
	/* Huge attempt numbers and limits never overflow. */
	assert_int_equal(lpw_backoff_next_ms(UINT32_MAX, 1, INT64_MAX, 0), INT64_MAX / 2);
	assert_true(lpw_backoff_next_ms(UINT32_MAX, 1, INT64_MAX, UINT32_MAX) >= INT64_MAX / 2);
}

static void test_backoff_odd_arguments(void **state)
{
	assert_int_equal(lpw_backoff_next_ms(5, 0, 0, 12345), 0);
	assert_int_equal(lpw_backoff_next_ms(5, -10, 0, 12345), 0);
	assert_int_equal(lpw_backoff_next_ms(5, 500, 100, 12345), 500); /* max below min counts as min */
	assert_true(lpw_backoff_next_ms(3, 0, 100, 7) <= 8);		/* zero floor grows from 1 ms */
	assert_int_equal(lpw_backoff_next_ms(UINT32_MAX, 0, 100, 0), 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_table_row),
		cmocka_unit_test(test_beyond_the_table),
		cmocka_unit_test(test_fail_set_is_exact),
		cmocka_unit_test(test_backoff_growth_and_bounds),
		cmocka_unit_test(test_backoff_odd_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
