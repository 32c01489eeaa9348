/* The T8 NIDD binding on the contract (TS 29.122 Rel-17 V17.7.0): NIDD configurations per device, downlink data
 * deliveries, outcomes. See t8.h; callbacks are in t8_notify.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/nidd/t8_internal.h"
#include "core/log.h"

#define STORE_KEY "t8/config" /* "identity\nself link" of the device's NIDD configuration */

static const char *dev_id(const struct tdev *d)
{
	return lpw_device_id(d->dev);
}

static int64_t wall_now(void)
{
	return lpw_clock_wall_s(); /* DateTime fields are wall-clock; every timer still runs on the loop's clock */
}

static void config_create(struct tdev *d);
static void config_patch(struct tdev *d);
static void pump(struct tdev *d);

/* --- configuration id <-> device --- */

struct tdev *t8_dev_of_link(struct t8 *b, const char *config_link)
{
	char id[T8_ID_MAX];
	if (lpw_t8_link_id(config_link, id, sizeof(id)) < 0)
		return NULL;
	lpw_device_t *dev = b->host->find_key(b->host->ctx, LPW_BINDING_NIDD_T8, id, strlen(id));
	return dev ? lpw_device_slot(dev, LPW_SLOT_BINDING) : NULL;
}

static void persist(struct tdev *d)
{
	if (!d->b->store)
		return;
	char val[LPW_T8_LINK_MAX + LPW_T8_IDENT_MAX + 2];
	int n = snprintf(val, sizeof(val), "%s\n%s", lpw_device_config(d->dev)->identity, d->self);
	if (lpw_store_put(d->b->store, dev_id(d), STORE_KEY, val, (size_t)n) < 0)
		LPW_WARN("t8", "%s: the configuration link is not persisted", dev_id(d));
}

static void forget(struct tdev *d)
{
	struct t8 *b = d->b;
	d->self[0] = d->id[0] = '\0';
	d->dl_link[0] = '\0';
	d->state = ST_NONE;
	b->host->set_key(b->host->ctx, d->dev, NULL, 0);
	if (b->store)
		(void)lpw_store_delete(b->store, dev_id(d), STORE_KEY);
}

/* Takes self as the device's configuration; 0, or -EINVAL for a link without a usable id. */
static int adopt(struct tdev *d, const char *self)
{
	char id[T8_ID_MAX];
	if (lpw_t8_link_id(self, id, sizeof(id)) < 0)
		return -EINVAL;
	snprintf(d->self, sizeof(d->self), "%s", self);
	snprintf(d->id, sizeof(d->id), "%s", id);
	int rc = d->b->host->set_key(d->b->host->ctx, d->dev, id, strlen(id));
	if (rc < 0)
		LPW_ERR("t8", "%s: configuration id %s is another device's (%s)", dev_id(d), id, strerror(-rc));
	return rc;
}

static void restore(struct tdev *d)
{
	char val[LPW_T8_LINK_MAX + LPW_T8_IDENT_MAX + 2];
	size_t len = 0;
	if (!d->b->store || lpw_store_get(d->b->store, dev_id(d), STORE_KEY, val, sizeof(val) - 1, &len) < 0)
		return;
	val[len] = '\0';
	char *nl = strchr(val, '\n');
	if (!nl || strncmp(val, lpw_device_config(d->dev)->identity, (size_t)(nl - val)) ||
	    strlen(lpw_device_config(d->dev)->identity) != (size_t)(nl - val) || adopt(d, nl + 1) < 0) {
		forget(d); /* another identity's, or unusable */
		return;
	}
	LPW_INFO("t8", "%s: NIDD configuration %s from the store; renewing it", dev_id(d), d->id);
}

/* --- configuration requests --- */

static void arm_cfg(struct tdev *d, int64_t delay_s)
{
	if (lpw_loop_timer_in(d->b->loop, &d->cfg_timer, delay_s * 1000) < 0)
		LPW_ERR("t8", "%s: cannot arm the configuration timer", dev_id(d));
}

