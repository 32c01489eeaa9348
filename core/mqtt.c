/* libmosquitto inside our epoll loop: one client, its socket watch, keepalive and back-off timers, subscriptions. */
#include "core/mqtt.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "core/log.h"

#define DEFAULT_NAME "mqtt"
#define DEFAULT_KEEPALIVE_S 60
#define DEFAULT_RECONNECT_MIN_MS 1000
#define DEFAULT_RECONNECT_MAX_MS 60000
#define MISC_PERIOD_MS 1000      /* mosquitto_loop_misc: keepalive pings and timeouts, 1 s granularity */
#define MQTT_MAX_PAYLOAD 268435455 /* MQTT 3.1.1 §2.2.3: the largest Remaining Length */

enum conn_state { ST_IDLE, ST_CONNECTING, ST_CONNECTED, ST_STOPPED };

/* Owned copy of lpw_mqtt_config_t. */
struct mcfg {
	char *name, *host, *client_id, *username, *password, *ca_file, *cert_file, *key_file, *will_topic;
	void *will_payload;
	size_t will_len;
	int will_qos;
	bool will_retain;
	uint16_t port;
	uint32_t keepalive_s, reconnect_min_ms, reconnect_max_ms;
};

struct msub {
	char *pattern;
	int qos;
};

struct lpw_mqtt {
	lpw_loop_t *loop;
	struct mcfg cfg;
	lpw_mqtt_hooks_t hooks;
	struct mosquitto *mosq;
	enum conn_state state;
	int fd; /* the socket registered with the loop, -1 when none */
	uint32_t fd_events;
	lpw_timer_t reconnect_timer;
	lpw_timer_t misc_timer;
	uint32_t backoff_ms; /* next back-off step before jitter */
	bool outage_warned;  /* WARN once per outage, DEBUG for the retries */
	uint64_t rng;
	struct msub *subs;
	size_t nsubs;
	/* QoS 1/2 publishes of this connection awaiting their acknowledgement, by mid (16 bits: a bitmap, no scan). */
	uint8_t inflight_map[65536 / 8];
	size_t inflight;
	lpw_mqtt_counters_t c;
};

static int lib_refs; /* mosquitto_lib_init/cleanup are process-wide: the one thing the instances share */

static void try_connect(lpw_mqtt_t *m);
static void connection_down(lpw_mqtt_t *m, const char *why);

/* ---------- configuration ---------- */

static void mcfg_clear(struct mcfg *c)
{
	if (c->password) /* do not leave the secret in freed heap memory */
		explicit_bzero(c->password, strlen(c->password));
	char **strs[] = {&c->name, &c->host, &c->client_id, &c->username, &c->password, &c->ca_file, &c->cert_file,
			 &c->key_file, &c->will_topic};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	free(c->will_payload);
	memset(c, 0, sizeof(*c));
}

static bool dup_opt(char **out, const char *s)
{
	*out = s ? strdup(s) : NULL;
	return !s || *out;
}

