/* Unit tests of the configuration module: the shipped example, defaults, includes, secrets, the catalogue of
 * bad files (tests/unit/config/bad, each with "# expect:" lines), the validators and the SIGHUP diff. */
#include "config/config.h"
#include "config/config_internal.h"
#include "tests/unit/common/test_tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#define EXAMPLE LPW_SOURCE_DIR "/config/lpwagw.conf.example"
#define TESTS LPW_SOURCE_DIR "/tests/unit/config"

/* --- helpers: a private temporary directory per test --- */

static char tmpdir[PATH_MAX];

static int make_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lpw-config-test-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	return lpw_test_rmtree(tmpdir);
}

static void write_file(const char *name, mode_t mode, const char *fmt, ...)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0); /* explicit: umask must not decide the test */
}

static char *tmp_path(const char *name)
{
	static char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

/* Loads path; returns rc and leaves the error text in *out_errors (free it). */
static int load(const char *path, lpw_config_t **cfg, char **out_errors)
{
	size_t len;
	FILE *errors = open_memstream(out_errors, &len);
	assert_non_null(errors);
	int rc = lpw_config_load(path, cfg, errors);
	fclose(errors);
	return rc;
}

static lpw_config_t *load_ok(const char *path)
{
	lpw_config_t *cfg = NULL;
	char *errors = NULL;
	int rc = load(path, &cfg, &errors);
	if (rc != 0)
		fprintf(stderr, "unexpected errors loading %s:\n%s", path, errors);
	assert_int_equal(rc, 0);
	assert_string_equal(errors, "");
	free(errors);
	assert_non_null(cfg);
	return cfg;
}

/* --- the shipped example --- */

static void test_example(void **state)
{
	lpw_config_t *cfg = load_ok(EXAMPLE);
	assert_string_equal(cfg->path, EXAMPLE);
	assert_string_equal(cfg->gateway_id, "gw-01");
	assert_string_equal(cfg->state_dir, "/tmp/lpwagw-state");
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_false(cfg->log_syslog);
	assert_true(cfg->mqtt.enabled);
	assert_string_equal(cfg->mqtt.host, "127.0.0.1");
	assert_int_equal(cfg->mqtt.port, 1883);
	assert_null(cfg->mqtt.ca_file);
	assert_null(cfg->mqtt.password);
	assert_string_equal(cfg->mqtt.topic_prefix, "lpwagw");
	assert_int_equal(cfg->mqtt.interval_s, 60);
	assert_int_equal(cfg->mqtt.keepalive_s, 30);
	assert_int_equal(cfg->upstream.reconnect_min_s, 1);
	assert_int_equal(cfg->upstream.reconnect_max_s, 300);
	assert_int_equal(cfg->upstream.csm_timeout_s, 30);
	assert_int_equal(cfg->upstream.ping_interval_s, 60);
	assert_int_equal(cfg->upstream.queue_max, 16);
	assert_int_equal(cfg->upstream.queue_timeout_s, 3600);
	assert_true(cfg->sgi.enabled);
	assert_string_equal(cfg->sgi.listen, "127.0.0.1");
	assert_int_equal(cfg->sgi.port, 5685);
	assert_int_equal(cfg->sgi.max_message_size, 1358);

	assert_int_equal(cfg->nservers, 2);
	const lpw_config_server_t *lw = lpw_config_find_server(cfg, "lwm2m"), *bs = lpw_config_find_server(cfg, "bs");
	assert_ptr_equal(lw, &cfg->servers[0]);
	assert_string_equal(lw->uri, "coap+tcp://127.0.0.1:5683");
	assert_string_equal(lw->host, "127.0.0.1");
	assert_int_equal(lw->port, 5683);
	assert_false(lw->secure);
	assert_false(lw->bootstrap);
	assert_int_equal(lw->tls.identity_len, 0);
	assert_non_null(bs);
	assert_true(bs->bootstrap);
	assert_int_equal(bs->port, 5693);
	assert_null(lpw_config_find_server(cfg, "nope"));

	assert_int_equal(cfg->ndevices, 2);
	const lpw_config_device_t *d1 = lpw_config_find_device(cfg, "dev-1"), *d2 = lpw_config_find_device(cfg, "dev-2");
	assert_ptr_equal(d1, &cfg->devices[0]);
	assert_int_equal(d1->binding, LPW_BINDING_NIDD_SGI);
	assert_string_equal(d1->identity, "127.0.0.2");
	assert_string_equal(d1->endpoint, "urn:dev:1");
	assert_int_equal(d1->nservers, 1);
	assert_ptr_equal(d1->servers[0], lw);
	assert_ptr_equal(d1->bootstrap, bs);
	assert_false(d1->oscore);
	assert_int_equal(d1->max_message_size, 0);
	assert_int_equal(d1->queue_max, 0);
	assert_non_null(d2);
	assert_string_equal(d2->identity, "127.0.0.3");
	assert_null(d2->endpoint);
	assert_ptr_equal(d2->servers[0], lw);
	assert_null(d2->bootstrap);
	assert_int_equal(d2->max_message_size, 512);
	assert_int_equal(d2->queue_max, 8);
	assert_null(lpw_config_find_device(cfg, "dev-3"));
	lpw_config_free(cfg);
}

static void test_defaults(void **state)
{
	write_file("min.conf", 0644, "gateway_id = \"g\";\n");
	lpw_config_t *cfg = load_ok(tmp_path("min.conf"));
	assert_string_equal(cfg->state_dir, "/var/lib/lpwagw");
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_false(cfg->log_syslog);
	assert_true(cfg->mqtt.enabled);
	assert_string_equal(cfg->mqtt.host, "127.0.0.1");
	assert_int_equal(cfg->mqtt.port, 1883);
	assert_string_equal(cfg->mqtt.topic_prefix, "lpwagw");
	assert_null(cfg->mqtt.username);
	assert_int_equal(cfg->upstream.reconnect_max_s, 300);
	assert_int_equal(cfg->upstream.queue_timeout_s, 3600);
	assert_false(cfg->sgi.enabled);
	assert_string_equal(cfg->sgi.listen, "0.0.0.0");
	assert_int_equal(cfg->sgi.port, 5683);
	assert_int_equal(cfg->sgi.max_message_size, 1358);
	assert_false(cfg->lorawan.enabled);
	assert_string_equal(cfg->lorawan.listen, "0.0.0.0");
	assert_int_equal(cfg->lorawan.port, 1700);
	assert_int_equal(cfg->lorawan.ack_timeout_s, 300);
	assert_int_equal(cfg->lorawan.max_retransmit, 4);
	assert_int_equal(cfg->lorawan.forwarder_timeout_s, 30);
	assert_int_equal(cfg->lorawan.dedup_ms, 200);
	assert_int_equal(cfg->lorawan.nforwarders, 0);
	assert_false(cfg->lorawan.only_listed_forwarders);
	assert_int_equal(cfg->log_limit_burst, 10);
	assert_int_equal(cfg->log_limit_lines, 1);
	assert_int_equal(cfg->log_limit_period_s, 10);
	assert_int_equal(cfg->nservers, 0);
	assert_null(cfg->servers);
	assert_int_equal(cfg->ndevices, 0);
	lpw_config_free(cfg);
}

/* Relative paths start at the config file's directory; secrets in mode-600 files are read. */
static void test_files_and_secrets(void **state)
{
	write_file("psk.hex", 0600, "00112233445566778899aabbccddeeff\n");
	write_file("mqtt.pass", 0600, "s3cret\n");
	write_file("ca.pem", 0644, "ca\n");
	write_file("cert.pem", 0644, "cert\n");
	write_file("key.pem", 0600, "key\n");
	write_file("files.conf", 0644,
		   "gateway_id = \"g\"; state_dir = \"state\";\n"
		   "log: { level = \"debug\"; target = \"syslog\"; };\n"
		   "mqtt: { ca_file = \"ca.pem\"; username = \"u\"; password_file = \"mqtt.pass\"; };\n"
		   "servers = ( { name = \"s\"; uri = \"coaps+tcp://lwm2m.example.com\"; ca_file = \"ca.pem\";\n"
		   "              cert_file = \"cert.pem\"; key_file = \"%s\"; sni = \"lwm2m.example.com\"; } );\n"
		   "devices = ( { id = \"d\"; binding = \"nidd-sgi\"; ip = \"127.0.0.9\"; server = \"s\";\n"
		   "              psk_identity = \"dev-d\"; psk_key_file = \"psk.hex\"; } );\n",
		   tmp_path("key.pem"));
	lpw_config_t *cfg = load_ok(tmp_path("files.conf"));
	char want[PATH_MAX * 2];
	char *dir = realpath(tmpdir, NULL);
	snprintf(want, sizeof(want), "%s/state", dir);
	assert_string_equal(cfg->state_dir, want);
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_true(cfg->log_syslog);
	snprintf(want, sizeof(want), "%s/ca.pem", dir);
	assert_string_equal(cfg->mqtt.ca_file, want);
	assert_string_equal(cfg->mqtt.password, "s3cret");
	const lpw_config_server_t *s = &cfg->servers[0];
	assert_true(s->secure);
	assert_int_equal(s->port, 5684);
	assert_string_equal(s->host, "lwm2m.example.com");
	assert_string_equal(s->tls.ca_file, want);
	assert_string_equal(s->tls.key_file, tmp_path("key.pem"));
	assert_string_equal(s->tls.sni, "lwm2m.example.com");
	const lpw_config_device_t *d = &cfg->devices[0];
	assert_string_equal(d->tls.identity, "dev-d");
	assert_int_equal(d->tls.identity_len, 5);
	assert_int_equal(d->tls.key_len, 16);
	assert_int_equal(d->tls.key[0], 0x00);
	assert_int_equal(d->tls.key[15], 0xff);
	free(dir);
	lpw_config_free(cfg);
}

static void test_include(void **state)
{
	lpw_config_t *cfg = load_ok(TESTS "/good/include.conf");
	assert_int_equal(cfg->ndevices, 5);
	const lpw_config_server_t *lw = lpw_config_find_server(cfg, "lwm2m"), *second = lpw_config_find_server(cfg, "second");
	assert_true(lw->secure);
	assert_string_equal(lw->host, "::1");
	assert_int_equal(lw->port, 5684);
	assert_int_equal(lw->tls.key_len, 16);
	assert_int_equal(second->port, 15683);
	assert_string_equal(second->host, "lwm2m.example.com");

	const lpw_config_device_t *d = lpw_config_find_device(cfg, "sms-1");
	assert_int_equal(d->binding, LPW_BINDING_SMS);
	assert_string_equal(d->identity, "491701234567");
	d = lpw_config_find_device(cfg, "lora-1");
	assert_int_equal(d->binding, LPW_BINDING_LORAWAN);
	assert_string_equal(d->identity, "70B3D57ED0001234");
	assert_int_equal(d->nservers, 2);
	assert_ptr_equal(d->servers[0], second);
	assert_ptr_equal(d->servers[1], lw);
	assert_true(d->oscore);
	assert_false(d->lorawan.otaa);
	assert_int_equal(d->lorawan.dev_addr, 0x26011BDA);
	d = lpw_config_find_device(cfg, "t8-1");
	assert_int_equal(d->binding, LPW_BINDING_NIDD_T8);
	assert_string_equal(d->identity, "dev1@iot.example.com");
	d = lpw_config_find_device(cfg, "t8-2");
	assert_string_equal(d->identity, "491701234567"); /* same MSISDN as sms-1: another binding, no clash */
	d = lpw_config_find_device(cfg, "sgi-1");
	assert_string_equal(d->identity, "2001:db8::1");
	assert_int_equal(d->max_message_size, 1024);
	assert_int_equal(d->queue_max, 4);
	lpw_config_free(cfg);
}

/* --- the catalogue of bad files --- */

/* Copies a catalogue file, with @TMP@ replaced by the temporary directory (for absolute @include names). */
static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "r"), *out = fopen(to, "w");
	assert_non_null(in);
	assert_non_null(out);
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf), in);
	assert_true(n < sizeof(buf)); /* catalogue files are small */
	for (size_t i = 0; i < n; i++) {
		if (i + 5 <= n && memcmp(buf + i, "@TMP@", 5) == 0) {
			fputs(tmpdir, out);
			i += 4;
		} else {
			fputc(buf[i], out);
		}
	}
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* Same set as check_config.sh: git keeps no file modes, so files with modes are made here. */
static void make_fixtures(void)
{
	write_file("secret-0644.key", 0644, "00112233\n");
	write_file("secret-0640.key", 0640, "00112233\n");
	write_file("secret-0604.pass", 0604, "pw\n");
	write_file("good-0600.key", 0600, "00112233\n");
	write_file("good-0600.pass", 0600, "pw\n");
	write_file("badhex-0600.key", 0600, "zz\n");
	write_file("cert.pem", 0644, "not a certificate\n");
	assert_int_equal(mkfifo(tmp_path("fifo.inc"), 0644), 0);
	assert_int_equal(mkdir(tmp_path("include-directory.d"), 0755), 0);
}

