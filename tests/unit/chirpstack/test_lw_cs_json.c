/* ChirpStack v4 integration JSON: every event the network server uses, decoded from bodies shaped as ChirpStack
 * v4's MQTT integration marshals them (api/proto/integration/integration.proto, proto3 JSON), unknown fields
 * tolerated, malformed and hostile bodies refused with a reason; and the downlink command encoder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bindings/lorawan/lw_cs_json.h"

#define DI "\"deviceInfo\":{\"tenantId\":\"52f14cd4-c6f1-4fbd-8f87-4025e1d49242\",\"tenantName\":\"ChirpStack\"," \
	   "\"applicationId\":\"8e5a4f0c-1c2b-4d3e-9f60-0a1b2c3d4e5f\",\"applicationName\":\"lwm2m\"," \
	   "\"deviceProfileId\":\"cb4ae1e4-5b2e-4b36-b5a2-5fd1b9f4a8a5\",\"deviceProfileName\":\"EU868 A\"," \
	   "\"deviceName\":\"meter-1\",\"devEui\":\"0102030405060708\",\"deviceClassEnabled\":\"CLASS_A\",\"tags\":{}}"

static lw_cs_event_t ev;
static char why[160];

static int parse(lw_cs_kind_t kind, const char *json)
{
	return lw_cs_event_parse(kind, json, strlen(json), &ev, why, sizeof(why));
}

static void test_kind_names(void **state)
{
	assert_int_equal(lw_cs_kind_from_name("up"), LW_CS_UP);
	assert_int_equal(lw_cs_kind_from_name("join"), LW_CS_JOIN);
	assert_int_equal(lw_cs_kind_from_name("ack"), LW_CS_ACK);
	assert_int_equal(lw_cs_kind_from_name("txack"), LW_CS_TXACK);
	assert_int_equal(lw_cs_kind_from_name("status"), LW_CS_STATUS);
	assert_int_equal(lw_cs_kind_from_name("log"), LW_CS_LOG);
	assert_int_equal(lw_cs_kind_from_name("location"), -1);
	assert_int_equal(lw_cs_kind_from_name(""), -1);
}

/* An uplink as ChirpStack 4.x publishes it (rxInfo, object and newer fields are not ours and ignored). */
static void test_up(void **state)
{
	const char *j = "{\"deduplicationId\":\"3ac7e3c4-4401-4b8d-9386-a5c902f9202d\",\"time\":\"2024-01-01T00:00:00Z\","
	                DI ",\"devAddr\":\"00189440\",\"adr\":true,\"dr\":5,\"fCnt\":10,\"fPort\":1,\"confirmed\":true,"
	                "\"data\":\"QAF3AQ==\",\"object\":{\"x\":1},\"rxInfo\":[{\"gatewayId\":\"0016c001f153a14c\","
	                "\"rssi\":-60,\"snr\":7.5,\"context\":\"AAAA\"}],\"txInfo\":{\"frequency\":868100000,"
	                "\"modulation\":{\"lora\":{\"bandwidth\":125000,\"spreadingFactor\":7,\"codeRate\":\"CR_4_5\"}}},"
	                "\"regionConfigId\":\"eu868\",\"someFutureField\":[1,2,{\"a\":null}]}";
	assert_int_equal(parse(LW_CS_UP, j), 0);
	assert_string_equal(ev.dev_eui, "0102030405060708");
	assert_string_equal(ev.application_id, "8e5a4f0c-1c2b-4d3e-9f60-0a1b2c3d4e5f");
	assert_int_equal(ev.len, 4);
	assert_memory_equal(ev.data, "\x40\x01\x77\x01", 4);
	assert_int_equal(ev.fport, 1);
	assert_int_equal(ev.fcnt, 10);
	assert_true(ev.confirmed);
	assert_int_equal(ev.dr, 5);
	assert_int_equal(ev.freq_hz, 868100000);
	assert_int_equal(ev.sf, 7);
	assert_int_equal(ev.bw_hz, 125000);
}

