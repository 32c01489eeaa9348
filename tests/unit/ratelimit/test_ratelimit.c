/* core/ratelimit and the log's rate-limited lines, on a fake time line: bursts, refills, keys apart, suppressed
 * counts told by the next line, a flood over many keys kept bounded, time going backwards, limits changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/ratelimit.h"

static lpw_ratelimit_t *make(uint32_t burst, uint32_t per, uint32_t period_ms, size_t keys)
{
	lpw_ratelimit_config_t cfg = {.burst = burst, .per_period = per, .period_ms = period_ms, .max_keys = keys};
	lpw_ratelimit_t *rl = lpw_ratelimit_new(&cfg);
	assert_non_null(rl);
	return rl;
}

/* How many of n calls, one every step_ms from *t, were let through. */
static int run(lpw_ratelimit_t *rl, int64_t *t, int n, int step_ms, const char *kind, const char *key)
{
	int passed = 0;
	for (int i = 0; i < n; i++, *t += step_ms)
		passed += lpw_ratelimit_allow(rl, *t, kind, key, NULL);
	return passed;
}

static void test_burst_then_rate(void **state)
{
	lpw_ratelimit_t *rl = make(5, 2, 10000, 0);
	int64_t t = 1000;
	assert_int_equal(run(rl, &t, 1000, 0, "malformed", "dev-1"), 5); /* a burst at one instant */
	assert_int_equal(lpw_ratelimit_suppressed(rl), 995);
	/* then 2 per 10 s: one every 5 s, steadily */
	t += 4999;
	assert_false(lpw_ratelimit_allow(rl, t, "malformed", "dev-1", NULL));
	uint64_t quiet = 0;
	t += 1;
	assert_true(lpw_ratelimit_allow(rl, t, "malformed", "dev-1", &quiet));
	assert_int_equal(quiet, 996); /* told once, then the count restarts */
	assert_false(lpw_ratelimit_allow(rl, t, "malformed", "dev-1", NULL));
	t += 5000;
	assert_true(lpw_ratelimit_allow(rl, t, "malformed", "dev-1", &quiet));
	assert_int_equal(quiet, 1);
	/* an hour of one call per 10 ms: one per 5 s through, never more than the rate allows */
	assert_int_equal(run(rl, &t, 360000, 10, "malformed", "dev-1"), 719); /* the 720th is due just after */
	/* quiet long enough, the whole burst is back, and no more */
	t += 60000;
	assert_int_equal(run(rl, &t, 100, 0, "malformed", "dev-1"), 5);
	lpw_ratelimit_free(rl);
}

static void test_kinds_and_keys_apart(void **state)
{
	lpw_ratelimit_t *rl = make(3, 1, 60000, 0);
	int64_t t = 0;
	assert_int_equal(run(rl, &t, 10, 0, "malformed", "dev-1"), 3);
	assert_int_equal(run(rl, &t, 10, 0, "malformed", "dev-2"), 3); /* another device has its own budget */
	assert_int_equal(run(rl, &t, 10, 0, "queue-full", "dev-1"), 3); /* another kind too */
	assert_int_equal(run(rl, &t, 10, 0, "queue-full", NULL), 3);
	assert_int_equal(run(rl, &t, 10, 0, "queue-full", ""), 0); /* NULL and "" are the same key */
	assert_int_equal(lpw_ratelimit_keys(rl), 6); /* four keys and the buckets of their two kinds */
	/* keys longer than the stored length still match themselves */
	char long_key[200];
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	assert_int_equal(run(rl, &t, 10, 0, "malformed", long_key), 3);
	lpw_ratelimit_free(rl);
}

/* A flood over ever new keys: the table stays at its size, and what goes out stays bounded by the kind's bucket
 * (KIND_FACTOR = 10 times one key's), whatever the number of keys. */
static void test_many_keys_bounded(void **state)
{
	lpw_ratelimit_t *rl = make(2, 1, 60000, 64);
	int64_t t = 0;
	char key[32];
	int passed = 0;
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
		passed += lpw_ratelimit_allow(rl, t, "malformed", key, NULL);
		if (i % 100 == 0)
			t++;
	}
	assert_int_equal(lpw_ratelimit_keys(rl), 64);
	/* the kind's burst of 20, and what it refills in 1 s at 10 per minute: nothing */
	assert_int_equal(passed, 20);
	/* keys that have refilled are forgotten first: later, new keys get their own burst again */
	t += 3600000;
	assert_int_equal(run(rl, &t, 10, 0, "malformed", "fresh"), 2);
	lpw_ratelimit_free(rl);
}

