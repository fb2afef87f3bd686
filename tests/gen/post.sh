# tests/gen/post.sh -- sourced by make-pcaps.sh: turns $RAW/*.pcap into $OUT
# (checksums fixed, derived captures) and verifies every capture with tshark.

TOOL() { $PY "$GEN_DIR/pcaptool.py" "$@"; }

# keylog NAME [SRC]: $OUT/NAME.keylog from the client's key log of SRC (or the
# server's if the client wrote none). Only real secrets, not an empty header.
keylog() {
    local n=$1 src=${2:-$1}
    rm -f "$OUT/$n.keylog"
    # client and server logs merged: a side killed early may miss lines
    cat "$RAW/$src.keylog" "$RAW/$src.srv.keylog" 2>/dev/null |
        grep '^[A-Z_0-9]* [0-9a-f]' | sort -u > "$OUT/$n.keylog"
    [ -s "$OUT/$n.keylog" ] || rm -f "$OUT/$n.keylog"
    return 0
}

# remade NAME: scenario NAME was run now (always true in a full run). A partial
# run derives only from the sources it re-made, so the other captures in $OUT
# (derived from the earlier run's sources) stay byte-identical.
remade() { case " $LIST " in *" $1 "*) return 0 ;; esac; return 1; }

postprocess() {
    local s n
    for s in $LIST; do
        [ -s "$RAW/$s.pcap" ] || continue
        case $s in
            long-appdata) TOOL fix "$RAW/$s.pcap" "$RAW/$s.fixed.pcap" ;;
            offload-checksums) cp "$RAW/$s.pcap" "$OUT/$s.pcap"; keylog "$s" ;;
            *) TOOL fix "$RAW/$s.pcap" "$OUT/$s.pcap" && keylog "$s" ;;
        esac
    done
    local v4=$OUT/tls12-ok.pcap v6=$OUT/ipv6-tls13.pcap
    if [ -s "$v4" ] && remade tls12-ok; then
        editcap -F pcapng "$v4" "$OUT/tls12-ok.pcapng" && keylog tls12-ok.pcapng tls12-ok
        # cut in the middle of record 9 (0-based 8): 8 good packets, then a short record
        n=$(TOOL offset "$v4" 8)
        head -c $((n + 16 + 40)) "$v4" > "$OUT/truncated.pcap" && keylog truncated tls12-ok
        TOOL clip "$v4" "$OUT/midstream-with-ch.pcap" from-ch 4432 && keylog midstream-with-ch tls12-ok
        TOOL clip "$v4" "$OUT/midstream-no-ch.pcap" from-sh 4432 && keylog midstream-no-ch tls12-ok
        TOOL clip "$v4" "$OUT/one-direction.pcap" client 4432 && keylog one-direction tls12-ok
        TOOL clip "$v4" "$OUT/one-direction-server.pcap" server 4432 && keylog one-direction-server tls12-ok
        for n in raw pppoe; do
            if [ -s "$v6" ]; then
                TOOL relink "$OUT/link-$n.pcap" $n "$v4" "$v6" &&
                    cat "$OUT/tls12-ok.keylog" "$OUT/ipv6-tls13.keylog" > "$OUT/link-$n.keylog" 2>/dev/null
            fi
        done
        for n in ether vlan qinq sll sll2 null loop ipv4 mpls; do
            TOOL relink "$OUT/link-$n.pcap" $n "$v4" && keylog link-$n tls12-ok
        done
        TOOL frag "$v4" "$OUT/link-ipfrag.pcap" 4432 && keylog link-ipfrag tls12-ok
        # a segment the capture lost while the peer got it (its ACK covers it)
        TOOL drop "$v4" "$OUT/gap-tls12-server-flight.pcap" server 1 && keylog gap-tls12-server-flight tls12-ok
        # tunnels (pcaps/MANIFEST.md): both connections, or the IPv4 one only
        for n in vxlan geneve gre-ip gre-eth gtpu vxlan-in-gre; do
            if [ -s "$v6" ]; then
                TOOL relink "$OUT/tun-$n.pcap" tun-$n "$v4" "$v6" &&
                    cat "$OUT/tls12-ok.keylog" "$OUT/ipv6-tls13.keylog" > "$OUT/tun-$n.keylog" 2>/dev/null
            fi
        done
        for n in erspan1 erspan2 erspan3 cmd-sgt ipip 4in6; do
            TOOL relink "$OUT/tun-$n.pcap" tun-$n "$v4" && keylog tun-$n tls12-ok
        done
        TOOL overlap "$OUT/tun-overlap.pcap" "$v4" && keylog tun-overlap tls12-ok
    fi
    if [ -s "$v6" ] && remade ipv6-tls13; then
        TOOL relink "$OUT/link-ipv6.pcap" ipv6 "$v6" && keylog link-ipv6 ipv6-tls13
        TOOL relink "$OUT/link-vlan-ipv6.pcap" vlan-ipv6 "$v6" && keylog link-vlan-ipv6 ipv6-tls13
        TOOL v6ext "$v6" "$OUT/link-ipv6-ext.pcap" && keylog link-ipv6-ext ipv6-tls13
        for n in 6in4 ip6ip6 teredo; do
            TOOL relink "$OUT/tun-$n.pcap" tun-$n "$v6" && keylog tun-$n ipv6-tls13
        done
    fi
    remade tls12-ok && TOOL unknown "$OUT/link-unknown.pcap"
    if [ -s "$OUT/tls13-hrr.pcap" ] && remade tls13-hrr; then
        TOOL drop "$OUT/tls13-hrr.pcap" "$OUT/gap-tls13-hrr.pcap" server 1 && keylog gap-tls13-hrr tls13-hrr
    fi
    if [ -s "$OUT/tls13-ok.pcap" ] && remade tls13-ok; then
        TOOL drop "$OUT/tls13-ok.pcap" "$OUT/gap-tls13-client-finished.pcap" client 2 &&
            keylog gap-tls13-client-finished tls13-ok
    fi
    if [ -s "$RAW/long-appdata.fixed.pcap" ]; then
        TOOL clip "$RAW/long-appdata.fixed.pcap" "$OUT/midstream-appdata.pcap" appdata 4439 &&
            keylog midstream-appdata long-appdata
    fi
}

