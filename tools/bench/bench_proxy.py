"""Benchmark: N simulated NIDD devices through lpwagw to the test LwM2M server on loopback. Prints how long the
registration storm takes, the gateway's memory per device, and server-read round trips (rate and latency
percentiles). Figures only: nothing here passes or fails on time.
Usage: bench_proxy.py BUILD_DIR [devices] [reads]"""
import os
import socket
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from lpwtest import Daemon, LineProc, TestServer, Workdir, config_text, free_port, wait_for  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100 * len(v)))]


def main():
    build = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    reads = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    work = Workdir("bench")
    server = TestServer(os.path.join(build, "tools/lwm2m-test-server/lwm2m-test-server"))
    sgi = free_port(socket.SOCK_DGRAM)
    devices = [f'{{ id = "d{i}"; binding = "nidd-sgi"; ip = "127.{(2 + i) // 65536}.{(2 + i) // 256 % 256}.{(2 + i) % 256}"; '
               f'server = "lwm2m"; }}' for i in range(count)]
    extra = f"""servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{server.tcp}"; }} );
devices = ( {", ".join(devices)} );
bindings: {{ nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi}; }}; }};
"""
    text = config_text(state_dir=os.path.join(work.path, "state"), extra=extra, log_level="notice")
    cfg = work.file("gw.conf", text.replace("enabled = true; host", "enabled = false; host"))
    gw = Daemon(os.path.join(build, "gateway/lpwagw"), work, cfg).start()
    gw.wait_log("started")  # the SGi socket is bound: no Register is lost to a port not yet open
    rss0 = rss_kib(gw.proc.pid)
    t0 = time.monotonic()
    LineProc([os.path.join(build, "tools/device-sim/device-sim"), "--link", "udp", "--gateway", f"127.0.0.1:{sgi}",
              "--bind", "127.0.0.2", "--endpoint", "ep", "--count", str(count), "--lifetime", "3600", "--quiet"],
             "devices")
    wait_for(lambda: sum(1 for e in server.events if e.get("event") == "register") >= count, 120, "registrations")
    t_reg = time.monotonic() - t0
    rss1 = rss_kib(gw.proc.pid)
    lat = []
    t1 = time.monotonic()
    for i in range(reads):
        t = time.monotonic()
        r = server.request(f"read ep-{i % count} /3/0/0")
        assert r.get("code") == "2.05", r
        lat.append(time.monotonic() - t)
    t_reads = time.monotonic() - t1
    print(f"machine: {os.cpu_count()} cores; {count} devices, {reads} sequential reads")
    print(f"registration storm: {count} devices registered in {t_reg:.2f} s ({count / t_reg:.0f} registrations/s)")
    print(f"gateway RSS: {rss0} KiB idle, {rss1} KiB with {count} registered devices "
          f"({(rss1 - rss0) * 1024 / count:.0f} bytes per device, upstream TCP session included)")
    print(f"server reads through the gateway: {reads / t_reads:.0f} reads/s; latency p50 {pct(lat, 50) * 1000:.2f} ms, "
          f"p99 {pct(lat, 99) * 1000:.2f} ms, max {max(lat) * 1000:.2f} ms (test server and device-sim included)")
    gw.stop()


if __name__ == "__main__":
    main()
