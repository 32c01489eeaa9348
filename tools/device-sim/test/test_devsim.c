/* unit_devsim: the device-sim client engine against a fake link and the fake clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "proxy/coap_codec.h"
#include "tools/device-sim/client.h"
#include "tools/device-sim/objects.h"

#define MAX_SENT 64
#define MAX_EVENTS 64

struct sent {
	uint8_t b[1280];
	size_t len;
	int64_t at;
};

struct fixture {
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	lpw_devsim_client_t *c;
	lpw_devsim_config_t cfg;
	struct sent sent[MAX_SENT];
	size_t nsent;
	char *events[MAX_EVENTS];
	size_t nevents;
};

static int fake_send(void *ctx, const uint8_t *data, size_t len)
{
	struct fixture *f = ctx;
	assert_true(f->nsent < MAX_SENT);
	assert_true(len <= sizeof(f->sent[0].b));
	memcpy(f->sent[f->nsent].b, data, len);
	f->sent[f->nsent].len = len;
	f->sent[f->nsent].at = lpw_clock_now_ms(f->clock);
	f->nsent++;
	return 0;
}

static void on_event(void *arg, const char *json)
{
	struct fixture *f = arg;
	if (f->nevents < MAX_EVENTS)
		f->events[f->nevents++] = strdup(json);
}

static bool has_event(struct fixture *f, const char *needle)
{
	for (size_t i = 0; i < f->nevents; i++)
		if (strstr(f->events[i], needle))
			return true;
	return false;
}

static struct fixture *fixture_new(void (*tune)(lpw_devsim_config_t *))
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->clock = lpw_clock_new_fake(1000000);
	f->loop = lpw_loop_new(f->clock);
	lpw_devsim_config_defaults(&f->cfg);
	f->cfg.endpoint = "dev-test";
	f->cfg.binding = "UQ";
	f->cfg.lifetime_s = 300;
	f->cfg.ack_random_factor = 1.0; /* exact schedule */
	f->cfg.seed = 42;
	f->cfg.on_event = on_event;
	f->cfg.event_arg = f;
	if (tune)
		tune(&f->cfg);
	lpw_devsim_link_t link = {.send = fake_send, .fd = -1, .mtu = 1280, .ctx = f};
	f->c = lpw_devsim_client_new(f->loop, &link, &f->cfg);
	assert_non_null(f->c);
	return f;
}

static void fixture_free(struct fixture *f)
{
	lpw_devsim_client_free(f->c);
	lpw_loop_free(f->loop);
	lpw_clock_free(f->clock);
	for (size_t i = 0; i < f->nevents; i++)
		free(f->events[i]);
	free(f);
}

/* Moves the fake clock in 10 ms steps, firing timers as the loop would. */
static void run_for(struct fixture *f, int64_t ms)
{
	for (int64_t t = 0; t < ms; t += 10) {
		assert_int_equal(lpw_clock_advance(f->clock, 10), 0);
		assert_true(lpw_loop_run_once(f->loop, 0) >= 0);
	}
}

static coap_pdu_t *sent_pdu(struct fixture *f, size_t i)
{
	assert_true(i < f->nsent);
	const char *why;
	coap_pdu_t *pdu = lpw_coap_parse_udp(f->sent[i].b, f->sent[i].len, &why);
	if (!pdu)
		fail_msg("sent datagram %zu does not parse: %s", i, why);
	return pdu;
}

static void inject(struct fixture *f, coap_pdu_t *pdu)
{
	uint8_t b[1280];
	ssize_t n = lpw_coap_encode_udp(pdu, b, sizeof(b));
	assert_true(n > 0);
	assert_int_equal(lpw_devsim_client_input(f->c, b, (size_t)n), 0);
	coap_delete_pdu(pdu);
}

/* A server request: CON code path [?query] [payload with cf]. */
static coap_pdu_t *req(coap_pdu_code_t code, uint16_t mid, const char *path, const char *query, int cf,
                       const char *payload)
{
	coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, code, mid, 1024);
	uint8_t tok[2] = {(uint8_t)(mid >> 8), (uint8_t)mid}, b[4];
	assert_true(coap_add_token(pdu, 2, tok));
	char copy[64];
	snprintf(copy, sizeof(copy), "%s", path);
	for (char *seg = strtok(copy, "/"); seg; seg = strtok(NULL, "/"))
		assert_true(coap_add_option(pdu, COAP_OPTION_URI_PATH, strlen(seg), (const uint8_t *)seg));
	if (cf >= 0)
		assert_true(coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(b, 4, (unsigned)cf), b));
	if (query)
		assert_true(coap_add_option(pdu, COAP_OPTION_URI_QUERY, strlen(query), (const uint8_t *)query));
	if (payload)
		assert_true(coap_add_data(pdu, strlen(payload), (const uint8_t *)payload));
	return pdu;
}

