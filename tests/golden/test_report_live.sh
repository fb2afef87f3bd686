#!/bin/sh
# --report on a live capture (-i, loopback of a private network namespace):
# the file is rewritten every --report-interval while tlswatch runs (a
# temporary file renamed over it), shows the failing handshakes seen so
# far, and is written once more at SIGINT. Needs root (unshare -n).
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1; then
    echo "SKIP report live: needs root and unshare (a private network namespace)"
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
timeout 30 "$TLSWATCH" -i lo -q --report "$T/live.html" --report-interval 1 tcp port 4999 > out.json 2> err.txt &
TW=$!
timeout 15 openssl s_server -accept 4999 -cert c.pem -key k.pem -tls1_3 -quiet > /dev/null 2>&1 &
i=0
while [ $i -lt 50 ] && ! ss -ltn 2>/dev/null | grep -q ':4999 '; do sleep 0.1; i=$((i + 1)); done
sleep 1
# a TLS 1.2-only client against a TLS 1.3-only server: protocol_version
timeout 5 openssl s_client -connect 127.0.0.1:4999 -servername bad.live.test -tls1_2 < /dev/null > /dev/null 2>&1
sleep 2.5
cp live.html during.html 2>/dev/null
kill -INT $TW
wait $TW
echo $? > rc.txt
EOS
T="$T" TLSWATCH="$TLSWATCH" timeout 60 unshare -n sh "$T/run.sh"
rc=$(cat "$T/rc.txt" 2>/dev/null)
if [ "$rc" = 0 ]; then echo "PASS report live: SIGINT ends the capture with exit 0"; else echo "FAIL report live: exit '$rc' ($(head -2 "$T/err.txt" 2>/dev/null))"; fi
rows=$(grep -c '<tr class="sev-' "$T/during.html" 2>/dev/null)
if [ "${rows:-0}" -ge 1 ] && grep -q 'bad.live.test' "$T/during.html" && grep -q 'the last 3600 s' "$T/during.html"; then
    echo "PASS report live: rewritten while running, with the failing handshake's incident ($rows rows, window stated)"
else echo "FAIL report live: during the run: ${rows:-no file} rows"; fi
if [ -s "$T/live.html" ] && grep -q '</html>' "$T/live.html" && [ ! -e "$T/live.html.tmp" ]; then
    echo "PASS report live: the final file is complete, no temporary file left"
else echo "FAIL report live: final file missing or incomplete"; fi