static void retry_later(struct tdev *d)
{
	const lpw_config_t8_t *c = &d->b->cfg->t8;
	d->backoff_s = d->backoff_s ? d->backoff_s * 2 : c->retry_min_s;
	if (d->backoff_s > c->retry_max_s)
		d->backoff_s = c->retry_max_s;
	d->b->cfg_failed++;
	arm_cfg(d, d->backoff_s);
}

static void log_failure(struct tdev *d, const char *what, const lpw_t8_answer_t *a)
{
	lpw_t8_problem_t p = {0};
	if (a->status && a->len && lpw_t8_json_decode_problem((const uint8_t *)a->body, a->len, &p) < 0)
		snprintf(p.title, sizeof(p.title), "(no ProblemDetails)");
	LPW_WARN("t8", "%s: %s failed: %s%ld %s%s%s", dev_id(d), what, a->status ? "HTTP " : "", a->status,
		 a->error ? a->error : p.title, p.cause[0] ? " cause " : "", p.cause);
	char detail[200];
	snprintf(detail, sizeof(detail), "%.60s: %ld %.100s", what, a->status, a->error ? a->error : p.cause);
	d->b->host->event(d->b->host->ctx, d->dev, "t8-error", detail);
}

static void configured(struct tdev *d, const lpw_t8_answer_t *a)
{
	lpw_t8_config_msg_t m;
	lpw_t8_err_t err;
	if (a->len && lpw_t8_json_decode_config((const uint8_t *)a->body, a->len, &m, &err) == 0) {
		if (m.maximum_packet_size)
			d->max_packet_bits = m.maximum_packet_size;
		if (m.status == LPW_T8_NS_TERMINATED || m.status == LPW_T8_NS_TERMINATED_UE_NOT_AUTHORIZED) {
			LPW_WARN("t8", "%s: the SCEF reports the configuration %s", dev_id(d), m.status_text);
			forget(d);
			retry_later(d);
			return;
		}
	} else if (a->len) {
		LPW_WARN("t8", "%s: configuration answer not understood (%s); kept", dev_id(d), err.text);
	}
	d->state = ST_ACTIVE;
	d->backoff_s = 0;
	const lpw_config_t8_t *c = &d->b->cfg->t8;
	arm_cfg(d, (int64_t)c->duration_s - c->renew_before_s);
	pump(d);
}

static void on_created(void *arg, const lpw_t8_answer_t *a)
{
	struct tdev *d = arg;
	d->cfg_req = NULL;
	if (a->status != 201) {
		d->state = ST_NONE;
		log_failure(d, "creating the NIDD configuration", a);
		retry_later(d);
		return;
	}
	lpw_t8_config_msg_t m = {0};
	lpw_t8_err_t err;
	const char *self = a->location;
	if (!self[0] && lpw_t8_json_decode_config((const uint8_t *)a->body, a->len, &m, &err) == 0)
		self = m.self;
	if (adopt(d, self) < 0) {
		LPW_WARN("t8", "%s: the SCEF's 201 names no usable configuration (\"%s\")", dev_id(d), self);
		d->state = ST_NONE;
		retry_later(d);
		return;
	}
	d->b->created++;
	LPW_INFO("t8", "%s: NIDD configuration %s created", dev_id(d), d->id);
	d->b->host->event(d->b->host->ctx, d->dev, "t8-configured", d->id);
	persist(d);
	configured(d, a);
}

static void on_patched(void *arg, const lpw_t8_answer_t *a)
{
	struct tdev *d = arg;
	d->cfg_req = NULL;
	if (a->status == 404) { /* lost: expired, or the SCEF restarted */
		LPW_WARN("t8", "%s: NIDD configuration %s is gone at the SCEF; creating it again", dev_id(d), d->id);
		d->b->recreated++;
		d->b->host->event(d->b->host->ctx, d->dev, "t8-recreate", d->id);
		forget(d);
		config_create(d);
		return;
	}
	if (a->status != 200 && a->status != 204) {
		log_failure(d, "renewing the NIDD configuration", a);
		retry_later(d); /* the configuration may still stand: downlinks go on meanwhile */
		return;
	}
	d->b->renewed++;
	LPW_DEBUG("t8", "%s: NIDD configuration %s renewed", dev_id(d), d->id);
	configured(d, a);
}

