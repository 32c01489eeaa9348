/* Upstream links on libcoap 4.3.1: contexts per CSM size class joined to our loop, sessions per link,
 * reconnect back-off, TLS alert classification. */
#include "proxy/upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef LPW_COAP_OPENSSL
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#include "core/log.h"
#include "proxy/alerts.h"
#include "proxy/resolver.h"
#include "proxy/upstream_guard.h"

/* Sessions per libcoap context. libcoap 4.3.1 walks every session of a context on each coap_io_process() and
 * coap_io_do_epoll() (coap_io_prepare_io: keepalive, CSM and connect timeouts), so one context with 10 000
 * sessions costs a walk of 10 000 per event; contexts of this many keep the walk short. A context is also what
 * carries a CSM Max-Message-Size (DESIGN.md decision 1): each size class has its own shards. */
#define SESSIONS_PER_CONTEXT 64
#define SWEEP_MS 1000 /* every context's timers looked at, at least this often */
/* Sessions being opened at once. A restart with thousands of devices would otherwise send thousands of SYNs in
 * one instant, more than a server's listen backlog takes (libcoap's own is 5): the rest wait their turn. */
#define MAX_CONNECTING 32

/* One libcoap context: a size class's shard. */
struct size_class {
	lpw_upstream_t *up;
	coap_context_t *ctx;
	uint32_t max_message_size;
	int fd;                 /* libcoap's epoll descriptor: we do its epoll_wait (see process_class) */
	unsigned links;  /* links assigned to it */
	bool dirty;      /* a session was made, used or released outside its I/O: its timers need a look */
	struct size_class *next_dirty;
	lpw_uplink_t *guarded;  /* links whose session has not yet shown a valid first message */
};

struct lpw_upstream {
	lpw_loop_t *loop;
	const lpw_config_upstream_t *cfg;
	const lpw_upstream_hooks_t *hooks;
	struct size_class **classes; /* owned, each allocated on its own: loop callbacks hold pointers to them */
	size_t nclasses, cap;
	struct size_class *dirty;    /* contexts whose timers need coap_io_prepare_epoll before the loop sleeps */
	lpw_timer_t io_timer;        /* the periodic sweep over every context */
	int last_alert;       /* TLS alert seen in libcoap's log during the current I/O turn, -1 none */
	unsigned connecting;  /* links in LPW_LINK_CONNECTING */
	lpw_uplink_t *wait_head, **wait_tail; /* links waiting for a connecting slot, in order */
	lpw_timer_t admit_timer;
	uint32_t rng;
	lpw_resolver_t *resolver;
	bool in_prepare;          /* inside coap_io_prepare_epoll: a close now is libcoap's timeout, not the server */
	char log_close[160];      /* a close libcoap decided on during the current event, from its log; "" none */
	bool guard_warned;
};

struct lpw_uplink {
	lpw_upstream_t *up;
	const lpw_config_device_t *dev;
	const lpw_config_server_t *srv;
	struct size_class *cls;
	void *owner;
	coap_session_t *session;
	lpw_link_state_t state;
	char reason[224];
	uint32_t attempt;             /* back-off step; reset only by stable_timer */
	uint32_t reconnects;
	bool ever_up;
	lpw_timer_t retry_timer;
	int64_t retry_at_ms;          /* when retry_timer fires (loop clock) */
	lpw_timer_t release_timer;
	lpw_timer_t setup_timer;      /* the whole setup must end by then (upstream.csm_timeout) */
	lpw_timer_t stable_timer;     /* UP this long: the session has proven itself, the back-off resets */
	coap_session_t *dead_session; /* released outside libcoap's callbacks */
	bool waiting;                 /* queued for a connecting slot */
	lpw_uplink_t *wait_next;
	lpw_lookup_t *lookup;         /* host name lookup in progress */
	lpw_guard_t guard;            /* the first-message guard of the session */
	lpw_uplink_t *gnext, **gprev; /* in cls->guarded while the guard is active */
	bool tcp_up, tls_up;          /* this session got that far */
	char close_reason[160];       /* why the gateway itself closes the session; "" when it does not */
	uint32_t handshake_failures;  /* TLS handshakes failed in a row with the credentials of cred_print */
	uint64_t cred_print;
};

static lpw_upstream_t *log_owner; /* libcoap's log handler has no user argument */

const char *lpw_link_state_name(lpw_link_state_t s)
{
	static const char *const names[] = {"down", "connecting", "up", "failed"};
	return (unsigned)s < 4 ? names[s] : "?";
}

/* OpenSSL's long alert texts, as libcoap 4.3.1 logs them ("SSL3 alert read:fatal:decrypt error"). */
static int alert_from_text(const char *text)
{
	static const struct {
		const char *text;
		int code;
	} map[] = {
		{"close notify", 0},           {"unexpected_message", 10},    {"unexpected message", 10},
		{"bad record mac", 20},        {"decryption failed", 21},     {"record overflow", 22},
		{"decompression failure", 30}, {"handshake failure", 40},     {"no certificate", 41},
		{"bad certificate", 42},       {"unsupported certificate", 43}, {"certificate revoked", 44},
		{"certificate expired", 45},   {"certificate unknown", 46},   {"illegal parameter", 47},
		{"unknown CA", 48},            {"access denied", 49},         {"decode error", 50},
		{"decrypt error", 51},         {"protocol version", 70},      {"insufficient security", 71},
		{"internal error", 80},        {"user canceled", 90},         {"no renegotiation", 100},
		{"unsupported extension", 110}, {"certificate unobtainable", 111}, {"unrecognized name", 112},
		{"bad certificate status response", 113}, {"bad certificate hash value", 114},
		{"unknown PSK identity", 115},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(text, map[i].text) == 0)
			return map[i].code;
	return -1;
}

