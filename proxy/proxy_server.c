/* The server -> device direction of the proxy: a server's request on the device's TCP session becomes a CON
 * to the device with a message ID and token from the device's own space; the device's answer (piggybacked,
 * separate, or a notification) returns upstream with the server's token. */
#include "proxy/proxy_internal.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/log.h"
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
}

/* Answers the server's request: with the device's response (code, options, payload), or with code alone. */
static void respond_upstream(struct px_downlink *dl, const coap_pdu_t *dev_resp, coap_pdu_code_t code)
{
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
	struct pdev *d = dl->dev;
	d->px->stats->msgs_down[d->cfg->binding]++;
	return d->px->hooks->send_to_device(d->px->hooks->arg, d->cfg, dl->bytes, dl->len);
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

/* Builds and sends the device's CON for the server's request held in dl. */
static int carry_to_device(struct px_downlink *dl, const coap_pdu_t *req)
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
	dl->bytes = n > 0 ? malloc((size_t)n) : NULL;
	if (!dl->bytes)
		return -1;
	memcpy(dl->bytes, buf, (size_t)n);
	dl->len = (size_t)n;
	dl->state = DL_WAIT_ACK;
	dl->retries = 0;
	send_downlink(dl);
	if (d->px->retransmit[d->cfg->binding]) {
		dl->timeout_ms = ACK_TIMEOUT_MS + (int64_t)(rand() % (ACK_TIMEOUT_MS * (ACK_RANDOM_PERCENT - 100) / 100));
		if (lpw_loop_timer_in(d->px->loop, &dl->timer, dl->timeout_ms) < 0)
			return -1;
	}
	return 0;
}

void px_on_server_request(void *owner, lpw_uplink_t *link, const coap_pdu_t *request)
{
	struct px_server *s = owner;
	struct pdev *d = s->dev;
	coap_bin_const_t tok = coap_pdu_get_token(request);
	struct px_downlink *dl = find_observation(d, s, tok);
	if (dl) {
		/* RFC 7641 §3.6: a GET with the observation's token and Observe=1 cancels it; carry it with the device
		 * token the device knows, and forget the observation once answered. */
		dl->observe = observe_value(request) == 0;
	} else {
		dl = new_downlink(d);
		if (!dl || tok.length > PX_TOKEN_MAX) {
			LPW_WARN("proxy", "%s: %d server requests already in progress; 5.03", d->cfg->id, PX_MAX_DOWNLINKS);
			struct px_downlink tmp = {.dev = d, .srv = s, .srv_token_len = tok.length};
			memcpy(tmp.srv_token, tok.s, tok.length > PX_TOKEN_MAX ? PX_TOKEN_MAX : tok.length);
			respond_upstream(&tmp, NULL, COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE);
			return;
		}
		dl->used = true;
		dl->srv = s;
		dl->srv_token_len = tok.length;
		memcpy(dl->srv_token, tok.s, tok.length);
		uint32_t t = ++d->next_token;
		dl->dev_token_len = 4;
		for (int i = 0; i < 4; i++)
			dl->dev_token[i] = (uint8_t)(t >> (8 * (3 - i)));
		dl->observe = observe_value(request) == 0;
	}
	if (carry_to_device(dl, request) < 0) {
		respond_upstream(dl, NULL, COAP_RESPONSE_CODE_INTERNAL_ERROR);
		end_downlink(dl);
	}
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