/* The reply to the last request: an ACK with mid; returns its code and copies the payload. */
static coap_pdu_code_t reply(struct fixture *f, uint16_t mid, char *payload, size_t cap)
{
	coap_pdu_t *pdu = sent_pdu(f, f->nsent - 1);
	assert_int_equal(coap_pdu_get_type(pdu), COAP_MESSAGE_ACK);
	assert_int_equal(coap_pdu_get_mid(pdu), mid);
	size_t len = 0;
	const uint8_t *data;
	if (payload) {
		payload[0] = '\0';
		if (coap_get_data(pdu, &len, &data) && len < cap) {
			memcpy(payload, data, len);
			payload[len] = '\0';
		}
	}
	coap_pdu_code_t code = coap_pdu_get_code(pdu);
	coap_delete_pdu(pdu);
	return code;
}

static void answer_register(struct fixture *f, size_t i)
{
	coap_pdu_t *r = sent_pdu(f, i);
	coap_pdu_t *a = coap_pdu_init(COAP_MESSAGE_ACK, COAP_RESPONSE_CODE_CREATED, coap_pdu_get_mid(r), 64);
	coap_bin_const_t tok = coap_pdu_get_token(r);
	assert_true(coap_add_token(a, tok.length, tok.s));
	assert_true(coap_add_option(a, COAP_OPTION_LOCATION_PATH, 2, (const uint8_t *)"rd"));
	assert_true(coap_add_option(a, COAP_OPTION_LOCATION_PATH, 1, (const uint8_t *)"7"));
	coap_delete_pdu(r);
	inject(f, a);
}

static struct fixture *registered(void (*tune)(lpw_devsim_config_t *))
{
	struct fixture *f = fixture_new(tune);
	assert_int_equal(lpw_devsim_client_register(f->c), 0);
	answer_register(f, 0);
	assert_true(lpw_devsim_client_registered(f->c));
	assert_string_equal(lpw_devsim_client_location(f->c), "/rd/7");
	assert_true(has_event(f, "{\"event\":\"registered\",\"ep\":\"dev-test\",\"location\":\"/rd/7\"}"));
	f->nsent = 0;
	return f;
}

static void test_register_bytes(void **state)
{
	struct fixture *f = fixture_new(NULL);
	assert_int_equal(lpw_devsim_client_register(f->c), 0);
	assert_int_equal(f->nsent, 1);
	static const uint8_t tail[] = "\xb2rd\x11\x28\x3b" "ep=dev-test\x06lt=300\x09lwm2m=1.1\x04" "b=UQ\xff"
	                              "</>;rt=\"oma.lwm2m\";ct=110,</1/0>,</3/0>,</3303/0>";
	const struct sent *s = &f->sent[0];
	assert_int_equal(s->b[0], 0x44); /* version 1, CON, 4-byte token */
	assert_int_equal(s->b[1], COAP_REQUEST_CODE_POST);
	assert_int_equal(s->len, 8 + sizeof(tail) - 1);
	assert_memory_equal(s->b + 8, tail, sizeof(tail) - 1);
	assert_int_equal(lpw_devsim_client_pending(f->c), 1);
	answer_register(f, 0);
	assert_int_equal(lpw_devsim_client_pending(f->c), 0);
	assert_true(has_event(f, "\"location\":\"/rd/7\""));
	fixture_free(f);
}

/* RFC 7252 §4.2 with ACK_RANDOM_FACTOR 1: 2, 4, 8, 16 s gaps, then give up after 32 s more. */
static void test_retransmission_schedule(void **state)
{
	struct fixture *f = fixture_new(NULL);
	int64_t t0 = lpw_clock_now_ms(f->clock);
	assert_int_equal(lpw_devsim_client_register(f->c), 0);
	run_for(f, 70000);
	assert_int_equal(f->nsent, 5);
	static const int64_t at[] = {0, 2000, 6000, 14000, 30000};
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(f->sent[i].at - t0, at[i]);
		assert_int_equal(f->sent[i].len, f->sent[0].len);
		assert_memory_equal(f->sent[i].b, f->sent[0].b, f->sent[0].len); /* same MID, same bytes */
	}
	assert_true(has_event(f, "register timed out"));
	assert_int_equal(lpw_devsim_client_pending(f->c), 0);
	fixture_free(f);
}

