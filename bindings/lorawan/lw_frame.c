/* LoRaWAN 1.0.x PHYPayload parsing and building (see lw_frame.h). */
#include "bindings/lorawan/lw_frame.h"

#include <errno.h>
#include <string.h>

/* FCtrl bits, §4.3.1 */
#define FCTRL_ADR 0x80
#define FCTRL_ADR_ACK_REQ 0x40
#define FCTRL_ACK 0x20
#define FCTRL_FPENDING 0x10
#define FCTRL_FOPTSLEN 0x0F

static int reject(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EINVAL;
}

static void reverse8(uint8_t *dst, const uint8_t *src)
{
	for (int i = 0; i < 8; i++)
		dst[i] = src[7 - i];
}

static int parse_data(const uint8_t *buf, size_t len, struct lw_frame *out, const char **why)
{
	struct lw_data_frame *d = &out->u.data;
	if (len < LW_DATA_MIN_LEN)
		return reject(why, "too short for a data frame (MHDR + FHDR + MIC = 12 bytes)");
	d->dev_addr = (uint32_t)buf[1] | (uint32_t)buf[2] << 8 | (uint32_t)buf[3] << 16 | (uint32_t)buf[4] << 24;
	uint8_t fctrl = buf[5];
	d->adr = fctrl & FCTRL_ADR;
	d->adr_ack_req = fctrl & FCTRL_ADR_ACK_REQ;
	d->ack = fctrl & FCTRL_ACK;
	d->fpending = fctrl & FCTRL_FPENDING;
	d->fopts_len = fctrl & FCTRL_FOPTSLEN;
	d->fcnt = (uint16_t)(buf[6] | buf[7] << 8);
	size_t mic_off = len - 4;
	/* 8 = MHDR + FHDR without FOpts; compare without subtracting so nothing can wrap */
	if (8 + (size_t)d->fopts_len > mic_off)
		return reject(why, "FOptsLen runs past the end of the frame");
	d->fopts = d->fopts_len ? buf + 8 : NULL;
	size_t pos = 8 + d->fopts_len;
	d->has_fport = pos < mic_off;
	d->fport = d->has_fport ? buf[pos] : 0;
	d->frm_payload = d->has_fport ? buf + pos + 1 : NULL;
	d->frm_len = d->has_fport ? mic_off - pos - 1 : 0;
	if (d->frm_len == 0)
		d->frm_payload = NULL;
	/* §4.3.1.6: MAC commands go either in FOpts or in an FPort 0 payload, never both */
	if (d->has_fport && d->fport == 0 && d->fopts_len)
		return reject(why, "FPort 0 with FOpts present");
	return 0;
}

static int parse_join_request(const uint8_t *buf, size_t len, struct lw_frame *out, const char **why)
{
	if (len != LW_JOIN_REQUEST_LEN)
		return reject(why, "Join-Request is not 23 bytes");
	reverse8(out->u.join.app_eui, buf + 1);
	reverse8(out->u.join.dev_eui, buf + 9);
	out->u.join.dev_nonce = (uint16_t)(buf[17] | buf[18] << 8);
	return 0;
}

int lw_frame_parse(const uint8_t *buf, size_t len, struct lw_frame *out, const char **why)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!buf || len == 0)
		return reject(why, "empty frame");
	if (len > LW_PHY_MAX)
		return reject(why, "longer than the largest PHYPayload (255 bytes)");
	out->mtype = (enum lw_mtype)(buf[0] >> 5);
	out->major = buf[0] & 0x03;
	if (out->major != LW_MAJOR_R1)
		return reject(why, "Major is not LoRaWAN R1");
	if (buf[0] & 0x1C)
		return reject(why, "RFU bits set in MHDR");
	out->phy = buf;
	out->phy_len = len;
	out->raw = len > 1 ? buf + 1 : NULL;
	out->raw_len = len - 1;
	if (out->mtype == LW_MTYPE_PROPRIETARY)
		return 0; /* format private to the parties: nothing more to check */
	if (out->mtype == LW_MTYPE_RFU)
		return reject(why, "RFU MType (Rejoin-Request is LoRaWAN 1.1)");
	if (len < 5)
		return reject(why, "too short to hold a MIC");
	out->mic_off = len - 4;
	memcpy(out->mic, buf + len - 4, 4);
	switch (out->mtype) {
	case LW_MTYPE_JOIN_REQUEST:
		return parse_join_request(buf, len, out, why);
	case LW_MTYPE_JOIN_ACCEPT:
		if (len != LW_JOIN_ACCEPT_LEN && len != LW_JOIN_ACCEPT_CF_LEN)
			return reject(why, "Join-Accept is neither 17 nor 33 bytes");
		return 0;
	default:
		return parse_data(buf, len, out, why);
	}
}

