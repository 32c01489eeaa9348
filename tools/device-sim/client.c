/* device-sim client engine: CoAP messaging (RFC 7252 §4) and LwM2M registration over a datagram link. */
#include "tools/device-sim/client_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proxy/coap_codec.h"
#include "tools/common/xorshift.h"

void lpw_devsim_config_defaults(lpw_devsim_config_t *cfg)
{
	*cfg = (lpw_devsim_config_t){
		.binding = "U",
		.server_uri = "coap://127.0.0.1:5683",
		.lifetime_s = 300,
		.retransmit = true,
		.ack_timeout_ms = 2000, /* RFC 7252 §4.8 defaults */
		.ack_random_factor = 1.5,
		.max_retransmit = 4,
		.notify_interval_s = 2,
		.notify_type = LPW_DEVSIM_NOTIFY_CON,
		.seed = 1,
	};
}

static uint32_t next_rand(lpw_devsim_client_t *c)
{
	return lpw_xorshift32(&c->rand_state); /* deterministic per seed, good enough for IDs and jitter */
}

uint16_t lpw_devsim_new_mid(lpw_devsim_client_t *c)
{
	return c->next_mid++;
}

static void new_token(lpw_devsim_client_t *c, uint8_t tok[4])
{
	uint32_t r = next_rand(c);
	memcpy(tok, &r, 4);
}

json_t *lpw_devsim_event_new(lpw_devsim_client_t *c, const char *event)
{
	return json_pack("{s:s,s:s}", "event", event, "ep", c->endpoint);
}

void lpw_devsim_emit(lpw_devsim_client_t *c, json_t *ev)
{
	if (!ev)
		return;
	char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s && c->cfg.on_event)
		c->cfg.on_event(c->cfg.event_arg, s);
	free(s);
	json_decref(ev);
}

void lpw_devsim_emit_error(lpw_devsim_client_t *c, const char *detail)
{
	json_t *ev = lpw_devsim_event_new(c, "error");
	json_object_set_new(ev, "detail", json_string(detail));
	lpw_devsim_emit(c, ev);
}

const char *lpw_devsim_code_str(coap_pdu_code_t code, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u.%02u", ((unsigned int)code >> 5) & 7, (unsigned int)code & 0x1f);
	return buf;
}

int lpw_devsim_send_pdu(lpw_devsim_client_t *c, const coap_pdu_t *pdu, uint8_t *out, size_t *out_len)
{
	uint8_t buf[PDU_MAX];
	size_t cap = c->link.mtu && c->link.mtu < sizeof(buf) ? c->link.mtu : sizeof(buf);
	coap_pdu_t *prot = NULL;
	if (c->cfg.oscore && coap_pdu_get_code(pdu) != COAP_EMPTY_CODE) {
		int rc = lpw_devsim_oscore_protect(c, pdu, &prot);
		if (rc < 0)
			return rc;
		pdu = prot;
	}
	ssize_t n = lpw_coap_encode_udp(pdu, buf, cap);
	if (n < 0) {
		coap_delete_pdu(prot);
		return (int)n;
	}
	if (prot) {
		size_t plen = 0;
		const uint8_t *pdata = NULL;
		coap_get_data(prot, &plen, &pdata);
		/* test aid: the last byte is the end of the AEAD tag, so the server must fail verification */
		if (c->osc_corrupt_next && ((unsigned int)coap_pdu_get_code(prot) >> 5) == 0 && plen) {
			c->osc_corrupt_next = false;
			buf[n - 1] ^= 0x01;
		}
		lpw_devsim_oscore_wire(c, "out", prot, buf + n - plen, plen);
		coap_delete_pdu(prot);
	}
	if (lpw_log_enabled(LOG_DEBUG)) {
		char line[160];
		LPW_DEBUG("devsim", "%s sends %s", c->endpoint, lpw_coap_describe(pdu, line, sizeof(line)));
	}
	if (out) {
		memcpy(out, buf, (size_t)n);
		*out_len = (size_t)n;
	}
	return c->link.send(c->link.ctx, buf, (size_t)n);
}

/* MAX_TRANSMIT_WAIT (RFC 7252 §4.8.2): how long a CON sent once may still see its answer. */
static int64_t max_transmit_wait(const lpw_devsim_client_t *c)
{
	return (int64_t)((double)c->cfg.ack_timeout_ms * (double)((2u << c->cfg.max_retransmit) - 1) *
	                 c->cfg.ack_random_factor);
}

