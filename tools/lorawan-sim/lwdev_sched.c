/* lorawan-sim device: when to transmit (LwM2M 1.1.1 App. C device side, Class A duty) and which downlinks the
 * radio hears (RX1/RX2 timing, frequency and data rate). */
#include "tools/lorawan-sim/lwdev_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

enum action { A_NONE, A_JOIN, A_GIVEUP, A_QUEUE, A_RETRY, A_POLL };

/* CoAP header (RFC 7252 §3): Ver 1, T, TKL | Code | Message ID */
static bool coap_is_con(const uint8_t *b, size_t len)
{
	return len >= 4 && (b[0] >> 6) == 1 && ((b[0] >> 4) & 3) == 0 && b[1] != 0;
}

static uint16_t coap_mid(const uint8_t *b)
{
	return (uint16_t)(b[2] << 8 | b[3]);
}

int lpw_lwdev_enqueue(lpw_lwdev_t *dev, const uint8_t *data, size_t len)
{
	if (len > dev->mtu || len > LW_PHY_MAX)
		return -EMSGSIZE;
	if (dev->qlen == LPW_LWDEV_QUEUE_MAX) {
		LPW_WARN("lwsim", "dev %u: uplink queue full", dev->cfg.index);
		return -ENOBUFS;
	}
	struct lwdev_qmsg *m = &dev->q[dev->qlen++];
	memcpy(m->b, data, len);
	m->len = len;
	/* sent from the timer, never from inside the client's own call chain */
	lpw_lwdev_schedule(dev);
	return 0;
}

void lpw_lwdev_coap_in(lpw_lwdev_t *dev, const uint8_t *data, size_t len)
{
	unsigned type = len >= 4 ? (data[0] >> 4) & 3 : 0;
	/* App. C: the exchange is over when the matching ACK or RST arrives */
	if (dev->con.active && (type == 2 || type == 3) && coap_mid(data) == dev->con.mid)
		dev->con.active = false;
	lpw_devsim_client_input(dev->client, data, len);
}

/* The first queued message that may go now: a CON waits while another is in flight (NSTART 1). */
static int eligible(const lpw_lwdev_t *dev)
{
	for (size_t i = 0; i < dev->qlen; i++)
		if (!dev->con.active || !coap_is_con(dev->q[i].b, dev->q[i].len))
			return (int)i;
	return -1;
}

