/* LoRaWAN sessions on the real state store (SQLite in a mkdtemp directory): ABP uplinks with replay and rollover,
 * downlinks verified from the device side, persistence across reopen, NFCntDown after a crash (a child process
 * that exits without closing), the OTAA join handler with DevNonce reuse refused, DevAddr allocation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bindings/lorawan/lw_crypto.h"
#include "bindings/lorawan/lw_frame.h"
#include "bindings/lorawan/lw_session.h"
#include "core/store.h"
#include "tests/unit/common/test_tmpdir.h"

#define DEV "dev-1"
#define ADDR 0x26011BDAu

struct fx {
	char dir[64];
	lpw_store_t *store;
	uint8_t nwk[16], app[16], app_key[16];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/lw_session_XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	fx->store = lpw_store_open(fx->dir, NULL, 0);
	for (int i = 0; i < 16; i++) {
		fx->nwk[i] = (uint8_t)(0xA0 + i);
		fx->app[i] = (uint8_t)(0x50 + i);
		fx->app_key[i] = (uint8_t)(0x10 * (i % 16));
	}
	*state = fx;
	return fx->store ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	lpw_store_close(fx->store);
	int rc = lpw_test_rmtree(fx->dir);
	free(fx);
	return rc == 0 ? 0 : -1;
}

static void reopen_store(struct fx *fx)
{
	lpw_store_close(fx->store);
	fx->store = lpw_store_open(fx->dir, NULL, 0);
	assert_non_null(fx->store);
}

static lw_session_t *open_abp(struct fx *fx)
{
	struct lw_session_config c = { .store = fx->store, .device_id = DEV, .abp_dev_addr = ADDR };
	memcpy(c.abp_nwk_skey, fx->nwk, 16);
	memcpy(c.abp_app_skey, fx->app, 16);
	char err[128] = "";
	lw_session_t *s = lw_session_open(&c, err, sizeof(err));
	if (!s)
		fail_msg("open: %s", err);
	return s;
}

/* What a device would send: an encrypted, signed data uplink with a 32-bit counter. */
static size_t device_uplink(const uint8_t *nwk, const uint8_t *app, uint32_t addr, uint32_t fcnt, uint8_t fport,
	const char *text, uint8_t *out)
{
	uint8_t enc[64];
	size_t len = strlen(text);
	assert_int_equal(lw_crypto_payload(fport ? app : nwk, LW_DIR_UP, addr, fcnt, (const uint8_t *)text, enc,
				 len), 0);
	struct lw_data_frame d = { .dev_addr = addr, .fcnt = (uint16_t)fcnt, .has_fport = true, .fport = fport,
		.frm_len = len, .frm_payload = enc };
	size_t n;
	assert_int_equal(lw_frame_build_data(LW_MTYPE_UNCONF_UP, &d, NULL, out, 255, &n), 0);
	assert_int_equal(lw_crypto_data_mic(nwk, LW_DIR_UP, addr, fcnt, out, n - 4, out + n - 4), 0);
	return n;
}

static int send_up(lw_session_t *s, const uint8_t *phy, size_t n, struct lw_uplink *up, uint8_t *pl)
{
	struct lw_frame f;
	assert_int_equal(lw_frame_parse(phy, n, &f, NULL), 0);
	return lw_session_uplink(s, &f, pl, 255, up);
}

static void test_abp_uplinks(void **state)
{
	struct fx *fx = *state;
	lw_session_t *s = open_abp(fx);
	uint8_t phy[255], pl[255];
	struct lw_uplink up;
	size_t n = device_uplink(fx->nwk, fx->app, ADDR, 1, 5, "first", phy);
	assert_int_equal(send_up(s, phy, n, &up, pl), 0);
	assert_int_equal(up.fcnt, 1);
	assert_int_equal(up.fport, 5);
	assert_memory_equal(pl, "first", 5);
	/* the same frame again: a retransmission, reported but not accepted anew */
	assert_int_equal(send_up(s, phy, n, &up, pl), -EALREADY);
	n = device_uplink(fx->nwk, fx->app, ADDR, 2, 5, "second", phy);
	assert_int_equal(send_up(s, phy, n, &up, pl), 0);
	/* replay of frame 1 */
	n = device_uplink(fx->nwk, fx->app, ADDR, 1, 5, "first", phy);
	assert_int_equal(send_up(s, phy, n, &up, pl), -ERANGE);
	/* a flipped MIC bit, a wrong key */
	n = device_uplink(fx->nwk, fx->app, ADDR, 3, 5, "third", phy);
	phy[n - 1] ^= 1;
	assert_int_equal(send_up(s, phy, n, &up, pl), -EBADMSG);
	n = device_uplink(fx->app, fx->app, ADDR, 3, 5, "third", phy);
	assert_int_equal(send_up(s, phy, n, &up, pl), -EBADMSG);
	/* FPort 0: MAC commands encrypted with the NwkSKey */
	n = device_uplink(fx->nwk, fx->app, ADDR, 3, 0, "\x02\x0d", phy);
	assert_int_equal(send_up(s, phy, n, &up, pl), 0);
	assert_int_equal(up.mac_len, 2);
	assert_int_equal(up.mac[1], 0x0d);
	/* persisted: after reopening the store, frame 3 is still a replay */
	lw_session_close(s);
	reopen_store(fx);
	s = open_abp(fx);
	uint32_t last = 0;
	assert_true(lw_session_fcnt_up(s, &last));
	assert_int_equal(last, 3);
	assert_int_equal(send_up(s, phy, n, &up, pl), -EALREADY);
	n = device_uplink(fx->nwk, fx->app, ADDR, 2, 5, "second", phy);
	assert_int_equal(send_up(s, phy, n, &up, pl), -ERANGE);
	lw_session_close(s);
}

