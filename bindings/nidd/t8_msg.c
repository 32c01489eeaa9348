/* T8 NIDD message bodies (TS 29.122 Rel-17 V17.7.0, TS29122_NIDD.yaml): encoders and the outside-input decoders
 * declared in t8_json.h. Field names are the yaml's. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/nidd/t8_json.h"

static int fail(lpw_t8_err_t *err, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(lpw_t8_err_t *err, unsigned status, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->status = status;
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
	}
	return status == 413 ? -EMSGSIZE : status == 500 ? -ENOMEM : -EBADMSG;
}

/* The body as a JSON object, or NULL with err set. */
static json_t *parse_object(const uint8_t *body, size_t len, lpw_t8_err_t *err, int *rc)
{
	if (!body || len == 0) {
		*rc = fail(err, 400, "empty body");
		return NULL;
	}
	if (lpw_t8_json_too_deep(body, len, LPW_T8_JSON_DEPTH_MAX)) {
		*rc = fail(err, 400, "nested deeper than %u", LPW_T8_JSON_DEPTH_MAX);
		return NULL;
	}
	json_error_t je;
	json_t *root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		*rc = fail(err, 400, "not JSON: %s at %d:%d", je.text, je.line, je.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*rc = fail(err, 400, "not a JSON object");
		return NULL;
	}
	return root;
}

/* A string member: absent is fine unless required; wrong type or too long (>= cap) is refused. */
static int get_str(json_t *o, const char *name, char *out, size_t cap, bool required, lpw_t8_err_t *err)
{
	json_t *v = json_object_get(o, name);
	if (!v)
		return required ? fail(err, 400, "%s is missing", name) : 0;
	if (!json_is_string(v))
		return fail(err, 400, "%s is not a string", name);
	size_t n = json_string_length(v);
	if (n >= cap)
		return fail(err, 400, "%s is longer than %zu", name, cap - 1);
	if (strlen(json_string_value(v)) != n)
		return fail(err, 400, "%s holds a NUL", name);
	memcpy(out, json_string_value(v), n + 1);
	return 0;
}

static int get_time(json_t *o, const char *name, int64_t *out, lpw_t8_err_t *err)
{
	char text[64] = "";
	int rc = get_str(o, name, text, sizeof(text), false, err);
	if (rc || !text[0])
		return rc;
	if (lpw_t8_datetime_parse(text, out) < 0)
		return fail(err, 400, "%s \"%s\" is not an RFC 3339 date-time", name, text);
	return 0;
}

/* externalId / msisdn: at most one of them; `need` requires exactly one. */
static int get_identity(json_t *o, char *ext, char *msisdn, bool need, lpw_t8_err_t *err)
{
	int rc = get_str(o, "externalId", ext, LPW_T8_IDENT_MAX + 1, false, err);
	if (!rc)
		rc = get_str(o, "msisdn", msisdn, LPW_T8_IDENT_MAX + 1, false, err);
	if (!rc && ext[0] && msisdn[0])
		rc = fail(err, 400, "both externalId and msisdn (the yaml's oneOf allows one)");
	if (!rc && need && !ext[0] && !msisdn[0])
		rc = fail(err, 400, "neither externalId nor msisdn");
	return rc;
}

/* The data member (base64, RFC 4648) into buf; the size bound is checked before decoding. */
static int get_data(json_t *o, bool required, uint8_t *buf, size_t cap, const uint8_t **out, size_t *out_len,
		    lpw_t8_err_t *err)
{
	json_t *v = json_object_get(o, "data");
	*out = NULL;
	*out_len = 0;
	if (!v)
		return required ? fail(err, 400, "data is missing") : 0;
	if (!json_is_string(v))
		return fail(err, 400, "data is not a string");
	size_t tlen = json_string_length(v);
	uint8_t scratch[1];
	long n = lpw_t8_base64_decode(json_string_value(v), tlen, buf ? buf : scratch, buf ? cap : 0);
	if (n == -EMSGSIZE && !buf)
		return 0; /* not wanted: an answer echoing data */
	if (n == -EMSGSIZE)
		return fail(err, 413, "data of about %zu bytes exceeds %zu", tlen / 4 * 3, cap);
	if (n < 0)
		return fail(err, 400, "data is not base64");
	*out = buf;
	*out_len = (size_t)n;
	return 0;
}

