/* SMS PDU codec: TS 23.040 §9.2 TPDUs, §9.1.2.5 addresses, §9.2.3.24 user data headers, TS 23.038 §4 DCS. */
#include "bindings/sms/sms_pdu.h"
#include "core/hex.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* --- reading --- */

typedef struct {
	const uint8_t *p;
	size_t len, pos;
	char *why;
	size_t whylen;
} rd_t;

static int fail(rd_t *r, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(rd_t *r, int rc, const char *fmt, ...)
{
	if (r->why && r->whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->why, r->whylen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* n octets at the read position, or NULL (and the reason) when the PDU ends first. */
static const uint8_t *take(rd_t *r, size_t n, const char *field)
{
	if (r->len - r->pos < n) {
		fail(r, -EBADMSG, "truncated in %s at octet %zu (%zu needed, %zu left)", field, r->pos, n, r->len - r->pos);
		return NULL;
	}
	const uint8_t *q = r->p + r->pos;
	r->pos += n;
	return q;
}

#define TAKE1(r, field, var)                                                                                           \
	do {                                                                                                           \
		const uint8_t *q_ = take((r), 1, (field));                                                             \
		if (!q_)                                                                                               \
			return -EBADMSG;                                                                               \
		(var) = q_[0];                                                                                         \
	} while (0)

/* --- GSM 7-bit: packing (TS 23.038 §6.1.2.1.1) and the ASCII subset we map --- */

/* Septet i (from bit offset start) of the packed octets p. */
static uint8_t septet_at(const uint8_t *p, size_t bit)
{
	size_t o = bit / 8, s = bit % 8;
	unsigned v = p[o] >> s;
	if (s > 1)
		v |= (unsigned)p[o + 1] << (8 - s);
	return (uint8_t)(v & 0x7f);
}

static void septet_put(uint8_t *p, size_t bit, uint8_t v)
{
	size_t o = bit / 8, s = bit % 8;
	p[o] |= (uint8_t)(v << s);
	if (s > 1)
		p[o + 1] |= (uint8_t)(v >> (8 - s));
}

/* The printable ASCII characters whose GSM 7-bit default alphabet code is the same (TS 23.038 §6.2.1): letters,
 * digits, space and most punctuation; '@' '$' '[' and the like sit elsewhere. */
static bool gsm7_same_as_ascii(unsigned c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr(" !\"#%&'()*+,-./:;<=>?", (int)c) != NULL;
}

/* --- addresses (TS 23.040 §9.1.2.5; semi-octet codes of TS 24.008 table 10.5.118) --- */

static const char bcd_chars[] = "0123456789*#abc";

static int bcd_value(char c)
{
	const char *p = c ? strchr(bcd_chars, c) : NULL;
	return p ? (int)(p - bcd_chars) : -1;
}

/* ndigits semi-octets from p into out; a filler (0xF) is allowed only as the very last. */
static int bcd_decode(rd_t *r, const uint8_t *p, size_t ndigits, char *out, const char *field)
{
	size_t n = 0;
	for (size_t i = 0; i < ndigits; i++) {
		unsigned nib = i % 2 ? p[i / 2] >> 4 : p[i / 2] & 0x0f;
		if (nib == 0xf) {
			if (i + 1 == ndigits)
				break; /* a length that counted the filler: harmless */
			return fail(r, -EBADMSG, "%s has a filler at digit %zu of %zu", field, i + 1, ndigits);
		}
		out[n++] = bcd_chars[nib];
	}
	out[n] = '\0';
	return 0;
}

static void alnum_decode(const uint8_t *p, size_t nsemi, char *out, size_t cap)
{
	size_t n = nsemi * 4 / 7, k = 0;
	for (size_t i = 0; i < n && k + 1 < cap; i++) {
		unsigned c = septet_at(p, i * 7);
		out[k++] = gsm7_same_as_ascii(c) ? (char)c : '?';
	}
	out[k] = '\0';
}

/* TP-OA / TP-DA / TP-RA: length in semi-octets, type of address, the semi-octets. */
static int read_addr(rd_t *r, lpw_sms_addr_t *a, const char *field)
{
	uint8_t nsemi, toa;
	TAKE1(r, field, nsemi);
	if (nsemi > LPW_SMS_ADDR_DIGITS_MAX)
		return fail(r, -EBADMSG, "%s length %u is above %d semi-octets", field, nsemi, LPW_SMS_ADDR_DIGITS_MAX);
	TAKE1(r, field, toa);
	a->ton = (toa >> 4) & 7;
	a->npi = toa & 0x0f;
	const uint8_t *p = take(r, (nsemi + 1u) / 2, field);
	if (!p)
		return -EBADMSG;
	if (a->ton == LPW_SMS_TON_ALPHANUMERIC) {
		alnum_decode(p, nsemi, a->digits, sizeof(a->digits));
		return 0;
	}
	return bcd_decode(r, p, nsemi, a->digits, field);
}

/* The SMSC field (TS 24.011 §8.2.5.1 as TS 27.005 §3.1 uses it): length in octets of type + digits, 0 = none. */
static int read_smsc(rd_t *r, lpw_sms_addr_t *a)
{
	uint8_t n, toa;
	TAKE1(r, "the SMSC address", n);
	if (n == 0)
		return 0;
	if (n > 1 + LPW_SMS_ADDR_DIGITS_MAX / 2)
		return fail(r, -EBADMSG, "the SMSC address is %u octets long; expected at most %d", n,
			    1 + LPW_SMS_ADDR_DIGITS_MAX / 2);
	TAKE1(r, "the SMSC address", toa);
	a->ton = (toa >> 4) & 7;
	a->npi = toa & 0x0f;
	const uint8_t *p = take(r, n - 1u, "the SMSC address");
	if (!p)
		return -EBADMSG;
	return bcd_decode(r, p, 2 * (n - 1u), a->digits, "the SMSC address");
}

/* --- time stamps (§9.2.3.11) and validity (§9.2.3.12) --- */

static uint8_t swapped_bcd(uint8_t o, bool *ok)
{
	unsigned lo = o & 0x0f, hi = o >> 4;
	if (lo > 9 || hi > 9)
		*ok = false;
	return (uint8_t)(lo * 10 + hi);
}

static int read_time(rd_t *r, lpw_sms_time_t *t, const char *field)
{
	const uint8_t *p = take(r, 7, field);
	if (!p)
		return -EBADMSG;
	bool ok = true;
	t->year = swapped_bcd(p[0], &ok);
	t->month = swapped_bcd(p[1], &ok);
	t->day = swapped_bcd(p[2], &ok);
	t->hour = swapped_bcd(p[3], &ok);
	t->minute = swapped_bcd(p[4], &ok);
	t->second = swapped_bcd(p[5], &ok);
	/* the first semi-octet's bit 3 is the sign, the rest two digits of quarters of an hour */
	unsigned tens = p[6] & 0x07, units = p[6] >> 4;
	if (units > 9)
		ok = false;
	t->tz_quarters = (int8_t)((p[6] & 0x08 ? -1 : 1) * (int)(tens * 10 + units));
	t->valid = ok;
	return 0;
}

uint32_t lpw_sms_vp_relative_seconds(uint8_t vp)
{
	if (vp <= 143)
		return (vp + 1u) * 5u * 60u;
	if (vp <= 167)
		return 12u * 3600u + (vp - 143u) * 30u * 60u;
	if (vp <= 196)
		return (vp - 166u) * 86400u;
	return (vp - 192u) * 7u * 86400u;
}

uint8_t lpw_sms_vp_relative_from_seconds(uint32_t seconds)
{
	/* the values grow with the octet, so the first that covers the request is the smallest that does */
	for (unsigned vp = 0; vp < 255; vp++)
		if (lpw_sms_vp_relative_seconds((uint8_t)vp) >= seconds)
			return (uint8_t)vp;
	return 255;
}

static unsigned bcd2(uint8_t o)
{
	return (o & 0x0f) * 10u + (o >> 4);
}

/* §9.2.3.12.3: functionality indicator(s), then the validity in one of three relative forms. */
static uint32_t enhanced_seconds(const uint8_t e[7])
{
	size_t i = 0;
	while (i < 6 && (e[i] & 0x80))
		i++; /* extension octets: further functionality indicators we do not use */
	const uint8_t *v = e + i + 1;
	size_t room = 6 - i;
	switch (e[0] & 0x07) {
	case 1: return room >= 1 ? lpw_sms_vp_relative_seconds(v[0]) : 0;
	case 2: return room >= 1 ? v[0] : 0;
	case 3: return room >= 3 ? bcd2(v[0]) * 3600u + bcd2(v[1]) * 60u + bcd2(v[2]) : 0;
	default: return 0; /* none, or reserved */
	}
}

static int read_vp(rd_t *r, lpw_sms_vp_t *vp)
{
	const uint8_t *p;
	switch (vp->format) {
	case LPW_SMS_VP_NONE: return 0;
	case LPW_SMS_VP_RELATIVE:
		TAKE1(r, "TP-VP", vp->relative);
		vp->seconds = lpw_sms_vp_relative_seconds(vp->relative);
		return 0;
	case LPW_SMS_VP_ENHANCED:
		if (!(p = take(r, 7, "TP-VP (enhanced)")))
			return -EBADMSG;
		memcpy(vp->enhanced, p, 7);
		vp->seconds = enhanced_seconds(vp->enhanced);
		return 0;
	default: return read_time(r, &vp->absolute, "TP-VP (absolute)");
	}
}

/* --- DCS (TS 23.038 §4) --- */

lpw_sms_alphabet_t lpw_sms_dcs_alphabet(uint8_t dcs, bool *out_compressed)
{
	bool compressed = false;
	lpw_sms_alphabet_t a = LPW_SMS_ALPHABET_GSM7; /* also every reserved coding (§4: "assumed GSM 7 bit") */
	switch (dcs >> 4) {
	case 0x0: case 0x1: case 0x2: case 0x3: /* general data coding */
	case 0x4: case 0x5: case 0x6: case 0x7: /* the same, marked for automatic deletion */
		compressed = dcs & 0x20;
		if (((dcs >> 2) & 3) == 1)
			a = LPW_SMS_ALPHABET_8BIT;
		else if (((dcs >> 2) & 3) == 2)
			a = LPW_SMS_ALPHABET_UCS2;
		break;
	case 0xe: a = LPW_SMS_ALPHABET_UCS2; break; /* message waiting, store, UCS2 */
	case 0xf: a = dcs & 0x04 ? LPW_SMS_ALPHABET_8BIT : LPW_SMS_ALPHABET_GSM7; break;
	default: break;
	}
	if (out_compressed)
		*out_compressed = compressed;
	return a;
}

int lpw_sms_dcs_class(uint8_t dcs)
{
	if (dcs >> 4 == 0xf)
		return dcs & 3;
	if (dcs >> 6 <= 1 && (dcs & 0x10)) /* general groups with "bits 1..0 have a message class meaning" */
		return dcs & 3;
	return -1;
}

bool lpw_sms_dcs_is_8bit_data(uint8_t dcs)
{
	bool compressed;
	return lpw_sms_dcs_alphabet(dcs, &compressed) == LPW_SMS_ALPHABET_8BIT && !compressed &&
	       lpw_sms_dcs_class(dcs) != 0;
}

/* --- user data (§9.2.3.16, §9.2.3.24) --- */

static int read_udh(rd_t *r, const uint8_t *h, size_t n, lpw_sms_t *m)
{
	for (size_t i = 0; i < n;) {
		if (n - i < 2)
			return fail(r, -EBADMSG, "the user data header ends inside an element header at octet %zu", i);
		uint8_t iei = h[i], iedl = h[i + 1];
		const uint8_t *d = h + i + 2;
		if (iedl > n - i - 2)
			return fail(r, -EBADMSG, "user data header element 0x%02x (%u octets) overruns the header", iei, iedl);
		i += 2u + iedl;
		if (iei == 0x00 || iei == 0x08) {
			size_t want = iei == 0x00 ? 3 : 4;
			if (iedl != want)
				return fail(r, -EBADMSG, "concatenation element 0x%02x has %u octets; expected %zu", iei, iedl,
					    want);
			lpw_sms_concat_info_t c = {.ref16 = iei == 0x08};
			c.ref = iei == 0x00 ? d[0] : (uint16_t)(d[0] << 8 | d[1]);
			c.total = d[want - 2];
			c.seq = d[want - 1];
			/* §9.2.3.24.1: a zero or out-of-range part number: ignore the element; the last one counts */
			c.present = c.total && c.seq && c.seq <= c.total;
			m->concat = c;
			continue;
		}
		memcpy(m->udh + m->udh_len, h + i - 2u - iedl, 2u + iedl);
		m->udh_len += 2u + iedl;
	}
	return 0;
}

static int read_ud(rd_t *r, bool udhi, lpw_sms_t *m)
{
	uint8_t udl;
	TAKE1(r, "TP-UDL", udl);
	m->alphabet = lpw_sms_dcs_alphabet(m->dcs, &m->compressed);
	bool septets = m->alphabet == LPW_SMS_ALPHABET_GSM7 && !m->compressed;
	if (udl > (septets ? LPW_SMS_SEPTETS_MAX : LPW_SMS_UD_MAX))
		return fail(r, -EBADMSG, "TP-UDL %u is above %d %s", udl, septets ? LPW_SMS_SEPTETS_MAX : LPW_SMS_UD_MAX,
			    septets ? "septets" : "octets");
	size_t octets = septets ? (udl * 7u + 7u) / 8u : udl;
	const uint8_t *u = take(r, octets, "TP-UD");
	if (!u)
		return -EBADMSG;
	size_t skip = 0; /* octets (or septets) of header, fill bits included */
	if (udhi) {
		if (octets == 0 || u[0] + 1u > octets)
			return fail(r, -EBADMSG, "the user data header (%u octets) does not fit the %zu octets of user data",
				    octets ? u[0] : 0u, octets);
		if (read_udh(r, u + 1, u[0], m))
			return -EBADMSG;
		skip = septets ? ((u[0] + 1u) * 8u + 6u) / 7u : u[0] + 1u;
		if (skip > udl)
			return fail(r, -EBADMSG, "TP-UDL %u septets is shorter than the user data header", udl);
	}
	m->ud_len = udl - skip;
	for (size_t i = 0; i < m->ud_len; i++)
		m->ud[i] = septets ? septet_at(u, (skip + i) * 7) : u[skip + i];
	return 0;
}

/* --- the three TPDUs --- */

static int read_deliver(rd_t *r, uint8_t fo, lpw_sms_t *m)
{
	m->type = LPW_SMS_DELIVER;
	m->no_more_messages = fo & 0x04;
	m->loop_prevention = fo & 0x08;
	m->status_report = fo & 0x20;
	m->reply_path = fo & 0x80;
	if (read_addr(r, &m->addr, "TP-OA"))
		return -EBADMSG;
	TAKE1(r, "TP-PID", m->pid);
	TAKE1(r, "TP-DCS", m->dcs);
	if (read_time(r, &m->scts, "TP-SCTS"))
		return -EBADMSG;
	return read_ud(r, fo & 0x40, m);
}

static int read_submit(rd_t *r, uint8_t fo, lpw_sms_t *m)
{
	m->type = LPW_SMS_SUBMIT;
	m->reject_duplicates = fo & 0x04;
	m->vp.format = (lpw_sms_vpf_t)((fo >> 3) & 3);
	m->status_report = fo & 0x20;
	m->reply_path = fo & 0x80;
	TAKE1(r, "TP-MR", m->mr);
	if (read_addr(r, &m->addr, "TP-DA"))
		return -EBADMSG;
	TAKE1(r, "TP-PID", m->pid);
	TAKE1(r, "TP-DCS", m->dcs);
	if (read_vp(r, &m->vp))
		return -EBADMSG;
	return read_ud(r, fo & 0x40, m);
}

static int read_status_report(rd_t *r, uint8_t fo, lpw_sms_t *m)
{
	m->type = LPW_SMS_STATUS_REPORT;
	m->no_more_messages = fo & 0x04;
	m->loop_prevention = fo & 0x08;
	m->status_report = fo & 0x20;
	TAKE1(r, "TP-MR", m->mr);
	if (read_addr(r, &m->addr, "TP-RA") || read_time(r, &m->scts, "TP-SCTS") || read_time(r, &m->dt, "TP-DT"))
		return -EBADMSG;
	TAKE1(r, "TP-ST", m->st);
	if (r->pos == r->len)
		return 0; /* TP-PI and what it announces are optional */
	uint8_t ext;
	TAKE1(r, "TP-PI", m->pi);
	for (ext = m->pi; ext & 0x80;)
		TAKE1(r, "TP-PI", ext); /* further indicator octets: reserved, skipped */
	if (m->pi & 0x01)
		TAKE1(r, "TP-PID", m->pid);
	if (m->pi & 0x02)
		TAKE1(r, "TP-DCS", m->dcs);
	if (m->pi & 0x04)
		return read_ud(r, fo & 0x40, m);
	return 0;
}

int lpw_sms_decode(const uint8_t *pdu, size_t len, bool with_smsc, lpw_sms_dir_t dir, lpw_sms_t *out, char *why,
		   size_t whylen)
{
	rd_t r = {.p = pdu, .len = pdu ? len : 0, .why = why, .whylen = whylen};
	uint8_t fo;
	memset(out, 0, sizeof(*out));
	if (why && whylen)
		why[0] = '\0';
	if (with_smsc && read_smsc(&r, &out->smsc))
		return -EBADMSG;
	TAKE1(&r, "the first octet", fo);
	unsigned mti = fo & 3;
	if (dir == LPW_SMS_FROM_SC) {
		/* §9.2.3.1: a reserved TP-MTI from the SC is processed as an SMS-DELIVER */
		if (mti == 0 || mti == 3)
			return read_deliver(&r, fo, out);
		if (mti == 2)
			return read_status_report(&r, fo, out);
		return fail(&r, -ENOTSUP, "SMS-SUBMIT-REPORT is not handled");
	}
	if (mti == 1)
		return read_submit(&r, fo, out);
	return fail(&r, -ENOTSUP, "%s is not handled", mti == 0 ? "SMS-DELIVER-REPORT" : mti == 2 ? "SMS-COMMAND"
											    : "a reserved TP-MTI");
}

/* --- writing --- */

typedef struct {
	uint8_t *p;
	size_t cap, pos;
	int err;
} wr_t;

static void put(wr_t *w, const void *d, size_t n)
{
	if (w->err)
		return;
	if (w->cap - w->pos < n) {
		w->err = -EMSGSIZE;
		return;
	}
	memcpy(w->p + w->pos, d, n);
	w->pos += n;
}

static void put1(wr_t *w, uint8_t v)
{
	put(w, &v, 1);
}

static int bcd_encode(const char *digits, uint8_t *out, size_t *out_n)
{
	size_t n = strlen(digits);
	if (n > LPW_SMS_ADDR_DIGITS_MAX)
		return -EINVAL;
	memset(out, 0xff, (n + 1) / 2);
	for (size_t i = 0; i < n; i++) {
		int v = bcd_value(digits[i]);
		if (v < 0)
			return -EINVAL;
		out[i / 2] = i % 2 ? (uint8_t)((out[i / 2] & 0x0f) | v << 4) : (uint8_t)((out[i / 2] & 0xf0) | v);
	}
	*out_n = n;
	return 0;
}

static uint8_t toa_of(const lpw_sms_addr_t *a)
{
	return (uint8_t)(0x80 | (a->ton & 7) << 4 | (a->npi & 0x0f));
}

static void write_addr(wr_t *w, const lpw_sms_addr_t *a)
{
	uint8_t b[LPW_SMS_ADDR_DIGITS_MAX / 2];
	size_t n;
	if (a->ton == LPW_SMS_TON_ALPHANUMERIC) {
		size_t chars = strlen(a->digits);
		if (chars > LPW_SMS_ADDR_DIGITS_MAX * 4 / 7) {
			w->err = -EINVAL;
			return;
		}
		memset(b, 0, sizeof(b));
		for (size_t i = 0; i < chars; i++)
			septet_put(b, i * 7, gsm7_same_as_ascii((unsigned char)a->digits[i]) ? (uint8_t)a->digits[i] : '?');
		size_t nsemi = (chars * 7 + 3) / 4;
		put1(w, (uint8_t)nsemi);
		put1(w, toa_of(a));
		put(w, b, (nsemi + 1) / 2);
		return;
	}
	if (bcd_encode(a->digits, b, &n)) {
		w->err = -EINVAL;
		return;
	}
	put1(w, (uint8_t)n);
	put1(w, toa_of(a));
	put(w, b, (n + 1) / 2);
}

static void write_smsc(wr_t *w, const lpw_sms_addr_t *a)
{
	uint8_t b[LPW_SMS_ADDR_DIGITS_MAX / 2];
	size_t n;
	if (a->digits[0] == '\0') {
		put1(w, 0);
		return;
	}
	if (bcd_encode(a->digits, b, &n)) {
		w->err = -EINVAL;
		return;
	}
	put1(w, (uint8_t)(1 + (n + 1) / 2));
	put1(w, toa_of(a));
	put(w, b, (n + 1) / 2);
}

static uint8_t to_swapped_bcd(unsigned v)
{
	return (uint8_t)((v / 10 % 10) | (v % 10) << 4);
}

static void write_time(wr_t *w, const lpw_sms_time_t *t)
{
	int q = t->tz_quarters < 0 ? -t->tz_quarters : t->tz_quarters;
	uint8_t b[7] = {
		to_swapped_bcd(t->year),   to_swapped_bcd(t->month),  to_swapped_bcd(t->day), to_swapped_bcd(t->hour),
		to_swapped_bcd(t->minute), to_swapped_bcd(t->second), 0,
	};
	q = q > 79 ? 79 : q;
	b[6] = (uint8_t)((q / 10) | (t->tz_quarters < 0 ? 0x08 : 0) | (q % 10) << 4);
	put(w, b, 7);
}

static void write_vp(wr_t *w, const lpw_sms_vp_t *vp)
{
	switch (vp->format) {
	case LPW_SMS_VP_NONE: break;
	case LPW_SMS_VP_RELATIVE: put1(w, vp->relative); break;
	case LPW_SMS_VP_ENHANCED: put(w, vp->enhanced, 7); break;
	default: write_time(w, &vp->absolute); break;
	}
}

/* UDL, UDH and UD; returns whether a header was written (the caller sets TP-UDHI). */
static void write_ud(wr_t *w, const lpw_sms_t *m, bool *out_udhi)
{
	uint8_t h[1 + LPW_SMS_UD_MAX], u[LPW_SMS_UD_MAX];
	size_t hl = 0;
	const lpw_sms_concat_info_t *c = &m->concat;
	if (c->present) {
		uint8_t ie16[] = {0x08, 4, (uint8_t)(c->ref >> 8), (uint8_t)c->ref, c->total, c->seq};
		uint8_t ie8[] = {0x00, 3, (uint8_t)c->ref, c->total, c->seq};
		memcpy(h + 1, c->ref16 ? ie16 : ie8, c->ref16 ? sizeof(ie16) : sizeof(ie8));
		hl = c->ref16 ? sizeof(ie16) : sizeof(ie8);
	}
	bool bad_concat =
		c->present && (c->total == 0 || c->seq == 0 || c->seq > c->total || (!c->ref16 && c->ref > 0xff));
	if (m->udh_len > LPW_SMS_UD_MAX - hl || bad_concat) {
		w->err = -EINVAL;
		return;
	}
	memcpy(h + 1 + hl, m->udh, m->udh_len);
	hl += m->udh_len;
	h[0] = (uint8_t)hl;
	size_t hoct = hl ? hl + 1 : 0;
	*out_udhi = hl > 0;
	bool compressed;
	bool septets = lpw_sms_dcs_alphabet(m->dcs, &compressed) == LPW_SMS_ALPHABET_GSM7 && !compressed;
	if (!septets) {
		if (hoct + m->ud_len > LPW_SMS_UD_MAX) {
			w->err = -EINVAL;
			return;
		}
		put1(w, (uint8_t)(hoct + m->ud_len));
		put(w, h, hoct);
		put(w, m->ud, m->ud_len);
		return;
	}
	size_t hsep = (hoct * 8 + 6) / 7, udl = hsep + m->ud_len;
	if (hoct > LPW_SMS_UD_MAX || udl > LPW_SMS_SEPTETS_MAX) {
		w->err = -EINVAL;
		return;
	}
	memset(u, 0, sizeof(u));
	memcpy(u, h, hoct); /* the fill bits up to the septet boundary stay 0 */
	for (size_t i = 0; i < m->ud_len; i++) {
		if (m->ud[i] > 0x7f) {
			w->err = -EINVAL;
			return;
		}
		septet_put(u, (hsep + i) * 7, m->ud[i]);
	}
	put1(w, (uint8_t)udl);
	put(w, u, (udl * 7 + 7) / 8);
}

static void write_tpdu(wr_t *w, const lpw_sms_t *m)
{
	size_t fo_at = w->pos;
	bool udhi = false;
	put1(w, 0); /* the first octet, completed below once TP-UDHI is known */
	uint8_t fo = 0;
	switch (m->type) {
	case LPW_SMS_DELIVER:
		fo = (uint8_t)(0x00 | (m->no_more_messages ? 0x04 : 0) | (m->loop_prevention ? 0x08 : 0) |
			       (m->status_report ? 0x20 : 0) | (m->reply_path ? 0x80 : 0));
		write_addr(w, &m->addr);
		put1(w, m->pid);
		put1(w, m->dcs);
		write_time(w, &m->scts);
		write_ud(w, m, &udhi);
		break;
	case LPW_SMS_SUBMIT:
		fo = (uint8_t)(0x01 | (m->reject_duplicates ? 0x04 : 0) | (m->vp.format & 3) << 3 |
			       (m->status_report ? 0x20 : 0) | (m->reply_path ? 0x80 : 0));
		put1(w, m->mr);
		write_addr(w, &m->addr);
		put1(w, m->pid);
		put1(w, m->dcs);
		write_vp(w, &m->vp);
		write_ud(w, m, &udhi);
		break;
	case LPW_SMS_STATUS_REPORT:
		fo = (uint8_t)(0x02 | (m->no_more_messages ? 0x04 : 0) | (m->loop_prevention ? 0x08 : 0) |
			       (m->status_report ? 0x20 : 0));
		put1(w, m->mr);
		write_addr(w, &m->addr);
		write_time(w, &m->scts);
		write_time(w, &m->dt);
		put1(w, m->st);
		if (m->pi) {
			put1(w, (uint8_t)(m->pi & 0x07));
			if (m->pi & 0x01)
				put1(w, m->pid);
			if (m->pi & 0x02)
				put1(w, m->dcs);
			if (m->pi & 0x04)
				write_ud(w, m, &udhi);
		}
		break;
	default: w->err = -EINVAL; return;
	}
	if (!w->err)
		w->p[fo_at] = (uint8_t)(fo | (udhi ? 0x40 : 0));
}

int lpw_sms_encode(const lpw_sms_t *msg, bool with_smsc, uint8_t *out, size_t cap, size_t *out_tpdu_len)
{
	wr_t w = {.p = out, .cap = out ? cap : 0};
	/* a class 0 ("flash") message is shown and dropped by the receiver, never stored: not for machines */
	if (lpw_sms_dcs_class(msg->dcs) == 0)
		return -EINVAL;
	if (with_smsc)
		write_smsc(&w, &msg->smsc);
	size_t tpdu_at = w.pos;
	write_tpdu(&w, msg);
	if (w.err)
		return w.err;
	if (out_tpdu_len)
		*out_tpdu_len = w.pos - tpdu_at;
	return (int)w.pos;
}

/* --- helpers --- */

int lpw_sms_addr_from_text(lpw_sms_addr_t *a, const char *text)
{
	memset(a, 0, sizeof(*a));
	a->npi = LPW_SMS_NPI_ISDN;
	if (*text == '+') {
		a->ton = LPW_SMS_TON_INTERNATIONAL;
		text++;
	}
	size_t n = strlen(text);
	if (n == 0 || n > LPW_SMS_ADDR_DIGITS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!((text[i] >= '0' && text[i] <= '9') || text[i] == '*' || text[i] == '#'))
			return -EINVAL;
	memcpy(a->digits, text, n + 1);
	return 0;
}

int lpw_sms_addr_msisdn(const lpw_sms_addr_t *a, char *out, size_t cap)
{
	size_t n = strlen(a->digits);
	if (a->ton == LPW_SMS_TON_ALPHANUMERIC || n == 0)
		return -EINVAL;
	if (n + 1 > cap)
		return -ENOSPC;
	memcpy(out, a->digits, n + 1);
	return 0;
}

const char *lpw_sms_status_text(uint8_t st)
{
	static const char *const done[] = {"received by the SME", "forwarded to the SME, delivery not confirmed",
					   "replaced by the SC"};
	static const char *const errs[] = {"congestion", "SME busy", "no response from SME", "service rejected",
					   "quality of service not available", "error in SME"};
	static const char *const perm[] = {"remote procedure error", "incompatible destination",
					   "connection rejected by SME", "not obtainable",
					   "quality of service not available", "no interworking available",
					   "validity period expired", "deleted by the originating SME",
					   "deleted by SC administration", "message does not exist"};
	if (st < 3)
		return done[st];
	if (st < 0x20)
		return "delivered (reserved or SC-specific status)";
	if (st < 0x26)
		return errs[st - 0x20]; /* temporary, the SC keeps trying */
	if (st < 0x40)
		return "temporary error, SC still trying (reserved or SC-specific status)";
	if (st < 0x4a)
		return perm[st - 0x40];
	if (st < 0x60)
		return "permanent error (reserved or SC-specific status)";
	if (st < 0x66)
		return errs[st - 0x60]; /* temporary, but the SC gave up */
	return st < 0x80 ? "temporary error, SC gave up (reserved or SC-specific status)" : "reserved status";
}

bool lpw_sms_status_delivered(uint8_t st)
{
	return st < 0x20;
}

bool lpw_sms_status_final(uint8_t st)
{
	return st < 0x20 || st >= 0x40;
}

int lpw_sms_hex_encode(const uint8_t *data, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	if (cap < 2 * n + 1)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[data[i] >> 4];
		out[2 * i + 1] = hex[data[i] & 0x0f];
	}
	out[2 * n] = '\0';
	return (int)(2 * n);
}

int lpw_sms_hex_decode(const char *hex, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	return lpw_hex_decode(hex, n, out, cap, out_len);
}
