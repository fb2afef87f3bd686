#!/bin/sh
# Prints (and caches) the tshark field dump that tests/tools/dissect_dump
# reads: one line per TCP packet with its payload and tshark's own TLS
# fields. Ports listed for the capture in TLS_FACTS.tsv are decoded as TLS
# unless they are STARTTLS-style application ports (tshark's app dissector
# hands over to TLS itself there).
# Usage: dissect_fields.sh CAPTURE CACHE_DIR
set -eu
f=$1
cache=$2
mkdir -p "$cache"
key=$(sha256sum "$f" | cut -c1-32)
out="$cache/$key.tsv"
if [ ! -s "$out" ]; then
    corpus=$(dirname "$f")
    while [ "$corpus" != / ] && [ ! -f "$corpus/TLS_FACTS.tsv" ]; do corpus=$(dirname "$corpus"); done
    rel=${f#"$corpus"/}
    ports=$(awk -F'\t' -v f="$rel" '$1 == f { print $14 }' "$corpus/TLS_FACTS.tsv" 2>/dev/null | tr ',;' '  ')
    set --
    for p in $ports; do
        case "$p" in 21|25|110|143|389|587|3306|5432|3389|1080|-|'') ;; *[!0-9]*) ;;
                     *) set -- "$@" -d "tcp.port==$p,tls" ;; esac
    done
    tshark -r "$f" "$@" -Y tcp -T fields -E separator=/t -E occurrence=a -E aggregator=';' \
        -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e tcp.dstport -e tcp.flags.syn \
        -e tcp.flags.ack -e tcp.seq -e tcp.payload \
        -e tls.record.content_type -e tls.record.version -e tls.record.length -e tls.handshake.type \
        -e tls.handshake.version -e tls.handshake.ciphersuite -e tls.handshake.extensions_server_name \
        -e tls.handshake.extensions_alpn_str -e tls.alert_message.level -e tls.alert_message.desc \
        -e tls.handshake.certificate -e tls.record.opaque_type > "$out.tmp" 2>/dev/null || true
    mv "$out.tmp" "$out"
fi
cat "$out"
