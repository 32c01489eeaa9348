/* T8 NIDD messages as JSON (TS 29.122 Rel-17, V17.7.0): see t8_json.h. */
#include "bindings/nidd/t8_json.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- enums (TS29122_NIDD.yaml, in its order) --- */

static const char *const ds_names[] = {
	[LPW_T8_DS_SUCCESS] = "SUCCESS",
	[LPW_T8_DS_SUCCESS_NEXT_HOP_ACKNOWLEDGED] = "SUCCESS_NEXT_HOP_ACKNOWLEDGED",
	[LPW_T8_DS_SUCCESS_NEXT_HOP_UNACKNOWLEDGED] = "SUCCESS_NEXT_HOP_UNACKNOWLEDGED",
	[LPW_T8_DS_SUCCESS_ACKNOWLEDGED] = "SUCCESS_ACKNOWLEDGED",
	[LPW_T8_DS_SUCCESS_UNACKNOWLEDGED] = "SUCCESS_UNACKNOWLEDGED",
	[LPW_T8_DS_TRIGGERED] = "TRIGGERED",
	[LPW_T8_DS_BUFFERING] = "BUFFERING",
	[LPW_T8_DS_BUFFERING_TEMPORARILY_NOT_REACHABLE] = "BUFFERING_TEMPORARILY_NOT_REACHABLE",
	[LPW_T8_DS_SENDING] = "SENDING",
	[LPW_T8_DS_FAILURE] = "FAILURE",
	[LPW_T8_DS_FAILURE_RDS_DISABLED] = "FAILURE_RDS_DISABLED",
	[LPW_T8_DS_FAILURE_NEXT_HOP] = "FAILURE_NEXT_HOP",
	[LPW_T8_DS_FAILURE_TIMEOUT] = "FAILURE_TIMEOUT",
	[LPW_T8_DS_FAILURE_TEMPORARILY_NOT_REACHABLE] = "FAILURE_TEMPORARILY_NOT_REACHABLE",
};

static const char *const ns_names[] = {
	[LPW_T8_NS_ACTIVE] = "ACTIVE",
	[LPW_T8_NS_TERMINATED_UE_NOT_AUTHORIZED] = "TERMINATED_UE_NOT_AUTHORIZED",
	[LPW_T8_NS_TERMINATED] = "TERMINATED",
	[LPW_T8_NS_RDS_PORT_UNKNOWN] = "RDS_PORT_UNKNOWN",
};

static const char *const pdn_names[] = {
	[LPW_T8_PDN_WAIT_FOR_UE] = "WAIT_FOR_UE",
	[LPW_T8_PDN_INDICATE_ERROR] = "INDICATE_ERROR",
	[LPW_T8_PDN_SEND_TRIGGER] = "SEND_TRIGGER",
};

static const char *enum_name(const char *const *names, size_t n, int v)
{
	return v > 0 && (size_t)v < n && names[v] ? names[v] : "";
}

