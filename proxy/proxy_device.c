/* A device's life in the proxy: joining (links, restored queue and registrations), a reload that changes it
 * (unchanged links keep their sessions, changed ones are made again), and leaving. */
#include "proxy/proxy_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static const lpw_config_server_t *server_at(const lpw_config_device_t *cfg, unsigned i)
{
	return i < cfg->nservers ? cfg->servers[i] : i == cfg->nservers ? cfg->bootstrap : NULL;
}

static uint32_t csm_size_of(const struct pdev *d)
{
	lpw_binding_traits_t t;
	px_traits(d, &t);
	return px_advertised_size(t.max_message_size);
}

int lpw_proxy_device_add(lpw_proxy_t *px, lpw_device_t *dev)
{
	struct pdev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->px = px;
	d->dev = dev;
	d->cfg = lpw_device_config(dev);
	d->qtail = &d->qhead;
	px_device_seed(d);
	d->dedup = lpw_dedup_new(PX_DEDUP_CAPACITY);
	d->nservers = (unsigned)d->cfg->nservers;
	d->csm_size = csm_size_of(d);
	lpw_device_set_slot(dev, LPW_SLOT_PROXY, d);
	d->next = px->devs;
	if (px->devs)
		px->devs->prev = d;
	px->devs = d;
	int rc = d->dedup ? 0 : -ENOMEM;
	for (unsigned i = 0; rc == 0 && i <= d->nservers; i++) {
		const lpw_config_server_t *srv = server_at(d->cfg, i);
		if (srv && !(d->servers[i] = px_server_open(d, i, srv)))
			rc = -ENOMEM;
	}
	if (rc == 0)
		rc = px_queue_load(d);
	/* A restored registration gets its session at once (the connection limit paces them), not at the device's
	 * next uplink, which for a LoRaWAN device may be its whole reporting period away. */
	for (unsigned i = 0; rc == 0 && i <= d->nservers; i++)
		if (d->servers[i] && d->servers[i]->restored && lpw_uplink_connect(d->servers[i]->link) < 0)
			LPW_WARN("proxy", "%s: cannot reconnect its restored registration yet", d->cfg->id);
	if (rc < 0) {
		LPW_ERR("proxy", "%s: cannot set up its upstream side (%s)", d->cfg->id, strerror(-rc));
		lpw_proxy_device_remove(px, dev, false);
	}
	return rc;
}

void lpw_proxy_device_remove(lpw_proxy_t *px, lpw_device_t *dev, bool forget)
{
	struct pdev *d = px_pdev_of(dev);
	if (!d)
		return;
	if (forget)
		px_queue_refuse(d, NULL);
	else
		px_queue_free(d);
	px_downlinks_free(d);
	lpw_loop_timer_clear(px->loop, &d->qtimer);
	lpw_loop_timer_clear(px->loop, &d->wtimer);
	for (unsigned i = 0; i <= d->nservers && i <= LPW_DEVICE_MAX_SERVERS; i++) {
		if (forget && d->servers[i])
			px_reg_forget(d->servers[i]);
		px_server_close(d->servers[i]);
	}
	lpw_dedup_free(d->dedup);
	if (d->prev)
		d->prev->next = d->next;
	else if (px->devs == d)
		px->devs = d->next;
	if (d->next)
		d->next->prev = d->prev;
	lpw_device_set_slot(dev, LPW_SLOT_PROXY, NULL);
	free(d);
}

/* The link to the server named like srv among the device's previous links, or -1. */
static int previous_link(struct px_server *const prev[], const lpw_config_server_t *srv)
{
	for (int j = 0; j <= LPW_DEVICE_MAX_SERVERS; j++)
		if (prev[j] && strcmp(lpw_uplink_server(prev[j]->link)->name, srv->name) == 0)
			return j;
	return -1;
}

/* A reload may keep a link only when nothing it was opened with changed: the server, the device's credentials,
 * the advertised message size. */
static bool link_unchanged(const struct px_server *s, const lpw_config_device_t *old, const lpw_config_device_t *cfg,
                           const lpw_config_server_t *srv, bool size_changed)
{
	return !size_changed && lpw_config_server_equal(lpw_uplink_server(s->link), srv) &&
	       lpw_config_tls_equal(&old->tls, &cfg->tls);
}

