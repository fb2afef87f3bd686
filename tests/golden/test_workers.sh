#!/bin/sh
# --workers 2 on a veth pair between two private network namespaces: two
# capture processes in one PACKET_FANOUT group, one output. Run beside a
# single-process tlswatch on the same link and the same real OpenSSL
# handshakes (working and failing), it must give the same set of tls events
# and findings; every line whole; one summed stats event at the end with
# the packets of both workers and "workers"; a worker killed mid-run is
# restarted, reported and counted; SIGTERM ends everything with exit 0.
# Needs root (unshare -n, nsenter); skipped otherwise.
. "$TOP/tests/lib/vethpair.sh"
veth_test_start "workers"
cat > "$T/run.sh" <<'EOS'
set -u
cd "$T"
. "$TOP/tests/lib/vethpair.sh"
veth_pair 90 workers.test || exit 1
$PX timeout 80 openssl s_server -accept 4443 -cert c.pem -key k.pem -www -quiet > /dev/null 2>&1 &
$PX timeout 80 openssl s_server -accept 4444 -cert c.pem -key k.pem -tls1_3 -www -quiet > /dev/null 2>&1 &
i=0
while [ $i -lt 100 ] && [ "$($PX ss -Hltn | grep -c ':444[34] ')" != 2 ]; do sleep 0.05; i=$((i + 1)); done
timeout 80 "$TLSWATCH" -i tw0 --all --stats-interval 2 -o one.json tcp 2> one.err &
ONE=$!
timeout 80 "$TLSWATCH" -i tw0 --all --stats-interval 2 --workers 2 -o two.json tcp 2> two.err &
TWO=$!
sleep 1.5
hs() { p=$1; shift; timeout 5 openssl s_client -connect "10.99.0.2:$p" -servername workers.test "$@" < /dev/null > /dev/null 2>&1; }
n=0
while [ $n -lt 10 ]; do hs 4443 -tls1_3; hs 4444 -tls1_2; hs 4443 -tls1_2; n=$((n + 1)); done
# kill one worker: it must come back. Wait (bounded) until a summed stats
# event counts the 30 handshakes so far: the killed worker's counts are
# then in the sums (stats go out every --stats-interval, on a one-second
# tick, so a fixed sleep after the handshakes could fall before them)
sleep 1
i=0
while [ $i -lt 40 ]; do
    c=$(jq -r 'select(.event_type=="stats") | .stats.tls.handshakes' two.json 2>/dev/null | tail -1)
    [ "${c:-0}" -ge 30 ] 2>/dev/null && break
    sleep 0.25; i=$((i + 1))
done
echo "handshakes in the sums before the kill: ${c:-none}" > before_kill.txt
TWP=$(pgrep -P $TWO | head -1)   # tlswatch itself (under timeout); its children are the workers
W=$(pgrep -P "$TWP" | head -1)
echo "$W" > killed.txt
[ -n "$W" ] && kill -KILL "$W"
sleep 1
n=0
while [ $n -lt 10 ]; do hs 4443 -tls1_3; hs 4444 -tls1_2; hs 4443 -tls1_2; n=$((n + 1)); done
pgrep -P "$TWP" | wc -l > workers_after.txt
sleep 2
kill -TERM $ONE $TWO
wait $ONE; echo $? > rc1.txt
wait $TWO; echo $? > rc2.txt
kill $PEER 2>/dev/null
EOS
T="$T" TOP="$TOP" TLSWATCH="$TLSWATCH" timeout 120 unshare -n sh "$T/run.sh" > "$T/run.log" 2>&1

r1=$(cat "$T/rc1.txt" 2>/dev/null); r2=$(cat "$T/rc2.txt" 2>/dev/null)
if [ "$r1" = 0 ] && [ "$r2" = 0 ]; then echo "PASS workers: both runs end on SIGTERM with exit 0"
else echo "FAIL workers: exit codes '$r1' '$r2' ($(head -3 "$T/two.err" | tr '\n' ' '))"; fi
lines=$(wc -l < "$T/two.json"); good=$(jq -c . "$T/two.json" 2>/dev/null | wc -l)
if [ "$lines" -gt 60 ] && [ "$lines" = "$good" ]; then echo "PASS workers: $lines lines, every one whole JSON"
else echo "FAIL workers: $lines lines, $good parse"; fi
proj='select(.event_type=="tls" or .event_type=="finding") | [.src_port, .dest_port, .event_type, (.tls.outcome // .finding.rule)] | @tsv'
jq -r "$proj" "$T/one.json" | sort > "$T/one.txt"
jq -r "$proj" "$T/two.json" | sort > "$T/two.txt"
h=$(grep -c '	tls	' "$T/one.txt"); f=$(grep -c '	finding	' "$T/one.txt")
if [ "$h" -ge 60 ] && [ "$f" -ge 20 ] && cmp -s "$T/one.txt" "$T/two.txt"; then
    echo "PASS workers: --workers 2 gives the same $h tls events and $f findings as one process"
else echo "FAIL workers: one process $h tls/$f findings; differ:"; diff "$T/one.txt" "$T/two.txt" | head -6; fi
k=$(cat "$T/killed.txt" 2>/dev/null)
if [ -n "$k" ] && grep -q "worker [01] (pid $k) killed by signal 9; restarted" "$T/two.err" && [ "$(cat "$T/workers_after.txt")" = 2 ]; then
    echo "PASS workers: a killed worker is reported and restarted (2 workers again)"
else echo "FAIL workers: restart: killed '$k', after $(cat "$T/workers_after.txt" 2>/dev/null) workers; $(head -3 "$T/two.err" | tr '\n' ' ')"; fi
s=$(tail -1 "$T/two.json" | jq -r '"\(.event_type) \(.stats.workers.count) \(.stats.workers.restarts)"' 2>/dev/null)
p1=$(tail -1 "$T/one.json" | jq -r '.stats.tls.handshakes' 2>/dev/null)
p2=$(tail -1 "$T/two.json" | jq -r '.stats.tls.handshakes' 2>/dev/null)
if [ "$s" = "stats 2 1" ] && [ -n "$p1" ] && [ "$p1" = "$p2" ]; then
    echo "PASS workers: one summed final stats event (workers 2, 1 restart, $p2 handshakes as one process counts)"
else echo "FAIL workers: final stats '$s', handshakes one '$p1' two '$p2'"; fi
ns=$(jq -r 'select(.event_type=="stats") | .stats.workers.count' "$T/two.json" | grep -c '^2$')
n1=$(jq -r 'select(.event_type=="stats")' "$T/one.json" | grep -c '"event_type"')
if [ "$ns" -ge 3 ]; then echo "PASS workers: periodic stats summed too ($ns stats events, one process wrote $n1)"
else echo "FAIL workers: $ns summed stats events"; fi
pk=$(tail -1 "$T/two.json" | jq -r '.stats.workers.packets | map(select(. > 0)) | length' 2>/dev/null)
if [ "$pk" = 2 ]; then echo "PASS workers: both workers captured packets ($(tail -1 "$T/two.json" | jq -c .stats.workers.packets))"
else echo "FAIL workers: packets per worker $(tail -1 "$T/two.json" | jq -c .stats.workers.packets 2>/dev/null)"; fi
