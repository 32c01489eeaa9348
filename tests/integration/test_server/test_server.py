#!/usr/bin/env python3
"""Self-test of tools/lwm2m-test-server (ctest label proxy).

Starts the server on loopback with free ports and drives it with libcoap's coap-client (Register, Update,
De-register over coap+tcp and coaps+tcp with PSK) and with a tiny CoAP-over-TCP client written here
(RFC 8323 framing) that stays connected and answers the server's own requests (read, write, observe,
cancel, timeouts). Every wait is bounded; the server is killed on every exit path.
Usage: test_server.py PATH-TO-lwm2m-test-server
"""
import json
import os
import queue
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

PSK_ID = "test-id"
PSK_KEY = "secretkey"  # coap-client takes the key as text; the server as hex
WAIT = 10.0


def find_coap_client(tls):
    names = ["coap-client", "coap-client-openssl", "coap-client-gnutls"]
    if not tls:
        names.append("coap-client-notls")
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("coap-client not found (package libcoap3-bin)")


class Server:
    """The server process: a reader thread turns stdout lines into parsed events."""

    def __init__(self, binary, *args):
        self.proc = subprocess.Popen([binary, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.events = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read, args=(self.proc.stdout, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, False), daemon=True).start()

    def _read(self, stream, is_stdout):
        for line in stream:
            if not is_stdout:
                self.stderr.append(line)
                continue
            try:
                self.events.put(json.loads(line))
            except ValueError:
                self.events.put({"event": "NOT-JSON", "line": line})

    def wait(self, pred, what, timeout=WAIT):
        """Returns the first event that matches pred; events before it are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for " + what)
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            assert ev.get("event") != "NOT-JSON", "stdout line is not JSON: %r" % ev
            if pred(ev):
                return ev

    def wait_event(self, name, timeout=WAIT, **fields):
        return self.wait(lambda e: e.get("event") == name and all(e.get(k) == v for k, v in fields.items()),
                         "%s %s" % (name, fields), timeout)

    def no_event(self, name, seconds):
        """Asserts that no event called name arrives within seconds."""
        try:
            ev = self.wait(lambda e: e.get("event") == name, name, seconds)
        except AssertionError:
            return
        raise AssertionError("unexpected event %r" % ev)

    def command(self, line):
        """Sends one command; returns the accepted or error event for it."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.wait(lambda e: e.get("event") in ("accepted", "error") and "cmd" in e, "answer to " + line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=WAIT)


def coap_client(client, url, *args):
    """Runs coap-client once; returns its combined output."""
    res = subprocess.run([client, "-B", "5", *args, url], capture_output=True, text=True, timeout=WAIT)
    return res.stdout + res.stderr


# ---- a minimal CoAP over TCP client (RFC 8323 §3) ----

def _ext(n):
    if n < 13:
        return n, b""
    if n < 269:
        return 13, bytes([n - 13])
    return 14, struct.pack("!H", n - 269)


def encode(code, token=b"", options=(), payload=b""):
    body = b""
    last = 0
    for num, val in sorted(options, key=lambda o: o[0]):
        d, dx = _ext(num - last)
        l, lx = _ext(len(val))
        body += bytes([d << 4 | l]) + dx + lx + val
        last = num
    if payload:
        body += b"\xff" + payload
    n = len(body)
    if n < 13:
        head = bytes([n << 4 | len(token)])
    elif n < 269:
        head = bytes([13 << 4 | len(token), n - 13])
    elif n < 65805:
        head = bytes([14 << 4 | len(token)]) + struct.pack("!H", n - 269)
    else:
        head = bytes([15 << 4 | len(token)]) + struct.pack("!I", n - 65805)
    return head + bytes([code]) + token + body


def uint_opt(num, value):
    raw = value.to_bytes(4, "big").lstrip(b"\0")
    return (num, raw)


class Msg:
    def __init__(self, code, token, options, payload):
        self.code, self.token, self.options, self.payload = code, token, options, payload

    def opts(self, num):
        return [v for n, v in self.options if n == num]

    def uint(self, num):
        vals = self.opts(num)
        return int.from_bytes(vals[0], "big") if vals else None

    def path(self):
        return "/" + "/".join(v.decode() for v in self.opts(11))


def code_str(code):
    return "%d.%02d" % (code >> 5, code & 31)


class TcpDevice:
    """Speaks CoAP over TCP to the server like an LwM2M client that stays connected."""

    def __init__(self, port, max_message_size=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.buf = b""
        # CSM, RFC 8323 §5.3: the first message on the connection; option 2 is Max-Message-Size (§5.3.1)
        csm_opts = [uint_opt(2, max_message_size)] if max_message_size else []
        self.send(encode(0xE1, b"", csm_opts))

    def send(self, data):
        self.sock.sendall(data)

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("server closed the connection")
            self.buf += chunk

    def recv(self):
        """Returns the next message that is not a signal (CSM/Ping are handled here)."""
        while True:
            self._need(1)
            ln, tkl = self.buf[0] >> 4, self.buf[0] & 15
            ext = {13: 1, 14: 2, 15: 4}.get(ln, 0)
            self._need(1 + ext)
            if ext:
                extra = int.from_bytes(self.buf[1:1 + ext], "big")
                ln = extra + {13: 13, 14: 269, 15: 65805}[ln]
            total = 1 + ext + 1 + tkl + ln
            self._need(total)
            frame, self.buf = self.buf[:total], self.buf[total:]
            code = frame[1 + ext]
            token = frame[2 + ext:2 + ext + tkl]
            msg = Msg(code, token, *self._options(frame[2 + ext + tkl:]))
            if code == 0xE2:  # Ping -> Pong
                self.send(encode(0xE3, token))
            elif code < 0xE0:
                return msg

    @staticmethod
    def _options(data):
        options, i, last = [], 0, 0
        while i < len(data) and data[i] != 0xFF:
            d, l = data[i] >> 4, data[i] & 15
            i += 1
            vals = []
            for nib in (d, l):
                if nib == 13:
                    vals.append(data[i] + 13)
                    i += 1
                elif nib == 14:
                    vals.append(struct.unpack("!H", data[i:i + 2])[0] + 269)
                    i += 2
                else:
                    vals.append(nib)
            last += vals[0]
            options.append((last, data[i:i + vals[1]]))
            i += vals[1]
        return options, data[i + 1:] if i < len(data) else b""

    def request(self, code, path, queries=(), payload=b"", cf=None):
        opts = [(11, p.encode()) for p in path.strip("/").split("/")]
        opts += [(15, q.encode()) for q in queries]
        if cf is not None:
            opts.append(uint_opt(12, cf))
        self.send(encode(code, b"\x42", opts, payload))
        return self.recv()

    def reply(self, req, code, payload=b"", cf=None, observe=None, opts=()):
        opts = list(opts)
        if cf is not None:
            opts.append(uint_opt(12, cf))
        if observe is not None:
            opts.append(uint_opt(6, observe))
        self.send(encode(code, req.token, opts, payload))

    def close(self):
        self.sock.close()


# ---- the checks ----

def check_registration_tcp(srv, client, port):
    base = "coap+tcp://127.0.0.1:%d" % port
    out = coap_client(client, base + "/rd?ep=test&lt=60&lwm2m=1.1&b=U", "-m", "post", "-e", "</3/0>")
    reg = srv.wait_event("register", ep="test")
    assert reg["lt"] == 60 and reg["lwm2m"] == "1.1" and reg["b"] == "U" and reg["Q"] is False, reg
    assert reg["objects"] == "</3/0>" and reg["identity"] is None, reg
    assert reg["location"].startswith("/rd/") and reg["peer"].startswith("127.0.0.1:"), reg
    assert "4." not in out and "5." not in out, out
    loc = reg["location"]

    for query, reason in (("lt=60&lwm2m=1.1", "missing ep"), ("ep=x&lt=60", "missing lwm2m"),
                          ("ep=x&lwm2m=1.1&foo=1", "unknown parameter foo"), ("ep=x&lwm2m=1.1&lt=abc", None)):
        out = coap_client(client, base + "/rd?" + query, "-m", "post", "-e", "</3/0>")
        ev = srv.wait_event("register-rejected", code="4.00")
        assert reason is None or ev["reason"] == reason, (query, ev)
        assert "4.00" in out, (query, out)
    out = coap_client(client, base + "/rd?ep=x&lwm2m=1.1", "-m", "post", "-e", "</3/0>,junk")
    assert srv.wait_event("register-rejected", code="4.00")["reason"].startswith("link at offset"), out

    out = coap_client(client, base + loc + "?lt=120", "-m", "post")
    ev = srv.wait_event("update", location=loc)
    assert ev["lt"] == 120 and ev["ep"] == "test" and ev["objects"] is None, ev
    assert "4." not in out, out
    out = coap_client(client, base + loc + "?ep=other", "-m", "post")
    assert srv.wait_event("update-rejected", location=loc)["code"] == "4.00" and "4.00" in out, out
    out = coap_client(client, base + "/rd/999", "-m", "post")
    assert srv.wait_event("update-rejected", location="/rd/999")["code"] == "4.04" and "4.04" in out, out

    out = coap_client(client, base + loc, "-m", "delete")
    srv.wait_event("deregister", location=loc, ep="test")
    assert "4." not in out, out
    out = coap_client(client, base + loc, "-m", "delete")
    assert "4.04" in out, out
    coap_client(client, base + "/rd?ep=brief&lt=1&lwm2m=1.1", "-m", "post", "-e", "</3/0>")
    loc = srv.wait_event("register", ep="brief")["location"]
    srv.wait_event("expired", ep="brief", location=loc, timeout=5)
    out = coap_client(client, base + loc, "-m", "post")
    assert "4.04" in out, out
    print("ok: register/update/de-register/expiry over coap+tcp")


def check_registration_tls(srv, client, port):
    base = "coaps+tcp://127.0.0.1:%d" % port
    coap_client(client, base + "/rd?ep=sec&lt=300&lwm2m=1.1&b=UQ", "-m", "post", "-e", "</1/0>,</3/0>",
                "-u", PSK_ID, "-k", PSK_KEY)
    reg = srv.wait_event("register", ep="sec")
    assert reg["identity"] == PSK_ID and reg["b"] == "UQ" and reg["lt"] == 300, reg
    coap_client(client, base + reg["location"] + "?lt=600", "-m", "post", "-u", PSK_ID, "-k", PSK_KEY)
    assert srv.wait_event("update", location=reg["location"])["lt"] == 600
    coap_client(client, base + reg["location"], "-m", "delete", "-u", PSK_ID, "-k", PSK_KEY)
    srv.wait_event("deregister", location=reg["location"])
    # An identity the server does not know must not get through the handshake.
    coap_client(client, base + "/rd?ep=intruder&lwm2m=1.1", "-m", "post", "-u", "nobody", "-k", PSK_KEY)
    srv.no_event("register", 1.0)
    # The right identity with the wrong key fails too.
    coap_client(client, base + "/rd?ep=intruder&lwm2m=1.1", "-m", "post", "-u", PSK_ID, "-k", "wrongkey")
    srv.no_event("register", 1.0)
    print("ok: register/update/de-register over coaps+tcp with PSK")


def answer(dev, method, path, code, **kw):
    """Receives the server's next request, checks method and path, replies; returns the request."""
    req = dev.recv()
    assert req.code == method and req.path() == path, (code_str(req.code), req.path())
    dev.reply(req, code, **kw)
    return req


def check_requests(srv, port):
    dev = TcpDevice(port)
    resp = dev.request(0x02, "/rd", ["ep=dev", "lt=60", "lwm2m=1.1", "b=U"], b"</3/0>", cf=40)
    assert code_str(resp.code) == "2.01" and resp.opts(8)[0] == b"rd", (code_str(resp.code), resp.options)
    srv.wait_event("register", ep="dev")

    acc = srv.command("read dev /3/0/0")
    assert acc["event"] == "accepted" and acc["cmd"] == "read", acc
    answer(dev, 0x01, "/3/0/0", 0x45, payload=b"Acme", cf=0)
    ev = srv.wait_event("response", id=acc["id"])
    assert ev["ep"] == "dev" and ev["code"] == "2.05" and ev["format"] == 0, ev
    assert ev["payload"] == "Acme" and ev["payload_hex"] == "41636d65", ev

    acc = srv.command("read dev /3/0 accept=tlv")
    req = answer(dev, 0x01, "/3/0", 0x45, payload=b"\xc8\x00\x04Acme", cf=11542)
    assert req.uint(17) == 11542, req.options
    ev = srv.wait_event("response", id=acc["id"])
    assert ev["format"] == 11542 and ev["payload"] == ev["payload_hex"] == "c8000441636d65", ev

    acc = srv.command("write dev /1/0/1 opaque-hex 00ff10")
    req = answer(dev, 0x03, "/1/0/1", 0x44)
    assert req.payload == b"\x00\xff\x10" and req.uint(12) == 42, (req.payload, req.options)
    assert srv.wait_event("response", id=acc["id"])["code"] == "2.04"

    acc = srv.command("write-partial dev /1/0 senml-json [{\"n\":\"1\",\"v\":60}]")
    req = answer(dev, 0x02, "/1/0", 0x44)
    assert req.payload == b'[{"n":"1","v":60}]' and req.uint(12) == 110, req.payload
    srv.wait_event("response", id=acc["id"])

    acc = srv.command("exec dev /3/0/4 reboot now")
    req = answer(dev, 0x02, "/3/0/4", 0x44)
    assert req.payload == b"reboot now", req.payload
    srv.wait_event("response", id=acc["id"])

    acc = srv.command("discover dev /3")
    req = answer(dev, 0x01, "/3", 0x45, payload=b"</3>,</3/0/0>", cf=40)
    assert req.uint(17) == 40, req.options
    assert srv.wait_event("response", id=acc["id"])["payload"] == "</3>,</3/0/0>"

    acc = srv.command("write-attr dev /3/0/9 pmin=1&pmax=5")
    req = answer(dev, 0x03, "/3/0/9", 0x44)
    assert req.opts(15) == [b"pmin=1", b"pmax=5"], req.options
    srv.wait_event("response", id=acc["id"])

    acc = srv.command("create dev /1 tlv-hex 0800")
    req = answer(dev, 0x02, "/1", 0x41)
    assert req.payload == b"\x08\x00" and req.uint(12) == 11542
    assert srv.wait_event("response", id=acc["id"])["code"] == "2.01"

    acc = srv.command("delete dev /1/1")
    answer(dev, 0x04, "/1/1", 0x42)
    assert srv.wait_event("response", id=acc["id"])["code"] == "2.02"

    acc = srv.command("read-composite dev senml-json [{\"n\":\"/3/0/0\"}]")
    req = answer(dev, 0x05, "/", 0x45, payload=b'[{"n":"/3/0/0","vs":"Acme"}]', cf=110)
    assert req.uint(12) == 110 and req.uint(17) == 110, req.options
    srv.wait_event("response", id=acc["id"])
    print("ok: read/write/write-partial/exec/discover/write-attr/create/delete/read-composite")

    obs = srv.command("observe dev /3/0/13")
    req = dev.recv()
    assert req.code == 0x01 and req.uint(6) == 0 and req.path() == "/3/0/13", req.options
    dev.reply(req, 0x45, payload=b"100", cf=0, observe=1)
    assert srv.wait_event("response", id=obs["id"])["payload"] == "100"
    dev.reply(req, 0x45, payload=b"101", cf=0, observe=2)
    ev = srv.wait_event("notify", id=obs["id"])
    assert ev["observe"] == 2 and ev["payload"] == "101" and ev["ep"] == "dev", ev
    cancel = srv.command("cancel dev %d" % obs["id"])
    assert cancel["event"] == "accepted", cancel
    creq = dev.recv()
    assert creq.code == 0x01 and creq.uint(6) == 1 and creq.token == req.token, creq.options
    dev.reply(creq, 0x45, payload=b"102", cf=0)
    assert srv.wait_event("response", id=cancel["id"])["payload"] == "102"
    again = srv.command("cancel dev %d" % obs["id"])
    assert again["event"] == "error", again
    print("ok: observe, notify, proactive cancel")

    acc = srv.command("read dev /3/0/1")
    dev.recv()  # never answered: the server's --request-timeout (2 s) must report it
    ev = srv.wait_event("error", id=acc["id"], timeout=6)
    assert ev["detail"] == "timeout", ev

    for bad, why in (("read nobody /3/0/0", "unknown endpoint"), ("frobnicate dev", "unknown command"),
                     ("read dev 3/0", "path must start"), ("write dev /1/0/1 opaque-hex 0g", "bad hex"),
                     ("cancel dev 12345", "no active observation")):
        ev = srv.command(bad)
        assert ev["event"] == "error" and why in ev["detail"], (bad, ev)

    acc = srv.command("list")
    items = srv.wait_event("registrations", id=acc["id"])["items"]
    assert [i["ep"] for i in items] == ["dev"] and items[0]["connected"] is True, items

    acc = srv.command("observe dev /3/0/13")
    dev.recv()
    dev.close()
    srv.wait_event("session-closed", ep="dev")
    assert srv.wait_event("error", id=acc["id"])["detail"] == "session closed"
    ev = srv.command("read dev /3/0/0")
    assert ev["event"] == "error" and "no open session" in ev["detail"], ev
    print("ok: timeouts, bad commands, list, session close")


BLOCK1, BLOCK2, SIZE1 = 27, 23, 60  # RFC 7959 §2.1, §4
CONTINUE, CHANGED, CONTENT, TOO_LARGE = 0x5F, 0x44, 0x45, 0x8D  # 2.31, 2.04, 2.05, 4.13


def block_value(num, more, szx):
    return num << 4 | more << 3 | szx


def receive_block1(dev, path, first=None):
    """Takes a whole Block1 upload (RFC 7959 §2.5): answers 2.31 to each block and 2.04 to the last. Returns the
    body and the block sizes seen."""
    body, sizes = b"", []
    req = first
    while True:
        req = req or dev.recv()
        assert req.path() == path, req.path()
        b1 = req.uint(BLOCK1)
        assert b1 is not None, "expected a Block1 transfer, got one message of %d bytes" % len(req.payload)
        num, more, szx = b1 >> 4, b1 >> 3 & 1, b1 & 7
        assert num * (16 << szx) == len(body), (num, szx, len(body))
        body += req.payload
        sizes.append(16 << szx)
        dev.reply(req, CONTINUE if more else CHANGED, opts=[uint_opt(BLOCK1, block_value(num, more, szx))])
        if not more:
            return body, sizes
        req = None


def check_blockwise(srv, client, port):
    """RFC 7959 through the server: a Register and an Update whose object lists come in 64-byte Block1 blocks from
    libcoap's coap-client are reassembled (b=U&Q reports b and Q); a Block2 response is reported once, whole; a
    4.13 with a smaller Block1 size or a Size1 makes the server send its request again in smaller blocks
    (§2.9.3), and a 4.13 without either is reported as it is."""
    base = "coap+tcp://127.0.0.1:%d" % port
    links = ",".join("</%d/0>" % i for i in range(1, 30))
    links = links[:links.rindex(",", 0, 120)]
    links += ",</99/0>;x=" + "y" * (140 - len(links) - 11)
    assert len(links) == 140, len(links)
    out = coap_client(client, base + "/rd?ep=blk&lt=60&lwm2m=1.1&b=U&Q", "-m", "post", "-b", "64", "-e", links)
    reg = srv.wait_event("register", ep="blk")
    assert reg["objects"] == links and reg["b"] == "U" and reg["Q"] is True, reg
    assert "4." not in out, out
    links2 = links.replace("</1/0>", "</1/1>")
    out = coap_client(client, base + reg["location"] + "?lt=90", "-m", "post", "-b", "64", "-e", links2)
    upd = srv.wait_event("update", location=reg["location"])
    assert upd["objects"] == links2 and upd["lt"] == 90, upd
    assert "4." not in out, out
    coap_client(client, base + reg["location"], "-m", "delete")
    srv.wait_event("deregister", location=reg["location"])

    dev = TcpDevice(port)
    dev.request(0x02, "/rd", ["ep=bdev", "lt=60", "lwm2m=1.1"], b"</3/0>", cf=40)
    srv.wait_event("register", ep="bdev")

    # Block2: 200 bytes in 64-byte blocks, asked for by libcoap, reported once
    body = bytes(range(200))
    acc = srv.command("read bdev /5/0/0")
    while True:
        req = dev.recv()
        b2 = req.uint(BLOCK2) or 0
        num = b2 >> 4
        chunk = body[num * 64:(num + 1) * 64]
        more = int((num + 1) * 64 < len(body))
        dev.reply(req, CONTENT, chunk, cf=42, opts=[uint_opt(BLOCK2, block_value(num, more, 2))])
        if not more:
            break
    ev = srv.wait_event("response", id=acc["id"])
    assert ev["code"] == "2.05" and ev["payload_hex"] == body.hex(), ev

    # a 4.13 whose Block1 asks for 64-byte blocks: the 3000 bytes go again from the start in 64-byte blocks
    acc = srv.command("write bdev /5/0/0 bytes 3000")
    first = dev.recv()
    assert first.uint(BLOCK1) is not None and 16 << (first.uint(BLOCK1) & 7) > 64, first.options
    dev.reply(first, TOO_LARGE, opts=[uint_opt(BLOCK1, block_value(0, 0, 2))])
    got, sizes = receive_block1(dev, "/5/0/0")
    assert got == bytes(i % 251 for i in range(3000)) and set(sizes) == {64}, sizes
    ev = srv.wait_event("retry", id=acc["id"])
    assert ev["code"] == "4.13" and ev["block_size"] == 64, ev
    assert srv.wait_event("response", id=acc["id"])["code"] == "2.04"

    # a 4.13 with Size1 100 to a request in one message: sent again in blocks that fit (64 bytes)
    acc = srv.command("write bdev /5/0/0 bytes 300")
    first = dev.recv()
    assert first.uint(BLOCK1) is None and len(first.payload) == 300, first.options
    dev.reply(first, TOO_LARGE, opts=[uint_opt(SIZE1, 100)])
    got, sizes = receive_block1(dev, "/5/0/0")
    assert got == bytes(i % 251 for i in range(300)) and set(sizes) == {64}, sizes
    assert srv.wait_event("retry", id=acc["id"])["block_size"] == 64
    assert srv.wait_event("response", id=acc["id"])["code"] == "2.04"

    # nothing smaller to try (Size1 as large as the body; then none at all): the 4.13 is the answer
    for opts in ([uint_opt(SIZE1, 300)], []):
        acc = srv.command("write bdev /5/0/0 bytes 300")
        dev.reply(dev.recv(), TOO_LARGE, opts=opts)
        ev = srv.wait(lambda e: e.get("id") == acc["id"] and e.get("event") in ("retry", "response"),
                      "the 4.13 reported")
        assert ev["event"] == "response" and ev["code"] == "4.13", ev
    # write-noblock is meant to provoke a 4.13: never sent again
    acc = srv.command("write-noblock bdev /5/0/0 bytes 300")
    dev.reply(dev.recv(), TOO_LARGE, opts=[uint_opt(SIZE1, 100)])
    ev = srv.wait(lambda e: e.get("id") == acc["id"] and e.get("event") in ("retry", "response"), "noblock's 4.13")
    assert ev["event"] == "response" and ev["code"] == "4.13" and ev["size1"] == 100, ev
    dev.close()
    srv.wait_event("session-closed", ep="bdev")
    print("ok: Block1 Register/Update from coap-client, b and Q, Block2 response, 4.13 retries smaller")


def make_certs(d):
    """A CA and a server and a client certificate signed by it, with the openssl command line tool."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=WAIT)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "2", "-subj", "/CN=ca")
    for n in ("server", "client"):
        run("req", *ec, "-keyout", "%s/%s.key" % (d, n), "-out", "%s/%s.csr" % (d, n), "-subj", "/CN=" + n)
        run("x509", "-req", "-in", "%s/%s.csr" % (d, n), "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
            "-CAcreateserial", "-out", "%s/%s.crt" % (d, n), "-days", "2")


def check_x509(binary, client):
    if not shutil.which("openssl"):
        print("skip: X.509 check (no openssl command)")
        return
    with tempfile.TemporaryDirectory() as d:
        make_certs(d)
        srv = Server(binary, "--tcp", "-1", "--tls", "0", "--ca", d + "/ca.crt", "--cert", d + "/server.crt",
                     "--key", d + "/server.key", "--verify-peer")
        try:
            port = srv.wait_event("listening", tcp=None)["tls"]
            url = "coaps+tcp://127.0.0.1:%d/rd?ep=%s&lwm2m=1.1"
            coap_client(client, url % (port, "nocert"), "-m", "post", "-e", "</3/0>")
            srv.no_event("register", 1.0)
            coap_client(client, url % (port, "x509"), "-m", "post", "-e", "</3/0>", "-c", d + "/client.crt",
                        "-j", d + "/client.key", "-C", d + "/ca.crt")
            srv.wait_event("register", ep="x509")
        except BaseException:
            sys.stderr.write("server stderr:\n" + "".join(srv.stderr))
            raise
        finally:
            srv.stop()
    print("ok: X.509 with client verification")


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    client_tcp, client_tls = find_coap_client(False), find_coap_client(True)
    srv = Server(sys.argv[1], "--tcp", "0", "--tls", "0", "--psk", PSK_ID + ":" + PSK_KEY.encode().hex(),
                 "--psk", "other:00112233", "--request-timeout", "2")
    try:
        listening = srv.wait_event("listening")
        assert listening["tcp"] > 0 and listening["tls"] > 0, listening
        check_registration_tcp(srv, client_tcp, listening["tcp"])
        check_registration_tls(srv, client_tls, listening["tls"])
        check_requests(srv, listening["tcp"])
        check_blockwise(srv, client_tcp, listening["tcp"])
        acc = srv.command("quit")
        assert acc["event"] == "accepted", acc
        assert srv.proc.wait(timeout=WAIT) == 0, "server exit status"
    except BaseException:
        sys.stderr.write("server stderr:\n" + "".join(srv.stderr))
        raise
    finally:
        srv.stop()
    check_x509(sys.argv[1], client_tls)
    print("server_selftest: all checks passed")


if __name__ == "__main__":
    main()
