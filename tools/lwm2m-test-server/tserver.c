/* CoAP side of the test LwM2M server: listeners, TLS credentials, the registration interface, session
 * events, and the glue that lets libcoap run inside our epoll loop. */
#include "tools/lwm2m-test-server/tserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coap3/coap.h>

#include "core/log.h"
#include "tools/lwm2m-test-server/directory.h"
#include "tools/lwm2m-test-server/emit.h"
#include "tools/lwm2m-test-server/registration.h"
#include "tools/lwm2m-test-server/requests.h"
#include "tools/lwm2m-test-server/wire.h"

struct lpw_tserver {
	lpw_loop_t *loop;
	coap_context_t *ctx;
	int coap_fd;
	int tcp_port, tls_port;
	const lpw_tserver_psk_t *psks;
	size_t psk_count;
	coap_bin_const_t *psk_keys; /* views of psks[i].key for libcoap */
	lpw_directory_t *dir;
	lpw_requests_t *requests;
	lpw_oscore_ctx_t *oscore; /* borrowed */
};

/* libcoap 4.3.1 has no user data on a context, and its handlers get only session and PDU: the one server
 * is reached through this pointer. */
static lpw_tserver_t *the_server;

/* Options the devices may send that 4.3.1 does not know; unknown critical options would be answered
 * 4.02 Bad Option (DESIGN.md decision 1). */
static const uint16_t extra_options[] = {9 /* OSCORE */, 16 /* Hop-Limit */, 252 /* Echo */,
                                         258 /* No-Response */, 292 /* Request-Tag */};

static void coap_log_to_ours(coap_log_t level, const char *message)
{
	int lvl = (int)level > LOG_DEBUG ? LOG_DEBUG : (int)level;
	size_t n = strlen(message);
	while (n && message[n - 1] == '\n')
		n--;
	LPW_LOG(lvl, "coap", "%.*s", (int)n, message);
}

/* ---- registration interface ---- */

static void set_error(coap_pdu_t *resp, unsigned code, const char *reason)
{
	coap_pdu_set_code(resp, COAP_RESPONSE_CODE(code));
	/* RFC 7252 §5.5.2: a diagnostic payload helps whoever reads a capture. */
	coap_add_data(resp, strlen(reason), (const uint8_t *)reason);
}

/* Parses every Uri-Query option of req into params. */
static int parse_queries(const coap_pdu_t *req, lpw_reg_params_t *params, lpw_reg_kind_t kind, char *reason,
                         size_t rlen)
{
	coap_opt_iterator_t it;
	coap_opt_filter_t filter;
	coap_opt_t *opt;
	coap_option_filter_clear(&filter);
	coap_option_filter_set(&filter, COAP_OPTION_URI_QUERY);
	coap_option_iterator_init(req, &it, &filter);
	while ((opt = coap_option_next(&it))) {
		int rc = lpw_reg_parse_query(params, kind, coap_opt_value(opt), coap_opt_length(opt), reason, rlen);
		if (rc)
			return rc;
	}
	return 0;
}

/* The object list of a Register/Update: *out NULL when there is no payload; a copy otherwise.
 * Returns the CoAP error code to answer (400, 415, 500) or 0. */
static unsigned take_objects(const coap_pdu_t *req, char **out, char *reason, size_t rlen)
{
	coap_opt_iterator_t it;
	coap_opt_t *cf = coap_check_option(req, COAP_OPTION_CONTENT_FORMAT, &it);
	size_t len = 0;
	const uint8_t *data = NULL;

	*out = NULL;
	if (!coap_get_data(req, &len, &data) || len == 0)
		return 0;
	if (cf && coap_decode_var_bytes(coap_opt_value(cf), coap_opt_length(cf)) != COAP_MEDIATYPE_APPLICATION_LINK_FORMAT) {
		snprintf(reason, rlen, "object list must be application/link-format (40)");
		return 415;
	}
	if (lpw_reg_check_links(data, len, reason, rlen))
		return 400;
	*out = strndup((const char *)data, len);
	if (!*out) {
		snprintf(reason, rlen, "out of memory");
		return 500;
	}
	return 0;
}

