/* The LoRaWAN network server over Semtech UDP packet forwarders (see lw_ns_udp.h for the rules it keeps). */
#include "bindings/lorawan/lw_ns_udp.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bindings/lorawan/lw_mac.h"
#include "bindings/lorawan/lw_ns_mac.h"
#include "bindings/lorawan/lw_region.h"
#include "bindings/lorawan/lw_session.h"
#include "core/log.h"
#include "hal/gpio.h"
#include "hal/pktfwd.h"

#define MOD "lorawan"
#define LW_NS_TOKEN_SLOTS 1024
#define LW_NS_FORWARDERS 16    /* backhaul delays remembered (the packet-forwarder link's own slot count) */

typedef struct lw_ns_udp lw_ns_udp_t;

/* Where and when a downlink answering an uplink can go: from the best copy of that uplink. */
struct rx_path {
	uint64_t eui;       /* forwarder */
	uint32_t tmst;      /* concentrator time of the uplink */
	uint32_t freq_hz;
	unsigned dr;
	double snr;
	int rssi;
};

struct dev {
	lw_ns_udp_t *ns;
	lpw_device_t *h;      /* the device table's handle: this struct is its LPW_SLOT_NETWORK */
	struct dev *next, *prev; /* every open device, for op_free */
	uint8_t dev_eui[8];
	lw_session_t *s;
	bool warned_replay;

	/* the last uplink (data or join): dedup and RX windows */
	uint8_t phy[LW_PHY_MAX];
	size_t phy_len;
	bool collecting;      /* within dedup_ms of its first copy */
	unsigned copies;
	struct rx_path path;
	int64_t rx_at_ms;     /* loop time of the first copy */
	bool is_join;
	lpw_timer_t dedup_timer;

	/* what the accepted data uplink carried, delivered after dedup */
	bool up_confirmed, has_fport;
	uint8_t fport;
	uint8_t up_data[LW_PHY_MAX];
	size_t up_len;
	uint8_t mac_in[LW_PHY_MAX];
	size_t mac_in_len;
	uint32_t up_fcnt;
	bool up_adr, up_adr_ack_req;
	struct lw_ns_mac mac; /* channel plan, ADR, DevStatus */

	/* the open RX windows (class A: one downlink per uplink) */
	bool window;
	bool need_ack;        /* the uplink was confirmed */
	uint8_t mac_ans[LW_FOPTS_MAX];
	uint8_t mac_ans_len;
	bool force_dl;        /* a downlink is owed even without ACK or MAC answers (ADRACKReq) */
	lpw_timer_t rx_timer; /* the deadline: empty ACK / MAC answers */
	uint8_t join_accept[LW_JOIN_ACCEPT_CF_LEN];
	size_t join_accept_len;

	/* the application's downlink: waiting, on its way, or waiting for the ACK bit */
	bool pending;
	uint32_t handle;
	uint8_t dl_fport;
	bool dl_confirmed, dl_more;
	uint8_t dl_data[LW_PHY_MAX];
	size_t dl_len;
	bool inflight;        /* handed to a forwarder, TX_ACK awaited */
	int tx_window;        /* 0: RX1 (or JOIN_ACCEPT_DELAY1), 1: RX2 */
	int64_t tx_at_ms;     /* when the PULL_RESP left: the TX_ACK's round trip measures the backhaul */
	uint8_t tx_phy[LW_PHY_MAX]; /* what went out, for an RX2 retry after TOO_LATE in RX1 */
	size_t tx_len;
	bool inflight_app;    /* ... and it carried the application's downlink */
	uint64_t tx_eui;
	uint16_t tx_token;
	lpw_timer_t txack_timer;
	bool await_ack;       /* a confirmed downlink went out: the next uplink says */
};

struct lw_ns_udp {
	lpw_loop_t *loop;
	const lpw_config_t *cfg;
	lpw_store_t *store;
	lw_as_hooks_t hooks;
	lpw_stats_t *stats;
	enum lw_region_id region;
	uint32_t rx2_freq_hz;
	unsigned rx2_dr;
	lpw_pktfwd_t *pf;
	lw_dutycycle_t *dc;
	struct lw_ns_mac_cfg mac_cfg;     /* the channel plan and ADR settings every device's MAC state follows */
	uint8_t cflist[LW_CFLIST_LEN];    /* the plan, as Join-Accepts carry it */
	bool has_cflist;
	struct lw_ns_mac_counters mac_c;
	const lpw_binding_host_t *host; /* device lookups by DevEUI and DevAddr */
	size_t ndevs;
	struct dev *devs;     /* list of open devices */
	/* Downlinks awaiting TX_ACK by the forwarder's token (sequential per link): a slot is checked, never
	 * trusted, so a collision only costs a TX_ACK (the wait timer then takes it as sent). */
	struct dev *by_token[LW_NS_TOKEN_SLOTS];
	/* One-way delay between each forwarder and us, from TX_ACK round trips: it moves every RX cutoff. */
	struct backhaul {
		uint64_t eui;
		int64_t delay_ms;
	} backhaul[LW_NS_FORWARDERS];
	unsigned next_backhaul;
	uint32_t next_handle;
	lw_ns_udp_counters_t c;
	struct lw_mac_counters mac_counters;
};

static const lw_ns_ops_t ops;
static void op_device_remove(void *self, lpw_device_t *h);

static const lpw_config_device_t *dcfg(const struct dev *d)
{
	return lpw_device_config(d->h);
}

static struct dev *dev_of(const lpw_device_t *h)
{
	return lpw_device_slot(h, LPW_SLOT_NETWORK);
}

static void report(struct dev *d, uint32_t handle, lw_tx_result_t r)
{
	lw_ns_udp_t *ns = d->ns;
	if (ns->hooks.tx_result)
		ns->hooks.tx_result(ns->hooks.as, d->h, handle, r);
}

static int64_t now_ms(const lw_ns_udp_t *ns)
{
	return lpw_loop_now(ns->loop);
}

/* --- building and sending one downlink ---------------------------------------------------------------------- */

