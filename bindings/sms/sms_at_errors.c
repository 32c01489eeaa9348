/* The meaning of +CMS ERROR and +CME ERROR codes: TS 27.005 §3.2.5 (with TS 24.011 Table 8.4 / Annex E-2 for
 * 0..127 and TS 23.040 §9.2.3.22 for 128..255) and TS 27.007 §9.2.1, §9.2.2. */
#include "bindings/sms/sms_at_line.h"

#include <stddef.h>

struct code_text {
	int code;
	const char *text;
};

static const struct code_text cms[] = {
	/* TS 24.011 Table 8.4 (RP-Cause), as TS 27.005 §3.2.5 passes them on */
	{1, "unassigned (unallocated) number"},
	{8, "operator determined barring"},
	{10, "call barred"},
	{21, "short message transfer rejected"},
	{22, "memory capacity exceeded"},
	{27, "destination out of order"},
	{28, "unidentified subscriber"},
	{29, "facility rejected"},
	{30, "unknown subscriber"},
	{38, "network out of order"},
	{41, "temporary failure"},
	{42, "congestion"},
	{47, "resources unavailable, unspecified"},
	{50, "requested facility not subscribed"},
	{69, "requested facility not implemented"},
	{81, "invalid short message transfer reference value"},
	{95, "invalid message, unspecified"},
	{96, "invalid mandatory information"},
	{97, "message type non-existent or not implemented"},
	{98, "message not compatible with short message protocol state"},
	{99, "information element non-existent or not implemented"},
	{111, "protocol error, unspecified"},
	{127, "interworking, unspecified"},
	/* TS 23.040 §9.2.3.22 (TP-Failure-Cause) */
	{128, "telematic interworking not supported"},
	{129, "short message type 0 not supported"},
	{130, "cannot replace short message"},
	{143, "unspecified TP-PID error"},
	{144, "data coding scheme (alphabet) not supported"},
	{145, "message class not supported"},
	{159, "unspecified TP-DCS error"},
	{160, "command cannot be actioned"},
	{161, "command unsupported"},
	{175, "unspecified TP-Command error"},
	{176, "TPDU not supported"},
	{192, "SC busy"},
	{193, "no SC subscription"},
	{194, "SC system failure"},
	{195, "invalid SME address"},
	{196, "destination SME barred"},
	{197, "SM rejected: duplicate SM"},
	{198, "TP-VPF not supported"},
	{199, "TP-VP not supported"},
	{208, "(U)SIM SMS storage full"},
	{209, "no SMS storage capability in (U)SIM"},
	{210, "error in MS"},
	{211, "memory capacity exceeded"},
	{212, "(U)SIM Application Toolkit busy"},
	{213, "(U)SIM data download error"},
	{255, "unspecified error cause"},
	/* TS 27.005 §3.2.5: the ME or TA itself */
	{300, "ME failure"},
	{301, "SMS service of ME reserved"},
	{302, "operation not allowed"},
	{303, "operation not supported"},
	{304, "invalid PDU mode parameter"},
	{305, "invalid text mode parameter"},
	{310, "(U)SIM not inserted"},
	{311, "(U)SIM PIN required"},
	{312, "PH-(U)SIM PIN required"},
	{313, "(U)SIM failure"},
	{314, "(U)SIM busy"},
	{315, "(U)SIM wrong"},
	{316, "(U)SIM PUK required"},
	{317, "(U)SIM PIN2 required"},
	{318, "(U)SIM PUK2 required"},
	{320, "memory failure"},
	{321, "invalid memory index"},
	{322, "memory full"},
	{330, "SMSC address unknown"},
	{331, "no network service"},
	{332, "network timeout"},
	{340, "no +CNMA acknowledgement expected"},
	{500, "unknown error"},
};

static const struct code_text cme[] = {
	/* TS 27.007 §9.2.1 */
	{0, "phone failure"},
	{1, "no connection to phone"},
	{2, "phone-adaptor link reserved"},
	{3, "operation not allowed"},
	{4, "operation not supported"},
	{5, "PH-SIM PIN required"},
	{6, "PH-FSIM PIN required"},
	{7, "PH-FSIM PUK required"},
	{10, "SIM not inserted"},
	{11, "SIM PIN required"},
	{12, "SIM PUK required"},
	{13, "SIM failure"},
	{14, "SIM busy"},
	{15, "SIM wrong"},
	{16, "incorrect password"},
	{17, "SIM PIN2 required"},
	{18, "SIM PUK2 required"},
	{20, "memory full"},
	{21, "invalid index"},
	{22, "not found"},
	{23, "memory failure"},
	{24, "text string too long"},
	{25, "invalid characters in text string"},
	{26, "dial string too long"},
	{27, "invalid characters in dial string"},
	{30, "no network service"},
	{31, "network timeout"},
	{32, "network not allowed - emergency calls only"},
	{40, "network personalization PIN required"},
	{41, "network personalization PUK required"},
	{42, "network subset personalization PIN required"},
	{43, "network subset personalization PUK required"},
	{44, "service provider personalization PIN required"},
	{45, "service provider personalization PUK required"},
	{46, "corporate personalization PIN required"},
	{47, "corporate personalization PUK required"},
	{100, "unknown"},
	/* TS 27.007 §9.2.2 (GPRS and packet domain) */
	{103, "illegal MS"},
	{106, "illegal ME"},
	{107, "GPRS services not allowed"},
	{111, "PLMN not allowed"},
	{112, "location area not allowed"},
	{113, "roaming not allowed in this location area"},
	{132, "service option not supported"},
	{133, "requested service option not subscribed"},
	{134, "service option temporarily out of order"},
	{148, "unspecified GPRS error"},
	{149, "PDP authentication failure"},
	{150, "invalid mobile class"},
};

/* The tables are sorted by code: a binary search. */
static const char *find(const struct code_text *t, size_t n, int code)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t[mid].code == code)
			return t[mid].text;
		if (t[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *lpw_sms_at_cms_text(int code)
{
	const char *t = find(cms, sizeof(cms) / sizeof(cms[0]), code);
	if (t)
		return t;
	if (code >= 512)
		return "manufacturer-specific error";
	if (code >= 0 && code < 128)
		return "unknown network (RP) cause";
	if (code >= 128 && code < 256)
		return "unknown TP-Failure-Cause";
	return "unknown error";
}

const char *lpw_sms_at_cme_text(int code)
{
	const char *t = find(cme, sizeof(cme) / sizeof(cme[0]), code);
	return t ? t : code >= 256 ? "manufacturer-specific error" : "unknown error";
}
