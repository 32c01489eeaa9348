/* The gateway's wiring: config -> loop, store, telemetry, router, proxy, bindings; signals; reload. */
#include "gateway/gateway.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bindings/lorawan/lw_as.h"
#include "bindings/nidd/sgi.h"
#include "core/log.h"
#include "core/loop.h"
#include "gateway/router.h"
#include "core/stats.h"
#include "core/store.h"
#include "gateway/telemetry.h"
#include "proxy/proxy.h"

typedef struct {
	lpw_config_t *cfg;
	const lpw_gateway_options_t *opt;
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	lpw_store_t *store;
	lpw_telemetry_t *telemetry;
	lpw_router_t *router;
	lpw_proxy_t *proxy;
	lpw_proxy_hooks_t proxy_hooks;
	lpw_router_sink_t router_sink;
	lpw_stats_t stats;
	json_t *device_states; /* device id -> {"servers": {name: state}, "last_change": t}, published whole */
	int64_t *last_seen;    /* per device (same index as cfg->devices): wall-clock s of its latest uplink */
	int sigfd;
	int exit_code;
} gateway_t;

static void apply_logging(const lpw_config_t *cfg, const lpw_gateway_options_t *opt)
{
	int level = opt->log_level_override >= 0 ? opt->log_level_override : cfg->log_level;
	bool syslog_sink = cfg->log_syslog || !opt->foreground;
	lpw_log_setup(level, syslog_sink ? LPW_LOG_TO_SYSLOG : LPW_LOG_TO_STDERR, "lpwagw");
}

static lpw_telemetry_config_t telemetry_config(const lpw_config_t *cfg)
{
	const lpw_config_mqtt_t *m = &cfg->mqtt;
	return (lpw_telemetry_config_t){
		.host = m->host, .port = m->port, .ca_file = m->ca_file, .username = m->username,
		.password = m->password, .topic_prefix = m->topic_prefix, .gateway_id = cfg->gateway_id,
		.interval_s = m->interval_s, .keepalive_s = m->keepalive_s,
	};
}

static void on_event(void *arg, const char *type, const char *device_id, const char *detail)
{
	gateway_t *g = arg;
	if (g->telemetry)
		lpw_telemetry_event(g->telemetry, type, device_id, "%s", detail);
}

static void on_device_state(void *arg, const lpw_proxy_device_state_t *st)
{
	gateway_t *g = arg;
	if (!g->telemetry)
		return;
	/* A device may have several servers: its retained state holds one entry per server. */
	json_t *dev = json_object_get(g->device_states, st->device_id);
	if (!dev) {
		dev = json_pack("{s:{}}", "servers");
		if (!dev || json_object_set_new(g->device_states, st->device_id, dev) < 0)
			return;
	}
	json_t *srv = json_pack("{s:b, s:i, s:s, s:s, s:s}", "registered", st->registered, "lifetime",
	                        (json_int_t)st->lifetime_s, "upstream", st->upstream, "reason", st->reason, "location",
	                        st->location);
	json_object_set_new(json_object_get(dev, "servers"), st->server, srv);
	json_object_set_new(dev, "last_change", json_integer(lpw_clock_wall_s()));
	const lpw_config_device_t *cd = lpw_config_find_device(g->cfg, st->device_id);
	if (cd && g->last_seen[cd - g->cfg->devices])
		json_object_set_new(dev, "last_seen", json_integer(g->last_seen[cd - g->cfg->devices]));
	if (lpw_telemetry_device_state(g->telemetry, st->device_id, dev) < 0)
		LPW_DEBUG("gateway", "%s: device state not published", st->device_id);
}

static int send_to_device(void *arg, const lpw_config_device_t *dev, int server, const uint8_t *data, size_t len)
{
	gateway_t *g = arg;
	return lpw_router_send(g->router, dev, server, data, len);
}

static int deliver_to_proxy(void *arg, const lpw_config_device_t *dev, int server, const uint8_t *data, size_t len)
{
	gateway_t *g = arg;
	g->last_seen[dev - g->cfg->devices] = lpw_clock_wall_s();
	return lpw_proxy_uplink(g->proxy, dev, server, data, len);
}

static void device_reachable(void *arg, const lpw_config_device_t *dev, uint32_t window_ms)
{
	gateway_t *g = arg;
	lpw_proxy_reachable(g->proxy, dev, window_ms);
}

static void delivery_outcome(void *arg, const lpw_config_device_t *dev, lpw_delivery_t outcome)
{
	gateway_t *g = arg;
	if (outcome == LPW_DELIVERY_FAILED)
		lpw_proxy_delivery_failed(g->proxy, dev);
}

static size_t queued_for(void *arg, const lpw_config_device_t *dev)
{
	gateway_t *g = arg;
	return lpw_proxy_queued(g->proxy, dev);
}

static int start_bindings(gateway_t *g)
{
	if (g->cfg->sgi.enabled) {
		lpw_binding_t b;
		int rc = lpw_sgi_new(g->loop, g->cfg, lpw_router_host(g->router), &b);
		if (rc < 0)
			return rc;
		lpw_proxy_set_retransmit(g->proxy, b.ops->kind, b.ops->proxy_retransmits);
		if (lpw_router_attach(g->router, b) < 0)
			return -EEXIST;
	}
	if (g->cfg->lorawan.enabled) {
		lpw_binding_t b;
		int rc = lpw_lorawan_new(g->loop, g->cfg, g->store, &g->stats, lpw_router_host(g->router), &b);
		if (rc < 0)
			return rc;
		/* LwM2M App. C replaces CoAP retransmission, and a Class A device listens only after its uplinks */
		lpw_proxy_set_retransmit(g->proxy, b.ops->kind, b.ops->proxy_retransmits);
		lpw_proxy_set_queue_by_nature(g->proxy, b.ops->kind, true);
		if (lpw_router_attach(g->router, b) < 0)
			return -EEXIST;
	}
	return 0;
}

