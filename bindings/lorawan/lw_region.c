/* LoRaWAN regional parameters (EU868, US915, AU915, AS923-1..4), time on air and the EU868 duty-cycle budget. */
#include "bindings/lorawan/lw_region.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct dr_row {
	uint8_t valid, sf, fsk, max_m, max_n;
	uint32_t bw_hz;
};

#define LORA(sf, bw, m, n) { 1, sf, 0, m, n, bw }
#define FSK(m, n) { 1, 0, 1, m, n, 0 }
#define NUM_DR 16

/* RP002-1.0.x EU863-870 data rates; payload sizes from the "not repeater compatible" table (see lw_region.h) */
static const struct dr_row eu868[NUM_DR] = {
	LORA(12, 125000, 59, 51), LORA(11, 125000, 59, 51), LORA(10, 125000, 59, 51), LORA(9, 125000, 123, 115),
	LORA(8, 125000, 250, 242), LORA(7, 125000, 250, 242), LORA(7, 250000, 250, 242), FSK(250, 242),
};

/* RP002-1.0.x US902-928: DR0..4 uplink, DR8..13 downlink, DR5..7 and 14..15 RFU ("not repeater compatible") */
static const struct dr_row us915[NUM_DR] = {
	LORA(10, 125000, 19, 11), LORA(9, 125000, 61, 53), LORA(8, 125000, 133, 125), LORA(7, 125000, 250, 242),
	LORA(8, 500000, 250, 242), { 0 }, { 0 }, { 0 },
	LORA(12, 500000, 61, 53), LORA(11, 500000, 137, 129), LORA(10, 500000, 250, 242),
	LORA(9, 500000, 250, 242), LORA(8, 500000, 250, 242), LORA(7, 500000, 250, 242),
};

/* RP002-1.0.x AU915-928 without dwell-time limit: DR0..6 uplink (DR7, LR-FHSS, is not offered), DR8..13
 * downlink ("not repeater compatible") */
static const struct dr_row au915[NUM_DR] = {
	LORA(12, 125000, 59, 51), LORA(11, 125000, 59, 51), LORA(10, 125000, 59, 51), LORA(9, 125000, 123, 115),
	LORA(8, 125000, 250, 242), LORA(7, 125000, 250, 242), LORA(8, 500000, 250, 242), { 0 },
	LORA(12, 500000, 61, 53), LORA(11, 500000, 137, 129), LORA(10, 500000, 250, 242),
	LORA(9, 500000, 250, 242), LORA(8, 500000, 250, 242), LORA(7, 500000, 250, 242),
};

/* RP002-1.0.x AS923 with the 400 ms dwell-time limit, the region's default for uplinks and downlinks: DR0 and
 * DR1 carry nothing under it (see the region notes in lw_region.h) */
static const struct dr_row as923[NUM_DR] = {
	LORA(12, 125000, 0, 0), LORA(11, 125000, 0, 0), LORA(10, 125000, 19, 11), LORA(9, 125000, 61, 53),
	LORA(8, 125000, 133, 125), LORA(7, 125000, 250, 242), LORA(7, 250000, 250, 242), FSK(250, 242),
};

/* RP002-1.0.x RX1 DR tables of the two 64+8-channel regions: [uplink DR][RX1DROffset] */
static const uint8_t us915_rx1[5][6] = {
	{ 10, 9, 8, 8 }, { 11, 10, 9, 8 }, { 12, 11, 10, 9 }, { 13, 12, 11, 10 }, { 13, 13, 12, 11 },
};
static const uint8_t au915_rx1[7][6] = {
	{ 8, 8, 8, 8, 8, 8 }, { 9, 8, 8, 8, 8, 8 }, { 10, 9, 8, 8, 8, 8 }, { 11, 10, 9, 8, 8, 8 },
	{ 12, 11, 10, 9, 8, 8 }, { 13, 12, 11, 10, 9, 8 }, { 13, 13, 12, 11, 10, 9 },
};

/* A 64 x 125 kHz + 8 x 500 kHz uplink grid, its 8 downlink channels and RX1 table (US915, AU915). */
struct grid {
	uint32_t up125_hz, up500_hz, down_hz;
	const uint8_t (*rx1)[6];
};
static const struct grid us915_grid = { 902300000u, 903000000u, 923300000u, us915_rx1 };
static const struct grid au915_grid = { 915200000u, 915900000u, 923300000u, au915_rx1 };

