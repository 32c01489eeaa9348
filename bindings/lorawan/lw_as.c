/* LoRaWAN application server: FPort routing, LwM2M 1.1.1 Appendix C, RX-window reachability. */
#include "bindings/lorawan/lw_as.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proxy/coap_codec.h"

#define MAX_ANSWERS 4 /* answers to the device's own requests waiting for an RX window */

struct msg {
	uint8_t fport;
	uint8_t *data;
	size_t len;
	size_t queued; /* server requests the proxy still held when it sent this (FPending) */
};

/* The server's CON being carried to the device (App. C.3.1.2 / C.3.2.2). */
enum con_state {
	CON_NONE,
	CON_WAIT_WINDOW,  /* to be (re)sent in the device's next RX windows */
	CON_IN_NS,        /* handed to the network server, no result yet */
	CON_WAIT_NS_ACK,  /* confirmed downlink transmitted; the LoRaWAN ACK decides (C.3.1.2 step 2) */
	CON_WAIT_COAP_ACK /* delivered or sent: waiting ACK_TIMEOUT for the CoAP ACK/RST (C.3.1.2 step 3, C.3.2.2 2) */
};

/* The binding's per-device state (the device's LPW_SLOT_BINDING). */
struct asdev {
	lw_as_t *as;
	lpw_device_t *h;
	int64_t window_deadline; /* RX windows of the last uplink accept downlinks until then */
	struct msg answers[MAX_ANSWERS];
	size_t nanswers;
	struct {
		enum con_state state;
		uint16_t mid;
		struct msg m;
		unsigned sends; /* transmissions so far; 1 + MAX_RETRANSMIT at most */
		lpw_timer_t timer;
	} con;
	lw_ns_t *ns;      /* the device's network server (its network setting); NULL = none running */
	bool ns_busy;     /* the network server holds our downlink */
	bool ns_is_con;   /* ... and it is the server's CON (else answers[0]) */
	uint32_t ns_handle;
};

struct lw_as {
	lpw_loop_t *loop;
	const lpw_config_t *cfg;
	const lpw_binding_host_t *host;
	lw_as_hooks_t hooks;
	lw_ns_t ns[LPW_LORAWAN_NET_COUNT]; /* by lpw_config_lorawan_net_t; ops NULL = not running */
};

static struct asdev *asdev_of(const lpw_device_t *h)
{
	return lpw_device_slot(h, LPW_SLOT_BINDING);
}

static const lpw_config_device_t *dcfg(const struct asdev *ad)
{
	return lpw_device_config(ad->h);
}

static void msg_free(struct msg *m)
{
	free(m->data);
	memset(m, 0, sizeof(*m));
}

static int msg_set(struct msg *m, uint8_t fport, const uint8_t *data, size_t len, size_t queued)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	free(m->data);
	*m = (struct msg){fport, copy, len, queued};
	return 0;
}

static void pop_answer(struct asdev *ad)
{
	msg_free(&ad->answers[0]);
	memmove(&ad->answers[0], &ad->answers[1], (ad->nanswers - 1) * sizeof(ad->answers[0]));
	memset(&ad->answers[--ad->nanswers], 0, sizeof(ad->answers[0]));
}

static void end_con(struct asdev *ad)
{
	lpw_loop_timer_clear(ad->as->loop, &ad->con.timer);
	msg_free(&ad->con.m);
	ad->con.state = CON_NONE;
	ad->con.sends = 0;
}

