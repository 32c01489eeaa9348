/* Configuration loading: reads the libconfig file, walks it against the schema table (schema.c), collects
 * every problem as "FILE:LINE: SETTING: what is wrong; expected WHAT". */
#include "config/config_internal.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Sorted views of the servers (by name) and devices (by id): lookups are binary searches, so a device list of
 * thousands referring to servers, and a reload's diff, stay O(n log n). Equal names sort by position, so a lookup
 * finds the first, as a scan would. */
struct lpw_config_index {
	const lpw_config_server_t **servers;
	size_t nservers;
	const lpw_config_device_t **devices;
	size_t ndevices;
};

char *lpw_config_strdup(lpw_cfg_ctx_t *c, const char *s)
{
	char *d = strdup(s);
	if (!d)
		c->nomem = true;
	return d;
}

static void setting_path(const config_setting_t *s, char *buf, size_t cap)
{
	if (!s || config_setting_is_root(s)) {
		buf[0] = '\0';
		return;
	}
	setting_path(config_setting_parent(s), buf, cap);
	size_t len = strlen(buf);
	const char *name = config_setting_name(s);
	if (name)
		snprintf(buf + len, cap - len, "%s%s", len ? "." : "", name);
	else
		snprintf(buf + len, cap - len, "%s[%d]", len ? "." : "", config_setting_index(s));
}

const char *lpw_config_where(const lpw_cfg_ctx_t *c, const config_setting_t *s, unsigned *out_line)
{
	return lpw_config_source_where(&c->src, s ? config_setting_source_line(s) : 0, out_line);
}

/* Counts the error; whether it may still be written (the first LPW_CONFIG_MAX_ERRORS are). */
static bool count_error(lpw_cfg_ctx_t *c)
{
	return ++c->nerrors <= LPW_CONFIG_MAX_ERRORS && c->errors;
}

void lpw_config_error_at(lpw_cfg_ctx_t *c, const char *file, unsigned line, const char *fmt, ...)
{
	if (!count_error(c))
		return;
	if (line)
		fprintf(c->errors, "%s:%u: ", file, line);
	else
		fprintf(c->errors, "%s: ", file);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(c->errors, fmt, ap);
	va_end(ap);
	fputc('\n', c->errors);
}

void lpw_config_error(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *child, const char *fmt, ...)
{
	if (!count_error(c))
		return;
	char path[512];
	unsigned line;
	setting_path(s, path, sizeof(path));
	const char *file = lpw_config_where(c, s, &line);
	if (line)
		fprintf(c->errors, "%s:%u: ", file, line);
	else
		fprintf(c->errors, "%s: ", file);
	if (child)
		fprintf(c->errors, "%s%s%s: ", path, path[0] ? "." : "", child);
	else
		fprintf(c->errors, "%s: ", path[0] ? path : "(top level)");
	va_list ap;
	va_start(ap, fmt);
	vfprintf(c->errors, fmt, ap);
	va_end(ap);
	fputc('\n', c->errors);
}

const char *lpw_config_show(lpw_cfg_ctx_t *c, const char *text)
{
	size_t n = 0, cap = sizeof(c->show);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (n + 8 >= cap) {
			memcpy(c->show + n, "...", 4);
			return c->show;
		}
		if (*p >= 0x20 && *p < 0x7f && *p != '\\')
			c->show[n++] = (char)*p;
		else
			n += (size_t)snprintf(c->show + n, cap - n, "\\x%02x", *p);
	}
	c->show[n] = '\0';
	return c->show;
}

const char *lpw_config_type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a floating-point number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_ARRAY: return "an array";
	case CONFIG_TYPE_LIST: return "a list";
	default: return "of unknown type";
	}
}

/* What a valid value looks like, for the "; expected ..." part of a message. */
static const char *expectation(const lpw_cfg_key_t *k, char *buf, size_t cap)
{
	if (k->expect)
		return k->expect;
	switch (k->type) {
	case T_BOOL: return "true or false";
	case T_INT: snprintf(buf, cap, "an integer %lld..%lld", k->min, k->max); return buf;
	case T_CHOICE: {
		size_t len = (size_t)snprintf(buf, cap, "one of");
		for (size_t i = 0; k->choices[i] && len < cap; i++)
			len += (size_t)snprintf(buf + len, cap - len, "%s %s", i ? "," : "", k->choices[i]);
		return buf;
	}
	case T_GROUP:
	case T_OPAQUE_GROUP: return "a group { ... }";
	case T_LIST: return "a list of groups ( { ... }, ... )";
	case T_STR_ARRAY: return "an array of strings [ \"...\" ]";
	default: return "a string";
	}
}

