/* lorawan-sim: N simulated LoRaWAN Class A devices running LwM2M clients behind one simulated packet forwarder,
 * driven from the command line and stdin; JSON event lines on stdout. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/common/parse.h"
#include "tools/common/sim_shell.h"
#include "tools/lorawan-sim/pfsim.h"

#define MAX_DEVICES 4096
#define START_STAGGER_MS 100 /* apart by more than the RX tolerance, so shared-AppKey joins stay distinct */

struct sim {
	lpw_sim_shell_t *shell;
	lpw_loop_t *loop;
	lpw_pfsim_t *pf;
	size_t count;
	lpw_lwdev_t **devs;
};

struct opts {
	const char *server_host;
	uint16_t server_port;
	size_t count;
	bool control;
	uint8_t deveui_base[8];
	uint32_t devaddr_base;
	lpw_pfsim_config_t pf;
	lpw_lwdev_config_t dev;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lorawan-sim --server HOST:PORT (--otaa | --abp) [options]\n"
		"  forwarder: --gateway-eui HEX16 (0102030405060708) --keepalive S (5) --region EU868|US915|AU915|AS923-1..4\n"
		"             --dr N (EU868 5, US915 3) --loss-up P --loss-down P (0..1) --seed N\n"
		"  devices:   --count N (1); device i gets DevEUI base+i and DevAddr base+i\n"
		"             --otaa --deveui-base HEX16 --joineui HEX16 --appkey HEX32\n"
		"             --abp --deveui-base HEX16 --devaddr-base HEX8 --nwkskey HEX32 --appskey HEX32\n"
		"             --fport N (1) --confirmed --uplink-interval S (5) --poll-interval S (0 = off)\n"
		"             --join-retry S (10) --rx-tolerance-ms MS (20) --lifetime S (2592000)\n"
		"             --register-minimal (the default: no ep, lt, lwm2m, b) --register-full --no-objects\n"
		"             --no-auto-register --control stdin --quiet\n"
		"             --adr (set the ADR bit: follow LinkADRReq) --ignore-mac (answer no MAC request)\n"
		"Control lines on stdin: register, update, deregister, send PATH, empty, quit, or dev N <command>.\n");
}

static void start_quit(void *arg)
{
	struct sim *s = arg;
	for (size_t i = 0; i < s->count; i++)
		if (lpw_devsim_client_registered(lpw_lwdev_client(s->devs[i])))
			(void)lpw_devsim_client_deregister(lpw_lwdev_client(s->devs[i]));
}

/* One command for one device; quit is handled by the caller. */
static int device_command(lpw_lwdev_t *dev, const char *cmd)
{
	lpw_devsim_client_t *c = lpw_lwdev_client(dev);
	if (!strcmp(cmd, "register"))
		return lpw_devsim_client_register(c);
	if (!strcmp(cmd, "update"))
		return lpw_devsim_client_update(c);
	if (!strcmp(cmd, "deregister"))
		return lpw_devsim_client_deregister(c);
	if (!strncmp(cmd, "send ", 5))
		return lpw_devsim_client_send(c, cmd + 5);
	if (!strcmp(cmd, "empty")) {
		lpw_lwdev_send_empty(dev);
		return 0;
	}
	return -EINVAL;
}

/* One control line: "dev N <command>" or a command for every device; quit and error reports are the shell's. */
static int command(void *arg, const char *cmd)
{
	struct sim *s = arg;
	int rc = 0;
	if (!strncmp(cmd, "dev ", 4)) {
		char *end;
		unsigned long i = strtoul(cmd + 4, &end, 10);
		return end == cmd + 4 || *end != ' ' || i >= s->count ? -EINVAL : device_command(s->devs[i], end + 1);
	}
	for (size_t i = 0; i < s->count; i++) {
		int r = device_command(s->devs[i], cmd);
		rc = rc ? rc : r;
	}
	return rc;
}

/* Seconds, fractions allowed ("1.5"), into milliseconds; at most one day. */
static int parse_seconds_ms(const char *s, uint32_t *out)
{
	double v;
	if (lpw_parse_double(s, 0.0, 86400.0, &v) < 0)
		return -EINVAL;
	*out = (uint32_t)lround(v * 1000.0);
	return 0;
}

/* Exactly 2 * n hex digits into out. */
static int parse_hex(const char *s, uint8_t *out, size_t n)
{
	size_t len;
	return strlen(s) == 2 * n ? lpw_parse_hex(s, 2 * n, out, n, &len) : -EINVAL;
}

