#!/bin/sh
# make soak: tlswatch captures live for SOAK_SECONDS while tcpreplay loops a
# mixed capture into a veth pair at a steady packet rate; its RSS is sampled
# and must be flat after the warm-up. Then a short burst at top speed
# provokes kernel drops, which the stats and a capture-loss finding must
# report. Not part of make check (10 minutes by default).
#
# The traffic: every Ethernet capture of pcaps/ (real TLS stacks, working and
# failing handshakes, renegotiations, resumptions, IPv6, VLAN/QinQ/MPLS,
# tunnels) concatenated with mergecap -a, then tests/bench/soak_prep.py gives
# the two ends of each loopback connection distinct addresses, so that
# tcpreplay --unique-ip can move them each loop: every loop is new flows
# (inner addresses of tunnels are not moved: those repeat, as 4-tuple reuse).
# Left out: truncated.pcap (cut short), link-pppoe.pcap and tun-cmd-sgt.pcap
# (tcpreplay --unique-ip can't edit PPPoE or Cisco MetaData frames and skips
# them), and the non-Ethernet link types (one link type per replay).
#
# Network: a private network namespace (unshare -n) holding both ends of a
# veth pair, vethA and vethB, no addresses, IPv6 off (the kernel sends
# nothing on them). tcpreplay sends on vethA, tlswatch captures on vethB;
# before tlswatch starts, a check replays 100 packets and reads vethB's rx
# counter. Nothing is sent on the host's interfaces.
#
# Phases, all under timeout:
#   steady   SOAK_SECONDS at SOAK_PPS (tcpreplay --pps, --loop 0 --duration)
#   (stats)  SIGUSR1: the stats of the steady phase alone
#   burst    SOAK_BURST seconds of tcpreplay --topspeed (0 = none)
#   settle   SOAK_SETTLE seconds (a capture interval ends: capture-loss)
#   SIGTERM: the final stats event
# tlswatch (release build) runs -i vethB -q --all --stats-interval 10
# --idle-timeout SOAK_IDLE; its output goes through a pipe to awk, which
# counts the events and keeps only the stats and capture-loss lines (about
# 10^6 lines otherwise). Its VmRSS/VmHWM and CPU are sampled every
# SOAK_SAMPLE seconds from /proc into build/soak/rss.tsv.
#
# Verdict: least-squares slope of VmRSS over the steady phase after
# SOAK_WARMUP seconds, against SOAK_SLOPE_MAX KiB/min. The warm-up covers
# the idle timeout: flows that never close (timeouts, aborted, one-way) stay
# in the table for SOAK_IDLE seconds, so the table fills for that long.
# Two tables are bounded by count, not by time, and --unique-ip fills them
# with ~175 new server addresses a second (at 10,000 pps), far more than a
# tap sees: the certificate-change memory (--max-cert-servers, least
# recently seen evicted; default 65,536, full only after ~6 minutes here)
# and, until its window, the storm keys. The soak lowers the first to
# SOAK_CERT_SERVERS so that it fills within the warm-up; the slope after
# it then shows that eviction keeps it flat (its evictions are reported).
# Exit status: 0 flat, 1 not flat or a phase failed, 2 usage/missing tool.
#
# Knobs: SOAK_SECONDS (600), SOAK_PPS (10000), SOAK_WARMUP (120), SOAK_IDLE
# (60), SOAK_SAMPLE (5), SOAK_BURST (10), SOAK_SETTLE (15), SOAK_SLOPE_MAX
# (64), SOAK_CERT_SERVERS (tlswatch --max-cert-servers, 8192: see below),
# SOAK_BUFFER (tlswatch -B in MB; default libpcap's 2), SOAK_WRAP (a
# command put before tlswatch, e.g. "valgrind --tool=massif
# --massif-out-file=/tmp/m.out"; its RSS is then the wrapper's), KEEP=1
# (keep build/soak/soak.pcap and the run's work files).
# Usage: tests/bench/soak.sh BIN (root)
set -u

