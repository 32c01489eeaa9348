#!/usr/bin/env bash
# Cross build for an ARM gateway (issue 18), on Debian 12 x86_64 with multiarch: installs the cross compiler, the
# target's -dev packages and qemu-user-static (as root; apt-get update first), configures build/ARCH with
# cmake/toolchain-ARCH.cmake and builds.
# Usage: tools/cross.sh arm64|armhf [--test] [--deb]
#   --test  then runs the `arm` ctest label (unit tests, corpus replays and an end-to-end test under qemu-user)
#   --deb   then makes the Debian package build/ARCH/lpwagw_<version>_ARCH.deb
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:-}
case "$arch" in
arm64 | armhf) ;;
*) echo "usage: tools/cross.sh arm64|armhf [--test] [--deb]" >&2; exit 2 ;;
esac
shift
want_test=0 want_deb=0
for a in "$@"; do
	case "$a" in
	--test) want_test=1 ;;
	--deb) want_deb=1 ;;
	*) echo "cross: unknown option $a" >&2; exit 2 ;;
	esac
done

# The libraries of cmake/Dependencies.cmake, for the target architecture.
TARGET_DEV=(
	libcoap3-dev libssl-dev libmbedtls-dev libmosquitto-dev libconfig-dev libgpiod-dev libcmocka-dev
	libsqlite3-dev libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev
)
# uthash is headers only (Architecture: all); dpkg-dev gives the cross dpkg-shlibdeps the .deb uses.
PACKAGES=("crossbuild-essential-$arch" qemu-user-static uthash-dev dpkg-dev "${TARGET_DEV[@]/%/:$arch}")

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
dpkg --print-foreign-architectures | grep -qx "$arch" || $SUDO dpkg --add-architecture "$arch"
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "cross: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# qemu-user-static is optional: without it the build still works and the `arm` tests say they are skipped.
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]/qemu-user-static/}" >/dev/null
fi

dir=build/$arch
jobs=${LPW_JOBS:-$(nproc)}
mkdir -p build
cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchain-$arch.cmake" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	>"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
cmake --build "$dir" -j"$jobs" 2>&1 | grep -Ev '^\[ *[0-9]+%\]' || true
cmake --build "$dir" -j"$jobs" >/dev/null 2>&1 # fail here if the build failed
echo "cross: $arch build in $dir: $(file -b "$dir/gateway/lpwagw" | cut -d, -f1-2)"

if [ $want_test -eq 1 ]; then
	# The end-to-end tests' peers are native: the test server and simulators of build/plain (tools/deps.sh).
	if [ ! -f build/plain/CMakeCache.txt ]; then
		bash tools/deps.sh
		cmake -S . -B build/plain -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/plain.configure.log 2>&1 ||
			{ cat build/plain.configure.log; exit 1; }
	fi
	cmake --build build/plain -j"$jobs" --target lwm2m-test-server device-sim lorawan-sim >/dev/null
	ctest --test-dir "$dir" --output-on-failure -j"$jobs" -L arm
fi
if [ $want_deb -eq 1 ]; then
	(cd "$dir" && cpack -G DEB >cpack.log 2>&1) || { cat "$dir/cpack.log"; exit 1; }
	ls "$dir"/lpwagw_*_"$arch".deb
fi