static void arm(lpw_devsim_client_t *c, lpw_timer_t *t, int64_t delay_ms)
{
	if (lpw_loop_timer_in(c->loop, t, delay_ms) < 0)
		LPW_ERR("devsim", "%s: cannot arm timer", c->endpoint);
}

static void xfer_failed(lpw_devsim_client_t *c, struct xfer *x)
{
	static const char *const what[] = {"", "register", "update", "deregister", "send", "notification"};
	char detail[64];
	snprintf(detail, sizeof(detail), "%s timed out", what[x->kind]);
	if (x->kind == X_NOTIFY) {
		int obs = x->obs;
		lpw_devsim_xfer_finish(c, x);
		/* RFC 7641 §4.5: an unacknowledged notification ends the observation */
		lpw_devsim_obs_cancel(c, obs, "timeout");
		return;
	}
	lpw_devsim_xfer_finish(c, x);
	lpw_devsim_emit_error(c, detail);
}

static void xfer_timer(lpw_timer_t *t, int64_t now_ms)
{
	struct xfer *x = lpw_container_of(t, struct xfer, timer);
	lpw_devsim_client_t *c = x->c;

	if (!x->acked && c->cfg.retransmit && x->attempts < c->cfg.max_retransmit) {
		x->attempts++;
		x->timeout_ms *= 2; /* RFC 7252 §4.2: binary exponential back-off */
		if (c->link.send(c->link.ctx, x->bytes, x->len) < 0)
			LPW_WARN("devsim", "%s: retransmission not sent", c->endpoint);
		arm(c, &x->timer, x->timeout_ms);
		return;
	}
	xfer_failed(c, x);
}

int lpw_devsim_xfer_start(lpw_devsim_client_t *c, enum xfer_kind kind, const coap_pdu_t *pdu, int obs)
{
	struct xfer *x = NULL;
	for (size_t i = 0; i < MAX_XFER && !x; i++)
		if (c->xfer[i].kind == X_NONE)
			x = &c->xfer[i];
	if (!x)
		return -EBUSY;
	uint8_t buf[PDU_MAX];
	size_t len;
	int rc = lpw_devsim_send_pdu(c, pdu, buf, &len);
	if (rc < 0)
		return rc;
	coap_bin_const_t tok = coap_pdu_get_token(pdu);
	*x = (struct xfer){.kind = kind, .c = c, .mid = (uint16_t)coap_pdu_get_mid(pdu), .tkl = tok.length, .obs = obs,
	                   .osc = c->osc_last_req};
	memcpy(x->tok, tok.s, tok.length);
	x->bytes = malloc(len);
	if (!x->bytes) {
		x->kind = X_NONE;
		return -ENOMEM;
	}
	memcpy(x->bytes, buf, len);
	x->len = len;
	lpw_timer_init(&x->timer, xfer_timer);
	/* RFC 7252 §4.8: initial timeout uniformly in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR] */
	double r = (double)(next_rand(c) % 10000) / 10000.0;
	x->timeout_ms = (int64_t)((double)c->cfg.ack_timeout_ms * (1.0 + r * (c->cfg.ack_random_factor - 1.0)));
	arm(c, &x->timer, c->cfg.retransmit ? x->timeout_ms : max_transmit_wait(c));
	return 0;
}

void lpw_devsim_xfer_finish(lpw_devsim_client_t *c, struct xfer *x)
{
	lpw_loop_timer_clear(c->loop, &x->timer);
	free(x->bytes);
	memset(x, 0, sizeof(*x));
}

static void on_readable(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_devsim_client_t *c = arg;
	uint8_t buf[LPW_COAP_UDP_MAX];

	/* bounded, so one chatty peer cannot starve the loop */
	for (int i = 0; i < 64; i++) {
		ssize_t n = c->link.recv(c->link.ctx, buf, sizeof(buf));
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			LPW_WARN("devsim", "%s: receive failed: %s", c->endpoint, strerror((int)-n));
			if (n != -EMSGSIZE)
				return;
			continue;
		}
		lpw_devsim_client_input(c, buf, (size_t)n);
	}
}

