/* The SMS binding on the contract: modem port and AT engine below, devices by MSISDN above. See sms.h. */
#include "bindings/sms/sms.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/sms/sms_at.h"
#include "bindings/sms/sms_concat.h"
#include "bindings/sms/sms_internal.h"
#include "core/log.h"
#include "hal/serial.h"

/* --- devices --- */

/* The MSISDN as the configuration normalised it (E.164 digits) is the device table's identity. */
static lpw_device_t *find_device(struct sms *b, const char *digits)
{
	return b->host->find(b->host->ctx, LPW_BINDING_SMS, digits);
}

static void on_response_timeout(lpw_timer_t *t, int64_t now)
{
	struct sdev *s = lpw_container_of(t, struct sdev, timer);
	if (s->refused)
		LPW_WARN("sms", "%s: the server's request was not sent; 5.04", lpw_device_id(s->dev));
	else
		LPW_WARN("sms", "%s: no answer to CON %u within %u s (no retransmission over SMS)",
			 lpw_device_id(s->dev), s->await_mid, s->b->cfg->sms.response_timeout_s);
	s->b->response_timeouts += !s->refused;
	s->awaiting = s->refused = false;
	s->b->host->outcome(s->b->host->ctx, s->dev, LPW_DELIVERY_FAILED);
}

static bool is_con_request(const uint8_t *coap, size_t len)
{
	return len >= 4 && (coap[0] >> 6) == 1 && ((coap[0] >> 4) & 3) == 0 && coap[1] != 0 && coap[1] < 32;
}

/* A CON request the binding refused (rate limit, modem down): the proxy does not retransmit over SMS and waits
 * for an outcome, so fail it on the next turn of the loop (never from inside send). */
static int refuse_request(struct sms *b, struct sdev *s, const lpw_downlink_t *dl, int rc)
{
	if (s && is_con_request(dl->data, dl->len)) {
		s->awaiting = false;
		s->refused = true;
		if (lpw_loop_timer_in(b->loop, &s->timer, 0) < 0)
			LPW_ERR("sms", "%s: cannot arm the refusal timer", lpw_device_id(s->dev));
	}
	return rc;
}

/* LwM2M §6.8.3: no CoAP retransmission over SMS, so the binding times the device's answer to a CON itself. */
static void watch_con(struct sms *b, struct sdev *s, const uint8_t *coap, size_t len)
{
	if (!is_con_request(coap, len))
		return; /* RFC 7252 §3: only a CON request waits for an answer */
	s->awaiting = true;
	s->await_mid = (uint16_t)(coap[2] << 8 | coap[3]);
	if (lpw_loop_timer_in(b->loop, &s->timer, (int64_t)b->cfg->sms.response_timeout_s * 1000) < 0)
		LPW_ERR("sms", "%s: cannot arm the response timer", lpw_device_id(s->dev));
}

/* An ACK or RST with the awaited message id ends the wait. */
static void answer_seen(struct sms *b, struct sdev *s, const uint8_t *coap, size_t len)
{
	if (!s->awaiting || len < 4 || (coap[0] >> 6) != 1 || ((coap[0] >> 4) & 3) < 2)
		return;
	if ((uint16_t)(coap[2] << 8 | coap[3]) != s->await_mid)
		return;
	s->awaiting = false;
	lpw_loop_timer_clear(b->loop, &s->timer);
}

/* A whole message from a device (one SMS, or a reassembled chain). */
static void on_complete(void *arg, const char *sender, const uint8_t *data, size_t len)
{
	struct sms *b = arg;
	lpw_device_t *dev = find_device(b, sender);
	struct sdev *s = dev ? lpw_device_slot(dev, LPW_SLOT_BINDING) : NULL;
	if (!s)
		return; /* removed by a reload while its parts were arriving */
	b->messages_in++;
	answer_seen(b, s, data, len);
	b->host->uplink(b->host->ctx, dev, LPW_SERVER_ANY, data, len);
	b->host->reachable(b->host->ctx, dev, b->cfg->sms.reachable_window_s * 1000);
}

static void on_chain_dropped(void *arg, const char *sender, lpw_sms_concat_drop_t why, unsigned have, unsigned total)
{
	struct sms *b = arg;
	lpw_device_t *dev = find_device(b, sender);
	char detail[96];
	snprintf(detail, sizeof(detail), "%u of %u parts, %s", have, total,
		 why == LPW_SMS_CONCAT_TIMEOUT ? "timed out" : why == LPW_SMS_CONCAT_EVICTED ? "evicted" : "forgotten");
	LPW_WARN("sms", "%s: incomplete message dropped: %s", dev ? lpw_device_id(dev) : sender, detail);
	b->host->event(b->host->ctx, dev, "sms-incomplete", detail);
}

