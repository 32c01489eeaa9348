/* The SMS configuration: every bindings.sms key read, its defaults, the PIN from a secret file, MSISDNs with a
 * leading '+' normalised, the wake-up keys of devices of other bindings, and the SIGHUP diff of both. (Bad values
 * with file:line are in the config_check_cli catalogue, tests/unit/config/bad/sms-*.conf.) */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/config.h"

static char dir[64];

static const char *path_of(const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void write_file(const char *name, mode_t mode, const char *text)
{
	const char *p = path_of(name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
}

static lpw_config_t *load(const char *name)
{
	lpw_config_t *cfg = NULL;
	char *errs = NULL;
	size_t n;
	FILE *e = open_memstream(&errs, &n);
	int rc = lpw_config_load(path_of(name), &cfg, e);
	fclose(e);
	if (rc)
		fail_msg("%s: %s", name, errs);
	free(errs);
	return cfg;
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/lpw-sms-config-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	const char *names[] = {"a.conf", "b.conf", "sim.pin"};
	for (size_t i = 0; i < 3; i++)
		unlink(path_of(names[i]));
	rmdir(dir);
	return 0;
}

#define HEAD                                                                                                           \
	"gateway_id = \"gw\";\n"                                                                                       \
	"servers = ( { name = \"s\"; uri = \"coap+tcp://127.0.0.1\"; } );\n"

static void test_defaults(void **state)
{
	write_file("a.conf", 0644, HEAD);
	lpw_config_t *cfg = load("a.conf");
	const lpw_config_sms_t *s = &cfg->sms;
	assert_false(s->enabled);
	assert_null(s->device);
	assert_int_equal(s->baud, 115200);
	assert_int_equal(s->cnmi, LPW_SMS_CNMI_STORE);
	assert_null(s->pin);
	assert_null(s->smsc);
	assert_int_equal(s->dcs, 4);
	assert_int_equal(s->validity_s, 3600);
	assert_false(s->status_reports);
	assert_int_equal(s->max_parts, 4);
	assert_int_equal(s->reassembly_timeout_s, 300);
	assert_int_equal(s->max_chains, 4);
	assert_int_equal(s->reassembly_memory, 65536);
	assert_int_equal(s->rate_device, 60);
	assert_int_equal(s->rate_total, 600);
	assert_int_equal(s->reachable_window_s, 93);
	assert_int_equal(s->response_timeout_s, 120);
	assert_null(s->gpio_chip);
	lpw_config_free(cfg);
}

static void test_all_keys(void **state)
{
	write_file("sim.pin", 0600, "0815\n");
	write_file("a.conf", 0644,
		   HEAD "devices = (\n"
			"  { id = \"sms-1\"; binding = \"sms\"; msisdn = \"+491701234567\"; server = \"s\"; oscore = true; },\n"
			"  { id = \"sgi-1\"; binding = \"nidd-sgi\"; ip = \"127.0.0.2\"; server = \"s\";\n"
			"    sms = \"+491709876543\"; sms_wakeup_delay = 30; sms_wakeup_instance = 2; },\n"
			"  { id = \"sgi-2\"; binding = \"nidd-sgi\"; ip = \"127.0.0.3\"; server = \"s\";\n"
			"    sms = \"4917011111\"; sms_wakeup = false; },\n"
			"  { id = \"t8-1\"; binding = \"nidd-t8\"; msisdn = \"491702222222\"; server = \"s\"; } );\n"
			"bindings: { sms: { enabled = true; device = \"/dev/serial/by-id/usb-modem-if02\"; baud = 921600;\n"
			"  cnmi = \"direct\"; pin_file = \"sim.pin\"; smsc = \"+491710760000\"; dcs = 0xF5; validity = 0;\n"
			"  status_reports = true; max_parts = 8; reassembly_timeout = 60; max_chains = 2;\n"
			"  reassembly_memory = 4096; rate_device = 10; rate_total = 100; reachable_window = 30;\n"
			"  response_timeout = 45; gpio: { line = 23; active_low = true; }; }; };\n");
	lpw_config_t *cfg = load("a.conf");
	const lpw_config_sms_t *s = &cfg->sms;
	assert_true(s->enabled);
	assert_string_equal(s->device, "/dev/serial/by-id/usb-modem-if02");
	assert_int_equal(s->baud, 921600);
	assert_int_equal(s->cnmi, LPW_SMS_CNMI_DIRECT);
	assert_string_equal(s->pin, "0815");
	assert_string_equal(s->smsc, "491710760000");
	assert_int_equal(s->dcs, 0xF5);
	assert_int_equal(s->validity_s, 0);
	assert_true(s->status_reports);
	assert_int_equal(s->max_parts, 8);
	assert_int_equal(s->reassembly_timeout_s, 60);
	assert_int_equal(s->max_chains, 2);
	assert_int_equal(s->reassembly_memory, 4096);
	assert_int_equal(s->rate_device, 10);
	assert_int_equal(s->rate_total, 100);
	assert_int_equal(s->reachable_window_s, 30);
	assert_int_equal(s->response_timeout_s, 45);
	assert_string_equal(s->gpio_chip, "gpiochip0");
	assert_int_equal(s->gpio_line, 23);
	assert_true(s->gpio_active_low);
	assert_int_equal(s->gpio_pulse_ms, 500);

	const lpw_config_device_t *d = lpw_config_find_device(cfg, "sms-1");
	assert_int_equal(d->binding, LPW_BINDING_SMS);
	assert_string_equal(d->identity, "491701234567"); /* TS 23.003 digits: the '+' is dropped */
	assert_null(d->sms.number);
	assert_true(d->oscore);
	d = lpw_config_find_device(cfg, "sgi-1");
	assert_string_equal(d->sms.number, "491709876543");
	assert_true(d->sms.wakeup);
	assert_int_equal(d->sms.wakeup_delay_s, 30);
	assert_int_equal(d->sms.wakeup_instance, 2);
	d = lpw_config_find_device(cfg, "sgi-2");
	assert_string_equal(d->sms.number, "4917011111");
	assert_false(d->sms.wakeup);
	assert_int_equal(d->sms.wakeup_delay_s, 60);
	d = lpw_config_find_device(cfg, "t8-1");
	assert_string_equal(d->identity, "491702222222");
	lpw_config_free(cfg);
}

static void test_diff(void **state)
{
	write_file("sim.pin", 0600, "1234");
	write_file("a.conf", 0644,
		   HEAD "devices = ( { id = \"d\"; binding = \"nidd-sgi\"; ip = \"127.0.0.2\"; server = \"s\";\n"
			"              sms = \"+491709876543\"; } );\n"
			"bindings: { sms: { pin_file = \"sim.pin\"; max_parts = 4; }; };\n");
	lpw_config_t *a = load("a.conf");
	write_file("sim.pin", 0600, "4321");
	write_file("b.conf", 0644,
		   HEAD "devices = ( { id = \"d\"; binding = \"nidd-sgi\"; ip = \"127.0.0.2\"; server = \"s\";\n"
			"              sms = \"+491709876543\"; sms_wakeup_delay = 5; } );\n"
			"bindings: { sms: { pin_file = \"sim.pin\"; max_parts = 6; }; };\n");
	lpw_config_t *b = load("b.conf");
	char *text = NULL;
	size_t len;
	FILE *out = open_memstream(&text, &len);
	assert_int_equal(lpw_config_diff(a, b, out), 2); /* devices apply at once since the reload of main */
	fclose(out);
	assert_non_null(strstr(text, "bindings.sms.max_parts: 4 -> 6; needs a restart\n"));
	assert_non_null(strstr(text, "bindings.sms.pin_file: changed; needs a restart\n"));
	assert_non_null(strstr(text, "devices.d: changed; applies now\n"));
	assert_null(strstr(text, "1234"));
	assert_null(strstr(text, "4321"));
	free(text);
	lpw_config_free(a);
	lpw_config_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diff, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
