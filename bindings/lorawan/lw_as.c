/* LoRaWAN application server: FPort routing, LwM2M 1.1.1 Appendix C, RX-window reachability. */
#include "bindings/lorawan/lw_as.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define MAX_ANSWERS 4 /* answers to the device's own requests waiting for an RX window */

struct msg {
	uint8_t fport;
	uint8_t *data;
	size_t len;
};

/* The server's CON being carried to the device (App. C.3.1.2 / C.3.2.2). */
enum con_state {
	CON_NONE,
	CON_WAIT_WINDOW,  /* to be (re)sent in the device's next RX windows */
	CON_IN_NS,        /* handed to the network server, no result yet */
	CON_WAIT_NS_ACK,  /* confirmed downlink transmitted; the LoRaWAN ACK decides (C.3.1.2 step 2) */
	CON_WAIT_COAP_ACK /* delivered or sent: waiting ACK_TIMEOUT for the CoAP ACK/RST (C.3.1.2 step 3, C.3.2.2 2) */
};

struct asdev {
	lw_as_t *as;
	const lpw_config_device_t *dev;
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
	bool ns_busy;     /* the network server holds our downlink */
	bool ns_is_con;   /* ... and it is the server's CON (else answers[0]) */
	uint32_t ns_handle;
};

struct lw_as {
	lpw_loop_t *loop;
	const lpw_config_t *cfg;
	const lpw_binding_host_t *host;
	lw_as_hooks_t hooks;
	lw_ns_t ns;
	struct asdev *devs; /* same index as cfg->devices; dev NULL for other bindings */
};

static struct asdev *asdev_of(lw_as_t *as, const lpw_config_device_t *dev)
{
	size_t i = (size_t)(dev - as->cfg->devices);
	return i < as->cfg->ndevices && as->devs[i].dev ? &as->devs[i] : NULL;
}

static void msg_free(struct msg *m)
{
	free(m->data);
	memset(m, 0, sizeof(*m));
}

