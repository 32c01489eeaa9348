/* lorawan-sim device: LoRaWAN 1.0.3 Class A MAC (join, frames, RX windows) under a device-sim LwM2M client.
 * The Appendix C uplink schedule lives in lwdev_sched.c. */
#include "tools/lorawan-sim/lwdev_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bindings/lorawan/lw_frame.h"
#include "core/log.h"
#include "tools/common/xorshift.h"

void lpw_lwdev_config_defaults(lpw_lwdev_config_t *cfg)
{
	*cfg = (lpw_lwdev_config_t){
		.region = LW_REGION_EU868,
		.dr = 5, /* SF7BW125 */
		.fport = 1,
		.uplink_interval_ms = 5000,
		.join_retry_ms = 10000,
		.rx_tolerance_us = 20000,
		.max_retransmit = LPW_LWDEV_MAX_RETRANSMIT,
		.auto_register = true,
	};
	lpw_devsim_config_defaults(&cfg->client);
	cfg->client.lifetime_s = 2592000; /* LwM2M table 6.8.4-1 default: 30 days */
	cfg->client.server_uri = "lorawan://1";
	cfg->client.retransmit = false;
}

json_t *lpw_lwdev_event_new(const char *name)
{
	return json_pack("{s:s}", "event", name);
}

void lpw_lwdev_emit(lpw_lwdev_t *dev, json_t *ev)
{
	if (!ev)
		return;
	json_object_set_new(ev, "dev", json_integer(dev->cfg.index));
	char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s && dev->cfg.on_event)
		dev->cfg.on_event(dev->cfg.event_arg, s);
	free(s);
	json_decref(ev);
}

void lpw_lwdev_emit_lost(lpw_lwdev_t *dev, const char *reason, int window)
{
	json_t *ev = lpw_lwdev_event_new("downlink-lost");
	json_object_set_new(ev, "reason", json_string(reason));
	if (window > 0)
		json_object_set_new(ev, "window", json_string(window == 1 ? "rx1" : "rx2"));
	lpw_lwdev_emit(dev, ev);
}

/* The client's own events, with "dev" added so that N devices can share one stdout. */
static void on_client_event(void *arg, const char *json)
{
	lpw_lwdev_t *dev = arg;
	size_t n = strlen(json);
	if (!dev->cfg.on_event || n < 2 || json[n - 1] != '}')
		return;
	char *s = malloc(n + 24);
	if (!s)
		return;
	snprintf(s, n + 24, "%.*s,\"dev\":%u}", (int)(n - 1), json, dev->cfg.index);
	dev->cfg.on_event(dev->cfg.event_arg, s);
	free(s);
}

static int client_link_send(void *ctx, const uint8_t *data, size_t len)
{
	return lpw_lwdev_enqueue(ctx, data, len);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", b[i]);
}

static int check_config(const lpw_lwdev_config_t *cfg, struct lw_dr_info *dr)
{
	if (!cfg->on_event || cfg->fport == 0 || cfg->fport > 223)
		return -EINVAL;
	if (lw_region_dr(cfg->region, cfg->dr, dr) < 0 || dr->fsk || dr->max_n < 4)
		return -EINVAL;
	return 0;
}