static int mcfg_copy(struct mcfg *c, const lpw_mqtt_config_t *in)
{
	memset(c, 0, sizeof(*c));
	const char *name = in->name ? in->name : DEFAULT_NAME;
	if (!in->host || !*in->host || !in->client_id || !*in->client_id) {
		LPW_ERR(name, "MQTT broker host and client id are required");
		return -EINVAL;
	}
	if (!in->cert_file != !in->key_file || (in->cert_file && !in->ca_file)) {
		LPW_ERR(name, "a client certificate needs cert_file, key_file and ca_file");
		return -EINVAL;
	}
	if (in->will_topic && (in->will_qos < 0 || in->will_qos > 2 || in->will_len > MQTT_MAX_PAYLOAD)) {
		LPW_ERR(name, "invalid last will (QoS %d, %zu bytes)", in->will_qos, in->will_len);
		return -EINVAL;
	}
	bool ok = dup_opt(&c->name, name) && dup_opt(&c->host, in->host) && dup_opt(&c->client_id, in->client_id) &&
		  dup_opt(&c->username, in->username) && dup_opt(&c->password, in->password) &&
		  dup_opt(&c->ca_file, in->ca_file) && dup_opt(&c->cert_file, in->cert_file) &&
		  dup_opt(&c->key_file, in->key_file) && dup_opt(&c->will_topic, in->will_topic);
	if (ok && in->will_topic && in->will_len) {
		c->will_payload = malloc(in->will_len);
		ok = c->will_payload != NULL;
		if (ok)
			memcpy(c->will_payload, in->will_payload, in->will_len);
	}
	if (!ok) {
		mcfg_clear(c);
		return -ENOMEM;
	}
	c->will_len = in->will_topic ? in->will_len : 0;
	c->will_qos = in->will_qos;
	c->will_retain = in->will_retain;
	c->port = in->port ? in->port : (in->ca_file ? 8883 : 1883);
	c->keepalive_s = in->keepalive_s ? in->keepalive_s : DEFAULT_KEEPALIVE_S;
	c->reconnect_min_ms = in->reconnect_min_ms ? in->reconnect_min_ms : DEFAULT_RECONNECT_MIN_MS;
	c->reconnect_max_ms = in->reconnect_max_ms ? in->reconnect_max_ms : DEFAULT_RECONNECT_MAX_MS;
	if (c->reconnect_max_ms < c->reconnect_min_ms)
		c->reconnect_max_ms = c->reconnect_min_ms;
	return 0;
}

/* ---------- in-flight publishes ---------- */

static void inflight_add(lpw_mqtt_t *m, int mid)
{
	uint16_t i = (uint16_t)mid;
	if (!(m->inflight_map[i / 8] & (1u << (i % 8)))) {
		m->inflight_map[i / 8] |= (uint8_t)(1u << (i % 8));
		m->inflight++;
	}
}

static void inflight_del(lpw_mqtt_t *m, int mid)
{
	uint16_t i = (uint16_t)mid;
	if (m->inflight_map[i / 8] & (1u << (i % 8))) {
		m->inflight_map[i / 8] &= (uint8_t)~(1u << (i % 8));
		m->inflight--;
	}
}

static void inflight_reset(lpw_mqtt_t *m)
{
	memset(m->inflight_map, 0, sizeof(m->inflight_map));
	m->inflight = 0;
}

/* ---------- the socket, inside our loop ---------- */

static uint32_t jitter_rand(lpw_mqtt_t *m)
{
	/* xorshift64: jitter only needs to de-synchronise gateways, not be unpredictable. */
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return (uint32_t)(m->rng >> 32);
}

static void unwatch(lpw_mqtt_t *m)
{
	if (m->fd >= 0)
		lpw_loop_del_fd(m->loop, m->fd);
	m->fd = -1;
	m->fd_events = 0;
}

static void on_io(lpw_loop_t *loop, int fd, uint32_t events, void *arg);

/* Keeps the loop's watch in step with libmosquitto's socket and its wish to write. Called after every
 * libmosquitto call that can open, close or queue (a prepare hook would do the same, but there is no way to
 * remove one safely while the loop is running and an instance may be freed before the loop is). */
static void sync_fd(lpw_mqtt_t *m)
{
	int fd = m->mosq ? mosquitto_socket(m->mosq) : -1;
	if (fd != m->fd) {
		unwatch(m);
		if (fd < 0)
			return;
		int rc = lpw_loop_add_fd(m->loop, fd, EPOLLIN, on_io, m);
		if (rc < 0) {
			LPW_ERR(m->cfg.name, "cannot watch the broker socket: %s", strerror(-rc));
			connection_down(m, "socket not watchable");
			return;
		}
		m->fd = fd;
		m->fd_events = EPOLLIN;
	}
	uint32_t want = EPOLLIN | (mosquitto_want_write(m->mosq) ? EPOLLOUT : 0);
	if (want != m->fd_events && lpw_loop_set_events(m->loop, m->fd, want) == 0)
		m->fd_events = want;
}