/* Loads path as --check-config does: the file, then the checks of the machine (the state directory). */
static int load_and_check(const char *path, lpw_config_t **cfg, char **out_errors)
{
	size_t len;
	FILE *errors = open_memstream(out_errors, &len);
	assert_non_null(errors);
	int rc = lpw_config_load(path, cfg, errors);
	if (rc == 0 && lpw_config_check_runtime(*cfg, errors) < 0) {
		lpw_config_free(*cfg);
		*cfg = NULL;
		rc = -EINVAL;
	}
	fclose(errors);
	return rc;
}

/* Returns the number of failures for one file, printing what was missing. */
static int check_bad_file(const char *path)
{
	lpw_config_t *cfg = (lpw_config_t *)1;
	char *errors = NULL, line[1024];
	int rc = load_and_check(path, &cfg, &errors), failures = 0, expects = 0;
	if (rc != -EINVAL || cfg != NULL) {
		fprintf(stderr, "%s: load returned %d, expected -EINVAL\n", path, rc);
		failures++;
	}
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) && strncmp(line, "# expect: ", 10) == 0) {
		line[strcspn(line, "\n")] = '\0';
		expects++;
		if (!strstr(errors, line + 10)) {
			fprintf(stderr, "%s: errors lack \"%s\"; they were:\n%s", path, line + 10, errors);
			failures++;
		}
	}
	fclose(f);
	if (expects == 0) {
		fprintf(stderr, "%s: no '# expect:' first line\n", path);
		failures++;
	}
	free(errors);
	lpw_config_free(cfg == (lpw_config_t *)1 ? NULL : cfg);
	return failures;
}

