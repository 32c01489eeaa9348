#!/bin/sh
# Runs the real daemon's `--check-config` on every file in bad/ (must exit 1 and print each "# expect:" text on
# stderr), on large generated files (refused at once by the loader's limits, or accepted), on a state directory
# that others may enter (a warning) and on the shipped example (must exit 0). Usage: check_config.sh LPWAGW SOURCE_DIR
# Every run has a 10 s bound: the old loader blocked on a FIFO and took minutes on the large files.
set -u
LPWAGW=$1
SRC=$2
tmp=$(mktemp -d) || exit 1
trap 'chmod -R u+rwx "$tmp"; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# The bad files name these; git keeps no file modes, so they are made here (same set as test_config.c).
for f in "$SRC"/tests/unit/config/bad/*; do
	sed "s|@TMP@|$tmp|g" "$f" >"$tmp/$(basename "$f")"
done
fixture() { printf '%s\n' "$3" >"$tmp/$1" && chmod "$2" "$tmp/$1"; }
fixture secret-0644.key 0644 00112233
fixture secret-0640.key 0640 00112233
fixture secret-0604.pass 0604 pw
fixture good-0600.key 0600 00112233
fixture good-0600.pass 0600 pw
fixture badhex-0600.key 0600 zz
fixture cert.pem 0644 "not a certificate"
mkfifo "$tmp/fifo.inc"
mkdir "$tmp/include-directory.d"

# Large files, generated: each starts with its "# expect:" lines like the others.
python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
def write(name, expect, body):
    with open(f"{d}/{name}", "w") as f:
        f.write("".join(f"# expect: {e}\n" for e in expect) + 'gateway_id = "gw-01";\n' + body)
write("huge-string.conf", ["makes the configuration larger than 8388608 bytes"],
      'mqtt: { username = "%s"; };\n' % ("A" * (10 << 20)))
write("long-string.conf", [":3: a string longer than 4096 bytes"], 'mqtt: { username = "%s"; };\n' % ("A" * (7 << 20)))
write("many-settings.conf", [":258: more than 256 settings in one group"],
      "".join(f"s{i} = {i};\n" for i in range(300000)))
write("many-elements.conf", [":3: more than 500000 settings"], "x = [ " + ",".join(["1"] * 600000) + " ];\n")
with open(f"{d}/long-comment.good", "w") as f:
    f.write('gateway_id = "gw-01";\n#' + "c" * (7 << 20) + '\nstate_dir = "state";\n')
PY

fail=0
n=0
for conf in "$tmp"/*.conf; do
	n=$((n + 1))
	name=$(basename "$conf")
	timeout 10 "$LPWAGW" --check-config "$conf" >"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
	if [ "$rc" -ne 1 ]; then
		echo "FAIL $name: exit status $rc, expected 1; stderr:"
		head -c 2000 "$tmp/stderr"
		fail=1
		continue
	fi
	if ! grep -aq '^# expect: ' "$conf"; then
		echo "FAIL $name: no '# expect:' line"
		fail=1
	fi
	grep -a '^# expect: ' "$conf" | sed 's/^# expect: //' | {
		ok=0
		while IFS= read -r want; do
			if ! grep -qaF -- "$want" "$tmp/stderr"; then
				echo "FAIL $name: stderr lacks: $want"
				echo "--- stderr:"
				head -c 2000 "$tmp/stderr"
				ok=1
			fi
		done
		exit $ok
	} || fail=1
done

# Valid, however large: a 7 MiB comment is one token that the old loader re-read at every 8 KiB.
timeout 10 "$LPWAGW" --check-config "$tmp/long-comment.good" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "FAIL long-comment.good: exit status $rc, expected 0; stderr:"
	head -c 2000 "$tmp/stderr"
	fail=1
fi

# A state directory that group or others may enter holds session keys: valid, with a warning.
mkdir "$tmp/state-0777" && chmod 0777 "$tmp/state-0777"
printf 'gateway_id = "gw-01";\nstate_dir = "state-0777";\n' >"$tmp/state-0777.good"
timeout 10 "$LPWAGW" --check-config "$tmp/state-0777.good" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
if [ "$rc" -ne 0 ] || ! grep -qF "state_dir: warning: $tmp/state-0777 is accessible by group or others (mode 0777)" \
	"$tmp/stderr"; then
	echo "FAIL state-0777.good: exit status $rc, expected 0 and a warning; stderr:"
	cat "$tmp/stderr"
	fail=1
fi

# The shipped example, with its state directory moved here (one left in /tmp by a demo must not decide).
sed "s|^state_dir = .*|state_dir = \"$tmp/example-state\";|" "$SRC/config/lpwagw.conf.example" >"$tmp/example.good"
timeout 10 "$LPWAGW" --check-config "$tmp/example.good" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "FAIL lpwagw.conf.example: exit status $rc, expected 0; stderr:"
	cat "$tmp/stderr"
	fail=1
fi

[ "$n" -ge 20 ] || { echo "FAIL: only $n bad files"; fail=1; }
[ "$fail" -eq 0 ] && echo "ok: $n bad files refused with the expected messages, large and example files accepted"
exit "$fail"
