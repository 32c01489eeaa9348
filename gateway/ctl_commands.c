/* What each lpwagw-ctl command does and says: gathered through the modules' own interfaces (device table, router,
 * proxy, stats), rendered as text for people or as JSON for scripts. Never a key or a password. */
#include "gateway/gateway_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

#ifndef LPW_VERSION
#define LPW_VERSION "unknown"
#endif

/* Writes j (a new reference, consumed) as one line of JSON. */
static int put_json(FILE *out, json_t *j, int code)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s)
		return LPW_CTL_FAILED;
	fprintf(out, "%s\n", s);
	free(s);
	return code;
}

static int fail(FILE *out, bool json, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(FILE *out, bool json, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json)
		return put_json(out, json_pack("{s:s}", "error", msg), code);
	fprintf(out, "%s\n", msg);
	return code;
}

static void fmt_time(int64_t wall_s, char *buf, size_t size)
{
	struct tm tm;
	time_t t = (time_t)wall_s;
	if (!wall_s || !gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "never");
}

/* --- status --- */

static int cmd_status(gateway_t *g, const lpw_ctl_cmd_t *cmd, FILE *out)
{
	int64_t uptime = (lpw_loop_now(g->loop) - g->started_ms) / 1000;
	char *stats = gw_stats_payload(g);
	json_t *st = stats ? json_loads(stats, 0, NULL) : NULL;
	free(stats);
	if (!st)
		return fail(out, cmd->json, LPW_CTL_FAILED, "%s", "out of memory");
	if (cmd->json)
		return put_json(out, json_pack("{s:s, s:s, s:I, s:b, s:o}", "gateway_id", g->cfg->gateway_id, "version",
		                               LPW_VERSION, "devices", (json_int_t)lpw_devtab_count(g->devtab), "mqtt",
		                               g->telemetry && lpw_telemetry_connected(g->telemetry), "stats", st),
		                LPW_CTL_OK);
	fprintf(out, "lpwagw %s, gateway %s, up %" PRId64 " s\n", LPW_VERSION, g->cfg->gateway_id, uptime);
	fprintf(out, "devices: %u known, %u reachable\n", g->stats.devices_known, g->stats.devices_reachable);
	fprintf(out, "upstream: %u up, %u down, %" PRIu64 " reconnects\n", g->stats.upstream_up, g->stats.upstream_down,
	        g->stats.upstream_reconnects);
	fprintf(out, "queued server requests: %u\n", g->stats.queue_depth);
	for (int k = 0; k < LPW_BINDING_COUNT; k++)
		if (lpw_router_running(g->router, (lpw_binding_kind_t)k))
			fprintf(out, "binding %s: %" PRIu64 " up, %" PRIu64 " down\n", lpw_config_binding_name(k),
			        g->stats.msgs_up[k], g->stats.msgs_down[k]);
	fprintf(out, "dropped: %" PRIu64 " unknown device, %" PRIu64 " malformed; %" PRIu64 " duplicates, %" PRIu64
	             " errors\n", g->stats.dropped_unknown_device, g->stats.dropped_malformed, g->stats.duplicates,
	        g->stats.errors);
	fprintf(out, "mqtt: %s\n", !g->telemetry ? "off" : lpw_telemetry_connected(g->telemetry) ? "connected"
	                                                                                         : "not connected");
	json_decref(st);
	return LPW_CTL_OK;
}

/* --- devices and device --- */

struct regs {
	unsigned servers, registered;
	json_t *list; /* NULL: count only */
};

static void on_server(void *arg, const lpw_proxy_device_state_t *st)
{
	struct regs *r = arg;
	r->servers++;
	r->registered += st->registered;
	if (r->list)
		json_array_append_new(r->list, json_pack("{s:s, s:b, s:i, s:s, s:s, s:s}", "name", st->server,
		                                         "registered", st->registered, "lifetime", (json_int_t)st->lifetime_s,
		                                         "upstream", st->upstream, "reason", st->reason, "location",
		                                         st->location));
}

