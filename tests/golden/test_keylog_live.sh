#!/bin/sh
# A key log followed while it grows, live: tlswatch captures on a veth pair
# between two private network namespaces with --keylog naming a file that
# does not exist yet; real OpenSSL clients then write their secrets to it
# (SSLKEYLOGFILE style, -keylogfile) as they connect. Every handshake must
# be decrypted (keys found, every encrypted record read), including after
# the file is rotated (moved away, a new one started, SIGHUP).
# Needs root (unshare -n, nsenter); skipped otherwise.
. "$TOP/tests/lib/vethpair.sh"
veth_test_start "keylog live"
cat > "$T/run.sh" <<'EOS'
set -u
cd "$T"
. "$TOP/tests/lib/vethpair.sh"
veth_pair 60 keylog.test || exit 1
$PX timeout 50 openssl s_server -accept 4443 -cert c.pem -key k.pem -www -quiet > /dev/null 2>&1 &
i=0
while [ $i -lt 100 ] && ! $PX ss -Hltn | grep -q ':4443 '; do sleep 0.05; i=$((i + 1)); done
# --suppress is re-read on the same SIGHUP
printf 'suppress rule=* sni=tls13.test reason="before the HUP"\n' > sup.conf
timeout 50 "$TLSWATCH" -i tw0 -q --all --keylog kl.txt --suppress sup.conf -o live.json tcp 2> tw.err &
TW=$!
sleep 1.5
get() { # get NAME ARGS: one GET / (the server answers, then both close)
    n=$1; shift
    printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 openssl s_client -connect 10.99.0.2:4443 -servername "$n" \
        -keylogfile kl.txt -ign_eof "$@" > /dev/null 2>&1
}
get tls13.test -tls1_3
get tls12.test -tls1_2
# rotation: the key log is moved away, the clients start a new one (after
# tlswatch had time to see the first handshakes: the kernel hands packets
# over in blocks, up to the capture timeout late)
sleep 1
mv kl.txt kl.1
printf 'suppress rule=* sni=rotated13.test reason="after the HUP"\n' > sup.conf
kill -HUP $TW
# the files are re-read at the capture's next timer tick (within a second)
i=0
while [ $i -lt 50 ] && ! grep -q "suppressions re-read" tw.err; do sleep 0.1; i=$((i + 1)); done
get rotated13.test -tls1_3
get rotated12.test -tls1_2
sleep 1.5
kill -TERM $TW
wait $TW
echo $? > rc.txt
kill $PEER 2>/dev/null
EOS
T="$T" TOP="$TOP" TLSWATCH="$TLSWATCH" timeout 60 unshare -n sh "$T/run.sh" > "$T/run.log" 2>&1

rc=$(cat "$T/rc.txt" 2>/dev/null)
if [ "$rc" = 0 ] && grep -q "no key log yet" "$T/tw.err"; then echo "PASS keylog live: a key log that does not exist yet is waited for"
else echo "FAIL keylog live: exit '$rc' ($(head -2 "$T/tw.err" 2>/dev/null | tr '\n' ' '))"; fi
for n in tls13.test tls12.test rotated13.test rotated12.test; do
    r=$(jq -r --arg n "$n" 'select(.event_type=="tls" and .tls.sni==$n) | .tls as $t | $t.encrypted |
          "\($t.outcome) \(.keys_found) \(.decrypt_failures) \(.client_decrypted == .client_records and .server_decrypted == .server_records and .client_records > 0)"' \
        "$T/live.json" 2>/dev/null)
    if [ "$r" = "established true 0 true" ]; then echo "PASS keylog live: $n decrypted with secrets written while it ran"
    else echo "FAIL keylog live: $n: '$r' (outcome keys_found failures all-read)"; fi
done
a=$(jq -r 'select(.event_type=="stats") | .stats.tls.keylog_added' "$T/live.json" 2>/dev/null | tail -1)
if [ "${a:-0}" -ge 4 ] 2>/dev/null; then echo "PASS keylog live: the stats count $a client randoms read while running"
else echo "FAIL keylog live: keylog_added '$a'"; fi
got=""
for n in tls13.test tls12.test rotated13.test rotated12.test; do
    p=$(jq -r --arg n "$n" 'select(.event_type=="tls" and .tls.sni==$n) | .src_port' "$T/live.json")
    c=$(jq -r --arg p "$p" 'select(.event_type=="finding" and (.src_port|tostring)==$p) | .finding.rule' "$T/live.json" | wc -l)
    got="$got $n:$([ "$c" -gt 0 ] && echo y || echo n)"
done
if [ "$got" = " tls13.test:n tls12.test:y rotated13.test:n rotated12.test:y" ] && grep -q "1 suppressions re-read" "$T/tw.err"; then
    echo "PASS keylog live: --suppress re-read on SIGHUP (findings per handshake:$got)"
else echo "FAIL keylog live: suppression reload: findings per handshake:$got; $(tr '\n' ' ' < "$T/tw.err")"; fi