static void test_bad_catalogue(void **state)
{
	alarm(60); /* a watchdog: fifo.inc once blocked the loader for good */
	DIR *dir = opendir(TESTS "/bad");
	assert_non_null(dir);
	struct dirent *e;
	char from[PATH_MAX * 2];
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(from, sizeof(from), "%s/%s", TESTS "/bad", e->d_name);
		copy_file(from, tmp_path(e->d_name));
	}
	closedir(dir);
	make_fixtures();

	int files = 0, failures = 0;
	dir = opendir(tmpdir);
	assert_non_null(dir);
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 5, ".conf") != 0)
			continue;
		files++;
		failures += check_bad_file(tmp_path(e->d_name));
	}
	closedir(dir);
	assert_true(files >= 20);
	assert_int_equal(failures, 0);
	alarm(0);
}

/* Every problem is reported, not just the first. */
static void test_collects_all_errors(void **state)
{
	write_file("many.conf", 0644,
		   "gateway_id = \"bad id\";\n"
		   "mqtt: { port = 0; keepalive = 1; };\n"
		   "devices = ( { id = \"d\"; binding = \"sms\"; msisdn = \"1\"; } );\n");
	lpw_config_t *cfg = NULL;
	char *errors = NULL;
	assert_int_equal(load(tmp_path("many.conf"), &cfg, &errors), -EINVAL);
	assert_null(cfg);
	assert_non_null(strstr(errors, ":1: gateway_id: \"bad id\""));
	assert_non_null(strstr(errors, ":2: mqtt.port: 0 is out of range"));
	assert_non_null(strstr(errors, ":2: mqtt.keepalive: 1 is out of range; expected an integer 5..65535"));
	assert_non_null(strstr(errors, ":3: devices.[0].msisdn: \"1\" has fewer than 5 digits"));
	assert_non_null(strstr(errors, ":3: devices.[0]: has no server"));
	free(errors);
	/* errors may be NULL: still refused */
	assert_int_equal(lpw_config_load(tmp_path("many.conf"), &cfg, NULL), -EINVAL);
	assert_null(cfg);
}

