/* The ChirpStack network server (bindings/lorawan/lw_ns_chirpstack.c) under the real application server (LwM2M
 * Appendix C), against a real mosquitto broker: an observer client plays ChirpStack's side of the topics. Events
 * go in through the broker or, for the exchanges, straight into the network server's input; downlink commands
 * are read off the broker. ACK_TIMEOUT is 1 s so that the retransmissions happen within the test. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <jansson.h>

#include "bindings/lorawan/lw_as.h"
#include "bindings/lorawan/lw_ns_chirpstack.h"
#include "core/mqtt.h"
#include "tests/unit/common/test_broker.h"
#include "tests/unit/common/test_host.h"
#include "tests/unit/common/test_tmpdir.h"

#define APP "8e5a4f0c-1c2b-4d3e-9f60-0a1b2c3d4e5f"
#define EUI "0102030405060708"
#define BASE "application/" APP "/device/" EUI "/"
#define MAX_CMDS 16

/* CON GET /3/0 from the server (MID 0x1234) and the device's piggybacked answer */
static const uint8_t server_get[] = {0x44, 0x01, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0xb1, '3', 0x01, '0'};
#define SERVER_GET_B64 "RAESNN6tvu+xMwEw"
#define DEVICE_ACK_B64 "ZEUSNN6tvu//b2s="
#define EMPTY_NON_B64 "UAB3AQ==" /* NON Empty message: opens the RX windows (App. C.3.1.1 step 2) */

typedef struct {
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	char dir[64];
	uint16_t port;
	pid_t broker;
	lpw_config_t cfg;
	lpw_config_device_t dev;
	lpw_config_server_t srv;
	lpw_stats_t stats;
	test_host_t th;
	lpw_binding_env_t env;
	lw_as_t *as;
	lpw_binding_t binding;
	lw_ns_t ns;
	lpw_device_t *h;
	lpw_mqtt_t *obs; /* ChirpStack's side */
	int obs_connected;
	json_t *cmds[MAX_CMDS];
	int ncmds;
} fx_t;

static void obs_connected(void *arg)
{
	((fx_t *)arg)->obs_connected++;
}

static void obs_message(void *arg, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
	fx_t *fx = arg;
	assert_string_equal(topic, BASE "command/down");
	assert_int_equal(qos, 1);
	assert_true(fx->ncmds < MAX_CMDS);
	fx->cmds[fx->ncmds] = json_loadb(payload, len, 0, NULL);
	assert_non_null(fx->cmds[fx->ncmds]);
	fx->ncmds++;
}

static bool pump_until(fx_t *fx, int ms, bool (*pred)(fx_t *))
{
	int64_t end = tb_now_ms() + ms;
	while (!pred(fx) && tb_now_ms() < end)
		assert_true(lpw_loop_run_once(fx->loop, 10) >= 0);
	return pred(fx);
}

static void pump_for(fx_t *fx, int ms)
{
	int64_t end = tb_now_ms() + ms;
	while (tb_now_ms() < end)
		assert_true(lpw_loop_run_once(fx->loop, 10) >= 0);
}

static bool both_up(fx_t *fx)
{
	return fx->obs_connected > 0 && lpw_mqtt_connected(fx->obs) && lw_ns_chirpstack_connected(&fx->ns);
}

