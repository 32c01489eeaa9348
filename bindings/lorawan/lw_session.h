/* A LoRaWAN 1.0.x device session (ABP or OTAA) as the network and application server keep it: keys, frame
 * counters, DevNonce history, AppNonce counter, persisted in the state store; plus the OTAA join handler.
 *
 * What is stored, per device id (keys under "lw/"): the OTAA session (DevAddr, NwkSKey, AppSKey), the last
 * accepted FCntUp, the NFCntDown reservation (lpw_store_reserve_u64: after an unclean stop the downlink counter
 * resumes past every value handed out), the recent DevNonces and the next AppNonce. A join writes all of it in one
 * transaction. ABP keys and DevAddr come from the configuration every time and are not stored. */
#ifndef LPW_LW_SESSION_H
#define LPW_LW_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bindings/lorawan/lw_crypto.h"
#include "bindings/lorawan/lw_frame.h"
#include "bindings/lorawan/lw_region.h"
#include "core/store.h"

typedef struct lw_session lw_session_t;

#define LW_DEVNONCE_HISTORY_DEFAULT 64
#define LW_FCNT_DOWN_MARGIN_DEFAULT 128

struct lw_session_config {
	lpw_store_t *store;    /* borrowed: must outlive the session */
	const char *device_id; /* copied: the store's device id (the gateway's name for the device) */
	bool otaa;
	/* OTAA */
	uint8_t dev_eui[8];             /* printed (big-endian) order */
	uint8_t app_eui[8];             /* printed order; a Join-Request with another AppEUI/JoinEUI is refused */
	uint8_t app_key[LW_KEY_LEN];    /* copied */
	/* ABP */
	uint32_t abp_dev_addr;
	uint8_t abp_nwk_skey[LW_KEY_LEN];
	uint8_t abp_app_skey[LW_KEY_LEN];
	/* Limits; 0 = default. LoRaWAN 1.0.x devices pick DevNonces at random, so a server can only refuse reuse of
	 * those it remembers: the history is bounded (oldest forgotten first), a known 1.0.x weakness. */
	unsigned devnonce_history;
	unsigned fcnt_down_margin; /* NFCntDown values per reservation write */
};

/* Loads the persisted state. An OTAA device without a stored session is "not joined" until a join succeeds.
 * cfg is copied (keys included). err (may be NULL) receives a reason. NULL on a bad config, a store error or a
 * corrupt record. */
lw_session_t *lw_session_open(const struct lw_session_config *cfg, char *err, size_t errlen);

/* Stores the exact next NFCntDown (a clean stop skips no counter values) and frees. Accepts NULL. Keys are wiped. */
void lw_session_close(lw_session_t *s);

/* Forgets an OTAA session (lpwagw-ctl reset-session): the stored session and FCntUp go, the device is "not joined"
 * until it joins again. The DevNonce history and the AppNonce counter stay, so that an old Join-Request still cannot
 * be replayed. -EOPNOTSUPP for an ABP device (its session is its configuration), -EIO on a store error (nothing
 * changes then). */
int lw_session_forget(lw_session_t *s);

bool lw_session_joined(const lw_session_t *s);
uint32_t lw_session_dev_addr(const lw_session_t *s);
/* Last accepted FCntUp; false when none has been accepted since the join / ABP start. */
bool lw_session_fcnt_up(const lw_session_t *s, uint32_t *out_fcnt);
uint32_t lw_session_fcnt_down_next(const lw_session_t *s);

/* What an accepted uplink carried. */
struct lw_uplink {
	uint32_t fcnt;        /* rebuilt 32-bit FCntUp */
	bool confirmed;
	bool adr;             /* the device lets the network steer its data rate */
	bool adr_ack_req;
	bool ack;             /* the device acknowledges our last confirmed downlink */
	bool has_fport;
	uint8_t fport;
	size_t payload_len;   /* decrypted FRMPayload, in the caller's buffer */
	/* MAC commands: FOpts (plain, borrowed from the frame) or, for FPort 0, the decrypted payload */
	const uint8_t *mac;
	size_t mac_len;
};

