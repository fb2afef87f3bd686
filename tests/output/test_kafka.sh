#!/bin/sh
# --kafka-brokers against librdkafka's mock cluster: tests/tools/kafka_mock
# runs one mock broker in its own process (rd_kafka_mock_cluster_new),
# prints its bootstrap address, and consumes the topic into a file
# (PARTITION TAB OFFSET TAB KEY TAB VALUE); SIGUSR1 takes the broker down,
# SIGUSR2 brings it back. No real Kafka broker is packaged in Debian 12.
#
# Checks: every stdout line reaches Kafka exactly once, byte for byte, in
# stdout order within each partition; the key is the line's community_id
# (one flow, one partition); the final stats event's kafka counters; a
# broker that goes away mid-run (failed, or still queued at the flush
# timeout: reported in one line, exit 1), one that comes back (delivered,
# exit 0); a broker unreachable from the start; configuration errors
# (exit 2); a live capture on lo delivering while it runs, and a full
# queue on a live capture dropping (counted) rather than waiting.
if ! command -v python3 >/dev/null 2>&1 || ! command -v jq >/dev/null 2>&1; then
    echo "SKIP kafka: needs python3 and jq"
    exit 0
fi
MOCK="$BUILD/tools/kafka_mock"
if [ ! -x "$MOCK" ]; then
    echo "FAIL kafka: $MOCK not built (make tests)"
    exit 1
fi
T=$(mktemp -d)
MOCKPID=""
trap '[ -n "$MOCKPID" ] && kill $MOCKPID 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

# mock NAME PARTITIONS [TOPIC]: a mock cluster consuming into $T/NAME.got;
# sets MOCKPID and BOOT
mock() {
    "$MOCK" "${3:-tlswatch}" "$2" "$T/$1.got" > "$T/$1.boot" 2> "$T/$1.mockerr" &
    MOCKPID=$!
    i=0
    while [ $i -lt 100 ] && [ ! -s "$T/$1.boot" ]; do sleep 0.05; i=$((i + 1)); done
    BOOT=$(cat "$T/$1.boot")
}
# mock_stop: the consumer stops after a second without messages
mock_stop() {
    kill $MOCKPID
    wait $MOCKPID
    MOCKRC=$?
    MOCKPID=""
}
# wait_lines FILE N: until FILE has N lines (at most 10 s)
wait_lines() {
    i=0
    while [ $i -lt 200 ] && [ "$(wc -l < "$1" 2>/dev/null || echo 0)" -lt "$2" ]; do sleep 0.05; i=$((i + 1)); done
}
cat > "$T/check.py" <<'EOS'
# check.py GOT STDOUT: compares the consumed messages with the stdout lines
import json, sys
got = [l.rstrip("\n").split("\t", 3) for l in open(sys.argv[1])]
out = [l.rstrip("\n") for l in open(sys.argv[2])]
err = []
vals = [g[3] for g in got]
if sorted(vals) != sorted(out):
    err.append("messages != stdout lines (%d vs %d)" % (len(vals), len(out)))
if len(set(vals)) != len(vals):
    err.append("a line was delivered twice")
pos = {l: i for i, l in enumerate(out)}
parts = {}
for p, off, key, val in got:
    parts.setdefault(p, []).append((int(off), pos.get(val, -1)))
for p, l in parts.items():
    l.sort()
    idx = [i for _, i in l]
    if idx != sorted(idx):
        err.append("partition %s: not in stdout order" % p)
flowpart = {}
keyed = 0
for p, off, key, val in got:
    ev = json.loads(val)
    cid = ev.get("community_id")
    if (key if key not in ("-", "") else None) != cid:
        err.append("key %s for community_id %s" % (key, cid))
    if cid:
        keyed += 1
        if flowpart.setdefault(cid, p) != p:
            err.append("flow %s in partitions %s and %s" % (cid, flowpart[cid], p))
print("; ".join(err[:3]) if err else "ok %d messages, %d keyed, %d flows, %d partitions used"
      % (len(got), keyed, len(flowpart), len(parts)))
EOS