static int setup(void **state)
{
	fx_t *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/lpw-cs-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	chmod(fx->dir, 0755);
	fx->port = tb_free_port();
	fx->broker = tb_broker_start(fx->dir, fx->port, NULL);
	fx->clock = lpw_clock_new_real();
	fx->loop = lpw_loop_new(fx->clock);
	fx->srv = (lpw_config_server_t){.name = "lwm2m"};
	fx->dev = (lpw_config_device_t){.id = "cs-1", .binding = LPW_BINDING_LORAWAN, .identity = EUI, .nservers = 1};
	fx->dev.servers[0] = &fx->srv;
	fx->dev.lorawan = (lpw_config_lorawan_device_t){.network = LPW_LORAWAN_NET_CHIRPSTACK, .fport = 1,
	                                                .bootstrap_fport = 2};
	fx->cfg.gateway_id = "gw-test";
	fx->cfg.devices = &fx->dev;
	fx->cfg.ndevices = 1;
	fx->cfg.lorawan.ack_timeout_s = 1;
	fx->cfg.lorawan.max_retransmit = 2;
	fx->cfg.lorawan.chirpstack = (lpw_config_chirpstack_t){
		.enabled = true, .host = "127.0.0.1", .port = fx->port, .application_id = APP,
		.topic_prefix = "application", .region = LPW_REGION_EU868, .keepalive_s = 5, .reconnect_min_s = 1,
		.reconnect_max_s = 1, .downlink_window_s = 60};
	test_host_init(&fx->th);
	fx->env = (lpw_binding_env_t){.loop = fx->loop, .cfg = &fx->cfg, .stats = &fx->stats, .host = &fx->th.host};
	fx->as = lw_as_new(fx->loop, &fx->cfg, &fx->th.host);
	assert_int_equal(lw_ns_chirpstack_new(&fx->env, lw_as_hooks(fx->as), &fx->ns), 0);
	lw_as_attach_ns(fx->as, LPW_LORAWAN_NET_CHIRPSTACK, fx->ns);
	fx->binding = lw_as_binding(fx->as);
	fx->h = test_host_add(&fx->th, &fx->dev);
	assert_int_equal(fx->binding.ops->device_add(fx->binding.self, fx->h), 0);
	lpw_mqtt_config_t oc = {.name = "chirpstack-side", .host = "127.0.0.1", .port = fx->port,
	                        .client_id = "chirpstack-side", .keepalive_s = 5, .reconnect_min_ms = 100,
	                        .reconnect_max_ms = 200};
	lpw_mqtt_hooks_t oh = {.connected = obs_connected, .message = obs_message, .arg = fx};
	fx->obs = lpw_mqtt_new(fx->loop, &oc, &oh);
	assert_non_null(fx->obs);
	assert_int_equal(lpw_mqtt_subscribe(fx->obs, "application/+/device/+/command/+", 1), 0);
	assert_true(pump_until(fx, 5000, both_up));
	pump_for(fx, 200); /* the SUBACKs */
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fx_t *fx = *state;
	fx->binding.ops->device_remove(fx->binding.self, fx->h);
	fx->binding.ops->free(fx->binding.self);
	lpw_mqtt_free(fx->obs);
	for (int i = 0; i < fx->ncmds; i++)
		json_decref(fx->cmds[i]);
	test_host_fini(&fx->th);
	lpw_loop_free(fx->loop);
	lpw_clock_free(fx->clock);
	tb_broker_stop(&fx->broker, SIGTERM);
	lpw_test_rmtree(fx->dir);
	free(fx);
	return 0;
}

static void event(fx_t *fx, const char *kind, const char *fields)
{
	char topic[256], body[1024];
	snprintf(topic, sizeof(topic), BASE "event/%s", kind);
	int n = snprintf(body, sizeof(body), "{\"deviceInfo\":{\"applicationId\":\"" APP "\",\"devEui\":\"" EUI
	                                     "\",\"deviceName\":\"cs-1\"}%s%s}", fields[0] ? "," : "", fields);
	lw_ns_chirpstack_input(&fx->ns, topic, body, (size_t)n, false);
}

static void uplink(fx_t *fx, const char *b64)
{
	char f[256];
	snprintf(f, sizeof(f), "\"dr\":5,\"fCnt\":1,\"fPort\":1,\"data\":\"%s\",\"txInfo\":{\"frequency\":868100000}", b64);
	event(fx, "up", f);
}

static const char *cmd_str(fx_t *fx, int i, const char *key)
{
	return json_string_value(json_object_get(fx->cmds[i], key));
}

static void queue_event(fx_t *fx, const char *kind, int cmd, const char *extra)
{
	char f[256];
	snprintf(f, sizeof(f), "\"queueItemId\":\"%s\",\"fCntDown\":3%s%s", cmd_str(fx, cmd, "id"), extra[0] ? "," : "",
	         extra);
	event(fx, kind, f);
}

static int want;
static bool have_cmds(fx_t *fx)
{
	return fx->ncmds >= want;
}