/* Fills tx for a window opening offset_ms after the uplink, on freq/dr. */
static int make_txpk(lw_ns_udp_t *ns, const struct dev *d, int64_t offset_ms, uint32_t freq_hz, unsigned dr,
	const uint8_t *phy, size_t len, lpw_txpk_t *tx)
{
	struct lw_dr_info info;
	int rc = lw_region_dr(ns->region, dr, &info);
	if (rc || info.fsk || len > sizeof(tx->data))
		return rc ? rc : -EINVAL;
	*tx = (lpw_txpk_t){
		.tmst = d->path.tmst + (uint32_t)(offset_ms * 1000), /* the µs counter wraps: so does the sum */
		.freq = freq_hz / 1e6,
		.rfch = 0,
		.powe = ns->region == LW_REGION_EU868 ? 14 : ns->region >= LW_REGION_AS923_1 ? 16 : 20, /* dBm, within each max EIRP */
		.sf = info.sf,
		.bw_khz = (uint16_t)(info.bw_hz / 1000),
		.codr = 5,
		.ipol = true,
		.size = (uint16_t)len,
	};
	memcpy(tx->data, phy, len);
	return 0;
}

static struct backhaul *backhaul_of(lw_ns_udp_t *ns, uint64_t eui)
{
	for (unsigned i = 0; i < LW_NS_FORWARDERS; i++) /* a bounded table of forwarders, not of devices */
		if (ns->backhaul[i].eui == eui)
			return &ns->backhaul[i];
	return NULL;
}

static int64_t backhaul_ms(lw_ns_udp_t *ns, uint64_t eui)
{
	struct backhaul *b = backhaul_of(ns, eui);
	return b ? b->delay_ms : 0;
}

/* A TX_ACK came rtt_ms after its PULL_RESP: half of it is the one-way delay (a moving average, so that one slow
 * answer does not move every window at once). */
static void learn_backhaul(lw_ns_udp_t *ns, uint64_t eui, int64_t rtt_ms)
{
	struct backhaul *b = backhaul_of(ns, eui);
	if (!b) {
		b = &ns->backhaul[ns->next_backhaul++ % LW_NS_FORWARDERS];
		*b = (struct backhaul){.eui = eui, .delay_ms = rtt_ms / 2};
		return;
	}
	b->delay_ms = (3 * b->delay_ms + rtt_ms / 2) / 4;
}

/* The latest loop time a PULL_RESP for window w (0: RX1, 1: RX2) may leave. The device opens the window D after
 * its uplink ended on air; we heard the uplink one backhaul delay after that, and the PULL_RESP needs another to
 * reach the forwarder, which wants it a margin ahead. */
/* When window w (0: RX1, 1: RX2) opens after the uplink: RECEIVE_DELAY1/2, or JOIN_ACCEPT_DELAY1/2. */
static int64_t window_delay(int w, bool join)
{
	return w ? (join ? LW_JOIN_ACCEPT_DELAY2_MS : LW_RECEIVE_DELAY2_MS)
	         : (join ? LW_JOIN_ACCEPT_DELAY1_MS : LW_RECEIVE_DELAY1_MS);
}

static int64_t window_cutoff(lw_ns_udp_t *ns, const struct dev *d, int w, bool join)
{
	int64_t margin = w ? LW_NS_RX2_MARGIN_MS : LW_NS_RX1_MARGIN_MS;
	return d->rx_at_ms + window_delay(w, join) - 2 * backhaul_ms(ns, d->path.eui) - margin;
}

/* The window a downlink of len bytes can still make now, from first_window on: RX1 (or JOIN_ACCEPT_DELAY1),
 * else RX2. The duty cycle is checked without recording. Returns 0, -ETIMEDOUT (too late for both), -EAGAIN
 * (duty cycle in both), -EMSGSIZE (too long for the DR of the only window left). */
static int pick_window(lw_ns_udp_t *ns, const struct dev *d, size_t len, bool join, int first_window,
	int64_t *out_off, uint32_t *out_freq, unsigned *out_dr, int *out_window)
{
	int rc = -ETIMEDOUT;
	for (int w = first_window; w < 2; w++) {
		uint32_t freq;
		unsigned dr;
		struct lw_dr_info info;
		if (now_ms(ns) > window_cutoff(ns, d, w, join))
			continue;
		if (w == 0 && lw_region_rx1(ns->region, d->path.freq_hz, d->path.dr,
				      join ? 0 : ns->cfg->lorawan.rx1_dr_offset, &freq, &dr) != 0)
			continue;
		if (w == 1) {
			freq = ns->rx2_freq_hz;
			dr = ns->rx2_dr;
		}
		if (lw_region_dr(ns->region, dr, &info) != 0 || len > (size_t)info.max_m + 5) {
			rc = -EMSGSIZE;
			continue;
		}
		if (lw_dutycycle_try(ns->dc, freq, dr, len, now_ms(ns), false, NULL) != 0) {
			rc = -EAGAIN;
			continue;
		}
		*out_off = window_delay(w, join);
		*out_freq = freq;
		*out_dr = dr;
		*out_window = w;
		return 0;
	}
	return rc;
}

/* Hands phy to the best forwarder for the chosen window, records the airtime, arms the TX_ACK wait. */
static int transmit(struct dev *d, const uint8_t *phy, size_t len, int64_t off, uint32_t freq, unsigned dr, int window)
{
	lw_ns_udp_t *ns = d->ns;
	lpw_txpk_t tx;
	int rc = make_txpk(ns, d, off, freq, dr, phy, len, &tx);
	if (rc == 0)
		rc = lpw_pktfwd_send(ns->pf, d->path.eui, &tx, &d->tx_token);
	if (rc) {
		ns->c.tx_failures++;
		LPW_WARN(MOD, "device %s: downlink not handed to forwarder %016llx (%s)", dcfg(d)->id,
			 (unsigned long long)d->path.eui, strerror(-rc));
		return rc;
	}
	if (lw_dutycycle_try(ns->dc, freq, dr, len, now_ms(ns), true, NULL) != 0)
		LPW_DEBUG(MOD, "device %s: duty cycle record refused after the check", dcfg(d)->id);
	ns->c.downlinks_sent++;
	d->inflight = true;
	d->tx_eui = d->path.eui;
	d->tx_window = window;
	d->tx_at_ms = now_ms(ns);
	memcpy(d->tx_phy, phy, len);
	d->tx_len = len;
	ns->by_token[d->tx_token % LW_NS_TOKEN_SLOTS] = d;
	if (lpw_loop_timer_in(ns->loop, &d->txack_timer, LW_NS_TXACK_WAIT_MS) != 0)
		LPW_WARN(MOD, "device %s: cannot arm the TX_ACK timer", dcfg(d)->id);
	LPW_DEBUG(MOD, "device %s: downlink of %zu bytes at tmst %u, %.6f MHz DR%u", dcfg(d)->id, len, tx.tmst, tx.freq,
		  dr);
	return 0;
}