lpw_devsim_client_t *lpw_devsim_client_new(lpw_loop_t *loop, const lpw_devsim_link_t *link,
                                           const lpw_devsim_config_t *cfg)
{
	if (!loop || !link || !link->send || !cfg || !cfg->endpoint || (link->fd >= 0 && !link->recv))
		return NULL;
	lpw_devsim_client_t *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->loop = loop;
	c->link = *link;
	c->cfg = *cfg;
	snprintf(c->endpoint, sizeof(c->endpoint), "%s", cfg->endpoint);
	snprintf(c->binding, sizeof(c->binding), "%s", cfg->binding ? cfg->binding : "U");
	snprintf(c->server_uri, sizeof(c->server_uri), "%s", cfg->server_uri ? cfg->server_uri : "");
	c->cfg.endpoint = c->endpoint;
	c->cfg.binding = c->binding;
	c->cfg.server_uri = c->server_uri;
	if (c->cfg.ack_random_factor < 1.0)
		c->cfg.ack_random_factor = 1.0;
	if (c->cfg.max_retransmit > 20)
		c->cfg.max_retransmit = 20;
	c->rand_state = cfg->seed ? cfg->seed : 1;
	c->next_mid = (uint16_t)next_rand(c);
	lpw_timer_init(&c->update_timer, NULL);
	lpw_devsim_objects_config_t ocfg = {c->endpoint, c->server_uri, c->binding, cfg->lifetime_s, cfg->firmware};
	c->objs = lpw_devsim_objects_new(&ocfg);
	if (!c->objs)
		goto fail;
	if (link->fd >= 0) {
		if (lpw_loop_add_fd(loop, link->fd, EPOLLIN, on_readable, c) < 0)
			goto fail;
		c->watching = true;
	}
	return c;
fail:
	lpw_devsim_client_free(c);
	return NULL;
}

void lpw_devsim_client_free(lpw_devsim_client_t *c)
{
	if (!c)
		return;
	if (c->watching)
		lpw_loop_del_fd(c->loop, c->link.fd);
	for (size_t i = 0; i < MAX_XFER; i++)
		if (c->xfer[i].kind != X_NONE)
			lpw_devsim_xfer_finish(c, &c->xfer[i]);
	lpw_devsim_obs_stop_all(c);
	lpw_devsim_block1_clear(c);
	lpw_loop_timer_clear(c->loop, &c->update_timer);
	lpw_devsim_objects_free(c->objs);
	free(c);
}

static void update_due(lpw_timer_t *t, int64_t now_ms)
{
	lpw_devsim_client_t *c = lpw_container_of(t, lpw_devsim_client_t, update_timer);
	if (lpw_devsim_client_update(c) < 0)
		arm(c, &c->update_timer, 1000); /* every slot busy: try again shortly */
}

static void arm_update(lpw_devsim_client_t *c)
{
	/* LwM2M: update before the lifetime runs out; 90 % leaves room for retransmissions */
	c->update_timer.cb = update_due;
	arm(c, &c->update_timer, (int64_t)lpw_devsim_objects_lifetime(c->objs) * 900);
}

/* A CON request to the server: token, Uri-Path segments of path ("/rd/5" or "rd"), queries, payload. */
static coap_pdu_t *new_request(lpw_devsim_client_t *c, coap_pdu_code_t code, const char *path)
{
	coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, code, lpw_devsim_new_mid(c), PDU_MAX);
	uint8_t tok[4];
	new_token(c, tok);
	if (!pdu || !coap_add_token(pdu, sizeof(tok), tok))
		goto fail;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n && !coap_add_option(pdu, COAP_OPTION_URI_PATH, n, (const uint8_t *)p))
			goto fail;
		p += n;
	}
	return pdu;
fail:
	coap_delete_pdu(pdu);
	return NULL;
}

static int add_uint_option(coap_pdu_t *pdu, coap_option_num_t num, uint32_t v)
{
	uint8_t b[4];
	return coap_add_option(pdu, num, coap_encode_var_safe(b, sizeof(b), v), b) ? 0 : -ENOMEM;
}

static int add_query(coap_pdu_t *pdu, const char *key, const char *val)
{
	char q[96];
	int n = snprintf(q, sizeof(q), "%s=%s", key, val);
	return n > 0 && coap_add_option(pdu, COAP_OPTION_URI_QUERY, (size_t)n, (const uint8_t *)q) ? 0 : -ENOMEM;
}

static int finish_request(lpw_devsim_client_t *c, coap_pdu_t *pdu, enum xfer_kind kind, int rc)
{
	if (!pdu)
		return -ENOMEM;
	if (rc == 0)
		rc = lpw_devsim_xfer_start(c, kind, pdu, -1);
	coap_delete_pdu(pdu);
	return rc;
}

