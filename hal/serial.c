/* Serial port over termios (raw, 8N1, no flow control, non-blocking) joined to the loop, reopened with back-off
 * after a loss, with an optional reset line pulse timed by the loop. */
#include "hal/serial.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "core/log.h"
#include "hal/gpio.h"

#define MOD "serial"
#define READ_CHUNK 1024
#define READS_PER_EVENT 16 /* bounded, so a chatty device cannot starve the loop */

enum phase { P_CLOSED, P_OPEN, P_PULSE, P_SETTLE };

struct lpw_serial {
	lpw_loop_t *loop;
	lpw_serial_config_t cfg;
	char *path, *chip;
	lpw_serial_hooks_t hooks;
	int fd;
	enum phase phase;
	uint32_t delay_ms;     /* the next reopen delay */
	bool failing;          /* opening has failed since the last success: log once per outage */
	unsigned gen;          /* bumped on every close: a read loop whose port was closed by a hook stops */
	uint8_t *out;
	size_t out_len;
	lpw_gpio_line_t *line;
	lpw_timer_t open_timer;  /* reopen, and the end of a reset */
	lpw_timer_t pulse_timer; /* the end of the reset pulse */
	lpw_timer_t lost_timer;  /* a write error: close from the loop */
	lpw_serial_counters_t c;
};

static const struct {
	unsigned baud;
	speed_t speed;
} speeds[] = {
	{1200, B1200},       {2400, B2400},       {4800, B4800},       {9600, B9600},       {19200, B19200},
	{38400, B38400},     {57600, B57600},     {115200, B115200},   {230400, B230400},   {460800, B460800},
	{500000, B500000},   {576000, B576000},   {921600, B921600},   {1000000, B1000000}, {1152000, B1152000},
	{1500000, B1500000}, {2000000, B2000000}, {2500000, B2500000}, {3000000, B3000000}, {3500000, B3500000},
	{4000000, B4000000},
};

static bool speed_of(unsigned baud, speed_t *out)
{
	for (size_t i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++) {
		if (speeds[i].baud == baud) {
			*out = speeds[i].speed;
			return true;
		}
	}
	return false;
}

bool lpw_serial_baud_valid(unsigned baud)
{
	speed_t s;
	return speed_of(baud, &s);
}

static void arm(lpw_serial_t *s, lpw_timer_t *t, uint32_t ms)
{
	if (lpw_loop_timer_in(s->loop, t, ms) < 0)
		LPW_ERR(MOD, "%s: cannot arm a timer: out of memory", s->path);
}

/* Raw 8N1 without flow control or modem-control hang-ups; reads block for at least one byte (VMIN 1), so with
 * O_NONBLOCK an empty port says EAGAIN and a read of 0 means the device hung up. */
