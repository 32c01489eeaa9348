/* LoRaWAN 1.0.x MAC commands: parsing what devices send (in FOpts or an FPort 0 payload) and building the two
 * answers the gateway gives on its own, LinkCheckAns and DeviceTimeAns.
 * ADR stays off: the gateway never sends LinkADRReq, so LinkADRAns is parsed only to be logged and counted. */
#ifndef LPW_LW_MAC_H
#define LPW_LW_MAC_H

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

#endif
