#!/usr/bin/env python3
"""scef-sim: an emulated SCEF serving the T8 NIDD API subset lpwagw uses, for tests and demos.

Follows 3GPP TS 29.122 Release 17 (V17.7.0, OpenAPI "3gpp-nidd" 1.2.1, shared/specs/3gpp-ts29122-rel17):
  POST/GET {apiRoot}/3gpp-nidd/v1/{scsAsId}/configurations
  GET/PATCH/DELETE .../configurations/{configurationId}
  POST .../configurations/{configurationId}/downlink-data-deliveries (200, 201 + Location, errors)
and sends to each configuration's notificationDestination the NiddUplinkDataNotification (MO data, base64) and
NiddDownlinkDataDeliveryStatusNotification (after a 201).

The UE side is a UDP socket: a device (device-sim --link udp --bind IP --gateway 127.0.0.1:UE_PORT) is the UE whose
identity --ue IDENTITY=IP names; its datagrams become MO notifications, MT data goes back to its last address.

Events: one JSON object per line on stdout. Control lines on stdin:
  mt deliver | buffer [MS] | fail [MS] | error STATUS [CAUSE] | hang   how the next downlinks are answered (sticky)
  config-error STATUS [COUNT]   the next COUNT (default 1) configuration requests get STATUS with ProblemDetails
  restart                       forget every configuration (an SCEF restart): their ids answer 404
  lose ID                       forget one configuration
  slow MS                       delay every HTTP answer by MS
  status-notify ID STATUS       send a NiddConfigurationStatusNotification
  quit
"""
import argparse
import base64
import datetime
import http.server
import json
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

lock = threading.RLock()
out_lock = threading.Lock()


def emit(**ev):
    with out_lock:
        sys.stdout.write(json.dumps(ev) + "\n")
        sys.stdout.flush()


def rfc3339(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return None


class Scef:
    def __init__(self, args):
        self.args = args
        self.configs = {}          # id -> dict
        self.ue_addr = {}          # identity -> (ip, port)
        self.ue_ident = {}         # ip -> identity
        for m in args.ue:
            ident, ip = m.split("=", 1)
            self.ue_ident[ip] = ident
        self.mt_mode = ["deliver"]
        self.config_errors = []    # statuses for the next configuration requests
        self.slow_ms = 0
        self.deliveries = 0
        self.ctx = None
        if args.notify_insecure:
            self.ctx = ssl._create_unverified_context()
        elif args.notify_ca:
            self.ctx = ssl.create_default_context(cafile=args.notify_ca)

    def base(self, host):
        return f"{'https' if self.args.tls_cert else 'http'}://{host}/3gpp-nidd/v1/{self.args.scs_as_id}"

    def identity(self, body):
        return body.get("externalId") or body.get("msisdn")

    def notify(self, url, body, what):
        def run():
            req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10, context=self.ctx) as r:
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            except Exception as e:  # noqa: BLE001 - a test peer reports every failure as an event
                emit(event="notify-failed", what=what, error=str(e))
                return
            emit(event="notified", what=what, status=status)
        threading.Thread(target=run, daemon=True).start()

    def config_of_identity(self, ident):
        for c in self.configs.values():
            if self.identity(c) == ident:
                return c
        return None

    def on_ue_datagram(self, data, addr):
        with lock:
            ident = self.ue_ident.get(addr[0])
            if not ident:
                emit(event="mo-dropped", reason="unknown UE", ip=addr[0])
                return
            self.ue_addr[ident] = addr
            c = self.config_of_identity(ident)
            if not c:
                emit(event="mo-dropped", reason="no NIDD configuration", identity=ident)
                return
            body = {"niddConfiguration": c["self"], "data": base64.b64encode(data).decode()}
            body["externalId" if "@" in ident else "msisdn"] = ident
            url = c["notificationDestination"]
        emit(event="mo", identity=ident, len=len(data))
        self.notify(url, body, "mo")

    def deliver_to_ue(self, ident, data):
        addr = self.ue_addr.get(ident)
        if addr:
            self.ue_sock.sendto(data, addr)
        emit(event="mt-delivered", identity=ident, len=len(data), sent=bool(addr))
        return bool(addr)


