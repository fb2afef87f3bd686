#!/bin/sh
# Tunnels golden test: every pcaps/tun-*.pcap (pcaps/MANIFEST.md "Tunnels")
# gives exactly the handshakes, outcomes and findings of the unwrapped
# capture it was made from (the tls and finding events, bar flow_id and the
# tunnel object, are equal), with and without the key log; every tls, finding
# and flow event names the tunnel (type, outer endpoints oriented like
# src/dest, id when the tunnel has one); the stats count the tunnel; and
# tun-overlap (one connection in two VXLAN VNIs) gives two flows and two
# handshakes, not one.
P="$TOP/pcaps"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export LC_ALL=C

ok() { echo "PASS $*"; }
bad() { echo "FAIL $*"; }
check() { # check "description" command...
    d=$1; shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}
# events of a run as sorted JSON lines: tls and finding events without
# flow_id (random per run) and tunnel
events() {
    "$TLSWATCH" -q --all "$@" 2>"$T/err" |
        jq -c 'select(.event_type=="tls" or .event_type=="finding") | del(.flow_id, .tunnel)' | sort
}
tunnels() { # the distinct tunnel objects of every tls, finding and flow event
    "$TLSWATCH" -q --all --flows "$@" 2>/dev/null |
        jq -c 'select(.event_type=="tls" or .event_type=="finding" or .event_type=="flow") | .tunnel' | sort -u
}

# name | reference (unwrapped, same timestamps) | expected tunnel object
CASES='
vxlan|link-raw|{"type":"vxlan","outer_src_ip":"192.0.2.1","outer_dest_ip":"192.0.2.2","id":42}
geneve|link-raw|{"type":"geneve","outer_src_ip":"192.0.2.1","outer_dest_ip":"192.0.2.2","id":4242}
gre-ip|link-raw|{"type":"gre","outer_src_ip":"192.0.2.1","outer_dest_ip":"192.0.2.2"}
gre-eth|link-raw|{"type":"gre","outer_src_ip":"192.0.2.1","outer_dest_ip":"192.0.2.2","id":4660}
erspan1|tls12-ok|{"type":"erspan1","outer_src_ip":"192.0.2.1","outer_dest_ip":"192.0.2.2"}
erspan2|tls12-ok|{"type":"erspan2","outer_src_ip":"192.0.2.1","outer_dest_ip":"192.0.2.2","id":100}
erspan3|tls12-ok|{"type":"erspan3","outer_src_ip":"192.0.2.1","outer_dest_ip":"192.0.2.2","id":200}
gtpu|link-raw|{"type":"gtpu","outer_src_ip":"192.0.2.1","outer_dest_ip":"192.0.2.2"}
cmd-sgt|tls12-ok|null
ipip|tls12-ok|{"type":"ipip","outer_src_ip":"192.0.2.1","outer_dest_ip":"192.0.2.2"}
4in6|tls12-ok|{"type":"4in6","outer_src_ip":"2001:db8::1","outer_dest_ip":"2001:db8::2"}
6in4|ipv6-tls13|{"type":"6in4","outer_src_ip":"192.0.2.1","outer_dest_ip":"192.0.2.2"}
ip6ip6|ipv6-tls13|{"type":"ip6ip6","outer_src_ip":"2001:db8::1","outer_dest_ip":"2001:db8::2"}
teredo|ipv6-tls13|{"type":"teredo","outer_src_ip":"192.0.2.1","outer_dest_ip":"192.0.2.2"}
vxlan-in-gre|link-raw|{"type":"vxlan","outer_src_ip":"192.0.2.1","outer_dest_ip":"192.0.2.2","id":7,"depth":2}
'
printf '%s\n' "$CASES" | while IFS='|' read -r name ref want; do
    [ -n "$name" ] || continue
    f="$P/tun-$name.pcap"
    events -r "$P/$ref.pcap" > "$T/ref"
    events -r "$f" > "$T/got"
    nh=$(grep -c '"event_type":"tls"' "$T/got")
    nf=$(grep -c '"event_type":"finding"' "$T/got")
    check "tun-$name: the same $nh handshake(s) and $nf finding(s) as $ref.pcap" \
        sh -c "[ $nh -gt 0 ] && cmp -s '$T/ref' '$T/got'"
    if [ -s "$P/tun-$name.keylog" ]; then
        events --keylog "$P/$ref.keylog" -r "$P/$ref.pcap" > "$T/ref"
        events --keylog "$P/tun-$name.keylog" -r "$f" > "$T/got"
        check "tun-$name: with the key log too" cmp -s "$T/ref" "$T/got"
    fi
    got=$(tunnels -r "$f" | tr '\n' ' ' | sed 's/ $//')
    check "tun-$name: every tls/finding/flow event carries tunnel $want (got $got)" test "$got" = "$want"
    if [ "$want" != null ]; then
        type=$(printf '%s' "$want" | jq -r .type)
        n=$("$TLSWATCH" -q -r "$f" 2>/dev/null | jq -r "select(.event_type==\"stats\") | .stats.decode[\"$type\"]")
        check "tun-$name: stats count $type packets ($n)" test "${n:-0}" -gt 0
    fi
    if [ -s "$T/err" ] && grep -q 'ERROR: AddressSanitizer\|runtime error' "$T/err"; then
        bad "tun-$name: sanitizer report"; head -5 "$T/err"
    fi
