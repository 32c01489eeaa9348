/* The T8 notification URL (TS 29.122 Rel-17 §5.6.3.x, the niddNotifications callback): one URL receives every
 * notification type, told apart by their members (t8_json.h). Only known configurations and devices are served:
 * anything else is 404, malformed bodies 400, too large ones 413, each with a ProblemDetails body. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/nidd/t8_internal.h"
#include "core/log.h"

static void problem(lpw_t8_reply_t *r, unsigned status, const char *title, const char *detail)
{
	lpw_t8_problem_t p = {.status = (int)status};
	snprintf(p.title, sizeof(p.title), "%s", title);
	snprintf(p.detail, sizeof(p.detail), "%s", detail);
	r->status = status;
	r->body = NULL;
	r->content_type = "application/problem+json";
	if (lpw_t8_json_encode_problem(&p, &r->body) < 0)
		r->body = NULL;
}

int t8_config_link_of_delivery(const char *link, char *out, size_t cap)
{
	const char *tail = strstr(link, "/downlink-data-deliveries");
	size_t n = tail ? (size_t)(tail - link) : 0;
	if (!n || n >= cap)
		return -EINVAL;
	memcpy(out, link, n);
	out[n] = '\0';
	return 0;
}

static bool identity_matches(const struct tdev *d, const lpw_t8_notification_t *n)
{
	const char *want = lpw_device_config(d->dev)->identity;
	const char *got = n->external_id[0] ? n->external_id : n->msisdn;
	return !got[0] || !strcmp(want, got);
}

static void handle(struct t8 *b, const lpw_t8_notification_t *n, lpw_t8_reply_t *r)
{
	char cfg_link[LPW_T8_LINK_MAX];
	bool delivery = n->kind == LPW_T8_NOTIF_DELIVERY_STATUS || n->kind == LPW_T8_NOTIF_GMD_DELIVERY;
	if (n->kind == LPW_T8_NOTIF_TEST) {
		r->status = 204;
		return;
	}
	if (delivery && t8_config_link_of_delivery(n->link, cfg_link, sizeof(cfg_link)) < 0) {
		problem(r, 404, "Not Found", "not a downlink data delivery of ours");
		return;
	}
	struct tdev *d = t8_dev_of_link(b, delivery ? cfg_link : n->link);
	if (!d || !identity_matches(d, n)) {
		b->notif_unknown++;
		b->host->dropped(b->host->ctx, LPW_BINDING_NIDD_T8);
		problem(r, 404, "Not Found", "no NIDD configuration of ours for this device");
		return;
	}
	r->status = 204;
	switch (n->kind) {
	case LPW_T8_NOTIF_UPLINK: t8_mo(b, d, n->data, n->data_len); break;
	case LPW_T8_NOTIF_DELIVERY_STATUS:
		if (strcmp(n->link, d->dl_link)) {
			problem(r, 404, "Not Found", "no pending downlink data delivery with this link");
			return;
		}
		t8_delivery_status(b, d, n->delivery_status, n->delivery_status_text);
		break;
	case LPW_T8_NOTIF_CONFIG_STATUS:
		if (n->status != LPW_T8_NS_ACTIVE)
			t8_config_ended(b, d, n->status_text);
		break;
	default: break; /* group delivery, port management: never requested, acknowledged */
	}
}

void t8_on_notification(void *arg, const char *method, const char *path, const uint8_t *body, size_t len,
			lpw_t8_reply_t *reply)
{
	struct t8 *b = arg;
	if (strcmp(path, b->notify_path)) {
		problem(reply, 404, "Not Found", "not the notification URL");
		return;
	}
	if (strcmp(method, "POST")) {
		problem(reply, 405, "Method Not Allowed", "notifications are POSTed");
		return;
	}
	lpw_t8_notification_t n;
	lpw_t8_err_t err = {0};
	if (lpw_t8_json_decode_notification(body, len, b->data, sizeof(b->data), &n, &err) < 0) {
		b->notif_bad++;
		LPW_WARN("t8", "notification refused (%u): %s", err.status, err.text);
		problem(reply, err.status, err.status == 413 ? "Payload Too Large" : "Bad Request", err.text);
		return;
	}
	handle(b, &n, reply);
}
