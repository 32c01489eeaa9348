/* The gateway's state, shared by gateway.c (wiring, signals, reload) and devices.c (the device table's changes);
 * nothing else includes it. */
#ifndef LPW_GATEWAY_INTERNAL_H
#define LPW_GATEWAY_INTERNAL_H

#include <jansson.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/ratelimit.h"
#include "core/stats.h"
#include "core/store.h"
#include "gateway/control.h"
#include "gateway/devtab.h"
#include "gateway/gateway.h"
#include "gateway/metrics.h"
#include "gateway/notify.h"
#include "gateway/router.h"
#include "gateway/telemetry.h"
#include "proxy/proxy.h"

typedef struct {
	lpw_config_t *cfg;
	const lpw_gateway_options_t *opt;
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	lpw_store_t *store;
	lpw_telemetry_t *telemetry;
	lpw_devtab_t *devtab;
	lpw_router_t *router;
	lpw_proxy_t *proxy;
	lpw_proxy_hooks_t proxy_hooks;
	lpw_binding_env_t binding_env; /* what every binding was created with */
	lpw_stats_t stats;
	lpw_ratelimit_t *event_limit; /* events per type and device (issue 16.4); counted in stats.events_suppressed */
	json_t *device_states; /* device id -> {"servers": {name: state}, "last_change": t}, published whole */
	int sigfd;
	lpw_notify_t *notify; /* systemd notifications; NULL outside systemd */
	lpw_control_t *control; /* lpwagw-ctl's socket; NULL when not configured */
	lpw_metrics_t *metrics; /* the Prometheus endpoint; NULL when off */
	int64_t started_ms;     /* loop clock at start, for uptime */
} gateway_t;

/* gateway.c */
/* SIGHUP's reload (also lpwagw-ctl reload): 0 when the new configuration applies (what changed written to answer),
 * -EINVAL when it was refused (why written to answer; the running one stays), -ENOMEM. answer may be NULL. */
int gw_reload(gateway_t *g, FILE *answer);
/* The stats payload now, exactly as telemetry publishes it (lpw_metrics_snapshot_t; arg is the gateway_t). */
char *gw_stats_payload(void *arg);

/* ctl_commands.c: the control socket's handler (lpw_control_handler_t); arg is the gateway_t. */
int gw_control_handle(void *arg, const lpw_ctl_cmd_t *cmd, FILE *out);

/* devices.c */
/* Puts every device of g->cfg into the table, its binding and the proxy. A device that is refused (its reason
 * logged) is left out; -ENOMEM only when the table itself cannot grow. */
int gw_devices_start(gateway_t *g);
/* Applies the devices of next (which replaces g->cfg right after): removed ones leave (their queued requests get
 * 5.03), changed ones are re-pointed and told, added ones join. Writes a line per device to report. */
void gw_devices_apply(gateway_t *g, const lpw_config_t *next, FILE *report);
/* Every device leaves (shutdown: queues and registrations stay stored). */
void gw_devices_stop(gateway_t *g);

#endif
