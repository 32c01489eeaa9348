#!/usr/bin/env python3
"""device-sim self-test: this script plays the gateway's SGi side on a loopback UDP socket.

Usage: test_device_sim.py PATH-TO-device-sim
Checks Register (query and payload), 2.01 with Location-Path rd/5, GET /3/0/0 == "lpwagw", duplicate CON
detection, ping -> RST, Observe with two notifications and RST cancel, and De-register on the `deregister`
command. Every wait is bounded; the simulator is killed on any failure.
"""
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

CON, NON, ACK, RST = 0, 1, 2, 3
GET, POST, PUT, DELETE = 1, 2, 3, 4
URI_PATH, CONTENT_FORMAT, URI_QUERY, OBSERVE, LOCATION_PATH, ACCEPT = 11, 12, 15, 6, 8, 17
CREATED, DELETED, CHANGED, CONTENT = 0x41, 0x42, 0x44, 0x45

DEVICE_ADDR = "127.0.0.2"
REGISTER_PAYLOAD = b'</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>,</3303/0>'


def fail(msg):
    raise AssertionError(msg)


def _ext(v):
    if v < 13:
        return v, b""
    if v < 269:
        return 13, bytes([v - 13])
    return 14, struct.pack("!H", v - 269)


def encode(mtype, code, mid, token=b"", options=(), payload=b""):
    out = bytearray([0x40 | mtype << 4 | len(token), code]) + struct.pack("!H", mid) + token
    last = 0
    for num, val in sorted(options, key=lambda o: o[0]):
        d, dx = _ext(num - last)
        l, lx = _ext(len(val))
        out += bytes([d << 4 | l]) + dx + lx + val
        last = num
    if payload:
        out += b"\xff" + payload
    return bytes(out)


def decode(data):
    if len(data) < 4 or data[0] >> 6 != 1:
        fail("bad CoAP header: %r" % data)
    tkl = data[0] & 0x0F
    msg = {"type": (data[0] >> 4) & 3, "code": data[1], "mid": struct.unpack("!H", data[2:4])[0],
           "token": data[4:4 + tkl], "options": [], "payload": b"", "raw": data}
    pos, num = 4 + tkl, 0
    while pos < len(data):
        if data[pos] == 0xFF:
            msg["payload"] = data[pos + 1:]
            break
        d, l = data[pos] >> 4, data[pos] & 0x0F
        pos += 1
        vals = []
        for nib in (d, l):
            if nib == 13:
                vals.append(13 + data[pos])
                pos += 1
            elif nib == 14:
                vals.append(269 + struct.unpack("!H", data[pos:pos + 2])[0])
                pos += 2
            else:
                vals.append(nib)
        num += vals[0]
        msg["options"].append((num, data[pos:pos + vals[1]]))
        pos += vals[1]
    return msg


def opts(msg, num):
    return [v for n, v in msg["options"] if n == num]


def uint(b):
    return int.from_bytes(b, "big") if b else 0


