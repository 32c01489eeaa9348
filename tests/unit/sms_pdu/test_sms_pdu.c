/* SMS PDU codec: published PDUs (each source named, every field checked by hand against TS 23.040), PDUs built
 * by hand from the spec's field tables, round trips, and truncated or malformed PDUs rejected with a reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bindings/sms/sms_pdu.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	assert_int_equal(lpw_sms_hex_decode(hex, strlen(hex), out, cap, &n), 0);
	return n;
}

static void assert_ud_text(const lpw_sms_t *m, const char *text)
{
	assert_int_equal(m->ud_len, strlen(text));
	assert_memory_equal(m->ud, text, m->ud_len); /* lower-case letters: GSM 7-bit codes equal ASCII */
}

/* Encodes m and checks the bytes are exactly hex. */
static void assert_encodes_to(const lpw_sms_t *m, bool with_smsc, const char *hex, size_t tpdu_len)
{
	uint8_t want[LPW_SMS_PDU_MAX], got[LPW_SMS_PDU_MAX];
	size_t n = unhex(hex, want, sizeof(want)), tl = 0;
	int rc = lpw_sms_encode(m, with_smsc, got, sizeof(got), &tl);
	assert_int_equal(rc, (int)n);
	assert_memory_equal(got, want, n);
	assert_int_equal(tl, tpdu_len);
}

static void assert_time(const lpw_sms_time_t *t, int y, int mo, int d, int h, int mi, int s, int tz)
{
	assert_true(t->valid);
	assert_int_equal(t->year, y);
	assert_int_equal(t->month, mo);
	assert_int_equal(t->day, d);
	assert_int_equal(t->hour, h);
	assert_int_equal(t->minute, mi);
	assert_int_equal(t->second, s);
	assert_int_equal(t->tz_quarters, tz);
}

/* Lars Pettersson, "SMS messages and the PDU format" (dreamfabric.com/sms), the SMS-DELIVER example. By hand:
 * 07 91 7283010010F5  SMSC: 7 octets, international/ISDN, +27381000015
 * 04                  TP-MTI 00 SMS-DELIVER, TP-MMS 1 (no more messages)
 * 0B C8 7238880900F1  TP-OA: 11 digits, TON 4 (subscriber) NPI 8 (national), 27838890001
 * 00 00               TP-PID, TP-DCS (GSM 7-bit)
 * 99309251619580      TP-SCTS 99-03-29 15:16:59, TZ octet 0x80 = +8 quarters (sign bit 3 of the low nibble 0)
 * 0A E8329BFD4697D9EC37  TP-UDL 10 septets, "hellohello" packed into 9 octets */
static void test_published_deliver(void **state)
{
	const char *hex = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37";
	uint8_t pdu[LPW_SMS_PDU_MAX];
	size_t n = unhex(hex, pdu, sizeof(pdu));
	lpw_sms_t m;
	char why[128];
	assert_int_equal(lpw_sms_decode(pdu, n, true, LPW_SMS_FROM_SC, &m, why, sizeof(why)), 0);
	assert_int_equal(m.type, LPW_SMS_DELIVER);
	assert_int_equal(m.smsc.ton, LPW_SMS_TON_INTERNATIONAL);
	assert_int_equal(m.smsc.npi, LPW_SMS_NPI_ISDN);
	assert_string_equal(m.smsc.digits, "27381000015");
	assert_true(m.no_more_messages);
	assert_false(m.status_report);
	assert_int_equal(m.addr.ton, LPW_SMS_TON_SUBSCRIBER);
	assert_int_equal(m.addr.npi, 8);
	assert_string_equal(m.addr.digits, "27838890001");
	assert_int_equal(m.pid, 0);
	assert_int_equal(m.dcs, 0);
	assert_int_equal(m.alphabet, LPW_SMS_ALPHABET_GSM7);
	assert_time(&m.scts, 99, 3, 29, 15, 16, 59, 8);
	assert_false(m.concat.present);
	assert_ud_text(&m, "hellohello");
	char msisdn[32];
	assert_int_equal(lpw_sms_addr_msisdn(&m.addr, msisdn, sizeof(msisdn)), 0);
	assert_string_equal(msisdn, "27838890001");
	assert_encodes_to(&m, true, hex, n - 8); /* the TPDU is all but the 8 octets of SMSC field */
}

