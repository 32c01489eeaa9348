/* ChirpStack v4 as the LoRaWAN network server, through its MQTT integration (see lw_ns_chirpstack.h). */
#include "bindings/lorawan/lw_ns_chirpstack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <uthash.h>

#include "bindings/lorawan/lw_cs_json.h"
#include "bindings/lorawan/lw_region.h"
#include "core/log.h"
#include "core/mqtt.h"

#define MOD "chirpstack"
#define DOWN_QOS 1
#define EVENT_QOS 1
/* ChirpStack sends a queued item in the RX windows of the device's next uplink; when this many uplinks came after
 * our command without a txack or a log about it, ChirpStack never got it (published while it was away from the
 * broker, which keeps no messages for a client with a clean session): the sending failed (App. C.3.x.2). Two
 * would be too few: the command may miss the first uplink's window, and the second's txack follows its up event. */
#define LOST_AFTER_UPLINKS 3
#define BODY_MAX 512 /* a DownlinkCommand of LW_CS_MAX_DATA bytes (340 characters of base64) and its fields */

/* One downlink of ours, from send() until its result. */
struct cs_dl {
	bool busy;
	bool published; /* handed to the broker on the current connection */
	bool confirmed;
	bool sent;      /* txack seen: a confirmed one now waits for its ack */
	int mid;        /* of the publish, until the broker's PUBACK (-1 then) */
	unsigned ups;   /* uplinks since it was published, while not transmitted */
	uint32_t handle;
	char id[LW_CS_UUID_LEN + 1];    /* ours */
	char cs_id[LW_CS_UUID_LEN + 1]; /* ChirpStack's, when it reported another one */
	char body[BODY_MAX];
	size_t len;
};

/* The device's LPW_SLOT_NETWORK. */
struct csdev {
	struct lw_ns_cs *ns;
	lpw_device_t *h;
	char eui[17];       /* lower case, as in ChirpStack's topics */
	int dr;             /* of its last uplink; -1 none yet */
	uint32_t freq_hz;
	struct cs_dl dl;
	struct csdev *prev, *next; /* the devices with a downlink outstanding */
	UT_hash_handle hh;         /* by dl.mid while the broker has not acknowledged the publish */
};

typedef struct lw_ns_cs {
	const lpw_binding_env_t *env;
	lw_as_hooks_t hooks;
	lpw_mqtt_t *mqtt;
	char base[256];     /* PREFIX/APP/device/ */
	char app_id[LW_CS_UUID_LEN + 1];
	enum lw_region_id region;
	unsigned rx1_offset;
	uint32_t window_ms;
	uint32_t next_handle;
	uint8_t id_salt[8];
	uint64_t id_counter;
	struct csdev *busy; /* list head */
	struct csdev *by_mid;
	lw_ns_cs_counters_t c;
} lw_ns_cs_t;

static struct csdev *csdev_of(const lw_ns_cs_t *ns, const lpw_device_t *h)
{
	struct csdev *cd = lpw_device_slot(h, LPW_SLOT_NETWORK);
	const lpw_config_device_t *d = lpw_device_config(h);
	if (!cd || d->binding != LPW_BINDING_LORAWAN || d->lorawan.network != LPW_LORAWAN_NET_CHIRPSTACK || cd->ns != ns)
		return NULL;
	return cd;
}

/* --- the outstanding-downlink bookkeeping ------------------------------------------------------------------- */

static void unmid(struct csdev *cd)
{
	if (cd->dl.mid >= 0)
		HASH_DEL(cd->ns->by_mid, cd);
	cd->dl.mid = -1;
}

static void dl_clear(struct csdev *cd)
{
	lw_ns_cs_t *ns = cd->ns;
	if (!cd->dl.busy)
		return;
	unmid(cd);
	if (cd->prev)
		cd->prev->next = cd->next;
	else
		ns->busy = cd->next;
	if (cd->next)
		cd->next->prev = cd->prev;
	cd->prev = cd->next = NULL;
	memset(&cd->dl, 0, sizeof(cd->dl));
	cd->dl.mid = -1;
}

/* Ends the downlink and tells the application server (which may send the next one from inside the hook). */
static void dl_result(struct csdev *cd, lw_tx_result_t result)
{
	uint32_t handle = cd->dl.handle;
	dl_clear(cd);
	cd->ns->hooks.tx_result(cd->ns->hooks.as, cd->h, handle, result);
}

