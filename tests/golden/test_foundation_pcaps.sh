#!/bin/sh
# Foundation golden tests on the generated captures in pcaps/: link types,
# tunnels, IPv6, file handling, checksum policy, port reuse, mid-stream pickup,
# one-direction captures. Captures are regenerated with new randoms and
# timestamps (make pcaps), so facts are checked, not bytes.
P="$TOP/pcaps"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

ok() { echo "PASS $*"; }
bad() { echo "FAIL $*"; }
check() { # check "description" command...
    d=$1; shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}
flows() { "$TLSWATCH" -q --flows "$@" 2>"$T/err" | jq -c 'select(.event_type=="flow")'; }
stats() { "$TLSWATCH" -q "$@" 2>/dev/null | jq -c 'select(.event_type=="stats") | .stats'; }
# one line per connection: family client-port server-port delivered bytes each way
norm() { jq -r '[(if (.src_ip|test(":")) then 6 else 4 end), .dest_port,
                 .flow.delivered_toserver, .flow.delivered_toclient, .flow.reassembled] | @tsv' | sort; }

# Reference: the same real connections over plain Ethernet (IPv4 and IPv6).
flows -r "$P/link-ether.pcap" | norm > "$T/ref"
flows -r "$P/ipv6-tls13.pcap" | norm >> "$T/ref"
check "references: one IPv4 and one IPv6 connection, both reassembled" \
    test "$(grep -c 'true$' "$T/ref")" -eq 2 -a "$(cut -f1 "$T/ref" | sort -u | tr -d '\n')" = "46"
for name in vlan qinq sll sll2 null loop raw ipv4 ipv6 pppoe mpls vlan-ipv6 ipfrag ipv6-ext; do
    f="$P/link-$name.pcap"
    flows -r "$f" | norm > "$T/got"
    n_tshark=$(tshark -n -r "$f" -q -z conv,tcp 2>/dev/null | grep -c '<->')
    extra=$(grep -vxFf "$T/ref" "$T/got" | wc -l)
    check "link-$name: $n_tshark connection(s) as tshark sees, same reassembled bytes as over Ethernet" \
        test "$(wc -l < "$T/got")" -eq "$n_tshark" -a "$n_tshark" -gt 0 -a "$extra" -eq 0
done
# tunnels: the inner connections, as tshark sees them, same bytes as unwrapped
# (tun-overlap, two tenants tshark merges into one conversation: test_tunnel_pcaps.sh)
for name in vxlan geneve gre-ip gre-eth erspan1 erspan2 erspan3 gtpu cmd-sgt ipip 4in6 6in4 ip6ip6 \
    teredo vxlan-in-gre; do
    f="$P/tun-$name.pcap"
    flows -r "$f" | norm > "$T/got"
    n_tshark=$(tshark -n -r "$f" -q -z conv,tcp 2>/dev/null | grep -c '<->')
    extra=$(grep -vxFf "$T/ref" "$T/got" | wc -l)
    check "tun-$name: $n_tshark connection(s) as tshark sees, same reassembled bytes as over Ethernet" \
        test "$(wc -l < "$T/got")" -eq "$n_tshark" -a "$n_tshark" -gt 0 -a "$extra" -eq 0
done
check "ipv6-tls13: connection over ::1 reassembled" \
    test "$(flows -r "$P/ipv6-tls13.pcap" | jq -r 'select(.src_ip=="::1" and .flow.reassembled and .flow.delivered_toclient > 0) | 1')" = 1

"$TLSWATCH" -q --flows -r "$P/link-unknown.pcap" > /dev/null 2> "$T/err"
rc=$?
check "link-unknown: exit 1 with a one-line error naming file and link type" \
    sh -c "[ $rc -eq 1 ] && [ \$(wc -l < '$T/err') -eq 1 ] && grep -q 'link-unknown.pcap: unsupported link type 105' '$T/err'"

flows -r "$P/tls12-ok.pcap" | norm > "$T/a"
flows -r "$P/tls12-ok.pcapng" | norm > "$T/b"
check "pcapng reads like pcap" cmp -s "$T/a" "$T/b"
check "stdin (-r -) reads like a file" \
    sh -c "'$TLSWATCH' -q --flows -r - < '$P/tls12-ok.pcap' | jq -c 'select(.event_type==\"flow\")' | $(command -v jq) -r '[(if (.src_ip|test(\":\")) then 6 else 4 end), .dest_port, .flow.delivered_toserver, .flow.delivered_toclient, .flow.reassembled] | @tsv' | cmp -s - '$T/a'"
check "several -r files are read in order" \
    test "$(flows -r "$P/tls12-ok.pcap" -r "$P/tls13-ok.pcap" | wc -l)" -eq 2
n_all=$(flows -r "$P/demo.pcap" | wc -l)
port=$(flows -r "$P/demo.pcap" | head -1 | jq -r .dest_port)
check "BPF filter from trailing arguments keeps one of $n_all connections" \
    test "$(flows -r "$P/demo.pcap" tcp port "$port" | wc -l)" -eq 1
