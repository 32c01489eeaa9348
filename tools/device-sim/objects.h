/* device-sim object model: LwM2M objects 0, 1, 3, 5 and 3303 with text/plain, SenML JSON, opaque and link-format. */
#ifndef LPW_DEVSIM_OBJECTS_H
#define LPW_DEVSIM_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Content formats (IANA CoAP registry, LwM2M 1.1 §7 of the core spec) */
#define LPW_CF_TEXT 0
#define LPW_CF_LINK 40
#define LPW_CF_OPAQUE 42
#define LPW_CF_SENML_JSON 110

typedef struct lpw_devsim_objects lpw_devsim_objects_t;

/* /O/I/R/RI: depth 0 is "/", 1 an object, 2 an instance, 3 a resource, 4 a resource instance. */
typedef struct {
	uint16_t id[4];
	int depth;
} lpw_devsim_path_t;

/* Parses "/3/0/13" (a trailing '/' is allowed). -EINVAL for anything that is not up to 4 decimal ids <= 65535. */
int lpw_devsim_path_parse(const char *s, lpw_devsim_path_t *out);
/* "/3/0/13", or "/" for depth 0, into buf. Returns buf. */
const char *lpw_devsim_path_format(const lpw_devsim_path_t *p, char *buf, size_t cap);
/* True when p equals prefix or lies below it. */
bool lpw_devsim_path_within(const lpw_devsim_path_t *p, const lpw_devsim_path_t *prefix);

typedef struct {
	const char *endpoint;   /* copied: /3/0/2 serial number */
	const char *server_uri; /* copied: /0/0/0 */
	const char *binding;    /* copied: /1/0/7 and /3/0/16 */
	uint32_t lifetime_s;    /* /1/0/1 */
	bool firmware;          /* also object 5 (Firmware Update), whose /5/0/0 Package takes opaque writes */
} lpw_devsim_objects_config_t;

/* Called for every resource a write changes; path and value are borrowed for the call. */
typedef void (*lpw_devsim_write_cb)(void *arg, const char *path, const char *value);

/* NULL on allocation failure. */
lpw_devsim_objects_t *lpw_devsim_objects_new(const lpw_devsim_objects_config_t *cfg);
void lpw_devsim_objects_free(lpw_devsim_objects_t *o);

/*
 * Reads p into buf (cap bytes). accept: -1 for the default (text/plain for a resource, SenML JSON above), else
 * LPW_CF_TEXT or LPW_CF_SENML_JSON. Sets *out_len and *out_cf. Reading /3303/x/5700 moves the simulated
 * temperature. Errors: -ENOENT no such path, -EPERM not readable (root, an executable resource, object 0 is
 * readable), -ENOTSUP the format cannot carry it (text/plain above resource level), -ENOSPC buf too small.
 */
int lpw_devsim_objects_read(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, int accept, uint8_t *buf, size_t cap,
                            size_t *out_len, uint16_t *out_cf);

/*
 * Writes data (borrowed) of format cf to p: text/plain to one resource, SenML JSON to resources at or below p,
 * application/octet-stream (LPW_CF_OPAQUE) to an opaque resource (cb then sees the first bytes in hex).
 * cb (may be NULL) sees each changed resource. Errors: -ENOENT, -EPERM (read-only resource, or an object-level
 * path), -EINVAL malformed payload or wrong value type, -ENOTSUP other formats. Nothing is written on error.
 */
int lpw_devsim_objects_write(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, int cf, const uint8_t *data,
                             size_t len, lpw_devsim_write_cb cb, void *arg);

/* Read-Composite (LwM2M 1.1.1 §6.4.x: FETCH with a SenML JSON list of {"n":path} records, cf 110; req borrowed):
 * the SenML JSON of every path, one after the other, each starting with its own "bn". -ENOTSUP other formats,
 * -EINVAL malformed request, -ENOENT a path that does not exist, -EPERM an unreadable one, -ENOSPC buf too small. */
int lpw_devsim_objects_read_composite(lpw_devsim_objects_t *o, int cf, const uint8_t *req, size_t req_len,
                                      uint8_t *buf, size_t cap, size_t *out_len);

/* Write-Composite (iPATCH with SenML JSON records naming full resource paths; data borrowed): all or nothing,
 * errors as lpw_devsim_objects_write. */
int lpw_devsim_objects_write_composite(lpw_devsim_objects_t *o, int cf, const uint8_t *data, size_t len,
                                       lpw_devsim_write_cb cb, void *arg);

/* What the last application/octet-stream write left in the opaque resource p (/5/0/0): its size and SHA-256.
 * -ENOENT, -EINVAL when p is not an opaque resource. */
int lpw_devsim_objects_opaque(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, size_t *out_size,
                              uint8_t out_sha256[32]);

/* Executes a resource: 0, -ENOENT, -EPERM when it is not executable. */
int lpw_devsim_objects_execute(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p);

/* Creates an instance of object p->id[0] (only 3303 allows it); *out_iid gets its id. -EPERM, -ENOENT, -ENOSPC. */
int lpw_devsim_objects_create(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, uint16_t *out_iid);

/* Deletes instance p (only of 3303). -ENOENT, -EPERM. */
int lpw_devsim_objects_delete(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p);

/* Discover: link-format of p and what lies below it. -ENOENT, -EPERM (root), -ENOSPC. */
int lpw_devsim_objects_discover(lpw_devsim_objects_t *o, const lpw_devsim_path_t *p, char *buf, size_t cap,
                                size_t *out_len);

/* The Register/Update payload: </>;rt="oma.lwm2m";ct=110 and every instance but object 0's. -ENOSPC. */
int lpw_devsim_objects_links(const lpw_devsim_objects_t *o, char *buf, size_t cap, size_t *out_len);

/* Current /1/0/1 lifetime in seconds. */
uint32_t lpw_devsim_objects_lifetime(const lpw_devsim_objects_t *o);

#endif
