/* Control-line parser: "verb EP PATH ..." into an lpw_command_t, rejecting bad input with a reason. */
#include "tools/lwm2m-test-server/command.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/common/parse.h"

static const char *const verbs[] = {
	[LPW_CMD_READ] = "read",         [LPW_CMD_WRITE] = "write",
	[LPW_CMD_WRITE_NOBLOCK] = "write-noblock",
	[LPW_CMD_WRITE_PARTIAL] = "write-partial", [LPW_CMD_EXEC] = "exec",
	[LPW_CMD_CREATE] = "create",     [LPW_CMD_DELETE] = "delete",
	[LPW_CMD_DISCOVER] = "discover", [LPW_CMD_WRITE_ATTR] = "write-attr",
	[LPW_CMD_OBSERVE] = "observe",   [LPW_CMD_CANCEL] = "cancel",
	[LPW_CMD_READ_COMPOSITE] = "read-composite", [LPW_CMD_LIST] = "list",
	[LPW_CMD_QUIT] = "quit",
};

/* Payload formats a write/create/read-composite may name; hex ones carry bytes written as hex. */
static const struct {
	const char *name;
	int cf;
	bool hex;
} payload_formats[] = {
	{"text", LPW_CF_TEXT, false},          {"opaque-hex", LPW_CF_OPAQUE, true},
	{"senml-json", LPW_CF_SENML_JSON, false}, {"tlv-hex", LPW_CF_TLV, true},
	{"cbor-hex", LPW_CF_CBOR, true},       {"senml-cbor-hex", LPW_CF_SENML_CBOR, true},
	{"lwm2m-json", LPW_CF_LWM2M_JSON, false}, {"link", LPW_CF_LINK, false},
};

/* Names for accept=: the formats without their -hex suffix, or a number. */
static const struct {
	const char *name;
	int cf;
} accept_names[] = {
	{"text", LPW_CF_TEXT}, {"link", LPW_CF_LINK}, {"opaque", LPW_CF_OPAQUE}, {"cbor", LPW_CF_CBOR},
	{"senml-json", LPW_CF_SENML_JSON}, {"senml-cbor", LPW_CF_SENML_CBOR}, {"tlv", LPW_CF_TLV},
	{"lwm2m-json", LPW_CF_LWM2M_JSON},
};

