/* OSCORE message processing over libcoap PDUs: RFC 8613 §4 (which options are inner/outer), §5.3 (plaintext),
 * §8 (protecting and verifying requests and responses). */
#include "tools/oscore/oscore_internal.h"

#include <errno.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "proxy/coap_codec.h"

#define OPTION_OSCORE 9
#define OPT_MAX 64 /* options per message; LwM2M messages carry a handful */

/* A borrowed view of one option, kept in number order (stable for repeated options). */
typedef struct {
	uint16_t num;
	const uint8_t *val;
	size_t len;
} optref_t;

typedef struct {
	optref_t o[OPT_MAX];
	size_t n;
} optlist_t;

static int optlist_add(optlist_t *l, uint16_t num, const uint8_t *val, size_t len)
{
	if (l->n == OPT_MAX)
		return -ENOSPC;
	size_t i = l->n;
	while (i > 0 && l->o[i - 1].num > num) {
		l->o[i] = l->o[i - 1];
		i--;
	}
	l->o[i] = (optref_t){num, val, len};
	l->n++;
	return 0;
}

/* §4.1: Class U options (outer only). Observe (6) is handled apart; every other option, known or not, is Class E. */
static bool outer_only(uint16_t num)
{
	switch (num) {
	case COAP_OPTION_URI_HOST:
	case COAP_OPTION_URI_PORT:
	case COAP_OPTION_PROXY_URI:
	case COAP_OPTION_PROXY_SCHEME:
	case 16: /* Hop-Limit (RFC 8768) */
		return true;
	default:
		return false;
	}
}

static bool is_request_code(coap_pdu_code_t code)
{
	return code != 0 && ((unsigned int)code >> 5) == 0;
}

static bool is_response_code(coap_pdu_code_t code)
{
	unsigned int cls = (unsigned int)code >> 5;
	return cls >= 2 && cls <= 5;
}

bool lpw_oscore_has_option(const coap_pdu_t *pdu)
{
	coap_opt_iterator_t it;
	return pdu && coap_check_option(pdu, OPTION_OSCORE, &it) != NULL;
}

/* Sorts plain's options into inner and outer (§4.1). Observe: outer with its value, inner with the value in
 * requests and empty in responses (§4.1.3.5). */
static int split(const coap_pdu_t *plain, bool request, optlist_t *inner, optlist_t *outer)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	int rc = 0;
	coap_option_iterator_init(plain, &it, COAP_OPT_ALL);
	while (rc == 0 && (opt = coap_option_next(&it))) {
		uint16_t num = (uint16_t)it.number;
		const uint8_t *v = coap_opt_value(opt);
		size_t len = coap_opt_length(opt);
		if (num == OPTION_OSCORE)
			return -EINVAL; /* §4.1.3.7: no nested OSCORE */
		if (num == COAP_OPTION_OBSERVE) {
			rc = optlist_add(outer, num, v, len);
			if (rc == 0)
				rc = optlist_add(inner, num, v, request ? len : 0);
		} else {
			rc = optlist_add(outer_only(num) ? outer : inner, num, v, len);
		}
	}
	return rc;
}

/* §5.3: plaintext = Code, the inner options as CoAP encodes them, 0xFF and the payload. Encoded through a
 * header-only datagram so the option encoding is the codec's, then the 4-byte header is dropped but for the code. */
static int encode_plaintext(coap_pdu_code_t code, const optlist_t *inner, const coap_pdu_t *plain, uint8_t *buf,
                            size_t cap, size_t *out_len)
{
	size_t plen = 0;
	const uint8_t *pdata = NULL;
	coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, code, 0, OSCORE_PLAINTEXT_MAX);
	int rc = pdu ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < inner->n; i++)
		if (!coap_add_option(pdu, inner->o[i].num, inner->o[i].len, inner->o[i].val))
			rc = -ENOSPC;
	if (rc == 0 && coap_get_data(plain, &plen, &pdata) && plen && !coap_add_data(pdu, plen, pdata))
		rc = -ENOSPC;
	ssize_t n = rc == 0 ? lpw_coap_encode_udp(pdu, buf, cap) : rc;
	coap_delete_pdu(pdu);
	if (n < 0)
		return (int)n;
	/* header [ver|type|tkl][code][mid][mid]: the code byte moves next to the options and starts the plaintext */
	buf[3] = buf[1];
	memmove(buf, buf + 3, (size_t)n - 3);
	*out_len = (size_t)n - 3;
	return 0;
}

