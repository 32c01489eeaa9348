/* LoRaWAN regional parameters for EU868 and US915, time on air and the EU868 duty-cycle budget. */
#include "bindings/lorawan/lw_region.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

struct dr_row {
	uint8_t valid, sf, fsk, max_m, max_n;
	uint32_t bw_hz;
};

#define LORA(sf, bw, m, n) { 1, sf, 0, m, n, bw }
#define NUM_DR 16

/* RP002-1.0.x EU863-870 data rates; payload sizes from the "not repeater compatible" table (see lw_region.h) */
static const struct dr_row eu868[NUM_DR] = {
	LORA(12, 125000, 59, 51), LORA(11, 125000, 59, 51), LORA(10, 125000, 59, 51), LORA(9, 125000, 123, 115),
	LORA(8, 125000, 250, 242), LORA(7, 125000, 250, 242), LORA(7, 250000, 250, 242),
	{ 1, 0, 1, 250, 242, 0 }, /* DR7: FSK 50 kbit/s */
};

/* RP002-1.0.x US902-928: DR0..4 uplink, DR8..13 downlink, DR5..7 and 14..15 RFU ("not repeater compatible") */
static const struct dr_row us915[NUM_DR] = {
	LORA(10, 125000, 19, 11), LORA(9, 125000, 61, 53), LORA(8, 125000, 133, 125), LORA(7, 125000, 250, 242),
	LORA(8, 500000, 250, 242), { 0 }, { 0 }, { 0 },
	LORA(12, 500000, 61, 53), LORA(11, 500000, 137, 129), LORA(10, 500000, 250, 242),
	LORA(9, 500000, 250, 242), LORA(8, 500000, 250, 242), LORA(7, 500000, 250, 242),
};

/* RP002-1.0.x US902-928 RX1 DR table: [uplink DR][RX1DROffset] */
static const uint8_t us915_rx1[5][4] = {
	{ 10, 9, 8, 8 }, { 11, 10, 9, 8 }, { 12, 11, 10, 9 }, { 13, 12, 11, 10 }, { 13, 13, 12, 11 },
};

static const struct dr_row *row(enum lw_region_id r, unsigned dr)
{
	if (dr >= NUM_DR)
		return NULL;
	const struct dr_row *t = r == LW_REGION_EU868 ? eu868 : r == LW_REGION_US915 ? us915 : NULL;
	return t && t[dr].valid ? &t[dr] : NULL;
}

int lw_region_from_name(const char *name, enum lw_region_id *out)
{
	if (name && strcasecmp(name, "EU868") == 0)
		*out = LW_REGION_EU868;
	else if (name && strcasecmp(name, "US915") == 0)
		*out = LW_REGION_US915;
	else
		return -EINVAL;
	return 0;
}

const char *lw_region_name(enum lw_region_id r)
{
	return r == LW_REGION_EU868 ? "EU868" : r == LW_REGION_US915 ? "US915" : "?";
}

int lw_region_dr(enum lw_region_id r, unsigned dr, struct lw_dr_info *out)
{
	const struct dr_row *w = row(r, dr);
	if (!w)
		return -EINVAL;
	out->fsk = w->fsk;
	out->sf = w->sf;
	out->bw_hz = w->bw_hz;
	out->bitrate = w->fsk ? 50000 : 0;
	out->max_m = w->max_m;
	out->max_n = w->max_n;
	return 0;
}

int lw_region_dr_from_lora(enum lw_region_id r, bool uplink, unsigned sf, uint32_t bw_hz, unsigned *out_dr)
{
	/* US915 uplinks use DR0..4, downlinks DR8..13; EU868 uses DR0..6 both ways */
	unsigned lo = 0, hi = NUM_DR - 1;
	if (r == LW_REGION_US915) {
		lo = uplink ? 0 : 8;
		hi = uplink ? 4 : 13;
	}
	for (unsigned dr = lo; dr <= hi; dr++) {
		const struct dr_row *w = row(r, dr);
		if (w && !w->fsk && w->sf == sf && w->bw_hz == bw_hz) {
			*out_dr = dr;
			return 0;
		}
	}
	return -EINVAL;
}

static int us915_channel(uint32_t f, unsigned *out_ch)
{
	if (f >= 902300000u && f <= 914900000u && (f - 902300000u) % 200000u == 0) {
		*out_ch = (f - 902300000u) / 200000u;
		return 0;
	}
	if (f >= 903000000u && f <= 914200000u && (f - 903000000u) % 1600000u == 0) {
		*out_ch = 64 + (f - 903000000u) / 1600000u;
		return 0;
	}
	return -EINVAL;
}

