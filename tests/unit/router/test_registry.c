/* The binding registry: one row per binding kind, named as the configuration names it; the bindings that are
 * not built yet refuse to start with a clear error when a device uses them, and stay off otherwise. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bindings/binding.h"

static void test_rows(void **state)
{
	bool seen[LPW_BINDING_COUNT] = {false};
	assert_int_equal(lpw_binding_registry_len, LPW_BINDING_COUNT);
	for (size_t i = 0; i < lpw_binding_registry_len; i++) {
		const lpw_binding_desc_t *r = &lpw_binding_registry[i];
		assert_true((unsigned)r->kind < LPW_BINDING_COUNT);
		assert_false(seen[r->kind]);
		seen[r->kind] = true;
		assert_string_equal(r->name, lpw_config_binding_name(r->kind));
		assert_non_null(r->enabled);
		assert_non_null(r->create);
	}
}

static const lpw_binding_desc_t *row_of(lpw_binding_kind_t kind)
{
	for (size_t i = 0; i < lpw_binding_registry_len; i++)
		if (lpw_binding_registry[i].kind == kind)
			return &lpw_binding_registry[i];
	fail();
	return NULL;
}

/* Nothing configured: no row is on. */
static void test_nothing_enabled(void **state)
{
	lpw_config_t cfg = {0};
	for (size_t i = 0; i < lpw_binding_registry_len; i++)
		assert_false(lpw_binding_registry[i].enabled(&cfg));
}

/* A nidd-t8 device without bindings.nidd_t8 turns the binding on, and it refuses to start without its SCEF. */
static void test_t8_needs_its_section(void **state)
{
	lpw_config_device_t dev = {.id = "x", .binding = LPW_BINDING_NIDD_T8, .identity = "491701234567"};
	lpw_config_t cfg = {.devices = &dev, .ndevices = 1};
	const lpw_binding_desc_t *r = row_of(LPW_BINDING_NIDD_T8);
	assert_true(r->enabled(&cfg)); /* on because a device uses it: refused loudly, not ignored */
	lpw_binding_env_t env = {.cfg = &cfg};
	lpw_binding_t b = {0};
	assert_int_equal(r->create(&env, &b), -EINVAL);
	assert_null(b.ops);
}

/* An sms device without bindings.sms turns the binding on, and it refuses to start without its modem. */
static void test_sms_needs_its_section(void **state)
{
	lpw_config_device_t dev = {.id = "x", .binding = LPW_BINDING_SMS, .identity = "491701234567"};
	lpw_config_t cfg = {.devices = &dev, .ndevices = 1};
	const lpw_binding_desc_t *r = row_of(LPW_BINDING_SMS);
	assert_true(r->enabled(&cfg));
	lpw_binding_env_t env = {.cfg = &cfg};
	lpw_binding_t b = {0};
	assert_int_equal(r->create(&env, &b), -EINVAL);
	assert_null(b.ops);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_nothing_enabled),
		cmocka_unit_test(test_t8_needs_its_section),
		cmocka_unit_test(test_sms_needs_its_section),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
