/* Event output of the test LwM2M server: one compact JSON object per line on stdout (flushed each time),
 * optionally mirrored to control-channel clients. */
#ifndef LPW_TS_EMIT_H
#define LPW_TS_EMIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Receives every emitted line (with its '\n'); line is borrowed for the call. */
typedef void (*lpw_emit_mirror_cb)(const char *line, size_t len, void *arg);

/* Sets (or with NULL clears) the one mirror. arg is borrowed and must outlive the setting. */
void lpw_emit_set_mirror(lpw_emit_mirror_cb cb, void *arg);

/* Writes obj as one line; ownership of obj passes to the call (NULL is ignored, so json_pack() results can
 * be passed directly). Returns 0, -ENOMEM if it cannot be serialised, -EIO if stdout fails. */
int lpw_emit(json_t *obj);

/* The payload as a JSON string: the text itself when it is valid UTF-8 without control characters (tab,
 * CR and LF allowed), else its lowercase hex. buf is borrowed. NULL on allocation failure. */
json_t *lpw_emit_payload(const uint8_t *buf, size_t len);

/* buf as lowercase hex in a JSON string. NULL on allocation failure. */
json_t *lpw_emit_hex(const uint8_t *buf, size_t len);

/* "2.05" for a CoAP code byte; out must hold 5 bytes. */
void lpw_emit_code(uint8_t code, char out[5]);

#endif