"$TLSWATCH" -q -r "$P/demo.pcap" "tcp port nonsense" > /dev/null 2> "$T/err"
check "a bad filter is a usage error (exit 2)" test $? -eq 2 -a -s "$T/err"
"$TLSWATCH" -q -r "$T/no-such.pcap" > /dev/null 2> "$T/err"
check "a missing file: exit 1, message names the file" \
    sh -c "[ $? -eq 1 ] && grep -q 'no-such.pcap: cannot read capture' '$T/err'"

# truncated file: error with packet number, flows before the damage reported
flows -r "$P/truncated.pcap" > "$T/out"
rc=$?
"$TLSWATCH" -q --flows -r "$P/truncated.pcap" > /dev/null 2> "$T/err"
rc=$?
check "truncated.pcap: exit 1" test $rc -eq 1
check "truncated.pcap: one-line error naming file and packet number" \
    sh -c "[ \$(wc -l < '$T/err') -eq 1 ] && grep -Eq 'truncated.pcap: packet [0-9]+: read error' '$T/err'"
check "truncated.pcap: the connection before the damage is still reported" \
    test "$(jq -r 'select(.flow.delivered_toserver > 0) | 1' "$T/out")" = 1

# checksum policy on a capture taken on the sending host (offloaded checksums)
auto=$(flows -r "$P/offload-checksums.pcap" | jq -r '.flow | "\(.reassembled) \(.delivered_toclient > 0)"')
check "offload: --checksums auto reassembles the connection" test "$auto" = "true true"
check "offload: auto says it accepted offloaded checksums" \
    test "$(stats -r "$P/offload-checksums.pcap" | jq '.tcp.checksum_offloaded_accepted > 0')" = true
on=$(stats --checksums on -r "$P/offload-checksums.pcap" | jq -r '.tcp.checksum_bad_dropped')
check "offload: --checksums on reports every segment as bad ($on)" test "$on" -gt 0
check "offload: --checksums on: no connection at all (a bad segment is dropped before it makes a flow)" \
    test "$(flows --checksums on -r "$P/offload-checksums.pcap" | wc -l)" -eq 0
check "offload: --checksums off reassembles, counts nothing" \
    test "$(stats --checksums off -r "$P/offload-checksums.pcap" | jq '.tcp.checksum_bad_dropped + .tcp.checksum_offloaded_accepted')" -eq 0
check "normal captures have correct checksums (nothing dropped or excused)" \
    test "$(stats --checksums on -r "$P/tls12-ok.pcap" | jq '.tcp.checksum_bad_dropped')" -eq 0
# auto decides per direction of each connection: an offloaded connection
# read first changes nothing for the others, and does not stop checking them
flows -r "$P/offload-checksums.pcap" | norm > "$T/a"
flows -r "$P/tls12-ok.pcap" | norm >> "$T/a"
flows -r "$P/offload-checksums.pcap" -r "$P/tls12-ok.pcap" | norm > "$T/b"
check "offload then tls12-ok: every connection reassembled as when read alone" \
    test "$(sort "$T/a" | tr '\n' ' ')" = "$(sort "$T/b" | tr '\n' ' ')" -a "$(grep -c 'true$' "$T/b")" -eq 2
python3 "$TOP/tests/gen/corrupt_tcp_cksum.py" "$P/tls12-ok.pcap" "$T/corrupt.pcap" 10 # client's 56-byte record
s=$(stats -r "$P/offload-checksums.pcap" -r "$T/corrupt.pcap" | jq -c '[.tcp.checksum_bad_dropped, .tcp.checksum_offloaded_accepted]')
check "offload then a corrupt segment in another connection: still dropped ($s = [dropped, offloaded directions])" \
    test "$s" = "[1,2]"
d=$(flows -r "$P/offload-checksums.pcap" -r "$T/corrupt.pcap" | jq -r 'select(.dest_port != 4437) | .flow.delivered_toserver')
r=$(flows -r "$P/tls12-ok.pcap" | jq -r .flow.delivered_toserver)
check "offload then a corrupt segment: its 56 bytes not delivered, the 31 behind them are ($d of $r: the flow is bypassed after its handshake and the server's ACK proves the hole)" \
    test "$d" -eq $((r - 56))
h=$(flows -r "$T/corrupt.pcap" | jq -r '"\(.flow.holes_toserver) \(.flow.missing_toserver)"')
check "a corrupt segment after the handshake: one hole of 56 bytes given up ($h)" test "$h" = "1 56"
d=$(flows --bypass off -r "$T/corrupt.pcap" | jq -r '"\(.flow.delivered_toserver) \(.flow.missing_toserver)"')
check "--bypass off: the hole the server's ACK proves is passed over in libnids too, the 31 bytes behind it delivered ($d of $r)" \
    test "$d" = "$((r - 56)) 56"
# a handshake segment lost by the capture (pcaps/gap-*)
s=$(stats -r "$P/gap-tls12-server-flight.pcap" | jq -c '[.tcp.holes_acked_unseen, .tcp.hole_bytes_acked_unseen, .tls.gaps]')
check "gap-tls12-server-flight: one hole of 1,162 bytes proven by the client's ACK, passed to the session as a gap ($s)" \
    test "$s" = "[1,1162,1]"
