/* Small helpers over standalone libcoap PDUs (made with coap_pdu_init) that both proxy directions need. */
#ifndef LPW_PDU_UTIL_H
#define LPW_PDU_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <coap3/coap.h>

/* CoAP (RFC 7252 §5.10) caps Uri-Path, Uri-Query and Location-Path values at 255 bytes. */
#define LPW_PDU_MAX_SEGMENT 255

/* One option value, borrowed from the PDU it was read from (valid while that PDU lives, unchanged). */
typedef struct {
	const uint8_t *value; /* NULL only when len == 0 */
	size_t len;
} lpw_pdu_optval_t;

/* What lpw_pdu_copy() changes on the way. All pointers borrowed for the call only. */
typedef struct {
	const uint16_t *skip;	     /* option numbers not copied; may be NULL */
	size_t n_skip;
	bool replace_uri_path;	     /* drop src's Uri-Path options, put uri_path[] in their place */
	const lpw_pdu_optval_t *uri_path;
	size_t n_uri_path;
	bool copy_token;	     /* also copy src's token (dst must have no token and no options yet) */
} lpw_pdu_copy_opts_t;

/*
 * Copies src's code, options (in order, byte for byte, zero-length ones included) and payload into dst with
 * coap_add_option/coap_add_data. dst must be made by the caller with coap_pdu_init() and carry its token already
 * (unless opts->copy_token) and no options or payload. Type and message ID of dst are left alone.
 * opts may be NULL (plain copy). src and opts are borrowed for the call.
 * Returns 0; -EINVAL for NULL pdus, a replacement segment over 255 bytes or a dst that refuses the token;
 * -ENOSPC when dst's size (given to coap_pdu_init) cannot hold everything: then dst is partly filled and must be
 * discarded, never sent.
 */
int lpw_pdu_copy(coap_pdu_t *dst, const coap_pdu_t *src, const lpw_pdu_copy_opts_t *opts)
	__attribute__((warn_unused_result));

/*
 * True when pdu carries at least one option `number`, also when its value is zero bytes long (the OSCORE option
 * of most protected responses is empty and must never be taken for absent: DESIGN.md decision 4).
 */
bool lpw_pdu_has_option(const coap_pdu_t *pdu, uint16_t number);

/*
 * Fills out[0..max) with the values of every option `number`, in order; values are borrowed from pdu.
 * Returns the number of such options in pdu (may exceed max: only max are stored), or -EINVAL for NULL pdu
 * or NULL out with max > 0.
 */
int lpw_pdu_get_options(const coap_pdu_t *pdu, uint16_t number, lpw_pdu_optval_t *out, size_t max);

/*
 * Writes the Uri-Path of pdu as "/a/b/c" ("/" when it has none) NUL-terminated into buf (caller's, size bytes).
 * Bytes '/', '%' and anything outside printable ASCII inside a segment are written as %XX so that the string
 * maps back to exactly one segment list. Returns the string length, -ENOSPC if buf is too small (buf then holds
 * a truncated, still terminated string), -EINVAL for NULL arguments or size 0.
 */
int lpw_pdu_uri_path_str(const coap_pdu_t *pdu, char *buf, size_t size);

/* Same formatting for a segment list (e.g. a stored Location-Path). Same returns. */
int lpw_pdu_path_str(const lpw_pdu_optval_t *segs, size_t n, char *buf, size_t size);

#endif
