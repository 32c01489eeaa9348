/* lorawan-sim device: the channel plan (region defaults, the Join-Accept's CFList) and the MAC requests a network
 * sends, applied and answered as a LoRaWAN 1.0.3 device does (§5.3 LinkADRReq as a block, §5.6 DevStatusReq). */
#include <errno.h>
#include <string.h>

#include "bindings/lorawan/lw_mac.h"
#include "core/log.h"
#include "tools/lorawan-sim/lwdev_internal.h"

#define SIM_BATTERY 200 /* DevStatusAns: a battery about 80 % full */
#define SIM_MARGIN_DB 10

static bool grid_region(enum lw_region_id r)
{
	return r == LW_REGION_US915 || r == LW_REGION_AU915;
}

void lpw_lwdev_plan_defaults(lpw_lwdev_t *dev)
{
	struct lw_channel_plan all = { { 0 }, 0, 0 };
	memset(dev->ch_on, 0, sizeof(dev->ch_on));
	dev->nch = 0;
	if (lw_region_plan_channels(dev->cfg.region, &all, &dev->nch) != 0)
		return;
	for (unsigned i = 0; i < dev->nch; i++) {
		(void)lw_region_plan_channel_hz(dev->cfg.region, &all, i, &dev->ch_hz[i]);
		dev->ch_on[i] = !grid_region(dev->cfg.region) || i < 8;
	}
	dev->nb_trans = 1;
}

void lpw_lwdev_plan_cflist(lpw_lwdev_t *dev, const uint8_t *cf)
{
	if (cf[15] == 0 && !grid_region(dev->cfg.region)) {
		for (unsigned i = 0; i < LW_PLAN_MAX_EXTRA && dev->nch < 16; i++) {
			uint32_t f = ((uint32_t)cf[3 * i] | (uint32_t)cf[3 * i + 1] << 8 | (uint32_t)cf[3 * i + 2] << 16) * 100;
			if (f) {
				dev->ch_hz[dev->nch] = f;
				dev->ch_on[dev->nch++] = true;
			}
		}
	} else if (cf[15] == 1 && grid_region(dev->cfg.region)) {
		for (unsigned i = 0; i < LWDEV_CHANNELS; i++)
			dev->ch_on[i] = cf[i / 8] >> (i % 8) & 1;
	}
	json_t *ev = lpw_lwdev_event_new("cflist");
	unsigned on = 0;
	for (unsigned i = 0; i < dev->nch; i++)
		on += dev->ch_on[i];
	json_object_set_new(ev, "channels", json_integer(on));
	lpw_lwdev_emit(dev, ev);
}

uint32_t lpw_lwdev_next_freq(lpw_lwdev_t *dev)
{
	for (unsigned k = 0; k < dev->nch; k++) {
		unsigned i = dev->chan++ % dev->nch;
		if (dev->ch_on[i])
			return dev->ch_hz[i];
	}
	return dev->ch_hz[0];
}

/* One LinkADRReq's channel mask onto on[] (§5.3.1, RP002 ChMaskCntl). false: the mask names an undefined
 * channel or a ChMaskCntl the region does not have. */
static bool apply_mask(const lpw_lwdev_t *dev, bool on[LWDEV_CHANNELS], unsigned cntl, uint16_t mask)
{
	unsigned base = 16 * cntl;
	if (grid_region(dev->cfg.region) && cntl >= 6) {
		for (unsigned i = 0; i < 64; i++)
			on[i] = cntl == 6;
		base = 64;
	} else if (grid_region(dev->cfg.region) ? cntl > 4 : cntl != 0 && cntl != 6) {
		return false;
	} else if (cntl == 6) { /* EU868-like: every defined channel on */
		for (unsigned i = 0; i < dev->nch; i++)
			on[i] = true;
		return true;
	}
	for (unsigned b = 0; b < 16; b++) {
		unsigned i = base + b;
		bool want = mask >> b & 1;
		if (want && i >= dev->nch)
			return false;
		if (i < dev->nch)
			on[i] = want;
	}
	return true;
}

static void answer(lpw_lwdev_t *dev, const uint8_t *a, size_t len)
{
	if (dev->mac_out_len + len <= sizeof(dev->mac_out)) {
		memcpy(dev->mac_out + dev->mac_out_len, a, len);
		dev->mac_out_len += len;
	}
}

