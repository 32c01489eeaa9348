/* device-sim object model: a small fixed table of instances and resources, serialised with jansson for SenML. */
#include "tools/device-sim/objects.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <mbedtls/sha256.h>

#include "core/clock.h"

#define MAX_INST 16
#define OPAQUE_SHOWN 16 /* bytes of an opaque body shown in the write event */
#define MAX_RES 12
#define STR_MAX 128

/* K_OPAQUE keeps only what a test checks of a written body (its size and SHA-256), not the body: a firmware
 * package may be far larger than anything else here, and nothing reads it back (LwM2M object 5: write-only). */
enum kind { K_INT, K_FLOAT, K_STR, K_BOOL, K_EXEC, K_OPAQUE };

struct res {
	uint16_t id;
	enum kind kind;
	bool writable;
	int64_t i;
	double f;
	char s[STR_MAX];
	size_t size;        /* K_OPAQUE: length of the last body written */
	uint8_t sha256[32]; /* K_OPAQUE: its SHA-256 */
};

struct inst {
	bool used;
	uint16_t oid, iid;
	size_t nres;
	struct res res[MAX_RES];
};

struct lpw_devsim_objects {
	struct inst inst[MAX_INST]; /* kept sorted by (oid, iid) */
	unsigned int temp_reads;
	bool time_written;
};

int lpw_devsim_path_parse(const char *s, lpw_devsim_path_t *out)
{
	memset(out, 0, sizeof(*out));
	if (!s || *s != '/')
		return -EINVAL;
	s++;
	while (*s) {
		char *end;
		if (out->depth == 4 || *s < '0' || *s > '9')
			return -EINVAL;
		unsigned long v = strtoul(s, &end, 10);
		if (v > 65535 || (*end && *end != '/'))
			return -EINVAL;
		out->id[out->depth++] = (uint16_t)v;
		s = *end ? end + 1 : end;
	}
	return 0;
}

const char *lpw_devsim_path_format(const lpw_devsim_path_t *p, char *buf, size_t cap)
{
	size_t pos = 0;
	if (cap == 0)
		return buf;
	buf[0] = '\0';
	if (p->depth == 0)
		snprintf(buf, cap, "/");
	for (int i = 0; i < p->depth && pos < cap; i++) {
		int n = snprintf(buf + pos, cap - pos, "/%u", p->id[i]);
		pos += n > 0 ? (size_t)n : 0;
	}
	return buf;
}

bool lpw_devsim_path_within(const lpw_devsim_path_t *p, const lpw_devsim_path_t *prefix)
{
	if (p->depth < prefix->depth)
		return false;
	for (int i = 0; i < prefix->depth; i++)
		if (p->id[i] != prefix->id[i])
			return false;
	return true;
}

static struct res *add_res(struct inst *in, uint16_t id, enum kind kind, bool writable)
{
	struct res *r = &in->res[in->nres++];
	*r = (struct res){.id = id, .kind = kind, .writable = writable};
	return r;
}

static void set_str(struct res *r, const char *s)
{
	snprintf(r->s, sizeof(r->s), "%s", s ? s : "");
}

static struct inst *new_inst(lpw_devsim_objects_t *o, uint16_t oid, uint16_t iid)
{
	size_t at = 0;
	while (at < MAX_INST && o->inst[at].used &&
	       (o->inst[at].oid < oid || (o->inst[at].oid == oid && o->inst[at].iid < iid)))
		at++;
	if (o->inst[MAX_INST - 1].used || at == MAX_INST)
		return NULL;
	memmove(&o->inst[at + 1], &o->inst[at], (MAX_INST - 1 - at) * sizeof(o->inst[0]));
	o->inst[at] = (struct inst){.used = true, .oid = oid, .iid = iid};
	return &o->inst[at];
}

