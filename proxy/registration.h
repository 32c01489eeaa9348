/* LwM2M registration awareness for one (device, LwM2M server) pair (LwM2M 1.1.1 Transport §6.4.3, §6.8.4). */
#ifndef LPW_REGISTRATION_H
#define LPW_REGISTRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <coap3/coap.h>

/* Bounds on what a device may make us remember; a Register beyond them is not remembered (-E2BIG). */
#define LPW_REG_MAX_QUERY 32	   /* Uri-Query items of a Register */
#define LPW_REG_MAX_SEGMENTS 16	   /* Location-Path segments */
#define LPW_REG_MAX_PAYLOAD 65535  /* Register payload (the object list) */

#define LPW_REG_DEFAULT_LIFETIME 86400		/* LwM2M Core: lt absent from a Register */
#define LPW_REG_LORAWAN_LIFETIME 2592000	/* table 6.8.4-1: 30 days */
#define LPW_REG_LORAWAN_VERSION "1.1"		/* table 6.8.4-1 */

#define LPW_REG_BLOB_VERSION 1 /* first byte of lpw_reg_serialise() output */

typedef struct lpw_reg lpw_reg_t;

typedef enum {
	LPW_REG_OP_OTHER = 0,
	LPW_REG_OP_REGISTER,	      /* POST /rd?... */
	LPW_REG_OP_UPDATE,	      /* POST to the device-visible location */
	LPW_REG_OP_DEREGISTER,	      /* DELETE of the device-visible location */
	LPW_REG_OP_BOOTSTRAP_REQUEST, /* POST /bs */
	LPW_REG_OP_SEND,	      /* POST /dp */
} lpw_reg_op_t;

typedef enum {
	LPW_REG_BY_DEVICE = 0, /* the device sent it (the response goes back to the device) */
	LPW_REG_BY_GATEWAY,    /* the gateway sent it itself, e.g. re-registration after an upstream reconnect */
} lpw_reg_origin_t;

/* Bits returned by lpw_reg_apply_lorawan_defaults(). */
#define LPW_REG_ADDED_EP 0x01
#define LPW_REG_ADDED_LT 0x02
#define LPW_REG_ADDED_LWM2M 0x04
#define LPW_REG_ADDED_B 0x08
#define LPW_REG_ADDED_Q 0x10

/* A fresh, unregistered state. NULL when out of memory. */
lpw_reg_t *lpw_reg_new(void);
void lpw_reg_free(lpw_reg_t *reg);

/*
 * What a request from the device is. REGISTER: POST with Uri-Path exactly "rd", with or without Uri-Query (over
 * LoRaWAN every parameter may be omitted, table 6.8.4-1), also while registered: that is a new registration. UPDATE / DEREGISTER: POST / DELETE whose Uri-Path equals
 * the device-visible location, only while registered. BOOTSTRAP_REQUEST: POST "bs". SEND: POST "dp".
 * An OSCORE-protected request carries its Uri-Path encrypted, so it classifies as OTHER. req is borrowed.
 */
lpw_reg_op_t lpw_reg_classify(const lpw_reg_t *reg, const coap_pdu_t *req);

/*
 * Remembers a Register request (its Uri-Query items, Content-Format and payload, all copied) so the gateway can
 * send it again itself, and parses lt (default 86400), ep, b, lwm2m and Q from it. If a key appears twice, the
 * first one counts. Does not change the registered state (see lpw_reg_on_response()).
 * Returns 0; -EINVAL if req is not a Register, an item holds a NUL byte, lt is not a decimal 32-bit number or
 * Content-Format is longer than 2 bytes; -E2BIG beyond the LPW_REG_MAX_* bounds; -ENOMEM. On error the
 * previously remembered request stays.
 */
int lpw_reg_remember_register(lpw_reg_t *reg, const coap_pdu_t *req) __attribute__((warn_unused_result));

/*
 * Feeds the server's response to a request classified as op. req is the request as the device sent it (or the
 * gateway's own Register); it is only read for UPDATE (new lt / b / sms / Q) and may be NULL otherwise.
 * REGISTER 2.01: records all Location-Path options. By the device: device-visible and server location both
 * become the new one. By the gateway while registered: only the server location changes; the device keeps
 * using the location it learned first, and lpw_reg_rewrite() maps it. REGISTER error: not registered.
 * UPDATE 2.04: lt / b / sms / Q of the Update replace those of the remembered Register. UPDATE 4.04: not
 * registered. DEREGISTER 2.02 or 4.04: not registered, remembered Register forgotten. Other ops: ignored.
 * Returns 0; -EPROTO for a 2.01 without (or with over LPW_REG_MAX_SEGMENTS) Location-Path, state then not
 * registered; -EINVAL for bad arguments or an Update whose lt is not a number (nothing changed); -ENOMEM.
 */
