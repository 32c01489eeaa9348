/* Process test: telemetry in our loop against a real mosquitto broker on a loopback ephemeral port.
 * Every wait is bounded; the broker is killed in teardown (and by PR_SET_PDEATHSIG if we die). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mosquitto.h>

#include "core/log.h"
#include "tests/unit/common/test_broker.h"
#include "tests/unit/common/test_tmpdir.h"
#include "gateway/telemetry.h"

#define PREFIX "lpwtest"
#define GW "gw-test"
#define PASSWORD "pa55-SECRET-w0rd"
#define MAX_MSGS 256

struct msg {
	char *topic;
	char *payload;
	bool retain;
};

struct sub {
	struct mosquitto *m;
	bool subscribed;
	size_t n;
	struct msg msgs[MAX_MSGS];
};

struct ctx {
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	char dir[64];
	uint16_t port;
	pid_t broker;
	lpw_telemetry_t *t;
	lpw_stats_t stats;
	struct sub *sub;
	lpw_timer_t tick;
	int ticks;
	int64_t max_turn_ms;
};

static void broker_stop(struct ctx *c, int sig)
{
	tb_broker_stop(&c->broker, sig);
}

static void broker_start(struct ctx *c)
{
	c->broker = tb_broker_start(c->dir, c->port, NULL);
}

static void sub_on_connect(struct mosquitto *m, void *arg, int rc)
{
	if (rc == 0)
		mosquitto_subscribe(m, NULL, PREFIX "/#", 1);
}

static void sub_on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *qos)
{
	((struct sub *)arg)->subscribed = true;
}

static void sub_on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct sub *s = arg;
	if (s->n == MAX_MSGS)
		return;
	struct msg *out = &s->msgs[s->n++];
	out->topic = strdup(msg->topic);
	out->payload = strndup(msg->payload ? msg->payload : "", (size_t)msg->payloadlen);
	out->retain = msg->retain;
}

static void sub_free(struct sub *s)
{
	if (!s)
		return;
	mosquitto_destroy(s->m);
	for (size_t i = 0; i < s->n; i++) {
		free(s->msgs[i].topic);
		free(s->msgs[i].payload);
	}
	free(s);
}

static void on_tick(lpw_timer_t *timer, int64_t now)
{
	struct ctx *c = lpw_container_of(timer, struct ctx, tick);
	c->ticks++;
	assert_int_equal(lpw_loop_timer_in(c->loop, &c->tick, 100), 0);
}

/* Turns our loop (and the subscriber's) until pred holds or ms pass; returns pred's final value. */
static bool pump(struct ctx *c, int ms, bool (*pred)(struct ctx *))
{
	int64_t deadline = tb_now_ms() + ms;
	while (!(pred && pred(c)) && tb_now_ms() < deadline) {
		int64_t t0 = tb_now_ms();
		assert_true(lpw_loop_run_once(c->loop, 10) >= 0);
		int64_t turn = tb_now_ms() - t0;
		if (turn > c->max_turn_ms)
			c->max_turn_ms = turn;
		if (c->sub)
			mosquitto_loop(c->sub->m, 0, 1);
	}
	return pred && pred(c);
}

static bool subscribed(struct ctx *c)
{
	return c->sub && c->sub->subscribed;
}

static void sub_start(struct ctx *c)
{
	sub_free(c->sub);
	c->sub = calloc(1, sizeof(*c->sub));
	assert_non_null(c->sub);
	c->sub->m = mosquitto_new(NULL, true, c->sub);
	assert_non_null(c->sub->m);
	mosquitto_connect_callback_set(c->sub->m, sub_on_connect);
	mosquitto_subscribe_callback_set(c->sub->m, sub_on_subscribe);
	mosquitto_message_callback_set(c->sub->m, sub_on_message);
	assert_int_equal(mosquitto_connect(c->sub->m, "127.0.0.1", c->port, 10), MOSQ_ERR_SUCCESS);
	assert_true(pump(c, 3000, subscribed));
}

/* The last message on PREFIX/<gw>/<leaf> whose JSON has key == value (value NULL: any JSON object). */
static const struct msg *find_gw(struct ctx *c, const char *gw, const char *leaf, const char *key,
				 const char *value)
{
	char topic[128];
	snprintf(topic, sizeof(topic), PREFIX "/%s/%s", gw, leaf);
	const struct msg *found = NULL;
	for (size_t i = 0; c->sub && i < c->sub->n; i++) {
		const struct msg *m = &c->sub->msgs[i];
		if (strcmp(m->topic, topic) != 0)
			continue;
		json_t *v = json_loads(m->payload, 0, NULL);
		const char *got = json_string_value(json_object_get(v, key ? key : ""));
		if (json_is_object(v) && (!value || (got && strcmp(got, value) == 0)))
			found = m;
		json_decref(v);
	}
	return found;
}

