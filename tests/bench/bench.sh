#!/bin/sh
# tests/bench/bench.sh TLSWATCH -- `make bench`: speed and memory of tlswatch
# as ratios against baselines measured on the same machine in the same run.
# See docs/bench.md. Nothing here asserts an absolute time; the only check is
# that tlswatch's peak RSS stays flat (within ±10%) when each connection
# carries 100x more data.
#
# Scenarios (captures generated under build/bench/ by gen_bulk from ONE real
# connection of pcaps/, deleted after use unless KEEP=1):
#   small  100 connections x 1 MB   (~114 MB capture)
#   big    100 connections x 100 MB (~10.6 GB capture, needs the disk space)
#   many   200000 short connections (4 KB each, 1000 open at a time)
#   mixed  real OpenSSL traffic (tests/bench/gen_mixed.sh, root, a private
#          network namespace): BENCH_MIXED connections, TLS 1.2/1.3, full
#          and resumed, 2 KB .. 6 MB, ~6% IPv6, ~4% failing, reused 4-tuples;
#          timed against the peers users would run instead
# Tools measured on each capture:
#   pcap_read  minimal libpcap loop (tests/bench/pcap_read.c): the floor
#              (the ratio columns); pcap_read_256k the same loop reading through
#              a 256 KiB stdio buffer, as tlswatch reads files (libpcap's own
#              fopen reads 4 KiB per system call)
#   tcpdump    tcpdump -n -r FILE -w /dev/null
#   tshark     tshark -r FILE -q -z conv,tcp (small scenario only)
#   tlswatch   tlswatch -q -r FILE --all  (stdout to /dev/null): every
#              handshake written as JSON
#   tlswatch_findings  tlswatch -q -r FILE: findings only (the default; a
#              handshake without a finding is never formatted)
# and on mixed also: nids_pass (tests/bench/nids_pass.c, a bare libnids
# pass collecting nothing), tlswatch_text (-F text), ssldump -n -r,
# ndpiReader -q -i, tshark -Y tls.handshake.type==1 -T fields.
#
# Environment knobs: KEEP=1, BENCH_REPS (5, small), BENCH_BIG_REPS (3, big and many), BENCH_MIXED_REPS (7), BENCH_CONNS (100), BENCH_CONC (10),
# BENCH_SMALL_MB (1), BENCH_BIG_MB (100, 0 = skip), BENCH_MANY (200000, 0 =
# skip), BENCH_MANY_CONC (1000), BENCH_MANY_KB (4), BENCH_TIMEOUT (600 s per
# command), BENCH_TEMPLATE (pcaps/tls12-ok.pcap), BENCH_MANY_TEMPLATE
# (pcaps/tls13-ok.pcap), BENCH_TSHARK (1; 0 = skip), BENCH_MIXED (2000; 0 =
# skip), BENCH_BEFORE (path of an older tlswatch build, timed as "before" and
# "before_findings" on the same captures), BENCH_CERTS (1: also
# run tests/bench/certcache.sh, repeated vs unique certificate chains).
set -u