static void jittered(lpw_devsim_config_t *cfg)
{
	cfg->ack_random_factor = 1.5;
}

static void test_retransmission_jitter(void **state)
{
	struct fixture *f = fixture_new(jittered);
	int64_t t0 = lpw_clock_now_ms(f->clock);
	assert_int_equal(lpw_devsim_client_register(f->c), 0);
	run_for(f, 100000);
	assert_int_equal(f->nsent, 5);
	int64_t first = f->sent[1].at - t0;
	assert_in_range(first, 2000, 3000);
	for (size_t i = 2; i < 5; i++) { /* the back-off doubles the initial timeout; the clock moves in 10 ms steps */
		int64_t slack = (10 << (i - 1)) + 10;
		assert_in_range(f->sent[i].at - f->sent[i - 1].at, (first << (i - 1)) - slack, (first << (i - 1)) + slack);
	}
	fixture_free(f);
}

static void no_retransmit(lpw_devsim_config_t *cfg)
{
	cfg->retransmit = false;
}

static void test_no_retransmit(void **state)
{
	struct fixture *f = fixture_new(no_retransmit);
	assert_int_equal(lpw_devsim_client_register(f->c), 0);
	run_for(f, 61000);
	assert_int_equal(f->nsent, 1);
	assert_false(has_event(f, "timed out"));
	run_for(f, 2000); /* MAX_TRANSMIT_WAIT = 2 s * 31 */
	assert_true(has_event(f, "register timed out"));
	fixture_free(f);
}

static void test_get_device(void **state)
{
	struct fixture *f = registered(NULL);
	char p[1024];

	inject(f, req(COAP_REQUEST_CODE_GET, 0x100, "/3/0", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x100, p, sizeof(p)), COAP_RESPONSE_CODE_CONTENT);
	json_error_t err;
	json_t *senml = json_loads(p, 0, &err);
	assert_non_null(senml);
	assert_string_equal(json_string_value(json_object_get(json_array_get(senml, 0), "bn")), "/3/0/");
	assert_string_equal(json_string_value(json_object_get(json_array_get(senml, 0), "vs")), "lpwagw");
	json_decref(senml);
	assert_non_null(strstr(p, "{\"n\":\"2\",\"vs\":\"dev-test\"}"));
	assert_true(has_event(f, "{\"event\":\"request\",\"ep\":\"dev-test\",\"method\":\"GET\",\"path\":\"/3/0\","
	                         "\"code\":\"2.05\"}"));

	inject(f, req(COAP_REQUEST_CODE_GET, 0x101, "/3/0/0", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x101, p, sizeof(p)), COAP_RESPONSE_CODE_CONTENT);
	assert_string_equal(p, "lpwagw");
	inject(f, req(COAP_REQUEST_CODE_GET, 0x102, "/3/0/4", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x102, NULL, 0), COAP_RESPONSE_CODE_NOT_ALLOWED);
	inject(f, req(COAP_REQUEST_CODE_GET, 0x103, "/5/0", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x103, NULL, 0), COAP_RESPONSE_CODE_NOT_FOUND);
	inject(f, req(COAP_REQUEST_CODE_GET, 0x104, "/bs", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x104, NULL, 0), COAP_RESPONSE_CODE_NOT_FOUND);

	/* a duplicate CON is answered with the same bytes, not processed again */
	size_t before = f->nevents, n = f->nsent;
	inject(f, req(COAP_REQUEST_CODE_GET, 0x101, "/3/0/0", NULL, -1, NULL));
	assert_int_equal(f->nsent, n + 1);
	assert_memory_equal(f->sent[n].b, f->sent[1].b, f->sent[1].len);
	assert_int_equal(f->nevents, before);

	/* ping */
	uint8_t ping[] = {0x40, 0x00, 0x12, 0x34};
	assert_int_equal(lpw_devsim_client_input(f->c, ping, sizeof(ping)), 0);
	static const uint8_t rst[] = {0x70, 0x00, 0x12, 0x34};
	assert_int_equal(f->sent[f->nsent - 1].len, 4);
	assert_memory_equal(f->sent[f->nsent - 1].b, rst, 4);

	/* garbage is reported, not answered */
	n = f->nsent;
	uint8_t junk[] = {0x40, 0x01, 0x00};
	assert_int_equal(lpw_devsim_client_input(f->c, junk, sizeof(junk)), -EPROTO);
	assert_int_equal(f->nsent, n);
	assert_true(has_event(f, "malformed datagram: truncated header"));
	fixture_free(f);
}

