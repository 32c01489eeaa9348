"""Queue mode (LwM2M 1.1.1 §6.5) end to end: a sleeping device behind the SGi binding, server requests held in
order, surviving a SIGKILL of the gateway, and a full queue answered 5.03."""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import Daemon, DeviceSim, TestServer, Workdir, config_text, free_port, run_tests  # noqa: E402

LPWAGW, SERVER, DEVSIM = sys.argv[1:4]


def gateway_config(work, server, queue_max=8):
    sgi = free_port(socket.SOCK_DGRAM)
    extra = f"""upstream: {{ reconnect_min = 1; reconnect_max = 2; queue_max = {queue_max}; }};
servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{server.tcp}"; }} );
devices = ( {{ id = "dev-1"; binding = "nidd-sgi"; ip = "127.0.0.2"; server = "lwm2m"; }} );
bindings: {{ nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi}; awake_time = 1; }}; }};
"""
    text = config_text(state_dir=os.path.join(work.path, "state"), extra=extra)
    return work.file("gw.conf", text.replace("enabled = true; host", "enabled = false; host")), sgi


def start(work, cfg):
    d = Daemon(LPWAGW, work, cfg).start()
    d.wait_log("started")
    return d


def asleep(server, dev):
    """Registers in queue mode (b=UQ), then sleeps past the gateway's awake time."""
    server.wait({"event": "register", "ep": "ep1", "b": "UQ"}, 15)
    dev.wait({"event": "registered"}, 10)
    dev.send("sleep")
    # The gateway's awake window (awake_time = 1 s after the device's last uplink) has to run out: real time must
    # pass here, there is no event for it. Whether it did is asserted by the callers (the requests are queued).
    time.sleep(1.5)


def submit(server, cmd):
    start = server.mark()
    server.send(cmd)
    return server.wait({"event": "accepted"}, 5, f"'{cmd}' accepted", start)["id"]


def device_requests(dev):
    return [(e["method"], e["path"]) for e in dev.events if e.get("event") == "request"]


def test_in_order_with_answers_and_overflow():
    work = Workdir("queue")
    server = TestServer(SERVER)
    cfg, sgi = gateway_config(work, server, queue_max=2)
    d = start(work, cfg)
    dev = DeviceSim(DEVSIM, sgi, extra=["--binding", "UQ", "--lifetime", "300"])
    asleep(server, dev)
    read_id = submit(server, "read ep1 /3/0/0")
    write_id = submit(server, "write ep1 /3/0/13 text 4242")
    d.wait_log("server request queued (2 waiting)", 10)  # both held for the sleeping device, not sent
    over = server.request("read ep1 /3/0/1")
    assert over["code"] == "5.03", over  # queue of 2 is full
    d.wait_log("queue full", 5)
    assert device_requests(dev) == [], "nothing may reach a sleeping device"
    assert not [e for e in server.events if e.get("id") in (read_id, write_id) and e["event"] == "response"]
    dev.send("wake")
    r = server.wait({"event": "response", "id": read_id}, 10, "the queued read answered")
    w = server.wait({"event": "response", "id": write_id}, 10, "the queued write answered")
    assert (r["code"], r["payload"], w["code"]) == ("2.05", "lpwagw", "2.04"), (r, w)
    # device-sim reports a request after it has answered it: wait for the report, not just the answer
    dev.wait(lambda e: e.get("event") == "request" and e.get("path") == "/3/0/13", 5, "the write's report")
    assert device_requests(dev) == [("GET", "/3/0/0"), ("PUT", "/3/0/13")], device_requests(dev)


def test_survives_sigkill():
    work = Workdir("queue-kill")
    server = TestServer(SERVER)
    cfg, sgi = gateway_config(work, server)
    d = start(work, cfg)
    dev = DeviceSim(DEVSIM, sgi, extra=["--binding", "UQ", "--lifetime", "300"])
    asleep(server, dev)
    submit(server, "read ep1 /3/0/0")
    submit(server, "write ep1 /3/0/13 text 777")
    d.wait_log("server request queued (2 waiting)")
    d.stop(signal.SIGKILL)
    mark = server.mark()
    d = start(work, cfg)
    d.wait_log("2 queued requests restored", 10)
    # issue 10 item 10: the restored registration is registered again at start-up, before the device's next uplink
    reg = server.wait({"event": "register", "ep": "ep1"}, 10, "re-registration at start-up", mark)
    dev.send("wake")
    dev.wait(lambda e: e.get("event") == "request" and e.get("path") == "/3/0/13", 15, "the restored write")
    assert device_requests(dev) == [("GET", "/3/0/0"), ("PUT", "/3/0/13")], device_requests(dev)
    assert [e for e in dev.events if e.get("event") == "write" and e.get("value") == "777"]
    # the device's Update followed the registration the gateway made on its new connection
    server.wait({"event": "update", "location": reg["location"]}, 10, "the wake-up Update", mark)
    r = server.request("read ep1 /3/0/13")
    assert (r["code"], r["payload"]) == ("2.05", "777"), r


if __name__ == "__main__":
    run_tests([test_in_order_with_answers_and_overflow, test_survives_sigkill])