static void wait_cmds(fx_t *fx, int n)
{
	want = n;
	assert_true(pump_until(fx, 3000, have_cmds));
	assert_int_equal(fx->ncmds, n);
}

static int server_request(fx_t *fx)
{
	lpw_downlink_t dl = {.data = server_get, .len = sizeof(server_get), .server = 0};
	return fx->binding.ops->send(fx->binding.self, fx->h, &dl);
}

static bool got_uplink(fx_t *fx)
{
	return fx->th.uplinks > 0;
}

/* An up event published on the broker reaches the application server: the device's CoAP bytes go to the router,
 * and the RX windows open (reachable). */
static void test_uplink_through_broker(void **state)
{
	fx_t *fx = *state;
	const char body[] = "{\"deviceInfo\":{\"devEui\":\"" EUI "\"},\"dr\":5,\"fPort\":1,\"fCnt\":2,\"data\":\""
	                    DEVICE_ACK_B64 "\"}";
	int mid;
	assert_int_equal(lpw_mqtt_publish(fx->obs, BASE "event/up", body, sizeof(body) - 1, 1, false, &mid), 0);
	assert_true(pump_until(fx, 3000, got_uplink));
	assert_int_equal(fx->th.last_uplink_len, 11);
	assert_memory_equal(fx->th.last_uplink, "\x64\x45\x12\x34\xde\xad\xbe\xef\xff" "ok", 11);
	assert_true(fx->th.reachable >= 1);
	lw_ns_cs_counters_t c;
	lw_ns_chirpstack_get_counters(&fx->ns, &c);
	assert_int_equal(c.uplinks, 1);
}

/* App. C.3.2.2 over ChirpStack: the CON goes as an unconfirmed command/down; txack starts ACK_TIMEOUT; without the
 * CoAP ACK it is sent again (a new queue item, the same CoAP message); the device's ACK ends the exchange. */
static void test_unconfirmed_retry(void **state)
{
	fx_t *fx = *state;
	uplink(fx, EMPTY_NON_B64);
	assert_int_equal(fx->th.uplinks, 0); /* an Empty message only opens the windows */
	assert_int_equal(server_request(fx), 0);
	wait_cmds(fx, 1);
	assert_string_equal(cmd_str(fx, 0, "devEui"), "0102030405060708");
	assert_string_equal(cmd_str(fx, 0, "data"), SERVER_GET_B64);
	assert_int_equal(json_integer_value(json_object_get(fx->cmds[0], "fPort")), 1);
	assert_true(json_is_false(json_object_get(fx->cmds[0], "confirmed")));
	assert_int_equal(strlen(cmd_str(fx, 0, "id")), 36);
	queue_event(fx, "txack", 0, "");
	pump_for(fx, 500);
	assert_int_equal(fx->ncmds, 1); /* not before ACK_TIMEOUT */
	wait_cmds(fx, 2);               /* ACK_TIMEOUT (1 s): sent again */
	assert_string_equal(cmd_str(fx, 1, "data"), SERVER_GET_B64);
	assert_string_not_equal(cmd_str(fx, 1, "id"), cmd_str(fx, 0, "id"));
	queue_event(fx, "txack", 1, "");
	uplink(fx, DEVICE_ACK_B64);
	assert_int_equal(fx->th.uplinks, 1);
	pump_for(fx, 2500);
	assert_int_equal(fx->ncmds, 2); /* over */
	assert_int_equal(fx->th.failed, 0);
}

/* App. C.3.1.2 over ChirpStack: with confirmed downlinks ChirpStack's ack decides. acknowledged false = the
 * sending failed: sent again at once (the windows are open); acknowledged true: ACK_TIMEOUT for the CoAP ACK. */
