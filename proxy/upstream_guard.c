/* The first-message guard of new upstream sessions: see upstream_guard.h for why and how. */
#include "proxy/upstream_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef LPW_COAP_OPENSSL
#include <openssl/bio.h>
#include <openssl/ssl.h>
#endif

#include "core/log.h"
#include "proxy/csm.h"

int lpw_guard_next_fd(int any_fd)
{
	int fd = fcntl(any_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	return fd;
}

/* libcoap's epoll data for fd, from the "tfd: N events: E data: D" lines the kernel prints for an epoll
 * descriptor (proc(5)). A streaming scan: the file has one line per session of the context. */
static int find_epoll_data(int epfd, int fd, void **out)
{
	char path[64], buf[8192];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	size_t have = 0;
	int rc = -ENOENT;
	for (;;) {
		ssize_t n = read(f, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			int tfd;
			unsigned events;
			unsigned long long data;
			if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) == 3 && tfd == fd) {
				*out = (void *)(uintptr_t)data;
				rc = 0;
				goto done;
			}
			line = nl + 1;
		}
		have = strlen(line);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0; /* a line longer than any the kernel writes: drop it */
	}
done:
	close(f);
	return rc;
}

static void set_lowat(lpw_guard_t *g, int bytes)
{
	if (g->lowat == bytes || (bytes <= 1 && g->lowat == 0))
		return;
	int v = bytes > 1 ? bytes : 1;
	if (setsockopt(g->fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)) < 0)
		LPW_DEBUG("upstream", "SO_RCVLOWAT %d: %s", v, strerror(errno));
	g->lowat = bytes > 1 ? bytes : 0;
}

#ifdef LPW_COAP_OPENSSL
/* A read gate in front of libcoap's own BIO: once the handshake is finished, reads wait until the gate opens,
 * except our own SSL_peek. Writes and controls go straight through. */
struct lpw_tls_gate {
	BIO *inner; /* libcoap's BIO (one reference held by the gate) */
	SSL *ssl;
	bool open, peeking;
	struct lpw_tls_gate **slot; /* the guard's pointer to us, cleared when OpenSSL frees the BIO */
};

static BIO_METHOD *gate_method; /* made once, lives as long as the process */

static int gate_read(BIO *b, char *out, int outl)
{
	struct lpw_tls_gate *gt = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (!gt->open && !gt->peeking && SSL_is_init_finished(gt->ssl)) {
		BIO_set_retry_read(b);
		return -1;
	}
	int r = BIO_read(gt->inner, out, outl);
	if (r <= 0 && BIO_should_retry(gt->inner))
		BIO_set_retry_read(b);
	return r;
}

static int gate_write(BIO *b, const char *in, int inl)
{
	struct lpw_tls_gate *gt = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	int r = BIO_write(gt->inner, in, inl);
	if (r <= 0 && BIO_should_retry(gt->inner))
		BIO_set_retry_write(b);
	return r;
}

static long gate_ctrl(BIO *b, int cmd, long larg, void *parg)
{
	struct lpw_tls_gate *gt = BIO_get_data(b);
	return gt ? BIO_ctrl(gt->inner, cmd, larg, parg) : 0;
}

static int gate_destroy(BIO *b)
{
	struct lpw_tls_gate *gt = BIO_get_data(b);
	if (gt) {
		if (gt->slot)
			*gt->slot = NULL;
		BIO_free(gt->inner);
		free(gt);
		BIO_set_data(b, NULL);
	}
	return 1;
}

static BIO_METHOD *gate_meth(void)
{
	if (!gate_method) {
		gate_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER, "lpw-csm-gate");
		if (gate_method && (!BIO_meth_set_read(gate_method, gate_read) || !BIO_meth_set_write(gate_method, gate_write) ||
		                    !BIO_meth_set_ctrl(gate_method, gate_ctrl) ||
		                    !BIO_meth_set_destroy(gate_method, gate_destroy))) {
			BIO_meth_free(gate_method);
			gate_method = NULL;
		}
	}
	return gate_method;
}

static SSL *session_ssl(coap_session_t *s)
{
	coap_tls_library_t lib = COAP_TLS_LIBRARY_NOTLS;
	void *tls = coap_session_get_tls(s, &lib);
	return lib == COAP_TLS_LIBRARY_OPENSSL ? tls : NULL;
}

