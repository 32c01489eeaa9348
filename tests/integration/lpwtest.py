"""Shared helpers for lpwagw's integration tests: free ports, a real mosquitto broker, the daemon with a
generated configuration, MQTT subscriptions through mosquitto_sub, and cleanup of every process started."""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

_procs = []
_daemons = []


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))


def spawn(args, **kw):
    """Starts a process that is killed at exit whatever happens."""
    p = subprocess.Popen(args, **kw)
    _procs.append(p)
    return p


def free_port(kind=socket.SOCK_STREAM, host="127.0.0.1"):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_port(port, host="127.0.0.1", timeout=10.0):
    def up():
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            return False
    wait_for(up, timeout, f"port {port}")


class Workdir:
    def __init__(self, name):
        self.path = tempfile.mkdtemp(prefix=f"lpw-{name}-")
        atexit.register(lambda: shutil.rmtree(self.path, ignore_errors=True))

    def file(self, name, text, mode=0o644):
        p = os.path.join(self.path, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p


class Broker:
    """A real mosquitto on a free loopback port, persistence off."""

    def __init__(self, work, port=None):
        self.work = work
        self.port = port or free_port()
        self.proc = None

    def start(self):
        conf = self.work.file(f"mosquitto-{self.port}.conf",
                              f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.proc = spawn(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)

    def sub(self, topic, count=1, timeout=10, retained_only=False):
        """Returns up to `count` (topic, payload) pairs received on topic within timeout seconds."""
        args = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "-t", topic, "-v",
                "-C", str(count), "-W", str(int(timeout))]
        if retained_only:
            args.append("--retained-only")
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout + 5)
        out = []
        for line in r.stdout.splitlines():
            t, _, payload = line.partition(" ")
            out.append((t, payload))
        return out

    def sub_json(self, topic, timeout=10, retained_only=False):
        if retained_only:
            return self.retained(topic, timeout=timeout)
        msgs = self.sub(topic, 1, timeout)
        assert msgs, f"no message on {topic} within {timeout}s"
        return json.loads(msgs[0][1])

    def retained(self, topic, pred=lambda j: True, timeout=10):
        """The retained message on topic once it satisfies pred (mosquitto_sub --retained-only exits at the first
        live message, so short subscriptions are repeated until one returns the retained payload)."""
        def look():
            msgs = self.sub(topic, 1, 1, retained_only=True)
            if msgs:
                j = json.loads(msgs[0][1])
                if pred(j):
                    return j
            return None
        return wait_for(look, timeout, f"retained message on {topic}")


class Collector:
    """A long-running mosquitto_sub that keeps every message, so a test can wait for one in the stream."""

    def __init__(self, broker, topic):
        self.msgs = []
        self.proc = spawn(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic, "-v"],
                          stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            t, _, payload = line.rstrip("\n").partition(" ")
            self.msgs.append((t, payload))

    def wait(self, pred, timeout=10, what="message"):
        def find():
            for t, p in list(self.msgs):
                try:
                    j = json.loads(p)
                except ValueError:
                    j = p
                if pred(t, j):
                    return (t, j)
            return None
        return wait_for(find, timeout, what)

    def stop(self):
        self.proc.kill()


def config_text(gateway_id="gw-test", state_dir="/tmp", mqtt_port=1883, interval=1, extra="", log_level="debug"):
    return f"""gateway_id = "{gateway_id}";
state_dir = "{state_dir}";
log: {{ level = "{log_level}"; target = "stderr"; }};
mqtt: {{ enabled = true; host = "127.0.0.1"; port = {mqtt_port}; topic_prefix = "lpwtest"; interval = {interval}; keepalive = 5; }};
{extra}
"""


