/* LoRaWAN 1.0.x cryptography over mbedTLS AES-128 and AES-CMAC (see lw_crypto.h). */
#include "bindings/lorawan/lw_crypto.h"

#include <errno.h>
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/cipher.h>
#include <mbedtls/cmac.h>
#include <mbedtls/platform_util.h>

#include "core/log.h"

#define BLOCK 16

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The B0 (MIC) and A_i (cipher) blocks share one layout, §4.3.3 and §4.4. */
static void fill_block(uint8_t b[BLOCK], uint8_t first, enum lw_dir dir, uint32_t dev_addr, uint32_t fcnt,
	uint8_t last)
{
	memset(b, 0, BLOCK);
	b[0] = first;
	b[5] = (uint8_t)dir;
	put_le32(b + 6, dev_addr);
	put_le32(b + 10, fcnt);
	b[15] = last;
}

static int cmac4(const uint8_t key[LW_KEY_LEN], const uint8_t *msg, size_t len, uint8_t out_mic[LW_MIC_LEN])
{
	const mbedtls_cipher_info_t *info = mbedtls_cipher_info_from_type(MBEDTLS_CIPHER_AES_128_ECB);
	uint8_t full[BLOCK];
	if (!info)
		return -EIO;
	int rc = mbedtls_cipher_cmac(info, key, LW_KEY_LEN * 8, msg, len, full);
	if (rc != 0) {
		LPW_ERR("lorawan", "mbedtls_cipher_cmac failed: -0x%04x", (unsigned)-rc);
		return -EIO;
	}
	memcpy(out_mic, full, LW_MIC_LEN);
	return 0;
}

int lw_crypto_data_mic(const uint8_t key[LW_KEY_LEN], enum lw_dir dir, uint32_t dev_addr, uint32_t fcnt,
	const uint8_t *msg, size_t len, uint8_t out_mic[LW_MIC_LEN])
{
	uint8_t buf[BLOCK + LW_CRYPTO_MSG_MAX];
	if (len > LW_CRYPTO_MSG_MAX || (len && !msg))
		return -EINVAL;
	fill_block(buf, 0x49, dir, dev_addr, fcnt, (uint8_t)len);
	if (len)
		memcpy(buf + BLOCK, msg, len);
	return cmac4(key, buf, BLOCK + len, out_mic);
}

/* One AES-128 block operation; mode is MBEDTLS_AES_ENCRYPT or MBEDTLS_AES_DECRYPT. */
static int aes_blocks(const uint8_t key[LW_KEY_LEN], int mode, const uint8_t *in, uint8_t *out, size_t nblocks)
{
	mbedtls_aes_context ctx;
	mbedtls_aes_init(&ctx);
	int rc = mode == MBEDTLS_AES_ENCRYPT ? mbedtls_aes_setkey_enc(&ctx, key, 128)
					     : mbedtls_aes_setkey_dec(&ctx, key, 128);
	for (size_t i = 0; rc == 0 && i < nblocks; i++)
		rc = mbedtls_aes_crypt_ecb(&ctx, mode, in + i * BLOCK, out + i * BLOCK);
	mbedtls_aes_free(&ctx);
	if (rc != 0) {
		LPW_ERR("lorawan", "mbedtls AES failed: -0x%04x", (unsigned)-rc);
		return -EIO;
	}
	return 0;
}

int lw_crypto_payload(const uint8_t key[LW_KEY_LEN], enum lw_dir dir, uint32_t dev_addr, uint32_t fcnt,
	const uint8_t *in, uint8_t *out, size_t len)
{
	if (len > LW_CRYPTO_MSG_MAX || (len && (!in || !out)))
		return -EINVAL;
	uint8_t a[BLOCK], s[BLOCK];
	for (size_t off = 0, i = 1; off < len; off += BLOCK, i++) {
		fill_block(a, 0x01, dir, dev_addr, fcnt, (uint8_t)i);
		int rc = aes_blocks(key, MBEDTLS_AES_ENCRYPT, a, s, 1);
		if (rc)
			return rc;
		size_t n = len - off < BLOCK ? len - off : BLOCK;
		for (size_t k = 0; k < n; k++)
			out[off + k] = in[off + k] ^ s[k];
	}
	mbedtls_platform_zeroize(s, sizeof(s));
	return 0;
}

