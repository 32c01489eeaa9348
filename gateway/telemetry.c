/* MQTT telemetry on the core/mqtt connection: topics, jansson payloads, the stats timer, retained device states. */
#include "gateway/telemetry.h"

#include "config/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mqtt.h"

#define MOD "telemetry"

#define DEFAULT_PREFIX "lpwagw"
#define DEFAULT_INTERVAL_S 60
#define DEFAULT_KEEPALIVE_S 60
#define DEFAULT_RECONNECT_MIN_MS 1000
#define DEFAULT_RECONNECT_MAX_MS 60000
#define SHUTDOWN_FLUSH_MS 1000 /* the only blocking allowed: offline + DISCONNECT at stop */
#define DETAIL_MAX 512
#define QOS_RETAINED 1 /* retained state is acknowledged, so the offline status is known to be stored */
#define QOS_STREAM 0   /* stats and events: the next one supersedes a lost one */

#ifndef LPW_VERSION
#define LPW_VERSION "unknown"
#endif

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
	lpw_mqtt_t *mqtt;      /* the broker connection; NULL only while being rebuilt */
	bool stopped;          /* lpw_telemetry_stop ran: no more publishing, no reconnects */
	lpw_timer_t stats_timer;
	int64_t started_ms;    /* loop clock, for uptime */
	int64_t started_wall_s;
	uint64_t dropped;
	json_t *device_states; /* device_id -> serialized payload (json string) */
	int offline_mid;       /* mid of the offline status being flushed at stop */
	bool offline_acked;
};

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

/* stats.<name> for each source the modules registered. */
static int add_sources(json_t *root, const lpw_stats_t *s)
{
	for (size_t i = 0; i < LPW_STATS_MAX_SOURCES; i++) {
		const lpw_stats_source_t *src = &s->sources[i];
		if (!src->report || !src->name)
			continue;
		json_t *obj = json_object();
		if (!obj)
			return -ENOMEM;
		src->report(src->arg, obj);
		if (json_object_set_new(root, src->name, obj) < 0)
			return -ENOMEM;
	}
	return 0;
}

char *lpw_telemetry_build_stats(const lpw_stats_t *stats, int64_t uptime_s, uint64_t telemetry_dropped)
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
	json_t *root = json_pack(
		"{s:I, s:{s:I, s:I}, s:{s:o, s:o}, s:{s:I, s:I, s:I}, s:I, s:{s:I, s:I}, s:I, s:I, s:I, s:{s:I, s:I}}",
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
		"telemetry_dropped", (json_int_t)telemetry_dropped,
		"suppressed", "log", (json_int_t)lpw_log_suppressed(), "events", (json_int_t)s->events_suppressed);
	if (root && add_sources(root, s) < 0) {
		json_decref(root);
		root = NULL;
	}
	return dump_and_free(root);
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

/* ---------- publishing on the connection ---------- */

