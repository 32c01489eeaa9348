/* device-sim: N simulated LwM2M 1.1 clients on one loop, driven from the command line and stdin. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "tools/common/parse.h"
#include "tools/common/sim_shell.h"
#include "tools/device-sim/client.h"
#include "tools/device-sim/link_sms.h"
#include "tools/device-sim/link_udp.h"

#define MAX_DEVICES 4096
#define QUIT_GRACE_MS 5000 /* how long `quit` waits for De-register answers */

struct sim {
	lpw_sim_shell_t *shell;
	lpw_loop_t *loop;
	size_t count;
	lpw_devsim_client_t **clients;
	lpw_devsim_udp_t **links;
	lpw_devsim_sms_t **sms_links; /* --link sms: one per device on modem-sim's side channel */
	lpw_oscore_ctx_t **oscore; /* one per device: each has its own sequence numbers and replay window */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: device-sim --link udp --gateway HOST:PORT --bind ADDR [--endpoint EP] [--lifetime S]\n"
	           "       device-sim --link sms --gateway SIDE_HOST:SIDE_PORT --bind MSISDN [...]\n"
	           "         [--binding U|UQ] [--count N] [--notify-interval S] [--notify-type con|non|mixed|PATTERN]\n"
	           "         [--no-retransmit] [--control stdin] [--quiet] [--seed N] [--firmware]\n"
	           "         [--register-minimal] (no ep, lt, lwm2m, b: LwM2M table 6.8.4-1, behind a LoRaWAN gateway)\n"
	           "         [--oscore SECRET:SALT:SENDER_ID:RECIPIENT_ID[:ID_CONTEXT] [--oscore-corrupt-next]]\n"
	           "With --count N, device i binds ADDR+i (or is MSISDN+i) and is called EP-i. --link sms: the device\n"
	           "sends and receives through tools/modem-sim's side channel (use --no-retransmit: LwM2M §6.8.3).\n"
	           "Events go to stdout as JSON lines;\n"
	           "--quiet keeps only error events. Control lines on stdin: register, update, deregister,\n"
	           "send PATH, sleep, wake, corrupt-next, quit.\n"
	           "--notify-type PATTERN: comma-separated con/non, repeating (non,con,con: NON, CON, CON, NON, ...).\n"
	           "--firmware adds object 5 (Firmware Update): a write to /5/0/0 (opaque, e.g. block-wise)\n"
	           "is reported with its size and SHA-256.\n"
	           "--oscore protects everything with OSCORE (RFC 8613; hex fields, SALT may be empty);\n"
	           "--oscore-corrupt-next and corrupt-next flip one ciphertext byte of the next request.\n");
}

static void start_quit(void *arg)
{
	struct sim *s = arg;
	for (size_t i = 0; i < s->count; i++)
		if (lpw_devsim_client_registered(s->clients[i]))
			lpw_devsim_client_deregister(s->clients[i]);
}

static int for_all(struct sim *s, int (*verb)(lpw_devsim_client_t *))
{
	int rc = 0;
	for (size_t i = 0; i < s->count; i++) {
		int r = verb(s->clients[i]);
		rc = rc ? rc : r;
	}
	return rc;
}

/* One control line; quit, empty lines and error reports are the shell's. */
static int command(void *arg, const char *cmd)
{
	struct sim *s = arg;
	int rc = 0;
	if (!strcmp(cmd, "register")) {
		rc = for_all(s, lpw_devsim_client_register);
	} else if (!strcmp(cmd, "update")) {
		rc = for_all(s, lpw_devsim_client_update);
	} else if (!strcmp(cmd, "deregister")) {
		rc = for_all(s, lpw_devsim_client_deregister);
	} else if (!strncmp(cmd, "send ", 5)) {
		for (size_t i = 0; i < s->count; i++)
			rc = rc ? rc : lpw_devsim_client_send(s->clients[i], cmd + 5);
	} else if (!strcmp(cmd, "sleep")) {
		for (size_t i = 0; i < s->count; i++)
			lpw_devsim_client_sleep(s->clients[i]);
	} else if (!strcmp(cmd, "wake")) {
		rc = for_all(s, lpw_devsim_client_wake);
	} else if (!strcmp(cmd, "corrupt-next")) {
		for (size_t i = 0; i < s->count; i++)
			lpw_devsim_client_corrupt_next(s->clients[i]);
	} else {
		rc = -EINVAL;
	}
	return rc;
}

