/* GPIO reset/power pulse over libgpiod v1 (Debian 12 ships 1.6). */
#include "hal/gpio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gpiod.h>

#include "core/log.h"

#define MOD "gpio"
#define MAX_PULSE_MS 10000 /* a reset pulse is milliseconds; anything longer is a configuration slip */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* libgpiod reports through errno; keep a sane value if it left none. */
static int gpio_err(void)
{
	return errno ? -errno : -EIO;
}

int lpw_gpio_pulse(const char *chip, unsigned line, bool active_low, unsigned pulse_ms)
{
	if (!chip || !*chip)
		return -EINVAL;
	errno = 0;
	struct gpiod_chip *c = gpiod_chip_open_lookup(chip);
	if (!c) {
		int rc = gpio_err();
		LPW_ERR(MOD, "GPIO chip \"%s\": %s", chip, strerror(-rc));
		return rc;
	}
	int rc = 0;
	struct gpiod_line *l = gpiod_chip_get_line(c, line);
	if (!l) {
		rc = gpio_err();
		LPW_ERR(MOD, "GPIO chip \"%s\" line %u: %s", chip, line, strerror(-rc));
		goto out;
	}
	int flags = active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
	/* Requested at the inactive level, so taking the line causes no glitch of its own. */
	if (gpiod_line_request_output_flags(l, "lpwagw", flags, 0) < 0) {
		rc = gpio_err();
		LPW_ERR(MOD, "GPIO chip \"%s\" line %u: cannot take it as output: %s", chip, line, strerror(-rc));
		goto out;
	}
	if (gpiod_line_set_value(l, 1) < 0) {
		rc = gpio_err();
		LPW_ERR(MOD, "GPIO chip \"%s\" line %u: cannot set it: %s", chip, line, strerror(-rc));
		goto release;
	}
	sleep_ms(pulse_ms < MAX_PULSE_MS ? pulse_ms : MAX_PULSE_MS);
	if (gpiod_line_set_value(l, 0) < 0) {
		rc = gpio_err();
		LPW_ERR(MOD, "GPIO chip \"%s\" line %u: cannot clear it: %s", chip, line, strerror(-rc));
	}
	else
		LPW_INFO(MOD, "pulsed GPIO chip \"%s\" line %u for %u ms", chip, line, pulse_ms);
release:
	gpiod_line_release(l);
out:
	gpiod_chip_close(c);
	return rc;
}

/* --- a line held open, for pulses the loop times --- */

struct lpw_gpio_line {
	struct gpiod_chip *chip;
	struct gpiod_line *line;
	char name[64];
	unsigned offset;
};

int lpw_gpio_line_open(const char *chip, unsigned line, bool active_low, lpw_gpio_line_t **out)
{
	*out = NULL;
	if (!chip || !*chip)
		return -EINVAL;
	lpw_gpio_line_t *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	snprintf(l->name, sizeof(l->name), "%s", chip);
	l->offset = line;
	errno = 0;
	int rc = 0;
	l->chip = gpiod_chip_open_lookup(chip);
	if (!l->chip) {
		rc = gpio_err();
		LPW_ERR(MOD, "GPIO chip \"%s\": %s", chip, strerror(-rc));
	} else if (!(l->line = gpiod_chip_get_line(l->chip, line))) {
		rc = gpio_err();
		LPW_ERR(MOD, "GPIO chip \"%s\" line %u: %s", chip, line, strerror(-rc));
	} else if (gpiod_line_request_output_flags(l->line, "lpwagw", active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0,
						   0) < 0) {
		rc = gpio_err();
		l->line = NULL; /* not ours to release */
		LPW_ERR(MOD, "GPIO chip \"%s\" line %u: cannot take it as output: %s", chip, line, strerror(-rc));
	}
	if (rc) {
		lpw_gpio_line_close(l);
		return rc;
	}
	*out = l;
	return 0;
}

int lpw_gpio_line_set(lpw_gpio_line_t *l, bool active)
{
	if (gpiod_line_set_value(l->line, active ? 1 : 0) == 0)
		return 0;
	int rc = gpio_err();
	LPW_ERR(MOD, "GPIO chip \"%s\" line %u: cannot %s it: %s", l->name, l->offset, active ? "set" : "clear",
		strerror(-rc));
	return rc;
}

void lpw_gpio_line_close(lpw_gpio_line_t *l)
{
	if (!l)
		return;
	if (l->line)
		gpiod_line_release(l->line);
	if (l->chip)
		gpiod_chip_close(l->chip);
	free(l);
}