# ---------------------------------------------------------------- verification
# NAME|tshark display filter that must match at least one packet (with the key
# log and TLS decoding on ports 4400-4499). Empty filter: non-empty file only.
EXPECT='
demo|tls.alert_message.desc == 70
tls13-ok|tls.handshake.extensions_server_name == "server.example" && tls.handshake.extensions_alpn_str == "h2"
tls13-ok|tls.handshake.type == 20
tls13-ok|tls.handshake.type == 2 && tls.handshake.extensions.supported_version == 0x0304
tls12-ok|tls.handshake.extensions_server_name == "server.example" && tls.handshake.extensions_alpn_str == "h2"
tls12-ok|tls.handshake.type == 20
tls12-ok.pcapng|tls.handshake.type == 2
ipv6-tls13|ipv6 && tls.handshake.type == 2
offload-checksums|tcp.checksum.status == 0
reused-4tuple|tcp.flags.syn == 1 && tcp.flags.ack == 0 && frame.number > 3
truncated|tls.handshake.type == 1
midstream-with-ch|frame.number == 1 && tls.handshake.type == 1
midstream-no-ch|frame.number == 1 && tls.handshake.type == 2
midstream-appdata|frame.number == 1 && tls.record.content_type == 23
one-direction|tls.handshake.type == 1
one-direction-server|tls.handshake.type == 2
link-ether|eth.type == 0x0800 && tls.handshake.type == 1
link-vlan|vlan.id == 100 && tls.handshake.type == 1
link-qinq|eth.type == 0x88a8 && vlan.id == 100 && tls.handshake.type == 1
link-sll|sll && tls.handshake.type == 1
link-sll2|sll && tls.handshake.type == 1
link-null|null && tls.handshake.type == 1
link-loop|null && tls.handshake.type == 1
link-raw|tls.handshake.type == 1 && ipv6
link-ipv4|tls.handshake.type == 1
link-ipv6|tls.handshake.type == 1
link-pppoe|pppoes && ipv6 && tls.handshake.type == 1
link-mpls|mpls.bottom == 1 && tls.handshake.type == 1
link-vlan-ipv6|vlan && ipv6 && tls.handshake.type == 1
link-ipfrag|ip.flags.mf == 1
link-ipfrag|tls.handshake.type == 1
link-ipv6-ext|ipv6.hopopts && ipv6.dstopts && tls.handshake.type == 1
link-unknown|
tun-vxlan|vxlan.vni == 42 && ip && tls.handshake.type == 1
tun-vxlan|vxlan.vni == 42 && ipv6 && tls.handshake.type == 1
tun-geneve|geneve.vni == 4242 && geneve.option.class == 0x0102 && tls.handshake.type == 1
tun-gre-ip|gre.proto == 0x0800 && tls.handshake.type == 1
tun-gre-ip|gre.proto == 0x86dd && tls.handshake.type == 1
tun-gre-eth|gre.key == 0x1234 && gre.sequence_number && gre.checksum && tls.handshake.type == 1
tun-erspan1|gre.proto == 0x88be && !erspan.spanid && tls.handshake.type == 1
tun-erspan2|erspan.spanid == 100 && tls.handshake.type == 1
tun-erspan3|erspan.spanid == 200 && tls.handshake.type == 1
tun-gtpu|gtp.teid == 0x1000 && gtp.ext_hdr && tls.handshake.type == 1
tun-gtpu|gtp.teid == 0x2000 && tls.handshake.type == 2
tun-cmd-sgt|cmd.sgt == 17 && tls.handshake.type == 1
tun-cmd-sgt|!cmd && tls.handshake.type == 2
tun-ipip|ip.proto == 4 && tls.handshake.type == 1
tun-4in6|ipv6.nxt == 4 && tls.handshake.type == 1
tun-6in4|ip.proto == 41 && tls.handshake.type == 1
tun-ip6ip6|ipv6.nxt == 41 && tls.handshake.type == 1
tun-teredo|teredo && tls.handshake.type == 1
tun-teredo|teredo.orig && tls.handshake.type == 2
tun-teredo|teredo.auth
tun-vxlan-in-gre|gre && vxlan.vni == 7 && tls.handshake.type == 1
tun-overlap|vxlan.vni == 100 && tls.handshake.type == 1
tun-overlap|vxlan.vni == 200 && tcp.flags.syn == 1
tls12-resume-sessionid|tls.handshake.type == 2 && !tls.handshake.certificate
tls12-resume-ticket|tls.handshake.type == 1 && tls.handshake.extension.type == 35 && tls.handshake.extension.len > 0
tls13-resume-psk|tls.handshake.type == 2 && tls.handshake.extension.type == 41
tls13-0rtt|tls.handshake.type == 5
tls13-hrr|tls.handshake.random == cf:21:ad:74:e5:9a:61:11:be:1d:8c:02:1e:65:b8:91:c2:a2:11:16:7a:bb:8c:5e:07:9e:09:e2:c8:a8:33:9c
tls13-group-mismatch|tls.alert_message.desc == 40
tls12-client-auth|tls.handshake.type == 15
tls12-client-cert-missing|tls.alert_message.desc == 40
tls13-client-cert-missing|tls.alert_message.desc == 116
tls12-reneg-accepted|tls.handshake.type == 1 && frame.number > 8
tls12-reneg-rejected|tls.alert_message.desc == 100
tls12-server-reneg|tls.handshake.type == 0
tls12-server-reneg-refused|tls.alert_message.desc == 100
tls12-reneg-storm|tls.handshake.type == 1 && frame.number > 8
tls12-insecure-reneg|tls.handshake.type == 1 && !(tls.handshake.extension.type == 0xff01) && !(tls.handshake.ciphersuite == 0x00ff)
version-mismatch|tls.alert_message.desc == 70
version-old-client|tls.alert_message.desc == 80 || tls.alert_message.desc == 70
cipher-mismatch|tls.alert_message.desc == 40
tls10-obsolete|tls.handshake.type == 2 && tls.handshake.version == 0x0301
tls11-obsolete|tls.handshake.type == 2 && tls.handshake.version == 0x0302
weak-cipher|tls.handshake.ciphersuite == 0x002f && tls.handshake.type == 2
unknown-ca|tls.alert_message.desc == 48
self-signed|tls.alert_message.desc == 48
expired-cert|tls.alert_message.desc == 45
expired-cert-accepted|tls.handshake.type == 20
not-yet-valid|tls.alert_message.desc == 42 || tls.alert_message.desc == 45
chain-incomplete|tls.alert_message.desc == 48
hostname-mismatch|tls.alert_message.desc == 42
sni-unrecognized|tls.alert_message.desc == 112
sni-missing|tls.handshake.type == 1 && !tls.handshake.extensions_server_name
alpn-mismatch|tls.alert_message.desc == 120
weak-rsa-1024|tls.handshake.type == 20
sha1-cert|tls.handshake.type == 11
abort-rst|tcp.flags.reset == 1
abort-fin|tcp.flags.fin == 1
timeout|tls.handshake.type == 1
not-tls-http|http.response.code == 400
plaintext-to-tls|http.request.method == "GET"
gnutls-tls13|tls.handshake.type == 2
anon-dh|tls.handshake.type == 2 && tls.handshake.ciphersuite == 0x0034
anon-dh|tls.handshake.type == 12
client-clock-skew|tls.alert_message.desc == 45
cert-revoked|tls.alert_message.desc == 44
tls12-cbc-reneg|tls.handshake.type == 1 && frame.number > 8 && tls.handshake.ciphersuite == 0xc023
tls12-cbc-etm-reneg|tls.handshake.type == 2 && frame.number > 8 && tls.handshake.extension.type == 22
tls12-ccm8-reneg|tls.handshake.type == 2 && frame.number > 8 && tls.handshake.ciphersuite == 0xc0ae
tls13-ccm|tls.handshake.type == 11
tls13-ccm8-keyupdate|tls.handshake.type == 24
ovpn-ok|openvpn.opcode == 7
ovpn-ok|tls.handshake.type == 1
ovpn-tls-auth|
ovpn-client-cert-rejected|
ovpn-tls-crypt|
'
CORE=" demo tls12-ok tls13-ok "

