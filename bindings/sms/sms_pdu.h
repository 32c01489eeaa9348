/* SMS PDU codec (3GPP TS 23.040 §9): SMS-DELIVER, SMS-SUBMIT and SMS-STATUS-REPORT both ways, with the SMSC
 * address field AT PDU mode puts in front of the TPDU (TS 27.005 §3.1, TS 24.011 §8.2.5.1). Pure: no I/O, no
 * allocation, no state; every function may be called from any callback. */
#ifndef LPW_SMS_PDU_H
#define LPW_SMS_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LPW_SMS_UD_MAX 140          /* TP-UD octets (TS 23.040 §9.2.3.16) */
#define LPW_SMS_SEPTETS_MAX 160     /* TP-UD septets with the GSM 7-bit alphabet */
#define LPW_SMS_ADDR_DIGITS_MAX 20  /* an address has at most 20 semi-octets (§9.1.2.5) */
#define LPW_SMS_TPDU_MAX 164        /* the longest TPDU: SMS-SUBMIT with a 7-octet VP and 140 octets of UD */
#define LPW_SMS_PDU_MAX (12 + LPW_SMS_TPDU_MAX) /* with the longest SMSC address field */
#define LPW_SMS_HEX_MAX (2 * LPW_SMS_PDU_MAX)   /* the same in AT PDU-mode hex */
#define LPW_SMS_DCS_8BIT 0x04       /* TS 23.038 §4: general group, 8-bit data, no message class */

/* Type of number (TS 23.040 §9.1.2.5, bits 6-4 of the type-of-address octet). */
typedef enum {
	LPW_SMS_TON_UNKNOWN = 0,
	LPW_SMS_TON_INTERNATIONAL = 1,
	LPW_SMS_TON_NATIONAL = 2,
	LPW_SMS_TON_NETWORK = 3,
	LPW_SMS_TON_SUBSCRIBER = 4,
	LPW_SMS_TON_ALPHANUMERIC = 5, /* GSM 7-bit text, e.g. a service's name */
	LPW_SMS_TON_ABBREVIATED = 6,
} lpw_sms_ton_t;

#define LPW_SMS_NPI_ISDN 1 /* E.164 */

typedef struct {
	uint8_t ton; /* lpw_sms_ton_t */
	uint8_t npi; /* numbering plan (bits 3-0); LPW_SMS_NPI_ISDN for phone numbers */
	/* NUL-terminated. Numbers: the digits 0-9 and * # a b c; an empty string is an empty address (an SMSC field
	 * of length 0: "the SIM's default"). Alphanumeric: the text, characters outside ASCII as '?'. */
	char digits[LPW_SMS_ADDR_DIGITS_MAX + 1];
} lpw_sms_addr_t;

/* A time stamp (TS 23.040 §9.2.3.11): TP-SCTS, TP-DT, an absolute TP-VP. */
typedef struct {
	uint8_t year, month, day, hour, minute, second; /* year 0..99 */
	int8_t tz_quarters; /* local time minus UTC in quarters of an hour, -79..79 */
	/* Decoding: every semi-octet was a decimal digit (a field we never act on is decoded leniently: a bad stamp
	 * does not reject the message). Encoding ignores it. */
	bool valid;
} lpw_sms_time_t;

/* TP-VPF (TS 23.040 §9.2.3.3) and TP-VP (§9.2.3.12). */
typedef enum {
	LPW_SMS_VP_NONE = 0,
	LPW_SMS_VP_ENHANCED = 1,
	LPW_SMS_VP_RELATIVE = 2,
	LPW_SMS_VP_ABSOLUTE = 3,
} lpw_sms_vpf_t;

typedef struct {
	lpw_sms_vpf_t format;
	uint8_t relative;        /* RELATIVE: the TP-VP octet (see lpw_sms_vp_relative_from_seconds) */
	uint8_t enhanced[7];     /* ENHANCED: the seven octets, encoded as given */
	lpw_sms_time_t absolute; /* ABSOLUTE */
	/* Decoding: the validity in seconds for RELATIVE and the relative forms of ENHANCED; 0 when not relative or
	 * "no validity period". Encoding ignores it. */
	uint32_t seconds;
} lpw_sms_vp_t;

