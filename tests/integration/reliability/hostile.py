"""A CoAP-over-TCP/TLS "server" that breaks the rules on purpose, for the reliability tests: each accepted
connection plays the next scenario of a list (raw bytes, timings, closes), and records what the gateway sent
and when it closed. Also a loop-stall probe: CoAP pings from a device address, whose RST answers measure how long
the gateway's loop could not serve anyone."""
import socket
import ssl
import threading
import time

ABORT = 0xe5  # RFC 8323 §5.6
CSM_VALID = bytes.fromhex("40e122048020")  # what libcoap 4.3.1 sends: Max-Message-Size 1152, Block-Wise-Transfer


def frames(data):
    """Splits RFC 8323 TCP-framed messages; returns [(code, bytes)] for the complete ones."""
    out, i = [], 0
    while i < len(data):
        lnib, tkl = data[i] >> 4, data[i] & 15
        ext = {13: 1, 14: 2, 15: 4}.get(lnib, 0)
        if i + 1 + ext + 1 > len(data):
            break
        body = lnib if not ext else int.from_bytes(data[i + 1:i + 1 + ext], "big") + {1: 13, 2: 269, 4: 65805}[ext]
        total = 1 + ext + 1 + tkl + body
        if i + total > len(data):
            break
        out.append((data[i + 1 + ext], data[i:i + total]))
        i += total
    return out


class Conn:
    def __init__(self, sock, index):
        self.sock, self.index = sock, index
        self.received = b""
        self.closed_by_peer = threading.Event()
        self.accepted_at = time.monotonic()
        self.closed_at = None

    def codes(self):
        return [c for c, _ in frames(self.received)]

    def got_abort(self):
        return ABORT in self.codes()

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def wait_closed(self, timeout):
        return self.closed_by_peer.wait(timeout)


class HostileServer:
    """Listens on a free loopback port; connection k runs scenarios[k] (the last one repeats)."""

    def __init__(self, scenarios, tls_context=None):
        self.scenarios = scenarios
        self.tls = tls_context
        self.conns = []
        self.cond = threading.Condition()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            if self.tls:
                try:
                    s.settimeout(5)
                    s = self.tls.wrap_socket(s, server_side=True)
                    s.settimeout(None)
                except (OSError, ssl.SSLError):
                    s.close()
                    continue
            with self.cond:
                c = Conn(s, len(self.conns))
                self.conns.append(c)
                self.cond.notify_all()
            threading.Thread(target=self._read, args=(c,), daemon=True).start()
            scen = self.scenarios[min(c.index, len(self.scenarios) - 1)]
            threading.Thread(target=self._play, args=(c, scen), daemon=True).start()

    def _read(self, c):
        while True:
            try:
                b = c.sock.recv(4096)
            except (OSError, ssl.SSLError):
                b = b""
            if not b:
                c.closed_at = time.monotonic()
                c.closed_by_peer.set()
                return
            c.received += b

    def _play(self, c, scen):
        try:
            scen(c)
        except (OSError, ssl.SSLError):
            pass

    def wait_conn(self, index, timeout):
        end = time.monotonic() + timeout
        with self.cond:
            while len(self.conns) <= index:
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no connection #{index} within {timeout}s")
                self.cond.wait(left)
            return self.conns[index]

    def close(self):
        self.ls.close()
        for c in self.conns:
            try:
                c.sock.close()
            except OSError:
                pass


class StallProbe:
    """CoAP pings (Empty CON, RFC 7252 §4.3) from a configured device's address to the gateway's SGi port, every
    `interval` s; the gateway answers each with RST from its loop. The worst round trip is the loop's worst stall
    (plus scheduling noise); a ping unanswered for 2 s counts as a 2 s stall."""

    def __init__(self, sgi_port, bind="127.0.0.9", interval=0.01):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((bind, 0))
        self.s.settimeout(2.0)
        self.target = ("127.0.0.1", sgi_port)
        self.interval = interval
        self.worst = 0.0
        self.count = 0
        self.running = True
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        mid = 0
        while self.running:
            mid = (mid + 1) & 0xffff
            t0 = time.monotonic()
            self.s.sendto(bytes([0x40, 0x00, mid >> 8, mid & 0xff]), self.target)
            try:
                while True:
                    data, _ = self.s.recvfrom(64)
                    if len(data) >= 4 and data[0] >> 4 & 3 == 3 and data[2:4] == bytes([mid >> 8, mid & 0xff]):
                        break
            except socket.timeout:
                pass
            rtt = time.monotonic() - t0
            self.worst = max(self.worst, rtt)
            self.count += 1
            time.sleep(self.interval)

    def stop(self):
        self.running = False
        self.t.join(5)
        self.s.close()
        return self.worst
