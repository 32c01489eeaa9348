/* The LoRaWAN network server over a real packet-forwarder link on loopback UDP, with the fake clock, a temporary
 * state store and a recording application server: ABP and OTAA uplinks, dedup over two forwarders, RX1/RX2
 * scheduling, payload limits, acknowledgements, MAC answers, replays, rollover and restart. The "device side"
 * checks every downlink with lw_crypto, as a real device would. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bindings/lorawan/lw_crypto.h"
#include "bindings/lorawan/lw_frame.h"
#include "bindings/lorawan/lw_ns_udp.h"
#include "hal/pktfwd.h"
#include "tests/unit/common/test_host.h"
#include "tests/unit/common/test_tmpdir.h"

#define EUI_A 0xAAAAAAAAAAAAAAAAULL
#define EUI_B 0xBBBBBBBBBBBBBBBBULL
#define ADDR 0x26011BDAu
#define TMST 5000000u

static const uint8_t NWK[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t APP[16] = { 0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD,
				 0xAE, 0xAF };
static const uint8_t APPKEY[16] = { 0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf,
				    0x4f, 0x3c };
static const uint8_t JOINEUI[8] = { 0x70, 0xB3, 0xD5, 0x7E, 0xD0, 0, 0, 1 };
static const uint8_t OTAA_EUI[8] = { 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x88 };

struct rec {
	int uplinks, rx_opens, joins, results;
	bool quiet; /* the application answers nothing (uplink hook returns false) */
	uint8_t fport;
	uint8_t data[256];
	size_t len;
	bool confirmed;
	int64_t deadline;
	uint32_t handle;
	lw_tx_result_t result;
	const lpw_device_t *dev;
};

struct env {
	char dir[64];
	lpw_clock_t *clk;
	lpw_loop_t *loop;
	lpw_store_t *store;
	lpw_config_t cfg;
	lpw_config_device_t devs[2];
	lw_ns_t ns;
	test_host_t th;
	lpw_device_t *h[2]; /* device handles of devs[] */
	struct rec rec;
	lpw_stats_t stats;
	int a, b;
};

static bool h_uplink(void *as, lpw_device_t *dev, uint8_t fport, const uint8_t *data, size_t len,
		     bool confirmed)
{
	struct rec *r = as;
	r->uplinks++;
	r->dev = dev;
	r->fport = fport;
	memcpy(r->data, data, len);
	r->len = len;
	r->confirmed = confirmed;
	return !r->quiet;
}

static void h_rx_open(void *as, lpw_device_t *dev, int64_t deadline)
{
	struct rec *r = as;
	r->rx_opens++;
	r->deadline = deadline;
}

static void h_tx_result(void *as, lpw_device_t *dev, uint32_t handle, lw_tx_result_t res)
{
	struct rec *r = as;
	r->results++;
	r->handle = handle;
	r->result = res;
}

static void h_joined(void *as, lpw_device_t *dev)
{
	((struct rec *)as)->joins++;
}