TW=${1:-}
if [ -z "$TW" ] || [ ! -x "$TW" ]; then
    echo "usage: sh tests/bench/soak.sh path/to/tlswatch (built, executable)" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case $TW in /*) ;; *) TW=$(pwd)/$TW ;; esac
cd "$ROOT" || exit 2

SECS=${SOAK_SECONDS:-600}
PPS=${SOAK_PPS:-10000}
WARM=${SOAK_WARMUP:-120}
IDLE=${SOAK_IDLE:-60}
SAMPLE=${SOAK_SAMPLE:-5}
BURST=${SOAK_BURST:-10}
SETTLE=${SOAK_SETTLE:-15}
SLOPE_MAX=${SOAK_SLOPE_MAX:-64}
BUFFER=${SOAK_BUFFER:-}
CERTS=${SOAK_CERT_SERVERS:-8192}
WRAP=${SOAK_WRAP:-}
KEEP=${KEEP:-0}

if [ "$(id -u)" != 0 ]; then
    echo "soak: needs root (unshare -n, a veth pair in a private network namespace)" >&2
    exit 2
fi
for t in /usr/bin/time tcpreplay mergecap capinfos unshare ip sysctl jq awk timeout python3; do
    command -v $t >/dev/null 2>&1 || { echo "soak: missing tool: $t (make bench-deps)" >&2; exit 2; }
done
[ "$WARM" -lt "$SECS" ] || { echo "soak: SOAK_WARMUP ($WARM) must be below SOAK_SECONDS ($SECS)" >&2; exit 2; }

D=$ROOT/build/soak
mkdir -p "$D" || exit 2
W=$(mktemp -d "$D/run.XXXXXX") || exit 2
cleanup() { [ "$KEEP" = 1 ] || rm -rf "$W" "$D/soak.pcap"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# ------------------------------------------------------------ the capture
list=""
for f in pcaps/*.pcap; do
    case $f in pcaps/truncated.pcap|pcaps/link-pppoe.pcap|pcaps/tun-cmd-sgt.pcap) continue ;; esac
    [ "$(capinfos -TmE "$f" 2>/dev/null | tail -1 | cut -d, -f2)" = ether ] && list="$list $f"
done
nfiles=$(echo $list | wc -w)
# shellcheck disable=SC2086
mergecap -a -F pcap -w "$W/merged.pcap" $list || { echo "soak: mergecap failed" >&2; exit 1; }
python3 tests/bench/soak_prep.py "$W/merged.pcap" "$D/soak.pcap" >&2 || exit 1
loop_pkts=$(capinfos -Tmc "$D/soak.pcap" | tail -1 | cut -d, -f2)
loop_bytes=$(capinfos -Tmd "$D/soak.pcap" | tail -1 | cut -d, -f2)
loop_hs=$(timeout 60 "$TW" -q --all -r "$D/soak.pcap" | jq -r 'select(.event_type=="stats") | .stats.tls.handshakes' | tail -1)
echo "soak: $nfiles captures of pcaps/ -> build/soak/soak.pcap: $loop_pkts packets, $loop_bytes bytes, $loop_hs handshakes offline per loop" >&2

# ------------------------------------------------------------ the run
cat > "$W/run.sh" <<'EOS'
set -u
cd "$W"
pids=""
stop_all() { for p in $pids; do kill "$p" 2>/dev/null; done; }
trap stop_all EXIT
log() { echo "$(date -u +%H:%M:%S) $*"; }
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link set lo up
ip link add vethA mtu 9000 type veth peer name vethB mtu 9000 || exit 1
ip link set vethA up && ip link set vethB up || exit 1
# /proc/net/dev is this namespace's (/sys still shows the host's)
rx() { sed -n 's/^ *vethB: *//p' /proc/net/dev | awk '{print $2}'; }

