/* Hex digits, for every parser of hex text (configuration keys, SMS PDUs in AT lines). */
#ifndef LPW_HEX_H
#define LPW_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value 0..15 of one hex digit (either case), -1 for any other character. */
int lpw_hex_digit(char c);

/* Decodes the n characters at hex as digit pairs into out (at most cap bytes). 0 and *out_len; -EINVAL for an odd
 * n or a character that is not a hex digit, -ENOSPC when the bytes do not fit in cap (nothing reliable in out). */
int lpw_hex_decode(const char *hex, size_t n, uint8_t *out, size_t cap, size_t *out_len);

#endif
