/* lpw_metrics_render: the Prometheus text of a stats payload with every kind of member (gateway-wide numbers, one
 * per binding, a binding's report with a text and a nested object, a source keyed by EUI). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/metrics.h"

static const char *const payload =
	"{\"uptime\":12,\"devices\":{\"known\":3,\"reachable\":2},"
	"\"messages\":{\"up\":{\"lorawan\":5,\"nidd-sgi\":7},\"down\":{\"lorawan\":1,\"nidd-sgi\":0}},"
	"\"upstream\":{\"up\":2,\"down\":1,\"reconnects\":4},\"queue_depth\":6,"
	"\"dropped\":{\"unknown_device\":8,\"malformed\":9},\"duplicates\":10,\"errors\":11,\"telemetry_dropped\":0,"
	"\"suppressed\":{\"log\":13,\"events\":14},"
	"\"bindings\":{\"sms\":{\"messages_in\":15,\"modem\":{\"state\":\"ready \\\"1\\\"\",\"rssi\":20}}},"
	"\"forwarders\":{\"datagrams\":16,\"by_eui\":{\"0011223344556677\":{\"push_data\":17,\"up\":true}}}}";

static char *render(void)
{
	json_t *j = json_loads(payload, 0, NULL);
	assert_non_null(j);
	char *text = lpw_metrics_render(j);
	json_decref(j);
	assert_non_null(text);
	return text;
}

static void has(const char *text, const char *line)
{
	char *want = NULL;
	assert_true(asprintf(&want, "\n%s\n", line) > 0);
	if (!strstr(text, want))
		fail_msg("missing line %s in:\n%s", line, text);
	free(want);
}

static void test_core_members(void **state)
{
	(void)state;
	char *t = render();
	has(t, "# TYPE lpwagw_uptime_seconds gauge");
	has(t, "lpwagw_uptime_seconds 12");
	has(t, "lpwagw_devices_known 3");
	has(t, "# TYPE lpwagw_messages_up_total counter");
	has(t, "lpwagw_messages_up_total{binding=\"lorawan\"} 5");
	has(t, "lpwagw_messages_up_total{binding=\"nidd-sgi\"} 7");
	has(t, "lpwagw_messages_down_total{binding=\"nidd-sgi\"} 0");
	has(t, "lpwagw_upstream_sessions_down 1");
	has(t, "lpwagw_upstream_reconnects_total 4");
	has(t, "lpwagw_queue_depth 6");
	has(t, "lpwagw_dropped_unknown_device_total 8");
	has(t, "lpwagw_dropped_malformed_total 9");
	has(t, "lpwagw_log_lines_suppressed_total 13");
	has(t, "lpwagw_events_suppressed_total 14");
	assert_int_equal(strncmp(t, "# HELP lpwagw_uptime_seconds ", 29), 0);
	free(t);
}

static void test_sources(void **state)
{
	(void)state;
	char *t = render();
	has(t, "# TYPE lpwagw_binding_messages_in untyped");
	has(t, "lpwagw_binding_messages_in{binding=\"sms\"} 15");
	has(t, "lpwagw_binding_modem_rssi{binding=\"sms\"} 20");
	has(t, "lpwagw_binding_modem_state_info{binding=\"sms\",value=\"ready \\\"1\\\"\"} 1");
	has(t, "lpwagw_forwarders_datagrams 16");
	has(t, "lpwagw_forwarders_by_eui_push_data{eui=\"0011223344556677\"} 17");
	has(t, "lpwagw_forwarders_by_eui_up{eui=\"0011223344556677\"} 1");
	free(t);
}

/* Each family once, HELP then TYPE then its samples. */
static void test_families_whole(void **state)
{
	(void)state;
	char *t = render();
	const char *fam = strstr(t, "# HELP lpwagw_messages_up_total ");
	assert_non_null(fam);
	assert_null(strstr(fam + 1, "# HELP lpwagw_messages_up_total "));
	const char *next = strstr(fam + 1, "# HELP ");
	const char *last = strstr(fam, "lpwagw_messages_up_total{binding=\"nidd-sgi\"}");
	assert_true(last && next && last < next);
	free(t);
}

static void test_not_an_object(void **state)
{
	(void)state;
	json_t *a = json_array();
	assert_null(lpw_metrics_render(a));
	assert_null(lpw_metrics_render(NULL));
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core_members),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_families_whole),
		cmocka_unit_test(test_not_an_object),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
