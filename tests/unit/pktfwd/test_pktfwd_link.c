/* The packet-forwarder link over loopback UDP: two forwarders, acks, uplinks, a downlink and its TX_ACK, and the
 * keepalive with the fake clock (one forwarder goes silent and is marked down; the other stays up). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "hal/pktfwd.h"

#define EUI_A 0x00000000000000aaULL
#define EUI_B 0x00000000000000bbULL

struct rec {
	int ups, downs;
	uint64_t last_state_eui;
	bool last_up;
	int uplinks;
	uint64_t uplink_eui;
	lpw_rxpk_t last_rx;
	int tx_acks;
	uint64_t tx_ack_eui;
	uint16_t tx_ack_token;
	lpw_txack_error_t tx_ack_err;
	int stats;
};

static void on_state(void *arg, uint64_t eui, bool up)
{
	struct rec *r = arg;
	up ? r->ups++ : r->downs++;
	r->last_state_eui = eui;
	r->last_up = up;
}

static void on_uplink(void *arg, uint64_t eui, const lpw_rxpk_t *rx)
{
	struct rec *r = arg;
	r->uplinks++;
	r->uplink_eui = eui;
	r->last_rx = *rx;
}

static void on_tx_ack(void *arg, uint64_t eui, uint16_t token, lpw_txack_error_t err)
{
	struct rec *r = arg;
	r->tx_acks++;
	r->tx_ack_eui = eui;
	r->tx_ack_token = token;
	r->tx_ack_err = err;
}

static void on_stat(void *arg, uint64_t eui, const lpw_pktfwd_stat_t *st)
{
	((struct rec *)arg)->stats++;
}

struct env {
	lpw_clock_t *clk;
	lpw_loop_t *loop;
	lpw_pktfwd_t *pf;
	struct rec rec;
	int a, b; /* the two forwarders' sockets */
};

static int forwarder_socket(uint16_t server_port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(server_port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static struct env *env_new(unsigned max_forwarders)
{
	static struct env e;
	memset(&e, 0, sizeof(e));
	e.clk = lpw_clock_new_fake(1000000);
	e.loop = lpw_loop_new(e.clk);
	lpw_pktfwd_config_t cfg = {.listen_addr = "127.0.0.1", .port = 0, .keepalive_timeout_s = 30,
				   .max_forwarders = max_forwarders};
	lpw_pktfwd_hooks_t hooks = {.uplink = on_uplink, .tx_ack = on_tx_ack, .stat = on_stat,
				    .forwarder_state = on_state, .arg = &e.rec};
	e.pf = lpw_pktfwd_new(e.loop, &cfg, &hooks);
	assert_non_null(e.pf);
	assert_true(lpw_pktfwd_port(e.pf) != 0);
	e.a = forwarder_socket(lpw_pktfwd_port(e.pf));
	e.b = forwarder_socket(lpw_pktfwd_port(e.pf));
	return &e;
}

static int env_teardown(void **state)
{
	struct env *e = *state;
	if (!e)
		return 0;
	close(e->a);
	close(e->b);
	lpw_pktfwd_free(e->pf);
	lpw_loop_free(e->loop);
	lpw_clock_free(e->clk);
	return 0;
}

/* Turns the loop until the link has read `want` datagrams in all; bounded to about 2 s. */
static void pump_until(struct env *e, uint64_t want)
{
	lpw_pktfwd_counters_t c;
	for (int i = 0; i < 200; i++) {
		lpw_pktfwd_get_counters(e->pf, &c);
		if (c.datagrams_in >= want)
			return;
		assert_true(lpw_loop_run_once(e->loop, 10) >= 0);
	}
	fail_msg("link read %llu datagrams, expected %llu", (unsigned long long)c.datagrams_in,
		 (unsigned long long)want);
}

static uint64_t datagrams(struct env *e)
{
	lpw_pktfwd_counters_t c;
	lpw_pktfwd_get_counters(e->pf, &c);
	return c.datagrams_in;
}

/* Sends d from fd and turns the loop until the link has read it. */
static void send_and_pump(struct env *e, int fd, const uint8_t *d, int n)
{
	assert_true(n > 0);
	uint64_t before = datagrams(e);
	assert_int_equal(send(fd, d, (size_t)n, 0), n);
	pump_until(e, before + 1);
}

/* One datagram the link sent to fd, within 1 s; its length. */
static int receive(int fd, uint8_t *d, size_t cap)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 1000), 1);
	ssize_t n = recv(fd, d, cap, 0);
	assert_true(n > 0);
	return (int)n;
}

