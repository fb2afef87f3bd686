#!/bin/bash
# tests/gen/gen_incidents.sh OUT.pcap
#
# A mixed capture with KNOWN causes (issue 14): real OpenSSL servers
# (openssl s_server -WWW), one per cause, and real OpenSSL clients
# (python3's ssl module, tests/gen/incidents_clients.py) on loopback inside
# a private network namespace (unshare -n: nothing leaves it), recorded by
# tcpdump. Every cause has its own server port, SNI, number of connections
# and set of client source addresses (127.0.K.x, several per cause); some
# causes have TLS 1.2 and TLS 1.3 clients alternately ("mix": in 1.3 the
# certificate and the client's flight are encrypted):
#
#   cause          server                                 clients              rule
#   expired        expired leaf (+ intermediate)          1.2/1.3, verify      certificate-expired
#   unknown-ca     leaf + root nobody trusts              1.2, verify          certificate-unknown-ca
#   self-signed    self-signed leaf                       1.2, verify          certificate-self-signed
#   name-mismatch  server.example cert, SNI other.example 1.2/1.3, verify      certificate-hostname-mismatch
#   version        TLS 1.2 only                           TLS 1.3 only         version-mismatch
#   cipher         TLS 1.2, ECDHE-ECDSA-CHACHA20 only     1.2, AES-GCM only    cipher-mismatch
#   client-cert    client certificate required            1.2/1.3, no cert     client-certificate-missing
#   healthy        the test chain                         1.2/1.3, verify      (no finding)
#
# Every client sends "GET /index.txt" right after its handshake and reads to
# the end (so a TLS 1.3 client's request crosses a server's alert sent after
# the client's Finished, as with real HTTP clients).
# Writes, next to OUT.pcap:
#   OUT.ca.pem     the test root (for tlswatch --ca-file): root only, no key
#   OUT.keylog     the clients' secrets (SSLKEYLOGFILE format, tlswatch --keylog)
#   OUT.conns      one line per connection the clients made (TSV):
#                  cause src_ip src_port connected intended outcome version
#   OUT.expected   one line per cause (TSV), derived from OUT.conns (only
#                  the connections that ended the way their cause says):
#                  cause rule server port sni count clients leaf_sha256
#                  (count 0 and rule "-" for the healthy server)
# Root is required (unshare -n, tcpdump). Every loop is bounded in count and
# time; the whole run is bounded by timeout. Exits non-zero when a server did
# not start, tcpdump dropped packets or the clients failed.

set -u
OUT=${1:?usage: gen_incidents.sh OUT.pcap}
HERE=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" != 0 ]; then
    echo "gen_incidents: root is required (unshare -n, tcpdump)" >&2
    exit 1
fi
for tool in openssl tcpdump ss ip unshare timeout /usr/bin/python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "gen_incidents: missing tool: $tool" >&2; exit 1; }
done

if [ -z "${TLSWATCH_IN_NETNS:-}" ]; then
    mkdir -p "$(dirname "$OUT")" || exit 1
    OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
    export TLSWATCH_IN_NETNS=1
    exec timeout 120 unshare -n bash "$0" "$OUT"
fi

# ---- inside the private network namespace from here on ----
ip link set lo up || exit 1

W=$(mktemp -d /tmp/tlswatch-incmix.XXXXXX) || exit 1
trap 'jobs -p | xargs -r kill 2>/dev/null; sleep 0.2; jobs -p | xargs -r kill -9 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
C=$W/certs
mkdir -p "$W/www" "$W/log"
echo "hello from the healthy server" > "$W/www/index.txt"

# shellcheck source=certs.sh
. "$HERE/certs.sh"
make_certs "$C" > "$W/log/certs" 2>&1 || { echo "gen_incidents: certificate generation failed" >&2; cat "$C/certs.log" >&2; exit 1; }

wait_port() {
    local _
    for _ in $(seq 100); do
        [ -n "$(ss -Hltn "sport = :$1")" ] && return 0
        sleep 0.05
    done
    echo "gen_incidents: port $1 never listened" >&2
    return 1
}

# srv PORT ARGS...: an s_server -WWW that accepts connections until killed
srv() {
    local port=$1
    shift
    (cd "$W/www" && exec timeout 100 openssl s_server -quiet -WWW -accept "$port" "$@") \
        > "$W/log/srv.$port" 2>&1 < /dev/null &
    wait_port "$port"
}

