/* MQTT telemetry: libmosquitto driven by our epoll loop, our own reconnect back-off, jansson payloads. */
#include "gateway/telemetry.h"

#include "config/config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "core/log.h"

#define MOD "telemetry"

#define DEFAULT_PREFIX "lpwagw"
#define DEFAULT_INTERVAL_S 60
#define DEFAULT_KEEPALIVE_S 60
#define DEFAULT_RECONNECT_MIN_MS 1000
#define DEFAULT_RECONNECT_MAX_MS 60000
#define MISC_PERIOD_MS 1000   /* mosquitto_loop_misc: keepalive pings and timeouts, 1 s granularity */
#define SHUTDOWN_FLUSH_MS 1000 /* the only blocking allowed: offline + DISCONNECT at stop */
#define DETAIL_MAX 512
#define QOS_RETAINED 1 /* retained state is acknowledged, so the offline status is known to be stored */
#define QOS_STREAM 0   /* stats and events: the next one supersedes a lost one */

#ifndef LPW_VERSION
#define LPW_VERSION "unknown"
#endif

enum conn_state { ST_IDLE, ST_CONNECTING, ST_CONNECTED, ST_STOPPED };

/* Owned copy of lpw_telemetry_config_t. */
struct tcfg {
	char *host, *ca_file, *username, *password, *prefix, *gateway_id, *client_id;
	uint16_t port;
	uint32_t interval_s, keepalive_s, reconnect_min_ms, reconnect_max_ms;
};

struct lpw_telemetry {
	lpw_loop_t *loop;
	const lpw_stats_t *stats;
	struct tcfg cfg;
	struct mosquitto *mosq;
	enum conn_state state;
	int fd;         /* the socket registered with the loop, -1 when none */
	uint32_t fd_events;
	lpw_timer_t reconnect_timer;
	lpw_timer_t misc_timer;
	lpw_timer_t stats_timer;
	uint32_t backoff_ms;   /* next back-off step before jitter */
	bool outage_warned;    /* WARN once per outage, DEBUG for the retries */
	void (*stats_extra)(void *arg, json_t *obj); /* lpw_telemetry_set_stats_extra */
	void *stats_extra_arg;
	uint64_t rng;
	int64_t started_ms;    /* loop clock, for uptime */
	int64_t started_wall_s;
	uint64_t dropped;
	json_t *device_states; /* device_id -> serialized payload (json string) */
	int offline_mid;       /* mid of the offline status being flushed at stop */
	bool offline_acked;
};

static int global_refs; /* mosquitto_lib_init/cleanup, refcounted across instances */

static void try_connect(lpw_telemetry_t *t);

/* ---------- pure builders ---------- */

static bool topic_level_ok(const char *s, bool allow_slash)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '+' || *p == '#' || (unsigned char)*p < 0x20 || (*p == '/' && !allow_slash))
			return false;
	}
	/* An empty level ("a//b", leading or trailing '/') is legal MQTT but surely a mistake here. */
	return !allow_slash || (s[0] != '/' && s[strlen(s) - 1] != '/' && !strstr(s, "//"));
}

char *lpw_telemetry_build_topic(const char *prefix, const char *gateway_id, const char *leaf,
				const char *device_id)
{
	if (!topic_level_ok(prefix, true) || !topic_level_ok(gateway_id, false) || !topic_level_ok(leaf, false) ||
	    (device_id && !topic_level_ok(device_id, false)))
		return NULL;
	char *topic = NULL;
	int n = device_id ? asprintf(&topic, "%s/%s/%s/%s", prefix, gateway_id, leaf, device_id)
			  : asprintf(&topic, "%s/%s/%s", prefix, gateway_id, leaf);
	return n < 0 ? NULL : topic;
}

/* Takes ownership of obj; NULL obj (a failed pack) yields NULL. */
static char *dump_and_free(json_t *obj)
{
	if (!obj)
		return NULL;
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	return s;
}

