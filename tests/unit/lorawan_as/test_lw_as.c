/* LwM2M 1.1.1 Appendix C, gateway side, with a fake network server, a fake router and the fake clock:
 * C.3.1.2 and C.3.2.2 (server requests), the answer that misses the RX windows (C.3.1.1/C.3.2.1 step 2),
 * Empty messages, FPort routing, MAX_RETRANSMIT exhaustion. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bindings/lorawan/lw_as.h"
#include "tests/unit/common/test_host.h"

#define ACK_TIMEOUT_MS 300000 /* App. C.2 */
#define WINDOW_MS 1800

struct sent {
	uint8_t fport;
	uint8_t data[64];
	size_t len;
	bool confirmed, more;
};

typedef struct {
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	lpw_config_t cfg;
	lpw_config_device_t dev;
	lpw_config_server_t srv;
	lw_as_t *as;
	lpw_binding_t binding;
	const lw_as_hooks_t *hooks;
	/* fake network server */
	struct sent sent[32];
	int nsent;
	bool ns_pending;
	uint32_t next_handle;
	/* fake router */
	test_host_t th;
	lpw_device_t *h;
} fx_t;

static int ns_send(void *ns, lpw_device_t *dev, uint8_t fport, const uint8_t *data, size_t len,
                   bool confirmed, bool more, uint32_t *out_handle)
{
	fx_t *fx = ns;
	if (fx->ns_pending)
		return -EBUSY;
	struct sent *s = &fx->sent[fx->nsent++];
	s->fport = fport;
	memcpy(s->data, data, len);
	s->len = len;
	s->confirmed = confirmed;
	s->more = more;
	fx->ns_pending = true;
	*out_handle = ++fx->next_handle;
	return 0;
}

static size_t ns_max_payload(void *ns, const lpw_device_t *dev)
{
	return 51; /* EU868 DR0 */
}

static size_t ns_max_payload_ever(void *ns, const lpw_device_t *dev)
{
	return 242;
}

static int ns_device_add(void *ns, lpw_device_t *dev)
{
	return 0;
}

static void ns_device_remove(void *ns, lpw_device_t *dev)
{
}

static void ns_free(void *ns)
{
}

static const lw_ns_ops_t fake_ns_ops = {.send = ns_send,
                                        .max_payload = ns_max_payload,
                                        .max_payload_ever = ns_max_payload_ever,
                                        .device_add = ns_device_add,
                                        .device_remove = ns_device_remove,
                                        .free = ns_free};

