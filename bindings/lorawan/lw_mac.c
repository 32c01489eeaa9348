/* LoRaWAN 1.0.x MAC command parsing and the gateway's own answers (see lw_mac.h). */
#include "bindings/lorawan/lw_mac.h"

#include <errno.h>
#include <string.h>

int lw_mac_uplink_len(uint8_t cid)
{
	switch (cid) {
	case LW_CID_LINK_CHECK:
	case LW_CID_DUTY_CYCLE:
	case LW_CID_RX_TIMING_SETUP:
	case LW_CID_TX_PARAM_SETUP:
	case LW_CID_DEVICE_TIME:
		return 0;
	case LW_CID_LINK_ADR:
	case LW_CID_RX_PARAM_SETUP:
	case LW_CID_NEW_CHANNEL:
	case LW_CID_DL_CHANNEL:
	case LW_CID_PING_SLOT_INFO:
	case LW_CID_PING_SLOT_CHANNEL:
	case LW_CID_BEACON_FREQ:
		return 1;
	case LW_CID_DEV_STATUS:
		return 2;
	default:
		return -ENOENT; /* RFU, 1.1-only, or proprietary 0x80..0xFF: length unknown */
	}
}

static int stop(const char **why, const char *reason, uint64_t *counter)
{
	if (why)
		*why = reason;
	if (counter)
		(*counter)++;
	return -EPROTO;
}

int lw_mac_parse_uplink(const uint8_t *buf, size_t len, struct lw_mac_cmd *out, size_t cap, size_t *out_n,
	struct lw_mac_counters *counters, const char **why)
{
	size_t n = 0, pos = 0;
	int rc = 0;
	while (pos < len) {
		int plen = lw_mac_uplink_len(buf[pos]);
		if (plen < 0) {
			rc = stop(why, "unknown CID: the rest cannot be parsed", counters ? &counters->unknown : NULL);
			break;
		}
		if ((size_t)plen > len - pos - 1) {
			rc = stop(why, "MAC command cut short", counters ? &counters->truncated : NULL);
			break;
		}
		if (n == cap) {
			if (why)
				*why = "more MAC commands than room for them";
			rc = -ENOSPC;
			break;
		}
		out[n].cid = buf[pos];
		out[n].len = (uint8_t)plen;
		memcpy(out[n].payload, buf + pos + 1, (size_t)plen);
		n++;
		if (counters)
			counters->commands++;
		pos += 1 + (size_t)plen;
	}
	*out_n = n;
	return rc;
}

int lw_mac_build_link_check_ans(enum lw_region_id r, unsigned up_dr, int snr_ddb, unsigned gw_cnt, uint8_t *out,
	size_t cap, size_t *out_len)
{
	int floor_ddb;
	if (lw_region_demod_floor_ddb(r, up_dr, &floor_ddb) != 0)
		return -EINVAL;
	if (cap < 3)
		return -ENOSPC;
	/* §5.3: "the link margin in dB of the last successfully received LinkCheckReq command", an 8-bit unsigned
	 * value where 255 is reserved; round down so the device is never told more margin than it has */
	int margin_ddb = snr_ddb - floor_ddb;
	int margin = margin_ddb <= 0 ? 0 : margin_ddb / 10;
	out[0] = LW_CID_LINK_CHECK;
	out[1] = (uint8_t)(margin > 254 ? 254 : margin);
	out[2] = (uint8_t)(gw_cnt > 255 ? 255 : gw_cnt);
	*out_len = 3;
	return 0;
}

int lw_mac_build_device_time_ans(uint64_t gps_ms, uint8_t *out, size_t cap, size_t *out_len)
{
	uint64_t secs = gps_ms / 1000;
	if (secs > UINT32_MAX)
		return -ERANGE;
	if (cap < 6)
		return -ENOSPC;
	out[0] = LW_CID_DEVICE_TIME;
	out[1] = (uint8_t)secs;
	out[2] = (uint8_t)(secs >> 8);
	out[3] = (uint8_t)(secs >> 16);
	out[4] = (uint8_t)(secs >> 24);
	/* fractional second in 1/256 s steps, rounded down */
	out[5] = (uint8_t)((gps_ms % 1000) * 256 / 1000);
	*out_len = 6;
	return 0;
}

int lw_mac_gps_ms_from_unix_ms(int64_t unix_ms, int leap_seconds, uint64_t *out_gps_ms)
{
	int64_t gps = unix_ms - 315964800000LL + (int64_t)leap_seconds * 1000;
	if (gps < 0)
		return -ERANGE;
	*out_gps_ms = (uint64_t)gps;
	return 0;
}
