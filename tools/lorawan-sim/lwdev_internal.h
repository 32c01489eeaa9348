/* lorawan-sim device internals, shared by lwdev.c (MAC) and lwdev_sched.c (App. C schedule, RX windows) and
 * nothing else. */
#ifndef LPW_LWSIM_LWDEV_INTERNAL_H
#define LPW_LWSIM_LWDEV_INTERNAL_H

#include <jansson.h>

#include "bindings/lorawan/lw_frame.h"
#include "tools/lorawan-sim/lwdev.h"

#define LWDEV_NONCE_HISTORY 64
#define LWDEV_CHANNELS 72 /* US915/AU915: 64 + 8 */

struct lwdev_qmsg {
	uint8_t b[LW_PHY_MAX];
	size_t len;
};

/* A claimed downlink waiting for its tmst (RX1 or RX2). */
struct lwdev_rxslot {
	lpw_lwdev_t *dev;
	lpw_timer_t timer;
	bool used;
	uint8_t phy[LW_PHY_MAX];
	size_t len;
};

struct lpw_lwdev {
	lpw_loop_t *loop;
	lpw_lwdev_radio_t radio;
	lpw_lwdev_config_t cfg;
	char endpoint[17]; /* DevEUI, 16 upper-case hex digits */
	lpw_devsim_client_t *client;
	size_t mtu;
	bool started, joined;
	int64_t start_at;
	/* the session */
	uint32_t dev_addr;
	uint8_t nwk_skey[LW_KEY_LEN], app_skey[LW_KEY_LEN];
	uint32_t fcnt_up, fcnt_down;
	bool have_down;
	unsigned rx1_delay_s, rx1_dr_offset, rx2_dr;
	/* joining */
	uint32_t nonce_state;
	uint16_t dev_nonce;
	uint16_t used_nonces[LWDEV_NONCE_HISTORY];
	size_t n_used;
	/* the last uplink and its RX windows */
	bool have_up, up_join, up_confirmed, rx1_got;
	int64_t up_ms;
	uint32_t up_tmst, up_freq;
	unsigned chan;
	struct lwdev_rxslot rx[2];
	/* the channel plan (defaults, then CFList and LinkADRReq) and the MAC answers the next uplink carries */
	uint32_t ch_hz[LWDEV_CHANNELS];
	bool ch_on[LWDEV_CHANNELS];
	unsigned nch;
	unsigned tx_power, nb_trans;
	uint8_t mac_out[LW_FOPTS_MAX];
	size_t mac_out_len;
	/* what the next uplink owes the network */
	bool need_ack, fpending, empty_req;
	/* the client's datagrams waiting for the radio, oldest first */
	struct lwdev_qmsg q[LPW_LWDEV_QUEUE_MAX];
	size_t qlen;
	/* App. C: the CON in flight (NSTART 1) and how many RX-window openings it has had */
	struct {
		bool active;
		uint16_t mid;
		struct lwdev_qmsg msg;
		unsigned steps;
	} con;
	uint16_t empty_mid;
	lpw_timer_t tx_timer;
};

/* lwdev.c */
json_t *lpw_lwdev_event_new(const char *name);
/* Adds "dev", emits and drops the reference. */
void lpw_lwdev_emit(lpw_lwdev_t *dev, json_t *ev);
void lpw_lwdev_emit_lost(lpw_lwdev_t *dev, const char *reason, int window);
int lpw_lwdev_send_join(lpw_lwdev_t *dev);
/* One data uplink carrying coap (a CoAP message, borrowed); kind is "coap" or "empty". */
int lpw_lwdev_send_data(lpw_lwdev_t *dev, const uint8_t *coap, size_t len, const char *kind);
/* A received downlink (window 1, 2, or 0 for imme). */
void lpw_lwdev_deliver(lpw_lwdev_t *dev, const uint8_t *phy, size_t len, int window);
void lpw_lwdev_rx_due(lpw_timer_t *t, int64_t now_ms);
/* Whether phy is a Join-Accept that decrypts and verifies under dev's AppKey. */
bool lpw_lwdev_join_accept_ok(const lpw_lwdev_t *dev, const uint8_t *phy, size_t len);

/* lwdev_mac.c */
/* The region's default channels (US915/AU915: sub-band 1, as a device configured for the usual gateway). */
void lpw_lwdev_plan_defaults(lpw_lwdev_t *dev);
/* A Join-Accept's CFList (16 bytes): more channels (type 0) or a channel mask (type 1). */
void lpw_lwdev_plan_cflist(lpw_lwdev_t *dev, const uint8_t *cflist);
/* The next enabled channel's frequency, round robin. */
uint32_t lpw_lwdev_next_freq(lpw_lwdev_t *dev);
/* MAC commands from the network (FOpts or an FPort 0 payload, plain): applied and answered in the next uplink. */
void lpw_lwdev_mac_in(lpw_lwdev_t *dev, const uint8_t *cmds, size_t len);

/* lwdev_sched.c */
/* The client's link send: queues one CoAP datagram (copied). -EMSGSIZE, -ENOBUFS. */
int lpw_lwdev_enqueue(lpw_lwdev_t *dev, const uint8_t *data, size_t len);
/* A decrypted CoAP message from the server, for App. C bookkeeping and then the client. */
void lpw_lwdev_coap_in(lpw_lwdev_t *dev, const uint8_t *data, size_t len);
/* Re-arms the uplink timer for whatever comes next. */
void lpw_lwdev_schedule(lpw_lwdev_t *dev);
void lpw_lwdev_tick(lpw_timer_t *t, int64_t now_ms);

#endif
