/* LoRaWAN 1.0.x device sessions with persistence and the OTAA join handler (see lw_session.h). */
#include "bindings/lorawan/lw_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "core/log.h"

#define K_SESSION "lw/session"
#define K_FCNT_UP "lw/fcntup"
#define K_FCNT_DOWN "lw/nfcntdown"
#define K_DEVNONCES "lw/devnonces"
#define K_APPNONCE "lw/appnonce"
#define SESSION_VERSION 1
#define SESSION_BLOB_LEN (1 + 4 + 2 * LW_KEY_LEN)
#define ALLOC_DEVICE "@lorawan"
#define ALLOC_KEY "devaddr/next"

struct lw_session {
	lpw_store_t *store;
	char *id;
	bool otaa;
	uint8_t dev_eui[8], app_eui[8], app_key[LW_KEY_LEN];
	bool joined;
	uint32_t dev_addr;
	uint8_t nwk_skey[LW_KEY_LEN], app_skey[LW_KEY_LEN];
	bool have_fcnt_up;
	uint32_t fcnt_up;
	uint64_t fcnt_down; /* next value to hand out */
	unsigned margin;
	uint16_t *nonces; /* oldest first */
	unsigned n_nonces, hist_cap;
	uint64_t app_nonce; /* next */
};

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int load_session_blob(lw_session_t *s)
{
	uint8_t b[SESSION_BLOB_LEN];
	size_t n;
	int rc = lpw_store_get(s->store, s->id, K_SESSION, b, sizeof(b), &n);
	if (rc == -ENOENT)
		return 0;
	if (rc == -ENOSPC || (rc == 0 && (n != SESSION_BLOB_LEN || b[0] != SESSION_VERSION)))
		return -EBADMSG;
	if (rc)
		return rc;
	s->joined = true;
	s->dev_addr = get_le32(b + 1);
	memcpy(s->nwk_skey, b + 5, LW_KEY_LEN);
	memcpy(s->app_skey, b + 5 + LW_KEY_LEN, LW_KEY_LEN);
	mbedtls_platform_zeroize(b, sizeof(b));
	return 0;
}

/* Keeps the newest hist_cap entries when the configured history shrank. */
static int load_nonces(lw_session_t *s)
{
	size_t n = 0;
	int rc = lpw_store_get(s->store, s->id, K_DEVNONCES, NULL, 0, &n);
	if (rc == -ENOENT || (rc == 0 && n == 0))
		return 0;
	if (rc != -ENOSPC)
		return rc ? rc : -EBADMSG;
	if (n % 2)
		return -EBADMSG;
	uint8_t *b = malloc(n);
	if (!b)
		return -ENOMEM;
	rc = lpw_store_get(s->store, s->id, K_DEVNONCES, b, n, &n);
	if (rc == 0) {
		size_t count = n / 2, skip = count > s->hist_cap ? count - s->hist_cap : 0;
		for (size_t i = skip; i < count; i++)
			s->nonces[s->n_nonces++] = (uint16_t)(b[2 * i] | b[2 * i + 1] << 8);
	}
	free(b);
	return rc;
}

static int load_u64(lw_session_t *s, const char *key, bool *found, uint64_t *v)
{
	int rc = lpw_store_get_u64(s->store, s->id, key, v);
	*found = rc == 0;
	if (rc == -ENOENT) {
		*v = 0;
		return 0;
	}
	return rc;
}

static int load(lw_session_t *s, const char **what)
{
	bool found;
	uint64_t v;
	int rc = 0;
	if (s->otaa) {
		*what = "session";
		rc = load_session_blob(s);
		if (rc == 0 && (*what = "DevNonce history", rc = load_nonces(s)) == 0)
			rc = load_u64(s, (*what = "AppNonce", K_APPNONCE), &found, &s->app_nonce);
		if (rc)
			return rc;
	}
	*what = "FCntUp";
	if ((rc = load_u64(s, K_FCNT_UP, &found, &v)) != 0)
		return rc;
	if (v > UINT32_MAX)
		return -EBADMSG;
	s->have_fcnt_up = found;
	s->fcnt_up = (uint32_t)v;
	/* After an unclean stop the record is a reservation above every value handed out; after a clean one the
	 * exact next value. Either way, resuming there never reuses a counter. */
	*what = "NFCntDown";
	return load_u64(s, K_FCNT_DOWN, &found, &s->fcnt_down);
}