/* The PSK identity of session as printable text (hex if it is not), or NULL without one. */
static char *session_identity(coap_session_t *session)
{
	const coap_bin_const_t *id = coap_session_get_psk_identity(session);
	if (!id || !id->s || id->length == 0)
		return NULL;
	for (size_t i = 0; i < id->length; i++) {
		if (id->s[i] < 0x20 || id->s[i] >= 0x7f) {
			json_t *hex = lpw_emit_hex(id->s, id->length);
			char *copy = hex ? strdup(json_string_value(hex)) : NULL;
			json_decref(hex);
			return copy;
		}
	}
	return strndup((const char *)id->s, id->length);
}

/* The Max-Message-Size the peer announced in its CSM (RFC 8323 §5.3.1; 1152 when it announced none). 4.3.1 has
 * no getter for it: coap_session_max_pdu_size() gives it minus the largest TCP header a message of that size
 * needs (libcoap's coap_session_max_pdu_size_internal(), "no token" case), which is undone here. Exact for
 * sizes above 15; the only ambiguous value, 268 vs 269 at the 8-bit/16-bit extended length boundary, reads as
 * 271 and 272 would (harmless: a report, not a limit we enforce). */
static size_t peer_max_message_size(const coap_session_t *session)
{
	size_t pdu = coap_session_max_pdu_size(session);
	if (pdu <= 13 - 1)
		return pdu + 2;
	if (pdu <= 13 + 255)
		return pdu + 3;
	if (pdu <= 269 + 65535)
		return pdu + 4;
	return pdu + 6;
}

static void reject_register(coap_session_t *session, coap_pdu_t *resp, unsigned code, const char *reason)
{
	char codestr[5], peer[64];
	set_error(resp, code, reason);
	lpw_emit_code((uint8_t)COAP_RESPONSE_CODE(code), codestr);
	lpw_directory_peer_str(session, peer, sizeof(peer));
	lpw_emit(json_pack("{s:s, s:s, s:s, s:s}", "event", "register-rejected", "code", codestr, "reason", reason,
	                   "peer", peer));
}

static void handle_register(lpw_tserver_t *s, coap_session_t *session, const coap_pdu_t *req, coap_pdu_t *resp)
{
	lpw_reg_params_t params = {0};
	char reason[160];
	char *objects = NULL;
	unsigned code;

	if (parse_queries(req, &params, LPW_REG_REGISTER, reason, sizeof(reason)) ||
	    lpw_reg_check_register(&params, reason, sizeof(reason))) {
		reject_register(session, resp, 400, reason);
		return;
	}
	if ((code = take_objects(req, &objects, reason, sizeof(reason)))) {
		reject_register(session, resp, code, reason);
		return;
	}
	char *identity = session_identity(session);
	lpw_registration_t *reg = lpw_directory_add(s->dir, &params, objects, session, identity);
	free(objects);
	free(identity);
	if (!reg) {
		reject_register(session, resp, 500, "out of memory");
		return;
	}
	char id[16];
	snprintf(id, sizeof(id), "%u", reg->id);
	coap_pdu_set_code(resp, COAP_RESPONSE_CODE(201));
	coap_add_option(resp, COAP_OPTION_LOCATION_PATH, 2, (const uint8_t *)"rd");
	coap_add_option(resp, COAP_OPTION_LOCATION_PATH, strlen(id), (const uint8_t *)id);
	/* LwM2M 1.1: b= and Q are separate parameters (b=U&Q is queue mode over UDP): both are reported */
	lpw_emit(json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:b, s:s?, s:s, s:s?, s:I}", "event", "register", "ep",
	                   reg->ep, "location", reg->location, "lt", (json_int_t)reg->lt, "lwm2m", reg->lwm2m, "b", reg->b,
	                   "Q", reg->queue, "objects", reg->objects, "peer", reg->peer, "identity", reg->identity,
	                   "peer_max_message_size", (json_int_t)peer_max_message_size(session)));
}

static void reject_update(const char *location, coap_pdu_t *resp, unsigned code, const char *reason)
{
	char codestr[5];
	set_error(resp, code, reason);
	lpw_emit_code((uint8_t)COAP_RESPONSE_CODE(code), codestr);
	lpw_emit(json_pack("{s:s, s:s, s:s, s:s}", "event", "update-rejected", "location", location, "code", codestr,
	                   "reason", reason));
}

