/* The SMS binding's lower half: the modem's serial port (hal/serial) wired to the AT engine, reload rules and
 * telemetry (signal quality, registration, counters). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/sms/sms_internal.h"
#include "core/log.h"

static int port_write(void *ctx, const uint8_t *data, size_t len)
{
	struct sms *b = ctx;
	return lpw_serial_write(b->serial, data, len);
}

static void port_data(void *arg, const uint8_t *data, size_t len)
{
	struct sms *b = arg;
	lpw_sms_at_input(b->at, data, len);
}

static void port_state(void *arg, bool open)
{
	struct sms *b = arg;
	LPW_INFO("sms", "modem port %s %s", b->cfg->sms.device, open ? "open" : "closed");
	lpw_sms_at_link(b->at, open);
}

static void at_state(void *arg, lpw_sms_at_state_t state, const char *why)
{
	struct sms *b = arg;
	LPW_INFO("sms", "modem %s: %s", lpw_sms_at_state_name(state), why);
	b->host->event(b->host->ctx, NULL, "sms-modem", lpw_sms_at_state_name(state));
}

static void at_reset(void *arg)
{
	struct sms *b = arg;
	LPW_WARN("sms", "the modem stopped answering: resetting it");
	if (lpw_serial_reset(b->serial) < 0)
		LPW_DEBUG("sms", "a reset is already under way");
}

static void at_event(void *arg, const char *type, const char *detail)
{
	struct sms *b = arg;
	LPW_INFO("sms", "modem event %s: %s", type, detail ? detail : "");
	b->host->event(b->host->ctx, NULL, type, detail ? detail : "");
}

int lpw_sms_modem_open(struct sms *b, void (*received)(void *, const lpw_sms_t *),
		       void (*sent)(void *, uint32_t, int, int, int))
{
	const lpw_config_sms_t *c = &b->cfg->sms;
	lpw_sms_at_config_t ac = {
		.cnmi = c->cnmi == LPW_SMS_CNMI_DIRECT ? LPW_SMS_AT_CNMI_DIRECT : LPW_SMS_AT_CNMI_STORE,
		.status_reports = c->status_reports, .pin = c->pin, .max_queue = SMS_AT_QUEUE,
	};
	lpw_sms_at_transport_t tr = {port_write, b};
	lpw_sms_at_hooks_t hooks = {.received = received, .sent = sent, .state = at_state, .reset = at_reset,
				    .event = at_event, .arg = b};
	b->at = lpw_sms_at_new(b->loop, &ac, &tr, &hooks);
	if (!b->at)
		return -ENOMEM;
	lpw_serial_config_t sc = {
		.path = c->device, .baud = c->baud, .reset_chip = c->gpio_chip, .reset_line = c->gpio_line,
		.reset_active_low = c->gpio_active_low, .reset_pulse_ms = c->gpio_pulse_ms,
	};
	lpw_serial_hooks_t sh = {port_data, port_state, b};
	b->serial = lpw_serial_new(b->loop, &sc, &sh);
	return b->serial ? 0 : -EINVAL;
}

/* The port, the CNMI mode and the PIN are the modem's session: a restart applies them. Limits apply now. */
int lpw_sms_reconfigure(void *self, const lpw_config_t *cfg, FILE *report)
{
	struct sms *b = self;
	const lpw_config_sms_t *o = &b->cfg->sms, *n = &cfg->sms;
	int restart = 0;
	if (strcmp(o->device, n->device) != 0 || o->baud != n->baud || o->cnmi != n->cnmi ||
	    o->status_reports != n->status_reports || !o->pin != !n->pin || (o->pin && strcmp(o->pin, n->pin)) ||
	    o->max_parts != n->max_parts || o->max_chains != n->max_chains ||
	    o->reassembly_memory != n->reassembly_memory || o->reassembly_timeout_s != n->reassembly_timeout_s) {
		fprintf(report, "bindings.sms: modem port, CNMI, PIN, status reports and reassembly keep their values "
				"until a restart\n");
		restart++;
	}
	lpw_sms_rate_set(&b->rate_total, n->rate_total, lpw_loop_now(b->loop));
	b->cfg = cfg; /* DCS, validity, SMSC, rates, windows and timeouts apply at once */
	return restart;
}

static void put(json_t *o, const char *k, json_t *v)
{
	json_object_set_new(o, k, v);
}

void lpw_sms_report(void *self, json_t *obj)
{
	struct sms *b = self;
	lpw_sms_at_status_t st;
	lpw_sms_concat_stats_t cs;
	lpw_serial_counters_t sc;
	lpw_sms_at_get_status(b->at, &st);
	lpw_sms_concat_get_stats(b->concat, &cs);
	lpw_serial_get_counters(b->serial, &sc);
	json_t *m = json_object();
	put(m, "state", json_string(lpw_sms_at_state_name(st.state)));
	put(m, "rssi", json_integer(st.rssi));
	if (lpw_sms_at_rssi_dbm(st.rssi))
		put(m, "rssi_dbm", json_integer(lpw_sms_at_rssi_dbm(st.rssi)));
	put(m, "creg", json_integer(st.creg));
	put(m, "registration", json_string(lpw_sms_at_creg_text(st.creg)));
	put(m, "cms_errors", json_integer((json_int_t)st.cms_errors));
	put(m, "cme_errors", json_integer((json_int_t)st.cme_errors));
	put(m, "timeouts", json_integer((json_int_t)st.timeouts));
	put(m, "resets", json_integer((json_int_t)st.resets));
	put(m, "port_opens", json_integer((json_int_t)sc.opens));
	put(m, "port_losses", json_integer((json_int_t)sc.losses));
	json_t *s = obj; /* the router's "sms" object */
	put(s, "modem", m);
	put(s, "messages_in", json_integer((json_int_t)b->messages_in));
	put(s, "messages_out", json_integer((json_int_t)b->messages_out));
	put(s, "sms_in", json_integer((json_int_t)st.received));
	put(s, "sms_out", json_integer((json_int_t)b->sms_out));
	put(s, "send_failed", json_integer((json_int_t)b->send_failed));
	put(s, "unknown_sender", json_integer((json_int_t)b->unknown));
	put(s, "not_8bit", json_integer((json_int_t)b->not_8bit));
	put(s, "rate_limited", json_integer((json_int_t)b->rate_limited));
	put(s, "response_timeouts", json_integer((json_int_t)b->response_timeouts));
	put(s, "status_reports", json_integer((json_int_t)b->status_reports));
	put(s, "wakeups", json_integer((json_int_t)b->wakeups));
	put(s, "wakeups_refused", json_integer((json_int_t)b->wakeups_refused));
	put(s, "reassembly_chains", json_integer((json_int_t)cs.chains));
	put(s, "reassembly_timeouts", json_integer((json_int_t)cs.timeouts));
	put(s, "duplicates", json_integer((json_int_t)cs.duplicates));
}

void lpw_sms_free(void *self)
{
	struct sms *b = self;
	if (!b)
		return;
	lpw_serial_free(b->serial); /* no hook runs: the engine is not told */
	lpw_sms_at_free(b->at);
	lpw_sms_concat_free(b->concat);
	free(b);
}
