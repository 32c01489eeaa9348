/* Gateway counters: monotonic counters survive reconnects and are never reset; gauges are current values.
 * The gateway owns one lpw_stats_t; modules bump fields, telemetry reports them. */
#ifndef LPW_STATS_H
#define LPW_STATS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>


/* Per-binding counters are indexed by binding kind (config.h's lpw_binding_kind_t); core/ knows only how many
 * there may be. bindings/binding.h checks that every kind fits. */
#define LPW_STATS_BINDINGS 8

struct json_t; /* jansson's json_t: sources fill in JSON without this header needing jansson */

/* A module's own counters for the stats payload: report adds members to obj, an object that telemetry publishes
 * as stats.<name>. Called from the loop. The bindings' report ops are one source, "bindings" (gateway.c). */
typedef struct {
	const char *name; /* static storage */
	void (*report)(void *arg, struct json_t *obj);
	void *arg;
} lpw_stats_source_t;

#define LPW_STATS_MAX_SOURCES 4

typedef struct {
	/* counters */
	uint64_t msgs_up[LPW_STATS_BINDINGS];   /* device -> server, per binding */
	uint64_t msgs_down[LPW_STATS_BINDINGS]; /* server -> device, per binding */
	uint64_t dropped_unknown_device;       /* input from an identity no device has */
	uint64_t dropped_malformed;
	uint64_t duplicates;                   /* device CONs answered from the cache */
	uint64_t upstream_reconnects;
	uint64_t errors;
	uint64_t events_suppressed;            /* telemetry events held back by the rate limit (their totals stay in
	                                        * the counters that caused them) */
	/* gauges */
	uint32_t devices_known;
	uint32_t devices_reachable;
	uint32_t upstream_up;
	uint32_t upstream_down;
	uint32_t queue_depth;
	/* more counters, by module */
	lpw_stats_source_t sources[LPW_STATS_MAX_SOURCES];
} lpw_stats_t;

/* Adds a source (copied; arg borrowed until lpw_stats_del_source). -ENOSPC when all slots are taken. */
static inline int lpw_stats_add_source(lpw_stats_t *stats, const lpw_stats_source_t *src)
{
	for (size_t i = 0; i < LPW_STATS_MAX_SOURCES; i++)
		if (!stats->sources[i].report) {
			stats->sources[i] = *src;
			return 0;
		}
	return -ENOSPC;
}

/* Removes the source with this arg; harmless if absent. */
static inline void lpw_stats_del_source(lpw_stats_t *stats, const void *arg)
{
	for (size_t i = 0; i < LPW_STATS_MAX_SOURCES; i++)
		if (stats->sources[i].report && stats->sources[i].arg == arg)
			memset(&stats->sources[i], 0, sizeof(stats->sources[i]));
}

#endif
