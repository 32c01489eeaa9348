/* One JSON object per stdout line, flushed at once so a test reading the pipe sees events immediately. */
#include "tools/lwm2m-test-server/emit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lpw_emit_mirror_cb mirror_cb;
static void *mirror_arg;

void lpw_emit_set_mirror(lpw_emit_mirror_cb cb, void *arg)
{
	mirror_cb = cb;
	mirror_arg = arg;
}

int lpw_emit(json_t *obj)
{
	if (!obj)
		return -ENOMEM;
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (!text)
		return -ENOMEM;
	size_t len = strlen(text);
	int rc = 0;
	if (fprintf(stdout, "%s\n", text) < 0 || fflush(stdout) != 0)
		rc = -EIO;
	if (mirror_cb) {
		/* Reuse the buffer for the mirror: replace the NUL by the newline the line needs. */
		text[len] = '\n';
		mirror_cb(text, len + 1, mirror_arg);
	}
	free(text);
	return rc;
}

/* Length of the UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, max U+10FFFF), 0 if invalid. */
static size_t utf8_seq(const uint8_t *s, size_t left)
{
	uint8_t c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static bool printable_text(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint8_t c = buf[i];
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
			return false;
		size_t n = utf8_seq(buf + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

json_t *lpw_emit_hex(const uint8_t *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *text = malloc(len * 2 + 1);
	if (!text)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		text[2 * i] = digits[buf[i] >> 4];
		text[2 * i + 1] = digits[buf[i] & 0xf];
	}
	json_t *s = json_stringn(text, len * 2);
	free(text);
	return s;
}

json_t *lpw_emit_payload(const uint8_t *buf, size_t len)
{
	if (len == 0)
		return json_string("");
	if (printable_text(buf, len))
		return json_stringn((const char *)buf, len);
	return lpw_emit_hex(buf, len);
}

void lpw_emit_code(uint8_t code, char out[5])
{
	snprintf(out, 5, "%u.%02u", (unsigned)(code >> 5) & 7u, (unsigned)code & 31u);
}