struct region {
	const char *name;
	const struct dr_row *dr;
	uint8_t up_lo, up_hi, down_lo, down_hi; /* the DRs each direction uses */
	uint8_t rx1_offsets;                    /* valid RX1DROffset values: 0 .. rx1_offsets - 1 */
	uint8_t rx2_dr, adr_max_dr, max_tx_power;
	uint32_t rx2_hz;
	const struct grid *grid; /* NULL: RX1 on the uplink frequency */
	uint32_t join_hz[3];     /* the channels every device has from the start (EU868, AS923) */
	uint8_t join_n;
	uint8_t min_rx1_dr; /* AS923 with downlink dwell time: DR2 */
	bool dwell;         /* frames sized for the 400 ms dwell-time limit */
	uint32_t band_lo_hz, band_hi_hz;
};

/* AS923-2..4 are AS923-1 shifted by a frequency offset (RP002-1.0.3 §2.10: -1.8, -6.6, -5.9 MHz). */
#define AS923(nm, off) { nm, as923, 0, 7, 0, 7, 8, 2, 5, 7, 923200000u - (off), NULL, \
		{ 923200000u - (off), 923400000u - (off) }, 2, 2, true, 915000000u, 928000000u }

/* RX2 defaults and TX power indices (the highest index is the lowest power) from RP002-1.0.x; adr_max_dr is
 * the fastest 125 kHz uplink DR, the one ADR may move a device to. */
static const struct region regions[] = {
	[LW_REGION_EU868] = { "EU868", eu868, 0, 7, 0, 7, 6, 0, 5, 7, 869525000u, NULL,
		{ 868100000u, 868300000u, 868500000u }, 3, 0, false, 863000000u, 870000000u },
	[LW_REGION_US915] = { "US915", us915, 0, 4, 8, 13, 4, 8, 3, 14, 923300000u, &us915_grid, { 0 }, 0, 0, false,
		902000000u, 928000000u },
	[LW_REGION_AU915] = { "AU915", au915, 0, 6, 8, 13, 6, 8, 5, 14, 923300000u, &au915_grid, { 0 }, 0, 0, false,
		915000000u, 928000000u },
	[LW_REGION_AS923_1] = AS923("AS923-1", 0u),
	[LW_REGION_AS923_2] = AS923("AS923-2", 1800000u),
	[LW_REGION_AS923_3] = AS923("AS923-3", 6600000u),
	[LW_REGION_AS923_4] = AS923("AS923-4", 5900000u),
};
#define NUM_REGIONS (sizeof(regions) / sizeof(regions[0]))

static const struct region *region(enum lw_region_id r)
{
	return (unsigned)r < NUM_REGIONS ? &regions[r] : NULL;
}

static const struct dr_row *row(enum lw_region_id r, unsigned dr)
{
	const struct region *g = region(r);
	return g && dr < NUM_DR && g->dr[dr].valid ? &g->dr[dr] : NULL;
}

int lw_region_from_name(const char *name, enum lw_region_id *out)
{
	if (!name)
		return -EINVAL;
	if (strcasecmp(name, "AS923") == 0) { /* RP002 1.0.0's single AS923 is today's AS923-1 */
		*out = LW_REGION_AS923_1;
		return 0;
	}
	for (unsigned i = 0; i < NUM_REGIONS; i++)
		if (strcasecmp(name, regions[i].name) == 0) {
			*out = (enum lw_region_id)i;
			return 0;
		}
	return -EINVAL;
}

const char *lw_region_name(enum lw_region_id r)
{
	const struct region *g = region(r);
	return g ? g->name : "?";
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
	/* US915/AU915 uplinks and downlinks use separate DRs (SF8/500 kHz is DR4 or DR6 up, DR12 down) */
	const struct region *g = region(r);
	if (!g)
		return -EINVAL;
	unsigned lo = uplink ? g->up_lo : g->down_lo, hi = uplink ? g->up_hi : g->down_hi;
	for (unsigned dr = lo; dr <= hi; dr++) {
		const struct dr_row *w = row(r, dr);
		if (w && !w->fsk && w->sf == sf && w->bw_hz == bw_hz) {
			*out_dr = dr;
			return 0;
		}
	}
	return -EINVAL;
}

