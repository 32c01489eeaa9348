/* OSCORE security context (RFC 8613 §3), nonce (§5.2), AAD (§5.4), the OSCORE option (§6.1), replay (§7.4). */
#include "tools/oscore/oscore_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ccm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "tools/common/parse.h"

/* ---- the few CBOR items OSCORE needs (RFC 8949 §3): uint, bstr, tstr, array, nil ---- */

typedef struct {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
} cbor_t;

static void cbor_head(cbor_t *w, uint8_t major, uint64_t v)
{
	uint8_t tmp[9];
	size_t n;
	if (v < 24) {
		tmp[0] = (uint8_t)(major << 5 | v);
		n = 1;
	} else if (v <= 0xff) {
		tmp[0] = (uint8_t)(major << 5 | 24);
		tmp[1] = (uint8_t)v;
		n = 2;
	} else if (v <= 0xffff) {
		tmp[0] = (uint8_t)(major << 5 | 25);
		tmp[1] = (uint8_t)(v >> 8);
		tmp[2] = (uint8_t)v;
		n = 3;
	} else {
		/* nothing OSCORE encodes here reaches 2^32 (lengths of small buffers) */
		tmp[0] = (uint8_t)(major << 5 | 26);
		for (int i = 0; i < 4; i++)
			tmp[1 + i] = (uint8_t)(v >> (24 - 8 * i));
		n = 5;
	}
	if (w->len + n > w->cap) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, tmp, n);
	w->len += n;
}

static void cbor_bytes(cbor_t *w, uint8_t major, const void *p, size_t n)
{
	cbor_head(w, major, n);
	if (w->overflow || w->len + n > w->cap) {
		w->overflow = true;
		return;
	}
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

#define CBOR_UINT 0
#define CBOR_BSTR 2
#define CBOR_TSTR 3
#define CBOR_ARRAY 4
#define CBOR_NIL 0xf6

static void cbor_nil(cbor_t *w)
{
	if (w->len + 1 > w->cap) {
		w->overflow = true;
		return;
	}
	w->buf[w->len++] = CBOR_NIL;
}

/* ---- context derivation (§3.2.1) ---- */

/* info = [ id : bstr, id_context : bstr / nil, alg_aead : int, type : tstr, L : uint ] */
static int derive(const uint8_t *secret, size_t secret_len, const uint8_t *salt, size_t salt_len, const uint8_t *id,
                  size_t id_len, const lpw_oscore_ctx_t *ctx, const char *type, uint8_t *out, size_t out_len)
{
	uint8_t info[64 + LPW_OSCORE_ID_CONTEXT_MAX];
	cbor_t w = {info, sizeof(info), 0, false};
	cbor_head(&w, CBOR_ARRAY, 5);
	cbor_bytes(&w, CBOR_BSTR, id, id_len);
	if (ctx->has_id_context)
		cbor_bytes(&w, CBOR_BSTR, ctx->id_context, ctx->id_context_len);
	else
		cbor_nil(&w);
	cbor_head(&w, CBOR_UINT, OSCORE_ALG_AES_CCM_16_64_128);
	cbor_bytes(&w, CBOR_TSTR, type, strlen(type));
	cbor_head(&w, CBOR_UINT, out_len);
	if (w.overflow)
		return -ENOSPC;
	/* an absent Master Salt is the empty byte string, which HKDF-Extract treats as HashLen zeros (RFC 5869) */
	int rc = mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), salt, salt_len, secret, secret_len, info,
	                      w.len, out, out_len);
	return rc ? -EIO : 0;
}

