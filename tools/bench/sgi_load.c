/* A CoAP load generator for the SGi path: N devices, each on its own loopback source address (as the P-GW
 * delivers them), each with one CON request in flight (closed loop) or all at a fixed total rate (open loop).
 * Prints one JSON line: answered, rate, lost, latency percentiles, the kernel's UDP receive-buffer drops during
 * the run, and the gateway's CPU time when its pid is given.
 * Device i has the address 127.(i/62500).(i/250 % 250).(i % 250 + 2), from 127.0.0.2 on as the integration tests use, (bench_sgi.py configures the same).
 * Usage: sgi-load --gateway PORT --devices N --seconds S [--rate R] [--pid PID] [--timeout-ms T] */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HIST_US 100000 /* latency histogram in µs, everything above in the last bucket */

struct dev {
	int fd;
	uint16_t mid;
	int64_t sent_ns; /* 0: nothing in flight */
};

struct run {
	struct dev *devs;
	int n, ep;
	uint16_t port;
	int64_t timeout_ns;
	uint64_t answered, lost, sent;
	uint32_t *hist;
	bool measuring;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void addr_of(int i, struct in_addr *out)
{
	char ip[32];
	snprintf(ip, sizeof(ip), "127.%d.%d.%d", i / 62500, i / 250 % 250, i % 250 + 2);
	inet_pton(AF_INET, ip, out);
}

/* CON GET /b with a 4-byte token: the device index, so that answers are matched without a lookup. */
static void send_request(struct run *r, int i)
{
	struct dev *d = &r->devs[i];
	uint8_t m[] = {0x44, 0x01, 0, 0, 0, 0, 0, 0, 0xB1, 'b'};
	d->mid++;
	m[2] = (uint8_t)(d->mid >> 8);
	m[3] = (uint8_t)d->mid;
	m[4] = (uint8_t)(i >> 24);
	m[5] = (uint8_t)(i >> 16);
	m[6] = (uint8_t)(i >> 8);
	m[7] = (uint8_t)i;
	if (send(d->fd, m, sizeof(m), MSG_DONTWAIT) == (ssize_t)sizeof(m)) {
		d->sent_ns = now_ns();
		r->sent++;
	}
}

static int open_devices(struct run *r)
{
	struct sockaddr_in gw = {.sin_family = AF_INET, .sin_port = htons(r->port)};
	gw.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < r->n; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		addr_of(i, &sa.sin_addr);
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    connect(fd, (struct sockaddr *)&gw, sizeof(gw)) < 0) {
			char ip[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
			fprintf(stderr, "sgi-load: device %d at %s: %s\n", i, ip, strerror(errno));
			return -1;
		}
		r->devs[i].fd = fd;
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev);
	}
	return 0;
}

