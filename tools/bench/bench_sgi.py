"""Benchmark: SGi forwarding rate through lpwagw with N configured devices, closed loop (one CON in flight per
device, each device its own loopback address), to tools/bench's minimal CoAP-over-TCP responder over one
coap+tcp session per device. Prints one line per device count: rate, losses (with the kernel's UDP
receive-buffer drops), latency percentiles and the gateway's CPU time per forwarded request. Figures only.
Usage: bench_sgi.py BUILD_DIR [SECONDS] [DEVICES...]   (default: 5 s, 1000 and 10000 devices)"""
import json
import os
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from lpwtest import Daemon, Workdir, config_text, free_port, spawn, wait_for  # noqa: E402


def device_ip(i):
    """The address sgi-load gives device i."""
    return f"127.{i // 62500}.{i // 250 % 250}.{i % 250 + 2}"


def port_taken(port):
    """Whether a UDP socket is bound to port, read from /proc/net/udp: probing with bind() could take the port
    for an instant and make the gateway's own bind fail."""
    with open("/proc/net/udp") as f:
        return any(int(line.split()[1].split(":")[1], 16) == port for line in f.readlines()[1:])


def run(build, count, seconds):
    work = Workdir("bench-sgi")
    responder = spawn([os.path.join(build, "tools/bench/coap-tcp-responder")], stdout=subprocess.PIPE, text=True)
    port = json.loads(responder.stdout.readline())["listening"]
    sgi = free_port(socket.SOCK_DGRAM)
    devices = ",\n".join(f'{{ id = "d{i}"; binding = "nidd-sgi"; ip = "{device_ip(i)}"; server = "up"; }}'
                         for i in range(count))
    extra = f"""servers = ( {{ name = "up"; uri = "coap+tcp://127.0.0.1:{port}"; }} );
devices = ( {devices} );
bindings: {{ nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi}; }}; }};
"""
    text = config_text(state_dir=os.path.join(work.path, "state"), extra=extra, log_level="warning")
    cfg = work.file("gw.conf", text.replace("enabled = true; host", "enabled = false; host"))
    gw = Daemon(os.path.join(build, "gateway/lpwagw"), work, cfg).start()
    wait_for(lambda: port_taken(sgi), 120, "the gateway's SGi socket")  # log level warning: no "started" line
    out = subprocess.run([os.path.join(build, "tools/bench/sgi-load"), "--gateway", str(sgi), "--devices",
                          str(count), "--seconds", str(seconds), "--pid", str(gw.proc.pid)],
                         capture_output=True, text=True, timeout=seconds + 200)
    gw.stop()
    responder.kill()
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        sys.exit(f"sgi-load exited with {out.returncode}: {out.stderr.strip() or 'no message'}; "
                 f"gateway log: {work.path}")
    return json.loads(lines[-1])


def main():
    build = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    counts = [int(c) for c in sys.argv[3:]] or [1000, 10000]
    print(f"{'devices':>8} {'forwarded/s':>12} {'lost':>6} {'udp drops':>9} {'p50 µs':>7} {'p99 µs':>7} "
          f"{'p99.9 µs':>8} {'cpu µs/msg':>10}")
    results = []
    for n in counts:
        r = run(build, n, seconds)
        results.append(r)
        print(f"{r['devices']:>8} {r['rate']:>12.0f} {r['lost']:>6} {r['udp_rcvbuf_errors']:>9} {r['p50_us']:>7} "
              f"{r['p99_us']:>7} {r['p999_us']:>8} {r['cpu_us_per_msg']:>10.2f}", flush=True)
    if len(results) >= 2 and results[0]["rate"]:
        print(f"rate with {results[-1]['devices']} devices / rate with {results[0]['devices']}: "
              f"{results[-1]['rate'] / results[0]['rate']:.2f}")
    # a benchmark never fails on time, but a request the gateway lost is a defect
    sys.exit(1 if any(r["lost"] or not r["answered"] for r in results) else 0)


if __name__ == "__main__":
    main()
