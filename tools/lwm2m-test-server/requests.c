/* Server-initiated requests of the test LwM2M server. Every request PDU is built by build_pdu() (and protected in
 * send_spec() when OSCORE is on) and every response goes through lpw_requests_on_response(). */
#include "tools/lwm2m-test-server/requests.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "tools/common/parse.h"
#include "tools/lwm2m-test-server/emit.h"
#include "tools/lwm2m-test-server/wire.h"

#define TOKEN_LEN 8

typedef struct pending {
	lpw_requests_t *rq;
	uint64_t id;         /* the id the next plain response is reported under */
	uint64_t observe_id; /* the observe command's id; 0 when this is no observation */
	bool observing;      /* the observation was accepted (first 2.xx with Observe) */
	bool cancelling;     /* a cancel GET is in flight under id */
	char ep[LPW_CMD_EP_MAX + 1];
	char path[LPW_CMD_PATH_MAX + 1];
	int accept;
	coap_session_t *session; /* referenced */
	uint8_t token[TOKEN_LEN];
	lpw_oscore_req_info_t osc;     /* OSCORE: the request in flight (also a cancel) */
	lpw_oscore_req_info_t osc_obs; /* OSCORE: the Observe registration notifications are bound to */
	/* A request with a body sent through libcoap's block-wise code keeps what it needs to be sent again smaller
	 * after a 4.13 (RFC 7959 §2.9.3). */
	coap_pdu_code_t code;
	int format;
	uint8_t *body; /* owned copy; NULL when the request cannot be retried */
	size_t body_len;
	unsigned szx;  /* the Block1 size exponent we asked for; 7: none, libcoap chose */
	lpw_timer_t timeout;
	struct pending *next;
} pending_t;

struct lpw_requests {
	lpw_loop_t *loop;
	int64_t timeout_ms;
	pending_t *head;
	lpw_oscore_ctx_t *oscore; /* borrowed */
	bool block;               /* the context runs libcoap's block-wise transfers (COAP_BLOCK_USE_LIBCOAP) */
};

/* What one request looks like on the wire, before it becomes a PDU. */
typedef struct {
	coap_pdu_code_t code;
	const uint8_t *token;
	int observe; /* -1: no Observe option */
	const char *path;
	const char *query; /* '&'-separated, NULL for none */
	int format;        /* -1: none */
	int accept;        /* -1: none */
	const uint8_t *payload;
	size_t payload_len;
	bool large;   /* hand the payload to libcoap, which sends it block-wise (RFC 7959 Block1) if it must */
	bool noblock; /* one message whatever the peer accepts: a test provoking 4.13 */
	int block1_szx; /* with large: blocks of at most 16 << szx bytes (libcoap honours a Block1 we set); -1 none */
} request_spec_t;

lpw_requests_t *lpw_requests_new(lpw_loop_t *loop, int64_t timeout_ms)
{
	lpw_requests_t *rq = calloc(1, sizeof(*rq));
	if (!rq)
		return NULL;
	rq->loop = loop;
	rq->timeout_ms = timeout_ms;
	return rq;
}

static void drop(pending_t *p)
{
	pending_t **pp = &p->rq->head;
	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	lpw_loop_timer_clear(p->rq->loop, &p->timeout);
	coap_session_release(p->session);
	free(p->body);
	free(p);
}

void lpw_requests_free(lpw_requests_t *rq)
{
	if (!rq)
		return;
	while (rq->head)
		drop(rq->head);
	free(rq);
}

/* Adds one option per '/'- or '&'-separated part of s (empty parts skipped). */
static int add_split(coap_optlist_t **list, uint16_t number, const char *s, char sep)
{
	while (s && *s) {
		const char *end = strchr(s, sep);
		size_t n = end ? (size_t)(end - s) : strlen(s);
		if (n && !coap_insert_optlist(list, coap_new_optlist(number, n, (const uint8_t *)s)))
			return -ENOMEM;
		s = end ? end + 1 : NULL;
	}
	return 0;
}

static int add_uint(coap_optlist_t **list, uint16_t number, unsigned value)
{
	uint8_t buf[4];
	unsigned n = coap_encode_var_safe(buf, sizeof(buf), value);
	return coap_insert_optlist(list, coap_new_optlist(number, n, buf)) ? 0 : -ENOMEM;
}

static void free_large(coap_session_t *session, void *copy)
{
	free(copy);
}

/* libcoap keeps a large body by reference until the last block is out: it gets its own copy, freed by libcoap
 * through free_large(). */
