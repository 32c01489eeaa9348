/* Packet-forwarder datagrams: PROTOCOL.TXT's own examples, a catalogue of malformed datagrams each rejected with its
 * reason, and builder output parsed back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hal/pktfwd.h"

#define EUI 0xAA555A0000000101ULL

static lpw_pktfwd_msg_t msg; /* static: about 11 KiB */
static uint8_t buf[70000];

/* Header (version 2, token 0x1234, kind, EUI where the kind has one) followed by body. */
static size_t mk(uint8_t kind, const char *body)
{
	size_t n = 0;
	buf[n++] = 2;
	buf[n++] = 0x12;
	buf[n++] = 0x34;
	buf[n++] = kind;
	if (kind == 0 || kind == 2 || kind == 5)
		for (int i = 0; i < 8; i++)
			buf[n++] = (uint8_t)(EUI >> (56 - 8 * i));
	size_t bl = strlen(body);
	memcpy(buf + n, body, bl);
	return n + bl;
}

static int parse(size_t n, char *why)
{
	return lpw_pktfwd_parse(buf, n, &msg, why, 256);
}

/* PROTOCOL.TXT §4, rxpk example: its 2nd (FSK) and 3rd (LoRa) entries, verbatim. */
static const char rxpk_fsk[] = "{\"time\":\"2013-03-31T16:21:17.530974Z\",\"tmst\":3512348514,\"chan\":9,\"rfch\":1,"
			       "\"freq\":869.1,\"stat\":1,\"modu\":\"FSK\",\"datr\":50000,\"rssi\":-75,\"size\":16,"
			       "\"data\":\"VEVTVF9QQUNLRVRfMTIzNA==\"}";
static const char rxpk_lora[] = "{\"time\":\"2013-03-31T16:21:17.532038Z\",\"tmst\":3316387610,\"chan\":0,\"rfch\":0,"
				"\"freq\":863.00981,\"stat\":1,\"modu\":\"LORA\",\"datr\":\"SF10BW125\",\"codr\":\"4/7\","
				"\"rssi\":-38,\"lsnr\":5.5,\"size\":32,\"data\":\"ysgRl452xNLep9S1NTIg2lomKDxUgn3DJ7DE+b00Ass\"}";
/* Its 1st entry: the data has '-', which is not in the base64 alphabet the forwarder uses. */
static const char rxpk_doc_bad[] = "{\"time\":\"2013-03-31T16:21:17.528002Z\",\"tmst\":3512348611,\"chan\":2,\"rfch\":0,"
				   "\"freq\":866.349812,\"stat\":1,\"modu\":\"LORA\",\"datr\":\"SF7BW125\",\"codr\":\"4/6\","
				   "\"rssi\":-35,\"lsnr\":5.1,\"size\":32,"
				   "\"data\":\"-DS4CGaDCdG+48eJNM3Vai-zDpsR71Pn9CPA9uCON84\"}";
/* PROTOCOL.TXT §4, stat example. */
static const char stat_doc[] = "{\"stat\":{\"time\":\"2014-01-12 08:59:28 GMT\",\"lati\":46.24000,\"long\":3.25230,"
			       "\"alti\":145,\"rxnb\":2,\"rxok\":2,\"rxfw\":2,\"ackr\":100.0,\"dwnb\":2,\"txnb\":2}}";
/* PROTOCOL.TXT §6, first txpk example (data unpadded: "padding optional"). */
static const char txpk_doc[] = "{\"txpk\":{\"imme\":true,\"freq\":864.123456,\"rfch\":0,\"powe\":14,\"modu\":\"LORA\","
			       "\"datr\":\"SF11BW125\",\"codr\":\"4/6\",\"ipol\":false,\"size\":32,"
			       "\"data\":\"H3P3N2i9qc4yt7rK7ldqoeCVJGBybzPY5h1Dd7P7p8v\"}}";

