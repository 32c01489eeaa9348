/* A serial port on the loop: termios raw mode, non-blocking, a device path and speed from the configuration. It
 * survives the device disappearing and coming back (USB re-enumeration: the path vanishes and reappears): a read
 * error or hang-up closes the port, and opening is retried with back-off on the loop's clock. It can pulse a reset
 * or power line (libgpiod) when asked to: whoever speaks over the port decides when; no protocol decisions here. */
#ifndef LPW_HAL_SERIAL_H
#define LPW_HAL_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

typedef struct lpw_serial lpw_serial_t;

typedef struct {
	const char *path;         /* e.g. /dev/serial/by-id/usb-...-if02 (stable across re-enumeration); copied */
	unsigned baud;            /* one of the termios speeds 1200 .. 4000000 (lpw_serial_baud_valid) */
	uint32_t retry_min_ms;    /* first reopen delay after a loss or a failed open; 0 = 1000 */
	uint32_t retry_max_ms;    /* the back-off doubles up to this; 0 = 30000 */
	size_t out_max;           /* bytes waiting to be written; 0 = 4096 */
	const char *reset_chip;   /* reset/power line: "gpiochip0", "0" or "/dev/gpiochip0"; NULL = none; copied */
	unsigned reset_line;
	bool reset_active_low;
	uint32_t reset_pulse_ms;  /* 0 = 100 */
	uint32_t reset_settle_ms; /* after a reset, before the first reopen (the modem boots); 0 = 5000 */
} lpw_serial_config_t;

/* Called from the loop, never from inside lpw_serial_new or lpw_serial_write. Pointers borrowed for the call. A hook
 * may call lpw_serial_write and lpw_serial_reset; it must not free the port. */
typedef struct {
	void (*data)(void *arg, const uint8_t *data, size_t len); /* bytes received */
	/* The port opened (true) or was closed (false): lost (read error, hang-up), reset, or freed (not called). */
	void (*state)(void *arg, bool open);
	void *arg;
} lpw_serial_hooks_t;

/* Monotonic. */
typedef struct {
	uint64_t opens, open_failures, losses, resets, pulses;
	uint64_t bytes_in, bytes_out, overflows; /* overflows: writes refused because out_max was reached */
} lpw_serial_counters_t;

/* Whether baud is a speed termios knows. */
bool lpw_serial_baud_valid(unsigned baud);

/* loop borrowed (must outlive the port); cfg and hooks copied. The first open is tried from the loop at once (so
 * the state hook never runs inside this call). NULL on an invalid baud rate or allocation failure (logged). */
lpw_serial_t *lpw_serial_new(lpw_loop_t *loop, const lpw_serial_config_t *cfg, const lpw_serial_hooks_t *hooks);
/* Closes the port and releases the line; no hook runs. Accepts NULL. */
void lpw_serial_free(lpw_serial_t *s);

/* Queues bytes (copied) for the port: written now if it takes them, else when it can. 0, or -ENOTCONN (closed),
 * -ENOBUFS (out_max would be exceeded: nothing queued). A write error closes the port from the loop shortly after
 * (the state hook is never called from inside this function). */
int lpw_serial_write(lpw_serial_t *s, const uint8_t *data, size_t len) __attribute__((warn_unused_result));

/* The peer stopped answering: closes the port now (the state hook says false before this returns), pulses the
 * reset line if one is configured (timed by the loop, never a sleep), and reopens after reset_settle_ms. Without a
 * line it is a close and reopen: dropping DTR resets many modems. 0, or -EALREADY while a reset is under way. */
int lpw_serial_reset(lpw_serial_t *s);

bool lpw_serial_is_open(const lpw_serial_t *s);
const char *lpw_serial_path(const lpw_serial_t *s); /* borrowed from s */
void lpw_serial_get_counters(const lpw_serial_t *s, lpw_serial_counters_t *out);

#endif