static void init_temperature(struct inst *in)
{
	add_res(in, 5601, K_FLOAT, false)->f = 20.0; /* Min Measured Value */
	add_res(in, 5602, K_FLOAT, false)->f = 20.0; /* Max Measured Value */
	add_res(in, 5700, K_FLOAT, false)->f = 20.0; /* Sensor Value */
	set_str(add_res(in, 5701, K_STR, false), "Cel");
}

static void init_firmware(struct inst *in);

static void init_objects(lpw_devsim_objects_t *o, const lpw_devsim_objects_config_t *cfg)
{
	struct inst *in = new_inst(o, 0, 0);
	set_str(add_res(in, 0, K_STR, false), cfg->server_uri); /* LwM2M Server URI */
	add_res(in, 1, K_BOOL, false);                         /* Bootstrap-Server: false */
	add_res(in, 2, K_INT, false)->i = 3;                   /* Security Mode: NoSec */
	add_res(in, 10, K_INT, false)->i = 1;                  /* Short Server ID */

	in = new_inst(o, 1, 0);
	add_res(in, 0, K_INT, false)->i = 1;
	add_res(in, 1, K_INT, true)->i = cfg->lifetime_s;
	set_str(add_res(in, 7, K_STR, false), cfg->binding);
	add_res(in, 8, K_EXEC, false); /* Registration Update Trigger */

	in = new_inst(o, 3, 0);
	set_str(add_res(in, 0, K_STR, false), "lpwagw");
	set_str(add_res(in, 1, K_STR, false), "device-sim");
	set_str(add_res(in, 2, K_STR, false), cfg->endpoint);
	set_str(add_res(in, 3, K_STR, false), "1.0");
	add_res(in, 4, K_EXEC, false);
	add_res(in, 9, K_INT, false)->i = 100;
	add_res(in, 11, K_INT, false)->i = 0;
	add_res(in, 13, K_INT, true);
	set_str(add_res(in, 14, K_STR, true), "+00:00");
	set_str(add_res(in, 16, K_STR, false), cfg->binding);

	if (cfg->firmware)
		init_firmware(new_inst(o, 5, 0));
	init_temperature(new_inst(o, 3303, 0));
}

/* Firmware Update (object 5): a writable opaque resource, for block-wise writes. */
static void init_firmware(struct inst *in)
{
	add_res(in, 0, K_OPAQUE, true);           /* Package */
	add_res(in, 1, K_STR, true);              /* Package URI */
	add_res(in, 2, K_EXEC, false);            /* Update */
	add_res(in, 3, K_INT, false);             /* State: idle */
	add_res(in, 5, K_INT, false);             /* Update Result: initial */
}

lpw_devsim_objects_t *lpw_devsim_objects_new(const lpw_devsim_objects_config_t *cfg)
{
	lpw_devsim_objects_t *o = calloc(1, sizeof(*o));
	if (o)
		init_objects(o, cfg);
	return o;
}

void lpw_devsim_objects_free(lpw_devsim_objects_t *o)
{
	free(o);
}

static struct inst *find_inst(lpw_devsim_objects_t *o, uint16_t oid, uint16_t iid)
{
	for (size_t i = 0; i < MAX_INST && o->inst[i].used; i++)
		if (o->inst[i].oid == oid && o->inst[i].iid == iid)
			return &o->inst[i];
	return NULL;
}

static bool object_exists(const lpw_devsim_objects_t *o, uint16_t oid)
{
	/* 3303 exists as an object even with every instance deleted, so Create still works */
	if (oid == 0 || oid == 1 || oid == 3 || oid == 3303)
		return true;
	for (size_t i = 0; i < MAX_INST && o->inst[i].used; i++)
		if (o->inst[i].oid == oid)
			return true;
	return false;
}

static struct res *find_res(struct inst *in, uint16_t rid)
{
	for (size_t i = 0; i < in->nres; i++)
		if (in->res[i].id == rid)
			return &in->res[i];
	return NULL;
}