static int get_enum(json_t *o, const char *name, char *text, size_t cap, lpw_t8_err_t *err)
{
	int rc = get_str(o, name, text, cap, false, err);
	if (rc == -EBADMSG && json_is_string(json_object_get(o, name))) {
		/* an unknown value longer than we keep: kept cut, classified as OTHER */
		snprintf(text, cap, "%s", json_string_value(json_object_get(o, name)));
		rc = 0;
	}
	return rc;
}

int lpw_t8_json_decode_config(const uint8_t *body, size_t len, lpw_t8_config_msg_t *out, lpw_t8_err_t *err)
{
	memset(out, 0, sizeof(*out));
	int rc = 0;
	json_t *o = parse_object(body, len, err, &rc);
	if (!o)
		return rc;
	char pdn[LPW_T8_ENUM_MAX] = "";
	rc = get_str(o, "self", out->self, sizeof(out->self), false, err);
	if (!rc)
		rc = get_identity(o, out->external_id, out->msisdn, false, err);
	if (!rc)
		rc = get_str(o, "notificationDestination", out->notification_destination,
			     sizeof(out->notification_destination), false, err);
	if (!rc)
		rc = get_time(o, "duration", &out->duration, err);
	json_t *mps = json_object_get(o, "maximumPacketSize");
	if (!rc && mps && (!json_is_integer(mps) || json_integer_value(mps) < 1 ||
			   json_integer_value(mps) > UINT32_MAX))
		rc = fail(err, 400, "maximumPacketSize is not an integer of 1..%u", UINT32_MAX);
	else if (mps)
		out->maximum_packet_size = (uint32_t)json_integer_value(mps);
	if (!rc)
		rc = get_enum(o, "status", out->status_text, sizeof(out->status_text), err);
	if (!rc)
		rc = get_enum(o, "pdnEstablishmentOption", pdn, sizeof(pdn), err);
	out->status = out->status_text[0] ? lpw_t8_nidd_status_parse(out->status_text) : LPW_T8_NS_ABSENT;
	out->pdn_establishment_option = pdn[0] ? lpw_t8_pdn_option_parse(pdn) : LPW_T8_PDN_ABSENT;
	json_decref(o);
	return rc;
}

int lpw_t8_json_decode_downlink(const uint8_t *body, size_t len, uint8_t *data_buf, size_t data_cap,
				lpw_t8_downlink_msg_t *out, lpw_t8_err_t *err)
{
	memset(out, 0, sizeof(*out));
	int rc = 0;
	json_t *o = parse_object(body, len, err, &rc);
	if (!o)
		return rc;
	rc = get_str(o, "self", out->self, sizeof(out->self), false, err);
	if (!rc)
		rc = get_identity(o, out->external_id, out->msisdn, false, err);
	if (!rc)
		rc = get_data(o, false, data_buf, data_cap, &out->data, &out->data_len, err);
	if (!rc)
		rc = get_enum(o, "deliveryStatus", out->delivery_status_text, sizeof(out->delivery_status_text), err);
	if (!rc)
		rc = get_time(o, "requestedRetransmissionTime", &out->requested_retransmission_time, err);
	out->delivery_status = out->delivery_status_text[0] ? lpw_t8_delivery_status_parse(out->delivery_status_text)
							   : LPW_T8_DS_ABSENT;
	json_decref(o);
	return rc;
}

/* The yaml's oneOf has no discriminator: each type is told by the members only it requires. */
static int notification_kind(json_t *o, lpw_t8_notif_kind_t *out, lpw_t8_err_t *err)
{
	if (json_object_get(o, "niddDownlinkDataTransfer"))
		*out = json_object_get(o, "gmdResults") ? LPW_T8_NOTIF_GMD_DELIVERY : LPW_T8_NOTIF_DELIVERY_STATUS;
	else if (json_object_get(o, "niddConfiguration"))
		*out = json_object_get(o, "data")     ? LPW_T8_NOTIF_UPLINK
		       : json_object_get(o, "status") ? LPW_T8_NOTIF_CONFIG_STATUS
						      : LPW_T8_NOTIF_MANAGE_PORT;
	else if (json_object_get(o, "subscription"))
		*out = LPW_T8_NOTIF_TEST;
	else
		return fail(err, 400, "not a NIDD notification: no niddConfiguration, niddDownlinkDataTransfer or "
				      "subscription");
	return 0;
}