/* Checks and accepts a data uplink parsed by lw_frame_parse (f and its buffer borrowed): DevAddr, 32-bit FCnt
 * (rollover, MAX_FCNT_GAP), MIC with the NwkSKey; decrypts the FRMPayload into payload (cap bytes) and persists
 * FCntUp. Returns 0, -ENOTCONN (OTAA device not joined), -EINVAL (not a data uplink / other DevAddr),
 * -EALREADY (same FCnt as the last accepted frame, MIC valid: a retransmission, nothing persisted, payload
 * still decrypted into out so the caller may re-ack), -ERANGE (replay or too many frames lost), -EBADMSG (MIC),
 * -ENOSPC (payload larger than cap), negative errno from the store (then nothing is accepted). */
int lw_session_uplink(lw_session_t *s, const struct lw_frame *f, uint8_t *payload, size_t cap,
	struct lw_uplink *out) __attribute__((warn_unused_result));

struct lw_downlink {
	bool confirmed;
	bool ack;       /* acknowledges the device's last confirmed uplink */
	bool fpending;
	const uint8_t *fopts; /* plain MAC commands (borrowed), at most 15 bytes; not with FPort 0 */
	uint8_t fopts_len;
	bool has_fport;
	uint8_t fport;
	const uint8_t *payload; /* plain (borrowed); encrypted with AppSKey, or NwkSKey for FPort 0 */
	size_t payload_len;
	size_t max_len;         /* the PHYPayload limit for the DR (M + 5), 0 = LW_PHY_MAX */
};

/* Builds an encrypted, MIC-signed data downlink with the next NFCntDown, which is reserved in the store first
 * (so it is never reused, even after a crash) and consumed only on success. *out_fcnt (may be NULL) receives it.
 * -ENOTCONN (not joined), -EINVAL (bad fields), -EMSGSIZE (over max_len), -ENOSPC (cap), -EOVERFLOW (the 32-bit
 * counter is exhausted: the device must re-join), negative errno from the store. */
int lw_session_downlink(lw_session_t *s, const struct lw_downlink *dl, uint8_t *out, size_t cap, size_t *out_len,
	uint32_t *out_fcnt) __attribute__((warn_unused_result));

/* Network parameters a Join-Accept carries. */
struct lw_join_params {
	uint32_t net_id;          /* 24 bits */
	uint32_t dev_addr;        /* from lw_devaddr_alloc */
	uint8_t rx1_dr_offset;    /* 0..7 (region limits apply) */
	uint8_t rx2_dr;           /* 0..15 */
	uint8_t rx_delay_s;       /* 0..15; 0 means 1 s */
	const uint8_t *cflist;    /* LW_CFLIST_LEN (lw_region_cflist) or NULL for none; borrowed */
};

/* Handles a Join-Request (f from lw_frame_parse, borrowed) for this OTAA device: checks DevEUI and AppEUI, the MIC
 * with the AppKey, refuses a DevNonce in the history, takes the next AppNonce, derives NwkSKey/AppSKey, stores the
 * new session (counters reset) in one transaction, and only then writes the encrypted Join-Accept (17 bytes, or
 * 33 with jp->cflist) into out. On any failure the old session stays in force.
 * -EINVAL (not a Join-Request, ABP device, other DevEUI/AppEUI, bad params), -EBADMSG (MIC), -EALREADY (DevNonce
 * reused), -EOVERFLOW (AppNonce space used up), -ENOSPC (cap < 17), negative errno from the store. */
int lw_session_join(lw_session_t *s, const struct lw_frame *f, const struct lw_join_params *jp, uint8_t *out,
	size_t cap, size_t *out_len) __attribute__((warn_unused_result));

/* The DevAddr prefix for a NetID of type 0 or 1 (LoRaWAN Backend Interfaces: type 0 = 7 prefix bits, '0' + 6-bit
 * NwkID; type 1 = 8 bits, '10' + 6-bit NwkID). Other NetID types: -ENOTSUP (configure the prefix explicitly). */
int lw_devaddr_prefix_from_netid(uint32_t net_id, uint32_t *out_prefix, unsigned *out_bits)
	__attribute__((warn_unused_result));

/* Allocates a DevAddr: prefix (its top prefix_bits bits) + the next NwkAddr from a gateway-wide counter kept in
 * the store (device id "@lorawan"), wrapping within the NwkAddr space. prefix_bits 1..31.
 * -EINVAL for bad arguments, negative errno from the store. */
int lw_devaddr_alloc(lpw_store_t *store, uint32_t prefix, unsigned prefix_bits, uint32_t *out_dev_addr)
	__attribute__((warn_unused_result));

#endif
