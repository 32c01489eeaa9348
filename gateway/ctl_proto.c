/* The control socket's request parser: outside input (any local peer that is allowed), so strict and bounded. */
#include "gateway/ctl_proto.h"

#include <errno.h>
#include <string.h>

static const struct {
	const char *name;
	bool takes_id;
} verbs[] = {
	[LPW_CTL_STATUS] = {"status", false},       [LPW_CTL_DEVICES] = {"devices", false},
	[LPW_CTL_DEVICE] = {"device", true},        [LPW_CTL_QUEUE] = {"queue", true},
	[LPW_CTL_FLUSH] = {"flush", true},          [LPW_CTL_RESET_SESSION] = {"reset-session", true},
	[LPW_CTL_RELOAD] = {"reload", false},
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

const char *lpw_ctl_verb_name(lpw_ctl_verb_t verb)
{
	return (unsigned)verb < NVERBS ? verbs[verb].name : NULL;
}

bool lpw_ctl_verb_takes_id(lpw_ctl_verb_t verb)
{
	return (unsigned)verb < NVERBS && verbs[verb].takes_id;
}

static int verb_find(const char *name, size_t len, lpw_ctl_verb_t *out)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (strlen(verbs[i].name) == len && memcmp(verbs[i].name, name, len) == 0) {
			*out = (lpw_ctl_verb_t)i;
			return 0;
		}
	return -ENOENT;
}

int lpw_ctl_verb_find(const char *name, lpw_ctl_verb_t *out)
{
	return verb_find(name, strlen(name), out);
}

/* The configuration's id rule (config/config.c lpw_config_check_name): A-Z a-z 0-9 . _ - */
static bool id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '-';
}

/* Splits line into at most 3 words separated by single spaces. Returns the number of words, or -1. */
static int split(const char *line, size_t len, const char *word[3], size_t wlen[3])
{
	int n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (i == start || n == 3)
			return -1; /* empty word (double, leading or trailing space) or too many */
		word[n] = line + start;
		wlen[n++] = i - start;
		start = i + 1;
	}
	return n;
}

int lpw_ctl_parse(const char *line, size_t len, lpw_ctl_cmd_t *out, const char **out_why)
{
	const char *word[3];
	size_t wlen[3];
	*out_why = NULL;
	if (len == 0)
		return *out_why = "empty request; expected \"<text|json> <command> [<device id>]\"", -EINVAL;
	if (len > LPW_CTL_LINE_MAX)
		return *out_why = "request longer than 256 bytes", -EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
			return *out_why = "request holds a control or non-ASCII character", -EINVAL;
	int n = split(line, len, word, wlen);
	if (n < 2)
		return *out_why = "expected \"<text|json> <command> [<device id>]\" separated by single spaces", -EINVAL;
	memset(out, 0, sizeof(*out));
	if (wlen[0] == 4 && memcmp(word[0], "json", 4) == 0)
		out->json = true;
	else if (!(wlen[0] == 4 && memcmp(word[0], "text", 4) == 0))
		return *out_why = "unknown format; expected text or json", -EINVAL;
	if (verb_find(word[1], wlen[1], &out->verb) < 0)
		return *out_why = "unknown command; expected status, devices, device, queue, flush, reset-session or "
		                  "reload", -EINVAL;
	if (verbs[out->verb].takes_id != (n == 3))
		return *out_why = verbs[out->verb].takes_id ? "this command needs a device id"
		                                            : "this command takes no argument", -EINVAL;
	if (n == 3) {
		if (wlen[2] > LPW_CTL_ARG_MAX)
			return *out_why = "device id longer than 64 characters", -EINVAL;
		for (size_t i = 0; i < wlen[2]; i++)
			if (!id_char(word[2][i]))
				return *out_why = "device id holds a character other than A-Z a-z 0-9 . _ -", -EINVAL;
		memcpy(out->arg, word[2], wlen[2]);
	}
	return 0;
}