/* The same source's SMS-SUBMIT example. By hand:
 * 00                  SMSC field length 0: the SIM's default SMSC
 * 11                  TP-MTI 01 SMS-SUBMIT, TP-VPF 10 (relative)
 * 00                  TP-MR (the modem sets its own)
 * 0B 91 6407281553F8  TP-DA: 11 digits, international/ISDN, +46708251358
 * 00 00               TP-PID, TP-DCS (GSM 7-bit)
 * AA                  TP-VP 170: (170 - 166) days = 4 days (§9.2.3.12.1)
 * 0A E8329BFD4697D9EC37  "hellohello" */
static void test_published_submit(void **state)
{
	const char *hex = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37";
	uint8_t pdu[LPW_SMS_PDU_MAX];
	size_t n = unhex(hex, pdu, sizeof(pdu));
	lpw_sms_t m;
	assert_int_equal(lpw_sms_decode(pdu, n, true, LPW_SMS_TO_SC, &m, NULL, 0), 0);
	assert_int_equal(m.type, LPW_SMS_SUBMIT);
	assert_string_equal(m.smsc.digits, "");
	assert_int_equal(m.mr, 0);
	assert_int_equal(m.addr.ton, LPW_SMS_TON_INTERNATIONAL);
	assert_string_equal(m.addr.digits, "46708251358");
	assert_int_equal(m.vp.format, LPW_SMS_VP_RELATIVE);
	assert_int_equal(m.vp.relative, 0xAA);
	assert_int_equal(m.vp.seconds, 4 * 86400);
	assert_false(m.status_report);
	assert_ud_text(&m, "hellohello");
	assert_encodes_to(&m, true, hex, n - 1);

	/* the same message built from scratch, as the gateway builds its own */
	lpw_sms_t b = {.type = LPW_SMS_SUBMIT, .dcs = 0};
	assert_int_equal(lpw_sms_addr_from_text(&b.addr, "+46708251358"), 0);
	b.vp.format = LPW_SMS_VP_RELATIVE;
	b.vp.relative = lpw_sms_vp_relative_from_seconds(4 * 86400);
	memcpy(b.ud, "hellohello", 10);
	b.ud_len = 10;
	assert_encodes_to(&b, true, hex, n - 1);
}

/* An SMS-STATUS-REPORT as a modem printed it after +CDS: (no SMSC field), from "Receiving SMS Status Report
 * message" (amro.blogspot.com, 2007-09). By hand against TS 23.040 §9.2.2.3:
 * 06                  TP-MTI 10 SMS-STATUS-REPORT, TP-MMS 1, TP-SRQ 0 (the report of an SMS-SUBMIT)
 * 00                  TP-MR 0
 * 0B 91 0221815716F2  TP-RA: 11 digits, international, +20121875612
 * 70902151012180      TP-SCTS 07-09-12 15:10:12 +8 quarters
 * 70902151017180      TP-DT   07-09-12 15:10:17 +8 quarters
 * 00                  TP-ST 0: received by the SME */
static void test_published_status_report(void **state)
{
	const char *hex = "06000B910221815716F2709021510121807090215101718000";
	uint8_t pdu[LPW_SMS_PDU_MAX];
	size_t n = unhex(hex, pdu, sizeof(pdu));
	lpw_sms_t m;
	assert_int_equal(lpw_sms_decode(pdu, n, false, LPW_SMS_FROM_SC, &m, NULL, 0), 0);
	assert_int_equal(m.type, LPW_SMS_STATUS_REPORT);
	assert_int_equal(m.mr, 0);
	assert_string_equal(m.addr.digits, "20121875612");
	assert_time(&m.scts, 7, 9, 12, 15, 10, 12, 8);
	assert_time(&m.dt, 7, 9, 12, 15, 10, 17, 8);
	assert_int_equal(m.st, 0);
	assert_true(lpw_sms_status_delivered(m.st));
	assert_true(lpw_sms_status_final(m.st));
	assert_string_equal(lpw_sms_status_text(m.st), "received by the SME");
	assert_int_equal(m.pi, 0);
	assert_encodes_to(&m, false, hex, n);
}

