/* Token buckets per kind and key in a bounded hash table with least-recently-used order. */
#include "core/ratelimit.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PER_PERIOD 1
#define DEFAULT_PERIOD_MS 10000
#define DEFAULT_MAX_KEYS 1024
#define MAX_BURST 100000u      /* bounds keep credit arithmetic inside 64 bits: */
#define MAX_PER_PERIOD 1000u   /* burst x period x per_period < 2^63 */
#define MAX_PERIOD_MS 86400000u
#define FIRST_POOL 64
#define MIN_KEYS 16
/* All keys of one kind together get this many times the burst and the rate of one key: a flood that makes up a
 * fresh key per datagram (forged addresses, made-up forwarder EUIs) still gets little through. */
#define KIND_FACTOR 10
#define NIL UINT32_MAX

struct entry {
	uint32_t hnext;      /* next in its hash chain */
	uint32_t prev, next; /* recency list: head is the most recent */
	uint32_t hash;
	bool shared;         /* the bucket of the whole kind (KIND_FACTOR times larger): every line of the kind also
	                      * needs its credit, and new keys use only it while every remembered key is busy */
	int64_t last_ms;
	uint64_t credit;     /* one line costs period_ms; refills by per_period per millisecond */
	uint64_t suppressed; /* held back since the last one let through */
	char kind[LPW_RATELIMIT_KIND_MAX + 1];
	char key[LPW_RATELIMIT_KEY_MAX + 1];
};

struct lpw_ratelimit {
	uint32_t burst, per_period, period_ms;
	size_t max_keys;
	struct entry *pool;
	size_t pool_cap, used;
	uint32_t *buckets;
	size_t mask;
	uint32_t head, tail;
	uint64_t suppressed;
};

static void set_limits(lpw_ratelimit_t *rl, const lpw_ratelimit_config_t *cfg)
{
	uint32_t burst = cfg ? cfg->burst : LPW_RATELIMIT_DEFAULT_BURST;
	uint32_t per = cfg && cfg->per_period ? cfg->per_period : DEFAULT_PER_PERIOD;
	uint32_t period = cfg && cfg->period_ms ? cfg->period_ms : DEFAULT_PERIOD_MS;
	rl->burst = burst > MAX_BURST ? MAX_BURST : burst;
	rl->per_period = per > MAX_PER_PERIOD ? MAX_PER_PERIOD : per;
	rl->period_ms = period > MAX_PERIOD_MS ? MAX_PERIOD_MS : period;
}

lpw_ratelimit_t *lpw_ratelimit_new(const lpw_ratelimit_config_t *cfg)
{
	lpw_ratelimit_t *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	set_limits(rl, cfg);
	rl->max_keys = cfg && cfg->max_keys ? cfg->max_keys : DEFAULT_MAX_KEYS;
	if (rl->max_keys >= NIL)
		rl->max_keys = NIL - 1;
	if (rl->max_keys < MIN_KEYS) /* room for a key and its kind at least */
		rl->max_keys = MIN_KEYS;
	size_t nb = 16;
	while (nb < rl->max_keys)
		nb *= 2;
	rl->buckets = malloc(nb * sizeof(*rl->buckets));
	if (!rl->buckets) {
		free(rl);
		return NULL;
	}
	memset(rl->buckets, 0xff, nb * sizeof(*rl->buckets)); /* every chain NIL */
	rl->mask = nb - 1;
	rl->head = rl->tail = NIL;
	return rl;
}

void lpw_ratelimit_free(lpw_ratelimit_t *rl)
{
	if (!rl)
		return;
	free(rl->pool);
	free(rl->buckets);
	free(rl);
}

void lpw_ratelimit_configure(lpw_ratelimit_t *rl, const lpw_ratelimit_config_t *cfg)
{
	if (rl)
		set_limits(rl, cfg);
}