static void close_window(struct dev *d)
{
	d->window = false;
	d->need_ack = false;
	d->force_dl = false;
	d->mac_ans_len = 0;
	lpw_loop_timer_clear(d->ns->loop, &d->rx_timer);
}

/* The PHYPayload size of a data downlink (MHDR + FHDR + FOpts + FPort + payload + MIC). */
static size_t data_len(size_t fopts, bool fport, size_t payload)
{
	return 8 + fopts + (fport ? 1 + payload : 0) + LW_MIC_LEN;
}

/* Sends what the open window should carry: the application's downlink if one waits, else an empty ACK / MAC
 * answers when app_only is false. The window closes once something went out. */
static void serve_window(struct dev *d, bool app_only)
{
	lw_ns_udp_t *ns = d->ns;
	bool app = d->pending;
	if (!d->window || d->inflight || (!app && (app_only || (!d->need_ack && !d->mac_ans_len && !d->force_dl))))
		return;
	uint8_t fopts_len = d->mac_ans_len;
	int64_t off;
	uint32_t freq;
	unsigned dr;
	int win;
	int rc = pick_window(ns, d, data_len(fopts_len, app, app ? d->dl_len : 0), false, 0, &off, &freq, &dr, &win);
	if (rc == -EMSGSIZE && fopts_len) /* MAC answers are best effort: the payload matters more */
		rc = pick_window(ns, d, data_len(fopts_len = 0, app, app ? d->dl_len : 0), false, 0, &off, &freq, &dr,
				 &win);
	if (rc == -ETIMEDOUT || (rc == -EMSGSIZE && app)) {
		if (rc == -ETIMEDOUT)
			close_window(d);
		return; /* the application's downlink waits for the next uplink */
	}
	struct lw_downlink dl = {
		.confirmed = app && d->dl_confirmed,
		.ack = d->need_ack,
		.fpending = app && d->dl_more,
		.fopts = d->mac_ans,
		.fopts_len = fopts_len,
		.has_fport = app,
		.fport = d->dl_fport,
		.payload = app ? d->dl_data : NULL,
		.payload_len = app ? d->dl_len : 0,
	};
	uint8_t phy[LW_PHY_MAX];
	size_t len = 0;
	if (rc == 0 && (rc = lw_session_downlink(d->s, &dl, phy, sizeof(phy), &len, NULL)) == 0)
		rc = transmit(d, phy, len, off, freq, dr, win);
	close_window(d);
	if (rc == -EAGAIN)
		ns->c.tx_failures++;
	if (rc && app) {
		d->pending = false;
		LPW_WARN(MOD, "device %s: downlink %u failed (%s)", dcfg(d)->id, d->handle, strerror(-rc));
		report(d, d->handle, LW_TX_FAILED);
		return;
	}
	d->inflight_app = rc == 0 && app;
	if (d->inflight_app)
		d->pending = false;
}

/* --- answers the network server gives on its own ------------------------------------------------------------ */

static void add_answer(struct dev *d, const uint8_t *ans, size_t len)
{
	if (d->mac_ans_len + len > sizeof(d->mac_ans)) {
		LPW_INFO(MOD, "device %s: MAC answer dropped: FOpts full", dcfg(d)->id);
		return;
	}
	memcpy(d->mac_ans + d->mac_ans_len, ans, len);
	d->mac_ans_len = (uint8_t)(d->mac_ans_len + len);
}

/* Wall time, not the loop's clock: DeviceTimeAns carries the time of day, never a timer. */
static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the network asks of the device (channel plan, ADR, DevStatus), after the answers to its own requests:
 * the device's answers to earlier requests are in cmds. */
static void request_mac(struct dev *d, const struct lw_mac_cmd *cmds, size_t n)
{
	lw_ns_udp_t *ns = d->ns;
	struct lw_ns_mac_uplink up = { .fcnt = d->up_fcnt, .dr = d->path.dr, .snr_ddb = (int)lround(d->path.snr * 10),
				       .adr = d->up_adr && dcfg(d)->lorawan.adr, .adr_ack_req = d->up_adr_ack_req };
	uint8_t req[LW_FOPTS_MAX];
	bool gave_up = d->mac.gave_up, owed = false;
	size_t len = lw_ns_mac_uplink(&d->mac, &ns->mac_cfg, &up, cmds, n, req, sizeof(d->mac_ans) - d->mac_ans_len,
				      &owed, &ns->mac_c);
	if (len)
		add_answer(d, req, len);
	d->force_dl = owed;
	if (!gave_up && d->mac.gave_up)
		LPW_WARN(MOD, "device %s: %u MAC requests in a row unanswered or refused; ADR stops until it joins again",
			 dcfg(d)->id, LWNS_MAC_MAX_UNANSWERED);
}

static void answer_mac(struct dev *d)
{
	lw_ns_udp_t *ns = d->ns;
	struct lw_mac_cmd cmds[16];
	size_t n = 0, len;
	uint8_t ans[8];
	const char *why = NULL;
	if (lw_mac_parse_uplink(d->mac_in, d->mac_in_len, cmds, 16, &n, &ns->mac_counters, &why) != 0)
		LPW_INFO(MOD, "device %s: MAC commands: %s (kept %zu)", dcfg(d)->id, why ? why : "?", n);
	for (size_t i = 0; i < n; i++) {
		if (cmds[i].cid == LW_CID_LINK_CHECK) {
			int snr = (int)lround(d->path.snr * 10);
			if (lw_mac_build_link_check_ans(ns->region, d->path.dr, snr, d->copies, ans, sizeof(ans), &len) == 0)
				add_answer(d, ans, len);
		} else if (cmds[i].cid == LW_CID_DEVICE_TIME) {
			uint64_t gps;
			/* §5.9: the time at the end of the uplink, i.e. when its first copy arrived */
			int64_t at = wall_ms() - (now_ms(ns) - d->rx_at_ms) - backhaul_ms(ns, d->path.eui);
			if (lw_mac_gps_ms_from_unix_ms(at, LW_NS_LEAP_SECONDS, &gps) == 0 &&
			    lw_mac_build_device_time_ans(gps, ans, sizeof(ans), &len) == 0)
				add_answer(d, ans, len);
		}
	}
	request_mac(d, cmds, n);
}

/* --- uplinks ------------------------------------------------------------------------------------------------ */

