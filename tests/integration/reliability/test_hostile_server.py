"""Issue 16 items 1 and 6: an upstream server that breaks RFC 8323 must never stall or end the gateway, and the
gateway says truthfully why a session ended. A hostile server (hostile.py) plays one scenario per connection of
device A; device B meanwhile talks to a real LwM2M server and a stall probe pings the gateway's loop. Assertions:
the daemon lives, B's reads and the probe are answered within the stall limit (100 ms, LPW_STALL_LIMIT_MS), the
gateway sends Abort for a bad first message, and device A's retained state names the real reason."""
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from hostile import CSM_VALID, HostileServer, StallProbe  # noqa: E402
from lpwtest import (Broker, Collector, Daemon, DeviceSim, TestServer, Workdir, config_text,  # noqa: E402
                     free_port, run_tests)

LPWAGW, SERVER, DEVSIM = sys.argv[1:4]
STALL_LIMIT = float(os.environ.get("LPW_STALL_LIMIT_MS", "100")) / 1000
STATE = "lpwtest/gw-test/devices/dev-a"


def gateway(work, hostile_uri, good_port, broker, csm_timeout=2, extra_dev="", reconnect=(1, 1)):
    sgi = free_port(socket.SOCK_DGRAM)
    extra = f"""upstream: {{ reconnect_min = {reconnect[0]}; reconnect_max = {reconnect[1]}; csm_timeout = {csm_timeout}; }};
servers = ( {{ name = "hostile"; uri = "{hostile_uri}"; }}, {{ name = "good"; uri = "coap+tcp://127.0.0.1:{good_port}"; }} );
devices = ( {{ id = "dev-a"; binding = "nidd-sgi"; ip = "127.0.0.2"; servers = [ "hostile" ]; {extra_dev} }},
            {{ id = "dev-b"; binding = "nidd-sgi"; ip = "127.0.0.3"; servers = [ "good" ]; }},
            {{ id = "probe"; binding = "nidd-sgi"; ip = "127.0.0.9"; servers = [ "good" ]; }} );
bindings: {{ nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi}; }}; }};
"""
    text = config_text(state_dir=os.path.join(work.path, "state"), mqtt_port=broker.port, extra=extra)
    d = Daemon(LPWAGW, work, work.file("gw.conf", text)).start()
    d.wait_log("started")
    return d, sgi


def register_a(sgi):
    """Device A's Register (CON POST /rd?ep=a): what makes the gateway open A's upstream session."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.2", 0))
    s.sendto(bytes.fromhex("4202a0010101b2726448") + b"ep=dev-a", ("127.0.0.1", sgi))
    s.close()


class Reader:
    """Reads device B's /3/0/0 over and over through the real server; keeps the worst latency."""

    def __init__(self, server):
        self.server, self.worst, self.count, self.failures = server, 0.0, 0, []
        self.running = True
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while self.running:
            t0 = time.monotonic()
            r = self.server.request("read ep-b /3/0/0", timeout=10)
            dt = time.monotonic() - t0
            if r.get("code") != "2.05":
                self.failures.append(r)
            self.worst = max(self.worst, dt)
            self.count += 1
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.t.join(15)


def setup(name, scenarios, tls=None, uri_scheme="coap+tcp", extra_dev="", reconnect=(1, 1), events=None, uri=None):
    work = Workdir(name)
    broker = Broker(work).start()
    states = Collector(broker, STATE)
    if events is not None:
        events.append(Collector(broker, "lpwtest/gw-test/events"))
    good = TestServer(SERVER)
    hostile = HostileServer(scenarios, tls)
    d, sgi = gateway(work, uri or f"{uri_scheme}://127.0.0.1:{hostile.port}", good.tcp, broker,
                     extra_dev=extra_dev, reconnect=reconnect)
    dev_b = DeviceSim(DEVSIM, sgi, bind="127.0.0.3", endpoint="ep-b", extra=["--lifetime", "60"])
    good.wait({"event": "register", "ep": "ep-b"}, 15, "device B registered")
    dev_b.wait({"event": "registered"}, 10)
    probe = StallProbe(sgi)
    reader = Reader(good)
    register_a(sgi)
    d.sgi = sgi
    return d, hostile, states, probe, reader