static int expected_type(lpw_cfg_type_t t)
{
	switch (t) {
	case T_BOOL: return CONFIG_TYPE_BOOL;
	case T_INT: return CONFIG_TYPE_INT;
	case T_GROUP:
	case T_OPAQUE_GROUP: return CONFIG_TYPE_GROUP;
	case T_LIST: return CONFIG_TYPE_LIST;
	case T_STR_ARRAY: return CONFIG_TYPE_ARRAY;
	default: return CONFIG_TYPE_STRING;
	}
}

static void store_number(const lpw_cfg_key_t *k, void *dst, long long v)
{
	switch (k->store) {
	case S_BOOL: *(bool *)dst = v != 0; break;
	case S_U16: *(uint16_t *)dst = (uint16_t)v; break;
	case S_U32: *(uint32_t *)dst = (uint32_t)v; break;
	case S_INT: *(int *)dst = (int)v; break;
	default: break;
	}
}

/* Resolves a relative path against the config file's directory. Returns an allocated string. */
static char *resolve(lpw_cfg_ctx_t *c, const char *text)
{
	if (text[0] == '/')
		return lpw_config_strdup(c, text);
	char *out = NULL;
	if (asprintf(&out, "%s/%s", c->dir, text) < 0) {
		c->nomem = true;
		return NULL;
	}
	return out;
}

static int check_path(lpw_cfg_ctx_t *c, const config_setting_t *s, const lpw_cfg_key_t *k, const char *path)
{
	mode_t mode = 0;
	int rc = lpw_config_check_file(path, k->flags & F_SECRET, &mode);
	if (rc == -EPERM)
		lpw_config_error(c, s, NULL, "%s is readable by group or others (mode %04o); chmod 600 it", path,
				 (unsigned)(mode & 07777));
	else if (rc == -EISDIR || rc == -ENODEV)
		lpw_config_error(c, s, NULL, "%s is %s, not a regular file; expected a readable file", path,
				 lpw_config_file_kind(mode));
	else if (rc)
		lpw_config_error(c, s, NULL, "%s cannot be opened (%s); expected a readable file", path, strerror(-rc));
	return rc;
}

static void parse_string(lpw_cfg_ctx_t *c, const config_setting_t *s, const lpw_cfg_key_t *k, void *dst)
{
	char buf[256];
	const char *text = config_setting_get_string(s);
	size_t len = strlen(text);
	if (k->max && ((long long)len < k->min || (long long)len > k->max)) {
		lpw_config_error(c, s, NULL, "is %zu bytes long; expected %s of %lld..%lld bytes", len,
				 expectation(k, buf, sizeof(buf)), k->min, k->max);
		return;
	}
	char *path = NULL;
	if (k->flags & (F_RELATIVE | F_FILE | F_SECRET)) {
		path = resolve(c, text);
		if (!path)
			return;
		if ((k->flags & (F_FILE | F_SECRET)) && check_path(c, s, k, path)) {
			free(path);
			return;
		}
		text = path;
	}
	if (k->check) {
		k->check(c, s, text, dst);
		free(path);
	} else if (k->store == S_STR) {
		free(*(char **)dst);
		*(char **)dst = path ? path : lpw_config_strdup(c, text);
	} else {
		free(path);
	}
}

static void parse_choice(lpw_cfg_ctx_t *c, const config_setting_t *s, const lpw_cfg_key_t *k, void *dst)
{
	char buf[256];
	const char *text = config_setting_get_string(s);
	for (size_t i = 0; k->choices[i]; i++) {
		if (strcmp(text, k->choices[i]) == 0) {
			store_number(k, dst, k->min + (long long)i);
			return;
		}
	}
	lpw_config_error(c, s, NULL, "\"%s\" is not valid; expected %s", lpw_config_show(c, text),
			 expectation(k, buf, sizeof(buf)));
}

static void parse_value(lpw_cfg_ctx_t *c, const config_setting_t *s, const lpw_cfg_key_t *k, void *base)
{
	char buf[256];
	void *dst = (char *)base + k->off;
	int type = config_setting_type(s);
	if (type == CONFIG_TYPE_INT64 && k->type == T_INT)
		type = CONFIG_TYPE_INT;
	if (type != expected_type(k->type)) {
		lpw_config_error(c, s, NULL, "is %s; expected %s", lpw_config_type_name(config_setting_type(s)),
				 expectation(k, buf, sizeof(buf)));
		return;
	}
	switch (k->type) {
	case T_BOOL: store_number(k, dst, config_setting_get_bool(s)); break;
	case T_INT: {
		long long v = config_setting_get_int64(s);
		if (v < k->min || v > k->max)
			lpw_config_error(c, s, NULL, "%lld is out of range; expected %s", v, expectation(k, buf, sizeof(buf)));
		else
			store_number(k, dst, v);
		break;
	}
	case T_STR: parse_string(c, s, k, dst); break;
	case T_CHOICE: parse_choice(c, s, k, dst); break;
	case T_GROUP:
		lpw_config_parse_group(c, s, k->sub, base);
		if (k->check)
			k->check(c, s, NULL, base);
		break;
	case T_OPAQUE_GROUP: break; /* accepted; its keys come with the binding that uses them */
	case T_LIST:
	case T_STR_ARRAY: k->check(c, s, NULL, dst); break;
	}
}

