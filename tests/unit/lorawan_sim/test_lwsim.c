/* unit_lorawan_sim: lorawan-sim's device (join, frames, App. C schedule, RX windows) against a fake radio and the
 * fake clock, its loss injection, and its packet forwarder against a tiny fake network server on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <coap3/coap.h>
#include <mbedtls/aes.h>
#include <mbedtls/cipher.h>
#include <mbedtls/cmac.h>

#include "bindings/lorawan/lw_frame.h"
#include "hal/pktfwd.h"
#include "tools/lorawan-sim/loss.h"
#include "tools/lorawan-sim/lwdev.h"
#include "tools/lorawan-sim/pfsim.h"

#define MAX_UP 64
#define MAX_EVENTS 256

static const uint8_t APP_KEY[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
				    0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
static const uint8_t NWK_SKEY[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t APP_SKEY[16] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
static const uint8_t DEV_EUI[8] = {0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0x00, 0x00, 0x01};
static const uint8_t JOIN_EUI[8] = {0x70, 0xb3, 0xd5, 0x7e, 0xf0, 0x00, 0x00, 0x00};
#define ABP_ADDR 0x26011234u

struct up {
	uint8_t phy[LW_PHY_MAX];
	size_t len;
	uint32_t tmst, freq;
	int64_t at;
};

struct fixture {
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	lpw_lwdev_t *dev;
	struct up up[MAX_UP];
	size_t nup;
	char *events[MAX_EVENTS];
	size_t nevents;
	/* the session, as the test's network server knows it */
	uint32_t dev_addr;
	uint8_t nwk[16], app[16];
	uint32_t fcnt_down;
};

static int fake_uplink(void *ctx, lpw_lwdev_t *dev, const uint8_t *phy, size_t len, uint32_t freq_hz, unsigned dr,
		       uint32_t *out_tmst)
{
	struct fixture *f = ctx;
	assert_true(f->nup < MAX_UP);
	assert_int_equal(dr, 5);
	struct up *u = &f->up[f->nup++];
	memcpy(u->phy, phy, len);
	u->len = len;
	u->freq = freq_hz;
	u->at = lpw_clock_now_ms(f->clock);
	u->tmst = *out_tmst = lpw_lwdev_tmst(u->at);
	return 0;
}

static void on_event(void *arg, const char *json)
{
	struct fixture *f = arg;
	if (f->nevents < MAX_EVENTS)
		f->events[f->nevents++] = strdup(json);
}

static size_t count_events(struct fixture *f, const char *needle)
{
	size_t n = 0;
	for (size_t i = 0; i < f->nevents; i++)
		n += strstr(f->events[i], needle) != NULL;
	return n;
}

static struct fixture *fixture_alloc(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->clock = lpw_clock_new_fake(1000000);
	f->loop = lpw_loop_new(f->clock);
	return f;
}

/* radio NULL: the fake radio that records uplinks in f->up. */
static void fixture_add_dev(struct fixture *f, bool otaa, void (*tune)(lpw_lwdev_config_t *),
			    const lpw_lwdev_radio_t *radio)
{
	lpw_lwdev_config_t cfg;
	lpw_lwdev_config_defaults(&cfg);
	cfg.otaa = otaa;
	memcpy(cfg.dev_eui, DEV_EUI, 8);
	memcpy(cfg.join_eui, JOIN_EUI, 8);
	memcpy(cfg.app_key, APP_KEY, 16);
	cfg.dev_addr = ABP_ADDR;
	memcpy(cfg.nwk_skey, NWK_SKEY, 16);
	memcpy(cfg.app_skey, APP_SKEY, 16);
	cfg.dev_nonce_seed = 99;
	cfg.client.seed = 5;
	cfg.client.register_minimal = true;
	cfg.on_event = on_event;
	cfg.event_arg = f;
	if (tune)
		tune(&cfg);
	lpw_lwdev_radio_t fake = {.uplink = fake_uplink, .ctx = f};
	f->dev = lpw_lwdev_new(f->loop, radio ? radio : &fake, &cfg);
	assert_non_null(f->dev);
	if (!otaa) {
		f->dev_addr = ABP_ADDR;
		memcpy(f->nwk, NWK_SKEY, 16);
		memcpy(f->app, APP_SKEY, 16);
	}
}

