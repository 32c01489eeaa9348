/* Internals shared by the configuration module's files (config.c, schema.c, values.c, diff.c) and its tests. */
#ifndef LPW_CONFIG_INTERNAL_H
#define LPW_CONFIG_INTERNAL_H

#include "config/config.h"

#include <libconfig.h>
#include <sys/stat.h>
#include <sys/types.h>

/* A run of lines of the joined text (source.c) that come from one file: line out_line of the joined text is line
 * `line` of files[file], and so on until the next segment. */
typedef struct {
	unsigned out_line;
	unsigned file;
	unsigned line;
} lpw_cfg_seg_t;

/* The text libconfig parses: the file with every @include expanded, and the way back to each file's lines. */
typedef struct {
	char *text; /* NUL-terminated, no NUL inside */
	size_t len, cap;
	char **files; /* [0] the file as the caller named it, then each included file as opened */
	size_t nfiles;
	lpw_cfg_seg_t *segs; /* ascending out_line */
	size_t nsegs, segcap;
} lpw_cfg_source_t;

/* One load in progress: where errors go and how many there were. */
typedef struct {
	const char *path; /* the file as the caller named it; borrowed */
	char *dir;        /* its directory, absolute: relative paths and @include start here */
	lpw_config_t *cfg;
	FILE *errors;     /* borrowed, may be NULL */
	unsigned nerrors; /* errors found; only the first LPW_CONFIG_MAX_ERRORS are written */
	bool nomem;
	lpw_cfg_source_t src;
	char show[160];   /* lpw_config_show()'s buffer */
} lpw_cfg_ctx_t;

typedef enum { T_BOOL, T_INT, T_STR, T_CHOICE, T_GROUP, T_OPAQUE_GROUP, T_LIST, T_STR_ARRAY } lpw_cfg_type_t;
/* How the value is stored at base + off: drives defaults, free and diff. */
typedef enum { S_NONE, S_BOOL, S_U16, S_U32, S_INT, S_STR } lpw_cfg_store_t;

#define F_REQUIRED 0x01u
#define F_RESTART 0x02u  /* a change needs a restart (applies to a group's children too) */
#define F_RELATIVE 0x04u /* a path: resolved against the config file's directory */
#define F_FILE 0x08u     /* a path to a file that must be a readable regular file */
#define F_SECRET 0x10u   /* a file holding a secret: refused when group- or world-accessible */
#define F_HIDE 0x20u     /* never print the value (diff) */

typedef struct lpw_cfg_key lpw_cfg_key_t;

/* Validates a value and stores it at dst itself. text is the string (resolved path for F_FILE/F_RELATIVE),
 * NULL for lists, arrays and group post-checks. Returns 0, or -EINVAL after reporting the problem. */
typedef int (*lpw_cfg_check_fn)(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *text, void *dst);

/* One row of the schema: everything about a key lives here. */
struct lpw_cfg_key {
	const char *name;
	lpw_cfg_type_t type;
	lpw_cfg_store_t store;
	size_t off;
	long long min, max;          /* T_INT: range; T_STR: length in bytes (max 0 = unchecked); arrays: count */
	const char *def;             /* default as it would be written in the file; NULL = none */
	unsigned flags;
	const char *const *choices;  /* T_CHOICE: NULL-terminated; stored value = min + index */
	lpw_cfg_check_fn check;      /* strings, arrays, lists: validate and store; groups: post-check */
	const lpw_cfg_key_t *sub;    /* T_GROUP: its keys (offsets from the same base) */
	const char *expect;          /* what a valid value looks like; NULL = derived from type and range */
	const char *help;
};

extern const lpw_cfg_key_t lpw_config_top_keys[];
extern const char *const lpw_config_binding_names[];
/* schema.c: frees the servers and devices arrays (the generic walk frees the scalar strings). */
void lpw_config_free_lists(lpw_config_t *config);