static void test_confirmed_nack_retry(void **state)
{
	fx_t *fx = *state;
	fx->dev.lorawan.confirmed_downlinks = true;
	uplink(fx, EMPTY_NON_B64);
	assert_int_equal(server_request(fx), 0);
	wait_cmds(fx, 1);
	assert_true(json_is_true(json_object_get(fx->cmds[0], "confirmed")));
	queue_event(fx, "txack", 0, "");
	pump_for(fx, 1500);
	assert_int_equal(fx->ncmds, 1); /* no CoAP timer while the LoRaWAN ACK is awaited */
	queue_event(fx, "ack", 0, "\"acknowledged\":false");
	wait_cmds(fx, 2);
	assert_string_equal(cmd_str(fx, 1, "data"), SERVER_GET_B64);
	queue_event(fx, "txack", 1, "");
	queue_event(fx, "ack", 1, "\"acknowledged\":true");
	lw_ns_cs_counters_t c;
	lw_ns_chirpstack_get_counters(&fx->ns, &c);
	assert_int_equal(c.nacks, 1);
	assert_int_equal(c.acks, 1);
	uplink(fx, DEVICE_ACK_B64);
	pump_for(fx, 1500);
	assert_int_equal(fx->ncmds, 2);
	assert_int_equal(fx->th.failed, 0);
}

/* Every transmission fails (ack false): after 1 + MAX_RETRANSMIT the server gets its failure (5.04). */
static void test_confirmed_gives_up(void **state)
{
	fx_t *fx = *state;
	fx->dev.lorawan.confirmed_downlinks = true;
	uplink(fx, EMPTY_NON_B64);
	assert_int_equal(server_request(fx), 0);
	for (int i = 0; i < 3; i++) {
		wait_cmds(fx, i + 1);
		queue_event(fx, "ack", i, "\"acknowledged\":false");
	}
	pump_for(fx, 300);
	assert_int_equal(fx->ncmds, 3);
	assert_int_equal(fx->th.failed, 1);
}

/* A downlink ChirpStack refuses (log ERROR DOWNLINK_PAYLOAD_SIZE naming it) failed: sent again. An ack of another
 * queue item is not ours. */
static void test_log_failure_and_unmatched(void **state)
{
	fx_t *fx = *state;
	uplink(fx, EMPTY_NON_B64);
	assert_int_equal(server_request(fx), 0);
	wait_cmds(fx, 1);
	event(fx, "ack", "\"queueItemId\":\"00000000-0000-4000-8000-000000000000\",\"acknowledged\":true");
	char f[300];
	snprintf(f, sizeof(f), "\"level\":\"ERROR\",\"code\":\"DOWNLINK_PAYLOAD_SIZE\",\"description\":\"too big\","
	                       "\"context\":{\"queue_item_id\":\"%s\"}", cmd_str(fx, 0, "id"));
	event(fx, "log", f);
	wait_cmds(fx, 2);
	lw_ns_cs_counters_t c;
	lw_ns_chirpstack_get_counters(&fx->ns, &c);
	assert_int_equal(c.failures, 1);
	assert_true(c.unmatched >= 1);
}

static bool ns_down(fx_t *fx)
{
	return !lw_ns_chirpstack_connected(&fx->ns);
}

/* The broker goes away: a server request accepted meanwhile is published once the connection is back. */
static void test_broker_restart(void **state)
{
	fx_t *fx = *state;
	tb_broker_stop(&fx->broker, SIGTERM);
	assert_true(pump_until(fx, 3000, ns_down));
	uplink(fx, EMPTY_NON_B64);
	assert_int_equal(server_request(fx), 0);
	lw_ns_cs_counters_t c;
	lw_ns_chirpstack_get_counters(&fx->ns, &c);
	assert_int_equal(c.deferred, 1);
	fx->broker = tb_broker_start(fx->dir, fx->port, NULL);
	assert_true(pump_until(fx, 8000, both_up));
	wait_cmds(fx, 1);
	assert_string_equal(cmd_str(fx, 0, "data"), SERVER_GET_B64);
}

/* Bad topics and bodies are counted and dropped with a reason; an unknown DevEUI goes to the host's dropped;
 * retained state messages are ignored; a join voids the queued downlink, which then goes again. */