TW=${1:-}
if [ -z "$TW" ] || [ ! -x "$TW" ]; then
    echo "usage: sh tests/bench/bench.sh path/to/tlswatch (built, executable)" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case $TW in /*) ;; *) TW=$(pwd)/$TW ;; esac
cd "$ROOT" || exit 1

D=build/bench
KEEP=${KEEP:-0}
REPS=${BENCH_REPS:-5}
BIG_REPS=${BENCH_BIG_REPS:-3}
# the mixed capture takes 2-3 s per round of every tool: seven rounds, so
# that the medians hold on a VM whose speed changes from minute to minute
MIXED_REPS=${BENCH_MIXED_REPS:-7}
CONNS=${BENCH_CONNS:-100}
CONC=${BENCH_CONC:-10}
SMALL_MB=${BENCH_SMALL_MB:-1}
BIG_MB=${BENCH_BIG_MB:-100}
MANY=${BENCH_MANY:-200000}
MANY_CONC=${BENCH_MANY_CONC:-1000}
MANY_KB=${BENCH_MANY_KB:-4}
TMO=${BENCH_TIMEOUT:-600}
TEMPLATE=${BENCH_TEMPLATE:-pcaps/tls12-ok.pcap}
MANY_TEMPLATE=${BENCH_MANY_TEMPLATE:-pcaps/tls13-ok.pcap}
DO_TSHARK=${BENCH_TSHARK:-1}
MIXED=${BENCH_MIXED:-2000}
BEFORE=${BENCH_BEFORE:-}   # another tlswatch binary timed on the same captures (before/after)
TIME=/usr/bin/time

for t in cc tcpdump timeout awk sort df; do
    command -v $t >/dev/null 2>&1 || { echo "bench: missing tool: $t" >&2; exit 1; }
done
[ -x $TIME ] || { echo "bench: $TIME missing (apt-get install time; listed in scripts/deps.sh)" >&2; exit 1; }
for f in "$TEMPLATE" "$MANY_TEMPLATE"; do
    [ -s "$f" ] || { echo "bench: template $f missing (make pcaps)" >&2; exit 1; }
done

mkdir -p "$D" || exit 1
RAW=$D/raw.tsv          # scenario tool rep wall user sys rss_kib rc
LOG=$D/bench.log
NOTES=$D/notes.txt
INFO=$D/scenarios.tsv   # scenario conns bytes_per_conn file_bytes packets gen_s flows_seen
: > "$RAW"; : > "$LOG"; : > "$NOTES"; : > "$INFO"
T0=$(date +%s)
note() { echo "bench: $*" >&2; echo "- $*" >> "$NOTES"; }

echo "bench: compiling gen_bulk and pcap_read (cc -O2)" >&2
cc -O2 -o "$D/gen_bulk" tests/bench/gen_bulk.c || exit 1
cc -O2 -o "$D/pcap_read" tests/bench/pcap_read.c -lpcap || exit 1
cc -O2 -o "$D/nids_pass" tests/bench/nids_pass.c -lnids -lpcap -lnet \
    $(pkg-config --libs glib-2.0 gthread-2.0) || exit 1

now_ns() { date +%s%N; }

# run SCEN TOOL CMD... : one timed run, appended to $RAW
run1() {
    scen=$1 tool=$2 rep=$3
    shift 3
    tf=$D/time.out
    rm -f "$tf"
    a=$(now_ns)
    timeout "$TMO" $TIME -f "%U %S %M" -o "$tf" "$@" > "${RUN_OUT:-/dev/null}" 2>> "$LOG"
    rc=$?
    b=$(now_ns)
    if [ $rc = 124 ] || [ ! -s "$tf" ]; then
        note "$scen/$tool: timed out after ${TMO}s or killed (rc $rc)"
        echo "$scen $tool $rep NA NA NA NA $rc" >> "$RAW"
        return 1
    fi
    # GNU time prefixes "Command exited with non-zero status N" on failure
    set -- $(tail -n 1 "$tf")
    echo "$scen $tool $rep $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.4f", (b-a)/1e9}') $1 $2 $3 $rc" >> "$RAW"
    [ $rc = 0 ] || note "$scen/$tool: exit status $rc (see $LOG)"
    return 0
}

# measure SCEN FILE REPS : all tools on FILE
measure() {
    scen=$1 f=$2 reps=$3
    cat "$f" > /dev/null        # warm the page cache: every tool reads from RAM
    i=1
    while [ $i -le "$reps" ]; do
        run1 "$scen" pcap_read $i "$D/pcap_read" "$f"
        run1 "$scen" pcap_read_256k $i "$D/pcap_read" -b "$f"
        run1 "$scen" tcpdump $i tcpdump -n -r "$f" -w /dev/null
        run1 "$scen" tlswatch $i "$TW" -q -r "$f" --all
        run1 "$scen" tlswatch_findings $i "$TW" -q -r "$f"
        if [ -n "$BEFORE" ]; then
            run1 "$scen" before $i "$BEFORE" -q -r "$f" --all
            run1 "$scen" before_findings $i "$BEFORE" -q -r "$f"
        fi
        i=$((i + 1))
    done
}

# gen SCEN TEMPLATE N BYTES CONC : generate build/bench/SCEN.pcap
gen() {
    scen=$1 tmpl=$2 n=$3 bytes=$4 conc=$5
    f=$D/$scen.pcap
    a=$(now_ns)
    if ! timeout "$TMO" "$D/gen_bulk" -t "$tmpl" -n "$n" -m "$bytes" -c "$conc" -o "$f" 2>> "$LOG"; then
        note "$scen: generation failed (see $LOG)"
        rm -f "$f"
        return 1
    fi
    b=$(now_ns)
    set -- $("$D/pcap_read" "$f")
    pk=$1
    fb=$(stat -c %s "$f")
    gs=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.1f", (b-a)/1e9}')
    # untimed sanity check: does tlswatch report every connection?
    seen=$(timeout "$TMO" "$TW" -r "$f" --flows 2>/dev/null | grep -c '"event_type":"flow"')
    echo "$scen $n $bytes $fb $pk $gs $seen" >> "$INFO"
    echo "bench: $scen: $n connections x $bytes bytes, $fb bytes, $pk packets, generated in ${gs}s; tlswatch --flows saw $seen flows" >&2
    [ "$seen" = "$n" ] || note "$scen: tlswatch --flows reported $seen flow records for $n connections"
    return 0
}

finish_scen() {
    [ "$KEEP" = 1 ] || rm -f "$D/$1.pcap"
}

disk_ok() { # disk_ok BYTES
    avail=$(df -Pk "$D" | awk 'NR==2 {print $4}')
    [ $((avail / 1024)) -gt $(( $1 / 1048576 + 1024 )) ]
}

# ---------------------------------------------------------------- scenarios
SMALL=$((SMALL_MB * 1048576))
echo "bench: scenario small: $CONNS x ${SMALL_MB} MB ($CONC concurrent)" >&2
if gen small "$TEMPLATE" "$CONNS" "$SMALL" "$CONC"; then
    measure small "$D/small.pcap" "$REPS"
    if [ "$DO_TSHARK" = 1 ] && command -v tshark >/dev/null 2>&1; then
        r=1
        while [ $r -le 3 ] && [ $r -le "$REPS" ]; do
            run1 small tshark $r tshark -r "$D/small.pcap" -q -z conv,tcp
            r=$((r + 1))
        done
    else
        note "tshark skipped (BENCH_TSHARK=0 or not installed)"
    fi
    finish_scen small
fi

if [ "$BIG_MB" -gt 0 ]; then
    BIG=$((BIG_MB * 1048576))
    need=$(( CONNS * (BIG / 1000 * 1060 + 8000) ))
    if disk_ok "$need"; then
        echo "bench: scenario big: $CONNS x ${BIG_MB} MB (~$((need / 1048576)) MiB on disk)" >&2
        if gen big "$TEMPLATE" "$CONNS" "$BIG" "$CONC"; then
            measure big "$D/big.pcap" "$BIG_REPS"
            finish_scen big
        fi
    else
        note "big: skipped, not enough free disk for ~$((need / 1048576)) MiB under $D (set BENCH_BIG_MB lower)"
    fi
    note "tshark not run on big (would take minutes; it is a peer reference only)"
fi

if [ "$MANY" -gt 0 ]; then
    echo "bench: scenario many: $MANY x ${MANY_KB} KB ($MANY_CONC concurrent)" >&2
    if gen many "$MANY_TEMPLATE" "$MANY" $((MANY_KB * 1024)) "$MANY_CONC"; then
        measure many "$D/many.pcap" "$BIG_REPS"
        finish_scen many
    fi
fi
# the mixed capture: real OpenSSL traffic, timed against the peers
MIXED_MD=$D/mixed.md
: > "$MIXED_MD"
if [ "$MIXED" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        note "mixed: skipped (gen_mixed.sh needs root for its network namespace)"
    else
        echo "bench: scenario mixed: $MIXED real OpenSSL connections (gen_mixed.sh)" >&2
        f=$D/mixed.pcap
        a=$(now_ns)
        if bash tests/bench/gen_mixed.sh "$f" "$MIXED" >> "$LOG" 2>&1; then
            b=$(now_ns)
            set -- $("$D/pcap_read" "$f")
            pk=$1
            fb=$(stat -c %s "$f")
            gs=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.1f", (b-a)/1e9}')
            seen=$(timeout "$TMO" "$TW" -r "$f" --flows 2>/dev/null | grep -c '"event_type":"flow"')
            echo "mixed $MIXED $((fb / MIXED)) $fb $pk $gs $seen" >> "$INFO"
            cat "$f" > /dev/null
            i=1
            while [ $i -le "$MIXED_REPS" ]; do
                run1 mixed pcap_read $i "$D/pcap_read" "$f"
                run1 mixed pcap_read_256k $i "$D/pcap_read" -b "$f"
                run1 mixed nids_pass $i "$D/nids_pass" "$f"
                run1 mixed tcpdump $i tcpdump -n -r "$f" -w /dev/null
                RUN_OUT=$D/mixed.tls.json
                run1 mixed tlswatch $i "$TW" -q -r "$f" --all
                RUN_OUT=
                run1 mixed tlswatch_text $i "$TW" -q -r "$f" --all -F text
                run1 mixed tlswatch_findings $i "$TW" -q -r "$f"
                if [ -n "$BEFORE" ]; then
                    run1 mixed before $i "$BEFORE" -q -r "$f" --all
                    run1 mixed before_findings $i "$BEFORE" -q -r "$f"
                fi
                command -v ssldump >/dev/null && run1 mixed ssldump $i ssldump -n -r "$f"
                command -v ndpiReader >/dev/null && run1 mixed ndpiReader $i ndpiReader -q -i "$f"
                i=$((i + 1))
            done
            if [ "$DO_TSHARK" = 1 ] && command -v tshark >/dev/null 2>&1; then
                RUN_OUT=$D/mixed.tshark.txt
                run1 mixed tshark 1 tshark -r "$f" -Y 'tls.handshake.type==1' -T fields -e tcp.stream
                RUN_OUT=
            fi
            command -v ssldump >/dev/null || note "mixed: ssldump not installed (make bench-deps)"
            command -v ndpiReader >/dev/null || note "mixed: ndpiReader not installed (make bench-deps)"
            hs_tw=$(grep -c '"event_type":"tls"' "$D/mixed.tls.json" 2>/dev/null)
            hs_ts=$(wc -l < "$D/mixed.tshark.txt" 2>/dev/null || echo NA)
            v6=$(timeout "$TMO" "$TW" -q -r "$f" --flows 2>/dev/null | grep '"event_type":"flow"' | grep -c '"src_ip":"[0-9a-f]*:')
            {
                echo "mixed capture: $(tail -n 2 "$LOG" | grep '^mixed:' || echo "$MIXED connections")"
                echo "handshakes: tlswatch $hs_tw tls events, tshark $hs_ts ClientHellos; flows: tlswatch $seen (IPv6 $v6)"
            } >> "$MIXED_MD"
            rm -f "$D/mixed.tls.json" "$D/mixed.tshark.txt"
            finish_scen mixed
        else
            note "mixed: generation failed (see $LOG)"
        fi
    fi
fi
rm -f "$D/time.out"

# Certificate checks: a capture whose server chains repeat and one where
# every chain differs (hit rate, per-handshake cost; tests/bench/certcache.sh)
CERTS=$D/certs.md
: > "$CERTS"
if [ "${BENCH_CERTS:-1}" != 0 ]; then
    echo "bench: certificate checks: repeated and unique chains (certcache.sh)" >&2
    if ! sh tests/bench/certcache.sh "$(dirname "$TW")" > "$CERTS" 2>> "$LOG"; then
        note "certcache.sh failed (see $LOG)"
    fi
fi

# ---------------------------------------------------------------- report
# median wall/user/sys over reps, max RSS; then the derived columns
AGG=$D/agg.tsv
for sc in $(awk '{print $1}' "$INFO"); do
    awk -v sc="$sc" '$1 == sc && $4 != "NA"' "$RAW" | sort -s -k2,2 -k4,4n
done | awk '
{ k = $1 " " $2; n[k]++; w[k, n[k]] = $4; u[k, n[k]] = $5; s[k, n[k]] = $6;
  if ($7 > r[k]) r[k] = $7; if ($8 != 0) bad[k] = $8; if (!(k in seen)) { seen[k] = 1; order[++no] = k } }
END { for (i = 1; i <= no; i++) { k = order[i]; m = int((n[k] + 1) / 2);
      printf "%s %s %s %s %d %d %s\n", k, w[k, m], u[k, m], s[k, m], r[k], n[k], (k in bad) ? bad[k] : 0 } }' > "$AGG"

RES=$D/results.md
{
    echo "# tlswatch bench results"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -srm), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)," \
         "tlswatch $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet -- src dissectors 2>/dev/null || echo '+dirty'), total $(( $(date +%s) - T0 )) s"
    echo
    echo "| scenario | capture | tool | runs | wall s | user s | sys s | Mpkt/s | MB/s | peak RSS MiB | wall / pcap_read | user+sys / pcap_read | wall / tcpdump |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    awk -v info="$INFO" '
    BEGIN { while ((getline l < info) > 0) { split(l, a, " "); fb[a[1]] = a[4]; pk[a[1]] = a[5]; nc[a[1]] = a[2]; bp[a[1]] = a[3] } }
    { sc = $1; t = $2; W[sc, t] = $3; C[sc, t] = $4 + $5; rows[++n] = $0 }
    END {
      for (i = 1; i <= n; i++) { split(rows[i], f, " "); sc = f[1]; t = f[2];
        base = W[sc, "pcap_read"]; cb = C[sc, "pcap_read"]; td = W[sc, "tcpdump"];
        per = bp[sc] >= 1048576 ? sprintf("%g MB", bp[sc] / 1048576) : sprintf("%g KB", bp[sc] / 1024);
        cap = sprintf("%d conns x %s, %.0f MB, %.2f Mpkt", nc[sc], per, fb[sc] / 1e6, pk[sc] / 1e6);
        w = f[3]; if (w <= 0) w = 0.0001;
        rc = ""; if (f[8] != 0) rc = " (rc " f[8] ")";
        r1 = "-"; if (base > 0) r1 = sprintf("%.2f", f[3] / base);
        r2 = "-"; if (cb > 0) r2 = sprintf("%.2f", (f[4] + f[5]) / cb);
        r3 = "-"; if (td > 0) r3 = sprintf("%.2f", f[3] / td);
        printf "| %s | %s | %s | %d%s | %.3f | %.2f | %.2f | %.2f | %.0f | %.1f | %s | %s | %s |\n", sc, cap, t, f[7], rc, f[3], f[4], f[5], pk[sc] / w / 1e6, fb[sc] / w / 1e6, f[6] / 1024, r1, r2, r3 } }' "$AGG"
    echo
    rs=$(awk '$1 == "small" && $2 == "tlswatch" {print $6}' "$AGG")
    rb=$(awk '$1 == "big" && $2 == "tlswatch" {print $6}' "$AGG")
    if [ -n "$rs" ] && [ -n "$rb" ]; then
        awk -v s="$rs" -v b="$rb" -v sm="$SMALL_MB" -v bm="$BIG_MB" 'BEGIN { r = b / s; v = "NOT FLAT"; if (r >= 0.9 && r <= 1.1) v = "FLAT";
            printf "tlswatch peak RSS: %.1f MiB with %d MB/connection, %.1f MiB with %d MB/connection, ratio %.3f -> %s (required flat within +-10%%)\n", s / 1024, sm, b / 1024, bm, r, v }'
    else
        echo "tlswatch peak RSS flatness: not measured (small or big scenario missing)"
    fi
    awk -v info="$INFO" '$1 == "many" { w[$2] = $3; r[$2] = $6 }
        END { while ((getline l < info) > 0) { split(l, a, " "); if (a[1] == "many") n = a[2] }
              if (n > 0 && ("tlswatch" in w) && ("pcap_read" in w))
                  printf "many connections: tlswatch --all (every handshake as JSON) spends %.1f us per connection above pcap_read (%.1f us in all), peak RSS %.1f MiB\n",
                      (w["tlswatch"] - w["pcap_read"]) * 1e6 / n, w["tlswatch"] * 1e6 / n, r["tlswatch"] / 1024
              if (n > 0 && ("tlswatch_findings" in w) && ("pcap_read" in w))
                  printf "many connections: tlswatch (findings only, the default) spends %.1f us per connection above pcap_read (target <= 5), wall %.2fx pcap_read (target <= 3), peak RSS %.1f MiB (target <= 32)\n",
                      (w["tlswatch_findings"] - w["pcap_read"]) * 1e6 / n, w["tlswatch_findings"] / w["pcap_read"], r["tlswatch_findings"] / 1024
              if (n > 0 && ("tlswatch_findings" in w) && ("pcap_read_256k" in w))
                  printf "many connections: against the read loop with the same 256 KiB buffer: %.1f us per connection above it, wall %.2fx\n",
                      (w["tlswatch_findings"] - w["pcap_read_256k"]) * 1e6 / n, w["tlswatch_findings"] / w["pcap_read_256k"]
              if (n > 0 && ("before_findings" in w) && ("pcap_read" in w))
                  printf "many connections, before (BENCH_BEFORE): %.1f us per connection above pcap_read (findings only), %.1f us with --all, peak RSS %.1f MiB\n",
                      (w["before_findings"] - w["pcap_read"]) * 1e6 / n, (w["before"] - w["pcap_read"]) * 1e6 / n, r["before_findings"] / 1024 }' "$AGG"
    echo
    if [ -s "$MIXED_MD" ]; then
        cat "$MIXED_MD"
        awk '$1 == "mixed" { w[$2] = $3; c[$2] = $4 + $5; r[$2] = $6 }
            END { if (!("tlswatch" in w) || !("pcap_read" in w)) exit
                  printf "mixed: tlswatch wall %.2fx the read loop (target <= 1.3; %.2fx the read loop with a 256 KiB buffer), %.2fx a bare libnids pass; peak RSS %.1f MiB (target <= 32)\n",
                      w["tlswatch"] / w["pcap_read"], ("pcap_read_256k" in w) ? w["tlswatch"] / w["pcap_read_256k"] : 0,
                      ("nids_pass" in w) ? w["tlswatch"] / w["nids_pass"] : 0, r["tlswatch"] / 1024
                  d = ("tlswatch_findings" in w) ? "tlswatch_findings" : "tlswatch"
                  for (t in w) if (t == "ssldump" || t == "ndpiReader" || t == "tshark")
                      printf "mixed: tlswatch %.1fx faster than %s (wall, default mode; CPU %.1fx), %.1fx with --all (CPU %.1fx)\n",
                          w[t] / w[d], t, c[t] / (c[d] > 0 ? c[d] : 0.01),
                          w[t] / w["tlswatch"], c[t] / (c["tlswatch"] > 0 ? c["tlswatch"] : 0.01) }' "$AGG"
        echo
    fi
    if [ -s "$CERTS" ]; then
        echo
        echo "Certificate checks (tests/bench/certcache.sh):"
        cat "$CERTS"
        echo
    fi
    echo "Timing is the median of the runs (wall from date +%s%N, CPU from GNU time), peak RSS the max over runs;"
    echo "every capture is read once before timing (page cache warm). Command: make bench (sh tests/bench/bench.sh $TW)."
    if [ -s "$NOTES" ]; then
        echo
        echo "Notes:"
        cat "$NOTES"
    fi
} > "$RES"

echo
cat "$RES"
echo
echo "bench: written $RES (raw runs: $RAW)"
if [ "$KEEP" != 1 ]; then
    rm -f "$D"/*.pcap
fi

status=0
grep -q 'NOT FLAT' "$RES" && status=1
awk '$2 == "tlswatch" && ($8 != 0 || $4 == "NA") {bad = 1} END {exit !bad}' "$RAW" && status=1
exit $status
