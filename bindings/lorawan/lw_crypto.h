/* LoRaWAN 1.0.x cryptography: MICs, FRMPayload and Join-Accept ciphers, session keys, 32-bit FCnt rebuild.
 * Every primitive (AES-128, AES-CMAC) comes from mbedTLS; this module only arranges the blocks the spec defines. */
#ifndef LPW_LW_CRYPTO_H
#define LPW_LW_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LW_KEY_LEN 16
#define LW_MIC_LEN 4
/* LoRaWAN 1.0.x §4.3.1.5: more lost frames than this between two accepted uplinks means the device must re-join */
#define LW_MAX_FCNT_GAP 16384u
/* The largest message a MIC is computed over (a PHYPayload is at most 255 bytes with its MIC). */
#define LW_CRYPTO_MSG_MAX 255

enum lw_dir { LW_DIR_UP = 0, LW_DIR_DOWN = 1 };

/* Data frame MIC (§4.4): first 4 bytes of AES-CMAC(key, B0 | msg), B0 = 0x49 | 4x00 | dir | DevAddr (LE) |
 * FCnt (32 bits, LE) | 0x00 | len(msg). msg is MHDR..FRMPayload (the frame without its MIC).
 * key, msg borrowed; out_mic written (4 bytes, wire order). -EINVAL when len > LW_CRYPTO_MSG_MAX,
 * -EIO when mbedTLS fails. */
int lw_crypto_data_mic(const uint8_t key[LW_KEY_LEN], enum lw_dir dir, uint32_t dev_addr, uint32_t fcnt,
	const uint8_t *msg, size_t len, uint8_t out_mic[LW_MIC_LEN]) __attribute__((warn_unused_result));

/* FRMPayload cipher (§4.3.3): XOR with AES(key, A_i), A_i = 0x01 | 4x00 | dir | DevAddr | FCnt | 0x00 | i.
 * Encryption and decryption are the same operation. The key is the AppSKey for FPort > 0, the NwkSKey for
 * FPort 0. in and out may be the same buffer (or must not overlap). -EINVAL when len > LW_CRYPTO_MSG_MAX, -EIO. */
int lw_crypto_payload(const uint8_t key[LW_KEY_LEN], enum lw_dir dir, uint32_t dev_addr, uint32_t fcnt,
	const uint8_t *in, uint8_t *out, size_t len) __attribute__((warn_unused_result));

/* Join-Request and Join-Accept MIC (§6.2.4, §6.2.5): first 4 bytes of AES-CMAC(AppKey, msg), msg being the frame
 * without its MIC (for a Join-Accept: the plaintext). -EINVAL when len > LW_CRYPTO_MSG_MAX, -EIO. */
int lw_crypto_join_mic(const uint8_t app_key[LW_KEY_LEN], const uint8_t *msg, size_t len,
	uint8_t out_mic[LW_MIC_LEN]) __attribute__((warn_unused_result));

/* Join-Accept cipher (§6.2.5). The network *encrypts* with AES decrypt so that the device only needs AES encrypt:
 * lw_crypto_join_accept_encrypt is the network side (aes128_decrypt), lw_crypto_join_accept_decrypt the device
 * side (aes128_encrypt, used by tests and the simulator). in is the Join-Accept after the MHDR, MIC included:
 * 16 bytes, or 32 with a CFList. in and out may be the same buffer. -EINVAL for another length, -EIO. */
int lw_crypto_join_accept_encrypt(const uint8_t app_key[LW_KEY_LEN], const uint8_t *in, uint8_t *out, size_t len)
	__attribute__((warn_unused_result));
int lw_crypto_join_accept_decrypt(const uint8_t app_key[LW_KEY_LEN], const uint8_t *in, uint8_t *out, size_t len)
	__attribute__((warn_unused_result));

/* Session keys (§6.2.5): NwkSKey = aes128_encrypt(AppKey, 0x01 | AppNonce | NetID | DevNonce | pad16),
 * AppSKey the same with 0x02; AppNonce and NetID are 24-bit values, all little-endian in the block.
 * -EINVAL when app_nonce or net_id do not fit 24 bits, -EIO. */
int lw_crypto_derive_keys(const uint8_t app_key[LW_KEY_LEN], uint32_t app_nonce, uint32_t net_id,
	uint16_t dev_nonce, uint8_t out_nwk_skey[LW_KEY_LEN], uint8_t out_app_skey[LW_KEY_LEN])
	__attribute__((warn_unused_result));

/* Constant-time comparison of two MICs (no early exit, so timing says nothing about how many bytes matched). */
bool lw_crypto_mic_equal(const uint8_t a[LW_MIC_LEN], const uint8_t b[LW_MIC_LEN]);

/* Rebuilds the 32-bit uplink FCnt from the 16 bits on the wire, given the last accepted value (have_last false
 * after a join or a fresh ABP session: then the wire value itself). Handles rollover past 65535.
 * -EALREADY when the wire value equals the last one (a retransmission or a replay: the caller decides after
 * checking the MIC with *out_fcnt, which is then set to last), -ERANGE when it is behind the last value or more
 * than LW_MAX_FCNT_GAP ahead (replay, or too many frames lost; *out_fcnt is then the value it would have, for
 * logs), -EOVERFLOW past 2^32 - 1. */
int lw_crypto_fcnt_rebuild(uint32_t last, bool have_last, uint16_t wire, uint32_t *out_fcnt)
	__attribute__((warn_unused_result));

#endif