static void test_write_exec_create_delete(void **state)
{
	struct fixture *f = registered(NULL);
	char p[1024];

	inject(f, req(COAP_REQUEST_CODE_PUT, 0x200, "/3/0/14", NULL, 0, "+02:00"));
	assert_int_equal(reply(f, 0x200, NULL, 0), COAP_RESPONSE_CODE_CHANGED);
	assert_true(has_event(f, "\"event\":\"write\",\"ep\":\"dev-test\",\"path\":\"/3/0/14\",\"value\":\"+02:00\""));
	inject(f, req(COAP_REQUEST_CODE_GET, 0x201, "/3/0/14", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x201, p, sizeof(p)), COAP_RESPONSE_CODE_CONTENT);
	assert_string_equal(p, "+02:00");
	inject(f, req(COAP_REQUEST_CODE_PUT, 0x202, "/3/0", NULL, 110, "[{\"bn\":\"/3/0/\",\"n\":\"13\",\"v\":1700000000}]"));
	assert_int_equal(reply(f, 0x202, NULL, 0), COAP_RESPONSE_CODE_CHANGED);
	inject(f, req(COAP_REQUEST_CODE_GET, 0x203, "/3/0/13", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x203, p, sizeof(p)), COAP_RESPONSE_CODE_CONTENT);
	assert_string_equal(p, "1700000000");
	inject(f, req(COAP_REQUEST_CODE_PUT, 0x204, "/3/0/0", NULL, 0, "evil"));
	assert_int_equal(reply(f, 0x204, NULL, 0), COAP_RESPONSE_CODE_NOT_ALLOWED);
	inject(f, req(COAP_REQUEST_CODE_PUT, 0x205, "/3/0/13", NULL, 0, "12x"));
	assert_int_equal(reply(f, 0x205, NULL, 0), COAP_RESPONSE_CODE_BAD_REQUEST);
	inject(f, req(COAP_REQUEST_CODE_PUT, 0x206, "/3/0", NULL, 110, "[{\"n\":\"13\""));
	assert_int_equal(reply(f, 0x206, NULL, 0), COAP_RESPONSE_CODE_BAD_REQUEST);

	inject(f, req(COAP_REQUEST_CODE_POST, 0x210, "/3/0/4", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x210, NULL, 0), COAP_RESPONSE_CODE_CHANGED);
	assert_true(has_event(f, "{\"event\":\"exec\",\"ep\":\"dev-test\",\"path\":\"/3/0/4\"}"));
	inject(f, req(COAP_REQUEST_CODE_POST, 0x211, "/3/0/0", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x211, NULL, 0), COAP_RESPONSE_CODE_NOT_ALLOWED);

	inject(f, req(COAP_REQUEST_CODE_POST, 0x220, "/3303", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x220, NULL, 0), COAP_RESPONSE_CODE_CREATED);
	coap_pdu_t *r = sent_pdu(f, f->nsent - 1);
	char line[128];
	assert_non_null(strstr(lpw_coap_describe(r, line, sizeof(line)), "loc=/3303 loc=/1"));
	coap_delete_pdu(r);
	inject(f, req(COAP_REQUEST_CODE_GET, 0x221, "/3303/1/5701", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x221, p, sizeof(p)), COAP_RESPONSE_CODE_CONTENT);
	assert_string_equal(p, "Cel");
	inject(f, req(COAP_REQUEST_CODE_DELETE, 0x222, "/3303/1", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x222, NULL, 0), COAP_RESPONSE_CODE_DELETED);
	inject(f, req(COAP_REQUEST_CODE_GET, 0x223, "/3303/1", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x223, NULL, 0), COAP_RESPONSE_CODE_NOT_FOUND);
	inject(f, req(COAP_REQUEST_CODE_DELETE, 0x224, "/3/0", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x224, NULL, 0), COAP_RESPONSE_CODE_NOT_ALLOWED);
	inject(f, req(COAP_REQUEST_CODE_POST, 0x225, "/3", NULL, -1, NULL));
	assert_int_equal(reply(f, 0x225, NULL, 0), COAP_RESPONSE_CODE_NOT_ALLOWED);

	/* Discover */
	coap_pdu_t *d = req(COAP_REQUEST_CODE_GET, 0x230, "/3303/0", NULL, -1, NULL);
	uint8_t b[2];
	assert_true(coap_add_option(d, COAP_OPTION_ACCEPT, coap_encode_var_safe(b, 2, 40), b));
	inject(f, d);
	assert_int_equal(reply(f, 0x230, p, sizeof(p)), COAP_RESPONSE_CODE_CONTENT);
	assert_string_equal(p, "</3303/0>,</3303/0/5601>,</3303/0/5602>,</3303/0/5700>,</3303/0/5701>");
	fixture_free(f);
}