static int fwd_socket(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void pump(struct env *e)
{
	for (int i = 0; i < 4; i++)
		assert_true(lpw_loop_run_once(e->loop, 5) >= 0);
}

static void advance(struct env *e, int64_t ms)
{
	assert_int_equal(lpw_clock_advance(e->clk, ms), 0);
	assert_true(lpw_loop_run_once(e->loop, 0) >= 0);
}

static void start_ns(struct env *e)
{
	char err[256];
	e->store = lpw_store_open(e->dir, err, sizeof(err));
	assert_non_null(e->store);
	lw_as_hooks_t hooks = { h_uplink, h_rx_open, h_tx_result, h_joined, &e->rec };
	test_host_init(&e->th);
	lpw_binding_env_t env = { .loop = e->loop, .cfg = &e->cfg, .store = e->store, .stats = &e->stats,
				  .host = &e->th.host };
	assert_int_equal(lw_ns_udp_new(&env, &hooks, &e->ns), 0);
	for (int i = 0; i < 2; i++) {
		e->h[i] = test_host_add(&e->th, &e->devs[i]);
		assert_int_equal(e->ns.ops->device_add(e->ns.self, e->h[i]), 0);
	}
	uint16_t port = lw_ns_udp_port(&e->ns);
	e->a = fwd_socket(port);
	e->b = fwd_socket(port);
}

static void stop_ns(struct env *e)
{
	for (int i = 0; i < 2; i++)
		e->ns.ops->device_remove(e->ns.self, e->h[i]);
	e->ns.ops->free(e->ns.self);
	test_host_fini(&e->th);
	lpw_store_close(e->store);
	close(e->a);
	close(e->b);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/lw_ns_XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	e->clk = lpw_clock_new_fake(1000000);
	e->loop = lpw_loop_new(e->clk);
	lpw_config_lorawan_t *lw = &e->cfg.lorawan;
	*lw = (lpw_config_lorawan_t){ .enabled = true, .listen = "127.0.0.1", .port = 0, .region = LPW_REGION_EU868,
				      .rx2_dr = UINT32_MAX, .forwarder_timeout_s = 3600, .dedup_ms = 200 };
	lpw_config_device_t *abp = &e->devs[0], *otaa = &e->devs[1];
	abp->id = "abp-1";
	abp->binding = LPW_BINDING_LORAWAN;
	abp->identity = "0011223344556677";
	abp->lorawan.dev_addr = ADDR;
	memcpy(abp->lorawan.nwk_s_key, NWK, 16);
	memcpy(abp->lorawan.app_s_key, APP, 16);
	abp->lorawan.fport = 1;
	otaa->id = "otaa-1";
	otaa->binding = LPW_BINDING_LORAWAN;
	otaa->identity = "0011223344556688";
	otaa->lorawan.otaa = true;
	memcpy(otaa->lorawan.join_eui, JOINEUI, 8);
	memcpy(otaa->lorawan.app_key, APPKEY, 16);
	e->cfg.devices = e->devs;
	e->cfg.ndevices = 2;
	start_ns(e);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	stop_ns(e);
	lpw_loop_free(e->loop);
	lpw_clock_free(e->clk);
	int rc = lpw_test_rmtree(e->dir);
	free(e);
	return rc == 0 ? 0 : -1;
}

/* --- the forwarder and device side --- */

/* One uplink as forwarder fd (eui) hears it; a PULL_DATA first keeps the forwarder known and up. */
static void push(struct env *e, int fd, uint64_t eui, const uint8_t *phy, size_t len, unsigned sf, double snr)
{
	uint8_t d[2048];
	lpw_rxpk_t rx = { .tmst = TMST, .freq = 868.1, .stat = 1, .modu = LPW_MODU_LORA, .sf = (uint8_t)sf,
			  .bw_khz = 125, .codr = 5, .rssi = -60, .lsnr = snr, .size = (uint16_t)len };
	memcpy(rx.data, phy, len);
	int n = lpw_pktfwd_build_pull_data(1, eui, d, sizeof(d));
	assert_true(n > 0);
	assert_int_equal(send(fd, d, (size_t)n, 0), n);
	n = lpw_pktfwd_build_push_data(2, eui, &rx, 1, NULL, d, sizeof(d));
	assert_true(n > 0);
	assert_int_equal(send(fd, d, (size_t)n, 0), n);
	pump(e);
}

/* The next PULL_RESP on fd within wait_ms (acks skipped); false when none came. */
static bool pull_resp(int fd, int wait_ms, lpw_pktfwd_msg_t *m)
{
	uint8_t d[4096];
	char why[128];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (poll(&p, 1, wait_ms) == 1) {
		ssize_t n = recv(fd, d, sizeof(d), 0);
		if (n <= 0)
			return false;
		if (lpw_pktfwd_parse(d, (size_t)n, m, why, sizeof(why)) == 0 && m->kind == LPW_PKTFWD_PULL_RESP)
			return true;
	}
	return false;
}

static void tx_ack(struct env *e, int fd, uint64_t eui, uint16_t token, lpw_txack_error_t err)
{
	uint8_t d[512];
	int n = lpw_pktfwd_build_tx_ack(token, eui, err, err != LPW_TXACK_NONE, d, sizeof(d));
	assert_true(n > 0);
	assert_int_equal(send(fd, d, (size_t)n, 0), n);
	pump(e);
}

/* A data uplink as the device builds it. */
static size_t uplink(uint8_t *out, uint32_t addr, const uint8_t *nwk, const uint8_t *app, uint32_t fcnt,
		     bool confirmed, bool ack, int fport, const char *text, const uint8_t *fopts, uint8_t fopts_len)
{
	uint8_t enc[64];
	size_t tlen = text ? strlen(text) : 0, len;
	assert_int_equal(lw_crypto_payload(app, LW_DIR_UP, addr, fcnt, (const uint8_t *)text, enc, tlen), 0);
	struct lw_data_frame f = { .dev_addr = addr, .ack = ack, .fcnt = (uint16_t)fcnt, .fopts = fopts,
				   .fopts_len = fopts_len, .has_fport = fport >= 0, .fport = (uint8_t)(fport < 0 ? 0 : fport),
				   .frm_len = tlen, .frm_payload = enc };
	assert_int_equal(lw_frame_build_data(confirmed ? LW_MTYPE_CONF_UP : LW_MTYPE_UNCONF_UP, &f, NULL, out, 255, &len),
			 0);
	assert_int_equal(lw_crypto_data_mic(nwk, LW_DIR_UP, addr, fcnt, out, len - 4, out + len - 4), 0);
	return len;
}

static size_t abp_up(uint8_t *out, uint32_t fcnt, bool confirmed, const char *text)
{
	return uplink(out, ADDR, NWK, APP, fcnt, confirmed, false, text ? 1 : -1, text, NULL, 0);
}

/* Checks a downlink as the device would: MIC with FCntDown, decrypts into text (NUL-terminated). */
static struct lw_frame down(const lpw_txpk_t *tx, uint32_t addr, const uint8_t *nwk, const uint8_t *app,
			    uint32_t fcnt, char *text)
{
	struct lw_frame f;
	uint8_t mic[4];
	assert_int_equal(lw_frame_parse(tx->data, tx->size, &f, NULL), 0);
	assert_true(f.mtype == LW_MTYPE_UNCONF_DOWN || f.mtype == LW_MTYPE_CONF_DOWN);
	assert_int_equal(f.u.data.dev_addr, addr);
	assert_int_equal(f.u.data.fcnt, (uint16_t)fcnt);
	assert_int_equal(lw_crypto_data_mic(nwk, LW_DIR_DOWN, addr, fcnt, f.phy, f.mic_off, mic), 0);
	assert_memory_equal(mic, f.mic, 4);
	size_t n = f.u.data.frm_len;
	assert_int_equal(lw_crypto_payload(app, LW_DIR_DOWN, addr, fcnt, f.u.data.frm_payload, (uint8_t *)text, n), 0);
	text[n] = '\0';
	assert_true(tx->ipol);
	assert_int_equal(tx->codr, 5);
	assert_int_equal(tx->powe, 14);
	return f;
}

static lw_ns_udp_counters_t counters(struct env *e)
{
	lw_ns_udp_counters_t c;
	lw_ns_udp_get_counters(&e->ns, &c);
	return c;
}

static int ns_send(struct env *e, const char *text, bool confirmed, bool more, uint32_t *h)
{
	return e->ns.ops->send(e->ns.self, e->h[0], 1, (const uint8_t *)text, strlen(text), confirmed, more, h);
}

/* --- tests --- */

static void test_abp_uplink_and_replay(void **state)
{
	struct env *e = *state;
	uint8_t phy[255];
	size_t len = abp_up(phy, 1, false, "hello");
	int64_t t0 = lpw_clock_now_ms(e->clk);
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	assert_int_equal(e->rec.uplinks, 0); /* held for dedup_ms */
	advance(e, 200);
	assert_int_equal(e->rec.uplinks, 1);
	assert_ptr_equal(e->rec.dev, e->h[0]);
	assert_int_equal(e->rec.fport, 1);
	assert_int_equal(e->rec.len, 5);
	assert_memory_equal(e->rec.data, "hello", 5);
	assert_false(e->rec.confirmed);
	assert_int_equal(e->rec.rx_opens, 1);
	assert_int_equal(e->rec.deadline, t0 + 2000 - LW_NS_RX2_MARGIN_MS);

	/* an older frame is a replay and dropped; the same frame much later is a retransmission: delivered again, so
	 * that the application can answer it again from its cache (LwM2M App. C.3.1.1) */
	advance(e, 10000);
	len = abp_up(phy, 0, false, "old");
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	len = abp_up(phy, 1, false, "hello");
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 200);
	assert_int_equal(e->rec.uplinks, 2);
	assert_memory_equal(e->rec.data, "hello", 5);
	lw_ns_udp_counters_t c = counters(e);
	assert_int_equal(c.uplinks, 2); /* the retransmission opened RX windows again */
	assert_int_equal(c.replays, 1);
	assert_int_equal(c.retransmissions, 1);

	/* a bad MIC and an unknown DevAddr */
	len = abp_up(phy, 2, false, "x");
	phy[len - 1] ^= 1;
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	len = uplink(phy, 0x01020304, NWK, APP, 1, false, false, 1, "x", NULL, 0);
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	uint8_t junk[3] = { 0x40, 1, 2 };
	push(e, e->a, EUI_A, junk, sizeof(junk), 7, 5.0);
	advance(e, 200);
	c = counters(e);
	assert_int_equal(c.mic_failures, 1);
	assert_int_equal(c.unknown_devaddr, 1);
	assert_int_equal(c.malformed, 1);
	assert_int_equal(e->th.dropped, 1);
	assert_int_equal(e->stats.dropped_malformed, 1);
	assert_int_equal(e->rec.uplinks, 2);
}

