#!/bin/sh
# --max-memory: connection state stays within the budget under a flood of
# connections that each hold a partial handshake message, by shedding the
# least recently active ones (counted), never by aborting; half-open
# connections beyond --max-flows are evicted (counted). tests/bench/gen_flood.c
# makes the capture; `make flood` runs the full-size version (1,000,000
# half-open + 65,536 TLS flows) and reports peak RSS.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/lib/benchgen.sh"
benchgen_start gen_flood
"$T/gen_flood" -s 20000 -t 3000 -b 12000 > "$T/flood.pcap" || { echo "FAIL gen_flood"; exit 1; }
stats() { grep '"event_type":"stats"' "$1" | tail -1 | jq -r "$2"; }
timeout 300 "$TLSWATCH" -q -r "$T/flood.pcap" --max-memory 8M --max-flows 4096 > "$T/small.json" 2> "$T/err"
rc=$?
check "flood under an 8 MiB budget: exit 0, nothing on stderr" "$([ $rc -eq 0 ] && [ ! -s "$T/err" ] && echo true)" "exit $rc: $(head -3 "$T/err")"
peak=$(stats "$T/small.json" .stats.memory.tls_state_peak_bytes)
budget=$(stats "$T/small.json" .stats.memory.tls_state_budget)
shed=$(stats "$T/small.json" .stats.memory.tls_state_shed_flows)
evicted=$(stats "$T/small.json" .stats.flows.evicted)
total=$(stats "$T/small.json" .stats.flows.total)
check "budget reported as 8 MiB" "$([ "$budget" = 8388608 ] && echo true)" "tls_state_budget $budget"
check "state peak $peak within the budget" "$([ "${peak:-0}" -gt 0 ] && [ "$peak" -le "$budget" ] && echo true)" "peak $peak budget $budget"
check "oldest connections shed and counted ($shed)" "$([ "${shed:-0}" -gt 0 ] && echo true)" "shed $shed"
check "every connection seen ($total of 23000), those beyond --max-flows evicted ($evicted)" "$([ "$total" = 23000 ] && [ "${evicted:-0}" -gt 0 ] && echo true)" "total $total evicted $evicted"
timeout 300 "$TLSWATCH" -q -r "$T/flood.pcap" --max-flows 4096 > "$T/big.json" 2>&1
peak2=$(stats "$T/big.json" .stats.memory.tls_state_peak_bytes)
shed2=$(stats "$T/big.json" .stats.memory.tls_state_shed_flows)
check "control: the default budget (256 MiB) holds it all without shedding (peak $peak2)" "$([ "${shed2:-1}" = 0 ] && [ "${peak2:-0}" -gt "$budget" ] && echo true)" "shed $shed2 peak $peak2"
# a bad size is a usage error naming the option
"$TLSWATCH" -q -r "$T/flood.pcap" --max-memory 12Q > /dev/null 2> "$T/err"
rc=$?
check "--max-memory 12Q: exit 2 with one line naming the option" "$([ $rc -eq 2 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q -- --max-memory "$T/err" && echo true)" "exit $rc: $(cat "$T/err")"