/* The concatenation information element (TS 23.040 §9.2.3.24.1 IEI 0x00, §9.2.3.24.8 IEI 0x08). */
typedef struct {
	bool present;
	bool ref16;     /* a 16-bit reference (IEI 0x08), else 8-bit (IEI 0x00) */
	uint16_t ref;
	uint8_t total;  /* parts in the message, 1..255 */
	uint8_t seq;    /* this part, 1..total */
} lpw_sms_concat_info_t;

typedef enum {
	LPW_SMS_DELIVER,       /* SC -> MS: a message for us */
	LPW_SMS_SUBMIT,        /* MS -> SC: a message we send */
	LPW_SMS_STATUS_REPORT, /* SC -> MS: what became of a message we sent with TP-SRR */
} lpw_sms_type_t;

/* Which way a TPDU travels: the TP-MTI values mean different types each way (TS 23.040 §9.2.3.1). */
typedef enum {
	LPW_SMS_FROM_SC, /* DELIVER, STATUS-REPORT: what a modem reports (+CMT, +CMGR of a received message, +CDS) */
	LPW_SMS_TO_SC,   /* SUBMIT: what a modem sends (AT+CMGS), or a simulated network receives */
} lpw_sms_dir_t;

typedef enum {
	LPW_SMS_ALPHABET_GSM7,
	LPW_SMS_ALPHABET_8BIT,
	LPW_SMS_ALPHABET_UCS2,
} lpw_sms_alphabet_t;

typedef struct {
	lpw_sms_type_t type;
	lpw_sms_addr_t smsc;     /* the SMSC address field; digits "" = none */
	lpw_sms_addr_t addr;     /* DELIVER: TP-OA; SUBMIT: TP-DA; STATUS-REPORT: TP-RA */
	uint8_t mr;              /* SUBMIT, STATUS-REPORT: TP-MR */
	uint8_t pid;             /* TP-PID; 0 = plain SME-to-SME */
	uint8_t dcs;             /* TP-DCS (TS 23.038 §4); decides the alphabet */
	bool reply_path;         /* DELIVER, SUBMIT: TP-RP */
	bool status_report;      /* DELIVER: TP-SRI; SUBMIT: TP-SRR (request a report); STATUS-REPORT: TP-SRQ */
	bool no_more_messages;   /* DELIVER, STATUS-REPORT: TP-MMS = 1 */
	bool loop_prevention;    /* DELIVER, STATUS-REPORT: TP-LP */
	bool reject_duplicates;  /* SUBMIT: TP-RD */
	lpw_sms_vp_t vp;         /* SUBMIT */
	lpw_sms_time_t scts;     /* DELIVER, STATUS-REPORT: TP-SCTS */
	lpw_sms_time_t dt;       /* STATUS-REPORT: TP-DT */
	uint8_t st;              /* STATUS-REPORT: TP-ST (0x00 = received by the SME; see lpw_sms_status_text) */
	/* STATUS-REPORT: TP-PI, which optional fields follow TP-ST (bit 0 PID, bit 1 DCS, bit 2 UDL and UD); 0 = none.
	 * Encoding writes it when non-zero. */
	uint8_t pi;
	/* Derived from dcs when decoding; ignored when encoding (dcs decides). */
	lpw_sms_alphabet_t alphabet;
	bool compressed;         /* TS 23.038 §4 bit 5: we cannot decompress; ud holds the compressed octets */
	lpw_sms_concat_info_t concat;
	/* User data header information elements other than concatenation, as IEI, IEDL, data... (without UDHL).
	 * Encoding puts the concatenation element (if present) first, then these. */
	uint8_t udh[LPW_SMS_UD_MAX];
	size_t udh_len;
	/* The user data after the header: octets (8-bit, UCS2, compressed) or septets, one per byte, 0..127 (GSM
	 * 7-bit default alphabet codes, not ASCII). */
	uint8_t ud[LPW_SMS_SEPTETS_MAX];
	size_t ud_len;
} lpw_sms_t;

