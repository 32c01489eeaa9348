/* libFuzzer target: ChirpStack v4 integration events (bindings/lorawan/lw_cs_json.c). The first byte picks the
 * event kind (its topic level), the rest is the body. A rejection must say why; what parses must be sane, and an
 * uplink's data must survive the downlink encoder and decode back to the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/lorawan/lw_cs_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lw_cs_event_t ev, again;

static void check_round_trip(void)
{
	char body[512], up[800], why[160];
	if (ev.fport == 0 || ev.fport > 223)
		return;
	if (lw_cs_down_encode("9a1bc7e0-8f3e-4c1a-9b2d-0e4f5a6b7c8d", ev.dev_eui, ev.fport, ev.confirmed, ev.data, ev.len,
	                      body, sizeof(body)) < 0)
		abort();
	const char *b64 = strstr(body, "\"data\":\"");
	if (!b64)
		abort();
	b64 += 8;
	int n = snprintf(up, sizeof(up), "{\"deviceInfo\":{\"devEui\":\"%s\"},\"fPort\":%u,\"data\":\"%.*s\"}", ev.dev_eui,
	                 ev.fport, (int)(strchr(b64, '"') - b64), b64);
	if (lw_cs_event_parse(LW_CS_UP, up, (size_t)n, &again, why, sizeof(why)) != 0 || again.len != ev.len ||
	    memcmp(again.data, ev.data, ev.len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[160];
	if (size < 1)
		return 0;
	lw_cs_kind_t kind = (lw_cs_kind_t)(data[0] % LW_CS_KIND_COUNT);
	int rc = lw_cs_event_parse(kind, data + 1, size - 1, &ev, why, sizeof(why));
	if (rc != 0) {
		if (why[0] == '\0')
			abort(); /* a refusal always has its reason */
		return 0;
	}
	if (strlen(ev.dev_eui) != 16 || strspn(ev.dev_eui, "0123456789ABCDEF") != 16 || ev.len > LW_CS_MAX_DATA ||
	    ev.kind != kind || ev.dr > 15 || ev.sf > 12)
		abort();
	if (kind == LW_CS_UP)
		check_round_trip();
	return 0;
}
