/* The configuration schema: one table row per key (type, range, default, restart or not, help) and the checks
 * that need more than a type and a range (identities, URIs, credentials, cross-references). */
#include "config/config_internal.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

_Static_assert(sizeof(lpw_binding_kind_t) == sizeof(int), "the binding kind is stored through an int");

const char *const lpw_config_binding_names[] = { "nidd-sgi", "nidd-t8", "sms", "lorawan", NULL };
static const char *const log_levels[] = { "error", "warning", "notice", "info", "debug", NULL };
static const char *const log_targets[] = { "stderr", "syslog", NULL };

#define NAME_EXPECT "1..64 characters of A-Z a-z 0-9 . _ -"
#define HEX_EXPECT "2..128 hex digits (a key of 1..64 bytes)"
#define CRED_EXPECT "psk_identity with psk_key (or psk_key_file), or cert_file with key_file"

static int store(lpw_cfg_ctx_t *c, void *dst, const char *text)
{
	char **p = dst;
	free(*p);
	*p = lpw_config_strdup(c, text);
	return *p ? 0 : -ENOMEM;
}

static int check_name(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	const char *why;
	if (lpw_config_check_name(text, &why) == 0)
		return store(c, dst, text);
	lpw_config_error(c, s, NULL, "\"%s\" %s; expected " NAME_EXPECT, lpw_config_show(c, text), why);
	return -EINVAL;
}

static int check_host(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	const char *why;
	if (lpw_config_check_host(text, &why) == 0)
		return store(c, dst, text);
	lpw_config_error(c, s, NULL, "\"%s\" %s; expected a host name or an IP address", lpw_config_show(c, text),
			 why);
	return -EINVAL;
}

static int check_listen(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	char ip[64];
	const char *why;
	if (lpw_config_norm_ip(text, ip, sizeof(ip), &why) == 0)
		return store(c, dst, ip);
	lpw_config_error(c, s, NULL, "\"%s\" %s; expected an IPv4 or IPv6 address", lpw_config_show(c, text), why);
	return -EINVAL;
}

/* Text that goes into MQTT, JSON, a Register or a TLS handshake (lpw_config_check_text). */
static int check_utf8(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, const char *expect)
{
	const char *why;
	size_t at;
	if (lpw_config_check_text(text, strlen(text), &why, &at) == 0)
		return 0;
	lpw_config_error(c, s, NULL, "\"%s\" %s (byte %zu); expected %s", lpw_config_show(c, text), why, at, expect);
	return -EINVAL;
}

/* MQTT 3.1.1 §4.7.1: '+' and '#' are wildcards, not allowed in a topic we publish to; §1.5.3 and libmosquitto:
 * UTF-8 without control characters. An empty level ("a//b") is legal MQTT, but the telemetry refuses it. */
static int check_topic(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	if (check_utf8(c, s, text, "UTF-8 text without control characters"))
		return -EINVAL;
	if (strpbrk(text, "+#") == NULL && text[0] != '/' && text[strlen(text) - 1] != '/' && !strstr(text, "//"))
		return store(c, dst, text);
	lpw_config_error(c, s, NULL, "\"%s\" is not a usable topic prefix; expected no + or #, no leading or trailing "
				     "/, no empty level (//)", lpw_config_show(c, text));
	return -EINVAL;
}

/* MQTT 3.1.1 §3.1.3.4: the user name is UTF-8; libmosquitto refuses anything else at start. */
static int check_username(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	if (check_utf8(c, s, text, "a user name in UTF-8 without control characters"))
		return -EINVAL;
	return store(c, dst, text);
}

/* An LwM2M endpoint name goes into the Register query (ep=...) and telemetry: UTF-8, free of separators. */
static int check_endpoint(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	if (check_utf8(c, s, text, "a printable endpoint name in UTF-8"))
		return -EINVAL;
	if (strpbrk(text, " &")) {
		lpw_config_error(c, s, NULL, "\"%s\" contains a space, control character or &; expected a printable "
					     "endpoint name",
				 lpw_config_show(c, text));
		return -EINVAL;
	}
	return store(c, dst, text);
}

static int check_password_file(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *path, void *dst)
{
	char buf[1024];
	if (*(char **)dst) {
		lpw_config_error(c, s, NULL, "both password and password_file are set; expected only one");
		return -EINVAL;
	}
	int rc = lpw_config_read_small(path, buf, sizeof(buf));
	if (rc || buf[0] == '\0') {
		lpw_config_error(c, s, NULL, "%s %s; expected a file holding the password", path,
				 rc ? strerror(-rc) : "is empty");
		return -EINVAL;
	}
	rc = store(c, dst, buf);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

static int upstream_finish(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	const lpw_config_upstream_t *u = &((lpw_config_t *)dst)->upstream;
	if (u->reconnect_min_s <= u->reconnect_max_s)
		return 0;
	const config_setting_t *m = config_setting_get_member(s, "reconnect_max");
	lpw_config_error(c, m ? m : s, m ? NULL : "reconnect_max", "%u is below reconnect_min (%u); expected at least %u",
			 u->reconnect_max_s, u->reconnect_min_s, u->reconnect_min_s);
	return -EINVAL;
}

/* --- credentials (servers and devices share these keys; dst is the lpw_config_tls_t) --- */

/* RFC 4279 §5.1: a PSK identity is UTF-8 text. */
static int check_psk_identity(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_tls_t *tls = dst;
	if (check_utf8(c, s, text, "a PSK identity in UTF-8 without control characters"))
		return -EINVAL;
	tls->identity_len = strlen(text); /* the table bounds it to LPW_PSK_IDENTITY_MAX */
	memcpy(tls->identity, text, tls->identity_len + 1);
	return 0;
}

static int set_psk_key(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *hex, lpw_config_tls_t *tls)
{
	const char *why;
	if (tls->key_len) {
		lpw_config_error(c, s, NULL, "both psk_key and psk_key_file are set; expected only one");
		return -EINVAL;
	}
	if (lpw_config_hex_decode(hex, tls->key, sizeof(tls->key), &tls->key_len, &why) == 0)
		return 0;
	lpw_config_error(c, s, NULL, "the key %s; expected " HEX_EXPECT, why);
	return -EINVAL;
}

static int check_psk_key(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	return set_psk_key(c, s, text, dst);
}

static int check_psk_key_file(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *path, void *dst)
{
	char buf[2 * LPW_PSK_KEY_MAX + 64];
	int rc = lpw_config_read_small(path, buf, sizeof(buf));
	if (rc) {
		lpw_config_error(c, s, NULL, "%s cannot be read (%s); expected a file holding " HEX_EXPECT, path,
				 strerror(-rc));
		return -EINVAL;
	}
	rc = set_psk_key(c, s, buf, dst);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

static bool has_credentials(const lpw_config_tls_t *tls)
{
	return tls->identity_len > 0 || tls->cert_file;
}

/* Pairs that only make sense together; judged on which keys are present, so a bad value is not reported twice. */
static void tls_finish(lpw_cfg_ctx_t *c, const config_setting_t *elem)
{
	const config_setting_t *id = config_setting_get_member(elem, "psk_identity");
	const config_setting_t *key = config_setting_get_member(elem, "psk_key");
	const config_setting_t *cert = config_setting_get_member(elem, "cert_file");
	const config_setting_t *cert_key = config_setting_get_member(elem, "key_file");
	if (!key)
		key = config_setting_get_member(elem, "psk_key_file");
	if (id && !key)
		lpw_config_error(c, id, NULL, "is set without a key; expected psk_key or psk_key_file too");
	if (key && !id)
		lpw_config_error(c, key, NULL, "is set without an identity; expected psk_identity too");
	if (!cert != !cert_key)
		lpw_config_error(c, cert ? cert : cert_key, NULL, "is set alone; expected cert_file with key_file");
	if ((id || key) && (cert || cert_key))
		lpw_config_error(c, elem, NULL, "has both PSK and certificate credentials; expected one kind");
}

#define TLS_KEYS(T)                                                                                                    \
	{ .name = "psk_identity", .type = T_STR, .off = offsetof(T, tls), .min = 1, .max = LPW_PSK_IDENTITY_MAX,         \
	  .check = check_psk_identity, .expect = "a PSK identity", .help = "PSK identity, up to 128 bytes (seed 004)" },  \
	{ .name = "psk_key", .type = T_STR, .off = offsetof(T, tls), .check = check_psk_key, .expect = HEX_EXPECT,       \
	  .help = "PSK key in hex" },                                                                                    \
	{ .name = "psk_key_file", .type = T_STR, .off = offsetof(T, tls), .flags = F_SECRET,                            \
	  .check = check_psk_key_file, .expect = "a file (mode 600) holding " HEX_EXPECT,                                \
	  .help = "file holding the PSK key in hex" },                                                                   \
	{ .name = "ca_file", .type = T_STR, .store = S_STR, .off = offsetof(T, tls.ca_file), .flags = F_FILE,           \
	  .expect = "a readable PEM file", .help = "CA certificates that verify the server" },                          \
	{ .name = "cert_file", .type = T_STR, .store = S_STR, .off = offsetof(T, tls.cert_file), .flags = F_FILE,       \
	  .expect = "a readable PEM file", .help = "our certificate" },                                                 \
	{ .name = "key_file", .type = T_STR, .store = S_STR, .off = offsetof(T, tls.key_file), .flags = F_SECRET,       \
	  .expect = "a PEM file with mode 600", .help = "our private key" },                                            \
	{ .name = "sni", .type = T_STR, .store = S_STR, .off = offsetof(T, tls.sni), .check = check_host,              \
	  .help = "TLS server name; default the URI's host" }

/* --- servers --- */

static int check_uri(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_server_t *srv = dst;
	char host[256];
	const char *why;
	if (lpw_config_parse_uri(text, &srv->secure, host, sizeof(host), &srv->port, &why)) {
		lpw_config_error(c, s, NULL, "\"%s\" %s; expected coap+tcp://HOST[:PORT] or coaps+tcp://HOST[:PORT]",
				 lpw_config_show(c, text), why);
		return -EINVAL;
	}
	if (store(c, &srv->uri, text))
		return -ENOMEM;
	return store(c, &srv->host, host);
}

static const lpw_cfg_key_t server_keys[] = {
	{ .name = "name", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_server_t, name),
	  .flags = F_REQUIRED, .check = check_name, .expect = NAME_EXPECT, .help = "name devices refer to" },
	{ .name = "uri", .type = T_STR, .off = 0, .flags = F_REQUIRED, .check = check_uri,
	  .expect = "coap+tcp://HOST[:PORT] or coaps+tcp://HOST[:PORT]", .help = "the LwM2M server" },
	{ .name = "bootstrap", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_server_t, bootstrap),
	  .def = "false", .help = "a bootstrap server" },
	TLS_KEYS(lpw_config_server_t),
	{ 0 },
};

