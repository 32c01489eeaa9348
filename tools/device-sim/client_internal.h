/* device-sim client engine internals, shared by client.c (messaging, registration) and client_ops.c (server
 * operations, observations). Not for other modules. */
#ifndef LPW_DEVSIM_CLIENT_INTERNAL_H
#define LPW_DEVSIM_CLIENT_INTERNAL_H

#include <coap3/coap.h>
#include <jansson.h>

#include "tools/device-sim/client.h"
#include "tools/device-sim/objects.h"

#define MAX_XFER 16 /* our own confirmable messages in flight */
#define MAX_OBS 8
#define MAX_ATTR 8
#define MAX_DEDUP 16 /* answered CONs remembered for duplicate detection */
#define MAX_NON_SENT 16
#define MAX_PAYLOAD 1024
#define PDU_MAX 1280
#define MAX_BLOCK1 2             /* Block1 uploads reassembled at once (different paths or Request-Tags) */
#define BLOCK1_BODY_MAX 65536    /* bound on a reassembled body: more is answered 4.13 */

enum xfer_kind { X_NONE, X_REGISTER, X_UPDATE, X_DEREGISTER, X_SEND, X_NOTIFY };

struct xfer {
	enum xfer_kind kind;
	lpw_devsim_client_t *c;
	uint16_t mid;
	uint8_t tok[8];
	size_t tkl;
	bool acked; /* an Empty ACK came: the response will be separate */
	uint8_t *bytes;
	size_t len;
	unsigned int attempts;
	int64_t timeout_ms;
	int obs; /* X_NOTIFY: index into obs[] */
	lpw_oscore_req_info_t osc; /* OSCORE: what the response to this request is bound to */
	lpw_timer_t timer;
};

struct obs {
	bool used;
	lpw_devsim_client_t *c;
	uint8_t tok[8];
	size_t tkl;
	lpw_devsim_path_t path;
	int accept;
	uint32_t seq;
	unsigned int sent;
	lpw_oscore_req_info_t osc; /* OSCORE: the registration request every notification is bound to */
	lpw_timer_t timer;
};

struct attr {
	bool used;
	lpw_devsim_path_t path;
	int64_t pmin, pmax; /* seconds; -1 when not set */
};

struct dedup {
	bool used;
	uint16_t mid;
	uint8_t bytes[PDU_MAX];
	size_t len;
};

/* One Block1 upload being reassembled (RFC 7959 §2.5). Blocks are matched by method, path and Request-Tag
 * (RFC 9175 §3), not by token: a client may (libcoap does) use a new token for every block. */
struct block1 {
	bool used;
	coap_pdu_code_t method;
	lpw_devsim_path_t path;
	uint8_t rtag[8];
	size_t rtag_len;
	uint8_t *body; /* BLOCK1_BODY_MAX bytes, allocated at block 0 */
	size_t len;
	uint32_t age; /* the older upload gives way when a new one needs a slot */
};

struct non_sent {
	bool used;
	uint16_t mid;
	int obs;
};

struct lpw_devsim_client {
	lpw_loop_t *loop;
	lpw_devsim_link_t link;
	lpw_devsim_config_t cfg;
	char endpoint[64];
	char binding[8];
	char server_uri[128];
	lpw_devsim_objects_t *objs;
	uint32_t rand_state;
	uint16_t next_mid;
	bool registered;
	bool asleep;
	bool watching;
	char location[128];
	lpw_timer_t update_timer;
	struct xfer xfer[MAX_XFER];
	struct obs obs[MAX_OBS];
	struct attr attrs[MAX_ATTR];
	struct dedup dedup[MAX_DEDUP];
	size_t dedup_next;
	struct non_sent non_sent[MAX_NON_SENT];
	size_t non_next;
	struct block1 block1[MAX_BLOCK1];
	uint32_t block1_age;
	/* OSCORE (cfg.oscore): the request being answered and whether the answer is a notification, set by whoever
	 * sends a response; the info of the last request sent, for its xfer; the corrupt-next test aid. */
	lpw_oscore_req_info_t osc_answer;
	bool osc_notify;
	lpw_oscore_req_info_t osc_last_req;
	bool osc_corrupt_next;
	/* register_no_objects: the server answered 4.09, so every later Register carries the object list */
	bool reg_needs_objects;
};

/* client.c */
uint16_t lpw_devsim_new_mid(lpw_devsim_client_t *c);
json_t *lpw_devsim_event_new(lpw_devsim_client_t *c, const char *event);
/* Emits ev and drops the reference. */
void lpw_devsim_emit(lpw_devsim_client_t *c, json_t *ev);
void lpw_devsim_emit_error(lpw_devsim_client_t *c, const char *detail);
/* Encodes pdu (borrowed) and sends it; the encoded bytes are copied to out/out_len when out is non-NULL. */
int lpw_devsim_send_pdu(lpw_devsim_client_t *c, const coap_pdu_t *pdu, uint8_t *out, size_t *out_len);
/* Sends a CON pdu (borrowed) and tracks it until its ACK/response, retransmitting per cfg. */
int lpw_devsim_xfer_start(lpw_devsim_client_t *c, enum xfer_kind kind, const coap_pdu_t *pdu, int obs);
void lpw_devsim_xfer_finish(lpw_devsim_client_t *c, struct xfer *x);
const char *lpw_devsim_code_str(coap_pdu_code_t code, char *buf, size_t cap);

bool lpw_devsim_answered_mid(const lpw_devsim_client_t *c, uint16_t mid);

/* client_oscore.c */
/* pdu (borrowed) protected for sending as c's next OSCORE message (ownership of *out passes to the caller). */
int lpw_devsim_oscore_protect(lpw_devsim_client_t *c, const coap_pdu_t *pdu, coap_pdu_t **out);
/* Reports what goes over the link (bytes as sent, so after corrupt-next) as an "oscore-wire" event. */
void lpw_devsim_oscore_wire(lpw_devsim_client_t *c, const char *direction, const coap_pdu_t *pdu,
                            const uint8_t *payload, size_t payload_len);
/* A received message, verified: returns the plain PDU to dispatch (pdu itself when OSCORE is off or not
 * concerned; otherwise pdu is freed), or NULL when it failed and was dealt with (error event, 4.01). */
coap_pdu_t *lpw_devsim_oscore_input(lpw_devsim_client_t *c, coap_pdu_t *pdu);

/* client_ops.c */
/* Answers one server request (piggybacked for CON); returns the encoded reply in out for duplicate detection. */
void lpw_devsim_handle_request(lpw_devsim_client_t *c, const coap_pdu_t *req);
void lpw_devsim_obs_cancel(lpw_devsim_client_t *c, int obs, const char *how);
void lpw_devsim_obs_stop_all(lpw_devsim_client_t *c);
/* Frees every Block1 reassembly buffer. */
void lpw_devsim_block1_clear(lpw_devsim_client_t *c);

#endif