static void publish(struct csdev *cd)
{
	lw_ns_cs_t *ns = cd->ns;
	char topic[320];
	snprintf(topic, sizeof(topic), "%s%s/command/down", ns->base, cd->eui);
	int mid = -1;
	int rc = lpw_mqtt_publish(ns->mqtt, topic, cd->dl.body, cd->dl.len, DOWN_QOS, false, &mid);
	if (rc < 0) {
		LPW_DEBUG(MOD, "%s: downlink %s waits for the broker (%s)", lpw_device_id(cd->h), cd->dl.id, strerror(-rc));
		return;
	}
	ns->c.published++;
	cd->dl.published = true;
	cd->dl.ups = 0;
	unmid(cd);
	cd->dl.mid = mid;
	HASH_ADD_INT(ns->by_mid, dl.mid, cd);
	LPW_DEBUG(MOD, "%s: downlink %s queued in ChirpStack (%zu-byte command)", lpw_device_id(cd->h), cd->dl.id,
	          cd->dl.len);
}

static void next_id(lw_ns_cs_t *ns, char out[LW_CS_UUID_LEN + 1])
{
	uint8_t b[16];
	uint64_t n = ++ns->id_counter;
	memcpy(b, ns->id_salt, 8);
	for (int i = 0; i < 8; i++)
		b[8 + i] = (uint8_t)(n >> (56 - 8 * i));
	lw_cs_uuid_format(b, out);
}

/* --- lw_ns_ops_t -------------------------------------------------------------------------------------------- */

static size_t payload_at(const lw_ns_cs_t *ns, int dr)
{
	struct lw_dr_info info;
	return dr >= 0 && lw_region_dr(ns->region, (unsigned)dr, &info) == 0 ? info.max_n : 0;
}

/* RX1's data rate after the last uplink; before any uplink, RX2's (the region's slowest downlink). */
static size_t op_max_payload(void *self, const lpw_device_t *h)
{
	lw_ns_cs_t *ns = self;
	const struct csdev *cd = csdev_of(ns, h);
	uint32_t f;
	unsigned dr;
	if (cd && cd->dr >= 0 && lw_region_rx1(ns->region, cd->freq_hz, (unsigned)cd->dr, ns->rx1_offset, &f, &dr) == 0)
		return payload_at(ns, (int)dr);
	if (cd && cd->dr >= 0 && ns->region == LW_REGION_EU868) /* no frequency given: EU868 needs none */
		return payload_at(ns, cd->dr > (int)ns->rx1_offset ? cd->dr - (int)ns->rx1_offset : 0);
	if (lw_region_rx2(ns->region, &f, &dr) != 0)
		return 0;
	return payload_at(ns, (int)dr);
}

static size_t op_max_payload_ever(void *self, const lpw_device_t *h)
{
	lw_ns_cs_t *ns = self;
	size_t best = 0;
	for (int dr = 0; dr < 16; dr++) {
		struct lw_dr_info info;
		if (lw_region_dr(ns->region, (unsigned)dr, &info) == 0 && !info.fsk && info.max_n > best)
			best = info.max_n;
	}
	return best;
}

/* more (FPending) is ChirpStack's to set: it knows its queue. */
static int op_send(void *self, lpw_device_t *h, uint8_t fport, const uint8_t *data, size_t len, bool confirmed,
                   bool more, uint32_t *out_handle)
{
	lw_ns_cs_t *ns = self;
	struct csdev *cd = csdev_of(ns, h);
	if (!cd)
		return -ENOENT;
	if (cd->dl.busy)
		return -EBUSY;
	if (len > op_max_payload(ns, h))
		return -EMSGSIZE;
	struct cs_dl *dl = &cd->dl;
	next_id(ns, dl->id);
	int n = lw_cs_down_encode(dl->id, cd->eui, fport, confirmed, data, len, dl->body, sizeof(dl->body));
	if (n < 0)
		return n;
	dl->len = (size_t)n;
	dl->busy = true;
	dl->confirmed = confirmed;
	dl->mid = -1;
	dl->handle = ++ns->next_handle;
	*out_handle = dl->handle;
	cd->next = ns->busy;
	if (ns->busy)
		ns->busy->prev = cd;
	ns->busy = cd;
	if (!lpw_mqtt_connected(ns->mqtt))
		ns->c.deferred++;
	publish(cd);
	return 0;
}

