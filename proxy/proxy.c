/* The device -> server direction of the proxy: parse, deduplicate, pick the server, re-frame for TCP, and
 * carry the server's answer back as a piggybacked ACK (or NON) with the device's message ID and token. */
#include "proxy/proxy_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/coap_codec.h"
#include "proxy/pdu_util.h"

struct pdev *px_pdev_of(const lpw_device_t *dev)
{
	return lpw_device_slot(dev, LPW_SLOT_PROXY);
}

void px_traits(const struct pdev *d, lpw_binding_traits_t *out)
{
	d->px->south->traits(d->px->south->ctx, d->dev, out);
	uint32_t cap = d->cfg->max_message_size; /* the device's own limit wins over its binding's */
	if (cap) {
		out->max_message_size = cap;
		if (!out->max_message_size_now || out->max_message_size_now > cap)
			out->max_message_size_now = cap;
	}
	if (!out->max_message_size_now)
		out->max_message_size_now = out->max_message_size ? out->max_message_size : LPW_COAP_UDP_MAX;
}

int px_send_bytes(struct pdev *d, int server, const uint8_t *data, size_t len)
{
	lpw_downlink_t dl = {.data = data, .len = len, .server = server, .queued = d->qlen};
	d->px->stats->msgs_down[d->cfg->binding]++;
	return d->px->south->send(d->px->south->ctx, d->dev, &dl);
}

void px_event(struct pdev *d, const char *type, const char *fmt, ...)
{
	char detail[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (d->px->hooks->event)
		d->px->hooks->event(d->px->hooks->arg, type, d->cfg->id, detail);
}

void px_publish_state(struct px_server *s)
{
	lpw_proxy_t *px = s->dev->px;
	if (!px->hooks->device_state)
		return;
	lpw_proxy_device_state_t st = {
		.dev = s->dev->dev,
		.device_id = s->dev->cfg->id,
		.server = lpw_uplink_server(s->link)->name,
		.registered = lpw_reg_is_registered(s->reg),
		.lifetime_s = lpw_reg_lifetime(s->reg),
		.upstream = lpw_link_state_name(lpw_uplink_state(s->link)),
		.reason = lpw_uplink_reason(s->link),
		.location = lpw_reg_is_registered(s->reg) ? lpw_reg_device_location(s->reg) : "",
	};
	px->hooks->device_state(px->hooks->arg, &st);
}

uint16_t px_device_mid(struct pdev *d)
{
	return d->next_mid++;
}

size_t px_device_token(struct pdev *d, uint8_t *out)
{
	uint32_t t = ++d->next_token;
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(t >> (8 * (3 - i)));
	return 4;
}

void px_device_seed(struct pdev *d)
{
	/* A counter from a random start (not random tokens): no repeats within a run, and across a restart a stale
	 * token matches a new one with odds of (tokens still live) / 2^32. 4 bytes keep LoRaWAN's DR0 frames small. */
	uint8_t r[6];
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		LPW_WARN("proxy", "%s: no entropy from the kernel yet; tokens start from the clock", d->cfg->id);
		int64_t now = lpw_clock_wall_s() ^ lpw_loop_now(d->px->loop);
		memcpy(r, &now, sizeof(r));
	}
	d->next_token = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
	d->next_mid = (uint16_t)(r[4] << 8 | r[5]);
}

int px_server_index(const struct px_server *s)
{
	return s->index < s->dev->nservers ? (int)s->index : LPW_SERVER_BOOTSTRAP;
}

