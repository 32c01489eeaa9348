/* The AT engine against transcripts: what it writes is checked command by command, what the "modem" answers is fed
 * back, on the fake clock. Initialisation in both CNMI modes, the SIM PIN, messages stored at start, +CMTI ->
 * AT+CMGR -> AT+CMGD, +CMT with AT+CNMA, sends through the prompt, URCs in the middle of commands, +CMS ERROR on
 * send, timeouts and the reset request, the modem vanishing and returning. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bindings/sms/sms_at.h"
#include "bindings/sms/sms_at_line.h"
#include "core/log.h"

/* Lars Pettersson's SMS-DELIVER example (see tests/unit/sms_pdu): SMSC field of 8 octets, TPDU of 28. */
#define DELIVER_HEX "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
#define DELIVER_TPDU "28"
/* A status report as +CDS gives it without SMSC field (amro.blogspot.com, see tests/unit/sms_pdu): 25 octets. */
#define SR_HEX "06000B910221815716F2709021510121807090215101718000"

struct sent_rec {
	uint32_t id;
	int result, mr, err;
};

struct env {
	lpw_clock_t *clk;
	lpw_loop_t *loop;
	lpw_sms_at_t *at;
	lpw_sms_at_config_t cfg;
	char out[16384]; /* what the engine wrote */
	size_t out_len, out_pos;
	int write_rc;
	int received;
	lpw_sms_t last;
	struct sent_rec sent[16];
	int nsent;
	lpw_sms_at_state_t state;
	char state_why[160];
	int resets;
	char events[512];
};

static int fake_write(void *ctx, const uint8_t *data, size_t len)
{
	struct env *e = ctx;
	assert_true(e->out_len + len < sizeof(e->out));
	memcpy(e->out + e->out_len, data, len);
	e->out_len += len;
	e->out[e->out_len] = '\0';
	return e->write_rc;
}

static void on_received(void *arg, const lpw_sms_t *sms)
{
	struct env *e = arg;
	e->received++;
	e->last = *sms;
}

static void on_sent(void *arg, uint32_t id, int result, int mr, int err)
{
	struct env *e = arg;
	assert_true(e->nsent < 16);
	e->sent[e->nsent++] = (struct sent_rec){id, result, mr, err};
}

static void on_state(void *arg, lpw_sms_at_state_t s, const char *why)
{
	struct env *e = arg;
	e->state = s;
	snprintf(e->state_why, sizeof(e->state_why), "%s", why);
}

static void on_reset(void *arg)
{
	((struct env *)arg)->resets++;
}

static void on_event(void *arg, const char *type, const char *detail)
{
	struct env *e = arg;
	size_t n = strlen(e->events);
	snprintf(e->events + n, sizeof(e->events) - n, "%s=%s;", type, detail);
}

static void make(struct env *e)
{
	lpw_sms_at_transport_t tr = {.write = fake_write, .ctx = e};
	lpw_sms_at_hooks_t h = {.received = on_received, .sent = on_sent, .state = on_state, .reset = on_reset,
				.event = on_event, .arg = e};
	e->at = lpw_sms_at_new(e->loop, &e->cfg, &tr, &h);
	assert_non_null(e->at);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	lpw_log_setup(LOG_ERR, LPW_LOG_TO_STDERR, "test");
	e->clk = lpw_clock_new_fake(0);
	e->loop = lpw_loop_new(e->clk);
	e->cfg = (lpw_sms_at_config_t){.cmd_timeout_ms = 1000, .send_timeout_ms = 5000, .poll_interval_ms = 60000,
				       .retry_ms = 2000, .max_timeouts = 3, .max_queue = 4};
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	lpw_sms_at_free(e->at);
	lpw_loop_free(e->loop);
	lpw_clock_free(e->clk);
	free(e);
	return 0;
}

static void advance(struct env *e, int64_t ms)
{
	assert_int_equal(lpw_clock_advance(e->clk, ms), 0);
	lpw_loop_run_once(e->loop, 0);
}

/* The engine's next write is exactly want. */
static void expect(struct env *e, const char *want)
{
	size_t n = strlen(want);
	if (e->out_len - e->out_pos < n || memcmp(e->out + e->out_pos, want, n) != 0)
		fail_msg("expected the engine to write \"%s\", it wrote \"%s\"", want, e->out + e->out_pos);
	e->out_pos += n;
}

