"""LoRaWAN through ChirpStack v4 end to end with the real daemon: device-sim's LwM2M client behind
tools/chirpstack-sim (ChirpStack's MQTT integration on a real mosquitto broker) -> lpwagw (application server,
LwM2M App. C) -> lwm2m-test-server. Register, Read, Write, Observe through ChirpStack; a confirmed downlink the
device never gets (ack acknowledged false) is sent again per App. C.3.1.2; an unconfirmed one lost is sent again
after ACK_TIMEOUT (C.3.2.2); the broker restarting mid-exchange loses nothing; and a device of the embedded
network server (lorawan-sim behind a simulated packet forwarder) is served at the same time."""
import base64
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import (Broker, Daemon, DeviceSim, LineProc, TestServer, Workdir, config_text,  # noqa: E402
                     free_port, run_tests)

LPWAGW, SERVER, DEVSIM, LWSIM, CSSIM = sys.argv[1:6]
APP = "8e5a4f0c-1c2b-4d3e-9f60-0a1b2c3d4e5f"
CS_EUI = "A84041000181C061"
LW_EUI, JOINEUI, APPKEY = "70B3D57ED0000001", "70B3D57ED0000000", "2B7E151628AED2A6ABF7158809CF4F3C"
ACK_TIMEOUT = 4  # App. C ACK_TIMEOUT scaled down from 300 s


def start(work, name, confirmed=True, embedded=False, minimal=False):
    broker = Broker(work).start()
    server = TestServer(SERVER, tcp=0)
    pf_port = free_port(socket.SOCK_DGRAM)
    lw_dev = f"""{{ id = "lw-1"; binding = "lorawan"; dev_eui = "{LW_EUI}"; join_eui = "{JOINEUI}";
                 app_key = "{APPKEY}"; server = "lwm2m"; objects = "</1/0>,</3/0>,</3303/0>"; }},""" if embedded else ""
    extra = f"""upstream: {{ reconnect_min = 1; reconnect_max = 2; }};
servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{server.tcp}"; }} );
devices = ( {lw_dev}
            {{ id = "cs-1"; binding = "lorawan"; network = "chirpstack"; dev_eui = "{CS_EUI}"; server = "lwm2m";
              fport = 1; confirmed_downlinks = {"true" if confirmed else "false"}; }} );
bindings: {{ lorawan: {{ enabled = {"true" if embedded else "false"}; listen = "127.0.0.1"; port = {pf_port};
                         ack_timeout = {ACK_TIMEOUT}; max_retransmit = 4;
                         chirpstack: {{ enabled = true; host = "127.0.0.1"; port = {broker.port};
                                        application_id = "{APP}"; reconnect_min = 1; reconnect_max = 1; }}; }}; }};
"""
    text = config_text(state_dir=os.path.join(work.path, f"state-{name}"), mqtt_port=broker.port, extra=extra)
    d = Daemon(LPWAGW, work, work.file(f"{name}.conf", text)).start()
    d.wait_log("started")
    d.wait_log("chirpstack connected to the broker", 10)
    sim = LineProc(["python3", CSSIM, "--broker-port", str(broker.port), "--application-id", APP,
                    "--device", CS_EUI, "--poll-interval", "1"], "chirpstack-sim")
    port = sim.wait({"event": "listening"}, 10)["udp"]
    sim.wait({"event": "ready"}, 15)
    extra_dev = ["--register-minimal"] if minimal else ["--lifetime", "600"]
    dev = DeviceSim(DEVSIM, port, bind="127.0.0.3", endpoint="cs-ep", extra=extra_dev)
    return broker, server, d, sim, dev, pf_port


def registered(server, dev, timeout=40, ep="cs-ep"):
    reg = server.wait({"event": "register"}, timeout, "the Register through ChirpStack")
    assert reg["ep"] == ep, reg
    dev.wait({"event": "registered"}, timeout, "2.01 back at device-sim")
    return reg


