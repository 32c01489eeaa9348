/* The interface every binding implements, and the host interface through which a binding reaches the router.
 * The router knows bindings only through these two structs (it never includes a binding's header). */
#ifndef LPW_BINDING_H
#define LPW_BINDING_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Delivery outcome of a downlink, for bindings that learn it (SCEF delivery status, LoRaWAN confirmed). */
typedef enum { LPW_DELIVERY_OK, LPW_DELIVERY_FAILED, LPW_DELIVERY_UNKNOWN } lpw_delivery_t;

/* What a binding calls. identity is the binding identity in the configuration's normalised form; data is
 * borrowed for the call. */
typedef struct {
	/* server: the binding's own addressing of the device's servers (LoRaWAN FPort), else LPW_SERVER_ANY. */
	void (*uplink)(void *router, lpw_binding_kind_t kind, const char *identity, int server, const uint8_t *data,
	               size_t len);
	/* The device listens for window_ms from now (it just sent something, or opened RX windows). */
	void (*reachable)(void *router, lpw_binding_kind_t kind, const char *identity, uint32_t window_ms);
	/* The binding gave up on the server request it was carrying (LPW_DELIVERY_FAILED). */
	void (*outcome)(void *router, lpw_binding_kind_t kind, const char *identity, lpw_delivery_t outcome);
	/* How many server requests wait for the device (LoRaWAN FPending). */
	size_t (*queued)(void *router, lpw_binding_kind_t kind, const char *identity);
	void *router;
} lpw_binding_host_t;

/* What the router calls. self is the binding's own state. */
typedef struct {
	const char *name;
	lpw_binding_kind_t kind;
	/* Sends datagram CoAP bytes to the device. data borrowed. 0, or -errno (-EHOSTUNREACH: the device's
	 * address is not known yet; -EMSGSIZE: too large for the path). */
	int (*send)(void *self, const lpw_config_device_t *dev, int server, const uint8_t *data, size_t len);
	/* Retransmission of CoAP CONs by the proxy is wanted (plain CoAP over UDP); false when the binding has its
	 * own delivery rules. */
	int proxy_retransmits;
	void (*free)(void *self);
} lpw_binding_ops_t;

typedef struct {
	const lpw_binding_ops_t *ops;
	void *self;
} lpw_binding_t;

#endif