# the link carries what tcpreplay sends
r0=$(rx)
timeout 20 tcpreplay -q -i vethA --limit 100 --pps 1000 soak.pcap > check.txt 2>&1
sleep 0.5
r1=$(rx)
echo "$((r1 - r0))" > link_check.txt
[ "$((r1 - r0))" = 100 ] || { log "link check: vethB received $((r1 - r0)) of 100"; exit 1; }

# tlswatch on vethB, its output counted by awk through a fifo
mkfifo out.fifo
total=$((SECS + BURST + SETTLE + 60))
timeout $((total + 30)) awk '
    /"event_type":"stats"/ { print > "stats.json"; fflush("stats.json") }
    /"rule":"capture-loss"/ { print > "loss.json"; fflush("loss.json") }
    { if (match($0, /"event_type":"[a-z_]+"/)) n[substr($0, RSTART + 14, RLENGTH - 15)]++ }
    END { for (k in n) print k, n[k] > "events.txt" }' < out.fifo &
AWK=$!
pids="$pids $AWK"
opt="--max-cert-servers $CERTS"
[ -n "$BUFFER" ] && opt="$opt -B $BUFFER"
# shellcheck disable=SC2086
timeout $total $WRAP "$TW" -i vethB -q --all --stats-interval 10 --idle-timeout "$IDLE" $opt > out.fifo 2> tw.err &
TO=$!
pids="$TO $pids"
i=0
TWP=""
while [ $i -lt 100 ] && [ -z "$TWP" ]; do
    TWP=$(cat /proc/$TO/task/$TO/children 2>/dev/null | awk '{print $1}')
    sleep 0.05; i=$((i + 1))
done
[ -n "$TWP" ] || { log "tlswatch did not start"; exit 1; }
sleep 1
[ -n "$WRAP" ] && sleep 5      # a wrapper (valgrind) takes longer to open the capture
kill -0 "$TWP" 2>/dev/null || { log "tlswatch exited: $(head -3 tw.err)"; exit 1; }

# RSS sampler: t_s phase vmrss_kib vmhwm_kib cpu_ticks, bounded in count
T0=$(date +%s)
echo steady > phase
(
    printf 't_s\tphase\tvmrss_kib\tvmhwm_kib\tcpu_ticks\n'
    n=0
    while [ $n -lt $(( total / SAMPLE + 10 )) ] && [ -r /proc/$TWP/status ]; do
        rss=$(awk '/^VmRSS:/ {print $2}' /proc/$TWP/status 2>/dev/null)
        hwm=$(awk '/^VmHWM:/ {print $2}' /proc/$TWP/status 2>/dev/null)
        cpu=$(awk '{print $14 + $15}' /proc/$TWP/stat 2>/dev/null)
        [ -n "$rss" ] && printf '%s\t%s\t%s\t%s\t%s\n' $(( $(date +%s) - T0 )) "$(cat phase)" "$rss" "$hwm" "$cpu"
        n=$((n + 1))
        sleep "$SAMPLE"
    done
) > rss.tsv &
SMP=$!
pids="$pids $SMP"

r0=$(rx)
log "steady: $SECS s at $PPS pps"
timeout $((SECS + 30)) /usr/bin/time -f "%U %S" -o replay_steady.time tcpreplay -i vethA -K --pps "$PPS" --loop 0 --unique-ip --duration "$SECS" soak.pcap > replay_steady.txt 2>&1
echo $? > replay_steady.rc
sleep 2
r1=$(rx)
echo "$((r1 - r0))" > rx_steady.txt
# the steady phase's own stats: SIGUSR1 writes a stats event and flushes the
# output; wait (bounded) until the last stats line accounts for every packet
# vethB received since tlswatch started (seen + dropped)
kill -USR1 "$TWP"
i=0
while [ $i -lt 60 ]; do
    got=$(tail -1 stats.json 2>/dev/null | jq '.stats.packets + .stats.kernel_dropped + .stats.interface_dropped' 2>/dev/null)
    [ "${got:-0}" -ge "$((r1 - r0))" ] && break
    sleep 0.5; i=$((i + 1))
    [ $((i % 10)) = 0 ] && kill -USR1 "$TWP"
