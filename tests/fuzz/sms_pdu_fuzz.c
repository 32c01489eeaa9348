/* libFuzzer target: SMS PDUs as a modem reports them (TS 23.040; with or without the SMSC field, either
 * direction). The first byte picks the framing. A rejection must say why; what decodes and re-encodes must decode
 * again to the same addresses, concatenation and user data. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/sms/sms_pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lpw_sms_t msg, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool with_smsc = data[0] & 1;
	lpw_sms_dir_t dir = data[0] & 2 ? LPW_SMS_TO_SC : LPW_SMS_FROM_SC;
	char why[128] = "";
	int rc = lpw_sms_decode(data + 1, size - 1, with_smsc, dir, &msg, why, sizeof(why));
	if (rc < 0) {
		if ((rc != -EBADMSG && rc != -ENOTSUP) || !why[0])
			abort();
		return 0;
	}
	if (msg.ud_len > LPW_SMS_SEPTETS_MAX || msg.udh_len > LPW_SMS_UD_MAX || strlen(msg.addr.digits) > 20)
		abort();
	uint8_t out[LPW_SMS_PDU_MAX];
	size_t tpdu = 0;
	int n = lpw_sms_encode(&msg, with_smsc, out, sizeof(out), &tpdu);
	if (n < 0)
		return 0; /* e.g. message class 0 or alphanumeric addresses: decoded, never sent */
	if (tpdu > (size_t)n || lpw_sms_decode(out, (size_t)n, with_smsc, dir, &again, why, sizeof(why)) < 0)
		abort();
	if (again.type != msg.type || strcmp(again.addr.digits, msg.addr.digits) != 0 || again.ud_len != msg.ud_len ||
	    memcmp(again.ud, msg.ud, msg.ud_len) != 0 || again.concat.present != msg.concat.present ||
	    (msg.concat.present && (again.concat.ref != msg.concat.ref || again.concat.seq != msg.concat.seq ||
				    again.concat.total != msg.concat.total)))
		abort();
	/* the hex form AT PDU mode carries */
	char hex[LPW_SMS_HEX_MAX + 1];
	uint8_t back[LPW_SMS_PDU_MAX];
	size_t blen = 0;
	int h = lpw_sms_hex_encode(out, (size_t)n, hex, sizeof(hex));
	if (h < 0 || lpw_sms_hex_decode(hex, (size_t)h, back, sizeof(back), &blen) < 0 || blen != (size_t)n ||
	    memcmp(back, out, blen) != 0)
		abort();
	return 0;
}
