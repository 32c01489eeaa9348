/* device-sim plain UDP link over a non-blocking, connected datagram socket. */
#include "tools/device-sim/link_udp.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

struct lpw_devsim_udp {
	int fd;
};

static int resolve(const char *host, const char *port, int family, struct addrinfo **out)
{
	struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_DGRAM};
	if (!port)
		hints.ai_flags = AI_NUMERICHOST;
	int rc = getaddrinfo(host, port, &hints, out);
	if (rc != 0) {
		LPW_ERR("devsim", "cannot resolve %s: %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

lpw_devsim_udp_t *lpw_devsim_udp_new(const char *bind_addr, const char *gw_host, uint16_t gw_port)
{
	struct addrinfo *local = NULL, *gw = NULL;
	lpw_devsim_udp_t *u = calloc(1, sizeof(*u));
	char port[8];

	if (u)
		u->fd = -1;
	snprintf(port, sizeof(port), "%u", gw_port);
	if (!u || resolve(bind_addr, NULL, AF_UNSPEC, &local) < 0 || resolve(gw_host, port, local->ai_family, &gw) < 0)
		goto fail;
	u->fd = socket(local->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0 || bind(u->fd, local->ai_addr, local->ai_addrlen) < 0 ||
	    connect(u->fd, gw->ai_addr, gw->ai_addrlen) < 0) {
		LPW_ERR("devsim", "udp link %s -> %s:%u: %s", bind_addr, gw_host, gw_port, strerror(errno));
		goto fail;
	}
	freeaddrinfo(local);
	freeaddrinfo(gw);
	return u;
fail:
	if (gw)
		freeaddrinfo(gw);
	if (local)
		freeaddrinfo(local);
	if (u && u->fd >= 0)
		close(u->fd);
	free(u);
	return NULL;
}

void lpw_devsim_udp_free(lpw_devsim_udp_t *u)
{
	if (!u)
		return;
	close(u->fd);
	free(u);
}

static int udp_send(void *ctx, const uint8_t *data, size_t len)
{
	lpw_devsim_udp_t *u = ctx;
	/* A gateway port not yet open makes the kernel report ECONNREFUSED on a later call: the datagram is lost,
	 * which CoAP retransmission already covers. */
	if (send(u->fd, data, len, 0) < 0 && errno != ECONNREFUSED)
		return -errno;
	return 0;
}

static ssize_t udp_recv(void *ctx, uint8_t *buf, size_t cap)
{
	lpw_devsim_udp_t *u = ctx;
	for (;;) {
		ssize_t n = recv(u->fd, buf, cap, MSG_TRUNC);
		if (n >= 0)
			return (size_t)n > cap ? -EMSGSIZE : n;
		if (errno == EINTR || errno == ECONNREFUSED)
			continue; /* an ICMP error from an earlier send: nothing to read because of it */
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

lpw_devsim_link_t lpw_devsim_udp_link(lpw_devsim_udp_t *u)
{
	return (lpw_devsim_link_t){.send = udp_send, .recv = udp_recv, .fd = u->fd, .mtu = 1280, .ctx = u};
}
