/* core/hex: digits of either case, pairs decoded, odd lengths, bad characters and overflow refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/hex.h"

static void test_digits(void **state)
{
	assert_int_equal(lpw_hex_digit('0'), 0);
	assert_int_equal(lpw_hex_digit('9'), 9);
	assert_int_equal(lpw_hex_digit('a'), 10);
	assert_int_equal(lpw_hex_digit('F'), 15);
	assert_int_equal(lpw_hex_digit('g'), -1);
	assert_int_equal(lpw_hex_digit(' '), -1);
	assert_int_equal(lpw_hex_digit('\0'), -1);
}

static void test_decode(void **state)
{
	uint8_t out[4];
	size_t n = 99;
	assert_int_equal(lpw_hex_decode("01aBfF", 6, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\x01\xab\xff", 3);
	assert_int_equal(lpw_hex_decode("0102zz", 4, out, sizeof(out), &n), 0); /* only the first n characters */
	assert_int_equal(n, 2);
	assert_int_equal(lpw_hex_decode("", 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(lpw_hex_decode("abc", 3, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(lpw_hex_decode("0g", 2, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(lpw_hex_decode(" 1", 2, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(lpw_hex_decode("0102030405", 10, out, sizeof(out), &n), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digits),
		cmocka_unit_test(test_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
