/* device-sim link interface: how a simulated device's CoAP datagrams reach the gateway (UDP, LoRaWAN, SMS, SCEF). */
#ifndef LPW_DEVSIM_LINK_H
#define LPW_DEVSIM_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
	/* Sends one datagram (data borrowed for the call). 0 or -errno. */
	int (*send)(void *ctx, const uint8_t *data, size_t len);
	/* Receives one datagram into buf: its length, -EAGAIN when none is waiting, other -errno on failure.
	 * May be NULL when fd is -1. */
	ssize_t (*recv)(void *ctx, uint8_t *buf, size_t cap);
	/* Polled for EPOLLIN by the client; -1 when the link's owner feeds lpw_devsim_client_input() itself. */
	int fd;
	/* Largest datagram the link carries. */
	size_t mtu;
	/* Borrowed: must outlive every client using the link. */
	void *ctx;
} lpw_devsim_link_t;

#endif
