/* The unit tests' binding host: the real device table, recording callbacks. */
#include "tests/unit/common/test_host.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void th_uplink(void *ctx, lpw_device_t *dev, int server, const uint8_t *data, size_t len)
{
	test_host_t *h = ctx;
	h->uplinks++;
	h->last_dev = dev;
	h->last_server = server;
	assert_true(len <= sizeof(h->last_uplink));
	memcpy(h->last_uplink, data, len);
	h->last_uplink_len = len;
}

static void th_reachable(void *ctx, lpw_device_t *dev, uint32_t window_ms)
{
	test_host_t *h = ctx;
	h->reachable++;
	h->last_dev = dev;
	h->last_window_ms = window_ms;
}

static void th_outcome(void *ctx, lpw_device_t *dev, lpw_delivery_t o)
{
	test_host_t *h = ctx;
	h->failed += o == LPW_DELIVERY_FAILED;
	h->buffered += o == LPW_DELIVERY_BUFFERED;
	h->delivered += o == LPW_DELIVERY_OK;
}

static lpw_device_t *th_find(void *ctx, lpw_binding_kind_t kind, const char *identity)
{
	return lpw_devtab_find(((test_host_t *)ctx)->tab, kind, identity);
}

static lpw_device_t *th_find_key(void *ctx, lpw_binding_kind_t kind, const void *key, size_t len)
{
	return lpw_devtab_find_key(((test_host_t *)ctx)->tab, kind, key, len);
}

static int th_set_key(void *ctx, lpw_device_t *dev, const void *key, size_t len)
{
	return lpw_devtab_set_key(((test_host_t *)ctx)->tab, dev, key, len);
}

static void th_dropped(void *ctx, lpw_binding_kind_t kind)
{
	((test_host_t *)ctx)->dropped++;
}

static void th_event(void *ctx, lpw_device_t *dev, const char *type, const char *detail)
{
	test_host_t *h = ctx;
	h->events++;
	snprintf(h->last_event, sizeof(h->last_event), "%s", type);
}

void test_host_init(test_host_t *h)
{
	memset(h, 0, sizeof(*h));
	h->tab = lpw_devtab_new();
	assert_non_null(h->tab);
	h->host = (lpw_binding_host_t){th_uplink, th_reachable, th_outcome, th_find, th_find_key, th_set_key,
	                               th_dropped, th_event, h};
}

lpw_device_t *test_host_add(test_host_t *h, const lpw_config_device_t *cfg)
{
	lpw_device_t *dev = NULL;
	assert_int_equal(lpw_devtab_add(h->tab, cfg, &dev), 0);
	return dev;
}

void test_host_fini(test_host_t *h)
{
	lpw_devtab_free(h->tab);
	h->tab = NULL;
}
