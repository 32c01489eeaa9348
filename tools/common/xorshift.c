/* The simulators' deterministic pseudo-random numbers: one xorshift32 step. */
#include "tools/common/xorshift.h"

uint32_t lpw_xorshift32(uint32_t *state)
{
	/* Marsaglia's 13/17/5 triple: full period 2^32 - 1 over the non-zero states */
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}