const char *lpw_command_name(lpw_cmd_kind_t kind)
{
	if ((size_t)kind >= sizeof(verbs) / sizeof(verbs[0]) || !verbs[kind])
		return "?";
	return verbs[kind];
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Copies the next whitespace-separated word into buf. Returns its length, 0 at end of line, -1 if it
 * does not fit. Advances *p past the word. */
static int next_word(const char **p, char *buf, size_t size)
{
	const char *s = *p;
	while (is_space(*s))
		s++;
	size_t n = 0;
	while (s[n] && !is_space(s[n]))
		n++;
	*p = s + n;
	if (n >= size)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return (int)n;
}

void lpw_command_verb(const char *line, char *out, size_t out_len)
{
	const char *p = line;
	if (out_len == 0)
		return;
	if (next_word(&p, out, out_len) < 0)
		out[0] = '\0';
}

/* Stores the rest of the line as payload, decoding hex when asked. */
static int take_payload(lpw_command_t *cmd, const char *rest, bool hex, char *reason, size_t rlen)
{
	while (is_space(*rest))
		rest++;
	size_t n = strlen(rest);
	while (n && is_space(rest[n - 1]))
		n--;
	if (n == 0)
		return 0;
	if (hex && n % 2)
		return lpw_parse_fail(reason, rlen, "hex payload has an odd number of digits");
	cmd->payload = malloc(hex ? n / 2 : n);
	if (!cmd->payload)
		return -ENOMEM;
	if (!hex) {
		memcpy(cmd->payload, rest, n);
		cmd->payload_len = n;
		return 0;
	}
	for (size_t i = 0; i < n; i += 2) {
		int hi = lpw_parse_hex_digit(rest[i]), lo = lpw_parse_hex_digit(rest[i + 1]);
		if (hi < 0 || lo < 0) {
			lpw_command_clear(cmd);
			return lpw_parse_fail(reason, rlen, "bad hex digit at payload offset %zu", hi < 0 ? i : i + 1);
		}
		cmd->payload[cmd->payload_len++] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* LwM2M paths: "/", or "/" followed by non-empty segments of printable characters. */
static int check_path(const char *path, char *reason, size_t rlen)
{
	if (path[0] != '/')
		return lpw_parse_fail(reason, rlen, "path must start with '/'");
	for (const char *s = path; *s; s++) {
		if (*s == '/' && s != path && (s[1] == '/' || s[1] == '\0'))
			return lpw_parse_fail(reason, rlen, "empty path segment");
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == '?' || *s == '#')
			return lpw_parse_fail(reason, rlen, "bad character in path");
	}
	return 0;
}

void lpw_command_fill_bytes(uint8_t *buf, size_t len)
{
	/* 251 is prime: the pattern does not line up with any power-of-two block size */
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i % 251);
}

/* "bytes N": N generated opaque bytes; nothing may follow N. */
static int take_bytes(lpw_command_t *cmd, const char *rest, char *reason, size_t rlen)
{
	char word[32];
	char *end = NULL;
	int n = next_word(&rest, word, sizeof(word));
	if (n <= 0)
		return lpw_parse_fail(reason, rlen, "bytes needs a size N");
	errno = 0;
	unsigned long v = strtoul(word, &end, 10);
	if (*end || errno || word[0] == '-' || v == 0 || v > LPW_CMD_BYTES_MAX)
		return lpw_parse_fail(reason, rlen, "bytes N: N must be 1..%u", LPW_CMD_BYTES_MAX);
	if (next_word(&rest, word, sizeof(word)) != 0)
		return lpw_parse_fail(reason, rlen, "unexpected text after bytes N");
	cmd->payload = malloc(v);
	if (!cmd->payload)
		return -ENOMEM;
	cmd->payload_len = v;
	lpw_command_fill_bytes(cmd->payload, v);
	return 0;
}

static int parse_format(const char *word, int *cf, bool *hex, char *reason, size_t rlen)
{
	for (size_t i = 0; i < sizeof(payload_formats) / sizeof(payload_formats[0]); i++) {
		if (strcmp(word, payload_formats[i].name) == 0) {
			*cf = payload_formats[i].cf;
			*hex = payload_formats[i].hex;
			return 0;
		}
	}
	return lpw_parse_fail(reason, rlen, "unknown format '%s'", word);
}

static int parse_accept(const char *word, int *cf, char *reason, size_t rlen)
{
	const char *v = word + strlen("accept=");
	for (size_t i = 0; i < sizeof(accept_names) / sizeof(accept_names[0]); i++) {
		if (strcmp(v, accept_names[i].name) == 0) {
			*cf = accept_names[i].cf;
			return 0;
		}
	}
	char *end = NULL;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < 0 || n > 65535)
		return lpw_parse_fail(reason, rlen, "unknown accept format '%s'", v);
	*cf = (int)n;
	return 0;
}

static int parse_id(const char *word, uint64_t *out, char *reason, size_t rlen)
{
	char *end = NULL;
	errno = 0;
	unsigned long long n = strtoull(word, &end, 10);
	if (!*word || *end || errno || word[0] == '-' || n == 0)
		return lpw_parse_fail(reason, rlen, "bad id '%s'", word);
	*out = n;
	return 0;
}

static int parse_query(const char *word, char *out, char *reason, size_t rlen)
{
	const char *s = word;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == '#')
			return lpw_parse_fail(reason, rlen, "bad character in query");
	if (word[0] == '&' || (s > word && s[-1] == '&') || strstr(word, "&&"))
		return lpw_parse_fail(reason, rlen, "empty query parameter");
	strcpy(out, word);
	return 0;
}

