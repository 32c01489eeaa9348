/* Unit tests for proxy/coap_codec: byte-exact round trips, the malformed-input catalogue, buffer limits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/coap_codec.h"

/* A test-side option writer following RFC 7252 §3.1 by hand, so the codec is not checked against itself. */
struct msg {
	uint8_t b[2048];
	size_t len;
	unsigned int last;
};

static void msg_start(struct msg *m, unsigned int type, unsigned int code, unsigned int mid, const char *tok, size_t tkl)
{
	m->b[0] = (uint8_t)(0x40 | type << 4 | tkl);
	m->b[1] = (uint8_t)code;
	m->b[2] = (uint8_t)(mid >> 8);
	m->b[3] = (uint8_t)mid;
	memcpy(m->b + 4, tok, tkl);
	m->len = 4 + tkl;
	m->last = 0;
}

static unsigned int nibble(unsigned int v, uint8_t *ext, size_t *n)
{
	if (v < 13)
		return v;
	if (v < 269) {
		ext[(*n)++] = (uint8_t)(v - 13);
		return 13;
	}
	ext[(*n)++] = (uint8_t)((v - 269) >> 8);
	ext[(*n)++] = (uint8_t)(v - 269);
	return 14;
}

static void msg_opt(struct msg *m, unsigned int number, const void *val, size_t len)
{
	uint8_t ext[4];
	size_t n = 0;
	unsigned int d = nibble(number - m->last, ext, &n);
	unsigned int l = nibble((unsigned int)len, ext, &n);
	m->b[m->len++] = (uint8_t)(d << 4 | l);
	memcpy(m->b + m->len, ext, n);
	m->len += n;
	memcpy(m->b + m->len, val, len);
	m->len += len;
	m->last = number;
}

static void msg_str(struct msg *m, unsigned int number, const char *s)
{
	msg_opt(m, number, s, strlen(s));
}

static void msg_payload(struct msg *m, const void *p, size_t len)
{
	m->b[m->len++] = 0xff;
	memcpy(m->b + m->len, p, len);
	m->len += len;
}

static void assert_round_trip(const uint8_t *data, size_t len)
{
	const char *why = "unset";
	coap_pdu_t *pdu = lpw_coap_parse_udp(data, len, &why);
	if (!pdu)
		fail_msg("rejected: %s", why);
	assert_null(why);
	uint8_t out[2048];
	ssize_t n = lpw_coap_encode_udp(pdu, out, sizeof(out));
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(out, data, len);
	/* exactly enough room works, one byte less does not */
	assert_int_equal(lpw_coap_encode_udp(pdu, out, len), (ssize_t)len);
	if (len > 4)
		assert_int_equal(lpw_coap_encode_udp(pdu, out, len - 1), -ENOSPC);
	coap_delete_pdu(pdu);
}

static const char register_payload[] = "</>;rt=\"oma.lwm2m\";ct=110,</1/0>,</3/0>,</3303/0>";

static void build_register(struct msg *m)
{
	msg_start(m, COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, 0x1234, "\xa1\xb2\xc3\xd4", 4);
	msg_str(m, COAP_OPTION_URI_PATH, "rd");
	msg_opt(m, COAP_OPTION_CONTENT_FORMAT, "\x28", 1);
	msg_str(m, COAP_OPTION_URI_QUERY, "ep=dev-1");
	msg_str(m, COAP_OPTION_URI_QUERY, "lt=300");
	msg_str(m, COAP_OPTION_URI_QUERY, "lwm2m=1.1");
	msg_str(m, COAP_OPTION_URI_QUERY, "b=UQ");
	msg_payload(m, register_payload, strlen(register_payload));
}

static void test_register_round_trip(void **state)
{
	struct msg m;
	build_register(&m);
	assert_round_trip(m.b, m.len);

	/* and what libcoap sees in it */
	coap_pdu_t *pdu = lpw_coap_parse_udp(m.b, m.len, NULL);
	assert_non_null(pdu);
	assert_int_equal(coap_pdu_get_code(pdu), COAP_REQUEST_CODE_POST);
	assert_int_equal(coap_pdu_get_mid(pdu), 0x1234);
	size_t plen;
	const uint8_t *p;
	assert_true(coap_get_data(pdu, &plen, &p));
	assert_int_equal(plen, strlen(register_payload));
	assert_memory_equal(p, register_payload, plen);
	char line[128];
	assert_string_equal(lpw_coap_describe(pdu, line, sizeof(line)),
	                    "CON POST mid=0x1234 tok=a1b2c3d4 /rd?ep=dev-1&lt=300&lwm2m=1.1&b=UQ cf=40 len=49");
	coap_delete_pdu(pdu);
}

static void test_empty_ack_rst_ping(void **state)
{
	static const uint8_t ack[] = {0x60, 0x00, 0xbe, 0xef};
	static const uint8_t rst[] = {0x70, 0x00, 0x00, 0x07};
	static const uint8_t ping[] = {0x40, 0x00, 0xff, 0xff};
	assert_round_trip(ack, sizeof(ack));
	assert_round_trip(rst, sizeof(rst));
	assert_round_trip(ping, sizeof(ping));
}

