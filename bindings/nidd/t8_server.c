/* libmicrohttpd in external epoll mode on core/loop: see t8_server.h. */
#include "bindings/nidd/t8_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct lpw_t8_server {
	lpw_loop_t *loop;
	lpw_t8_server_opts_t opts;
	struct MHD_Daemon *mhd;
	int epfd;
	lpw_timer_t timer;
	lpw_t8_handler_cb handler;
	void *arg;
	char *cert, *key; /* PEM text: MHD takes memory, not files */
};

/* One request's body as it arrives. */
struct upload {
	uint8_t *buf;
	size_t len, cap;
	bool too_long;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, const char *ctype)
{
	size_t len = body ? strlen(body) : 0;
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body ? body : (char *)"",
								 body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	if (body)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype ? ctype : "application/json");
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static bool append(struct upload *u, const char *data, size_t n, size_t max)
{
	if (u->len + n > max) {
		u->too_long = true;
		return true;
	}
	if (u->len + n + 1 > u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 1024;
		while (cap < u->len + n + 1)
			cap *= 2;
		uint8_t *p = realloc(u->buf, cap);
		if (!p)
			return false;
		u->buf = p;
		u->cap = cap;
	}
	memcpy(u->buf + u->len, data, n);
	u->len += n;
	u->buf[u->len] = 0;
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *data, size_t *data_size, void **con_cls)
{
	lpw_t8_server_t *srv = cls;
	struct upload *u = *con_cls;
	if (!u) { /* the headers: the body follows in later calls */
		if (!(u = calloc(1, sizeof(*u))))
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*data_size) {
		if (!append(u, data, *data_size, srv->opts.max_body))
			return MHD_NO;
		*data_size = 0;
		return MHD_YES;
	}
	if (u->too_long)
		return reply(c, 413, strdup("{\"title\":\"Payload Too Large\",\"status\":413}"), "application/problem+json");
	lpw_t8_reply_t r = {.status = 500};
	char path[512];
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(url, "?"), url);
	srv->handler(srv->arg, method, path, u->buf ? u->buf : (const uint8_t *)"", u->len, &r);
	return reply(c, r.status, r.body, r.content_type);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why)
{
	struct upload *u = *con_cls;
	if (u) {
		free(u->buf);
		free(u);
		*con_cls = NULL;
	}
}

/* After every run, MHD's next deadline (connection timeouts) becomes our timer. */
static void rearm(lpw_t8_server_t *srv)
{
	MHD_UNSIGNED_LONG_LONG ms;
	if (MHD_get_timeout(srv->mhd, &ms) == MHD_YES) {
		if (lpw_loop_timer_in(srv->loop, &srv->timer, ms > 3600000 ? 3600000 : (int64_t)ms) < 0)
			LPW_ERR("t8", "cannot arm the notification server's timer");
	} else {
		lpw_loop_timer_clear(srv->loop, &srv->timer);
	}
}

static void on_io(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_t8_server_t *srv = arg;
	MHD_run(srv->mhd);
	rearm(srv);
}

static void on_timer(lpw_timer_t *t, int64_t now)
{
	lpw_t8_server_t *srv = lpw_container_of(t, lpw_t8_server_t, timer);
	MHD_run(srv->mhd);
	rearm(srv);
}

static char *read_pem(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = malloc(65537);
	size_t n = buf ? fread(buf, 1, 65536, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

static struct MHD_Daemon *start(lpw_t8_server_t *srv, const struct sockaddr *sa)
{
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (sa->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	if (srv->cert)
		return MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, sa,
					MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT,
					srv->opts.timeout_s, MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_HTTPS_MEM_CERT,
					srv->cert, MHD_OPTION_HTTPS_MEM_KEY, srv->key, MHD_OPTION_END);
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, sa,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT,
				srv->opts.timeout_s, MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_END);
}

lpw_t8_server_t *lpw_t8_server_new(lpw_loop_t *loop, const lpw_t8_server_opts_t *opts, lpw_t8_handler_cb handler,
				   void *arg)
{
	lpw_t8_server_t *srv = calloc(1, sizeof(*srv));
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (!srv)
		return NULL;
	srv->loop = loop;
	srv->opts = *opts;
	srv->handler = handler;
	srv->arg = arg;
	srv->epfd = -1;
	lpw_timer_init(&srv->timer, on_timer);
	if (inet_pton(AF_INET, opts->listen, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(opts->port);
	} else if (inet_pton(AF_INET6, opts->listen, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(opts->port);
	} else {
		LPW_ERR("t8", "callback_listen %s is not an IP address", opts->listen);
		goto fail;
	}
	if (opts->cert_file && (!(srv->cert = read_pem(opts->cert_file)) || !(srv->key = read_pem(opts->key_file)))) {
		LPW_ERR("t8", "cannot read the callback certificate or key (%s): %s", opts->cert_file, strerror(errno));
		goto fail;
	}
	if (!(srv->mhd = start(srv, (struct sockaddr *)&ss))) {
		LPW_ERR("t8", "cannot serve notifications on %s port %u (in use?)", opts->listen, opts->port);
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	srv->epfd = di ? di->epoll_fd : -1;
	if (srv->epfd < 0 || lpw_loop_add_fd(loop, srv->epfd, EPOLLIN, on_io, srv) < 0) {
		LPW_ERR("t8", "cannot join libmicrohttpd's epoll fd to the loop");
		srv->epfd = -1;
		goto fail;
	}
	rearm(srv);
	return srv;
fail:
	lpw_t8_server_free(srv);
	return NULL;
}

void lpw_t8_server_free(lpw_t8_server_t *srv)
{
	if (!srv)
		return;
	lpw_loop_timer_clear(srv->loop, &srv->timer);
	if (srv->epfd >= 0)
		lpw_loop_del_fd(srv->loop, srv->epfd);
	if (srv->mhd)
		MHD_stop_daemon(srv->mhd);
	if (srv->key)
		explicit_bzero(srv->key, strlen(srv->key));
	free(srv->cert);
	free(srv->key);
	free(srv);
}

uint16_t lpw_t8_server_port(const lpw_t8_server_t *srv)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	return di ? di->port : 0;
}
