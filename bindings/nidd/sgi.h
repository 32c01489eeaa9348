/* NIDD over the SGi point-to-point UDP tunnel (LwM2M 1.1.1 App. D.2): the operator's P-GW delivers each
 * device's CoAP as UDP datagrams; the device is known by its IP address (the port may change). */
#ifndef LPW_SGI_H
#define LPW_SGI_H

#include "config/config.h"
#include "bindings/binding.h"
#include "core/loop.h"

/* Binds the UDP socket from cfg->sgi and joins the loop. cfg, host: borrowed, must outlive the binding.
 * On success fills *out (free with out->ops->free(out->self)); -errno with the reason logged otherwise. */
int lpw_sgi_new(lpw_loop_t *loop, const lpw_config_t *cfg, const lpw_binding_host_t *host, lpw_binding_t *out)
	__attribute__((warn_unused_result));

#endif
