/* OSCORE events of the test LwM2M server. */
#include "tools/lwm2m-test-server/wire.h"

#include "tools/lwm2m-test-server/emit.h"
#include "tools/oscore/oscore.h"

void lpw_wire_emit(const char *direction, const coap_pdu_t *pdu)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt = coap_check_option(pdu, 9, &it);
	size_t len = 0;
	const uint8_t *data = NULL;
	coap_get_data(pdu, &len, &data);
	bool request = ((unsigned int)coap_pdu_get_code(pdu) >> 5) == 0;
	json_t *ev = json_pack("{s:s, s:s, s:s}", "event", "oscore-wire", "direction", direction, "kind",
	                       request ? "request" : "response");
	if (ev) {
		json_object_set_new(ev, "option_hex",
		                    opt ? lpw_emit_hex(coap_opt_value(opt), coap_opt_length(opt)) : json_null());
		json_object_set_new(ev, "payload_hex", lpw_emit_hex(data, len));
	}
	lpw_emit(ev);
}

void lpw_wire_error(const char *kind, int err, coap_pdu_code_t answered)
{
	char code[5];
	json_t *ev = json_pack("{s:s, s:s, s:s}", "event", "oscore-error", "kind", kind, "detail",
	                       lpw_oscore_strerror(err));
	if (ev && answered) {
		lpw_emit_code((uint8_t)answered, code);
		json_object_set_new(ev, "code", json_string(code));
	} else if (ev) {
		json_object_set_new(ev, "code", json_null());
	}
	lpw_emit(ev);
}