static void install_gate(lpw_guard_t *g, coap_session_t *s)
{
	SSL *ssl = g->gate_tried ? NULL : session_ssl(s);
	if (!ssl)
		return;
	g->gate_tried = true;
	BIO *inner = SSL_get_rbio(ssl);
	if (!inner || !gate_meth())
		return;
	struct lpw_tls_gate *gt = calloc(1, sizeof(*gt));
	BIO *b = gt ? BIO_new(gate_method) : NULL;
	if (!b || !BIO_up_ref(inner)) {
		BIO_free(b);
		free(gt);
		LPW_ERR("upstream", "%s: cannot put the TLS read gate in place", coap_session_str(s));
		return;
	}
	gt->inner = inner;
	gt->ssl = ssl;
	gt->slot = &g->gate;
	BIO_set_data(b, gt);
	BIO_set_init(b, 1);
	/* libcoap's BIO holds two references, one per slot: the read slot's goes (SSL_set0_rbio frees it), the write
	 * slot keeps its own, and the gate holds the one taken above. */
	SSL_set0_rbio(ssl, b);
	g->gate = gt;
}

static void open_gate(lpw_guard_t *g)
{
	if (g->gate) {
		g->gate->open = true;
		g->gate->slot = NULL;
		g->gate = NULL;
	}
}

/* The decrypted first bytes, without consuming them. >0 bytes, 0 nothing yet, <0 the connection failed. */
static int tls_peek(lpw_guard_t *g, coap_session_t *s, uint8_t *buf, size_t cap)
{
	SSL *ssl = session_ssl(s);
	if (!ssl || !g->gate)
		return -EPROTO;
	g->gate->peeking = true;
	int n = SSL_peek(ssl, buf, (int)cap);
	g->gate->peeking = false;
	if (n > 0)
		return n;
	int err = SSL_get_error(ssl, n);
	return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE ? 0 : -EPIPE;
}
#else
static void install_gate(lpw_guard_t *g, coap_session_t *s)
{
	(void)g;
	(void)s;
}
static void open_gate(lpw_guard_t *g)
{
	(void)g;
}
static int tls_peek(lpw_guard_t *g, coap_session_t *s, uint8_t *buf, size_t cap)
{
	(void)g;
	(void)s;
	(void)buf;
	(void)cap;
	return -ENOTSUP;
}
#endif

int lpw_guard_attach(lpw_guard_t *g, coap_session_t *s, int epfd, int fd, bool tls)
{
	memset(g, 0, sizeof(*g));
	g->fd = -1;
	int type = 0;
	socklen_t tlen = sizeof(type);
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_STREAM)
		return -ENOTSOCK;
	void *sock = NULL;
	int rc = find_epoll_data(epfd, fd, &sock);
	if (rc < 0)
		return rc;
	g->fd = fd;
	g->sock = sock;
	g->tls = tls;
	g->active = true;
	if (tls)
		install_gate(g, s);
	return 0;
}

void lpw_guard_detach(lpw_guard_t *g)
{
	if (!g->active)
		return;
	set_lowat(g, 0);
	open_gate(g);
	g->active = false;
}

void lpw_guard_after(lpw_guard_t *g, coap_session_t *s)
{
	coap_session_state_t st = coap_session_get_state(s);
	if (g->active && g->tls && (st == COAP_SESSION_STATE_HANDSHAKE || st == COAP_SESSION_STATE_CSM))
		install_gate(g, s);
}

/* Whether the peer has closed its side (FIN received): then an incomplete first message never completes. */
static bool peer_closed(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && ti.tcpi_state != TCP_ESTABLISHED;
}

/* The verdict on the first message, as an action with a reason. */
static lpw_guard_action_t judge(lpw_guard_t *g, const uint8_t *buf, size_t n, char *reason, size_t cap,
                                uint16_t *out_bad_option)
{
	lpw_csm_result_t r = lpw_csm_check(buf, n, LPW_CSM_MAX);
	char name[32];
	switch (r.verdict) {
	case LPW_CSM_NEED:
		if (g->tls) { /* SSL_peek shows one record at a time: a CSM split over records cannot be checked */
			snprintf(reason, cap, "protocol error: the server's CSM does not fit its first TLS record");
			return LPW_GUARD_ABORT;
		}
		if (peer_closed(g->fd))
			return LPW_GUARD_PASS; /* libcoap reads the rest and the close: nothing complete to dispatch */
		set_lowat(g, (int)r.need);
		return LPW_GUARD_HOLD;
	case LPW_CSM_OK: {
		/* libcoap's own parser must agree, or it would drop the CSM and keep waiting for one */
		coap_pdu_t *pdu = coap_pdu_init(0, 0, 0, (size_t)r.len);
		int ok = pdu && coap_pdu_parse(COAP_PROTO_TCP, buf, (size_t)r.len, pdu);
		coap_delete_pdu(pdu);
		if (ok)
			return LPW_GUARD_RELEASE;
		snprintf(reason, cap, "protocol error: invalid CSM from the server (libcoap cannot parse it)");
		return LPW_GUARD_ABORT;
	}
	case LPW_CSM_NOT_CSM:
		lpw_csm_code_name(r.code, name, sizeof(name));
		snprintf(reason, cap, "protocol error: the server's first message is %s, not a CSM (RFC 8323 5.3.1)", name);
		return LPW_GUARD_ABORT;
	case LPW_CSM_TOO_LARGE:
		snprintf(reason, cap, "protocol error: the server's CSM is %llu bytes, above the %d we accept",
		         (unsigned long long)r.len, LPW_CSM_MAX);
		return LPW_GUARD_ABORT;
	case LPW_CSM_INVALID:
	default:
		*out_bad_option = r.bad_option;
		if (r.bad_option)
			snprintf(reason, cap, "protocol error: invalid CSM from the server: %s (option %u)", r.reason,
			         r.bad_option);
		else
			snprintf(reason, cap, "protocol error: invalid CSM from the server: %s", r.reason);
		return LPW_GUARD_ABORT;
	}
}

