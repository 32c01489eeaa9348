/* LwM2M registration awareness: classify device requests, remember Register, track and map location paths. */
#include "proxy/registration.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/pdu_util.h"

typedef struct {
	uint8_t *p; /* owned; NULL when len == 0 */
	size_t len;
} item_t;

typedef struct {
	size_t n;
	item_t v[LPW_REG_MAX_QUERY]; /* query lists use all, location lists at most LPW_REG_MAX_SEGMENTS */
} list_t;

typedef struct {
	bool registered;
	bool have_request;
	list_t query;
	bool has_cf;
	uint8_t cf[2];
	size_t cf_len;
	uint8_t *payload;
	size_t payload_len;
	list_t dev_loc; /* what the device learned from its own Register: never changes while registered */
	list_t srv_loc; /* where the server has the registration now (differs after a gateway re-registration) */
	/* derived by derive() from the fields above */
	uint32_t lifetime;
	bool queue;
	char *ep, *binding, *version, *dev_loc_str, *srv_loc_str;
} state_t;

struct lpw_reg {
	state_t st;
};

/* ---- lists and states ---- */

static void list_clear(list_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].p);
	l->n = 0;
}

static int list_push(list_t *l, const uint8_t *p, size_t len, size_t max)
{
	item_t *it;

	if (l->n >= max)
		return -E2BIG;
	it = &l->v[l->n];
	it->p = NULL;
	it->len = len;
	if (len > 0) {
		it->p = malloc(len);
		if (!it->p)
			return -ENOMEM;
		memcpy(it->p, p, len);
	}
	l->n++;
	return 0;
}

static int list_copy(list_t *dst, const list_t *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int rc = list_push(dst, src->v[i].p, src->v[i].len, LPW_REG_MAX_QUERY);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool list_equals_pdu_path(const list_t *l, const coap_pdu_t *pdu)
{
	lpw_pdu_optval_t segs[LPW_REG_MAX_SEGMENTS];
	int n = lpw_pdu_get_options(pdu, COAP_OPTION_URI_PATH, segs, LPW_REG_MAX_SEGMENTS);

	if (n < 0 || (size_t)n != l->n)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (segs[i].len != l->v[i].len || (l->v[i].len && memcmp(segs[i].value, l->v[i].p, l->v[i].len)))
			return false;
	return true;
}

static void free_derived(state_t *st)
{
	free(st->ep);
	free(st->binding);
	free(st->version);
	free(st->dev_loc_str);
	free(st->srv_loc_str);
	st->ep = st->binding = st->version = st->dev_loc_str = st->srv_loc_str = NULL;
}

static void state_clear(state_t *st)
{
	list_clear(&st->query);
	list_clear(&st->dev_loc);
	list_clear(&st->srv_loc);
	free(st->payload);
	free_derived(st);
	memset(st, 0, sizeof(*st));
}

static void forget_locations(state_t *st)
{
	list_clear(&st->dev_loc);
	list_clear(&st->srv_loc);
	st->registered = false;
}

static void forget_request(state_t *st)
{
	list_clear(&st->query);
	free(st->payload);
	st->payload = NULL;
	st->payload_len = 0;
	st->has_cf = false;
	st->cf_len = 0;
	st->have_request = false;
}

/* Deep copy of the stored fields (derived ones are recomputed by derive()). dst must be zeroed. */
static int state_copy(state_t *dst, const state_t *src)
{
	int rc;

	dst->registered = src->registered;
	dst->have_request = src->have_request;
	dst->has_cf = src->has_cf;
	dst->cf_len = src->cf_len;
	memcpy(dst->cf, src->cf, sizeof(dst->cf));
	if (src->payload_len > 0) {
		dst->payload = malloc(src->payload_len);
		if (!dst->payload)
			return -ENOMEM;
		memcpy(dst->payload, src->payload, src->payload_len);
		dst->payload_len = src->payload_len;
	}
	rc = list_copy(&dst->query, &src->query);
	if (rc == 0)
		rc = list_copy(&dst->dev_loc, &src->dev_loc);
	if (rc == 0)
		rc = list_copy(&dst->srv_loc, &src->srv_loc);
	return rc;
}

/* ---- query items ---- */

static size_t key_len(const item_t *it)
{
	const uint8_t *eq = it->len ? memchr(it->p, '=', it->len) : NULL;

	return eq ? (size_t)(eq - it->p) : it->len;
}

static bool key_is(const item_t *it, const char *key)
{
	size_t n = strlen(key);

	return key_len(it) == n && memcmp(it->p, key, n) == 0;
}

/* The value after "key=", as a new string; "" for an item without '='. */
static char *value_dup(const item_t *it)
{
	size_t k = key_len(it), off = k < it->len ? k + 1 : it->len;
	char *s = malloc(it->len - off + 1);

	if (!s)
		return NULL;
	if (it->len > off)
		memcpy(s, it->p + off, it->len - off);
	s[it->len - off] = '\0';
	return s;
}

/* Decimal, 1..10 digits, no sign, no spaces, fits in 32 bits. */
static int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 10)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Keeps the first occurrence of a key (*slot already set means seen). */
static int take_string(const item_t *it, char **slot)
{
	if (*slot)
		return 0;
	*slot = value_dup(it);
	return *slot ? 0 : -ENOMEM;
}

