#!/bin/sh
# The one list of Debian packages tlswatch needs to build, test, generate
# captures and fuzz. Called by the Makefile before building: installs what is
# missing when run as root, otherwise prints the exact apt command and stops.
set -eu

BUILD_PKGS="build-essential pkg-config libpcap-dev libnids-dev libnet1-dev libglib2.0-dev uthash-dev libssl-dev zlib1g-dev librdkafka-dev openssl ca-certificates"
# tests: tshark (differential tests), tcpdump + iproute2 + gnutls + openvpn (capture
# generators), python3-scapy (link-type variants), jq (JSON checks), clang and
# its runtime (sanitizers, libFuzzer), valgrind (memory checks of the
# non-sanitizer build, tests/robust/test_valgrind.sh), strace (the reader
# thread of a large capture file, tests/golden/test_read_ahead.sh); packaging tests:
# groff-base + man-db (the man page renders without warnings), systemd
# (systemd-analyze verify/security on the unit; systemd need not be PID 1),
# logrotate (the snippet, and rotation with SIGHUP), rsyslog (a real syslog
# daemon receiving --syslog's RFC 5424 messages; the test runs it in the
# foreground on a socket of its own, but on a host with systemd installing
# the package also enables the rsyslog service); kcat (a second consumer of
# the mock Kafka cluster in tests/output/test_kafka.sh, besides
# tests/tools/kafka_mock; no Kafka broker is packaged in Debian 12).
TEST_PKGS="tshark tcpdump strace iproute2 gnutls-bin openvpn python3-scapy jq clang libclang-rt-14-dev util-linux time valgrind groff-base man-db systemd logrotate rsyslog kcat chromium fonts-dejavu-core"

# make bench: the peers it times (ssldump, ndpiReader) and ethtool (the
# mixed capture's loopback without segmentation offload, so that packets
# are wire-sized as on a tap); make soak: tcpreplay (loops pcaps/ into a
# veth pair; mergecap and capinfos come with tshark above).
BENCH_PKGS="ssldump libndpi-bin ethtool tcpreplay"

want="$BUILD_PKGS"
[ "${1:-}" = "--test" ] && want="$BUILD_PKGS $TEST_PKGS"
[ "${1:-}" = "--bench" ] && want="$BUILD_PKGS $TEST_PKGS $BENCH_PKGS"

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "tlswatch: missing Debian packages:$missing" >&2
    echo "run: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "tlswatch: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture: answer no, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends $missing >&2
