"""LoRaWAN end to end with the real daemon: lorawan-sim (OTAA Class A devices behind a simulated Semtech packet
forwarder) -> lpwagw (network + application server, LwM2M App. C) -> lwm2m-test-server over coaps+tcp (PSK).
Join, a Register with omitted parameters that arrives complete, Read, Write, Observe, Update, De-register; then the
same with 30 % of uplinks and downlinks lost. Also: a replayed uplink is dropped, and counters survive SIGKILL."""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import Daemon, LineProc, TestServer, Workdir, config_text, free_port, run_tests  # noqa: E402

LPWAGW, SERVER, LWSIM = sys.argv[1:4]
DEVEUI = "70B3D57ED0000001"
JOINEUI = "70B3D57ED0000000"
APPKEY = "2B7E151628AED2A6ABF7158809CF4F3C"
PSK_ID, PSK_HEX = "lorawan-gw", "00112233445566778899aabbccddeeff"
ACK_TIMEOUT = 6  # App. C ACK_TIMEOUT scaled down from 300 s so a lost exchange retries within a test


def start(work, name="gw", confirmed=False):
    server = TestServer(SERVER, tcp=-1, tls=0, psk=[f"{PSK_ID}:{PSK_HEX}"])
    port = free_port(socket.SOCK_DGRAM)
    extra = f"""upstream: {{ reconnect_min = 1; reconnect_max = 2; }};
servers = ( {{ name = "lwm2m"; uri = "coaps+tcp://127.0.0.1:{server.tls}"; psk_identity = "{PSK_ID}"; psk_key = "{PSK_HEX}"; }} );
devices = ( {{ id = "lw-1"; binding = "lorawan"; dev_eui = "{DEVEUI}"; join_eui = "{JOINEUI}"; app_key = "{APPKEY}";
              server = "lwm2m"; fport = 1; confirmed_downlinks = {"true" if confirmed else "false"};
              objects = "</1/0>,</3/0>,</3303/0>"; }} );
bindings: {{ lorawan: {{ enabled = true; listen = "127.0.0.1"; port = {port}; region = "EU868";
                         ack_timeout = {ACK_TIMEOUT}; max_retransmit = 4; }}; }};
"""
    text = config_text(state_dir=os.path.join(work.path, f"state-{name}"), extra=extra)
    cfg = work.file(f"{name}.conf", text.replace("enabled = true; host", "enabled = false; host"))
    d = Daemon(LPWAGW, work, cfg).start()
    d.wait_log("started")
    return server, d, port, cfg


def sim(port, loss=0.0, extra=()):
    args = [LWSIM, "--server", f"127.0.0.1:{port}", "--otaa", "--deveui-base", DEVEUI, "--joineui", JOINEUI,
            "--appkey", APPKEY, "--fport", "1", "--uplink-interval", "1", "--poll-interval", "2", "--no-objects",
            "--keepalive", "1", "--control", "stdin", "--seed", "7"]
    if loss:
        args += ["--loss-up", str(loss), "--loss-down", str(loss)]
    return LineProc(args + list(extra), "lorawan-sim")


def lwm2m_over_lorawan(server, dev, timeout):
    dev.wait({"event": "joined"}, timeout, "the OTAA join")
    reg = server.wait({"event": "register"}, timeout, "the Register upstream")
    # the device omitted ep, lt, lwm2m, b and its object list; the gateway filled them in (table 6.8.4-1)
    assert reg["ep"] == DEVEUI, reg
    assert reg["lt"] == 2592000 and reg["lwm2m"] == "1.1", reg
    assert "</3/0>" in reg["objects"] and "</3303/0>" in reg["objects"], reg
    ep = reg["ep"]
    dev.wait({"event": "registered"}, timeout, "2.01 back at the device")
    r = server.request(f"read {ep} /3/0", timeout)  # SenML JSON of the whole Device object, one DR5 uplink
    assert r["code"] == "2.05" and '"vs":"lpwagw"' in r["payload"] and DEVEUI in r["payload"], r
    r = server.request(f"write {ep} /3/0/13 text 4242", timeout)
    assert r["code"] == "2.04", r
    assert server.request(f"read {ep} /3/0/13", timeout)["payload"] == "4242"
    r = server.request(f"observe {ep} /3303/0/5700", timeout)
    assert r["code"] == "2.05", r
    server.wait(lambda e: e.get("event") == "notify" and e.get("id") == r["id"], timeout, "a notification")
    mark = server.mark()
    dev.send("update")
    server.wait({"event": "update", "location": reg["location"]}, timeout, "the Update", mark)
    dev.send("deregister")
    server.wait({"event": "deregister", "location": reg["location"]}, timeout, "the De-register")


def test_lorawan_end_to_end():
    work = Workdir("lorawan")
    server, d, port, _ = start(work)
    dev = sim(port)
    lwm2m_over_lorawan(server, dev, 30)
    d.wait_log("Register completed with the binding's defaults", 5)


def test_lorawan_with_loss():
    work = Workdir("lorawan-loss")
    server, d, port, _ = start(work, "loss")
    dev = sim(port, loss=0.3)
    lwm2m_over_lorawan(server, dev, 120)
    lost = [e for e in dev.events if e.get("event") in ("downlink-lost",) or e.get("lost")]
    assert lost, "the loss injection did not drop anything"
    assert d.alive()


def test_counters_survive_sigkill():
    work = Workdir("lorawan-kill")
    server, d, port, cfg = start(work, "kill")
    dev = sim(port)
    dev.wait({"event": "registered"}, 30)
    d.stop(signal.SIGKILL)
    d = Daemon(LPWAGW, work, cfg).start()
    d.wait_log("started")
    mark = dev.mark()
    dev.send("update")  # the session and frame counters come from the store: the uplink must be accepted
    dev.wait(lambda e: e.get("event") == "updated", 30, "the Update after the restart", mark)
    downs = [e["fcnt"] for e in dev.events if e.get("event") == "downlink"]
    assert downs == sorted(downs) and len(set(downs)) == len(downs), downs  # FCntDown never went backwards


if __name__ == "__main__":
    run_tests([test_lorawan_end_to_end, test_lorawan_with_loss, test_counters_survive_sigkill])
