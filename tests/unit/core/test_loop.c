/* The epoll loop: fd dispatch, EPOLLOUT interest, removal during dispatch, timers with the fake clock, prepare hooks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/loop.h"

struct ctx {
	int reads;
	int writes;
	int prepares;
	int other_fd;
	char last;
};

static void on_io(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	struct ctx *c = arg;
	if (events & EPOLLIN) {
		assert_int_equal(read(fd, &c->last, 1), 1);
		c->reads++;
		if (c->other_fd >= 0)
			lpw_loop_del_fd(loop, c->other_fd); /* the other fd's pending event must not be dispatched */
	}
	if (events & EPOLLOUT) {
		c->writes++;
		assert_int_equal(lpw_loop_set_events(loop, fd, EPOLLIN), 0);
	}
}

static void on_prepare(lpw_loop_t *loop, void *arg)
{
	((struct ctx *)arg)->prepares++;
}

static void test_dispatch_and_interest(void **state)
{
	lpw_clock_t *clk = lpw_clock_new_fake(0);
	lpw_loop_t *loop = lpw_loop_new(clk);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct ctx c = {.other_fd = -1};
	assert_int_equal(lpw_loop_add_fd(loop, sv[0], EPOLLIN | EPOLLOUT, on_io, &c), 0);
	assert_int_equal(lpw_loop_add_fd(loop, sv[0], EPOLLIN, on_io, &c), -17 /* EEXIST */);
	assert_int_equal(lpw_loop_add_prepare(loop, on_prepare, &c), 0);
	assert_int_equal(lpw_loop_run_once(loop, 0), 1);
	assert_int_equal(c.writes, 1); /* writable at once, then interest dropped */
	assert_int_equal(lpw_loop_run_once(loop, 0), 0);
	assert_int_equal(c.writes, 1);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(lpw_loop_run_once(loop, 100), 1);
	assert_int_equal(c.reads, 1);
	assert_int_equal(c.last, 'x');
	assert_int_equal(c.prepares, 3);
	lpw_loop_del_fd(loop, sv[0]);
	lpw_loop_del_fd(loop, sv[0]);
	assert_int_equal(lpw_loop_set_events(loop, sv[0], EPOLLIN), -2 /* ENOENT */);
	close(sv[0]);
	close(sv[1]);
	lpw_loop_free(loop);
	lpw_clock_free(clk);
}

static void test_removal_during_dispatch(void **state)
{
	lpw_clock_t *clk = lpw_clock_new_real();
	lpw_loop_t *loop = lpw_loop_new(clk);
	int a[2], b[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	struct ctx ca = {.other_fd = b[0]}, cb = {.other_fd = a[0]};
	assert_int_equal(lpw_loop_add_fd(loop, a[0], EPOLLIN, on_io, &ca), 0);
	assert_int_equal(lpw_loop_add_fd(loop, b[0], EPOLLIN, on_io, &cb), 0);
	assert_int_equal(write(a[1], "a", 1), 1);
	assert_int_equal(write(b[1], "b", 1), 1);
	lpw_loop_run_once(loop, 100);
	assert_int_equal(ca.reads + cb.reads, 1); /* whichever ran first removed the other */
	close(a[0]), close(a[1]), close(b[0]), close(b[1]);
	lpw_loop_free(loop);
	lpw_clock_free(clk);
}

struct tick {
	lpw_timer_t timer;
	lpw_loop_t *loop;
	int count;
};

static void on_tick(lpw_timer_t *t, int64_t now)
{
	struct tick *k = lpw_container_of(t, struct tick, timer);
	if (++k->count < 3)
		assert_int_equal(lpw_loop_timer_in(k->loop, t, 300000), 0);
	else
		lpw_loop_stop(k->loop);
}

/* A 15-minute periodic timer runs to completion in no wall time with the fake clock. */
static void test_timers_fake_clock(void **state)
{
	lpw_clock_t *clk = lpw_clock_new_fake(1000);
	lpw_loop_t *loop = lpw_loop_new(clk);
	struct tick k = {.loop = loop};
	lpw_timer_init(&k.timer, on_tick);
	assert_int_equal(lpw_loop_timer_in(loop, &k.timer, 300000), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(lpw_loop_run_once(loop, 0), 0);
		assert_int_equal(k.count, i);
		lpw_clock_advance(clk, 300000);
	}
	assert_int_equal(lpw_loop_run_once(loop, 0), 0);
	assert_int_equal(k.count, 3);
	assert_int_equal(lpw_loop_now(loop), 1000 + 3 * 300000);
	lpw_loop_free(loop);
	lpw_clock_free(clk);
}

/* lpw_loop_run sleeps until the next deadline (real clock) and stops when asked. */
static void test_run_real_clock(void **state)
{
	lpw_clock_t *clk = lpw_clock_new_real();
	lpw_loop_t *loop = lpw_loop_new(clk);
	struct tick k = {.loop = loop};
	lpw_timer_init(&k.timer, on_tick);
	assert_int_equal(lpw_loop_timer_in(loop, &k.timer, 10), 0);
	int64_t start = lpw_clock_now_ms(clk);
	/* on_tick re-arms for 300 s; shorten by re-arming after the first fire */
	assert_int_equal(lpw_loop_run_once(loop, -1), 0);
	assert_int_equal(k.count, 1);
	assert_true(lpw_clock_now_ms(clk) - start >= 10);
	lpw_loop_timer_clear(loop, &k.timer);
	k.count = 2;
	assert_int_equal(lpw_loop_timer_in(loop, &k.timer, 5), 0);
	assert_int_equal(lpw_loop_run(loop), 0);
	assert_int_equal(k.count, 3);
	lpw_loop_free(loop);
	lpw_clock_free(clk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_and_interest),
		cmocka_unit_test(test_removal_during_dispatch),
		cmocka_unit_test(test_timers_fake_clock),
		cmocka_unit_test(test_run_real_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