static int setup(void **state)
{
	fx_t *fx = calloc(1, sizeof(*fx));
	fx->clock = lpw_clock_new_fake(1000);
	fx->loop = lpw_loop_new(fx->clock);
	fx->srv = (lpw_config_server_t){.name = "lwm2m"};
	fx->dev = (lpw_config_device_t){.id = "lw-1", .binding = LPW_BINDING_LORAWAN, .identity = "0102030405060708",
	                                .nservers = 1};
	fx->dev.servers[0] = &fx->srv;
	fx->dev.lorawan.fport = 1;
	fx->dev.lorawan.bootstrap_fport = 2;
	fx->cfg.devices = &fx->dev;
	fx->cfg.ndevices = 1;
	fx->cfg.lorawan.ack_timeout_s = ACK_TIMEOUT_MS / 1000;
	fx->cfg.lorawan.max_retransmit = 4;
	test_host_init(&fx->th);
	fx->as = lw_as_new(fx->loop, &fx->cfg, &fx->th.host);
	lw_as_attach_ns(fx->as, LPW_LORAWAN_NET_EMBEDDED, (lw_ns_t){&fake_ns_ops, fx});
	fx->hooks = lw_as_hooks(fx->as);
	fx->binding = lw_as_binding(fx->as);
	fx->h = test_host_add(&fx->th, &fx->dev);
	assert_int_equal(fx->binding.ops->device_add(fx->binding.self, fx->h), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fx_t *fx = *state;
	fx->binding.ops->device_remove(fx->binding.self, fx->h);
	fx->binding.ops->free(fx->binding.self);
	test_host_fini(&fx->th);
	lpw_loop_free(fx->loop);
	lpw_clock_free(fx->clock);
	free(fx);
	return 0;
}

static void advance(fx_t *fx, int64_t ms)
{
	lpw_clock_advance(fx->clock, ms);
	lpw_loop_run_once(fx->loop, 0);
}

/* The device sends an uplink on fport; its RX windows stay open WINDOW_MS. */
static void uplink(fx_t *fx, uint8_t fport, const uint8_t *coap, size_t len)
{
	fx->hooks->uplink(fx->hooks->as, fx->h, fport, coap, len, false);
	fx->hooks->rx_open(fx->hooks->as, fx->h, lpw_loop_now(fx->loop) + WINDOW_MS);
}

static const uint8_t empty_con[] = {0x40, 0x00, 0x77, 0x01};

static void empty(fx_t *fx)
{
	uplink(fx, 1, empty_con, sizeof(empty_con));
}

static void tx_result(fx_t *fx, lw_tx_result_t r)
{
	assert_true(fx->ns_pending);
	fx->ns_pending = false;
	fx->hooks->tx_result(fx->hooks->as, fx->h, fx->next_handle, r);
}

/* CON GET /3/0 from the server, MID 0x1234 */
static const uint8_t server_get[] = {0x44, 0x01, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0xb1, '3', 0x01, '0'};
static const uint8_t device_ack[] = {0x64, 0x45, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0xff, 'o', 'k'};

static int as_send(fx_t *fx, int server, const uint8_t *data, size_t len)
{
	lpw_downlink_t dl = {.data = data, .len = len, .server = server};
	return fx->binding.ops->send(fx->binding.self, fx->h, &dl);
}

static void server_request(fx_t *fx)
{
	assert_int_equal(as_send(fx, 0, server_get, sizeof(server_get)), 0);
}

/* C.3.2.2 with every transmission unanswered: 1 + MAX_RETRANSMIT sends, ACK_TIMEOUT apart, then failure. */
static void test_unconfirmed_max_retransmit(void **state)
{
	fx_t *fx = *state;
	server_request(fx);
	assert_int_equal(fx->nsent, 0); /* no RX window yet: it waits */
	for (int i = 1; i <= 5; i++) {
		empty(fx);
		assert_int_equal(fx->th.uplinks, 0); /* an Empty message is never forwarded */
		assert_int_equal(fx->nsent, i);
		assert_memory_equal(fx->sent[i - 1].data, server_get, sizeof(server_get)); /* the same CON, same MID */
		assert_false(fx->sent[i - 1].confirmed);
		tx_result(fx, LW_TX_SENT);
		advance(fx, ACK_TIMEOUT_MS - 1);
		empty(fx);
		assert_int_equal(fx->nsent, i); /* not before ACK_TIMEOUT */
		assert_int_equal(fx->th.failed, 0);
		advance(fx, 1);
	}
	assert_int_equal(fx->th.failed, 1); /* -> 5.04 to the server and an event, by the proxy */
	empty(fx);
	assert_int_equal(fx->nsent, 5);
}

/* The first downlink is lost: the resend after ACK_TIMEOUT is answered, and that ends the exchange. */
static void test_first_downlink_lost(void **state)
{
	fx_t *fx = *state;
	empty(fx);
	server_request(fx);
	assert_int_equal(fx->nsent, 1);
	tx_result(fx, LW_TX_SENT);
	advance(fx, ACK_TIMEOUT_MS);
	empty(fx);
	assert_int_equal(fx->nsent, 2);
	tx_result(fx, LW_TX_SENT);
	uplink(fx, 1, device_ack, sizeof(device_ack));
	assert_int_equal(fx->th.uplinks, 1); /* the ACK goes to the proxy */
	assert_memory_equal(fx->th.last_uplink, device_ack, sizeof(device_ack));
	advance(fx, 10 * ACK_TIMEOUT_MS);
	empty(fx);
	assert_int_equal(fx->nsent, 2);
	assert_int_equal(fx->th.failed, 0);
}

/* The device's ACK is lost: the CON goes again; the device answers its duplicate again (RFC 7252 §4.5). */
static void test_ack_lost(void **state)
{
	fx_t *fx = *state;
	empty(fx);
	server_request(fx);
	tx_result(fx, LW_TX_SENT);
	/* the device's ACK uplink never arrives */
	advance(fx, ACK_TIMEOUT_MS);
	assert_int_equal(fx->nsent, 1);
	empty(fx);
	assert_int_equal(fx->nsent, 2);
	tx_result(fx, LW_TX_SENT);
	uplink(fx, 1, device_ack, sizeof(device_ack));
	advance(fx, ACK_TIMEOUT_MS);
	assert_int_equal(fx->th.failed, 0);
	assert_int_equal(fx->th.uplinks, 1);
}

/* C.3.1.2: with confirmed downlinks the network's report decides; ACK_TIMEOUT runs only once delivered. */
static void test_confirmed_downlinks(void **state)
{
	fx_t *fx = *state;
	fx->dev.lorawan.confirmed_downlinks = true;
	empty(fx);
	server_request(fx);
	assert_true(fx->sent[0].confirmed);
	tx_result(fx, LW_TX_SENT);
	advance(fx, 2 * ACK_TIMEOUT_MS); /* no LoRaWAN ACK yet: nothing is resent by CoAP */
	empty(fx);
	assert_int_equal(fx->nsent, 1);
	fx->hooks->tx_result(fx->hooks->as, fx->h, fx->next_handle, LW_TX_FAILED); /* not acknowledged */
	empty(fx);
	assert_int_equal(fx->nsent, 2); /* sending failed: again in the next window */
	tx_result(fx, LW_TX_SENT);
	fx->hooks->tx_result(fx->hooks->as, fx->h, fx->next_handle, LW_TX_ACKED);
	uplink(fx, 1, device_ack, sizeof(device_ack));
	advance(fx, 2 * ACK_TIMEOUT_MS);
	empty(fx);
	assert_int_equal(fx->nsent, 2);
	assert_int_equal(fx->th.failed, 0);
}

/* The server's answer to a device request misses RX1 and RX2: it goes in the window the device opens next. */
static void test_answer_misses_windows(void **state)
{
	fx_t *fx = *state;
	const uint8_t reg[] = {0x44, 0x02, 0x00, 0x10, 1, 2, 3, 4, 0xb2, 'r', 'd'};
	const uint8_t created[] = {0x64, 0x41, 0x00, 0x10, 1, 2, 3, 4, 0x82, 'r', 'd', 0x01, '5'};
	uplink(fx, 1, reg, sizeof(reg));
	assert_int_equal(fx->th.uplinks, 1);
	assert_int_equal(fx->th.last_server, 0);
	advance(fx, WINDOW_MS + 1); /* RX1 and RX2 are gone */
	assert_int_equal(as_send(fx, 0, created, sizeof(created)), 0);
	assert_int_equal(fx->nsent, 0);
	/* the device repeats its CON (C.3.2.1 step 3); the proxy answers it from its cache: same bytes again */
	uplink(fx, 1, reg, sizeof(reg));
	assert_int_equal(as_send(fx, 0, created, sizeof(created)), 0);
	assert_int_equal(fx->nsent, 1);
	assert_memory_equal(fx->sent[0].data, created, sizeof(created));
	assert_int_equal(fx->sent[0].fport, 1);
	tx_result(fx, LW_TX_SENT);
	empty(fx);
	assert_int_equal(fx->nsent, 1); /* sent once only */
}

/* An answer that waits is carried by the Empty message's windows (C.3.1.1 step 2). */
static void test_answer_in_empty_window(void **state)
{
	fx_t *fx = *state;
	const uint8_t created[] = {0x64, 0x41, 0x00, 0x10, 1, 2, 3, 4};
	assert_int_equal(as_send(fx, 0, created, sizeof(created)), 0);
	assert_int_equal(fx->nsent, 0);
	empty(fx);
	assert_int_equal(fx->nsent, 1);
	assert_int_equal(fx->th.uplinks, 0);
}

/* One downlink per window, the device's answer first; FPending says more waits. */
static void test_answer_before_server_con(void **state)
{
	fx_t *fx = *state;
	const uint8_t ack[] = {0x60, 0x44, 0x00, 0x11};
	server_request(fx);
	assert_int_equal(as_send(fx, 0, ack, sizeof(ack)), 0);
	empty(fx);
	assert_int_equal(fx->nsent, 1);
	assert_memory_equal(fx->sent[0].data, ack, sizeof(ack));
	assert_true(fx->sent[0].more);
	tx_result(fx, LW_TX_SENT);
	assert_int_equal(fx->nsent, 2); /* window still open in this fake: the CON follows */
	assert_memory_equal(fx->sent[1].data, server_get, sizeof(server_get));
}

/* lorawan://{FPort}: the FPort names the LwM2M server or the bootstrap server; others are dropped. */
static void test_fport_routing(void **state)
{
	fx_t *fx = *state;
	const uint8_t bs[] = {0x44, 0x02, 0x00, 0x20, 9, 9, 9, 9, 0xb2, 'b', 's'};
	uplink(fx, 2, bs, sizeof(bs));
	assert_int_equal(fx->th.last_server, LPW_SERVER_BOOTSTRAP);
	uplink(fx, 1, bs, sizeof(bs));
	assert_int_equal(fx->th.last_server, 0);
	uplink(fx, 9, bs, sizeof(bs));
	assert_int_equal(fx->th.uplinks, 2);
	/* an answer for the bootstrap server's exchange leaves on its FPort */
	const uint8_t changed[] = {0x64, 0x44, 0x00, 0x20, 9, 9, 9, 9};
	assert_int_equal(as_send(fx, LPW_SERVER_BOOTSTRAP, changed, sizeof(changed)),
	                 0);
	assert_int_equal(fx->sent[0].fport, 2);
	assert_true(fx->th.reachable >= 3); /* each uplink opened windows for queued server requests */
}

/* The network server holds a confirmed uplink's ACK only while an answer may come: after a request the proxy
 * answers (CON, NON request), not after an Empty message, an ACK or a NON response. */
static void test_answer_may_follow(void **state)
{
	fx_t *fx = *state;
	const uint8_t con_get[] = {0x44, 0x01, 0x00, 0x21, 9, 9, 9, 9, 0xb1, 'x'};
	const uint8_t non_post[] = {0x54, 0x02, 0x00, 0x22, 9, 9, 9, 9, 0xb1, 'x'};
	const uint8_t non_notify[] = {0x54, 0x45, 0x00, 0x23, 9, 9, 9, 9};
	const uint8_t ack[] = {0x60, 0x00, 0x00, 0x24};
	assert_true(fx->hooks->uplink(fx->hooks->as, fx->h, 1, con_get, sizeof(con_get), true));
	assert_true(fx->hooks->uplink(fx->hooks->as, fx->h, 1, non_post, sizeof(non_post), true));
	assert_false(fx->hooks->uplink(fx->hooks->as, fx->h, 1, non_notify, sizeof(non_notify), true));
	assert_false(fx->hooks->uplink(fx->hooks->as, fx->h, 1, ack, sizeof(ack), true));
	assert_false(fx->hooks->uplink(fx->hooks->as, fx->h, 1, empty_con, sizeof(empty_con), true));
	assert_false(fx->hooks->uplink(fx->hooks->as, fx->h, 9, con_get, sizeof(con_get), true)); /* no server */
}

/* Never truncated: what exceeds the data rate's payload is refused. */
static void test_too_large(void **state)
{
	fx_t *fx = *state;
	uint8_t big[60] = {0x64, 0x45, 0, 1};
	assert_int_equal(as_send(fx, 0, big, sizeof(big)), -EMSGSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unconfirmed_max_retransmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_downlink_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirmed_downlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_misses_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_in_empty_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_before_server_con, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fport_routing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_may_follow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
