/* modem-sim: set-up, events and the control commands that inject faults. */
#include "tools/modem-sim/modem_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "tools/common/parse.h"

json_t *msim_event(const char *name)
{
	return json_pack("{s:s}", "event", name);
}

void msim_emit(lpw_modemsim_t *m, json_t *ev)
{
	if (!ev)
		return;
	char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s && m->cfg.on_event)
		m->cfg.on_event(m->cfg.event_arg, s);
	free(s);
	json_decref(ev);
}

static void emit_present(lpw_modemsim_t *m, const char *name)
{
	json_t *ev = msim_event(name);
	json_object_set_new(ev, "path", json_string(m->path));
	json_object_set_new(ev, "pty", json_string(m->pty_name));
	json_object_set_new(ev, "side_port", json_integer(m->side_port));
	msim_emit(m, ev);
}

static void on_appear(lpw_timer_t *t, int64_t now_ms)
{
	lpw_modemsim_t *m = lpw_container_of(t, lpw_modemsim_t, appear_timer);
	if (m->master < 0 && msim_pty_open(m) == 0)
		emit_present(m, "appeared");
}

static char *dup_or_null(const char *s, bool *fail)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		*fail = true;
	return d;
}

lpw_modemsim_t *lpw_modemsim_new(lpw_loop_t *loop, const lpw_modemsim_config_t *cfg)
{
	if (!loop || !cfg || !cfg->path || !cfg->msisdn)
		return NULL;
	lpw_modemsim_t *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	bool fail = false;
	m->loop = loop;
	m->cfg = *cfg;
	m->master = m->slave = m->side_fd = -1;
	m->path = dup_or_null(cfg->path, &fail);
	m->msisdn = dup_or_null(cfg->msisdn[0] == '+' ? cfg->msisdn + 1 : cfg->msisdn, &fail);
	m->pin = dup_or_null(cfg->pin, &fail);
	m->side_addr = dup_or_null(cfg->side_addr ? cfg->side_addr : "127.0.0.1", &fail);
	m->cfg.storage = cfg->storage ? cfg->storage : 20;
	m->cfg.cnma_timeout_ms = cfg->cnma_timeout_ms ? cfg->cnma_timeout_ms : 15000;
	m->slots = calloc(m->cfg.storage, sizeof(*m->slots));
	m->pin_attempts = 3;
	m->rssi = 20;
	m->creg = 1;
	m->split_gap_ms = 5;
	lpw_timer_init(&m->write_timer, msim_pty_flush);
	lpw_timer_init(&m->appear_timer, on_appear);
	if (fail || !m->slots || msim_net_open(m) < 0 || msim_pty_open(m) < 0) {
		lpw_modemsim_free(m);
		return NULL;
	}
	emit_present(m, "ready");
	return m;
}

void lpw_modemsim_free(lpw_modemsim_t *m)
{
	if (!m)
		return;
	msim_pty_close(m);
	msim_net_close(m);
	lpw_loop_timer_clear(m->loop, &m->appear_timer);
	free(m->slots);
	free(m->path);
	free(m->msisdn);
	free(m->pin);
	free(m->side_addr);
	free(m);
}

uint16_t lpw_modemsim_side_port(const lpw_modemsim_t *m)
{
	return m->side_port;
}

static int num(const char *s, unsigned long max, unsigned long *out)
{
	return s && lpw_parse_uint(s, max, out) == 0 ? 0 : -EINVAL;
}

/* inject / store FROM HEX */
static int cmd_inject(lpw_modemsim_t *m, char *args, bool store)
{
	char *save = NULL, *from = strtok_r(args, " ", &save), *hex = strtok_r(NULL, " ", &save);
	uint8_t bin[8192];
	size_t n = 0;
	if (!from || !hex || lpw_parse_hex(hex, strlen(hex), bin, sizeof(bin), &n) < 0)
		return -EINVAL;
	return msim_send_from(m, from, bin, n, store);
}