/* One downlink per RX window: the device's own answers first (it is waiting with its CON), then the server's. */
static void try_send(struct asdev *ad)
{
	lw_as_t *as = ad->as;
	if (ad->ns_busy || !ad->ns || lpw_loop_now(as->loop) >= ad->window_deadline)
		return;
	bool is_con = ad->nanswers == 0;
	if (is_con && ad->con.state != CON_WAIT_WINDOW)
		return;
	struct msg *m = is_con ? &ad->con.m : &ad->answers[0];
	size_t waiting = ad->nanswers - (is_con ? 0 : 1) + (!is_con && ad->con.state == CON_WAIT_WINDOW) + m->queued;
	bool confirmed = is_con && dcfg(ad)->lorawan.confirmed_downlinks;
	int rc = ad->ns->ops->send(ad->ns->self, ad->h, m->fport, m->data, m->len, confirmed, waiting > 0, &ad->ns_handle);
	if (rc == -EBUSY)
		return;
	if (rc < 0) {
		LPW_WARN("lorawan", "%s: downlink of %zu bytes not possible now (%s)", dcfg(ad)->id, m->len, strerror(-rc));
		if (is_con && rc == -EMSGSIZE) { /* never truncated: the proxy answers the server */
			end_con(ad);
			as->host->outcome(as->host->ctx, ad->h, LPW_DELIVERY_FAILED);
		} else if (!is_con) {
			pop_answer(ad);
		}
		return;
	}
	ad->ns_busy = true;
	ad->ns_is_con = is_con;
	if (is_con) {
		ad->con.state = CON_IN_NS;
		ad->con.sends++;
	}
}

static void give_up(struct asdev *ad)
{
	lw_as_t *as = ad->as;
	LPW_WARN("lorawan", "%s: no CoAP ACK after %u transmissions (MAX_RETRANSMIT %u); giving up", dcfg(ad)->id,
	         ad->con.sends, as->cfg->lorawan.max_retransmit);
	end_con(ad);
	as->host->outcome(as->host->ctx, ad->h, LPW_DELIVERY_FAILED);
}

/* App. C.3.x.2: the CON is resent after ACK_TIMEOUT, MAX_RETRANSMIT times at most. */
static void retry_or_give_up(struct asdev *ad)
{
	if (ad->con.sends > ad->as->cfg->lorawan.max_retransmit) {
		give_up(ad);
		return;
	}
	ad->con.state = CON_WAIT_WINDOW;
	try_send(ad);
}

static void on_ack_timeout(lpw_timer_t *t, int64_t now)
{
	struct asdev *ad = lpw_container_of(t, struct asdev, con.timer);
	LPW_INFO("lorawan", "%s: no CoAP ACK within ACK_TIMEOUT after transmission %u", dcfg(ad)->id, ad->con.sends);
	retry_or_give_up(ad);
}

static void wait_coap_ack(struct asdev *ad)
{
	ad->con.state = CON_WAIT_COAP_ACK;
	if (lpw_loop_timer_in(ad->as->loop, &ad->con.timer, (int64_t)ad->as->cfg->lorawan.ack_timeout_s * 1000) < 0)
		LPW_ERR("lorawan", "%s: cannot arm ACK_TIMEOUT", dcfg(ad)->id);
}

static void on_tx_result(void *arg, lpw_device_t *dev, uint32_t handle, lw_tx_result_t result)
{
	struct asdev *ad = asdev_of(dev);
	if (!ad)
		return;
	bool current = ad->ns_busy && handle == ad->ns_handle;
	if (current)
		ad->ns_busy = false;
	if (current && !ad->ns_is_con) {
		if (result != LW_TX_FAILED)
			pop_answer(ad); /* a failed answer stays for the next window */
	} else if (ad->con.state == CON_IN_NS || ad->con.state == CON_WAIT_NS_ACK) {
		bool confirmed = dcfg(ad)->lorawan.confirmed_downlinks;
		if (result == LW_TX_FAILED)
			retry_or_give_up(ad);              /* C.3.1.2: the sending failed */
		else if (confirmed && result == LW_TX_SENT)
			ad->con.state = CON_WAIT_NS_ACK;   /* the network's delivery report decides */
		else
			wait_coap_ack(ad);                 /* C.3.1.2 step 3 (ACKED), C.3.2.2 step 2 (SENT) */
	}
	try_send(ad);
}

/* Whether the proxy answers what the device sent: a CON always (ACK, piggybacked or empty), a NON request with
 * the server's NON answer; never an ACK, RST, NON response or Empty message. */
