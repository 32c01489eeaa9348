/* Internals shared by the configuration module's files (config.c, schema.c, values.c, diff.c) and its tests. */
#ifndef LPW_CONFIG_INTERNAL_H
#define LPW_CONFIG_INTERNAL_H

#include "config/config.h"

#include <libconfig.h>
#include <sys/types.h>

/* One load in progress: where errors go and how many there were. */
typedef struct {
	const char *path; /* the file as the caller named it; borrowed */
	char *dir;        /* its directory, absolute: relative paths and @include start here */
	lpw_config_t *cfg;
	FILE *errors;     /* borrowed, may be NULL */
	unsigned nerrors;
	bool nomem;
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
void lpw_config_parse_group(lpw_cfg_ctx_t *c, const config_setting_t *group, const lpw_cfg_key_t *keys, void *base);
void lpw_config_apply_defaults(lpw_cfg_ctx_t *c, const lpw_cfg_key_t *keys, void *base);
void lpw_config_free_keys(const lpw_cfg_key_t *keys, void *base);
char *lpw_config_strdup(lpw_cfg_ctx_t *c, const char *s);
/* The file s came from, as the user can open it (included files resolved against the config's directory). */
const char *lpw_config_file_of(const lpw_cfg_ctx_t *c, const config_setting_t *s, char *buf, size_t cap);
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
/* Opens path read-only without blocking or following into devices; 0 if a readable regular file (and, if secret,
 * not accessible by group or others: -EPERM with *out_mode set). Negative errno otherwise. */
int lpw_config_check_file(const char *path, bool secret, mode_t *out_mode);
/* Reads a small file (a key or password) into buf (NUL-terminated, trailing whitespace cut). -EFBIG if larger. */
int lpw_config_read_small(const char *path, char *buf, size_t cap);

#endif
