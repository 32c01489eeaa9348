/* device-sim client engine: the server's operations on the device (LwM2M 1.1.1 §6.4) and Observe (RFC 7641). */
#include "tools/device-sim/client_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proxy/coap_codec.h"

/* What one request is answered with. */
struct reply {
	coap_pdu_code_t code;
	int cf; /* -1: no Content-Format */
	uint8_t payload[MAX_PAYLOAD];
	size_t len;
	int64_t observe; /* -1: no Observe option */
	char location[2][8];
	int nlocation;
	bool update_after; /* exec of /1/0/8: Registration Update Trigger */
	int start_obs;     /* observation to start once the reply is out */
	int64_t block1;    /* -1: no Block1 option; else its value (NUM, M, SZX) to echo (RFC 7959 §2.3) */
	int64_t size1;     /* -1: no Size1 option; else the largest body we take (with 4.13, RFC 7959 §4) */
};

static coap_pdu_code_t code_for(int err)
{
	switch (err) {
	case -ENOENT:
		return COAP_RESPONSE_CODE_NOT_FOUND;
	case -EPERM:
		return COAP_RESPONSE_CODE_NOT_ALLOWED;
	case -EINVAL:
		return COAP_RESPONSE_CODE_BAD_REQUEST;
	case -ENOTSUP:
		return COAP_RESPONSE_CODE_NOT_ACCEPTABLE;
	default:
		return COAP_RESPONSE_CODE_INTERNAL_ERROR;
	}
}

static void block1_drop(struct block1 *b)
{
	if (!b)
		return;
	free(b->body);
	memset(b, 0, sizeof(*b));
}

static int opt_uint(const coap_pdu_t *pdu, coap_option_num_t num, int64_t dflt)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt = coap_check_option(pdu, num, &it);
	return opt ? (int)coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt)) : (int)dflt;
}

/* Uri-Path to an object path; -ENOENT for any segment that is not a decimal id (e.g. "bs"). */
static int request_path(const coap_pdu_t *req, lpw_devsim_path_t *out)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	char s[64] = "";
	size_t pos = 0;

	coap_option_iterator_init(req, &it, COAP_OPT_ALL);
	while ((opt = coap_option_next(&it))) {
		if (it.number != COAP_OPTION_URI_PATH)
			continue;
		int n = snprintf(s + pos, sizeof(s) - pos, "/%.*s", (int)coap_opt_length(opt),
		                 (const char *)coap_opt_value(opt));
		if (n < 0 || (size_t)n >= sizeof(s) - pos)
			return -ENOENT;
		pos += (size_t)n;
	}
	return lpw_devsim_path_parse(pos ? s : "/", out) < 0 ? -ENOENT : 0;
}

static int obs_find(lpw_devsim_client_t *c, coap_bin_const_t tok)
{
	for (int i = 0; i < MAX_OBS; i++)
		if (c->obs[i].used && c->obs[i].tkl == tok.length && !memcmp(c->obs[i].tok, tok.s, tok.length))
			return i;
	return -1;
}

/* Notification period: pmax of the closest attribute set, else the configured interval; never below pmin. */
static int64_t obs_period_ms(lpw_devsim_client_t *c, const struct obs *o)
{
	int64_t pmin = -1, pmax = -1;
	int best_min = -1, best_max = -1;
	for (int i = 0; i < MAX_ATTR; i++) {
		const struct attr *a = &c->attrs[i];
		if (!a->used || !lpw_devsim_path_within(&o->path, &a->path))
			continue;
		if (a->pmin >= 0 && a->path.depth > best_min) {
			pmin = a->pmin;
			best_min = a->path.depth;
		}
		if (a->pmax > 0 && a->path.depth > best_max) {
			pmax = a->pmax;
			best_max = a->path.depth;
		}
	}
	int64_t s = pmax > 0 ? pmax : (int64_t)c->cfg.notify_interval_s;
	if (pmin > s)
		s = pmin;
	return (s > 0 ? s : 1) * 1000;
}