static int op_device_add(void *self, lpw_device_t *h)
{
	lw_ns_cs_t *ns = self;
	const lpw_config_device_t *d = lpw_device_config(h);
	if (!d->identity || strlen(d->identity) != 16)
		return -EINVAL;
	struct csdev *cd = calloc(1, sizeof(*cd));
	if (!cd)
		return -ENOMEM;
	cd->ns = ns;
	cd->h = h;
	cd->dr = -1;
	cd->dl.mid = -1;
	for (size_t i = 0; i < 16; i++)
		cd->eui[i] = (char)(d->identity[i] >= 'A' && d->identity[i] <= 'F' ? d->identity[i] - 'A' + 'a'
		                                                                  : d->identity[i]);
	lpw_device_set_slot(h, LPW_SLOT_NETWORK, cd);
	return 0;
}

static void op_device_remove(void *self, lpw_device_t *h)
{
	struct csdev *cd = lpw_device_slot(h, LPW_SLOT_NETWORK);
	if (!cd || cd->ns != self)
		return;
	dl_clear(cd);
	lpw_device_set_slot(h, LPW_SLOT_NETWORK, NULL);
	free(cd);
}

static int op_reconfigure(void *self, const lpw_config_t *cfg, FILE *report)
{
	return 0; /* bindings.lorawan.chirpstack is bindings.*: the configuration diff reports it needs a restart */
}

static void op_free(void *self)
{
	lw_ns_cs_t *ns = self;
	if (!ns)
		return;
	if (ns->mqtt) {
		lpw_mqtt_disconnect(ns->mqtt, 1000);
		lpw_mqtt_free(ns->mqtt);
	}
	HASH_CLEAR(hh, ns->by_mid);
	free(ns);
}

static const lw_ns_ops_t cs_ops = {
	.send = op_send,
	.max_payload = op_max_payload,
	.max_payload_ever = op_max_payload_ever,
	.device_add = op_device_add,
	.device_remove = op_device_remove,
	.reconfigure = op_reconfigure,
	.free = op_free,
};

/* --- events from ChirpStack ----------------------------------------------------------------------------------- */

static bool is_ours(const struct cs_dl *dl, const char *id)
{
	return dl->busy && id[0] && (strcmp(id, dl->id) == 0 || (dl->cs_id[0] && strcmp(id, dl->cs_id) == 0));
}

/* A txack naming another queue item while ours is in ChirpStack's queue and none of ours was transmitted yet:
 * ChirpStack gave it its own id (a release that ignores the command's id). Kept, and matched from then on. */
static bool adopt(struct csdev *cd, const char *id)
{
	struct cs_dl *dl = &cd->dl;
	if (!dl->busy || !dl->published || dl->sent || dl->cs_id[0] || !id[0])
		return false;
	memcpy(dl->cs_id, id, sizeof(dl->cs_id));
	LPW_NOTICE(MOD, "%s: ChirpStack reports queue item %s for our downlink %s; matching by its id", lpw_device_id(cd->h),
	           id, dl->id);
	return true;
}

static void on_up(lw_ns_cs_t *ns, struct csdev *cd, const lw_cs_event_t *ev)
{
	unsigned dr;
	struct cs_dl *dl = &cd->dl;
	if (dl->busy && dl->published && !dl->sent && ++dl->ups >= LOST_AFTER_UPLINKS) {
		ns->c.lost++;
		LPW_INFO(MOD, "%s: downlink %s not transmitted in %u uplinks; ChirpStack never got it", lpw_device_id(cd->h),
		         dl->id, dl->ups);
		dl_result(cd, LW_TX_FAILED);
	}
	if (ev->dr >= 0)
		cd->dr = ev->dr;
	else if (ev->sf && ev->bw_hz && lw_region_dr_from_lora(ns->region, true, ev->sf, ev->bw_hz, &dr) == 0)
		cd->dr = (int)dr;
	if (ev->freq_hz)
		cd->freq_hz = ev->freq_hz;
	if (ev->fport) {
		ns->c.uplinks++;
		ns->hooks.uplink(ns->hooks.as, cd->h, ev->fport, ev->data, ev->len, ev->confirmed);
	}
	/* a hook may have removed the device (reload is not re-entered from here, but stay safe) */
	if (lpw_device_slot(cd->h, LPW_SLOT_NETWORK) != cd)
		return;
	ns->hooks.rx_open(ns->hooks.as, cd->h, lpw_loop_now(ns->env->loop) + ns->window_ms);
}

