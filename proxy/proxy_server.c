/* The server -> device direction of the proxy: a server's request on the device's TCP session becomes a CON
 * to the device with a message ID and token from the device's own space; the device's answer (piggybacked,
 * separate, or a notification) returns upstream with the server's token. */
#include "proxy/proxy_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proxy/coap_codec.h"
#include "proxy/pdu_util.h"

/* RFC 7252 §4.8 transmission parameters, for bindings whose device speaks plain CoAP over UDP (SGi). */
#define ACK_TIMEOUT_MS 2000
#define ACK_RANDOM_PERCENT 150
#define MAX_RETRANSMIT 4

static void end_downlink(struct px_downlink *dl)
{
	lpw_loop_timer_clear(dl->dev->px->loop, &dl->timer);
	free(dl->bytes);
	struct pdev *d = dl->dev;
	memset(dl, 0, sizeof(*dl));
	dl->dev = d;
	/* the next queued request may leave: on the next loop turn, never from inside this call chain */
	if (d->qhead && lpw_timers_set(lpw_loop_timers(d->px->loop), &d->qtimer, lpw_loop_now(d->px->loop)) < 0)
		LPW_ERR("proxy", "%s: cannot schedule the queue", d->cfg->id);
}

/* Answers the server's request: with the device's response (code, options, payload), or with code alone. */
static void respond_upstream(struct px_downlink *dl, const coap_pdu_t *dev_resp, coap_pdu_code_t code)
{
	if (!dl->srv) {
		LPW_INFO("proxy", "%s: answer to a request restored after a restart: its server connection is gone",
		         dl->dev->cfg->id);
		return;
	}
	coap_pdu_t *r = coap_pdu_init(COAP_MESSAGE_CON, dev_resp ? coap_pdu_get_code(dev_resp) : code, 0,
	                              LPW_UPSTREAM_PDU_MAX);
	lpw_pdu_copy_opts_t opts = {0};
	if (!r || !coap_add_token(r, dl->srv_token_len, dl->srv_token) ||
	    (dev_resp && lpw_pdu_copy(r, dev_resp, &opts) < 0)) {
		LPW_WARN("proxy", "%s: device answer cannot be re-framed for the server", dl->dev->cfg->id);
		coap_delete_pdu(r);
		return;
	}
	if (lpw_uplink_send(dl->srv->link, r) < 0)
		LPW_WARN("proxy", "%s: answer for %s lost: upstream is %s", dl->dev->cfg->id,
		         lpw_uplink_server(dl->srv->link)->name, lpw_link_state_name(lpw_uplink_state(dl->srv->link)));
}

static int send_downlink(struct px_downlink *dl)
{
	return px_send_bytes(dl->dev, dl->srv ? px_server_index(dl->srv) : LPW_SERVER_ANY, dl->bytes, dl->len);
}

static void on_retransmit(lpw_timer_t *t, int64_t now)
{
	struct px_downlink *dl = lpw_container_of(t, struct px_downlink, timer);
	if (dl->retries >= MAX_RETRANSMIT) {
		LPW_WARN("proxy", "%s: no answer after %u retransmissions; 5.04 to the server", dl->dev->cfg->id,
		         dl->retries);
		px_event(dl->dev, "request-timeout", "server request unanswered after %u retransmissions", dl->retries);
		respond_upstream(dl, NULL, COAP_RESPONSE_CODE(504));
		end_downlink(dl);
		return;
	}
	dl->retries++;
	dl->timeout_ms *= 2;
	send_downlink(dl);
	if (lpw_loop_timer_in(dl->dev->px->loop, &dl->timer, dl->timeout_ms) < 0)
		LPW_ERR("proxy", "%s: cannot arm retransmission", dl->dev->cfg->id);
}

static struct px_downlink *find_observation(struct pdev *d, struct px_server *s, coap_bin_const_t tok)
{
	for (size_t i = 0; i < PX_MAX_DOWNLINKS; i++) {
		struct px_downlink *dl = &d->downlinks[i];
		if (dl->used && dl->observe && dl->srv == s && dl->srv_token_len == tok.length &&
		    memcmp(dl->srv_token, tok.s, tok.length) == 0)
			return dl;
	}
	return NULL;
}

static struct px_downlink *new_downlink(struct pdev *d)
{
	for (size_t i = 0; i < PX_MAX_DOWNLINKS; i++)
		if (!d->downlinks[i].used) {
			struct px_downlink *dl = &d->downlinks[i];
			dl->dev = d;
			lpw_timer_init(&dl->timer, on_retransmit);
			return dl;
		}
	return NULL;
}

static int observe_value(const coap_pdu_t *pdu)
{
	lpw_pdu_optval_t v;
	if (lpw_pdu_get_options(pdu, COAP_OPTION_OBSERVE, &v, 1) <= 0)
		return -1;
	int n = 0;
	for (size_t i = 0; i < v.len && i < 3; i++)
		n = (n << 8) | v.value[i];
	return n;
}

