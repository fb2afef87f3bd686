#!/bin/sh
# Live capture (-i) on the loopback of a private network namespace: a real
# OpenSSL handshake is seen, the BPF filter applies, SIGINT ends the run
# cleanly with the stats event. Needs root (unshare -n); skipped otherwise.
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1; then
    echo "SKIP live capture: needs root and unshare (a private network namespace)"
    exit 0
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat > "$T/run.sh" <<'EOS'
set -u
ip link set lo up
cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem \
    -days 2 -subj /CN=live.test 2>/dev/null
timeout 20 "$TLSWATCH" -i lo --all -q tcp port 4999 > out.json 2> err.txt &
TW=$!
timeout 10 openssl s_server -accept 4999 -cert c.pem -key k.pem -naccept 1 -quiet > /dev/null 2>&1 &
i=0
while [ $i -lt 50 ] && ! ss -ltn 2>/dev/null | grep -q ':4999 '; do sleep 0.1; i=$((i + 1)); done
sleep 1
echo Q | timeout 5 openssl s_client -connect 127.0.0.1:4999 -servername live.test > /dev/null 2>&1
# traffic the filter must leave out
timeout 3 openssl s_client -connect 127.0.0.1:4998 > /dev/null 2>&1
sleep 1
kill -INT $TW
wait $TW
echo $? > rc.txt
EOS
T="$T" TLSWATCH="$TLSWATCH" timeout 60 unshare -n sh "$T/run.sh"
rc=$(cat "$T/rc.txt" 2>/dev/null)
if [ "$rc" = 0 ]; then echo "PASS live: SIGINT ends the capture with exit 0"; else echo "FAIL live: exit '$rc' ($(head -2 "$T/err.txt" 2>/dev/null))"; fi
h=$(jq -r 'select(.event_type=="tls") | "\(.dest_port) \(.tls.outcome) \(.tls.sni)"' "$T/out.json" 2>/dev/null)
if [ "$h" = "4999 established live.test" ]; then echo "PASS live: the loopback handshake is seen, established"; else echo "FAIL live: tls events '$h'"; fi
n=$(jq -r 'select(.event_type=="stats") | .stats.flows.total' "$T/out.json" 2>/dev/null)
if [ "$n" = 1 ]; then echo "PASS live: the BPF filter keeps only port 4999 (1 connection)"; else echo "FAIL live: $n connections with the filter"; fi
