/* LoRaWAN 1.0.x crypto against published vectors. Sources:
 *  [B] brocaar/lorawan (Go, MIT), phypayload_test.go: TestPHYPayloadData, TestPHYPayloadJoinRequest,
 *      TestPHYPayloadJoinAccept and the ExampleNewPHYPayload* outputs.
 *  [C] ChirpStack's lorawan crate (Rust), src/keys.rs, test lorawan_1_0 (session key derivation).
 * The Go arrays print EUIs, DevAddr, DevNonce and AppNonce in big-endian order; the wire is little-endian. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bindings/lorawan/lw_crypto.h"
#include "bindings/lorawan/lw_frame.h"
#include "tests/unit/lorawan/lw_test_util.h"

static void fill(uint8_t *k, uint8_t v)
{
	memset(k, v, LW_KEY_LEN);
}

/* [B] TestPHYPayloadData: "QAQDAgGAAQABppRkJhXWw7WC", NwkSKey 02.., AppSKey 01.., payload "hello" */
static void test_data_up_mic_and_decrypt(void **state)
{
	uint8_t phy[64], nwk[16], app[16], mic[4], plain[16];
	size_t n = lw_test_hex("400403020180010001a694642615d6c3b582", phy, sizeof(phy));
	struct lw_frame f;
	const char *why = NULL;
	assert_int_equal(lw_frame_parse(phy, n, &f, &why), 0);
	assert_int_equal(f.mtype, LW_MTYPE_UNCONF_UP);
	assert_int_equal(f.u.data.dev_addr, 0x01020304);
	assert_int_equal(f.u.data.fcnt, 1);
	assert_true(f.u.data.adr);
	assert_true(f.u.data.has_fport);
	assert_int_equal(f.u.data.fport, 1);
	assert_int_equal(f.u.data.frm_len, 5);
	fill(nwk, 2);
	fill(app, 1);
	assert_int_equal(lw_crypto_data_mic(nwk, LW_DIR_UP, f.u.data.dev_addr, 1, phy, f.mic_off, mic), 0);
	assert_memory_equal(mic, f.mic, 4);
	assert_int_equal(lw_crypto_payload(app, LW_DIR_UP, 0x01020304, 1, f.u.data.frm_payload, plain, 5), 0);
	assert_memory_equal(plain, "hello", 5);
	/* a wrong key or direction must not verify */
	assert_int_equal(lw_crypto_data_mic(nwk, LW_DIR_DOWN, 0x01020304, 1, phy, f.mic_off, mic), 0);
	assert_false(lw_crypto_mic_equal(mic, f.mic));
}

/* [B] ExampleNewPHYPayload: ConfirmedDataUp, DevAddr 01020304, FCnt 0, FPort 10, payload 01020304,
 * NwkSKey 0102..10, AppSKey 100f..01 -> [128 4 3 2 1 0 0 0 10 226 100 212 247 181 106 14 117] */
static void test_data_up_build(void **state)
{
	uint8_t nwk[16], app[16], enc[4], out[64], expect[64];
	const uint8_t plain[4] = { 1, 2, 3, 4 };
	for (int i = 0; i < 16; i++) {
		nwk[i] = (uint8_t)(i + 1);
		app[i] = (uint8_t)(16 - i);
	}
	assert_int_equal(lw_crypto_payload(app, LW_DIR_UP, 0x01020304, 0, plain, enc, 4), 0);
	struct lw_data_frame d = { .dev_addr = 0x01020304, .has_fport = true, .fport = 10, .frm_len = 4,
		.frm_payload = enc };
	size_t n;
	assert_int_equal(lw_frame_build_data(LW_MTYPE_CONF_UP, &d, NULL, out, sizeof(out), &n), 0);
	assert_int_equal(lw_crypto_data_mic(nwk, LW_DIR_UP, 0x01020304, 0, out, n - 4, out + n - 4), 0);
	size_t en = lw_test_hex("80040302010000000ae264d4f7b56a0e75", expect, sizeof(expect));
	assert_int_equal(n, en);
	assert_memory_equal(out, expect, n);
}

/* [B] TestPHYPayloadJoinRequest: AppKey 01.., AppEUI 0102030401020304, DevEUI 0203040502030405,
 * DevNonce printed {16, 45} = wire 2d 10 */
static void test_join_request(void **state)
{
	uint8_t phy[32], key[16], mic[4];
	size_t n = lw_test_hex("00040302010403020105040302050403022d106a990e12", phy, sizeof(phy));
	struct lw_frame f;
	assert_int_equal(lw_frame_parse(phy, n, &f, NULL), 0);
	assert_int_equal(f.mtype, LW_MTYPE_JOIN_REQUEST);
	const uint8_t app_eui[8] = { 1, 2, 3, 4, 1, 2, 3, 4 }, dev_eui[8] = { 2, 3, 4, 5, 2, 3, 4, 5 };
	assert_memory_equal(f.u.join.app_eui, app_eui, 8);
	assert_memory_equal(f.u.join.dev_eui, dev_eui, 8);
	assert_int_equal(f.u.join.dev_nonce, 0x102d);
	fill(key, 1);
	assert_int_equal(lw_crypto_join_mic(key, phy, f.mic_off, mic), 0);
	assert_memory_equal(mic, f.mic, 4);
	/* and the builder reproduces the frame byte for byte */
	uint8_t again[32];
	assert_int_equal(lw_frame_build_join_request(&f.u.join, mic, again, sizeof(again)), 0);
	assert_memory_equal(again, phy, n);
}