/* config.c: the generic walker and error reporting. */
void lpw_config_error(lpw_cfg_ctx_t *c, const config_setting_t *s, const char *child, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* An error at a file and line of the source itself (line 0: the file as a whole). file is borrowed. */
void lpw_config_error_at(lpw_cfg_ctx_t *c, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* text as it may be echoed in a message: bytes outside printable ASCII as \xHH, cut to about 100 bytes with
 * "..."; valid until the next call. */
const char *lpw_config_show(lpw_cfg_ctx_t *c, const char *text);
void lpw_config_parse_group(lpw_cfg_ctx_t *c, const config_setting_t *group, const lpw_cfg_key_t *keys, void *base);
void lpw_config_apply_defaults(lpw_cfg_ctx_t *c, const lpw_cfg_key_t *keys, void *base);
void lpw_config_free_keys(const lpw_cfg_key_t *keys, void *base);
char *lpw_config_strdup(lpw_cfg_ctx_t *c, const char *s);
/* Where s was written: the file as the user can open it (included files resolved against the config's
 * directory) and its line there (0 if unknown). */
const char *lpw_config_where(const lpw_cfg_ctx_t *c, const config_setting_t *s, unsigned *out_line);

/* Builds the sorted views lpw_config_find_server() / _device() search: after the servers, after the devices. */
void lpw_config_index_servers(lpw_cfg_ctx_t *c);
void lpw_config_index_devices(lpw_cfg_ctx_t *c);

/* source.c: reads c->path and what it includes into c->src (limits checked, errors reported). 0, or the main
 * file's open() errno, or -EINVAL / -ENOMEM. */
int lpw_config_source_read(lpw_cfg_ctx_t *c);
/* The file and line a line of the joined text came from. */
const char *lpw_config_source_where(const lpw_cfg_source_t *src, unsigned out_line, unsigned *out_file_line);
void lpw_config_source_free(lpw_cfg_source_t *src);
const char *lpw_config_type_name(int libconfig_type); /* "an integer", "a group", ... */

/* values.c: pure validators. Each returns 0, or -EINVAL with *why set to a static reason. */
int lpw_config_check_name(const char *text, const char **why);
int lpw_config_check_host(const char *text, const char **why);
int lpw_config_parse_uri(const char *uri, bool *out_secure, char *out_host, size_t host_cap, uint16_t *out_port,
			 const char **why);
int lpw_config_norm_ip(const char *text, char *out, size_t cap, const char **why);
int lpw_config_norm_msisdn(const char *text, char *out, size_t cap, const char **why);
int lpw_config_norm_dev_eui(const char *text, char *out, size_t cap, const char **why);
int lpw_config_check_external_id(const char *text, const char **why);
int lpw_config_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *out_len, const char **why);
/* Text that libmosquitto, jansson and a TLS stack all take: UTF-8 (RFC 3629: no overlong forms, surrogates or code
 * points above U+10FFFF) without control characters (U+0000..U+001F, U+007F..U+009F) or non-characters
 * (U+FDD0..U+FDEF, U+xxFFFE, U+xxFFFF), the rules MQTT 3.1.1 §1.5.3 and libmosquitto's mosquitto_validate_utf8()
 * apply. 0, or -EINVAL with *why set and *out_offset at the first bad byte. */
int lpw_config_check_text(const char *text, size_t len, const char **why, size_t *out_offset);
/* Opens path read-only, never blocking (O_NONBLOCK, no controlling tty) and refuses anything but a regular file
 * (-EISDIR for a directory, -ENODEV otherwise); if secret, one accessible by group or others gives -EPERM with
 * *out_mode set. Returns the open descriptor (the caller closes it) or a negative errno. *out_st is filled. */
int lpw_config_open_regular(const char *path, bool secret, struct stat *out_st);
/* The same check, the descriptor closed again: 0 or the negative errno; *out_mode (if not NULL) is st_mode. */
int lpw_config_check_file(const char *path, bool secret, mode_t *out_mode);
/* Reads a small file (a key or password) into buf (NUL-terminated, trailing whitespace cut). -EFBIG if larger;
 * a file that is not regular is refused like lpw_config_open_regular() does. */
int lpw_config_read_small(const char *path, char *buf, size_t cap);
/* "a FIFO", "a directory", "a character device", ...: what kind of file mode describes. Static storage. */
const char *lpw_config_file_kind(mode_t mode);

#endif
