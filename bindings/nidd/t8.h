/* NIDD through an operator's SCEF over the T8 API (3GPP TS 29.122 Release 17, V17.7.0, OpenAPI "3gpp-nidd"
 * 1.2.1; LwM2M 1.1.1 App. D.3-D.6). Per device (MSISDN or External Identifier) one NIDD configuration at the
 * SCEF: created with our notification URL, its self link persisted in the store, renewed (PATCH duration) before it
 * ends, recreated when the SCEF answers 404 (lost, or the SCEF restarted), deleted on shutdown when configured.
 * MO data arrives as notifications (base64 -> CoAP -> router); MT data goes out as downlink data deliveries whose
 * answers (200 delivered, 201 pending, errors) and delivery status notifications become the proxy's outcomes. */
#ifndef LPW_T8_H
#define LPW_T8_H

#include "bindings/binding.h"

/* The registry's row. */
bool lpw_t8_enabled(const lpw_config_t *cfg);
/* Starts the notification server and the HTTP client in env->loop. 0 and *out, or -errno with the reason logged. */
int lpw_t8_create(const lpw_binding_env_t *env, lpw_binding_t *out) __attribute__((warn_unused_result));

/* The notification server's bound port (tests). */
uint16_t lpw_t8_callback_port(const lpw_binding_t *b);

#endif
