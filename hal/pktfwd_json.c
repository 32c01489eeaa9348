/* rxpk / stat / txpk / txpk_ack JSON <-> structs, with every field checked for type and range. */
#include "hal/pktfwd_json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/base64.h>

static const char *const txack_names[] = {
	"NONE", "TOO_LATE", "TOO_EARLY", "COLLISION_PACKET", "COLLISION_BEACON", "TX_FREQ", "TX_POWER", "GPS_UNLOCKED",
};

const char *lpw_txack_error_name(lpw_txack_error_t err)
{
	if ((unsigned)err >= sizeof(txack_names) / sizeof(txack_names[0]))
		return "?";
	return txack_names[err];
}

__attribute__((format(printf, 3, 4))) static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	if (why && whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* An integer field in [min, max]. Absent: -ENOENT when optional (nothing written), -EBADMSG when required. */
static int get_int(const json_t *obj, const char *key, bool required, json_int_t min, json_int_t max, json_int_t *out,
		   char *why, size_t whylen)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return required ? fail(why, whylen, "\"%s\" missing", key) : -ENOENT;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return fail(why, whylen, "\"%s\" is not an integer in %lld..%lld", key, (long long)min, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

/* A number (integer or real) in [min, max]; same absence rules as get_int. */
static int get_num(const json_t *obj, const char *key, bool required, double min, double max, double *out, char *why,
		   size_t whylen)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return required ? fail(why, whylen, "\"%s\" missing", key) : -ENOENT;
	double d = json_number_value(v);
	if (!json_is_number(v) || !isfinite(d) || d < min || d > max)
		return fail(why, whylen, "\"%s\" is not a number in %g..%g", key, min, max);
	*out = d;
	return 0;
}

static int get_str(const json_t *obj, const char *key, bool required, const char **out, char *why, size_t whylen)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return required ? fail(why, whylen, "\"%s\" missing", key) : -ENOENT;
	if (!json_is_string(v))
		return fail(why, whylen, "\"%s\" is not a string", key);
	*out = json_string_value(v);
	return 0;
}

static int get_bool(const json_t *obj, const char *key, bool *out, char *why, size_t whylen)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return -ENOENT;
	if (!json_is_boolean(v))
		return fail(why, whylen, "\"%s\" is not a boolean", key);
	*out = json_is_true(v);
	return 0;
}

/* An optional integer in 0..max; absent reads 0. -EBADMSG only for a present, bad value. */
static int get_opt_uint(const json_t *obj, const char *key, json_int_t max, uint32_t *out, char *why, size_t whylen)
{
	json_int_t i;
	int rc = get_int(obj, key, false, 0, max, &i, why, whylen);
	*out = rc == 0 ? (uint32_t)i : 0;
	return rc == -EBADMSG ? rc : 0;
}

/* Every *_from_json starts the same way: out cleared (absent optional fields read 0), obj must be an object. */
static int begin_object(const json_t *obj, void *out, size_t size, char *why, size_t whylen)
{
	memset(out, 0, size);
	return json_is_object(obj) ? 0 : fail(why, whylen, "not an object");
}