/* Built by hand from TS 23.040 §9.2.2.1 and §9.2.3.24.1: part 1 of 2 of an 8-bit message with an 8-bit reference.
 * 00                  no SMSC field content
 * 44                  SMS-DELIVER, TP-MMS 1, TP-UDHI 1
 * 0C 91 947101325476  TP-OA +491710234567
 * 00 04               TP-PID 0, TP-DCS 0x04 (8-bit data, no class)
 * 52201121436500      TP-SCTS 25-02-11 12:34:56 +0
 * 0A                  TP-UDL 10 octets, header included
 * 05 00 03 2A 02 01   UDHL 5; IEI 00, IEDL 3, reference 0x2A, 2 parts, this is part 1
 * 4801DEAD            four octets of user data */
static void test_concat8_deliver(void **state)
{
	const char *hex = "00440C91947101325476000452201121436500" "0A0500032A02014801DEAD";
	uint8_t pdu[LPW_SMS_PDU_MAX];
	size_t n = unhex(hex, pdu, sizeof(pdu));
	lpw_sms_t m;
	assert_int_equal(lpw_sms_decode(pdu, n, true, LPW_SMS_FROM_SC, &m, NULL, 0), 0);
	assert_int_equal(m.dcs, LPW_SMS_DCS_8BIT);
	assert_true(lpw_sms_dcs_is_8bit_data(m.dcs));
	assert_int_equal(m.alphabet, LPW_SMS_ALPHABET_8BIT);
	assert_string_equal(m.addr.digits, "491710234567");
	assert_time(&m.scts, 25, 2, 11, 12, 34, 56, 0);
	assert_true(m.concat.present);
	assert_false(m.concat.ref16);
	assert_int_equal(m.concat.ref, 0x2A);
	assert_int_equal(m.concat.total, 2);
	assert_int_equal(m.concat.seq, 1);
	assert_int_equal(m.udh_len, 0);
	assert_int_equal(m.ud_len, 4);
	assert_memory_equal(m.ud, "\x48\x01\xDE\xAD", 4);
	assert_encodes_to(&m, true, hex, n - 1);
}

/* Built by hand from §9.2.3.24.8 (IEI 0x08, 16-bit reference) with another element kept in udh, in an 8-bit
 * SMS-SUBMIT with a status report request and an enhanced validity period (§9.2.3.12.3, format 2: 200 s).
 * 00 | 69 (SUBMIT, VPF 01 enhanced, SRR, UDHI) | 07 (TP-MR) | 0A 81 3012345678 (10 digits, TON unknown) | 00 04 |
 * 02C80000000000 (enhanced: format 2, 0xC8 = 200 s) | 0E (UDL 14) |
 * 0A 08 04 1234 03 02  0402 0B84 (UDHL 10: IEI 08 ref 0x1234 3 parts part 2; IEI 04 8-bit ports 0x0B 0x84) |
 * 0102 03 (UD) */
static void test_concat16_submit(void **state)
{
	const char *hex = "0069070A813012345678000402C800000000000E0A080412340302040" "20B84010203";
	uint8_t pdu[LPW_SMS_PDU_MAX];
	size_t n = unhex(hex, pdu, sizeof(pdu));
	lpw_sms_t m;
	char why[128];
	assert_int_equal(lpw_sms_decode(pdu, n, true, LPW_SMS_TO_SC, &m, why, sizeof(why)), 0);
	assert_int_equal(m.type, LPW_SMS_SUBMIT);
	assert_int_equal(m.mr, 7);
	assert_true(m.status_report);
	assert_int_equal(m.addr.ton, LPW_SMS_TON_UNKNOWN);
	assert_string_equal(m.addr.digits, "0321436587");
	assert_int_equal(m.vp.format, LPW_SMS_VP_ENHANCED);
	assert_int_equal(m.vp.seconds, 200);
	assert_true(m.concat.present && m.concat.ref16);
	assert_int_equal(m.concat.ref, 0x1234);
	assert_int_equal(m.concat.total, 3);
	assert_int_equal(m.concat.seq, 2);
	assert_int_equal(m.udh_len, 4);
	assert_memory_equal(m.udh, "\x04\x02\x0B\x84", 4);
	assert_int_equal(m.ud_len, 3);
	assert_encodes_to(&m, true, hex, n - 1);
}