static void send_join_accept(struct dev *d)
{
	lw_ns_udp_t *ns = d->ns;
	int64_t off;
	uint32_t freq;
	unsigned dr;
	int win;
	/* lw_session_join wrote the whole PHYPayload, MHDR included */
	int rc = pick_window(ns, d, d->join_accept_len, true, 0, &off, &freq, &dr, &win);
	if (rc == 0)
		rc = transmit(d, d->join_accept, d->join_accept_len, off, freq, dr, win);
	else
		ns->c.tx_failures++;
	if (rc)
		LPW_WARN(MOD, "device %s: Join-Accept not sent (%s)", dcfg(d)->id, strerror(-rc));
	d->join_accept_len = 0;
}

/* The dedup window is over: answer MAC commands, tell the application server, open the RX windows. */
static void finish_uplink(lpw_timer_t *t, int64_t now)
{
	struct dev *d = lpw_container_of(t, struct dev, dedup_timer);
	lw_ns_udp_t *ns = d->ns;
	d->collecting = false;
	if (d->is_join) {
		send_join_accept(d);
		return;
	}
	ns->c.uplinks++;
	answer_mac(d);
	d->window = true;
	int64_t deadline = window_cutoff(ns, d, 1, false);
	/* the window is open before the hooks run: a send() from inside them goes out at once */
	bool answer_may_follow = false;
	if (d->has_fport && d->fport >= 1 && d->up_len && ns->hooks.uplink)
		answer_may_follow = ns->hooks.uplink(ns->hooks.as, d->h, d->fport, d->up_data, d->up_len, d->up_confirmed);
	if (ns->hooks.rx_open)
		ns->hooks.rx_open(ns->hooks.as, d->h, deadline);
	serve_window(d, true);
	if (!d->window || (!d->need_ack && !d->mac_ans_len && !d->force_dl))
		return;
	/* LoRaWAN 1.0.x §4.3.1.2: a confirmed uplink is acknowledged; MAC answers go with it. When nothing else can
	 * come (no application data, or nothing the application answers), now, in RX1; else the application's
	 * answer may carry them until shortly before the RX2 cutoff. */
	int64_t at = answer_may_follow ? deadline - LW_NS_TIMER_SLACK_MS : now;
	if (at <= now || lpw_loop_timer_in(ns->loop, &d->rx_timer, at - now) != 0)
		serve_window(d, false);
}

static void rx_deadline(lpw_timer_t *t, int64_t now)
{
	serve_window(lpw_container_of(t, struct dev, rx_timer), false);
}

/* A copy of the uplink d is collecting: keep the best path (SNR, then RSSI). */
static void merge_copy(struct dev *d, const struct rx_path *p)
{
	d->copies++;
	d->ns->c.duplicates++;
	if (p->snr > d->path.snr || (p->snr == d->path.snr && p->rssi > d->path.rssi))
		d->path = *p;
}

/* Whether phy is a copy of d's last uplink, merged (in the dedup window) or counted (late copy). */
static bool is_copy(struct dev *d, const uint8_t *phy, size_t len, const struct rx_path *p)
{
	int64_t late = d->is_join ? LW_JOIN_ACCEPT_DELAY1_MS : LW_RECEIVE_DELAY1_MS;
	if (len != d->phy_len || memcmp(phy, d->phy, len) != 0 || now_ms(d->ns) - d->rx_at_ms >= late)
		return false;
	if (d->collecting)
		merge_copy(d, p);
	else
		d->ns->c.duplicates++;
	return true;
}

static void start_collecting(struct dev *d, const uint8_t *phy, size_t len, const struct rx_path *p, bool join)
{
	lw_ns_udp_t *ns = d->ns;
	memcpy(d->phy, phy, len);
	d->phy_len = len;
	d->path = *p;
	d->copies = 1;
	d->rx_at_ms = now_ms(ns);
	d->is_join = join;
	d->collecting = true;
	if (lpw_loop_timer_in(ns->loop, &d->dedup_timer, ns->cfg->lorawan.dedup_ms) != 0)
		finish_uplink(&d->dedup_timer, now_ms(ns));
}

/* The ACK bit (or its absence) in the first uplink after a confirmed downlink decides its fate. */
static void settle_confirmed(struct dev *d, bool ack)
{
	if (!d->await_ack)
		return;
	d->await_ack = false;
	ack ? d->ns->c.acked++ : d->ns->c.not_acked++;
	report(d, d->handle, ack ? LW_TX_ACKED : LW_TX_FAILED);
}

static void accept_data(struct dev *d, const struct lw_uplink *up, const uint8_t *payload)
{
	d->warned_replay = false;
	settle_confirmed(d, up->ack);
	d->up_confirmed = up->confirmed;
	d->need_ack = up->confirmed;
	d->has_fport = up->has_fport;
	d->fport = up->fport;
	d->up_len = up->has_fport && up->fport > 0 ? up->payload_len : 0;
	memcpy(d->up_data, payload, d->up_len);
	d->mac_in_len = up->mac ? up->mac_len : 0; /* no FOpts: NULL */
	d->up_fcnt = up->fcnt;
	d->up_adr = up->adr;
	d->up_adr_ack_req = up->adr_ack_req;
	if (d->mac_in_len)
		memcpy(d->mac_in, up->mac, d->mac_in_len);
}

/* The device table key of a DevAddr: its 4 bytes, little-endian as on the air. */
static size_t devaddr_key(uint32_t addr, uint8_t out[4])
{
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(addr >> (8 * i));
	return 4;
}

/* The device's DevAddr becomes its key in the device table: one hash lookup per uplink. DevAddrs are unique
 * among this server's devices (OTAA ones are allocated from the store, ABP ones are checked when added). */
static int index_devaddr(struct dev *d)
{
	uint8_t key[4];
	if (!d->s || !lw_session_joined(d->s))
		return d->ns->host->set_key(d->ns->host->ctx, d->h, NULL, 0);
	int rc = d->ns->host->set_key(d->ns->host->ctx, d->h, key, devaddr_key(lw_session_dev_addr(d->s), key));
	if (rc == -EEXIST)
		LPW_ERR(MOD, "device %s: DevAddr %08x is another device's too; its uplinks go to that one", dcfg(d)->id,
			lw_session_dev_addr(d->s));
	return rc;
}