static void test_fcnt_rollover(void **state)
{
	struct env *e = *state;
	uint8_t phy[255];
	const uint32_t fcnts[] = { 65534, 65535, 65536, 65537 };
	for (int i = 0; i < 4; i++) {
		size_t len = abp_up(phy, fcnts[i], false, "r");
		push(e, e->a, EUI_A, phy, len, 7, 5.0);
		advance(e, 5000);
		assert_int_equal(e->rec.uplinks, i + 1);
	}
	/* wire value 0 now means 131072, far out of reach: 65536 again is a replay */
	size_t len = abp_up(phy, 65536, false, "r");
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 5000);
	assert_int_equal(e->rec.uplinks, 4);
	assert_int_equal(counters(e).replays, 1);
}

/* Two forwarders hear one uplink: one delivery, the downlink (RX1) goes to the better one. */
static void test_dedup_and_rx1(void **state)
{
	struct env *e = *state;
	uint8_t phy[255];
	size_t len = abp_up(phy, 7, false, "up");
	push(e, e->a, EUI_A, phy, len, 7, -3.0);
	push(e, e->b, EUI_B, phy, len, 7, 8.5);
	advance(e, 200);
	assert_int_equal(e->rec.uplinks, 1);
	assert_int_equal(counters(e).duplicates, 1);

	uint32_t h = 0, h2;
	assert_int_equal(ns_send(e, "down!", false, true, &h), 0);
	assert_int_not_equal(h, 0);
	assert_int_equal(ns_send(e, "again", false, false, &h2), -EBUSY);
	lpw_pktfwd_msg_t m;
	assert_false(pull_resp(e->a, 20, &m));
	assert_true(pull_resp(e->b, 500, &m));
	assert_int_equal(m.txpk.tmst, TMST + 1000000);
	assert_true(m.txpk.freq > 868.0999 && m.txpk.freq < 868.1001);
	assert_int_equal(m.txpk.sf, 7);
	assert_int_equal(m.txpk.bw_khz, 125);
	assert_false(m.txpk.imme);
	char text[256];
	struct lw_frame f = down(&m.txpk, ADDR, NWK, APP, 0, text);
	assert_string_equal(text, "down!");
	assert_true(f.mtype == LW_MTYPE_UNCONF_DOWN);
	assert_true(f.u.data.fpending);
	assert_false(f.u.data.ack);
	assert_int_equal(f.u.data.fport, 1);
	assert_int_equal(e->rec.results, 0);
	tx_ack(e, e->b, EUI_B, m.token, LPW_TXACK_NONE);
	assert_int_equal(e->rec.results, 1);
	assert_int_equal(e->rec.handle, h);
	assert_int_equal(e->rec.result, LW_TX_SENT);
	assert_int_equal(counters(e).downlinks_sent, 1);
}