static void test_doc_rxpk(void **state)
{
	char why[256] = "", body[2048];
	snprintf(body, sizeof(body), "{\"rxpk\":[%s,%s]}", rxpk_fsk, rxpk_lora);
	assert_int_equal(parse(mk(0, body), why), 0);
	assert_int_equal(msg.kind, LPW_PKTFWD_PUSH_DATA);
	assert_int_equal(msg.token, 0x1234);
	assert_true(msg.eui == EUI);
	assert_int_equal(msg.nrxpk, 2);
	assert_false(msg.has_stat);
	const lpw_rxpk_t *f = &msg.rxpk[0], *l = &msg.rxpk[1];
	assert_int_equal(f->modu, LPW_MODU_FSK);
	assert_int_equal(f->fsk_bps, 50000);
	assert_int_equal(f->tmst, 3512348514u);
	assert_int_equal(f->chan, 9);
	assert_int_equal(f->rfch, 1);
	assert_int_equal(f->rssi, -75);
	assert_float_equal(f->freq, 869.1, 1e-9);
	assert_int_equal(f->size, 16);
	assert_memory_equal(f->data, "TEST_PACKET_1234", 16);
	assert_string_equal(f->time, "2013-03-31T16:21:17.530974Z");
	assert_int_equal(l->modu, LPW_MODU_LORA);
	assert_int_equal(l->tmst, 3316387610u);
	assert_int_equal(l->sf, 10);
	assert_int_equal(l->bw_khz, 125);
	assert_int_equal(l->codr, 7);
	assert_int_equal(l->stat, 1);
	assert_int_equal(l->rssi, -38);
	assert_float_equal(l->lsnr, 5.5, 1e-9);
	assert_float_equal(l->freq, 863.00981, 1e-9);
	assert_int_equal(l->size, 32);
	assert_int_equal(l->data[0], 0xca);
	assert_int_equal(l->data[31], 0xcb); /* checked with coreutils base64 -d */
}

static void test_doc_rxpk_first_entry_is_not_base64(void **state)
{
	char why[256] = "", body[2048];
	snprintf(body, sizeof(body), "{\"rxpk\":[%s,%s]}", rxpk_lora, rxpk_doc_bad);
	assert_int_equal(parse(mk(0, body), why), -EBADMSG);
	assert_string_equal(why, "rxpk[1]: \"data\" is not valid base64");
	/* the header was good, so the link can still acknowledge */
	assert_int_equal(msg.kind, LPW_PKTFWD_PUSH_DATA);
	assert_int_equal(msg.token, 0x1234);
}

static void test_doc_stat(void **state)
{
	char why[256] = "";
	assert_int_equal(parse(mk(0, stat_doc), why), 0);
	assert_int_equal(msg.nrxpk, 0);
	assert_true(msg.has_stat);
	assert_string_equal(msg.stat.time, "2014-01-12 08:59:28 GMT");
	assert_true(msg.stat.has_gps);
	assert_float_equal(msg.stat.lati, 46.24, 1e-9);
	assert_float_equal(msg.stat.lon, 3.2523, 1e-9);
	assert_int_equal(msg.stat.alti, 145);
	assert_int_equal(msg.stat.rxnb, 2);
	assert_int_equal(msg.stat.rxok, 2);
	assert_int_equal(msg.stat.rxfw, 2);
	assert_int_equal(msg.stat.dwnb, 2);
	assert_int_equal(msg.stat.txnb, 2);
	assert_float_equal(msg.stat.ackr, 100.0, 1e-9);
}

static void test_doc_txpk_and_tx_ack(void **state)
{
	char why[256] = "";
	assert_int_equal(parse(mk(3, txpk_doc), why), 0);
	assert_int_equal(msg.kind, LPW_PKTFWD_PULL_RESP);
	assert_true(msg.eui == 0);
	assert_true(msg.txpk.imme);
	assert_float_equal(msg.txpk.freq, 864.123456, 1e-9);
	assert_int_equal(msg.txpk.powe, 14);
	assert_int_equal(msg.txpk.sf, 11);
	assert_int_equal(msg.txpk.codr, 6);
	assert_false(msg.txpk.ipol);
	assert_int_equal(msg.txpk.size, 32);
	assert_int_equal(msg.txpk.data[0], 0x1f);

	/* PROTOCOL.TXT §6 TX_ACK example */
	assert_int_equal(parse(mk(5, "{\"txpk_ack\":{\"error\":\"COLLISION_PACKET\"}}"), why), 0);
	assert_int_equal(msg.kind, LPW_PKTFWD_TX_ACK);
	assert_true(msg.eui == EUI);
	assert_int_equal(msg.tx_error, LPW_TXACK_COLLISION_PACKET);
	/* no JSON means NONE; a trailing C terminator is tolerated */
	assert_int_equal(parse(mk(5, ""), why), 0);
	assert_int_equal(msg.tx_error, LPW_TXACK_NONE);
	size_t n = mk(5, "{\"txpk_ack\":{\"error\":\"TX_POWER\"}}");
	buf[n++] = '\0';
	assert_int_equal(parse(n, why), 0);
	assert_int_equal(msg.tx_error, LPW_TXACK_TX_POWER);
	assert_int_equal(parse(mk(5, "{\"txpk_ack\":{\"warn\":\"TX_POWER\",\"value\":20}}"), why), 0);
	assert_int_equal(msg.tx_error, LPW_TXACK_NONE);
}