static void test_abp_rollover(void **state)
{
	struct fx *fx = *state;
	lw_session_t *s = open_abp(fx);
	uint8_t phy[255], pl[255];
	struct lw_uplink up;
	/* walk to 65535 in MAX_FCNT_GAP steps, then past the 16-bit wrap */
	for (uint32_t fc = 16000; fc < 65535; fc += 16000) {
		size_t n = device_uplink(fx->nwk, fx->app, ADDR, fc, 1, "x", phy);
		assert_int_equal(send_up(s, phy, n, &up, pl), 0);
	}
	size_t n = device_uplink(fx->nwk, fx->app, ADDR, 65535, 1, "x", phy);
	assert_int_equal(send_up(s, phy, n, &up, pl), 0);
	n = device_uplink(fx->nwk, fx->app, ADDR, 65539, 1, "wrapped", phy);
	assert_int_equal(send_up(s, phy, n, &up, pl), 0);
	assert_int_equal(up.fcnt, 65539);
	assert_memory_equal(pl, "wrapped", 7);
	/* a frame signed with the 16-bit value only (a device that forgot the upper bits) fails its MIC */
	n = device_uplink(fx->nwk, fx->app, ADDR, 5, 1, "x", phy);
	assert_int_equal(send_up(s, phy, n, &up, pl), -EBADMSG);
	/* too far ahead */
	n = device_uplink(fx->nwk, fx->app, ADDR, 65539 + 20000, 1, "x", phy);
	assert_int_equal(send_up(s, phy, n, &up, pl), -ERANGE);
	assert_int_equal(up.fcnt, 65539 + 20000); /* the 32-bit value is what the log names, not the wire's 16 bits */
	lw_session_close(s);
}

/* The device's view of a downlink: MIC with the 32-bit counter, decrypt. */
static void device_check_downlink(struct fx *fx, const uint8_t *phy, size_t n, uint32_t fcnt, const char *text)
{
	struct lw_frame f;
	uint8_t mic[4], pl[255];
	assert_int_equal(lw_frame_parse(phy, n, &f, NULL), 0);
	assert_int_equal(f.mtype, LW_MTYPE_CONF_DOWN);
	assert_int_equal(f.u.data.fcnt, (uint16_t)fcnt);
	assert_int_equal(lw_crypto_data_mic(fx->nwk, LW_DIR_DOWN, ADDR, fcnt, phy, f.mic_off, mic), 0);
	assert_memory_equal(mic, f.mic, 4);
	assert_int_equal(lw_crypto_payload(fx->app, LW_DIR_DOWN, ADDR, fcnt, f.u.data.frm_payload, pl,
				 f.u.data.frm_len), 0);
	assert_memory_equal(pl, text, strlen(text));
}

static int downlink(lw_session_t *s, const char *text, uint8_t *out, size_t *n, uint32_t *fc)
{
	struct lw_downlink dl = { .confirmed = true, .ack = true, .has_fport = true, .fport = 7,
		.payload = (const uint8_t *)text, .payload_len = strlen(text) };
	return lw_session_downlink(s, &dl, out, 255, n, fc);
}

static void test_downlink_clean_restart(void **state)
{
	struct fx *fx = *state;
	lw_session_t *s = open_abp(fx);
	uint8_t out[255];
	size_t n;
	uint32_t fc;
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(downlink(s, "hello", out, &n, &fc), 0);
		assert_int_equal(fc, i);
		device_check_downlink(fx, out, n, fc, "hello");
	}
	/* size limits: max_len, FOpts with FPort 0 */
	struct lw_downlink dl = { .has_fport = true, .fport = 1, .payload = out, .payload_len = 20, .max_len = 30 };
	assert_int_equal(lw_session_downlink(s, &dl, out, 255, &n, &fc), -EMSGSIZE);
	dl = (struct lw_downlink){ .has_fport = true, .fport = 0, .fopts = out, .fopts_len = 1 };
	assert_int_equal(lw_session_downlink(s, &dl, out, 255, &n, &fc), -EINVAL);
	lw_session_close(s);
	reopen_store(fx);
	s = open_abp(fx);
	/* a clean stop skips nothing */
	assert_int_equal(lw_session_fcnt_down_next(s), 3);
	assert_int_equal(downlink(s, "again", out, &n, &fc), 0);
	assert_int_equal(fc, 3);
	device_check_downlink(fx, out, n, fc, "again");
	lw_session_close(s);
}

