"""lpwagw-ctl against a running daemon (issue 14 item 4): every command's text and JSON answer checked against the
real state (a queue-mode SGi device with server requests waiting, an OTAA LoRaWAN device that joined), flush answered
5.03 at the server, reset-session making the LoRaWAN device's uplinks unknown, reload, a peer that is not allowed
refused, malformed requests answered with an error while the daemon carries on."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import (Daemon, DeviceSim, LineProc, TestServer, Workdir, config_text, free_port,  # noqa: E402
                     run_tests, wait_for)

LPWAGW, CTL, SERVER, DEVSIM, LWSIM = sys.argv[1:6]
DEVEUI, JOINEUI = "70B3D57ED0000001", "70B3D57ED0000000"
APPKEY = "2B7E151628AED2A6ABF7158809CF4F3C"


def ctl(sock, *args, json_out=False, binary=None, **kw):
    cmd = [binary or CTL, "-s", sock] + (["--json"] if json_out else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, **kw)
    if json_out and r.returncode == 0:
        return r.returncode, json.loads(r.stdout), r.stderr
    return r.returncode, r.stdout, r.stderr


def raw(sock, data):
    """Sends bytes on one connection, returns everything the daemon answered before closing or going quiet."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(sock)
    s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        pass
    s.close()
    return out


def sgi_gateway(work, server, control=""):
    sgi = free_port(socket.SOCK_DGRAM)
    sock = os.path.join(work.path, "control.sock")
    extra = f"""upstream: {{ reconnect_min = 1; reconnect_max = 2; queue_max = 8; }};
servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{server.tcp}"; }} );
devices = ( {{ id = "dev-1"; binding = "nidd-sgi"; ip = "127.0.0.2"; server = "lwm2m"; }} );
bindings: {{ nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi}; awake_time = 1; }}; }};
control: {{ socket = "{sock}"; {control} }};
"""
    text = config_text(state_dir=os.path.join(work.path, "state"), extra=extra)
    cfg = work.file("gw.conf", text.replace("enabled = true; host", "enabled = false; host"))
    d = Daemon(LPWAGW, work, cfg).start()
    d.wait_log("started")
    return d, sgi, sock, cfg


def submit(server, cmd):
    start = server.mark()
    server.send(cmd)
    return server.wait({"event": "accepted"}, 5, f"'{cmd}' accepted", start)["id"]