/* libcoap 4.3.1 closes a session itself on a message too large for it and says so only in its log: keep the
 * reason for the close event that follows within the same event (issue 16 item 6). */
static void note_libcoap_close(const char *line)
{
	if (!log_owner)
		return;
	const char *big = strstr(line, "incoming PDU length too large");
	if (big)
		snprintf(log_owner->log_close, sizeof(log_owner->log_close),
		         "closed by the gateway: the server sent a message longer than libcoap takes %s", big + 29);
	else if (strstr(line, "coap_pdu_resize: pdu too big"))
		snprintf(log_owner->log_close, sizeof(log_owner->log_close),
		         "closed by the gateway: the server sent a message above the Max-Message-Size we advertised");
}

static void coap_log_to_ours(coap_log_t level, const char *message)
{
	char line[512];
	snprintf(line, sizeof(line), "%s", message);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	const char *alert = strstr(line, "SSL3 alert ");
	if (alert && log_owner) {
		/* "SSL3 alert read:fatal:decrypt error" or "write:fatal:..." — the description is after the last ':' */
		const char *desc = strrchr(alert, ':');
		if (desc) {
			int code = alert_from_text(desc + 1);
			if (code >= 0)
				log_owner->last_alert = code;
		}
	}
	note_libcoap_close(line);
	int ours = level <= LOG_ERR ? LOG_ERR : level == LOG_WARNING ? LOG_WARNING : LOG_DEBUG;
	char shape[LPW_RATELIMIT_KEY_MAX + 1]; /* one datagram can make libcoap warn ~100 times: limit by line shape */
	lpw_ratelimit_shape(line, shape, sizeof(shape));
	LPW_LOG_LIMITED(ours, "libcoap", "libcoap", shape, log_owner ? lpw_loop_now(log_owner->loop) : 0, "%s", line);
}

/* A handshake our side aborted because of the server's alert leaves no log line in libcoap 4.3.1 (only the
 * server side logs alerts), but OpenSSL keeps the alert in its error queue as reason 1000 + description. */
static void take_backend_alert(lpw_upstream_t *up)
{
#ifdef LPW_COAP_OPENSSL
	unsigned long e = ERR_peek_last_error();
	int reason = ERR_GET_REASON(e);
	if (e && ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256)
		up->last_alert = reason - SSL_AD_REASON_OFFSET;
	else if (e && ERR_GET_LIB(e) == ERR_LIB_SSL && reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
		up->last_alert = 42; /* we refused the server's certificate: bad_certificate, a "fail" of §5.2.9 */
	ERR_clear_error();
#else
	(void)up;
#endif
}

static void unqueue(lpw_uplink_t *link);
static void on_admit_timer(lpw_timer_t *t, int64_t now);
static const lpw_config_tls_t *credentials(const lpw_uplink_t *link);

static struct lpw_uplink *link_of(coap_session_t *session)
{
	return session ? coap_session_get_app_data(session) : NULL;
}

static void set_state(lpw_uplink_t *link, lpw_link_state_t state, const char *reason)
{
	lpw_upstream_t *up = link->up;
	if (link->state == LPW_LINK_CONNECTING && state != LPW_LINK_CONNECTING) {
		up->connecting--;
		/* a slot is free: the next waiting link starts on the next loop turn, outside libcoap's callbacks */
		if (up->wait_head && lpw_loop_timer_in(up->loop, &up->admit_timer, 0) < 0)
			LPW_ERR("upstream", "cannot schedule waiting connections");
	} else if (link->state != LPW_LINK_CONNECTING && state == LPW_LINK_CONNECTING) {
		up->connecting++;
	}
	bool changed = link->state != state || strcmp(link->reason, reason) != 0;
	link->state = state;
	snprintf(link->reason, sizeof(link->reason), "%s", reason);
	if (changed && link->up->hooks->state_changed)
		link->up->hooks->state_changed(link->owner, link, state, link->reason);
}

static uint32_t next_random(lpw_upstream_t *up)
{
	/* xorshift32: jitter only, no security role */
	uint32_t x = up->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return up->rng = x;
}

static void guard_list(lpw_uplink_t *link)
{
	struct size_class *c = link->cls;
	link->gnext = c->guarded;
	if (link->gnext)
		link->gnext->gprev = &link->gnext;
	link->gprev = &c->guarded;
	c->guarded = link;
}

static void guard_stop(lpw_uplink_t *link)
{
	if (link->gprev) {
		*link->gprev = link->gnext;
		if (link->gnext)
			link->gnext->gprev = link->gprev;
		link->gprev = NULL;
		link->gnext = NULL;
	}
	lpw_guard_detach(&link->guard);
}

/* The guarded link whose session's socket an event of this context is about, or NULL (not guarded). */
static lpw_uplink_t *guarded_link(struct size_class *c, const void *sock)
{
	for (lpw_uplink_t *l = c->guarded; l; l = l->gnext) /* only sessions still in setup: at most MAX_CONNECTING */
		if (lpw_guard_owns(&l->guard, sock))
			return l;
	return NULL;
}

/* FNV-1a over what identifies the credentials in use: "unchanged credentials" of issue 10 item 12. */
static uint64_t cred_print(const lpw_config_tls_t *t)
{
	uint64_t h = 1469598103934665603ull;
	const struct {
		const void *p;
		size_t n;
	} parts[] = {
		{t->identity, t->identity_len},
		{t->key, t->key_len},
		{t->cert_file, t->cert_file ? strlen(t->cert_file) : 0},
		{t->key_file, t->key_file ? strlen(t->key_file) : 0},
	};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		for (size_t k = 0; k < parts[i].n; k++)
			h = (h ^ ((const uint8_t *)parts[i].p)[k]) * 1099511628211ull;
		h = (h ^ 0xff) * 1099511628211ull;
	}
	return h;
}

