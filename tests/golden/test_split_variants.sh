#!/bin/sh
# Issue 9's crash and its relatives: real OpenSSL handshakes (pcaps/tls13-ok,
# pcaps/tls12-ok) re-segmented so that a record, or the bytes that decide a
# handshake, arrive split over two TCP segments, at every offset (a stride
# past the first 64 bytes), from either side, TLS 1.2 and 1.3, including the
# 12-packet capture that used to free a buffer the dissector was reading
# (tests/gen/split_variants.py). One capture, one connection per variant.
# Run with the sanitizer build ($TLSWATCH) and a release build (build/clang
# or build/rel): exit 0, no sanitizer report, and every variant of a family
# reports the same handshake outcomes as the family's unsplit reference.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
TLSWATCH=${TLSWATCH:-$TOP/build/san/tlswatch}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if ! python3 "$TOP/tests/gen/split_variants.py" "$TOP/pcaps" "$T/v.pcap" > "$T/families"; then
    echo "FAIL split_variants.py could not build the variants"
    exit 1
fi
total=$(awk '{n += $2} END {print n}' "$T/families")
echo "# $total connections in $(wc -l < "$T/families") families"
REL=""
# a release build no older than the sources (make check builds build/clang)
for b in "$TOP/build/clang/tlswatch" "$TOP/build/rel/tlswatch"; do
    [ -x "$b" ] && [ -z "$(find "$TOP/src" "$TOP/dissectors" -newer "$b" -name '*.[ch]' | head -1)" ] && { REL=$b; break; }
done
[ -n "$REL" ] || echo "FAIL no release build as new as the sources (build/clang/tlswatch or build/rel/tlswatch: run make check, or make) to run the variants on"
for bin in "$TLSWATCH" $REL; do
    kind=sanitizer
    [ "$bin" = "$TLSWATCH" ] || kind=release
    timeout 300 "$bin" -q -r "$T/v.pcap" --all > "$T/out.json" 2> "$T/err"
    rc=$?
    if [ $rc -eq 0 ] && [ ! -s "$T/err" ]; then
        echo "PASS $kind build: exit 0, nothing on stderr, on $total split variants"
    else
        echo "FAIL $kind build: exit $rc on $T/v.pcap; stderr:"
        head -20 "$T/err"
        continue
    fi
    jq -r 'select(.event_type=="tls") | "\(.src_port) \(.tls.outcome)"' "$T/out.json" |
        awk '{o[$1] = o[$1] " " $2} END {for (p in o) print p o[p]}' | sort -n > "$T/per"
    awk -v kind="$kind" '
        NR == FNR { fam[NR] = $1; cnt[NR] = $2; nf = NR; next }
        { got[$1] = substr($0, length($1) + 2) }
        END {
            port = 20000
            for (i = 1; i <= nf; i++) {
                ref = (port in got) ? got[port] : "(none)"
                bad = 0; first = ""
                for (j = 1; j < cnt[i]; j++) {
                    g = ((port + j) in got) ? got[port + j] : "(none)"
                    if (g != ref) { bad++; if (first == "") first = "port " port + j ": " g }
                }
                if (ref == "(none)") printf "FAIL %s %s: the unsplit reference reported no handshake\n", kind, fam[i]
                else if (bad) printf "FAIL %s %s: %d of %d variants differ from the reference (%s); first %s\n", kind, fam[i], bad, cnt[i] - 1, ref, first
                else printf "PASS %s %s: %d variants report what the unsplit reference does (%s)\n", kind, fam[i], cnt[i] - 1, ref
                port += cnt[i]
            }
        }' "$T/families" "$T/per"
done
