/* LoRaWAN regional parameters (RP002-1.0.x; 1.0.2rB/1.0.3 tables) for EU868, US915, AU915 and AS923-1..4: data
 * rates, payload limits, RX1/RX2, receive delays, time on air, channel plans (CFList, LinkADRReq channel masks)
 * and the EU868 downlink duty-cycle budget.
 *
 * Dwell time: AS923 devices start with the 400 ms uplink and downlink dwell-time limit (RP002's default for the
 * region) and the gateway never lifts it (it sends no TxParamSetupReq), so every AS923 size here is the one under
 * the limit: DR0 and DR1 carry no payload and RX1 never goes below DR2. AU915 is used without the limit, as US915.
 * Duty cycle outside EU868 follows local rules the regional parameters leave open; only EU868's is enforced. */
#ifndef LPW_LW_REGION_H
#define LPW_LW_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* LoRaWAN 1.0.x §3.3 and RP002 "default settings" */
#define LW_RECEIVE_DELAY1_MS 1000
#define LW_RECEIVE_DELAY2_MS 2000
#define LW_JOIN_ACCEPT_DELAY1_MS 5000
#define LW_JOIN_ACCEPT_DELAY2_MS 6000

enum lw_region_id {
	LW_REGION_EU868 = 0,
	LW_REGION_US915 = 1,
	LW_REGION_AU915 = 2,
	LW_REGION_AS923_1 = 3, /* 923.2/923.4 MHz */
	LW_REGION_AS923_2 = 4, /* AS923-1 - 1.8 MHz */
	LW_REGION_AS923_3 = 5, /* AS923-1 - 6.6 MHz */
	LW_REGION_AS923_4 = 6, /* AS923-1 - 5.9 MHz */
};

struct lw_dr_info {
	bool fsk;         /* EU868 DR7: GFSK 50 kbit/s */
	uint8_t sf;       /* 7..12 for LoRa, 0 for FSK */
	uint32_t bw_hz;   /* 125000, 250000, 500000; 0 for FSK */
	uint32_t bitrate; /* FSK only */
	/* Maximum MACPayload (M) and FRMPayload without FOpts (N). The regional parameters give two tables; these
	 * are from the one for networks WITHOUT repeaters ("not repeater compatible"): a gateway that terminates
	 * LoRaWAN itself has no repeater in between, and the other table would waste up to 20 bytes. */
	uint8_t max_m;
	uint8_t max_n;
};

/* Parses "EU868", "US915", "AU915", "AS923-1".."AS923-4" or "AS923" (= AS923-1), case-insensitive; -EINVAL
 * otherwise. */
int lw_region_from_name(const char *name, enum lw_region_id *out);
const char *lw_region_name(enum lw_region_id r);

/* The data rate's modulation and limits. -EINVAL for an unknown region, a DR beyond the table or an RFU DR. */
int lw_region_dr(enum lw_region_id r, unsigned dr, struct lw_dr_info *out) __attribute__((warn_unused_result));

/* Which DR a LoRa uplink (uplink true) or downlink with this SF and bandwidth is. US915 needs the direction:
 * SF8/500 kHz is DR4 up and DR12 down. -EINVAL when no DR matches. */
int lw_region_dr_from_lora(enum lw_region_id r, bool uplink, unsigned sf, uint32_t bw_hz, unsigned *out_dr)
	__attribute__((warn_unused_result));

/* RX1 for an uplink at up_freq_hz / up_dr. AU915 as US915 on its own grid (915.2 + 0.2 n, 915.9 + 1.6 (n-64)
 * MHz; offsets 0..5, uplink DR0..6). AS923: the uplink frequency, DR = min(5, max(2, up_dr - offset)) with
 * offsets 0..7, 6 and 7 meaning -1 and -2. EU868: the uplink frequency, DR = up_dr - offset (not below DR0),
 * offsets 0..5. US915: downlink channel (uplink channel % 8) at 923.3 + 0.6 * n MHz, DR from the RP table,
 * offsets 0..3; the uplink channel is derived from the frequency (902.3 + 0.2 n MHz for n < 64, 903.0 + 1.6 (n-64)
 * for the 500 kHz channels 64..71). -EINVAL for an invalid uplink DR, offset, or a frequency off the US915 grid. */
int lw_region_rx1(enum lw_region_id r, uint32_t up_freq_hz, unsigned up_dr, unsigned rx1_dr_offset,
	uint32_t *out_freq_hz, unsigned *out_dr) __attribute__((warn_unused_result));

/* RX2 defaults: EU868 869.525 MHz DR0, US915/AU915 923.3 MHz DR8, AS923-1 923.2 MHz DR2 (shifted by the
 * AS923-n offset). -EINVAL for an unknown region. */
int lw_region_rx2(enum lw_region_id r, uint32_t *out_freq_hz, unsigned *out_dr);

/* Time on air in microseconds of a PHYPayload of len bytes. LoRa: the Semtech formula (AN1200.13) with CR 4/5,
 * 8 preamble symbols, explicit header, CRC on for uplinks and off for downlinks, low data rate optimisation for
 * SF11/SF12 at 125 kHz. FSK: 5 preamble + 3 sync + 1 length + payload + 2 CRC bytes at the bit rate.
 * -EINVAL for a bad DR or len > 255. */
int lw_region_airtime_us(enum lw_region_id r, unsigned dr, size_t len, bool downlink, uint32_t *out_us)
	__attribute__((warn_unused_result));

/* The SNR (in tenths of a dB) below which this DR's spreading factor cannot be demodulated (SX127x data
 * sheet figures: SF7 -7.5 dB down to SF12 -20 dB); FSK has none and reports 0. -EINVAL for a bad DR. */
