/* The AT engine's initialisation sequence, one step per command: AT, ATE0, AT+CMEE=1, AT+CPIN? (and the PIN when
 * the SIM asks), AT+CMGF=0 (PDU mode), AT+CSMS, AT+CPMS?, AT+CNMI, AT+CMGL=4 (what the SIM already holds). */
#include "bindings/sms/sms_at_internal.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

void lpw_sms_at_init_begin(lpw_sms_at_t *at)
{
	at->step = C_PROBE;
	at->step_wait = false;
	at->direct = at->cfg.cnmi == LPW_SMS_AT_CNMI_DIRECT; /* until AT+CSMS=1 is refused */
	at->cnmi_mode = 2; /* buffer URCs while a command runs and flush them after (TS 27.005 §3.4.1) */
	at->poll_list = false;
	at->nlisted = 0;
	at->stored_at_start = 0;
	at->mem1[0] = '\0';
	lpw_loop_timer_clear(at->loop, &at->poll_timer);
	lpw_loop_timer_clear(at->loop, &at->retry_timer);
	lpw_sms_at_set_state(at, LPW_SMS_AT_INIT, "initialising the modem");
}

void lpw_sms_at_init_run(lpw_sms_at_t *at)
{
	cmd_t c = {.kind = at->step};
	lpw_sms_at_start_cmd(at, &c);
}

static void next(lpw_sms_at_t *at, cmd_kind_t step)
{
	at->step = step; /* started by the engine once this answer is handled */
}

/* The same step again after retry_ms (the SIM is busy, e.g. just after its PIN). */
static void later(lpw_sms_at_t *at, cmd_kind_t step)
{
	at->step = step;
	at->step_wait = true;
	lpw_sms_at_arm(at, &at->retry_timer, at->cfg.retry_ms);
}

static void give_up(lpw_sms_at_t *at, const char *why)
{
	lpw_sms_at_set_state(at, LPW_SMS_AT_FAILED, why);
}

static void fallback_store(lpw_sms_at_t *at, const char *why)
{
	if (!at->direct)
		return;
	at->direct = false;
	LPW_WARN(MOD, "%s: falling back to store-then-read (+CMTI)", why);
	lpw_sms_at_event(at, "cnmi-fallback", why);
}

static void ready(lpw_sms_at_t *at)
{
	char why[128], n[24];
	snprintf(why, sizeof(why), "ready: PDU mode, %s%s", at->poll_list ? "listing every poll" :
			 at->direct ? "direct delivery (+CMT, AT+CNMA)" : "store-then-read (+CMTI)",
		 at->cfg.status_reports ? ", status reports" : "");
	lpw_sms_at_set_state(at, LPW_SMS_AT_READY, why);
	lpw_sms_at_arm(at, &at->poll_timer, 0); /* signal and registration at once */
	if (at->stored_at_start) {
		snprintf(n, sizeof(n), "%zu", at->stored_at_start);
		LPW_NOTICE(MOD, "the modem held %zu messages at start: read and deleted", at->stored_at_start);
		lpw_sms_at_event(at, "stored", n);
	}
}

static void need_pin(lpw_sms_at_t *at)
{
	if (!at->pin)
		give_up(at, "the SIM asks for its PIN and no pin_file is configured");
	else if (at->pin_refused)
		give_up(at, "the SIM asks for its PIN, which it refused before: not trying again");
	else if (at->pin_tried)
		give_up(at, "the SIM still asks for its PIN after it was entered");
	else {
		at->pin_tried = true;
		next(at, C_CPIN);
	}
}

void lpw_sms_at_init_info(lpw_sms_at_t *at, const lpw_sms_at_line_t *l)
{
	long mt;
	if (at->cur.kind == C_CPIN_Q) {
		snprintf(at->cur_cpin, sizeof(at->cur_cpin), "%.*s", (int)l->rest_len, l->rest);
	} else if (at->cur.kind == C_CSMS && lpw_sms_at_arg_num(l, 0, &mt) && mt == 0) {
		/* +CSMS: <mt>,<mo>,<bm>: mt 0 = mobile-terminated messages not supported in this service */
		fallback_store(at, "the modem does not support message service 1 (AT+CSMS=1)");
	}
}

