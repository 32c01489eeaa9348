/* LoRaWAN 1.0.x MAC requests the network initiates and the device's answers to them (see lw_mac.h). Field
 * layouts from LoRaWAN 1.0.3 §5.3 (LinkADR), §5.4 (DutyCycle), §5.5 (RXParamSetup), §5.6 (DevStatus),
 * §5.7 (NewChannel), §5.8 (RXTimingSetup). Multi-byte fields are little endian. */
#include "bindings/lorawan/lw_mac.h"

#include <errno.h>
#include <string.h>

static int put(const uint8_t *cmd, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	if (cap < n)
		return -ENOSPC;
	memcpy(out, cmd, n);
	*out_len = n;
	return 0;
}

/* Frequencies travel as 24-bit counts of 100 Hz. */
static int freq_field(uint32_t hz, uint8_t o[3])
{
	if (hz % 100 || hz / 100 > 0xFFFFFFu)
		return -EINVAL;
	uint32_t v = hz / 100;
	o[0] = (uint8_t)v;
	o[1] = (uint8_t)(v >> 8);
	o[2] = (uint8_t)(v >> 16);
	return 0;
}

int lw_mac_build_link_adr_req(unsigned dr, unsigned tx_power, uint16_t ch_mask, unsigned ch_mask_cntl,
	unsigned nb_trans, uint8_t *out, size_t cap, size_t *out_len)
{
	if (dr > 15 || tx_power > 15 || ch_mask_cntl > 7 || nb_trans > 15)
		return -EINVAL;
	const uint8_t c[5] = { LW_CID_LINK_ADR, (uint8_t)(dr << 4 | tx_power), (uint8_t)ch_mask,
		(uint8_t)(ch_mask >> 8), (uint8_t)(ch_mask_cntl << 4 | nb_trans) };
	return put(c, sizeof(c), out, cap, out_len);
}

int lw_mac_build_duty_cycle_req(unsigned max_dcycle, uint8_t *out, size_t cap, size_t *out_len)
{
	if (max_dcycle > 15)
		return -EINVAL;
	const uint8_t c[2] = { LW_CID_DUTY_CYCLE, (uint8_t)max_dcycle };
	return put(c, sizeof(c), out, cap, out_len);
}

int lw_mac_build_rx_param_setup_req(unsigned rx1_dr_offset, unsigned rx2_dr, uint32_t rx2_hz, uint8_t *out,
	size_t cap, size_t *out_len)
{
	uint8_t c[5] = { LW_CID_RX_PARAM_SETUP, (uint8_t)(rx1_dr_offset << 4 | rx2_dr) };
	if (rx1_dr_offset > 7 || rx2_dr > 15 || freq_field(rx2_hz, c + 2) != 0)
		return -EINVAL;
	return put(c, sizeof(c), out, cap, out_len);
}

int lw_mac_build_dev_status_req(uint8_t *out, size_t cap, size_t *out_len)
{
	const uint8_t c[1] = { LW_CID_DEV_STATUS };
	return put(c, sizeof(c), out, cap, out_len);
}

int lw_mac_build_new_channel_req(unsigned ch_index, uint32_t freq_hz, unsigned min_dr, unsigned max_dr,
	uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t c[6] = { LW_CID_NEW_CHANNEL, (uint8_t)ch_index };
	if (ch_index > 15 || min_dr > 15 || max_dr > 15 || min_dr > max_dr || freq_field(freq_hz, c + 2) != 0)
		return -EINVAL;
	c[5] = (uint8_t)(max_dr << 4 | min_dr);
	return put(c, sizeof(c), out, cap, out_len);
}

int lw_mac_build_rx_timing_setup_req(unsigned delay_s, uint8_t *out, size_t cap, size_t *out_len)
{
	if (delay_s < 1 || delay_s > 15)
		return -EINVAL;
	const uint8_t c[2] = { LW_CID_RX_TIMING_SETUP, (uint8_t)delay_s };
	return put(c, sizeof(c), out, cap, out_len);
}

static bool status_all(const struct lw_mac_cmd *ans, uint8_t cid, uint8_t bits)
{
	return ans && ans->cid == cid && ans->len == 1 && (ans->payload[0] & bits) == bits;
}

bool lw_mac_link_adr_ans_ok(const struct lw_mac_cmd *ans)
{
	return status_all(ans, LW_CID_LINK_ADR, 0x07);
}

bool lw_mac_rx_param_setup_ans_ok(const struct lw_mac_cmd *ans)
{
	return status_all(ans, LW_CID_RX_PARAM_SETUP, 0x07);
}

bool lw_mac_new_channel_ans_ok(const struct lw_mac_cmd *ans)
{
	return status_all(ans, LW_CID_NEW_CHANNEL, 0x03);
}

int lw_mac_dev_status_ans(const struct lw_mac_cmd *ans, unsigned *out_battery, int *out_margin_db)
{
	if (!ans || ans->cid != LW_CID_DEV_STATUS || ans->len != 2)
		return -EINVAL;
	*out_battery = ans->payload[0];
	int m = ans->payload[1] & 0x3F; /* 6-bit two's complement */
	*out_margin_db = m >= 32 ? m - 64 : m;
	return 0;
}