static void expect_nothing(struct env *e)
{
	if (e->out_pos != e->out_len)
		fail_msg("unexpected write: \"%s\"", e->out + e->out_pos);
}

/* A command line: want then CR. */
static void expect_cmd(struct env *e, const char *want)
{
	expect(e, want);
	expect(e, "\r");
}

static void say(struct env *e, const char *text)
{
	lpw_sms_at_input(e->at, (const uint8_t *)text, strlen(text));
}

/* cmd is written, the modem answers with answer. */
static void exchange(struct env *e, const char *cmd, const char *answer)
{
	expect_cmd(e, cmd);
	say(e, answer);
}

/* Initialisation up to READY with nothing stored; csms and cnmi as the mode wants. */
static void init_to_ready(struct env *e, const char *csms, const char *cnmi)
{
	lpw_sms_at_link(e->at, true);
	assert_int_equal(e->state, LPW_SMS_AT_INIT);
	exchange(e, "AT", "\r\nOK\r\n");
	exchange(e, "ATE0", "\r\nOK\r\n");
	exchange(e, "AT+CMEE=1", "\r\nOK\r\n");
	exchange(e, "AT+CPIN?", "\r\n+CPIN: READY\r\n\r\nOK\r\n");
	exchange(e, "AT+CMGF=0", "\r\nOK\r\n");
	exchange(e, csms, "\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n");
	exchange(e, "AT+CPMS?", "\r\n+CPMS: \"SM\",0,30,\"SM\",0,30,\"SM\",0,30\r\n\r\nOK\r\n");
	exchange(e, cnmi, "\r\nOK\r\n");
	exchange(e, "AT+CMGL=4", "\r\nOK\r\n");
	assert_int_equal(e->state, LPW_SMS_AT_READY);
	/* the first poll at once */
	advance(e, 0);
	exchange(e, "AT+CSQ", "\r\n+CSQ: 17,99\r\n\r\nOK\r\n");
	exchange(e, "AT+CREG?", "\r\n+CREG: 0,5\r\n\r\nOK\r\n");
	expect_nothing(e);
}

static void test_init_store(void **state)
{
	struct env *e = *state;
	make(e);
	init_to_ready(e, "AT+CSMS=0", "AT+CNMI=2,1,0,0,0");
	assert_non_null(strstr(e->state_why, "store-then-read"));
	lpw_sms_at_status_t st;
	lpw_sms_at_get_status(e->at, &st);
	assert_int_equal(st.rssi, 17);
	assert_int_equal(lpw_sms_at_rssi_dbm(st.rssi), -79);
	assert_int_equal(st.ber, 99);
	assert_int_equal(st.creg, 5);
	assert_string_equal(lpw_sms_at_creg_text(st.creg), "registered, roaming");
	/* and again a poll interval later */
	advance(e, 60000);
	exchange(e, "AT+CSQ", "\r\n+CSQ: 20,0\r\n\r\nOK\r\n");
	exchange(e, "AT+CREG?", "\r\n+CREG: 0,1\r\n\r\nOK\r\n");
	lpw_sms_at_get_status(e->at, &st);
	assert_int_equal(st.rssi, 20);
	assert_int_equal(st.creg, 1);
}

/* Echo still on at first, lines cut anywhere, one byte at a time. */
static void test_echo_and_split(void **state)
{
	struct env *e = *state;
	make(e);
	lpw_sms_at_link(e->at, true);
	expect_cmd(e, "AT");
	const char *answer = "AT\r\r\nOK\r\n";
	for (const char *p = answer; *p; p++)
		lpw_sms_at_input(e->at, (const uint8_t *)p, 1);
	expect_cmd(e, "ATE0");
	say(e, "ATE0\r\r\nO");
	expect_nothing(e);
	say(e, "K\r\n");
	expect_cmd(e, "AT+CMEE=1");
}