/* A data uplink: the session with the frame's DevAddr, if its MIC verifies. */
static void data_uplink(lw_ns_udp_t *ns, const struct lw_frame *f, const struct rx_path *p)
{
	uint8_t payload[LW_PHY_MAX], key[4];
	lpw_device_t *h = ns->host->find_key(ns->host->ctx, LPW_BINDING_LORAWAN, key, devaddr_key(f->u.data.dev_addr, key));
	struct dev *d = h ? dev_of(h) : NULL;
	if (!d || !d->s || !lw_session_joined(d->s)) {
		ns->c.unknown_devaddr++;
		ns->host->dropped(ns->host->ctx, LPW_BINDING_LORAWAN);
		LPW_DEBUG(MOD, "uplink from unknown DevAddr %08x", f->u.data.dev_addr);
		return;
	}
	if (is_copy(d, f->phy, f->phy_len, p))
		return;
	struct lw_uplink up;
	int rc = lw_session_uplink(d->s, f, payload, sizeof(payload), &up);
	if (rc == -EBADMSG) {
		ns->c.mic_failures++;
		LPW_INFO(MOD, "uplink for DevAddr %08x: the MIC does not match device %s", f->u.data.dev_addr, dcfg(d)->id);
		return;
	}
	if (rc == -ERANGE || (rc && rc != -EALREADY)) {
		ns->c.replays += rc == -ERANGE;
		uint32_t last = 0;
		bool have_last = lw_session_fcnt_up(d->s, &last);
		if (!d->warned_replay && rc == -ERANGE)
			LPW_WARN(MOD, "device %s: uplink FCnt %u dropped: replayed or too far ahead of the last accepted %s%u "
				 "(wire value %u)", dcfg(d)->id, up.fcnt, have_last ? "" : "(none) ", last, f->u.data.fcnt);
		else if (!d->warned_replay)
			LPW_WARN(MOD, "device %s: uplink FCnt %u dropped (%s)", dcfg(d)->id, f->u.data.fcnt, strerror(-rc));
		d->warned_replay = true;
		return;
	}
	/* The same FCnt again: the device did not hear our answer. It is acknowledged again, and its payload goes
	 * to the application again, whose duplicate detection answers it from its cache (LwM2M App. C.3.1.1). */
	if (rc == -EALREADY)
		ns->c.retransmissions++;
	close_window(d); /* a new uplink: the old windows are gone */
	accept_data(d, &up, payload);
	start_collecting(d, f->phy, f->phy_len, p, false);
}

static struct dev *find_otaa(lw_ns_udp_t *ns, const uint8_t dev_eui[8])
{
	char hex[17];
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02X", dev_eui[i]);
	lpw_device_t *h = ns->host->find(ns->host->ctx, LPW_BINDING_LORAWAN, hex);
	struct dev *d = h ? dev_of(h) : NULL;
	return d && dcfg(d)->lorawan.otaa ? d : NULL;
}

/* The join parameters: a fresh DevAddr under the NetID's prefix, the configured RX settings. */
static int join_params(lw_ns_udp_t *ns, struct lw_join_params *jp)
{
	uint32_t prefix;
	unsigned bits;
	int rc = lw_devaddr_prefix_from_netid(ns->cfg->lorawan.net_id, &prefix, &bits);
	if (rc == 0)
		rc = lw_devaddr_alloc(ns->store, prefix, bits, &jp->dev_addr);
	jp->net_id = ns->cfg->lorawan.net_id;
	jp->rx1_dr_offset = (uint8_t)ns->cfg->lorawan.rx1_dr_offset;
	jp->rx2_dr = (uint8_t)ns->rx2_dr;
	jp->rx_delay_s = 1; /* RECEIVE_DELAY1: the timing this server schedules for */
	jp->cflist = ns->has_cflist ? ns->cflist : NULL;
	return rc;
}

static void join_request(lw_ns_udp_t *ns, const struct lw_frame *f, const struct rx_path *p)
{
	struct dev *d = find_otaa(ns, f->u.join.dev_eui);
	if (!d) {
		ns->c.unknown_dev_eui++;
		ns->host->dropped(ns->host->ctx, LPW_BINDING_LORAWAN);
		LPW_DEBUG(MOD, "Join-Request from an unknown DevEUI");
		return;
	}
	if (is_copy(d, f->phy, f->phy_len, p))
		return;
	/* the MIC first, so that a forged request costs no DevAddr */
	uint8_t mic[LW_MIC_LEN];
	if (lw_crypto_join_mic(dcfg(d)->lorawan.app_key, f->phy, f->mic_off, mic) != 0 ||
	    !lw_crypto_mic_equal(mic, f->mic)) {
		ns->c.mic_failures++;
		LPW_INFO(MOD, "device %s: Join-Request with a bad MIC", dcfg(d)->id);
		return;
	}
	struct lw_join_params jp = { 0 };
	size_t len = 0;
	int rc = join_params(ns, &jp);
	if (rc == 0)
		rc = lw_session_join(d->s, f, &jp, d->join_accept, sizeof(d->join_accept), &len);
	if (rc) {
		ns->c.join_refused++;
		LPW_WARN(MOD, "device %s: Join-Request refused (%s)", dcfg(d)->id,
			 rc == -EALREADY ? "DevNonce already used" : strerror(-rc));
		return;
	}
	ns->c.joins++;
	d->join_accept_len = len;
	lw_ns_mac_reset(&d->mac, true); /* the Join-Accept told it the plan */
	index_devaddr(d);
	d->warned_replay = false;
	LPW_NOTICE(MOD, "device %s: joined, DevAddr %08x", dcfg(d)->id, jp.dev_addr);
	if (d->await_ack) /* the old session's confirmed downlink can no longer be acknowledged */
		settle_confirmed(d, false);
	close_window(d);
	start_collecting(d, f->phy, f->phy_len, p, true);
	if (ns->hooks.joined)
		ns->hooks.joined(ns->hooks.as, d->h);
}

static void on_uplink(void *arg, uint64_t eui, const lpw_rxpk_t *rx)
{
	lw_ns_udp_t *ns = arg;
	struct lw_frame f;
	const char *why = "FSK";
	struct rx_path p = { .eui = eui, .tmst = rx->tmst, .freq_hz = (uint32_t)llround(rx->freq * 1e6),
			     .snr = rx->lsnr, .rssi = rx->rssi };
	if (rx->stat != 1) { /* CRC failed or absent: LoRaWAN uplinks always carry one */
		ns->c.malformed++;
		return;
	}
	if (rx->modu != LPW_MODU_LORA ||
	    lw_region_dr_from_lora(ns->region, true, rx->sf, (uint32_t)rx->bw_khz * 1000, &p.dr) != 0 ||
	    lw_frame_parse(rx->data, rx->size, &f, &why) != 0 || !lw_mtype_is_uplink(f.mtype)) {
		ns->c.malformed++;
		if (ns->stats)
			ns->stats->dropped_malformed++;
		LPW_DEBUG(MOD, "uplink from forwarder %016llx dropped: %s", (unsigned long long)eui,
			  why ? why : "not an uplink or no such data rate");
		return;
	}
	if (f.mtype == LW_MTYPE_JOIN_REQUEST)
		join_request(ns, &f, &p);
	else
		data_uplink(ns, &f, &p);
}