static struct fixture *fixture_new(bool otaa, void (*tune)(lpw_lwdev_config_t *))
{
	struct fixture *f = fixture_alloc();
	fixture_add_dev(f, otaa, tune, NULL);
	return f;
}

static void fixture_free(struct fixture *f)
{
	lpw_lwdev_free(f->dev);
	lpw_loop_free(f->loop);
	lpw_clock_free(f->clock);
	for (size_t i = 0; i < f->nevents; i++)
		free(f->events[i]);
	free(f);
}

static void run_for(struct fixture *f, int64_t ms)
{
	for (int64_t t = 0; t < ms; t += 10) {
		assert_int_equal(lpw_clock_advance(f->clock, 10), 0);
		assert_true(lpw_loop_run_once(f->loop, 0) >= 0);
	}
}

/* ---- reference crypto straight from mbedTLS (no lw_crypto, no lw_session) ---- */

static void ref_aes(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
	mbedtls_aes_context aes;
	mbedtls_aes_init(&aes);
	assert_int_equal(mbedtls_aes_setkey_enc(&aes, key, 128), 0);
	assert_int_equal(mbedtls_aes_crypt_ecb(&aes, MBEDTLS_AES_ENCRYPT, in, out), 0);
	mbedtls_aes_free(&aes);
}

static void ref_cmac4(const uint8_t key[16], const uint8_t *msg, size_t len, uint8_t out[4])
{
	uint8_t full[16];
	const mbedtls_cipher_info_t *info = mbedtls_cipher_info_from_type(MBEDTLS_CIPHER_AES_128_ECB);
	assert_int_equal(mbedtls_cipher_cmac(info, key, 128, msg, len, full), 0);
	memcpy(out, full, 4);
}

/* LoRaWAN 1.0.3 §4.3.3 / §4.4 block: tag | 4x00 | dir | DevAddr LE | FCnt LE | 00 | last */
static void ref_block(uint8_t b[16], uint8_t tag, int dir, uint32_t addr, uint32_t fcnt, uint8_t last)
{
	memset(b, 0, 16);
	b[0] = tag;
	b[5] = (uint8_t)dir;
	for (int i = 0; i < 4; i++) {
		b[6 + i] = (uint8_t)(addr >> (8 * i));
		b[10 + i] = (uint8_t)(fcnt >> (8 * i));
	}
	b[15] = last;
}

/* Checks an uplink data frame's MIC under nwk and returns its decrypted FRMPayload length (payload in out). */
static size_t ref_open_uplink(struct fixture *f, const struct up *u, uint8_t mtype, uint32_t fcnt, uint8_t *out)
{
	assert_true(u->len >= 13);
	assert_int_equal(u->phy[0] >> 5, mtype);
	uint32_t addr = u->phy[1] | u->phy[2] << 8 | u->phy[3] << 16 | (uint32_t)u->phy[4] << 24;
	assert_int_equal(addr, f->dev_addr);
	assert_int_equal(u->phy[5] & 0x0f, 0); /* no FOpts */
	assert_int_equal(u->phy[6] | u->phy[7] << 8, fcnt & 0xffff);
	uint8_t msg[16 + LW_PHY_MAX], mic[4];
	size_t mlen = u->len - 4;
	ref_block(msg, 0x49, 0, addr, fcnt, (uint8_t)mlen);
	memcpy(msg + 16, u->phy, mlen);
	ref_cmac4(f->nwk, msg, 16 + mlen, mic);
	assert_memory_equal(mic, u->phy + mlen, 4);
	size_t plen = mlen - 9;
	for (size_t i = 0; i < plen; i += 16) {
		uint8_t a[16], s[16];
		ref_block(a, 0x01, 0, addr, fcnt, (uint8_t)(i / 16 + 1));
		ref_aes(f->app, a, s);
		for (size_t k = 0; k < 16 && i + k < plen; k++)
			out[i + k] = u->phy[9 + i + k] ^ s[k];
	}
	return plen;
}

