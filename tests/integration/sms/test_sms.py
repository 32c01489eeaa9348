"""SMS binding end to end on loopback: device-sim (an MSISDN on modem-sim's simulated SMS network) -> modem-sim
(an AT modem on a pty) -> lpwagw (hal/serial, AT engine, PDU codec, concatenation) -> lwm2m-test-server over
coap+tcp. Assertions are on what the server, the device and the modem printed, and on the gateway's log."""
import hashlib
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import (Broker, Collector, Daemon, DeviceSim, LineProc, TestServer, Workdir, config_text, free_port,  # noqa: E402
                     run_tests, wait_for)

LPWAGW, SERVER, DEVSIM, MODEMSIM = sys.argv[1:5]
MSISDN = "+491701111111"
EP = "sms-device-with-a-rather-long-endpoint-name-0001"  # so that the Register needs two SMS


class ModemSim(LineProc):
    def __init__(self, path, extra=()):
        super().__init__([MODEMSIM, "--path", path, "--control", "stdin"] + list(extra), "modem")
        self.side_port = self.wait({"event": "ready"}, 10)["side_port"]


SMS_DEVICE = f'{{ id = "sms-1"; binding = "sms"; msisdn = "{MSISDN}"; server = "lwm2m"; }}'


def gateway(work, server_port, cnmi="store", devices=SMS_DEVICE, bindings="", sms_extra="", broker=None):
    tty = os.path.join(work.path, "modem")
    modem = ModemSim(tty)
    extra = f"""servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{server_port}"; }} );
devices = ( {devices} );
bindings: {{ sms: {{ enabled = true; device = "{tty}"; cnmi = "{cnmi}"; max_parts = 4; response_timeout = 5; {sms_extra} }};
  {bindings} }};
"""
    text = config_text(state_dir=os.path.join(work.path, "state"), extra=extra,
                       mqtt_port=broker.port if broker else 1883)
    if not broker:
        text = text.replace("enabled = true; host", "enabled = false; host")
    d = Daemon(LPWAGW, work, work.file("gw.conf", text)).start()
    d.wait_log("started")
    d.wait_log("modem ready", 20)
    return d, modem


def sms_device(modem, extra=()):
    args = [DEVSIM, "--link", "sms", "--gateway", f"127.0.0.1:{modem.side_port}", "--bind", MSISDN,
            "--endpoint", EP, "--control", "stdin", "--lifetime", "300", "--no-retransmit", "--firmware"]
    return LineProc(args + list(extra), "device")


def parts_from_device(modem, start):
    """SMS the modem received from the network since start (each part is one +CMTI)."""
    return [e for e in modem.events[start:] if e.get("event") == "mt"]


def session(cnmi, broker=None, work=None):
    work = work or Workdir(f"sms-{cnmi}")
    server = TestServer(SERVER)
    d, modem = gateway(work, server.tcp, cnmi, broker=broker)
    mark = modem.mark()
    dev = sms_device(modem)
    reg = server.wait({"event": "register", "ep": EP}, 30, "Register upstream over SMS")
    assert "</3/0>" in reg["objects"], reg
    # the modem's events arrive on their own pipe: wait for the second part rather than count what is read so far
    modem.wait(lambda e: e.get("event") == "mt" and e.get("part", "").startswith("2/"), 10,
               "the Register's second SMS", mark)
    dev.wait({"event": "registered", "location": reg["location"]}, 20, "2.01 back at the device over SMS")

    r = server.request(f"read {EP} /3/0", timeout=30)
    assert r["code"] == "2.05" and "device-sim" in r["payload"], r

    body = bytes(i % 251 for i in range(300))
    mark = modem.mark()
    r = server.request(f"write {EP} /5/0/0 bytes 300", timeout=30)
    assert r["code"] == "2.04", r
    w = dev.wait({"event": "write", "path": "/5/0/0"}, 5)
    assert w["size"] == 300 and w["sha256"] == hashlib.sha256(body).hexdigest(), w
    wait_for(lambda: len([e for e in modem.events[mark:] if e.get("event") == "mo" and e.get("part") == "3/3"]) == 1,
             10, "the 300-byte Write as three SMS (part 3/3 seen by the modem)")
    return work, server, d, modem, dev, reg