/* --- TX_ACK ------------------------------------------------------------------------------------------------- */

/* The forwarder took the downlink (or said nothing for LW_NS_TXACK_WAIT_MS). */
static void handed_over(struct dev *d, bool ok)
{
	bool app = d->inflight_app;
	lpw_loop_timer_clear(d->ns->loop, &d->txack_timer);
	d->inflight = d->inflight_app = false;
	if (!app)
		return;
	if (!ok)
		report(d, d->handle, LW_TX_FAILED);
	else if (d->dl_confirmed)
		d->await_ack = true;
	else
		report(d, d->handle, LW_TX_SENT);
}

static void txack_timeout(lpw_timer_t *t, int64_t now)
{
	struct dev *d = lpw_container_of(t, struct dev, txack_timer);
	LPW_DEBUG(MOD, "device %s: no TX_ACK from forwarder %016llx; taken as sent", dcfg(d)->id,
		  (unsigned long long)d->tx_eui);
	handed_over(d, true);
}

/* LoRaWAN retries nothing itself: a frame the forwarder got too late for RX1 goes again for RX2, same bytes. */
static bool retry_in_rx2(struct dev *d)
{
	lw_ns_udp_t *ns = d->ns;
	int64_t off;
	uint32_t freq;
	unsigned dr;
	int win;
	uint8_t phy[LW_PHY_MAX];
	size_t len = d->tx_len;
	if (d->tx_window != 0 || pick_window(ns, d, len, d->is_join, 1, &off, &freq, &dr, &win) != 0)
		return false;
	memcpy(phy, d->tx_phy, len);
	lpw_loop_timer_clear(ns->loop, &d->txack_timer);
	d->inflight = false;
	if (transmit(d, phy, len, off, freq, dr, win) != 0)
		return false;
	ns->c.rx2_fallbacks++;
	LPW_INFO(MOD, "device %s: too late for RX1 at forwarder %016llx; sent for RX2", dcfg(d)->id,
		 (unsigned long long)d->path.eui);
	return true;
}

static void on_tx_ack(void *arg, uint64_t eui, uint16_t token, lpw_txack_error_t err)
{
	lw_ns_udp_t *ns = arg;
	struct dev *d = ns->by_token[token % LW_NS_TOKEN_SLOTS];
	if (!d || !d->inflight || d->tx_eui != eui || d->tx_token != token)
		return;
	ns->by_token[token % LW_NS_TOKEN_SLOTS] = NULL;
	learn_backhaul(ns, eui, now_ms(ns) - d->tx_at_ms);
	if (err == LPW_TXACK_TOO_LATE && retry_in_rx2(d))
		return;
	if (err != LPW_TXACK_NONE) {
		ns->c.tx_failures++;
		LPW_WARN(MOD, "device %s: forwarder %016llx refused the downlink: %s", dcfg(d)->id,
			 (unsigned long long)eui, lpw_txack_error_name(err));
	}
	handed_over(d, err == LPW_TXACK_NONE);
}

static void on_forwarder_state(void *arg, uint64_t eui, bool up)
{
	LPW_NOTICE(MOD, "forwarder %016llx is %s", (unsigned long long)eui, up ? "up" : "down");
}

/* A datagram the link refused: a malformed one is malformed input for the gateway too (issue 16.5). The link
 * keeps every reason's count; report() publishes them. */
static void on_refused(void *arg, uint64_t eui, lpw_pktfwd_refusal_t why)
{
	lw_ns_udp_t *ns = arg;
	if (why == LPW_PKTFWD_REFUSED_MALFORMED && ns->stats)
		ns->stats->dropped_malformed++;
}

/* stats.forwarders in telemetry: the link's counters, per reason and per forwarder. */
static void report_forwarders(void *arg, json_t *obj)
{
	lw_ns_udp_t *ns = arg;
	json_t *r = lpw_pktfwd_report(ns->pf);
	if (r)
		json_object_update(obj, r);
	json_decref(r);
}

/* --- the lw_ns_ops_t ---------------------------------------------------------------------------------------- */

/* FRMPayload limit (N) at the RX1 DR of the last uplink; before any uplink, at the RX2 DR. */
static size_t dev_max_payload(lw_ns_udp_t *ns, const struct dev *d)
{
	uint32_t freq;
	unsigned dr = ns->rx2_dr;
	struct lw_dr_info info;
	if (d->phy_len && !d->is_join &&
	    lw_region_rx1(ns->region, d->path.freq_hz, d->path.dr, ns->cfg->lorawan.rx1_dr_offset, &freq, &dr) != 0)
		dr = ns->rx2_dr;
	return lw_region_dr(ns->region, dr, &info) == 0 ? info.max_n : 0;
}

static size_t op_max_payload(void *self, const lpw_device_t *h)
{
	struct dev *d = dev_of(h);
	return d ? dev_max_payload(self, d) : 0;
}

/* The largest N of any data rate the region defines. */
static size_t op_max_payload_ever(void *self, const lpw_device_t *h)
{
	lw_ns_udp_t *ns = self;
	struct lw_dr_info info;
	size_t best = 0;
	for (unsigned dr = 0; dr < 16; dr++)
		if (lw_region_dr(ns->region, dr, &info) == 0 && !info.fsk && info.max_n > best)
			best = info.max_n;
	return best;
}

static int op_send(void *self, lpw_device_t *h, uint8_t fport, const uint8_t *data, size_t len,
	bool confirmed, bool more, uint32_t *out_handle)
{
	lw_ns_udp_t *ns = self;
	struct dev *d = dev_of(h);
	if (!d || fport == 0 || fport > 223 || (len && !data) || !out_handle)
		return d ? -EINVAL : -ENOENT;
	if (!lw_session_joined(d->s))
		return -ENOTCONN;
	if (d->pending || d->inflight_app || d->await_ack)
		return -EBUSY;
	if (len > dev_max_payload(ns, d))
		return -EMSGSIZE;
	memcpy(d->dl_data, data, len);
	d->dl_len = len;
	d->dl_fport = fport;
	d->dl_confirmed = confirmed;
	d->dl_more = more;
	d->handle = ++ns->next_handle ? ns->next_handle : ++ns->next_handle; /* 0 is never a handle */
	d->pending = true;
	*out_handle = d->handle;
	if (!d->collecting) /* during dedup the window is not open yet: finish_uplink serves it */
		serve_window(d, true);
	return 0;
}

