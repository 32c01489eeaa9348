/* ChirpStack v4 integration JSON (see lw_cs_json.h for the schema followed). */
#include "bindings/lorawan/lw_cs_json.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>

#include "core/hex.h"

#define LW_CS_MAX_BODY 65536 /* ChirpStack's largest events (uplinks with many rxInfo entries) stay far below */

static const char *const kind_names[LW_CS_KIND_COUNT] = {"up", "join", "ack", "txack", "status", "log"};

int lw_cs_kind_from_name(const char *name)
{
	for (int i = 0; i < LW_CS_KIND_COUNT; i++)
		if (strcmp(name, kind_names[i]) == 0)
			return i;
	return -1;
}

static int fail(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t cap, const char *fmt, ...)
{
	if (why && cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* proto3 JSON writes uint32 as a number, but a parser must also take its decimal string form. */
static int get_uint(json_t *obj, const char *key, uint64_t max, uint64_t *out, char *why, size_t cap)
{
	json_t *v = json_object_get(obj, key);
	*out = 0;
	if (!v || json_is_null(v))
		return 0; /* a default value left out */
	if (json_is_integer(v) && json_integer_value(v) >= 0 && (uint64_t)json_integer_value(v) <= max) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	if (s && s[0] && strlen(s) <= 10 && strspn(s, "0123456789") == strlen(s)) {
		unsigned long long n = strtoull(s, NULL, 10);
		if (n <= max) {
			*out = n;
			return 0;
		}
	}
	return fail(why, cap, "\"%s\" is not an integer 0..%" PRIu64, key, max);
}

static int get_bool(json_t *obj, const char *key, bool *out, char *why, size_t cap)
{
	json_t *v = json_object_get(obj, key);
	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return fail(why, cap, "\"%s\" is not a boolean", key);
	*out = json_is_true(v);
	return 0;
}

/* An optional string copied into out (truncated when trunc, else refused when longer than cap - 1). */
static int get_str(json_t *obj, const char *key, char *out, size_t cap, bool trunc, char *why, size_t wcap)
{
	json_t *v = json_object_get(obj, key);
	out[0] = '\0';
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(why, wcap, "\"%s\" is not a string", key);
	size_t n = json_string_length(v);
	if (n >= cap && !trunc)
		return fail(why, wcap, "\"%s\" is %zu characters long; expected at most %zu", key, n, cap - 1);
	n = n < cap ? n : cap - 1;
	memcpy(out, json_string_value(v), n);
	out[n] = '\0';
	if (strlen(out) != n) /* an embedded NUL (\u0000) */
		return fail(why, wcap, "\"%s\" contains a NUL character", key);
	return 0;
}

static bool uuid_shaped(const char *s)
{
	if (strlen(s) != LW_CS_UUID_LEN)
		return false;
	for (size_t i = 0; i < LW_CS_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : lpw_hex_digit(s[i]) < 0)
			return false;
	}
	return true;
}

static int get_uuid(json_t *obj, const char *key, char out[LW_CS_UUID_LEN + 1], char *why, size_t cap)
{
	int rc = get_str(obj, key, out, LW_CS_UUID_LEN + 1, false, why, cap);
	if (rc == 0 && out[0] && !uuid_shaped(out))
		return fail(why, cap, "\"%s\" is not a UUID", key);
	return rc;
}

static int device_info(json_t *root, lw_cs_event_t *out, char *why, size_t cap)
{
	json_t *di = json_object_get(root, "deviceInfo");
	if (!json_is_object(di))
		return fail(why, cap, "\"deviceInfo\" is %s; expected an object with devEui",
			    di ? "not an object" : "missing");
	json_t *eui = json_object_get(di, "devEui");
	const char *s = json_is_string(eui) ? json_string_value(eui) : NULL;
	if (!s || json_string_length(eui) != 16)
		return fail(why, cap, "\"deviceInfo.devEui\" is %s; expected 16 hex digits",
			    !eui ? "missing" : !s ? "not a string" : "not 16 characters long");
	for (size_t i = 0; i < 16; i++) {
		if (lpw_hex_digit(s[i]) < 0)
			return fail(why, cap, "\"deviceInfo.devEui\" is not 16 hex digits");
		out->dev_eui[i] = (char)(s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 'A' : s[i]);
	}
	out->dev_eui[16] = '\0';
	return get_uuid(di, "applicationId", out->application_id, why, cap);
}

/* Standard base64 with its padding; a missing padding is tolerated (it carries no information). */
static int get_data(json_t *root, lw_cs_event_t *out, char *why, size_t cap)
{
	json_t *v = json_object_get(root, "data");
	out->len = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(why, cap, "\"data\" is not a string; expected base64");
	size_t n = json_string_length(v);
	char buf[4 * ((LW_CS_MAX_DATA + 2) / 3) + 4];
	if (n > sizeof(buf) - 4)
		return fail(why, cap, "\"data\" is %zu characters long; expected at most %d bytes of base64", n,
			    LW_CS_MAX_DATA);
	memcpy(buf, json_string_value(v), n);
	if (n % 4 == 1)
		return fail(why, cap, "\"data\" is not valid base64");
	while (n % 4)
		buf[n++] = '=';
	size_t olen = 0;
	if (n && mbedtls_base64_decode(out->data, sizeof(out->data), &olen, (const unsigned char *)buf, n) != 0)
		return fail(why, cap, "\"data\" is not valid base64 of at most %d bytes", LW_CS_MAX_DATA);
	out->len = olen;
	return 0;
}

/* txInfo: {"frequency": Hz, "modulation": {"lora": {"bandwidth": Hz, "spreadingFactor": n, ...}}}. */
static int tx_info(json_t *root, lw_cs_event_t *out, char *why, size_t cap)
{
	json_t *tx = json_object_get(root, "txInfo");
	uint64_t v;
	if (!tx || json_is_null(tx))
		return 0;
	if (!json_is_object(tx))
		return fail(why, cap, "\"txInfo\" is not an object");
	if (get_uint(tx, "frequency", UINT32_MAX, &v, why, cap))
		return -EINVAL;
	out->freq_hz = (uint32_t)v;
	json_t *mod = json_object_get(tx, "modulation");
	json_t *lora = json_is_object(mod) ? json_object_get(mod, "lora") : NULL;
	if (mod && !json_is_null(mod) && !json_is_object(mod))
		return fail(why, cap, "\"txInfo.modulation\" is not an object");
	if (!json_is_object(lora))
		return 0; /* FSK or LR-FHSS: the dr field decides */
	if (get_uint(lora, "bandwidth", 1000000, &v, why, cap))
		return -EINVAL;
	out->bw_hz = (uint32_t)v;
	if (get_uint(lora, "spreadingFactor", 12, &v, why, cap))
		return -EINVAL;
	out->sf = (unsigned)v;
	return 0;
}

static int parse_up(json_t *root, lw_cs_event_t *out, char *why, size_t cap)
{
	uint64_t v;
	if (get_data(root, out, why, cap) || tx_info(root, out, why, cap))
		return -EINVAL;
	if (get_uint(root, "fPort", 255, &v, why, cap))
		return -EINVAL;
	out->fport = (uint8_t)v;
	if (get_uint(root, "fCnt", UINT32_MAX, &v, why, cap))
		return -EINVAL;
	out->fcnt = (uint32_t)v;
	if (get_bool(root, "confirmed", &out->confirmed, why, cap))
		return -EINVAL;
	out->dr = -1;
	if (json_object_get(root, "dr")) {
		if (get_uint(root, "dr", 15, &v, why, cap))
			return -EINVAL;
		out->dr = (int)v;
	}
	if (out->len && out->fport == 0)
		return fail(why, cap, "\"data\" is set but \"fPort\" is 0; expected an FPort 1..255 with data");
	return 0;
}

static int parse_log(json_t *root, lw_cs_event_t *out, char *why, size_t cap)
{
	static const char *const levels[] = {"INFO", "WARNING", "ERROR"};
	json_t *lv = json_object_get(root, "level");
	out->level = LW_CS_LOG_INFO;
	if (json_is_string(lv)) {
		size_t i = 0;
		while (i < 3 && strcmp(json_string_value(lv), levels[i]) != 0)
			i++;
		if (i == 3)
			return fail(why, cap, "\"level\" is not INFO, WARNING or ERROR");
		out->level = (lw_cs_log_level_t)i;
	} else if (lv && !json_is_null(lv)) {
		uint64_t v;
		if (get_uint(root, "level", 2, &v, why, cap))
			return -EINVAL;
		out->level = (lw_cs_log_level_t)v;
	}
	json_t *code = json_object_get(root, "code");
	if (json_is_integer(code)) /* the enum's number form */
		snprintf(out->code, sizeof(out->code), "%" JSON_INTEGER_FORMAT, json_integer_value(code));
	else if (get_str(root, "code", out->code, sizeof(out->code), false, why, cap))
		return -EINVAL;
	if (get_str(root, "description", out->description, sizeof(out->description), true, why, cap))
		return -EINVAL;
	json_t *ctx = json_object_get(root, "context");
	if (ctx && !json_is_null(ctx) && !json_is_object(ctx))
		return fail(why, cap, "\"context\" is not an object");
	if (json_is_object(ctx) && get_uuid(ctx, "queue_item_id", out->context_queue_item_id, why, cap))
		return -EINVAL;
	return 0;
}

static int parse_kind(json_t *root, lw_cs_event_t *out, char *why, size_t cap)
{
	uint64_t v;
	switch (out->kind) {
	case LW_CS_UP:
		return parse_up(root, out, why, cap);
	case LW_CS_ACK:
		if (get_bool(root, "acknowledged", &out->acknowledged, why, cap))
			return -EINVAL;
		__attribute__((fallthrough)); /* queueItemId and fCntDown as in txack */
	case LW_CS_TXACK:
		if (get_uuid(root, "queueItemId", out->queue_item_id, why, cap) ||
		    get_uint(root, "fCntDown", UINT32_MAX, &v, why, cap))
			return -EINVAL;
		out->fcnt_down = (uint32_t)v;
		return 0;
	case LW_CS_LOG:
		return parse_log(root, out, why, cap);
	case LW_CS_JOIN:
	case LW_CS_STATUS:
	default:
		return 0; /* deviceInfo is all we use */
	}
}

int lw_cs_event_parse(lw_cs_kind_t kind, const void *json, size_t len, lw_cs_event_t *out, char *why, size_t cap)
{
	if (why && cap)
		why[0] = '\0';
	if (!out || (unsigned)kind >= LW_CS_KIND_COUNT || (!json && len))
		return fail(why, cap, "bad arguments");
	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->dr = -1;
	if (len > LW_CS_MAX_BODY)
		return fail(why, cap, "the body is %zu bytes; expected at most %d", len, LW_CS_MAX_BODY);
	json_error_t err;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (!root)
		return fail(why, cap, "not JSON: %s at offset %d", err.text, err.position);
	int rc = json_is_object(root) ? 0 : fail(why, cap, "the body is not a JSON object");
	if (rc == 0)
		rc = device_info(root, out, why, cap);
	if (rc == 0)
		rc = parse_kind(root, out, why, cap);
	json_decref(root);
	return rc;
}

void lw_cs_uuid_format(const uint8_t bytes[16], char out[LW_CS_UUID_LEN + 1])
{
	uint8_t b[16];
	memcpy(b, bytes, 16);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* RFC 9562 §5.4: version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10 */
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

int lw_cs_down_encode(const char *id, const char *dev_eui, uint8_t fport, bool confirmed, const uint8_t *data,
		      size_t len, char *out, size_t cap)
{
	char eui[17], b64[4 * ((LW_CS_MAX_DATA + 2) / 3) + 1];
	size_t blen = 0;
	if (!id || !uuid_shaped(id) || !dev_eui || strlen(dev_eui) != 16 || fport == 0 || fport > 223 ||
	    len > LW_CS_MAX_DATA || (len && !data))
		return -EINVAL;
	for (size_t i = 0; i < 16; i++) {
		if (lpw_hex_digit(dev_eui[i]) < 0)
			return -EINVAL;
		eui[i] = (char)(dev_eui[i] >= 'A' && dev_eui[i] <= 'F' ? dev_eui[i] - 'A' + 'a' : dev_eui[i]);
	}
	eui[16] = '\0';
	if (len && mbedtls_base64_encode((unsigned char *)b64, sizeof(b64), &blen, data, len) != 0)
		return -EINVAL;
	b64[blen] = '\0';
	int n = snprintf(out, cap, "{\"id\":\"%s\",\"devEui\":\"%s\",\"confirmed\":%s,\"fPort\":%u,\"data\":\"%s\"}", id,
			 eui, confirmed ? "true" : "false", fport, b64);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}
