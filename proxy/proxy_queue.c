/* Queue mode (LwM2M 1.1.1 §6.5, App. D.6): server requests for a device that cannot be reached now wait here,
 * persisted in the state store, and leave one at a time once the binding reports the device reachable. */
#include "proxy/proxy_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/coap_codec.h"
#include "proxy/pdu_util.h"

#define QUEUE_FULL_MAX_AGE_S 60 /* Max-Age on a 5.03: when the server may try again */
#define BLOB_VERSION 1

static bool queue_mode(const struct pdev *d)
{
	lpw_binding_traits_t t;
	px_traits(d, &t);
	if (t.queue_mode) /* the binding decides reachability itself (LoRaWAN RX windows) */
		return true;
	for (unsigned i = 0; i <= d->nservers && i <= LPW_DEVICE_MAX_SERVERS; i++) {
		const struct px_server *s = d->servers[i];
		if (s && lpw_reg_is_registered(s->reg) && lpw_reg_queue_mode(s->reg))
			return true;
	}
	return false;
}

static bool reachable(const struct pdev *d)
{
	if (lpw_loop_now(d->px->loop) < d->awake_until)
		return true;
	return d->heard && !queue_mode(d);
}

bool px_queue_reachable(const struct pdev *d)
{
	return reachable(d);
}

static size_t queue_bound(const struct pdev *d)
{
	return d->cfg->queue_max ? d->cfg->queue_max : d->px->cfg->upstream.queue_max;
}

static void key_of(const struct px_queued *q, char *key, size_t cap)
{
	snprintf(key, cap, "q/%012" PRIu64, q->seq);
}

/* Blob: version, server index (0xff: none), token length, token, wall-clock deadline (ms, big-endian, 8),
 * then the request in datagram CoAP framing (our own codec, so the stored form is the wire form). */
static void persist(struct pdev *d, const struct px_queued *q)
{
	if (!d->px->store)
		return;
	uint8_t blob[16 + PX_TOKEN_MAX + LPW_COAP_UDP_MAX];
	size_t n = 0;
	blob[n++] = BLOB_VERSION;
	blob[n++] = q->srv ? (uint8_t)q->srv->index : 0xff;
	blob[n++] = (uint8_t)q->srv_token_len;
	memcpy(blob + n, q->srv_token, q->srv_token_len);
	n += q->srv_token_len;
	int64_t wall = lpw_clock_wall_s() * 1000 + (q->deadline_ms - lpw_loop_now(d->px->loop));
	for (int i = 7; i >= 0; i--)
		blob[n++] = (uint8_t)((uint64_t)wall >> (8 * i));
	ssize_t len = lpw_coap_encode_udp(q->req, blob + n, sizeof(blob) - n);
	char key[32];
	key_of(q, key, sizeof(key));
	if (len < 0 || lpw_store_put(d->px->store, d->cfg->id, key, blob, n + (size_t)len) < 0)
		LPW_WARN("queue", "%s: queued request not persisted: a restart would lose it", d->cfg->id);
}

static void forget(struct pdev *d, struct px_queued *q)
{
	if (d->px->store) {
		char key[32];
		key_of(q, key, sizeof(key));
		lpw_store_delete(d->px->store, d->cfg->id, key);
	}
	coap_delete_pdu(q->req);
	free(q);
}

static struct px_queued *pop(struct pdev *d)
{
	struct px_queued *q = d->qhead;
	d->qhead = q->next;
	if (!d->qhead)
		d->qtail = &d->qhead;
	d->qlen--;
	d->px->stats->queue_depth--;
	return q;
}

static void push(struct pdev *d, struct px_queued *q)
{
	q->next = NULL;
	*d->qtail = q;
	d->qtail = &q->next;
	d->qlen++;
	d->px->stats->queue_depth++;
}

static void arm_expiry(struct pdev *d)
{
	if (!d->qhead) {
		lpw_loop_timer_clear(d->px->loop, &d->qtimer);
		return;
	}
	if (lpw_timers_set(lpw_loop_timers(d->px->loop), &d->qtimer, d->qhead->deadline_ms) < 0)
		LPW_ERR("queue", "%s: cannot arm the queue timer", d->cfg->id);
}