static void on_io(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_mqtt_t *m = arg;
	/* Errors go to on_disconnect through libmosquitto, which also closes the socket. */
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		mosquitto_loop_read(m->mosq, 1);
	if (m->fd == fd && mosquitto_socket(m->mosq) == fd && (events & EPOLLOUT)) {
		/* With TLS, libmosquitto advances its handshake only in loop_read (want_connect). */
		if (m->cfg.ca_file && m->state == ST_CONNECTING)
			mosquitto_loop_read(m->mosq, 1);
		if (mosquitto_socket(m->mosq) == fd)
			mosquitto_loop_write(m->mosq, 1);
	}
	sync_fd(m);
}

static void schedule_reconnect(lpw_mqtt_t *m)
{
	uint32_t base = m->backoff_ms;
	/* +-25 % jitter so a fleet of gateways does not reconnect in lock-step after a broker restart. */
	uint32_t delay = base - base / 4 + (base / 2 ? jitter_rand(m) % (base / 2 + 1) : 0);
	m->backoff_ms = base >= m->cfg.reconnect_max_ms / 2 ? m->cfg.reconnect_max_ms : base * 2;
	if (lpw_loop_timer_in(m->loop, &m->reconnect_timer, delay) < 0)
		LPW_ERR(m->cfg.name, "cannot arm the reconnect timer: out of memory");
	else
		LPW_DEBUG(m->cfg.name, "reconnecting to %s:%u in %u ms", m->cfg.host, m->cfg.port, delay);
}

/* A connection attempt failed or an established connection was lost. */
static void connection_down(lpw_mqtt_t *m, const char *why)
{
	if (m->state == ST_STOPPED)
		return;
	bool was_up = m->state == ST_CONNECTED;
	m->c.failures++;
	if (was_up) {
		LPW_WARN(m->cfg.name, "connection to broker %s:%u lost (%s); reconnecting", m->cfg.host, m->cfg.port,
			 why);
		m->outage_warned = true;
		m->backoff_ms = m->cfg.reconnect_min_ms;
	} else if (!m->outage_warned) {
		LPW_WARN(m->cfg.name, "cannot connect to broker %s:%u (%s); retrying with back-off up to %u s",
			 m->cfg.host, m->cfg.port, why, m->cfg.reconnect_max_ms / 1000);
		m->outage_warned = true;
	} else {
		LPW_DEBUG(m->cfg.name, "connect to %s:%u failed: %s", m->cfg.host, m->cfg.port, why);
	}
	m->state = ST_IDLE;
	unwatch(m);
	lpw_loop_timer_clear(m->loop, &m->misc_timer);
	schedule_reconnect(m);
	if (was_up && m->hooks.disconnected)
		m->hooks.disconnected(m->hooks.arg, why);
}

/* ---------- libmosquitto callbacks: called from inside mosquitto_loop_read/write/misc, never re-entered ---------- */

static void on_connect(struct mosquitto *mosq, void *arg, int rc)
{
	lpw_mqtt_t *m = arg;
	if (rc != 0 || m->state == ST_STOPPED) {
		/* libmosquitto closes the socket and calls on_disconnect next. */
		LPW_DEBUG(m->cfg.name, "broker refused the connection: %s", mosquitto_connack_string(rc));
		return;
	}
	if (m->outage_warned)
		LPW_NOTICE(m->cfg.name, "connected to broker %s:%u again", m->cfg.host, m->cfg.port);
	else
		LPW_INFO(m->cfg.name, "connected to broker %s:%u", m->cfg.host, m->cfg.port);
	m->state = ST_CONNECTED;
	m->outage_warned = false;
	m->backoff_ms = m->cfg.reconnect_min_ms;
	m->c.connects++;
	inflight_reset(m); /* a clean session: what the old connection had in flight is not this one's business */
	/* A clean session starts without subscriptions: every one is sent again. */
	for (size_t i = 0; i < m->nsubs; i++) {
		int mrc = mosquitto_subscribe(mosq, NULL, m->subs[i].pattern, m->subs[i].qos);
		if (mrc != MOSQ_ERR_SUCCESS)
			LPW_WARN(m->cfg.name, "cannot subscribe to %s: %s", m->subs[i].pattern, mosquitto_strerror(mrc));
	}
	if (m->hooks.connected)
		m->hooks.connected(m->hooks.arg);
}

