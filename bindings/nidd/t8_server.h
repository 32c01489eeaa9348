/* The T8 notification server inside the one loop: libmicrohttpd in external mode with its own epoll fd
 * (MHD_USE_EPOLL), which joins core/loop as one fd, plus one loop timer for its connection timeouts. */
#ifndef LPW_T8_SERVER_H
#define LPW_T8_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

typedef struct lpw_t8_server lpw_t8_server_t;

/* What the handler answers: status and an optional JSON body (owned by the server once set: malloc'ed). */
typedef struct {
	unsigned status;
	char *body;
	const char *content_type; /* static; NULL = application/json */
} lpw_t8_reply_t;

/* A whole request: method, path (without query), body (borrowed for the call; len bytes, NUL after them). */
typedef void (*lpw_t8_handler_cb)(void *arg, const char *method, const char *path, const uint8_t *body, size_t len,
				  lpw_t8_reply_t *reply);

typedef struct {
	const char *listen;    /* IP address */
	uint16_t port;         /* 0 = any (tests) */
	const char *cert_file; /* HTTPS when set, with key_file */
	const char *key_file;
	size_t max_body;       /* a longer body is answered 413 without reading it whole */
	unsigned timeout_s;    /* an idle connection is closed after */
} lpw_t8_server_opts_t;

/* opts copied. NULL with the reason logged. */
lpw_t8_server_t *lpw_t8_server_new(lpw_loop_t *loop, const lpw_t8_server_opts_t *opts, lpw_t8_handler_cb handler,
				   void *arg);
void lpw_t8_server_free(lpw_t8_server_t *srv);
/* The bound port. */
uint16_t lpw_t8_server_port(const lpw_t8_server_t *srv);

#endif