int lw_crypto_join_mic(const uint8_t app_key[LW_KEY_LEN], const uint8_t *msg, size_t len,
	uint8_t out_mic[LW_MIC_LEN])
{
	if (len > LW_CRYPTO_MSG_MAX || !msg)
		return -EINVAL;
	return cmac4(app_key, msg, len, out_mic);
}

int lw_crypto_join_accept_encrypt(const uint8_t app_key[LW_KEY_LEN], const uint8_t *in, uint8_t *out, size_t len)
{
	if ((len != 16 && len != 32) || !in || !out)
		return -EINVAL;
	/* §6.2.5: "The network server uses an AES decrypt operation in ECB mode to encrypt the join-accept" */
	return aes_blocks(app_key, MBEDTLS_AES_DECRYPT, in, out, len / BLOCK);
}

int lw_crypto_join_accept_decrypt(const uint8_t app_key[LW_KEY_LEN], const uint8_t *in, uint8_t *out, size_t len)
{
	if ((len != 16 && len != 32) || !in || !out)
		return -EINVAL;
	return aes_blocks(app_key, MBEDTLS_AES_ENCRYPT, in, out, len / BLOCK);
}

int lw_crypto_derive_keys(const uint8_t app_key[LW_KEY_LEN], uint32_t app_nonce, uint32_t net_id,
	uint16_t dev_nonce, uint8_t out_nwk_skey[LW_KEY_LEN], uint8_t out_app_skey[LW_KEY_LEN])
{
	if (app_nonce > 0xFFFFFFu || net_id > 0xFFFFFFu)
		return -EINVAL;
	uint8_t b[BLOCK] = { 0 };
	b[1] = (uint8_t)app_nonce;
	b[2] = (uint8_t)(app_nonce >> 8);
	b[3] = (uint8_t)(app_nonce >> 16);
	b[4] = (uint8_t)net_id;
	b[5] = (uint8_t)(net_id >> 8);
	b[6] = (uint8_t)(net_id >> 16);
	b[7] = (uint8_t)dev_nonce;
	b[8] = (uint8_t)(dev_nonce >> 8);
	b[0] = 0x01;
	int rc = aes_blocks(app_key, MBEDTLS_AES_ENCRYPT, b, out_nwk_skey, 1);
	b[0] = 0x02;
	if (rc == 0)
		rc = aes_blocks(app_key, MBEDTLS_AES_ENCRYPT, b, out_app_skey, 1);
	return rc;
}

bool lw_crypto_mic_equal(const uint8_t a[LW_MIC_LEN], const uint8_t b[LW_MIC_LEN])
{
	uint8_t diff = 0;
	for (size_t i = 0; i < LW_MIC_LEN; i++)
		diff |= (uint8_t)(a[i] ^ b[i]);
	return diff == 0;
}

int lw_crypto_fcnt_rebuild(uint32_t last, bool have_last, uint16_t wire, uint32_t *out_fcnt)
{
	if (!have_last) {
		*out_fcnt = wire;
		return 0;
	}
	/* Distance forward from the low 16 bits of the last value, modulo 2^16: this is what makes a wire value
	 * of 3 after a last value of 65534 mean 65539 (rollover) rather than a replay of 3. */
	uint16_t ahead = (uint16_t)(wire - (uint16_t)last);
	if (ahead == 0) {
		*out_fcnt = last;
		return -EALREADY;
	}
	*out_fcnt = last + ahead; /* also on -ERANGE: the value the frame would have, for the log */
	if (ahead > LW_MAX_FCNT_GAP)
		return -ERANGE;
	if (last > UINT32_MAX - ahead)
		return -EOVERFLOW;
	*out_fcnt = last + ahead;
	return 0;
}