static int parse_item(state_t *st, const item_t *it, bool *seen_lt)
{
	if (it->len && memchr(it->p, '\0', it->len))
		return -EINVAL;
	if (key_is(it, "lt") && !*seen_lt) {
		char *v = value_dup(it);
		int rc = v ? parse_u32(v, &st->lifetime) : -ENOMEM;

		free(v);
		*seen_lt = true;
		return rc;
	}
	if (key_is(it, "ep"))
		return take_string(it, &st->ep);
	if (key_is(it, "b"))
		return take_string(it, &st->binding);
	if (key_is(it, "lwm2m"))
		return take_string(it, &st->version);
	if (key_is(it, "Q"))
		st->queue = true;
	return 0;
}

static char *path_dup(const list_t *l)
{
	lpw_pdu_optval_t segs[LPW_REG_MAX_SEGMENTS];
	size_t size = 2;
	char *s;

	for (size_t i = 0; i < l->n; i++) {
		segs[i].value = l->v[i].p;
		segs[i].len = l->v[i].len;
		size += 1 + 3 * l->v[i].len; /* worst case: every byte escaped */
	}
	s = malloc(size);
	if (s && lpw_pdu_path_str(segs, l->n, s, size) < 0) {
		free(s);
		s = NULL;
	}
	return s;
}

/* Recomputes lifetime, ep, b, lwm2m, Q and the location strings from the stored fields. */
static int derive(state_t *st)
{
	bool seen_lt = false;
	int rc = 0;

	free_derived(st);
	st->lifetime = LPW_REG_DEFAULT_LIFETIME;
	st->queue = false;
	for (size_t i = 0; rc == 0 && i < st->query.n; i++)
		rc = parse_item(st, &st->query.v[i], &seen_lt);
	if (rc < 0)
		return rc;
	/* LwM2M 1.0 wrote queue mode into the binding ("UQ"). */
	if (st->binding && strchr(st->binding, 'Q'))
		st->queue = true;
	if (st->registered) {
		st->dev_loc_str = path_dup(&st->dev_loc);
		st->srv_loc_str = path_dup(&st->srv_loc);
		if (!st->dev_loc_str || !st->srv_loc_str)
			return -ENOMEM;
	}
	return 0;
}

/* Installs next as reg's state if it derives cleanly; otherwise discards it. Either way next is consumed. */
static int commit(lpw_reg_t *reg, state_t *next, int rc)
{
	if (rc == 0)
		rc = derive(next);
	if (rc < 0) {
		state_clear(next);
		return rc;
	}
	state_clear(&reg->st);
	reg->st = *next;
	return 0;
}

/* ---- public ---- */

lpw_reg_t *lpw_reg_new(void)
{
	lpw_reg_t *reg = calloc(1, sizeof(*reg));

	if (reg && derive(&reg->st) < 0) {
		free(reg);
		return NULL;
	}
	return reg;
}

void lpw_reg_free(lpw_reg_t *reg)
{
	if (!reg)
		return;
	state_clear(&reg->st);
	free(reg);
}