/* Defaults left out (proto3 JSON): no dr, no fCnt, unconfirmed; numbers as decimal strings; no padding. */
static void test_up_defaults(void **state)
{
	assert_int_equal(parse(LW_CS_UP, "{" DI ",\"fPort\":\"2\",\"data\":\"AQI\"}"), 0);
	assert_int_equal(ev.fport, 2);
	assert_int_equal(ev.len, 2);
	assert_memory_equal(ev.data, "\x01\x02", 2);
	assert_int_equal(ev.dr, -1);
	assert_false(ev.confirmed);
	assert_int_equal(ev.fcnt, 0);
	/* a MAC-only uplink: no fPort, no data */
	assert_int_equal(parse(LW_CS_UP, "{" DI ",\"fCnt\":3}"), 0);
	assert_int_equal(ev.fport, 0);
	assert_int_equal(ev.len, 0);
	/* the device EUI in upper case is the same device */
	assert_int_equal(parse(LW_CS_UP, "{\"deviceInfo\":{\"devEui\":\"a1b2c3d4e5f60718\"}}"), 0);
	assert_string_equal(ev.dev_eui, "A1B2C3D4E5F60718");
	assert_string_equal(ev.application_id, "");
}

static void test_join_status(void **state)
{
	assert_int_equal(parse(LW_CS_JOIN, "{\"deduplicationId\":\"3ac7e3c4-4401-4b8d-9386-a5c902f9202d\"," DI
	                                   ",\"devAddr\":\"01ab23cd\",\"relayRxInfo\":null}"), 0);
	assert_int_equal(ev.kind, LW_CS_JOIN);
	assert_string_equal(ev.dev_eui, "0102030405060708");
	assert_int_equal(parse(LW_CS_STATUS, "{" DI ",\"margin\":7,\"externalPowerSource\":false,"
	                                     "\"batteryLevelUnavailable\":false,\"batteryLevel\":75.5}"), 0);
	assert_int_equal(ev.kind, LW_CS_STATUS);
}

static void test_ack_txack(void **state)
{
	assert_int_equal(parse(LW_CS_ACK, "{\"deduplicationId\":\"3ac7e3c4-4401-4b8d-9386-a5c902f9202d\"," DI
	                                  ",\"queueItemId\":\"9a1bc7e0-8f3e-4c1a-9b2d-0e4f5a6b7c8d\","
	                                  "\"acknowledged\":true,\"fCntDown\":7}"), 0);
	assert_string_equal(ev.queue_item_id, "9a1bc7e0-8f3e-4c1a-9b2d-0e4f5a6b7c8d");
	assert_true(ev.acknowledged);
	assert_int_equal(ev.fcnt_down, 7);
	/* acknowledged false may be written or left out */
	assert_int_equal(parse(LW_CS_ACK, "{" DI ",\"queueItemId\":\"9a1bc7e0-8f3e-4c1a-9b2d-0e4f5a6b7c8d\","
	                                  "\"acknowledged\":false,\"fCntDown\":8}"), 0);
	assert_false(ev.acknowledged);
	assert_int_equal(parse(LW_CS_ACK, "{" DI ",\"queueItemId\":\"9a1bc7e0-8f3e-4c1a-9b2d-0e4f5a6b7c8d\"}"), 0);
	assert_false(ev.acknowledged);
	assert_int_equal(parse(LW_CS_TXACK, "{\"downlinkId\":123456," DI ",\"queueItemId\":"
	                                    "\"9A1BC7E0-8F3E-4C1A-9B2D-0E4F5A6B7C8D\",\"fCntDown\":9,"
	                                    "\"gatewayId\":\"0016c001f153a14c\",\"txInfo\":{\"frequency\":868100000,"
	                                    "\"power\":14,\"modulation\":{\"lora\":{\"bandwidth\":125000,"
	                                    "\"spreadingFactor\":7,\"codeRate\":\"CR_4_5\",\"polarizationInversion\":true}},"
	                                    "\"timing\":{\"delay\":{\"delay\":\"1s\"}},\"context\":\"AAAA\"}}"), 0);
	assert_string_equal(ev.queue_item_id, "9A1BC7E0-8F3E-4C1A-9B2D-0E4F5A6B7C8D");
	assert_int_equal(ev.fcnt_down, 9);
}

