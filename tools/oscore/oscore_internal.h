/* OSCORE internals shared by oscore.c (context, COSE crypto) and oscore_msg.c (CoAP messages). Not for others. */
#ifndef LPW_OSCORE_INTERNAL_H
#define LPW_OSCORE_INTERNAL_H

#include "tools/oscore/oscore.h"

#define OSCORE_ALG_AES_CCM_16_64_128 10 /* COSE algorithm id */
#define OSCORE_SEQ_MAX ((UINT64_C(1) << 40) - 1) /* §7.2.1: 5-byte Partial IV */
#define OSCORE_PLAINTEXT_MAX 2048

struct lpw_oscore_ctx {
	uint8_t sender_key[LPW_OSCORE_KEY_LEN];
	uint8_t recipient_key[LPW_OSCORE_KEY_LEN];
	uint8_t common_iv[LPW_OSCORE_NONCE_LEN];
	uint8_t sender_id[LPW_OSCORE_ID_MAX];
	size_t sender_id_len;
	uint8_t recipient_id[LPW_OSCORE_ID_MAX];
	size_t recipient_id_len;
	uint8_t id_context[LPW_OSCORE_ID_CONTEXT_MAX];
	size_t id_context_len;
	bool has_id_context;
	uint64_t sender_seq;
	/* §7.4 replay window: the largest Partial IV accepted and a bitmap of the 32 below it (bit i: max - i) */
	bool replay_init;
	uint64_t replay_max;
	uint32_t replay_bits;
};

/* The parsed OSCORE option value (§6.1). Pointers borrow the option's bytes. */
typedef struct {
	const uint8_t *piv;
	size_t piv_len;
	bool has_kid;
	const uint8_t *kid;
	size_t kid_len;
	bool has_kid_context;
	const uint8_t *kid_context;
	size_t kid_context_len;
} oscore_option_t;

/* Parses an OSCORE option value; -EPROTO with *why set for reserved bits, overruns or oversize fields. */
int oscore_option_parse(const uint8_t *v, size_t len, oscore_option_t *out, const char **why);
/* Encodes flags, piv, kid context and kid into out (cap bytes); the length or -ENOSPC. */
int oscore_option_encode(const uint8_t *piv, size_t piv_len, const uint8_t *kid, size_t kid_len, bool with_kid,
                         const uint8_t *kid_context, size_t kid_context_len, uint8_t *out, size_t cap);

/* Minimal big-endian Partial IV of seq (0 -> one 0x00 byte, §6.1); its length. */
size_t oscore_piv_encode(uint64_t seq, uint8_t out[LPW_OSCORE_PIV_MAX]);
uint64_t oscore_piv_decode(const uint8_t *piv, size_t len);

/* AEAD nonce from an ID (id_len <= 7) and a Partial IV (len <= 5), §5.2. */
void oscore_nonce(const lpw_oscore_ctx_t *ctx, const uint8_t *id, size_t id_len, const uint8_t *piv, size_t piv_len,
                  uint8_t out[LPW_OSCORE_NONCE_LEN]);

/* AES-CCM-16-64-128 with AAD = Enc_structure ["Encrypt0", h'', external_aad(request kid, request piv)] (§5.4).
 * seal: out gets len + 8 bytes. open: len includes the tag, out gets len - 8 bytes; -EBADMSG on a bad tag. */
int oscore_seal(const uint8_t key[LPW_OSCORE_KEY_LEN], const uint8_t nonce[LPW_OSCORE_NONCE_LEN],
                const lpw_oscore_req_info_t *req, const uint8_t *in, size_t len, uint8_t *out);
int oscore_open(const uint8_t key[LPW_OSCORE_KEY_LEN], const uint8_t nonce[LPW_OSCORE_NONCE_LEN],
                const lpw_oscore_req_info_t *req, const uint8_t *in, size_t len, uint8_t *out);

/* Replay window (§7.4): check does not change state; accept records piv. */
int oscore_replay_check(const lpw_oscore_ctx_t *ctx, uint64_t piv);
void oscore_replay_accept(lpw_oscore_ctx_t *ctx, uint64_t piv);

#endif