static void test_missing_file(void **state)
{
	lpw_config_t *cfg = NULL;
	char *errors = NULL;
	assert_int_equal(load(tmp_path("absent.conf"), &cfg, &errors), -ENOENT);
	assert_null(cfg);
	assert_non_null(strstr(errors, "absent.conf: cannot open: No such file or directory"));
	free(errors);
}

/* --- validators --- */

static void test_values(void **state)
{
	bool secure;
	char host[64], out[64];
	uint16_t port;
	const char *why;
	uint8_t key[4];
	size_t len;
	assert_int_equal(lpw_config_parse_uri("coaps+tcp://[2001:db8::1]:7000", &secure, host, sizeof(host), &port, &why), 0);
	assert_true(secure);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(port, 7000);
	assert_int_equal(lpw_config_parse_uri("coap+tcp://h", &secure, host, sizeof(host), &port, &why), 0);
	assert_false(secure);
	assert_int_equal(port, 5683);
	assert_int_equal(lpw_config_parse_uri("coap+tcp://[::1", &secure, host, sizeof(host), &port, &why), -EINVAL);
	assert_int_equal(lpw_config_parse_uri("coap+tcp://h:65536", &secure, host, sizeof(host), &port, &why), -EINVAL);
	assert_int_equal(lpw_config_parse_uri("coap+tcp://h:12x", &secure, host, sizeof(host), &port, &why), -EINVAL);
	assert_int_equal(lpw_config_parse_uri("coap+tcp://a_b", &secure, host, sizeof(host), &port, &why), -EINVAL);
	assert_int_equal(lpw_config_parse_uri("coap+tcp://[zz]", &secure, host, sizeof(host), &port, &why), -EINVAL);
	assert_int_equal(lpw_config_norm_msisdn("+123456789012345", out, sizeof(out), &why), 0);
	assert_string_equal(out, "123456789012345");
	assert_int_equal(lpw_config_norm_msisdn("1234567890123456", out, sizeof(out), &why), -EINVAL);
	assert_int_equal(lpw_config_norm_msisdn("+", out, sizeof(out), &why), -EINVAL);
	assert_int_equal(lpw_config_norm_dev_eui("abcdef0123456789", out, sizeof(out), &why), 0);
	assert_string_equal(out, "ABCDEF0123456789");
	assert_int_equal(lpw_config_norm_ip("::ffff:127.0.0.1", out, sizeof(out), &why), 0);
	assert_string_equal(out, "127.0.0.1"); /* RFC 4291 §2.5.5.2: the IPv4 address itself */
	assert_int_equal(lpw_config_norm_ip("::ffff:7f00:2", out, sizeof(out), &why), 0);
	assert_string_equal(out, "127.0.0.2");
	assert_int_equal(lpw_config_norm_ip("::127.0.0.1", out, sizeof(out), &why), 0); /* IPv4-compatible: not mapped */
	assert_string_equal(out, "::127.0.0.1");
	assert_int_equal(lpw_config_check_external_id("a@b@c", &why), -EINVAL);
	assert_int_equal(lpw_config_check_external_id("@b", &why), -EINVAL);
	assert_int_equal(lpw_config_hex_decode("DEADbeef", key, sizeof(key), &len, &why), 0);
	assert_int_equal(len, 4);
	assert_int_equal(key[0], 0xde);
	assert_int_equal(key[3], 0xef);
	assert_int_equal(lpw_config_hex_decode("0011223344", key, sizeof(key), &len, &why), -EINVAL);
	assert_int_equal(lpw_config_check_host("a..b", &why), -EINVAL);
	assert_int_equal(lpw_config_check_name("", &why), -EINVAL);
	assert_string_equal(lpw_config_binding_name(LPW_BINDING_NIDD_SGI), "nidd-sgi");
	assert_string_equal(lpw_config_binding_name(LPW_BINDING_NIDD_T8), "nidd-t8");
	assert_string_equal(lpw_config_binding_name(LPW_BINDING_SMS), "sms");
	assert_string_equal(lpw_config_binding_name(LPW_BINDING_LORAWAN), "lorawan");
	assert_string_equal(lpw_config_binding_name(LPW_BINDING_COUNT), "?");
}


