/* lpwagw-ctl: sends one command to the daemon's control socket and prints the answer; the exit code is the
 * daemon's (LPW_CTL_* in gateway/ctl_proto.h, documented in lpwagw-ctl(8)). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "gateway/ctl_proto.h"

#define DEFAULT_SOCKET "/run/lpwagw/control.sock"
#define TIMEOUT_S 30 /* a reload of a large configuration takes a while; a stuck daemon does not hold us forever */

static void usage(FILE *f)
{
	fprintf(f, "usage: lpwagw-ctl [-s SOCKET] [--json] COMMAND [DEVICE]\n"
	           "commands: status, devices, device ID, queue ID, flush ID, reset-session ID, reload\n"
	           "  -s, --socket PATH  the daemon's control socket (default " DEFAULT_SOCKET ")\n"
	           "  -j, --json         answer as JSON, for scripts\n"
	           "exit codes: 0 ok, 1 failed, 2 usage, 3 no such device, 4 not supported for the device,\n"
	           "            5 daemon unreachable or permission denied\n");
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "lpwagw-ctl: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = TIMEOUT_S};
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "lpwagw-ctl: cannot connect to %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads the header line "ok N" / "err C N" byte by byte (it is short), then N bytes of body to out. */
static int read_answer(int fd, FILE *body_out, FILE *err_out)
{
	char head[64];
	size_t len = 0;
	while (len < sizeof(head) - 1) {
		ssize_t n = recv(fd, head + len, 1, 0);
		if (n <= 0)
			return -1;
		if (head[len] == '\n')
			break;
		len++;
	}
	head[len] = '\0';
	int code = 0;
	size_t blen = 0;
	if (sscanf(head, "ok %zu", &blen) == 1)
		code = LPW_CTL_OK;
	else if (sscanf(head, "err %d %zu", &code, &blen) != 2 || code <= 0 || code > 255)
		return -1;
	FILE *out = code == LPW_CTL_OK ? body_out : err_out;
	char buf[4096];
	while (blen) {
		ssize_t n = recv(fd, buf, blen < sizeof(buf) ? blen : sizeof(buf), 0);
		if (n <= 0)
			return -1;
		fwrite(buf, 1, (size_t)n, out);
		blen -= (size_t)n;
	}
	return code;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"socket", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
	                                     {"help", no_argument, NULL, 'h'}, {0}};
	const char *path = getenv("LPWAGW_CTL_SOCKET") ? getenv("LPWAGW_CTL_SOCKET") : DEFAULT_SOCKET;
	int json = 0, c;
	while ((c = getopt_long(argc, argv, "s:jh", opts, NULL)) != -1) {
		if (c == 's')
			path = optarg;
		else if (c == 'j')
			json = 1;
		else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : LPW_CTL_USAGE;
		}
	}
	lpw_ctl_verb_t verb;
	if (optind >= argc || lpw_ctl_verb_find(argv[optind], &verb) < 0 ||
	    argc - optind != (lpw_ctl_verb_takes_id(verb) ? 2 : 1)) {
		usage(stderr);
		return LPW_CTL_USAGE;
	}
	char line[LPW_CTL_LINE_MAX + 2];
	int n = snprintf(line, sizeof(line), "%s %s%s%s\n", json ? "json" : "text", argv[optind],
	                 argc - optind == 2 ? " " : "", argc - optind == 2 ? argv[optind + 1] : "");
	lpw_ctl_cmd_t cmd;
	const char *why;
	if (n < 0 || (size_t)n >= sizeof(line) || lpw_ctl_parse(line, (size_t)n - 1, &cmd, &why) < 0) {
		fprintf(stderr, "lpwagw-ctl: %s\n", n > 0 && (size_t)n < sizeof(line) ? why : "command too long");
		return LPW_CTL_USAGE;
	}
	int fd = connect_to(path);
	if (fd < 0)
		return LPW_CTL_UNREACHABLE;
	int code = send_all(fd, line, (size_t)n) < 0 ? -1 : read_answer(fd, stdout, stderr);
	close(fd);
	if (code < 0) {
		fprintf(stderr, "lpwagw-ctl: no valid answer from %s\n", path);
		return LPW_CTL_UNREACHABLE;
	}
	return code;
}