/* The facts of one device every listing shows. */
static json_t *device_summary(gateway_t *g, lpw_device_t *dev, struct regs *r)
{
	(void)lpw_proxy_device_servers(g->proxy, dev, on_server, r);
	return json_pack("{s:s, s:s, s:b, s:b, s:i, s:i, s:I, s:I, s:{s:I, s:I, s:I}}", "id", lpw_device_id(dev),
	                 "binding", lpw_config_binding_name(lpw_device_binding(dev)), "reachable",
	                 lpw_proxy_device_reachable(g->proxy, dev), "registered", r->servers && r->registered == r->servers,
	                 "servers", (json_int_t)r->servers, "servers_registered", (json_int_t)r->registered, "last_seen",
	                 (json_int_t)lpw_device_last_seen(dev), "queue_depth",
	                 (json_int_t)lpw_proxy_queued(g->proxy, dev), "counters", "up",
	                 (json_int_t)lpw_device_counter(dev, LPW_DEVICE_UPLINKS), "down",
	                 (json_int_t)lpw_device_counter(dev, LPW_DEVICE_DOWNLINKS), "send_refused",
	                 (json_int_t)lpw_device_counter(dev, LPW_DEVICE_SEND_REFUSED));
}

struct listing {
	gateway_t *g;
	json_t *arr;
	FILE *out;
};

static void list_one(lpw_device_t *dev, void *arg)
{
	struct listing *l = arg;
	struct regs r = {0};
	json_t *s = device_summary(l->g, dev, &r);
	if (!s)
		return;
	if (l->arr) {
		json_array_append_new(l->arr, s);
		return;
	}
	char seen[32];
	fmt_time(lpw_device_last_seen(dev), seen, sizeof(seen));
	fprintf(l->out, "%-20s %-9s %-9s %u/%-8u %-20s %5zu %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
	        lpw_device_id(dev), lpw_config_binding_name(lpw_device_binding(dev)),
	        lpw_proxy_device_reachable(l->g->proxy, dev) ? "yes" : "no", r.registered, r.servers, seen,
	        lpw_proxy_queued(l->g->proxy, dev), lpw_device_counter(dev, LPW_DEVICE_UPLINKS),
	        lpw_device_counter(dev, LPW_DEVICE_DOWNLINKS), lpw_device_counter(dev, LPW_DEVICE_SEND_REFUSED));
	json_decref(s);
}

static int cmd_devices(gateway_t *g, const lpw_ctl_cmd_t *cmd, FILE *out)
{
	struct listing l = {g, cmd->json ? json_array() : NULL, out};
	if (cmd->json && !l.arr)
		return LPW_CTL_FAILED;
	if (!cmd->json)
		fprintf(out, "%-20s %-9s %-9s %-10s %-20s %5s %8s %8s %8s\n", "ID", "BINDING", "REACHABLE", "REGISTERED",
		        "LAST SEEN", "QUEUE", "UP", "DOWN", "REFUSED");
	lpw_devtab_foreach(g->devtab, list_one, &l);
	return cmd->json ? put_json(out, l.arr, LPW_CTL_OK) : LPW_CTL_OK;
}

/* Everything about one device that is not a secret: its configuration's public part, what the binding says of its
 * path now, what each server knows. */
static json_t *device_detail(gateway_t *g, lpw_device_t *dev)
{
	const lpw_config_device_t *c = lpw_device_config(dev);
	struct regs r = {.list = json_array()};
	json_t *d = r.list ? device_summary(g, dev, &r) : NULL;
	lpw_binding_traits_t t;
	const lpw_southbound_t *south = lpw_router_southbound(g->router);
	south->traits(south->ctx, dev, &t);
	if (!d) {
		json_decref(r.list);
		return NULL;
	}
	json_object_set_new(d, "identity", json_string(c->identity));
	json_object_set_new(d, "endpoint", json_string(c->endpoint ? c->endpoint : c->id));
	json_object_set_new(d, "oscore", json_boolean(c->oscore));
	json_object_set_new(d, "credentials", json_string(c->tls.identity_len ? "psk" : c->tls.cert_file ? "certificate"
	                                                                                                   : "server's"));
	json_object_set_new(d, "bootstrap", json_string(c->bootstrap ? c->bootstrap->name : ""));
	json_object_set_new(d, "server_list", r.list);
	json_object_set_new(d, "path", json_pack("{s:i, s:i, s:b, s:b}", "max_message_size_now",
	                                         (json_int_t)t.max_message_size_now, "max_message_size",
	                                         (json_int_t)t.max_message_size, "queue_mode", t.queue_mode,
	                                         "proxy_retransmits", t.proxy_retransmits));
	if (c->binding == LPW_BINDING_LORAWAN)
		json_object_set_new(d, "lorawan", json_pack("{s:s, s:i, s:b}", "activation", c->lorawan.otaa ? "otaa" : "abp",
		                                            "fport", (json_int_t)c->lorawan.fport, "confirmed_downlinks",
		                                            c->lorawan.confirmed_downlinks));
	if (c->sms.number)
		json_object_set_new(d, "sms_wakeup", json_pack("{s:s, s:b}", "number", c->sms.number, "enabled",
		                                               c->sms.wakeup));
	return d;
}