static void on_txack(lw_ns_cs_t *ns, struct csdev *cd, const lw_cs_event_t *ev)
{
	struct cs_dl *dl = &cd->dl;
	if (!is_ours(dl, ev->queue_item_id) && !adopt(cd, ev->queue_item_id)) {
		ns->c.unmatched++;
		LPW_DEBUG(MOD, "%s: txack of queue item %s, not ours", lpw_device_id(cd->h), ev->queue_item_id);
		return;
	}
	ns->c.txacks++;
	if (!dl->confirmed) {
		dl_result(cd, LW_TX_SENT); /* App. C.3.2.2: ACK_TIMEOUT starts */
		return;
	}
	if (dl->sent)
		return; /* sent again by ChirpStack: the ack still decides */
	dl->sent = true;
	/* still ours until the ack (send() says -EBUSY); the application server waits for the delivery report */
	ns->hooks.tx_result(ns->hooks.as, cd->h, dl->handle, LW_TX_SENT);
}

static void on_ack(lw_ns_cs_t *ns, struct csdev *cd, const lw_cs_event_t *ev)
{
	if (!is_ours(&cd->dl, ev->queue_item_id)) { /* ids are adopted only from a txack, which comes first */
		ns->c.unmatched++;
		return;
	}
	if (ev->acknowledged) {
		ns->c.acks++;
		dl_result(cd, LW_TX_ACKED); /* C.3.1.2 step 3 */
	} else {
		ns->c.nacks++;
		LPW_INFO(MOD, "%s: confirmed downlink %s not acknowledged", lpw_device_id(cd->h), ev->queue_item_id);
		dl_result(cd, LW_TX_FAILED); /* C.3.1.2 step 2: the sending failed */
	}
}

static bool downlink_code(const char *code)
{
	/* LogCode DOWNLINK_PAYLOAD_SIZE (1), DOWNLINK_CODEC (3), DOWNLINK_GATEWAY (8), by name or number */
	return strncmp(code, "DOWNLINK_", 9) == 0 || strcmp(code, "1") == 0 || strcmp(code, "3") == 0 ||
	       strcmp(code, "8") == 0;
}

static void on_log(lw_ns_cs_t *ns, struct csdev *cd, const lw_cs_event_t *ev)
{
	struct cs_dl *dl = &cd->dl;
	int64_t now = lpw_loop_now(ns->env->loop);
	if (ev->level == LW_CS_LOG_ERROR)
		LPW_WARN_LIMITED(MOD, "log", lpw_device_id(cd->h), now, "%s: ChirpStack: %s %s", lpw_device_id(cd->h),
		                 ev->code, ev->description);
	else
		LPW_DEBUG(MOD, "%s: ChirpStack: %s %s", lpw_device_id(cd->h), ev->code, ev->description);
	bool about_ours = ev->context_queue_item_id[0] ? is_ours(dl, ev->context_queue_item_id)
	                                               : dl->busy && dl->published && !dl->sent;
	if (ev->level == LW_CS_LOG_ERROR && downlink_code(ev->code) && about_ours) {
		ns->c.failures++;
		dl_result(cd, LW_TX_FAILED);
	}
}

static void on_join(lw_ns_cs_t *ns, struct csdev *cd)
{
	ns->c.joins++;
	bool had = cd->dl.busy;
	uint32_t handle = cd->dl.handle;
	dl_clear(cd); /* a new session: ChirpStack flushed the queue */
	ns->hooks.joined(ns->hooks.as, cd->h);
	if (had && lpw_device_slot(cd->h, LPW_SLOT_NETWORK) == cd)
		ns->hooks.tx_result(ns->hooks.as, cd->h, handle, LW_TX_FAILED);
}

