/* Semtech UDP packet-forwarder protocol v2: datagram codec and the UDP link to the forwarders. */
#include "hal/pktfwd.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

#define MOD "pktfwd"
#define HDR_LEN 4      /* version, token, identifier */
#define HDR_EUI_LEN 12 /* ... and the gateway EUI */
/* Reals with 10 significant digits: Hz precision for frequencies without 868.10000000000002. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))

static const char *const kind_names[] = {"PUSH_DATA", "PUSH_ACK", "PULL_DATA", "PULL_RESP", "PULL_ACK", "TX_ACK"};

static bool has_eui(lpw_pktfwd_kind_t kind)
{
	return kind == LPW_PKTFWD_PUSH_DATA || kind == LPW_PKTFWD_PULL_DATA || kind == LPW_PKTFWD_TX_ACK;
}

__attribute__((format(printf, 4, 5))) static int reject(int err, char *why, size_t whylen, const char *fmt, ...)
{
	if (why && whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* Parses the body as one JSON object; NULL with a reason otherwise. */
static json_t *load_object(const uint8_t *body, size_t len, char *why, size_t whylen)
{
	json_error_t err;
	json_t *root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		reject(0, why, whylen, "body is not JSON: %s (column %d)", err.text, err.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		reject(0, why, whylen, "body is JSON but not an object");
		return NULL;
	}
	return root;
}

static int parse_push_data(const json_t *root, lpw_pktfwd_msg_t *out, char *why, size_t whylen)
{
	char inner[160];
	const json_t *rxpk = json_object_get(root, "rxpk"), *stat = json_object_get(root, "stat");
	if (rxpk && !json_is_array(rxpk))
		return reject(-EBADMSG, why, whylen, "\"rxpk\" is not an array");
	/* PROTOCOL.TXT §4: the array holds at least one packet; an empty one is only harmless beside a stat. */
	if (json_array_size(rxpk) == 0 && !stat)
		return reject(-EBADMSG, why, whylen, "PUSH_DATA has neither \"rxpk\" packets nor \"stat\"");
	if (json_array_size(rxpk) > LPW_PKTFWD_MAX_RXPK)
		return reject(-EBADMSG, why, whylen, "\"rxpk\" has %zu packets, more than %d", json_array_size(rxpk),
			      LPW_PKTFWD_MAX_RXPK);
	for (size_t i = 0; i < json_array_size(rxpk); i++) {
		if (lpw_rxpk_from_json(json_array_get(rxpk, i), &out->rxpk[i], inner, sizeof(inner)) < 0)
			return reject(-EBADMSG, why, whylen, "rxpk[%zu]: %s", i, inner);
		out->nrxpk = i + 1;
	}
	if (stat) {
		if (lpw_pktfwd_stat_from_json(stat, &out->stat, inner, sizeof(inner)) < 0)
			return reject(-EBADMSG, why, whylen, "stat: %s", inner);
		out->has_stat = true;
	}
	return 0;
}

static int parse_body(const uint8_t *body, size_t len, lpw_pktfwd_msg_t *out, char *why, size_t whylen)
{
	char inner[160];
	/* The reference forwarder sends TX_ACK without JSON to mean success. */
	if (out->kind == LPW_PKTFWD_TX_ACK && len == 0)
		return 0;
	json_t *root = load_object(body, len, why, whylen);
	if (!root)
		return -EBADMSG;
	int rc = 0;
	const json_t *o;
	switch (out->kind) {
	case LPW_PKTFWD_PUSH_DATA:
		rc = parse_push_data(root, out, why, whylen);
		break;
	case LPW_PKTFWD_PULL_RESP:
		if (!(o = json_object_get(root, "txpk")))
			rc = reject(-EBADMSG, why, whylen, "PULL_RESP has no \"txpk\"");
		else if (lpw_txpk_from_json(o, &out->txpk, inner, sizeof(inner)) < 0)
			rc = reject(-EBADMSG, why, whylen, "txpk: %s", inner);
		break;
	default: /* TX_ACK */
		if (!(o = json_object_get(root, "txpk_ack")))
			rc = reject(-EBADMSG, why, whylen, "TX_ACK JSON has no \"txpk_ack\"");
		else if (lpw_txack_from_json(o, &out->tx_error, inner, sizeof(inner)) < 0)
			rc = reject(-EBADMSG, why, whylen, "txpk_ack: %s", inner);
		break;
	}
	json_decref(root);
	return rc;
}