PCAPS=""
for p in demo hostname-mismatch expired-cert crafted-tls12-null cipher-mismatch alpn-mismatch abort-rst \
         chain-incomplete gnutls-tls13 ipv6-tls13 link-ether link-mpls; do
    PCAPS="$PCAPS -r $TOP/pcaps/$p.pcap"
done

# 1. --all over a dozen captures into a 4-partition topic
mock all 4
# shellcheck disable=SC2086
"$TLSWATCH" -q --all --flows $PCAPS --kafka-brokers "$BOOT" > "$T/all.out" 2> "$T/all.err"
rc=$?
wait_lines "$T/all.got" "$(wc -l < "$T/all.out")"
# a second, independent consumer: kcat (Debian's kcat package), to the end of each partition
if command -v kcat >/dev/null 2>&1; then
    timeout 20 kcat -C -b "$BOOT" -t tlswatch -e -q -f '%p\t%o\t%k\t%s\n' > "$T/all.kcat" 2> "$T/kcat.err"
    r=$(python3 "$T/check.py" "$T/all.kcat" "$T/all.out" 2>&1)
    case "$r" in
    ok*) echo "PASS kafka: kcat reads the same from the mock broker: $r" ;;
    *) echo "FAIL kafka: kcat: $r $(head -1 "$T/kcat.err")" ;;
    esac
else echo "SKIP kafka: kcat not installed (sh scripts/deps.sh --test)"; fi
mock_stop
nl=$(wc -l < "$T/all.out")
nm=$(wc -l < "$T/all.got")
if [ $rc -eq 0 ] && [ "$nl" -gt 20 ] && [ "$nl" = "$nm" ] && [ ! -s "$T/all.err" ] && [ "$MOCKRC" = 0 ]
then echo "PASS kafka: $nm messages for $nl stdout lines (exit 0, nothing on stderr; mock cluster at $BOOT)"
else echo "FAIL kafka: exit $rc, $nl stdout lines, $nm messages, mock exit $MOCKRC, stderr: $(head -2 "$T/all.err")"; fi
r=$(python3 "$T/check.py" "$T/all.got" "$T/all.out" 2>&1)
case "$r" in
ok*) echo "PASS kafka: each line once, byte for byte, stdout order within each partition, key = community_id: $r" ;;
*) echo "FAIL kafka: $r" ;;
esac
k=$(tail -1 "$T/all.out" | jq -c '.stats.kafka')
want=$((nl - 1))
if [ "$k" = "{\"produced\":$want,\"delivered\":$want,\"failed\":0,\"dropped\":0,\"errors\":0,\"queue\":0}" ]
then echo "PASS kafka: final stats $k (every line before it delivered)"
else echo "FAIL kafka: final stats kafka $k (expected $want produced and delivered)"; fi
if "$TLSWATCH" -q -r "$TOP/pcaps/demo.pcap" | tail -1 | jq -e '.stats | has("kafka") | not' >/dev/null
then echo "PASS kafka: no kafka object in stats without --kafka-brokers"
else echo "FAIL kafka: stats has a kafka object without --kafka-brokers"; fi

# 2. Kafka alone (-o /dev/null), another topic, a librdkafka property, -F text
mock text 2 events.tls
"$TLSWATCH" -q -F text --all -r "$TOP/pcaps/demo.pcap" -o /dev/null --kafka-brokers "$BOOT" \
    --kafka-topic events.tls --kafka-opt compression.codec=gzip --kafka-opt linger.ms=50 > "$T/text.stdout" 2> "$T/text.err"
rc=$?
"$TLSWATCH" -q -F text --all -r "$TOP/pcaps/demo.pcap" > "$T/text.out"
wait_lines "$T/text.got" "$(wc -l < "$T/text.out")"
mock_stop
cut -f4 "$T/text.got" > "$T/text.vals"
if [ $rc -eq 0 ] && [ ! -s "$T/text.stdout" ] && cmp -s "$T/text.vals" "$T/text.out" && [ "$(cut -f3 "$T/text.got" | sort -u)" = "-" ]
then echo "PASS kafka: -o /dev/null -F text --kafka-topic events.tls --kafka-opt compression.codec=gzip: the $(wc -l < "$T/text.out") text lines, keyless, in order"
else echo "FAIL kafka: text/topic/opt: exit $rc, $(wc -l < "$T/text.got") messages: $(head -2 "$T/text.err")"; fi

