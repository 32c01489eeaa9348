/* Datagram CoAP (RFC 7252 §3) bytes <-> libcoap coap_pdu_t: strict parsing, byte-exact encoding, log summaries. */
#ifndef LPW_COAP_CODEC_H
#define LPW_COAP_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <coap3/coap.h>

/* Largest datagram the codec accepts or produces; the southbound links are far smaller (NIDD MTU 1358). */
#define LPW_COAP_UDP_MAX 65507

/*
 * Parses one datagram CoAP message.
 *
 * data: borrowed for the call only (copied into the PDU). Returns a new PDU (ownership passes to the caller, free
 * with coap_delete_pdu()) or NULL with *out_reason set to a static string naming the first fault found:
 * "truncated header", "bad version", "token length 9..15 is reserved", "token overruns message",
 * "reserved code class", "empty message carries a token", "empty message carries options or payload",
 * "NON must not be empty", "ACK carries a request", "RST must be empty", "option delta 15 is reserved",
 * "option length 15 is reserved", "options overrun", "option number above 65535", "option value overruns message",
 * "payload marker with empty payload", "option value length out of range", "out of memory".
 * out_reason may be NULL; on success it is set to NULL.
 *
 * What this adds to libcoap 4.3.1's coap_pdu_parse(): reserved code classes 1, 6 and 7 (7.xx is signalling, TCP
 * only), the type/code rules of RFC 7252 §4.2-4.3 (NON never Empty, ACK never a request, RST always Empty), and a
 * check for option numbers above 65535, which 4.3.1 wraps silently in its 16-bit delta arithmetic.
 * coap_pdu_parse itself supplies the per-option length limits (e.g. Hop-Limit exactly 1 byte, Echo <= 40).
 *
 * Options the gateway carries blindly (OSCORE 9, Hop-Limit 16, Echo 252, No-Response 258, Request-Tag 292, and any
 * unknown number) need NO registration here: coap_pdu_parse() accepts every option number. Registration with
 * coap_register_option(ctx, number) matters only when a parsed PDU is handed to a coap_context_t (its request
 * dispatch answers 4.02 to critical options it does not know, e.g. OSCORE 9): the upstream session code must
 * register them on every context it creates.
 *
 * May be called from any callback; no libcoap context is needed.
 */
coap_pdu_t *lpw_coap_parse_udp(const uint8_t *data, size_t len, const char **out_reason)
	__attribute__((warn_unused_result));

/*
 * Serialises pdu (borrowed) to datagram framing into buf (borrowed, cap bytes). Header, token, options (in number
 * order, values verbatim, a zero-length option stays a zero-length option) and payload are copied as they are, so
 * lpw_coap_encode_udp(lpw_coap_parse_udp(b)) == b for every b the parser accepts.
 * Returns the number of bytes written, -ENOSPC when cap is too small, -EINVAL for a NULL pdu or buf, or a PDU that
 * cannot be framed (token longer than 8, message ID outside 0..0xffff, an Empty message with token, options or
 * payload).
 */
ssize_t lpw_coap_encode_udp(const coap_pdu_t *pdu, uint8_t *buf, size_t cap) __attribute__((warn_unused_result));

/*
 * Writes a one-line summary for logs into buf (borrowed, cap bytes, always NUL-terminated when cap > 0), e.g.
 * "CON GET mid=0x1234 tok=ab12 /3/0", "ACK 2.05 mid=0x1234 tok=ab12 obs=3 cf=110 len=42", "RST 0.00 mid=0x0001".
 * Truncates silently. Returns buf. Never logs option values of an OSCORE message beyond "oscore".
 */
const char *lpw_coap_describe(const coap_pdu_t *pdu, char *buf, size_t cap);

/* The fixed header of a datagram CoAP message (RFC 7252 §3), read without parsing options. */
typedef struct {
	uint8_t type;         /* COAP_MESSAGE_CON .. COAP_MESSAGE_RST */
	uint8_t code;
	uint16_t mid;
	uint8_t token_len;
	const uint8_t *token; /* points into the peeked bytes */
} lpw_coap_header_t;

/* Reads type, code, message ID and token of data (borrowed; *out points into it). 0; -EPROTO when the header is
 * readable but the token is not (reserved length, or cut off): type, code and mid are set, the token is empty;
 * -EBADMSG when there is no version-1 header at all. The one place that peeks at these fields: bindings
 * (LoRaWAN App. C) and the proxy use it. */
int lpw_coap_peek(const uint8_t *data, size_t len, lpw_coap_header_t *out) __attribute__((warn_unused_result));

/* A CoAP Empty message (code 0.00): a ping when CON; never forwarded. */
static inline int lpw_coap_is_empty(const lpw_coap_header_t *h)
{
	return h->code == 0;
}

/* "CON", "NON", "ACK" or "RST". Static string. */
const char *lpw_coap_type_name(coap_pdu_type_t type);

/* "GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH" for methods, else the "c.dd" form in buf (>= 5 bytes). */
const char *lpw_coap_code_name(coap_pdu_code_t code, char *buf, size_t cap);

#endif
