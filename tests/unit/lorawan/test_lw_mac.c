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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_known),
		cmocka_unit_test(test_parse_unknown_and_truncated),
		cmocka_unit_test(test_link_check_ans),
		cmocka_unit_test(test_device_time_ans),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
