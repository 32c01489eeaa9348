/* The server's first message on a CoAP-over-TCP/TLS connection must be a valid CSM (RFC 8323 §5.3). */
#include "proxy/csm.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static lpw_csm_result_t result(lpw_csm_verdict_t v, uint8_t code, const char *reason)
{
	return (lpw_csm_result_t){.verdict = v, .code = code, .reason = reason};
}

/* RFC 7252 §3.1: a 4-bit field with 13 (+1 byte), 14 (+2 bytes); 15 is reserved. false when it does not fit. */
static bool option_field(const uint8_t *data, size_t *p, size_t end, unsigned nibble, uint32_t *out)
{
	if (nibble < 13) {
		*out = nibble;
	} else if (nibble == 13) {
		if (*p + 1 > end)
			return false;
		*out = 13u + data[(*p)++];
	} else {
		if (*p + 2 > end)
			return false;
		*out = 269u + ((uint32_t)data[*p] << 8 | data[*p + 1]);
		*p += 2;
	}
	return true;
}

/* The options and payload of a complete CSM, data[start, end). */
static lpw_csm_result_t check_options(const uint8_t *data, size_t start, size_t end)
{
	lpw_csm_result_t r = result(LPW_CSM_INVALID, LPW_SIGNAL_CSM, NULL);
	uint32_t number = 0;
	size_t p = start;
	while (p < end) {
		uint8_t b = data[p++];
		if (b == 0xff) {
			if (p == end) {
				r.reason = "payload marker without a payload";
				return r;
			}
			break; /* a diagnostic payload: allowed, ignored */
		}
		uint32_t delta, len;
		if ((b >> 4) == 15 || (b & 15) == 15) {
			r.reason = "reserved option nibble 15";
			return r;
		}
		if (!option_field(data, &p, end, b >> 4, &delta) || !option_field(data, &p, end, b & 15, &len)) {
			r.reason = "option header runs past the message";
			return r;
		}
		number += delta;
		if (number > 65535) {
			r.reason = "option number above 65535";
			return r;
		}
		if (len > end - p) {
			r.reason = "option value runs past the message";
			return r;
		}
		p += len;
		r.bad_option = (uint16_t)number;
		if (number == 2 && len > 4) {
			r.reason = "Max-Message-Size is longer than 4 bytes";
			return r;
		}
		if (number == 4 && len != 0) {
			r.reason = "Block-Wise-Transfer is not empty";
			return r;
		}
		if (number != 2 && number != 4 && (number & 1)) {
			r.reason = "unknown critical option";
			return r;
		}
		r.bad_option = 0;
	}
	r.verdict = LPW_CSM_OK;
	r.len = end;
	return r;
}

lpw_csm_result_t lpw_csm_check(const uint8_t *data, size_t len, size_t max)
{
	if (len < 1)
		return (lpw_csm_result_t){.verdict = LPW_CSM_NEED, .need = 2};
	/* RFC 8323 §3.2: Len (4 bits) | TKL (4 bits), extended length, Code, Token, Options and Payload */
	unsigned lnib = data[0] >> 4, tkl = data[0] & 15;
	size_t ext = lnib < 13 ? 0 : lnib == 13 ? 1 : lnib == 14 ? 2 : 4;
	size_t hdr = 1 + ext + 1;
	if (len < hdr)
		return (lpw_csm_result_t){.verdict = LPW_CSM_NEED, .need = hdr};
	uint64_t body = lnib;
	if (ext) {
		uint64_t e = 0;
		for (size_t i = 0; i < ext; i++)
			e = e << 8 | data[1 + i];
		body = e + (ext == 1 ? 13 : ext == 2 ? 269 : 65805);
	}
	uint8_t code = data[hdr - 1];
	if (code != LPW_SIGNAL_CSM)
		return result(LPW_CSM_NOT_CSM, code, "the first message is not a CSM");
	if (tkl > 8)
		return result(LPW_CSM_INVALID, code, "token length above 8");
	uint64_t total = hdr + tkl + body;
	if (total > max) {
		lpw_csm_result_t r = result(LPW_CSM_TOO_LARGE, code, "the CSM is larger than we accept");
		r.len = total;
		return r;
	}
	if (len < total)
		return (lpw_csm_result_t){.verdict = LPW_CSM_NEED, .need = (size_t)total, .code = code};
	return check_options(data, hdr + tkl, (size_t)total);
}

ssize_t lpw_csm_abort(uint8_t *buf, size_t cap, uint16_t bad_option, const char *diag)
{
	/* The header is at most 3 bytes here: Len 13 with one extension byte (bodies up to 268), then the code. */
	if (cap < 3)
		return -ENOSPC;
	uint8_t body[256];
	size_t n = 0, room = cap - 3 < sizeof(body) ? cap - 3 : sizeof(body);
	if (bad_option && room >= 3) {
		/* RFC 8323 §5.6.1: Bad-CSM-Option (2), a uint */
		bool two = bad_option > 255;
		body[n++] = (uint8_t)(2 << 4 | (two ? 2 : 1));
		if (two)
			body[n++] = (uint8_t)(bad_option >> 8);
		body[n++] = (uint8_t)bad_option;
	}
	size_t dlen = diag ? strlen(diag) : 0;
	if (dlen > room - n - 1 || room - n < 2)
		dlen = room - n >= 2 ? room - n - 1 : 0;
	if (dlen) {
		body[n++] = 0xff;
		memcpy(body + n, diag, dlen);
		n += dlen;
	}
	size_t off = 0;
	if (n < 13) {
		buf[off++] = (uint8_t)(n << 4);
	} else {
		buf[off++] = 13 << 4;
		buf[off++] = (uint8_t)(n - 13);
	}
	buf[off++] = LPW_SIGNAL_ABORT;
	memcpy(buf + off, body, n);
	return (ssize_t)(off + n);
}

void lpw_csm_code_name(uint8_t code, char *out, size_t cap)
{
	static const char *const methods[] = {"Empty", "GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH"};
	static const char *const signals[] = {NULL, "CSM", "Ping", "Pong", "Release", "Abort"};
	unsigned cls = code >> 5, detail = code & 31;
	const char *name = cls == 0 && detail < 8 ? methods[detail] : cls == 7 && detail >= 1 && detail <= 5 ? signals[detail]
	                                                                                                   : NULL;
	if (name)
		snprintf(out, cap, "%u.%02u %s", cls, detail, name);
	else
		snprintf(out, cap, "%u.%02u", cls, detail);
}