# the causes: NAME PORT SNI COUNT NCLIENTS NET MODE VERS RULE LEAF (the server's options below)
CAUSES="
expired       4501 server.example 40 7  127.0.1 verify    mix certificate-expired           expired
unknown-ca    4502 server.example 25 5  127.0.2 verify    12  certificate-unknown-ca        rogue-leaf
self-signed   4503 server.example 15 3  127.0.3 verify    12  certificate-self-signed       selfsigned
name-mismatch 4504 other.example  30 12 127.0.4 verify    mix certificate-hostname-mismatch server
version       4505 server.example 60 9  127.0.5 tls13only 13  version-mismatch              server
cipher        4506 server.example 20 4  127.0.6 cipher    12  cipher-mismatch               server
client-cert   4507 server.example 35 6  127.0.7 nocert    mix client-certificate-missing    server
healthy       4508 server.example 50 8  127.0.8 healthy   mix -                             server
"
S_OK=(-cert "$C/server.crt" -key "$C/server.key" -cert_chain "$C/int.crt")
srv 4501 -cert "$C/expired.crt" -key "$C/expired.key" -cert_chain "$C/int.crt" || exit 1
srv 4502 -cert "$C/rogue-leaf.crt" -key "$C/rogue-leaf.key" -cert_chain "$C/rogue.crt" || exit 1
srv 4503 -cert "$C/selfsigned.crt" -key "$C/selfsigned.key" || exit 1
srv 4504 "${S_OK[@]}" || exit 1
srv 4505 -tls1_2 "${S_OK[@]}" || exit 1
srv 4506 -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305 "${S_OK[@]}" || exit 1
srv 4507 -Verify 1 -CAfile "$C/ca.crt" "${S_OK[@]}" || exit 1
srv 4508 "${S_OK[@]}" || exit 1

rm -f "$OUT" "$OUT.conns" "$OUT.expected" "$OUT.ca.pem" "$OUT.keylog"
timeout 90 tcpdump -i lo -U -n -s 0 -B 65536 -w "$OUT" 'tcp portrange 4501-4508' > "$W/log/tcpdump" 2>&1 &
CAP=$!
for _ in $(seq 50); do
    grep -q 'listening on' "$W/log/tcpdump" 2>/dev/null && [ -s "$OUT" ] && break
    sleep 0.1
done

set --
while read -r name port sni count ncl net mode vers rule leaf; do
    [ -n "$name" ] || continue
    set -- "$@" --cause "$name:$port:$sni:$count:$ncl:$net:$mode:$vers"
done <<EOF
$CAUSES
EOF
timeout 60 /usr/bin/python3 "$HERE/incidents_clients.py" --root "$C/ca.crt" --budget 40 --keylog "$OUT.keylog" "$@" \
    > "$OUT.conns" 2> "$W/log/clients"
crc=$?
sleep 1.5 # past the 1 s buffer timeout of tcpdump: the last block is written before SIGINT
kill -INT "$CAP" 2>/dev/null
wait "$CAP" 2>/dev/null

openssl x509 -in "$C/ca.crt" -outform PEM > "$OUT.ca.pem" || exit 1

# the expectations, from what the clients saw
while read -r name port sni count ncl net mode vers rule leaf; do
    [ -n "$name" ] || continue
    fp=$(openssl x509 -in "$C/$leaf.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')
    awk -F'\t' -v c="$name" -v rule="$rule" -v port="$port" -v sni="$sni" -v fp="$fp" '
        $1 == c && $5 == 1 { n++; if (!($2 in seen)) { seen[$2] = 1; k++ } }
        END { if (rule == "-") { n = 0; k = 0 }
              printf "%s\t%s\t127.0.0.1\t%s\t%s\t%d\t%d\t%s\n", c, rule, port, sni, n, k, fp }' "$OUT.conns"
done > "$OUT.expected" <<EOF
$CAUSES
EOF

total=$(wc -l < "$OUT.conns")
bad=$(awk -F'\t' '$5 != 1' "$OUT.conns" | wc -l)
echo "gen_incidents: $total connections, $bad with an unintended outcome; $(grep packets "$W/log/tcpdump" | tr '\n' ' ')"
dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$W/log/tcpdump")
if [ "$crc" != 0 ]; then
    echo "gen_incidents: clients failed (exit $crc)" >&2
    tail -n 20 "$W/log/clients" >&2
    exit 1
fi
if [ "${dropped:-1}" != 0 ]; then
    echo "gen_incidents: tcpdump dropped ${dropped:-?} packets: the capture is incomplete" >&2
    exit 1
fi
exit 0