/* "EUI/event/NAME" or "EUI/state/NAME" after the base: the kind, and the EUI into eui; -1 not ours, -2 malformed */
static int parse_topic(const lw_ns_cs_t *ns, const char *topic, char eui[17])
{
	size_t blen = strlen(ns->base);
	if (strncmp(topic, ns->base, blen) != 0)
		return -2;
	const char *p = topic + blen;
	if (strlen(p) < 24 || p[16] != '/' || (strncmp(p + 17, "event/", 6) != 0 && strncmp(p + 17, "state/", 6) != 0))
		return -2;
	memcpy(eui, p, 16);
	eui[16] = '\0';
	for (size_t i = 0; i < 16; i++)
		eui[i] = (char)(eui[i] >= 'a' && eui[i] <= 'f' ? eui[i] - 'a' + 'A' : eui[i]);
	return lw_cs_kind_from_name(p + 23);
}

static void malformed(lw_ns_cs_t *ns, const char *topic, const char *why)
{
	ns->c.malformed++;
	if (ns->env->stats)
		ns->env->stats->dropped_malformed++;
	LPW_WARN_LIMITED(MOD, "malformed", "chirpstack", lpw_loop_now(ns->env->loop), "message on %s refused: %s", topic,
	                 why);
}

static void dispatch(lw_ns_cs_t *ns, struct csdev *cd, const lw_cs_event_t *ev)
{
	switch (ev->kind) {
	case LW_CS_UP: on_up(ns, cd, ev); break;
	case LW_CS_JOIN: on_join(ns, cd); break;
	case LW_CS_ACK: on_ack(ns, cd, ev); break;
	case LW_CS_TXACK: on_txack(ns, cd, ev); break;
	case LW_CS_LOG: on_log(ns, cd, ev); break;
	case LW_CS_STATUS:
	default: LPW_DEBUG(MOD, "%s: status event", lpw_device_id(cd->h)); break;
	}
}

static void handle(lw_ns_cs_t *ns, const char *topic, const void *payload, size_t len, bool retain)
{
	char eui[17], why[160];
	ns->c.events++;
	if (retain)
		return; /* a retained state/join or state/status: old news, not an event */
	int kind = parse_topic(ns, topic, eui);
	if (kind == -2) {
		malformed(ns, topic, "not PREFIX/APPLICATION/device/DEVEUI/event/TYPE");
		return;
	}
	if (kind < 0)
		return; /* location, integration...: not for the application server */
	lw_cs_event_t *ev = malloc(sizeof(*ev));
	if (!ev)
		return;
	const lpw_binding_host_t *host = ns->env->host;
	if (lw_cs_event_parse((lw_cs_kind_t)kind, payload, len, ev, why, sizeof(why)) < 0)
		malformed(ns, topic, why);
	else if (strcmp(ev->dev_eui, eui) != 0)
		malformed(ns, topic, "deviceInfo.devEui is not the topic's DevEUI");
	else if (ev->application_id[0] && strcasecmp(ev->application_id, ns->app_id) != 0)
		malformed(ns, topic, "deviceInfo.applicationId is not the topic's application");
	else {
		lpw_device_t *h = host->find(host->ctx, LPW_BINDING_LORAWAN, ev->dev_eui);
		struct csdev *cd = h ? csdev_of(ns, h) : NULL;
		if (cd) {
			dispatch(ns, cd, ev);
		} else {
			ns->c.unknown++;
			host->dropped(host->ctx, LPW_BINDING_LORAWAN);
		}
	}
	free(ev);
}

/* --- the broker connection ------------------------------------------------------------------------------------ */

static void on_message(void *arg, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
	handle(arg, topic, payload, len, retain);
}

static void on_connected(void *arg)
{
	lw_ns_cs_t *ns = arg;
	LPW_NOTICE(MOD, "connected to the broker; application %s", ns->app_id);
	for (struct csdev *cd = ns->busy, *next; cd; cd = next) {
		next = cd->next;
		if (!cd->dl.published)
			publish(cd);
	}
}

/* What the broker had not acknowledged may be lost with the connection: published again after the reconnect
 * (the same id: ChirpStack refuses a second copy of a queue item it already holds). */