static void obs_arm(lpw_devsim_client_t *c, struct obs *o)
{
	if (lpw_loop_timer_in(c->loop, &o->timer, obs_period_ms(c, o)) < 0)
		LPW_ERR("devsim", "%s: cannot arm notification timer", c->endpoint);
}

static int obs_send(lpw_devsim_client_t *c, int idx)
{
	struct obs *o = &c->obs[idx];
	uint8_t payload[MAX_PAYLOAD], ob[4];
	size_t len;
	uint16_t cf;
	int rc = lpw_devsim_objects_read(c->objs, &o->path, o->accept, payload, sizeof(payload), &len, &cf);
	if (rc < 0)
		return rc;
	bool con;
	if (c->cfg.notify_pattern_len)
		con = c->cfg.notify_pattern[o->sent % c->cfg.notify_pattern_len];
	else
		con = c->cfg.notify_type == LPW_DEVSIM_NOTIFY_CON ||
		      (c->cfg.notify_type == LPW_DEVSIM_NOTIFY_MIXED && o->sent % 2 == 1);
	o->seq = (o->seq + 1) & 0xffffff; /* RFC 7641 §3.4: 24-bit sequence */
	coap_pdu_t *pdu = coap_pdu_init(con ? COAP_MESSAGE_CON : COAP_MESSAGE_NON, COAP_RESPONSE_CODE_CONTENT,
	                                lpw_devsim_new_mid(c), PDU_MAX);
	/* OSCORE: every notification has its own Partial IV, bound to the registration (RFC 8613 §4.1.3.5.2) */
	c->osc_answer = o->osc;
	c->osc_notify = true;
	uint8_t cfb[2];
	if (!pdu || !coap_add_token(pdu, o->tkl, o->tok) ||
	    !coap_add_option(pdu, COAP_OPTION_OBSERVE, coap_encode_var_safe(ob, sizeof(ob), o->seq), ob) ||
	    !coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(cfb, sizeof(cfb), cf), cfb) ||
	    !coap_add_data(pdu, len, payload)) {
		coap_delete_pdu(pdu);
		return -ENOMEM;
	}
	if (con) {
		/* one CON notification in flight per observation (RFC 7641 §4.5.1): the newer replaces it */
		for (int i = 0; i < MAX_XFER; i++)
			if (c->xfer[i].kind == X_NOTIFY && c->xfer[i].obs == idx)
				lpw_devsim_xfer_finish(c, &c->xfer[i]);
		rc = lpw_devsim_xfer_start(c, X_NOTIFY, pdu, idx);
	} else {
		rc = lpw_devsim_send_pdu(c, pdu, NULL, NULL);
		c->non_sent[c->non_next] = (struct non_sent){true, (uint16_t)coap_pdu_get_mid(pdu), idx};
		c->non_next = (c->non_next + 1) % MAX_NON_SENT;
	}
	coap_delete_pdu(pdu);
	if (rc < 0)
		return rc;
	o->sent++;
	char path[32];
	json_t *ev = lpw_devsim_event_new(c, "notify");
	json_object_set_new(ev, "path", json_string(lpw_devsim_path_format(&o->path, path, sizeof(path))));
	json_object_set_new(ev, "observe", json_integer(o->seq));
	json_object_set_new(ev, "type", json_string(con ? "CON" : "NON"));
	lpw_devsim_emit(c, ev);
	return 0;
}

static void obs_due(lpw_timer_t *t, int64_t now_ms)
{
	struct obs *o = lpw_container_of(t, struct obs, timer);
	lpw_devsim_client_t *c = o->c;
	int idx = (int)(o - c->obs);

	/* asleep: the radio is off, the next notification goes out after waking */
	if (!c->asleep) {
		int rc = obs_send(c, idx);
		if (rc == -ENOENT) {
			lpw_devsim_obs_cancel(c, idx, "gone");
			return;
		}
		if (rc < 0)
			LPW_WARN("devsim", "%s: notification not sent: %s", c->endpoint, strerror(-rc));
	}
	obs_arm(c, o);
}

