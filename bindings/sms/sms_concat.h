/* Concatenated SMS (TS 23.040 §9.2.3.24.1): splitting a message longer than one SMS into parts, and reassembling
 * parts received in any order, with bounds on parts per message, on incomplete chains per sender and on memory,
 * and a timeout per incomplete chain on the loop's clock. */
#ifndef LPW_SMS_CONCAT_H
#define LPW_SMS_CONCAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bindings/sms/sms_pdu.h"
#include "core/loop.h"

#define LPW_SMS_CONCAT_MAX_PARTS 255
#define LPW_SMS_SENDER_MAX 20 /* longest sender key (an MSISDN: at most 20 digits) */

/* --- splitting (stateless) --- */

/* Bytes that up to max_parts SMS carry: 140 in one, else max_parts * (140 - the header: 6 octets with an 8-bit
 * reference, 7 with a 16-bit one). 0 for max_parts 0. This is the binding's southbound size. */
size_t lpw_sms_concat_capacity(unsigned max_parts, bool ref16);

/* How many SMS len bytes need (1 for 0..140 bytes), or 0 when that is more than max_parts. */
unsigned lpw_sms_concat_count(size_t len, unsigned max_parts, bool ref16);

/* Part seq (1..nparts) of data (len bytes, borrowed) into inout->ud and inout->concat (a single part gets no
 * concatenation element); the rest of *inout (addresses, DCS, ...) is the caller's template, encoded as is.
 * nparts is what lpw_sms_concat_count said; ref the same for every part of one message. -EINVAL for a seq out of
 * range, a len nparts cannot carry, a template with other header elements, or a ref above 255 without ref16. */
int lpw_sms_concat_part(const uint8_t *data, size_t len, unsigned nparts, unsigned seq, uint16_t ref, bool ref16,
			lpw_sms_t *inout) __attribute__((warn_unused_result));

/* --- reassembly --- */

typedef struct lpw_sms_concat lpw_sms_concat_t;

typedef enum {
	LPW_SMS_CONCAT_TIMEOUT, /* not complete within timeout_ms of its first part */
	LPW_SMS_CONCAT_EVICTED, /* the sender started more than max_chains chains: its oldest made room */
	LPW_SMS_CONCAT_FORGOTTEN, /* lpw_sms_concat_forget */
} lpw_sms_concat_drop_t;

typedef struct {
	unsigned max_parts;  /* 1..255: a part announcing more is refused (-EMSGSIZE) */
	unsigned max_chains; /* incomplete chains per sender, >= 1 */
	/* All incomplete chains together. A chain takes its whole room (total * 142 octets and a little more) when its
	 * first part arrives, so a chain that got in always has room for the rest. */
	size_t max_bytes;
	uint32_t timeout_ms; /* from a chain's first part */
	uint16_t first_ref;  /* where lpw_sms_concat_next_ref starts (e.g. from the wall clock, so restarts differ) */
	/* A whole message: a single SMS, or every part of a chain in order. sender and data are borrowed for the
	 * call. May call any function of this module except lpw_sms_concat_free. */
	void (*complete)(void *arg, const char *sender, const uint8_t *data, size_t len);
	/* An incomplete chain was dropped (have of total parts had arrived). sender borrowed. May be NULL. Called
	 * when the module is consistent again (for an eviction: after the new part was stored); may call any function
	 * of this module except lpw_sms_concat_free. */
	void (*dropped)(void *arg, const char *sender, lpw_sms_concat_drop_t why, unsigned have, unsigned total);
	void *arg; /* borrowed */
} lpw_sms_concat_config_t;

/* Monotonic counters and two gauges. */
typedef struct {
	uint64_t messages;     /* complete messages handed on (single SMS included) */
	uint64_t parts;        /* parts accepted into chains */
	uint64_t duplicates;   /* parts already held: ignored */
	uint64_t refused;      /* parts refused: too many parts, no memory, bad numbering */
	uint64_t timeouts, evicted;
	size_t chains;         /* gauge: incomplete chains held */
	size_t bytes;          /* gauge: memory they take */
} lpw_sms_concat_stats_t;

/* loop: borrowed, must outlive the reassembler (its timers run on the loop's clock). cfg copied. NULL on
 * allocation failure or a zero max_parts / max_chains. */
lpw_sms_concat_t *lpw_sms_concat_new(lpw_loop_t *loop, const lpw_sms_concat_config_t *cfg);
/* Drops every chain without calling hooks. Accepts NULL. */
void lpw_sms_concat_free(lpw_sms_concat_t *c);

/* One received SMS: its sender (the key chains are kept under, e.g. the MSISDN; borrowed, 1..20 characters), its
 * concatenation element (NULL or !present: a message of its own) and its user data (len <= 140, borrowed).
 * A message of its own, and the part that completes a chain, reach the complete hook before this returns.
 * Returns 0 (delivered, or kept waiting for the other parts), or:
 *   -EALREADY  a duplicate of a part already held: ignored;
 *   -EMSGSIZE  the chain would have more than max_parts parts: refused;
 *   -ENOBUFS   the part would start a new chain and there is no room for it under max_bytes: refused (the later
 *              parts of that message are refused too while room is short; if room comes back in between, the
 *              chain they start lacks its first parts and times out);
 *   -EINVAL    a sender or part number that is out of range, len above 140;
 *   -ENOMEM. */
int lpw_sms_concat_input(lpw_sms_concat_t *c, const char *sender, const lpw_sms_concat_info_t *info,
			 const uint8_t *data, size_t len);

/* Drops the sender's incomplete chains (dropped hook, reason FORGOTTEN): a device removed from the configuration. */
void lpw_sms_concat_forget(lpw_sms_concat_t *c, const char *sender);

/* The reference for the next message we split: 0..255 counting up (or 0..65535 with ref16), wrapping. */
uint16_t lpw_sms_concat_next_ref(lpw_sms_concat_t *c, bool ref16);

void lpw_sms_concat_get_stats(const lpw_sms_concat_t *c, lpw_sms_concat_stats_t *out);

#endif