/* Two messages on the SIM at start: the received one is handed on, both are deleted one by one. */
static void test_stored_at_start(void **state)
{
	struct env *e = *state;
	make(e);
	lpw_sms_at_link(e->at, true);
	exchange(e, "AT", "\r\nOK\r\n");
	exchange(e, "ATE0", "\r\nOK\r\n");
	exchange(e, "AT+CMEE=1", "\r\nOK\r\n");
	exchange(e, "AT+CPIN?", "\r\n+CPIN: READY\r\n\r\nOK\r\n");
	exchange(e, "AT+CMGF=0", "\r\nOK\r\n");
	exchange(e, "AT+CSMS=0", "\r\nOK\r\n");
	exchange(e, "AT+CPMS?", "\r\nERROR\r\n"); /* an old modem: the storage stays unknown */
	exchange(e, "AT+CNMI=2,1,0,0,0", "\r\nOK\r\n");
	exchange(e, "AT+CMGL=4", "\r\n+CMGL: 3,1,," DELIVER_TPDU "\r\n" DELIVER_HEX "\r\n"
				 "+CMGL: 7,3,,23\r\n0011000B916407281553F80000AA0AE8329BFD4697D9EC37\r\n\r\nOK\r\n");
	assert_int_equal(e->received, 1);
	assert_string_equal(e->last.addr.digits, "27838890001");
	assert_int_equal(e->state, LPW_SMS_AT_READY);
	assert_non_null(strstr(e->events, "stored=2;"));
	exchange(e, "AT+CMGD=3", "\r\nOK\r\n");
	exchange(e, "AT+CMGD=7", "\r\nOK\r\n");
	advance(e, 0);
	expect_cmd(e, "AT+CSQ");
}

static void test_cmti_read_delete(void **state)
{
	struct env *e = *state;
	make(e);
	init_to_ready(e, "AT+CSMS=0", "AT+CNMI=2,1,0,0,0");
	say(e, "\r\n+CMTI: \"SM\",4\r\n");
	exchange(e, "AT+CMGR=4", "\r\n+CMGR: 0,," DELIVER_TPDU "\r\n" DELIVER_HEX "\r\n\r\nOK\r\n");
	assert_int_equal(e->received, 1);
	assert_int_equal(e->last.type, LPW_SMS_DELIVER);
	exchange(e, "AT+CMGD=4", "\r\nOK\r\n");
	/* an index that holds nothing: 321, nothing delivered, nothing deleted */
	say(e, "\r\n+CMTI: \"SM\",5\r\n");
	exchange(e, "AT+CMGR=5", "\r\n+CMS ERROR: 321\r\n");
	expect_nothing(e);
	/* another storage: switch, then read */
	say(e, "\r\n+CMTI: \"ME\",9\r\n");
	exchange(e, "AT+CPMS=\"ME\"", "\r\n+CPMS: 1,100,0,30,0,30\r\n\r\nOK\r\n");
	exchange(e, "AT+CMGR=9", "\r\n+CMGR: 1,," DELIVER_TPDU "\r\n" DELIVER_HEX "\r\n\r\nOK\r\n");
	exchange(e, "AT+CMGD=9", "\r\nOK\r\n");
	assert_int_equal(e->received, 2);
	say(e, "\r\n+CMTI: \"ME\",10\r\n");
	expect_cmd(e, "AT+CMGR=10"); /* no second switch */
}

/* A PDU the modem reports that does not decode: counted, an event, the slot deleted all the same. */
static void test_malformed_pdu(void **state)
{
	struct env *e = *state;
	make(e);
	init_to_ready(e, "AT+CSMS=0", "AT+CNMI=2,1,0,0,0");
	say(e, "\r\n+CMTI: \"SM\",1\r\n");
	exchange(e, "AT+CMGR=1", "\r\n+CMGR: 0,,5\r\n0004039121\r\n\r\nOK\r\n");
	assert_int_equal(e->received, 0);
	exchange(e, "AT+CMGD=1", "\r\nOK\r\n");
	assert_non_null(strstr(e->events, "malformed="));
	lpw_sms_at_status_t st;
	lpw_sms_at_get_status(e->at, &st);
	assert_int_equal(st.malformed, 1);
}

static uint32_t queue_send(struct env *e, size_t tpdu_len)
{
	uint8_t pdu[LPW_SMS_PDU_MAX];
	memset(pdu, 0x11, sizeof(pdu));
	pdu[0] = 0; /* no SMSC */
	uint32_t id = 0;
	assert_int_equal(lpw_sms_at_send(e->at, pdu, tpdu_len + 1, tpdu_len, &id), 0);
	return id;
}

static void expect_pdu_write(struct env *e, size_t tpdu_len)
{
	char hex[LPW_SMS_HEX_MAX + 2] = "00";
	for (size_t i = 0; i < tpdu_len; i++)
		memcpy(hex + 2 + 2 * i, "11", 3);
	expect(e, hex);
	expect(e, "\x1a");
}

