/* Small parsers the test tools share: command-line values (numbers, HOST:PORT, hex) and reason strings. */
#ifndef LPW_TOOL_PARSE_H
#define LPW_TOOL_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Writes the formatted reason into reason (always NUL-terminated when reason_len > 0; reason may be NULL) and
 * returns -EINVAL, so a parser can say `return lpw_parse_fail(reason, len, "...", ...);`. */
int lpw_parse_fail(char *reason, size_t reason_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A decimal unsigned integer in 0..max, the whole string (s borrowed). -EINVAL on an empty string, trailing
 * characters, overflow or a value above max; *out is then unspecified. */
int lpw_parse_uint(const char *s, unsigned long max, unsigned long *out) __attribute__((warn_unused_result));

/* A decimal number (strtod syntax: fractions and exponents allowed) in min..max, the whole string (s borrowed).
 * -EINVAL on an empty string, trailing characters, NaN or a value outside the range. */
int lpw_parse_double(const char *s, double min, double max, double *out) __attribute__((warn_unused_result));

/* HOST:PORT or [IPV6]:PORT with a port in 1..65535. arg is modified in place (the ':' and ']' become NULs) and
 * *out_host points into it, so arg must outlive every use of *out_host. -EINVAL when malformed (arg may then
 * already be modified). */
int lpw_parse_host_port(char *arg, const char **out_host, uint16_t *out_port) __attribute__((warn_unused_result));

/* The value 0..15 of one hex digit (either case), -1 for any other character. */
int lpw_parse_hex_digit(char c);

/* Decodes the first n characters of s (borrowed; need not be NUL-terminated after them) as hex digit pairs into
 * out (at most cap bytes). n == 0 decodes to nothing. -EINVAL for an odd n, a non-hex character or more than
 * cap bytes; *out_len is set only on success. */
int lpw_parse_hex(const char *s, size_t n, uint8_t *out, size_t cap, size_t *out_len)
	__attribute__((warn_unused_result));

#endif
