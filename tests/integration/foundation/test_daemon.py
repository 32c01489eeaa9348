"""Foundation, end to end: the real lpwagw against a real mosquitto broker, watched by a real MQTT subscriber."""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import Broker, Collector, Daemon, Workdir, config_text, run_tests  # noqa: E402

LPWAGW = sys.argv[1]
SRC = sys.argv[2]
TOPIC = "lpwtest/gw-test"


def setup(name, interval=1):
    work = Workdir(name)
    broker = Broker(work).start()
    cfg = work.file("lpwagw.conf", config_text(state_dir=os.path.join(work.path, "state"), mqtt_port=broker.port,
                                               interval=interval))
    return work, broker, cfg


def test_command_line():
    r = subprocess.run([LPWAGW, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("lpwagw "), r.stdout
    r = subprocess.run([LPWAGW, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--check-config" in r.stdout
    r = subprocess.run([LPWAGW, "--bogus"], capture_output=True, text=True)
    assert r.returncode == 2
    r = subprocess.run([LPWAGW, "--check-config", os.path.join(SRC, "config/lpwagw.conf.example")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([LPWAGW, "--config", "/nonexistent/lpwagw.conf", "--foreground", "--allow-root"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 1 and "/nonexistent/lpwagw.conf" in r.stderr, r.stderr


def test_online_stats_and_clean_stop():
    work, broker, cfg = setup("online")
    d = Daemon(LPWAGW, work, cfg).start()
    status = broker.sub_json(f"{TOPIC}/status", timeout=10, retained_only=True)
    assert status["state"] == "online", status
    assert status["version"] and status["started"] > 0
    stats = broker.sub_json(f"{TOPIC}/stats", timeout=10)
    for key in ("uptime", "devices", "messages", "upstream", "queue_depth", "errors"):
        assert key in stats, (key, stats)
    assert d.stop(signal.SIGTERM) == 0
    status = broker.retained(f"{TOPIC}/status", lambda j: j["state"] == "offline", timeout=5)
    assert os.path.exists(os.path.join(work.path, "state", "lpwagw.db"))


def test_last_will_on_sigkill():
    work, broker, cfg = setup("will")
    d = Daemon(LPWAGW, work, cfg).start()
    assert broker.sub_json(f"{TOPIC}/status", timeout=10, retained_only=True)["state"] == "online"
    d.stop(signal.SIGKILL)
    # The broker publishes the will as soon as it sees the connection drop without a DISCONNECT.
    status = broker.retained(f"{TOPIC}/status", lambda j: j["state"] == "offline", timeout=10)
    assert status["gateway_id"] == "gw-test"


def test_broker_restart():
    work, broker, cfg = setup("restart")
    d = Daemon(LPWAGW, work, cfg).start()
    assert broker.sub_json(f"{TOPIC}/status", timeout=10, retained_only=True)["state"] == "online"
    broker.stop()
    d.wait_log(f"connection to broker 127.0.0.1:{broker.port} lost", 10)
    assert d.alive(), "the gateway must survive a broker outage"
    broker.start()  # same port; persistence off, so "online" must be published anew
    assert broker.sub_json(f"{TOPIC}/status", timeout=20, retained_only=True)["state"] == "online"
    assert broker.sub_json(f"{TOPIC}/stats", timeout=10)["uptime"] >= 1
    assert d.stop() == 0


def test_broker_down_at_start():
    work = Workdir("down")
    broker = Broker(work)  # not started yet
    cfg = work.file("lpwagw.conf", config_text(state_dir=os.path.join(work.path, "state"), mqtt_port=broker.port))
    d = Daemon(LPWAGW, work, cfg).start()
    d.wait_log(f"cannot connect to broker 127.0.0.1:{broker.port}", 10)
    assert d.alive()
    broker.start()
    assert broker.sub_json(f"{TOPIC}/status", timeout=20, retained_only=True)["state"] == "online"
    assert d.stop() == 0


def test_sighup_reload():
    work, broker, cfg = setup("reload")
    d = Daemon(LPWAGW, work, cfg).start()
    events = Collector(broker, f"{TOPIC}/events")
    assert broker.sub_json(f"{TOPIC}/status", timeout=10, retained_only=True)["state"] == "online"
    with open(cfg) as f:
        good = f.read()
    with open(cfg, "w") as f:
        f.write(good.replace('level = "debug"', 'level = "info"'))
    d.kill(signal.SIGHUP)
    d.wait_log("configuration reloaded")
    events.wait(lambda t, j: isinstance(j, dict) and j.get("type") == "config-reloaded", 10, "reload event")
    with open(cfg, "w") as f:
        f.write(good.replace("interval = 1;", "interval = 0;"))
    d.kill(signal.SIGHUP)
    d.wait_log("reload of")
    assert "interval" in d.log()
    assert d.alive(), "a bad configuration on reload must not stop the gateway"
    assert broker.sub_json(f"{TOPIC}/stats", timeout=10)["uptime"] >= 1
    events.stop()
    assert d.stop() == 0


if __name__ == "__main__":
    run_tests([test_command_line, test_online_stats_and_clean_stop, test_last_will_on_sigkill, test_broker_restart,
               test_broker_down_at_start, test_sighup_reload])
