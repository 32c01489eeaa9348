/* The gateway's wiring: config -> loop, store, telemetry, device table, router, proxy, bindings (every row of the
 * binding registry); signals; reload without restart. */
#include "gateway/gateway_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bindings/binding.h"
#include "core/log.h"
#include "core/ratelimit.h"

static lpw_ratelimit_config_t rate_limit(const lpw_config_t *cfg)
{
	return (lpw_ratelimit_config_t){.burst = cfg->log_limit_burst, .per_period = cfg->log_limit_lines,
					.period_ms = cfg->log_limit_period_s * 1000};
}

static void apply_logging(const lpw_config_t *cfg, const lpw_gateway_options_t *opt)
{
	int level = opt->log_level_override >= 0 ? opt->log_level_override : cfg->log_level;
	bool syslog_sink = cfg->log_syslog || !opt->foreground;
	lpw_log_setup(level, syslog_sink ? LPW_LOG_TO_SYSLOG : LPW_LOG_TO_STDERR, "lpwagw");
	lpw_ratelimit_config_t lim = rate_limit(cfg);
	if (lpw_log_set_limits(&lim) < 0)
		LPW_WARN("gateway", "repeated log lines are not rate-limited: out of memory");
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
	uint64_t quiet = 0;
	if (!g->telemetry)
		return;
	if (!lpw_ratelimit_allow(g->event_limit, lpw_loop_now(g->loop), type, device_id, &quiet))
		g->stats.events_suppressed++;
	else if (quiet)
		lpw_telemetry_event(g->telemetry, type, device_id, "%s (%llu similar suppressed)", detail,
				    (unsigned long long)quiet);
	else
		lpw_telemetry_event(g->telemetry, type, device_id, "%s", detail);
}

static void on_binding_event(void *arg, lpw_device_t *dev, const char *type, const char *detail)
{
	on_event(arg, type, dev ? lpw_device_id(dev) : NULL, detail);
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
	json_t *srv = json_pack("{s:b, s:I, s:s, s:s, s:s}", "registered", st->registered, "lifetime",
	                        (json_int_t)st->lifetime_s, "upstream", st->upstream, "reason", st->reason, "location",
	                        st->location);
	json_object_set_new(json_object_get(dev, "servers"), st->server, srv);
	json_object_set_new(dev, "last_change", json_integer(lpw_clock_wall_s()));
	if (st->dev && lpw_device_last_seen(st->dev))
		json_object_set_new(dev, "last_seen", json_integer(lpw_device_last_seen(st->dev)));
	if (lpw_telemetry_device_state(g->telemetry, st->device_id, dev) < 0)
		LPW_DEBUG("gateway", "%s: device state not published", st->device_id);
}

/* Every enabled row of the registry, created with the same environment; the gateway knows no binding by name. */
static void report_bindings(void *arg, json_t *obj)
{
	lpw_router_report(arg, obj);
}

static int start_bindings(gateway_t *g)
{
	g->binding_env = (lpw_binding_env_t){.loop = g->loop, .cfg = g->cfg, .store = g->store, .stats = &g->stats,
	                                     .host = lpw_router_host(g->router)};
	return lpw_router_start_bindings(g->router, lpw_binding_registry, lpw_binding_registry_len, &g->binding_env);
}

/* Bindings switched on or off need a restart: a binding owns sockets and devices from its start. */
static int report_binding_switches(const lpw_config_t *old, const lpw_config_t *next, FILE *out)
{
	int n = 0;
	for (size_t i = 0; i < lpw_binding_registry_len; i++) {
		const lpw_binding_desc_t *row = &lpw_binding_registry[i];
		if (row->enabled(old) != row->enabled(next)) {
			fprintf(out, "bindings.%s: %s; needs a restart\n", row->name, row->enabled(next) ? "enabled" : "disabled");
			n++;
		}
	}
	return n;
}

