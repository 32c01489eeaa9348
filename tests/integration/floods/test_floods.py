"""Floods from hostile peers against the real daemon (issue 16 items 3, 4, 5), with a real broker watching telemetry:
- 16 bogus packet forwarders polling from one host cannot keep a listed forwarder out: its device joins and
  registers through it while the flood goes on;
- garbage PUSH_DATA is counted (dropped.malformed and stats.forwarders.refused) instead of vanishing;
- a flood of malformed SGi datagrams (each making libcoap warn dozens of times) and a server hammering a sleeping
  device's full queue leave a bounded number of log lines and MQTT events, the next one saying how many similar
  ones were suppressed; the counters keep the totals."""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import (Broker, Collector, Daemon, DeviceSim, LineProc, TestServer, Workdir, config_text,  # noqa: E402
                     free_port, run_tests, wait_for)

LPWAGW, SERVER, LWSIM, DEVSIM = sys.argv[1:5]
GROUP = sys.argv[5] if len(sys.argv) > 5 else "all"  # forwarders, sgi or all
TOPIC = "lpwtest/gw-test"
REAL_EUI = "AA555A0000000001"
DEVEUI = "70B3D57ED0000001"
JOINEUI = "70B3D57ED0000000"
APPKEY = "2B7E151628AED2A6ABF7158809CF4F3C"
BURST, PERIOD = 5, 2  # log.rate_limit in these tests: 5 at once, then one per 2 s


def daemon(work, broker, extra, name="gw", log_level="info"):
    limit = f"rate_limit: {{ burst = {BURST}; lines = 1; period = {PERIOD}; }};"
    text = config_text(state_dir=os.path.join(work.path, f"state-{name}"), mqtt_port=broker.port, extra=extra,
                       log_level=log_level).replace('target = "stderr"; }', f'target = "stderr"; {limit} }}')
    d = Daemon(LPWAGW, work, work.file(f"{name}.conf", text)).start()
    d.wait_log("started")
    return d


def stats_where(collector, pred, timeout=10, what="stats"):
    return collector.wait(lambda t, j: t.endswith("/stats") and isinstance(j, dict) and pred(j), timeout, what)[1]


def lorawan_extra(server, port, listed):
    return f"""servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{server.tcp}"; }} );
devices = ( {{ id = "lw-1"; binding = "lorawan"; dev_eui = "{DEVEUI}"; join_eui = "{JOINEUI}"; app_key = "{APPKEY}";
              server = "lwm2m"; objects = "</1/0>,</3/0>"; }} );
bindings: {{ lorawan: {{ enabled = true; listen = "127.0.0.1"; port = {port}; forwarders = [ {listed} ]; }}; }};
"""


def pull_data(eui, token=1):
    return struct.pack(">BHB", 2, token, 2) + eui.to_bytes(8, "big")


class BogusForwarders:
    """16 forwarders with made-up EUIs, all from one socket, each sending PULL_DATA ten times a second."""

    def __init__(self, port, n=16):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.euis = [0xB0B0000000000000 + i for i in range(1, n + 1)]
        self.port = port
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            for eui in self.euis:
                self.sock.sendto(pull_data(eui), ("127.0.0.1", self.port))
            self.stop.wait(0.1)  # the pace of the attack, not a wait for a result

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def test_listed_forwarder_not_locked_out():
    """Issue 16.3: without the allow-list the simulated forwarder would find all 16 slots held by live bogus ones."""
    work = Workdir("floods-fwd")
    broker = Broker(work).start()
    stats = Collector(broker, f"{TOPIC}/stats")
    server = TestServer(SERVER)
    port = free_port(socket.SOCK_DGRAM)
    d = daemon(work, broker, lorawan_extra(server, port, f'"{REAL_EUI}"'))
    flood = BogusForwarders(port)
    start = time.monotonic()
    try:
        d.wait_log("forwarder b0b0000000000010 up", 10)  # the 16th bogus forwarder: every slot is taken
        sim = LineProc([LWSIM, "--server", f"127.0.0.1:{port}", "--gateway-eui", REAL_EUI, "--otaa",
                        "--deveui-base", DEVEUI, "--joineui", JOINEUI, "--appkey", APPKEY, "--fport", "1",
                        "--uplink-interval", "1", "--keepalive", "1", "--control", "stdin", "--seed", "3"],
                       "lorawan-sim")
        sim.wait({"event": "joined"}, 30, "the OTAA join through the listed forwarder")
        reg = server.wait({"event": "register"}, 30, "the Register upstream")
        assert reg["ep"] == DEVEUI, reg
        sim.wait({"event": "registered"}, 30, "2.01 back at the device")
        s = stats_where(stats, lambda j: j.get("forwarders", {}).get("refused", {}).get("table_full", 0) > 0
                        and REAL_EUI in j["forwarders"].get("by_eui", {}), 10, "forwarder stats")
        real = s["forwarders"]["by_eui"][REAL_EUI]
        assert real["listed"] and real["up"], real
        assert s["forwarders"]["evictions"] == 1, s["forwarders"]
        # the refusals are logged, rate-limited per forwarder: a burst, then one line per period
        lines = d.log().count("refused: all 16 slots are taken")
        allowed = BURST + int((time.monotonic() - start) / PERIOD) + 2
        assert 1 <= lines <= allowed, (lines, allowed)
        refused = stats_where(stats, lambda j: j["forwarders"]["refused"]["table_full"] > 2 * allowed, 10,
                              "the refusals counted")["forwarders"]["refused"]["table_full"]
        assert refused > lines, (refused, lines)
        assert d.alive()
    finally:
        flood.close()