int lw_frame_build_data(enum lw_mtype mtype, const struct lw_data_frame *f, const uint8_t *mic, uint8_t *out,
	size_t cap, size_t *out_len)
{
	if (!f || !out || !lw_mtype_is_data(mtype) || f->fopts_len > LW_FOPTS_MAX)
		return -EINVAL;
	if ((f->fopts_len && !f->fopts) || (f->frm_len && (!f->has_fport || !f->frm_payload)))
		return -EINVAL;
	if (f->has_fport && f->fport == 0 && f->fopts_len)
		return -EINVAL;
	size_t need = 8 + (size_t)f->fopts_len + (f->has_fport ? 1 + f->frm_len : 0) + 4;
	if (f->frm_len > LW_PHY_MAX || need > LW_PHY_MAX)
		return -EMSGSIZE;
	if (cap < need)
		return -ENOSPC;
	out[0] = (uint8_t)(mtype << 5 | LW_MAJOR_R1);
	out[1] = (uint8_t)f->dev_addr;
	out[2] = (uint8_t)(f->dev_addr >> 8);
	out[3] = (uint8_t)(f->dev_addr >> 16);
	out[4] = (uint8_t)(f->dev_addr >> 24);
	out[5] = (uint8_t)((f->adr ? FCTRL_ADR : 0) | (f->adr_ack_req ? FCTRL_ADR_ACK_REQ : 0) |
		(f->ack ? FCTRL_ACK : 0) | (f->fpending ? FCTRL_FPENDING : 0) | f->fopts_len);
	out[6] = (uint8_t)f->fcnt;
	out[7] = (uint8_t)(f->fcnt >> 8);
	size_t pos = 8;
	if (f->fopts_len)
		memcpy(out + pos, f->fopts, f->fopts_len);
	pos += f->fopts_len;
	if (f->has_fport) {
		out[pos++] = f->fport;
		if (f->frm_len)
			memcpy(out + pos, f->frm_payload, f->frm_len);
		pos += f->frm_len;
	}
	if (mic)
		memcpy(out + pos, mic, 4);
	else
		memset(out + pos, 0, 4);
	*out_len = pos + 4;
	return 0;
}

int lw_frame_build_join_request(const struct lw_join_request *jr, const uint8_t *mic, uint8_t *out, size_t cap)
{
	if (!jr || !out)
		return -EINVAL;
	if (cap < LW_JOIN_REQUEST_LEN)
		return -ENOSPC;
	out[0] = LW_MTYPE_JOIN_REQUEST << 5 | LW_MAJOR_R1;
	reverse8(out + 1, jr->app_eui);
	reverse8(out + 9, jr->dev_eui);
	out[17] = (uint8_t)jr->dev_nonce;
	out[18] = (uint8_t)(jr->dev_nonce >> 8);
	if (mic)
		memcpy(out + 19, mic, 4);
	else
		memset(out + 19, 0, 4);
	return 0;
}

const char *lw_mtype_name(enum lw_mtype t)
{
	static const char *const names[] = { "JoinRequest", "JoinAccept", "UnconfirmedDataUp",
		"UnconfirmedDataDown", "ConfirmedDataUp", "ConfirmedDataDown", "RFU", "Proprietary" };
	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}