static void test_header_only_kinds(void **state)
{
	char why[256] = "";
	assert_int_equal(parse(mk(2, ""), why), 0);
	assert_int_equal(msg.kind, LPW_PKTFWD_PULL_DATA);
	assert_true(msg.eui == EUI);
	assert_int_equal(parse(mk(1, ""), why), 0);
	assert_int_equal(msg.kind, LPW_PKTFWD_PUSH_ACK);
	assert_int_equal(parse(mk(4, ""), why), 0);
	assert_int_equal(msg.kind, LPW_PKTFWD_PULL_ACK);
	assert_int_equal(msg.token, 0x1234);
}

struct bad {
	const char *name;
	uint8_t kind;
	const char *body;
	int rc;
	const char *why;
};

#define LORA_HEAD "{\"rxpk\":[{\"tmst\":1,\"freq\":868.1,\"stat\":1,\"modu\":\"LORA\",\"rssi\":-40,\"lsnr\":7,"
static const struct bad catalogue[] = {
	{"no body", 0, "", -EBADMSG, "body is not JSON"},
	{"not JSON", 0, "hello", -EBADMSG, "body is not JSON"},
	{"trailing garbage", 0, "{\"stat\":{}}x", -EBADMSG, "body is not JSON"},
	{"bad UTF-8", 0, "{\"stat\":{\"time\":\"\xff\"}}", -EBADMSG, "body is not JSON"},
	{"duplicate key", 0, "{\"stat\":{},\"stat\":{}}", -EBADMSG, "body is not JSON"},
	{"array root", 0, "[1]", -EBADMSG, "not an object"},
	{"empty object", 0, "{}", -EBADMSG, "neither \"rxpk\" packets nor \"stat\""},
	{"empty rxpk", 0, "{\"rxpk\":[]}", -EBADMSG, "neither \"rxpk\" packets nor \"stat\""},
	{"rxpk not array", 0, "{\"rxpk\":{}}", -EBADMSG, "\"rxpk\" is not an array"},
	{"rxpk entry not object", 0, "{\"rxpk\":[1]}", -EBADMSG, "rxpk[0]: not an object"},
	{"no tmst", 0, "{\"rxpk\":[{\"freq\":868.1}]}", -EBADMSG, "rxpk[0]: \"tmst\" missing"},
	{"negative tmst", 0, "{\"rxpk\":[{\"tmst\":-1}]}", -EBADMSG, "\"tmst\" is not an integer in 0..4294967295"},
	{"tmst over 32 bits", 0, "{\"rxpk\":[{\"tmst\":4294967296}]}", -EBADMSG, "\"tmst\" is not an integer"},
	{"tmst string", 0, "{\"rxpk\":[{\"tmst\":\"1\"}]}", -EBADMSG, "\"tmst\" is not an integer"},
	{"no freq", 0, "{\"rxpk\":[{\"tmst\":1}]}", -EBADMSG, "\"freq\" missing"},
	{"freq string", 0, "{\"rxpk\":[{\"tmst\":1,\"freq\":\"868\"}]}", -EBADMSG, "\"freq\" is not a number"},
	{"chan 256", 0, "{\"rxpk\":[{\"tmst\":1,\"freq\":868.1,\"chan\":256}]}", -EBADMSG, "\"chan\" is not an integer"},
	{"stat 2", 0, "{\"rxpk\":[{\"tmst\":1,\"freq\":868.1,\"stat\":2}]}", -EBADMSG, "\"stat\" is not an integer in -1..1"},
	{"modu GFSK", 0, "{\"rxpk\":[{\"tmst\":1,\"freq\":868.1,\"stat\":1,\"modu\":\"GFSK\"}]}", -EBADMSG,
	 "\"modu\" \"GFSK\" is neither LORA nor FSK"},
	{"SF13", 0, LORA_HEAD "\"datr\":\"SF13BW125\"}]}", -EBADMSG, "\"datr\" \"SF13BW125\" is not SF5..12"},
	{"BW123", 0, LORA_HEAD "\"datr\":\"SF7BW123\"}]}", -EBADMSG, "\"datr\" \"SF7BW123\""},
	{"datr tail", 0, LORA_HEAD "\"datr\":\"SF7BW125x\"}]}", -EBADMSG, "\"datr\" \"SF7BW125x\""},
	{"datr no BW", 0, LORA_HEAD "\"datr\":\"SF7\"}]}", -EBADMSG, "\"datr\" \"SF7\""},
	{"LoRa datr number", 0, LORA_HEAD "\"datr\":50000}]}", -EBADMSG, "\"datr\" is not a string"},
	{"codr 4/9", 0, LORA_HEAD "\"datr\":\"SF7BW125\",\"codr\":\"4/9\"}]}", -EBADMSG, "\"codr\" \"4/9\" is not 4/5..4/8"},
	{"no lsnr", 0,
	 "{\"rxpk\":[{\"tmst\":1,\"freq\":868.1,\"stat\":1,\"modu\":\"LORA\",\"datr\":\"SF7BW125\",\"codr\":\"4/5\"}]}",
	 -EBADMSG, "\"lsnr\" missing"},
	{"rssi null", 0,
	 "{\"rxpk\":[{\"tmst\":1,\"freq\":868.1,\"stat\":1,\"modu\":\"FSK\",\"datr\":50000,\"rssi\":null}]}",
	 -EBADMSG, "\"rssi\" is not a number"},
	{"no rssi", 0, "{\"rxpk\":[{\"tmst\":1,\"freq\":868.1,\"stat\":1,\"modu\":\"FSK\",\"datr\":50000}]}",
	 -EBADMSG, "\"rssi\" missing"},
	{"size 256", 0, LORA_HEAD "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"size\":256,\"data\":\"\"}]}", -EBADMSG,
	 "\"size\" is not an integer in 0..255"},
	{"no data", 0, LORA_HEAD "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"size\":1}]}", -EBADMSG, "\"data\" missing"},
	{"base64 bad char", 0, LORA_HEAD "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"size\":1,\"data\":\"QQ=A\"}]}",
	 -EBADMSG, "\"data\" is not valid base64"},
	{"base64 4k+1", 0, LORA_HEAD "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"size\":1,\"data\":\"QUJDR\"}]}", -EBADMSG,
	 "\"data\" is not valid base64"},
	{"base64 short padding", 0, LORA_HEAD "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"size\":1,\"data\":\"QQ=\"}]}",
	 -EBADMSG, "\"data\" is not valid base64"},
	{"base64 whitespace", 0, LORA_HEAD "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"size\":1,\"data\":\"QQ== \"}]}",
	 -EBADMSG, "\"data\" is not valid base64"},
	{"size mismatch", 0, LORA_HEAD "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"size\":2,\"data\":\"QQ==\"}]}", -EBADMSG,
	 "\"data\" has 1 bytes but \"size\" says 2"},
	{"time too long", 0, "{\"rxpk\":[{\"tmst\":1,\"time\":\"2013-03-31T16:21:17.528002Z-and-much-more-text\"}]}",
	 -EBADMSG, "\"time\" longer than 39 characters"},
	{"stat not object", 0, "{\"stat\":[]}", -EBADMSG, "stat: not an object"},
	{"stat negative counter", 0, "{\"stat\":{\"rxnb\":-1}}", -EBADMSG, "stat: \"rxnb\" is not an integer"},
	{"stat latitude 91", 0, "{\"stat\":{\"lati\":91,\"long\":0}}", -EBADMSG, "stat: \"lati\" is not a number"},
	{"PULL_DATA with bytes", 2, "{}", -EBADMSG, "PULL_DATA carries 2 unexpected bytes"},
	{"PULL_ACK with bytes", 4, "x", -EBADMSG, "PULL_ACK carries 1 unexpected bytes"},
	{"PULL_RESP no txpk", 3, "{\"rxpk\":[]}", -EBADMSG, "PULL_RESP has no \"txpk\""},
	{"txpk neither imme nor tmst", 3, "{\"txpk\":{\"freq\":868.1}}", -EBADMSG, "txpk: \"tmst\" missing"},
	{"txpk FSK", 3, "{\"txpk\":{\"imme\":true,\"freq\":861.3,\"powe\":12,\"modu\":\"FSK\",\"datr\":50000}}", -EBADMSG,
	 "txpk: \"modu\" FSK is not supported"},
	{"txpk imme not bool", 3, "{\"txpk\":{\"imme\":1}}", -EBADMSG, "txpk: \"imme\" is not a boolean"},
	{"TX_ACK no txpk_ack", 5, "{\"error\":\"NONE\"}", -EBADMSG, "TX_ACK JSON has no \"txpk_ack\""},
	{"TX_ACK unknown error", 5, "{\"txpk_ack\":{\"error\":\"BOGUS\"}}", -EBADMSG,
	 "txpk_ack: \"error\" \"BOGUS\" is not a known TX_ACK error"},
	{"TX_ACK empty txpk_ack", 5, "{\"txpk_ack\":{}}", -EBADMSG, "neither \"error\" nor \"warn\""},
};