static int msg_set(struct msg *m, uint8_t fport, const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	free(m->data);
	*m = (struct msg){fport, copy, len};
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
	if (ad->ns_busy || !as->ns.ops || lpw_loop_now(as->loop) >= ad->window_deadline)
		return;
	bool is_con = ad->nanswers == 0;
	if (is_con && ad->con.state != CON_WAIT_WINDOW)
		return;
	struct msg *m = is_con ? &ad->con.m : &ad->answers[0];
	size_t waiting = ad->nanswers - (is_con ? 0 : 1) + (!is_con && ad->con.state == CON_WAIT_WINDOW) +
	                 as->host->queued(as->host->router, LPW_BINDING_LORAWAN, ad->dev->identity);
	bool confirmed = is_con && ad->dev->lorawan.confirmed_downlinks;
	int rc = as->ns.ops->send(as->ns.self, ad->dev, m->fport, m->data, m->len, confirmed, waiting > 0, &ad->ns_handle);
	if (rc == -EBUSY)
		return;
	if (rc < 0) {
		LPW_WARN("lorawan", "%s: downlink of %zu bytes not possible now (%s)", ad->dev->id, m->len, strerror(-rc));
		if (is_con && rc == -EMSGSIZE) { /* never truncated: the proxy answers the server */
			end_con(ad);
			as->host->outcome(as->host->router, LPW_BINDING_LORAWAN, ad->dev->identity, LPW_DELIVERY_FAILED);
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
	LPW_WARN("lorawan", "%s: no CoAP ACK after %u transmissions (MAX_RETRANSMIT %u); giving up", ad->dev->id,
	         ad->con.sends, as->cfg->lorawan.max_retransmit);
	end_con(ad);
	as->host->outcome(as->host->router, LPW_BINDING_LORAWAN, ad->dev->identity, LPW_DELIVERY_FAILED);
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
	LPW_INFO("lorawan", "%s: no CoAP ACK within ACK_TIMEOUT after transmission %u", ad->dev->id, ad->con.sends);
	retry_or_give_up(ad);
}

static void wait_coap_ack(struct asdev *ad)
{
	ad->con.state = CON_WAIT_COAP_ACK;
	if (lpw_loop_timer_in(ad->as->loop, &ad->con.timer, (int64_t)ad->as->cfg->lorawan.ack_timeout_s * 1000) < 0)
		LPW_ERR("lorawan", "%s: cannot arm ACK_TIMEOUT", ad->dev->id);
}

static void on_tx_result(void *arg, const lpw_config_device_t *dev, uint32_t handle, lw_tx_result_t result)
{
	struct asdev *ad = asdev_of(arg, dev);
	if (!ad)
		return;
	bool current = ad->ns_busy && handle == ad->ns_handle;
	if (current)
		ad->ns_busy = false;
	if (current && !ad->ns_is_con) {
		if (result != LW_TX_FAILED)
			pop_answer(ad); /* a failed answer stays for the next window */
	} else if (ad->con.state == CON_IN_NS || ad->con.state == CON_WAIT_NS_ACK) {
		bool confirmed = ad->dev->lorawan.confirmed_downlinks;
		if (result == LW_TX_FAILED)
			retry_or_give_up(ad);              /* C.3.1.2: the sending failed */
		else if (confirmed && result == LW_TX_SENT)
			ad->con.state = CON_WAIT_NS_ACK;   /* the network's delivery report decides */
		else
			wait_coap_ack(ad);                 /* C.3.1.2 step 3 (ACKED), C.3.2.2 step 2 (SENT) */
	}
	try_send(ad);
}

/* A CoAP Empty message (code 0.00, CON or NON) only opens RX windows (App. C.3.1.1 step 2). */
static bool is_window_opener(const uint8_t *data, size_t len)
{
	unsigned type = (data[0] >> 4) & 3;
	return len == 4 && data[1] == 0 && (type == 0 || type == 1);
}

static void on_uplink(void *arg, const lpw_config_device_t *dev, uint8_t fport, const uint8_t *data, size_t len,
                      bool confirmed)
{
	lw_as_t *as = arg;
	struct asdev *ad = asdev_of(as, dev);
	if (!ad)
		return;
	int server;
	if (fport == dev->lorawan.fport)
		server = 0;
	else if (dev->lorawan.bootstrap_fport && fport == dev->lorawan.bootstrap_fport)
		server = LPW_SERVER_BOOTSTRAP;
	else {
		LPW_WARN("lorawan", "%s: uplink on FPort %u, which names no server; dropped", dev->id, fport);
		return;
	}
	if (len < 4 || (data[0] >> 6) != 1) {
		as->host->uplink(as->host->router, LPW_BINDING_LORAWAN, dev->identity, server, data, len); /* proxy rejects */
		return;
	}
	unsigned type = (data[0] >> 4) & 3;
	uint16_t mid = (uint16_t)(data[2] << 8 | data[3]);
	if (ad->con.state != CON_NONE && (type == 2 || type == 3) && mid == ad->con.mid)
		end_con(ad); /* the exchange is over; the proxy takes the answer from here */
	if (is_window_opener(data, len)) {
		LPW_DEBUG("lorawan", "%s: CoAP Empty message: RX windows opened, nothing forwarded", dev->id);
		return;
	}
	as->host->uplink(as->host->router, LPW_BINDING_LORAWAN, dev->identity, server, data, len);
}

static void on_rx_open(void *arg, const lpw_config_device_t *dev, int64_t deadline_ms)
{
	lw_as_t *as = arg;
	struct asdev *ad = asdev_of(as, dev);
	if (!ad)
		return;
	ad->window_deadline = deadline_ms;
	int64_t left = deadline_ms - lpw_loop_now(as->loop);
	/* Queued server requests may leave now: only in the RX windows after an uplink (§6.8.4, App. C). */
	if (left > 0)
		as->host->reachable(as->host->router, LPW_BINDING_LORAWAN, dev->identity, (uint32_t)left);
	try_send(ad);
}

static void on_joined(void *arg, const lpw_config_device_t *dev)
{
	struct asdev *ad = asdev_of(arg, dev);
	if (!ad)
		return;
	/* a new session: what was in flight on the old one is void */
	for (size_t i = ad->nanswers; i > 0; i--)
		pop_answer(ad);
	ad->ns_busy = false;
	LPW_NOTICE("lorawan", "%s: joined", dev->id);
}

/* The binding's send: datagram CoAP from the proxy. A CON is a server request (App. C applies); anything else
 * answers the device and waits for its next RX window. */
static int as_send(void *self, const lpw_config_device_t *dev, int server, const uint8_t *data, size_t len)
{
	lw_as_t *as = self;
	struct asdev *ad = asdev_of(as, dev);
	if (!ad || len < 4)
		return -EINVAL;
	uint8_t fport = server == LPW_SERVER_BOOTSTRAP && dev->lorawan.bootstrap_fport ? dev->lorawan.bootstrap_fport
	                                                                              : dev->lorawan.fport;
	if (as->ns.ops && len > as->ns.ops->max_payload(as->ns.self, dev))
		return -EMSGSIZE;
	unsigned type = (data[0] >> 4) & 3;
	if (type == 0) {
		if (ad->con.state != CON_NONE) {
			LPW_WARN("lorawan", "%s: a server CON is already being carried; refused", dev->id);
			return -EBUSY;
		}
		if (msg_set(&ad->con.m, fport, data, len) < 0)
			return -ENOMEM;
		ad->con.mid = (uint16_t)(data[2] << 8 | data[3]);
		ad->con.sends = 0;
		ad->con.state = CON_WAIT_WINDOW;
	} else {
		for (size_t i = 0; i < ad->nanswers; i++) /* a repeated CON was answered from the cache: once is enough */
			if (ad->answers[i].len == len && memcmp(ad->answers[i].data, data, len) == 0)
				return 0;
		if (ad->nanswers == MAX_ANSWERS) {
			LPW_WARN("lorawan", "%s: %d answers already wait for an RX window; oldest dropped", dev->id, MAX_ANSWERS);
			pop_answer(ad);
		}
		if (msg_set(&ad->answers[ad->nanswers], fport, data, len) < 0)
			return -ENOMEM;
		ad->nanswers++;
	}
	try_send(ad);
	return 0;
}

static void as_free(void *self)
{
	lw_as_t *as = self;
	if (!as)
		return;
	if (as->ns.ops)
		as->ns.ops->free(as->ns.self);
	for (size_t i = 0; as->devs && i < as->cfg->ndevices; i++) {
		struct asdev *ad = &as->devs[i];
		if (!ad->dev)
			continue;
		end_con(ad);
		while (ad->nanswers)
			pop_answer(ad);
	}
	free(as->devs);
	free(as);
}

static const lpw_binding_ops_t as_ops = {
	.name = "lorawan", .kind = LPW_BINDING_LORAWAN, .send = as_send, .proxy_retransmits = 0, .free = as_free,
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
	as->devs = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof(*as->devs));
	if (!as->devs) {
		free(as);
		return NULL;
	}
	for (size_t i = 0; i < cfg->ndevices; i++) {
		if (cfg->devices[i].binding != LPW_BINDING_LORAWAN)
			continue;
		struct asdev *ad = &as->devs[i];
		ad->as = as;
		ad->dev = &cfg->devices[i];
		lpw_timer_init(&ad->con.timer, on_ack_timeout);
	}
	return as;
}

const lw_as_hooks_t *lw_as_hooks(lw_as_t *as)
{
	return &as->hooks;
}

void lw_as_attach_ns(lw_as_t *as, lw_ns_t ns)
{
	as->ns = ns;
}

lpw_binding_t lw_as_binding(lw_as_t *as)
{
	return (lpw_binding_t){&as_ops, as};
}