int lpw_t8_json_decode_notification(const uint8_t *body, size_t len, uint8_t *data_buf, size_t data_cap,
				    lpw_t8_notification_t *out, lpw_t8_err_t *err)
{
	memset(out, 0, sizeof(*out));
	int rc = 0;
	json_t *o = parse_object(body, len, err, &rc);
	if (!o)
		return rc;
	rc = notification_kind(o, &out->kind, err);
	const char *link_name = out->kind == LPW_T8_NOTIF_TEST ? "subscription"
				: out->kind == LPW_T8_NOTIF_DELIVERY_STATUS || out->kind == LPW_T8_NOTIF_GMD_DELIVERY
					? "niddDownlinkDataTransfer"
					: "niddConfiguration";
	if (!rc)
		rc = get_str(o, link_name, out->link, sizeof(out->link), true, err);
	bool per_ue = out->kind == LPW_T8_NOTIF_UPLINK || out->kind == LPW_T8_NOTIF_CONFIG_STATUS;
	if (!rc)
		rc = get_identity(o, out->external_id, out->msisdn, per_ue, err);
	if (!rc && out->kind == LPW_T8_NOTIF_UPLINK)
		rc = get_data(o, true, data_buf, data_cap, &out->data, &out->data_len, err);
	if (!rc && out->kind == LPW_T8_NOTIF_UPLINK && !out->data)
		rc = fail(err, 500, "no buffer for the data");
	if (!rc && out->kind == LPW_T8_NOTIF_DELIVERY_STATUS) {
		rc = get_enum(o, "deliveryStatus", out->delivery_status_text, sizeof(out->delivery_status_text), err);
		if (!rc && !out->delivery_status_text[0])
			rc = fail(err, 400, "deliveryStatus is missing or empty");
		if (!rc)
			rc = get_time(o, "requestedRetransmissionTime", &out->requested_retransmission_time, err);
		out->delivery_status = lpw_t8_delivery_status_parse(out->delivery_status_text);
	}
	if (!rc && out->kind == LPW_T8_NOTIF_CONFIG_STATUS) {
		rc = get_enum(o, "status", out->status_text, sizeof(out->status_text), err);
		out->status = lpw_t8_nidd_status_parse(out->status_text);
	}
	if (!rc && out->kind == LPW_T8_NOTIF_GMD_DELIVERY && !json_is_array(json_object_get(o, "gmdResults")))
		rc = fail(err, 400, "gmdResults is not an array");
	json_decref(o);
	return rc;
}

static void copy_text(json_t *o, const char *name, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, name));
	if (s)
		snprintf(out, cap, "%s", s);
}

int lpw_t8_json_decode_problem(const uint8_t *body, size_t len, lpw_t8_problem_t *out)
{
	memset(out, 0, sizeof(*out));
	int rc = 0;
	json_t *root = parse_object(body, len, NULL, &rc);
	if (!root)
		return rc;
	/* NiddDownlinkDataDeliveryFailure wraps one: { problemDetail, requestedRetransmissionTime } */
	json_t *o = json_is_object(json_object_get(root, "problemDetail")) ? json_object_get(root, "problemDetail")
									    : root;
	copy_text(o, "type", out->type, sizeof(out->type));
	copy_text(o, "title", out->title, sizeof(out->title));
	copy_text(o, "detail", out->detail, sizeof(out->detail));
	copy_text(o, "cause", out->cause, sizeof(out->cause));
	copy_text(o, "instance", out->instance, sizeof(out->instance));
	json_t *st = json_object_get(o, "status");
	if (json_is_integer(st) && json_integer_value(st) >= 100 && json_integer_value(st) <= 599)
		out->status = (int)json_integer_value(st);
	json_t *ip = json_array_get(json_object_get(o, "invalidParams"), 0);
	copy_text(ip, "param", out->invalid_param, sizeof(out->invalid_param));
	const char *rt = json_string_value(json_object_get(root, "requestedRetransmissionTime"));
	if (rt && lpw_t8_datetime_parse(rt, &out->requested_retransmission_time) < 0)
		out->requested_retransmission_time = 0;
	json_decref(root);
	return 0;
}

