/* T8 NIDD messages as JSON (jansson): the subset of 3GPP TS 29.122 the SCEF binding uses, both ways.
 *
 * We follow Release 17: TS 29.122 V17.7.0, OpenAPI "3gpp-nidd" 1.2.1 (TS29122_NIDD.yaml, TS29122_CommonData.yaml,
 * as copied from 5GC_APIs Rel-17 into the project's shared specs). Field names below are the yaml's.
 *
 * Decoders are for outside input: they tolerate unknown fields and enum values this release does not define (kept
 * as text, classified as LPW_T8_*_OTHER), and reject, with a reason and the HTTP status a server answers:
 *  - 400: not JSON, not an object, a duplicated member, nesting deeper than LPW_T8_JSON_DEPTH_MAX (checked before
 *    jansson parses: jansson 2.14 itself only stops at JSON_PARSER_MAX_DEPTH, 2048), a member of the wrong type, a
 *    required member missing, a string longer than we keep, bad base64, a bad date-time;
 *  - 413: base64 data that decodes to more than the caller's bound.
 * Unknown configuration ids are the caller's to judge (404): see lpw_t8_link_id().
 * Every function here is pure (no I/O, no globals besides jansson's hash seed) and may be called from anywhere. */
#ifndef LPW_T8_JSON_H
#define LPW_T8_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LPW_T8_LINK_MAX 512     /* a Link/Uri we keep, NUL included; a longer one is refused (400) */
#define LPW_T8_IDENT_MAX 128    /* msisdn, externalId (TS 23.003 / TS 23.682 ids are far shorter) */
#define LPW_T8_ENUM_MAX 48      /* an enum value as received (unknown values are kept for logs) */
#define LPW_T8_TEXT_MAX 256     /* ProblemDetails title/detail/cause/type as kept (longer ones are cut) */
#define LPW_T8_JSON_DEPTH_MAX 16 /* our messages nest 3 deep; anything near this is hostile */
#define LPW_T8_DATA_MAX 32768   /* seed 001 App. D.4: the NAS user data container carries at most 32768 bytes */

/* Why a body was refused: status is the HTTP status to answer (400, 413; 500 when memory ran out). */
typedef struct {
	unsigned status;
	char text[160];
} lpw_t8_err_t;

/* DeliveryStatus (TS29122_NIDD.yaml), in the yaml's order. */
typedef enum {
	LPW_T8_DS_ABSENT, /* not in the message */
	LPW_T8_DS_SUCCESS,
	LPW_T8_DS_SUCCESS_NEXT_HOP_ACKNOWLEDGED,
	LPW_T8_DS_SUCCESS_NEXT_HOP_UNACKNOWLEDGED,
	LPW_T8_DS_SUCCESS_ACKNOWLEDGED,
	LPW_T8_DS_SUCCESS_UNACKNOWLEDGED,
	LPW_T8_DS_TRIGGERED,
	LPW_T8_DS_BUFFERING,
	LPW_T8_DS_BUFFERING_TEMPORARILY_NOT_REACHABLE,
	LPW_T8_DS_SENDING,
	LPW_T8_DS_FAILURE,
	LPW_T8_DS_FAILURE_RDS_DISABLED,
	LPW_T8_DS_FAILURE_NEXT_HOP,
	LPW_T8_DS_FAILURE_TIMEOUT,
	LPW_T8_DS_FAILURE_TEMPORARILY_NOT_REACHABLE,
	LPW_T8_DS_OTHER, /* a value this release does not define (the yaml allows them: "forward-compatibility") */
} lpw_t8_delivery_status_t;

/* What a delivery status means for the message. */
typedef enum {
	LPW_T8_DC_NONE,      /* absent */
	LPW_T8_DC_DELIVERED, /* SUCCESS* */
	LPW_T8_DC_PENDING,   /* TRIGGERED, BUFFERING*, SENDING: the network holds it, a final status follows */
	LPW_T8_DC_TEMPORARY, /* FAILURE_TEMPORARILY_NOT_REACHABLE: not delivered, not held; may be sent again later */
	LPW_T8_DC_FAILED,    /* every other FAILURE* */
	LPW_T8_DC_UNKNOWN,   /* OTHER whose text says nothing we recognise */
} lpw_t8_delivery_class_t;

/* NiddStatus. */
typedef enum {
	LPW_T8_NS_ABSENT,
	LPW_T8_NS_ACTIVE,
	LPW_T8_NS_TERMINATED_UE_NOT_AUTHORIZED,
	LPW_T8_NS_TERMINATED,
	LPW_T8_NS_RDS_PORT_UNKNOWN,
	LPW_T8_NS_OTHER,
} lpw_t8_nidd_status_t;

/* PdnEstablishmentOptions. */
typedef enum {
	LPW_T8_PDN_ABSENT,
	LPW_T8_PDN_WAIT_FOR_UE,
	LPW_T8_PDN_INDICATE_ERROR,
	LPW_T8_PDN_SEND_TRIGGER,
	LPW_T8_PDN_OTHER,
} lpw_t8_pdn_option_t;