static void handle_update(lpw_tserver_t *s, coap_session_t *session, const char *location, const coap_pdu_t *req,
                          coap_pdu_t *resp)
{
	lpw_reg_params_t params = {0};
	char reason[160];
	char *objects = NULL;
	unsigned code;
	lpw_registration_t *reg = lpw_directory_find_location(s->dir, location);

	if (!reg) {
		reject_update(location, resp, 404, "unknown registration");
		return;
	}
	if (parse_queries(req, &params, LPW_REG_UPDATE, reason, sizeof(reason))) {
		reject_update(location, resp, 400, reason);
		return;
	}
	if ((code = take_objects(req, &objects, reason, sizeof(reason)))) {
		reject_update(location, resp, code, reason);
		return;
	}
	int rc = lpw_directory_update(reg, &params, objects, session);
	if (rc) {
		free(objects);
		reject_update(location, resp, 500, "out of memory");
		return;
	}
	coap_pdu_set_code(resp, COAP_RESPONSE_CODE(204));
	lpw_emit(json_pack("{s:s, s:s, s:s, s:I, s:s, s:s?, s:s}", "event", "update", "ep", reg->ep, "location",
	                   reg->location, "lt", (json_int_t)reg->lt, "b", reg->b, "objects", objects, "peer",
	                   reg->peer));
	free(objects);
}

/* "/" + the request's Uri-Path, into out; false when it does not fit. */
static bool request_path(const coap_pdu_t *req, char *out, size_t out_len)
{
	coap_string_t *path = coap_get_uri_path(req);
	bool ok = path && path->length + 2 <= out_len;
	if (ok)
		snprintf(out, out_len, "/%.*s", (int)path->length, (const char *)path->s);
	coap_delete_string(path);
	return ok;
}

/* Bootstrap-Request (POST /bs?ep=..) and Send (POST /dp): acknowledged with 2.04 and reported, so tests see
 * which server a device's message reached. */
static void handle_bootstrap_or_send(const char *path, const coap_pdu_t *req, coap_pdu_t *resp)
{
	bool bs = strcmp(path, "/bs") == 0;
	coap_string_t *query = coap_get_query(req);
	size_t len = 0;
	const uint8_t *data = NULL;
	coap_get_data(req, &len, &data);
	lpw_emit(json_pack("{s:s, s:s#, s:s%}", "event", bs ? "bootstrap-request" : "send", "query",
	                   query ? (const char *)query->s : "", query ? (int)query->length : 0, "payload",
	                   data ? (const char *)data : "", len));
	coap_delete_string(query);
	coap_pdu_set_code(resp, COAP_RESPONSE_CODE(204));
}

static bool oscore_divert(coap_session_t *session, const coap_pdu_t *req, coap_pdu_t *resp);

static void on_post(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *req, const coap_string_t *q,
                    coap_pdu_t *resp)
{
	char path[64];
	if (oscore_divert(session, req, resp))
		return;
	if (!request_path(req, path, sizeof(path))) {
		set_error(resp, 404, "no such resource");
		return;
	}
	if (strcmp(path, "/rd") == 0)
		handle_register(the_server, session, req, resp);
	else if (strncmp(path, "/rd/", 4) == 0)
		handle_update(the_server, session, path, req, resp);
	else if (strcmp(path, "/bs") == 0 || strcmp(path, "/dp") == 0)
		handle_bootstrap_or_send(path, req, resp);
	else
		set_error(resp, 404, "no such resource");
}

static void on_delete(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *req, const coap_string_t *q,
                      coap_pdu_t *resp)
{
	char path[64];
	lpw_registration_t *reg = NULL;
	if (oscore_divert(session, req, resp))
		return;
	if (request_path(req, path, sizeof(path)) && strncmp(path, "/rd/", 4) == 0)
		reg = lpw_directory_find_location(the_server->dir, path);
	if (!reg) {
		set_error(resp, 404, "unknown registration");
		return;
	}
	coap_pdu_set_code(resp, COAP_RESPONSE_CODE(202));
	lpw_emit(json_pack("{s:s, s:s, s:s}", "event", "deregister", "ep", reg->ep, "location", reg->location));
	lpw_directory_remove(reg);
}

static void on_other(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *req, const coap_string_t *q,
                     coap_pdu_t *resp)
{
	char path[64];
	if (oscore_divert(session, req, resp))
		return;
	if (request_path(req, path, sizeof(path)) && strncmp(path, "/rd", 3) == 0)
		set_error(resp, 405, "method not allowed");
	else
		set_error(resp, 404, "no such resource");
}