def test_register_read_write_observe():
    work = Workdir("chirpstack")
    broker, server, d, sim, dev, _ = start(work, "basic", minimal=True)
    # the device left out ep, lt, lwm2m and b: the gateway filled in table 6.8.4-1's defaults (ep = the DevEUI)
    reg = registered(server, dev, ep=CS_EUI)
    assert reg["lt"] == 2592000 and reg["lwm2m"] == "1.1", reg
    ups = [e for e in sim.events if e.get("event") == "up" and not e.get("empty")]
    assert ups, "the Register never went up as a ChirpStack uplink event"
    r = server.request(f"read {reg['ep']} /3/0/0", 40)
    assert r["code"] == "2.05", r
    r = server.request(f"write {reg['ep']} /3/0/13 text 4242", 40)
    assert r["code"] == "2.04", r
    assert server.request(f"read {reg['ep']} /3/0/13", 40)["payload"] == "4242"
    r = server.request(f"observe {reg['ep']} /3/0/13", 40)
    assert r["code"] == "2.05", r
    server.wait(lambda e: e.get("event") == "notify" and e.get("id") == r["id"], 40, "a notification via ChirpStack")
    downs = [e for e in sim.events if e.get("event") == "down"]
    cons = [e for e in downs if base64.b64decode(e["data"])[0] >> 4 & 3 == 0]  # CoAP type CON: the server's requests
    assert cons and all(e["confirmed"] for e in cons), downs  # confirmed_downlinks = true (App. C.3.1)
    assert not any(e["confirmed"] for e in downs if e not in cons), downs  # answers to the device: unconfirmed
    assert d.alive()
    assert reg["location"]


def test_lost_confirmed_downlink_is_retried():
    """C.3.1.2: ChirpStack reports the confirmed downlink not acknowledged; the same CoAP request goes again."""
    work = Workdir("chirpstack-nack")
    broker, server, d, sim, dev, _ = start(work, "nack")
    registered(server, dev)
    mark = sim.mark()
    sim.send("lose 1")
    r = server.request("read cs-ep /3/0/0", 60)
    assert r["code"] == "2.05", r
    lost = sim.wait({"event": "lost"}, 1, "the lost downlink", mark)
    nack = sim.wait(lambda e: e.get("event") == "ack" and e["id"] == lost["id"], 1, "ack acknowledged false", mark)
    assert nack["acknowledged"] is False
    again = sim.wait(lambda e: e.get("event") == "down" and e["data"] == lost["data"], 1, "the retransmission", mark)
    assert again["id"] != lost["id"]  # a new queue item, the same CoAP message
    assert "not acknowledged" in d.log()


def test_lost_unconfirmed_downlink_and_broker_restart():
    """C.3.2.2: an unconfirmed downlink lost is sent again after ACK_TIMEOUT; then the broker restarts while a
    server request waits, and the request still arrives."""
    work = Workdir("chirpstack-unconf")
    broker, server, d, sim, dev, _ = start(work, "unconf", confirmed=False)
    registered(server, dev)
    mark = sim.mark()
    sim.send("lose 1")
    r = server.request("read cs-ep /3/0/0", 60)
    assert r["code"] == "2.05", r
    lost = sim.wait({"event": "lost"}, 1, "the lost downlink", mark)
    again = sim.wait(lambda e: e.get("event") == "down" and e["data"] == lost["data"], 1, "the retransmission", mark)
    assert not again["confirmed"]
    # the broker goes away and comes back on the same port; a Write waits for it
    broker.stop()
    d.wait_log("connection to the broker lost", 10)
    mark = sim.mark()
    server.send("write cs-ep /3/0/13 text 77")
    Broker(work, broker.port).start()
    d.wait_log("chirpstack connected to broker", 20)
    sim.wait(lambda e: e.get("event") == "down", 60, "the Write after the broker restart", mark)
    server.wait(lambda e: e.get("event") == "response" and e.get("code") == "2.04", 60, "2.04 for the Write")


def test_embedded_and_chirpstack_at_once():
    work = Workdir("chirpstack-both")
    broker, server, d, sim, dev, pf_port = start(work, "both", embedded=True)
    lw = LineProc([LWSIM, "--server", f"127.0.0.1:{pf_port}", "--otaa", "--deveui-base", LW_EUI, "--joineui",
                   JOINEUI, "--appkey", APPKEY, "--fport", "1", "--uplink-interval", "1", "--poll-interval", "2",
                   "--no-objects", "--keepalive", "1", "--control", "stdin", "--seed", "7"], "lorawan-sim")
    lw.wait({"event": "registered"}, 40, "the embedded network server's device registered")
    registered(server, dev)
    assert server.request(f"read {LW_EUI} /3/0/0", 40)["code"] == "2.05"
    assert server.request("read cs-ep /3/0/0", 40)["code"] == "2.05"


if __name__ == "__main__":
    run_tests([test_register_read_write_observe, test_lost_confirmed_downlink_is_retried,
               test_lost_unconfirmed_downlink_and_broker_restart, test_embedded_and_chirpstack_at_once])
