/* Unit tests for proxy/csm.c: the server's first message on an RFC 8323 connection must be a valid CSM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/csm.h"

static lpw_csm_result_t check(const char *hex)
{
	uint8_t buf[2048];
	size_t n = strlen(hex) / 2;
	assert_true(n <= sizeof(buf));
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		buf[i] = (uint8_t)v;
	}
	return lpw_csm_check(buf, n, LPW_CSM_MAX);
}

/* The CSMs real peers send: libcoap 4.3.1 (Max-Message-Size 1152, Block-Wise-Transfer), a bare one. */
static void test_valid(void **state)
{
	lpw_csm_result_t r = check("40e122048020");
	assert_int_equal(r.verdict, LPW_CSM_OK);
	assert_int_equal(r.len, 6);
	r = check("00e1");
	assert_int_equal(r.verdict, LPW_CSM_OK);
	assert_int_equal(r.len, 2);
	/* a CSM followed by a request in the same read: only the CSM counts */
	r = check("00e1210101b133");
	assert_int_equal(r.verdict, LPW_CSM_OK);
	assert_int_equal(r.len, 2);
	/* a token, a 4-byte Max-Message-Size, Block-Wise-Transfer, an unknown elective option (10), a diagnostic */
	r = check("91e1aa24000100002060ff68");
	assert_int_equal(r.verdict, LPW_CSM_OK);
	assert_int_equal(r.len, 12);
}

/* Issue 16 item 1: a request (the bytes of the report) or any signal but CSM first is refused at once, from the
 * first two bytes, whatever follows. */
static void test_not_csm(void **state)
{
	lpw_csm_result_t r = check("2101");
	assert_int_equal(r.verdict, LPW_CSM_NOT_CSM);
	assert_int_equal(r.code, 0x01);
	r = check("210101b133");
	assert_int_equal(r.verdict, LPW_CSM_NOT_CSM);
	r = check("00e2"); /* Ping */
	assert_int_equal(r.verdict, LPW_CSM_NOT_CSM);
	assert_int_equal(r.code, 0xe2);
	r = check("00e5"); /* Abort */
	assert_int_equal(r.verdict, LPW_CSM_NOT_CSM);
	r = check("0045"); /* a response 2.05 */
	assert_int_equal(r.verdict, LPW_CSM_NOT_CSM);
	/* an extended length: the code comes after 1, 2 or 4 length bytes */
	r = check("d0ff01");
	assert_int_equal(r.verdict, LPW_CSM_NOT_CSM);
	r = check("f0ffffffff02");
	assert_int_equal(r.verdict, LPW_CSM_NOT_CSM);
	assert_int_equal(r.code, 0x02);
}

/* Partial frames: until the message can be judged, the checker says how many bytes it needs; every prefix of a
 * valid CSM asks for more, never more than the whole. */
static void test_partial(void **state)
{
	const uint8_t csm[] = {0x40, 0xe1, 0x22, 0x04, 0x80, 0x20};
	for (size_t n = 0; n < sizeof(csm); n++) {
		lpw_csm_result_t r = lpw_csm_check(csm, n, LPW_CSM_MAX);
		assert_int_equal(r.verdict, LPW_CSM_NEED);
		assert_true(r.need > n && r.need <= sizeof(csm));
	}
	assert_int_equal(lpw_csm_check(NULL, 0, LPW_CSM_MAX).verdict, LPW_CSM_NEED);
	lpw_csm_result_t r = check("d0");
	assert_int_equal(r.verdict, LPW_CSM_NEED);
	assert_int_equal(r.need, 3);
	r = check("e000");
	assert_int_equal(r.need, 4);
	r = check("f00000");
	assert_int_equal(r.need, 6);
	r = check("d005e1"); /* 18 bytes of options announced */
	assert_int_equal(r.verdict, LPW_CSM_NEED);
	assert_int_equal(r.need, 3 + 18);
}

/* Absurd sizes: a CSM longer than we accept is refused from its header, without waiting for it. */
static void test_too_large(void **state)
{
	lpw_csm_result_t r = check("f0ffffffffe1");
	assert_int_equal(r.verdict, LPW_CSM_TOO_LARGE);
	assert_int_equal(r.len, 6 + 0xffffffffull + 65805);
	r = check("e0ffffe1");
	assert_int_equal(r.verdict, LPW_CSM_TOO_LARGE);
	uint8_t big[3] = {0xd0, 0, 0xe1}; /* 13 bytes: within */
	assert_int_equal(lpw_csm_check(big, 3, 16).verdict, LPW_CSM_NEED);
	assert_int_equal(lpw_csm_check(big, 3, 15).verdict, LPW_CSM_TOO_LARGE);
}