static int find_verb(const char *word, lpw_cmd_kind_t *out)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (verbs[i] && strcmp(word, verbs[i]) == 0) {
			*out = (lpw_cmd_kind_t)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* After the verb (and EP for most verbs): the verb-specific arguments. */
static int parse_args(lpw_command_t *cmd, const char *p, char *reason, size_t rlen)
{
	char word[LPW_CMD_QUERY_MAX + 1];
	bool hex = false;
	int n;
	int rc;

	if (cmd->kind == LPW_CMD_CANCEL) {
		if (next_word(&p, word, sizeof(word)) <= 0)
			return lpw_parse_fail(reason, rlen, "cancel needs EP ID");
		return parse_id(word, &cmd->target_id, reason, rlen);
	}
	if (cmd->kind == LPW_CMD_READ_COMPOSITE) {
		strcpy(cmd->path, "/");
	} else {
		n = next_word(&p, cmd->path, sizeof(cmd->path));
		if (n <= 0)
			return lpw_parse_fail(reason, rlen, n < 0 ? "path too long" : "missing PATH");
		if ((rc = check_path(cmd->path, reason, rlen)))
			return rc;
	}
	switch (cmd->kind) {
	case LPW_CMD_READ:
	case LPW_CMD_OBSERVE:
		n = next_word(&p, word, sizeof(word));
		if (n < 0 || (n > 0 && strncmp(word, "accept=", 7) != 0))
			return lpw_parse_fail(reason, rlen, "expected accept=FMT after PATH");
		if (n > 0 && (rc = parse_accept(word, &cmd->accept, reason, rlen)))
			return rc;
		break;
	case LPW_CMD_WRITE_ATTR:
		n = next_word(&p, word, sizeof(word));
		if (n <= 0)
			return lpw_parse_fail(reason, rlen, n < 0 ? "query too long" : "missing QUERY");
		if ((rc = parse_query(word, cmd->query, reason, rlen)))
			return rc;
		break;
	case LPW_CMD_EXEC:
		if ((rc = take_payload(cmd, p, false, reason, rlen)))
			return rc;
		if (cmd->payload)
			cmd->format = LPW_CF_TEXT;
		return 0;
	case LPW_CMD_WRITE:
	case LPW_CMD_WRITE_NOBLOCK:
	case LPW_CMD_WRITE_PARTIAL:
	case LPW_CMD_CREATE:
	case LPW_CMD_READ_COMPOSITE:
		n = next_word(&p, word, sizeof(word));
		if (n <= 0)
			return lpw_parse_fail(reason, rlen, "missing FORMAT");
		if (strcmp(word, "bytes") == 0 && cmd->kind != LPW_CMD_READ_COMPOSITE) {
			cmd->format = LPW_CF_OPAQUE;
			return take_bytes(cmd, p, reason, rlen);
		}
		if ((rc = parse_format(word, &cmd->format, &hex, reason, rlen)))
			return rc;
		if (cmd->kind == LPW_CMD_READ_COMPOSITE)
			cmd->accept = cmd->format;
		return take_payload(cmd, p, hex, reason, rlen);
	default:
		break;
	}
	if (next_word(&p, word, sizeof(word)) != 0)
		return lpw_parse_fail(reason, rlen, "unexpected text after the arguments");
	return 0;
}

int lpw_command_parse(const char *line, lpw_command_t *cmd, char *reason, size_t rlen)
{
	char verb[32];
	const char *p = line;
	int n;
	int rc;

	memset(cmd, 0, sizeof(*cmd));
	cmd->format = -1;
	cmd->accept = -1;
	if (strlen(line) > LPW_CMD_LINE_MAX)
		return lpw_parse_fail(reason, rlen, "line too long");
	n = next_word(&p, verb, sizeof(verb));
	if (n == 0)
		return lpw_parse_fail(reason, rlen, "empty command");
	if (n < 0 || find_verb(verb, &cmd->kind))
		return lpw_parse_fail(reason, rlen, "unknown command");
	if (cmd->kind == LPW_CMD_LIST || cmd->kind == LPW_CMD_QUIT) {
		if (next_word(&p, verb, sizeof(verb)) != 0)
			return lpw_parse_fail(reason, rlen, "%s takes no arguments", verbs[cmd->kind]);
		return 0;
	}
	n = next_word(&p, cmd->ep, sizeof(cmd->ep));
	if (n <= 0)
		return lpw_parse_fail(reason, rlen, n < 0 ? "endpoint name too long" : "missing EP");
	rc = parse_args(cmd, p, reason, rlen);
	if (rc)
		lpw_command_clear(cmd);
	return rc;
}

void lpw_command_clear(lpw_command_t *cmd)
{
	if (!cmd)
		return;
	free(cmd->payload);
	cmd->payload = NULL;
	cmd->payload_len = 0;
}