/* URCs where they may come: after the prompt, between +CMGS and OK, between a +CMGR header and its PDU, and a
 * +CMT (two lines) inside the answer to AT+CSQ. */
static void test_urc_inside_commands(void **state)
{
	struct env *e = *state;
	make(e);
	init_to_ready(e, "AT+CSMS=0", "AT+CNMI=2,1,0,0,0");
	uint32_t id = queue_send(e, 20);
	expect_cmd(e, "AT+CMGS=20");
	say(e, "\r\n+CMTI: \"SM\",2\r\n\r\n> ");
	expect_pdu_write(e, 20);
	say(e, "\r\n+CMGS: 77\r\n\r\n+CMTI: \"SM\",3\r\n\r\nOK\r\n");
	assert_int_equal(e->nsent, 1);
	assert_int_equal(e->sent[0].id, id);
	assert_int_equal(e->sent[0].result, 0);
	assert_int_equal(e->sent[0].mr, 77);
	expect_cmd(e, "AT+CMGR=2");
	say(e, "\r\n+CMGR: 0,," DELIVER_TPDU "\r\n+CMTI: \"SM\",6\r\n" DELIVER_HEX "\r\n\r\nOK\r\n");
	assert_int_equal(e->received, 1);
	exchange(e, "AT+CMGR=3", "\r\n+CMGR: 0,," DELIVER_TPDU "\r\n" DELIVER_HEX "\r\n\r\nOK\r\n");
	exchange(e, "AT+CMGR=6", "\r\n+CMS ERROR: 321\r\n");
	exchange(e, "AT+CMGD=2", "\r\nOK\r\n");
	exchange(e, "AT+CMGD=3", "\r\nOK\r\n");
	assert_int_equal(e->received, 2);
	advance(e, 60000);
	exchange(e, "AT+CSQ", "\r\n+CSQ: 9,99\r\n+CMT: ,25\r\n" SR_HEX "\r\n\r\nOK\r\n"); /* store mode: no CNMA */
	assert_int_equal(e->received, 3);
	assert_int_equal(e->last.type, LPW_SMS_STATUS_REPORT);
	exchange(e, "AT+CREG?", "\r\n+CREG: 0,1\r\n\r\nOK\r\n");
	expect_nothing(e);
}

static void test_cms_error_on_send(void **state)
{
	struct env *e = *state;
	make(e);
	init_to_ready(e, "AT+CSMS=0", "AT+CNMI=2,1,0,0,0");
	uint32_t a = queue_send(e, 10), b = queue_send(e, 11);
	expect_cmd(e, "AT+CMGS=10");
	say(e, "\r\n> ");
	expect_pdu_write(e, 10);
	say(e, "\r\n+CMS ERROR: 38\r\n"); /* network out of order */
	assert_int_equal(e->nsent, 1);
	assert_int_equal(e->sent[0].id, a);
	assert_int_equal(e->sent[0].result, -EPROTO);
	assert_int_equal(e->sent[0].err, 38);
	assert_string_equal(lpw_sms_at_cms_text(38), "network out of order");
	/* refused before the prompt */
	exchange(e, "AT+CMGS=11", "\r\nERROR\r\n");
	assert_int_equal(e->sent[1].id, b);
	assert_int_equal(e->sent[1].result, -EPROTO);
	assert_int_equal(e->sent[1].err, -1);
	lpw_sms_at_status_t st;
	lpw_sms_at_get_status(e->at, &st);
	assert_int_equal(st.cms_errors, 1);
	assert_int_equal(st.send_failed, 2);
	/* the queue is bounded: one in flight, max_queue (4) waiting */
	for (int i = 0; i < 5; i++)
		(void)queue_send(e, 5);
	uint8_t pdu[8] = {0};
	assert_int_equal(lpw_sms_at_send(e->at, pdu, 6, 5, NULL), -ENOBUFS);
	assert_int_equal(lpw_sms_at_send(e->at, pdu, 6, 7, NULL), -EINVAL);
}

