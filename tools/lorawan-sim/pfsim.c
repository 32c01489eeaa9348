/* lorawan-sim packet forwarder: GWMP v2 over one connected UDP socket, built with hal/pktfwd's codec. */
#include "tools/lorawan-sim/pfsim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "hal/pktfwd.h"
#include "tools/common/xorshift.h"
#include "tools/lorawan-sim/loss.h"

struct lpw_pfsim {
	lpw_loop_t *loop;
	int fd;
	uint64_t eui;
	unsigned keepalive_s;
	enum lw_region_id region;
	lpw_lwsim_loss_t loss;
	uint32_t noise;
	uint16_t token;
	bool up; /* a PULL_ACK came */
	lpw_lwdev_event_cb on_event;
	void *event_arg;
	lpw_lwdev_t **devs;
	size_t ndevs, cap;
	lpw_timer_t keepalive;
	lpw_pfsim_counters_t ctr;
	lpw_pktfwd_msg_t msg; /* large (32 rxpk): kept here, not on the stack */
	uint8_t buf[4096];
};

static void emit(lpw_pfsim_t *pf, const char *json)
{
	if (pf->on_event)
		pf->on_event(pf->event_arg, json);
}

static int send_datagram(lpw_pfsim_t *pf, const uint8_t *b, int n)
{
	if (n < 0)
		return n;
	if (send(pf->fd, b, (size_t)n, 0) < 0) {
		/* ECONNREFUSED: the gateway is not (yet) listening; the keepalive keeps trying */
		LPW_DEBUG("lwsim", "forwarder: send: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void keepalive(lpw_timer_t *t, int64_t now_ms)
{
	lpw_pfsim_t *pf = lpw_container_of(t, lpw_pfsim_t, keepalive);
	uint8_t b[16];
	if (send_datagram(pf, b, lpw_pktfwd_build_pull_data(++pf->token, pf->eui, b, sizeof(b))) == 0)
		pf->ctr.pull_data++;
	if (lpw_loop_timer_in(pf->loop, &pf->keepalive, (int64_t)pf->keepalive_s * 1000) < 0)
		LPW_ERR("lwsim", "forwarder: cannot arm keepalive");
}

static uint32_t noise(lpw_pfsim_t *pf)
{
	return lpw_xorshift32(&pf->noise);
}

static int radio_uplink(void *ctx, lpw_lwdev_t *dev, const uint8_t *phy, size_t len, uint32_t freq_hz, unsigned dr,
			uint32_t *out_tmst)
{
	lpw_pfsim_t *pf = ctx;
	struct lw_dr_info info;
	*out_tmst = lpw_lwdev_tmst(lpw_loop_now(pf->loop));
	if (lpw_lwsim_loss_drop_up(&pf->loss)) {
		pf->ctr.uplinks_lost++;
		return 1;
	}
	if (len > LPW_PKTFWD_MAX_PAYLOAD || lw_region_dr(pf->region, dr, &info) < 0 || info.fsk)
		return -EINVAL;
	lpw_rxpk_t rx = {
		.tmst = *out_tmst,
		.freq = freq_hz / 1e6,
		.chan = 0,
		.stat = 1,
		.modu = LPW_MODU_LORA,
		.sf = info.sf,
		.bw_khz = (uint16_t)(info.bw_hz / 1000),
		.codr = 5,
		/* plausible for a device a few hundred metres away */
		.rssi = (int16_t)(-60 - (int)(noise(pf) % 50)),
		.lsnr = 5.0 + (double)(noise(pf) % 50) / 10.0,
		.size = (uint16_t)len,
	};
	memcpy(rx.data, phy, len);
	int n = lpw_pktfwd_build_push_data(++pf->token, pf->eui, &rx, 1, NULL, pf->buf, sizeof(pf->buf));
	int rc = send_datagram(pf, pf->buf, n);
	if (rc == 0)
		pf->ctr.push_data++;
	/* a refused datagram is a frame nobody heard: the device cannot tell the difference */
	return rc == -EINVAL || rc == -EMSGSIZE || rc == -ENOMEM ? rc : 0;
}

static void route(lpw_pfsim_t *pf, const lpw_txpk_t *tx, lpw_txack_error_t *err)
{
	bool lost = lpw_lwsim_loss_drop_down(&pf->loss);
	for (size_t i = 0; i < pf->ndevs; i++) {
		int rc = lpw_lwdev_offer(pf->devs[i], tx, lost);
		if (rc == -ENOENT)
			continue;
		if (rc == -ETIME)
			*err = LPW_TXACK_TOO_LATE;
		if (lost)
			pf->ctr.downlinks_lost++;
		return;
	}
	pf->ctr.unclaimed++;
	emit(pf, "{\"event\":\"downlink-lost\",\"reason\":\"unclaimed\"}");
}

static void on_pull_resp(lpw_pfsim_t *pf, const lpw_pktfwd_msg_t *m)
{
	uint8_t b[64];
	lpw_txack_error_t err = LPW_TXACK_NONE;
	pf->ctr.pull_resp++;
	if (m->txpk.size)
		route(pf, &m->txpk, &err);
	/* PROTOCOL.TXT §6: TX_ACK echoes the PULL_RESP token; without JSON it means NONE */
	int n = lpw_pktfwd_build_tx_ack(m->token, pf->eui, err, err != LPW_TXACK_NONE, b, sizeof(b));
	if (send_datagram(pf, b, n) == 0)
		pf->ctr.tx_ack++;
}

static void on_datagram(lpw_pfsim_t *pf, const uint8_t *b, size_t n)
{
	char why[96];
	if (lpw_pktfwd_parse(b, n, &pf->msg, why, sizeof(why)) < 0) {
		pf->ctr.malformed++;
		LPW_WARN("lwsim", "forwarder: bad datagram from the server: %s", why);
		return;
	}
	switch (pf->msg.kind) {
	case LPW_PKTFWD_PUSH_ACK:
		pf->ctr.push_ack++;
		break;
	case LPW_PKTFWD_PULL_ACK:
		pf->ctr.pull_ack++;
		if (!pf->up)
			emit(pf, "{\"event\":\"forwarder-up\"}");
		pf->up = true;
		break;
	case LPW_PKTFWD_PULL_RESP:
		on_pull_resp(pf, &pf->msg);
		break;
	default:
		pf->ctr.malformed++;
		break;
	}
}

static void on_readable(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_pfsim_t *pf = arg;
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(fd, pf->buf, sizeof(pf->buf), 0);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				LPW_DEBUG("lwsim", "forwarder: recv: %s", strerror(errno));
			return;
		}
		on_datagram(pf, pf->buf, (size_t)n);
	}
}

static int open_socket(const char *host, uint16_t port)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		sl = sizeof(*a6);
	} else {
		return -EINVAL;
	}
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

