/* The binding contract end to end without sockets: a fake binding started through a registry of rows, the router
 * and the device table, the real proxy on the fake upstream. The fake binding's traits alone decide sizes,
 * registration defaults and retransmission; nothing in the proxy knows which binding it is. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"
#include "gateway/router.h"
#include "proxy/coap_codec.h"
#include "proxy/proxy.h"
#include "tests/unit/proxy/fake_upstream.h"

#define FAKE_KIND LPW_BINDING_NIDD_T8 /* any kind: the fake stands in for a binding the proxy never names */

struct fake {
	const lpw_binding_host_t *host;
	lpw_binding_traits_t traits;
	uint8_t sent[2048];
	size_t sent_len, nsent, last_queued;
	int adds, removes, updates;
};

static struct fake *the_fake;
static int creates_of_disabled;

static int fake_send(void *self, lpw_device_t *dev, const lpw_downlink_t *dl)
{
	struct fake *f = self;
	assert_non_null(lpw_device_slot(dev, LPW_SLOT_BINDING)); /* only devices it was given */
	memcpy(f->sent, dl->data, dl->len);
	f->sent_len = dl->len;
	f->last_queued = dl->queued;
	f->nsent++;
	return 0;
}

static void fake_traits(void *self, const lpw_device_t *dev, lpw_binding_traits_t *out)
{
	*out = ((struct fake *)self)->traits;
}

static int fake_add(void *self, lpw_device_t *dev)
{
	((struct fake *)self)->adds++;
	lpw_device_set_slot(dev, LPW_SLOT_BINDING, self);
	return 0;
}

static void fake_remove(void *self, lpw_device_t *dev)
{
	((struct fake *)self)->removes++;
	lpw_device_set_slot(dev, LPW_SLOT_BINDING, NULL);
}

static void fake_update(void *self, lpw_device_t *dev, const lpw_config_device_t *old)
{
	((struct fake *)self)->updates++;
}

static int fake_reconfigure(void *self, const lpw_config_t *cfg, FILE *report)
{
	fprintf(report, "fake: listen address needs a restart\n");
	return 1;
}

static void fake_free(void *self)
{
	free(self);
	the_fake = NULL;
}

static const lpw_binding_ops_t fake_ops = {
	.send = fake_send, .traits = fake_traits, .device_add = fake_add, .device_update = fake_update,
	.device_remove = fake_remove, .reconfigure = fake_reconfigure, .free = fake_free,
};

static bool on(const lpw_config_t *cfg)
{
	return true;
}

static bool off(const lpw_config_t *cfg)
{
	return false;
}

static int fake_create(const lpw_binding_env_t *env, lpw_binding_t *out)
{
	struct fake *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->host = env->host;
	f->traits = (lpw_binding_traits_t){.max_message_size_now = 64, .max_message_size = 300,
	                                   .registration_defaults = true, .default_objects = "</3/0>"};
	the_fake = f;
	*out = (lpw_binding_t){&fake_ops, f};
	return 0;
}

static int never_create(const lpw_binding_env_t *env, lpw_binding_t *out)
{
	creates_of_disabled++;
	return -EIO;
}

static int failing_create(const lpw_binding_env_t *env, lpw_binding_t *out)
{
	return -EADDRINUSE;
}

static const lpw_binding_desc_t rows[] = {
	{FAKE_KIND, "fake", on, fake_create},
	{LPW_BINDING_SMS, "off", off, never_create},
};

typedef struct {
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	lpw_config_server_t srv;
	lpw_config_device_t devcfg, other;
	lpw_config_t cfg;
	lpw_stats_t stats;
	lpw_devtab_t *tab;
	lpw_router_t *router;
	lpw_proxy_t *px;
	lpw_proxy_hooks_t hooks;
	lpw_binding_env_t env;
	lpw_device_t *dev, *stranger;
} fx_t;