lw_session_t *lw_session_open(const struct lw_session_config *cfg, char *err, size_t errlen)
{
	if (!cfg || !cfg->store || !cfg->device_id || !cfg->device_id[0]) {
		if (err && errlen)
			snprintf(err, errlen, "session config needs a store and a device id");
		return NULL;
	}
	lw_session_t *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->store = cfg->store;
	s->otaa = cfg->otaa;
	s->margin = cfg->fcnt_down_margin ? cfg->fcnt_down_margin : LW_FCNT_DOWN_MARGIN_DEFAULT;
	s->hist_cap = cfg->devnonce_history ? cfg->devnonce_history : LW_DEVNONCE_HISTORY_DEFAULT;
	s->id = strdup(cfg->device_id);
	s->nonces = calloc(s->hist_cap, sizeof(uint16_t));
	if (!s->id || !s->nonces) {
		lw_session_close(s);
		return NULL;
	}
	memcpy(s->dev_eui, cfg->dev_eui, 8);
	memcpy(s->app_eui, cfg->app_eui, 8);
	memcpy(s->app_key, cfg->app_key, LW_KEY_LEN);
	if (!s->otaa) {
		s->joined = true;
		s->dev_addr = cfg->abp_dev_addr;
		memcpy(s->nwk_skey, cfg->abp_nwk_skey, LW_KEY_LEN);
		memcpy(s->app_skey, cfg->abp_app_skey, LW_KEY_LEN);
	}
	const char *what = "";
	int rc = load(s, &what);
	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "device %s: cannot load LoRaWAN %s: %s", cfg->device_id, what,
				rc == -EBADMSG ? "corrupt record" : strerror(-rc));
		LPW_ERR("lorawan", "device %s: cannot load LoRaWAN %s (%d)", cfg->device_id, what, rc);
		s->joined = false; /* nothing to store on close */
		lw_session_close(s);
		return NULL;
	}
	return s;
}

void lw_session_close(lw_session_t *s)
{
	if (!s)
		return;
	if (s->joined && lpw_store_put_u64(s->store, s->id, K_FCNT_DOWN, s->fcnt_down) != 0)
		LPW_WARN("lorawan", "device %s: cannot store NFCntDown on close; resumes at its reservation", s->id);
	free(s->id);
	free(s->nonces);
	mbedtls_platform_zeroize(s, sizeof(*s)); /* session and root keys */
	free(s);
}

int lw_session_forget(lw_session_t *s)
{
	if (!s->otaa)
		return -EOPNOTSUPP;
	if (s->store) {
		int rc = lpw_store_begin(s->store);
		/* -ENOENT: not joined since, or no uplink since the join; nothing to delete is fine */
		if (rc == 0 && (rc = lpw_store_delete(s->store, s->id, K_SESSION)) == -ENOENT)
			rc = 0;
		if (rc == 0 && (rc = lpw_store_delete(s->store, s->id, K_FCNT_UP)) == -ENOENT)
			rc = 0;
		if (rc == 0)
			rc = lpw_store_commit(s->store);
		if (rc != 0) {
			lpw_store_rollback(s->store);
			return -EIO;
		}
	}
	s->joined = false;
	s->have_fcnt_up = false;
	explicit_bzero(s->nwk_skey, sizeof(s->nwk_skey));
	explicit_bzero(s->app_skey, sizeof(s->app_skey));
	return 0;
}

bool lw_session_joined(const lw_session_t *s)
{
	return s->joined;
}

uint32_t lw_session_dev_addr(const lw_session_t *s)
{
	return s->dev_addr;
}

bool lw_session_fcnt_up(const lw_session_t *s, uint32_t *out_fcnt)
{
	if (s->have_fcnt_up && out_fcnt)
		*out_fcnt = s->fcnt_up;
	return s->have_fcnt_up;
}

uint32_t lw_session_fcnt_down_next(const lw_session_t *s)
{
	return s->fcnt_down > UINT32_MAX ? UINT32_MAX : (uint32_t)s->fcnt_down;
}

