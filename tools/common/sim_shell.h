/* The shell both simulators (device-sim, lorawan-sim) run in: logging and libcoap set-up, SIGINT/SIGTERM, the
 * loop, command lines on stdin, JSON event lines on stdout, and a quit that waits for the De-registers. */
#ifndef LPW_TOOL_SIM_SHELL_H
#define LPW_TOOL_SIM_SHELL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"

#define LPW_SIM_SHELL_LINE_MAX 511 /* longest command line; a longer one is dropped with an error event */

typedef struct lpw_sim_shell lpw_sim_shell_t;

typedef struct {
	const char *name;      /* log ident, e.g. "device-sim"; borrowed, must outlive the shell */
	bool quiet;            /* only error events on stdout, only errors logged */
	int64_t quit_grace_ms; /* how long a quit waits for busy() to turn false */
	/* One non-empty command line other than "quit" (borrowed for the call). A negative errno is reported as an
	 * error event naming the command. */
	int (*command)(void *arg, const char *line);
	/* A quit begins ("quit", end of stdin, SIGINT, SIGTERM): say goodbye, e.g. send De-registers. Once only. */
	void (*start_quit)(void *arg);
	/* True while the goodbyes are still under way (a device waits for its De-register answer). */
	bool (*busy)(void *arg);
	void *arg; /* borrowed, passed to the three hooks */
} lpw_sim_shell_config_t;

/* Sets up logging and libcoap (coap_startup), ignores SIGPIPE, catches SIGINT/SIGTERM, and creates the real clock
 * and the loop. cfg is copied; every hook is required. NULL on failure (nothing left set up). One shell per
 * process: the signal flag is process-wide. */
lpw_sim_shell_t *lpw_sim_shell_new(const lpw_sim_shell_config_t *cfg);
/* Frees the loop and the clock and calls coap_cleanup; free what uses the loop first. Accepts NULL. */
void lpw_sim_shell_free(lpw_sim_shell_t *sh);

/* The loop; borrowed, valid until lpw_sim_shell_free. */
lpw_loop_t *lpw_sim_shell_loop(lpw_sim_shell_t *sh);

/* Prints one JSON event line (borrowed) on stdout and flushes; in quiet mode only "error" events. Has the shape of
 * the simulators' on_event hooks, with the shell as arg. */
void lpw_sim_shell_event(void *sh, const char *json);

/* Starts a quit now (harmless when one is under way). */
void lpw_sim_shell_quit(lpw_sim_shell_t *sh);

/* Runs the loop until a quit has started and busy() is false or the grace time has passed. With control, command
 * lines come from stdin (end of input quits). 0, or a negative errno when the loop or stdin cannot be used. */
int lpw_sim_shell_run(lpw_sim_shell_t *sh, bool control) __attribute__((warn_unused_result));

#endif
