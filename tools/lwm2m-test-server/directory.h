/* The test server's registration table: one entry per registered endpoint, bound to the CoAP session it
 * registered (or last updated) on, expired when its lifetime passes without an Update. */
#ifndef LPW_TS_DIRECTORY_H
#define LPW_TS_DIRECTORY_H

#include <coap3/coap.h>
#include <jansson.h>
#include <stdint.h>

#include "core/loop.h"
#include "tools/lwm2m-test-server/registration.h"

typedef struct lpw_directory lpw_directory_t;

/* One registration. Fields are read-only outside directory.c; strings are owned by the entry. */
typedef struct lpw_registration {
	char ep[LPW_REG_EP_MAX + 1];
	char location[24]; /* "/rd/7" */
	unsigned id;
	uint32_t lt;
	char lwm2m[8];
	char b[8];             /* the binding as sent (b=), "U" when absent */
	bool queue;            /* the Register carried LwM2M 1.1's separate Q parameter */
	char *objects;         /* link-format object list, NULL when the Register had none */
	char peer[64];         /* "127.0.0.1:40000" of the session it is bound to */
	char *identity;        /* PSK identity, NULL without one */
	coap_session_t *session; /* referenced while bound; NULL after the connection closed */
	lpw_timer_t lifetime;
	struct lpw_directory *dir;
	struct lpw_registration *next;
} lpw_registration_t;

/* Called when a registration's lifetime ran out, just before it is removed; reg is borrowed for the call. */
typedef void (*lpw_directory_expired_cb)(lpw_registration_t *reg, void *arg);

/* loop and arg are borrowed and must outlive the directory. NULL on allocation failure. */
lpw_directory_t *lpw_directory_new(lpw_loop_t *loop, lpw_directory_expired_cb expired, void *arg);
/* Releases every session reference; accepts NULL. */
void lpw_directory_free(lpw_directory_t *dir);

/* Creates the registration for params (copied), bound to session (a reference is taken), and arms its
 * lifetime. An older registration of the same ep is removed first (a re-Register replaces it). objects and
 * identity may be NULL (copied). NULL on allocation failure. */
lpw_registration_t *lpw_directory_add(lpw_directory_t *dir, const lpw_reg_params_t *params, const char *objects,
                                      coap_session_t *session, const char *identity);

/* Applies an Update (params copied; objects NULL means unchanged), rebinds to session and re-arms the
 * lifetime. -ENOMEM on allocation failure (the registration is then unchanged except for the session). */
int lpw_directory_update(lpw_registration_t *reg, const lpw_reg_params_t *params, const char *objects,
                         coap_session_t *session);

lpw_registration_t *lpw_directory_find_ep(lpw_directory_t *dir, const char *ep);
/* location is "/rd/<id>" as in the registration. */
lpw_registration_t *lpw_directory_find_location(lpw_directory_t *dir, const char *location);
lpw_registration_t *lpw_directory_first(lpw_directory_t *dir);

/* Removes and frees reg (releasing its session). */
void lpw_directory_remove(lpw_registration_t *reg);

/* Unbinds reg from its session (releases the reference); the registration stays until it expires. */
void lpw_directory_unbind(lpw_registration_t *reg);

/* All registrations as a JSON array (new reference), NULL on allocation failure. */
json_t *lpw_directory_to_json(lpw_directory_t *dir);

/* "127.0.0.1:40000" for the session's remote address into out. */
void lpw_directory_peer_str(coap_session_t *session, char *out, size_t out_len);

#endif
