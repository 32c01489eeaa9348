/* libcurl's multi-socket API on core/loop: see t8_client.h. */
#include "bindings/nidd/t8_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define MAX_SOCKETS 256 /* curl's sockets we watch at once (one or two per request in flight) */

struct lpw_t8_req {
	lpw_t8_client_t *cl;
	lpw_t8_req_t *prev, *next;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	char *resp;
	size_t resp_len, resp_cap;
	bool too_long;
	char location[512];
	char errbuf[CURL_ERROR_SIZE];
	lpw_t8_done_cb done;
	void *arg;
};

struct lpw_t8_client {
	lpw_loop_t *loop;
	lpw_t8_client_opts_t opts;
	CURLM *multi;
	lpw_timer_t timer;
	lpw_t8_req_t *reqs;
	size_t pending;
	int fds[MAX_SOCKETS]; /* what curl asked us to watch, for lpw_t8_client_drain() */
	short fd_events[MAX_SOCKETS];
	size_t nfds;
};

static void req_free(lpw_t8_req_t *r)
{
	lpw_t8_client_t *cl = r->cl;
	if (r->prev)
		r->prev->next = r->next;
	else
		cl->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	cl->pending--;
	curl_multi_remove_handle(cl->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r->resp);
	free(r);
}

static void check_done(lpw_t8_client_t *cl)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(cl->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		lpw_t8_req_t *r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		CURLcode res = m->data.result;
		lpw_t8_answer_t a = {.location = r->location, .body = r->resp ? r->resp : "", .len = r->resp_len};
		if (res == CURLE_OK && !r->too_long)
			curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &a.status);
		else
			a.error = r->too_long ? "answer too long" : r->errbuf[0] ? r->errbuf : curl_easy_strerror(res);
		lpw_t8_done_cb done = r->done;
		void *arg = r->arg;
		/* the callback may start or cancel requests: the finished one is unlinked first, freed after */
		curl_multi_remove_handle(cl->multi, r->easy);
		done(arg, &a);
		req_free(r);
	}
}