def test_store_mode_session():
    work = Workdir("sms-store")
    broker = Broker(work).start()
    stats = Collector(broker, "lpwtest/gw-test/stats")
    work, server, d, modem, dev, reg = session("store", broker, work)
    # §5.4: an SMS from a number that is no device's is dropped, not forwarded
    mark = server.mark()
    modem.send("inject +499999999999 40010001")
    d.wait_log("SMS from a number of no device dropped", 10)
    assert not [e for e in server.events[mark:] if e.get("event") in ("register", "update")], server.events[mark:]
    # ...and counted; the binding's report carries the modem's signal quality and registration (AT+CSQ, AT+CREG?)
    _, j = stats.wait(lambda t, j: isinstance(j, dict) and j.get("dropped", {}).get("unknown_device", 0) >= 1 and
                      j.get("bindings", {}).get("sms", {}).get("unknown_sender", 0) >= 1, 10, "the drop counted")
    sms = j["bindings"]["sms"]
    assert sms["modem"]["state"] == "ready" and sms["modem"]["rssi"] == 20 and sms["modem"]["rssi_dbm"] == -73, sms
    assert "sms-1: NoSec on the SMS channel" in d.log()  # flagged at start (LwM2M §5.4.1)
    assert sms["modem"]["creg"] == 1 and sms["messages_in"] >= 3 and sms["sms_out"] >= 5, sms

    # Observe with notifications over SMS
    r = server.request(f"observe {EP} /3303/0/5700", timeout=30)
    assert r["code"] == "2.05", r
    obs = r["id"]
    server.wait(lambda e: e.get("event") == "notify" and e.get("id") == obs, 30, "a notification over SMS")

    # §6.8.3: no CoAP retransmission over SMS; a CON the device leaves unanswered fails after response_timeout
    dev.send("sleep")
    mark = modem.mark()
    r = server.request(f"read {EP} /3/0/1", timeout=20)
    assert r["code"] == "5.04", r
    # an empty ACK (4 bytes) to a notification may go out meanwhile; the request is what has a token
    sent = [e for e in modem.events[mark:] if e.get("event") == "mo" and e.get("len", 0) > 4]
    assert len(sent) == 1, f"the request went out once, not retransmitted: {sent}"
    assert "no answer to CON" in d.log()
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


# The RFC 8613 Appendix C.1 context (as tests/integration/oscore): the device is the client, the server Sender ID 01.
OSCORE_SECRET, OSCORE_SALT = "0102030405060708090a0b0c0d0e0f10", "9e7ca92223786340"


def test_oscore_end_to_end_over_sms():
    """§5.4.1: NoSec on the SMS channel, OSCORE on the message; the gateway carries the protected messages."""
    work = Workdir("sms-oscore")
    server = TestServer(SERVER, extra=["--oscore", f"{OSCORE_SECRET}:{OSCORE_SALT}:01:"])
    dev_entry = SMS_DEVICE.replace('server = "lwm2m";', 'server = "lwm2m"; oscore = true;')
    d, modem = gateway(work, server.tcp, devices=dev_entry)
    dev = sms_device(modem, ["--oscore", f"{OSCORE_SECRET}:{OSCORE_SALT}::01"])
    reg = server.wait({"event": "register", "ep": EP}, 30, "OSCORE Register upstream over SMS")
    dev.wait({"event": "registered", "location": reg["location"]}, 20)
    r = server.request(f"read {EP} /3/0", timeout=30)
    assert r["code"] == "2.05" and "device-sim" in r["payload"], r
    wire = [e for e in server.events if e.get("event") == "oscore-wire" and e.get("direction") == "in"]
    assert any(e["kind"] == "request" and (e["option_hex"] or "").startswith("09") for e in wire), wire
    assert not [e for e in server.events + dev.events if e.get("event") == "oscore-error"]
    assert "sms-1: NoSec" not in d.log(), "an OSCORE device is not flagged as unprotected"


