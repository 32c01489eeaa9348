/* device-sim client engine: OSCORE (RFC 8613) on everything the device sends and receives, when configured. */
#include "tools/device-sim/client_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "proxy/coap_codec.h"

static json_t *hex(const uint8_t *b, size_t len)
{
	char s[2 * PDU_MAX + 1];
	size_t n = len < PDU_MAX ? len : PDU_MAX;
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	s[2 * n] = '\0';
	return json_string(s);
}

static bool is_request(const coap_pdu_t *pdu)
{
	return ((unsigned int)coap_pdu_get_code(pdu) >> 5) == 0;
}

void lpw_devsim_client_corrupt_next(lpw_devsim_client_t *c)
{
	c->osc_corrupt_next = true;
}

void lpw_devsim_oscore_wire(lpw_devsim_client_t *c, const char *direction, const coap_pdu_t *pdu,
                            const uint8_t *payload, size_t payload_len)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt = coap_check_option(pdu, 9, &it);
	json_t *ev = lpw_devsim_event_new(c, "oscore-wire");
	json_object_set_new(ev, "direction", json_string(direction));
	json_object_set_new(ev, "kind", json_string(is_request(pdu) ? "request" : "response"));
	json_object_set_new(ev, "option_hex", opt ? hex(coap_opt_value(opt), coap_opt_length(opt)) : json_null());
	json_object_set_new(ev, "payload_hex", hex(payload, payload_len));
	lpw_devsim_emit(c, ev);
}

int lpw_devsim_oscore_protect(lpw_devsim_client_t *c, const coap_pdu_t *pdu, coap_pdu_t **out)
{
	int rc;
	*out = coap_pdu_init(coap_pdu_get_type(pdu), 0, coap_pdu_get_mid(pdu), PDU_MAX);
	if (!*out)
		return -ENOMEM;
	if (is_request(pdu))
		rc = lpw_oscore_protect_request(c->cfg.oscore, pdu, *out, &c->osc_last_req);
	else
		rc = lpw_oscore_protect_response(c->cfg.oscore, pdu, &c->osc_answer, c->osc_notify, *out);
	if (rc < 0) {
		LPW_WARN("devsim", "%s: OSCORE protection failed: %s", c->endpoint, lpw_oscore_strerror(rc));
		coap_delete_pdu(*out);
		*out = NULL;
	}
	return rc;
}

static void emit_failure(lpw_devsim_client_t *c, const char *kind, int err)
{
	json_t *ev = lpw_devsim_event_new(c, "oscore-error");
	json_object_set_new(ev, "kind", json_string(kind));
	json_object_set_new(ev, "detail", json_string(lpw_oscore_strerror(err)));
	lpw_devsim_emit(c, ev);
}

/* §8.2: a request that does not verify is answered with an unprotected error; the device says 4.01 whatever the
 * reason, so it tells an attacker nothing about which check failed. */
static void reject(lpw_devsim_client_t *c, const coap_pdu_t *req, const char *diag)
{
	bool con = coap_pdu_get_type(req) == COAP_MESSAGE_CON;
	coap_bin_const_t tok = coap_pdu_get_token(req);
	coap_pdu_t *rsp = coap_pdu_init(con ? COAP_MESSAGE_ACK : COAP_MESSAGE_NON, COAP_RESPONSE_CODE(401),
	                                con ? coap_pdu_get_mid(req) : lpw_devsim_new_mid(c), PDU_MAX);
	uint8_t buf[PDU_MAX];
	ssize_t n = -ENOMEM;
	if (rsp && coap_add_token(rsp, tok.length, tok.s) && coap_add_data(rsp, strlen(diag), (const uint8_t *)diag))
		n = lpw_coap_encode_udp(rsp, buf, sizeof(buf));
	/* straight to the link: lpw_devsim_send_pdu would protect it */
	if (n < 0 || c->link.send(c->link.ctx, buf, (size_t)n) < 0)
		LPW_WARN("devsim", "%s: 4.01 not sent", c->endpoint);
	coap_delete_pdu(rsp);
}

static struct xfer *xfer_for(lpw_devsim_client_t *c, const coap_pdu_t *rsp)
{
	coap_bin_const_t tok = coap_pdu_get_token(rsp);
	for (size_t i = 0; i < MAX_XFER; i++) {
		struct xfer *x = &c->xfer[i];
		if (x->kind != X_NONE && x->kind != X_NOTIFY && x->tkl == tok.length && !memcmp(x->tok, tok.s, tok.length))
			return x;
	}
	return NULL;
}

coap_pdu_t *lpw_devsim_oscore_input(lpw_devsim_client_t *c, coap_pdu_t *pdu)
{
	if (!c->cfg.oscore || coap_pdu_get_code(pdu) == COAP_EMPTY_CODE)
		return pdu;
	bool request = is_request(pdu);
	struct xfer *x = request ? NULL : xfer_for(c, pdu);
	/* a duplicate CON is answered from the cache (RFC 7252 §4.5), never verified twice: it would be a replay */
	if ((request && coap_pdu_get_type(pdu) == COAP_MESSAGE_CON &&
	     lpw_devsim_answered_mid(c, (uint16_t)coap_pdu_get_mid(pdu))) ||
	    (!request && !x))
		return pdu;
	/* §8.4: an error without OSCORE option is an unprotected error (e.g. the gateway's 4.04 asking an OSCORE
	 * device to register again): the application sees it as it is */
	if (!request && !lpw_oscore_has_option(pdu) && ((unsigned int)coap_pdu_get_code(pdu) >> 5) >= 4)
		return pdu;
	size_t len = 0;
	const uint8_t *data = NULL;
	coap_get_data(pdu, &len, &data);
	if (lpw_oscore_has_option(pdu))
		lpw_devsim_oscore_wire(c, "in", pdu, data, len);
	coap_pdu_t *plain = coap_pdu_init(coap_pdu_get_type(pdu), 0, coap_pdu_get_mid(pdu), PDU_MAX);
	int rc = plain ? 0 : -ENOMEM;
	if (rc == 0 && request)
		rc = lpw_oscore_unprotect_request(c->cfg.oscore, pdu, plain, &c->osc_answer);
	else if (rc == 0)
		rc = lpw_oscore_unprotect_response(c->cfg.oscore, pdu, &x->osc, plain);
	if (rc < 0) {
		emit_failure(c, request ? "request" : "response", rc);
		if (request)
			reject(c, pdu, lpw_oscore_has_option(pdu) ? "OSCORE verification failed" : "OSCORE required");
		coap_delete_pdu(plain);
		coap_delete_pdu(pdu);
		return NULL;
	}
	coap_delete_pdu(pdu);
	return plain;
}
