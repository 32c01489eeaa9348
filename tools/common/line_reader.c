/* Command lines from a file descriptor on the loop: stdin of the simulators, control clients of the test server. */
#include "tools/common/line_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct lpw_line_reader {
	lpw_loop_t *loop;
	int fd; /* -1 once input ended */
	lpw_line_reader_line_cb on_line;
	lpw_line_reader_eof_cb on_eof;
	void *arg;
	bool discarding; /* inside an over-long line: drop bytes up to its newline */
	bool feeding;    /* inside feed(): a free() from a line callback is deferred ... */
	bool doomed;     /* ... and recorded here */
	size_t len, max_line;
	char buf[]; /* max_line + 1 */
};

/* Splits what arrived into lines; the buffer keeps an incomplete tail. */
static void feed(lpw_line_reader_t *r, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];
		if (c == '\n') {
			bool too_long = r->discarding;
			if (r->len && r->buf[r->len - 1] == '\r')
				r->len--;
			r->buf[too_long ? 0 : r->len] = '\0';
			r->len = 0;
			r->discarding = false;
			r->on_line(r->buf, too_long, r->arg);
			if (r->doomed)
				return; /* the callback freed us */
		} else if (!r->discarding) {
			if (r->len == r->max_line)
				r->discarding = true;
			else
				r->buf[r->len++] = c;
		}
	}
}

static void readable(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_line_reader_t *r = arg;
	char chunk[4096];
	/* One read per wake-up: epoll said there is data, so this does not block even on a blocking stdin. */
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		lpw_loop_del_fd(r->loop, r->fd);
		r->fd = -1;
		if (r->on_eof)
			r->on_eof(r->arg); /* last: it may free us */
		return;
	}
	r->feeding = true;
	feed(r, chunk, (size_t)n);
	r->feeding = false;
	if (r->doomed)
		free(r);
}

lpw_line_reader_t *lpw_line_reader_new(lpw_loop_t *loop, int fd, size_t max_line, lpw_line_reader_line_cb on_line,
                                       lpw_line_reader_eof_cb on_eof, void *arg)
{
	if (!loop || fd < 0 || !max_line || !on_line) {
		errno = EINVAL;
		return NULL;
	}
	lpw_line_reader_t *r = malloc(sizeof(*r) + max_line + 1);
	if (!r)
		return NULL;
	*r = (lpw_line_reader_t){
		.loop = loop, .fd = fd, .on_line = on_line, .on_eof = on_eof, .arg = arg, .max_line = max_line,
	};
	int rc = lpw_loop_add_fd(loop, fd, EPOLLIN, readable, r);
	if (rc < 0) {
		free(r);
		errno = -rc;
		return NULL;
	}
	return r;
}

void lpw_line_reader_free(lpw_line_reader_t *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		lpw_loop_del_fd(r->loop, r->fd);
	r->fd = -1;
	if (r->feeding) {
		r->doomed = true; /* e.g. a control client dropped while its own command runs: readable() frees */
		return;
	}
	free(r);
}
