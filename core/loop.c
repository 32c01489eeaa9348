/* epoll loop with a timer heap; descriptors are looked up in a table indexed by fd. */
#include "core/loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define MAX_PREPARE 16
#define MAX_EVENTS 64

struct watch {
	lpw_io_cb cb;
	void *arg;
	uint32_t events;
	bool used;
};

struct prepare {
	lpw_prepare_cb cb;
	void *arg;
};

struct lpw_loop {
	int epfd;
	lpw_clock_t *clock;
	lpw_timers_t *timers;
	int64_t now_ms;
	struct watch *watches; /* indexed by fd */
	size_t nwatches;
	struct prepare prepare[MAX_PREPARE];
	size_t nprepare;
	bool stop;
};

lpw_loop_t *lpw_loop_new(lpw_clock_t *clock)
{
	lpw_loop_t *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->clock = clock;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->timers = lpw_timers_new();
	if (loop->epfd < 0 || !loop->timers) {
		LPW_ERR("loop", "cannot create event loop: %s", strerror(errno));
		lpw_loop_free(loop);
		return NULL;
	}
	loop->now_ms = lpw_clock_now_ms(clock);
	return loop;
}

void lpw_loop_free(lpw_loop_t *loop)
{
	if (!loop)
		return;
	if (loop->epfd >= 0)
		close(loop->epfd);
	lpw_timers_free(loop->timers);
	free(loop->watches);
	free(loop);
}

static struct watch *watch_for(lpw_loop_t *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nwatches || !loop->watches[fd].used)
		return NULL;
	return &loop->watches[fd];
}

int lpw_loop_add_fd(lpw_loop_t *loop, int fd, uint32_t events, lpw_io_cb cb, void *arg)
{
	if (fd < 0 || !cb)
		return -EINVAL;
	if (watch_for(loop, fd))
		return -EEXIST;
	if ((size_t)fd >= loop->nwatches) {
		size_t n = (size_t)fd + 64;
		struct watch *w = realloc(loop->watches, n * sizeof(*w));
		if (!w)
			return -ENOMEM;
		memset(w + loop->nwatches, 0, (n - loop->nwatches) * sizeof(*w));
		loop->watches = w;
		loop->nwatches = n;
	}
	struct epoll_event ev = {.events = events, .data.fd = fd};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	loop->watches[fd] = (struct watch){.cb = cb, .arg = arg, .events = events, .used = true};
	return 0;
}

int lpw_loop_set_events(lpw_loop_t *loop, int fd, uint32_t events)
{
	struct watch *w = watch_for(loop, fd);
	if (!w)
		return -ENOENT;
	if (w->events == events)
		return 0;
	struct epoll_event ev = {.events = events, .data.fd = fd};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	w->events = events;
	return 0;
}

void lpw_loop_del_fd(lpw_loop_t *loop, int fd)
{
	struct watch *w = watch_for(loop, fd);
	if (!w)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(w, 0, sizeof(*w));
}

int lpw_loop_add_prepare(lpw_loop_t *loop, lpw_prepare_cb cb, void *arg)
{
	if (loop->nprepare == MAX_PREPARE)
		return -ENOMEM;
	loop->prepare[loop->nprepare++] = (struct prepare){cb, arg};
	return 0;
}

void lpw_loop_del_prepare(lpw_loop_t *loop, lpw_prepare_cb cb, void *arg)
{
	for (size_t i = 0; i < loop->nprepare; i++) {
		if (loop->prepare[i].cb == cb && loop->prepare[i].arg == arg) {
			memmove(&loop->prepare[i], &loop->prepare[i + 1], (loop->nprepare - i - 1) * sizeof(loop->prepare[0]));
			loop->nprepare--;
			return;
		}
	}
}

int64_t lpw_loop_now(const lpw_loop_t *loop)
{
	return loop->now_ms;
}

lpw_clock_t *lpw_loop_clock(lpw_loop_t *loop)
{
	return loop->clock;
}

lpw_timers_t *lpw_loop_timers(lpw_loop_t *loop)
{
	return loop->timers;
}

int lpw_loop_timer_in(lpw_loop_t *loop, lpw_timer_t *timer, int64_t delay_ms)
{
	return lpw_timers_set(loop->timers, timer, loop->now_ms + (delay_ms > 0 ? delay_ms : 0));
}

void lpw_loop_timer_clear(lpw_loop_t *loop, lpw_timer_t *timer)
{
	lpw_timers_clear(loop->timers, timer);
}

static int wait_ms(lpw_loop_t *loop, int max_wait_ms)
{
	int64_t next = lpw_timers_next_deadline(loop->timers);
	int64_t now = lpw_clock_now_ms(loop->clock);
	int64_t wait = next == INT64_MAX ? -1 : (next > now ? next - now : 0);
	if (max_wait_ms >= 0 && (wait < 0 || wait > max_wait_ms))
		wait = max_wait_ms;
	if (wait > 60000)
		wait = 60000; /* bounded so a clock that jumps is noticed within a minute */
	return (int)wait;
}

int lpw_loop_run_once(lpw_loop_t *loop, int max_wait_ms)
{
	for (size_t i = 0; i < loop->nprepare; i++)
		loop->prepare[i].cb(loop, loop->prepare[i].arg);

	struct epoll_event events[MAX_EVENTS];
	int n = epoll_wait(loop->epfd, events, MAX_EVENTS, wait_ms(loop, max_wait_ms));
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	loop->now_ms = lpw_clock_now_ms(loop->clock);
	for (int i = 0; i < n; i++) {
		/* Looked up per event: an earlier callback in this batch may have removed this fd. */
		struct watch *w = watch_for(loop, events[i].data.fd);
		if (w)
			w->cb(loop, events[i].data.fd, events[i].events, w->arg);
	}
	lpw_timers_run(loop->timers, loop->now_ms);
	return n;
}

int lpw_loop_run(lpw_loop_t *loop)
{
	loop->stop = false;
	while (!loop->stop) {
		int rc = lpw_loop_run_once(loop, -1);
		if (rc < 0) {
			LPW_ERR("loop", "epoll_wait failed: %s", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

void lpw_loop_stop(lpw_loop_t *loop)
{
	loop->stop = true;
}
