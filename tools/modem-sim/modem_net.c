/* modem-sim's SMS network: the SIM's storage and the new-message indications of AT+CNMI (TS 27.005 §3.4.1), status
 * reports, and the UDP side channel through which simulated devices send and receive SMS as their MSISDN. */
#include "tools/modem-sim/modem_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define SMSC "491710000000" /* the SMSC address the simulated network puts in front of what it delivers */

void msim_time_now(lpw_sms_time_t *t)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	*t = (lpw_sms_time_t){.year = (uint8_t)(tm.tm_year % 100), .month = (uint8_t)(tm.tm_mon + 1),
			      .day = (uint8_t)tm.tm_mday, .hour = (uint8_t)tm.tm_hour, .minute = (uint8_t)tm.tm_min,
			      .second = (uint8_t)tm.tm_sec, .valid = true};
}

int msim_slot_count(const lpw_modemsim_t *m)
{
	int n = 0;
	for (unsigned i = 0; i < m->cfg.storage; i++)
		n += m->slots[i].used;
	return n;
}

/* --- towards the gateway --- */

static int encode_for_modem(const lpw_sms_t *sms, struct msim_slot *out)
{
	lpw_sms_t copy = *sms;
	if (lpw_sms_addr_from_text(&copy.smsc, "+" SMSC) < 0)
		return -EINVAL;
	int n = lpw_sms_encode(&copy, true, out->pdu, sizeof(out->pdu), &out->tpdu_len);
	if (n < 0)
		return n;
	out->len = (size_t)n;
	out->stat = 0;
	out->used = true;
	return 0;
}

/* Into a free slot; its 1-based index, or -ENOSPC. */
static int store_slot(lpw_modemsim_t *m, const struct msim_slot *s)
{
	for (unsigned i = 0; i < m->cfg.storage; i++) {
		if (!m->slots[i].used) {
			m->slots[i] = *s;
			return (int)i + 1;
		}
	}
	json_t *ev = msim_event("storage-full");
	msim_emit(m, ev);
	return -ENOSPC;
}

static void emit_mt(lpw_modemsim_t *m, const lpw_sms_t *sms, const char *how, int index)
{
	json_t *ev = msim_event(sms->type == LPW_SMS_STATUS_REPORT ? "status-report" : "mt");
	json_object_set_new(ev, "from", json_string(sms->addr.digits));
	json_object_set_new(ev, "how", json_string(how));
	if (index > 0)
		json_object_set_new(ev, "index", json_integer(index));
	if (sms->concat.present)
		json_object_set_new(ev, "part", json_sprintf("%u/%u", sms->concat.seq, sms->concat.total));
	json_object_set_new(ev, "len", json_integer((json_int_t)sms->ud_len));
	msim_emit(m, ev);
}

static void on_cnma_timeout(lpw_timer_t *t, int64_t now_ms)
{
	lpw_modemsim_t *m = lpw_container_of(t, lpw_modemsim_t, cnma_timer);
	if (!m->ack_pending)
		return;
	/* TS 27.005 §3.4.1: no acknowledgement in time: routing to the TE is switched off (<mt> and <ds> 0); the
	 * network would deliver again later: the message is kept on the SIM instead */
	m->ack_pending = false;
	m->cnmi[1] = m->cnmi[3] = 0;
	int idx = store_slot(m, &m->unacked);
	json_t *ev = msim_event("cnma-missed");
	json_object_set_new(ev, "stored", json_integer(idx));
	msim_emit(m, ev);
}

/* +CMT / +CDS: the PDU itself, acknowledged with AT+CNMA when AT+CSMS=1. */
static void direct(lpw_modemsim_t *m, const char *urc, const struct msim_slot *s)
{
	char hex[LPW_SMS_HEX_MAX + 1];
	(void)lpw_sms_hex_encode(s->pdu, s->len, hex, sizeof(hex));
	if (!strcmp(urc, "+CMT"))
		msim_line(m, "+CMT: ,%zu", s->tpdu_len);
	else
		msim_line(m, "+CDS: %zu", s->tpdu_len);
	msim_line(m, "%s", hex);
	if (m->csms == 1) {
		m->ack_pending = true;
		m->unacked = *s;
		if (lpw_loop_timer_in(m->loop, &m->cnma_timer, m->cfg.cnma_timeout_ms) < 0)
			LPW_ERR("modem-sim", "cannot arm the CNMA timer");
	}
}

