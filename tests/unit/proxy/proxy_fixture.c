/* The proxy unit tests' fixture: configuration, hooks that capture what the proxy does, PDU helpers. */
#include "tests/unit/proxy/proxy_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/coap_codec.h"
#include "proxy/pdu_util.h"
#include "tests/unit/common/test_tmpdir.h"

static int capture_send(void *arg, lpw_device_t *dev, const lpw_downlink_t *dl)
{
	fx_t *fx = arg;
	assert_true(fx->ndown < FX_MAX_DOWN);
	fx_datagram_t *d = &fx->down[fx->ndown++];
	d->dev = lpw_device_config(dev);
	d->data = malloc(dl->len);
	assert_non_null(d->data);
	memcpy(d->data, dl->data, dl->len);
	d->len = dl->len;
	d->at_ms = lpw_clock_now_ms(fx->clock);
	return 0;
}

static void fake_traits(void *arg, const lpw_device_t *dev, lpw_binding_traits_t *out)
{
	*out = ((fx_t *)arg)->traits;
}

static void capture_state(void *arg, const lpw_proxy_device_state_t *st)
{
	fx_t *fx = arg;
	fx->nstates++;
	fx->last_registered = st->registered;
	snprintf(fx->last_location, sizeof(fx->last_location), "%s", st->location);
}

static void capture_event(void *arg, const char *type, const char *device_id, const char *detail)
{
	fx_t *fx = arg;
	assert_true(fx->nevents < FX_MAX_EVENTS);
	fx_event_t *e = &fx->events[fx->nevents++];
	snprintf(e->type, sizeof(e->type), "%s", type);
	snprintf(e->device, sizeof(e->device), "%s", device_id);
	snprintf(e->detail, sizeof(e->detail), "%s", detail);
}

static void server(lpw_config_server_t *s, const char *name, const char *host, bool bootstrap)
{
	s->name = (char *)name;
	s->host = (char *)host;
	s->uri = (char *)"coap+tcp://127.0.0.1:5683";
	s->port = 5683;
	s->bootstrap = bootstrap;
}

static void device(lpw_config_device_t *d, const char *id, const char *ip)
{
	d->id = (char *)id;
	d->binding = LPW_BINDING_NIDD_SGI;
	d->identity = (char *)ip;
}

static void build_config(fx_t *fx)
{
	/* Distinct host names so that Uri-Host routing by name and by host can both be told apart. */
	server(&fx->servers[0], "a", "a.example", false);
	server(&fx->servers[1], "b", "b.example", false);
	server(&fx->servers[2], "bs", "bs.example", true);

	device(&fx->devices[FX_DEV_PLAIN], "plain", "127.0.0.2");
	fx->devices[FX_DEV_PLAIN].nservers = 1;
	fx->devices[FX_DEV_PLAIN].servers[0] = &fx->servers[0];

	device(&fx->devices[FX_DEV_OSCORE], "osc", "127.0.0.3");
	fx->devices[FX_DEV_OSCORE].nservers = 1;
	fx->devices[FX_DEV_OSCORE].servers[0] = &fx->servers[0];
	fx->devices[FX_DEV_OSCORE].oscore = true;

	device(&fx->devices[FX_DEV_MULTI], "multi", "127.0.0.4");
	fx->devices[FX_DEV_MULTI].nservers = 2;
	fx->devices[FX_DEV_MULTI].servers[0] = &fx->servers[0];
	fx->devices[FX_DEV_MULTI].servers[1] = &fx->servers[1];
	fx->devices[FX_DEV_MULTI].bootstrap = &fx->servers[2];

	fx->cfg.gateway_id = (char *)"gw-test";
	fx->cfg.upstream = (lpw_config_upstream_t){.reconnect_min_s = 1, .reconnect_max_s = 60, .csm_timeout_s = 30,
	                                            .queue_max = 16, .queue_timeout_s = 600};
	fx->cfg.sgi.max_message_size = 1358;
	fx->cfg.nservers = 3;
	fx->cfg.servers = fx->servers;
	fx->cfg.ndevices = FX_NDEVICES;
	fx->cfg.devices = fx->devices;
}

