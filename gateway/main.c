/* lpwagw entry point: command line, configuration check, daemonising; the gateway itself lives in gateway.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "gateway/gateway.h"
#include "core/log.h"

#define DEFAULT_CONFIG "/etc/lpwagw/lpwagw.conf"
#define OPT_ALLOW_ROOT 256 /* long option only */

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: lpwagw [OPTIONS]\n"
	        "Bridges LoRaWAN, SMS and NB-IoT NIDD devices to their LwM2M servers over CoAP/TCP/TLS.\n\n"
	        "  -c, --config FILE        configuration file (default " DEFAULT_CONFIG ")\n"
	        "  -t, --check-config FILE  validate FILE, list every problem, exit 0 (valid) or 1\n"
	        "  -f, --foreground         stay in the foreground (default: detach and log to syslog)\n"
	        "  -l, --log-level LEVEL    override log.level (error, warning, notice, info, debug)\n"
	        "      --allow-root         run even as root (refused otherwise: run it as the lpwagw user)\n"
	        "  -V, --version            print the version and exit\n"
	        "  -h, --help               print this help and exit\n\n"
	        "Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads the configuration.\n");
}

/* The file, then what start-up needs of this machine (the state directory): whatever the daemon would refuse to
 * start with is reported here. */
static int check_config(const char *path)
{
	lpw_config_t *cfg = NULL;
	int rc = lpw_config_load(path, &cfg, stderr);
	if (rc == 0 && lpw_config_check_runtime(cfg, stderr) < 0)
		rc = -EINVAL;
	if (rc < 0) {
		fprintf(stderr, "%s: configuration is not valid\n", path);
		lpw_config_free(cfg);
		return 1;
	}
	printf("%s: configuration is valid (%zu servers, %zu devices)\n", path, cfg->nservers, cfg->ndevices);
	lpw_config_free(cfg);
	return 0;
}

/* Least privilege (issue 14): the daemon needs no privilege at all (ports above 1023, its own state directory), so
 * root is a mistake unless the operator says otherwise. Checked before anything is opened. */
static int refuse_root(int allow_root)
{
	if (geteuid() != 0)
		return 0;
	if (allow_root) {
		fprintf(stderr, "lpwagw: warning: running as root (--allow-root)\n");
		return 0;
	}
	fprintf(stderr, "lpwagw: refusing to run as root: run it as the lpwagw user (the systemd unit does), "
	                "or pass --allow-root to override\n");
	return 1;
}

/* Detach from the terminal: fork, new session, fork again so we can never reacquire one. */
static int daemonise(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},       {"check-config", required_argument, NULL, 't'},
		{"foreground", no_argument, NULL, 'f'},         {"log-level", required_argument, NULL, 'l'},
		{"version", no_argument, NULL, 'V'},            {"help", no_argument, NULL, 'h'},
		{"allow-root", no_argument, NULL, OPT_ALLOW_ROOT}, {NULL, 0, NULL, 0},
	};
	const char *config_path = DEFAULT_CONFIG;
	int foreground = 0, log_level = -1, allow_root = 0, c;

	while ((c = getopt_long(argc, argv, "c:t:fl:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 't':
			return check_config(optarg);
		case 'f':
			foreground = 1;
			break;
		case 'l':
			log_level = lpw_log_level_from_name(optarg);
			if (log_level < 0) {
				fprintf(stderr, "lpwagw: unknown log level '%s'; expected error, warning, notice, info or debug\n",
				        optarg);
				return 2;
			}
			break;
		case OPT_ALLOW_ROOT:
			allow_root = 1;
			break;
		case 'V':
			printf("lpwagw %s\n", LPW_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lpwagw: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	if (refuse_root(allow_root))
		return 1;

	lpw_config_t *cfg = NULL;
	if (lpw_config_load(config_path, &cfg, stderr) < 0 || lpw_config_check_runtime(cfg, stderr) < 0) {
		fprintf(stderr, "lpwagw: cannot start: %s is not valid\n", config_path);
		lpw_config_free(cfg);
		return 1;
	}
	if (!foreground && daemonise() < 0) {
		fprintf(stderr, "lpwagw: cannot detach: %s\n", strerror(errno));
		lpw_config_free(cfg);
		return 1;
	}
	lpw_gateway_options_t options = {.log_level_override = log_level, .foreground = foreground};
	/* ownership of cfg passes to the gateway */
	int rc = lpw_gateway_run(cfg, &options);
	return rc < 0 ? 1 : 0;
}