static void test_piggybacked_content(void **state)
{
	struct msg m;
	msg_start(&m, COAP_MESSAGE_ACK, COAP_RESPONSE_CODE_CONTENT, 0x0102, "\xab\x12", 2);
	msg_opt(&m, COAP_OPTION_OBSERVE, "\x05", 1);
	msg_opt(&m, COAP_OPTION_CONTENT_FORMAT, "", 0); /* text/plain encodes as a zero-length uint */
	msg_payload(&m, "lpwagw", 6);
	assert_round_trip(m.b, m.len);
	coap_pdu_t *pdu = lpw_coap_parse_udp(m.b, m.len, NULL);
	char line[128];
	assert_string_equal(lpw_coap_describe(pdu, line, sizeof(line)), "ACK 2.05 mid=0x0102 tok=ab12 obs=5 cf=0 len=6");
	coap_delete_pdu(pdu);
}

/* The options the gateway carries blindly, with every extended delta/length form. */
static void test_blind_options_extended(void **state)
{
	uint8_t big[300];
	memset(big, 0x5a, sizeof(big));
	struct msg m;
	msg_start(&m, COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, 0x0001, "\x01", 1);
	msg_opt(&m, COAP_OPTION_OSCORE, "", 0);            /* zero-length OSCORE: must not vanish */
	msg_opt(&m, COAP_OPTION_HOP_LIMIT, "\x10", 1);     /* delta 7 */
	msg_opt(&m, COAP_OPTION_ECHO, "\x01\x02\x03\x04", 4); /* delta 236: 13-form */
	msg_opt(&m, COAP_OPTION_NORESPONSE, "\x1a", 1);    /* delta 6 */
	msg_opt(&m, COAP_OPTION_RTAG, "\x99", 1);          /* delta 34: 13-form */
	msg_opt(&m, 2049, big, sizeof(big));               /* delta 1757 and length 300: 14-forms */
	msg_opt(&m, 2050, big, 20);                        /* length 20: 13-form */
	msg_opt(&m, 65535, "x", 1);                        /* the highest number there is */
	msg_payload(&m, "\x00\x01\x02", 3);
	assert_int_equal(m.b[5], 0x90);                     /* checks the test's own encoder too */
	assert_round_trip(m.b, m.len);

	/* a non-empty OSCORE option with a ciphertext payload, as a device sends it */
	msg_start(&m, COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, 0x0002, "\x07\x08", 2);
	msg_opt(&m, COAP_OPTION_OSCORE, "\x09\x2a\x01", 3);
	msg_opt(&m, COAP_OPTION_ECHO, "", 0);
	msg_payload(&m, "\xde\xad\xbe\xef\x00\x11", 6);
	assert_round_trip(m.b, m.len);
	coap_pdu_t *pdu = lpw_coap_parse_udp(m.b, m.len, NULL);
	char line[128];
	assert_string_equal(lpw_coap_describe(pdu, line, sizeof(line)), "CON POST mid=0x0002 tok=0708 oscore len=6");
	coap_delete_pdu(pdu);
}