/* The session waits for the server's first message and the event says something may have arrived. */
static lpw_guard_action_t first_message(lpw_guard_t *g, coap_session_t *s, uint32_t *inout_events, char *reason,
                                        size_t cap, uint16_t *out_bad_option)
{
	uint8_t buf[LPW_CSM_MAX];
	uint32_t writes = *inout_events & EPOLLOUT;
	int n;
	if (g->tls) {
		n = tls_peek(g, s, buf, sizeof(buf));
		if (n < 0) { /* alert, close or error: libcoap reads it the same way and reports it */
			open_gate(g);
			*inout_events = writes | EPOLLIN;
			return LPW_GUARD_PASS;
		}
	} else {
		n = (int)recv(g->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return LPW_GUARD_PASS; /* an error and no data: libcoap reads the error */
		if (n == 0)
			return LPW_GUARD_PASS; /* closed before sending anything: libcoap reads the close */
		if (n < 0)
			n = 0;
	}
	if (n == 0) {
		*inout_events = writes;
		return LPW_GUARD_HOLD;
	}
	lpw_guard_action_t a = judge(g, buf, (size_t)n, reason, cap, out_bad_option);
	if (a == LPW_GUARD_HOLD)
		*inout_events = writes;
	if (a == LPW_GUARD_RELEASE) {
		lpw_guard_detach(g);
		*inout_events |= EPOLLIN; /* TLS: the CSM waits in OpenSSL's buffer, the socket may be quiet */
	}
	return a;
}

lpw_guard_action_t lpw_guard_event(lpw_guard_t *g, coap_session_t *s, uint32_t *inout_events, char *reason, size_t cap,
                                   uint16_t *out_bad_option)
{
	*out_bad_option = 0;
	switch (coap_session_get_state(s)) {
	case COAP_SESSION_STATE_CONNECTING:
		/* The connect is done when the socket is writable; data may already wait behind it (a server that
		 * talks first): libcoap may finish the connect and send its CSM, never read yet. */
		if (*inout_events & EPOLLOUT)
			*inout_events = EPOLLOUT;
		return LPW_GUARD_PASS;
	case COAP_SESSION_STATE_HANDSHAKE:
		if (g->tls)
			install_gate(g, s); /* once: the gate holds back what follows the handshake */
		return LPW_GUARD_PASS;
	case COAP_SESSION_STATE_CSM:
		/* The handshake may have ended inside the event that started it (seen on loopback): the gate then
		 * comes now, before anything reads past the handshake (OpenSSL reads no application data ahead). */
		if (g->tls)
			install_gate(g, s);
		if (!(*inout_events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
			return LPW_GUARD_PASS;
		return first_message(g, s, inout_events, reason, cap, out_bad_option);
	default:
		return LPW_GUARD_PASS;
	}
}

void lpw_guard_send_abort(lpw_guard_t *g, coap_session_t *s, uint16_t bad_option, const char *diag)
{
	uint8_t buf[160];
	ssize_t n = lpw_csm_abort(buf, sizeof(buf), bad_option, diag);
	if (n <= 0 || !g->active)
		return;
#ifdef LPW_COAP_OPENSSL
	if (g->tls) {
		SSL *ssl = session_ssl(s);
		if (ssl && SSL_is_init_finished(ssl) && SSL_write(ssl, buf, (int)n) <= 0)
			LPW_DEBUG("upstream", "%s: Abort not sent", coap_session_str(s));
		return;
	}
#endif
	if (g->tls)
		return;
	if (send(g->fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
		LPW_DEBUG("upstream", "%s: Abort not sent (%s)", coap_session_str(s), strerror(errno));
}
