/* OSCORE events of the test LwM2M server: what went over the wire with an OSCORE option (so tests can compare it
 * byte for byte with what the device sent through the gateway), and what failed to verify. */
#ifndef LPW_TS_WIRE_H
#define LPW_TS_WIRE_H

#include <coap3/coap.h>

/* {"event":"oscore-wire","direction":"in|out","kind":"request|response","option_hex":"..","payload_hex":".."}
 * for pdu (borrowed); option_hex is null when pdu has no OSCORE option. */
void lpw_wire_emit(const char *direction, const coap_pdu_t *pdu);

/* {"event":"oscore-error","kind":"request|response","detail":"..","code":"4.01"|null} for err, a negative
 * errno of tools/oscore; answered: the CoAP code sent back unprotected, 0 when nothing was. */
void lpw_wire_error(const char *kind, int err, coap_pdu_code_t answered);

#endif
