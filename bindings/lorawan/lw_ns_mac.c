/* Network-initiated MAC commands for one device: channel plan and ADR via LinkADRReq, DevStatusReq (lw_ns_mac.h). */
#include "bindings/lorawan/lw_ns_mac.h"

#include <string.h>

#define CNT(cnt, field) ((cnt) ? (void)(cnt)->field++ : (void)0)

void lw_ns_mac_reset(struct lw_ns_mac *m, bool plan_known)
{
	memset(m, 0, sizeof(*m));
	m->cur.nb_trans = 1;
	m->plan_known = plan_known;
}

static const struct lw_mac_cmd *find(const struct lw_mac_cmd *cmds, size_t n, uint8_t cid)
{
	for (size_t i = 0; i < n; i++) /* at most the handful of commands one frame holds */
		if (cmds[i].cid == cid)
			return &cmds[i];
	return NULL;
}

/* A request left without its answer: counted; after LWNS_MAC_MAX_UNANSWERED in a row the device is left alone. */
static void unanswered(struct lw_ns_mac *m, struct lw_ns_mac_counters *cnt)
{
	CNT(cnt, unanswered);
	if (++m->unanswered >= LWNS_MAC_MAX_UNANSWERED && !m->gave_up) {
		m->gave_up = true;
		CNT(cnt, gave_up);
	}
}

static void take_answers(struct lw_ns_mac *m, const struct lw_mac_cmd *cmds, size_t n, struct lw_ns_mac_counters *cnt)
{
	if (m->adr_waiting) {
		const struct lw_mac_cmd *a = find(cmds, n, LW_CID_LINK_ADR);
		m->adr_waiting = false;
		if (!a) {
			unanswered(m, cnt);
		} else if (lw_mac_link_adr_ans_ok(a)) {
			m->cur.tx_power = m->sent.tx_power;
			m->cur.nb_trans = m->sent.nb_trans;
			m->plan_ok = m->plan_known;
			m->unanswered = 0;
			CNT(cnt, link_adr_acked);
		} else { /* refused as a whole: nothing changed on the device; asking again the same way would loop */
			CNT(cnt, link_adr_refused);
			unanswered(m, cnt);
		}
	}
	if (m->status_waiting) {
		const struct lw_mac_cmd *a = find(cmds, n, LW_CID_DEV_STATUS);
		m->status_waiting = false;
		if (a && lw_mac_dev_status_ans(a, &m->battery, &m->margin_db) == 0) {
			m->have_status = true;
			CNT(cnt, dev_status);
		}
	}
}

/* LinkADRReq(s) for next: the channel masks of the plan (or of the default channels while the device does not
 * know the plan's), each carrying the same DR, power and NbTrans (§5.3.1.1: a block of LinkADRReqs is applied as
 * one, its last DR/power/NbTrans win). */
static size_t link_adr(const struct lw_ns_mac *m, const struct lw_ns_mac_cfg *c, const struct lw_adr_state *next,
	uint8_t *out, size_t cap)
{
	struct lw_chmask masks[2];
	struct lw_channel_plan defaults = { { 0 }, 0, 0 };
	int nm = lw_region_plan_masks(c->region, m->plan_known ? &c->plan : &defaults, masks);
	size_t len = 0;
	for (int i = 0; i < nm; i++) {
		size_t w;
		if (lw_mac_build_link_adr_req(next->dr, next->tx_power, masks[i].mask, masks[i].cntl, next->nb_trans,
					      out + len, cap - len, &w) != 0)
			return 0; /* does not fit: all or nothing */
		len += w;
	}
	return len;
}

size_t lw_ns_mac_uplink(struct lw_ns_mac *m, const struct lw_ns_mac_cfg *c, const struct lw_ns_mac_uplink *up,
	const struct lw_mac_cmd *cmds, size_t n, uint8_t *out, size_t cap, bool *out_downlink,
	struct lw_ns_mac_counters *cnt)
{
	size_t len = 0;
	*out_downlink = up->adr_ack_req; /* §4.3.1.1: any downlink tells the device the network still hears it */
	take_answers(m, cmds, n, cnt);
	m->cur.dr = up->dr;
	m->uplinks++;
	lw_adr_history_add(&m->hist, up->fcnt, up->snr_ddb);
	/* only for devices that let the network steer them, and never for one that stopped answering */
	if (m->gave_up || !c->adr || !up->adr)
		return 0;
	struct lw_adr_state next = m->cur;
	int d = lw_adr_decide(c->region, &c->adr_params, &m->hist, &m->cur, &next);
	if (d > 0 || (d == 0 && !m->plan_ok)) {
		size_t w = link_adr(m, c, &next, out, cap);
		if (w) {
			len += w;
			m->sent = next;
			m->adr_waiting = true;
			CNT(cnt, link_adr_sent);
		}
	}
	if ((m->uplinks == 1 || m->uplinks % LWNS_MAC_STATUS_EVERY == 0) && cap - len >= 1) {
		size_t w;
		if (lw_mac_build_dev_status_req(out + len, cap - len, &w) == 0) {
			len += w;
			m->status_waiting = true;
		}
	}
	*out_downlink |= len > 0;
	return len;
}