/* A child process hands out downlink counters and exits without closing anything (a crash as far as the store
 * can tell); the parent then reopens and must resume above every value the child used. */
static void test_downlink_after_crash(void **state)
{
	struct fx *fx = *state;
	lpw_store_close(fx->store);
	fx->store = NULL;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		lpw_store_t *st = lpw_store_open(fx->dir, NULL, 0);
		struct lw_session_config c = { .store = st, .device_id = DEV, .abp_dev_addr = ADDR,
			.fcnt_down_margin = 16 };
		lw_session_t *s = st ? lw_session_open(&c, NULL, 0) : NULL;
		uint8_t out[255];
		size_t n;
		uint32_t fc = 0;
		for (int i = 0; s && i < 40; i++)
			if (downlink(s, "x", out, &n, &fc) != 0)
				_exit(2);
		if (!s || write(fds[1], &fc, sizeof(fc)) != sizeof(fc))
			_exit(3);
		_exit(0); /* no close: the exact counter is never written */
	}
	close(fds[1]);
	uint32_t last_used = 0;
	assert_int_equal(read(fds[0], &last_used, sizeof(last_used)), sizeof(last_used));
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(last_used, 39);
	fx->store = lpw_store_open(fx->dir, NULL, 0);
	assert_non_null(fx->store);
	lw_session_t *s = open_abp(fx);
	assert_true(lw_session_fcnt_down_next(s) > last_used);
	assert_true(lw_session_fcnt_down_next(s) <= last_used + 1 + 16); /* skips at most one margin */
	uint8_t out[255];
	size_t n;
	uint32_t fc;
	assert_int_equal(downlink(s, "after", out, &n, &fc), 0);
	assert_true(fc > last_used);
	lw_session_close(s);
}

static lw_session_t *open_otaa(struct fx *fx, unsigned hist)
{
	struct lw_session_config c = { .store = fx->store, .device_id = "otaa-1", .otaa = true,
		.devnonce_history = hist };
	for (int i = 0; i < 8; i++) {
		c.dev_eui[i] = (uint8_t)(0x70 + i);
		c.app_eui[i] = (uint8_t)(0x01 + i);
	}
	memcpy(c.app_key, fx->app_key, 16);
	lw_session_t *s = lw_session_open(&c, NULL, 0);
	assert_non_null(s);
	return s;
}

static size_t device_join_request(struct fx *fx, uint16_t dev_nonce, uint8_t *out)
{
	struct lw_join_request jr = { .dev_nonce = dev_nonce };
	for (int i = 0; i < 8; i++) {
		jr.dev_eui[i] = (uint8_t)(0x70 + i);
		jr.app_eui[i] = (uint8_t)(0x01 + i);
	}
	assert_int_equal(lw_frame_build_join_request(&jr, NULL, out, 23), 0);
	assert_int_equal(lw_crypto_join_mic(fx->app_key, out, 19, out + 19), 0);
	return 23;
}

static int join(lw_session_t *s, const uint8_t *jr, uint32_t dev_addr, uint8_t *accept)
{
	struct lw_frame f;
	struct lw_join_params jp = { .net_id = 0x000013, .dev_addr = dev_addr, .rx1_dr_offset = 1, .rx2_dr = 3,
		.rx_delay_s = 1 };
	size_t n = 0;
	assert_int_equal(lw_frame_parse(jr, 23, &f, NULL), 0);
	int rc = lw_session_join(s, &f, &jp, accept, 64, &n);
	if (rc == 0)
		assert_int_equal(n, 17);
	return rc;
}