static void test_malformed_catalogue(void **state)
{
	for (size_t i = 0; i < sizeof(catalogue) / sizeof(catalogue[0]); i++) {
		const struct bad *b = &catalogue[i];
		char why[256] = "";
		int rc = parse(mk(b->kind, b->body), why);
		if (rc != b->rc || !strstr(why, b->why))
			fail_msg("%s: rc %d, why \"%s\"; expected rc %d and \"%s\"", b->name, rc, why, b->rc, b->why);
	}
}

/* Damaged headers, where nothing but the reason can be trusted. */
static void test_bad_headers(void **state)
{
	char why[256] = "";
	assert_int_equal(lpw_pktfwd_parse(buf, 0, &msg, why, sizeof(why)), -EPROTO);
	assert_string_equal(why, "0 bytes: shorter than the 4-byte header");
	size_t n = mk(2, "");
	assert_int_equal(lpw_pktfwd_parse(buf, 3, &msg, why, sizeof(why)), -EPROTO);
	assert_int_equal(lpw_pktfwd_parse(buf, n - 1, &msg, why, sizeof(why)), -EPROTO);
	assert_string_equal(why, "PULL_DATA of 11 bytes: shorter than its 12-byte header");
	buf[0] = 1;
	assert_int_equal(lpw_pktfwd_parse(buf, n, &msg, why, sizeof(why)), -EPROTO);
	assert_string_equal(why, "protocol version 1, expected 2");
	buf[0] = 2;
	buf[3] = 6;
	assert_int_equal(lpw_pktfwd_parse(buf, n, &msg, why, sizeof(why)), -EPROTO);
	assert_string_equal(why, "unknown identifier 0x06");
	/* a NULL reason buffer is allowed */
	assert_int_equal(lpw_pktfwd_parse(buf, n, &msg, NULL, 0), -EPROTO);
}

