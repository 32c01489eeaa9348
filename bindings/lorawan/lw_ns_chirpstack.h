/* The LoRaWAN network server is ChirpStack v4: lw_ns.h implemented over ChirpStack's MQTT integration (its own
 * core/mqtt connection: credentials, TLS with a client certificate, reconnect with back-off). lpwagw is then only
 * the application server of LwM2M 1.1.1 Appendix C; ChirpStack keeps the keys, counters and RX timing.
 *
 * Topics (PREFIX = bindings.lorawan.chirpstack.topic_prefix, "application" by default; APP = application_id):
 *   in:  PREFIX/APP/device/+/event/+ (up, join, ack, txack, status, log) and PREFIX/APP/device/+/state/+ (newer
 *        4.x releases publish join and status there, retained: retained copies are old news and ignored);
 *   out: PREFIX/APP/device/{devEui}/command/down, QoS 1, a DownlinkCommand with an id (UUID) of ours.
 * Event JSON: see lw_cs_json.h (the schema and ChirpStack version followed).
 *
 * How ChirpStack's reports feed Appendix C (as lw_ns_udp.c feeds its equivalents, C.3.1.2):
 *   - up: the application uplink (hooks->uplink when fPort >= 1), then hooks->rx_open with a deadline
 *     downlink_window after it: ChirpStack queues what we publish and sends it in the device's next RX windows.
 *     The uplink's dr (or txInfo's LoRa modulation) and rx1_dr_offset give the RX1 payload limit (max_payload).
 *   - txack (the gateway took the downlink): SENT; for a confirmed downlink the ack then decides.
 *   - ack: acknowledged true ACKED, false FAILED (the confirmed downlink was not acknowledged).
 *   - log at level ERROR with a DOWNLINK_* code about our queue item (or with no item named while one of ours
 *     waits): FAILED.
 *   - no txack and no log about a published downlink while the device sent 3 uplinks: ChirpStack never got it
 *     (it was away from the broker, which keeps nothing for a clean session): FAILED.
 *   - join: what was queued is void (ChirpStack flushes the queue on a new session): FAILED, then hooks->joined.
 * Matching: by our id (ChirpStack 4.x makes a DownlinkCommand's id the queue item's id). A txack naming another
 * queue item while one of ours waits untransmitted means ChirpStack gave the item its own id: that id is kept
 * and matched from then on. An ack of an item that is not ours is counted (unmatched) and ignored.
 * While the broker is away, send() still accepts one downlink per device; it is published once the connection is
 * back (also one the broker had not acknowledged, PUBACK, when the connection dropped): nothing is lost.
 * Devices are identified by DevEUI (the device table's identity); events of unknown DevEUIs go to host->dropped(),
 * malformed ones count in the gateway's dropped_malformed and are logged with their reason. */
#ifndef LPW_LW_NS_CHIRPSTACK_H
#define LPW_LW_NS_CHIRPSTACK_H

#include <stdint.h>

#include "bindings/binding.h"
#include "bindings/lorawan/lw_ns.h"

/* Monotonic, never reset. */
typedef struct {
	uint64_t events;        /* messages on our topics */
	uint64_t uplinks;       /* up events delivered to the application server (fPort >= 1) */
	uint64_t joins;
	uint64_t txacks, acks, nacks; /* txack; ack acknowledged true / false */
	uint64_t failures;      /* downlinks ChirpStack reported failed in a log event */
	uint64_t lost;          /* downlinks with no txack after LOST_AFTER_UPLINKS uplinks: ChirpStack never got them */
	uint64_t malformed;     /* bad topic or JSON (the reason is logged) */
	uint64_t unknown;       /* a DevEUI of no device of ours, or another application's */
	uint64_t unmatched;     /* ack/txack of no downlink of ours */
	uint64_t published;     /* downlink commands handed to the broker */
	uint64_t deferred;      /* downlinks accepted while the broker was away (published on reconnect) */
} lw_ns_cs_counters_t;

/* Connects to the broker of env->cfg->lorawan.chirpstack (asynchronously: the connection comes up from the loop)
 * and fills *out (free it with out->ops->free(out->self)). env: borrowed, outlives the instance. hooks: copied.
 * 0, -EINVAL (no application_id, bad client configuration), -ENOMEM. */
int lw_ns_chirpstack_new(const lpw_binding_env_t *env, const lw_as_hooks_t *hooks, lw_ns_t *out)
	__attribute__((warn_unused_result));

void lw_ns_chirpstack_get_counters(const lw_ns_t *ns, lw_ns_cs_counters_t *out);

/* Whether the broker connection is up (tests). */
bool lw_ns_chirpstack_connected(const lw_ns_t *ns);

/* Feeds one message as if received on topic (tests and the fuzz target drive the decoder through this). */
void lw_ns_chirpstack_input(const lw_ns_t *ns, const char *topic, const void *payload, size_t len, bool retain);

#endif