int lpw_devsim_client_register(lpw_devsim_client_t *c)
{
	char links[512];
	size_t len;
	coap_pdu_t *pdu = new_request(c, COAP_REQUEST_CODE_POST, "rd");
	/* option order matters to the encoder only through libcoap, which keeps them sorted */
	bool objects = !c->cfg.register_no_objects || c->reg_needs_objects;
	int rc = !pdu ? -ENOMEM : objects ? add_uint_option(pdu, COAP_OPTION_CONTENT_FORMAT, LPW_CF_LINK) : 0;
	char lt[16];
	snprintf(lt, sizeof(lt), "%u", lpw_devsim_objects_lifetime(c->objs));
	/* LoRaWAN (table 6.8.4-1): every parameter may be omitted and the server applies the defaults */
	bool params = !c->cfg.register_minimal;
	if (rc == 0 && params)
		rc = add_query(pdu, "ep", c->endpoint);
	if (rc == 0 && params)
		rc = add_query(pdu, "lt", lt);
	if (rc == 0 && params)
		rc = add_query(pdu, "lwm2m", "1.1");
	if (rc == 0 && params)
		rc = add_query(pdu, "b", c->binding);
	if (rc == 0 && objects)
		rc = lpw_devsim_objects_links(c->objs, links, sizeof(links), &len);
	if (rc == 0 && objects && !coap_add_data(pdu, len, (const uint8_t *)links))
		rc = -ENOMEM;
	return finish_request(c, pdu, X_REGISTER, rc);
}

int lpw_devsim_client_update(lpw_devsim_client_t *c)
{
	if (!c->registered)
		return -ENOTCONN;
	return finish_request(c, new_request(c, COAP_REQUEST_CODE_POST, c->location), X_UPDATE, 0);
}

int lpw_devsim_client_deregister(lpw_devsim_client_t *c)
{
	if (!c->registered)
		return -ENOTCONN;
	return finish_request(c, new_request(c, COAP_REQUEST_CODE_DELETE, c->location), X_DEREGISTER, 0);
}

int lpw_devsim_client_send(lpw_devsim_client_t *c, const char *path)
{
	lpw_devsim_path_t p;
	uint8_t payload[MAX_PAYLOAD];
	size_t len;
	uint16_t cf;
	int rc = lpw_devsim_path_parse(path, &p);
	if (rc < 0)
		return rc;
	rc = lpw_devsim_objects_read(c->objs, &p, LPW_CF_SENML_JSON, payload, sizeof(payload), &len, &cf);
	if (rc < 0)
		return rc;
	/* LwM2M 1.1 Send operation: POST /dp with SenML JSON */
	coap_pdu_t *pdu = new_request(c, COAP_REQUEST_CODE_POST, "dp");
	rc = pdu ? add_uint_option(pdu, COAP_OPTION_CONTENT_FORMAT, cf) : -ENOMEM;
	if (rc == 0 && !coap_add_data(pdu, len, payload))
		rc = -ENOMEM;
	return finish_request(c, pdu, X_SEND, rc);
}

void lpw_devsim_client_sleep(lpw_devsim_client_t *c)
{
	c->asleep = true;
}

int lpw_devsim_client_wake(lpw_devsim_client_t *c)
{
	c->asleep = false;
	return c->registered ? lpw_devsim_client_update(c) : lpw_devsim_client_register(c);
}

bool lpw_devsim_client_registered(const lpw_devsim_client_t *c)
{
	return c->registered;
}

const char *lpw_devsim_client_location(const lpw_devsim_client_t *c)
{
	return c->location;
}

size_t lpw_devsim_client_pending(const lpw_devsim_client_t *c)
{
	size_t n = 0;
	for (size_t i = 0; i < MAX_XFER; i++)
		n += c->xfer[i].kind != X_NONE;
	return n;
}

size_t lpw_devsim_client_observations(const lpw_devsim_client_t *c)
{
	size_t n = 0;
	for (size_t i = 0; i < MAX_OBS; i++)
		n += c->obs[i].used;
	return n;
}

static void take_location(lpw_devsim_client_t *c, const coap_pdu_t *rsp)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	size_t pos = 0;

	c->location[0] = '\0';
	coap_option_iterator_init(rsp, &it, COAP_OPT_ALL);
	while ((opt = coap_option_next(&it))) {
		if (it.number != COAP_OPTION_LOCATION_PATH)
			continue;
		int n = snprintf(c->location + pos, sizeof(c->location) - pos, "/%.*s", (int)coap_opt_length(opt),
		                 (const char *)coap_opt_value(opt));
		if (n < 0 || (size_t)n >= sizeof(c->location) - pos)
			break;
		pos += (size_t)n;
	}
}

