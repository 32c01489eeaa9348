/* device-sim plain UDP link: one socket bound to the device's own address, connected to the gateway's SGi port. */
#ifndef LPW_DEVSIM_LINK_UDP_H
#define LPW_DEVSIM_LINK_UDP_H

#include <stdint.h>

#include "tools/device-sim/link.h"

typedef struct lpw_devsim_udp lpw_devsim_udp_t;

/* Binds bind_addr (numeric IPv4/IPv6, e.g. "127.0.0.2"; copied) on an ephemeral port and connects to
 * gw_host:gw_port (numeric or a name; copied), so only the gateway's datagrams are received. The gateway tells
 * devices apart by their source address. NULL on failure (logged). */
lpw_devsim_udp_t *lpw_devsim_udp_new(const char *bind_addr, const char *gw_host, uint16_t gw_port);
/* Closes the socket. Accepts NULL. */
void lpw_devsim_udp_free(lpw_devsim_udp_t *u);
/* The link view of u; borrowed: u must outlive its users. */
lpw_devsim_link_t lpw_devsim_udp_link(lpw_devsim_udp_t *u);

#endif
