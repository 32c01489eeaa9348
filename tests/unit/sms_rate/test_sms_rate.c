/* Outgoing SMS rate limits: a burst up to the hourly budget, refill over the hour, both buckets or neither. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bindings/sms/sms_rate.h"

static void test_bucket(void **state)
{
	lpw_sms_rate_t r;
	lpw_sms_rate_init(&r, 60, 1000); /* one a minute on average */
	for (int i = 0; i < 60; i++)
		assert_int_equal(lpw_sms_rate_take(&r, 1000, 1), 0);
	assert_int_equal(lpw_sms_rate_take(&r, 1000, 1), -EAGAIN);
	assert_int_equal(lpw_sms_rate_wait_ms(&r, 1000, 1), 60000);
	assert_int_equal(lpw_sms_rate_take(&r, 60999, 1), -EAGAIN);
	assert_int_equal(lpw_sms_rate_take(&r, 61000, 1), 0);
	assert_int_equal(lpw_sms_rate_wait_ms(&r, 61000, 3), 180000);
	assert_int_equal(lpw_sms_rate_wait_ms(&r, 61000, 61), -1);
	/* an hour of silence fills it, never beyond */
	assert_int_equal(lpw_sms_rate_take(&r, 61000 + 100 * 3600000LL, 60), 0);
	assert_int_equal(lpw_sms_rate_take(&r, 61000 + 100 * 3600000LL, 1), -EAGAIN);
	/* a clock read earlier than the last one changes nothing */
	assert_int_equal(lpw_sms_rate_take(&r, 0, 1), -EAGAIN);
}

static void test_parts_and_both(void **state)
{
	lpw_sms_rate_t dev, total;
	lpw_sms_rate_init(&dev, 10, 0);
	lpw_sms_rate_init(&total, 4, 0);
	assert_int_equal(lpw_sms_rate_take_both(&dev, &total, 0, 3), 0); /* a message of three parts */
	assert_int_equal(lpw_sms_rate_take_both(&dev, &total, 0, 2), -EAGAIN);
	assert_int_equal(lpw_sms_rate_wait_ms(&dev, 0, 2), 0);
	assert_int_equal(lpw_sms_rate_take_both(&dev, &total, 0, 1), 0); /* nothing was taken from dev before */
	assert_int_equal(lpw_sms_rate_wait_ms(&dev, 0, 6), 0);
	lpw_sms_rate_t free_;
	lpw_sms_rate_init(&free_, 0, 0); /* no limit */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(lpw_sms_rate_take(&free_, 0, 5), 0);
	/* a reload halves the limit: half the level */
	lpw_sms_rate_set(&dev, 5, 0);
	assert_int_equal(lpw_sms_rate_take(&dev, 0, 3), 0);
	assert_int_equal(lpw_sms_rate_take(&dev, 0, 1), -EAGAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_parts_and_both),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