int lw_session_uplink(lw_session_t *s, const struct lw_frame *f, uint8_t *payload, size_t cap,
	struct lw_uplink *out)
{
	if (!s->joined)
		return -ENOTCONN;
	if (!f || !out || (f->mtype != LW_MTYPE_UNCONF_UP && f->mtype != LW_MTYPE_CONF_UP))
		return -EINVAL;
	const struct lw_data_frame *d = &f->u.data;
	if (d->dev_addr != s->dev_addr)
		return -EINVAL;
	uint32_t fcnt = d->fcnt;
	int rc = lw_crypto_fcnt_rebuild(s->fcnt_up, s->have_fcnt_up, d->fcnt, &fcnt);
	if (rc && rc != -EALREADY) {
		out->fcnt = fcnt; /* the rebuilt value, for the caller's log */
		return rc;
	}
	uint8_t mic[LW_MIC_LEN];
	int crc = lw_crypto_data_mic(s->nwk_skey, LW_DIR_UP, s->dev_addr, fcnt, f->phy, f->mic_off, mic);
	if (crc)
		return crc;
	if (!lw_crypto_mic_equal(mic, f->mic))
		return -EBADMSG;
	if (d->frm_len > cap)
		return -ENOSPC;
	const uint8_t *key = d->fport == 0 ? s->nwk_skey : s->app_skey;
	if (d->frm_len && (crc = lw_crypto_payload(key, LW_DIR_UP, s->dev_addr, fcnt, d->frm_payload, payload,
				   d->frm_len)) != 0)
		return crc;
	if (rc == 0) {
		/* persist before accepting: after a crash, a replay of this frame must still be refused */
		int prc = lpw_store_put_u64(s->store, s->id, K_FCNT_UP, fcnt);
		if (prc)
			return prc;
		s->fcnt_up = fcnt;
		s->have_fcnt_up = true;
	}
	*out = (struct lw_uplink){
		.fcnt = fcnt,
		.confirmed = f->mtype == LW_MTYPE_CONF_UP,
		.adr = d->adr,
		.adr_ack_req = d->adr_ack_req,
		.ack = d->ack,
		.has_fport = d->has_fport,
		.fport = d->fport,
		.payload_len = d->frm_len,
		.mac = d->has_fport && d->fport == 0 ? payload : d->fopts,
		.mac_len = d->has_fport && d->fport == 0 ? d->frm_len : d->fopts_len,
	};
	return rc;
}

static int check_downlink(const struct lw_downlink *dl, size_t cap, size_t *out_need)
{
	if (dl->fopts_len > LW_FOPTS_MAX || (dl->fopts_len && !dl->fopts))
		return -EINVAL;
	if (dl->payload_len && (!dl->has_fport || !dl->payload))
		return -EINVAL;
	if (dl->has_fport && dl->fport == 0 && dl->fopts_len)
		return -EINVAL;
	if (dl->payload_len > LW_PHY_MAX)
		return -EMSGSIZE;
	size_t need = 8 + (size_t)dl->fopts_len + (dl->has_fport ? 1 + dl->payload_len : 0) + LW_MIC_LEN;
	size_t max = dl->max_len && dl->max_len < LW_PHY_MAX ? dl->max_len : LW_PHY_MAX;
	if (need > max)
		return -EMSGSIZE;
	if (need > cap)
		return -ENOSPC;
	*out_need = need;
	return 0;
}

int lw_session_downlink(lw_session_t *s, const struct lw_downlink *dl, uint8_t *out, size_t cap, size_t *out_len,
	uint32_t *out_fcnt)
{
	size_t need;
	if (!s->joined)
		return -ENOTCONN;
	if (!dl || !out || !out_len)
		return -EINVAL;
	int rc = check_downlink(dl, cap, &need);
	if (rc)
		return rc;
	if (s->fcnt_down > UINT32_MAX)
		return -EOVERFLOW;
	uint32_t fcnt = (uint32_t)s->fcnt_down;
	/* the reservation is durable before the value goes on air: a crash can skip counters, never repeat one */
	rc = lpw_store_reserve_u64(s->store, s->id, K_FCNT_DOWN, fcnt, s->margin, NULL);
	if (rc)
		return rc;
	uint8_t enc[LW_PHY_MAX];
	const uint8_t *key = dl->fport == 0 ? s->nwk_skey : s->app_skey;
	if (dl->payload_len &&
		(rc = lw_crypto_payload(key, LW_DIR_DOWN, s->dev_addr, fcnt, dl->payload, enc, dl->payload_len)) != 0)
		return rc;
	struct lw_data_frame d = {
		.dev_addr = s->dev_addr,
		.ack = dl->ack,
		.fpending = dl->fpending,
		.fcnt = (uint16_t)fcnt,
		.fopts_len = dl->fopts_len,
		.fopts = dl->fopts,
		.has_fport = dl->has_fport,
		.fport = dl->fport,
		.frm_len = dl->payload_len,
		.frm_payload = dl->payload_len ? enc : NULL,
	};
	enum lw_mtype t = dl->confirmed ? LW_MTYPE_CONF_DOWN : LW_MTYPE_UNCONF_DOWN;
	if ((rc = lw_frame_build_data(t, &d, NULL, out, cap, out_len)) != 0)
		return rc;
	if ((rc = lw_crypto_data_mic(s->nwk_skey, LW_DIR_DOWN, s->dev_addr, fcnt, out, need - LW_MIC_LEN,
		     out + need - LW_MIC_LEN)) != 0)
		return rc;
	s->fcnt_down++;
	if (out_fcnt)
		*out_fcnt = fcnt;
	return 0;
}

