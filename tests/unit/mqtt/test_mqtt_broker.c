/* core/mqtt against a real mosquitto broker on a loopback ephemeral port: two independent clients in one loop,
 * publish and subscribe, re-subscription after a broker restart, back-off while the broker is away (the loop never
 * blocks), the last will, username/password, and TLS with a client certificate. Every wait is bounded; the broker
 * is killed in teardown (and by PR_SET_PDEATHSIG if the test dies). */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "tests/unit/common/test_broker.h"
#include "tests/unit/common/test_tmpdir.h"
#include "core/mqtt.h"

#define MAX_MSGS 64

/* What one client saw. */
struct seen {
	int connected, disconnected, published;
	int last_mid;
	size_t n;
	char topic[MAX_MSGS][64];
	char payload[MAX_MSGS][64];
	bool retain[MAX_MSGS];
};

struct ctx {
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	char dir[64];
	uint16_t port;
	pid_t broker;
	char extra_conf[1024]; /* listener options for the next broker_start */
	lpw_mqtt_t *a, *b;
	struct seen sa, sb;
	lpw_timer_t tick;
	int ticks;
	int64_t max_turn_ms;
	size_t want_n; /* a_has_wanted: A has seen this many messages */
};

static void broker_stop(struct ctx *c, int sig)
{
	tb_broker_stop(&c->broker, sig);
}

static void broker_start(struct ctx *c)
{
	c->broker = tb_broker_start(c->dir, c->port, c->extra_conf);
}

/* ---- hooks ---- */

static void on_connected(void *arg)
{
	((struct seen *)arg)->connected++;
}

static void on_disconnected(void *arg, const char *why)
{
	((struct seen *)arg)->disconnected++;
}

static void on_message(void *arg, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
	struct seen *s = arg;
	if (s->n == MAX_MSGS)
		return;
	snprintf(s->topic[s->n], sizeof(s->topic[0]), "%s", topic);
	snprintf(s->payload[s->n], sizeof(s->payload[0]), "%.*s", (int)len, (const char *)payload);
	s->retain[s->n] = retain;
	s->n++;
}

static void on_published(void *arg, int mid)
{
	struct seen *s = arg;
	s->published++;
	s->last_mid = mid;
}

static lpw_mqtt_hooks_t hooks_for(struct seen *s)
{
	return (lpw_mqtt_hooks_t){.connected = on_connected, .disconnected = on_disconnected, .message = on_message,
				  .published = on_published, .arg = s};
}

static lpw_mqtt_config_t config_for(struct ctx *c, const char *client_id)
{
	return (lpw_mqtt_config_t){.name = client_id, .host = "127.0.0.1", .port = c->port, .client_id = client_id,
				   .keepalive_s = 5, .reconnect_min_ms = 100, .reconnect_max_ms = 400};
}

static void on_tick(lpw_timer_t *timer, int64_t now)
{
	struct ctx *c = lpw_container_of(timer, struct ctx, tick);
	c->ticks++;
	assert_int_equal(lpw_loop_timer_in(c->loop, &c->tick, 50), 0);
}

/* Turns the loop until pred holds or ms pass; returns pred's final value. Records the longest turn. */
static bool pump(struct ctx *c, int ms, bool (*pred)(struct ctx *))
{
	int64_t deadline = tb_now_ms() + ms;
	while (!(pred && pred(c)) && tb_now_ms() < deadline) {
		int64_t t0 = tb_now_ms();
		assert_true(lpw_loop_run_once(c->loop, 10) >= 0);
		if (tb_now_ms() - t0 > c->max_turn_ms)
			c->max_turn_ms = tb_now_ms() - t0;
	}
	return pred && pred(c);
}

static bool both_connected(struct ctx *c)
{
	return lpw_mqtt_connected(c->a) && lpw_mqtt_connected(c->b);
}

static bool a_connected(struct ctx *c)
{
	return lpw_mqtt_connected(c->a);
}

static bool a_has_message(struct ctx *c)
{
	return c->sa.n > 0;
}

static bool a_has_wanted(struct ctx *c)
{
	return c->sa.n >= c->want_n;
}

static bool b_acked(struct ctx *c)
{
	return c->sb.published > 0;
}

static bool both_down(struct ctx *c)
{
	return !lpw_mqtt_connected(c->a) && !lpw_mqtt_connected(c->b);
}

