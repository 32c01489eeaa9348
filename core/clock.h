/* The one clock: every protocol timer reads time through it, so tests can use the fake one. */
#ifndef LPW_CLOCK_H
#define LPW_CLOCK_H

#include <stdint.h>

typedef struct lpw_clock lpw_clock_t;

/* A clock on CLOCK_MONOTONIC. NULL on allocation failure. */
lpw_clock_t *lpw_clock_new_real(void);

/* A clock that only moves when lpw_clock_advance() is called; starts at start_ms. */
lpw_clock_t *lpw_clock_new_fake(int64_t start_ms);

/* Accepts NULL. */
void lpw_clock_free(lpw_clock_t *clock);

/* Milliseconds on a monotonic scale (only differences mean anything). */
int64_t lpw_clock_now_ms(const lpw_clock_t *clock);

/* Moves a fake clock forward by delta_ms; -EINVAL on a real clock or a negative delta. */
int lpw_clock_advance(lpw_clock_t *clock, int64_t delta_ms);

/* Wall-clock seconds since the epoch, for telemetry only (never for timers). */
int64_t lpw_clock_wall_s(void);

#endif
