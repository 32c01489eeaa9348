/* The simulators' deterministic pseudo-random numbers: one xorshift32 step. */
#ifndef LPW_TOOL_XORSHIFT_H
#define LPW_TOOL_XORSHIFT_H

#include <stdint.h>

/* Advances *state (must not be 0: xorshift stays at 0 forever) and returns the new value. Deterministic per seed,
 * good enough for message IDs, tokens, jitter and simulated loss; never for keys or nonces. */
uint32_t lpw_xorshift32(uint32_t *state);

#endif