def wait_reason(states, text, after, timeout=10):
    """A state of device A, published after `after` messages, whose reason contains text."""
    def pred(t, j):
        return isinstance(j, dict) and text in j["servers"]["hostile"]["reason"]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for t, p in list(states.msgs)[after:]:
            try:
                j = json.loads(p)
            except ValueError:
                continue
            if pred(t, j):
                return j
        time.sleep(0.05)
    reasons = []
    for _, p in list(states.msgs)[after:]:
        try:
            reasons.append(json.loads(p)["servers"]["hostile"]["reason"])
        except (ValueError, KeyError):
            pass
    raise AssertionError(f"no state with reason '{text}' (saw {reasons})")


def wait_up(states, after, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for _, p in list(states.msgs)[after:]:
            try:
                if json.loads(p)["servers"]["hostile"]["upstream"] == "up":
                    return
            except (ValueError, KeyError):
                pass
        time.sleep(0.05)
    raise AssertionError("device A's session never came up")


def finish(d, probe, reader):
    worst_probe = probe.stop()
    reader.stop()
    print(f"loop stall probe: worst {worst_probe * 1000:.1f} ms over {probe.count} pings; "
          f"device B reads: worst {reader.worst * 1000:.1f} ms over {reader.count}", flush=True)
    assert d.alive(), "the gateway died"
    assert not reader.failures, reader.failures[:3]
    assert reader.count > 10, reader.count
    assert worst_probe < STALL_LIMIT, f"the loop stalled {worst_probe * 1000:.0f} ms"
    assert reader.worst < STALL_LIMIT, f"a read of device B took {reader.worst * 1000:.0f} ms"


def send(data, then=None):
    def play(c):
        c.send(data)
        if then:
            then(c)
        c.wait_closed(30)
    return play


def drip(data, gap):
    def play(c):
        for b in data:
            c.send(bytes([b]))
            time.sleep(gap)
        c.wait_closed(30)
    return play


# --- issue 16 item 1: the report's bytes ---------------------------------------------------------------------

def test_requests_before_csm():
    """Two GETs 0.3 s apart before any CSM (the report): libcoap 4.3.1 aborted in coap_client_delay_first; one
    GET froze the loop 5 s. Now: an Abort signal, a close with the reason, a back-off, and no stall."""
    def two_gets(c):
        c.send(bytes.fromhex("210101b133"))
        time.sleep(0.3)
        c.send(bytes.fromhex("210102b133"))
        c.wait_closed(30)
    d, hostile, states, probe, reader = setup("hostile-gets", [two_gets, send(bytes.fromhex("210101b133"))])
    for k in range(3):
        c = hostile.wait_conn(k, 10)
        assert c.wait_closed(5), f"connection {k}: the gateway did not close it"
        assert c.got_abort(), f"connection {k}: no Abort signal, got {c.received.hex()}"
    wait_reason(states, "the server's first message is 0.01 GET, not a CSM", 0)
    finish(d, probe, reader)


# --- issue 16 item 1: whatever a server sends ----------------------------------------------------------------

def test_hostile_sequences():
    scenarios = [
        # (scenario, reason of device A's state, Abort expected)
        (send(b"\xffGARBAGE" + bytes(range(256))), "first message is 2.01, not a CSM", True),
        (send(bytes.fromhex("f0ffffffffe1")), "the server's CSM is 4295033106 bytes", True),
        (send(bytes.fromhex("90e1280102030405060708")), "Max-Message-Size is longer than 4 bytes (option 2)", True),
        (send(bytes.fromhex("10e110")), "unknown critical option (option 1)", True),
        (send(bytes.fromhex("00e2")), "first message is 7.02 Ping", True),
        (send(bytes.fromhex("00e4")), "first message is 7.04 Release", True),
        (send(bytes.fromhex("00e5")), "first message is 7.05 Abort", True),
        (send(bytes.fromhex("0045")), "first message is 2.05", True),
        (send(bytes.fromhex("40e122")), "no CSM from the server within 2 s", True),  # a partial frame, then silence
        (send(bytes.fromhex("f0")), "no CSM from the server within 2 s", True),  # a partial length field
        (drip(bytes.fromhex("210101b133"), 0.05), "first message is 0.01 GET", True),  # slow drip of a request
        (lambda c: c.sock.shutdown(socket.SHUT_RDWR), "connection closed by the server", False),
    ]
    d, hostile, states, probe, reader = setup("hostile-seq", [s for s, _, _ in scenarios] + [send(b"")])
    for k, (_, reason, abort) in enumerate(scenarios):
        mark = len(states.msgs)
        c = hostile.wait_conn(k, 15)
        assert c.wait_closed(8) or not abort, f"scenario {k}: the gateway kept the connection"
        wait_reason(states, reason, mark)
        if abort:
            assert c.got_abort(), f"scenario {k}: no Abort, got {c.received.hex()}"
    finish(d, probe, reader)


def test_valid_but_odd():
    """What RFC 8323 allows must still work: a CSM dripped byte by byte, a CSM and a request in one segment."""
    def drip_then_hold(c):
        for b in CSM_VALID:
            c.send(bytes([b]))
            time.sleep(0.1)
        c.wait_closed(30)

    def csm_and_request(c):
        c.send(CSM_VALID + bytes.fromhex("210101b133"))
        c.wait_closed(30)
    d, hostile, states, probe, reader = setup("hostile-odd", [drip_then_hold, csm_and_request])
    hostile.wait_conn(0, 10)
    wait_up(states, 0)
    finish(d, probe, reader)


# --- issue 16 item 6: the real reasons -----------------------------------------------------------------------

def test_reasons():
    """A CSM timeout, an invalid CSM and oversize messages were all "connection closed by the server"."""
    def oversize_header(c):  # after a valid CSM: a message whose length field says 9 MB
        c.send(CSM_VALID)
        time.sleep(0.5)
        c.send(bytes([0xf0]) + (9_000_000 - 65805).to_bytes(4, "big") + bytes([0x02]))
        c.wait_closed(30)

    def above_mms(c):  # after a valid CSM: a 2000-byte POST, above the 1152 we advertise
        c.send(CSM_VALID)
        time.sleep(0.5)
        body = b"\xff" + b"x" * 1999
        c.send(bytes([0xe1]) + (len(body) - 269).to_bytes(2, "big") + bytes([0x02, 0x07]) + body)
        c.wait_closed(30)
    cases = [
        (send(b""), "closed by the gateway: no CSM from the server within 2 s"),
        (send(bytes.fromhex("10e1f0")), "invalid CSM from the server: reserved option nibble 15"),
        (oversize_header, "closed by the gateway: the server sent a message longer than libcoap takes"),
        (above_mms, "closed by the gateway: the server sent a message above the Max-Message-Size we advertised"),
    ]
    d, hostile, states, probe, reader = setup("hostile-reasons", [s for s, _ in cases] + [send(b"")])
    for k, (_, reason) in enumerate(cases):
        mark = len(states.msgs)
        hostile.wait_conn(k, 15)
        wait_reason(states, reason, mark)
    assert "connection closed by the server" not in "".join(p for _, p in states.msgs)
    finish(d, probe, reader)


# --- issue 16 item 7: a back-off that grows -----------------------------------------------------------------

def test_backoff_grows():
    """A server that sends a valid CSM and drops the session right after: the back-off used to reset on every
    CSM (a reconnect every second forever). Now it grows (reconnect_min 1 s, doubling with jitter in
    [cap/2, cap], up to reconnect_max 8 s), because a session must stay up LPW_UPLINK_STABLE_MS to reset it."""
    def csm_then_close(c):
        c.send(CSM_VALID)
        time.sleep(0.2)
        c.sock.shutdown(socket.SHUT_RDWR)
    d, hostile, states, probe, reader = setup("hostile-backoff", [csm_then_close], reconnect=(1, 8))
    conns = [hostile.wait_conn(k, 20) for k in range(5)]
    for c in conns[:4]:
        assert c.wait_closed(5)
    gaps = [b.accepted_at - a.closed_at for a, b in zip(conns, conns[1:])]
    print("reconnect gaps after each drop: " + ", ".join(f"{g:.2f} s" for g in gaps), flush=True)
    assert gaps[0] < 1.6, gaps                   # attempt 0: reconnect_min
    assert gaps[2] >= 1.8, gaps                  # attempt 2: [2, 4] s
    assert gaps[3] >= 3.8, gaps                  # attempt 3: [4, 8] s
    wait_reason(states, "connection closed by the server", 0)
    finish(d, probe, reader)


# --- issue 10 item 12: handshakes that keep failing -----------------------------------------------------------

def test_handshake_failing():
    """A TLS server that answers every ClientHello with a handshake_failure alert (what OpenSSL servers send for
    an unknown PSK identity): a "retry" alert in LwM2M 1.1.1 §5.2.9, so the gateway retries; after
    LPW_UPLINK_SUSPECT_FAILURES (5) in a row with unchanged credentials it raises upstream-handshake-failing,
    says so in the device's state, and keeps retrying at reconnect_max."""
    alert = bytes.fromhex("15030300020228")  # TLS alert record: fatal (2), handshake_failure (40)

    def refuse(c):
        end = time.monotonic() + 5
        while not c.received and time.monotonic() < end:  # the ClientHello
            time.sleep(0.01)
        c.send(alert)
        time.sleep(0.05)
        c.sock.shutdown(socket.SHUT_RDWR)
    events = []
    d, hostile, states, probe, reader = setup("hostile-handshake", [refuse], uri_scheme="coaps+tcp",
                                              extra_dev='psk_identity = "nobody"; psk_key = "00112233";',
                                              reconnect=(1, 1), events=events)
    e = events[0].wait(lambda t, j: isinstance(j, dict) and j.get("type") == "upstream-handshake-failing", 30,
                       "upstream-handshake-failing event")[1]
    assert e.get("device") == "dev-a", e
    assert "5 TLS handshakes in a row failed" in json.dumps(e), e
    assert len(hostile.conns) >= 5, len(hostile.conns)
    wait_reason(states, "credentials suspect", 0)
    n = len(hostile.conns)
    hostile.wait_conn(n, 10)  # still retrying
    finish(d, probe, reader)


# --- issue 10 item 7: device requests while no upstream session exists ----------------------------------------

def coap_options(msg):
    """{number: [value bytes]} of a CoAP-over-UDP message (RFC 7252 §3.1)."""
    i, num, out = 4 + (msg[0] & 15), 0, {}
    while i < len(msg) and msg[i] != 0xff:
        d, ln = msg[i] >> 4, msg[i] & 15
        i += 1
        vals = []
        for nib in (d, ln):
            if nib == 13:
                nib, i = msg[i] + 13, i + 1
            elif nib == 14:
                nib, i = int.from_bytes(msg[i:i + 2], "big") + 269, i + 2
            vals.append(nib)
        num += vals[0]
        out.setdefault(num, []).append(msg[i:i + vals[1]])
        i += vals[1]
    return out


def test_outage_answered():
    """The server is unreachable: the device's CON Register is answered at once with 5.03 and a Max-Age (it was
    met with silence, and forwarded 115 s later on reconnect). RFC 7252 §5.9.3.4, §5.10.5."""
    d, hostile, states, probe, reader = setup("outage", [send(b"")], uri=f"coap+tcp://127.0.0.1:{free_port()}",
                                              reconnect=(3, 3))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.2", 0))
    s.settimeout(5)
    for k, mid in enumerate((0xb001, 0xb002)):
        t0 = time.monotonic()
        s.sendto(bytes([0x41, 0x02, mid >> 8, mid & 0xff, 0x30 + k, 0xb2]) + b"rd" + bytes([0x48]) + b"ep=dev-a",
                 ("127.0.0.1", d.sgi))
        while True:
            msg, _ = s.recvfrom(2048)  # socket.timeout: never answered
            if msg[2:4] == bytes([mid >> 8, mid & 0xff]):
                break
        dt = time.monotonic() - t0
        assert msg[0] >> 4 & 3 == 2 and msg[1] == 0xa3, f"not an ACK 5.03: {msg.hex()}"  # ACK, 5.03
        assert msg[4:5] == bytes([0x30 + k]), msg.hex()
        age = coap_options(msg).get(14)
        assert age and 1 <= int.from_bytes(age[0], "big") <= 3, f"Max-Age {age} in {msg.hex()}"
        assert dt < 1.0, f"answered after {dt:.2f} s"
        print(f"request {k}: 5.03 Max-Age {int.from_bytes(age[0], 'big')} s after {dt * 1000:.0f} ms", flush=True)
        time.sleep(0.3)
    s.close()
    finish(d, probe, reader)


# --- the same over TLS ---------------------------------------------------------------------------------------

def tls_context(work, max_version):
    key, crt = os.path.join(work.path, "h.key"), os.path.join(work.path, "h.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=hostile"], check=True,
                   capture_output=True, timeout=30)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = max_version
    ctx.load_cert_chain(crt, key)
    return ctx