/* Optional string copied into a fixed field; too long is an error, not a silent cut. */
static int get_time(const json_t *obj, char *dst, size_t cap, char *why, size_t whylen)
{
	const char *s = NULL; /* gcc 12 for armhf cannot see get_str() sets it */
	int rc = get_str(obj, "time", false, &s, why, whylen);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (strlen(s) >= cap)
		return fail(why, whylen, "\"time\" longer than %zu characters", cap - 1);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* Reads a decimal number of at most 4 digits; returns the characters used, 0 if none. */
static int read_small_uint(const char *s, unsigned *out)
{
	int i = 0;
	*out = 0;
	while (i < 4 && s[i] >= '0' && s[i] <= '9')
		*out = *out * 10 + (unsigned)(s[i++] - '0');
	return i;
}

/* "SF7BW125" -> 7, 125. Strict: nothing before, between or after. */
static int parse_lora_datr(const char *s, uint8_t *sf, uint16_t *bw)
{
	unsigned a, b;
	if (strncmp(s, "SF", 2) != 0)
		return -EBADMSG;
	int n = read_small_uint(s + 2, &a);
	if (n == 0 || strncmp(s + 2 + n, "BW", 2) != 0)
		return -EBADMSG;
	const char *p = s + 4 + n;
	int m = read_small_uint(p, &b);
	if (m == 0 || p[m] != '\0' || a < 5 || a > 12 || (b != 125 && b != 250 && b != 500))
		return -EBADMSG;
	*sf = (uint8_t)a;
	*bw = (uint16_t)b;
	return 0;
}

/* "4/5".."4/8" -> 5..8 */
static int parse_codr(const char *s, uint8_t *out)
{
	if (s[0] != '4' || s[1] != '/' || s[2] < '5' || s[2] > '8' || s[3] != '\0')
		return -EBADMSG;
	*out = (uint8_t)(s[2] - '0');
	return 0;
}

static int get_lora_datr_codr(const json_t *obj, uint8_t *sf, uint16_t *bw, uint8_t *codr, char *why, size_t whylen)
{
	const char *s;
	int rc = get_str(obj, "datr", true, &s, why, whylen);
	if (rc < 0)
		return rc;
	if (parse_lora_datr(s, sf, bw) < 0)
		return fail(why, whylen, "\"datr\" \"%.16s\" is not SF5..12 with BW125/250/500", s);
	if ((rc = get_str(obj, "codr", true, &s, why, whylen)) < 0)
		return rc;
	if (parse_codr(s, codr) < 0)
		return fail(why, whylen, "\"codr\" \"%.8s\" is not 4/5..4/8", s);
	return 0;
}

/* "size" and "data" together: the decoded payload must have exactly the announced size. */
static int get_payload(const json_t *obj, uint16_t *size, uint8_t *data, char *why, size_t whylen)
{
	json_int_t n;
	const char *s;
	int rc = get_int(obj, "size", true, 0, LPW_PKTFWD_MAX_PAYLOAD, &n, why, whylen);
	if (rc < 0 || (rc = get_str(obj, "data", true, &s, why, whylen)) < 0)
		return rc;
	size_t slen = json_string_length(json_object_get(obj, "data"));
	int len = lpw_pktfwd_b64_decode(s, slen, data, LPW_PKTFWD_MAX_PAYLOAD);
	if (len == -EMSGSIZE)
		return fail(why, whylen, "\"data\" decodes to more than %d bytes", LPW_PKTFWD_MAX_PAYLOAD);
	if (len < 0)
		return fail(why, whylen, "\"data\" is not valid base64");
	if (len != n)
		return fail(why, whylen, "\"data\" has %d bytes but \"size\" says %lld", len, (long long)n);
	*size = (uint16_t)n;
	return 0;
}

static int get_modu(const json_t *obj, lpw_modu_t *out, char *why, size_t whylen)
{
	const char *s;
	int rc = get_str(obj, "modu", true, &s, why, whylen);
	if (rc < 0)
		return rc;
	if (strcmp(s, "LORA") == 0)
		*out = LPW_MODU_LORA;
	else if (strcmp(s, "FSK") == 0)
		*out = LPW_MODU_FSK;
	else
		return fail(why, whylen, "\"modu\" \"%.8s\" is neither LORA nor FSK", s);
	return 0;
}

/* The radio-specific fields of an rxpk: datr/codr/lsnr for LoRa, a numeric datr for FSK. */
static int rxpk_modulation(const json_t *obj, lpw_rxpk_t *out, char *why, size_t whylen)
{
	json_int_t i;
	int rc = get_modu(obj, &out->modu, why, whylen);
	if (rc < 0)
		return rc;
	if (out->modu == LPW_MODU_FSK) {
		rc = get_int(obj, "datr", true, 1, 1000000, &i, why, whylen);
		out->fsk_bps = (uint32_t)i;
		return rc;
	}
	if ((rc = get_lora_datr_codr(obj, &out->sf, &out->bw_khz, &out->codr, why, whylen)) < 0)
		return rc;
	return get_num(obj, "lsnr", true, -50, 50, &out->lsnr, why, whylen);
}

int lpw_rxpk_from_json(const json_t *obj, lpw_rxpk_t *out, char *why, size_t whylen)
{
	json_int_t i;
	uint32_t u;
	double d;
	int rc;
	if ((rc = begin_object(obj, out, sizeof(*out), why, whylen)) < 0)
		return rc;
	if ((rc = get_int(obj, "tmst", true, 0, UINT32_MAX, &i, why, whylen)) < 0)
		return rc;
	out->tmst = (uint32_t)i;
	if ((rc = get_int(obj, "tmms", false, 0, INT64_MAX, &i, why, whylen)) == -EBADMSG)
		return rc;
	out->has_tmms = rc == 0;
	out->tmms = out->has_tmms ? (uint64_t)i : 0;
	if ((rc = get_time(obj, out->time, sizeof(out->time), why, whylen)) < 0)
		return rc;
	if ((rc = get_num(obj, "freq", true, 1, 10000, &out->freq, why, whylen)) < 0)
		return rc;
	if ((rc = get_opt_uint(obj, "chan", UINT8_MAX, &u, why, whylen)) < 0)
		return rc;
	out->chan = (uint8_t)u;
	if ((rc = get_opt_uint(obj, "rfch", UINT8_MAX, &u, why, whylen)) < 0)
		return rc;
	out->rfch = (uint8_t)u;
	if ((rc = get_int(obj, "stat", true, -1, 1, &i, why, whylen)) < 0)
		return rc;
	out->stat = (int8_t)i;
	if ((rc = rxpk_modulation(obj, out, why, whylen)) < 0)
		return rc;
	/* The SX1302 forwarder writes rssi with "%.0f", older ones as an integer: accept both. */
	if ((rc = get_num(obj, "rssi", true, -250, 50, &d, why, whylen)) < 0)
		return rc;
	out->rssi = (int16_t)(d < 0 ? d - 0.5 : d + 0.5); /* rounded; range checked above */
	return get_payload(obj, &out->size, out->data, why, whylen);
}

int lpw_pktfwd_stat_from_json(const json_t *obj, lpw_pktfwd_stat_t *out, char *why, size_t whylen)
{
	json_int_t i;
	int rc;
	if ((rc = begin_object(obj, out, sizeof(*out), why, whylen)) < 0)
		return rc;
	if ((rc = get_time(obj, out->time, sizeof(out->time), why, whylen)) < 0)
		return rc;
	int la = get_num(obj, "lati", false, -90, 90, &out->lati, why, whylen);
	int lo = get_num(obj, "long", false, -180, 180, &out->lon, why, whylen);
	if (la == -EBADMSG || lo == -EBADMSG)
		return -EBADMSG;
	out->has_gps = la == 0 && lo == 0;
	if ((rc = get_int(obj, "alti", false, -100000, 100000, &i, why, whylen)) == -EBADMSG)
		return rc;
	out->alti = rc == 0 ? (int32_t)i : 0;
	if ((rc = get_num(obj, "ackr", false, 0, 100, &out->ackr, why, whylen)) == -EBADMSG)
		return rc;
	const struct {
		const char *key;
		uint32_t *out;
	} counters[] = {
		{"rxnb", &out->rxnb}, {"rxok", &out->rxok}, {"rxfw", &out->rxfw},
		{"dwnb", &out->dwnb}, {"txnb", &out->txnb},
	};
	for (size_t k = 0; k < sizeof(counters) / sizeof(counters[0]); k++)
		if (get_opt_uint(obj, counters[k].key, UINT32_MAX, counters[k].out, why, whylen) < 0)
			return -EBADMSG;
	return 0;
}

int lpw_txpk_from_json(const json_t *obj, lpw_txpk_t *out, char *why, size_t whylen)
{
	json_int_t i;
	uint32_t u;
	lpw_modu_t modu;
	int rc;
	if ((rc = begin_object(obj, out, sizeof(*out), why, whylen)) < 0)
		return rc;
	if ((rc = get_bool(obj, "imme", &out->imme, why, whylen)) == -EBADMSG)
		return rc;
	/* Without imme the packet needs a time; tmms (GPS time) is not supported by this server. */
	if ((rc = get_int(obj, "tmst", !out->imme, 0, UINT32_MAX, &i, why, whylen)) == -EBADMSG)
		return rc;
	out->tmst = rc == 0 && !out->imme ? (uint32_t)i : 0; /* imme: the forwarder ignores tmst (§6) */
	if ((rc = get_num(obj, "freq", true, 1, 10000, &out->freq, why, whylen)) < 0)
		return rc;
	if ((rc = get_opt_uint(obj, "rfch", UINT8_MAX, &u, why, whylen)) < 0)
		return rc;
	out->rfch = (uint8_t)u;
	if ((rc = get_int(obj, "powe", true, 0, 40, &i, why, whylen)) < 0)
		return rc;
	out->powe = (uint8_t)i;
	if ((rc = get_modu(obj, &modu, why, whylen)) < 0)
		return rc;
	if (modu != LPW_MODU_LORA)
		return fail(why, whylen, "\"modu\" FSK is not supported for transmission");
	if ((rc = get_lora_datr_codr(obj, &out->sf, &out->bw_khz, &out->codr, why, whylen)) < 0)
		return rc;
	if (get_bool(obj, "ipol", &out->ipol, why, whylen) == -EBADMSG ||
	    get_bool(obj, "ncrc", &out->ncrc, why, whylen) == -EBADMSG)
		return -EBADMSG;
	return get_payload(obj, &out->size, out->data, why, whylen);
}

int lpw_txack_from_json(const json_t *obj, lpw_txack_error_t *out, char *why, size_t whylen)
{
	const char *s = NULL; /* as in get_time() */
	if (!json_is_object(obj))
		return fail(why, whylen, "\"txpk_ack\" is not an object");
	int rc = get_str(obj, "error", false, &s, why, whylen);
	if (rc == -ENOENT) {
		/* Newer forwarders report a power they had to lower as {"warn":"TX_POWER"}: the packet was
		 * still programmed, so that is success. */
		if (json_object_get(obj, "warn")) {
			*out = LPW_TXACK_NONE;
			return 0;
		}
		return fail(why, whylen, "\"txpk_ack\" has neither \"error\" nor \"warn\"");
	}
	if (rc < 0)
		return rc;
	for (size_t k = 0; k < sizeof(txack_names) / sizeof(txack_names[0]); k++) {
		if (strcmp(s, txack_names[k]) == 0) {
			*out = (lpw_txack_error_t)k;
			return 0;
		}
	}
	return fail(why, whylen, "\"error\" \"%.24s\" is not a known TX_ACK error", s);
}

static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int lpw_pktfwd_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	size_t core = 0;
	while (core < len && b64_char(in[core]))
		core++;
	size_t pad = len - core;
	if (pad > 2)
		return -EBADMSG;
	for (size_t i = core; i < len; i++)
		if (in[i] != '=')
			return -EBADMSG;
	/* Padding, when present, must complete the last quantum; 4k+1 characters can never be base64. */
	if ((pad && len % 4) || core % 4 == 1)
		return -EBADMSG;
	size_t need = core / 4 * 3 + (core % 4 ? core % 4 - 1 : 0);
	if (need > cap || need > INT_MAX)
		return -EMSGSIZE;
	/* mbedTLS wants whole quanta: decode them in place, then the padded tail on the side. Our own
	 * character check above also keeps out the whitespace mbedTLS would otherwise skip. */
	size_t whole = core / 4 * 4, olen = 0;
	if (whole && mbedtls_base64_decode(out, cap, &olen, (const unsigned char *)in, whole) != 0)
		return -EBADMSG;
	if (core % 4) {
		unsigned char tail[4] = {'=', '=', '=', '='}, last[3];
		size_t tl = 0;
		memcpy(tail, in + whole, core % 4);
		if (mbedtls_base64_decode(last, sizeof(last), &tl, tail, sizeof(tail)) != 0 || olen + tl > cap)
			return -EBADMSG;
		memcpy(out + olen, last, tl);
		olen += tl;
	}
	return (int)olen;
}