/* Forgets the session and everything of its setup; the session itself is released on the next loop turn. */
static void end_session(lpw_uplink_t *link)
{
	lpw_upstream_t *up = link->up;
	guard_stop(link);
	if (link->lookup) {
		lpw_resolver_cancel(up->resolver, link->lookup);
		link->lookup = NULL;
	}
	lpw_loop_timer_clear(up->loop, &link->setup_timer);
	lpw_loop_timer_clear(up->loop, &link->stable_timer);
	if (link->session) {
		coap_session_set_app_data(link->session, NULL);
		if (link->dead_session) /* an older one not yet released: it is in no callback now */
			coap_session_release(link->dead_session);
		link->dead_session = link->session;
		link->session = NULL;
		if (lpw_loop_timer_in(up->loop, &link->release_timer, 0) < 0)
			LPW_ERR("upstream", "%s: cannot schedule session release", link->dev->id);
	}
	link->tcp_up = link->tls_up = false;
	link->close_reason[0] = '\0';
}

/* Issue 10 item 12: counts a failed handshake; at LPW_UPLINK_SUSPECT_FAILURES in a row with the same
 * credentials the event is raised once. Returns the count. */
static uint32_t count_handshake_failure(lpw_uplink_t *link, const char *what)
{
	uint64_t print = cred_print(credentials(link));
	if (print != link->cred_print) {
		link->cred_print = print;
		link->handshake_failures = 0;
	}
	uint32_t n = ++link->handshake_failures;
	if (n == LPW_UPLINK_SUSPECT_FAILURES) {
		char detail[256];
		snprintf(detail, sizeof(detail),
		         "%u TLS handshakes in a row failed with unchanged credentials (last: %s); check the PSK identity "
		         "and key or certificate; retrying every %u s",
		         n, what, link->up->cfg->reconnect_max_s);
		LPW_ERR("upstream", "%s -> %s: %s", link->dev->id, link->srv->name, detail);
		if (link->up->hooks->event)
			link->up->hooks->event(link->owner, link, "upstream-handshake-failing", detail);
	}
	return n;
}

/* The whole back-off policy in one place: what to do after the session is lost. handshake: it was lost during
 * its TLS handshake. */
static void link_lost(lpw_uplink_t *link, const char *what, bool handshake)
{
	lpw_upstream_t *up = link->up;
	char reason[sizeof(link->reason)], hs[96] = "", alert_text[64] = "";
	int alert = up->last_alert;
	up->last_alert = -1;
	end_session(link);
	if (alert >= 0 && lpw_alert_classify((uint8_t)alert) == LPW_ALERT_FAIL) {
		snprintf(reason, sizeof(reason), "TLS alert %s (%d): not retrying", lpw_alert_name((uint8_t)alert), alert);
		LPW_ERR("upstream", "%s -> %s: %s", link->dev->id, link->srv->name, reason);
		set_state(link, LPW_LINK_FAILED, reason);
		return;
	}
	if (alert >= 0)
		snprintf(alert_text, sizeof(alert_text), ": TLS alert %s (%d)", lpw_alert_name((uint8_t)alert), alert);
	int64_t max_ms = (int64_t)up->cfg->reconnect_max_s * 1000;
	int64_t delay = lpw_backoff_next_ms(link->attempt++, (int64_t)up->cfg->reconnect_min_s * 1000, max_ms,
	                                    next_random(up));
	if (handshake) {
		char last[96];
		snprintf(last, sizeof(last), "%s%s", what, alert_text);
		uint32_t n = count_handshake_failure(link, last);
		if (n >= LPW_UPLINK_SUSPECT_FAILURES) {
			delay = max_ms;
			snprintf(hs, sizeof(hs), "; %u handshakes in a row failed: credentials suspect", n);
		}
	}
	snprintf(reason, sizeof(reason), "%s%s%s; retry in %lld ms", what, alert_text, hs, (long long)delay);
	if (link->attempt == 1 || lpw_log_enabled(LOG_DEBUG))
		LPW_WARN("upstream", "%s -> %s: %s", link->dev->id, link->srv->name, reason);
	if (lpw_loop_timer_in(up->loop, &link->retry_timer, delay) < 0)
		LPW_ERR("upstream", "%s: cannot schedule reconnect", link->dev->id);
	link->retry_at_ms = lpw_loop_now(up->loop) + delay;
	set_state(link, LPW_LINK_DOWN, reason);
}

