/* Pure validators for configuration values: names, hosts, URIs, binding identities, hex keys, files. */
#include "config/config_internal.h"
#include "core/hex.h"

#include <arpa/inet.h>
#include <netinet/in.h>
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
	const unsigned char *a = addr;
	int af = AF_INET;
	if (inet_pton(af, text, addr) != 1) {
		af = AF_INET6;
		if (inet_pton(af, text, addr) != 1) {
			*why = "is not an IPv4 or IPv6 address";
			return -EINVAL;
		}
		/* RFC 4291 §2.5.5.2: ::ffff:a.b.c.d is the IPv4 address a.b.c.d; the SGi binding reports such a peer as
		 * a.b.c.d, so that is the identity it must match (and be a duplicate of). */
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)addr)) {
			af = AF_INET;
			a = addr + 12;
		}
	}
	if (!inet_ntop(af, a, out, (socklen_t)cap)) {
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

/* The length of the UTF-8 sequence lead starts (0: not a lead byte), and the smallest code point it may encode. */
static int utf8_lead(unsigned char lead, uint32_t *out_cp, uint32_t *out_min)
{
	if (lead < 0x80) {
		*out_cp = lead;
		*out_min = 0;
		return 1;
	}
	if (lead >= 0xC2 && lead <= 0xDF) { /* C0 and C1 would be overlong */
		*out_cp = lead & 0x1Fu;
		*out_min = 0x80;
		return 2;
	}
	if (lead >= 0xE0 && lead <= 0xEF) {
		*out_cp = lead & 0x0Fu;
		*out_min = 0x800;
		return 3;
	}
	if (lead >= 0xF0 && lead <= 0xF4) { /* above F4 is beyond U+10FFFF */
		*out_cp = lead & 0x07u;
		*out_min = 0x10000;
		return 4;
	}
	return 0;
}

int lpw_config_check_text(const char *text, size_t len, const char **why, size_t *out_offset)
{
	const unsigned char *p = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		uint32_t cp, min;
		int n = utf8_lead(p[i], &cp, &min);
		*out_offset = i;
		if (n == 0 || i + (size_t)n > len) {
			*why = "is not valid UTF-8";
			return -EINVAL;
		}
		for (int k = 1; k < n; k++) {
			if ((p[i + (size_t)k] & 0xC0) != 0x80) {
				*why = "is not valid UTF-8";
				return -EINVAL;
			}
			cp = cp << 6 | (p[i + (size_t)k] & 0x3Fu);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
			*why = "is not valid UTF-8 (an overlong form, a surrogate or beyond U+10FFFF)";
			return -EINVAL;
		}
		if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
			*why = "contains a control character";
			return -EINVAL;
		}
		if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) {
			*why = "contains a Unicode non-character";
			return -EINVAL;
		}
		i += (size_t)n;
	}
	return 0;
}

const char *lpw_config_file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	default: return "not a regular file";
	}
}

int lpw_config_open_regular(const char *path, bool secret, struct stat *out_st)
{
	/* O_NONBLOCK: opening a FIFO would otherwise wait for a writer, and a reload would freeze the daemon. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	memset(out_st, 0, sizeof(*out_st));
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (fstat(fd, out_st) < 0)
		rc = -errno;
	else if (S_ISDIR(out_st->st_mode))
		rc = -EISDIR;
	else if (!S_ISREG(out_st->st_mode))
		rc = -ENODEV;
	else if (secret && (out_st->st_mode & 077))
		rc = -EPERM;
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

int lpw_config_check_file(const char *path, bool secret, mode_t *out_mode)
{
	struct stat st;
	int fd = lpw_config_open_regular(path, secret, &st);
	if (out_mode)
		*out_mode = st.st_mode;
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int lpw_config_read_small(const char *path, char *buf, size_t cap)
{
	struct stat st;
	int fd = lpw_config_open_regular(path, false, &st);
	if (fd < 0)
		return fd;
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
