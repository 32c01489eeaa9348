/* The AT engine: one command in flight, its answer told apart from unsolicited result codes that may come at any
 * point (TS 27.007 §4.1, TS 27.005 §3.4.1), the PDUs that follow +CMGR/+CMGL/+CMT/+CDS headers, sends through the
 * AT+CMGS prompt (TS 27.005 §3.5.1), timeouts, and a reset request when the modem stops answering. */
#include "bindings/sms/sms_at_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static void pump(lpw_sms_at_t *at);

/* --- small things --- */

const char *lpw_sms_at_state_name(lpw_sms_at_state_t s)
{
	static const char *const names[] = {"down", "init", "ready", "failed", "resetting"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

int lpw_sms_at_rssi_dbm(int rssi)
{
	return rssi >= 0 && rssi <= 31 ? -113 + 2 * rssi : 0;
}

const char *lpw_sms_at_creg_text(int stat)
{
	static const char *const t[] = {"not registered, not searching", "registered, home network",
					"not registered, searching", "registration denied", "unknown",
					"registered, roaming"};
	return stat >= 0 && stat < 6 ? t[stat] : stat == -1 ? "not known yet" : "other";
}

void lpw_sms_at_event(lpw_sms_at_t *at, const char *type, const char *detail)
{
	if (at->hooks.event)
		at->hooks.event(at->hooks.arg, type, detail);
}

void lpw_sms_at_set_state(lpw_sms_at_t *at, lpw_sms_at_state_t s, const char *why)
{
	if (at->st.state == s)
		return;
	at->st.state = s;
	if (s == LPW_SMS_AT_FAILED)
		LPW_ERR(MOD, "modem: %s", why);
	else
		LPW_NOTICE(MOD, "modem %s: %s", lpw_sms_at_state_name(s), why);
	if (at->hooks.state)
		at->hooks.state(at->hooks.arg, s, why);
}

void lpw_sms_at_arm(lpw_sms_at_t *at, lpw_timer_t *t, uint32_t ms)
{
	if (lpw_loop_timer_in(at->loop, t, ms) < 0)
		LPW_ERR(MOD, "cannot arm a timer: out of memory"); /* the next input or link change moves things on */
}

static void write_str(lpw_sms_at_t *at, const char *s)
{
	int rc = at->tr.write ? at->tr.write(at->tr.ctx, (const uint8_t *)s, strlen(s)) : -ENOTCONN;
	if (rc < 0)
		LPW_WARN(MOD, "cannot write to the modem: %s", strerror(-rc)); /* the command times out */
}

/* --- queues --- */

int lpw_sms_at_queue_ctl(lpw_sms_at_t *at, cmd_kind_t kind, int index, const char *mem)
{
	if (kind == C_CNMA) {
		at->cnma_pending = true;
		return 0;
	}
	for (size_t i = 0; i < at->ctl_len; i++) {
		const cmd_t *c = &at->ctl[(at->ctl_head + i) % CTL_MAX];
		if (c->kind == kind && c->index == index && (!mem || strcmp(c->mem, mem) == 0))
			return 0; /* already waiting (a poll, a read of the same slot) */
	}
	if (at->ctl_len == CTL_MAX) {
		at->need_list = true; /* a read we cannot queue: the next listing finds it */
		return -ENOBUFS;
	}
	cmd_t *c = &at->ctl[(at->ctl_head + at->ctl_len++) % CTL_MAX];
	memset(c, 0, offsetof(cmd_t, pdu));
	c->kind = kind;
	c->index = index;
	if (mem)
		snprintf(c->mem, sizeof(c->mem), "%s", mem);
	return 0;
}

static bool next_cmd(lpw_sms_at_t *at, cmd_t *out)
{
	if (at->cnma_pending) {
		at->cnma_pending = false;
		*out = (cmd_t){.kind = C_CNMA};
		return true;
	}
	if (at->ctl_len) {
		*out = at->ctl[at->ctl_head];
		at->ctl_head = (at->ctl_head + 1) % CTL_MAX;
		at->ctl_len--;
		return true;
	}
	if (at->send_len) {
		*out = at->sends[at->send_head];
		at->send_head = (at->send_head + 1) % at->cfg.max_queue;
		at->send_len--;
		at->st.queued = at->send_len;
		return true;
	}
	return false;
}

static void tell_sent(lpw_sms_at_t *at, uint32_t id, int result, int mr, int err)
{
	if (result == 0)
		at->st.sent++;
	else
		at->st.send_failed++;
	if (at->hooks.sent)
		at->hooks.sent(at->hooks.arg, id, result, mr, err);
}

/* Everything waiting or in flight is dropped; sends are told so with result. */
static void flush_all(lpw_sms_at_t *at, int result)
{
	bool had = at->busy && at->cur.kind == C_SEND;
	uint32_t id = at->cur.id;
	at->busy = false;
	lpw_loop_timer_clear(at->loop, &at->cmd_timer);
	at->ctl_len = 0;
	at->cnma_pending = false;
	at->pw = PW_NONE;
	if (had)
		tell_sent(at, id, result, -1, -1);
	while (at->send_len) {
		cmd_t *c = &at->sends[at->send_head];
		at->send_head = (at->send_head + 1) % at->cfg.max_queue;
		at->send_len--;
		at->st.queued = at->send_len;
		tell_sent(at, c->id, result, -1, -1);
	}
}

/* --- starting a command --- */

static void cmd_text(const lpw_sms_at_t *at, const cmd_t *c, char *buf, size_t cap)
{
	/* TS 27.005 §3.2.3: ds=1 routes status reports as +CDS; mt 1 = +CMTI after storing, 2 = +CMT directly */
	int mt = at->direct ? 2 : 1, ds = at->cfg.status_reports ? 1 : 0;
	switch (c->kind) {
	case C_PROBE: snprintf(buf, cap, "AT"); break;
	case C_ECHO_OFF: snprintf(buf, cap, "ATE0"); break;
	case C_CMEE: snprintf(buf, cap, "AT+CMEE=1"); break;
	case C_CPIN_Q: snprintf(buf, cap, "AT+CPIN?"); break;
	case C_CPIN: snprintf(buf, cap, "AT+CPIN=\"%s\"", at->pin ? at->pin : ""); break;
	case C_CMGF: snprintf(buf, cap, "AT+CMGF=0"); break;
	case C_CSMS: snprintf(buf, cap, "AT+CSMS=%d", at->cfg.cnmi == LPW_SMS_AT_CNMI_DIRECT ? 1 : 0); break;
	case C_CPMS_Q: snprintf(buf, cap, "AT+CPMS?"); break;
	case C_CNMI: snprintf(buf, cap, "AT+CNMI=%d,%d,0,%d,0", at->cnmi_mode, mt, ds); break;
	case C_LIST: snprintf(buf, cap, "AT+CMGL=4"); break; /* PDU mode <stat> 4: all messages */
	case C_READ: snprintf(buf, cap, "AT+CMGR=%d", c->index); break;
	case C_DELETE: snprintf(buf, cap, "AT+CMGD=%d", c->index); break;
	case C_SEND: snprintf(buf, cap, "AT+CMGS=%zu", c->tpdu_len); break;
	case C_CNMA: snprintf(buf, cap, "AT+CNMA"); break;
	case C_CSQ: snprintf(buf, cap, "AT+CSQ"); break;
	case C_CREG: snprintf(buf, cap, "AT+CREG?"); break;
	case C_CPMS_SET: snprintf(buf, cap, "AT+CPMS=\"%s\"", c->mem); break;
	}
}

static const char *cmd_prefix(cmd_kind_t k)
{
	switch (k) {
	case C_CPIN_Q: return "+CPIN";
	case C_CSMS: return "+CSMS";
	case C_CPMS_Q:
	case C_CPMS_SET: return "+CPMS";
	case C_LIST: return "+CMGL";
	case C_READ: return "+CMGR";
	case C_SEND: return "+CMGS";
	case C_CSQ: return "+CSQ";
	case C_CREG: return "+CREG";
	default: return NULL;
	}
}

void lpw_sms_at_start_cmd(lpw_sms_at_t *at, const cmd_t *c)
{
	char line[80];
	at->cur = *c;
	at->busy = true;
	at->cur_prefix = cmd_prefix(c->kind);
	at->cur_prompted = false;
	at->cur_mr = -1;
	at->cur_cpin[0] = '\0';
	at->cur_has_sms = at->cur_pdu_seen = false;
	at->cur_stat = -1;
	if (c->kind == C_READ && c->mem[0] && strcmp(c->mem, at->mem1) != 0) {
		/* +CMTI named another storage than AT+CMGR reads: switch first, then read */
		cmd_t read = *c;
		if (lpw_sms_at_queue_ctl(at, C_READ, read.index, read.mem) == 0) {
			/* queued at the back: move it to the front by rotating the ring */
			at->ctl_head = (at->ctl_head + CTL_MAX - 1) % CTL_MAX;
			at->ctl[at->ctl_head] = at->ctl[(at->ctl_head + at->ctl_len) % CTL_MAX];
		}
		at->cur = (cmd_t){.kind = C_CPMS_SET};
		snprintf(at->cur.mem, sizeof(at->cur.mem), "%s", c->mem);
		at->cur_prefix = cmd_prefix(C_CPMS_SET);
	}
	cmd_text(at, &at->cur, at->cur_text, sizeof(at->cur_text));
	if (at->cur.kind != C_CPIN)
		LPW_DEBUG(MOD, "-> %s", at->cur_text);
	snprintf(line, sizeof(line), "%s\r", at->cur_text);
	write_str(at, line);
	bool long_wait = at->cur.kind == C_LIST;
	lpw_sms_at_arm(at, &at->cmd_timer, long_wait ? at->cfg.send_timeout_ms : at->cfg.cmd_timeout_ms);
}

/* The prompt came: the PDU in hex, then Ctrl-Z (TS 27.005 §3.5.1). */
static void send_pdu(lpw_sms_at_t *at)
{
	char hex[LPW_SMS_HEX_MAX + 2];
	int n = lpw_sms_hex_encode(at->cur.pdu, at->cur.len, hex, sizeof(hex) - 1);
	hex[n] = 0x1a;
	hex[n + 1] = '\0';
	at->cur_prompted = true;
	at->timeouts_in_row = 0; /* the modem answered; what follows waits for the network */
	write_str(at, hex);
	lpw_sms_at_arm(at, &at->cmd_timer, at->cfg.send_timeout_ms);
}

/* --- answers --- */

static int final_err(const lpw_sms_at_line_t *l)
{
	return l && (l->kind == LPW_SMS_AT_CMS_ERROR || l->kind == LPW_SMS_AT_CME_ERROR) ? l->code : -1;
}

static void deliver(lpw_sms_at_t *at, const lpw_sms_t *sms)
{
	if (sms->type == LPW_SMS_STATUS_REPORT)
		at->st.status_reports++;
	else
		at->st.received++;
	if (at->hooks.received)
		at->hooks.received(at->hooks.arg, sms);
}

void lpw_sms_at_list_done(lpw_sms_at_t *at, bool ok)
{
	/* deleted one by one: AT+CMGD=0,4 would also take what arrived since the listing */
	for (size_t i = 0; ok && i < at->nlisted; i++)
		(void)lpw_sms_at_queue_ctl(at, C_DELETE, at->listed[i], NULL);
	at->nlisted = 0;
}

/* The command in flight has its final result (l), or timed out (l NULL). */
static void finish_ready(lpw_sms_at_t *at, const lpw_sms_at_line_t *l)
{
	bool ok = l && l->kind == LPW_SMS_AT_OK;
	switch (at->cur.kind) {
	case C_SEND:
		if (ok)
			tell_sent(at, at->cur.id, 0, at->cur_mr, -1);
		else
			tell_sent(at, at->cur.id, l ? -EPROTO : -ETIMEDOUT, -1, final_err(l));
		break;
	case C_READ:
		if (ok && at->cur_has_sms && (at->cur_stat == 0 || at->cur_stat == 1))
			deliver(at, &at->cur_sms);
		if (ok && at->cur_pdu_seen) /* one that does not decode never will: deleted too */
			(void)lpw_sms_at_queue_ctl(at, C_DELETE, at->cur.index, NULL);
		else if (!ok && final_err(l) != 321) /* 321: invalid memory index, nothing there */
			at->need_list = true;
		break;
	case C_LIST: lpw_sms_at_list_done(at, ok); break;
	case C_CNMA:
		if (!ok) {
			/* TS 27.005 §3.4.1: a missed acknowledgement makes the modem set <mt> and <ds> to 0 */
			(void)lpw_sms_at_queue_ctl(at, C_CNMI, 0, NULL);
			at->need_list = true;
		}
		break;
	case C_CPMS_SET:
		if (ok) {
			snprintf(at->mem1, sizeof(at->mem1), "%s", at->cur.mem);
			break;
		}
		/* the storage cannot be chosen: read where AT+CMGR reads, rather than asking again and again */
		for (size_t i = 0; i < at->ctl_len; i++) {
			cmd_t *c = &at->ctl[(at->ctl_head + i) % CTL_MAX];
			if (c->kind == C_READ && strcmp(c->mem, at->cur.mem) == 0)
				c->mem[0] = '\0';
		}
		break;
	default: break;
	}
}

static void finish(lpw_sms_at_t *at, const lpw_sms_at_line_t *l)
{
	at->busy = false;
	lpw_loop_timer_clear(at->loop, &at->cmd_timer);
	at->pw = PW_NONE;
	if (l) {
		at->timeouts_in_row = 0;
		if (l->kind == LPW_SMS_AT_CMS_ERROR)
			at->st.cms_errors++;
		else if (l->kind == LPW_SMS_AT_CME_ERROR)
			at->st.cme_errors++;
		if (l->kind != LPW_SMS_AT_OK && at->cur.kind != C_CPIN)
			LPW_INFO(MOD, "%s: %.*s%s%s", at->cur_text, (int)l->rest_len, l->rest,
				 l->kind == LPW_SMS_AT_CMS_ERROR || l->kind == LPW_SMS_AT_CME_ERROR ? " = " : "",
				 l->kind == LPW_SMS_AT_CMS_ERROR   ? lpw_sms_at_cms_text(l->code)
				 : l->kind == LPW_SMS_AT_CME_ERROR ? lpw_sms_at_cme_text(l->code)
								   : "");
	}
	if (at->st.state == LPW_SMS_AT_INIT)
		lpw_sms_at_init_done(at, l);
	else
		finish_ready(at, l);
}

/* Decodes the PDU line of a header: the TPDU length the header gave tells whether the SMSC field is there (TS
 * 27.005 says it is; some modems leave it out of +CDS). */
static int decode_pdu(lpw_sms_at_t *at, const char *hex, size_t n, lpw_sms_dir_t dir, lpw_sms_t *out)
{
	uint8_t b[LPW_SMS_PDU_MAX];
	size_t len = 0;
	char why[128] = "the hex does not fit a PDU";
	int rc = lpw_sms_hex_decode(hex, n, b, sizeof(b), &len);
	if (rc == 0) {
		size_t tl = at->pw_length >= 0 ? (size_t)at->pw_length : 0;
		bool smsc = at->pw_length < 0 || tl < len;
		if (at->pw_length >= 0 && (len < tl || (smsc && 1u + b[0] + tl != len))) {
			snprintf(why, sizeof(why), "%zu octets do not match the TPDU length %ld", len, at->pw_length);
			rc = -EBADMSG;
		} else {
			rc = lpw_sms_decode(b, len, smsc, dir, out, why, sizeof(why));
		}
	}
	if (rc) {
		at->st.malformed++;
		LPW_WARN(MOD, "a PDU from the modem does not decode: %s", why);
		lpw_sms_at_event(at, "malformed", why);
	}
	return rc;
}

static void take_pdu(lpw_sms_at_t *at, const char *hex, size_t n)
{
	pdu_wait_kind_t kind = at->pw;
	lpw_sms_t sms;
	at->pw = PW_NONE;
	switch (kind) {
	case PW_CMGR:
		if (at->busy && at->cur.kind == C_READ)
			at->cur_pdu_seen = true;
		if (at->busy && at->cur.kind == C_READ)
			at->cur_has_sms =
				decode_pdu(at, hex, n, at->pw_stat >= 2 ? LPW_SMS_TO_SC : LPW_SMS_FROM_SC, &at->cur_sms) == 0;
		break;
	case PW_CMGL:
		if (at->nlisted < LISTED_MAX)
			at->listed[at->nlisted++] = at->pw_index;
		if (at->st.state == LPW_SMS_AT_INIT)
			at->stored_at_start++;
		if (at->pw_stat <= 1 && decode_pdu(at, hex, n, LPW_SMS_FROM_SC, &sms) == 0)
			deliver(at, &sms);
		break;
	case PW_CMT:
	case PW_CDS:
		if (decode_pdu(at, hex, n, LPW_SMS_FROM_SC, &sms) == 0)
			deliver(at, &sms);
		if (at->direct) /* acknowledged even when it did not decode: a redelivery would not decode either */
			(void)lpw_sms_at_queue_ctl(at, C_CNMA, 0, NULL);
		break;
	default: break;
	}
}

/* The last numeric argument: <length> closes +CMGR, +CMGL, +CMT and +CDS headers. */
static long last_num(const lpw_sms_at_line_t *l)
{
	long v;
	return l->nargs && lpw_sms_at_arg_num(l, l->nargs - 1, &v) ? v : -1;
}

static void expect_pdu(lpw_sms_at_t *at, pdu_wait_kind_t kind, int index, int stat, long length)
{
	at->pw = kind;
	at->pw_index = index;
	at->pw_stat = stat;
	at->pw_length = length;
}

/* An information line of the command in flight. */
static void cmd_info(lpw_sms_at_t *at, const lpw_sms_at_line_t *l)
{
	long a = -1, b = -1;
	switch (at->cur.kind) {
	case C_CPIN_Q: lpw_sms_at_init_info(at, l); break;
	case C_CSMS: lpw_sms_at_init_info(at, l); break;
	case C_CPMS_Q:
		if (l->nargs && l->args[0].quoted)
			snprintf(at->mem1, sizeof(at->mem1), "%.*s", (int)l->args[0].len, l->args[0].s);
		break;
	case C_READ: /* +CMGR: <stat>,[<alpha>],<length> */
		at->cur_stat = lpw_sms_at_arg_num(l, 0, &a) ? (int)a : -1;
		expect_pdu(at, PW_CMGR, at->cur.index, at->cur_stat, last_num(l));
		break;
	case C_LIST: /* +CMGL: <index>,<stat>,[<alpha>],<length> */
		if (lpw_sms_at_arg_num(l, 0, &a) && lpw_sms_at_arg_num(l, 1, &b))
			expect_pdu(at, PW_CMGL, (int)a, (int)b, last_num(l));
		break;
	case C_SEND:
		if (lpw_sms_at_arg_num(l, 0, &a))
			at->cur_mr = (int)a;
		break;
	case C_CSQ:
		if (lpw_sms_at_arg_num(l, 0, &a) && lpw_sms_at_arg_num(l, 1, &b)) {
			at->st.rssi = (int)a;
			at->st.ber = (int)b;
		}
		break;
	case C_CREG: /* +CREG: <n>,<stat>[,...] */
		if (lpw_sms_at_arg_num(l, 1, &a))
			at->st.creg = (int)a;
		break;
	default: break;
	}
}

/* Unsolicited result codes (TS 27.005 §3.4.1, TS 27.007 §7.2); false when the line is none we know. */
static bool urc(lpw_sms_at_t *at, const lpw_sms_at_line_t *l)
{
	long v;
	if (!strcmp(l->name, "+CMTI") || !strcmp(l->name, "+CDSI")) { /* +CMTI: <mem>,<index> */
		if (lpw_sms_at_arg_num(l, 1, &v) && v >= 0) {
			char mem[4] = "";
			if (l->args[0].len && l->args[0].len < sizeof(mem))
				memcpy(mem, l->args[0].s, l->args[0].len);
			(void)lpw_sms_at_queue_ctl(at, C_READ, (int)v, mem);
		}
		return true;
	}
	if (!strcmp(l->name, "+CMT")) { /* +CMT: [<alpha>],<length> */
		expect_pdu(at, PW_CMT, -1, 0, last_num(l));
		return true;
	}
	if (!strcmp(l->name, "+CDS")) { /* +CDS: <length> */
		expect_pdu(at, PW_CDS, -1, 0, last_num(l));
		return true;
	}
	if (!strcmp(l->name, "+CREG")) { /* +CREG: <stat>[,<lac>,<ci>...] */
		if (lpw_sms_at_arg_num(l, 0, &v))
			at->st.creg = (int)v;
		return true;
	}
	return false;
}

static bool is_final(lpw_sms_at_kind_t k)
{
	return k == LPW_SMS_AT_OK || k == LPW_SMS_AT_ERROR || k == LPW_SMS_AT_CMS_ERROR || k == LPW_SMS_AT_CME_ERROR ||
	       k == LPW_SMS_AT_FINAL_OTHER;
}

static void unexpected(lpw_sms_at_t *at, const char *what, const char *line, size_t len)
{
	at->st.unexpected++;
	LPW_DEBUG(MOD, "%s: %.*s", what, (int)(len > 80 ? 80 : len), line);
}

static void on_line(lpw_sms_at_t *at, const char *line, size_t len)
{
	lpw_sms_at_line_t l;
	if (at->pw != PW_NONE) {
		if (lpw_sms_at_line_is_hex(line, len)) {
			take_pdu(at, line, len);
			return;
		}
		if (lpw_sms_at_line_parse(line, len, &l, NULL, 0) == 0 && l.kind == LPW_SMS_AT_INFO && urc(at, &l))
			return; /* a URC between a header and its PDU: keep waiting */
		at->st.malformed++;
		at->need_list = true; /* the message is still stored (or was lost, for +CMT): look again later */
		LPW_WARN(MOD, "a PDU line was expected; the modem said: %.*s", (int)(len > 80 ? 80 : len), line);
		at->pw = PW_NONE;
	}
	char why[96];
	if (lpw_sms_at_line_parse(line, len, &l, why, sizeof(why)) < 0) {
		unexpected(at, why, line, len);
		return;
	}
	if (at->busy && strcmp(line, at->cur_text) == 0)
		return; /* echo (before ATE0 took effect) */
	if (at->busy && at->cur.kind == C_SEND && !at->cur_prompted && strcmp(line, ">") == 0) {
		send_pdu(at); /* a prompt sent as a line of its own */
		return;
	}
	if (is_final(l.kind)) {
		if (at->busy)
			finish(at, &l);
		else
			unexpected(at, "a result code for no command", line, len);
		return;
	}
	if (l.kind == LPW_SMS_AT_INFO) {
		if (at->busy && at->cur_prefix && !strcmp(l.name, at->cur_prefix))
			cmd_info(at, &l);
		else if (!urc(at, &l))
			unexpected(at, "ignored", line, len);
		return;
	}
	unexpected(at, "ignored", line, len);
}

static void on_token(void *arg, lpw_sms_at_token_t kind, const char *line, size_t len)
{
	lpw_sms_at_t *at = arg;
	switch (kind) {
	case LPW_SMS_AT_TOKEN_LINE: on_line(at, line, len); break;
	case LPW_SMS_AT_TOKEN_PROMPT:
		if (at->busy && at->cur.kind == C_SEND && !at->cur_prompted)
			send_pdu(at);
		else
			unexpected(at, "a prompt for no AT+CMGS", "> ", 2);
		break;
	default:
		unexpected(at, kind == LPW_SMS_AT_TOKEN_TOO_LONG ? "a line too long" : "a garbled line", "", 0);
		if (at->pw != PW_NONE)
			at->st.malformed++;
		at->pw = PW_NONE;
		at->need_list = true;
		break;
	}
}

/* --- timers --- */

static void on_cmd_timeout(lpw_timer_t *t, int64_t now_ms)
{
	lpw_sms_at_t *at = lpw_container_of(t, lpw_sms_at_t, cmd_timer);
	if (!at->busy)
		return;
	at->st.timeouts++;
	LPW_WARN(MOD, "%s: no answer from the modem", at->cur.kind == C_CPIN ? "AT+CPIN" : at->cur_text);
	if (at->cur.kind == C_SEND && !at->cur_prompted)
		write_str(at, "\x1b"); /* ESC leaves the prompt without sending (TS 27.005 §3.5.1) */
	at->depth++;
	finish(at, NULL);
	if (++at->timeouts_in_row >= at->cfg.max_timeouts && at->st.state != LPW_SMS_AT_DOWN) {
		at->timeouts_in_row = 0;
		at->st.resets++;
		flush_all(at, -ENOTCONN);
		lpw_sms_at_set_state(at, LPW_SMS_AT_RESETTING, "the modem stopped answering; resetting it");
		lpw_sms_at_arm(at, &at->retry_timer, at->cfg.retry_ms * 6);
		at->depth--;
		if (at->hooks.reset)
			at->hooks.reset(at->hooks.arg); /* may close the port: lpw_sms_at_link(false) from inside */
		return;
	}
	at->depth--;
	pump(at);
}

static void on_retry(lpw_timer_t *t, int64_t now_ms)
{
	lpw_sms_at_t *at = lpw_container_of(t, lpw_sms_at_t, retry_timer);
	if (at->st.state == LPW_SMS_AT_RESETTING) {
		/* the reset changed nothing we could see (no link down/up): try the modem again */
		lpw_sms_at_init_begin(at);
	}
	at->step_wait = false;
	pump(at);
}

static void on_poll(lpw_timer_t *t, int64_t now_ms)
{
	lpw_sms_at_t *at = lpw_container_of(t, lpw_sms_at_t, poll_timer);
	if (at->st.state != LPW_SMS_AT_READY)
		return;
	(void)lpw_sms_at_queue_ctl(at, C_CSQ, 0, NULL);
	(void)lpw_sms_at_queue_ctl(at, C_CREG, 0, NULL);
	if (at->need_list || at->poll_list) {
		at->need_list = false;
		(void)lpw_sms_at_queue_ctl(at, C_LIST, 0, NULL);
	}
	lpw_sms_at_arm(at, &at->poll_timer, at->cfg.poll_interval_ms);
	pump(at);
}

/* --- the engine --- */

static void pump(lpw_sms_at_t *at)
{
	cmd_t c;
	if (at->busy || at->depth || !at->link_up)
		return;
	if (at->st.state == LPW_SMS_AT_INIT) {
		if (!at->step_wait)
			lpw_sms_at_init_run(at);
		return;
	}
	if (at->st.state == LPW_SMS_AT_READY && next_cmd(at, &c))
		lpw_sms_at_start_cmd(at, &c);
}

lpw_sms_at_t *lpw_sms_at_new(lpw_loop_t *loop, const lpw_sms_at_config_t *cfg, const lpw_sms_at_transport_t *tr,
			     const lpw_sms_at_hooks_t *hooks)
{
	if (!loop || !cfg || !tr)
		return NULL;
	lpw_sms_at_t *at = calloc(1, sizeof(*at));
	if (!at)
		return NULL;
	at->loop = loop;
	at->cfg = *cfg;
	at->cfg.pin = NULL;
	at->tr = *tr;
	if (hooks)
		at->hooks = *hooks;
#define DEFAULT(f, v) (at->cfg.f = at->cfg.f ? at->cfg.f : (v))
	DEFAULT(cmd_timeout_ms, 10000);
	DEFAULT(send_timeout_ms, 60000);
	DEFAULT(poll_interval_ms, 60000);
	DEFAULT(retry_ms, 5000);
	DEFAULT(max_timeouts, 3);
	DEFAULT(max_queue, 16);
#undef DEFAULT
	at->sends = calloc(at->cfg.max_queue, sizeof(*at->sends));
	at->pin = cfg->pin ? strdup(cfg->pin) : NULL;
	if (!at->sends || (cfg->pin && !at->pin)) {
		lpw_sms_at_free(at);
		return NULL;
	}
	at->st = (lpw_sms_at_status_t){.state = LPW_SMS_AT_DOWN, .rssi = -1, .ber = -1, .creg = -1};
	lpw_sms_at_reader_init(&at->reader);
	lpw_timer_init(&at->cmd_timer, on_cmd_timeout);
	lpw_timer_init(&at->retry_timer, on_retry);
	lpw_timer_init(&at->poll_timer, on_poll);
	return at;
}

void lpw_sms_at_free(lpw_sms_at_t *at)
{
	if (!at)
		return;
	lpw_loop_timer_clear(at->loop, &at->cmd_timer);
	lpw_loop_timer_clear(at->loop, &at->retry_timer);
	lpw_loop_timer_clear(at->loop, &at->poll_timer);
	if (at->pin)
		explicit_bzero(at->pin, strlen(at->pin));
	free(at->pin);
	free(at->sends);
	free(at);
}

void lpw_sms_at_link(lpw_sms_at_t *at, bool up)
{
	if (up == at->link_up)
		return;
	at->link_up = up;
	lpw_sms_at_reader_init(&at->reader);
	if (!up) {
		flush_all(at, -ENOTCONN);
		lpw_loop_timer_clear(at->loop, &at->retry_timer);
		lpw_loop_timer_clear(at->loop, &at->poll_timer);
		at->step_wait = false;
		lpw_sms_at_set_state(at, LPW_SMS_AT_DOWN, "the link to the modem is down");
		return;
	}
	at->pin_tried = false;
	lpw_sms_at_init_begin(at);
	pump(at);
}

void lpw_sms_at_input(lpw_sms_at_t *at, const uint8_t *data, size_t len)
{
	if (!at->link_up)
		return;
	at->depth++;
	lpw_sms_at_reader_feed(&at->reader, data, len, on_token, at);
	at->depth--;
	pump(at);
}

int lpw_sms_at_send(lpw_sms_at_t *at, const uint8_t *pdu, size_t len, size_t tpdu_len, uint32_t *out_id)
{
	if (!pdu || len > LPW_SMS_PDU_MAX || tpdu_len == 0 || tpdu_len > len || tpdu_len > LPW_SMS_TPDU_MAX)
		return -EINVAL;
	if (at->st.state != LPW_SMS_AT_READY)
		return -ENOTCONN;
	if (at->send_len == at->cfg.max_queue)
		return -ENOBUFS;
	cmd_t *c = &at->sends[(at->send_head + at->send_len++) % at->cfg.max_queue];
	*c = (cmd_t){.kind = C_SEND, .id = ++at->next_id, .len = len, .tpdu_len = tpdu_len};
	memcpy(c->pdu, pdu, len);
	at->st.queued = at->send_len;
	if (out_id)
		*out_id = c->id;
	pump(at);
	return 0;
}

void lpw_sms_at_get_status(const lpw_sms_at_t *at, lpw_sms_at_status_t *out)
{
	*out = at->st;
}
