/* Gateway counters: monotonic counters survive reconnects and are never reset; gauges are current values.
 * The gateway owns one lpw_stats_t; modules bump fields, telemetry reports them. */
#ifndef LPW_STATS_H
#define LPW_STATS_H

#include <stdint.h>


/* Per-binding counters are indexed by binding kind (config.h's lpw_binding_kind_t); core/ knows only how many
 * there may be. bindings/binding.h checks that every kind fits. */
#define LPW_STATS_BINDINGS 8

typedef struct {
	/* counters */
	uint64_t msgs_up[LPW_STATS_BINDINGS];   /* device -> server, per binding */
	uint64_t msgs_down[LPW_STATS_BINDINGS]; /* server -> device, per binding */
	uint64_t dropped_unknown_device;       /* input from an identity no device has */
	uint64_t dropped_malformed;
	uint64_t duplicates;                   /* device CONs answered from the cache */
	uint64_t upstream_reconnects;
	uint64_t errors;
	/* gauges */
	uint32_t devices_known;
	uint32_t devices_reachable;
	uint32_t upstream_up;
	uint32_t upstream_down;
	uint32_t queue_depth;
} lpw_stats_t;

#endif