typedef struct {
	const char *key;
	int kind;
	int index;
	const config_setting_t *s;
} uniq_t;

static int uniq_cmp(const void *a, const void *b)
{
	const uniq_t *x = a, *y = b;
	int d = x->kind != y->kind ? x->kind - y->kind : strcmp(x->key, y->key);
	return d ? d : x->index - y->index;
}

/* Sorting keeps this O(n log n) for gateways with thousands of devices. */
static void check_unique(lpw_cfg_ctx_t *c, uniq_t *u, size_t n, const char *what)
{
	qsort(u, n, sizeof(*u), uniq_cmp);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (u[i].kind != u[first].kind || strcmp(u[i].key, u[first].key) != 0) {
			first = i;
			continue;
		}
		unsigned line;
		const char *file = lpw_config_where(c, u[first].s, &line);
		lpw_config_error(c, u[i].s, NULL, "\"%s\" is a duplicate (first at %s:%u); expected a unique %s%s",
				 lpw_config_show(c, u[i].key), file, line,
				 u[i].kind < 0 ? what : "identity within binding ",
				 u[i].kind < 0 ? "" : lpw_config_binding_names[u[i].kind]);
	}
}

static int check_servers(lpw_cfg_ctx_t *c, const config_setting_t *list, const char *text, void *dst)
{
	lpw_config_t *cfg = c->cfg;
	unsigned n = (unsigned)config_setting_length(list);
	if (n == 0)
		return 0;
	cfg->servers = calloc(n, sizeof(*cfg->servers));
	uniq_t *u = calloc(n, sizeof(*u));
	if (!cfg->servers || !u) {
		free(u);
		c->nomem = true;
		return -ENOMEM;
	}
	cfg->nservers = n;
	size_t nu = 0;
	for (unsigned i = 0; i < n; i++) {
		const config_setting_t *elem = config_setting_get_elem(list, i);
		lpw_config_server_t *srv = &cfg->servers[i];
		if (!config_setting_is_group(elem)) {
			lpw_config_error(c, elem, NULL, "is %s; expected a group { name = ...; uri = ...; }",
					 lpw_config_type_name(config_setting_type(elem)));
			continue;
		}
		lpw_config_apply_defaults(c, server_keys, srv);
		lpw_config_parse_group(c, elem, server_keys, srv);
		tls_finish(c, elem);
		if (srv->name)
			u[nu++] = (uniq_t){ srv->name, -1, (int)i, config_setting_get_member(elem, "name") };
	}
	check_unique(c, u, nu, "server name");
	free(u);
	lpw_config_index_servers(c);
	return 0;
}

/* --- devices --- */

static const struct {
	const char *key;
	unsigned bindings; /* bit per lpw_binding_kind_t that uses this key */
	const char *expect;
} identities[] = {
	{ "ip", 1u << LPW_BINDING_NIDD_SGI, "an IPv4 or IPv6 address" },
	{ "external_id", 1u << LPW_BINDING_NIDD_T8, "an external identifier user@domain" },
	{ "msisdn", 1u << LPW_BINDING_NIDD_T8 | 1u << LPW_BINDING_SMS, "5..15 digits with an optional leading +" },
	{ "dev_eui", 1u << LPW_BINDING_LORAWAN, "16 hex digits" },
};

static const char *const identity_keys_of[LPW_BINDING_COUNT] = {
	[LPW_BINDING_NIDD_SGI] = "ip", [LPW_BINDING_NIDD_T8] = "external_id or msisdn",
	[LPW_BINDING_SMS] = "msisdn", [LPW_BINDING_LORAWAN] = "dev_eui",
};

static int normalise_identity(size_t which, const char *text, char *out, size_t cap, const char **why)
{
	switch (which) {
	case 0: return lpw_config_norm_ip(text, out, cap, why);
	case 1:
		if (lpw_config_check_external_id(text, why) || strlen(text) >= cap)
			return -EINVAL;
		strcpy(out, text);
		return 0;
	case 2: return lpw_config_norm_msisdn(text, out, cap, why);
	default: return lpw_config_norm_dev_eui(text, out, cap, why);
	}
}

static int check_identity(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_device_t *d = dst;
	const char *key = config_setting_name(s), *why = "is too long";
	char norm[256];
	size_t i = 0;
	while (strcmp(identities[i].key, key) != 0)
		i++;
	if (d->binding == LPW_BINDING_COUNT)
		return -EINVAL; /* the binding is missing or wrong: already reported */
	if (!(identities[i].bindings & 1u << d->binding)) {
		lpw_config_error(c, s, NULL, "is not an identity of binding %s; expected %s",
				 lpw_config_binding_names[d->binding], identity_keys_of[d->binding]);
		return -EINVAL;
	}
	if (d->identity) {
		lpw_config_error(c, s, NULL, "is a second identity; expected only one of %s",
				 identity_keys_of[d->binding]);
		return -EINVAL;
	}
	if (normalise_identity(i, text, norm, sizeof(norm), &why) == 0)
		return store(c, &d->identity, norm);
	lpw_config_error(c, s, NULL, "\"%s\" %s; expected %s", lpw_config_show(c, text), why, identities[i].expect);
	return -EINVAL;
}

static const lpw_config_server_t *resolve_server(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *name,
						 bool bootstrap)
{
	const lpw_config_server_t *srv = lpw_config_find_server(c->cfg, name);
	if (!srv)
		lpw_config_error(c, s, NULL, "\"%s\" is not defined; expected the name of an entry in servers",
				 lpw_config_show(c, name));
	else if (srv->bootstrap != bootstrap)
		lpw_config_error(c, s, NULL, "\"%s\" is %sa bootstrap server; expected a server with bootstrap = %s", name,
				 bootstrap ? "not " : "", bootstrap ? "true" : "false");
	else
		return srv;
	return NULL;
}

static int check_server_ref(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_device_t *d = dst;
	d->servers[0] = resolve_server(c, s, text, false);
	d->nservers = d->servers[0] ? 1 : 0;
	return d->servers[0] ? 0 : -EINVAL;
}

static int check_server_refs(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_device_t *d = dst;
	unsigned n = (unsigned)config_setting_length(s);
	if (config_setting_get_member(config_setting_parent(s), "server")) {
		lpw_config_error(c, s, NULL, "is set together with server; expected only one of server and servers");
		return -EINVAL;
	}
	if (n < 1 || n > LPW_DEVICE_MAX_SERVERS) {
		lpw_config_error(c, s, NULL, "has %u entries; expected 1..%d server names", n, LPW_DEVICE_MAX_SERVERS);
		return -EINVAL;
	}
	d->nservers = 0;
	for (unsigned i = 0; i < n; i++) {
		const char *name = config_setting_get_string_elem(s, (int)i);
		const lpw_config_server_t *srv = name ? resolve_server(c, s, name, false) : NULL;
		for (size_t j = 0; srv && j < d->nservers; j++)
			if (d->servers[j] == srv) {
				lpw_config_error(c, s, NULL, "names \"%s\" twice; expected distinct servers", name);
				srv = NULL;
			}
		if (!name)
			lpw_config_error(c, s, NULL, "has a non-string entry; expected server names [\"a\", \"b\"]");
		if (srv)
			d->servers[d->nservers++] = srv;
	}
	return 0;
}

static int check_bootstrap_ref(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_device_t *d = dst;
	d->bootstrap = resolve_server(c, s, text, true);
	return d->bootstrap ? 0 : -EINVAL;
}


/* --- LoRaWAN device keys (binding "lorawan" only; dst is the device) --- */

#define LW_OTAA_EXPECT "join_eui + app_key (or app_key_file) for OTAA, or dev_addr + nwk_s_key + app_s_key for ABP"

static const char *const lw_otaa_keys[] = { "join_eui", "app_key", "app_key_file", NULL };
static const char *const lw_abp_keys[] = { "dev_addr", "nwk_s_key", "app_s_key", NULL };
static const char *const lw_other_keys[] = { "fport", "bootstrap_fport", "confirmed_downlinks", "objects", "adr",
					     "network", NULL };
static const char *const lw_networks[] = { "embedded", "chirpstack", NULL };
_Static_assert(sizeof(lpw_config_lorawan_net_t) == sizeof(int), "the network is stored through an int");

/* Exactly nbytes bytes of hex into out; reports and returns -EINVAL otherwise. The text may be a secret: never
 * echoed. */
static int lw_hex(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *hex, uint8_t *out, size_t nbytes)
{
	uint8_t buf[32];
	size_t len = 0;
	const char *why = "is too long";
	if (strlen(hex) == 2 * nbytes && lpw_config_hex_decode(hex, buf, sizeof(buf), &len, &why) == 0 &&
	    len == nbytes) {
		memcpy(out, buf, nbytes);
		explicit_bzero(buf, sizeof(buf));
		return 0;
	}
	if (strlen(hex) != 2 * nbytes)
		why = "has the wrong length";
	explicit_bzero(buf, sizeof(buf));
	lpw_config_error(c, s, NULL, "the value %s; expected %zu hex digits", why, 2 * nbytes);
	return -EINVAL;
}

/* The binding is parsed before these keys (table order); a wrong binding is reported once in device_finish. */
static bool lw_device(const lpw_config_device_t *d)
{
	return d->binding == LPW_BINDING_LORAWAN;
}

static int check_join_eui(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_device_t *d = dst;
	return lw_device(d) ? lw_hex(c, s, text, d->lorawan.join_eui, 8) : -EINVAL;
}

static int check_app_key(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_device_t *d = dst;
	return lw_device(d) ? lw_hex(c, s, text, d->lorawan.app_key, 16) : -EINVAL;
}

