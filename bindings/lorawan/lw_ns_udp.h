/* The LoRaWAN network server over Semtech UDP packet forwarders: implements lw_ns.h on top of hal/pktfwd
 * (radio frames in and out), lw_session (keys, counters, OTAA join), lw_region (RX1/RX2, limits, duty cycle) and
 * lw_mac (LinkCheckAns, DeviceTimeAns). All timing runs on the loop's clock, so a fake clock drives it in tests.
 *
 * Behaviour worth knowing (the rest is in lw_ns.h):
 *  - Copies of one uplink heard by several forwarders within bindings.lorawan.dedup_ms are merged (identical
 *    PHYPayload); the downlink goes to the best copy's forwarder (highest SNR, then RSSI). The application server
 *    hears about the uplink once, after the dedup window.
 *  - RX1 (uplink tmst + 1 s) is used while the downlink can reach the forwarder LW_NS_RX1_MARGIN_MS before it;
 *    else RX2 (tmst + 2 s) until the rx_open deadline (uplink received + 2 s - LW_NS_RX2_MARGIN_MS); after that
 *    a downlink waits for the device's next uplink. Every cutoff moves earlier by twice the forwarder's backhaul
 *    delay, learnt from its TX_ACK round trips; a TX_ACK TOO_LATE for RX1 sends the same frame again for RX2
 *    while RX2 can still be met.
 *  - A confirmed uplink, or MAC answers (LinkCheckAns, DeviceTimeAns), with no application downlink get an empty
 *    downlink (ACK bit, answers in FOpts, no FPort): at once in RX1 when the application says no answer can
 *    follow (no FPort, FPort 0, an Empty CoAP message...), else LW_NS_TIMER_SLACK_MS before the RX2 cutoff.
 *  - A retransmitted uplink (same FCnt) is acknowledged again and its payload delivered again (the application's
 *    duplicate detection answers it from its cache).
 *  - tx_result: SENT on TX_ACK "NONE" for unconfirmed downlinks; confirmed ones report ACKED or FAILED at the
 *    device's next uplink (ACK bit or not). A TX_ACK error, a refused duty cycle in both windows or a forwarder
 *    that is down: FAILED. Older forwarders send no TX_ACK: after LW_NS_TXACK_WAIT_MS without one the downlink
 *    counts as handed over (SENT, or waiting for the ACK bit when confirmed).
 *  - A payload that does not fit the RX2 data rate when only RX2 is left waits for the next uplink's RX1.
 *  - Counters of the gateway's lpw_stats_t: dropped_malformed (unparsable frames, and forwarder datagrams the
 *    link refused as malformed); unknown DevAddr or DevEUI go to the host's dropped(). The link's own counters
 *    (per refusal reason and per forwarder EUI) are the stats source "forwarders". Everything else is in
 *    lw_ns_udp_counters_t.
 *  - bindings.lorawan.forwarders is the link's allow-list (see hal/pktfwd.h). */
#ifndef LPW_LW_NS_UDP_H
#define LPW_LW_NS_UDP_H

#include <stdint.h>

#include "bindings/binding.h"
#include "bindings/lorawan/lw_ns.h"
#include "config/config.h"
#include "core/loop.h"
#include "core/stats.h"
#include "core/store.h"

#define LW_NS_RX1_MARGIN_MS 200   /* a PULL_RESP must leave this early for RX1 */
#define LW_NS_RX2_MARGIN_MS 300   /* ... and for RX2: the rx_open deadline is 2 s - this after the uplink */
#define LW_NS_TXACK_WAIT_MS 3000  /* no TX_ACK after this: an old forwarder, taken as handed over */
#define LW_NS_TIMER_SLACK_MS 100  /* an answer of the network server's own leaves this long before its cutoff */
#define LW_NS_LEAP_SECONDS 18     /* GPS - UTC since 2017 (DeviceTimeAns) */

/* Monotonic, never reset. */
typedef struct {
	uint64_t uplinks;          /* data uplinks accepted (after dedup) */
	uint64_t duplicates;       /* copies merged into an uplink already received */
	uint64_t retransmissions;  /* the device sent the same frame again later (re-acknowledged, not delivered) */
	uint64_t replays;          /* FCnt behind, or too far ahead: dropped */
	uint64_t mic_failures;
	uint64_t unknown_devaddr;  /* data uplinks no session has the DevAddr of */
	uint64_t unknown_dev_eui;  /* Join-Requests from no configured OTAA device */
	uint64_t joins;
	uint64_t join_refused;     /* DevNonce reused, wrong JoinEUI, store failure */
	uint64_t malformed;        /* unparsable frames, CRC failures, FSK */
	uint64_t downlinks_sent;   /* PULL_RESPs handed to a forwarder (join-accepts included) */
	uint64_t tx_failures;      /* TX_ACK errors, duty cycle refusals, forwarder unreachable, build errors */
	uint64_t acked, not_acked; /* confirmed downlinks */
	uint64_t rx2_fallbacks;    /* RX1 refused TOO_LATE by the forwarder, sent again for RX2 */
} lw_ns_udp_counters_t;

/* Opens the packet-forwarder link on env->cfg->lorawan.listen/port and pulses the concentrator's GPIO reset line
 * once if configured (blocking for pulse_ms: call before the loop runs; a failed pulse is logged, not fatal).
 * Devices come through ops->device_add, which opens each one's session (ABP from its configured keys; counters
 * and OTAA sessions from the store) and indexes its DevAddr in the device table through env->host.
 * Fills *out with the lw_ns_ops_t and the instance (free it with out->ops->free(out->self)).
 * env (and what it points to): borrowed, must outlive the instance; env->store is required. hooks: copied
 * (hooks->as borrowed). Returns 0, -EINVAL (bad arguments or region), -ENOMEM, -EADDRINUSE/-EIO when the link
 * cannot be opened. */
int lw_ns_udp_new(const lpw_binding_env_t *env, const lw_as_hooks_t *hooks, lw_ns_t *out)
	__attribute__((warn_unused_result));

/* The instance's counters; ns is an lw_ns_t filled by lw_ns_udp_new. */
void lw_ns_udp_get_counters(const lw_ns_t *ns, lw_ns_udp_counters_t *out);

/* The bound UDP port (for tests that listen on port 0). */
uint16_t lw_ns_udp_port(const lw_ns_t *ns);

#endif
