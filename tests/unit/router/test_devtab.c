/* The device table: lookups by id, binding identity and binding-owned key; handles that survive updates;
 * refusals of duplicates; removal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/devtab.h"

static lpw_config_device_t mk(const char *id, lpw_binding_kind_t kind, const char *identity)
{
	return (lpw_config_device_t){.id = (char *)id, .binding = kind, .identity = (char *)identity};
}

static void test_lookups(void **state)
{
	lpw_devtab_t *t = lpw_devtab_new();
	lpw_config_device_t a = mk("a", LPW_BINDING_NIDD_SGI, "10.0.0.1"), b = mk("b", LPW_BINDING_LORAWAN, "0011");
	lpw_device_t *da, *db;
	assert_int_equal(lpw_devtab_add(t, &a, &da), 0);
	assert_int_equal(lpw_devtab_add(t, &b, &db), 0);
	assert_ptr_equal(lpw_devtab_find_id(t, "a"), da);
	assert_ptr_equal(lpw_devtab_find_id(t, "b"), db);
	assert_null(lpw_devtab_find_id(t, "c"));
	assert_null(lpw_devtab_find_id(t, NULL));
	assert_ptr_equal(lpw_devtab_find(t, LPW_BINDING_NIDD_SGI, "10.0.0.1"), da);
	/* the same identity text in another binding is another key */
	assert_null(lpw_devtab_find(t, LPW_BINDING_LORAWAN, "10.0.0.1"));
	assert_ptr_equal(lpw_devtab_find(t, LPW_BINDING_LORAWAN, "0011"), db);
	assert_int_not_equal(lpw_device_handle(da), lpw_device_handle(db));
	assert_int_equal(lpw_devtab_count(t), 2);
	lpw_devtab_free(t);
}

static void test_duplicates_refused(void **state)
{
	lpw_devtab_t *t = lpw_devtab_new();
	lpw_config_device_t a = mk("a", LPW_BINDING_NIDD_SGI, "10.0.0.1");
	lpw_config_device_t same_id = mk("a", LPW_BINDING_NIDD_SGI, "10.0.0.2");
	lpw_config_device_t same_ident = mk("z", LPW_BINDING_NIDD_SGI, "10.0.0.1");
	lpw_device_t *d, *x = NULL;
	assert_int_equal(lpw_devtab_add(t, &a, &d), 0);
	assert_int_equal(lpw_devtab_add(t, &same_id, &x), -EEXIST);
	assert_int_equal(lpw_devtab_add(t, &same_ident, &x), -EEXIST);
	assert_null(x);
	assert_int_equal(lpw_devtab_count(t), 1);
	lpw_devtab_free(t);
}

static void test_keys(void **state)
{
	lpw_devtab_t *t = lpw_devtab_new();
	lpw_config_device_t a = mk("a", LPW_BINDING_LORAWAN, "01"), b = mk("b", LPW_BINDING_LORAWAN, "02");
	lpw_config_device_t c = mk("c", LPW_BINDING_NIDD_SGI, "10.0.0.3");
	lpw_device_t *da, *db, *dc;
	assert_int_equal(lpw_devtab_add(t, &a, &da), 0);
	assert_int_equal(lpw_devtab_add(t, &b, &db), 0);
	assert_int_equal(lpw_devtab_add(t, &c, &dc), 0);
	const uint8_t k1[4] = {1, 2, 3, 4}, k2[4] = {5, 6, 7, 8};
	assert_int_equal(lpw_devtab_set_key(t, da, k1, 4), 0);
	assert_ptr_equal(lpw_devtab_find_key(t, LPW_BINDING_LORAWAN, k1, 4), da);
	assert_int_equal(lpw_devtab_set_key(t, db, k1, 4), -EEXIST); /* one device per key in a binding's space */
	assert_int_equal(lpw_devtab_set_key(t, dc, k1, 4), 0);        /* another binding's space */
	assert_ptr_equal(lpw_devtab_find_key(t, LPW_BINDING_NIDD_SGI, k1, 4), dc);
	/* a new key replaces the old one (a re-join's new DevAddr) */
	assert_int_equal(lpw_devtab_set_key(t, da, k2, 4), 0);
	assert_null(lpw_devtab_find_key(t, LPW_BINDING_LORAWAN, k1, 4));
	assert_ptr_equal(lpw_devtab_find_key(t, LPW_BINDING_LORAWAN, k2, 4), da);
	assert_int_equal(lpw_devtab_set_key(t, db, k1, 4), 0); /* free again */
	assert_int_equal(lpw_devtab_set_key(t, da, NULL, 0), 0);
	assert_null(lpw_devtab_find_key(t, LPW_BINDING_LORAWAN, k2, 4));
	uint8_t big[LPW_DEVTAB_KEY_MAX + 1] = {0};
	assert_int_equal(lpw_devtab_set_key(t, da, big, sizeof(big)), -EINVAL);
	/* removing a device frees its key */
	lpw_devtab_remove(t, db);
	assert_null(lpw_devtab_find_key(t, LPW_BINDING_LORAWAN, k1, 4));
	assert_null(lpw_devtab_find_id(t, "b"));
	lpw_devtab_free(t);
}