struct opts {
	const char *gw_host;
	uint16_t gw_port;
	const char *bind;
	const char *endpoint;
	size_t count;
	bool control;
	const char *oscore; /* SECRET:SALT:SENDER:RECIPIENT[:ID_CONTEXT], all hex */
	bool sms;           /* --link sms */
	bool corrupt_next;
	lpw_devsim_config_t cfg;
};

/* con | non | mixed, or a comma-separated pattern of con/non that repeats ("non,con,con"). */
static int parse_notify_type(const char *arg, lpw_devsim_config_t *cfg)
{
	cfg->notify_pattern_len = 0;
	if (!strcmp(arg, "mixed")) {
		cfg->notify_type = LPW_DEVSIM_NOTIFY_MIXED;
		return 0;
	}
	for (const char *p = arg;;) {
		size_t n = strcspn(p, ",");
		if (cfg->notify_pattern_len == LPW_DEVSIM_PATTERN_MAX || (n != 3) ||
		    (strncmp(p, "con", 3) && strncmp(p, "non", 3)))
			return -EINVAL;
		cfg->notify_pattern[cfg->notify_pattern_len++] = !strncmp(p, "con", 3);
		if (!p[n])
			break;
		p += n + 1;
	}
	if (cfg->notify_pattern_len == 1) { /* a plain con or non */
		cfg->notify_type = cfg->notify_pattern[0] ? LPW_DEVSIM_NOTIFY_CON : LPW_DEVSIM_NOTIFY_NON;
		cfg->notify_pattern_len = 0;
	}
	return 0;
}

static int parse_option(int ch, char *arg, struct opts *o)
{
	unsigned long v;
	switch (ch) {
	case 'l':
		o->sms = !strcmp(arg, "sms");
		return strcmp(arg, "udp") && !o->sms ? -EINVAL : 0; /* LoRaWAN and SCEF links plug in here later */
	case 'g':
		return lpw_parse_host_port(arg, &o->gw_host, &o->gw_port);
	case 'B':
		o->bind = arg;
		return 0;
	case 'e':
		o->endpoint = arg;
		return 0;
	case 't':
		if (lpw_parse_uint(arg, UINT32_MAX, &v) < 0 || v == 0)
			return -EINVAL;
		o->cfg.lifetime_s = (uint32_t)v;
		return 0;
	case 'b':
		o->cfg.binding = arg;
		return strlen(arg) < 8 ? 0 : -EINVAL;
	case 'n':
		return lpw_parse_uint(arg, MAX_DEVICES, &v) < 0 || v == 0 ? -EINVAL : (o->count = v, 0);
	case 'i':
		if (lpw_parse_uint(arg, 86400, &v) < 0 || v == 0)
			return -EINVAL;
		o->cfg.notify_interval_s = (uint32_t)v;
		return 0;
	case 'T':
		return parse_notify_type(arg, &o->cfg);
	case 'R':
		o->cfg.retransmit = false;
		return 0;
	case 'c':
		o->control = true;
		return strcmp(arg, "stdin") ? -EINVAL : 0;
	case 'S':
		return lpw_parse_uint(arg, UINT32_MAX, &v) < 0 ? -EINVAL : (o->cfg.seed = (uint32_t)v, 0);
	case 'O':
		o->oscore = arg;
		return 0;
	case 'X':
		o->corrupt_next = true;
		return 0;
	case 'F':
		o->cfg.firmware = true;
		return 0;
	case 'm':
		o->cfg.register_minimal = true;
		return 0;
	default:
		return -EINVAL;
	}
}