void lpw_devsim_obs_cancel(lpw_devsim_client_t *c, int idx, const char *how)
{
	if (idx < 0 || idx >= MAX_OBS || !c->obs[idx].used)
		return;
	struct obs *o = &c->obs[idx];
	char path[32];
	lpw_loop_timer_clear(c->loop, &o->timer);
	for (int i = 0; i < MAX_XFER; i++)
		if (c->xfer[i].kind == X_NOTIFY && c->xfer[i].obs == idx)
			lpw_devsim_xfer_finish(c, &c->xfer[i]);
	for (int i = 0; i < MAX_NON_SENT; i++)
		if (c->non_sent[i].obs == idx)
			c->non_sent[i].used = false;
	json_t *ev = lpw_devsim_event_new(c, "observe-cancelled");
	json_object_set_new(ev, "path", json_string(lpw_devsim_path_format(&o->path, path, sizeof(path))));
	json_object_set_new(ev, "how", json_string(how));
	memset(o, 0, sizeof(*o));
	lpw_devsim_emit(c, ev);
}

void lpw_devsim_obs_stop_all(lpw_devsim_client_t *c)
{
	for (int i = 0; i < MAX_OBS; i++)
		if (c->obs[i].used)
			lpw_loop_timer_clear(c->loop, &c->obs[i].timer);
}

/* GET with Observe 0 registers (or re-registers the same token), 1 cancels (RFC 7641 §3.1, §3.6). */
static void observe(lpw_devsim_client_t *c, const coap_pdu_t *req, const lpw_devsim_path_t *p, int accept,
                    struct reply *r)
{
	int obs = opt_uint(req, COAP_OPTION_OBSERVE, -1);
	coap_bin_const_t tok = coap_pdu_get_token(req);
	int idx = obs_find(c, tok);

	if (obs == 1) {
		lpw_devsim_obs_cancel(c, idx, "get");
		return;
	}
	if (obs != 0)
		return;
	for (int i = 0; idx < 0 && i < MAX_OBS; i++)
		if (!c->obs[i].used)
			idx = i;
	if (idx < 0)
		return; /* full: answered as a plain read, which tells the server it is not observing */
	struct obs *o = &c->obs[idx];
	lpw_loop_timer_clear(c->loop, &o->timer);
	*o = (struct obs){.used = true, .c = c, .tkl = tok.length, .path = *p, .accept = accept, .seq = 0,
	                  .osc = c->osc_answer};
	memcpy(o->tok, tok.s, tok.length);
	lpw_timer_init(&o->timer, obs_due);
	r->observe = o->seq;
	r->start_obs = idx;
}

static void do_get(lpw_devsim_client_t *c, const coap_pdu_t *req, const lpw_devsim_path_t *p, struct reply *r)
{
	int accept = opt_uint(req, COAP_OPTION_ACCEPT, -1);
	uint16_t cf;
	int rc;

	if (accept == LPW_CF_LINK) {
		rc = lpw_devsim_objects_discover(c->objs, p, (char *)r->payload, sizeof(r->payload), &r->len);
		cf = LPW_CF_LINK;
	} else {
		rc = lpw_devsim_objects_read(c->objs, p, accept, r->payload, sizeof(r->payload), &r->len, &cf);
	}
	if (rc < 0) {
		r->code = code_for(rc);
		return;
	}
	r->code = COAP_RESPONSE_CODE_CONTENT;
	r->cf = cf;
	if (accept != LPW_CF_LINK)
		observe(c, req, p, accept, r);
}