/* Device side: decrypt and check the Join-Accept, derive the keys, and prove them by an uplink. */
static void device_accept(struct fx *fx, lw_session_t *s, const uint8_t *accept, uint16_t dev_nonce)
{
	uint8_t plain[17], mic[4], nwk[16], app[16], phy[255], pl[255];
	plain[0] = accept[0];
	assert_int_equal(plain[0], 0x20);
	assert_int_equal(lw_crypto_join_accept_decrypt(fx->app_key, accept + 1, plain + 1, 16), 0);
	assert_int_equal(lw_crypto_join_mic(fx->app_key, plain, 13, mic), 0);
	assert_memory_equal(mic, plain + 13, 4);
	uint32_t app_nonce = plain[1] | plain[2] << 8 | (uint32_t)plain[3] << 16;
	uint32_t net_id = plain[4] | plain[5] << 8 | (uint32_t)plain[6] << 16;
	uint32_t addr = plain[7] | plain[8] << 8 | (uint32_t)plain[9] << 16 | (uint32_t)plain[10] << 24;
	assert_int_equal(net_id, 0x13);
	assert_int_equal(addr, lw_session_dev_addr(s));
	assert_int_equal(plain[11], 0x13); /* RX1DROffset 1, RX2 DR3 */
	assert_int_equal(plain[12], 1);
	assert_int_equal(lw_crypto_derive_keys(fx->app_key, app_nonce, net_id, dev_nonce, nwk, app), 0);
	struct lw_uplink up;
	size_t n = device_uplink(nwk, app, addr, 0, 9, "joined", phy);
	assert_int_equal(send_up(s, phy, n, &up, pl), 0);
	assert_memory_equal(pl, "joined", 6);
}

static void test_otaa_join(void **state)
{
	struct fx *fx = *state;
	lw_session_t *s = open_otaa(fx, 0);
	assert_false(lw_session_joined(s));
	uint8_t jr[23], accept[64], phy[255], pl[255];
	struct lw_uplink up;
	/* an uplink before any join */
	size_t n = device_uplink(fx->nwk, fx->app, ADDR, 0, 1, "x", phy);
	assert_int_equal(send_up(s, phy, n, &up, pl), -ENOTCONN);
	uint32_t prefix, addr;
	unsigned bits;
	assert_int_equal(lw_devaddr_prefix_from_netid(0x000013, &prefix, &bits), 0);
	assert_int_equal(prefix, 0x26000000u);
	assert_int_equal(bits, 7);
	assert_int_equal(lw_devaddr_alloc(fx->store, prefix, bits, &addr), 0);
	assert_int_equal(addr, 0x26000000u);
	device_join_request(fx, 0x1234, jr);
	assert_int_equal(join(s, jr, addr, accept), 0);
	assert_true(lw_session_joined(s));
	device_accept(fx, s, accept, 0x1234);
	/* DevNonce reuse refused, also after reopening the store */
	assert_int_equal(join(s, jr, addr, accept), -EALREADY);
	lw_session_close(s);
	reopen_store(fx);
	s = open_otaa(fx, 0);
	assert_true(lw_session_joined(s));
	assert_int_equal(lw_session_dev_addr(s), 0x26000000u);
	assert_int_equal(join(s, jr, addr, accept), -EALREADY);
	/* a bad MIC, another device */
	device_join_request(fx, 0x2222, jr);
	jr[22] ^= 0x80;
	assert_int_equal(join(s, jr, addr, accept), -EBADMSG);
	device_join_request(fx, 0x2222, jr);
	jr[9] ^= 1;
	assert_int_equal(join(s, jr, addr, accept), -EINVAL);
	/* a second join: new DevAddr from the allocator, new AppNonce, new keys, counters reset */
	assert_int_equal(lw_devaddr_alloc(fx->store, prefix, bits, &addr), 0);
	assert_int_equal(addr, 0x26000001u);
	device_join_request(fx, 0x2222, jr);
	assert_int_equal(join(s, jr, addr, accept), 0);
	assert_false(lw_session_fcnt_up(s, NULL));
	assert_int_equal(lw_session_fcnt_down_next(s), 0);
	device_accept(fx, s, accept, 0x2222);
	lw_session_close(s);
}

static void test_devnonce_history_bound(void **state)
{
	struct fx *fx = *state;
	lw_session_t *s = open_otaa(fx, 2);
	uint8_t jr[23], accept[64];
	for (uint16_t nonce = 1; nonce <= 3; nonce++) {
		device_join_request(fx, nonce, jr);
		assert_int_equal(join(s, jr, 0x26000010u + nonce, accept), 0);
	}
	device_join_request(fx, 3, jr);
	assert_int_equal(join(s, jr, 0x26000020u, accept), -EALREADY);
	device_join_request(fx, 2, jr);
	assert_int_equal(join(s, jr, 0x26000020u, accept), -EALREADY);
	/* the oldest one has been forgotten: the documented 1.0.x limit of a bounded history */
	device_join_request(fx, 1, jr);
	assert_int_equal(join(s, jr, 0x26000020u, accept), 0);
	lw_session_close(s);
	assert_int_equal(lw_devaddr_prefix_from_netid(0x600000, NULL, NULL), -ENOTSUP);
	assert_int_equal(lw_devaddr_prefix_from_netid(0x200001, &(uint32_t){ 0 }, &(unsigned){ 0 }), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_abp_uplinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abp_rollover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_downlink_clean_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_downlink_after_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_otaa_join, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devnonce_history_bound, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