/* The yaml's spelling ("BUFFERING", ...); "" for ABSENT and OTHER (the received text is kept beside). */
const char *lpw_t8_delivery_status_name(lpw_t8_delivery_status_t s);
const char *lpw_t8_nidd_status_name(lpw_t8_nidd_status_t s);
const char *lpw_t8_pdn_option_name(lpw_t8_pdn_option_t p);
/* Parses a name as the yaml spells it; ABSENT for NULL, OTHER for anything else. */
lpw_t8_delivery_status_t lpw_t8_delivery_status_parse(const char *text);
lpw_t8_nidd_status_t lpw_t8_nidd_status_parse(const char *text);
lpw_t8_pdn_option_t lpw_t8_pdn_option_parse(const char *text);
/* The class of a status; an OTHER is judged by text (a future "SUCCESS_X" is delivered, "FAILURE_X" failed,
 * "BUFFERING_X" pending). text may be NULL. */
lpw_t8_delivery_class_t lpw_t8_delivery_class(lpw_t8_delivery_status_t s, const char *text);

/* NiddConfiguration: the create request, and what the SCEF answers to create, GET and PATCH. */
typedef struct {
	char self[LPW_T8_LINK_MAX];        /* readOnly in the answer; "" when absent */
	char external_id[LPW_T8_IDENT_MAX + 1]; /* exactly one of external_id / msisdn in a request */
	char msisdn[LPW_T8_IDENT_MAX + 1];
	char notification_destination[LPW_T8_LINK_MAX]; /* required */
	int64_t duration;                  /* expiry as a wall-clock time, s since the epoch (DateTime); 0 = none */
	uint32_t maximum_packet_size;      /* readOnly; in bits ("Unit bit" in the yaml); 0 = absent */
	lpw_t8_nidd_status_t status;
	char status_text[LPW_T8_ENUM_MAX];
	lpw_t8_pdn_option_t pdn_establishment_option;
} lpw_t8_config_msg_t;

/* NiddDownlinkDataTransfer: the MT request, and the SCEF's answer (200/201). */
typedef struct {
	char self[LPW_T8_LINK_MAX];
	char external_id[LPW_T8_IDENT_MAX + 1];
	char msisdn[LPW_T8_IDENT_MAX + 1];
	const uint8_t *data; /* encode: borrowed; decode: into the caller's buffer (NULL when absent) */
	size_t data_len;
	lpw_t8_pdn_option_t pdn_establishment_option;
	lpw_t8_delivery_status_t delivery_status;
	char delivery_status_text[LPW_T8_ENUM_MAX];
	int64_t requested_retransmission_time; /* DateTime as s since the epoch; 0 = absent */
} lpw_t8_downlink_msg_t;

/* The notifications one notificationDestination receives (the yaml's oneOf, with no type member). */
typedef enum {
	LPW_T8_NOTIF_UPLINK,          /* NiddUplinkDataNotification: niddConfiguration + data */
	LPW_T8_NOTIF_DELIVERY_STATUS, /* NiddDownlinkDataDeliveryStatusNotification: niddDownlinkDataTransfer +
	                                 deliveryStatus */
	LPW_T8_NOTIF_CONFIG_STATUS,   /* NiddConfigurationStatusNotification: niddConfiguration + status */
	LPW_T8_NOTIF_GMD_DELIVERY,    /* GmdNiddDownlinkDataDeliveryNotification: niddDownlinkDataTransfer +
	                                 gmdResults (group delivery, which we never request) */
	LPW_T8_NOTIF_MANAGE_PORT,     /* ManagePortNotification: niddConfiguration alone or with managedPorts */
	LPW_T8_NOTIF_TEST,            /* TestNotification (TS29122_CommonData.yaml): subscription */
} lpw_t8_notif_kind_t;

const char *lpw_t8_notif_kind_name(lpw_t8_notif_kind_t k);

typedef struct {
	lpw_t8_notif_kind_t kind;
	/* niddConfiguration (UPLINK, CONFIG_STATUS, MANAGE_PORT), niddDownlinkDataTransfer (DELIVERY_STATUS,
	 * GMD_DELIVERY), subscription (TEST) */
	char link[LPW_T8_LINK_MAX];
	char external_id[LPW_T8_IDENT_MAX + 1];
	char msisdn[LPW_T8_IDENT_MAX + 1];
	const uint8_t *data; /* UPLINK: decoded into the caller's buffer */
	size_t data_len;
	lpw_t8_delivery_status_t delivery_status; /* DELIVERY_STATUS */
	char delivery_status_text[LPW_T8_ENUM_MAX];
	int64_t requested_retransmission_time; /* DELIVERY_STATUS, 0 = absent */
	lpw_t8_nidd_status_t status;           /* CONFIG_STATUS */
	char status_text[LPW_T8_ENUM_MAX];
} lpw_t8_notification_t;

/* ProblemDetails (TS29122_CommonData.yaml), also inside NiddDownlinkDataDeliveryFailure (the 500 answer to a
 * downlink: { problemDetail, requestedRetransmissionTime }). */
