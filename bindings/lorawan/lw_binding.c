/* The daemon's LoRaWAN binding: the application server over the packet-forwarder network server. */
#include <errno.h>
#include <string.h>

#include "bindings/lorawan/lw_as.h"
#include "bindings/lorawan/lw_ns_udp.h"
#include "core/log.h"

int lpw_lorawan_create(const lpw_binding_env_t *env, lpw_binding_t *out)
{
	lw_as_t *as = lw_as_new(env->loop, env->cfg, env->host);
	if (!as)
		return -ENOMEM;
	lpw_binding_t b = lw_as_binding(as);
	lw_ns_t ns;
	int rc = lw_ns_udp_new(env, lw_as_hooks(as), &ns);
	if (rc < 0) {
		LPW_ERR("lorawan", "cannot start the network server on %s port %u: %s", env->cfg->lorawan.listen,
		        env->cfg->lorawan.port, strerror(-rc));
		b.ops->free(b.self);
		return rc;
	}
	lw_as_attach_ns(as, ns);
	*out = b;
	return 0;
}
