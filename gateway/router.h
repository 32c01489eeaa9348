/* The router: binding uplinks -> the device they come from -> the proxy; proxy downlinks -> the device's binding. */
#ifndef LPW_ROUTER_H
#define LPW_ROUTER_H

#include "config/config.h"
#include "bindings/binding.h"
#include "core/stats.h"

typedef struct lpw_router lpw_router_t;

/* Where a device's traffic goes once the device is known (the proxy in the daemon, a fake in tests). */
typedef struct {
	int (*deliver)(void *arg, const lpw_config_device_t *dev, int server, const uint8_t *data, size_t len);
	void (*reachable)(void *arg, const lpw_config_device_t *dev, uint32_t window_ms);
	void (*outcome)(void *arg, const lpw_config_device_t *dev, lpw_delivery_t outcome);
	size_t (*queued)(void *arg, const lpw_config_device_t *dev);
	void *arg;
} lpw_router_sink_t;

/* cfg, stats, sink: borrowed, must outlive the router. NULL on allocation failure. */
lpw_router_t *lpw_router_new(const lpw_config_t *cfg, lpw_stats_t *stats, const lpw_router_sink_t *sink);
/* Frees the router and every binding attached to it. Accepts NULL. */
void lpw_router_free(lpw_router_t *r);

/* The host interface to hand to bindings (borrowed from the router). */
const lpw_binding_host_t *lpw_router_host(lpw_router_t *r);

/* Ownership of the binding passes to the router. -EEXIST if that kind is attached already. */
int lpw_router_attach(lpw_router_t *r, lpw_binding_t binding);

/* Sends bytes to dev through its binding (server: LPW_SERVER_* or index, see config.h). -ENODEV if its binding is
 * not running. */
int lpw_router_send(lpw_router_t *r, const lpw_config_device_t *dev, int server, const uint8_t *data, size_t len);

/* The device with this binding identity, or NULL. */
const lpw_config_device_t *lpw_router_find(const lpw_router_t *r, lpw_binding_kind_t kind, const char *identity);

/* Whether the device has been heard since start (reachable for SGi means: has an address). */
bool lpw_router_seen(const lpw_router_t *r, const lpw_config_device_t *dev);

#endif