/* An SMS the modem received (AT engine hook). Unknown numbers are dropped before reassembly costs memory. */
static void on_received(void *arg, const lpw_sms_t *sms)
{
	struct sms *b = arg;
	char digits[LPW_SMS_ADDR_DIGITS_MAX + 1];
	if (sms->type == LPW_SMS_STATUS_REPORT) {
		b->status_reports++;
		LPW_INFO("sms", "status report for MR %u: %s", sms->mr, lpw_sms_status_text(sms->st));
		return;
	}
	lpw_device_t *dev = lpw_sms_addr_msisdn(&sms->addr, digits, sizeof(digits)) == 0 ? find_device(b, digits) : NULL;
	if (!dev) {
		b->unknown++; /* §5.4: silently dropped, counted (the number only in the debug log) */
		LPW_DEBUG("sms", "SMS from a number of no device dropped");
		b->host->dropped(b->host->ctx, LPW_BINDING_SMS);
		return;
	}
	if (!lpw_sms_dcs_is_8bit_data(sms->dcs)) {
		b->not_8bit++;
		LPW_WARN("sms", "%s: SMS with DCS 0x%02x is not 8-bit data (LwM2M §6.8.3): dropped", lpw_device_id(dev),
			 sms->dcs);
		return;
	}
	int rc = lpw_sms_concat_input(b->concat, digits, &sms->concat, sms->ud, sms->ud_len);
	if (rc < 0 && rc != -EALREADY)
		LPW_WARN("sms", "%s: SMS part refused: %s", lpw_device_id(dev), strerror(-rc));
}

/* --- sending --- */

static int submit_part(struct sms *b, const char *digits, const lpw_downlink_t *dl, unsigned n, unsigned seq,
		       uint16_t ref)
{
	const lpw_config_sms_t *c = &b->cfg->sms;
	lpw_sms_t m = {.type = LPW_SMS_SUBMIT, .dcs = (uint8_t)c->dcs, .status_report = c->status_reports};
	char plus[LPW_SMS_ADDR_DIGITS_MAX + 2];
	snprintf(plus, sizeof(plus), "+%s", digits);
	if (lpw_sms_addr_from_text(&m.addr, plus) < 0 || (c->smsc && lpw_sms_addr_from_text(&m.smsc, c->smsc) < 0))
		return -EINVAL;
	if (c->smsc)
		m.smsc.ton = LPW_SMS_TON_INTERNATIONAL;
	if (c->validity_s) {
		m.vp.format = LPW_SMS_VP_RELATIVE;
		m.vp.relative = lpw_sms_vp_relative_from_seconds(c->validity_s);
	}
	int rc = lpw_sms_concat_part(dl->data, dl->len, n, seq, ref, false, &m);
	if (rc < 0)
		return rc;
	uint8_t pdu[LPW_SMS_PDU_MAX];
	size_t tpdu_len = 0;
	rc = lpw_sms_encode(&m, true, pdu, sizeof(pdu), &tpdu_len);
	if (rc < 0)
		return rc;
	uint32_t id;
	rc = lpw_sms_at_send(b->at, pdu, (size_t)rc, tpdu_len, &id);
	if (rc < 0)
		return rc;
	struct sms_sent *t = &b->inflight[b->inflight_next++ % SMS_INFLIGHT];
	t->id = id;
	t->used = true;
	snprintf(t->digits, sizeof(t->digits), "%s", digits);
	return 0;
}