/* Decrypts prot's payload and parses the plaintext into a PDU (ownership passes to *out_inner). */
static int open_message(const uint8_t key[LPW_OSCORE_KEY_LEN], const uint8_t nonce[LPW_OSCORE_NONCE_LEN],
                        const lpw_oscore_req_info_t *req, const coap_pdu_t *prot, coap_pdu_t **out_inner)
{
	uint8_t buf[3 + OSCORE_PLAINTEXT_MAX];
	size_t len = 0;
	const uint8_t *data = NULL;
	if (!coap_get_data(prot, &len, &data) || len < LPW_OSCORE_TAG_LEN + 1)
		return -EPROTO; /* at least the tag and a code byte */
	if (len - LPW_OSCORE_TAG_LEN > OSCORE_PLAINTEXT_MAX)
		return -ENOSPC;
	int rc = oscore_open(key, nonce, req, data, len, buf + 3);
	if (rc)
		return rc;
	size_t pt_len = len - LPW_OSCORE_TAG_LEN;
	/* rebuild a datagram header in front of the plaintext: CON, no token, MID 0, the inner code */
	buf[0] = 0x40;
	buf[1] = buf[3];
	buf[2] = 0;
	buf[3] = 0;
	const char *why = NULL;
	*out_inner = lpw_coap_parse_udp(buf, pt_len + 3, &why);
	mbedtls_platform_zeroize(buf, sizeof(buf));
	return *out_inner ? 0 : -EPROTO;
}

static int copy_token(const coap_pdu_t *from, coap_pdu_t *out)
{
	if (coap_pdu_get_token(out).length)
		return 0;
	coap_bin_const_t tok = coap_pdu_get_token(from);
	return tok.length == 0 || coap_add_token(out, tok.length, tok.s) ? 0 : -ENOSPC;
}

static int write_message(coap_pdu_t *out, coap_pdu_code_t code, const coap_pdu_t *token_from, const optlist_t *opts,
                         const uint8_t *payload, size_t len)
{
	coap_pdu_set_code(out, code);
	int rc = copy_token(token_from, out);
	for (size_t i = 0; rc == 0 && i < opts->n; i++)
		if (!coap_add_option(out, opts->o[i].num, opts->o[i].len, opts->o[i].val))
			rc = -ENOSPC;
	if (rc == 0 && len && !coap_add_data(out, len, payload))
		rc = -ENOSPC;
	return rc;
}

/* The decrypted message: outer Class U options of prot, the inner options, the inner code and payload. Observe
 * comes from inside for requests and from outside for responses, where the inner one is empty (§4.1.3.5.2). */
static int write_plain(coap_pdu_t *out, const coap_pdu_t *prot, const coap_pdu_t *inner, bool request)
{
	static optlist_t l; /* large; single-threaded tools */
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	int rc = 0;
	l.n = 0;
	coap_option_iterator_init(prot, &it, COAP_OPT_ALL);
	while (rc == 0 && (opt = coap_option_next(&it))) {
		uint16_t num = (uint16_t)it.number;
		if (outer_only(num) || (num == COAP_OPTION_OBSERVE && !request))
			rc = optlist_add(&l, num, coap_opt_value(opt), coap_opt_length(opt));
	}
	coap_option_iterator_init(inner, &it, COAP_OPT_ALL);
	while (rc == 0 && (opt = coap_option_next(&it))) {
		uint16_t num = (uint16_t)it.number;
		if (num == OPTION_OSCORE)
			return -EPROTO;
		if (num != COAP_OPTION_OBSERVE || request)
			rc = optlist_add(&l, num, coap_opt_value(opt), coap_opt_length(opt));
	}
	size_t len = 0;
	const uint8_t *data = NULL;
	coap_get_data(inner, &len, &data);
	return rc ? rc : write_message(out, coap_pdu_get_code(inner), prot, &l, data, len);
}

/* Encrypts plain (its code, inner options and payload) and writes the OSCORE message to out. */
static int seal_message(const uint8_t key[LPW_OSCORE_KEY_LEN], const uint8_t nonce[LPW_OSCORE_NONCE_LEN],
                        const lpw_oscore_req_info_t *req, const coap_pdu_t *plain, const optlist_t *inner,
                        optlist_t *outer, const uint8_t *opt_val, size_t opt_len, coap_pdu_code_t outer_code,
                        coap_pdu_t *out)
{
	uint8_t pt[4 + OSCORE_PLAINTEXT_MAX], ct[OSCORE_PLAINTEXT_MAX + LPW_OSCORE_TAG_LEN];
	size_t pt_len = 0;
	int rc = encode_plaintext(coap_pdu_get_code(plain), inner, plain, pt, sizeof(pt), &pt_len);
	if (rc == 0 && pt_len > OSCORE_PLAINTEXT_MAX)
		rc = -ENOSPC;
	if (rc == 0)
		rc = oscore_seal(key, nonce, req, pt, pt_len, ct);
	if (rc == 0)
		rc = optlist_add(outer, OPTION_OSCORE, opt_val, opt_len);
	if (rc == 0)
		rc = write_message(out, outer_code, plain, outer, ct, pt_len + LPW_OSCORE_TAG_LEN);
	mbedtls_platform_zeroize(pt, sizeof(pt));
	return rc;
}

