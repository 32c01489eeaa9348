/* Logging to stderr or syslog, filtered by one global level, with one rate limiter for repeatable lines. */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int max_level = LOG_INFO;
static lpw_log_sink_t sink = LPW_LOG_TO_STDERR;
/* Logging is process-wide (one level, one sink), so is the limiter of its repeatable lines. */
static lpw_ratelimit_t *limiter;
static bool limiter_failed;

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit", [LOG_ERR] = "error",
	[LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void lpw_log_setup(int level, lpw_log_sink_t to, const char *ident)
{
	max_level = level;
	if (sink == LPW_LOG_TO_SYSLOG && to != LPW_LOG_TO_SYSLOG)
		closelog();
	if (to == LPW_LOG_TO_SYSLOG && sink != LPW_LOG_TO_SYSLOG)
		openlog(ident ? ident : "lpwagw", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	sink = to;
}

int lpw_log_level_from_name(const char *name)
{
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (name && strcasecmp(name, level_names[i]) == 0)
			return i;
	return -EINVAL;
}

const char *lpw_log_level_name(int level)
{
	if (level < LOG_EMERG || level > LOG_DEBUG)
		return "?";
	return level_names[level];
}

bool lpw_log_enabled(int level)
{
	return level <= max_level;
}

static void emit(int level, const char *module, const char *msg)
{
	if (sink == LPW_LOG_TO_SYSLOG) {
		syslog(level, "[%s] %s", module, msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-7s %-9s %s\n", tm.tm_year + 1900, tm.tm_mon + 1,
	        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, lpw_log_level_name(level), module,
	        msg);
}

void lpw_log_write(int level, const char *module, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(level, module, msg);
}

void lpw_log_write_quiet(int level, const char *module, uint64_t suppressed, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t at = n < 0 ? 0 : (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	if (suppressed)
		snprintf(msg + at, sizeof(msg) - at, " (%llu similar suppressed)", (unsigned long long)suppressed);
	emit(level, module, msg);
}

int lpw_log_set_limits(const lpw_ratelimit_config_t *cfg)
{
	if (limiter) {
		lpw_ratelimit_configure(limiter, cfg);
		return 0;
	}
	limiter = lpw_ratelimit_new(cfg);
	limiter_failed = !limiter;
	return limiter ? 0 : -ENOMEM;
}

bool lpw_log_admit(const char *kind, const char *key, int64_t now_ms, uint64_t *out_suppressed)
{
	if (!limiter && !limiter_failed && lpw_log_set_limits(NULL) < 0)
		lpw_log_write(LOG_ERR, "log", "cannot create the log rate limiter: repeated lines are not limited");
	return lpw_ratelimit_allow(limiter, now_ms, kind, key, out_suppressed);
}

uint64_t lpw_log_suppressed(void)
{
	return lpw_ratelimit_suppressed(limiter);
}
