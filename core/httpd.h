/* One libmicrohttpd server driven by the gateway's epoll loop (MHD's own epoll set, no MHD thread): its epoll fd is
 * watched by the loop, MHD_run() runs when it is ready or when MHD's own timeout is due (re-armed before each
 * sleep). Each lpw_httpd_t is independent; the metrics endpoint has one, a T8 callback server may have another.
 * Knows no URL and no payload: requests go to the MHD access handler given. */
#ifndef LPW_HTTPD_H
#define LPW_HTTPD_H

#include <stdint.h>

#include <microhttpd.h>

#include "core/loop.h"

typedef struct lpw_httpd lpw_httpd_t;

typedef struct {
	const char *name;   /* who it is for, in log lines ("metrics"); copied */
	const char *listen; /* numeric IPv4 or IPv6 address to bind; copied */
	uint16_t port;      /* 0 = any free port (see lpw_httpd_port) */
	unsigned max_connections;  /* 0 = 16 */
	unsigned timeout_s;        /* an idle connection is closed after; 0 = 10 */
	MHD_AccessHandlerCallback handler; /* called from the loop, inside MHD_run() */
	void *handler_arg;                 /* borrowed */
} lpw_httpd_config_t;

/* Binds and starts. loop: borrowed, must outlive the server. NULL on failure (logged with MHD's own reason). */
lpw_httpd_t *lpw_httpd_new(lpw_loop_t *loop, const lpw_httpd_config_t *cfg);
/* Stops MHD (open connections are closed) and frees. Accepts NULL. Not from inside the handler. */
void lpw_httpd_free(lpw_httpd_t *h);
/* The bound TCP port. */
uint16_t lpw_httpd_port(const lpw_httpd_t *h);

#endif