static int sms_send(void *self, lpw_device_t *dev, const lpw_downlink_t *dl)
{
	struct sms *b = self;
	struct sdev *s = lpw_device_slot(dev, LPW_SLOT_BINDING);
	lpw_sms_at_status_t st;
	lpw_sms_at_get_status(b->at, &st);
	if (!s)
		return -ENODEV;
	if (st.state != LPW_SMS_AT_READY) {
		LPW_WARN("sms", "%s: the modem is %s: nothing sent", lpw_device_id(dev), lpw_sms_at_state_name(st.state));
		return refuse_request(b, s, dl, -EHOSTUNREACH);
	}
	unsigned n = lpw_sms_concat_count(dl->len, b->cfg->sms.max_parts, false);
	if (n == 0)
		return refuse_request(b, s, dl, -EMSGSIZE);
	if (st.queued + n > SMS_AT_QUEUE)
		return refuse_request(b, s, dl, -EBUSY);
	if (lpw_sms_rate_take_both(&s->rate, &b->rate_total, lpw_loop_now(b->loop), n) < 0) {
		b->rate_limited++;
		LPW_WARN("sms", "%s: %u SMS refused by the rate limit", lpw_device_id(dev), n);
		return refuse_request(b, s, dl, -EAGAIN);
	}
	uint16_t ref = lpw_sms_concat_next_ref(b->concat, false);
	for (unsigned seq = 1; seq <= n; seq++) {
		int rc = submit_part(b, lpw_device_config(dev)->identity, dl, n, seq, ref);
		if (rc < 0) {
			LPW_WARN("sms", "%s: part %u of %u not sent: %s", lpw_device_id(dev), seq, n, strerror(-rc));
			return refuse_request(b, s, dl, rc);
		}
	}
	b->messages_out++;
	watch_con(b, s, dl->data, dl->len);
	return 0;
}

/* What became of one SMS (AT engine hook): a failure fails the message it belonged to. */
static void on_sent(void *arg, uint32_t id, int result, int mr, int err)
{
	struct sms *b = arg;
	struct sms_sent *t = NULL;
	for (size_t i = 0; i < SMS_INFLIGHT; i++) /* bounded by the AT queue, never by the number of devices */
		if (b->inflight[i].used && b->inflight[i].id == id)
			t = &b->inflight[i];
	if (!t)
		return;
	t->used = false;
	if (result == 0) {
		b->sms_out++;
		return;
	}
	b->send_failed++;
	lpw_device_t *dev = find_device(b, t->digits);
	LPW_WARN("sms", "%s: SMS not sent: %s (error %d)", dev ? lpw_device_id(dev) : t->digits, strerror(-result), err);
	struct sdev *s = dev ? lpw_device_slot(dev, LPW_SLOT_BINDING) : NULL;
	if (!s)
		return;
	if (s->awaiting) {
		s->awaiting = false;
		lpw_loop_timer_clear(b->loop, &s->timer);
	}
	b->host->outcome(b->host->ctx, dev, LPW_DELIVERY_FAILED);
}

/* LwM2M 1.1.1 §6.6 and §5.4 (Registration Update Trigger): a NON POST to /1/<instance>/8 (RFC 7252 §3 framing,
 * no token), by SMS to the `sms` number of a device of another binding. It costs an SMS: the total rate applies. */
static int sms_wake(void *self, lpw_device_t *dev)
{
	struct sms *b = self;
	const lpw_config_device_t *c = lpw_device_config(dev);
	lpw_sms_at_status_t st;
	if (!c->sms.number)
		return -ENOENT;
	lpw_sms_at_get_status(b->at, &st);
	if (st.state != LPW_SMS_AT_READY || lpw_sms_rate_take(&b->rate_total, lpw_loop_now(b->loop), 1) < 0) {
		b->wakeups_refused++;
		return -EAGAIN;
	}
	uint8_t coap[16];
	char inst[8];
	int il = snprintf(inst, sizeof(inst), "%u", c->sms.wakeup_instance);
	size_t n = 0;
	uint16_t mid = ++b->wake_mid;
	coap[n++] = 0x50; /* version 1, NON, no token */
	coap[n++] = 0x02; /* POST */
	coap[n++] = (uint8_t)(mid >> 8);
	coap[n++] = (uint8_t)mid;
	coap[n++] = 0xb1; /* Uri-Path (11), "1" */
	coap[n++] = '1';
	coap[n++] = (uint8_t)il; /* Uri-Path again: delta 0 */
	memcpy(coap + n, inst, (size_t)il);
	n += (size_t)il;
	coap[n++] = 0x01;
	coap[n++] = '8';
	lpw_downlink_t dl = {.data = coap, .len = n, .server = LPW_SERVER_ANY};
	int rc = submit_part(b, c->sms.number, &dl, 1, 1, 0);
	if (rc < 0) {
		b->wakeups_refused++;
		return rc;
	}
	b->wakeups++;
	b->host->event(b->host->ctx, dev, "sms-wakeup", "Registration Update Trigger sent");
	return 0;
}

