#!/bin/sh
# Regenerates corpus_hellos.hex: a few whole handshake messages (hex, as
# tshark reassembled them: tls.handshake_raw) cut from the shared captures,
# for extensions our OpenSSL traffic does not carry (ECH, ALPS, Kyber,
# record_size_limit, heartbeat, cookie, padding, signature_algorithms_cert,
# SCT). Short excerpts only; the captures stay in ../shared/corpus.
# Usage: sh make-corpus-excerpts.sh CORPUS_DIR > corpus_hellos.hex
set -eu
C=${1:?corpus dir}
ex() { # name capture display-filter index
    h=$(tshark -r "$C/$2" -Y "$3" -T jsonraw 2>/dev/null |
        jq -r "[.. | objects | select(has(\"tls.handshake_raw\")) | .[\"tls.handshake_raw\"] |
                if type == \"array\" and (.[0] | type) == \"string\" then .[0] else .[0][0] end][$4]")
    echo "$1 $h"
}
ex chrome_kyber.ch zeek/Traces/tls/chrome-1250-tls-x25519-kyber.pcap "tls.handshake.type==1" 0
ex ftp_auth.ch zeek/Traces/ftp/ftp-auth-tls.pcap "tls.handshake.type==1" 0
ex cve3194.ch zeek/Traces/tls/CVE-2015-3194.pcap "tls.handshake.type==1" 0
ex dup_hello.ch2 suricata-verify/tls-duplicate-hello/input.pcap "tls.handshake.extension.type==44 && tls.handshake.type==1" 0
ex rds.ch zeek/Traces/mysql/tls-13-amazon-rds.pcap "tls.handshake.type==1" 0
ex openjdk.ch zeek/Traces/tls/openjdk-25.0.2-zeek.org.pcap "tls.handshake.type==1" 0
ex sslh.ch zeek/Traces/ssl-and-ssh-using-sslh.pcap "tls.handshake.type==1" 0
