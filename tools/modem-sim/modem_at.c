/* modem-sim's AT interpreter: the subset of V.250, TS 27.007 and TS 27.005 (PDU mode) that lpwagw and tools like
 * ModemManager use for SMS. One command per line, answered at once; AT+CMGS takes its PDU after the "> " prompt up
 * to Ctrl-Z (ESC cancels). */
#include "tools/modem-sim/modem_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

void msim_at_reset(lpw_modemsim_t *m)
{
	m->echo = true; /* V.250 default */
	m->cmee = 0;
	m->csms = 0;
	memcpy(m->cnmi, (int[5]){0, 0, 0, 0, 0}, sizeof(m->cnmi));
	m->in_pdu = false;
	m->line_len = 0;
	m->ack_pending = false;
	lpw_loop_timer_clear(m->loop, &m->cnma_timer);
	m->pin_needed = m->pin && !m->puk_needed;
}

static void ok(lpw_modemsim_t *m)
{
	msim_final(m, "OK");
}

static void cme(lpw_modemsim_t *m, int code)
{
	if (m->cmee == 0)
		msim_final(m, "ERROR");
	else
		msim_final(m, "+CME ERROR: %d", code);
}

static void cms(lpw_modemsim_t *m, int code)
{
	msim_final(m, "+CMS ERROR: %d", code); /* TS 27.005 §3.2.5: whatever AT+CMEE says */
}

/* SMS commands need the SIM: PIN, PUK, busy after the PIN. */
static bool sim_ready(lpw_modemsim_t *m)
{
	if (m->puk_needed)
		cms(m, 316);
	else if (m->pin_needed)
		cms(m, 311);
	else if (lpw_loop_now(m->loop) < m->busy_until)
		cms(m, 314);
	else
		return true;
	return false;
}

/* "N" or "N,M,..." into v (at most n); the count, or -1 when malformed. Empty fields keep v's value. */
static int ints(const char *s, int *v, int n)
{
	int k = 0;
	while (k < n) {
		while (*s == ' ')
			s++;
		if (*s && *s != ',') {
			char *end;
			long x = strtol(s, &end, 10);
			if (end == s)
				return -1;
			v[k] = (int)x;
			s = end;
		}
		k++;
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return k;
		if (*s++ != ',')
			return -1;
	}
	return -1;
}

static void cmd_cpin(lpw_modemsim_t *m, const char *arg)
{
	if (!strcmp(arg, "?")) {
		if (lpw_loop_now(m->loop) < m->busy_until)
			cme(m, 14);
		else {
			msim_line(m, "+CPIN: %s", m->puk_needed ? "SIM PUK" : m->pin_needed ? "SIM PIN" : "READY");
			ok(m);
		}
		return;
	}
	char pin[32];
	if (arg[0] != '=' || sscanf(arg + 1, "\"%31[^\"]\"", pin) != 1) {
		cme(m, 50);
		return;
	}
	if (!m->pin_needed) {
		cme(m, 3);
		return;
	}
	if (strcmp(pin, m->pin) == 0) {
		m->pin_needed = false;
		m->busy_until = lpw_loop_now(m->loop) + m->cfg.sim_busy_ms;
		ok(m);
		return;
	}
	if (--m->pin_attempts <= 0) {
		m->puk_needed = true; /* three wrong PINs: the SIM wants its PUK */
		m->pin_needed = false;
	}
	cme(m, 16);
}

static void cmd_cpms(lpw_modemsim_t *m, const char *arg)
{
	int used = msim_slot_count(m), total = (int)m->cfg.storage;
	if (!strcmp(arg, "?")) {
		msim_line(m, "+CPMS: \"SM\",%d,%d,\"SM\",%d,%d,\"SM\",%d,%d", used, total, used, total, used, total);
		ok(m);
		return;
	}
	/* one storage, "SM"; asking for another is refused */
	for (const char *p = arg + 1; arg[0] == '=' && *p; p++) {
		if (*p == '"' && strncmp(p, "\"SM\"", 4) != 0) {
			cms(m, 302);
			return;
		}
		if (*p == '"')
			p += 3;
	}
	msim_line(m, "+CPMS: %d,%d,%d,%d,%d,%d", used, total, used, total, used, total);
	ok(m);
}

static void list_one(lpw_modemsim_t *m, const char *name, unsigned i)
{
	struct msim_slot *s = &m->slots[i];
	char hex[LPW_SMS_HEX_MAX + 1];
	(void)lpw_sms_hex_encode(s->pdu, s->len, hex, sizeof(hex));
	if (!strcmp(name, "+CMGL"))
		msim_line(m, "+CMGL: %u,%u,,%zu", i + 1, s->stat, s->tpdu_len);
	else
		msim_line(m, "+CMGR: %u,,%zu", s->stat, s->tpdu_len);
	msim_line(m, "%s", hex);
	s->stat = s->stat == 0 ? 1 : s->stat; /* read now */
}

