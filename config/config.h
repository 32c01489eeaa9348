/* Configuration: the libconfig schema, loading and validation. The result is a plain, read-only struct
 * (the documented configuration the rest of the gateway is built from); only config.c fills it in. */
#ifndef LPW_CONFIG_H
#define LPW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LPW_PSK_IDENTITY_MAX 128 /* seed 004: PSK identity up to 128 bytes */
#define LPW_PSK_KEY_MAX 64       /* seed 004: PSK key up to 64 bytes */

/* What the loader accepts at most, checked before libconfig parses a byte (config/source.c). libconfig 1.5 checks
 * every new setting against all its siblings and its scanner re-reads a long token from its start at every 8 KiB
 * refill, so without these a large group or a long string takes minutes. Documented in the README and
 * config/lpwagw.conf.example. */
#define LPW_CONFIG_MAX_BYTES (8u << 20)   /* the file and everything it includes, together */
#define LPW_CONFIG_MAX_SETTINGS 500000u   /* settings and list/array elements, together */
#define LPW_CONFIG_MAX_GROUP 256u         /* settings directly inside one group */
#define LPW_CONFIG_MAX_STRING 4096u       /* one string as written (adjacent "a" "b" count as one), or any token */
#define LPW_CONFIG_MAX_DEPTH 32u          /* groups, lists and arrays inside each other */
#define LPW_CONFIG_MAX_INCLUDES 10u       /* @include inside @include (libconfig's own limit) */
#define LPW_CONFIG_MAX_ERRORS 100u        /* problems written out; the rest are counted */

typedef struct {
	char identity[LPW_PSK_IDENTITY_MAX + 1]; /* NUL-terminated; empty = no PSK */
	size_t identity_len;
	uint8_t key[LPW_PSK_KEY_MAX];
	size_t key_len;
	char *ca_file;   /* X.509: CA to verify the server; NULL = none */
	char *cert_file; /* X.509: our certificate; NULL = none */
	char *key_file;  /* X.509: our private key; NULL = none */
	char *sni;       /* server name for TLS SNI and verification; NULL = host of the URI */
} lpw_config_tls_t;

typedef struct {
	char *name;
	char *uri;    /* coap+tcp://host[:port] or coaps+tcp://host[:port] */
	bool secure;  /* coaps+tcp */
	char *host;
	uint16_t port; /* default 5683 (coap+tcp) or 5684 (coaps+tcp) */
	bool bootstrap; /* a bootstrap server: receives POST /bs */
	lpw_config_tls_t tls; /* server-wide credentials; a device's own override them */
} lpw_config_server_t;

typedef enum {
	LPW_BINDING_NIDD_SGI, /* identity: ip */
	LPW_BINDING_NIDD_T8,  /* identity: external_id or msisdn */
	LPW_BINDING_SMS,      /* identity: msisdn */
	LPW_BINDING_LORAWAN,  /* identity: dev_eui */
	LPW_BINDING_COUNT
} lpw_binding_kind_t;

#define LPW_DEVICE_MAX_SERVERS 4
/* Which of a device's servers a message is for: an index into servers[], or these. */
#define LPW_SERVER_ANY (-1)                         /* let the message decide (Uri-Host, /bs), else the default */
#define LPW_SERVER_BOOTSTRAP LPW_DEVICE_MAX_SERVERS /* the bootstrap server */

/* Which network server serves a LoRaWAN device (bindings.lorawan: the embedded one or ChirpStack). */
typedef enum { LPW_LORAWAN_NET_EMBEDDED, LPW_LORAWAN_NET_CHIRPSTACK, LPW_LORAWAN_NET_COUNT } lpw_config_lorawan_net_t;

/* A LoRaWAN device's own settings (binding "lorawan"; identity dev_eui). The keys are network-server settings of
 * the embedded network server (a ChirpStack device has none: they stay in ChirpStack); FPorts, confirmed downlinks
 * and the object list are application-server settings, the same for both network servers. */
