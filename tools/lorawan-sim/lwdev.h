/* lorawan-sim device: one simulated LoRaWAN 1.0.3 Class A end device (OTAA or ABP) carrying a device-sim LwM2M
 * client, with the device side of LwM2M 1.1.1 Appendix C (CoAP retransmission replaced by RX-window openings). */
#ifndef LPW_LWSIM_LWDEV_H
#define LPW_LWSIM_LWDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bindings/lorawan/lw_crypto.h"
#include "bindings/lorawan/lw_region.h"
#include "core/loop.h"
#include "hal/pktfwd_json.h"
#include "tools/device-sim/client.h"

/* LwM2M 1.1.1 App. C.2 */
#define LPW_LWDEV_MAX_RETRANSMIT 4
/* Uplinks the client may have waiting for the radio; more is refused with -ENOBUFS. */
#define LPW_LWDEV_QUEUE_MAX 8

typedef struct lpw_lwdev lpw_lwdev_t;

/* One event as a one-line JSON object carrying "dev" (the device index); json is borrowed for the call. */
typedef void (*lpw_lwdev_event_cb)(void *arg, const char *json);

/* The air between the device and its packet forwarder. */
typedef struct {
	/* Transmits phy (borrowed for the call) now at freq_hz / dr. *out_tmst receives the forwarder's µs counter
	 * for the packet (see lpw_lwdev_tmst). Returns 0 when sent, 1 when loss injection dropped it before it was
	 * sent (the device cannot know: it behaves as if sent), -errno on a local failure. */
	int (*uplink)(void *ctx, lpw_lwdev_t *dev, const uint8_t *phy, size_t len, uint32_t freq_hz, unsigned dr,
		      uint32_t *out_tmst);
	void *ctx; /* borrowed */
} lpw_lwdev_radio_t;

typedef struct {
	unsigned index; /* "dev" in events */
	bool otaa;
	uint8_t dev_eui[8], join_eui[8]; /* printed (big-endian) order */
	uint8_t app_key[LW_KEY_LEN];     /* OTAA */
	uint32_t dev_addr;               /* ABP */
	uint8_t nwk_skey[LW_KEY_LEN], app_skey[LW_KEY_LEN];
	enum lw_region_id region;
	unsigned dr;                     /* uplink data rate (EU868 DR5 = SF7BW125) */
	uint8_t fport;                   /* 1..223: the LwM2M server's FPort (lorawan://{FPort}) */
	bool confirmed;                  /* ConfirmedDataUp (App. C.3.1.1) or UnconfirmedDataUp (C.3.2.1) */
	uint32_t uplink_interval_ms;     /* "when the device is available" again after an uplink */
	uint32_t poll_interval_ms;       /* idle: an Empty message this long after the last uplink; 0 = never */
	uint32_t join_retry_ms;          /* between Join-Requests that got no answer; at least the join windows */
	uint32_t rx_tolerance_us;        /* how far a downlink's tmst may be from the RX window start */
	unsigned max_retransmit;         /* App. C MAX_RETRANSMIT; 0 means 4 */
	uint32_t dev_nonce_seed;         /* 0: from getrandom(), so restarts do not reuse DevNonces */
	bool auto_register;              /* Register as soon as the session exists (after the join for OTAA) */
	bool adr;                        /* set the ADR bit: the network may steer DR, power and channels */
	bool ignore_mac;                 /* neither apply nor answer the network's MAC requests (a broken device) */
	/* The LwM2M client; endpoint etc. are copied. on_event/event_arg are replaced (its events come out of
	 * this device's on_event with "dev" added); retransmit is forced off (App. C replaces it). */
	lpw_devsim_config_t client;
	lpw_lwdev_event_cb on_event;
	void *event_arg; /* borrowed */
} lpw_lwdev_config_t;

/* Fills the defaults: EU868 DR5, FPort 1, unconfirmed, 5 s uplink interval, no polling, join retry 10 s,
 * tolerance 20 ms, MAX_RETRANSMIT 4, auto-register on, device-sim client defaults with a 30-day lifetime. */
void lpw_lwdev_config_defaults(lpw_lwdev_config_t *cfg);

/* loop and radio->ctx are borrowed and must outlive the device; cfg and radio are copied. Nothing is sent
 * before lpw_lwdev_start(). NULL on a bad configuration or allocation failure (logged). */
lpw_lwdev_t *lpw_lwdev_new(lpw_loop_t *loop, const lpw_lwdev_radio_t *radio, const lpw_lwdev_config_t *cfg);
/* Accepts NULL. Sends nothing. */
void lpw_lwdev_free(lpw_lwdev_t *dev);

/* OTAA: the first Join-Request goes after delay_ms; ABP: the session exists at once (and Register is queued
 * when auto_register). -EALREADY when started before. */
int lpw_lwdev_start(lpw_lwdev_t *dev, int64_t delay_ms);

/* The LwM2M client (borrowed, lives as long as dev), for register/update/send commands. */
lpw_devsim_client_t *lpw_lwdev_client(lpw_lwdev_t *dev);

/* Asks for a CoAP Empty message in the next uplink opportunity (opens RX windows). */
void lpw_lwdev_send_empty(lpw_lwdev_t *dev);

/* A downlink the forwarder was told to send (tx borrowed for the call). The device claims it when it is for
 * it: a data frame for its DevAddr, or a Join-Accept whose MIC verifies under its AppKey while it joins.
 * A claimed frame is then received at its tmst if that falls in RX1 or RX2 (± rx_tolerance_us) of the last
 * uplink on the right frequency and data rate (at once for imme), else it is lost with a "downlink-lost"
 * event; lost (loss injection) drops it the same way. Returns 0 claimed (whatever became of it), -ENOENT
 * not this device's, -ETIME claimed but its tmst has already passed (the forwarder answers TOO_LATE). */
int lpw_lwdev_offer(lpw_lwdev_t *dev, const lpw_txpk_t *tx, bool lost);

bool lpw_lwdev_joined(const lpw_lwdev_t *dev);
/* The session's DevAddr (0 before a join). */
uint32_t lpw_lwdev_dev_addr(const lpw_lwdev_t *dev);
unsigned lpw_lwdev_index(const lpw_lwdev_t *dev);
/* The uplink frame counter the next data frame will carry. */
uint32_t lpw_lwdev_fcnt_up(const lpw_lwdev_t *dev);

/* The forwarder's µs counter at loop time now_ms (wraps at 2^32 like a concentrator's). */
static inline uint32_t lpw_lwdev_tmst(int64_t now_ms)
{
	return (uint32_t)((uint64_t)now_ms * 1000u);
}

#endif