lpw_pfsim_t *lpw_pfsim_new(lpw_loop_t *loop, const lpw_pfsim_config_t *cfg)
{
	lpw_pfsim_t *pf = calloc(1, sizeof(*pf));
	if (!pf)
		return NULL;
	pf->loop = loop;
	pf->eui = cfg->gateway_eui;
	pf->keepalive_s = cfg->keepalive_s ? cfg->keepalive_s : 5;
	pf->region = cfg->region;
	pf->on_event = cfg->on_event;
	pf->event_arg = cfg->event_arg;
	pf->noise = cfg->seed * 2654435761u + 1u;
	pf->token = (uint16_t)pf->noise;
	lpw_timer_init(&pf->keepalive, keepalive);
	pf->fd = open_socket(cfg->server_host, cfg->server_port);
	if (lpw_lwsim_loss_init(&pf->loss, cfg->seed, cfg->loss_up, cfg->loss_down) < 0 || pf->fd < 0) {
		LPW_ERR("lwsim", "forwarder: bad server address or loss probability");
		goto fail;
	}
	if (lpw_loop_add_fd(loop, pf->fd, EPOLLIN, on_readable, pf) < 0)
		goto fail;
	if (lpw_loop_timer_in(loop, &pf->keepalive, 0) < 0) {
		lpw_loop_del_fd(loop, pf->fd);
		goto fail;
	}
	return pf;
fail:
	if (pf->fd >= 0)
		close(pf->fd);
	free(pf);
	return NULL;
}

void lpw_pfsim_free(lpw_pfsim_t *pf)
{
	if (!pf)
		return;
	lpw_loop_timer_clear(pf->loop, &pf->keepalive);
	lpw_loop_del_fd(pf->loop, pf->fd);
	close(pf->fd);
	free(pf->devs);
	free(pf);
}

lpw_lwdev_radio_t lpw_pfsim_radio(lpw_pfsim_t *pf)
{
	return (lpw_lwdev_radio_t){.uplink = radio_uplink, .ctx = pf};
}

int lpw_pfsim_add_device(lpw_pfsim_t *pf, lpw_lwdev_t *dev)
{
	if (pf->ndevs == pf->cap) {
		size_t cap = pf->cap ? pf->cap * 2 : 16;
		lpw_lwdev_t **d = realloc(pf->devs, cap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		pf->devs = d;
		pf->cap = cap;
	}
	pf->devs[pf->ndevs++] = dev;
	return 0;
}

void lpw_pfsim_get_counters(const lpw_pfsim_t *pf, lpw_pfsim_counters_t *out)
{
	*out = pf->ctr;
}
