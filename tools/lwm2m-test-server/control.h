/* The test server's control channel: command lines from stdin or from clients of a Unix stream socket,
 * and a copy of every event line for those socket clients. */
#ifndef LPW_TS_CONTROL_H
#define LPW_TS_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/loop.h"

typedef struct lpw_control lpw_control_t;

/* One complete line without its newline (borrowed for the call). too_long: the line exceeded
 * LPW_CMD_LINE_MAX and was discarded; line is then "". */
typedef void (*lpw_control_line_cb)(const char *line, bool too_long, void *arg);

/* spec is "stdin" or "unix:PATH" (a stale socket file at PATH is replaced). loop and arg are borrowed and
 * must outlive the channel. NULL on failure (logged). */
lpw_control_t *lpw_control_new(lpw_loop_t *loop, const char *spec, lpw_control_line_cb cb, void *arg);
/* Closes the socket and its clients and removes the socket file; accepts NULL. */
void lpw_control_free(lpw_control_t *ctl);

/* Sends line (borrowed) to every socket client; a client that cannot keep up is disconnected. Has the
 * signature of lpw_emit_mirror_cb, with ctl as arg. */
void lpw_control_broadcast(const char *line, size_t len, void *ctl);

#endif
