#!/bin/sh
# make flood: 1,000,000 half-open connections and 65,536 concurrent TLS
# flows each holding a partial handshake message (tests/bench/gen_flood.c,
# streamed through stdin, nothing written to disk), through the release
# build, with the default budget and with --max-memory 32M. Prints wall
# time, peak RSS and the budget counters of the final stats event.
# Usage: tests/bench/flood.sh BIN
set -eu
BIN=${1:-build/rel/tlswatch}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cc -O2 -o "$T/gen_flood" tests/bench/gen_flood.c
printf '%-22s %8s %10s %12s %12s %10s %9s %s\n' budget wall_s peak_rss_mib state_peak_mib budget_mib shed_flows evicted exit
for mem in "" 32M; do
    opt=""
    [ -n "$mem" ] && opt="--max-memory $mem"
    set +e
    /usr/bin/time -f "%e %M" -o "$T/time" sh -c "'$T/gen_flood' -s 1000000 -t 65536 -b 16000 | '$BIN' -q -r - $opt > '$T/out.json'"
    rc=$?
    set -e
    s=$(grep '"event_type":"stats"' "$T/out.json" | tail -1)
    printf '%-22s %8s %10s %12s %12s %10s %9s %s\n' "${mem:-default (256M)}" "$(cut -d' ' -f1 "$T/time")" \
        "$(($(cut -d' ' -f2 "$T/time") / 1024))" \
        "$(($(echo "$s" | jq .stats.memory.tls_state_peak_bytes) / 1048576))" \
        "$(($(echo "$s" | jq .stats.memory.tls_state_budget) / 1048576))" \
        "$(echo "$s" | jq .stats.memory.tls_state_shed_flows)" "$(echo "$s" | jq .stats.flows.evicted)" "$rc"
done