static void test_log(void **state)
{
	assert_int_equal(parse(LW_CS_LOG, "{\"time\":\"2024-01-01T00:00:00Z\"," DI ",\"level\":\"ERROR\","
	                                  "\"code\":\"DOWNLINK_PAYLOAD_SIZE\",\"description\":\"Device queue-item discarded "
	                                  "because it exceeds the max. payload size\",\"context\":{\"item_size\":\"60\","
	                                  "\"max_payload_size\":\"51\",\"queue_item_id\":"
	                                  "\"9a1bc7e0-8f3e-4c1a-9b2d-0e4f5a6b7c8d\"}}"), 0);
	assert_int_equal(ev.level, LW_CS_LOG_ERROR);
	assert_string_equal(ev.code, "DOWNLINK_PAYLOAD_SIZE");
	assert_string_equal(ev.context_queue_item_id, "9a1bc7e0-8f3e-4c1a-9b2d-0e4f5a6b7c8d");
	assert_non_null(strstr(ev.description, "exceeds"));
	/* the enum's number forms, and a description longer than we keep (truncated, not refused) */
	char j[1024];
	snprintf(j, sizeof(j), "{" DI ",\"level\":1,\"code\":8,\"description\":\"%0300d\"}", 0);
	assert_int_equal(parse(LW_CS_LOG, j), 0);
	assert_int_equal(ev.level, LW_CS_LOG_WARNING);
	assert_string_equal(ev.code, "8");
	assert_int_equal(strlen(ev.description), sizeof(ev.description) - 1);
	assert_int_equal(parse(LW_CS_LOG, "{" DI "}"), 0);
	assert_int_equal(ev.level, LW_CS_LOG_INFO);
}

#define BAD(kind, json, reason)                                                                                        \
	do {                                                                                                           \
		assert_int_equal(parse(kind, json), -EINVAL);                                                          \
		if (!strstr(why, reason))                                                                              \
			fail_msg("%s: reason \"%s\" lacks \"%s\"", json, why, reason);                                 \
	} while (0)