static int next_piv(lpw_oscore_ctx_t *ctx, uint8_t piv[LPW_OSCORE_PIV_MAX], size_t *len)
{
	if (ctx->sender_seq > OSCORE_SEQ_MAX)
		return -EOVERFLOW;
	/* consumed before anything can fail: a nonce is never used twice, even for a message never sent */
	*len = oscore_piv_encode(ctx->sender_seq++, piv);
	return 0;
}

int lpw_oscore_protect_request(lpw_oscore_ctx_t *ctx, const coap_pdu_t *plain, coap_pdu_t *out,
                               lpw_oscore_req_info_t *info)
{
	static optlist_t inner, outer;
	uint8_t nonce[LPW_OSCORE_NONCE_LEN], opt[1 + LPW_OSCORE_PIV_MAX + 1 + LPW_OSCORE_ID_CONTEXT_MAX + LPW_OSCORE_ID_MAX];
	if (!ctx || !plain || !out || !info || !is_request_code(coap_pdu_get_code(plain)))
		return -EINVAL;
	inner.n = outer.n = 0;
	int rc = split(plain, true, &inner, &outer);
	if (rc)
		return rc;
	memset(info, 0, sizeof(*info));
	if ((rc = next_piv(ctx, info->piv, &info->piv_len)))
		return rc;
	memcpy(info->kid, ctx->sender_id, ctx->sender_id_len);
	info->kid_len = ctx->sender_id_len;
	coap_opt_iterator_t it;
	info->observe = coap_check_option(plain, COAP_OPTION_OBSERVE, &it) != NULL;
	oscore_nonce(ctx, info->kid, info->kid_len, info->piv, info->piv_len, nonce);
	int olen = oscore_option_encode(info->piv, info->piv_len, info->kid, info->kid_len, true,
	                                ctx->has_id_context ? ctx->id_context : NULL, ctx->id_context_len, opt,
	                                sizeof(opt));
	if (olen < 0)
		return olen;
	/* §4.1.3.5: POST is not defined with Observe, so an observation travels as FETCH */
	coap_pdu_code_t code = info->observe ? COAP_REQUEST_CODE_FETCH : COAP_REQUEST_CODE_POST;
	return seal_message(ctx->sender_key, nonce, info, plain, &inner, &outer, opt, (size_t)olen, code, out);
}

/* The OSCORE option of prot, parsed; -EPROTO when absent or malformed. */
static int get_option(const coap_pdu_t *prot, oscore_option_t *o)
{
	coap_opt_iterator_t it;
	const char *why = NULL;
	coap_opt_t *opt = coap_check_option(prot, OPTION_OSCORE, &it);
	if (!opt)
		return -EPROTO;
	return oscore_option_parse(coap_opt_value(opt), coap_opt_length(opt), o, &why);
}

static bool same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

int lpw_oscore_unprotect_request(lpw_oscore_ctx_t *ctx, const coap_pdu_t *prot, coap_pdu_t *out,
                                 lpw_oscore_req_info_t *info)
{
	oscore_option_t o;
	uint8_t nonce[LPW_OSCORE_NONCE_LEN];
	coap_pdu_t *inner = NULL;
	if (!ctx || !prot || !out || !info)
		return -EINVAL;
	int rc = get_option(prot, &o);
	if (rc)
		return rc;
	if (!o.piv_len || !o.has_kid)
		return -EPROTO; /* §6.1: a request carries a Partial IV and a kid */
	if (!same(o.kid, o.kid_len, ctx->recipient_id, ctx->recipient_id_len) ||
	    (o.has_kid_context &&
	     (!ctx->has_id_context || !same(o.kid_context, o.kid_context_len, ctx->id_context, ctx->id_context_len))))
		return -ENOKEY;
	uint64_t piv = oscore_piv_decode(o.piv, o.piv_len);
	if ((rc = oscore_replay_check(ctx, piv)))
		return rc;
	memset(info, 0, sizeof(*info));
	memcpy(info->kid, o.kid, o.kid_len);
	info->kid_len = o.kid_len;
	memcpy(info->piv, o.piv, o.piv_len);
	info->piv_len = o.piv_len;
	oscore_nonce(ctx, o.kid, o.kid_len, o.piv, o.piv_len, nonce);
	if ((rc = open_message(ctx->recipient_key, nonce, info, prot, &inner)))
		return rc;
	if (!is_request_code(coap_pdu_get_code(inner))) {
		coap_delete_pdu(inner);
		return -EPROTO;
	}
	/* §7.4: only a verified request moves the window */
	oscore_replay_accept(ctx, piv);
	coap_opt_iterator_t it;
	info->observe = coap_check_option(inner, COAP_OPTION_OBSERVE, &it) != NULL;
	rc = write_plain(out, prot, inner, true);
	coap_delete_pdu(inner);
	return rc;
}

