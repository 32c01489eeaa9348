/* The daemon's LoRaWAN binding: the application server over its network servers, the embedded one over packet
 * forwarders (bindings.lorawan.enabled) and/or ChirpStack (bindings.lorawan.chirpstack.enabled); each device is
 * served by the one its `network` setting names. */
#include <errno.h>
#include <string.h>

#include "bindings/lorawan/lw_as.h"
#include "bindings/lorawan/lw_ns_chirpstack.h"
#include "bindings/lorawan/lw_ns_udp.h"
#include "core/log.h"

int lpw_lorawan_create(const lpw_binding_env_t *env, lpw_binding_t *out)
{
	const lpw_config_lorawan_t *lc = &env->cfg->lorawan;
	lw_as_t *as = lw_as_new(env->loop, env->cfg, env->host);
	if (!as)
		return -ENOMEM;
	lpw_binding_t b = lw_as_binding(as);
	lw_ns_t ns;
	int rc = 0;
	if (lc->enabled) {
		rc = lw_ns_udp_new(env, lw_as_hooks(as), &ns);
		if (rc < 0)
			LPW_ERR("lorawan", "cannot start the network server on %s port %u: %s", lc->listen, lc->port,
			        strerror(-rc));
		else
			lw_as_attach_ns(as, LPW_LORAWAN_NET_EMBEDDED, ns);
	}
	if (rc == 0 && lc->chirpstack.enabled) {
		rc = lw_ns_chirpstack_new(env, lw_as_hooks(as), &ns);
		if (rc < 0)
			LPW_ERR("lorawan", "cannot start the ChirpStack connection to %s: %s", lc->chirpstack.host,
			        strerror(-rc));
		else
			lw_as_attach_ns(as, LPW_LORAWAN_NET_CHIRPSTACK, ns);
	}
	if (rc < 0) {
		b.ops->free(b.self);
		return rc;
	}
	*out = b;
	return 0;
}