/* A close libcoap reports: who decided it (issue 16 item 6) — the gateway (a reason of ours, libcoap's log,
 * one of libcoap's timeouts) or, failing all of these, the server. */
static void lost_by(lpw_uplink_t *link, const char *otherwise)
{
	lpw_upstream_t *up = link->up;
	char what[160];
	if (link->close_reason[0])
		snprintf(what, sizeof(what), "%s", link->close_reason);
	else if (up->log_close[0])
		snprintf(what, sizeof(what), "%s", up->log_close);
	else if (up->in_prepare && link->state == LPW_LINK_UP)
		snprintf(what, sizeof(what), "closed by the gateway: no Pong to its keepalive Ping");
	else if (up->in_prepare)
		snprintf(what, sizeof(what), "closed by the gateway: no CSM from the server");
	else
		snprintf(what, sizeof(what), "%s", otherwise);
	up->log_close[0] = '\0';
	link_lost(link, what, link->srv->secure && link->tcp_up && !link->tls_up);
}

/* The gateway ends a session itself: reason for the log and the device state, an Abort first if asked. */
static void close_session(lpw_uplink_t *link, const char *reason, bool send_abort, uint16_t bad_option)
{
	coap_session_t *s = link->session;
	if (!s)
		return;
	snprintf(link->close_reason, sizeof(link->close_reason), "%s", reason);
	if (send_abort)
		lpw_guard_send_abort(&link->guard, s, bad_option, reason);
	coap_session_disconnected(s, COAP_NACK_NOT_DELIVERABLE); /* its close events come back through on_event */
	if (link->session == s)
		lost_by(link, reason);
}

static void session_up(lpw_uplink_t *link)
{
	guard_stop(link);
	lpw_loop_timer_clear(link->up->loop, &link->setup_timer);
	if (lpw_loop_timer_in(link->up->loop, &link->stable_timer, LPW_UPLINK_STABLE_MS) < 0)
		LPW_ERR("upstream", "%s: cannot arm the back-off reset", link->dev->id);
	if (link->ever_up)
		link->reconnects++;
	link->ever_up = true;
	LPW_INFO("upstream", "%s -> %s: connected", link->dev->id, link->srv->name);
	set_state(link, LPW_LINK_UP, "");
}

static int on_event(coap_session_t *session, const coap_event_t event)
{
	lpw_uplink_t *link = link_of(session);
	if (!link)
		return 0;
	switch (event) {
	case COAP_EVENT_TCP_CONNECTED:
		link->tcp_up = true;
		break;
	case COAP_EVENT_DTLS_CONNECTED:
		link->tls_up = true;
		link->handshake_failures = 0;
		break;
	case COAP_EVENT_SESSION_CONNECTED:
		session_up(link);
		break;
	case COAP_EVENT_TCP_FAILED:
		lost_by(link, "TCP connect failed");
		break;
	case COAP_EVENT_DTLS_ERROR:
		take_backend_alert(link->up);
		lost_by(link, link->tls_up ? "TLS error" : "TLS handshake failed");
		break;
	case COAP_EVENT_SESSION_FAILED:
		lost_by(link, "session failed before the CSM exchange");
		break;
	case COAP_EVENT_TCP_CLOSED:
	case COAP_EVENT_SESSION_CLOSED:
	case COAP_EVENT_DTLS_CLOSED:
		lost_by(link, "connection closed by the server");
		break;
	default:
		break;
	}
	return 0;
}

static coap_response_t on_response(coap_session_t *session, const coap_pdu_t *sent, const coap_pdu_t *received,
                                   const coap_mid_t mid)
{
	lpw_uplink_t *link = link_of(session);
	if (link && link->state == LPW_LINK_UP && link->up->hooks->response)
		link->up->hooks->response(link->owner, link, received);
	return COAP_RESPONSE_OK;
}

static void on_server_request(coap_resource_t *resource, coap_session_t *session, const coap_pdu_t *request,
                              const coap_string_t *query, coap_pdu_t *response)
{
	lpw_uplink_t *link = link_of(session);
	/* The response PDU is left untouched: libcoap then sends nothing, and the owner answers later with a
	 * response carrying this request's token (DESIGN.md decision 1). Never for a session that is not UP: the
	 * guard keeps requests before the CSM from reaching this point at all, this is the second line. */
	if (link && link->state == LPW_LINK_UP && link->up->hooks->request)
		link->up->hooks->request(link->owner, link, request);
}

static void mark_dirty(struct size_class *cls)
{
	if (cls->dirty)
		return;
	cls->dirty = true;
	cls->next_dirty = cls->up->dirty;
	cls->up->dirty = cls;
}

/* One event of libcoap's epoll descriptor: through the guard of its session if it has one, then to libcoap. */
static void handle_event(lpw_upstream_t *up, struct size_class *cls, const struct epoll_event *ev)
{
	uint32_t events = ev->events;
	lpw_uplink_t *link = ev->data.ptr ? guarded_link(cls, ev->data.ptr) : NULL;
	coap_session_t *s = link ? link->session : NULL;
	if (link && s) {
		char reason[160];
		uint16_t bad = 0;
		lpw_guard_action_t a = lpw_guard_event(&link->guard, s, &events, reason, sizeof(reason), &bad);
		if (a == LPW_GUARD_RELEASE)
			guard_stop(link);
		if (a == LPW_GUARD_ABORT) { /* logged with the retry by link_lost */
			close_session(link, reason, true, bad);
			return;
		}
		if (!events)
			return;
	}
	struct epoll_event one = {.events = events, .data = ev->data};
	up->log_close[0] = '\0';
	coap_io_do_epoll(cls->ctx, &one, 1);
	if (link && link->session == s && link->guard.active)
		lpw_guard_after(&link->guard, s);
}