/* Resolves an instance and (at depth >= 3) a resource; resource instances do not exist here. */
static int lookup(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, struct inst **out_in, struct res **out_r)
{
	*out_in = NULL;
	*out_r = NULL;
	if (p->depth >= 1 && !object_exists(o, p->id[0]))
		return -ENOENT;
	if (p->depth >= 2 && !(*out_in = find_inst(o, p->id[0], p->id[1])))
		return -ENOENT;
	if (p->depth >= 3 && !(*out_r = find_res(*out_in, p->id[2])))
		return -ENOENT;
	if (p->depth >= 4)
		return -ENOENT;
	return 0;
}

/* Side effects of reading: the sensor moves, Current Time follows the wall clock until written. */
static void touch(lpw_devsim_objects_t *o, struct inst *in, struct res *r)
{
	if (in->oid == 3303 && r->id == 5700) {
		o->temp_reads++;
		/* a bounded zig-zag: deterministic, and different on every read */
		r->f = 20.0 + 0.5 * (double)(o->temp_reads % 11) + (double)in->iid;
		struct res *min = find_res(in, 5601), *max = find_res(in, 5602);
		if (min && r->f < min->f)
			min->f = r->f;
		if (max && r->f > max->f)
			max->f = r->f;
	} else if (in->oid == 3 && r->id == 13 && !o->time_written) {
		r->i = lpw_clock_wall_s();
	}
}