class Daemon:
    """lpwagw in the foreground with its stderr kept in a file."""

    def __init__(self, binary, work, config_path):
        self.binary = binary
        self.work = work
        self.config = config_path
        self.log_path = os.path.join(work.path, f"lpwagw-{time.monotonic_ns()}.log")
        self.proc = None

    def start(self):
        _daemons.append(self)
        self.logf = open(self.log_path, "w")
        args = [self.binary, "--foreground", "--config", self.config]
        if os.geteuid() == 0:  # CI runs as root; the daemon refuses root without this (tests/integration/ops)
            args.append("--allow-root")
        self.proc = spawn(args, stdout=self.logf, stderr=subprocess.STDOUT)
        return self

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_log(self, text, timeout=10):
        return wait_for(lambda: text in self.log(), timeout, f"'{text}' in the gateway log")

    def kill(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def alive(self):
        return self.proc.poll() is None


def run_tests(tests):
    """Runs test functions in order; prints 'N passed, N failed' and exits non-zero on a failure."""
    passed = failed = 0
    for t in tests:
        name = t.__name__
        try:
            t()
            print(f"PASS {name}", flush=True)
            passed += 1
        except Exception as e:  # noqa: BLE001 - a test failure of any kind
            import traceback
            traceback.print_exc()
            print(f"FAIL {name}: {e}", flush=True)
            for d in _daemons:  # what the gateway said is usually the explanation
                print(f"--- last lines of {d.log_path} ---\n" + "\n".join(d.log().splitlines()[-60:]), flush=True)
            failed += 1
        finally:
            _cleanup()
            _procs.clear()
            _daemons.clear()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


class LineProc:
    """A tool that prints one JSON object per line and reads commands on stdin (test server, device-sim)."""

    def __init__(self, args, name):
        self.name = name
        self.events = []
        self.cond = threading.Condition()
        self.proc = spawn(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "unparsed", "line": line}
            with self.cond:
                self.events.append(event)
                self.cond.notify_all()
            if os.environ.get("LPW_TEST_DEBUG"):
                print(f"[{self.name}] {line}", flush=True)

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait(self, pred, timeout=10, what=None, start=0):
        """The first event from index `start` on that satisfies pred (a dict of expected fields, or a function)."""
        if isinstance(pred, dict):
            want = pred
            pred = lambda e: all(e.get(k) == v for k, v in want.items())  # noqa: E731

        end = time.monotonic() + timeout
        seen = start
        with self.cond:  # woken by each new event, so waiting adds no polling delay
            while True:
                for e in self.events[seen:]:
                    if pred(e):
                        return e
                seen = max(seen, len(self.events))
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {what or self.name + ' event'}")
                self.cond.wait(left)

    def mark(self):
        return len(self.events)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class TestServer(LineProc):
    """tools/lwm2m-test-server on free ports."""

    def __init__(self, binary, tcp=0, tls=None, psk=(), extra=()):
        args = [binary, "--tcp", str(tcp)]
        if tls is not None:
            args += ["--tls", str(tls)]
        for p in psk:
            args += ["--psk", p]
        super().__init__(args + list(extra), "server")
        ev = self.wait({"event": "listening"}, 10)
        self.tcp, self.tls = ev.get("tcp"), ev.get("tls")

    def request(self, cmd, timeout=10):
        """Sends a command; returns its final event (response or error)."""
        start = self.mark()
        self.send(cmd)
        acc = self.wait(lambda e: e.get("event") in ("accepted", "error"), timeout, f"'{cmd}' accepted", start)
        if acc["event"] == "error":
            return acc
        return self.wait(lambda e: e.get("id") == acc["id"] and e.get("event") in ("response", "error"), timeout,
                         f"answer to '{cmd}'", start)


class DeviceSim(LineProc):
    def __init__(self, binary, gateway_port, bind="127.0.0.2", endpoint="ep1", extra=()):
        args = [binary, "--link", "udp", "--gateway", f"127.0.0.1:{gateway_port}", "--bind", bind,
                "--endpoint", endpoint, "--control", "stdin"] + list(extra)
        super().__init__(args, "device")


def coap_client():
    """Debian ships libcoap's client only under backend-suffixed names."""
    for name in ("coap-client-openssl", "coap-client", "coap-client-gnutls"):
        if shutil.which(name):
            return name
    raise AssertionError("no coap-client found (package libcoap3-bin)")
