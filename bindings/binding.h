/* The one contract between a binding and the rest of the gateway.
 *
 * A binding turns radio/modem/SCEF input into "device D sent these CoAP bytes" and back, owns its own delivery and
 * timing rules, and declares its traits per device. It is one row of bindings/registry.c; the gateway creates every
 * enabled row with the same environment and never includes a binding's header; the proxy asks traits and never
 * names a binding kind.
 *
 *   binding --host (uplink/reachable/outcome)--> router --northbound--> proxy
 *   proxy --southbound (send/traits)--> router --ops--> binding
 *
 * Devices are lpw_device_t handles from the device table (bindings/device.h): a binding resolves a device once at
 * its edge (host->find by identity, or host->find_key by a key the binding owns such as a DevAddr or a source IP)
 * and passes the handle on. */
#ifndef LPW_BINDING_H
#define LPW_BINDING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bindings/device.h"
#include "config/config.h"
#include "core/loop.h"
#include "core/stats.h"
#include "core/store.h"

_Static_assert(LPW_BINDING_COUNT <= LPW_STATS_BINDINGS, "every binding kind has its per-binding counters");

/* What became of a downlink, for bindings that learn it (SCEF delivery status, LoRaWAN delivery reports). */
typedef enum {
	LPW_DELIVERY_OK,       /* delivered to the device */
	LPW_DELIVERY_BUFFERED, /* the network holds it for the device: the proxy must not resend it (App. D.6) */
	LPW_DELIVERY_FAILED,   /* the binding gave up: the server gets 5.04 */
	LPW_DELIVERY_UNKNOWN,
} lpw_delivery_t;

/* A datagram CoAP message for a device. */
typedef struct {
	const uint8_t *data; /* borrowed for the call */
	size_t len;
	int server;    /* whose message it is: LPW_SERVER_* or an index into the device's servers (LoRaWAN FPorts) */
	size_t queued; /* server requests still waiting for the device after this one (LoRaWAN FPending) */
} lpw_downlink_t;

/* What a binding says about one device, asked whenever it matters (sizes change with a LoRaWAN data rate). */
typedef struct {
	/* Largest datagram the device can receive now; the proxy refuses (4.13 + Size1) or re-blocks what is bigger. */
	uint32_t max_message_size_now;
	/* The most the path can ever carry: what the upstream CSM advertises (RFC 8323 §5.3.1). */
	uint32_t max_message_size;
	bool proxy_retransmits;     /* the proxy resends its CONs by RFC 7252 timers (plain UDP paths) */
	bool queue_mode;            /* queue mode by nature: the binding reports reachability (LoRaWAN RX windows) */
	bool registration_defaults; /* fill in LwM2M table 6.8.4-1 defaults in a Register (non-OSCORE devices) */
	const char *default_objects; /* object list for a Register that has none; borrowed from the configuration */
} lpw_binding_traits_t;

/* What a binding calls; implemented by the router. Every callback is made from the loop. */
typedef struct {
	/* The device sent datagram CoAP bytes (borrowed for the call). server: the binding's own addressing of the
	 * device's servers (LoRaWAN FPort), else LPW_SERVER_ANY. */
	void (*uplink)(void *ctx, lpw_device_t *dev, int server, const uint8_t *data, size_t len);
	/* The device listens for window_ms from now (it just sent something, or opened RX windows). */
	void (*reachable)(void *ctx, lpw_device_t *dev, uint32_t window_ms);
	/* What became of the downlink last sent to the device. */
	void (*outcome)(void *ctx, lpw_device_t *dev, lpw_delivery_t outcome);
	/* The device of this binding with this identity (the configuration's normalised form), or NULL. */
	lpw_device_t *(*find)(void *ctx, lpw_binding_kind_t kind, const char *identity);
	/* A key the binding owns (DevAddr, source address): the device it was set for, or NULL. */
	lpw_device_t *(*find_key)(void *ctx, lpw_binding_kind_t kind, const void *key, size_t len);
	/* Sets the device's key (replacing its previous one; len 0 removes it). key is copied. -EEXIST if another
	 * device of the binding has it, -ENOMEM. */
	int (*set_key)(void *ctx, lpw_device_t *dev, const void *key, size_t len);
	/* Input from no configured device (unknown address, number or DevAddr): counted, never forwarded. */
	void (*dropped)(void *ctx, lpw_binding_kind_t kind);
	/* A notable event for telemetry (dev may be NULL): type is a short word, detail a short text. */
	void (*event)(void *ctx, lpw_device_t *dev, const char *type, const char *detail);
	void *ctx;
} lpw_binding_host_t;