static void config_create(struct tdev *d)
{
	struct t8 *b = d->b;
	const char *ident = lpw_device_config(d->dev)->identity;
	lpw_t8_config_msg_t m = {.duration = wall_now() + b->cfg->t8.duration_s};
	snprintf(strchr(ident, '@') ? m.external_id : m.msisdn, LPW_T8_IDENT_MAX + 1, "%s", ident);
	snprintf(m.notification_destination, sizeof(m.notification_destination), "%s", b->notify_url);
	char *body = NULL;
	if (lpw_t8_json_encode_config(&m, &body) < 0) {
		LPW_ERR("t8", "%s: cannot encode the NIDD configuration", dev_id(d));
		return;
	}
	d->state = ST_CREATING;
	d->cfg_req = lpw_t8_client_request(b->client, "POST", b->base, body, NULL, on_created, d);
	free(body);
	if (!d->cfg_req)
		retry_later(d);
}

static void config_patch(struct tdev *d)
{
	char *body = NULL;
	if (lpw_t8_json_encode_config_patch(wall_now() + d->b->cfg->t8.duration_s, NULL, &body) < 0)
		return;
	/* TS 29.122 §5.6.3.3: NiddConfigurationPatch is a JSON merge patch (RFC 7396) */
	d->cfg_req = lpw_t8_client_request(d->b->client, "PATCH", d->self, body, "application/merge-patch+json",
					   on_patched, d);
	free(body);
	if (!d->cfg_req)
		retry_later(d);
}

static void on_cfg_timer(lpw_timer_t *t, int64_t now)
{
	struct tdev *d = lpw_container_of(t, struct tdev, cfg_timer);
	if (d->cfg_req)
		return;
	if (d->self[0])
		config_patch(d);
	else
		config_create(d);
}

void t8_config_ended(struct t8 *b, struct tdev *d, const char *status)
{
	LPW_WARN("t8", "%s: the SCEF ended NIDD configuration %s (%s); creating it again", dev_id(d), d->id, status);
	lpw_t8_client_cancel(b->client, d->cfg_req);
	d->cfg_req = NULL;
	forget(d);
	d->b->recreated++;
	arm_cfg(d, b->cfg->t8.retry_min_s);
}

/* --- downlinks --- */

static bool is_con_request(const uint8_t *coap, size_t len)
{
	return len >= 4 && (coap[0] >> 6) == 1 && ((coap[0] >> 4) & 3) == 0 && coap[1] != 0 && coap[1] < 32;
}

static void outcome(struct tdev *d, bool con, lpw_delivery_t o)
{
	if (!con)
		return; /* only a server's CON request has someone waiting for its fate */
	if (o == LPW_DELIVERY_FAILED) {
		d->awaiting = false;
		lpw_loop_timer_clear(d->b->loop, &d->resp_timer);
	}
	d->b->host->outcome(d->b->host->ctx, d->dev, o);
}

static void on_resp_timeout(lpw_timer_t *t, int64_t now)
{
	struct tdev *d = lpw_container_of(t, struct tdev, resp_timer);
	LPW_WARN("t8", "%s: no answer to CON %u within %u s", dev_id(d), d->await_mid, d->b->cfg->t8.response_timeout_s);
	d->awaiting = false;
	d->b->host->outcome(d->b->host->ctx, d->dev, LPW_DELIVERY_FAILED);
}

static void pop(struct tdev *d)
{
	free(d->q[d->qhead].data);
	d->q[d->qhead].data = NULL;
	d->qhead = (d->qhead + 1) % T8_QUEUE_CAP;
	d->qlen--;
}

