/* The device table's changes, passed in order to the binding (first: it must know a device before the proxy asks
 * its traits) and the proxy; removals in the reverse order. */
#include "gateway/gateway_internal.h"

#include <errno.h>
#include <string.h>

#include "core/log.h"

static int add_device(gateway_t *g, const lpw_config_device_t *cfg)
{
	lpw_device_t *dev = NULL;
	int rc = lpw_devtab_add(g->devtab, cfg, &dev);
	if (rc < 0) {
		LPW_ERR("gateway", "%s: not added to the device table (%s)", cfg->id, strerror(-rc));
		return rc;
	}
	rc = lpw_router_device_add(g->router, dev);
	if (rc < 0) {
		LPW_ERR("gateway", "%s: refused by its binding %s (%s); not served", cfg->id,
		        lpw_config_binding_name(cfg->binding), strerror(-rc));
		lpw_devtab_remove(g->devtab, dev);
		return rc;
	}
	rc = lpw_proxy_device_add(g->proxy, dev);
	if (rc < 0) {
		lpw_router_device_remove(g->router, dev);
		lpw_devtab_remove(g->devtab, dev);
		return rc;
	}
	g->stats.devices_known++;
	return 0;
}

static void remove_device(gateway_t *g, lpw_device_t *dev, bool forget)
{
	if (forget && g->telemetry && lpw_telemetry_device_state(g->telemetry, lpw_device_id(dev), NULL) < 0)
		LPW_DEBUG("gateway", "%s: retained state not cleared", lpw_device_id(dev));
	if (forget)
		json_object_del(g->device_states, lpw_device_id(dev));
	lpw_proxy_device_remove(g->proxy, dev, forget);
	lpw_router_device_remove(g->router, dev);
	if (lpw_device_last_seen(dev))
		g->stats.devices_reachable--;
	lpw_devtab_remove(g->devtab, dev);
	g->stats.devices_known--;
}

int gw_devices_start(gateway_t *g)
{
	for (size_t i = 0; i < g->cfg->ndevices; i++)
		if (add_device(g, &g->cfg->devices[i]) == -ENOMEM)
			return -ENOMEM;
	return 0;
}

/* A device whose binding or identity changed leaves its binding and joins it (or another) again under its new
 * identity; the proxy keeps its state (queue, sessions). */
static void update_device(gateway_t *g, lpw_device_t *dev, const lpw_config_device_t *cfg)
{
	const lpw_config_device_t *old = lpw_device_config(dev);
	bool rebind = old->binding != cfg->binding || strcmp(old->identity, cfg->identity) != 0;
	if (rebind)
		lpw_router_device_remove(g->router, dev);
	if (lpw_devtab_update(g->devtab, dev, cfg) < 0) {
		/* a configuration never has two devices with one identity, so this is out of memory; the entry would
		 * point into the configuration about to be freed, so it goes */
		LPW_ERR("gateway", "%s: cannot take its new identity %s; the device is removed", cfg->id, cfg->identity);
		if (rebind) /* back into its binding under the old identity, so that the removal below is symmetric */
			(void)lpw_router_device_add(g->router, dev);
		remove_device(g, dev, true);
		return;
	}
	if (!rebind)
		lpw_router_device_update(g->router, dev, old);
	else if (lpw_router_device_add(g->router, dev) < 0)
		LPW_ERR("gateway", "%s: refused by its binding under its new identity; not served", cfg->id);
	lpw_proxy_device_update(g->proxy, dev, old);
}

struct collect {
	lpw_device_t **devs;
	size_t n;
};

static void collect_one(lpw_device_t *dev, void *arg)
{
	struct collect *c = arg;
	c->devs[c->n++] = dev;
}

void gw_devices_apply(gateway_t *g, const lpw_config_t *next, FILE *report)
{
	/* The new devices by id, in a scratch table: every step is a hash lookup, never a scan of the other list. */
	lpw_devtab_t *want = lpw_devtab_new();
	struct collect have = {calloc(lpw_devtab_count(g->devtab) + 1, sizeof(lpw_device_t *)), 0};
	if (!want || !have.devs) {
		LPW_ERR("gateway", "out of memory: the device list stays as it was");
		lpw_devtab_free(want);
		free(have.devs);
		return;
	}
	for (size_t i = 0; i < next->ndevices; i++) {
		lpw_device_t *unused;
		if (lpw_devtab_add(want, &next->devices[i], &unused) < 0)
			LPW_ERR("gateway", "%s: cannot be compared (out of memory)", next->devices[i].id);
	}
	lpw_devtab_foreach(g->devtab, collect_one, &have);
	size_t removed = 0, changed = 0, added = 0;
	for (size_t i = 0; i < have.n; i++) /* removals first: they free identities and keys for the others */
		if (!lpw_devtab_find_id(want, lpw_device_id(have.devs[i]))) {
			remove_device(g, have.devs[i], true);
			have.devs[i] = NULL;
			removed++;
		}
	for (size_t i = 0; i < have.n; i++) {
		if (!have.devs[i])
			continue;
		const lpw_config_device_t *cfg = lpw_device_config(lpw_devtab_find_id(want, lpw_device_id(have.devs[i])));
		update_device(g, have.devs[i], cfg);
		changed++;
	}
	for (size_t i = 0; i < next->ndevices; i++)
		if (!lpw_devtab_find_id(g->devtab, next->devices[i].id) && add_device(g, &next->devices[i]) == 0)
			added++;
	fprintf(report, "devices: %zu removed, %zu kept, %zu added\n", removed, changed, added);
	free(have.devs);
	lpw_devtab_free(want);
}

void gw_devices_stop(gateway_t *g)
{
	struct collect have = {calloc(lpw_devtab_count(g->devtab) + 1, sizeof(lpw_device_t *)), 0};
	if (!have.devs)
		return; /* the proxy and bindings still free what they hold */
	lpw_devtab_foreach(g->devtab, collect_one, &have);
	for (size_t i = 0; i < have.n; i++)
		remove_device(g, have.devs[i], false);
	free(have.devs);
}