/* --- LoRaWAN: bindings.lorawan and the device keys --- */

static void test_lorawan(void **state)
{
	write_file("app.key", 0600, "2b7e151628aed2a6abf7158809cf4f3c\n");
	write_file("lw.conf", 0644,
		   "gateway_id = \"g\";\n"
		   "servers = ( { name = \"s\"; uri = \"coap+tcp://127.0.0.1\"; } );\n"
		   "devices = ( { id = \"otaa\"; binding = \"lorawan\"; dev_eui = \"0011223344556677\"; server = \"s\";\n"
		   "              join_eui = \"70B3D57ED0000001\"; app_key_file = \"app.key\"; fport = 5;\n"
		   "              bootstrap_fport = 0; confirmed_downlinks = true; objects = \"</1/0>,</3/0>\"; },\n"
		   "            { id = \"abp\"; binding = \"lorawan\"; dev_eui = \"0011223344556688\"; server = \"s\";\n"
		   "              dev_addr = \"26011BDA\"; nwk_s_key = \"000102030405060708090a0b0c0d0e0f\";\n"
		   "              app_s_key = \"f0e0d0c0b0a090807060504030201000\"; } );\n"
		   "bindings: { lorawan: { enabled = true; listen = \"127.0.0.1\"; port = 1701; region = \"US915\";\n"
		   "            net_id = 0x13; rx1_dr_offset = 3; rx2_dr = 10; rx2_freq = 923300000; ack_timeout = 60;\n"
		   "            max_retransmit = 2; forwarder_timeout = 12; dedup_ms = 0; gpio: { line = 22; };\n"
		   "            forwarders = [ \"aa555a0000000001\", \"FFFFFFFFFFFFFFFE\" ];\n"
		   "            only_listed_forwarders = true; }; };\n"
		   "log: { rate_limit: { burst = 0; lines = 7; period = 600; }; };\n");
	lpw_config_t *cfg = load_ok(tmp_path("lw.conf"));
	const lpw_config_lorawan_t *lw = &cfg->lorawan;
	assert_true(lw->enabled);
	assert_string_equal(lw->listen, "127.0.0.1");
	assert_int_equal(lw->port, 1701);
	assert_int_equal(lw->region, LPW_REGION_US915);
	assert_int_equal(lw->net_id, 0x13);
	assert_int_equal(lw->rx1_dr_offset, 3);
	assert_int_equal(lw->rx2_dr, 10);
	assert_int_equal(lw->rx2_freq_hz, 923300000);
	assert_int_equal(lw->ack_timeout_s, 60);
	assert_int_equal(lw->max_retransmit, 2);
	assert_int_equal(lw->forwarder_timeout_s, 12);
	assert_int_equal(lw->dedup_ms, 0);
	assert_string_equal(lw->gpio_chip, "gpiochip0"); /* the group is there: its chip defaults */
	assert_int_equal(lw->gpio_line, 22);
	assert_false(lw->gpio_active_low);
	assert_int_equal(lw->gpio_pulse_ms, 100);
	assert_int_equal(lw->nforwarders, 2);
	assert_true(lw->forwarders[0] == 0xAA555A0000000001ULL);
	assert_true(lw->forwarders[1] == 0xFFFFFFFFFFFFFFFEULL);
	assert_true(lw->only_listed_forwarders);
	assert_int_equal(cfg->log_limit_burst, 0);
	assert_int_equal(cfg->log_limit_lines, 7);
	assert_int_equal(cfg->log_limit_period_s, 600);

	const lpw_config_device_t *d = lpw_config_find_device(cfg, "otaa");
	assert_true(d->lorawan.otaa);
	assert_int_equal(d->lorawan.join_eui[0], 0x70);
	assert_int_equal(d->lorawan.join_eui[7], 0x01);
	assert_int_equal(d->lorawan.app_key[0], 0x2b);
	assert_int_equal(d->lorawan.app_key[15], 0x3c);
	assert_int_equal(d->lorawan.fport, 5);
	assert_int_equal(d->lorawan.bootstrap_fport, 0);
	assert_true(d->lorawan.confirmed_downlinks);
	assert_string_equal(d->lorawan.objects, "</1/0>,</3/0>");
	d = lpw_config_find_device(cfg, "abp");
	assert_false(d->lorawan.otaa);
	assert_int_equal(d->lorawan.dev_addr, 0x26011BDA);
	assert_int_equal(d->lorawan.nwk_s_key[1], 0x01);
	assert_int_equal(d->lorawan.app_s_key[0], 0xf0);
	assert_int_equal(d->lorawan.fport, 1);
	assert_int_equal(d->lorawan.bootstrap_fport, 2);
	assert_false(d->lorawan.confirmed_downlinks);
	assert_null(d->lorawan.objects);

	/* bindings.lorawan needs a restart; secrets never appear in the diff */
	write_file("lw2.conf", 0644, "gateway_id = \"g\";\nbindings: { lorawan: { dedup_ms = 300; }; };\n");
	lpw_config_t *b = load_ok(tmp_path("lw2.conf"));
	assert_int_equal(b->lorawan.rx2_dr, UINT32_MAX); /* the region's default */
	assert_int_equal(b->lorawan.rx2_freq_hz, 0);
	assert_int_equal(b->lorawan.region, LPW_REGION_EU868);
	assert_int_equal(b->lorawan.port, 1700);
	assert_null(b->lorawan.gpio_chip);
	char *text = NULL;
	size_t len;
	FILE *out = open_memstream(&text, &len);
	assert_true(lpw_config_diff(cfg, b, out) >= 5);
	fclose(out);
	assert_non_null(strstr(text, "bindings.lorawan.dedup_ms: 0 -> 300; needs a restart\n"));
	assert_non_null(strstr(text, "bindings.lorawan.region: US915 -> EU868; needs a restart\n"));
	assert_non_null(strstr(text, "bindings.lorawan.gpio.line: 22 -> 17; needs a restart\n"));
	assert_null(strstr(text, "2b7e"));
	free(text);
	lpw_config_free(b);
	lpw_config_free(cfg);
}

