/* libFuzzer target: what a modem writes on its AT port. The bytes go through the line reader in pieces (the first
 * byte picks the piece size) and every line through the parser: nothing may point outside its line, and a
 * refused line must say why. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/sms/sms_at_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_token(void *arg, lpw_sms_at_token_t kind, const char *line, size_t len)
{
	if (kind != LPW_SMS_AT_TOKEN_LINE)
		return;
	if (len == 0 || len > LPW_SMS_AT_LINE_MAX || strlen(line) != len)
		abort();
	lpw_sms_at_line_t l;
	char why[128] = "";
	int rc = lpw_sms_at_line_parse(line, len, &l, why, sizeof(why));
	if (rc < 0 && (rc != -EBADMSG || !why[0] || l.kind != LPW_SMS_AT_TEXT))
		abort();
	if (l.rest && (l.rest < line || l.rest + l.rest_len > line + len))
		abort();
	if (l.kind == LPW_SMS_AT_INFO) {
		if (l.nargs > LPW_SMS_AT_ARGS_MAX)
			abort();
		for (size_t i = 0; i < l.nargs; i++)
			if (l.args[i].len && (l.args[i].s < line || l.args[i].s + l.args[i].len > line + len))
				abort();
		long v;
		(void)lpw_sms_at_arg_num(&l, 0, &v);
		(void)lpw_sms_at_arg_is(&l, 0, "SM");
	}
	if (l.kind == LPW_SMS_AT_CMS_ERROR)
		(void)strlen(lpw_sms_at_cms_text(l.code));
	if (l.kind == LPW_SMS_AT_CME_ERROR)
		(void)strlen(lpw_sms_at_cme_text(l.code));
	(void)lpw_sms_at_line_is_hex(line, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (size_t)data[0] % 17 + 1;
	lpw_sms_at_reader_t r;
	lpw_sms_at_reader_init(&r);
	for (size_t off = 1; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		lpw_sms_at_reader_feed(&r, data + off, n, on_token, NULL);
	}
	return 0;
}