/* What coap_io_process(ctx, COAP_IO_NO_WAIT) does, with the epoll_wait in our hands so that the events of a
 * session in setup pass the guard first (upstream_guard.h). No cache, no async: we use neither. */
static void process_class(lpw_upstream_t *up, struct size_class *cls)
{
	struct epoll_event ev[16];
	int n;
	coap_tick_t now;
	up->last_alert = -1;
	log_owner = up;
	coap_ticks(&now);
	up->in_prepare = true;
	coap_io_prepare_epoll(cls->ctx, now); /* libcoap's timeouts: retransmits, keepalive, its CSM backstop */
	up->in_prepare = false;
	do {
		n = epoll_wait(cls->fd, ev, (int)(sizeof(ev) / sizeof(ev[0])), 0);
		for (int i = 0; i < n; i++)
			handle_event(up, cls, &ev[i]);
	} while (n == (int)(sizeof(ev) / sizeof(ev[0])));
}

static void on_coap_fd(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	struct size_class *cls = arg;
	process_class(cls->up, cls);
}

/* libcoap's timers fire through each context's timerfd (inside its epoll fd, which our loop watches); the sweep
 * only covers deadlines nothing re-armed. */
static void on_io_timer(lpw_timer_t *t, int64_t now)
{
	lpw_upstream_t *up = lpw_container_of(t, lpw_upstream_t, io_timer);
	for (size_t i = 0; i < up->nclasses; i++)
		process_class(up, up->classes[i]);
	if (up->nclasses && lpw_loop_timer_in(up->loop, &up->io_timer, SWEEP_MS) < 0)
		LPW_ERR("upstream", "cannot arm the libcoap sweep");
}

/* Before the loop sleeps: the contexts touched outside their own I/O set their next deadline (the others did
 * in coap_io_process), so nothing walks every session on every turn. */
static void prepare(lpw_loop_t *loop, void *arg)
{
	lpw_upstream_t *up = arg;
	coap_tick_t now;
	coap_ticks(&now);
	log_owner = up;
	up->in_prepare = true;
	while (up->dirty) {
		struct size_class *cls = up->dirty;
		up->dirty = cls->next_dirty;
		cls->dirty = false;
		coap_io_prepare_epoll(cls->ctx, now);
	}
	up->in_prepare = false;
	if (up->nclasses && !lpw_timer_armed(&up->io_timer) && lpw_loop_timer_in(loop, &up->io_timer, SWEEP_MS) < 0)
		LPW_ERR("upstream", "cannot arm the libcoap sweep");
}

/* Options the gateway carries without understanding them; libcoap would answer 4.02 to unknown critical ones. */
static const uint16_t carried_options[] = {9 /* OSCORE */, 16 /* Hop-Limit */, 252 /* Echo */,
                                           258 /* No-Response */, 292 /* Request-Tag */};

static struct size_class *new_class(lpw_upstream_t *up, uint32_t max_message_size)
{
	if (up->nclasses == up->cap) {
		size_t cap = up->cap ? up->cap * 2 : 8;
		struct size_class **c = realloc(up->classes, cap * sizeof(*c));
		if (!c)
			return NULL;
		up->classes = c;
		up->cap = cap;
	}
	struct size_class *cls = calloc(1, sizeof(*cls));
	coap_context_t *ctx = cls ? coap_new_context(NULL) : NULL;
	if (!ctx) {
		free(cls);
		return NULL;
	}
	coap_register_event_handler(ctx, on_event);
	coap_register_response_handler(ctx, on_response);
	/* Our setup timer (csm_timeout, from the start of the setup) comes first and names the phase that hung;
	 * libcoap's own CSM timeout is only a backstop. */
	coap_context_set_csm_timeout(ctx, up->cfg->csm_timeout_s + 5);
	coap_context_set_keepalive(ctx, up->cfg->ping_interval_s);
	if (max_message_size)
		coap_context_set_csm_max_message_size(ctx, max_message_size);
	for (size_t i = 0; i < sizeof(carried_options) / sizeof(carried_options[0]); i++)
		coap_register_option(ctx, carried_options[i]);
	coap_resource_t *unknown = coap_resource_unknown_init2(on_server_request, 0);
	static const coap_request_t methods[] = {COAP_REQUEST_GET,   COAP_REQUEST_POST,  COAP_REQUEST_DELETE,
	                                         COAP_REQUEST_FETCH, COAP_REQUEST_PATCH, COAP_REQUEST_IPATCH};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		coap_register_request_handler(unknown, methods[i], on_server_request);
	coap_add_resource(ctx, unknown);

	*cls = (struct size_class){.up = up, .ctx = ctx, .max_message_size = max_message_size,
	                           .fd = coap_context_get_coap_fd(ctx)};
	if (cls->fd < 0 || lpw_loop_add_fd(up->loop, cls->fd, EPOLLIN, on_coap_fd, cls) < 0) {
		LPW_ERR("upstream", "libcoap has no epoll descriptor to join our loop");
		coap_free_context(ctx);
		free(cls);
		return NULL;
	}
	up->classes[up->nclasses++] = cls;
	return cls;
}