static const struct msg *find(struct ctx *c, const char *leaf, const char *key, const char *value)
{
	return find_gw(c, GW, leaf, key, value);
}

static bool is_connected(struct ctx *c)
{
	return lpw_telemetry_connected(c->t);
}

static bool is_disconnected(struct ctx *c)
{
	return !lpw_telemetry_connected(c->t);
}

/* Predicates accept live and retained copies; retention is checked with a fresh subscriber once a
 * first one has seen the message (then the broker has surely stored it). */
static bool have_online(struct ctx *c)
{
	return find(c, "status", "state", "online") != NULL;
}

static bool have_offline(struct ctx *c)
{
	return find(c, "status", "state", "offline") != NULL;
}

static bool have_event(struct ctx *c)
{
	return find(c, "events", "type", "test_event") != NULL;
}

static bool have_stats(struct ctx *c)
{
	return find(c, "stats", NULL, NULL) != NULL;
}

static bool have_dev(struct ctx *c)
{
	return find(c, "devices/dev1", NULL, NULL) != NULL;
}

/* A new subscriber must get the online status and dev1's state as retained messages. */
static void assert_retained_state(struct ctx *c)
{
	sub_start(c);
	assert_true(pump(c, 3000, have_online));
	assert_true(pump(c, 3000, have_dev));
	assert_true(find(c, "status", "state", "online")->retain);
	assert_true(find(c, "devices/dev1", NULL, NULL)->retain);
}

static lpw_telemetry_config_t config_for(struct ctx *c)
{
	return (lpw_telemetry_config_t){
		.host = "127.0.0.1", .port = c->port, .username = "gw-user", .password = PASSWORD,
		.topic_prefix = PREFIX, .gateway_id = GW, .interval_s = 1, .keepalive_s = 5,
		.reconnect_max_ms = 2000, /* keeps the test short; the default ceiling is 60 s */
	};
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	if (access(TB_BROKER, X_OK) != 0) {
		free(c);
		*state = NULL;
		return 0;
	}
	snprintf(c->dir, sizeof(c->dir), "/tmp/lpw-telemetry-XXXXXX");
	c->clock = lpw_clock_new_real();
	c->loop = c->clock ? lpw_loop_new(c->clock) : NULL;
	if (!mkdtemp(c->dir) || !c->loop)
		return -1;
	c->port = tb_free_port();
	lpw_timer_init(&c->tick, on_tick);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	if (!c)
		return 0;
	lpw_telemetry_free(c->t);
	sub_free(c->sub);
	broker_stop(c, SIGTERM);
	if (getenv("LPW_KEEP_TMP") == NULL)
		lpw_test_rmtree(c->dir);
	lpw_loop_timer_clear(c->loop, &c->tick);
	lpw_loop_free(c->loop);
	lpw_clock_free(c->clock);
	free(c);
	return 0;
}

static void assert_no_secret(struct ctx *c)
{
	for (size_t i = 0; c->sub && i < c->sub->n; i++) {
		if (strstr(c->sub->msgs[i].payload, PASSWORD) || strstr(c->sub->msgs[i].topic, PASSWORD))
			fail_msg("password published on %s", c->sub->msgs[i].topic);
	}
}

static void test_online_stats_event_offline(void **state)
{
	struct ctx *c = *state;
	if (!c)
		skip();
	broker_start(c);
	sub_start(c);
	lpw_telemetry_config_t cfg = config_for(c);
	c->stats.errors = 77;
	c->t = lpw_telemetry_new(c->loop, &cfg, &c->stats);
	assert_non_null(c->t);
	assert_true(pump(c, 5000, is_connected));

	json_t *dev = json_pack("{s:b, s:i, s:s}", "registered", 1, "lifetime", 300, "password", PASSWORD);
	assert_int_equal(lpw_telemetry_device_state(c->t, "dev1", dev), 0);
	json_decref(dev);
	assert_true(pump(c, 3000, have_online));
	assert_true(pump(c, 3000, have_dev));
	assert_no_secret(c);
	assert_retained_state(c);
	assert_int_equal(lpw_telemetry_event(c->t, "test_event", "dev1", "n=%d", 42), 0);
	assert_true(pump(c, 3000, have_event));
	assert_true(pump(c, 3000, have_stats)); /* interval 1 s */

	json_t *ev = json_loads(find(c, "events", "type", "test_event")->payload, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(ev, "device")), "dev1");
	assert_string_equal(json_string_value(json_object_get(ev, "detail")), "n=42");
	json_decref(ev);
	json_t *st = json_loads(find(c, "stats", NULL, NULL)->payload, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(st, "errors")), 77);
	json_decref(st);
	json_t *on = json_loads(find(c, "status", "state", "online")->payload, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(on, "gateway_id")), GW);
	json_decref(on);
	assert_no_secret(c);

	/* Clean stop: the offline status is published (seen live), and stays retained. */
	lpw_telemetry_free(c->t);
	c->t = NULL;
	assert_true(pump(c, 3000, have_offline));
	sub_start(c);
	assert_true(pump(c, 3000, have_offline));
	assert_true(find(c, "status", "state", "offline")->retain);
	assert_false(have_online(c));
	assert_no_secret(c);
}