static char *load_for_reload(const char *path, lpw_config_t **out)
{
	char *errors = NULL;
	size_t errlen = 0;
	FILE *err = open_memstream(&errors, &errlen);
	int rc = lpw_config_load(path, out, err);
	if (err)
		fclose(err);
	if (rc == 0) {
		free(errors);
		return NULL;
	}
	return errors ? errors : strdup("");
}

/* SIGHUP: a new configuration is loaded and checked whole; on any problem the running one stays and says why.
 * Otherwise everything applies now (devices and servers included: unchanged devices keep their sessions, queues
 * and LoRaWAN sessions) except the settings that need a restart, which are named. */
int gw_reload(gateway_t *g, FILE *answer)
{
	lpw_config_t *next = NULL;
	char *errors = load_for_reload(g->cfg->path, &next);
	if (errors) {
		LPW_ERR("gateway", "reload of %s refused; still running on the previous configuration:\n%s", g->cfg->path,
		        errors);
		if (g->telemetry)
			lpw_telemetry_event(g->telemetry, "config-refused", NULL, "%s", errors);
		if (answer)
			fputs(errors, answer);
		free(errors);
		return -EINVAL;
	}
	char *report = NULL;
	size_t replen = 0;
	FILE *out = open_memstream(&report, &replen);
	if (!out) {
		LPW_ERR("gateway", "reload: out of memory; still running on the previous configuration");
		lpw_config_free(next);
		return -ENOMEM;
	}
	int restart = lpw_config_diff(g->cfg, next, out);
	restart += report_binding_switches(g->cfg, next, out);
	restart += lpw_router_reconfigure(g->router, next, out);
	lpw_proxy_reconfigure(g->proxy, next);
	gw_devices_apply(g, next, out);
	fclose(out);
	lpw_config_t *old = g->cfg;
	g->cfg = next; /* nothing points into the old configuration any more */
	g->binding_env.cfg = next;
	lpw_config_free(old);
	LPW_NOTICE("gateway", "configuration reloaded:\n%s", report ? report : "");
	if (answer)
		fputs(report ? report : "", answer);
	if (restart > 0)
		LPW_WARN("gateway", "%d changed settings take effect only after a restart", restart);
	free(report);
	apply_logging(next, g->opt);
	lpw_ratelimit_config_t lim = rate_limit(next);
	lpw_ratelimit_configure(g->event_limit, &lim);
	if (g->telemetry) {
		lpw_telemetry_config_t tc = telemetry_config(next);
		if (lpw_telemetry_reconfigure(g->telemetry, &tc) < 0)
			LPW_WARN("gateway", "telemetry keeps its previous broker settings");
		lpw_telemetry_event(g->telemetry, "config-reloaded", NULL, "%d settings need a restart", restart);
	}
	return 0;
}

/* systemd (Type=notify): ready once sockets are bound and the store is open; also the end of a reload. */
static void notify_ready(gateway_t *g)
{
	lpw_notify_send(g->notify, "READY=1\nSTATUS=running: %zu devices, %zu servers", lpw_devtab_count(g->devtab),
	                g->cfg->nservers);
}

