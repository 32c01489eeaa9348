/* libFuzzer target: the first-message (CSM) check of upstream sessions. Every verdict must be consistent:
 * NEED asks for more than it got, OK lengths fit, a refusal says why, and the verdict never changes when
 * more bytes follow a decided prefix. */
#include <stdint.h>
#include <stdlib.h>

#include "proxy/csm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lpw_csm_result_t r = lpw_csm_check(data, size, LPW_CSM_MAX);
	switch (r.verdict) {
	case LPW_CSM_NEED:
		if (r.need <= size || r.need > LPW_CSM_MAX + 6)
			abort();
		break;
	case LPW_CSM_OK:
		if (r.len < 2 || r.len > size || r.len > LPW_CSM_MAX)
			abort();
		/* the decided prefix alone gives the same verdict */
		if (lpw_csm_check(data, (size_t)r.len, LPW_CSM_MAX).verdict != LPW_CSM_OK)
			abort();
		break;
	case LPW_CSM_TOO_LARGE:
		if (r.len <= LPW_CSM_MAX || !r.reason)
			abort();
		break;
	default:
		if (!r.reason)
			abort();
		break;
	}
	uint8_t abort_buf[64];
	if (size && lpw_csm_abort(abort_buf, sizeof(abort_buf), (uint16_t)data[0], r.reason) < 2)
		abort();
	return 0;
}
