"""SIGHUP applies devices and servers without a restart (issue 9): a device is added (it registers), one is
removed (its queued server request gets 5.03 and its connection closes), a third moves to another server (it is
registered there), a fourth is left alone (its upstream session, seen from the server as the same local TCP
port, survives); an invalid file changes nothing and the daemon keeps serving."""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import Daemon, DeviceSim, TestServer, Workdir, config_text, free_port, run_tests, wait_for  # noqa: E402,E501

LPWAGW, SERVER, DEVSIM = sys.argv[1:4]


def write_config(work, a, b, sgi, devices):
    devs = ",\n".join(f'{{ id = "{i}"; binding = "nidd-sgi"; ip = "{ip}"; server = "{srv}"; }}'
                      for i, ip, srv in devices)
    extra = f"""upstream: {{ reconnect_min = 1; reconnect_max = 2; }};
servers = ( {{ name = "a"; uri = "coap+tcp://127.0.0.1:{a.tcp}"; }},
            {{ name = "b"; uri = "coap+tcp://127.0.0.1:{b.tcp}"; }} );
devices = ( {devs} );
bindings: {{ nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi}; awake_time = 1; }}; }};
"""
    text = config_text(state_dir=os.path.join(work.path, "state"), extra=extra)
    return work.file("gw.conf", text.replace("enabled = true; host", "enabled = false; host"))


def registered(server, ep, start=0, timeout=15):
    return server.wait({"event": "register", "ep": ep}, timeout, f"{ep} registered", start)


def peer_of(server, ep):
    start = server.mark()
    server.send("list")
    regs = server.wait({"event": "registrations"}, 5, "the registration list", start)["items"]
    return next(r["peer"] for r in regs if r["ep"] == ep)


def test_reload_devices_and_servers():
    work = Workdir("reload")
    a, b = TestServer(SERVER), TestServer(SERVER)
    sgi = free_port(socket.SOCK_DGRAM)
    v1 = [("keep", "127.0.0.2", "a"), ("remove", "127.0.0.3", "a"), ("change", "127.0.0.4", "a")]
    cfg = write_config(work, a, b, sgi, v1)
    d = Daemon(LPWAGW, work, cfg).start()
    d.wait_log("started")
    keep = DeviceSim(DEVSIM, sgi, bind="127.0.0.2", endpoint="keep", extra=["--lifetime", "300"])
    remove = DeviceSim(DEVSIM, sgi, bind="127.0.0.3", endpoint="remove", extra=["--binding", "UQ", "--lifetime", "300"])
    change = DeviceSim(DEVSIM, sgi, bind="127.0.0.4", endpoint="change", extra=["--lifetime", "300"])
    for ep, dev in (("keep", keep), ("remove", remove), ("change", change)):
        registered(a, ep)
        dev.wait({"event": "registered"}, 10)
    heard = time.monotonic()
    keep_peer = peer_of(a, "keep")
    remove.send("sleep")
    # the gateway's awake_time (1 s) after the device's last message is what makes it unreachable
    wait_for(lambda: time.monotonic() > heard + 1.5, 5, "the queue-mode device's awake time to pass")
    queued = a.mark()
    a.send("read remove /3/0/0")
    read_id = a.wait({"event": "accepted"}, 5, "read accepted", queued)["id"]
    d.wait_log("remove: server request queued (1 waiting)", 10)

    mark_a, mark_b = a.mark(), b.mark()
    v2 = [("keep", "127.0.0.2", "a"), ("change", "127.0.0.4", "b"), ("add", "127.0.0.5", "a")]
    write_config(work, a, b, sgi, v2)
    d.kill(signal.SIGHUP)
    d.wait_log("devices: 1 removed, 2 kept, 1 added", 10)
    # the removed device's queued request is answered, and its connection closes
    r = a.wait({"event": "response", "id": read_id}, 10, "the removed device's queued read answered")
    assert r["code"] == "5.03", r
    a.wait({"event": "session-closed", "ep": "remove"}, 10, "the removed device's session closed", mark_a)
    # the moved device is registered at its new server by the gateway, without a message of its own
    moved = registered(b, "change", mark_b)
    assert moved["peer"].startswith("127.0.0.1:"), moved
    # the added device registers
    add = DeviceSim(DEVSIM, sgi, bind="127.0.0.5", endpoint="add", extra=["--lifetime", "300"])
    registered(a, "add", mark_a)
    add.wait({"event": "registered"}, 10)
    # the untouched device keeps its session: same local port, no new registration, still answers
    assert peer_of(a, "keep") == keep_peer, (peer_of(a, "keep"), keep_peer)
    assert not [e for e in a.events[mark_a:] if e.get("event") == "register" and e.get("ep") == "keep"]
    r = a.request("read keep /3/0/0")
    assert (r["code"], r["payload"]) == ("2.05", "lpwagw"), r
    r = b.request("read change /3/0/0")
    assert r["code"] == "2.05", r

    # an invalid file is refused whole: nothing changes, the daemon keeps serving
    good = open(cfg).read()
    work.file("gw.conf", good + "\nthis is not libconfig;\n")
    d.kill(signal.SIGHUP)
    d.wait_log("reload of", 10)
    assert "still running on the previous configuration" in d.log()
    assert d.alive()
    r = a.request("read keep /3/0/0")
    assert r["code"] == "2.05", r
    assert peer_of(a, "keep") == keep_peer
    assert d.stop() == 0


if __name__ == "__main__":
    run_tests([test_reload_devices_and_servers])