static int setup(void **state)
{
	fx_t *fx = calloc(1, sizeof(*fx));
	fx->clock = lpw_clock_new_fake(1000);
	fx->loop = lpw_loop_new(fx->clock);
	fx->srv = (lpw_config_server_t){.name = "s", .host = "127.0.0.1", .uri = "coap+tcp://127.0.0.1", .port = 5683};
	fx->devcfg = (lpw_config_device_t){.id = "d1", .binding = FAKE_KIND, .identity = "12345",
	                                   .endpoint = "fake-ep", .nservers = 1};
	fx->devcfg.servers[0] = &fx->srv;
	/* a device of a binding that does not run */
	fx->other = (lpw_config_device_t){.id = "d2", .binding = LPW_BINDING_SMS, .identity = "999", .nservers = 1};
	fx->other.servers[0] = &fx->srv;
	fx->cfg.upstream = (lpw_config_upstream_t){.reconnect_min_s = 1, .reconnect_max_s = 60, .queue_max = 8,
	                                           .queue_timeout_s = 600};
	fx->tab = lpw_devtab_new();
	fx->router = lpw_router_new(fx->tab, &fx->stats, NULL);
	fx->hooks = (lpw_proxy_hooks_t){0};
	fx->px = lpw_proxy_new(fx->loop, &fx->cfg, &fx->stats, &fx->hooks, lpw_router_southbound(fx->router), NULL);
	assert_non_null(fx->px);
	lpw_router_set_northbound(fx->router, lpw_proxy_northbound(fx->px));
	fx->env = (lpw_binding_env_t){fx->loop, &fx->cfg, NULL, &fx->stats, lpw_router_host(fx->router)};
	assert_int_equal(lpw_router_start_bindings(fx->router, rows, 2, &fx->env), 0);
	assert_int_equal(lpw_devtab_add(fx->tab, &fx->devcfg, &fx->dev), 0);
	assert_int_equal(lpw_router_device_add(fx->router, fx->dev), 0);
	assert_int_equal(lpw_proxy_device_add(fx->px, fx->dev), 0);
	assert_int_equal(lpw_devtab_add(fx->tab, &fx->other, &fx->stranger), 0);
	assert_int_equal(lpw_router_device_add(fx->router, fx->stranger), 0); /* no binding: nothing to do */
	assert_int_equal(lpw_proxy_device_add(fx->px, fx->stranger), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fx_t *fx = *state;
	lpw_proxy_device_remove(fx->px, fx->dev, false);
	lpw_router_device_remove(fx->router, fx->dev);
	lpw_proxy_device_remove(fx->px, fx->stranger, false);
	lpw_proxy_free(fx->px);
	lpw_router_free(fx->router);
	lpw_devtab_free(fx->tab);
	lpw_loop_free(fx->loop);
	lpw_clock_free(fx->clock);
	free(fx);
	assert_int_equal(fake_link_count(), 0);
	return 0;
}

static void test_rows_started(void **state)
{
	fx_t *fx = *state;
	assert_true(lpw_router_running(fx->router, FAKE_KIND));
	assert_false(lpw_router_running(fx->router, LPW_BINDING_SMS));
	assert_int_equal(creates_of_disabled, 0);
	assert_int_equal(the_fake->adds, 1);
	/* a row whose create fails stops the start, with its errno */
	const lpw_binding_desc_t bad[] = {{LPW_BINDING_LORAWAN, "bad", on, failing_create}};
	assert_int_equal(lpw_router_start_bindings(fx->router, bad, 1, &fx->env), -EADDRINUSE);
	/* a kind can run once */
	assert_int_equal(lpw_router_start_bindings(fx->router, rows, 1, &fx->env), -EEXIST);
}

/* CON POST /rd without parameters, MID 0x1001, token AA */
static const uint8_t bare_register[] = {0x41, 0x02, 0x10, 0x01, 0xAA, 0xB2, 'r', 'd'};

static bool has_query(const coap_pdu_t *pdu, const char *want)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	coap_option_iterator_init(pdu, &it, COAP_OPT_ALL);
	while ((opt = coap_option_next(&it)))
		if (it.number == COAP_OPTION_URI_QUERY && coap_opt_length(opt) == strlen(want) &&
		    memcmp(coap_opt_value(opt), want, strlen(want)) == 0)
			return true;
	return false;
}

/* The binding's uplink reaches the server with the defaults its traits asked for; the answer comes back to the
 * binding as the piggybacked ACK, through the router's southbound. */
static void test_uplink_and_answer(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *link = fake_link("d1", "s");
	assert_non_null(link);
	fake_link_set_state(link, LPW_LINK_UP, 0, NULL);
	const lpw_binding_host_t *h = the_fake->host;
	assert_ptr_equal(h->find(h->ctx, FAKE_KIND, "12345"), fx->dev);
	h->uplink(h->ctx, fx->dev, LPW_SERVER_ANY, bare_register, sizeof(bare_register));
	assert_int_equal(fake_link_nsent(link), 1);
	const coap_pdu_t *up = fake_link_sent(link, 0);
	assert_true(has_query(up, "ep=fake-ep"));
	assert_true(has_query(up, "lt=2592000"));
	size_t plen;
	const uint8_t *payload;
	assert_true(coap_get_data(up, &plen, &payload));
	assert_int_equal(plen, 6);
	assert_memory_equal(payload, "</3/0>", 6);
	assert_true(lpw_device_last_seen(fx->dev) > 0);

	coap_pdu_t *r = coap_pdu_init(COAP_MESSAGE_CON, COAP_RESPONSE_CODE_CREATED, 0, 128);
	coap_bin_const_t tok = coap_pdu_get_token(up);
	assert_true(coap_add_token(r, tok.length, tok.s));
	assert_true(coap_add_option(r, COAP_OPTION_LOCATION_PATH, 2, (const uint8_t *)"rd"));
	fake_link_server_response(link, r);
	coap_delete_pdu(r);
	assert_int_equal(the_fake->nsent, 1);
	const uint8_t ack_head[] = {0x61, 0x41, 0x10, 0x01, 0xAA}; /* ACK 2.01, the device's MID and token */
	assert_memory_equal(the_fake->sent, ack_head, sizeof(ack_head));
}

