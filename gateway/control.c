/* The control socket in the loop: accept, check the peer's credentials, read request lines, write framed answers
 * without blocking (a slow reader only fills its own buffer), close idle connections. */
#include "gateway/control.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"

#define MOD "control"
#define MAX_CLIENTS 8        /* an operator and a few scripts; more are refused */
#define IDLE_MS 30000        /* a connection silent this long is closed */
#define OUT_MAX (4u << 20)   /* answers not yet read by the peer; beyond that it is dropped */

struct client {
	lpw_control_t *ctl;
	struct client *next;
	int fd;
	char in[LPW_CTL_LINE_MAX + 1];
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	bool closing;  /* close once out is written */
	bool draining; /* answered and shut down for writing: what the peer still sends is read and dropped until it
	                * closes, so that unread input does not turn the close into a reset that loses the answer */
	lpw_timer_t idle;
};

struct lpw_control {
	lpw_loop_t *loop;
	char *path;
	int fd;
	uid_t uid;
	gid_t gid;
	lpw_control_handler_t handler;
	void *arg;
	struct client *clients;
	size_t nclients;
	uint64_t refused;
};

static void client_close(struct client *cl)
{
	lpw_control_t *ctl = cl->ctl;
	for (struct client **pp = &ctl->clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	ctl->nclients--;
	lpw_loop_timer_clear(ctl->loop, &cl->idle);
	lpw_loop_del_fd(ctl->loop, cl->fd);
	close(cl->fd);
	free(cl->out);
	free(cl);
}

static int append(struct client *cl, const char *data, size_t len)
{
	if (cl->outlen - cl->outoff + len > OUT_MAX)
		return -ENOBUFS;
	char *p = realloc(cl->out, cl->outlen + len);
	if (!p)
		return -ENOMEM;
	memcpy(p + cl->outlen, data, len);
	cl->out = p;
	cl->outlen += len;
	return 0;
}

/* Writes what it can; returns false when the client was closed. */
static bool flush(struct client *cl)
{
	while (cl->outoff < cl->outlen) {
		ssize_t n = send(cl->fd, cl->out + cl->outoff, cl->outlen - cl->outoff, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			(void)lpw_loop_set_events(cl->ctl->loop, cl->fd, EPOLLIN | EPOLLOUT);
			return true;
		}
		if (n <= 0) {
			client_close(cl);
			return false;
		}
		cl->outoff += (size_t)n;
	}
	free(cl->out);
	cl->out = NULL;
	cl->outlen = cl->outoff = 0;
	if (cl->closing) {
		shutdown(cl->fd, SHUT_WR);
		cl->draining = true;
	}
	(void)lpw_loop_set_events(cl->ctl->loop, cl->fd, EPOLLIN);
	return true;
}

/* Frames body as one answer. */
static void answer(struct client *cl, int code, const char *body, size_t len)
{
	char head[48];
	int n = code == LPW_CTL_OK ? snprintf(head, sizeof(head), "ok %zu\n", len)
	                           : snprintf(head, sizeof(head), "err %d %zu\n", code, len);
	if (append(cl, head, (size_t)n) < 0 || append(cl, body, len) < 0) {
		LPW_WARN(MOD, "a control client does not read its answers; disconnected");
		cl->closing = true;
	}
}

static void answer_error(struct client *cl, bool json, int code, const char *why)
{
	char *body = NULL;
	if (json) {
		json_t *o = json_pack("{s:s}", "error", why);
		char *dump = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (dump && asprintf(&body, "%s\n", dump) < 0)
			body = NULL;
		free(dump);
	} else if (asprintf(&body, "%s\n", why) < 0) {
		body = NULL;
	}
	answer(cl, code, body ? body : "\n", body ? strlen(body) : 1);
	free(body);
}

static void run_line(struct client *cl, const char *line, size_t len)
{
	lpw_ctl_cmd_t cmd;
	const char *why;
	if (lpw_ctl_parse(line, len, &cmd, &why) < 0) {
		LPW_INFO(MOD, "malformed control request refused: %s", why);
		/* the format word may be what is wrong: answer JSON only when the line asked for it */
		answer_error(cl, len >= 5 && memcmp(line, "json ", 5) == 0, LPW_CTL_USAGE, why);
		return;
	}
	char *body = NULL;
	size_t blen = 0;
	FILE *out = open_memstream(&body, &blen);
	if (!out) {
		answer_error(cl, cmd.json, LPW_CTL_FAILED, "out of memory");
		return;
	}
	int code = cl->ctl->handler(cl->ctl->arg, &cmd, out);
	fclose(out);
	answer(cl, code, body ? body : "", body ? blen : 0);
	free(body);
}

/* Every complete line in the input buffer; a line that does not fit is answered and the connection closed (there
 * is no way to find where the next request starts). */
static void run_lines(struct client *cl)
{
	size_t start = 0;
	for (size_t i = 0; i < cl->inlen && !cl->closing; i++) {
		if (cl->in[i] != '\n')
			continue;
		run_line(cl, cl->in + start, i - start);
		start = i + 1;
	}
	memmove(cl->in, cl->in + start, cl->inlen - start);
	cl->inlen -= start;
	if (cl->inlen == sizeof(cl->in) && !cl->closing) {
		answer_error(cl, false, LPW_CTL_USAGE, "request longer than 256 bytes");
		cl->closing = true;
	}
}

static void on_client(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	struct client *cl = arg;
	if (events & EPOLLOUT && !flush(cl))
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || (cl->closing && !cl->draining))
		return;
	if (cl->draining) {
		char sink[512];
		ssize_t n = recv(fd, sink, sizeof(sink), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			client_close(cl);
		return;
	}
	ssize_t n = recv(fd, cl->in + cl->inlen, sizeof(cl->in) - cl->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* the peer is done: what it has not read is lost anyway */
		client_close(cl);
		return;
	}
	cl->inlen += (size_t)n;
	if (lpw_loop_timer_in(loop, &cl->idle, IDLE_MS) < 0)
		LPW_DEBUG(MOD, "idle timer not re-armed: out of memory");
	run_lines(cl);
	flush(cl);
}

static void on_idle(lpw_timer_t *timer, int64_t now_ms)
{
	(void)now_ms;
	client_close(lpw_container_of(timer, struct client, idle));
}

/* The peer's supplementary groups (Linux 4.13 SO_PEERGROUPS): an operator is usually in the daemon's group as a
 * supplementary one, which SO_PEERCRED's gid does not show. */
static bool in_peer_groups(int fd, gid_t gid)
{
	gid_t groups[64];
	socklen_t len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false; /* more than 64 groups (ERANGE) or an old kernel: the primary gid still counts */
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return true;
	return false;
}

static bool peer_allowed(const lpw_control_t *ctl, int fd, struct ucred *out)
{
	socklen_t len = sizeof(*out);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, out, &len) < 0)
		return false;
	return out->uid == 0 || out->uid == ctl->uid || out->gid == ctl->gid || in_peer_groups(fd, ctl->gid);
}

