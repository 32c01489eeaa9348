/* A fake of proxy/upstream.h for the proxy's unit tests: no sockets, no libcoap sessions; links change state
 * only when the test says so, and what the proxy sends is recorded (see fake_upstream.h). */
#include "tests/unit/proxy/fake_upstream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lpw_upstream {
	lpw_loop_t *loop;
	const lpw_upstream_hooks_t *hooks;
};

struct lpw_uplink {
	lpw_upstream_t *up;
	const lpw_config_device_t *dev;
	const lpw_config_server_t *srv;
	void *owner;
	lpw_link_state_t state;
	char reason[128];
	uint32_t reconnects;
	int64_t retry_in_ms; /* what lpw_uplink_retry_in_ms answers while DOWN; -1 by default */
	unsigned connects;
	unsigned refused;
	coap_pdu_t **sent; /* owned */
	size_t nsent, cap;
	struct lpw_uplink *next; /* registry of live links, so the test can find them by name */
};

static lpw_uplink_t *links;

static void set_state(lpw_uplink_t *link, lpw_link_state_t state, const char *reason)
{
	link->state = state;
	snprintf(link->reason, sizeof(link->reason), "%s", reason);
	if (link->up->hooks->state_changed)
		link->up->hooks->state_changed(link->owner, link, state, link->reason);
}

lpw_upstream_t *lpw_upstream_new(lpw_loop_t *loop, const lpw_config_upstream_t *cfg, const lpw_upstream_hooks_t *hooks)
{
	lpw_upstream_t *up = calloc(1, sizeof(*up));
	if (!up)
		return NULL;
	up->loop = loop;
	up->hooks = hooks;
	return up;
}

void lpw_upstream_free(lpw_upstream_t *up)
{
	free(up);
}

lpw_uplink_t *lpw_uplink_new(lpw_upstream_t *up, const lpw_config_device_t *dev, const lpw_config_server_t *srv,
                             uint32_t max_message_size, void *owner)
{
	lpw_uplink_t *link = calloc(1, sizeof(*link));
	if (!link)
		return NULL;
	link->up = up;
	link->dev = dev;
	link->srv = srv;
	link->owner = owner;
	link->state = LPW_LINK_DOWN;
	link->retry_in_ms = -1;
	snprintf(link->reason, sizeof(link->reason), "not connected yet");
	link->next = links;
	links = link;
	return link;
}

void lpw_uplink_rebind(lpw_uplink_t *link, const lpw_config_device_t *dev, const lpw_config_server_t *srv)
{
	link->dev = dev;
	link->srv = srv;
}

void lpw_upstream_reconfigure(lpw_upstream_t *up, const lpw_config_upstream_t *cfg)
{
}

void lpw_uplink_free(lpw_uplink_t *link)
{
	if (!link)
		return;
	for (lpw_uplink_t **p = &links; *p; p = &(*p)->next)
		if (*p == link) {
			*p = link->next;
			break;
		}
	for (size_t i = 0; i < link->nsent; i++)
		coap_delete_pdu(link->sent[i]);
	free(link->sent);
	free(link);
}

int lpw_uplink_connect(lpw_uplink_t *link)
{
	if (link->state != LPW_LINK_DOWN || link->retry_in_ms >= 0) /* as the real one: no attempt before the retry */
		return 0;
	link->connects++;
	set_state(link, LPW_LINK_CONNECTING, "connecting");
	return 0;
}

int lpw_uplink_send(lpw_uplink_t *link, coap_pdu_t *pdu)
{
	if (link->state != LPW_LINK_UP) {
		link->refused++;
		coap_delete_pdu(pdu);
		return -ENOTCONN;
	}
	if (link->nsent == link->cap) {
		size_t cap = link->cap ? 2 * link->cap : 8;
		coap_pdu_t **p = realloc(link->sent, cap * sizeof(*p));
		if (!p) {
			coap_delete_pdu(pdu);
			return -EIO;
		}
		link->sent = p;
		link->cap = cap;
	}
	link->sent[link->nsent++] = pdu;
	return 0;
}

lpw_link_state_t lpw_uplink_state(const lpw_uplink_t *link)
{
	return link->state;
}

const char *lpw_uplink_reason(const lpw_uplink_t *link)
{
	return link->reason;
}

const lpw_config_server_t *lpw_uplink_server(const lpw_uplink_t *link)
{
	return link->srv;
}

uint32_t lpw_uplink_reconnects(const lpw_uplink_t *link)
{
	return link->reconnects;
}

int64_t lpw_uplink_retry_in_ms(const lpw_uplink_t *link)
{
	return link->state == LPW_LINK_DOWN ? link->retry_in_ms : -1;
}

void fake_link_set_retry(lpw_uplink_t *link, int64_t retry_in_ms)
{
	link->retry_in_ms = retry_in_ms;
}

const char *lpw_link_state_name(lpw_link_state_t state)
{
	static const char *const names[] = {"down", "connecting", "up", "failed"};
	return (unsigned)state < 4 ? names[state] : "?";
}

/* --- the test's side --- */

lpw_uplink_t *fake_link(const char *dev_id, const char *srv_name)
{
	for (lpw_uplink_t *l = links; l; l = l->next)
		if (strcmp(l->dev->id, dev_id) == 0 && strcmp(l->srv->name, srv_name) == 0)
			return l;
	return NULL;
}

void fake_link_set_state(lpw_uplink_t *link, lpw_link_state_t state, uint32_t reconnects, const char *reason)
{
	link->reconnects = reconnects;
	set_state(link, state, reason ? reason : state == LPW_LINK_UP ? "" : "test");
}

void fake_link_server_response(lpw_uplink_t *link, const coap_pdu_t *pdu)
{
	link->up->hooks->response(link->owner, link, pdu);
}

void fake_link_server_request(lpw_uplink_t *link, const coap_pdu_t *pdu)
{
	link->up->hooks->request(link->owner, link, pdu);
}

void fake_link_event(lpw_uplink_t *link, const char *type, const char *detail)
{
	link->up->hooks->event(link->owner, link, type, detail);
}

size_t fake_link_nsent(const lpw_uplink_t *link)
{
	return link->nsent;
}

const coap_pdu_t *fake_link_sent(const lpw_uplink_t *link, size_t i)
{
	return i < link->nsent ? link->sent[i] : NULL;
}

unsigned fake_link_refused(const lpw_uplink_t *link)
{
	return link->refused;
}

unsigned fake_link_connects(const lpw_uplink_t *link)
{
	return link->connects;
}

size_t fake_link_count(void)
{
	size_t n = 0;
	for (lpw_uplink_t *l = links; l; l = l->next)
		n++;
	return n;
}