int px_send_to_device(struct pdev *d, const coap_pdu_t *pdu)
{
	uint8_t buf[LPW_COAP_UDP_MAX];
	ssize_t n = lpw_coap_encode_udp(pdu, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return px_send_bytes(d, d->reply_server, buf, (size_t)n);
}

/* Sends a message to the device and, for a response to a CON/NON of the device, caches it for duplicates. */
/* server: whose answer it is (the binding may address servers, e.g. LoRaWAN FPorts). */
static void answer_device(struct pdev *d, const coap_pdu_t *answer, bool cache, uint16_t dev_mid, int server)
{
	uint8_t buf[LPW_COAP_UDP_MAX];
	ssize_t n = lpw_coap_encode_udp(answer, buf, sizeof(buf));
	if (n < 0) {
		LPW_WARN("proxy", "%s: answer does not encode (%zd)", d->cfg->id, n);
		return;
	}
	if (cache)
		lpw_dedup_answer(d->dedup, dev_mid, buf, (size_t)n);
	px_send_bytes(d, server, buf, (size_t)n);
}

/* An answer made by the gateway itself (RST, 4.04, 5.03 ...) to a device message. */
static void answer_locally(struct pdev *d, const coap_pdu_t *req, coap_pdu_type_t type, coap_pdu_code_t code)
{
	coap_bin_const_t tok = coap_pdu_get_token(req);
	bool con = coap_pdu_get_type(req) == COAP_MESSAGE_CON;
	coap_mid_t mid = type == COAP_MESSAGE_NON ? px_device_mid(d) : coap_pdu_get_mid(req);
	coap_pdu_t *a = coap_pdu_init(type, code, mid, 64 + tok.length);
	if (!a)
		return;
	if (code != COAP_EMPTY_CODE)
		coap_add_token(a, tok.length, tok.s);
	answer_device(d, a, con && type != COAP_MESSAGE_RST, coap_pdu_get_mid(req), d->reply_server);
	coap_delete_pdu(a);
}

/* RFC 7252 §5.2: a response to a CON is piggybacked on the ACK, a response to a NON is a NON. */
static coap_pdu_type_t reply_type(const coap_pdu_t *req)
{
	return coap_pdu_get_type(req) == COAP_MESSAGE_CON ? COAP_MESSAGE_ACK : COAP_MESSAGE_NON;
}

/* LwM2M 1.1.1 §6.2/§6.3, App. D.2: /bs goes to the bootstrap server; else Uri-Host names a server; else the default. */
static struct px_server *pick_server(struct pdev *d, const coap_pdu_t *req, lpw_reg_op_t kind)
{
	if (d->reply_server == LPW_SERVER_BOOTSTRAP) /* the binding's addressing decided (LoRaWAN FPort) */
		return d->cfg->bootstrap ? d->servers[d->nservers] : NULL;
	if (d->reply_server >= 0)
		return (unsigned)d->reply_server < d->nservers ? d->servers[d->reply_server] : NULL;
	if (kind == LPW_REG_OP_BOOTSTRAP_REQUEST)
		return d->cfg->bootstrap ? d->servers[d->nservers] : NULL;
	lpw_pdu_optval_t host;
	if (lpw_pdu_get_options(req, COAP_OPTION_URI_HOST, &host, 1) > 0) {
		for (unsigned i = 0; i < d->nservers; i++) {
			const lpw_config_server_t *s = d->cfg->servers[i];
			if ((strlen(s->name) == host.len && memcmp(s->name, host.value, host.len) == 0) ||
			    (strlen(s->host) == host.len && memcmp(s->host, host.value, host.len) == 0))
				return d->servers[i];
		}
	}
	return d->nservers ? d->servers[0] : NULL;
}

static void on_inflight_timeout(lpw_timer_t *t, int64_t now);

static struct px_inflight *new_inflight(struct pdev *d)
{
	for (size_t i = 0; i < PX_MAX_INFLIGHT; i++)
		if (!d->inflight[i].used) {
			lpw_timer_init(&d->inflight[i].timer, on_inflight_timeout);
			return &d->inflight[i];
		}
	return NULL;
}

static void end_inflight(struct px_inflight *f)
{
	if (f->srv)
		lpw_loop_timer_clear(f->srv->dev->px->loop, &f->timer);
	coap_delete_pdu(f->dev_pdu);
	memset(f, 0, sizeof(*f));
	lpw_timer_init(&f->timer, on_inflight_timeout);
}

static void make_up_token(lpw_proxy_t *px, struct px_inflight *f)
{
	uint64_t t = ++px->next_up_token;
	for (size_t i = 0; i < 8; i++)
		f->up_token[i] = (uint8_t)(t >> (8 * (7 - i)));
	f->up_token_len = 8;
}

/* RFC 7252 §4.8.2 (default parameters): a device gives up on a CON after MAX_TRANSMIT_WAIT (93 s); a NON
 * exchange lasts NON_LIFETIME (145 s). A request older than that is never forwarded (issue 10 item 7): the
 * server would act on it (e.g. a registration) for a device that no longer waits. */
#define PX_MAX_TRANSMIT_WAIT_MS 93000

static bool outlived(const struct pdev *d, const coap_pdu_t *pdu, int64_t at_ms)
{
	int64_t limit = coap_pdu_get_type(pdu) == COAP_MESSAGE_CON ? PX_MAX_TRANSMIT_WAIT_MS : LPW_DEDUP_NON_LIFETIME_MS;
	return lpw_loop_now(d->px->loop) - at_ms >= limit;
}

/* While no upstream session exists the device is answered at once (issue 10 item 7): 5.03 Service Unavailable
 * with Max-Age = seconds until the gateway's next attempt (RFC 7252 §5.9.3.4), so it retries after that. */
static void answer_unavailable(struct pdev *d, const coap_pdu_t *req, int64_t retry_in_ms)
{
	coap_bin_const_t tok = coap_pdu_get_token(req);
	bool con = coap_pdu_get_type(req) == COAP_MESSAGE_CON;
	coap_mid_t mid = con ? coap_pdu_get_mid(req) : px_device_mid(d);
	coap_pdu_t *a = coap_pdu_init(con ? COAP_MESSAGE_ACK : COAP_MESSAGE_NON, COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE,
	                              mid, 64 + tok.length);
	uint8_t age[4];
	unsigned secs = retry_in_ms > 0 ? (unsigned)((retry_in_ms + 999) / 1000) : 1;
	if (!a || !coap_add_token(a, tok.length, tok.s) ||
	    !coap_add_option(a, COAP_OPTION_MAXAGE, coap_encode_var_safe(age, sizeof(age), secs), age)) {
		coap_delete_pdu(a);
		return;
	}
	answer_device(d, a, con, coap_pdu_get_mid(req), d->reply_server);
	coap_delete_pdu(a);
}

/* How long until the link may be back: the scheduled retry, or reconnect_max for a link that gave up. -1: it is
 * connecting (or will at once), so a message may wait for it. */
static int64_t unavailable_for_ms(const struct px_server *s)
{
	lpw_link_state_t st = lpw_uplink_state(s->link);
	if (st == LPW_LINK_FAILED)
		return (int64_t)s->dev->px->cfg->upstream.reconnect_max_s * 1000;
	return st == LPW_LINK_DOWN ? lpw_uplink_retry_in_ms(s->link) : -1;
}

/* Everything held for the link, and every device request in flight on it, answered 5.03 (the link is down
 * and in back-off, or failed). */
static void answer_all_unavailable(struct px_server *s, int64_t retry_in_ms)
{
	struct pdev *d = s->dev;
	for (size_t i = 0; i < PX_MAX_INFLIGHT; i++) {
		struct px_inflight *f = &d->inflight[i];
		if (f->used && f->srv == s && f->dev_pdu)
			answer_unavailable(d, f->dev_pdu, retry_in_ms);
		if (f->used && f->srv == s)
			end_inflight(f);
	}
	for (size_t k = 0; k < s->nheld; k++) {
		answer_unavailable(d, s->held[k], retry_in_ms);
		coap_delete_pdu(s->held[k]);
	}
	s->nheld = 0;
}

static void hold_at(struct px_server *s, coap_pdu_t *pdu, int64_t at_ms)
{
	if (s->nheld == PX_MAX_HELD) {
		LPW_WARN("proxy", "%s: %u messages already wait for %s; answering 5.03", s->dev->cfg->id, PX_MAX_HELD,
		         lpw_uplink_server(s->link)->name);
		/* Answered, not just dropped: the duplicate filter already took this MID, so the device's
		 * retransmissions would otherwise be swallowed until it gives up (unit_proxy test_held_cap). */
		answer_locally(s->dev, pdu, reply_type(pdu), COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE);
		coap_delete_pdu(pdu);
		s->dev->px->stats->errors++;
		return;
	}
	s->held_at[s->nheld] = at_ms;
	s->held[s->nheld++] = pdu;
}


/* Copies a device request into the upstream PDU; Update and De-register go to the server's current location. */
static int build_request(const lpw_reg_t *reg, lpw_reg_op_t kind, coap_pdu_t *up, const coap_pdu_t *dev_pdu)
{
	if (kind == LPW_REG_OP_UPDATE || kind == LPW_REG_OP_DEREGISTER)
		return lpw_reg_rewrite(reg, dev_pdu, up);
	lpw_pdu_copy_opts_t opts = {0};
	return lpw_pdu_copy(up, dev_pdu, &opts);
}

/* LwM2M 1.1.1 §6.8.4, table 6.8.4-1: a LoRaWAN device may omit ep (its DevEUI), lt (2592000), lwm2m (1.1), the
 * binding (queue mode by nature) and the object list; the upstream server speaks TCP and expects them all, so the
 * gateway fills them in where the binding's traits ask for it. Never for OSCORE devices (their query is
 * encrypted). 0 when the Register was rebuilt. */
static int fill_registration_defaults(struct px_server *s, const char *objects)
{
	const lpw_config_device_t *dev = s->dev->cfg;
	/* b: the server reaches the device through the gateway's TCP session ("T"), in queue mode (Q) */
	int added = lpw_reg_apply_lorawan_defaults(s->reg, dev->endpoint ? dev->endpoint : dev->identity, "T");
	if (added < 0) {
		LPW_WARN("proxy", "%s: registration defaults not applied (%s)", dev->id, strerror(-added));
		return added;
	}
	if (objects && lpw_reg_default_objects(s->reg, objects) > 0)
		added |= 0x100;
	if (added)
		LPW_INFO("proxy", "%s: Register completed with the binding's defaults (mask 0x%x)", dev->id, (unsigned)added);
	return 0;
}

/* RFC 7252 §4.8.2, default transmission parameters: a CON exchange lasts EXCHANGE_LIFETIME (247 s), a NON one
 * NON_LIFETIME (145 s). By then the device has given up, so a request the server never answers frees its slot
 * (issue 16 item 2). Our own re-Register is a CON upstream. */
static void arm_inflight(struct pdev *d, struct px_inflight *f, bool con)
{
	int64_t ms = con ? LPW_DEDUP_EXCHANGE_LIFETIME_MS : LPW_DEDUP_NON_LIFETIME_MS;
	if (lpw_loop_timer_in(d->px->loop, &f->timer, ms) < 0)
		LPW_ERR("proxy", "%s: cannot arm the request's lifetime", d->cfg->id);
}

/* RFC 7967 §2.1: No-Response (258) with the bits of 2.xx (2), 4.xx (8) and 5.xx (16) all set: no answer is
 * wanted, so nothing is held for it. An empty or partial value still wants some answers. */
static bool wants_no_answer(const coap_pdu_t *pdu)
{
	lpw_pdu_optval_t v;
	if (lpw_pdu_get_options(pdu, 258, &v, 1) <= 0)
		return false;
	unsigned n = 0;
	for (size_t i = 0; i < v.len && i < 4; i++)
		n = n << 8 | v.value[i];
	return (n & 0x1a) == 0x1a;
}

/* The request went upstream: hold its slot until its lifetime, or not at all if it wants no answer. */
static void after_forward(struct px_server *s, struct px_inflight *f)
{
	struct pdev *d = s->dev;
	bool con = coap_pdu_get_type(f->dev_pdu) == COAP_MESSAGE_CON;
	if (!wants_no_answer(f->dev_pdu)) {
		arm_inflight(d, f, con);
		return;
	}
	if (con) { /* RFC 7967 §2.1: the empty ACK the server would have sent for a CON */
		coap_pdu_t *ack = coap_pdu_init(COAP_MESSAGE_ACK, COAP_EMPTY_CODE, coap_pdu_get_mid(f->dev_pdu), 8);
		if (ack)
			answer_device(d, ack, true, coap_pdu_get_mid(f->dev_pdu), px_server_index(s));
		coap_delete_pdu(ack);
	}
	end_inflight(f);
}

/* Builds the TCP request for a device message received at at_ms and sends it. Takes ownership of dev_pdu. */
static void forward_at(struct px_server *s, coap_pdu_t *dev_pdu, int64_t at_ms)
{
	struct pdev *d = s->dev;
	if (outlived(d, dev_pdu, at_ms)) {
		LPW_WARN("proxy", "%s: a request waited past its lifetime for %s: dropped, never forwarded", d->cfg->id,
		         lpw_uplink_server(s->link)->name);
		d->px->stats->errors++;
		coap_delete_pdu(dev_pdu);
		return;
	}
	if (lpw_uplink_state(s->link) != LPW_LINK_UP || s->reregistering) {
		if (lpw_uplink_state(s->link) != LPW_LINK_UP && lpw_uplink_connect(s->link) < 0)
			LPW_WARN("proxy", "%s: cannot start a session to %s", d->cfg->id, lpw_uplink_server(s->link)->name);
		int64_t away = s->reregistering ? -1 : unavailable_for_ms(s);
		if (away >= 0) { /* an outage: answer now instead of holding (issue 10 item 7) */
			answer_unavailable(d, dev_pdu, away);
			coap_delete_pdu(dev_pdu);
			return;
		}
		hold_at(s, dev_pdu, at_ms);
		return;
	}
	if (d->cfg->oscore && s->oscore_reregister) {
		/* LwM2M 1.1.1 §6.4.3: the new connection needs a new registration, and only the device can make an
		 * OSCORE-protected one; 4.04 to its next request makes it register again. */
		s->oscore_reregister = false;
		answer_locally(d, dev_pdu, reply_type(dev_pdu), COAP_RESPONSE_CODE_NOT_FOUND);
		coap_delete_pdu(dev_pdu);
		return;
	}
	/* a request that wants no answer takes no slot: it only needs one for the length of this call */
	struct px_inflight scratch = {0};
	lpw_timer_init(&scratch.timer, on_inflight_timeout);
	struct px_inflight *f = wants_no_answer(dev_pdu) ? &scratch : new_inflight(d);
	if (!f) {
		LPW_WARN("proxy", "%s: %d requests already in flight; answering 5.03", d->cfg->id, PX_MAX_INFLIGHT);
		answer_locally(d, dev_pdu, reply_type(dev_pdu), COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE);
		coap_delete_pdu(dev_pdu);
		return;
	}
	lpw_reg_op_t kind = d->cfg->oscore ? LPW_REG_OP_OTHER : lpw_reg_classify(s->reg, dev_pdu);
	bool rebuilt = false;
	if (kind == LPW_REG_OP_REGISTER) {
		if (lpw_reg_remember_register(s->reg, dev_pdu) < 0)
			LPW_WARN("proxy", "%s: Register not remembered: the gateway cannot re-register it", d->cfg->id);
		else {
			lpw_binding_traits_t t;
			px_traits(d, &t);
			if (t.registration_defaults)
				rebuilt = fill_registration_defaults(s, t.default_objects) == 0;
		}
	}
	coap_pdu_t *up = coap_pdu_init(COAP_MESSAGE_CON, coap_pdu_get_code(dev_pdu), 0, LPW_UPSTREAM_PDU_MAX);
	make_up_token(d->px, f);
	if (!up || !coap_add_token(up, f->up_token_len, f->up_token) ||
	    (rebuilt ? lpw_reg_build_register(s->reg, up) : build_request(s->reg, kind, up, dev_pdu)) < 0) {
		LPW_WARN("proxy", "%s: request does not fit upstream; answering 5.00", d->cfg->id);
		coap_delete_pdu(up);
		answer_locally(d, dev_pdu, reply_type(dev_pdu), COAP_RESPONSE_CODE_INTERNAL_ERROR);
		coap_delete_pdu(dev_pdu);
		memset(f, 0, sizeof(*f));
		return;
	}
	f->used = true;
	f->srv = s;
	f->dev_pdu = dev_pdu;
	f->kind = kind;
	f->at_ms = at_ms;
	if (lpw_uplink_send(s->link, up) < 0) {
		/* the link died under us: keep the message for the reconnect */
		f->dev_pdu = NULL;
		end_inflight(f);
		hold_at(s, dev_pdu, at_ms);
		return;
	}
	after_forward(s, f);
}

static void forward_to_server(struct px_server *s, coap_pdu_t *dev_pdu)
{
	forward_at(s, dev_pdu, lpw_loop_now(s->dev->px->loop));
}

static void flush_held(struct px_server *s)
{
	size_t n = s->nheld;
	coap_pdu_t *held[PX_MAX_HELD];
	int64_t at[PX_MAX_HELD];
	memcpy(held, s->held, n * sizeof(*held));
	memcpy(at, s->held_at, n * sizeof(*at));
	s->nheld = 0;
	for (size_t i = 0; i < n; i++)
		forward_at(s, held[i], at[i]);
}

/* The gateway re-sends the device's last Register itself after a reconnect (LwM2M 1.1.1 §6.4.3). */
static void reregister(struct px_server *s)
{
	struct pdev *d = s->dev;
	struct px_inflight *f = new_inflight(d);
	coap_pdu_t *up = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, 0, LPW_UPSTREAM_PDU_MAX);
	if (!f || !up) {
		coap_delete_pdu(up);
		return;
	}
	make_up_token(d->px, f);
	int rc = coap_add_token(up, f->up_token_len, f->up_token) ? lpw_reg_build_register(s->reg, up) : -ENOSPC;
	if (rc < 0) {
		LPW_WARN("proxy", "%s: cannot rebuild the Register (%s): the device must register again itself",
		         d->cfg->id, strerror(-rc));
		coap_delete_pdu(up);
		memset(f, 0, sizeof(*f));
		return;
	}
	f->used = true;
	f->gateway_own = true;
	f->srv = s;
	f->kind = LPW_REG_OP_REGISTER;
	s->reregistering = true;
	LPW_NOTICE("proxy", "%s: upstream %s reconnected; registering the device again", d->cfg->id,
	           lpw_uplink_server(s->link)->name);
	if (lpw_uplink_send(s->link, up) < 0) {
		s->reregistering = false;
		memset(f, 0, sizeof(*f));
		return;
	}
	arm_inflight(d, f, true);
}