bool msim_acknowledge(lpw_modemsim_t *m)
{
	if (!m->ack_pending)
		return false;
	m->ack_pending = false;
	lpw_loop_timer_clear(m->loop, &m->cnma_timer);
	return true;
}

int msim_deliver_to_gateway(lpw_modemsim_t *m, const lpw_sms_t *sms, bool force_store)
{
	struct msim_slot s;
	if (encode_for_modem(sms, &s) < 0)
		return -EINVAL;
	bool sr = sms->type == LPW_SMS_STATUS_REPORT;
	int route = force_store ? 0 : sr ? m->cnmi[3] : m->cnmi[1];
	if (m->master < 0 && !force_store)
		route = 0; /* nobody listens: the SIM keeps it */
	if (sr && route == 0 && !force_store)
		return 0; /* status reports not wanted */
	/* direct delivery only one at a time: another while one awaits its acknowledgement is stored */
	if ((route >= 2 && !sr) || (route == 1 && sr)) {
		if (!m->ack_pending) {
			direct(m, sr ? "+CDS" : "+CMT", &s);
			emit_mt(m, sms, sr ? "cds" : "cmt", 0);
			return 0;
		}
		route = 1;
	}
	int idx = store_slot(m, &s);
	if (idx < 0)
		return idx;
	if (route >= 1)
		msim_line(m, "%s: \"SM\",%d", sr ? "+CDSI" : "+CMTI", idx);
	emit_mt(m, sms, route >= 1 ? (sr ? "cdsi" : "cmti") : "stored", idx);
	return 0;
}

