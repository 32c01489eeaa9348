/* One MQTT client connection driven by the gateway's epoll loop (libmosquitto without its thread): connect with
 * credentials and TLS (also a client certificate), reconnect with exponential back-off and jitter on loop timers,
 * publish, subscriptions that are sent again after every reconnect, and a callback per received message.
 *
 * Each lpw_mqtt_t is independent (its own libmosquitto instance, timers and socket watch): telemetry has one, a
 * network server that talks to ChirpStack has another, in the same loop. Knows no topic layout and no payload.
 * All callbacks run from the loop (inside lpw_mqtt's own I/O and timer dispatch), never re-entered. */
#ifndef LPW_MQTT_H
#define LPW_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

typedef struct lpw_mqtt lpw_mqtt_t;

/* Everything is copied by lpw_mqtt_new; NULL strings mean "none" unless a default is shown. */
typedef struct {
	const char *name;          /* who the connection is for, in log lines ("telemetry"); default "mqtt" */
	const char *host;          /* required; NUMERIC expected: a name is resolved with a blocking getaddrinfo()
	                            * inside mosquitto_connect_async (libmosquitto has no asynchronous DNS) */
	uint16_t port;             /* 0 = 1883, or 8883 when TLS is on */
	const char *client_id;     /* required */
	const char *username;
	const char *password;      /* only ever given to libmosquitto, never logged */
	/* TLS is on when ca_file is set: the broker's certificate is verified against it (and its name against
	 * host). cert_file + key_file: our client certificate (both or neither). */
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
	uint32_t keepalive_s;      /* MQTT keepalive; 0 = 60; also bounds a connect that never completes */
	uint32_t reconnect_min_ms; /* first back-off step; 0 = 1000 */
	uint32_t reconnect_max_ms; /* back-off ceiling; 0 = 60000 (raised to reconnect_min_ms if below) */
	/* Last will, published by the broker if the connection drops without a DISCONNECT; will_topic NULL = none. */
	const char *will_topic;
	const void *will_payload;
	size_t will_len;
	int will_qos;
	bool will_retain;
} lpw_mqtt_config_t;

/* Any hook may be NULL. Hooks may publish, subscribe and unsubscribe; they must not free the client. */
typedef struct {
	/* The broker accepted the connection (first time and after every reconnect); the subscriptions are already
	 * sent again. The place to re-publish retained state a restarted broker may have lost. */
	void (*connected)(void *arg);
	/* A connection that was up is lost (why: libmosquitto's reason). Not called for failed attempts. */
	void (*disconnected)(void *arg, const char *why);
	/* A message on a subscribed topic. topic and payload are borrowed for the call. */
	void (*message)(void *arg, const char *topic, const void *payload, size_t len, int qos, bool retain);
	/* The broker acknowledged the QoS 1/2 publish that returned this mid (QoS 0: handed to the socket). */
	void (*published)(void *arg, int mid);
	void *arg;
} lpw_mqtt_hooks_t;

/* Monotonic; never reset. */
typedef struct {
	uint64_t connects;      /* CONNACKs accepted */
	uint64_t failures;      /* attempts that failed and connections lost */
	uint64_t published;     /* publishes handed to libmosquitto */
	uint64_t received;      /* messages passed to the message hook */
} lpw_mqtt_counters_t;

/* Creates the client and starts connecting asynchronously (never blocks but for the DNS case above). Failures are
 * retried with back-off, logged at WARN once per outage and at DEBUG after that. loop: borrowed, must outlive the
 * client. cfg and hooks: copied. NULL on an invalid configuration (no host or client_id, half a client
 * certificate) or an allocation failure; logged. */
lpw_mqtt_t *lpw_mqtt_new(lpw_loop_t *loop, const lpw_mqtt_config_t *cfg, const lpw_mqtt_hooks_t *hooks);

/* Clean stop: waits, blocking at most budget_ms on a real clock (the only blocking here, meant for shutdown), for
 * the broker to acknowledge every QoS 1/2 publish still in flight, then sends DISCONNECT (the will is not
 * published) and closes. No reconnect afterwards; publishing then returns -ENOTCONN. Idempotent. Returns whether
 * everything in flight was acknowledged. Not from inside a hook. */
bool lpw_mqtt_disconnect(lpw_mqtt_t *m, uint32_t budget_ms);

/* Closes without waiting (no DISCONNECT if lpw_mqtt_disconnect was not called: the broker publishes the will) and
 * releases everything. Accepts NULL. Not from inside a hook. */
void lpw_mqtt_free(lpw_mqtt_t *m);

/* True from the broker's CONNACK until the connection is lost or closed. */
bool lpw_mqtt_connected(const lpw_mqtt_t *m);

/* Publishes payload (len bytes, copied) on topic (copied). *out_mid (may be NULL) names it for the published hook.
 * -ENOTCONN while not connected (nothing is queued for later), -EINVAL for a bad topic, qos or size, -ENOMEM,
 * -EIO for another libmosquitto error (logged at DEBUG). */
int lpw_mqtt_publish(lpw_mqtt_t *m, const char *topic, const void *payload, size_t len, int qos, bool retain,
		     int *out_mid) __attribute__((warn_unused_result));

/* Subscribes to pattern (copied; MQTT wildcards allowed) at qos, now if connected and again after every
 * reconnect. Subscribing to a pattern already held updates its qos. -EINVAL for a bad pattern or qos, -ENOMEM. */
int lpw_mqtt_subscribe(lpw_mqtt_t *m, const char *pattern, int qos) __attribute__((warn_unused_result));

/* Drops a subscription (sends UNSUBSCRIBE if connected). -ENOENT if not subscribed. */
int lpw_mqtt_unsubscribe(lpw_mqtt_t *m, const char *pattern);

/* QoS 1/2 publishes not acknowledged yet. */
size_t lpw_mqtt_inflight(const lpw_mqtt_t *m);

void lpw_mqtt_get_counters(const lpw_mqtt_t *m, lpw_mqtt_counters_t *out);

#endif