static void test_malformed_unknown_join(void **state)
{
	fx_t *fx = *state;
	lw_ns_chirpstack_input(&fx->ns, "application/" APP "/device/xyz/event/up", "{}", 2, false);
	lw_ns_chirpstack_input(&fx->ns, BASE "event/up", "{not json", 9, false);
	lw_ns_chirpstack_input(&fx->ns, BASE "event/up", "{\"deviceInfo\":{\"devEui\":\"0102030405060709\"}}", 44, false);
	const char other[] = "{\"deviceInfo\":{\"devEui\":\"1102030405060708\"},\"fPort\":1,\"data\":\"AQ==\"}";
	lw_ns_chirpstack_input(&fx->ns, "application/" APP "/device/1102030405060708/event/up", other, sizeof(other) - 1,
	                       false);
	lw_ns_chirpstack_input(&fx->ns, BASE "event/location", "{}", 2, false); /* not ours: ignored */
	lw_ns_chirpstack_input(&fx->ns, BASE "state/join", "{\"deviceInfo\":{\"devEui\":\"" EUI "\"}}", 39, true);
	lw_ns_cs_counters_t c;
	lw_ns_chirpstack_get_counters(&fx->ns, &c);
	assert_int_equal(c.malformed, 3);
	assert_int_equal(fx->stats.dropped_malformed, 3);
	assert_int_equal(c.unknown, 1);
	assert_int_equal(fx->th.dropped, 1);
	assert_int_equal(c.joins, 0);
	assert_int_equal(fx->th.uplinks, 0);
	uplink(fx, EMPTY_NON_B64);
	assert_int_equal(server_request(fx), 0);
	wait_cmds(fx, 1);
	event(fx, "join", "\"devAddr\":\"01ab23cd\"");
	wait_cmds(fx, 2); /* ChirpStack flushed its queue on the join: the CON goes again */
	lw_ns_chirpstack_get_counters(&fx->ns, &c);
	assert_int_equal(c.joins, 1);
}

/* A command ChirpStack never got (no txack, no log) while the device sent 3 uplinks: the sending failed, it goes
 * again; a txack in time keeps it. */
static void test_never_transmitted(void **state)
{
	fx_t *fx = *state;
	uplink(fx, EMPTY_NON_B64);
	assert_int_equal(server_request(fx), 0);
	wait_cmds(fx, 1);
	uplink(fx, EMPTY_NON_B64);
	uplink(fx, EMPTY_NON_B64);
	pump_for(fx, 200);
	assert_int_equal(fx->ncmds, 1); /* two uplinks may pass: the command can miss the first window */
	uplink(fx, EMPTY_NON_B64);
	wait_cmds(fx, 2);
	lw_ns_cs_counters_t c;
	lw_ns_chirpstack_get_counters(&fx->ns, &c);
	assert_int_equal(c.lost, 1);
	queue_event(fx, "txack", 1, "");
	for (int i = 0; i < 4; i++)
		uplink(fx, EMPTY_NON_B64);
	pump_for(fx, 200);
	assert_int_equal(fx->ncmds, 2); /* transmitted: only ACK_TIMEOUT (1 s, not yet over) decides now */
}

/* The payload limit follows the uplink's data rate (EU868 RX1 = uplink DR with offset 0): DR0 51, DR5 242. */
static void test_max_payload(void **state)
{
	fx_t *fx = *state;
	lpw_binding_traits_t t;
	fx->binding.ops->traits(fx->binding.self, fx->h, &t);
	assert_int_equal(t.max_message_size_now, 51); /* before any uplink: RX2 DR0 */
	assert_int_equal(t.max_message_size, 242);
	uplink(fx, EMPTY_NON_B64);
	fx->binding.ops->traits(fx->binding.self, fx->h, &t);
	assert_int_equal(t.max_message_size_now, 242);
	event(fx, "up", "\"fPort\":1,\"data\":\"" EMPTY_NON_B64 "\",\"txInfo\":{\"frequency\":868100000,"
	                "\"modulation\":{\"lora\":{\"bandwidth\":125000,\"spreadingFactor\":12}}}");
	fx->binding.ops->traits(fx->binding.self, fx->h, &t);
	assert_int_equal(t.max_message_size_now, 51); /* SF12/125 kHz = DR0 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uplink_through_broker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unconfirmed_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirmed_nack_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirmed_gives_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_failure_and_unmatched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broker_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_unknown_join, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_transmitted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_payload, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
