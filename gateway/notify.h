/* systemd service notifications (sd_notify protocol): READY=1, STATUS=, RELOADING=1, STOPPING=1 and the watchdog.
 * Outside systemd ($NOTIFY_SOCKET unset) lpw_notify_new() returns NULL and every call is a harmless no-op. */
#ifndef LPW_NOTIFY_H
#define LPW_NOTIFY_H

#include "core/loop.h"

typedef struct lpw_notify lpw_notify_t;

/* Reads $NOTIFY_SOCKET ('/' path or '@' abstract name) and $WATCHDOG_USEC/$WATCHDOG_PID, then unsets them.
 * loop: borrowed, must outlive the notifier (it carries the watchdog timer). NULL when not under systemd or on
 * error (logged). */
lpw_notify_t *lpw_notify_new(lpw_loop_t *loop);
/* Accepts NULL; disarms the watchdog. */
void lpw_notify_free(lpw_notify_t *n);

/* One datagram of newline-separated VAR=value assignments, e.g. "READY=1\nSTATUS=running". 0 (also when n is
 * NULL) or -errno (logged once at debug: systemd may be gone during shutdown). */
int lpw_notify_send(lpw_notify_t *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sends RELOADING=1 with MONOTONIC_USEC (what Type=notify-reload needs too) and the status. */
int lpw_notify_reloading(lpw_notify_t *n, const char *status);

/* Arms a loop timer sending WATCHDOG=1 every half of $WATCHDOG_USEC: a stalled loop stops the pings and systemd
 * restarts the service. 0 when no watchdog was asked for; -ENOMEM. */
int lpw_notify_start_watchdog(lpw_notify_t *n) __attribute__((warn_unused_result));
/* The watchdog period systemd asked for in ms, 0 when none. */
int64_t lpw_notify_watchdog_ms(const lpw_notify_t *n);

#endif