# 3-5. the broker goes away after the first capture: tlswatch reads a second
# one from a pipe once the mock broker is down (SIGUSR1)
# down NAME FIRST_LINES EXTRA_OPTIONS... : runs it, $T/NAME.{out,err,got}
down() {
    name=$1 first=$2
    shift 2
    rm -f "$T/fifo"
    mkfifo "$T/fifo"
    mock "$name" 4
    (
        wait_lines "$T/$name.got" "$first"
        kill -USR1 $MOCKPID
        sleep 0.5
        cat "$TOP/pcaps/hostname-mismatch.pcap"
        if [ -n "${UP_AFTER:-}" ]; then sleep "$UP_AFTER"; kill -USR2 $MOCKPID; fi
    ) > "$T/fifo" &
    feeder=$!
    t0=$(date +%s%N)
    "$TLSWATCH" -q --all -r "$TOP/pcaps/demo.pcap" -r - --kafka-brokers "$BOOT" "$@" < "$T/fifo" > "$T/$name.out" 2> "$T/$name.err"
    rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    wait $feeder
    [ -n "${UP_AFTER:-}" ] && wait_lines "$T/$name.got" "$(wc -l < "$T/$name.out")"
    mock_stop
}
demo_lines=$("$TLSWATCH" -q --all -r "$TOP/pcaps/demo.pcap" | grep -vc '"event_type":"stats"')

# 3. message.timeout.ms=1000: the events after the outage fail (delivery reports)
down fail "$demo_lines" --kafka-opt message.timeout.ms=1000 --kafka-opt reconnect.backoff.max.ms=200
nl=$(wc -l < "$T/fail.out")
k=$(tail -1 "$T/fail.out" | jq -c '.stats.kafka | [.produced, .delivered, .failed]')
after=$((nl - demo_lines))
if [ $rc -eq 1 ] && [ "$(wc -l < "$T/fail.got")" = "$demo_lines" ] && [ "$k" = "[$((nl - 1)),$demo_lines,$((after - 1))]" ] \
   && grep -q "kafka: tlswatch: $after of $nl event(s) not delivered ($after failed, 0 dropped" "$T/fail.err"
then echo "PASS kafka: broker down mid-run, message.timeout.ms=1000: $demo_lines delivered, $after failed (stats [produced,delivered,failed] $k), exit 1"
else echo "FAIL kafka: broker down: exit $rc, stats $k, $(wc -l < "$T/fail.got") consumed, stderr: $(tr '\n' '|' < "$T/fail.err")"; fi
if [ "$(grep -c 'events wait in the queue' "$T/fail.err")" = 1 ] && [ "$(grep -c 'delivery failed' "$T/fail.err")" = 1 ] \
   && [ "$(wc -l < "$T/fail.err")" = 3 ]
then echo "PASS kafka: broker down: three stderr lines (outage, first failed delivery, summary), not one per message or retry"
else echo "FAIL kafka: broker down: stderr: $(tr '\n' '|' < "$T/fail.err" | cut -c1-400)"; fi

# 4. default message timeout, --kafka-flush-timeout 1: still queued at exit
down queued "$demo_lines" --kafka-flush-timeout 1
nl=$(wc -l < "$T/queued.out")
after=$((nl - demo_lines))
if [ $rc -eq 1 ] && [ "$ms" -lt 6000 ] && grep -q "$after of $nl event(s) not delivered (0 failed, 0 dropped on a full queue, $after still queued after the 1 s flush timeout)" "$T/queued.err"
then echo "PASS kafka: broker down, --kafka-flush-timeout 1: $after still queued, reported, exit 1 after ${ms} ms"
else echo "FAIL kafka: flush timeout: exit $rc after $ms ms, stderr: $(tr '\n' '|' < "$T/queued.err")"; fi

# 5. the broker comes back a second later: everything delivered, exit 0
UP_AFTER=1 down back "$demo_lines" --kafka-opt reconnect.backoff.max.ms=200
nl=$(wc -l < "$T/back.out")
r=$(python3 "$T/check.py" "$T/back.got" "$T/back.out" 2>&1)
if [ $rc -eq 0 ] && [ "$(wc -l < "$T/back.got")" = "$nl" ] && grep -q 'delivering again' "$T/back.err" \
   && [ "$(grep -c 'events wait in the queue' "$T/back.err")" = 1 ]
