"""The demo: the example configuration with free ports, a local mosquitto, the test LwM2M server (and a bootstrap
server), lpwagw, and device-sim playing the example's two NIDD devices. Prints what the server sees and the
gateway's telemetry."""
import json
import os
import re
import signal
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from lpwtest import Broker, Collector, Daemon, DeviceSim, TestServer, Workdir, free_port  # noqa: E402

build = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 0
stop = False


def on_signal(*_):
    global stop
    stop = True


signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGTERM, on_signal)


def say(text):
    print(text, flush=True)


def main():
    work = Workdir("demo")
    broker = Broker(work).start()
    server = TestServer(os.path.join(build, "tools/lwm2m-test-server/lwm2m-test-server"))
    bootstrap = TestServer(os.path.join(build, "tools/lwm2m-test-server/lwm2m-test-server"))
    sgi = free_port()
    with open(os.path.join(ROOT, "config/lpwagw.conf.example")) as f:
        conf = f.read()
    conf = conf.replace('state_dir = "/tmp/lpwagw-state"', f'state_dir = "{work.path}/state"')
    conf = re.sub(r"port = 1883;", f"port = {broker.port};", conf)
    conf = conf.replace("interval = 60;", "interval = 5;")
    conf = conf.replace("coap+tcp://127.0.0.1:5683", f"coap+tcp://127.0.0.1:{server.tcp}")
    conf = conf.replace("coap+tcp://127.0.0.1:5693", f"coap+tcp://127.0.0.1:{bootstrap.tcp}")
    conf = re.sub(r"port = 5685;", f"port = {sgi};", conf)
    conf = conf.replace('level = "info"', 'level = "notice"')
    cfg = work.file("lpwagw.conf", conf)
    say(f"== lpwagw demo: config {cfg} (the example, with free ports) ==")
    say(f"   MQTT broker 127.0.0.1:{broker.port}, LwM2M server coap+tcp://127.0.0.1:{server.tcp}, SGi UDP {sgi}")
    telemetry = Collector(broker, "lpwagw/gw-01/#")
    gw = Daemon(os.path.join(build, "gateway/lpwagw"), work, cfg).start()
    gw.wait_log("started")
    devsim = os.path.join(build, "tools/device-sim/device-sim")
    devices = [DeviceSim(devsim, sgi, bind="127.0.0.2", endpoint="urn:dev:1",
                         extra=["--lifetime", "60", "--notify-interval", "2"]),
               DeviceSim(devsim, sgi, bind="127.0.0.3", endpoint="urn:dev:2",
                         extra=["--lifetime", "60", "--notify-interval", "2", "--notify-type", "non"])]
    for ep in ("urn:dev:1", "urn:dev:2"):
        reg = server.wait({"event": "register", "ep": ep}, 20, f"{ep} to register")
        say(f"server: {ep} registered at {reg['location']} lifetime {reg['lt']} s objects {reg['objects']}")
    for ep in ("urn:dev:1", "urn:dev:2"):
        r = server.request(f"read {ep} /3/0/0")
        say(f"server: read {ep} /3/0/0 (manufacturer) -> {r['code']} {r.get('payload')!r}")
        r = server.request(f"write {ep} /3/0/14 text +01:00")
        say(f"server: write {ep} /3/0/14 (UTC offset) -> {r['code']}")
        r = server.request(f"observe {ep} /3303/0/5700")
        say(f"server: observe {ep} /3303/0/5700 (temperature) -> {r['code']} {r.get('payload')}")
    seen = server.mark()
    shown = 0
    started = time.monotonic()
    say("== notifications and telemetry (Ctrl-C to stop) ==")
    while not stop and (not seconds or time.monotonic() - started < seconds):
        for e in server.events[seen:]:
            if e.get("event") == "notify":
                say(f"server: notification #{e['observe']} from {e['ep']}: {e['payload']} Cel")
        seen = len(server.events)
        for topic, payload in telemetry.msgs[shown:]:
            leaf = topic.split("/", 2)[2]
            if leaf == "stats":
                j = json.loads(payload)
                say(f"mqtt {leaf}: uptime {j['uptime']} s, up {j['messages']['up']['nidd-sgi']}, "
                    f"down {j['messages']['down']['nidd-sgi']}, upstream up {j['upstream']['up']}")
            else:
                say(f"mqtt {leaf}: {payload}")
        shown = len(telemetry.msgs)
        time.sleep(0.5)
    say("== stopping ==")
    for d in devices:
        d.send("deregister")
    server.wait({"event": "deregister"}, 10)
    gw.stop()
    status = broker.retained("lpwagw/gw-01/status", lambda j: j["state"] == "offline", 5)
    say(f"mqtt status after stop: {json.dumps(status)}")


if __name__ == "__main__":
    main()