static void report_unknown(lpw_cfg_ctx_t *c, const config_setting_t *s, const lpw_cfg_key_t *keys)
{
	char names[512];
	size_t len = 0;
	names[0] = '\0';
	for (const lpw_cfg_key_t *k = keys; k->name && len < sizeof(names); k++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", k == keys ? "" : ", ", k->name);
	lpw_config_error(c, s, NULL, "unknown setting; expected one of %s", names);
}

void lpw_config_parse_group(lpw_cfg_ctx_t *c, const config_setting_t *group, const lpw_cfg_key_t *keys, void *base)
{
	char buf[256];
	int n = config_setting_length(group);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const lpw_cfg_key_t *k = keys;
		while (k->name && strcmp(k->name, config_setting_name(s)) != 0)
			k++;
		if (!k->name)
			report_unknown(c, s, keys);
	}
	for (const lpw_cfg_key_t *k = keys; k->name; k++) {
		const config_setting_t *s = config_setting_get_member(group, k->name);
		if (s)
			parse_value(c, s, k, base);
		else if (k->flags & F_REQUIRED)
			lpw_config_error(c, group, k->name, "is missing; expected %s", expectation(k, buf, sizeof(buf)));
	}
}

void lpw_config_apply_defaults(lpw_cfg_ctx_t *c, const lpw_cfg_key_t *keys, void *base)
{
	for (const lpw_cfg_key_t *k = keys; k->name; k++) {
		void *dst = (char *)base + k->off;
		if (k->type == T_GROUP) {
			lpw_config_apply_defaults(c, k->sub, base);
		} else if (k->def && k->store == S_STR) {
			*(char **)dst = k->flags & F_RELATIVE ? resolve(c, k->def) : lpw_config_strdup(c, k->def);
		} else if (k->def && k->type == T_CHOICE) {
			for (size_t i = 0; k->choices[i]; i++)
				if (strcmp(k->def, k->choices[i]) == 0)
					store_number(k, dst, k->min + (long long)i);
		} else if (k->def && k->type == T_BOOL) {
			store_number(k, dst, strcmp(k->def, "true") == 0);
		} else if (k->def && k->type == T_INT) {
			store_number(k, dst, strtoll(k->def, NULL, 10));
		}
	}
}

void lpw_config_free_keys(const lpw_cfg_key_t *keys, void *base)
{
	for (const lpw_cfg_key_t *k = keys; k->name; k++) {
		char **p = (char **)((char *)base + k->off);
		if (k->type == T_GROUP) {
			lpw_config_free_keys(k->sub, base);
		} else if (k->store == S_STR && *p) {
			explicit_bzero(*p, strlen(*p)); /* passwords live here too */
			free(*p);
			*p = NULL;
		}
	}
}

/* The directory of path, absolute, so that relative names keep working after a chdir. */
static char *config_dir(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return NULL;
	char *dir = realpath(dirname(copy), NULL);
	if (!dir)
		dir = strdup(dirname(copy)); /* reported below when the file cannot be read */
	free(copy);
	return dir;
}

/* Our reader joins the file and its includes (source.c); libconfig parses the result from memory. */
static int read_file(lpw_cfg_ctx_t *c, config_t *lc)
{
	int rc = lpw_config_source_read(c);
	if (rc)
		return rc;
	/* Nothing is left for libconfig to include; should it still try, "/dev/null/NAME" cannot be opened. */
	config_set_include_dir(lc, "/dev/null");
	if (config_read_string(lc, c->src.text) == CONFIG_TRUE)
		return 0;
	unsigned line;
	const char *file = lpw_config_source_where(&c->src, (unsigned)config_error_line(lc), &line);
	lpw_config_error_at(c, file, line, "syntax error: %s", config_error_text(lc));
	return -EINVAL;
}

