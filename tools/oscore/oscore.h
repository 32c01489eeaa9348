/* OSCORE (RFC 8613) for the test tools: security context, and protect/unprotect of libcoap PDUs. */
#ifndef LPW_OSCORE_H
#define LPW_OSCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <coap3/coap.h>

/*
 * Scope: AES-CCM-16-64-128 (COSE alg 10) with HKDF-SHA256, the RFC 8613 defaults and the only algorithm LwM2M 1.1
 * devices must support. One context = one pair of endpoints. Not implemented: the Echo option exchange of
 * Appendix B.1.2 (a restarted endpoint must be given a fresh context or a sender sequence number beyond what it
 * used), Appendix B.2 context re-derivation, outer Block-wise reassembly, class I options (none are defined).
 * The gateway never uses this module (DESIGN.md decision 4): it exists so the simulators can prove passthrough.
 */

#define LPW_OSCORE_KEY_LEN 16
#define LPW_OSCORE_NONCE_LEN 13
#define LPW_OSCORE_TAG_LEN 8
#define LPW_OSCORE_ID_MAX (LPW_OSCORE_NONCE_LEN - 6) /* §3.3: Sender/Recipient ID at most nonce length - 6 */
#define LPW_OSCORE_PIV_MAX 5                          /* §6.1: Partial IV at most 5 bytes */
#define LPW_OSCORE_ID_CONTEXT_MAX 32
#define LPW_OSCORE_SECRET_MAX 64
#define LPW_OSCORE_REPLAY_WINDOW 32 /* §7.4: replay window size */

typedef struct lpw_oscore_ctx lpw_oscore_ctx_t;

/* What a response must be bound to (§5.4 request_kid/request_piv) plus the client's notification number
 * (§4.1.3.5.2). Filled by protect_request (client) and unprotect_request (server); a plain value to keep. */
typedef struct {
	uint8_t kid[LPW_OSCORE_ID_MAX];
	size_t kid_len;
	uint8_t piv[LPW_OSCORE_PIV_MAX];
	size_t piv_len;
	bool observe;           /* the request carried Observe */
	bool have_notification; /* client: a notification with a Partial IV was accepted */
	uint64_t notification;  /* client: the largest such Partial IV */
} lpw_oscore_req_info_t;

/*
 * Derives a security context (§3.2). Every buffer is copied. master_salt and id_context may be NULL/0 (no salt:
 * HKDF's default; no ID Context: nil in the info array). When an ID Context is given it is also sent as
 * 'kid context' in every request (Appendix C.6 style). The sender sequence number starts at 0.
 * NULL for a secret that is empty or longer than 64 bytes, an ID longer than 7 bytes, an ID Context longer than
 * 32 bytes, or when mbedTLS fails.
 */
lpw_oscore_ctx_t *lpw_oscore_ctx_new(const uint8_t *master_secret, size_t secret_len, const uint8_t *master_salt,
                                     size_t salt_len, const uint8_t *sender_id, size_t sender_id_len,
                                     const uint8_t *recipient_id, size_t recipient_id_len,
                                     const uint8_t *id_context, size_t id_context_len);
/*
 * The command-line form of a context, as device-sim and lwm2m-test-server take it with --oscore:
 * SECRET:SALT:SENDER_ID:RECIPIENT_ID[:ID_CONTEXT], every field hex and possibly empty (no salt, an empty ID; an
 * empty fifth field is an empty ID Context, which is then sent). arg is borrowed. A new context as
 * lpw_oscore_ctx_new makes it, or NULL with the reason in why (always NUL-terminated when whylen > 0; why may be
 * NULL): not 4 or 5 fields, a field that is not hex, or values lpw_oscore_ctx_new refuses.
 */
lpw_oscore_ctx_t *lpw_oscore_ctx_from_arg(const char *arg, char *why, size_t whylen);
/* Wipes the keys. Accepts NULL. */
void lpw_oscore_ctx_free(lpw_oscore_ctx_t *ctx);