static void test_broker_down_up_restart(void **state)
{
	struct ctx *c = *state;
	if (!c)
		skip();
	lpw_telemetry_config_t cfg = config_for(c);
	c->t = lpw_telemetry_new(c->loop, &cfg, &c->stats);
	assert_non_null(c->t);
	assert_int_equal(lpw_loop_timer_in(c->loop, &c->tick, 100), 0);

	/* No broker: the loop keeps turning and never blocks, timers keep firing. */
	pump(c, 2500, NULL);
	assert_false(lpw_telemetry_connected(c->t));
	assert_true(c->ticks >= 15);
	assert_true(c->max_turn_ms < 300);
	assert_int_equal(lpw_telemetry_event(c->t, "lost", NULL, "while down"), -ENOTCONN);
	assert_true(lpw_telemetry_dropped(c->t) >= 1);
	json_t *dev = json_pack("{s:b}", "registered", 1);
	assert_int_equal(lpw_telemetry_device_state(c->t, "dev1", dev), 0); /* kept for the connect */

	broker_start(c);
	sub_start(c);
	assert_true(pump(c, 8000, is_connected));
	assert_true(pump(c, 3000, have_online));
	assert_true(pump(c, 3000, have_dev));
	assert_retained_state(c);

	/* Broker dies while connected, comes back on the same port without its retained messages. */
	sub_free(c->sub);
	c->sub = NULL;
	broker_stop(c, SIGKILL);
	assert_true(pump(c, 5000, is_disconnected));
	int ticks = c->ticks;
	pump(c, 500, NULL);
	assert_true(c->ticks > ticks);
	broker_start(c);
	sub_start(c);
	assert_true(pump(c, 8000, is_connected));
	assert_true(pump(c, 3000, have_online));
	assert_true(pump(c, 3000, have_dev)); /* re-published from the kept state */
	assert_retained_state(c);
	assert_true(c->max_turn_ms < 300);
	assert_no_secret(c);
	json_decref(dev);
}

static bool have_two_online(struct ctx *c)
{
	return find_gw(c, "gw-two", "status", "state", "online") != NULL; /* live: retain flag not set */
}

/* SIGHUP: an interval change keeps the session; a new gateway id moves the session cleanly. */
static void test_reconfigure(void **state)
{
	struct ctx *c = *state;
	if (!c)
		skip();
	broker_start(c);
	lpw_telemetry_config_t cfg = config_for(c);
	cfg.interval_s = 60;
	c->t = lpw_telemetry_new(c->loop, &cfg, &c->stats);
	assert_non_null(c->t);
	assert_true(pump(c, 5000, is_connected));
	sub_start(c);
	assert_true(pump(c, 3000, have_online));
	assert_false(pump(c, 1500, have_stats)); /* 60 s period: none yet */

	cfg.interval_s = 1;
	assert_int_equal(lpw_telemetry_reconfigure(c->t, &cfg), 0);
	assert_true(lpw_telemetry_connected(c->t)); /* no reconnect for an interval change */
	assert_true(pump(c, 3000, have_stats));
	assert_false(have_offline(c));

	cfg.gateway_id = "bad/id";
	assert_int_equal(lpw_telemetry_reconfigure(c->t, &cfg), -EINVAL);
	assert_true(lpw_telemetry_connected(c->t));

	cfg.gateway_id = "gw-two";
	assert_int_equal(lpw_telemetry_reconfigure(c->t, &cfg), 0);
	assert_true(have_offline(c) || pump(c, 3000, have_offline)); /* the old id says goodbye */
	assert_true(pump(c, 5000, is_connected));
	assert_true(pump(c, 3000, have_two_online));
	assert_no_secret(c);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (getenv("LPW_TEST_DEBUG"))
		lpw_log_setup(LOG_DEBUG, LPW_LOG_TO_STDERR, "telemetry_broker");
	mosquitto_lib_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_online_stats_event_offline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broker_down_up_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconfigure, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	mosquitto_lib_cleanup();
	return rc;
}
