/* Binary min-heap of embedded timers: O(log n) set/clear, O(1) next deadline. */
#include "core/timer.h"

#include <errno.h>
#include <stdlib.h>

struct lpw_timers {
	lpw_timer_t **heap;
	size_t len;
	size_t cap;
};

void lpw_timer_init(lpw_timer_t *timer, lpw_timer_cb cb)
{
	timer->deadline_ms = 0;
	timer->heap_index = SIZE_MAX;
	timer->cb = cb;
}

bool lpw_timer_armed(const lpw_timer_t *timer)
{
	return timer->heap_index != SIZE_MAX;
}

lpw_timers_t *lpw_timers_new(void)
{
	return calloc(1, sizeof(lpw_timers_t));
}

void lpw_timers_free(lpw_timers_t *timers)
{
	if (!timers)
		return;
	for (size_t i = 0; i < timers->len; i++)
		timers->heap[i]->heap_index = SIZE_MAX;
	free(timers->heap);
	free(timers);
}

static void place(lpw_timers_t *t, size_t i, lpw_timer_t *timer)
{
	t->heap[i] = timer;
	timer->heap_index = i;
}

static void sift_up(lpw_timers_t *t, size_t i)
{
	lpw_timer_t *timer = t->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (t->heap[parent]->deadline_ms <= timer->deadline_ms)
			break;
		place(t, i, t->heap[parent]);
		i = parent;
	}
	place(t, i, timer);
}

static void sift_down(lpw_timers_t *t, size_t i)
{
	lpw_timer_t *timer = t->heap[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= t->len)
			break;
		if (child + 1 < t->len && t->heap[child + 1]->deadline_ms < t->heap[child]->deadline_ms)
			child++;
		if (timer->deadline_ms <= t->heap[child]->deadline_ms)
			break;
		place(t, i, t->heap[child]);
		i = child;
	}
	place(t, i, timer);
}

static void remove_at(lpw_timers_t *t, size_t i)
{
	lpw_timer_t *gone = t->heap[i];
	gone->heap_index = SIZE_MAX;
	t->len--;
	if (i == t->len)
		return;
	lpw_timer_t *moved = t->heap[t->len];
	place(t, i, moved);
	if (i > 0 && t->heap[(i - 1) / 2]->deadline_ms > moved->deadline_ms)
		sift_up(t, i);
	else
		sift_down(t, i);
}

int lpw_timers_set(lpw_timers_t *t, lpw_timer_t *timer, int64_t deadline_ms)
{
	if (lpw_timer_armed(timer))
		remove_at(t, timer->heap_index);
	if (t->len == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		lpw_timer_t **heap = realloc(t->heap, cap * sizeof(*heap));
		if (!heap)
			return -ENOMEM;
		t->heap = heap;
		t->cap = cap;
	}
	timer->deadline_ms = deadline_ms;
	t->heap[t->len] = timer;
	timer->heap_index = t->len++;
	sift_up(t, timer->heap_index);
	return 0;
}

void lpw_timers_clear(lpw_timers_t *t, lpw_timer_t *timer)
{
	if (lpw_timer_armed(timer) && timer->heap_index < t->len && t->heap[timer->heap_index] == timer)
		remove_at(t, timer->heap_index);
}

int64_t lpw_timers_next_deadline(const lpw_timers_t *t)
{
	return t->len ? t->heap[0]->deadline_ms : INT64_MAX;
}

int lpw_timers_run(lpw_timers_t *t, int64_t now_ms)
{
	int fired = 0;
	while (t->len && t->heap[0]->deadline_ms <= now_ms) {
		lpw_timer_t *timer = t->heap[0];
		remove_at(t, 0);
		fired++;
		if (timer->cb)
			timer->cb(timer, now_ms);
	}
	return fired;
}

size_t lpw_timers_count(const lpw_timers_t *t)
{
	return t->len;
}