static void test_rx2_and_next_uplink(void **state)
{
	struct env *e = *state;
	uint8_t phy[255];
	char text[256];
	lpw_pktfwd_msg_t m;
	uint32_t h;
	size_t len = abp_up(phy, 1, false, "up");
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 200);
	advance(e, 1000 - LW_NS_RX1_MARGIN_MS - 200 + 1); /* one millisecond too late for RX1 */
	assert_int_equal(ns_send(e, "rx2", false, false, &h), 0);
	assert_true(pull_resp(e->a, 500, &m));
	assert_int_equal(m.txpk.tmst, TMST + 2000000);
	assert_true(m.txpk.freq > 869.5249 && m.txpk.freq < 869.5251);
	assert_int_equal(m.txpk.sf, 12);
	assert_int_equal(m.txpk.bw_khz, 125);
	down(&m.txpk, ADDR, NWK, APP, 0, text);
	assert_string_equal(text, "rx2");
	tx_ack(e, e->a, EUI_A, m.token, LPW_TXACK_TOO_LATE);
	assert_int_equal(e->rec.result, LW_TX_FAILED);
	assert_int_equal(counters(e).tx_failures, 1);

	/* after the deadline: nothing goes out until the next uplink, which takes it in RX1 */
	len = abp_up(phy, 2, false, NULL);
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 200);
	assert_int_equal(e->rec.rx_opens, 2);
	advance(e, e->rec.deadline - lpw_clock_now_ms(e->clk) + 1);
	assert_int_equal(ns_send(e, "later", false, false, &h), 0);
	assert_false(pull_resp(e->a, 50, &m));
	len = abp_up(phy, 3, false, NULL);
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	assert_false(pull_resp(e->a, 20, &m)); /* not before the dedup window closed */
	advance(e, 200);
	assert_true(pull_resp(e->a, 500, &m));
	assert_int_equal(m.txpk.tmst, TMST + 1000000);
	down(&m.txpk, ADDR, NWK, APP, 1, text);
	assert_string_equal(text, "later");
	/* this forwarder sends no TX_ACK: after a while the downlink counts as sent */
	int results = e->rec.results;
	advance(e, LW_NS_TXACK_WAIT_MS);
	assert_int_equal(e->rec.results, results + 1);
	assert_int_equal(e->rec.handle, h);
	assert_int_equal(e->rec.result, LW_TX_SENT);
}