/* A request's lifetime passed without an answer (arm_inflight): free its slot. */
static void on_inflight_timeout(lpw_timer_t *t, int64_t now)
{
	struct px_inflight *f = lpw_container_of(t, struct px_inflight, timer);
	struct px_server *s = f->srv;
	struct pdev *d = s->dev;
	const char *server = lpw_uplink_server(s->link)->name;
	d->px->stats->errors++;
	if (f->gateway_own) {
		LPW_WARN("proxy", "%s: %s did not answer the gateway's Register within %d s", d->cfg->id, server,
		         LPW_DEDUP_EXCHANGE_LIFETIME_MS / 1000);
		px_event(d, "reregister-failed", "%s did not answer within %d s", server, LPW_DEDUP_EXCHANGE_LIFETIME_MS / 1000);
		s->reregistering = false;
		end_inflight(f);
		flush_held(s);
		return;
	}
	bool con = coap_pdu_get_type(f->dev_pdu) == COAP_MESSAGE_CON;
	LPW_WARN("proxy", "%s: no answer from %s within the %s lifetime (%d s): request dropped", d->cfg->id, server,
	         con ? "exchange" : "NON", (con ? LPW_DEDUP_EXCHANGE_LIFETIME_MS : LPW_DEDUP_NON_LIFETIME_MS) / 1000);
	end_inflight(f);
}