/* A block of contiguous LinkADRReqs (4-byte payloads at p): applied as one, each answered with the same status. */
static size_t link_adr_block(lpw_lwdev_t *dev, const uint8_t *p, size_t len)
{
	bool on[LWDEV_CHANNELS];
	memcpy(on, dev->ch_on, sizeof(on));
	bool mask_ok = true;
	size_t n = 0;
	for (; n * 5 + 5 <= len && p[n * 5] == LW_CID_LINK_ADR; n++)
		mask_ok &= apply_mask(dev, on, p[n * 5 + 4] >> 4 & 7, (uint16_t)(p[n * 5 + 2] | p[n * 5 + 3] << 8));
	const uint8_t *last = p + (n - 1) * 5;
	unsigned dr = last[1] >> 4, power = last[1] & 15, nb = last[4] & 15, max_dr, max_pw;
	struct lw_dr_info info;
	if (dr == 15)
		dr = dev->cfg.dr; /* 1.0.4 / RP002: "keep" */
	bool dr_ok = lw_region_dr(dev->cfg.region, dr, &info) == 0 && !info.fsk && info.max_n >= 4;
	bool pw_ok = lw_region_adr_limits(dev->cfg.region, &max_dr, &max_pw) == 0 && (power == 15 || power <= max_pw);
	unsigned any = 0;
	for (unsigned i = 0; i < dev->nch; i++)
		any += on[i];
	mask_ok &= any > 0;
	uint8_t status = (uint8_t)(pw_ok << 2 | dr_ok << 1 | mask_ok);
	if (status == 7) {
		memcpy(dev->ch_on, on, sizeof(on));
		dev->cfg.dr = dr;
		dev->tx_power = power == 15 ? dev->tx_power : power;
		dev->nb_trans = nb ? nb : dev->nb_trans;
		dev->mtu = info.max_n;
		lpw_devsim_client_set_mtu(dev->client, dev->mtu);
	}
	for (size_t i = 0; i < n; i++)
		answer(dev, (const uint8_t[]){ LW_CID_LINK_ADR, status }, 2);
	json_t *ev = lpw_lwdev_event_new("link-adr");
	json_object_set_new(ev, "status", json_integer(status));
	json_object_set_new(ev, "dr", json_integer(dev->cfg.dr));
	json_object_set_new(ev, "tx_power", json_integer(dev->tx_power));
	json_object_set_new(ev, "mtu", json_integer((json_int_t)dev->mtu));
	json_object_set_new(ev, "channels", json_integer(any));
	lpw_lwdev_emit(dev, ev);
	return n * 5;
}

/* Server-to-device payload lengths (LoRaWAN 1.0.3 §5); -1 for what this device does not know. */
static int down_len(uint8_t cid)
{
	switch (cid) {
	case LW_CID_LINK_CHECK: return 2;
	case LW_CID_LINK_ADR: return 4;
	case LW_CID_DUTY_CYCLE: return 1;
	case LW_CID_RX_PARAM_SETUP: return 4;
	case LW_CID_DEV_STATUS: return 0;
	case LW_CID_NEW_CHANNEL: return 5;
	case LW_CID_RX_TIMING_SETUP: return 1;
	case LW_CID_TX_PARAM_SETUP: return 1;
	case LW_CID_DL_CHANNEL: return 4;
	case LW_CID_DEVICE_TIME: return 5;
	default: return -1;
	}
}

void lpw_lwdev_mac_in(lpw_lwdev_t *dev, const uint8_t *p, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		int plen = down_len(p[pos]);
		if (plen < 0 || pos + 1 + (size_t)plen > len)
			break; /* the rest cannot be parsed */
		json_t *ev = NULL;
		if (dev->cfg.ignore_mac) {
			ev = lpw_lwdev_event_new("mac-ignored");
		} else if (p[pos] == LW_CID_LINK_ADR) {
			pos += link_adr_block(dev, p + pos, len - pos);
			continue;
		} else if (p[pos] == LW_CID_DEV_STATUS) {
			answer(dev, (const uint8_t[]){ LW_CID_DEV_STATUS, SIM_BATTERY, SIM_MARGIN_DB & 0x3F }, 3);
			ev = lpw_lwdev_event_new("dev-status");
		} else if (p[pos] != LW_CID_LINK_CHECK && p[pos] != LW_CID_DEVICE_TIME) {
			ev = lpw_lwdev_event_new("mac-ignored");
		}
		if (ev) {
			json_object_set_new(ev, "cid", json_integer(p[pos]));
			lpw_lwdev_emit(dev, ev);
		}
		pos += 1 + (size_t)plen;
	}
}
