/* Rate limits for outgoing SMS, which cost money: a token bucket of "messages per hour" (full after an hour of
 * silence, refilled continuously), one per device and one for the gateway. Embedded in its owner; time comes from
 * the caller (the loop's now). Pure. */
#ifndef LPW_SMS_RATE_H
#define LPW_SMS_RATE_H

#include <stdbool.h>
#include <stdint.h>

/* Fields private. */
typedef struct {
	uint32_t per_hour; /* 0 = no limit */
	uint64_t units;    /* one message is 3 600 000 units; refilled per_hour units a millisecond */
	int64_t last_ms;
} lpw_sms_rate_t;

/* A full bucket of per_hour messages (0 = unlimited) at now_ms. */
void lpw_sms_rate_init(lpw_sms_rate_t *r, uint32_t per_hour, int64_t now_ms);
/* A new limit (reload): what is left keeps its share of the bucket. */
void lpw_sms_rate_set(lpw_sms_rate_t *r, uint32_t per_hour, int64_t now_ms);

/* Takes n messages if available now: 0, or -EAGAIN (nothing taken). */
int lpw_sms_rate_take(lpw_sms_rate_t *r, int64_t now_ms, unsigned n) __attribute__((warn_unused_result));
/* Takes n from both buckets, or from neither: -EAGAIN when either lacks them. */
int lpw_sms_rate_take_both(lpw_sms_rate_t *a, lpw_sms_rate_t *b, int64_t now_ms, unsigned n)
	__attribute__((warn_unused_result));
/* Milliseconds until n messages are available (0 = now), or -1 when n is more than the bucket ever holds. */
int64_t lpw_sms_rate_wait_ms(const lpw_sms_rate_t *r, int64_t now_ms, unsigned n);

#endif