/* The uplink channel (0..63 at 200 kHz, 64..71 at 1.6 MHz) of a frequency on a US915/AU915 grid. */
static int grid_channel(const struct grid *gr, uint32_t f, unsigned *out_ch)
{
	if (f >= gr->up125_hz && f <= gr->up125_hz + 63 * 200000u && (f - gr->up125_hz) % 200000u == 0) {
		*out_ch = (f - gr->up125_hz) / 200000u;
		return 0;
	}
	if (f >= gr->up500_hz && f <= gr->up500_hz + 7 * 1600000u && (f - gr->up500_hz) % 1600000u == 0) {
		*out_ch = 64 + (f - gr->up500_hz) / 1600000u;
		return 0;
	}
	return -EINVAL;
}

int lw_region_rx1(enum lw_region_id r, uint32_t up_freq_hz, unsigned up_dr, unsigned rx1_dr_offset,
	uint32_t *out_freq_hz, unsigned *out_dr)
{
	const struct region *g = region(r);
	if (!g || up_dr < g->up_lo || up_dr > g->up_hi || !row(r, up_dr) || rx1_dr_offset >= g->rx1_offsets)
		return -EINVAL;
	if (g->grid) {
		unsigned ch;
		if (grid_channel(g->grid, up_freq_hz, &ch) != 0)
			return -EINVAL;
		*out_freq_hz = g->grid->down_hz + 600000u * (ch % 8);
		*out_dr = g->grid->rx1[up_dr][rx1_dr_offset];
		return 0;
	}
	/* EU868 and AS923: the uplink's frequency, DR = up - offset within [min, 5 or 7]; AS923's offsets 6 and 7
	 * mean -1 and -2, a faster RX1 (RP002-1.0.x AS923 RX1 formula, Effective_RX1DROffset) */
	int eff = rx1_dr_offset <= 5 ? (int)rx1_dr_offset : 5 - (int)rx1_dr_offset;
	int dr = (int)up_dr - eff, hi = g->rx1_offsets > 6 ? 5 : (int)g->up_hi;
	if (dr < g->min_rx1_dr)
		dr = g->min_rx1_dr;
	if (dr > hi)
		dr = hi;
	*out_freq_hz = up_freq_hz;
	*out_dr = (unsigned)dr;
	return 0;
}