/* A PDU built with libcoap's own constructors encodes to the bytes RFC 7252 prescribes. */
static void test_encode_built_pdu(void **state)
{
	coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, 0x1234, 256);
	assert_non_null(pdu);
	assert_true(coap_add_token(pdu, 2, (const uint8_t *)"\xab\x12"));
	assert_true(coap_add_option(pdu, COAP_OPTION_URI_PATH, 1, (const uint8_t *)"3"));
	assert_true(coap_add_option(pdu, COAP_OPTION_URI_PATH, 1, (const uint8_t *)"0"));
	static const uint8_t want[] = {0x42, 0x01, 0x12, 0x34, 0xab, 0x12, 0xb1, '3', 0x01, '0'};
	uint8_t out[64];
	assert_int_equal(lpw_coap_encode_udp(pdu, out, sizeof(out)), sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	char line[64];
	assert_string_equal(lpw_coap_describe(pdu, line, sizeof(line)), "CON GET mid=0x1234 tok=ab12 /3/0");
	/* truncation is safe and terminated */
	assert_string_equal(lpw_coap_describe(pdu, line, 8), "CON GET");
	assert_int_equal(lpw_coap_encode_udp(pdu, out, 5), -ENOSPC);
	assert_int_equal(lpw_coap_encode_udp(pdu, out, 0), -ENOSPC);
	assert_int_equal(lpw_coap_encode_udp(NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(lpw_coap_encode_udp(pdu, NULL, 0), -EINVAL);
	coap_delete_pdu(pdu);

	/* an Empty message with a token cannot be framed */
	pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_EMPTY_CODE, 1, 16);
	assert_true(coap_add_token(pdu, 1, (const uint8_t *)"x"));
	assert_int_equal(lpw_coap_encode_udp(pdu, out, sizeof(out)), -EINVAL);
	coap_delete_pdu(pdu);
}

struct bad {
	const char *bytes;
	size_t len;
	const char *why;
};

#define BAD(lit, reason) {lit, sizeof(lit) - 1, reason}

static void test_malformed_catalogue(void **state)
{
	static const struct bad cases[] = {
		BAD("", "truncated header"),
		BAD("\x40\x01\x00", "truncated header"),
		BAD("\x80\x01\x00\x01", "bad version"),
		BAD("\x00\x01\x00\x01", "bad version"),
		BAD("\x49\x01\x00\x01\x01\x02\x03\x04\x05\x06\x07\x08\x09", "token length 9..15 is reserved"),
		BAD("\x4f\x01\x00\x01", "token length 9..15 is reserved"),
		BAD("\x44\x01\x00\x01\xaa\xbb", "token overruns message"),
		BAD("\x40\x20\x00\x01", "reserved code class"),
		BAD("\x40\xc0\x00\x01", "reserved code class"),
		BAD("\x40\xe1\x00\x01", "reserved code class"),
		BAD("\x41\x00\x00\x01\xaa", "empty message carries a token"),
		BAD("\x40\x00\x00\x01\xb1\x61", "empty message carries options or payload"),
		BAD("\x60\x00\x00\x01\xff\x61", "empty message carries options or payload"),
		BAD("\x50\x00\x00\x01", "NON must not be empty"),
		BAD("\x60\x01\x00\x01", "ACK carries a request"),
		BAD("\x70\x45\x00\x01", "RST must be empty"),
		BAD("\x40\x01\x00\x01\xf0", "option delta 15 is reserved"),
		BAD("\x40\x01\x00\x01\x1f", "option length 15 is reserved"),
		BAD("\x40\x01\x00\x01\xd0", "options overrun"),
		BAD("\x40\x01\x00\x01\xe0\x01", "options overrun"),
		BAD("\x40\x01\x00\x01\x1d", "options overrun"),
		BAD("\x40\x01\x00\x01\x1e\x00", "options overrun"),
		/* 269 + 0xfeff = 65548: libcoap 4.3.1 alone wraps this to option 12 and accepts it */
		BAD("\x40\x01\x00\x01\xe0\xfe\xff", "option number above 65535"),
		BAD("\x40\x01\x00\x01\xe0\xff\xff\x10\x00", "option number above 65535"),
		BAD("\x40\x01\x00\x01\xb3\x61\x62", "option value overruns message"),
		BAD("\x40\x01\x00\x01\x1d\x05\x61", "option value overruns message"),
		BAD("\x40\x01\x00\x01\xff", "payload marker with empty payload"),
		BAD("\x40\x01\x00\x01\xb2rd\xff", "payload marker with empty payload"),
		/* lengths libcoap refuses for known options */
		BAD("\x40\x01\x00\x01\xd2\x03\x01\x02", "option value length out of range"), /* Hop-Limit of 2 bytes */
		BAD("\x40\x01\x00\x01\xc3\x01\x02\x03", "option value length out of range"), /* Content-Format 3 bytes */
		BAD("\x40\x01\x00\x01\xf1\x00", "option delta 15 is reserved"),
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		coap_pdu_t *pdu = lpw_coap_parse_udp((const uint8_t *)cases[i].bytes, cases[i].len, &why);
		if (pdu) {
			coap_delete_pdu(pdu);
			fail_msg("case %zu accepted, expected '%s'", i, cases[i].why);
		}
		if (!why || strcmp(why, cases[i].why) != 0)
			fail_msg("case %zu: got '%s', expected '%s'", i, why ? why : "(null)", cases[i].why);
	}
	const char *why = NULL;
	assert_null(lpw_coap_parse_udp(NULL, 4, &why));
	assert_string_equal(why, "truncated header");
	assert_null(lpw_coap_parse_udp(NULL, 0, NULL)); /* out_reason may be NULL */
}

/* Every prefix of a valid message is either rejected with a reason or a valid shorter message; never a crash. */
static void test_truncations(void **state)
{
	struct msg m;
	build_register(&m);
	for (size_t len = 0; len < m.len; len++) {
		const char *why = NULL;
		coap_pdu_t *pdu = lpw_coap_parse_udp(m.b, len, &why);
		if (pdu) {
			assert_round_trip(m.b, len);
			coap_delete_pdu(pdu);
		} else {
			assert_non_null(why);
		}
	}
}

int main(void)
{
	coap_startup();
	coap_set_log_level(LOG_EMERG); /* libcoap logs every bad option length it sees */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_round_trip),
		cmocka_unit_test(test_empty_ack_rst_ping),
		cmocka_unit_test(test_piggybacked_content),
		cmocka_unit_test(test_blind_options_extended),
		cmocka_unit_test(test_encode_built_pdu),
		cmocka_unit_test(test_malformed_catalogue),
		cmocka_unit_test(test_truncations),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	coap_cleanup();
	return rc;
}
