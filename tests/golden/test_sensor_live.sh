#!/bin/sh
# The sensor on a veth pair between two private network namespaces (no
# traffic leaves them): real OpenSSL handshakes, working and failing, while
# tlswatch captures live with -i and tcpdump records the same link.
#  - the live run's tls events and findings equal an offline run over
#    tcpdump's file (handshakes before the SIGTERM);
#  - SIGHUP with the output file moved away loses no line (rotation);
#  - a ClientHello that is never answered on an otherwise quiet link is
#    decided by the timers alone (--handshake-timeout, --idle-timeout), with
#    no packet after it;
#  - SIGTERM in the middle of traffic: exit 0, every handshake that completed
#    before it has its finding, then the final stats line.
# Needs root (unshare -n, nsenter); skipped otherwise.
. "$TOP/tests/lib/vethpair.sh"
veth_test_start "sensor live" tcpdump
cat > "$T/run.sh" <<'EOS'
set -u
cd "$T"
. "$TOP/tests/lib/vethpair.sh"
veth_pair 100 sensor.test || exit 1
# servers in the peer namespace: 4443 answers, 4444 accepts only TLS 1.3,
# 4445 accepts TCP and never answers
$PX timeout 90 openssl s_server -accept 4443 -cert c.pem -key k.pem -www -quiet > /dev/null 2>&1 &
$PX timeout 90 openssl s_server -accept 4444 -cert c.pem -key k.pem -tls1_3 -www -quiet > /dev/null 2>&1 &
$PX timeout 90 python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.0.2", 4445)); s.listen(4)
c, _ = s.accept(); time.sleep(60)' > /dev/null 2>&1 &
i=0
while [ $i -lt 100 ] && [ "$($PX ss -Hltn | grep -c ':444[345] ')" != 3 ]; do sleep 0.05; i=$((i + 1)); done
timeout 90 tcpdump -i tw0 -U -n -s 0 -w all.pcap tcp > tcpdump.txt 2>&1 &
TD=$!
timeout 90 "$TLSWATCH" -i tw0 -q --all --handshake-timeout 2 --idle-timeout 4 -o live.json tcp > tw.out 2> tw.err &
TW=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'listening on' tcpdump.txt; do sleep 0.05; i=$((i + 1)); done
sleep 1
hs() { # hs PORT ARGS...: one handshake, stdin closed
    p=$1; shift
    timeout 5 openssl s_client -connect "10.99.0.2:$p" -servername sensor.test "$@" < /dev/null > /dev/null 2>&1
}
n=0
while [ $n -lt 6 ]; do hs 4443 -tls1_3; hs 4444 -tls1_2; n=$((n + 1)); done
# rotation: move the file away, SIGHUP, go on
mv live.json live.json.1
kill -HUP $TW
n=0
while [ $n -lt 6 ]; do hs 4443 -tls1_2; hs 4444 -tls1_2; n=$((n + 1)); done
# a ClientHello nobody answers, then a quiet link: the client stays
# connected and silent; only timers can decide it
timeout 25 openssl s_client -connect 10.99.0.2:4445 -servername quiet.test < /dev/null > /dev/null 2>&1 &
QC=$!
# due after 2 s (timeout) + 4 s (idle) + a tick; bounded at 18 s on a loaded machine
i=0
while [ $i -lt 180 ] && ! grep -q '"dest_port":4445' live.json 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
jq -c 'select(.event_type=="tls" and .dest_port==4445) | .tls.outcome' live.json > quiet.txt 2>/dev/null
kill -0 $QC 2>/dev/null && echo alive > quiet_client.txt
kill $QC 2>/dev/null; wait $QC 2>/dev/null
sleep 0.5
# SIGTERM in the middle of a run of failing handshakes
( n=0; while [ $n -lt 20 ]; do hs 4444 -tls1_2; n=$((n + 1)); done ) &
LOOP=$!
sleep 1.5
date +%s.%N > term_at.txt
kill -TERM $TW
wait $TW
echo $? > rc.txt
wait $LOOP
sleep 0.5
kill -INT $TD; wait $TD
kill $PEER 2>/dev/null
EOS
T="$T" TOP="$TOP" TLSWATCH="$TLSWATCH" timeout 120 unshare -n sh "$T/run.sh" > "$T/run.log" 2>&1