/* The proxy and its devices, as at a gateway start (with fx->store, if any). */
static void start_proxy(fx_t *fx)
{
	fx->px = lpw_proxy_new(fx->loop, &fx->cfg, &fx->stats, &fx->hooks, &fx->south, fx->store);
	assert_non_null(fx->px);
	/* every device has been heard (its SGi address is known) and registers without Q: requests leave at once */
	for (size_t i = 0; i < fx->cfg.ndevices; i++) {
		fx->h[i] = lpw_device_new(&fx->cfg.devices[i], (uint32_t)i + 1);
		assert_non_null(fx->h[i]);
		assert_int_equal(lpw_proxy_device_add(fx->px, fx->h[i]), 0);
		lpw_proxy_reachable(fx->px, fx->h[i], 0);
	}
	/* one link per (device, server): a; a; a, b, bs */
	assert_int_equal(fake_link_count(), 5);
}

static void stop_proxy(fx_t *fx)
{
	lpw_proxy_free(fx->px);
	fx->px = NULL;
	for (size_t i = 0; i < FX_NDEVICES; i++) {
		lpw_device_free(fx->h[i]);
		fx->h[i] = NULL;
	}
}

static fx_t *make_fixture(bool stored)
{
	fx_t *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	build_config(fx);
	fx->clock = lpw_clock_new_fake(FX_T0);
	assert_non_null(fx->clock);
	fx->loop = lpw_loop_new(fx->clock);
	assert_non_null(fx->loop);
	fx->hooks = (lpw_proxy_hooks_t){capture_state, capture_event, fx};
	fx->south = (lpw_southbound_t){capture_send, fake_traits, fx, NULL};
	fx->traits = (lpw_binding_traits_t){.max_message_size_now = 1358, .max_message_size = 1358,
	                                    .proxy_retransmits = true};
	if (stored) {
		snprintf(fx->state_dir, sizeof(fx->state_dir), "/tmp/lpw-unit-proxy-XXXXXX");
		assert_non_null(mkdtemp(fx->state_dir));
		char err[256];
		fx->store = lpw_store_open(fx->state_dir, err, sizeof(err));
		assert_non_null(fx->store);
	}
	start_proxy(fx);
	return fx;
}

int fx_setup(void **state)
{
	*state = make_fixture(false);
	return 0;
}

int fx_setup_stored(void **state)
{
	*state = make_fixture(true);
	return 0;
}

void fx_restart(fx_t *fx)
{
	stop_proxy(fx);
	assert_int_equal(fake_link_count(), 0);
	fx->nevents = 0;
	start_proxy(fx);
}

int fx_teardown(void **state)
{
	fx_t *fx = *state;
	stop_proxy(fx);
	if (fx->store) {
		lpw_store_close(fx->store);
		if (lpw_test_rmtree(fx->state_dir) != 0)
			print_error("cannot remove %s\n", fx->state_dir);
	}
	size_t leaked = fake_link_count(); /* the proxy must free every link it made */
	/* gauges describe live links: none are left once the proxy is gone */
	uint32_t up = fx->stats.upstream_up, down = fx->stats.upstream_down;
	lpw_loop_free(fx->loop);
	lpw_clock_free(fx->clock);
	for (size_t i = 0; i < fx->ndown; i++)
		free(fx->down[i].data);
	free(fx);
	if (leaked)
		print_error("%zu upstream links not freed by the proxy\n", leaked);
	if (up || down)
		print_error("upstream gauges left at up=%u down=%u\n", up, down);
	return leaked || up || down ? -1 : 0;
}

lpw_uplink_t *fx_link(fx_t *fx, int dev, const char *srv)
{
	lpw_uplink_t *l = fake_link(fx->devices[dev].id, srv);
	assert_non_null(l);
	return l;
}