static coap_pdu_t *observe_req(uint16_t mid, const char *path, unsigned int obs)
{
	coap_pdu_t *pdu = req(COAP_REQUEST_CODE_GET, mid, path, NULL, -1, NULL);
	uint8_t b[1];
	assert_true(coap_add_option(pdu, COAP_OPTION_OBSERVE, coap_encode_var_safe(b, 1, obs), b));
	return pdu;
}

static int64_t observe_value(coap_pdu_t *pdu)
{
	coap_opt_iterator_t it;
	coap_opt_t *o = coap_check_option(pdu, COAP_OPTION_OBSERVE, &it);
	return o ? (int64_t)coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)) : -1;
}

static void send_empty(struct fixture *f, coap_pdu_type_t type, coap_mid_t mid)
{
	inject(f, coap_pdu_init(type, COAP_EMPTY_CODE, mid, 4));
}

static void test_observe_notify_rst(void **state)
{
	struct fixture *f = registered(NULL);
	char first[64], second[64];

	inject(f, observe_req(0x300, "/3303/0/5700", 0));
	coap_pdu_t *r = sent_pdu(f, 0);
	assert_int_equal(coap_pdu_get_code(r), COAP_RESPONSE_CODE_CONTENT);
	int64_t seq0 = observe_value(r);
	assert_true(seq0 >= 0);
	coap_delete_pdu(r);
	assert_int_equal(lpw_devsim_client_observations(f->c), 1);

	run_for(f, 1990);
	assert_int_equal(f->nsent, 1); /* nothing before the 2 s interval */
	run_for(f, 20);
	assert_int_equal(f->nsent, 2);
	coap_pdu_t *n1 = sent_pdu(f, 1);
	assert_int_equal(coap_pdu_get_type(n1), COAP_MESSAGE_CON);
	assert_int_equal(coap_pdu_get_code(n1), COAP_RESPONSE_CODE_CONTENT);
	coap_bin_const_t tok = coap_pdu_get_token(n1);
	assert_int_equal(tok.length, 2);
	assert_memory_equal(tok.s, "\x03\x00", 2);
	assert_true(observe_value(n1) > seq0);
	size_t len;
	const uint8_t *data;
	assert_true(coap_get_data(n1, &len, &data));
	snprintf(first, sizeof(first), "%.*s", (int)len, data);
	send_empty(f, COAP_MESSAGE_ACK, coap_pdu_get_mid(n1));
	assert_int_equal(lpw_devsim_client_pending(f->c), 0);
	assert_true(has_event(f, "{\"event\":\"notify\",\"ep\":\"dev-test\",\"path\":\"/3303/0/5700\",\"observe\":"));

	run_for(f, 2000);
	assert_int_equal(f->nsent, 3);
	coap_pdu_t *n2 = sent_pdu(f, 2);
	assert_true(observe_value(n2) > observe_value(n1));
	assert_true(coap_get_data(n2, &len, &data));
	snprintf(second, sizeof(second), "%.*s", (int)len, data);
	assert_string_not_equal(first, second); /* the sensor moves on every notification */

	send_empty(f, COAP_MESSAGE_RST, coap_pdu_get_mid(n2));
	assert_true(has_event(f, "{\"event\":\"observe-cancelled\",\"ep\":\"dev-test\",\"path\":\"/3303/0/5700\","
	                         "\"how\":\"rst\"}"));
	assert_int_equal(lpw_devsim_client_observations(f->c), 0);
	assert_int_equal(lpw_devsim_client_pending(f->c), 0);
	run_for(f, 10000);
	assert_int_equal(f->nsent, 3);
	coap_delete_pdu(n1);
	coap_delete_pdu(n2);
	fixture_free(f);
}

static void mixed(lpw_devsim_config_t *cfg)
{
	cfg->notify_type = LPW_DEVSIM_NOTIFY_MIXED;
}

