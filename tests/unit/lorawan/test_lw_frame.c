/* LoRaWAN frames: a malformed-frame catalogue, build/parse round trips, and 32-bit FCnt rebuild. */
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

struct bad {
	const char *hex;
	const char *reason_part; /* a word the reason must contain */
};

static void test_malformed_catalogue(void **state)
{
	static const struct bad cat[] = {
		{ "", "empty" },
		{ "41", "Major" },                                    /* Major 1 */
		{ "43040302018000010001a6946426", "Major" },           /* Major 3 */
		{ "c0040302018000010001a6946426", "RFU MType" },       /* MType 6 */
		{ "54040302018000010001a6946426", "RFU bits" },        /* MHDR bits 4..2 */
		{ "40040302", "MIC" },                                 /* 4 bytes */
		{ "4004030201800100a6946426", NULL },                  /* 12 bytes: valid, no FPort */
		{ "40040302018001a6946426", "too short" },             /* 11 bytes */
		{ "4004030201810100a6946426", "FOptsLen" },            /* FOptsLen 1, no room */
		{ "40040302018f0100020202a6946426", "FOptsLen" },      /* FOptsLen 15, 3 bytes present */
		{ "4004030201810100020001a6946426", "FPort 0" },       /* FOpts 02, FPort 0 */
		{ "0004030201040302010504030205040302", "23" },        /* short Join-Request */
		{ "00040302010403020105040302050403022d106a990e1200", "23" }, /* long Join-Request */
		{ "20493eeb51fba2116f810edb37429751", "17" },          /* 16-byte Join-Accept */
	};
	for (size_t i = 0; i < sizeof(cat) / sizeof(cat[0]); i++) {
		uint8_t buf[64];
		size_t n = lw_test_hex(cat[i].hex, buf, sizeof(buf));
		struct lw_frame f;
		const char *why = NULL;
		int rc = lw_frame_parse(buf, n, &f, &why);
		if (!cat[i].reason_part) {
			assert_int_equal(rc, 0);
			continue;
		}
		if (rc != -EINVAL || !why || !strstr(why, cat[i].reason_part))
			fail_msg("case %zu (%s): rc %d, why '%s'", i, cat[i].hex, rc, why ? why : "(null)");
	}
	/* longer than any PHYPayload */
	uint8_t big[256] = { 0x40 };
	struct lw_frame f;
	const char *why = NULL;
	assert_int_equal(lw_frame_parse(big, sizeof(big), &f, &why), -EINVAL);
	assert_non_null(strstr(why, "255"));
	assert_int_equal(lw_frame_parse(NULL, 0, &f, NULL), -EINVAL);
}

static void test_valid_shapes(void **state)
{
	uint8_t buf[64];
	struct lw_frame f;
	/* ConfirmedDataUp, ACK, FOpts LinkCheckReq 02 + DeviceTimeReq 0d, FCnt 2, FPort 5, 4-byte payload */
	size_t n = lw_test_hex("8004030201220200020d0511223344aabbccdd", buf, sizeof(buf));
	assert_int_equal(lw_frame_parse(buf, n, &f, NULL), 0);
	assert_int_equal(f.mtype, LW_MTYPE_CONF_UP);
	assert_true(f.u.data.ack);
	assert_int_equal(f.u.data.fopts_len, 2);
	assert_int_equal(f.u.data.fopts[1], 0x0d);
	assert_int_equal(f.u.data.fcnt, 0x0002);
	assert_int_equal(f.u.data.fport, 5);
	assert_int_equal(f.u.data.frm_len, 4);
	assert_int_equal(f.u.data.frm_payload[0], 0x11);
	/* FPort present, empty FRMPayload */
	n = lw_test_hex("400403020100010005a6946426", buf, sizeof(buf));
	assert_int_equal(lw_frame_parse(buf, n, &f, NULL), 0);
	assert_true(f.u.data.has_fport);
	assert_int_equal(f.u.data.frm_len, 0);
	assert_null(f.u.data.frm_payload);
	/* Proprietary: anything after the MHDR */
	n = lw_test_hex("e0ff", buf, sizeof(buf));
	assert_int_equal(lw_frame_parse(buf, n, &f, NULL), 0);
	assert_int_equal(f.mtype, LW_MTYPE_PROPRIETARY);
	assert_int_equal(f.raw_len, 1);
	/* Join-Accept with CFList */
	memset(buf, 0, 33);
	buf[0] = 0x20;
	assert_int_equal(lw_frame_parse(buf, 33, &f, NULL), 0);
	assert_string_equal(lw_mtype_name(f.mtype), "JoinAccept");
}

