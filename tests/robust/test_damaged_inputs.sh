#!/bin/sh
# Damaged inputs found by the corrupted-capture suite, kept as files so the
# failure stays visible until it is fixed (this test is meant to FAIL until
# then). tests/robust/inputs/:
#
#   tls12-ok.gz-trailer-cut.pcap.gz  pcaps/tls12-ok.pcap gzipped, the last 8
#       bytes (CRC-32 and size trailer) cut off: the gzip stream is truncated,
#       which must be a read error (exit 1, one line naming the file); the
#       handshake, wholly before the damage, must still be reported.
#   tls12-ok.gz-crc-bad.pcap.gz  the same gzip with one bit of the CRC-32
#       flipped: every byte decompresses, the check at the end fails. Must be
#       one error line that says what is wrong (not a stale errno such as
#       "Success" or "Bad file descriptor"), and the packets read before it
#       analysed.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
TLSWATCH=${TLSWATCH:-$TOP/build/san/tlswatch}
I="$TOP/tests/robust/inputs"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ -x "$TLSWATCH" ] || { echo "FAIL damaged inputs: $TLSWATCH not found"; exit 1; }

for f in tls12-ok.gz-trailer-cut.pcap.gz tls12-ok.gz-crc-bad.pcap.gz; do
    p="$I/$f"
    [ -f "$p" ] || { echo "FAIL damaged $f: input missing"; continue; }
    timeout 20 "$TLSWATCH" -q -r "$p" --all > "$T/out" 2> "$T/err"
    rc=$?
    line=$(head -1 "$T/err")
    if grep -q 'Sanitizer\|runtime error:' "$T/err"; then
        echo "FAIL damaged $f: sanitizer report: $(grep -m1 'Sanitizer\|runtime error:' "$T/err")"
    elif [ $rc -ne 1 ]; then
        echo "FAIL damaged $f: exit $rc, expected 1 (a damaged gzip stream is a read error); stderr: '$line'; reproduce: $TLSWATCH -q -r tests/robust/inputs/$f --all"
    elif [ "$(wc -l < "$T/err")" -ne 1 ] || [ "${line#tlswatch: "$p": }" = "$line" ]; then
        echo "FAIL damaged $f: error is not one line naming the file: $(head -3 "$T/err" | tr '\n' '|')"
    elif printf '%s' "$line" | grep -qi ': success\|bad file descriptor'; then
        echo "FAIL damaged $f: error text is a stale errno: '$line'; reproduce: $TLSWATCH -q -r tests/robust/inputs/$f --all"
    else
        echo "PASS damaged $f: exit 1, one line: $line"
    fi
    n=$(grep -c '"event_type":"tls"' "$T/out")
    if [ "$n" -eq 1 ] && grep -q '"outcome":"established"' "$T/out"; then
        echo "PASS damaged $f: the handshake before the damage is reported"
    else
        echo "FAIL damaged $f: the handshake before the damage is not reported ($n tls events); reproduce: $TLSWATCH -q -r tests/robust/inputs/$f --all"
    fi
done