static int check_app_key_file(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *path, void *dst)
{
	lpw_config_device_t *d = dst;
	char buf[128];
	if (!lw_device(d))
		return -EINVAL;
	if (config_setting_get_member(config_setting_parent(s), "app_key")) {
		lpw_config_error(c, s, NULL, "is set together with app_key; expected only one of them");
		return -EINVAL;
	}
	int rc = lpw_config_read_small(path, buf, sizeof(buf));
	if (rc) {
		lpw_config_error(c, s, NULL, "%s cannot be read (%s); expected a file holding 32 hex digits", path,
				 strerror(-rc));
		return -EINVAL;
	}
	rc = lw_hex(c, s, buf, d->lorawan.app_key, 16);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

static int check_dev_addr(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_device_t *d = dst;
	uint8_t b[4];
	if (!lw_device(d) || lw_hex(c, s, text, b, 4))
		return -EINVAL;
	d->lorawan.dev_addr = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return 0;
}

static int check_nwk_s_key(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_device_t *d = dst;
	return lw_device(d) ? lw_hex(c, s, text, d->lorawan.nwk_s_key, 16) : -EINVAL;
}

static int check_app_s_key(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_device_t *d = dst;
	return lw_device(d) ? lw_hex(c, s, text, d->lorawan.app_s_key, 16) : -EINVAL;
}

/* CoRE link format (RFC 6690) as a Register carries the object list: </1/0>,</3/0>,</5>;ver=1.1 ... We check
 * the shape a server parses (each entry starts with </ and a digit, links separated by commas) and no quotes
 * or control characters, not every attribute. */
static int check_objects(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	/* dst is the objects field (store S_STR frees it); the binding is in the same device */
	lpw_config_device_t *d = (lpw_config_device_t *)(void *)((char *)dst - offsetof(lpw_config_device_t,
											lorawan.objects));
	if (!lw_device(d) || check_utf8(c, s, text, "a CoRE link-format list in UTF-8"))
		return -EINVAL;
	const char *p = text;
	for (;;) {
		if (p[0] != '<' || p[1] != '/' || p[2] < '0' || p[2] > '9' || !strchr(p, '>'))
			break;
		p = strchr(p, '>') + 1;
		while (*p && *p != ',' && *p > ' ' && *p != 0x7f)
			p++;
		if (*p == '\0')
			return store(c, &d->lorawan.objects, text);
		if (*p != ',')
			break;
		p++;
	}
	lpw_config_error(c, s, NULL, "\"%s\" is not a CoRE link-format object list at offset %zu; expected e.g. "
				     "\"</1/0>,</3/0>\"", lpw_config_show(c, text), (size_t)(p - text));
	return -EINVAL;
}

static bool lw_int_member(const config_setting_t *elem, const char *name, long long *out)
{
	const config_setting_t *m = config_setting_get_member(elem, name);
	if (!m || (config_setting_type(m) != CONFIG_TYPE_INT && config_setting_type(m) != CONFIG_TYPE_INT64))
		return false;
	*out = config_setting_get_int64(m);
	return true;
}

/* The FPorts are 8-bit; the walker checked type and range (store S_NONE), here they are stored. */
static void lw_fports(lpw_cfg_ctx_t *c, const config_setting_t *elem, lpw_config_device_t *d)
{
	long long v;
	d->lorawan.fport = 1;           /* LwM2M 1.1.1 §6.8.4: lorawan://{FPort}; our default server port */
	d->lorawan.bootstrap_fport = 2;
	if (lw_int_member(elem, "fport", &v) && v >= 1 && v <= 223)
		d->lorawan.fport = (uint8_t)v;
	if (lw_int_member(elem, "bootstrap_fport", &v) && v >= 0 && v <= 223)
		d->lorawan.bootstrap_fport = (uint8_t)v;
	if (d->lorawan.bootstrap_fport && d->lorawan.bootstrap_fport == d->lorawan.fport)
		lpw_config_error(c, config_setting_get_member(elem, "bootstrap_fport"), NULL,
				 "%u is also the fport; expected another FPort, or 0 for none", d->lorawan.bootstrap_fport);
}

static const char *first_member_of(const config_setting_t *elem, const char *const *names)
{
	for (; *names; names++)
		if (config_setting_get_member(elem, *names))
			return *names;
	return NULL;
}

static void lw_missing(lpw_cfg_ctx_t *c, const config_setting_t *elem, const char *const *names, const char *alt)
{
	for (; *names; names++)
		if (!config_setting_get_member(elem, *names) && !(alt && config_setting_get_member(elem, alt)))
			lpw_config_error(c, elem, *names, "is missing; expected " LW_OTAA_EXPECT);
}

static void lorawan_device_finish(lpw_cfg_ctx_t *c, const config_setting_t *elem, lpw_config_device_t *d)
{
	static const char *const otaa_required[] = { "join_eui", "app_key", NULL };
	if (d->binding == LPW_BINDING_COUNT)
		return; /* reported with the binding */
	if (!lw_device(d)) {
		const char *const *sets[] = { lw_otaa_keys, lw_abp_keys, lw_other_keys };
		for (size_t i = 0; i < 3; i++)
			for (const char *const *k = sets[i]; *k; k++)
				if (config_setting_get_member(elem, *k))
					lpw_config_error(c, config_setting_get_member(elem, *k), NULL,
							 "applies to binding lorawan only; this device's binding is %s",
							 lpw_config_binding_names[d->binding]);
		return;
	}
	lw_fports(c, elem, d);
	const char *otaa = first_member_of(elem, lw_otaa_keys), *abp = first_member_of(elem, lw_abp_keys);
	if (d->lorawan.network == LPW_LORAWAN_NET_CHIRPSTACK) { /* ChirpStack holds the keys and the session */
		if (otaa || abp)
			lpw_config_error(c, config_setting_get_member(elem, otaa ? otaa : abp), NULL,
					 "is a LoRaWAN key of a device on network chirpstack; expected no keys (they stay "
					 "in ChirpStack, which identifies the device by its dev_eui)");
		return;
	}
	d->lorawan.otaa = otaa != NULL;
	if (otaa && abp)
		lpw_config_error(c, elem, NULL, "has OTAA (%s) and ABP (%s) keys; expected one set: " LW_OTAA_EXPECT,
				 otaa, abp);
	else if (!otaa && !abp)
		lpw_config_error(c, elem, NULL, "has no LoRaWAN keys; expected " LW_OTAA_EXPECT);
	else if (otaa)
		lw_missing(c, elem, otaa_required, "app_key_file");
	else
		lw_missing(c, elem, lw_abp_keys, NULL);
}

/* --- SMS device keys: the wake-up number of devices of other bindings (LwM2M 1.1.1 §6.6) --- */

#define MSISDN_EXPECT "5..15 digits with an optional leading +"

static const char *const sms_wakeup_keys[] = { "sms_wakeup", "sms_wakeup_delay", "sms_wakeup_instance", NULL };

static int check_sms_number(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_device_t *d = (lpw_config_device_t *)(void *)((char *)dst - offsetof(lpw_config_device_t, sms.number));
	char norm[32];
	const char *why;
	if (d->binding == LPW_BINDING_COUNT)
		return -EINVAL; /* reported with the binding */
	if (d->binding == LPW_BINDING_SMS) {
		lpw_config_error(c, s, NULL, "does not apply to binding sms (its msisdn is its number); expected it on "
					     "devices of other bindings");
		return -EINVAL;
	}
	if (lpw_config_norm_msisdn(text, norm, sizeof(norm), &why) == 0)
		return store(c, dst, norm);
	lpw_config_error(c, s, NULL, "\"%s\" %s; expected " MSISDN_EXPECT, text, why);
	return -EINVAL;
}

static void sms_device_finish(lpw_cfg_ctx_t *c, const config_setting_t *elem, lpw_config_device_t *d)
{
	if (d->binding == LPW_BINDING_COUNT || config_setting_get_member(elem, "sms"))
		return;
	for (const char *const *k = sms_wakeup_keys; *k; k++) {
		const config_setting_t *m = config_setting_get_member(elem, *k);
		if (m && d->binding == LPW_BINDING_SMS)
			lpw_config_error(c, m, NULL, "does not apply to binding sms; expected it on devices of other "
						     "bindings, with sms");
		else if (m)
			lpw_config_error(c, m, NULL, "is set without sms; expected sms = \"+NUMBER\" too");
	}
}

#define SMS_DEV_INT(n, field, lo, hi, d, h)                                                                            \
	{ .name = n, .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_device_t, sms.field), .min = lo,         \
	  .max = hi, .def = d, .help = h }

#define LW_KEY(n, chk, fl, exp, h)                                                                                     \
	{ .name = n, .type = T_STR, .off = 0, .flags = fl, .check = chk, .expect = exp, .help = h }

#define IDENTITY_KEY(k)                                                                                                \
	{ .name = k, .type = T_STR, .check = check_identity, .help = "binding identity (one, matching the binding)" }

