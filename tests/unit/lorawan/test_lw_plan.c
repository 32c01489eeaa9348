/* LoRaWAN regions added after EU868/US915 (AU915, AS923-1..4) and channel plans: CFList and LinkADRReq channel
 * masks, checked against a Join-Accept captured off a live EU868 network and published with its key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bindings/lorawan/lw_crypto.h"
#include "bindings/lorawan/lw_frame.h"
#include "bindings/lorawan/lw_region.h"
#include "tests/unit/lorawan/lw_test_util.h"

static void test_au915(void **state)
{
	struct lw_dr_info i;
	enum lw_region_id r;
	assert_int_equal(lw_region_from_name("au915", &r), 0);
	assert_int_equal(r, LW_REGION_AU915);
	assert_int_equal(lw_region_dr(r, 0, &i), 0);
	assert_true(i.sf == 12 && i.bw_hz == 125000 && i.max_n == 51);
	assert_int_equal(lw_region_dr(r, 6, &i), 0);
	assert_true(i.sf == 8 && i.bw_hz == 500000);
	assert_int_equal(lw_region_dr(r, 7, &i), -EINVAL); /* LR-FHSS is not offered */
	assert_int_equal(lw_region_dr(r, 8, &i), 0);
	assert_true(i.sf == 12 && i.bw_hz == 500000 && i.max_n == 53);
	unsigned dr;
	assert_int_equal(lw_region_dr_from_lora(r, true, 8, 500000, &dr), 0);
	assert_int_equal(dr, 6);
	assert_int_equal(lw_region_dr_from_lora(r, false, 8, 500000, &dr), 0);
	assert_int_equal(dr, 12);
	uint32_t f;
	/* channel 9 = 915.2 + 1.8 MHz -> downlink channel 1 at 923.9 MHz; DR2 + offset 1 -> DR9 */
	assert_int_equal(lw_region_rx1(r, 917000000, 2, 1, &f, &dr), 0);
	assert_int_equal(f, 923900000);
	assert_int_equal(dr, 9);
	/* 500 kHz channel 65 = 917.5 MHz -> 65 % 8 = 1; DR6 offset 5 -> DR9 */
	assert_int_equal(lw_region_rx1(r, 917500000, 6, 5, &f, &dr), 0);
	assert_int_equal(f, 923900000);
	assert_int_equal(dr, 9);
	assert_int_equal(lw_region_rx1(r, 917000000, 2, 6, &f, &dr), -EINVAL);
	assert_int_equal(lw_region_rx1(r, 902300000, 0, 0, &f, &dr), -EINVAL); /* a US915 frequency */
	assert_int_equal(lw_region_rx2(r, &f, &dr), 0);
	assert_true(f == 923300000 && dr == 8);
}

static void test_as923(void **state)
{
	struct lw_dr_info i;
	enum lw_region_id r;
	uint32_t f;
	unsigned dr;
	assert_int_equal(lw_region_from_name("AS923-3", &r), 0);
	assert_int_equal(r, LW_REGION_AS923_3);
	/* dwell time: DR0/DR1 carry nothing, DR2 11 bytes, DR5 242 */
	assert_int_equal(lw_region_dr(LW_REGION_AS923_1, 1, &i), 0);
	assert_int_equal(i.max_n, 0);
	assert_int_equal(lw_region_dr(LW_REGION_AS923_1, 2, &i), 0);
	assert_true(i.sf == 10 && i.max_n == 11 && i.max_m == 19);
	assert_int_equal(lw_region_dr(LW_REGION_AS923_1, 4, &i), 0);
	assert_int_equal(i.max_n, 125);
	assert_int_equal(lw_region_dr(LW_REGION_AS923_1, 6, &i), 0);
	assert_true(i.sf == 7 && i.bw_hz == 250000);
	/* RX1 on the uplink frequency, never below DR2; offsets 6/7 are -1/-2, capped at DR5 */
	assert_int_equal(lw_region_rx1(LW_REGION_AS923_1, 923200000, 5, 1, &f, &dr), 0);
	assert_true(f == 923200000 && dr == 4);
	assert_int_equal(lw_region_rx1(LW_REGION_AS923_1, 923200000, 3, 5, &f, &dr), 0);
	assert_int_equal(dr, 2);
	assert_int_equal(lw_region_rx1(LW_REGION_AS923_1, 923200000, 3, 7, &f, &dr), 0);
	assert_int_equal(dr, 5);
	assert_int_equal(lw_region_rx1(LW_REGION_AS923_1, 923200000, 4, 7, &f, &dr), 0);
	assert_int_equal(dr, 5);
	assert_int_equal(lw_region_rx1(LW_REGION_AS923_1, 923200000, 4, 8, &f, &dr), -EINVAL);
	/* RX2 923.2 MHz DR2, shifted by -1.8 / -6.6 / -5.9 MHz for AS923-2..4 */
	static const uint32_t rx2[] = { 923200000, 921400000, 916600000, 917300000 };
	for (int k = 0; k < 4; k++) {
		assert_int_equal(lw_region_rx2((enum lw_region_id)(LW_REGION_AS923_1 + k), &f, &dr), 0);
		assert_int_equal(f, rx2[k]);
		assert_int_equal(dr, 2);
	}
	unsigned max_dr, max_pw;
	assert_int_equal(lw_region_adr_limits(LW_REGION_AS923_2, &max_dr, &max_pw), 0);
	assert_true(max_dr == 5 && max_pw == 7);
	assert_int_equal(lw_region_adr_limits(LW_REGION_US915, &max_dr, &max_pw), 0);
	assert_true(max_dr == 3 && max_pw == 14);
}

