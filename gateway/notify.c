/* The sd_notify datagram protocol, spoken directly: an AF_UNIX datagram of "VAR=value\n" lines to $NOTIFY_SOCKET
 * (systemd's sd_notify(3), "NOTIFY_SOCKET"). libsystemd is not in the allowed library list, and the protocol is
 * one sendto() of a few bytes: a dependency for it would cost more than these lines. */
#include "gateway/notify.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

struct lpw_notify {
	lpw_loop_t *loop;
	int fd;
	struct sockaddr_un addr;
	socklen_t addrlen;
	int64_t watchdog_ms; /* WATCHDOG_USEC in ms; 0 = no watchdog */
	lpw_timer_t watchdog;
	int stall_fd;  /* TEST HOOK only: signalfd for SIGUSR2, -1 unless LPW_TEST_STALL_ON_SIGUSR2 is set */
	int stall_s;
};

/* '/' is a filesystem path, '@' an abstract name (a leading NUL in sun_path, its length counted exactly). */
static int parse_address(const char *s, struct sockaddr_un *out, socklen_t *out_len)
{
	size_t len = strlen(s);
	if ((s[0] != '/' && s[0] != '@') || len < 2 || len >= sizeof(out->sun_path))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->sun_family = AF_UNIX;
	memcpy(out->sun_path, s, len);
	if (s[0] == '@')
		out->sun_path[0] = '\0';
	*out_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (s[0] == '/' ? 1 : 0));
	return 0;
}

/* WATCHDOG_PID, when set, names the process the watchdog is for: a child that inherited it must not ping. */
static int64_t watchdog_from_env(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	if (!usec)
		return 0;
	if (pid && strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	char *end;
	errno = 0;
	long long us = strtoll(usec, &end, 10);
	if (errno || *end || us <= 0) {
		LPW_WARN("notify", "WATCHDOG_USEC='%s' is not a positive number: no watchdog", usec);
		return 0;
	}
	return us < 1000 ? 1 : us / 1000;
}

static void on_watchdog(lpw_timer_t *t, int64_t now_ms)
{
	lpw_notify_t *n = lpw_container_of(t, lpw_notify_t, watchdog);
	lpw_notify_send(n, "WATCHDOG=1");
	int64_t half = n->watchdog_ms / 2 > 0 ? n->watchdog_ms / 2 : 1;
	if (lpw_loop_timer_in(n->loop, &n->watchdog, half) < 0)
		LPW_ERR("notify", "cannot re-arm the watchdog timer: systemd will restart the service");
}

/* TEST HOOK (tests/integration/ops/test_notify.py): with LPW_TEST_STALL_ON_SIGUSR2=<seconds> in the environment,
 * SIGUSR2 blocks the loop that long on purpose, so the test can see the WATCHDOG=1 pings stop. Never set in
 * production; without the variable SIGUSR2 is not touched. */
static void on_stall_signal(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_notify_t *n = arg;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		LPW_WARN("notify", "test hook: stalling the loop for %d s", n->stall_s);
		struct timespec left = {.tv_sec = n->stall_s};
		while (nanosleep(&left, &left) < 0 && errno == EINTR) {
		}
		LPW_WARN("notify", "test hook: stall over");
	}
}

static void setup_test_stall(lpw_notify_t *n)
{
	const char *s = getenv("LPW_TEST_STALL_ON_SIGUSR2");
	if (!s || atoi(s) <= 0)
		return;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || (n->stall_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return;
	if (lpw_loop_add_fd(n->loop, n->stall_fd, EPOLLIN, on_stall_signal, n) < 0) {
		close(n->stall_fd);
		n->stall_fd = -1;
		return;
	}
	n->stall_s = atoi(s);
	LPW_WARN("notify", "test hook armed: SIGUSR2 stalls the loop for %d s", n->stall_s);
}

lpw_notify_t *lpw_notify_new(lpw_loop_t *loop)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path)
		return NULL;
	lpw_notify_t *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->loop = loop;
	n->stall_fd = -1;
	lpw_timer_init(&n->watchdog, on_watchdog);
	if (parse_address(path, &n->addr, &n->addrlen) < 0) {
		LPW_ERR("notify", "NOTIFY_SOCKET='%s' is neither a path nor an @abstract name: systemd not notified", path);
		free(n);
		return NULL;
	}
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0) {
		LPW_ERR("notify", "cannot create the notification socket: %s", strerror(errno));
		free(n);
		return NULL;
	}
	n->watchdog_ms = watchdog_from_env();
	/* Nothing we start may talk to systemd in our name. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	setup_test_stall(n);
	return n;
}

void lpw_notify_free(lpw_notify_t *n)
{
	if (!n)
		return;
	lpw_loop_timer_clear(n->loop, &n->watchdog);
	if (n->stall_fd >= 0) {
		lpw_loop_del_fd(n->loop, n->stall_fd);
		close(n->stall_fd);
	}
	close(n->fd);
	free(n);
}

int lpw_notify_send(lpw_notify_t *n, const char *fmt, ...)
{
	if (!n)
		return 0;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0)
		return -EINVAL;
	if ((size_t)len >= sizeof(buf))
		len = sizeof(buf) - 1; /* a long STATUS is cut, never dropped */
	if (sendto(n->fd, buf, (size_t)len, MSG_NOSIGNAL, (const struct sockaddr *)&n->addr, n->addrlen) < 0) {
		int e = errno;
		LPW_DEBUG("notify", "notification not sent: %s", strerror(e));
		return -e;
	}
	return 0;
}

int lpw_notify_reloading(lpw_notify_t *n, const char *status)
{
	/* systemd compares this with its own CLOCK_MONOTONIC, so it is read here rather than from the loop's clock. */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return lpw_notify_send(n, "RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=%s",
	                       (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000, status);
}

int lpw_notify_start_watchdog(lpw_notify_t *n)
{
	if (!n || n->watchdog_ms == 0)
		return 0;
	LPW_INFO("notify", "systemd watchdog: WATCHDOG=1 every %lld ms", (long long)(n->watchdog_ms / 2));
	lpw_notify_send(n, "WATCHDOG=1");
	int64_t half = n->watchdog_ms / 2 > 0 ? n->watchdog_ms / 2 : 1;
	return lpw_loop_timer_in(n->loop, &n->watchdog, half);
}

int64_t lpw_notify_watchdog_ms(const lpw_notify_t *n)
{
	return n ? n->watchdog_ms : 0;
}
