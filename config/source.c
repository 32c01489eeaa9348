/* The text libconfig parses, read by us: every file opened without blocking and refused unless regular, @include
 * expanded here, the LPW_CONFIG_MAX_* limits checked before libconfig sees a byte, and a line map back to each
 * file's own lines.
 *
 * Why not libconfig's own reading (1.5, Debian 12): it fopen()s included files, so a FIFO blocks the loader (and a
 * SIGHUP reload freezes the daemon); it prefixes absolute include paths with the include directory; it has no
 * include hook (config_set_include_func is 1.7); its scanner re-reads a token from its start at every 8 KiB
 * refill of a FILE buffer (quadratic in a string's length: 54 s for 10 MB), and each new setting is compared with
 * all its siblings (quadratic in a group's size). Parsing our joined text from memory with config_read_string()
 * never refills, and the limits bound the rest.
 *
 * The lexical rules mirror libconfig 1.5's lib/scanner.l, so that @include is recognised exactly where libconfig
 * would: at the start of a line ("^[ \t]*@include[ \t]+\""), outside strings and comments. Strings are "..." with
 * \\ and \" escapes (any other backslash stands for itself); comments are #..., //... and / * ... * /. */
#include "config/config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One open container: a group (and the file's top level) counts its settings, a list or array its elements. */
typedef struct {
	char kind; /* 'g' group, 'l' list, 'a' array */
	unsigned members;
	unsigned commas;
	bool nonempty;
} level_t;

typedef struct {
	lpw_cfg_ctx_t *c;
	size_t bytes;      /* read so far, all files */
	unsigned settings; /* settings and elements so far */
	level_t stack[LPW_CONFIG_MAX_DEPTH + 1];
	unsigned depth;    /* stack[0] is the top level */
	size_t run;        /* length of the current run of adjacent string literals */
	unsigned run_file, run_line; /* where it started */
	bool in_run;
	unsigned nincl;    /* files open now (the main file is 1) */
	struct stat open_files[LPW_CONFIG_MAX_INCLUDES + 1];
} scan_t;

/* One file being scanned. */
typedef struct {
	const char *t;
	size_t len, i;
	unsigned file; /* index into src.files */
	unsigned line;
	size_t copied; /* t[0..copied) is in the joined text */
} cursor_t;