int msim_send_from(lpw_modemsim_t *m, const char *from, const uint8_t *payload, size_t len, bool force_store)
{
	unsigned n = lpw_sms_concat_count(len, LPW_SMS_CONCAT_MAX_PARTS, false);
	if (n == 0)
		return -EMSGSIZE;
	uint16_t ref = m->next_ref++ & 0xff;
	for (unsigned i = 1; i <= n; i++) {
		lpw_sms_t d = {.type = LPW_SMS_DELIVER, .dcs = LPW_SMS_DCS_8BIT, .no_more_messages = true};
		if (lpw_sms_addr_from_text(&d.addr, from) < 0)
			return -EINVAL;
		msim_time_now(&d.scts);
		if (lpw_sms_concat_part(payload, len, n, i, ref, false, &d) < 0)
			return -EINVAL;
		int rc = msim_deliver_to_gateway(m, &d, force_store);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* --- the devices --- */

static unsigned bucket(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % MSIM_BUCKETS;
}

static struct msim_dev *dev_find(lpw_modemsim_t *m, const char *msisdn)
{
	for (struct msim_dev *d = m->devs[bucket(msisdn)]; d; d = d->next)
		if (!strcmp(d->msisdn, msisdn))
			return d;
	return NULL;
}

static struct msim_dev *dev_get(lpw_modemsim_t *m, const char *msisdn)
{
	struct msim_dev *d = dev_find(m, msisdn);
	if (d)
		return d;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	size_t n = strlen(msisdn);
	if (n >= sizeof(d->msisdn)) {
		free(d);
		return NULL;
	}
	memcpy(d->msisdn, msisdn, n + 1);
	unsigned b = bucket(msisdn);
	d->next = m->devs[b];
	m->devs[b] = d;
	return d;
}

static void to_dev(lpw_modemsim_t *m, const struct msim_dev *d, const char *text)
{
	if (sendto(m->side_fd, text, strlen(text), 0, (const struct sockaddr *)&d->addr, d->alen) < 0)
		LPW_WARN("modem-sim", "side channel to %s: %s", d->msisdn, strerror(errno));
}

/* A reassembled message for a "raw" device. */
static void on_raw_complete(void *arg, const char *to, const uint8_t *data, size_t len)
{
	lpw_modemsim_t *m = arg;
	struct msim_dev *d = dev_find(m, to);
	char *text = malloc(2 * len + 64);
	if (!d || !text) {
		free(text);
		return;
	}
	int n = sprintf(text, "DATA %s ", m->msisdn);
	(void)lpw_sms_hex_encode(data, len, text + n, 2 * len + 1);
	to_dev(m, d, text);
	free(text);
}

int msim_submit_from_gateway(lpw_modemsim_t *m, const uint8_t *pdu, size_t len, size_t tpdu_len, int *out_mr)
{
	lpw_sms_t sub;
	char why[128];
	if (lpw_sms_decode(pdu, len, true, LPW_SMS_TO_SC, &sub, why, sizeof(why)) < 0 || sub.type != LPW_SMS_SUBMIT) {
		LPW_WARN("modem-sim", "the gateway sent a PDU that does not decode: %s", why);
		return -EBADMSG;
	}
	*out_mr = ++m->mr;
	m->n_mo++;
	struct msim_dev *d = dev_find(m, sub.addr.digits);
	json_t *ev = msim_event(d ? "mo" : "undeliverable");
	json_object_set_new(ev, "to", json_string(sub.addr.digits));
	json_object_set_new(ev, "mr", json_integer(*out_mr));
	json_object_set_new(ev, "dcs", json_integer(sub.dcs));
	json_object_set_new(ev, "len", json_integer((json_int_t)sub.ud_len));
	if (sub.concat.present)
		json_object_set_new(ev, "part", json_sprintf("%u/%u", sub.concat.seq, sub.concat.total));
	msim_emit(m, ev);
	if (!d) {
		m->n_undeliverable++;
		return 0;
	}
	if (d->raw) {
		(void)lpw_sms_concat_input(m->raw_concat, d->msisdn, &sub.concat, sub.ud, sub.ud_len);
		return 1;
	}
	lpw_sms_t dl = sub;
	dl.type = LPW_SMS_DELIVER;
	dl.no_more_messages = true;
	dl.status_report = false;
	dl.smsc.digits[0] = '\0';
	if (lpw_sms_addr_from_text(&dl.addr, m->msisdn) < 0)
		return 0;
	dl.addr.ton = LPW_SMS_TON_INTERNATIONAL;
	msim_time_now(&dl.scts);
	uint8_t tpdu[LPW_SMS_PDU_MAX];
	char text[16 + LPW_SMS_HEX_MAX];
	int n = lpw_sms_encode(&dl, false, tpdu, sizeof(tpdu), NULL);
	if (n < 0)
		return 0;
	memcpy(text, "DELIVER ", 8);
	(void)lpw_sms_hex_encode(tpdu, (size_t)n, text + 8, sizeof(text) - 8);
	to_dev(m, d, text);
	return 1;
}

void msim_status_report(lpw_modemsim_t *m, const lpw_sms_t *submit, uint8_t mr, uint8_t st)
{
	lpw_sms_t sr = {.type = LPW_SMS_STATUS_REPORT, .mr = mr, .st = st, .no_more_messages = true};
	sr.addr = submit->addr;
	msim_time_now(&sr.scts);
	sr.dt = sr.scts;
	(void)msim_deliver_to_gateway(m, &sr, false);
}

/* --- the side channel --- */

static int side_submit(lpw_modemsim_t *m, const char *from, const uint8_t *b, size_t n, char *reply, size_t cap)
{
	lpw_sms_t s;
	char why[128];
	if (lpw_sms_decode(b, n, false, LPW_SMS_TO_SC, &s, why, sizeof(why)) < 0) {
		snprintf(reply, cap, "ERROR %s", why);
		return -EBADMSG;
	}
	/* what the network makes of it: an SMS-DELIVER from the sender, the rest as sent */
	lpw_sms_t d = s;
	d.type = LPW_SMS_DELIVER;
	d.no_more_messages = true;
	d.status_report = false;
	if (lpw_sms_addr_from_text(&d.addr, from) < 0) {
		snprintf(reply, cap, "ERROR bad MSISDN");
		return -EINVAL;
	}
	d.addr.ton = LPW_SMS_TON_INTERNATIONAL;
	msim_time_now(&d.scts);
	int rc = msim_deliver_to_gateway(m, &d, false);
	if (rc < 0)
		snprintf(reply, cap, "ERROR %s", rc == -ENOSPC ? "storage full" : "cannot encode");
	else
		snprintf(reply, cap, "OK %u", s.mr);
	return rc;
}

static void side_datagram(lpw_modemsim_t *m, char *text, const struct sockaddr_storage *from, socklen_t alen)
{
	char reply[200] = "OK";
	uint8_t bin[4096];
	size_t n = 0;
	char *save = NULL, *verb = strtok_r(text, " \r\n", &save), *who = strtok_r(NULL, " \r\n", &save);
	char *arg = strtok_r(NULL, " \r\n", &save);
	char digits[LPW_SMS_ADDR_DIGITS_MAX + 1];
	const char *d = who && who[0] == '+' ? who + 1 : who;
	size_t dl = d ? strlen(d) : 0;
	if (!verb || dl == 0 || dl > LPW_SMS_ADDR_DIGITS_MAX || strspn(d, "0123456789") != dl) {
		snprintf(reply, sizeof(reply), "ERROR expected VERB MSISDN [ARG]");
	} else if (strcmp(verb, "HELLO") && (!arg || lpw_sms_hex_decode(arg, strlen(arg), bin, sizeof(bin), &n) < 0)) {
		snprintf(reply, sizeof(reply), "ERROR expected hex after the MSISDN");
	} else {
		memcpy(digits, d, dl + 1);
		struct msim_dev *dev = dev_get(m, digits);
		if (dev) {
			memcpy(&dev->addr, from, alen);
			dev->alen = alen;
		}
		if (!strcmp(verb, "HELLO")) {
			if (dev)
				dev->raw = arg && !strcmp(arg, "raw");
		} else if (!strcmp(verb, "SUBMIT")) {
			(void)side_submit(m, digits, bin, n, reply, sizeof(reply));
		} else if (!strcmp(verb, "SEND")) {
			int rc = msim_send_from(m, digits, bin, n, false);
			if (rc < 0)
				snprintf(reply, sizeof(reply), "ERROR %s", strerror(-rc));
		} else {
			snprintf(reply, sizeof(reply), "ERROR unknown verb %s", verb);
		}
	}
	(void)sendto(m->side_fd, reply, strlen(reply), 0, (const struct sockaddr *)from, alen);
}

static void on_side(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_modemsim_t *m = arg;
	for (int i = 0; i < 64; i++) {
		char buf[9000];
		struct sockaddr_storage from;
		socklen_t alen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &alen);
		if (n < 0)
			return;
		buf[n] = '\0';
		side_datagram(m, buf, &from, alen);
	}
}

int msim_net_open(lpw_modemsim_t *m)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(m->cfg.side_port)};
	if (inet_pton(AF_INET, m->side_addr, &sa.sin_addr) != 1) {
		LPW_ERR("modem-sim", "side channel address %s: not numeric IPv4", m->side_addr);
		return -EINVAL;
	}
	m->side_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(sa);
	if (m->side_fd < 0 || bind(m->side_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(m->side_fd, (struct sockaddr *)&sa, &len) < 0 ||
	    lpw_loop_add_fd(m->loop, m->side_fd, EPOLLIN, on_side, m) < 0) {
		LPW_ERR("modem-sim", "side channel %s:%u: %s", m->side_addr, m->cfg.side_port, strerror(errno));
		return -EIO;
	}
	m->side_port = ntohs(sa.sin_port);
	lpw_sms_concat_config_t cc = {.max_parts = LPW_SMS_CONCAT_MAX_PARTS, .max_chains = 8, .max_bytes = 1u << 22,
				      .timeout_ms = 600000, .complete = on_raw_complete, .arg = m};
	m->raw_concat = lpw_sms_concat_new(m->loop, &cc);
	if (!m->raw_concat)
		return -ENOMEM;
	lpw_timer_init(&m->cnma_timer, on_cnma_timeout);
	return 0;
}

void msim_net_close(lpw_modemsim_t *m)
{
	if (m->side_fd >= 0) {
		lpw_loop_del_fd(m->loop, m->side_fd);
		close(m->side_fd);
		m->side_fd = -1;
	}
	lpw_sms_concat_free(m->raw_concat);
	m->raw_concat = NULL;
	lpw_loop_timer_clear(m->loop, &m->cnma_timer);
	for (size_t i = 0; i < MSIM_BUCKETS; i++) {
		for (struct msim_dev *d = m->devs[i], *next; d; d = next) {
			next = d->next;
			free(d);
		}
		m->devs[i] = NULL;
	}
}