def test_refused_forwarder_datagrams_counted():
    """Issue 16.5: every refused forwarder datagram is counted, by reason; malformed ones also in dropped.malformed."""
    work = Workdir("floods-push")
    broker = Broker(work).start()
    stats = Collector(broker, f"{TOPIC}/stats")
    server = TestServer(SERVER)
    port = free_port(socket.SOCK_DGRAM)
    d = daemon(work, broker, lorawan_extra(server, port, ""))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    n = 2000
    garbage = struct.pack(">BHB", 2, 7, 0) + bytes.fromhex("B0B0000000000001") + b'{"rxpk":"not an array"}'
    for _ in range(n):  # each is still acknowledged (the ack measures the path): wait for it, so none is lost
        s.sendto(garbage, ("127.0.0.1", port))
        assert s.recv(64)[3] == 1  # PUSH_ACK
    for _ in range(10):
        s.sendto(b"\x02\x00", ("127.0.0.1", port))  # no usable header: not acknowledged
    s.sendto(pull_data(0xB0B0000000000001), ("127.0.0.1", port))  # a well-formed one after them: all were read
    assert s.recv(64)[3] == 4  # PULL_ACK
    j = stats_where(stats, lambda j: j.get("forwarders", {}).get("pull_data", 0) >= 1, 10, "stats after the flood")
    assert j["dropped"]["malformed"] == n + 10, j["dropped"]
    assert j["forwarders"]["refused"]["malformed"] == n + 10, j["forwarders"]
    assert j["forwarders"]["datagrams"] == n + 11, j["forwarders"]
    assert j["forwarders"]["by_eui"]["B0B0000000000001"]["pull_data"] == 1, j["forwarders"]
    assert j["suppressed"]["log"] >= n, j["suppressed"]
    assert d.log().count("rejected:") <= BURST + 5, d.log().count("rejected:")
    assert d.alive()


SGI_EXTRA = """upstream: {{ reconnect_min = 1; reconnect_max = 2; queue_max = 1; }};
servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{tcp}"; }} );
devices = ( {{ id = "dev-1"; binding = "nidd-sgi"; ip = "127.0.0.2"; server = "lwm2m"; }} );
bindings: {{ nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi}; awake_time = 1; }}; }};
"""

# A CON with 60 If-None-Match options of length 1 (RFC 7252 §5.10: its length is 0): the proxy refuses it, and
# libcoap's parser warns once per option.
BAD_OPTIONS = b"\x40\x01\x12\x34" + b"\x51\x00" + b"\x01\x00" * 60


