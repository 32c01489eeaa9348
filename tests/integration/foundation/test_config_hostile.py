"""Hostile configuration files against the running daemon (issue 16 item 8, label reliability). A SIGHUP whose file
includes a FIFO, a directory or a file past the size limit is refused at once: the daemon keeps running on its old
configuration, applies the next good reload, and stops on SIGTERM. (The old loader blocked in open() on the FIFO,
so SIGTERM went unanswered; a directory made libconfig's scanner exit() the process.) At start, a state directory
that others may enter is warned about."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import Daemon, Workdir, config_text, run_tests, wait_for  # noqa: E402

LPWAGW = sys.argv[1]


def daemon(name):
    work = Workdir(name)
    state = os.path.join(work.path, "state")
    os.mkdir(state)
    os.chmod(state, 0o777)
    # no broker needed: telemetry off
    good = config_text(state_dir=state).replace("enabled = true; host", "enabled = false; host")
    cfg = work.file("lpwagw.conf", good)
    d = Daemon(LPWAGW, work, cfg).start()
    d.wait_log("started")
    return work, d, cfg, good


def reload_refused(d, cfg, text, why):
    """Writes text to the configuration, sends SIGHUP and waits for the refusal that names why."""
    with open(cfg, "w") as f:
        f.write(text)
    seen = d.log().count("reload of")
    d.kill(signal.SIGHUP)
    wait_for(lambda: d.log().count("reload of") > seen, 10, "the reload refused")
    assert why in d.log(), d.log()[-2000:]
    assert d.alive()


def good_reload_and_stop(d, cfg, good):
    """The loop still serves: a good file is applied, and SIGTERM stops the daemon cleanly."""
    with open(cfg, "w") as f:
        f.write(good.replace('level = "debug"', 'level = "info"'))
    d.kill(signal.SIGHUP)
    d.wait_log("configuration reloaded", 10)
    assert d.stop(signal.SIGTERM, timeout=10) == 0


def test_state_dir_warning_at_start():
    work, d, cfg, good = daemon("hostile-state")
    assert f"state_dir: warning: {work.path}/state is accessible by group or others (mode 0777)" in d.log()
    assert d.stop(signal.SIGTERM, timeout=10) == 0


def test_reload_fifo():
    work, d, cfg, good = daemon("hostile-fifo")
    fifo = os.path.join(work.path, "devices.fifo")
    os.mkfifo(fifo)
    reload_refused(d, cfg, good + '@include "devices.fifo"\n', f"{fifo} is a FIFO, not a regular file")
    good_reload_and_stop(d, cfg, good)


def test_reload_directory():
    work, d, cfg, good = daemon("hostile-dir")
    os.mkdir(os.path.join(work.path, "conf.d"))
    reload_refused(d, cfg, good + '@include "conf.d"\n', "conf.d is a directory, not a regular file")
    good_reload_and_stop(d, cfg, good)


def test_reload_too_big():
    work, d, cfg, good = daemon("hostile-big")
    big = work.file("big.inc", "# " + "x" * (9 << 20) + "\n")
    reload_refused(d, cfg, good + f'@include "{big}"\n', "makes the configuration larger than 8388608 bytes")
    good_reload_and_stop(d, cfg, good)


if __name__ == "__main__":
    run_tests([test_state_dir_warning_at_start, test_reload_fifo, test_reload_directory, test_reload_too_big])