/* A server request above the traits' size now is refused 4.13 with Size1 = that size; a small one reaches the
 * binding, without retransmission by the proxy (the traits say so). */
static void test_sizes_from_traits(void **state)
{
	fx_t *fx = *state;
	lpw_uplink_t *link = fake_link("d1", "s");
	fake_link_set_state(link, LPW_LINK_UP, 0, NULL);
	lpw_proxy_reachable(fx->px, fx->dev, 60000);
	coap_pdu_t *big = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_PUT, 0, 512);
	assert_true(coap_add_token(big, 2, (const uint8_t *)"\x01\x02"));
	uint8_t value[100];
	memset(value, 'x', sizeof(value));
	assert_true(coap_add_data(big, sizeof(value), value));
	fake_link_server_request(link, big);
	coap_delete_pdu(big);
	assert_int_equal(the_fake->nsent, 0);
	assert_int_equal(fake_link_nsent(link), 1);
	const coap_pdu_t *ans = fake_link_sent(link, 0);
	assert_int_equal(coap_pdu_get_code(ans), COAP_RESPONSE_CODE(413));
	coap_opt_iterator_t it;
	coap_opt_t *size1 = coap_check_option(ans, COAP_OPTION_SIZE1, &it);
	assert_non_null(size1);
	assert_int_equal(coap_decode_var_bytes(coap_opt_value(size1), coap_opt_length(size1)), 64);

	coap_pdu_t *get = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, 0, 64);
	assert_true(coap_add_token(get, 2, (const uint8_t *)"\x03\x04"));
	assert_true(coap_add_option(get, COAP_OPTION_URI_PATH, 1, (const uint8_t *)"3"));
	fake_link_server_request(link, get);
	coap_delete_pdu(get);
	assert_int_equal(the_fake->nsent, 1);
	assert_int_equal((the_fake->sent[0] >> 4) & 3, COAP_MESSAGE_CON);
	lpw_clock_advance(fx->clock, 10000);
	lpw_loop_run_once(fx->loop, 0);
	assert_int_equal(the_fake->nsent, 1); /* proxy_retransmits is false */
}

/* Downlinks to a device whose binding does not run are refused, and counted nowhere else. */
static void test_binding_not_running(void **state)
{
	fx_t *fx = *state;
	const lpw_southbound_t *south = lpw_router_southbound(fx->router);
	lpw_downlink_t dl = {.data = bare_register, .len = sizeof(bare_register)};
	assert_int_equal(south->send(south->ctx, fx->stranger, &dl), -ENODEV);
	lpw_binding_traits_t t;
	south->traits(south->ctx, fx->stranger, &t);
	assert_int_equal(t.max_message_size, 0);
	assert_int_equal(south->send(south->ctx, fx->dev, &dl), 0);
}

static void test_reconfigure_and_keys(void **state)
{
	fx_t *fx = *state;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_int_equal(lpw_router_reconfigure(fx->router, &fx->cfg, out), 1);
	fclose(out);
	assert_non_null(strstr(text, "fake: listen address needs a restart"));
	free(text);
	const lpw_binding_host_t *h = the_fake->host;
	assert_int_equal(h->set_key(h->ctx, fx->dev, "k", 1), 0);
	assert_ptr_equal(h->find_key(h->ctx, FAKE_KIND, "k", 1), fx->dev);
	assert_null(h->find_key(h->ctx, LPW_BINDING_SMS, "k", 1));
	h->dropped(h->ctx, FAKE_KIND);
	assert_int_equal(fx->stats.dropped_unknown_device, 1);
	lpw_router_device_update(fx->router, fx->dev, &fx->devcfg);
	assert_int_equal(the_fake->updates, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rows_started, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uplink_and_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sizes_from_traits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binding_not_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconfigure_and_keys, setup, teardown),
	};
	coap_startup();
	coap_set_log_level(LOG_EMERG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