/* [B] ExampleNewPHYPayload_joinRequest: AppKey 0102..10, AppEUI 01.., DevEUI 02.., DevNonce 0303 -> MIC 09b97b32 */
static void test_join_request_build(void **state)
{
	uint8_t key[16], out[32], expect[32], mic[4];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)(i + 1);
	struct lw_join_request jr = { .dev_nonce = 0x0303 };
	memset(jr.app_eui, 1, 8);
	memset(jr.dev_eui, 2, 8);
	assert_int_equal(lw_frame_build_join_request(&jr, NULL, out, sizeof(out)), 0);
	assert_int_equal(lw_crypto_join_mic(key, out, 19, mic), 0);
	memcpy(out + 19, mic, 4);
	lw_test_hex("0001010101010101010202020202020202030309b97b32", expect, sizeof(expect));
	assert_memory_equal(out, expect, LW_JOIN_REQUEST_LEN);
}

/* [B] TestPHYPayloadJoinAccept: 20493eeb51fba2116f810edb3742975142 with AppKey 00112233445566778899aabbccddeeff:
 * AppNonce printed {87,11,199}, NetID {34,17,1}, DevAddr {2,3,25,128}, DLSettings 0, RxDelay 0, MIC 43485bbc;
 * and encrypting the plaintext again (network side, AES decrypt) gives the same bytes. */
static void test_join_accept_decrypt_encrypt(void **state)
{
	uint8_t key[16], phy[17], plain[17], mic[4], again[16];
	lw_test_hex("00112233445566778899aabbccddeeff", key, sizeof(key));
	lw_test_hex("20493eeb51fba2116f810edb3742975142", phy, sizeof(phy));
	plain[0] = phy[0];
	assert_int_equal(lw_crypto_join_accept_decrypt(key, phy + 1, plain + 1, 16), 0);
	const uint8_t expect_fields[12] = { 0xc7, 0x0b, 0x57, 0x01, 0x11, 0x22, 0x80, 0x19, 0x03, 0x02, 0, 0 };
	assert_memory_equal(plain + 1, expect_fields, 12);
	assert_int_equal(lw_crypto_join_mic(key, plain, 13, mic), 0);
	const uint8_t expect_mic[4] = { 0x43, 0x48, 0x5b, 0xbc };
	assert_memory_equal(mic, expect_mic, 4);
	assert_memory_equal(plain + 13, expect_mic, 4);
	assert_int_equal(lw_crypto_join_accept_encrypt(key, plain + 1, again, 16), 0);
	assert_memory_equal(again, phy + 1, 16);
	assert_int_equal(lw_crypto_join_accept_encrypt(key, plain + 1, again, 15), -EINVAL);
}

/* [B] ExampleNewPHYPayload_joinAcceptSend: AppKey 0102..10, AppNonce 010101, NetID 020202, DevAddr 01020304 */
static void test_join_accept_build(void **state)
{
	uint8_t key[16], plain[17] = { 0x20, 1, 1, 1, 2, 2, 2, 4, 3, 2, 1, 0, 0 }, out[17], expect[17];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)(i + 1);
	assert_int_equal(lw_crypto_join_mic(key, plain, 13, plain + 13), 0);
	out[0] = plain[0];
	assert_int_equal(lw_crypto_join_accept_encrypt(key, plain + 1, out + 1, 16), 0);
	lw_test_hex("2023cf335489aae3183c0be0baa8dee5f3", expect, sizeof(expect));
	assert_memory_equal(out, expect, 17);
}

/* [C] lorawan_1_0: key 0102030405060708 x2, JoinNonce 65536, NetID 010203, DevNonce 258 */
static void test_key_derivation(void **state)
{
	uint8_t key[16], nwk[16], app[16], en[16], ea[16];
	lw_test_hex("01020304050607080102030405060708", key, sizeof(key));
	assert_int_equal(lw_crypto_derive_keys(key, 65536, 0x010203, 258, nwk, app), 0);
	lw_test_hex("df53c35f3034ccced0ff354c70de04df", en, sizeof(en));
	lw_test_hex("927b9c911183cffe4cb2ff4b75545f6d", ea, sizeof(ea));
	assert_memory_equal(nwk, en, 16);
	assert_memory_equal(app, ea, 16);
	assert_int_equal(lw_crypto_derive_keys(key, 0x1000000, 0, 0, nwk, app), -EINVAL);
}

/* FRMPayload longer than one block: decrypt(encrypt(x)) == x and the keystream differs per block. */
static void test_payload_multiblock(void **state)
{
	uint8_t key[16], in[40], enc[40], dec[40];
	fill(key, 7);
	for (int i = 0; i < 40; i++)
		in[i] = 0;
	assert_int_equal(lw_crypto_payload(key, LW_DIR_DOWN, 0x26011234, 70000, in, enc, 40), 0);
	assert_memory_not_equal(enc, enc + 16, 16);
	assert_int_equal(lw_crypto_payload(key, LW_DIR_DOWN, 0x26011234, 70000, enc, dec, 40), 0);
	assert_memory_equal(dec, in, 40);
	assert_int_equal(lw_crypto_payload(key, LW_DIR_DOWN, 1, 1, in, enc, 256), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_up_mic_and_decrypt),
		cmocka_unit_test(test_data_up_build),
		cmocka_unit_test(test_join_request),
		cmocka_unit_test(test_join_request_build),
		cmocka_unit_test(test_join_accept_decrypt_encrypt),
		cmocka_unit_test(test_join_accept_build),
		cmocka_unit_test(test_key_derivation),
		cmocka_unit_test(test_payload_multiblock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