/* "CON" (a CoAP CON with a code), "E" (Empty), or "ACK"/"NON" */
static const char *uplink_kind(struct fixture *f, size_t i, uint8_t mtype, uint16_t *out_mid)
{
	uint8_t p[LW_PHY_MAX];
	size_t n = ref_open_uplink(f, &f->up[i], mtype, (uint32_t)i, p);
	assert_true(n >= 4);
	if (out_mid)
		*out_mid = (uint16_t)(p[2] << 8 | p[3]);
	if (p[1] == 0) {
		assert_int_equal(n, 4);
		assert_int_equal(p[0], 0x40); /* Ver 1, CON, TKL 0: an Empty message */
		return "E";
	}
	return ((p[0] >> 4) & 3) == 0 ? "CON" : ((p[0] >> 4) & 3) == 2 ? "ACK" : "NON";
}

static void uplink_sequence(struct fixture *f, uint8_t mtype, char *out, size_t cap)
{
	out[0] = '\0';
	for (size_t i = 0; i < f->nup; i++) {
		strncat(out, i ? " " : "", cap - strlen(out) - 1);
		strncat(out, uplink_kind(f, i, mtype, NULL), cap - strlen(out) - 1);
	}
}

/* A data downlink as the network server builds it (with the gateway's primitives). */
static void make_downlink(struct fixture *f, const uint8_t *coap, size_t len, bool ack, uint32_t tmst,
			  uint32_t freq_hz, uint8_t sf, lpw_txpk_t *tx)
{
	uint8_t enc[LW_PHY_MAX];
	size_t plen;
	assert_int_equal(lw_crypto_payload(f->app, LW_DIR_DOWN, f->dev_addr, f->fcnt_down, coap, enc, len), 0);
	struct lw_data_frame d = {.dev_addr = f->dev_addr, .ack = ack, .fcnt = (uint16_t)f->fcnt_down,
				  .has_fport = len > 0, .fport = 1, .frm_len = len, .frm_payload = enc};
	*tx = (lpw_txpk_t){.tmst = tmst, .freq = freq_hz / 1e6, .sf = sf, .bw_khz = 125, .codr = 5, .ipol = true,
			   .powe = 14};
	assert_int_equal(lw_frame_build_data(LW_MTYPE_UNCONF_DOWN, &d, NULL, tx->data, sizeof(tx->data), &plen), 0);
	assert_int_equal(lw_crypto_data_mic(f->nwk, LW_DIR_DOWN, f->dev_addr, f->fcnt_down, tx->data, plen - 4,
					    tx->data + plen - 4), 0);
	tx->size = (uint16_t)plen;
	f->fcnt_down++;
}

static void ref_aes_dec(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
	mbedtls_aes_context aes;
	mbedtls_aes_init(&aes);
	assert_int_equal(mbedtls_aes_setkey_dec(&aes, key, 128), 0);
	assert_int_equal(mbedtls_aes_crypt_ecb(&aes, MBEDTLS_AES_DECRYPT, in, out), 0);
	mbedtls_aes_free(&aes);
}

