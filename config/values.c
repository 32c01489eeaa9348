/* Pure validators for configuration values: names, hosts, URIs, binding identities, hex keys, files. */
#include "config/config_internal.h"
#include "core/hex.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lpw_config_check_name(const char *text, const char **why)
{
	size_t len = strlen(text);
	if (len < 1 || len > 64) {
		*why = len ? "is too long" : "is empty";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-') {
			*why = "contains a character other than A-Z a-z 0-9 . _ -";
			return -EINVAL;
		}
	}
	return 0;
}

/* A DNS name (labels of A-Z a-z 0-9 -, 1..63 each, 253 in all) or an IP literal. */
int lpw_config_check_host(const char *text, const char **why)
{
	unsigned char addr[16];
	if (inet_pton(AF_INET, text, addr) == 1 || inet_pton(AF_INET6, text, addr) == 1)
		return 0;
	size_t len = strlen(text), label = 0;
	if (len == 0 || len > 253) {
		*why = len ? "is too long for a host name" : "is empty";
		return -EINVAL;
	}
	for (size_t i = 0; i <= len; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '.' || ch == '\0') {
			if (label == 0 || label > 63) {
				*why = "has an empty or over-long label";
				return -EINVAL;
			}
			label = 0;
		} else if (isalnum(ch) || ch == '-') {
			label++;
		} else {
			*why = "is neither an IP address nor a host name";
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_port(const char *p, uint16_t *out_port, const char **why)
{
	char *end;
	if (!isdigit((unsigned char)*p)) {
		*why = "has no port number after ':'";
		return -EINVAL;
	}
	errno = 0;
	unsigned long v = strtoul(p, &end, 10);
	if (errno || v < 1 || v > 65535 || end - p > 5) {
		*why = "has a port outside 1..65535";
		return -EINVAL;
	}
	if (*end != '\0' && strcmp(end, "/") != 0) {
		*why = "has something after the port (no path is allowed)";
		return -EINVAL;
	}
	*out_port = (uint16_t)v;
	return 0;
}

int lpw_config_parse_uri(const char *uri, bool *out_secure, char *out_host, size_t host_cap, uint16_t *out_port,
			 const char **why)
{
	const char *p, *host_end;
	if (strncmp(uri, "coap+tcp://", 11) == 0) {
		*out_secure = false;
		p = uri + 11;
	} else if (strncmp(uri, "coaps+tcp://", 12) == 0) {
		*out_secure = true;
		p = uri + 12;
	} else {
		*why = "has an unsupported scheme";
		return -EINVAL;
	}
	*out_port = *out_secure ? 5684 : 5683; /* RFC 8323 §8.1/§8.2 default ports */
	const char *host = p;
	if (*p == '[') {
		host++;
		host_end = strchr(host, ']');
		if (!host_end) {
			*why = "has an IPv6 literal without ']'";
			return -EINVAL;
		}
		p = host_end + 1;
	} else {
		host_end = host + strcspn(host, ":/");
		p = host_end;
	}
	size_t len = (size_t)(host_end - host);
	if (len == 0 || len >= host_cap) {
		*why = len ? "has a host name that is too long" : "has no host";
		return -EINVAL;
	}
	memcpy(out_host, host, len);
	out_host[len] = '\0';
	unsigned char addr[16];
	if (host[-1] == '[' ? inet_pton(AF_INET6, out_host, addr) != 1 : lpw_config_check_host(out_host, why) != 0) {
		*why = "has an invalid host";
		return -EINVAL;
	}
	if (*p == ':')
		return parse_port(p + 1, out_port, why);
	if (*p != '\0' && strcmp(p, "/") != 0) {
		*why = "has something after the host (no path is allowed)";
		return -EINVAL;
	}
	return 0;
}

int lpw_config_norm_ip(const char *text, char *out, size_t cap, const char **why)
{
	unsigned char addr[16];
	int af = AF_INET;
	if (inet_pton(af, text, addr) != 1) {
		af = AF_INET6;
		if (inet_pton(af, text, addr) != 1) {
			*why = "is not an IPv4 or IPv6 address";
			return -EINVAL;
		}
	}
	if (!inet_ntop(af, addr, out, (socklen_t)cap)) {
		*why = "does not fit";
		return -EINVAL;
	}
	return 0;
}

/* E.164: at most 15 digits; fewer than 5 is no subscriber number. */
int lpw_config_norm_msisdn(const char *text, char *out, size_t cap, const char **why)
{
	size_t n = 0;
	if (*text == '+')
		text++;
	for (; *text; text++) {
		if (!isdigit((unsigned char)*text)) {
			*why = "contains a character other than digits (and a leading +)";
			return -EINVAL;
		}
		if (n + 1 >= cap || n >= 15) {
			*why = "has more than 15 digits";
			return -EINVAL;
		}
		out[n++] = *text;
	}
	out[n] = '\0';
	if (n < 5) {
		*why = "has fewer than 5 digits";
		return -EINVAL;
	}
	return 0;
}

int lpw_config_norm_dev_eui(const char *text, char *out, size_t cap, const char **why)
{
	if (strlen(text) != 16 || cap < 17) {
		*why = "is not 16 hex digits long";
		return -EINVAL;
	}
	for (size_t i = 0; i < 16; i++) {
		if (!isxdigit((unsigned char)text[i])) {
			*why = "contains a character that is not a hex digit";
			return -EINVAL;
		}
		out[i] = (char)toupper((unsigned char)text[i]);
	}
	out[16] = '\0';
	return 0;
}

/* 3GPP TS 23.003 §19.7.2: External Identifier = <Local Identifier>@<Domain Identifier>. */
int lpw_config_check_external_id(const char *text, const char **why)
{
	const char *at = strchr(text, '@');
	if (!at || at == text || at[1] == '\0' || strchr(at + 1, '@')) {
		*why = "is not of the form user@domain";
		return -EINVAL;
	}
	for (const char *p = text; *p; p++) {
		if (!isgraph((unsigned char)*p)) {
			*why = "contains a space or control character";
			return -EINVAL;
		}
	}
	return lpw_config_check_host(at + 1, why) ? (*why = "has an invalid domain", -EINVAL) : 0;
}

int lpw_config_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *out_len, const char **why)
{
	size_t len = strlen(hex);
	int rc = len ? lpw_hex_decode(hex, len, out, cap, out_len) : -EINVAL;
	if (rc == 0)
		return 0;
	*why = !len ? "is empty"
	       : len % 2 ? "has an odd number of hex digits"
	       : rc == -ENOSPC ? "is too long"
	       : "contains a character that is not a hex digit";
	return -EINVAL;
}

int lpw_config_check_file(const char *path, bool secret, mode_t *out_mode)
{
	/* O_NONBLOCK: a FIFO named here must not hang the loader. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = -EISDIR;
	else if (secret && (st.st_mode & 077))
		rc = -EPERM;
	if (out_mode && rc == -EPERM)
		*out_mode = st.st_mode & 07777;
	close(fd);
	return rc;
}

int lpw_config_read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	size_t n = 0;
	int rc = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			rc = -EFBIG;
			break;
		}
	}
	close(fd);
	if (rc) {
		explicit_bzero(buf, cap);
		return rc;
	}
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	return 0;
}