static const lpw_cfg_key_t device_keys[] = {
	{ .name = "id", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_device_t, id), .flags = F_REQUIRED,
	  .check = check_name, .expect = NAME_EXPECT, .help = "unique device name" },
	{ .name = "binding", .type = T_CHOICE, .store = S_INT, .off = offsetof(lpw_config_device_t, binding),
	  .flags = F_REQUIRED, .choices = lpw_config_binding_names, .help = "how the device is reached" },
	IDENTITY_KEY("ip"),
	IDENTITY_KEY("external_id"),
	IDENTITY_KEY("msisdn"),
	IDENTITY_KEY("dev_eui"),
	{ .name = "server", .type = T_STR, .check = check_server_ref, .expect = "the name of an entry in servers",
	  .help = "the device's LwM2M server" },
	{ .name = "servers", .type = T_STR_ARRAY, .check = check_server_refs, .expect = "server names [\"a\", \"b\"]",
	  .help = "several LwM2M servers, the first is the default" },
	{ .name = "bootstrap_server", .type = T_STR, .check = check_bootstrap_ref,
	  .expect = "the name of a server with bootstrap = true", .help = "the device's bootstrap server" },
	{ .name = "endpoint", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_device_t, endpoint), .min = 1,
	  .max = 255, .check = check_endpoint, .help = "LwM2M endpoint name; default the id" },
	TLS_KEYS(lpw_config_device_t),
	{ .name = "oscore", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_device_t, oscore),
	  .def = "false", .help = "the device protects itself with OSCORE" },
	{ .name = "max_message_size", .type = T_INT, .store = S_U32,
	  .off = offsetof(lpw_config_device_t, max_message_size), .min = 0, .max = 65535, .def = "0",
	  .help = "southbound message size limit; 0 = the binding's default" },
	{ .name = "queue_max", .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_device_t, queue_max), .min = 0,
	  .max = 1024, .def = "0", .help = "queued server requests; 0 = upstream.queue_max" },
	LW_KEY("join_eui", check_join_eui, 0, "16 hex digits", "lorawan OTAA: JoinEUI (AppEUI)"),
	LW_KEY("app_key", check_app_key, F_HIDE, "32 hex digits", "lorawan OTAA: AppKey (secret)"),
	LW_KEY("app_key_file", check_app_key_file, F_SECRET, "a file (mode 600) holding 32 hex digits",
	       "lorawan OTAA: file holding the AppKey"),
	LW_KEY("dev_addr", check_dev_addr, 0, "8 hex digits", "lorawan ABP: DevAddr"),
	LW_KEY("nwk_s_key", check_nwk_s_key, F_HIDE, "32 hex digits", "lorawan ABP: NwkSKey (secret)"),
	LW_KEY("app_s_key", check_app_s_key, F_HIDE, "32 hex digits", "lorawan ABP: AppSKey (secret)"),
	/* stored by lorawan_device_finish: the fields are 8-bit */
	{ .name = "fport", .type = T_INT, .min = 1, .max = 223, .help = "lorawan: FPort of the LwM2M server (default 1)" },
	{ .name = "bootstrap_fport", .type = T_INT, .min = 0, .max = 223,
	  .help = "lorawan: FPort of the bootstrap server (default 2, 0 = none)" },
	{ .name = "confirmed_downlinks", .type = T_BOOL, .store = S_BOOL,
	  .off = offsetof(lpw_config_device_t, lorawan.confirmed_downlinks), .def = "false",
	  .help = "lorawan: confirmed downlinks (LwM2M App. C.3.1)" },
	{ .name = "adr", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_device_t, lorawan.adr),
	  .def = "true", .help = "lorawan: the network steers the device's data rate and power (with bindings.lorawan.adr)" },
	{ .name = "network", .type = T_CHOICE, .store = S_INT, .off = offsetof(lpw_config_device_t, lorawan.network),
	  .def = "embedded", .choices = lw_networks,
	  .help = "lorawan: the network server: embedded (packet forwarders) or chirpstack (bindings.lorawan.chirpstack)" },
	{ .name = "objects", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_device_t, lorawan.objects),
	  .min = 1, .max = 1024, .check = check_objects, .expect = "a CoRE link-format list such as \"</1/0>,</3/0>\"",
	  .help = "lorawan: object list put into a Register that has none" },
	{ .name = "sms", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_device_t, sms.number),
	  .check = check_sms_number, .expect = MSISDN_EXPECT,
	  .help = "other bindings: the device's SMS number, for the Registration Update Trigger (§6.6)" },
	{ .name = "sms_wakeup", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_device_t, sms.wakeup),
	  .def = "true", .help = "send the trigger by SMS when a server request waits (with sms)" },
	SMS_DEV_INT("sms_wakeup_delay", wakeup_delay_s, 1, 86400, "60", "seconds a request waits before the trigger"),
	SMS_DEV_INT("sms_wakeup_instance", wakeup_instance, 0, 65534, "0", "x of POST /1/x/8: the Server instance"),
	{ 0 },
};

static bool has_member_of(const config_setting_t *elem, const char *const *names)
{
	for (; *names; names++)
		if (config_setting_get_member(elem, *names))
			return true;
	return false;
}

static void device_finish(lpw_cfg_ctx_t *c, const config_setting_t *elem, lpw_config_device_t *d)
{
	static const char *const id_keys[] = { "ip", "external_id", "msisdn", "dev_eui", NULL };
	static const char *const srv_keys[] = { "server", "servers", "bootstrap_server", NULL };
	if (d->binding != LPW_BINDING_COUNT && !has_member_of(elem, id_keys))
		lpw_config_error(c, elem, NULL, "has no identity; expected %s for binding %s",
				 identity_keys_of[d->binding], lpw_config_binding_names[d->binding]);
	if (!has_member_of(elem, srv_keys))
		lpw_config_error(c, elem, NULL, "has no server; expected server = \"NAME\" or servers = [ ... ]");
	tls_finish(c, elem);
	for (size_t i = 0; i <= d->nservers; i++) {
		const lpw_config_server_t *srv = i < d->nservers ? d->servers[i] : d->bootstrap;
		if (srv && srv->secure && !has_credentials(&srv->tls) && !has_credentials(&d->tls))
			lpw_config_error(c, elem, NULL, "uses coaps+tcp server \"%s\" but neither has credentials; "
							"expected " CRED_EXPECT " on the device or the server", srv->name);
	}
	if (d->max_message_size > 0 && d->max_message_size < 16)
		lpw_config_error(c, config_setting_get_member(elem, "max_message_size"), NULL,
				 "%u is too small; expected 0 (the binding's default) or 16..65535", d->max_message_size);
	lorawan_device_finish(c, elem, d);
	sms_device_finish(c, elem, d);
}

static int check_devices(lpw_cfg_ctx_t *c, const config_setting_t *list, const char *text, void *dst)
{
	lpw_config_t *cfg = c->cfg;
	unsigned n = (unsigned)config_setting_length(list);
	if (n == 0)
		return 0;
	cfg->devices = calloc(n, sizeof(*cfg->devices));
	uniq_t *u = calloc(2 * (size_t)n, sizeof(*u));
	if (!cfg->devices || !u) {
		free(u);
		c->nomem = true;
		return -ENOMEM;
	}
	cfg->ndevices = n;
	size_t nu = 0;
	for (unsigned i = 0; i < n; i++) {
		const config_setting_t *elem = config_setting_get_elem(list, i);
		lpw_config_device_t *d = &cfg->devices[i];
		d->binding = LPW_BINDING_COUNT; /* "not known": identity checks wait for a valid binding */
		if (!config_setting_is_group(elem)) {
			lpw_config_error(c, elem, NULL, "is %s; expected a group { id = ...; binding = ...; }",
					 lpw_config_type_name(config_setting_type(elem)));
			continue;
		}
		lpw_config_apply_defaults(c, device_keys, d);
		lpw_config_parse_group(c, elem, device_keys, d);
		device_finish(c, elem, d);
		if (d->id)
			u[nu++] = (uniq_t){ d->id, -1, (int)i, config_setting_get_member(elem, "id") };
		for (size_t k = 0; d->identity && k < sizeof(identities) / sizeof(identities[0]); k++) {
			const config_setting_t *m = config_setting_get_member(elem, identities[k].key);
			if (m && (identities[k].bindings & 1u << d->binding)) {
				u[nu++] = (uniq_t){ d->identity, (int)d->binding, (int)i, m };
				break; /* the key that set it: check_identity refuses a second one */
			}
		}
	}
	check_unique(c, u, nu, "device id");
	free(u);
	lpw_config_index_devices(c);
	return 0;
}

/* --- the top of the file --- */

static const lpw_cfg_key_t log_limit_keys[] = {
	{ .name = "burst", .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_t, log_limit_burst), .min = 0,
	  .max = 100000, .def = "10", .help = "repeated lines and events of one kind about one device at once; 0 = off" },
	{ .name = "lines", .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_t, log_limit_lines), .min = 1,
	  .max = 1000, .def = "1", .help = "... then this many per period" },
	{ .name = "period", .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_t, log_limit_period_s), .min = 1,
	  .max = 86400, .def = "10", .help = "the period, seconds" },
	{ 0 },
};

static const lpw_cfg_key_t log_keys[] = {
	{ .name = "level", .type = T_CHOICE, .store = S_INT, .off = offsetof(lpw_config_t, log_level), .min = LOG_ERR,
	  .def = "info", .choices = log_levels, .help = "most verbose level written" },
	{ .name = "target", .type = T_CHOICE, .store = S_BOOL, .off = offsetof(lpw_config_t, log_syslog),
	  .def = "stderr", .choices = log_targets, .help = "where log lines go" },
	{ .name = "rate_limit", .type = T_GROUP, .sub = log_limit_keys,
	  .help = "repeated lines and events per kind and device: a burst, then a few per period" },
	{ 0 },
};

static const lpw_cfg_key_t mqtt_keys[] = {
	{ .name = "enabled", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_t, mqtt.enabled),
	  .def = "true", .help = "publish telemetry" },
	{ .name = "host", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, mqtt.host), .def = "127.0.0.1",
	  .check = check_host, .help = "broker host" },
	{ .name = "port", .type = T_INT, .store = S_U16, .off = offsetof(lpw_config_t, mqtt.port), .min = 1,
	  .max = 65535, .def = "1883", .help = "broker port" },
	{ .name = "ca_file", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, mqtt.ca_file),
	  .flags = F_FILE, .expect = "a readable PEM file", .help = "TLS to the broker with this CA" },
	{ .name = "username", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, mqtt.username), .min = 1,
	  .max = 256, .check = check_username, .help = "broker user" },
	{ .name = "password", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, mqtt.password), .min = 1,
	  .max = 256, .flags = F_HIDE, .help = "broker password" },
	{ .name = "password_file", .type = T_STR, .off = offsetof(lpw_config_t, mqtt.password), .flags = F_SECRET,
	  .check = check_password_file, .expect = "a file with mode 600", .help = "file holding the broker password" },
	{ .name = "topic_prefix", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, mqtt.topic_prefix),
	  .min = 1, .max = 128, .def = "lpwagw", .check = check_topic, .help = "topics are PREFIX/GATEWAY_ID/..." },
	{ .name = "interval", .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_t, mqtt.interval_s), .min = 1,
	  .max = 86400, .def = "60", .help = "statistics period, seconds" },
	/* libmosquitto refuses a keepalive below 5 s */
	{ .name = "keepalive", .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_t, mqtt.keepalive_s), .min = 5,
	  .max = 65535, .def = "30", .help = "MQTT keepalive, seconds" },
	{ 0 },
};

/* --- control socket and metrics endpoint (issue 14 items 4, 5) --- */