rc=$(cat "$T/rc.txt" 2>/dev/null)
if [ "$rc" = 0 ]; then echo "PASS sensor live: SIGTERM mid-traffic ends the capture with exit 0"
else echo "FAIL sensor live: exit '$rc' ($(head -3 "$T/tw.err" 2>/dev/null | tr '\n' ' '); $(tail -3 "$T/run.log" | tr '\n' ' '))"; fi

# every line of both files is whole JSON
cat "$T/live.json.1" "$T/live.json" > "$T/live.all" 2>/dev/null
lines=$(wc -l < "$T/live.all")
good=$(jq -c . "$T/live.all" 2>/dev/null | wc -l)
if [ "$lines" -gt 0 ] && [ "$lines" = "$good" ] && [ -s "$T/live.json.1" ] && [ -s "$T/live.json" ]; then
    echo "PASS sensor live: SIGHUP rotation: $lines whole lines in the rotated and the new file"
else echo "FAIL sensor live: rotation: $lines lines, $good parse, sizes $(wc -c < "$T/live.json.1" 2>/dev/null)/$(wc -c < "$T/live.json" 2>/dev/null)"; fi
last=$(tail -1 "$T/live.json" 2>/dev/null | jq -r .event_type 2>/dev/null)
if [ "$last" = stats ]; then echo "PASS sensor live: the final stats event is the last line after SIGTERM"
else echo "FAIL sensor live: last line is '$last', not stats"; fi

q=$(cat "$T/quiet.txt" 2>/dev/null)
alive=$(cat "$T/quiet_client.txt" 2>/dev/null)
if [ "$q" = '"timeout"' ] && [ "$alive" = alive ]; then
    echo "PASS sensor live: an unanswered ClientHello on a quiet link is decided (timeout) by the timers, client still connected"
else echo "FAIL sensor live: quiet link: outcome '$q' while the client stayed connected (client $alive)"; fi

# live vs offline over the same traffic, handshakes that started at least
# 1 s before the SIGTERM (the handshakes after it are the offline run's only)
"$TLSWATCH" -q --all --handshake-timeout 2 --idle-timeout 4 -r "$T/all.pcap" > "$T/off.json" 2> "$T/off.err"
term=$(cat "$T/term_at.txt" 2>/dev/null || echo 0)
proj='select(.event_type=="tls" or .event_type=="finding")
      | select((.timestamp | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) < ($term | tonumber) - 1)
      | [.src_port, .dest_port, .event_type, (.tls.outcome // .finding.rule)] | @tsv'
jq -r --arg term "$term" "$proj" "$T/off.json" | sort > "$T/off.txt"
jq -r --arg term "$term" "$proj" "$T/live.all" | sort > "$T/live.txt"
hs_off=$(grep -c '	tls	' "$T/off.txt")
fin_off=$(grep -c '	finding	' "$T/off.txt")
fail_off=$(grep -c '	4444	finding	version-mismatch' "$T/off.txt")
if [ "$hs_off" -ge 30 ] && [ "$fail_off" -ge 15 ]; then
    echo "PASS sensor live: the offline run sees $hs_off handshakes, $fin_off findings ($fail_off version-mismatch) before the SIGTERM"
else echo "FAIL sensor live: offline run: $hs_off handshakes, $fail_off version-mismatch ($(head -2 "$T/off.err"))"; fi
if cmp -s "$T/off.txt" "$T/live.txt"; then
    echo "PASS sensor live: live tls events and findings equal the offline run's ($(wc -l < "$T/live.txt") lines)"
else
    echo "FAIL sensor live: live and offline differ:"; diff "$T/off.txt" "$T/live.txt" | head -10
fi
