/* device-sim SMS link: the device is an MSISDN on tools/modem-sim's simulated SMS network. One UDP socket to the
 * sim's side channel (see tools/modem-sim/modem.h): "HELLO MSISDN raw" at start, "SEND MSISDN HEX" per CoAP
 * datagram (the sim cuts it into concatenated 8-bit SMS towards the gateway's modem), and "DATA FROM HEX" back
 * for each whole message the gateway sent (the sim reassembled its SMS). */
#ifndef LPW_DEVSIM_LINK_SMS_H
#define LPW_DEVSIM_LINK_SMS_H

#include <stdint.h>

#include "tools/device-sim/link.h"

typedef struct lpw_devsim_sms lpw_devsim_sms_t;

/* msisdn: the device's number (digits, '+' allowed; copied); sim_host:sim_port the side channel. NULL on failure
 * (logged). */
lpw_devsim_sms_t *lpw_devsim_sms_new(const char *msisdn, const char *sim_host, uint16_t sim_port);
void lpw_devsim_sms_free(lpw_devsim_sms_t *l);
lpw_devsim_link_t lpw_devsim_sms_link(lpw_devsim_sms_t *l);

#endif
