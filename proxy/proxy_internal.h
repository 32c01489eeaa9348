/* Proxy state shared by proxy.c (device -> server) and proxy_server.c (server -> device); nothing else includes it. */
#ifndef LPW_PROXY_INTERNAL_H
#define LPW_PROXY_INTERNAL_H

#include <coap3/coap.h>

#include "bindings/binding.h"
#include "core/store.h"
#include "proxy/dedup.h"
#include "proxy/proxy.h"
#include "proxy/registration.h"
#include "proxy/upstream.h"

#define PX_MAX_INFLIGHT 16 /* device requests waiting for the server's answer, per device */
#define PX_MAX_DOWNLINKS 16 /* server requests and observations being carried to the device */
#define PX_MAX_HELD 16      /* device messages held while the upstream connects */
#define PX_TOKEN_MAX 8
#define PX_DEDUP_CAPACITY 32 /* device message IDs remembered for duplicate detection */

struct pdev;

/* One (device, server) pair: the upstream link and what the server knows of the device. */
struct px_server {
	struct pdev *dev;
	unsigned index;
	lpw_uplink_t *link;
	lpw_reg_t *reg;
	bool reregistering;      /* the gateway's own Register is in flight: hold device messages */
	bool oscore_reregister;  /* OSCORE device must register again itself: answer its next request 4.04 */
	bool restored;           /* registration read from the store: the first connection must register again */
	int64_t renewed_wall_s;  /* wall clock of the server's last 2.xx to a Register/Update (lifetime starts) */
	coap_pdu_t *held[PX_MAX_HELD]; /* device messages parsed and waiting for the link (owned) */
	int64_t held_at[PX_MAX_HELD];  /* when the gateway received each (loop clock): its lifetime runs from there */
	size_t nheld;
	/* This link's share of the stats gauges: +1 in upstream_up, -1 in upstream_down, 0 in neither. The state
	 * hook does not say which state the link left, so without this the gauges drifted. */
	int gauge;
};

/* A device request (or the gateway's own re-Register) waiting for the server. Each one ends: with the answer,
 * with the link, or at its lifetime (issue 16 item 2; see px_inflight_arm). */
struct px_inflight {
	bool used;
	bool gateway_own;
	struct px_server *srv;
	uint8_t up_token[PX_TOKEN_MAX];
	size_t up_token_len;
	coap_pdu_t *dev_pdu; /* the device's message, kept to re-send if the link drops (owned) */
	lpw_reg_op_t kind;           /* lpw_reg_kind_t */
	lpw_timer_t timer;           /* the exchange's lifetime */
	int64_t at_ms;               /* when the gateway received the device's message (loop clock) */
};

/* A server request carried to the device, or an observation the device serves. */
struct px_downlink {
	bool used;
	struct pdev *dev;
	struct px_server *srv;
	uint8_t srv_token[PX_TOKEN_MAX];
	size_t srv_token_len;
	uint8_t dev_token[PX_TOKEN_MAX];
	size_t dev_token_len;
	uint16_t dev_mid;
	enum { DL_WAIT_ACK, DL_WAIT_SEPARATE, DL_OBSERVING } state;
	bool observe;         /* the server asked Observe=0 */
	uint8_t *bytes;       /* the datagram sent to the device, for retransmission (owned) */
	size_t len;
	unsigned retries;
	int64_t timeout_ms;
	lpw_timer_t timer;
};

/* A server request waiting for the device to be reachable (LwM2M 1.1.1 §6.5 queue mode). */
struct px_queued {
	struct px_queued *next;
	struct px_server *srv; /* NULL when restored after a restart: the server's connection is gone */
	uint8_t srv_token[PX_TOKEN_MAX];
	size_t srv_token_len;
	coap_pdu_t *req;       /* owned */
	int64_t deadline_ms;   /* on the loop's clock; answered 5.04 after it */
	uint64_t seq;          /* key in the state store */
};

/* The proxy's state of one device: the device's LPW_SLOT_PROXY. */
struct pdev {
	lpw_proxy_t *px;
	lpw_device_t *dev;
	const lpw_config_device_t *cfg; /* lpw_device_config(dev), refreshed by lpw_proxy_device_update */
	struct pdev *next, *prev;       /* every device of the proxy */
	uint16_t next_mid;
	uint32_t next_token;
	uint32_t csm_size;     /* the Max-Message-Size its links advertise (their libcoap size class) */
	int reply_server;      /* LPW_SERVER_* or index: the server the uplink being handled is addressed to */
	lpw_dedup_t *dedup;
	/* [nservers] is the bootstrap server, if any; each owned, so that a reload can move one to another index
	 * without invalidating what points to it */
	struct px_server *servers[LPW_DEVICE_MAX_SERVERS + 1];
	unsigned nservers;
	struct px_inflight inflight[PX_MAX_INFLIGHT];
	struct px_downlink downlinks[PX_MAX_DOWNLINKS];
	struct px_queued *qhead, **qtail;
	size_t qlen;
	uint64_t qseq;
	bool heard;            /* the binding has reported the device reachable since start */
	int64_t awake_until;   /* the device listens until then (queue mode) */
	lpw_timer_t qtimer;    /* expiry of the oldest queued request */
	lpw_timer_t wtimer;    /* wake-up by SMS (§6.6): a request has waited sms_wakeup_delay */
};