static uint64_t be64(const uint8_t b[8])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static int parse_option(int ch, char *arg, struct opts *o)
{
	unsigned long v;
	uint8_t b[8];
	lpw_lwdev_config_t *d = &o->dev;
	switch (ch) {
	case 's': return lpw_parse_host_port(arg, &o->server_host, &o->server_port);
	case 'G': return parse_hex(arg, b, 8) < 0 ? -EINVAL : (o->pf.gateway_eui = be64(b), 0);
	case 'k': return lpw_parse_uint(arg, 3600, &v) < 0 || !v ? -EINVAL : (o->pf.keepalive_s = (unsigned)v, 0);
	case 'n': return lpw_parse_uint(arg, MAX_DEVICES, &v) < 0 || !v ? -EINVAL : (o->count = v, 0);
	case 'O': d->otaa = true; return 0;
	case 'A': d->otaa = false; return 0;
	case 'E': return parse_hex(arg, o->deveui_base, 8);
	case 'J': return parse_hex(arg, d->join_eui, 8);
	case 'K': return parse_hex(arg, d->app_key, 16);
	case 'D':
		if (parse_hex(arg, b, 4) < 0)
			return -EINVAL;
		o->devaddr_base = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		return 0;
	case 'N': return parse_hex(arg, d->nwk_skey, 16);
	case 'P': return parse_hex(arg, d->app_skey, 16);
	case 'r': return lw_region_from_name(arg, &d->region);
	case 'd': return lpw_parse_uint(arg, 15, &v) < 0 ? -EINVAL : (d->dr = (unsigned)v, 0);
	case 'f': return lpw_parse_uint(arg, 223, &v) < 0 || !v ? -EINVAL : (d->fport = (uint8_t)v, 0);
	case 'C': d->confirmed = true; return 0;
	case 'R': d->adr = true; return 0;
	case 'I': d->ignore_mac = true; return 0;
	case 'u': return parse_seconds_ms(arg, &d->uplink_interval_ms);
	case 'p': return parse_seconds_ms(arg, &d->poll_interval_ms);
	case 'j': return parse_seconds_ms(arg, &d->join_retry_ms);
	case 't': return lpw_parse_uint(arg, 1000, &v) < 0 ? -EINVAL : (d->rx_tolerance_us = (uint32_t)v * 1000, 0);
	case 'L':
		if (lpw_parse_uint(arg, UINT32_MAX, &v) < 0 || !v)
			return -EINVAL;
		d->client.lifetime_s = (uint32_t)v;
		return 0;
	case 'M': d->client.register_minimal = true; return 0;
	case 'F': d->client.register_minimal = false; return 0;
	case 'o': d->client.register_no_objects = true; return 0;
	case 'a': d->auto_register = false; return 0;
	case 'U': return lpw_parse_double(arg, 0.0, 1.0, &o->pf.loss_up);
	case 'W': return lpw_parse_double(arg, 0.0, 1.0, &o->pf.loss_down);
	case 'S': return lpw_parse_uint(arg, UINT32_MAX, &v) < 0 ? -EINVAL : (o->pf.seed = (uint32_t)v, 0);
	case 'c': o->control = true; return strcmp(arg, "stdin") ? -EINVAL : 0;
	default: return -EINVAL;
	}
}

static int parse_args(int argc, char **argv, struct opts *o, bool *quiet, bool *dr_set)
{
	static const struct option longopts[] = {
		{"server", required_argument, NULL, 's'},        {"gateway-eui", required_argument, NULL, 'G'},
		{"keepalive", required_argument, NULL, 'k'},     {"count", required_argument, NULL, 'n'},
		{"otaa", no_argument, NULL, 'O'},                {"abp", no_argument, NULL, 'A'},
		{"deveui-base", required_argument, NULL, 'E'},   {"joineui", required_argument, NULL, 'J'},
		{"appeui", required_argument, NULL, 'J'},        {"appkey", required_argument, NULL, 'K'},
		{"devaddr-base", required_argument, NULL, 'D'},  {"nwkskey", required_argument, NULL, 'N'},
		{"appskey", required_argument, NULL, 'P'},       {"region", required_argument, NULL, 'r'},
		{"dr", required_argument, NULL, 'd'},            {"fport", required_argument, NULL, 'f'},
		{"confirmed", no_argument, NULL, 'C'},           {"uplink-interval", required_argument, NULL, 'u'},
		{"poll-interval", required_argument, NULL, 'p'}, {"join-retry", required_argument, NULL, 'j'},
		{"rx-tolerance-ms", required_argument, NULL, 't'}, {"lifetime", required_argument, NULL, 'L'},
		{"register-minimal", no_argument, NULL, 'M'},    {"register-full", no_argument, NULL, 'F'},
		{"no-objects", no_argument, NULL, 'o'},          {"no-auto-register", no_argument, NULL, 'a'},
		{"loss-up", required_argument, NULL, 'U'},       {"loss-down", required_argument, NULL, 'W'},
		{"seed", required_argument, NULL, 'S'},          {"control", required_argument, NULL, 'c'},
		{"quiet", no_argument, NULL, 'q'},               {"help", no_argument, NULL, 'h'},
		{"adr", no_argument, NULL, 'R'},                 {"ignore-mac", no_argument, NULL, 'I'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	bool mode = false;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			exit(0);
		}
		*quiet |= ch == 'q';
		*dr_set |= ch == 'd';
		mode |= ch == 'O' || ch == 'A';
		if (ch == 'q')
			continue;
		if (ch == '?' || parse_option(ch, optarg, o) < 0) {
			if (ch != '?')
				fprintf(stderr, "lorawan-sim: bad option value: %s\n", optarg ? optarg : "");
			return -EINVAL;
		}
	}
	if (optind != argc || !o->server_host || !mode) {
		fprintf(stderr, "lorawan-sim: --server and one of --otaa / --abp are required\n");
		return -EINVAL;
	}
	return 0;
}