static void test_observe_pmax_mixed_cancel(void **state)
{
	struct fixture *f = registered(mixed);
	inject(f, req(COAP_REQUEST_CODE_PUT, 0x400, "/3303/0/5700", "pmax=5", -1, NULL));
	assert_int_equal(reply(f, 0x400, NULL, 0), COAP_RESPONSE_CODE_CHANGED);
	inject(f, req(COAP_REQUEST_CODE_PUT, 0x401, "/3303/0/5700", "bogus=1", -1, NULL));
	assert_int_equal(reply(f, 0x401, NULL, 0), COAP_RESPONSE_CODE_BAD_REQUEST);
	inject(f, observe_req(0x402, "/3303/0/5700", 0));
	size_t base = f->nsent;
	run_for(f, 4990);
	assert_int_equal(f->nsent, base); /* pmax 5 s, not the 2 s default */
	run_for(f, 20);
	assert_int_equal(f->nsent, base + 1);
	coap_pdu_t *n = sent_pdu(f, base);
	assert_int_equal(coap_pdu_get_type(n), COAP_MESSAGE_NON); /* mixed: NON first */
	coap_delete_pdu(n);
	run_for(f, 5000);
	n = sent_pdu(f, base + 1);
	assert_int_equal(coap_pdu_get_type(n), COAP_MESSAGE_CON); /* then CON */
	send_empty(f, COAP_MESSAGE_ACK, coap_pdu_get_mid(n));
	coap_delete_pdu(n);

	inject(f, observe_req(0x403, "/3303/0/5700", 1)); /* a different token: does not cancel */
	assert_int_equal(lpw_devsim_client_observations(f->c), 1);
	/* the observation's own token (0x0402, from its request's MID) with Observe 1 cancels */
	coap_pdu_t *cancel = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, 0x404, 64);
	assert_true(coap_add_token(cancel, 2, (const uint8_t *)"\x04\x02"));
	assert_true(coap_add_option(cancel, COAP_OPTION_OBSERVE, 1, (const uint8_t *)"\x01"));
	assert_true(coap_add_option(cancel, COAP_OPTION_URI_PATH, 4, (const uint8_t *)"3303"));
	assert_true(coap_add_option(cancel, COAP_OPTION_URI_PATH, 1, (const uint8_t *)"0"));
	assert_true(coap_add_option(cancel, COAP_OPTION_URI_PATH, 4, (const uint8_t *)"5700"));
	inject(f, cancel);
	assert_true(has_event(f, "\"how\":\"get\""));
	assert_int_equal(lpw_devsim_client_observations(f->c), 0);
	fixture_free(f);
}

static void test_update_404_registers_again(void **state)
{
	struct fixture *f = registered(NULL);
	assert_int_equal(lpw_devsim_client_update(f->c), 0);
	coap_pdu_t *u = sent_pdu(f, 0);
	char line[128];
	assert_non_null(strstr(lpw_coap_describe(u, line, sizeof(line)), "CON POST"));
	assert_non_null(strstr(line, " /rd/7"));
	coap_pdu_t *a = coap_pdu_init(COAP_MESSAGE_ACK, COAP_RESPONSE_CODE_NOT_FOUND, coap_pdu_get_mid(u), 16);
	coap_bin_const_t tok = coap_pdu_get_token(u);
	assert_true(coap_add_token(a, tok.length, tok.s));
	coap_delete_pdu(u);
	inject(f, a);
	assert_false(lpw_devsim_client_registered(f->c));
	assert_int_equal(f->nsent, 2);
	coap_pdu_t *r = sent_pdu(f, 1);
	assert_non_null(strstr(lpw_coap_describe(r, line, sizeof(line)), "/rd?ep=dev-test"));
	coap_delete_pdu(r);
	answer_register(f, 1);
	assert_true(lpw_devsim_client_registered(f->c));

	/* the periodic Update comes at 90 % of the lifetime */
	f->nsent = 0;
	run_for(f, 269990);
	assert_int_equal(f->nsent, 0);
	run_for(f, 20);
	assert_int_equal(f->nsent, 1);

	/* asleep, nothing is answered; waking sends an Update */
	lpw_devsim_client_sleep(f->c);
	size_t n = f->nsent;
	inject(f, req(COAP_REQUEST_CODE_GET, 0x500, "/3/0/0", NULL, -1, NULL));
	assert_int_equal(f->nsent, n);
	assert_int_equal(lpw_devsim_client_wake(f->c), 0);
	assert_int_equal(f->nsent, n + 1);

	assert_int_equal(lpw_devsim_client_deregister(f->c), 0);
	coap_pdu_t *d = sent_pdu(f, f->nsent - 1);
	assert_int_equal(coap_pdu_get_code(d), COAP_REQUEST_CODE_DELETE);
	coap_delete_pdu(d);
	fixture_free(f);
}