/* Conditions of a link that are not state changes (e.g. handshakes failing over and over): events. */
static void on_link_event(void *owner, lpw_uplink_t *link, const char *type, const char *detail)
{
	struct px_server *s = owner;
	px_event(s->dev, type, "%s: %s", lpw_uplink_server(link)->name, detail);
}

/* Moves the link's share of the gauges (stats.h: current values) to g: +1 up, -1 lost, 0 neither. */
static void set_gauge(struct px_server *s, int g)
{
	lpw_stats_t *st = s->dev->px->stats;
	if (s->gauge > 0)
		st->upstream_up--;
	else if (s->gauge < 0)
		st->upstream_down--;
	if (g > 0)
		st->upstream_up++;
	else if (g < 0)
		st->upstream_down++;
	s->gauge = g;
}

static void on_link_state(void *owner, lpw_uplink_t *link, lpw_link_state_t state, const char *reason)
{
	struct px_server *s = owner;
	struct pdev *d = s->dev;
	lpw_stats_t *st = d->px->stats;
	if (state == LPW_LINK_UP) {
		set_gauge(s, 1);
		if (lpw_uplink_reconnects(link))
			st->upstream_reconnects++;
		/* An OSCORE device's Register and its 2.01 are encrypted, so s->reg never knows it registered:
		 * assume every reconnect lost a registration (unit_proxy test_oscore). */
		bool new_connection = lpw_uplink_reconnects(link) || s->restored;
		s->restored = false;
		if (d->cfg->oscore && lpw_uplink_reconnects(link))
			s->oscore_reregister = true;
		else if (lpw_reg_is_registered(s->reg) && new_connection && !px_reg_drop_expired(s))
			reregister(s); /* after a reconnect, or a gateway restart that restored the registration */
		if (!s->reregistering)
			flush_held(s);
	} else if (state == LPW_LINK_DOWN || state == LPW_LINK_FAILED) {
		set_gauge(s, -1); /* CONNECTING leaves a lost link counted as lost until it is UP again */
		s->reregistering = false;
		int64_t away = unavailable_for_ms(s);
		if (away >= 0) {
			/* an outage (back-off) or a failed link: the device hears it now, nothing waits for it */
			answer_all_unavailable(s, away);
		} else {
			/* the link comes back at once: device requests in flight go out again, nothing is lost */
			for (size_t i = 0; i < PX_MAX_INFLIGHT; i++) {
				struct px_inflight *f = &d->inflight[i];
				if (!f->used || f->srv != s)
					continue;
				if (f->dev_pdu) {
					hold_at(s, f->dev_pdu, f->at_ms);
					f->dev_pdu = NULL;
				}
				end_inflight(f);
			}
		}
		px_downlinks_link_lost(s);
		px_queue_link_lost(s);
		if (state == LPW_LINK_FAILED)
			px_event(d, "upstream-failed", "%s: %s", lpw_uplink_server(link)->name, reason);
	}
	px_publish_state(s);
}