lpw_uplink_t *fx_link_up(fx_t *fx, int dev, const char *srv)
{
	lpw_uplink_t *l = fx_link(fx, dev, srv);
	fake_link_set_state(l, LPW_LINK_UP, 0, NULL);
	return l;
}

coap_pdu_t *fx_pdu(coap_pdu_type_t type, coap_pdu_code_t code, uint16_t mid, const uint8_t *tok, size_t toklen)
{
	coap_pdu_t *p = coap_pdu_init(type, code, mid, 2048);
	assert_non_null(p);
	if (toklen)
		assert_true(coap_add_token(p, toklen, tok));
	return p;
}

void fx_add_opt(coap_pdu_t *pdu, uint16_t number, const char *text)
{
	assert_true(coap_add_option(pdu, number, strlen(text), (const uint8_t *)text) > 0 || strlen(text) == 0);
}

void fx_add_uint_opt(coap_pdu_t *pdu, uint16_t number, unsigned value)
{
	uint8_t buf[4];
	unsigned n = coap_encode_var_safe(buf, sizeof(buf), value);
	assert_true(coap_add_option(pdu, number, n, buf) > 0 || n == 0);
}

void fx_add_payload(coap_pdu_t *pdu, const char *text)
{
	assert_true(coap_add_data(pdu, strlen(text), (const uint8_t *)text));
}

int fx_uplink(fx_t *fx, int dev, const coap_pdu_t *pdu)
{
	uint8_t buf[2048];
	ssize_t n = lpw_coap_encode_udp(pdu, buf, sizeof(buf));
	assert_true(n > 0);
	return fx_uplink_bytes(fx, dev, buf, (size_t)n);
}

int fx_uplink_bytes(fx_t *fx, int dev, const uint8_t *data, size_t len)
{
	return lpw_proxy_uplink(fx->px, fx->h[dev], LPW_SERVER_ANY, data, len);
}

coap_pdu_t *fx_down(fx_t *fx, size_t i)
{
	assert_true(i < fx->ndown);
	const char *reason = NULL;
	coap_pdu_t *p = lpw_coap_parse_udp(fx->down[i].data, fx->down[i].len, &reason);
	if (!p)
		fail_msg("datagram %zu to the device does not parse: %s", i, reason);
	return p;
}

coap_pdu_t *fx_last_down(fx_t *fx)
{
	assert_true(fx->ndown > 0);
	return fx_down(fx, fx->ndown - 1);
}

void fx_assert_token(const coap_pdu_t *pdu, const uint8_t *tok, size_t len)
{
	coap_bin_const_t t = coap_pdu_get_token(pdu);
	assert_int_equal(t.length, len);
	if (len)
		assert_memory_equal(t.s, tok, len);
}

void fx_assert_same_token(const coap_pdu_t *a, const coap_pdu_t *b)
{
	coap_bin_const_t t = coap_pdu_get_token(b);
	fx_assert_token(a, t.s, t.length);
}

void fx_assert_path(const coap_pdu_t *pdu, uint16_t number, const char *const *segs, size_t n)
{
	lpw_pdu_optval_t v[16];
	assert_int_equal(lpw_pdu_get_options(pdu, number, v, 16), (int)n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(v[i].len, strlen(segs[i]));
		assert_memory_equal(v[i].value, segs[i], v[i].len);
	}
}

void fx_assert_same_options(const coap_pdu_t *a, const coap_pdu_t *b)
{
	coap_opt_iterator_t ia, ib;
	coap_opt_t *oa, *ob;
	size_t n = 0;
	coap_option_iterator_init(a, &ia, COAP_OPT_ALL);
	coap_option_iterator_init(b, &ib, COAP_OPT_ALL);
	for (;;) {
		oa = coap_option_next(&ia);
		ob = coap_option_next(&ib);
		if (!oa || !ob)
			break;
		assert_int_equal(ia.number, ib.number);
		assert_int_equal(coap_opt_length(oa), coap_opt_length(ob));
		if (coap_opt_length(oa))
			assert_memory_equal(coap_opt_value(oa), coap_opt_value(ob), coap_opt_length(oa));
		n++;
	}
	if (oa || ob)
		fail_msg("option lists differ in length after %zu options", n);
}

