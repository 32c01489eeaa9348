#!/usr/bin/env python3
"""chirpstack-sim: a ChirpStack v4 network server as its MQTT integration shows it, on a real mosquitto broker.

One simulated Class A device per DevEUI; each device's LwM2M client is tools/device-sim behind its UDP link
(device-sim --link udp --gateway 127.0.0.1:<udp port of this device>): every datagram device-sim sends is an
uplink, published as ChirpStack v4 publishes it (application/{app}/device/{devEui}/event/up, JSON with deviceInfo,
base64 data, fPort, fCnt, confirmed, dr, txInfo). Downlink commands (…/command/down, the DownlinkCommand JSON) are
queued per device, as ChirpStack does, until the device's next uplink: after each uplink the sim waits --rx-delay
for a command, then hands the oldest queued item to device-sim (the RX window), publishes `txack` (queueItemId =
the command's id), and for a confirmed one `ack` at the device's next uplink (acknowledged true). Loss is injected
on request: a lost downlink is not handed to the device; a lost confirmed one gets `ack` with acknowledged false.
The device polls with a CoAP Empty NON message every --poll-interval seconds (LwM2M App. C.3.1.1 step 2).

Events: one JSON object per line on stdout (listening, ready, up, down, txack, ack, lost, dropped-command).
Control lines on stdin: `lose N` (the next N downlinks are lost), `poll`, `quit`.
MQTT goes through the mosquitto clients (mosquitto_sub for the commands, mosquitto_pub for the events).
Schema: ChirpStack v4.x api/proto/integration/integration.proto (see bindings/lorawan/lw_cs_json.h)."""
import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

EMPTY_NON = bytes([0x50, 0x00])  # + a 2-byte MID: CoAP NON, code 0.00 (Empty)
MAX_UP = 242  # EU868 DR5 FRMPayload limit: a bigger datagram could not go over the air


def emit(**ev):
    sys.stdout.write(json.dumps(ev, separators=(",", ":")) + "\n")
    sys.stdout.flush()