done
tail -1 stats.json > stats_steady.json
echo "$(( $(date +%s) - T0 ))" > steady_end.txt

if [ "$BURST" -gt 0 ]; then
    echo burst > phase
    log "burst: $BURST s at top speed"
    timeout $((BURST + 30)) tcpreplay -i vethA -K --topspeed --loop 0 --unique-ip --duration "$BURST" soak.pcap > replay_burst.txt 2>&1
    echo $? > replay_burst.rc
fi
echo settle > phase
sleep "$SETTLE"
r2=$(rx)
echo "$((r2 - r1))" > rx_burst.txt
kill -TERM "$TWP"
i=0
while [ $i -lt 100 ] && kill -0 "$TWP" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
wait $TO
echo $? > tw.rc
wait $AWK
kill $SMP 2>/dev/null
wait $SMP 2>/dev/null
pids=""
log "done"
EOS
echo "soak: steady $SECS s at $PPS pps, burst $BURST s, tlswatch --idle-timeout $IDLE, RSS every $SAMPLE s, warm-up $WARM s" >&2
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cp "$D/soak.pcap" "$W/soak.pcap"
W="$W" TW="$TW" WRAP="$WRAP" SECS="$SECS" PPS="$PPS" IDLE="$IDLE" SAMPLE="$SAMPLE" BURST="$BURST" SETTLE="$SETTLE" BUFFER="$BUFFER" CERTS="$CERTS" \
    timeout $((SECS + BURST + SETTLE + 200)) unshare -n sh "$W/run.sh" > "$W/run.log" 2>&1
run_rc=$?
cat "$W/run.log" >&2
for f in replay_steady.time rss.tsv stats.json stats_steady.json replay_steady.txt replay_burst.txt events.txt loss.json tw.err; do
    [ -e "$W/$f" ] && cp "$W/$f" "$D/$f"
done

# ------------------------------------------------------------ figures
# tcpreplay's report: "Actual: N packets (B bytes) sent in S seconds",
# "Rated: X Bps, Y Mbps, Z pps"
rep() { # rep FILE -> "packets bytes seconds mbps pps" or NA
    awk '/^Actual:/ { p = $2; b = substr($4, 2); s = $(NF - 1) }
         /^Rated:/ { m = $4; q = $6 }
         END { if (p == "") print "NA NA NA NA NA"; else print p, b, s, m, q }' "$1" 2>/dev/null || echo "NA NA NA NA NA"
}
set -- $(rep "$W/replay_steady.txt"); s_pk=$1 s_by=$2 s_s=$3 s_mb=$4 s_pps=$5
set -- $(rep "$W/replay_burst.txt"); b_pk=$1 b_s=$3 b_mb=$4 b_pps=$5
st() { jq -r "$2" "$1" 2>/dev/null | tail -1; }
SS=$W/stats_steady.json
SF=$(tail -1 "$W/stats.json" 2>/dev/null > "$W/stats_final.json"; echo "$W/stats_final.json")
ss_pk=$(st "$SS" '.stats.packets'); ss_hs=$(st "$SS" '.stats.tls.handshakes')
ss_drop=$(st "$SS" '.stats.kernel_dropped + .stats.interface_dropped')
ss_flows=$(st "$SS" '.stats.flows.total'); ss_act=$(st "$SS" '.stats.flows.active')
ss_exp=$(st "$SS" '.stats.flows.expired'); ss_ev=$(st "$SS" '.stats.flows.evicted')
ss_fi=$(st "$SS" '.stats.findings.total'); ss_shed=$(st "$SS" '.stats.memory.tls_state_shed_flows')
ss_tlsb=$(st "$SS" '.stats.memory.tls_state_peak_bytes'); ss_storm=$(st "$SS" '.stats.findings.storm_keys')
ss_stev=$(st "$SS" '.stats.findings.storm_evictions')
ss_cs=$(st "$SS" '.stats.certificates.servers'); ss_csev=$(st "$SS" '.stats.certificates.server_evictions')
sf_pk=$(st "$SF" '.stats.packets'); sf_hs=$(st "$SF" '.stats.tls.handshakes')
sf_kd=$(st "$SF" '.stats.kernel_dropped'); sf_id=$(st "$SF" '.stats.interface_dropped')
sf_act=$(st "$SF" '.stats.flows.active')
rx_s=$(cat "$W/rx_steady.txt" 2>/dev/null || echo NA)
rx_b=$(cat "$W/rx_burst.txt" 2>/dev/null || echo NA)
tw_rc=$(cat "$W/tw.rc" 2>/dev/null || echo NA)
steady_end=$(cat "$W/steady_end.txt" 2>/dev/null || echo "$SECS")
loss_n=0
[ -s "$W/loss.json" ] && loss_n=$(wc -l < "$W/loss.json")
loss_msg=$(jq -r '.finding.message' "$W/loss.json" 2>/dev/null | head -1)
ev_tls=$(awk '$1 == "tls" {print $2}' "$W/events.txt" 2>/dev/null); ev_fi=$(awk '$1 == "finding" {print $2}' "$W/events.txt" 2>/dev/null)