int lw_region_rx1(enum lw_region_id r, uint32_t up_freq_hz, unsigned up_dr, unsigned rx1_dr_offset,
	uint32_t *out_freq_hz, unsigned *out_dr)
{
	if (r == LW_REGION_EU868) {
		if (up_dr > 7 || rx1_dr_offset > 5)
			return -EINVAL;
		*out_freq_hz = up_freq_hz;
		*out_dr = up_dr > rx1_dr_offset ? up_dr - rx1_dr_offset : 0;
		return 0;
	}
	if (r != LW_REGION_US915 || up_dr > 4 || rx1_dr_offset > 3)
		return -EINVAL;
	unsigned ch;
	if (us915_channel(up_freq_hz, &ch) != 0)
		return -EINVAL;
	*out_freq_hz = 923300000u + 600000u * (ch % 8);
	*out_dr = us915_rx1[up_dr][rx1_dr_offset];
	return 0;
}

int lw_region_rx2(enum lw_region_id r, uint32_t *out_freq_hz, unsigned *out_dr)
{
	if (r == LW_REGION_EU868) {
		*out_freq_hz = 869525000u;
		*out_dr = 0;
	} else if (r == LW_REGION_US915) {
		*out_freq_hz = 923300000u;
		*out_dr = 8;
	} else {
		return -EINVAL;
	}
	return 0;
}

int lw_region_airtime_us(enum lw_region_id r, unsigned dr, size_t len, bool downlink, uint32_t *out_us)
{
	const struct dr_row *w = row(r, dr);
	if (!w || len > 255)
		return -EINVAL;
	if (w->fsk) {
		/* 5 preamble + 3 sync word + 1 length + payload + 2 CRC bytes, 20 us per bit at 50 kbit/s */
		*out_us = (uint32_t)((11 + len) * 8 * 20);
		return 0;
	}
	/* Symbol time 2^SF / BW: a whole number of microseconds for 125/250/500 kHz */
	uint32_t tsym = (uint32_t)((1000000ull << w->sf) / w->bw_hz);
	int de = w->sf >= 11 && w->bw_hz == 125000;
	int crc = downlink ? 0 : 1;
	int num = 8 * (int)len - 4 * w->sf + 28 + 16 * crc; /* explicit header: IH = 0 */
	int den = 4 * (w->sf - 2 * de);
	int blocks = num > 0 ? (num + den - 1) / den : 0;
	uint32_t nsym = 8 + (uint32_t)blocks * 5; /* CR 4/5: CR + 4 = 5 */
	/* preamble 8 + 4.25 symbols = 49/4 symbols; tsym is a multiple of 4 us for SF >= 7 */
	*out_us = tsym * 49 / 4 + nsym * tsym;
	return 0;
}

int lw_region_demod_floor_ddb(enum lw_region_id r, unsigned dr, int *out_ddb)
{
	const struct dr_row *w = row(r, dr);
	if (!w)
		return -EINVAL;
	/* SF7 -7.5 dB ... SF12 -20 dB, 2.5 dB per SF step */
	*out_ddb = w->fsk ? 0 : -75 - 25 * (w->sf - 7);
	return 0;
}

/* --- duty cycle ------------------------------------------------------------------------------------------- */

#define HOUR_MS 3600000
#define NUM_BANDS 5

struct band {
	uint32_t lo_hz, hi_hz;
	uint32_t permille; /* share of the hour */
};

/* ETSI EN 300 220 sub-bands as listed for EU868 in RP002 */
static const struct band eu_bands[NUM_BANDS] = {
	{ 863000000u, 868000000u, 10 },  /* g: 1 % */
	{ 868000000u, 868600000u, 10 },  /* g1: 1 % */
	{ 868700000u, 869200000u, 1 },   /* g2: 0.1 % */
	{ 869400000u, 869650000u, 100 }, /* g3: 10 % */
	{ 869700000u, 870000000u, 10 },  /* g4: 1 % */
};

struct tx_rec {
	int64_t start_ms;
	uint32_t air_ms; /* rounded up */
};

struct ring {
	struct tx_rec *rec;
	size_t head, count;
	uint64_t sum_ms;
};

struct lw_dutycycle {
	enum lw_region_id region;
	size_t cap;
	int64_t last_now;
	uint64_t ring_full;
	struct ring ring[NUM_BANDS];
};

