"""systemd notifications (issue 14 item 2), seen through a fake NOTIFY_SOCKET the test binds: READY=1 once the SGi
socket is bound and the store is open, STATUS= lines, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM,
WATCHDOG=1 every half of WATCHDOG_USEC, and no WATCHDOG=1 while the loop is stalled on purpose (test hook)."""
import errno
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import Daemon, Workdir, config_text, free_port, run_tests, wait_for  # noqa: E402

LPWAGW = sys.argv[1]


class FakeSystemd:
    """A datagram socket standing in for systemd's notification socket; keeps (monotonic time, assignments)."""

    def __init__(self, work, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"lpwtest-notify-{os.getpid()}-{time.monotonic_ns()}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.address = os.path.join(work.path, "notify.sock")
            self.sock.bind(self.address)
        self.msgs = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
            self.msgs.append((time.monotonic(), fields))

    def wait(self, key, value=None, start=0, timeout=10):
        def find():
            for i, (_, f) in enumerate(self.msgs[start:], start):
                if key in f and (value is None or f[key] == value):
                    return i + 1
            return None
        return wait_for(find, timeout, f"{key}={value or '*'} on the notification socket")

    def times(self, key):
        return [t for t, f in self.msgs if key in f]


def start_daemon(work, env, sgi_port):
    text = config_text(state_dir=os.path.join(work.path, "state")).replace("enabled = true; host",
                                                                           "enabled = false; host")
    text += f'bindings: {{ nidd_sgi: {{ enabled = true; listen = "127.0.0.1"; port = {sgi_port}; }}; }};\n'
    cfg = work.file("lpwagw.conf", text)
    saved = dict(os.environ)
    os.environ.update(env)  # the daemon inherits the environment the harness spawns it with
    try:
        return Daemon(LPWAGW, work, cfg).start()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def port_in_use(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return False
        except OSError as e:
            return e.errno == errno.EADDRINUSE


def test_ready_reload_stopping():
    work = Workdir("notify")
    fake = FakeSystemd(work, abstract=True)  # '@' names: what systemd uses in some setups
    sgi = free_port(socket.SOCK_DGRAM)
    d = start_daemon(work, {"NOTIFY_SOCKET": fake.address}, sgi)
    i = fake.wait("READY", "1")
    # READY=1 comes after start-up: the SGi socket is bound and the store exists when it arrives.
    assert port_in_use(sgi), "READY=1 before the SGi socket was bound"
    assert os.path.exists(os.path.join(work.path, "state", "lpwagw.db")), "READY=1 before the store was opened"
    assert fake.msgs[i - 1][1].get("STATUS", "").startswith("running"), fake.msgs[i - 1]
    assert not fake.times("WATCHDOG"), "WATCHDOG=1 without WATCHDOG_USEC"
    d.kill(signal.SIGHUP)
    j = fake.wait("RELOADING", "1", start=i)
    assert int(fake.msgs[j - 1][1]["MONOTONIC_USEC"]) > 0, fake.msgs[j - 1]
    fake.wait("READY", "1", start=j)
    assert d.stop(signal.SIGTERM) == 0
    k = fake.wait("STOPPING", "1", start=j)
    assert fake.msgs[k - 1][1].get("STATUS") == "stopping", fake.msgs[k - 1]


def test_watchdog_and_stalled_loop():
    work = Workdir("watchdog")
    fake = FakeSystemd(work)  # a filesystem path this time
    env = {"NOTIFY_SOCKET": fake.address, "WATCHDOG_USEC": "200000", "LPW_TEST_STALL_ON_SIGUSR2": "2"}
    d = start_daemon(work, env, free_port(socket.SOCK_DGRAM))
    fake.wait("READY", "1")
    d.wait_log("test hook armed")
    # 200 ms watchdog: a ping every 100 ms. Ten of them, none late.
    wait_for(lambda: len(fake.times("WATCHDOG")) >= 10, 10, "ten WATCHDOG=1 pings")
    pings = fake.times("WATCHDOG")
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert max(gaps) < 0.6, f"pings late before the stall: {gaps}"  # loose: a busy CI machine
    # Stall the loop for 2 s: the pings stop (systemd would kill us after 200 ms), then resume.
    before = len(pings)
    d.kill(signal.SIGUSR2)
    d.wait_log("test hook: stall over", timeout=10)
    wait_for(lambda: len(fake.times("WATCHDOG")) >= before + 3, 10, "WATCHDOG=1 again after the stall")
    pings = fake.times("WATCHDOG")
    gaps = [b - a for a, b in zip(pings[before - 1:], pings[before:])]
    assert max(gaps) >= 1.8, f"WATCHDOG=1 went on while the loop was stalled: gaps {gaps}"
    assert d.stop(signal.SIGTERM) == 0


if __name__ == "__main__":
    run_tests([test_ready_reload_stopping, test_watchdog_and_stalled_loop])