static struct client *client_new(lpw_control_t *ctl, int fd)
{
	struct client *cl = calloc(1, sizeof(*cl));
	if (!cl)
		return NULL;
	cl->ctl = ctl;
	cl->fd = fd;
	lpw_timer_init(&cl->idle, on_idle);
	if (lpw_loop_add_fd(ctl->loop, fd, EPOLLIN, on_client, cl) < 0 || lpw_loop_timer_in(ctl->loop, &cl->idle, IDLE_MS) < 0) {
		lpw_loop_del_fd(ctl->loop, fd);
		free(cl);
		return NULL;
	}
	cl->next = ctl->clients;
	ctl->clients = cl;
	ctl->nclients++;
	return cl;
}

/* Answers why and closes (gracefully when there is room for one more connection to drain). */
static void refuse(lpw_control_t *ctl, int fd, const char *why)
{
	ctl->refused++;
	struct client *cl = ctl->nclients < 2 * MAX_CLIENTS ? client_new(ctl, fd) : NULL;
	if (!cl) {
		close(fd);
		return;
	}
	answer_error(cl, false, LPW_CTL_UNREACHABLE, why);
	cl->closing = true;
	flush(cl);
}

static void on_accept(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_control_t *ctl = arg;
	(void)events;
	int cfd;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct ucred cred = {0};
		if (!peer_allowed(ctl, cfd, &cred)) {
			LPW_WARN(MOD, "control peer pid %d uid %u gid %u refused: not root, uid %u or gid %u", (int)cred.pid,
			         (unsigned)cred.uid, (unsigned)cred.gid, (unsigned)ctl->uid, (unsigned)ctl->gid);
			refuse(ctl, cfd, "permission denied");
			continue;
		}
		if (ctl->nclients >= MAX_CLIENTS) {
			LPW_WARN(MOD, "control peer pid %d refused: %d connections open", (int)cred.pid, MAX_CLIENTS);
			refuse(ctl, cfd, "too many control connections");
		} else if (!client_new(ctl, cfd)) {
			close(cfd);
		}
	}
}

/* A stale socket from an unclean stop is replaced; anything else at the path is left alone. */
static int bind_socket(lpw_control_t *ctl, uint32_t mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	if (strlen(ctl->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, ctl->path);
	if (lstat(ctl->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(ctl->path);
	}
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->fd < 0)
		return -errno;
	/* bound with no access for anyone, then opened up to the configured mode: no window with a wider one */
	mode_t old = umask(0777);
	int rc = bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0)
		return -errno;
	if (chmod(ctl->path, mode) < 0 || listen(ctl->fd, MAX_CLIENTS) < 0)
		return -errno;
	return 0;
}

lpw_control_t *lpw_control_new(lpw_loop_t *loop, const lpw_control_config_t *cfg, lpw_control_handler_t handler,
                               void *arg)
{
	lpw_control_t *ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return NULL;
	*ctl = (lpw_control_t){.loop = loop, .fd = -1, .handler = handler, .arg = arg, .path = strdup(cfg->path),
	                       .uid = cfg->allow_uid >= 0 ? (uid_t)cfg->allow_uid : geteuid(),
	                       .gid = cfg->allow_gid >= 0 ? (gid_t)cfg->allow_gid : getegid()};
	int rc = ctl->path ? bind_socket(ctl, cfg->mode ? cfg->mode : 0660) : -ENOMEM;
	if (rc == 0)
		rc = lpw_loop_add_fd(loop, ctl->fd, EPOLLIN, on_accept, ctl);
	if (rc < 0) {
		LPW_ERR(MOD, "cannot open the control socket %s: %s", cfg->path,
		        rc == -EEXIST ? "something that is not a socket is there" : strerror(-rc));
		lpw_control_free(ctl);
		return NULL;
	}
	LPW_INFO(MOD, "control socket %s (uid %u, gid %u and root allowed)", ctl->path, (unsigned)ctl->uid,
	         (unsigned)ctl->gid);
	return ctl;
}

void lpw_control_free(lpw_control_t *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients)
		client_close(ctl->clients);
	if (ctl->fd >= 0) {
		lpw_loop_del_fd(ctl->loop, ctl->fd);
		close(ctl->fd);
		unlink(ctl->path);
	}
	free(ctl->path);
	free(ctl);
}

uint64_t lpw_control_refused(const lpw_control_t *ctl)
{
	return ctl ? ctl->refused : 0;
}
