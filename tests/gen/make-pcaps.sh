#!/bin/sh
# tests/gen/make-pcaps.sh OUTDIR [SCENARIO...]
#
# Regenerates the bundled captures (pcaps/*.pcap + *.keylog) from real TLS
# stacks (openssl s_server/s_client, gnutls-serv/gnutls-cli, python3 ssl) on
# loopback inside a private network namespace. Root is required (unshare -n,
# tcpdump). With SCENARIO names only those scenarios are run, and only the
# captures derived or crafted from them are re-made: the rest of OUTDIR is left
# as it is (test-ca.pem gets the new root appended, see certs.sh).
# See pcaps/MANIFEST.md for what each capture must show.
#
# Exits non-zero only if a core capture (demo, tls12-ok, tls13-ok, link-*, tun-*)
# is missing or fails verification.

if [ -z "$BASH_VERSION" ]; then
    exec bash "$0" "$@"
fi
set -u

GEN_DIR=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-}
if [ -z "$OUT" ]; then
    echo "usage: $0 OUTDIR [SCENARIO...]" >&2
    exit 2
fi
shift

if [ "$(id -u)" != 0 ]; then
    echo "make-pcaps: root is required (unshare -n, tcpdump on lo); run 'sudo make pcaps'" >&2
    exit 1
fi
for tool in openssl tcpdump tshark editcap ss ip unshare timeout gnutls-cli gnutls-serv openvpn; do
    command -v "$tool" >/dev/null 2>&1 || { echo "make-pcaps: missing tool: $tool" >&2; exit 1; }
done
PY=/usr/bin/python3
$PY -c 'import scapy' 2>/dev/null || { echo "make-pcaps: $PY lacks scapy (apt-get install python3-scapy)" >&2; exit 1; }

if [ -z "${TLSWATCH_IN_NETNS:-}" ]; then
    mkdir -p "$OUT" || exit 1
    OUT=$(cd "$OUT" && pwd)
    export TLSWATCH_IN_NETNS=1
    exec timeout 600 unshare -n bash "$GEN_DIR/make-pcaps.sh" "$OUT" "$@"
fi

# ---- inside the private network namespace from here on ----
ip link set lo up || exit 1
# a tap-like MTU so certificates and long records span several segments
ip link set lo mtu 1500 || exit 1

W=$(mktemp -d /tmp/tlswatch-pcaps.XXXXXX) || exit 1
trap 'jobs -p | xargs -r kill 2>/dev/null; rm -rf "$W"' EXIT
RAW=$W/raw
C=$W/certs
mkdir -p "$RAW" "$W/www" "$W/log"
printf 'hello from tlswatch\n' > "$W/www/hello.txt"
START=$(date +%s)

. "$GEN_DIR/certs.sh"
. "$GEN_DIR/scenarios.sh"
. "$GEN_DIR/post.sh"

make_certs "$C" || { echo "make-pcaps: certificate generation failed, see $C/certs.log" >&2; cat "$C/certs.log" >&2; exit 1; }
save_test_ca "$C" "$OUT/test-ca.pem" $# || exit 1

if [ $# -gt 0 ]; then
    LIST="$*"
else
    LIST=$ALL_SCENARIOS
fi
for s in $LIST; do
    "sc_$s" || echo "scenario $s: error (continuing)" >&2
done

postprocess
# crafted captures (heartbleed, SSLv3, RC4/3DES/NULL/EXPORT, ...): edited from
# the real ones above, checked with tshark by craft.py itself
# (a partial run re-crafts only if it re-made one of their sources)
if remade tls12-ok || remade tls13-ok || remade weak-cipher; then
    $PY "$GEN_DIR/craft.py" "$OUT" || echo "make-pcaps: crafted captures: error (continuing)" >&2
fi
verify_all
rc=$?
echo "make-pcaps: done in $(( $(date +%s) - START )) s, $(ls "$OUT"/*.pcap* 2>/dev/null | wc -l) captures, $(du -sk "$OUT" | cut -f1) KB in $OUT"
exit $rc