static void cmd_cmgl(lpw_modemsim_t *m, const char *arg)
{
	int stat = 4;
	if (arg[0] == '=' && ints(arg + 1, &stat, 1) != 1) {
		cms(m, 304);
		return;
	}
	for (unsigned i = 0; i < m->cfg.storage; i++)
		if (m->slots[i].used && (stat == 4 || stat == m->slots[i].stat))
			list_one(m, "+CMGL", i);
	ok(m);
}

static void cmd_cmgr_cmgd(lpw_modemsim_t *m, const char *arg, bool del)
{
	int v[2] = {0, 0}, n = arg[0] == '=' ? ints(arg + 1, v, 2) : -1;
	if (n < 1 || (!del && n != 1)) {
		cms(m, 304);
		return;
	}
	if (del && n == 2 && v[1] == 4) { /* delete all */
		for (unsigned i = 0; i < m->cfg.storage; i++)
			m->slots[i].used = false;
		ok(m);
		return;
	}
	if (v[0] < 1 || (unsigned)v[0] > m->cfg.storage) {
		cms(m, 321);
		return;
	}
	struct msim_slot *s = &m->slots[v[0] - 1];
	if (del) {
		if (s->used) {
			json_t *ev = msim_event("deleted");
			json_object_set_new(ev, "index", json_integer(v[0]));
			msim_emit(m, ev);
		}
		s->used = false;
		ok(m);
		return;
	}
	if (!s->used) {
		cms(m, 321);
		return;
	}
	list_one(m, "+CMGR", (unsigned)v[0] - 1);
	ok(m);
}

static void cmd_cnmi(lpw_modemsim_t *m, const char *arg)
{
	if (!strcmp(arg, "?")) {
		msim_line(m, "+CNMI: %d,%d,%d,%d,%d", m->cnmi[0], m->cnmi[1], m->cnmi[2], m->cnmi[3], m->cnmi[4]);
		ok(m);
		return;
	}
	int v[5];
	memcpy(v, m->cnmi, sizeof(v));
	int n = arg[0] == '=' ? ints(arg + 1, v, 5) : -1;
	/* TS 27.005 §3.4.1: <mt> 2 and <ds> 1 need AT+CSMS=1 when acknowledgements are wanted; we accept both */
	if (n < 1 || v[0] < 0 || v[0] > 3 || v[1] < 0 || v[1] > 3 || v[3] < 0 || v[3] > 2) {
		cms(m, 303);
		return;
	}
	memcpy(m->cnmi, v, sizeof(v));
	ok(m);
}

static void cmd_csms(lpw_modemsim_t *m, const char *arg)
{
	int v = 0;
	if (!strcmp(arg, "?")) {
		msim_line(m, "+CSMS: %d,1,1,1", m->csms);
		ok(m);
	} else if (arg[0] != '=' || ints(arg + 1, &v, 1) != 1 || v < 0 || v > 1 || (v == 1 && m->cfg.no_direct)) {
		cms(m, 303);
	} else {
		m->csms = v;
		msim_line(m, "+CSMS: 1,1,1");
		ok(m);
	}
}

static void cmd_cmgs(lpw_modemsim_t *m, const char *arg)
{
	int len = 0;
	if (arg[0] != '=' || ints(arg + 1, &len, 1) != 1 || len < 7 || len > LPW_SMS_TPDU_MAX) {
		cms(m, 304);
		return;
	}
	m->cmgs_len = (size_t)len;
	m->in_pdu = true;
	m->line_len = 0;
	msim_out(m, "\r\n> ", 4);
}

/* The PDU after the prompt: decoded, routed, answered +CMGS: <mr> (or the injected error). */
static void cmgs_pdu(lpw_modemsim_t *m)
{
	uint8_t pdu[LPW_SMS_PDU_MAX];
	size_t len = 0;
	int mr = 0;
	m->in_pdu = false;
	if (lpw_sms_hex_decode(m->line, m->line_len, pdu, sizeof(pdu), &len) < 0 || len < m->cmgs_len + 1 ||
	    1u + pdu[0] + m->cmgs_len != len) {
		cms(m, 304); /* invalid PDU mode parameter: hex, or the length AT+CMGS gave */
		return;
	}
	if (m->cms_count) {
		m->cms_count--;
		json_t *ev = msim_event("cms-error");
		json_object_set_new(ev, "code", json_integer(m->cms_code));
		msim_emit(m, ev);
		cms(m, m->cms_code);
		return;
	}
	int rc = msim_submit_from_gateway(m, pdu, len, m->cmgs_len, &mr);
	if (rc < 0) {
		cms(m, 304);
		return;
	}
	msim_line(m, "+CMGS: %d", mr);
	ok(m);
	lpw_sms_t sub;
	if (lpw_sms_decode(pdu, len, true, LPW_SMS_TO_SC, &sub, NULL, 0) == 0 && sub.status_report)
		msim_status_report(m, &sub, (uint8_t)mr, rc == 1 ? 0x00 : 0x43); /* delivered, or "not obtainable" */
}

