/* GPIO pulse: no hardware here, so the error paths: a missing chip is reported with its name, never a crash. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hal/gpio.h"

/* Runs the pulse with stderr captured into out. */
static int pulse_capturing(const char *chip, char *out, size_t cap)
{
	int p[2];
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	int saved = dup(STDERR_FILENO);
	assert_true(dup2(p[1], STDERR_FILENO) >= 0);
	int rc = lpw_gpio_pulse(chip, 3, true, 1);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(p[1]);
	ssize_t n = read(p[0], out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
	close(p[0]);
	return rc;
}

static void test_missing_chip(void **state)
{
	char log[2048];
	int rc = pulse_capturing("lpw-no-such-gpiochip", log, sizeof(log));
	assert_true(rc == -ENOENT || rc == -ENODEV);
	assert_non_null(strstr(log, "GPIO chip \"lpw-no-such-gpiochip\""));
	rc = pulse_capturing("/dev/lpw-no-such-gpiochip", log, sizeof(log));
	assert_true(rc == -ENOENT || rc == -ENODEV);
	assert_non_null(strstr(log, "/dev/lpw-no-such-gpiochip"));
	/* a file that is not a GPIO chip */
	rc = pulse_capturing("/dev/null", log, sizeof(log));
	assert_true(rc < 0);
	assert_non_null(strstr(log, "GPIO chip \"/dev/null\""));
}

static void test_no_name(void **state)
{
	assert_int_equal(lpw_gpio_pulse(NULL, 0, false, 1), -EINVAL);
	assert_int_equal(lpw_gpio_pulse("", 0, false, 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_chip),
		cmocka_unit_test(test_no_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
