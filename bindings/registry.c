/* The binding registry: one row per binding. Adding a binding adds its folder, its configuration section and one
 * row here; nothing in proxy/ or gateway/gateway.c changes. */
#include "bindings/binding.h"

#include "bindings/lorawan/lw_as.h"
#include "bindings/nidd/sgi.h"
#include "bindings/nidd/t8.h"
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

const lpw_binding_desc_t lpw_binding_registry[] = {
	{LPW_BINDING_NIDD_SGI, "nidd-sgi", sgi_enabled, lpw_sgi_create},
	{LPW_BINDING_NIDD_T8, "nidd-t8", lpw_t8_enabled, lpw_t8_create},
	{LPW_BINDING_SMS, "sms", lpw_sms_enabled, lpw_sms_create},
	{LPW_BINDING_LORAWAN, "lorawan", lorawan_enabled, lpw_lorawan_create},
};
const size_t lpw_binding_registry_len = sizeof(lpw_binding_registry) / sizeof(lpw_binding_registry[0]);
