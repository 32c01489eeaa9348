/* The T8 binding's state, shared by t8.c (devices, configurations, downlinks) and t8_notify.c (callbacks). */
#ifndef LPW_T8_INTERNAL_H
#define LPW_T8_INTERNAL_H

#include "bindings/nidd/t8.h"
#include "bindings/nidd/t8_client.h"
#include "bindings/nidd/t8_json.h"
#include "bindings/nidd/t8_server.h"

#define T8_ID_MAX 128
#define T8_QUEUE_CAP 64 /* the most queue_max allows */

typedef enum { ST_NONE, ST_CREATING, ST_ACTIVE } t8_state_t;

struct t8_msg {
	uint8_t *data;
	size_t len;
	bool con_request; /* a server's CON request: its fate is reported as an outcome */
};

/* Per device (LPW_SLOT_BINDING). */
struct tdev {
	struct t8 *b;
	lpw_device_t *dev;
	struct tdev *prev, *next;
	t8_state_t state;
	char self[LPW_T8_LINK_MAX]; /* the configuration's resource; "" = none */
	char id[T8_ID_MAX];         /* its last path segment: the device table key */
	lpw_timer_t cfg_timer;      /* renew, or retry after a failure */
	lpw_timer_t resp_timer;     /* a CON request to the device waits for its answer */
	lpw_t8_req_t *cfg_req;
	lpw_t8_req_t *dl_req;
	uint32_t backoff_s;
	uint32_t max_packet_bits;   /* maximumPacketSize of the configuration; 0 = not given */
	struct t8_msg q[T8_QUEUE_CAP]; /* downlinks; q[qhead] is in flight while dl_req */
	size_t qhead, qlen;
	char dl_link[LPW_T8_LINK_MAX]; /* the pending (201) delivery whose status notification we wait for */
	bool dl_con;
	bool awaiting;
	uint16_t await_mid;
};

struct t8 {
	lpw_loop_t *loop;
	const lpw_config_t *cfg;
	const lpw_binding_host_t *host;
	lpw_store_t *store;
	lpw_t8_client_t *client;
	lpw_t8_server_t *server;
	struct tdev *devs;
	char token[4096];
	char base[LPW_T8_LINK_MAX];       /* {apiRoot}/3gpp-nidd/v1/{scsAsId}/configurations */
	char notify_url[LPW_T8_LINK_MAX]; /* notificationDestination */
	char notify_path[LPW_T8_LINK_MAX];
	uint8_t data[LPW_T8_DATA_MAX];    /* MO data of the notification being handled */
	/* counters */
	uint64_t mo, mt, mt_delivered, mt_pending, mt_failed, created, renewed, recreated, deleted, notif_bad,
		notif_unknown, cfg_failed;
};

/* t8.c, for t8_notify.c */
struct tdev *t8_dev_of_link(struct t8 *b, const char *config_link);
void t8_mo(struct t8 *b, struct tdev *d, const uint8_t *data, size_t len);
void t8_delivery_status(struct t8 *b, struct tdev *d, lpw_t8_delivery_status_t st, const char *text);
void t8_config_ended(struct t8 *b, struct tdev *d, const char *status);

/* t8_notify.c: the notification server's handler. */
void t8_on_notification(void *arg, const char *method, const char *path, const uint8_t *body, size_t len,
			lpw_t8_reply_t *reply);
/* The configuration link inside a delivery link (".../configurations/ID/downlink-data-deliveries/X" ->
 * ".../configurations/ID"), into out; -EINVAL when it has no such shape. */
int t8_config_link_of_delivery(const char *link, char *out, size_t cap);

#endif