/* GSM 7-bit with a header: the text starts at the next septet boundary after the header (§9.2.3.16: 6 header
 * octets = 48 bits, one fill bit, so 7 septets of UDL are the header). */
static void test_gsm7_with_header(void **state)
{
	lpw_sms_t m = {.type = LPW_SMS_DELIVER, .dcs = 0x00};
	assert_int_equal(lpw_sms_addr_from_text(&m.addr, "+4912345"), 0);
	m.concat = (lpw_sms_concat_info_t){.present = true, .ref = 9, .total = 2, .seq = 2};
	memcpy(m.ud, "hellohello", 10);
	m.ud_len = 10;
	uint8_t pdu[LPW_SMS_PDU_MAX];
	int n = lpw_sms_encode(&m, false, pdu, sizeof(pdu), NULL);
	assert_true(n > 0);
	/* UDL is at 1 + 6 (address) + 2 + 7 = octet 16: 7 header septets + 10 */
	assert_int_equal(pdu[16], 17);
	lpw_sms_t d;
	assert_int_equal(lpw_sms_decode(pdu, (size_t)n, false, LPW_SMS_FROM_SC, &d, NULL, 0), 0);
	assert_true(d.concat.present);
	assert_int_equal(d.concat.seq, 2);
	assert_ud_text(&d, "hellohello");
}

static void test_alphanumeric_sender(void **state)
{
	lpw_sms_t m = {.type = LPW_SMS_DELIVER, .dcs = LPW_SMS_DCS_8BIT};
	m.addr.ton = LPW_SMS_TON_ALPHANUMERIC;
	strcpy(m.addr.digits, "Operator 1");
	uint8_t pdu[LPW_SMS_PDU_MAX];
	int n = lpw_sms_encode(&m, true, pdu, sizeof(pdu), NULL);
	assert_true(n > 0);
	/* §9.1.2.5: the length counts semi-octets: 10 characters = 70 bits = 18 semi-octets */
	assert_int_equal(pdu[2], 18);
	lpw_sms_t d;
	assert_int_equal(lpw_sms_decode(pdu, (size_t)n, true, LPW_SMS_FROM_SC, &d, NULL, 0), 0);
	assert_int_equal(d.addr.ton, LPW_SMS_TON_ALPHANUMERIC);
	assert_string_equal(d.addr.digits, "Operator 1");
	char msisdn[32];
	assert_int_equal(lpw_sms_addr_msisdn(&d.addr, msisdn, sizeof(msisdn)), -EINVAL); /* no number to match */
}

/* Every field of all three types through encode and decode. */
static void round_trip(const lpw_sms_t *m, bool with_smsc, lpw_sms_dir_t dir)
{
	uint8_t pdu[LPW_SMS_PDU_MAX];
	size_t tl = 0;
	int n = lpw_sms_encode(m, with_smsc, pdu, sizeof(pdu), &tl);
	assert_true(n > 0);
	lpw_sms_t d;
	char why[128];
	assert_int_equal(lpw_sms_decode(pdu, (size_t)n, with_smsc, dir, &d, why, sizeof(why)), 0);
	assert_int_equal(d.type, m->type);
	assert_string_equal(d.addr.digits, m->addr.digits);
	assert_int_equal(d.addr.ton, m->addr.ton);
	assert_string_equal(d.smsc.digits, with_smsc ? m->smsc.digits : "");
	assert_int_equal(d.pid, m->pid);
	assert_int_equal(d.dcs, m->dcs);
	assert_int_equal(d.mr, m->mr);
	assert_int_equal(d.status_report, m->status_report);
	assert_int_equal(d.concat.present, m->concat.present);
	if (m->concat.present)
		assert_memory_equal(&d.concat, &m->concat, sizeof(d.concat));
	assert_int_equal(d.ud_len, m->ud_len);
	assert_memory_equal(d.ud, m->ud, m->ud_len);
	uint8_t again[LPW_SMS_PDU_MAX];
	assert_int_equal(lpw_sms_encode(&d, with_smsc, again, sizeof(again), NULL), n);
	assert_memory_equal(again, pdu, (size_t)n);
}

