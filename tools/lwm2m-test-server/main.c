/* lwm2m-test-server: a small LwM2M server over CoAP/TCP and CoAP/TLS/TCP for tests and demos. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "tools/common/parse.h"
#include "tools/lwm2m-test-server/command.h"
#include "tools/lwm2m-test-server/control.h"
#include "tools/lwm2m-test-server/emit.h"
#include "tools/lwm2m-test-server/tserver.h"

#define MAX_PSKS 64

typedef struct {
	lpw_tserver_config_t server;
	lpw_tserver_psk_t psks[MAX_PSKS];
	const char *control;
	int log_level;
	const char *oscore; /* SECRET:SALT:SENDER:RECIPIENT[:ID_CONTEXT], hex */
} options_t;

typedef struct {
	lpw_loop_t *loop;
	lpw_tserver_t *server;
	uint64_t next_id;
} app_t;

static const char usage[] =
	"Usage: lwm2m-test-server [OPTIONS]\n"
	"A small LwM2M server over CoAP/TCP and CoAP/TLS/TCP (RFC 8323) for tests and demos.\n"
	"Every line it prints on stdout is one JSON event; commands are read one per line.\n"
	"\n"
	"  --listen ADDR              numeric address to listen on (default 127.0.0.1)\n"
	"  --tcp PORT                 CoAP/TCP port; 0 picks a free one (default), -1 disables\n"
	"  --tls PORT                 CoAP/TLS/TCP port; 0 picks a free one (default: disabled)\n"
	"  --psk IDENTITY:HEXKEY      accept this PSK identity with this key over TLS (repeatable)\n"
	"  --ca FILE --cert FILE --key FILE\n"
	"                             X.509 credentials for TLS (PEM); --ca is optional\n"
	"  --verify-peer              require a client certificate and verify it against --ca\n"
	"  --control stdin|unix:PATH  where commands come from (default stdin); socket clients\n"
	"                             also receive every event line\n"
	"  --csm-max-message-size N   Max-Message-Size announced in our CSM\n"
	"  --request-timeout SECONDS  bound on every server-initiated request (default 30)\n"
	"  --quiet                    log only errors on stderr\n"
	"  --debug                    log libcoap's debug output on stderr\n"
	"  --oscore SECRET:SALT:SENDER_ID:RECIPIENT_ID[:ID_CONTEXT]\n"
	"                             OSCORE (RFC 8613) context, hex (SALT and IDs may be empty):\n"
	"                             verify protected requests, protect responses and our requests\n"
	"  --help, --version\n"
	"\n"
	"Commands (each gets an id, echoed as {\"event\":\"accepted\",\"id\":N,...} or an error):\n"
	"  read EP PATH [accept=FMT]          write EP PATH FORMAT PAYLOAD (PUT)\n"
	"  write-partial EP PATH FORMAT PAYLOAD (POST)   exec EP PATH [ARGS]\n"
	"  create EP PATH FORMAT PAYLOAD      delete EP PATH      discover EP PATH\n"
	"  write-attr EP PATH QUERY           observe EP PATH [accept=FMT]   cancel EP ID\n"
	"  read-composite EP FORMAT PAYLOAD   list      quit\n"
	"  FORMAT: text opaque-hex senml-json tlv-hex cbor-hex senml-cbor-hex lwm2m-json link\n"
	"  accept=: text link opaque cbor senml-json senml-cbor tlv lwm2m-json or a number\n";

static int add_psk(options_t *o, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	lpw_tserver_psk_t *p = &o->psks[o->server.psk_count];
	if (o->server.psk_count == MAX_PSKS || !colon || colon == arg ||
	    (size_t)(colon - arg) > LPW_TSERVER_PSK_ID_MAX) {
		fprintf(stderr, "--psk %s: want IDENTITY:HEXKEY, identity 1..%d bytes, at most %d of them\n", arg,
		        LPW_TSERVER_PSK_ID_MAX, MAX_PSKS);
		return -EINVAL;
	}
	memcpy(p->identity, arg, (size_t)(colon - arg));
	p->identity[colon - arg] = '\0';
	size_t n = strlen(colon + 1);
	if (n == 0 || lpw_parse_hex(colon + 1, n, p->key, sizeof(p->key), &p->key_len)) {
		fprintf(stderr, "--psk %s: the key must be 1..%d bytes of hex\n", arg, LPW_TSERVER_PSK_KEY_MAX);
		return -EINVAL;
	}
	o->server.psk_count++;
	return 0;
}

