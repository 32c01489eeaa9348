/* Unit tests for proxy/dedup: new / pending / answered, lifetimes with a fake now, capacity eviction. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proxy/dedup.h"

#define T0 1000000 /* any epoch: the table only compares differences */

static void test_pending_then_answered(void **state)
{
	lpw_dedup_t *dd = lpw_dedup_new(8);
	const uint8_t ack[] = { 0x60, 0x44, 0x12, 0x34 };
	const uint8_t *resp = NULL;
	size_t len = 0;

	assert_non_null(dd);
	assert_int_equal(lpw_dedup_check(dd, 0x1234, true, T0, &resp, &len), LPW_DEDUP_NEW);
	/* Retransmission before the server answered: drop silently, do not forward twice. */
	assert_int_equal(lpw_dedup_check(dd, 0x1234, true, T0 + 2000, &resp, &len), LPW_DEDUP_PENDING);
	assert_int_equal(lpw_dedup_answer(dd, 0x1234, ack, sizeof(ack)), 0);
	assert_int_equal(lpw_dedup_check(dd, 0x1234, true, T0 + 4000, &resp, &len), LPW_DEDUP_ANSWERED);
	assert_int_equal(len, sizeof(ack));
	assert_memory_equal(resp, ack, sizeof(ack));
	/* Another MID is independent. */
	assert_int_equal(lpw_dedup_check(dd, 0x1235, true, T0 + 4000, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_count(dd), 2);
	lpw_dedup_free(dd);
}

static void test_answer_is_copied_and_replaceable(void **state)
{
	lpw_dedup_t *dd = lpw_dedup_new(4);
	uint8_t buf[3] = { 1, 2, 3 };
	const uint8_t *resp;
	size_t len;

	assert_int_equal(lpw_dedup_check(dd, 7, true, T0, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_answer(dd, 7, buf, sizeof(buf)), 0);
	buf[0] = 9; /* the caller's buffer may change: the cache kept its own copy */
	assert_int_equal(lpw_dedup_check(dd, 7, true, T0, &resp, &len), LPW_DEDUP_ANSWERED);
	assert_int_equal(resp[0], 1);
	assert_int_equal(lpw_dedup_answer(dd, 7, buf, 2), 0);
	assert_int_equal(lpw_dedup_check(dd, 7, true, T0, &resp, &len), LPW_DEDUP_ANSWERED);
	assert_int_equal(len, 2);
	assert_int_equal(resp[0], 9);
	assert_int_equal(lpw_dedup_answer(dd, 8, buf, 2), -ENOENT);
	assert_int_equal(lpw_dedup_answer(dd, 7, NULL, 2), -EINVAL);
	lpw_dedup_free(dd);
}

/* RFC 7252 §4.8.2: EXCHANGE_LIFETIME 247 s for CON, NON_LIFETIME 145 s for NON. */
static void test_expiry(void **state)
{
	lpw_dedup_t *dd = lpw_dedup_new(8);

	assert_int_equal(lpw_dedup_check(dd, 1, true, T0, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_check(dd, 2, false, T0, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_check(dd, 2, false, T0 + 144999, NULL, NULL), LPW_DEDUP_PENDING);
	assert_int_equal(lpw_dedup_check(dd, 2, false, T0 + 145000, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_check(dd, 1, true, T0 + 246999, NULL, NULL), LPW_DEDUP_PENDING);
	assert_int_equal(lpw_dedup_check(dd, 1, true, T0 + 247000, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_evictions(dd), 0);
	lpw_dedup_free(dd);
}

/* An expired NON behind a live CON goes, the CON stays: arrival order is not expiry order. */
static void test_expiry_out_of_order(void **state)
{
	lpw_dedup_t *dd = lpw_dedup_new(8);
	const uint8_t r = 0x42;
	const uint8_t *resp;
	size_t len;

	assert_int_equal(lpw_dedup_check(dd, 10, true, T0, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_check(dd, 11, false, T0 + 1000, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_check(dd, 12, true, T0 + 2000, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_answer(dd, 12, &r, 1), 0);
	assert_int_equal(lpw_dedup_check(dd, 13, true, T0 + 200000, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_count(dd), 3); /* 11 expired at T0 + 146 s */
	assert_int_equal(lpw_dedup_check(dd, 12, true, T0 + 200000, &resp, &len), LPW_DEDUP_ANSWERED);
	assert_int_equal(*resp, 0x42);
	assert_int_equal(lpw_dedup_answer(dd, 11, &r, 1), -ENOENT);
	lpw_dedup_free(dd);
}

static void test_non_duplicate_dropped_even_when_answered(void **state)
{
	lpw_dedup_t *dd = lpw_dedup_new(2);
	const uint8_t r = 1;
	const uint8_t *resp = NULL;

	assert_int_equal(lpw_dedup_check(dd, 5, false, T0, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_answer(dd, 5, &r, 1), 0);
	assert_int_equal(lpw_dedup_check(dd, 5, false, T0 + 1, &resp, NULL), LPW_DEDUP_PENDING);
	assert_null(resp);
	lpw_dedup_free(dd);
}

static void test_capacity_evicts_oldest(void **state)
{
	lpw_dedup_t *dd = lpw_dedup_new(3);

	for (uint16_t mid = 100; mid < 103; mid++)
		assert_int_equal(lpw_dedup_check(dd, mid, true, T0 + mid, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_evictions(dd), 0);
	assert_int_equal(lpw_dedup_check(dd, 103, true, T0 + 200, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_evictions(dd), 1);
	assert_int_equal(lpw_dedup_count(dd), 3);
	/* 101 and 102 are still known; 100 was the oldest and is gone. */
	assert_int_equal(lpw_dedup_check(dd, 101, true, T0 + 201, NULL, NULL), LPW_DEDUP_PENDING);
	assert_int_equal(lpw_dedup_check(dd, 102, true, T0 + 201, NULL, NULL), LPW_DEDUP_PENDING);
	assert_int_equal(lpw_dedup_check(dd, 100, true, T0 + 202, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_evictions(dd), 2); /* that evicted 101 */
	assert_int_equal(lpw_dedup_check(dd, 101, true, T0 + 203, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_evictions(dd), 3); /* that evicted 102 */
	/* Expired entries make room without counting as evictions. */
	assert_int_equal(lpw_dedup_check(dd, 500, true, T0 + 600000, NULL, NULL), LPW_DEDUP_NEW);
	assert_int_equal(lpw_dedup_evictions(dd), 3);
	assert_int_equal(lpw_dedup_count(dd), 1);
	lpw_dedup_free(dd);
}

static void test_wraparound_many(void **state)
{
	lpw_dedup_t *dd = lpw_dedup_new(5);
	uint64_t i;

	/* Runs the ring around many times; every retransmission inside the window is caught. */
	for (i = 0; i < 1000; i++) {
		assert_int_equal(lpw_dedup_check(dd, (uint16_t)i, (i & 1) == 0, T0 + (int64_t)i, NULL, NULL),
				 LPW_DEDUP_NEW);
		assert_int_equal(lpw_dedup_check(dd, (uint16_t)i, (i & 1) == 0, T0 + (int64_t)i, NULL, NULL),
				 LPW_DEDUP_PENDING);
	}
	assert_int_equal(lpw_dedup_evictions(dd), 995);
	lpw_dedup_free(dd);
}

static void test_bad_args(void **state)
{
	assert_null(lpw_dedup_new(0));
	assert_int_equal(lpw_dedup_check(NULL, 1, true, 0, NULL, NULL), -EINVAL);
	lpw_dedup_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pending_then_answered),
		cmocka_unit_test(test_answer_is_copied_and_replaceable),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_expiry_out_of_order),
		cmocka_unit_test(test_non_duplicate_dropped_even_when_answered),
		cmocka_unit_test(test_capacity_evicts_oldest),
		cmocka_unit_test(test_wraparound_many),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
