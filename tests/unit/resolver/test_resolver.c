/* Unit tests for proxy/resolver.c: host name lookups completed through the loop (getaddrinfo_a + signalfd), on
 * the real clock (the lookup itself is glibc's). Names used: localhost (/etc/hosts) and a .invalid name. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/loop.h"
#include "proxy/resolver.h"

typedef struct {
	int calls, rc;
	int family;
	uint16_t port;
} result_t;

static void on_done(void *arg, int rc, const struct sockaddr *addr, socklen_t len, const char *detail)
{
	result_t *r = arg;
	r->calls++;
	r->rc = rc;
	assert_non_null(detail);
	if (rc == 0) {
		r->family = addr->sa_family;
		r->port = ntohs(addr->sa_family == AF_INET ? ((const struct sockaddr_in *)addr)->sin_port
		                                           : ((const struct sockaddr_in6 *)addr)->sin6_port);
		assert_true(len >= sizeof(struct sockaddr_in));
	}
}

/* Turns the loop until cb ran (at most ~10 s of real time). */
static void run_until(lpw_loop_t *loop, const result_t *r)
{
	for (int i = 0; i < 100 && r->calls == 0; i++)
		assert_true(lpw_loop_run_once(loop, 100) >= 0);
}

typedef struct {
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	lpw_resolver_t *res;
} fx_t;

static int setup(void **state)
{
	static fx_t fx;
	fx.clock = lpw_clock_new_real();
	fx.loop = lpw_loop_new(fx.clock);
	fx.res = lpw_resolver_new(fx.loop);
	assert_non_null(fx.res);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	fx_t *fx = *state;
	lpw_resolver_free(fx->res);
	lpw_loop_free(fx->loop);
	lpw_clock_free(fx->clock);
	return 0;
}

static void test_localhost(void **state)
{
	fx_t *fx = *state;
	result_t r = {0};
	lpw_lookup_t *l = NULL;
	assert_int_equal(lpw_resolver_lookup(fx->res, "localhost", 5684, on_done, &r, &l), 0);
	assert_non_null(l);
	assert_int_equal(r.calls, 0); /* never from inside the call */
	run_until(fx->loop, &r);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.rc, 0);
	assert_true(r.family == AF_INET || r.family == AF_INET6);
	assert_int_equal(r.port, 5684);
}

static void test_unknown_name(void **state)
{
	fx_t *fx = *state;
	result_t r = {0};
	lpw_lookup_t *l = NULL;
	/* RFC 6761: .invalid never resolves */
	assert_int_equal(lpw_resolver_lookup(fx->res, "lpwagw-test.invalid", 1, on_done, &r, &l), 0);
	run_until(fx->loop, &r);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.rc, -EHOSTUNREACH);
}

/* A cancelled lookup never calls back, and whatever glibc still holds is freed (ASan checks the leaks). */
static void test_cancel(void **state)
{
	fx_t *fx = *state;
	result_t r = {0}, other = {0};
	lpw_lookup_t *l = NULL, *l2 = NULL;
	assert_int_equal(lpw_resolver_lookup(fx->res, "localhost", 1, on_done, &r, &l), 0);
	assert_int_equal(lpw_resolver_lookup(fx->res, "localhost", 2, on_done, &other, &l2), 0);
	lpw_resolver_cancel(fx->res, l);
	run_until(fx->loop, &other);
	assert_int_equal(other.calls, 1);
	for (int i = 0; i < 5; i++)
		assert_true(lpw_loop_run_once(fx->loop, 20) >= 0);
	assert_int_equal(r.calls, 0);
	lpw_resolver_cancel(fx->res, NULL);
}

/* Literals need no lookup at all (issue 10 item 11: "numeric addresses need no resolver"). */
static void test_numeric(void **state)
{
	struct sockaddr_in6 ss;
	socklen_t len = 0;
	assert_int_equal(lpw_resolver_numeric("127.0.0.1", 5683, (struct sockaddr *)&ss, &len), 0);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5683);
	assert_int_equal(lpw_resolver_numeric("::1", 5684, (struct sockaddr *)&ss, &len), 0);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(ss.sin6_family, AF_INET6);
	assert_int_equal(lpw_resolver_numeric("localhost", 1, (struct sockaddr *)&ss, &len), -EINVAL);
	assert_int_equal(lpw_resolver_numeric("1.2.3", 1, (struct sockaddr *)&ss, &len), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_localhost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test(test_numeric),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