static int add_large(coap_session_t *session, coap_pdu_t *pdu, const request_spec_t *spec)
{
	uint8_t *copy = malloc(spec->payload_len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, spec->payload, spec->payload_len);
	/* a server session is established by definition, so this never runs libcoap's nested wait for a CSM
	 * (DESIGN.md decision 1) */
	if (!coap_add_data_large_request(session, pdu, spec->payload_len, copy, free_large, copy))
		return -EMSGSIZE; /* libcoap released the copy */
	return 0;
}

/* Room for a one-message request that ignores the peer's limit: header, token and options fit in 512 bytes. */
#define NOBLOCK_OVERHEAD 512

/* The one place request PDUs are built. Sized explicitly with coap_pdu_init (see DESIGN.md decision 1). */
static int build_pdu(coap_session_t *session, const request_spec_t *spec, coap_pdu_t **out)
{
	coap_optlist_t *opts = NULL;
	int rc = -ENOMEM;
	size_t size = coap_session_max_pdu_size(session);
	if (spec->noblock && size < spec->payload_len + NOBLOCK_OVERHEAD)
		size = spec->payload_len + NOBLOCK_OVERHEAD;
	coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, spec->code, coap_new_message_id(session), size);
	if (!pdu)
		return -ENOMEM;
	if (!coap_add_token(pdu, TOKEN_LEN, spec->token))
		goto out;
	if ((spec->observe >= 0 && add_uint(&opts, COAP_OPTION_OBSERVE, (unsigned)spec->observe)) ||
	    add_split(&opts, COAP_OPTION_URI_PATH, spec->path, '/') ||
	    (spec->format >= 0 && add_uint(&opts, COAP_OPTION_CONTENT_FORMAT, (unsigned)spec->format)) ||
	    add_split(&opts, COAP_OPTION_URI_QUERY, spec->query, '&') ||
	    (spec->accept >= 0 && add_uint(&opts, COAP_OPTION_ACCEPT, (unsigned)spec->accept)) ||
	    (spec->large && spec->block1_szx >= 0 && add_uint(&opts, COAP_OPTION_BLOCK1, (unsigned)spec->block1_szx)))
		goto out;
	rc = -EMSGSIZE;
	if (opts && !coap_add_optlist_pdu(pdu, &opts))
		goto out;
	if (spec->payload_len && spec->large) {
		if ((rc = add_large(session, pdu, spec)))
			goto out;
	} else if (spec->payload_len && !coap_add_data(pdu, spec->payload_len, spec->payload)) {
		goto out;
	}
	*out = pdu;
	pdu = NULL;
	rc = 0;
out:
	coap_delete_optlist(opts);
	coap_delete_pdu(pdu);
	return rc;
}

static void timed_out(lpw_timer_t *timer, int64_t now_ms)
{
	pending_t *p = lpw_container_of(timer, pending_t, timeout);
	lpw_emit(json_pack("{s:s, s:I, s:s, s:s}", "event", "error", "id", (json_int_t)p->id, "ep", p->ep, "detail",
	                   "timeout"));
	if (p->cancelling) {
		/* The cancel timed out: the observation itself is still there, so keep it. */
		p->cancelling = false;
		p->id = p->observe_id;
		return;
	}
	drop(p);
}

void lpw_requests_set_oscore(lpw_requests_t *rq, lpw_oscore_ctx_t *ctx)
{
	rq->oscore = ctx;
}

void lpw_requests_set_block(lpw_requests_t *rq, bool on)
{
	rq->block = on;
}

/* OSCORE: replaces *pdu by its protected form and remembers what the answers are bound to. */
static int protect(pending_t *p, const request_spec_t *spec, coap_pdu_t **pdu)
{
	coap_pdu_t *prot = coap_pdu_init(COAP_MESSAGE_CON, 0, coap_pdu_get_mid(*pdu),
	                                 coap_session_max_pdu_size(p->session));
	int rc = prot ? lpw_oscore_protect_request(p->rq->oscore, *pdu, prot, &p->osc) : -ENOMEM;
	if (rc) {
		coap_delete_pdu(prot);
		return rc;
	}
	if (spec->observe == 0)
		p->osc_obs = p->osc;
	coap_delete_pdu(*pdu);
	*pdu = prot;
	lpw_wire_emit("out", prot);
	return 0;
}

