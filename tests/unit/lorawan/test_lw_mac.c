/* LoRaWAN MAC commands: device-to-server parsing (unknown CID, truncation) and LinkCheckAns/DeviceTimeAns. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bindings/lorawan/lw_mac.h"
#include "tests/unit/lorawan/lw_test_util.h"

static void test_parse_known(void **state)
{
	uint8_t buf[32];
	/* LinkCheckReq, LinkADRAns 07, DutyCycleAns, RXParamSetupAns 07, DevStatusAns ff 1f, NewChannelAns 03,
	 * RXTimingSetupAns, DeviceTimeReq */
	size_t n = lw_test_hex("020307040507" "06ff1f" "070308" "0d", buf, sizeof(buf));
	struct lw_mac_cmd cmd[16];
	struct lw_mac_counters cnt = { 0 };
	size_t got = 99;
	assert_int_equal(lw_mac_parse_uplink(buf, n, cmd, 16, &got, &cnt, NULL), 0);
	assert_int_equal(got, 8);
	assert_int_equal(cnt.commands, 8);
	assert_int_equal(cmd[0].cid, LW_CID_LINK_CHECK);
	assert_int_equal(cmd[1].cid, LW_CID_LINK_ADR);
	assert_int_equal(cmd[1].payload[0], 0x07);
	assert_int_equal(cmd[4].cid, LW_CID_DEV_STATUS);
	assert_int_equal(cmd[4].len, 2);
	assert_int_equal(cmd[4].payload[0], 0xff);
	assert_int_equal(cmd[4].payload[1], 0x1f);
	assert_int_equal(cmd[7].cid, LW_CID_DEVICE_TIME);
	assert_int_equal(lw_mac_parse_uplink(buf, 0, cmd, 16, &got, &cnt, NULL), 0);
	assert_int_equal(got, 0);
}

static void test_parse_unknown_and_truncated(void **state)
{
	uint8_t buf[16];
	struct lw_mac_cmd cmd[4];
	struct lw_mac_counters cnt = { 0 };
	size_t got;
	const char *why = NULL;
	/* LinkCheckReq, then a proprietary 0x80 whose length nobody knows, then bytes that must not be parsed */
	size_t n = lw_test_hex("02800202", buf, sizeof(buf));
	assert_int_equal(lw_mac_parse_uplink(buf, n, cmd, 4, &got, &cnt, &why), -EPROTO);
	assert_int_equal(got, 1);
	assert_int_equal(cmd[0].cid, 0x02);
	assert_int_equal(cnt.unknown, 1);
	assert_non_null(strstr(why, "unknown CID"));
	/* 1.1-only RekeyInd (0x0B) is unknown to a 1.0.x server */
	n = lw_test_hex("0b01", buf, sizeof(buf));
	assert_int_equal(lw_mac_parse_uplink(buf, n, cmd, 4, &got, &cnt, NULL), -EPROTO);
	assert_int_equal(got, 0);
	assert_int_equal(cnt.unknown, 2);
	/* DevStatusAns with one byte of its two */
	n = lw_test_hex("0206ff", buf, sizeof(buf));
	assert_int_equal(lw_mac_parse_uplink(buf, n, cmd, 4, &got, &cnt, &why), -EPROTO);
	assert_int_equal(got, 1);
	assert_int_equal(cnt.truncated, 1);
	/* more commands than room */
	n = lw_test_hex("0202020202", buf, sizeof(buf));
	assert_int_equal(lw_mac_parse_uplink(buf, n, cmd, 4, &got, NULL, NULL), -ENOSPC);
	assert_int_equal(got, 4);
}

