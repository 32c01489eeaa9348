/* TLS alert handling for upstream sessions (LwM2M 1.1.1 Transport §5.2.9) and the reconnect back-off. */
#ifndef LPW_ALERTS_H
#define LPW_ALERTS_H

#include <stdint.h>

typedef enum {
	LPW_ALERT_RETRY = 0, /* maybe transient: reconnect after a back-off */
	LPW_ALERT_FAIL = 1,  /* cannot recover by itself: stop retrying, raise an event */
} lpw_alert_action_t;

/* What to do after the TLS alert `description` (RFC 5246/8446 numbering) ended a session or handshake. */
lpw_alert_action_t lpw_alert_classify(uint8_t description);

/* The RFC name of an alert ("bad_certificate"), or "unknown". A static string. */
const char *lpw_alert_name(uint8_t description);

/*
 * Delay before reconnect attempt number `attempt` (0 = the first retry): exponential growth from min_ms, capped
 * at max_ms, with "equal jitter": the result lies in [max(min_ms, cap/2), cap], cap = min(max_ms,
 * min_ms * 2^attempt), so gateways restarted together spread out yet never hammer the server at once.
 * `random` is any uniformly random 32-bit value from the caller (pure function, testable). A negative min_ms
 * counts as 0, a max_ms below min_ms as min_ms. Never overflows.
 */
int64_t lpw_backoff_next_ms(uint32_t attempt, int64_t min_ms, int64_t max_ms, uint32_t random);

#endif