static void with_firmware(lpw_devsim_config_t *cfg)
{
	cfg->firmware = true;
}

/* One Block1 block of a PUT to /5/0/0 (opaque), Request-Tag 0x77, block size 16 << szx. */
static coap_pdu_t *block_req(uint16_t mid, uint32_t num, bool more, unsigned int szx, const uint8_t *data, size_t len)
{
	coap_pdu_t *pdu = req(COAP_REQUEST_CODE_PUT, mid, "/5/0/0", NULL, LPW_CF_OPAQUE, NULL);
	uint8_t b[4], tag = 0x77;
	assert_true(coap_add_option(pdu, COAP_OPTION_BLOCK1, coap_encode_var_safe(b, 4, num << 4 | (more ? 8u : 0) | szx),
	                            b));
	assert_true(coap_add_option(pdu, 292, 1, &tag));
	assert_true(coap_add_data(pdu, len, data));
	return pdu;
}

static unsigned int reply_block1(struct fixture *f)
{
	coap_pdu_t *pdu = sent_pdu(f, f->nsent - 1);
	coap_opt_iterator_t it;
	coap_opt_t *o = coap_check_option(pdu, COAP_OPTION_BLOCK1, &it);
	unsigned int v = o ? coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)) : 0xffffffffu;
	coap_delete_pdu(pdu);
	return v;
}

/* RFC 7959 Block1: 2.31 per block with Block1 echoed, the whole body applied at the last block; a block out of
 * order is 4.08, more than 64 KiB is 4.13 with Size1. */
static void test_block1_reassembly(void **state)
{
	struct fixture *f = registered(with_firmware);
	uint8_t body[100];
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i % 251);

	inject(f, block_req(0x500, 0, true, 1, body, 32));
	assert_int_equal(reply(f, 0x500, NULL, 0), COAP_RESPONSE_CODE_CONTINUE);
	assert_int_equal(reply_block1(f), 0 << 4 | 8 | 1);
	inject(f, block_req(0x501, 1, true, 1, body + 32, 32));
	assert_int_equal(reply(f, 0x501, NULL, 0), COAP_RESPONSE_CODE_CONTINUE);
	inject(f, block_req(0x502, 2, true, 1, body + 64, 32));
	assert_int_equal(reply(f, 0x502, NULL, 0), COAP_RESPONSE_CODE_CONTINUE);
	assert_false(has_event(f, "\"event\":\"write\""));
	inject(f, block_req(0x503, 3, false, 1, body + 96, 4));
	assert_int_equal(reply(f, 0x503, NULL, 0), COAP_RESPONSE_CODE_CHANGED);
	assert_int_equal(reply_block1(f), 3 << 4 | 1);
	/* sha256 of bytes 0..99 */
	assert_true(has_event(f, "\"path\":\"/5/0/0\",\"size\":100,\"sha256\":"
	                         "\"bce0aff19cf5aa6a7469a30d61d04e4376e4bbf6381052ee9e7f33925c954d52\""));

	inject(f, block_req(0x510, 0, true, 1, body, 32));
	assert_int_equal(reply(f, 0x510, NULL, 0), COAP_RESPONSE_CODE_CONTINUE);
	inject(f, block_req(0x511, 2, true, 1, body, 32)); /* block 1 is missing */
	assert_int_equal(reply(f, 0x511, NULL, 0), COAP_RESPONSE_CODE_INCOMPLETE);
	inject(f, block_req(0x512, 1, true, 1, body, 32)); /* the upload was dropped */
	assert_int_equal(reply(f, 0x512, NULL, 0), COAP_RESPONSE_CODE_INCOMPLETE);
	inject(f, block_req(0x513, 1, false, 1, body, 32)); /* a last block nobody started */
	assert_int_equal(reply(f, 0x513, NULL, 0), COAP_RESPONSE_CODE_INCOMPLETE);

	/* block 4096 of 16 bytes starts at 64 KiB */
	inject(f, block_req(0x520, 0, true, 0, body, 16));
	assert_int_equal(reply(f, 0x520, NULL, 0), COAP_RESPONSE_CODE_CONTINUE);
	inject(f, block_req(0x521, 4096, true, 0, body, 16));
	coap_pdu_t *r = sent_pdu(f, f->nsent - 1);
	assert_int_equal(coap_pdu_get_code(r), COAP_RESPONSE_CODE_REQUEST_TOO_LARGE);
	coap_opt_iterator_t it;
	coap_opt_t *o = coap_check_option(r, COAP_OPTION_SIZE1, &it);
	assert_non_null(o);
	assert_int_equal(coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)), 65536);
	coap_delete_pdu(r);
	/* a short block that is not the last is malformed */
	inject(f, block_req(0x530, 0, true, 1, body, 10));
	assert_int_equal(reply(f, 0x530, NULL, 0), COAP_RESPONSE_CODE_BAD_REQUEST);
	fixture_free(f);
}