class Harness:
    def __init__(self, binary):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.proc = subprocess.Popen(
            [binary, "--link", "udp", "--gateway", "127.0.0.1:%d" % self.port, "--bind", DEVICE_ADDR,
             "--endpoint", "sim-test", "--lifetime", "300", "--binding", "UQ", "--notify-interval", "1",
             "--control", "stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.outbuf = b""
        self.events = []
        self.device = None
        self.mid = 0x7000

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)
        self.sock.close()

    def command(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def _pump_stdout(self):
        try:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
        except BlockingIOError:
            return
        self.outbuf += chunk
        while b"\n" in self.outbuf:
            line, self.outbuf = self.outbuf.split(b"\n", 1)
            self.events.append(json.loads(line))

    def recv(self, pred, what, timeout=5.0):
        """Next datagram from the device for which pred(msg) holds; others are dropped (e.g. retransmissions)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                fail("timed out waiting for " + what)
            r, _, _ = select.select([self.sock, self.proc.stdout], [], [], left)
            if self.proc.stdout in r:
                self._pump_stdout()
            if self.sock in r:
                data, addr = self.sock.recvfrom(65535)
                if addr[0] != DEVICE_ADDR:
                    fail("datagram from %s, expected the device's own address %s" % (addr[0], DEVICE_ADDR))
                self.device = addr
                msg = decode(data)
                if pred(msg):
                    return msg

    def event(self, name, timeout=5.0, **fields):
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("event") == name and all(ev.get(k) == v for k, v in fields.items()):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                fail("no %s event with %r; saw %r" % (name, fields, self.events))
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                self._pump_stdout()

    def event_after(self, name, timeout=5.0, **fields):
        """Like event(), and also returns the events the device printed before it, in order."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("event") == name and all(ev.get(k) == v for k, v in fields.items()):
                    return self.events.pop(i), self.events[:i]
            left = deadline - time.monotonic()
            if left <= 0:
                fail("no %s event with %r; saw %r" % (name, fields, self.events))
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                self._pump_stdout()

    def send(self, data):
        self.sock.sendto(data, self.device)

    def request(self, code, path, token, options=(), payload=b"", mtype=CON):
        self.mid += 1
        o = [(URI_PATH, seg.encode()) for seg in path.strip("/").split("/") if seg] + list(options)
        data = encode(mtype, code, self.mid, token, o, payload)
        self.send(data)
        return self.mid, data


def check_register(h):
    reg = h.recv(lambda m: m["code"] == POST and m["type"] == CON, "Register")
    if opts(reg, URI_PATH) != [b"rd"]:
        fail("Register Uri-Path %r" % opts(reg, URI_PATH))
    queries = sorted(q.decode() for q in opts(reg, URI_QUERY))
    if queries != sorted(["ep=sim-test", "lt=300", "lwm2m=1.1", "b=UQ"]):
        fail("Register queries %r" % queries)
    if [uint(v) for v in opts(reg, CONTENT_FORMAT)] != [40]:
        fail("Register Content-Format %r" % opts(reg, CONTENT_FORMAT))
    if reg["payload"] != REGISTER_PAYLOAD:
        fail("Register payload %r" % reg["payload"])
    h.send(encode(ACK, CREATED, reg["mid"], reg["token"], [(LOCATION_PATH, b"rd"), (LOCATION_PATH, b"5")]))
    h.event("registered", location="/rd/5", ep="sim-test")


def check_read_and_duplicates(h):
    mid, data = h.request(GET, "/3/0/0", b"\x01\x02")
    rsp = h.recv(lambda m: m["type"] == ACK and m["mid"] == mid, "GET /3/0/0 response")
    if rsp["code"] != CONTENT or rsp["payload"] != b"lpwagw" or rsp["token"] != b"\x01\x02":
        fail("GET /3/0/0 answered %r" % rsp)
    h.event("request", method="GET", path="/3/0/0", code="2.05")
    h.send(data)  # the same CON again: answered from the cache, byte for byte
    again = h.recv(lambda m: m["type"] == ACK and m["mid"] == mid, "duplicate answer")
    if again["raw"] != rsp["raw"]:
        fail("duplicate CON answered differently")
    h.mid += 1
    h.send(encode(CON, 0, h.mid))  # CoAP ping
    h.recv(lambda m: m["type"] == RST and m["mid"] == h.mid and m["code"] == 0, "RST to ping")
    mid, _ = h.request(GET, "/9/0", b"\x03")
    rsp = h.recv(lambda m: m["type"] == ACK and m["mid"] == mid, "GET /9/0 response")
    if rsp["code"] != 0x84:
        fail("unknown object answered %d.%02d" % (rsp["code"] >> 5, rsp["code"] & 31))


def check_observe(h):
    tok = b"\xa0\xb0"
    mid, _ = h.request(GET, "/3303/0/5700", tok, [(OBSERVE, b"")])
    rsp = h.recv(lambda m: m["type"] == ACK and m["mid"] == mid, "Observe response")
    if rsp["code"] != CONTENT or not opts(rsp, OBSERVE):
        fail("Observe registration answered %r" % rsp)
    last = uint(opts(rsp, OBSERVE)[0])
    notes = []
    while len(notes) < 2:
        n = h.recv(lambda m: m["token"] == tok and m["type"] in (CON, NON) and m["mid"] not in
                   [x["mid"] for x in notes], "notification %d" % (len(notes) + 1), timeout=4)
        seq = uint(opts(n, OBSERVE)[0])
        if n["code"] != CONTENT or seq <= last or not n["payload"]:
            fail("bad notification %r" % n)
        last = seq
        notes.append(n)
        if len(notes) == 1 and n["type"] == CON:
            h.send(encode(ACK, 0, n["mid"]))
    h.event("notify", path="/3303/0/5700")
    h.send(encode(RST, 0, notes[1]["mid"]))
    _, before = h.event_after("observe-cancelled", path="/3303/0/5700", how="rst")
    # A notification the device sent before it took the RST may still be on its way (a loaded machine delays the
    # RST); one sent after it is the failure. The device prints each notification it sends.
    sent_before = {e.get("observe") for e in before if e.get("event") == "notify"}
    # no more notifications after the cancel (interval is 1 s: wait 2.5 s)
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        r, _, _ = select.select([h.sock], [], [], deadline - time.monotonic())
        if r:
            m = decode(h.sock.recv(65535))
            if m["token"] == tok and m["mid"] != notes[1]["mid"] and \
                    (not opts(m, OBSERVE) or uint(opts(m, OBSERVE)[0]) not in sent_before):
                fail("notification after RST: %r" % m)


def check_deregister(h):
    h.command("deregister")
    dereg = h.recv(lambda m: m["code"] == DELETE, "De-register")
    if opts(dereg, URI_PATH) != [b"rd", b"5"]:
        fail("De-register path %r" % opts(dereg, URI_PATH))
    h.send(encode(ACK, DELETED, dereg["mid"], dereg["token"]))
    h.event("deregistered", location="/rd/5")
    h.command("quit")
    try:
        rc = h.proc.wait(timeout=8)
    except subprocess.TimeoutExpired:
        fail("device-sim did not exit on quit")
    if rc != 0:
        fail("device-sim exited with %d" % rc)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    h = Harness(sys.argv[1])
    try:
        check_register(h)
        check_read_and_duplicates(h)
        check_observe(h)
        check_deregister(h)
    finally:
        h.close()
    print("device-sim self-test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