static bool nonce_seen(const lw_session_t *s, uint16_t n)
{
	for (unsigned i = 0; i < s->n_nonces; i++)
		if (s->nonces[i] == n)
			return true;
	return false;
}

/* Writes the whole new session in one transaction: a crash leaves either the old session or the new one. */
static int persist_join(lw_session_t *s, uint32_t dev_addr, const uint8_t *nwk, const uint8_t *app,
	const uint8_t *nonces_le, size_t nonces_len, uint64_t next_app_nonce)
{
	uint8_t blob[SESSION_BLOB_LEN];
	blob[0] = SESSION_VERSION;
	put_le32(blob + 1, dev_addr);
	memcpy(blob + 5, nwk, LW_KEY_LEN);
	memcpy(blob + 5 + LW_KEY_LEN, app, LW_KEY_LEN);
	int rc = lpw_store_begin(s->store);
	if (rc == 0)
		rc = lpw_store_put(s->store, s->id, K_SESSION, blob, sizeof(blob));
	if (rc == 0)
		rc = lpw_store_put(s->store, s->id, K_DEVNONCES, nonces_le, nonces_len);
	if (rc == 0)
		rc = lpw_store_put_u64(s->store, s->id, K_APPNONCE, next_app_nonce);
	if (rc == 0) {
		rc = lpw_store_delete(s->store, s->id, K_FCNT_UP);
		rc = rc == -ENOENT ? 0 : rc;
	}
	if (rc == 0)
		rc = lpw_store_put_u64(s->store, s->id, K_FCNT_DOWN, 0); /* new keys: counters start over */
	if (rc == 0)
		rc = lpw_store_commit(s->store);
	else if (rc != -EBUSY)
		lpw_store_rollback(s->store);
	mbedtls_platform_zeroize(blob, sizeof(blob));
	return rc;
}

static size_t build_accept(const lw_session_t *s, const struct lw_join_params *jp, uint32_t app_nonce,
	uint8_t plain[LW_JOIN_ACCEPT_CF_LEN])
{
	plain[0] = LW_MTYPE_JOIN_ACCEPT << 5 | LW_MAJOR_R1;
	for (int i = 0; i < 3; i++) {
		plain[1 + i] = (uint8_t)(app_nonce >> (8 * i));
		plain[4 + i] = (uint8_t)(jp->net_id >> (8 * i));
	}
	put_le32(plain + 7, jp->dev_addr);
	plain[11] = (uint8_t)(jp->rx1_dr_offset << 4 | jp->rx2_dr); /* DLSettings; bit 7 RFU in 1.0.x */
	plain[12] = jp->rx_delay_s;
	if (!jp->cflist)
		return 13;
	memcpy(plain + 13, jp->cflist, LW_CFLIST_LEN);
	return 13 + LW_CFLIST_LEN;
}

static int check_join(const lw_session_t *s, const struct lw_frame *f, const struct lw_join_params *jp,
	size_t cap)
{
	if (!s->otaa || !f || !jp || f->mtype != LW_MTYPE_JOIN_REQUEST || f->phy_len != LW_JOIN_REQUEST_LEN)
		return -EINVAL;
	if (memcmp(f->u.join.dev_eui, s->dev_eui, 8) != 0 || memcmp(f->u.join.app_eui, s->app_eui, 8) != 0)
		return -EINVAL;
	if (jp->net_id > 0xFFFFFF || jp->rx1_dr_offset > 7 || jp->rx2_dr > 15 || jp->rx_delay_s > 15)
		return -EINVAL;
	return cap < (jp->cflist ? LW_JOIN_ACCEPT_CF_LEN : LW_JOIN_ACCEPT_LEN) ? -ENOSPC : 0;
}

