/* Unit tests for the telemetry payload and topic builders: exact JSON, topic rules, no secrets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "config/config.h"
#include "core/log.h"
#include "gateway/telemetry.h"

static json_t *parse(char *text)
{
	assert_non_null(text);
	json_error_t err;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &err);
	if (!v)
		fail_msg("payload is not JSON (%s): %s", err.text, text);
	free(text);
	return v;
}

static json_int_t int_at(const json_t *obj, const char *path1, const char *path2)
{
	const json_t *v = json_object_get(obj, path1);
	if (path2)
		v = json_object_get(v, path2);
	if (!json_is_integer(v))
		fail_msg("%s.%s is not an integer", path1, path2 ? path2 : "");
	return json_integer_value(v);
}

static void test_topics(void **state)
{
	char *s = lpw_telemetry_build_topic("lpwagw", "gw1", "status", NULL);
	assert_string_equal(s, "lpwagw/gw1/status");
	free(s);
	s = lpw_telemetry_build_topic("site/a", "gw1", "devices", "dev-7");
	assert_string_equal(s, "site/a/gw1/devices/dev-7");
	free(s);
	/* Wildcards, empty levels and a slash inside one level are refused. */
	assert_null(lpw_telemetry_build_topic("lpw+", "gw1", "status", NULL));
	assert_null(lpw_telemetry_build_topic("lpw", "gw#", "status", NULL));
	assert_null(lpw_telemetry_build_topic("lpw", "g/w", "status", NULL));
	assert_null(lpw_telemetry_build_topic("lpw", "gw", "devices", "a/b"));
	assert_null(lpw_telemetry_build_topic("lpw", "gw", "devices", ""));
	assert_null(lpw_telemetry_build_topic("/lpw", "gw", "status", NULL));
	assert_null(lpw_telemetry_build_topic("lpw/", "gw", "status", NULL));
	assert_null(lpw_telemetry_build_topic("a//b", "gw", "status", NULL));
	assert_null(lpw_telemetry_build_topic("", "gw", "status", NULL));
	assert_null(lpw_telemetry_build_topic(NULL, "gw", "status", NULL));
	assert_null(lpw_telemetry_build_topic("lpw", "gw", "devices", "x\ny"));
}

static void test_status(void **state)
{
	json_t *v = parse(lpw_telemetry_build_status(true, "1.2.3", 1700000000, "gw1"));
	assert_int_equal(json_object_size(v), 4);
	assert_string_equal(json_string_value(json_object_get(v, "state")), "online");
	assert_string_equal(json_string_value(json_object_get(v, "version")), "1.2.3");
	assert_int_equal(int_at(v, "started", NULL), 1700000000);
	assert_string_equal(json_string_value(json_object_get(v, "gateway_id")), "gw1");
	json_decref(v);

	v = parse(lpw_telemetry_build_status(false, "1.2.3", 5, "gw \"quoted\""));
	assert_string_equal(json_string_value(json_object_get(v, "state")), "offline");
	assert_string_equal(json_string_value(json_object_get(v, "gateway_id")), "gw \"quoted\"");
	json_decref(v);
	assert_null(lpw_telemetry_build_status(true, NULL, 0, "gw"));
}

