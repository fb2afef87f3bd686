#!/bin/bash
# tests/bench/gen_mixed.sh OUT.pcap [CONNECTIONS]
#
# The realistic mixed capture of `make bench` (issue 11): real OpenSSL
# traffic recorded by tcpdump on loopback inside a private network
# namespace (unshare -n: nothing leaves it). Servers are openssl s_server
# -WWW; clients are OpenSSL too, through python3's ssl module
# (tests/bench/mixed_clients.py): TLS 1.2 and 1.3, full handshakes and
# resumptions (session tickets), responses from a few KB to several MB,
# about 6% of the connections over IPv6, about 4% failing (a TLS 1.2-only
# server asked for TLS 1.3 only, a server requiring a client certificate
# that is not sent, a client that rejects the server's chain), and some
# connections reusing the 4-tuple of an earlier one (fixed source port,
# closed with a RST so that the port is free again).
#
# Root is required (unshare -n, tcpdump). Every loop is bounded in count
# and time; the whole run is bounded by timeout. Prints a summary line;
# exits non-zero when tcpdump reports dropped packets or a server failed.

set -u
OUT=${1:?usage: gen_mixed.sh OUT.pcap [CONNECTIONS]}
N=${2:-3000}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

if [ "$(id -u)" != 0 ]; then
    echo "gen_mixed: root is required (unshare -n, tcpdump)" >&2
    exit 1
fi
for tool in openssl tcpdump ss ip unshare timeout; do
    command -v "$tool" >/dev/null 2>&1 || { echo "gen_mixed: missing tool: $tool" >&2; exit 1; }
done

if [ -z "${TLSWATCH_IN_NETNS:-}" ]; then
    mkdir -p "$(dirname "$OUT")" || exit 1
    OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
    export TLSWATCH_IN_NETNS=1
    exec timeout 1500 unshare -n bash "$0" "$OUT" "$N"
fi

# ---- inside the private network namespace from here on ----
ip link set lo up || exit 1
ip link set lo mtu 1500 || exit 1 # tap-like segments
# no segmentation offload: tcpdump on lo would otherwise see 64 KB GSO
# packets where a tap sees 1500-byte frames
ethtool -K lo tso off gso off gro off > /dev/null 2>&1 ||
    echo "gen_mixed: ethtool could not turn off offloads on lo: packets will be larger than on a tap" >&2

W=$(mktemp -d /tmp/tlswatch-mixed.XXXXXX) || exit 1
trap 'jobs -p | xargs -r kill 2>/dev/null; sleep 0.2; jobs -p | xargs -r kill -9 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
C=$W/certs
mkdir -p "$W/www" "$W/log"

# shellcheck source=../gen/certs.sh
. "$TOP/tests/gen/certs.sh"
make_certs "$C" > "$W/log/certs" 2>&1 || { echo "gen_mixed: certificate generation failed" >&2; cat "$C/certs.log" >&2; exit 1; }

# response bodies
for s in 2 8 32 128 512 2048 6144; do
    head -c $((s * 1024)) /dev/urandom > "$W/www/f$s"
done

wait_port() {
    local i
    for i in $(seq 100); do
        [ -n "$(ss -Hltn "sport = :$1")" ] && return 0
        sleep 0.05
    done
    echo "gen_mixed: port $1 never listened" >&2
    return 1
}

SRV_PIDS=""
# srv PORT ARGS...: an s_server -WWW that accepts connections until killed
srv() {
    local port=$1
    shift
    (cd "$W/www" && exec openssl s_server -quiet -WWW -accept "$port" \
        -cert "$C/server.crt" -key "$C/server.key" -cert_chain "$C/int.crt" "$@") \
        > "$W/log/srv.$port" 2>&1 < /dev/null &
    SRV_PIDS="$SRV_PIDS $!"
    wait_port "$port"
}

srv 4433 || exit 1                        # TLS 1.2 and 1.3, IPv4 (three: s_server
srv 4437 || exit 1                        # serves one connection at a time)
srv 4438 || exit 1
srv 4434 -6 || exit 1                     # the same over IPv6 (::1)
srv 4435 -tls1_2 || exit 1                # TLS 1.2 only
srv 4436 -Verify 1 -CAfile "$C/ca.crt" || exit 1  # client certificate required

rm -f "$OUT"
timeout 1200 tcpdump -i lo -n -s 0 -B 131072 -w "$OUT" 'tcp' > "$W/log/tcpdump" 2>&1 &
CAP=$!
for i in $(seq 50); do
    grep -q 'listening on' "$W/log/tcpdump" 2>/dev/null && [ -s "$OUT" ] && break
    sleep 0.1
done

timeout 1100 /usr/bin/python3 "$HERE/mixed_clients.py" --connections "$N" --root "$C/ca.crt" \
    --rogue "$C/selfsigned.crt" > "$W/log/clients" 2>&1
crc=$?
sleep 0.5
kill -INT "$CAP" 2>/dev/null
wait "$CAP" 2>/dev/null
for p in $SRV_PIDS; do kill "$p" 2>/dev/null; done

tail -n 1 "$W/log/clients"
dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$W/log/tcpdump")
grep 'packets' "$W/log/tcpdump" | tr '\n' ' '
echo
if [ "$crc" != 0 ]; then
    echo "gen_mixed: clients failed (exit $crc)" >&2
    tail -n 20 "$W/log/clients" >&2
    exit 1
fi
if [ "${dropped:-1}" != 0 ]; then
    echo "gen_mixed: tcpdump dropped ${dropped:-?} packets: the capture is incomplete" >&2
    exit 1
fi
exit 0