/* SIGHUP: a new configuration is loaded and checked whole; on any problem the running one stays. Log and
 * telemetry settings apply now; the rest is reported as needing a restart (the data path keeps the old). */
static void reload(gateway_t *g)
{
	lpw_config_t *next = NULL;
	char *errors = NULL;
	size_t errlen = 0;
	FILE *err = open_memstream(&errors, &errlen);
	int rc = lpw_config_load(g->cfg->path, &next, err);
	if (err)
		fclose(err);
	if (rc < 0) {
		LPW_ERR("gateway", "reload of %s refused; still running on the previous configuration:\n%s", g->cfg->path,
		        errors ? errors : "");
		free(errors);
		return;
	}
	free(errors);
	char *report = NULL;
	size_t replen = 0;
	FILE *out = open_memstream(&report, &replen);
	int restart = out ? lpw_config_diff(g->cfg, next, out) : 0;
	if (out)
		fclose(out);
	LPW_NOTICE("gateway", "configuration reloaded%s%s", report && *report ? ":\n" : " (no changes)",
	           report ? report : "");
	if (restart > 0)
		LPW_WARN("gateway", "%d changed settings take effect only after a restart", restart);
	free(report);
	apply_logging(next, g->opt);
	if (g->telemetry) {
		lpw_telemetry_config_t tc = telemetry_config(next);
		if (lpw_telemetry_reconfigure(g->telemetry, &tc) < 0)
			LPW_WARN("gateway", "telemetry keeps its previous broker settings");
		lpw_telemetry_event(g->telemetry, "config-reloaded", NULL, "%d settings need a restart", restart);
	}
	/* The proxy, router and bindings hold pointers into the running configuration: it stays. */
	lpw_config_free(next);
}

static void on_signal(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	gateway_t *g = arg;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(g);
		} else {
			LPW_NOTICE("gateway", "signal %d: stopping", (int)si.ssi_signo);
			lpw_loop_stop(loop);
		}
	}
}

static int setup_signals(gateway_t *g)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	g->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (g->sigfd < 0)
		return -errno;
	return lpw_loop_add_fd(g->loop, g->sigfd, EPOLLIN, on_signal, g);
}

static int start(gateway_t *g)
{
	char err[256];
	int rc;
	g->clock = lpw_clock_new_real();
	g->loop = g->clock ? lpw_loop_new(g->clock) : NULL;
	if (!g->loop)
		return -ENOMEM;
	if ((rc = setup_signals(g)) < 0) {
		LPW_ERR("gateway", "cannot set up signal handling: %s", strerror(-rc));
		return rc;
	}
	g->store = lpw_store_open(g->cfg->state_dir, err, sizeof(err));
	if (!g->store) {
		LPW_ERR("gateway", "cannot open the state store in %s: %s", g->cfg->state_dir, err);
		return -EIO;
	}
	if (g->cfg->mqtt.enabled) {
		lpw_telemetry_config_t tc = telemetry_config(g->cfg);
		g->telemetry = lpw_telemetry_new(g->loop, &tc, &g->stats);
		if (!g->telemetry)
			return -ENOMEM;
	}
	g->device_states = json_object();
	g->last_seen = calloc(g->cfg->ndevices + 1, sizeof(*g->last_seen));
	if (!g->device_states || !g->last_seen)
		return -ENOMEM;
	g->proxy_hooks = (lpw_proxy_hooks_t){send_to_device, on_device_state, on_event, g};
	g->router_sink = (lpw_router_sink_t){deliver_to_proxy, device_reachable, delivery_outcome, queued_for, g};
	g->router = lpw_router_new(g->cfg, &g->stats, &g->router_sink);
	g->proxy = g->router ? lpw_proxy_new(g->loop, g->cfg, &g->stats, &g->proxy_hooks, g->store) : NULL;
	if (!g->proxy)
		return -ENOMEM;
	if ((rc = start_bindings(g)) < 0)
		return rc;
	LPW_NOTICE("gateway", "lpwagw %s started: gateway %s, %zu devices, %zu servers", LPW_VERSION, g->cfg->gateway_id,
	           g->cfg->ndevices, g->cfg->nservers);
	return 0;
}

static void stop(gateway_t *g)
{
	/* Order: stop telemetry first so "offline" goes out while everything else is still consistent. */
	if (g->telemetry)
		lpw_telemetry_stop(g->telemetry);
	lpw_router_free(g->router);
	lpw_proxy_free(g->proxy);
	lpw_telemetry_free(g->telemetry);
	json_decref(g->device_states);
	free(g->last_seen);
	lpw_store_close(g->store);
	if (g->sigfd >= 0) {
		lpw_loop_del_fd(g->loop, g->sigfd);
		close(g->sigfd);
	}
	lpw_loop_free(g->loop);
	lpw_clock_free(g->clock);
	lpw_config_free(g->cfg);
}

int lpw_gateway_run(lpw_config_t *cfg, const lpw_gateway_options_t *options)
{
	gateway_t g = {.cfg = cfg, .opt = options, .sigfd = -1};
	apply_logging(cfg, options);
	int rc = start(&g);
	if (rc == 0)
		rc = lpw_loop_run(g.loop);
	stop(&g);
	LPW_NOTICE("gateway", "stopped");
	return rc;
}