static void test_stats(void **state)
{
	lpw_stats_t st = {0};
	for (int k = 0; k < LPW_BINDING_COUNT; k++) {
		st.msgs_up[k] = 100 + (uint64_t)k;
		st.msgs_down[k] = 200 + (uint64_t)k;
	}
	st.dropped_unknown_device = 3;
	st.dropped_malformed = 4;
	st.duplicates = 5;
	st.upstream_reconnects = 6;
	st.errors = 7;
	st.devices_known = 8;
	st.devices_reachable = 9;
	st.upstream_up = 10;
	st.upstream_down = 11;
	st.queue_depth = 12;
	st.msgs_up[0] = 5000000000ULL; /* beyond 32 bits */

	st.events_suppressed = 14;
	json_t *v = parse(lpw_telemetry_build_stats(&st, 3600, 13));
	assert_int_equal(json_object_size(v), 10);
	assert_int_equal(int_at(v, "uptime", NULL), 3600);
	assert_int_equal(int_at(v, "devices", "known"), 8);
	assert_int_equal(int_at(v, "devices", "reachable"), 9);
	assert_int_equal(int_at(v, "upstream", "up"), 10);
	assert_int_equal(int_at(v, "upstream", "down"), 11);
	assert_int_equal(int_at(v, "upstream", "reconnects"), 6);
	assert_int_equal(int_at(v, "queue_depth", NULL), 12);
	assert_int_equal(int_at(v, "dropped", "unknown_device"), 3);
	assert_int_equal(int_at(v, "dropped", "malformed"), 4);
	assert_int_equal(int_at(v, "duplicates", NULL), 5);
	assert_int_equal(int_at(v, "errors", NULL), 7);
	assert_int_equal(int_at(v, "telemetry_dropped", NULL), 13);
	assert_int_equal(int_at(v, "suppressed", "events"), 14);
	assert_int_equal(int_at(v, "suppressed", "log"), (json_int_t)lpw_log_suppressed());

	json_t *up = json_object_get(json_object_get(v, "messages"), "up");
	json_t *down = json_object_get(json_object_get(v, "messages"), "down");
	assert_int_equal(json_object_size(up), LPW_BINDING_COUNT);
	assert_int_equal(json_object_size(down), LPW_BINDING_COUNT);
	assert_int_equal(int_at(up, "nidd-sgi", NULL), 5000000000LL);
	for (int k = 1; k < LPW_BINDING_COUNT; k++) {
		const char *name = lpw_config_binding_name((lpw_binding_kind_t)k);
		assert_int_equal(int_at(up, name, NULL), 100 + k);
		assert_int_equal(int_at(down, name, NULL), 200 + k);
	}
	json_decref(v);

	/* NULL stats report zeros, same shape. */
	v = parse(lpw_telemetry_build_stats(NULL, 1, 0));
	assert_int_equal(json_object_size(v), 10);
	assert_int_equal(int_at(v, "errors", NULL), 0);
	assert_int_equal(json_object_size(json_object_get(json_object_get(v, "messages"), "up")), LPW_BINDING_COUNT);
	json_decref(v);
}

static void test_event(void **state)
{
	json_t *v = parse(lpw_telemetry_build_event(1700000001, "device_registered", "dev1", "lifetime 300"));
	assert_int_equal(json_object_size(v), 4);
	assert_int_equal(int_at(v, "time", NULL), 1700000001);
	assert_string_equal(json_string_value(json_object_get(v, "type")), "device_registered");
	assert_string_equal(json_string_value(json_object_get(v, "device")), "dev1");
	assert_string_equal(json_string_value(json_object_get(v, "detail")), "lifetime 300");
	json_decref(v);

	/* No device: the member is absent, not null. Control characters are escaped by jansson. */
	v = parse(lpw_telemetry_build_event(2, "tls_fail", NULL, "line\n\"two\""));
	assert_int_equal(json_object_size(v), 3);
	assert_null(json_object_get(v, "device"));
	assert_string_equal(json_string_value(json_object_get(v, "detail")), "line\n\"two\"");
	json_decref(v);

	v = parse(lpw_telemetry_build_event(2, "x", NULL, NULL));
	assert_string_equal(json_string_value(json_object_get(v, "detail")), "");
	json_decref(v);

	assert_null(lpw_telemetry_build_event(2, NULL, NULL, "d"));
	assert_null(lpw_telemetry_build_event(2, "", NULL, "d"));
	/* Invalid UTF-8 from the outside world is refused, never published as broken JSON. */
	assert_null(lpw_telemetry_build_event(2, "x", "dev\xff", "d"));
}

