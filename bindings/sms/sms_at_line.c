/* The AT line reader and parser (V.250 §5.7 result codes, TS 27.007 §4.1 information text, TS 27.005 §3.5.1
 * prompt). */
#include "bindings/sms/sms_at_line.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* --- reader --- */

void lpw_sms_at_reader_init(lpw_sms_at_reader_t *r)
{
	unsigned gen = r->gen + 1;
	memset(r, 0, sizeof(*r));
	r->gen = gen;
}

static void end_line(lpw_sms_at_reader_t *r, lpw_sms_at_token_cb cb, void *arg)
{
	lpw_sms_at_token_t kind = LPW_SMS_AT_TOKEN_LINE;
	size_t len = r->len;
	if (r->discarding)
		kind = LPW_SMS_AT_TOKEN_TOO_LONG;
	else if (r->nul)
		kind = LPW_SMS_AT_TOKEN_GARBLED;
	else if (len == 0)
		return;
	if (kind != LPW_SMS_AT_TOKEN_LINE)
		len = 0;
	r->buf[len] = '\0';
	r->len = 0;
	r->discarding = r->nul = false;
	cb(arg, kind, r->buf, len);
}

void lpw_sms_at_reader_feed(lpw_sms_at_reader_t *r, const uint8_t *data, size_t len, lpw_sms_at_token_cb cb,
			    void *arg)
{
	unsigned gen = r->gen;
	for (size_t i = 0; i < len && r->gen == gen; i++) {
		uint8_t c = data[i];
		if (c == '\r' || c == '\n') {
			end_line(r, cb, arg);
			continue;
		}
		if (r->discarding)
			continue;
		if (r->len == LPW_SMS_AT_LINE_MAX) {
			r->discarding = true;
			continue;
		}
		if (c == '\0')
			r->nul = true;
		r->buf[r->len++] = (char)c;
		/* the prompt ends no line: it is the whole line so far */
		if (r->len == 2 && r->buf[0] == '>' && r->buf[1] == ' ' && !r->nul) {
			r->len = 0;
			r->buf[0] = '\0';
			cb(arg, LPW_SMS_AT_TOKEN_PROMPT, r->buf, 0);
		}
	}
}

/* --- parser --- */

static int fail(char *why, size_t whylen, const char *what)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", what);
	return -EBADMSG;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool equals(const char *line, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(line, word, len) == 0;
}

static bool starts(const char *line, size_t len, const char *word)
{
	size_t n = strlen(word);
	return len >= n && memcmp(line, word, n) == 0;
}

/* A decimal integer that fits a long, the whole of s. */
static bool parse_num(const char *s, size_t n, long *out)
{
	size_t i = 0;
	bool neg = false;
	if (n && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == n || n - i > 18)
		return false;
	long v = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return true;
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

/* Splits s (n characters) at commas outside quotes into out->args. */
static int split_args(const char *s, size_t n, lpw_sms_at_line_t *out, char *why, size_t whylen)
{
	size_t i = 0;
	trim(&s, &n);
	if (n == 0)
		return 0;
	for (;;) {
		if (out->nargs == LPW_SMS_AT_ARGS_MAX)
			return fail(why, whylen, "more than 16 arguments");
		lpw_sms_at_arg_t *a = &out->args[out->nargs++];
		while (i < n && is_space(s[i]))
			i++;
		if (i < n && s[i] == '"') {
			const char *q = memchr(s + i + 1, '"', n - i - 1);
			if (!q)
				return fail(why, whylen, "an unterminated quoted string");
			*a = (lpw_sms_at_arg_t){.s = s + i + 1, .len = (size_t)(q - s - i - 1), .quoted = true};
			i = (size_t)(q - s) + 1;
			while (i < n && is_space(s[i]))
				i++;
			if (i < n && s[i] != ',')
				return fail(why, whylen, "text after a closing quote");
		} else {
			size_t start = i;
			while (i < n && s[i] != ',')
				i++;
			a->s = s + start;
			a->len = i - start;
			trim(&a->s, &a->len);
			a->is_num = parse_num(a->s, a->len, &a->num);
		}
		if (i >= n)
			return 0;
		i++; /* the comma: an argument follows, perhaps an empty one */
		if (i == n) {
			if (out->nargs == LPW_SMS_AT_ARGS_MAX)
				return fail(why, whylen, "more than 16 arguments");
			out->args[out->nargs++] = (lpw_sms_at_arg_t){.s = s + n, .len = 0};
			return 0;
		}
	}
}

static bool name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* "+CMS ERROR: 321" or "+CME ERROR: SIM not inserted" */
static bool parse_error(const char *line, size_t len, lpw_sms_at_line_t *out)
{
	bool cms = starts(line, len, "+CMS ERROR:");
	if (!cms && !starts(line, len, "+CME ERROR:"))
		return false;
	out->kind = cms ? LPW_SMS_AT_CMS_ERROR : LPW_SMS_AT_CME_ERROR;
	const char *s = line + 11;
	size_t n = len - 11;
	trim(&s, &n);
	long v;
	out->code = parse_num(s, n, &v) && v >= 0 && v <= INT_MAX ? (int)v : -1;
	out->rest = s;
	out->rest_len = n;
	return true;
}

int lpw_sms_at_line_parse(const char *line, size_t len, lpw_sms_at_line_t *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof(*out));
	out->kind = LPW_SMS_AT_TEXT;
	out->code = -1;
	out->rest = line;
	out->rest_len = len;
	if (why && whylen)
		why[0] = '\0';
	static const char *const others[] = {"NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE"};
	if (equals(line, len, "OK")) {
		out->kind = LPW_SMS_AT_OK;
		return 0;
	}
	if (equals(line, len, "ERROR")) {
		out->kind = LPW_SMS_AT_ERROR;
		return 0;
	}
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		if (equals(line, len, others[i])) {
			out->kind = LPW_SMS_AT_FINAL_OTHER;
			return 0;
		}
	}
	if (parse_error(line, len, out))
		return 0;
	if (len < 2 || (line[0] != '+' && line[0] != '^') || !name_char(line[1]))
		return 0;
	size_t n = 1;
	while (n < len && name_char(line[n]))
		n++;
	if (n < len && line[n] != ':')
		return 0; /* "+" and a word, then something else: not an information line */
	if (n > LPW_SMS_AT_NAME_MAX)
		return fail(why, whylen, "an information line name longer than 15 characters");
	memcpy(out->name, line, n);
	out->name[n] = '\0';
	out->kind = LPW_SMS_AT_INFO;
	const char *rest = n < len ? line + n + 1 : line + len;
	size_t rn = n < len ? len - n - 1 : 0;
	while (rn && is_space(*rest)) {
		rest++;
		rn--;
	}
	out->rest = rest;
	out->rest_len = rn;
	int rc = split_args(rest, rn, out, why, whylen);
	if (rc) {
		out->kind = LPW_SMS_AT_TEXT;
		out->name[0] = '\0';
		out->nargs = 0;
	}
	return rc;
}

bool lpw_sms_at_line_is_hex(const char *line, size_t len)
{
	if (len < 2 || len % 2 || len > LPW_SMS_AT_LINE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = line[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

bool lpw_sms_at_arg_num(const lpw_sms_at_line_t *l, size_t i, long *out)
{
	if (i >= l->nargs || !l->args[i].is_num)
		return false;
	*out = l->args[i].num;
	return true;
}

bool lpw_sms_at_arg_is(const lpw_sms_at_line_t *l, size_t i, const char *text)
{
	return i < l->nargs && equals(l->args[i].s, l->args[i].len, text);
}