static struct px_inflight *find_inflight(struct pdev *d, struct px_server *s, coap_bin_const_t tok)
{
	for (size_t i = 0; i < PX_MAX_INFLIGHT; i++) {
		struct px_inflight *f = &d->inflight[i];
		if (f->used && f->srv == s && f->up_token_len == tok.length && memcmp(f->up_token, tok.s, tok.length) == 0)
			return f;
	}
	return NULL;
}

static void on_link_response(void *owner, lpw_uplink_t *link, const coap_pdu_t *resp)
{
	struct px_server *s = owner;
	struct pdev *d = s->dev;
	struct px_inflight *f = find_inflight(d, s, coap_pdu_get_token(resp));
	if (!f) {
		LPW_DEBUG("proxy", "%s: response with an unknown token from %s", d->cfg->id, lpw_uplink_server(link)->name);
		return;
	}
	if (f->gateway_own) {
		bool ok = COAP_RESPONSE_CLASS(coap_pdu_get_code(resp)) == 2 &&
		          lpw_reg_on_response(s->reg, LPW_REG_OP_REGISTER, NULL, resp, LPW_REG_BY_GATEWAY) == 0;
		if (!ok)
			px_event(d, "reregister-failed", "%s answered %d.%02d", lpw_uplink_server(link)->name,
			         coap_pdu_get_code(resp) >> 5, coap_pdu_get_code(resp) & 31);
		s->reregistering = false;
		end_inflight(f);
		px_reg_save(s, ok);
		px_publish_state(s);
		flush_held(s);
		return;
	}
	const coap_pdu_t *req = f->dev_pdu;
	bool con = coap_pdu_get_type(req) == COAP_MESSAGE_CON;
	coap_bin_const_t dtok = coap_pdu_get_token(req);
	coap_pdu_t *a = coap_pdu_init(con ? COAP_MESSAGE_ACK : COAP_MESSAGE_NON, coap_pdu_get_code(resp),
	                              con ? coap_pdu_get_mid(req) : px_device_mid(d), LPW_UPSTREAM_PDU_MAX);
	lpw_pdu_copy_opts_t opts = {0};
	if (a && coap_add_token(a, dtok.length, dtok.s) && lpw_pdu_copy(a, resp, &opts) == 0)
		answer_device(d, a, true, coap_pdu_get_mid(req), px_server_index(s));
	else
		LPW_WARN("proxy", "%s: server's answer cannot be re-framed", d->cfg->id);
	coap_delete_pdu(a);
	if (f->kind != LPW_REG_OP_OTHER) {
		bool ok = lpw_reg_on_response(s->reg, f->kind, req, resp, LPW_REG_BY_DEVICE) == 0;
		if (!ok)
			LPW_WARN("proxy", "%s: registration answer not understood", d->cfg->id);
		px_reg_save(s, ok && COAP_RESPONSE_CLASS(coap_pdu_get_code(resp)) == 2);
		px_publish_state(s);
	}
	end_inflight(f);
}