static int parse_attr(const char *q, size_t n, struct attr *a)
{
	char k[8], v[24];
	const char *eq = memchr(q, '=', n);
	size_t kl = eq ? (size_t)(eq - q) : n, vl = eq ? n - kl - 1 : 0;
	if (kl >= sizeof(k) || vl >= sizeof(v))
		return -EINVAL;
	memcpy(k, q, kl);
	k[kl] = '\0';
	memcpy(v, eq ? eq + 1 : "", vl);
	v[vl] = '\0';
	char *end;
	double d = vl ? strtod(v, &end) : 0;
	if (vl && *end)
		return -EINVAL;
	if (!strcmp(k, "pmin"))
		a->pmin = vl ? (int64_t)d : -1;
	else if (!strcmp(k, "pmax"))
		a->pmax = vl ? (int64_t)d : -1;
	else if (strcmp(k, "gt") && strcmp(k, "lt") && strcmp(k, "st") && strcmp(k, "epmin") && strcmp(k, "epmax"))
		return -EINVAL; /* gt/lt/st and epmin/epmax are accepted; only pmin/pmax shape this simulator's timing */
	return 0;
}

/* Write-Attributes (LwM2M 1.1.1 §6.4.3 mapping: PUT with Uri-Query and no payload). */
static int write_attributes(lpw_devsim_client_t *c, const coap_pdu_t *req, const lpw_devsim_path_t *p)
{
	struct attr a = {.used = true, .path = *p, .pmin = -1, .pmax = -1};
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	int slot = -1;

	for (int i = 0; i < MAX_ATTR; i++) {
		if (c->attrs[i].used && c->attrs[i].path.depth == p->depth && lpw_devsim_path_within(p, &c->attrs[i].path)) {
			a = c->attrs[i];
			slot = i;
		} else if (slot < 0 && !c->attrs[i].used) {
			slot = i;
		}
	}
	if (slot < 0)
		return -ENOSPC;
	coap_option_iterator_init(req, &it, COAP_OPT_ALL);
	while ((opt = coap_option_next(&it)))
		if (it.number == COAP_OPTION_URI_QUERY &&
		    parse_attr((const char *)coap_opt_value(opt), coap_opt_length(opt), &a) < 0)
			return -EINVAL;
	c->attrs[slot] = a;
	for (int i = 0; i < MAX_OBS; i++) /* new timing applies from now on */
		if (c->obs[i].used && lpw_devsim_path_within(&c->obs[i].path, p))
			obs_arm(c, &c->obs[i]);
	return 0;
}

static void on_write(void *arg, const char *path, const char *value)
{
	lpw_devsim_client_t *c = arg;
	lpw_devsim_path_t p;
	size_t size;
	uint8_t sha[32];
	json_t *ev = lpw_devsim_event_new(c, "write");
	json_object_set_new(ev, "path", json_string(path));
	/* an opaque body is reported by size and SHA-256, so a test can check a large block-wise write whole */
	if (lpw_devsim_path_parse(path, &p) == 0 && lpw_devsim_objects_opaque(c->objs, &p, &size, sha) == 0) {
		char hex[2 * sizeof(sha) + 1];
		for (size_t i = 0; i < sizeof(sha); i++)
			snprintf(hex + 2 * i, 3, "%02x", sha[i]);
		json_object_set_new(ev, "size", json_integer((json_int_t)size));
		json_object_set_new(ev, "sha256", json_string(hex));
	}
	json_object_set_new(ev, "value", json_string(value));
	lpw_devsim_emit(c, ev);
}

static void do_put(lpw_devsim_client_t *c, const coap_pdu_t *req, const lpw_devsim_path_t *p, const uint8_t *data,
                   size_t len, struct reply *r)
{
	coap_opt_iterator_t it;
	int rc;

	if (len == 0 && coap_check_option(req, COAP_OPTION_URI_QUERY, &it)) {
		rc = p->depth == 0 ? -EPERM : write_attributes(c, req, p);
	} else {
		int cf = opt_uint(req, COAP_OPTION_CONTENT_FORMAT, LPW_CF_TEXT);
		rc = lpw_devsim_objects_write(c->objs, p, cf, data, len, on_write, c);
		if (rc == -ENOTSUP)
			r->code = COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT;
	}
	if (!r->code)
		r->code = rc < 0 ? code_for(rc) : COAP_RESPONSE_CODE_CHANGED;
}