static void test_malformed(void **state)
{
	BAD(LW_CS_UP, "", "not JSON");
	BAD(LW_CS_UP, "{\"deviceInfo\":", "not JSON");
	BAD(LW_CS_UP, "[1,2]", "not a JSON object");
	BAD(LW_CS_UP, "\"up\"", "not JSON"); /* jansson refuses a bare string at the top without JSON_DECODE_ANY */
	BAD(LW_CS_UP, "{}", "\"deviceInfo\" is missing");
	BAD(LW_CS_UP, "{\"deviceInfo\":[]}", "\"deviceInfo\" is not an object");
	BAD(LW_CS_UP, "{\"deviceInfo\":{}}", "devEui\" is missing");
	BAD(LW_CS_UP, "{\"deviceInfo\":{\"devEui\":12}}", "not a string");
	BAD(LW_CS_UP, "{\"deviceInfo\":{\"devEui\":\"01020304050607\"}}", "not 16 characters");
	BAD(LW_CS_UP, "{\"deviceInfo\":{\"devEui\":\"01020304050607zz\"}}", "not 16 hex digits");
	BAD(LW_CS_UP, "{\"deviceInfo\":{\"devEui\":\"0102030405060708\",\"applicationId\":\"x\"}}", "not a UUID");
	BAD(LW_CS_UP, "{" DI ",\"fPort\":256}", "\"fPort\" is not an integer 0..255");
	BAD(LW_CS_UP, "{" DI ",\"fPort\":-1}", "\"fPort\"");
	BAD(LW_CS_UP, "{" DI ",\"fPort\":1.5}", "\"fPort\"");
	BAD(LW_CS_UP, "{" DI ",\"fPort\":\"1x\"}", "\"fPort\"");
	BAD(LW_CS_UP, "{" DI ",\"fCnt\":4294967296}", "\"fCnt\"");
	BAD(LW_CS_UP, "{" DI ",\"dr\":16}", "\"dr\"");
	BAD(LW_CS_UP, "{" DI ",\"confirmed\":\"yes\"}", "\"confirmed\" is not a boolean");
	BAD(LW_CS_UP, "{" DI ",\"fPort\":1,\"data\":5}", "\"data\" is not a string");
	BAD(LW_CS_UP, "{" DI ",\"fPort\":1,\"data\":\"QAF3A\"}", "not valid base64");
	BAD(LW_CS_UP, "{" DI ",\"fPort\":1,\"data\":\"QA*3AQ==\"}", "not valid base64");
	BAD(LW_CS_UP, "{" DI ",\"data\":\"QAF3AQ==\"}", "\"fPort\" is 0");
	BAD(LW_CS_UP, "{" DI ",\"txInfo\":7}", "\"txInfo\" is not an object");
	BAD(LW_CS_UP, "{" DI ",\"txInfo\":{\"modulation\":{\"lora\":{\"spreadingFactor\":13}}}}", "spreadingFactor");
	BAD(LW_CS_UP, "{" DI ",\"txInfo\":{\"modulation\":1}}", "modulation");
	BAD(LW_CS_UP, "{\"fPort\":1,\"fPort\":2," DI "}", "not JSON"); /* duplicate keys */
	BAD(LW_CS_ACK, "{" DI ",\"queueItemId\":\"not-a-uuid\"}", "\"queueItemId\" is not a UUID");
	BAD(LW_CS_ACK, "{" DI ",\"acknowledged\":1}", "\"acknowledged\" is not a boolean");
	BAD(LW_CS_TXACK, "{" DI ",\"queueItemId\":17}", "\"queueItemId\" is not a string");
	BAD(LW_CS_LOG, "{" DI ",\"level\":\"FATAL\"}", "\"level\"");
	BAD(LW_CS_LOG, "{" DI ",\"context\":[]}", "\"context\" is not an object");
	BAD(LW_CS_LOG, "{" DI ",\"code\":{}}", "\"code\" is not a string");
}

/* Hostile bodies: too big, too long data, embedded NUL, deep nesting; never a crash or an out-of-bounds read. */
static void test_hostile(void **state)
{
	size_t n = 70000;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	BAD(LW_CS_UP, big, "the body is 70000 bytes");
	/* 256 bytes of data: more than any FRMPayload */
	char *j = malloc(2048);
	assert_non_null(j);
	int o = snprintf(j, 2048, "{" DI ",\"fPort\":1,\"data\":\"");
	for (int i = 0; i < 344; i++)
		j[o++] = 'A';
	snprintf(j + o, 2048 - (size_t)o, "\"}");
	BAD(LW_CS_UP, j, "\"data\"");
	BAD(LW_CS_UP, "{\"deviceInfo\":{\"devEui\":\"0102030405060708\",\"applicationId\":"
	              "\"8e5a4f0c-1c2b-4d3e-9f60-0a1b2c3d4\\u0000f\"}}", "NUL");
	/* nesting deeper than jansson's limit is refused, not recursed into */
	o = 0;
	for (int i = 0; i < 1000 && o < 2040; i++)
		j[o++] = '[';
	j[o] = '\0';
	assert_int_equal(lw_cs_event_parse(LW_CS_UP, j, (size_t)o, &ev, why, sizeof(why)), -EINVAL);
	/* not NUL-terminated: the parser stays within len */
	const char body[] = "{" DI "}";
	char *exact = malloc(sizeof(body) - 1);
	assert_non_null(exact);
	memcpy(exact, body, sizeof(body) - 1);
	assert_int_equal(lw_cs_event_parse(LW_CS_JOIN, exact, sizeof(body) - 1, &ev, why, sizeof(why)), 0);
	assert_int_equal(lw_cs_event_parse(LW_CS_JOIN, exact, 10, &ev, why, sizeof(why)), -EINVAL);
	assert_int_equal(lw_cs_event_parse(LW_CS_KIND_COUNT, exact, 10, &ev, why, sizeof(why)), -EINVAL);
	free(exact);
	free(j);
	free(big);
}