static void test_link_check_ans(void **state)
{
	uint8_t out[8];
	size_t n;
	/* EU868 DR5 = SF7, floor -7.5 dB; SNR +5.0 dB -> 12.5 dB margin -> 12 */
	assert_int_equal(lw_mac_build_link_check_ans(LW_REGION_EU868, 5, 50, 2, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[0], 0x02);
	assert_int_equal(out[1], 12);
	assert_int_equal(out[2], 2);
	/* EU868 DR0 = SF12, floor -20 dB; SNR -18 dB -> 2 */
	assert_int_equal(lw_mac_build_link_check_ans(LW_REGION_EU868, 0, -180, 1, out, sizeof(out), &n), 0);
	assert_int_equal(out[1], 2);
	/* US915 DR0 = SF10, floor -15 dB; SNR below the floor -> 0; gateways clamp at 255 */
	assert_int_equal(lw_mac_build_link_check_ans(LW_REGION_US915, 0, -200, 1000, out, sizeof(out), &n), 0);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 255);
	assert_int_equal(lw_mac_build_link_check_ans(LW_REGION_US915, 5, 0, 1, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(lw_mac_build_link_check_ans(LW_REGION_EU868, 5, 0, 1, out, 2, &n), -ENOSPC);
}

static void test_device_time_ans(void **state)
{
	uint8_t out[8];
	size_t n;
	uint64_t gps;
	/* 2017-01-01T00:00:00Z = Unix 1483228800; GPS-UTC = 18 s -> GPS 1167264018 s */
	assert_int_equal(lw_mac_gps_ms_from_unix_ms(1483228800500LL, 18, &gps), 0);
	assert_int_equal(gps, 1167264018500ULL);
	assert_int_equal(lw_mac_build_device_time_ans(gps, out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(out[0], 0x0d);
	uint32_t secs = (uint32_t)out[1] | (uint32_t)out[2] << 8 | (uint32_t)out[3] << 16 | (uint32_t)out[4] << 24;
	assert_int_equal(secs, 1167264018u);
	assert_int_equal(out[5], 128); /* 0.5 s */
	assert_int_equal(lw_mac_build_device_time_ans(999, out, sizeof(out), &n), 0);
	assert_int_equal(out[5], 255);
	assert_int_equal(lw_mac_build_device_time_ans(0x100000000ULL * 1000, out, sizeof(out), &n), -ERANGE);
	assert_int_equal(lw_mac_build_device_time_ans(0, out, 5, &n), -ENOSPC);
	assert_int_equal(lw_mac_gps_ms_from_unix_ms(0, 18, &gps), -ERANGE);
}

/* Requests the network initiates, byte for byte (LoRaWAN 1.0.3 §5.3-§5.8 field layouts). */
static void test_requests(void **state)
{
	uint8_t out[8], want[8];
	size_t n = 0;
	/* LinkADRReq DR5, TXPower 2, ChMask 0x00FF (channels 0..7), ChMaskCntl 0, NbTrans 1 */
	assert_int_equal(lw_mac_build_link_adr_req(5, 2, 0x00FF, 0, 1, out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, want, lw_test_hex("0352ff0001", want, sizeof(want)));
	/* US915 ChMaskCntl 7 (all 125 kHz off), 500 kHz channel 65 on, DR3, TXPower 0, NbTrans 0 (keep) */
	assert_int_equal(lw_mac_build_link_adr_req(3, 0, 0x0002, 7, 0, out, sizeof(out), &n), 0);
	assert_memory_equal(out, want, lw_test_hex("0330020070", want, sizeof(want)));
	assert_int_equal(lw_mac_build_link_adr_req(16, 0, 0, 0, 0, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(lw_mac_build_link_adr_req(5, 0, 0, 8, 0, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(lw_mac_build_link_adr_req(5, 0, 0, 0, 0, out, 4, &n), -ENOSPC);
	/* DutyCycleReq 1/2^7 */
	assert_int_equal(lw_mac_build_duty_cycle_req(7, out, sizeof(out), &n), 0);
	assert_memory_equal(out, want, lw_test_hex("0407", want, sizeof(want)));
	assert_int_equal(lw_mac_build_duty_cycle_req(16, out, sizeof(out), &n), -EINVAL);
	/* RXParamSetupReq RX1DROffset 1, RX2 DR3, 869.525 MHz = 8695250 x 100 Hz = 0x84ADD2 */
	assert_int_equal(lw_mac_build_rx_param_setup_req(1, 3, 869525000, out, sizeof(out), &n), 0);
	assert_memory_equal(out, want, lw_test_hex("0513d2ad84", want, sizeof(want)));
	assert_int_equal(lw_mac_build_rx_param_setup_req(1, 3, 869525050, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(lw_mac_build_dev_status_req(out, sizeof(out), &n), 0);
	assert_true(n == 1 && out[0] == 0x06);
	/* NewChannelReq channel 3 at 867.1 MHz (0x844F18), DR0..5 */
	assert_int_equal(lw_mac_build_new_channel_req(3, 867100000, 0, 5, out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, want, lw_test_hex("0703184f8450", want, sizeof(want)));
	assert_int_equal(lw_mac_build_new_channel_req(3, 867100000, 5, 0, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(lw_mac_build_new_channel_req(16, 867100000, 0, 5, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(lw_mac_build_rx_timing_setup_req(2, out, sizeof(out), &n), 0);
	assert_memory_equal(out, want, lw_test_hex("0802", want, sizeof(want)));
	assert_int_equal(lw_mac_build_rx_timing_setup_req(0, out, sizeof(out), &n), -EINVAL);
}

/* The device's answers: all status bits, or the request counts as refused. */
static void test_answers(void **state)
{
	struct lw_mac_cmd a = { LW_CID_LINK_ADR, 1, { 0x07 } };
	assert_true(lw_mac_link_adr_ans_ok(&a));
	a.payload[0] = 0x06; /* channel mask NACK: nothing applied */
	assert_false(lw_mac_link_adr_ans_ok(&a));
	a = (struct lw_mac_cmd){ LW_CID_RX_PARAM_SETUP, 1, { 0x07 } };
	assert_true(lw_mac_rx_param_setup_ans_ok(&a));
	assert_false(lw_mac_link_adr_ans_ok(&a)); /* another CID */
	a = (struct lw_mac_cmd){ LW_CID_NEW_CHANNEL, 1, { 0x03 } };
	assert_true(lw_mac_new_channel_ans_ok(&a));
	a.payload[0] = 0x01;
	assert_false(lw_mac_new_channel_ans_ok(&a));
	unsigned battery;
	int margin;
	a = (struct lw_mac_cmd){ LW_CID_DEV_STATUS, 2, { 0xFE, 0x3F } }; /* 6-bit -1 dB */
	assert_int_equal(lw_mac_dev_status_ans(&a, &battery, &margin), 0);
	assert_true(battery == 254 && margin == -1);
	a.payload[1] = 0x1F;
	assert_int_equal(lw_mac_dev_status_ans(&a, &battery, &margin), 0);
	assert_int_equal(margin, 31);
	a.payload[1] = 0xE0; /* RFU bits ignored: -32 */
	assert_int_equal(lw_mac_dev_status_ans(&a, &battery, &margin), 0);
	assert_int_equal(margin, -32);
	a.cid = LW_CID_LINK_ADR;
	assert_int_equal(lw_mac_dev_status_ans(&a, &battery, &margin), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_known),
		cmocka_unit_test(test_parse_unknown_and_truncated),
		cmocka_unit_test(test_link_check_ans),
		cmocka_unit_test(test_device_time_ans),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
