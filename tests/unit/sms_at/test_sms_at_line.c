/* The AT line reader (lines, the prompt, overlong and garbled lines, any cut of the stream) and the line parser
 * (result codes, errors with their numbers and meanings, information lines and their arguments, bad input). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bindings/sms/sms_at_line.h"

struct toks {
	char text[2048];
	size_t len;
};

/* Tokens as text: L(line) P T G. */
static void on_token(void *arg, lpw_sms_at_token_t kind, const char *line, size_t len)
{
	struct toks *t = arg;
	const char *tag = kind == LPW_SMS_AT_TOKEN_LINE ? "L" : kind == LPW_SMS_AT_TOKEN_PROMPT ? "P"
							: kind == LPW_SMS_AT_TOKEN_TOO_LONG ? "T" : "G";
	assert_int_equal(strlen(line), len);
	t->len += (size_t)snprintf(t->text + t->len, sizeof(t->text) - t->len, "%s(%s)", tag, line);
}

static void feed_in_pieces(const char *stream, size_t n, size_t piece, struct toks *t)
{
	lpw_sms_at_reader_t r;
	memset(&r, 0, sizeof(r));
	lpw_sms_at_reader_init(&r);
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < n; i += piece)
		lpw_sms_at_reader_feed(&r, (const uint8_t *)stream + i, n - i < piece ? n - i : piece, on_token, t);
}

static void test_reader(void **state)
{
	const char stream[] = "\r\nOK\r\n\r\n+CMTI: \"SM\",3\r\n\n\rAT+CMGS=5\r\r\n> 0011\x1a\r\n+CMGS: 1\r\nOK\r\n";
	const char *want = "L(OK)L(+CMTI: \"SM\",3)L(AT+CMGS=5)P()L(0011\x1a)L(+CMGS: 1)L(OK)";
	struct toks t;
	/* the same tokens however the stream is cut */
	for (size_t piece = 1; piece <= sizeof(stream); piece++) {
		feed_in_pieces(stream, sizeof(stream) - 1, piece, &t);
		assert_string_equal(t.text, want);
	}
	/* a line too long is dropped whole, the next one is fine */
	char big[LPW_SMS_AT_LINE_MAX + 40];
	memset(big, 'x', sizeof(big));
	memcpy(big + sizeof(big) - 6, "\r\nOK\r\n", 6);
	feed_in_pieces(big, sizeof(big), 7, &t);
	assert_string_equal(t.text, "T()L(OK)");
	/* exactly the longest line is kept */
	memset(big, 'y', LPW_SMS_AT_LINE_MAX);
	big[LPW_SMS_AT_LINE_MAX] = '\n';
	feed_in_pieces(big, LPW_SMS_AT_LINE_MAX + 1, 100, &t);
	assert_int_equal(t.len, LPW_SMS_AT_LINE_MAX + 3);
	/* a NUL inside a line */
	static const char nul[] = {'O', 0, 'K', '\r', 'O', 'K', '\n'};
	feed_in_pieces(nul, sizeof(nul), 1, &t);
	assert_string_equal(t.text, "G()L(OK)");
	/* "> " in the middle of a line is no prompt */
	feed_in_pieces("a> b\r\n", 6, 1, &t);
	assert_string_equal(t.text, "L(a> b)");
}

static void reset_in_callback(void *arg, lpw_sms_at_token_t kind, const char *line, size_t len)
{
	lpw_sms_at_reader_t *r = arg;
	if (!strcmp(line, "STOP"))
		lpw_sms_at_reader_init(r);
	else
		fail_msg("a token after the reset: %s", line);
}

static void test_reader_reset_inside(void **state)
{
	lpw_sms_at_reader_t r;
	memset(&r, 0, sizeof(r));
	lpw_sms_at_reader_init(&r);
	const char *s = "STOP\r\nOK\r\nmore";
	lpw_sms_at_reader_feed(&r, (const uint8_t *)s, strlen(s), reset_in_callback, &r);
	assert_int_equal(r.len, 0);
}