/* The EU868 plan of an eight-channel gateway (867.1-867.9 MHz after the three defaults): its CFList is the one
 * inside the Join-Accept captured off a live network and published, with its AppKey, at
 * https://github.com/anthonykirby/lora-packet/issues/10. Building that Join-Accept here (AppNonce E5063A,
 * NetID 13, DevAddr 26012E43, DLSettings 03, RxDelay 01, that CFList) must give the captured bytes. */
static void test_eu868_cflist_published(void **state)
{
	struct lw_channel_plan p = { { 867100000, 867300000, 867500000, 867700000, 867900000 }, 5, 0 };
	uint8_t cf[LW_CFLIST_LEN], want[LW_CFLIST_LEN];
	assert_int_equal(lw_region_cflist(LW_REGION_EU868, &p, cf), LW_CFLIST_LEN);
	lw_test_hex("184F84E85684B85E84886684586E8400", want, sizeof(want));
	assert_memory_equal(cf, want, LW_CFLIST_LEN);

	uint8_t key[16], captured[LW_JOIN_ACCEPT_CF_LEN], plain[LW_JOIN_ACCEPT_CF_LEN], out[LW_JOIN_ACCEPT_CF_LEN];
	lw_test_hex("B6B53F4A168A7A88BDF7EA135CE9CFCA", key, sizeof(key));
	lw_test_hex("204DD85AE608B87FC4889970B7D2042C9E72959B0057AED6094B16003DF12DE145", captured, sizeof(captured));
	lw_test_hex("203A06E5130000432E01260301", plain, sizeof(plain));
	memcpy(plain + 13, cf, LW_CFLIST_LEN);
	assert_int_equal(lw_crypto_join_mic(key, plain, 29, plain + 29), 0);
	out[0] = plain[0];
	assert_int_equal(lw_crypto_join_accept_encrypt(key, plain + 1, out + 1, 32), 0);
	assert_memory_equal(out, captured, sizeof(captured));

	/* fewer channels: unused entries zero; none: no CFList at all */
	p.n_extra = 2;
	assert_int_equal(lw_region_cflist(LW_REGION_EU868, &p, cf), LW_CFLIST_LEN);
	lw_test_hex("184F84E8568400000000000000000000", want, sizeof(want));
	assert_memory_equal(cf, want, LW_CFLIST_LEN);
	p.n_extra = 0;
	assert_int_equal(lw_region_cflist(LW_REGION_EU868, &p, cf), 0);
	/* the plan's channels in order: the three defaults, then the list */
	p.n_extra = 5;
	unsigned n;
	uint32_t f;
	assert_int_equal(lw_region_plan_channels(LW_REGION_EU868, &p, &n), 0);
	assert_int_equal(n, 8);
	assert_int_equal(lw_region_plan_channel_hz(LW_REGION_EU868, &p, 0, &f), 0);
	assert_int_equal(f, 868100000);
	assert_int_equal(lw_region_plan_channel_hz(LW_REGION_EU868, &p, 7, &f), 0);
	assert_int_equal(f, 867900000);
	assert_int_equal(lw_region_plan_channel_hz(LW_REGION_EU868, &p, 8, &f), -EINVAL);
	assert_true(lw_region_plan_has(LW_REGION_EU868, &p, 867500000));
	assert_false(lw_region_plan_has(LW_REGION_EU868, &p, 868800000));
	struct lw_chmask m[2];
	assert_int_equal(lw_region_plan_masks(LW_REGION_EU868, &p, m), 1);
	assert_true(m[0].cntl == 0 && m[0].mask == 0x00FF);
}

/* US915 sub-band 2 (channels 8..15 and 65), the plan of most US gateways: CFListType 1 (RP002-1.0.x) and the
 * LinkADRReq pair ChMaskCntl 7 (125 kHz off, 500 kHz mask) then ChMaskCntl 0 (channels 0..15). */