/* first..last are the defined values; ABSENT is 0 and OTHER is last + 1. */
static int enum_parse(const char *const *names, size_t n, const char *text)
{
	if (!text)
		return 0;
	for (size_t i = 1; i < n; i++)
		if (names[i] && !strcmp(names[i], text))
			return (int)i;
	return (int)n;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *lpw_t8_delivery_status_name(lpw_t8_delivery_status_t s)
{
	return enum_name(ds_names, COUNT(ds_names), s);
}
const char *lpw_t8_nidd_status_name(lpw_t8_nidd_status_t s)
{
	return enum_name(ns_names, COUNT(ns_names), s);
}
const char *lpw_t8_pdn_option_name(lpw_t8_pdn_option_t p)
{
	return enum_name(pdn_names, COUNT(pdn_names), p);
}
lpw_t8_delivery_status_t lpw_t8_delivery_status_parse(const char *text)
{
	return (lpw_t8_delivery_status_t)enum_parse(ds_names, COUNT(ds_names), text);
}
lpw_t8_nidd_status_t lpw_t8_nidd_status_parse(const char *text)
{
	return (lpw_t8_nidd_status_t)enum_parse(ns_names, COUNT(ns_names), text);
}
lpw_t8_pdn_option_t lpw_t8_pdn_option_parse(const char *text)
{
	return (lpw_t8_pdn_option_t)enum_parse(pdn_names, COUNT(pdn_names), text);
}

lpw_t8_delivery_class_t lpw_t8_delivery_class(lpw_t8_delivery_status_t s, const char *text)
{
	switch (s) {
	case LPW_T8_DS_ABSENT: return LPW_T8_DC_NONE;
	case LPW_T8_DS_SUCCESS:
	case LPW_T8_DS_SUCCESS_NEXT_HOP_ACKNOWLEDGED:
	case LPW_T8_DS_SUCCESS_NEXT_HOP_UNACKNOWLEDGED:
	case LPW_T8_DS_SUCCESS_ACKNOWLEDGED:
	case LPW_T8_DS_SUCCESS_UNACKNOWLEDGED: return LPW_T8_DC_DELIVERED;
	case LPW_T8_DS_TRIGGERED:
	case LPW_T8_DS_BUFFERING:
	case LPW_T8_DS_BUFFERING_TEMPORARILY_NOT_REACHABLE:
	case LPW_T8_DS_SENDING: return LPW_T8_DC_PENDING;
	case LPW_T8_DS_FAILURE_TEMPORARILY_NOT_REACHABLE: return LPW_T8_DC_TEMPORARY;
	case LPW_T8_DS_FAILURE:
	case LPW_T8_DS_FAILURE_RDS_DISABLED:
	case LPW_T8_DS_FAILURE_NEXT_HOP:
	case LPW_T8_DS_FAILURE_TIMEOUT: return LPW_T8_DC_FAILED;
	case LPW_T8_DS_OTHER: break;
	}
	/* A value of a later release: judged by its prefix, the naming the enumeration follows. */
	if (text && !strncmp(text, "SUCCESS", 7))
		return LPW_T8_DC_DELIVERED;
	if (text && (!strncmp(text, "BUFFERING", 9) || !strncmp(text, "SENDING", 7) || !strncmp(text, "TRIGGERED", 9)))
		return LPW_T8_DC_PENDING;
	if (text && !strncmp(text, "FAILURE", 7))
		return LPW_T8_DC_FAILED;
	return LPW_T8_DC_UNKNOWN;
}

static const char *const notif_names[] = {
	[LPW_T8_NOTIF_UPLINK] = "uplink-data",          [LPW_T8_NOTIF_DELIVERY_STATUS] = "delivery-status",
	[LPW_T8_NOTIF_CONFIG_STATUS] = "configuration-status", [LPW_T8_NOTIF_GMD_DELIVERY] = "group-delivery",
	[LPW_T8_NOTIF_MANAGE_PORT] = "manage-port",     [LPW_T8_NOTIF_TEST] = "test",
};

const char *lpw_t8_notif_kind_name(lpw_t8_notif_kind_t k)
{
	return (size_t)k < COUNT(notif_names) ? notif_names[k] : "?";
}

/* --- base64 (RFC 4648 §4) --- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

long lpw_t8_base64_encode(const uint8_t *data, size_t len, char *out, size_t cap)
{
	size_t need = (len + 2) / 3 * 4;
	if (cap < need + 1)
		return -ENOSPC;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0) |
			     (i + 2 < len ? data[i + 2] : 0);
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return (long)o;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

long lpw_t8_base64_decode(const char *text, size_t len, uint8_t *out, size_t cap)
{
	size_t pad = 0;
	while (len > 0 && pad < 2 && text[len - 1] == '=') {
		len--;
		pad++;
	}
	if (len % 4 == 1 || (pad && (len + pad) % 4))
		return -EINVAL;
	size_t n = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
	if (n > cap)
		return -EMSGSIZE;
	uint32_t acc = 0;
	size_t o = 0, bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(text[i]);
		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* RFC 4648 §3.5: the unused bits of the last character must be zero, so each text has one decoding */
	if (bits && (acc & ((1u << bits) - 1)))
		return -EINVAL;
	return (long)o;
}

/* --- date-time (RFC 3339) --- */

/* Days from 1970-01-01 of a proleptic Gregorian date (the civil calendar arithmetic of RFC 3339 App. B). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = y / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int month_days(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100) || y % 400 == 0;
	return d[m - 1] + (m == 2 && leap);
}

int lpw_t8_datetime_parse(const char *t, int64_t *out_s)
{
	int y, mo, d, h, mi, s;
	if (!t || strlen(t) < 20 || !digits(t, 4, &y) || t[4] != '-' || !digits(t + 5, 2, &mo) || t[7] != '-' ||
	    !digits(t + 8, 2, &d) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !digits(t + 11, 2, &h) ||
	    t[13] != ':' || !digits(t + 14, 2, &mi) || t[16] != ':' || !digits(t + 17, 2, &s))
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 || s > 60)
		return -EINVAL;
	const char *p = t + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int64_t off = 0;
	if ((*p == 'Z' || *p == 'z') && !p[1]) {
		off = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		off = (*p == '+' ? 1 : -1) * (oh * 3600 + om * 60);
	} else {
		return -EINVAL;
	}
	int64_t v = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + (s > 59 ? 59 : s) - off;
	if (v < 0)
		return -EINVAL;
	*out_s = v;
	return 0;
}

int lpw_t8_datetime_format(int64_t s, char *out, size_t cap)
{
	if (s < 0 || s > 253402300799 || cap < 21) /* 9999-12-31T23:59:59Z */
		return -EINVAL;
	int64_t days = s / 86400, rem = s % 86400;
	/* the inverse of days_from_civil */
	int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1), m = (int)(mp < 10 ? mp + 3 : mp - 9);
	int y = (int)(yoe + era * 400 + (m <= 2));
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(rem / 3600), (int)(rem / 60 % 60),
		 (int)(rem % 60));
	return 0;
}

/* --- links --- */

int lpw_t8_link_id(const char *link, char *out, size_t cap)
{
	if (!link)
		return -EINVAL;
	size_t end = strcspn(link, "?#");
	while (end > 0 && link[end - 1] == '/')
		end--;
	size_t start = end;
	while (start > 0 && link[start - 1] != '/')
		start--;
	size_t n = end - start;
	if (n == 0 || n >= cap)
		return -EINVAL;
	for (size_t i = start; i < end; i++) {
		char c = link[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			  c == '.' || c == '_' || c == '~';
		if (!ok)
			return -EINVAL;
	}
	memcpy(out, link + start, n);
	out[n] = '\0';
	return 0;
}

/* --- depth check before parsing --- */

bool lpw_t8_json_too_deep(const uint8_t *body, size_t len, unsigned max)
{
	unsigned depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = body[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return true;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return false;
}