static int format_text(const struct res *r, char *buf, size_t cap)
{
	int n;
	switch (r->kind) {
	case K_INT:
		n = snprintf(buf, cap, "%" PRId64, r->i);
		break;
	case K_FLOAT:
		n = snprintf(buf, cap, "%.6g", r->f);
		break;
	case K_BOOL:
		n = snprintf(buf, cap, "%d", r->i ? 1 : 0);
		break;
	case K_STR:
		n = snprintf(buf, cap, "%s", r->s);
		break;
	default:
		return -EPERM;
	}
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

static json_t *senml_record(const struct res *r, const char *name)
{
	switch (r->kind) {
	case K_INT:
		return json_pack("{s:s,s:I}", "n", name, "v", (json_int_t)r->i);
	case K_FLOAT:
		return json_pack("{s:s,s:f}", "n", name, "v", r->f);
	case K_BOOL:
		return json_pack("{s:s,s:b}", "n", name, "vb", r->i ? 1 : 0);
	case K_STR:
		return json_pack("{s:s,s:s}", "n", name, "vs", r->s);
	default:
		return NULL;
	}
}

/* Appends one record per readable resource at or below p; the first carries the base name. */
static int senml_collect(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, json_t *arr)
{
	char bn[32], name[32];
	size_t start = json_array_size(arr); /* Read-Composite appends several paths: each starts with its bn */
	lpw_devsim_path_format(p, bn, sizeof(bn));
	if (p->depth < 3)
		strcat(bn, "/");
	for (size_t i = 0; i < MAX_INST && o->inst[i].used; i++) {
		struct inst *in = &o->inst[i];
		if (in->oid != p->id[0] || (p->depth >= 2 && in->iid != p->id[1]))
			continue;
		for (size_t k = 0; k < in->nres; k++) {
			struct res *r = &in->res[k];
			if (r->kind == K_EXEC || r->kind == K_OPAQUE || (p->depth == 3 && r->id != p->id[2]))
				continue;
			touch(o, in, r);
			if (p->depth == 3)
				name[0] = '\0';
			else if (p->depth == 2)
				snprintf(name, sizeof(name), "%u", r->id);
			else
				snprintf(name, sizeof(name), "%u/%u", in->iid, r->id);
			json_t *rec = senml_record(r, name);
			if (!rec)
				return -ENOMEM;
			if (json_array_size(arr) == start)
				json_object_set_new(rec, "bn", json_string(bn));
			if (!name[0])
				json_object_del(rec, "n");
			json_array_append_new(arr, rec);
		}
	}
	return 0;
}

static int read_senml(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, uint8_t *buf, size_t cap, size_t *out_len)
{
	json_t *arr = json_array();
	int rc = arr ? senml_collect(o, p, arr) : -ENOMEM;
	char *s = rc == 0 ? json_dumps(arr, JSON_COMPACT) : NULL;
	if (rc == 0 && !s)
		rc = -ENOMEM;
	if (s) {
		size_t n = strlen(s);
		if (n > cap) {
			rc = -ENOSPC;
		} else {
			memcpy(buf, s, n);
			*out_len = n;
		}
	}
	free(s);
	json_decref(arr);
	return rc;
}

int lpw_devsim_objects_read(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, int accept, uint8_t *buf, size_t cap,
                            size_t *out_len, uint16_t *out_cf)
{
	struct inst *in;
	struct res *r;
	int rc = lookup(o, p, &in, &r);
	if (rc < 0)
		return rc;
	if (p->depth == 0 || (r && (r->kind == K_EXEC || r->kind == K_OPAQUE)))
		return -EPERM;
	if (accept == -1)
		accept = p->depth == 3 ? LPW_CF_TEXT : LPW_CF_SENML_JSON;
	if (accept == LPW_CF_TEXT) {
		if (!r)
			return -ENOTSUP;
		touch(o, in, r);
		rc = format_text(r, (char *)buf, cap);
		if (rc < 0)
			return rc;
		*out_len = (size_t)rc;
		*out_cf = LPW_CF_TEXT;
		return 0;
	}
	if (accept != LPW_CF_SENML_JSON)
		return -ENOTSUP;
	*out_cf = LPW_CF_SENML_JSON;
	return read_senml(o, p, buf, cap, out_len);
}

int lpw_devsim_objects_execute(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p)
{
	struct inst *in;
	struct res *r;
	int rc = lookup(o, p, &in, &r);
	if (rc < 0)
		return rc;
	return r && r->kind == K_EXEC ? 0 : -EPERM;
}

int lpw_devsim_objects_create(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, uint16_t *out_iid)
{
	if (p->depth != 1)
		return -EPERM;
	if (!object_exists(o, p->id[0]))
		return -ENOENT;
	if (p->id[0] != 3303)
		return -EPERM;
	uint16_t iid = 0;
	while (find_inst(o, 3303, iid))
		iid++;
	struct inst *in = new_inst(o, 3303, iid);
	if (!in)
		return -ENOSPC;
	init_temperature(in);
	*out_iid = iid;
	return 0;
}

int lpw_devsim_objects_delete(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p)
{
	struct inst *in;
	struct res *r;
	if (p->depth != 2)
		return -EPERM;
	int rc = lookup(o, p, &in, &r);
	if (rc < 0)
		return rc;
	if (in->oid != 3303)
		return -EPERM;
	size_t at = (size_t)(in - o->inst);
	memmove(&o->inst[at], &o->inst[at + 1], (MAX_INST - 1 - at) * sizeof(o->inst[0]));
	memset(&o->inst[MAX_INST - 1], 0, sizeof(o->inst[0]));
	return 0;
}

/* snprintf into buf at *pos; -ENOSPC when it does not fit. */
static int put(char *buf, size_t cap, size_t *pos, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int put(char *buf, size_t cap, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = *pos < cap ? vsnprintf(buf + *pos, cap - *pos, fmt, ap) : -1;
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *pos)
		return -ENOSPC;
	*pos += (size_t)n;
	return 0;
}

int lpw_devsim_objects_discover(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, char *buf, size_t cap,
                                size_t *out_len)
{
	struct inst *in;
	struct res *r;
	size_t pos = 0;
	int rc = lookup(o, p, &in, &r);
	if (rc < 0)
		return rc;
	if (p->depth == 0)
		return -EPERM;
	if (p->depth == 1)
		rc = put(buf, cap, &pos, "</%u>", p->id[0]);
	for (size_t i = 0; rc == 0 && i < MAX_INST && o->inst[i].used; i++) {
		struct inst *x = &o->inst[i];
		if (x->oid != p->id[0] || (p->depth >= 2 && x->iid != p->id[1]))
			continue;
		if (p->depth <= 2)
			rc = put(buf, cap, &pos, "%s</%u/%u>", pos ? "," : "", x->oid, x->iid);
		for (size_t k = 0; rc == 0 && k < x->nres; k++) {
			if (p->depth == 3 && x->res[k].id != p->id[2])
				continue;
			rc = put(buf, cap, &pos, "%s</%u/%u/%u>", pos ? "," : "", x->oid, x->iid, x->res[k].id);
		}
	}
	*out_len = pos;
	return rc;
}

int lpw_devsim_objects_links(const lpw_devsim_objects_t *o, char *buf, size_t cap, size_t *out_len)
{
	size_t pos = 0;
	/* LwM2M 1.1.1 §6.2.1.1 (seed 003 example): the rt="oma.lwm2m" link, then the instances; the Security object
	 * is never announced. */
	int rc = put(buf, cap, &pos, "</>;rt=\"oma.lwm2m\";ct=%d", LPW_CF_SENML_JSON);
	for (size_t i = 0; rc == 0 && i < MAX_INST && o->inst[i].used; i++)
		if (o->inst[i].oid != 0)
			rc = put(buf, cap, &pos, ",</%u/%u>", o->inst[i].oid, o->inst[i].iid);
	*out_len = pos;
	return rc;
}

uint32_t lpw_devsim_objects_lifetime(const lpw_devsim_objects_t *o)
{
	const struct inst *in = find_inst((lpw_devsim_objects_t *)o, 1, 0);
	const struct res *r = in ? find_res((struct inst *)in, 1) : NULL;
	return r && r->i > 0 && r->i <= UINT32_MAX ? (uint32_t)r->i : 86400;
}

/* One validated change, applied only once the whole payload has been checked. */
struct change {
	struct res *r;
	struct res val;
	char path[32];
};

#define MAX_CHANGES 16

static int parse_text(const struct res *r, const char *s, size_t len, struct res *out)
{
	char tmp[STR_MAX], *end;
	if (len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*out = *r;
	errno = 0;
	switch (r->kind) {
	case K_INT:
		out->i = strtoll(tmp, &end, 10);
		return len && !*end && errno == 0 ? 0 : -EINVAL;
	case K_FLOAT:
		out->f = strtod(tmp, &end);
		return len && !*end && errno == 0 && isfinite(out->f) ? 0 : -EINVAL;
	case K_BOOL:
		if (len != 1 || (tmp[0] != '0' && tmp[0] != '1'))
			return -EINVAL;
		out->i = tmp[0] == '1';
		return 0;
	case K_STR:
		if (memchr(tmp, '\0', len))
			return -EINVAL;
		memcpy(out->s, tmp, len + 1);
		return 0;
	default:
		return -EPERM;
	}
}

static int parse_senml_value(const struct res *r, json_t *rec, struct res *out)
{
	json_t *v = json_object_get(rec, "v"), *vs = json_object_get(rec, "vs"), *vb = json_object_get(rec, "vb");
	*out = *r;
	switch (r->kind) {
	case K_INT:
		if (json_is_integer(v)) {
			out->i = json_integer_value(v);
			return 0;
		}
		if (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v) && fabs(json_real_value(v)) < 9e15) {
			out->i = (int64_t)json_real_value(v);
			return 0;
		}
		return -EINVAL;
	case K_FLOAT:
		if (!json_is_number(v))
			return -EINVAL;
		out->f = json_number_value(v);
		return 0;
	case K_BOOL:
		if (!json_is_boolean(vb))
			return -EINVAL;
		out->i = json_is_true(vb);
		return 0;
	case K_STR:
		if (!json_is_string(vs) || json_string_length(vs) >= STR_MAX)
			return -EINVAL;
		snprintf(out->s, sizeof(out->s), "%s", json_string_value(vs));
		return 0;
	default:
		return -EPERM;
	}
}

/* Resolves a writable resource at or below scope. */
static int target(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, const lpw_devsim_path_t *scope,
                  struct change *ch)
{
	struct inst *in;
	struct res *r;
	if (p->depth != 3 || !lpw_devsim_path_within(p, scope))
		return p->depth == 3 ? -EINVAL : -EPERM;
	int rc = lookup(o, p, &in, &r);
	if (rc < 0)
		return rc;
	if (!r->writable)
		return -EPERM;
	ch->r = r;
	lpw_devsim_path_format(p, ch->path, sizeof(ch->path));
	return 0;
}

static int collect_senml(lpw_devsim_objects_t *o, const lpw_devsim_path_t *scope, const uint8_t *data, size_t len,
                         struct change *ch, size_t *n)
{
	json_error_t err;
	json_t *arr = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &err);
	char bn[64] = "", name[128];
	int rc = json_is_array(arr) && json_array_size(arr) > 0 ? 0 : -EINVAL;
	size_t i;
	json_t *rec;

	json_array_foreach(arr, i, rec) {
		if (rc < 0)
			break;
		json_t *jbn = json_object_get(rec, "bn"), *jn = json_object_get(rec, "n");
		if (!json_is_object(rec) || (jbn && !json_is_string(jbn)) || (jn && !json_is_string(jn)) ||
		    *n == MAX_CHANGES) {
			rc = -EINVAL;
			break;
		}
		if (jbn)
			snprintf(bn, sizeof(bn), "%s", json_string_value(jbn));
		snprintf(name, sizeof(name), "%s%s", bn, jn ? json_string_value(jn) : "");
		lpw_devsim_path_t p;
		rc = lpw_devsim_path_parse(name, &p) < 0 ? -EINVAL : target(o, &p, scope, &ch[*n]);
		if (rc == 0)
			rc = parse_senml_value(ch[*n].r, rec, &ch[*n].val);
		if (rc == 0)
			(*n)++;
	}
	json_decref(arr);
	return rc;
}

