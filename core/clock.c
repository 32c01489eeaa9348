/* Real (CLOCK_MONOTONIC) and fake clocks behind one interface. */
#include "core/clock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct lpw_clock {
	bool fake;
	int64_t fake_now_ms;
};

lpw_clock_t *lpw_clock_new_real(void)
{
	return calloc(1, sizeof(lpw_clock_t));
}

lpw_clock_t *lpw_clock_new_fake(int64_t start_ms)
{
	lpw_clock_t *c = calloc(1, sizeof(*c));
	if (c) {
		c->fake = true;
		c->fake_now_ms = start_ms;
	}
	return c;
}

void lpw_clock_free(lpw_clock_t *clock)
{
	free(clock);
}

int64_t lpw_clock_now_ms(const lpw_clock_t *clock)
{
	if (clock->fake)
		return clock->fake_now_ms;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int lpw_clock_advance(lpw_clock_t *clock, int64_t delta_ms)
{
	if (!clock->fake || delta_ms < 0)
		return -EINVAL;
	clock->fake_now_ms += delta_ms;
	return 0;
}

int64_t lpw_clock_wall_s(void)
{
	return (int64_t)time(NULL);
}
