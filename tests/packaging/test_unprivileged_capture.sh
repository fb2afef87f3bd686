#!/bin/sh
# What tlswatch.service sets up, without systemd: an unprivileged uid whose
# only capabilities are CAP_NET_RAW and CAP_NET_ADMIN (ambient, bounding
# set, no_new_privs, via setpriv) captures live on the loopback of a
# private network namespace, writing -o FILE into a directory it owns; a
# real logrotate run with the shipped snippet's directives and a postrotate
# SIGHUP moves the file away and tlswatch goes on in a new one, losing no
# line. Needs root, unshare, setpriv, logrotate, openssl.
for c in unshare setpriv logrotate openssl ip ss jq; do
    if ! command -v $c >/dev/null 2>&1; then echo "SKIP unprivileged capture: $c not installed"; exit 0; fi
done
if [ "$(id -u)" != 0 ]; then echo "SKIP unprivileged capture: needs root (setpriv, unshare -n)"; exit 0; fi
T=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
chmod 0755 "$T"
# an unprivileged uid that owns nothing: nobody, as the unit's tlswatch user
U=nobody
G=$(id -gn $U)
mkdir "$T/log"
chown $U:"$G" "$T/log"
chmod 0750 "$T/log"
# the shipped snippet, pointed at the test directory, user and pid
sed -e "s|/var/log/tlswatch/|$T/log/|" -e "s/ tlswatch tlswatch$/ $U $G/" \
    -e "s|systemctl reload tlswatch.service|kill -HUP \$(cat $T/pid)|" "$TOP/packaging/tlswatch.logrotate" > "$T/lr.conf"
cat > "$T/run.sh" <<'EOS'
set -u
ip link set lo up
cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem \
    -days 2 -subj /CN=sandbox.test 2>/dev/null
setpriv --reuid=$U --regid=$G --clear-groups --no-new-privs \
    --inh-caps=-all,+net_raw,+net_admin --ambient-caps=-all,+net_raw,+net_admin \
    --bounding-set=-all,+net_raw,+net_admin \
    "$TLSWATCH" -q -i lo --all -o "$T/log/eve.json" tcp port 4999 2> err.txt &
TW=$!
echo $TW > pid
timeout 20 openssl s_server -accept 4999 -cert c.pem -key k.pem -naccept 2 -quiet > /dev/null 2>&1 &
i=0
while [ $i -lt 50 ] && ! ss -ltn 2>/dev/null | grep -q ':4999 '; do sleep 0.1; i=$((i + 1)); done
sleep 1
grep -E '^(Uid|CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs):' /proc/$TW/status > status.txt
echo Q | timeout 5 openssl s_client -connect 127.0.0.1:4999 -servername one.test > /dev/null 2>&1
# lines reach the file within a second (the capture loop's timer tick);
# a loaded machine may take longer: wait for the line, bounded
i=0
while [ $i -lt 150 ] && ! grep -q one.test "$T/log/eve.json" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
wc -c < "$T/log/eve.json" > size-before.txt
logrotate -v -f -s "$T/lr.state" "$T/lr.conf" > lr.log 2>&1
echo $? > lr.rc
sleep 0.5
echo Q | timeout 5 openssl s_client -connect 127.0.0.1:4999 -servername two.test > /dev/null 2>&1
i=0
while [ $i -lt 150 ] && ! grep -q two.test "$T/log/eve.json" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
kill -INT $TW
wait $TW
echo $? > rc.txt
EOS
T="$T" U="$U" G="$G" TLSWATCH="$TLSWATCH" timeout 90 unshare -n sh "$T/run.sh"
rc=$(cat "$T/rc.txt" 2>/dev/null)
if [ "$rc" = 0 ]; then echo "PASS unprivileged capture: uid $U with CAP_NET_RAW+CAP_NET_ADMIN only captures on lo, exit 0 on SIGINT"
else echo "FAIL unprivileged capture: exit '$rc': $(head -2 "$T/err.txt" 2>/dev/null)"; fi
uid=$(id -u $U)
# CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13: 0x3000
if grep -q "^Uid:[[:space:]]*$uid[[:space:]]" "$T/status.txt" && grep -q '^CapEff:[[:space:]]*0000000000003000$' "$T/status.txt" \
   && grep -q '^CapBnd:[[:space:]]*0000000000003000$' "$T/status.txt" && grep -q '^NoNewPrivs:[[:space:]]*1$' "$T/status.txt"; then
    echo "PASS unprivileged capture: the process ran as uid $uid, effective and bounding capabilities 0x3000, no_new_privs"
else echo "FAIL unprivileged capture: process status: $(tr '\n' ' ' < "$T/status.txt")"; fi
one=$(jq -r 'select(.event_type=="tls") | .tls.sni' "$T/log/eve.json.1" 2>/dev/null | tr '\n' ' ')
two=$(jq -r 'select(.event_type=="tls") | .tls.sni' "$T/log/eve.json" 2>/dev/null | tr '\n' ' ')
st=$(jq -r 'select(.event_type=="stats") | .stats.flows.total' "$T/log/eve.json" 2>/dev/null)
if [ "$(cat "$T/lr.rc" 2>/dev/null)" = 0 ] && [ "$one" = "one.test " ] && [ "$two" = "two.test " ] && [ "$st" = 2 ]; then
    echo "PASS unprivileged capture: logrotate + SIGHUP: eve.json.1 has the first handshake, the new eve.json the second and the final stats (2 connections)"
else echo "FAIL unprivileged capture: logrotate rc $(cat "$T/lr.rc" 2>/dev/null) ($(head -2 "$T/lr.log" 2>/dev/null)); rotated '$one', new '$two', stats flows '$st'"; fi
own=$(stat -c '%U %a' "$T/log/eve.json" 2>/dev/null)
if [ "$own" = "$U 640" ]; then echo "PASS unprivileged capture: the new file is created $U, mode 640 (logrotate create)"
else echo "FAIL unprivileged capture: new file owner/mode '$own'"; fi