/* Join-Request bytes, Join-Accept handling and key derivation, checked with mbedTLS directly. */
static void test_join_exchange(void **state)
{
	struct fixture *f = fixture_new(true, NULL);
	assert_int_equal(lpw_lwdev_start(f->dev, 0), 0);
	run_for(f, 50);
	assert_int_equal(f->nup, 1);
	struct up *u = &f->up[0];
	assert_int_equal(u->len, 23);
	assert_int_equal(u->phy[0], 0x00); /* MHDR: Join-Request, Major R1 */
	for (int i = 0; i < 8; i++) {
		assert_int_equal(u->phy[1 + i], JOIN_EUI[7 - i]); /* EUIs are little-endian on the air */
		assert_int_equal(u->phy[9 + i], DEV_EUI[7 - i]);
	}
	uint16_t nonce = (uint16_t)(u->phy[17] | u->phy[18] << 8);
	uint8_t mic[4];
	ref_cmac4(APP_KEY, u->phy, 19, mic);
	assert_memory_equal(mic, u->phy + 19, 4);

	/* Join-Accept: AppNonce 0x123456, NetID 0x000013, DevAddr 0x26ABCDEF, DLSettings 0, RxDelay 1 */
	uint8_t pt[16] = {0x56, 0x34, 0x12, 0x13, 0, 0, 0xef, 0xcd, 0xab, 0x26, 0x00, 0x01};
	uint8_t msg[13] = {0x20};
	memcpy(msg + 1, pt, 12);
	ref_cmac4(APP_KEY, msg, 13, pt + 12);
	lpw_txpk_t tx = {.tmst = u->tmst + 3000000, .freq = u->freq / 1e6, .sf = 7, .bw_khz = 125, .codr = 5,
			 .ipol = true, .size = 17};
	tx.data[0] = 0x20;
	ref_aes_dec(APP_KEY, pt, tx.data + 1); /* the network "encrypts" with AES decrypt */
	/* 3 s after the request is no join window: not claimed */
	assert_int_equal(lpw_lwdev_offer(f->dev, &tx, false), -ENOENT);
	tx.tmst = u->tmst + 5000000; /* JOIN_ACCEPT_DELAY1 */
	assert_int_equal(lpw_lwdev_offer(f->dev, &tx, false), 0);
	assert_false(lpw_lwdev_joined(f->dev)); /* heard at its tmst, not before */
	run_for(f, 5000);
	assert_true(lpw_lwdev_joined(f->dev));
	assert_int_equal(lpw_lwdev_dev_addr(f->dev), 0x26abcdef);
	assert_int_equal(count_events(f, "\"event\":\"joined\",\"deveui\":\"70B3D57ED0000001\",\"devaddr\":\"26ABCDEF\""),
			 1);

	/* session keys (1.0.3 §6.2.5), by hand */
	uint8_t b[16] = {0x01};
	memcpy(b + 1, pt, 6);
	b[7] = (uint8_t)nonce;
	b[8] = (uint8_t)(nonce >> 8);
	ref_aes(APP_KEY, b, f->nwk);
	b[0] = 0x02;
	ref_aes(APP_KEY, b, f->app);
	f->dev_addr = 0x26abcdef;

	/* auto-register: the first data uplink, once the join windows have closed */
	run_for(f, 2000);
	assert_int_equal(f->nup, 2);
	assert_true(f->up[1].at >= f->up[0].at + 6000);
	uint8_t p[LW_PHY_MAX];
	size_t n = ref_open_uplink(f, &f->up[1], LW_MTYPE_UNCONF_UP, 0, p);
	assert_int_equal(f->up[1].phy[8], 1); /* FPort */
	assert_true(n > 8);
	assert_int_equal(p[0] & 0xf0, 0x40); /* CON */
	assert_int_equal(p[1], 0x02);        /* POST */
	/* token (4) then Uri-Path "rd" (option 11), then the object list: no Uri-Query (register-minimal) */
	assert_int_equal(p[0] & 0x0f, 4);
	assert_int_equal(p[8], 0xb2);
	assert_memory_equal(p + 9, "rd", 2);
	assert_int_equal(p[11] >> 4, 1); /* next option: delta 1 = Content-Format (12), not Uri-Query (15) */
	assert_non_null(memmem(p, n, "</3/0>", 6));
	fixture_free(f);
}

static void tune_confirmed(lpw_lwdev_config_t *c)
{
	c->confirmed = true;
	c->auto_register = false;
}

static void tune_unconfirmed(lpw_lwdev_config_t *c)
{
	c->auto_register = false;
}

/* App. C.3.1.1: CON, then MAX_RETRANSMIT Empty messages one uplink interval apart, then give up. */
static void test_appc_confirmed(void **state)
{
	struct fixture *f = fixture_new(false, tune_confirmed);
	char seq[128];
	assert_int_equal(lpw_lwdev_start(f->dev, 0), 0);
	assert_int_equal(lpw_devsim_client_register(lpw_lwdev_client(f->dev)), 0);
	run_for(f, 40000);
	uplink_sequence(f, LW_MTYPE_CONF_UP, seq, sizeof(seq));
	assert_string_equal(seq, "CON E E E E");
	for (size_t i = 1; i < f->nup; i++)
		assert_int_equal(f->up[i].at - f->up[i - 1].at, 5000);
	assert_int_equal(count_events(f, "\"event\":\"coap-giveup\""), 1);
	assert_int_equal(count_events(f, "\"event\":\"uplink\",\"fcnt\":4,\"confirmed\":true,\"kind\":\"empty\""), 1);
	fixture_free(f);
}