/* Derived material, for tests: 16-byte keys and the 13-byte Common IV. Borrowed, valid while ctx lives. */
const uint8_t *lpw_oscore_ctx_sender_key(const lpw_oscore_ctx_t *ctx);
const uint8_t *lpw_oscore_ctx_recipient_key(const lpw_oscore_ctx_t *ctx);
const uint8_t *lpw_oscore_ctx_common_iv(const lpw_oscore_ctx_t *ctx);
/* The AEAD nonce (§5.2) for Partial IV piv and the sender's (sender true) or recipient's ID into out. */
void lpw_oscore_ctx_nonce(const lpw_oscore_ctx_t *ctx, bool sender, uint64_t piv,
                          uint8_t out[LPW_OSCORE_NONCE_LEN]);
/* Sender Sequence Number: the next Partial IV this side uses. Setting it is for tests and restarts. */
uint64_t lpw_oscore_ctx_sender_seq(const lpw_oscore_ctx_t *ctx);
void lpw_oscore_ctx_set_sender_seq(lpw_oscore_ctx_t *ctx, uint64_t seq);

/* True when pdu (borrowed) carries the OSCORE option, also a zero-length one. */
bool lpw_oscore_has_option(const coap_pdu_t *pdu);

/*
 * The four transformations. plain/prot are borrowed. out is the caller's, created with coap_pdu_init() (type,
 * message ID and an explicit size chosen by the caller) and still without options or payload; it may already carry
 * a token, otherwise the input's token is copied. These set out's code, options and payload.
 *
 * protect_request: Class E options, code and payload go into the ciphertext; Uri-Host, Uri-Port, Proxy-Uri,
 * Proxy-Scheme and Hop-Limit stay outer; Observe is both (§4.1.3.5.1). Outer code POST, FETCH with Observe.
 * Consumes one sender sequence number. *out_info (required) is what the response will be checked against.
 *
 * unprotect_request: checks kid (and kid context) against the context, the replay window, then decrypts.
 * *out_info receives what protect_response needs.
 *
 * protect_response: bound to *req. notification false: zero-length OSCORE option, the request's nonce;
 * true: own Partial IV (§4.1.3.5.2, §8.3: required for every notification but may be used on any response).
 * Outer code 2.05 when the response carries Observe (its value stays outer, the inner one is empty), else 2.04.
 *
 * unprotect_response: bound to *req; a response with Observe and a Partial IV must be newer than the last one
 * accepted for the same request (req->notification is updated).
 *
 * Errors: -EINVAL (bad arguments, plain message already carries OSCORE, out not empty), -EPROTO (no or malformed
 * OSCORE option, malformed plaintext, wrong kind of code inside), -ENOKEY (kid or kid context not this
 * context's), -EALREADY (replay), -EBADMSG (decryption/verification failed), -EOVERFLOW (sequence numbers used
 * up), -ENOSPC (out or the plaintext buffer too small), -ENOMEM.
 * Not thread-safe; may be called from libcoap handlers.
 */
int lpw_oscore_protect_request(lpw_oscore_ctx_t *ctx, const coap_pdu_t *plain, coap_pdu_t *out,
                               lpw_oscore_req_info_t *out_info) __attribute__((warn_unused_result));
int lpw_oscore_unprotect_request(lpw_oscore_ctx_t *ctx, const coap_pdu_t *prot, coap_pdu_t *out,
                                 lpw_oscore_req_info_t *out_info) __attribute__((warn_unused_result));
int lpw_oscore_protect_response(lpw_oscore_ctx_t *ctx, const coap_pdu_t *plain, const lpw_oscore_req_info_t *req,
                                bool notification, coap_pdu_t *out) __attribute__((warn_unused_result));
int lpw_oscore_unprotect_response(lpw_oscore_ctx_t *ctx, const coap_pdu_t *prot, lpw_oscore_req_info_t *req,
                                  coap_pdu_t *out) __attribute__((warn_unused_result));

/* RFC 8613 §8.2: the unprotected error a server answers for err from unprotect_request: 4.02 "Bad Option" for
 * -EPROTO, 4.01 for -ENOKEY ("Security context not found") and -EALREADY ("Replay detected"), 4.00 "Decryption
 * failed" for -EBADMSG and anything else.
 * Returns the code (COAP_RESPONSE_CODE form); *out_diag (may be NULL) gets a static diagnostic text. */
coap_pdu_code_t lpw_oscore_error_code(int err, const char **out_diag);

/* A static description of an error of this module ("decryption failed", "replay", ...). */
const char *lpw_oscore_strerror(int err);

#endif