static bool single_segment(const coap_pdu_t *req, const char *name)
{
	lpw_pdu_optval_t seg;
	size_t n = strlen(name);

	return lpw_pdu_get_options(req, COAP_OPTION_URI_PATH, &seg, 1) == 1 && seg.len == n &&
	       memcmp(seg.value, name, n) == 0;
}

lpw_reg_op_t lpw_reg_classify(const lpw_reg_t *reg, const coap_pdu_t *req)
{
	coap_pdu_code_t code;

	if (!reg || !req)
		return LPW_REG_OP_OTHER;
	code = coap_pdu_get_code(req);
	if (code != COAP_REQUEST_CODE_POST && code != COAP_REQUEST_CODE_DELETE)
		return LPW_REG_OP_OTHER;
	/* No query required: over LoRaWAN every Register parameter is optional (table 6.8.4-1). */
	if (code == COAP_REQUEST_CODE_POST && single_segment(req, "rd"))
		return LPW_REG_OP_REGISTER;
	if (reg->st.registered && list_equals_pdu_path(&reg->st.dev_loc, req))
		return code == COAP_REQUEST_CODE_POST ? LPW_REG_OP_UPDATE : LPW_REG_OP_DEREGISTER;
	if (code == COAP_REQUEST_CODE_POST && single_segment(req, "bs"))
		return LPW_REG_OP_BOOTSTRAP_REQUEST;
	if (code == COAP_REQUEST_CODE_POST && single_segment(req, "dp"))
		return LPW_REG_OP_SEND;
	return LPW_REG_OP_OTHER;
}