static void on_disconnected(void *arg, const char *why)
{
	lw_ns_cs_t *ns = arg;
	LPW_WARN(MOD, "connection to the broker lost (%s); downlinks wait for it", why);
	for (struct csdev *cd = ns->busy; cd; cd = cd->next)
		if (cd->dl.published && cd->dl.mid >= 0) {
			unmid(cd);
			cd->dl.published = false;
			ns->c.deferred++;
		}
}

static void on_published(void *arg, int mid)
{
	lw_ns_cs_t *ns = arg;
	struct csdev *cd = NULL;
	HASH_FIND_INT(ns->by_mid, &mid, cd);
	if (cd)
		unmid(cd);
}

static int subscribe(lw_ns_cs_t *ns)
{
	static const char *const kinds[] = {"event", "state"};
	for (size_t i = 0; i < 2; i++) {
		char pattern[300];
		snprintf(pattern, sizeof(pattern), "%s+/%s/+", ns->base, kinds[i]);
		int rc = lpw_mqtt_subscribe(ns->mqtt, pattern, EVENT_QOS);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void seed_ids(lw_ns_cs_t *ns)
{
	if (getrandom(ns->id_salt, sizeof(ns->id_salt), GRND_NONBLOCK) == (ssize_t)sizeof(ns->id_salt))
		return;
	uint64_t t = (uint64_t)lpw_loop_now(ns->env->loop) ^ (uint64_t)(uintptr_t)ns; /* still unique per run */
	memcpy(ns->id_salt, &t, sizeof(t));
}

int lw_ns_chirpstack_new(const lpw_binding_env_t *env, const lw_as_hooks_t *hooks, lw_ns_t *out)
{
	const lpw_config_chirpstack_t *cc = &env->cfg->lorawan.chirpstack;
	if (!cc->application_id || strlen(cc->application_id) != LW_CS_UUID_LEN || !cc->host) {
		LPW_ERR(MOD, "bindings.lorawan.chirpstack needs host and application_id");
		return -EINVAL;
	}
	lw_ns_cs_t *ns = calloc(1, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	ns->env = env;
	ns->hooks = *hooks;
	ns->region = (enum lw_region_id)cc->region; /* the same order (lw_ns_udp.c asserts it) */
	ns->rx1_offset = cc->rx1_dr_offset;
	ns->window_ms = cc->downlink_window_s * 1000;
	memcpy(ns->app_id, cc->application_id, sizeof(ns->app_id));
	snprintf(ns->base, sizeof(ns->base), "%s/%s/device/", cc->topic_prefix ? cc->topic_prefix : "application",
	         cc->application_id);
	seed_ids(ns);
	char client_id[160];
	snprintf(client_id, sizeof(client_id), "lpwagw-%s-chirpstack", env->cfg->gateway_id ? env->cfg->gateway_id : "gw");
	lpw_mqtt_config_t mc = {
		.name = MOD, .host = cc->host, .port = cc->port, .client_id = cc->client_id ? cc->client_id : client_id,
		.username = cc->username, .password = cc->password, .ca_file = cc->ca_file, .cert_file = cc->cert_file,
		.key_file = cc->key_file, .keepalive_s = cc->keepalive_s, .reconnect_min_ms = cc->reconnect_min_s * 1000,
		.reconnect_max_ms = cc->reconnect_max_s * 1000,
	};
	lpw_mqtt_hooks_t mh = {on_connected, on_disconnected, on_message, on_published, ns};
	ns->mqtt = lpw_mqtt_new(env->loop, &mc, &mh);
	int rc = ns->mqtt ? subscribe(ns) : -EINVAL;
	if (rc < 0) {
		op_free(ns);
		return rc;
	}
	*out = (lw_ns_t){&cs_ops, ns};
	return 0;
}

void lw_ns_chirpstack_get_counters(const lw_ns_t *ns, lw_ns_cs_counters_t *out)
{
	*out = ((const lw_ns_cs_t *)ns->self)->c;
}

bool lw_ns_chirpstack_connected(const lw_ns_t *ns)
{
	return lpw_mqtt_connected(((const lw_ns_cs_t *)ns->self)->mqtt);
}

void lw_ns_chirpstack_input(const lw_ns_t *ns, const char *topic, const void *payload, size_t len, bool retain)
{
	handle(ns->self, topic, payload, len, retain);
}