static int setup(void **state)
{
	if (access(TB_BROKER, X_OK) != 0) {
		*state = NULL;
		return 0;
	}
	struct ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	snprintf(c->dir, sizeof(c->dir), "/tmp/lpw-mqtt-XXXXXX");
	c->clock = lpw_clock_new_real();
	c->loop = c->clock ? lpw_loop_new(c->clock) : NULL;
	if (!mkdtemp(c->dir) || !c->loop)
		return -1;
	/* A broker started as root drops to the mosquitto user before it reads its password and certificate files. */
	chmod(c->dir, 0755);
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
	lpw_mqtt_free(c->a);
	lpw_mqtt_free(c->b);
	broker_stop(c, SIGTERM);
	if (getenv("LPW_KEEP_TMP") == NULL)
		lpw_test_rmtree(c->dir);
	lpw_loop_timer_clear(c->loop, &c->tick);
	lpw_loop_free(c->loop);
	lpw_clock_free(c->clock);
	free(c);
	return 0;
}

/* ---- tests ---- */

static void test_config_refused(void **state)
{
	struct ctx *c = *state;
	if (!c)
		skip();
	lpw_mqtt_config_t cfg = config_for(c, "x");
	cfg.host = NULL;
	assert_null(lpw_mqtt_new(c->loop, &cfg, NULL));
	cfg = config_for(c, "x");
	cfg.client_id = "";
	assert_null(lpw_mqtt_new(c->loop, &cfg, NULL));
	cfg = config_for(c, "x");
	cfg.ca_file = "/nonexistent-ca.pem";
	cfg.cert_file = "/nonexistent-cert.pem"; /* half a client certificate */
	assert_null(lpw_mqtt_new(c->loop, &cfg, NULL));
	cfg = config_for(c, "x");
	cfg.will_topic = "w";
	cfg.will_qos = 3;
	assert_null(lpw_mqtt_new(c->loop, &cfg, NULL));
}

/* Two clients in one loop: A subscribes, B publishes; then the broker restarts without persistence and A's
 * subscription works again without A doing anything. */
static void test_two_clients_and_resubscribe(void **state)
{
	struct ctx *c = *state;
	if (!c)
		skip();
	broker_start(c);
	lpw_mqtt_config_t ca = config_for(c, "client-a"), cb = config_for(c, "client-b");
	lpw_mqtt_hooks_t ha = hooks_for(&c->sa), hb = hooks_for(&c->sb);
	c->a = lpw_mqtt_new(c->loop, &ca, &ha);
	c->b = lpw_mqtt_new(c->loop, &cb, &hb);
	assert_non_null(c->a);
	assert_non_null(c->b);
	assert_int_equal(lpw_mqtt_subscribe(c->a, "lpwtest/+/up", 1), 0); /* before the connection: sent on connect */
	assert_int_equal(lpw_mqtt_subscribe(c->a, "bad/#/x", 1), -EINVAL);
	assert_int_equal(lpw_mqtt_publish(c->b, "lpwtest/1/up", "x", 1, 1, false, NULL), -ENOTCONN);
	assert_true(pump(c, 5000, both_connected));
	assert_int_equal(c->sa.connected, 1);

	/* The SUBACK is not reported: a retained message proves the subscription is in place. */
	int mid = -1;
	assert_int_equal(lpw_mqtt_publish(c->b, "lpwtest/1/up", "hello", 5, 1, true, &mid), 0);
	assert_true(pump(c, 3000, b_acked));
	assert_int_equal(c->sb.last_mid, mid);
	assert_int_equal(lpw_mqtt_inflight(c->b), 0);
	assert_true(pump(c, 3000, a_has_message));
	assert_string_equal(c->sa.topic[0], "lpwtest/1/up");
	assert_string_equal(c->sa.payload[0], "hello");
	assert_int_equal(lpw_mqtt_publish(c->b, "lpwtest/1/up/#", "x", 1, 0, false, NULL), -EINVAL);

	/* Broker killed: both notice, the loop keeps turning, and the back-off keeps its pace. */
	assert_int_equal(lpw_loop_timer_in(c->loop, &c->tick, 50), 0);
	broker_stop(c, SIGKILL);
	assert_true(pump(c, 5000, both_down));
	assert_int_equal(c->sa.disconnected, 1);
	int ticks = c->ticks;
	pump(c, 1000, NULL);
	assert_true(c->ticks - ticks >= 15);
	lpw_mqtt_counters_t k;
	lpw_mqtt_get_counters(c->a, &k);
	assert_true(k.failures >= 3); /* 100, 200, 400, 400 ms: several attempts in a second */

	broker_start(c);
	assert_true(pump(c, 5000, both_connected));
	assert_int_equal(c->sa.connected, 2);
	size_t before = c->sa.n;
	assert_int_equal(lpw_mqtt_publish(c->b, "lpwtest/2/up", "again", 5, 1, true, NULL), 0);
	c->want_n = before + 1;
	assert_true(pump(c, 3000, a_has_wanted));
	assert_int_equal(c->sa.n, before + 1);
	assert_string_equal(c->sa.payload[before], "again");
	assert_true(c->max_turn_ms < 300);

	/* Unsubscribed: nothing more arrives (a second, unrelated subscription shows the path still works). */
	assert_int_equal(lpw_mqtt_unsubscribe(c->a, "lpwtest/+/up"), 0);
	assert_int_equal(lpw_mqtt_unsubscribe(c->a, "lpwtest/+/up"), -ENOENT);
	assert_int_equal(lpw_mqtt_subscribe(c->a, "lpwtest/other", 0), 0);
	pump(c, 300, NULL);
	before = c->sa.n;
	assert_int_equal(lpw_mqtt_publish(c->b, "lpwtest/3/up", "gone", 4, 1, false, NULL), 0);
	assert_int_equal(lpw_mqtt_publish(c->b, "lpwtest/other", "here", 4, 1, false, NULL), 0);
	c->want_n = before + 1;
	assert_true(pump(c, 3000, a_has_wanted));
	c->want_n = before + 2;
	assert_false(pump(c, 500, a_has_wanted)); /* both were sent in order: "gone" would have come first */
	assert_int_equal(c->sa.n, before + 1);
	assert_string_equal(c->sa.payload[before], "here");
}

