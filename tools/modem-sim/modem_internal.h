/* modem-sim internals shared by modem.c (set-up, control commands), modem_pty.c (the pty and its output with
 * faults), modem_at.c (the AT interpreter) and modem_net.c (storage, the SMS network, the side channel). */
#ifndef LPW_MODEMSIM_INTERNAL_H
#define LPW_MODEMSIM_INTERNAL_H

#include <jansson.h>
#include <sys/socket.h>

#include "bindings/sms/sms_concat.h"
#include "bindings/sms/sms_pdu.h"
#include "tools/modem-sim/modem.h"

#define MSIM_LINE_MAX 1024  /* a command line, or the PDU after the prompt */
#define MSIM_OUT_MAX 65536
#define MSIM_BUCKETS 256

struct msim_slot {
	bool used;
	uint8_t stat;    /* TS 27.005 §3.1 <stat> in PDU mode: 0 received unread, 1 received read */
	size_t len, tpdu_len;
	uint8_t pdu[LPW_SMS_PDU_MAX]; /* with its SMSC field */
};

struct msim_dev {
	struct msim_dev *next;
	char msisdn[LPW_SMS_ADDR_DIGITS_MAX + 1];
	struct sockaddr_storage addr;
	socklen_t alen;
	bool raw; /* whole messages ("DATA"), not SMS ("DELIVER") */
};

struct lpw_modemsim {
	lpw_loop_t *loop;
	lpw_modemsim_config_t cfg;
	char *path, *msisdn, *pin, *side_addr;

	/* the pty */
	int master, slave; /* -1 while vanished */
	char pty_name[64];
	lpw_timer_t appear_timer;
	uint8_t out[MSIM_OUT_MAX];
	size_t out_len;
	lpw_timer_t write_timer;

	/* faults */
	uint32_t slow_ms, split, split_gap_ms;
	unsigned noise, garble, cms_count;
	int cms_code;
	bool mute;

	/* the AT side */
	char line[MSIM_LINE_MAX + 1];
	size_t line_len;
	bool in_pdu;       /* after the "> " of AT+CMGS */
	size_t cmgs_len;
	bool echo;
	int cmee, csms;
	int cnmi[5];       /* mode, mt, bm, ds, bfr */
	bool pin_needed, puk_needed;
	int pin_attempts;
	int64_t busy_until;
	int rssi, creg;
	uint8_t mr;        /* TP-MR of the last SMS sent */

	/* storage and acknowledgements */
	struct msim_slot *slots;
	bool ack_pending;  /* a +CMT/+CDS waits for AT+CNMA */
	struct msim_slot unacked;
	lpw_timer_t cnma_timer;

	/* the network */
	int side_fd;
	uint16_t side_port;
	struct msim_dev *devs[MSIM_BUCKETS];
	lpw_sms_concat_t *raw_concat; /* messages for "raw" devices, reassembled */
	uint16_t next_ref;
	uint64_t n_mo, n_mt, n_undeliverable;
};

/* modem.c */
void msim_emit(lpw_modemsim_t *m, json_t *ev); /* takes ev */
json_t *msim_event(const char *name);

/* modem_pty.c */
int msim_pty_open(lpw_modemsim_t *m);
void msim_pty_close(lpw_modemsim_t *m);
/* The write timer's callback. */
void msim_pty_flush(lpw_timer_t *t, int64_t now_ms);
/* Bytes for the gateway, through the faults (slow, split). */
void msim_out(lpw_modemsim_t *m, const char *data, size_t len);
/* "\r\nTEXT\r\n": an information line, a URC. */
void msim_line(lpw_modemsim_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A final result code, garbled or with noise first if asked. */
void msim_final(lpw_modemsim_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* modem_at.c */
void msim_at_input(lpw_modemsim_t *m, const uint8_t *data, size_t len);
void msim_at_reset(lpw_modemsim_t *m);

/* modem_net.c */
int msim_net_open(lpw_modemsim_t *m);
void msim_net_close(lpw_modemsim_t *m);
/* An SMS for the gateway (an SMS-DELIVER) from the network; force_store: on the SIM without an indication.
 * -ENOSPC when the storage is full. */
int msim_deliver_to_gateway(lpw_modemsim_t *m, const lpw_sms_t *deliver, bool force_store);
/* payload from FROM as 8-bit SMS (concatenated when long), each delivered to the gateway. */
int msim_send_from(lpw_modemsim_t *m, const char *from, const uint8_t *payload, size_t len, bool force_store);
/* The gateway sent pdu (AT+CMGS, with its SMSC field): routed to its device; *out_mr is the TP-MR given. 1 when
 * a device got it, 0 when no device has that number, -EBADMSG when it does not decode. */
int msim_submit_from_gateway(lpw_modemsim_t *m, const uint8_t *pdu, size_t len, size_t tpdu_len, int *out_mr);
/* The status report that follows a send, once its +CMGS answer is out. */
void msim_status_report(lpw_modemsim_t *m, const lpw_sms_t *submit, uint8_t mr, uint8_t st);
/* AT+CNMA came: the pending +CMT/+CDS is acknowledged (false if none was pending). */
bool msim_acknowledge(lpw_modemsim_t *m);
int msim_slot_count(const lpw_modemsim_t *m);
void msim_time_now(lpw_sms_time_t *t);

#endif