int lw_region_rx2(enum lw_region_id r, uint32_t *out_freq_hz, unsigned *out_dr)
{
	const struct region *g = region(r);
	if (!g)
		return -EINVAL;
	*out_freq_hz = g->rx2_hz;
	*out_dr = g->rx2_dr;
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

/* --- channel plans ---------------------------------------------------------------------------------------- */

int lw_region_plan_check(enum lw_region_id r, const struct lw_channel_plan *p, const char **why)
{
	const struct region *g = region(r);
	const char *w = NULL;
	if (!g || !p)
		w = "unknown region";
	else if (g->grid && p->n_extra)
		w = "this region takes a sub-band, not a list of channels";
	else if (!g->grid && p->sub_band)
		w = "this region takes a list of channels, not a sub-band";
	else if (p->sub_band > 8)
		w = "the sub-band is beyond 1..8";
	else if (p->n_extra > LW_PLAN_MAX_EXTRA)
		w = "a CFList holds at most five channels";
	for (unsigned i = 0; !w && p && i < p->n_extra; i++) {
		uint32_t f = p->extra_hz[i];
		if (f < g->band_lo_hz || f > g->band_hi_hz)
			w = "a channel is outside the region's band";
		else if (f % 100)
			w = "a channel is not on the 100 Hz grid a CFList can carry";
		for (unsigned j = 0; !w && j < g->join_n + i; j++)
			if (f == (j < g->join_n ? g->join_hz[j] : p->extra_hz[j - g->join_n]))
				w = "a channel is listed twice (the default channels are always there)";
	}
	if (why)
		*why = w;
	return w ? -EINVAL : 0;
}

int lw_region_plan_channels(enum lw_region_id r, const struct lw_channel_plan *p, unsigned *out_n)
{
	if (lw_region_plan_check(r, p, NULL) != 0)
		return -EINVAL;
	const struct region *g = region(r);
	*out_n = g->grid ? (p->sub_band ? 9 : 72) : g->join_n + p->n_extra;
	return 0;
}

int lw_region_plan_channel_hz(enum lw_region_id r, const struct lw_channel_plan *p, unsigned i, uint32_t *out_hz)
{
	unsigned n;
	if (lw_region_plan_channels(r, p, &n) != 0 || i >= n)
		return -EINVAL;
	const struct region *g = region(r);
	if (!g->grid) {
		*out_hz = i < g->join_n ? g->join_hz[i] : p->extra_hz[i - g->join_n];
		return 0;
	}
	unsigned ch = !p->sub_band ? i : i < 8 ? 8 * (p->sub_band - 1) + i : 64 + p->sub_band - 1;
	*out_hz = ch < 64 ? g->grid->up125_hz + 200000u * ch : g->grid->up500_hz + 1600000u * (ch - 64);
	return 0;
}

bool lw_region_plan_has(enum lw_region_id r, const struct lw_channel_plan *p, uint32_t freq_hz)
{
	unsigned n, ch;
	if (lw_region_plan_channels(r, p, &n) != 0)
		return false;
	const struct region *g = region(r);
	if (g->grid) {
		if (grid_channel(g->grid, freq_hz, &ch) != 0)
			return false;
		unsigned s = p->sub_band;
		return !s || (ch < 64 ? ch / 8 == s - 1 : ch - 64 == s - 1);
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t f;
		if (lw_region_plan_channel_hz(r, p, i, &f) == 0 && f == freq_hz)
			return true;
	}
	return false;
}

static void put_u24le(uint8_t *o, uint32_t v)
{
	o[0] = (uint8_t)v;
	o[1] = (uint8_t)(v >> 8);
	o[2] = (uint8_t)(v >> 16);
}

int lw_region_cflist(enum lw_region_id r, const struct lw_channel_plan *p, uint8_t out[LW_CFLIST_LEN])
{
	if (lw_region_plan_check(r, p, NULL) != 0)
		return -EINVAL;
	memset(out, 0, LW_CFLIST_LEN);
	if (!region(r)->grid) {
		/* CFListType 0: five 24-bit frequencies in units of 100 Hz, unused ones zero (LoRaWAN 1.0.3 §6.2.5) */
		for (unsigned i = 0; i < p->n_extra; i++)
			put_u24le(out + 3 * i, p->extra_hz[i] / 100);
		return p->n_extra ? LW_CFLIST_LEN : 0;
	}
	if (!p->sub_band)
		return 0;
	/* CFListType 1: ChMask0..3 for channels 0..63, ChMask4 for 64..71, then RFU (RP002-1.0.x US902-928) */
	unsigned s = p->sub_band - 1;
	out[s] = 0xFF;                  /* channels 8s..8s+7: byte s of the little-endian mask bytes */
	out[8] = (uint8_t)(1u << s);    /* the 500 kHz channel 64 + s */
	out[LW_CFLIST_LEN - 1] = 1;
	return LW_CFLIST_LEN;
}

int lw_region_plan_masks(enum lw_region_id r, const struct lw_channel_plan *p, struct lw_chmask out[2])
{
	unsigned n;
	if (lw_region_plan_channels(r, p, &n) != 0)
		return -EINVAL;
	if (!region(r)->grid) {
		out[0] = (struct lw_chmask){ 0, (uint16_t)((1u << n) - 1) };
		return 1;
	}
	if (!p->sub_band) { /* ChMaskCntl 6: every 125 kHz channel on, ChMask for 64..71 */
		out[0] = (struct lw_chmask){ 6, 0x00FF };
		return 1;
	}
	unsigned s = p->sub_band - 1;
	out[0] = (struct lw_chmask){ 7, (uint16_t)(1u << s) }; /* every 125 kHz channel off, 500 kHz 64 + s on */
	out[1] = (struct lw_chmask){ (uint8_t)(s / 2), (uint16_t)(0xFFu << (8 * (s % 2))) };
	return 2;
}

int lw_region_adr_limits(enum lw_region_id r, unsigned *out_max_dr, unsigned *out_max_tx_power)
{
	const struct region *g = region(r);
	if (!g)
		return -EINVAL;
	*out_max_dr = g->adr_max_dr;
	*out_max_tx_power = g->max_tx_power;
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
	if (!region(r))
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
