/* Prometheus text format from the MQTT stats payload, and the HTTP endpoint that serves it. Families are collected
 * first and written whole, because the exposition format wants all samples of a family together. */
#include "gateway/metrics.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/httpd.h"
#include "core/log.h"

#define MOD "metrics"
#define NAME_MAX_LEN 160

/* The gateway-wide members of the stats payload: how each is named and typed (Prometheus naming: base units,
 * counters end in _total). Members that hold one number per binding carry the label "binding". */
static const struct {
	const char *path, *name, *type, *help;
} core_metrics[] = {
	{"uptime", "lpwagw_uptime_seconds", "gauge", "Seconds since the daemon started"},
	{"devices.known", "lpwagw_devices_known", "gauge", "Devices in the configuration"},
	{"devices.reachable", "lpwagw_devices_reachable", "gauge", "Devices heard from since start"},
	{"messages.up", "lpwagw_messages_up_total", "counter", "Messages from devices to servers, per binding"},
	{"messages.down", "lpwagw_messages_down_total", "counter", "Messages from servers to devices, per binding"},
	{"upstream.up", "lpwagw_upstream_sessions_up", "gauge", "Upstream sessions to LwM2M servers that are up"},
	{"upstream.down", "lpwagw_upstream_sessions_down", "gauge", "Upstream sessions that are down or failed"},
	{"upstream.reconnects", "lpwagw_upstream_reconnects_total", "counter", "Upstream reconnect attempts"},
	{"queue_depth", "lpwagw_queue_depth", "gauge", "Server requests waiting for sleeping devices"},
	{"dropped.unknown_device", "lpwagw_dropped_unknown_device_total", "counter",
	 "Input from an identity no configured device has"},
	{"dropped.malformed", "lpwagw_dropped_malformed_total", "counter", "Malformed input dropped"},
	{"duplicates", "lpwagw_duplicates_total", "counter", "Device retransmissions answered from the cache"},
	{"errors", "lpwagw_errors_total", "counter", "Internal errors"},
	{"telemetry_dropped", "lpwagw_telemetry_dropped_total", "counter",
	 "Telemetry messages not published (broker unreachable)"},
	{"suppressed.log", "lpwagw_log_lines_suppressed_total", "counter", "Log lines held back by the rate limit"},
	{"suppressed.events", "lpwagw_events_suppressed_total", "counter", "Telemetry events held back by the rate limit"},
};
#define NCORE (sizeof(core_metrics) / sizeof(core_metrics[0]))

struct family {
	char name[NAME_MAX_LEN];
	const char *type;
	char *help;
	char *samples;
	size_t len;
	FILE *f; /* open_memstream on samples */
};

struct render {
	struct family *fam;
	size_t n, cap;
	bool nomem;
};

static struct family *family(struct render *r, const char *name, const char *type, const char *help)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->fam[i].name, name) == 0)
			return &r->fam[i];
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 32;
		struct family *p = realloc(r->fam, cap * sizeof(*p));
		if (!p)
			return NULL;
		r->fam = p;
		r->cap = cap;
	}
	struct family *f = &r->fam[r->n];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->type = type;
	f->help = strdup(help);
	f->f = open_memstream(&f->samples, &f->len);
	if (!f->help || !f->f) {
		free(f->help);
		if (f->f)
			fclose(f->f);
		return NULL;
	}
	r->n++;
	return f;
}

/* Label values: backslash, double quote and line feed escaped (exposition format 0.0.4). */
static void put_label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void sample(struct render *r, const char *name, const char *type, const char *help, const char *labels,
                   const json_t *v)
{
	struct family *f = family(r, name, type, help);
	if (!f) {
		r->nomem = true;
		return;
	}
	fprintf(f->f, "%s%s%s%s ", name, *labels ? "{" : "", labels, *labels ? "}" : "");
	if (json_is_integer(v))
		fprintf(f->f, "%" JSON_INTEGER_FORMAT "\n", json_integer_value(v));
	else if (json_is_real(v))
		fprintf(f->f, "%.17g\n", json_real_value(v));
	else
		fprintf(f->f, "%d\n", json_is_true(v) ? 1 : 0);
}

/* A key that can be part of a metric name; anything else (EUIs, names with '-') becomes a label value. */
static bool name_segment(const char *k)
{
	if (!(*k >= 'a' && *k <= 'z'))
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
			return false;
	return true;
}

/* labels + name="value" into out. */
static void add_label(char *out, size_t size, const char *labels, const char *name, const char *value)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		snprintf(out, size, "%s", labels);
		return;
	}
	fprintf(f, "%s%s%s=\"", labels, *labels ? "," : "", name);
	put_label_value(f, value);
	fputc('"', f);
	fclose(f);
	snprintf(out, size, "%s", buf ? buf : labels);
	free(buf);
}

/* A module source's member: numbers as untyped samples, strings as ..._info, objects walked. label_name: what a
 * key that is not a name becomes (the parent's name without "by_"). */