/* No prompt: ESC, -ETIMEDOUT; three commands in a row unanswered: reset requested, what waited fails. */
static void test_timeouts_and_reset(void **state)
{
	struct env *e = *state;
	make(e);
	init_to_ready(e, "AT+CSMS=0", "AT+CNMI=2,1,0,0,0");
	uint32_t a = queue_send(e, 10), b = queue_send(e, 12), c = queue_send(e, 13);
	expect_cmd(e, "AT+CMGS=10");
	advance(e, 999);
	expect_nothing(e);
	advance(e, 1);
	expect(e, "\x1b");
	assert_int_equal(e->sent[0].id, a);
	assert_int_equal(e->sent[0].result, -ETIMEDOUT);
	/* an answer in between (the prompt: the modem is there) resets the count */
	expect_cmd(e, "AT+CMGS=12");
	say(e, "\r\n> ");
	expect_pdu_write(e, 12);
	advance(e, 5000); /* no +CMGS in send_timeout */
	assert_int_equal(e->sent[1].id, b);
	assert_int_equal(e->sent[1].result, -ETIMEDOUT);
	expect_cmd(e, "AT+CMGS=13");
	advance(e, 1000);
	expect(e, "\x1b");
	assert_int_equal(e->resets, 0);
	assert_int_equal(e->sent[2].id, c);
	/* a third silence in a row: now it is a reset */
	(void)queue_send(e, 14);
	(void)queue_send(e, 15);
	expect_cmd(e, "AT+CMGS=14");
	advance(e, 1000);
	expect(e, "\x1b");
	assert_int_equal(e->resets, 1);
	assert_int_equal(e->state, LPW_SMS_AT_RESETTING);
	assert_int_equal(e->nsent, 5);
	assert_int_equal(e->sent[4].result, -ENOTCONN); /* the one that waited */
	uint8_t pdu[8] = {0};
	assert_int_equal(lpw_sms_at_send(e->at, pdu, 6, 5, NULL), -ENOTCONN);
	/* the reset showed no link change: the engine tries the modem again after 6 retry periods */
	advance(e, 12000);
	assert_int_equal(e->state, LPW_SMS_AT_INIT);
	expect_cmd(e, "AT");
	lpw_sms_at_status_t st;
	lpw_sms_at_get_status(e->at, &st);
	assert_int_equal(st.timeouts, 4);
	assert_int_equal(st.resets, 1);
}

/* The modem vanishes in the middle of a send and returns: the send fails, initialisation starts over. */
static void test_vanish_and_return(void **state)
{
	struct env *e = *state;
	make(e);
	init_to_ready(e, "AT+CSMS=0", "AT+CNMI=2,1,0,0,0");
	uint32_t a = queue_send(e, 10), b = queue_send(e, 10);
	expect_cmd(e, "AT+CMGS=10");
	say(e, "\r\n> ");
	expect_pdu_write(e, 10);
	say(e, "\r\n+CMG"); /* half a line, then the USB device is gone */
	lpw_sms_at_link(e->at, false);
	assert_int_equal(e->state, LPW_SMS_AT_DOWN);
	assert_int_equal(e->nsent, 2);
	assert_int_equal(e->sent[0].id, a);
	assert_int_equal(e->sent[0].result, -ENOTCONN);
	assert_int_equal(e->sent[1].id, b);
	assert_int_equal(e->sent[1].result, -ENOTCONN);
	advance(e, 100000); /* nothing happens while down: no timers, no writes */
	expect_nothing(e);
	say(e, "S: 5\r\nOK\r\n"); /* input while down is dropped */
	lpw_sms_at_link(e->at, true);
	/* the partial line was forgotten; a fresh start */
	exchange(e, "AT", "\r\nOK\r\n");
	exchange(e, "ATE0", "\r\nOK\r\n");
	exchange(e, "AT+CMEE=1", "\r\nOK\r\n");
	exchange(e, "AT+CPIN?", "\r\n+CPIN: READY\r\n\r\nOK\r\n");
	exchange(e, "AT+CMGF=0", "\r\nOK\r\n");
	exchange(e, "AT+CSMS=0", "\r\nOK\r\n");
	exchange(e, "AT+CPMS?", "\r\nOK\r\n");
	exchange(e, "AT+CNMI=2,1,0,0,0", "\r\nOK\r\n");
	/* the message that arrived while the modem was away is on the SIM */
	exchange(e, "AT+CMGL=4", "\r\n+CMGL: 1,0,," DELIVER_TPDU "\r\n" DELIVER_HEX "\r\n\r\nOK\r\n");
	assert_int_equal(e->received, 1);
	assert_int_equal(e->state, LPW_SMS_AT_READY);
	expect_cmd(e, "AT+CMGD=1");
}