static void test_down_encode(void **state)
{
	char out[512];
	const char *id = "9a1bc7e0-8f3e-4c1a-9b2d-0e4f5a6b7c8d";
	int n = lw_cs_down_encode(id, "0102030405A6B7C8", 1, true, (const uint8_t *)"\x44\x01\x12\x34", 4, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(out));
	assert_string_equal(out, "{\"id\":\"9a1bc7e0-8f3e-4c1a-9b2d-0e4f5a6b7c8d\",\"devEui\":\"0102030405a6b7c8\","
	                         "\"confirmed\":true,\"fPort\":1,\"data\":\"RAESNA==\"}");
	n = lw_cs_down_encode(id, "0102030405060708", 2, false, NULL, 0, out, sizeof(out));
	assert_true(n > 0);
	assert_non_null(strstr(out, "\"confirmed\":false,\"fPort\":2,\"data\":\"\""));
	uint8_t max[LW_CS_MAX_DATA] = {0};
	assert_true(lw_cs_down_encode(id, "0102030405060708", 1, false, max, sizeof(max), out, sizeof(out)) > 0);
	assert_int_equal(lw_cs_down_encode(id, "0102030405060708", 1, false, max, sizeof(max) + 1, out, sizeof(out)),
	                 -EINVAL);
	assert_int_equal(lw_cs_down_encode(id, "0102030405060708", 0, false, max, 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(lw_cs_down_encode(id, "0102030405060708", 224, false, max, 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(lw_cs_down_encode("x", "0102030405060708", 1, false, max, 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(lw_cs_down_encode(id, "01020304050607", 1, false, max, 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(lw_cs_down_encode(id, "0102030405060708", 1, false, max, 1, out, 20), -ENOSPC);
}

/* What we encode, ChirpStack's JSON schema reads back: the data round-trips through base64. */
static void test_round_trip(void **state)
{
	char out[512], up[700];
	uint8_t data[200];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 37 + 1);
	assert_true(lw_cs_down_encode("9a1bc7e0-8f3e-4c1a-9b2d-0e4f5a6b7c8d", "0102030405060708", 9, false, data,
	                              sizeof(data), out, sizeof(out)) > 0);
	const char *b64 = strstr(out, "\"data\":\"") + 8;
	snprintf(up, sizeof(up), "{" "\"deviceInfo\":{\"devEui\":\"0102030405060708\"},\"fPort\":9,\"data\":\"%.*s\"}",
	         (int)(strchr(b64, '"') - b64), b64);
	assert_int_equal(parse(LW_CS_UP, up), 0);
	assert_int_equal(ev.len, sizeof(data));
	assert_memory_equal(ev.data, data, sizeof(data));
}

static void test_uuid_format(void **state)
{
	uint8_t b[16];
	memset(b, 0xff, sizeof(b));
	char s[LW_CS_UUID_LEN + 1];
	lw_cs_uuid_format(b, s);
	assert_string_equal(s, "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names), cmocka_unit_test(test_up),        cmocka_unit_test(test_up_defaults),
		cmocka_unit_test(test_join_status), cmocka_unit_test(test_ack_txack), cmocka_unit_test(test_log),
		cmocka_unit_test(test_malformed),   cmocka_unit_test(test_hostile),   cmocka_unit_test(test_down_encode),
		cmocka_unit_test(test_round_trip),  cmocka_unit_test(test_uuid_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