/* Reads the answers of device i; with closed_loop, each answer sends the next request. */
static void on_readable(struct run *r, int i, bool closed_loop, bool sending)
{
	struct dev *d = &r->devs[i];
	uint8_t buf[512];
	ssize_t len;
	while ((len = recv(d->fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 4) {
		uint16_t mid = (uint16_t)(buf[2] << 8 | buf[3]);
		if (((buf[0] >> 4) & 3) != 2 || mid != d->mid || !d->sent_ns)
			continue; /* not the ACK of what is in flight (a late one, or an empty ACK) */
		int64_t us = (now_ns() - d->sent_ns) / 1000;
		d->sent_ns = 0;
		if (r->measuring) {
			r->answered++;
			r->hist[us < HIST_US ? us : HIST_US]++;
		}
		if (closed_loop && sending)
			send_request(r, i);
	}
}

static void expire(struct run *r, bool resend)
{
	int64_t t = now_ns();
	for (int i = 0; i < r->n; i++) {
		struct dev *d = &r->devs[i];
		if (d->sent_ns && t - d->sent_ns > r->timeout_ns) {
			d->sent_ns = 0;
			if (r->measuring)
				r->lost++;
			if (resend)
				send_request(r, i);
		}
	}
}

static void pump(struct run *r, int wait_ms, bool closed_loop, bool sending)
{
	struct epoll_event evs[512];
	int k = epoll_wait(r->ep, evs, 512, wait_ms);
	for (int j = 0; j < k; j++)
		on_readable(r, (int)evs[j].data.u32, closed_loop, sending);
}

static uint64_t rcvbuf_errors(void)
{
	FILE *f = fopen("/proc/net/snmp", "r");
	char line[1024], head[1024] = "";
	uint64_t v = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Udp:", 4) != 0)
			continue;
		if (!head[0]) {
			snprintf(head, sizeof(head), "%s", line);
			continue;
		}
		int col = 0, want = -1;
		for (char *t = strtok(head, " \n"); t; t = strtok(NULL, " \n"), col++)
			if (!strcmp(t, "RcvbufErrors"))
				want = col;
		col = 0;
		for (char *t = strtok(line, " \n"); t; t = strtok(NULL, " \n"), col++)
			if (col == want)
				v = strtoull(t, NULL, 10);
		break;
	}
	if (f)
		fclose(f);
	return v;
}

static double cpu_s(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = pid > 0 ? fopen(path, "r") : NULL;
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return 0;
	}
	fclose(f);
	char *p = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	/* fields after the command: state(3) ... utime(14) stime(15) */
	if (p)
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static uint32_t percentile(const uint32_t *hist, uint64_t total, double p)
{
	uint64_t want = (uint64_t)(p * (double)total), seen = 0;
	for (uint32_t us = 0; us <= HIST_US; us++)
		if ((seen += hist[us]) > want)
			return us;
	return HIST_US;
}

int main(int argc, char **argv)
{
	struct run r = {.timeout_ns = 5000000000LL};
	int seconds = 5, pid = 0;
	double rate = 0;
	static const struct option opts[] = {{"gateway", 1, 0, 'g'}, {"devices", 1, 0, 'n'}, {"seconds", 1, 0, 's'},
	                                     {"rate", 1, 0, 'r'},    {"pid", 1, 0, 'p'},     {"timeout-ms", 1, 0, 't'},
	                                     {0, 0, 0, 0}};
	for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		switch (c) {
		case 'g': r.port = (uint16_t)atoi(optarg); break;
		case 'n': r.n = atoi(optarg); break;
		case 's': seconds = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'p': pid = atoi(optarg); break;
		case 't': r.timeout_ns = atoll(optarg) * 1000000LL; break;
		default: fprintf(stderr, "usage: sgi-load --gateway PORT --devices N --seconds S [--rate R] [--pid P]\n"); return 2;
		}
	}
	struct rlimit rl = {(rlim_t)r.n + 64, (rlim_t)r.n + 64};
	if (r.n <= 0 || !r.port || (setrlimit(RLIMIT_NOFILE, &rl) < 0 && r.n > 1000)) {
		fprintf(stderr, "sgi-load: need --gateway and --devices (and a file limit above N)\n");
		return 2;
	}
	r.devs = calloc((size_t)r.n, sizeof(*r.devs));
	r.hist = calloc(HIST_US + 1, sizeof(*r.hist));
	r.ep = epoll_create1(0);
	if (!r.devs || !r.hist || open_devices(&r) < 0)
		return 1;
	/* warm-up: every device's upstream session opens (the gateway holds the first request until then) */
	int64_t warm_end = now_ns() + 120000000000LL;
	for (int i = 0; i < r.n; i++)
		send_request(&r, i);
	for (uint64_t done = 0; now_ns() < warm_end;) {
		pump(&r, 100, false, false);
		done = 0;
		for (int i = 0; i < r.n; i++)
			done += r.devs[i].sent_ns == 0;
		if (done == (uint64_t)r.n)
			break;
		expire(&r, true);
	}
	uint64_t drops0 = rcvbuf_errors();
	double cpu0 = cpu_s(pid);
	r.measuring = true;
	int64_t t0 = now_ns(), end = t0 + (int64_t)seconds * 1000000000LL, last_expiry = t0;
	bool closed = rate <= 0;
	if (closed)
		for (int i = 0; i < r.n; i++)
			send_request(&r, i);
	int next = 0;
	while (now_ns() < end) {
		if (!closed) { /* open loop: the requests due by now, round robin over idle devices */
			uint64_t due = (uint64_t)((double)(now_ns() - t0) / 1e9 * rate);
			for (int tries = 0; r.sent < due && tries < r.n; tries++, next = (next + 1) % r.n)
				if (!r.devs[next].sent_ns)
					send_request(&r, next);
		}
		pump(&r, closed ? 10 : 0, closed, true);
		if (now_ns() - last_expiry > 100000000) {
			expire(&r, closed);
			last_expiry = now_ns();
		}
	}
	double elapsed = (double)(now_ns() - t0) / 1e9;
	double cpu1 = cpu_s(pid);
	int64_t drain = now_ns() + r.timeout_ns;
	while (now_ns() < drain) { /* what is still in flight is answered or lost */
		pump(&r, 50, false, false);
		int busy = 0;
		for (int i = 0; i < r.n && !busy; i++)
			busy = r.devs[i].sent_ns != 0;
		if (!busy)
			break;
	}
	expire(&r, false);
	for (int i = 0; i < r.n; i++)
		r.lost += r.devs[i].sent_ns != 0;
	uint64_t drops = rcvbuf_errors() - drops0;
	printf("{\"devices\":%d,\"seconds\":%.2f,\"answered\":%llu,\"rate\":%.0f,\"lost\":%llu,\"p50_us\":%u,"
	       "\"p99_us\":%u,\"p999_us\":%u,\"udp_rcvbuf_errors\":%llu,\"gateway_cpu_s\":%.2f,\"cpu_us_per_msg\":%.2f}\n",
	       r.n, elapsed, (unsigned long long)r.answered, (double)r.answered / elapsed, (unsigned long long)r.lost,
	       percentile(r.hist, r.answered, 0.5), percentile(r.hist, r.answered, 0.99),
	       percentile(r.hist, r.answered, 0.999), (unsigned long long)drops, cpu1 - cpu0,
	       r.answered ? (cpu1 - cpu0) * 1e6 / (double)r.answered : 0.0);
	for (int i = 0; i < r.n; i++)
		close(r.devs[i].fd);
	close(r.ep);
	free(r.devs);
	free(r.hist);
	return 0;
}