lpw_lwdev_t *lpw_lwdev_new(lpw_loop_t *loop, const lpw_lwdev_radio_t *radio, const lpw_lwdev_config_t *cfg)
{
	struct lw_dr_info dr;
	if (!loop || !radio || !radio->uplink || !cfg || check_config(cfg, &dr) < 0) {
		LPW_ERR("lwsim", "device: bad configuration");
		return NULL;
	}
	lpw_lwdev_t *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->loop = loop;
	dev->radio = *radio;
	dev->cfg = *cfg;
	if (!dev->cfg.max_retransmit)
		dev->cfg.max_retransmit = LPW_LWDEV_MAX_RETRANSMIT;
	dev->mtu = dr.max_n; /* MAC answers ride along only where they fit beside the payload */
	lpw_lwdev_plan_defaults(dev);
	hex(cfg->dev_eui, 8, dev->endpoint);
	uint32_t seed = cfg->dev_nonce_seed;
	if (!seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint32_t)lpw_loop_now(loop) ^ cfg->index;
	dev->nonce_state = seed ? seed : 1;
	dev->empty_mid = (uint16_t)(seed * 2654435761u);
	lpw_timer_init(&dev->tx_timer, lpw_lwdev_tick);
	for (int i = 0; i < 2; i++) {
		dev->rx[i].dev = dev;
		lpw_timer_init(&dev->rx[i].timer, lpw_lwdev_rx_due);
	}
	lpw_devsim_config_t ccfg = cfg->client;
	if (!ccfg.endpoint)
		ccfg.endpoint = dev->endpoint;
	ccfg.retransmit = false; /* LwM2M 1.1.1 §6.8.4: App. C replaces CoAP retransmission */
	ccfg.on_event = on_client_event;
	ccfg.event_arg = dev;
	lpw_devsim_link_t link = {.send = client_link_send, .fd = -1, .mtu = dev->mtu, .ctx = dev};
	dev->client = lpw_devsim_client_new(loop, &link, &ccfg);
	if (!dev->client) {
		free(dev);
		return NULL;
	}
	return dev;
}

void lpw_lwdev_free(lpw_lwdev_t *dev)
{
	if (!dev)
		return;
	lpw_devsim_client_free(dev->client);
	lpw_loop_timer_clear(dev->loop, &dev->tx_timer);
	for (int i = 0; i < 2; i++)
		lpw_loop_timer_clear(dev->loop, &dev->rx[i].timer);
	free(dev);
}

static void session_ready(lpw_lwdev_t *dev)
{
	dev->joined = true;
	dev->fcnt_up = 0;
	dev->have_down = false;
	if (dev->cfg.auto_register && lpw_devsim_client_register(dev->client) < 0)
		LPW_WARN("lwsim", "dev %u: register not queued", dev->cfg.index);
}

int lpw_lwdev_start(lpw_lwdev_t *dev, int64_t delay_ms)
{
	if (dev->started)
		return -EALREADY;
	dev->started = true;
	dev->start_at = lpw_loop_now(dev->loop) + (delay_ms > 0 ? delay_ms : 0);
	if (!dev->cfg.otaa) {
		dev->dev_addr = dev->cfg.dev_addr;
		memcpy(dev->nwk_skey, dev->cfg.nwk_skey, LW_KEY_LEN);
		memcpy(dev->app_skey, dev->cfg.app_skey, LW_KEY_LEN);
		dev->rx1_delay_s = 1;
		uint32_t rx2_freq;
		if (lw_region_rx2(dev->cfg.region, &rx2_freq, &dev->rx2_dr) < 0)
			return -EINVAL;
		session_ready(dev);
	}
	lpw_lwdev_schedule(dev);
	return 0;
}

lpw_devsim_client_t *lpw_lwdev_client(lpw_lwdev_t *dev)
{
	return dev->client;
}

void lpw_lwdev_send_empty(lpw_lwdev_t *dev)
{
	dev->empty_req = true;
	lpw_lwdev_schedule(dev);
}

bool lpw_lwdev_joined(const lpw_lwdev_t *dev)
{
	return dev->joined;
}

uint32_t lpw_lwdev_dev_addr(const lpw_lwdev_t *dev)
{
	return dev->joined ? dev->dev_addr : 0;
}

unsigned lpw_lwdev_index(const lpw_lwdev_t *dev)
{
	return dev->cfg.index;
}

uint32_t lpw_lwdev_fcnt_up(const lpw_lwdev_t *dev)
{
	return dev->fcnt_up;
}

/* ---- uplinks ---- */

/* Puts phy on the air; a new uplink closes every RX window of the previous one. 0 sent, 1 lost, -errno. */
static int transmit(lpw_lwdev_t *dev, const uint8_t *phy, size_t len, bool join)
{
	uint32_t freq = lpw_lwdev_next_freq(dev), tmst = 0;
	int rc = dev->radio.uplink(dev->radio.ctx, dev, phy, len, freq, dev->cfg.dr, &tmst);
	if (rc < 0)
		return rc;
	for (int i = 0; i < 2; i++) {
		lpw_loop_timer_clear(dev->loop, &dev->rx[i].timer);
		dev->rx[i].used = false;
	}
	dev->have_up = true;
	dev->up_join = join;
	dev->up_confirmed = !join && dev->cfg.confirmed;
	dev->up_ms = lpw_loop_now(dev->loop);
	dev->up_tmst = tmst;
	dev->up_freq = freq;
	dev->rx1_got = false;
	return rc;
}