static bool a_has_will(struct ctx *c)
{
	for (size_t i = 0; i < c->sa.n; i++)
		if (strcmp(c->sa.topic[i], "lpwtest/b/status") == 0 && strcmp(c->sa.payload[i], "gone") == 0)
			return true;
	return false;
}

/* The will goes out when a client vanishes, and not after a clean disconnect. */
static void test_last_will(void **state)
{
	struct ctx *c = *state;
	if (!c)
		skip();
	broker_start(c);
	lpw_mqtt_config_t ca = config_for(c, "watcher"), cb = config_for(c, "mortal");
	cb.will_topic = "lpwtest/b/status";
	cb.will_payload = "gone";
	cb.will_len = 4;
	cb.will_qos = 1;
	lpw_mqtt_hooks_t ha = hooks_for(&c->sa), hb = hooks_for(&c->sb);
	c->a = lpw_mqtt_new(c->loop, &ca, &ha);
	assert_int_equal(lpw_mqtt_subscribe(c->a, "lpwtest/b/status", 1), 0);
	c->b = lpw_mqtt_new(c->loop, &cb, &hb);
	assert_true(pump(c, 5000, both_connected));
	pump(c, 300, NULL); /* let the SUBSCRIBE reach the broker */

	/* A clean disconnect: no will. */
	assert_int_equal(lpw_mqtt_publish(c->b, "lpwtest/b/last", "bye", 3, 1, false, NULL), 0);
	assert_true(lpw_mqtt_disconnect(c->b, 1000)); /* the QoS 1 publish was acknowledged first */
	assert_false(lpw_mqtt_connected(c->b));
	assert_int_equal(lpw_mqtt_publish(c->b, "lpwtest/b/last", "x", 1, 0, false, NULL), -ENOTCONN);
	assert_false(pump(c, 1000, a_has_will));
	lpw_mqtt_free(c->b);

	/* Gone without a DISCONNECT: the broker publishes the will. */
	c->b = lpw_mqtt_new(c->loop, &cb, &hb);
	assert_true(pump(c, 5000, both_connected));
	lpw_mqtt_free(c->b);
	c->b = NULL;
	assert_true(pump(c, 3000, a_has_will));
}