/* RFC 7252 §4.2: a CON that cannot be parsed is rejected with RST; anything else malformed is dropped. */
static void reject_malformed(struct pdev *d, const uint8_t *data, size_t len, const char *reason)
{
	d->px->stats->dropped_malformed++;
	LPW_WARN_LIMITED("proxy", "malformed", d->cfg->id, lpw_loop_now(d->px->loop),
			 "%s: malformed CoAP message (%s), %zu bytes", d->cfg->id, reason, len);
	lpw_coap_header_t h;
	if (lpw_coap_peek(data, len, &h) != -EBADMSG && h.type == COAP_MESSAGE_CON) {
		coap_pdu_t *rst = coap_pdu_init(COAP_MESSAGE_RST, COAP_EMPTY_CODE, h.mid, 8);
		if (rst)
			px_send_to_device(d, rst);
		coap_delete_pdu(rst);
	}
}

static void device_request(struct pdev *d, coap_pdu_t *pdu)
{
	/* Only the Uri-Path tells a Bootstrap-Request; classify with a real state (a NULL one always says
	 * OTHER, which sent /bs to the LwM2M server: unit_proxy test_routing). servers[0] is the first server,
	 * or the bootstrap server when there is none; its reg is NULL only for a device without any server. */
	lpw_reg_op_t kind = d->cfg->oscore ? LPW_REG_OP_OTHER : lpw_reg_classify(d->servers[0] ? d->servers[0]->reg : NULL, pdu);
	struct px_server *s = pick_server(d, pdu, kind);
	if (!s) {
		LPW_WARN("proxy", "%s: no server for this request (no bootstrap server configured?)", d->cfg->id);
		answer_locally(d, pdu, reply_type(pdu), COAP_RESPONSE_CODE_NOT_FOUND);
		coap_delete_pdu(pdu);
		return;
	}
	forward_to_server(s, pdu);
}