/* An octal file mode as a string ("0660"): libconfig has no octal integers. dst is a uint32_t. */
static int check_mode(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	char *end = NULL;
	unsigned long m = strtoul(text, &end, 8);
	if (*text && end && *end == '\0' && m <= 0777) {
		*(uint32_t *)dst = (uint32_t)m;
		return 0;
	}
	lpw_config_error(c, s, NULL, "\"%s\" is not a file mode; expected octal digits such as \"0660\"", text);
	return -EINVAL;
}

static int check_socket_path(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	if (text[0] == '/' && strlen(text) < 100) /* sockaddr_un.sun_path holds 108 bytes */
		return store(c, dst, text);
	lpw_config_error(c, s, NULL, "\"%s\" is not usable; expected an absolute path under 100 characters", text);
	return -EINVAL;
}

static const lpw_cfg_key_t control_keys[] = {
	{ .name = "socket", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, control.socket), .min = 2,
	  .max = 99, .check = check_socket_path, .expect = "an absolute path",
	  .help = "Unix socket for lpwagw-ctl; unset = none" },
	{ .name = "mode", .type = T_STR, .off = offsetof(lpw_config_t, control.mode), .def = "0660",
	  .check = check_mode, .expect = "an octal mode", .help = "file mode of the socket" },
	{ .name = "allow_uid", .type = T_INT, .store = S_INT, .off = offsetof(lpw_config_t, control.allow_uid),
	  .min = -1, .max = INT_MAX, .def = "-1", .help = "peer uid allowed (root always is); -1 = the daemon's" },
	{ .name = "allow_gid", .type = T_INT, .store = S_INT, .off = offsetof(lpw_config_t, control.allow_gid),
	  .min = -1, .max = INT_MAX, .def = "-1", .help = "peer gid allowed; -1 = the daemon's" },
	{ 0 },
};

static const lpw_cfg_key_t metrics_keys[] = {
	{ .name = "enabled", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_t, metrics.enabled),
	  .def = "false", .help = "serve Prometheus metrics over HTTP" },
	{ .name = "listen", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, metrics.listen),
	  .def = "127.0.0.1", .check = check_listen, .help = "address to bind" },
	{ .name = "port", .type = T_INT, .store = S_U16, .off = offsetof(lpw_config_t, metrics.port), .min = 1,
	  .max = 65535, .def = "9466", .help = "TCP port" },
	{ 0 },
};

#define UPSTREAM_INT(n, field, lo, hi, d, f, h)                                                                        \
	{ .name = n, .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_t, upstream.field), .min = lo,            \
	  .max = hi, .def = d, .flags = f, .help = h }

static const lpw_cfg_key_t upstream_keys[] = {
	UPSTREAM_INT("reconnect_min", reconnect_min_s, 1, 3600, "1", 0, "first reconnect delay, seconds"),
	UPSTREAM_INT("reconnect_max", reconnect_max_s, 1, 86400, "300", 0, "reconnect back-off cap, seconds"),
	/* set per libcoap context, and contexts are made at start */
	UPSTREAM_INT("csm_timeout", csm_timeout_s, 1, 600, "30", F_RESTART, "wait for the server's CSM, seconds"),
	UPSTREAM_INT("ping_interval", ping_interval_s, 0, 86400, "60", 0, "idle time before a CoAP Ping; 0 = never"),
	UPSTREAM_INT("queue_max", queue_max, 1, 1024, "16", 0, "queued server requests per device"),
	UPSTREAM_INT("queue_timeout", queue_timeout_s, 1, 604800, "3600", 0, "a queued request older is answered 5.04"),
	{ 0 },
};

static const lpw_cfg_key_t sgi_keys[] = {
	{ .name = "enabled", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_t, sgi.enabled),
	  .def = "false", .help = "listen for NIDD over the SGi UDP tunnel" },
	{ .name = "listen", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, sgi.listen),
	  .def = "0.0.0.0", .check = check_listen, .help = "address to bind" },
	{ .name = "port", .type = T_INT, .store = S_U16, .off = offsetof(lpw_config_t, sgi.port), .min = 1,
	  .max = 65535, .def = "5683", .help = "UDP port" },
	/* seed 001 App. D: 1358 bytes is the NAS limit for NIDD */
	{ .name = "max_message_size", .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_t, sgi.max_message_size),
	  .min = 16, .max = 65535, .def = "1358", .help = "largest CoAP message to a device" },
	/* LwM2M 1.1.1 §6.5: a queue-mode client listens for MAX_TRANSMIT_WAIT (93 s by default) after it sent */
	{ .name = "awake_time", .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_t, sgi.awake_time_s),
	  .min = 1, .max = 86400, .def = "93", .help = "seconds a queue-mode device listens after it sent" },
	/* a burst of thousands of devices must wait in the kernel while the loop serves TCP, not be dropped */
	{ .name = "receive_buffer", .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_t, sgi.receive_buffer),
	  .min = 65536, .max = 268435456, .def = "8388608", .help = "UDP receive buffer, bytes" },
	{ 0 },
};


/* --- bindings.nidd_t8 (3GPP TS 29.122 Rel-17 T8 NIDD) --- */

static int check_http_url(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	bool ok = (!strncmp(text, "http://", 7) && text[7]) || (!strncmp(text, "https://", 8) && text[8]);
	if (ok && !strpbrk(text, " \t\r\n\"'<>"))
		return store(c, dst, text);
	lpw_config_error(c, s, NULL, "\"%s\" is not an http:// or https:// URL", text);
	return -EINVAL;
}

static int t8_finish(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	const lpw_config_t8_t *t = &((lpw_config_t *)dst)->t8;
	int rc = 0;
	if (t->enabled && !t->api_root) {
		lpw_config_error(c, s, "api_root", "is missing; expected the SCEF's {apiRoot}, e.g. https://scef.example.net");
		rc = -EINVAL;
	}
	if (!t->cert_file != !t->key_file) {
		lpw_config_error(c, s, t->cert_file ? "cert_file" : "key_file", "is set alone; expected cert_file with "
				 "key_file");
		rc = -EINVAL;
	}
	if (!t->callback_cert_file != !t->callback_key_file) {
		lpw_config_error(c, s, "callback_cert_file", "and callback_key_file go together");
		rc = -EINVAL;
	}
	if (t->renew_before_s >= t->duration_s) {
		lpw_config_error(c, s, "renew_before", "%u s is not below duration (%u s)", t->renew_before_s,
				 t->duration_s);
		rc = -EINVAL;
	}
	if (t->retry_min_s > t->retry_max_s) {
		lpw_config_error(c, s, "retry_min", "is above retry_max");
		rc = -EINVAL;
	}
	return rc;
}

#define T8_INT(n, field, lo, hi, d, h)                                                                                 \
	{ .name = n, .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_t, t8.field), .min = lo, .max = hi,     \
	  .def = d, .help = h }
#define T8_STR(n, field, fl, d, chk, h)                                                                                \
	{ .name = n, .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, t8.field), .flags = fl, .def = d,     \
	  .check = chk, .help = h }

static const lpw_cfg_key_t t8_keys[] = {
	{ .name = "enabled", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_t, t8.enabled),
	  .def = "false", .help = "NIDD through the SCEF's T8 API (also on when a device uses it)" },
	T8_STR("api_root", api_root, 0, NULL, check_http_url, "the SCEF's {apiRoot}, e.g. https://scef.example.net"),
	T8_STR("scs_as_id", scs_as_id, 0, "lpwagw", check_name, "our {scsAsId} at the SCEF"),
	T8_STR("ca_file", ca_file, F_FILE, NULL, NULL, "CA certificates that verify the SCEF"),
	T8_STR("cert_file", cert_file, F_FILE, NULL, NULL, "client certificate for the SCEF"),
	T8_STR("key_file", key_file, F_SECRET, NULL, NULL, "its key (mode 600)"),
	T8_STR("token_file", token_file, F_SECRET, NULL, NULL, "OAuth2 bearer token (mode 600)"),
	T8_STR("callback_listen", callback_listen, 0, "0.0.0.0", check_listen, "notification server address"),
	{ .name = "callback_port", .type = T_INT, .store = S_U16, .off = offsetof(lpw_config_t, t8.callback_port),
	  .min = 1, .max = 65535, .def = "8091", .help = "notification server port" },
	T8_STR("callback_url", callback_url, 0, NULL, check_http_url, "notificationDestination the SCEF reaches"),
	T8_STR("callback_cert_file", callback_cert_file, F_FILE, NULL, NULL, "HTTPS certificate of the callbacks"),
	T8_STR("callback_key_file", callback_key_file, F_SECRET, NULL, NULL, "its key (mode 600)"),
	T8_INT("duration", duration_s, 60, 31536000, "86400", "lifetime asked for a NIDD configuration, s"),
	T8_INT("renew_before", renew_before_s, 1, 86400, "300", "renewed this long before it ends, s"),
	{ .name = "delete_on_shutdown", .type = T_BOOL, .store = S_BOOL,
	  .off = offsetof(lpw_config_t, t8.delete_on_shutdown), .def = "true",
	  .help = "DELETE the configurations on stop" },
	T8_INT("request_timeout", request_timeout_s, 1, 600, "10", "an SCEF request gives up after, s"),
	T8_INT("retry_min", retry_min_s, 1, 3600, "2", "back-off of failed configuration requests: from, s"),
	T8_INT("retry_max", retry_max_s, 1, 86400, "300", "back-off: to, s"),
	/* seed 001 App. D: 1358 bytes is the NAS limit for NIDD */
	T8_INT("max_message_size", max_message_size, 16, 65535, "1358", "size when the SCEF gives none, bytes"),
	T8_INT("reachable_window", reachable_window_s, 1, 86400, "93", "seconds a device listens after it sent"),
	T8_INT("response_timeout", response_timeout_s, 1, 86400, "120", "an unanswered CON fails after (5.04)"),
	T8_INT("queue_max", queue_max, 1, 64, "4", "downlinks held per device while its configuration is made"),
	{ 0 },
};

/* --- bindings.lorawan --- */

static const char *const lw_regions[] = { "EU868", "US915", "AU915", "AS923-1", "AS923-2", "AS923-3", "AS923-4",
					   NULL };

/* What the checks below need of each region (RP002-1.0.x): downlink DRs, RX1DROffsets, the band, whether devices
 * are kept to a sub-band (64 + 8 channels) or told extra channels, and the default channels those must not repeat.
 * AS923-2..4 are AS923-1 shifted down by 1.8, 6.6 and 5.9 MHz. */
