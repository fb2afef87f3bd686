#!/bin/sh
# Capture loss is a finding: tlswatch captures live on a veth pair between
# two private network namespaces with a 1 MB kernel buffer, is stopped
# (SIGSTOP) while 48 MB cross the link, then continues. The kernel drops
# packets; tlswatch must
#  - count them in the stats (kernel_dropped > 0),
#  - raise a capture-loss finding for the interval (rules/capture.rules),
#    with the capture's counts and no flow,
#  - mark the handshake that was on the wire during the loss (capture_loss:
#    true) and not the one decided well before it.
# Needs root (unshare -n, nsenter); skipped otherwise.
. "$TOP/tests/lib/vethpair.sh"
veth_test_start "capture loss"
cat > "$T/run.sh" <<'EOS'
set -u
cd "$T"
. "$TOP/tests/lib/vethpair.sh"
veth_pair 60 loss.test || exit 1
$PX timeout 50 openssl s_server -accept 4443 -cert c.pem -key k.pem -www -quiet > /dev/null 2>&1 &
# 4445: accepts and never answers; 5001: a sink for the bulk transfer
$PX timeout 50 python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.0.2", 4445)); s.listen(4)
c, _ = s.accept(); time.sleep(40)' > /dev/null 2>&1 &
$PX timeout 50 python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.0.2", 5001)); s.listen(4)
c, _ = s.accept()
while c.recv(1 << 20): pass' > /dev/null 2>&1 &
i=0
while [ $i -lt 100 ] && [ "$($PX ss -Hltn | grep -c ':4443 \|:4445 \|:5001 ')" != 3 ]; do sleep 0.05; i=$((i + 1)); done
timeout 50 "$TLSWATCH" -i tw0 -B 1 -q --all --handshake-timeout 2 --idle-timeout 4 \
    --param capture_loss_interval=2s -o live.json tcp 2> tw.err &
TW=$!
sleep 1.5
timeout 5 openssl s_client -connect 10.99.0.2:4443 -servername loss.test < /dev/null > /dev/null 2>&1
sleep 3
# a ClientHello on the wire before the loss, decided (timeout) after it
timeout 20 openssl s_client -connect 10.99.0.2:4445 -servername during.test < /dev/null > /dev/null 2>&1 &
QC=$!
sleep 0.5
kill -STOP $TW
timeout 20 python3 -c '
import socket
s = socket.create_connection(("10.99.0.2", 5001))
b = bytes(1 << 16)
for _ in range(768): s.sendall(b)
s.close()'
sleep 0.5
kill -CONT $TW
sleep 7
kill -TERM $TW
wait $TW
echo $? > rc.txt
kill $QC 2>/dev/null
kill $PEER 2>/dev/null
EOS
T="$T" TOP="$TOP" TLSWATCH="$TLSWATCH" timeout 80 unshare -n sh "$T/run.sh" > "$T/run.log" 2>&1

rc=$(cat "$T/rc.txt" 2>/dev/null)
kd=$(jq -r 'select(.event_type=="stats") | .stats.kernel_dropped + .stats.interface_dropped' "$T/live.json" 2>/dev/null | tail -1)
if [ "$rc" = 0 ] && [ "${kd:-0}" -gt 0 ] 2>/dev/null; then echo "PASS capture loss: the stats count $kd dropped packets"
else echo "FAIL capture loss: exit '$rc', dropped '$kd' ($(head -2 "$T/tw.err" 2>/dev/null | tr '\n' ' '); $(tail -2 "$T/run.log" | tr '\n' ' '))"; fi
f=$(jq -r 'select(.event_type=="finding" and .finding.rule=="capture-loss")
      | "\(.capture.interface) \(.capture.dropped > 0) \(.capture.loss_pct > 0) \(has("src_ip")) \(.finding.severity) \(.finding.fix_side)"' "$T/live.json" 2>/dev/null | head -1)
if [ "$f" = "tw0 true true false medium network" ]; then echo "PASS capture loss: a capture-loss finding for the interval, with the capture's counts and no flow"
else echo "FAIL capture loss: finding '$f'"; fi
msg=$(jq -r 'select(.event_type=="finding" and .finding.rule=="capture-loss") | .finding.message' "$T/live.json" 2>/dev/null | head -1)
case "$msg" in *"dropped "*" packets in "*) echo "PASS capture loss: message: $msg" ;;
    *) echo "FAIL capture loss: message '$msg'" ;; esac
d=$(jq -r 'select(.event_type=="tls" and .dest_port==4445) | "\(.tls.outcome) \(.tls.capture_loss)"' "$T/live.json" 2>/dev/null)
if [ "$d" = "timeout true" ]; then echo "PASS capture loss: the handshake on the wire during the loss says capture_loss"
else echo "FAIL capture loss: handshake during the loss: '$d'"; fi
b=$(jq -r 'select(.event_type=="tls" and .dest_port==4443) | "\(.tls.outcome) \(.tls.capture_loss)"' "$T/live.json" 2>/dev/null)
if [ "$b" = "established null" ]; then echo "PASS capture loss: the handshake decided before the loss does not"
else echo "FAIL capture loss: handshake before the loss: '$b'"; fi
