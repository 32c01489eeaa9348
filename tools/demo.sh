#!/usr/bin/env bash
# The main job without hardware: installs what is missing, builds, then runs simulated NB-IoT devices through
# lpwagw to the local test LwM2M server, with telemetry on a local MQTT broker. Ctrl-C stops it.
# Usage: tools/demo.sh [seconds]   (default: run until Ctrl-C)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
mkdir -p build
cmake -S . -B build/plain -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/plain.configure.log 2>&1 ||
	{ cat build/plain.configure.log; exit 1; }
cmake --build build/plain -j"$(nproc)" --target lpwagw lwm2m-test-server device-sim lorawan-sim >/dev/null
exec python3 tools/demo.py build/plain "${1:-0}"
