/* Unit tests of the configuration loader against hostile or careless input (issue 16 item 8): files that are not
 * regular (FIFOs must never block), @include (absolute paths, errors naming the file, loops, the line map), the
 * size limits and their linear cost, UTF-8 in values that reach MQTT, JSON or TLS, IPv4-mapped addresses, the
 * checks of the state directory, capped error output and the lookup index. Where the old loader hung or took
 * minutes, alarm() turns that into a failure instead of a stuck test. */
#include "config/config.h"
#include "config/config_internal.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <mosquitto.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char tmpdir[PATH_MAX];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lpw-config-rel-XXXXXX");
	alarm(60); /* a watchdog: the old loader blocked on FIFOs and took minutes on big inputs */
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	chmod(path, 0700);
	return remove(path);
}

static int teardown(void **state)
{
	alarm(0);
	chmod(tmpdir, 0700);
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static char *tmp_path(const char *name)
{
	static char path[2][PATH_MAX * 2];
	static int which;
	which ^= 1;
	snprintf(path[which], sizeof(path[which]), "%s/%s", tmpdir, name);
	return path[which];
}

static void write_bytes(const char *name, mode_t mode, const char *data, size_t len)
{
	FILE *f = fopen(tmp_path(name), "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(tmp_path(name), mode), 0);
}

static void write_file(const char *name, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	assert_true(vasprintf(&text, fmt, ap) >= 0);
	va_end(ap);
	write_bytes(name, 0644, text, strlen(text));
	free(text);
}

/* Loads name from the temporary directory: rc, the configuration (or NULL) and every error line. */
static int load(const char *name, lpw_config_t **cfg, char **out_errors)
{
	size_t len;
	FILE *errors = open_memstream(out_errors, &len);
	assert_non_null(errors);
	int rc = lpw_config_load(tmp_path(name), cfg, errors);
	fclose(errors);
	return rc;
}

/* Loading name must fail with -EINVAL and its errors contain want (a printf format). */
static void refused(const char *name, const char *want_fmt, ...)
{
	char want[1024];
	va_list ap;
	va_start(ap, want_fmt);
	vsnprintf(want, sizeof(want), want_fmt, ap);
	va_end(ap);
	lpw_config_t *cfg = NULL;
	char *errors = NULL;
	int rc = load(name, &cfg, &errors);
	if (rc != -EINVAL || !strstr(errors, want))
		fprintf(stderr, "%s: rc %d; wanted \"%s\" in:\n%s", name, rc, want, errors);
	assert_int_equal(rc, -EINVAL);
	assert_null(cfg);
	assert_non_null(strstr(errors, want));
	free(errors);
}

static lpw_config_t *accepted(const char *name)
{
	lpw_config_t *cfg = NULL;
	char *errors = NULL;
	int rc = load(name, &cfg, &errors);
	if (rc)
		fprintf(stderr, "%s: rc %d:\n%s", name, rc, errors);
	assert_int_equal(rc, 0);
	assert_string_equal(errors, "");
	free(errors);
	return cfg;
}

#define SERVER "servers = ( { name = \"s\"; uri = \"coap+tcp://127.0.0.1\"; } );\n"
#define DEVICE(id, ip) "{ id = \"" id "\"; binding = \"nidd-sgi\"; ip = \"" ip "\"; server = \"s\"; }"

/* --- files that are not regular: nothing may block --- */

static void test_fifo_include(void **state)
{
	assert_int_equal(mkfifo(tmp_path("fifo.inc"), 0644), 0);
	write_file("a.conf", "gateway_id = \"g\";\n" SERVER "devices = (\n  @include \"fifo.inc\"\n);\n");
	refused("a.conf", "a.conf:4: @include \"fifo.inc\": %s is a FIFO, not a regular file", tmp_path("fifo.inc"));
	assert_int_equal(mkdir(tmp_path("dir.inc"), 0755), 0);
	write_file("b.conf", "gateway_id = \"g\";\n@include \"dir.inc\"\n");
	refused("b.conf", "b.conf:2: @include \"dir.inc\": %s is a directory, not a regular file", tmp_path("dir.inc"));
	write_file("c.conf", "gateway_id = \"g\";\n@include \"/dev/null\"\n");
	refused("c.conf", "c.conf:2: @include \"/dev/null\": /dev/null is a character device, not a regular file");
}

static void test_fifo_main_and_secrets(void **state)
{
	assert_int_equal(mkfifo(tmp_path("main.conf"), 0644), 0);
	refused("main.conf", "main.conf: is a FIFO, not a regular file");
	assert_int_equal(mkfifo(tmp_path("key.fifo"), 0600), 0);
	assert_int_equal(mkfifo(tmp_path("pass.fifo"), 0600), 0);
	write_file("s.conf", "gateway_id = \"g\";\nmqtt: { username = \"u\"; password_file = \"pass.fifo\"; };\n" SERVER
			     "devices = ( { id = \"d\"; binding = \"nidd-sgi\"; ip = \"127.0.0.9\"; server = \"s\";\n"
			     "  psk_identity = \"i\"; psk_key_file = \"key.fifo\"; } );\n");
	refused("s.conf", "s.conf:2: mqtt.password_file: %s is a FIFO, not a regular file", tmp_path("pass.fifo"));
	refused("s.conf", "s.conf:5: devices.[0].psk_key_file: %s is a FIFO, not a regular file", tmp_path("key.fifo"));
	/* read_small refuses it as well, whoever calls it */
	char buf[64];
	assert_int_equal(lpw_config_read_small(tmp_path("key.fifo"), buf, sizeof(buf)), -ENODEV);
}

/* --- @include --- */

static void test_include_absolute(void **state)
{
	write_file("devs.inc", DEVICE("d1", "127.0.0.2") ",\n" DEVICE("d2", "127.0.0.3") "\n");
	write_file("abs.conf", "gateway_id = \"g\";\n" SERVER "devices = (\n  @include \"%s\"\n);\n", tmp_path("devs.inc"));
	lpw_config_t *cfg = accepted("abs.conf");
	assert_int_equal(cfg->ndevices, 2);
	assert_string_equal(lpw_config_find_device(cfg, "d2")->identity, "127.0.0.3");
	lpw_config_free(cfg);
}

static void test_include_errors_name_the_file(void **state)
{
	write_file("m.conf", "gateway_id = \"g\";\n\n@include \"gone.inc\" # a comment may follow\n");
	refused("m.conf", "m.conf:3: @include \"gone.inc\": %s cannot be opened (No such file or directory)",
		tmp_path("gone.inc"));
	write_file("syntax.inc", "# line 1\nmqtt: { port = ; };\n");
	write_file("s.conf", "gateway_id = \"g\";\n@include \"syntax.inc\"\n");
	refused("s.conf", "%s:2: syntax error", tmp_path("syntax.inc"));
	write_file("loop.conf", "gateway_id = \"g\";\n@include \"loop.conf\"\n");
	refused("loop.conf", "loop.conf:2: @include \"loop.conf\": %s is already being read (an @include loop)",
		tmp_path("loop.conf"));
	write_file("trail.conf", "gateway_id = \"g\";\n@include \"syntax.inc\" mqtt: { };\n");
	refused("trail.conf", "trail.conf:2: text after @include \"syntax.inc\"");
	/* 11 files, each including the next: one more than libconfig's own depth */
	for (int i = 0; i < 11; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%d.inc", i);
		write_file(name, i == 10 ? "x = 1;\n" : "@include \"n%d.inc\"\n", i + 1);
	}
	write_file("deep.conf", "gateway_id = \"g\";\n@include \"n0.inc\"\n");
	refused("deep.conf", "n9.inc:1: @include \"n10.inc\" is nested more than 10 deep");
}

/* Every setting is reported at its own file and line, around and inside nested includes. */
static void test_include_line_map(void **state)
{
	write_file("inner.inc", "\n\n" DEVICE("d2", "bad-ip") "\n");
	write_file("outer.inc", "# outer\n" DEVICE("d1", "127.0.0.2") ",\n@include \"inner.inc\"\n,\n"
				DEVICE("d3", "bad3") "\n");
	write_file("map.conf", "gateway_id = \"g\";\n" SERVER "devices = (\n@include \"outer.inc\"\n);\n"
			       "mqtt: {\n  port = 0;\n};\n/* a comment\n   @include \"not-an-include.inc\"\n*/\n"
			       "log: { level = \"@include \\\"nor-this\\\"\"; };\n");
	lpw_config_t *cfg = NULL;
	char *errors = NULL;
	assert_int_equal(load("map.conf", &cfg, &errors), -EINVAL);
	char want[PATH_MAX * 2];
	snprintf(want, sizeof(want), "%s:3: devices.[1].ip: \"bad-ip\"", tmp_path("inner.inc"));
	assert_non_null(strstr(errors, want));
	snprintf(want, sizeof(want), "%s:5: devices.[2].ip: \"bad3\"", tmp_path("outer.inc"));
	assert_non_null(strstr(errors, want));
	assert_non_null(strstr(errors, "map.conf:7: mqtt.port: 0 is out of range"));
	assert_non_null(strstr(errors, "map.conf:12: log.level: \"@include \"nor-this\"\" is not valid"));
	assert_null(strstr(errors, "not-an-include"));
	free(errors);
}

/* --- limits: refused before libconfig parses, in time linear in the input --- */

static char *repeat(const char *unit, size_t times, const char *head, const char *tail)
{
	size_t u = strlen(unit), h = strlen(head), t = strlen(tail);
	char *s = malloc(h + u * times + t + 1);
	assert_non_null(s);
	memcpy(s, head, h);
	for (size_t i = 0; i < times; i++)
		memcpy(s + h + i * u, unit, u);
	memcpy(s + h + u * times, tail, t + 1);
	return s;
}

static void write_repeat(const char *name, const char *head, const char *unit, size_t times, const char *tail)
{
	char *s = repeat(unit, times, head, tail);
	write_bytes(name, 0644, s, strlen(s));
	free(s);
}

static void test_limit_string(void **state)
{
	write_repeat("ok.conf", "gateway_id = \"g\";\nx = \"", "a", LPW_CONFIG_MAX_STRING, "\";\n");
	refused("ok.conf", "ok.conf:2: x: unknown setting"); /* as long as allowed: only the schema objects */
	write_repeat("long.conf", "gateway_id = \"g\";\nmqtt: { username = \"", "a", LPW_CONFIG_MAX_STRING + 1, "\"; };\n");
	refused("long.conf", "long.conf:2: a string longer than 4096 bytes (as written)");
	/* libconfig joins adjacent literals into one value: the run counts */
	write_repeat("run.conf", "gateway_id = \"g\";\nx =\n", "\"0123456789abcdef\" # more\n", 300, ";\n");
	refused("run.conf", "run.conf:3: a string longer than 4096 bytes");
	write_repeat("name.conf", "gateway_id = \"g\";\n", "n", LPW_CONFIG_MAX_STRING + 1, " = 1;\n");
	refused("name.conf", "name.conf:2: a name or value longer than 4096 bytes");
	/* the reported 10 MB string (54 s in the old loader): refused at once, by the size limit */
	write_repeat("10m.conf", "gateway_id = \"g\";\nmqtt: { username = \"", "A", 10u << 20, "\"; };\n");
	refused("10m.conf", "10m.conf: makes the configuration larger than 8388608 bytes");
	/* 7 MiB fits the size limit: refused by the string limit, not minutes of scanning */
	write_repeat("7m.conf", "gateway_id = \"g\";\nmqtt: { username = \"", "A", 7u << 20, "\"; };\n");
	refused("7m.conf", "7m.conf:2: a string longer than 4096 bytes");
}

static void test_limit_settings(void **state)
{
	char unit[] = "x = 1;\n"; /* names repeat, but the limit comes first */
	write_repeat("g256.conf", "gateway_id = \"g\";\nbindings: { sms: {\n", unit, LPW_CONFIG_MAX_GROUP, "}; };\n");
	refused("g256.conf", "g256.conf:4: syntax error: duplicate setting name"); /* libconfig's, not our limit */
	write_repeat("g257.conf", "gateway_id = \"g\";\nbindings: { sms: {\n", unit, LPW_CONFIG_MAX_GROUP + 1, "}; };\n");
	refused("g257.conf", "g257.conf:259: more than 256 settings in one group");
	/* the reported 300 000 settings (more than 10 minutes in the old loader) */
	char *s = malloc(300000 * 24 + 64);
	assert_non_null(s);
	size_t n = (size_t)sprintf(s, "gateway_id = \"g\";\n");
	for (int i = 0; i < 300000; i++)
		n += (size_t)sprintf(s + n, "s%d = %d;\n", i, i);
	write_bytes("300k.conf", 0644, s, n);
	free(s);
	refused("300k.conf", "300k.conf:257: more than 256 settings in one group");
	write_repeat("elems.conf", "gateway_id = \"g\";\nx = [ 0", ",1", LPW_CONFIG_MAX_SETTINGS, " ];\n");
	refused("elems.conf", "elems.conf:2: more than 500000 settings");
	write_repeat("deep.conf", "gateway_id = \"g\";\nx = ", "(", LPW_CONFIG_MAX_DEPTH + 1, "");
	refused("deep.conf", "deep.conf:2: groups, lists and arrays nested more than 32 deep");
	const char *line = "# 0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n";
	write_repeat("big.conf", "gateway_id = \"g\";\n", line, LPW_CONFIG_MAX_BYTES / strlen(line) + 1, "");
	refused("big.conf", "big.conf: makes the configuration larger than 8388608 bytes");
	write_bytes("nul.conf", 0644, "gateway_id = \"g\";\0x = 1;\n", 25);
	refused("nul.conf", "nul.conf: contains a NUL byte");
	write_file("open.conf", "gateway_id = \"g\";\nx = \"never closed;\n");
	refused("open.conf", "open.conf:2: a string starts here and is never closed");
	write_file("comment.conf", "gateway_id = \"g\";\n/* never closed\n");
	refused("comment.conf", "comment.conf:2: a /* comment starts here and is never closed");
}

/* Valid files near the limits load: a long comment (one flex token that the old loader re-read at every 8 KiB),
 * thousands of devices. */
static void test_large_valid(void **state)
{
	write_repeat("comment.conf", "gateway_id = \"g\";\n#", "c", 7u << 20, "\nstate_dir = \"s\";\n");
	lpw_config_t *cfg = accepted("comment.conf");
	assert_non_null(strstr(cfg->state_dir, "/s"));
	lpw_config_free(cfg);
	size_t cap = 20000 * 160, n = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	n += (size_t)snprintf(s + n, cap - n, "gateway_id = \"g\";\nservers = (\n");
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s{ name = \"s%d\"; uri = \"coap+tcp://127.0.0.1\"; }\n",
				      i ? "," : "", i);
	n += (size_t)snprintf(s + n, cap - n, ");\ndevices = (\n");
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(s + n, cap - n,
				      "%s{ id = \"d%d\"; binding = \"nidd-sgi\"; ip = \"10.0.%d.%d\"; server = \"s%d\"; }\n",
				      i ? "," : "", i, i / 256, i % 256, 9999 - i);
	n += (size_t)snprintf(s + n, cap - n, ");\n");
	write_bytes("many.conf", 0644, s, n);
	free(s);
	cfg = accepted("many.conf");
	assert_int_equal(cfg->ndevices, 10000);
	for (int i = 0; i < 10000; i += 997) {
		char id[16], srv[16];
		snprintf(id, sizeof(id), "d%d", i);
		snprintf(srv, sizeof(srv), "s%d", 9999 - i);
		const lpw_config_device_t *d = lpw_config_find_device(cfg, id);
		assert_ptr_equal(d, &cfg->devices[i]);
		assert_ptr_equal(d->servers[0], lpw_config_find_server(cfg, srv));
		assert_string_equal(d->servers[0]->name, srv);
	}
	assert_null(lpw_config_find_device(cfg, "d10000"));
	assert_null(lpw_config_find_server(cfg, "s"));
	assert_int_equal(lpw_config_diff(cfg, cfg, NULL), 0);
	lpw_config_free(cfg);
}

/* A hand-made configuration (no index, as other modules' tests build them) is still searched. */
static void test_lookup_without_index(void **state)
{
	lpw_config_server_t servers[2] = { { .name = "a" }, { .name = "b" } };
	lpw_config_device_t devices[2] = { { .id = "x" }, { .id = "y" } };
	lpw_config_t cfg = { .nservers = 2, .servers = servers, .ndevices = 2, .devices = devices };
	assert_ptr_equal(lpw_config_find_server(&cfg, "b"), &servers[1]);
	assert_ptr_equal(lpw_config_find_device(&cfg, "y"), &devices[1]);
	assert_null(lpw_config_find_device(&cfg, "z"));
}

static void test_error_cap(void **state)
{
	write_repeat("errs.conf", "gateway_id = \"g\";\ndevices = ( ", "{ id = \"bad id\"; binding = \"x\"; }, ", 74,
		     "{ id = \"z\"; } );\n");
	lpw_config_t *cfg = NULL;
	char *errors = NULL;
	assert_int_equal(load("errs.conf", &cfg, &errors), -EINVAL);
	size_t lines = 0;
	for (const char *p = errors; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, LPW_CONFIG_MAX_ERRORS + 1);
	assert_non_null(strstr(errors, "more problems not shown\n"));
	free(errors);
}

/* --- UTF-8 --- */

static void test_text_validator(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} v[] = {
		{ "plain", true },           { "caf\xc3\xa9", true },       { "\xe2\x82\xac", true },
		{ "\xf0\x9f\x98\x80", true }, { "\xf4\x8f\xbf\xbd", true }, { "lpw\xff", false },
		{ "\xc0\xaf", false },       { "\xe0\x80\xaf", false },     { "\xed\xa0\x80", false },
		{ "\xf4\x90\x80\x80", false }, { "\xc3", false },           { "\x80", false },
		{ "tab\there", false },      { "del\x7f", false },          { "c1\xc2\x85", false },
		{ "\xef\xbf\xbe", false },   { "\xef\xb7\x90", false },     { "\xf0\x9f\xbf\xbf", false },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *why;
		size_t at;
		int rc = lpw_config_check_text(v[i].s, strlen(v[i].s), &why, &at);
		if ((rc == 0) != v[i].ok)
			fprintf(stderr, "vector %zu: rc %d\n", i, rc);
		assert_int_equal(rc == 0, v[i].ok);
	}
}

/* --check-config must refuse exactly what the daemon's libmosquitto refuses at start. */
static void test_text_matches_libmosquitto(void **state)
{
	static const unsigned char pieces[] = { 'a', 0x01, 0x7f, 0x80, 0x9f, 0xbf, 0xc2, 0xc3, 0xdf, 0xe0, 0xed, 0xef,
						0xf0, 0xf4, 0xf5, 0xfe, 0x90, 0xa0, 0xb7, 0xbe };
	unsigned seed = 12345;
	for (int round = 0; round < 200000; round++) {
		char s[8];
		int len = 1 + round % 7;
		for (int i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			s[i] = (char)pieces[(seed >> 16) % sizeof(pieces)];
		}
		s[len] = '\0'; /* 2.0.11 looks past len for a truncated sequence; the daemon's strings end in NUL */
		const char *why;
		size_t at;
		bool ours = lpw_config_check_text(s, (size_t)len, &why, &at) == 0;
		bool theirs = mosquitto_validate_utf8(s, len) == MOSQ_ERR_SUCCESS;
		if (ours != theirs) {
			fprintf(stderr, "round %d: ours %d libmosquitto %d for", round, ours, theirs);
			for (int i = 0; i < len; i++)
				fprintf(stderr, " %02x", (unsigned char)s[i]);
			fputc('\n', stderr);
		}
		assert_int_equal(ours, theirs);
	}
}

static void test_utf8_settings(void **state)
{
	write_file("topic.conf", "gateway_id = \"g\";\nmqtt: { topic_prefix = \"lpw\\xff\"; };\n");
	refused("topic.conf", "topic.conf:2: mqtt.topic_prefix: \"lpw\\xff\" is not valid UTF-8 (byte 3)");
	write_file("level.conf", "gateway_id = \"g\";\nmqtt: { topic_prefix = \"a//b\"; };\n");
	refused("level.conf", "level.conf:2: mqtt.topic_prefix: \"a//b\" is not a usable topic prefix");
	write_file("user.conf", "gateway_id = \"g\";\nmqtt: { username = \"\\xc0\\xafroot\"; };\n");
	refused("user.conf", "user.conf:2: mqtt.username: \"\\xc0\\xafroot\" is not valid UTF-8 (byte 0)");
	write_file("ep.conf", "gateway_id = \"g\";\n" SERVER "devices = ( { id = \"d\"; binding = \"nidd-sgi\";\n"
			      "  ip = \"127.0.0.2\"; server = \"s\"; endpoint = \"urn:\\xed\\xa0\\x80\"; } );\n");
	refused("ep.conf", "ep.conf:4: devices.[0].endpoint: \"urn:\\xed\\xa0\\x80\" is not valid UTF-8");
	write_file("id.conf", "gateway_id = \"g\";\nservers = ( { name = \"s\"; uri = \"coaps+tcp://h\";\n"
			      "  psk_identity = \"gw\\x85\"; psk_key = \"00\"; } );\n");
	refused("id.conf", "id.conf:3: servers.[0].psk_identity: \"gw\\x85\" is not valid UTF-8");
	write_file("good.conf", "gateway_id = \"g\";\nmqtt: { topic_prefix = \"caf\\xc3\\xa9/\\xe2\\x82\\xac\"; };\n"
				"servers = ( { name = \"s\"; uri = \"coaps+tcp://h\"; psk_identity = \"gr\\xc3\\xbc\\xc3\\x9f\";"
				" psk_key = \"00\"; } );\n");
	lpw_config_t *cfg = accepted("good.conf");
	assert_string_equal(cfg->mqtt.topic_prefix, "caf\xc3\xa9/\xe2\x82\xac");
	assert_int_equal(cfg->servers[0].tls.identity_len, 6);
	lpw_config_free(cfg);
}

/* --- ::ffff:a.b.c.d is a.b.c.d --- */

static void test_ipv4_mapped(void **state)
{
	write_file("dup.conf", "gateway_id = \"g\";\n" SERVER "devices = (\n" DEVICE("a", "127.0.0.2") ",\n"
			       DEVICE("b", "::ffff:127.0.0.2") "\n);\n");
	refused("dup.conf", "dup.conf:5: devices.[1].ip: \"127.0.0.2\" is a duplicate (first at %s:4)",
		tmp_path("dup.conf"));
	write_file("one.conf", "gateway_id = \"g\";\n" SERVER "devices = (\n" DEVICE("b", "::FFFF:10.1.2.3") "\n);\n");
	lpw_config_t *cfg = accepted("one.conf");
	assert_string_equal(cfg->devices[0].identity, "10.1.2.3"); /* what the SGi binding sees as the peer */
	lpw_config_free(cfg);
}

/* --- the state directory (lpw_config_check_runtime, run by --check-config and at start) --- */

static int runtime(const char *state_dir, char **out)
{
	write_file("rt.conf", "gateway_id = \"g\";\nstate_dir = \"%s\";\n", state_dir);
	lpw_config_t *cfg = accepted("rt.conf");
	size_t len;
	FILE *f = open_memstream(out, &len);
	int rc = lpw_config_check_runtime(cfg, f);
	fclose(f);
	lpw_config_free(cfg);
	return rc;
}

static void test_state_dir(void **state)
{
	char *out = NULL;
	assert_int_equal(mkdir(tmp_path("st"), 0700), 0);
	assert_int_equal(runtime("st", &out), 0);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(chmod(tmp_path("st"), 0777), 0);
	assert_int_equal(runtime("st", &out), 0);
	assert_non_null(strstr(out, "rt.conf: state_dir: warning: "));
	assert_non_null(strstr(out, "/st is accessible by group or others (mode 0777); it holds session keys: chmod 700"));
	free(out);
	assert_int_equal(chmod(tmp_path("st"), 0700), 0);
	assert_int_equal(mkfifo(tmp_path("st/lpwagw.db"), 0600), 0);
	assert_int_equal(runtime("st", &out), -EINVAL);
	assert_non_null(strstr(out, "/st/lpwagw.db is a FIFO; expected the state database"));
	free(out);
	assert_int_equal(runtime("missing", &out), 0); /* the store makes it, its parent is there */
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(runtime("no/such/parent", &out), -EINVAL);
	assert_non_null(strstr(out, "/no/such/parent does not exist, and cannot be created because"));
	free(out);
	write_file("plain", "x\n");
	assert_int_equal(runtime("plain", &out), -EINVAL);
	assert_non_null(strstr(out, "/plain is a regular file; expected a directory"));
	free(out);
	if (geteuid() != 0) { /* root may write anywhere */
		assert_int_equal(mkdir(tmp_path("ro"), 0500), 0);
		assert_int_equal(runtime("ro", &out), -EINVAL);
		assert_non_null(strstr(out, "/ro is not writable (Permission denied)"));
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fifo_include, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_main_and_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_errors_name_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_line_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_string, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_valid, setup, teardown),
		cmocka_unit_test(test_lookup_without_index),
		cmocka_unit_test_setup_teardown(test_error_cap, setup, teardown),
		cmocka_unit_test(test_text_validator),
		cmocka_unit_test(test_text_matches_libmosquitto),
		cmocka_unit_test_setup_teardown(test_utf8_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv4_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_dir, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
