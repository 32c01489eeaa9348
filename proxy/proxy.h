/* The proxy: a device's datagram CoAP (RFC 7252) <-> its LwM2M servers over CoAP/TCP/TLS (RFC 8323).
 * Framing translation, token and message-ID mapping, duplicate detection, registration awareness, queue mode.
 * It reaches devices through the southbound interface and asks the device's binding's traits (bindings/binding.h);
 * it never names a binding. Its per-device state is the device's LPW_SLOT_PROXY. */
#ifndef LPW_PROXY_H
#define LPW_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bindings/binding.h"
#include "config/config.h"
#include "core/loop.h"
#include "core/stats.h"
#include "core/store.h"

typedef struct lpw_proxy lpw_proxy_t;

/* What the proxy reports about a device (for telemetry). */
typedef struct {
	const lpw_device_t *dev;
	const char *device_id;
	const char *server;       /* name of the server this is about */
	bool registered;
	uint32_t lifetime_s;
	const char *upstream;     /* "up", "down", "connecting", "failed" */
	const char *reason;       /* why the upstream is not up; "" when up */
	const char *location;     /* the location the device knows, "" when not registered */
} lpw_proxy_device_state_t;

typedef struct {
	void (*device_state)(void *arg, const lpw_proxy_device_state_t *state);
	/* A notable event: type is a short word ("upstream-failed", "request-timeout", ...). */
	void (*event)(void *arg, const char *type, const char *device_id, const char *detail);
	void *arg;
} lpw_proxy_hooks_t;

/* cfg, stats, hooks, south, store: borrowed, must outlive the proxy (cfg until lpw_proxy_reconfigure replaces
 * it); store may be NULL (nothing persisted). Devices come with lpw_proxy_device_add. NULL on failure (logged). */
lpw_proxy_t *lpw_proxy_new(lpw_loop_t *loop, const lpw_config_t *cfg, lpw_stats_t *stats, const lpw_proxy_hooks_t *hooks,
                           const lpw_southbound_t *south, lpw_store_t *store);
/* Removes every device still there (as lpw_proxy_device_remove(..., false)) and closes the upstream. Accepts NULL. */
void lpw_proxy_free(lpw_proxy_t *px);

/* The interface the router delivers to (borrowed from px). */
const lpw_northbound_t *lpw_proxy_northbound(lpw_proxy_t *px);

/* A device joins: its upstream links are made (they connect at its first message), its queue and registrations
 * are restored from the store. Its binding must know it already (the proxy asks its traits). 0, -ENOMEM. */
int lpw_proxy_device_add(lpw_proxy_t *px, lpw_device_t *dev) __attribute__((warn_unused_result));
/* The device's configuration was replaced (old still valid during the call). A link whose server or credentials
 * changed is closed and made again (its registration is sent to the server again); an unchanged link keeps its
 * session. */
void lpw_proxy_device_update(lpw_proxy_t *px, lpw_device_t *dev, const lpw_config_device_t *old);
/* The device leaves. forget (a reload removed it): queued server requests are answered 5.03 and its queue and
 * registrations are deleted from the store; else (shutdown) they stay stored for the next start. Its links are
 * closed either way. */
void lpw_proxy_device_remove(lpw_proxy_t *px, lpw_device_t *dev, bool forget);
/* A new configuration replaces the running one: upstream settings apply to the next connection. */
void lpw_proxy_reconfigure(lpw_proxy_t *px, const lpw_config_t *cfg);

/* A datagram from dev (already identified by its binding); server: the binding's addressing (LoRaWAN FPort):
 * LPW_SERVER_* or an index into the device's servers. data is copied as needed.
 * Returns 0 when handled (forwarded, answered, queued or dropped as the RFCs say), -EBADMSG for a malformed
 * message (counted and logged), -ENOMEM, -EINVAL for a device the proxy does not know. */
int lpw_proxy_uplink(lpw_proxy_t *px, lpw_device_t *dev, int server, const uint8_t *data, size_t len);

/* The binding says the device listens for window_ms from now (SGi: it just sent something; LoRaWAN: its RX
 * windows). Queued server requests start to leave. */
void lpw_proxy_reachable(lpw_proxy_t *px, lpw_device_t *dev, uint32_t window_ms);

/* What became of the server request in flight to dev: FAILED (LwM2M App. C: MAX_RETRANSMIT exhausted) answers
 * the server 5.04 and publishes an event; BUFFERED stops the proxy's own retransmissions (App. D.6). */
void lpw_proxy_outcome(lpw_proxy_t *px, lpw_device_t *dev, lpw_delivery_t outcome);

/* Server requests waiting for dev. */
size_t lpw_proxy_queued(const lpw_proxy_t *px, const lpw_device_t *dev);

/* --- for the control socket (proxy_info.c) --- */

/* Whether the proxy would deliver to dev now (queue mode: inside its listening window). */
bool lpw_proxy_device_reachable(const lpw_proxy_t *px, const lpw_device_t *dev);
/* Calls fn with the state of each of dev's servers (as the device_state hook reports it; the pointers are valid
 * for the call). Returns how many, or -ENOENT for a device the proxy does not know. */
int lpw_proxy_device_servers(const lpw_proxy_t *px, const lpw_device_t *dev,
                             void (*fn)(void *arg, const lpw_proxy_device_state_t *st), void *arg);

/* One server request waiting for a device. */
typedef struct {
	const char *server;  /* its server's name; "" when restored after a restart (the server's connection is gone) */
	const char *method;  /* "GET", "PUT", "POST", "DELETE", "FETCH", "PATCH", "iPATCH", or "?" */
	char path[128];      /* its Uri-Path, "/3/0/1"; truncated with "..." */
	int64_t expires_in_ms; /* until it is answered 5.04 */
} lpw_proxy_queued_t;

/* Calls fn for each request queued for dev, oldest first (q valid for the call). Returns how many, or -ENOENT. */
int lpw_proxy_queue_foreach(const lpw_proxy_t *px, const lpw_device_t *dev,
                            void (*fn)(void *arg, const lpw_proxy_queued_t *q), void *arg);
/* Answers every request queued for dev 5.03 and forgets it (store included). Returns how many, or -ENOENT. */
int lpw_proxy_flush(lpw_proxy_t *px, lpw_device_t *dev);

#endif
