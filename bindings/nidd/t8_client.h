/* HTTP requests to the SCEF inside the one loop: libcurl's multi-socket API on core/loop (its sockets in epoll,
 * its one timeout as one loop timer). Nothing blocks; completions are called from the loop. */
#ifndef LPW_T8_CLIENT_H
#define LPW_T8_CLIENT_H

#include <stddef.h>

#include "core/loop.h"

typedef struct lpw_t8_client lpw_t8_client_t;
typedef struct lpw_t8_req lpw_t8_req_t;

/* How every request authenticates and verifies the SCEF (strings borrowed; must outlive the client). */
typedef struct {
	const char *ca_file;   /* NULL = the system's CAs */
	const char *cert_file; /* client certificate, NULL = none */
	const char *key_file;
	const char *token;     /* OAuth2 bearer token, NULL = none */
	long timeout_ms;       /* whole request */
	size_t max_response;   /* a longer answer fails the request */
} lpw_t8_client_opts_t;

/* The outcome of a request: status 0 when no HTTP answer arrived (error says why). body/location borrowed for the
 * call (location "" when absent). */
typedef struct {
	long status;
	const char *body;
	size_t len;
	const char *location;
	const char *error;
} lpw_t8_answer_t;

typedef void (*lpw_t8_done_cb)(void *arg, const lpw_t8_answer_t *answer);

/* opts copied (its strings borrowed). NULL with the reason logged. */
lpw_t8_client_t *lpw_t8_client_new(lpw_loop_t *loop, const lpw_t8_client_opts_t *opts);
/* Cancels what is in flight (no callbacks). Accepts NULL. */
void lpw_t8_client_free(lpw_t8_client_t *cl);

/* Starts method url with a JSON body (copied; NULL = none; content_type NULL = application/json). done is called
 * once from the loop, never from inside this call. NULL on failure (logged). */
lpw_t8_req_t *lpw_t8_client_request(lpw_t8_client_t *cl, const char *method, const char *url, const char *body,
				    const char *content_type, lpw_t8_done_cb done, void *arg);
/* Forgets a request: its callback is never called. Accepts NULL. */
void lpw_t8_client_cancel(lpw_t8_client_t *cl, lpw_t8_req_t *req);

/* Runs what is in flight to its end, for at most timeout_ms, outside the loop (shutdown DELETEs). */
void lpw_t8_client_drain(lpw_t8_client_t *cl, long timeout_ms);

/* Requests in flight. */
size_t lpw_t8_client_pending(const lpw_t8_client_t *cl);

#endif
