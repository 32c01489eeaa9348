/* device-sim client engine: one simulated LwM2M 1.1 client speaking datagram CoAP over a pluggable link. */
#ifndef LPW_DEVSIM_CLIENT_H
#define LPW_DEVSIM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "tools/device-sim/link.h"
#include "tools/oscore/oscore.h"

typedef struct lpw_devsim_client lpw_devsim_client_t;

#define LPW_DEVSIM_PATTERN_MAX 16 /* longest notification type pattern */

typedef enum {
	LPW_DEVSIM_NOTIFY_CON,
	LPW_DEVSIM_NOTIFY_NON,
	LPW_DEVSIM_NOTIFY_MIXED, /* alternating: NON, CON, NON, CON, ... */
} lpw_devsim_notify_type_t;

/* One event as a one-line JSON object, e.g. {"event":"registered","ep":"dev-0","location":"/rd/5"}.
 * json is borrowed for the call. */
typedef void (*lpw_devsim_event_cb)(void *arg, const char *json);

typedef struct {
	const char *endpoint;   /* copied; required */
	const char *binding;    /* copied; the b= query and /1/0/7 */
	const char *server_uri; /* copied; /0/0/0 */
	uint32_t lifetime_s;    /* lt=; Update is sent at 90 % of it */
	/* RFC 7252 §4.8 transmission parameters; retransmit false sends every CON once (LoRaWAN App. C link) */
	bool retransmit;
	uint32_t ack_timeout_ms;
	double ack_random_factor;
	unsigned int max_retransmit;
	uint32_t notify_interval_s; /* notification period when the server set no pmax */
	bool firmware;              /* also object 5 (Firmware Update): /5/0/0 takes opaque, e.g. block-wise, writes */
	lpw_devsim_notify_type_t notify_type;
	/* When notify_pattern_len > 0 it overrides notify_type: notification n (0, 1, ...) is CON when
	 * notify_pattern[n % notify_pattern_len] is true, else NON ("non,con,con" on the command line). */
	bool notify_pattern[LPW_DEVSIM_PATTERN_MAX];
	size_t notify_pattern_len;
	uint32_t seed; /* message IDs, tokens and retransmission jitter; fixed in tests */
	lpw_devsim_event_cb on_event;
	void *event_arg; /* borrowed */
	/* Borrowed, must outlive the client; NULL: plain CoAP. With a context every request and response the client
	 * sends is OSCORE-protected (RFC 8613), every request it receives must be ("oscore-wire" and "oscore-error"
	 * events tell what went over the link and what failed). */
	lpw_oscore_ctx_t *oscore;
	/* LwM2M 1.1.1 table 6.8.4-1 (LoRaWAN): register_minimal leaves out ep, lt, lwm2m and b, so the server uses
	 * their defaults; register_no_objects also leaves out the object list on the first attempt, and a 4.09
	 * answer then makes the client register again with it (§6.8.4). Both false by default. */
	bool register_minimal;
	bool register_no_objects;
} lpw_devsim_config_t;

/* Fills RFC 7252 and LwM2M defaults: binding "U", lifetime 300 s, retransmission on with ACK_TIMEOUT 2 s,
 * ACK_RANDOM_FACTOR 1.5, MAX_RETRANSMIT 4, notifications every 2 s as CON, server URI coap://127.0.0.1:5683. */
void lpw_devsim_config_defaults(lpw_devsim_config_t *cfg);

/*
 * loop: borrowed, must outlive the client; its clock drives every timer. link: copied (its ctx is borrowed); when
 * link->fd >= 0 the client watches it on the loop. cfg: copied. Nothing is sent until lpw_devsim_client_register().
 * NULL on failure (logged).
 */
lpw_devsim_client_t *lpw_devsim_client_new(lpw_loop_t *loop, const lpw_devsim_link_t *link,
                                           const lpw_devsim_config_t *cfg);
/* Stops timers and watching; sends nothing. Accepts NULL. */
void lpw_devsim_client_free(lpw_devsim_client_t *c);

/* Register (POST /rd?ep&lt&lwm2m=1.1&b). 0, -ENOMEM, -EBUSY (too many exchanges in flight), -errno of the link. */
int lpw_devsim_client_register(lpw_devsim_client_t *c);
/* Registration Update to the remembered location. Also -ENOTCONN when not registered. */
int lpw_devsim_client_update(lpw_devsim_client_t *c);
/* De-register (DELETE location). -ENOTCONN when not registered. */
int lpw_devsim_client_deregister(lpw_devsim_client_t *c);
/* LwM2M Send: POST /dp with the SenML JSON of path ("/3303/0/5700"; borrowed). -EINVAL bad path, -ENOENT. */
int lpw_devsim_client_send(lpw_devsim_client_t *c, const char *path);
/* Queue-mode sleep: everything received is dropped and notifications pause until wake. */
void lpw_devsim_client_sleep(lpw_devsim_client_t *c);
/* Wakes and sends an Update (or a Register when not registered), so the gateway sees the device. */
int lpw_devsim_client_wake(lpw_devsim_client_t *c);

/* Feeds one received datagram (borrowed). Malformed input is reported as an "error" event and dropped.
 * 0, or -EPROTO for a datagram that did not parse. */
int lpw_devsim_client_input(lpw_devsim_client_t *c, const uint8_t *data, size_t len);

/* Test aid: one ciphertext byte of the next OSCORE request this client sends is flipped (no-op without OSCORE). */
void lpw_devsim_client_corrupt_next(lpw_devsim_client_t *c);

bool lpw_devsim_client_registered(const lpw_devsim_client_t *c);
/* The largest datagram the link carries from now on (a LoRaWAN device moved to another data rate). */
void lpw_devsim_client_set_mtu(lpw_devsim_client_t *c, size_t mtu);
/* "/rd/5", or "" before registration. Borrowed, valid until the next registration. */
const char *lpw_devsim_client_location(const lpw_devsim_client_t *c);
/* Confirmable exchanges this client still waits on. */
size_t lpw_devsim_client_pending(const lpw_devsim_client_t *c);
/* Active observations. */
size_t lpw_devsim_client_observations(const lpw_devsim_client_t *c);

#endif
