"""OSCORE end to end through lpwagw on loopback: device-sim (LwM2M client, OSCORE) -> lpwagw's SGi port -> the test
LwM2M server (OSCORE) over coap+tcp. The gateway never decrypts (DESIGN.md decision 4): the tests prove that the
OSCORE option value and the ciphertext arrive byte for byte, in both directions, and that a corrupted message is
refused by the endpoint while the gateway carries on."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import Daemon, DeviceSim, TestServer, Workdir, config_text, free_port, run_tests, wait_for  # noqa: E402

LPWAGW, SERVER, DEVSIM = sys.argv[1:4]

# The RFC 8613 Appendix C.1 context: the device is the client (Sender ID empty), the server has Sender ID 0x01.
SECRET, SALT = "0102030405060708090a0b0c0d0e0f10", "9e7ca92223786340"
DEVICE_OSCORE = f"{SECRET}:{SALT}::01"
SERVER_OSCORE = f"{SECRET}:{SALT}:01:"
# RFC 8613 Appendix C.4, the protected request (OSCORE option 0914, ciphertext 612f...825e).
C4_PROTECTED = bytes.fromhex("44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e")


def gateway(work, server_port, name="gw"):
    """lpwagw with one OSCORE device (127.0.0.2 on the SGi tunnel) and one coap+tcp server; MQTT off."""
    sgi = free_port(socket.SOCK_DGRAM)
    extra = f"""upstream: {{ reconnect_min = 1; reconnect_max = 4; }};
servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{server_port}"; }} );
devices = ( {{ id = "dev-1"; binding = "nidd-sgi"; ip = "127.0.0.2"; servers = [ "lwm2m" ]; oscore = true; }} );
bindings: {{ nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi}; }}; }};
"""
    text = config_text(state_dir=os.path.join(work.path, f"state-{name}"), mqtt_port=free_port(), extra=extra)
    text = text.replace("enabled = true; host", "enabled = false; host")
    d = Daemon(LPWAGW, work, work.file(f"{name}.conf", text)).start()
    d.wait_log("started")
    return d, sgi


def chain(name, device_extra=()):
    work = Workdir(f"oscore-{name}")
    server = TestServer(SERVER, extra=["--oscore", SERVER_OSCORE])
    d, sgi = gateway(work, server.tcp)
    dev = DeviceSim(DEVSIM, sgi, extra=["--lifetime", "60", "--notify-interval", "1", "--oscore", DEVICE_OSCORE]
                    + list(device_extra))
    reg = server.wait({"event": "register", "ep": "ep1"}, 15, "OSCORE Register upstream")
    dev.wait({"event": "registered", "location": reg["location"]}, 10, "2.01 back at the device")
    return server, dev, d, reg


def wire(proc, direction):
    return [(e["kind"], e["option_hex"], e["payload_hex"]) for e in proc.events
            if e.get("event") == "oscore-wire" and e.get("direction") == direction]


def operations(server, dev, reg):
    """Read, write, observe (two notifications, then cancel), update, de-register: all protected."""
    # the query travelled inside the ciphertext, yet the server saw all of it
    assert reg["lt"] == 60 and reg["lwm2m"] == "1.1" and "</3/0>" in reg["objects"], reg
    r = server.request("read ep1 /3/0")
    assert r["code"] == "2.05" and "device-sim" in r["payload"], r
    r = server.request("write ep1 /3/0/13 text 1234567")
    assert r["code"] == "2.04", r
    dev.wait({"event": "write", "path": "/3/0/13", "value": "1234567"}, 5)
    assert server.request("read ep1 /3/0/13")["payload"] == "1234567"
    r = server.request("observe ep1 /3303/0/5700")
    assert r["code"] == "2.05", r
    obs = r["id"]
    n1 = server.wait(lambda e: e.get("event") == "notify" and e.get("id") == obs, 10, "first notification")
    n2 = server.wait(lambda e: e.get("event") == "notify" and e.get("id") == obs and e["observe"] > n1["observe"],
                     10, "second notification")
    assert n2["payload"] and n2["code"] == "2.05", n2
    r = server.request(f"cancel ep1 {obs}")
    assert r["code"] == "2.05", r
    dev.wait({"event": "observe-cancelled", "path": "/3303/0/5700"}, 5)
    mark = server.mark()
    dev.send("update")
    server.wait({"event": "update", "location": reg["location"]}, 10, "protected Update upstream", mark)
    dev.wait({"event": "updated"}, 10)
    dev.send("deregister")
    server.wait({"event": "deregister", "location": reg["location"]}, 10, "protected De-register upstream")
    dev.wait({"event": "deregistered"}, 10)


def test_lwm2m_over_oscore():
    """(a) register, read, write, observe, update, de-register through lpwagw, OSCORE end to end."""
    server, dev, d, reg = chain("ops")
    operations(server, dev, reg)
    assert not [e for e in server.events + dev.events if e.get("event") == "oscore-error"]
    # the server really received protected messages: a Register arrives as POST with the OSCORE option
    assert any(k == "request" and opt and opt.startswith("09") for k, opt, _ in wire(server, "in")), wire(server, "in")
    assert d.alive()


def test_wire_bytes_identical():
    """(b) what each endpoint sent with OSCORE is what the other received: option value and payload, byte for byte."""
    server, dev, d, reg = chain("wire")
    operations(server, dev, reg)

    def missing():
        """What one side reports sent and the other not (yet) received; a message may still be on its way."""
        dev_out, srv_in = wire(dev, "out"), wire(server, "in")
        srv_out, dev_in = wire(server, "out"), wire(dev, "in")
        return [w for w in dev_out if w not in srv_in], [w for w in srv_out if w not in dev_in]
    try:
        wait_for(lambda: missing() == ([], []), 10, "every protected message at the other end")
    except AssertionError:
        pass  # reported below, with the messages
    up, down = missing()
    assert not up, f"sent by the device, never seen by the server: {up}"
    assert not down, f"sent by the server, never seen by the device: {down}"
    srv_in, srv_out, dev_out = wire(server, "in"), wire(server, "out"), wire(dev, "out")
    assert len(dev_out) >= 8 and len(srv_out) >= 8, (dev_out, srv_out)
    # responses without Partial IV keep their zero-length option through the gateway
    assert any(k == "response" and opt == "" for k, opt, _ in srv_in), srv_in
    # notifications carry their own Partial IV
    assert any(k == "response" and opt not in ("", None) for k, opt, _ in srv_in)


def test_corrupted_request():
    """(c) one flipped ciphertext byte: the server refuses it (oscore-error, 4.00), lpwagw stays up, the next
    request is processed."""
    server, dev, d, reg = chain("corrupt")
    mark = server.mark()
    dev.send("corrupt-next")
    dev.send("update")
    err = server.wait({"event": "oscore-error", "kind": "request"}, 10, "oscore-error at the server", mark)
    assert err["detail"] == "decryption failed" and err["code"] == "4.00", err
    dev.wait(lambda e: e.get("event") == "error" and "4.00" in e.get("detail", ""), 10, "4.00 back at the device")
    assert not [e for e in server.events[mark:] if e.get("event") == "update"]
    assert d.alive()
    mark = server.mark()
    dev.send("update")
    server.wait({"event": "update", "location": reg["location"]}, 10, "the next valid Update", mark)
    dev.wait({"event": "updated"}, 10)
    assert d.alive()


def test_rfc8613_c4_bytes_pass_through():
    """(d) the RFC 8613 Appendix C.4 protected request, sent as raw UDP from the device's address, reaches the
    server with the same OSCORE option value and payload."""
    work = Workdir("oscore-c4")
    server = TestServer(SERVER)  # no OSCORE context: it reports what arrived, then refuses it
    d, sgi = gateway(work, server.tcp)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.2", 0))
        s.settimeout(0.5)

        last = [0.0]

        def arrived():
            if time.monotonic() - last[0] > 1.0:  # resent each second until the upstream session is up
                s.sendto(C4_PROTECTED, ("127.0.0.1", sgi))
                last[0] = time.monotonic()
            return [w for w in wire(server, "in") if w[0] == "request"]
        got = wait_for(arrived, 20, "the C.4 request at the server")
    assert got[0] == ("request", "0914", "612f1092f1776f1c1668b3825e"), got
    server.wait({"event": "oscore-error", "kind": "request"}, 5)
    assert d.alive()


if __name__ == "__main__":
    run_tests([test_lwm2m_over_oscore, test_wire_bytes_identical, test_corrupted_request,
               test_rfc8613_c4_bytes_pass_through])