static uint16_t fresh_dev_nonce(lpw_lwdev_t *dev)
{
	for (;;) {
		/* a DevNonce the network has seen from us must never come again (1.0.3 §6.2.4) */
		uint16_t n = (uint16_t)(lpw_xorshift32(&dev->nonce_state) >> 8);
		bool seen = false;
		for (size_t i = 0; i < dev->n_used && i < LWDEV_NONCE_HISTORY; i++)
			seen |= dev->used_nonces[i] == n;
		if (!seen) {
			dev->used_nonces[dev->n_used++ % LWDEV_NONCE_HISTORY] = n;
			return n;
		}
	}
}

int lpw_lwdev_send_join(lpw_lwdev_t *dev)
{
	struct lw_join_request jr;
	uint8_t phy[LW_JOIN_REQUEST_LEN];
	memcpy(jr.app_eui, dev->cfg.join_eui, 8);
	memcpy(jr.dev_eui, dev->cfg.dev_eui, 8);
	jr.dev_nonce = fresh_dev_nonce(dev);
	int rc = lw_frame_build_join_request(&jr, NULL, phy, sizeof(phy));
	if (rc == 0)
		rc = lw_crypto_join_mic(dev->cfg.app_key, phy, LW_JOIN_REQUEST_LEN - LW_MIC_LEN,
					phy + LW_JOIN_REQUEST_LEN - LW_MIC_LEN);
	if (rc == 0)
		rc = transmit(dev, phy, sizeof(phy), true);
	if (rc < 0)
		return rc;
	dev->dev_nonce = jr.dev_nonce;
	json_t *ev = lpw_lwdev_event_new("join-request");
	json_object_set_new(ev, "deveui", json_string(dev->endpoint));
	json_object_set_new(ev, "devnonce", json_integer(jr.dev_nonce));
	if (rc == 1)
		json_object_set_new(ev, "lost", json_true());
	lpw_lwdev_emit(dev, ev);
	return 0;
}

int lpw_lwdev_send_data(lpw_lwdev_t *dev, const uint8_t *coap, size_t len, const char *kind)
{
	uint8_t enc[LW_PHY_MAX], phy[LW_PHY_MAX];
	size_t plen;
	/* the MAC answers owed go in FOpts when they fit beside the payload, else with a later uplink */
	bool fopts = dev->mac_out_len && len + dev->mac_out_len <= dev->mtu;
	struct lw_data_frame f = {
		.dev_addr = dev->dev_addr,
		.adr = dev->cfg.adr,
		.fopts_len = fopts ? (uint8_t)dev->mac_out_len : 0,
		.fopts = fopts ? dev->mac_out : NULL,
		.ack = dev->need_ack, /* answers a ConfirmedDataDown (1.0.3 §4.3.1.2) */
		.fcnt = (uint16_t)dev->fcnt_up,
		.has_fport = true,
		.fport = dev->cfg.fport,
		.frm_len = len,
		.frm_payload = enc,
	};
	enum lw_mtype mt = dev->cfg.confirmed ? LW_MTYPE_CONF_UP : LW_MTYPE_UNCONF_UP;
	int rc = len <= dev->mtu ? 0 : -EMSGSIZE;
	if (rc == 0)
		rc = lw_crypto_payload(dev->app_skey, LW_DIR_UP, dev->dev_addr, dev->fcnt_up, coap, enc, len);
	if (rc == 0)
		rc = lw_frame_build_data(mt, &f, NULL, phy, sizeof(phy), &plen);
	if (rc == 0)
		rc = lw_crypto_data_mic(dev->nwk_skey, LW_DIR_UP, dev->dev_addr, dev->fcnt_up, phy, plen - LW_MIC_LEN,
					phy + plen - LW_MIC_LEN);
	if (rc == 0)
		rc = transmit(dev, phy, plen, false);
	if (rc < 0) {
		LPW_WARN("lwsim", "dev %u: uplink not sent: %s", dev->cfg.index, strerror(-rc));
		return rc;
	}
	json_t *ev = lpw_lwdev_event_new("uplink");
	json_object_set_new(ev, "fcnt", json_integer(dev->fcnt_up));
	json_object_set_new(ev, "confirmed", json_boolean(dev->cfg.confirmed));
	json_object_set_new(ev, "kind", json_string(kind));
	if (dev->need_ack)
		json_object_set_new(ev, "ack", json_true());
	if (rc == 1)
		json_object_set_new(ev, "lost", json_true());
	json_object_set_new(ev, "freq", json_integer(dev->up_freq));
	json_object_set_new(ev, "dr", json_integer(dev->cfg.dr));
	if (fopts)
		json_object_set_new(ev, "fopts", json_integer((json_int_t)dev->mac_out_len));
	lpw_lwdev_emit(dev, ev);
	dev->fcnt_up++;
	if (fopts)
		dev->mac_out_len = 0;
	dev->need_ack = false;
	dev->fpending = false;
	return 0;
}