static bool answered(const lpw_coap_header_t *h)
{
	if (h->type == COAP_MESSAGE_CON)
		return true;
	return h->type == COAP_MESSAGE_NON && h->code != 0 && (h->code >> 5) == 0;
}

static bool on_uplink(void *arg, lpw_device_t *h, uint8_t fport, const uint8_t *data, size_t len, bool confirmed)
{
	lw_as_t *as = arg;
	struct asdev *ad = asdev_of(h);
	if (!ad)
		return false;
	const lpw_config_device_t *dev = dcfg(ad);
	int server;
	if (fport == dev->lorawan.fport)
		server = 0;
	else if (dev->lorawan.bootstrap_fport && fport == dev->lorawan.bootstrap_fport)
		server = LPW_SERVER_BOOTSTRAP;
	else {
		LPW_WARN("lorawan", "%s: uplink on FPort %u, which names no server; dropped", dev->id, fport);
		return false;
	}
	lpw_coap_header_t hdr;
	if (lpw_coap_peek(data, len, &hdr) < 0) {
		as->host->uplink(as->host->ctx, h, server, data, len); /* the proxy rejects it, with its reason */
		return false;
	}
	if (ad->con.state != CON_NONE && (hdr.type == COAP_MESSAGE_ACK || hdr.type == COAP_MESSAGE_RST) &&
	    hdr.mid == ad->con.mid)
		end_con(ad); /* the exchange is over; the proxy takes the answer from here */
	/* A CoAP Empty message (code 0.00, CON or NON) only opens RX windows (App. C.3.1.1 step 2). */
	if (lpw_coap_is_empty(&hdr) && len == 4 && (hdr.type == COAP_MESSAGE_CON || hdr.type == COAP_MESSAGE_NON)) {
		LPW_DEBUG("lorawan", "%s: CoAP Empty message: RX windows opened, nothing forwarded", dev->id);
		return false;
	}
	as->host->uplink(as->host->ctx, h, server, data, len);
	return answered(&hdr);
}

static void on_rx_open(void *arg, lpw_device_t *dev, int64_t deadline_ms)
{
	lw_as_t *as = arg;
	struct asdev *ad = asdev_of(dev);
	if (!ad)
		return;
	ad->window_deadline = deadline_ms;
	int64_t left = deadline_ms - lpw_loop_now(as->loop);
	/* Queued server requests may leave now: only in the RX windows after an uplink (§6.8.4, App. C). */
	if (left > 0)
		as->host->reachable(as->host->ctx, dev, (uint32_t)left);
	try_send(ad);
}

static void on_joined(void *arg, lpw_device_t *dev)
{
	struct asdev *ad = asdev_of(dev);
	if (!ad)
		return;
	/* a new session: what was in flight on the old one is void */
	for (size_t i = ad->nanswers; i > 0; i--)
		pop_answer(ad);
	ad->ns_busy = false;
	LPW_NOTICE("lorawan", "%s: joined", lpw_device_id(dev));
}

/* The binding's send: datagram CoAP from the proxy. A CON is a server request (App. C applies); anything else
 * answers the device and waits for its next RX window. */
static int as_send(void *self, lpw_device_t *h, const lpw_downlink_t *dl)
{
	struct asdev *ad = asdev_of(h);
	lpw_coap_header_t hdr;
	if (!ad || lpw_coap_peek(dl->data, dl->len, &hdr) < 0)
		return -EINVAL;
	const lpw_config_device_t *dev = dcfg(ad);
	uint8_t fport = dl->server == LPW_SERVER_BOOTSTRAP && dev->lorawan.bootstrap_fport ? dev->lorawan.bootstrap_fport
	                                                                                  : dev->lorawan.fport;
	if (ad->ns && dl->len > ad->ns->ops->max_payload(ad->ns->self, h))
		return -EMSGSIZE;
	if (hdr.type == COAP_MESSAGE_CON) {
		if (ad->con.state != CON_NONE) {
			LPW_WARN("lorawan", "%s: a server CON is already being carried; refused", dev->id);
			return -EBUSY;
		}
		if (msg_set(&ad->con.m, fport, dl->data, dl->len, dl->queued) < 0)
			return -ENOMEM;
		ad->con.mid = hdr.mid;
		ad->con.sends = 0;
		ad->con.state = CON_WAIT_WINDOW;
	} else {
		for (size_t i = 0; i < ad->nanswers; i++) /* a repeated CON was answered from the cache: once is enough */
			if (ad->answers[i].len == dl->len && memcmp(ad->answers[i].data, dl->data, dl->len) == 0)
				return 0;
		if (ad->nanswers == MAX_ANSWERS) {
			LPW_WARN("lorawan", "%s: %d answers already wait for an RX window; oldest dropped", dev->id, MAX_ANSWERS);
			pop_answer(ad);
		}
		if (msg_set(&ad->answers[ad->nanswers], fport, dl->data, dl->len, dl->queued) < 0)
			return -ENOMEM;
		ad->nanswers++;
	}
	try_send(ad);
	return 0;
}

