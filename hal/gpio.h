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

#endif
