/* The JSON bodies of the Semtech UDP packet-forwarder protocol (PROTOCOL.TXT §4, §6): rxpk, stat, txpk, txpk_ack. */
#ifndef LPW_HAL_PKTFWD_JSON_H
#define LPW_HAL_PKTFWD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* LoRa PHY payloads are at most 255 bytes (SX127x/SX130x FIFO). */
#define LPW_PKTFWD_MAX_PAYLOAD 255

typedef enum { LPW_MODU_LORA, LPW_MODU_FSK } lpw_modu_t;

/* One received radio packet (an entry of "rxpk"). */
typedef struct {
	uint32_t tmst;        /* concentrator counter (µs) at "RX finished"; mandatory */
	bool has_tmms;
	uint64_t tmms;        /* GPS time in ms, when the forwarder has it */
	char time[40];        /* UTC time, ISO 8601 compact; "" when absent */
	double freq;          /* MHz */
	uint8_t chan;         /* IF channel; 0 when absent */
	uint8_t rfch;         /* RF chain; 0 when absent */
	int8_t stat;          /* CRC: 1 OK, -1 failed, 0 no CRC. Passed on as is: hal/ takes no decisions. */
	lpw_modu_t modu;
	uint8_t sf;           /* LORA: spreading factor 5..12 */
	uint16_t bw_khz;      /* LORA: 125, 250 or 500 */
	uint32_t fsk_bps;     /* FSK: datarate in bit/s */
	uint8_t codr;         /* LORA: coding rate denominator 5..8 ("4/5".."4/8") */
	int16_t rssi;         /* dBm */
	double lsnr;          /* dB; LORA only (0 for FSK) */
	uint16_t size;
	uint8_t data[LPW_PKTFWD_MAX_PAYLOAD];
} lpw_rxpk_t;

/* The gateway status report ("stat"). Fields the forwarder left out read 0 / "". */
typedef struct {
	char time[40];
	bool has_gps;         /* lati and long were both present */
	double lati, lon;
	int32_t alti;
	uint32_t rxnb, rxok, rxfw, dwnb, txnb;
	double ackr;          /* % of upstream datagrams acknowledged */
} lpw_pktfwd_stat_t;

/* One packet to transmit ("txpk" of PULL_RESP). LORA only: LoRaWAN downlinks never use FSK here. */
typedef struct {
	bool imme;            /* send at once; tmst is then ignored */
	uint32_t tmst;        /* concentrator counter value to send at */
	double freq;          /* MHz */
	uint8_t rfch;
	uint8_t powe;         /* dBm */
	uint8_t sf;           /* 5..12 */
	uint16_t bw_khz;      /* 125, 250, 500 */
	uint8_t codr;         /* denominator 5..8 */
	bool ipol;            /* LoRaWAN downlinks invert IQ */
	bool ncrc;            /* written only when true */
	uint16_t size;
	uint8_t data[LPW_PKTFWD_MAX_PAYLOAD];
} lpw_txpk_t;

/* "txpk_ack"."error" (PROTOCOL.TXT §6). A TX_ACK without JSON means NONE. */
typedef enum {
	LPW_TXACK_NONE,
	LPW_TXACK_TOO_LATE,
	LPW_TXACK_TOO_EARLY,
	LPW_TXACK_COLLISION_PACKET,
	LPW_TXACK_COLLISION_BEACON,
	LPW_TXACK_TX_FREQ,
	LPW_TXACK_TX_POWER,
	LPW_TXACK_GPS_UNLOCKED,
} lpw_txack_error_t;

/* The protocol's name of err ("NONE", ...); static storage, "?" when out of range. */
const char *lpw_txack_error_name(lpw_txack_error_t err);

/* Each parser fills *out from a borrowed jansson value; on failure it returns -EBADMSG and writes a
 * NUL-terminated reason naming the field into why (why may be NULL when whylen is 0). */
int lpw_rxpk_from_json(const json_t *obj, lpw_rxpk_t *out, char *why, size_t whylen);
int lpw_pktfwd_stat_from_json(const json_t *obj, lpw_pktfwd_stat_t *out, char *why, size_t whylen);
int lpw_txpk_from_json(const json_t *obj, lpw_txpk_t *out, char *why, size_t whylen);
/* obj is the "txpk_ack" object. */
int lpw_txack_from_json(const json_t *obj, lpw_txack_error_t *out, char *why, size_t whylen);

/* Builders return a new object (ownership passes to the caller, json_decref it), or NULL when the struct
 * holds values the protocol cannot carry (sf, bw, codr, size out of range) or on allocation failure. */
json_t *lpw_rxpk_to_json(const lpw_rxpk_t *rx);
json_t *lpw_txpk_to_json(const lpw_txpk_t *tx);
json_t *lpw_pktfwd_stat_to_json(const lpw_pktfwd_stat_t *st);

/* Base64 (standard alphabet) over mbedTLS. in is len characters (a NUL among them is a bad character). Decoding accepts missing padding (PROTOCOL.TXT §6 says it is
 * optional in txpk) and rejects any other character, including whitespace. Decode: number of bytes, or
 * -EBADMSG (bad character or length), -EMSGSIZE (more than cap bytes). Encode: length written without the
 * NUL, or -EMSGSIZE when out is too small. */
int lpw_pktfwd_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap);
int lpw_pktfwd_b64_encode(const uint8_t *in, size_t n, char *out, size_t outlen);

#endif
