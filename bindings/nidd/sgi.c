/* SGi binding: one UDP socket; source IP -> device; the last source port seen is where downlinks go. */
#include "bindings/nidd/sgi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

#define SGI_DATAGRAM_MAX 65535

struct peer {
	const lpw_config_device_t *dev;
	struct sockaddr_storage addr;
	socklen_t addrlen; /* 0 until the device has sent something */
};

struct sgi {
	lpw_loop_t *loop;
	const lpw_config_t *cfg;
	const lpw_binding_host_t *host;
	int fd;
	struct peer *peers; /* one per configured device, same index; only SGi devices are used */
	uint8_t buf[SGI_DATAGRAM_MAX];
};

/* The configuration normalises IP identities with inet_ntop, so the text form compares exactly. */
static void addr_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	out[0] = '\0';
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)cap);
	else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)cap);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)cap);
	}
}

static struct peer *peer_by_ip(struct sgi *b, const char *ip)
{
	for (size_t i = 0; i < b->cfg->ndevices; i++)
		if (b->cfg->devices[i].binding == LPW_BINDING_NIDD_SGI && strcmp(b->cfg->devices[i].identity, ip) == 0)
			return &b->peers[i];
	return NULL;
}

static void on_readable(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	struct sgi *b = arg;
	for (int budget = 0; budget < 64; budget++) { /* bounded, so one busy socket cannot starve the loop */
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, b->buf, sizeof(b->buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				LPW_WARN("sgi", "recvfrom: %s", strerror(errno));
			return;
		}
		char ip[INET6_ADDRSTRLEN];
		addr_text(&from, ip, sizeof(ip));
		struct peer *p = peer_by_ip(b, ip);
		if (!p) {
			LPW_DEBUG("sgi", "datagram from unknown address %s dropped", ip);
			b->host->uplink(b->host->router, LPW_BINDING_NIDD_SGI, NULL, LPW_SERVER_ANY, NULL, 0); /* counted */
			continue;
		}
		p->addr = from;
		p->addrlen = fromlen;
		b->host->uplink(b->host->router, LPW_BINDING_NIDD_SGI, p->dev->identity, LPW_SERVER_ANY, b->buf, (size_t)n);
		/* A device that just sent is listening (LwM2M 1.1.1 §6.5: a queue-mode client stays awake for
		 * MAX_TRANSMIT_WAIT, 93 s by default, after its last message). */
		b->host->reachable(b->host->router, LPW_BINDING_NIDD_SGI, p->dev->identity, b->cfg->sgi.awake_time_s * 1000);
	}
}

static int sgi_send(void *self, const lpw_config_device_t *dev, int server, const uint8_t *data, size_t len)
{
	struct sgi *b = self;
	size_t i = (size_t)(dev - b->cfg->devices);
	if (i >= b->cfg->ndevices || !b->peers[i].addrlen)
		return -EHOSTUNREACH;
	if (sendto(b->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&b->peers[i].addr, b->peers[i].addrlen) < 0) {
		int err = errno;
		LPW_WARN("sgi", "%s: sendto: %s", dev->id, strerror(err));
		return -err;
	}
	return 0;
}

static void sgi_free(void *self)
{
	struct sgi *b = self;
	if (!b)
		return;
	if (b->fd >= 0) {
		lpw_loop_del_fd(b->loop, b->fd);
		close(b->fd);
	}
	free(b->peers);
	free(b);
}

static const lpw_binding_ops_t sgi_ops = {
	.name = "nidd-sgi", .kind = LPW_BINDING_NIDD_SGI, .send = sgi_send, .proxy_retransmits = 1, .free = sgi_free,
};

static int open_socket(const lpw_config_sgi_t *c)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
	struct addrinfo *res = NULL;
	char port[8];
	snprintf(port, sizeof(port), "%u", c->port);
	int rc = getaddrinfo(c->listen, port, &hints, &res);
	if (rc != 0) {
		LPW_ERR("sgi", "listen address %s: %s", c->listen, gai_strerror(rc));
		return -EINVAL;
	}
	int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		int err = errno;
		LPW_ERR("sgi", "cannot listen on %s port %u: %s", c->listen, c->port, strerror(err));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -err;
	}
	freeaddrinfo(res);
	return fd;
}

int lpw_sgi_new(lpw_loop_t *loop, const lpw_config_t *cfg, const lpw_binding_host_t *host, lpw_binding_t *out)
{
	struct sgi *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->loop = loop;
	b->cfg = cfg;
	b->host = host;
	b->fd = -1;
	b->peers = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof(*b->peers));
	if (!b->peers) {
		sgi_free(b);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->ndevices; i++)
		b->peers[i].dev = &cfg->devices[i];
	b->fd = open_socket(&cfg->sgi);
	if (b->fd < 0) {
		int rc = b->fd;
		sgi_free(b);
		return rc;
	}
	int rc = lpw_loop_add_fd(loop, b->fd, EPOLLIN, on_readable, b);
	if (rc < 0) {
		sgi_free(b);
		return rc;
	}
	LPW_INFO("sgi", "listening on %s port %u", cfg->sgi.listen, cfg->sgi.port);
	out->ops = &sgi_ops;
	out->self = b;
	return 0;
}
