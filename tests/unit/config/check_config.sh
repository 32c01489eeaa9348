#!/bin/sh
# Runs the real daemon's `--check-config` on every file in bad/ (must exit 1 and print each "# expect:" text on
# stderr) and on the shipped example (must exit 0). Usage: check_config.sh LPWAGW SOURCE_DIR
set -u
LPWAGW=$1
SRC=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# The bad files name these; git keeps no file modes, so they are made here (same set as test_config.c).
cp "$SRC"/tests/unit/config/bad/* "$tmp"/
fixture() { printf '%s\n' "$3" >"$tmp/$1" && chmod "$2" "$tmp/$1"; }
fixture secret-0644.key 0644 00112233
fixture secret-0640.key 0640 00112233
fixture secret-0604.pass 0604 pw
fixture good-0600.key 0600 00112233
fixture good-0600.pass 0600 pw
fixture badhex-0600.key 0600 zz
fixture cert.pem 0644 "not a certificate"

fail=0
n=0
for conf in "$tmp"/*.conf; do
	n=$((n + 1))
	name=$(basename "$conf")
	timeout 10 "$LPWAGW" --check-config "$conf" >"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
	if [ "$rc" -ne 1 ]; then
		echo "FAIL $name: exit status $rc, expected 1; stderr:"
		cat "$tmp/stderr"
		fail=1
		continue
	fi
	if ! grep -q '^# expect: ' "$conf"; then
		echo "FAIL $name: no '# expect:' line"
		fail=1
	fi
	grep '^# expect: ' "$conf" | sed 's/^# expect: //' | {
		ok=0
		while IFS= read -r want; do
			if ! grep -qF -- "$want" "$tmp/stderr"; then
				echo "FAIL $name: stderr lacks: $want"
				echo "--- stderr:"
				cat "$tmp/stderr"
				ok=1
			fi
		done
		exit $ok
	} || fail=1
done

timeout 10 "$LPWAGW" --check-config "$SRC/config/lpwagw.conf.example" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "FAIL lpwagw.conf.example: exit status $rc, expected 0; stderr:"
	cat "$tmp/stderr"
	fail=1
fi

[ "$n" -ge 20 ] || { echo "FAIL: only $n bad files"; fail=1; }
[ "$fail" -eq 0 ] && echo "ok: $n bad files refused with the expected messages, the example accepted"
exit "$fail"
