/* NIDD over the SGi point-to-point UDP tunnel (LwM2M 1.1.1 App. D.2): the operator's P-GW delivers each
 * device's CoAP as UDP datagrams; the device is known by its IP address (the port may change). */
#ifndef LPW_SGI_H
#define LPW_SGI_H

#include "bindings/binding.h"

/* The registry's create function: binds the UDP socket of env->cfg->sgi and joins the loop. Devices come through
 * device_add; each one's IP address becomes its key in the device table. 0 and *out (freed through
 * out->ops->free), or -errno with the reason logged. */
int lpw_sgi_create(const lpw_binding_env_t *env, lpw_binding_t *out) __attribute__((warn_unused_result));

/* The bound UDP port (tests listen on port 0). */
uint16_t lpw_sgi_port(const lpw_binding_t *b);

#endif