struct lw_region_limits {
	unsigned dr_lo, dr_hi, off_hi;
	uint32_t f_lo, f_hi;
	bool sub_bands;
	uint32_t defaults[3];
};
static const struct lw_region_limits lw_limits[] = {
	[LPW_REGION_EU868] = { 0, 7, 5, 863000000u, 870000000u, false, { 868100000u, 868300000u, 868500000u } },
	[LPW_REGION_US915] = { 8, 13, 3, 902000000u, 928000000u, true, { 0 } },
	[LPW_REGION_AU915] = { 8, 13, 5, 915000000u, 928000000u, true, { 0 } },
	[LPW_REGION_AS923_1] = { 2, 7, 7, 915000000u, 928000000u, false, { 923200000u, 923400000u } },
	[LPW_REGION_AS923_2] = { 2, 7, 7, 915000000u, 928000000u, false, { 921400000u, 921600000u } },
	[LPW_REGION_AS923_3] = { 2, 7, 7, 915000000u, 928000000u, false, { 916600000u, 916800000u } },
	[LPW_REGION_AS923_4] = { 2, 7, 7, 915000000u, 928000000u, false, { 917300000u, 917500000u } },
};
_Static_assert(sizeof(lpw_config_region_t) == sizeof(int), "the region is stored through an int");

/* The concentrator reset line: present group = a line to pulse; its chip defaults to gpiochip0. */
static int gpio_finish(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_lorawan_t *lw = &((lpw_config_t *)dst)->lorawan;
	if (!lw->gpio_chip)
		lw->gpio_chip = lpw_config_strdup(c, "gpiochip0");
	return lw->gpio_chip ? 0 : -ENOMEM;
}

static int chirpstack_devices_finish(lpw_cfg_ctx_t *c, const config_setting_t *s, const lpw_config_t *cfg);

/* The plan's extra channels inside the region's band, distinct and none a default channel. */
static int check_plan(lpw_cfg_ctx_t *c, const config_setting_t *s, const lpw_config_lorawan_t *lw)
{
	const struct lw_region_limits *l = &lw_limits[lw->region];
	int rc = 0;
	for (size_t i = 0; i < lw->nchannels; i++) {
		uint32_t f = lw->channels_hz[i];
		bool dup = false;
		for (size_t j = 0; j < 3; j++)
			dup |= f == l->defaults[j];
		for (size_t j = 0; j < i; j++)
			dup |= f == lw->channels_hz[j];
		if (dup || f < l->f_lo || f > l->f_hi) {
			lpw_config_error(c, config_setting_get_member(s, "channels"), NULL, "entry %zu (%u Hz) %s", i + 1, f,
					 dup ? "is listed twice or is one of the region's default channels"
					     : "is outside the region's band");
			rc = -EINVAL;
		}
	}
	return rc;
}

/* Region-dependent ranges (RP002-1.0.x): downlink DRs, RX1DROffsets, frequencies inside the region's band, the
 * kind of channel plan. */
static int lorawan_finish(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	const lpw_config_lorawan_t *lw = &((lpw_config_t *)dst)->lorawan;
	const struct lw_region_limits *l = &lw_limits[lw->region];
	unsigned dr_lo = l->dr_lo, dr_hi = l->dr_hi, off_hi = l->off_hi;
	uint32_t f_lo = l->f_lo, f_hi = l->f_hi;
	const char *region = lw_regions[lw->region];
	bool us = l->sub_bands;
	int rc = check_plan(c, s, lw);
	if (lw->rx2_dr != UINT32_MAX && (lw->rx2_dr < dr_lo || lw->rx2_dr > dr_hi)) {
		lpw_config_error(c, config_setting_get_member(s, "rx2_dr"), NULL,
				 "%u is not a %s downlink data rate; expected %u..%u", lw->rx2_dr, region, dr_lo, dr_hi);
		rc = -EINVAL;
	}
	if (lw->rx1_dr_offset > off_hi) {
		lpw_config_error(c, config_setting_get_member(s, "rx1_dr_offset"), NULL,
				 "%u is beyond %s's RX1 offsets; expected 0..%u", lw->rx1_dr_offset, region, off_hi);
		rc = -EINVAL;
	}
	if (lw->rx2_freq_hz && (lw->rx2_freq_hz < f_lo || lw->rx2_freq_hz > f_hi)) {
		lpw_config_error(c, config_setting_get_member(s, "rx2_freq"), NULL,
				 "%u Hz is outside the %s band; expected %u..%u Hz", lw->rx2_freq_hz, region, f_lo, f_hi);
		rc = -EINVAL;
	}
	if (lw->sub_band && !us) {
		lpw_config_error(c, config_setting_get_member(s, "sub_band"), NULL,
				 "is for US915 and AU915; %s lists its extra frequencies in channels", region);
		rc = -EINVAL;
	}
	if (lw->nchannels && us) {
		lpw_config_error(c, config_setting_get_member(s, "channels"), NULL,
				 "is for EU868 and AS923; %s keeps devices to a sub-band with sub_band = 1..8", region);
		rc = -EINVAL;
	}
	if (chirpstack_devices_finish(c, s, dst) < 0)
		rc = -EINVAL;
	if (lw->only_listed_forwarders && lw->nforwarders == 0) {
		lpw_config_error(c, config_setting_get_member(s, "only_listed_forwarders"), NULL,
				 "is true but forwarders lists no gateway EUI; expected forwarders = [ \"<16 hex digits>\", ... ]");
		rc = -EINVAL;
	}
	return rc;
}

/* bindings.lorawan.forwarders: gateway EUIs, 16 hex digits each, distinct. dst is the lpw_config_lorawan_t. */
static int check_forwarders(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_lorawan_t *lw = dst;
	unsigned n = (unsigned)config_setting_length(s);
	if (n > LPW_LORAWAN_MAX_LISTED) {
		lpw_config_error(c, s, NULL, "has %u entries; expected at most %d gateway EUIs", n, LPW_LORAWAN_MAX_LISTED);
		return -EINVAL;
	}
	lw->nforwarders = 0;
	int rc = 0;
	for (unsigned i = 0; i < n; i++) {
		const char *eui = config_setting_get_string_elem(s, (int)i), *why = "is not a string";
		char norm[17];
		if (!eui || lpw_config_norm_dev_eui(eui, norm, sizeof(norm), &why) != 0) {
			lpw_config_error(c, s, NULL, "entry %u %s; expected a gateway EUI of 16 hex digits", i + 1, why);
			rc = -EINVAL;
			continue;
		}
		uint64_t v = strtoull(norm, NULL, 16);
		for (size_t j = 0; j < lw->nforwarders; j++)
			if (lw->forwarders[j] == v) {
				lpw_config_error(c, s, NULL, "names %s twice; expected distinct gateway EUIs", norm);
				rc = -EINVAL;
			}
		lw->forwarders[lw->nforwarders++] = v;
	}
	return rc;
}

/* bindings.lorawan.channels: up to five frequencies in Hz beside the region's default channels, on the 100 Hz grid
 * a CFList carries (LoRaWAN 1.0.3 §6.2.5); band and duplicates are checked with the region (lorawan_finish).
 * dst is the lorawan group. */
static int check_channels(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_lorawan_t *lw = dst;
	unsigned n = (unsigned)config_setting_length(s);
	int rc = 0;
	lw->nchannels = 0;
	if (n > LPW_LORAWAN_MAX_CHANNELS) {
		lpw_config_error(c, s, NULL, "has %u entries; a Join-Accept's CFList carries at most %d", n,
				 LPW_LORAWAN_MAX_CHANNELS);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		long long v = e && config_setting_type(e) == CONFIG_TYPE_INT ? config_setting_get_int(e) : -1;
		if (v <= 0 || v > 1000000000 || v % 100) {
			lpw_config_error(c, s, NULL, "entry %u %s", i + 1,
					 v <= 0 || v > 1000000000 ? "is not a frequency; expected an integer in Hz"
								  : "is not a multiple of 100 Hz (the CFList's unit)");
			rc = -EINVAL;
			continue;
		}
		lw->channels_hz[lw->nchannels++] = (uint32_t)v;
	}
	return rc;
}

#define LW_INT(n, field, lo, hi, d, h)                                                                                 \
	{ .name = n, .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_t, lorawan.field), .min = lo,             \
	  .max = hi, .def = d, .help = h }

static const lpw_cfg_key_t gpio_keys[] = {
	{ .name = "chip", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, lorawan.gpio_chip), .min = 1,
	  .max = 255, .help = "GPIO chip: gpiochip0, 0 or /dev/gpiochip0; default gpiochip0" },
	LW_INT("line", gpio_line, 0, 1023, "17", "the concentrator's reset line"),
	{ .name = "active_low", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_t, lorawan.gpio_active_low),
	  .def = "false", .help = "the reset is active at 0 V" },
	LW_INT("pulse_ms", gpio_pulse_ms, 1, 10000, "100", "reset pulse length, milliseconds"),
	{ 0 },
};

/* --- bindings.lorawan.chirpstack: ChirpStack v4's MQTT integration --- */

/* ChirpStack names applications by UUID (8-4-4-4-12 hex digits); it goes into topics, so nothing else may. */
static int check_uuid(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	bool ok = strlen(text) == sizeof(shape) - 1;
	for (size_t i = 0; ok && shape[i]; i++)
		ok = shape[i] == '-' ? text[i] == '-' : strchr("0123456789abcdefABCDEF", text[i]) && text[i];
	if (ok)
		return store(c, dst, text);
	lpw_config_error(c, s, NULL, "\"%s\" is not a UUID; expected the ChirpStack application's ID, e.g. "
				     "\"8e5a4f0c-1c2b-4d3e-9f60-0a1b2c3d4e5f\"", text);
	return -EINVAL;
}

