/* hal/serial against a pseudo-terminal as the "modem": bytes both ways, the modem vanishing (its path removed, its
 * pty closed) and coming back under the same path, reopening with back-off on the fake clock, resets with and
 * without a usable reset line. */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/log.h"
#include "hal/serial.h"

struct env {
	lpw_clock_t *clk;
	lpw_loop_t *loop;
	lpw_serial_t *s;
	char dir[64], link[96];
	int master;
	char got[4096];
	size_t got_len;
	int opens, closes;
	bool open;
};

static void on_data(void *arg, const uint8_t *data, size_t len)
{
	struct env *e = arg;
	assert_true(e->got_len + len < sizeof(e->got));
	memcpy(e->got + e->got_len, data, len);
	e->got_len += len;
	e->got[e->got_len] = '\0';
}

static void on_state(void *arg, bool open)
{
	struct env *e = arg;
	open ? e->opens++ : e->closes++;
	e->open = open;
}

/* A new pty whose slave the symlink names; only the port under test will hold the slave open. */
static void modem_appear(struct env *e)
{
	int slave;
	char name[64];
	assert_int_equal(openpty(&e->master, &slave, name, NULL, NULL), 0);
	close(slave);
	assert_int_equal(fcntl(e->master, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(symlink(name, e->link), 0);
}

static void modem_vanish(struct env *e)
{
	close(e->master);
	e->master = -1;
	assert_int_equal(unlink(e->link), 0);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	lpw_log_setup(LOG_ERR, LPW_LOG_TO_STDERR, "test");
	snprintf(e->dir, sizeof(e->dir), "/tmp/lpw-serial-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->link, sizeof(e->link), "%s/modem", e->dir);
	e->clk = lpw_clock_new_fake(0);
	e->loop = lpw_loop_new(e->clk);
	e->master = -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	lpw_serial_free(e->s);
	if (e->master >= 0)
		modem_vanish(e);
	rmdir(e->dir);
	lpw_loop_free(e->loop);
	lpw_clock_free(e->clk);
	free(e);
	return 0;
}

static void make(struct env *e, const char *chip)
{
	lpw_serial_config_t cfg = {.path = e->link, .baud = 115200, .retry_min_ms = 1000, .retry_max_ms = 4000,
				   .reset_chip = chip, .reset_line = 5, .reset_pulse_ms = 50, .reset_settle_ms = 3000};
	lpw_serial_hooks_t h = {.data = on_data, .state = on_state, .arg = e};
	e->s = lpw_serial_new(e->loop, &cfg, &h);
	assert_non_null(e->s);
	assert_int_equal(e->opens, 0); /* never from inside new */
}

/* Runs the loop (real waits of at most 20 ms, the fake clock still) until cond holds; false after ~2 s. */
#define RUN_UNTIL(e, cond)                                                                                             \
	do {                                                                                                           \
		int n_ = 0;                                                                                            \
		while (!(cond) && n_++ < 100)                                                                          \
			lpw_loop_run_once((e)->loop, 20);                                                              \
		assert_true(cond);                                                                                     \
	} while (0)

static void advance(struct env *e, int64_t ms)
{
	assert_int_equal(lpw_clock_advance(e->clk, ms), 0);
	lpw_loop_run_once(e->loop, 0);
}

static void modem_says(struct env *e, const char *text)
{
	assert_int_equal(write(e->master, text, strlen(text)), (ssize_t)strlen(text));
}

/* Reads what the port wrote to the modem until want has arrived. */
static void modem_hears(struct env *e, const char *want)
{
	char buf[256];
	size_t n = 0, w = strlen(want);
	for (int i = 0; i < 100 && n < w; i++) {
		ssize_t r = read(e->master, buf + n, sizeof(buf) - 1 - n);
		if (r > 0)
			n += (size_t)r;
		else
			lpw_loop_run_once(e->loop, 20);
	}
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_bytes_both_ways(void **state)
{
	struct env *e = *state;
	modem_appear(e);
	make(e, NULL);
	assert_false(lpw_serial_is_open(e->s));
	assert_int_equal(lpw_serial_write(e->s, (const uint8_t *)"x", 1), -ENOTCONN);
	RUN_UNTIL(e, e->open);
	assert_int_equal(e->opens, 1);
	assert_string_equal(lpw_serial_path(e->s), e->link);
	assert_int_equal(lpw_serial_write(e->s, (const uint8_t *)"AT\r", 3), 0);
	modem_hears(e, "AT\r"); /* raw: no CR to NL translation, no echo */
	modem_says(e, "\r\nOK\r\n");
	RUN_UNTIL(e, e->got_len == 6);
	assert_string_equal(e->got, "\r\nOK\r\n");
	/* bounded output */
	uint8_t big[5000] = {0};
	assert_int_equal(lpw_serial_write(e->s, big, sizeof(big)), -ENOBUFS);
	lpw_serial_counters_t c;
	lpw_serial_get_counters(e->s, &c);
	assert_int_equal(c.bytes_out, 3);
	assert_int_equal(c.bytes_in, 6);
	assert_int_equal(c.overflows, 1);
}

/* USB re-enumeration: the device goes (hang-up, path gone), the port retries with back-off, the device comes back
 * under the same path and the port opens it again. */
static void test_vanish_and_return(void **state)
{
	struct env *e = *state;
	modem_appear(e);
	make(e, NULL);
	RUN_UNTIL(e, e->open);
	modem_vanish(e);
	RUN_UNTIL(e, !e->open);
	assert_int_equal(e->closes, 1);
	assert_int_equal(lpw_serial_write(e->s, (const uint8_t *)"AT\r", 3), -ENOTCONN);
	lpw_serial_counters_t c;
	/* back-off: 1 s, then 1, 2, 4, 4 s (the cap) */
	advance(e, 1000);
	lpw_serial_get_counters(e->s, &c);
	assert_int_equal(c.open_failures, 1);
	advance(e, 1000);
	advance(e, 1999);
	lpw_serial_get_counters(e->s, &c);
	assert_int_equal(c.open_failures, 2);
	advance(e, 1);
	lpw_serial_get_counters(e->s, &c);
	assert_int_equal(c.open_failures, 3);
	advance(e, 4000);
	advance(e, 4000);
	lpw_serial_get_counters(e->s, &c);
	assert_int_equal(c.open_failures, 5);
	assert_int_equal(c.losses, 1);
	modem_appear(e);
	advance(e, 4000);
	assert_true(e->open);
	assert_int_equal(e->opens, 2);
	modem_says(e, "RDY\r\n");
	RUN_UNTIL(e, strstr(e->got, "RDY"));
	assert_int_equal(lpw_serial_write(e->s, (const uint8_t *)"ATE0\r", 5), 0);
	modem_hears(e, "ATE0\r");
	/* and a second loss starts from the shortest delay again */
	modem_vanish(e);
	RUN_UNTIL(e, !e->open);
	modem_appear(e);
	advance(e, 1000);
	assert_true(e->open);
}

/* Reset without a line: closed at once (the hook says so before reset returns), reopened after settling. */
static void test_reset_reopen(void **state)
{
	struct env *e = *state;
	modem_appear(e);
	make(e, NULL);
	RUN_UNTIL(e, e->open);
	assert_int_equal(lpw_serial_reset(e->s), 0);
	assert_false(e->open);
	assert_int_equal(lpw_serial_reset(e->s), -EALREADY);
	advance(e, 2999);
	assert_false(e->open);
	advance(e, 1);
	assert_true(e->open);
	lpw_serial_counters_t c;
	lpw_serial_get_counters(e->s, &c);
	assert_int_equal(c.resets, 1);
	assert_int_equal(c.pulses, 0);
}

/* A reset line that cannot be had (no such chip here): logged, and the reset is a close and reopen all the same. */
static void test_reset_line_missing(void **state)
{
	struct env *e = *state;
	modem_appear(e);
	make(e, "lpw-no-such-gpiochip");
	RUN_UNTIL(e, e->open);
	assert_int_equal(lpw_serial_reset(e->s), 0);
	assert_false(e->open);
	advance(e, 3000);
	assert_true(e->open);
	lpw_serial_counters_t c;
	lpw_serial_get_counters(e->s, &c);
	assert_int_equal(c.pulses, 0);
	/* a reset while closed works too */
	modem_vanish(e);
	RUN_UNTIL(e, !e->open);
	int closes = e->closes;
	assert_int_equal(lpw_serial_reset(e->s), 0);
	assert_int_equal(e->closes, closes); /* nothing was open to close */
	modem_appear(e);
	advance(e, 3000);
	assert_true(e->open);
}

static void test_bad_config(void **state)
{
	struct env *e = *state;
	assert_true(lpw_serial_baud_valid(9600));
	assert_true(lpw_serial_baud_valid(921600));
	assert_false(lpw_serial_baud_valid(12345));
	assert_false(lpw_serial_baud_valid(0));
	lpw_serial_config_t cfg = {.path = "/dev/null", .baud = 12345};
	assert_null(lpw_serial_new(e->loop, &cfg, NULL));
	cfg.path = "";
	cfg.baud = 9600;
	assert_null(lpw_serial_new(e->loop, &cfg, NULL));
	/* not a terminal: refused, retried */
	cfg.path = "/dev/null";
	lpw_serial_hooks_t h = {.state = on_state, .arg = e};
	e->s = lpw_serial_new(e->loop, &cfg, &h);
	assert_non_null(e->s);
	advance(e, 0);
	assert_false(e->open);
	lpw_serial_counters_t c;
	lpw_serial_get_counters(e->s, &c);
	assert_int_equal(c.open_failures, 1);
	lpw_serial_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bytes_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vanish_and_return, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_line_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