/* A reload re-points an entry at the new configuration: the handle and every module's slot stay. */
static void test_update_keeps_handle(void **state)
{
	lpw_devtab_t *t = lpw_devtab_new();
	lpw_config_device_t a = mk("a", LPW_BINDING_NIDD_SGI, "10.0.0.1"), b = mk("b", LPW_BINDING_NIDD_SGI, "10.0.0.2");
	lpw_device_t *da, *db;
	assert_int_equal(lpw_devtab_add(t, &a, &da), 0);
	assert_int_equal(lpw_devtab_add(t, &b, &db), 0);
	int slot_state;
	lpw_device_set_slot(da, LPW_SLOT_PROXY, &slot_state);
	uint32_t handle = lpw_device_handle(da);
	lpw_config_device_t a2 = mk("a", LPW_BINDING_NIDD_SGI, "10.0.0.9");
	assert_int_equal(lpw_devtab_update(t, da, &a2), 0);
	assert_ptr_equal(lpw_device_config(da), &a2);
	assert_int_equal(lpw_device_handle(da), handle);
	assert_ptr_equal(lpw_device_slot(da, LPW_SLOT_PROXY), &slot_state);
	assert_null(lpw_devtab_find(t, LPW_BINDING_NIDD_SGI, "10.0.0.1"));
	assert_ptr_equal(lpw_devtab_find(t, LPW_BINDING_NIDD_SGI, "10.0.0.9"), da);
	/* another device's identity is refused, and nothing changes */
	lpw_config_device_t a3 = mk("a", LPW_BINDING_NIDD_SGI, "10.0.0.2");
	assert_int_equal(lpw_devtab_update(t, da, &a3), -EEXIST);
	assert_ptr_equal(lpw_device_config(da), &a2);
	assert_ptr_equal(lpw_devtab_find(t, LPW_BINDING_NIDD_SGI, "10.0.0.2"), db);
	lpw_device_set_slot(da, LPW_SLOT_PROXY, NULL);
	/* a handle is never given twice, even after a removal */
	lpw_devtab_remove(t, da);
	lpw_device_t *dn;
	assert_int_equal(lpw_devtab_add(t, &a, &dn), 0);
	assert_true(lpw_device_handle(dn) > lpw_device_handle(db));
	lpw_devtab_free(t);
}

static void count_one(lpw_device_t *dev, void *arg)
{
	(*(size_t *)arg)++;
}

/* Many devices: every one is found by each of its keys. */
static void test_many(void **state)
{
	enum { N = 20000 };
	static lpw_config_device_t cfg[N];
	static char ids[N][16], idents[N][16];
	lpw_devtab_t *t = lpw_devtab_new();
	lpw_device_t *d[N];
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "dev-%d", i);
		snprintf(idents[i], sizeof(idents[i]), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		cfg[i] = mk(ids[i], LPW_BINDING_NIDD_SGI, idents[i]);
		assert_int_equal(lpw_devtab_add(t, &cfg[i], &d[i]), 0);
		uint32_t key = (uint32_t)i;
		assert_int_equal(lpw_devtab_set_key(t, d[i], &key, sizeof(key)), 0);
	}
	for (int i = 0; i < N; i++) {
		uint32_t key = (uint32_t)i;
		assert_ptr_equal(lpw_devtab_find_id(t, ids[i]), d[i]);
		assert_ptr_equal(lpw_devtab_find(t, LPW_BINDING_NIDD_SGI, idents[i]), d[i]);
		assert_ptr_equal(lpw_devtab_find_key(t, LPW_BINDING_NIDD_SGI, &key, sizeof(key)), d[i]);
	}
	size_t n = 0;
	lpw_devtab_foreach(t, count_one, &n);
	assert_int_equal(n, N);
	lpw_devtab_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups),       cmocka_unit_test(test_duplicates_refused),
		cmocka_unit_test(test_keys),          cmocka_unit_test(test_update_keeps_handle),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