static void test_round_trips(void **state)
{
	lpw_sms_t m = {.type = LPW_SMS_SUBMIT, .dcs = LPW_SMS_DCS_8BIT, .mr = 200, .status_report = true};
	assert_int_equal(lpw_sms_addr_from_text(&m.addr, "+12345678901234567890"), 0); /* 20 digits, the most */
	assert_int_equal(lpw_sms_addr_from_text(&m.smsc, "+4917000000"), 0);
	m.vp.format = LPW_SMS_VP_RELATIVE;
	m.vp.relative = lpw_sms_vp_relative_from_seconds(3600);
	for (size_t i = 0; i < LPW_SMS_UD_MAX; i++)
		m.ud[i] = (uint8_t)(i * 37);
	for (size_t len = 0; len <= LPW_SMS_UD_MAX; len += 7) {
		m.ud_len = len;
		round_trip(&m, true, LPW_SMS_TO_SC);
		round_trip(&m, false, LPW_SMS_TO_SC);
	}
	m.ud_len = LPW_SMS_UD_MAX - 6; /* the most beside an 8-bit concatenation header */
	m.concat = (lpw_sms_concat_info_t){.present = true, .ref = 255, .total = 255, .seq = 255};
	round_trip(&m, true, LPW_SMS_TO_SC);
	m.ud_len = LPW_SMS_UD_MAX - 7;
	m.concat = (lpw_sms_concat_info_t){.present = true, .ref16 = true, .ref = 65535, .total = 4, .seq = 1};
	round_trip(&m, true, LPW_SMS_TO_SC);
	m.vp.format = LPW_SMS_VP_ABSOLUTE;
	m.vp.absolute = (lpw_sms_time_t){.year = 30, .month = 12, .day = 31, .hour = 23, .minute = 59, .second = 58,
					 .tz_quarters = -79};
	round_trip(&m, true, LPW_SMS_TO_SC);

	lpw_sms_t dl = {.type = LPW_SMS_DELIVER, .dcs = 0xF5, .pid = 0x7F, .status_report = true};
	assert_int_equal(lpw_sms_addr_from_text(&dl.addr, "0170123*#"), 0);
	dl.scts = (lpw_sms_time_t){.year = 24, .month = 2, .day = 29, .tz_quarters = 4};
	dl.ud_len = 140;
	memset(dl.ud, 0xA5, dl.ud_len);
	round_trip(&dl, true, LPW_SMS_FROM_SC);

	lpw_sms_t sr = {.type = LPW_SMS_STATUS_REPORT, .mr = 17, .st = 0x62, .pi = 0x07, .pid = 0, .dcs = 0x04};
	assert_int_equal(lpw_sms_addr_from_text(&sr.addr, "+4917012"), 0);
	sr.ud_len = 3;
	memcpy(sr.ud, "abc", 3);
	round_trip(&sr, false, LPW_SMS_FROM_SC);
	assert_false(lpw_sms_status_final(0x20));
	assert_true(lpw_sms_status_final(0x62));
	assert_false(lpw_sms_status_delivered(0x62));
	assert_string_equal(lpw_sms_status_text(0x62), "no response from SME");
	assert_string_equal(lpw_sms_status_text(0x43), "not obtainable");
}