static void on_delivered(void *arg, const lpw_t8_answer_t *a)
{
	struct tdev *d = arg;
	struct t8 *b = d->b;
	d->dl_req = NULL;
	bool con = d->q[d->qhead].con_request;
	if (a->status == 404) { /* the configuration is gone: the message waits for the new one */
		LPW_WARN("t8", "%s: NIDD configuration %s unknown to the SCEF; creating it again", dev_id(d), d->id);
		b->recreated++;
		b->host->event(b->host->ctx, d->dev, "t8-recreate", d->id);
		lpw_t8_client_cancel(b->client, d->cfg_req);
		forget(d);
		config_create(d);
		return;
	}
	lpw_t8_downlink_msg_t m = {0};
	lpw_t8_err_t err;
	if ((a->status == 200 || a->status == 201) && a->len &&
	    lpw_t8_json_decode_downlink((const uint8_t *)a->body, a->len, NULL, 0, &m, &err) < 0)
		LPW_DEBUG("t8", "%s: downlink answer not understood (%s)", dev_id(d), err.text);
	lpw_t8_delivery_class_t cls = lpw_t8_delivery_class(m.delivery_status, m.delivery_status_text);
	pop(d);
	if (a->status == 200 && cls != LPW_T8_DC_FAILED && cls != LPW_T8_DC_TEMPORARY) {
		b->mt_delivered++; /* 200: delivered */
		outcome(d, con, LPW_DELIVERY_OK);
	} else if (a->status == 201) {
		/* 201: pending, a delivery status notification follows for Location (App. D.6: no double buffering) */
		b->mt_pending++;
		snprintf(d->dl_link, sizeof(d->dl_link), "%s", a->location[0] ? a->location : m.self);
		d->dl_con = con;
		outcome(d, con, LPW_DELIVERY_BUFFERED);
	} else {
		b->mt_failed++;
		log_failure(d, "downlink data delivery", a);
		outcome(d, con, LPW_DELIVERY_FAILED);
	}
	pump(d);
}

static void pump(struct tdev *d)
{
	struct t8 *b = d->b;
	if (d->state != ST_ACTIVE || d->dl_req || !d->qlen)
		return;
	const struct t8_msg *q = &d->q[d->qhead];
	const char *ident = lpw_device_config(d->dev)->identity;
	lpw_t8_downlink_msg_t m = {.data = q->data, .data_len = q->len};
	snprintf(strchr(ident, '@') ? m.external_id : m.msisdn, LPW_T8_IDENT_MAX + 1, "%s", ident);
	char *body = NULL, url[LPW_T8_LINK_MAX + 32];
	snprintf(url, sizeof(url), "%s/downlink-data-deliveries", d->self);
	if (lpw_t8_json_encode_downlink(&m, &body) == 0)
		d->dl_req = lpw_t8_client_request(b->client, "POST", url, body, NULL, on_delivered, d);
	free(body);
	if (!d->dl_req) {
		bool con = q->con_request;
		pop(d);
		b->mt_failed++;
		outcome(d, con, LPW_DELIVERY_FAILED);
	}
}

static int t8_send(void *self, lpw_device_t *dev, const lpw_downlink_t *dl)
{
	struct t8 *b = self;
	struct tdev *d = lpw_device_slot(dev, LPW_SLOT_BINDING);
	if (!d)
		return -EHOSTUNREACH;
	uint32_t max = d->max_packet_bits ? d->max_packet_bits / 8 : b->cfg->t8.max_message_size;
	if (dl->len > max)
		return -EMSGSIZE;
	if (d->qlen >= b->cfg->t8.queue_max)
		return -EBUSY;
	uint8_t *copy = malloc(dl->len ? dl->len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, dl->data, dl->len);
	bool con = is_con_request(dl->data, dl->len);
	d->q[(d->qhead + d->qlen) % T8_QUEUE_CAP] = (struct t8_msg){copy, dl->len, con};
	d->qlen++;
	b->mt++;
	if (con) { /* TS 29.122 has no CoAP retransmission: we time the device's answer ourselves */
		d->awaiting = true;
		d->await_mid = (uint16_t)(dl->data[2] << 8 | dl->data[3]);
		if (lpw_loop_timer_in(b->loop, &d->resp_timer, (int64_t)b->cfg->t8.response_timeout_s * 1000) < 0)
			LPW_ERR("t8", "%s: cannot arm the response timer", dev_id(d));
	}
	pump(d);
	return 0;
}