int lpw_reg_on_response(lpw_reg_t *reg, lpw_reg_op_t op, const coap_pdu_t *req, const coap_pdu_t *resp,
			lpw_reg_origin_t origin);

/*
 * Fills dst (made by the caller with coap_pdu_init(), token already set, no options yet) with the device's
 * Update or De-register dev_req: same code, every option copied in order byte for byte, payload copied, but the
 * Uri-Path replaced by the server's current location. dev_req is borrowed.
 * Returns 0; -ENOENT if not registered; -EINVAL if dev_req's Uri-Path is not the device-visible location;
 * -ENOSPC if dst is too small (discard dst).
 */
int lpw_reg_rewrite(const lpw_reg_t *reg, const coap_pdu_t *dev_req, coap_pdu_t *dst)
	__attribute__((warn_unused_result));

/*
 * Fills dst (caller's coap_pdu_init(), token set, no options yet) with a Register rebuilt from the remembered
 * request: POST, Uri-Path "rd", its Content-Format, Uri-Query items and payload.
 * Never for OSCORE devices: their Register cannot be read or rebuilt (the caller knows which devices those are).
 * Returns 0; -ENOENT if no Register is remembered; -ENOSPC if dst is too small (discard dst).
 */
int lpw_reg_build_register(const lpw_reg_t *reg, coap_pdu_t *dst) __attribute__((warn_unused_result));

/*
 * LoRaWAN registration defaults (table 6.8.4-1), applied to the remembered Register so that the upstream server,
 * which expects complete parameters, gets them (build the upstream Register with lpw_reg_build_register()).
 * Adds, when absent: ep=<endpoint> (the DevEUI; skipped if endpoint is NULL), lt=2592000, lwm2m=1.1,
 * b=<binding> (the table has no default: pass the binding the server reaches the device through, "T" for the
 * gateway's CoAP/TCP session; NULL skips it) and, because LoRaWAN "is equivalent to Queue Mode", the Q parameter
 * (for lwm2m=1.0 registrations Q is appended to the b value instead, the 1.0 encoding "UQ").
 * MUST NOT be called for OSCORE devices: their query is encrypted and must reach the server byte for byte.
 * endpoint and binding are copied. Returns the LPW_REG_ADDED_* bits (0 = nothing added), -ENOENT if no Register
 * is remembered, -EINVAL when "key=value" would exceed 255 bytes, -E2BIG, -ENOMEM.
 */
int lpw_reg_apply_lorawan_defaults(lpw_reg_t *reg, const char *endpoint, const char *binding);

/*
 * When the remembered Register has no object list, makes links (copied, CoRE link format) its payload with
 * Content-Format 40 (LwM2M 1.1.1 §6.8.4: a LoRaWAN device may omit the list; the gateway knows it from its
 * configuration). Returns 1 if added, 0 if the Register had a list, -ENOENT without a remembered Register, -EINVAL.
 */
int lpw_reg_default_objects(lpw_reg_t *reg, const char *links);

bool lpw_reg_is_registered(const lpw_reg_t *reg);
/* From the remembered Register (and later Updates); LPW_REG_DEFAULT_LIFETIME when it had no lt. */
uint32_t lpw_reg_lifetime(const lpw_reg_t *reg);
/* Borrowed strings, valid until the next call that changes reg; NULL when absent. */
const char *lpw_reg_endpoint(const lpw_reg_t *reg);
const char *lpw_reg_binding(const lpw_reg_t *reg);
const char *lpw_reg_version(const lpw_reg_t *reg);
bool lpw_reg_queue_mode(const lpw_reg_t *reg);
/* "/rd/5" (segments escaped as lpw_pdu_path_str() does); NULL when not registered. Borrowed as above. */
const char *lpw_reg_device_location(const lpw_reg_t *reg);
const char *lpw_reg_server_location(const lpw_reg_t *reg);

/*
 * The state as bytes for the store (first byte LPW_REG_BLOB_VERSION). Writes into buf (caller's, size bytes);
 * *out_len always receives the length needed, so a call with size 0 (buf may then be NULL) sizes the buffer.
 * Returns 0, -ENOSPC if size is too small, -EINVAL for NULL reg or out_len.
 */
int lpw_reg_serialise(const lpw_reg_t *reg, uint8_t *buf, size_t size, size_t *out_len);

/*
 * Replaces reg's state by the one in buf (len bytes, borrowed). Rejects with -EINVAL (reg unchanged) a wrong
 * version, truncation, trailing bytes, unknown flags, counts over the bounds, an inconsistent state (registered
 * without locations, locations without registration, request data without a request) and unparsable query
 * items; never reads outside buf. -ENOMEM.
 */
int lpw_reg_deserialise(lpw_reg_t *reg, const uint8_t *buf, size_t len) __attribute__((warn_unused_result));

#endif
