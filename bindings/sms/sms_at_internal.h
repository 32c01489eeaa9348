/* AT engine internals shared by sms_at.c (commands, answers, URCs, sends) and sms_at_init.c (the initialisation
 * sequence). Not for other modules. */
#ifndef LPW_SMS_AT_INTERNAL_H
#define LPW_SMS_AT_INTERNAL_H

#include "bindings/sms/sms_at.h"
#include "bindings/sms/sms_at_line.h"

#define MOD "sms-at"
#define CTL_MAX 320 /* control commands waiting: reads, deletes (up to a full storage of 255 after AT+CMGL), polls */
#define LISTED_MAX 256

typedef enum {
	/* the initialisation steps, in order */
	C_PROBE, C_ECHO_OFF, C_CMEE, C_CPIN_Q, C_CPIN, C_CMGF, C_CSMS, C_CPMS_Q, C_CNMI, C_LIST,
	/* once ready */
	C_READ, C_DELETE, C_SEND, C_CNMA, C_CSQ, C_CREG, C_CPMS_SET,
} cmd_kind_t;

typedef struct {
	cmd_kind_t kind;
	int index;   /* READ, DELETE */
	char mem[4]; /* READ (the storage +CMTI named), CPMS_SET */
	uint32_t id; /* SEND */
	size_t len, tpdu_len;
	uint8_t pdu[LPW_SMS_PDU_MAX]; /* SEND */
} cmd_t;

/* A header line (+CMGR, +CMGL, +CMT, +CDS) whose PDU is the next line. */
typedef enum { PW_NONE, PW_CMGR, PW_CMGL, PW_CMT, PW_CDS } pdu_wait_kind_t;

struct lpw_sms_at {
	lpw_loop_t *loop;
	lpw_sms_at_config_t cfg;
	char *pin;
	lpw_sms_at_transport_t tr;
	lpw_sms_at_hooks_t hooks;
	lpw_sms_at_reader_t reader;
	lpw_sms_at_status_t st;
	bool link_up;

	/* the command in flight */
	bool busy;
	cmd_t cur;
	char cur_text[64];    /* as written, for telling an echo; never logged for C_CPIN */
	const char *cur_prefix; /* its information lines ("+CMGR"); NULL = none */
	bool cur_prompted;    /* C_SEND: the PDU went out after the prompt */
	int cur_mr;           /* C_SEND: from +CMGS */
	char cur_cpin[32];    /* C_CPIN_Q: what +CPIN: said */
	bool cur_pdu_seen;    /* C_READ: a PDU line came (decoded or not) */
	bool cur_has_sms;     /* C_READ: and it decoded */
	int cur_stat;         /* C_READ: <stat> of +CMGR */
	lpw_sms_t cur_sms;
	lpw_timer_t cmd_timer;
	unsigned timeouts_in_row;

	/* the line after a header */
	pdu_wait_kind_t pw;
	int pw_index, pw_stat;
	long pw_length;

	/* initialisation */
	cmd_kind_t step;
	bool step_wait;        /* the step waits for the retry timer */
	bool pin_tried;        /* this link up */
	bool pin_refused;      /* ever: never again */
	bool direct;           /* +CMT with +CNMA in use (cnmi DIRECT and AT+CSMS=1 accepted) */
	int cnmi_mode;         /* 2, then 1 as a fallback */
	bool poll_list;        /* no indications at all: AT+CMGL every poll */
	bool need_list;        /* something may have been missed: list at the next poll */
	int listed[LISTED_MAX];
	size_t nlisted;
	size_t stored_at_start;
	char mem1[4];          /* the storage AT+CMGR/AT+CMGL read ("" unknown) */
	lpw_timer_t retry_timer;
	lpw_timer_t poll_timer;

	/* queues: CNMA first, then control commands, then sends */
	bool cnma_pending;
	cmd_t ctl[CTL_MAX];
	size_t ctl_head, ctl_len;
	cmd_t *sends;          /* [cfg.max_queue] ring */
	size_t send_head, send_len;
	uint32_t next_id;
	unsigned depth;        /* inside input or a timer: start the next command on the way out */
};

/* sms_at.c */
void lpw_sms_at_start_cmd(lpw_sms_at_t *at, const cmd_t *c);
void lpw_sms_at_set_state(lpw_sms_at_t *at, lpw_sms_at_state_t s, const char *why);
void lpw_sms_at_event(lpw_sms_at_t *at, const char *type, const char *detail);
int lpw_sms_at_queue_ctl(lpw_sms_at_t *at, cmd_kind_t kind, int index, const char *mem);
void lpw_sms_at_arm(lpw_sms_at_t *at, lpw_timer_t *t, uint32_t ms);
/* AT+CMGL finished: what it listed is deleted. */
void lpw_sms_at_list_done(lpw_sms_at_t *at, bool ok);

/* sms_at_init.c */
void lpw_sms_at_init_begin(lpw_sms_at_t *at);
/* Starts the current step (called when nothing is in flight and the state is INIT). */
void lpw_sms_at_init_run(lpw_sms_at_t *at);
/* The command of the current step finished: l is its final result line (NULL on a timeout). */
void lpw_sms_at_init_done(lpw_sms_at_t *at, const lpw_sms_at_line_t *l);
/* The +CPIN line of C_CPIN_Q, the +CSMS line of C_CSMS. */
void lpw_sms_at_init_info(lpw_sms_at_t *at, const lpw_sms_at_line_t *l);

#endif
