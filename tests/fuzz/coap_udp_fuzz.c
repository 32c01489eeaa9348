/* libFuzzer target: datagram CoAP parse; what parses must re-encode byte-identical and re-parse. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/coap_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		coap_set_log_level(LOG_EMERG); /* libcoap warns about every bad option length */
		quiet = 1;
	}
	const char *why = NULL;
	coap_pdu_t *pdu = lpw_coap_parse_udp(data, size, &why);
	if (!pdu) {
		if (!why)
			abort(); /* a rejection must always say why */
		return 0;
	}
	uint8_t *out = malloc(size ? size : 1);
	if (!out)
		abort();
	ssize_t n = lpw_coap_encode_udp(pdu, out, size);
	if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
		abort(); /* parse + encode must be the identity */
	if (size > 4 && lpw_coap_encode_udp(pdu, out, size - 1) != -ENOSPC)
		abort();
	char line[160];
	lpw_coap_describe(pdu, line, sizeof(line));
	coap_pdu_t *again = lpw_coap_parse_udp(out, (size_t)n, &why);
	if (!again)
		abort();
	coap_delete_pdu(again);
	coap_delete_pdu(pdu);
	free(out);
	return 0;
}