static int send_spec(pending_t *p, const request_spec_t *spec, char *reason, size_t rlen)
{
	coap_pdu_t *pdu = NULL;
	int rc = build_pdu(p->session, spec, &pdu);
	if (rc) {
		lpw_parse_fail(reason, rlen, "%s", rc == -EMSGSIZE ? "request does not fit the session's message size"
		                                                   : "out of memory");
		return rc;
	}
	if (p->rq->oscore && (rc = protect(p, spec, &pdu))) {
		coap_delete_pdu(pdu);
		lpw_parse_fail(reason, rlen, "OSCORE: %s", lpw_oscore_strerror(rc));
		return rc;
	}
	if (coap_send(p->session, pdu) == COAP_INVALID_MID) {
		lpw_parse_fail(reason, rlen, "libcoap refused to send");
		return -EIO;
	}
	if (lpw_loop_timer_in(p->rq->loop, &p->timeout, p->rq->timeout_ms)) {
		lpw_parse_fail(reason, rlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static coap_pdu_code_t method_of(lpw_cmd_kind_t kind)
{
	switch (kind) {
	case LPW_CMD_WRITE:
	case LPW_CMD_WRITE_NOBLOCK:
	case LPW_CMD_WRITE_ATTR:
		return COAP_REQUEST_CODE_PUT;
	case LPW_CMD_WRITE_PARTIAL:
	case LPW_CMD_EXEC:
	case LPW_CMD_CREATE:
		return COAP_REQUEST_CODE_POST;
	case LPW_CMD_DELETE:
		return COAP_REQUEST_CODE_DELETE;
	case LPW_CMD_READ_COMPOSITE:
		return COAP_REQUEST_CODE_FETCH;
	default:
		return COAP_REQUEST_CODE_GET;
	}
}

int lpw_requests_send(lpw_requests_t *rq, uint64_t id, const lpw_command_t *cmd, coap_session_t *session,
                      char *reason, size_t rlen)
{
	if (cmd->kind == LPW_CMD_CANCEL || cmd->kind == LPW_CMD_LIST || cmd->kind == LPW_CMD_QUIT)
		return lpw_parse_fail(reason, rlen, "%s is not a request", lpw_command_name(cmd->kind));
	pending_t *p = calloc(1, sizeof(*p));
	if (!p)
		return lpw_parse_fail(reason, rlen, "out of memory"), -ENOMEM;
	p->rq = rq;
	p->id = id;
	p->observe_id = cmd->kind == LPW_CMD_OBSERVE ? id : 0;
	p->accept = cmd->accept;
	snprintf(p->ep, sizeof(p->ep), "%s", cmd->ep);
	snprintf(p->path, sizeof(p->path), "%s", cmd->path);
	/* The token is the request number: unique for this run, and it lets a capture be read by eye. */
	for (int i = 0; i < TOKEN_LEN; i++)
		p->token[i] = (uint8_t)(id >> (8 * (TOKEN_LEN - 1 - i)));
	p->session = coap_session_reference(session);
	lpw_timer_init(&p->timeout, timed_out);
	p->next = rq->head;
	rq->head = p;

	/* LwM2M 1.1.1 Discover: GET with Accept application/link-format (40). */
	request_spec_t spec = {
		.code = method_of(cmd->kind),
		.token = p->token,
		.observe = cmd->kind == LPW_CMD_OBSERVE ? 0 : -1,
		.path = cmd->path,
		.query = cmd->kind == LPW_CMD_WRITE_ATTR ? cmd->query : NULL,
		.format = cmd->format,
		.accept = cmd->kind == LPW_CMD_DISCOVER ? LPW_CF_LINK : cmd->accept,
		.payload = cmd->payload,
		.payload_len = cmd->payload_len,
		.large = rq->block && cmd->kind != LPW_CMD_WRITE_NOBLOCK,
		.noblock = cmd->kind == LPW_CMD_WRITE_NOBLOCK,
		.block1_szx = -1,
	};
	p->code = spec.code;
	p->format = spec.format;
	p->szx = 7;
	if (spec.large && cmd->payload_len && cmd->kind != LPW_CMD_READ_COMPOSITE &&
	    (p->body = malloc(cmd->payload_len))) {
		memcpy(p->body, cmd->payload, cmd->payload_len);
		p->body_len = cmd->payload_len;
	}
	int rc = send_spec(p, &spec, reason, rlen);
	if (rc)
		drop(p);
	return rc;
}

/* RFC 7959 §2.9.3: a 4.13 to a request with Block1 whose own Block1 has a smaller SZX is a hint to try that size;
 * a 4.13 to a request without Block1 is a hint to try Block1, Size1 (RFC 7959 §4) giving the most the peer takes.
 * The block size exponent we may retry with, or -1. Each retry is smaller than the last, so they end. */
static int smaller_szx(const pending_t *p, const coap_pdu_t *received)
{
	unsigned v = 0, szx;
	coap_opt_iterator_t it;
	coap_opt_t *b1 = coap_check_option(received, COAP_OPTION_BLOCK1, &it);
	coap_opt_t *s1 = coap_check_option(received, COAP_OPTION_SIZE1, &it);
	if (b1) {
		szx = coap_decode_var_bytes(coap_opt_value(b1), coap_opt_length(b1)) & 7u;
		if (szx == 7) /* BERT: no smaller size */
			return -1;
	} else if (s1 && (v = coap_decode_var_bytes(coap_opt_value(s1), coap_opt_length(s1))) >= 16 &&
	           v < p->body_len) {
		for (szx = 6; (16u << szx) > v; szx--)
			;
	} else {
		return -1;
	}
	return szx < p->szx ? (int)szx : -1;
}

/* A 4.13 to a request we can send again in smaller blocks: sent again (a "retry" event), and true. */
static bool retry_smaller(pending_t *p, const coap_pdu_t *received)
{
	if (!p->body || coap_pdu_get_code(received) != COAP_RESPONSE_CODE(413))
		return false;
	int szx = smaller_szx(p, received);
	if (szx < 0)
		return false;
	request_spec_t spec = {
		.code = p->code, .token = p->token, .observe = -1, .path = p->path, .format = p->format, .accept = -1,
		.payload = p->body, .payload_len = p->body_len, .large = true, .block1_szx = szx,
	};
	char reason[128];
	p->szx = (unsigned)szx;
	lpw_loop_timer_clear(p->rq->loop, &p->timeout);
	if (send_spec(p, &spec, reason, sizeof(reason))) {
		LPW_WARN("server", "request %llu: cannot send it again in smaller blocks: %s", (unsigned long long)p->id,
		         reason);
		return false;
	}
	lpw_emit(json_pack("{s:s, s:I, s:s, s:s, s:i}", "event", "retry", "id", (json_int_t)p->id, "ep", p->ep, "code",
	                   "4.13", "block_size", 16 << szx));
	return true;
}

/* With libcoap's block mode on, 4.3.1's coap_send() swaps the token of a GET Observe=1 for the one it uses for
 * Block2 follow-ups, which the device never saw: the cancel must go through coap_cancel_observe(), which rebuilds
 * the Observe request with the original token and Observe=1. */
static int cancel_via_libcoap(pending_t *p, char *reason, size_t rlen)
{
	coap_binary_t token = {TOKEN_LEN, p->token};
	if (!coap_cancel_observe(p->session, &token, COAP_MESSAGE_CON)) {
		lpw_parse_fail(reason, rlen, "libcoap refused to send the cancel");
		return -EIO;
	}
	if (lpw_loop_timer_in(p->rq->loop, &p->timeout, p->rq->timeout_ms)) {
		lpw_parse_fail(reason, rlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int lpw_requests_cancel(lpw_requests_t *rq, uint64_t id, const lpw_command_t *cmd, char *reason, size_t rlen)
{
	pending_t *p = rq->head;
	while (p && !(p->observe_id == cmd->target_id && strcmp(p->ep, cmd->ep) == 0))
		p = p->next;
	if (!p || !p->observing || p->cancelling) {
		lpw_parse_fail(reason, rlen, "no active observation %llu on %s", (unsigned long long)cmd->target_id,
		               cmd->ep);
		return -ENOENT;
	}
	request_spec_t spec = {
		.code = COAP_REQUEST_CODE_GET,
		.token = p->token,
		.observe = 1,
		.path = p->path,
		.format = -1,
		.accept = p->accept,
	};
	int rc = rq->block ? cancel_via_libcoap(p, reason, rlen) : send_spec(p, &spec, reason, rlen);
	if (rc == 0) {
		p->id = id;
		p->cancelling = true;
	}
	return rc;
}

static pending_t *find_token(lpw_requests_t *rq, coap_session_t *session, coap_bin_const_t token)
{
	for (pending_t *p = rq->head; p; p = p->next)
		if (p->session == session && token.length == TOKEN_LEN && memcmp(token.s, p->token, TOKEN_LEN) == 0)
			return p;
	return NULL;
}

static int option_uint(const coap_pdu_t *pdu, coap_option_num_t number, unsigned *out)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt = coap_check_option(pdu, number, &it);
	if (!opt)
		return -ENOENT;
	*out = coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt));
	return 0;
}

/* Emits one "response" or "notify" line for received; observe < 0 prints as null. */
static void emit_answer(const pending_t *p, uint64_t id, bool notify, long observe, const coap_pdu_t *received)
{
	char code[5];
	unsigned cf = 0;
	size_t len = 0;
	const uint8_t *data = NULL;

	lpw_emit_code(coap_pdu_get_code(received), code);
	coap_get_data(received, &len, &data);
	json_t *format = option_uint(received, COAP_OPTION_CONTENT_FORMAT, &cf) == 0 ? json_integer(cf) : json_null();
	json_t *obj = json_pack("{s:s, s:I, s:s}", "event", notify ? "notify" : "response", "id", (json_int_t)id,
	                        "ep", p->ep);
	if (obj && notify)
		json_object_set_new(obj, "observe", observe >= 0 ? json_integer(observe) : json_null());
	if (obj) {
		json_object_set_new(obj, "code", json_string(code));
		json_object_set_new(obj, "format", format);
		json_object_set_new(obj, "payload", lpw_emit_payload(data, len));
		json_object_set_new(obj, "payload_hex", lpw_emit_hex(data, len));
		unsigned size1 = 0; /* RFC 7959 §4: with 4.13, the size the server would accept */
		if (option_uint(received, COAP_OPTION_SIZE1, &size1) == 0)
			json_object_set_new(obj, "size1", json_integer(size1));
	} else {
		json_decref(format);
	}
	lpw_emit(obj);
}

static void on_plain_response(lpw_requests_t *rq, pending_t *p, const coap_pdu_t *received);

/* OSCORE: the verified form of received (ownership passes to the caller), or NULL after an oscore-error event.
 * A notification is bound to the registration, anything else to the request in flight (RFC 8613 §8.4). */
static coap_pdu_t *unprotect(lpw_requests_t *rq, pending_t *p, const coap_pdu_t *received)
{
	coap_opt_iterator_t it;
	bool observe = coap_check_option(received, COAP_OPTION_OBSERVE, &it) != NULL;
	lpw_oscore_req_info_t *bound = observe && p->observe_id ? &p->osc_obs : &p->osc;
	coap_pdu_t *plain = coap_pdu_init(coap_pdu_get_type(received), 0, coap_pdu_get_mid(received), 4096);
	int rc = plain ? lpw_oscore_unprotect_response(rq->oscore, received, bound, plain) : -ENOMEM;
	if (rc) {
		lpw_wire_error("response", rc, 0);
		coap_delete_pdu(plain);
		return NULL;
	}
	return plain;
}

bool lpw_requests_on_response(lpw_requests_t *rq, coap_session_t *session, const coap_pdu_t *received)
{
	pending_t *p = find_token(rq, session, coap_pdu_get_token(received));
	if (!p)
		return false;
	unsigned int cls = (unsigned int)coap_pdu_get_code(received) >> 5;
	/* an unprotected error (e.g. the device's 4.01, or a gateway's 5.xx) is reported as it is */
	if (!rq->oscore || (!lpw_oscore_has_option(received) && cls >= 4)) {
		on_plain_response(rq, p, received);
		return true;
	}
	coap_pdu_t *plain = unprotect(rq, p, received);
	if (plain)
		on_plain_response(rq, p, plain);
	coap_delete_pdu(plain);
	return true;
}

static void on_plain_response(lpw_requests_t *rq, pending_t *p, const coap_pdu_t *received)
{
	unsigned seq = 0;
	bool has_observe = option_uint(received, COAP_OPTION_OBSERVE, &seq) == 0;
	bool success = COAP_RESPONSE_CLASS(coap_pdu_get_code(received)) == 2;

	if (p->observing && (has_observe || !p->cancelling)) {
		/* A notification, also while a cancel is in flight since one may cross it. One without Observe
		 * or with an error code ends the observation (RFC 7641 §3.2, §4.2). */
		emit_answer(p, p->observe_id, true, has_observe ? (long)seq : -1, received);
		if (!success || !has_observe)
			drop(p);
		return;
	}
	if (!p->observing && !p->cancelling && retry_smaller(p, received))
		return;
	emit_answer(p, p->id, false, -1, received);
	if (p->observe_id && !p->observing && !p->cancelling && has_observe && success) {
		/* The observation is established: it lives until cancelled, with no timeout. */
		p->observing = true;
		lpw_loop_timer_clear(rq->loop, &p->timeout);
		return;
	}
	drop(p);
}

void lpw_requests_session_closed(lpw_requests_t *rq, coap_session_t *session)
{
	pending_t *p = rq->head;
	while (p) {
		pending_t *next = p->next;
		if (p->session == session) {
			lpw_emit(json_pack("{s:s, s:I, s:s, s:s}", "event", "error", "id",
			                   (json_int_t)p->id, "ep", p->ep, "detail", "session closed"));
			drop(p);
		}
		p = next;
	}
}