/* FNV-1a over kind, a separator, key and the shared flag. */
static uint32_t hash_of(const char *kind, const char *key, bool shared)
{
	uint32_t h = 2166136261u;
	for (const char *p = kind; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ 0xffu) * 16777619u;
	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return (h ^ (shared ? 1u : 0u)) * 16777619u;
}

static uint32_t find(const lpw_ratelimit_t *rl, uint32_t h, const char *kind, const char *key, bool shared)
{
	for (uint32_t i = rl->buckets[h & rl->mask]; i != NIL; i = rl->pool[i].hnext) {
		const struct entry *e = &rl->pool[i];
		if (e->hash == h && e->shared == shared && strcmp(e->kind, kind) == 0 && strcmp(e->key, key) == 0)
			return i;
	}
	return NIL;
}

static void list_unlink(lpw_ratelimit_t *rl, uint32_t i)
{
	struct entry *e = &rl->pool[i];
	if (e->prev != NIL)
		rl->pool[e->prev].next = e->next;
	else
		rl->head = e->next;
	if (e->next != NIL)
		rl->pool[e->next].prev = e->prev;
	else
		rl->tail = e->prev;
}

static void list_push_head(lpw_ratelimit_t *rl, uint32_t i)
{
	struct entry *e = &rl->pool[i];
	e->prev = NIL;
	e->next = rl->head;
	if (rl->head != NIL)
		rl->pool[rl->head].prev = i;
	rl->head = i;
	if (rl->tail == NIL)
		rl->tail = i;
}

static void chain_unlink(lpw_ratelimit_t *rl, uint32_t i)
{
	uint32_t *p = &rl->buckets[rl->pool[i].hash & rl->mask];
	while (*p != i)
		p = &rl->pool[*p].hnext;
	*p = rl->pool[i].hnext;
}

static uint64_t capacity(const lpw_ratelimit_t *rl, const struct entry *e)
{
	return (uint64_t)rl->burst * rl->period_ms * (e->shared ? KIND_FACTOR : 1);
}

static void refill(const lpw_ratelimit_t *rl, struct entry *e, int64_t now_ms)
{
	uint64_t cap = capacity(rl, e);
	if (now_ms < e->last_ms) {
		e->credit = cap;
	} else {
		uint64_t elapsed = (uint64_t)(now_ms - e->last_ms);
		uint64_t rate = (uint64_t)rl->per_period * (e->shared ? KIND_FACTOR : 1);
		e->credit = elapsed >= cap ? cap : e->credit + elapsed * rate;
		if (e->credit > cap)
			e->credit = cap;
	}
	e->last_ms = now_ms;
}

static bool grow(lpw_ratelimit_t *rl)
{
	size_t cap = rl->pool_cap ? rl->pool_cap * 2 : FIRST_POOL;
	if (cap > rl->max_keys)
		cap = rl->max_keys;
	struct entry *pool = realloc(rl->pool, cap * sizeof(*pool));
	if (!pool)
		return false;
	rl->pool = pool;
	rl->pool_cap = cap;
	return true;
}

/* A slot for a new key: a fresh one while below max_keys (and memory lasts), else the least recent one; NIL when
 * there is none at all. */
static uint32_t take_slot(lpw_ratelimit_t *rl)
{
	if (rl->used < rl->max_keys && (rl->used < rl->pool_cap || grow(rl)))
		return (uint32_t)rl->used++;
	uint32_t i = rl->tail;
	if (i != NIL) {
		chain_unlink(rl, i);
		list_unlink(rl, i);
	}
	return i;
}

static uint32_t add(lpw_ratelimit_t *rl, uint32_t h, const char *kind, const char *key, bool shared, int64_t now)
{
	uint32_t i = take_slot(rl);
	if (i == NIL)
		return NIL;
	struct entry *e = &rl->pool[i];
	memset(e, 0, sizeof(*e));
	strncpy(e->kind, kind, LPW_RATELIMIT_KIND_MAX);
	strncpy(e->key, key, LPW_RATELIMIT_KEY_MAX);
	e->hash = h;
	e->shared = shared;
	e->last_ms = now;
	e->credit = capacity(rl, e);
	e->hnext = rl->buckets[h & rl->mask];
	rl->buckets[h & rl->mask] = i;
	list_push_head(rl, i);
	return i;
}

