/* libFuzzer target: LoRaWAN PHYPayload parse (any bytes); what parses as a data frame must rebuild
 * byte-identical, and its FOpts go through the MAC command parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/lorawan/lw_frame.h"
#include "bindings/lorawan/lw_mac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lw_frame f;
	const char *why = NULL;
	if (lw_frame_parse(data, size, &f, &why) != 0) {
		if (!why)
			abort(); /* a rejection must always say why */
		return 0;
	}
	if (f.mtype == LW_MTYPE_JOIN_REQUEST) {
		uint8_t out[LW_JOIN_REQUEST_LEN];
		if (lw_frame_build_join_request(&f.u.join, f.mic, out, sizeof(out)) != 0 ||
			memcmp(out, data, sizeof(out)) != 0)
			abort();
		return 0;
	}
	if (!lw_mtype_is_data(f.mtype))
		return 0;
	uint8_t out[LW_PHY_MAX];
	size_t n = 0;
	if (lw_frame_build_data(f.mtype, &f.u.data, f.mic, out, sizeof(out), &n) != 0 || n != size ||
		memcmp(out, data, size) != 0)
		abort(); /* parse + build must be the identity */
	struct lw_mac_cmd cmd[LW_FOPTS_MAX];
	size_t ncmd = 0;
	struct lw_mac_counters cnt = { 0 };
	int rc = lw_mac_parse_uplink(f.u.data.fopts, f.u.data.fopts_len, cmd, LW_FOPTS_MAX, &ncmd, &cnt, &why);
	if (ncmd > LW_FOPTS_MAX || (rc == 0 && cnt.unknown + cnt.truncated != 0))
		abort();
	return 0;
}
