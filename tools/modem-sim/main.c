/* modem-sim: an AT modem on a pseudo-terminal with an SMS network behind it, driven from the command line and
 * stdin; JSON event lines on stdout. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/common/parse.h"
#include "tools/common/sim_shell.h"
#include "tools/modem-sim/modem.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: modem-sim --path PATH [--msisdn NUMBER] [--pin PIN] [--side ADDR:PORT] [--storage N]\n"
		"                 [--no-direct] [--cnma-timeout MS] [--sim-busy MS] [--control stdin] [--quiet]\n"
		"PATH becomes a symlink to the pty the gateway opens (e.g. bindings.sms.device). NUMBER (+491700000000) is\n"
		"the modem's own number. The side channel (127.0.0.1, an ephemeral port: see the ready event) takes\n"
		"HELLO MSISDN [pdu|raw], SUBMIT MSISDN HEX (an SMS-SUBMIT TPDU) and SEND MSISDN HEX (a payload) datagrams\n"
		"from simulated devices and sends them DELIVER HEX (or DATA FROM HEX for raw).\n"
		"Control lines on stdin: cms-error N [COUNT], slow MS, split N [GAP_MS], garble [COUNT], noise [COUNT],\n"
		"mute, unmute, vanish [MS], appear, inject FROM HEX, store FROM HEX, urc TEXT, csq N, creg N, status, quit.\n");
}

/* The shell is made before the sim (the sim needs its loop): its hooks reach the sim through this. */
struct holder {
	lpw_modemsim_t *m;
};

static int command(void *arg, const char *line)
{
	struct holder *h = arg;
	return h->m ? lpw_modemsim_command(h->m, line) : -EAGAIN;
}

static void start_quit(void *arg)
{
}

static bool busy(void *arg)
{
	return false;
}

struct opts {
	lpw_modemsim_config_t cfg;
	char *side;
	bool control;
};

static int parse_option(int ch, char *arg, struct opts *o)
{
	unsigned long v;
	const char *host;
	uint16_t port;
	switch (ch) {
	case 'p': o->cfg.path = arg; return 0;
	case 'm': o->cfg.msisdn = arg; return 0;
	case 'P': o->cfg.pin = arg; return 0;
	case 's':
		if (lpw_parse_host_port(arg, &host, &port) < 0 && strcmp(arg, "0") != 0)
			return -EINVAL;
		o->cfg.side_addr = host;
		o->cfg.side_port = port;
		return 0;
	case 'n': return lpw_parse_uint(arg, 255, &v) < 0 || v == 0 ? -EINVAL : (o->cfg.storage = (unsigned)v, 0);
	case 'D': o->cfg.no_direct = true; return 0;
	case 'a': return lpw_parse_uint(arg, 3600000, &v) < 0 ? -EINVAL : (o->cfg.cnma_timeout_ms = (uint32_t)v, 0);
	case 'b': return lpw_parse_uint(arg, 3600000, &v) < 0 ? -EINVAL : (o->cfg.sim_busy_ms = (uint32_t)v, 0);
	case 'c': o->control = true; return strcmp(arg, "stdin") ? -EINVAL : 0;
	default: return -EINVAL;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"path", required_argument, NULL, 'p'},         {"msisdn", required_argument, NULL, 'm'},
		{"pin", required_argument, NULL, 'P'},          {"side", required_argument, NULL, 's'},
		{"storage", required_argument, NULL, 'n'},      {"no-direct", no_argument, NULL, 'D'},
		{"cnma-timeout", required_argument, NULL, 'a'}, {"sim-busy", required_argument, NULL, 'b'},
		{"control", required_argument, NULL, 'c'},      {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},               {NULL, 0, NULL, 0},
	};
	struct opts o = {.cfg = {.msisdn = "+491700000000"}};
	lpw_sim_shell_config_t shell = {.name = "modem-sim", .command = command, .start_quit = start_quit,
					.busy = busy};
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return 0;
		}
		if (ch == 'q') {
			shell.quiet = true;
			continue;
		}
		if (ch == '?' || parse_option(ch, optarg, &o) < 0) {
			if (ch != '?')
				fprintf(stderr, "modem-sim: bad option value: %s\n", optarg);
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !o.cfg.path) {
		usage(stderr);
		return 2;
	}
	struct holder h = {NULL};
	shell.arg = &h;
	lpw_sim_shell_t *sh = lpw_sim_shell_new(&shell);
	if (!sh)
		return 1;
	o.cfg.on_event = lpw_sim_shell_event;
	o.cfg.event_arg = sh;
	h.m = lpw_modemsim_new(lpw_sim_shell_loop(sh), &o.cfg);
	int rc = h.m ? lpw_sim_shell_run(sh, o.control) : -EIO;
	if (rc < 0)
		fprintf(stderr, "modem-sim: %s\n", strerror(-rc));
	lpw_modemsim_free(h.m);
	lpw_sim_shell_free(sh);
	return rc < 0 ? 1 : 0;
}
