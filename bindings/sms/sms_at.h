/* The AT engine: drives a cellular modem in SMS PDU mode (3GPP TS 27.005, TS 27.007) over a byte-stream transport.
 * It initialises the modem (echo off, numeric errors, SIM PIN if asked, PDU mode, message service, new-message
 * indications), reads and deletes what the SIM already holds, then receives (store-then-read: +CMTI -> AT+CMGR ->
 * AT+CMGD, or direct +CMT with AT+CNMA) and sends (AT+CMGS, the "> " prompt, PDU and Ctrl-Z), one command in flight
 * with a timeout, unsolicited result codes accepted anywhere, and polls signal quality and registration.
 * It takes no decision about what the messages mean: PDUs in, decoded messages out.
 *
 * Wiring in the daemon: hal/serial's data hook -> lpw_sms_at_input; its state hook -> lpw_sms_at_link;
 * transport.write -> lpw_serial_write; hooks.reset -> lpw_serial_reset. Tests drive it with transcripts. */
#ifndef LPW_SMS_AT_H
#define LPW_SMS_AT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bindings/sms/sms_pdu.h"
#include "core/loop.h"

typedef struct lpw_sms_at lpw_sms_at_t;

typedef enum {
	LPW_SMS_AT_DOWN,      /* no link to the modem (the port is closed or gone) */
	LPW_SMS_AT_INIT,      /* initialising */
	LPW_SMS_AT_READY,     /* sends and receives */
	LPW_SMS_AT_FAILED,    /* gave up until the link goes down and up again (SIM missing, PIN refused or unknown) */
	LPW_SMS_AT_RESETTING, /* the modem stopped answering; the reset hook was called */
} lpw_sms_at_state_t;

typedef enum {
	LPW_SMS_AT_CNMI_STORE,  /* AT+CNMI=2,1: +CMTI, then AT+CMGR and AT+CMGD (ModemManager's and smstools' way) */
	LPW_SMS_AT_CNMI_DIRECT, /* AT+CSMS=1, AT+CNMI=2,2: +CMT with the PDU, acknowledged with AT+CNMA */
} lpw_sms_at_cnmi_t;

typedef struct {
	lpw_sms_at_cnmi_t cnmi;
	bool status_reports;       /* route status reports to us (+CNMI ds=1: +CDS) */
	const char *pin;           /* copied; NULL = none. Sent only when AT+CPIN? asks for it; once refused, never again
				    * (a SIM locks after three wrong PINs) */
	uint32_t cmd_timeout_ms;   /* an answer to a command, and the "> " prompt; 0 = 10000 */
	uint32_t send_timeout_ms;  /* AT+CMGS after the PDU (the network answers), and AT+CMGL; 0 = 60000 */
	uint32_t poll_interval_ms; /* AT+CSQ and AT+CREG? for telemetry; 0 = 60000 */
	uint32_t retry_ms;         /* a step the modem is not ready for (SIM busy), and a reset that changed nothing;
				    * 0 = 5000 */
	unsigned max_timeouts;     /* commands in a row without an answer: the modem is not answering; 0 = 3 */
	unsigned max_queue;        /* sends waiting for their turn; 0 = 16 */
} lpw_sms_at_config_t;

typedef struct {
	/* Writes bytes to the modem (borrowed for the call). 0 or -errno; must not call back into the engine. */
	int (*write)(void *ctx, const uint8_t *data, size_t len);
	void *ctx;
} lpw_sms_at_transport_t;

/* Every hook is called from lpw_sms_at_input, lpw_sms_at_link or a timer of the engine, when the engine is
 * consistent. A hook may call lpw_sms_at_send and the getters; only reset may lead to lpw_sms_at_link (the port
 * closing). None may free the engine. Pointers are borrowed for the call. Any hook may be NULL. */