/* Decodes one PDU of len octets (borrowed; never read past len). with_smsc: the PDU starts with the SMSC address
 * field (AT PDU mode). dir: which TP-MTI values are expected. Returns 0 with *out filled, or:
 *   -EBADMSG  truncated or malformed (a field runs past the end, an address longer than 20 digits or with a filler
 *             inside, a UDL beyond 140 octets / 160 septets, a UDH that overruns its length or the user data, a
 *             concatenation element of the wrong length);
 *   -ENOTSUP  well formed as far as read, but a type this codec does not handle (SUBMIT-REPORT, DELIVER-REPORT,
 *             COMMAND).
 * On failure why (NUL-terminated, whylen may be 0) names the offending field. A concatenation element with part
 * number 0 or above the total is ignored, as TS 23.040 §9.2.3.24.1 says (concat.present stays false). */
int lpw_sms_decode(const uint8_t *pdu, size_t len, bool with_smsc, lpw_sms_dir_t dir, lpw_sms_t *out, char *why,
		   size_t whylen) __attribute__((warn_unused_result));

/* Encodes msg (type DELIVER, SUBMIT or STATUS-REPORT; borrowed) into out (cap octets): the SMSC address field when
 * with_smsc (length 0 when msg->smsc.digits is empty), then the TPDU. Returns the total length, with the TPDU's
 * alone in *out_tpdu_len (may be NULL): AT+CMGS=<length> wants it. Errors: -EINVAL (an address that is too long or
 * has a character that is not a digit, * # a b c; user data that does not fit 140 octets / 160 septets with its
 * header; a septet above 127; a DCS of message class 0, which this gateway never sends), -EMSGSIZE (cap). */
int lpw_sms_encode(const lpw_sms_t *msg, bool with_smsc, uint8_t *out, size_t cap, size_t *out_tpdu_len)
	__attribute__((warn_unused_result));

/* Sets *a from a number as written by people: a leading '+' means international (E.164), else unknown type of
 * number; numbering plan ISDN. text borrowed. -EINVAL if empty, longer than 20 digits, or not 0-9 * #. */
int lpw_sms_addr_from_text(lpw_sms_addr_t *a, const char *text) __attribute__((warn_unused_result));

/* The digits an MSISDN is matched on (TS 23.003: E.164 digits without '+') into out (cap bytes, NUL-terminated).
 * -EINVAL for an alphanumeric or empty address, -ENOSPC if cap is too small. */
int lpw_sms_addr_msisdn(const lpw_sms_addr_t *a, char *out, size_t cap) __attribute__((warn_unused_result));

/* TS 23.038 §4: the alphabet of a DCS, whether it is compressed, and its message class (-1 = none, else 0..3). */
lpw_sms_alphabet_t lpw_sms_dcs_alphabet(uint8_t dcs, bool *out_compressed);
int lpw_sms_dcs_class(uint8_t dcs);
/* Whether dcs says uncompressed 8-bit data of a class other than 0: what LwM2M §6.8.3 CoAP needs and what we send. */
bool lpw_sms_dcs_is_8bit_data(uint8_t dcs);

/* Relative TP-VP (TS 23.040 §9.2.3.12.1): the octet for a validity of at least seconds (rounded up to the next
 * representable value, at most 63 weeks), and the seconds an octet stands for. */
uint8_t lpw_sms_vp_relative_from_seconds(uint32_t seconds);
uint32_t lpw_sms_vp_relative_seconds(uint8_t vp);

/* TP-ST (TS 23.040 §9.2.3.15) in words; static storage. And whether it is final (0x00-0x1f done, 0x40-0x7f
 * failed for good) rather than "still trying" (0x20-0x3f). */
const char *lpw_sms_status_text(uint8_t st);
bool lpw_sms_status_delivered(uint8_t st);
bool lpw_sms_status_final(uint8_t st);

/* Hex as AT PDU mode carries it (two upper-case digits per octet). encode: writes 2n characters and a NUL into out
 * (cap >= 2n + 1), returns 2n or -ENOSPC. decode: n characters of hex (either case) into out; -EINVAL for an odd n
 * or a character that is not hex, -ENOSPC beyond cap; *out_len set on success. */
int lpw_sms_hex_encode(const uint8_t *data, size_t n, char *out, size_t cap);
int lpw_sms_hex_decode(const char *hex, size_t n, uint8_t *out, size_t cap, size_t *out_len)
	__attribute__((warn_unused_result));

#endif