static bool named_in(const lpw_config_device_t *cfg, const char *name)
{
	for (unsigned i = 0; i <= cfg->nservers; i++) {
		const lpw_config_server_t *srv = server_at(cfg, i);
		if (srv && strcmp(srv->name, name) == 0)
			return true;
	}
	return false;
}

/* The device's registration moves with it to the server that replaced its old one: the device believes it is
 * registered, so the gateway registers it at the new server as it does after a reconnect. */
static void take_registration(struct px_server *to, const struct px_server *from)
{
	uint8_t blob[8192];
	size_t n = 0;
	if (!lpw_reg_is_registered(from->reg) || lpw_reg_serialise(from->reg, blob, sizeof(blob), &n) < 0 ||
	    lpw_reg_deserialise(to->reg, blob, n) < 0)
		return;
	to->restored = lpw_reg_is_registered(to->reg);
	to->renewed_wall_s = from->renewed_wall_s; /* the device's own Updates keep its lifetime, wherever it is */
	px_reg_save(to, false);
}

static void drop_link(struct pdev *d, struct px_server *s, bool forget)
{
	px_queue_refuse(d, s); /* the server loses this connection: it gets its answer now */
	if (forget)
		px_reg_forget(s);
	px_server_close(s);
}

void lpw_proxy_device_update(lpw_proxy_t *px, lpw_device_t *dev, const lpw_config_device_t *old)
{
	struct pdev *d = px_pdev_of(dev);
	if (!d)
		return;
	const lpw_config_device_t *cfg = lpw_device_config(dev);
	struct px_server *prev[LPW_DEVICE_MAX_SERVERS + 1], *next[LPW_DEVICE_MAX_SERVERS + 1] = {0};
	memcpy(prev, d->servers, sizeof(prev));
	d->cfg = cfg;
	uint32_t csm = csm_size_of(d);
	bool size_changed = csm != d->csm_size;
	d->csm_size = csm;
	for (unsigned i = 0; i <= cfg->nservers; i++) {
		const lpw_config_server_t *srv = server_at(cfg, i);
		if (!srv)
			continue;
		int j = previous_link(prev, srv);
		if (j >= 0 && link_unchanged(prev[j], old, cfg, srv, size_changed)) {
			next[i] = prev[j];
			prev[j] = NULL;
			next[i]->index = i;
			lpw_uplink_rebind(next[i]->link, cfg, srv);
			continue;
		}
		if (j >= 0) {
			LPW_NOTICE("proxy", "%s: server %s or its credentials changed: connecting again", cfg->id, srv->name);
			drop_link(d, prev[j], false); /* its registration stays stored: the new link registers it again */
			prev[j] = NULL;
		}
		next[i] = px_server_open(d, i, srv);
		struct px_server *replaced = prev[i] && !named_in(cfg, lpw_uplink_server(prev[i]->link)->name) ? prev[i] : NULL;
		if (next[i] && replaced && !next[i]->restored) {
			LPW_NOTICE("proxy", "%s: server %s replaces %s: registering the device there", cfg->id, srv->name,
			           lpw_uplink_server(replaced->link)->name);
			take_registration(next[i], replaced);
		}
		if (!next[i])
			LPW_ERR("proxy", "%s: no link to %s (out of memory)", cfg->id, srv->name);
		else if (next[i]->restored && lpw_uplink_connect(next[i]->link) < 0)
			LPW_WARN("proxy", "%s: cannot start a session to %s", cfg->id, srv->name);
	}
	for (int j = 0; j <= LPW_DEVICE_MAX_SERVERS; j++)
		if (prev[j]) {
			LPW_NOTICE("proxy", "%s: no longer uses server %s", cfg->id, lpw_uplink_server(prev[j]->link)->name);
			drop_link(d, prev[j], true);
		}
	memcpy(d->servers, next, sizeof(next));
	d->nservers = (unsigned)cfg->nservers;
	for (unsigned i = 0; i <= d->nservers; i++)
		if (d->servers[i])
			px_publish_state(d->servers[i]);
}

void lpw_proxy_reconfigure(lpw_proxy_t *px, const lpw_config_t *cfg)
{
	px->cfg = cfg;
	lpw_upstream_reconfigure(px->upstream, &cfg->upstream);
}