static void sms_traits(void *self, const lpw_device_t *dev, lpw_binding_traits_t *out)
{
	struct sms *b = self;
	uint32_t cap = (uint32_t)lpw_sms_concat_capacity(b->cfg->sms.max_parts, false);
	uint32_t dev_max = lpw_device_config(dev)->max_message_size;
	if (dev_max && dev_max < cap)
		cap = dev_max;
	*out = (lpw_binding_traits_t){
		.max_message_size_now = cap, /* what max_parts concatenated SMS carry */
		.max_message_size = cap,
		.proxy_retransmits = false, /* LwM2M 1.1.1 §6.8.3: no CoAP retransmission over SMS */
		.queue_mode = true,         /* reachable only after it sent something */
	};
}

static int sms_device_add(void *self, lpw_device_t *dev)
{
	struct sms *b = self;
	struct sdev *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->b = b;
	s->dev = dev;
	lpw_timer_init(&s->timer, on_response_timeout);
	lpw_sms_rate_init(&s->rate, b->cfg->sms.rate_device, lpw_loop_now(b->loop));
	lpw_device_set_slot(dev, LPW_SLOT_BINDING, s);
	if (!lpw_device_config(dev)->oscore)
		LPW_WARN("sms", "%s: NoSec on the SMS channel (LwM2M §5.4.1): anyone who can send SMS as %s can act as "
			 "it; use OSCORE", lpw_device_id(dev), lpw_device_config(dev)->identity);
	return 0;
}

static void sms_device_remove(void *self, lpw_device_t *dev)
{
	struct sms *b = self;
	struct sdev *s = lpw_device_slot(dev, LPW_SLOT_BINDING);
	if (!s)
		return;
	lpw_loop_timer_clear(b->loop, &s->timer);
	lpw_sms_concat_forget(b->concat, lpw_device_config(dev)->identity);
	free(s);
	lpw_device_set_slot(dev, LPW_SLOT_BINDING, NULL);
}

/* The MSISDN is the table's key, so a changed number is removed + added; the rate may have changed. */
static void sms_device_update(void *self, lpw_device_t *dev, const lpw_config_device_t *old)
{
	struct sms *b = self;
	struct sdev *s = lpw_device_slot(dev, LPW_SLOT_BINDING);
	if (s)
		lpw_sms_rate_set(&s->rate, b->cfg->sms.rate_device, lpw_loop_now(b->loop));
}

static const lpw_binding_ops_t sms_ops = {
	.send = sms_send,
	.traits = sms_traits,
	.device_add = sms_device_add,
	.device_update = sms_device_update,
	.device_remove = sms_device_remove,
	.reconfigure = lpw_sms_reconfigure,
	.report = lpw_sms_report,
	.free = lpw_sms_free,
	.wake = sms_wake,
};

bool lpw_sms_enabled(const lpw_config_t *cfg)
{
	if (cfg->sms.enabled)
		return true;
	for (size_t i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].binding == LPW_BINDING_SMS)
			return true;
	return false;
}

int lpw_sms_create(const lpw_binding_env_t *env, lpw_binding_t *out)
{
	if (!env->cfg->sms.enabled) {
		LPW_ERR("sms", "devices of binding sms need bindings.sms.enabled = true and the modem's device");
		return -EINVAL;
	}
	struct sms *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->loop = env->loop;
	b->cfg = env->cfg;
	b->host = env->host;
	lpw_sms_concat_config_t cc = {
		.max_parts = b->cfg->sms.max_parts, .max_chains = b->cfg->sms.max_chains,
		.max_bytes = b->cfg->sms.reassembly_memory, .timeout_ms = b->cfg->sms.reassembly_timeout_s * 1000,
		.first_ref = (uint16_t)lpw_loop_now(b->loop), .complete = on_complete, .dropped = on_chain_dropped, .arg = b,
	};
	lpw_sms_rate_init(&b->rate_total, b->cfg->sms.rate_total, lpw_loop_now(b->loop));
	b->concat = lpw_sms_concat_new(b->loop, &cc);
	int rc = b->concat ? lpw_sms_modem_open(b, on_received, on_sent) : -ENOMEM;
	if (rc < 0) {
		lpw_sms_free(b);
		return rc;
	}
	LPW_WARN("sms", "SMS binding on %s: NoSec on the SMS channel; only devices with OSCORE are protected end to end "
		 "(LwM2M 1.1.1 §5.4.1)", b->cfg->sms.device);
	*out = (lpw_binding_t){&sms_ops, b};
	return 0;
}
