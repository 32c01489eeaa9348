/* GPIO lines (libgpiod v1): the reset/power pulse a LoRa concentrator needs before its forwarder starts. */
#ifndef LPW_HAL_GPIO_H
#define LPW_HAL_GPIO_H

#include <stdbool.h>

/* Drives line `line` of chip to its active level for pulse_ms, then back to inactive, then releases it.
 * chip: "gpiochip0", "0" or "/dev/gpiochip0" (borrowed for the call). active_low: the line is active at
 * 0 V (most reset inputs). BLOCKS for pulse_ms (capped at 10 000): meant to be called once at start,
 * before the loop runs, where a few hundred milliseconds of sleep harm nobody. Never from a callback.
 * Returns 0, or -ENOENT / -ENODEV (no such chip), -EINVAL (no such line on it), -EBUSY (line in use),
 * -EACCES, or another -errno from libgpiod; every failure is logged with the chip and line. */
int lpw_gpio_pulse(const char *chip, unsigned line, bool active_low, unsigned pulse_ms)
	__attribute__((warn_unused_result));

/* A line held as an output, for a pulse timed by the loop instead of a sleep (a modem's reset while the daemon
 * runs: hal/serial). lpw_gpio_line_open takes it at its inactive level, so taking it causes no glitch; *out is
 * the handle (close with lpw_gpio_line_close, which accepts NULL and releases the line). chip borrowed for the
 * call. Errors as lpw_gpio_pulse's, logged with the chip and line; *out is NULL then. */
typedef struct lpw_gpio_line lpw_gpio_line_t;
int lpw_gpio_line_open(const char *chip, unsigned line, bool active_low, lpw_gpio_line_t **out)
	__attribute__((warn_unused_result));
/* Drives the line active (true) or inactive. 0 or -errno (logged). */
int lpw_gpio_line_set(lpw_gpio_line_t *l, bool active);
void lpw_gpio_line_close(lpw_gpio_line_t *l);

#endif
