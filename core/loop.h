/* The one event loop: epoll for file descriptors, the timer heap for deadlines, one clock read per turn.
 * core/ is the bottom layer (log, clock, timers, loop, stats, store): it knows no protocol and includes nothing of
 * ours outside core/. */
#ifndef LPW_LOOP_H
#define LPW_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

#include "core/clock.h"
#include "core/timer.h"

typedef struct lpw_loop lpw_loop_t;

/* events is the EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP mask that is ready. */
typedef void (*lpw_io_cb)(lpw_loop_t *loop, int fd, uint32_t events, void *arg);
/* Runs once per turn just before the loop sleeps: flush pending writes, update EPOLLOUT interest. */
typedef void (*lpw_prepare_cb)(lpw_loop_t *loop, void *arg);

/* clock: borrowed, must outlive the loop. NULL on failure (logged). */
lpw_loop_t *lpw_loop_new(lpw_clock_t *clock);
/* Accepts NULL. Does not close watched descriptors. */
void lpw_loop_free(lpw_loop_t *loop);

/* Watches fd for events (EPOLLIN and/or EPOLLOUT). arg is borrowed. -EEXIST if already watched,
 * -errno from epoll_ctl, -ENOMEM. */
int lpw_loop_add_fd(lpw_loop_t *loop, int fd, uint32_t events, lpw_io_cb cb, void *arg)
	__attribute__((warn_unused_result));
/* Changes the interest set of a watched fd; -ENOENT if not watched. */
int lpw_loop_set_events(lpw_loop_t *loop, int fd, uint32_t events);
/* Stops watching fd; harmless if not watched. Call before closing fd. */
void lpw_loop_del_fd(lpw_loop_t *loop, int fd);

/* Hooks run before each sleep, in registration order. -ENOMEM when full. */
int lpw_loop_add_prepare(lpw_loop_t *loop, lpw_prepare_cb cb, void *arg) __attribute__((warn_unused_result));

/* Removes a hook added with the same cb and arg; harmless if absent. */
void lpw_loop_del_prepare(lpw_loop_t *loop, lpw_prepare_cb cb, void *arg);

/* The loop's idea of now: read once per turn, so everything in one turn sees the same time. */
int64_t lpw_loop_now(const lpw_loop_t *loop);
lpw_clock_t *lpw_loop_clock(lpw_loop_t *loop);
lpw_timers_t *lpw_loop_timers(lpw_loop_t *loop);

/* Arms a timer relative to the loop's now; -ENOMEM. */
int lpw_loop_timer_in(lpw_loop_t *loop, lpw_timer_t *timer, int64_t delay_ms) __attribute__((warn_unused_result));
void lpw_loop_timer_clear(lpw_loop_t *loop, lpw_timer_t *timer);

/* One turn: prepare hooks, wait for I/O up to the next deadline (capped at max_wait_ms; 0 = poll,
 * -1 = no cap), dispatch I/O, fire due timers. Returns the number of I/O events dispatched, or -errno. */
int lpw_loop_run_once(lpw_loop_t *loop, int max_wait_ms);

/* Turns until lpw_loop_stop() is called. Returns 0, or -errno if epoll fails. */
int lpw_loop_run(lpw_loop_t *loop);
void lpw_loop_stop(lpw_loop_t *loop);

#endif