/* App. C.3.2.1: Empty and a resend of the same CON alternate, MAX_RETRANSMIT times each. */
static void test_appc_unconfirmed(void **state)
{
	struct fixture *f = fixture_new(false, tune_unconfirmed);
	char seq[128];
	assert_int_equal(lpw_lwdev_start(f->dev, 0), 0);
	assert_int_equal(lpw_devsim_client_register(lpw_lwdev_client(f->dev)), 0);
	run_for(f, 60000);
	uplink_sequence(f, LW_MTYPE_UNCONF_UP, seq, sizeof(seq));
	assert_string_equal(seq, "CON E CON E CON E CON E CON");
	uint16_t mid0, mid;
	uplink_kind(f, 0, LW_MTYPE_UNCONF_UP, &mid0);
	for (size_t i = 2; i < f->nup; i += 2) {
		uplink_kind(f, i, LW_MTYPE_UNCONF_UP, &mid);
		assert_int_equal(mid, mid0); /* the initial CON, resent as it was */
	}
	assert_int_equal(count_events(f, "\"event\":\"coap-giveup\""), 1);
	fixture_free(f);
}

/* The ACK in RX1 ends the exchange; a server request in RX2 is answered piggybacked in the next uplink. */
static void test_appc_ack_and_server_request(void **state)
{
	struct fixture *f = fixture_new(false, tune_unconfirmed);
	uint8_t p[LW_PHY_MAX];
	lpw_txpk_t tx;
	assert_int_equal(lpw_lwdev_start(f->dev, 0), 0);
	assert_int_equal(lpw_devsim_client_register(lpw_lwdev_client(f->dev)), 0);
	run_for(f, 20);
	assert_int_equal(f->nup, 1);
	size_t n = ref_open_uplink(f, &f->up[0], LW_MTYPE_UNCONF_UP, 0, p);
	assert_true(n >= 8);
	/* 2.01 Created, piggybacked: same MID and token, Location-Path rd/5 */
	uint8_t ack[16] = {0x64, 0x41, p[2], p[3], p[4], p[5], p[6], p[7], 0x82, 'r', 'd', 0x01, '5'};
	make_downlink(f, ack, 13, false, f->up[0].tmst + 1000000, f->up[0].freq, 7, &tx);
	assert_int_equal(lpw_lwdev_offer(f->dev, &tx, false), 0);
	run_for(f, 20000);
	assert_int_equal(f->nup, 1); /* no Empty, no resend */
	assert_int_equal(count_events(f, "\"window\":\"rx1\""), 1);
	assert_int_equal(count_events(f, "\"event\":\"registered\",\"ep\":\"70B3D57ED0000001\",\"location\":\"/rd/5\""), 1);

	/* open windows with an Empty message; the server's GET /3/0/0 comes in RX2 (869.525 MHz, SF12) */
	lpw_lwdev_send_empty(f->dev);
	run_for(f, 20);
	assert_int_equal(f->nup, 2);
	uint8_t get[16] = {0x42, 0x01, 0x12, 0x34, 0xaa, 0xbb, 0xb1, '3', 0x01, '0', 0x01, '0'};
	/* a frame off the windows, one on the wrong frequency, one lost in the air, then the real one */
	make_downlink(f, get, 12, false, f->up[1].tmst + 1500000, 869525000, 12, &tx);
	assert_int_equal(lpw_lwdev_offer(f->dev, &tx, false), 0);
	make_downlink(f, get, 12, false, f->up[1].tmst + 2000000, 868100000, 12, &tx);
	assert_int_equal(lpw_lwdev_offer(f->dev, &tx, false), 0);
	make_downlink(f, get, 12, false, f->up[1].tmst + 2000000, 869525000, 12, &tx);
	assert_int_equal(lpw_lwdev_offer(f->dev, &tx, true), 0);
	assert_int_equal(count_events(f, "\"reason\":\"window\""), 1);
	assert_int_equal(count_events(f, "\"reason\":\"radio\""), 1);
	assert_int_equal(count_events(f, "\"reason\":\"loss\""), 1);
	make_downlink(f, get, 12, false, f->up[1].tmst + 2000000, 869525000, 12, &tx);
	assert_int_equal(lpw_lwdev_offer(f->dev, &tx, false), 0);
	run_for(f, 6000);
	assert_int_equal(count_events(f, "\"confirmed\":false,\"window\":\"rx2\""), 1);
	assert_int_equal(f->nup, 3);
	uint16_t mid;
	assert_string_equal(uplink_kind(f, 2, LW_MTYPE_UNCONF_UP, &mid), "ACK");
	assert_int_equal(mid, 0x1234);
	n = ref_open_uplink(f, &f->up[2], LW_MTYPE_UNCONF_UP, 2, p);
	assert_int_equal(p[1], 0x45); /* 2.05 Content */

	/* a downlink whose tmst has already passed is refused as late */
	make_downlink(f, get, 12, false, f->up[2].tmst + 1000000, f->up[2].freq, 7, &tx);
	run_for(f, 1500);
	assert_int_equal(lpw_lwdev_offer(f->dev, &tx, false), -ETIME);
	assert_int_equal(count_events(f, "\"reason\":\"late\""), 1);
	fixture_free(f);
}

