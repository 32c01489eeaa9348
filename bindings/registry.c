/* The binding registry: one row per binding. Adding a binding adds its folder, its configuration section and one
 * row here; nothing in proxy/ or gateway/gateway.c changes. */
#include "bindings/binding.h"

#include <errno.h>

#include "bindings/lorawan/lw_as.h"
#include "bindings/nidd/sgi.h"
#include "bindings/sms/sms.h"
#include "core/log.h"

static bool sgi_enabled(const lpw_config_t *cfg)
{
	return cfg->sgi.enabled;
}

static bool lorawan_enabled(const lpw_config_t *cfg)
{
	return cfg->lorawan.enabled || cfg->lorawan.chirpstack.enabled; /* either network server */
}

/* Bindings that are not built yet are on when a device uses them, so that such a device is refused loudly at
 * start instead of never being served. */
static bool used_by_a_device(const lpw_config_t *cfg, lpw_binding_kind_t kind)
{
	for (size_t i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].binding == kind)
			return true;
	return false;
}

static bool t8_enabled(const lpw_config_t *cfg)
{
	return used_by_a_device(cfg, LPW_BINDING_NIDD_T8);
}

static int not_yet(const char *name, const char *issue)
{
	LPW_ERR("bindings", "the %s binding is not available in this version yet (%s); remove its devices", name, issue);
	return -ENOTSUP;
}

static int t8_create(const lpw_binding_env_t *env, lpw_binding_t *out)
{
	return not_yet("nidd-t8", "issue 12");
}

const lpw_binding_desc_t lpw_binding_registry[] = {
	{LPW_BINDING_NIDD_SGI, "nidd-sgi", sgi_enabled, lpw_sgi_create},
	{LPW_BINDING_NIDD_T8, "nidd-t8", t8_enabled, t8_create},
	{LPW_BINDING_SMS, "sms", lpw_sms_enabled, lpw_sms_create},
	{LPW_BINDING_LORAWAN, "lorawan", lorawan_enabled, lpw_lorawan_create},
};
const size_t lpw_binding_registry_len = sizeof(lpw_binding_registry) / sizeof(lpw_binding_registry[0]);
