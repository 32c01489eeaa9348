/* Test side of the fake upstream (fake_upstream.c implements proxy/upstream.h without sockets): the test drives
 * each link's state and plays the server; every PDU the proxy sends on a link is kept for assertions. */
#ifndef LPW_TEST_FAKE_UPSTREAM_H
#define LPW_TEST_FAKE_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "proxy/upstream.h"

/* The live link of device dev_id to server srv_name, or NULL. Borrowed: lives until the proxy frees it. */
lpw_uplink_t *fake_link(const char *dev_id, const char *srv_name);

/* Sets the state and reconnect counter, then calls the owner's state_changed hook (as the real upstream does,
 * also when only the reason changed). reason is copied; NULL means "" for UP and "test" otherwise. */
void fake_link_set_state(lpw_uplink_t *link, lpw_link_state_t state, uint32_t reconnects, const char *reason);

/* The server answers (response hook) or asks (request hook) on this link. pdu is borrowed for the call. */
void fake_link_server_response(lpw_uplink_t *link, const coap_pdu_t *pdu);
void fake_link_server_request(lpw_uplink_t *link, const coap_pdu_t *pdu);
/* The link reports a condition (the event hook), as the real upstream does after repeated handshake failures. */
void fake_link_event(lpw_uplink_t *link, const char *type, const char *detail);

/* PDUs the proxy sent on the link with lpw_uplink_send() while it was UP, oldest first. Borrowed from the link. */
size_t fake_link_nsent(const lpw_uplink_t *link);
const coap_pdu_t *fake_link_sent(const lpw_uplink_t *link, size_t i);
/* Sends refused because the link was not UP (the PDU was freed, as the real upstream does). */
unsigned fake_link_refused(const lpw_uplink_t *link);
/* lpw_uplink_connect() calls that moved the link from DOWN to CONNECTING. */
unsigned fake_link_connects(const lpw_uplink_t *link);

/* While DOWN, the link says its next attempt is retry_in_ms away (an outage in back-off; lpw_uplink_connect()
 * then does nothing); -1 (the default): no retry scheduled, lpw_uplink_connect() moves it to CONNECTING. */
void fake_link_set_retry(lpw_uplink_t *link, int64_t retry_in_ms);

/* Links alive now (0 after lpw_proxy_free: nothing leaked). */
size_t fake_link_count(void);

#endif