static void emit_exec(lpw_devsim_client_t *c, const lpw_devsim_path_t *p)
{
	char path[32];
	json_t *ev = lpw_devsim_event_new(c, "exec");
	json_object_set_new(ev, "path", json_string(lpw_devsim_path_format(p, path, sizeof(path))));
	lpw_devsim_emit(c, ev);
}

/* POST: Execute on a resource, partial Write on an instance, Create on an object. */
static void do_post(lpw_devsim_client_t *c, const coap_pdu_t *req, const lpw_devsim_path_t *p, const uint8_t *data,
                    size_t len, struct reply *r)
{
	int rc;

	if (p->depth == 3) {
		rc = lpw_devsim_objects_execute(c->objs, p);
		if (rc == 0) {
			emit_exec(c, p);
			r->update_after = p->id[0] == 1 && p->id[2] == 8;
		}
		r->code = rc < 0 ? code_for(rc) : COAP_RESPONSE_CODE_CHANGED;
	} else if (p->depth == 2) {
		int cf = opt_uint(req, COAP_OPTION_CONTENT_FORMAT, LPW_CF_SENML_JSON);
		rc = lpw_devsim_objects_write(c->objs, p, cf, data, len, on_write, c);
		r->code = rc < 0 ? code_for(rc) : COAP_RESPONSE_CODE_CHANGED;
	} else if (p->depth == 1) {
		uint16_t iid;
		rc = lpw_devsim_objects_create(c->objs, p, &iid);
		r->code = rc < 0 ? code_for(rc) : COAP_RESPONSE_CODE_CREATED;
		if (rc == 0) {
			snprintf(r->location[0], sizeof(r->location[0]), "%u", p->id[0]);
			snprintf(r->location[1], sizeof(r->location[1]), "%u", iid);
			r->nlocation = 2;
		}
	} else {
		r->code = COAP_RESPONSE_CODE_NOT_ALLOWED;
	}
}

static void do_delete(lpw_devsim_client_t *c, const lpw_devsim_path_t *p, struct reply *r)
{
	int rc = lpw_devsim_objects_delete(c->objs, p);
	if (rc == 0) {
		for (int i = 0; i < MAX_OBS; i++)
			if (c->obs[i].used && lpw_devsim_path_within(&c->obs[i].path, p))
				lpw_devsim_obs_cancel(c, i, "gone");
	}
	r->code = rc < 0 ? code_for(rc) : COAP_RESPONSE_CODE_DELETED;
}

/* The piggybacked (CON) or NON reply carrying r; NULL when out of memory. */
static coap_pdu_t *build_reply(lpw_devsim_client_t *c, const coap_pdu_t *req, const struct reply *r)
{
	bool con = coap_pdu_get_type(req) == COAP_MESSAGE_CON;
	coap_bin_const_t tok = coap_pdu_get_token(req);
	coap_pdu_t *pdu = coap_pdu_init(con ? COAP_MESSAGE_ACK : COAP_MESSAGE_NON, r->code,
	                                con ? coap_pdu_get_mid(req) : lpw_devsim_new_mid(c), PDU_MAX);
	uint8_t b[4];
	bool ok = pdu && coap_add_token(pdu, tok.length, tok.s);

	if (ok && r->observe >= 0)
		ok = coap_add_option(pdu, COAP_OPTION_OBSERVE, coap_encode_var_safe(b, sizeof(b), (uint32_t)r->observe), b);
	for (int i = 0; ok && i < r->nlocation; i++)
		ok = coap_add_option(pdu, COAP_OPTION_LOCATION_PATH, strlen(r->location[i]),
		                     (const uint8_t *)r->location[i]);
	if (ok && r->cf >= 0)
		ok = coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(b, sizeof(b), (uint32_t)r->cf), b);
	if (ok && r->block1 >= 0)
		ok = coap_add_option(pdu, COAP_OPTION_BLOCK1, coap_encode_var_safe(b, sizeof(b), (uint32_t)r->block1), b);
	if (ok && r->size1 >= 0)
		ok = coap_add_option(pdu, COAP_OPTION_SIZE1, coap_encode_var_safe(b, sizeof(b), (uint32_t)r->size1), b);
	if (ok && r->len)
		ok = coap_add_data(pdu, r->len, r->payload);
	if (!ok) {
		coap_delete_pdu(pdu);
		return NULL;
	}
	return pdu;
}