static void op_free(void *self)
{
	lw_ns_udp_t *ns = self;
	if (!ns)
		return;
	const lw_ns_udp_counters_t *c = &ns->c;
	LPW_NOTICE(MOD, "network server: %llu uplinks, %llu duplicates, %llu retransmissions, %llu replays, "
			"%llu MIC failures, %llu unknown DevAddr, %llu joins (%llu refused), %llu malformed, "
			"%llu downlinks, %llu tx failures, %llu acked, %llu not acked",
		   (unsigned long long)c->uplinks, (unsigned long long)c->duplicates,
		   (unsigned long long)c->retransmissions, (unsigned long long)c->replays,
		   (unsigned long long)c->mic_failures, (unsigned long long)c->unknown_devaddr,
		   (unsigned long long)c->joins, (unsigned long long)c->join_refused, (unsigned long long)c->malformed,
		   (unsigned long long)c->downlinks_sent, (unsigned long long)c->tx_failures,
		   (unsigned long long)c->acked, (unsigned long long)c->not_acked);
	if (c->rx2_fallbacks)
		LPW_NOTICE(MOD, "network server: %llu downlinks sent again for RX2 after TOO_LATE",
			   (unsigned long long)c->rx2_fallbacks);
	const struct lw_ns_mac_counters *m = &ns->mac_c;
	if (m->link_adr_sent)
		LPW_NOTICE(MOD, "network server: LinkADRReq %llu sent, %llu acknowledged, %llu refused; %llu requests "
				"unanswered, %llu devices left alone; %llu DevStatusAns",
			   (unsigned long long)m->link_adr_sent, (unsigned long long)m->link_adr_acked,
			   (unsigned long long)m->link_adr_refused, (unsigned long long)m->unanswered,
			   (unsigned long long)m->gave_up, (unsigned long long)m->dev_status);
	if (ns->stats)
		lpw_stats_del_source(ns->stats, ns);
	lpw_pktfwd_free(ns->pf);
	while (ns->devs)
		op_device_remove(ns, ns->devs->h);
	lw_dutycycle_free(ns->dc);
	free(ns);
}