/* ---- OSCORE (RFC 8613 §8.2, §8.3) ---- */

#define OSCORE_PDU_MAX 4096

/* A request with the OSCORE option: verified, handled as if it had arrived in the clear, and answered with the
 * protected response. True when req was such a request (resp then holds the whole answer). */
static bool oscore_divert(coap_session_t *session, const coap_pdu_t *req, coap_pdu_t *resp)
{
	lpw_oscore_req_info_t info;
	const char *diag;
	if (!lpw_oscore_has_option(req))
		return false;
	lpw_wire_emit("in", req);
	coap_pdu_t *plain = coap_pdu_init(COAP_MESSAGE_CON, 0, 0, OSCORE_PDU_MAX);
	coap_pdu_t *answer = coap_pdu_init(COAP_MESSAGE_ACK, 0, 0, OSCORE_PDU_MAX);
	coap_bin_const_t tok = coap_pdu_get_token(req);
	int rc = !plain || !answer || !coap_add_token(answer, tok.length, tok.s) ? -ENOMEM : 0;
	if (rc == 0 && !the_server->oscore)
		rc = -ENOKEY;
	if (rc == 0)
		rc = lpw_oscore_unprotect_request(the_server->oscore, req, plain, &info);
	if (rc) {
		/* unprotected error, with the diagnostic §8.2 names */
		coap_pdu_code_t code = lpw_oscore_error_code(rc, &diag);
		coap_pdu_set_code(resp, code);
		coap_add_data(resp, strlen(diag), (const uint8_t *)diag);
		lpw_wire_error("request", rc, code);
	} else {
		coap_pdu_code_t method = coap_pdu_get_code(plain);
		if (method == COAP_REQUEST_CODE_POST)
			on_post(NULL, session, plain, NULL, answer);
		else if (method == COAP_REQUEST_CODE_DELETE)
			on_delete(NULL, session, plain, NULL, answer);
		else
			on_other(NULL, session, plain, NULL, answer);
		rc = lpw_oscore_protect_response(the_server->oscore, answer, &info, false, resp);
		if (rc) {
			LPW_ERR("server", "OSCORE: cannot protect the response: %s", lpw_oscore_strerror(rc));
			set_error(resp, 500, "OSCORE protection failed");
		} else {
			lpw_wire_emit("out", resp);
		}
	}
	coap_delete_pdu(plain);
	coap_delete_pdu(answer);
	return true;
}

/* ---- sessions and responses ---- */

static void registration_expired(lpw_registration_t *reg, void *arg)
{
	lpw_emit(json_pack("{s:s, s:s, s:s}", "event", "expired", "ep", reg->ep, "location", reg->location));
}

static void session_gone(lpw_tserver_t *s, coap_session_t *session)
{
	/* session-closed first, then the requests it takes down: readers see the cause before the effects. */
	for (lpw_registration_t *reg = lpw_directory_first(s->dir); reg; reg = reg->next) {
		if (reg->session != session)
			continue;
		lpw_emit(json_pack("{s:s, s:s, s:s, s:s}", "event", "session-closed", "ep", reg->ep, "location",
		                   reg->location, "peer", reg->peer));
		lpw_directory_unbind(reg);
	}
	lpw_requests_session_closed(s->requests, session);
}

/* With block mode on, libcoap 4.3.1 numbers its own tokens (Block1 follow-ups, Observe bookkeeping) from the
 * session's token counter, which starts at 0 on a server session, and matches responses by the low 48 bits. Our
 * request tokens are small numbers (the request id), so the counter starts far above them: bit 46 set. */
static void seed_tokens(coap_session_t *session)
{
	static const uint8_t base[8] = {0, 0, 0x40, 0, 0, 0, 0, 0};
	coap_session_init_token(session, sizeof(base), base);
}

static int on_event(coap_session_t *session, coap_event_t event)
{
	switch (event) {
	case COAP_EVENT_SERVER_SESSION_NEW:
		seed_tokens(session);
		break;
	case COAP_EVENT_TCP_CLOSED:
	case COAP_EVENT_TCP_FAILED:
	case COAP_EVENT_DTLS_CLOSED:
	case COAP_EVENT_DTLS_ERROR:
	case COAP_EVENT_SESSION_CLOSED:
	case COAP_EVENT_SESSION_FAILED:
	case COAP_EVENT_SERVER_SESSION_DEL:
		if (the_server)
			session_gone(the_server, session);
		break;
	default:
		break;
	}
	return 0;
}