static void cpin_done(lpw_sms_at_t *at, const lpw_sms_at_line_t *l)
{
	char why[128];
	if (l->kind == LPW_SMS_AT_CME_ERROR && (l->code == 14 || l->code == 11 || l->code == 10 || l->code == 12 ||
						l->code == 13 || l->code == 15)) {
		if (l->code == 14) /* SIM busy */
			later(at, C_CPIN_Q);
		else if (l->code == 11) /* SIM PIN required */
			need_pin(at);
		else {
			snprintf(why, sizeof(why), "SIM: %s (+CME ERROR: %d)", lpw_sms_at_cme_text(l->code), l->code);
			give_up(at, why);
		}
		return;
	}
	if (l->kind != LPW_SMS_AT_OK || at->cur_cpin[0] == '\0' || !strcmp(at->cur_cpin, "READY") ||
	    !strncmp(at->cur_cpin, "SIM PIN2", 8) || !strncmp(at->cur_cpin, "SIM PUK2", 8)) {
		next(at, C_CMGF); /* no AT+CPIN here, or nothing that blocks messages */
		return;
	}
	if (!strcmp(at->cur_cpin, "SIM PIN")) {
		need_pin(at);
		return;
	}
	snprintf(why, sizeof(why), "the SIM asks for %s; enter it by hand", at->cur_cpin);
	give_up(at, why);
}

static void cpin_entered(lpw_sms_at_t *at, const lpw_sms_at_line_t *l)
{
	char why[160];
	if (l->kind == LPW_SMS_AT_OK) {
		LPW_NOTICE(MOD, "SIM PIN entered");
		lpw_sms_at_event(at, "sim-pin", "entered");
		later(at, C_CPIN_Q); /* the SIM takes a moment before it answers */
		return;
	}
	at->pin_refused = true;
	snprintf(why, sizeof(why), "the SIM refused the PIN (%s); it is not tried again, to spare its remaining attempts",
		 l->kind == LPW_SMS_AT_CME_ERROR ? lpw_sms_at_cme_text(l->code) : "ERROR");
	give_up(at, why);
}

void lpw_sms_at_init_done(lpw_sms_at_t *at, const lpw_sms_at_line_t *l)
{
	if (!l)
		return; /* a timeout: the same step again (the engine counts timeouts and asks for a reset) */
	bool ok = l->kind == LPW_SMS_AT_OK;
	switch (at->step) {
	case C_PROBE: next(at, C_ECHO_OFF); break; /* any answer will do: the modem is there */
	case C_ECHO_OFF: next(at, C_CMEE); break;
	case C_CMEE: next(at, C_CPIN_Q); break;
	case C_CPIN_Q: cpin_done(at, l); break;
	case C_CPIN: cpin_entered(at, l); break;
	case C_CMGF:
		if (ok)
			next(at, C_CSMS);
		else
			give_up(at, "the modem refuses PDU mode (AT+CMGF=0)");
		break;
	case C_CSMS:
		if (!ok)
			fallback_store(at, "the modem refuses AT+CSMS=1, needed to acknowledge +CMT");
		next(at, C_CPMS_Q);
		break;
	case C_CPMS_Q: next(at, C_CNMI); break;
	case C_CNMI:
		if (ok)
			next(at, C_LIST);
		else if (at->cnmi_mode == 2)
			at->cnmi_mode = 1; /* the same step with mode 1 */
		else {
			at->poll_list = true;
			LPW_WARN(MOD, "the modem refuses new-message indications (AT+CNMI): listing every poll");
			lpw_sms_at_event(at, "cnmi-fallback", "no new-message indications: listing every poll");
			next(at, C_LIST);
		}
		break;
	case C_LIST:
		lpw_sms_at_list_done(at, ok);
		ready(at);
		break;
	default: break;
	}
}