/* Everything a binding is created with; borrowed, outlives the binding (cfg is replaced by reconfigure). */
typedef struct {
	lpw_loop_t *loop;
	const lpw_config_t *cfg;
	lpw_store_t *store; /* may be NULL (tests) */
	lpw_stats_t *stats;
	const lpw_binding_host_t *host;
} lpw_binding_env_t;

/* What the router calls. self is the binding's own state. */
typedef struct {
	/* Sends one message to the device. 0, or: -EHOSTUNREACH the device cannot be reached now (no address yet);
	 * -EMSGSIZE too large for its path now (traits tell the size); -EAGAIN/-EBUSY a temporary refusal (rate
	 * limit, one already in flight): try later; anything else: gave up. */
	int (*send)(void *self, lpw_device_t *dev, const lpw_downlink_t *dl);
	/* Fills *out for the device (every field; zero what does not apply). */
	void (*traits)(void *self, const lpw_device_t *dev, lpw_binding_traits_t *out);
	/* A device of this binding joins the table (at start-up and on reload). 0 or -errno (the device is then
	 * refused and the reason logged). */
	int (*device_add)(void *self, lpw_device_t *dev);
	/* The device's configuration was replaced on reload: old is still valid during the call, the new one is
	 * lpw_device_config(dev). Called for every kept device, changed or not (pointers into the old configuration
	 * must be dropped). */
	void (*device_update)(void *self, lpw_device_t *dev, const lpw_config_device_t *old);
	/* The device leaves the table: drop what the binding holds for it (its slot). */
	void (*device_remove)(void *self, lpw_device_t *dev);
	/* A new configuration replaces the running one (called before the device_* calls of that reload). Writes a
	 * line per binding setting that needs a restart to report and returns how many; applies the rest. */
	int (*reconfigure)(void *self, const lpw_config_t *cfg, FILE *report);
	/* Adds the binding's own counters and gauges to obj (telemetry). May be NULL. */
	void (*report)(void *self, json_t *obj);
	void (*free)(void *self);
	/* Out-of-band wake-up of a device of ANOTHER binding (LwM2M 1.1.1 §6.6: the SMS binding sends the
	 * Registration Update Trigger to the device's `sms` number). 0, -EAGAIN (rate limit, modem not ready),
	 * -ENOENT (no number). May be NULL: only the SMS binding has it. */
	int (*wake)(void *self, lpw_device_t *dev);
	/* Forgets the device's session (lpwagw-ctl reset-session): LoRaWAN drops an OTAA session so that the device
	 * must join again. 0, -EOPNOTSUPP when the device has no session to forget (an ABP device), or -errno. May be
	 * NULL: a binding without sessions (the control socket then says so). */
	int (*reset_session)(void *self, lpw_device_t *dev);
} lpw_binding_ops_t;

typedef struct {
	const lpw_binding_ops_t *ops;
	void *self;
} lpw_binding_t;

/* One row of bindings/registry.c. */
typedef struct {
	lpw_binding_kind_t kind;
	const char *name; /* as in the configuration file */
	/* Whether cfg turns the binding on. */
	bool (*enabled)(const lpw_config_t *cfg);
	/* Starts the binding (sockets, devices come later through device_add). 0 and *out, or -errno with the reason
	 * logged. */
	int (*create)(const lpw_binding_env_t *env, lpw_binding_t *out);
} lpw_binding_desc_t;

/* The registry: every binding the gateway knows, in start order. */
extern const lpw_binding_desc_t lpw_binding_registry[];
extern const size_t lpw_binding_registry_len;

/* What the proxy uses to reach devices; the router implements it (a fake in tests). */
typedef struct {
	int (*send)(void *ctx, lpw_device_t *dev, const lpw_downlink_t *dl);
	void (*traits)(void *ctx, const lpw_device_t *dev, lpw_binding_traits_t *out);
	void *ctx;
	/* Wakes the device out of band (§6.6, by SMS) when a server request has waited for it; NULL = none. */
	int (*wake)(void *ctx, lpw_device_t *dev);
} lpw_southbound_t;

/* What the router delivers to; the proxy implements it. */
typedef struct {
	void (*uplink)(void *ctx, lpw_device_t *dev, int server, const uint8_t *data, size_t len);
	void (*reachable)(void *ctx, lpw_device_t *dev, uint32_t window_ms);
	void (*outcome)(void *ctx, lpw_device_t *dev, lpw_delivery_t outcome);
	void *ctx;
} lpw_northbound_t;

#endif