int lpw_proxy_uplink(lpw_proxy_t *px, lpw_device_t *dev, int server, const uint8_t *data, size_t len)
{
	struct pdev *d = px_pdev_of(dev);
	if (!d)
		return -EINVAL;
	d->reply_server = server; /* local answers to this message go back the way it came */
	const char *reason = NULL;
	coap_pdu_t *pdu = lpw_coap_parse_udp(data, len, &reason);
	if (!pdu) {
		reject_malformed(d, data, len, reason ? reason : "unparseable");
		return -EBADMSG;
	}
	px->stats->msgs_up[d->cfg->binding]++;
	if (lpw_log_enabled(LOG_DEBUG)) {
		char desc[160];
		LPW_DEBUG("proxy", "%s -> %s", d->cfg->id, lpw_coap_describe(pdu, desc, sizeof(desc)));
	}
	coap_pdu_type_t type = coap_pdu_get_type(pdu);
	coap_pdu_code_t code = coap_pdu_get_code(pdu);

	if (type == COAP_MESSAGE_ACK || type == COAP_MESSAGE_RST) {
		px_on_device_ack(d, pdu);
		coap_delete_pdu(pdu);
		return 0;
	}
	if (code == COAP_EMPTY_CODE) {
		if (type == COAP_MESSAGE_CON) /* CoAP ping (RFC 7252 §4.3): answered with RST, never forwarded */
			answer_locally(d, pdu, COAP_MESSAGE_RST, COAP_EMPTY_CODE);
		coap_delete_pdu(pdu);
		return 0;
	}
	const uint8_t *cached = NULL;
	size_t cached_len = 0;
	switch (lpw_dedup_check(d->dedup, coap_pdu_get_mid(pdu), type == COAP_MESSAGE_CON, lpw_loop_now(px->loop),
	                        &cached, &cached_len)) {
	case LPW_DEDUP_ANSWERED:
		px->stats->duplicates++;
		px_send_bytes(d, server, cached, cached_len);
		coap_delete_pdu(pdu);
		return 0;
	case LPW_DEDUP_PENDING:
		px->stats->duplicates++;
		coap_delete_pdu(pdu);
		return 0;
	default:
		break;
	}
	if (COAP_RESPONSE_CLASS(code) >= 2) {
		bool matched = px_on_device_response(d, pdu);
		if (type == COAP_MESSAGE_CON)
			answer_locally(d, pdu, matched ? COAP_MESSAGE_ACK : COAP_MESSAGE_RST, COAP_EMPTY_CODE);
		coap_delete_pdu(pdu);
		return 0;
	}
	device_request(d, pdu);
	return 0;
}