/* --- SIGHUP diff --- */

static void test_diff(void **state)
{
	lpw_config_t *a = load_ok(EXAMPLE);
	write_file("new.conf", 0644,
		   "gateway_id = \"gw-02\";\n"
		   "state_dir = \"/tmp/lpwagw-state\";\n"
		   "log: { level = \"debug\"; };\n"
		   "mqtt: { port = 1884; password = \"p\"; };\n"
		   "servers = ( { name = \"lwm2m\"; uri = \"coap+tcp://127.0.0.1:5683\"; } );\n"
		   "devices = ( { id = \"dev-1\"; binding = \"nidd-sgi\"; ip = \"127.0.0.2\"; server = \"lwm2m\";\n"
		   "              endpoint = \"urn:dev:1\"; },\n"
		   "            { id = \"dev-3\"; binding = \"nidd-sgi\"; ip = \"127.0.0.4\"; server = \"lwm2m\"; } );\n"
		   "bindings: { nidd_sgi: { enabled = true; listen = \"127.0.0.1\"; port = 5686; }; };\n");
	lpw_config_t *b = load_ok(tmp_path("new.conf"));
	char *text = NULL;
	size_t len;
	FILE *out = open_memstream(&text, &len);
	int restart = lpw_config_diff(a, b, out);
	fclose(out);
	/* gateway_id and bindings.nidd_sgi.port need a restart; log, MQTT, server and device changes apply now (the
	 * gateway applies the device table's changes) */
	assert_int_equal(restart, 2);
	assert_non_null(strstr(text, "gateway_id: gw-01 -> gw-02; needs a restart\n"));
	assert_non_null(strstr(text, "bindings.nidd_sgi.port: 5685 -> 5686; needs a restart\n"));
	assert_non_null(strstr(text, "log.level: info -> debug; applies now\n"));
	assert_non_null(strstr(text, "mqtt.port: 1883 -> 1884; applies now\n"));
	assert_non_null(strstr(text, "mqtt.password: changed; applies now\n"));
	assert_null(strstr(text, "\"p\"")); /* never a secret */
	assert_non_null(strstr(text, "servers.bs: removed; applies now\n"));
	assert_non_null(strstr(text, "devices.dev-1: changed; applies now\n")); /* lost its bootstrap server */
	assert_non_null(strstr(text, "devices.dev-2: removed; applies now\n"));
	assert_non_null(strstr(text, "devices.dev-3: added; applies now\n"));
	assert_null(strstr(text, "state_dir"));
	assert_null(strstr(text, "servers.lwm2m"));
	free(text);

	/* identical configurations: no lines, no restart */
	lpw_config_t *c = load_ok(EXAMPLE);
	text = NULL;
	out = open_memstream(&text, &len);
	assert_int_equal(lpw_config_diff(a, c, out), 0);
	fclose(out);
	assert_string_equal(text, "");
	free(text);
	assert_int_equal(lpw_config_diff(a, b, NULL), 2);
	lpw_config_free(a);
	lpw_config_free(b);
	lpw_config_free(c);
	lpw_config_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test_setup_teardown(test_defaults, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(test_files_and_secrets, make_tmpdir, remove_tmpdir),
		cmocka_unit_test(test_include),
		cmocka_unit_test_setup_teardown(test_bad_catalogue, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(test_collects_all_errors, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(test_missing_file, make_tmpdir, remove_tmpdir),
		cmocka_unit_test(test_values),
		cmocka_unit_test_setup_teardown(test_diff, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(test_lorawan, make_tmpdir, remove_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