def test_status_devices_queue_flush():
    work = Workdir("ctl")
    server = TestServer(SERVER)
    d, sgi, sock, _ = sgi_gateway(work, server)
    rc, st, _ = ctl(sock, "status", json_out=True)
    assert rc == 0 and st["gateway_id"] == "gw-test" and st["devices"] == 1, st
    assert st["stats"]["devices"]["known"] == 1 and "messages" in st["stats"], st
    rc, text, _ = ctl(sock, "status")
    assert rc == 0 and "gateway gw-test" in text and "devices: 1 known" in text, text
    dev = DeviceSim(DEVSIM, sgi, extra=["--binding", "UQ", "--lifetime", "300"])
    server.wait({"event": "register", "ep": "ep1", "b": "UQ"}, 15)
    dev.wait({"event": "registered"}, 10)
    dev.send("sleep")
    # asleep once the gateway's awake time (1 s) has run out: the control socket says so
    wait_for(lambda: ctl(sock, "devices", json_out=True)[1][0]["reachable"] is False, 5, "dev-1 not reachable")
    ids = [submit(server, "read ep1 /3/0/0"), submit(server, "write ep1 /3/0/13 text 4242")]
    rc, q, _ = ctl(sock, "queue", "dev-1", json_out=True)
    assert rc == 0 and [(e["method"], e["path"], e["server"]) for e in q["queue"]] == [
        ("GET", "/3/0/0", "lwm2m"), ("PUT", "/3/0/13", "lwm2m")], q
    assert all(0 < e["expires_in"] <= 3600 for e in q["queue"]), q
    rc, text, _ = ctl(sock, "queue", "dev-1")
    lines = text.splitlines()
    assert rc == 0 and len(lines) == 3 and "GET" in lines[1] and "/3/0/13" in lines[2], text
    rc, devs, _ = ctl(sock, "devices", json_out=True)
    (one,) = devs
    assert one["id"] == "dev-1" and one["binding"] == "nidd-sgi" and one["registered"] is True, one
    assert one["queue_depth"] == 2 and one["counters"]["up"] >= 1 and one["last_seen"] > 0, one
    rc, text, _ = ctl(sock, "devices")
    row = text.splitlines()[1].split()
    assert rc == 0 and row[:4] == ["dev-1", "nidd-sgi", "no", "1/1"] and row[5] == "2", text
    rc, det, _ = ctl(sock, "device", "dev-1", json_out=True)
    assert rc == 0 and det["identity"] == "127.0.0.2" and det["endpoint"] == "dev-1", det
    (srv,) = det["server_list"]
    assert srv["name"] == "lwm2m" and srv["registered"] and srv["upstream"] == "up" and srv["location"], srv
    assert det["path"]["proxy_retransmits"] is True, det
    rc, text, _ = ctl(sock, "device", "dev-1")
    assert rc == 0 and "identity: 127.0.0.2" in text and "server lwm2m: registered" in text, text
    rc, fl, _ = ctl(sock, "flush", "dev-1", json_out=True)
    assert rc == 0 and fl == {"id": "dev-1", "flushed": 2}, fl
    for i in ids:
        r = server.wait({"event": "response", "id": i}, 5, "the flushed request answered")
        assert r["code"] == "5.03", r
    assert ctl(sock, "queue", "dev-1", json_out=True)[1]["queue"] == []
    rc, text, _ = ctl(sock, "flush", "dev-1")
    assert rc == 0 and "0 queued requests" in text, text
    rc, _, err = ctl(sock, "reset-session", "dev-1")
    assert rc == 4 and "nidd-sgi has no session" in err, (rc, err)
    rc, _, err = ctl(sock, "device", "nope")
    assert rc == 3 and "no device nope" in err, (rc, err)
    rc, out, err = ctl(sock, "device", "nope", json_out=True)
    assert rc == 3 and json.loads(err) == {"error": "no device nope"}, (rc, out, err)
    assert ctl(sock, "bogus")[0] == 2 and ctl(sock, "device")[0] == 2  # refused by the tool itself


def test_malformed_requests():
    work = Workdir("ctl-bad")
    server = TestServer(SERVER)
    d, _, sock, _ = sgi_gateway(work, server)
    for bad in (b"text bogus\n", b"\x01\xff\n", b"text  status\n", b"xml status\n", b"text device\n",
                b"text status extra\n", b"text device a/b\n", b"json devices x\n", b"\n"):
        out = raw(sock, bad)
        assert out.startswith(b"err 2 "), (bad, out)
    out = raw(sock, b"json bogus\n")
    head, body = out.split(b"\n", 1)
    assert head.startswith(b"err 2 ") and "unknown command" in json.loads(body)["error"], out
    out = raw(sock, b"x" * 400)  # no newline in sight: answered, then closed
    assert out.startswith(b"err 2 ") and b"longer than 256" in out, out
    # several requests on one connection, a bad one in the middle: each gets its own answer
    out = raw(sock, b"json status\ntext nope\njson devices\n")
    assert out.count(b"ok ") == 2 and out.count(b"err 2 ") == 1, out
    assert d.alive() and ctl(sock, "status")[0] == 0
    assert "malformed control request refused" in d.log()


def test_reload():
    work = Workdir("ctl-reload")
    server = TestServer(SERVER)
    d, _, sock, cfg = sgi_gateway(work, server)
    rc, text, _ = ctl(sock, "reload")
    assert rc == 0 and "configuration reloaded" in text, (rc, text)
    good = open(cfg).read()
    with open(cfg, "w") as f:
        f.write(good.replace('"nidd-sgi"; ip = "127.0.0.2"', '"nidd-sgi"; ip = "not-an-ip"'))
    rc, out, err = ctl(sock, "reload", json_out=True)
    assert rc == 1 and out == "", (rc, out, err)
    ans = json.loads(err)  # an error's answer goes to stderr
    assert ans["reloaded"] is False and "not-an-ip" in ans["report"], ans
    with open(cfg, "w") as f:
        f.write(good.replace('queue_max = 8', 'queue_max = 9'))
    rc, ans, _ = ctl(sock, "reload", json_out=True)
    assert rc == 0 and ans["reloaded"] and "upstream.queue_max: 8 -> 9" in ans["report"], ans


