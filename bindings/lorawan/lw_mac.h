/* LoRaWAN 1.0.x MAC commands: parsing what devices send (in FOpts or an FPort 0 payload), building the two
 * answers the gateway gives on its own (LinkCheckAns, DeviceTimeAns), the requests the network initiates
 * (LinkADRReq, DutyCycleReq, RXParamSetupReq, DevStatusReq, NewChannelReq, RXTimingSetupReq; lw_mac_req.c)
 * and reading the device's answers to them. */
#ifndef LPW_LW_MAC_H
#define LPW_LW_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bindings/lorawan/lw_region.h"

/* Device-to-server command identifiers (LoRaWAN 1.0.3 §5, class B §12) */
enum lw_cid {
	LW_CID_LINK_CHECK = 0x02,       /* LinkCheckReq (0 bytes) / LinkCheckAns (2) */
	LW_CID_LINK_ADR = 0x03,         /* LinkADRAns (1) */
	LW_CID_DUTY_CYCLE = 0x04,       /* DutyCycleAns (0) */
	LW_CID_RX_PARAM_SETUP = 0x05,   /* RXParamSetupAns (1) */
	LW_CID_DEV_STATUS = 0x06,       /* DevStatusAns (2: battery, margin) */
	LW_CID_NEW_CHANNEL = 0x07,      /* NewChannelAns (1) */
	LW_CID_RX_TIMING_SETUP = 0x08,  /* RXTimingSetupAns (0) */
	LW_CID_TX_PARAM_SETUP = 0x09,   /* TxParamSetupAns (0), 1.0.2 */
	LW_CID_DL_CHANNEL = 0x0A,       /* DlChannelAns (1), 1.0.2 */
	LW_CID_DEVICE_TIME = 0x0D,      /* DeviceTimeReq (0) / DeviceTimeAns (5), 1.0.3 */
	LW_CID_PING_SLOT_INFO = 0x10,   /* PingSlotInfoReq (1), class B */
	LW_CID_PING_SLOT_CHANNEL = 0x11,/* PingSlotChannelAns (1), class B */
	LW_CID_BEACON_FREQ = 0x13,      /* BeaconFreqAns (1), class B */
};

#define LW_MAC_PAYLOAD_MAX 2 /* the longest device-to-server command payload (DevStatusAns) */

struct lw_mac_cmd {
	uint8_t cid;
	uint8_t len; /* payload length, fixed by the CID */
	uint8_t payload[LW_MAC_PAYLOAD_MAX];
};

/* Monotonic counters the caller keeps (e.g. one per binding) and reports. */
struct lw_mac_counters {
	uint64_t commands;  /* parsed */
	uint64_t unknown;   /* stopped at an unknown CID */
	uint64_t truncated; /* stopped at a command cut short */
};

/* Parses device-to-server MAC commands from buf (borrowed) into out (cap entries). A CID this parser does not
 * know has a length it cannot know either, so parsing stops there: the commands before it are kept.
 * *out_n receives the number of commands parsed; counters (may be NULL) are incremented; *why (may be NULL)
 * names the reason for a non-zero return (a static string).
 * Returns 0 when every byte was parsed, -EPROTO at an unknown CID or a command cut short, -ENOSPC when more
 * than cap commands are present (the first cap are kept). */
int lw_mac_parse_uplink(const uint8_t *buf, size_t len, struct lw_mac_cmd *out, size_t cap, size_t *out_n,
	struct lw_mac_counters *counters, const char **why);

/* The payload length of a device-to-server command, or -ENOENT for an unknown CID. */
int lw_mac_uplink_len(uint8_t cid);

/* Writes LinkCheckAns (CID, Margin, GwCnt; 3 bytes). Margin is the uplink's SNR above the demodulation floor of
 * its DR (see lw_region_demod_floor_ddb), in whole dB, clamped to 0..254; gw_cnt is clamped to 255.
 * -EINVAL for a bad region/DR, -ENOSPC when cap < 3. */
int lw_mac_build_link_check_ans(enum lw_region_id r, unsigned up_dr, int snr_ddb, unsigned gw_cnt, uint8_t *out,
	size_t cap, size_t *out_len) __attribute__((warn_unused_result));