int lw_region_demod_floor_ddb(enum lw_region_id r, unsigned dr, int *out_ddb) __attribute__((warn_unused_result));

/* --- channel plans ------------------------------------------------------------------------------------------
 * What the gateway's concentrator listens to, told to devices: EU868 and AS923 add up to five channels after
 * their default ones (3 in EU868, 2 in AS923) in the Join-Accept's CFList (and NewChannelReq for ABP devices);
 * US915 and AU915 devices are kept to one sub-band of eight 125 kHz channels plus its 500 kHz channel, through
 * the CFList's channel-mask form (LoRaWAN 1.0.3, RP002 CFListType 1) or LinkADRReq channel masks. */
#define LW_CFLIST_LEN 16
#define LW_PLAN_MAX_EXTRA 5

struct lw_channel_plan {
	uint32_t extra_hz[LW_PLAN_MAX_EXTRA]; /* EU868/AS923: frequencies after the default channels */
	unsigned n_extra;
	unsigned sub_band; /* US915/AU915: 1..8 (channels 8(s-1)..8s-1 and 64+s-1); 0 = all 72 channels */
};

/* One LinkADRReq's channel-mask part: ChMaskCntl and ChMask (bit i = channel 16 * cntl + i). */
struct lw_chmask {
	uint8_t cntl;
	uint16_t mask;
};

/* Whether the plan fits the region: frequencies inside the band on the 100 Hz grid, at most five, none equal to
 * a default channel; a sub-band only for US915/AU915. *why (may be NULL) names the fault. 0 or -EINVAL. */
int lw_region_plan_check(enum lw_region_id r, const struct lw_channel_plan *p, const char **why);

/* The number of channels a device uses under the plan, and channel i's uplink frequency. -EINVAL for an index
 * beyond the plan or a bad plan. */
int lw_region_plan_channels(enum lw_region_id r, const struct lw_channel_plan *p, unsigned *out_n);
int lw_region_plan_channel_hz(enum lw_region_id r, const struct lw_channel_plan *p, unsigned i, uint32_t *out_hz);

/* Whether the plan includes this uplink frequency: the check against what a forwarder reports hearing. */
bool lw_region_plan_has(enum lw_region_id r, const struct lw_channel_plan *p, uint32_t freq_hz);

/* The Join-Accept's CFList for the plan: frequency list (type 0) or channel mask (type 1). Returns the length
 * (16), 0 when the plan needs none (no extra channels; all 72 channels), -EINVAL for a bad plan. */
int lw_region_cflist(enum lw_region_id r, const struct lw_channel_plan *p, uint8_t out[LW_CFLIST_LEN]);

/* The LinkADRReq channel masks that enable exactly the plan's channels, in the order they must be sent in one
 * block (US915/AU915 sub-band: ChMaskCntl 7 first — all 125 kHz off, the 500 kHz mask — then the 16-channel
 * block holding the sub-band). Returns how many (1 or 2), -EINVAL for a bad plan. */
int lw_region_plan_masks(enum lw_region_id r, const struct lw_channel_plan *p, struct lw_chmask out[2]);

/* ADR limits: the fastest DR ADR moves a device to, the highest TXPower index (the lowest power). */
int lw_region_adr_limits(enum lw_region_id r, unsigned *out_max_dr, unsigned *out_max_tx_power);

/* --- EU868 downlink duty cycle -------------------------------------------------------------------------------
 * ETSI EN 300 220 sub-bands as used by RP002 for EU868: g 863.0-868.0 MHz 1 %, g1 868.0-868.6 1 %,
 * g2 868.7-869.2 0.1 %, g3 869.4-869.65 10 %, g4 869.7-870.0 1 %. Each band keeps the transmissions of the last
 * hour (ETSI's observation period) in a bounded ring and allows a new one only while the hour's sum stays within
 * the band's share: a sliding window, so no burst can ever exceed the limit over any hour. When the ring is full
 * the transmission is refused (counted): conservative, never unbounded. The other regions have no budget here:
 * every transmission on their budget is allowed. Time is the caller's (milliseconds, any monotonic origin). */
typedef struct lw_dutycycle lw_dutycycle_t;

/* max_records per band (0 = 1024). NULL on allocation failure or unknown region. */
lw_dutycycle_t *lw_dutycycle_new(enum lw_region_id r, size_t max_records);
void lw_dutycycle_free(lw_dutycycle_t *dc);

/* Whether a downlink of len bytes at dr on freq_hz may start at now_ms. When it may and record is true it is
 * recorded against the band's budget. *out_wait_ms (may be NULL) receives, on -EAGAIN, how long until enough of
 * the budget has aged out (0 when unknown, e.g. ring full). Returns 0 (allowed), -EAGAIN (budget used up),
 * -EINVAL (frequency outside every band, bad DR or length). now_ms must not go backwards (-EINVAL). */
int lw_dutycycle_try(lw_dutycycle_t *dc, uint32_t freq_hz, unsigned dr, size_t len, int64_t now_ms, bool record,
	int64_t *out_wait_ms) __attribute__((warn_unused_result));

/* Airtime (ms) spent in the band holding freq_hz within the hour before now_ms; -EINVAL off-band. */
int lw_dutycycle_used_ms(lw_dutycycle_t *dc, uint32_t freq_hz, int64_t now_ms, int64_t *out_ms);

/* Transmissions refused because the record ring was full (monotonic). */
uint64_t lw_dutycycle_ring_full_count(const lw_dutycycle_t *dc);

#endif