def test_tls_requests_before_csm():
    """Over TLS the first message arrives decrypted inside libcoap: the guard's read gate must hold it back, also
    when it follows the server's Finished in the same flight (TLS 1.2: the server sends right after its Finished).
    A CSM split over two TLS records cannot be checked and is refused; a whole one works."""
    work = Workdir("hostile-tls-certs")
    key = os.path.join(work.path, "c.key")
    crt = os.path.join(work.path, "c.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=dev-a"], check=True, capture_output=True,
                   timeout=30)
    os.chmod(key, 0o600)

    def split_csm(c):
        c.send(CSM_VALID[:3])
        time.sleep(0.2)
        c.send(CSM_VALID[3:])
        c.wait_closed(30)

    def two_gets(c):
        c.send(bytes.fromhex("210101b133"))
        time.sleep(0.3)
        c.send(bytes.fromhex("210102b133"))
        c.wait_closed(30)
    scenarios = [send(bytes.fromhex("210101b133")), two_gets, split_csm, send(CSM_VALID)]
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = tls_context(work, version)
        d, hostile, states, probe, reader = setup(f"hostile-tls-{version.name}", scenarios, tls=ctx,
                                                  uri_scheme="coaps+tcp",
                                                  extra_dev=f'cert_file = "{crt}"; key_file = "{key}";')
        for k in range(2):
            c = hostile.wait_conn(k, 15)
            assert c.wait_closed(5), f"{version.name} connection {k}: not closed"
        wait_reason(states, "the server's first message is 0.01 GET, not a CSM", 0)
        mark = len(states.msgs)
        hostile.wait_conn(2, 15)
        wait_reason(states, "CSM does not fit its first TLS record", mark)
        hostile.wait_conn(3, 15)
        wait_up(states, mark)
        finish(d, probe, reader)
        d.stop()
        hostile.close()


if __name__ == "__main__":
    run_tests([test_requests_before_csm, test_hostile_sequences, test_valid_but_odd, test_reasons,
               test_backoff_grows, test_handshake_failing, test_outage_answered, test_tls_requests_before_csm])