/* The modem does not answer at all after the link comes up: the probes time out and a reset is asked for. */
static void test_silent_modem(void **state)
{
	struct env *e = *state;
	make(e);
	lpw_sms_at_link(e->at, true);
	for (int i = 0; i < 3; i++) {
		expect_cmd(e, "AT");
		advance(e, 1000);
	}
	assert_int_equal(e->resets, 1);
	assert_int_equal(e->state, LPW_SMS_AT_RESETTING);
	/* the glue's reset closes and reopens the port */
	lpw_sms_at_link(e->at, false);
	lpw_sms_at_link(e->at, true);
	expect_cmd(e, "AT");
}

static void test_direct_mode(void **state)
{
	struct env *e = *state;
	e->cfg.cnmi = LPW_SMS_AT_CNMI_DIRECT;
	e->cfg.status_reports = true;
	make(e);
	init_to_ready(e, "AT+CSMS=1", "AT+CNMI=2,2,0,1,0");
	assert_non_null(strstr(e->state_why, "direct delivery"));
	say(e, "\r\n+CMT: ," DELIVER_TPDU "\r\n" DELIVER_HEX "\r\n");
	assert_int_equal(e->received, 1);
	exchange(e, "AT+CNMA", "\r\nOK\r\n");
	say(e, "\r\n+CDS: 25\r\n" SR_HEX "\r\n");
	assert_int_equal(e->received, 2);
	assert_int_equal(e->last.type, LPW_SMS_STATUS_REPORT);
	assert_int_equal(e->last.st, 0);
	/* the acknowledgement came too late for the modem: indications are switched on again */
	exchange(e, "AT+CNMA", "\r\n+CMS ERROR: 340\r\n");
	exchange(e, "AT+CNMI=2,2,0,1,0", "\r\nOK\r\n");
	/* a +CMT while a send waits for its result: acknowledged before anything else */
	(void)queue_send(e, 10);
	(void)queue_send(e, 10);
	expect_cmd(e, "AT+CMGS=10");
	say(e, "\r\n> ");
	expect_pdu_write(e, 10);
	say(e, "\r\n+CMT: ," DELIVER_TPDU "\r\n" DELIVER_HEX "\r\n\r\n+CMGS: 3\r\n\r\nOK\r\n");
	exchange(e, "AT+CNMA", "\r\nOK\r\n");
	expect_cmd(e, "AT+CMGS=10");
	lpw_sms_at_status_t st;
	lpw_sms_at_get_status(e->at, &st);
	assert_int_equal(st.received, 2);
	assert_int_equal(st.status_reports, 1);
}

/* The modem refuses AT+CSMS=1: store-then-read instead, with an event. */
static void test_direct_fallback(void **state)
{
	struct env *e = *state;
	e->cfg.cnmi = LPW_SMS_AT_CNMI_DIRECT;
	make(e);
	lpw_sms_at_link(e->at, true);
	exchange(e, "AT", "\r\nOK\r\n");
	exchange(e, "ATE0", "\r\nOK\r\n");
	exchange(e, "AT+CMEE=1", "\r\nOK\r\n");
	exchange(e, "AT+CPIN?", "\r\n+CPIN: READY\r\n\r\nOK\r\n");
	exchange(e, "AT+CMGF=0", "\r\nOK\r\n");
	exchange(e, "AT+CSMS=1", "\r\n+CMS ERROR: 303\r\n");
	assert_non_null(strstr(e->events, "cnmi-fallback="));
	exchange(e, "AT+CPMS?", "\r\nOK\r\n");
	exchange(e, "AT+CNMI=2,1,0,0,0", "\r\nERROR\r\n"); /* and mode 2 is refused too: mode 1 */
	exchange(e, "AT+CNMI=1,1,0,0,0", "\r\nOK\r\n");
	exchange(e, "AT+CMGL=4", "\r\nOK\r\n");
	assert_int_equal(e->state, LPW_SMS_AT_READY);
	assert_non_null(strstr(e->state_why, "store-then-read"));
}

static void to_cpin(struct env *e)
{
	lpw_sms_at_link(e->at, true);
	exchange(e, "AT", "\r\nOK\r\n");
	exchange(e, "ATE0", "\r\nOK\r\n");
	exchange(e, "AT+CMEE=1", "\r\nOK\r\n");
}

