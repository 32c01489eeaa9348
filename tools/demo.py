"""The demo: the example configuration with free ports, a local mosquitto, the test LwM2M server (and a bootstrap
server), lpwagw, and device-sim playing the example's two NIDD devices. Prints what the server sees and the
gateway's telemetry."""
import json
import os
import re
import signal
import socket
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from lpwtest import Broker, Collector, Daemon, DeviceSim, LineProc, TestServer, Workdir, free_port  # noqa: E402

APPKEY = "2B7E151628AED2A6ABF7158809CF4F3C"  # demo key for the simulated LoRaWAN device

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
    # the example's commented-out LoRaWAN device, switched on with an inline key, and the LoRaWAN binding
    lora = free_port(socket.SOCK_DGRAM)
    block = re.search(r"\t# ,\{\n(?:\t#.*\n)*?\t# \}\n", conf).group(0)
    device = re.sub(r"^\t# ?", "\t", block, flags=re.M).replace("\t,{", "\t,{", 1)
    device = device.replace('app_key_file = "keys/lora-1.appkey";', f'app_key = "{APPKEY}";')
    conf = conf.replace(block, device)
    conf = conf.replace("""		enabled = false;           # default false
		listen = "0.0.0.0";        # address to bind; default "0.0.0.0"
		port = 1700;""", f"""		enabled = true;
		listen = "127.0.0.1";
		port = {lora};""")
    cfg = work.file("lpwagw.conf", conf)
    say(f"== lpwagw demo: config {cfg} (the example, with free ports) ==")
    say(f"   MQTT broker 127.0.0.1:{broker.port}, LwM2M server coap+tcp://127.0.0.1:{server.tcp}, SGi UDP {sgi}, "
        f"LoRaWAN packet forwarders UDP {lora}")
    telemetry = Collector(broker, "lpwagw/gw-01/#")
    gw = Daemon(os.path.join(build, "gateway/lpwagw"), work, cfg).start()
    gw.wait_log("started")
    devsim = os.path.join(build, "tools/device-sim/device-sim")
    devices = [DeviceSim(devsim, sgi, bind="127.0.0.2", endpoint="urn:dev:1",
                         extra=["--lifetime", "60", "--notify-interval", "2"]),
               DeviceSim(devsim, sgi, bind="127.0.0.3", endpoint="urn:dev:2",
                         extra=["--lifetime", "60", "--notify-interval", "2", "--notify-type", "non"])]
    LineProc([os.path.join(build, "tools/lorawan-sim/lorawan-sim"), "--server", f"127.0.0.1:{lora}", "--otaa",
              "--deveui-base", "70B3D57ED0001234", "--joineui", "70B3D57ED0000000", "--appkey", APPKEY,
              "--fport", "1", "--uplink-interval", "2", "--poll-interval", "3", "--no-objects", "--quiet"], "lorawan")
    say("lorawan-sim: one OTAA device (DevEUI 70B3D57ED0001234) behind a simulated packet forwarder")
    for ep in ("urn:dev:1", "urn:dev:2", "70B3D57ED0001234"):
        reg = server.wait({"event": "register", "ep": ep}, 30, f"{ep} to register")
        say(f"server: {ep} registered at {reg['location']} lifetime {reg['lt']} s objects {reg['objects']}")
    for ep in ("urn:dev:1", "urn:dev:2", "70B3D57ED0001234"):
        r = server.request(f"read {ep} /3/0/0", 30)
        say(f"server: read {ep} /3/0/0 (manufacturer) -> {r['code']} {r.get('payload')!r}")
        r = server.request(f"write {ep} /3/0/14 text +01:00", 30)
        say(f"server: write {ep} /3/0/14 (UTC offset) -> {r['code']}")
        r = server.request(f"observe {ep} /3303/0/5700", 30)
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
                up, down = j["messages"]["up"], j["messages"]["down"]
                say(f"mqtt {leaf}: uptime {j['uptime']} s, messages up/down: nidd-sgi {up['nidd-sgi']}/"
                    f"{down['nidd-sgi']}, lorawan {up['lorawan']}/{down['lorawan']}; upstream up {j['upstream']['up']}")
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
