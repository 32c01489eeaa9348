/* A device handle: one entry of the gateway's device table, stable for as long as the device stays in the
 * configuration (reloads included). Every module keeps its own per-device state in its own slot of the entry, so
 * nobody keeps a shadow array indexed by configuration position and nobody reads another module's state.
 *
 * Only the device table (gateway/devtab.c) creates entries and changes their configuration; a module writes only
 * its own slot. Everything here may be called from any callback. */
#ifndef LPW_DEVICE_H
#define LPW_DEVICE_H

#include <stdint.h>

#include "config/config.h"

typedef struct lpw_device lpw_device_t;

/* Whose state a slot holds. */
typedef enum {
	LPW_SLOT_BINDING, /* the device's binding (for LoRaWAN: its application server) */
	LPW_SLOT_NETWORK, /* the lower half of a binding that has one (a LoRaWAN network server) */
	LPW_SLOT_PROXY,   /* the proxy */
	LPW_SLOT_TABLE,   /* the device table's own index entries */
	LPW_SLOT_COUNT
} lpw_device_slot_t;

/* A new entry for cfg (borrowed: the device table replaces it on reload with lpw_device_set_config).
 * handle: a number the table never gives twice. NULL on allocation failure. */
lpw_device_t *lpw_device_new(const lpw_config_device_t *cfg, uint32_t handle);
/* Accepts NULL. The slots must have been emptied by their owners. */
void lpw_device_free(lpw_device_t *dev);

/* The device's current configuration (borrowed from the running configuration: valid until the next reload has
 * been applied; never keep it across a reload, ask again). */
const lpw_config_device_t *lpw_device_config(const lpw_device_t *dev);
void lpw_device_set_config(lpw_device_t *dev, const lpw_config_device_t *cfg);
/* Shorthands for lpw_device_config(dev)->id and ->binding. */
const char *lpw_device_id(const lpw_device_t *dev);
lpw_binding_kind_t lpw_device_binding(const lpw_device_t *dev);
uint32_t lpw_device_handle(const lpw_device_t *dev);

/* A module's own per-device state (NULL until set). The pointer is the module's: it frees what it set. */
void *lpw_device_slot(const lpw_device_t *dev, lpw_device_slot_t slot);
void lpw_device_set_slot(lpw_device_t *dev, lpw_device_slot_t slot, void *state);

/* What the device table records for telemetry and the control socket. */
int64_t lpw_device_last_seen(const lpw_device_t *dev); /* wall-clock s of its latest uplink, 0 = never */
void lpw_device_touch(lpw_device_t *dev, int64_t wall_s);

/* Per-device message counters (monotonic while the device stays configured), kept by the router. */
typedef enum {
	LPW_DEVICE_UPLINKS,      /* messages from the device */
	LPW_DEVICE_DOWNLINKS,    /* messages its binding accepted for it */
	LPW_DEVICE_SEND_REFUSED, /* messages its binding refused (unreachable, too large, busy, gave up) */
	LPW_DEVICE_COUNTERS
} lpw_device_counter_t;
void lpw_device_count(lpw_device_t *dev, lpw_device_counter_t which);
uint64_t lpw_device_counter(const lpw_device_t *dev, lpw_device_counter_t which);

#endif
