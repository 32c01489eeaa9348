/* The embedded network server's side of the MAC commands it initiates for one device: the channel plan and ADR
 * through LinkADRReq, and DevStatusReq. Requests ride the FOpts of the device's next downlink and take effect only
 * when the device's answer in a later uplink acknowledges them (LoRaWAN 1.0.3 §5.3: a refused LinkADRReq changes
 * nothing). A device that leaves LWNS_MAC_MAX_UNANSWERED requests in a row unanswered is no longer asked (until it
 * joins again): no endless retries. Pure state: the network server keeps one per device and feeds it. */
#ifndef LPW_LW_NS_MAC_H
#define LPW_LW_NS_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bindings/lorawan/lw_adr.h"
#include "bindings/lorawan/lw_mac.h"
#include "bindings/lorawan/lw_region.h"

#define LWNS_MAC_MAX_UNANSWERED 3
#define LWNS_MAC_STATUS_EVERY 64 /* uplinks between DevStatusReqs */

struct lw_ns_mac_cfg {
	enum lw_region_id region;
	struct lw_channel_plan plan;
	bool adr; /* the network's switch and the device's, both */
	struct lw_adr_params adr_params;
};

struct lw_ns_mac_counters {
	uint64_t link_adr_sent, link_adr_acked, link_adr_refused, unanswered, gave_up;
	uint64_t dev_status; /* DevStatusAns received */
};

/* What the network knows of one device's MAC state. */
struct lw_ns_mac {
	struct lw_adr_history hist;
	struct lw_adr_state cur;  /* DR of the last uplink; TX power index and NbTrans as last acknowledged */
	struct lw_adr_state sent; /* the LinkADRReq awaiting its answer */
	bool plan_known;          /* the device has the plan's channels (CFList in its Join-Accept) */
	bool plan_ok;             /* ... and uses exactly them (a LinkADRReq channel mask was acknowledged) */
	bool adr_waiting, status_waiting;
	uint8_t unanswered;
	bool gave_up;
	uint32_t uplinks;
	bool have_status;
	unsigned battery;
	int margin_db;
};

/* One accepted uplink after deduplication. */
struct lw_ns_mac_uplink {
	uint32_t fcnt;
	unsigned dr;
	int snr_ddb; /* best over all forwarders, tenths of dB */
	bool adr, adr_ack_req;
};

/* A fresh state: after a join (plan_known when the Join-Accept carried the plan's CFList) or for an ABP device. */
void lw_ns_mac_reset(struct lw_ns_mac *m, bool plan_known);

/* Takes the device's answers among cmds (n parsed commands of this uplink) and writes the requests now due into
 * out (cap bytes, the room left in FOpts), returning their length. *out_downlink is set when the device asked
 * for a downlink (ADRACKReq) or a request was written. Counters (may be NULL) are incremented. */
size_t lw_ns_mac_uplink(struct lw_ns_mac *m, const struct lw_ns_mac_cfg *c, const struct lw_ns_mac_uplink *up,
	const struct lw_mac_cmd *cmds, size_t n, uint8_t *out, size_t cap, bool *out_downlink,
	struct lw_ns_mac_counters *cnt);

#endif
