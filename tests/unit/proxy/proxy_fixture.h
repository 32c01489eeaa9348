/* The proxy under test with a fake upstream, a fake clock and a hand-built configuration; helpers to build,
 * send and inspect CoAP messages on both sides. Only the proxy's unit tests include it. */
#ifndef LPW_TEST_PROXY_FIXTURE_H
#define LPW_TEST_PROXY_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <coap3/coap.h>

#include "core/clock.h"
#include "core/loop.h"
#include "core/stats.h"
#include "core/store.h"
#include "proxy/proxy.h"
#include "tests/unit/proxy/fake_upstream.h"

#define FX_MAX_DOWN 64
#define FX_MAX_EVENTS 16
#define FX_T0 1000000 /* fake clock start (ms) */

/* Configured devices, by index into cfg.devices. */
enum {
	FX_DEV_PLAIN,  /* servers [a] */
	FX_DEV_OSCORE, /* servers [a], oscore = true */
	FX_DEV_MULTI,  /* servers [a, b], bootstrap bs */
	FX_NDEVICES
};

typedef struct {
	const lpw_config_device_t *dev;
	uint8_t *data; /* owned by the fixture */
	size_t len;
	int64_t at_ms; /* fake clock when sent */
} fx_datagram_t;

typedef struct {
	char type[32];
	char device[32];
	char detail[256];
} fx_event_t;

typedef struct {
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	lpw_config_server_t servers[3]; /* a, b, bs */
	lpw_config_device_t devices[FX_NDEVICES];
	lpw_config_t cfg;
	lpw_stats_t stats;
	lpw_proxy_hooks_t hooks;
	lpw_southbound_t south;
	lpw_binding_traits_t traits; /* what the fake binding says of every device (SGi-like by default) */
	lpw_device_t *h[FX_NDEVICES]; /* device handles, by index */
	lpw_proxy_t *px;
	fx_datagram_t down[FX_MAX_DOWN]; /* what the proxy sent to devices, in order */
	size_t ndown;
	fx_event_t events[FX_MAX_EVENTS];
	size_t nevents;
	size_t nstates;                  /* device_state hook calls */
	char last_location[64];          /* of the last device_state report */
	bool last_registered;
	lpw_store_t *store; /* fx_setup_stored only: a state store in state_dir */
	char state_dir[64];
} fx_t;

/* cmocka setup / teardown: *state becomes an fx_t with the proxy made. Teardown fails if a link leaked. */
int fx_setup(void **state);
int fx_teardown(void **state);
/* As fx_setup, with a state store in a fresh directory (removed by fx_teardown). */
int fx_setup_stored(void **state);
/* A gateway restart: the proxy and devices freed (links gone) and made again on the same store; events cleared. */
void fx_restart(fx_t *fx);

/* The link of device index dev to server "a", "b" or "bs"; fails the test if absent. */
lpw_uplink_t *fx_link(fx_t *fx, int dev, const char *srv);
/* Brings that link UP for the first time (reconnects 0). */
lpw_uplink_t *fx_link_up(fx_t *fx, int dev, const char *srv);

/* A standalone PDU (free with coap_delete_pdu) with type, code, mid and token; options and payload added by the
 * caller in ascending option order. */
coap_pdu_t *fx_pdu(coap_pdu_type_t type, coap_pdu_code_t code, uint16_t mid, const uint8_t *tok, size_t toklen);
void fx_add_opt(coap_pdu_t *pdu, uint16_t number, const char *text);    /* text value */
void fx_add_uint_opt(coap_pdu_t *pdu, uint16_t number, unsigned value); /* uint value, minimal bytes */
void fx_add_payload(coap_pdu_t *pdu, const char *text);

/* Encodes pdu (borrowed) as the device's datagram and feeds it to lpw_proxy_uplink(); returns its result. */
int fx_uplink(fx_t *fx, int dev, const coap_pdu_t *pdu);
int fx_uplink_bytes(fx_t *fx, int dev, const uint8_t *data, size_t len);

/* Parses the i-th datagram sent to a device (fails the test if it does not parse). Free with coap_delete_pdu. */
coap_pdu_t *fx_down(fx_t *fx, size_t i);
coap_pdu_t *fx_last_down(fx_t *fx);

/* Assertions on PDUs. */
void fx_assert_token(const coap_pdu_t *pdu, const uint8_t *tok, size_t len);
void fx_assert_same_token(const coap_pdu_t *a, const coap_pdu_t *b);
void fx_assert_path(const coap_pdu_t *pdu, uint16_t number, const char *const *segs, size_t n);
void fx_assert_same_options(const coap_pdu_t *a, const coap_pdu_t *b); /* every option, in order, byte for byte */
void fx_assert_payload(const coap_pdu_t *pdu, const uint8_t *data, size_t len);
void fx_assert_same_payload(const coap_pdu_t *a, const coap_pdu_t *b);
int fx_observe(const coap_pdu_t *pdu); /* Observe value, -1 when absent */

/* A device's Register and the server's side of it. */
#define FX_CF_LINK_FORMAT 40
#define FX_REG_PAYLOAD "</1/0>,</3/0>,</5/0>"
/* POST /rd?ep=node1&lt=300&lwm2m=1.1&b=U with FX_REG_PAYLOAD, as a device sends it. */
coap_pdu_t *fx_register_pdu(coap_pdu_type_t type, uint16_t mid, const uint8_t *tok, size_t toklen);
/* The server's answer to the request it received as req (same token). */
coap_pdu_t *fx_server_answer(const coap_pdu_t *req, coap_pdu_code_t code);
/* Device plain registers on server a (its link brought UP) and the server answers 2.01 /rd/5. Returns the link. */
lpw_uplink_t *fx_register_plain(fx_t *fx);

/* The first recorded event of this type, or NULL. */
const fx_event_t *fx_event(const fx_t *fx, const char *type);

#endif