int lpw_pktfwd_b64_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
	size_t olen = 0;
	if (outlen == 0)
		return -EMSGSIZE;
	if (n == 0) { /* mbedTLS writes no terminator for empty input */
		out[0] = '\0';
		return 0;
	}
	if (mbedtls_base64_encode((unsigned char *)out, outlen, &olen, in, n) != 0)
		return -EMSGSIZE;
	return (int)olen;
}

/* Adds "size" and "data" (base64, padded) to obj; -1 on failure. */
static int set_payload(json_t *obj, const uint8_t *data, uint16_t size)
{
	char b64[4 * ((LPW_PKTFWD_MAX_PAYLOAD + 2) / 3) + 1];
	if (size > LPW_PKTFWD_MAX_PAYLOAD || lpw_pktfwd_b64_encode(data, size, b64, sizeof(b64)) < 0)
		return -1;
	return json_object_set_new(obj, "size", json_integer(size)) | json_object_set_new(obj, "data", json_string(b64));
}

/* Adds "datr" and "codr" for LoRa; -1 when the values are not ones the parser would accept. */
static int set_lora_datr_codr(json_t *obj, uint8_t sf, uint16_t bw, uint8_t codr)
{
	char datr[16], cr[8];
	if (sf < 5 || sf > 12 || (bw != 125 && bw != 250 && bw != 500) || codr < 5 || codr > 8)
		return -1;
	snprintf(datr, sizeof(datr), "SF%uBW%u", (unsigned)sf, (unsigned)bw);
	snprintf(cr, sizeof(cr), "4/%u", (unsigned)codr);
	return json_object_set_new(obj, "datr", json_string(datr)) | json_object_set_new(obj, "codr", json_string(cr));
}