/* Builds and sends the device's CON for the server's request held in dl; t: the device's traits now. */
static int carry_to_device(struct px_downlink *dl, const coap_pdu_t *req, const lpw_binding_traits_t *t)
{
	struct pdev *d = dl->dev;
	dl->dev_mid = px_device_mid(d);
	coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, coap_pdu_get_code(req), dl->dev_mid, LPW_COAP_UDP_MAX);
	lpw_pdu_copy_opts_t opts = {0};
	uint8_t buf[LPW_COAP_UDP_MAX];
	ssize_t n = -1;
	if (pdu && coap_add_token(pdu, dl->dev_token_len, dl->dev_token) && lpw_pdu_copy(pdu, req, &opts) == 0)
		n = lpw_coap_encode_udp(pdu, buf, sizeof(buf));
	coap_delete_pdu(pdu);
	free(dl->bytes);
	dl->bytes = NULL;
	if (n > (ssize_t)t->max_message_size_now || n == -ENOSPC)
		return -EMSGSIZE;
	dl->bytes = n > 0 ? malloc((size_t)n) : NULL;
	if (!dl->bytes)
		return -ENOMEM;
	memcpy(dl->bytes, buf, (size_t)n);
	dl->len = (size_t)n;
	dl->state = DL_WAIT_ACK;
	dl->retries = 0;
	send_downlink(dl);
	if (t->proxy_retransmits) {
		dl->timeout_ms = ACK_TIMEOUT_MS + (int64_t)(rand() % (ACK_TIMEOUT_MS * (ACK_RANDOM_PERCENT - 100) / 100));
		if (lpw_loop_timer_in(d->px->loop, &dl->timer, dl->timeout_ms) < 0)
			return -1;
	}
	return 0;
}

void px_on_server_request(void *owner, lpw_uplink_t *link, const coap_pdu_t *request)
{
	struct px_server *s = owner;
	px_queue_request(s->dev, s, request);
}

bool px_request_in_flight(const struct pdev *d)
{
	for (size_t i = 0; i < PX_MAX_DOWNLINKS; i++)
		if (d->downlinks[i].used && d->downlinks[i].state != DL_OBSERVING)
			return true;
	return false;
}

void px_answer_server(struct px_server *srv, const uint8_t *token, size_t token_len, coap_pdu_code_t code,
                      int max_age_s)
{
	coap_pdu_t *r = coap_pdu_init(COAP_MESSAGE_CON, code, 0, 64);
	uint8_t age[4];
	if (!r || !coap_add_token(r, token_len, token) ||
	    (max_age_s >= 0 && !coap_add_option(r, COAP_OPTION_MAXAGE, coap_encode_var_safe(age, sizeof(age), (unsigned)max_age_s), age))) {
		coap_delete_pdu(r);
		return;
	}
	if (lpw_uplink_send(srv->link, r) < 0)
		LPW_DEBUG("proxy", "%s: answer to the server lost: upstream is not up", srv->dev->cfg->id);
}

/* LwM2M 1.1.1 App. D.4/D.5, RFC 7959 §2.9.3: what does not fit the device's path is refused with 4.13 and the
 * size that would fit (Size1), never cut. */
static void refuse_too_large(struct px_server *srv, const uint8_t *token, size_t token_len, uint32_t max_size)
{
	coap_pdu_t *r = coap_pdu_init(COAP_MESSAGE_CON, COAP_RESPONSE_CODE(413), 0, 64);
	uint8_t size1[4];
	if (r && coap_add_token(r, token_len, token) &&
	    coap_add_option(r, COAP_OPTION_SIZE1, coap_encode_var_safe(size1, sizeof(size1), max_size), size1)) {
		if (lpw_uplink_send(srv->link, r) < 0)
			LPW_DEBUG("proxy", "%s: 4.13 lost: upstream is not up", srv->dev->cfg->id);
	} else {
		coap_delete_pdu(r);
	}
}

int px_deliver_request(struct pdev *d, struct px_server *srv, const uint8_t *srv_token, size_t srv_token_len,
                       const coap_pdu_t *request)
{
	coap_bin_const_t tok = {.length = srv_token_len, .s = srv_token};
	struct px_downlink *dl = srv ? find_observation(d, srv, tok) : NULL;
	if (dl) {
		/* RFC 7641 §3.6: a GET with the observation's token and Observe=1 cancels it; carry it with the device
		 * token the device knows, and forget the observation once answered. */
		dl->observe = observe_value(request) == 0;
	} else {
		dl = new_downlink(d);
		if (!dl)
			return -ENOBUFS;
		dl->used = true;
		dl->srv = srv;
		dl->srv_token_len = srv_token_len;
		memcpy(dl->srv_token, srv_token, srv_token_len);
		dl->dev_token_len = px_device_token(d, dl->dev_token);
		dl->observe = observe_value(request) == 0;
	}
	lpw_binding_traits_t t;
	px_traits(d, &t);
	int rc = carry_to_device(dl, request, &t);
	if (rc == -EMSGSIZE) {
		LPW_WARN("proxy", "%s: server request exceeds the device's %u bytes; 4.13", d->cfg->id,
		         t.max_message_size_now);
		if (srv)
			refuse_too_large(srv, srv_token, srv_token_len, t.max_message_size_now);
		end_downlink(dl);
		return 0;
	}
	if (rc < 0) {
		end_downlink(dl);
		return rc;
	}
	return 0;
}

