/* The daemon's LoRaWAN binding: the application server over the packet-forwarder network server. */
#include <errno.h>
#include <string.h>

#include "bindings/lorawan/lw_as.h"
#include "bindings/lorawan/lw_ns_udp.h"
#include "core/log.h"

int lpw_lorawan_new(lpw_loop_t *loop, const lpw_config_t *cfg, lpw_store_t *store, lpw_stats_t *stats,
                    const lpw_binding_host_t *host, lpw_binding_t *out)
{
	lw_as_t *as = lw_as_new(loop, cfg, host);
	if (!as)
		return -ENOMEM;
	lpw_binding_t b = lw_as_binding(as);
	lw_ns_t ns;
	int rc = lw_ns_udp_new(loop, cfg, store, lw_as_hooks(as), stats, &ns);
	if (rc < 0) {
		LPW_ERR("lorawan", "cannot start the network server on %s port %u: %s", cfg->lorawan.listen,
		        cfg->lorawan.port, strerror(-rc));
		b.ops->free(b.self);
		return rc;
	}
	lw_as_attach_ns(as, ns);
	*out = b;
	return 0;
}