static void test_validity_period(void **state)
{
	/* TS 23.040 §9.2.3.12.1 */
	assert_int_equal(lpw_sms_vp_relative_seconds(0), 5 * 60);
	assert_int_equal(lpw_sms_vp_relative_seconds(143), 12 * 3600);
	assert_int_equal(lpw_sms_vp_relative_seconds(144), 12 * 3600 + 30 * 60);
	assert_int_equal(lpw_sms_vp_relative_seconds(167), 24 * 3600);
	assert_int_equal(lpw_sms_vp_relative_seconds(168), 2 * 86400);
	assert_int_equal(lpw_sms_vp_relative_seconds(196), 30 * 86400);
	assert_int_equal(lpw_sms_vp_relative_seconds(197), 5 * 7 * 86400);
	assert_int_equal(lpw_sms_vp_relative_seconds(255), 63 * 7 * 86400);
	assert_int_equal(lpw_sms_vp_relative_from_seconds(0), 0);
	assert_int_equal(lpw_sms_vp_relative_from_seconds(3600), 11);
	assert_int_equal(lpw_sms_vp_relative_from_seconds(3601), 12); /* rounded up: at least what was asked */
	assert_int_equal(lpw_sms_vp_relative_from_seconds(86400), 167);
	assert_int_equal(lpw_sms_vp_relative_from_seconds(UINT32_MAX), 255);

	/* enhanced format 3 (§9.2.3.12.3): HH MM SS in semi-octets, 01:02:03; and a reserved format: 0 s */
	const char *hex = "000900038121F3000403102030000000" "00";
	uint8_t pdu[64];
	size_t n = unhex(hex, pdu, sizeof(pdu));
	lpw_sms_t m;
	assert_int_equal(lpw_sms_decode(pdu, n, true, LPW_SMS_TO_SC, &m, NULL, 0), 0);
	assert_int_equal(m.vp.format, LPW_SMS_VP_ENHANCED);
	assert_int_equal(m.vp.seconds, 3600 + 2 * 60 + 3);
	pdu[9] = 0x07;
	assert_int_equal(lpw_sms_decode(pdu, n, true, LPW_SMS_TO_SC, &m, NULL, 0), 0);
	assert_int_equal(m.vp.seconds, 0);
	/* absolute (VPF 11) */
	const char *abs = "001900038121F300045220112143658A00";
	n = unhex(abs, pdu, sizeof(pdu));
	assert_int_equal(lpw_sms_decode(pdu, n, true, LPW_SMS_TO_SC, &m, NULL, 0), 0);
	assert_int_equal(m.vp.format, LPW_SMS_VP_ABSOLUTE);
	assert_time(&m.vp.absolute, 25, 2, 11, 12, 34, 56, -28); /* 0x8A: sign bit, tens 2, units 8 */
}

static void test_dcs(void **state)
{
	bool comp;
	assert_true(lpw_sms_dcs_is_8bit_data(0x04));
	assert_true(lpw_sms_dcs_is_8bit_data(0x15));   /* 8-bit, class 1 */
	assert_true(lpw_sms_dcs_is_8bit_data(0x16));   /* class 2 (SIM), §5.4.2.1.2 */
	assert_true(lpw_sms_dcs_is_8bit_data(0xF5));
	assert_true(lpw_sms_dcs_is_8bit_data(0x44));   /* automatic deletion group */
	assert_false(lpw_sms_dcs_is_8bit_data(0x14));  /* class 0 */
	assert_false(lpw_sms_dcs_is_8bit_data(0xF4));  /* class 0 */
	assert_false(lpw_sms_dcs_is_8bit_data(0x24));  /* compressed */
	assert_false(lpw_sms_dcs_is_8bit_data(0x00));
	assert_false(lpw_sms_dcs_is_8bit_data(0x08));
	assert_int_equal(lpw_sms_dcs_alphabet(0x08, &comp), LPW_SMS_ALPHABET_UCS2);
	assert_int_equal(lpw_sms_dcs_alphabet(0xE0, &comp), LPW_SMS_ALPHABET_UCS2);
	assert_int_equal(lpw_sms_dcs_alphabet(0x80, &comp), LPW_SMS_ALPHABET_GSM7); /* reserved group */
	assert_int_equal(lpw_sms_dcs_class(0x04), -1);
	assert_int_equal(lpw_sms_dcs_class(0x17), 3);
	assert_int_equal(lpw_sms_dcs_class(0xF6), 2);

	/* never class 0 */
	lpw_sms_t m = {.type = LPW_SMS_SUBMIT, .dcs = 0xF4};
	assert_int_equal(lpw_sms_addr_from_text(&m.addr, "+491234"), 0);
	uint8_t pdu[LPW_SMS_PDU_MAX];
	assert_int_equal(lpw_sms_encode(&m, true, pdu, sizeof(pdu), NULL), -EINVAL);
	m.dcs = 0x10;
	assert_int_equal(lpw_sms_encode(&m, true, pdu, sizeof(pdu), NULL), -EINVAL);
}

