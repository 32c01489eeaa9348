/* modem-sim: a cellular modem on a pseudo-terminal speaking the AT subset lpwagw uses (TS 27.005 PDU mode, TS
 * 27.007), with an SMS network behind it: simulated devices reach it over a UDP side channel and exchange SMS with
 * the gateway as their MSISDN. Faults on demand: +CMS ERROR on send, slow, split and garbled output, silence, and
 * the modem vanishing and reappearing (the pty's path is a symlink it removes and recreates). One library, so
 * tests can run it in-process; tools/modem-sim/main.c wraps it in the simulators' shell.
 *
 * Side channel, one text datagram each way (HEX: upper or lower case hex digits):
 *   device -> sim  HELLO MSISDN [pdu|raw]   registers the sender's address for MSISDN and how it wants SMS: pdu (the
 *                                           default) gets "DELIVER HEX" per SMS (an SMS-DELIVER TPDU from the
 *                                           modem's number), raw gets "DATA FROM HEX" per whole message
 *                  SUBMIT MSISDN HEX        an SMS-SUBMIT TPDU (no SMSC field) sent by MSISDN; also registers
 *                  SEND MSISDN HEX          a payload the sim puts into 8-bit SMS (concatenated when long)
 *   sim -> device  OK [MR] | ERROR REASON   the answer to each of the above
 *                  DELIVER HEX | DATA FROM HEX   an SMS (or message) the gateway sent to the device
 * The MSISDN is what the gateway sees as the originating address (international, TS 23.003 digits, '+' allowed). */
#ifndef LPW_MODEMSIM_H
#define LPW_MODEMSIM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"

typedef struct lpw_modemsim lpw_modemsim_t;

/* One event as a JSON object on one line (borrowed for the call). */
typedef void (*lpw_modemsim_event_cb)(void *arg, const char *json);

typedef struct {
	const char *path;       /* the symlink to the pty's slave, created (and replaced) by the sim; copied */
	const char *msisdn;     /* the modem's own number: the originating address of what devices receive; copied */
	const char *pin;        /* the SIM's PIN; NULL = none asked; copied */
	const char *side_addr;  /* numeric address of the side channel; NULL = 127.0.0.1 */
	uint16_t side_port;     /* 0 = ephemeral (lpw_modemsim_side_port) */
	unsigned storage;       /* message slots of the SIM; 0 = 20 */
	bool no_direct;         /* refuse AT+CSMS=1 (a modem without +CNMA) */
	uint32_t cnma_timeout_ms; /* a +CMT/+CDS not acknowledged this long (with AT+CSMS=1): routing is switched off
				   * (TS 27.005 §3.4.1) and the message stored; 0 = 15000 */
	uint32_t sim_busy_ms;   /* after a correct PIN, +CME ERROR: 14 for this long; 0 = none */
	lpw_modemsim_event_cb on_event;
	void *event_arg;
} lpw_modemsim_config_t;

/* Opens the pty and the side channel on loop (borrowed, must outlive the sim); cfg copied. NULL on failure
 * (logged). Emits {"event":"ready","path":...,"pty":...,"side_port":N}. */
lpw_modemsim_t *lpw_modemsim_new(lpw_loop_t *loop, const lpw_modemsim_config_t *cfg);
/* Closes everything and removes the symlink. Accepts NULL. */
void lpw_modemsim_free(lpw_modemsim_t *m);

uint16_t lpw_modemsim_side_port(const lpw_modemsim_t *m);

/* One control line (borrowed): 0, -EINVAL for an unknown command or bad argument, other -errno when it failed.
 *   cms-error N [COUNT]   the next COUNT (1) AT+CMGS are answered +CMS ERROR: N
 *   slow MS               every answer waits MS first (0 = off)
 *   split N [GAP_MS]      output goes out N bytes at a time, GAP_MS (5) apart (0 = off)
 *   garble [COUNT]        the next COUNT (1) answers get a byte flipped and a line of noise before them
 *   mute | unmute         stop answering / answer again (what arrives while muted is dropped)
 *   vanish [MS]           the pty and its symlink go; back after MS if given
 *   appear                a new pty behind the same symlink
 *   inject FROM HEX       an SMS from FROM (any number: unknown ones too) with payload HEX, concatenated if long
 *   store FROM HEX        the same, stored on the SIM without an indication (messages there at start)
 *   urc TEXT              TEXT as a line of its own, now
 *   csq RSSI | creg STAT  what AT+CSQ and AT+CREG? report
 *   status                an event with storage, CNMI settings and counters */
int lpw_modemsim_command(lpw_modemsim_t *m, const char *line);

#endif