/* --- encoders --- */

static int finish(json_t *o, int rc, char **out)
{
	if (!rc && !o)
		rc = -ENOMEM;
	if (!rc) {
		*out = json_dumps(o, JSON_COMPACT);
		rc = *out ? 0 : -ENOMEM;
	}
	json_decref(o);
	return rc;
}

static int set_str(json_t *o, const char *name, const char *v)
{
	return v && v[0] && json_object_set_new(o, name, json_string(v)) < 0 ? -ENOMEM : 0;
}

static int set_identity(json_t *o, const char *ext, const char *msisdn)
{
	if (!ext[0] == !msisdn[0])
		return -EINVAL;
	return set_str(o, ext[0] ? "externalId" : "msisdn", ext[0] ? ext : msisdn);
}

static int set_time(json_t *o, const char *name, int64_t s)
{
	char text[32];
	if (!s)
		return 0;
	if (lpw_t8_datetime_format(s, text, sizeof(text)) < 0)
		return -EINVAL;
	return set_str(o, name, text);
}

int lpw_t8_json_encode_config(const lpw_t8_config_msg_t *m, char **out)
{
	json_t *o = json_object();
	if (!m->notification_destination[0]) {
		json_decref(o);
		return -EINVAL;
	}
	int rc = o ? set_identity(o, m->external_id, m->msisdn) : -ENOMEM;
	if (!rc)
		rc = set_str(o, "notificationDestination", m->notification_destination);
	if (!rc)
		rc = set_time(o, "duration", m->duration);
	if (!rc)
		rc = set_str(o, "pdnEstablishmentOption", lpw_t8_pdn_option_name(m->pdn_establishment_option));
	return finish(o, rc, out);
}

int lpw_t8_json_encode_config_patch(int64_t duration, const char *notification_destination, char **out)
{
	json_t *o = json_object();
	int rc = o ? set_time(o, "duration", duration) : -ENOMEM;
	if (!rc)
		rc = set_str(o, "notificationDestination", notification_destination);
	return finish(o, rc, out);
}

int lpw_t8_json_encode_downlink(const lpw_t8_downlink_msg_t *m, char **out)
{
	json_t *o = json_object();
	int rc = o ? set_identity(o, m->external_id, m->msisdn) : -ENOMEM;
	char *text = NULL;
	if (!rc && !m->data)
		rc = -EINVAL;
	if (!rc && !(text = malloc((m->data_len + 2) / 3 * 4 + 1)))
		rc = -ENOMEM;
	if (!rc && lpw_t8_base64_encode(m->data, m->data_len, text, (m->data_len + 2) / 3 * 4 + 1) < 0)
		rc = -EINVAL;
	if (!rc)
		rc = set_str(o, "data", text[0] ? text : NULL);
	if (!rc && !text[0] && json_object_set_new(o, "data", json_string("")) < 0)
		rc = -ENOMEM;
	free(text);
	if (!rc)
		rc = set_str(o, "pdnEstablishmentOption", lpw_t8_pdn_option_name(m->pdn_establishment_option));
	return finish(o, rc, out);
}

int lpw_t8_json_encode_problem(const lpw_t8_problem_t *p, char **out)
{
	json_t *o = json_object();
	int rc = o ? 0 : -ENOMEM;
	if (!rc)
		rc = set_str(o, "type", p->type);
	if (!rc)
		rc = set_str(o, "title", p->title);
	if (!rc && p->status && json_object_set_new(o, "status", json_integer(p->status)) < 0)
		rc = -ENOMEM;
	if (!rc)
		rc = set_str(o, "detail", p->detail);
	if (!rc)
		rc = set_str(o, "cause", p->cause);
	return finish(o, rc, out);
}