static coap_response_t on_response(coap_session_t *session, const coap_pdu_t *sent, const coap_pdu_t *received,
                                   const coap_mid_t mid)
{
	/* reported whether or not it still matches a request, so a test sees everything that arrived */
	if (lpw_oscore_has_option(received))
		lpw_wire_emit("in", received);
	if (!lpw_requests_on_response(the_server->requests, session, received))
		LPW_INFO("server", "response with an unknown token (late, or after a timeout): ignored");
	return COAP_RESPONSE_OK;
}

/* ---- TLS credentials ---- */

/* Any configured identity is accepted, each with its own key; anything else fails the handshake. */
static const coap_bin_const_t *psk_for_identity(coap_bin_const_t *identity, coap_session_t *session, void *arg)
{
	lpw_tserver_t *s = arg;
	for (size_t i = 0; i < s->psk_count; i++) {
		if (strlen(s->psks[i].identity) == identity->length &&
		    memcmp(s->psks[i].identity, identity->s, identity->length) == 0)
			return &s->psk_keys[i];
	}
	LPW_WARN("server", "TLS: unknown PSK identity '%.*s' rejected", (int)identity->length,
	         (const char *)identity->s);
	return NULL;
}

static int setup_psk(lpw_tserver_t *s)
{
	static coap_dtls_spsk_t spsk; /* libcoap copies it, but keep it zeroed and simple */
	s->psk_keys = calloc(s->psk_count, sizeof(*s->psk_keys));
	if (!s->psk_keys)
		return -ENOMEM;
	for (size_t i = 0; i < s->psk_count; i++) {
		s->psk_keys[i].s = s->psks[i].key;
		s->psk_keys[i].length = s->psks[i].key_len;
	}
	memset(&spsk, 0, sizeof(spsk));
	spsk.version = COAP_DTLS_SPSK_SETUP_VERSION;
	spsk.validate_id_call_back = psk_for_identity;
	spsk.id_call_back_arg = s;
	/* A default key: libcoap backends want one, the callback chooses the real one per identity. */
	spsk.psk_info.key = s->psk_keys[0];
	if (!coap_context_set_psk2(s->ctx, &spsk)) {
		LPW_ERR("server", "libcoap refused the PSK setup");
		return -EINVAL;
	}
	return 0;
}

static int setup_pki(lpw_tserver_t *s, const lpw_tserver_config_t *cfg)
{
	coap_dtls_pki_t pki;
	memset(&pki, 0, sizeof(pki));
	pki.version = COAP_DTLS_PKI_SETUP_VERSION;
	pki.verify_peer_cert = cfg->verify_peer;
	pki.check_common_ca = cfg->verify_peer && cfg->ca_file;
	pki.allow_self_signed = !cfg->verify_peer;
	pki.cert_chain_validation = cfg->verify_peer;
	pki.cert_chain_verify_depth = 3;
	pki.pki_key.key_type = COAP_PKI_KEY_PEM;
	pki.pki_key.key.pem.ca_file = cfg->ca_file;
	pki.pki_key.key.pem.public_cert = cfg->cert_file;
	pki.pki_key.key.pem.private_key = cfg->key_file;
	if (!coap_context_set_pki(s->ctx, &pki)) {
		LPW_ERR("server", "libcoap refused the certificate setup (%s, %s)", cfg->cert_file, cfg->key_file);
		return -EINVAL;
	}
	return 0;
}

/* ---- listeners ---- */

/* 4.3.1 has no accessor for an endpoint's bound address, but coap_endpoint_str() prints it
 * ("127.0.0.1:5684 NONE"): the port is what follows the last ':' before the first space. */
static int endpoint_port(const coap_endpoint_t *ep)
{
	char text[128];
	snprintf(text, sizeof(text), "%s", coap_endpoint_str(ep));
	char *space = strchr(text, ' ');
	if (space)
		*space = '\0';
	char *colon = strrchr(text, ':');
	return colon ? atoi(colon + 1) : -1;
}

