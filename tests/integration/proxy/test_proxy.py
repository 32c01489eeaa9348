"""Upstream proxy, end to end on loopback: device (device-sim or libcoap's coap-client) -> lpwagw's SGi port ->
LwM2M server (our test server, or libcoap's coap-rd) over coap+tcp and coaps+tcp. Assertions are on what the
server and the device printed, and on MQTT telemetry."""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import (Broker, Daemon, DeviceSim, TestServer, Workdir, coap_client, config_text,  # noqa: E402
                     free_port, run_tests, spawn, wait_for)

LPWAGW, SERVER, DEVSIM = sys.argv[1:4]
PSK_ID, PSK_HEX = "dev-1-identity", "000102030405060708090a0b0c0d0e0f"


def gateway(work, servers, devices, broker=None, name="gw"):
    sgi = free_port(socket.SOCK_DGRAM)
    extra = f"""upstream: {{ reconnect_min = 1; reconnect_max = 4; }};
servers = ( {", ".join(servers)} );
devices = ( {", ".join(devices)} );
bindings: {{ nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi}; }}; }};
"""
    mqtt_port = broker.port if broker else free_port()
    text = config_text(state_dir=os.path.join(work.path, f"state-{name}"), mqtt_port=mqtt_port, extra=extra)
    if not broker:
        text = text.replace("enabled = true; host", "enabled = false; host")
    d = Daemon(LPWAGW, work, work.file(f"{name}.conf", text)).start()
    d.wait_log("started")
    return d, sgi


def server_entry(name, port, secure=False, extra=""):
    scheme = "coaps+tcp" if secure else "coap+tcp"
    return f'{{ name = "{name}"; uri = "{scheme}://127.0.0.1:{port}"; {extra} }}'


def device_entry(dev_id="dev-1", ip="127.0.0.2", servers=("lwm2m",), extra=""):
    names = ", ".join(f'"{s}"' for s in servers)
    return f'{{ id = "{dev_id}"; binding = "nidd-sgi"; ip = "{ip}"; servers = [ {names} ]; {extra} }}'


def lwm2m_session(server, dev, ep="ep1"):
    """The LwM2M operations of the proxy issue, asserted on both ends."""
    reg = server.wait({"event": "register", "ep": ep}, 15, "Register upstream")
    assert "</3/0>" in reg["objects"] and "</3303/0>" in reg["objects"], reg
    assert reg["lwm2m"] == "1.1" and reg["lt"] == 60, reg
    dev.wait({"event": "registered", "location": reg["location"]}, 10, "2.01 back at the device")

    r = server.request(f"read {ep} /3/0")
    assert r["code"] == "2.05" and "device-sim" in r["payload"], r
    r = server.request(f"write {ep} /3/0/13 text 1234567")
    assert r["code"] == "2.04", r
    dev.wait({"event": "write", "path": "/3/0/13", "value": "1234567"}, 5)
    assert server.request(f"read {ep} /3/0/13")["payload"] == "1234567"
    r = server.request(f"exec {ep} /3/0/4")
    assert r["code"] == "2.04", r
    dev.wait({"event": "exec", "path": "/3/0/4"}, 5)

    r = server.request(f"observe {ep} /3303/0/5700")
    assert r["code"] == "2.05", r
    obs = r["id"]
    n1 = server.wait(lambda e: e.get("event") == "notify" and e.get("id") == obs, 10, "first notification")
    n2 = server.wait(lambda e: e.get("event") == "notify" and e.get("id") == obs and e["observe"] > n1["observe"],
                     10, "second notification")
    assert n2["payload"], n2
    r = server.request(f"cancel {ep} {obs}")
    assert r["code"] == "2.05", r
    dev.wait({"event": "observe-cancelled", "path": "/3303/0/5700"}, 5)

    mark = server.mark()
    dev.send("update")
    server.wait({"event": "update", "location": reg["location"]}, 10, "Update upstream", mark)
    dev.wait({"event": "updated"}, 10)
    dev.send("deregister")
    server.wait({"event": "deregister", "location": reg["location"]}, 10, "De-register upstream")
    dev.wait({"event": "deregistered"}, 10)


def test_coap_tcp():
    work = Workdir("proxy-tcp")
    server = TestServer(SERVER)
    d, sgi = gateway(work, [server_entry("lwm2m", server.tcp)], [device_entry()])
    dev = DeviceSim(DEVSIM, sgi, extra=["--lifetime", "60", "--notify-interval", "1"])
    lwm2m_session(server, dev)
    assert d.alive()


