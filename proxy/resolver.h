/* Host name lookups for upstream servers that never block the loop (issue 10 item 11).
 *
 * glibc's getaddrinfo_a() runs each lookup on a helper thread of its own and, with SIGEV_SIGNAL, queues a
 * real-time signal when it is done; the signal is blocked and read from a signalfd in our loop. Our code has no
 * thread and shares nothing with glibc's but the request it hands over (SIGEV_THREAD would run our code on
 * another thread; a resolver of our own would mean parsing resolv.conf, hosts and DNS answers ourselves). If
 * the signal is ever lost (delivered to a thread that does not block it), lpw_resolver_reap() at the caller's
 * deadline still finds the finished lookup. Numeric addresses need no lookup: see lpw_resolver_numeric(). */
#ifndef LPW_RESOLVER_H
#define LPW_RESOLVER_H

#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"

typedef struct lpw_resolver lpw_resolver_t;
typedef struct lpw_lookup lpw_lookup_t;

/* rc 0: addr (addrlen bytes, borrowed for the call) is the first address found. rc -EHOSTUNREACH: the name
 * does not resolve; detail (borrowed) says why (gai_strerror). Called from the loop, never from inside
 * lpw_resolver_lookup(); the lookup is over (its handle is invalid) when it runs. */
typedef void (*lpw_lookup_cb)(void *arg, int rc, const struct sockaddr *addr, socklen_t addrlen, const char *detail);

/* loop: borrowed, must outlive the resolver. Blocks the resolver's signal in the calling thread. NULL on
 * failure (logged). */
lpw_resolver_t *lpw_resolver_new(lpw_loop_t *loop);
/* Cancels what is pending (no callbacks). Accepts NULL. */
void lpw_resolver_free(lpw_resolver_t *r);

/* Starts looking host up for TCP port `port` (host copied). *out is the handle for lpw_resolver_cancel().
 * 0, -ENOMEM, or -EAGAIN when glibc cannot start the lookup. */
int lpw_resolver_lookup(lpw_resolver_t *r, const char *host, uint16_t port, lpw_lookup_cb cb, void *arg,
                        lpw_lookup_t **out) __attribute__((warn_unused_result));
/* The callback of l will not run. Harmless on NULL. */
void lpw_resolver_cancel(lpw_resolver_t *r, lpw_lookup_t *l);
/* Finishes every lookup that glibc has completed (runs their callbacks now). */
void lpw_resolver_reap(lpw_resolver_t *r);

/* host as an IPv4 or IPv6 literal: 0 and the address in *out (with port), -EINVAL if host is a name.
 * No I/O. out must hold a struct sockaddr_in6; *out_len receives its length. */
int lpw_resolver_numeric(const char *host, uint16_t port, struct sockaddr *out, socklen_t *out_len);

#endif
