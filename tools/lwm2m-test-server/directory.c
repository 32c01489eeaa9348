/* Registration table of the test LwM2M server. A handful of entries: a linked list is plenty. */
#include "tools/lwm2m-test-server/directory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct lpw_directory {
	lpw_loop_t *loop;
	lpw_directory_expired_cb expired;
	void *arg;
	unsigned next_id;
	lpw_registration_t *head;
};

lpw_directory_t *lpw_directory_new(lpw_loop_t *loop, lpw_directory_expired_cb expired, void *arg)
{
	lpw_directory_t *dir = calloc(1, sizeof(*dir));
	if (!dir)
		return NULL;
	dir->loop = loop;
	dir->expired = expired;
	dir->arg = arg;
	dir->next_id = 1;
	return dir;
}

static void free_entry(lpw_registration_t *reg)
{
	lpw_loop_timer_clear(reg->dir->loop, &reg->lifetime);
	if (reg->session)
		coap_session_release(reg->session);
	free(reg->objects);
	free(reg->identity);
	free(reg);
}

void lpw_directory_free(lpw_directory_t *dir)
{
	if (!dir)
		return;
	while (dir->head) {
		lpw_registration_t *reg = dir->head;
		dir->head = reg->next;
		free_entry(reg);
	}
	free(dir);
}

void lpw_directory_peer_str(coap_session_t *session, char *out, size_t out_len)
{
	const coap_address_t *addr = session ? coap_session_get_addr_remote(session) : NULL;
	if (out_len == 0)
		return;
	out[0] = '\0';
	if (addr && coap_print_addr(addr, (unsigned char *)out, out_len) == 0)
		out[0] = '\0';
}

static void lifetime_expired(lpw_timer_t *timer, int64_t now_ms)
{
	lpw_registration_t *reg = lpw_container_of(timer, lpw_registration_t, lifetime);
	if (reg->dir->expired)
		reg->dir->expired(reg, reg->dir->arg);
	lpw_directory_remove(reg);
}

static void arm_lifetime(lpw_registration_t *reg)
{
	if (lpw_loop_timer_in(reg->dir->loop, &reg->lifetime, (int64_t)reg->lt * 1000))
		LPW_WARN("rd", "%s: cannot arm lifetime timer (out of memory)", reg->ep);
}

static void bind_session(lpw_registration_t *reg, coap_session_t *session)
{
	if (reg->session == session)
		return;
	if (reg->session)
		coap_session_release(reg->session);
	/* Hold a reference: libcoap frees idle server sessions with no references, and the server's own
	 * requests must go out on this session later. */
	reg->session = session ? coap_session_reference(session) : NULL;
	lpw_directory_peer_str(session, reg->peer, sizeof(reg->peer));
}

lpw_registration_t *lpw_directory_add(lpw_directory_t *dir, const lpw_reg_params_t *params, const char *objects,
                                      coap_session_t *session, const char *identity)
{
	lpw_registration_t *old = lpw_directory_find_ep(dir, params->ep);
	lpw_registration_t *reg = calloc(1, sizeof(*reg));
	if (!reg)
		return NULL;
	reg->dir = dir;
	lpw_timer_init(&reg->lifetime, lifetime_expired);
	if ((objects && !(reg->objects = strdup(objects))) || (identity && !(reg->identity = strdup(identity)))) {
		free(reg->objects);
		free(reg);
		return NULL;
	}
	if (old)
		lpw_directory_remove(old);
	snprintf(reg->ep, sizeof(reg->ep), "%s", params->ep);
	snprintf(reg->lwm2m, sizeof(reg->lwm2m), "%s", params->lwm2m);
	/* LwM2M Core §6.2.1 defaults: lifetime 86400 s, binding U. */
	reg->lt = params->has_lt ? params->lt : 86400;
	snprintf(reg->b, sizeof(reg->b), "%s", params->has_b ? params->b : "U");
	reg->queue = params->queue;
	reg->id = dir->next_id++;
	snprintf(reg->location, sizeof(reg->location), "/rd/%u", reg->id);
	bind_session(reg, session);
	reg->next = dir->head;
	dir->head = reg;
	arm_lifetime(reg);
	return reg;
}

int lpw_directory_update(lpw_registration_t *reg, const lpw_reg_params_t *params, const char *objects,
                         coap_session_t *session)
{
	bind_session(reg, session);
	if (objects) {
		char *copy = strdup(objects);
		if (!copy)
			return -ENOMEM;
		free(reg->objects);
		reg->objects = copy;
	}
	if (params->has_lt)
		reg->lt = params->lt;
	if (params->has_b)
		snprintf(reg->b, sizeof(reg->b), "%s", params->b);
	arm_lifetime(reg);
	return 0;
}

lpw_registration_t *lpw_directory_find_ep(lpw_directory_t *dir, const char *ep)
{
	for (lpw_registration_t *r = dir->head; r; r = r->next)
		if (strcmp(r->ep, ep) == 0)
			return r;
	return NULL;
}

lpw_registration_t *lpw_directory_find_location(lpw_directory_t *dir, const char *location)
{
	for (lpw_registration_t *r = dir->head; r; r = r->next)
		if (strcmp(r->location, location) == 0)
			return r;
	return NULL;
}

lpw_registration_t *lpw_directory_first(lpw_directory_t *dir)
{
	return dir->head;
}

void lpw_directory_remove(lpw_registration_t *reg)
{
	lpw_registration_t **pp = &reg->dir->head;
	while (*pp && *pp != reg)
		pp = &(*pp)->next;
	if (*pp)
		*pp = reg->next;
	free_entry(reg);
}

void lpw_directory_unbind(lpw_registration_t *reg)
{
	if (reg->session)
		coap_session_release(reg->session);
	reg->session = NULL;
}

json_t *lpw_directory_to_json(lpw_directory_t *dir)
{
	json_t *items = json_array();
	for (lpw_registration_t *r = dir->head; r && items; r = r->next) {
		json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:b, s:s?, s:s, s:s?, s:b}", "ep", r->ep, "location",
		                      r->location, "lt", (json_int_t)r->lt, "lwm2m", r->lwm2m, "b", r->b, "Q", r->queue,
		                      "objects", r->objects, "peer", r->peer, "identity", r->identity, "connected",
		                      r->session != NULL);
		if (!o || json_array_append_new(items, o)) {
			json_decref(items);
			return NULL;
		}
	}
	return items;
}