typedef struct {
	lpw_config_lorawan_net_t network; /* default embedded */
	bool otaa;                /* join_eui + app_key given (OTAA); else ABP with dev_addr + session keys */
	uint8_t join_eui[8];      /* a.k.a. AppEUI, in printed order */
	uint8_t app_key[16];      /* secret */
	uint32_t dev_addr;        /* ABP */
	uint8_t nwk_s_key[16];    /* ABP, secret */
	uint8_t app_s_key[16];    /* ABP, secret */
	uint8_t fport;            /* lorawan://{FPort} of the LwM2M server (default 1) */
	uint8_t bootstrap_fport;  /* FPort of the bootstrap server (default 2); 0 = none */
	bool confirmed_downlinks; /* LwM2M App. C.3.1 (confirmed) or C.3.2 (unconfirmed, the default) */
	char *objects;            /* object list put into a Register that has none; NULL = pass the server's 4.09 back */
	bool adr;                 /* network-side ADR for this device (default true; the network's adr must be on) */
} lpw_config_lorawan_device_t;

/* A device's SMS settings besides the binding identity. For devices of other bindings: the number the SMS Registration
 * Update Trigger (LwM2M 1.1.1 §6.6) goes to. */
typedef struct {
	char *number;             /* `sms`: E.164 digits, '+' dropped; NULL = none (binding "sms" devices use msisdn) */
	bool wakeup;              /* `sms_wakeup`: send the trigger (default true when number is set) */
	uint32_t wakeup_delay_s;  /* `sms_wakeup_delay`: a queued server request waits this long first (default 60) */
	uint32_t wakeup_instance; /* `sms_wakeup_instance`: x of POST /1/x/8, the Server Object Instance (default 0) */
} lpw_config_sms_device_t;

typedef struct {
	char *id;                  /* unique device name, used in logs, telemetry and the store */
	lpw_binding_kind_t binding;
	/* nidd-t8: an external_id always contains '@', an MSISDN (digits only) never does. */
	char *identity;            /* the binding identity, normalised: IP text, MSISDN digits, ext-id, DevEUI hex (16, upper) */
	char *endpoint;            /* LwM2M endpoint name to use when filling registration defaults; NULL = id */
	size_t nservers;
	const lpw_config_server_t *servers[LPW_DEVICE_MAX_SERVERS]; /* [0] is the default LwM2M server */
	const lpw_config_server_t *bootstrap;                       /* NULL = none */
	lpw_config_tls_t tls;      /* per-device credentials (identity_len 0 and no cert = use the server's) */
	bool oscore;               /* the device protects itself with OSCORE: never touch its options */
	uint32_t max_message_size; /* southbound limit in bytes; 0 = the binding's default */
	uint32_t queue_max;        /* queued server requests, 0 = the gateway default */
	lpw_config_lorawan_device_t lorawan; /* binding "lorawan" only */
	lpw_config_sms_device_t sms;         /* the wake-up number: bindings other than "sms" */
} lpw_config_device_t;

typedef struct {
	bool enabled;
	char *host;
	uint16_t port;
	char *ca_file;     /* TLS to the broker when set */
	char *username;
	char *password;    /* from password or password_file */
	char *topic_prefix;
	uint32_t interval_s; /* stats period */
	uint32_t keepalive_s;
} lpw_config_mqtt_t;

/* The control socket (lpwagw-ctl) and the Prometheus endpoint (issue 14 items 4, 5). */
typedef struct {
	char *socket;      /* Unix socket path; NULL = no control socket */
	uint32_t mode;     /* file mode of the socket; default 0660 */
	int allow_uid;     /* a peer with this uid may connect; -1 = the daemon's own uid. Root always may. */
	int allow_gid;     /* ... or with this gid; -1 = the daemon's own gid */
} lpw_config_control_t;

typedef struct {
	bool enabled;      /* default false */
	char *listen;      /* bind address; default 127.0.0.1 */
	uint16_t port;     /* default 9466 */
} lpw_config_metrics_t;

typedef struct {
	bool enabled;
	char *listen;  /* address to bind */
	uint16_t port;
	uint32_t max_message_size; /* default 1358: NAS limit, seed 001 App. D */
	uint32_t awake_time_s;     /* a queue-mode device listens this long after it sent (default 93) */
	uint32_t receive_buffer;   /* SO_RCVBUF of the socket, bytes (default 8 MiB) */
} lpw_config_sgi_t;

