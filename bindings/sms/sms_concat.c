/* Concatenated SMS: splitting, and reassembly keyed by sender in a hash table, each sender with a short list of
 * incomplete chains (at most max_chains, so finding a chain is a bounded walk), each chain with its own timer. */
#include "bindings/sms/sms_concat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HEADER8 6  /* UDHL + IEI 0x00 + IEDL + ref + total + seq */
#define HEADER16 7 /* UDHL + IEI 0x08 + IEDL + ref (2) + total + seq */
#define FIRST_BUCKETS 64

/* --- splitting --- */

static size_t per_part(unsigned nparts, bool ref16)
{
	return nparts <= 1 ? LPW_SMS_UD_MAX : LPW_SMS_UD_MAX - (ref16 ? HEADER16 : HEADER8);
}

size_t lpw_sms_concat_capacity(unsigned max_parts, bool ref16)
{
	if (max_parts > LPW_SMS_CONCAT_MAX_PARTS)
		max_parts = LPW_SMS_CONCAT_MAX_PARTS;
	return max_parts * per_part(max_parts, ref16);
}

unsigned lpw_sms_concat_count(size_t len, unsigned max_parts, bool ref16)
{
	if (max_parts == 0)
		return 0;
	if (len <= LPW_SMS_UD_MAX)
		return 1;
	size_t chunk = per_part(2, ref16), n = (len + chunk - 1) / chunk;
	return n <= max_parts && n <= LPW_SMS_CONCAT_MAX_PARTS ? (unsigned)n : 0;
}

int lpw_sms_concat_part(const uint8_t *data, size_t len, unsigned nparts, unsigned seq, uint16_t ref, bool ref16,
			lpw_sms_t *inout)
{
	size_t chunk = per_part(nparts, ref16);
	if (nparts == 0 || nparts > LPW_SMS_CONCAT_MAX_PARTS || seq == 0 || seq > nparts || len > nparts * chunk ||
	    inout->udh_len || (!ref16 && ref > 0xff))
		return -EINVAL;
	size_t from = (seq - 1) * chunk, n = len - from < chunk ? len - from : chunk;
	if (from > len)
		return -EINVAL; /* more parts than the data needs */
	memcpy(inout->ud, data + from, n);
	inout->ud_len = n;
	inout->concat = (lpw_sms_concat_info_t){0};
	if (nparts > 1)
		inout->concat = (lpw_sms_concat_info_t){
			.present = true, .ref16 = ref16, .ref = ref, .total = (uint8_t)nparts, .seq = (uint8_t)seq};
	return 0;
}

/* --- reassembly --- */

struct sender;

struct chain {
	lpw_sms_concat_t *owner;
	struct sender *s;
	struct chain *next; /* the sender's chains, oldest first */
	lpw_timer_t timer;
	uint16_t ref;
	bool ref16;
	unsigned total, have;
	size_t cost;        /* what it counts against max_bytes */
	uint8_t *len;       /* [total]: length of each part */
	uint8_t *got;       /* [total]: whether it arrived */
	uint8_t *data;      /* [total * LPW_SMS_UD_MAX] */
};

struct sender {
	struct sender *next; /* hash bucket */
	struct chain *chains;
	unsigned nchains;
	char key[LPW_SMS_SENDER_MAX + 1];
};