static void as_traits(void *self, const lpw_device_t *h, lpw_binding_traits_t *out)
{
	const struct asdev *ad = asdev_of(h);
	const lw_ns_t *ns = ad ? ad->ns : NULL;
	size_t now = ns ? ns->ops->max_payload(ns->self, h) : 0;
	size_t ever = ns ? ns->ops->max_payload_ever(ns->self, h) : 0;
	*out = (lpw_binding_traits_t){
		.max_message_size_now = (uint32_t)now,
		.max_message_size = (uint32_t)ever,
		.proxy_retransmits = false,    /* LwM2M App. C replaces CoAP retransmission */
		.queue_mode = true,            /* a Class A device listens only after its uplinks (§6.8.4) */
		.registration_defaults = true, /* table 6.8.4-1 */
		.default_objects = lpw_device_config(h)->lorawan.objects,
	};
}

static void asdev_clear(struct asdev *ad)
{
	end_con(ad);
	while (ad->nanswers)
		pop_answer(ad);
	ad->ns_busy = false;
}

static const char *const net_names[LPW_LORAWAN_NET_COUNT] = {"embedded", "chirpstack"};

/* The device joins the network server its configuration names; -ENOTSUP (logged) when that one is not running. */
static int attach_ns(lw_as_t *as, struct asdev *ad)
{
	lpw_config_lorawan_net_t net = lpw_device_config(ad->h)->lorawan.network;
	lw_ns_t *ns = net < LPW_LORAWAN_NET_COUNT ? &as->ns[net] : NULL;
	if (!ns || !ns->ops) {
		bool any = as->ns[0].ops || as->ns[1].ops;
		if (!any) /* unit tests run the application server alone */
			return 0;
		LPW_ERR("lorawan", "%s: its network server \"%s\" is not enabled; the device is not served",
		        lpw_device_id(ad->h), net < LPW_LORAWAN_NET_COUNT ? net_names[net] : "?");
		return -ENOTSUP;
	}
	int rc = ns->ops->device_add(ns->self, ad->h);
	if (rc == 0)
		ad->ns = ns;
	return rc;
}

static int as_device_add(void *self, lpw_device_t *h)
{
	lw_as_t *as = self;
	struct asdev *ad = calloc(1, sizeof(*ad));
	if (!ad)
		return -ENOMEM;
	ad->as = as;
	ad->h = h;
	lpw_timer_init(&ad->con.timer, on_ack_timeout);
	lpw_device_set_slot(h, LPW_SLOT_BINDING, ad);
	int rc = attach_ns(as, ad);
	if (rc < 0) {
		lpw_device_set_slot(h, LPW_SLOT_BINDING, NULL);
		free(ad);
	}
	return rc;
}

static void as_device_remove(void *self, lpw_device_t *h)
{
	struct asdev *ad = asdev_of(h);
	if (!ad)
		return;
	if (ad->ns)
		ad->ns->ops->device_remove(ad->ns->self, h);
	asdev_clear(ad);
	lpw_device_set_slot(h, LPW_SLOT_BINDING, NULL);
	free(ad);
}