int lw_session_join(lw_session_t *s, const struct lw_frame *f, const struct lw_join_params *jp, uint8_t *out,
	size_t cap, size_t *out_len)
{
	int rc = check_join(s, f, jp, cap);
	if (rc)
		return rc;
	uint8_t mic[LW_MIC_LEN];
	if ((rc = lw_crypto_join_mic(s->app_key, f->phy, f->mic_off, mic)) != 0)
		return rc;
	if (!lw_crypto_mic_equal(mic, f->mic))
		return -EBADMSG;
	uint16_t dev_nonce = f->u.join.dev_nonce;
	if (nonce_seen(s, dev_nonce)) {
		LPW_WARN("lorawan", "device %s: Join-Request with a used DevNonce 0x%04x refused", s->id, dev_nonce);
		return -EALREADY;
	}
	if (s->app_nonce > 0xFFFFFF)
		return -EOVERFLOW;
	uint32_t app_nonce = (uint32_t)s->app_nonce;
	uint8_t nwk[LW_KEY_LEN], app[LW_KEY_LEN];
	if ((rc = lw_crypto_derive_keys(s->app_key, app_nonce, jp->net_id, dev_nonce, nwk, app)) != 0)
		return rc;
	/* the new history: drop the oldest when full */
	unsigned keep = s->n_nonces == s->hist_cap ? s->hist_cap - 1 : s->n_nonces;
	uint16_t *hist = malloc(((size_t)keep + 1) * sizeof(uint16_t));
	uint8_t *le = malloc(((size_t)keep + 1) * 2);
	rc = hist && le ? 0 : -ENOMEM;
	if (rc == 0) {
		memcpy(hist, s->nonces + (s->n_nonces - keep), keep * sizeof(uint16_t));
		hist[keep] = dev_nonce;
		for (unsigned i = 0; i <= keep; i++) {
			le[2 * i] = (uint8_t)hist[i];
			le[2 * i + 1] = (uint8_t)(hist[i] >> 8);
		}
		rc = persist_join(s, jp->dev_addr, nwk, app, le, ((size_t)keep + 1) * 2, s->app_nonce + 1);
	}
	if (rc == 0) {
		memcpy(s->nonces, hist, ((size_t)keep + 1) * sizeof(uint16_t));
		s->n_nonces = keep + 1;
		s->app_nonce++;
		s->joined = true;
		s->dev_addr = jp->dev_addr;
		memcpy(s->nwk_skey, nwk, LW_KEY_LEN);
		memcpy(s->app_skey, app, LW_KEY_LEN);
		s->have_fcnt_up = false;
		s->fcnt_up = 0;
		s->fcnt_down = 0;
		uint8_t plain[LW_JOIN_ACCEPT_CF_LEN];
		size_t body = build_accept(s, jp, app_nonce, plain);
		rc = lw_crypto_join_mic(s->app_key, plain, body, plain + body);
		out[0] = plain[0];
		if (rc == 0) /* everything after the MHDR, MIC included, in 16-byte blocks: 16 or 32 bytes */
			rc = lw_crypto_join_accept_encrypt(s->app_key, plain + 1, out + 1, body + 3);
		*out_len = body + 4;
		mbedtls_platform_zeroize(plain, sizeof(plain));
	} else {
		LPW_ERR("lorawan", "device %s: join not stored (%d); old session kept", s->id, rc);
	}
	free(hist);
	free(le);
	mbedtls_platform_zeroize(nwk, sizeof(nwk));
	mbedtls_platform_zeroize(app, sizeof(app));
	return rc;
}

int lw_devaddr_prefix_from_netid(uint32_t net_id, uint32_t *out_prefix, unsigned *out_bits)
{
	uint32_t type = (net_id >> 21) & 0x7, nwk_id = net_id & 0x3F;
	if (net_id > 0xFFFFFF)
		return -EINVAL;
	if (type == 0) {
		*out_prefix = nwk_id << 25; /* '0' + 6-bit NwkID */
		*out_bits = 7;
	} else if (type == 1) {
		*out_prefix = 0x80000000u | nwk_id << 24; /* '10' + 6-bit NwkID */
		*out_bits = 8;
	} else {
		return -ENOTSUP;
	}
	return 0;
}

int lw_devaddr_alloc(lpw_store_t *store, uint32_t prefix, unsigned prefix_bits, uint32_t *out_dev_addr)
{
	if (!store || !out_dev_addr || prefix_bits < 1 || prefix_bits > 31)
		return -EINVAL;
	uint32_t mask = 0xFFFFFFFFu >> prefix_bits; /* the NwkAddr bits */
	uint64_t next = 0;
	int rc = lpw_store_get_u64(store, ALLOC_DEVICE, ALLOC_KEY, &next);
	if (rc && rc != -ENOENT)
		return rc;
	uint32_t addr = (uint32_t)(next & mask);
	rc = lpw_store_put_u64(store, ALLOC_DEVICE, ALLOC_KEY, addr == mask ? 0 : (uint64_t)addr + 1);
	if (rc)
		return rc;
	*out_dev_addr = (prefix & ~mask) | addr;
	return 0;
}