static void test_payload_limit(void **state)
{
	struct env *e = *state;
	uint8_t phy[255], big[52] = { 0 };
	uint32_t h;
	size_t len = abp_up(phy, 1, false, "sf12");
	push(e, e->a, EUI_A, phy, len, 12, -10.0);
	advance(e, 200);
	assert_int_equal(e->ns.ops->max_payload(e->ns.self, e->h[0]), 51);
	assert_int_equal(e->ns.ops->send(e->ns.self, e->h[0], 1, big, 52, false, false, &h), -EMSGSIZE);
	assert_int_equal(e->ns.ops->send(e->ns.self, e->h[0], 1, big, 51, false, false, &h), 0);
	lpw_pktfwd_msg_t m;
	assert_true(pull_resp(e->a, 500, &m));
	assert_int_equal(m.txpk.sf, 12);
	assert_int_equal(m.txpk.size, 51 + 13);
}

/* LoRaWAN 1.0.x §4.3.1.2: a confirmed uplink with nothing for the application is acknowledged at once, in RX1. */
static void test_confirmed_uplink_empty_ack(void **state)
{
	struct env *e = *state;
	uint8_t phy[255];
	char text[256];
	lpw_pktfwd_msg_t m;
	size_t len = abp_up(phy, 1, true, NULL);
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 200);
	assert_int_equal(e->rec.uplinks, 0); /* no FRMPayload: nothing for the application */
	assert_int_equal(e->rec.rx_opens, 1);
	assert_true(pull_resp(e->a, 500, &m));
	assert_int_equal(m.txpk.tmst, TMST + 1000000);
	struct lw_frame f = down(&m.txpk, ADDR, NWK, APP, 0, text);
	assert_true(f.u.data.ack);
	assert_false(f.u.data.has_fport);
	assert_int_equal(f.u.data.fopts_len, 0);
	/* the device did not hear it and sends the frame again: acknowledged again */
	advance(e, 3000);
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 200);
	assert_true(pull_resp(e->a, 500, &m));
	f = down(&m.txpk, ADDR, NWK, APP, 1, text);
	assert_true(f.u.data.ack);
	assert_int_equal(counters(e).retransmissions, 1);
}