/* When the radio is free again: the last uplink's RX windows have closed. */
static int64_t free_at(const lpw_lwdev_t *dev)
{
	if (!dev->have_up)
		return dev->start_at;
	int64_t rx2_ms = dev->up_join ? LW_JOIN_ACCEPT_DELAY2_MS : (int64_t)(dev->rx1_delay_s + 1) * 1000;
	return dev->up_ms + rx2_ms + dev->cfg.rx_tolerance_us / 1000 + 1;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static unsigned step_limit(const lpw_lwdev_t *dev)
{
	/* C.3.1.1 repeats step 2 MAX_RETRANSMIT times; C.3.2.1 repeats steps 2 and 3 (Empty, CON) as often */
	return dev->cfg.confirmed ? dev->cfg.max_retransmit : 2 * dev->cfg.max_retransmit;
}

/* Whether the CON's next step only opens RX windows (else it resends the CON: C.3.2.1 step 3). */
static bool next_step_opens(const lpw_lwdev_t *dev)
{
	return dev->cfg.confirmed || dev->con.steps % 2 == 0;
}

static void consider(enum action *a, int64_t *due, enum action cand, int64_t when)
{
	if (when < *due) {
		*a = cand;
		*due = when;
	}
}

static enum action plan(const lpw_lwdev_t *dev, int64_t *out_due)
{
	enum action a = A_NONE;
	int64_t fa = free_at(dev), last = dev->have_up ? dev->up_ms : dev->start_at;
	*out_due = INT64_MAX;
	if (!dev->started)
		return A_NONE;
	if (!dev->joined) {
		*out_due = dev->have_up ? max64(fa, dev->up_ms + dev->cfg.join_retry_ms) : dev->start_at;
		return A_JOIN;
	}
	/* ties go to the first considered */
	if (dev->con.active && dev->con.steps >= step_limit(dev))
		consider(&a, out_due, A_GIVEUP, fa);
	if (eligible(dev) >= 0 || dev->need_ack || dev->fpending || dev->empty_req)
		consider(&a, out_due, A_QUEUE, fa);
	if (dev->con.active && dev->con.steps < step_limit(dev))
		consider(&a, out_due, A_RETRY, max64(fa, dev->up_ms + dev->cfg.uplink_interval_ms));
	if (dev->cfg.poll_interval_ms)
		consider(&a, out_due, A_POLL, max64(fa, last + dev->cfg.poll_interval_ms));
	return a;
}

void lpw_lwdev_schedule(lpw_lwdev_t *dev)
{
	int64_t due, now = lpw_loop_now(dev->loop);
	if (plan(dev, &due) == A_NONE) {
		lpw_loop_timer_clear(dev->loop, &dev->tx_timer);
		return;
	}
	if (lpw_loop_timer_in(dev->loop, &dev->tx_timer, due > now ? due - now : 0) < 0)
		LPW_ERR("lwsim", "dev %u: cannot arm uplink timer", dev->cfg.index);
}

/* A CoAP Empty message (RFC 7252 §4.1: code 0.00, no token). CON, because a NON must not be empty (§4.3) and an
 * ACK or RST would have to match a message of the server's; the gateway never forwards it (App. C). */
static int send_empty(lpw_lwdev_t *dev)
{
	uint16_t mid = dev->empty_mid++;
	uint8_t b[4] = {0x40, 0x00, (uint8_t)(mid >> 8), (uint8_t)mid};
	dev->empty_req = false;
	return lpw_lwdev_send_data(dev, b, sizeof(b), "empty");
}

/* The oldest eligible message, or an Empty one when only the MAC (ACK bit, FPending) or a command wants out. */
static void send_queued(lpw_lwdev_t *dev)
{
	bool counts = dev->con.active && next_step_opens(dev);
	int i = eligible(dev);
	if (i < 0) {
		if (send_empty(dev) == 0 && counts)
			dev->con.steps++;
		return;
	}
	struct lwdev_qmsg m = dev->q[i];
	memmove(&dev->q[i], &dev->q[i + 1], (dev->qlen - (size_t)i - 1) * sizeof(dev->q[0]));
	dev->qlen--;
	bool con = coap_is_con(m.b, m.len);
	if (lpw_lwdev_send_data(dev, m.b, m.len, "coap") < 0)
		return;
	if (con) {
		/* App. C step 1: this CON now waits for its ACK in the RX windows */
		dev->con.active = true;
		dev->con.mid = coap_mid(m.b);
		dev->con.msg = m;
		dev->con.steps = 0;
	} else if (counts) {
		dev->con.steps++; /* pending data opened the RX windows instead of an Empty (step 2) */
	}
}

static void run(lpw_lwdev_t *dev, enum action a)
{
	switch (a) {
	case A_JOIN:
		if (lpw_lwdev_send_join(dev) < 0)
			LPW_WARN("lwsim", "dev %u: Join-Request not sent", dev->cfg.index);
		break;
	case A_GIVEUP: {
		json_t *ev = lpw_lwdev_event_new("coap-giveup");
		json_object_set_new(ev, "mid", json_integer(dev->con.mid));
		lpw_lwdev_emit(dev, ev);
		dev->con.active = false;
		break;
	}
	case A_QUEUE:
		send_queued(dev);
		break;
	case A_RETRY:
		if (next_step_opens(dev))
			send_empty(dev); /* C.3.1.1 / C.3.2.1 step 2 */
		else
			lpw_lwdev_send_data(dev, dev->con.msg.b, dev->con.msg.len, "coap"); /* C.3.2.1 step 3 */
		dev->con.steps++;
		break;
	case A_POLL:
		send_empty(dev);
		break;
	case A_NONE:
		break;
	}
}

void lpw_lwdev_tick(lpw_timer_t *t, int64_t now_ms)
{
	lpw_lwdev_t *dev = lpw_container_of(t, lpw_lwdev_t, tx_timer);
	int64_t due;
	enum action a = plan(dev, &due);
	if (a != A_NONE && due <= now_ms)
		run(dev, a);
	lpw_lwdev_schedule(dev);
}

/* ---- what the radio hears ---- */

/* Which RX window of the last uplink tmst opens: 1, 2, or 0 for none. */
static int which_window(const lpw_lwdev_t *dev, uint32_t tmst)
{
	if (!dev->have_up)
		return 0;
	int64_t d1 = dev->up_join ? LW_JOIN_ACCEPT_DELAY1_MS * 1000 : (int64_t)dev->rx1_delay_s * 1000000;
	int64_t delta = (int32_t)(tmst - dev->up_tmst), tol = dev->cfg.rx_tolerance_us;
	if (llabs(delta - d1) <= tol)
		return 1;
	if (llabs(delta - d1 - 1000000) <= tol)
		return 2;
	return 0;
}

/* Whether the receiver listens where tx transmits: RX1 follows the uplink, RX2 is fixed (RP002). */
static bool radio_matches(const lpw_lwdev_t *dev, const lpw_txpk_t *tx, int window)
{
	uint32_t freq;
	unsigned dr;
	struct lw_dr_info info;
	int rc = window == 1 ? lw_region_rx1(dev->cfg.region, dev->up_freq, dev->cfg.dr, dev->rx1_dr_offset, &freq, &dr)
			     : lw_region_rx2(dev->cfg.region, &freq, &dr);
	if (window == 2 && dev->joined)
		dr = dev->rx2_dr; /* DLSettings of the Join-Accept */
	if (rc < 0 || lw_region_dr(dev->cfg.region, dr, &info) < 0)
		return false;
	int64_t df = (int64_t)(tx->freq * 1e6 + 0.5) - (int64_t)freq;
	return llabs(df) <= 1000 && tx->sf == info.sf && (uint32_t)tx->bw_khz * 1000u == info.bw_hz && tx->ipol;
}

static bool is_mine(const lpw_lwdev_t *dev, const lpw_txpk_t *tx)
{
	unsigned mtype = tx->data[0] >> 5;
	if (mtype == LW_MTYPE_JOIN_ACCEPT) {
		/* devices may share an AppKey in a simulation: the join window tells them apart */
		if (!dev->cfg.otaa || dev->joined || !dev->up_join || (!tx->imme && which_window(dev, tx->tmst) == 0))
			return false;
		return lpw_lwdev_join_accept_ok(dev, tx->data, tx->size);
	}
	if (mtype != LW_MTYPE_UNCONF_DOWN && mtype != LW_MTYPE_CONF_DOWN)
		return false;
	uint32_t addr = (uint32_t)tx->data[1] | (uint32_t)tx->data[2] << 8 | (uint32_t)tx->data[3] << 16 |
			(uint32_t)tx->data[4] << 24;
	return dev->joined && tx->size >= LW_DATA_MIN_LEN && addr == dev->dev_addr;
}

int lpw_lwdev_offer(lpw_lwdev_t *dev, const lpw_txpk_t *tx, bool lost)
{
	if (tx->size < 1 || tx->size > LW_PHY_MAX || !is_mine(dev, tx))
		return -ENOENT;
	uint32_t now_tmst = lpw_lwdev_tmst(lpw_loop_now(dev->loop));
	int window = 0;
	if (!tx->imme) {
		if ((int32_t)(tx->tmst - now_tmst) < 0) {
			lpw_lwdev_emit_lost(dev, "late", 0);
			return -ETIME;
		}
		window = which_window(dev, tx->tmst);
		const char *why = !window ? "window" : !radio_matches(dev, tx, window) ? "radio"
			: dev->rx[window - 1].used ? "busy" : NULL;
		if (why) {
			lpw_lwdev_emit_lost(dev, why, window);
			return 0;
		}
	}
	if (lost) {
		lpw_lwdev_emit_lost(dev, "loss", window);
		return 0;
	}
	if (!window) {
		lpw_lwdev_deliver(dev, tx->data, tx->size, 0);
		return 0;
	}
	struct lwdev_rxslot *slot = &dev->rx[window - 1];
	memcpy(slot->phy, tx->data, tx->size);
	slot->len = tx->size;
	slot->used = true;
	/* the frame is heard at its tmst, not when the forwarder got it */
	if (lpw_loop_timer_in(dev->loop, &slot->timer, (int64_t)(uint32_t)(tx->tmst - now_tmst) / 1000) < 0)
		slot->used = false;
	return 0;
}
