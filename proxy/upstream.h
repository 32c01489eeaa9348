/* Upstream links: one CoAP-over-TCP/TLS client session (RFC 8323) per (device, LwM2M server), on libcoap,
 * inside our loop, with reconnect back-off and the TLS alert rules of LwM2M 1.1.1 §5.2.9. */
#ifndef LPW_UPSTREAM_H
#define LPW_UPSTREAM_H

#include <coap3/coap.h>
#include <stdint.h>

#include "config/config.h"
#include "core/loop.h"

typedef struct lpw_upstream lpw_upstream_t;
typedef struct lpw_uplink lpw_uplink_t;

typedef enum {
	LPW_LINK_DOWN,       /* not connected; a retry may be scheduled */
	LPW_LINK_CONNECTING, /* TCP/TLS/CSM in progress: nothing may be built or sent on it yet (DESIGN.md trap) */
	LPW_LINK_UP,         /* CSM exchanged: requests may be sent */
	LPW_LINK_FAILED,     /* a "fail" TLS alert: no more retries until the configuration changes */
} lpw_link_state_t;

/* Callbacks into the link's owner (the proxy). Called from inside coap_io_process: they must not free the
 * link or call back into libcoap's I/O, but may send on any link that is UP. */
typedef struct {
	void (*state_changed)(void *owner, lpw_uplink_t *link, lpw_link_state_t state, const char *reason);
	/* A response to a request we sent on this link (matched by token by the owner). */
	void (*response)(void *owner, lpw_uplink_t *link, const coap_pdu_t *response);
	/* A request the server sent on this link (only ever on a link that is UP). Nothing is answered unless the
	 * owner later calls lpw_uplink_send() with a response carrying the request's token. */
	void (*request)(void *owner, lpw_uplink_t *link, const coap_pdu_t *request);
	/* A notable condition of the link that is not a state change (type: "upstream-handshake-failing"). May
	 * be NULL. */
	void (*event)(void *owner, lpw_uplink_t *link, const char *type, const char *detail);
} lpw_upstream_hooks_t;

/* The back-off policy (issue 16 item 7): a lost session is retried after reconnect_min, doubling up to
 * reconnect_max with jitter. The back-off starts again from reconnect_min only once a session has stayed UP
 * for LPW_UPLINK_STABLE_MS: completing the CSM exchange proves nothing (a server may drop every session right
 * after it), and a registration answered is no proof either (a server may drop it after its 2.01, and an
 * OSCORE device's registration is opaque to the gateway). */
#define LPW_UPLINK_STABLE_MS 60000
/* LwM2M 1.1.1 §5.2.9 calls handshake_failure a "retry", but OpenSSL servers answer a wrong PSK identity with
 * it (issue 10 item 12): after this many TLS handshakes in a row fail with the same credentials, the link
 * raises "upstream-handshake-failing", says so in its reason, and keeps retrying every reconnect_max. */
#define LPW_UPLINK_SUSPECT_FAILURES 5

/* cfg, hooks: borrowed, must outlive the upstream. NULL on failure. */
lpw_upstream_t *lpw_upstream_new(lpw_loop_t *loop, const lpw_config_upstream_t *cfg, const lpw_upstream_hooks_t *hooks);
/* Closes every link's session; the links themselves must have been freed by their owners. Accepts NULL. */
void lpw_upstream_free(lpw_upstream_t *up);

/* A link for device to server. max_message_size is advertised to the server as the CSM Max-Message-Size
 * (0 = libcoap's default). dev, srv: borrowed, must outlive the link. owner: passed to the hooks.
 * The link starts DOWN; call lpw_uplink_connect(). NULL on allocation failure. */
lpw_uplink_t *lpw_uplink_new(lpw_upstream_t *up, const lpw_config_device_t *dev, const lpw_config_server_t *srv,
                             uint32_t max_message_size, void *owner);
/* Closes the session (no hooks are called) and frees. Accepts NULL. */
void lpw_uplink_free(lpw_uplink_t *link);
/* A reload replaced the configuration: the link keeps its session and now reads dev and srv (borrowed, same
 * content as before for everything the session was opened with). */
void lpw_uplink_rebind(lpw_uplink_t *link, const lpw_config_device_t *dev, const lpw_config_server_t *srv);
/* New upstream settings (borrowed): back-off bounds apply to the next retry, CSM timeout and ping interval to
 * size classes made from now on. */
void lpw_upstream_reconfigure(lpw_upstream_t *up, const lpw_config_upstream_t *cfg);

/* Starts connecting if DOWN and no retry is pending; no-op otherwise. A host name is looked up without
 * blocking, again at every attempt. The whole setup (lookup, TCP connect, TLS handshake, the server's CSM) must
 * end within upstream.csm_timeout. Returns 0 or -ENOMEM; failures arrive through state_changed (DOWN with a
 * reason, a retry scheduled). */
int lpw_uplink_connect(lpw_uplink_t *link);

/* Sends pdu (ownership passes, also on error). Only when UP: -ENOTCONN otherwise; -EIO if libcoap refuses. */
int lpw_uplink_send(lpw_uplink_t *link, coap_pdu_t *pdu);

lpw_link_state_t lpw_uplink_state(const lpw_uplink_t *link);
const char *lpw_uplink_reason(const lpw_uplink_t *link); /* why the link is DOWN/FAILED; "" when UP */
const lpw_config_server_t *lpw_uplink_server(const lpw_uplink_t *link);
uint32_t lpw_uplink_reconnects(const lpw_uplink_t *link);
/* While the link is DOWN with its next attempt scheduled (an outage, in back-off): milliseconds until that
 * attempt. -1 otherwise (UP, connecting, waiting for a connection slot, or FAILED). */
int64_t lpw_uplink_retry_in_ms(const lpw_uplink_t *link);
const char *lpw_link_state_name(lpw_link_state_t state);

/* Largest PDU worth building for this upstream (our own bound, never libcoap's session query). */
#define LPW_UPSTREAM_PDU_MAX 65536

#endif
