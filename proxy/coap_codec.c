/* Datagram CoAP codec: a strict structural check in front of coap_pdu_parse(), and the encoder 4.3.1 lacks. */
#include "proxy/coap_codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define HDR_LEN 4
#define PAYLOAD_MARKER 0xff

/* Reads one extended delta or length field (RFC 7252 §3.1); NULL reason on success. */
static const char *read_ext(const uint8_t *data, size_t len, size_t *pos, unsigned int nibble, uint32_t *out)
{
	if (nibble < 13) {
		*out = nibble;
		return NULL;
	}
	if (nibble == 13) {
		if (len - *pos < 1)
			return "options overrun";
		*out = 13u + data[*pos];
		*pos += 1;
		return NULL;
	}
	/* nibble 14; 15 is rejected by the caller */
	if (len - *pos < 2)
		return "options overrun";
	*out = 269u + ((uint32_t)data[*pos] << 8 | data[*pos + 1]);
	*pos += 2;
	return NULL;
}

/* Walks the options and payload of a message whose header and token are already checked. */
static const char *check_options(const uint8_t *data, size_t len, size_t pos)
{
	uint32_t number = 0;

	while (pos < len) {
		uint8_t b = data[pos];
		if (b == PAYLOAD_MARKER) {
			/* RFC 7252 §3: a marker followed by a zero-length payload is a format error */
			return pos + 1 == len ? "payload marker with empty payload" : NULL;
		}
		if ((b >> 4) == 15)
			return "option delta 15 is reserved";
		if ((b & 0x0f) == 15)
			return "option length 15 is reserved";
		pos++;
		uint32_t delta, optlen;
		const char *why = read_ext(data, len, &pos, b >> 4, &delta);
		if (!why)
			why = read_ext(data, len, &pos, b & 0x0f, &optlen);
		if (why)
			return why;
		number += delta;
		if (number > 65535)
			return "option number above 65535";
		if (len - pos < optlen)
			return "option value overruns message";
		pos += optlen;
	}
	return NULL;
}

/* Header, token, and the type/code combinations of RFC 7252 §4.2-4.3. */
static const char *check_udp(const uint8_t *data, size_t len)
{
	if (!data || len < HDR_LEN)
		return "truncated header";
	if ((data[0] >> 6) != 1)
		return "bad version";
	unsigned int type = (data[0] >> 4) & 0x03;
	size_t tkl = data[0] & 0x0f;
	uint8_t code = data[1];
	unsigned int cls = code >> 5;

	if (tkl > 8)
		return "token length 9..15 is reserved";
	if (HDR_LEN + tkl > len)
		return "token overruns message";
	if (cls == 1 || cls == 6 || cls == 7)
		return "reserved code class";
	if (code == COAP_EMPTY_CODE) {
		if (tkl)
			return "empty message carries a token";
		if (len > HDR_LEN)
			return "empty message carries options or payload";
		if (type == COAP_MESSAGE_NON)
			return "NON must not be empty";
		return NULL;
	}
	if (type == COAP_MESSAGE_ACK && cls == 0)
		return "ACK carries a request";
	if (type == COAP_MESSAGE_RST)
		return "RST must be empty";
	return check_options(data, len, HDR_LEN + tkl);
}

coap_pdu_t *lpw_coap_parse_udp(const uint8_t *data, size_t len, const char **out_reason)
{
	const char *why = check_udp(data, len);
	coap_pdu_t *pdu = NULL;

	if (!why && len > LPW_COAP_UDP_MAX)
		why = "message too large";
	if (!why) {
		pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_EMPTY_CODE, 0, len);
		if (!pdu)
			why = "out of memory";
	}
	/* Our walk already proved the framing; what is left for libcoap to refuse are its per-option length limits. */
	if (!why && !coap_pdu_parse(COAP_PROTO_UDP, data, len, pdu))
		why = "option value length out of range";
	if (why) {
		coap_delete_pdu(pdu);
		pdu = NULL;
	}
	if (out_reason)
		*out_reason = why;
	return pdu;
}

/* Appends the header of one option; returns bytes written or 0 when it does not fit. */
static size_t put_option(uint8_t *buf, size_t cap, uint32_t delta, const uint8_t *val, size_t vlen)
{
	if (delta > 65535)
		return 0;
	return coap_opt_encode(buf, cap, (uint16_t)delta, val, vlen);
}

static ssize_t encode_options(const coap_pdu_t *pdu, uint8_t *buf, size_t cap, size_t pos)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	uint32_t prev = 0;

	if (!coap_option_iterator_init(pdu, &it, COAP_OPT_ALL))
		return (ssize_t)pos; /* no options at all */
	while ((opt = coap_option_next(&it))) {
		size_t vlen = coap_opt_length(opt);
		const uint8_t *val = coap_opt_value(opt);
		if (!val)
			return -EINVAL;
		size_t n = put_option(buf + pos, cap - pos, it.number - prev, val, vlen);
		if (n == 0)
			return -ENOSPC;
		pos += n;
		prev = it.number;
	}
	return (ssize_t)pos;
}