static void emit_result(lpw_devsim_client_t *c, const char *event, const char *key, const char *val)
{
	json_t *ev = lpw_devsim_event_new(c, event);
	if (key)
		json_object_set_new(ev, key, json_string(val));
	lpw_devsim_emit(c, ev);
}

static void emit_failure(lpw_devsim_client_t *c, const char *what, coap_pdu_code_t code)
{
	char detail[64], cs[8];
	snprintf(detail, sizeof(detail), "%s answered %s", what, lpw_devsim_code_str(code, cs, sizeof(cs)));
	lpw_devsim_emit_error(c, detail);
}

/* The server's answer to one of our requests. */
static void on_response(lpw_devsim_client_t *c, struct xfer *x, const coap_pdu_t *rsp)
{
	coap_pdu_code_t code = coap_pdu_get_code(rsp);
	enum xfer_kind kind = x->kind;
	char cs[8];

	lpw_devsim_xfer_finish(c, x);
	switch (kind) {
	case X_REGISTER:
		if (code == COAP_RESPONSE_CODE_CONFLICT && c->cfg.register_no_objects && !c->reg_needs_objects) {
			/* §6.8.4: the server cannot learn the object list out of band: retry with it */
			c->reg_needs_objects = true;
			emit_failure(c, "register", code);
			if (lpw_devsim_client_register(c) < 0)
				lpw_devsim_emit_error(c, "cannot register again");
			return;
		}
		if (code != COAP_RESPONSE_CODE_CREATED) {
			emit_failure(c, "register", code);
			return;
		}
		take_location(c, rsp);
		c->registered = true;
		emit_result(c, "registered", "location", c->location);
		arm_update(c);
		return;
	case X_UPDATE:
		if (code == COAP_RESPONSE_CODE_NOT_FOUND) {
			/* the server (or the gateway, for OSCORE devices) lost the registration: register again */
			c->registered = false;
			lpw_loop_timer_clear(c->loop, &c->update_timer);
			emit_failure(c, "update", code);
			if (lpw_devsim_client_register(c) < 0)
				lpw_devsim_emit_error(c, "cannot register again");
			return;
		}
		if (code != COAP_RESPONSE_CODE_CHANGED) {
			emit_failure(c, "update", code);
			return;
		}
		emit_result(c, "updated", "location", c->location);
		arm_update(c);
		return;
	case X_DEREGISTER:
		if (code != COAP_RESPONSE_CODE_DELETED) {
			emit_failure(c, "deregister", code);
			return;
		}
		c->registered = false;
		lpw_loop_timer_clear(c->loop, &c->update_timer);
		emit_result(c, "deregistered", "location", c->location);
		return;
	case X_SEND:
		emit_result(c, "sent", "code", lpw_devsim_code_str(code, cs, sizeof(cs)));
		return;
	default:
		return;
	}
}

static struct xfer *find_by_mid(lpw_devsim_client_t *c, uint16_t mid)
{
	for (size_t i = 0; i < MAX_XFER; i++)
		if (c->xfer[i].kind != X_NONE && c->xfer[i].mid == mid)
			return &c->xfer[i];
	return NULL;
}

static struct xfer *find_by_token(lpw_devsim_client_t *c, coap_bin_const_t tok)
{
	for (size_t i = 0; i < MAX_XFER; i++) {
		struct xfer *x = &c->xfer[i];
		if (x->kind != X_NONE && x->kind != X_NOTIFY && x->tkl == tok.length && !memcmp(x->tok, tok.s, tok.length))
			return x;
	}
	return NULL;
}

static void send_empty(lpw_devsim_client_t *c, coap_pdu_type_t type, coap_mid_t mid)
{
	coap_pdu_t *pdu = coap_pdu_init(type, COAP_EMPTY_CODE, mid, 4);
	if (pdu && lpw_devsim_send_pdu(c, pdu, NULL, NULL) < 0)
		LPW_WARN("devsim", "%s: cannot send empty %s", c->endpoint, lpw_coap_type_name(type));
	coap_delete_pdu(pdu);
}