int lpw_pktfwd_parse(const uint8_t *d, size_t n, lpw_pktfwd_msg_t *out, char *why, size_t whylen)
{
	out->kind = LPW_PKTFWD_PUSH_DATA;
	out->token = 0;
	out->eui = 0;
	out->nrxpk = 0;
	out->has_stat = false;
	out->tx_error = LPW_TXACK_NONE;
	if (n < HDR_LEN)
		return reject(-EPROTO, why, whylen, "%zu bytes: shorter than the 4-byte header", n);
	if (d[0] != LPW_PKTFWD_VERSION)
		return reject(-EPROTO, why, whylen, "protocol version %u, expected %d", d[0], LPW_PKTFWD_VERSION);
	if (d[3] > LPW_PKTFWD_TX_ACK)
		return reject(-EPROTO, why, whylen, "unknown identifier 0x%02x", d[3]);
	lpw_pktfwd_kind_t kind = (lpw_pktfwd_kind_t)d[3];
	size_t hl = has_eui(kind) ? HDR_EUI_LEN : HDR_LEN;
	if (n < hl)
		return reject(-EPROTO, why, whylen, "%s of %zu bytes: shorter than its %zu-byte header", kind_names[kind],
			      n, hl);
	out->kind = kind;
	out->token = (uint16_t)(d[1] << 8 | d[2]);
	for (size_t i = HDR_LEN; i < hl; i++)
		out->eui = out->eui << 8 | d[i];
	size_t blen = n - hl;
	/* Some forwarders send the C string terminator after the JSON. */
	if (blen && d[n - 1] == '\0')
		blen--;
	if (kind == LPW_PKTFWD_PUSH_ACK || kind == LPW_PKTFWD_PULL_ACK || kind == LPW_PKTFWD_PULL_DATA) {
		if (blen)
			return reject(-EBADMSG, why, whylen, "%s carries %zu unexpected bytes", kind_names[kind], blen);
		return 0;
	}
	return parse_body(d + hl, blen, out, why, whylen);
}

static size_t put_header(uint8_t *out, lpw_pktfwd_kind_t kind, uint16_t token, uint64_t eui)
{
	out[0] = LPW_PKTFWD_VERSION;
	out[1] = (uint8_t)(token >> 8);
	out[2] = (uint8_t)token;
	out[3] = (uint8_t)kind;
	if (!has_eui(kind))
		return HDR_LEN;
	for (int i = 0; i < 8; i++)
		out[HDR_LEN + i] = (uint8_t)(eui >> (56 - 8 * i));
	return HDR_EUI_LEN;
}

/* Header plus json dumped after it; consumes the reference to json (NULL means the builder refused). */
static int put_datagram(lpw_pktfwd_kind_t kind, uint16_t token, uint64_t eui, json_t *json, uint8_t *out, size_t cap)
{
	size_t hl = has_eui(kind) ? HDR_EUI_LEN : HDR_LEN;
	if (!json)
		return -EINVAL;
	if (cap < hl) {
		json_decref(json);
		return -EMSGSIZE;
	}
	size_t need = json_dumpb(json, (char *)out + hl, cap - hl, DUMP_FLAGS);
	json_decref(json);
	if (need == 0)
		return -ENOMEM;
	if (need > cap - hl || hl + need > LPW_PKTFWD_MAX_DATAGRAM)
		return -EMSGSIZE;
	put_header(out, kind, token, eui);
	return (int)(hl + need);
}

int lpw_pktfwd_build_ack(lpw_pktfwd_kind_t kind, uint16_t token, uint8_t *out, size_t cap)
{
	if (kind != LPW_PKTFWD_PUSH_ACK && kind != LPW_PKTFWD_PULL_ACK)
		return -EINVAL;
	if (cap < HDR_LEN)
		return -EMSGSIZE;
	return (int)put_header(out, kind, token, 0);
}

