/* Watching a new upstream session until the server's first message has proven to be a valid CSM.
 * Only proxy/upstream.c includes this.
 *
 * Why (DESIGN.md decision 1, issue 16 item 1): libcoap 4.3.1 dispatches whatever the server sends, and its
 * request path (handle_request) sizes the response with coap_session_max_pdu_size() before any handler of ours
 * runs. On a client session that has not received the server's CSM that call nests coap_io_process() for up to
 * 5 s (coap_client_delay_first), and a second request during that wait hits assert(0). So libcoap must never
 * read the server's bytes before we know the first message is a CSM (RFC 8323 §5.3.1 makes anything else a
 * protocol error anyway). The upstream does libcoap's epoll_wait itself and hands every event to
 * coap_io_do_epoll() except those of a guarded socket, which this file decides on:
 *   - TCP: the first message is read with MSG_PEEK; SO_RCVLOWAT keeps an incomplete one from waking the loop.
 *   - TLS (OpenSSL backend): a read gate in front of libcoap's BIO stops OpenSSL from reading application data
 *     once the handshake is done, even inside the read that completes it; the first message is then looked at
 *     with SSL_peek and libcoap is handed the socket's event once it is a CSM.
 * To match events with sessions, the guard learns the session's socket (the lowest free descriptor libcoap's
 * socket() takes, checked) and the epoll data libcoap registered for it (from /proc/self/fdinfo of libcoap's
 * epoll descriptor), which it only ever gives back to libcoap.
 */
#ifndef LPW_UPSTREAM_GUARD_H
#define LPW_UPSTREAM_GUARD_H

#include <coap3/coap.h>
#include <stdbool.h>
#include <stdint.h>

struct lpw_tls_gate;

typedef struct {
	bool active;               /* attached and the first message not yet accepted */
	bool tls;
	int fd;                    /* the session's socket */
	void *sock;                /* libcoap's epoll data for that socket: opaque, only compared and given back */
	int lowat;                 /* SO_RCVLOWAT we set; 0 = the default */
	struct lpw_tls_gate *gate; /* owned by the session's SSL object (freed with it); NULL when none */
	bool gate_tried;           /* installing it was attempted (once per session) */
} lpw_guard_t;

typedef enum {
	LPW_GUARD_PASS,    /* hand the (possibly reduced) events to libcoap */
	LPW_GUARD_HOLD,    /* hand libcoap only the reduced events (maybe none); wait for more bytes */
	LPW_GUARD_RELEASE, /* the first message is a valid CSM: from now on libcoap gets everything */
	LPW_GUARD_ABORT,   /* a protocol error: send Abort and close; reason says why */
} lpw_guard_action_t;

/* The descriptor number the next socket() will get (the lowest free one), found without keeping it open.
 * any_fd: any open descriptor. -errno on failure. */
int lpw_guard_next_fd(int any_fd);

/* Starts guarding session s, whose socket libcoap has just created at fd (from lpw_guard_next_fd before the
 * session was made) and registered in its epoll descriptor epfd. 0, or -errno (-ENOENT: no such registration,
 * -ENOTSOCK: fd is not a stream socket) with g left inactive. */
int lpw_guard_attach(lpw_guard_t *g, coap_session_t *s, int epfd, int fd, bool tls);

/* Stops guarding (the session is gone or proven). Harmless when inactive. Puts SO_RCVLOWAT back. */
void lpw_guard_detach(lpw_guard_t *g);

/* Whether the epoll data of an event belongs to this guard. */
static inline bool lpw_guard_owns(const lpw_guard_t *g, const void *sock)
{
	return g->active && g->sock == sock;
}

/*
 * Decides on one epoll event of the guarded session s: *inout_events is reduced to what libcoap may see now.
 * On LPW_GUARD_ABORT, reason (cap bytes) says why and *out_bad_option names the CSM option at fault (or 0).
 * On LPW_GUARD_RELEASE the guard is detached and *inout_events includes EPOLLIN.
 */
lpw_guard_action_t lpw_guard_event(lpw_guard_t *g, coap_session_t *s, uint32_t *inout_events, char *reason, size_t cap,
                                   uint16_t *out_bad_option);

/* After libcoap handled an event of s: puts the TLS read gate in place as soon as the TLS object exists. */
void lpw_guard_after(lpw_guard_t *g, coap_session_t *s);

/* Sends an Abort signal (RFC 8323 §5.6) with diag on s's connection, best effort, without libcoap (whose queue
 * holds everything until the CSM exchange is over). */
void lpw_guard_send_abort(lpw_guard_t *g, coap_session_t *s, uint16_t bad_option, const char *diag);

#endif
