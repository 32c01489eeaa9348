/* LoRaWAN regions: DR tables, payload limits, RX1/RX2, time on air and the EU868 duty-cycle budget. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bindings/lorawan/lw_region.h"

static void test_dr_tables(void **state)
{
	struct lw_dr_info i;
	assert_int_equal(lw_region_dr(LW_REGION_EU868, 0, &i), 0);
	assert_true(i.sf == 12 && i.bw_hz == 125000 && i.max_m == 59 && i.max_n == 51);
	assert_int_equal(lw_region_dr(LW_REGION_EU868, 3, &i), 0);
	assert_true(i.sf == 9 && i.max_m == 123 && i.max_n == 115);
	/* the table without repeater: 250/242, not 230/222 */
	assert_int_equal(lw_region_dr(LW_REGION_EU868, 5, &i), 0);
	assert_true(i.sf == 7 && i.max_m == 250 && i.max_n == 242);
	assert_int_equal(lw_region_dr(LW_REGION_EU868, 6, &i), 0);
	assert_true(i.sf == 7 && i.bw_hz == 250000);
	assert_int_equal(lw_region_dr(LW_REGION_EU868, 7, &i), 0);
	assert_true(i.fsk && i.bitrate == 50000);
	assert_int_equal(lw_region_dr(LW_REGION_EU868, 8, &i), -EINVAL);
	assert_int_equal(lw_region_dr(LW_REGION_US915, 0, &i), 0);
	assert_true(i.sf == 10 && i.max_m == 19 && i.max_n == 11);
	assert_int_equal(lw_region_dr(LW_REGION_US915, 4, &i), 0);
	assert_true(i.sf == 8 && i.bw_hz == 500000);
	assert_int_equal(lw_region_dr(LW_REGION_US915, 5, &i), -EINVAL);
	assert_int_equal(lw_region_dr(LW_REGION_US915, 8, &i), 0);
	assert_true(i.sf == 12 && i.bw_hz == 500000 && i.max_m == 61 && i.max_n == 53);
	assert_int_equal(lw_region_dr(LW_REGION_US915, 9, &i), 0);
	assert_true(i.max_m == 137 && i.max_n == 129);
	assert_int_equal(lw_region_dr(LW_REGION_US915, 13, &i), 0);
	assert_true(i.sf == 7);
	assert_int_equal(lw_region_dr(LW_REGION_US915, 14, &i), -EINVAL);
	unsigned dr;
	assert_int_equal(lw_region_dr_from_lora(LW_REGION_US915, true, 8, 500000, &dr), 0);
	assert_int_equal(dr, 4);
	assert_int_equal(lw_region_dr_from_lora(LW_REGION_US915, false, 8, 500000, &dr), 0);
	assert_int_equal(dr, 12);
	assert_int_equal(lw_region_dr_from_lora(LW_REGION_EU868, true, 9, 125000, &dr), 0);
	assert_int_equal(dr, 3);
	assert_int_equal(lw_region_dr_from_lora(LW_REGION_EU868, true, 12, 500000, &dr), -EINVAL);
	enum lw_region_id r;
	assert_int_equal(lw_region_from_name("us915", &r), 0);
	assert_int_equal(r, LW_REGION_US915);
	assert_int_equal(lw_region_from_name("AS923", &r), 0);
	assert_int_equal(r, LW_REGION_AS923_1);
	assert_int_equal(lw_region_from_name("IN865", &r), -EINVAL);
}