def test_coaps_tcp_psk():
    work = Workdir("proxy-tls")
    server = TestServer(SERVER, tcp=-1, tls=0, psk=[f"{PSK_ID}:{PSK_HEX}"])
    dev_psk = f'psk_identity = "{PSK_ID}"; psk_key = "{PSK_HEX}";'
    d, sgi = gateway(work, [server_entry("lwm2m", server.tls, secure=True)], [device_entry(extra=dev_psk)])
    dev = DeviceSim(DEVSIM, sgi, extra=["--lifetime", "60", "--notify-interval", "1"])
    lwm2m_session(server, dev)
    reg = [e for e in server.events if e.get("event") == "register"][0]
    assert reg["identity"] == PSK_ID, reg  # the device's own credentials were used upstream


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_coap_client_to_coap_rd():
    """Peers the project did not write: libcoap's coap-client as the device, coap-rd as the upstream (TLS, PSK)."""
    work = Workdir("proxy-rd")
    key_text = "rd-secret-key"
    for attempt in range(5):
        # coap-rd listens on port (UDP, TCP) and port + 1 (DTLS, TLS): free_port() vouches for one port only, so a
        # taken port + 1 makes coap-rd exit; then another pair is tried
        port = free_port()
        rd = spawn(["coap-rd-openssl", "-A", "127.0.0.1", "-p", str(port), "-k", key_text, "-v", "4"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: rd.poll() is not None or port_open(port + 1), 20, f"coap-rd on port {port + 1}")
        except AssertionError:
            rd.kill()
            raise
        if rd.poll() is None:
            break
    assert rd.poll() is None, "coap-rd did not start"
    srv = server_entry("rd", port + 1, secure=True, extra=f'psk_identity = "gw"; psk_key = "{key_text.encode().hex()}";')
    d, sgi = gateway(work, [srv], [device_entry(servers=("rd",))])
    r = subprocess.run([coap_client(), "-v", "7", "-a", "127.0.0.2", "-m", "post", "-e", "</3/0>,</1/0>",
                        f"coap://127.0.0.1:{sgi}/rd?ep=node-1&lt=300"], capture_output=True, text=True, timeout=20)
    out = r.stdout + r.stderr
    assert "c:2.01" in out and "Location-Path:rd" in out, out
    location = out.split("Location-Path:rd, Location-Path:")[1].split(" ")[0].rstrip(",]")
    r = subprocess.run([coap_client(), "-m", "get", "-k", key_text, "-u", "probe",
                        f"coaps+tcp://127.0.0.1:{port + 1}/.well-known/core"], capture_output=True, text=True,
                       timeout=20)
    assert f"</rd/{location}>" in r.stdout, (location, r.stdout, r.stderr)
    rd.kill()


def test_server_restart():
    work = Workdir("proxy-restart")
    server = TestServer(SERVER)
    port = server.tcp
    d, sgi = gateway(work, [server_entry("lwm2m", port)], [device_entry()])
    dev = DeviceSim(DEVSIM, sgi, extra=["--lifetime", "60"])
    server.wait({"event": "register", "ep": "ep1"}, 15)
    dev.wait({"event": "registered"}, 10)
    assert server.request("read ep1 /3/0/0")["payload"] == "lpwagw"
    server.stop(signal.SIGKILL)
    d.wait_log("connection closed by the server", 10)
    # sent while the upstream is down: answered at once with 5.03 and Max-Age, never forwarded late (README,
    # "While no upstream session exists"; issue 10 item 7)
    dev.send("update")
    dev.wait({"event": "error", "detail": "update answered 5.03"}, 10)
    server = TestServer(SERVER, tcp=port)
    reg = server.wait({"event": "register", "ep": "ep1"}, 20, "re-registration by the gateway")
    assert "</3303/0>" in reg["objects"], reg
    dev.send("update")
    server.wait({"event": "update", "location": reg["location"]}, 20, "the device's Update after the restart")
    r = server.request("read ep1 /3/0/0")
    assert r["code"] == "2.05" and r["payload"] == "lpwagw", r
    d.wait_log("registering the device again", 5)


def test_bootstrap_and_uri_host():
    work = Workdir("proxy-routing")
    bs, a, b = TestServer(SERVER), TestServer(SERVER), TestServer(SERVER)
    servers = [server_entry("bs", bs.tcp, extra="bootstrap = true;"), server_entry("a", a.tcp),
               server_entry("b", b.tcp)]
    d, sgi = gateway(work, servers, [device_entry(servers=("a", "b"), extra='bootstrap_server = "bs";')])
    client = coap_client()
    subprocess.run([client, "-a", "127.0.0.2", "-m", "post", f"coap://127.0.0.1:{sgi}/bs?ep=node-bs"],
                   capture_output=True, timeout=20)
    ev = bs.wait({"event": "bootstrap-request"}, 10, "Bootstrap-Request at the bootstrap server")
    assert "ep=node-bs" in ev["query"], ev
    # Uri-Host (option 3) names the LwM2M server (LwM2M 1.1.1 App. D.2)
    subprocess.run([client, "-a", "127.0.0.2", "-m", "post", "-O", "3,b", "-e", "</3/0>",
                    f"coap://127.0.0.1:{sgi}/rd?ep=node-b&lt=60&lwm2m=1.1"], capture_output=True, timeout=20)
    b.wait({"event": "register", "ep": "node-b"}, 10, "Register at server b")
    subprocess.run([client, "-a", "127.0.0.2", "-m", "post", "-e", "</3/0>",
                    f"coap://127.0.0.1:{sgi}/rd?ep=node-a&lt=60&lwm2m=1.1"], capture_output=True, timeout=20)
    a.wait({"event": "register", "ep": "node-a"}, 10, "Register at the default server a")
    assert not [e for e in a.events if e.get("ep") == "node-b"]
    assert not [e for e in b.events if e.get("ep") == "node-a"]
    assert not [e for e in a.events + b.events if e.get("event") == "bootstrap-request"]


def test_wrong_psk():
    work = Workdir("proxy-badpsk")
    broker = Broker(work).start()
    server = TestServer(SERVER, tcp=-1, tls=0, psk=[f"{PSK_ID}:{PSK_HEX}"])
    wrong = f'psk_identity = "{PSK_ID}"; psk_key = "ffffffffffffffffffffffffffffffff";'
    d, sgi = gateway(work, [server_entry("lwm2m", server.tls, secure=True)], [device_entry(extra=wrong)], broker)
    DeviceSim(DEVSIM, sgi, extra=["--lifetime", "60"])
    state = broker.retained("lpwtest/gw-test/devices/dev-1",
                            lambda j: j["servers"]["lwm2m"]["upstream"] == "down"
                            and "TLS" in j["servers"]["lwm2m"]["reason"], timeout=15)
    assert "retry in" in state["servers"]["lwm2m"]["reason"], state
    assert state["last_seen"] >= time.time() - 60, state  # the device was heard: only its upstream is down
    # back-off: the announced delays grow
    delays = wait_for(lambda: (lambda ds: ds if len(ds) >= 3 else None)(
        [int(line.split("retry in ")[1].split(" ")[0]) for line in d.log().splitlines() if "retry in" in line]),
        20, "three reconnect attempts")
    assert delays[2] > delays[0], delays
    assert d.alive()
    assert not [e for e in server.events if e.get("event") == "register"]


def make_certs(d, server_cn):
    """A CA and a server certificate for server_cn, with the openssl command line tool."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "2", "-subj", "/CN=test-ca")
    for name, cn in (("server", server_cn), ("client", "ep1")):
        run("req", *ec, "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr", "-subj", "/CN=" + cn)
        run("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
            "-CAcreateserial", "-out", f"{d}/{name}.crt", "-days", "2")
        os.chmod(f"{d}/{name}.key", 0o600)


def test_coaps_tcp_x509():
    """X.509 both ways: the device's certificate is verified by the server, the server's chain against ca_file and
    its name against the configured SNI."""
    work = Workdir("proxy-x509")
    make_certs(work.path, "lwm2m.example")
    server = TestServer(SERVER, tcp=-1, tls=0, extra=["--ca", work.path + "/ca.crt", "--cert",
                                                      work.path + "/server.crt", "--key", work.path + "/server.key",
                                                      "--verify-peer"])
    good = f'ca_file = "{work.path}/ca.crt"; sni = "lwm2m.example";'
    cert = f'cert_file = "{work.path}/client.crt"; key_file = "{work.path}/client.key";'
    d, sgi = gateway(work, [server_entry("lwm2m", server.tls, secure=True, extra=good)], [device_entry(extra=cert)])
    dev = DeviceSim(DEVSIM, sgi, extra=["--lifetime", "60"])
    server.wait({"event": "register", "ep": "ep1"}, 15, "Register over X.509 TLS")
    dev.wait({"event": "registered"}, 10)
    assert server.request("read ep1 /3/0/0")["payload"] == "lpwagw"
    # a gateway that expects another name refuses the same server
    wrong = f'ca_file = "{work.path}/ca.crt"; sni = "other.example";'
    d2, sgi2 = gateway(work, [server_entry("lwm2m", server.tls, secure=True, extra=wrong)],
                       [device_entry(ip="127.0.0.3", extra=cert)], name="wrong-name")
    mark = server.mark()
    DeviceSim(DEVSIM, sgi2, bind="127.0.0.3", endpoint="ep-wrong", extra=["--lifetime", "60"])
    d2.wait_log("server certificate is for 'lwm2m.example', not 'other.example'", 15)
    # LwM2M 1.1.1 §5.2.9: a refused certificate (bad_certificate) is a "fail": no more attempts
    d2.wait_log("TLS alert bad_certificate (42): not retrying", 10)
    # An absence: watched for, failing at once if it shows, over twice reconnect_min (1 s) after the refusal,
    # the time by which a retry would have been made.
    refused = time.monotonic()

    def retried():
        assert d2.log().count("server certificate is for") == 1, "a failed handshake must not be retried"
        assert "retry in" not in d2.log(), d2.log()
        return time.monotonic() > refused + 2.0
    wait_for(retried, 5, "reconnect_min twice over without a retry")
    assert not [e for e in server.events[mark:] if e.get("event") == "register"]


if __name__ == "__main__":
    run_tests([test_coap_tcp, test_coaps_tcp_psk, test_coaps_tcp_x509, test_coap_client_to_coap_rd, test_server_restart,
               test_bootstrap_and_uri_host, test_wrong_psk])
