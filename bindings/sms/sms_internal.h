/* The SMS binding's state, shared by sms.c (devices, messages) and sms_modem.c (port, AT engine, telemetry). */
#ifndef LPW_BINDING_SMS_INTERNAL_H
#define LPW_BINDING_SMS_INTERNAL_H

#include "bindings/sms/sms.h"
#include "bindings/sms/sms_at.h"
#include "bindings/sms/sms_concat.h"
#include "bindings/sms/sms_rate.h"
#include "core/timer.h"
#include "hal/serial.h"

#define SMS_AT_QUEUE 64            /* SMS waiting for AT+CMGS: a few whole messages of max_parts */
#define SMS_INFLIGHT (SMS_AT_QUEUE + 1)

/* One SMS handed to the AT engine: whose it is, by number (a handle could be gone by the time it is sent). */
struct sms_sent {
	uint32_t id;
	bool used;
	char digits[LPW_SMS_ADDR_DIGITS_MAX + 1];
};

struct sms;

/* Per device (LPW_SLOT_BINDING). */
struct sdev {
	struct sms *b;
	lpw_device_t *dev;
	lpw_sms_rate_t rate;
	bool awaiting;      /* a CON went out; its ACK has not come */
	bool refused;       /* a CON request was refused: the timer fails it at once */
	uint16_t await_mid;
	lpw_timer_t timer;  /* response_timeout for that CON */
};

struct sms {
	lpw_loop_t *loop;
	const lpw_config_t *cfg;
	const lpw_binding_host_t *host;
	lpw_serial_t *serial;
	lpw_sms_at_t *at;
	lpw_sms_concat_t *concat;
	lpw_sms_rate_t rate_total;
	struct sms_sent inflight[SMS_INFLIGHT];
	size_t inflight_next;
	/* monotonic counters for telemetry */
	uint64_t messages_in, messages_out, sms_out, send_failed, unknown, not_8bit, rate_limited;
	uint64_t response_timeouts, status_reports;
	uint64_t wakeups, wakeups_refused; /* Registration Update Triggers sent for devices of other bindings */
	uint16_t wake_mid;
};

/* sms_modem.c */
int lpw_sms_modem_open(struct sms *b, void (*received)(void *, const lpw_sms_t *),
		       void (*sent)(void *, uint32_t, int, int, int));
int lpw_sms_reconfigure(void *self, const lpw_config_t *cfg, FILE *report);
void lpw_sms_report(void *self, json_t *obj);
void lpw_sms_free(void *self);

#endif
