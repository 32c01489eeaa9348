/* The seam between the LoRaWAN network server (radio frames, keys, counters, RX timing) and the application server
 * (FPort routing, LwM2M App. C, reachability). Today's network server is lw_ns_udp.c (Semtech packet forwarders);
 * a later one (ChirpStack's MQTT integration) implements the same ops, and the application server does not change. */
#ifndef LPW_LW_NS_H
#define LPW_LW_NS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bindings/device.h"
#include "config/config.h"

typedef enum {
	LW_TX_SENT,   /* the forwarder took it for the RX window (TX_ACK NONE); unconfirmed downlinks end here */
	LW_TX_ACKED,  /* a confirmed downlink was acknowledged (ACK bit in the device's next uplink) */
	LW_TX_FAILED, /* not transmitted (too late, duty cycle, forwarder down) or a confirmed one not acknowledged */
} lw_tx_result_t;

/* What the network server tells the application server. All called from the loop; dev is the device table's
 * handle (the network server keeps its own state in the device's LPW_SLOT_NETWORK). */
typedef struct {
	/* An application uplink (FPort >= 1, FRMPayload decrypted; a retransmitted frame, same FCnt, comes again so
	 * that the application can answer it again). data is borrowed for the call. Returns true when an answer may
	 * follow in these RX windows (a request went on to its server): the network server then holds the ACK of a
	 * confirmed uplink and its MAC answers for it; false lets them go at once, in RX1. */
	bool (*uplink)(void *as, lpw_device_t *dev, uint8_t fport, const uint8_t *data, size_t len,
	               bool confirmed);
	/* The device's RX windows after an uplink (any uplink, also a MAC-only one): a downlink queued with send()
	 * before deadline_ms still goes out in them. Called after uplink(). */
	void (*rx_open)(void *as, lpw_device_t *dev, int64_t deadline_ms);
	/* What became of a downlink queued with send(). */
	void (*tx_result)(void *as, lpw_device_t *dev, uint32_t handle, lw_tx_result_t result);
	/* An OTAA device joined (new session). */
	void (*joined)(void *as, lpw_device_t *dev);
	void *as;
} lw_as_hooks_t;

typedef struct {
	/* Queues one application downlink for the device's current RX windows if still open, else its next ones.
	 * One downlink waits per device at a time: -EBUSY while one waits. -EMSGSIZE if len exceeds the FRMPayload
	 * limit at the device's current data rate (never truncated). more: set FPending (more is queued).
	 * confirmed: a confirmed downlink. data is copied. *out_handle names it in tx_result. */
	int (*send)(void *ns, lpw_device_t *dev, uint8_t fport, const uint8_t *data, size_t len,
	            bool confirmed, bool more, uint32_t *out_handle);
	/* The largest FRMPayload the device can receive now (RX1 data rate of its last uplink). */
	size_t (*max_payload)(void *ns, const lpw_device_t *dev);
	/* The largest FRMPayload of the region's fastest data rate: what the device may ever receive. */
	size_t (*max_payload_ever)(void *ns, const lpw_device_t *dev);
	/* A device joins or leaves the network server (start-up and reload). device_add opens its session (ABP keys
	 * from the configuration, counters and OTAA sessions from the store): 0 or -errno, logged. */
	int (*device_add)(void *ns, lpw_device_t *dev);
	void (*device_remove)(void *ns, lpw_device_t *dev);
	/* A new configuration replaces the running one (the network-server settings that need a restart are
	 * reported and counted, the rest applies). */
	int (*reconfigure)(void *ns, const lpw_config_t *cfg, FILE *report);
	void (*free)(void *ns);
	/* Forgets the device's OTAA session: it must join again (lpwagw-ctl reset-session). 0, -EOPNOTSUPP for an
	 * ABP device, -ENOENT for a device the network server does not know, -EIO. May be NULL (not supported). */
	int (*reset_session)(void *ns, lpw_device_t *dev);
} lw_ns_ops_t;

typedef struct {
	const lw_ns_ops_t *ops;
	void *self;
} lw_ns_t;

#endif
