/* Timer heap with the fake clock: order, re-arm, clear, firing from callbacks, many timers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/clock.h"
#include "core/timer.h"

struct owner {
	int id;
	lpw_timer_t timer;
};

static int fired_ids[4096];
static int nfired;
static lpw_timers_t *rearm_heap;

static void record(lpw_timer_t *t, int64_t now)
{
	struct owner *o = lpw_container_of(t, struct owner, timer);
	fired_ids[nfired++] = o->id;
}

static void rearm_once(lpw_timer_t *t, int64_t now)
{
	struct owner *o = lpw_container_of(t, struct owner, timer);
	fired_ids[nfired++] = o->id;
	if (nfired < 3)
		assert_int_equal(lpw_timers_set(rearm_heap, t, now + 100), 0);
}

static void test_fires_in_deadline_order(void **state)
{
	lpw_clock_t *clk = lpw_clock_new_fake(1000);
	lpw_timers_t *h = lpw_timers_new();
	struct owner o[5] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}, {.id = 4}};
	int64_t when[5] = {500, 100, 300, 200, 400};
	nfired = 0;
	for (int i = 0; i < 5; i++) {
		lpw_timer_init(&o[i].timer, record);
		assert_int_equal(lpw_timers_set(h, &o[i].timer, lpw_clock_now_ms(clk) + when[i]), 0);
	}
	assert_int_equal(lpw_timers_next_deadline(h), 1100);
	assert_int_equal(lpw_timers_run(h, lpw_clock_now_ms(clk)), 0);
	lpw_clock_advance(clk, 250);
	assert_int_equal(lpw_timers_run(h, lpw_clock_now_ms(clk)), 2);
	lpw_clock_advance(clk, 1000);
	assert_int_equal(lpw_timers_run(h, lpw_clock_now_ms(clk)), 3);
	int expect[5] = {1, 3, 2, 4, 0};
	for (int i = 0; i < 5; i++)
		assert_int_equal(fired_ids[i], expect[i]);
	assert_int_equal(lpw_timers_next_deadline(h), INT64_MAX);
	lpw_timers_free(h);
	lpw_clock_free(clk);
}

static void test_rearm_and_clear(void **state)
{
	lpw_timers_t *h = lpw_timers_new();
	struct owner a = {.id = 7}, b = {.id = 8};
	nfired = 0;
	lpw_timer_init(&a.timer, record);
	lpw_timer_init(&b.timer, record);
	lpw_timers_clear(h, &a.timer); /* clearing an unarmed timer is harmless */
	assert_int_equal(lpw_timers_set(h, &a.timer, 100), 0);
	assert_int_equal(lpw_timers_set(h, &b.timer, 200), 0);
	assert_int_equal(lpw_timers_set(h, &a.timer, 300), 0); /* re-arm moves it */
	assert_int_equal(lpw_timers_count(h), 2);
	assert_int_equal(lpw_timers_run(h, 250), 1);
	assert_int_equal(fired_ids[0], 8);
	lpw_timers_clear(h, &a.timer);
	lpw_timers_clear(h, &a.timer);
	assert_false(lpw_timer_armed(&a.timer));
	assert_int_equal(lpw_timers_run(h, 1000), 0);
	lpw_timers_free(h);
}

static void test_rearm_from_callback(void **state)
{
	rearm_heap = lpw_timers_new();
	struct owner a = {.id = 1};
	nfired = 0;
	lpw_timer_init(&a.timer, rearm_once);
	assert_int_equal(lpw_timers_set(rearm_heap, &a.timer, 0), 0);
	assert_int_equal(lpw_timers_run(rearm_heap, 50), 1);
	assert_int_equal(lpw_timers_next_deadline(rearm_heap), 150);
	assert_int_equal(lpw_timers_run(rearm_heap, 1000), 1); /* re-armed relative to the run's now: 1100 */
	assert_int_equal(lpw_timers_next_deadline(rearm_heap), 1100);
	assert_int_equal(lpw_timers_run(rearm_heap, 1100), 1);
	assert_false(lpw_timer_armed(&a.timer));
	lpw_timers_free(rearm_heap);
}

/* Thousands of timers (one per device), random deadlines and random clears: firing order is sorted. */
static void test_many_random(void **state)
{
	enum { N = 4000 };
	lpw_timers_t *h = lpw_timers_new();
	struct owner *o = calloc(N, sizeof(*o));
	srand(42);
	nfired = 0;
	for (int i = 0; i < N; i++) {
		o[i].id = i;
		lpw_timer_init(&o[i].timer, record);
		assert_int_equal(lpw_timers_set(h, &o[i].timer, rand() % 100000), 0);
	}
	int cleared = 0;
	for (int i = 0; i < N; i += 3) {
		lpw_timers_clear(h, &o[i].timer);
		cleared++;
	}
	assert_int_equal(lpw_timers_run(h, 100000), N - cleared);
	for (int i = 1; i < nfired; i++)
		assert_true(o[fired_ids[i - 1]].timer.deadline_ms <= o[fired_ids[i]].timer.deadline_ms);
	free(o);
	lpw_timers_free(h);
}

static void test_fake_clock(void **state)
{
	lpw_clock_t *fake = lpw_clock_new_fake(5);
	lpw_clock_t *real = lpw_clock_new_real();
	assert_int_equal(lpw_clock_now_ms(fake), 5);
	assert_int_equal(lpw_clock_advance(fake, 300000), 0); /* LwM2M App. C ACK_TIMEOUT, instantly */
	assert_int_equal(lpw_clock_now_ms(fake), 300005);
	assert_int_equal(lpw_clock_advance(fake, -1), -22);
	assert_int_equal(lpw_clock_advance(real, 1), -22);
	int64_t a = lpw_clock_now_ms(real), b = lpw_clock_now_ms(real);
	assert_true(b >= a);
	lpw_clock_free(fake);
	lpw_clock_free(real);
	lpw_clock_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fires_in_deadline_order), cmocka_unit_test(test_rearm_and_clear),
		cmocka_unit_test(test_rearm_from_callback),     cmocka_unit_test(test_many_random),
		cmocka_unit_test(test_fake_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