static int listen_on(lpw_tserver_t *s, const char *addr_text, int port, coap_proto_t proto)
{
	coap_address_t addr;
	coap_address_init(&addr);
	if (inet_pton(AF_INET, addr_text, &addr.addr.sin.sin_addr) == 1) {
		addr.addr.sin.sin_family = AF_INET;
		addr.addr.sin.sin_port = htons((uint16_t)port);
		addr.size = sizeof(addr.addr.sin);
	} else if (inet_pton(AF_INET6, addr_text, &addr.addr.sin6.sin6_addr) == 1) {
		addr.addr.sin6.sin6_family = AF_INET6;
		addr.addr.sin6.sin6_port = htons((uint16_t)port);
		addr.size = sizeof(addr.addr.sin6);
	} else {
		LPW_ERR("server", "--listen %s is not a numeric IPv4 or IPv6 address", addr_text);
		return -EINVAL;
	}
	coap_endpoint_t *ep = coap_new_endpoint(s->ctx, &addr, proto);
	if (!ep) {
		LPW_ERR("server", "cannot listen on %s port %d (%s)", addr_text, port,
		        proto == COAP_PROTO_TLS ? "tls" : "tcp");
		return -EADDRINUSE;
	}
	return endpoint_port(ep);
}

/* ---- the loop glue ---- */

static void coap_readable(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_tserver_t *s = arg;
	coap_io_process(s->ctx, COAP_IO_NO_WAIT);
}

/* Before every sleep: let libcoap arm its timerfd for its next retransmission, ping or session timeout,
 * so its fd wakes us; nothing polls. */
static void coap_prepare(lpw_loop_t *loop, void *arg)
{
	lpw_tserver_t *s = arg;
	coap_tick_t now;
	coap_ticks(&now);
	coap_io_prepare_epoll(s->ctx, now);
}

static int setup_context(lpw_tserver_t *s, const lpw_tserver_config_t *cfg)
{
	coap_resource_t *unknown;
	s->ctx = coap_new_context(NULL);
	if (!s->ctx)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(extra_options) / sizeof(extra_options[0]); i++)
		coap_register_option(s->ctx, extra_options[i]);
	if (cfg->csm_max_message_size)
		coap_context_set_csm_max_message_size(s->ctx, cfg->csm_max_message_size);
	/* RFC 7959 through libcoap: requests larger than the peer's CSM Max-Message-Size go out as Block1 transfers.
	 * SINGLE_BODY: 4.3.1 hands a Block1 upload to us (a Register's object list) and a Block2 response to our
	 * request to the handler whole, once; without it each block reaches the handler on its own (a 140-byte
	 * Register in 64-byte blocks was refused as "unterminated link at offset 60"). Not with OSCORE: outer
	 * block-wise would have to be reassembled before verification (RFC 8613 §4.1.3.4.2), and the protected
	 * request is built before libcoap sees it. */
	if (!cfg->oscore)
		coap_context_set_block_mode(s->ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
	coap_register_response_handler(s->ctx, on_response);
	coap_register_event_handler(s->ctx, on_event);
	/* Register/Update/De-register paths are dynamic (/rd/<id>): one unknown-resource handler per method. */
	unknown = coap_resource_unknown_init2(on_other, 0);
	if (!unknown)
		return -ENOMEM;
	coap_register_request_handler(unknown, COAP_REQUEST_POST, on_post);
	coap_register_request_handler(unknown, COAP_REQUEST_DELETE, on_delete);
	coap_register_request_handler(unknown, COAP_REQUEST_GET, on_other);
	coap_register_request_handler(unknown, COAP_REQUEST_FETCH, on_other);
	coap_register_request_handler(unknown, COAP_REQUEST_PATCH, on_other);
	coap_register_request_handler(unknown, COAP_REQUEST_IPATCH, on_other);
	coap_add_resource(s->ctx, unknown);
	s->coap_fd = coap_context_get_coap_fd(s->ctx);
	if (s->coap_fd < 0) {
		LPW_ERR("server", "this libcoap was built without epoll support");
		return -ENOTSUP;
	}
	return 0;
}