/* bindings.nidd_t8: NIDD through an operator's SCEF over the T8 API (3GPP TS 29.122 Rel-17, LwM2M App. D.3-D.6). */
typedef struct {
	bool enabled;               /* also on when a device uses the binding */
	char *api_root;             /* {apiRoot}: https://scef.example.net (the API path 3gpp-nidd/v1 is added) */
	char *scs_as_id;            /* {scsAsId}: our SCS/AS identifier at the SCEF */
	char *ca_file;              /* CA that verifies the SCEF; NULL = the system's */
	char *cert_file;            /* client certificate (TLS authentication); NULL = none */
	char *key_file;             /* its private key */
	char *token_file;           /* OAuth2 bearer token (TS 29.122 §5.2.3.5: OAuth 2.0); NULL = none */
	char *callback_listen;      /* address the notification server binds */
	uint16_t callback_port;
	char *callback_url;         /* notificationDestination as the SCEF reaches it; default http://listen:port/ */
	char *callback_cert_file;   /* HTTPS for the notification server when set */
	char *callback_key_file;
	uint32_t duration_s;        /* requested lifetime of a NIDD configuration; default 86400 */
	uint32_t renew_before_s;    /* renewed this long before it ends; default 300 */
	bool delete_on_shutdown;    /* DELETE the configurations when the daemon stops; default true */
	uint32_t request_timeout_s; /* a request to the SCEF gives up after; default 10 */
	uint32_t retry_min_s;       /* back-off of a failed configuration request: from; default 2 */
	uint32_t retry_max_s;       /* to; default 300 */
	uint32_t max_message_size;  /* when the SCEF reports no maximumPacketSize; default 1358 (App. D) */
	uint32_t reachable_window_s; /* a device listens this long after it sent; default 93 */
	uint32_t response_timeout_s; /* a CON to a device unanswered this long: the server gets 5.04; default 120 */
	uint32_t queue_max;         /* downlinks held per device while its configuration is (re)created; default 4 */
} lpw_config_t8_t;

/* The same order as the network server's region ids (bindings/lorawan/lw_region.h checks it). */
typedef enum {
	LPW_REGION_EU868,
	LPW_REGION_US915,
	LPW_REGION_AU915,
	LPW_REGION_AS923_1,
	LPW_REGION_AS923_2,
	LPW_REGION_AS923_3,
	LPW_REGION_AS923_4,
} lpw_config_region_t;

#define LPW_LORAWAN_MAX_LISTED 64 /* bindings.lorawan.forwarders entries */
#define LPW_LORAWAN_MAX_CHANNELS 5 /* bindings.lorawan.channels: what one CFList carries */

/* bindings.lorawan.chirpstack: ChirpStack v4 as the network server, through its MQTT integration. */
typedef struct {
	bool enabled;
	char *host;                /* broker; default 127.0.0.1 */
	uint16_t port;             /* default 1883 (8883 with TLS) */
	char *client_id;           /* default "lpwagw-<gateway_id>" (filled in by the binding when NULL) */
	char *username;
	char *password;            /* from password or password_file */
	char *ca_file;             /* TLS to the broker when set */
	char *cert_file;           /* TLS client certificate (with key_file) */
	char *key_file;
	char *application_id;      /* ChirpStack application (UUID); required when enabled */
	char *topic_prefix;        /* ChirpStack's event topic begins with this; default "application" */
	lpw_config_region_t region; /* the devices' region in ChirpStack: payload limits per data rate */
	uint32_t rx1_dr_offset;    /* the RX1DROffset ChirpStack uses; default 0 */
	uint32_t keepalive_s;      /* default 30 */
	uint32_t reconnect_min_s;  /* default 1 */
	uint32_t reconnect_max_s;  /* default 60 */
	uint32_t downlink_window_s; /* after an uplink, downlinks go into ChirpStack's queue for this long; default 60 */
} lpw_config_chirpstack_t;

/* bindings.lorawan: the LoRaWAN binding. The application server's settings (LwM2M App. C timers ack_timeout and
 * max_retransmit; per device FPorts, confirmed downlinks, objects) serve both network servers; the rest of this
 * group is the embedded network server behind Semtech UDP packet forwarders, chirpstack the external one. */
