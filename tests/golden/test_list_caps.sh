#!/bin/sh
# Per-handshake and per-connection lists are bounded, and cutting one says
# so: 20 alerts in one handshake keep 16, count all 20 (alert_count) and flag
# list_truncated; 70 renegotiations on one connection report 64 (one tls
# event each) and count the other 6 in the stats. The capture is built from
# the real OpenSSL handshake of pcaps/tls12-ok.pcap (tests/gen/caps_capture.py).
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
TLSWATCH=${TLSWATCH:-$TOP/build/san/tlswatch}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 "$TOP/tests/gen/caps_capture.py" "$TOP/pcaps" "$T/caps.pcap" || { echo "FAIL caps_capture.py"; exit 1; }
timeout 120 "$TLSWATCH" -q -r "$T/caps.pcap" --all > "$T/out.json" 2> "$T/err"
rc=$?
if [ $rc -eq 0 ] && [ ! -s "$T/err" ]; then echo "PASS caps: exit 0, nothing on stderr"; else echo "FAIL caps: exit $rc: $(head -3 "$T/err")"; fi
got=$(jq -r 'select(.event_type=="tls" and .src_port==20000) | "\(.tls.outcome) \(.tls.alert_count) \(.tls.alerts|length) \(.tls.anomalies|index("list_truncated") != null)"' "$T/out.json")
if [ "$got" = "established 20 16 true" ]; then echo "PASS caps: 20 alerts: 16 kept, 20 counted, list_truncated"; else echo "FAIL caps: alerts: got '$got', want 'established 20 16 true'"; fi
n=$(jq -r 'select(.event_type=="tls" and .src_port==20001) | .tls.outcome' "$T/out.json" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
if [ "$n" = "established=1 renegotiated=64 " ]; then echo "PASS caps: 70 renegotiations: 64 reported"; else echo "FAIL caps: renegotiations reported: '$n'"; fi
s=$(grep '"event_type":"stats"' "$T/out.json" | tail -1 | jq -r '"\(.stats.tls.outcomes.renegotiated) \(.stats.tls.renegotiations_not_reported)"')
if [ "$s" = "70 6" ]; then echo "PASS caps: stats count all 70, 6 not reported"; else echo "FAIL caps: stats '$s', want '70 6'"; fi