static int setup_listeners(lpw_tserver_t *s, const lpw_tserver_config_t *cfg)
{
	int rc;
	if (cfg->tls_port >= 0) {
		if (!coap_tls_is_supported()) {
			LPW_ERR("server", "this libcoap has no TLS support");
			return -ENOTSUP;
		}
		if (s->psk_count && (rc = setup_psk(s)))
			return rc;
		if (cfg->cert_file && (rc = setup_pki(s, cfg)))
			return rc;
		if ((s->tls_port = listen_on(s, cfg->listen, cfg->tls_port, COAP_PROTO_TLS)) < 0)
			return s->tls_port;
	}
	if (cfg->tcp_port >= 0 && (s->tcp_port = listen_on(s, cfg->listen, cfg->tcp_port, COAP_PROTO_TCP)) < 0)
		return s->tcp_port;
	return 0;
}

lpw_tserver_t *lpw_tserver_new(lpw_loop_t *loop, const lpw_tserver_config_t *cfg)
{
	if (the_server)
		return NULL;
	lpw_tserver_t *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = loop;
	s->coap_fd = -1;
	s->tcp_port = s->tls_port = -1;
	s->psks = cfg->psks;
	s->psk_count = cfg->psk_count;
	s->oscore = cfg->oscore;
	coap_startup();
	coap_set_log_handler(coap_log_to_ours);
	coap_set_log_level(cfg->coap_debug ? LOG_DEBUG : LOG_WARNING);
	coap_dtls_set_log_level(cfg->coap_debug ? LOG_DEBUG : LOG_WARNING);
	the_server = s;
	s->dir = lpw_directory_new(loop, registration_expired, s);
	s->requests = lpw_requests_new(loop, cfg->request_timeout_ms);
	if (!s->dir || !s->requests || setup_context(s, cfg) || setup_listeners(s, cfg))
		goto fail;
	lpw_requests_set_oscore(s->requests, cfg->oscore);
	lpw_requests_set_block(s->requests, !cfg->oscore);
	if (lpw_loop_add_fd(loop, s->coap_fd, EPOLLIN, coap_readable, s) || lpw_loop_add_prepare(loop, coap_prepare, s))
		goto fail;
	return s;
fail:
	lpw_tserver_free(s);
	return NULL;
}

void lpw_tserver_free(lpw_tserver_t *s)
{
	if (!s)
		return;
	if (s->coap_fd >= 0)
		lpw_loop_del_fd(s->loop, s->coap_fd);
	/* Release our session references before the context frees the sessions. */
	lpw_requests_free(s->requests);
	s->requests = NULL;
	lpw_directory_free(s->dir);
	s->dir = NULL;
	if (s->ctx)
		coap_free_context(s->ctx);
	coap_cleanup();
	free(s->psk_keys);
	free(s);
	the_server = NULL;
}

int lpw_tserver_port(const lpw_tserver_t *s, bool tls)
{
	return tls ? s->tls_port : s->tcp_port;
}

int lpw_tserver_execute(lpw_tserver_t *s, uint64_t id, const lpw_command_t *cmd, char *reason, size_t rlen)
{
	int rc;
	if (cmd->kind == LPW_CMD_QUIT) {
		snprintf(reason, rlen, "quit is handled by the caller");
		return -EINVAL;
	}
	if (cmd->kind == LPW_CMD_LIST) {
		lpw_emit(json_pack("{s:s, s:I, s:s}", "event", "accepted", "id", (json_int_t)id, "cmd", "list"));
		lpw_emit(json_pack("{s:s, s:I, s:o}", "event", "registrations", "id", (json_int_t)id, "items",
		                   lpw_directory_to_json(s->dir)));
		return 0;
	}
	lpw_registration_t *reg = lpw_directory_find_ep(s->dir, cmd->ep);
	if (!reg) {
		snprintf(reason, rlen, "unknown endpoint %s", cmd->ep);
		return -ENOENT;
	}
	if (cmd->kind == LPW_CMD_CANCEL) {
		rc = lpw_requests_cancel(s->requests, id, cmd, reason, rlen);
	} else if (!reg->session) {
		snprintf(reason, rlen, "endpoint %s has no open session", cmd->ep);
		return -ENOTCONN;
	} else {
		rc = lpw_requests_send(s->requests, id, cmd, reg->session, reason, rlen);
	}
	if (rc == 0)
		lpw_emit(json_pack("{s:s, s:I, s:s}", "event", "accepted", "id", (json_int_t)id, "cmd",
		                   lpw_command_name(cmd->kind)));
	return rc;
}
