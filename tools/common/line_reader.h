/* Command lines from a file descriptor on the loop: stdin of the simulators, control clients of the test server. */
#ifndef LPW_TOOL_LINE_READER_H
#define LPW_TOOL_LINE_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/loop.h"

typedef struct lpw_line_reader lpw_line_reader_t;

/* One complete line without its newline and without a trailing '\r' (borrowed for the call). too_long: the line
 * had more than max_line characters and was discarded up to its newline; line is then "". May free the reader
 * (no further line is delivered then). */
typedef void (*lpw_line_reader_line_cb)(const char *line, bool too_long, void *arg);
/* End of input or a read error: the fd is no longer watched (it is not closed). May free the reader. */
typedef void (*lpw_line_reader_eof_cb)(void *arg);

/* Watches fd (borrowed: the caller closes it after freeing the reader) on loop (borrowed, must outlive the
 * reader) and calls on_line for every line of at most max_line characters; on_eof (may be NULL) once at the end.
 * arg is borrowed. NULL with errno set on failure: ENOMEM, or what lpw_loop_add_fd refused (EPERM: epoll cannot
 * watch this fd, e.g. a regular file). */
lpw_line_reader_t *lpw_line_reader_new(lpw_loop_t *loop, int fd, size_t max_line, lpw_line_reader_line_cb on_line,
                                       lpw_line_reader_eof_cb on_eof, void *arg);
/* Stops watching the fd (if still watched) and frees the reader; accepts NULL. */
void lpw_line_reader_free(lpw_line_reader_t *r);

#endif
