#!/bin/sh
# --syslog: every event line reaches an AF_UNIX datagram socket as one
# RFC 5424 message "<PRI>1 TIMESTAMP HOST tlswatch PID - - LINE", the
# payload byte for byte the line written to stdout, PRI = facility * 8 +
# the finding's severity (info for tls/stats). The test binds its own
# socket (--syslog-socket) and reads it with python3.
if ! command -v python3 >/dev/null 2>&1 || ! command -v jq >/dev/null 2>&1; then
    echo "SKIP syslog: needs python3 and jq"
    exit 0
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat > "$T/recv.py" <<'EOS'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(sys.argv[1])
s.settimeout(float(sys.argv[3]))
with open(sys.argv[2], "wb") as out:
    open(sys.argv[2] + ".ready", "w").close()
    n = int(sys.argv[4]) if len(sys.argv) > 4 else -1
    try:
        while n != 0:
            out.write(s.recv(1 << 20) + b"\n")
            out.flush()
            n -= 1
    except socket.timeout:
        pass
EOS
# recv NAME [idle seconds [messages]]: a receiver on $T/NAME.sock writing
# $T/NAME.got, gone after that many seconds of silence or messages
recv() {
    python3 "$T/recv.py" "$T/$1.sock" "$T/$1.got" "${2:-2}" ${3:-} &
    RECV=$!
    i=0
    while [ $i -lt 50 ] && [ ! -f "$T/$1.got.ready" ]; do sleep 0.1; i=$((i + 1)); done
}
PCAPS="$TOP/pcaps/demo.pcap"
for p in hostname-mismatch expired-cert crafted-tls12-null; do PCAPS="$PCAPS $TOP/pcaps/$p.pcap"; done
ARGS=""
for p in $PCAPS; do ARGS="$ARGS -r $p"; done