static void on_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
	lpw_mqtt_t *m = arg;
	/* The socket is already closed: drop it from epoll's table before anything can reuse the number. */
	unwatch(m);
	connection_down(m, rc == MOSQ_ERR_SUCCESS ? "disconnected" : mosquitto_strerror(rc));
}

static void on_publish(struct mosquitto *mosq, void *arg, int mid)
{
	lpw_mqtt_t *m = arg;
	inflight_del(m, mid);
	if (m->hooks.published)
		m->hooks.published(m->hooks.arg, mid);
}

static void on_message(struct mosquitto *mosq, void *arg, const struct mosquitto_message *msg)
{
	lpw_mqtt_t *m = arg;
	m->c.received++;
	if (m->hooks.message)
		m->hooks.message(m->hooks.arg, msg->topic, msg->payload, msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
				 msg->qos, msg->retain);
}

static void on_log(struct mosquitto *mosq, void *arg, int level, const char *str)
{
	LPW_DEBUG("mosquitto", "%s", str);
}

/* An encrypted private key would make OpenSSL prompt on the terminal, which blocks a daemon: refuse it instead. */
static int no_key_password(char *buf, int size, int rwflag, void *userdata)
{
	return 0;
}

/* ---------- connecting ---------- */

static void try_connect(lpw_mqtt_t *m)
{
	unwatch(m); /* connect_async closes any old socket: stop watching it while it is still open */
	m->state = ST_CONNECTING;
	/* May block in getaddrinfo() for a host name: configure a numeric address. */
	int rc = mosquitto_connect_async(m->mosq, m->cfg.host, m->cfg.port, (int)m->cfg.keepalive_s);
	if (rc != MOSQ_ERR_SUCCESS) {
		const char *why = rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
		connection_down(m, why);
		return;
	}
	sync_fd(m);
	if (m->state == ST_CONNECTING && lpw_loop_timer_in(m->loop, &m->misc_timer, MISC_PERIOD_MS) < 0)
		LPW_ERR(m->cfg.name, "cannot arm the keepalive timer: out of memory");
}

static void reconnect_fired(lpw_timer_t *timer, int64_t now_ms)
{
	lpw_mqtt_t *m = lpw_container_of(timer, lpw_mqtt_t, reconnect_timer);
	if (m->state == ST_IDLE)
		try_connect(m);
}

static void misc_fired(lpw_timer_t *timer, int64_t now_ms)
{
	lpw_mqtt_t *m = lpw_container_of(timer, lpw_mqtt_t, misc_timer);
	if (m->fd < 0 || m->state == ST_STOPPED)
		return;
	/* Keepalive: PINGREQ when idle, and closes (on_disconnect) when the broker or a pending connect has been
	 * silent for the keepalive period. */
	mosquitto_loop_misc(m->mosq);
	sync_fd(m);
	if (m->fd >= 0 && lpw_loop_timer_in(m->loop, &m->misc_timer, MISC_PERIOD_MS) < 0)
		LPW_ERR(m->cfg.name, "cannot arm the keepalive timer: out of memory");
}

static int session_create(lpw_mqtt_t *m)
{
	const struct mcfg *c = &m->cfg;
	m->mosq = mosquitto_new(c->client_id, true, m);
	if (!m->mosq)
		return -ENOMEM;
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
	mosquitto_publish_callback_set(m->mosq, on_publish);
	mosquitto_message_callback_set(m->mosq, on_message);
	mosquitto_log_callback_set(m->mosq, on_log);
	int mrc = MOSQ_ERR_SUCCESS;
	if (c->username)
		mrc = mosquitto_username_pw_set(m->mosq, c->username, c->password);
	if (mrc == MOSQ_ERR_SUCCESS && c->ca_file)
		mrc = mosquitto_tls_set(m->mosq, c->ca_file, NULL, c->cert_file, c->key_file, no_key_password);
	if (mrc == MOSQ_ERR_SUCCESS && c->will_topic)
		mrc = mosquitto_will_set(m->mosq, c->will_topic, (int)c->will_len, c->will_payload, c->will_qos,
					 c->will_retain);
	if (mrc != MOSQ_ERR_SUCCESS) {
		LPW_ERR(c->name, "cannot set up the MQTT client: %s", mosquitto_strerror(mrc));
		mosquitto_destroy(m->mosq);
		m->mosq = NULL;
		return mrc == MOSQ_ERR_NOMEM ? -ENOMEM : -EINVAL;
	}
	return 0;
}