static void test_too_many_rxpk_and_oversized_data(void **state)
{
	char why[256] = "";
	static char body[8192];
	size_t off = (size_t)snprintf(body, sizeof(body), "{\"rxpk\":[");
	for (int i = 0; i < LPW_PKTFWD_MAX_RXPK + 1; i++)
		off += (size_t)snprintf(body + off, sizeof(body) - off, "%s%s", i ? "," : "", rxpk_lora);
	snprintf(body + off, sizeof(body) - off, "]}");
	assert_int_equal(parse(mk(0, body), why), -EBADMSG);
	assert_string_equal(why, "\"rxpk\" has 33 packets, more than 32");

	/* 256 bytes of payload: too big for the radio, whatever "size" says */
	off = (size_t)snprintf(body, sizeof(body), LORA_HEAD "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"size\":255,\"data\":\"");
	for (int i = 0; i < 256 / 3 * 4 + 4; i++)
		body[off++] = 'A';
	snprintf(body + off, sizeof(body) - off, "\"}]}");
	assert_int_equal(parse(mk(0, body), why), -EBADMSG);
	assert_string_equal(why, "rxpk[0]: \"data\" decodes to more than 255 bytes");
}

static void test_base64(void **state)
{
	uint8_t out[8];
	char enc[16];
	assert_int_equal(lpw_pktfwd_b64_decode("", 0, out, sizeof(out)), 0);
	assert_int_equal(lpw_pktfwd_b64_decode("QQ", 2, out, sizeof(out)), 1);
	assert_int_equal(out[0], 'A');
	assert_int_equal(lpw_pktfwd_b64_decode("QUI", 3, out, sizeof(out)), 2);
	assert_memory_equal(out, "AB", 2);
	assert_int_equal(lpw_pktfwd_b64_decode("QUJD", 4, out, sizeof(out)), 3);
	assert_int_equal(lpw_pktfwd_b64_decode("QUJDRA==", 8, out, sizeof(out)), 4);
	assert_memory_equal(out, "ABCD", 4);
	assert_int_equal(lpw_pktfwd_b64_decode("QUJDRA", 6, out, sizeof(out)), 4);
	assert_int_equal(lpw_pktfwd_b64_decode("QQ\0=", 4, out, sizeof(out)), -EBADMSG);
	assert_int_equal(lpw_pktfwd_b64_decode("QQ===", 5, out, sizeof(out)), -EBADMSG);
	assert_int_equal(lpw_pktfwd_b64_decode("=QQ=", 4, out, sizeof(out)), -EBADMSG);
	assert_int_equal(lpw_pktfwd_b64_decode("QUJDRA==", 8, out, 3), -EMSGSIZE);
	assert_int_equal(lpw_pktfwd_b64_encode((const uint8_t *)"ABCD", 4, enc, sizeof(enc)), 8);
	assert_string_equal(enc, "QUJDRA==");
	assert_int_equal(lpw_pktfwd_b64_encode((const uint8_t *)"", 0, enc, sizeof(enc)), 0);
	assert_string_equal(enc, "");
	assert_int_equal(lpw_pktfwd_b64_encode((const uint8_t *)"ABCD", 4, enc, 8), -EMSGSIZE);
}