void px_queue_pump(struct pdev *d)
{
	int64_t now = lpw_loop_now(d->px->loop);
	while (d->qhead && d->qhead->deadline_ms <= now) {
		struct px_queued *q = pop(d);
		LPW_WARN("queue", "%s: a queued request waited too long; 5.04 to the server", d->cfg->id);
		px_event(d, "queue-timeout", "request waited more than %u s", d->px->cfg->upstream.queue_timeout_s);
		if (q->srv)
			px_answer_server(q->srv, q->srv_token, q->srv_token_len, COAP_RESPONSE_CODE(504), -1);
		forget(d, q);
	}
	if (d->qhead && reachable(d) && !px_request_in_flight(d)) {
		struct px_queued *q = pop(d);
		if (px_deliver_request(d, q->srv, q->srv_token, q->srv_token_len, q->req) < 0 && q->srv)
			px_answer_server(q->srv, q->srv_token, q->srv_token_len, COAP_RESPONSE_CODE_INTERNAL_ERROR, -1);
		forget(d, q);
	}
	arm_expiry(d);
}

static void on_expiry(lpw_timer_t *t, int64_t now)
{
	px_queue_pump(lpw_container_of(t, struct pdev, qtimer));
}

/* LwM2M 1.1.1 §6.6: a device with an SMS number whose request has waited sms_wakeup_delay gets the Registration
 * Update Trigger by SMS; again after each further delay while requests still wait (the SMS binding rate-limits). */
static void arm_wake(struct pdev *d)
{
	const lpw_config_sms_device_t *w = &d->cfg->sms;
	if (!w->number || !w->wakeup || !d->px->south->wake || lpw_timer_armed(&d->wtimer))
		return;
	if (lpw_loop_timer_in(d->px->loop, &d->wtimer, (int64_t)w->wakeup_delay_s * 1000) < 0)
		LPW_ERR("queue", "%s: cannot arm the wake-up timer", d->cfg->id);
}

static void on_wake(lpw_timer_t *t, int64_t now)
{
	struct pdev *d = lpw_container_of(t, struct pdev, wtimer);
	if (!d->qhead || reachable(d))
		return;
	int rc = d->px->south->wake(d->px->south->ctx, d->dev);
	if (rc == 0) {
		LPW_INFO("queue", "%s: woken by SMS (a request waited %u s)", d->cfg->id, d->cfg->sms.wakeup_delay_s);
		px_event(d, "sms-wakeup", "Registration Update Trigger sent by SMS");
	} else {
		LPW_WARN("queue", "%s: wake-up by SMS not sent: %s", d->cfg->id, strerror(-rc));
	}
	arm_wake(d);
}

void px_queue_request(struct pdev *d, struct px_server *srv, const coap_pdu_t *request)
{
	coap_bin_const_t tok = coap_pdu_get_token(request);
	if (tok.length > PX_TOKEN_MAX) {
		px_answer_server(srv, tok.s, PX_TOKEN_MAX, COAP_RESPONSE_CODE_BAD_REQUEST, -1);
		return;
	}
	if (d->qlen >= queue_bound(d)) {
		LPW_WARN_LIMITED("queue", "queue-full", d->cfg->id, lpw_loop_now(d->px->loop),
				 "%s: queue full (%zu requests); 5.03 to the server", d->cfg->id, d->qlen);
		px_event(d, "queue-full", "%zu requests already wait for the device", d->qlen);
		px_answer_server(srv, tok.s, tok.length, COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE, QUEUE_FULL_MAX_AGE_S);
		return;
	}
	struct px_queued *q = calloc(1, sizeof(*q));
	coap_pdu_t *copy = coap_pdu_init(COAP_MESSAGE_CON, coap_pdu_get_code(request), 0, LPW_COAP_UDP_MAX);
	lpw_pdu_copy_opts_t opts = {0};
	if (!q || !copy || lpw_pdu_copy(copy, request, &opts) < 0) {
		free(q);
		coap_delete_pdu(copy);
		px_answer_server(srv, tok.s, tok.length, COAP_RESPONSE_CODE_INTERNAL_ERROR, -1);
		return;
	}
	q->srv = srv;
	q->srv_token_len = tok.length;
	memcpy(q->srv_token, tok.s, tok.length);
	q->req = copy;
	q->deadline_ms = lpw_loop_now(d->px->loop) + (int64_t)d->px->cfg->upstream.queue_timeout_s * 1000;
	q->seq = ++d->qseq;
	push(d, q);
	if (d->qhead != q || !reachable(d) || px_request_in_flight(d)) {
		persist(d, q); /* only what really waits is written; logged once it is on disk */
		LPW_INFO("queue", "%s: server request queued (%zu waiting)", d->cfg->id, d->qlen);
		arm_wake(d);
	}
	px_queue_pump(d);
}

