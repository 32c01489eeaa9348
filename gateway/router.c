/* Router: a sorted index of (binding, identity) -> device, and one binding per kind. */
#include "gateway/router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct lpw_router {
	const lpw_config_t *cfg;
	lpw_stats_t *stats;
	const lpw_router_sink_t *sink;
	lpw_binding_host_t host;
	lpw_binding_t bindings[LPW_BINDING_COUNT];
	const lpw_config_device_t **index; /* sorted by (binding, identity) */
	bool *seen;                        /* per device, same index as cfg->devices */
};

static int cmp_key(lpw_binding_kind_t ka, const char *ia, const lpw_config_device_t *b)
{
	if (ka != b->binding)
		return ka < b->binding ? -1 : 1;
	return strcmp(ia, b->identity);
}

static int cmp_devices(const void *a, const void *b)
{
	const lpw_config_device_t *da = *(const lpw_config_device_t *const *)a;
	return cmp_key(da->binding, da->identity, *(const lpw_config_device_t *const *)b);
}

const lpw_config_device_t *lpw_router_find(const lpw_router_t *r, lpw_binding_kind_t kind, const char *identity)
{
	size_t lo = 0, hi = r->cfg->ndevices;
	while (identity && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_key(kind, identity, r->index[mid]);
		if (c == 0)
			return r->index[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void on_uplink(void *arg, lpw_binding_kind_t kind, const char *identity, int server, const uint8_t *data,
                      size_t len)
{
	lpw_router_t *r = arg;
	const lpw_config_device_t *dev = lpw_router_find(r, kind, identity);
	if (!dev) {
		r->stats->dropped_unknown_device++;
		return;
	}
	r->sink->deliver(r->sink->arg, dev, server, data, len);
}

static void on_reachable(void *arg, lpw_binding_kind_t kind, const char *identity, uint32_t window_ms)
{
	lpw_router_t *r = arg;
	const lpw_config_device_t *dev = lpw_router_find(r, kind, identity);
	if (!dev)
		return;
	size_t i = (size_t)(dev - r->cfg->devices);
	if (!r->seen[i]) {
		r->seen[i] = true;
		r->stats->devices_reachable++;
	}
	if (r->sink->reachable)
		r->sink->reachable(r->sink->arg, dev, window_ms);
}

static void on_outcome(void *arg, lpw_binding_kind_t kind, const char *identity, lpw_delivery_t outcome)
{
	lpw_router_t *r = arg;
	const lpw_config_device_t *dev = lpw_router_find(r, kind, identity);
	if (dev && r->sink->outcome)
		r->sink->outcome(r->sink->arg, dev, outcome);
}

static size_t on_queued(void *arg, lpw_binding_kind_t kind, const char *identity)
{
	lpw_router_t *r = arg;
	const lpw_config_device_t *dev = lpw_router_find(r, kind, identity);
	return dev && r->sink->queued ? r->sink->queued(r->sink->arg, dev) : 0;
}

lpw_router_t *lpw_router_new(const lpw_config_t *cfg, lpw_stats_t *stats, const lpw_router_sink_t *sink)
{
	lpw_router_t *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->cfg = cfg;
	r->stats = stats;
	r->sink = sink;
	r->host = (lpw_binding_host_t){on_uplink, on_reachable, on_outcome, on_queued, r};
	r->index = calloc(cfg->ndevices + 1, sizeof(*r->index));
	r->seen = calloc(cfg->ndevices + 1, sizeof(*r->seen));
	if (!r->index || !r->seen) {
		lpw_router_free(r);
		return NULL;
	}
	for (size_t i = 0; i < cfg->ndevices; i++)
		r->index[i] = &cfg->devices[i];
	qsort(r->index, cfg->ndevices, sizeof(*r->index), cmp_devices);
	stats->devices_known = (uint32_t)cfg->ndevices;
	return r;
}

void lpw_router_free(lpw_router_t *r)
{
	if (!r)
		return;
	for (int k = 0; k < LPW_BINDING_COUNT; k++)
		if (r->bindings[k].ops)
			r->bindings[k].ops->free(r->bindings[k].self);
	free(r->index);
	free(r->seen);
	free(r);
}

const lpw_binding_host_t *lpw_router_host(lpw_router_t *r)
{
	return &r->host;
}

int lpw_router_attach(lpw_router_t *r, lpw_binding_t binding)
{
	lpw_binding_kind_t k = binding.ops->kind;
	if (r->bindings[k].ops)
		return -EEXIST;
	r->bindings[k] = binding;
	return 0;
}

int lpw_router_send(lpw_router_t *r, const lpw_config_device_t *dev, int server, const uint8_t *data, size_t len)
{
	lpw_binding_t *b = &r->bindings[dev->binding];
	if (!b->ops) {
		LPW_WARN("router", "%s: binding %s is not running; downlink dropped", dev->id,
		         lpw_config_binding_name(dev->binding));
		return -ENODEV;
	}
	return b->ops->send(b->self, dev, server, data, len);
}

bool lpw_router_seen(const lpw_router_t *r, const lpw_config_device_t *dev)
{
	size_t i = (size_t)(dev - r->cfg->devices);
	return i < r->cfg->ndevices && r->seen[i];
}
