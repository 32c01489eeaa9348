/* A minimal CoAP-over-TCP (RFC 8323) responder for benchmarks: sends its CSM, answers every request with 2.05
 * carrying the request's token, answers Ping with Pong, nothing else. One thread, epoll, no allocation per
 * message, so that it is never the bottleneck of what it measures. Prints {"listening":PORT} once bound.
 * Usage: coap-tcp-responder [PORT] */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 8192 /* per direction and connection: benchmark frames are small */

struct conn {
	int fd;
	size_t have;
	uint8_t in[BUF];
	size_t out_len;
	uint8_t out[BUF];
};

/* The frame length at the start of b (header, token and body), 0 when incomplete. */
static size_t frame_len(const uint8_t *b, size_t n, size_t *out_hdr, size_t *out_body)
{
	if (n < 2)
		return 0;
	unsigned len = b[0] >> 4, tkl = b[0] & 15, ext = len < 13 ? 0 : len == 13 ? 1 : len == 14 ? 2 : 4;
	if (n < 2 + ext)
		return 0;
	size_t body = len;
	if (ext == 1)
		body = 13 + b[1];
	else if (ext == 2)
		body = 269 + ((size_t)b[1] << 8 | b[2]);
	else if (ext == 4)
		body = 65805 + ((size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | b[4]);
	*out_hdr = 1 + ext + 1; /* Len/TKL, extended length, code */
	*out_body = body;
	size_t total = *out_hdr + tkl + body;
	return n >= total ? total : 0;
}

static void answer(struct conn *c, const uint8_t *frame, size_t hdr)
{
	unsigned tkl = frame[0] & 15;
	uint8_t code = frame[hdr - 1];
	uint8_t reply;
	if (code == 0xE2) /* 7.02 Ping -> 7.03 Pong */
		reply = 0xE3;
	else if (code >> 5 == 0 && code != 0) /* a request */
		reply = 0x45; /* 2.05 */
	else
		return; /* CSM, Pong, responses: nothing to say */
	if (c->out_len + 2 + tkl > sizeof(c->out))
		return;
	c->out[c->out_len++] = (uint8_t)tkl; /* Len 0: no options, no payload */
	c->out[c->out_len++] = reply;
	memcpy(c->out + c->out_len, frame + hdr, tkl);
	c->out_len += tkl;
}

static void flush(struct conn *c)
{
	size_t off = 0;
	while (off < c->out_len) {
		ssize_t w = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
		if (w <= 0)
			break; /* a benchmark peer: drop what does not fit rather than buffer */
		off += (size_t)w;
	}
	c->out_len = 0;
}

static int on_readable(struct conn *c)
{
	for (;;) {
		ssize_t r = recv(c->fd, c->in + c->have, sizeof(c->in) - c->have, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (r < 0)
			break;
		c->have += (size_t)r;
		size_t off = 0, hdr, body, n;
		while ((n = frame_len(c->in + off, c->have - off, &hdr, &body)) > 0) {
			answer(c, c->in + off, hdr);
			off += n;
		}
		memmove(c->in, c->in + off, c->have - off);
		c->have -= off;
		if (c->have == sizeof(c->in))
			return -1; /* a frame larger than we take */
	}
	flush(c);
	return 0;
}

int main(int argc, char **argv)
{
	struct rlimit rl = {65536, 65536};
	setrlimit(RLIMIT_NOFILE, &rl);
	int port = argc > 1 ? atoi(argv[1]) : 0;
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4096) < 0) {
		perror("listen");
		return 1;
	}
	socklen_t sl = sizeof(sa);
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	printf("{\"listening\":%u}\n", ntohs(sa.sin_port));
	fflush(stdout);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	static const uint8_t csm[] = {0x00, 0xE1}; /* 7.01 CSM, no options: the defaults */
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					c = calloc(1, sizeof(*c));
					c->fd = fd;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					send(fd, csm, sizeof(csm), MSG_NOSIGNAL);
					struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
				}
				continue;
			}
			if (on_readable(c) < 0) {
				close(c->fd);
				free(c);
			}
		}
	}
}
