/* hal/ talks to hardware and decides nothing about protocols above it; it uses core/ only.
 * The concentrator link: Semtech UDP packet-forwarder protocol v2 ("GWMP", PROTOCOL.TXT of
 * semtech/packet_forwarder): datagram parsing and building, and a UDP server for several forwarders at once. */
#ifndef LPW_HAL_PKTFWD_H
#define LPW_HAL_PKTFWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "hal/pktfwd_json.h"

#define LPW_PKTFWD_VERSION 2
/* The SX1301 forwarder puts at most 8 packets in one PUSH_DATA (NB_PKT_MAX); later ones more. A datagram
 * with more than this is rejected whole rather than cut. */
#define LPW_PKTFWD_MAX_RXPK 32
/* Largest datagram we build or accept (a UDP payload over IPv4). */
#define LPW_PKTFWD_MAX_DATAGRAM 65507

typedef enum {
	LPW_PKTFWD_PUSH_DATA = 0x00,
	LPW_PKTFWD_PUSH_ACK = 0x01,
	LPW_PKTFWD_PULL_DATA = 0x02,
	LPW_PKTFWD_PULL_RESP = 0x03,
	LPW_PKTFWD_PULL_ACK = 0x04,
	LPW_PKTFWD_TX_ACK = 0x05,
} lpw_pktfwd_kind_t;

/* One decoded datagram. Which parts are filled depends on kind. */
typedef struct {
	lpw_pktfwd_kind_t kind;
	uint16_t token;            /* bytes 1-2, big-endian; only ever echoed */
	uint64_t eui;              /* bytes 4-11 big-endian: PUSH_DATA, PULL_DATA, TX_ACK; else 0 */
	size_t nrxpk;              /* PUSH_DATA */
	lpw_rxpk_t rxpk[LPW_PKTFWD_MAX_RXPK];
	bool has_stat;             /* PUSH_DATA */
	lpw_pktfwd_stat_t stat;
	lpw_txpk_t txpk;           /* PULL_RESP */
	lpw_txack_error_t tx_error; /* TX_ACK; NONE when it carried no JSON */
} lpw_pktfwd_msg_t;

/* Decodes one datagram of n bytes (borrowed; never read past n). Returns 0, or:
 *  -EPROTO   the header is unusable (short, version not 2, unknown identifier); *out holds nothing useful;
 *  -EBADMSG  the header is good (kind, token, eui are set: a PUSH_DATA may still be acknowledged) but the
 *            length or JSON body is not (not JSON, not an object, missing or bad field, base64 error,
 *            size mismatch, more than LPW_PKTFWD_MAX_RXPK packets, PUSH_DATA with neither rxpk nor stat).
 * On failure why (may be NULL if whylen is 0) gets a NUL-terminated reason naming the offending part. */
int lpw_pktfwd_parse(const uint8_t *d, size_t n, lpw_pktfwd_msg_t *out, char *why, size_t whylen)
	__attribute__((warn_unused_result));

/* Builders write into out (cap bytes) and return the datagram length, or -EMSGSIZE (cap too small),
 * -EINVAL (a struct value the protocol cannot carry), -ENOMEM. Server side: */
int lpw_pktfwd_build_ack(lpw_pktfwd_kind_t kind, uint16_t token, uint8_t *out, size_t cap); /* PUSH_ACK/PULL_ACK */
int lpw_pktfwd_build_pull_resp(uint16_t token, const lpw_txpk_t *tx, uint8_t *out, size_t cap);
/* Forwarder side (the simulator and tests). rx: nrx entries, borrowed; st may be NULL. */
int lpw_pktfwd_build_push_data(uint16_t token, uint64_t eui, const lpw_rxpk_t *rx, size_t nrx,
			       const lpw_pktfwd_stat_t *st, uint8_t *out, size_t cap);
int lpw_pktfwd_build_pull_data(uint16_t token, uint64_t eui, uint8_t *out, size_t cap);
/* with_json false leaves the JSON out (the forwarder's way of saying NONE). */
int lpw_pktfwd_build_tx_ack(uint16_t token, uint64_t eui, lpw_txack_error_t err, bool with_json, uint8_t *out,
			    size_t cap);

/* ---- the link ---- */

typedef struct lpw_pktfwd lpw_pktfwd_t;

typedef struct {
	const char *listen_addr;      /* numeric IPv4/IPv6 address; read only during lpw_pktfwd_new */
	uint16_t port;                /* 0 = an ephemeral port (see lpw_pktfwd_port) */
	unsigned keepalive_timeout_s; /* no PULL_DATA for this long: forwarder down. The forwarder's default
				       * keepalive_interval is 10 s; 0 means 30 s. */
	unsigned max_forwarders;      /* table size; 0 means 16; raised to nlisted if that is more */
	/* The allow-list (read during lpw_pktfwd_new): a listed gateway EUI always gets a slot, evicting the least
	 * recently heard unlisted forwarder when every slot is taken. Unlisted EUIs get what is free (or down). */
	const uint64_t *listed;
	size_t nlisted;
	bool refuse_unlisted;         /* drop every datagram of an unlisted EUI, unacknowledged */
} lpw_pktfwd_config_t;