static void tune_no_objects(lpw_lwdev_config_t *c)
{
	c->auto_register = false;
	c->client.register_no_objects = true;
}

/* Table 6.8.4-1: Register without parameters or objects; a 4.09 makes the client retry with the object list. */
static void test_register_no_objects(void **state)
{
	struct fixture *f = fixture_new(false, tune_no_objects);
	uint8_t p[LW_PHY_MAX];
	lpw_txpk_t tx;
	assert_int_equal(lpw_lwdev_start(f->dev, 0), 0);
	assert_int_equal(lpw_devsim_client_register(lpw_lwdev_client(f->dev)), 0);
	run_for(f, 20);
	assert_int_equal(f->nup, 1);
	size_t n = ref_open_uplink(f, &f->up[0], LW_MTYPE_UNCONF_UP, 0, p);
	/* header, token, Uri-Path rd and nothing else: no query, no Content-Format, no payload */
	assert_int_equal(n, 11);
	assert_int_equal(p[8], 0xb2);
	uint8_t conflict[8] = {0x64, 0x89, p[2], p[3], p[4], p[5], p[6], p[7]}; /* 4.09 */
	make_downlink(f, conflict, 8, false, f->up[0].tmst + 1000000, f->up[0].freq, 7, &tx);
	assert_int_equal(lpw_lwdev_offer(f->dev, &tx, false), 0);
	run_for(f, 3000);
	assert_int_equal(f->nup, 2);
	n = ref_open_uplink(f, &f->up[1], LW_MTYPE_UNCONF_UP, 1, p);
	assert_int_equal(p[1], 0x02);
	assert_non_null(memmem(p, n, "</3/0>", 6));
	assert_null(memmem(p, n, "ep=", 3));
	fixture_free(f);
}

/* The same seed gives the same drops; the streams are independent; p is honoured roughly. */
static void test_loss_determinism(void **state)
{
	lpw_lwsim_loss_t a, b, c;
	assert_int_equal(lpw_lwsim_loss_init(&a, 7, 0.3, 0.5), 0);
	assert_int_equal(lpw_lwsim_loss_init(&b, 7, 0.3, 0.5), 0);
	assert_int_equal(lpw_lwsim_loss_init(&c, 8, 0.3, 0.5), 0);
	unsigned same_c = 0, drops = 0;
	for (int i = 0; i < 2000; i++) {
		bool x = lpw_lwsim_loss_drop_up(&a);
		/* b also rolls downlinks in between: must not change its uplink stream */
		(void)lpw_lwsim_loss_drop_down(&b);
		assert_int_equal(x, lpw_lwsim_loss_drop_up(&b));
		same_c += x == lpw_lwsim_loss_drop_up(&c);
		drops += x;
	}
	assert_true(same_c < 1900); /* another seed, another pattern */
	assert_in_range(drops, 500, 700); /* 30 % of 2000 */
	assert_int_equal(a.up_drops, drops);
	assert_int_equal(lpw_lwsim_loss_init(&a, 1, 0.0, 1.0), 0);
	for (int i = 0; i < 100; i++) {
		assert_false(lpw_lwsim_loss_drop_up(&a));
		assert_true(lpw_lwsim_loss_drop_down(&a));
	}
	assert_int_equal(lpw_lwsim_loss_init(&a, 1, 1.5, 0.0), -EINVAL);
	assert_int_equal(lpw_lwsim_loss_init(&a, 1, 0.0, -0.1), -EINVAL);
}