void lpw_proxy_reachable(lpw_proxy_t *px, lpw_device_t *dev, uint32_t window_ms)
{
	struct pdev *d = px_pdev_of(dev);
	if (!d)
		return;
	d->heard = true;
	int64_t until = lpw_loop_now(px->loop) + window_ms;
	if (until > d->awake_until)
		d->awake_until = until;
	px_queue_pump(d);
}

size_t lpw_proxy_queued(const lpw_proxy_t *px, const lpw_device_t *dev)
{
	const struct pdev *d = px_pdev_of(dev);
	return d ? d->qlen : 0;
}

struct load_ctx {
	struct pdev *d;
	int64_t now_wall_ms;
	int count;
};

/* Requests restored after a restart keep their deadline; the server that sent them is on a connection that no
 * longer exists, so they go to the device but their answers go nowhere (logged when they come). */
static int load_one(void *arg, const char *key, const void *val, size_t len)
{
	struct load_ctx *c = arg;
	struct pdev *d = c->d;
	const uint8_t *b = val;
	uint64_t seq = strtoull(key + 2, NULL, 10);
	if (len < 3 || b[0] != BLOB_VERSION || len < 3u + b[2] + 8u || b[2] > PX_TOKEN_MAX) {
		LPW_WARN("queue", "%s: stored request %s is not readable; dropped", d->cfg->id, key);
		return 0;
	}
	size_t n = 3;
	struct px_queued *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->srv_token_len = b[2];
	memcpy(q->srv_token, b + n, q->srv_token_len);
	n += q->srv_token_len;
	int64_t wall = 0;
	for (int i = 0; i < 8; i++)
		wall = (int64_t)(((uint64_t)wall << 8) | b[n++]);
	const char *why = NULL;
	q->req = lpw_coap_parse_udp(b + n, len - n, &why);
	if (!q->req) {
		LPW_WARN("queue", "%s: stored request %s does not parse (%s); dropped", d->cfg->id, key, why);
		free(q);
		return 0;
	}
	q->seq = seq;
	q->deadline_ms = lpw_loop_now(d->px->loop) + (wall - c->now_wall_ms);
	push(d, q);
	if (seq > d->qseq)
		d->qseq = seq;
	c->count++;
	return 0;
}

int px_queue_load(struct pdev *d)
{
	d->qtail = &d->qhead;
	lpw_timer_init(&d->qtimer, on_expiry);
	lpw_timer_init(&d->wtimer, on_wake);
	if (!d->px->store)
		return 0;
	struct load_ctx c = {.d = d, .now_wall_ms = lpw_clock_wall_s() * 1000};
	int rc = lpw_store_foreach(d->px->store, d->cfg->id, "q/", load_one, &c);
	if (c.count)
		LPW_NOTICE("queue", "%s: %d queued requests restored", d->cfg->id, c.count);
	arm_expiry(d);
	return rc < 0 ? rc : 0;
}

void px_queue_free(struct pdev *d)
{
	if (d->px)
		lpw_loop_timer_clear(d->px->loop, &d->qtimer);
	while (d->qhead) {
		struct px_queued *q = pop(d);
		coap_delete_pdu(q->req); /* stays in the store: a restart delivers it */
		free(q);
	}
}

void px_queue_refuse(struct pdev *d, struct px_server *srv)
{
	struct px_queued **pp = &d->qhead;
	while (*pp) {
		struct px_queued *q = *pp;
		if (srv && q->srv != srv) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		d->qlen--;
		d->px->stats->queue_depth--;
		if (q->srv)
			px_answer_server(q->srv, q->srv_token, q->srv_token_len, COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE,
			                 QUEUE_FULL_MAX_AGE_S);
		forget(d, q);
	}
	d->qtail = &d->qhead;
	while (*d->qtail)
		d->qtail = &(*d->qtail)->next;
	arm_expiry(d);
}