class Device:
    def __init__(self, sim, dev_eui, udp_port):
        self.sim = sim
        self.dev_eui = dev_eui.lower()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", udp_port))
        self.port = self.sock.getsockname()[1]
        self.peer = None  # device-sim's address, learnt from its first datagram
        self.fcnt = 0
        self.fcnt_down = 0
        self.queue = []       # DownlinkCommands waiting for an RX window
        self.unacked = None   # (command, delivered) of a confirmed downlink awaiting the device's next uplink
        self.mid = 0x7000
        self.last_up = 0.0

    def topic(self, kind):
        return f"{self.sim.prefix}/{self.sim.app}/device/{self.dev_eui}/event/{kind}"

    def device_info(self):
        return {"tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242", "tenantName": "ChirpStack",
                "applicationId": self.sim.app, "applicationName": "lwm2m",
                "deviceProfileId": "cb4ae1e4-5b2e-4b36-b5a2-5fd1b9f4a8a5", "deviceProfileName": "EU868 class A",
                "deviceName": f"dev-{self.dev_eui}", "devEui": self.dev_eui, "deviceClassEnabled": "CLASS_A",
                "tags": {}}

    def uplink(self, data):
        """One uplink: its event, the pending ack, then the RX window (after rx_delay, from the timer thread)."""
        sim = self.sim
        with sim.lock:
            self.fcnt += 1
            self.last_up = time.monotonic()
            if self.unacked:
                cmd, delivered = self.unacked
                self.unacked = None
                sim.publish(self.topic("ack"), {
                    "deduplicationId": str(uuid.uuid4()), "time": now_rfc3339(), "deviceInfo": self.device_info(),
                    "queueItemId": cmd["id"], "acknowledged": delivered, "fCntDown": cmd["_fcnt_down"]})
                emit(event="ack", dev_eui=self.dev_eui, id=cmd["id"], acknowledged=delivered)
            sim.publish(self.topic("up"), {
                "deduplicationId": str(uuid.uuid4()), "time": now_rfc3339(), "deviceInfo": self.device_info(),
                "devAddr": "01ab23cd", "adr": False, "dr": sim.dr, "fCnt": self.fcnt, "fPort": sim.fport,
                "confirmed": False, "data": base64.b64encode(data).decode(),
                "rxInfo": [{"gatewayId": "0016c001f153a14c", "uplinkId": self.fcnt, "rssi": -57, "snr": 9.5,
                            "channel": 0, "context": "AAAAAA==", "crcStatus": "CRC_OK"}],
                "txInfo": {"frequency": 868100000, "modulation": {"lora": {
                    "bandwidth": 125000, "spreadingFactor": 12 - sim.dr if sim.dr <= 5 else 7,
                    "codeRate": "CR_4_5"}}},
                "regionConfigId": "eu868"})
            emit(event="up", dev_eui=self.dev_eui, fcnt=self.fcnt, len=len(data), empty=data[:2] == EMPTY_NON)
        threading.Timer(sim.rx_delay, self.rx_window).start()

    def rx_window(self):
        sim = self.sim
        with sim.lock:
            if not self.queue or self.unacked:
                return
            cmd = self.queue.pop(0)
            self.fcnt_down += 1
            cmd["_fcnt_down"] = self.fcnt_down
            lost = sim.lose > 0
            if lost:
                sim.lose -= 1
            data = base64.b64decode(cmd.get("data", ""))
            if not lost and self.peer:
                self.sock.sendto(data, self.peer)
            sim.publish(self.topic("txack"), {
                "downlinkId": self.fcnt_down, "time": now_rfc3339(), "deviceInfo": self.device_info(),
                "queueItemId": cmd["id"], "fCntDown": self.fcnt_down, "gatewayId": "0016c001f153a14c",
                "txInfo": {"frequency": 868100000, "power": 14}})
            emit(event="lost" if lost else "down", dev_eui=self.dev_eui, id=cmd["id"],
                 confirmed=bool(cmd.get("confirmed")), len=len(data), data=cmd.get("data", ""))
            emit(event="txack", dev_eui=self.dev_eui, id=cmd["id"])
            if cmd.get("confirmed"):
                self.unacked = (cmd, not lost)

    def read_loop(self):
        while True:
            try:
                data, addr = self.sock.recvfrom(2048)
            except OSError:
                return
            self.peer = addr
            if len(data) > MAX_UP:
                emit(event="too-big", dev_eui=self.dev_eui, len=len(data))
                continue
            self.uplink(data)

    def poll(self):
        self.mid = (self.mid + 1) & 0xFFFF
        self.uplink(EMPTY_NON + self.mid.to_bytes(2, "big"))


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Sim:
    def __init__(self, args):
        self.host, self.port, self.app, self.prefix = "127.0.0.1", args.broker_port, args.application_id, args.prefix
        self.dr, self.fport, self.rx_delay = args.dr, args.fport, args.rx_delay
        self.lose = 0
        self.lock = threading.RLock()
        self.devices = {}
        for spec in args.device:
            eui, _, port = spec.partition(":")
            d = Device(self, eui, int(port or 0))
            self.devices[d.dev_eui] = d

    def publish(self, topic, obj):
        subprocess.run(["mosquitto_pub", "-h", self.host, "-p", str(self.port), "-q", "1", "-t", topic,
                        "-m", json.dumps(obj, separators=(",", ":"))], check=False, timeout=10)

    def command(self, topic, payload):
        parts = topic.split("/")
        # PREFIX/APP/device/DEVEUI/command/down
        if len(parts) != 6 or parts[1] != self.app or parts[4] != "command":
            return
        probe = parts[3] == "ffffffffffffffff"
        if probe:
            self.ready.set()
            return
        dev = self.devices.get(parts[3])
        try:
            cmd = json.loads(payload)
            ok = parts[5] == "down" and dev and cmd.get("devEui") == parts[3] and 0 < int(cmd.get("fPort", 0)) < 224
        except (ValueError, TypeError):
            ok = False
        if not ok:  # ChirpStack logs "Processing command error" and drops it
            emit(event="dropped-command", topic=topic, payload=payload[:200])
            return
        cmd.setdefault("id", str(uuid.uuid4()))  # ChirpStack: a blank id becomes a random UUID
        with self.lock:
            dev.queue.append(cmd)
        emit(event="queued", dev_eui=dev.dev_eui, id=cmd["id"], confirmed=bool(cmd.get("confirmed")))

    def sub_loop(self):
        p = subprocess.Popen(["mosquitto_sub", "-h", self.host, "-p", str(self.port), "-q", "1", "-v",
                              "-t", f"{self.prefix}/{self.app}/device/+/command/+"],
                             stdout=subprocess.PIPE, text=True, bufsize=1)
        self.sub = p
        for line in p.stdout:
            topic, _, payload = line.rstrip("\n").partition(" ")
            self.command(topic, payload)

    def start(self):
        self.ready = threading.Event()
        threading.Thread(target=self.sub_loop, daemon=True).start()
        for d in self.devices.values():
            emit(event="listening", dev_eui=d.dev_eui, udp=d.port)
            threading.Thread(target=d.read_loop, daemon=True).start()
        probe = f"{self.prefix}/{self.app}/device/ffffffffffffffff/command/probe"
        while not self.ready.wait(0.2):  # our subscription is in place once our own probe comes back
            self.publish(probe, {})
        emit(event="ready")

    def poll_loop(self, interval):
        while True:
            time.sleep(interval)
            for d in list(self.devices.values()):
                if d.peer and time.monotonic() - d.last_up >= interval:
                    d.poll()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--broker-port", type=int, required=True)
    ap.add_argument("--application-id", required=True)
    ap.add_argument("--prefix", default="application")
    ap.add_argument("--device", action="append", required=True, help="DEVEUI[:UDP_PORT] (port 0 = any)")
    ap.add_argument("--dr", type=int, default=5)
    ap.add_argument("--fport", type=int, default=1)
    ap.add_argument("--rx-delay", type=float, default=0.3, help="seconds a command may take to catch the RX window")
    ap.add_argument("--poll-interval", type=float, default=1.0)
    args = ap.parse_args()
    sim = Sim(args)
    sim.start()
    threading.Thread(target=sim.poll_loop, args=(args.poll_interval,), daemon=True).start()
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "lose":
            with sim.lock:
                sim.lose = int(words[1]) if len(words) > 1 else 1
        elif words[0] == "poll":
            for d in sim.devices.values():
                d.poll()
        elif words[0] == "quit":
            break
    if getattr(sim, "sub", None):
        sim.sub.terminate()
    os._exit(0)


if __name__ == "__main__":
    main()