static int hex_eui(const char *hex, uint8_t out[8])
{
	for (size_t i = 0; i < 8; i++) {
		unsigned v;
		if (!hex || sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int open_session(lw_ns_udp_t *ns, struct dev *d)
{
	const lpw_config_device_t *cfg = dcfg(d);
	const lpw_config_lorawan_device_t *lc = &cfg->lorawan;
	struct lw_session_config sc = { .store = ns->store, .device_id = cfg->id, .otaa = lc->otaa,
					.abp_dev_addr = lc->dev_addr };
	char err[256];
	if (hex_eui(cfg->identity, d->dev_eui) != 0)
		return -EINVAL;
	memcpy(sc.dev_eui, d->dev_eui, 8);
	memcpy(sc.app_eui, lc->join_eui, 8);
	memcpy(sc.app_key, lc->app_key, LW_KEY_LEN);
	memcpy(sc.abp_nwk_skey, lc->nwk_s_key, LW_KEY_LEN);
	memcpy(sc.abp_app_skey, lc->app_s_key, LW_KEY_LEN);
	d->s = lw_session_open(&sc, err, sizeof(err));
	explicit_bzero(&sc, sizeof(sc));
	if (!d->s) {
		LPW_ERR(MOD, "device %s: %s", cfg->id, err);
		return -EIO;
	}
	return 0;
}

static void op_device_remove(void *self, lpw_device_t *h)
{
	lw_ns_udp_t *ns = self;
	struct dev *d = dev_of(h);
	if (!d)
		return;
	lpw_loop_timer_clear(ns->loop, &d->dedup_timer);
	lpw_loop_timer_clear(ns->loop, &d->rx_timer);
	lpw_loop_timer_clear(ns->loop, &d->txack_timer);
	if (ns->by_token[d->tx_token % LW_NS_TOKEN_SLOTS] == d)
		ns->by_token[d->tx_token % LW_NS_TOKEN_SLOTS] = NULL;
	ns->host->set_key(ns->host->ctx, h, NULL, 0);
	lw_session_close(d->s); /* counters and the OTAA session stay in the store */
	if (d->prev)
		d->prev->next = d->next;
	else
		ns->devs = d->next;
	if (d->next)
		d->next->prev = d->prev;
	ns->ndevs--;
	lpw_device_set_slot(h, LPW_SLOT_NETWORK, NULL);
	free(d);
}

static int op_device_add(void *self, lpw_device_t *h)
{
	lw_ns_udp_t *ns = self;
	struct dev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->ns = ns;
	d->h = h;
	lpw_timer_init(&d->dedup_timer, finish_uplink);
	lpw_timer_init(&d->rx_timer, rx_deadline);
	lpw_timer_init(&d->txack_timer, txack_timeout);
	int rc = open_session(ns, d);
	if (rc) {
		free(d);
		return rc;
	}
	/* an ABP device has only the region's default channels until told more */
	lw_ns_mac_reset(&d->mac, !ns->mac_cfg.plan.n_extra);
	lpw_device_set_slot(h, LPW_SLOT_NETWORK, d);
	d->next = ns->devs;
	if (ns->devs)
		ns->devs->prev = d;
	ns->devs = d;
	ns->ndevs++;
	rc = index_devaddr(d);
	if (rc < 0 && rc != -EEXIST) {
		op_device_remove(ns, h);
		return rc;
	}
	return 0;
}

/* Region, RX2, listen address and dedup timing are read at start; what changes needs a restart. */
static int op_reconfigure(void *self, const lpw_config_t *cfg, FILE *report)
{
	lw_ns_udp_t *ns = self;
	const lpw_config_lorawan_t *o = &ns->cfg->lorawan, *n = &cfg->lorawan;
	int restart = 0;
	if (strcmp(o->listen ? o->listen : "", n->listen ? n->listen : "") != 0 || o->port != n->port ||
	    o->region != n->region || o->rx2_dr != n->rx2_dr || o->rx2_freq_hz != n->rx2_freq_hz ||
	    o->net_id != n->net_id) {
		fprintf(report, "bindings.lorawan: listen, port, region, net_id and RX2 keep their values until a restart\n");
		restart++;
	}
	if (o->sub_band != n->sub_band || o->nchannels != n->nchannels ||
	    memcmp(o->channels_hz, n->channels_hz, sizeof(o->channels_hz)) != 0) {
		fprintf(report, "bindings.lorawan: the channel plan (channels, sub_band) keeps its value until a restart\n");
		restart++;
	}
	ns->cfg = cfg; /* dedup_ms, rx1_dr_offset, forwarder timeout, ADR settings: at once */
	ns->mac_cfg.adr = n->adr;
	ns->mac_cfg.adr_params.margin_ddb = (int)n->adr_margin_db * 10;
	ns->mac_cfg.adr_params.history = n->adr_history;
	return restart;
}

static int op_reset_session(void *self, lpw_device_t *h)
{
	(void)self;
	struct dev *d = dev_of(h);
	if (!d || !d->s)
		return -ENOENT;
	int rc = lw_session_forget(d->s);
	if (rc == 0) {
		(void)index_devaddr(d); /* not joined: its DevAddr no longer finds it */
		LPW_NOTICE(MOD, "device %s: session forgotten; it must join again", dcfg(d)->id);
	}
	return rc;
}

static const lw_ns_ops_t ops = {
	.reset_session = op_reset_session,
	.send = op_send,
	.max_payload = op_max_payload,
	.max_payload_ever = op_max_payload_ever,
	.device_add = op_device_add,
	.device_remove = op_device_remove,
	.reconfigure = op_reconfigure,
	.free = op_free,
};

/* --- construction ------------------------------------------------------------------------------------------- */

/* The channel plan (its CFList for Join-Accepts) and the ADR settings. */
static int setup_plan(lw_ns_udp_t *ns)
{
	const lpw_config_lorawan_t *lc = &ns->cfg->lorawan;
	struct lw_ns_mac_cfg *m = &ns->mac_cfg;
	const char *why = NULL;
	*m = (struct lw_ns_mac_cfg){ .region = ns->region, .adr = lc->adr,
				     .adr_params = { .margin_ddb = (int)lc->adr_margin_db * 10,
						     .history = lc->adr_history, .max_dr = 15 } };
	for (size_t i = 0; i < lc->nchannels && i < LW_PLAN_MAX_EXTRA; i++)
		m->plan.extra_hz[m->plan.n_extra++] = lc->channels_hz[i];
	m->plan.sub_band = lc->sub_band;
	if (lw_region_plan_check(ns->region, &m->plan, &why) != 0) {
		LPW_ERR(MOD, "bindings.lorawan channel plan: %s", why ? why : "invalid");
		return -EINVAL;
	}
	int n = lw_region_cflist(ns->region, &m->plan, ns->cflist);
	ns->has_cflist = n > 0;
	return n < 0 ? n : 0;
}

static int setup_region(lw_ns_udp_t *ns)
{
	const lpw_config_lorawan_t *lc = &ns->cfg->lorawan;
	_Static_assert((int)LPW_REGION_AS923_4 == (int)LW_REGION_AS923_4 && (int)LPW_REGION_AU915 == (int)LW_REGION_AU915,
		       "config/config.h lists the regions in lw_region.h's order");
	ns->region = (enum lw_region_id)lc->region;
	if (lw_region_rx2(ns->region, &ns->rx2_freq_hz, &ns->rx2_dr) != 0)
		return -EINVAL;
	if (lc->rx2_freq_hz)
		ns->rx2_freq_hz = lc->rx2_freq_hz;
	if (lc->rx2_dr != UINT32_MAX)
		ns->rx2_dr = lc->rx2_dr;
	ns->dc = lw_dutycycle_new(ns->region, 0);
	return ns->dc ? setup_plan(ns) : -ENOMEM;
}

int lw_ns_udp_new(const lpw_binding_env_t *env, const lw_as_hooks_t *hooks, lw_ns_t *out)
{
	if (!env || !env->loop || !env->cfg || !env->store || !env->host || !hooks || !out)
		return -EINVAL;
	lw_ns_udp_t *ns = calloc(1, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	lpw_loop_t *loop = env->loop;
	const lpw_config_t *cfg = env->cfg;
	*ns = (lw_ns_udp_t){ .loop = loop, .cfg = cfg, .store = env->store, .hooks = *hooks, .stats = env->stats,
			     .host = env->host };
	int rc = setup_region(ns);
	if (rc == 0 && cfg->lorawan.gpio_chip &&
	    lpw_gpio_pulse(cfg->lorawan.gpio_chip, cfg->lorawan.gpio_line, cfg->lorawan.gpio_active_low,
			   cfg->lorawan.gpio_pulse_ms) != 0)
		LPW_ERR(MOD, "concentrator reset on %s line %u failed; going on (the forwarder may need a manual reset)",
			cfg->lorawan.gpio_chip, cfg->lorawan.gpio_line);
	lpw_pktfwd_config_t pc = { .listen_addr = cfg->lorawan.listen ? cfg->lorawan.listen : "0.0.0.0",
				   .port = cfg->lorawan.port,
				   .keepalive_timeout_s = cfg->lorawan.forwarder_timeout_s,
				   .listed = cfg->lorawan.forwarders, .nlisted = cfg->lorawan.nforwarders,
				   .refuse_unlisted = cfg->lorawan.only_listed_forwarders };
	lpw_pktfwd_hooks_t ph = { .uplink = on_uplink, .tx_ack = on_tx_ack, .forwarder_state = on_forwarder_state,
				  .refused = on_refused, .arg = ns };
	if (rc == 0 && !(ns->pf = lpw_pktfwd_new(loop, &pc, &ph)))
		rc = -EADDRINUSE;
	lpw_stats_source_t src = { .name = "forwarders", .report = report_forwarders, .arg = ns };
	if (rc == 0 && ns->stats && lpw_stats_add_source(ns->stats, &src) < 0)
		LPW_WARN(MOD, "no room for the forwarder counters in telemetry");
	if (rc) {
		op_free(ns);
		return rc;
	}
	LPW_INFO(MOD, "network server on %s port %u, %s", pc.listen_addr,
		 lpw_pktfwd_port(ns->pf), lw_region_name(ns->region));
	*out = (lw_ns_t){ .ops = &ops, .self = ns };
	return 0;
}

void lw_ns_udp_get_counters(const lw_ns_t *ns, lw_ns_udp_counters_t *out)
{
	*out = ((const lw_ns_udp_t *)ns->self)->c;
}

uint16_t lw_ns_udp_port(const lw_ns_t *ns)
{
	return lpw_pktfwd_port(((const lw_ns_udp_t *)ns->self)->pf);
}
