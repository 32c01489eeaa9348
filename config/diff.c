/* lpw_config_diff: what changed between two configurations (SIGHUP), and whether each change needs a restart. */
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void print_value(FILE *out, const lpw_cfg_key_t *k, const void *p)
{
	long long v = 0;
	switch (k->store) {
	case S_STR: fprintf(out, "%s", *(char *const *)p ? *(char *const *)p : "(none)"); return;
	case S_BOOL: v = *(const bool *)p; break;
	case S_U16: v = *(const uint16_t *)p; break;
	case S_U32: v = *(const uint32_t *)p; break;
	case S_INT: v = *(const int *)p; break;
	default: return;
	}
	if (k->type == T_CHOICE)
		fprintf(out, "%s", k->choices[v - k->min]);
	else if (k->type == T_BOOL)
		fprintf(out, "%s", v ? "true" : "false");
	else
		fprintf(out, "%lld", v);
}

static bool value_eq(const lpw_cfg_key_t *k, const void *a, const void *b)
{
	switch (k->store) {
	case S_STR: return str_eq(*(char *const *)a, *(char *const *)b);
	case S_BOOL: return *(const bool *)a == *(const bool *)b;
	case S_U16: return *(const uint16_t *)a == *(const uint16_t *)b;
	case S_U32: return *(const uint32_t *)a == *(const uint32_t *)b;
	case S_INT: return *(const int *)a == *(const int *)b;
	default: return true;
	}
}

static const char *verdict(bool restart)
{
	return restart ? "needs a restart" : "applies now";
}

/* The scalar keys, straight from the schema table. */
static int diff_keys(const lpw_cfg_key_t *keys, const char *prefix, bool restart, const void *a, const void *b,
		     FILE *out)
{
	int n = 0;
	for (const lpw_cfg_key_t *k = keys; k->name; k++) {
		bool r = restart || (k->flags & F_RESTART);
		if (k->type == T_GROUP) {
			char sub[128];
			snprintf(sub, sizeof(sub), "%s%s.", prefix, k->name);
			n += diff_keys(k->sub, sub, r, a, b, out);
			continue;
		}
		const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;
		if (k->store == S_NONE || value_eq(k, pa, pb))
			continue;
		fprintf(out, "%s%s: ", prefix, k->name);
		if (k->flags & F_HIDE) {
			fprintf(out, "changed");
		} else {
			print_value(out, k, pa);
			fprintf(out, " -> ");
			print_value(out, k, pb);
		}
		fprintf(out, "; %s\n", verdict(r));
		n += r;
	}
	return n;
}

bool lpw_config_tls_equal(const lpw_config_tls_t *a, const lpw_config_tls_t *b)
{
	return a->identity_len == b->identity_len && memcmp(a->identity, b->identity, a->identity_len) == 0 &&
	       a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0 && str_eq(a->ca_file, b->ca_file) &&
	       str_eq(a->cert_file, b->cert_file) && str_eq(a->key_file, b->key_file) && str_eq(a->sni, b->sni);
}

bool lpw_config_server_equal(const lpw_config_server_t *a, const lpw_config_server_t *b)
{
	return str_eq(a->name, b->name) && str_eq(a->uri, b->uri) && a->bootstrap == b->bootstrap &&
	       lpw_config_tls_equal(&a->tls, &b->tls);
}

static const char *server_name(const lpw_config_server_t *s)
{
	return s ? s->name : NULL;
}

static bool lorawan_eq(const lpw_config_lorawan_device_t *a, const lpw_config_lorawan_device_t *b)
{
	return a->otaa == b->otaa && memcmp(a->join_eui, b->join_eui, sizeof(a->join_eui)) == 0 &&
	       memcmp(a->app_key, b->app_key, sizeof(a->app_key)) == 0 && a->dev_addr == b->dev_addr &&
	       memcmp(a->nwk_s_key, b->nwk_s_key, sizeof(a->nwk_s_key)) == 0 &&
	       memcmp(a->app_s_key, b->app_s_key, sizeof(a->app_s_key)) == 0 && a->fport == b->fport &&
	       a->bootstrap_fport == b->bootstrap_fport && a->confirmed_downlinks == b->confirmed_downlinks &&
	       str_eq(a->objects, b->objects) && a->network == b->network;
}

static bool sms_eq(const lpw_config_sms_device_t *a, const lpw_config_sms_device_t *b)
{
	return str_eq(a->number, b->number) && a->wakeup == b->wakeup && a->wakeup_delay_s == b->wakeup_delay_s &&
	       a->wakeup_instance == b->wakeup_instance;
}

static bool device_eq(const lpw_config_device_t *a, const lpw_config_device_t *b)
{
	if (a->binding != b->binding || !str_eq(a->identity, b->identity) || !str_eq(a->endpoint, b->endpoint) ||
	    a->nservers != b->nservers || !str_eq(server_name(a->bootstrap), server_name(b->bootstrap)) ||
	    !lpw_config_tls_equal(&a->tls, &b->tls) || a->oscore != b->oscore || a->max_message_size != b->max_message_size ||
	    a->queue_max != b->queue_max || !lorawan_eq(&a->lorawan, &b->lorawan) || !sms_eq(&a->sms, &b->sms))
		return false;
	for (size_t i = 0; i < a->nservers; i++)
		if (!str_eq(a->servers[i]->name, b->servers[i]->name))
			return false;
	return true;
}

/* Servers and devices apply at once (gateway.c applies the device table's changes). */
static void diff_servers(const lpw_config_t *a, const lpw_config_t *b, FILE *out)
{
	for (size_t i = 0; i < a->nservers; i++) {
		const lpw_config_server_t *o = &a->servers[i], *n = lpw_config_find_server(b, o->name);
		if (!n || !lpw_config_server_equal(o, n))
		{
			fprintf(out, "servers.%s: %s; applies now\n", o->name, n ? "changed" : "removed");
		}
	}
	for (size_t i = 0; i < b->nservers; i++)
		if (!lpw_config_find_server(a, b->servers[i].name))
		{
			fprintf(out, "servers.%s: added; applies now\n", b->servers[i].name);
		}
}

static void diff_devices(const lpw_config_t *a, const lpw_config_t *b, FILE *out)
{
	for (size_t i = 0; i < a->ndevices; i++) {
		const lpw_config_device_t *o = &a->devices[i], *n = lpw_config_find_device(b, o->id);
		if (!n || !device_eq(o, n))
		{
			fprintf(out, "devices.%s: %s; applies now\n", o->id, n ? "changed" : "removed");
		}
	}
	for (size_t i = 0; i < b->ndevices; i++)
		if (!lpw_config_find_device(a, b->devices[i].id))
		{
			fprintf(out, "devices.%s: added; applies now\n", b->devices[i].id);
		}
}

int lpw_config_diff(const lpw_config_t *old_config, const lpw_config_t *new_config, FILE *out)
{
	FILE *sink = out;
	if (!old_config || !new_config)
		return 0;
	if (!sink)
		sink = fopen("/dev/null", "w");
	if (!sink)
		return 0;
	int n = diff_keys(lpw_config_top_keys, "", false, old_config, new_config, sink);
	diff_servers(old_config, new_config, sink);
	diff_devices(old_config, new_config, sink);
	if (sink != out)
		fclose(sink);
	return n;
}