/* Writes DeviceTimeAns (CID, 32-bit GPS seconds LE, fraction in 1/256 s; 6 bytes) for gps_ms milliseconds since
 * the GPS epoch (1980-01-06T00:00:00Z) at the end of the uplink that carried the request (§5.9).
 * -ERANGE past 2^32 seconds, -ENOSPC when cap < 6. */
int lw_mac_build_device_time_ans(uint64_t gps_ms, uint8_t *out, size_t cap, size_t *out_len)
	__attribute__((warn_unused_result));

/* GPS time from Unix time: GPS = Unix - 315964800 s + (TAI-UTC leap seconds since 1980, 18 since 2017).
 * -ERANGE before the GPS epoch. */
int lw_mac_gps_ms_from_unix_ms(int64_t unix_ms, int leap_seconds, uint64_t *out_gps_ms)
	__attribute__((warn_unused_result));

/* --- requests the network initiates (LoRaWAN 1.0.3 §5.3-§5.8). Each writes CID + payload into out (cap bytes)
 * and sets *out_len; -ENOSPC when cap is too small, -EINVAL for a field beyond its bits. ------------------ */
#define LW_MAC_REQ_MAX 6 /* the longest request: NewChannelReq */

/* LinkADRReq: DataRate_TXPower (DR 4 bits, TXPower 4 bits), ChMask, Redundancy (ChMaskCntl 3 bits,
 * NbTrans 4 bits; 0 keeps the device's). 5 bytes. */
int lw_mac_build_link_adr_req(unsigned dr, unsigned tx_power, uint16_t ch_mask, unsigned ch_mask_cntl,
	unsigned nb_trans, uint8_t *out, size_t cap, size_t *out_len) __attribute__((warn_unused_result));

/* DutyCycleReq: MaxDCycle 0..15, the aggregated duty cycle 1 / 2^MaxDCycle. 2 bytes. */
int lw_mac_build_duty_cycle_req(unsigned max_dcycle, uint8_t *out, size_t cap, size_t *out_len)
	__attribute__((warn_unused_result));

/* RXParamSetupReq: RX1DROffset 0..7, RX2 DR 0..15, RX2 frequency in Hz (sent in units of 100 Hz, so it must be
 * a multiple of 100 below 2^24 * 100). 5 bytes. */
int lw_mac_build_rx_param_setup_req(unsigned rx1_dr_offset, unsigned rx2_dr, uint32_t rx2_hz, uint8_t *out,
	size_t cap, size_t *out_len) __attribute__((warn_unused_result));

/* DevStatusReq: no payload. 1 byte. */
int lw_mac_build_dev_status_req(uint8_t *out, size_t cap, size_t *out_len) __attribute__((warn_unused_result));

/* NewChannelReq: ChIndex, frequency (Hz, 100 Hz units; 0 disables the channel), DrRange MinDR..MaxDR. 6 bytes. */
int lw_mac_build_new_channel_req(unsigned ch_index, uint32_t freq_hz, unsigned min_dr, unsigned max_dr,
	uint8_t *out, size_t cap, size_t *out_len) __attribute__((warn_unused_result));

/* RXTimingSetupReq: RX1 delay in seconds 1..15 (0 on the air means 1 s). 2 bytes. */
int lw_mac_build_rx_timing_setup_req(unsigned delay_s, uint8_t *out, size_t cap, size_t *out_len)
	__attribute__((warn_unused_result));

/* The device's answers: every status bit set means the request was applied as a whole (§5.3: a device that
 * refuses any part of a LinkADRReq applies none of it). */
bool lw_mac_link_adr_ans_ok(const struct lw_mac_cmd *ans);      /* Power, Data rate, Channel mask ACK */
bool lw_mac_rx_param_setup_ans_ok(const struct lw_mac_cmd *ans); /* RX1DROffset, RX2 DR, Channel ACK */
bool lw_mac_new_channel_ans_ok(const struct lw_mac_cmd *ans);    /* Data rate range, Channel frequency ok */

/* DevStatusAns: battery (0 external power, 1..254 level, 255 unknown) and the demodulation margin of the last
 * DevStatusReq in dB, a 6-bit signed value -32..31. -EINVAL when ans is not a DevStatusAns. */
int lw_mac_dev_status_ans(const struct lw_mac_cmd *ans, unsigned *out_battery, int *out_margin_db);

#endif
