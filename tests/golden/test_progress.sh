#!/bin/sh
# The progress line of file reads: on a terminal (auto), twice a second,
# overwritten in place and left as a last "read:" line; never in a pipe or a
# file unless --progress on; never with -q in auto mode.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
P="$TOP/pcaps/demo.pcap"
"$TLSWATCH" --progress on -r "$P" > /dev/null 2> "$T/on.err"
l=$(grep -c '^.read: 0.0 MB, 46 packets, 3 handshakes, 2 findings, ' "$T/on.err")
if [ "$l" = 1 ]; then echo "PASS progress: --progress on writes the last line with packets, handshakes, findings"
else echo "FAIL progress: --progress on: $(head -c 300 "$T/on.err")"; fi
"$TLSWATCH" -r "$P" > /dev/null 2> "$T/auto.err"
if ! grep -q 'read:\|reading:' "$T/auto.err"; then echo "PASS progress: none when stderr is not a terminal (auto)"
else echo "FAIL progress: auto wrote progress into a file"; fi
if ! command -v script > /dev/null 2>&1; then echo "SKIP progress: no script(1) for a terminal"; exit 0; fi
# a read that takes 2 s: the capture's packets 1500 times over, from a
# writer that pauses between batches (stdin)
cat > "$T/slow.py" <<'PY'
import sys, time
d = open(sys.argv[1], "rb").read()
hdr, body = d[:24], d[24:]
out = sys.stdout.buffer
out.write(hdr)
for i in range(1500):
    out.write(body)
    if i % 150 == 149:
        out.flush()
        time.sleep(0.2)
out.flush()
PY
timeout 120 script -qec "/usr/bin/python3 $T/slow.py $P | $TLSWATCH -r - > /dev/null" /dev/null > "$T/tty.out" 2>&1
n=$(tr '\r' '\n' < "$T/tty.out" | grep -c '^reading: ')
last=$(tr '\r' '\n' < "$T/tty.out" | grep '^read: ' | tail -1)
case "$last" in "read: "*", 69000 packets, "*) ok=1 ;; *) ok=0 ;; esac
if [ "$n" -ge 2 ] && [ "$ok" = 1 ]; then echo "PASS progress: on a terminal, $n periodic lines then '$last'"
else echo "FAIL progress: terminal: $n periodic lines, last '$last'"; fi
timeout 120 script -qec "/usr/bin/python3 $T/slow.py $P | $TLSWATCH -q -r - > /dev/null" /dev/null > "$T/q.out" 2>&1
if ! grep -q 'read' "$T/q.out"; then echo "PASS progress: -q silences it on a terminal too"
else echo "FAIL progress: -q: $(head -c 200 "$T/q.out")"; fi
