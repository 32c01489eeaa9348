/* Rate limiting of repeated log lines and events, per kind and key (a device, a forwarder, an address): a burst
 * goes through, then a few per period; what is held back is counted, and the next one that goes through is told
 * how many similar ones were suppressed, so it can say "... (1234 similar suppressed)".
 *
 * A token bucket per kind and key, and one per kind ten times larger that every line of the kind also needs, so a
 * flood that makes up a new key per line (forged addresses, invented forwarder EUIs) stays bounded too. The buckets
 * live in a hash table of bounded size: a key that has been quiet long enough to refill carries no information and
 * is forgotten first; when every remembered key is busy, new keys of a kind use only the kind's bucket.
 * Time comes from the caller (the loop's now): a fake clock drives it in tests. */
#ifndef LPW_RATELIMIT_H
#define LPW_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lpw_ratelimit lpw_ratelimit_t;

typedef struct {
	uint32_t burst;      /* let through at once per kind and key, at most 100000; 0 = no limit at all */
	uint32_t per_period; /* then this many per period (spread evenly), at most 1000; 0 = 1 */
	uint32_t period_ms;  /* at most 86400000; 0 = 10000 */
	size_t max_keys;     /* buckets remembered (keys and kinds), at least 16; 0 = 1024; fixed at creation */
} lpw_ratelimit_config_t;

#define LPW_RATELIMIT_DEFAULT_BURST 10
#define LPW_RATELIMIT_KIND_MAX 31 /* longer kinds and keys are cut (they still work as keys, just shorter) */
#define LPW_RATELIMIT_KEY_MAX 63

/* cfg: read during the call; NULL = the defaults with burst LPW_RATELIMIT_DEFAULT_BURST. NULL on allocation
 * failure. */
lpw_ratelimit_t *lpw_ratelimit_new(const lpw_ratelimit_config_t *cfg);

/* Accepts NULL. */
void lpw_ratelimit_free(lpw_ratelimit_t *rl);

/* Applies new limits (a reload); max_keys is ignored. Remembered keys keep their history. */
void lpw_ratelimit_configure(lpw_ratelimit_t *rl, const lpw_ratelimit_config_t *cfg);

/* Whether one more line or event of kind about key may go out at now_ms. kind: required; key: NULL for none. Both
 * are borrowed for the call. When it may, *out_suppressed (may be NULL) gets how many of this kind and key were
 * held back since the last one that went out, and that count restarts; when not, the suppression is counted.
 * A time before the key's last one (another clock) starts the key afresh. */
bool lpw_ratelimit_allow(lpw_ratelimit_t *rl, int64_t now_ms, const char *kind, const char *key,
			 uint64_t *out_suppressed);

/* The shape of a line of text, as a key for lines that carry no device (a library's own log lines): every word
 * that holds a digit (numbers, hex, addresses) becomes "#", cut to cap - 1 bytes. "option 2048 at 0x1f3" and
 * "option 9 at 0xa0" share one shape. */
void lpw_ratelimit_shape(const char *text, char *out, size_t cap);

/* Everything held back since creation (monotonic). */
uint64_t lpw_ratelimit_suppressed(const lpw_ratelimit_t *rl);

/* Keys remembered now (for tests and memory figures). */
size_t lpw_ratelimit_keys(const lpw_ratelimit_t *rl);

#endif