/* Real monotonic time: the shutdown flush bounds a real wait on a real socket. */
static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

lpw_mqtt_t *lpw_mqtt_new(lpw_loop_t *loop, const lpw_mqtt_config_t *cfg, const lpw_mqtt_hooks_t *hooks)
{
	if (!loop || !cfg)
		return NULL;
	lpw_mqtt_t *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->loop = loop;
	m->fd = -1;
	m->hooks = hooks ? *hooks : (lpw_mqtt_hooks_t){0};
	lpw_timer_init(&m->reconnect_timer, reconnect_fired);
	lpw_timer_init(&m->misc_timer, misc_fired);
	if (mcfg_copy(&m->cfg, cfg) < 0) {
		free(m);
		return NULL;
	}
	if (lib_refs++ == 0)
		mosquitto_lib_init();
	m->rng = ((uint64_t)mono_ms() << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)m;
	m->rng |= 1; /* xorshift must not start at 0 */
	m->backoff_ms = m->cfg.reconnect_min_ms;
	if (session_create(m) < 0) {
		LPW_ERR(m->cfg.name, "cannot create the MQTT client");
		lpw_mqtt_free(m);
		return NULL;
	}
	m->state = ST_IDLE;
	try_connect(m);
	return m;
}

/* ---------- stopping ---------- */

/* Drives libmosquitto directly with poll() until done() or the deadline: shutdown only. */
static void flush_until(lpw_mqtt_t *m, int64_t deadline_ms, bool (*done)(const lpw_mqtt_t *))
{
	while (!done(m)) {
		int fd = mosquitto_socket(m->mosq);
		int64_t left = deadline_ms - mono_ms();
		if (fd < 0 || left <= 0)
			return;
		struct pollfd p = {.fd = fd, .events = POLLIN | (mosquitto_want_write(m->mosq) ? POLLOUT : 0)};
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return;
		if (p.revents & (POLLIN | POLLERR | POLLHUP))
			mosquitto_loop_read(m->mosq, 1);
		if ((p.revents & POLLOUT) && mosquitto_socket(m->mosq) == fd)
			mosquitto_loop_write(m->mosq, 1);
	}
}

static bool all_acked(const lpw_mqtt_t *m)
{
	return m->inflight == 0 && !mosquitto_want_write(m->mosq);
}

static bool socket_closed(const lpw_mqtt_t *m)
{
	return mosquitto_socket(m->mosq) < 0;
}

bool lpw_mqtt_disconnect(lpw_mqtt_t *m, uint32_t budget_ms)
{
	if (!m || !m->mosq || m->state == ST_STOPPED)
		return m && m->inflight == 0;
	int64_t deadline = mono_ms() + budget_ms;
	bool was_connected = m->state == ST_CONNECTED;
	m->state = ST_STOPPED; /* from here on, on_disconnect schedules nothing */
	unwatch(m);
	lpw_loop_timer_clear(m->loop, &m->reconnect_timer);
	lpw_loop_timer_clear(m->loop, &m->misc_timer);
	if (was_connected)
		flush_until(m, deadline, all_acked);
	bool acked = m->inflight == 0;
	/* A connection the broker never accepted has no session and no will to cancel: lpw_mqtt_free closes it. */
	if (was_connected && mosquitto_socket(m->mosq) >= 0) {
		mosquitto_disconnect(m->mosq);
		flush_until(m, deadline, socket_closed);
	}
	unwatch(m);
	return acked;
}

void lpw_mqtt_free(lpw_mqtt_t *m)
{
	if (!m)
		return;
	m->state = ST_STOPPED;
	unwatch(m);
	lpw_loop_timer_clear(m->loop, &m->reconnect_timer);
	lpw_loop_timer_clear(m->loop, &m->misc_timer);
	mosquitto_destroy(m->mosq); /* closes the socket without a DISCONNECT: the broker publishes the will */
	for (size_t i = 0; i < m->nsubs; i++)
		free(m->subs[i].pattern);
	free(m->subs);
	mcfg_clear(&m->cfg);
	if (--lib_refs == 0)
		mosquitto_lib_cleanup();
	free(m);
}