static void test_device_state_strips_secrets(void **state)
{
	json_t *in = json_pack("{s:b, s:i, s:{s:i, s:i}, s:s, s:s, s:{s:s}, s:[{s:s}]}", "registered", 1,
			       "lifetime", 300, "upstream", "up", 1, "down", 0, "psk_key", "SECRET-ONE", "AppKey",
			       "SECRET-TWO", "tls", "Password", "SECRET-THREE", "list", "secret", "SECRET-FOUR");
	assert_non_null(in);
	char *text = lpw_telemetry_build_device_state(in);
	assert_non_null(text);
	assert_null(strstr(text, "SECRET"));
	json_t *v = parse(text);
	assert_true(json_is_true(json_object_get(v, "registered")));
	assert_int_equal(int_at(v, "lifetime", NULL), 300);
	assert_int_equal(int_at(v, "upstream", "up"), 1);
	assert_null(json_object_get(v, "psk_key"));
	assert_null(json_object_get(v, "AppKey"));
	assert_int_equal(json_object_size(json_object_get(v, "tls")), 0);
	/* The caller's object is borrowed and left untouched. */
	assert_string_equal(json_string_value(json_object_get(in, "psk_key")), "SECRET-ONE");
	json_decref(v);
	json_decref(in);

	json_t *arr = json_array();
	assert_null(lpw_telemetry_build_device_state(arr));
	assert_null(lpw_telemetry_build_device_state(NULL));
	json_decref(arr);
}

static void report_sample(void *arg, json_t *obj)
{
	json_object_set_new(obj, "datagrams", json_integer(*(int *)arg));
}

/* A module's counters appear under the name it registered, and go when it leaves. */
static void test_stats_sources(void **state)
{
	lpw_stats_t st = {0};
	int n = 850000;
	lpw_stats_source_t src = {.name = "forwarders", .report = report_sample, .arg = &n};
	for (int i = 0; i < LPW_STATS_MAX_SOURCES; i++)
		assert_int_equal(lpw_stats_add_source(&st, &src), 0);
	assert_int_equal(lpw_stats_add_source(&st, &src), -ENOSPC);
	for (int i = 0; i < LPW_STATS_MAX_SOURCES; i++)
		lpw_stats_del_source(&st, &n);
	assert_int_equal(lpw_stats_add_source(&st, &src), 0);
	json_t *v = parse(lpw_telemetry_build_stats(&st, 1, 0));
	assert_int_equal(json_object_size(v), 11);
	assert_int_equal(int_at(v, "forwarders", "datagrams"), 850000);
	json_decref(v);
	lpw_stats_del_source(&st, &n);
	v = parse(lpw_telemetry_build_stats(&st, 1, 0));
	assert_null(json_object_get(v, "forwarders"));
	json_decref(v);
}

/* No builder is given the password; this also checks that none embeds what the config holds
 * through some other path (the client id, gateway id and version are the only strings used). */
static void test_no_secret_in_payloads(void **state)
{
	const char *password = "pa55-w0rd-XYZ";
	char *payloads[] = {
		lpw_telemetry_build_status(true, "1.0", 1, "gw1"),
		lpw_telemetry_build_status(false, "1.0", 1, "gw1"),
		lpw_telemetry_build_stats(NULL, 1, 0),
		lpw_telemetry_build_event(1, "t", "d", "detail"),
	};
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		assert_non_null(payloads[i]);
		assert_null(strstr(payloads[i], password));
		free(payloads[i]);
	}
}

/* Invalid configurations are refused without touching the network. */
static void test_new_rejects_bad_config(void **state)
{
	lpw_clock_t *clock = lpw_clock_new_fake(0);
	lpw_loop_t *loop = lpw_loop_new(clock);
	assert_non_null(loop);
	lpw_telemetry_config_t cfg = {.host = "127.0.0.1", .gateway_id = "gw/1"};
	assert_null(lpw_telemetry_new(loop, &cfg, NULL));
	cfg.gateway_id = "gw1";
	cfg.topic_prefix = "a/#";
	assert_null(lpw_telemetry_new(loop, &cfg, NULL));
	cfg.topic_prefix = NULL;
	cfg.host = NULL;
	assert_null(lpw_telemetry_new(loop, &cfg, NULL));
	assert_int_equal(lpw_timers_count(lpw_loop_timers(loop)), 0);
	lpw_telemetry_free(NULL);
	lpw_loop_free(loop);
	lpw_clock_free(clock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topics),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_stats_sources),
		cmocka_unit_test(test_event),
		cmocka_unit_test(test_device_state_strips_secrets),
		cmocka_unit_test(test_no_secret_in_payloads),
		cmocka_unit_test(test_new_rejects_bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