static void test_password(void **state)
{
	struct ctx *c = *state;
	if (!c)
		skip();
	char cmd[512], pw[128];
	snprintf(pw, sizeof(pw), "%s/passwd", c->dir);
	snprintf(cmd, sizeof(cmd), "mosquitto_passwd -b -c %s gw 's3cret-pw' >/dev/null 2>&1 && chmod 644 %s", pw, pw);
	if (system(cmd) != 0)
		skip();
	snprintf(c->extra_conf, sizeof(c->extra_conf), "allow_anonymous false\npassword_file %s", pw);
	broker_start(c);
	lpw_mqtt_config_t ca = config_for(c, "with-pw"), cb = config_for(c, "wrong-pw");
	ca.username = cb.username = "gw";
	ca.password = "s3cret-pw";
	cb.password = "wrong";
	lpw_mqtt_hooks_t ha = hooks_for(&c->sa), hb = hooks_for(&c->sb);
	c->a = lpw_mqtt_new(c->loop, &ca, &ha);
	c->b = lpw_mqtt_new(c->loop, &cb, &hb);
	assert_true(pump(c, 5000, a_connected));
	pump(c, 1000, NULL);
	assert_false(lpw_mqtt_connected(c->b));
	assert_int_equal(c->sb.connected, 0);
	lpw_mqtt_counters_t k;
	lpw_mqtt_get_counters(c->b, &k);
	assert_true(k.failures >= 2); /* refused, retried with back-off */
	assert_true(c->max_turn_ms < 300);
}

/* A CA, a broker certificate for 127.0.0.1 and a client certificate, made with the openssl tool. */
static bool make_pki(struct ctx *c)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "(cd %s && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
		 "-out ca.crt -days 2 -subj /CN=lpwtest-ca && "
		 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key "
		 "-out server.csr -subj /CN=127.0.0.1 && "
		 "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
		 "-extfile san.ext && "
		 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client.key "
		 "-out client.csr -subj /CN=lpwtest-client && "
		 "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 "
		 "&& chmod 644 ca.crt server.crt server.key && chmod 600 client.key)",
		 c->dir);
	snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " >/dev/null 2>&1");
	return system(cmd) == 0;
}

static void test_tls_client_certificate(void **state)
{
	struct ctx *c = *state;
	if (!c)
		skip();
	if (!make_pki(c))
		skip();
	snprintf(c->extra_conf, sizeof(c->extra_conf),
		 "allow_anonymous true\ncafile %s/ca.crt\ncertfile %s/server.crt\nkeyfile %s/server.key\n"
		 "require_certificate true\nuse_identity_as_username true",
		 c->dir, c->dir, c->dir);
	broker_start(c);
	char ca_file[128], cert[128], key[128];
	snprintf(ca_file, sizeof(ca_file), "%s/ca.crt", c->dir);
	snprintf(cert, sizeof(cert), "%s/client.crt", c->dir);
	snprintf(key, sizeof(key), "%s/client.key", c->dir);
	lpw_mqtt_config_t ca = config_for(c, "tls-cert"), cb = config_for(c, "tls-nocert");
	ca.ca_file = cb.ca_file = ca_file;
	ca.cert_file = cert;
	ca.key_file = key;
	lpw_mqtt_hooks_t ha = hooks_for(&c->sa), hb = hooks_for(&c->sb);
	c->a = lpw_mqtt_new(c->loop, &ca, &ha);
	c->b = lpw_mqtt_new(c->loop, &cb, &hb);
	assert_non_null(c->a);
	assert_non_null(c->b);
	assert_int_equal(lpw_mqtt_subscribe(c->a, "lpwtest/tls", 1), 0);
	assert_true(pump(c, 5000, a_connected));
	pump(c, 300, NULL);
	assert_int_equal(lpw_mqtt_publish(c->a, "lpwtest/tls", "over tls", 8, 1, false, NULL), 0);
	assert_true(pump(c, 3000, a_has_message));
	assert_string_equal(c->sa.payload[0], "over tls");
	/* Without a client certificate the broker refuses the handshake, attempt after attempt. */
	assert_false(lpw_mqtt_connected(c->b));
	assert_int_equal(c->sb.connected, 0);
	assert_true(c->max_turn_ms < 300);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (getenv("LPW_TEST_DEBUG"))
		lpw_log_setup(LOG_DEBUG, LPW_LOG_TO_STDERR, "mqtt_broker");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_clients_and_resubscribe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_will, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_client_certificate, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