static json_t *finish(json_t *obj, int bad)
{
	if (bad) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *lpw_rxpk_to_json(const lpw_rxpk_t *rx)
{
	/* Refuse what our own parser would refuse, so a built datagram always parses back. */
	if (!(rx->freq >= 1 && rx->freq <= 10000) || rx->stat < -1 || rx->stat > 1 ||
	    (rx->modu == LPW_MODU_FSK && (rx->fsk_bps < 1 || rx->fsk_bps > 1000000)))
		return NULL;
	json_t *o = json_pack("{s:I, s:f, s:i, s:i, s:i, s:i}", "tmst", (json_int_t)rx->tmst, "freq", rx->freq, "chan",
			      (int)rx->chan, "rfch", (int)rx->rfch, "stat", (int)rx->stat, "rssi", (int)rx->rssi);
	if (!o)
		return NULL;
	int bad = 0;
	if (rx->time[0])
		bad |= json_object_set_new(o, "time", json_string(rx->time));
	if (rx->has_tmms)
		bad |= json_object_set_new(o, "tmms", json_integer((json_int_t)rx->tmms));
	if (rx->modu == LPW_MODU_FSK) {
		bad |= json_object_set_new(o, "modu", json_string("FSK"));
		bad |= json_object_set_new(o, "datr", json_integer(rx->fsk_bps));
	} else {
		bad |= json_object_set_new(o, "modu", json_string("LORA"));
		bad |= set_lora_datr_codr(o, rx->sf, rx->bw_khz, rx->codr);
		bad |= json_object_set_new(o, "lsnr", json_real(rx->lsnr));
	}
	bad |= set_payload(o, rx->data, rx->size);
	return finish(o, bad);
}

json_t *lpw_txpk_to_json(const lpw_txpk_t *tx)
{
	if (!(tx->freq >= 1 && tx->freq <= 10000) || tx->powe > 40)
		return NULL;
	json_t *o = json_pack("{s:f, s:i, s:i, s:s, s:b}", "freq", tx->freq, "rfch", (int)tx->rfch, "powe", (int)tx->powe,
			      "modu", "LORA", "ipol", (int)tx->ipol);
	if (!o)
		return NULL;
	int bad = 0;
	if (tx->imme)
		bad |= json_object_set_new(o, "imme", json_true());
	else
		bad |= json_object_set_new(o, "tmst", json_integer((json_int_t)tx->tmst));
	if (tx->ncrc)
		bad |= json_object_set_new(o, "ncrc", json_true());
	bad |= set_lora_datr_codr(o, tx->sf, tx->bw_khz, tx->codr);
	bad |= set_payload(o, tx->data, tx->size);
	return finish(o, bad);
}

json_t *lpw_pktfwd_stat_to_json(const lpw_pktfwd_stat_t *st)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:f}", "rxnb", (json_int_t)st->rxnb, "rxok", (json_int_t)st->rxok,
			      "rxfw", (json_int_t)st->rxfw, "dwnb", (json_int_t)st->dwnb, "txnb", (json_int_t)st->txnb, "ackr",
			      st->ackr);
	if (!o)
		return NULL;
	int bad = 0;
	if (st->time[0])
		bad |= json_object_set_new(o, "time", json_string(st->time));
	if (st->has_gps) {
		bad |= json_object_set_new(o, "lati", json_real(st->lati));
		bad |= json_object_set_new(o, "long", json_real(st->lon));
		bad |= json_object_set_new(o, "alti", json_integer(st->alti));
	}
	return finish(o, bad);
}
