"""Many devices at once (DESIGN.md decision 1: libcoap 4.3.1 nests its I/O loop on connecting sessions, which
kills naive proxies): N devices register in the same instant; every one must be registered upstream, and the
gateway must keep answering in the meantime (the loop never stalls)."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import Daemon, LineProc, TestServer, Workdir, config_text, free_port, run_tests, wait_for  # noqa: E402

LPWAGW, SERVER, DEVSIM = sys.argv[1:4]
COUNT = int(os.environ.get("LPW_MANY_DEVICES", "200"))


def ping_rtt(sgi):
    """A CoAP ping from an unknown address is dropped, so ping as device 0: RST must come back quickly."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.1.250", 0))
    s.settimeout(2)
    t = time.monotonic()
    s.sendto(bytes([0x40, 0x00, 0x12, 0x34]), ("127.0.0.1", sgi))
    try:
        data = s.recv(64)
    except socket.timeout:
        return None
    finally:
        s.close()
    assert data[:1] == b"\x70", data
    return time.monotonic() - t


def test_many_devices_at_once():
    work = Workdir("many")
    server = TestServer(SERVER)
    sgi = free_port(socket.SOCK_DGRAM)
    devices = [f'{{ id = "d{i}"; binding = "nidd-sgi"; ip = "127.0.{(2 + i) // 256}.{(2 + i) % 256}"; server = "lwm2m"; }}'
               for i in range(COUNT)]
    devices.append('{ id = "pinger"; binding = "nidd-sgi"; ip = "127.0.1.250"; server = "lwm2m"; }')
    extra = f"""servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{server.tcp}"; }} );
devices = ( {", ".join(devices)} );
bindings: {{ nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi}; }}; }};
"""
    text = config_text(state_dir=os.path.join(work.path, "state"), extra=extra, log_level="notice")
    cfg = work.file("gw.conf", text.replace("enabled = true; host", "enabled = false; host"))
    d = Daemon(LPWAGW, work, cfg).start()
    d.wait_log("started")
    start = time.monotonic()
    LineProc([DEVSIM, "--link", "udp", "--gateway", f"127.0.0.1:{sgi}", "--bind", "127.0.0.2", "--endpoint", "ep",
              "--count", str(COUNT), "--lifetime", "300", "--quiet"], "devices")
    rtts = []

    def all_registered():
        rtt = ping_rtt(sgi)
        assert rtt is not None, "the gateway did not answer a ping while devices were connecting"
        rtts.append(rtt)
        return len({e["ep"] for e in server.events if e.get("event") == "register"}) == COUNT
    wait_for(all_registered, 60, f"{COUNT} registrations")
    took = time.monotonic() - start
    print(f"{COUNT} devices registered through lpwagw in {took:.2f} s; ping RTT during the storm: "
          f"max {max(rtts) * 1000:.1f} ms over {len(rtts)} pings")
    assert d.alive()
    r = server.request(f"read ep-{COUNT - 1} /3/0/0")
    assert r["code"] == "2.05" and r["payload"] == "lpwagw", r


if __name__ == "__main__":
    run_tests([test_many_devices_at_once])