static lpw_txpk_t sample_txpk(void)
{
	lpw_txpk_t tx = {.tmst = 4000000000u, .freq = 869.525, .rfch = 0, .powe = 27, .sf = 9, .bw_khz = 125,
			 .codr = 5, .ipol = true, .size = 3, .data = {0x60, 0x00, 0xff}};
	return tx;
}

static void test_builders_round_trip(void **state)
{
	char why[256] = "";
	uint8_t out[2048];
	assert_int_equal(lpw_pktfwd_build_ack(LPW_PKTFWD_PUSH_ACK, 0xbeef, out, sizeof(out)), 4);
	assert_memory_equal(out, "\x02\xbe\xef\x01", 4);
	assert_int_equal(lpw_pktfwd_build_ack(LPW_PKTFWD_PULL_ACK, 0x0102, out, sizeof(out)), 4);
	assert_memory_equal(out, "\x02\x01\x02\x04", 4);
	assert_int_equal(lpw_pktfwd_build_ack(LPW_PKTFWD_PULL_DATA, 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(lpw_pktfwd_build_pull_data(7, EUI, out, sizeof(out)), 12);
	assert_memory_equal(out, "\x02\x00\x07\x02\xaa\x55\x5a\x00\x00\x00\x01\x01", 12);

	lpw_txpk_t tx = sample_txpk();
	int n = lpw_pktfwd_build_pull_resp(0x4242, &tx, out, sizeof(out));
	assert_true(n > 4);
	assert_non_null(strstr((const char *)out + 4, "\"freq\":869.525"));
	assert_non_null(strstr((const char *)out + 4, "\"datr\":\"SF9BW125\""));
	assert_non_null(strstr((const char *)out + 4, "\"codr\":\"4/5\""));
	assert_non_null(strstr((const char *)out + 4, "\"ipol\":true"));
	assert_non_null(strstr((const char *)out + 4, "\"data\":\"YAD/\""));
	assert_int_equal(lpw_pktfwd_parse(out, (size_t)n, &msg, why, sizeof(why)), 0);
	assert_int_equal(msg.kind, LPW_PKTFWD_PULL_RESP);
	assert_int_equal(msg.token, 0x4242);
	assert_false(msg.txpk.imme);
	assert_int_equal(msg.txpk.tmst, 4000000000u);
	assert_float_equal(msg.txpk.freq, 869.525, 1e-9);
	assert_int_equal(msg.txpk.powe, 27);
	assert_int_equal(msg.txpk.sf, 9);
	assert_int_equal(msg.txpk.codr, 5);
	assert_true(msg.txpk.ipol);
	assert_int_equal(msg.txpk.size, 3);
	assert_memory_equal(msg.txpk.data, tx.data, 3);
	assert_int_equal(lpw_pktfwd_build_pull_resp(1, &tx, out, 20), -EMSGSIZE);
	tx.sf = 13;
	assert_int_equal(lpw_pktfwd_build_pull_resp(1, &tx, out, sizeof(out)), -EINVAL);
	tx = sample_txpk();
	tx.freq = 0;
	assert_int_equal(lpw_pktfwd_build_pull_resp(1, &tx, out, sizeof(out)), -EINVAL);
	tx = sample_txpk();
	tx.size = 256;
	assert_int_equal(lpw_pktfwd_build_pull_resp(1, &tx, out, sizeof(out)), -EINVAL);
	tx = sample_txpk();
	tx.imme = true;
	tx.ncrc = true;
	n = lpw_pktfwd_build_pull_resp(5, &tx, out, sizeof(out));
	assert_int_equal(lpw_pktfwd_parse(out, (size_t)n, &msg, why, sizeof(why)), 0);
	assert_true(msg.txpk.imme && msg.txpk.ncrc);
	assert_null(strstr((const char *)out + 4, "\"tmst\""));

	/* the forwarder side, as the simulator uses it */
	char body[2048];
	snprintf(body, sizeof(body), "{\"rxpk\":[%s,%s]}", rxpk_fsk, rxpk_lora);
	assert_int_equal(parse(mk(0, body), why), 0);
	lpw_rxpk_t rx[2] = {msg.rxpk[0], msg.rxpk[1]};
	lpw_pktfwd_stat_t st = {.rxnb = 5, .ackr = 50, .has_gps = true, .lati = 1.5, .lon = -2.25, .alti = 10};
	n = lpw_pktfwd_build_push_data(9, EUI, rx, 2, &st, out, sizeof(out));
	assert_true(n > 12);
	assert_int_equal(lpw_pktfwd_parse(out, (size_t)n, &msg, why, sizeof(why)), 0);
	assert_int_equal(msg.nrxpk, 2);
	assert_true(msg.eui == EUI);
	assert_int_equal(msg.rxpk[0].fsk_bps, 50000);
	assert_memory_equal(msg.rxpk[0].data, rx[0].data, 16);
	assert_float_equal(msg.rxpk[1].lsnr, 5.5, 1e-9);
	assert_float_equal(msg.rxpk[1].freq, 863.00981, 1e-9);
	assert_memory_equal(msg.rxpk[1].data, rx[1].data, 32);
	assert_true(msg.has_stat);
	assert_int_equal(msg.stat.rxnb, 5);
	assert_float_equal(msg.stat.lon, -2.25, 1e-9);

	n = lpw_pktfwd_build_tx_ack(3, EUI, LPW_TXACK_TOO_LATE, true, out, sizeof(out));
	assert_int_equal(lpw_pktfwd_parse(out, (size_t)n, &msg, why, sizeof(why)), 0);
	assert_int_equal(msg.tx_error, LPW_TXACK_TOO_LATE);
	assert_int_equal(lpw_pktfwd_build_tx_ack(3, EUI, LPW_TXACK_NONE, false, out, sizeof(out)), 12);
	assert_int_equal(lpw_pktfwd_build_tx_ack(3, EUI, (lpw_txack_error_t)99, true, out, sizeof(out)), -EINVAL);
	assert_string_equal(lpw_txack_error_name(LPW_TXACK_GPS_UNLOCKED), "GPS_UNLOCKED");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_rxpk),
		cmocka_unit_test(test_doc_rxpk_first_entry_is_not_base64),
		cmocka_unit_test(test_doc_stat),
		cmocka_unit_test(test_doc_txpk_and_tx_ack),
		cmocka_unit_test(test_header_only_kinds),
		cmocka_unit_test(test_malformed_catalogue),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_too_many_rxpk_and_oversized_data),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_builders_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
