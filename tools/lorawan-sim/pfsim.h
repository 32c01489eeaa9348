/* lorawan-sim packet forwarder: a simulated Semtech UDP forwarder (GWMP v2) for the simulated devices: PULL_DATA
 * keepalives, uplinks as PUSH_DATA rxpk, PULL_RESP txpk answered with TX_ACK and handed to the device it is for. */
#ifndef LPW_LWSIM_PFSIM_H
#define LPW_LWSIM_PFSIM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "tools/lorawan-sim/lwdev.h"

typedef struct lpw_pfsim lpw_pfsim_t;

typedef struct {
	const char *server_host;  /* numeric IPv4/IPv6; read during lpw_pfsim_new */
	uint16_t server_port;
	uint64_t gateway_eui;
	unsigned keepalive_s;     /* PULL_DATA period; 0 means 5 */
	enum lw_region_id region;
	double loss_up, loss_down; /* 0..1 */
	uint32_t seed;             /* loss injection and radio noise */
	lpw_lwdev_event_cb on_event; /* forwarder events ({"event":"forwarder-up"}, ...); may be NULL */
	void *event_arg;
} lpw_pfsim_config_t;

/* Monotonic. */
typedef struct {
	uint64_t push_data, pull_data, push_ack, pull_ack;
	uint64_t uplinks_lost;     /* loss injection */
	uint64_t pull_resp, tx_ack, downlinks_lost, unclaimed, malformed;
} lpw_pfsim_counters_t;

/* Opens a UDP socket connected to the server and joins loop (borrowed, must outlive it); the first PULL_DATA
 * goes at once. cfg is read during the call. NULL on failure (logged). */
lpw_pfsim_t *lpw_pfsim_new(lpw_loop_t *loop, const lpw_pfsim_config_t *cfg);
/* Accepts NULL. Does not free the devices. */
void lpw_pfsim_free(lpw_pfsim_t *pf);

/* The radio a device created for this forwarder uses (ctx borrowed: pf must outlive the devices). */
lpw_lwdev_radio_t lpw_pfsim_radio(lpw_pfsim_t *pf);

/* Makes dev (borrowed: must stay until pf is freed or it is never offered anything after its free) reachable
 * for downlinks. -ENOMEM. */
int lpw_pfsim_add_device(lpw_pfsim_t *pf, lpw_lwdev_t *dev) __attribute__((warn_unused_result));

void lpw_pfsim_get_counters(const lpw_pfsim_t *pf, lpw_pfsim_counters_t *out);

#endif