/* application/octet-stream to an opaque resource: remembered as size and SHA-256; cb sees the first bytes in hex. */
static int write_opaque(struct res *r, const char *path, const uint8_t *data, size_t len, lpw_devsim_write_cb cb,
                        void *arg)
{
	char text[2 * OPAQUE_SHOWN + 4];
	size_t shown = len < OPAQUE_SHOWN ? len : OPAQUE_SHOWN;
	if (mbedtls_sha256_ret(data, len, r->sha256, 0) != 0)
		return -EINVAL;
	r->size = len;
	for (size_t i = 0; i < shown; i++)
		snprintf(text + 2 * i, 3, "%02x", data[i]);
	snprintf(text + 2 * shown, 4, "%s", len > shown ? "..." : "");
	if (cb)
		cb(arg, path, text);
	return 0;
}

int lpw_devsim_objects_opaque(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, size_t *out_size,
                              uint8_t out_sha256[32])
{
	struct inst *in;
	struct res *r;
	int rc = lookup(o, p, &in, &r);
	if (rc < 0)
		return rc;
	if (!r || r->kind != K_OPAQUE)
		return -EINVAL;
	*out_size = r->size;
	memcpy(out_sha256, r->sha256, sizeof(r->sha256));
	return 0;
}

static void apply_changes(lpw_devsim_objects_t *o, struct change *ch, size_t n, lpw_devsim_write_cb cb, void *arg)
{
	for (size_t i = 0; i < n; i++) {
		char text[STR_MAX + 8];
		*ch[i].r = ch[i].val;
		if (ch[i].r == find_res(find_inst(o, 3, 0), 13))
			o->time_written = true;
		if (cb && format_text(ch[i].r, text, sizeof(text)) >= 0)
			cb(arg, ch[i].path, text);
	}
}