/* The entry for a key not remembered yet. A full table gives up its least recent key if that one has refilled
 * (it would behave exactly like a new one); otherwise the new key goes to its kind's bucket alone. */
static uint32_t entry_for_new(lpw_ratelimit_t *rl, const char *kind, const char *key, uint32_t h, int64_t now)
{
	if (rl->used == rl->max_keys && rl->tail != NIL) {
		struct entry *lru = &rl->pool[rl->tail];
		refill(rl, lru, now);
		if (lru->credit < capacity(rl, lru)) {
			uint32_t sh = hash_of(kind, "", true);
			uint32_t s = find(rl, sh, kind, "", true);
			return s != NIL ? s : add(rl, sh, kind, "", true, now);
		}
	}
	return add(rl, h, kind, key, false, now);
}

bool lpw_ratelimit_allow(lpw_ratelimit_t *rl, int64_t now_ms, const char *kind, const char *key,
			 uint64_t *out_suppressed)
{
	if (out_suppressed)
		*out_suppressed = 0;
	if (!rl || !kind || rl->burst == 0)
		return true;
	char k[LPW_RATELIMIT_KIND_MAX + 1], v[LPW_RATELIMIT_KEY_MAX + 1];
	strncpy(k, kind, sizeof(k) - 1)[sizeof(k) - 1] = '\0'; /* cut as stored, so long keys still match */
	strncpy(v, key ? key : "", sizeof(v) - 1)[sizeof(v) - 1] = '\0';
	uint32_t h = hash_of(k, v, false);
	uint32_t i = find(rl, h, k, v, false);
	if (i == NIL && (i = entry_for_new(rl, k, v, h, now_ms)) == NIL)
		return true; /* out of memory: better a line too many than a line lost */
	list_unlink(rl, i); /* most recent first, so adding the kind's bucket below cannot evict it */
	list_push_head(rl, i);
	uint32_t sh = hash_of(k, "", true), s = rl->pool[i].shared ? i : find(rl, sh, k, "", true);
	if (s == NIL)
		s = add(rl, sh, k, "", true, now_ms);
	if (s == NIL)
		s = i;
	if (s != i) {
		list_unlink(rl, s);
		list_push_head(rl, s);
	}
	struct entry *e = &rl->pool[i], *all = &rl->pool[s]; /* after every add: the pool may have moved */
	refill(rl, e, now_ms);
	if (all != e)
		refill(rl, all, now_ms);
	if (e->credit >= rl->period_ms && all->credit >= rl->period_ms) {
		e->credit -= rl->period_ms;
		if (all != e)
			all->credit -= rl->period_ms;
		if (out_suppressed)
			*out_suppressed = e->suppressed;
		e->suppressed = 0;
		return true;
	}
	e->suppressed++;
	rl->suppressed++;
	return false;
}

uint64_t lpw_ratelimit_suppressed(const lpw_ratelimit_t *rl)
{
	return rl ? rl->suppressed : 0;
}

size_t lpw_ratelimit_keys(const lpw_ratelimit_t *rl)
{
	return rl ? rl->used : 0;
}

void lpw_ratelimit_shape(const char *text, char *out, size_t cap)
{
	size_t n = 0;
	if (!cap)
		return;
	for (const char *p = text ? text : ""; *p && n + 1 < cap;) {
		const char *w = p;
		bool digit = false;
		while (isalnum((unsigned char)*p) || *p == '_') /* a word */
			digit |= isdigit((unsigned char)*p++) != 0;
		if (p == w) { /* not a word: one character as it is */
			out[n++] = *p++;
			continue;
		}
		if (digit) {
			out[n++] = '#';
			continue;
		}
		for (; w < p && n + 1 < cap; w++)
			out[n++] = *w;
	}
	out[n] = '\0';
}