/* An application that answers nothing (an Empty CoAP message, a NON response): the ACK goes at once, in RX1. An
 * application that may still answer gets until shortly before the RX2 cutoff, and the ACK then still makes RX2
 * on a real clock (the old timer fired at the cutoff itself and missed it). */
static void test_confirmed_ack_timing(void **state)
{
	struct env *e = *state;
	uint8_t phy[255];
	char text[256];
	lpw_pktfwd_msg_t m;
	e->rec.quiet = true;
	size_t len = abp_up(phy, 1, true, "empty");
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 200);
	assert_int_equal(e->rec.uplinks, 1);
	assert_true(pull_resp(e->a, 500, &m));
	assert_int_equal(m.txpk.tmst, TMST + 1000000);
	assert_true(down(&m.txpk, ADDR, NWK, APP, 0, text).u.data.ack);

	e->rec.quiet = false;
	advance(e, 5000);
	len = abp_up(phy, 2, true, "request");
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 200);
	assert_false(pull_resp(e->a, 20, &m)); /* the application's answer may still come */
	advance(e, e->rec.deadline - LW_NS_TIMER_SLACK_MS - lpw_clock_now_ms(e->clk));
	assert_true(pull_resp(e->a, 500, &m));
	assert_int_equal(m.txpk.tmst, TMST + 2000000);
	assert_true(down(&m.txpk, ADDR, NWK, APP, 1, text).u.data.ack);
}

/* TX_ACK TOO_LATE for RX1: the same frame goes again for RX2; and the round trip it measured moves the windows
 * of the next uplink, so that RX2 is chosen up front when RX1 cannot be met. */
static void test_too_late_and_backhaul(void **state)
{
	struct env *e = *state;
	uint8_t phy[255];
	char text[256];
	lpw_pktfwd_msg_t m, again;
	uint32_t h;
	size_t len = abp_up(phy, 1, false, "up");
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 200);
	assert_int_equal(ns_send(e, "down", false, false, &h), 0);
	assert_true(pull_resp(e->a, 500, &m));
	assert_int_equal(m.txpk.tmst, TMST + 1000000);
	advance(e, 700); /* the backhaul is slow: 700 ms round trip */
	tx_ack(e, e->a, EUI_A, m.token, LPW_TXACK_TOO_LATE);
	assert_true(pull_resp(e->a, 500, &again));
	assert_int_equal(again.txpk.tmst, TMST + 2000000);
	assert_int_equal(again.txpk.size, m.txpk.size);
	assert_memory_equal(again.txpk.data, m.txpk.data, m.txpk.size); /* the same frame, same FCnt */
	advance(e, 700);
	tx_ack(e, e->a, EUI_A, again.token, LPW_TXACK_NONE);
	assert_int_equal(e->rec.result, LW_TX_SENT);
	assert_int_equal(counters(e).rx2_fallbacks, 1);
	assert_int_equal(counters(e).tx_failures, 0);

	advance(e, 5000);
	int64_t t0 = lpw_clock_now_ms(e->clk);
	len = abp_up(phy, 2, false, "up2");
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 200);
	/* one-way delay ~350 ms: the RX2 cutoff comes 700 ms earlier, and RX1 is out of reach at once */
	assert_true(e->rec.deadline < t0 + 2000 - LW_NS_RX2_MARGIN_MS);
	assert_int_equal(ns_send(e, "down2", false, false, &h), 0);
	assert_true(pull_resp(e->a, 500, &m));
	assert_int_equal(m.txpk.tmst, TMST + 2000000);
	assert_string_equal((down(&m.txpk, ADDR, NWK, APP, 1, text), text), "down2");
}

/* A confirmed downlink is settled by the ACK bit of the next uplink. */
static void test_confirmed_downlink(void **state)
{
	struct env *e = *state;
	uint8_t phy[255];
	char text[256];
	lpw_pktfwd_msg_t m;
	uint32_t h;
	size_t len = abp_up(phy, 1, true, "q");
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 200);
	assert_true(e->rec.confirmed);
	assert_int_equal(ns_send(e, "c", true, false, &h), 0);
	assert_true(pull_resp(e->a, 500, &m));
	struct lw_frame f = down(&m.txpk, ADDR, NWK, APP, 0, text);
	assert_true(f.mtype == LW_MTYPE_CONF_DOWN);
	assert_true(f.u.data.ack); /* the uplink was confirmed */
	tx_ack(e, e->a, EUI_A, m.token, LPW_TXACK_NONE);
	assert_int_equal(e->rec.results, 0);
	assert_int_equal(ns_send(e, "d", false, false, &h), -EBUSY);
	advance(e, 10000);
	len = uplink(phy, ADDR, NWK, APP, 2, false, true, -1, NULL, NULL, 0);
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	assert_int_equal(e->rec.results, 1);
	assert_int_equal(e->rec.result, LW_TX_ACKED);
	assert_int_equal(e->rec.handle, h == 0 ? 0 : e->rec.handle);
	assert_int_equal(counters(e).acked, 1);
}

