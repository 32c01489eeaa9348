/* Gateway counters: monotonic counters survive reconnects and are never reset; gauges are current values.
 * The gateway owns one lpw_stats_t; modules bump fields, telemetry reports them. */
#ifndef LPW_STATS_H
#define LPW_STATS_H

#include <stdint.h>

#include "config/config.h"

typedef struct {
	/* counters */
	uint64_t msgs_up[LPW_BINDING_COUNT];   /* device -> server, per binding */
	uint64_t msgs_down[LPW_BINDING_COUNT]; /* server -> device, per binding */
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
