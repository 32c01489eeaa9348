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

#include "core/log.h"
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
	int refused[LPW_PKTFWD_REFUSED_COUNT];
	uint64_t refused_eui;
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

static void on_refused(void *arg, uint64_t eui, lpw_pktfwd_refusal_t why)
{
	struct rec *r = arg;
	r->refused[why]++;
	r->refused_eui = eui;
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

/* A link with an allow-list of n EUIs (listed may be NULL) and refuse_unlisted as given. */
static struct env *env_new_listed(unsigned max_forwarders, const uint64_t *listed, size_t n, bool refuse_unlisted)
{
	static struct env e;
	memset(&e, 0, sizeof(e));
	e.clk = lpw_clock_new_fake(1000000);
	e.loop = lpw_loop_new(e.clk);
	lpw_pktfwd_config_t cfg = {.listen_addr = "127.0.0.1", .port = 0, .keepalive_timeout_s = 30,
				   .max_forwarders = max_forwarders, .listed = listed, .nlisted = n,
				   .refuse_unlisted = refuse_unlisted};
	lpw_pktfwd_hooks_t hooks = {.uplink = on_uplink, .tx_ack = on_tx_ack, .stat = on_stat,
				    .forwarder_state = on_state, .refused = on_refused, .arg = &e.rec};
	e.pf = lpw_pktfwd_new(e.loop, &cfg, &hooks);
	assert_non_null(e.pf);
	assert_true(lpw_pktfwd_port(e.pf) != 0);
	e.a = forwarder_socket(lpw_pktfwd_port(e.pf));
	e.b = forwarder_socket(lpw_pktfwd_port(e.pf));
	return &e;
}

static struct env *env_new(unsigned max_forwarders)
{
	return env_new_listed(max_forwarders, NULL, 0, false);
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

#define EUI_REAL 0xaa555a0000000001ULL
#define EUI_BOGUS(i) (0xb0b0000000000000ULL + (uint64_t)(i))

static bool nothing_within(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 0;
}

/* PULL_DATA from fd for eui; the PULL_ACK (if any) is read and returned as true. */
static bool pull_quiet(struct env *e, int fd, uint64_t eui)
{
	uint8_t d[64];
	send_and_pump(e, fd, d, lpw_pktfwd_build_pull_data(0x0707, eui, d, sizeof(d)));
	if (nothing_within(fd, 20))
		return false;
	return receive(fd, d, sizeof(d)) == 4;
}

static void advance(struct env *e, int64_t ms)
{
	assert_int_equal(lpw_clock_advance(e->clk, ms), 0);
	assert_true(lpw_loop_run_once(e->loop, 0) >= 0);
}

/* Issue 16.3: 16 bogus forwarders polling every 5 s from one host hold every slot; a listed forwarder still gets
 * one at its first PULL_DATA (the least recently heard bogus one gives way) and keeps it for the whole attack. */
static void test_listed_forwarder_not_locked_out(void **state)
{
	static const uint64_t listed[] = {EUI_REAL};
	struct env *e = *state = env_new_listed(0, listed, 1, false);
	lpw_txpk_t tx = sample_txpk();
	uint8_t d[1024];
	for (int i = 1; i <= 16; i++)
		assert_true(pull_quiet(e, e->a, EUI_BOGUS(i)));
	assert_int_equal(e->rec.ups, 16);
	advance(e, 5000);
	for (int i = 1; i <= 16; i++) /* all live: none of them would give way to another unlisted one */
		assert_true(pull_quiet(e, e->a, EUI_BOGUS(i)));
	assert_true(pull_quiet(e, e->b, EUI_BOGUS(17)));
	assert_int_equal(e->rec.refused[LPW_PKTFWD_REFUSED_TABLE_FULL], 1);

	assert_true(pull_quiet(e, e->b, EUI_REAL));
	assert_true(lpw_pktfwd_forwarder_up(e->pf, EUI_REAL));
	assert_int_equal(e->rec.downs, 1); /* the evicted one is down for the network server */
	assert_true(e->rec.last_state_eui == EUI_REAL && e->rec.last_up);
	for (int round = 0; round < 12; round++) { /* a minute of attack */
		advance(e, 5000);
		for (int i = 1; i <= 16; i++)
			(void)pull_quiet(e, e->a, EUI_BOGUS(i));
		if (round % 2) /* the real one polls every 10 s, the forwarder's default keepalive_interval */
			assert_true(pull_quiet(e, e->b, EUI_REAL));
		assert_true(lpw_pktfwd_forwarder_up(e->pf, EUI_REAL));
		assert_int_equal(lpw_pktfwd_send(e->pf, EUI_REAL, &tx, NULL), 0);
		int n = receive(e->b, d, sizeof(d));
		assert_true(n > 4 && d[3] == LPW_PKTFWD_PULL_RESP);
	}
	lpw_pktfwd_counters_t c;
	lpw_pktfwd_get_counters(e->pf, &c);
	assert_int_equal(c.evictions, 1);
	assert_int_equal(c.table_full, 13); /* bogus #17 once, then the evicted one every round */
	assert_int_equal(e->rec.refused[LPW_PKTFWD_REFUSED_TABLE_FULL], 13);
	assert_int_equal(c.refused, 13);
	lpw_pktfwd_forwarder_t fw[32];
	assert_int_equal(lpw_pktfwd_get_forwarders(e->pf, fw, 32), 16);
	bool seen = false;
	for (int i = 0; i < 16; i++)
		if (fw[i].eui == EUI_REAL) {
			seen = true;
			assert_true(fw[i].listed && fw[i].up);
			assert_int_equal(fw[i].pull_data, 7);
		}
	assert_true(seen);
}

/* Only listed forwarders: anything else is refused unacknowledged and delivers nothing. */
static void test_only_listed(void **state)
{
	static const uint64_t listed[] = {EUI_A};
	struct env *e = *state = env_new_listed(0, listed, 1, true);
	uint8_t d[512];
	assert_false(pull_quiet(e, e->b, EUI_B));
	assert_false(lpw_pktfwd_forwarder_up(e->pf, EUI_B));
	lpw_rxpk_t rx = {.tmst = 1, .freq = 868.1, .stat = 1, .modu = LPW_MODU_LORA, .sf = 7, .bw_khz = 125,
			 .codr = 5, .size = 1, .data = {0x40}};
	send_and_pump(e, e->b, d, lpw_pktfwd_build_push_data(1, EUI_B, &rx, 1, NULL, d, sizeof(d)));
	assert_true(nothing_within(e->b, 50));
	assert_int_equal(e->rec.uplinks, 0);
	assert_int_equal(e->rec.refused[LPW_PKTFWD_REFUSED_NOT_LISTED], 2);
	assert_true(e->rec.refused_eui == EUI_B);
	pull(e, e->a, EUI_A, 9);
	assert_true(lpw_pktfwd_forwarder_up(e->pf, EUI_A));
	send_and_pump(e, e->a, d, lpw_pktfwd_build_push_data(2, EUI_A, &rx, 1, NULL, d, sizeof(d)));
	assert_int_equal(receive(e->a, d, sizeof(d)), 4);
	assert_int_equal(e->rec.uplinks, 1);
	lpw_pktfwd_counters_t c;
	lpw_pktfwd_get_counters(e->pf, &c);
	assert_int_equal(c.not_listed, 2);
	assert_int_equal(c.refused, 2);
}

static int count_in(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Issue 16.5: every refused datagram is counted by reason (and per forwarder where its EUI is known), reported
 * for telemetry, passed to the hook; the warnings about them go through the core rate limiter. */
static void test_refusals_counted_and_reported(void **state)
{
	struct env *e = *state = env_new(0);
	lpw_ratelimit_config_t lim = {.burst = 3, .per_period = 1, .period_ms = 10000};
	assert_int_equal(lpw_log_set_limits(&lim), 0);
	lpw_log_setup(LOG_INFO, LPW_LOG_TO_STDERR, "test");
	FILE *log = tmpfile();
	assert_non_null(log);
	fflush(stderr);
	int saved = dup(2);
	dup2(fileno(log), 2);

	pull(e, e->a, EUI_A, 1);
	static const uint8_t garbage_push[] = "\x02\x77\x88\x00\x00\x00\x00\x00\x00\x00\x00\xaa{\"rxpk\":\"junk\"}";
	uint8_t d[64];
	for (int i = 0; i < 100; i++) {
		send_and_pump(e, e->a, garbage_push, (int)sizeof(garbage_push) - 1);
		assert_int_equal(receive(e->a, d, sizeof(d)), 4); /* still acknowledged: the ack measures the path */
	}
	for (int i = 0; i < 50; i++)
		send_and_pump(e, e->b, (const uint8_t *)"\x07\x00\x00\x00", 4); /* no usable header: no EUI */
	send_and_pump(e, e->b, (const uint8_t *)"\x02\x00\x01\x01", 4); /* a PUSH_ACK: not for a server */
	advance(e, 10000);
	send_and_pump(e, e->b, (const uint8_t *)"\x02", 1);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char text[8192] = "";
	rewind(log);
	text[fread(text, 1, sizeof(text) - 1, log)] = '\0';
	fclose(log);
	assert_int_equal(count_in(text, "rejected:"), 4); /* one key (the host): the burst, then one 10 s later */
	assert_int_equal(count_in(text, "(147 similar suppressed)"), 1);

	lpw_pktfwd_counters_t c;
	lpw_pktfwd_get_counters(e->pf, &c);
	assert_int_equal(c.malformed, 151);
	assert_int_equal(c.unexpected, 1);
	assert_int_equal(c.refused, 152);
	assert_int_equal(e->rec.refused[LPW_PKTFWD_REFUSED_MALFORMED], 151);
	assert_int_equal(e->rec.refused[LPW_PKTFWD_REFUSED_UNEXPECTED], 1);
	assert_true(e->rec.refused_eui == 0);
	assert_int_equal(e->rec.uplinks, 0);

	json_t *r = lpw_pktfwd_report(e->pf);
	assert_non_null(r);
	json_t *refused = json_object_get(r, "refused");
	assert_int_equal(json_integer_value(json_object_get(refused, "malformed")), 151);
	assert_int_equal(json_integer_value(json_object_get(refused, "unexpected")), 1);
	assert_int_equal(json_integer_value(json_object_get(refused, "not_listed")), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "datagrams")), 153);
	json_t *a = json_object_get(json_object_get(r, "by_eui"), "00000000000000AA");
	assert_non_null(a);
	assert_int_equal(json_integer_value(json_object_get(a, "malformed")), 100);
	assert_int_equal(json_integer_value(json_object_get(a, "pull_data")), 1);
	assert_true(json_is_true(json_object_get(a, "up")));
	assert_int_equal(json_integer_value(json_object_get(a, "heard_s_ago")), 10);
	json_decref(r);
	assert_string_equal(lpw_pktfwd_refusal_name(LPW_PKTFWD_REFUSED_TABLE_FULL), "table_full");
	assert_string_equal(lpw_pktfwd_refusal_name(LPW_PKTFWD_REFUSED_COUNT), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_two_forwarders_one_goes_silent, env_teardown),
		cmocka_unit_test_teardown(test_malformed_counted_and_bad_push_still_acked, env_teardown),
		cmocka_unit_test_teardown(test_table_full, env_teardown),
		cmocka_unit_test(test_bad_listen_address),
		cmocka_unit_test_teardown(test_listed_forwarder_not_locked_out, env_teardown),
		cmocka_unit_test_teardown(test_only_listed, env_teardown),
		cmocka_unit_test_teardown(test_refusals_counted_and_reported, env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
