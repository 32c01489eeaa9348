/* Duplicate detection for the messages one device sends (RFC 7252 §4.5), with a cache of the answers. */
#ifndef LPW_DEDUP_H
#define LPW_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 7252 §4.8.2 with the default transmission parameters. */
#define LPW_DEDUP_EXCHANGE_LIFETIME_MS 247000
#define LPW_DEDUP_NON_LIFETIME_MS 145000

typedef struct lpw_dedup lpw_dedup_t;

enum {
	LPW_DEDUP_NEW = 0,	/* first time seen: now recorded as in progress, forward it */
	LPW_DEDUP_PENDING = 1,	/* duplicate to drop silently: no answer yet, or a duplicate NON */
	LPW_DEDUP_ANSWERED = 2, /* duplicate CON: send the cached answer again, do not forward */
};

/* One table per device; capacity (> 0) bounds the remembered message IDs. NULL on capacity 0 or no memory. */
lpw_dedup_t *lpw_dedup_new(size_t capacity);
void lpw_dedup_free(lpw_dedup_t *dd);

/*
 * Looks mid up; entries older than EXCHANGE_LIFETIME (CON) / NON_LIFETIME (NON), measured from the first
 * receipt, are forgotten first (now_ms from the gateway clock, any monotonic epoch). A new mid is recorded,
 * evicting the oldest entry when the table is full (counted by lpw_dedup_evictions()).
 * Duplicate NONs always return LPW_DEDUP_PENDING: RFC 7252 §4.5 says to ignore them, there is nothing to ack.
 * On LPW_DEDUP_ANSWERED, *out_resp / *out_len (both may be NULL) point at the cached bytes, borrowed until the
 * next call on dd. Returns one of the values above, or -EINVAL for a NULL dd.
 */
int lpw_dedup_check(lpw_dedup_t *dd, uint16_t mid, bool con, int64_t now_ms, const uint8_t **out_resp,
		    size_t *out_len);

/*
 * Stores the exact bytes sent in answer to mid (copied) so that a retransmitted CON gets them again.
 * For a NON entry it only marks the exchange answered. A second answer replaces the first.
 * Returns 0, -ENOENT if mid is not remembered (never seen, expired or evicted), -ENOMEM, -EINVAL.
 */
int lpw_dedup_answer(lpw_dedup_t *dd, uint16_t mid, const uint8_t *resp, size_t len);

/* Entries currently remembered (expired ones may still count until the next check). */
size_t lpw_dedup_count(const lpw_dedup_t *dd);
/* Entries dropped because the table was full while still within their lifetime; monotonic. */
uint64_t lpw_dedup_evictions(const lpw_dedup_t *dd);

#endif
