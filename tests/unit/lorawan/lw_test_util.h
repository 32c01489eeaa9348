/* Small helpers shared by the LoRaWAN unit tests. */
#ifndef LPW_LW_TEST_UTIL_H
#define LPW_LW_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Decodes a hex string into out (cap bytes); aborts on bad input so a typo in a vector cannot pass silently. */
static inline size_t lw_test_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	while (s[0] && s[1]) {
		unsigned v;
		if (n == cap || sscanf(s, "%2x", &v) != 1)
			abort();
		out[n++] = (uint8_t)v;
		s += 2;
	}
	if (s[0])
		abort();
	return n;
}

#endif
