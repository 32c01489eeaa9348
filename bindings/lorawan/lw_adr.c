/* Network-side ADR: the margin rule (see lw_adr.h). */
#include "bindings/lorawan/lw_adr.h"

#include <errno.h>
#include <string.h>

void lw_adr_history_add(struct lw_adr_history *h, uint32_t fcnt, int snr_ddb)
{
	int16_t snr = (int16_t)(snr_ddb < INT16_MIN ? INT16_MIN : snr_ddb > INT16_MAX ? INT16_MAX : snr_ddb);
	if (h->count) {
		unsigned last = (h->head + h->count - 1u) % LW_ADR_HISTORY;
		if (h->fcnt[last] == fcnt) {
			if (snr > h->snr_ddb[last])
				h->snr_ddb[last] = snr;
			return;
		}
	}
	if (h->count == LW_ADR_HISTORY) {
		h->head = (uint8_t)((h->head + 1u) % LW_ADR_HISTORY);
		h->count--;
	}
	unsigned at = (h->head + h->count) % LW_ADR_HISTORY;
	h->fcnt[at] = fcnt;
	h->snr_ddb[at] = snr;
	h->count++;
}

void lw_adr_history_clear(struct lw_adr_history *h)
{
	memset(h, 0, sizeof(*h));
}

/* Uplinks lost between the oldest and newest kept frame, in percent. */
static unsigned loss_percent(const struct lw_adr_history *h)
{
	uint32_t first = h->fcnt[h->head], last = h->fcnt[(h->head + h->count - 1u) % LW_ADR_HISTORY];
	uint64_t expected = (uint64_t)(uint32_t)(last - first) + 1;
	if (expected <= h->count)
		return 0;
	return (unsigned)((expected - h->count) * 100 / expected);
}

/* One transmission while almost nothing is lost; more as losses grow, three at most: repetitions cost airtime
 * and duty cycle, so they are spent only where the link is poor. */
static unsigned nb_trans_for(unsigned loss)
{
	return loss < 5 ? 1 : loss < 10 ? 2 : 3;
}

static int floor_div(int a, int b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

int lw_adr_decide(enum lw_region_id r, const struct lw_adr_params *p, const struct lw_adr_history *h,
	const struct lw_adr_state *cur, struct lw_adr_state *out)
{
	unsigned max_dr, max_pw;
	int need_ddb;
	if (!p || !h || !cur || !out || p->history < 1 || p->history > LW_ADR_HISTORY ||
	    lw_region_adr_limits(r, &max_dr, &max_pw) != 0 || lw_region_demod_floor_ddb(r, cur->dr, &need_ddb) != 0)
		return -EINVAL;
	*out = *cur;
	if (h->count < p->history)
		return 0;
	if (p->max_dr < max_dr)
		max_dr = p->max_dr;
	int best = INT16_MIN;
	for (unsigned i = 0; i < h->count; i++) {
		int s = h->snr_ddb[(h->head + i) % LW_ADR_HISTORY];
		best = s > best ? s : best;
	}
	/* one step per whole 3 dB of margin; a deficit rounds away from zero so any shortfall buys power */
	int steps = floor_div(best - need_ddb - p->margin_ddb, 30);
	while (steps > 0 && out->dr < max_dr) {
		out->dr++;
		steps--;
	}
	while (steps > 0 && out->tx_power < max_pw) {
		out->tx_power++;
		steps--;
	}
	while (steps < 0 && out->tx_power > 0) {
		out->tx_power--;
		steps++;
	}
	out->nb_trans = nb_trans_for(loss_percent(h));
	return out->dr != cur->dr || out->tx_power != cur->tx_power || out->nb_trans != cur->nb_trans;
}