static void test_encode_errors(void **state)
{
	lpw_sms_t m = {.type = LPW_SMS_SUBMIT, .dcs = LPW_SMS_DCS_8BIT};
	uint8_t pdu[LPW_SMS_PDU_MAX];
	assert_int_equal(lpw_sms_addr_from_text(&m.addr, "+491234"), 0);
	m.ud_len = 141;
	assert_int_equal(lpw_sms_encode(&m, true, pdu, sizeof(pdu), NULL), -EINVAL);
	m.ud_len = 135; /* with an 8-bit concatenation header 134 at most */
	m.concat = (lpw_sms_concat_info_t){.present = true, .ref = 1, .total = 2, .seq = 1};
	assert_int_equal(lpw_sms_encode(&m, true, pdu, sizeof(pdu), NULL), -EINVAL);
	m.ud_len = 134;
	assert_true(lpw_sms_encode(&m, true, pdu, sizeof(pdu), NULL) > 0);
	assert_int_equal(lpw_sms_encode(&m, true, pdu, 20, NULL), -EMSGSIZE);
	m.concat.seq = 3; /* beyond the total */
	assert_int_equal(lpw_sms_encode(&m, true, pdu, sizeof(pdu), NULL), -EINVAL);
	m.concat = (lpw_sms_concat_info_t){.present = true, .ref = 256, .total = 2, .seq = 1};
	assert_int_equal(lpw_sms_encode(&m, true, pdu, sizeof(pdu), NULL), -EINVAL);
	m.concat.present = false;
	strcpy(m.addr.digits, "12x4");
	assert_int_equal(lpw_sms_encode(&m, true, pdu, sizeof(pdu), NULL), -EINVAL);
	m.dcs = 0; /* GSM 7-bit: septets only */
	strcpy(m.addr.digits, "1234");
	m.ud_len = 1;
	m.ud[0] = 0x80;
	assert_int_equal(lpw_sms_encode(&m, true, pdu, sizeof(pdu), NULL), -EINVAL);
	m.ud_len = 161;
	assert_int_equal(lpw_sms_encode(&m, true, pdu, sizeof(pdu), NULL), -EINVAL);

	lpw_sms_addr_t a;
	assert_int_equal(lpw_sms_addr_from_text(&a, "+"), -EINVAL);
	assert_int_equal(lpw_sms_addr_from_text(&a, "123456789012345678901"), -EINVAL);
	assert_int_equal(lpw_sms_addr_from_text(&a, "12 34"), -EINVAL);
	assert_int_equal(lpw_sms_addr_from_text(&a, "4917"), 0);
	assert_int_equal(a.ton, LPW_SMS_TON_UNKNOWN);
}

/* Decodes hex and expects rc with a reason containing want. */
static void assert_rejected(const char *hex, bool smsc, lpw_sms_dir_t dir, int rc, const char *want)
{
	uint8_t pdu[LPW_SMS_PDU_MAX + 16];
	size_t n = unhex(hex, pdu, sizeof(pdu));
	lpw_sms_t m;
	char why[160];
	assert_int_equal(lpw_sms_decode(pdu, n, smsc, dir, &m, why, sizeof(why)), rc);
	if (!strstr(why, want))
		fail_msg("reason \"%s\" lacks \"%s\"", why, want);
}