static void test_us915_sub_band(void **state)
{
	struct lw_channel_plan p = { { 0 }, 0, 2 };
	uint8_t cf[LW_CFLIST_LEN], want[LW_CFLIST_LEN];
	assert_int_equal(lw_region_cflist(LW_REGION_US915, &p, cf), LW_CFLIST_LEN);
	lw_test_hex("00FF0000000000000200000000000001", want, sizeof(want));
	assert_memory_equal(cf, want, LW_CFLIST_LEN);
	struct lw_chmask m[2];
	assert_int_equal(lw_region_plan_masks(LW_REGION_US915, &p, m), 2);
	assert_true(m[0].cntl == 7 && m[0].mask == 0x0002);
	assert_true(m[1].cntl == 0 && m[1].mask == 0xFF00);
	unsigned n;
	uint32_t f;
	assert_int_equal(lw_region_plan_channels(LW_REGION_US915, &p, &n), 0);
	assert_int_equal(n, 9);
	assert_int_equal(lw_region_plan_channel_hz(LW_REGION_US915, &p, 0, &f), 0);
	assert_int_equal(f, 903900000); /* channel 8 */
	assert_int_equal(lw_region_plan_channel_hz(LW_REGION_US915, &p, 8, &f), 0);
	assert_int_equal(f, 904600000); /* channel 65 */
	assert_true(lw_region_plan_has(LW_REGION_US915, &p, 905300000));  /* channel 15 */
	assert_false(lw_region_plan_has(LW_REGION_US915, &p, 905500000)); /* channel 16 */
	assert_false(lw_region_plan_has(LW_REGION_US915, &p, 903000000)); /* channel 64 */
	/* sub-band 5 -> channels 32..39: ChMaskCntl 2, low byte; 500 kHz channel 68 */
	p.sub_band = 5;
	assert_int_equal(lw_region_plan_masks(LW_REGION_US915, &p, m), 2);
	assert_true(m[0].cntl == 7 && m[0].mask == 0x0010);
	assert_true(m[1].cntl == 2 && m[1].mask == 0x00FF);
	assert_int_equal(lw_region_cflist(LW_REGION_AU915, &p, cf), LW_CFLIST_LEN);
	assert_true(cf[4] == 0xFF && cf[8] == 0x10 && cf[15] == 1);
	/* all 72 channels: no CFList, ChMaskCntl 6 */
	p.sub_band = 0;
	assert_int_equal(lw_region_cflist(LW_REGION_US915, &p, cf), 0);
	assert_int_equal(lw_region_plan_masks(LW_REGION_US915, &p, m), 1);
	assert_true(m[0].cntl == 6 && m[0].mask == 0x00FF);
}

static void test_plan_check(void **state)
{
	const char *why = NULL;
	struct lw_channel_plan p = { { 867100000 }, 1, 0 };
	assert_int_equal(lw_region_plan_check(LW_REGION_EU868, &p, &why), 0);
	p.extra_hz[0] = 868100000; /* a default channel */
	assert_int_equal(lw_region_plan_check(LW_REGION_EU868, &p, &why), -EINVAL);
	assert_non_null(why);
	p.extra_hz[0] = 915000000; /* outside 863-870 MHz */
	assert_int_equal(lw_region_plan_check(LW_REGION_EU868, &p, &why), -EINVAL);
	p.extra_hz[0] = 867100050; /* not on the 100 Hz grid */
	assert_int_equal(lw_region_plan_check(LW_REGION_EU868, &p, &why), -EINVAL);
	p = (struct lw_channel_plan){ { 867100000, 867100000 }, 2, 0 };
	assert_int_equal(lw_region_plan_check(LW_REGION_EU868, &p, &why), -EINVAL);
	p = (struct lw_channel_plan){ { 0 }, 6, 0 };
	assert_int_equal(lw_region_plan_check(LW_REGION_EU868, &p, &why), -EINVAL);
	p = (struct lw_channel_plan){ { 0 }, 0, 2 };
	assert_int_equal(lw_region_plan_check(LW_REGION_EU868, &p, &why), -EINVAL); /* no sub-bands in EU868 */
	assert_int_equal(lw_region_plan_check(LW_REGION_US915, &p, &why), 0);
	p.sub_band = 9;
	assert_int_equal(lw_region_plan_check(LW_REGION_US915, &p, &why), -EINVAL);
	p = (struct lw_channel_plan){ { 903900000 }, 1, 0 };
	assert_int_equal(lw_region_plan_check(LW_REGION_US915, &p, &why), -EINVAL); /* no list in US915 */
	/* AS923: two defaults (923.2, 923.4), so a CFList's five make seven channels */
	p = (struct lw_channel_plan){ { 922200000, 922400000, 922600000, 922800000, 923000000 }, 5, 0 };
	unsigned n;
	assert_int_equal(lw_region_plan_channels(LW_REGION_AS923_1, &p, &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(lw_region_plan_check((enum lw_region_id)99, &p, &why), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_au915),
		cmocka_unit_test(test_as923),
		cmocka_unit_test(test_eu868_cflist_published),
		cmocka_unit_test(test_us915_sub_band),
		cmocka_unit_test(test_plan_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