static void test_build_roundtrip(void **state)
{
	const uint8_t fopts[3] = { 0x02, 0x06, 0x01 }, pl[5] = "abcde", mic[4] = { 1, 2, 3, 4 };
	struct lw_data_frame d = { .dev_addr = 0xA1B2C3D4, .ack = true, .fpending = true, .fcnt = 0xBEEF,
		.fopts_len = 3, .fopts = fopts, .has_fport = true, .fport = 200, .frm_len = 5, .frm_payload = pl };
	uint8_t out[64];
	size_t n;
	assert_int_equal(lw_frame_build_data(LW_MTYPE_UNCONF_DOWN, &d, mic, out, sizeof(out), &n), 0);
	assert_int_equal(n, 8 + 3 + 1 + 5 + 4);
	struct lw_frame f;
	assert_int_equal(lw_frame_parse(out, n, &f, NULL), 0);
	assert_int_equal(f.mtype, LW_MTYPE_UNCONF_DOWN);
	assert_int_equal(f.u.data.dev_addr, 0xA1B2C3D4);
	assert_int_equal(f.u.data.fcnt, 0xBEEF);
	assert_true(f.u.data.ack && f.u.data.fpending && !f.u.data.adr);
	assert_memory_equal(f.u.data.fopts, fopts, 3);
	assert_memory_equal(f.u.data.frm_payload, pl, 5);
	assert_memory_equal(f.mic, mic, 4);
	/* refusals */
	assert_int_equal(lw_frame_build_data(LW_MTYPE_UNCONF_DOWN, &d, mic, out, n - 1, &n), -ENOSPC);
	assert_int_equal(lw_frame_build_data(LW_MTYPE_JOIN_ACCEPT, &d, mic, out, sizeof(out), &n), -EINVAL);
	d.fport = 0;
	assert_int_equal(lw_frame_build_data(LW_MTYPE_UNCONF_DOWN, &d, mic, out, sizeof(out), &n), -EINVAL);
	d.fopts_len = 0;
	d.frm_len = 250;
	uint8_t big[250] = { 0 };
	d.frm_payload = big;
	uint8_t out2[300];
	assert_int_equal(lw_frame_build_data(LW_MTYPE_UNCONF_DOWN, &d, mic, out2, sizeof(out2), &n), -EMSGSIZE);
}

static void test_fcnt_rebuild(void **state)
{
	uint32_t fc = 0;
	/* first frame of a session: the wire value */
	assert_int_equal(lw_crypto_fcnt_rebuild(0, false, 7, &fc), 0);
	assert_int_equal(fc, 7);
	assert_int_equal(lw_crypto_fcnt_rebuild(7, true, 8, &fc), 0);
	assert_int_equal(fc, 8);
	/* rollover past 65535 */
	assert_int_equal(lw_crypto_fcnt_rebuild(65534, true, 3, &fc), 0);
	assert_int_equal(fc, 65539);
	assert_int_equal(lw_crypto_fcnt_rebuild(65539, true, 4, &fc), 0);
	assert_int_equal(fc, 65540);
	assert_int_equal(lw_crypto_fcnt_rebuild(0x0001FFFF, true, 0, &fc), 0);
	assert_int_equal(fc, 0x00020000);
	/* gaps: exactly MAX_FCNT_GAP is fine, one more is not */
	assert_int_equal(lw_crypto_fcnt_rebuild(100, true, 100 + 16384, &fc), 0);
	assert_int_equal(fc, 100 + 16384);
	assert_int_equal(lw_crypto_fcnt_rebuild(100, true, 100 + 16385, &fc), -ERANGE);
	/* replays: equal -> -EALREADY (with the value, for a retransmission check), behind -> -ERANGE */
	assert_int_equal(lw_crypto_fcnt_rebuild(65539, true, 3, &fc), -EALREADY);
	assert_int_equal(fc, 65539);
	assert_int_equal(lw_crypto_fcnt_rebuild(65539, true, 2, &fc), -ERANGE);
	assert_int_equal(lw_crypto_fcnt_rebuild(65539, true, 65535, &fc), -ERANGE);
	/* the end of the 32-bit space */
	assert_int_equal(lw_crypto_fcnt_rebuild(UINT32_MAX, true, 0, &fc), -EOVERFLOW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed_catalogue),
		cmocka_unit_test(test_valid_shapes),
		cmocka_unit_test(test_build_roundtrip),
		cmocka_unit_test(test_fcnt_rebuild),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