def problem(status, title, cause=None, detail=None):
    p = {"type": "about:blank", "title": title, "status": status}
    if cause:
        p["cause"] = cause
    if detail:
        p["detail"] = detail
    return p


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    scef = None

    def log_message(self, *a):
        pass

    def answer(self, status, body=None, headers=(), ctype="application/json"):
        if self.scef.slow_ms:
            time.sleep(self.scef.slow_ms / 1000)
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/problem+json" if status >= 400 and "title" in body
                             else ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return None

    def route(self):
        """(configuration id or None, tail) when the path is ours, else None."""
        prefix = f"/3gpp-nidd/v1/{self.scef.args.scs_as_id}/configurations"
        path = self.path.split("?")[0]
        if not path.startswith(prefix):
            return None
        rest = [p for p in path[len(prefix):].split("/") if p]
        return (rest[0] if rest else None, rest[1:])

    def authorised(self):
        tok = self.scef.args.token
        if tok and self.headers.get("Authorization") != f"Bearer {tok}":
            emit(event="unauthorised", path=self.path)
            self.answer(401, problem(401, "Unauthorized"), [("WWW-Authenticate", "Bearer")])
            return False
        return True

    def injected_error(self):
        with lock:
            if not self.scef.config_errors:
                return False
            status = self.scef.config_errors.pop(0)
        emit(event="config-error", status=status, method=self.command)
        self.answer(status, problem(status, "injected error"))
        return True

    def find(self, cid):
        with lock:
            c = self.scef.configs.get(cid)
            if c and c.get("_expires") and c["_expires"] < time.time():
                del self.scef.configs[cid]
                emit(event="config-expired", id=cid)
                c = None
        if not c:
            self.answer(404, problem(404, "Not Found", "RESOURCE_NOT_FOUND", f"no configuration {cid}"))
        return c

    def public(self, c):
        return {k: v for k, v in c.items() if not k.startswith("_")}

    def do_POST(self):
        r = self.route()
        if r is None or not self.authorised():
            return r is None and self.answer(404, problem(404, "Not Found"))
        cid, tail = r
        body = self.body()
        if body is None or not isinstance(body, dict):
            return self.answer(400, problem(400, "Bad Request", detail="not a JSON object"))
        if cid is None:
            return self.create(body)
        if tail == ["downlink-data-deliveries"]:
            return self.downlink(cid, body)
        self.answer(404, problem(404, "Not Found"))

    def create(self, body):
        if self.injected_error():
            return
        ident = self.scef.identity(body)
        if not ident or not body.get("notificationDestination"):
            return self.answer(400, problem(400, "Bad Request", "MANDATORY_IE_MISSING"))
        cid = uuid.uuid4().hex[:12]
        c = dict(body)
        c["self"] = f"{self.scef.base(self.headers.get('Host'))}/configurations/{cid}"
        c["maximumPacketSize"] = self.scef.args.max_packet_size
        c["status"] = "ACTIVE"
        exp = parse_time(body.get("duration")) if body.get("duration") else None
        c["_expires"] = exp
        with lock:
            self.scef.configs[cid] = c
        emit(event="config-created", id=cid, identity=ident, destination=body["notificationDestination"],
             duration=body.get("duration"))
        self.answer(201, self.public(c), [("Location", c["self"])])

    def do_GET(self):
        r = self.route()
        if r is None or not self.authorised():
            return r is None and self.answer(404, problem(404, "Not Found"))
        cid, tail = r
        if cid is None:
            with lock:
                return self.answer(200, [self.public(c) for c in self.scef.configs.values()])
        c = self.find(cid)
        if c:
            self.answer(200, self.public(c))

    def do_PATCH(self):
        r = self.route()
        if r is None or not self.authorised():
            return r is None and self.answer(404, problem(404, "Not Found"))
        cid, _ = r
        body = self.body()
        if self.injected_error():
            return
        c = self.find(cid)
        if not c:
            emit(event="config-patch-404", id=cid)
            return
        if not isinstance(body, dict):
            return self.answer(400, problem(400, "Bad Request"))
        with lock:
            for k in ("duration", "notificationDestination"):
                if k in body:
                    c[k] = body[k]
            if body.get("duration"):
                c["_expires"] = parse_time(body["duration"])
        emit(event="config-patched", id=cid, duration=c.get("duration"))
        self.answer(200, self.public(c))

    def do_DELETE(self):
        r = self.route()
        if r is None or not self.authorised():
            return r is None and self.answer(404, problem(404, "Not Found"))
        cid, _ = r
        if self.find(cid):
            with lock:
                self.scef.configs.pop(cid, None)
            emit(event="config-deleted", id=cid)
            self.answer(204)

    def downlink(self, cid, body):
        c = self.find(cid)
        if not c:
            emit(event="mt-404", id=cid)
            return
        try:
            data = base64.b64decode(body.get("data", ""), validate=True)
        except (ValueError, TypeError):
            return self.answer(400, problem(400, "Bad Request", detail="data is not base64"))
        ident = self.scef.identity(body) or self.scef.identity(c)
        mode = self.scef.mt_mode
        emit(event="mt", id=cid, identity=ident, len=len(data), mode=mode[0])
        if mode[0] == "hang":
            time.sleep(3600)
            return
        if mode[0] == "error":
            status = int(mode[1])
            cause = mode[2] if len(mode) > 2 else None
            p = problem(status, "delivery refused", cause)
            if status == 500:  # TS 29.122 Table 5.6.2.1.8-1: NiddDownlinkDataDeliveryFailure
                p = {"problemDetail": p, "requestedRetransmissionTime": rfc3339(time.time() + 60)}
            return self.answer(status, p)
        if mode[0] == "deliver":
            self.scef.deliver_to_ue(ident, data)
            return self.answer(200, {"msisdn" if "@" not in ident else "externalId": ident,
                                     "deliveryStatus": "SUCCESS", "data": body.get("data", "")})
        with lock:
            self.scef.deliveries += 1
            did = f"d{self.scef.deliveries}"
        link = f"{c['self']}/downlink-data-deliveries/{did}"
        self.answer(201, {"self": link, "deliveryStatus": "BUFFERING",
                          "msisdn" if "@" not in ident else "externalId": ident, "data": body.get("data", "")},
                    [("Location", link)])
        delay = int(mode[1]) / 1000 if len(mode) > 1 else 0.2
        threading.Timer(delay, self.final_status, (c, ident, link, data, mode[0] == "buffer")).start()

    def final_status(self, c, ident, link, data, ok):
        status = "FAILURE"
        if ok:
            status = "SUCCESS" if self.scef.deliver_to_ue(ident, data) else "FAILURE_TEMPORARILY_NOT_REACHABLE"
        emit(event="mt-status", link=link, status=status)
        self.scef.notify(c["notificationDestination"], {"niddDownlinkDataTransfer": link, "deliveryStatus": status},
                         "status")