typedef struct {
	bool enabled;              /* the embedded network server */
	char *listen;              /* default "0.0.0.0" */
	uint16_t port;             /* default 1700, the packet forwarder's usual server port */
	lpw_config_region_t region;
	uint32_t net_id;           /* 24 bits, default 0 */
	uint32_t rx1_dr_offset;    /* default 0 */
	uint32_t rx2_dr;           /* default: the region's (EU868 0, US915 8) — UINT32_MAX means region default */
	uint32_t rx2_freq_hz;      /* default: the region's (0 means region default) */
	uint32_t ack_timeout_s;    /* LwM2M App. C.2: ACK_TIMEOUT 300 s */
	uint32_t max_retransmit;   /* LwM2M App. C.2: MAX_RETRANSMIT 4 */
	uint32_t forwarder_timeout_s; /* a forwarder silent (no PULL_DATA) this long is down; default 30 */
	uint32_t dedup_ms;         /* copies of an uplink from several forwarders are awaited this long; default 200 */
	uint64_t forwarders[LPW_LORAWAN_MAX_LISTED]; /* gateway EUIs that always get a forwarder slot (allow-list) */
	size_t nforwarders;
	bool only_listed_forwarders; /* refuse every gateway EUI not in forwarders; default false (accept any) */
	char *gpio_chip;           /* concentrator reset line; NULL = none */
	uint32_t gpio_line;
	bool gpio_active_low;
	uint32_t gpio_pulse_ms;    /* default 100 */
	/* The channel plan the concentrator listens to, told to devices; ADR (network side) */
	uint32_t channels_hz[LPW_LORAWAN_MAX_CHANNELS]; /* EU868/AS923: after the default channels (Join-Accept CFList) */
	size_t nchannels;
	uint32_t sub_band;         /* US915/AU915: 1..8 (eight 125 kHz channels, one 500 kHz); 0 = all 72 (default) */
	bool adr;                  /* default true */
	uint32_t adr_margin_db;    /* installation margin, default 10 dB */
	uint32_t adr_history;      /* uplinks ADR looks at before it decides, default 20 */
	lpw_config_chirpstack_t chirpstack;
} lpw_config_lorawan_t;

typedef enum { LPW_SMS_CNMI_STORE, LPW_SMS_CNMI_DIRECT } lpw_config_sms_cnmi_t;

/* bindings.sms: CoAP over SMS through a cellular modem (LwM2M 1.1.1 §6.8.3, §5.4.1, §6.6). */
typedef struct {
	bool enabled;
	char *device;               /* the modem's serial port; required when enabled */
	uint32_t baud;              /* default 115200 */
	lpw_config_sms_cnmi_t cnmi; /* "store" (+CMTI, then read and delete; the default) or "direct" (+CMT, +CNMA) */
	char *pin;                  /* the SIM PIN from pin_file (secret, 4..8 digits); NULL = none */
	char *smsc;                 /* the SMSC's E.164 digits; NULL = the SIM's */
	uint32_t dcs;               /* TP-DCS of what we send: 8-bit data, never class 0; default 0x04 */
	uint32_t validity_s;        /* TP-VP, relative; 0 = none; default 3600 */
	bool status_reports;        /* ask for SMS-STATUS-REPORTs (TP-SRR) and route them to us */
	uint32_t max_parts;         /* concatenated parts per message: sets the southbound size; default 4 */
	uint32_t reassembly_timeout_s; /* an incomplete incoming message is dropped after this; default 300 */
	uint32_t max_chains;        /* incomplete incoming messages per device; default 4 */
	uint32_t reassembly_memory; /* bytes for all incomplete incoming messages; default 65536 */
	uint32_t rate_device;       /* SMS sent per hour per device; default 60 */
	uint32_t rate_total;        /* SMS sent per hour in all; default 600 */
	uint32_t reachable_window_s; /* a device listens this long after it sent something; default 93 */
	uint32_t response_timeout_s; /* a CON to a device unanswered this long: the server gets 5.04; default 120 */
	char *gpio_chip;            /* the modem's reset/power line; NULL = none */
	uint32_t gpio_line;
	bool gpio_active_low;
	uint32_t gpio_pulse_ms;     /* default 500 */
} lpw_config_sms_t;

typedef struct {
	uint32_t reconnect_min_s;
	uint32_t reconnect_max_s;
	uint32_t csm_timeout_s;
	uint32_t ping_interval_s;
	uint32_t queue_max;        /* default per-device queue bound */
	uint32_t queue_timeout_s;  /* a queued request older than this is answered 5.04 */
} lpw_config_upstream_t;