then echo "PASS kafka: broker back after 1 s: all $nl lines delivered ($r), exit 0, stderr: $(tr '\n' '|' < "$T/back.err" | cut -c1-200)"
else echo "FAIL kafka: broker back: exit $rc, $(wc -l < "$T/back.got") of $nl, stderr: $(tr '\n' '|' < "$T/back.err")"; fi

# 6. no broker at all: one line for the outage, one summary, stdout complete
"$TLSWATCH" -q --all -r "$TOP/pcaps/demo.pcap" --kafka-brokers 127.0.0.1:9 --kafka-flush-timeout 1 > "$T/none.out" 2> "$T/none.err"
rc=$?
n=$(wc -l < "$T/none.out")
if [ $rc -eq 1 ] && [ "$n" -gt 3 ] && [ "$(wc -l < "$T/none.err")" = 2 ] && grep -q "$n of $n event(s) not delivered" "$T/none.err"
then echo "PASS kafka: unreachable broker: stdout complete ($n lines), exit 1, two stderr lines: $(tr '\n' '|' < "$T/none.err" | cut -c1-300)"
else echo "FAIL kafka: unreachable broker: exit $rc, stderr: $(tr '\n' '|' < "$T/none.err")"; fi

# 7. configuration errors: one line, exit 2, nothing written
bad() {
    desc=$1
    shift
    "$TLSWATCH" -q -r "$TOP/pcaps/demo.pcap" "$@" > "$T/bad.out" 2> "$T/bad.err"
    rc=$?
    if [ $rc -eq 2 ] && [ "$(wc -l < "$T/bad.err")" = 1 ] && [ ! -s "$T/bad.out" ]
    then echo "PASS kafka: $desc: exit 2: $(cat "$T/bad.err")"
    else echo "FAIL kafka: $desc: exit $rc, stderr: $(tr '\n' '|' < "$T/bad.err")"; fi
}
bad "broker without host" --kafka-brokers ":9092"
bad "port out of range" --kafka-brokers "k1:9092,k2:99999"
bad "protocol prefix" --kafka-brokers "SSL://k1:9093"
bad "unknown property" --kafka-brokers k1 --kafka-opt no.such.property=1
bad "invalid value" --kafka-brokers k1 --kafka-opt compression.codec=brotli
bad "no KEY=VALUE" --kafka-brokers k1 --kafka-opt acks
bad "delivery.report.only.error" --kafka-brokers k1 --kafka-opt delivery.report.only.error=true
bad "bad topic" --kafka-brokers k1 --kafka-topic "a/b"
bad "--kafka-topic alone" --kafka-topic x

# 8. live on lo (a private network namespace): events reach Kafka while the
# capture runs (the capture tick serves delivery reports), SIGINT flushes;
# then a 1-message queue and no broker: a live capture drops (counted)
# instead of waiting
live_ok=1
for c in unshare openssl ip ss; do command -v $c >/dev/null 2>&1 || live_ok=0; done
if [ "$(id -u)" != 0 ] || [ $live_ok = 0 ]; then
    echo "SKIP kafka: live capture on lo needs root, unshare, openssl, ip, ss"
    exit 0
fi
cat > "$T/live.sh" <<'EOS'
set -u
ip link set lo up
cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem \
    -days 2 -subj /CN=kafka.test 2>/dev/null