/* ---- the forwarder against a fake network server on loopback ---- */

struct ns {
	int fd;
	uint16_t port;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint8_t buf[4096];
	lpw_pktfwd_msg_t msg;
};

static void ns_open(struct ns *ns)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	ns->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(ns->fd >= 0);
	assert_int_equal(bind(ns->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(ns->fd, (struct sockaddr *)&a, &al), 0);
	ns->port = ntohs(a.sin_port);
}

/* Turns the forwarder's loop (fake time does not move) until the server has a datagram; at most ~2 s. */
static void ns_expect(struct fixture *f, struct ns *ns, lpw_pktfwd_kind_t kind)
{
	for (int i = 0; i < 100; i++) {
		assert_true(lpw_loop_run_once(f->loop, 0) >= 0);
		struct pollfd pfd = {.fd = ns->fd, .events = POLLIN};
		if (poll(&pfd, 1, 20) != 1)
			continue;
		ns->peer_len = sizeof(ns->peer);
		ssize_t n = recvfrom(ns->fd, ns->buf, sizeof(ns->buf), 0, (struct sockaddr *)&ns->peer, &ns->peer_len);
		assert_true(n > 0);
		char why[96];
		assert_int_equal(lpw_pktfwd_parse(ns->buf, (size_t)n, &ns->msg, why, sizeof(why)), 0);
		if (ns->msg.kind == LPW_PKTFWD_PULL_DATA && kind != LPW_PKTFWD_PULL_DATA)
			continue; /* a keepalive in between */
		assert_int_equal(ns->msg.kind, kind);
		assert_true(ns->msg.eui == 0x0102030405060708ull);
		return;
	}
	fail_msg("no datagram of kind %d from the forwarder", (int)kind);
}

static void ns_send(struct ns *ns, const uint8_t *b, int n)
{
	assert_true(n > 0);
	assert_int_equal(sendto(ns->fd, b, (size_t)n, 0, (struct sockaddr *)&ns->peer, ns->peer_len), n);
}

/* Lets the forwarder read what the server sent (real I/O, fake time). */
static void pump(struct fixture *f)
{
	for (int i = 0; i < 10; i++)
		assert_true(lpw_loop_run_once(f->loop, 5) >= 0);
}