verify_all() {
    local bad=0 line name filter f kl out n seen=" "
    while IFS='|' read -r name filter; do
        [ -n "$name" ] || continue
        f=$OUT/$name.pcap
        case $name in *.pcapng) f=$OUT/$name ;; esac
        kl=$OUT/${name%.pcapng}.keylog
        local why=""
        if [ ! -s "$f" ]; then
            why="no capture"
        elif [ -n "$filter" ]; then
            local kopt=()
            [ -s "$kl" ] && kopt=(-o "tls.keylog_file:$kl")
            out=$(tshark -r "$f" -n -d tcp.port==4400-4499,tls -o tcp.check_checksum:TRUE \
                "${kopt[@]}" -Y "$filter" 2>/dev/null | wc -l)
            [ "$out" -gt 0 ] || why="tshark finds no packet matching: $filter"
        fi
        if [ -z "$why" ] && [ "$name" != offload-checksums ] && [ "$name" != link-unknown ] && [ "$name" != truncated ]; then
            n=$(tshark -r "$f" -n -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
                -Y 'tcp.checksum.status == 0 || ip.checksum.status == 0' 2>/dev/null | wc -l)
            [ "$n" -eq 0 ] || why="$n packets with bad checksums"
        fi
        if [ -z "$why" ] && [ "$name" = truncated ]; then
            tshark -r "$f" > /dev/null 2>&1 && why="not truncated"
        fi
        case $seen in *" $name "*) [ -z "$why" ] && continue ;; esac
        seen="$seen$name "
        if [ -z "$why" ]; then
            echo "ok $name ($(stat -c %s "$f") bytes)"
        else
            echo "MISSING $name: $why"
            case "$CORE" in *" $name "*) bad=1 ;; esac
            case $name in link-*|tun-*) bad=1 ;; esac
        fi
    done <<EOF
$EXPECT
EOF
    return $bad
}