static void test_rx_windows(void **state)
{
	uint32_t f;
	unsigned dr;
	assert_int_equal(lw_region_rx1(LW_REGION_EU868, 868100000, 5, 2, &f, &dr), 0);
	assert_int_equal(f, 868100000);
	assert_int_equal(dr, 3);
	assert_int_equal(lw_region_rx1(LW_REGION_EU868, 867500000, 2, 5, &f, &dr), 0);
	assert_int_equal(dr, 0); /* never below DR0 */
	assert_int_equal(lw_region_rx1(LW_REGION_EU868, 868100000, 5, 6, &f, &dr), -EINVAL);
	/* US915 channel 10 (904.3 MHz) -> downlink channel 2 at 924.5 MHz; DR0 + offset 0 -> DR10 */
	assert_int_equal(lw_region_rx1(LW_REGION_US915, 904300000, 0, 0, &f, &dr), 0);
	assert_int_equal(f, 924500000);
	assert_int_equal(dr, 10);
	assert_int_equal(lw_region_rx1(LW_REGION_US915, 904300000, 3, 2, &f, &dr), 0);
	assert_int_equal(dr, 11);
	/* channel 63 (914.9 MHz) -> 63 % 8 = 7 -> 927.5 MHz; DR4 offset 3 -> DR11 */
	assert_int_equal(lw_region_rx1(LW_REGION_US915, 914900000, 4, 3, &f, &dr), 0);
	assert_int_equal(f, 927500000);
	assert_int_equal(dr, 11);
	/* 500 kHz channel 65 (904.6 MHz) -> 65 % 8 = 1 -> 923.9 MHz; DR4 -> DR13 */
	assert_int_equal(lw_region_rx1(LW_REGION_US915, 904600000, 4, 0, &f, &dr), 0);
	assert_int_equal(f, 923900000);
	assert_int_equal(dr, 13);
	assert_int_equal(lw_region_rx1(LW_REGION_US915, 904350000, 0, 0, &f, &dr), -EINVAL);
	assert_int_equal(lw_region_rx1(LW_REGION_US915, 904300000, 0, 4, &f, &dr), -EINVAL);
	assert_int_equal(lw_region_rx1(LW_REGION_US915, 904300000, 8, 0, &f, &dr), -EINVAL);
	assert_int_equal(lw_region_rx2(LW_REGION_EU868, &f, &dr), 0);
	assert_true(f == 869525000 && dr == 0);
	assert_int_equal(lw_region_rx2(LW_REGION_US915, &f, &dr), 0);
	assert_true(f == 923300000 && dr == 8);
	assert_int_equal(LW_RECEIVE_DELAY1_MS, 1000);
	assert_int_equal(LW_RECEIVE_DELAY2_MS, 2000);
	assert_int_equal(LW_JOIN_ACCEPT_DELAY1_MS, 5000);
	assert_int_equal(LW_JOIN_ACCEPT_DELAY2_MS, 6000);
}

/* Reference values from brocaar/lorawan airtime/airtime_test.go: 13 bytes SF12/125 kHz CR4/5, 8 preamble
 * symbols, explicit header: 23 payload symbols, 1155.072 ms; 50 bytes with LDRO: 58 payload symbols. */
static void test_airtime(void **state)
{
	uint32_t us;
	assert_int_equal(lw_region_airtime_us(LW_REGION_EU868, 0, 13, false, &us), 0);
	assert_int_equal(us, 1155072);
	assert_int_equal(lw_region_airtime_us(LW_REGION_EU868, 0, 50, false, &us), 0);
	assert_int_equal(us, (uint32_t)(32768 * 49 / 4 + 58 * 32768));
	/* SF7/125 kHz, 13 bytes with CRC: 33 symbols of 1.024 ms + 12.25 preamble symbols = 46.336 ms */
	assert_int_equal(lw_region_airtime_us(LW_REGION_EU868, 5, 13, false, &us), 0);
	assert_int_equal(us, 46336);
	/* downlinks carry no CRC: SF7, 13 bytes -> ceil(104/28) = 4 blocks -> 28 symbols */
	assert_int_equal(lw_region_airtime_us(LW_REGION_EU868, 5, 13, true, &us), 0);
	assert_int_equal(us, 12544 + 28 * 1024);
	assert_int_equal(lw_region_airtime_us(LW_REGION_EU868, 7, 10, true, &us), 0);
	assert_int_equal(us, 21 * 8 * 20);
	assert_int_equal(lw_region_airtime_us(LW_REGION_US915, 5, 10, true, &us), -EINVAL);
	assert_int_equal(lw_region_airtime_us(LW_REGION_EU868, 0, 256, true, &us), -EINVAL);
}