int lpw_pktfwd_build_pull_data(uint16_t token, uint64_t eui, uint8_t *out, size_t cap)
{
	if (cap < HDR_EUI_LEN)
		return -EMSGSIZE;
	return (int)put_header(out, LPW_PKTFWD_PULL_DATA, token, eui);
}

int lpw_pktfwd_build_pull_resp(uint16_t token, const lpw_txpk_t *tx, uint8_t *out, size_t cap)
{
	json_t *txpk = lpw_txpk_to_json(tx);
	json_t *root = txpk ? json_pack("{s:o}", "txpk", txpk) : NULL;
	return put_datagram(LPW_PKTFWD_PULL_RESP, token, 0, root, out, cap);
}

int lpw_pktfwd_build_push_data(uint16_t token, uint64_t eui, const lpw_rxpk_t *rx, size_t nrx,
			       const lpw_pktfwd_stat_t *st, uint8_t *out, size_t cap)
{
	if (nrx > LPW_PKTFWD_MAX_RXPK || (nrx == 0 && !st))
		return -EINVAL;
	json_t *root = json_object();
	json_t *arr = nrx ? json_array() : NULL;
	int bad = !root || (nrx && json_object_set_new(root, "rxpk", arr) < 0);
	for (size_t i = 0; !bad && i < nrx; i++)
		bad = json_array_append_new(arr, lpw_rxpk_to_json(&rx[i])) < 0;
	if (!bad && st)
		bad = json_object_set_new(root, "stat", lpw_pktfwd_stat_to_json(st)) < 0;
	if (bad) {
		json_decref(root);
		return -EINVAL;
	}
	return put_datagram(LPW_PKTFWD_PUSH_DATA, token, eui, root, out, cap);
}

int lpw_pktfwd_build_tx_ack(uint16_t token, uint64_t eui, lpw_txack_error_t err, bool with_json, uint8_t *out,
			    size_t cap)
{
	if (strcmp(lpw_txack_error_name(err), "?") == 0)
		return -EINVAL;
	if (!with_json)
		return cap < HDR_EUI_LEN ? -EMSGSIZE : (int)put_header(out, LPW_PKTFWD_TX_ACK, token, eui);
	json_t *root = json_pack("{s:{s:s}}", "txpk_ack", "error", lpw_txack_error_name(err));
	return put_datagram(LPW_PKTFWD_TX_ACK, token, eui, root, out, cap);
}

/* ---- the link ---- */

#define DEFAULT_KEEPALIVE_S 30
#define DEFAULT_MAX_FORWARDERS 16
#define READS_PER_TURN 64 /* leave the loop to others now and then under a flood */

static const char *const refusal_names[] = {"malformed", "unexpected", "not_listed", "table_full"};
_Static_assert(sizeof(refusal_names) / sizeof(refusal_names[0]) == LPW_PKTFWD_REFUSED_COUNT, "one name each");

const char *lpw_pktfwd_refusal_name(lpw_pktfwd_refusal_t why)
{
	return (unsigned)why < LPW_PKTFWD_REFUSED_COUNT ? refusal_names[why] : "?";
}

struct fwd {
	lpw_timer_t keepalive;
	lpw_pktfwd_t *pf;
	bool used;
	lpw_pktfwd_forwarder_t info;  /* eui, up, listed, last heard, counters */
	struct sockaddr_storage addr; /* of the last PULL_DATA: downlinks go there (NAT) */
	socklen_t addrlen;
};

struct lpw_pktfwd {
	lpw_loop_t *loop;
	int fd;
	uint16_t port;
	int64_t timeout_ms;
	lpw_pktfwd_hooks_t hooks;
	uint16_t next_token;
	size_t nfwd;
	struct fwd *fwd;
	uint64_t *listed; /* sorted, for bsearch */
	size_t nlisted;
	bool refuse_unlisted;
	lpw_pktfwd_counters_t c;
	lpw_pktfwd_msg_t msg;
	uint8_t buf[LPW_PKTFWD_MAX_DATAGRAM + 1];
};