char *lpw_telemetry_build_status(bool online, const char *version, int64_t started_s, const char *gateway_id)
{
	if (!version || !gateway_id)
		return NULL;
	return dump_and_free(json_pack("{s:s, s:s, s:I, s:s}", "state", online ? "online" : "offline", "version",
				       version, "started", (json_int_t)started_s, "gateway_id", gateway_id));
}

static json_t *per_binding(const uint64_t counts[LPW_STATS_BINDINGS])
{
	json_t *obj = json_object();
	for (int k = 0; obj && k < LPW_BINDING_COUNT; k++) {
		const char *name = lpw_config_binding_name((lpw_binding_kind_t)k);
		if (!name || json_object_set_new(obj, name, json_integer((json_int_t)counts[k])) < 0) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

static json_t *stats_object(const lpw_stats_t *stats, int64_t uptime_s, uint64_t telemetry_dropped);

char *lpw_telemetry_build_stats(const lpw_stats_t *stats, int64_t uptime_s, uint64_t telemetry_dropped)
{
	return dump_and_free(stats_object(stats, uptime_s, telemetry_dropped));
}

static json_t *stats_object(const lpw_stats_t *stats, int64_t uptime_s, uint64_t telemetry_dropped)
{
	static const lpw_stats_t zero;
	const lpw_stats_t *s = stats ? stats : &zero;
	json_t *up = per_binding(s->msgs_up);
	json_t *down = per_binding(s->msgs_down);
	if (!up || !down) {
		json_decref(up);
		json_decref(down);
		return NULL;
	}
	/* "o" steals up/down, also when the pack fails. */
	return json_pack(
		"{s:I, s:{s:I, s:I}, s:{s:o, s:o}, s:{s:I, s:I, s:I}, s:I, s:{s:I, s:I}, s:I, s:I, s:I}",
		"uptime", (json_int_t)uptime_s,
		"devices", "known", (json_int_t)s->devices_known, "reachable", (json_int_t)s->devices_reachable,
		"messages", "up", up, "down", down,
		"upstream", "up", (json_int_t)s->upstream_up, "down", (json_int_t)s->upstream_down, "reconnects",
		(json_int_t)s->upstream_reconnects,
		"queue_depth", (json_int_t)s->queue_depth,
		"dropped", "unknown_device", (json_int_t)s->dropped_unknown_device, "malformed",
		(json_int_t)s->dropped_malformed,
		"duplicates", (json_int_t)s->duplicates,
		"errors", (json_int_t)s->errors,
		"telemetry_dropped", (json_int_t)telemetry_dropped);
}

char *lpw_telemetry_build_event(int64_t time_s, const char *type, const char *device, const char *detail)
{
	if (!type || !*type)
		return NULL;
	json_t *obj = json_pack("{s:I, s:s}", "time", (json_int_t)time_s, "type", type);
	if (obj && device && json_object_set_new(obj, "device", json_string(device)) < 0)
		goto fail;
	if (obj && json_object_set_new(obj, "detail", json_string(detail ? detail : "")) < 0)
		goto fail;
	return dump_and_free(obj);
fail:
	json_decref(obj);
	return NULL;
}

static bool secret_name(const char *name)
{
	static const char *const words[] = {"key", "psk", "secret", "password", "passwd", "token"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(name, words[i]))
			return true;
	return false;
}

/* Removes secret-looking members at any depth; returns how many were removed. */
static int strip_secrets(json_t *v)
{
	int n = 0;
	if (json_is_object(v)) {
		const char *name;
		json_t *member;
		void *tmp;
		json_object_foreach_safe(v, tmp, name, member) {
			if (secret_name(name)) {
				json_object_del(v, name);
				n++;
			} else {
				n += strip_secrets(member);
			}
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			n += strip_secrets(json_array_get(v, i));
	}
	return n;
}

char *lpw_telemetry_build_device_state(const json_t *state)
{
	if (!json_is_object(state))
		return NULL;
	json_t *copy = json_deep_copy(state);
	if (!copy)
		return NULL;
	if (strip_secrets(copy) > 0)
		LPW_WARN(MOD, "device state carried secret-looking fields; they were removed");
	return dump_and_free(copy);
}

/* ---------- configuration ---------- */

static void tcfg_clear(struct tcfg *c)
{
	free(c->host);
	free(c->ca_file);
	free(c->username);
	if (c->password) /* do not leave the secret in freed heap memory */
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	free(c->prefix);
	free(c->gateway_id);
	free(c->client_id);
	memset(c, 0, sizeof(*c));
}

static bool dup_opt(char **out, const char *s)
{
	*out = s ? strdup(s) : NULL;
	return !s || *out;
}

static int tcfg_copy(struct tcfg *c, const lpw_telemetry_config_t *in)
{
	memset(c, 0, sizeof(*c));
	const char *prefix = in->topic_prefix ? in->topic_prefix : DEFAULT_PREFIX;
	if (!in->host || !*in->host) {
		LPW_ERR(MOD, "mqtt host is required");
		return -EINVAL;
	}
	if (!topic_level_ok(in->gateway_id, false) || !topic_level_ok(prefix, true)) {
		LPW_ERR(MOD, "gateway_id must be one non-empty topic level and topic_prefix a topic without "
			     "wildcards or empty levels");
		return -EINVAL;
	}
	bool ok = dup_opt(&c->host, in->host) && dup_opt(&c->ca_file, in->ca_file) &&
		  dup_opt(&c->username, in->username) && dup_opt(&c->password, in->password) &&
		  dup_opt(&c->prefix, prefix) && dup_opt(&c->gateway_id, in->gateway_id);
	if (ok && in->client_id)
		ok = dup_opt(&c->client_id, in->client_id);
	else if (ok)
		ok = asprintf(&c->client_id, "lpwagw-%s", in->gateway_id) >= 0;
	if (!ok) {
		c->client_id = NULL; /* asprintf leaves it undefined on failure */
		tcfg_clear(c);
		return -ENOMEM;
	}
	c->port = in->port ? in->port : (in->ca_file ? 8883 : 1883);
	c->interval_s = in->interval_s ? in->interval_s : DEFAULT_INTERVAL_S;
	c->keepalive_s = in->keepalive_s ? in->keepalive_s : DEFAULT_KEEPALIVE_S;
	c->reconnect_min_ms = in->reconnect_min_ms ? in->reconnect_min_ms : DEFAULT_RECONNECT_MIN_MS;
	c->reconnect_max_ms = in->reconnect_max_ms ? in->reconnect_max_ms : DEFAULT_RECONNECT_MAX_MS;
	if (c->reconnect_max_ms < c->reconnect_min_ms)
		c->reconnect_max_ms = c->reconnect_min_ms;
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Whether the MQTT session itself (broker, credentials, will topic, client id) must be rebuilt. */
static bool session_changed(const struct tcfg *a, const struct tcfg *b)
{
	return !str_eq(a->host, b->host) || a->port != b->port || !str_eq(a->ca_file, b->ca_file) ||
	       !str_eq(a->username, b->username) || !str_eq(a->password, b->password) ||
	       !str_eq(a->prefix, b->prefix) || !str_eq(a->gateway_id, b->gateway_id) ||
	       !str_eq(a->client_id, b->client_id) || a->keepalive_s != b->keepalive_s;
}

/* ---------- the connection, inside our loop ---------- */

static uint32_t jitter_rand(lpw_telemetry_t *t)
{
	/* xorshift64: jitter only needs to de-synchronise gateways, not be unpredictable. */
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return (uint32_t)(t->rng >> 32);
}

static void unwatch(lpw_telemetry_t *t)
{
	if (t->fd >= 0)
		lpw_loop_del_fd(t->loop, t->fd);
	t->fd = -1;
	t->fd_events = 0;
}

static void on_io(lpw_loop_t *loop, int fd, uint32_t events, void *arg);
static void connection_down(lpw_telemetry_t *t, const char *why);

/* Keeps the loop's watch in step with libmosquitto's socket and its wish to write. Called after every
 * libmosquitto call that can open, close or queue (there is no way to remove a prepare hook from the
 * loop, and this instance may be freed before the loop is). */
static void sync_fd(lpw_telemetry_t *t)
{
	int fd = t->mosq ? mosquitto_socket(t->mosq) : -1;
	if (fd != t->fd) {
		unwatch(t);
		if (fd < 0)
			return;
		int rc = lpw_loop_add_fd(t->loop, fd, EPOLLIN, on_io, t);
		if (rc < 0) {
			LPW_ERR(MOD, "cannot watch the broker socket: %s", strerror(-rc));
			connection_down(t, "socket not watchable");
			return;
		}
		t->fd = fd;
		t->fd_events = EPOLLIN;
	}
	uint32_t want = EPOLLIN | (mosquitto_want_write(t->mosq) ? EPOLLOUT : 0);
	if (want != t->fd_events && lpw_loop_set_events(t->loop, t->fd, want) == 0)
		t->fd_events = want;
}

static void on_io(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_telemetry_t *t = arg;
	/* Errors go to on_disconnect through libmosquitto, which also closes the socket. */
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		mosquitto_loop_read(t->mosq, 1);
	if (t->fd == fd && mosquitto_socket(t->mosq) == fd && (events & EPOLLOUT)) {
		/* With TLS, libmosquitto advances its handshake only in loop_read (want_connect). */
		if (t->cfg.ca_file && t->state == ST_CONNECTING)
			mosquitto_loop_read(t->mosq, 1);
		if (mosquitto_socket(t->mosq) == fd)
			mosquitto_loop_write(t->mosq, 1);
	}
	sync_fd(t);
}

static void schedule_reconnect(lpw_telemetry_t *t)
{
	uint32_t base = t->backoff_ms;
	/* +-25 % jitter so a fleet of gateways does not reconnect in lock-step after a broker restart. */
	uint32_t delay = base - base / 4 + (base / 2 ? jitter_rand(t) % (base / 2 + 1) : 0);
	t->backoff_ms = base >= t->cfg.reconnect_max_ms / 2 ? t->cfg.reconnect_max_ms : base * 2;
	if (lpw_loop_timer_in(t->loop, &t->reconnect_timer, delay) < 0)
		LPW_ERR(MOD, "cannot arm the reconnect timer: out of memory");
	else
		LPW_DEBUG(MOD, "reconnecting to %s:%u in %u ms", t->cfg.host, t->cfg.port, delay);
}

/* A connection attempt failed or an established connection was lost. */
static void connection_down(lpw_telemetry_t *t, const char *why)
{
	if (t->state == ST_STOPPED)
		return;
	if (t->state == ST_CONNECTED) {
		LPW_WARN(MOD, "connection to broker %s:%u lost (%s); reconnecting", t->cfg.host, t->cfg.port, why);
		t->outage_warned = true;
		t->backoff_ms = t->cfg.reconnect_min_ms;
	} else if (!t->outage_warned) {
		LPW_WARN(MOD, "cannot connect to broker %s:%u (%s); retrying with back-off up to %u s", t->cfg.host,
			 t->cfg.port, why, t->cfg.reconnect_max_ms / 1000);
		t->outage_warned = true;
	} else {
		LPW_DEBUG(MOD, "connect to %s:%u failed: %s", t->cfg.host, t->cfg.port, why);
	}
	t->state = ST_IDLE;
	unwatch(t);
	lpw_loop_timer_clear(t->loop, &t->misc_timer);
	schedule_reconnect(t);
}

static int publish(lpw_telemetry_t *t, const char *leaf, const char *device, const char *payload, int qos,
		   bool retain, int *out_mid)
{
	if (t->state != ST_CONNECTED)
		return -ENOTCONN;
	char *topic = lpw_telemetry_build_topic(t->cfg.prefix, t->cfg.gateway_id, leaf, device);
	if (!topic)
		return -EINVAL;
	int rc = mosquitto_publish(t->mosq, out_mid, topic, (int)strlen(payload), payload, qos, retain);
	if (rc != MOSQ_ERR_SUCCESS)
		LPW_DEBUG(MOD, "publish to %s failed: %s", topic, mosquitto_strerror(rc));
	free(topic);
	sync_fd(t);
	return rc == MOSQ_ERR_SUCCESS ? 0 : -EIO;
}

static int publish_status(lpw_telemetry_t *t, bool online, int *out_mid)
{
	char *payload = lpw_telemetry_build_status(online, LPW_VERSION, t->started_wall_s, t->cfg.gateway_id);
	if (!payload)
		return -ENOMEM;
	int rc = publish(t, "status", NULL, payload, QOS_RETAINED, true, out_mid);
	free(payload);
	return rc;
}

/* libmosquitto callbacks: called from inside mosquitto_loop_read/write/misc, never re-entered. */
static void on_connect(struct mosquitto *mosq, void *arg, int rc)
{
	lpw_telemetry_t *t = arg;
	if (rc != 0 || t->state == ST_STOPPED) {
		/* libmosquitto closes the socket and calls on_disconnect next. */
		LPW_DEBUG(MOD, "broker refused the connection: %s", mosquitto_connack_string(rc));
		return;
	}
	if (t->outage_warned)
		LPW_NOTICE(MOD, "connected to broker %s:%u again", t->cfg.host, t->cfg.port);
	else
		LPW_INFO(MOD, "connected to broker %s:%u", t->cfg.host, t->cfg.port);
	t->state = ST_CONNECTED;
	t->outage_warned = false;
	t->backoff_ms = t->cfg.reconnect_min_ms;
	/* Retained state is re-published: a restarted broker without persistence has lost it. */
	publish_status(t, true, NULL);
	const char *device;
	json_t *payload;
	json_object_foreach(t->device_states, device, payload)
		publish(t, "devices", device, json_string_value(payload), QOS_RETAINED, true, NULL);
}

static void on_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
	lpw_telemetry_t *t = arg;
	/* The socket is already closed: drop it from epoll's table before anything can reuse the number. */
	unwatch(t);
	connection_down(t, rc == MOSQ_ERR_SUCCESS ? "disconnected" : mosquitto_strerror(rc));
}

static void on_publish(struct mosquitto *mosq, void *arg, int mid)
{
	lpw_telemetry_t *t = arg;
	if (mid == t->offline_mid)
		t->offline_acked = true;
}

static void on_log(struct mosquitto *mosq, void *arg, int level, const char *str)
{
	LPW_DEBUG("mosquitto", "%s", str);
}

static void try_connect(lpw_telemetry_t *t)
{
	unwatch(t); /* connect_async closes any old socket: stop watching it while it is still open */
	t->state = ST_CONNECTING;
	/* May block in getaddrinfo() for a host name: configure a numeric address. */
	int rc = mosquitto_connect_async(t->mosq, t->cfg.host, t->cfg.port, (int)t->cfg.keepalive_s);
	if (rc != MOSQ_ERR_SUCCESS) {
		const char *why = rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
		connection_down(t, why);
		return;
	}
	sync_fd(t);
	if (t->state == ST_CONNECTING &&
	    lpw_loop_timer_in(t->loop, &t->misc_timer, MISC_PERIOD_MS) < 0)
		LPW_ERR(MOD, "cannot arm the keepalive timer: out of memory");
}

static void reconnect_fired(lpw_timer_t *timer, int64_t now_ms)
{
	lpw_telemetry_t *t = lpw_container_of(timer, lpw_telemetry_t, reconnect_timer);
	if (t->state == ST_IDLE)
		try_connect(t);
}

static void misc_fired(lpw_timer_t *timer, int64_t now_ms)
{
	lpw_telemetry_t *t = lpw_container_of(timer, lpw_telemetry_t, misc_timer);
	if (t->fd < 0 || t->state == ST_STOPPED)
		return;
	/* Keepalive: PINGREQ when idle, and closes (on_disconnect) when the broker or a pending
	 * connect has been silent for the keepalive period. */
	mosquitto_loop_misc(t->mosq);
	sync_fd(t);
	if (t->fd >= 0 && lpw_loop_timer_in(t->loop, &t->misc_timer, MISC_PERIOD_MS) < 0)
		LPW_ERR(MOD, "cannot arm the keepalive timer: out of memory");
}

static void stats_fired(lpw_timer_t *timer, int64_t now_ms)
{
	lpw_telemetry_t *t = lpw_container_of(timer, lpw_telemetry_t, stats_timer);
	if (t->state == ST_STOPPED)
		return;
	if (lpw_loop_timer_in(t->loop, &t->stats_timer, (int64_t)t->cfg.interval_s * 1000) < 0)
		LPW_ERR(MOD, "cannot arm the stats timer: out of memory");
	if (t->state != ST_CONNECTED) {
		t->dropped++;
		return;
	}
	json_t *obj = stats_object(t->stats, (now_ms - t->started_ms) / 1000, t->dropped);
	json_t *extra = obj && t->stats_extra ? json_object() : NULL;
	if (extra) { /* the bindings' own figures (e.g. the SMS modem's signal quality) */
		t->stats_extra(t->stats_extra_arg, extra);
		json_object_set_new(obj, "bindings", extra);
	}
	char *payload = dump_and_free(obj);
	if (!payload || publish(t, "stats", NULL, payload, QOS_STREAM, false, NULL) < 0)
		t->dropped++;
	free(payload);
}

/* ---------- session lifetime ---------- */

static int session_create(lpw_telemetry_t *t)
{
	char *will_topic = lpw_telemetry_build_topic(t->cfg.prefix, t->cfg.gateway_id, "status", NULL);
	char *will = lpw_telemetry_build_status(false, LPW_VERSION, t->started_wall_s, t->cfg.gateway_id);
	int rc = -ENOMEM;
	t->mosq = mosquitto_new(t->cfg.client_id, true, t);
	if (!t->mosq || !will_topic || !will)
		goto out;
	mosquitto_connect_callback_set(t->mosq, on_connect);
	mosquitto_disconnect_callback_set(t->mosq, on_disconnect);
	mosquitto_publish_callback_set(t->mosq, on_publish);
	mosquitto_log_callback_set(t->mosq, on_log);
	int mrc = MOSQ_ERR_SUCCESS;
	if (t->cfg.username)
		mrc = mosquitto_username_pw_set(t->mosq, t->cfg.username, t->cfg.password);
	if (mrc == MOSQ_ERR_SUCCESS && t->cfg.ca_file)
		mrc = mosquitto_tls_set(t->mosq, t->cfg.ca_file, NULL, NULL, NULL, NULL);
	/* The broker publishes this retained "offline" for us if we vanish without a DISCONNECT. */
	if (mrc == MOSQ_ERR_SUCCESS)
		mrc = mosquitto_will_set(t->mosq, will_topic, (int)strlen(will), will, QOS_RETAINED, true);
	if (mrc != MOSQ_ERR_SUCCESS) {
		LPW_ERR(MOD, "cannot set up the MQTT client: %s", mosquitto_strerror(mrc));
		rc = mrc == MOSQ_ERR_NOMEM ? -ENOMEM : -EINVAL;
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		mosquitto_destroy(t->mosq);
		t->mosq = NULL;
	}
	free(will_topic);
	free(will);
	return rc;
}

/* Real monotonic time: the shutdown flush bounds a real wait on a real socket. */
static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drives libmosquitto directly with poll() until done() or the deadline: shutdown only. */
static void flush_until(lpw_telemetry_t *t, int64_t deadline_ms, bool (*done)(const lpw_telemetry_t *))
{
	while (!done(t)) {
		int fd = mosquitto_socket(t->mosq);
		int64_t left = deadline_ms - mono_ms();
		if (fd < 0 || left <= 0)
			return;
		struct pollfd p = {.fd = fd, .events = POLLIN | (mosquitto_want_write(t->mosq) ? POLLOUT : 0)};
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return;
		if (p.revents & (POLLIN | POLLERR | POLLHUP))
			mosquitto_loop_read(t->mosq, 1);
		if ((p.revents & POLLOUT) && mosquitto_socket(t->mosq) == fd)
			mosquitto_loop_write(t->mosq, 1);
	}
}

static bool offline_done(const lpw_telemetry_t *t)
{
	return t->offline_acked;
}

static bool socket_closed(const lpw_telemetry_t *t)
{
	return mosquitto_socket(t->mosq) < 0;
}

/* Publishes the retained offline status (when connected), disconnects, stops every timer. */
static void session_close(lpw_telemetry_t *t)
{
	if (!t->mosq)
		return;
	int64_t deadline = mono_ms() + SHUTDOWN_FLUSH_MS;
	bool was_connected = t->state == ST_CONNECTED;
	int mid = -1;
	t->offline_acked = false;
	t->offline_mid = -1;
	if (was_connected && publish_status(t, false, &mid) == 0)
		t->offline_mid = mid;
	t->state = ST_STOPPED; /* from here on, on_disconnect schedules nothing */
	unwatch(t);
	lpw_loop_timer_clear(t->loop, &t->reconnect_timer);
	lpw_loop_timer_clear(t->loop, &t->misc_timer);
	if (t->offline_mid >= 0)
		flush_until(t, deadline, offline_done);
	if (mosquitto_socket(t->mosq) >= 0) {
		mosquitto_disconnect(t->mosq);
		flush_until(t, deadline, socket_closed);
	}
	if (was_connected)
		LPW_INFO(MOD, "disconnected from broker%s", t->offline_acked ? "" : " (offline status unconfirmed)");
	unwatch(t);
}

lpw_telemetry_t *lpw_telemetry_new(lpw_loop_t *loop, const lpw_telemetry_config_t *cfg, const lpw_stats_t *stats)
{
	if (!loop || !cfg)
		return NULL;
	lpw_telemetry_t *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->loop = loop;
	t->stats = stats;
	t->fd = -1;
	t->offline_mid = -1;
	lpw_timer_init(&t->reconnect_timer, reconnect_fired);
	lpw_timer_init(&t->misc_timer, misc_fired);
	lpw_timer_init(&t->stats_timer, stats_fired);
	if (tcfg_copy(&t->cfg, cfg) < 0) {
		free(t);
		return NULL;
	}
	if (global_refs++ == 0)
		mosquitto_lib_init();
	t->started_ms = lpw_loop_now(loop);
	t->started_wall_s = lpw_clock_wall_s();
	t->rng = ((uint64_t)mono_ms() << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)t;
	t->rng |= 1; /* xorshift must not start at 0 */
	t->backoff_ms = t->cfg.reconnect_min_ms;
	t->device_states = json_object();
	if (!t->device_states || session_create(t) < 0 ||
	    lpw_loop_timer_in(loop, &t->stats_timer, (int64_t)t->cfg.interval_s * 1000) < 0) {
		LPW_ERR(MOD, "cannot create the telemetry client");
		lpw_telemetry_free(t);
		return NULL;
	}
	t->state = ST_IDLE;
	try_connect(t);
	return t;
}

void lpw_telemetry_stop(lpw_telemetry_t *t)
{
	if (!t || t->state == ST_STOPPED)
		return;
	session_close(t);
	lpw_loop_timer_clear(t->loop, &t->stats_timer);
}

void lpw_telemetry_free(lpw_telemetry_t *t)
{
	if (!t)
		return;
	lpw_telemetry_stop(t);
	unwatch(t);
	lpw_loop_timer_clear(t->loop, &t->reconnect_timer);
	lpw_loop_timer_clear(t->loop, &t->misc_timer);
	lpw_loop_timer_clear(t->loop, &t->stats_timer);
	mosquitto_destroy(t->mosq);
	json_decref(t->device_states);
	tcfg_clear(&t->cfg);
	if (--global_refs == 0)
		mosquitto_lib_cleanup();
	free(t);
}

int lpw_telemetry_reconfigure(lpw_telemetry_t *t, const lpw_telemetry_config_t *cfg)
{
	if (!t || !cfg)
		return -EINVAL;
	struct tcfg next;
	int rc = tcfg_copy(&next, cfg);
	if (rc < 0)
		return rc;
	bool rebuild = session_changed(&t->cfg, &next);
	bool interval = next.interval_s != t->cfg.interval_s;
	bool stopped = t->state == ST_STOPPED;
	if (rebuild && !stopped)
		session_close(t);
	tcfg_clear(&t->cfg);
	t->cfg = next;
	if (interval && !stopped &&
	    lpw_loop_timer_in(t->loop, &t->stats_timer, (int64_t)t->cfg.interval_s * 1000) < 0)
		return -ENOMEM;
	if (!rebuild || stopped)
		return 0;
	LPW_NOTICE(MOD, "broker settings changed: reconnecting to %s:%u", t->cfg.host, t->cfg.port);
	mosquitto_destroy(t->mosq);
	t->mosq = NULL;
	rc = session_create(t);
	if (rc < 0)
		return rc; /* stays stopped: nothing to drive without a client */
	t->state = ST_IDLE;
	t->outage_warned = false;
	t->backoff_ms = t->cfg.reconnect_min_ms;
	try_connect(t);
	return 0;
}

bool lpw_telemetry_connected(const lpw_telemetry_t *t)
{
	return t && t->state == ST_CONNECTED;
}

uint64_t lpw_telemetry_dropped(const lpw_telemetry_t *t)
{
	return t ? t->dropped : 0;
}

int lpw_telemetry_event(lpw_telemetry_t *t, const char *type, const char *device, const char *fmt, ...)
{
	if (!t || !type || !*type)
		return -EINVAL;
	if (t->state != ST_CONNECTED) {
		t->dropped++;
		return -ENOTCONN;
	}
	char detail[DETAIL_MAX] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	char *payload = lpw_telemetry_build_event(lpw_clock_wall_s(), type, device, detail);
	int rc = payload ? publish(t, "events", NULL, payload, QOS_STREAM, false, NULL) : -ENOMEM;
	if (rc < 0)
		t->dropped++;
	free(payload);
	return rc;
}

int lpw_telemetry_device_state(lpw_telemetry_t *t, const char *device_id, const json_t *state)
{
	if (!t || !topic_level_ok(device_id, false) || (state && !json_is_object(state)))
		return -EINVAL;
	if (!state) {
		/* Forget the device; an empty retained message deletes the broker's copy. */
		json_object_del(t->device_states, device_id);
		publish(t, "devices", device_id, "", QOS_RETAINED, true, NULL);
		return 0;
	}
	char *payload = lpw_telemetry_build_device_state(state);
	json_t *copy = payload ? json_string(payload) : NULL;
	if (!copy || json_object_set_new(t->device_states, device_id, copy) < 0) {
		free(payload);
		return -ENOMEM;
	}
	/* When not connected this is published by on_connect. */
	publish(t, "devices", device_id, payload, QOS_RETAINED, true, NULL);
	free(payload);
	return 0;
}

void lpw_telemetry_set_stats_extra(lpw_telemetry_t *t, void (*add)(void *arg, json_t *obj), void *arg)
{
	t->stats_extra = add;
	t->stats_extra_arg = arg;
}