lw_dutycycle_t *lw_dutycycle_new(enum lw_region_id r, size_t max_records)
{
	if (r != LW_REGION_EU868 && r != LW_REGION_US915)
		return NULL;
	lw_dutycycle_t *dc = calloc(1, sizeof(*dc));
	if (!dc)
		return NULL;
	dc->region = r;
	dc->cap = max_records ? max_records : 1024;
	dc->last_now = INT64_MIN;
	for (int b = 0; r == LW_REGION_EU868 && b < NUM_BANDS; b++) {
		dc->ring[b].rec = calloc(dc->cap, sizeof(struct tx_rec));
		if (!dc->ring[b].rec) {
			lw_dutycycle_free(dc);
			return NULL;
		}
	}
	return dc;
}

void lw_dutycycle_free(lw_dutycycle_t *dc)
{
	if (!dc)
		return;
	for (int b = 0; b < NUM_BANDS; b++)
		free(dc->ring[b].rec);
	free(dc);
}

static int band_of(uint32_t f)
{
	for (int b = 0; b < NUM_BANDS; b++)
		if (f >= eu_bands[b].lo_hz && f <= eu_bands[b].hi_hz)
			return b;
	return -1;
}

/* The hour after a transmission ends it no longer counts. */
static int64_t expiry(const struct tx_rec *t)
{
	return t->start_ms + t->air_ms + HOUR_MS;
}

static void expire(struct ring *rg, size_t cap, int64_t now_ms)
{
	while (rg->count && expiry(&rg->rec[rg->head]) <= now_ms) {
		rg->sum_ms -= rg->rec[rg->head].air_ms;
		rg->head = (rg->head + 1) % cap;
		rg->count--;
	}
}

/* How long until enough records age out for air_ms more to fit the budget. */
static int64_t wait_for(const struct ring *rg, size_t cap, uint64_t budget, uint32_t air_ms, int64_t now_ms)
{
	uint64_t sum = rg->sum_ms;
	for (size_t i = 0; i < rg->count; i++) {
		const struct tx_rec *t = &rg->rec[(rg->head + i) % cap];
		sum -= t->air_ms;
		if (sum + air_ms <= budget)
			return expiry(t) - now_ms;
	}
	return 0; /* longer than an hour's budget: never fits */
}

int lw_dutycycle_try(lw_dutycycle_t *dc, uint32_t freq_hz, unsigned dr, size_t len, int64_t now_ms, bool record,
	int64_t *out_wait_ms)
{
	uint32_t air_us;
	if (out_wait_ms)
		*out_wait_ms = 0;
	if (!dc || now_ms < dc->last_now || lw_region_airtime_us(dc->region, dr, len, true, &air_us) != 0)
		return -EINVAL;
	dc->last_now = now_ms;
	if (dc->region != LW_REGION_EU868)
		return 0;
	int b = band_of(freq_hz);
	if (b < 0)
		return -EINVAL;
	struct ring *rg = &dc->ring[b];
	expire(rg, dc->cap, now_ms);
	uint32_t air_ms = (air_us + 999) / 1000;
	uint64_t budget = (uint64_t)HOUR_MS * eu_bands[b].permille / 1000;
	if (rg->sum_ms + air_ms > budget) {
		if (out_wait_ms)
			*out_wait_ms = wait_for(rg, dc->cap, budget, air_ms, now_ms);
		return -EAGAIN;
	}
	if (rg->count == dc->cap) {
		if (record)
			dc->ring_full++;
		return -EAGAIN;
	}
	if (!record)
		return 0;
	rg->rec[(rg->head + rg->count) % dc->cap] = (struct tx_rec){ now_ms, air_ms };
	rg->count++;
	rg->sum_ms += air_ms;
	return 0;
}

int lw_dutycycle_used_ms(lw_dutycycle_t *dc, uint32_t freq_hz, int64_t now_ms, int64_t *out_ms)
{
	if (!dc)
		return -EINVAL;
	if (dc->region != LW_REGION_EU868) {
		*out_ms = 0;
		return 0;
	}
	int b = band_of(freq_hz);
	if (b < 0)
		return -EINVAL;
	expire(&dc->ring[b], dc->cap, now_ms);
	*out_ms = (int64_t)dc->ring[b].sum_ms;
	return 0;
}

uint64_t lw_dutycycle_ring_full_count(const lw_dutycycle_t *dc)
{
	return dc ? dc->ring_full : 0;
}