/* A context of the size class with room for one more session (the newest is the one that may have room). */
static struct size_class *class_for(lpw_upstream_t *up, uint32_t max_message_size)
{
	for (size_t i = up->nclasses; i > 0; i--) {
		struct size_class *cls = up->classes[i - 1];
		if (cls->max_message_size == max_message_size && cls->links < SESSIONS_PER_CONTEXT)
			return cls;
	}
	return new_class(up, max_message_size);
}

lpw_upstream_t *lpw_upstream_new(lpw_loop_t *loop, const lpw_config_upstream_t *cfg, const lpw_upstream_hooks_t *hooks)
{
	lpw_upstream_t *up = calloc(1, sizeof(*up));
	if (!up)
		return NULL;
	coap_startup();
	coap_set_log_handler(coap_log_to_ours);
	coap_set_log_level(lpw_log_enabled(LOG_DEBUG) ? LOG_DEBUG : LOG_INFO);
	up->loop = loop;
	up->cfg = cfg;
	up->hooks = hooks;
	up->last_alert = -1;
	up->rng = (uint32_t)lpw_loop_now(loop) ^ 0x9e3779b9u;
	lpw_timer_init(&up->io_timer, on_io_timer);
	lpw_timer_init(&up->admit_timer, on_admit_timer);
	up->wait_tail = &up->wait_head;
	up->resolver = lpw_resolver_new(loop);
	if (!up->resolver || lpw_loop_add_prepare(loop, prepare, up) < 0) {
		lpw_resolver_free(up->resolver);
		free(up);
		return NULL;
	}
	log_owner = up;
	return up;
}

void lpw_upstream_free(lpw_upstream_t *up)
{
	if (!up)
		return;
	lpw_loop_timer_clear(up->loop, &up->io_timer);
	lpw_loop_timer_clear(up->loop, &up->admit_timer);
	lpw_loop_del_prepare(up->loop, prepare, up);
	for (size_t i = 0; i < up->nclasses; i++) {
		lpw_loop_del_fd(up->loop, up->classes[i]->fd);
		coap_free_context(up->classes[i]->ctx);
		free(up->classes[i]);
	}
	free(up->classes);
	lpw_resolver_free(up->resolver);
	if (log_owner == up)
		log_owner = NULL;
	free(up);
}

static void on_release_timer(lpw_timer_t *t, int64_t now)
{
	lpw_uplink_t *link = lpw_container_of(t, lpw_uplink_t, release_timer);
	if (link->dead_session) {
		coap_session_release(link->dead_session);
		link->dead_session = NULL;
		mark_dirty(link->cls);
	}
}

static void on_retry_timer(lpw_timer_t *t, int64_t now)
{
	lpw_uplink_t *link = lpw_container_of(t, lpw_uplink_t, retry_timer);
	if (lpw_uplink_connect(link) < 0)
		link_lost(link, "cannot start a session (out of memory)", false);
}

/* A session that stayed up this long has proven itself: the next loss starts the back-off from the bottom. */
static void on_stable_timer(lpw_timer_t *t, int64_t now)
{
	lpw_uplink_t *link = lpw_container_of(t, lpw_uplink_t, stable_timer);
	link->attempt = 0;
}

/* The setup (lookup, TCP, TLS, CSM) took longer than upstream.csm_timeout: say which phase hung. */
static void on_setup_timer(lpw_timer_t *t, int64_t now)
{
	lpw_uplink_t *link = lpw_container_of(t, lpw_uplink_t, setup_timer);
	lpw_upstream_t *up = link->up;
	unsigned secs = up->cfg->csm_timeout_s;
	char reason[160];
	if (link->lookup) {
		lpw_resolver_reap(up->resolver); /* in case its completion signal was lost */
		if (!link->lookup) {
			if (link->session && lpw_loop_timer_in(up->loop, &link->setup_timer, (int64_t)secs * 1000) < 0)
				LPW_ERR("upstream", "%s: cannot arm the setup timer", link->dev->id);
			return;
		}
		snprintf(reason, sizeof(reason), "the lookup of %s timed out after %u s", link->srv->host, secs);
		link_lost(link, reason, false);
		return;
	}
	if (!link->session)
		return;
	coap_session_state_t st = coap_session_get_state(link->session);
	if (st == COAP_SESSION_STATE_CONNECTING)
		snprintf(reason, sizeof(reason), "TCP connect timed out after %u s", secs);
	else if (st == COAP_SESSION_STATE_HANDSHAKE)
		snprintf(reason, sizeof(reason), "TLS handshake timed out after %u s", secs);
	else if (st == COAP_SESSION_STATE_CSM)
		snprintf(reason, sizeof(reason), "closed by the gateway: no CSM from the server within %u s", secs);
	else
		return;
	close_session(link, reason, st == COAP_SESSION_STATE_CSM, 0);
}

