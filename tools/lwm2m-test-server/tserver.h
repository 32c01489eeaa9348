/* The test LwM2M server's CoAP side: a libcoap 4.3.1 context listening on CoAP/TCP and CoAP/TLS/TCP
 * (RFC 8323), the registration interface (LwM2M 1.1.1 Transport §6.4: Register, Update, De-register)
 * and the commands that send server-initiated requests to registered endpoints. Emits JSON events. */
#ifndef LPW_TS_TSERVER_H
#define LPW_TS_TSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "tools/lwm2m-test-server/command.h"
#include "tools/oscore/oscore.h"

#define LPW_TSERVER_PSK_ID_MAX 128 /* LwM2M object 0 allows identities up to 128 bytes */
#define LPW_TSERVER_PSK_KEY_MAX 64

typedef struct lpw_tserver lpw_tserver_t;

typedef struct {
	char identity[LPW_TSERVER_PSK_ID_MAX + 1];
	uint8_t key[LPW_TSERVER_PSK_KEY_MAX];
	size_t key_len;
} lpw_tserver_psk_t;

typedef struct {
	const char *listen;              /* numeric IPv4 or IPv6 address */
	int tcp_port;                    /* -1: no CoAP/TCP listener; 0: pick a free port */
	int tls_port;                    /* -1: no CoAP/TLS listener; 0: pick a free port */
	const lpw_tserver_psk_t *psks;   /* identities accepted over TLS, each with its own key */
	size_t psk_count;
	const char *ca_file;             /* X.509: CA to verify clients with (optional) */
	const char *cert_file;           /* X.509: our certificate and key (both or neither) */
	const char *key_file;
	bool verify_peer;                /* require and verify a client certificate */
	uint32_t csm_max_message_size;   /* 0: libcoap's default */
	int64_t request_timeout_ms;      /* bound on every server-initiated request */
	bool coap_debug;                 /* pass libcoap's debug log through */
	/* Borrowed, must outlive the server; NULL: no OSCORE. With a context, requests carrying the OSCORE option are
	 * verified and their responses protected, and every server-initiated request is protected (one context:
	 * meant for tests with one OSCORE device). */
	lpw_oscore_ctx_t *oscore;
} lpw_tserver_config_t;

/* Creates the context and the listeners. cfg and everything it points to is copied or used only during
 * the call, except that the psks array is borrowed and must outlive the server. loop is borrowed and must
 * outlive the server. Only one server may exist at a time (libcoap 4.3.1 handlers carry no user data).
 * NULL on failure (logged with libcoap's reason). */
lpw_tserver_t *lpw_tserver_new(lpw_loop_t *loop, const lpw_tserver_config_t *cfg);
/* Closes every session and frees the context; accepts NULL. */
void lpw_tserver_free(lpw_tserver_t *server);

/* The port the listener for tls (true) or tcp (false) is bound to, -1 when it is not listening. */
int lpw_tserver_port(const lpw_tserver_t *server, bool tls);

/* Runs one parsed command (borrowed) numbered id: sends a request or a cancel, or for "list" emits the
 * registrations. Emits "accepted" on success. -ENOENT (unknown endpoint, no such observation),
 * -ENOTCONN (endpoint registered but its session is closed) or the errors of lpw_requests_send, each with
 * a reason the caller emits. "quit" is the caller's business (-EINVAL). */
int lpw_tserver_execute(lpw_tserver_t *server, uint64_t id, const lpw_command_t *cmd, char *reason,
                        size_t reason_len) __attribute__((warn_unused_result));

#endif
