/* Logging: one macro with module and syslog level; arguments are not evaluated when the level is off. */
#ifndef LPW_LOG_H
#define LPW_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "core/ratelimit.h"

typedef enum { LPW_LOG_TO_STDERR, LPW_LOG_TO_SYSLOG } lpw_log_sink_t;

/* Sets the most verbose level written (LOG_ERR .. LOG_DEBUG) and where lines go. */
void lpw_log_setup(int max_level, lpw_log_sink_t sink, const char *ident);

/* Parses "error", "warning", "notice", "info" or "debug"; -EINVAL for anything else. */
int lpw_log_level_from_name(const char *name);
const char *lpw_log_level_name(int level);

bool lpw_log_enabled(int level);
void lpw_log_write(int level, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define LPW_LOG(level, module, ...)                                                                                    \
	do {                                                                                                               \
		if (lpw_log_enabled(level))                                                                                    \
			lpw_log_write((level), (module), __VA_ARGS__);                                                             \
	} while (0)

/* Lines that outside input can repeat at will (a flood of bad datagrams, a server hammering one device) go
 * through one process-wide rate limiter, per kind of line and key (the device, forwarder or address named):
 * a burst, then a few per period; the next line that gets through ends in "(N similar suppressed)".
 * now_ms: the loop's now. Nothing is evaluated when the level is off. */
#define LPW_LOG_LIMITED(level, module, kind, key, now_ms, ...)                                                         \
	do {                                                                                                               \
		uint64_t lpw_quiet_;                                                                                           \
		if (lpw_log_enabled(level) && lpw_log_admit((kind), (key), (now_ms), &lpw_quiet_))                             \
			lpw_log_write_quiet((level), (module), lpw_quiet_, __VA_ARGS__);                                           \
	} while (0)

#define LPW_WARN_LIMITED(module, kind, key, now_ms, ...)                                                              \
	LPW_LOG_LIMITED(LOG_WARNING, module, kind, key, now_ms, __VA_ARGS__)

/* The limits of LPW_LOG_LIMITED (cfg read during the call; NULL = the defaults of core/ratelimit.h). Remembered
 * keys keep their history. Returns -ENOMEM when the limiter cannot be created (lines then all go through). */
int lpw_log_set_limits(const lpw_ratelimit_config_t *cfg);
/* For LPW_LOG_LIMITED: whether a line of kind about key may be written now; *out_suppressed as
 * lpw_ratelimit_allow. */
bool lpw_log_admit(const char *kind, const char *key, int64_t now_ms, uint64_t *out_suppressed);
/* lpw_log_write, with " (N similar suppressed)" appended when suppressed is not 0. */
void lpw_log_write_quiet(int level, const char *module, uint64_t suppressed, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Lines held back by LPW_LOG_LIMITED since the start (monotonic; telemetry reports it). */
uint64_t lpw_log_suppressed(void);

#define LPW_ERR(module, ...) LPW_LOG(LOG_ERR, module, __VA_ARGS__)
#define LPW_WARN(module, ...) LPW_LOG(LOG_WARNING, module, __VA_ARGS__)
#define LPW_NOTICE(module, ...) LPW_LOG(LOG_NOTICE, module, __VA_ARGS__)
#define LPW_INFO(module, ...) LPW_LOG(LOG_INFO, module, __VA_ARGS__)
#define LPW_DEBUG(module, ...) LPW_LOG(LOG_DEBUG, module, __VA_ARGS__)

#endif