lpw_uplink_t *lpw_uplink_new(lpw_upstream_t *up, const lpw_config_device_t *dev, const lpw_config_server_t *srv,
                             uint32_t max_message_size, void *owner)
{
	lpw_uplink_t *link = calloc(1, sizeof(*link));
	if (!link)
		return NULL;
	link->cls = class_for(up, max_message_size);
	if (!link->cls) {
		free(link);
		return NULL;
	}
	link->cls->links++;
	link->up = up;
	link->dev = dev;
	link->srv = srv;
	link->owner = owner;
	link->state = LPW_LINK_DOWN;
	link->guard.fd = -1;
	snprintf(link->reason, sizeof(link->reason), "not connected yet");
	lpw_timer_init(&link->retry_timer, on_retry_timer);
	lpw_timer_init(&link->release_timer, on_release_timer);
	lpw_timer_init(&link->setup_timer, on_setup_timer);
	lpw_timer_init(&link->stable_timer, on_stable_timer);
	return link;
}

void lpw_uplink_rebind(lpw_uplink_t *link, const lpw_config_device_t *dev, const lpw_config_server_t *srv)
{
	link->dev = dev;
	link->srv = srv;
}

void lpw_upstream_reconfigure(lpw_upstream_t *up, const lpw_config_upstream_t *cfg)
{
	up->cfg = cfg;
}

void lpw_uplink_free(lpw_uplink_t *link)
{
	if (!link)
		return;
	lpw_loop_t *loop = link->up->loop;
	lpw_loop_timer_clear(loop, &link->retry_timer);
	lpw_loop_timer_clear(loop, &link->release_timer);
	lpw_loop_timer_clear(loop, &link->setup_timer);
	lpw_loop_timer_clear(loop, &link->stable_timer);
	guard_stop(link); /* before the session goes: the TLS gate points back into the link */
	if (link->lookup)
		lpw_resolver_cancel(link->up->resolver, link->lookup);
	if (link->waiting)
		unqueue(link);
	if (link->state == LPW_LINK_CONNECTING)
		link->up->connecting--;
	if (link->session) {
		coap_session_set_app_data(link->session, NULL);
		coap_session_release(link->session);
	}
	if (link->dead_session)
		coap_session_release(link->dead_session);
	link->cls->links--;
	mark_dirty(link->cls);
	free(link);
}

/* The device's own credentials win over the server's (DESIGN.md decision 3). */
static const lpw_config_tls_t *credentials(const lpw_uplink_t *link)
{
	const lpw_config_tls_t *d = &link->dev->tls;
	if (d->identity_len || d->cert_file)
		return d;
	return &link->srv->tls;
}
/* The server certificate must name the server we meant (LwM2M 1.1.1 §5.2.8.x): libcoap checks the chain against
 * the CA, we check the end certificate's CN against the configured SNI (or the URI's host name). A server known
 * only by an IP address and no SNI is checked by its chain alone. */
static int check_server_name(const char *cn, const uint8_t *asn1, size_t asn1_len, coap_session_t *session,
                             unsigned int depth, int validated, void *arg)
{
	lpw_uplink_t *link = arg;
	const char *want = link->srv->tls.sni ? link->srv->tls.sni : link->srv->host;
	struct in6_addr ip;
	if (depth > 0 || (!link->srv->tls.sni && (inet_pton(AF_INET, want, &ip) == 1 || inet_pton(AF_INET6, want, &ip) == 1)))
		return 1;
	if (cn && strcasecmp(cn, want) == 0)
		return 1;
	LPW_WARN("upstream", "%s -> %s: server certificate is for '%s', not '%s'", link->dev->id, link->srv->name,
	         cn ? cn : "", want);
	return 0;
}

static coap_session_t *open_tls(lpw_uplink_t *link, const coap_address_t *addr)
{
	const lpw_config_tls_t *tls = credentials(link);
	char *sni = link->srv->tls.sni ? link->srv->tls.sni : link->srv->host;
	if (tls->identity_len) {
		coap_dtls_cpsk_t psk = {.version = COAP_DTLS_CPSK_SETUP_VERSION, .client_sni = sni};
		psk.psk_info.identity.s = (const uint8_t *)tls->identity;
		psk.psk_info.identity.length = tls->identity_len;
		psk.psk_info.key.s = tls->key;
		psk.psk_info.key.length = tls->key_len;
		return coap_new_client_session_psk2(link->cls->ctx, NULL, addr, COAP_PROTO_TLS, &psk);
	}
	coap_dtls_pki_t pki = {.version = COAP_DTLS_PKI_SETUP_VERSION, .client_sni = sni};
	const char *ca = link->srv->tls.ca_file ? link->srv->tls.ca_file : tls->ca_file;
	pki.verify_peer_cert = ca != NULL;
	pki.check_common_ca = ca != NULL;
	pki.validate_cn_call_back = ca ? check_server_name : NULL;
	pki.cn_call_back_arg = link;
	pki.check_cert_revocation = 0;
	pki.pki_key.key_type = COAP_PKI_KEY_PEM;
	pki.pki_key.key.pem.ca_file = ca;
	pki.pki_key.key.pem.public_cert = tls->cert_file;
	pki.pki_key.key.pem.private_key = tls->key_file;
	return coap_new_client_session_pki(link->cls->ctx, NULL, addr, COAP_PROTO_TLS, &pki);
}

