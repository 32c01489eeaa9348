/* Logging: one macro with module and syslog level; arguments are not evaluated when the level is off. */
#ifndef LPW_LOG_H
#define LPW_LOG_H

#include <stdbool.h>
#include <syslog.h>

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

#define LPW_ERR(module, ...) LPW_LOG(LOG_ERR, module, __VA_ARGS__)
#define LPW_WARN(module, ...) LPW_LOG(LOG_WARNING, module, __VA_ARGS__)
#define LPW_NOTICE(module, ...) LPW_LOG(LOG_NOTICE, module, __VA_ARGS__)
#define LPW_INFO(module, ...) LPW_LOG(LOG_INFO, module, __VA_ARGS__)
#define LPW_DEBUG(module, ...) LPW_LOG(LOG_DEBUG, module, __VA_ARGS__)

#endif
