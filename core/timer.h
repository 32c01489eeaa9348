/* Timers embedded in their owners, kept in a binary heap ordered by deadline.
 * The heap knows nothing of the clock: callers pass `now` (read once per loop turn). */
#ifndef LPW_TIMER_H
#define LPW_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lpw_timer lpw_timer_t;
typedef struct lpw_timers lpw_timers_t;

/* Called once when the deadline has passed; the timer is already disarmed and may be re-armed
 * from inside the callback. Recover the owner with lpw_container_of(). */
typedef void (*lpw_timer_cb)(lpw_timer_t *timer, int64_t now_ms);

/* Embed in the owner; fields are private to timer.c. */
struct lpw_timer {
	int64_t deadline_ms;
	size_t heap_index; /* SIZE_MAX when disarmed */
	lpw_timer_cb cb;
};

#define lpw_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Prepares a disarmed timer. */
void lpw_timer_init(lpw_timer_t *timer, lpw_timer_cb cb);
bool lpw_timer_armed(const lpw_timer_t *timer);

/* NULL on allocation failure. lpw_timers_free accepts NULL; armed timers are simply forgotten. */
lpw_timers_t *lpw_timers_new(void);
void lpw_timers_free(lpw_timers_t *timers);

/* Arms (or re-arms) timer for deadline_ms. Borrowed: the timer must stay alive until it fires or is
 * cleared. -ENOMEM if the heap cannot grow. */
int lpw_timers_set(lpw_timers_t *timers, lpw_timer_t *timer, int64_t deadline_ms) __attribute__((warn_unused_result));

/* Disarms; harmless on a timer that is not armed. */
void lpw_timers_clear(lpw_timers_t *timers, lpw_timer_t *timer);

/* Earliest deadline, or INT64_MAX when nothing is armed. */
int64_t lpw_timers_next_deadline(const lpw_timers_t *timers);

/* Fires every timer whose deadline is <= now_ms, earliest first; returns how many fired.
 * Timers armed by callbacks for a deadline <= now_ms fire in the same call. */
int lpw_timers_run(lpw_timers_t *timers, int64_t now_ms);

size_t lpw_timers_count(const lpw_timers_t *timers);

#endif
