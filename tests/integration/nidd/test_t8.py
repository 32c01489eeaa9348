"""NIDD via the SCEF's T8 API end to end on loopback: device-sim (a UE on scef-sim's UDP side) -> scef-sim (the T8
API, TS 29.122 Rel-17) -> lpwagw (libcurl requests, libmicrohttpd notifications) -> lwm2m-test-server over coap+tcp.
Assertions are on what the server, the device and the SCEF printed."""
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import (Daemon, DeviceSim, LineProc, TestServer, Workdir, config_text, free_port,  # noqa: E402
                     run_tests, wait_for)

LPWAGW, SERVER, DEVSIM, SCEFSIM = sys.argv[1:5]
MSISDN = "491701234567"
UE_IP = "127.0.0.5"
EP = "t8-device"


class ScefSim(LineProc):
    def __init__(self, extra=()):
        super().__init__([sys.executable, SCEFSIM, "--ue", f"{MSISDN}={UE_IP}", "--max-packet-size", "8192"]
                         + list(extra), "scef")
        ready = self.wait({"event": "ready"}, 10)
        self.http_port, self.ue_port, self.api_root = ready["http_port"], ready["ue_port"], ready["api_root"]

    def command(self, line):
        start = self.mark()
        self.send(line)
        self.wait({"event": "ok", "command": line.split()[0]}, 5, f"scef-sim took '{line}'", start)

    def count(self, pred, start=0):
        return len([e for e in self.events[start:] if pred(e)])


def gateway(work, scef, server_port, t8_extra=""):
    cb = free_port()
    extra = f"""servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{server_port}"; }} );
devices = ( {{ id = "t8-1"; binding = "nidd-t8"; msisdn = "+{MSISDN}"; server = "lwm2m"; }} );
bindings: {{ nidd_t8: {{ enabled = true; api_root = "{scef.api_root}"; scs_as_id = "lpwagw";
  callback_listen = "127.0.0.1"; callback_port = {cb}; callback_url = "http://127.0.0.1:{cb}/t8/notify";
  request_timeout = 3; retry_min = 1; retry_max = 2; response_timeout = 20; {t8_extra} }}; }};
"""
    text = config_text(state_dir=os.path.join(work.path, "state"), extra=extra)
    text = text.replace("enabled = true; host", "enabled = false; host")
    d = Daemon(LPWAGW, work, work.file("gw.conf", text)).start()
    d.wait_log("started")
    return d


def registered(scef, server, dev_extra=()):
    dev = DeviceSim(DEVSIM, scef.ue_port, bind=UE_IP, endpoint=EP, extra=["--lifetime", "300"] + list(dev_extra))
    reg = server.wait({"event": "register", "ep": EP}, 30, "Register upstream through the SCEF")
    assert "</3/0>" in reg["objects"], reg
    dev.wait({"event": "registered", "location": reg["location"]}, 20, "2.01 back at the device through the SCEF")
    return dev


def read_ok(server, path="/3/0", timeout=30):
    r = server.request(f"read {EP} {path}", timeout=timeout)
    assert r["code"] == "2.05", r
    return r


