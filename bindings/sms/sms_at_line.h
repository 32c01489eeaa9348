/* What a modem says, piece by piece: a reader that cuts its byte stream into lines (and the "> " prompt of
 * AT+CMGS, which ends no line), a parser that classifies one line (final result codes, +CMS/+CME ERROR with their
 * number, information lines "+NAME: args" with their arguments, anything else), and the meaning of the error codes
 * of TS 27.005 §3.2.5 and TS 27.007 §9.2. Pure: no I/O, no allocation. */
#ifndef LPW_SMS_AT_LINE_H
#define LPW_SMS_AT_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LPW_SMS_AT_LINE_MAX 512 /* longest line kept: a PDU of 176 octets is 352 hex characters */
#define LPW_SMS_AT_ARGS_MAX 16
#define LPW_SMS_AT_NAME_MAX 15

/* --- the reader --- */

typedef enum {
	LPW_SMS_AT_TOKEN_LINE,     /* a complete, non-empty line without its CR/LF */
	LPW_SMS_AT_TOKEN_PROMPT,   /* "> " at the start of a line (TS 27.005 §3.5.1: AT+CMGS waits for the PDU) */
	LPW_SMS_AT_TOKEN_TOO_LONG, /* a line longer than LPW_SMS_AT_LINE_MAX: dropped (line is "") */
	LPW_SMS_AT_TOKEN_GARBLED,  /* a line holding a NUL byte: dropped (line is "") */
} lpw_sms_at_token_t;

/* line: NUL-terminated, len characters, borrowed for the call. */
typedef void (*lpw_sms_at_token_cb)(void *arg, lpw_sms_at_token_t kind, const char *line, size_t len);

/* Embed in the owner; the fields are private. */
typedef struct {
	char buf[LPW_SMS_AT_LINE_MAX + 1];
	size_t len;
	bool discarding; /* a line too long: dropping up to its end */
	bool nul;        /* the line so far holds a NUL byte */
	unsigned gen;    /* bumped by init: a feed in progress stops */
} lpw_sms_at_reader_t;

/* Empties the reader (a partial line is forgotten): at start and whenever the link is lost. May be called from cb:
 * the feed in progress then stops. */
void lpw_sms_at_reader_init(lpw_sms_at_reader_t *r);

/* Feeds len bytes (borrowed); cb gets every token they complete, in order. Lines end at CR or LF; empty lines
 * are skipped. */
void lpw_sms_at_reader_feed(lpw_sms_at_reader_t *r, const uint8_t *data, size_t len, lpw_sms_at_token_cb cb,
			    void *arg);

/* --- the line parser --- */

typedef enum {
	LPW_SMS_AT_OK,
	LPW_SMS_AT_ERROR,
	LPW_SMS_AT_CMS_ERROR,   /* +CMS ERROR: <err> (TS 27.005 §3.2.5) */
	LPW_SMS_AT_CME_ERROR,   /* +CME ERROR: <err> (TS 27.007 §9.2) */
	LPW_SMS_AT_FINAL_OTHER, /* NO CARRIER, BUSY, NO ANSWER, NO DIALTONE (V.250 finals): an error for us */
	LPW_SMS_AT_INFO,        /* "+NAME: arguments" or "+NAME" (also "^NAME", as some vendors write) */
	LPW_SMS_AT_TEXT,        /* anything else: a PDU in hex, an echo, RING, vendor text */
} lpw_sms_at_kind_t;

typedef struct {
	const char *s; /* into the line, not NUL-terminated; without the quotes */
	size_t len;
	bool quoted;
	bool is_num;   /* unquoted decimal integer (optional '-') that fits a long */
	long num;
} lpw_sms_at_arg_t;

typedef struct {
	lpw_sms_at_kind_t kind;
	char name[LPW_SMS_AT_NAME_MAX + 1]; /* INFO: "+CMTI", with its prefix character */
	int code;                /* CMS/CME ERROR: the number; -1 when the modem gave text (AT+CMEE=2) */
	const char *rest;        /* INFO: the text after "NAME:" (spaces skipped); ERRORs: after "ERROR:"; else the line */
	size_t rest_len;
	size_t nargs;            /* INFO: the arguments */
	lpw_sms_at_arg_t args[LPW_SMS_AT_ARGS_MAX];
} lpw_sms_at_line_t;

/* Classifies line (len characters, borrowed: the arguments point into it). Returns 0, or -EBADMSG for an
 * information line whose arguments cannot be split (an unterminated quote, text after a closing quote, more than
 * LPW_SMS_AT_ARGS_MAX) or a name longer than LPW_SMS_AT_NAME_MAX: kind is then TEXT and why (may be NULL) says
 * what is wrong. Never reads past len. */
int lpw_sms_at_line_parse(const char *line, size_t len, lpw_sms_at_line_t *out, char *why, size_t whylen);

/* Whether the line is a PDU: an even number (2..LPW_SMS_AT_LINE_MAX) of hex digits and nothing else. */
bool lpw_sms_at_line_is_hex(const char *line, size_t len);

/* Argument i as a number (false when absent, empty or not a number). */
bool lpw_sms_at_arg_num(const lpw_sms_at_line_t *l, size_t i, long *out);
/* Whether argument i equals text exactly (quoted or not). */
bool lpw_sms_at_arg_is(const lpw_sms_at_line_t *l, size_t i, const char *text);

/* --- error codes --- */

/* The meaning of a +CMS ERROR code (TS 27.005 §3.2.5: 0..127 the RP cause of TS 24.011 Annex E-2, 128..255 the
 * TP-FCS of TS 23.040 §9.2.3.22, 300.. the ME/TA's own) and of a +CME ERROR code (TS 27.007 §9.2). Static storage;
 * never NULL ("unknown ..." for codes without an entry). */
const char *lpw_sms_at_cms_text(int code);
const char *lpw_sms_at_cme_text(int code);

#endif
