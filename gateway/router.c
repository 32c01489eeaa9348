/* Router: one binding per kind, the host interface bindings call, the southbound interface the proxy calls. */
#include "gateway/router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"

struct lpw_router {
	lpw_devtab_t *tab;
	lpw_stats_t *stats;
	lpw_router_hooks_t hooks;
	lpw_northbound_t north;
	lpw_binding_host_t host;
	lpw_southbound_t south;
	lpw_binding_t bindings[LPW_BINDING_COUNT];
};

/* A device counts as reachable once it has been heard (SGi: its address is known). */
static void heard(lpw_router_t *r, lpw_device_t *dev)
{
	if (!lpw_device_last_seen(dev))
		r->stats->devices_reachable++;
	lpw_device_touch(dev, lpw_clock_wall_s());
}

static void on_uplink(void *ctx, lpw_device_t *dev, int server, const uint8_t *data, size_t len)
{
	lpw_router_t *r = ctx;
	heard(r, dev);
	lpw_device_count(dev, LPW_DEVICE_UPLINKS);
	if (r->north.uplink)
		r->north.uplink(r->north.ctx, dev, server, data, len);
}

static void on_reachable(void *ctx, lpw_device_t *dev, uint32_t window_ms)
{
	lpw_router_t *r = ctx;
	heard(r, dev);
	if (r->north.reachable)
		r->north.reachable(r->north.ctx, dev, window_ms);
}

static void on_outcome(void *ctx, lpw_device_t *dev, lpw_delivery_t outcome)
{
	lpw_router_t *r = ctx;
	if (r->north.outcome)
		r->north.outcome(r->north.ctx, dev, outcome);
}

static lpw_device_t *on_find(void *ctx, lpw_binding_kind_t kind, const char *identity)
{
	lpw_router_t *r = ctx;
	return lpw_devtab_find(r->tab, kind, identity);
}

static lpw_device_t *on_find_key(void *ctx, lpw_binding_kind_t kind, const void *key, size_t len)
{
	lpw_router_t *r = ctx;
	return lpw_devtab_find_key(r->tab, kind, key, len);
}

static int on_set_key(void *ctx, lpw_device_t *dev, const void *key, size_t len)
{
	lpw_router_t *r = ctx;
	return lpw_devtab_set_key(r->tab, dev, key, len);
}

static void on_dropped(void *ctx, lpw_binding_kind_t kind)
{
	lpw_router_t *r = ctx;
	r->stats->dropped_unknown_device++;
}

static void on_event(void *ctx, lpw_device_t *dev, const char *type, const char *detail)
{
	lpw_router_t *r = ctx;
	if (r->hooks.event)
		r->hooks.event(r->hooks.ctx, dev, type, detail);
}

static const lpw_binding_t *binding_of(const lpw_router_t *r, const lpw_device_t *dev)
{
	const lpw_binding_t *b = &r->bindings[lpw_device_binding(dev)];
	return b->ops ? b : NULL;
}

static int south_send(void *ctx, lpw_device_t *dev, const lpw_downlink_t *dl)
{
	lpw_router_t *r = ctx;
	const lpw_binding_t *b = binding_of(r, dev);
	if (!b) {
		LPW_WARN("router", "%s: binding %s is not running; downlink dropped", lpw_device_id(dev),
		         lpw_config_binding_name(lpw_device_binding(dev)));
		return -ENODEV;
	}
	int rc = b->ops->send(b->self, dev, dl);
	lpw_device_count(dev, rc == 0 ? LPW_DEVICE_DOWNLINKS : LPW_DEVICE_SEND_REFUSED);
	return rc;
}

static void south_traits(void *ctx, const lpw_device_t *dev, lpw_binding_traits_t *out)
{
	lpw_router_t *r = ctx;
	const lpw_binding_t *b = binding_of(r, dev);
	memset(out, 0, sizeof(*out));
	if (b)
		b->ops->traits(b->self, dev, out);
}

/* Wake-up by SMS (LwM2M 1.1.1 §6.6) for a device of any binding: the SMS binding, if it runs, does it. */
static int south_wake(void *ctx, lpw_device_t *dev)
{
	lpw_router_t *r = ctx;
	const lpw_binding_t *b = &r->bindings[LPW_BINDING_SMS];
	if (!b->ops || !b->ops->wake)
		return -ENOTSUP;
	return b->ops->wake(b->self, dev);
}

