/* unit_tool_common: the shared tool parsers on good and bad input; the line reader over a pipe on a real loop. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/loop.h"
#include "tools/common/line_reader.h"
#include "tools/common/parse.h"
#include "tools/common/xorshift.h"

static void test_parse_fail(void **state)
{
	char why[8];
	assert_int_equal(lpw_parse_fail(why, sizeof(why), "bad %d", 12345678), -EINVAL);
	assert_string_equal(why, "bad 123"); /* cut, still terminated */
	assert_int_equal(lpw_parse_fail(NULL, 0, "x"), -EINVAL);
}

static void test_parse_uint(void **state)
{
	unsigned long v;
	assert_int_equal(lpw_parse_uint("4096", 4096, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(lpw_parse_uint("0", 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(lpw_parse_uint("4097", 4096, &v), -EINVAL);
	assert_int_equal(lpw_parse_uint("", 10, &v), -EINVAL);
	assert_int_equal(lpw_parse_uint("12x", 100, &v), -EINVAL);
	assert_int_equal(lpw_parse_uint("-1", 100, &v), -EINVAL);
	assert_int_equal(lpw_parse_uint("99999999999999999999999", (unsigned long)-1, &v), -EINVAL);
}

static void test_parse_double(void **state)
{
	double v;
	assert_int_equal(lpw_parse_double("1.5", 0, 86400, &v), 0);
	assert_true(v == 1.5);
	assert_int_equal(lpw_parse_double("0", 0, 1, &v), 0);
	assert_true(v == 0.0);
	assert_int_equal(lpw_parse_double("1", 0, 1, &v), 0); /* both ends are in */
	assert_int_equal(lpw_parse_double("1.01", 0, 1, &v), -EINVAL);
	assert_int_equal(lpw_parse_double("-0.1", 0, 1, &v), -EINVAL);
	assert_int_equal(lpw_parse_double("nan", 0, 1, &v), -EINVAL);
	assert_int_equal(lpw_parse_double("", 0, 1, &v), -EINVAL);
	assert_int_equal(lpw_parse_double("0.5s", 0, 1, &v), -EINVAL);
}

static void test_parse_host_port(void **state)
{
	const char *host;
	uint16_t port;
	char a[] = "127.0.0.1:5683", b[] = "[::1]:1700", c[] = "localhost", d[] = "h:0", e[] = "h:65536", f[] = "h:";
	assert_int_equal(lpw_parse_host_port(a, &host, &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 5683);
	assert_int_equal(lpw_parse_host_port(b, &host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 1700);
	assert_int_equal(lpw_parse_host_port(c, &host, &port), -EINVAL);
	assert_int_equal(lpw_parse_host_port(d, &host, &port), -EINVAL);
	assert_int_equal(lpw_parse_host_port(e, &host, &port), -EINVAL);
	assert_int_equal(lpw_parse_host_port(f, &host, &port), -EINVAL);
}

static void test_parse_hex(void **state)
{
	uint8_t out[4] = {0};
	size_t n = 99;
	assert_int_equal(lpw_parse_hex("0aFf10", 6, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[0], 0x0a);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(out[2], 0x10);
	assert_int_equal(lpw_parse_hex("0102:zz", 4, out, sizeof(out), &n), 0); /* stops after n characters */
	assert_int_equal(n, 2);
	assert_int_equal(lpw_parse_hex("", 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(lpw_parse_hex_digit('7'), 7);
	assert_int_equal(lpw_parse_hex_digit('b'), 11);
	assert_int_equal(lpw_parse_hex_digit('F'), 15);
	assert_int_equal(lpw_parse_hex_digit('g'), -1);
	assert_int_equal(lpw_parse_hex_digit('\0'), -1);
	n = 7;
	assert_int_equal(lpw_parse_hex("abc", 3, out, sizeof(out), &n), -EINVAL); /* odd */
	assert_int_equal(lpw_parse_hex("0g", 2, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(lpw_parse_hex(" 1", 2, out, sizeof(out), &n), -EINVAL);  /* strtoul would skip the space */
	assert_int_equal(lpw_parse_hex("+1", 2, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(lpw_parse_hex("0102030405", 10, out, sizeof(out), &n), -EINVAL); /* over cap */
	assert_int_equal(n, 7);                                                          /* untouched on failure */
}

static void test_xorshift(void **state)
{
	uint32_t s = 1;
	/* 1 -> 1 ^ 1<<13 = 0x2001; ^ >>17 = 0x2001; ^ <<5 = 0x42021 */
	assert_int_equal(lpw_xorshift32(&s), 0x42021);
	assert_int_equal(s, 0x42021);
	uint32_t t = 1;
	(void)lpw_xorshift32(&t);
	assert_int_equal(lpw_xorshift32(&s), lpw_xorshift32(&t)); /* deterministic per seed */
}

/* The line reader over a pipe: what each callback saw. */
struct lines {
	char got[8][64];
	bool too_long[8];
	int count, eofs;
	lpw_line_reader_t *r;
	bool free_on_line; /* free the reader from the first line callback */
};

static void on_line(const char *line, bool too_long, void *arg)
{
	struct lines *l = arg;
	assert_true(l->count < 8);
	snprintf(l->got[l->count], sizeof(l->got[0]), "%s", line);
	l->too_long[l->count++] = too_long;
	if (l->free_on_line) {
		lpw_line_reader_free(l->r);
		l->r = NULL;
	}
}

static void on_eof(void *arg)
{
	struct lines *l = arg;
	l->eofs++;
	lpw_line_reader_free(l->r);
	l->r = NULL;
}

struct pipe_fixture {
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	int fds[2];
};

static int pipe_setup(void **state)
{
	struct pipe_fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->clock = lpw_clock_new_fake(0);
	f->loop = lpw_loop_new(f->clock);
	assert_non_null(f->loop);
	assert_int_equal(pipe(f->fds), 0);
	*state = f;
	return 0;
}

static int pipe_teardown(void **state)
{
	struct pipe_fixture *f = *state;
	if (f->fds[0] >= 0)
		close(f->fds[0]);
	if (f->fds[1] >= 0)
		close(f->fds[1]);
	lpw_loop_free(f->loop);
	lpw_clock_free(f->clock);
	free(f);
	return 0;
}

static void put(struct pipe_fixture *f, const char *s)
{
	assert_int_equal(write(f->fds[1], s, strlen(s)), (ssize_t)strlen(s));
	assert_true(lpw_loop_run_once(f->loop, 1000) >= 1);
}

static void test_line_reader_lines(void **state)
{
	struct pipe_fixture *f = *state;
	struct lines l = {0};
	l.r = lpw_line_reader_new(f->loop, f->fds[0], 9, on_line, on_eof, &l); /* "register\r" just fits */
	assert_non_null(l.r);
	put(f, "regis");
	assert_int_equal(l.count, 0); /* an incomplete line waits */
	put(f, "ter\r\n\nsend /3\n");
	assert_int_equal(l.count, 3);
	assert_string_equal(l.got[0], "register"); /* '\r' removed */
	assert_false(l.too_long[0]);
	assert_string_equal(l.got[1], "");
	assert_string_equal(l.got[2], "send /3");
	put(f, "123456789abc");
	put(f, "def\nok\n");
	assert_int_equal(l.count, 5);
	assert_true(l.too_long[3]); /* dropped up to its newline, not cut into two commands */
	assert_string_equal(l.got[3], "");
	assert_string_equal(l.got[4], "ok");
	close(f->fds[1]);
	f->fds[1] = -1;
	assert_int_equal(lpw_loop_run_once(f->loop, 1000), 1);
	assert_int_equal(l.eofs, 1);
	assert_null(l.r);                                   /* on_eof freed it */
	assert_int_equal(lpw_loop_run_once(f->loop, 0), 0); /* and the fd is no longer watched */
}

static void test_line_reader_free_in_callback(void **state)
{
	struct pipe_fixture *f = *state;
	struct lines l = {.free_on_line = true};
	l.r = lpw_line_reader_new(f->loop, f->fds[0], 16, on_line, NULL, &l);
	assert_non_null(l.r);
	put(f, "one\ntwo\n");
	assert_int_equal(l.count, 1); /* nothing after the free, and no use after free (ASan) */
	assert_string_equal(l.got[0], "one");
	assert_int_equal(lpw_loop_run_once(f->loop, 0), 0);
}

static void test_line_reader_refuses(void **state)
{
	struct pipe_fixture *f = *state;
	struct lines l = {0};
	assert_null(lpw_line_reader_new(f->loop, -1, 8, on_line, NULL, &l));
	assert_int_equal(errno, EINVAL);
	assert_null(lpw_line_reader_new(f->loop, f->fds[0], 0, on_line, NULL, &l));
	FILE *tmp = tmpfile(); /* epoll cannot watch a regular file */
	assert_non_null(tmp);
	assert_null(lpw_line_reader_new(f->loop, fileno(tmp), 8, on_line, NULL, &l));
	assert_int_equal(errno, EPERM);
	fclose(tmp);
	lpw_line_reader_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fail),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_parse_double),
		cmocka_unit_test(test_parse_host_port),
		cmocka_unit_test(test_parse_hex),
		cmocka_unit_test(test_xorshift),
		cmocka_unit_test_setup_teardown(test_line_reader_lines, pipe_setup, pipe_teardown),
		cmocka_unit_test_setup_teardown(test_line_reader_free_in_callback, pipe_setup, pipe_teardown),
		cmocka_unit_test_setup_teardown(test_line_reader_refuses, pipe_setup, pipe_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
