/* Control channel: command lines from stdin and Unix-socket clients, event lines back to those clients. */
#include "tools/lwm2m-test-server/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "tools/common/line_reader.h"
#include "tools/lwm2m-test-server/command.h"

#define MAX_CLIENTS 8

typedef struct {
	lpw_control_t *ctl;
	int fd; /* -1 when the slot is free */
	lpw_line_reader_t *lines;
} reader_t;

struct lpw_control {
	lpw_loop_t *loop;
	lpw_control_line_cb cb;
	void *arg;
	int listen_fd;
	char *path;
	reader_t stdin_reader;
	reader_t clients[MAX_CLIENTS];
};

static void reader_close(reader_t *r)
{
	if (r->fd < 0)
		return;
	lpw_line_reader_free(r->lines); /* stops watching the fd first */
	r->lines = NULL;
	if (r->fd != STDIN_FILENO)
		close(r->fd);
	r->fd = -1;
}

static void reader_line(const char *line, bool too_long, void *arg)
{
	reader_t *r = arg;
	r->ctl->cb(line, too_long, r->ctl->arg);
}

static void reader_eof(void *arg)
{
	reader_t *r = arg;
	if (r->fd == STDIN_FILENO)
		LPW_NOTICE("control", "stdin closed; still serving until a signal stops us");
	reader_close(r);
}

/* -errno as lpw_line_reader_new leaves it (EPERM: stdin is a regular file). */
static int reader_open(lpw_control_t *ctl, reader_t *r, int fd)
{
	r->ctl = ctl;
	r->lines = lpw_line_reader_new(ctl->loop, fd, LPW_CMD_LINE_MAX, reader_line, reader_eof, r);
	if (!r->lines)
		return errno ? -errno : -ENOMEM;
	r->fd = fd;
	return 0;
}

static void accept_client(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_control_t *ctl = arg;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (ctl->clients[i].fd < 0) {
			if (reader_open(ctl, &ctl->clients[i], cfd) == 0)
				return;
			break;
		}
	}
	LPW_WARN("control", "control client refused (at most %d, or out of memory)", MAX_CLIENTS);
	close(cfd);
}

static int open_unix(lpw_control_t *ctl, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		LPW_ERR("control", "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	ctl->path = strdup(path);
	ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!ctl->path || ctl->listen_fd < 0)
		return -errno;
	unlink(path);
	if (bind(ctl->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(ctl->listen_fd, 4)) {
		int rc = -errno;
		LPW_ERR("control", "cannot listen on %s: %s", path, strerror(errno));
		return rc;
	}
	return lpw_loop_add_fd(ctl->loop, ctl->listen_fd, EPOLLIN, accept_client, ctl);
}

lpw_control_t *lpw_control_new(lpw_loop_t *loop, const char *spec, lpw_control_line_cb cb, void *arg)
{
	lpw_control_t *ctl = calloc(1, sizeof(*ctl));
	int rc;
	if (!ctl)
		return NULL;
	ctl->loop = loop;
	ctl->cb = cb;
	ctl->arg = arg;
	ctl->listen_fd = -1;
	ctl->stdin_reader.fd = -1;
	for (int i = 0; i < MAX_CLIENTS; i++)
		ctl->clients[i].fd = -1;
	if (strcmp(spec, "stdin") == 0) {
		rc = reader_open(ctl, &ctl->stdin_reader, STDIN_FILENO);
		if (rc == -EPERM)
			LPW_ERR("control", "stdin cannot be watched (a regular file?): use a pipe or --control unix:PATH");
	} else if (strncmp(spec, "unix:", 5) == 0 && spec[5]) {
		rc = open_unix(ctl, spec + 5);
	} else {
		LPW_ERR("control", "--control must be stdin or unix:PATH, not '%s'", spec);
		rc = -EINVAL;
	}
	if (rc) {
		lpw_control_free(ctl);
		return NULL;
	}
	return ctl;
}

void lpw_control_free(lpw_control_t *ctl)
{
	if (!ctl)
		return;
	reader_close(&ctl->stdin_reader);
	for (int i = 0; i < MAX_CLIENTS; i++)
		reader_close(&ctl->clients[i]);
	if (ctl->listen_fd >= 0) {
		lpw_loop_del_fd(ctl->loop, ctl->listen_fd);
		close(ctl->listen_fd);
		if (ctl->path)
			unlink(ctl->path);
	}
	free(ctl->path);
	free(ctl);
}

void lpw_control_broadcast(const char *line, size_t len, void *arg)
{
	lpw_control_t *ctl = arg;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		reader_t *r = &ctl->clients[i];
		if (r->fd < 0)
			continue;
		ssize_t n = send(r->fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n != (ssize_t)len) {
			LPW_WARN("control", "control client not reading (or gone): disconnected");
			reader_close(r);
		}
	}
}