/* The kind's bucket holds even while the table has room for every key: 1000 made-up addresses at one instant get
 * 20 lines out, then the kind refills at 10 per period (each key at 1), and another kind is not touched. */
static void test_kind_bucket(void **state)
{
	lpw_ratelimit_t *rl = make(2, 1, 60000, 4096);
	int64_t t = 0;
	char key[32];
	int passed = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "forged-%d", i);
		passed += lpw_ratelimit_allow(rl, t, "malformed", key, NULL);
	}
	assert_int_equal(passed, 20);
	assert_int_equal(lpw_ratelimit_suppressed(rl), 980);
	assert_int_equal(run(rl, &t, 10, 0, "queue-full", "dev-1"), 2);
	/* a minute later the kind has 10 lines again, one per key that asks */
	t += 60000;
	passed = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "forged-%d", i);
		passed += lpw_ratelimit_allow(rl, t, "malformed", key, NULL);
	}
	assert_int_equal(passed, 10);
	lpw_ratelimit_free(rl);
}

static void test_time_backwards_and_configure(void **state)
{
	lpw_ratelimit_t *rl = make(2, 1, 60000, 0);
	int64_t t = 1000000;
	assert_int_equal(run(rl, &t, 5, 0, "k", "x"), 2);
	t = 5; /* a different clock: start the key afresh rather than never again */
	assert_int_equal(run(rl, &t, 5, 0, "k", "x"), 2);
	lpw_ratelimit_config_t more = {.burst = 4, .per_period = 1, .period_ms = 60000};
	lpw_ratelimit_configure(rl, &more);
	t += 600000;
	assert_int_equal(run(rl, &t, 10, 0, "k", "x"), 4);
	lpw_ratelimit_config_t off = {.burst = 0};
	lpw_ratelimit_configure(rl, &off);
	assert_int_equal(run(rl, &t, 1000, 0, "k", "x"), 1000);
	lpw_ratelimit_free(rl);
	lpw_ratelimit_free(NULL);
	assert_true(lpw_ratelimit_allow(NULL, 0, "k", "x", NULL));
}

/* Runs fn with stderr going to a temporary file; returns what it wrote (malloc'd). */
static char *capture_stderr(void (*fn)(void))
{
	fflush(stderr);
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	int saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	long n = ftell(tmp);
	char *out = calloc(1, (size_t)n + 1);
	assert_non_null(out);
	rewind(tmp);
	assert_int_equal(fread(out, 1, (size_t)n, tmp), (size_t)n);
	fclose(tmp);
	return out;
}

static int count(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static int evaluated;

static int side_effect(void)
{
	return ++evaluated;
}

static void flood_log(void)
{
	lpw_ratelimit_config_t lim = {.burst = 3, .per_period = 1, .period_ms = 10000};
	assert_int_equal(lpw_log_set_limits(&lim), 0);
	for (int i = 0; i < 1000; i++)
		LPW_WARN_LIMITED("proxy", "malformed", "dev-9", 5000000, "dev-9: malformed CoAP message #%d", i);
	LPW_WARN_LIMITED("proxy", "malformed", "dev-9", 5010000, "dev-9: malformed CoAP message #%d", 1000);
	LPW_WARN_LIMITED("proxy", "malformed", "dev-8", 5010000, "dev-8: malformed CoAP message #%d", 0);
	/* a level that is off evaluates nothing and counts nothing */
	LPW_LOG_LIMITED(LOG_DEBUG, "proxy", "malformed", "dev-9", 5010000, "%d", side_effect());
}

static void test_log_lines(void **state)
{
	lpw_log_setup(LOG_INFO, LPW_LOG_TO_STDERR, "test");
	uint64_t before = lpw_log_suppressed();
	char *out = capture_stderr(flood_log);
	assert_int_equal(count(out, "dev-9: malformed CoAP message"), 4);
	assert_int_equal(count(out, "(997 similar suppressed)"), 1);
	assert_non_null(strstr(out, "#1000 (997 similar suppressed)"));
	assert_int_equal(count(out, "dev-8: malformed CoAP message #0\n"), 1);
	assert_int_equal(lpw_log_suppressed() - before, 997);
	assert_int_equal(evaluated, 0);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_rate),
		cmocka_unit_test(test_kinds_and_keys_apart),
		cmocka_unit_test(test_many_keys_bounded),
		cmocka_unit_test(test_kind_bucket),
		cmocka_unit_test(test_time_backwards_and_configure),
		cmocka_unit_test(test_log_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