static void on_io(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_t8_client_t *cl = arg;
	int flags = (events & EPOLLIN ? CURL_CSELECT_IN : 0) | (events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
		    (events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
	int running;
	curl_multi_socket_action(cl->multi, fd, flags, &running);
	check_done(cl);
}

static void on_timer(lpw_timer_t *t, int64_t now)
{
	lpw_t8_client_t *cl = lpw_container_of(t, lpw_t8_client_t, timer);
	int running;
	curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(cl);
}

static void track(lpw_t8_client_t *cl, int fd, int what)
{
	size_t i = 0;
	while (i < cl->nfds && cl->fds[i] != fd)
		i++;
	if (what == CURL_POLL_REMOVE) {
		if (i < cl->nfds) {
			cl->fds[i] = cl->fds[cl->nfds - 1];
			cl->fd_events[i] = cl->fd_events[--cl->nfds];
		}
		return;
	}
	if (i == cl->nfds && cl->nfds < MAX_SOCKETS)
		cl->fds[cl->nfds++] = fd;
	if (i < cl->nfds)
		cl->fd_events[i] = (short)((what & CURL_POLL_IN ? POLLIN : 0) | (what & CURL_POLL_OUT ? POLLOUT : 0));
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	lpw_t8_client_t *cl = userp;
	track(cl, fd, what);
	if (what == CURL_POLL_REMOVE) {
		lpw_loop_del_fd(cl->loop, fd);
		return 0;
	}
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (lpw_loop_set_events(cl->loop, fd, ev) == -ENOENT) {
		int rc = lpw_loop_add_fd(cl->loop, fd, ev, on_io, cl);
		if (rc < 0) {
			LPW_ERR("t8", "cannot watch an HTTP socket: %s", strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* curl asks for one timeout for all its transfers; -1 means none. Never call curl back from here. */
static int on_timeout(CURLM *multi, long timeout_ms, void *userp)
{
	lpw_t8_client_t *cl = userp;
	if (timeout_ms < 0) {
		lpw_loop_timer_clear(cl->loop, &cl->timer);
		return 0;
	}
	return lpw_loop_timer_in(cl->loop, &cl->timer, timeout_ms) < 0 ? -1 : 0;
}

lpw_t8_client_t *lpw_t8_client_new(lpw_loop_t *loop, const lpw_t8_client_opts_t *opts)
{
	static bool curl_ready;
	if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		LPW_ERR("t8", "libcurl does not initialise");
		return NULL;
	}
	curl_ready = true;
	lpw_t8_client_t *cl = calloc(1, sizeof(*cl));
	if (!cl || !(cl->multi = curl_multi_init())) {
		LPW_ERR("t8", "out of memory for the HTTP client");
		free(cl);
		return NULL;
	}
	cl->loop = loop;
	cl->opts = *opts;
	lpw_timer_init(&cl->timer, on_timer);
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
	return cl;
}

void lpw_t8_client_free(lpw_t8_client_t *cl)
{
	if (!cl)
		return;
	while (cl->reqs)
		req_free(cl->reqs);
	lpw_loop_timer_clear(cl->loop, &cl->timer);
	curl_multi_cleanup(cl->multi); /* closes its sockets: tells us to forget them first */
	for (size_t i = 0; i < cl->nfds; i++)
		lpw_loop_del_fd(cl->loop, cl->fds[i]);
	free(cl);
}

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	lpw_t8_req_t *r = arg;
	size_t len = size * n;
	if (r->resp_len + len > r->cl->opts.max_response) {
		r->too_long = true;
		return 0; /* aborts the transfer */
	}
	if (r->resp_len + len + 1 > r->resp_cap) {
		size_t cap = (r->resp_len + len + 1) * 2;
		char *p = realloc(r->resp, cap);
		if (!p)
			return 0;
		r->resp = p;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, ptr, len);
	r->resp_len += len;
	r->resp[r->resp_len] = '\0';
	return len;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *arg)
{
	lpw_t8_req_t *r = arg;
	size_t len = size * n;
	if (len > 9 && !strncasecmp(ptr, "Location:", 9)) {
		size_t s = 9, e = len;
		while (s < e && (ptr[s] == ' ' || ptr[s] == '\t'))
			s++;
		while (e > s && (ptr[e - 1] == '\r' || ptr[e - 1] == '\n' || ptr[e - 1] == ' '))
			e--;
		if (e - s < sizeof(r->location)) {
			memcpy(r->location, ptr + s, e - s);
			r->location[e - s] = '\0';
		}
	}
	return len;
}

static int set_headers(lpw_t8_req_t *r, const char *content_type)
{
	char line[2048];
	struct curl_slist *h = NULL;
	snprintf(line, sizeof(line), "Content-Type: %s", content_type ? content_type : "application/json");
	h = curl_slist_append(h, line);
	if (h && !curl_slist_append(h, "Accept: application/json, application/problem+json"))
		h = NULL;
	if (h && r->cl->opts.token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", r->cl->opts.token);
		if (!curl_slist_append(h, line)) {
			curl_slist_free_all(h);
			h = NULL;
		}
		explicit_bzero(line, sizeof(line));
	}
	r->headers = h;
	return h ? 0 : -ENOMEM;
}

static void set_options(lpw_t8_req_t *r, const char *method, const char *url)
{
	const lpw_t8_client_opts_t *o = &r->cl->opts;
	CURL *e = r->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
	if (o->cert_file) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, o->cert_file);
		curl_easy_setopt(e, CURLOPT_SSLKEY, o->key_file);
	}
	if (r->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	} else if (!strcmp(method, "GET") || !strcmp(method, "DELETE")) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}
}

lpw_t8_req_t *lpw_t8_client_request(lpw_t8_client_t *cl, const char *method, const char *url, const char *body,
				    const char *content_type, lpw_t8_done_cb done, void *arg)
{
	lpw_t8_req_t *r = calloc(1, sizeof(*r));
	if (!r || !(r->easy = curl_easy_init()) || (body && !(r->body = strdup(body)))) {
		LPW_ERR("t8", "out of memory for an HTTP request");
		goto fail;
	}
	r->cl = cl;
	r->done = done;
	r->arg = arg;
	if (set_headers(r, content_type) < 0)
		goto fail;
	set_options(r, method, url);
	CURLMcode mc = curl_multi_add_handle(cl->multi, r->easy);
	if (mc != CURLM_OK) {
		LPW_ERR("t8", "cannot start %s %s: %s", method, url, curl_multi_strerror(mc));
		goto fail;
	}
	r->next = cl->reqs;
	if (cl->reqs)
		cl->reqs->prev = r;
	cl->reqs = r;
	cl->pending++;
	return r;
fail:
	if (r) {
		curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->headers);
		free(r->body);
		free(r);
	}
	return NULL;
}

void lpw_t8_client_cancel(lpw_t8_client_t *cl, lpw_t8_req_t *req)
{
	if (req)
		req_free(req);
}

size_t lpw_t8_client_pending(const lpw_t8_client_t *cl)
{
	return cl->pending;
}

void lpw_t8_client_drain(lpw_t8_client_t *cl, long timeout_ms)
{
	/* counted in poll rounds, not by a clock: this runs once, at shutdown, after the loop has stopped */
	for (long round = 0; cl->pending && round < timeout_ms / 20 + 1; round++) {
		struct pollfd p[MAX_SOCKETS];
		size_t np = cl->nfds;
		for (size_t i = 0; i < np; i++)
			p[i] = (struct pollfd){.fd = cl->fds[i], .events = cl->fd_events[i]};
		int n = poll(p, np, 20);
		int running;
		for (size_t i = 0; n > 0 && i < np; i++) {
			if (!p[i].revents)
				continue;
			int fl = (p[i].revents & POLLIN ? CURL_CSELECT_IN : 0) |
				 (p[i].revents & POLLOUT ? CURL_CSELECT_OUT : 0) |
				 (p[i].revents & (POLLERR | POLLHUP) ? CURL_CSELECT_ERR : 0);
			curl_multi_socket_action(cl->multi, p[i].fd, fl, &running);
		}
		curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		check_done(cl);
	}
}