static int failf(scan_t *s, unsigned file, unsigned line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Reports a problem of the source at a file's line (0: the file as a whole) and stops the scan. */
static int failf(scan_t *s, unsigned file, unsigned line, const char *fmt, ...)
{
	char msg[PATH_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lpw_config_error_at(s->c, s->c->src.files[file], line, "%s", msg);
	return -EINVAL;
}

/* p with room for need elements (doubling: appending stays linear); NULL when out of memory (p is kept). */
static void *grow(lpw_cfg_ctx_t *c, void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *q = realloc(p, n * elem);
	if (!q) {
		c->nomem = true;
		return NULL;
	}
	*cap = n;
	return q;
}

static int append(scan_t *s, const char *p, size_t n)
{
	lpw_cfg_source_t *src = &s->c->src;
	char *text = grow(s->c, src->text, &src->cap, src->len + n + 1, 1);
	if (!text)
		return -ENOMEM;
	src->text = text;
	memcpy(src->text + src->len, p, n);
	src->len += n;
	src->text[src->len] = '\0';
	return 0;
}

/* A new segment: from here on the joined text continues with line `line` of file. */
static int segment(scan_t *s, unsigned file, unsigned line, unsigned at)
{
	lpw_cfg_source_t *src = &s->c->src;
	if (src->nsegs && src->segs[src->nsegs - 1].out_line == at)
		src->nsegs--; /* the previous one holds no line */
	lpw_cfg_seg_t *segs = grow(s->c, src->segs, &src->segcap, src->nsegs + 1, sizeof(*src->segs));
	if (!segs)
		return -ENOMEM;
	src->segs = segs;
	src->segs[src->nsegs++] = (lpw_cfg_seg_t){ at, file, line };
	return 0;
}

/* Copies t[copied..upto) to the joined text, keeping count of its lines. */
static int flush(scan_t *s, cursor_t *f, size_t upto, unsigned *lines)
{
	for (const char *p = f->t + f->copied; (p = memchr(p, '\n', (size_t)(f->t + upto - p))); p++)
		(*lines)++;
	int rc = append(s, f->t + f->copied, upto - f->copied);
	f->copied = upto;
	return rc;
}

static int scan_file(scan_t *s, const char *name, const char *path, unsigned *lines, const cursor_t *from);

/* --- reading one file --- */

static int read_all(int fd, char *buf, size_t cap, size_t *out_len)
{
	size_t n = 0;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out_len = n;
	return 0;
}

/* Why a file cannot be read, as a message: "FILE:LINE: @include "NAME": PATH is a FIFO, ..." for an included file,
 * "PATH: is a FIFO, ..." for the main one. */
static int refuse(scan_t *s, const cursor_t *from, const char *name, const char *path, const char *why,
		  const char *expect)
{
	if (!from)
		return failf(s, 0, 0, "%s; expected %s", why, expect);
	return failf(s, from->file, from->line, "@include \"%s\": %s %s; expected %s", lpw_config_show(s->c, name), path,
		     why, expect);
}

/* Opens and reads path whole: a regular file, within what is left of the byte budget. The caller frees *out.
 * from is where the @include of name is (NULL for the main file, whose open() errno is returned). */
static int load_file(scan_t *s, const cursor_t *from, const char *name, const char *path, char **out,
		     size_t *out_len)
{
	char why[128];
	struct stat st;
	int fd = lpw_config_open_regular(path, false, &st);
	if (fd == -EISDIR || fd == -ENODEV) {
		snprintf(why, sizeof(why), "is %s, not a regular file", lpw_config_file_kind(st.st_mode));
		return refuse(s, from, name, path, why, "a readable file");
	}
	if (fd < 0 && !from) {
		failf(s, 0, 0, "cannot open: %s", strerror(-fd));
		return fd;
	}
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot be opened (%s)", strerror(-fd));
		return refuse(s, from, name, path, why, "a readable file");
	}
	for (unsigned k = 0; k < s->nincl; k++)
		if (s->open_files[k].st_dev == st.st_dev && s->open_files[k].st_ino == st.st_ino) {
			close(fd);
			return refuse(s, from, name, path, "is already being read (an @include loop)", "no loop");
		}
	size_t size = (size_t)st.st_size, len = 0;
	if (size > LPW_CONFIG_MAX_BYTES - s->bytes) {
		close(fd);
		snprintf(why, sizeof(why), "makes the configuration larger than %u bytes", LPW_CONFIG_MAX_BYTES);
		return refuse(s, from, name, path, why, "at most that with everything included");
	}
	char *buf = malloc(size + 2);
	int rc = buf ? read_all(fd, buf, size + 1, &len) : -ENOMEM;
	close(fd);
	if (rc == 0 && len != size)
		rc = -EAGAIN; /* it changed while we read it, or it is no ordinary file (procfs sizes are 0) */
	if (rc == 0 && memchr(buf, '\0', len))
		rc = -EILSEQ;
	if (rc) {
		free(buf);
		if (rc == -ENOMEM) {
			s->c->nomem = true;
			return rc;
		}
		return refuse(s, from, name, path, rc == -EILSEQ ? "contains a NUL byte" : rc == -EAGAIN ?
			      "changed while it was read" : strerror(-rc), "a readable text file");
	}
	s->bytes += len;
	s->open_files[s->nincl] = st;
	*out = buf;
	*out_len = len;
	return 0;
}

/* --- the scanner --- */

static level_t *top(scan_t *s)
{
	return &s->stack[s->depth];
}

static int count_setting(scan_t *s, const cursor_t *f)
{
	if (++s->settings > LPW_CONFIG_MAX_SETTINGS)
		return failf(s, f->file, f->line, "more than %u settings; expected at most that many settings and list "
						  "elements in all", LPW_CONFIG_MAX_SETTINGS);
	return 0;
}

/* '=' or ':' names a setting of the innermost group. */
static int named_setting(scan_t *s, const cursor_t *f)
{
	if (top(s)->kind == 'g' && ++top(s)->members > LPW_CONFIG_MAX_GROUP)
		return failf(s, f->file, f->line, "more than %u settings in one group; expected at most that many",
			     LPW_CONFIG_MAX_GROUP);
	return count_setting(s, f);
}

static int open_level(scan_t *s, const cursor_t *f, char kind)
{
	top(s)->nonempty = true;
	if (s->depth == LPW_CONFIG_MAX_DEPTH)
		return failf(s, f->file, f->line, "groups, lists and arrays nested more than %u deep; expected less",
			     LPW_CONFIG_MAX_DEPTH);
	s->stack[++s->depth] = (level_t){ .kind = kind };
	return 0;
}

/* A closing bracket: a list's or array's elements are counted now (commas + 1). A mismatch is libconfig's to
 * report. */
static int close_level(scan_t *s, const cursor_t *f)
{
	if (s->depth == 0)
		return 0;
	const level_t *l = top(s);
	s->depth--;
	for (unsigned k = 0; l->kind != 'g' && k < l->commas + l->nonempty; k++)
		if (count_setting(s, f))
			return -EINVAL;
	return 0;
}

/* A string literal at t[i] == '"': its length as written joins the run of adjacent literals libconfig concatenates
 * into one value. Leaves f->i after the closing quote. */
static int string_literal(scan_t *s, cursor_t *f)
{
	unsigned first = f->line;
	size_t i = f->i + 1;
	for (;;) {
		if (i >= f->len)
			return failf(s, f->file, first, "a string starts here and is never closed; expected a closing \"");
		char ch = f->t[i];
		if (ch == '"')
			break;
		if (ch == '\n')
			f->line++;
		i += ch == '\\' && i + 1 < f->len && (f->t[i + 1] == '"' || f->t[i + 1] == '\\') ? 2 : 1;
	}
	size_t n = i - f->i - 1;
	if (!s->in_run) {
		s->run = 0;
		s->run_file = f->file;
		s->run_line = first;
	}
	s->run += n;
	s->in_run = true;
	top(s)->nonempty = true;
	f->i = i + 1;
	if (s->run > LPW_CONFIG_MAX_STRING) /* reported where it starts */
		return failf(s, s->run_file, s->run_line,
			     "a string longer than %u bytes (as written); expected at most that", LPW_CONFIG_MAX_STRING);
	return 0;
}

/* A block comment at t[i] == '/', t[i+1] == '*'. */
static int block_comment(scan_t *s, cursor_t *f)
{
	unsigned first = f->line;
	for (size_t i = f->i + 2; i + 1 < f->len; i++) {
		if (f->t[i] == '\n')
			f->line++;
		else if (f->t[i] == '*' && f->t[i + 1] == '/') {
			f->i = i + 2;
			return 0;
		}
	}
	return failf(s, f->file, first, "a /* comment starts here and is never closed; expected */");
}

static void line_comment(cursor_t *f)
{
	const char *nl = memchr(f->t + f->i, '\n', f->len - f->i);
	f->i = nl ? (size_t)(nl - f->t) : f->len;
}

/* What ends a name or a number: white space and the characters that mean something on their own. */
static const bool ends_token[256] = {
	[' '] = true, ['\t'] = true, ['\r'] = true, ['\n'] = true, ['\f'] = true, ['='] = true, [':'] = true,
	[','] = true, [';'] = true, ['{'] = true, ['}'] = true, ['('] = true, [')'] = true, ['['] = true, [']'] = true,
	['"'] = true, ['#'] = true, ['/'] = true,
};

/* Anything else: a name, a number, a boolean, or garbage for libconfig to report. */
static int token(scan_t *s, cursor_t *f)
{
	size_t start = f->i;
	while (f->i < f->len && !ends_token[(unsigned char)f->t[f->i]])
		f->i++;
	if (f->i == start)
		f->i++; /* a lone '/' */
	top(s)->nonempty = true;
	if (f->i - start > LPW_CONFIG_MAX_STRING)
		return failf(s, f->file, f->line, "a name or value longer than %u bytes; expected at most that",
			     LPW_CONFIG_MAX_STRING);
	return 0;
}

/* --- @include --- */

/* Whether t[i..] (at the start of a line) is "[ \t]*@include[ \t]+\"": then *out_name is the index after the quote. */
static bool include_at(const cursor_t *f, size_t *out_name)
{
	size_t i = f->i;
	while (i < f->len && (f->t[i] == ' ' || f->t[i] == '\t'))
		i++;
	if (f->len - i < 9 || memcmp(f->t + i, "@include", 8) != 0 || (f->t[i + 8] != ' ' && f->t[i + 8] != '\t'))
		return false;
	i += 8;
	while (i < f->len && (f->t[i] == ' ' || f->t[i] == '\t'))
		i++;
	if (i >= f->len || f->t[i] != '"')
		return false;
	*out_name = i + 1;
	return true;
}

/* The quoted file name of an @include (libconfig: \\ and \" are escapes); then only a comment may follow on the
 * line. Leaves f->i at the end of the line. */
static int include_name(scan_t *s, cursor_t *f, size_t i, char *name, size_t cap)
{
	size_t n = 0;
	for (;; i++) {
		if (i >= f->len || f->t[i] == '\n')
			return failf(s, f->file, f->line, "@include file name is not closed; expected @include \"FILE\"");
		char ch = f->t[i];
		if (ch == '"')
			break;
		if (ch == '\\' && i + 1 < f->len && (f->t[i + 1] == '\\' || f->t[i + 1] == '"'))
			ch = f->t[++i];
		else if (ch == '\\')
			return failf(s, f->file, f->line, "@include file name has a \\ that is not \\\\ or \\\"");
		if (n + 1 >= cap)
			return failf(s, f->file, f->line, "@include file name is too long; expected a path");
		name[n++] = ch;
	}
	name[n] = '\0';
	for (i++; i < f->len && (f->t[i] == ' ' || f->t[i] == '\t' || f->t[i] == '\r'); i++)
		;
	f->i = i;
	if (i < f->len && f->t[i] != '\n' && f->t[i] != '#' && !(f->t[i] == '/' && i + 1 < f->len && f->t[i + 1] == '/'))
		return failf(s, f->file, f->line, "text after @include \"%s\"; expected nothing but a comment on its line",
			     lpw_config_show(s->c, name));
	line_comment(f);
	return n ? 0 : failf(s, f->file, f->line, "@include \"\" names no file; expected @include \"FILE\"");
}

/* An @include at the start of f's current line: the named file replaces the line in the joined text. Relative
 * names start at the main file's directory (as libconfig's include directory did). */
static int include(scan_t *s, cursor_t *f, size_t name_at, unsigned *lines)
{
	char name[PATH_MAX], *path = NULL;
	if (flush(s, f, f->i, lines) || include_name(s, f, name_at, name, sizeof(name)))
		return -EINVAL;
	if (s->nincl > LPW_CONFIG_MAX_INCLUDES)
		return failf(s, f->file, f->line, "@include \"%s\" is nested more than %u deep; expected less",
			     lpw_config_show(s->c, name),
			     LPW_CONFIG_MAX_INCLUDES);
	if (asprintf(&path, name[0] == '/' ? "%s%s" : "%s/%s", name[0] == '/' ? "" : s->c->dir, name) < 0) {
		s->c->nomem = true;
		return -ENOMEM;
	}
	int rc = scan_file(s, name, path, lines, f);
	free(path);
	if (rc)
		return rc;
	/* the @include line itself (up to its newline) stays out; the file goes on at the next line */
	f->copied = f->i < f->len ? f->i + 1 : f->len;
	f->i = f->copied;
	f->line++;
	return segment(s, f->file, f->line, *lines);
}

/* Walks one file's text in libconfig's INITIAL state. */
static int scan_text(scan_t *s, cursor_t *f, unsigned *lines)
{
	bool bol = true;
	size_t name_at;
	int rc = 0;
	while (rc == 0 && f->i < f->len) {
		char ch = f->t[f->i];
		if (bol && include_at(f, &name_at)) {
			rc = include(s, f, name_at, lines);
			continue; /* include() ends at the start of the next line */
		}
		bol = ch == '\n';
		if (ch == '"') {
			rc = string_literal(s, f);
			continue;
		}
		if (ch == '/' && f->i + 1 < f->len && f->t[f->i + 1] == '*') {
			rc = block_comment(s, f);
			continue;
		}
		if (ch == '#' || (ch == '/' && f->i + 1 < f->len && f->t[f->i + 1] == '/')) {
			line_comment(f);
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\n') {
			f->line += ch == '\n';
			f->i++;
			continue;
		}
		s->in_run = false;
		if (ch == '=' || ch == ':')
			rc = named_setting(s, f);
		else if (ch == '{' || ch == '(' || ch == '[')
			rc = open_level(s, f, ch == '{' ? 'g' : ch == '(' ? 'l' : 'a');
		else if (ch == '}' || ch == ')' || ch == ']')
			rc = close_level(s, f);
		else if (ch == ',' && top(s)->kind != 'g')
			top(s)->commas++;
		else if (ch != ',' && ch != ';') {
			rc = token(s, f);
			continue;
		}
		f->i++;
	}
	return rc;
}

/* Reads path (what @include "name" names; the main file: from and name NULL) and scans it; its text goes into the
 * joined text, with a segment for each stretch. */
static int scan_file(scan_t *s, const char *name, const char *path, unsigned *lines, const cursor_t *from)
{
	lpw_cfg_source_t *src = &s->c->src;
	char *text = NULL;
	size_t len = 0;
	if (from) {
		char **files = realloc(src->files, (src->nfiles + 1) * sizeof(*files));
		if (!files || !(files[src->nfiles] = strdup(path))) {
			src->files = files ? files : src->files;
			s->c->nomem = true;
			return -ENOMEM;
		}
		src->files = files;
		src->nfiles++;
	}
	int rc = load_file(s, from, name, path, &text, &len);
	if (rc)
		return rc;
	cursor_t f = { .t = text, .len = len, .file = (unsigned)src->nfiles - 1, .line = 1 };
	s->nincl++;
	rc = segment(s, f.file, 1, *lines);
	if (rc == 0)
		rc = scan_text(s, &f, lines);
	if (rc == 0)
		rc = flush(s, &f, f.len, lines);
	/* an included file ends its last line, so that the including file goes on at a line of its own */
	if (rc == 0 && from && src->len && src->text[src->len - 1] != '\n') {
		rc = append(s, "\n", 1);
		(*lines)++;
	}
	s->nincl--;
	free(text);
	return rc;
}

int lpw_config_source_read(lpw_cfg_ctx_t *c)
{
	scan_t *s = calloc(1, sizeof(*s));
	lpw_cfg_source_t *src = &c->src;
	src->files = calloc(1, sizeof(*src->files));
	if (!s || !src->files || !(src->files[0] = strdup(c->path))) {
		free(s);
		c->nomem = true;
		return -ENOMEM;
	}
	src->nfiles = 1;
	*s = (scan_t){ .c = c, .stack = { { .kind = 'g' } } };
	unsigned lines = 1;
	int rc = scan_file(s, NULL, c->path, &lines, NULL);
	if (rc == 0 && !src->text)
		rc = append(s, "", 0);
	free(s);
	return c->nomem ? -ENOMEM : rc;
}

const char *lpw_config_source_where(const lpw_cfg_source_t *src, unsigned out_line, unsigned *out_file_line)
{
	size_t lo = 0, hi = src->nsegs;
	*out_file_line = 0;
	if (!src->nsegs || out_line == 0)
		return src->nfiles ? src->files[0] : "";
	while (hi - lo > 1) { /* the last segment that starts at or before out_line */
		size_t mid = lo + (hi - lo) / 2;
		if (src->segs[mid].out_line <= out_line)
			lo = mid;
		else
			hi = mid;
	}
	const lpw_cfg_seg_t *g = &src->segs[lo];
	*out_file_line = g->line + (out_line - g->out_line);
	return src->files[g->file];
}

void lpw_config_source_free(lpw_cfg_source_t *src)
{
	for (size_t i = 0; i < src->nfiles; i++)
		free(src->files[i]);
	free(src->files);
	free(src->segs);
	free(src->text);
	memset(src, 0, sizeof(*src));
}
