#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test, then the same suite under ASan+UBSan.
# Usage: tools/test.sh [ctest args, e.g. -L proxy]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh

jobs=$(nproc)
run_suite() {
	local dir=$1; shift
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.configure.log" 2>&1 ||
		{ cat "$dir.configure.log"; return 1; }
	cmake --build "$dir" -j"$jobs" 2>&1 | grep -Ev '^\[ *[0-9]+%\]' || true
	cmake --build "$dir" -j"$jobs" >/dev/null # fail here if the build failed
	ctest --test-dir "$dir" --output-on-failure -j"$jobs" "${CTEST_ARGS[@]}"
}

CTEST_ARGS=("$@")
mkdir -p build
echo "== tests =="
run_suite build/plain
echo "== tests under ASan+UBSan =="
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build/asan -DLPW_SANITIZE=ON

# A short libFuzzer run of every parser (the corpus replays already ran in both suites above).
if [ ${#CTEST_ARGS[@]} -eq 0 ]; then
	echo "== fuzzing smoke run (clang, libFuzzer) =="
	CC=clang cmake -S . -B build/fuzz -DLPW_FUZZ=ON -DLPW_FUZZ_SECONDS="${LPW_FUZZ_SECONDS:-15}" \
		>build/fuzz.configure.log 2>&1 || { cat build/fuzz.configure.log; exit 1; }
	cmake --build build/fuzz -j"$jobs" --target fuzzers >/dev/null
	ctest --test-dir build/fuzz --output-on-failure -j"$jobs" -L fuzz
fi