/* The CSM Max-Message-Size for a device whose path carries `size` bytes: the server blocks its own transfers to
 * fit (RFC 8323 §5.3.1). TCP framing is up to 4 bytes shorter than the datagram the device gets, hence the margin.
 * libcoap 4.3.1 always adds the Block-Wise-Transfer option to its CSM (coap_session_send_csm), and RFC 8323 §6
 * lets a peer use BERT only when Max-Message-Size is above 1152 as well: capping there keeps BERT, which no
 * datagram device understands, from ever being used. */
uint32_t px_advertised_size(uint32_t size)
{
	uint32_t adv = size > 64 ? size - 4 : (size ? size : 1152);
	return adv > 1152 ? 1152 : adv;
}

struct px_server *px_server_open(struct pdev *d, unsigned index, const lpw_config_server_t *srv)
{
	struct px_server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->dev = d;
	s->index = index;
	s->link = lpw_uplink_new(d->px->upstream, d->cfg, srv, d->csm_size, s);
	s->reg = lpw_reg_new();
	if (!s->link || !s->reg) {
		lpw_uplink_free(s->link);
		lpw_reg_free(s->reg);
		free(s);
		return NULL;
	}
	px_reg_load(s);
	return s;
}

void px_server_close(struct px_server *s)
{
	if (!s)
		return;
	struct pdev *d = s->dev;
	for (size_t i = 0; i < PX_MAX_INFLIGHT; i++)
		if (d->inflight[i].used && d->inflight[i].srv == s)
			end_inflight(&d->inflight[i]);
	px_downlinks_link_lost(s);
	px_queue_link_lost(s);
	for (size_t k = 0; k < s->nheld; k++)
		coap_delete_pdu(s->held[k]);
	set_gauge(s, 0);
	lpw_uplink_free(s->link);
	lpw_reg_free(s->reg);
	free(s);
}

static void north_uplink(void *ctx, lpw_device_t *dev, int server, const uint8_t *data, size_t len)
{
	(void)lpw_proxy_uplink(ctx, dev, server, data, len); /* every outcome is handled and counted inside */
}

static void north_reachable(void *ctx, lpw_device_t *dev, uint32_t window_ms)
{
	lpw_proxy_reachable(ctx, dev, window_ms);
}

static void north_outcome(void *ctx, lpw_device_t *dev, lpw_delivery_t outcome)
{
	lpw_proxy_outcome(ctx, dev, outcome);
}

lpw_proxy_t *lpw_proxy_new(lpw_loop_t *loop, const lpw_config_t *cfg, lpw_stats_t *stats, const lpw_proxy_hooks_t *hooks,
                           const lpw_southbound_t *south, lpw_store_t *store)
{
	lpw_proxy_t *px = calloc(1, sizeof(*px));
	if (!px)
		return NULL;
	px->loop = loop;
	px->cfg = cfg;
	px->stats = stats;
	px->hooks = hooks;
	px->south = south;
	px->store = store;
	px->north = (lpw_northbound_t){north_uplink, north_reachable, north_outcome, px};
	px->upstream_hooks = (lpw_upstream_hooks_t){on_link_state, on_link_response, px_on_server_request, on_link_event};
	px->upstream = lpw_upstream_new(loop, &cfg->upstream, &px->upstream_hooks);
	if (!px->upstream) {
		LPW_ERR("proxy", "cannot set up the upstream side (out of memory or no libcoap context)");
		free(px);
		return NULL;
	}
	return px;
}

void lpw_proxy_free(lpw_proxy_t *px)
{
	if (!px)
		return;
	while (px->devs)
		lpw_proxy_device_remove(px, px->devs->dev, false);
	lpw_upstream_free(px->upstream);
	free(px);
}

const lpw_northbound_t *lpw_proxy_northbound(lpw_proxy_t *px)
{
	return &px->north;
}
