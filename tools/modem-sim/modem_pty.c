/* modem-sim's pty: the master is the modem's end, the slave is what the gateway opens through the symlink. The
 * sim holds the slave open itself, so the master never reports a hang-up when the gateway closes its end. Output
 * goes through a queue that can be slowed down and cut into pieces. */
#include "tools/modem-sim/modem_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "core/log.h"

static void on_master(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_modemsim_t *m = arg;
	uint8_t buf[1024];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		if (!m->mute)
			msim_at_input(m, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* cannot happen while we hold the slave; stop watching rather than spin */
	LPW_WARN("modem-sim", "pty master: %s", n == 0 ? "end of input" : strerror(errno));
	lpw_loop_del_fd(m->loop, fd);
}

int msim_pty_open(lpw_modemsim_t *m)
{
	struct termios t;
	if (openpty(&m->master, &m->slave, m->pty_name, NULL, NULL) < 0) {
		LPW_ERR("modem-sim", "openpty: %s", strerror(errno));
		m->master = m->slave = -1;
		return -errno;
	}
	/* raw from the start: an echoing line discipline would send our own output back to us */
	if (tcgetattr(m->slave, &t) == 0) {
		cfmakeraw(&t);
		(void)tcsetattr(m->slave, TCSANOW, &t);
	}
	(void)fcntl(m->master, F_SETFL, O_NONBLOCK);
	(void)fcntl(m->master, F_SETFD, FD_CLOEXEC);
	(void)fcntl(m->slave, F_SETFD, FD_CLOEXEC);
	(void)unlink(m->path);
	int rc = symlink(m->pty_name, m->path) < 0 ? -errno : lpw_loop_add_fd(m->loop, m->master, EPOLLIN, on_master, m);
	if (rc < 0) {
		LPW_ERR("modem-sim", "%s -> %s: %s", m->path, m->pty_name, strerror(-rc));
		msim_pty_close(m);
		return rc;
	}
	msim_at_reset(m); /* a modem that appears has just booted */
	return 0;
}

void msim_pty_close(lpw_modemsim_t *m)
{
	if (m->master >= 0) {
		lpw_loop_del_fd(m->loop, m->master);
		close(m->master);
	}
	if (m->slave >= 0)
		close(m->slave);
	m->master = m->slave = -1;
	m->out_len = 0;
	lpw_loop_timer_clear(m->loop, &m->write_timer);
	(void)unlink(m->path);
}

static void arm_writer(lpw_modemsim_t *m, uint32_t ms)
{
	if (!lpw_timer_armed(&m->write_timer) && lpw_loop_timer_in(m->loop, &m->write_timer, ms) < 0)
		LPW_ERR("modem-sim", "cannot arm the writer");
}

/* Writes what is queued: all of it, or one piece when split. A full pty (nobody reading) drops nothing: it waits. */
void msim_pty_flush(lpw_timer_t *t, int64_t now_ms)
{
	lpw_modemsim_t *m = lpw_container_of(t, lpw_modemsim_t, write_timer);
	if (m->master < 0 || m->out_len == 0)
		return;
	size_t n = m->split && m->split < m->out_len ? m->split : m->out_len;
	ssize_t w = write(m->master, m->out, n);
	if (w < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			arm_writer(m, 10);
			return;
		}
		LPW_WARN("modem-sim", "pty write: %s", strerror(errno));
		m->out_len = 0;
		return;
	}
	memmove(m->out, m->out + w, m->out_len - (size_t)w);
	m->out_len -= (size_t)w;
	if (m->out_len)
		arm_writer(m, m->split ? m->split_gap_ms : 0);
}

void msim_out(lpw_modemsim_t *m, const char *data, size_t len)
{
	if (m->master < 0)
		return;
	if (len > sizeof(m->out) - m->out_len) {
		LPW_WARN("modem-sim", "output queue full: %zu bytes dropped", len);
		return;
	}
	bool idle = m->out_len == 0;
	memcpy(m->out + m->out_len, data, len);
	m->out_len += len;
	if (idle)
		arm_writer(m, m->slow_ms);
}

void msim_line(lpw_modemsim_t *m, const char *fmt, ...)
{
	char buf[MSIM_LINE_MAX + 8];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + 2, sizeof(buf) - 4, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(buf) - 5 ? (size_t)n : sizeof(buf) - 5;
	memcpy(buf, "\r\n", 2);
	memcpy(buf + 2 + len, "\r\n", 2);
	msim_out(m, buf, len + 4);
}

void msim_final(lpw_modemsim_t *m, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (m->noise) {
		static const char noise[] = "\r\n\x01\x00\xff~\x7f noise\r\n";
		m->noise--;
		msim_out(m, noise, sizeof(noise) - 1);
	}
	if (m->garble && buf[0]) {
		m->garble--;
		buf[0] ^= 0x20; /* "oK", "eRROR": a result the gateway cannot take for one */
	}
	msim_line(m, "%s", buf);
}
