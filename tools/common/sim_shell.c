/* The shell both simulators (device-sim, lorawan-sim) run in: logging and libcoap set-up, SIGINT/SIGTERM, the
 * loop, command lines on stdin, JSON event lines on stdout, and a quit that waits for the De-registers. */
#include "tools/common/sim_shell.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <coap3/coap.h>

#include "core/clock.h"
#include "core/log.h"
#include "tools/common/line_reader.h"

struct lpw_sim_shell {
	lpw_sim_shell_config_t cfg;
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	lpw_line_reader_t *stdin_reader;
	bool quitting;
	int64_t quit_deadline;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig; /* only the flag: the loop does the work */
}

lpw_sim_shell_t *lpw_sim_shell_new(const lpw_sim_shell_config_t *cfg)
{
	if (!cfg || !cfg->name || !cfg->command || !cfg->start_quit || !cfg->busy)
		return NULL;
	lpw_sim_shell_t *sh = calloc(1, sizeof(*sh));
	if (!sh)
		return NULL;
	sh->cfg = *cfg;
	lpw_log_setup(cfg->quiet ? LOG_ERR : LOG_NOTICE, LPW_LOG_TO_STDERR, cfg->name);
	coap_startup();
	coap_set_log_level(LOG_ERR);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sh->clock = lpw_clock_new_real();
	sh->loop = sh->clock ? lpw_loop_new(sh->clock) : NULL;
	if (!sh->loop) {
		lpw_sim_shell_free(sh);
		return NULL;
	}
	return sh;
}

void lpw_sim_shell_free(lpw_sim_shell_t *sh)
{
	if (!sh)
		return;
	lpw_line_reader_free(sh->stdin_reader);
	lpw_loop_free(sh->loop);
	lpw_clock_free(sh->clock);
	coap_cleanup();
	free(sh);
}

lpw_loop_t *lpw_sim_shell_loop(lpw_sim_shell_t *sh)
{
	return sh->loop;
}

void lpw_sim_shell_event(void *arg, const char *json)
{
	lpw_sim_shell_t *sh = arg;
	if (sh->cfg.quiet && !strstr(json, "\"event\":\"error\""))
		return;
	fputs(json, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

void lpw_sim_shell_quit(lpw_sim_shell_t *sh)
{
	if (sh->quitting)
		return;
	sh->quitting = true;
	sh->quit_deadline = lpw_loop_now(sh->loop) + sh->cfg.quit_grace_ms;
	sh->cfg.start_quit(sh->cfg.arg);
}

static void on_line(const char *line, bool too_long, void *arg)
{
	lpw_sim_shell_t *sh = arg;
	if (too_long) {
		fprintf(stdout, "{\"event\":\"error\",\"detail\":\"command line longer than %d characters dropped\"}\n",
		        LPW_SIM_SHELL_LINE_MAX);
		fflush(stdout);
		return;
	}
	if (!strcmp(line, "quit")) {
		lpw_sim_shell_quit(sh);
		return;
	}
	int rc = line[0] ? sh->cfg.command(sh->cfg.arg, line) : 0;
	if (rc < 0) {
		fprintf(stdout, "{\"event\":\"error\",\"detail\":\"command '%.40s' failed: %s\"}\n", line,
		        strerror(-rc));
		fflush(stdout);
	}
}

static void on_eof(void *arg)
{
	lpw_sim_shell_quit(arg); /* end of input means quit, as for a test harness that closes the pipe */
}

static bool quit_done(lpw_sim_shell_t *sh)
{
	/* only the goodbyes are waited for, and not beyond the grace time */
	return lpw_loop_now(sh->loop) >= sh->quit_deadline || !sh->cfg.busy(sh->cfg.arg);
}

int lpw_sim_shell_run(lpw_sim_shell_t *sh, bool control)
{
	if (control) {
		sh->stdin_reader =
			lpw_line_reader_new(sh->loop, STDIN_FILENO, LPW_SIM_SHELL_LINE_MAX, on_line, on_eof, sh);
		if (!sh->stdin_reader)
			return -EIO;
	}
	int rc = 0;
	while (!(sh->quitting && quit_done(sh))) {
		rc = lpw_loop_run_once(sh->loop, 200);
		if (rc < 0 && rc != -EINTR)
			break;
		rc = 0;
		if (got_signal) {
			got_signal = 0;
			lpw_sim_shell_quit(sh);
		}
	}
	lpw_line_reader_free(sh->stdin_reader);
	sh->stdin_reader = NULL;
	return rc;
}