int lpw_oscore_protect_response(lpw_oscore_ctx_t *ctx, const coap_pdu_t *plain, const lpw_oscore_req_info_t *req,
                                bool notification, coap_pdu_t *out)
{
	static optlist_t inner, outer;
	uint8_t nonce[LPW_OSCORE_NONCE_LEN], piv[LPW_OSCORE_PIV_MAX], opt[1 + LPW_OSCORE_PIV_MAX];
	size_t piv_len = 0;
	int olen = 0;
	if (!ctx || !plain || !req || !out || !is_response_code(coap_pdu_get_code(plain)))
		return -EINVAL;
	inner.n = outer.n = 0;
	int rc = split(plain, false, &inner, &outer);
	if (rc)
		return rc;
	if (notification) {
		/* §8.3: own Partial IV, own nonce; no kid needed, the client knows who answers */
		if ((rc = next_piv(ctx, piv, &piv_len)))
			return rc;
		oscore_nonce(ctx, ctx->sender_id, ctx->sender_id_len, piv, piv_len, nonce);
		olen = oscore_option_encode(piv, piv_len, NULL, 0, false, NULL, 0, opt, sizeof(opt));
		if (olen < 0)
			return olen;
	} else {
		/* §5.2: no Partial IV: the request's nonce, made from the request's kid and Partial IV */
		oscore_nonce(ctx, req->kid, req->kid_len, req->piv, req->piv_len, nonce);
	}
	coap_opt_iterator_t it;
	bool observe = coap_check_option(plain, COAP_OPTION_OBSERVE, &it) != NULL;
	coap_pdu_code_t code = observe ? COAP_RESPONSE_CODE(205) : COAP_RESPONSE_CODE(204);
	return seal_message(ctx->sender_key, nonce, req, plain, &inner, &outer, opt, (size_t)olen, code, out);
}

int lpw_oscore_unprotect_response(lpw_oscore_ctx_t *ctx, const coap_pdu_t *prot, lpw_oscore_req_info_t *req,
                                  coap_pdu_t *out)
{
	oscore_option_t o;
	uint8_t nonce[LPW_OSCORE_NONCE_LEN];
	coap_pdu_t *inner = NULL;
	coap_opt_iterator_t it;
	if (!ctx || !prot || !req || !out)
		return -EINVAL;
	int rc = get_option(prot, &o);
	if (rc)
		return rc;
	if (o.has_kid && !same(o.kid, o.kid_len, ctx->recipient_id, ctx->recipient_id_len))
		return -ENOKEY;
	bool observe = coap_check_option(prot, COAP_OPTION_OBSERVE, &it) != NULL;
	uint64_t piv = oscore_piv_decode(o.piv, o.piv_len);
	if (o.piv_len) {
		/* §7.4.1: a notification older than the freshest one accepted is a replay */
		if (observe && req->have_notification && piv <= req->notification)
			return -EALREADY;
		oscore_nonce(ctx, ctx->recipient_id, ctx->recipient_id_len, o.piv, o.piv_len, nonce);
	} else {
		oscore_nonce(ctx, req->kid, req->kid_len, req->piv, req->piv_len, nonce);
	}
	if ((rc = open_message(ctx->recipient_key, nonce, req, prot, &inner)))
		return rc;
	if (!is_response_code(coap_pdu_get_code(inner))) {
		coap_delete_pdu(inner);
		return -EPROTO;
	}
	if (o.piv_len && observe) {
		req->have_notification = true;
		req->notification = piv;
	}
	rc = write_plain(out, prot, inner, false);
	coap_delete_pdu(inner);
	return rc;
}