static void walk(struct render *r, const json_t *v, const char *name, const char *labels, const char *path)
{
	char help[256];
	if (json_is_object(v)) {
		const char *k;
		json_t *child;
		const char *last = strrchr(name, '_');
		const char *label_name = strstr(name, "_by_") ? strstr(name, "_by_") + 4 : last ? last + 1 : "key";
		json_object_foreach((json_t *)v, k, child) {
			char sub[NAME_MAX_LEN], subpath[256], lab[512];
			snprintf(subpath, sizeof(subpath), "%s.%s", path, k);
			if (name_segment(k)) {
				snprintf(sub, sizeof(sub), "%s_%s", name, k);
				walk(r, child, sub, labels, subpath);
			} else {
				add_label(lab, sizeof(lab), labels, label_name, k);
				/* the name stays (..._by_eui_...): per-EUI samples must not mix with the totals */
				walk(r, child, name, lab, path);
			}
		}
	} else if (json_is_string(v)) {
		char lab[512], info[NAME_MAX_LEN];
		add_label(lab, sizeof(lab), labels, "value", json_string_value(v));
		snprintf(info, sizeof(info), "%s_info", name);
		snprintf(help, sizeof(help), "stats%s of the MQTT stats payload (a text, as the value label)", path);
		json_t *one = json_integer(1);
		sample(r, info, "gauge", help, lab, one);
		json_decref(one);
	} else if (json_is_number(v) || json_is_boolean(v)) {
		snprintf(help, sizeof(help), "stats%s of the MQTT stats payload", path);
		sample(r, name, "untyped", help, labels, v);
	}
}

static const json_t *get_path(const json_t *root, const char *path)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", path);
	const json_t *v = root;
	for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return v;
}

static bool is_core(const char *top)
{
	for (size_t i = 0; i < NCORE; i++)
		if (strncmp(core_metrics[i].path, top, strlen(top)) == 0 &&
		    (core_metrics[i].path[strlen(top)] == '\0' || core_metrics[i].path[strlen(top)] == '.'))
			return true;
	return false;
}

static void render_core(struct render *r, const json_t *stats)
{
	for (size_t i = 0; i < NCORE; i++) {
		const json_t *v = get_path(stats, core_metrics[i].path);
		if (json_is_object(v)) { /* one sample per binding */
			const char *k;
			json_t *n;
			json_object_foreach((json_t *)v, k, n) {
				char lab[128];
				add_label(lab, sizeof(lab), "", "binding", k);
				sample(r, core_metrics[i].name, core_metrics[i].type, core_metrics[i].help, lab, n);
			}
		} else if (json_is_number(v)) {
			sample(r, core_metrics[i].name, core_metrics[i].type, core_metrics[i].help, "", v);
		}
	}
}

static void render_sources(struct render *r, const json_t *stats)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)stats, k, v) {
		if (is_core(k) || !name_segment(k))
			continue;
		char name[NAME_MAX_LEN], path[128];
		snprintf(path, sizeof(path), ".%s", k);
		if (strcmp(k, "bindings") == 0 && json_is_object(v)) { /* stats.bindings.<binding>.*: label binding */
			const char *b;
			json_t *sub;
			json_object_foreach(v, b, sub) {
				char lab[128], bpath[128];
				add_label(lab, sizeof(lab), "", "binding", b);
				snprintf(bpath, sizeof(bpath), ".bindings.%s", b);
				walk(r, sub, "lpwagw_binding", lab, bpath);
			}
			continue;
		}
		snprintf(name, sizeof(name), "lpwagw_%s", k);
		walk(r, v, name, "", path);
	}
}

char *lpw_metrics_render(const json_t *stats)
{
	if (!json_is_object(stats))
		return NULL;
	struct render r = {0};
	render_core(&r, stats);
	render_sources(&r, stats);
	char *out = NULL;
	size_t len = 0;
	FILE *f = r.nomem ? NULL : open_memstream(&out, &len);
	for (size_t i = 0; i < r.n; i++) {
		struct family *fam = &r.fam[i];
		fclose(fam->f);
		if (f)
			fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s", fam->name, fam->help, fam->name, fam->type,
			        fam->samples ? fam->samples : "");
		free(fam->samples);
		free(fam->help);
	}
	free(r.fam);
	if (!f)
		return NULL;
	fclose(f);
	return out;
}

/* --- the endpoint --- */

struct lpw_metrics {
	lpw_httpd_t *httpd;
	lpw_metrics_snapshot_t snapshot;
	void *arg;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body)
{
	size_t len = body ? strlen(body) : 0;
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body ? body : (char *)"",
	                                                            body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result on_request(void *arg, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	lpw_metrics_t *m = arg;
	(void)version, (void)upload, (void)con_cls;
	if (*upload_size) /* nothing we serve takes a body */
		return MHD_NO;
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", strdup("only /metrics here\n"));
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", strdup("GET only\n"));
	char *payload = m->snapshot(m->arg);
	json_t *stats = payload ? json_loads(payload, 0, NULL) : NULL;
	free(payload);
	char *text = lpw_metrics_render(stats);
	json_decref(stats);
	if (!text)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", strdup("out of memory\n"));
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text);
}

lpw_metrics_t *lpw_metrics_new(lpw_loop_t *loop, const lpw_metrics_config_t *cfg)
{
	lpw_metrics_t *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->snapshot = cfg->snapshot;
	m->arg = cfg->arg;
	lpw_httpd_config_t hc = {.name = MOD, .listen = cfg->listen, .port = cfg->port, .handler = on_request,
	                         .handler_arg = m};
	m->httpd = lpw_httpd_new(loop, &hc);
	if (!m->httpd) {
		free(m);
		return NULL;
	}
	LPW_INFO(MOD, "Prometheus metrics on http://%s:%u/metrics", cfg->listen, lpw_metrics_port(m));
	return m;
}

void lpw_metrics_free(lpw_metrics_t *m)
{
	if (!m)
		return;
	lpw_httpd_free(m->httpd);
	free(m);
}

uint16_t lpw_metrics_port(const lpw_metrics_t *m)
{
	return lpw_httpd_port(m->httpd);
}
