/* The device table: one stable handle per configured device, found by hash in O(1) by id, by binding identity,
 * and by one secondary key per device that its binding owns (a LoRaWAN DevAddr, an SGi source address).
 * Reloads add, remove and re-point entries; a kept device keeps its handle, so every module's per-device state
 * (its slot) survives. */
#ifndef LPW_DEVTAB_H
#define LPW_DEVTAB_H

#include <stddef.h>

#include "bindings/device.h"
#include "config/config.h"

typedef struct lpw_devtab lpw_devtab_t;

#define LPW_DEVTAB_KEY_MAX 32 /* bytes of a secondary key */

/* NULL on allocation failure. */
lpw_devtab_t *lpw_devtab_new(void);
/* Frees the table and its entries (their other slots must be empty by then). Accepts NULL. */
void lpw_devtab_free(lpw_devtab_t *t);

/* A new entry for cfg (borrowed, see lpw_device_set_config). -EEXIST if the id or (binding, identity) is taken,
 * -ENOMEM. *out_dev is owned by the table. */
int lpw_devtab_add(lpw_devtab_t *t, const lpw_config_device_t *cfg, lpw_device_t **out_dev)
	__attribute__((warn_unused_result));
/* Re-points dev at cfg (same id; a new binding identity is re-indexed). -EEXIST if the new identity is taken
 * (nothing changes then). */
int lpw_devtab_update(lpw_devtab_t *t, lpw_device_t *dev, const lpw_config_device_t *cfg)
	__attribute__((warn_unused_result));
/* Removes and frees dev (its other slots must be empty). */
void lpw_devtab_remove(lpw_devtab_t *t, lpw_device_t *dev);

lpw_device_t *lpw_devtab_find_id(const lpw_devtab_t *t, const char *id);
lpw_device_t *lpw_devtab_find(const lpw_devtab_t *t, lpw_binding_kind_t kind, const char *identity);
lpw_device_t *lpw_devtab_find_key(const lpw_devtab_t *t, lpw_binding_kind_t kind, const void *key, size_t len);
/* Sets dev's secondary key in its binding's space (copied; replaces the previous one; len 0 removes it).
 * -EEXIST if another device of the binding has it, -EINVAL if longer than LPW_DEVTAB_KEY_MAX. */
int lpw_devtab_set_key(lpw_devtab_t *t, lpw_device_t *dev, const void *key, size_t len);

size_t lpw_devtab_count(const lpw_devtab_t *t);
/* Calls fn for every device, in the order they were added. fn may not add or remove devices. */
void lpw_devtab_foreach(const lpw_devtab_t *t, void (*fn)(lpw_device_t *dev, void *arg), void *arg);

#endif