lpw_oscore_ctx_t *lpw_oscore_ctx_new(const uint8_t *secret, size_t secret_len, const uint8_t *salt, size_t salt_len,
                                     const uint8_t *sender_id, size_t sender_id_len, const uint8_t *recipient_id,
                                     size_t recipient_id_len, const uint8_t *id_context, size_t id_context_len)
{
	if (!secret || secret_len == 0 || secret_len > LPW_OSCORE_SECRET_MAX || sender_id_len > LPW_OSCORE_ID_MAX ||
	    recipient_id_len > LPW_OSCORE_ID_MAX || id_context_len > LPW_OSCORE_ID_CONTEXT_MAX ||
	    (sender_id_len && !sender_id) || (recipient_id_len && !recipient_id) || (salt_len && !salt) ||
	    (id_context_len && !id_context))
		return NULL;
	/* §3.3: the two IDs must differ, or both sides would use the same keys and nonces */
	if (sender_id_len == recipient_id_len && !memcmp(sender_id ? sender_id : (const uint8_t *)"",
	                                                 recipient_id ? recipient_id : (const uint8_t *)"", sender_id_len))
		return NULL;
	lpw_oscore_ctx_t *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return NULL;
	if (sender_id_len)
		memcpy(ctx->sender_id, sender_id, sender_id_len);
	ctx->sender_id_len = sender_id_len;
	if (recipient_id_len)
		memcpy(ctx->recipient_id, recipient_id, recipient_id_len);
	ctx->recipient_id_len = recipient_id_len;
	ctx->has_id_context = id_context != NULL;
	if (id_context_len)
		memcpy(ctx->id_context, id_context, id_context_len);
	ctx->id_context_len = id_context_len;
	if (derive(secret, secret_len, salt, salt_len, sender_id, sender_id_len, ctx, "Key", ctx->sender_key,
	           LPW_OSCORE_KEY_LEN) ||
	    derive(secret, secret_len, salt, salt_len, recipient_id, recipient_id_len, ctx, "Key", ctx->recipient_key,
	           LPW_OSCORE_KEY_LEN) ||
	    derive(secret, secret_len, salt, salt_len, NULL, 0, ctx, "IV", ctx->common_iv, LPW_OSCORE_NONCE_LEN)) {
		lpw_oscore_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

lpw_oscore_ctx_t *lpw_oscore_ctx_from_arg(const char *arg, char *why, size_t whylen)
{
	static const char *const names[] = {"SECRET", "SALT", "SENDER_ID", "RECIPIENT_ID", "ID_CONTEXT"};
	uint8_t f[5][LPW_OSCORE_SECRET_MAX];
	size_t len[5] = {0};
	int fields = 1;
	for (const char *q = arg; *q; q++)
		fields += *q == ':';
	if (fields < 4 || fields > 5) {
		lpw_parse_fail(why, whylen, "want SECRET:SALT:SENDER_ID:RECIPIENT_ID[:ID_CONTEXT], not %d fields",
		               fields);
		return NULL;
	}
	/* every field may be empty here (no salt, an empty ID); lpw_oscore_ctx_new judges the lengths */
	for (int i = 0; i < fields; i++) {
		size_t n = strcspn(arg, ":");
		if (lpw_parse_hex(arg, n, f[i], sizeof(f[i]), &len[i]) < 0) {
			lpw_parse_fail(why, whylen, "%s is not hex of at most %d bytes", names[i],
			               LPW_OSCORE_SECRET_MAX);
			return NULL;
		}
		arg += n + (arg[n] == ':');
	}
	lpw_oscore_ctx_t *ctx = lpw_oscore_ctx_new(f[0], len[0], len[1] ? f[1] : NULL, len[1], f[2], len[2], f[3],
	                                           len[3], fields == 5 ? f[4] : NULL, len[4]);
	if (!ctx)
		lpw_parse_fail(why, whylen,
		               "refused: the secret must not be empty, the IDs must be up to %d bytes and different, "
		               "the ID context up to %d bytes",
		               LPW_OSCORE_ID_MAX, LPW_OSCORE_ID_CONTEXT_MAX);
	mbedtls_platform_zeroize(f, sizeof(f)); /* the master secret was in there */
	return ctx;
}

void lpw_oscore_ctx_free(lpw_oscore_ctx_t *ctx)
{
	if (!ctx)
		return;
	mbedtls_platform_zeroize(ctx, sizeof(*ctx));
	free(ctx);
}

const uint8_t *lpw_oscore_ctx_sender_key(const lpw_oscore_ctx_t *ctx)
{
	return ctx->sender_key;
}

const uint8_t *lpw_oscore_ctx_recipient_key(const lpw_oscore_ctx_t *ctx)
{
	return ctx->recipient_key;
}

const uint8_t *lpw_oscore_ctx_common_iv(const lpw_oscore_ctx_t *ctx)
{
	return ctx->common_iv;
}

uint64_t lpw_oscore_ctx_sender_seq(const lpw_oscore_ctx_t *ctx)
{
	return ctx->sender_seq;
}

void lpw_oscore_ctx_set_sender_seq(lpw_oscore_ctx_t *ctx, uint64_t seq)
{
	ctx->sender_seq = seq;
}

/* ---- nonce (§5.2) ---- */

size_t oscore_piv_encode(uint64_t seq, uint8_t out[LPW_OSCORE_PIV_MAX])
{
	size_t n = 1;
	while (n < LPW_OSCORE_PIV_MAX && (seq >> (8 * n)))
		n++;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(seq >> (8 * (n - 1 - i)));
	return n;
}

uint64_t oscore_piv_decode(const uint8_t *piv, size_t len)
{
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++)
		v = v << 8 | piv[i];
	return v;
}

/* 1 byte ID length, the ID left-padded to nonce_len - 6 bytes, the Partial IV left-padded to 5; XOR Common IV */
void oscore_nonce(const lpw_oscore_ctx_t *ctx, const uint8_t *id, size_t id_len, const uint8_t *piv, size_t piv_len,
                  uint8_t out[LPW_OSCORE_NONCE_LEN])
{
	memset(out, 0, LPW_OSCORE_NONCE_LEN);
	out[0] = (uint8_t)id_len;
	if (id_len)
		memcpy(out + 1 + LPW_OSCORE_ID_MAX - id_len, id, id_len);
	if (piv_len)
		memcpy(out + LPW_OSCORE_NONCE_LEN - piv_len, piv, piv_len);
	for (size_t i = 0; i < LPW_OSCORE_NONCE_LEN; i++)
		out[i] ^= ctx->common_iv[i];
}

void lpw_oscore_ctx_nonce(const lpw_oscore_ctx_t *ctx, bool sender, uint64_t seq, uint8_t out[LPW_OSCORE_NONCE_LEN])
{
	uint8_t piv[LPW_OSCORE_PIV_MAX];
	size_t n = oscore_piv_encode(seq, piv);
	if (sender)
		oscore_nonce(ctx, ctx->sender_id, ctx->sender_id_len, piv, n, out);
	else
		oscore_nonce(ctx, ctx->recipient_id, ctx->recipient_id_len, piv, n, out);
}

/* ---- AAD (§5.4) and the AEAD ---- */

/* Enc_structure = ["Encrypt0", h'', bstr(external_aad)],
 * external_aad = [oscore_version 1, [alg_aead], request_kid, request_piv, options h''] */
static int build_aad(const lpw_oscore_req_info_t *req, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t ext[32];
	cbor_t e = {ext, sizeof(ext), 0, false};
	cbor_head(&e, CBOR_ARRAY, 5);
	cbor_head(&e, CBOR_UINT, 1);
	cbor_head(&e, CBOR_ARRAY, 1);
	cbor_head(&e, CBOR_UINT, OSCORE_ALG_AES_CCM_16_64_128);
	cbor_bytes(&e, CBOR_BSTR, req->kid, req->kid_len);
	cbor_bytes(&e, CBOR_BSTR, req->piv, req->piv_len);
	cbor_bytes(&e, CBOR_BSTR, NULL, 0); /* no class I options are defined */
	cbor_t w = {out, cap, 0, false};
	cbor_head(&w, CBOR_ARRAY, 3);
	cbor_bytes(&w, CBOR_TSTR, "Encrypt0", 8);
	cbor_bytes(&w, CBOR_BSTR, NULL, 0);
	cbor_bytes(&w, CBOR_BSTR, ext, e.len);
	if (e.overflow || w.overflow)
		return -ENOSPC;
	*out_len = w.len;
	return 0;
}

static int aead(bool seal, const uint8_t key[LPW_OSCORE_KEY_LEN], const uint8_t nonce[LPW_OSCORE_NONCE_LEN],
                const lpw_oscore_req_info_t *req, const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t aad[64];
	size_t aad_len;
	mbedtls_ccm_context ccm;
	int rc = build_aad(req, aad, sizeof(aad), &aad_len);
	if (rc)
		return rc;
	mbedtls_ccm_init(&ccm);
	rc = mbedtls_ccm_setkey(&ccm, MBEDTLS_CIPHER_ID_AES, key, 8 * LPW_OSCORE_KEY_LEN);
	if (rc == 0 && seal)
		rc = mbedtls_ccm_encrypt_and_tag(&ccm, len, nonce, LPW_OSCORE_NONCE_LEN, aad, aad_len, in, out, out + len,
		                                 LPW_OSCORE_TAG_LEN);
	else if (rc == 0)
		rc = mbedtls_ccm_auth_decrypt(&ccm, len - LPW_OSCORE_TAG_LEN, nonce, LPW_OSCORE_NONCE_LEN, aad, aad_len,
		                              in, out, in + len - LPW_OSCORE_TAG_LEN, LPW_OSCORE_TAG_LEN);
	mbedtls_ccm_free(&ccm);
	if (rc == MBEDTLS_ERR_CCM_AUTH_FAILED)
		return -EBADMSG;
	return rc ? -EIO : 0;
}

int oscore_seal(const uint8_t key[LPW_OSCORE_KEY_LEN], const uint8_t nonce[LPW_OSCORE_NONCE_LEN],
                const lpw_oscore_req_info_t *req, const uint8_t *in, size_t len, uint8_t *out)
{
	return aead(true, key, nonce, req, in, len, out);
}

int oscore_open(const uint8_t key[LPW_OSCORE_KEY_LEN], const uint8_t nonce[LPW_OSCORE_NONCE_LEN],
                const lpw_oscore_req_info_t *req, const uint8_t *in, size_t len, uint8_t *out)
{
	if (len < LPW_OSCORE_TAG_LEN)
		return -EBADMSG;
	return aead(false, key, nonce, req, in, len, out);
}

/* ---- the OSCORE option value (§6.1) ---- */

#define FLAG_N 0x07
#define FLAG_K 0x08
#define FLAG_H 0x10
#define FLAG_RESERVED 0xe0 /* bit 0 (0x80) is the extension bit, 0x60 reserved: none is defined */

int oscore_option_parse(const uint8_t *v, size_t len, oscore_option_t *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return 0;
	uint8_t flags = v[0];
	size_t pos = 1;
	size_t n = flags & FLAG_N;
	if (flags & FLAG_RESERVED)
		return *why = "reserved flag bits set", -EPROTO;
	if (n > LPW_OSCORE_PIV_MAX)
		return *why = "reserved Partial IV length", -EPROTO;
	if (pos + n > len)
		return *why = "Partial IV overruns the option", -EPROTO;
	out->piv = v + pos;
	out->piv_len = n;
	pos += n;
	if (flags & FLAG_H) {
		if (pos >= len)
			return *why = "kid context length missing", -EPROTO;
		size_t s = v[pos++];
		if (pos + s > len)
			return *why = "kid context overruns the option", -EPROTO;
		out->has_kid_context = true;
		out->kid_context = v + pos;
		out->kid_context_len = s;
		pos += s;
	}
	if (flags & FLAG_K) {
		out->has_kid = true;
		out->kid = v + pos;
		out->kid_len = len - pos;
		if (out->kid_len > LPW_OSCORE_ID_MAX)
			return *why = "kid longer than any ID of this context", -EPROTO;
	} else if (pos != len) {
		return *why = "trailing bytes in the option", -EPROTO;
	}
	if (flags == 0)
		return *why = "flag byte 0 must be sent as an empty option", -EPROTO;
	return 0;
}

int oscore_option_encode(const uint8_t *piv, size_t piv_len, const uint8_t *kid, size_t kid_len, bool with_kid,
                         const uint8_t *kid_context, size_t kid_context_len, uint8_t *out, size_t cap)
{
	size_t need = 1 + piv_len + (kid_context ? 1 + kid_context_len : 0) + (with_kid ? kid_len : 0);
	if (!piv_len && !with_kid && !kid_context)
		return 0; /* §6.1: all flags zero is sent as an empty option value */
	if (need > cap || kid_context_len > 255)
		return -ENOSPC;
	size_t pos = 0;
	out[pos++] = (uint8_t)(piv_len | (with_kid ? FLAG_K : 0) | (kid_context ? FLAG_H : 0));
	memcpy(out + pos, piv, piv_len);
	pos += piv_len;
	if (kid_context) {
		out[pos++] = (uint8_t)kid_context_len;
		if (kid_context_len)
			memcpy(out + pos, kid_context, kid_context_len);
		pos += kid_context_len;
	}
	if (with_kid && kid_len) {
		memcpy(out + pos, kid, kid_len);
		pos += kid_len;
	}
	return (int)pos;
}

/* ---- replay window (§7.4) ---- */

int oscore_replay_check(const lpw_oscore_ctx_t *ctx, uint64_t piv)
{
	if (!ctx->replay_init || piv > ctx->replay_max)
		return 0;
	uint64_t age = ctx->replay_max - piv;
	if (age >= LPW_OSCORE_REPLAY_WINDOW)
		return -EALREADY; /* older than the window: cannot tell, so refuse */
	return (ctx->replay_bits >> age) & 1 ? -EALREADY : 0;
}

void oscore_replay_accept(lpw_oscore_ctx_t *ctx, uint64_t piv)
{
	if (!ctx->replay_init) {
		ctx->replay_init = true;
		ctx->replay_max = piv;
		ctx->replay_bits = 1;
		return;
	}
	if (piv > ctx->replay_max) {
		uint64_t shift = piv - ctx->replay_max;
		ctx->replay_bits = shift >= LPW_OSCORE_REPLAY_WINDOW ? 0 : ctx->replay_bits << shift;
		ctx->replay_bits |= 1;
		ctx->replay_max = piv;
		return;
	}
	ctx->replay_bits |= UINT32_C(1) << (ctx->replay_max - piv);
}

/* ---- errors ---- */

coap_pdu_code_t lpw_oscore_error_code(int err, const char **out_diag)
{
	const char *diag;
	coap_pdu_code_t code;
	switch (err) {
	case -EPROTO:
		code = COAP_RESPONSE_CODE(402);
		diag = "Bad Option";
		break;
	case -ENOKEY:
		code = COAP_RESPONSE_CODE(401);
		diag = "Security context not found";
		break;
	case -EALREADY:
		code = COAP_RESPONSE_CODE(401);
		diag = "Replay detected";
		break;
	default:
		code = COAP_RESPONSE_CODE(400);
		diag = "Decryption failed";
		break;
	}
	if (out_diag)
		*out_diag = diag;
	return code;
}

const char *lpw_oscore_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -EINVAL:
		return "invalid argument";
	case -EPROTO:
		return "malformed OSCORE message";
	case -ENOKEY:
		return "security context not found";
	case -EALREADY:
		return "replay detected";
	case -EBADMSG:
		return "decryption failed";
	case -EOVERFLOW:
		return "sender sequence numbers exhausted";
	case -ENOSPC:
		return "message too large";
	case -ENOMEM:
		return "out of memory";
	default:
		return "OSCORE failure";
	}
}