/* --oscore into a new context; NULL with a message when malformed. */
static lpw_oscore_ctx_t *oscore_context(const char *arg)
{
	char why[160];
	lpw_oscore_ctx_t *ctx = lpw_oscore_ctx_from_arg(arg, why, sizeof(why));
	if (!ctx)
		fprintf(stderr, "--oscore %s: %s\n", arg, why);
	return ctx;
}

static int parse_long(const char *name, const char *arg, long min, long max, long *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (!*arg || *end || errno || v < min || v > max) {
		fprintf(stderr, "%s %s: want an integer in %ld..%ld\n", name, arg, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_timeout(const char *arg, int64_t *out_ms)
{
	double v;
	if (lpw_parse_double(arg, 0, 86400, &v) < 0 || v == 0) {
		fprintf(stderr, "--request-timeout %s: want seconds in (0, 86400]\n", arg);
		return -EINVAL;
	}
	*out_ms = (int64_t)(v * 1000 + 0.5);
	return 0;
}

/* Returns 0 to run, 1 when --help/--version was served, negative on bad options. */
static int parse_options(int argc, char **argv, options_t *o)
{
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, 'l'}, {"tcp", required_argument, NULL, 't'},
		{"tls", required_argument, NULL, 's'},    {"psk", required_argument, NULL, 'p'},
		{"ca", required_argument, NULL, 'a'},     {"cert", required_argument, NULL, 'c'},
		{"key", required_argument, NULL, 'k'},    {"verify-peer", no_argument, NULL, 'V'},
		{"control", required_argument, NULL, 'C'}, {"csm-max-message-size", required_argument, NULL, 'm'},
		{"request-timeout", required_argument, NULL, 'T'}, {"quiet", no_argument, NULL, 'q'},
		{"debug", no_argument, NULL, 'd'},       {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},     {"oscore", required_argument, NULL, 'O'},
		{NULL, 0, NULL, 0},
	};
	long v;
	int c;

	o->server.listen = "127.0.0.1";
	o->server.tcp_port = 0;
	o->server.tls_port = -1;
	o->server.psks = o->psks;
	o->server.request_timeout_ms = 30000;
	o->control = "stdin";
	o->log_level = LOG_NOTICE;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': o->server.listen = optarg; break;
		case 't': if (parse_long("--tcp", optarg, -1, 65535, &v)) return -EINVAL; o->server.tcp_port = (int)v; break;
		case 's': if (parse_long("--tls", optarg, -1, 65535, &v)) return -EINVAL; o->server.tls_port = (int)v; break;
		case 'p': if (add_psk(o, optarg)) return -EINVAL; break;
		case 'a': o->server.ca_file = optarg; break;
		case 'c': o->server.cert_file = optarg; break;
		case 'k': o->server.key_file = optarg; break;
		case 'V': o->server.verify_peer = true; break;
		case 'C': o->control = optarg; break;
		case 'm':
			if (parse_long("--csm-max-message-size", optarg, 64, 1L << 30, &v))
				return -EINVAL;
			o->server.csm_max_message_size = (uint32_t)v;
			break;
		case 'T': if (parse_timeout(optarg, &o->server.request_timeout_ms)) return -EINVAL; break;
		case 'q': o->log_level = LOG_ERR; break;
		case 'd': o->log_level = LOG_DEBUG; o->server.coap_debug = true; break;
		case 'O': o->oscore = optarg; break;
		case 'h': fputs(usage, stdout); return 1;
		case 'v': printf("lwm2m-test-server %s\n", LPW_VERSION); return 1;
		default: fputs(usage, stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "unexpected argument '%s'\n%s", argv[optind], usage);
		return -EINVAL;
	}
	return 0;
}