def test_rate_limit_per_device():
    """SMS cost money: with rate_device = 2 the Register's answer and one Read use the hour's budget; the next
    server request is refused at once with 5.04 and no SMS leaves the modem."""
    work = Workdir("sms-rate")
    server = TestServer(SERVER)
    d, modem = gateway(work, server.tcp, sms_extra="rate_device = 2;")
    dev = sms_device(modem)
    server.wait({"event": "register", "ep": EP}, 30, "Register upstream over SMS")
    dev.wait({"event": "registered"}, 20)
    r = server.request(f"read {EP} /3/0/0", timeout=20)
    assert r["code"] == "2.05", r
    mark = modem.mark()
    r = server.request(f"read {EP} /3/0/1", timeout=10)
    assert r["code"] == "5.04", r
    assert not [e for e in modem.events[mark:] if e.get("event") == "mo"], "nothing may be sent over the limit"
    assert "refused by the rate limit" in d.log()


def test_wakeup_of_a_sleeping_sgi_device():
    """§6.6: a queue-mode SGi device with an SMS number; a server request waits longer than sms_wakeup_delay, the
    gateway sends the Registration Update Trigger (NON POST /1/0/8) by SMS to that number. The test is the phone
    behind the number (modem-sim's side channel); the device then wakes and its Update lets the request through."""
    work = Workdir("sms-wakeup")
    server = TestServer(SERVER)
    sgi = free_port(socket.SOCK_DGRAM)
    number = "+491702222222"
    dev_entry = (f'{{ id = "sgi-1"; binding = "nidd-sgi"; ip = "127.0.0.2"; server = "lwm2m"; sms = "{number}"; '
                 f'sms_wakeup_delay = 1; }}')
    d, modem = gateway(work, server.tcp, devices=dev_entry,
                       bindings=f'nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi}; awake_time = 1; }};')
    phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    phone.connect(("127.0.0.1", modem.side_port))
    phone.send(f"HELLO {number} raw".encode())
    assert phone.recv(100).startswith(b"OK")
    dev = DeviceSim(DEVSIM, sgi, extra=["--binding", "UQ", "--lifetime", "300"])
    reg = server.wait({"event": "register", "ep": "ep1", "b": "UQ"}, 15)
    dev.wait({"event": "registered"}, 10)
    dev.send("sleep")
    time.sleep(1.5)  # past the gateway's awake time (1 s): the next request must wait (as tests/integration/queue)

    mark = server.mark()
    server.send("read ep1 /3/0/0")
    read_id = server.wait({"event": "accepted"}, 5, "read accepted", mark)["id"]
    phone.settimeout(10)
    msg = phone.recv(2000).decode().split()
    assert msg[0] == "DATA", msg
    coap = bytes.fromhex(msg[2])
    # RFC 7252: version 1, NON, no token; POST; Uri-Path 1 / 0 / 8
    assert coap[0] == 0x50 and coap[1] == 0x02 and coap[4:] == b"\xb11\x010\x018", coap.hex()
    assert "woken by SMS" in d.log()

    dev.send("wake")  # what the device does on the trigger: it comes online on SGi and sends an Update
    server.wait({"event": "update", "location": reg["location"]}, 10, "the Update after the trigger", mark)
    r = server.wait({"event": "response", "id": read_id}, 10, "the queued read answered")
    assert r["code"] == "2.05" and r["payload"] == "lpwagw", r


run_tests([test_store_mode_session, test_direct_mode_session, test_modem_vanishes_and_returns,
           test_oscore_end_to_end_over_sms, test_rate_limit_per_device, test_wakeup_of_a_sleeping_sgi_device])
