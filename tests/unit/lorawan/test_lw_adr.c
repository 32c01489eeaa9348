/* Network-side ADR: table-driven SNR histories -> the LinkADRReq values the gateway would send. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bindings/lorawan/lw_adr.h"

struct adr_case {
	const char *what;
	enum lw_region_id region;
	int snr_ddb;          /* every uplink's SNR, or the best when spread */
	unsigned frames;      /* uplinks in the history */
	unsigned fcnt_step;   /* 1 = none lost, 2 = every other lost */
	struct lw_adr_state cur, want;
	int rc;
};

/* Installation margin 10 dB. Required SNR: SF12 -20, SF11 -17.5, SF10 -15, SF9 -12.5, SF8 -10, SF7 -7.5 dB. */
static const struct adr_case cases[] = {
	/* SF12 at +5 dB: margin 5 - (-20) - 10 = 15 dB -> 5 steps: DR0 -> DR5 (SF7) */
	{ "SF12 with a good link goes to SF7", LW_REGION_EU868, 50, 20, 1, { 0, 0, 1 }, { 5, 0, 1 }, 1 },
	/* at +11 dB from SF12: 21 dB -> 7 steps: 5 on DR, 2 on power */
	{ "spare margin then lowers power", LW_REGION_EU868, 110, 20, 1, { 0, 0, 1 }, { 5, 2, 1 }, 1 },
	/* DR5 at -2.5 dB: margin -2.5 + 7.5 - 10 = -5 dB -> -2 steps: power index 3 -> 1 */
	{ "a deficit buys power back", LW_REGION_EU868, -25, 20, 1, { 5, 3, 1 }, { 5, 1, 1 }, 1 },
	/* deficit at full power: nothing left to change; the rate is never lowered by the network */
	{ "no change at full power", LW_REGION_EU868, -100, 20, 1, { 5, 0, 1 }, { 5, 0, 1 }, 0 },
	/* DR3 at -2.5 dB: -2.5 + 12.5 - 10 = 0 -> no step */
	{ "exactly the margin: no change", LW_REGION_EU868, -25, 20, 1, { 3, 0, 1 }, { 3, 0, 1 }, 0 },
	/* -2.4 dB: +0.1 dB is less than a step */
	{ "less than 3 dB: no change", LW_REGION_EU868, -24, 20, 1, { 3, 0, 1 }, { 3, 0, 1 }, 0 },
	{ "history too short", LW_REGION_EU868, 100, 19, 1, { 0, 0, 1 }, { 0, 0, 1 }, 0 },
	/* US915 ADR stops at DR3 (SF7/125): SF10 at +10 dB: 10 + 15 - 10 = 15 -> 5 steps: 3 DR, 2 power */
	{ "US915 tops out at DR3", LW_REGION_US915, 100, 20, 1, { 0, 0, 1 }, { 3, 2, 1 }, 1 },
	/* power index never beyond the region's lowest (EU868 7) */
	{ "power floor", LW_REGION_EU868, 300, 20, 1, { 5, 6, 1 }, { 5, 7, 1 }, 1 },
	/* half the frames lost: NbTrans 3; no margin change */
	{ "heavy loss repeats frames", LW_REGION_EU868, -25, 20, 2, { 3, 0, 1 }, { 3, 0, 3 }, 1 },
	/* AS923: DR5 is the ceiling */
	{ "AS923 ceiling", LW_REGION_AS923_1, 100, 20, 1, { 2, 0, 1 }, { 5, 2, 1 }, 1 },
};

static void test_adr_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct adr_case *c = &cases[i];
		struct lw_adr_history h;
		lw_adr_history_clear(&h);
		for (unsigned k = 0; k < c->frames; k++)
			lw_adr_history_add(&h, 100 + k * c->fcnt_step, k == c->frames / 2 ? c->snr_ddb : c->snr_ddb - 60);
		struct lw_adr_params p = { 100, 20, 15 };
		struct lw_adr_state out;
		int rc = lw_adr_decide(c->region, &p, &h, &c->cur, &out);
		if (rc != c->rc || out.dr != c->want.dr || out.tx_power != c->want.tx_power ||
		    out.nb_trans != c->want.nb_trans)
			fail_msg("%s: rc %d DR%u power %u nb %u, want rc %d DR%u power %u nb %u", c->what, rc, out.dr,
				out.tx_power, out.nb_trans, c->rc, c->want.dr, c->want.tx_power, c->want.nb_trans);
	}
}

static void test_history(void **state)
{
	struct lw_adr_history h;
	lw_adr_history_clear(&h);
	/* a retransmission (same FCnt) keeps the better SNR, not a second entry */
	lw_adr_history_add(&h, 7, -50);
	lw_adr_history_add(&h, 7, 20);
	lw_adr_history_add(&h, 7, -90);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.snr_ddb[0], 20);
	/* the ring keeps the last LW_ADR_HISTORY */
	for (uint32_t f = 8; f < 8 + 2 * LW_ADR_HISTORY; f++)
		lw_adr_history_add(&h, f, (int)f);
	assert_int_equal(h.count, LW_ADR_HISTORY);
	assert_int_equal(h.fcnt[h.head], 8 + LW_ADR_HISTORY);
	/* the configured ceiling below the region's */
	struct lw_adr_params p = { 100, 1, 3 };
	struct lw_adr_state cur = { 0, 0, 1 }, out;
	assert_int_equal(lw_adr_decide(LW_REGION_EU868, &p, &h, &cur, &out), 1);
	assert_int_equal(out.dr, 3);
	/* bad arguments */
	p.history = 0;
	assert_int_equal(lw_adr_decide(LW_REGION_EU868, &p, &h, &cur, &out), -EINVAL);
	p.history = 20;
	cur.dr = 8;
	assert_int_equal(lw_adr_decide(LW_REGION_EU868, &p, &h, &cur, &out), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adr_table),
		cmocka_unit_test(test_history),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
