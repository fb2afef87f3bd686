#!/bin/sh
# pcapng files with mixed link types (src/pcapng.c), generated at test time
# from real captures in pcaps/ by tests/gen/mkpcapng.py: two sections (little-
# and big-endian), five interfaces (Ethernet, SLL, raw IP, SLL2, NULL) with
# if_tsresol 10^-9, 2^-20, 10^-6 + if_tsoffset, 10^-4, 2^-10, EPB/SPB/obsolete
# PB, skipped NRB/ISB/DSB/custom blocks. Checks: every handshake of every
# interface is reported as in its original capture; every handshake's
# timestamp is its ClientHello's time as tshark reads it; stdin and several
# files; the BPF filter per link type; damaged files give one line naming
# file, packet and offset, with the handshakes before the damage.
P="$TOP/pcaps"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

ok() { echo "PASS $*"; }
bad() { echo "FAIL $*"; }
check() { d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

if ! /usr/bin/python3 "$TOP/tests/gen/mkpcapng.py" "$T" "$P" > "$T/gen.log" 2>&1; then
    bad "mkpcapng.py failed: $(tail -1 "$T/gen.log")"
    exit 1
fi
M="$T/mixed.pcapng"
npk=$(sed -n 's/^packets //p' "$T/expect.txt")
cut=$(sed -n 's/^cut //p' "$T/expect.txt")
cutoff=$(sed -n 's/^cut_offset //p' "$T/expect.txt")
check "generated file: tshark reads all $npk packets on 5 interfaces (2 sections), plus the custom block it shows as a frame" \
    test "$(tshark -r "$M" -T fields -e frame.interface_id -e frame.encap_type 2>/dev/null | grep '[0-9]' | sort -u | wc -l)/$(tshark -r "$M" -T fields -e frame.number 2>/dev/null | grep -c "[0-9]")" = "5/$((npk + 1))"

facts() { jq -r 'select(.event_type=="tls") | [.src_port, .dest_port, .tls.outcome, .tls.version, .tls.cipher, .tls.history] | @tsv' | sort; }
for f in tls12-ok tls13-ok gnutls-tls13 ipv6-tls13 tls12-resume-ticket; do
    "$TLSWATCH" -q --all -r "$P/$f.pcap" | facts
done | sort > "$T/want"
"$TLSWATCH" -q --all -r "$M" > "$T/out" 2> "$T/err"
rc=$?
facts < "$T/out" > "$T/got"
check "mixed.pcapng: exit 0, nothing on stderr" test $rc -eq 0 -a ! -s "$T/err"
check "mixed.pcapng: all $(wc -l < "$T/want") handshakes of the 5 interfaces, as in the original captures" \
    sh -c "[ \$(wc -l < '$T/want') -ge 6 ] && cmp -s '$T/want' '$T/got'"

# timestamps: each handshake's is its ClientHello's, per tshark (to the microsecond)
tshark -r "$M" -Y 'tls.handshake.type==1' -T fields -e tcp.srcport -e frame.time_epoch 2>/dev/null |
    awk '{ split($2, a, "."); printf "%s %s.%s\n", $1, a[1], substr(a[2] "000000", 1, 6) }' | sort > "$T/ts_want"
jq -r 'select(.event_type=="tls") | "\(.src_port) \(.timestamp)"' "$T/out" | while read -r port ts; do
    s=$(date -u -d "${ts%.*}Z" +%s) && echo "$port $s.$(echo "$ts" | sed 's/.*\.\([0-9]*\)Z/\1/')"
done | sort > "$T/ts_got"
check "mixed.pcapng: every handshake's time is its ClientHello's as tshark reads it (10^-9, 2^-20, 10^-6 + offset, 10^-4, 2^-10)" \
    sh -c "[ \$(wc -l < '$T/ts_want') -ge 6 ] && cmp -s '$T/ts_want' '$T/ts_got'"
check "mixed.pcapng: exact-resolution interfaces keep the original microseconds" \
    sh -c "grep -q '^43744 1795581557.239951$' '$T/ts_got' && grep -q '^46690 1795581629.133600$' '$T/ts_got' && grep -q '^41986 1795581558.383769$' '$T/ts_got'"

"$TLSWATCH" -q --all -r - < "$M" 2>/dev/null | facts > "$T/stdin"
check "mixed.pcapng from stdin reads like the file" cmp -s "$T/got" "$T/stdin"
gzip -c "$M" > "$T/mixed.pcapng.gz"
"$TLSWATCH" -q --all -r "$T/mixed.pcapng.gz" 2>/dev/null | facts > "$T/gz"
check "mixed.pcapng.gz reads like the file" cmp -s "$T/got" "$T/gz"
n1=$("$TLSWATCH" -q --all -r "$P/tls12-resume-sessionid.pcap" 2>/dev/null | facts | wc -l)
n2=$("$TLSWATCH" -q --all -r "$P/tls12-resume-sessionid.pcap" -r "$M" 2>/dev/null | facts | wc -l)
check "several files in order (pcap, then pcapng): $n1 + $(wc -l < "$T/want") handshakes" \
    test "$n2" -eq $((n1 + $(wc -l < "$T/want"))) -a "$n1" -gt 0

# BPF: compiled per link type
got=$("$TLSWATCH" -q --all -r "$M" tcp port 4431 2>"$T/err" | facts | cut -f2 | tr '\n' ' ')
check "filter 'tcp port 4431' on every link type: only that handshake (SLL interface)" \
    test "$got" = "4431 " -a ! -s "$T/err"
got=$("$TLSWATCH" -q --all -r "$M" ip6 2>"$T/err" | facts | cut -f1 | tr '\n' ' ')
check "filter 'ip6': only the IPv6 handshake (SLL2 interface, section 2)" test "$got" = "49590 " -a ! -s "$T/err"
mac=$(tshark -r "$P/tls12-ok.pcap" -T fields -e eth.src -c 1 2>/dev/null)
got=$("$TLSWATCH" -q --all -r "$M" ether host "$mac" 2>"$T/err" | facts | cut -f1 | tr '\n' ' ')
rc=$?
check "filter 'ether host': Ethernet interface only, one line per link type it cannot be compiled for" \
    sh -c "[ '$got' = '41986 ' ] && [ \$(wc -l < '$T/err') -eq 4 ] && grep -q 'mixed.pcapng: filter \"ether host $mac\" cannot be compiled for link type 113 (LINUX_SLL) of interface 1' '$T/err'"
"$TLSWATCH" -q -r "$M" "tcp port nonsense" > /dev/null 2> "$T/err"
check "a bad filter on a pcapng file: exit 2, one line" sh -c "[ $? -eq 2 ] && [ \$(wc -l < '$T/err') -eq 1 ]"

# damage: one line naming file, packet, offset; handshakes before it reported
for v in cut badlen; do
    "$TLSWATCH" -q --all -r "$T/$v.pcapng" > "$T/$v.out" 2> "$T/$v.err"
    rc=$?
    check "$v.pcapng: exit 1, one line: file, packet $((cut + 1)), offset $cutoff, $cut good packets" \
        sh -c "[ $rc -eq 1 ] && [ \$(wc -l < '$T/$v.err') -eq 1 ] && grep -q '^tlswatch: $T/$v.pcapng: packet $((cut + 1)): read error: block at offset $cutoff: .*($cut good packets before it were analysed)' '$T/$v.err'"
    # the handshakes whose ClientHello..Finished lie before the damage
    n_before=$(facts < "$T/$v.out" | awk '$3 == "established"' | wc -l)
    check "$v.pcapng: the 4 handshakes complete before the damage are reported established" test "$n_before" -eq 4
done
check "badlen.pcapng says why" grep -q 'length 13 is not a multiple of 4' "$T/badlen.err"
exit 0