/* Why a datagram was refused (counted per reason, passed to the refused hook, logged rate-limited). */
typedef enum {
	LPW_PKTFWD_REFUSED_MALFORMED,  /* lpw_pktfwd_parse rejected it, or it is larger than a UDP payload can be */
	LPW_PKTFWD_REFUSED_UNEXPECTED, /* well-formed but not for a server: PUSH_ACK, PULL_ACK, PULL_RESP */
	LPW_PKTFWD_REFUSED_NOT_LISTED, /* from a gateway EUI not on the allow-list, with refuse_unlisted */
	LPW_PKTFWD_REFUSED_TABLE_FULL, /* PULL_DATA from a new unlisted forwarder with every slot held by a live one */
	LPW_PKTFWD_REFUSED_COUNT
} lpw_pktfwd_refusal_t;

/* "malformed", "unexpected", "not_listed", "table_full"; "?" otherwise. Static storage. */
const char *lpw_pktfwd_refusal_name(lpw_pktfwd_refusal_t why);

/* Called from the loop's I/O and timer dispatch. arg is hooks.arg. Every pointer argument is borrowed for
 * the call only. Any hook may be NULL. Hooks may call lpw_pktfwd_send, but must not free the link. */
typedef struct {
	/* Each rxpk of a PUSH_DATA, after the PUSH_ACK went out, in order. CRC-failed packets are passed on
	 * too (rx->stat says so): hal/ takes no protocol decisions. */
	void (*uplink)(void *arg, uint64_t eui, const lpw_rxpk_t *rx);
	void (*tx_ack)(void *arg, uint64_t eui, uint16_t token, lpw_txack_error_t err);
	void (*stat)(void *arg, uint64_t eui, const lpw_pktfwd_stat_t *st);
	/* up: first PULL_DATA, or the first after having been down; down: keepalive_timeout_s of silence. */
	void (*forwarder_state)(void *arg, uint64_t eui, bool up);
	/* A datagram was refused; eui is 0 when its header carried none (or was unusable). */
	void (*refused)(void *arg, uint64_t eui, lpw_pktfwd_refusal_t why);
	void *arg;
} lpw_pktfwd_hooks_t;

/* Monotonic; never reset. */
typedef struct {
	uint64_t datagrams_in;
	uint64_t malformed;         /* rejected by lpw_pktfwd_parse (either error) */
	uint64_t unexpected;        /* well-formed but not for a server (PUSH_ACK, PULL_ACK, PULL_RESP) */
	uint64_t push_data, pull_data, tx_acks;
	uint64_t rxpk;              /* packets handed to the uplink hook */
	uint64_t pull_resp_sent;
	uint64_t send_errors;       /* sendto failures (acks and downlinks) */
	uint64_t table_full;        /* PULL_DATA from a new forwarder with every slot taken */
	uint64_t not_listed;        /* datagrams of unlisted EUIs refused (refuse_unlisted) */
	uint64_t refused;           /* every refused datagram: malformed + unexpected + not_listed + table_full */
	uint64_t evictions;         /* live unlisted forwarders that gave their slot to a listed one */
} lpw_pktfwd_counters_t;

/* One forwarder holding a slot. Its counters start when it gets the slot. */
typedef struct {
	uint64_t eui;
	bool up;            /* has sent PULL_DATA within keepalive_timeout_s */
	bool listed;        /* on the allow-list */
	int64_t last_heard_ms; /* loop clock: its latest datagram of any kind */
	uint64_t push_data, pull_data, tx_acks, rxpk, malformed;
} lpw_pktfwd_forwarder_t;

/* Binds the UDP socket and joins loop (borrowed, must outlive the link). cfg is read during the call;
 * hooks is copied. NULL on failure (logged: bad address, bind error, allocation). */
lpw_pktfwd_t *lpw_pktfwd_new(lpw_loop_t *loop, const lpw_pktfwd_config_t *cfg, const lpw_pktfwd_hooks_t *hooks);
/* Accepts NULL. Leaves the loop, closes the socket; no hooks run. */
void lpw_pktfwd_free(lpw_pktfwd_t *pf);

/* The bound port (useful with port 0). */
uint16_t lpw_pktfwd_port(const lpw_pktfwd_t *pf);

/* Sends tx in a PULL_RESP to the address of eui's last PULL_DATA. *out_token (may be NULL) receives the
 * token that its TX_ACK will carry. -EHOSTUNREACH if eui is unknown or down, -EINVAL for a txpk the
 * protocol cannot carry, -errno from sendto (e.g. -EAGAIN). Safe from inside a hook. */
int lpw_pktfwd_send(lpw_pktfwd_t *pf, uint64_t eui, const lpw_txpk_t *tx, uint16_t *out_token)
	__attribute__((warn_unused_result));

/* Whether eui is currently up (has sent PULL_DATA within keepalive_timeout_s). */
bool lpw_pktfwd_forwarder_up(const lpw_pktfwd_t *pf, uint64_t eui);

void lpw_pktfwd_get_counters(const lpw_pktfwd_t *pf, lpw_pktfwd_counters_t *out);

/* Copies up to cap of the forwarders holding a slot into out (may be NULL with cap 0); returns how many hold one. */
size_t lpw_pktfwd_get_forwarders(const lpw_pktfwd_t *pf, lpw_pktfwd_forwarder_t *out, size_t cap);

/* The counters and the forwarders as one JSON object for telemetry (a new reference, NULL on allocation failure):
 * {"datagrams","push_data","pull_data","tx_acks","rxpk","pull_resp_sent","send_errors","evictions",
 *  "refused":{"malformed","unexpected","not_listed","table_full"},
 *  "by_eui":{"<EUI hex>":{"up","listed","heard_s_ago","push_data","pull_data","tx_acks","rxpk","malformed"}}} */
json_t *lpw_pktfwd_report(const lpw_pktfwd_t *pf);

#endif