/* RFC 7959 §2.2 Block1 of pdu: 0 with its fields, -ENOENT when absent, -EINVAL when malformed or BERT (szx 7,
 * RFC 8323 only: never on a datagram link). */
static int get_block1(const coap_pdu_t *pdu, uint32_t *num, bool *more, unsigned int *szx)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt = coap_check_option(pdu, COAP_OPTION_BLOCK1, &it);
	if (!opt)
		return -ENOENT;
	if (coap_opt_length(opt) > 3)
		return -EINVAL;
	unsigned int v = coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt));
	*num = v >> 4;
	*more = (v & 8) != 0;
	*szx = v & 7;
	return *szx == 7 ? -EINVAL : 0;
}

void lpw_devsim_block1_clear(lpw_devsim_client_t *c)
{
	for (int i = 0; i < MAX_BLOCK1; i++)
		block1_drop(&c->block1[i]);
}

/* The upload req continues, or NULL. Request-Tag is option 292 (RFC 9175). */
static struct block1 *block1_find(lpw_devsim_client_t *c, const coap_pdu_t *req, const lpw_devsim_path_t *p)
{
	coap_opt_iterator_t it;
	coap_opt_t *tag = coap_check_option(req, 292, &it);
	size_t tlen = tag ? coap_opt_length(tag) : 0;
	for (int i = 0; i < MAX_BLOCK1; i++) {
		struct block1 *b = &c->block1[i];
		if (b->used && b->method == coap_pdu_get_code(req) && b->path.depth == p->depth &&
		    lpw_devsim_path_within(&b->path, p) && b->rtag_len == tlen &&
		    (tlen == 0 || !memcmp(b->rtag, coap_opt_value(tag), tlen)))
			return b;
	}
	return NULL;
}

/* A slot for a new upload (block 0): the one it restarts, a free one, or the oldest. NULL without memory. */
static struct block1 *block1_start(lpw_devsim_client_t *c, const coap_pdu_t *req, const lpw_devsim_path_t *p)
{
	coap_opt_iterator_t it;
	coap_opt_t *tag = coap_check_option(req, 292, &it);
	struct block1 *b = block1_find(c, req, p);
	for (int i = 0; !b && i < MAX_BLOCK1; i++)
		if (!c->block1[i].used)
			b = &c->block1[i];
	if (!b) {
		b = &c->block1[0];
		for (int i = 1; i < MAX_BLOCK1; i++)
			if (c->block1[i].age < b->age)
				b = &c->block1[i];
	}
	block1_drop(b);
	if (tag && coap_opt_length(tag) > sizeof(b->rtag))
		return NULL; /* RFC 9175 §3.2: at most 8 bytes */
	b->body = malloc(BLOCK1_BODY_MAX);
	if (!b->body)
		return NULL;
	b->used = true;
	b->method = coap_pdu_get_code(req);
	b->path = *p;
	b->rtag_len = tag ? coap_opt_length(tag) : 0;
	if (tag)
		memcpy(b->rtag, coap_opt_value(tag), b->rtag_len);
	b->age = ++c->block1_age;
	return b;
}

/* Takes one block of req. Returns 0 when the request is to be applied with data and len (one without Block1,
 * or the last block: then the whole body, and *out_done the slot to free after applying it); 1 when r already
 * holds the answer (2.31 Continue, 4.08 out of order, 4.13 too large, 4.00/4.02 malformed). */
