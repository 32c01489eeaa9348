/* device-sim SMS link over modem-sim's side channel. */
#include "tools/device-sim/link_sms.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bindings/sms/sms_pdu.h"
#include "core/log.h"

#define SMS_LINK_MTU 2048 /* what the side channel's datagram (hex) carries; the gateway's max_parts is the limit */

struct lpw_devsim_sms {
	int fd;
	char msisdn[LPW_SMS_ADDR_DIGITS_MAX + 2];
	char buf[2 * SMS_LINK_MTU + 64];
};

lpw_devsim_sms_t *lpw_devsim_sms_new(const char *msisdn, const char *sim_host, uint16_t sim_port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(sim_port)};
	lpw_devsim_sms_t *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	snprintf(l->msisdn, sizeof(l->msisdn), "%s", msisdn);
	l->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (inet_pton(AF_INET, sim_host, &sa.sin_addr) != 1 || l->fd < 0 ||
	    connect(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		LPW_ERR("devsim", "sms link %s -> %s:%u: %s", msisdn, sim_host, sim_port, strerror(errno));
		goto fail;
	}
	int n = snprintf(l->buf, sizeof(l->buf), "HELLO %s raw", l->msisdn);
	if (send(l->fd, l->buf, (size_t)n, 0) < 0) {
		LPW_ERR("devsim", "sms link %s: HELLO: %s", msisdn, strerror(errno));
		goto fail;
	}
	return l;
fail:
	if (l->fd >= 0)
		close(l->fd);
	free(l);
	return NULL;
}

void lpw_devsim_sms_free(lpw_devsim_sms_t *l)
{
	if (!l)
		return;
	close(l->fd);
	free(l);
}

static int sms_send(void *ctx, const uint8_t *data, size_t len)
{
	lpw_devsim_sms_t *l = ctx;
	if (len > SMS_LINK_MTU)
		return -EMSGSIZE;
	int n = snprintf(l->buf, sizeof(l->buf), "SEND %s ", l->msisdn);
	int h = lpw_sms_hex_encode(data, len, l->buf + n, sizeof(l->buf) - (size_t)n);
	if (h < 0)
		return h;
	if (send(l->fd, l->buf, (size_t)(n + h), 0) < 0 && errno != ECONNREFUSED)
		return -errno;
	return 0;
}

/* Only "DATA FROM HEX" carries a message; the sim's OK/ERROR answers are skipped (-EAGAIN when nothing else). */
static ssize_t sms_recv(void *ctx, uint8_t *out, size_t cap)
{
	lpw_devsim_sms_t *l = ctx;
	for (;;) {
		ssize_t n = recv(l->fd, l->buf, sizeof(l->buf) - 1, 0);
		if (n < 0) {
			if (errno == EINTR || errno == ECONNREFUSED)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		l->buf[n] = '\0';
		if (strncmp(l->buf, "DATA ", 5) != 0) {
			if (!strncmp(l->buf, "ERROR", 5))
				LPW_WARN("devsim", "sms link %s: modem-sim said %s", l->msisdn, l->buf);
			continue;
		}
		char *hex = strchr(l->buf + 5, ' ');
		size_t len = 0;
		if (!hex || lpw_sms_hex_decode(hex + 1, strlen(hex + 1), out, cap, &len) < 0) {
			LPW_WARN("devsim", "sms link %s: malformed DATA from modem-sim", l->msisdn);
			continue;
		}
		return (ssize_t)len;
	}
}

lpw_devsim_link_t lpw_devsim_sms_link(lpw_devsim_sms_t *l)
{
	return (lpw_devsim_link_t){.send = sms_send, .recv = sms_recv, .fd = l->fd, .mtu = SMS_LINK_MTU, .ctx = l};
}