static int check_options(const options_t *o)
{
	const lpw_tserver_config_t *s = &o->server;
	if (!s->cert_file != !s->key_file) {
		fprintf(stderr, "--cert and --key go together\n");
		return -EINVAL;
	}
	if ((s->verify_peer && !s->ca_file) || (s->ca_file && !s->cert_file)) {
		fprintf(stderr, "--verify-peer needs --ca, and --ca needs --cert/--key\n");
		return -EINVAL;
	}
	if (s->tls_port >= 0 && !s->psk_count && !s->cert_file) {
		fprintf(stderr, "--tls needs credentials: --psk and/or --cert/--key\n");
		return -EINVAL;
	}
	if (s->tcp_port < 0 && s->tls_port < 0) {
		fprintf(stderr, "nothing to listen on: give --tcp or --tls\n");
		return -EINVAL;
	}
	return 0;
}

static void emit_error(uint64_t id, const char *cmd, const char *detail)
{
	lpw_emit(json_pack("{s:s, s:I, s:s, s:s}", "event", "error", "id", (json_int_t)id, "cmd", cmd, "detail",
	                   detail));
}

static void on_line(const char *line, bool too_long, void *arg)
{
	app_t *app = arg;
	uint64_t id = app->next_id++;
	char reason[200], verb[32];
	lpw_command_t cmd;

	lpw_command_verb(line, verb, sizeof(verb));
	if (too_long) {
		emit_error(id, "", "line too long");
		return;
	}
	if (lpw_command_parse(line, &cmd, reason, sizeof(reason))) {
		emit_error(id, verb, reason);
		return;
	}
	if (cmd.kind == LPW_CMD_QUIT) {
		lpw_emit(json_pack("{s:s, s:I, s:s}", "event", "accepted", "id", (json_int_t)id, "cmd", "quit"));
		lpw_loop_stop(app->loop);
	} else if (lpw_tserver_execute(app->server, id, &cmd, reason, sizeof(reason))) {
		emit_error(id, verb, reason);
	}
	lpw_command_clear(&cmd);
}

static void on_signal(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		LPW_NOTICE("main", "signal %u: stopping", si.ssi_signo);
	lpw_loop_stop(loop);
}

static int run(options_t *o)
{
	int rc = 1;
	int sfd = -1;
	sigset_t mask;
	app_t app = {.next_id = 1};
	lpw_control_t *ctl = NULL;
	lpw_clock_t *clock = lpw_clock_new_real();

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	app.loop = clock ? lpw_loop_new(clock) : NULL;
	if (sfd < 0 || !app.loop || lpw_loop_add_fd(app.loop, sfd, EPOLLIN, on_signal, NULL))
		goto out;
	if (o->oscore && !(o->server.oscore = oscore_context(o->oscore)))
		goto out;
	app.server = lpw_tserver_new(app.loop, &o->server);
	if (!app.server)
		goto out;
	ctl = lpw_control_new(app.loop, o->control, on_line, &app);
	if (!ctl)
		goto out;
	if (strncmp(o->control, "unix:", 5) == 0)
		lpw_emit_set_mirror(lpw_control_broadcast, ctl);
	json_t *tls = lpw_tserver_port(app.server, true) >= 0 ? json_integer(lpw_tserver_port(app.server, true))
	                                                       : json_null();
	json_t *tcp = lpw_tserver_port(app.server, false) >= 0 ? json_integer(lpw_tserver_port(app.server, false))
	                                                        : json_null();
	lpw_emit(json_pack("{s:s, s:o, s:o}", "event", "listening", "tcp", tcp, "tls", tls));
	rc = lpw_loop_run(app.loop) ? 1 : 0;
out:
	lpw_emit_set_mirror(NULL, NULL);
	lpw_control_free(ctl);
	lpw_tserver_free(app.server);
	lpw_oscore_ctx_free(o->server.oscore);
	o->server.oscore = NULL;
	if (sfd >= 0) {
		lpw_loop_del_fd(app.loop, sfd);
		close(sfd);
	}
	lpw_loop_free(app.loop);
	lpw_clock_free(clock);
	return rc;
}

int main(int argc, char **argv)
{
	static options_t opts; /* static: the PSK table is large and is borrowed by the server */
	int rc = parse_options(argc, argv, &opts);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (check_options(&opts))
		return 2;
	lpw_log_setup(opts.log_level, LPW_LOG_TO_STDERR, "lwm2m-test-server");
	return run(&opts);
}