/* After the device's answer: keep an observation alive, else forget the exchange. */
static void after_answer(struct px_downlink *dl, const coap_pdu_t *resp)
{
	bool keeps = dl->observe && observe_value(resp) >= 0 && COAP_RESPONSE_CLASS(coap_pdu_get_code(resp)) == 2;
	respond_upstream(dl, resp, 0);
	if (keeps) {
		lpw_loop_timer_clear(dl->dev->px->loop, &dl->timer);
		dl->state = DL_OBSERVING;
		free(dl->bytes);
		dl->bytes = NULL;
	} else {
		end_downlink(dl);
	}
}

void px_on_device_ack(struct pdev *d, const coap_pdu_t *pdu)
{
	coap_mid_t mid = coap_pdu_get_mid(pdu);
	for (size_t i = 0; i < PX_MAX_DOWNLINKS; i++) {
		struct px_downlink *dl = &d->downlinks[i];
		if (!dl->used || dl->state != DL_WAIT_ACK || dl->dev_mid != mid)
			continue;
		if (coap_pdu_get_type(pdu) == COAP_MESSAGE_RST) {
			LPW_INFO("proxy", "%s: device rejected the server's request (RST)", d->cfg->id);
			respond_upstream(dl, NULL, COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE);
			end_downlink(dl);
		} else if (coap_pdu_get_code(pdu) == COAP_EMPTY_CODE) {
			lpw_loop_timer_clear(d->px->loop, &dl->timer); /* a separate response follows */
			dl->state = DL_WAIT_SEPARATE;
		} else {
			after_answer(dl, pdu);
		}
		return;
	}
	LPW_DEBUG("proxy", "%s: ACK/RST for unknown message ID 0x%04x ignored", d->cfg->id, mid);
}

bool px_on_device_response(struct pdev *d, const coap_pdu_t *pdu)
{
	coap_bin_const_t tok = coap_pdu_get_token(pdu);
	for (size_t i = 0; i < PX_MAX_DOWNLINKS; i++) {
		struct px_downlink *dl = &d->downlinks[i];
		if (!dl->used || dl->dev_token_len != tok.length || memcmp(dl->dev_token, tok.s, tok.length) != 0)
			continue;
		if (dl->state != DL_OBSERVING && !dl->observe && observe_value(pdu) >= 0) {
			/* a notification never answers a request that did not ask to observe (a stale observation's) */
			LPW_DEBUG("proxy", "%s: notification with the token of a plain request ignored", d->cfg->id);
			return false;
		}
		if (dl->state == DL_OBSERVING) {
			respond_upstream(dl, pdu, 0); /* a notification: the server's token, the device's Observe number */
			if (observe_value(pdu) < 0 || COAP_RESPONSE_CLASS(coap_pdu_get_code(pdu)) != 2)
				end_downlink(dl); /* a final notification ends the observation (RFC 7641 §3.2) */
		} else {
			after_answer(dl, pdu);
		}
		return true;
	}
	return false;
}

void lpw_proxy_outcome(lpw_proxy_t *px, lpw_device_t *dev, lpw_delivery_t outcome)
{
	struct pdev *d = px_pdev_of(dev);
	if (!d)
		return;
	for (size_t k = 0; k < PX_MAX_DOWNLINKS; k++) {
		struct px_downlink *dl = &d->downlinks[k];
		if (!dl->used || dl->state == DL_OBSERVING)
			continue;
		if (outcome == LPW_DELIVERY_BUFFERED) {
			/* LwM2M 1.1.1 App. D.6: the network holds it; a copy from us would be delivered twice */
			lpw_loop_timer_clear(px->loop, &dl->timer);
			continue;
		}
		if (outcome != LPW_DELIVERY_FAILED)
			continue;
		LPW_WARN("proxy", "%s: the binding gave up delivering the server's request; 5.04", d->cfg->id);
		px_event(d, "request-timeout", "server request undelivered: the binding's retransmissions are exhausted");
		respond_upstream(dl, NULL, COAP_RESPONSE_CODE(504));
		end_downlink(dl);
	}
}

void px_downlinks_link_lost(struct px_server *s)
{
	for (size_t i = 0; i < PX_MAX_DOWNLINKS; i++) {
		struct px_downlink *dl = &s->dev->downlinks[i];
		if (dl->used && dl->srv == s)
			end_downlink(dl);
	}
}

void px_downlinks_free(struct pdev *d)
{
	for (size_t i = 0; i < PX_MAX_DOWNLINKS; i++)
		if (d->downlinks[i].used)
			end_downlink(&d->downlinks[i]);
}
