/* libFuzzer target: packet-forwarder datagrams. A rejection must say why; what parses must rebuild and re-parse
 * to the same packets. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hal/pktfwd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lpw_pktfwd_msg_t msg, again;
static uint8_t out[LPW_PKTFWD_MAX_DATAGRAM];

static void check_same_rxpk(const lpw_rxpk_t *a, const lpw_rxpk_t *b)
{
	if (a->tmst != b->tmst || a->size != b->size || memcmp(a->data, b->data, a->size) != 0 || a->modu != b->modu ||
	    a->sf != b->sf || a->bw_khz != b->bw_khz || a->codr != b->codr || a->stat != b->stat || a->rssi != b->rssi ||
	    strcmp(a->time, b->time) != 0)
		abort();
}

static void rebuild(void)
{
	char why[256];
	int n;
	switch (msg.kind) {
	case LPW_PKTFWD_PUSH_DATA:
		n = lpw_pktfwd_build_push_data(msg.token, msg.eui, msg.rxpk, msg.nrxpk, msg.has_stat ? &msg.stat : NULL,
					       out, sizeof(out));
		break;
	case LPW_PKTFWD_PULL_RESP:
		n = lpw_pktfwd_build_pull_resp(msg.token, &msg.txpk, out, sizeof(out));
		break;
	case LPW_PKTFWD_TX_ACK:
		n = lpw_pktfwd_build_tx_ack(msg.token, msg.eui, msg.tx_error, true, out, sizeof(out));
		break;
	default:
		return;
	}
	if (n < 0 || lpw_pktfwd_parse(out, (size_t)n, &again, why, sizeof(why)) != 0)
		abort(); /* everything the parser accepts, the builders can carry */
	if (again.kind != msg.kind || again.token != msg.token || again.eui != msg.eui || again.nrxpk != msg.nrxpk ||
	    again.has_stat != msg.has_stat || again.tx_error != msg.tx_error)
		abort();
	for (size_t i = 0; i < msg.nrxpk; i++)
		check_same_rxpk(&msg.rxpk[i], &again.rxpk[i]);
	if (msg.kind == LPW_PKTFWD_PULL_RESP &&
	    (again.txpk.size != msg.txpk.size || memcmp(again.txpk.data, msg.txpk.data, msg.txpk.size) != 0 ||
	     again.txpk.tmst != msg.txpk.tmst || again.txpk.imme != msg.txpk.imme))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256] = "";
	int rc = lpw_pktfwd_parse(data, size, &msg, why, sizeof(why));
	if (rc < 0) {
		if ((rc != -EPROTO && rc != -EBADMSG) || why[0] == '\0')
			abort(); /* a rejection must always say why */
		return 0;
	}
	rebuild();
	return 0;
}
