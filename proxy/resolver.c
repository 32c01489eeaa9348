/* Non-blocking host name lookups: getaddrinfo_a() with its completion signalled into the loop (resolver.h). */
#include "proxy/resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

/* A real-time signal: queued per lookup, never merged. glibc keeps the first few for itself (SIGRTMIN already
 * counts them out); nothing else in the daemon uses this one. */
#define RESOLVER_SIGNAL (SIGRTMIN + 4)

struct lpw_lookup {
	struct gaicb req;       /* glibc's: must stay where it is until glibc is done with it */
	struct addrinfo hints;
	char *host;
	char port[8];
	lpw_lookup_cb cb;       /* NULL once cancelled */
	void *arg;
	lpw_lookup_t *next, **prev;
};

struct lpw_resolver {
	lpw_loop_t *loop;
	int sfd;
	lpw_lookup_t *pending;
};

static void unlink_lookup(lpw_lookup_t *l)
{
	*l->prev = l->next;
	if (l->next)
		l->next->prev = l->prev;
}

static void free_lookup(lpw_lookup_t *l)
{
	if (l->req.ar_result)
		freeaddrinfo(l->req.ar_result);
	free(l->host);
	free(l);
}

/* A lookup glibc has finished: tell its owner (if any) and forget it. */
static void finish(lpw_lookup_t *l)
{
	unlink_lookup(l);
	int e = gai_error(&l->req);
	lpw_lookup_cb cb = l->cb;
	if (cb) {
		const struct addrinfo *ai = e == 0 ? l->req.ar_result : NULL;
		if (ai)
			cb(l->arg, 0, ai->ai_addr, ai->ai_addrlen, "");
		else
			cb(l->arg, -EHOSTUNREACH, NULL, 0, e == 0 ? "no address" : gai_strerror(e));
	}
	free_lookup(l);
}

void lpw_resolver_reap(lpw_resolver_t *r)
{
	/* a callback may start or cancel lookups: rescan from the head after each one */
	for (lpw_lookup_t *l = r->pending; l;) {
		if (gai_error(&l->req) == EAI_INPROGRESS) {
			l = l->next;
			continue;
		}
		finish(l);
		l = r->pending;
	}
}

static void on_signal(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_resolver_t *r = arg;
	struct signalfd_siginfo si;
	/* Drain first; which lookup it names does not matter: the pending list is checked whole (it is short). */
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	lpw_resolver_reap(r);
}

static void ignore_signal(int sig)
{
	(void)sig; /* only reached if some thread does not block the signal: the deadline's reap then finds it */
}

lpw_resolver_t *lpw_resolver_new(lpw_loop_t *loop)
{
	lpw_resolver_t *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->loop = loop;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, RESOLVER_SIGNAL);
	/* A handler instead of the default action (which ends the process) in case some thread lets it through. */
	struct sigaction sa = {.sa_handler = ignore_signal};
	sigemptyset(&sa.sa_mask);
	if (sigaction(RESOLVER_SIGNAL, &sa, NULL) < 0 || pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (r->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		LPW_ERR("upstream", "cannot set up name lookups: %s", strerror(errno));
		free(r);
		return NULL;
	}
	if (lpw_loop_add_fd(loop, r->sfd, EPOLLIN, on_signal, r) < 0) {
		LPW_ERR("upstream", "cannot watch name lookups");
		close(r->sfd);
		free(r);
		return NULL;
	}
	return r;
}

void lpw_resolver_free(lpw_resolver_t *r)
{
	if (!r)
		return;
	while (r->pending) {
		lpw_lookup_t *l = r->pending;
		unlink_lookup(l);
		if (gai_cancel(&l->req) == EAI_NOTCANCELED) {
			/* glibc's thread is inside the lookup and writes into l when done: wait for it (shutdown only) */
			const struct gaicb *list[1] = {&l->req};
			struct timespec ts = {2, 0};
			if (gai_suspend(list, 1, &ts) != 0 && gai_error(&l->req) == EAI_INPROGRESS) {
				LPW_WARN("upstream", "name lookup of %s still running at exit: left to glibc", l->host);
				continue; /* leaked on purpose: freeing it would let glibc write into freed memory */
			}
		}
		free_lookup(l);
	}
	lpw_loop_del_fd(r->loop, r->sfd);
	close(r->sfd);
	free(r);
}

int lpw_resolver_lookup(lpw_resolver_t *r, const char *host, uint16_t port, lpw_lookup_cb cb, void *arg,
                        lpw_lookup_t **out)
{
	lpw_lookup_t *l = calloc(1, sizeof(*l));
	if (!l || !(l->host = strdup(host))) {
		free(l);
		return -ENOMEM;
	}
	snprintf(l->port, sizeof(l->port), "%u", port);
	l->hints = (struct addrinfo){.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	l->req = (struct gaicb){.ar_name = l->host, .ar_service = l->port, .ar_request = &l->hints};
	l->cb = cb;
	l->arg = arg;
	struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = RESOLVER_SIGNAL};
	sev.sigev_value.sival_ptr = l;
	struct gaicb *list[1] = {&l->req};
	int e = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
	if (e != 0) {
		LPW_WARN("upstream", "cannot start the lookup of %s: %s", host, gai_strerror(e));
		free_lookup(l);
		return e == EAI_MEMORY ? -ENOMEM : -EAGAIN;
	}
	l->next = r->pending;
	if (l->next)
		l->next->prev = &l->next;
	l->prev = &r->pending;
	r->pending = l;
	*out = l;
	return 0;
}

void lpw_resolver_cancel(lpw_resolver_t *r, lpw_lookup_t *l)
{
	if (!l)
		return;
	l->cb = NULL;
	int e = gai_cancel(&l->req);
	if (e == EAI_CANCELED || e == EAI_ALLDONE) {
		unlink_lookup(l);
		free_lookup(l);
	}
	/* EAI_NOTCANCELED: glibc is still at it; the completion signal (or a later reap) frees it */
}

int lpw_resolver_numeric(const char *host, uint16_t port, struct sockaddr *out, socklen_t *out_len)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
	memset(out, 0, sizeof(*v6));
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		*out_len = sizeof(*v4);
		return 0;
	}
	memset(out, 0, sizeof(*v6));
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		*out_len = sizeof(*v6);
		return 0;
	}
	return -EINVAL;
}
