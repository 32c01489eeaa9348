/* The control socket's line protocol, shared by the daemon (gateway/control.c) and lpwagw-ctl (tools/ctl).
 *
 * Request: one line, "<format> <verb>[ <device id>]\n", format "text" or "json", single spaces, printable ASCII,
 * at most LPW_CTL_LINE_MAX bytes. Answer: a header line "ok <length>\n" or "err <code> <length>\n", then exactly
 * <length> bytes of body (text for people, or one JSON document). The connection stays open for the next
 * request; a malformed one is answered "err 2 ..." and the daemon carries on. */
#ifndef LPW_CTL_PROTO_H
#define LPW_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#define LPW_CTL_LINE_MAX 256
#define LPW_CTL_ARG_MAX 64 /* a device id: the configuration's name rule, 1..64 characters */

/* Exit codes of lpwagw-ctl, and the <code> of an err header (documented in lpwagw-ctl(8)). */
enum {
	LPW_CTL_OK = 0,
	LPW_CTL_FAILED = 1,      /* the daemon could not do it (reload refused, out of memory) */
	LPW_CTL_USAGE = 2,       /* malformed or unknown command */
	LPW_CTL_NO_DEVICE = 3,   /* no device with that id */
	LPW_CTL_UNSUPPORTED = 4, /* not for this device (reset-session on a binding without sessions) */
	LPW_CTL_UNREACHABLE = 5, /* no daemon on the socket, refused (peer not allowed), or a broken answer */
};

typedef enum {
	LPW_CTL_STATUS,
	LPW_CTL_DEVICES,
	LPW_CTL_DEVICE,
	LPW_CTL_QUEUE,
	LPW_CTL_FLUSH,
	LPW_CTL_RESET_SESSION,
	LPW_CTL_RELOAD,
} lpw_ctl_verb_t;

typedef struct {
	lpw_ctl_verb_t verb;
	bool json;
	char arg[LPW_CTL_ARG_MAX + 1]; /* the device id, "" for verbs without one */
} lpw_ctl_cmd_t;

/* Parses one request line (without its '\n'; len bytes, need not be NUL-terminated). 0 and *out, or -EINVAL
 * with *out_why a static text saying what is wrong. Never reads past len. */
int lpw_ctl_parse(const char *line, size_t len, lpw_ctl_cmd_t *out, const char **out_why);

/* The verb's name as written, or NULL for a verb that does not exist. Static storage. */
const char *lpw_ctl_verb_name(lpw_ctl_verb_t verb);
/* Whether the verb takes a device id. */
bool lpw_ctl_verb_takes_id(lpw_ctl_verb_t verb);
/* The verb named name (NUL-terminated): 0 and *out, or -ENOENT. */
int lpw_ctl_verb_find(const char *name, lpw_ctl_verb_t *out);

#endif
