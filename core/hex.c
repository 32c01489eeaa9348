/* core/hex.h */
#include "core/hex.h"

#include <errno.h>

int lpw_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int lpw_hex_decode(const char *hex, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	if (n % 2)
		return -EINVAL;
	if (n / 2 > cap)
		return -ENOSPC;
	for (size_t i = 0; i < n; i += 2) {
		int hi = lpw_hex_digit(hex[i]), lo = lpw_hex_digit(hex[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*out_len = n / 2;
	return 0;
}