static lpw_sms_at_line_t parse_ok(const char *line)
{
	lpw_sms_at_line_t l;
	char why[80];
	assert_int_equal(lpw_sms_at_line_parse(line, strlen(line), &l, why, sizeof(why)), 0);
	return l;
}

static void assert_arg(const lpw_sms_at_line_t *l, size_t i, const char *text, bool quoted)
{
	assert_true(i < l->nargs);
	assert_int_equal(l->args[i].len, strlen(text));
	assert_memory_equal(l->args[i].s, text, l->args[i].len);
	assert_int_equal(l->args[i].quoted, quoted);
}

static void test_finals(void **state)
{
	assert_int_equal(parse_ok("OK").kind, LPW_SMS_AT_OK);
	assert_int_equal(parse_ok("ERROR").kind, LPW_SMS_AT_ERROR);
	assert_int_equal(parse_ok("NO CARRIER").kind, LPW_SMS_AT_FINAL_OTHER);
	assert_int_equal(parse_ok("OKAY").kind, LPW_SMS_AT_TEXT);
	lpw_sms_at_line_t l = parse_ok("+CMS ERROR: 321");
	assert_int_equal(l.kind, LPW_SMS_AT_CMS_ERROR);
	assert_int_equal(l.code, 321);
	assert_string_equal(lpw_sms_at_cms_text(l.code), "invalid memory index");
	l = parse_ok("+CME ERROR: 10");
	assert_int_equal(l.kind, LPW_SMS_AT_CME_ERROR);
	assert_int_equal(l.code, 10);
	assert_string_equal(lpw_sms_at_cme_text(l.code), "SIM not inserted");
	l = parse_ok("+CME ERROR: SIM PIN required"); /* AT+CMEE=2 */
	assert_int_equal(l.kind, LPW_SMS_AT_CME_ERROR);
	assert_int_equal(l.code, -1);
	assert_int_equal(l.rest_len, strlen("SIM PIN required"));
	l = parse_ok("+CMS ERROR:");
	assert_int_equal(l.code, -1);
	/* the tables */
	assert_string_equal(lpw_sms_at_cms_text(1), "unassigned (unallocated) number");
	assert_string_equal(lpw_sms_at_cms_text(197), "SM rejected: duplicate SM");
	assert_string_equal(lpw_sms_at_cms_text(340), "no +CNMA acknowledgement expected");
	assert_string_equal(lpw_sms_at_cms_text(600), "manufacturer-specific error");
	assert_string_equal(lpw_sms_at_cms_text(77), "unknown network (RP) cause");
	assert_string_equal(lpw_sms_at_cms_text(-5), "unknown error");
	assert_string_equal(lpw_sms_at_cme_text(16), "incorrect password");
	assert_string_equal(lpw_sms_at_cme_text(150), "invalid mobile class");
	assert_string_equal(lpw_sms_at_cme_text(999), "manufacturer-specific error");
	assert_string_equal(lpw_sms_at_cme_text(99), "unknown error");
}

