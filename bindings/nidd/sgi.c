/* SGi binding: one UDP socket; source IP -> device through the device table's key index; the last source port
 * seen is where downlinks go. */
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
#define SGI_BATCH 16 /* datagrams per recvmmsg(): one system call for a burst */

/* The binding's per-device state (LPW_SLOT_BINDING). */
struct peer {
	struct sockaddr_storage addr;
	socklen_t addrlen; /* 0 until the device has sent something */
};

struct sgi {
	lpw_loop_t *loop;
	const lpw_config_t *cfg;
	const lpw_binding_host_t *host;
	int fd;
	struct mmsghdr msgs[SGI_BATCH];
	struct iovec iov[SGI_BATCH];
	struct sockaddr_storage from[SGI_BATCH];
	uint8_t buf[SGI_BATCH][SGI_DATAGRAM_MAX];
};

/* The device table key of an address: 4 bytes for IPv4 (also IPv4-mapped IPv6), 16 for IPv6. */
static size_t addr_key(const struct sockaddr_storage *ss, uint8_t out[16])
{
	if (ss->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return 4;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(out, &a->s6_addr[12], 4);
			return 4;
		}
		memcpy(out, a, 16);
		return 16;
	}
	return 0;
}

/* The configuration normalises identities with inet_ntop, so inet_pton reads them back exactly. */
static size_t identity_key(const char *ip, uint8_t out[16])
{
	if (inet_pton(AF_INET, ip, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, ip, out) == 1)
		return 16;
	return 0;
}

static void deliver(struct sgi *b, const struct sockaddr_storage *from, socklen_t fromlen, const uint8_t *data,
                    size_t len)
{
	const lpw_binding_host_t *h = b->host;
	uint8_t key[16];
	size_t klen = addr_key(from, key);
	lpw_device_t *dev = klen ? h->find_key(h->ctx, LPW_BINDING_NIDD_SGI, key, klen) : NULL;
	struct peer *p = dev ? lpw_device_slot(dev, LPW_SLOT_BINDING) : NULL;
	if (!p) {
		h->dropped(h->ctx, LPW_BINDING_NIDD_SGI);
		return;
	}
	p->addr = *from;
	p->addrlen = fromlen;
	h->uplink(h->ctx, dev, LPW_SERVER_ANY, data, len);
	/* A device that just sent is listening (LwM2M 1.1.1 §6.5: a queue-mode client stays awake for
	 * MAX_TRANSMIT_WAIT, 93 s by default, after its last message). */
	h->reachable(h->ctx, dev, b->cfg->sgi.awake_time_s * 1000);
}