/* ---------- the verbs ---------- */

bool lpw_mqtt_connected(const lpw_mqtt_t *m)
{
	return m && m->state == ST_CONNECTED;
}

static int from_mosq(int mrc)
{
	switch (mrc) {
	case MOSQ_ERR_SUCCESS: return 0;
	case MOSQ_ERR_NOMEM: return -ENOMEM;
	case MOSQ_ERR_INVAL:
	case MOSQ_ERR_PAYLOAD_SIZE:
	case MOSQ_ERR_MALFORMED_UTF8:
	case MOSQ_ERR_QOS_NOT_SUPPORTED: return -EINVAL;
	case MOSQ_ERR_NO_CONN: return -ENOTCONN;
	default: return -EIO;
	}
}

int lpw_mqtt_publish(lpw_mqtt_t *m, const char *topic, const void *payload, size_t len, int qos, bool retain,
		     int *out_mid)
{
	if (!m || !topic || qos < 0 || qos > 2 || len > MQTT_MAX_PAYLOAD || (len && !payload))
		return -EINVAL;
	if (m->state != ST_CONNECTED)
		return -ENOTCONN;
	int mid = 0;
	int mrc = mosquitto_publish(m->mosq, &mid, topic, (int)len, payload, qos, retain);
	if (mrc != MOSQ_ERR_SUCCESS) {
		LPW_DEBUG(m->cfg.name, "publish to %s failed: %s", topic, mosquitto_strerror(mrc));
	} else {
		m->c.published++;
		if (qos > 0)
			inflight_add(m, mid);
		if (out_mid)
			*out_mid = mid;
	}
	sync_fd(m);
	return from_mosq(mrc);
}

static struct msub *find_sub(lpw_mqtt_t *m, const char *pattern)
{
	for (size_t i = 0; i < m->nsubs; i++) /* a handful of patterns per client */
		if (strcmp(m->subs[i].pattern, pattern) == 0)
			return &m->subs[i];
	return NULL;
}

int lpw_mqtt_subscribe(lpw_mqtt_t *m, const char *pattern, int qos)
{
	if (!m || !pattern || !*pattern || qos < 0 || qos > 2 || mosquitto_sub_topic_check(pattern) != MOSQ_ERR_SUCCESS)
		return -EINVAL;
	struct msub *s = find_sub(m, pattern);
	if (!s) {
		struct msub *subs = realloc(m->subs, (m->nsubs + 1) * sizeof(*subs));
		if (!subs)
			return -ENOMEM;
		m->subs = subs;
		s = &subs[m->nsubs];
		if (!(s->pattern = strdup(pattern)))
			return -ENOMEM;
		m->nsubs++;
	}
	s->qos = qos;
	if (m->state != ST_CONNECTED)
		return 0; /* sent by on_connect */
	int mrc = mosquitto_subscribe(m->mosq, NULL, pattern, qos);
	sync_fd(m);
	if (mrc != MOSQ_ERR_SUCCESS)
		LPW_WARN(m->cfg.name, "cannot subscribe to %s now: %s; again after the next reconnect", pattern,
			 mosquitto_strerror(mrc));
	return 0;
}

int lpw_mqtt_unsubscribe(lpw_mqtt_t *m, const char *pattern)
{
	struct msub *s = m && pattern ? find_sub(m, pattern) : NULL;
	if (!s)
		return -ENOENT;
	free(s->pattern);
	*s = m->subs[--m->nsubs];
	if (m->state == ST_CONNECTED) {
		mosquitto_unsubscribe(m->mosq, NULL, pattern);
		sync_fd(m);
	}
	return 0;
}

size_t lpw_mqtt_inflight(const lpw_mqtt_t *m)
{
	return m ? m->inflight : 0;
}

void lpw_mqtt_get_counters(const lpw_mqtt_t *m, lpw_mqtt_counters_t *out)
{
	*out = m->c;
}
