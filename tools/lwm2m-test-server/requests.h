/* Server-initiated LwM2M requests (Read, Write, Execute, Observe, ...) sent on the endpoint's own TCP/TLS
 * session (RFC 8323), their timeouts, and every response and notification that comes back. */
#ifndef LPW_TS_REQUESTS_H
#define LPW_TS_REQUESTS_H

#include <coap3/coap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "tools/lwm2m-test-server/command.h"
#include "tools/oscore/oscore.h"

typedef struct lpw_requests lpw_requests_t;

/* loop is borrowed and must outlive the table. timeout_ms bounds each request (not an established
 * observation). NULL on allocation failure. */
lpw_requests_t *lpw_requests_new(lpw_loop_t *loop, int64_t timeout_ms);
/* Forgets everything in flight without emitting events and releases the sessions; accepts NULL. */
void lpw_requests_free(lpw_requests_t *rq);

/* With ctx (borrowed, must outlive the table; NULL turns it off) every request is OSCORE-protected and every
 * response must verify against it; failures are reported as "oscore-error" events. */
void lpw_requests_set_oscore(lpw_requests_t *rq, lpw_oscore_ctx_t *ctx);

/* on: the context runs libcoap's block-wise transfers (coap_context_set_block_mode COAP_BLOCK_USE_LIBCOAP), so
 * request payloads go through coap_add_data_large_request() (Block1 when they exceed what the session's peer
 * announced in its CSM) and cancels through coap_cancel_observe(). Must match the context's mode. */
void lpw_requests_set_block(lpw_requests_t *rq, bool on);

/* Builds the request for cmd (any verb but cancel/list/quit; borrowed) and sends it on session (a
 * reference is taken while the request is in flight) as request number id. Its response is emitted as a
 * "response" event, notifications as "notify". -EINVAL (with reason) for a verb this cannot send,
 * -ENOMEM, -EMSGSIZE when the payload does not fit the session's message size, -EIO when libcoap refuses. */
int lpw_requests_send(lpw_requests_t *rq, uint64_t id, const lpw_command_t *cmd, coap_session_t *session,
                      char *reason, size_t reason_len) __attribute__((warn_unused_result));

/* Proactively cancels (RFC 7641 §3.6: GET with Observe=1 and the same token) the observation that the
 * observe command cmd->target_id started on cmd->ep. The answer is emitted as a "response" with id.
 * -ENOENT (with reason) when there is no such observation, else as lpw_requests_send. */
int lpw_requests_cancel(lpw_requests_t *rq, uint64_t id, const lpw_command_t *cmd, char *reason,
                        size_t reason_len) __attribute__((warn_unused_result));

/* Hands a response received on session to the table (libcoap response handler). Returns true when it
 * matched a request or observation of ours. */
bool lpw_requests_on_response(lpw_requests_t *rq, coap_session_t *session, const coap_pdu_t *received);

/* Fails ("error" events) and drops everything in flight on session; call when the session closes. */
void lpw_requests_session_closed(lpw_requests_t *rq, coap_session_t *session);

#endif