static void print_detail(FILE *out, const json_t *d)
{
	const char *name;
	json_t *v;
	json_object_foreach((json_t *)d, name, v) {
		if (strcmp(name, "server_list") == 0) {
			size_t i;
			json_t *s;
			json_array_foreach(v, i, s)
				fprintf(out, "server %s: %s, lifetime %" JSON_INTEGER_FORMAT " s, upstream %s%s%s, location %s\n",
				        json_string_value(json_object_get(s, "name")),
				        json_is_true(json_object_get(s, "registered")) ? "registered" : "not registered",
				        json_integer_value(json_object_get(s, "lifetime")),
				        json_string_value(json_object_get(s, "upstream")),
				        *json_string_value(json_object_get(s, "reason")) ? ": " : "",
				        json_string_value(json_object_get(s, "reason")),
				        *json_string_value(json_object_get(s, "location")) ? json_string_value(json_object_get(s, "location"))
				                                                           : "-");
			continue;
		}
		char *text = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (strcmp(name, "last_seen") == 0 && json_is_integer(v)) {
			char seen[32];
			fmt_time(json_integer_value(v), seen, sizeof(seen));
			fprintf(out, "%s: %s\n", name, seen);
		} else {
			fprintf(out, "%s: %s\n", name, text ? text : "?");
		}
		free(text);
	}
}

static lpw_device_t *find(gateway_t *g, const lpw_ctl_cmd_t *cmd)
{
	return lpw_devtab_find_id(g->devtab, cmd->arg);
}

static int cmd_device(gateway_t *g, const lpw_ctl_cmd_t *cmd, FILE *out)
{
	lpw_device_t *dev = find(g, cmd);
	if (!dev)
		return fail(out, cmd->json, LPW_CTL_NO_DEVICE, "no device %s", cmd->arg);
	json_t *d = device_detail(g, dev);
	if (!d)
		return fail(out, cmd->json, LPW_CTL_FAILED, "%s", "out of memory");
	if (cmd->json)
		return put_json(out, d, LPW_CTL_OK);
	print_detail(out, d);
	json_decref(d);
	return LPW_CTL_OK;
}

/* --- queue, flush, reset-session --- */

struct qlist {
	json_t *arr;
	FILE *out;
};

static void on_queued(void *arg, const lpw_proxy_queued_t *q)
{
	struct qlist *l = arg;
	if (l->arr)
		json_array_append_new(l->arr, json_pack("{s:s, s:s, s:s, s:I}", "server", q->server, "method", q->method,
		                                        "path", q->path, "expires_in", (json_int_t)(q->expires_in_ms / 1000)));
	else
		fprintf(l->out, "%-12s %-7s %-24s %" PRId64 "\n", *q->server ? q->server : "-", q->method, q->path,
		        q->expires_in_ms / 1000);
}

static int cmd_queue(gateway_t *g, const lpw_ctl_cmd_t *cmd, FILE *out)
{
	lpw_device_t *dev = find(g, cmd);
	if (!dev)
		return fail(out, cmd->json, LPW_CTL_NO_DEVICE, "no device %s", cmd->arg);
	struct qlist l = {cmd->json ? json_array() : NULL, out};
	if (!cmd->json)
		fprintf(out, "%-12s %-7s %-24s %s\n", "SERVER", "METHOD", "PATH", "EXPIRES IN (S)");
	(void)lpw_proxy_queue_foreach(g->proxy, dev, on_queued, &l);
	return cmd->json ? put_json(out, json_pack("{s:s, s:o}", "id", cmd->arg, "queue", l.arr), LPW_CTL_OK)
	                 : LPW_CTL_OK;
}

