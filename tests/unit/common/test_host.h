/* A binding host for unit tests: a real device table behind the lookups, and recorders for what a binding
 * reports (uplinks, reachability, outcomes, drops, events). */
#ifndef LPW_TEST_HOST_H
#define LPW_TEST_HOST_H

#include "bindings/binding.h"
#include "gateway/devtab.h"

typedef struct {
	lpw_devtab_t *tab;
	lpw_binding_host_t host;
	int uplinks, reachable, failed, buffered, delivered, dropped, events;
	lpw_device_t *last_dev;
	int last_server;
	uint8_t last_uplink[1024];
	size_t last_uplink_len;
	uint32_t last_window_ms;
	char last_event[64];
} test_host_t;

/* Fails the test on allocation failure. */
void test_host_init(test_host_t *h);
/* Adds cfg (borrowed) to the table; fails the test if refused. */
lpw_device_t *test_host_add(test_host_t *h, const lpw_config_device_t *cfg);
void test_host_fini(test_host_t *h);

#endif