static int parse_args(int argc, char **argv, struct opts *o, bool *quiet)
{
	static const struct option longopts[] = {
		{"link", required_argument, NULL, 'l'},           {"gateway", required_argument, NULL, 'g'},
		{"bind", required_argument, NULL, 'B'},           {"endpoint", required_argument, NULL, 'e'},
		{"lifetime", required_argument, NULL, 't'},       {"binding", required_argument, NULL, 'b'},
		{"count", required_argument, NULL, 'n'},          {"notify-interval", required_argument, NULL, 'i'},
		{"notify-type", required_argument, NULL, 'T'},    {"no-retransmit", no_argument, NULL, 'R'},
		{"control", required_argument, NULL, 'c'},        {"quiet", no_argument, NULL, 'q'},
		{"seed", required_argument, NULL, 'S'},           {"help", no_argument, NULL, 'h'},
		{"oscore", required_argument, NULL, 'O'},         {"oscore-corrupt-next", no_argument, NULL, 'X'},
		{"firmware", no_argument, NULL, 'F'},        {"register-minimal", no_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			exit(0);
		}
		if (ch == 'q') {
			*quiet = true;
			continue;
		}
		if (ch == '?' || parse_option(ch, optarg, o) < 0) {
			if (ch != '?')
				fprintf(stderr, "device-sim: bad option value: %s\n", optarg);
			return -EINVAL;
		}
	}
	if (o->corrupt_next && !o->oscore) {
		fprintf(stderr, "device-sim: --oscore-corrupt-next needs --oscore\n");
		return -EINVAL;
	}
	if (optind != argc || !o->gw_host || !o->bind) {
		fprintf(stderr, "device-sim: --gateway and --bind are required\n");
		return -EINVAL;
	}
	return 0;
}

/* ADDR + i for IPv4 bind addresses; other forms only with --count 1. */
static int bind_addr(const char *base, size_t i, char *out, size_t cap)
{
	struct in_addr a;
	if (i == 0) {
		snprintf(out, cap, "%s", base);
		return 0;
	}
	if (inet_pton(AF_INET, base, &a) != 1)
		return -EINVAL;
	a.s_addr = htonl(ntohl(a.s_addr) + (uint32_t)i);
	return inet_ntop(AF_INET, &a, out, (socklen_t)cap) ? 0 : -EINVAL;
}

/* MSISDN + i, digits kept (a leading '+' too). */
static int msisdn_plus(const char *base, size_t i, char *out, size_t cap)
{
	const char *d = base[0] == '+' ? base + 1 : base;
	size_t n = strlen(d);
	if (n == 0 || n > 15 || strspn(d, "0123456789") != n || n + 2 > cap)
		return -EINVAL;
	snprintf(out, cap, "%s", base);
	char *p = out + (base[0] == '+') + n;
	for (size_t carry = i; carry && p > out + (base[0] == '+');) {
		p--;
		size_t v = (size_t)(*p - '0') + carry;
		*p = (char)('0' + v % 10);
		carry = v / 10;
	}
	return 0;
}

/* The link of device i: UDP from ADDR+i, or SMS as MSISDN+i. */
static int make_link(struct sim *s, const struct opts *o, size_t i, lpw_devsim_link_t *out)
{
	char addr[64];
	if (o->sms) {
		if (msisdn_plus(o->bind, i, addr, sizeof(addr)) < 0)
			return -EINVAL;
		if (!(s->sms_links[i] = lpw_devsim_sms_new(addr, o->gw_host, o->gw_port)))
			return -EIO;
		*out = lpw_devsim_sms_link(s->sms_links[i]);
		return 0;
	}
	if (bind_addr(o->bind, i, addr, sizeof(addr)) < 0)
		return -EINVAL;
	if (!(s->links[i] = lpw_devsim_udp_new(addr, o->gw_host, o->gw_port)))
		return -EIO;
	*out = lpw_devsim_udp_link(s->links[i]);
	return 0;
}