static void on_signal(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	gateway_t *g = arg;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			lpw_notify_reloading(g->notify, "reloading the configuration");
			(void)gw_reload(g, NULL);
			notify_ready(g);
		} else {
			LPW_NOTICE("gateway", "signal %d: stopping", (int)si.ssi_signo);
			lpw_notify_send(g->notify, "STOPPING=1\nSTATUS=stopping");
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

char *gw_stats_payload(void *arg)
{
	gateway_t *g = arg;
	int64_t uptime = (lpw_loop_now(g->loop) - g->started_ms) / 1000;
	return lpw_telemetry_build_stats(&g->stats, uptime, lpw_telemetry_dropped(g->telemetry));
}

/* The Prometheus endpoint (issue 14 item 5), off unless metrics.enabled. */
static int start_metrics(gateway_t *g)
{
	const lpw_config_metrics_t *c = &g->cfg->metrics;
	if (!c->enabled)
		return 0;
	lpw_metrics_config_t mc = {.listen = c->listen, .port = c->port, .snapshot = gw_stats_payload, .arg = g};
	g->metrics = lpw_metrics_new(g->loop, &mc);
	return g->metrics ? 0 : -EADDRNOTAVAIL;
}

/* lpwagw-ctl's socket (issue 14 item 4), when configured; bound after the devices so every command sees them. */
static int start_control(gateway_t *g)
{
	const lpw_config_control_t *c = &g->cfg->control;
	if (!c->socket)
		return 0;
	lpw_control_config_t cc = {.path = c->socket, .mode = c->mode, .allow_uid = c->allow_uid,
	                           .allow_gid = c->allow_gid};
	g->control = lpw_control_new(g->loop, &cc, gw_control_handle, g);
	return g->control ? 0 : -EADDRNOTAVAIL;
}

static int start(gateway_t *g)
{
	char err[256];
	int rc;
	g->clock = lpw_clock_new_real();
	g->loop = g->clock ? lpw_loop_new(g->clock) : NULL;
	if (!g->loop)
		return -ENOMEM;
	g->started_ms = lpw_loop_now(g->loop);
	g->notify = lpw_notify_new(g->loop);
	if ((rc = lpw_notify_start_watchdog(g->notify)) < 0)
		return rc;
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
	g->devtab = lpw_devtab_new();
	lpw_ratelimit_config_t lim = rate_limit(g->cfg);
	g->event_limit = lpw_ratelimit_new(&lim);
	if (!g->device_states || !g->devtab || !g->event_limit)
		return -ENOMEM;
	g->proxy_hooks = (lpw_proxy_hooks_t){on_device_state, on_event, g};
	lpw_router_hooks_t rh = {on_binding_event, g};
	g->router = lpw_router_new(g->devtab, &g->stats, &rh);
	g->proxy = g->router ? lpw_proxy_new(g->loop, g->cfg, &g->stats, &g->proxy_hooks,
	                                     lpw_router_southbound(g->router), g->store)
	                     : NULL;
	if (!g->proxy)
		return -ENOMEM;
	lpw_router_set_northbound(g->router, lpw_proxy_northbound(g->proxy));
	/* each binding's report op (SMS: modem state, signal, registration) as stats.bindings */
	lpw_stats_source_t bindings = {.name = "bindings", .report = report_bindings, .arg = g->router};
	if (g->router && lpw_stats_add_source(&g->stats, &bindings) < 0)
		LPW_WARN("gateway", "no stats slot left for the bindings' reports");
	if ((rc = start_bindings(g)) < 0 || (rc = gw_devices_start(g)) < 0)
		return rc;
	if ((rc = start_control(g)) < 0 || (rc = start_metrics(g)) < 0)
		return rc;
	LPW_NOTICE("gateway", "lpwagw %s started: gateway %s, %zu devices, %zu servers", LPW_VERSION, g->cfg->gateway_id,
	           lpw_devtab_count(g->devtab), g->cfg->nservers);
	return 0;
}

static void stop(gateway_t *g)
{
	/* Order: stop telemetry first so "offline" goes out while everything else is still consistent. */
	if (g->telemetry)
		lpw_telemetry_stop(g->telemetry);
	lpw_control_free(g->control);
	lpw_metrics_free(g->metrics);
	if (g->devtab && g->router && g->proxy)
		gw_devices_stop(g);
	lpw_proxy_free(g->proxy);
	lpw_stats_del_source(&g->stats, g->router);
	lpw_router_free(g->router);
	lpw_devtab_free(g->devtab);
	lpw_telemetry_free(g->telemetry);
	json_decref(g->device_states);
	lpw_ratelimit_free(g->event_limit);
	lpw_store_close(g->store);
	lpw_notify_free(g->notify);
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
	if (rc == 0) {
		notify_ready(&g);
		rc = lpw_loop_run(g.loop);
	} else {
		lpw_notify_send(g.notify, "STATUS=start-up failed: %s\nERRNO=%d", strerror(-rc), -rc);
	}
	stop(&g);
	LPW_NOTICE("gateway", "stopped");
	return rc;
}