g=$(flows -r "$P/gap-tls12-server-flight.pcap" | jq -r '"\(.flow.delivered_toclient) \(.flow.missing_toclient) \(.flow.records_resynced)"')
check "gap-tls12-server-flight: the server's 367 bytes after the hole delivered, 1,162 missing, records found again ($g)" \
    test "$g" = "367 1162 1"
for g in gap-tls12-server-flight gap-tls13-hrr gap-tls13-client-finished; do
    c=$("$TLSWATCH" -q -r "$P/$g.pcap" 2>/dev/null | jq -r 'select(.event_type=="finding" and (.finding.severity=="critical" or .finding.severity=="high")) | .finding.rule' | wc -l)
    check "$g: no critical or high finding blames a peer for the capture's loss" test "$c" -eq 0
done
h=$("$TLSWATCH" -q --all -r "$P/gap-tls13-hrr.pcap" 2>/dev/null | jq -r 'select(.event_type=="tls") | .tls | "\(.server_hello_seen) \(.version) \(.outcome)"')
check "gap-tls13-hrr: the ServerHello after the lost HelloRetryRequest is read, as tshark reads it ($h)" \
    test "$h" = "true TLSv1.3 established" -a "$(tshark -r "$P/gap-tls13-hrr.pcap" -Y 'tls.handshake.type == 2' 2>/dev/null | wc -l)" -eq 1

# 4-tuple reuse
flows -r "$P/reused-4tuple.pcap" > "$T/out"
check "reused-4tuple: two connections on one 4-tuple" \
    test "$(jq -r '"\(.src_port) \(.dest_port)"' "$T/out" | sort -u | wc -l)" -eq 1 -a "$(wc -l < "$T/out")" -eq 2
check "reused-4tuple: both reassembled from their own SYN" \
    test "$(jq -r 'select(.flow.reassembled and (.flow.midstream|not) and .flow.delivered_toclient > 0) | 1' "$T/out" | wc -l)" -eq 2
check "reused-4tuple: stats count one reuse" \
    test "$(stats -r "$P/reused-4tuple.pcap" | jq .flows.reused)" -eq 1

# mid-stream pickup
sport=$(flows -r "$P/tls12-ok.pcap" | jq -r .dest_port)
for c in midstream-with-ch midstream-no-ch midstream-appdata; do
    f=$(flows -r "$P/$c.pcap" | jq -r '"\(.flow.midstream) \(.flow.reassembled) \(.flow.delivered_toclient > 0) \(.dest_port)"')
    case $c in midstream-appdata) want_port=$(flows -r "$P/$c.pcap" | jq -r .dest_port) ;; *) want_port=$sport ;; esac
    check "$c: picked up mid-stream, reassembled, server side right ($f)" test "$f" = "true true true $want_port"
done
w=$(flows -r "$P/midstream-with-ch.pcap" | jq -r .flow.delivered_toserver)
r=$(flows -r "$P/tls12-ok.pcap" | jq -r .flow.delivered_toserver)
check "midstream-with-ch: every client byte (ClientHello on) delivered ($w of $r)" test "$w" -eq "$r"
check "midstream: stats count synthesized handshakes" \
    test "$(stats -r "$P/midstream-no-ch.pcap" | jq .tcp.synthesized_handshakes)" -eq 1

# captures holding one direction only
check "one-direction (client only): client bytes reassembled" \
    test "$(flows -r "$P/one-direction.pcap" | jq -r '"\(.flow.pkts_toclient) \(.flow.delivered_toserver > 0)"')" = "0 true"
check "one-direction-server (server only): server bytes reassembled" \
    test "$(flows -r "$P/one-direction-server.pcap" | jq -r '"\(.flow.pkts_toserver) \(.flow.delivered_toclient > 0)"')" = "0 true"

# limits
check "--max-flows 1: earlier connections are evicted, none lost" \
    test "$(stats --max-flows 1 --flows -r "$P/demo.pcap" | jq .flows.evicted)" -eq $((n_all - 1))
check "--max-flows 1: every connection still reported" \
    test "$(flows --max-flows 1 -r "$P/demo.pcap" | wc -l)" -eq "$n_all"
check "usage error for a bad --checksums value (exit 2)" \
    sh -c "'$TLSWATCH' --checksums maybe -r '$P/demo.pcap' 2>/dev/null; [ \$? -eq 2 ]"

# statistics: one final event; with --stats-interval, periodic ones in capture time
n1=$("$TLSWATCH" -q -r "$P/demo.pcap" | jq -r 'select(.event_type=="stats") | 1' | wc -l)
n2=$("$TLSWATCH" -q --stats-interval 0.05 -r "$P/demo.pcap" | jq -r 'select(.event_type=="stats") | 1' | wc -l)
span=$(tshark -r "$P/demo.pcap" -T fields -e frame.time_relative 2>/dev/null | tail -1)
check "stats: one event at the end, more with --stats-interval 0.05 over ${span}s ($n1, $n2)" \
    test "$n1" -eq 1 -a "$n2" -gt 1 -a "$n2" -le 7
