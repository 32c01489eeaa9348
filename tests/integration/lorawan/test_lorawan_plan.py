"""The embedded network server's channel plan and ADR, end to end with the real daemon and lorawan-sim:
an EU868 OTAA device gets the plan's five extra channels in its Join-Accept's CFList and then uses all eight; a
device at SF12 with a good SNR is moved to SF7 by LinkADRReq, after which a Register-sized message fits one frame;
a US915 device is kept to the configured sub-band; a device that ignores LinkADRReq is asked three times, then left
alone (no endless retries)."""
import os
import re
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import Daemon, LineProc, TestServer, Workdir, config_text, free_port, run_tests  # noqa: E402

LPWAGW, SERVER, LWSIM = sys.argv[1:4]
DEVEUI = "70B3D57ED0000101"
JOINEUI = "70B3D57ED0000000"
APPKEY = "2B7E151628AED2A6ABF7158809CF4F3C"
EU_PLAN = [867100000, 867300000, 867500000, 867700000, 867900000]
EU_DEFAULT = [868100000, 868300000, 868500000]


def start(work, name, region="EU868", plan=""):
    server = TestServer(SERVER, tcp=0)
    port = free_port(socket.SOCK_DGRAM)
    extra = f"""servers = ( {{ name = "lwm2m"; uri = "coap+tcp://127.0.0.1:{server.tcp}"; }} );
devices = ( {{ id = "lw-1"; binding = "lorawan"; dev_eui = "{DEVEUI}"; join_eui = "{JOINEUI}"; app_key = "{APPKEY}";
              server = "lwm2m"; objects = "</1/0>,</3/0>"; }} );
bindings: {{ lorawan: {{ enabled = true; listen = "127.0.0.1"; port = {port}; region = "{region}";
                         ack_timeout = 6; adr_history = 2; {plan} }}; }};
"""
    text = config_text(state_dir=os.path.join(work.path, f"state-{name}"), extra=extra)
    cfg = work.file(f"{name}.conf", text.replace("enabled = true; host", "enabled = false; host"))
    d = Daemon(LPWAGW, work, cfg).start()
    d.wait_log("started")
    return server, d, port


def sim(port, extra=()):
    args = [LWSIM, "--server", f"127.0.0.1:{port}", "--otaa", "--deveui-base", DEVEUI, "--joineui", JOINEUI,
            "--appkey", APPKEY, "--fport", "1", "--uplink-interval", "1", "--poll-interval", "1", "--no-objects",
            "--keepalive", "1", "--control", "stdin", "--seed", "11", "--adr"]
    return LineProc(args + list(extra), "lorawan-sim")


def uplinks(dev, since=0):
    return [e for e in dev.events[since:] if e.get("event") == "uplink"]


def test_eu868_cflist_and_adr_to_sf7():
    work = Workdir("lorawan-plan")
    plan = "channels = [ " + ", ".join(str(f) for f in EU_PLAN) + " ];"
    server, d, port = start(work, "eu", plan=plan)
    dev = sim(port, ["--dr", "0"])
    cf = dev.wait({"event": "cflist"}, 30, "the Join-Accept's CFList")
    assert cf["channels"] == 8, cf
    # the first LinkADRReq sets the plan's channel mask (the ADR history is not long enough yet), the next one
    # the data rate: SNR 5..10 dB at SF12 (needs -20): 15 dB and more above the 10 dB margin: five steps, DR0 -> DR5 (SF7)
    adr = dev.wait(lambda e: e.get("event") == "link-adr" and e["dr"] != 0, 60, "the LinkADRReq that moves the DR")
    assert adr["status"] == 7 and adr["dr"] == 5 and adr["mtu"] == 242 and adr["channels"] == 8, adr
    mark = dev.mark()
    dev.wait(lambda e: e.get("event") == "uplink" and e.get("fopts"), 30, "the LinkADRAns uplink", mark)
    # a full Register (ep, lt, lwm2m, b and an object list) no longer fits DR0's 51 bytes; at DR5 it is one frame
    reg_mark = server.mark()
    dev.send("register")
    server.wait({"event": "register"}, 30, "a Register at DR5", reg_mark)
    dev.wait(lambda e: len(uplinks(dev, mark)) >= 10, 60, "ten uplinks on the new plan")
    ups = uplinks(dev, mark)
    assert all(u["dr"] == 5 for u in ups), ups
    freqs = {u["freq"] for u in ups}
    assert freqs == set(EU_DEFAULT + EU_PLAN), sorted(freqs)
    d.stop()
    # the plan, the DR, then power while margin is left: every request acknowledged, none refused
    m = re.search(r"LinkADRReq (\d+) sent, (\d+) acknowledged, 0 refused", d.log())
    assert m and int(m.group(1)) >= 2 and m.group(1) == m.group(2), [l for l in d.log().splitlines() if "LinkADR" in l]


def test_us915_kept_to_sub_band():
    work = Workdir("lorawan-us")
    server, d, port = start(work, "us", region="US915", plan="sub_band = 2;")
    dev = sim(port, ["--region", "US915"])
    cf = dev.wait({"event": "cflist"}, 30, "the Join-Accept's channel mask")
    assert cf["channels"] == 9, cf
    adr = dev.wait({"event": "link-adr"}, 60, "the sub-band LinkADRReq pair")
    assert adr["status"] == 7 and adr["channels"] == 9, adr
    mark = dev.mark()
    dev.wait(lambda e: len(uplinks(dev, mark)) >= 10, 60, "ten uplinks")
    sub_band_2 = {903900000 + 200000 * i for i in range(8)} | {904600000}
    freqs = {u["freq"] for u in uplinks(dev, mark)}
    assert freqs <= sub_band_2 and len(freqs) == 9, sorted(freqs)
    assert server.wait({"event": "register"}, 30)


def test_device_ignoring_link_adr_is_left_alone():
    work = Workdir("lorawan-ignore")
    server, d, port = start(work, "ignore")
    dev = sim(port, ["--dr", "0", "--ignore-mac"])
    d.wait_log("ADR stops until it joins again", 60)
    mark = dev.mark()
    dev.wait(lambda e: len(uplinks(dev, mark)) >= 5, 60, "five more uplinks")
    asked = [e for e in dev.events if e.get("event") == "mac-ignored" and e.get("cid") == 3]
    assert len(asked) == 3, asked
    assert not [e for e in dev.events[mark:] if e.get("event") == "mac-ignored" and e.get("cid") == 3]
    assert all(u["dr"] == 0 for u in uplinks(dev)), "the device changed its data rate on its own"
    assert d.alive()


if __name__ == "__main__":
    run_tests([test_eu868_cflist_and_adr_to_sf7, test_us915_kept_to_sub_band, test_device_ignoring_link_adr_is_left_alone])
