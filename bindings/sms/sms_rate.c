/* Token buckets in integer units: a message is 3 600 000 units and the bucket gains per_hour units a millisecond,
 * so per_hour messages take exactly an hour to come back, without floating point. */
#include "bindings/sms/sms_rate.h"

#include <errno.h>

#define UNIT 3600000ULL /* milliseconds in an hour */

static uint64_t cap_of(const lpw_sms_rate_t *r)
{
	return (uint64_t)r->per_hour * UNIT;
}

static uint64_t level(const lpw_sms_rate_t *r, int64_t now_ms)
{
	uint64_t cap = cap_of(r);
	int64_t dt = now_ms > r->last_ms ? now_ms - r->last_ms : 0;
	/* capped before the product can overflow: an hour refills everything */
	uint64_t gain = dt >= (int64_t)UNIT ? cap : (uint64_t)dt * r->per_hour;
	return r->units + gain >= cap ? cap : r->units + gain;
}

static void refill(lpw_sms_rate_t *r, int64_t now_ms)
{
	r->units = level(r, now_ms);
	if (now_ms > r->last_ms)
		r->last_ms = now_ms;
}

void lpw_sms_rate_init(lpw_sms_rate_t *r, uint32_t per_hour, int64_t now_ms)
{
	r->per_hour = per_hour;
	r->units = cap_of(r);
	r->last_ms = now_ms;
}

void lpw_sms_rate_set(lpw_sms_rate_t *r, uint32_t per_hour, int64_t now_ms)
{
	refill(r, now_ms);
	uint64_t old = cap_of(r);
	r->per_hour = per_hour;
	r->units = old ? (uint64_t)((double)r->units / (double)old * (double)cap_of(r)) : cap_of(r);
}

static bool has(const lpw_sms_rate_t *r, int64_t now_ms, unsigned n)
{
	return r->per_hour == 0 || level(r, now_ms) >= (uint64_t)n * UNIT;
}

static void take(lpw_sms_rate_t *r, int64_t now_ms, unsigned n)
{
	if (r->per_hour == 0)
		return;
	refill(r, now_ms);
	r->units -= (uint64_t)n * UNIT;
}

int lpw_sms_rate_take(lpw_sms_rate_t *r, int64_t now_ms, unsigned n)
{
	if (!has(r, now_ms, n))
		return -EAGAIN;
	take(r, now_ms, n);
	return 0;
}

int lpw_sms_rate_take_both(lpw_sms_rate_t *a, lpw_sms_rate_t *b, int64_t now_ms, unsigned n)
{
	if (!has(a, now_ms, n) || !has(b, now_ms, n))
		return -EAGAIN;
	take(a, now_ms, n);
	take(b, now_ms, n);
	return 0;
}

int64_t lpw_sms_rate_wait_ms(const lpw_sms_rate_t *r, int64_t now_ms, unsigned n)
{
	if (r->per_hour == 0)
		return 0;
	uint64_t need = (uint64_t)n * UNIT, have = level(r, now_ms);
	if (need > cap_of(r))
		return -1;
	if (have >= need)
		return 0;
	return (int64_t)((need - have + r->per_hour - 1) / r->per_hour);
}