/* Format errors and options a CSM must not carry (RFC 8323 §5.3, RFC 7252 §3.1). */
static void test_invalid(void **state)
{
	lpw_csm_result_t r = check("09e1000000000000000000"); /* TKL 9 */
	assert_int_equal(r.verdict, LPW_CSM_INVALID);
	r = check("10e1f0"); /* delta nibble 15 */
	assert_int_equal(r.verdict, LPW_CSM_INVALID);
	r = check("10e1ff"); /* payload marker, no payload */
	assert_int_equal(r.verdict, LPW_CSM_INVALID);
	r = check("10e1d0"); /* extended delta missing */
	assert_int_equal(r.verdict, LPW_CSM_INVALID);
	r = check("20e12300"); /* a 3-byte value in a 2-byte body */
	assert_int_equal(r.verdict, LPW_CSM_INVALID);
	r = check("60e1250102030405"); /* Max-Message-Size of 5 bytes */
	assert_int_equal(r.verdict, LPW_CSM_INVALID);
	assert_int_equal(r.bad_option, 2);
	r = check("20e14101"); /* Block-Wise-Transfer with a value */
	assert_int_equal(r.verdict, LPW_CSM_INVALID);
	assert_int_equal(r.bad_option, 4);
	r = check("10e110"); /* option 1: critical, unknown in a CSM */
	assert_int_equal(r.verdict, LPW_CSM_INVALID);
	assert_int_equal(r.bad_option, 1);
	r = check("30e1d00a00"); /* option 23 (13 + 10), critical */
	assert_int_equal(r.verdict, LPW_CSM_INVALID);
	assert_int_equal(r.bad_option, 23);
	r = check("60e1e0ffff00e000"); /* option numbers above 65535 */
	assert_int_equal(r.verdict, LPW_CSM_INVALID);
}

/* RFC 8323 §5.6: an empty Abort, one with Bad-CSM-Option and a diagnostic, and what fits in a small buffer. */
static void test_abort(void **state)
{
	uint8_t buf[64];
	assert_int_equal(lpw_csm_abort(buf, sizeof(buf), 0, NULL), 2);
	assert_memory_equal(buf, ((const uint8_t[]){0x00, 0xe5}), 2);
	ssize_t n = lpw_csm_abort(buf, sizeof(buf), 1, "CSM!");
	assert_int_equal(n, 2 + 2 + 1 + 4);
	assert_memory_equal(buf, ((const uint8_t[]){0x70, 0xe5, 0x21, 0x01, 0xff, 'C', 'S', 'M', '!'}), 9);
	n = lpw_csm_abort(buf, sizeof(buf), 300, NULL);
	assert_memory_equal(buf, ((const uint8_t[]){0x30, 0xe5, 0x22, 0x01, 0x2c}), 5);
	assert_int_equal(n, 5);
	char diag[300];
	memset(diag, 'x', sizeof(diag) - 1);
	diag[sizeof(diag) - 1] = '\0';
	n = lpw_csm_abort(buf, sizeof(buf), 0, diag);
	assert_true(n > 2 && n <= (ssize_t)sizeof(buf));
	assert_int_equal(buf[0] >> 4, 13);
	assert_int_equal(buf[1] + 13, n - 3);
	assert_int_equal(lpw_csm_abort(buf, 2, 0, NULL), -ENOSPC);
	assert_int_equal(lpw_csm_abort(buf, 3, 7, "d"), 2); /* no room for the option: the bare signal */
}

static void test_code_names(void **state)
{
	char name[32];
	lpw_csm_code_name(0x01, name, sizeof(name));
	assert_string_equal(name, "0.01 GET");
	lpw_csm_code_name(0xe2, name, sizeof(name));
	assert_string_equal(name, "7.02 Ping");
	lpw_csm_code_name(0x45, name, sizeof(name));
	assert_string_equal(name, "2.05");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),    cmocka_unit_test(test_not_csm), cmocka_unit_test(test_partial),
		cmocka_unit_test(test_too_large), cmocka_unit_test(test_invalid), cmocka_unit_test(test_abort),
		cmocka_unit_test(test_code_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