typedef struct {
	char *path;        /* the file that was loaded */
	char *gateway_id;
	char *state_dir;
	int log_level;     /* syslog level */
	bool log_syslog;
	/* Repeatable log lines and telemetry events, per kind and device: a burst, then lines per period. */
	uint32_t log_limit_burst;    /* default 10; 0 = no limit */
	uint32_t log_limit_lines;    /* default 1 */
	uint32_t log_limit_period_s; /* default 10 */
	lpw_config_mqtt_t mqtt;
	lpw_config_control_t control;
	lpw_config_metrics_t metrics;
	lpw_config_upstream_t upstream;
	lpw_config_sgi_t sgi;
	lpw_config_t8_t t8;
	lpw_config_lorawan_t lorawan;
	lpw_config_sms_t sms;
	size_t nservers;
	lpw_config_server_t *servers;
	size_t ndevices;
	lpw_config_device_t *devices;
	struct lpw_config_index *index; /* config/ internal: lookups by name and id; NULL (a hand-made config) = scan */
} lpw_config_t;

/* Loads and validates path. On success returns 0 and *out_config (free with lpw_config_free).
 * On failure returns -EINVAL (or -ENOENT/-ENOMEM) and writes every problem found (the first
 * LPW_CONFIG_MAX_ERRORS, then how many more), one per line, as "FILE:LINE: SETTING: what is wrong; expected WHAT"
 * to errors (if not NULL). Also: an unreadable file gives its open() errno (e.g. -EACCES); *out_config is NULL on
 * any failure. Never blocks: the file, included files and secret files are opened O_NONBLOCK and refused unless
 * they are regular files; the LPW_CONFIG_MAX_* limits bound the work, which is linear in the file's size.
 * path is copied (config->path); every relative path in the file, and @include, start at its directory.
 * The schema (every key, its range and default) is in config/schema.c and config/lpwagw.conf.example. */
int lpw_config_load(const char *path, lpw_config_t **out_config, FILE *errors) __attribute__((warn_unused_result));

/* Accepts NULL. */
void lpw_config_free(lpw_config_t *config);

/* The checks of a loaded configuration that depend on this machine rather than on the file, as start-up would
 * meet them (--check-config runs them too): the state directory is a writable directory, or can be created; its
 * database, if there, is a readable and writable regular file. Problems go to out (if not NULL) as
 * "FILE: state_dir: ..." lines; a state directory that group or others may enter is a warning ("warning:"), not
 * an error. Returns 0 (warnings only) or -EINVAL. Never creates or changes anything. Checks are made as the
 * calling user: run --check-config as the daemon's user. */
int lpw_config_check_runtime(const lpw_config_t *config, FILE *out) __attribute__((warn_unused_result));

/* Lookups; NULL if absent. Borrowed from config. O(log n) on a loaded configuration. */
const lpw_config_server_t *lpw_config_find_server(const lpw_config_t *config, const char *name);
const lpw_config_device_t *lpw_config_find_device(const lpw_config_t *config, const char *id);

/* Writes one line per setting that differs between old and new (for SIGHUP reports), naming whether it
 * takes effect now or needs a restart. Returns the number of differences that need a restart.
 * Lines look like "mqtt.port: 1883 -> 1884; applies now", "gateway_id: a -> b; needs a restart",
 * "devices.dev-1: changed; applies now" (or added / removed); secrets print as "changed".
 * Restart needed: gateway_id, state_dir, upstream.csm_timeout, bindings.*; servers and devices apply at once.
 * out may be NULL (count only). */
int lpw_config_diff(const lpw_config_t *old_config, const lpw_config_t *new_config, FILE *out);

/* Whether two servers (or two credential sets) are the same in every setting a session is opened with. */
bool lpw_config_server_equal(const lpw_config_server_t *a, const lpw_config_server_t *b);
bool lpw_config_tls_equal(const lpw_config_tls_t *a, const lpw_config_tls_t *b);

/* "nidd-sgi", "nidd-t8", "sms", "lorawan" (as written in the file); "?" for anything else. Static storage. */
const char *lpw_config_binding_name(lpw_binding_kind_t kind);

#endif
