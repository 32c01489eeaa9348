/* What the proxy knows about one device, read for the control socket (lpwagw-ctl), and its queue flush. Read-only
 * except lpw_proxy_flush; nothing here changes how messages flow. */
#include "proxy/proxy_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct pdev *pdev_of(const lpw_proxy_t *px, const lpw_device_t *dev)
{
	struct pdev *d = px_pdev_of(dev);
	return d && d->px == px ? d : NULL;
}

bool lpw_proxy_device_reachable(const lpw_proxy_t *px, const lpw_device_t *dev)
{
	const struct pdev *d = pdev_of(px, dev);
	return d && px_queue_reachable(d);
}

int lpw_proxy_device_servers(const lpw_proxy_t *px, const lpw_device_t *dev,
                             void (*fn)(void *arg, const lpw_proxy_device_state_t *st), void *arg)
{
	const struct pdev *d = pdev_of(px, dev);
	if (!d)
		return -ENOENT;
	int n = 0;
	for (unsigned i = 0; i <= d->nservers && i <= LPW_DEVICE_MAX_SERVERS; i++) {
		const struct px_server *s = d->servers[i];
		if (!s)
			continue;
		bool reg = lpw_reg_is_registered(s->reg);
		lpw_proxy_device_state_t st = {
			.dev = dev, .device_id = d->cfg->id, .server = lpw_uplink_server(s->link)->name,
			.registered = reg, .lifetime_s = lpw_reg_lifetime(s->reg),
			.upstream = lpw_link_state_name(lpw_uplink_state(s->link)), .reason = lpw_uplink_reason(s->link),
			.location = reg ? lpw_reg_device_location(s->reg) : "",
		};
		fn(arg, &st);
		n++;
	}
	return n;
}

static const char *method_name(coap_pdu_code_t code)
{
	switch ((int)code) {
	case COAP_REQUEST_CODE_GET: return "GET";
	case COAP_REQUEST_CODE_POST: return "POST";
	case COAP_REQUEST_CODE_PUT: return "PUT";
	case COAP_REQUEST_CODE_DELETE: return "DELETE";
	case COAP_REQUEST_CODE_FETCH: return "FETCH";
	case COAP_REQUEST_CODE_PATCH: return "PATCH";
	case COAP_REQUEST_CODE_IPATCH: return "iPATCH";
	default: return "?";
	}
}

static void uri_path(const coap_pdu_t *pdu, char *out, size_t size)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	size_t len = 0;
	out[0] = '\0';
	coap_option_iterator_init(pdu, &it, COAP_OPT_ALL);
	while ((opt = coap_option_next(&it)) && len < size) {
		if (it.number != COAP_OPTION_URI_PATH)
			continue;
		int n = snprintf(out + len, size - len, "/%.*s", (int)coap_opt_length(opt),
		                 (const char *)coap_opt_value(opt));
		len = n < 0 ? size : len + (size_t)n;
	}
	if (len >= size && size > 4)
		strcpy(out + size - 4, "...");
	else if (!out[0] && size > 1)
		strcpy(out, "/");
}

int lpw_proxy_queue_foreach(const lpw_proxy_t *px, const lpw_device_t *dev,
                            void (*fn)(void *arg, const lpw_proxy_queued_t *q), void *arg)
{
	const struct pdev *d = pdev_of(px, dev);
	if (!d)
		return -ENOENT;
	int n = 0;
	int64_t now = lpw_loop_now(px->loop);
	for (const struct px_queued *q = d->qhead; q; q = q->next, n++) {
		lpw_proxy_queued_t info = {.server = q->srv ? lpw_uplink_server(q->srv->link)->name : "",
		                           .method = method_name(coap_pdu_get_code(q->req)),
		                           .expires_in_ms = q->deadline_ms - now};
		uri_path(q->req, info.path, sizeof(info.path));
		fn(arg, &info);
	}
	return n;
}

int lpw_proxy_flush(lpw_proxy_t *px, lpw_device_t *dev)
{
	struct pdev *d = pdev_of(px, dev);
	if (!d)
		return -ENOENT;
	size_t n = d->qlen;
	px_queue_refuse(d, NULL); /* 5.03 to each: the server may send it again later (RFC 7252 §5.9.3.4) */
	return (int)n;
}
