"""The telemetry reference (issue 14 item 6): every message the daemon publishes on a real mosquitto broker (status
online and offline, stats with the LoRaWAN forwarders, events, device states) is checked against
docs/telemetry.schema.json, and every field the schema names is explained in docs/telemetry.md."""
import json
import os
import re
import signal
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import (Broker, Collector, Daemon, DeviceSim, LineProc, TestServer, Workdir, config_text,  # noqa: E402
                     free_port, run_tests, wait_for)

LPWAGW, SERVER, DEVSIM, LWSIM, SRC = sys.argv[1:6]
SCHEMA = json.load(open(os.path.join(SRC, "docs/telemetry.schema.json")))
DOC = open(os.path.join(SRC, "docs/telemetry.md")).read()
DEVEUI, JOINEUI, APPKEY = "70B3D57ED0000001", "70B3D57ED0000000", "2B7E151628AED2A6ABF7158809CF4F3C"


def resolve(s):
    while "$ref" in s:
        s = SCHEMA["$defs"][s["$ref"].split("/")[-1]]
    return s


def validate(v, s, where="$"):
    """The subset of JSON Schema the file uses (type, enum, pattern, minimum, properties, required,
    additionalProperties, patternProperties, $ref): a small checker, so that CI needs no extra Python package."""
    s = resolve(s)
    types = {"object": dict, "string": str, "boolean": bool, "array": list}
    t = s.get("type")
    if t == "integer":
        assert isinstance(v, int) and not isinstance(v, bool), f"{where}: {v!r} is not an integer"
    elif t:
        assert isinstance(v, types[t]), f"{where}: {v!r} is not {t}"
    if "enum" in s:
        assert v in s["enum"], f"{where}: {v!r} not in {s['enum']}"
    if "pattern" in s:
        assert re.search(s["pattern"], v), f"{where}: {v!r} does not match {s['pattern']}"
    if "minimum" in s:
        assert v >= s["minimum"], f"{where}: {v!r} < {s['minimum']}"
    if isinstance(v, dict):
        for r in s.get("required", []):
            assert r in v, f"{where}: {r} missing"
        for k, child in v.items():
            if k in s.get("properties", {}):
                validate(child, s["properties"][k], f"{where}.{k}")
                continue
            pats = [p for p in s.get("patternProperties", {}) if re.search(p, k)]
            if pats:
                validate(child, s["patternProperties"][pats[0]], f"{where}.{k}")
                continue
            extra = s.get("additionalProperties", True)
            assert extra is not False, f"{where}.{k}: published but not in docs/telemetry.schema.json"
            if isinstance(extra, dict):
                validate(child, extra, f"{where}.{k}")


def schema_for(leaf):
    for pattern, t in SCHEMA["topics"].items():
        if re.fullmatch(pattern.replace("+", "[^/]+"), leaf):
            return t
    raise AssertionError(f"topic leaf {leaf} is not in the schema")


def test_schema_is_json_schema():
    try:
        import jsonschema  # the real validator where it is installed; the checker above everywhere
    except ImportError:
        return
    for name in SCHEMA["$defs"]:
        jsonschema.Draft202012Validator.check_schema({"$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{name}"})


def test_every_field_documented():
    names = set()

    def collect(s):
        for k, child in s.get("properties", {}).items():
            names.add(k)
            collect(child)
    for d in SCHEMA["$defs"].values():
        collect(d)
    missing = sorted(n for n in names if f"`{n}" not in DOC and f".{n}`" not in DOC and f"{n}`" not in DOC)
    assert not missing, f"fields of the schema not explained in docs/telemetry.md: {missing}"


def test_published_messages_match():
    work = Workdir("telemetry-schema")
    broker = Broker(work).start()
    server = TestServer(SERVER)
    sgi, lw = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    extra = f"""upstream: {{ reconnect_min = 1; reconnect_max = 2; }};
servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{server.tcp}"; }} );
devices = ( {{ id = "dev-1"; binding = "nidd-sgi"; ip = "127.0.0.2"; server = "lwm2m"; }},
            {{ id = "lw-1"; binding = "lorawan"; dev_eui = "{DEVEUI}"; join_eui = "{JOINEUI}"; app_key = "{APPKEY}";
               server = "lwm2m"; fport = 1; objects = "</1/0>,</3/0>"; }} );
bindings: {{ nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi}; }};
            lorawan: {{ enabled = true; listen = "127.0.0.1"; port = {lw}; region = "EU868"; }}; }};
"""
    cfg = work.file("gw.conf", config_text(state_dir=os.path.join(work.path, "state"), mqtt_port=broker.port,
                                           extra=extra))
    prefix = "lpwtest/gw-test/"
    col = Collector(broker, prefix + "#")
    d = Daemon(LPWAGW, work, cfg).start()
    d.wait_log("started")
    DeviceSim(DEVSIM, sgi)
    LineProc([LWSIM, "--server", f"127.0.0.1:{lw}", "--otaa", "--deveui-base", DEVEUI, "--joineui", JOINEUI,
              "--appkey", APPKEY, "--fport", "1", "--uplink-interval", "1", "--poll-interval", "1", "--no-objects",
              "--keepalive", "1", "--control", "stdin", "--seed", "7"], "lorawan-sim")
    col.wait(lambda t, j: t == prefix + "devices/dev-1" and j["servers"]["lwm2m"]["registered"], 20, "dev-1 state")
    col.wait(lambda t, j: t == prefix + "devices/lw-1" and j["servers"]["lwm2m"]["registered"], 30, "lw-1 state")
    col.wait(lambda t, j: t == prefix + "stats" and j.get("forwarders", {}).get("by_eui"), 10, "forwarder stats")
    d.kill(signal.SIGHUP)  # an event: config-reloaded
    col.wait(lambda t, j: t == prefix + "events" and j["type"] == "config-reloaded", 10, "the reload event")
    d.stop()
    col.wait(lambda t, j: t == prefix + "status" and j["state"] == "offline", 10, "the offline status")
    seen = set()
    for topic, payload in list(col.msgs):
        assert topic.startswith(prefix), topic
        leaf = topic[len(prefix):]
        spec = schema_for(leaf)
        if payload == "":  # a cleared retained device topic
            assert spec["retained"], topic
            continue
        validate(json.loads(payload), spec["schema"], leaf)
        seen.add(re.sub(r"^devices/.*", "devices/+", leaf))
    assert seen == set(SCHEMA["topics"]), seen


if __name__ == "__main__":
    run_tests([test_schema_is_json_schema, test_every_field_documented, test_published_messages_match])
