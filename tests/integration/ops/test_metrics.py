"""The Prometheus endpoint (issue 14 item 5): off by default; when on, GET /metrics parses as the text exposition
format (every family with # HELP and # TYPE before its samples, samples of a family together, counters named
..._total, valid names and labels) and its values are those of the MQTT stats payload of the same moment, checked
against a real mosquitto broker after traffic that moves the counters (datagrams from an unknown address and
malformed ones)."""
import json
import os
import re
import socket
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import Broker, Collector, Daemon, Workdir, config_text, free_port, run_tests, wait_for  # noqa: E402

LPWAGW = sys.argv[1]
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
SAMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')

# What the MQTT stats payload's members are called in Prometheus (docs/telemetry.md lists the same mapping).
CORE = {
    ("uptime",): "lpwagw_uptime_seconds", ("devices", "known"): "lpwagw_devices_known",
    ("devices", "reachable"): "lpwagw_devices_reachable", ("upstream", "up"): "lpwagw_upstream_sessions_up",
    ("upstream", "down"): "lpwagw_upstream_sessions_down",
    ("upstream", "reconnects"): "lpwagw_upstream_reconnects_total", ("queue_depth",): "lpwagw_queue_depth",
    ("dropped", "unknown_device"): "lpwagw_dropped_unknown_device_total",
    ("dropped", "malformed"): "lpwagw_dropped_malformed_total", ("duplicates",): "lpwagw_duplicates_total",
    ("errors",): "lpwagw_errors_total", ("telemetry_dropped",): "lpwagw_telemetry_dropped_total",
    ("suppressed", "log"): "lpwagw_log_lines_suppressed_total",
    ("suppressed", "events"): "lpwagw_events_suppressed_total",
}


def parse(text):
    """{family: {"type", "help", "samples": {(name, labels tuple): value}}}; asserts the format's rules."""
    fams, current, seen_done = {}, None, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            assert NAME.match(name) and name not in fams, line
            if current:
                seen_done.add(current)
            current = name
            fams[name] = {"help": help_, "type": None, "samples": {}}
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert name == current and typ in ("counter", "gauge", "untyped"), line
            fams[name]["type"] = typ
        else:
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            name, labels, value = m.group(1), m.group(3) or "", m.group(4)
            assert name == current and fams[name]["type"], f"sample outside its family: {line!r}"
            pairs = tuple((k, v) for k, v, _ in LABEL.findall(labels))
            assert ",".join(f'{k}="{v}"' for k, v in pairs) == labels, line
            fams[name]["samples"][(name, pairs)] = float(value)
    for name, f in fams.items():
        assert f["type"] and f["samples"], name
        assert (f["type"] == "counter") == name.endswith("_total"), f"counter naming: {name} is {f['type']}"
    return fams


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
        return r.read().decode()


def expected(stats):
    """The samples the mapping gives for the gateway-wide members of one MQTT stats payload."""
    want = {}
    for path, name in CORE.items():
        v = stats
        for p in path:
            v = v[p]
        want[(name, ())] = float(v)
    for d in ("up", "down"):
        for b, n in stats["messages"][d].items():
            want[(f"lpwagw_messages_{d}_total", (("binding", b),))] = float(n)
    return want


def start(work, metrics):
    broker = Broker(work).start()
    sgi = free_port(socket.SOCK_DGRAM)
    extra = f"""servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:9"; }} );
devices = ( {{ id = "dev-1"; binding = "nidd-sgi"; ip = "127.0.0.2"; server = "lwm2m"; }} );
bindings: {{ nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi}; }}; }};
{metrics}
"""
    cfg = work.file("gw.conf", config_text(state_dir=os.path.join(work.path, "state"), mqtt_port=broker.port,
                                           extra=extra))
    d = Daemon(LPWAGW, work, cfg).start()
    d.wait_log("started")
    return broker, d, sgi


def test_off_by_default():
    work = Workdir("metrics-off")
    port = free_port()
    _, d, _ = start(work, f"metrics: {{ port = {port}; }};")  # a port, but not enabled
    d.wait_log("lpwagw")
    try:
        scrape(port)
        raise AssertionError("the endpoint answered without metrics.enabled")
    except urllib.error.URLError as e:
        assert isinstance(e.reason, ConnectionRefusedError), e
    assert "Prometheus metrics on" not in d.log()


def test_scrape_matches_mqtt_stats():
    work = Workdir("metrics")
    port = free_port()
    broker, d, sgi = start(work, f'metrics: {{ enabled = true; listen = "127.0.0.1"; port = {port}; }};')
    stats_topic = "lpwtest/gw-test/stats"
    col = Collector(broker, stats_topic)
    for src, payload in (("127.0.0.3", b"\x40\x01\x00\x01"), ("127.0.0.3", b"\x40\x01\x00\x02"),
                         ("127.0.0.2", b"\xff\xff")):  # two from nobody, one malformed from dev-1
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.sendto(payload, ("127.0.0.1", sgi))
        s.close()
    col.wait(lambda t, j: isinstance(j, dict) and j["dropped"]["unknown_device"] == 2
             and j["dropped"]["malformed"] >= 1, 10, "the drops in the MQTT stats")
    # nothing moves any more but uptime: the next stats message and a scrape right after it must agree
    n = len(col.msgs)
    wait_for(lambda: len(col.msgs) > n, 5, "the next stats message")
    stats = json.loads(col.msgs[-1][1])
    fams = parse(scrape(port))
    got = {k: v for f in fams.values() for k, v in f["samples"].items()}
    want = expected(stats)
    for k, v in want.items():
        if k[0] == "lpwagw_uptime_seconds":
            assert abs(got[k] - v) <= 3, (k, got[k], v)
        else:
            assert got.get(k) == v, (k, got.get(k), v)
    assert fams["lpwagw_dropped_unknown_device_total"]["type"] == "counter"
    assert fams["lpwagw_devices_known"]["type"] == "gauge" and got[("lpwagw_devices_known", ())] == 1
    assert got[("lpwagw_messages_up_total", (("binding", "nidd-sgi"),))] == stats["messages"]["up"]["nidd-sgi"]
    # every member of the payload shows up: nothing of the MQTT stats is missing from the scrape
    names = {k[0] for k in got}
    assert set(CORE.values()) <= names, set(CORE.values()) - names
    try:
        scrape(port, "/other")
        raise AssertionError("/other answered")
    except urllib.error.HTTPError as e:
        assert e.code == 404
    assert d.alive()


if __name__ == "__main__":
    run_tests([test_off_by_default, test_scrape_matches_mqtt_stats])