def test_peer_not_allowed():
    work = Workdir("ctl-peer")
    server = TestServer(SERVER)
    if os.geteuid() == 0:
        # root is always allowed: the peer is the test itself turned into nobody, on a socket it may open
        os.chmod(work.path, 0o711)
        # nobody may not reach the build tree (a checkout under a 0700 directory): it runs a copy from here
        nobody_ctl = os.path.join(work.path, "lpwagw-ctl")
        shutil.copy(CTL, nobody_ctl)
        os.chmod(nobody_ctl, 0o755)
        d, _, sock, _ = sgi_gateway(work, server, 'mode = "0666";')
        rc, out, err = ctl(sock, "status", binary=nobody_ctl,
                           preexec_fn=lambda: (os.setgroups([]), os.setgid(65534), os.setuid(65534)))
        # the daemon's group (root's here) as a supplementary group of the peer is enough (SO_PEERGROUPS)
        ok = ctl(sock, "status", binary=nobody_ctl,
                 preexec_fn=lambda: (os.setgroups([0]), os.setgid(65534), os.setuid(65534)))
        assert ok[0] == 0 and "gateway gw-test" in ok[1], ok
    else:
        d, _, sock, _ = sgi_gateway(work, server, f"allow_uid = {os.getuid() + 1}; allow_gid = {os.getgid() + 1};")
        rc, out, err = ctl(sock, "status")
    assert rc == 5 and "permission denied" in err and out == "", (rc, out, err)
    assert "refused: not root" in d.log()
    assert d.alive()


def test_lorawan_reset_session():
    work = Workdir("ctl-lw")
    server = TestServer(SERVER)
    port = free_port(socket.SOCK_DGRAM)
    sock = os.path.join(work.path, "control.sock")
    extra = f"""upstream: {{ reconnect_min = 1; reconnect_max = 2; }};
servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{server.tcp}"; }} );
devices = ( {{ id = "lw-1"; binding = "lorawan"; dev_eui = "{DEVEUI}"; join_eui = "{JOINEUI}"; app_key = "{APPKEY}";
              server = "lwm2m"; fport = 1; objects = "</1/0>,</3/0>"; }} );
bindings: {{ lorawan: {{ enabled = true; listen = "127.0.0.1"; port = {port}; region = "EU868"; }}; }};
control: {{ socket = "{sock}"; }};
"""
    text = config_text(state_dir=os.path.join(work.path, "state"), extra=extra)
    cfg = work.file("lw.conf", text.replace("enabled = true; host", "enabled = false; host"))
    d = Daemon(LPWAGW, work, cfg).start()
    d.wait_log("started")
    dev = LineProc([LWSIM, "--server", f"127.0.0.1:{port}", "--otaa", "--deveui-base", DEVEUI, "--joineui", JOINEUI,
                    "--appkey", APPKEY, "--fport", "1", "--uplink-interval", "1", "--poll-interval", "1",
                    "--no-objects", "--keepalive", "1", "--control", "stdin", "--seed", "7"], "lorawan-sim")
    dev.wait({"event": "registered"}, 30, "the device registered over LoRaWAN")
    rc, det, _ = ctl(sock, "device", "lw-1", json_out=True)
    assert rc == 0 and det["lorawan"]["activation"] == "otaa" and det["identity"] == DEVEUI, det
    outputs = [ctl(sock, "device", "lw-1")[1], json.dumps(det), ctl(sock, "devices")[1],
               json.dumps(ctl(sock, "devices", json_out=True)[1])]
    assert not [o for o in outputs if APPKEY.lower() in o.lower()], "the AppKey was shown"
    before = ctl(sock, "status", json_out=True)[1]["stats"]["dropped"]["unknown_device"]
    rc, ans, _ = ctl(sock, "reset-session", "lw-1", json_out=True)
    assert rc == 0 and ans == {"id": "lw-1", "reset": True}, ans
    d.wait_log("lw-1: session forgotten")
    # the device still uses the forgotten DevAddr: its next uplinks come from no known device
    wait_for(lambda: ctl(sock, "status", json_out=True)[1]["stats"]["dropped"]["unknown_device"] > before, 15,
             "an uplink of the forgotten session dropped")


if __name__ == "__main__":
    run_tests([test_status_devices_queue_flush, test_malformed_requests, test_reload, test_peer_not_allowed,
               test_lorawan_reset_session])
