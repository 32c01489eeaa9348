/* Duplicate detection per device: a FIFO ring of recent message IDs with their cached answers. */
#include "proxy/dedup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	uint16_t mid;
	bool con;
	bool answered;
	int64_t expires_ms;
	uint8_t *resp; /* owned; NULL until answered (and always for NON) */
	size_t resp_len;
} entry_t;

struct lpw_dedup {
	entry_t *ring; /* ring[head .. head+count) in arrival order, oldest first */
	size_t capacity;
	size_t head;
	size_t count;
	uint64_t evictions;
};

lpw_dedup_t *lpw_dedup_new(size_t capacity)
{
	lpw_dedup_t *dd;

	if (capacity == 0)
		return NULL;
	dd = calloc(1, sizeof(*dd));
	if (!dd)
		return NULL;
	dd->ring = calloc(capacity, sizeof(*dd->ring));
	if (!dd->ring) {
		free(dd);
		return NULL;
	}
	dd->capacity = capacity;
	return dd;
}

static entry_t *at(lpw_dedup_t *dd, size_t i)
{
	return &dd->ring[(dd->head + i) % dd->capacity];
}

static void drop_oldest(lpw_dedup_t *dd)
{
	entry_t *e = at(dd, 0);

	free(e->resp);
	memset(e, 0, sizeof(*e));
	dd->head = (dd->head + 1) % dd->capacity;
	dd->count--;
}

void lpw_dedup_free(lpw_dedup_t *dd)
{
	if (!dd)
		return;
	while (dd->count > 0)
		drop_oldest(dd);
	free(dd->ring);
	free(dd);
}

/*
 * CON and NON entries have different lifetimes, so arrival order is not expiry order: an expired entry may sit
 * behind a live one. Compacting the ring in place keeps arrival order; tables are small (tens), so O(n) is fine.
 */
static void expire(lpw_dedup_t *dd, int64_t now_ms)
{
	size_t kept = 0, n = dd->count;

	for (size_t i = 0; i < n; i++) {
		entry_t *e = at(dd, i);

		/* Signed difference, so a clock epoch near the type's edge does not matter. */
		if (now_ms - e->expires_ms >= 0) {
			free(e->resp);
			memset(e, 0, sizeof(*e));
			continue;
		}
		if (kept != i) {
			*at(dd, kept) = *e;
			memset(e, 0, sizeof(*e));
		}
		kept++;
	}
	dd->count = kept;
}

static entry_t *find(lpw_dedup_t *dd, uint16_t mid)
{
	for (size_t i = 0; i < dd->count; i++)
		if (at(dd, i)->mid == mid)
			return at(dd, i);
	return NULL;
}

int lpw_dedup_check(lpw_dedup_t *dd, uint16_t mid, bool con, int64_t now_ms, const uint8_t **out_resp,
		    size_t *out_len)
{
	entry_t *e;

	if (!dd)
		return -EINVAL;
	expire(dd, now_ms);
	e = find(dd, mid);
	if (e) {
		if (!e->con || !con || !e->answered)
			return LPW_DEDUP_PENDING;
		if (out_resp)
			*out_resp = e->resp;
		if (out_len)
			*out_len = e->resp_len;
		return LPW_DEDUP_ANSWERED;
	}
	if (dd->count == dd->capacity) {
		drop_oldest(dd);
		dd->evictions++;
	}
	e = at(dd, dd->count);
	e->mid = mid;
	e->con = con;
	e->answered = false;
	e->resp = NULL;
	e->resp_len = 0;
	e->expires_ms = now_ms + (con ? LPW_DEDUP_EXCHANGE_LIFETIME_MS : LPW_DEDUP_NON_LIFETIME_MS);
	dd->count++;
	return LPW_DEDUP_NEW;
}

int lpw_dedup_answer(lpw_dedup_t *dd, uint16_t mid, const uint8_t *resp, size_t len)
{
	entry_t *e;
	uint8_t *copy = NULL;

	if (!dd || (!resp && len > 0))
		return -EINVAL;
	e = find(dd, mid);
	if (!e)
		return -ENOENT;
	if (e->con && len > 0) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, resp, len);
	}
	free(e->resp);
	e->resp = copy;
	e->resp_len = e->con ? len : 0;
	e->answered = true;
	return 0;
}

size_t lpw_dedup_count(const lpw_dedup_t *dd)
{
	return dd ? dd->count : 0;
}

uint64_t lpw_dedup_evictions(const lpw_dedup_t *dd)
{
	return dd ? dd->evictions : 0;
}