static void test_forwarder_udp(void **state)
{
	struct fixture *f = fixture_alloc();
	struct ns *ns = calloc(1, sizeof(*ns));
	uint8_t b[1024];
	ns_open(ns);
	lpw_pfsim_config_t pc = {.server_host = "127.0.0.1", .server_port = ns->port,
				 .gateway_eui = 0x0102030405060708ull, .keepalive_s = 5, .seed = 3,
				 .on_event = on_event, .event_arg = f};
	lpw_pfsim_t *pf = lpw_pfsim_new(f->loop, &pc);
	assert_non_null(pf);
	lpw_lwdev_radio_t radio = lpw_pfsim_radio(pf);
	fixture_add_dev(f, false, tune_unconfirmed, &radio);
	assert_int_equal(lpw_pfsim_add_device(pf, f->dev), 0);

	ns_expect(f, ns, LPW_PKTFWD_PULL_DATA);
	ns_send(ns, b, lpw_pktfwd_build_ack(LPW_PKTFWD_PULL_ACK, ns->msg.token, b, sizeof(b)));
	pump(f);
	assert_int_equal(count_events(f, "\"event\":\"forwarder-up\""), 1);

	assert_int_equal(lpw_lwdev_start(f->dev, 0), 0);
	lpw_lwdev_send_empty(f->dev);
	run_for(f, 10);
	ns_expect(f, ns, LPW_PKTFWD_PUSH_DATA);
	assert_int_equal(ns->msg.nrxpk, 1);
	lpw_rxpk_t rx = ns->msg.rxpk[0];
	assert_int_equal(rx.sf, 7);
	assert_int_equal(rx.bw_khz, 125);
	assert_true(rx.freq > 868.0 && rx.freq < 868.6);
	assert_true(rx.rssi < -50 && rx.rssi > -120);
	assert_int_equal(rx.tmst, lpw_lwdev_tmst(lpw_clock_now_ms(f->clock)));
	assert_int_equal(rx.data[0] >> 5, LW_MTYPE_UNCONF_UP);
	ns_send(ns, b, lpw_pktfwd_build_ack(LPW_PKTFWD_PUSH_ACK, ns->msg.token, b, sizeof(b)));

	/* a downlink for RX1: TX_ACK NONE, then heard one second after the uplink */
	lpw_txpk_t tx;
	uint8_t empty_ack[4] = {0x60, 0x00, 0x00, 0x01};
	make_downlink(f, empty_ack, 4, false, rx.tmst + 1000000, (uint32_t)(rx.freq * 1e6 + 0.5), 7, &tx);
	ns_send(ns, b, lpw_pktfwd_build_pull_resp(0x4242, &tx, b, sizeof(b)));
	ns_expect(f, ns, LPW_PKTFWD_TX_ACK);
	assert_int_equal(ns->msg.token, 0x4242);
	assert_int_equal(ns->msg.tx_error, LPW_TXACK_NONE);
	run_for(f, 1000);
	assert_int_equal(count_events(f, "\"event\":\"downlink\",\"fcnt\":0"), 1);

	/* a downlink for nobody */
	f->dev_addr ^= 1;
	make_downlink(f, empty_ack, 4, false, rx.tmst + 2000000, 869525000, 12, &tx);
	ns_send(ns, b, lpw_pktfwd_build_pull_resp(0x4343, &tx, b, sizeof(b)));
	ns_expect(f, ns, LPW_PKTFWD_TX_ACK);
	assert_int_equal(count_events(f, "\"reason\":\"unclaimed\""), 1);

	lpw_pfsim_counters_t ctr;
	lpw_pfsim_get_counters(pf, &ctr);
	assert_int_equal(ctr.push_data, 1);
	assert_int_equal(ctr.pull_resp, 2);
	assert_int_equal(ctr.tx_ack, 2);
	lpw_lwdev_free(f->dev);
	f->dev = NULL;
	lpw_pfsim_free(pf);
	close(ns->fd);
	free(ns);
	fixture_free(f);
}

/* Uplink loss injection in the forwarder: with p = 1 nothing reaches the server, the device still counts. */
static void test_forwarder_loss(void **state)
{
	struct fixture *f = fixture_alloc();
	struct ns *ns = calloc(1, sizeof(*ns));
	ns_open(ns);
	lpw_pfsim_config_t pc = {.server_host = "127.0.0.1", .server_port = ns->port,
				 .gateway_eui = 0x0102030405060708ull, .loss_up = 1.0, .seed = 3};
	lpw_pfsim_t *pf = lpw_pfsim_new(f->loop, &pc);
	assert_non_null(pf);
	lpw_lwdev_radio_t radio = lpw_pfsim_radio(pf);
	fixture_add_dev(f, false, tune_unconfirmed, &radio);
	assert_int_equal(lpw_pfsim_add_device(pf, f->dev), 0);
	assert_int_equal(lpw_lwdev_start(f->dev, 0), 0);
	for (int i = 0; i < 3; i++) {
		lpw_lwdev_send_empty(f->dev);
		run_for(f, 3000);
	}
	assert_int_equal(count_events(f, "\"kind\":\"empty\",\"lost\":true"), 3);
	assert_int_equal(lpw_lwdev_fcnt_up(f->dev), 3);
	lpw_pfsim_counters_t ctr;
	lpw_pfsim_get_counters(pf, &ctr);
	assert_int_equal(ctr.push_data, 0);
	assert_int_equal(ctr.uplinks_lost, 3);
	lpw_lwdev_free(f->dev);
	f->dev = NULL;
	lpw_pfsim_free(pf);
	close(ns->fd);
	free(ns);
	fixture_free(f);
}

int main(void)
{
	coap_startup();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_exchange),
		cmocka_unit_test(test_appc_confirmed),
		cmocka_unit_test(test_appc_unconfirmed),
		cmocka_unit_test(test_appc_ack_and_server_request),
		cmocka_unit_test(test_register_no_objects),
		cmocka_unit_test(test_loss_determinism),
		cmocka_unit_test(test_forwarder_udp),
		cmocka_unit_test(test_forwarder_loss),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	coap_cleanup();
	return rc;
}