int lpw_devsim_objects_write(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, int cf, const uint8_t *data,
                             size_t len, lpw_devsim_write_cb cb, void *arg)
{
	struct change ch[MAX_CHANGES];
	size_t n = 0;
	struct inst *in;
	struct res *r;
	int rc = lookup(o, p, &in, &r);

	if (rc < 0)
		return rc;
	if (p->depth < 2)
		return -EPERM;
	if (cf == LPW_CF_OPAQUE) {
		rc = p->depth == 3 ? target(o, p, p, &ch[0]) : -EINVAL;
		if (rc == 0 && ch[0].r->kind != K_OPAQUE)
			rc = -EINVAL;
		return rc < 0 ? rc : write_opaque(ch[0].r, ch[0].path, data, len, cb, arg);
	}
	if (cf == LPW_CF_TEXT) {
		rc = p->depth == 3 ? target(o, p, p, &ch[0]) : -EINVAL;
		if (rc == 0)
			rc = parse_text(ch[0].r, (const char *)data, len, &ch[0].val);
		n = rc == 0 ? 1 : 0;
	} else if (cf == LPW_CF_SENML_JSON) {
		rc = collect_senml(o, p, data, len, ch, &n);
	} else {
		return -ENOTSUP;
	}
	if (rc < 0)
		return rc;
	apply_changes(o, ch, n, cb, arg);
	return 0;
}