void fx_assert_payload(const coap_pdu_t *pdu, const uint8_t *data, size_t len)
{
	size_t n = 0;
	const uint8_t *p = NULL;
	int has = coap_get_data(pdu, &n, &p);
	assert_int_equal(n, len);
	if (len) {
		assert_true(has);
		assert_memory_equal(p, data, len);
	}
}

void fx_assert_same_payload(const coap_pdu_t *a, const coap_pdu_t *b)
{
	size_t n = 0;
	const uint8_t *p = NULL;
	coap_get_data(b, &n, &p);
	fx_assert_payload(a, p, n);
}

int fx_observe(const coap_pdu_t *pdu)
{
	lpw_pdu_optval_t v;
	if (lpw_pdu_get_options(pdu, COAP_OPTION_OBSERVE, &v, 1) <= 0)
		return -1;
	int n = 0;
	for (size_t i = 0; i < v.len; i++)
		n = (n << 8) | v.value[i];
	return n;
}

const fx_event_t *fx_event(const fx_t *fx, const char *type)
{
	for (size_t i = 0; i < fx->nevents; i++)
		if (strcmp(fx->events[i].type, type) == 0)
			return &fx->events[i];
	return NULL;
}

/* POST /rd?ep=node1&lt=300&lwm2m=1.1&b=U with a link-format object list, as a device sends it. */
coap_pdu_t *fx_register_pdu(coap_pdu_type_t type, uint16_t mid, const uint8_t *tok, size_t toklen)
{
	coap_pdu_t *p = fx_pdu(type, COAP_REQUEST_CODE_POST, mid, tok, toklen);
	fx_add_opt(p, COAP_OPTION_URI_PATH, "rd");
	fx_add_uint_opt(p, COAP_OPTION_CONTENT_FORMAT, FX_CF_LINK_FORMAT);
	fx_add_opt(p, COAP_OPTION_URI_QUERY, "ep=node1");
	fx_add_opt(p, COAP_OPTION_URI_QUERY, "lt=300");
	fx_add_opt(p, COAP_OPTION_URI_QUERY, "lwm2m=1.1");
	fx_add_opt(p, COAP_OPTION_URI_QUERY, "b=U");
	fx_add_payload(p, FX_REG_PAYLOAD);
	return p;
}

/* The server's answer to the request it received as `req` (same token). */
coap_pdu_t *fx_server_answer(const coap_pdu_t *req, coap_pdu_code_t code)
{
	coap_bin_const_t t = coap_pdu_get_token(req);
	return fx_pdu(COAP_MESSAGE_CON, code, 0, t.s, t.length);
}

/* Device registers on plain/a and the server answers 2.01 rd/5. Returns the link. */
lpw_uplink_t *fx_register_plain(fx_t *fx)
{
	const uint8_t tok = 0xAB;
	lpw_uplink_t *a = fx_link_up(fx, FX_DEV_PLAIN, "a");
	coap_pdu_t *reg = fx_register_pdu(COAP_MESSAGE_CON, 0x1234, &tok, 1);
	assert_int_equal(fx_uplink(fx, FX_DEV_PLAIN, reg), 0);
	coap_delete_pdu(reg);
	assert_int_equal(fake_link_nsent(a), 1);
	coap_pdu_t *r = fx_server_answer(fake_link_sent(a, 0), COAP_RESPONSE_CODE_CREATED);
	fx_add_opt(r, COAP_OPTION_LOCATION_PATH, "rd");
	fx_add_opt(r, COAP_OPTION_LOCATION_PATH, "5");
	fake_link_server_response(a, r);
	coap_delete_pdu(r);
	return a;
}