lpw_router_t *lpw_router_new(lpw_devtab_t *tab, lpw_stats_t *stats, const lpw_router_hooks_t *hooks)
{
	lpw_router_t *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->tab = tab;
	r->stats = stats;
	if (hooks)
		r->hooks = *hooks;
	r->host = (lpw_binding_host_t){on_uplink, on_reachable, on_outcome, on_find, on_find_key, on_set_key,
	                               on_dropped, on_event, r};
	r->south = (lpw_southbound_t){south_send, south_traits, r, south_wake};
	return r;
}

void lpw_router_free(lpw_router_t *r)
{
	if (!r)
		return;
	for (int k = 0; k < LPW_BINDING_COUNT; k++)
		if (r->bindings[k].ops)
			r->bindings[k].ops->free(r->bindings[k].self);
	free(r);
}

void lpw_router_set_northbound(lpw_router_t *r, const lpw_northbound_t *north)
{
	r->north = *north;
}

const lpw_binding_host_t *lpw_router_host(lpw_router_t *r)
{
	return &r->host;
}

const lpw_southbound_t *lpw_router_southbound(lpw_router_t *r)
{
	return &r->south;
}

int lpw_router_attach(lpw_router_t *r, lpw_binding_kind_t kind, lpw_binding_t binding)
{
	if ((unsigned)kind >= LPW_BINDING_COUNT || r->bindings[kind].ops)
		return -EEXIST;
	r->bindings[kind] = binding;
	return 0;
}

int lpw_router_start_bindings(lpw_router_t *r, const lpw_binding_desc_t *rows, size_t nrows, const lpw_binding_env_t *env)
{
	for (size_t i = 0; i < nrows; i++) {
		const lpw_binding_desc_t *row = &rows[i];
		if (!row->enabled(env->cfg))
			continue;
		lpw_binding_t b;
		int rc = row->create(env, &b);
		if (rc < 0)
			return rc;
		if (lpw_router_attach(r, row->kind, b) < 0) {
			LPW_ERR("router", "binding %s is in the registry twice", row->name);
			b.ops->free(b.self);
			return -EEXIST;
		}
		LPW_INFO("router", "binding %s started", row->name);
	}
	return 0;
}

bool lpw_router_running(const lpw_router_t *r, lpw_binding_kind_t kind)
{
	return (unsigned)kind < LPW_BINDING_COUNT && r->bindings[kind].ops;
}

int lpw_router_device_add(lpw_router_t *r, lpw_device_t *dev)
{
	const lpw_binding_t *b = binding_of(r, dev);
	return b && b->ops->device_add ? b->ops->device_add(b->self, dev) : 0;
}

void lpw_router_device_update(lpw_router_t *r, lpw_device_t *dev, const lpw_config_device_t *old)
{
	const lpw_binding_t *b = binding_of(r, dev);
	if (b && b->ops->device_update)
		b->ops->device_update(b->self, dev, old);
}

void lpw_router_device_remove(lpw_router_t *r, lpw_device_t *dev)
{
	const lpw_binding_t *b = binding_of(r, dev);
	if (b && b->ops->device_remove)
		b->ops->device_remove(b->self, dev);
}

int lpw_router_reconfigure(lpw_router_t *r, const lpw_config_t *cfg, FILE *report)
{
	int restart = 0;
	for (int k = 0; k < LPW_BINDING_COUNT; k++) {
		const lpw_binding_t *b = &r->bindings[k];
		if (b->ops && b->ops->reconfigure)
			restart += b->ops->reconfigure(b->self, cfg, report);
	}
	return restart;
}

int lpw_router_reset_session(lpw_router_t *r, lpw_device_t *dev)
{
	const lpw_binding_t *b = binding_of(r, dev);
	if (!b)
		return -ENODEV;
	if (!b->ops->reset_session)
		return -EOPNOTSUPP;
	return b->ops->reset_session(b->self, dev);
}

void lpw_router_report(const lpw_router_t *r, json_t *obj)
{
	for (int k = 0; k < LPW_BINDING_COUNT; k++) {
		const lpw_binding_t *b = &r->bindings[k];
		if (!b->ops || !b->ops->report)
			continue;
		json_t *sub = json_object();
		if (!sub)
			return;
		b->ops->report(b->self, sub);
		json_object_set_new(obj, lpw_config_binding_name((lpw_binding_kind_t)k), sub);
	}
}