static void test_malformed(void **state)
{
	assert_rejected("", true, LPW_SMS_FROM_SC, -EBADMSG, "truncated in the SMSC address");
	assert_rejected("00", true, LPW_SMS_FROM_SC, -EBADMSG, "truncated in the first octet");
	assert_rejected("0C91", true, LPW_SMS_FROM_SC, -EBADMSG, "the SMSC address is 12 octets");
	assert_rejected("00041591", true, LPW_SMS_FROM_SC, -EBADMSG, "TP-OA length 21");
	assert_rejected("00040491F121", true, LPW_SMS_FROM_SC, -EBADMSG, "TP-OA has a filler at digit 2 of 4");
	/* 8-bit with UDL 141 */
	assert_rejected("0004039121F3000452201121436500" "8D", true, LPW_SMS_FROM_SC, -EBADMSG, "TP-UDL 141");
	/* UDL 5 but 3 octets */
	assert_rejected("0004039121F3000452201121436500" "05010203", true, LPW_SMS_FROM_SC, -EBADMSG,
			"truncated in TP-UD");
	/* a header longer than the user data */
	assert_rejected("0044039121F3000452201121436500" "03050001", true, LPW_SMS_FROM_SC, -EBADMSG,
			"does not fit");
	/* an element overrunning the header */
	assert_rejected("0044039121F3000452201121436500" "0403000401AA", true, LPW_SMS_FROM_SC, -EBADMSG,
			"overruns the header");
	/* a concatenation element of 4 octets with IEI 0x00 */
	assert_rejected("0044039121F3000452201121436500" "0706000401020304", true, LPW_SMS_FROM_SC, -EBADMSG,
			"concatenation element 0x00 has 4 octets");
	/* GSM 7-bit: UDL shorter than its own header */
	assert_rejected("0044039121F3000052201121436500" "06050003010201", true, LPW_SMS_FROM_SC, -EBADMSG,
			"shorter than the user data header");
	assert_rejected("0001", true, LPW_SMS_FROM_SC, -ENOTSUP, "SMS-SUBMIT-REPORT");
	assert_rejected("0002", true, LPW_SMS_TO_SC, -ENOTSUP, "SMS-COMMAND");
	assert_rejected("0000", true, LPW_SMS_TO_SC, -ENOTSUP, "SMS-DELIVER-REPORT");
	/* a status report cut inside TP-DT */
	assert_rejected("06000B910221815716F27090215101218070902151", false, LPW_SMS_FROM_SC, -EBADMSG,
			"truncated in TP-DT");

	/* every prefix of a good PDU is refused, and nothing is read past the end (ASan watches) */
	const char *good = "00440C91947101325476000452201121436500" "0A0500032A02014801DEAD";
	uint8_t pdu[64];
	size_t n = unhex(good, pdu, sizeof(pdu));
	for (size_t len = 0; len < n; len++) {
		uint8_t copy[64];
		memcpy(copy, pdu, len);
		lpw_sms_t m;
		char why[128] = "";
		assert_int_equal(lpw_sms_decode(copy, len, true, LPW_SMS_FROM_SC, &m, why, sizeof(why)), -EBADMSG);
		assert_true(why[0] != '\0');
	}
}

/* §9.2.3.24.1: part number 0 or beyond the total: the element is ignored, the message stands alone. */
static void test_concat_ignored(void **state)
{
	uint8_t pdu[64];
	size_t n = unhex("0044039121F3000452201121436500" "0705000301020341", pdu, sizeof(pdu));
	lpw_sms_t m;
	assert_int_equal(lpw_sms_decode(pdu, n, true, LPW_SMS_FROM_SC, &m, NULL, 0), 0);
	assert_false(m.concat.present);
	assert_int_equal(m.ud_len, 1);
	pdu[n - 2] = 0; /* part 0 */
	assert_int_equal(lpw_sms_decode(pdu, n, true, LPW_SMS_FROM_SC, &m, NULL, 0), 0);
	assert_false(m.concat.present);
}

static void test_hex(void **state)
{
	char out[8];
	uint8_t b[4];
	size_t n;
	assert_int_equal(lpw_sms_hex_encode((const uint8_t *)"\x01\xAB\xff", 3, out, sizeof(out)), 6);
	assert_string_equal(out, "01ABFF");
	assert_int_equal(lpw_sms_hex_encode((const uint8_t *)"\x01\xAB\xff\x00", 4, out, sizeof(out)), -ENOSPC);
	assert_int_equal(lpw_sms_hex_decode("01abFF", 6, b, sizeof(b), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(b, "\x01\xAB\xFF", 3);
	assert_int_equal(lpw_sms_hex_decode("01a", 3, b, sizeof(b), &n), -EINVAL);
	assert_int_equal(lpw_sms_hex_decode("0g", 2, b, sizeof(b), &n), -EINVAL);
	assert_int_equal(lpw_sms_hex_decode("0102030405", 10, b, sizeof(b), &n), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_deliver),
		cmocka_unit_test(test_published_submit),
		cmocka_unit_test(test_published_status_report),
		cmocka_unit_test(test_concat8_deliver),
		cmocka_unit_test(test_concat16_submit),
		cmocka_unit_test(test_gsm7_with_header),
		cmocka_unit_test(test_alphanumeric_sender),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_validity_period),
		cmocka_unit_test(test_dcs),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_concat_ignored),
		cmocka_unit_test(test_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