void px_queue_link_lost(struct px_server *srv)
{
	for (struct px_queued *q = srv->dev->qhead; q; q = q->next)
		if (q->srv == srv)
			q->srv = NULL;
}

/* Store keys of the registration at the link's server and of the wall-clock time the server last renewed it. */
static void reg_keys(const struct px_server *s, char *reg, char *at, size_t size)
{
	snprintf(reg, size, "reg/%s", lpw_uplink_server(s->link)->name);
	snprintf(at, size, "reg-at/%s", lpw_uplink_server(s->link)->name);
}

void px_reg_forget(struct px_server *s)
{
	lpw_store_t *st = s->dev->px->store;
	char key[96], at[96];
	if (!st)
		return;
	reg_keys(s, key, at, sizeof(key));
	lpw_store_delete(st, s->dev->cfg->id, key);
	lpw_store_delete(st, s->dev->cfg->id, at);
}

void px_reg_save(struct px_server *s, bool renewed)
{
	if (renewed)
		s->renewed_wall_s = lpw_clock_wall_s();
	lpw_store_t *st = s->dev->px->store;
	if (!st || s->dev->cfg->oscore)
		return;
	if (!lpw_reg_is_registered(s->reg)) {
		px_reg_forget(s);
		return;
	}
	uint8_t blob[8192];
	size_t n = 0;
	char key[96], at[96];
	reg_keys(s, key, at, sizeof(key));
	if (lpw_reg_serialise(s->reg, blob, sizeof(blob), &n) < 0 || lpw_store_put(st, s->dev->cfg->id, key, blob, n) < 0 ||
	    lpw_store_put_u64(st, s->dev->cfg->id, at, (uint64_t)s->renewed_wall_s) < 0)
		LPW_WARN("proxy", "%s: registration not persisted", s->dev->cfg->id);
}

bool px_reg_drop_expired(struct px_server *s)
{
	int64_t age = lpw_clock_wall_s() - s->renewed_wall_s;
	uint32_t lifetime = lpw_reg_lifetime(s->reg);
	if (!lpw_reg_is_registered(s->reg) || !lifetime || age < (int64_t)lifetime)
		return false;
	const char *srv = lpw_uplink_server(s->link)->name;
	LPW_NOTICE("proxy", "%s: registration at %s expired %lld s ago (lifetime %u s); not registered again",
	           s->dev->cfg->id, srv, (long long)(age - lifetime), lifetime);
	px_event(s->dev, "registration-expired", "at %s: last renewed %lld s ago, lifetime %u s", srv, (long long)age,
	         lifetime);
	lpw_reg_t *fresh = lpw_reg_new();
	if (fresh) {
		lpw_reg_free(s->reg);
		s->reg = fresh;
	}
	s->restored = false;
	px_reg_forget(s);
	px_publish_state(s);
	return true;
}

void px_reg_load(struct px_server *s)
{
	lpw_store_t *st = s->dev->px->store;
	uint8_t blob[8192];
	size_t n = 0;
	char key[96], at[96];
	uint64_t renewed = 0;
	if (!st)
		return;
	reg_keys(s, key, at, sizeof(key));
	int rc = lpw_store_get(st, s->dev->cfg->id, key, blob, sizeof(blob), &n);
	if (rc == -ENOENT)
		return;
	if (rc < 0 || lpw_reg_deserialise(s->reg, blob, n) < 0) {
		LPW_WARN("proxy", "%s: stored registration is not readable (%d); ignored", s->dev->cfg->id, rc);
		return;
	}
	/* a store written before renewal times were kept: the age is unknown, so the server decides */
	s->renewed_wall_s = lpw_store_get_u64(st, s->dev->cfg->id, at, &renewed) == 0 ? (int64_t)renewed
	                                                                               : lpw_clock_wall_s();
	if (px_reg_drop_expired(s))
		return;
	s->restored = lpw_reg_is_registered(s->reg);
	if (s->restored)
		LPW_NOTICE("proxy", "%s: registration at %s restored (%s on the server)", s->dev->cfg->id,
		           lpw_uplink_server(s->link)->name, lpw_reg_server_location(s->reg));
}