static bool same_radio_settings(const lpw_config_lorawan_device_t *a, const lpw_config_lorawan_device_t *b)
{
	return a->network == b->network && a->otaa == b->otaa && memcmp(a->join_eui, b->join_eui, 8) == 0 && memcmp(a->app_key, b->app_key, 16) == 0 &&
	       a->dev_addr == b->dev_addr && memcmp(a->nwk_s_key, b->nwk_s_key, 16) == 0 &&
	       memcmp(a->app_s_key, b->app_s_key, 16) == 0;
}

/* New keys or activation mean a new network session (counters stay in the store); FPorts, confirmed downlinks
 * and the object list apply at once. */
static void as_device_update(void *self, lpw_device_t *h, const lpw_config_device_t *old)
{
	lw_as_t *as = self;
	struct asdev *ad = asdev_of(h);
	if (!ad || same_radio_settings(&old->lorawan, &lpw_device_config(h)->lorawan))
		return;
	LPW_NOTICE("lorawan", "%s: LoRaWAN keys or network server changed: the session is reopened", lpw_device_id(h));
	if (ad->ns)
		ad->ns->ops->device_remove(ad->ns->self, h);
	ad->ns = NULL;
	asdev_clear(ad);
	if (attach_ns(as, ad) < 0)
		LPW_ERR("lorawan", "%s: the new session cannot be opened; the device is not served", lpw_device_id(h));
}

static int as_reconfigure(void *self, const lpw_config_t *cfg, FILE *report)
{
	lw_as_t *as = self;
	as->cfg = cfg; /* ACK_TIMEOUT and MAX_RETRANSMIT apply to the next exchange */
	int n = 0;
	for (size_t i = 0; i < LPW_LORAWAN_NET_COUNT; i++)
		if (as->ns[i].ops && as->ns[i].ops->reconfigure)
			n += as->ns[i].ops->reconfigure(as->ns[i].self, cfg, report);
	return n;
}

static void as_free(void *self)
{
	lw_as_t *as = self;
	if (!as)
		return;
	for (size_t i = 0; i < LPW_LORAWAN_NET_COUNT; i++)
		if (as->ns[i].ops)
			as->ns[i].ops->free(as->ns[i].self);
	free(as);
}

static int as_reset_session(void *self, lpw_device_t *h)
{
	lw_as_t *as = self;
	lpw_config_lorawan_net_t net = lpw_device_config(h)->lorawan.network;
	lw_ns_t *ns = net < LPW_LORAWAN_NET_COUNT ? &as->ns[net] : NULL;
	if (!ns || !ns->ops || !ns->ops->reset_session) /* e.g. ChirpStack keeps the session: reset it there */
		return -EOPNOTSUPP;
	return ns->ops->reset_session(ns->self, h);
}

static const lpw_binding_ops_t as_ops = {
	.reset_session = as_reset_session,
	.send = as_send,
	.traits = as_traits,
	.device_add = as_device_add,
	.device_update = as_device_update,
	.device_remove = as_device_remove,
	.reconfigure = as_reconfigure,
	.free = as_free,
};

lw_as_t *lw_as_new(lpw_loop_t *loop, const lpw_config_t *cfg, const lpw_binding_host_t *host)
{
	lw_as_t *as = calloc(1, sizeof(*as));
	if (!as)
		return NULL;
	as->loop = loop;
	as->cfg = cfg;
	as->host = host;
	as->hooks = (lw_as_hooks_t){on_uplink, on_rx_open, on_tx_result, on_joined, as};
	return as;
}

const lw_as_hooks_t *lw_as_hooks(lw_as_t *as)
{
	return &as->hooks;
}

void lw_as_attach_ns(lw_as_t *as, lpw_config_lorawan_net_t net, lw_ns_t ns)
{
	if (net < LPW_LORAWAN_NET_COUNT)
		as->ns[net] = ns;
}

lpw_binding_t lw_as_binding(lw_as_t *as)
{
	return (lpw_binding_t){&as_ops, as};
}