ssize_t lpw_coap_encode_udp(const coap_pdu_t *pdu, uint8_t *buf, size_t cap)
{
	if (!pdu || !buf)
		return -EINVAL;
	coap_pdu_type_t type = coap_pdu_get_type(pdu);
	coap_pdu_code_t code = coap_pdu_get_code(pdu);
	coap_mid_t mid = coap_pdu_get_mid(pdu);
	coap_bin_const_t tok = coap_pdu_get_token(pdu);
	size_t plen = 0;
	const uint8_t *payload = NULL;

	if (tok.length > 8 || mid < 0 || mid > 0xffff || (unsigned int)type > 3 || (unsigned int)code > 0xff)
		return -EINVAL;
	if (!coap_get_data(pdu, &plen, &payload))
		plen = 0;
	if (cap < HDR_LEN + tok.length)
		return -ENOSPC;
	buf[0] = (uint8_t)(1u << 6 | (unsigned int)type << 4 | tok.length);
	buf[1] = (uint8_t)code;
	buf[2] = (uint8_t)(mid >> 8);
	buf[3] = (uint8_t)mid;
	if (tok.length)
		memcpy(buf + HDR_LEN, tok.s, tok.length);
	ssize_t pos = encode_options(pdu, buf, cap, HDR_LEN + tok.length);
	if (pos < 0)
		return pos;
	if (code == COAP_EMPTY_CODE && (tok.length || pos > HDR_LEN || plen))
		return -EINVAL;
	if (plen) {
		if (cap - (size_t)pos < plen + 1)
			return -ENOSPC;
		buf[pos++] = PAYLOAD_MARKER;
		memcpy(buf + pos, payload, plen);
		pos += (ssize_t)plen;
	}
	return pos;
}

int lpw_coap_peek(const uint8_t *data, size_t len, lpw_coap_header_t *out)
{
	if (!data || len < HDR_LEN || (data[0] >> 6) != 1)
		return -EBADMSG;
	size_t tkl = data[0] & 0x0f;
	bool token_ok = tkl <= 8 && len >= HDR_LEN + tkl;
	*out = (lpw_coap_header_t){
		.type = (uint8_t)((data[0] >> 4) & 3),
		.code = data[1],
		.mid = (uint16_t)(data[2] << 8 | data[3]),
		.token_len = token_ok ? (uint8_t)tkl : 0,
		.token = data + HDR_LEN,
	};
	return token_ok ? 0 : -EPROTO;
}

const char *lpw_coap_type_name(coap_pdu_type_t type)
{
	static const char *const names[] = {"CON", "NON", "ACK", "RST"};
	return (unsigned int)type < 4 ? names[type] : "???";
}

const char *lpw_coap_code_name(coap_pdu_code_t code, char *buf, size_t cap)
{
	static const char *const methods[] = {NULL, "GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH"};
	unsigned int c = (unsigned int)code & 0xff;

	if (c >= 1 && c <= 7)
		return methods[c];
	if (cap)
		snprintf(buf, cap, "%u.%02u", c >> 5, c & 0x1f);
	return buf;
}

/* snprintf that advances *pos and never runs past cap. */
static void append(char *buf, size_t cap, size_t *pos, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t cap, size_t *pos, const char *fmt, ...)
{
	if (*pos >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *pos, cap - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos = (size_t)n >= cap - *pos ? cap : *pos + (size_t)n;
}

static uint32_t opt_uint(const coap_opt_t *opt)
{
	return coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt));
}

/* Pass 1 writes " /a/b?x&y" from Uri-Path and Uri-Query; pass 2 the other options worth seeing in a log line. */
static void describe_options(const coap_pdu_t *pdu, char *buf, size_t cap, size_t *pos, bool path_pass)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	bool first = true, first_query = true;

	if (!coap_option_iterator_init(pdu, &it, COAP_OPT_ALL))
		return;
	while ((opt = coap_option_next(&it))) {
		int vlen = (int)coap_opt_length(opt);
		const char *val = (const char *)coap_opt_value(opt);
		if (path_pass && (it.number == COAP_OPTION_URI_PATH || it.number == COAP_OPTION_URI_QUERY)) {
			bool path = it.number == COAP_OPTION_URI_PATH;
			append(buf, cap, pos, "%s%s%.*s", first ? " " : "", path ? "/" : (first_query ? "?" : "&"), vlen,
			       val);
			first = false;
			first_query = path ? first_query : false;
			continue;
		}
		if (path_pass)
			continue;
		switch (it.number) {
		case COAP_OPTION_LOCATION_PATH:
			append(buf, cap, pos, " loc=/%.*s", vlen, val);
			break;
		case COAP_OPTION_OBSERVE:
			append(buf, cap, pos, " obs=%u", opt_uint(opt));
			break;
		case COAP_OPTION_CONTENT_FORMAT:
			append(buf, cap, pos, " cf=%u", opt_uint(opt));
			break;
		case COAP_OPTION_OSCORE:
			append(buf, cap, pos, " oscore");
			break;
		default:
			break;
		}
	}
}

const char *lpw_coap_describe(const coap_pdu_t *pdu, char *buf, size_t cap)
{
	char code[8];
	size_t pos = 0;

	if (!buf || cap == 0)
		return buf;
	buf[0] = '\0';
	if (!pdu)
		return buf;
	coap_bin_const_t tok = coap_pdu_get_token(pdu);
	append(buf, cap, &pos, "%s %s mid=0x%04x", lpw_coap_type_name(coap_pdu_get_type(pdu)),
	       lpw_coap_code_name(coap_pdu_get_code(pdu), code, sizeof(code)), (unsigned int)coap_pdu_get_mid(pdu));
	if (tok.length) {
		append(buf, cap, &pos, " tok=");
		for (size_t i = 0; i < tok.length; i++)
			append(buf, cap, &pos, "%02x", tok.s[i]);
	}
	describe_options(pdu, buf, cap, &pos, true);
	describe_options(pdu, buf, cap, &pos, false);

	size_t plen = 0;
	const uint8_t *payload;
	if (coap_get_data(pdu, &plen, &payload) && plen)
		append(buf, cap, &pos, " len=%zu", plen);
	return buf;
}
