#!/bin/sh
# TLS 1.3 without keys: an alert-sized server record right after the
# client's Finished, then the server's close, is the server rejecting the
# client (client-certificate-missing, inferred), even when the client's
# first request crosses it (a client writes its request as soon as its
# own handshake is done: seen from python3/OpenSSL clients in
# tests/gen/gen_incidents.sh). A second server record after the short one
# shows it was data: no finding. Both derived from the bundled
# tls13-client-cert-missing.pcap (tests/gen/pcaptool.py inject).
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if ! /usr/bin/python3 -c 'import scapy' 2>/dev/null; then echo "SKIP tls13-short-record: python3 scapy is not installed"; exit 0; fi
P=$TOP/pcaps/tls13-client-cert-missing.pcap
# record 8 is the server's 24-byte record after the client's flight
sz=$(tcpdump -nn -r "$P" 2>/dev/null | sed -n 9p | sed -n 's/.*length \([0-9]*\).*/\1/p')
if [ "$sz" != 24 ]; then echo "FAIL tls13-short-record: record 8 of $P is not the 24-byte server record ($sz)"; exit 1; fi
look() { "$TLSWATCH" -q -r "$1" --all | jq -r 'if .event_type=="tls" then "\(.tls.outcome)" elif .event_type=="finding" then "\(.finding.rule):\(.finding.confidence)" else empty end' | tr '\n' ' '; }
r=$(look "$P")
if [ "$r" = "failed client-certificate-missing:inferred " ]; then echo "PASS tls13-short-record: the bundled capture: $r"
else echo "FAIL tls13-short-record: the bundled capture: '$r'"; fi
if ! /usr/bin/python3 "$TOP/tests/gen/pcaptool.py" inject "$P" "$T/cross.pcap" 8 client 44 ||
   ! /usr/bin/python3 "$TOP/tests/gen/pcaptool.py" inject "$P" "$T/more.pcap" 8 server 44; then
    echo "FAIL tls13-short-record: pcaptool inject failed"; exit 1
fi
r=$(look "$T/cross.pcap")
if [ "$r" = "failed client-certificate-missing:inferred " ]; then echo "PASS tls13-short-record: a client request crossing the server's alert: $r"
else echo "FAIL tls13-short-record: client request crossing the alert: '$r' (want failed client-certificate-missing:inferred)"; fi
r=$(look "$T/more.pcap")
if [ "$r" = "established " ]; then echo "PASS tls13-short-record: a second server record after the short one: data, $r"
else echo "FAIL tls13-short-record: second server record: '$r' (want established, no finding)"; fi