/* The address is known: make the session and put its guard in place before libcoap reads anything. */
static void create_session(lpw_uplink_t *link, const struct sockaddr *sa, socklen_t len)
{
	lpw_upstream_t *up = link->up;
	coap_address_t addr;
	coap_address_init(&addr);
	addr.size = len;
	memcpy(&addr.addr, sa, len);
	int fd = lpw_guard_next_fd(link->cls->fd); /* the descriptor libcoap's socket() is about to get */
	link->tcp_up = link->tls_up = false;
	link->close_reason[0] = '\0';
	coap_session_t *s = link->srv->secure ? open_tls(link, &addr)
	                                      : coap_new_client_session(link->cls->ctx, NULL, &addr, COAP_PROTO_TCP);
	if (!s) {
		link_lost(link, "cannot create a session", false);
		return;
	}
	link->session = s;
	coap_session_set_app_data(s, link);
	mark_dirty(link->cls);
	int rc = fd >= 0 ? lpw_guard_attach(&link->guard, s, link->cls->fd, fd, link->srv->secure) : fd;
	if (rc == 0) {
		guard_list(link);
	} else if (!up->guard_warned) {
		up->guard_warned = true;
		LPW_ERR("upstream", "%s -> %s: cannot watch the server's first message (%s): a server sending requests "
		        "before its CSM could stall the daemon", link->dev->id, link->srv->name, strerror(-rc));
	}
	LPW_DEBUG("upstream", "%s -> %s: connecting to %s", link->dev->id, link->srv->name, link->srv->uri);
}

static void on_resolved(void *arg, int rc, const struct sockaddr *sa, socklen_t len, const char *detail)
{
	lpw_uplink_t *link = arg;
	link->lookup = NULL;
	if (rc < 0) {
		char what[160];
		snprintf(what, sizeof(what), "server address %s does not resolve (%s)", link->srv->host, detail);
		link_lost(link, what, false);
		return;
	}
	LPW_DEBUG("upstream", "%s -> %s: %s resolved", link->dev->id, link->srv->name, link->srv->host);
	create_session(link, sa, len);
}

/* One attempt: the setup deadline starts now; a host name is looked up again each time (it may move). */
static void open_session(lpw_uplink_t *link)
{
	lpw_upstream_t *up = link->up;
	set_state(link, LPW_LINK_CONNECTING, "connecting");
	if (lpw_loop_timer_in(up->loop, &link->setup_timer, (int64_t)up->cfg->csm_timeout_s * 1000) < 0)
		LPW_ERR("upstream", "%s: cannot arm the setup timer", link->dev->id);
	struct sockaddr_storage ss;
	socklen_t len = 0;
	if (lpw_resolver_numeric(link->srv->host, link->srv->port, (struct sockaddr *)&ss, &len) == 0) {
		create_session(link, (struct sockaddr *)&ss, len);
		return;
	}
	if (lpw_resolver_lookup(up->resolver, link->srv->host, link->srv->port, on_resolved, link, &link->lookup) < 0)
		link_lost(link, "cannot start the server's address lookup", false);
}

static void unqueue(lpw_uplink_t *link)
{
	lpw_upstream_t *up = link->up;
	lpw_uplink_t **p = &up->wait_head;
	while (*p && *p != link)
		p = &(*p)->wait_next;
	if (*p)
		*p = link->wait_next;
	if (!up->wait_head)
		up->wait_tail = &up->wait_head;
	else if (up->wait_tail == &link->wait_next)
		for (up->wait_tail = &up->wait_head; *up->wait_tail; up->wait_tail = &(*up->wait_tail)->wait_next)
			;
	link->waiting = false;
	link->wait_next = NULL;
}

static void on_admit_timer(lpw_timer_t *t, int64_t now)
{
	lpw_upstream_t *up = lpw_container_of(t, lpw_upstream_t, admit_timer);
	while (up->wait_head && up->connecting < MAX_CONNECTING) {
		lpw_uplink_t *link = up->wait_head;
		unqueue(link);
		open_session(link);
	}
}

int lpw_uplink_connect(lpw_uplink_t *link)
{
	if (link->state != LPW_LINK_DOWN || lpw_timer_armed(&link->retry_timer) || link->session || link->waiting)
		return 0;
	if (link->up->connecting >= MAX_CONNECTING) {
		link->waiting = true;
		*link->up->wait_tail = link;
		link->up->wait_tail = &link->wait_next;
		LPW_DEBUG("upstream", "%s -> %s: waiting for a connection slot", link->dev->id, link->srv->name);
		return 0;
	}
	open_session(link);
	return 0;
}
int lpw_uplink_send(lpw_uplink_t *link, coap_pdu_t *pdu)
{
	if (link->state != LPW_LINK_UP || !link->session) {
		coap_delete_pdu(pdu);
		return -ENOTCONN;
	}
	log_owner = link->up;
	if (coap_send(link->session, pdu) == COAP_INVALID_MID)
		return -EIO;
	return 0;
}

lpw_link_state_t lpw_uplink_state(const lpw_uplink_t *link)
{
	return link->state;
}

const char *lpw_uplink_reason(const lpw_uplink_t *link)
{
	return link->reason;
}

const lpw_config_server_t *lpw_uplink_server(const lpw_uplink_t *link)
{
	return link->srv;
}

uint32_t lpw_uplink_reconnects(const lpw_uplink_t *link)
{
	return link->reconnects;
}

int64_t lpw_uplink_retry_in_ms(const lpw_uplink_t *link)
{
	if (link->state != LPW_LINK_DOWN || !lpw_timer_armed(&link->retry_timer))
		return -1;
	int64_t left = link->retry_at_ms - lpw_loop_now(link->up->loop);
	return left > 0 ? left : 0;
}