struct lpw_sms_concat {
	lpw_loop_t *loop;
	lpw_sms_concat_config_t cfg;
	struct sender **buckets;
	size_t nbuckets, nsenders;
	uint16_t next_ref;
	lpw_sms_concat_stats_t st;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct sender **slot_of(lpw_sms_concat_t *c, const char *key)
{
	struct sender **p = &c->buckets[hash(key) & (c->nbuckets - 1)];
	while (*p && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	return p;
}

static void grow(lpw_sms_concat_t *c)
{
	size_t n = c->nbuckets * 2;
	struct sender **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* longer buckets, still correct */
	for (size_t i = 0; i < c->nbuckets; i++) {
		for (struct sender *s = c->buckets[i], *next; s; s = next) {
			next = s->next;
			size_t k = hash(s->key) & (n - 1);
			s->next = b[k];
			b[k] = s;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

static struct sender *sender_get(lpw_sms_concat_t *c, const char *key)
{
	struct sender **p = slot_of(c, key);
	if (*p)
		return *p;
	struct sender *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	strcpy(s->key, key); /* the caller checked the length */
	*p = s;
	if (++c->nsenders > c->nbuckets)
		grow(c);
	return s;
}

static void sender_drop_if_empty(lpw_sms_concat_t *c, struct sender *s)
{
	if (s->chains)
		return;
	struct sender **p = slot_of(c, s->key);
	*p = s->next;
	c->nsenders--;
	free(s);
}

static void chain_free(struct chain *ch)
{
	free(ch->len);
	free(ch->got);
	free(ch->data);
	free(ch);
}

/* Takes the chain out of its sender and the accounts; the key is copied out first, since the sender goes with its
 * last chain unless keep_sender (a new chain is about to join it). */
static void chain_unlink(struct chain *ch, char key[LPW_SMS_SENDER_MAX + 1], bool keep_sender)
{
	lpw_sms_concat_t *c = ch->owner;
	struct sender *s = ch->s;
	struct chain **p = &s->chains;
	while (*p != ch)
		p = &(*p)->next;
	*p = ch->next;
	s->nchains--;
	lpw_loop_timer_clear(c->loop, &ch->timer);
	c->st.chains--;
	c->st.bytes -= ch->cost;
	strcpy(key, s->key);
	if (!keep_sender)
		sender_drop_if_empty(c, s);
}

/* What a dropped chain tells the hook, once the module is consistent again. */
struct drop_note {
	bool set;
	lpw_sms_concat_drop_t why;
	unsigned have, total;
	char key[LPW_SMS_SENDER_MAX + 1];
};

static void chain_drop(struct chain *ch, lpw_sms_concat_drop_t why, bool keep_sender, struct drop_note *note)
{
	lpw_sms_concat_t *c = ch->owner;
	*note = (struct drop_note){.set = true, .why = why, .have = ch->have, .total = ch->total};
	chain_unlink(ch, note->key, keep_sender);
	chain_free(ch);
	if (why == LPW_SMS_CONCAT_TIMEOUT)
		c->st.timeouts++;
	else if (why == LPW_SMS_CONCAT_EVICTED)
		c->st.evicted++;
}

static void tell(lpw_sms_concat_t *c, const struct drop_note *note)
{
	if (note->set && c->cfg.dropped)
		c->cfg.dropped(c->cfg.arg, note->key, note->why, note->have, note->total);
}

static void on_timeout(lpw_timer_t *t, int64_t now_ms)
{
	struct chain *ch = lpw_container_of(t, struct chain, timer);
	lpw_sms_concat_t *c = ch->owner;
	struct drop_note note;
	chain_drop(ch, LPW_SMS_CONCAT_TIMEOUT, false, &note);
	tell(c, &note);
}

lpw_sms_concat_t *lpw_sms_concat_new(lpw_loop_t *loop, const lpw_sms_concat_config_t *cfg)
{
	if (!loop || !cfg || !cfg->complete || cfg->max_parts == 0 || cfg->max_parts > LPW_SMS_CONCAT_MAX_PARTS ||
	    cfg->max_chains == 0)
		return NULL;
	lpw_sms_concat_t *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->loop = loop;
	c->cfg = *cfg;
	c->next_ref = cfg->first_ref;
	c->nbuckets = FIRST_BUCKETS;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	return c;
}

void lpw_sms_concat_free(lpw_sms_concat_t *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		for (struct sender *s = c->buckets[i], *ns; s; s = ns) {
			ns = s->next;
			for (struct chain *ch = s->chains, *nc; ch; ch = nc) {
				nc = ch->next;
				lpw_loop_timer_clear(c->loop, &ch->timer);
				chain_free(ch);
			}
			free(s);
		}
	}
	free(c->buckets);
	free(c);
}

static struct chain *chain_find(struct sender *s, const lpw_sms_concat_info_t *info)
{
	for (struct chain *ch = s->chains; ch; ch = ch->next)
		if (ch->ref == info->ref && ch->ref16 == info->ref16 && ch->total == info->total)
			return ch;
	return NULL;
}

static size_t chain_cost(unsigned total)
{
	return sizeof(struct chain) + total * (LPW_SMS_UD_MAX + 2u);
}

/* A new chain for info under s; the sender's oldest makes room when it has max_chains already (note says so). */
static int chain_new(lpw_sms_concat_t *c, struct sender *s, const lpw_sms_concat_info_t *info, struct chain **out,
		     struct drop_note *note)
{
	size_t cost = chain_cost(info->total);
	if (s->nchains >= c->cfg.max_chains)
		chain_drop(s->chains, LPW_SMS_CONCAT_EVICTED, true, note);
	if (c->st.bytes + cost > c->cfg.max_bytes)
		return -ENOBUFS;
	struct chain *ch = calloc(1, sizeof(*ch));
	if (ch) {
		ch->len = calloc(info->total, 1);
		ch->got = calloc(info->total, 1);
		ch->data = malloc((size_t)info->total * LPW_SMS_UD_MAX);
	}
	if (!ch || !ch->len || !ch->got || !ch->data) {
		if (ch)
			chain_free(ch);
		return -ENOMEM;
	}
	*ch = (struct chain){.owner = c, .s = s, .ref = info->ref, .ref16 = info->ref16, .total = info->total,
			     .cost = cost, .len = ch->len, .got = ch->got, .data = ch->data};
	lpw_timer_init(&ch->timer, on_timeout);
	if (lpw_loop_timer_in(c->loop, &ch->timer, c->cfg.timeout_ms) < 0) {
		chain_free(ch);
		return -ENOMEM;
	}
	struct chain **p = &s->chains;
	while (*p)
		p = &(*p)->next;
	*p = ch;
	s->nchains++;
	c->st.chains++;
	c->st.bytes += cost;
	*out = ch;
	return 0;
}

/* The chain is complete: joined in order, handed on, freed. */
static int chain_deliver(struct chain *ch)
{
	lpw_sms_concat_t *c = ch->owner;
	size_t n = 0;
	for (unsigned i = 0; i < ch->total; i++)
		n += ch->len[i];
	uint8_t *buf = malloc(n ? n : 1);
	char key[LPW_SMS_SENDER_MAX + 1];
	chain_unlink(ch, key, false);
	if (!buf) {
		chain_free(ch);
		return -ENOMEM;
	}
	for (unsigned i = 0, at = 0; i < ch->total; at += ch->len[i], i++)
		memcpy(buf + at, ch->data + (size_t)i * LPW_SMS_UD_MAX, ch->len[i]);
	chain_free(ch);
	c->st.messages++;
	c->cfg.complete(c->cfg.arg, key, buf, n);
	free(buf);
	return 0;
}

static int refuse(lpw_sms_concat_t *c, int rc)
{
	c->st.refused++;
	return rc;
}

int lpw_sms_concat_input(lpw_sms_concat_t *c, const char *sender, const lpw_sms_concat_info_t *info,
			 const uint8_t *data, size_t len)
{
	size_t klen = sender ? strlen(sender) : 0;
	if (klen == 0 || klen > LPW_SMS_SENDER_MAX || len > LPW_SMS_UD_MAX)
		return refuse(c, -EINVAL);
	if (!info || !info->present || info->total == 1) {
		c->st.messages++;
		c->cfg.complete(c->cfg.arg, sender, data, len);
		return 0;
	}
	if (info->seq == 0 || info->seq > info->total)
		return refuse(c, -EINVAL);
	if (info->total > c->cfg.max_parts)
		return refuse(c, -EMSGSIZE);
	struct sender *s = sender_get(c, sender);
	if (!s)
		return -ENOMEM;
	struct chain *ch = chain_find(s, info);
	if (ch && ch->got[info->seq - 1]) {
		c->st.duplicates++;
		return -EALREADY;
	}
	struct drop_note note = {.set = false};
	if (!ch) {
		int rc = chain_new(c, s, info, &ch, &note);
		if (rc < 0) {
			sender_drop_if_empty(c, s);
			tell(c, &note);
			return refuse(c, rc);
		}
	}
	unsigned i = info->seq - 1u;
	memcpy(ch->data + (size_t)i * LPW_SMS_UD_MAX, data, len);
	ch->len[i] = (uint8_t)len;
	ch->got[i] = 1;
	ch->have++;
	c->st.parts++;
	int rc = ch->have == ch->total ? chain_deliver(ch) : 0;
	tell(c, &note);
	return rc;
}

void lpw_sms_concat_forget(lpw_sms_concat_t *c, const char *sender)
{
	if (!sender || strlen(sender) > LPW_SMS_SENDER_MAX)
		return;
	struct sender *s;
	/* one at a time: the hook may change the table, and the last drop frees the sender */
	while ((s = *slot_of(c, sender)) != NULL) {
		struct drop_note note;
		chain_drop(s->chains, LPW_SMS_CONCAT_FORGOTTEN, false, &note);
		tell(c, &note);
	}
}

uint16_t lpw_sms_concat_next_ref(lpw_sms_concat_t *c, bool ref16)
{
	uint16_t r = ref16 ? c->next_ref : (uint16_t)(c->next_ref & 0xff);
	c->next_ref++;
	return r;
}

void lpw_sms_concat_get_stats(const lpw_sms_concat_t *c, lpw_sms_concat_stats_t *out)
{
	*out = c->st;
}
