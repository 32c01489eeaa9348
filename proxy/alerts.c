/* TLS alert classification (LwM2M 1.1.1 Transport table 5.2.9-1) and reconnect back-off. */
#include "proxy/alerts.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
	uint8_t value;
	const char *name;
	lpw_alert_action_t action;
} alert_row_t;

/*
 * Table 5.2.9-1 row by row. Rows marked there "Ignore*" ("should never occur in a proper TLS / DTLS
 * implementation": 30, 41, 60, 110) still ended our handshake, so we must do something: they are Retry here,
 * because they say nothing about our credentials and the back-off plus the caller's attempt limit bound the cost.
 * The spec table lists "86 internal_error RFC 7507"; 86 is RFC 7507's inappropriate_fallback, internal_error
 * is 80 (RFC 5246). Both are Retry: the row's number and its named alert agree on the action.
 * Rows below the table's end marked "extension" are TLS 1.3 (RFC 8446) alerts the table predates.
 */
static const alert_row_t rows[] = {
	{ 0, "close_notify", LPW_ALERT_RETRY },
	{ 10, "unexpected_message", LPW_ALERT_RETRY },
	{ 20, "bad_record_mac", LPW_ALERT_RETRY },
	{ 21, "decryption_failed", LPW_ALERT_RETRY },
	{ 22, "record_overflow", LPW_ALERT_RETRY },
	{ 30, "decompression_failure", LPW_ALERT_RETRY }, /* Ignore* */
	{ 40, "handshake_failure", LPW_ALERT_RETRY },
	{ 41, "no_certificate", LPW_ALERT_RETRY }, /* Ignore* (RESERVED) */
	{ 42, "bad_certificate", LPW_ALERT_FAIL },
	{ 43, "unsupported_certificate", LPW_ALERT_FAIL },
	{ 44, "certificate_revoked", LPW_ALERT_FAIL },
	{ 45, "certificate_expired", LPW_ALERT_FAIL },
	{ 46, "certificate_unknown", LPW_ALERT_FAIL },
	{ 47, "illegal_parameter", LPW_ALERT_RETRY },
	{ 48, "unknown_ca", LPW_ALERT_FAIL },
	{ 49, "access_denied", LPW_ALERT_FAIL },
	{ 50, "decode_error", LPW_ALERT_RETRY },
	{ 51, "decrypt_error", LPW_ALERT_RETRY },
	{ 60, "export_restriction", LPW_ALERT_RETRY }, /* Ignore* (RESERVED) */
	{ 70, "protocol_version", LPW_ALERT_RETRY },
	{ 71, "insufficient_security", LPW_ALERT_RETRY },
	{ 80, "internal_error", LPW_ALERT_RETRY }, /* the table's internal_error row, see above */
	{ 86, "inappropriate_fallback", LPW_ALERT_RETRY },
	{ 90, "user_canceled", LPW_ALERT_RETRY },
	{ 100, "no_renegotiation", LPW_ALERT_RETRY },
	{ 109, "missing_extension", LPW_ALERT_RETRY }, /* extension: a protocol mismatch like decode_error */
	{ 110, "unsupported_extension", LPW_ALERT_RETRY }, /* Ignore */
	{ 111, "certificate_unobtainable", LPW_ALERT_RETRY },
	{ 112, "unrecognized_name", LPW_ALERT_FAIL },
	{ 113, "bad_certificate_status_response", LPW_ALERT_FAIL },
	{ 114, "bad_certificate_hash_value", LPW_ALERT_FAIL },
	{ 115, "unknown_psk_identity", LPW_ALERT_FAIL },
	/* extension: the server wants a client certificate we did not present: only new credentials help,
	 * exactly like bad_certificate. */
	{ 116, "certificate_required", LPW_ALERT_FAIL },
	{ 120, "no_application_protocol", LPW_ALERT_RETRY }, /* extension: unknown to the table, see below */
};

static const alert_row_t *lookup(uint8_t description)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].value == description)
			return &rows[i];
	return NULL;
}

lpw_alert_action_t lpw_alert_classify(uint8_t description)
{
	const alert_row_t *row = lookup(description);

	/*
	 * Alerts the table does not know: Retry. "Fail" in §5.2.9 means the client "cannot by itself recover", a
	 * claim the spec makes only for the listed alerts; for the rest the paragraph after the table applies
	 * (exponential back-off, an attempt limit, then fall back). A wrong Fail leaves a device offline until an
	 * operator acts; a wrong Retry costs a few back-off-spaced handshakes.
	 */
	return row ? row->action : LPW_ALERT_RETRY;
}

const char *lpw_alert_name(uint8_t description)
{
	const alert_row_t *row = lookup(description);

	return row ? row->name : "unknown";
}

int64_t lpw_backoff_next_ms(uint32_t attempt, int64_t min_ms, int64_t max_ms, uint32_t random)
{
	int64_t cap, low;
	uint64_t span;

	if (min_ms < 0)
		min_ms = 0;
	if (max_ms < min_ms)
		max_ms = min_ms;
	/* Growth needs a non-zero base; with it the loop ends after at most 63 doublings. */
	cap = min_ms > 0 ? min_ms : 1;
	/* Double until max_ms is reached, never computing a value above it (no overflow). */
	for (uint32_t i = 0; i < attempt && cap < max_ms; i++)
		cap = (cap > max_ms / 2) ? max_ms : cap * 2;
	if (cap > max_ms)
		cap = max_ms;
	if (cap == 0)
		return 0;
	low = cap / 2;
	if (low < min_ms)
		low = min_ms;
	span = (uint64_t)(cap - low) + 1;
	return low + (int64_t)((uint64_t)random % span);
}
