/* Control-channel commands of the test LwM2M server: one text line in, one parsed command out. */
#ifndef LPW_TS_COMMAND_H
#define LPW_TS_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#define LPW_CMD_EP_MAX 128
#define LPW_CMD_PATH_MAX 255
#define LPW_CMD_QUERY_MAX 255
#define LPW_CMD_LINE_MAX 65536 /* longest control line; payloads ride on it */
#define LPW_CMD_BYTES_MAX (1u << 20) /* largest generated payload ("bytes N") */

typedef enum {
	LPW_CMD_READ,
	LPW_CMD_WRITE,         /* PUT: write-replace */
	LPW_CMD_WRITE_NOBLOCK, /* PUT in one message even when it exceeds the peer's size (provokes 4.13) */
	LPW_CMD_WRITE_PARTIAL, /* POST: partial update */
	LPW_CMD_EXEC,
	LPW_CMD_CREATE,
	LPW_CMD_DELETE,
	LPW_CMD_DISCOVER,
	LPW_CMD_WRITE_ATTR,
	LPW_CMD_OBSERVE,
	LPW_CMD_CANCEL,
	LPW_CMD_READ_COMPOSITE,
	LPW_CMD_LIST,
	LPW_CMD_QUIT,
} lpw_cmd_kind_t;

/* CoAP Content-Format numbers the commands use (RFC 7252 §12.3, LwM2M 1.1.1 §6.4.x). */
enum {
	LPW_CF_TEXT = 0,
	LPW_CF_LINK = 40,
	LPW_CF_OPAQUE = 42,
	LPW_CF_CBOR = 60,
	LPW_CF_SENML_JSON = 110,
	LPW_CF_SENML_CBOR = 112,
	LPW_CF_TLV = 11542,
	LPW_CF_LWM2M_JSON = 11543,
};

typedef struct {
	lpw_cmd_kind_t kind;
	char ep[LPW_CMD_EP_MAX + 1];
	char path[LPW_CMD_PATH_MAX + 1];   /* "/3/0/1"; "/" for read-composite */
	char query[LPW_CMD_QUERY_MAX + 1]; /* write-attr: "pmin=1&pmax=5" */
	int format;                        /* Content-Format of payload, -1 if none */
	int accept;                        /* Accept option, -1 if none */
	uint64_t target_id;                /* cancel: id of the observe command */
	uint8_t *payload;                  /* owned, NULL when empty; freed by lpw_command_clear */
	size_t payload_len;
} lpw_command_t;

/* FORMAT "bytes N" (write, write-noblock, write-partial, create) generates N opaque bytes, byte i being i % 251,
 * so a test can compute the same body without pasting it: lpw_command_fill_bytes() writes that pattern. */
void lpw_command_fill_bytes(uint8_t *buf, size_t len);

/* Parses one line (without its newline; borrowed). On success fills *out (which then owns its payload:
 * call lpw_command_clear) and returns 0. On bad input returns -EINVAL and writes the reason into reason;
 * -ENOMEM when the payload cannot be allocated. *out needs no clearing after a failure. */
int lpw_command_parse(const char *line, lpw_command_t *out, char *reason, size_t reason_len)
	__attribute__((warn_unused_result));

/* Frees the payload; accepts NULL and an already cleared command. */
void lpw_command_clear(lpw_command_t *cmd);

/* The command's verb as typed ("read", "write-partial", ...). */
const char *lpw_command_name(lpw_cmd_kind_t kind);

/* The verb of a line for error reports even when parsing failed: copies its first word (or "") into out. */
void lpw_command_verb(const char *line, char *out, size_t out_len);

#endif