static bool is(const char *cmd, const char *name, const char **arg)
{
	size_t n = strlen(name);
	if (strncmp(cmd, name, n) != 0)
		return false;
	*arg = cmd + n;
	return true;
}

static void dispatch(lpw_modemsim_t *m, char *cmd)
{
	const char *a;
	for (char *p = cmd; *p && *p != '"'; p++)
		*p = (char)toupper((unsigned char)*p); /* commands in any case; quoted PINs untouched */
	if (strcmp(cmd, "AT") == 0 || strcmp(cmd, "AT+CREG=0") == 0 || strcmp(cmd, "AT+CREG=1") == 0)
		ok(m);
	else if (!strcmp(cmd, "ATE0") || !strcmp(cmd, "ATE1") || !strcmp(cmd, "ATE")) {
		m->echo = cmd[3] == '1';
		ok(m);
	} else if (!strcmp(cmd, "ATZ")) {
		msim_at_reset(m);
		ok(m);
	} else if (!strcmp(cmd, "ATI") || !strcmp(cmd, "AT+CGMM")) {
		msim_line(m, "lpwagw modem-sim");
		ok(m);
	} else if (is(cmd, "AT+CMEE=", &a)) {
		m->cmee = atoi(a);
		ok(m);
	} else if (is(cmd, "AT+CPIN", &a))
		cmd_cpin(m, a);
	else if (!strcmp(cmd, "AT+CSQ")) {
		msim_line(m, "+CSQ: %d,99", m->rssi);
		ok(m);
	} else if (!strcmp(cmd, "AT+CREG?")) {
		msim_line(m, "+CREG: 0,%d", m->creg);
		ok(m);
	} else if (!sim_ready(m))
		return; /* what follows needs the SIM */
	else if (!strcmp(cmd, "AT+CMGF=0") || !strcmp(cmd, "AT+CMGF?")) {
		if (cmd[7] == '?')
			msim_line(m, "+CMGF: 0");
		ok(m);
	} else if (!strcmp(cmd, "AT+CMGF=1"))
		cms(m, 303); /* text mode: not simulated */
	else if (is(cmd, "AT+CSMS", &a))
		cmd_csms(m, a);
	else if (is(cmd, "AT+CPMS", &a))
		cmd_cpms(m, a);
	else if (is(cmd, "AT+CNMI", &a))
		cmd_cnmi(m, a);
	else if (is(cmd, "AT+CMGL", &a))
		cmd_cmgl(m, a);
	else if (is(cmd, "AT+CMGR", &a))
		cmd_cmgr_cmgd(m, a, false);
	else if (is(cmd, "AT+CMGD", &a))
		cmd_cmgr_cmgd(m, a, true);
	else if (is(cmd, "AT+CMGS", &a))
		cmd_cmgs(m, a);
	else if (!strcmp(cmd, "AT+CNMA") || !strcmp(cmd, "AT+CNMA=0")) {
		if (msim_acknowledge(m))
			ok(m);
		else
			cms(m, 340); /* no +CNMA acknowledgement expected */
	} else
		msim_final(m, "ERROR");
}

static void command_line(lpw_modemsim_t *m)
{
	m->line[m->line_len] = '\0';
	m->line_len = 0;
	if (m->echo)
		msim_out(m, m->line, strlen(m->line)), msim_out(m, "\r", 1);
	if (m->line[0] == '\0')
		return;
	json_t *ev = msim_event("at");
	/* a PIN never appears in events */
	json_object_set_new(ev, "cmd", json_string(strncasecmp(m->line, "AT+CPIN=", 8) ? m->line : "AT+CPIN=..."));
	msim_emit(m, ev);
	dispatch(m, m->line);
}

void msim_at_input(lpw_modemsim_t *m, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = data[i];
		if (m->in_pdu) {
			if (c == 0x1a) {
				m->line[m->line_len] = '\0';
				cmgs_pdu(m);
				m->line_len = 0;
			} else if (c == 0x1b) {
				m->in_pdu = false; /* cancelled: nothing is sent, nothing answered */
				m->line_len = 0;
			} else if (c != '\r' && c != '\n' && m->line_len < MSIM_LINE_MAX) {
				m->line[m->line_len++] = (char)c;
			}
			continue;
		}
		if (c == '\r')
			command_line(m);
		else if (c != '\n' && m->line_len < MSIM_LINE_MAX)
			m->line[m->line_len++] = (char)c;
	}
}