static int create_devices(struct sim *s, const struct opts *o)
{
	s->devs = calloc(o->count, sizeof(*s->devs));
	if (!s->devs)
		return -ENOMEM;
	s->count = o->count; /* every slot starts NULL, so destroy() can free a partial set */
	lpw_lwdev_radio_t radio = lpw_pfsim_radio(s->pf);
	uint64_t eui = be64(o->deveui_base);
	for (size_t i = 0; i < o->count; i++) {
		lpw_lwdev_config_t cfg = o->dev;
		uint64_t e = eui + i;
		for (int k = 7; k >= 0; k--, e >>= 8)
			cfg.dev_eui[k] = (uint8_t)e;
		cfg.index = (unsigned)i;
		cfg.dev_addr = o->devaddr_base + (uint32_t)i;
		cfg.client.seed = o->dev.client.seed + (uint32_t)i * 7919u;
		cfg.on_event = lpw_sim_shell_event;
		cfg.event_arg = s->shell;
		s->devs[i] = lpw_lwdev_new(s->loop, &radio, &cfg);
		if (!s->devs[i])
			return -EINVAL;
		if (lpw_pfsim_add_device(s->pf, s->devs[i]) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < o->count; i++)
		(void)lpw_lwdev_start(s->devs[i], (int64_t)i * START_STAGGER_MS);
	return 0;
}

static void destroy(struct sim *s)
{
	for (size_t i = 0; s->devs && i < s->count; i++)
		lpw_lwdev_free(s->devs[i]);
	free(s->devs);
	lpw_pfsim_free(s->pf);
}

/* The shell waits while De-registers are still riding the uplinks. */
static bool busy(void *arg)
{
	struct sim *s = arg;
	for (size_t i = 0; i < s->count; i++)
		if (lpw_devsim_client_registered(lpw_lwdev_client(s->devs[i])))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct opts o = {.count = 1};
	struct sim s = {0};
	lpw_sim_shell_config_t shell = {
		.name = "lorawan-sim", .command = command, .start_quit = start_quit, .busy = busy, .arg = &s,
	};
	bool dr_set = false;
	lpw_lwdev_config_defaults(&o.dev);
	o.dev.client.register_minimal = true; /* LwM2M table 6.8.4-1: let the gateway fill in the defaults */
	o.pf.gateway_eui = 0x0102030405060708ull;
	o.pf.keepalive_s = 5;
	if (parse_args(argc, argv, &o, &shell.quiet, &dr_set) < 0) {
		usage(stderr);
		return 2;
	}
	if (!dr_set && o.dev.region == LW_REGION_US915)
		o.dev.dr = 3; /* SF7BW125 there */
	o.pf.region = o.dev.region;
	o.pf.server_host = o.server_host;
	o.pf.server_port = o.server_port;
	o.pf.on_event = lpw_sim_shell_event;
	char uri[24];
	snprintf(uri, sizeof(uri), "lorawan://%u", o.dev.fport);
	o.dev.client.server_uri = uri;
	/* De-register rides the next uplinks: give it a few openings */
	shell.quit_grace_ms = 10000 + 3 * (int64_t)o.dev.uplink_interval_ms;
	s.shell = lpw_sim_shell_new(&shell);
	s.loop = s.shell ? lpw_sim_shell_loop(s.shell) : NULL;
	o.pf.event_arg = s.shell;
	s.pf = s.loop ? lpw_pfsim_new(s.loop, &o.pf) : NULL;
	int rc = s.pf ? create_devices(&s, &o) : -EINVAL;
	if (rc == 0)
		rc = lpw_sim_shell_run(s.shell, o.control);
	if (rc < 0)
		fprintf(stderr, "lorawan-sim: %s\n", strerror(-rc));
	destroy(&s);
	lpw_sim_shell_free(s.shell);
	return rc < 0 ? 1 : 0;
}