typedef struct {
	char type[LPW_T8_TEXT_MAX];
	char title[LPW_T8_TEXT_MAX];
	char detail[LPW_T8_TEXT_MAX];
	char cause[LPW_T8_TEXT_MAX];
	char instance[LPW_T8_TEXT_MAX];
	int status;                            /* 0 = absent */
	char invalid_param[LPW_T8_TEXT_MAX];   /* the first invalidParams[].param, "" = none */
	int64_t requested_retransmission_time; /* NiddDownlinkDataDeliveryFailure only; 0 = absent */
} lpw_t8_problem_t;

/* --- encoders: each returns 0 and a NUL-terminated compact JSON text in *out (the caller frees it with free()),
 * or -EINVAL (a required field missing, both or neither identity) or -ENOMEM. --- */

/* The create request: exactly one identity, notificationDestination; duration, pdnEstablishmentOption when set. */
int lpw_t8_json_encode_config(const lpw_t8_config_msg_t *m, char **out) __attribute__((warn_unused_result));
/* NiddConfigurationPatch (application/merge-patch+json): duration (omitted when 0) and notificationDestination
 * (omitted when NULL or ""). */
int lpw_t8_json_encode_config_patch(int64_t duration, const char *notification_destination, char **out)
	__attribute__((warn_unused_result));
/* The MT request: exactly one identity and data (base64). */
int lpw_t8_json_encode_downlink(const lpw_t8_downlink_msg_t *m, char **out) __attribute__((warn_unused_result));
/* ProblemDetails with the fields that are set (status 0 and "" are omitted). */
int lpw_t8_json_encode_problem(const lpw_t8_problem_t *p, char **out) __attribute__((warn_unused_result));

/* --- decoders: body (borrowed, len bytes, need not be NUL-terminated). 0, or -EBADMSG (err->status 400),
 * -EMSGSIZE (413), -ENOMEM (500); err (may be NULL) says why. *out is zeroed first. --- */

int lpw_t8_json_decode_config(const uint8_t *body, size_t len, lpw_t8_config_msg_t *out, lpw_t8_err_t *err)
	__attribute__((warn_unused_result));
/* data_buf/data_cap: where data is decoded (more than data_cap bytes: -EMSGSIZE); may be NULL/0 when the data is
 * not wanted (an answer usually carries none; if it does, it is checked and skipped). */
int lpw_t8_json_decode_downlink(const uint8_t *body, size_t len, uint8_t *data_buf, size_t data_cap,
	lpw_t8_downlink_msg_t *out, lpw_t8_err_t *err) __attribute__((warn_unused_result));
/* The callback body: tells the kind by its members, then checks that kind's members. UPLINK data goes to data_buf
 * (at most data_cap bytes, else -EMSGSIZE). */
int lpw_t8_json_decode_notification(const uint8_t *body, size_t len, uint8_t *data_buf, size_t data_cap,
	lpw_t8_notification_t *out, lpw_t8_err_t *err) __attribute__((warn_unused_result));
/* Tolerant: an error answer is for logs, so members of a wrong type are skipped, not refused. -EBADMSG only when
 * the body is not a JSON object. */
int lpw_t8_json_decode_problem(const uint8_t *body, size_t len, lpw_t8_problem_t *out)
	__attribute__((warn_unused_result));

/* --- pieces the client and the simulator share --- */

/* The id at the end of a Link or Location ("https://scef/3gpp-nidd/v1/as/configurations/abc?x" -> "abc"): the last
 * path segment, without query or fragment. Refuses (-EINVAL) an empty id, one longer than cap-1 and one with a
 * character outside A-Z a-z 0-9 - . _ ~ (unreserved, RFC 3986 §2.3), so an id can go into a URL unescaped. */
int lpw_t8_link_id(const char *link, char *out, size_t cap) __attribute__((warn_unused_result));

/* RFC 3339 date-time (OpenAPI "date-time"): "2024-03-10T12:00:00Z", fractions and ±hh:mm offsets accepted, years
 * 1970..9999. 0 and *out_s (s since the epoch), or -EINVAL. */
int lpw_t8_datetime_parse(const char *text, int64_t *out_s) __attribute__((warn_unused_result));
/* Formats s (>= 0) as "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). -EINVAL out of 1970..9999. */
int lpw_t8_datetime_format(int64_t s, char *out, size_t cap) __attribute__((warn_unused_result));

/* Base64 (RFC 4648 §4, the "byte" format): encode into out (cap >= 4*ceil(len/3)+1), returns the text length or
 * -ENOSPC. Decode: padding optional, no whitespace; returns the byte count, -EINVAL for a bad character or
 * length, -EMSGSIZE when it would exceed cap (checked before decoding anything). */
long lpw_t8_base64_encode(const uint8_t *data, size_t len, char *out, size_t cap);
long lpw_t8_base64_decode(const char *text, size_t len, uint8_t *out, size_t cap);

/* Whether body nests arrays/objects deeper than max (strings are skipped, escapes honoured). */
bool lpw_t8_json_too_deep(const uint8_t *body, size_t len, unsigned max);

#endif