/* ---- downlinks ---- */

static uint32_t le24(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
}

/* Decrypts a Join-Accept into pt (the bytes after the MHDR) and checks its MIC under our AppKey. */
static bool open_join_accept(const lpw_lwdev_t *dev, const uint8_t *phy, size_t len, uint8_t pt[32])
{
	uint8_t msg[LW_JOIN_ACCEPT_CF_LEN], mic[LW_MIC_LEN];
	if (len != LW_JOIN_ACCEPT_LEN && len != LW_JOIN_ACCEPT_CF_LEN)
		return false;
	if (lw_crypto_join_accept_decrypt(dev->cfg.app_key, phy + 1, pt, len - 1) < 0)
		return false;
	msg[0] = phy[0];
	memcpy(msg + 1, pt, len - 1 - LW_MIC_LEN);
	if (lw_crypto_join_mic(dev->cfg.app_key, msg, len - LW_MIC_LEN, mic) < 0)
		return false;
	return lw_crypto_mic_equal(mic, pt + len - 1 - LW_MIC_LEN);
}

bool lpw_lwdev_join_accept_ok(const lpw_lwdev_t *dev, const uint8_t *phy, size_t len)
{
	uint8_t pt[32];
	return open_join_accept(dev, phy, len, pt);
}

static void accept_join(lpw_lwdev_t *dev, const uint8_t *phy, size_t len)
{
	uint8_t pt[32];
	if (dev->joined || !open_join_accept(dev, phy, len, pt))
		return;
	uint32_t app_nonce = le24(pt), net_id = le24(pt + 3);
	dev->dev_addr = le24(pt + 6) | (uint32_t)pt[9] << 24;
	dev->rx1_dr_offset = (pt[10] >> 4) & 7;
	dev->rx2_dr = pt[10] & 0x0f;
	dev->rx1_delay_s = (pt[11] & 0x0f) ? (pt[11] & 0x0f) : 1; /* RxDelay 0 means 1 s */
	lpw_lwdev_plan_defaults(dev);
	dev->mac_out_len = 0;
	if (len == LW_JOIN_ACCEPT_CF_LEN)
		lpw_lwdev_plan_cflist(dev, pt + 12);
	if (lw_crypto_derive_keys(dev->cfg.app_key, app_nonce, net_id, dev->dev_nonce, dev->nwk_skey,
				  dev->app_skey) < 0) {
		LPW_ERR("lwsim", "dev %u: key derivation failed", dev->cfg.index);
		return;
	}
	char addr[9];
	snprintf(addr, sizeof(addr), "%08X", dev->dev_addr);
	json_t *ev = lpw_lwdev_event_new("joined");
	json_object_set_new(ev, "deveui", json_string(dev->endpoint));
	json_object_set_new(ev, "devaddr", json_string(addr));
	lpw_lwdev_emit(dev, ev);
	session_ready(dev);
}

static void emit_rejected(lpw_lwdev_t *dev, const char *why)
{
	json_t *ev = lpw_lwdev_event_new("downlink-rejected");
	json_object_set_new(ev, "reason", json_string(why));
	lpw_lwdev_emit(dev, ev);
}

