/* The control socket: a Unix stream socket in the loop that lpwagw-ctl talks to (protocol in ctl_proto.h).
 * Peers are checked with SO_PEERCRED: root, the configured uid, or the configured gid; anyone else is told
 * "permission denied" and disconnected. What each command does is the handler's (gateway/ctl_commands.c). */
#ifndef LPW_CONTROL_H
#define LPW_CONTROL_H

#include <stdint.h>
#include <stdio.h>

#include "core/loop.h"
#include "gateway/ctl_proto.h"

typedef struct lpw_control lpw_control_t;

typedef struct {
	const char *path; /* copied; an existing socket there (a stale one) is replaced */
	uint32_t mode;    /* 0 = 0660 */
	int allow_uid;    /* -1 = the daemon's own */
	int allow_gid;    /* -1 = the daemon's own */
} lpw_control_config_t;

/* Runs one parsed command: writes the answer's body to out (text, or one JSON document when cmd->json) and
 * returns an LPW_CTL_* code (0 = ok). Called from the loop. */
typedef int (*lpw_control_handler_t)(void *arg, const lpw_ctl_cmd_t *cmd, FILE *out);

/* Binds and listens. loop, arg: borrowed, must outlive the control socket; cfg copied. NULL on failure (the
 * reason logged: a missing directory, a path taken by something that is not a socket, ...). */
lpw_control_t *lpw_control_new(lpw_loop_t *loop, const lpw_control_config_t *cfg, lpw_control_handler_t handler,
                               void *arg);
/* Closes every connection and the socket, removes the socket file. Accepts NULL. */
void lpw_control_free(lpw_control_t *ctl);

/* Peers refused so far (not allowed, or over the connection limit). */
uint64_t lpw_control_refused(const lpw_control_t *ctl);

#endif