static int pdu_list(list_t *l, const coap_pdu_t *pdu, uint16_t number, size_t max)
{
	lpw_pdu_optval_t vals[LPW_REG_MAX_QUERY];
	int n = lpw_pdu_get_options(pdu, number, vals, LPW_REG_MAX_QUERY);

	if (n < 0)
		return n;
	if ((size_t)n > max)
		return -E2BIG;
	for (int i = 0; i < n; i++) {
		int rc;

		/* RFC 7252 caps these options at 255 bytes; longer ones would not fit the serialised form either. */
		if (vals[i].len > LPW_PDU_MAX_SEGMENT)
			return -E2BIG;
		rc = list_push(l, vals[i].value, vals[i].len, max);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int take_request(state_t *next, const coap_pdu_t *req)
{
	lpw_pdu_optval_t cf;
	const uint8_t *data;
	size_t len;
	int rc;

	forget_request(next);
	next->have_request = true;
	rc = pdu_list(&next->query, req, COAP_OPTION_URI_QUERY, LPW_REG_MAX_QUERY);
	if (rc < 0)
		return rc;
	if (lpw_pdu_get_options(req, COAP_OPTION_CONTENT_FORMAT, &cf, 1) >= 1) {
		if (cf.len > sizeof(next->cf))
			return -EINVAL;
		next->has_cf = true;
		next->cf_len = cf.len;
		if (cf.len)
			memcpy(next->cf, cf.value, cf.len);
	}
	if (coap_get_data(req, &len, &data) && len > 0) {
		if (len > LPW_REG_MAX_PAYLOAD)
			return -E2BIG;
		next->payload = malloc(len);
		if (!next->payload)
			return -ENOMEM;
		memcpy(next->payload, data, len);
		next->payload_len = len;
	}
	return 0;
}

int lpw_reg_remember_register(lpw_reg_t *reg, const coap_pdu_t *req)
{
	state_t next = { 0 };
	int rc;

	if (!reg || !req || lpw_reg_classify(reg, req) != LPW_REG_OP_REGISTER)
		return -EINVAL;
	rc = state_copy(&next, &reg->st);
	if (rc == 0)
		rc = take_request(&next, req);
	return commit(reg, &next, rc);
}

static int on_register_ok(state_t *next, const coap_pdu_t *resp, lpw_reg_origin_t origin)
{
	list_t loc = { 0 };
	int rc = pdu_list(&loc, resp, COAP_OPTION_LOCATION_PATH, LPW_REG_MAX_SEGMENTS);

	if (rc == 0 && loc.n == 0)
		rc = -EPROTO; /* §6.4.3: "The LwM2M Server MUST return a location under the /rd path segment" */
	if (rc < 0) {
		list_clear(&loc);
		return rc == -E2BIG ? -EPROTO : rc;
	}
	/* A gateway re-registration must stay invisible: the device keeps the location it learned first. */
	if (!(origin == LPW_REG_BY_GATEWAY && next->registered)) {
		list_clear(&next->dev_loc);
		rc = list_copy(&next->dev_loc, &loc);
	}
	list_clear(&next->srv_loc);
	if (rc == 0)
		rc = list_copy(&next->srv_loc, &loc);
	list_clear(&loc);
	next->registered = rc == 0;
	return rc;
}

static bool update_key(const item_t *it)
{
	return key_is(it, "lt") || key_is(it, "b") || key_is(it, "sms") || key_is(it, "Q");
}

static size_t find_key(const list_t *l, const item_t *like)
{
	size_t k = key_len(like);

	for (size_t j = 0; j < l->n; j++)
		if (key_len(&l->v[j]) == k && (k == 0 || !memcmp(l->v[j].p, like->p, k)))
			return j;
	return l->n;
}

/* The Update's lt / b / sms / Q replace those of the remembered Register, so a re-registration uses them. */
static int merge_update(state_t *next, const coap_pdu_t *req)
{
	list_t upd = { 0 };
	int rc = req ? pdu_list(&upd, req, COAP_OPTION_URI_QUERY, LPW_REG_MAX_QUERY) : 0;

	for (size_t i = 0; rc == 0 && i < upd.n; i++) {
		item_t *u = &upd.v[i];
		size_t j;

		if (!update_key(u))
			continue;
		j = find_key(&next->query, u);
		if (j == next->query.n) {
			rc = list_push(&next->query, u->p, u->len, LPW_REG_MAX_QUERY);
			continue;
		}
		/* Move the item over; upd no longer owns it. */
		free(next->query.v[j].p);
		next->query.v[j] = *u;
		u->p = NULL;
		u->len = 0;
	}
	list_clear(&upd);
	return rc;
}

static int apply_response(state_t *next, lpw_reg_op_t op, const coap_pdu_t *req, coap_pdu_code_t code,
			  const coap_pdu_t *resp, lpw_reg_origin_t origin)
{
	switch (op) {
	case LPW_REG_OP_REGISTER:
		if (code == COAP_RESPONSE_CODE_CREATED)
			return on_register_ok(next, resp, origin);
		forget_locations(next);
		return 0;
	case LPW_REG_OP_UPDATE:
		if (code == COAP_RESPONSE_CODE_CHANGED)
			return merge_update(next, req);
		if (code == COAP_RESPONSE_CODE_NOT_FOUND)
			forget_locations(next); /* §6.4.3 table: the server no longer knows the registration */
		return 0;
	case LPW_REG_OP_DEREGISTER:
		if (code == COAP_RESPONSE_CODE_DELETED || code == COAP_RESPONSE_CODE_NOT_FOUND) {
			forget_locations(next);
			forget_request(next); /* a de-registered device must not be re-registered by the gateway */
		}
		return 0;
	default:
		return 0;
	}
}

int lpw_reg_on_response(lpw_reg_t *reg, lpw_reg_op_t op, const coap_pdu_t *req, const coap_pdu_t *resp,
			lpw_reg_origin_t origin)
{
	state_t next = { 0 };
	int rc;

	if (!reg || !resp)
		return -EINVAL;
	rc = state_copy(&next, &reg->st);
	if (rc == 0)
		rc = apply_response(&next, op, req, coap_pdu_get_code(resp), resp, origin);
	if (rc == -EPROTO) {
		/* A 2.01 without a usable location: the registration cannot be followed, so we are not registered. */
		forget_locations(&next);
		(void)commit(reg, &next, 0);
		return -EPROTO;
	}
	return commit(reg, &next, rc);
}

static void list_view(const list_t *l, lpw_pdu_optval_t *out)
{
	for (size_t i = 0; i < l->n; i++) {
		out[i].value = l->v[i].p;
		out[i].len = l->v[i].len;
	}
}

int lpw_reg_rewrite(const lpw_reg_t *reg, const coap_pdu_t *dev_req, coap_pdu_t *dst)
{
	lpw_pdu_optval_t segs[LPW_REG_MAX_SEGMENTS];
	lpw_pdu_copy_opts_t opts = { 0 };

	if (!reg || !dev_req || !dst)
		return -EINVAL;
	if (!reg->st.registered)
		return -ENOENT;
	if (!list_equals_pdu_path(&reg->st.dev_loc, dev_req))
		return -EINVAL;
	list_view(&reg->st.srv_loc, segs);
	opts.replace_uri_path = true;
	opts.uri_path = segs;
	opts.n_uri_path = reg->st.srv_loc.n;
	return lpw_pdu_copy(dst, dev_req, &opts);
}

int lpw_reg_build_register(const lpw_reg_t *reg, coap_pdu_t *dst)
{
	const state_t *st;

	if (!reg || !dst)
		return -EINVAL;
	st = &reg->st;
	if (!st->have_request)
		return -ENOENT;
	coap_pdu_set_code(dst, COAP_REQUEST_CODE_POST);
	/* Ascending option numbers: Uri-Path 11, Content-Format 12, Uri-Query 15. */
	if (!coap_add_option(dst, COAP_OPTION_URI_PATH, 2, (const uint8_t *)"rd"))
		return -ENOSPC;
	if (st->has_cf && !coap_add_option(dst, COAP_OPTION_CONTENT_FORMAT, st->cf_len, st->cf))
		return -ENOSPC;
	for (size_t i = 0; i < st->query.n; i++)
		if (!coap_add_option(dst, COAP_OPTION_URI_QUERY, st->query.v[i].len, st->query.v[i].p))
			return -ENOSPC;
	if (st->payload_len > 0 && !coap_add_data(dst, st->payload_len, st->payload))
		return -ENOSPC;
	return 0;
}

/* Appends "key=value" (or just "key" when value is NULL) to the query. */
static int push_pair(state_t *st, const char *key, const char *value)
{
	size_t k = strlen(key), v = value ? strlen(value) : 0;
	uint8_t buf[LPW_PDU_MAX_SEGMENT];

	if (k + (value ? 1 + v : 0) > sizeof(buf))
		return -EINVAL;
	memcpy(buf, key, k);
	if (value) {
		buf[k] = '=';
		memcpy(buf + k + 1, value, v);
	}
	return list_push(&st->query, buf, k + (value ? 1 + v : 0), LPW_REG_MAX_QUERY);
}

static bool has_key(const list_t *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (key_is(&l->v[i], key))
			return true;
	return false;
}

/* Table 6.8.4-1, one row at a time; returns the LPW_REG_ADDED_* bits or a negative errno. */
static int add_defaults(state_t *st, const char *endpoint, const char *binding)
{
	bool v10 = st->version && strncmp(st->version, "1.0", 3) == 0;
	char b10[LPW_PDU_MAX_SEGMENT];
	int added = 0, rc = 0;

	if (endpoint && !has_key(&st->query, "ep") && (rc = push_pair(st, "ep", endpoint)) == 0)
		added |= LPW_REG_ADDED_EP;
	if (rc == 0 && !has_key(&st->query, "lt") && (rc = push_pair(st, "lt", "2592000")) == 0)
		added |= LPW_REG_ADDED_LT;
	if (rc == 0 && !has_key(&st->query, "lwm2m") && (rc = push_pair(st, "lwm2m", LPW_REG_LORAWAN_VERSION)) == 0)
		added |= LPW_REG_ADDED_LWM2M;
	/* "By nature, the LoRaWAN network is equivalent to Queue Mode": say so, in the encoding of the version. */
	if (rc == 0 && binding && !has_key(&st->query, "b")) {
		if (v10 && !strchr(binding, 'Q')) {
			if (strlen(binding) + 2 > sizeof(b10))
				return -EINVAL;
			strcpy(b10, binding);
			strcat(b10, "Q");
			binding = b10;
		}
		rc = push_pair(st, "b", binding);
		if (rc == 0)
			added |= LPW_REG_ADDED_B | (v10 ? LPW_REG_ADDED_Q : 0);
	}
	if (rc == 0 && !v10 && !has_key(&st->query, "Q") && (rc = push_pair(st, "Q", NULL)) == 0)
		added |= LPW_REG_ADDED_Q;
	return rc < 0 ? rc : added;
}

int lpw_reg_apply_lorawan_defaults(lpw_reg_t *reg, const char *endpoint, const char *binding)
{
	state_t next = { 0 };
	int rc, added;

	if (!reg)
		return -EINVAL;
	if (!reg->st.have_request)
		return -ENOENT;
	rc = state_copy(&next, &reg->st);
	/* next's derived fields are empty until derive(): look at the version through reg. */
	if (rc == 0 && reg->st.version) {
		next.version = strdup(reg->st.version);
		rc = next.version ? 0 : -ENOMEM;
	}
	added = rc == 0 ? add_defaults(&next, endpoint, binding) : rc;
	rc = commit(reg, &next, added < 0 ? added : 0);
	return rc < 0 ? rc : added;
}

bool lpw_reg_is_registered(const lpw_reg_t *reg)
{
	return reg && reg->st.registered;
}

uint32_t lpw_reg_lifetime(const lpw_reg_t *reg)
{
	return reg ? reg->st.lifetime : 0;
}

const char *lpw_reg_endpoint(const lpw_reg_t *reg)
{
	return reg ? reg->st.ep : NULL;
}

const char *lpw_reg_binding(const lpw_reg_t *reg)
{
	return reg ? reg->st.binding : NULL;
}

const char *lpw_reg_version(const lpw_reg_t *reg)
{
	return reg ? reg->st.version : NULL;
}

bool lpw_reg_queue_mode(const lpw_reg_t *reg)
{
	return reg && reg->st.queue;
}

const char *lpw_reg_device_location(const lpw_reg_t *reg)
{
	return reg ? reg->st.dev_loc_str : NULL;
}

const char *lpw_reg_server_location(const lpw_reg_t *reg)
{
	return reg ? reg->st.srv_loc_str : NULL;
}

/* ---- persistence ----
 * Blob v1: version, flags (1 registered, 2 request, 4 content-format), cf_len + cf, then three lists (query,
 * device location, server location) each as a count byte and (length byte + bytes) items, then a 16-bit big
 * endian payload length and the payload. Derived values (lt, ep, ...) are recomputed, never stored.
 */
#define F_REGISTERED 0x01
#define F_REQUEST 0x02
#define F_CF 0x04

typedef struct {
	uint8_t *buf;
	size_t size, pos;
} writer_t;

static void put_bytes(writer_t *w, const void *p, size_t n)
{
	if (w->buf && w->pos + n <= w->size && n > 0)
		memcpy(w->buf + w->pos, p, n);
	w->pos += n;
}

static void put_u8(writer_t *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

static void put_list(writer_t *w, const list_t *l)
{
	put_u8(w, (uint8_t)l->n);
	for (size_t i = 0; i < l->n; i++) {
		put_u8(w, (uint8_t)l->v[i].len);
		put_bytes(w, l->v[i].p, l->v[i].len);
	}
}

int lpw_reg_serialise(const lpw_reg_t *reg, uint8_t *buf, size_t size, size_t *out_len)
{
	writer_t w = { .buf = buf, .size = buf ? size : 0 };
	const state_t *st;

	if (!reg || !out_len)
		return -EINVAL;
	st = &reg->st;
	put_u8(&w, LPW_REG_BLOB_VERSION);
	put_u8(&w, (uint8_t)((st->registered ? F_REGISTERED : 0) | (st->have_request ? F_REQUEST : 0) |
			     (st->has_cf ? F_CF : 0)));
	put_u8(&w, (uint8_t)st->cf_len);
	put_bytes(&w, st->cf, st->cf_len);
	put_list(&w, &st->query);
	put_list(&w, &st->dev_loc);
	put_list(&w, &st->srv_loc);
	put_u8(&w, (uint8_t)(st->payload_len >> 8));
	put_u8(&w, (uint8_t)st->payload_len);
	put_bytes(&w, st->payload, st->payload_len);
	*out_len = w.pos;
	return w.pos <= w.size ? 0 : -ENOSPC;
}

typedef struct {
	const uint8_t *buf;
	size_t len, pos;
} reader_t;

static int get_bytes(reader_t *r, size_t n, const uint8_t **out)
{
	if (n > r->len - r->pos)
		return -EINVAL; /* truncated */
	*out = r->buf + r->pos;
	r->pos += n;
	return 0;
}

static int get_u8(reader_t *r, uint8_t *out)
{
	const uint8_t *p;
	int rc = get_bytes(r, 1, &p);

	if (rc == 0)
		*out = *p;
	return rc;
}

static int get_list(reader_t *r, list_t *l, size_t max)
{
	uint8_t n, len;
	const uint8_t *p;
	int rc = get_u8(r, &n);

	if (rc == 0 && n > max)
		return -EINVAL;
	for (uint8_t i = 0; rc == 0 && i < n; i++) {
		rc = get_u8(r, &len);
		if (rc == 0)
			rc = get_bytes(r, len, &p);
		if (rc == 0)
			rc = list_push(l, p, len, max);
	}
	return rc == -E2BIG ? -EINVAL : rc;
}

static int read_blob(reader_t *r, state_t *st)
{
	uint8_t version = 0, flags = 0, cf_len = 0, hi = 0, lo = 0;
	const uint8_t *p;
	int rc;

	if (get_u8(r, &version) || version != LPW_REG_BLOB_VERSION || get_u8(r, &flags) ||
	    (flags & ~(F_REGISTERED | F_REQUEST | F_CF)) || get_u8(r, &cf_len) || cf_len > sizeof(st->cf) ||
	    get_bytes(r, cf_len, &p))
		return -EINVAL;
	st->registered = flags & F_REGISTERED;
	st->have_request = flags & F_REQUEST;
	st->has_cf = flags & F_CF;
	st->cf_len = cf_len;
	if (cf_len)
		memcpy(st->cf, p, cf_len);
	rc = get_list(r, &st->query, LPW_REG_MAX_QUERY);
	if (rc == 0)
		rc = get_list(r, &st->dev_loc, LPW_REG_MAX_SEGMENTS);
	if (rc == 0)
		rc = get_list(r, &st->srv_loc, LPW_REG_MAX_SEGMENTS);
	if (rc == 0 && (get_u8(r, &hi) || get_u8(r, &lo)))
		rc = -EINVAL;
	if (rc < 0)
		return rc;
	st->payload_len = (size_t)hi << 8 | lo;
	if (get_bytes(r, st->payload_len, &p) < 0)
		return -EINVAL;
	if (st->payload_len) {
		st->payload = malloc(st->payload_len);
		if (!st->payload)
			return -ENOMEM;
		memcpy(st->payload, p, st->payload_len);
	}
	return 0;
}

static bool consistent(const state_t *st)
{
	if (st->registered != (st->dev_loc.n > 0) || st->registered != (st->srv_loc.n > 0))
		return false;
	if (!st->have_request && (st->query.n || st->payload_len || st->has_cf))
		return false;
	return st->has_cf || st->cf_len == 0;
}

int lpw_reg_deserialise(lpw_reg_t *reg, const uint8_t *buf, size_t len)
{
	reader_t r = { .buf = buf, .len = len };
	state_t next = { 0 };
	int rc;

	if (!reg || (!buf && len > 0))
		return -EINVAL;
	rc = read_blob(&r, &next);
	if (rc == 0 && (r.pos != len || !consistent(&next)))
		rc = -EINVAL; /* trailing bytes or a state no code path produces */
	return commit(reg, &next, rc);
}

int lpw_reg_default_objects(lpw_reg_t *reg, const char *links)
{
	if (!reg || !links)
		return -EINVAL;
	if (!reg->st.have_request)
		return -ENOENT;
	if (reg->st.payload_len > 0)
		return 0;
	size_t n = strlen(links);
	if (n == 0 || n > LPW_REG_MAX_PAYLOAD)
		return -EINVAL;
	uint8_t *p = malloc(n);
	if (!p)
		return -ENOMEM;
	memcpy(p, links, n);
	free(reg->st.payload);
	reg->st.payload = p;
	reg->st.payload_len = n;
	/* LwM2M: the object list is CoRE link format (Content-Format 40, one byte) */
	reg->st.has_cf = true;
	reg->st.cf[0] = 40;
	reg->st.cf_len = 1;
	return 1;
}