timeout 60 openssl s_server -accept 4999 -cert c.pem -key k.pem -naccept 9 -quiet > /dev/null 2>&1 &
"$MOCK" tlswatch 2 live.got > live.boot 2> live.mockerr &
M=$!
i=0
while [ $i -lt 100 ] && { [ ! -s live.boot ] || ! ss -ltn 2>/dev/null | grep -q ':4999 '; }; do sleep 0.05; i=$((i + 1)); done
"$TLSWATCH" -q -i lo --all --kafka-brokers "$(cat live.boot)" -o live.out tcp port 4999 2> live.err &
TW=$!
sleep 1
for n in one two three; do echo Q | timeout 5 openssl s_client -connect 127.0.0.1:4999 -servername $n.test > /dev/null 2>&1; done
sleep 2.5
wc -l < live.got > live.before
kill -INT $TW
wait $TW
echo $? > live.rc
sleep 1.5
kill $M
wait $M
# --workers 2: only the parent produces (the workers' lines pass through it);
# it opens Kafka after forking the workers. Under ASan, since a worker
# forked beside librdkafka's threads sometimes hung or lost its lines.
"$MOCK" tlswatch 2 work.got > work.boot 2> work.mockerr &
M=$!
i=0
while [ $i -lt 100 ] && [ ! -s work.boot ]; do sleep 0.05; i=$((i + 1)); done
"$TLSWATCH" -q -i lo --workers 2 --all --kafka-brokers "$(cat work.boot)" -o work.out \
    tcp port 4999 2> work.err &
TW=$!
sleep 1.5
for n in w1 w2 w3; do echo Q | timeout 5 openssl s_client -connect 127.0.0.1:4999 -servername $n.test > /dev/null 2>&1; done
sleep 2
kill -INT $TW
wait $TW
echo $? > work.rc
sleep 1.5
kill $M
wait $M
# a queue of one message, no broker: the first event waits in it, the others are dropped
"$TLSWATCH" -q -i lo --all --kafka-brokers 127.0.0.1:9 --kafka-opt queue.buffering.max.messages=1 \
    --kafka-flush-timeout 1 -o full.out tcp port 4999 2> full.err &
TW=$!
sleep 1
for n in one two three; do echo Q | timeout 5 openssl s_client -connect 127.0.0.1:4999 -servername $n.test > /dev/null 2>&1; done
sleep 1.5
kill -INT $TW
wait $TW
echo $? > full.rc
EOS
T="$T" MOCK="$MOCK" TLSWATCH="$TLSWATCH" timeout 90 unshare -n sh "$T/live.sh"
before=$(cat "$T/live.before" 2>/dev/null)
nl=$(wc -l < "$T/live.out" 2>/dev/null)
r=$(python3 "$T/check.py" "$T/live.got" "$T/live.out" 2>&1)
if [ "$(cat "$T/live.rc" 2>/dev/null)" = 0 ] && [ "$before" = 3 ] && [ "$nl" = 4 ] && [ "${r#ok}" != "$r" ] && [ ! -s "$T/live.err" ]
then echo "PASS kafka: live on lo: the 3 tls events in Kafka before SIGINT, the final stats after it, exit 0 ($r)"
else echo "FAIL kafka: live: exit $(cat "$T/live.rc" 2>/dev/null), $before before SIGINT, $nl lines, $r, stderr: $(head -2 "$T/live.err" 2>/dev/null)"; fi
r=$(python3 "$T/check.py" "$T/work.got" "$T/work.out" 2>&1)
if [ "$(cat "$T/work.rc" 2>/dev/null)" = 0 ] && [ "$(grep -c '"event_type":"tls"' "$T/work.out")" = 3 ] && [ "${r#ok}" != "$r" ]
then echo "PASS kafka: --workers 2: the parent produces every line of both workers, exit 0 ($r)"
else echo "FAIL kafka: --workers 2: exit $(cat "$T/work.rc" 2>/dev/null), $r, stderr: $(head -2 "$T/work.err" 2>/dev/null)"; fi
k=$(tail -1 "$T/full.out" 2>/dev/null | jq -c '.stats.kafka | [.produced, .dropped]')
if [ "$(cat "$T/full.rc" 2>/dev/null)" = 1 ] && [ "$k" = "[1,2]" ] && grep -q 'local queue is full' "$T/full.err" \
   && grep -q '4 of 4 event(s) not delivered (0 failed, 3 dropped on a full queue, 1 still queued' "$T/full.err"
then echo "PASS kafka: live, full queue: events dropped at once and counted (stats [produced,dropped] $k), exit 1"
else echo "FAIL kafka: live full queue: exit $(cat "$T/full.rc" 2>/dev/null), stats $k, stderr: $(tr '\n' '|' < "$T/full.err" 2>/dev/null)"; fi
