/* The gateway: builds every module from the configuration, runs the loop, handles signals and reloads.
 * gateway/ is the only code that walks the binding registry and the only place where modules meet: the device
 * table (devtab.h), the router (router.h: bindings <-> proxy), telemetry. */
#ifndef LPW_GATEWAY_H
#define LPW_GATEWAY_H

#include "config/config.h"

typedef struct {
	int log_level_override; /* -1 = use the configuration */
	int foreground;         /* log to stderr unless the configuration says syslog */
} lpw_gateway_options_t;

/* Runs until SIGTERM/SIGINT. Ownership of cfg passes to the gateway. Returns 0 after a clean stop,
 * -errno if start-up failed (the reason is logged). Called once per process (it installs signal handling). */
int lpw_gateway_run(lpw_config_t *cfg, const lpw_gateway_options_t *options);

#endif