static void test_pin(void **state)
{
	struct env *e = *state;
	e->cfg.pin = "1234";
	make(e);
	to_cpin(e);
	exchange(e, "AT+CPIN?", "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n");
	exchange(e, "AT+CPIN=\"1234\"", "\r\nOK\r\n");
	assert_non_null(strstr(e->events, "sim-pin=entered;"));
	expect_nothing(e);
	advance(e, 2000); /* the SIM gets a moment */
	exchange(e, "AT+CPIN?", "\r\n+CME ERROR: 14\r\n"); /* SIM busy: again later */
	advance(e, 2000);
	exchange(e, "AT+CPIN?", "\r\n+CPIN: READY\r\n\r\nOK\r\n");
	expect_cmd(e, "AT+CMGF=0");
}

/* A wrong PIN is tried once, ever: a SIM locks after three. */
static void test_pin_refused(void **state)
{
	struct env *e = *state;
	e->cfg.pin = "9999";
	make(e);
	to_cpin(e);
	exchange(e, "AT+CPIN?", "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n");
	exchange(e, "AT+CPIN=\"9999\"", "\r\n+CME ERROR: 16\r\n");
	assert_int_equal(e->state, LPW_SMS_AT_FAILED);
	assert_non_null(strstr(e->state_why, "incorrect password"));
	advance(e, 100000);
	expect_nothing(e);
	lpw_sms_at_link(e->at, false);
	to_cpin(e);
	exchange(e, "AT+CPIN?", "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n");
	assert_int_equal(e->state, LPW_SMS_AT_FAILED);
	assert_non_null(strstr(e->state_why, "refused before"));
	expect_nothing(e);
}

static void test_sim_problems(void **state)
{
	struct env *e = *state;
	make(e); /* no PIN configured */
	to_cpin(e);
	exchange(e, "AT+CPIN?", "\r\n+CME ERROR: 11\r\n");
	assert_int_equal(e->state, LPW_SMS_AT_FAILED);
	assert_non_null(strstr(e->state_why, "no pin_file"));
	lpw_sms_at_link(e->at, false);
	to_cpin(e);
	exchange(e, "AT+CPIN?", "\r\n+CME ERROR: 10\r\n");
	assert_string_equal(e->state_why, "SIM: SIM not inserted (+CME ERROR: 10)");
	lpw_sms_at_link(e->at, false);
	to_cpin(e);
	exchange(e, "AT+CPIN?", "\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n");
	assert_non_null(strstr(e->state_why, "SIM PUK"));
}

/* Noise: garbled and overlong lines, results for no command, prompts for nothing; none of it breaks the engine. */
static void test_noise(void **state)
{
	struct env *e = *state;
	make(e);
	init_to_ready(e, "AT+CSMS=0", "AT+CNMI=2,1,0,0,0");
	static const uint8_t garbled[] = {'\r', '\n', 'O', 0, 'K', '\r', '\n'};
	lpw_sms_at_input(e->at, garbled, sizeof(garbled));
	say(e, "\r\nOK\r\n\r\n> \r\nRING\r\n+CMTI: broken\r\n+CMTI: \"SM\r\n^SYSSTART\r\n");
	char big[700];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	say(e, big);
	say(e, "\r\n");
	expect_nothing(e);
	lpw_sms_at_status_t st;
	lpw_sms_at_get_status(e->at, &st);
	assert_true(st.unexpected >= 6);
	/* a header whose PDU never comes */
	say(e, "\r\n+CMTI: \"SM\",8\r\n");
	exchange(e, "AT+CMGR=8", "\r\n+CMGR: 0,,28\r\nOK\r\n");
	lpw_sms_at_get_status(e->at, &st);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(e->received, 0);
	/* garbling makes the next poll list the storage, in case a +CMTI was lost */
	advance(e, 60000);
	exchange(e, "AT+CSQ", "\r\nOK\r\n");
	exchange(e, "AT+CREG?", "\r\nOK\r\n");
	exchange(e, "AT+CMGL=4", "\r\nOK\r\n");
	expect_nothing(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo_and_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_at_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmti_read_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_pdu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_urc_inside_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cms_error_on_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeouts_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vanish_and_return, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_modem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sim_problems, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noise, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