static int chirpstack_finish(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	const lpw_config_chirpstack_t *cs = &((lpw_config_t *)dst)->lorawan.chirpstack;
	const config_setting_t *cert = config_setting_get_member(s, "cert_file");
	const config_setting_t *key = config_setting_get_member(s, "key_file");
	int rc = 0;
	if (cs->enabled && !config_setting_get_member(s, "application_id")) {
		lpw_config_error(c, s, "application_id", "is missing; expected the ChirpStack application's UUID");
		rc = -EINVAL;
	}
	if (!cert != !key) {
		lpw_config_error(c, cert ? cert : key, NULL, "is set alone; expected cert_file with key_file");
		rc = -EINVAL;
	}
	if ((cert || key) && !config_setting_get_member(s, "ca_file")) {
		lpw_config_error(c, cert ? cert : key, NULL, "is set without ca_file; expected ca_file (TLS) too");
		rc = -EINVAL;
	}
	if (cs->reconnect_min_s > cs->reconnect_max_s) {
		lpw_config_error(c, config_setting_get_member(s, "reconnect_max"), NULL,
				 "%u is below reconnect_min (%u); expected at least %u", cs->reconnect_max_s,
				 cs->reconnect_min_s, cs->reconnect_min_s);
		rc = -EINVAL;
	}
	return rc;
}

#define CS_OFF(field) offsetof(lpw_config_t, lorawan.chirpstack.field)
#define CS_INT(n, field, lo, hi, d, h)                                                                                 \
	{ .name = n, .type = T_INT, .store = S_U32, .off = CS_OFF(field), .min = lo, .max = hi, .def = d, .help = h }

static const lpw_cfg_key_t chirpstack_keys[] = {
	{ .name = "enabled", .type = T_BOOL, .store = S_BOOL, .off = CS_OFF(enabled), .def = "false",
	  .help = "serve devices with network = \"chirpstack\" through ChirpStack's MQTT integration" },
	{ .name = "host", .type = T_STR, .store = S_STR, .off = CS_OFF(host), .def = "127.0.0.1", .check = check_host,
	  .help = "the MQTT broker ChirpStack's integration publishes to" },
	{ .name = "port", .type = T_INT, .store = S_U16, .off = CS_OFF(port), .min = 0, .max = 65535, .def = "0",
	  .help = "broker port; 0 = 1883, or 8883 with TLS" },
	{ .name = "client_id", .type = T_STR, .store = S_STR, .off = CS_OFF(client_id), .min = 1, .max = 128,
	  .help = "MQTT client id; default lpwagw-GATEWAY_ID-chirpstack" },
	{ .name = "username", .type = T_STR, .store = S_STR, .off = CS_OFF(username), .min = 1, .max = 256,
	  .help = "broker user" },
	{ .name = "password", .type = T_STR, .store = S_STR, .off = CS_OFF(password), .min = 1, .max = 256,
	  .flags = F_HIDE, .help = "broker password" },
	{ .name = "password_file", .type = T_STR, .off = CS_OFF(password), .flags = F_SECRET,
	  .check = check_password_file, .expect = "a file with mode 600", .help = "file holding the broker password" },
	{ .name = "ca_file", .type = T_STR, .store = S_STR, .off = CS_OFF(ca_file), .flags = F_FILE,
	  .expect = "a readable PEM file", .help = "TLS to the broker, verified with these CAs" },
	{ .name = "cert_file", .type = T_STR, .store = S_STR, .off = CS_OFF(cert_file), .flags = F_FILE,
	  .expect = "a readable PEM file", .help = "TLS client certificate" },
	{ .name = "key_file", .type = T_STR, .store = S_STR, .off = CS_OFF(key_file), .flags = F_SECRET,
	  .expect = "a PEM file with mode 600", .help = "the client certificate's private key" },
	{ .name = "application_id", .type = T_STR, .store = S_STR, .off = CS_OFF(application_id), .check = check_uuid,
	  .expect = "a UUID", .help = "the ChirpStack application the devices are in" },
	{ .name = "topic_prefix", .type = T_STR, .store = S_STR, .off = CS_OFF(topic_prefix), .min = 1, .max = 128,
	  .def = "application", .check = check_topic, .help = "ChirpStack's topics are PREFIX/APP_ID/device/..." },
	{ .name = "region", .type = T_CHOICE, .store = S_INT, .off = CS_OFF(region), .def = "EU868",
	  .choices = lw_regions, .help = "the devices' region: payload limits per data rate" },
	CS_INT("rx1_dr_offset", rx1_dr_offset, 0, 7, "0", "the RX1DROffset ChirpStack gives the devices (AS923 0..7)"),
	CS_INT("keepalive", keepalive_s, 5, 65535, "30", "MQTT keepalive, seconds"),
	CS_INT("reconnect_min", reconnect_min_s, 1, 3600, "1", "first reconnect delay, seconds"),
	CS_INT("reconnect_max", reconnect_max_s, 1, 86400, "60", "reconnect back-off cap, seconds"),
	CS_INT("downlink_window", downlink_window_s, 1, 86400, "60",
	       "after an uplink, downlinks go into ChirpStack's queue for this long, seconds"),
	{ 0 },
};

/* A device on network chirpstack needs the ChirpStack connection (devices are parsed before bindings). */
static int chirpstack_devices_finish(lpw_cfg_ctx_t *c, const config_setting_t *s, const lpw_config_t *cfg)
{
	if (cfg->lorawan.chirpstack.enabled)
		return 0;
	for (size_t i = 0; i < cfg->ndevices; i++) {
		const lpw_config_device_t *d = &cfg->devices[i];
		if (d->binding == LPW_BINDING_LORAWAN && d->lorawan.network == LPW_LORAWAN_NET_CHIRPSTACK) {
			lpw_config_error(c, s, "chirpstack", "is not enabled but device \"%s\" uses network chirpstack; "
					 "expected chirpstack: { enabled = true; application_id = ...; }",
					 d->id ? d->id : "?");
			return -EINVAL;
		}
	}
	return 0;
}

static const lpw_cfg_key_t lorawan_keys[] = {
	{ .name = "enabled", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_t, lorawan.enabled),
	  .def = "false", .help = "be the network server for Semtech UDP packet forwarders" },
	{ .name = "listen", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, lorawan.listen),
	  .def = "0.0.0.0", .check = check_listen, .help = "address to bind" },
	{ .name = "port", .type = T_INT, .store = S_U16, .off = offsetof(lpw_config_t, lorawan.port), .min = 1,
	  .max = 65535, .def = "1700", .help = "UDP port (the forwarders' serv_port_up/down)" },
	{ .name = "region", .type = T_CHOICE, .store = S_INT, .off = offsetof(lpw_config_t, lorawan.region),
	  .def = "EU868", .choices = lw_regions, .help = "regional parameters" },
	LW_INT("net_id", net_id, 0, 0xFFFFFF, "0", "NetID (24 bits); its type 0/1 prefix seeds OTAA DevAddrs"),
	LW_INT("rx1_dr_offset", rx1_dr_offset, 0, 7, "0", "RX1DROffset (EU868/AU915 0..5, US915 0..3, AS923 0..7)"),
	/* UINT32_MAX and 0: the region's defaults (EU868 DR0 869.525 MHz, US915 DR8 923.3 MHz) */
	LW_INT("rx2_dr", rx2_dr, 0, 15, "4294967295", "RX2 data rate; default the region's"),
	LW_INT("rx2_freq", rx2_freq_hz, 0, 1000000000, "0", "RX2 frequency in Hz; default the region's"),
	/* LwM2M 1.1.1 App. C.2 */
	LW_INT("ack_timeout", ack_timeout_s, 1, 86400, "300", "ACK_TIMEOUT, seconds (App. C.2)"),
	LW_INT("max_retransmit", max_retransmit, 0, 16, "4", "MAX_RETRANSMIT (App. C.2)"),
	LW_INT("forwarder_timeout", forwarder_timeout_s, 1, 3600, "30", "a forwarder silent this long is down"),
	LW_INT("dedup_ms", dedup_ms, 0, 2000, "200", "wait for copies of an uplink from other forwarders"),
	{ .name = "forwarders", .type = T_STR_ARRAY, .off = offsetof(lpw_config_t, lorawan), .check = check_forwarders,
	  .expect = "gateway EUIs [\"AA555A0000000001\", ...]",
	  .help = "gateway EUIs that always get a forwarder slot (evicting the least recently heard unlisted one)" },
	{ .name = "only_listed_forwarders", .type = T_BOOL, .store = S_BOOL,
	  .off = offsetof(lpw_config_t, lorawan.only_listed_forwarders), .def = "false",
	  .help = "refuse datagrams of every gateway EUI not in forwarders" },
	{ .name = "gpio", .type = T_GROUP, .sub = gpio_keys, .check = gpio_finish,
	  .help = "the concentrator's reset line, pulsed once at start" },
	/* the channel plan and ADR */
	{ .name = "channels", .type = T_STR_ARRAY, .off = offsetof(lpw_config_t, lorawan), .check = check_channels,
	  .expect = "frequencies in Hz [867100000, 867300000, ...]",
	  .help = "EU868/AS923: channels beside the default ones, sent in the Join-Accept's CFList (at most 5)" },
	LW_INT("sub_band", sub_band, 0, 8, "0", "US915/AU915: the sub-band devices are kept to (1..8); 0 = all 72"),
	{ .name = "adr", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_t, lorawan.adr), .def = "true",
	  .help = "network-side ADR: data rate, TX power and NbTrans from the devices' SNR margin" },
	LW_INT("adr_margin_db", adr_margin_db, 0, 30, "10", "ADR installation margin, dB"),
	LW_INT("adr_history", adr_history, 1, 20, "20", "uplinks ADR looks at before it decides"),
	{ .name = "chirpstack", .type = T_GROUP, .sub = chirpstack_keys, .check = chirpstack_finish,
	  .help = "ChirpStack v4 as the network server of devices with network = \"chirpstack\"" },
	{ 0 },
};

/* --- bindings.sms --- */

static const char *const sms_cnmi_modes[] = { "store", "direct", NULL };
_Static_assert(sizeof(lpw_config_sms_cnmi_t) == sizeof(int), "the CNMI mode is stored through an int");

/* The termios speeds hal/serial knows (config does not depend on hal/: the list is repeated, both from termios.h). */
static bool sms_baud_valid(uint32_t b)
{
	static const uint32_t speeds[] = { 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800,
					   500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000,
					   3000000, 3500000, 4000000 };
	for (size_t i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++)
		if (speeds[i] == b)
			return true;
	return false;
}

/* TS 23.038 §4, as bindings/sms/sms_pdu.c decides it: uncompressed 8-bit data (LwM2M §6.8.3) of a class other than
 * 0 (a class 0 "flash" message is shown and dropped, never stored). */
