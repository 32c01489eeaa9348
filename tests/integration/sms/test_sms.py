"""SMS binding end to end on loopback: device-sim (an MSISDN on modem-sim's simulated SMS network) -> modem-sim
(an AT modem on a pty) -> lpwagw (hal/serial, AT engine, PDU codec, concatenation) -> lwm2m-test-server over
coap+tcp. Assertions are on what the server, the device and the modem printed, and on the gateway's log."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import (Daemon, DeviceSim, LineProc, TestServer, Workdir, config_text, run_tests,  # noqa: E402
                     wait_for)

LPWAGW, SERVER, DEVSIM, MODEMSIM = sys.argv[1:5]
MSISDN = "+491701111111"
EP = "sms-device-with-a-rather-long-endpoint-name-0001"  # so that the Register needs two SMS


class ModemSim(LineProc):
    def __init__(self, path, extra=()):
        super().__init__([MODEMSIM, "--path", path, "--control", "stdin"] + list(extra), "modem")
        self.side_port = self.wait({"event": "ready"}, 10)["side_port"]


def gateway(work, server_port, cnmi="store"):
    tty = os.path.join(work.path, "modem")
    modem = ModemSim(tty)
    extra = f"""servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{server_port}"; }} );
devices = ( {{ id = "sms-1"; binding = "sms"; msisdn = "{MSISDN}"; server = "lwm2m"; }} );
bindings: {{ sms: {{ enabled = true; device = "{tty}"; cnmi = "{cnmi}"; max_parts = 4; response_timeout = 20; }}; }};
"""
    text = config_text(state_dir=os.path.join(work.path, "state"), extra=extra)
    text = text.replace("enabled = true; host", "enabled = false; host")  # no MQTT broker needed here
    d = Daemon(LPWAGW, work, work.file("gw.conf", text)).start()
    d.wait_log("started")
    d.wait_log("modem ready", 20)
    return d, modem


def device(modem):
    return DeviceSim(DEVSIM, 0, extra=["--lifetime", "300", "--no-retransmit", "--firmware", "--endpoint", EP])


def sms_device(modem):
    args = [DEVSIM, "--link", "sms", "--gateway", f"127.0.0.1:{modem.side_port}", "--bind", MSISDN,
            "--endpoint", EP, "--control", "stdin", "--lifetime", "300", "--no-retransmit", "--firmware"]
    return LineProc(args, "device")


def parts_from_device(modem, start):
    """SMS the modem received from the network since start (each part is one +CMTI)."""
    return [e for e in modem.events[start:] if e.get("event") == "mt"]


def session(cnmi):
    work = Workdir(f"sms-{cnmi}")
    server = TestServer(SERVER)
    d, modem = gateway(work, server.tcp, cnmi)
    mark = modem.mark()
    dev = sms_device(modem)
    reg = server.wait({"event": "register", "ep": EP}, 30, "Register upstream over SMS")
    assert "</3/0>" in reg["objects"], reg
    assert len(parts_from_device(modem, mark)) >= 2, "the Register should have needed two SMS"
    dev.wait({"event": "registered", "location": reg["location"]}, 20, "2.01 back at the device over SMS")

    r = server.request(f"read {EP} /3/0", timeout=30)
    assert r["code"] == "2.05" and "device-sim" in r["payload"], r

    body = bytes(i % 251 for i in range(300))
    mark = modem.mark()
    r = server.request(f"write {EP} /5/0/0 bytes 300", timeout=30)
    assert r["code"] == "2.04", r
    import hashlib
    w = dev.wait({"event": "write", "path": "/5/0/0"}, 5)
    assert w["size"] == 300 and w["sha256"] == hashlib.sha256(body).hexdigest(), w
    sent = [e for e in modem.events[mark:] if e.get("event") == "at" and e.get("cmd", "").startswith("AT+CMGS")]
    assert len(sent) >= 3, f"a 300-byte Write should take three SMS, the modem sent {len(sent)}"
    return work, server, d, modem, dev, reg


def test_store_mode_session():
    work, server, d, modem, dev, reg = session("store")
    # §5.4: an SMS from a number that is no device's is dropped, not forwarded
    mark = server.mark()
    modem.send("inject +499999999999 40010001")
    d.wait_log("SMS from a number of no device dropped", 10)
    assert not [e for e in server.events[mark:] if e.get("event") in ("register", "update")], server.events[mark:]

    # Observe with notifications over SMS
    r = server.request(f"observe {EP} /3303/0/5700", timeout=30)
    assert r["code"] == "2.05", r
    obs = r["id"]
    server.wait(lambda e: e.get("event") == "notify" and e.get("id") == obs, 30, "a notification over SMS")
    assert d.alive()


def test_direct_mode_session():
    work, server, d, modem, dev, reg = session("direct")
    assert any(e.get("cmd", "").startswith("AT+CNMA") for e in modem.events), "direct delivery acknowledges +CMT"


def test_modem_vanishes_and_returns():
    work = Workdir("sms-vanish")
    server = TestServer(SERVER)
    d, modem = gateway(work, server.tcp)
    dev = sms_device(modem)
    reg = server.wait({"event": "register", "ep": EP}, 30, "Register upstream over SMS")
    dev.wait({"event": "registered"}, 20)

    log_len = len(d.log())
    modem.send("vanish 1500")  # USB re-enumeration: the pty and its path go, and come back
    wait_for(lambda: "modem port" in d.log()[log_len:] and "closed" in d.log()[log_len:], 10, "the port lost")
    wait_for(lambda: "modem ready" in d.log()[log_len:], 30, "the modem initialised again")

    mark = server.mark()
    dev.send("update")  # the device speaks first: reachable again for the queued Read
    server.wait({"event": "update", "location": reg["location"]}, 30, "Update upstream after the modem came back", mark)
    r = server.request(f"read {EP} /3/0/0", timeout=30)
    assert r["code"] == "2.05", r
    assert d.alive()


run_tests([test_store_mode_session, test_direct_mode_session, test_modem_vanishes_and_returns])