static int cmp_eui(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool is_listed(const lpw_pktfwd_t *pf, uint64_t eui)
{
	return pf->nlisted && bsearch(&eui, pf->listed, pf->nlisted, sizeof(eui), cmp_eui);
}

/* The table is small (16 by default): a scan is cheaper than an index. */
static struct fwd *find_fwd(const lpw_pktfwd_t *pf, uint64_t eui)
{
	for (size_t i = 0; i < pf->nfwd; i++)
		if (pf->fwd[i].used && pf->fwd[i].info.eui == eui)
			return &pf->fwd[i];
	return NULL;
}

static bool heard_before(const struct fwd *a, const struct fwd *b)
{
	return !b || a->info.last_heard_ms < b->info.last_heard_ms;
}

static void source_name(const struct sockaddr_storage *src, socklen_t srclen, char *host, size_t hl, char *serv,
			size_t sl)
{
	if (getnameinfo((const struct sockaddr *)src, srclen, host, (socklen_t)hl, serv, (socklen_t)sl,
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(host, hl, "?");
		snprintf(serv, sl, "?");
	}
}

/* A live unlisted forwarder gives its slot to a listed one: for the rest of us it went down. */
static void evict(lpw_pktfwd_t *pf, struct fwd *f, uint64_t for_eui)
{
	char key[17];
	uint64_t old = f->info.eui;
	snprintf(key, sizeof(key), "%016" PRIX64, old);
	pf->c.evictions++;
	LPW_LOG_LIMITED(LOG_NOTICE, MOD, "forwarder-evicted", key, lpw_loop_now(pf->loop),
			"forwarder %016" PRIx64 " (not listed) gives its slot to listed forwarder %016" PRIx64, old,
			for_eui);
	lpw_loop_timer_clear(pf->loop, &f->keepalive);
	f->info.up = false;
	if (pf->hooks.forwarder_state)
		pf->hooks.forwarder_state(pf->hooks.arg, old, false);
}

/* A slot for a new forwarder: a free one; else a down one (unlisted first, least recently heard first: it keeps
 * nothing a new one needs); else, for a listed forwarder only, the least recently heard live unlisted one. */
static struct fwd *new_fwd(lpw_pktfwd_t *pf, uint64_t eui, bool listed)
{
	struct fwd *spare = NULL, *down_unlisted = NULL, *down_any = NULL, *live_unlisted = NULL;
	for (size_t i = 0; i < pf->nfwd && !spare; i++) {
		struct fwd *f = &pf->fwd[i];
		if (!f->used)
			spare = f;
		else if (!f->info.up && !f->info.listed && heard_before(f, down_unlisted))
			down_unlisted = f;
		else if (!f->info.up && heard_before(f, down_any))
			down_any = f;
		else if (f->info.up && !f->info.listed && heard_before(f, live_unlisted))
			live_unlisted = f;
	}
	spare = spare ? spare : down_unlisted ? down_unlisted : down_any ? down_any : listed ? live_unlisted : NULL;
	if (!spare)
		return NULL;
	if (spare->used && spare->info.up)
		evict(pf, spare, eui);
	lpw_loop_timer_clear(pf->loop, &spare->keepalive);
	spare->used = true;
	spare->info = (lpw_pktfwd_forwarder_t){.eui = eui, .listed = listed};
	return spare;
}

static void on_keepalive(lpw_timer_t *t, int64_t now_ms)
{
	struct fwd *f = lpw_container_of(t, struct fwd, keepalive);
	lpw_pktfwd_t *pf = f->pf;
	f->info.up = false;
	LPW_WARN(MOD, "forwarder %016" PRIx64 " down: no PULL_DATA for %" PRId64 " s", f->info.eui,
		 pf->timeout_ms / 1000);
	if (pf->hooks.forwarder_state)
		pf->hooks.forwarder_state(pf->hooks.arg, f->info.eui, false);
}

static void send_to(lpw_pktfwd_t *pf, const uint8_t *d, size_t n, const struct sockaddr *sa, socklen_t salen)
{
	if (sendto(pf->fd, d, n, 0, sa, salen) < 0) {
		pf->c.send_errors++;
		LPW_WARN_LIMITED(MOD, "sendto", NULL, lpw_loop_now(pf->loop), "sendto failed: %s", strerror(errno));
	}
}

static void send_ack(lpw_pktfwd_t *pf, lpw_pktfwd_kind_t kind, uint16_t token, const struct sockaddr *sa,
		     socklen_t salen)
{
	uint8_t ack[HDR_LEN];
	lpw_pktfwd_build_ack(kind, token, ack, sizeof(ack));
	send_to(pf, ack, sizeof(ack), sa, salen);
}

/* Counts a refused datagram, tells the hook, and says why (rate-limited per forwarder, or per address when the
 * datagram names no forwarder). */
static void refuse(lpw_pktfwd_t *pf, lpw_pktfwd_refusal_t why, uint64_t eui, const char *detail,
		   const struct sockaddr_storage *src, socklen_t srclen)
{
	uint64_t *by_reason[] = {&pf->c.malformed, &pf->c.unexpected, &pf->c.not_listed, &pf->c.table_full};
	(*by_reason[why])++;
	pf->c.refused++;
	if (pf->hooks.refused)
		pf->hooks.refused(pf->hooks.arg, eui, why);
	char host[NI_MAXHOST], serv[NI_MAXSERV], key[17];
	source_name(src, srclen, host, sizeof(host), serv, sizeof(serv));
	snprintf(key, sizeof(key), "%016" PRIX64, eui);
	int64_t now = lpw_loop_now(pf->loop);
	if (why == LPW_PKTFWD_REFUSED_MALFORMED)
		LPW_WARN_LIMITED(MOD, "pktfwd-malformed", host, now, "datagram from %s:%s rejected: %s", host, serv,
				 detail);
	else if (why == LPW_PKTFWD_REFUSED_UNEXPECTED)
		LPW_LOG_LIMITED(LOG_DEBUG, MOD, "pktfwd-unexpected", host, now, "ignoring %s from %s:%s: a server never "
				"receives it", detail, host, serv);
	else
		LPW_WARN_LIMITED(MOD, "forwarder-refused", key, now, "forwarder %016" PRIx64 " at %s:%s refused: %s",
				 eui, host, serv, detail);
}

static void on_pull_data(lpw_pktfwd_t *pf, struct fwd *f, const struct sockaddr_storage *src, socklen_t srclen)
{
	uint64_t eui = pf->msg.eui;
	send_ack(pf, LPW_PKTFWD_PULL_ACK, pf->msg.token, (const struct sockaddr *)src, srclen);
	if (!f && !(f = new_fwd(pf, eui, is_listed(pf, eui)))) {
		char why[96];
		snprintf(why, sizeof(why), "all %zu slots are taken by live forwarders", pf->nfwd);
		refuse(pf, LPW_PKTFWD_REFUSED_TABLE_FULL, eui, why, src, srclen);
		return;
	}
	f->info.pull_data++;
	f->info.last_heard_ms = lpw_loop_now(pf->loop);
	memcpy(&f->addr, src, srclen);
	f->addrlen = srclen;
	if (lpw_loop_timer_in(pf->loop, &f->keepalive, pf->timeout_ms) < 0)
		LPW_ERR(MOD, "forwarder %016" PRIx64 ": cannot arm its keepalive timer", eui);
	if (f->info.up)
		return;
	f->info.up = true;
	LPW_NOTICE(MOD, "forwarder %016" PRIx64 " up%s", eui, f->info.listed ? " (listed)" : "");
	if (pf->hooks.forwarder_state)
		pf->hooks.forwarder_state(pf->hooks.arg, eui, true);
}

static void on_push_data(lpw_pktfwd_t *pf, struct fwd *f, const struct sockaddr_storage *src, socklen_t srclen)
{
	/* PROTOCOL.TXT §3.1: acknowledge first, process after. */
	send_ack(pf, LPW_PKTFWD_PUSH_ACK, pf->msg.token, (const struct sockaddr *)src, srclen);
	if (f) {
		f->info.push_data++;
		f->info.rxpk += pf->msg.nrxpk;
	}
	for (size_t i = 0; i < pf->msg.nrxpk; i++) {
		pf->c.rxpk++;
		if (pf->hooks.uplink)
			pf->hooks.uplink(pf->hooks.arg, pf->msg.eui, &pf->msg.rxpk[i]);
	}
	if (pf->msg.has_stat && pf->hooks.stat)
		pf->hooks.stat(pf->hooks.arg, pf->msg.eui, &pf->msg.stat);
}

static void on_tx_ack(lpw_pktfwd_t *pf, struct fwd *f)
{
	if (f)
		f->info.tx_acks++;
	if (pf->msg.tx_error != LPW_TXACK_NONE)
		LPW_WARN(MOD, "forwarder %016" PRIx64 " refused downlink token %u: %s", pf->msg.eui, pf->msg.token,
			 lpw_txack_error_name(pf->msg.tx_error));
	if (pf->hooks.tx_ack)
		pf->hooks.tx_ack(pf->hooks.arg, pf->msg.eui, pf->msg.token, pf->msg.tx_error);
}

static void on_malformed(lpw_pktfwd_t *pf, int rc, const char *why, const struct sockaddr_storage *src,
			 socklen_t srclen)
{
	/* -EBADMSG: the header was good, so the EUI is the forwarder's own word. */
	uint64_t eui = rc == -EBADMSG && has_eui(pf->msg.kind) ? pf->msg.eui : 0;
	bool unwanted = eui && pf->refuse_unlisted && !is_listed(pf, eui);
	struct fwd *f = eui ? find_fwd(pf, eui) : NULL;
	if (f)
		f->info.malformed++;
	/* The datagram did arrive: a PUSH_ACK measures the path, not the content (PROTOCOL.TXT §1). */
	if (rc == -EBADMSG && pf->msg.kind == LPW_PKTFWD_PUSH_DATA && !unwanted)
		send_ack(pf, LPW_PKTFWD_PUSH_ACK, pf->msg.token, (const struct sockaddr *)src, srclen);
	refuse(pf, LPW_PKTFWD_REFUSED_MALFORMED, eui, why, src, srclen);
}

static void handle_datagram(lpw_pktfwd_t *pf, size_t n, const struct sockaddr_storage *src, socklen_t srclen)
{
	char why[256];
	pf->c.datagrams_in++;
	int rc = n > LPW_PKTFWD_MAX_DATAGRAM ? reject(-EPROTO, why, sizeof(why), "datagram larger than %d bytes",
						      LPW_PKTFWD_MAX_DATAGRAM)
					     : lpw_pktfwd_parse(pf->buf, n, &pf->msg, why, sizeof(why));
	if (rc < 0) {
		on_malformed(pf, rc, why, src, srclen);
		return;
	}
	lpw_pktfwd_kind_t kind = pf->msg.kind;
	if (!has_eui(kind)) {
		refuse(pf, LPW_PKTFWD_REFUSED_UNEXPECTED, 0, kind_names[kind], src, srclen);
		return;
	}
	if (pf->refuse_unlisted && !is_listed(pf, pf->msg.eui)) {
		refuse(pf, LPW_PKTFWD_REFUSED_NOT_LISTED, pf->msg.eui, "not on the allow-list", src, srclen);
		return;
	}
	struct fwd *f = find_fwd(pf, pf->msg.eui);
	if (f)
		f->info.last_heard_ms = lpw_loop_now(pf->loop);
	if (kind == LPW_PKTFWD_PUSH_DATA) {
		pf->c.push_data++;
		on_push_data(pf, f, src, srclen);
	} else if (kind == LPW_PKTFWD_PULL_DATA) {
		pf->c.pull_data++;
		on_pull_data(pf, f, src, srclen);
	} else {
		pf->c.tx_acks++;
		on_tx_ack(pf, f);
	}
}

static void on_readable(lpw_loop_t *loop, int fd, uint32_t events, void *arg)
{
	lpw_pktfwd_t *pf = arg;
	for (int i = 0; i < READS_PER_TURN; i++) {
		struct sockaddr_storage src;
		socklen_t srclen = sizeof(src);
		/* MSG_TRUNC: the real length, so an oversized datagram is rejected rather than parsed cut. */
		ssize_t n = recvfrom(fd, pf->buf, sizeof(pf->buf), MSG_TRUNC, (struct sockaddr *)&src, &srclen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				LPW_WARN(MOD, "recvfrom failed: %s", strerror(errno));
			return;
		}
		handle_datagram(pf, (size_t)n, &src, srclen);
	}
}

/* A bound non-blocking UDP socket, or -1 (logged). */
static int open_socket(const char *addr, uint16_t port, uint16_t *out_port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char serv[8];
	snprintf(serv, sizeof(serv), "%u", (unsigned)port);
	int rc = getaddrinfo(addr, serv, &hints, &ai);
	if (rc != 0) {
		LPW_ERR(MOD, "listen address \"%s\": %s", addr ? addr : "(any)", gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		LPW_ERR(MOD, "cannot bind UDP %s port %u: %s", addr ? addr : "(any)", (unsigned)port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*out_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						   : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

lpw_pktfwd_t *lpw_pktfwd_new(lpw_loop_t *loop, const lpw_pktfwd_config_t *cfg, const lpw_pktfwd_hooks_t *hooks)
{
	lpw_pktfwd_t *pf = calloc(1, sizeof(*pf));
	if (!pf)
		return NULL;
	pf->loop = loop;
	pf->fd = -1;
	pf->hooks = hooks ? *hooks : (lpw_pktfwd_hooks_t){0};
	pf->timeout_ms = 1000 * (int64_t)(cfg->keepalive_timeout_s ? cfg->keepalive_timeout_s : DEFAULT_KEEPALIVE_S);
	pf->nfwd = cfg->max_forwarders ? cfg->max_forwarders : DEFAULT_MAX_FORWARDERS;
	if (pf->nfwd < cfg->nlisted) /* so that every listed forwarder can hold a slot at once */
		pf->nfwd = cfg->nlisted;
	pf->fwd = calloc(pf->nfwd, sizeof(*pf->fwd));
	pf->listed = calloc(cfg->nlisted + 1, sizeof(*pf->listed));
	if (!pf->fwd || !pf->listed)
		goto fail;
	if (cfg->nlisted)
		memcpy(pf->listed, cfg->listed, cfg->nlisted * sizeof(*pf->listed));
	pf->nlisted = cfg->nlisted;
	qsort(pf->listed, pf->nlisted, sizeof(*pf->listed), cmp_eui);
	pf->refuse_unlisted = cfg->refuse_unlisted && cfg->nlisted;
	for (size_t i = 0; i < pf->nfwd; i++) {
		lpw_timer_init(&pf->fwd[i].keepalive, on_keepalive);
		pf->fwd[i].pf = pf;
	}
	/* Tokens only pair a TX_ACK with its PULL_RESP; starting at random avoids pairing with a previous run's. */
	if (getrandom(&pf->next_token, sizeof(pf->next_token), GRND_NONBLOCK) != sizeof(pf->next_token))
		pf->next_token = (uint16_t)lpw_loop_now(loop);
	pf->fd = open_socket(cfg->listen_addr ? cfg->listen_addr : "0.0.0.0", cfg->port, &pf->port);
	if (pf->fd < 0)
		goto fail;
	if (lpw_loop_add_fd(loop, pf->fd, EPOLLIN, on_readable, pf) < 0) {
		LPW_ERR(MOD, "cannot watch the UDP socket");
		goto fail;
	}
	LPW_INFO(MOD, "listening on UDP port %u: %zu forwarder slots, %zu listed forwarders%s", (unsigned)pf->port,
		 pf->nfwd, pf->nlisted, pf->refuse_unlisted ? ", no others" : "");
	return pf;
fail:
	lpw_pktfwd_free(pf);
	return NULL;
}

void lpw_pktfwd_free(lpw_pktfwd_t *pf)
{
	if (!pf)
		return;
	if (pf->fwd)
		for (size_t i = 0; i < pf->nfwd; i++)
			lpw_loop_timer_clear(pf->loop, &pf->fwd[i].keepalive);
	if (pf->fd >= 0) {
		lpw_loop_del_fd(pf->loop, pf->fd);
		close(pf->fd);
	}
	free(pf->fwd);
	free(pf->listed);
	free(pf);
}

uint16_t lpw_pktfwd_port(const lpw_pktfwd_t *pf)
{
	return pf->port;
}

bool lpw_pktfwd_forwarder_up(const lpw_pktfwd_t *pf, uint64_t eui)
{
	const struct fwd *f = find_fwd(pf, eui);
	return f && f->info.up;
}

int lpw_pktfwd_send(lpw_pktfwd_t *pf, uint64_t eui, const lpw_txpk_t *tx, uint16_t *out_token)
{
	struct fwd *f = find_fwd(pf, eui);
	if (!f || !f->info.up)
		return -EHOSTUNREACH;
	uint8_t d[1024]; /* a txpk with 255 bytes of payload dumps to well under 600 */
	uint16_t token = pf->next_token++;
	int n = lpw_pktfwd_build_pull_resp(token, tx, d, sizeof(d));
	if (n < 0)
		return n;
	if (sendto(pf->fd, d, (size_t)n, 0, (const struct sockaddr *)&f->addr, f->addrlen) < 0) {
		int err = errno;
		pf->c.send_errors++;
		LPW_WARN(MOD, "forwarder %016" PRIx64 ": PULL_RESP not sent: %s", eui, strerror(err));
		return -err;
	}
	pf->c.pull_resp_sent++;
	if (out_token)
		*out_token = token;
	return 0;
}

void lpw_pktfwd_get_counters(const lpw_pktfwd_t *pf, lpw_pktfwd_counters_t *out)
{
	*out = pf->c;
}

size_t lpw_pktfwd_get_forwarders(const lpw_pktfwd_t *pf, lpw_pktfwd_forwarder_t *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < pf->nfwd; i++) {
		if (!pf->fwd[i].used)
			continue;
		if (n < cap)
			out[n] = pf->fwd[i].info;
		n++;
	}
	return n;
}

static json_t *forwarder_json(const lpw_pktfwd_forwarder_t *f, int64_t now_ms)
{
	return json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "up", f->up, "listed", f->listed, "heard_s_ago",
			 (json_int_t)((now_ms - f->last_heard_ms) / 1000), "push_data", (json_int_t)f->push_data,
			 "pull_data", (json_int_t)f->pull_data, "tx_acks", (json_int_t)f->tx_acks, "rxpk",
			 (json_int_t)f->rxpk, "malformed", (json_int_t)f->malformed);
}

json_t *lpw_pktfwd_report(const lpw_pktfwd_t *pf)
{
	const lpw_pktfwd_counters_t *c = &pf->c;
	json_t *by_eui = json_object();
	for (size_t i = 0; by_eui && i < pf->nfwd; i++) {
		char eui[17];
		if (!pf->fwd[i].used)
			continue;
		snprintf(eui, sizeof(eui), "%016" PRIX64, pf->fwd[i].info.eui);
		if (json_object_set_new(by_eui, eui, forwarder_json(&pf->fwd[i].info, lpw_loop_now(pf->loop))) < 0) {
			json_decref(by_eui);
			return NULL;
		}
	}
	if (!by_eui)
		return NULL;
	/* "o" steals by_eui, also when the pack fails. */
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:o}", "datagrams",
			 (json_int_t)c->datagrams_in, "push_data", (json_int_t)c->push_data, "pull_data",
			 (json_int_t)c->pull_data, "tx_acks", (json_int_t)c->tx_acks, "rxpk", (json_int_t)c->rxpk,
			 "pull_resp_sent", (json_int_t)c->pull_resp_sent, "send_errors", (json_int_t)c->send_errors,
			 "evictions", (json_int_t)c->evictions, "refused", "malformed", (json_int_t)c->malformed,
			 "unexpected", (json_int_t)c->unexpected, "not_listed", (json_int_t)c->not_listed, "table_full",
			 (json_int_t)c->table_full, "by_eui", by_eui);
}
