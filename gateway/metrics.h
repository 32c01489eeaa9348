/* The Prometheus endpoint (issue 14 item 5): GET /metrics answers the text exposition format (version 0.0.4) with
 * the same counters and gauges as the MQTT stats payload, rendered from that very payload, so the two never
 * disagree. Served by core/httpd (libmicrohttpd in the loop). */
#ifndef LPW_METRICS_H
#define LPW_METRICS_H

#include <stdint.h>

#include <jansson.h>

#include "core/loop.h"

typedef struct lpw_metrics lpw_metrics_t;

/* The stats payload now, as telemetry would publish it: a malloc'd JSON text (the caller frees), NULL on failure. */
typedef char *(*lpw_metrics_snapshot_t)(void *arg);

typedef struct {
	const char *listen; /* numeric address; copied */
	uint16_t port;      /* 0 = any free port */
	lpw_metrics_snapshot_t snapshot;
	void *arg;          /* borrowed, must outlive the endpoint */
} lpw_metrics_config_t;

/* NULL on failure (logged). */
lpw_metrics_t *lpw_metrics_new(lpw_loop_t *loop, const lpw_metrics_config_t *cfg);
void lpw_metrics_free(lpw_metrics_t *m);
uint16_t lpw_metrics_port(const lpw_metrics_t *m);

/* Renders a stats payload (lpw_telemetry_build_stats' shape) as Prometheus text: every family with # HELP and
 * # TYPE, counters named ..._total; members of the module sources (stats.<source>...) become
 * lpwagw_<source>_<path> (untyped: the payload does not say counter or gauge), the binding under
 * stats.bindings and keys that are not names (EUIs) become labels, strings become ..._info{value="..."} 1.
 * Returns a malloc'd text, NULL on allocation failure or when stats is not an object. */
char *lpw_metrics_render(const json_t *stats);

#endif
