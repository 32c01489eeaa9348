/* The server's first message on a CoAP-over-TCP/TLS connection (RFC 8323 §5.3): it must be a valid CSM. A pure
 * checker over raw bytes, so the upstream can decide before libcoap 4.3.1 ever dispatches anything else on a
 * session that has not exchanged CSMs (DESIGN.md decision 1: that dispatch can nest a 5 s wait, or abort). */
#ifndef LPW_CSM_H
#define LPW_CSM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The largest first message we accept as a CSM. RFC 8323 sets no bound; a CSM carries a few small options. */
#define LPW_CSM_MAX 1024

/* RFC 8323 §5.1: signal codes, class 7 */
#define LPW_SIGNAL_CSM 0xe1
#define LPW_SIGNAL_ABORT 0xe5

typedef enum {
	LPW_CSM_NEED,      /* not decidable yet: wait until `need` bytes (counted from the first) are there */
	LPW_CSM_OK,        /* a valid CSM of `len` bytes */
	LPW_CSM_NOT_CSM,   /* the first message is something else (`code`): a protocol error */
	LPW_CSM_INVALID,   /* a CSM that breaks the format or carries an unknown critical option (`bad_option`) */
	LPW_CSM_TOO_LARGE, /* a CSM declared longer than the `max` we accept (`len` = its declared size) */
} lpw_csm_verdict_t;

typedef struct {
	lpw_csm_verdict_t verdict;
	size_t need;         /* LPW_CSM_NEED */
	uint64_t len;        /* LPW_CSM_OK, LPW_CSM_TOO_LARGE: the whole message, header included */
	uint8_t code;        /* the message code, once known */
	uint16_t bad_option; /* LPW_CSM_INVALID because of one option: its number (for Bad-CSM-Option), else 0 */
	const char *reason;  /* LPW_CSM_INVALID / NOT_CSM / TOO_LARGE: a static English phrase */
} lpw_csm_result_t;

/*
 * Looks at the first `len` bytes received on a connection (data borrowed, may be NULL when len is 0) and says
 * whether they start with a valid CSM, up to `max` bytes long. Never reads beyond len. RFC 8323 §3.2 framing,
 * RFC 7252 §3.1 options; in a CSM (§5.3.1) Max-Message-Size (2) is a uint of at most 4 bytes,
 * Block-Wise-Transfer (4) is empty, other even options are elective and ignored, odd ones are critical and
 * unknown: invalid. A token length above 8 is a format error (RFC 8323 §3.2 keeps RFC 7252's 0-8).
 */
lpw_csm_result_t lpw_csm_check(const uint8_t *data, size_t len, size_t max);

/*
 * Writes an Abort signal (RFC 8323 §5.6, code 7.05) into buf: with a Bad-CSM-Option option when bad_option is
 * not 0, and diag (may be NULL, truncated to fit) as its diagnostic payload. Returns the length, or -ENOSPC
 * when buf cannot hold even the empty signal.
 */
ssize_t lpw_csm_abort(uint8_t *buf, size_t cap, uint16_t bad_option, const char *diag);

/* "0.01 GET", "7.02 Ping", "2.05": a readable name for a code, in a static buffer per call site's out. */
void lpw_csm_code_name(uint8_t code, char *out, size_t cap);

#endif