void t8_delivery_status(struct t8 *b, struct tdev *d, lpw_t8_delivery_status_t st, const char *text)
{
	lpw_t8_delivery_class_t cls = lpw_t8_delivery_class(st, text);
	LPW_INFO("t8", "%s: delivery status %s", dev_id(d), text);
	bool con = d->dl_con;
	switch (cls) {
	case LPW_T8_DC_DELIVERED:
		d->dl_link[0] = '\0';
		b->mt_delivered++;
		outcome(d, con, LPW_DELIVERY_OK);
		break;
	case LPW_T8_DC_PENDING: outcome(d, con, LPW_DELIVERY_BUFFERED); break;
	case LPW_T8_DC_TEMPORARY:
	case LPW_T8_DC_FAILED:
		d->dl_link[0] = '\0';
		b->mt_failed++;
		b->host->event(b->host->ctx, d->dev, "t8-undelivered", text);
		outcome(d, con, LPW_DELIVERY_FAILED);
		break;
	default: LPW_WARN("t8", "%s: delivery status \"%s\" not understood; still waiting", dev_id(d), text); break;
	}
}

/* --- uplinks --- */

void t8_mo(struct t8 *b, struct tdev *d, const uint8_t *data, size_t len)
{
	b->mo++;
	if (d->awaiting && len >= 4 && (data[0] >> 6) == 1 && ((data[0] >> 4) & 3) >= 2 &&
	    (uint16_t)(data[2] << 8 | data[3]) == d->await_mid) {
		d->awaiting = false; /* the ACK or RST of the CON we sent */
		lpw_loop_timer_clear(b->loop, &d->resp_timer);
	}
	b->host->uplink(b->host->ctx, d->dev, LPW_SERVER_ANY, data, len);
	/* LwM2M 1.1.1 §6.5: a device that just sent listens for a while */
	b->host->reachable(b->host->ctx, d->dev, b->cfg->t8.reachable_window_s * 1000);
}

/* --- the contract --- */

static void t8_traits(void *self, const lpw_device_t *dev, lpw_binding_traits_t *out)
{
	struct t8 *b = self;
	const struct tdev *d = lpw_device_slot(dev, LPW_SLOT_BINDING);
	/* App. D.4: the maximum packet size of the NIDD configuration (in bits, TS 29.122) bounds every message */
	uint32_t max = d && d->max_packet_bits >= 16 * 8 ? d->max_packet_bits / 8 : b->cfg->t8.max_message_size;
	*out = (lpw_binding_traits_t){
		.max_message_size_now = max,
		.max_message_size = max,
		.proxy_retransmits = false, /* the SCEF owns delivery and reports it */
	};
}

static int t8_device_add(void *self, lpw_device_t *dev)
{
	struct t8 *b = self;
	struct tdev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->b = b;
	d->dev = dev;
	lpw_timer_init(&d->cfg_timer, on_cfg_timer);
	lpw_timer_init(&d->resp_timer, on_resp_timeout);
	lpw_device_set_slot(dev, LPW_SLOT_BINDING, d);
	d->next = b->devs;
	if (b->devs)
		b->devs->prev = d;
	b->devs = d;
	restore(d);
	arm_cfg(d, 0); /* the request starts on the loop's next turn */
	return 0;
}