static void on_readable(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	struct sgi *b = arg;
	for (int budget = 0; budget < 4; budget++) { /* bounded, so one busy socket cannot starve the loop */
		for (int i = 0; i < SGI_BATCH; i++) {
			b->iov[i] = (struct iovec){b->buf[i], sizeof(b->buf[i])};
			b->msgs[i].msg_hdr = (struct msghdr){.msg_name = &b->from[i], .msg_namelen = sizeof(b->from[i]),
			                                     .msg_iov = &b->iov[i], .msg_iovlen = 1};
		}
		int n = recvmmsg(fd, b->msgs, SGI_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				LPW_WARN("sgi", "recvmmsg: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++)
			deliver(b, &b->from[i], b->msgs[i].msg_hdr.msg_namelen, b->buf[i], b->msgs[i].msg_len);
		if (n < SGI_BATCH)
			return;
	}
}

static int sgi_send(void *self, lpw_device_t *dev, const lpw_downlink_t *dl)
{
	struct sgi *b = self;
	struct peer *p = lpw_device_slot(dev, LPW_SLOT_BINDING);
	if (!p || !p->addrlen)
		return -EHOSTUNREACH;
	if (sendto(b->fd, dl->data, dl->len, MSG_DONTWAIT, (struct sockaddr *)&p->addr, p->addrlen) < 0) {
		int err = errno;
		LPW_WARN("sgi", "%s: sendto: %s", lpw_device_id(dev), strerror(err));
		return -err;
	}
	return 0;
}

static void sgi_traits(void *self, const lpw_device_t *dev, lpw_binding_traits_t *out)
{
	struct sgi *b = self;
	*out = (lpw_binding_traits_t){
		.max_message_size_now = b->cfg->sgi.max_message_size,
		.max_message_size = b->cfg->sgi.max_message_size,
		.proxy_retransmits = true, /* plain CoAP over UDP: RFC 7252 timers */
	};
}

static int sgi_device_add(void *self, lpw_device_t *dev)
{
	struct sgi *b = self;
	uint8_t key[16];
	size_t klen = identity_key(lpw_device_config(dev)->identity, key);
	if (!klen) {
		LPW_ERR("sgi", "%s: '%s' is not an IP address", lpw_device_id(dev), lpw_device_config(dev)->identity);
		return -EINVAL;
	}
	struct peer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int rc = b->host->set_key(b->host->ctx, dev, key, klen);
	if (rc < 0) {
		LPW_ERR("sgi", "%s: address %s is another device's", lpw_device_id(dev), lpw_device_config(dev)->identity);
		free(p);
		return rc;
	}
	lpw_device_set_slot(dev, LPW_SLOT_BINDING, p);
	return 0;
}

static void sgi_device_remove(void *self, lpw_device_t *dev)
{
	struct sgi *b = self;
	b->host->set_key(b->host->ctx, dev, NULL, 0);
	free(lpw_device_slot(dev, LPW_SLOT_BINDING));
	lpw_device_set_slot(dev, LPW_SLOT_BINDING, NULL);
}

/* The identity is the table's key, so a device whose address changed comes back as removed + added: only the
 * pointer into the configuration changes here. */
static void sgi_device_update(void *self, lpw_device_t *dev, const lpw_config_device_t *old)
{
}

static int sgi_reconfigure(void *self, const lpw_config_t *cfg, FILE *report)
{
	struct sgi *b = self;
	int restart = 0;
	const lpw_config_sgi_t *o = &b->cfg->sgi, *n = &cfg->sgi;
	if (strcmp(o->listen, n->listen) != 0 || o->port != n->port) {
		fprintf(report, "bindings.nidd_sgi.listen/port: keeps %s port %u until a restart\n", o->listen, o->port);
		restart++;
	}
	b->cfg = cfg; /* max_message_size and awake_time apply at once; the socket stays */
	return restart;
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
	free(b);
}

static const lpw_binding_ops_t sgi_ops = {
	.send = sgi_send,
	.traits = sgi_traits,
	.device_add = sgi_device_add,
	.device_update = sgi_device_update,
	.device_remove = sgi_device_remove,
	.reconfigure = sgi_reconfigure,
	.free = sgi_free,
};

/* SO_RCVBUFFORCE passes the kernel's net.core.rmem_max where we may (CAP_NET_ADMIN); else the plain option,
 * which the kernel caps. The size we got is logged when it is less than asked. */
static void size_receive_buffer(int fd, uint32_t want)
{
	int v = (int)want, got = 0;
	socklen_t len = sizeof(got);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) == 0 && (uint32_t)got / 2 < want)
		LPW_WARN("sgi", "receive buffer is %d bytes, not the %u configured: raise net.core.rmem_max", got / 2, want);
}

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
	size_receive_buffer(fd, c->receive_buffer);
	return fd;
}

int lpw_sgi_create(const lpw_binding_env_t *env, lpw_binding_t *out)
{
	struct sgi *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->loop = env->loop;
	b->cfg = env->cfg;
	b->host = env->host;
	b->fd = open_socket(&env->cfg->sgi);
	if (b->fd < 0) {
		int rc = b->fd;
		sgi_free(b);
		return rc;
	}
	int rc = lpw_loop_add_fd(b->loop, b->fd, EPOLLIN, on_readable, b);
	if (rc < 0) {
		sgi_free(b);
		return rc;
	}
	LPW_INFO("sgi", "listening on %s port %u", env->cfg->sgi.listen, env->cfg->sgi.port);
	*out = (lpw_binding_t){&sgi_ops, b};
	return 0;
}

uint16_t lpw_sgi_port(const lpw_binding_t *bd)
{
	const struct sgi *b = bd->self;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(b->fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                      : ((struct sockaddr_in *)&ss)->sin_port);
}