/* 13-byte downlinks at DR0 take 1155.072 ms, counted as 1156 ms. */
static void test_dutycycle_eu868(void **state)
{
	lw_dutycycle_t *dc = lw_dutycycle_new(LW_REGION_EU868, 0);
	assert_non_null(dc);
	int64_t wait = -1, used = 0, now = 1000;
	/* g2 (868.7-869.2 MHz) 0.1 %: 3600 ms an hour -> 3 fit, the 4th does not */
	for (int i = 0; i < 3; i++, now += 10)
		assert_int_equal(lw_dutycycle_try(dc, 868850000, 0, 13, now, true, &wait), 0);
	assert_int_equal(lw_dutycycle_try(dc, 868850000, 0, 13, now, true, &wait), -EAGAIN);
	/* the first one (started at 1000) ages out an hour after it ended */
	assert_int_equal(wait, 1000 + 1156 + 3600000 - now);
	assert_int_equal(lw_dutycycle_used_ms(dc, 868850000, now, &used), 0);
	assert_int_equal(used, 3 * 1156);
	/* other bands are independent: g3 (869.525, RX2) 10 % = 360 s -> 311 fit */
	int ok = 0;
	while (lw_dutycycle_try(dc, 869525000, 0, 13, now, true, NULL) == 0)
		ok++;
	assert_int_equal(ok, 311);
	/* check without recording changes nothing */
	assert_int_equal(lw_dutycycle_try(dc, 868100000, 0, 13, now, false, NULL), 0);
	assert_int_equal(lw_dutycycle_used_ms(dc, 868100000, now, &used), 0);
	assert_int_equal(used, 0);
	/* once the wait has passed, g2 has room again */
	now += wait - 1;
	assert_int_equal(lw_dutycycle_try(dc, 868850000, 0, 13, now, true, NULL), -EAGAIN);
	now += 1;
	assert_int_equal(lw_dutycycle_try(dc, 868850000, 0, 13, now, true, NULL), 0);
	/* off every band, time going backwards */
	assert_int_equal(lw_dutycycle_try(dc, 870500000, 0, 13, now, true, NULL), -EINVAL);
	assert_int_equal(lw_dutycycle_try(dc, 868100000, 0, 13, now - 1, true, NULL), -EINVAL);
	lw_dutycycle_free(dc);
}

static void test_dutycycle_ring_and_us915(void **state)
{
	/* a ring of 2 records: the third transmission is refused although the budget has room */
	lw_dutycycle_t *dc = lw_dutycycle_new(LW_REGION_EU868, 2);
	assert_non_null(dc);
	assert_int_equal(lw_dutycycle_try(dc, 869525000, 5, 10, 0, true, NULL), 0);
	assert_int_equal(lw_dutycycle_try(dc, 869525000, 5, 10, 0, true, NULL), 0);
	assert_int_equal(lw_dutycycle_try(dc, 869525000, 5, 10, 0, true, NULL), -EAGAIN);
	assert_int_equal(lw_dutycycle_ring_full_count(dc), 1);
	lw_dutycycle_free(dc);
	dc = lw_dutycycle_new(LW_REGION_US915, 0);
	assert_non_null(dc);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(lw_dutycycle_try(dc, 923300000, 8, 200, i, true, NULL), 0);
	lw_dutycycle_free(dc);
	lw_dutycycle_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dr_tables),
		cmocka_unit_test(test_rx_windows),
		cmocka_unit_test(test_airtime),
		cmocka_unit_test(test_dutycycle_eu868),
		cmocka_unit_test(test_dutycycle_ring_and_us915),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