def test_sgi_malformed_flood():
    """Issue 16.4: 20 000 malformed datagrams from a device: a handful of log lines, the totals in telemetry."""
    work = Workdir("floods-sgi")
    broker = Broker(work).start()
    stats = Collector(broker, f"{TOPIC}/stats")
    server = TestServer(SERVER)
    sgi = free_port(socket.SOCK_DGRAM)
    d = daemon(work, broker, SGI_EXTRA.format(tcp=server.tcp, sgi=sgi))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.2", 0))
    s.settimeout(5)
    n = 20000
    start = time.monotonic()
    for i in range(n):  # a malformed CON is answered with RST: wait for it, so none is lost
        s.sendto(BAD_OPTIONS[:2] + struct.pack(">H", i & 0xFFFF) + BAD_OPTIONS[4:], ("127.0.0.1", sgi))
        assert s.recv(64)[0] >> 4 & 3 == 3  # RST
    elapsed = time.monotonic() - start
    j = stats_where(stats, lambda j: j["dropped"]["malformed"] >= n, 10, "stats counting every datagram")
    assert j["dropped"]["malformed"] == n, j["dropped"]
    log = d.log()
    # a burst, then one line per period (plus one for the period under way)
    allowed = BURST + int(elapsed / PERIOD) + 2
    malformed = log.count("dev-1: malformed CoAP message")
    libcoap = log.count("has bad length")
    assert malformed <= allowed, (malformed, allowed)
    assert libcoap <= allowed, (libcoap, allowed)  # without the limit: 60 per datagram
    assert j["suppressed"]["log"] >= n - malformed, j["suppressed"]
    # every datagram is accounted for: a line of its own, or counted in the "(N similar suppressed)" of the next
    # line. Probe (one more each time) until a new line goes out once the bucket has refilled, then add up.
    sent = [n]

    def told():
        s.sendto(BAD_OPTIONS, ("127.0.0.1", sgi))
        s.recv(64)
        sent[0] += 1
        lines = [ln for ln in d.log().splitlines() if "dev-1: malformed CoAP message" in ln]
        return lines if len(lines) > malformed and "similar suppressed)" in lines[-1] else None

    lines = wait_for(told, PERIOD + 5, "a line telling how many were suppressed")
    total = sum(1 + (int(ln.rsplit("(", 1)[1].split()[0]) if "similar suppressed)" in ln else 0) for ln in lines)
    assert total == sent[0], (total, sent[0], lines[-3:])
    assert d.alive()


def test_queue_full_flood():
    """Issue 16.4: 1000 server requests to a sleeping device with a full queue: every one is answered 5.03, but the
    WARN lines and the queue-full events stay few, and the next event says how many were suppressed."""
    work = Workdir("floods-queue")
    broker = Broker(work).start()
    events = Collector(broker, f"{TOPIC}/events")
    stats = Collector(broker, f"{TOPIC}/stats")
    server = TestServer(SERVER)
    sgi = free_port(socket.SOCK_DGRAM)
    d = daemon(work, broker, SGI_EXTRA.format(tcp=server.tcp, sgi=sgi))
    dev = DeviceSim(DEVSIM, sgi, extra=["--binding", "UQ", "--lifetime", "300"])
    server.wait({"event": "register", "ep": "ep1", "b": "UQ"}, 15)
    dev.wait({"event": "registered"}, 10)
    dev.send("sleep")
    time.sleep(1.5)  # past awake_time = 1 s: the device now sleeps, so requests queue
    n = 1000
    mark = server.mark()
    for _ in range(n + 1):  # the first fills the queue of 1, the next n are refused
        server.send("read ep1 /3/0/1")
    start = time.monotonic()
    wait_for(lambda: sum(1 for e in server.events[mark:] if e.get("event") == "response"
                         and e.get("code") == "5.03") >= n, 60, f"{n} answers 5.03")
    elapsed = time.monotonic() - start
    allowed = BURST + int(elapsed / PERIOD) + 2
    warn = d.log().count("queue full")
    full = [p for t, p in events.msgs if '"queue-full"' in p]
    assert warn <= allowed, (warn, allowed)
    assert 1 <= len(full) <= allowed, (len(full), allowed)
    j = stats_where(stats, lambda j: j["suppressed"]["events"] >= n - len(full) - 1, 10, "suppressed events")
    assert j["suppressed"]["log"] >= n - warn, j["suppressed"]
    time.sleep(PERIOD + 0.5)  # let the bucket refill: the assertion is about the event that follows
    server.send("read ep1 /3/0/1")
    t, e = events.wait(lambda t, j: isinstance(j, dict) and j.get("type") == "queue-full"
                       and "similar suppressed)" in j.get("detail", ""), 10, "an event telling the suppressed")
    assert e["device"] == "dev-1", e
    assert d.alive()


if __name__ == "__main__":
    groups = {"forwarders": [test_listed_forwarder_not_locked_out, test_refused_forwarder_datagrams_counted],
              "sgi": [test_sgi_malformed_flood, test_queue_full_flood]}
    run_tests(groups[GROUP] if GROUP in groups else groups["forwarders"] + groups["sgi"])
