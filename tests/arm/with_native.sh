#!/bin/sh
# Runs an end-to-end script of tests/integration with this cross build's daemon under qemu-user and the native
# build's peers (issue 18), or skips with the reason when the native build is missing.
# Usage: with_native.sh NATIVE_BUILD_DIR COMMAND...
native=$1
shift
for tool in tools/lwm2m-test-server/lwm2m-test-server tools/device-sim/device-sim tools/lorawan-sim/lorawan-sim; do
	if [ ! -x "$native/$tool" ]; then
		echo "arm: SKIPPED: no native $tool in $native; build it first (tools/cross.sh does, or cmake -S . -B build/plain && cmake --build build/plain)"
		exit 77
	fi
done
exec "$@"
