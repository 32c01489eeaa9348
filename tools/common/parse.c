/* Small parsers the test tools share: command-line values (numbers, HOST:PORT, hex) and reason strings. */
#include "tools/common/parse.h"
#include "core/hex.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lpw_parse_fail(char *reason, size_t reason_len, const char *fmt, ...)
{
	if (reason && reason_len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(reason, reason_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int lpw_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return *s && !*end && errno == 0 && *out <= max ? 0 : -EINVAL;
}

int lpw_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (!*s || *end || !(v >= min && v <= max)) /* the negated form also refuses NaN */
		return -EINVAL;
	*out = v;
	return 0;
}

int lpw_parse_host_port(char *arg, const char **out_host, uint16_t *out_port)
{
	char *colon = strrchr(arg, ':');
	unsigned long port;
	if (!colon || lpw_parse_uint(colon + 1, 65535, &port) < 0 || port == 0)
		return -EINVAL;
	*colon = '\0';
	/* [::1]:5683: the brackets only keep the address's own colons apart from the port's */
	if (arg[0] == '[' && colon > arg && colon[-1] == ']') {
		colon[-1] = '\0';
		arg++;
	}
	*out_host = arg;
	*out_port = (uint16_t)port;
	return 0;
}

int lpw_parse_hex_digit(char c)
{
	return lpw_hex_digit(c);
}

int lpw_parse_hex(const char *s, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	int rc = lpw_hex_decode(s, n, out, cap, out_len);
	return rc == -ENOSPC ? -EINVAL : rc; /* the tools report one kind of bad value */
}