done

# cmd-sgt: the tag is on client -> server frames only, still one flow
n=$("$TLSWATCH" -q --flows -r "$P/tun-cmd-sgt.pcap" | jq -r 'select(.event_type=="flow") | "\(.flow.pkts_toserver > 0) \(.flow.pkts_toclient > 0)"')
check "tun-cmd-sgt: both directions in one flow (the SGT is not part of the key): $n" test "$n" = "true true"
c=$("$TLSWATCH" -q -r "$P/tun-cmd-sgt.pcap" | jq -r 'select(.event_type=="stats") | .stats.decode.cmd')
check "tun-cmd-sgt: stats count the Cisco MetaData headers ($c)" test "${c:-0}" -gt 0

# gtpu: TEIDs differ per direction, still one flow per connection
n=$("$TLSWATCH" -q --flows -r "$P/tun-gtpu.pcap" | jq -r 'select(.event_type=="flow") | select(.flow.pkts_toserver > 0 and .flow.pkts_toclient > 0) | 1' | wc -l)
check "tun-gtpu: per-direction TEIDs, one two-way flow per connection ($n of 2)" test "$n" -eq 2

# overlap: two tenants, same inner addresses, VNI 100 and 200 interleaved
"$TLSWATCH" -q --all --flows -r "$P/tun-overlap.pcap" > "$T/ov" 2>/dev/null
h=$(jq -r 'select(.event_type=="tls") | "\(.tunnel.id) \(.tls.outcome)"' "$T/ov" | sort | tr '\n' ' ')
check "tun-overlap: two handshakes, one per VNI, both established ($h)" \
    test "$h" = "100 established 200 established "
n=$(jq -r 'select(.event_type=="flow") | .tunnel.id' "$T/ov" | sort | tr '\n' ' ')
check "tun-overlap: two flows, VNI 100 and 200 ($n)" test "$n" = "100 200 "
r=$("$TLSWATCH" -q --flows -r "$P/tls12-ok.pcap" | jq -r 'select(.event_type=="flow") | "\(.flow.delivered_toserver) \(.flow.delivered_toclient)"')
d=$(jq -r 'select(.event_type=="flow") | "\(.flow.delivered_toserver) \(.flow.delivered_toclient)"' "$T/ov" | sort -u)
check "tun-overlap: each tenant's flow reassembled whole, like tls12-ok ($d = $r)" test "$d" = "$r"
# (the VNI 200 copy is 200 us behind: its timestamp differs)
events -r "$P/tls12-ok.pcap" | grep '"event_type":"tls"' | jq -c 'del(.timestamp)' > "$T/ref"
events -r "$P/tun-overlap.pcap" | grep '"event_type":"tls"' | jq -c 'del(.timestamp)' | sort -u > "$T/got"
check "tun-overlap: each handshake the same as tls12-ok's (bar the timestamp)" cmp -s "$T/ref" "$T/got"

# text output names the tunnel briefly
l=$("$TLSWATCH" -q --all -F text -r "$P/tun-vxlan.pcap" 2>/dev/null | grep -c ' tunnel=vxlan:42$')
check "text: handshake lines end with tunnel=vxlan:42 ($l)" test "$l" -eq 2
exit 0