static int configure(int fd, speed_t speed)
{
	struct termios t;
	if (tcgetattr(fd, &t) < 0)
		return -errno;
	cfmakeraw(&t);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cflag &= ~(tcflag_t)CRTSCTS;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (cfsetispeed(&t, speed) < 0 || cfsetospeed(&t, speed) < 0 || tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	tcflush(fd, TCIOFLUSH); /* what the device said before we were listening is of no use */
	return 0;
}

static void on_io(lpw_loop_t *loop, int fd, uint32_t events, void *arg);

static int open_port(lpw_serial_t *s)
{
	speed_t speed = B115200;
	(void)speed_of(s->cfg.baud, &speed); /* checked in lpw_serial_new */
	int fd = open(s->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = isatty(fd) ? configure(fd, speed) : -ENOTTY;
	if (rc == 0) {
		(void)ioctl(fd, TIOCEXCL); /* keep ModemManager and friends from probing it under our feet */
		rc = lpw_loop_add_fd(s->loop, fd, EPOLLIN, on_io, s);
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	s->fd = fd;
	return 0;
}

static void try_open(lpw_serial_t *s)
{
	int rc = open_port(s);
	if (rc == 0) {
		s->phase = P_OPEN;
		s->c.opens++;
		s->delay_ms = s->cfg.retry_min_ms;
		LPW_NOTICE(MOD, "%s open at %u baud%s", s->path, s->cfg.baud, s->failing ? " again" : "");
		s->failing = false;
		if (s->hooks.state)
			s->hooks.state(s->hooks.arg, true);
		return;
	}
	s->c.open_failures++;
	if (!s->failing)
		LPW_WARN(MOD, "%s cannot be opened: %s; retrying every %u..%u ms", s->path, strerror(-rc),
			 s->cfg.retry_min_ms, s->cfg.retry_max_ms);
	else
		LPW_DEBUG(MOD, "%s cannot be opened: %s", s->path, strerror(-rc));
	s->failing = true;
	s->phase = P_CLOSED;
	arm(s, &s->open_timer, s->delay_ms);
	s->delay_ms = s->delay_ms >= s->cfg.retry_max_ms / 2 ? s->cfg.retry_max_ms : s->delay_ms * 2;
}

/* Closes the descriptor; the caller decides what comes next. */
static void close_port(lpw_serial_t *s)
{
	if (s->fd < 0)
		return;
	lpw_loop_del_fd(s->loop, s->fd);
	close(s->fd);
	s->fd = -1;
	s->out_len = 0;
	s->gen++;
	lpw_loop_timer_clear(s->loop, &s->lost_timer);
}

static void lost(lpw_serial_t *s, const char *why)
{
	s->c.losses++;
	LPW_WARN(MOD, "%s lost (%s); reopening", s->path, why);
	close_port(s);
	s->phase = P_CLOSED;
	s->delay_ms = s->cfg.retry_min_ms;
	arm(s, &s->open_timer, s->delay_ms);
	if (s->hooks.state)
		s->hooks.state(s->hooks.arg, false);
}

static void flush_out(lpw_serial_t *s)
{
	while (s->out_len) {
		ssize_t n = write(s->fd, s->out, s->out_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) /* closed from the loop, not here: the caller may be inside a hook */
				arm(s, &s->lost_timer, 0);
			break;
		}
		s->c.bytes_out += (size_t)n;
		memmove(s->out, s->out + n, s->out_len - (size_t)n);
		s->out_len -= (size_t)n;
	}
	(void)lpw_loop_set_events(s->loop, s->fd, s->out_len ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static void on_io(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_serial_t *s = arg;
	unsigned gen = s->gen;
	uint8_t buf[READ_CHUNK];
	if (events & EPOLLOUT)
		flush_out(s);
	for (int i = 0; i < READS_PER_EVENT && s->gen == gen; i++) {
		ssize_t n = read(s->fd, buf, sizeof(buf));
		if (n > 0) {
			s->c.bytes_in += (size_t)n;
			if (s->hooks.data)
				s->hooks.data(s->hooks.arg, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (events & (EPOLLHUP | EPOLLERR))
				lost(s, "hang-up");
			return;
		}
		lost(s, n == 0 ? "hang-up" : strerror(errno));
		return;
	}
}

static void on_open_timer(lpw_timer_t *t, int64_t now_ms)
{
	lpw_serial_t *s = lpw_container_of(t, lpw_serial_t, open_timer);
	if (s->phase == P_CLOSED || s->phase == P_SETTLE)
		try_open(s);
}

static void on_pulse_end(lpw_timer_t *t, int64_t now_ms)
{
	lpw_serial_t *s = lpw_container_of(t, lpw_serial_t, pulse_timer);
	(void)lpw_gpio_line_set(s->line, false);
	lpw_gpio_line_close(s->line);
	s->line = NULL;
	s->phase = P_SETTLE;
	arm(s, &s->open_timer, s->cfg.reset_settle_ms);
}

static void on_lost_timer(lpw_timer_t *t, int64_t now_ms)
{
	lpw_serial_t *s = lpw_container_of(t, lpw_serial_t, lost_timer);
	if (s->fd >= 0)
		lost(s, "write error");
}

lpw_serial_t *lpw_serial_new(lpw_loop_t *loop, const lpw_serial_config_t *cfg, const lpw_serial_hooks_t *hooks)
{
	if (!loop || !cfg || !cfg->path || !*cfg->path)
		return NULL;
	if (!lpw_serial_baud_valid(cfg->baud)) {
		LPW_ERR(MOD, "%s: %u baud is not a serial speed", cfg->path, cfg->baud);
		return NULL;
	}
	lpw_serial_t *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = loop;
	s->cfg = *cfg;
	s->fd = -1;
	if (hooks)
		s->hooks = *hooks;
#define DEFAULT(f, v) (s->cfg.f = s->cfg.f ? s->cfg.f : (v))
	DEFAULT(retry_min_ms, 1000);
	DEFAULT(retry_max_ms, 30000);
	DEFAULT(out_max, 4096);
	DEFAULT(reset_pulse_ms, 100);
	DEFAULT(reset_settle_ms, 5000);
#undef DEFAULT
	if (s->cfg.retry_max_ms < s->cfg.retry_min_ms)
		s->cfg.retry_max_ms = s->cfg.retry_min_ms;
	s->delay_ms = s->cfg.retry_min_ms;
	s->path = strdup(cfg->path);
	s->chip = cfg->reset_chip ? strdup(cfg->reset_chip) : NULL;
	s->out = malloc(s->cfg.out_max);
	s->cfg.path = s->path;
	s->cfg.reset_chip = s->chip;
	lpw_timer_init(&s->open_timer, on_open_timer);
	lpw_timer_init(&s->pulse_timer, on_pulse_end);
	lpw_timer_init(&s->lost_timer, on_lost_timer);
	if (!s->path || !s->out || (cfg->reset_chip && !s->chip) || lpw_loop_timer_in(loop, &s->open_timer, 0) < 0) {
		lpw_serial_free(s);
		return NULL;
	}
	return s;
}

void lpw_serial_free(lpw_serial_t *s)
{
	if (!s)
		return;
	close_port(s);
	lpw_loop_timer_clear(s->loop, &s->open_timer);
	lpw_loop_timer_clear(s->loop, &s->pulse_timer);
	lpw_loop_timer_clear(s->loop, &s->lost_timer);
	if (s->line) {
		(void)lpw_gpio_line_set(s->line, false);
		lpw_gpio_line_close(s->line);
	}
	free(s->out);
	free(s->path);
	free(s->chip);
	free(s);
}

int lpw_serial_write(lpw_serial_t *s, const uint8_t *data, size_t len)
{
	if (s->fd < 0)
		return -ENOTCONN;
	if (len > s->cfg.out_max - s->out_len) {
		s->c.overflows++;
		return -ENOBUFS;
	}
	memcpy(s->out + s->out_len, data, len);
	s->out_len += len;
	flush_out(s);
	return 0;
}

int lpw_serial_reset(lpw_serial_t *s)
{
	if (s->phase == P_PULSE || s->phase == P_SETTLE)
		return -EALREADY;
	bool was_open = s->fd >= 0;
	s->c.resets++;
	close_port(s);
	lpw_loop_timer_clear(s->loop, &s->open_timer);
	s->delay_ms = s->cfg.retry_min_ms;
	s->phase = P_SETTLE;
	if (s->chip && lpw_gpio_line_open(s->chip, s->cfg.reset_line, s->cfg.reset_active_low, &s->line) == 0 &&
	    lpw_gpio_line_set(s->line, true) == 0) {
		s->c.pulses++;
		s->phase = P_PULSE;
		LPW_NOTICE(MOD, "%s: pulsing reset line %u of %s for %u ms", s->path, s->cfg.reset_line, s->chip,
			   s->cfg.reset_pulse_ms);
		arm(s, &s->pulse_timer, s->cfg.reset_pulse_ms);
	} else {
		lpw_gpio_line_close(s->line); /* a line we could not drive: a plain close and reopen */
		s->line = NULL;
		LPW_NOTICE(MOD, "%s: reset by closing and reopening the port", s->path);
		arm(s, &s->open_timer, s->cfg.reset_settle_ms);
	}
	if (was_open && s->hooks.state)
		s->hooks.state(s->hooks.arg, false);
	return 0;
}

bool lpw_serial_is_open(const lpw_serial_t *s)
{
	return s->fd >= 0;
}

const char *lpw_serial_path(const lpw_serial_t *s)
{
	return s->path;
}

void lpw_serial_get_counters(const lpw_serial_t *s, lpw_serial_counters_t *out)
{
	*out = s->c;
}