static void t8_device_update(void *self, lpw_device_t *dev, const lpw_config_device_t *old)
{
}

static void on_deleted(void *arg, const lpw_t8_answer_t *a)
{
	struct t8 *b = arg;
	if (a->status == 204 || a->status == 200 || a->status == 404)
		b->deleted++;
	else
		LPW_WARN("t8", "deleting a NIDD configuration failed: %ld %s", a->status, a->error ? a->error : "");
}

static void t8_device_remove(void *self, lpw_device_t *dev)
{
	struct t8 *b = self;
	struct tdev *d = lpw_device_slot(dev, LPW_SLOT_BINDING);
	if (!d)
		return;
	lpw_t8_client_cancel(b->client, d->cfg_req);
	lpw_t8_client_cancel(b->client, d->dl_req);
	lpw_loop_timer_clear(b->loop, &d->cfg_timer);
	lpw_loop_timer_clear(b->loop, &d->resp_timer);
	if (d->self[0] && b->cfg->t8.delete_on_shutdown) {
		LPW_INFO("t8", "%s: deleting NIDD configuration %s", dev_id(d), d->id);
		if (!lpw_t8_client_request(b->client, "DELETE", d->self, NULL, NULL, on_deleted, b))
			LPW_WARN("t8", "%s: cannot delete NIDD configuration %s", dev_id(d), d->id);
		forget(d);
	}
	b->host->set_key(b->host->ctx, dev, NULL, 0);
	while (d->qlen)
		pop(d);
	if (d->prev)
		d->prev->next = d->next;
	else
		b->devs = d->next;
	if (d->next)
		d->next->prev = d->prev;
	lpw_device_set_slot(dev, LPW_SLOT_BINDING, NULL);
	free(d);
}

static int t8_reconfigure(void *self, const lpw_config_t *cfg, FILE *report)
{
	struct t8 *b = self;
	b->cfg = cfg; /* bindings.* need a restart (config/diff.c says so); the rest is read where used */
	return 0;
}

static void t8_report(void *self, json_t *obj)
{
	struct t8 *b = self;
	json_t *o = json_pack("{sI sI sI sI sI sI sI sI sI sI sI sI}", "mo", (json_int_t)b->mo, "mt", (json_int_t)b->mt,
			      "mt_delivered", (json_int_t)b->mt_delivered, "mt_pending", (json_int_t)b->mt_pending,
			      "mt_failed", (json_int_t)b->mt_failed, "configs_created", (json_int_t)b->created,
			      "configs_renewed", (json_int_t)b->renewed, "configs_recreated", (json_int_t)b->recreated,
			      "configs_deleted", (json_int_t)b->deleted, "config_failures", (json_int_t)b->cfg_failed,
			      "notifications_bad", (json_int_t)b->notif_bad, "notifications_unknown",
			      (json_int_t)b->notif_unknown);
	if (o)
		json_object_set_new(obj, "nidd-t8", o);
}

static void t8_free(void *self)
{
	struct t8 *b = self;
	if (!b)
		return;
	/* the DELETEs of device_remove: bounded, the loop has stopped */
	if (b->client && lpw_t8_client_pending(b->client)) {
		long ms = (long)b->cfg->t8.request_timeout_s * 1000;
		lpw_t8_client_drain(b->client, ms < 3000 ? ms : 3000);
	}
	lpw_t8_server_free(b->server);
	lpw_t8_client_free(b->client);
	explicit_bzero(b->token, sizeof(b->token));
	free(b);
}

static const lpw_binding_ops_t t8_ops = {
	.send = t8_send,
	.traits = t8_traits,
	.device_add = t8_device_add,
	.device_update = t8_device_update,
	.device_remove = t8_device_remove,
	.reconfigure = t8_reconfigure,
	.report = t8_report,
	.free = t8_free,
};

bool lpw_t8_enabled(const lpw_config_t *cfg)
{
	if (cfg->t8.enabled)
		return true;
	for (size_t i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].binding == LPW_BINDING_NIDD_T8)
			return true;
	return false;
}

