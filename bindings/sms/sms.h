/* The SMS binding (LwM2M 1.1.1 §6.8.3, §5.4, seed 001): CoAP over SMS through a cellular modem on a serial port.
 * hal/serial carries the bytes, the AT engine (sms_at.h) speaks TS 27.005 PDU mode, the PDU codec and the
 * concatenation module turn CoAP datagrams into 8-bit SMS and back. A device is its MSISDN (the device table's
 * identity, found through host->find); an SMS from any other number is dropped and counted (§5.4). CoAP
 * retransmission is off (§6.8.3): a CON the device leaves unanswered for response_timeout fails (the server gets
 * 5.04). The device is reachable for reachable_window after it sent something. Outgoing SMS are rate-limited per
 * device and in total. */
#ifndef LPW_BINDING_SMS_H
#define LPW_BINDING_SMS_H

#include "bindings/binding.h"

/* The registry row's create: opens the modem's port (retried in the background while it is absent). */
int lpw_sms_create(const lpw_binding_env_t *env, lpw_binding_t *out);

/* The registry row's enabled: bindings.sms.enabled, or a device uses the binding (refused loudly then). */
bool lpw_sms_enabled(const lpw_config_t *cfg);

#endif