static int block1_input(lpw_devsim_client_t *c, const coap_pdu_t *req, const lpw_devsim_path_t *p, struct reply *r,
                        const uint8_t **data, size_t *len, struct block1 **out_done)
{
	uint32_t num;
	bool more;
	unsigned int szx;
	int rc = get_block1(req, &num, &more, &szx);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0) {
		r->code = COAP_RESPONSE_CODE_BAD_OPTION;
		return 1;
	}
	size_t bs = (size_t)16 << szx, off = (size_t)num * bs;
	struct block1 *b = num == 0 ? block1_start(c, req, p) : block1_find(c, req, p);
	r->block1 = (int64_t)num << 4 | (more ? 8 : 0) | szx;
	if (num == 0 && !b) {
		r->code = COAP_RESPONSE_CODE_INTERNAL_ERROR;
	} else if (opt_uint(req, COAP_OPTION_SIZE1, 0) > BLOCK1_BODY_MAX || off + *len > BLOCK1_BODY_MAX) {
		r->code = COAP_RESPONSE_CODE_REQUEST_TOO_LARGE; /* RFC 7959 §2.9.3, with Size1 saying what fits */
		r->size1 = BLOCK1_BODY_MAX;
	} else if (!b || b->len != off) {
		r->code = COAP_RESPONSE_CODE_INCOMPLETE; /* RFC 7959 §2.9.2: a block we cannot place */
	} else if (more && *len != bs) {
		r->code = COAP_RESPONSE_CODE_BAD_REQUEST; /* RFC 7959 §2.2: only the last block may be short */
	} else {
		memcpy(b->body + b->len, *data, *len);
		b->len += *len;
		if (more) {
			r->code = COAP_RESPONSE_CODE_CONTINUE;
			return 1;
		}
		*data = b->body;
		*len = b->len;
		*out_done = b;
		return 0;
	}
	r->block1 = r->code == COAP_RESPONSE_CODE_REQUEST_TOO_LARGE ? r->block1 : -1;
	block1_drop(b);
	return 1;
}

static void emit_request(lpw_devsim_client_t *c, const coap_pdu_t *req, const lpw_devsim_path_t *p, bool path_ok,
                         coap_pdu_code_t code)
{
	char method[8], path[32], cs[8];
	json_t *ev = lpw_devsim_event_new(c, "request");
	json_object_set_new(ev, "method", json_string(lpw_coap_code_name(coap_pdu_get_code(req), method, sizeof(method))));
	json_object_set_new(ev, "path", json_string(path_ok ? lpw_devsim_path_format(p, path, sizeof(path)) : "?"));
	json_object_set_new(ev, "code", json_string(lpw_devsim_code_str(code, cs, sizeof(cs))));
	uint32_t num;
	bool more;
	unsigned int szx;
	if (get_block1(req, &num, &more, &szx) == 0)
		json_object_set_new(ev, "block1", json_pack("{s:I,s:b,s:i}", "num", (json_int_t)num, "more", more, "size",
		                                            16 << szx));
	lpw_devsim_emit(c, ev);
}

static void remember_reply(lpw_devsim_client_t *c, uint16_t mid, const uint8_t *bytes, size_t len)
{
	struct dedup *d = &c->dedup[c->dedup_next];
	d->used = true;
	d->mid = mid;
	memcpy(d->bytes, bytes, len);
	d->len = len;
	c->dedup_next = (c->dedup_next + 1) % MAX_DEDUP;
}

/* Read-Composite (LwM2M 1.1.1 §6.4.x: FETCH on "/" with a SenML JSON list of paths). */
static void do_fetch(lpw_devsim_client_t *c, const coap_pdu_t *req, const uint8_t *data, size_t len, struct reply *r)
{
	int cf = opt_uint(req, COAP_OPTION_CONTENT_FORMAT, -1);
	int accept = opt_uint(req, COAP_OPTION_ACCEPT, LPW_CF_SENML_JSON);
	if (accept != LPW_CF_SENML_JSON) {
		r->code = COAP_RESPONSE_CODE_NOT_ACCEPTABLE; /* SenML CBOR (112) is not spoken here */
		return;
	}
	int rc = lpw_devsim_objects_read_composite(c->objs, cf, data, len, r->payload, sizeof(r->payload), &r->len);
	if (rc == -ENOTSUP)
		r->code = COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT;
	else if (rc < 0)
		r->code = code_for(rc);
	else
		r->code = COAP_RESPONSE_CODE_CONTENT, r->cf = LPW_CF_SENML_JSON;
}