# RSS: at the end of the warm-up, at the end of the steady phase, max over
# the steady phase after the warm-up, least-squares slope (KiB/min) after it
RSS=$(awk -F'\t' -v w="$WARM" -v e="$steady_end" -v hz="$(getconf CLK_TCK)" '
    NR == 1 { next }
    $2 == "steady" && $1 <= e { if (!(w0) && $1 >= w) { w0 = $3; wt = $1; c0 = $5 }
        if ($1 >= w) { n++; sx += $1; sy += $3; sxx += $1 * $1; sxy += $1 * $3; if ($3 > mx) mx = $3; last = $3; lt = $1; c1 = $5 }
        if ($1 >= e - (e - w) / 3) { n3++; tx += $1; ty += $3; txx += $1 * $1; txy += $1 * $3 } }
    { if ($3 > amx) amx = $3; if ($4 > hwm) hwm = $4; if ($2 == "steady" && !(first)) first = $3 }
    END { slope = "NA"; if (n >= 3 && n * sxx - sx * sx > 0) slope = sprintf("%.1f", 60 * (n * sxy - sx * sy) / (n * sxx - sx * sx))
          cpu = (lt > wt && hz > 0) ? sprintf("%.0f", 100 * (c1 - c0) / hz / (lt - wt)) : "NA"
          s3 = "NA"; if (n3 >= 3 && n3 * txx - tx * tx > 0) s3 = sprintf("%.1f", 60 * (n3 * txy - tx * ty) / (n3 * txx - tx * tx))
          printf "%s %s %s %s %s %s %s %s %s %s %s %s %d\n", first + 0, w0 + 0, wt + 0, last + 0, lt + 0, mx + 0, amx + 0, hwm + 0, slope, cpu, n + 0, s3, e - (e - w) / 3 }' "$W/rss.tsv" 2>/dev/null)
set -- $RSS
r_first=${1:-NA} r_warm=${2:-NA} t_warm=${3:-NA} r_end=${4:-NA} t_end=${5:-NA} r_max=${6:-NA} r_allmax=${7:-NA} r_hwm=${8:-NA} slope=${9:-NA} cpu=${10:-NA} nsamp=${11:-0} slope3=${12:-NA} t3=${13:-NA}
flat=no
awk -v s="$slope" -v m="$SLOPE_MAX" 'BEGIN { exit !(s != "NA" && s <= m) }' && flat=yes

RES=$D/results.md
{
    echo "# tlswatch soak"
    echo
    echo "$START, $(uname -srm), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)," \
         "tlswatch $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet -- src dissectors 2>/dev/null || echo '+dirty'), $(tcpreplay -V 2>&1 | head -1)"
    echo
    echo "traffic: $nfiles captures of pcaps/ merged, $loop_pkts packets / $loop_bytes bytes / $loop_hs handshakes (offline) per loop, tcpreplay --unique-ip into a veth pair in a private netns"
    echo "tlswatch: $TW -i vethB -q --all --stats-interval 10 --idle-timeout $IDLE --max-cert-servers $CERTS${BUFFER:+ -B $BUFFER}, exit $tw_rc"
    echo
    echo "| phase | seconds | replayed pkts (tcpreplay) | Mbit/s | pps | vethB rx pkts | tlswatch pkts | handshakes | kernel+if drops |"
    echo "|---|---|---|---|---|---|---|---|---|"
    echo "| steady | $s_s | $s_pk | $s_mb | $s_pps | $rx_s | $ss_pk | $ss_hs | $ss_drop |"
    if [ "$BURST" -gt 0 ]; then
        echo "| burst (top speed) + ${SETTLE} s settle | $b_s | $b_pk | $b_mb | $b_pps | $rx_b | $(( ${sf_pk:-0} - ${ss_pk:-0} )) | $(( ${sf_hs:-0} - ${ss_hs:-0} )) | $(( ${sf_kd:-0} + ${sf_id:-0} - ${ss_drop:-0} )) |"
    fi
    echo "| whole run | | | | | | $sf_pk | $sf_hs | kernel $sf_kd, interface $sf_id |"
    echo
    echo "steady phase: flows $ss_flows (active at its end $ss_act, expired $ss_exp, evicted $ss_ev), findings $ss_fi, TLS state peak $(( ${ss_tlsb:-0} / 1024 )) KiB, shed $ss_shed; events written in all: tls ${ev_tls:-0}, finding ${ev_fi:-0}; active flows at the end $sf_act"
    echo "CPU: tlswatch ${cpu}% of one core after the warm-up; tcpreplay in the steady phase $(awk -v s="$s_s" '{ if (s > 0) printf "%.0f%% of one core (user %s s, sys %s s)", 100 * ($1 + $2) / s, $1, $2 }' "$W/replay_steady.time" 2>/dev/null)"
    echo "capture-loss findings: $loss_n${loss_msg:+ (first: $loss_msg)}"
    echo
    echo "RSS (VmRSS, every $SAMPLE s, $nsamp samples after the warm-up): first $r_first KiB, at warm-up end (t=${t_warm} s) $r_warm KiB, at steady end (t=${t_end} s) $r_end KiB, max after warm-up $r_max KiB; max of the run $r_allmax KiB (VmHWM $r_hwm KiB)"
    echo "RSS slope over the last third of the steady phase (t=${t3} s to t=${t_end} s): $slope3 KiB/min; bounded tables that fill with new addresses, at the steady end: threshold (storm) keys $ss_storm (one per client address a threshold rule counted within its window; at most 100,000; evicted $ss_stev), certificate-change memory $ss_cs servers (address:port|SNI; at most $CERTS, least recently seen evicted: $ss_csev)"
    echo "RSS flat after warm-up: $flat (slope $slope KiB/min from t=${WARM} s to t=${t_end} s; threshold $SLOPE_MAX KiB/min)"
    echo
    echo "Command: make soak (sh tests/bench/soak.sh $TW), SOAK_SECONDS=$SECS SOAK_PPS=$PPS SOAK_WARMUP=$WARM SOAK_IDLE=$IDLE SOAK_BURST=$BURST SOAK_CERT_SERVERS=$CERTS; samples in build/soak/rss.tsv, stats events in build/soak/stats.json"
} > "$RES"
echo
cat "$RES"

status=0
[ "$flat" = yes ] || status=1
[ "$run_rc" = 0 ] && [ "$tw_rc" = 0 ] || { echo "soak: the run failed (run $run_rc, tlswatch $tw_rc; see $D/tw.err)" >&2; status=1; }
exit $status