static void pull(struct env *e, int fd, uint64_t eui, uint16_t token)
{
	uint8_t d[64];
	send_and_pump(e, fd, d, lpw_pktfwd_build_pull_data(token, eui, d, sizeof(d)));
	assert_int_equal(receive(fd, d, sizeof(d)), 4);
	uint8_t ack[4] = {2, (uint8_t)(token >> 8), (uint8_t)token, LPW_PKTFWD_PULL_ACK};
	assert_memory_equal(d, ack, 4);
}

static lpw_txpk_t sample_txpk(void)
{
	lpw_txpk_t tx = {.tmst = 1000000, .freq = 869.525, .powe = 14, .sf = 12, .bw_khz = 125, .codr = 5,
			 .ipol = true, .size = 4, .data = {1, 2, 3, 4}};
	return tx;
}

static void test_two_forwarders_one_goes_silent(void **state)
{
	struct env *e = *state = env_new(0);
	static lpw_pktfwd_msg_t m;
	uint8_t d[4096];
	char why[256];
	pull(e, e->a, EUI_A, 0x0101);
	pull(e, e->b, EUI_B, 0x0202);
	assert_int_equal(e->rec.ups, 2);
	assert_true(lpw_pktfwd_forwarder_up(e->pf, EUI_A) && lpw_pktfwd_forwarder_up(e->pf, EUI_B));

	/* an uplink from A: PUSH_ACK with its token, then the hook */
	lpw_rxpk_t rx = {.tmst = 77, .freq = 868.1, .stat = 1, .modu = LPW_MODU_LORA, .sf = 7, .bw_khz = 125,
			 .codr = 5, .rssi = -60, .lsnr = 9.5, .size = 2, .data = {0x40, 0x41}};
	lpw_pktfwd_stat_t st = {.rxnb = 1};
	send_and_pump(e, e->a, d, lpw_pktfwd_build_push_data(0x0303, EUI_A, &rx, 1, &st, d, sizeof(d)));
	assert_int_equal(receive(e->a, d, sizeof(d)), 4);
	assert_memory_equal(d, "\x02\x03\x03\x01", 4);
	assert_int_equal(e->rec.uplinks, 1);
	assert_true(e->rec.uplink_eui == EUI_A);
	assert_int_equal(e->rec.last_rx.tmst, 77);
	assert_memory_equal(e->rec.last_rx.data, "\x40\x41", 2);
	assert_int_equal(e->rec.stats, 1);

	/* a downlink to B goes to B's address; its TX_ACK comes back with the token */
	lpw_txpk_t tx = sample_txpk();
	uint16_t token = 0;
	assert_int_equal(lpw_pktfwd_send(e->pf, EUI_B, &tx, &token), 0);
	int n = receive(e->b, d, sizeof(d));
	assert_int_equal(lpw_pktfwd_parse(d, (size_t)n, &m, why, sizeof(why)), 0);
	assert_int_equal(m.kind, LPW_PKTFWD_PULL_RESP);
	assert_int_equal(m.token, token);
	assert_int_equal(m.txpk.tmst, 1000000);
	assert_memory_equal(m.txpk.data, tx.data, 4);
	send_and_pump(e, e->b, d, lpw_pktfwd_build_tx_ack(token, EUI_B, LPW_TXACK_TOO_LATE, true, d, sizeof(d)));
	assert_int_equal(e->rec.tx_acks, 1);
	assert_true(e->rec.tx_ack_eui == EUI_B);
	assert_int_equal(e->rec.tx_ack_token, token);
	assert_int_equal(e->rec.tx_ack_err, LPW_TXACK_TOO_LATE);

	/* B keeps polling, A falls silent: at 35 s A is down, B is not */
	assert_int_equal(lpw_clock_advance(e->clk, 20000), 0);
	assert_true(lpw_loop_run_once(e->loop, 0) >= 0);
	pull(e, e->b, EUI_B, 0x0404);
	assert_int_equal(lpw_clock_advance(e->clk, 9999), 0);
	assert_true(lpw_loop_run_once(e->loop, 0) >= 0);
	assert_int_equal(e->rec.downs, 0); /* not a millisecond early */
	assert_int_equal(lpw_clock_advance(e->clk, 1), 0);
	assert_true(lpw_loop_run_once(e->loop, 0) >= 0);
	assert_int_equal(e->rec.downs, 1);
	assert_true(e->rec.last_state_eui == EUI_A);
	assert_false(e->rec.last_up);
	assert_false(lpw_pktfwd_forwarder_up(e->pf, EUI_A));
	assert_true(lpw_pktfwd_forwarder_up(e->pf, EUI_B));
	assert_int_equal(lpw_pktfwd_send(e->pf, EUI_A, &tx, NULL), -EHOSTUNREACH);
	assert_int_equal(lpw_pktfwd_send(e->pf, 0x1234, &tx, NULL), -EHOSTUNREACH);
	assert_int_equal(lpw_pktfwd_send(e->pf, EUI_B, &tx, NULL), 0);
	(void)receive(e->b, d, sizeof(d));

	/* B later falls silent too; A comes back */
	assert_int_equal(lpw_clock_advance(e->clk, 20000), 0);
	assert_true(lpw_loop_run_once(e->loop, 0) >= 0);
	assert_int_equal(e->rec.downs, 2);
	assert_true(e->rec.last_state_eui == EUI_B);
	pull(e, e->a, EUI_A, 0x0505);
	assert_int_equal(e->rec.ups, 3);
	assert_true(e->rec.last_state_eui == EUI_A && e->rec.last_up);
	assert_int_equal(lpw_pktfwd_send(e->pf, EUI_A, &tx, NULL), 0);
	(void)receive(e->a, d, sizeof(d));

	lpw_pktfwd_counters_t c;
	lpw_pktfwd_get_counters(e->pf, &c);
	assert_int_equal(c.pull_data, 4);
	assert_int_equal(c.push_data, 1);
	assert_int_equal(c.tx_acks, 1);
	assert_int_equal(c.pull_resp_sent, 3);
	assert_int_equal(c.malformed, 0);
}