/* One context per device from --oscore; NULL (and a message) when malformed. */
static lpw_oscore_ctx_t *oscore_from_arg(const char *arg)
{
	char why[160];
	lpw_oscore_ctx_t *ctx = lpw_oscore_ctx_from_arg(arg, why, sizeof(why));
	if (!ctx)
		fprintf(stderr, "device-sim: bad --oscore value: %s\n", why);
	return ctx;
}

static int create_devices(struct sim *s, const struct opts *o)
{
	s->clients = calloc(o->count, sizeof(*s->clients));
	s->links = calloc(o->count, sizeof(*s->links));
	s->oscore = calloc(o->count, sizeof(*s->oscore));
	s->sms_links = calloc(o->count, sizeof(*s->sms_links));
	if (!s->clients || !s->links || !s->oscore || !s->sms_links)
		return -ENOMEM;
	s->count = o->count; /* every slot starts NULL, so destroy() can free a partial set */
	for (size_t i = 0; i < o->count; i++) {
		char ep[80];
		if (o->count == 1)
			snprintf(ep, sizeof(ep), "%s", o->endpoint);
		else
			snprintf(ep, sizeof(ep), "%s-%zu", o->endpoint, i);
		lpw_devsim_link_t link;
		int rc = make_link(s, o, i, &link);
		if (rc < 0)
			return rc;
		lpw_devsim_config_t cfg = o->cfg;
		cfg.endpoint = ep;
		cfg.seed = o->cfg.seed + (uint32_t)i * 7919u;
		if (o->oscore && !(cfg.oscore = s->oscore[i] = oscore_from_arg(o->oscore)))
			return -EINVAL;
		s->clients[i] = lpw_devsim_client_new(s->loop, &link, &cfg);
		if (!s->clients[i])
			return -ENOMEM;
		if (o->corrupt_next)
			lpw_devsim_client_corrupt_next(s->clients[i]);
	}
	return 0;
}

static void destroy(struct sim *s)
{
	for (size_t i = 0; s->clients && s->links && i < s->count; i++) {
		lpw_devsim_client_free(s->clients[i]);
		lpw_devsim_udp_free(s->links[i]);
		if (s->sms_links)
			lpw_devsim_sms_free(s->sms_links[i]);
		if (s->oscore)
			lpw_oscore_ctx_free(s->oscore[i]);
	}
	free(s->clients);
	free(s->links);
	free(s->sms_links);
	free(s->oscore);
}

/* The shell waits for De-register answers only: a device that never registered has nothing to say goodbye to. */
static bool busy(void *arg)
{
	struct sim *s = arg;
	for (size_t i = 0; i < s->count; i++)
		if (lpw_devsim_client_registered(s->clients[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct opts o = {.endpoint = "device-sim", .count = 1};
	struct sim s = {0};
	lpw_sim_shell_config_t shell = {
		.name = "device-sim", .quit_grace_ms = QUIT_GRACE_MS,
		.command = command, .start_quit = start_quit, .busy = busy, .arg = &s,
	};
	lpw_devsim_config_defaults(&o.cfg);
	if (parse_args(argc, argv, &o, &shell.quiet) < 0) {
		usage(stderr);
		return 2;
	}
	s.shell = lpw_sim_shell_new(&shell);
	s.loop = s.shell ? lpw_sim_shell_loop(s.shell) : NULL;
	o.cfg.on_event = lpw_sim_shell_event;
	o.cfg.event_arg = s.shell;
	int rc = s.loop ? create_devices(&s, &o) : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < s.count; i++)
		if (lpw_devsim_client_register(s.clients[i]) < 0)
			LPW_WARN("devsim", "device %zu: register not sent", i);
	if (rc == 0)
		rc = lpw_sim_shell_run(s.shell, o.control);
	if (rc < 0)
		fprintf(stderr, "device-sim: %s\n", strerror(-rc));
	destroy(&s);
	lpw_sim_shell_free(s.shell);
	return rc < 0 ? 1 : 0;
}