static void cmd_status(lpw_modemsim_t *m)
{
	json_t *ev = msim_event("status");
	json_object_set_new(ev, "present", json_boolean(m->master >= 0));
	json_object_set_new(ev, "stored", json_integer(msim_slot_count(m)));
	json_object_set_new(ev, "cnmi", json_sprintf("%d,%d,%d,%d,%d", m->cnmi[0], m->cnmi[1], m->cnmi[2],
						    m->cnmi[3], m->cnmi[4]));
	json_object_set_new(ev, "csms", json_integer(m->csms));
	json_object_set_new(ev, "mo", json_integer((json_int_t)m->n_mo));
	json_object_set_new(ev, "undeliverable", json_integer((json_int_t)m->n_undeliverable));
	msim_emit(m, ev);
}

/* Faults that take one or two numbers. */
static int cmd_fault(lpw_modemsim_t *m, const char *verb, const char *a1, const char *a2)
{
	unsigned long v = 0, w = 0;
	if (!strcmp(verb, "cms-error")) {
		if (num(a1, 65535, &v) || (a2 && num(a2, 1000, &w)))
			return -EINVAL;
		m->cms_code = (int)v;
		m->cms_count = a2 ? (unsigned)w : 1;
	} else if (!strcmp(verb, "slow")) {
		if (num(a1, 600000, &v))
			return -EINVAL;
		m->slow_ms = (uint32_t)v;
	} else if (!strcmp(verb, "split")) {
		if (num(a1, 4096, &v) || (a2 && num(a2, 60000, &w)))
			return -EINVAL;
		m->split = (uint32_t)v;
		m->split_gap_ms = a2 ? (uint32_t)w : 5;
	} else if (!strcmp(verb, "garble") || !strcmp(verb, "noise")) {
		if (a1 && num(a1, 1000, &v))
			return -EINVAL;
		*(verb[0] == 'g' ? &m->garble : &m->noise) = a1 ? (unsigned)v : 1;
	} else if (!strcmp(verb, "csq") || !strcmp(verb, "creg")) {
		if (num(a1, 99, &v))
			return -EINVAL;
		*(verb[1] == 's' ? &m->rssi : &m->creg) = (int)v;
	} else if (!strcmp(verb, "vanish")) {
		if (a1 && num(a1, 3600000, &v))
			return -EINVAL;
		if (m->master >= 0) {
			msim_pty_close(m);
			msim_emit(m, msim_event("vanished"));
		}
		if (a1 && lpw_loop_timer_in(m->loop, &m->appear_timer, (int64_t)v) < 0)
			return -ENOMEM;
	} else {
		return -EINVAL;
	}
	return 0;
}

int lpw_modemsim_command(lpw_modemsim_t *m, const char *line)
{
	char buf[16384];
	if (strlen(line) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, line);
	char *save = NULL, *verb = strtok_r(buf, " ", &save);
	if (!verb)
		return 0;
	char *rest = save ? save : verb + strlen(verb);
	if (!strcmp(verb, "mute") || !strcmp(verb, "unmute")) {
		m->mute = verb[0] == 'm';
		return 0;
	}
	if (!strcmp(verb, "appear")) {
		lpw_loop_timer_clear(m->loop, &m->appear_timer);
		if (m->master >= 0)
			return 0;
		int rc = msim_pty_open(m);
		if (rc == 0)
			emit_present(m, "appeared");
		return rc;
	}
	if (!strcmp(verb, "inject") || !strcmp(verb, "store"))
		return cmd_inject(m, rest, verb[0] == 's');
	if (!strcmp(verb, "urc")) {
		msim_line(m, "%s", rest);
		return 0;
	}
	if (!strcmp(verb, "status")) {
		cmd_status(m);
		return 0;
	}
	char *a1 = strtok_r(NULL, " ", &save), *a2 = strtok_r(NULL, " ", &save);
	return cmd_fault(m, verb, a1, a2);
}
