/* LoRaWAN 1.0.x PHYPayload parsing and building (MHDR, FHDR, FPort, FRMPayload, MIC; Join-Request).
 * No cryptography here: MICs are carried as bytes, payloads as they are on the air (see lw_crypto.h). */
#ifndef LPW_LW_FRAME_H
#define LPW_LW_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LW_PHY_MAX 255      /* the largest PHYPayload a LoRa radio carries */
#define LW_FOPTS_MAX 15     /* FOptsLen is 4 bits */
#define LW_DATA_MIN_LEN 12  /* MHDR 1 + FHDR 7 + MIC 4 */
#define LW_JOIN_REQUEST_LEN 23
#define LW_JOIN_ACCEPT_LEN 17     /* without CFList */
#define LW_JOIN_ACCEPT_CF_LEN 33  /* with a 16-byte CFList */
#define LW_MAJOR_R1 0

enum lw_mtype {
	LW_MTYPE_JOIN_REQUEST = 0,
	LW_MTYPE_JOIN_ACCEPT = 1,
	LW_MTYPE_UNCONF_UP = 2,
	LW_MTYPE_UNCONF_DOWN = 3,
	LW_MTYPE_CONF_UP = 4,
	LW_MTYPE_CONF_DOWN = 5,
	LW_MTYPE_RFU = 6, /* Rejoin-Request in 1.1; refused by this 1.0.x parser */
	LW_MTYPE_PROPRIETARY = 7,
};

/* A data frame. On parse, fopts and frm_payload point into the caller's buffer (borrowed: valid while it is). */
struct lw_data_frame {
	uint32_t dev_addr;   /* host order (the wire is little-endian) */
	bool adr;
	bool adr_ack_req;    /* uplink only; RFU in a downlink */
	bool ack;
	bool fpending;       /* downlink: FPending; uplink: ClassB (1.0.3) */
	uint16_t fcnt;       /* the 16 bits on the wire */
	uint8_t fopts_len;   /* 0..15 */
	const uint8_t *fopts;
	bool has_fport;
	uint8_t fport;
	size_t frm_len;
	const uint8_t *frm_payload;
};

/* A Join-Request. EUIs are in the usual printed (big-endian) order; the wire carries them reversed. */
struct lw_join_request {
	uint8_t app_eui[8];
	uint8_t dev_eui[8];
	uint16_t dev_nonce; /* little-endian on the wire */
};

struct lw_frame {
	enum lw_mtype mtype;
	uint8_t major;
	union {
		struct lw_data_frame data;   /* MType 2..5 */
		struct lw_join_request join; /* MType 0 */
	} u;
	/* Join-Accept and Proprietary: the bytes after the MHDR (borrowed), MIC included for a Join-Accept. */
	const uint8_t *raw;
	size_t raw_len;
	const uint8_t *phy; /* the whole frame (borrowed), for MIC checks */
	size_t phy_len;
	uint8_t mic[4];   /* the last 4 bytes (all types but Proprietary) */
	size_t mic_off;   /* offset of the MIC = length of the message the MIC covers */
};

static inline bool lw_mtype_is_data(enum lw_mtype t)
{
	return t >= LW_MTYPE_UNCONF_UP && t <= LW_MTYPE_CONF_DOWN;
}

static inline bool lw_mtype_is_uplink(enum lw_mtype t)
{
	return t == LW_MTYPE_JOIN_REQUEST || t == LW_MTYPE_UNCONF_UP || t == LW_MTYPE_CONF_UP;
}

/* Parses any PHYPayload. buf is borrowed (out keeps pointers into it). Never reads outside buf[0..len).
 * -EINVAL for any malformed frame, *why (may be NULL) then names the reason (a static string): empty, longer than
 * LW_PHY_MAX, Major not R1, MHDR RFU bits set, RFU MType, wrong Join-Request/Join-Accept length, shorter than a data frame,
 * FOptsLen beyond the frame, FPort 0 with FOpts present. */
int lw_frame_parse(const uint8_t *buf, size_t len, struct lw_frame *out, const char **why)
	__attribute__((warn_unused_result));

/* Writes a data frame (MType 2..5) with the MIC bytes from mic (4 bytes; borrowed) or zeros when mic is NULL,
 * so that the MIC can be computed over out[0 .. *out_len - 4) and patched in. f is borrowed; its payload is
 * written as given (encrypt it first). *out_len receives the frame length.
 * -EINVAL for a non-data MType, fopts_len > 15, FOpts with FPort 0, a payload without FPort;
 * -EMSGSIZE when the frame would exceed LW_PHY_MAX; -ENOSPC when cap is too small. */
int lw_frame_build_data(enum lw_mtype mtype, const struct lw_data_frame *f, const uint8_t *mic, uint8_t *out,
	size_t cap, size_t *out_len) __attribute__((warn_unused_result));

/* Writes a Join-Request (23 bytes) with the MIC from mic (or zeros); for tests and the device simulator.
 * -ENOSPC when cap < 23. */
int lw_frame_build_join_request(const struct lw_join_request *jr, const uint8_t *mic, uint8_t *out, size_t cap)
	__attribute__((warn_unused_result));

/* A short name for an MType ("UnconfirmedDataUp", ...); never NULL. */
const char *lw_mtype_name(enum lw_mtype t);

#endif
