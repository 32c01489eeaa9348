/* The router: binding input -> the device (already resolved by the binding through the device table) -> the
 * proxy; proxy downlinks -> the device's binding. It implements the binding host interface and the proxy's
 * southbound interface (bindings/binding.h) and owns the running bindings. */
#ifndef LPW_ROUTER_H
#define LPW_ROUTER_H

#include <stdio.h>

#include "bindings/binding.h"
#include "core/stats.h"
#include "gateway/devtab.h"

typedef struct lpw_router lpw_router_t;

/* Events raised by bindings, for telemetry. */
typedef struct {
	void (*event)(void *ctx, lpw_device_t *dev, const char *type, const char *detail);
	void *ctx;
} lpw_router_hooks_t;

/* tab, stats: borrowed, must outlive the router. north, hooks: copied (their ctx borrowed); north may be set
 * later with lpw_router_set_northbound. NULL on allocation failure. */
lpw_router_t *lpw_router_new(lpw_devtab_t *tab, lpw_stats_t *stats, const lpw_router_hooks_t *hooks);
/* Frees the router and every binding attached to it. Accepts NULL. */
void lpw_router_free(lpw_router_t *r);

/* Where uplinks go (the proxy). Copied. */
void lpw_router_set_northbound(lpw_router_t *r, const lpw_northbound_t *north);
/* The host interface to hand to bindings, and the southbound interface to hand to the proxy (borrowed). */
const lpw_binding_host_t *lpw_router_host(lpw_router_t *r);
const lpw_southbound_t *lpw_router_southbound(lpw_router_t *r);

/* Creates every row of rows (the registry, or a test's) that env->cfg enables, with the same environment, and
 * attaches it. env: borrowed, must outlive the router (env->host should be lpw_router_host(r)). 0, or the first
 * failing row's -errno (its reason logged by the binding). */
int lpw_router_start_bindings(lpw_router_t *r, const lpw_binding_desc_t *rows, size_t nrows, const lpw_binding_env_t *env)
	__attribute__((warn_unused_result));

/* Ownership of the binding passes to the router. -EEXIST if that kind is attached already. */
int lpw_router_attach(lpw_router_t *r, lpw_binding_kind_t kind, lpw_binding_t binding);
bool lpw_router_running(const lpw_router_t *r, lpw_binding_kind_t kind);

/* The device table's changes, passed to the device's binding (if it runs). */
int lpw_router_device_add(lpw_router_t *r, lpw_device_t *dev);
void lpw_router_device_update(lpw_router_t *r, lpw_device_t *dev, const lpw_config_device_t *old);
void lpw_router_device_remove(lpw_router_t *r, lpw_device_t *dev);
/* Every running binding gets the new configuration; returns the number of settings that need a restart. */
int lpw_router_reconfigure(lpw_router_t *r, const lpw_config_t *cfg, FILE *report);
/* Forgets the device's session in its binding (LoRaWAN: the device must join again). 0, -EOPNOTSUPP for a
 * binding without sessions, -ENODEV if its binding does not run, or the binding's -errno. */
int lpw_router_reset_session(lpw_router_t *r, lpw_device_t *dev);
/* Each running binding's own counters, under its name. */
void lpw_router_report(const lpw_router_t *r, json_t *obj);

#endif