/* The FRMPayload of a verified data downlink, decrypted. */
static void deliver_payload(lpw_lwdev_t *dev, const struct lw_data_frame *d, uint32_t fcnt)
{
	uint8_t pt[LW_PHY_MAX];
	const uint8_t *key = d->fport == 0 ? dev->nwk_skey : dev->app_skey;
	if (lw_crypto_payload(key, LW_DIR_DOWN, dev->dev_addr, fcnt, d->frm_payload, pt, d->frm_len) < 0)
		return;
	if (d->fport == 0) { /* MAC commands too long for FOpts */
		lpw_lwdev_mac_in(dev, pt, d->frm_len);
		return;
	}
	if (d->fport != dev->cfg.fport) {
		json_t *ev = lpw_lwdev_event_new("downlink-other-port");
		json_object_set_new(ev, "fport", json_integer(d->fport));
		lpw_lwdev_emit(dev, ev);
		return;
	}
	lpw_lwdev_coap_in(dev, pt, d->frm_len);
}

static void accept_data(lpw_lwdev_t *dev, const uint8_t *phy, size_t len, int window)
{
	struct lw_frame fr;
	const char *why = NULL;
	uint8_t mic[LW_MIC_LEN];
	uint32_t fcnt;
	if (lw_frame_parse(phy, len, &fr, &why) < 0 || !lw_mtype_is_data(fr.mtype) || lw_mtype_is_uplink(fr.mtype)) {
		emit_rejected(dev, why ? why : "not a data downlink");
		return;
	}
	const struct lw_data_frame *d = &fr.u.data;
	int rc = lw_crypto_fcnt_rebuild(dev->fcnt_down, dev->have_down, d->fcnt, &fcnt);
	if (rc < 0 && !(rc == -EALREADY && !dev->have_down)) {
		emit_rejected(dev, rc == -EALREADY ? "fcnt repeated" : "fcnt out of range");
		return;
	}
	if (lw_crypto_data_mic(dev->nwk_skey, LW_DIR_DOWN, dev->dev_addr, fcnt, phy, fr.mic_off, mic) < 0 ||
	    !lw_crypto_mic_equal(mic, fr.mic)) {
		emit_rejected(dev, "mic");
		return;
	}
	dev->fcnt_down = fcnt;
	dev->have_down = true;
	if (window == 1)
		dev->rx1_got = true; /* Class A: RX2 is not opened after a frame in RX1 */
	bool confirmed = fr.mtype == LW_MTYPE_CONF_DOWN;
	json_t *ev = lpw_lwdev_event_new("downlink");
	json_object_set_new(ev, "fcnt", json_integer(fcnt));
	json_object_set_new(ev, "ack", json_boolean(d->ack));
	json_object_set_new(ev, "fpending", json_boolean(d->fpending));
	json_object_set_new(ev, "confirmed", json_boolean(confirmed));
	json_object_set_new(ev, "window", json_string(window == 1 ? "rx1" : window == 2 ? "rx2" : "imme"));
	lpw_lwdev_emit(dev, ev);
	dev->need_ack |= confirmed;
	dev->fpending |= d->fpending; /* the network has more: open RX windows again soon */
	if (d->fopts_len)
		lpw_lwdev_mac_in(dev, d->fopts, d->fopts_len);
	if (d->has_fport && d->frm_len)
		deliver_payload(dev, d, fcnt);
}

void lpw_lwdev_deliver(lpw_lwdev_t *dev, const uint8_t *phy, size_t len, int window)
{
	if ((phy[0] >> 5) == LW_MTYPE_JOIN_ACCEPT)
		accept_join(dev, phy, len);
	else
		accept_data(dev, phy, len, window);
	lpw_lwdev_schedule(dev);
}

void lpw_lwdev_rx_due(lpw_timer_t *t, int64_t now_ms)
{
	struct lwdev_rxslot *slot = lpw_container_of(t, struct lwdev_rxslot, timer);
	lpw_lwdev_t *dev = slot->dev;
	int window = slot == &dev->rx[0] ? 1 : 2;
	slot->used = false;
	if (window == 2 && dev->rx1_got) {
		lpw_lwdev_emit_lost(dev, "closed", 2);
		return;
	}
	lpw_lwdev_deliver(dev, slot->phy, slot->len, window);
}