/* ACK and RST that carry no response (RFC 7252 §4.2, §4.3). */
static void on_empty(lpw_devsim_client_t *c, coap_pdu_type_t type, uint16_t mid)
{
	if (type == COAP_MESSAGE_CON) {
		send_empty(c, COAP_MESSAGE_RST, mid); /* CoAP ping: answered with RST */
		return;
	}
	struct xfer *x = find_by_mid(c, mid);
	if (type == COAP_MESSAGE_RST) {
		for (size_t i = 0; !x && i < MAX_NON_SENT; i++) {
			struct non_sent *ns = &c->non_sent[i];
			if (ns->used && ns->mid == mid) {
				ns->used = false;
				lpw_devsim_obs_cancel(c, ns->obs, "rst");
			}
		}
		if (x && x->kind == X_NOTIFY) {
			int obs = x->obs;
			lpw_devsim_xfer_finish(c, x);
			lpw_devsim_obs_cancel(c, obs, "rst");
		} else if (x) {
			lpw_devsim_xfer_finish(c, x);
			lpw_devsim_emit_error(c, "request reset by peer");
		}
		return;
	}
	if (!x)
		return;
	if (x->kind == X_NOTIFY) {
		lpw_devsim_xfer_finish(c, x);
	} else if (!x->acked) {
		/* separate response follows (RFC 7252 §5.2.2): stop retransmitting, wait for it */
		x->acked = true;
		arm(c, &x->timer, max_transmit_wait(c));
	}
}

static void on_separate_response(lpw_devsim_client_t *c, const coap_pdu_t *rsp)
{
	struct xfer *x = find_by_token(c, coap_pdu_get_token(rsp));
	coap_pdu_type_t type = coap_pdu_get_type(rsp);

	if (type == COAP_MESSAGE_CON)
		send_empty(c, x ? COAP_MESSAGE_ACK : COAP_MESSAGE_RST, coap_pdu_get_mid(rsp));
	if (x)
		on_response(c, x, rsp);
}

bool lpw_devsim_answered_mid(const lpw_devsim_client_t *c, uint16_t mid)
{
	for (size_t i = 0; i < MAX_DEDUP; i++)
		if (c->dedup[i].used && c->dedup[i].mid == mid)
			return true;
	return false;
}

/* A CON we already answered: send the same answer again (RFC 7252 §4.5). */
static bool answered_before(lpw_devsim_client_t *c, uint16_t mid)
{
	for (size_t i = 0; i < MAX_DEDUP; i++) {
		struct dedup *d = &c->dedup[i];
		if (d->used && d->mid == mid) {
			if (c->link.send(c->link.ctx, d->bytes, d->len) < 0)
				LPW_WARN("devsim", "%s: cannot resend answer", c->endpoint);
			return true;
		}
	}
	return false;
}

int lpw_devsim_client_input(lpw_devsim_client_t *c, const uint8_t *data, size_t len)
{
	const char *why;
	if (c->asleep)
		return 0; /* radio off: the message never arrived */
	coap_pdu_t *pdu = lpw_coap_parse_udp(data, len, &why);
	if (!pdu) {
		char detail[96];
		snprintf(detail, sizeof(detail), "malformed datagram: %s", why);
		lpw_devsim_emit_error(c, detail);
		return -EPROTO;
	}
	pdu = lpw_devsim_oscore_input(c, pdu);
	if (!pdu)
		return 0; /* OSCORE verification failed: reported and answered */
	coap_pdu_type_t type = coap_pdu_get_type(pdu);
	coap_pdu_code_t code = coap_pdu_get_code(pdu);
	uint16_t mid = (uint16_t)coap_pdu_get_mid(pdu);

	if (code == COAP_EMPTY_CODE) {
		on_empty(c, type, mid);
	} else if (((unsigned int)code >> 5) == 0) {
		if (type != COAP_MESSAGE_CON || !answered_before(c, mid))
			lpw_devsim_handle_request(c, pdu);
	} else if (type == COAP_MESSAGE_ACK) {
		struct xfer *x = find_by_mid(c, mid);
		coap_bin_const_t tok = coap_pdu_get_token(pdu);
		if (x && x->tkl == tok.length && !memcmp(x->tok, tok.s, tok.length))
			on_response(c, x, pdu);
	} else {
		on_separate_response(c, pdu);
	}
	coap_delete_pdu(pdu);
	return 0;
}

void lpw_devsim_client_set_mtu(lpw_devsim_client_t *c, size_t mtu)
{
	c->link.mtu = mtu;
}
