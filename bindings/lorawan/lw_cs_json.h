/* ChirpStack v4 MQTT integration JSON: decoding the device events and encoding the downlink command.
 *
 * Schema followed: ChirpStack v4.x, api/proto/integration/integration.proto (UplinkEvent, JoinEvent, AckEvent,
 * TxAckEvent, StatusEvent, LogEvent, DownlinkCommand) as its MQTT integration marshals them with `json = true`
 * (proto3 JSON: lowerCamelCase names, bytes as base64, enums as their names; fields at their default value may be
 * left out, so a missing bool is false and a missing number 0). Checked against ChirpStack's source of the 4.x
 * series, where a DownlinkCommand's `id` becomes the queue item's id (and comes back as `queueItemId` in ack and
 * txack events). Unknown fields are ignored; a body that is not JSON, not an object, lacks deviceInfo.devEui, or
 * has a field of the wrong type or out of range is refused with a reason. Pure code: no I/O, no allocation kept. */
#ifndef LPW_LW_CS_JSON_H
#define LPW_LW_CS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LW_CS_MAX_DATA 255 /* a LoRaWAN PHYPayload is at most 255 bytes: no FRMPayload is longer */
#define LW_CS_UUID_LEN 36  /* 8-4-4-4-12 */

/* The event kinds, named by the topic's last level (…/event/up, …/event/txack; join and status also …/state/…). */
typedef enum { LW_CS_UP, LW_CS_JOIN, LW_CS_ACK, LW_CS_TXACK, LW_CS_STATUS, LW_CS_LOG, LW_CS_KIND_COUNT } lw_cs_kind_t;

typedef enum { LW_CS_LOG_INFO, LW_CS_LOG_WARNING, LW_CS_LOG_ERROR } lw_cs_log_level_t;

typedef struct {
	lw_cs_kind_t kind;
	char dev_eui[17];                          /* deviceInfo.devEui, 16 hex digits, upper case */
	char application_id[LW_CS_UUID_LEN + 1];   /* deviceInfo.applicationId; "" when absent */
	/* up */
	uint8_t data[LW_CS_MAX_DATA];              /* base64 data, decoded */
	size_t len;
	uint8_t fport;                             /* 0: no FPort (MAC only) */
	uint32_t fcnt;
	bool confirmed;
	int dr;                                    /* dr, else from txInfo's LoRa modulation (see lw_cs_dr); -1 none */
	uint32_t freq_hz;                          /* txInfo.frequency; 0 absent */
	unsigned sf;                               /* txInfo.modulation.lora.spreadingFactor; 0 absent */
	uint32_t bw_hz;                            /* txInfo.modulation.lora.bandwidth (Hz); 0 absent */
	/* ack, txack */
	char queue_item_id[LW_CS_UUID_LEN + 1];    /* "" when absent */
	bool acknowledged;                         /* ack: false = a confirmed downlink not acknowledged (timed out) */
	uint32_t fcnt_down;
	/* log */
	lw_cs_log_level_t level;
	char code[40];                             /* e.g. DOWNLINK_PAYLOAD_SIZE; "" when absent */
	char description[160];                     /* truncated */
	char context_queue_item_id[LW_CS_UUID_LEN + 1]; /* context.queue_item_id when present (downlink errors) */
} lw_cs_event_t;

/* The kind named by the topic level `name` (up, join, ack, txack, status, log); -1 for any other (location,
 * integration...: not ours). */
int lw_cs_kind_from_name(const char *name);

/* Decodes one event body of the given kind into *out. 0, or -EINVAL with the reason in why (NUL-terminated,
 * truncated to cap). Never reads past json + len. */
int lw_cs_event_parse(lw_cs_kind_t kind, const void *json, size_t len, lw_cs_event_t *out, char *why, size_t cap)
	__attribute__((warn_unused_result));

/* The DownlinkCommand for command/down: {"id","devEui" (lower case, as ChirpStack compares it with the topic),
 * "confirmed","fPort","data" (base64)}. id: a UUID we chose. Writes a NUL-terminated body into out. Its length,
 * or -EINVAL (fport 0 or above 223, len above LW_CS_MAX_DATA, bad dev_eui or id), -ENOSPC (cap too small). */
int lw_cs_down_encode(const char *id, const char *dev_eui, uint8_t fport, bool confirmed, const uint8_t *data,
		      size_t len, char *out, size_t cap) __attribute__((warn_unused_result));

/* Formats a version-4 shaped UUID from 16 bytes (random or counter bits; the version and variant bits are set). */
void lw_cs_uuid_format(const uint8_t bytes[16], char out[LW_CS_UUID_LEN + 1]);

#endif
