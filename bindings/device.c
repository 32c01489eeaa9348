/* Device handles: a device's current configuration, its stable number and one state slot per module. */
#include "bindings/device.h"

#include <stdlib.h>

struct lpw_device {
	const lpw_config_device_t *cfg;
	uint32_t handle;
	int64_t last_seen;
	uint64_t counters[LPW_DEVICE_COUNTERS];
	void *slot[LPW_SLOT_COUNT];
};

lpw_device_t *lpw_device_new(const lpw_config_device_t *cfg, uint32_t handle)
{
	lpw_device_t *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->cfg = cfg;
	dev->handle = handle;
	return dev;
}

void lpw_device_free(lpw_device_t *dev)
{
	free(dev);
}

const lpw_config_device_t *lpw_device_config(const lpw_device_t *dev)
{
	return dev->cfg;
}

void lpw_device_set_config(lpw_device_t *dev, const lpw_config_device_t *cfg)
{
	dev->cfg = cfg;
}

const char *lpw_device_id(const lpw_device_t *dev)
{
	return dev->cfg->id;
}

lpw_binding_kind_t lpw_device_binding(const lpw_device_t *dev)
{
	return dev->cfg->binding;
}

uint32_t lpw_device_handle(const lpw_device_t *dev)
{
	return dev->handle;
}

void *lpw_device_slot(const lpw_device_t *dev, lpw_device_slot_t slot)
{
	return (unsigned)slot < LPW_SLOT_COUNT ? dev->slot[slot] : NULL;
}

void lpw_device_set_slot(lpw_device_t *dev, lpw_device_slot_t slot, void *state)
{
	if ((unsigned)slot < LPW_SLOT_COUNT)
		dev->slot[slot] = state;
}

int64_t lpw_device_last_seen(const lpw_device_t *dev)
{
	return dev->last_seen;
}

void lpw_device_touch(lpw_device_t *dev, int64_t wall_s)
{
	dev->last_seen = wall_s;
}

void lpw_device_count(lpw_device_t *dev, lpw_device_counter_t which)
{
	if ((unsigned)which < LPW_DEVICE_COUNTERS)
		dev->counters[which]++;
}

uint64_t lpw_device_counter(const lpw_device_t *dev, lpw_device_counter_t which)
{
	return (unsigned)which < LPW_DEVICE_COUNTERS ? dev->counters[which] : 0;
}