static int cmd_flush(gateway_t *g, const lpw_ctl_cmd_t *cmd, FILE *out)
{
	lpw_device_t *dev = find(g, cmd);
	if (!dev)
		return fail(out, cmd->json, LPW_CTL_NO_DEVICE, "no device %s", cmd->arg);
	int n = lpw_proxy_flush(g->proxy, dev);
	if (n < 0)
		return fail(out, cmd->json, LPW_CTL_FAILED, "%s: the proxy does not know the device", cmd->arg);
	LPW_NOTICE("gateway", "%s: %d queued server requests flushed by lpwagw-ctl (answered 5.03)", cmd->arg, n);
	if (cmd->json)
		return put_json(out, json_pack("{s:s, s:i}", "id", cmd->arg, "flushed", (json_int_t)n), LPW_CTL_OK);
	fprintf(out, "%s: %d queued requests answered 5.03\n", cmd->arg, n);
	return LPW_CTL_OK;
}

static int cmd_reset_session(gateway_t *g, const lpw_ctl_cmd_t *cmd, FILE *out)
{
	lpw_device_t *dev = find(g, cmd);
	if (!dev)
		return fail(out, cmd->json, LPW_CTL_NO_DEVICE, "no device %s", cmd->arg);
	const char *binding = lpw_config_binding_name(lpw_device_binding(dev));
	int rc = lpw_router_reset_session(g->router, dev);
	char msg[160];
	if (rc == -EOPNOTSUPP || rc == -ENODEV) {
		snprintf(msg, sizeof(msg), "%s: binding %s %s", cmd->arg, binding,
		         rc == -ENODEV ? "is not running" : "has no session to reset for this device");
		return fail(out, cmd->json, LPW_CTL_UNSUPPORTED, "%s", msg);
	}
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s: session not reset: %s", cmd->arg, strerror(-rc));
		return fail(out, cmd->json, LPW_CTL_FAILED, "%s", msg);
	}
	LPW_NOTICE("gateway", "%s: session reset by lpwagw-ctl; the device must join again", cmd->arg);
	if (cmd->json)
		return put_json(out, json_pack("{s:s, s:b}", "id", cmd->arg, "reset", 1), LPW_CTL_OK);
	fprintf(out, "%s: session forgotten; the device must join again\n", cmd->arg);
	return LPW_CTL_OK;
}

/* --- reload --- */

static int cmd_reload(gateway_t *g, const lpw_ctl_cmd_t *cmd, FILE *out)
{
	char *report = NULL;
	size_t len = 0;
	FILE *rep = open_memstream(&report, &len);
	int rc = gw_reload(g, rep);
	if (rep)
		fclose(rep);
	int code = rc == 0 ? LPW_CTL_OK : LPW_CTL_FAILED;
	if (cmd->json)
		code = put_json(out, json_pack("{s:b, s:s}", "reloaded", rc == 0, "report", report ? report : ""), code);
	else
		fprintf(out, "%s%s", rc == 0 ? "configuration reloaded\n" : "reload refused; still running on the previous "
		                                                          "configuration\n", report ? report : "");
	free(report);
	return code;
}

int gw_control_handle(void *arg, const lpw_ctl_cmd_t *cmd, FILE *out)
{
	gateway_t *g = arg;
	switch (cmd->verb) {
	case LPW_CTL_STATUS: return cmd_status(g, cmd, out);
	case LPW_CTL_DEVICES: return cmd_devices(g, cmd, out);
	case LPW_CTL_DEVICE: return cmd_device(g, cmd, out);
	case LPW_CTL_QUEUE: return cmd_queue(g, cmd, out);
	case LPW_CTL_FLUSH: return cmd_flush(g, cmd, out);
	case LPW_CTL_RESET_SESSION: return cmd_reset_session(g, cmd, out);
	case LPW_CTL_RELOAD: return cmd_reload(g, cmd, out);
	}
	return fail(out, cmd->json, LPW_CTL_USAGE, "%s", "unknown command");
}
