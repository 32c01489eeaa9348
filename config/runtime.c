/* Checks of the machine a loaded configuration is to run on, for --check-config and start-up: what the state store
 * (core/store.c, lpw_store_open) will need of the state directory. Looks only; never creates or changes anything. */
#include "config/config_internal.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DB_NAME "lpwagw.db" /* core/store.c */

typedef struct {
	const lpw_config_t *cfg;
	FILE *out;
	int errors;
} report_t;

static void say(report_t *r, bool warning, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(report_t *r, bool warning, const char *fmt, ...)
{
	r->errors += !warning;
	if (!r->out)
		return;
	fprintf(r->out, "%s: state_dir: %s", r->cfg->path, warning ? "warning: " : "");
	va_list ap;
	va_start(ap, fmt);
	vfprintf(r->out, fmt, ap);
	va_end(ap);
	fputc('\n', r->out);
}

/* A missing state directory is made by the store with one mkdir (mode 0700): its parent must be there. */
static void check_parent(report_t *r, const char *dir)
{
	char *copy = strdup(dir);
	if (!copy) {
		say(r, false, "out of memory");
		return;
	}
	const char *parent = dirname(copy);
	struct stat st;
	if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
		say(r, false, "%s does not exist, and cannot be created because %s is not a directory; expected an "
			      "existing directory, or one whose parent exists", dir, parent);
	else if (access(parent, W_OK | X_OK) != 0)
		say(r, false, "%s does not exist, and cannot be created in %s (%s); expected a directory the daemon "
			      "may create", dir, parent, strerror(errno));
	free(copy);
}

static void check_database(report_t *r, const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, DB_NAME) >= sizeof(path)) {
		say(r, false, "%s is too long a path; expected a shorter one", dir);
		return;
	}
	if (lstat(path, &st) != 0)
		return; /* made at start */
	if (!S_ISREG(st.st_mode))
		say(r, false, "%s is %s; expected the state database, a regular file", path,
		    lpw_config_file_kind(st.st_mode));
	else if (access(path, R_OK | W_OK) != 0)
		say(r, false, "%s cannot be read and written (%s); expected the daemon's own file", path, strerror(errno));
	else if (st.st_mode & 077)
		say(r, true, "%s is accessible by group or others (mode %04o); it holds session keys: chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
}

int lpw_config_check_runtime(const lpw_config_t *cfg, FILE *out)
{
	report_t r = { .cfg = cfg, .out = out };
	const char *dir = cfg->state_dir;
	struct stat st;
	if (!dir || !*dir) {
		say(&r, false, "is empty; expected a directory");
		return -EINVAL;
	}
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			check_parent(&r, dir);
		else
			say(&r, false, "%s cannot be examined (%s); expected a directory", dir, strerror(errno));
	} else if (!S_ISDIR(st.st_mode)) {
		say(&r, false, "%s is %s; expected a directory", dir, lpw_config_file_kind(st.st_mode));
	} else if (access(dir, W_OK | X_OK) != 0) {
		say(&r, false, "%s is not writable (%s); expected a directory the daemon may write", dir, strerror(errno));
	} else {
		/* the store makes it 0700: it holds LoRaWAN session keys and frame counters */
		if (st.st_mode & 077)
			say(&r, true, "%s is accessible by group or others (mode %04o); it holds session keys: chmod 700 it",
			    dir, (unsigned)(st.st_mode & 07777));
		check_database(&r, dir);
	}
	return r.errors ? -EINVAL : 0;
}
