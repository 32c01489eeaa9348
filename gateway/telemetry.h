/* MQTT telemetry: gateway status (retained, with an "offline" last will), periodic statistics, events and
 * per-device state, published on one core/mqtt connection (libmosquitto in the gateway's one epoll loop, no thread). */
#ifndef LPW_TELEMETRY_H
#define LPW_TELEMETRY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/loop.h"
#include "core/stats.h"

typedef struct lpw_telemetry lpw_telemetry_t;

/* Everything is copied by lpw_telemetry_new/reconfigure; NULL strings take the default shown. */
typedef struct {
	const char *host;         /* broker address; NUMERIC expected: a name is resolved with a blocking
	                           * getaddrinfo() inside mosquitto_connect_async (libmosquitto has no async DNS) */
	uint16_t port;            /* 0 = 1883, or 8883 with ca_file */
	const char *ca_file;      /* TLS to the broker when set (not covered by the tests yet) */
	const char *username;     /* NULL = none */
	const char *password;     /* NULL = none; only ever given to libmosquitto, never published or logged */
	const char *topic_prefix; /* "lpwagw"; may contain '/', never '+' or '#' */
	const char *gateway_id;   /* required; one topic level (no '/', '+', '#') */
	const char *client_id;    /* "lpwagw-<gateway_id>" */
	uint32_t interval_s;      /* stats period; 0 = 60 */
	uint32_t keepalive_s;     /* MQTT keepalive; 0 = 60; also bounds a connect that never completes */
	uint32_t reconnect_min_ms; /* first back-off step; 0 = 1000 */
	uint32_t reconnect_max_ms; /* back-off ceiling; 0 = 60000 */
} lpw_telemetry_config_t;

/* Creates the telemetry client and starts connecting (asynchronously; failures are retried with
 * exponential back-off and jitter, logged at WARN once per outage). loop: borrowed, must outlive the
 * client. cfg: copied. stats: borrowed, must outlive the client; NULL reports zeros.
 * Returns NULL on invalid configuration or allocation failure (logged). */
lpw_telemetry_t *lpw_telemetry_new(lpw_loop_t *loop, const lpw_telemetry_config_t *cfg, const lpw_stats_t *stats);

/* Clean stop: when connected, publishes the retained "offline" status and disconnects, blocking at most
 * about one second (the only blocking telemetry does). No reconnects afterwards. Idempotent. */
void lpw_telemetry_stop(lpw_telemetry_t *t);

/* lpw_telemetry_stop, then releases everything. Accepts NULL. Not from inside a telemetry callback. */
void lpw_telemetry_free(lpw_telemetry_t *t);

/* Applies a new configuration (SIGHUP). cfg: copied. Broker, credential, identity or topic changes
 * stop the session cleanly (offline published) and reconnect; interval changes only re-arm the stats
 * timer. -EINVAL for an invalid configuration (the old one stays), -ENOMEM. */
int lpw_telemetry_reconfigure(lpw_telemetry_t *t, const lpw_telemetry_config_t *cfg)
	__attribute__((warn_unused_result));

/* True once the broker has accepted the connection (CONNACK), until it is lost. */
bool lpw_telemetry_connected(const lpw_telemetry_t *t);

/* Publishes an event to <prefix>/<gateway_id>/events. type: copied, required; device: copied, NULL for
 * gateway-wide events; detail formatted from fmt (truncated at 512 bytes). While disconnected the event
 * is dropped and counted (telemetry_dropped in stats). -EINVAL for a NULL type, -ENOTCONN when dropped. */
int lpw_telemetry_event(lpw_telemetry_t *t, const char *type, const char *device, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Sets the retained state of a device on <prefix>/<gateway_id>/devices/<device_id>. state: a JSON
 * object, borrowed (deep-copied), or NULL to forget the device and clear its retained topic. Members
 * whose names look secret ("key", "psk", "secret", "password", "passwd", "token", any case, any depth)
 * are removed. The last state per device is kept and re-published after every reconnect.
 * -EINVAL for a bad device_id (empty, '/', '+', '#') or a non-object state, -ENOMEM.
 * Publishes now if connected, else on the next connect. */
int lpw_telemetry_device_state(lpw_telemetry_t *t, const char *device_id, const json_t *state)
	__attribute__((warn_unused_result));

/* Counts of what was not published because the broker was unreachable (also in the stats payload). */
uint64_t lpw_telemetry_dropped(const lpw_telemetry_t *t);

/* --- Pure payload and topic builders (no broker needed); each returns a malloc'd string owned by the
 * caller (free()), or NULL on invalid arguments / allocation failure. --- */

/* "<prefix>/<gateway_id>/<leaf>" or, with device_id, "<prefix>/<gateway_id>/<leaf>/<device_id>". */
char *lpw_telemetry_build_topic(const char *prefix, const char *gateway_id, const char *leaf,
				const char *device_id);

/* {"state":"online"|"offline","version":..,"started":<unix s>,"gateway_id":..} */
char *lpw_telemetry_build_status(bool online, const char *version, int64_t started_s, const char *gateway_id);

/* {"uptime":s,"devices":{"known","reachable"},"messages":{"up":{<binding>:n..},"down":{..}},
 *  "upstream":{"up","down","reconnects"},"queue_depth":n,"dropped":{"unknown_device","malformed"},
 *  "duplicates":n,"errors":n,"telemetry_dropped":n,"suppressed":{"log","events"}} and one member per source
 * registered in stats (lpw_stats_add_source). suppressed.log is the process-wide count of LPW_LOG_LIMITED.
 * stats: borrowed, NULL reports zeros. */
char *lpw_telemetry_build_stats(const lpw_stats_t *stats, int64_t uptime_s, uint64_t telemetry_dropped);

/* {"time":unix_s,"type":..,"device":.. (only when not NULL),"detail":..}; detail NULL = "". */
char *lpw_telemetry_build_event(int64_t time_s, const char *type, const char *device, const char *detail);

/* The device state object as published: a compact dump of state without secret-looking members. */
char *lpw_telemetry_build_device_state(const json_t *state);

#endif