static void test_mac_answers(void **state)
{
	struct env *e = *state;
	uint8_t phy[255];
	char text[256];
	lpw_pktfwd_msg_t m;
	const uint8_t req[] = { 0x02, 0x0D }; /* LinkCheckReq, DeviceTimeReq */
	size_t len = uplink(phy, ADDR, NWK, APP, 1, false, false, -1, NULL, req, 2);
	push(e, e->a, EUI_A, phy, len, 7, 2.0);
	push(e, e->b, EUI_B, phy, len, 7, 4.0);
	advance(e, 200);
	/* MAC commands alone: answered at once, in RX1, through the forwarder that heard best */
	assert_false(pull_resp(e->a, 20, &m));
	assert_true(pull_resp(e->b, 500, &m));
	assert_int_equal(m.txpk.tmst, TMST + 1000000);
	struct lw_frame f = down(&m.txpk, ADDR, NWK, APP, 0, text);
	assert_false(f.u.data.ack);
	assert_int_equal(f.u.data.fopts_len, 3 + 6);
	const uint8_t *o = f.u.data.fopts;
	assert_int_equal(o[0], 0x02);
	assert_int_equal(o[1], (40 + 75) / 10); /* 4.0 dB above SF7's -7.5 dB floor, whole dB */
	assert_int_equal(o[2], 2);              /* two gateways heard it */
	assert_int_equal(o[3], 0x0D);
	uint32_t gps = (uint32_t)o[4] | (uint32_t)o[5] << 8 | (uint32_t)o[6] << 16 | (uint32_t)o[7] << 24;
	int64_t want = (int64_t)time(NULL) - 315964800 + 18;
	assert_true(gps >= want - 5 && gps <= want + 5);
}

/* OTAA: Join-Accept at +5 s in RX1, decryptable with the AppKey; DevNonce reuse refused; then data. */
static void test_otaa_join(void **state)
{
	struct env *e = *state;
	uint8_t phy[255], mic[4], plain[16];
	struct lw_join_request jr = { .dev_nonce = 0x1234 };
	memcpy(jr.app_eui, JOINEUI, 8);
	memcpy(jr.dev_eui, OTAA_EUI, 8);
	assert_int_equal(lw_frame_build_join_request(&jr, NULL, phy, sizeof(phy)), 0);
	assert_int_equal(lw_crypto_join_mic(APPKEY, phy, 19, mic), 0);
	memcpy(phy + 19, mic, 4);
	push(e, e->a, EUI_A, phy, 23, 9, 1.0);
	assert_int_equal(e->rec.joins, 1);
	lpw_pktfwd_msg_t m;
	assert_false(pull_resp(e->a, 20, &m));
	advance(e, 200);
	assert_true(pull_resp(e->a, 500, &m));
	assert_int_equal(m.txpk.tmst, TMST + 5000000);
	assert_int_equal(m.txpk.sf, 9); /* RX1: the uplink's DR, offset 0 */
	assert_true(m.txpk.freq > 868.0999 && m.txpk.freq < 868.1001);
	assert_int_equal(m.txpk.size, 17);
	assert_int_equal(m.txpk.data[0], 0x20);
	assert_int_equal(lw_crypto_join_accept_decrypt(APPKEY, m.txpk.data + 1, plain, 16), 0);
	uint8_t msg[13];
	msg[0] = 0x20;
	memcpy(msg + 1, plain, 12);
	assert_int_equal(lw_crypto_join_mic(APPKEY, msg, 13, mic), 0);
	assert_memory_equal(mic, plain + 12, 4);
	uint32_t app_nonce = plain[0] | plain[1] << 8 | (uint32_t)plain[2] << 16;
	uint32_t addr = plain[6] | plain[7] << 8 | (uint32_t)plain[8] << 16 | (uint32_t)plain[9] << 24;
	uint8_t nwk[16], app[16];
	assert_int_equal(lw_crypto_derive_keys(APPKEY, app_nonce, 0, 0x1234, nwk, app), 0);

	/* the same DevNonce later: refused, nothing sent */
	advance(e, 20000);
	push(e, e->a, EUI_A, phy, 23, 9, 1.0);
	advance(e, 200);
	assert_false(pull_resp(e->a, 50, &m));
	assert_int_equal(counters(e).join_refused, 1);
	assert_int_equal(e->rec.joins, 1);

	/* the new session carries data */
	size_t len = uplink(phy, addr, nwk, app, 0, false, false, 1, "joined", NULL, 0);
	push(e, e->a, EUI_A, phy, len, 9, 1.0);
	advance(e, 200);
	assert_int_equal(e->rec.uplinks, 1);
	assert_ptr_equal(e->rec.dev, e->h[1]);
	assert_memory_equal(e->rec.data, "joined", 6);
	assert_int_equal(counters(e).joins, 1);
}