static bool sms_dcs_valid(uint32_t dcs)
{
	if (dcs >> 4 <= 7) /* general data coding and automatic deletion groups */
		return ((dcs >> 2) & 3) == 1 && !(dcs & 0x20) && !((dcs & 0x10) && (dcs & 3) == 0);
	return dcs >> 4 == 0xf && (dcs & 0x04) && (dcs & 3) != 0;
}

static int check_device_path(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	if (text[0] == '/')
		return store(c, dst, text);
	lpw_config_error(c, s, NULL, "\"%s\" is not an absolute path; expected the modem's serial port, e.g. "
				     "/dev/serial/by-id/usb-...-if02", text);
	return -EINVAL;
}

/* 3GPP TS 31.101 §9.5.1 / ISO 9564: a PIN is 4..8 decimal digits. Never echoed. */
static int check_pin_file(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *path, void *dst)
{
	char buf[64];
	int rc = lpw_config_read_small(path, buf, sizeof(buf));
	size_t n = rc ? 0 : strlen(buf);
	bool digits = n >= 4 && n <= 8 && strspn(buf, "0123456789") == n;
	if (!rc && digits)
		rc = store(c, dst, buf);
	else
		lpw_config_error(c, s, NULL, "%s %s; expected a file holding the SIM PIN, 4..8 digits", path,
				 rc ? strerror(-rc) : "does not hold 4..8 digits");
	explicit_bzero(buf, sizeof(buf));
	return rc ? rc : digits ? 0 : -EINVAL;
}

static int check_smsc(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	char norm[32];
	const char *why;
	if (lpw_config_norm_msisdn(text, norm, sizeof(norm), &why) == 0)
		return store(c, dst, norm);
	lpw_config_error(c, s, NULL, "\"%s\" %s; expected the SMSC's number, " MSISDN_EXPECT, text, why);
	return -EINVAL;
}

static int sms_gpio_finish(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	lpw_config_sms_t *sms = &((lpw_config_t *)dst)->sms;
	if (!sms->gpio_chip)
		sms->gpio_chip = lpw_config_strdup(c, "gpiochip0");
	return sms->gpio_chip ? 0 : -ENOMEM;
}

static int sms_finish(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst)
{
	const lpw_config_sms_t *sms = &((lpw_config_t *)dst)->sms;
	int rc = 0;
	if (sms->enabled && !sms->device && !config_setting_get_member(s, "device")) {
		lpw_config_error(c, s, "device", "is missing; expected the modem's serial port, e.g. /dev/ttyUSB2");
		rc = -EINVAL;
	}
	if (!sms_baud_valid(sms->baud)) {
		lpw_config_error(c, config_setting_get_member(s, "baud"), NULL, "%u is not a serial speed; expected one "
				 "of 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600 (or 1200..4000000 "
				 "of termios)", sms->baud);
		rc = -EINVAL;
	}
	if (!sms_dcs_valid(sms->dcs)) {
		lpw_config_error(c, config_setting_get_member(s, "dcs"), NULL, "%u (0x%02X) is not 8-bit data or is of "
				 "message class 0; expected e.g. 4 (0x04, 8-bit, no class), 0xF5 or 0x16", sms->dcs,
				 sms->dcs);
		rc = -EINVAL;
	}
	if (sms->validity_s > 0 && sms->validity_s < 300) {
		lpw_config_error(c, config_setting_get_member(s, "validity"), NULL, "%u s is below the shortest "
				 "validity period; expected 0 (none) or 300..38102400 seconds", sms->validity_s);
		rc = -EINVAL;
	}
	return rc;
}

#define SMS_INT(n, field, lo, hi, d, h)                                                                                \
	{ .name = n, .type = T_INT, .store = S_U32, .off = offsetof(lpw_config_t, sms.field), .min = lo, .max = hi,    \
	  .def = d, .help = h }

static const lpw_cfg_key_t sms_gpio_keys[] = {
	{ .name = "chip", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, sms.gpio_chip), .min = 1,
	  .max = 255, .help = "GPIO chip: gpiochip0, 0 or /dev/gpiochip0; default gpiochip0" },
	SMS_INT("line", gpio_line, 0, 1023, "0", "the modem's reset or power line"),
	{ .name = "active_low", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_t, sms.gpio_active_low),
	  .def = "false", .help = "the line is active at 0 V" },
	SMS_INT("pulse_ms", gpio_pulse_ms, 1, 10000, "500", "pulse length, milliseconds"),
	{ 0 },
};

static const lpw_cfg_key_t sms_keys[] = {
	{ .name = "enabled", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_t, sms.enabled),
	  .def = "false", .help = "CoAP over SMS through a cellular modem" },
	{ .name = "device", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, sms.device), .min = 1,
	  .max = 1024, .check = check_device_path, .expect = "an absolute path", .help = "the modem's serial port" },
	SMS_INT("baud", baud, 1200, 4000000, "115200", "serial speed"),
	{ .name = "cnmi", .type = T_CHOICE, .store = S_INT, .off = offsetof(lpw_config_t, sms.cnmi), .def = "store",
	  .choices = sms_cnmi_modes, .help = "store: +CMTI then read and delete; direct: +CMT and +CNMA" },
	{ .name = "pin_file", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, sms.pin),
	  .flags = F_SECRET | F_HIDE, .check = check_pin_file, .expect = "a file (mode 600) holding 4..8 digits",
	  .help = "the SIM PIN, entered only if the modem asks" },
	{ .name = "smsc", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, sms.smsc),
	  .check = check_smsc, .expect = MSISDN_EXPECT, .help = "SMS centre; default the SIM's" },
	SMS_INT("dcs", dcs, 0, 255, "4", "TP-DCS of sent SMS: 8-bit data, never class 0"),
	/* TS 23.040 §9.2.3.12.1: 5 minutes to 63 weeks */
	SMS_INT("validity", validity_s, 0, 38102400, "3600", "TP-VP in seconds, rounded up; 0 = none"),
	{ .name = "status_reports", .type = T_BOOL, .store = S_BOOL, .off = offsetof(lpw_config_t, sms.status_reports),
	  .def = "false", .help = "request status reports (TP-SRR)" },
	SMS_INT("max_parts", max_parts, 1, 32, "4", "concatenated SMS per message (sets the southbound size)"),
	SMS_INT("reassembly_timeout", reassembly_timeout_s, 10, 86400, "300", "incomplete message dropped after"),
	SMS_INT("max_chains", max_chains, 1, 64, "4", "incomplete messages per device"),
	SMS_INT("reassembly_memory", reassembly_memory, 1024, 67108864, "65536", "bytes for incomplete messages"),
	SMS_INT("rate_device", rate_device, 1, 100000, "60", "SMS sent per hour per device"),
	SMS_INT("rate_total", rate_total, 1, 1000000, "600", "SMS sent per hour in all"),
	SMS_INT("reachable_window", reachable_window_s, 1, 86400, "93", "seconds a device listens after it sent"),
	SMS_INT("response_timeout", response_timeout_s, 1, 86400, "120", "an unanswered CON fails after (5.04)"),
	{ .name = "gpio", .type = T_GROUP, .sub = sms_gpio_keys, .check = sms_gpio_finish,
	  .help = "the modem's reset or power line, pulsed when it stops answering" },
	{ 0 },
};

static const lpw_cfg_key_t binding_keys[] = {
	{ .name = "nidd_sgi", .type = T_GROUP, .sub = sgi_keys, .help = "NIDD over the SGi tunnel" },
	{ .name = "nidd_t8", .type = T_GROUP, .sub = t8_keys, .check = t8_finish,
	  .help = "NIDD through an SCEF's T8 API" },
	{ .name = "sms", .type = T_GROUP, .sub = sms_keys, .check = sms_finish, .help = "SMS through a modem" },
	{ .name = "lorawan", .type = T_GROUP, .sub = lorawan_keys, .check = lorawan_finish,
	  .help = "LoRaWAN through Semtech UDP packet forwarders" },
	{ 0 },
};

/* Order matters: servers before devices, which refer to them. */
const lpw_cfg_key_t lpw_config_top_keys[] = {
	{ .name = "gateway_id", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, gateway_id),
	  .flags = F_REQUIRED | F_RESTART, .check = check_name, .expect = NAME_EXPECT, .help = "this gateway's name" },
	{ .name = "state_dir", .type = T_STR, .store = S_STR, .off = offsetof(lpw_config_t, state_dir), .min = 1,
	  .max = 1024, .def = "/var/lib/lpwagw", .flags = F_RELATIVE | F_RESTART, .help = "where the state lives" },
	{ .name = "log", .type = T_GROUP, .sub = log_keys, .help = "logging" },
	{ .name = "mqtt", .type = T_GROUP, .sub = mqtt_keys, .help = "MQTT telemetry" },
	{ .name = "control", .type = T_GROUP, .sub = control_keys, .flags = F_RESTART,
	  .help = "the control socket (lpwagw-ctl)" },
	{ .name = "metrics", .type = T_GROUP, .sub = metrics_keys, .flags = F_RESTART,
	  .help = "the Prometheus endpoint" },
	{ .name = "upstream", .type = T_GROUP, .sub = upstream_keys, .check = upstream_finish,
	  .help = "sessions to LwM2M servers" },
	{ .name = "servers", .type = T_LIST, .check = check_servers, .help = "LwM2M and bootstrap servers" },
	{ .name = "devices", .type = T_LIST, .check = check_devices, .help = "the devices the gateway speaks for" },
	{ .name = "bindings", .type = T_GROUP, .sub = binding_keys, .flags = F_RESTART, .help = "southbound paths" },
	{ 0 },
};

void lpw_config_free_lists(lpw_config_t *cfg)
{
	for (size_t i = 0; cfg->servers && i < cfg->nservers; i++) {
		lpw_config_server_t *srv = &cfg->servers[i];
		lpw_config_free_keys(server_keys, srv);
		free(srv->uri);
		free(srv->host);
		explicit_bzero(srv, sizeof(*srv));
	}
	for (size_t i = 0; cfg->devices && i < cfg->ndevices; i++) {
		lpw_config_device_t *d = &cfg->devices[i];
		lpw_config_free_keys(device_keys, d);
		free(d->identity);
		explicit_bzero(d, sizeof(*d));
	}
	free(cfg->servers);
	free(cfg->devices);
	cfg->servers = NULL;
	cfg->devices = NULL;
	cfg->nservers = cfg->ndevices = 0;
}