/* Write-Composite (iPATCH with SenML JSON naming full resource paths). */
static void do_ipatch(lpw_devsim_client_t *c, const coap_pdu_t *req, const uint8_t *data, size_t len, struct reply *r)
{
	int cf = opt_uint(req, COAP_OPTION_CONTENT_FORMAT, -1);
	int rc = lpw_devsim_objects_write_composite(c->objs, cf, data, len, on_write, c);
	if (rc == -ENOTSUP)
		r->code = COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT;
	else
		r->code = rc < 0 ? code_for(rc) : COAP_RESPONSE_CODE_CHANGED;
}

static void dispatch(lpw_devsim_client_t *c, const coap_pdu_t *req, const lpw_devsim_path_t *p, const uint8_t *data,
                     size_t len, struct reply *r)
{
	coap_pdu_code_t code = coap_pdu_get_code(req);
	if (code == COAP_REQUEST_CODE_GET)
		do_get(c, req, p, r);
	else if (code == COAP_REQUEST_CODE_PUT)
		do_put(c, req, p, data, len, r);
	else if (code == COAP_REQUEST_CODE_POST)
		do_post(c, req, p, data, len, r);
	else if (code == COAP_REQUEST_CODE_DELETE)
		do_delete(c, p, r);
	else if (code == COAP_REQUEST_CODE_FETCH)
		do_fetch(c, req, data, len, r);
	else if (code == COAP_REQUEST_CODE_IPATCH)
		do_ipatch(c, req, data, len, r);
	else
		r->code = COAP_RESPONSE_CODE_NOT_ALLOWED;
}

void lpw_devsim_handle_request(lpw_devsim_client_t *c, const coap_pdu_t *req)
{
	static struct reply r; /* large; the engine is single-threaded and never re-enters this */
	lpw_devsim_path_t p;
	bool path_ok = request_path(req, &p) == 0;
	struct block1 *done = NULL;
	const uint8_t *data = NULL;
	size_t len = 0;

	memset(&r, 0, sizeof(r));
	r.cf = -1;
	r.observe = -1;
	r.start_obs = -1;
	r.block1 = -1;
	r.size1 = -1;
	coap_get_data(req, &len, &data);
	if (!path_ok)
		r.code = COAP_RESPONSE_CODE_NOT_FOUND;
	else if (block1_input(c, req, &p, &r, &data, &len, &done) == 0)
		dispatch(c, req, &p, data, len, &r);
	block1_drop(done); /* the whole body has been applied (or refused) */

	coap_pdu_t *rsp = build_reply(c, req, &r);
	/* OSCORE: c->osc_answer is this request's (set on input); a reply that starts an observation is its first
	 * notification and gets a Partial IV too */
	c->osc_notify = r.observe >= 0;
	uint8_t bytes[PDU_MAX];
	size_t n = 0;
	if (!rsp || lpw_devsim_send_pdu(c, rsp, bytes, &n) < 0)
		LPW_WARN("devsim", "%s: reply not sent", c->endpoint);
	else if (coap_pdu_get_type(req) == COAP_MESSAGE_CON)
		remember_reply(c, (uint16_t)coap_pdu_get_mid(req), bytes, n);
	coap_delete_pdu(rsp);
	emit_request(c, req, &p, path_ok, r.code);
	if (r.start_obs >= 0)
		obs_arm(c, &c->obs[r.start_obs]);
	if (r.update_after && lpw_devsim_client_update(c) < 0)
		lpw_devsim_emit_error(c, "update trigger: not registered");
}