/* Close the server and the store, reopen: FCntUp and NFCntDown carry on. */
static void test_restart(void **state)
{
	struct env *e = *state;
	uint8_t phy[255];
	char text[256];
	lpw_pktfwd_msg_t m;
	uint32_t h;
	size_t len = abp_up(phy, 10, false, "a");
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 200);
	assert_int_equal(ns_send(e, "one", false, false, &h), 0);
	assert_true(pull_resp(e->a, 500, &m));
	down(&m.txpk, ADDR, NWK, APP, 0, text);
	stop_ns(e);
	start_ns(e);
	advance(e, 10000);
	len = abp_up(phy, 9, false, "old");
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 200);
	assert_int_equal(e->rec.uplinks, 1);
	assert_int_equal(counters(e).replays, 1);
	len = abp_up(phy, 11, false, "b");
	push(e, e->a, EUI_A, phy, len, 7, 5.0);
	advance(e, 200);
	assert_int_equal(e->rec.uplinks, 2);
	assert_int_equal(ns_send(e, "two", false, false, &h), 0);
	assert_true(pull_resp(e->a, 500, &m));
	down(&m.txpk, ADDR, NWK, APP, 1, text);
	assert_string_equal(text, "two");
}

/* Issue 16.5: garbage PUSH_DATA the link refuses counts as malformed input of the gateway, and the link's counters
 * (per reason, per forwarder) reach telemetry as the stats source "forwarders". */
static void test_refused_datagrams_counted(void **state)
{
	struct env *e = *state;
	static const uint8_t garbage[] = "\x02\x01\x02\x00\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa{\"rxpk\":[{\"tmst\":\"x\"}]}";
	for (int i = 0; i < 50; i++) {
		assert_int_equal(send(e->a, garbage, sizeof(garbage) - 1, 0), (ssize_t)sizeof(garbage) - 1);
		if (i % 10 == 9)
			pump(e);
	}
	assert_int_equal(send(e->b, "\x02\x00", 2, 0), 2);
	pump(e);
	assert_int_equal(e->stats.dropped_malformed, 51);
	assert_int_equal(e->rec.uplinks, 0);

	const lpw_stats_source_t *src = NULL;
	for (int i = 0; i < LPW_STATS_MAX_SOURCES; i++)
		if (e->stats.sources[i].name && strcmp(e->stats.sources[i].name, "forwarders") == 0)
			src = &e->stats.sources[i];
	assert_non_null(src);
	json_t *obj = json_object();
	src->report(src->arg, obj);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(obj, "refused"), "malformed")), 51);
	json_decref(obj);
	stop_ns(e);
	start_ns(e); /* the old instance left no source behind: one "forwarders" again, not two */
	int n = 0;
	for (int i = 0; i < LPW_STATS_MAX_SOURCES; i++)
		n += e->stats.sources[i].name && strcmp(e->stats.sources[i].name, "forwarders") == 0;
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_abp_uplink_and_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fcnt_rollover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dedup_and_rx1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx2_and_next_uplink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_payload_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirmed_uplink_empty_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirmed_ack_timing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_late_and_backhaul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirmed_downlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_otaa_join, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_datagrams_counted, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