def test_t8_session():
    work = Workdir("nidd-t8")
    server = TestServer(SERVER)
    scef = ScefSim()
    d = gateway(work, scef, server.tcp)
    created = scef.wait(lambda e: e.get("event") == "config-created" and e.get("identity") == MSISDN, 10,
                        "the NIDD configuration created at the SCEF")
    assert created["destination"].endswith("/t8/notify"), created
    dev = registered(scef, server)

    # Read, Write, Observe: each a downlink data delivery answered 200 by default
    r = read_ok(server)
    assert "device-sim" in r["payload"], r
    r = server.request(f"write {EP} /3/0/13 text 1234567", timeout=20)
    assert r["code"] == "2.04", r
    dev.wait({"event": "write", "path": "/3/0/13", "value": "1234567"}, 5)
    r = server.request(f"observe {EP} /3303/0/5700", timeout=20)
    assert r["code"] == "2.05", r
    assert scef.count(lambda e: e.get("event") == "mt") >= 3

    # the SCEF restarts and forgets the configuration: the next request meets 404, the configuration is created
    # again and the request that was waiting goes out on it (not lost)
    scef.command("restart")
    mark = scef.mark()
    read_ok(server, "/3/0/0")
    again = scef.wait(lambda e: e.get("event") == "config-created", 1, "the configuration created again", mark)
    assert again["id"] != created["id"] and again["identity"] == MSISDN, again
    scef.wait(lambda e: e.get("event") == "mt-404", 1, "the downlink that met the lost configuration", mark)
    d.wait_log("creating it again")

    # 201 (pending) then a delivery status notification SUCCESS: delivered once, never resent by the proxy
    scef.command("mt buffer 1500")
    mark = scef.mark()
    read_ok(server, "/3/0/1")
    scef.wait(lambda e: e.get("event") == "notified" and e.get("what") == "status" and e.get("status") == 204, 5,
              "the delivery status notification accepted", mark)
    assert scef.count(lambda e: e.get("event") == "mt", mark) == 1, scef.events[mark:]
    assert scef.count(lambda e: e.get("event") == "mt-status" and e["status"] == "SUCCESS", mark) == 1

    # 201 then FAILURE: the server gets 5.04 at once (not after the response timeout)
    scef.command("mt fail 300")
    mark = scef.mark()
    r = server.request(f"read {EP} /3/0/2", timeout=15)
    assert r["code"] == "5.04", r
    scef.wait(lambda e: e.get("event") == "notified" and e.get("what") == "status", 5, "FAILURE notified", mark)

    # an error with a cause (ProblemDetails): 5.04 too, and the next request is served again
    scef.command("mt error 503 SERVICE_UNAVAILABLE")
    r = server.request(f"read {EP} /3/0/2", timeout=15)
    assert r["code"] == "5.04", r
    d.wait_log("cause SERVICE_UNAVAILABLE")
    scef.command("mt deliver")
    read_ok(server, "/3/0/0")

    # on shutdown the configuration is deleted
    mark = scef.mark()
    d.stop(signal.SIGTERM)
    scef.wait(lambda e: e.get("event") == "config-deleted", 5, "the configuration deleted on shutdown", mark)
    dev.stop()
    scef.stop()
    server.stop()


def test_callback_checks():
    """Hostile or stray notifications: unknown configuration ids 404, malformed bodies 400, no crash."""
    import json
    import urllib.error
    import urllib.request
    work = Workdir("nidd-t8-cb")
    server = TestServer(SERVER)
    scef = ScefSim()
    d = gateway(work, scef, server.tcp)
    created = scef.wait(lambda e: e.get("event") == "config-created", 10, "configuration")
    url = created["destination"]

    def post(body, path=None):
        req = urllib.request.Request(path or url, body if isinstance(body, bytes) else json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    link = f"{scef.api_root}/3gpp-nidd/v1/lpwagw/configurations/"
    assert post({"niddConfiguration": link + "nope", "msisdn": MSISDN, "data": "QQ=="})[0] == 404
    wrong_ue = {"niddConfiguration": link + created["id"], "msisdn": "4900000", "data": "QQ=="}
    assert post(wrong_ue)[0] == 404
    status, body = post(b"{\"niddConfiguration\": ")
    assert status == 400 and b"not JSON" in body, (status, body)
    assert post(b"[" * 5000 + b"]" * 5000)[0] == 400
    assert post({"niddConfiguration": 7, "data": "QQ=="})[0] == 400
    assert post({"niddConfiguration": link + created["id"], "msisdn": MSISDN, "data": "!!"})[0] == 400
    huge = {"niddConfiguration": link + created["id"], "msisdn": MSISDN, "data": "QUFB" * 12000}
    assert post(huge)[0] == 413
    assert post({"niddDownlinkDataTransfer": link + created["id"] + "/downlink-data-deliveries/x",
                 "deliveryStatus": "SUCCESS"})[0] == 404
    assert post({"subscription": link})[0] == 204
    assert post({"x": 1}, url.rsplit("/", 1)[0] + "/other")[0] == 404
    assert d.alive()
    d.stop()
    scef.stop()
    server.stop()


if __name__ == "__main__":
    run_tests([test_t8_session, test_callback_checks])