typedef struct {
	/* A message for us (SMS-DELIVER) or a status report (SMS-STATUS-REPORT), decoded. In store mode it is
	 * deleted from the modem after this returns; duplicates are possible after a loss of the link. */
	void (*received)(void *arg, const lpw_sms_t *sms);
	/* What became of lpw_sms_at_send's message id: result 0 and mr (the TP-MR the modem gave it, to match a
	 * status report); or -EPROTO (refused: err is the +CMS ERROR code, or -1 for a plain ERROR), -ETIMEDOUT (no
	 * answer in time), -ENOTCONN (the link went down, or the engine reset the modem, before it was sent). */
	void (*sent)(void *arg, uint32_t id, int result, int mr, int err);
	/* The engine's state changed; why says so in words for logs and telemetry. */
	void (*state)(void *arg, lpw_sms_at_state_t state, const char *why);
	/* The modem stopped answering (max_timeouts in a row): pulse its reset line or reopen the port. */
	void (*reset)(void *arg);
	/* Something worth an event: type "sim-pin" (PIN entered), "cnmi-fallback" (direct delivery not supported:
	 * store-then-read instead; or no indications at all: listing every poll), "stored" (detail: how many messages
	 * the SIM held at start), "malformed" (a PDU the modem gave that does not decode; detail: why). */
	void (*event)(void *arg, const char *type, const char *detail);
	void *arg;
} lpw_sms_at_hooks_t;

typedef struct {
	lpw_sms_at_state_t state;
	int rssi, ber;   /* +CSQ (TS 27.007 §8.5): rssi 0..31 (see lpw_sms_at_rssi_dbm), 99 unknown; -1 never read */
	int creg;        /* +CREG <stat> (TS 27.007 §7.2): 1 home, 5 roaming, 0/2/3/4 not registered; -1 unknown */
	/* monotonic counters */
	uint64_t sent, send_failed, received, status_reports;
	uint64_t cms_errors, cme_errors; /* final result codes of either kind, for any command */
	uint64_t timeouts, resets;       /* commands without answer; reset requests */
	uint64_t malformed;              /* PDUs that did not decode, PDU lines that never came */
	uint64_t unexpected;             /* lines that fit nothing: late answers, garbled, too long */
	size_t queued;                   /* gauge: sends waiting */
} lpw_sms_at_status_t;

/* loop borrowed (timers), must outlive the engine; cfg, transport and hooks copied. The engine starts DOWN: call
 * lpw_sms_at_link(at, true) once the port is open. NULL on allocation failure. */
lpw_sms_at_t *lpw_sms_at_new(lpw_loop_t *loop, const lpw_sms_at_config_t *cfg, const lpw_sms_at_transport_t *tr,
			     const lpw_sms_at_hooks_t *hooks);
/* Accepts NULL. Calls no hook; sends still queued are simply forgotten. */
void lpw_sms_at_free(lpw_sms_at_t *at);

/* The link came up (the port opened: initialisation starts) or went down (everything in flight fails with
 * -ENOTCONN, the state becomes DOWN). Harmless when nothing changes. */
void lpw_sms_at_link(lpw_sms_at_t *at, bool up);

/* Bytes from the modem (borrowed), in any pieces. */
void lpw_sms_at_input(lpw_sms_at_t *at, const uint8_t *data, size_t len);

/* Queues one SMS for AT+CMGS: pdu is what lpw_sms_encode wrote with its SMSC field (len octets, copied) and
 * tpdu_len the TPDU's part of it. *out_id (may be NULL) is what the sent hook will name. Returns 0, or -ENOTCONN
 * (not READY), -ENOBUFS (max_queue sends already wait), -EINVAL (lengths that cannot be a PDU). */
int lpw_sms_at_send(lpw_sms_at_t *at, const uint8_t *pdu, size_t len, size_t tpdu_len, uint32_t *out_id)
	__attribute__((warn_unused_result));

void lpw_sms_at_get_status(const lpw_sms_at_t *at, lpw_sms_at_status_t *out);

/* "down", "init", "ready", "failed", "resetting"; static storage. */
const char *lpw_sms_at_state_name(lpw_sms_at_state_t state);
/* TS 27.007 §8.5: rssi 0 is -113 dBm or less, 31 is -51 dBm or more, 2 dB a step; 0 (no value) for 99 or -1. */
int lpw_sms_at_rssi_dbm(int rssi);
/* TS 27.007 §7.2 <stat> in words; static storage. */
const char *lpw_sms_at_creg_text(int stat);

#endif
