/* The LoRaWAN application server: the gateway's "lorawan" binding. It routes by FPort (lorawan://{FPort}), applies
 * the CoAP-over-LoRaWAN retransmission logic of LwM2M 1.1.1 Appendix C, and tells the proxy when a device can be
 * reached (its RX windows). Radio, keys and timing belong to the network server behind lw_ns.h. */
#ifndef LPW_LW_AS_H
#define LPW_LW_AS_H

#include "bindings/lorawan/lw_ns.h"
#include "config/config.h"
#include "bindings/binding.h"
#include "core/loop.h"
#include "core/stats.h"
#include "core/store.h"

typedef struct lw_as lw_as_t;

/* cfg, host: borrowed, must outlive the application server. NULL on allocation failure. */
lw_as_t *lw_as_new(lpw_loop_t *loop, const lpw_config_t *cfg, const lpw_binding_host_t *host);
/* The hooks to give the network server (borrowed from as). */
const lw_as_hooks_t *lw_as_hooks(lw_as_t *as);
/* The network server of the devices whose network setting is net; ownership of ns passes to as (freed with it).
 * Both may run at once: each device is served by the one its configuration names. */
void lw_as_attach_ns(lw_as_t *as, lpw_config_lorawan_net_t net, lw_ns_t ns);
/* The binding interface (the router frees it through ops->free; devices join through ops->device_add). */
lpw_binding_t lw_as_binding(lw_as_t *as);

/* The registry's create function for "lorawan": the application server over the packet-forwarder network server
 * (bindings.lorawan.enabled) and/or ChirpStack (bindings.lorawan.chirpstack.enabled).
 * env: borrowed, must outlive the binding. 0, or -errno with the reason logged. */
int lpw_lorawan_create(const lpw_binding_env_t *env, lpw_binding_t *out) __attribute__((warn_unused_result));

#endif
