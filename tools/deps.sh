#!/usr/bin/env bash
# Installs the Debian packages lpwagw builds, tests and demos with; does nothing when all are present.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config python3 openssl uthash-dev
	libcoap3-dev libcoap3-bin libssl-dev libmbedtls-dev libmosquitto-dev mosquitto mosquitto-clients
	libconfig-dev libgpiod-dev libcmocka-dev libsqlite3-dev sqlite3
	libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev socat
	clang libclang-rt-14-dev
	# ops (issue 14): systemd-analyze checks the unit (harmless in a container: nothing starts without systemd as
	# PID 1); lintian checks the Debian package.
	systemd lintian
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a system-wide broker on install where systemd runs; our tests start their own on free ports.