static int read_token(struct t8 *b, const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		LPW_ERR("t8", "cannot read token_file %s: %s", path, strerror(errno));
		return -errno;
	}
	size_t n = fread(b->token, 1, sizeof(b->token) - 1, f);
	fclose(f);
	b->token[n] = '\0';
	b->token[strcspn(b->token, "\r\n")] = '\0';
	if (!b->token[0]) {
		LPW_ERR("t8", "token_file %s is empty", path);
		return -EINVAL;
	}
	return 0;
}

/* notificationDestination and the path the server answers on. */
static void notify_url(struct t8 *b, const lpw_config_t8_t *c)
{
	if (c->callback_url)
		snprintf(b->notify_url, sizeof(b->notify_url), "%s", c->callback_url);
	else
		snprintf(b->notify_url, sizeof(b->notify_url), "%s://%s%s%s:%u/", c->callback_cert_file ? "https" : "http",
			 strchr(c->callback_listen, ':') ? "[" : "", c->callback_listen,
			 strchr(c->callback_listen, ':') ? "]" : "", c->callback_port);
	const char *p = strstr(b->notify_url, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	snprintf(b->notify_path, sizeof(b->notify_path), "%.*s", p ? (int)strcspn(p, "?#") : 1, p ? p : "/");
}

static int start(struct t8 *b, const lpw_config_t8_t *c)
{
	if (!c->api_root || !c->scs_as_id || !c->callback_listen) {
		LPW_ERR("t8", "devices of binding nidd-t8 need bindings.nidd_t8 with api_root (the SCEF) and enabled = true");
		return -EINVAL;
	}
	if (c->token_file && read_token(b, c->token_file) < 0)
		return -EINVAL;
	size_t root = strlen(c->api_root);
	while (root && c->api_root[root - 1] == '/')
		root--;
	/* TS 29.122 §5.2.4 / TS29122_NIDD.yaml servers: {apiRoot}/3gpp-nidd/v1 */
	snprintf(b->base, sizeof(b->base), "%.*s/3gpp-nidd/v1/%s/configurations", (int)root, c->api_root, c->scs_as_id);
	notify_url(b, c);
	lpw_t8_client_opts_t co = {.ca_file = c->ca_file, .cert_file = c->cert_file, .key_file = c->key_file,
				   .token = b->token[0] ? b->token : NULL, .timeout_ms = (long)c->request_timeout_s * 1000,
				   .max_response = 256 * 1024};
	if (!(b->client = lpw_t8_client_new(b->loop, &co)))
		return -ENOMEM;
	/* base64 inflates by 4/3; the rest of a notification is a few links */
	lpw_t8_server_opts_t so = {.listen = c->callback_listen, .port = c->callback_port,
				   .cert_file = c->callback_cert_file, .key_file = c->callback_key_file,
				   .max_body = LPW_T8_DATA_MAX * 4 / 3 + 8192, .timeout_s = 30};
	if (!(b->server = lpw_t8_server_new(b->loop, &so, t8_on_notification, b)))
		return -EADDRINUSE;
	LPW_INFO("t8", "SCEF %s; notifications on %s port %u as %s", b->base, c->callback_listen,
		 lpw_t8_server_port(b->server), b->notify_url);
	return 0;
}

int lpw_t8_create(const lpw_binding_env_t *env, lpw_binding_t *out)
{
	struct t8 *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->loop = env->loop;
	b->cfg = env->cfg;
	b->host = env->host;
	b->store = env->store;
	int rc = start(b, &env->cfg->t8);
	if (rc < 0) {
		t8_free(b);
		return rc;
	}
	*out = (lpw_binding_t){&t8_ops, b};
	return 0;
}

uint16_t lpw_t8_callback_port(const lpw_binding_t *bd)
{
	const struct t8 *b = bd->self;
	return lpw_t8_server_port(b->server);
}