static void test_malformed_counted_and_bad_push_still_acked(void **state)
{
	struct env *e = *state = env_new(0);
	uint8_t d[256];
	send_and_pump(e, e->a, (const uint8_t *)"\x01\x00\x00\x02", 4); /* version 1 */
	send_and_pump(e, e->a, (const uint8_t *)"\x02\x00", 2);
	/* a PUSH_DATA whose JSON is broken is acknowledged (the ack measures the path) but delivers nothing */
	static const uint8_t bad_push[] = "\x02\x77\x88\x00\x00\x00\x00\x00\x00\x00\x00\xaa{\"rxpk\":[1]}";
	send_and_pump(e, e->a, bad_push, (int)sizeof(bad_push) - 1);
	assert_int_equal(receive(e->a, d, sizeof(d)), 4);
	assert_memory_equal(d, "\x02\x77\x88\x01", 4);
	/* kinds only a forwarder receives are ignored */
	send_and_pump(e, e->a, (const uint8_t *)"\x02\x00\x01\x04", 4);
	lpw_pktfwd_counters_t c;
	lpw_pktfwd_get_counters(e->pf, &c);
	assert_int_equal(c.malformed, 3);
	assert_int_equal(c.unexpected, 1);
	assert_int_equal(c.push_data, 0);
	assert_int_equal(e->rec.uplinks, 0);
	/* nothing else was sent back */
	struct pollfd p = {.fd = e->a, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 50), 0);
}

static void test_table_full(void **state)
{
	struct env *e = *state = env_new(1);
	lpw_txpk_t tx = sample_txpk();
	pull(e, e->a, EUI_A, 1);
	pull(e, e->b, EUI_B, 2); /* still acknowledged, but no slot */
	lpw_pktfwd_counters_t c;
	lpw_pktfwd_get_counters(e->pf, &c);
	assert_int_equal(c.table_full, 1);
	assert_int_equal(e->rec.ups, 1);
	assert_int_equal(lpw_pktfwd_send(e->pf, EUI_B, &tx, NULL), -EHOSTUNREACH);
	/* once A is down its slot goes to B */
	assert_int_equal(lpw_clock_advance(e->clk, 30000), 0);
	assert_true(lpw_loop_run_once(e->loop, 0) >= 0);
	assert_int_equal(e->rec.downs, 1);
	pull(e, e->b, EUI_B, 3);
	assert_true(lpw_pktfwd_forwarder_up(e->pf, EUI_B));
	assert_false(lpw_pktfwd_forwarder_up(e->pf, EUI_A));
	assert_int_equal(lpw_pktfwd_send(e->pf, EUI_B, &tx, NULL), 0);
}

static void test_bad_listen_address(void **state)
{
	lpw_clock_t *clk = lpw_clock_new_fake(0);
	lpw_loop_t *loop = lpw_loop_new(clk);
	lpw_pktfwd_config_t cfg = {.listen_addr = "not-an-address"};
	assert_null(lpw_pktfwd_new(loop, &cfg, NULL));
	lpw_pktfwd_free(NULL);
	lpw_loop_free(loop);
	lpw_clock_free(clk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_two_forwarders_one_goes_silent, env_teardown),
		cmocka_unit_test_teardown(test_malformed_counted_and_bad_push_still_acked, env_teardown),
		cmocka_unit_test_teardown(test_table_full, env_teardown),
		cmocka_unit_test(test_bad_listen_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