/* Read-Composite (FETCH) and Write-Composite (iPATCH) with SenML JSON. */
static void test_composite(void **state)
{
	struct fixture *f = registered(NULL);
	char p[1024];
	coap_pdu_t *q = req(COAP_REQUEST_CODE_FETCH, 0x600, "/", NULL, LPW_CF_SENML_JSON,
	                    "[{\"n\":\"/3/0/0\"},{\"n\":\"/3/0/14\"}]");
	inject(f, q);
	assert_int_equal(reply(f, 0x600, p, sizeof(p)), COAP_RESPONSE_CODE_CONTENT);
	json_error_t err;
	json_t *recs = json_loads(p, 0, &err);
	assert_int_equal(json_array_size(recs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "bn")), "/3/0/0");
	assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "vs")), "lpwagw");
	assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 1), "bn")), "/3/0/14");
	assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 1), "vs")), "+00:00");
	json_decref(recs);
	inject(f, req(COAP_REQUEST_CODE_FETCH, 0x601, "/", NULL, LPW_CF_SENML_JSON, "[{\"n\":\"/3/0/99\"}]"));
	assert_int_equal(reply(f, 0x601, NULL, 0), COAP_RESPONSE_CODE_NOT_FOUND);
	inject(f, req(COAP_REQUEST_CODE_FETCH, 0x602, "/", NULL, LPW_CF_SENML_JSON, "[{\"x\":1}"));
	assert_int_equal(reply(f, 0x602, NULL, 0), COAP_RESPONSE_CODE_BAD_REQUEST);
	inject(f, req(COAP_REQUEST_CODE_FETCH, 0x603, "/", NULL, 112, "\x81"));
	assert_int_equal(reply(f, 0x603, NULL, 0), COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT);

	inject(f, req(COAP_REQUEST_CODE_IPATCH, 0x610, "/", NULL, LPW_CF_SENML_JSON,
	              "[{\"n\":\"/3/0/14\",\"vs\":\"+02:00\"},{\"n\":\"/1/0/1\",\"v\":120}]"));
	assert_int_equal(reply(f, 0x610, NULL, 0), COAP_RESPONSE_CODE_CHANGED);
	assert_true(has_event(f, "{\"event\":\"write\",\"ep\":\"dev-test\",\"path\":\"/3/0/14\",\"value\":\"+02:00\"}"));
	assert_true(has_event(f, "\"path\":\"/1/0/1\",\"value\":\"120\""));
	/* all or nothing: a read-only resource in the batch refuses the whole write */
	inject(f, req(COAP_REQUEST_CODE_IPATCH, 0x611, "/", NULL, LPW_CF_SENML_JSON,
	              "[{\"n\":\"/3/0/14\",\"vs\":\"+05:00\"},{\"n\":\"/3/0/0\",\"vs\":\"x\"}]"));
	assert_int_equal(reply(f, 0x611, NULL, 0), COAP_RESPONSE_CODE_NOT_ALLOWED);
	assert_false(has_event(f, "+05:00"));
	fixture_free(f);
}

int main(void)
{
	coap_startup();
	coap_set_log_level(LOG_EMERG);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_bytes),
		cmocka_unit_test(test_retransmission_schedule),
		cmocka_unit_test(test_retransmission_jitter),
		cmocka_unit_test(test_no_retransmit),
		cmocka_unit_test(test_get_device),
		cmocka_unit_test(test_write_exec_create_delete),
		cmocka_unit_test(test_observe_notify_rst),
		cmocka_unit_test(test_observe_pmax_mixed_cancel),
		cmocka_unit_test(test_update_404_registers_again),
		cmocka_unit_test(test_block1_reassembly),
		cmocka_unit_test(test_composite),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	coap_cleanup();
	return rc;
}