static int publish(lpw_telemetry_t *t, const char *leaf, const char *device, const char *payload, int qos,
		   bool retain, int *out_mid)
{
	if (t->stopped || !lpw_mqtt_connected(t->mqtt))
		return -ENOTCONN;
	char *topic = lpw_telemetry_build_topic(t->cfg.prefix, t->cfg.gateway_id, leaf, device);
	if (!topic)
		return -EINVAL;
	int rc = lpw_mqtt_publish(t->mqtt, topic, payload, strlen(payload), qos, retain, out_mid);
	free(topic);
	return rc;
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

/* The broker accepted us (again). Retained state is re-published: a restarted broker without persistence has
 * lost it. */
static void on_connected(void *arg)
{
	lpw_telemetry_t *t = arg;
	if (publish_status(t, true, NULL) < 0)
		LPW_DEBUG(MOD, "online status not published");
	const char *device;
	json_t *payload;
	json_object_foreach(t->device_states, device, payload)
		if (publish(t, "devices", device, json_string_value(payload), QOS_RETAINED, true, NULL) < 0)
			LPW_DEBUG(MOD, "%s: device state not published", device);
}

static void on_published(void *arg, int mid)
{
	lpw_telemetry_t *t = arg;
	if (mid == t->offline_mid)
		t->offline_acked = true;
}

static void stats_fired(lpw_timer_t *timer, int64_t now_ms)
{
	lpw_telemetry_t *t = lpw_container_of(timer, lpw_telemetry_t, stats_timer);
	if (t->stopped)
		return;
	if (lpw_loop_timer_in(t->loop, &t->stats_timer, (int64_t)t->cfg.interval_s * 1000) < 0)
		LPW_ERR(MOD, "cannot arm the stats timer: out of memory");
	if (!lpw_mqtt_connected(t->mqtt)) {
		t->dropped++;
		return;
	}
	char *payload = lpw_telemetry_build_stats(t->stats, (now_ms - t->started_ms) / 1000, t->dropped);
	if (!payload || publish(t, "stats", NULL, payload, QOS_STREAM, false, NULL) < 0)
		t->dropped++;
	free(payload);
}

/* ---------- session lifetime ---------- */

/* A connection for the current configuration, with the retained "offline" status as its last will. */
static int session_create(lpw_telemetry_t *t)
{
	char *will_topic = lpw_telemetry_build_topic(t->cfg.prefix, t->cfg.gateway_id, "status", NULL);
	char *will = lpw_telemetry_build_status(false, LPW_VERSION, t->started_wall_s, t->cfg.gateway_id);
	int rc = -ENOMEM;
	if (will_topic && will) {
		lpw_mqtt_config_t mc = {
			.name = MOD, .host = t->cfg.host, .port = t->cfg.port, .client_id = t->cfg.client_id,
			.username = t->cfg.username, .password = t->cfg.password, .ca_file = t->cfg.ca_file,
			.keepalive_s = t->cfg.keepalive_s, .reconnect_min_ms = t->cfg.reconnect_min_ms,
			.reconnect_max_ms = t->cfg.reconnect_max_ms,
			/* The broker publishes this retained "offline" for us if we vanish without a DISCONNECT. */
			.will_topic = will_topic, .will_payload = will, .will_len = strlen(will),
			.will_qos = QOS_RETAINED, .will_retain = true,
		};
		lpw_mqtt_hooks_t hooks = {.connected = on_connected, .published = on_published, .arg = t};
		t->mqtt = lpw_mqtt_new(t->loop, &mc, &hooks);
		rc = t->mqtt ? 0 : -ENOMEM;
	}
	free(will_topic);
	free(will);
	return rc;
}

/* Publishes the retained offline status (when connected) and disconnects. */
static void session_close(lpw_telemetry_t *t)
{
	if (!t->mqtt)
		return;
	bool was_connected = lpw_mqtt_connected(t->mqtt);
	int mid = -1;
	t->offline_acked = false;
	t->offline_mid = -1;
	if (was_connected && publish_status(t, false, &mid) == 0)
		t->offline_mid = mid;
	lpw_mqtt_disconnect(t->mqtt, SHUTDOWN_FLUSH_MS);
	if (was_connected)
		LPW_INFO(MOD, "disconnected from broker%s", t->offline_acked ? "" : " (offline status unconfirmed)");
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
	t->offline_mid = -1;
	lpw_timer_init(&t->stats_timer, stats_fired);
	if (tcfg_copy(&t->cfg, cfg) < 0) {
		free(t);
		return NULL;
	}
	t->started_ms = lpw_loop_now(loop);
	t->started_wall_s = lpw_clock_wall_s();
	t->device_states = json_object();
	if (!t->device_states || session_create(t) < 0 ||
	    lpw_loop_timer_in(loop, &t->stats_timer, (int64_t)t->cfg.interval_s * 1000) < 0) {
		LPW_ERR(MOD, "cannot create the telemetry client");
		lpw_telemetry_free(t);
		return NULL;
	}
	return t;
}

void lpw_telemetry_stop(lpw_telemetry_t *t)
{
	if (!t || t->stopped)
		return;
	session_close(t);
	t->stopped = true;
	lpw_loop_timer_clear(t->loop, &t->stats_timer);
}

void lpw_telemetry_free(lpw_telemetry_t *t)
{
	if (!t)
		return;
	lpw_telemetry_stop(t);
	lpw_loop_timer_clear(t->loop, &t->stats_timer);
	lpw_mqtt_free(t->mqtt);
	json_decref(t->device_states);
	tcfg_clear(&t->cfg);
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
	if (rebuild && !t->stopped)
		session_close(t);
	tcfg_clear(&t->cfg);
	t->cfg = next;
	if (interval && !t->stopped &&
	    lpw_loop_timer_in(t->loop, &t->stats_timer, (int64_t)t->cfg.interval_s * 1000) < 0)
		return -ENOMEM;
	if (!rebuild || t->stopped)
		return 0;
	LPW_NOTICE(MOD, "broker settings changed: reconnecting to %s:%u", t->cfg.host, t->cfg.port);
	lpw_mqtt_free(t->mqtt);
	t->mqtt = NULL;
	rc = session_create(t);
	if (rc < 0) {
		t->stopped = true; /* nothing to drive without a client */
		lpw_loop_timer_clear(t->loop, &t->stats_timer);
	}
	return rc;
}

bool lpw_telemetry_connected(const lpw_telemetry_t *t)
{
	return t && !t->stopped && lpw_mqtt_connected(t->mqtt);
}

uint64_t lpw_telemetry_dropped(const lpw_telemetry_t *t)
{
	return t ? t->dropped : 0;
}

int lpw_telemetry_event(lpw_telemetry_t *t, const char *type, const char *device, const char *fmt, ...)
{
	if (!t || !type || !*type)
		return -EINVAL;
	if (!lpw_telemetry_connected(t)) {
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
		if (publish(t, "devices", device_id, "", QOS_RETAINED, true, NULL) < 0)
			LPW_DEBUG(MOD, "%s: retained state not cleared now", device_id);
		return 0;
	}
	char *payload = lpw_telemetry_build_device_state(state);
	json_t *copy = payload ? json_string(payload) : NULL;
	if (!copy || json_object_set_new(t->device_states, device_id, copy) < 0) {
		free(payload);
		return -ENOMEM;
	}
	/* When not connected this is published by on_connected. */
	if (publish(t, "devices", device_id, payload, QOS_RETAINED, true, NULL) < 0)
		LPW_DEBUG(MOD, "%s: device state published on the next connect", device_id);
	free(payload);
	return 0;
}