# 1. JSON, facility local3, --all: one message per stdout line, same payload
recv json
# shellcheck disable=SC2086
"$TLSWATCH" -q --all $ARGS --syslog-socket "$T/json.sock" --syslog-facility local3 > "$T/json.out" 2> "$T/json.err" &
TW=$!
wait $TW
rc=$?
wait $RECV
nl=$(wc -l < "$T/json.out")
nm=$(wc -l < "$T/json.got")
if [ $rc -eq 0 ] && [ "$nl" -gt 5 ] && [ "$nl" = "$nm" ]; then echo "PASS syslog: $nm messages for $nl stdout lines (exit 0)"
else echo "FAIL syslog: exit $rc, $nl stdout lines, $nm messages ($(head -1 "$T/json.err"))"; fi
re='^<[0-9]{1,3}>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z [!-~]{1,255} tlswatch '"$TW"' - - \{'
bad=$(grep -Evc "$re" "$T/json.got")
if [ "$bad" = 0 ]; then echo "PASS syslog: every message is <PRI>1 RFC3339-UTC HOST tlswatch $TW - - {JSON}"
else echo "FAIL syslog: $bad messages off the RFC 5424 shape:"; grep -Ev "$re" "$T/json.got" | head -2 | cut -c1-200; fi
sed -E 's/^<[0-9]+>1 [^ ]+ [^ ]+ tlswatch [0-9]+ - - //' "$T/json.got" > "$T/json.payload"
if cmp -s "$T/json.payload" "$T/json.out"; then echo "PASS syslog: payloads equal the stdout lines byte for byte, in order"
else echo "FAIL syslog: payloads differ from stdout"; diff "$T/json.payload" "$T/json.out" | head -4 | cut -c1-200; fi
if jq -e . "$T/json.payload" >/dev/null 2>&1; then echo "PASS syslog: every payload parses with jq"
else echo "FAIL syslog: a payload does not parse as JSON"; fi
# expected PRI from the payload: local3 (19) * 8 + severity
exp=$(jq -r 'if .event_type == "finding" then
        ({"critical":2,"high":3,"medium":4,"low":5,"info":6}[.finding.severity]) else 6 end | 152 + .' "$T/json.payload")
got=$(sed -E 's/^<([0-9]+)>.*/\1/' "$T/json.got")
sevs=$(jq -r 'select(.event_type == "finding") | .finding.severity' "$T/json.payload" | sort -u | tr '\n' ' ')
if [ -n "$exp" ] && [ "$exp" = "$got" ]; then echo "PASS syslog: PRI = local3 * 8 + severity on every message (finding severities: $sevs)"
else echo "FAIL syslog: PRI mismatch: expected $(echo $exp | head -c 80), got $(echo $got | head -c 80)"; fi
big=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$T/json.got")
if [ "$big" -gt 2048 ]; then echo "PASS syslog: messages are not cut (largest $big bytes)"
else echo "FAIL syslog: largest message $big bytes (expected a tls event with certificates over 2048)"; fi

# 2. default facility daemon (3): tls/stats <30>, the critical finding <26>
recv def
"$TLSWATCH" -q -r "$TOP/pcaps/demo.pcap" --syslog-socket "$T/def.sock" > /dev/null 2> "$T/def.err"
rc=$?
wait $RECV
pris=$(sed -E 's/^<([0-9]+)>.*/\1/' "$T/def.got" | sort -un | tr '\n' ' ')
if [ $rc -eq 0 ] && [ "$pris" = "26 27 30 " ]; then echo "PASS syslog: default facility daemon (PRI 26 crit, 27 err, 30 info)"
else echo "FAIL syslog: default facility: exit $rc, PRIs '$pris'"; fi

# 3. -F text: the text lines, severity from the line's level word
recv text
"$TLSWATCH" -q -F text -r "$TOP/pcaps/demo.pcap" --syslog-socket "$T/text.sock" --syslog-facility user > "$T/text.out" 2>&1
wait $RECV
c=$(grep -c '^<10>1 .* CRITICAL version-mismatch' "$T/text.got")
sed -E 's/^<[0-9]+>1 [^ ]+ [^ ]+ tlswatch [0-9]+ - - //' "$T/text.got" > "$T/text.payload"
if [ "$c" = 1 ] && cmp -s "$T/text.payload" "$T/text.out"; then echo "PASS syslog: -F text lines, CRITICAL as user.crit (<10>), same as stdout"
else echo "FAIL syslog: -F text: $c crit lines"; head -3 "$T/text.got" | cut -c1-160; fi

# 4. errors: no socket -> exit 1 with one line; bad facility -> exit 2
"$TLSWATCH" -q -r "$TOP/pcaps/demo.pcap" --syslog-socket "$T/none.sock" > "$T/none.out" 2> "$T/none.err"
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l < "$T/none.err")" = 1 ] && grep -q "none.sock: cannot connect" "$T/none.err" && [ ! -s "$T/none.out" ]
then echo "PASS syslog: no socket: exit 1, one line: $(cat "$T/none.err")"
else echo "FAIL syslog: no socket: exit $rc: $(head -2 "$T/none.err")"; fi
"$TLSWATCH" -q -r "$TOP/pcaps/demo.pcap" --syslog --syslog-facility kern > /dev/null 2> "$T/fac.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'syslog-facility' "$T/fac.err"; then echo "PASS syslog: --syslog-facility kern is a usage error (exit 2)"
else echo "FAIL syslog: --syslog-facility kern: exit $rc"; fi

# 5. the receiver goes away after the first message: the rest are dropped
# and counted, the run goes on (stdout complete) and exits 0. The final
# stats event comes a second later (at the end of stdin), when the
# receiver is surely gone.
recv gone 10 1
( cat "$TOP/pcaps/demo.pcap"; sleep 1 ) | "$TLSWATCH" -q -r - --all --syslog-socket "$T/gone.sock" > "$T/gone.out" 2> "$T/gone.err"
rc=$?
wait $RECV
if [ $rc -eq 0 ] && [ "$(wc -l < "$T/gone.out")" -gt 3 ] && grep -q 'not delivered' "$T/gone.err" && [ "$(wc -l < "$T/gone.got")" = 1 ]
then echo "PASS syslog: receiver gone: stdout complete, exit 0, stderr: $(tr '\n' '|' < "$T/gone.err")"
else echo "FAIL syslog: receiver gone: exit $rc, stderr: $(tr '\n' '|' < "$T/gone.err")"; fi
