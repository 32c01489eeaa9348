/* Unit tests of the test server's input parsers: Register/Update queries, object lists, control lines. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tools/lwm2m-test-server/command.h"
#include "tools/lwm2m-test-server/registration.h"

static int parse_all(lpw_reg_params_t *p, lpw_reg_kind_t kind, const char *const *qs, char *reason)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; qs[i]; i++) {
		int rc = lpw_reg_parse_query(p, kind, (const uint8_t *)qs[i], strlen(qs[i]), reason, 128);
		if (rc)
			return rc;
	}
	return 0;
}

static void register_query_accepts_a_full_register(void **state)
{
	const char *const qs[] = {"ep=urn:imei:123", "lt=60", "lwm2m=1.1", "b=UQ", "sms=+4912345", "Q", NULL};
	lpw_reg_params_t p;
	char reason[128];
	assert_int_equal(parse_all(&p, LPW_REG_REGISTER, qs, reason), 0);
	assert_int_equal(lpw_reg_check_register(&p, reason, sizeof(reason)), 0);
	assert_string_equal(p.ep, "urn:imei:123");
	assert_int_equal(p.lt, 60);
	assert_string_equal(p.lwm2m, "1.1");
	assert_string_equal(p.b, "UQ");
	assert_string_equal(p.sms, "+4912345");
	assert_true(p.queue);
}

static void register_query_rejects_bad_input(void **state)
{
	static const struct {
		const char *q[4];
		const char *reason;
	} cases[] = {
		{{"foo=1"}, "unknown parameter foo"},
		{{"ep=a", "ep=b"}, "duplicate parameter ep"},
		{{"ep="}, "ep must be"},
		{{"ep=a b"}, "ep must be"},
		{{"lt=0"}, "lt out of range"},
		{{"lt=4294967296"}, "lt out of range"},
		{{"lt=12a"}, "lt must be"},
		{{"lt"}, "parameter lt needs a value"},
		{{"lwm2m=1"}, "lwm2m must"},
		{{"lwm2m=1.1.1"}, "lwm2m must"},
		{{"b=X"}, "b must"},
		{{"Q=1"}, "Q takes no value"},
		{{"=x"}, "empty query parameter name"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *qs[5] = {cases[i].q[0], cases[i].q[1], cases[i].q[2], cases[i].q[3], NULL};
		lpw_reg_params_t p;
		char reason[128] = "";
		assert_int_equal(parse_all(&p, LPW_REG_REGISTER, qs, reason), -EINVAL);
		if (!strstr(reason, cases[i].reason))
			fail_msg("case %zu: reason '%s' lacks '%s'", i, reason, cases[i].reason);
	}
}

static void register_needs_ep_and_lwm2m(void **state)
{
	const char *const no_ep[] = {"lt=60", "lwm2m=1.1", NULL};
	const char *const no_ver[] = {"ep=x", NULL};
	lpw_reg_params_t p;
	char reason[128];
	assert_int_equal(parse_all(&p, LPW_REG_REGISTER, no_ep, reason), 0);
	assert_int_equal(lpw_reg_check_register(&p, reason, sizeof(reason)), -EINVAL);
	assert_string_equal(reason, "missing ep");
	assert_int_equal(parse_all(&p, LPW_REG_REGISTER, no_ver, reason), 0);
	assert_int_equal(lpw_reg_check_register(&p, reason, sizeof(reason)), -EINVAL);
	assert_string_equal(reason, "missing lwm2m");
}

static void update_allows_only_lt_b_sms(void **state)
{
	const char *const ok[] = {"lt=5", "b=U", "sms=123", NULL};
	const char *const bad[] = {"ep=x", NULL};
	lpw_reg_params_t p;
	char reason[128];
	assert_int_equal(parse_all(&p, LPW_REG_UPDATE, ok, reason), 0);
	assert_int_equal(p.lt, 5);
	assert_int_equal(parse_all(&p, LPW_REG_UPDATE, bad, reason), -EINVAL);
	assert_string_equal(reason, "parameter ep not allowed in Update");
}

static void links_are_validated(void **state)
{
	static const char *const good[] = {"</3/0>", "</1/0>;ver=1.1,</3/0>,</5>", "</>;rt=\"oma.lwm2m\";ct=11543",
	                                   "</3303/0>;a;b=\"x,y\""};
	static const char *const bad[] = {"", "3/0", "<3/0>", "</3/0", "</3/0>,", "</3/0>x", "</3/0>;", "</3/0>;a=",
	                                  "</3/0>;a=\"open", "</3 /0>", "</3/0>,,</4>"};
	char reason[128];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (lpw_reg_check_links((const uint8_t *)good[i], strlen(good[i]), reason, sizeof(reason)))
			fail_msg("'%s' rejected: %s", good[i], reason);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (lpw_reg_check_links((const uint8_t *)bad[i], strlen(bad[i]), reason, sizeof(reason)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
}

static void commands_parse(void **state)
{
	lpw_command_t c;
	char reason[128];
	assert_int_equal(lpw_command_parse("read ep1 /3/0/0 accept=tlv", &c, reason, sizeof(reason)), 0);
	assert_int_equal(c.kind, LPW_CMD_READ);
	assert_string_equal(c.ep, "ep1");
	assert_string_equal(c.path, "/3/0/0");
	assert_int_equal(c.accept, LPW_CF_TLV);
	lpw_command_clear(&c);

	assert_int_equal(lpw_command_parse("write ep1 /1/0/1 opaque-hex 00Ff10", &c, reason, sizeof(reason)), 0);
	assert_int_equal(c.kind, LPW_CMD_WRITE);
	assert_int_equal(c.format, LPW_CF_OPAQUE);
	assert_int_equal(c.payload_len, 3);
	assert_memory_equal(c.payload, "\x00\xff\x10", 3);
	lpw_command_clear(&c);

	assert_int_equal(lpw_command_parse("write ep1 /1/0/1 text hello world ", &c, reason, sizeof(reason)), 0);
	assert_int_equal(c.payload_len, 11);
	assert_memory_equal(c.payload, "hello world", 11);
	lpw_command_clear(&c);

	assert_int_equal(lpw_command_parse("write-attr e /3/0/9 pmin=1&pmax=5", &c, reason, sizeof(reason)), 0);
	assert_string_equal(c.query, "pmin=1&pmax=5");
	assert_int_equal(lpw_command_parse("cancel e 17", &c, reason, sizeof(reason)), 0);
	assert_int_equal(c.target_id, 17);
	assert_int_equal(lpw_command_parse("read-composite e senml-json [{\"n\":\"/3\"}]", &c, reason, sizeof(reason)),
	                 0);
	assert_string_equal(c.path, "/");
	assert_int_equal(c.accept, LPW_CF_SENML_JSON);
	lpw_command_clear(&c);
	assert_int_equal(lpw_command_parse("list", &c, reason, sizeof(reason)), 0);
	assert_int_equal(c.kind, LPW_CMD_LIST);
}

static void commands_reject_bad_input(void **state)
{
	static const struct {
		const char *line;
		const char *reason;
	} cases[] = {
		{"", "empty command"},
		{"fly e /3", "unknown command"},
		{"read", "missing EP"},
		{"read e", "missing PATH"},
		{"read e 3/0", "path must start"},
		{"read e /3//0", "empty path segment"},
		{"read e /3/0 junk", "expected accept="},
		{"read e /3/0 accept=nope", "unknown accept format"},
		{"write e /3/0/1", "missing FORMAT"},
		{"write e /3/0/1 xml <a/>", "unknown format"},
		{"write e /3/0/1 opaque-hex abc", "odd number"},
		{"write e /3/0/1 tlv-hex zz", "bad hex digit"},
		{"cancel e", "cancel needs EP ID"},
		{"cancel e -1", "bad id"},
		{"cancel e 0", "bad id"},
		{"write-attr e /3/0/9", "missing QUERY"},
		{"write-attr e /3/0/9 a&&b", "empty query parameter"},
		{"delete e /1/0 extra", "unexpected text"},
		{"list now", "list takes no arguments"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lpw_command_t c;
		char reason[128] = "";
		assert_int_equal(lpw_command_parse(cases[i].line, &c, reason, sizeof(reason)), -EINVAL);
		if (!strstr(reason, cases[i].reason))
			fail_msg("'%s': reason '%s' lacks '%s'", cases[i].line, reason, cases[i].reason);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(register_query_accepts_a_full_register),
		cmocka_unit_test(register_query_rejects_bad_input),
		cmocka_unit_test(register_needs_ep_and_lwm2m),
		cmocka_unit_test(update_allows_only_lt_b_sms),
		cmocka_unit_test(links_are_validated),
		cmocka_unit_test(commands_parse),
		cmocka_unit_test(commands_reject_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
