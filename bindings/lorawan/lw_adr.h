/* Network-side adaptive data rate. LoRaWAN 1.0.3 §4.3.1.1 leaves the algorithm to the network; this one is the
 * margin rule Semtech's ADR recommendation and ChirpStack describe: take the best SNR of the device's last N
 * uplinks, subtract the SNR its current data rate needs and an installation margin, and spend each 3 dB left
 * first on a faster data rate (up to the region's fastest 125 kHz DR), then on less transmit power; a negative
 * margin buys power back. The rate is never lowered here: a device that loses the network lowers it itself
 * (ADR_ACK back-off, §4.3.1.1). NbTrans follows the uplinks lost in the same history (frame-counter gaps).
 * Pure functions: the network server keeps the history with the device's session. */
#ifndef LPW_LW_ADR_H
#define LPW_LW_ADR_H

#include <stdbool.h>
#include <stdint.h>

#include "bindings/lorawan/lw_region.h"

#define LW_ADR_HISTORY 20

struct lw_adr_params {
	int margin_ddb;   /* installation margin in tenths of dB; ChirpStack's default is 10 dB (100) */
	unsigned history; /* uplinks needed before a decision, 1..LW_ADR_HISTORY */
	unsigned max_dr;  /* ceiling; the region's ADR maximum when above it */
};

/* The last uplinks' frame counters and best SNR over all forwarders that heard them. */
struct lw_adr_history {
	uint32_t fcnt[LW_ADR_HISTORY];
	int16_t snr_ddb[LW_ADR_HISTORY];
	uint8_t head, count;
};

struct lw_adr_state {
	unsigned dr, tx_power, nb_trans;
};

/* Adds an uplink; the same frame counter again (a retransmission) keeps the better SNR instead. */
void lw_adr_history_add(struct lw_adr_history *h, uint32_t fcnt, int snr_ddb);
void lw_adr_history_clear(struct lw_adr_history *h);

/* Decides the device's next DR, TX power index and NbTrans into *out. Returns 1 when *out differs from *cur (a
 * LinkADRReq is due), 0 when not (also while the history is shorter than p->history), -EINVAL for a bad region,
 * parameters or a current DR the region does not have. */
int lw_adr_decide(enum lw_region_id r, const struct lw_adr_params *p, const struct lw_adr_history *h,
	const struct lw_adr_state *cur, struct lw_adr_state *out) __attribute__((warn_unused_result));

#endif
