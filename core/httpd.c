/* libmicrohttpd in the loop: MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD, so MHD keeps an epoll set of
 * its own sockets and we watch that one descriptor. MHD_get_timeout() says when MHD_run() must run even without I/O
 * (connection timeouts, data MHD already holds): checked before each sleep. */
#include "core/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct lpw_httpd {
	lpw_loop_t *loop;
	struct MHD_Daemon *mhd;
	char *name;
	int epfd;
	uint16_t port;
	lpw_timer_t timer;
};

static void run(lpw_httpd_t *h)
{
	if (MHD_run(h->mhd) != MHD_YES)
		LPW_WARN_LIMITED(h->name, "mhd-run", NULL, lpw_loop_now(h->loop), "%s: MHD_run failed", h->name);
}

static void on_io(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	(void)loop, (void)fd, (void)events;
	run(arg);
}

static void on_timer(lpw_timer_t *timer, int64_t now_ms)
{
	(void)now_ms;
	run(lpw_container_of(timer, lpw_httpd_t, timer));
}

/* Before each sleep: MHD's next deadline becomes our timer (0 = it holds data to process now). */
static void on_prepare(lpw_loop_t *loop, void *arg)
{
	lpw_httpd_t *h = arg;
	MHD_UNSIGNED_LONG_LONG ms = 0;
	if (MHD_get_timeout(h->mhd, &ms) != MHD_YES) {
		lpw_loop_timer_clear(loop, &h->timer);
		return;
	}
	if (lpw_loop_timer_in(loop, &h->timer, ms > INT32_MAX ? INT32_MAX : (int64_t)ms) < 0)
		LPW_WARN(h->name, "%s: timer not armed: out of memory", h->name);
}

static void mhd_log(void *arg, const char *fmt, va_list ap)
{
	char buf[256];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	LPW_WARN((const char *)arg, "%s: libmicrohttpd: %s", (const char *)arg, buf);
}

static struct MHD_Daemon *start_mhd(lpw_httpd_t *h, const lpw_httpd_config_t *cfg)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(cfg->port)};
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(cfg->port)};
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	const struct sockaddr *sa = (const struct sockaddr *)&a4;
	if (inet_pton(AF_INET, cfg->listen, &a4.sin_addr) != 1) {
		if (inet_pton(AF_INET6, cfg->listen, &a6.sin6_addr) != 1)
			return NULL;
		sa = (const struct sockaddr *)&a6;
		flags |= MHD_USE_IPv6;
	}
	return MHD_start_daemon(flags, cfg->port, NULL, NULL, cfg->handler, cfg->handler_arg,
	                        MHD_OPTION_SOCK_ADDR, sa,
	                        MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections ? cfg->max_connections : 16u,
	                        MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s ? cfg->timeout_s : 10u,
	                        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h->name, MHD_OPTION_END);
}

lpw_httpd_t *lpw_httpd_new(lpw_loop_t *loop, const lpw_httpd_config_t *cfg)
{
	lpw_httpd_t *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->loop = loop;
	h->epfd = -1;
	h->name = strdup(cfg->name ? cfg->name : "httpd");
	lpw_timer_init(&h->timer, on_timer);
	h->mhd = h->name && cfg->listen ? start_mhd(h, cfg) : NULL;
	const union MHD_DaemonInfo *ep = h->mhd ? MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	const union MHD_DaemonInfo *pi = h->mhd ? MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!ep || !pi || lpw_loop_add_fd(loop, ep->epoll_fd, EPOLLIN, on_io, h) < 0) {
		LPW_ERR(cfg->name ? cfg->name : "httpd", "cannot serve HTTP on %s port %u: %s", cfg->listen ? cfg->listen : "?",
		        cfg->port, h->mhd ? "not in the loop" : "bind failed or bad address (see above)");
		lpw_httpd_free(h);
		return NULL;
	}
	h->epfd = ep->epoll_fd;
	h->port = pi->port;
	if (lpw_loop_add_prepare(loop, on_prepare, h) < 0) {
		lpw_httpd_free(h);
		return NULL;
	}
	return h;
}

void lpw_httpd_free(lpw_httpd_t *h)
{
	if (!h)
		return;
	lpw_loop_del_prepare(h->loop, on_prepare, h);
	lpw_loop_timer_clear(h->loop, &h->timer);
	if (h->epfd >= 0)
		lpw_loop_del_fd(h->loop, h->epfd);
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h->name);
	free(h);
}

uint16_t lpw_httpd_port(const lpw_httpd_t *h)
{
	return h->port;
}
