/* The proxy: a device's datagram CoAP (RFC 7252) <-> its LwM2M servers over CoAP/TCP/TLS (RFC 8323).
 * Framing translation, token and message-ID mapping, duplicate detection, registration awareness. */
#ifndef LPW_PROXY_H
#define LPW_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/loop.h"
#include "core/stats.h"
#include "core/store.h"

typedef struct lpw_proxy lpw_proxy_t;

/* What the proxy reports about a device (for telemetry). */
typedef struct {
	const char *device_id;
	const char *server;       /* name of the server this is about */
	bool registered;
	uint32_t lifetime_s;
	const char *upstream;     /* "up", "down", "connecting", "failed" */
	const char *reason;       /* why the upstream is not up; "" when up */
	const char *location;     /* the location the device knows, "" when not registered */
} lpw_proxy_device_state_t;

typedef struct {
	/* Deliver datagram CoAP bytes to a device through its binding; server (LPW_SERVER_*, or an index into the
	 * device's servers) says whose message it is, for bindings that address servers (LoRaWAN FPorts).
	 * Returns 0 or -errno (-EMSGSIZE: too large for the device's path now). */
	int (*send_to_device)(void *arg, const lpw_config_device_t *dev, int server, const uint8_t *data, size_t len);
	void (*device_state)(void *arg, const lpw_proxy_device_state_t *state);
	/* A notable event: type is a short word ("upstream-failed", "request-timeout", ...). */
	void (*event)(void *arg, const char *type, const char *device_id, const char *detail);
	void *arg;
} lpw_proxy_hooks_t;

/* cfg, stats, hooks, store: borrowed, must outlive the proxy; store may be NULL (nothing persisted). Queued
 * server requests and registrations are restored from the store. NULL on failure (logged). */
lpw_proxy_t *lpw_proxy_new(lpw_loop_t *loop, const lpw_config_t *cfg, lpw_stats_t *stats, const lpw_proxy_hooks_t *hooks,
                           lpw_store_t *store);
/* Closes every upstream session. Accepts NULL. */
void lpw_proxy_free(lpw_proxy_t *px);

/* A datagram from dev (already identified by its binding). data is copied as needed.
 * Returns 0 when handled (forwarded, answered, queued or dropped as the RFCs say), -EBADMSG for a malformed
 * message (counted and logged), -ENOMEM. */
int lpw_proxy_uplink(lpw_proxy_t *px, const lpw_config_device_t *dev, int server, const uint8_t *data, size_t len);

/* server: the binding's addressing (LoRaWAN FPort) already says which server the device talks to: LPW_SERVER_*
 * or an index into the device's servers. */

/* Whether the proxy retransmits its CONs to devices of this binding (RFC 7252 timers). Bindings with their own
 * delivery rules (LoRaWAN Appendix C, SMS, SCEF) turn it off. Default on. */
void lpw_proxy_set_retransmit(lpw_proxy_t *px, lpw_binding_kind_t kind, bool on);

/* The binding says the device listens for window_ms from now (SGi: it just sent something; LoRaWAN: its RX
 * windows). Queued server requests start to leave. */
void lpw_proxy_reachable(lpw_proxy_t *px, const lpw_config_device_t *dev, uint32_t window_ms);

/* The binding gave up delivering the server request in flight to dev (LwM2M App. C: MAX_RETRANSMIT exhausted):
 * the server gets 5.04 Gateway Timeout and an event is published. */
void lpw_proxy_delivery_failed(lpw_proxy_t *px, const lpw_config_device_t *dev);

/* Server requests waiting for dev (for LoRaWAN FPending). */
size_t lpw_proxy_queued(const lpw_proxy_t *px, const lpw_config_device_t *dev);

/* Devices of this binding are in queue mode whatever they register with (LPWA bindings that decide reachability
 * themselves, e.g. LoRaWAN). Default off: queue mode follows the registration's Q. */
void lpw_proxy_set_queue_by_nature(lpw_proxy_t *px, lpw_binding_kind_t kind, bool on);

#endif