struct lpw_proxy {
	lpw_loop_t *loop;
	const lpw_config_t *cfg;
	lpw_stats_t *stats;
	const lpw_proxy_hooks_t *hooks;
	const lpw_southbound_t *south;
	lpw_northbound_t north;
	lpw_upstream_t *upstream;
	lpw_upstream_hooks_t upstream_hooks;
	struct pdev *devs; /* list of every device */
	uint64_t next_up_token;
	lpw_store_t *store; /* NULL: nothing persisted (unit tests) */
};

/* proxy.c */
/* The proxy's state of a device, or NULL. */
struct pdev *px_pdev_of(const lpw_device_t *dev);
/* The device's binding's traits, the device's own max_message_size applied. */
void px_traits(const struct pdev *d, lpw_binding_traits_t *out);
int px_server_index(const struct px_server *s);
int px_send_to_device(struct pdev *d, const coap_pdu_t *pdu);
/* Datagram bytes to the device through its binding; server as in lpw_downlink_t. 0 or the binding's -errno. */
int px_send_bytes(struct pdev *d, int server, const uint8_t *data, size_t len);
void px_publish_state(struct px_server *s);
void px_event(struct pdev *d, const char *type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint16_t px_device_mid(struct pdev *d);
/* A token toward the device that repeats neither within a run nor across restarts (out: 4 bytes). */
size_t px_device_token(struct pdev *d, uint8_t *out);
/* Both counters start at CSPRNG values so that a restart does not reuse what a device may still answer. */
void px_device_seed(struct pdev *d);
/* True (and the registration forgotten, with an event) when its lifetime has run out since the server last renewed
 * it: the server has dropped it, so the gateway must not register it again on the device's behalf. */
bool px_reg_drop_expired(struct px_server *s);

/* A link for the device's index-th server (srv borrowed from the configuration), its registration restored from
 * the store. NULL on allocation failure. */
struct px_server *px_server_open(struct pdev *d, unsigned index, const lpw_config_server_t *srv);
/* Ends what the link carries (in-flight device requests dropped, downlinks ended, queued requests for it lose
 * their server), closes it and frees s. Accepts NULL. */
void px_server_close(struct px_server *s);
/* The CSM Max-Message-Size for a path that carries size bytes. */
uint32_t px_advertised_size(uint32_t size);

/* proxy_queue.c: queue mode */
/* Takes a server request for the device: delivers it now if the device is reachable and idle, else queues it
 * (persisted), or answers 5.03 when the queue is full. */
void px_queue_request(struct pdev *d, struct px_server *srv, const coap_pdu_t *request);
/* Whether the device listens now (queue mode: inside its window; else once heard). */
bool px_queue_reachable(const struct pdev *d);
/* Sends the next queued request if the device is reachable and has none in flight. */
void px_queue_pump(struct pdev *d);
int px_queue_load(struct pdev *d);
void px_queue_free(struct pdev *d);
void px_queue_link_lost(struct px_server *srv);
/* Answers 5.03 to every queued request from srv (NULL: from every server) and forgets it (store included). */
void px_queue_refuse(struct pdev *d, struct px_server *srv);
/* Persists the registration; renewed: the server has just accepted a Register/Update (its lifetime restarts). */
void px_reg_save(struct px_server *s, bool renewed);
/* Deletes the stored registration (the in-memory state is the caller's). */
void px_reg_forget(struct px_server *s);
void px_reg_load(struct px_server *s);

/* proxy_server.c: the server -> device direction */
/* Carries one request to the device now (srv NULL: nobody upstream waits for the answer). 0 or -errno. */
int px_deliver_request(struct pdev *d, struct px_server *srv, const uint8_t *srv_token, size_t srv_token_len,
                       const coap_pdu_t *request);
bool px_request_in_flight(const struct pdev *d);
/* Answers the server's request with code alone (5.03 queue full, 5.04 timeout, ...); opt_max_age adds Max-Age. */
void px_answer_server(struct px_server *srv, const uint8_t *token, size_t token_len, coap_pdu_code_t code,
                      int max_age_s);
void px_on_server_request(void *owner, lpw_uplink_t *link, const coap_pdu_t *request);
/* A response or notification from the device (not an Empty message). Returns true if it matched a downlink. */
bool px_on_device_response(struct pdev *d, const coap_pdu_t *pdu);
/* An ACK or RST from the device for one of our CONs. */
void px_on_device_ack(struct pdev *d, const coap_pdu_t *pdu);
/* The link to srv is gone: end what was carried for it. */
void px_downlinks_link_lost(struct px_server *srv);
void px_downlinks_free(struct pdev *d);

#endif