static void test_info(void **state)
{
	lpw_sms_at_line_t l = parse_ok("+CMTI: \"SM\",3");
	assert_int_equal(l.kind, LPW_SMS_AT_INFO);
	assert_string_equal(l.name, "+CMTI");
	assert_int_equal(l.nargs, 2);
	assert_arg(&l, 0, "SM", true);
	long v;
	assert_true(lpw_sms_at_arg_num(&l, 1, &v));
	assert_int_equal(v, 3);
	assert_false(lpw_sms_at_arg_num(&l, 0, &v)); /* quoted: never a number */
	assert_true(lpw_sms_at_arg_is(&l, 0, "SM"));

	l = parse_ok("+CMGL: 1,0,,23");
	assert_int_equal(l.nargs, 4);
	assert_arg(&l, 2, "", false);
	assert_false(lpw_sms_at_arg_num(&l, 2, &v));
	l = parse_ok("+CMT: ,24");
	assert_int_equal(l.nargs, 2);
	l = parse_ok("+CMT: \"+491701234\",24");
	assert_arg(&l, 0, "+491701234", true);
	l = parse_ok("+CPIN: SIM PIN");
	assert_int_equal(l.nargs, 1);
	assert_arg(&l, 0, "SIM PIN", false);
	assert_int_equal(l.rest_len, 7);
	l = parse_ok("+CREG: 2,1,\"1A2B\",\"00C1D2E3\",7");
	assert_int_equal(l.nargs, 5);
	l = parse_ok("+CSQ:  20 , 99 ");
	assert_true(lpw_sms_at_arg_num(&l, 0, &v) && v == 20);
	assert_true(lpw_sms_at_arg_num(&l, 1, &v) && v == 99);
	l = parse_ok("+CMGS: 1,");
	assert_int_equal(l.nargs, 2);
	l = parse_ok("+CMEE");
	assert_int_equal(l.kind, LPW_SMS_AT_INFO);
	assert_int_equal(l.nargs, 0);
	l = parse_ok("^RSSI: 5");
	assert_string_equal(l.name, "^RSSI");
	l = parse_ok("+X: -12,99999999999999999999");
	assert_true(lpw_sms_at_arg_num(&l, 0, &v) && v == -12);
	assert_false(lpw_sms_at_arg_num(&l, 1, &v)); /* does not fit */
	assert_false(lpw_sms_at_arg_num(&l, 5, &v));
	/* not information lines */
	assert_int_equal(parse_ok("+").kind, LPW_SMS_AT_TEXT);
	assert_int_equal(parse_ok("+ abc").kind, LPW_SMS_AT_TEXT);
	assert_int_equal(parse_ok("+CMTI abc").kind, LPW_SMS_AT_TEXT);
	assert_int_equal(parse_ok("07917283010010F5").kind, LPW_SMS_AT_TEXT);
}

static void assert_bad(const char *line, const char *want)
{
	lpw_sms_at_line_t l;
	char why[80];
	assert_int_equal(lpw_sms_at_line_parse(line, strlen(line), &l, why, sizeof(why)), -EBADMSG);
	assert_int_equal(l.kind, LPW_SMS_AT_TEXT);
	assert_string_equal(why, want);
}

static void test_bad_lines(void **state)
{
	assert_bad("+CMTI: \"SM,3", "an unterminated quoted string");
	assert_bad("+CMTI: \"SM\"x,3", "text after a closing quote");
	assert_bad("+X: 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "more than 16 arguments");
	assert_bad("+X: 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,", "more than 16 arguments");
	assert_bad("+ABCDEFGHIJKLMNOP: 1", "an information line name longer than 15 characters");
	/* 16 arguments are fine */
	assert_int_equal(parse_ok("+X: 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16").nargs, 16);
	/* never past len: a line that is not NUL-terminated where it ends */
	const char buf[] = "+CMTI: \"SM\",3GARBAGE";
	lpw_sms_at_line_t l;
	assert_int_equal(lpw_sms_at_line_parse(buf, 13, &l, NULL, 0), 0);
	assert_int_equal(l.nargs, 2);
	assert_true(lpw_sms_at_arg_is(&l, 1, "3"));
}

static void test_hex_lines(void **state)
{
	assert_true(lpw_sms_at_line_is_hex("0011AbCd", 8));
	assert_false(lpw_sms_at_line_is_hex("001", 3));
	assert_false(lpw_sms_at_line_is_hex("", 0));
	assert_false(lpw_sms_at_line_is_hex("00 1", 4));
	assert_false(lpw_sms_at_line_is_hex("OK", 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_reader_reset_inside),
		cmocka_unit_test(test_finals),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_hex_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