int lpw_config_load(const char *path, lpw_config_t **out_config, FILE *errors)
{
	lpw_cfg_ctx_t c = { .path = path, .errors = errors };
	config_t lc;
	int rc = -ENOMEM;
	*out_config = NULL;
	config_init(&lc);
	c.cfg = calloc(1, sizeof(*c.cfg));
	c.dir = config_dir(path);
	if (!c.cfg || !c.dir)
		goto out;
	c.cfg->path = lpw_config_strdup(&c, path);
	rc = read_file(&c, &lc);
	if (rc)
		goto out;
	lpw_config_apply_defaults(&c, lpw_config_top_keys, c.cfg);
	lpw_config_parse_group(&c, config_root_setting(&lc), lpw_config_top_keys, c.cfg);
	rc = c.nomem ? -ENOMEM : c.nerrors ? -EINVAL : 0;
out:
	config_destroy(&lc);
	lpw_config_source_free(&c.src);
	free(c.dir);
	if (c.nerrors > LPW_CONFIG_MAX_ERRORS && errors)
		fprintf(errors, "%s: %u more problems not shown\n", path, c.nerrors - LPW_CONFIG_MAX_ERRORS);
	if (rc) {
		if (rc == -ENOMEM && errors)
			fprintf(errors, "%s: out of memory\n", path);
		lpw_config_free(c.cfg);
		return rc;
	}
	*out_config = c.cfg;
	return 0;
}

void lpw_config_free(lpw_config_t *config)
{
	if (!config)
		return;
	if (config->index) {
		free(config->index->servers);
		free(config->index->devices);
		free(config->index);
	}
	lpw_config_free_lists(config);
	lpw_config_free_keys(lpw_config_top_keys, config);
	free(config->path);
	free(config);
}

static int by_name(const void *a, const void *b)
{
	const lpw_config_server_t *x = *(const lpw_config_server_t *const *)a, *y = *(const lpw_config_server_t *const *)b;
	int d = strcmp(x->name, y->name);
	return d ? d : (x > y) - (x < y);
}

static int by_id(const void *a, const void *b)
{
	const lpw_config_device_t *x = *(const lpw_config_device_t *const *)a, *y = *(const lpw_config_device_t *const *)b;
	int d = strcmp(x->id, y->id);
	return d ? d : (x > y) - (x < y);
}

static struct lpw_config_index *index_of(lpw_cfg_ctx_t *c)
{
	if (!c->cfg->index && !(c->cfg->index = calloc(1, sizeof(*c->cfg->index))))
		c->nomem = true;
	return c->cfg->index;
}

void lpw_config_index_servers(lpw_cfg_ctx_t *c)
{
	struct lpw_config_index *ix = index_of(c);
	if (!ix || !(ix->servers = calloc(c->cfg->nservers + 1, sizeof(*ix->servers)))) {
		c->nomem = true;
		return;
	}
	for (size_t i = 0; i < c->cfg->nservers; i++)
		if (c->cfg->servers[i].name)
			ix->servers[ix->nservers++] = &c->cfg->servers[i];
	qsort(ix->servers, ix->nservers, sizeof(*ix->servers), by_name);
}

void lpw_config_index_devices(lpw_cfg_ctx_t *c)
{
	struct lpw_config_index *ix = index_of(c);
	if (!ix || !(ix->devices = calloc(c->cfg->ndevices + 1, sizeof(*ix->devices)))) {
		c->nomem = true;
		return;
	}
	for (size_t i = 0; i < c->cfg->ndevices; i++)
		if (c->cfg->devices[i].id)
			ix->devices[ix->ndevices++] = &c->cfg->devices[i];
	qsort(ix->devices, ix->ndevices, sizeof(*ix->devices), by_id);
}

/* The first of the n sorted entries whose key (at key_off inside each entry, a char *) equals key; NULL if none. */
static const void *lower_bound(const void *const *v, size_t n, size_t key_off, const char *key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(*(char *const *)((const char *)v[mid] + key_off), key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(*(char *const *)((const char *)v[lo] + key_off), key) == 0 ? v[lo] : NULL;
}

const lpw_config_server_t *lpw_config_find_server(const lpw_config_t *config, const char *name)
{
	if (config && name && config->index && config->index->servers)
		return lower_bound((const void *const *)config->index->servers, config->index->nservers,
				   offsetof(lpw_config_server_t, name), name);
	for (size_t i = 0; config && name && i < config->nservers; i++)
		if (config->servers[i].name && strcmp(config->servers[i].name, name) == 0)
			return &config->servers[i];
	return NULL;
}

const lpw_config_device_t *lpw_config_find_device(const lpw_config_t *config, const char *id)
{
	if (config && id && config->index && config->index->devices)
		return lower_bound((const void *const *)config->index->devices, config->index->ndevices,
				   offsetof(lpw_config_device_t, id), id);
	for (size_t i = 0; config && id && i < config->ndevices; i++)
		if (config->devices[i].id && strcmp(config->devices[i].id, id) == 0)
			return &config->devices[i];
	return NULL;
}

const char *lpw_config_binding_name(lpw_binding_kind_t kind)
{
	return (unsigned)kind < LPW_BINDING_COUNT ? lpw_config_binding_names[kind] : "?";
}