def control(scef):
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        with lock:
            if w[0] == "mt":
                scef.mt_mode = w[1:] or ["deliver"]
            elif w[0] == "config-error":
                scef.config_errors += [int(w[1])] * (int(w[2]) if len(w) > 2 else 1)
            elif w[0] == "restart":
                scef.configs.clear()
            elif w[0] == "lose":
                scef.configs.pop(w[1], None)
            elif w[0] == "slow":
                scef.slow_ms = int(w[1])
            elif w[0] == "status-notify":
                c = scef.configs.get(w[1])
                if c:
                    body = {"niddConfiguration": c["self"], "status": w[2]}
                    body["externalId" if "@" in scef.identity(c) else "msisdn"] = scef.identity(c)
                    scef.notify(c["notificationDestination"], body, "config-status")
            elif w[0] == "quit":
                break
            else:
                emit(event="error", error=f"unknown command {w[0]}")
                continue
        emit(event="ok", command=w[0])
    sys.exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--http-port", type=int, default=0)
    ap.add_argument("--ue-port", type=int, default=0)
    ap.add_argument("--scs-as-id", default="lpwagw")
    ap.add_argument("--ue", action="append", default=[], help="IDENTITY=IP: the UE of a device")
    ap.add_argument("--max-packet-size", type=int, default=8 * 1024, help="bits (TS 29.122 maximumPacketSize)")
    ap.add_argument("--token", help="require this OAuth2 bearer token")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--notify-ca", help="CA for an https notificationDestination")
    ap.add_argument("--notify-insecure", action="store_true")
    args = ap.parse_args()

    scef = Scef(args)
    Handler.scef = scef
    httpd = http.server.ThreadingHTTPServer((args.listen, args.http_port), Handler)
    httpd.daemon_threads = True
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    scef.ue_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    scef.ue_sock.bind((args.listen, args.ue_port))

    def ue_loop():
        while True:
            data, addr = scef.ue_sock.recvfrom(65535)
            scef.on_ue_datagram(data, addr)
    threading.Thread(target=ue_loop, daemon=True).start()
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    emit(event="ready", http_port=httpd.server_address[1], ue_port=scef.ue_sock.getsockname()[1],
         api_root=f"{'https' if args.tls_cert else 'http'}://{args.listen}:{httpd.server_address[1]}")
    control(scef)


if __name__ == "__main__":
    main()