int lpw_devsim_objects_write_composite(lpw_devsim_objects_t *o, int cf, const uint8_t *data, size_t len,
                                       lpw_devsim_write_cb cb, void *arg)
{
	struct change ch[MAX_CHANGES];
	lpw_devsim_path_t root = {.depth = 0};
	size_t n = 0;
	if (cf != LPW_CF_SENML_JSON)
		return -ENOTSUP;
	int rc = collect_senml(o, &root, data, len, ch, &n);
	if (rc < 0)
		return rc;
	apply_changes(o, ch, n, cb, arg);
	return 0;
}

/* One path of a Read-Composite request: {"n":"/3/0/0"}, the name joined to the latest "bn" (RFC 8428 §4.5.1). */
static int composite_path(json_t *rec, char *bn, size_t bn_cap, lpw_devsim_path_t *out)
{
	char name[128];
	json_t *jbn = json_object_get(rec, "bn"), *jn = json_object_get(rec, "n");
	if (!json_is_object(rec) || (jbn && !json_is_string(jbn)) || (jn && !json_is_string(jn)) || (!jbn && !jn))
		return -EINVAL;
	if (jbn)
		snprintf(bn, bn_cap, "%s", json_string_value(jbn));
	snprintf(name, sizeof(name), "%s%s", bn, jn ? json_string_value(jn) : "");
	return lpw_devsim_path_parse(name, out) < 0 || out->depth == 0 ? -EINVAL : 0;
}

int lpw_devsim_objects_read_composite(lpw_devsim_objects_t *o, int cf, const uint8_t *req, size_t req_len,
                                      uint8_t *buf, size_t cap, size_t *out_len)
{
	json_error_t err;
	char bn[64] = "";
	size_t i;
	json_t *rec;
	if (cf != LPW_CF_SENML_JSON)
		return -ENOTSUP;
	json_t *paths = json_loadb((const char *)req, req_len, 0, &err);
	json_t *arr = json_array();
	int rc = !arr ? -ENOMEM : json_is_array(paths) && json_array_size(paths) > 0 ? 0 : -EINVAL;
	json_array_foreach(paths, i, rec) {
		lpw_devsim_path_t p;
		struct inst *in;
		struct res *r;
		if (rc == 0)
			rc = composite_path(rec, bn, sizeof(bn), &p);
		if (rc == 0)
			rc = lookup(o, &p, &in, &r);
		if (rc == 0 && r && (r->kind == K_EXEC || r->kind == K_OPAQUE))
			rc = -EPERM;
		if (rc == 0)
			rc = senml_collect(o, &p, arr);
	}
	char *s = rc == 0 ? json_dumps(arr, JSON_COMPACT) : NULL;
	if (rc == 0 && !s)
		rc = -ENOMEM;
	if (s && strlen(s) > cap)
		rc = -ENOSPC;
	else if (s)
		memcpy(buf, s, *out_len = strlen(s));
	free(s);
	json_decref(arr);
	json_decref(paths);
	return rc;
}
