#!/bin/sh
# Handshake golden test: for every generated capture listed in
# tls_expected.txt, the tls events (projected by tls_project.jq onto facts
# that don't depend on randoms, ports or times) must equal the expected
# lines. "== ~name" means the expected lines are a prefix (the renegotiation
# storm makes 4-6 renegotiations depending on timing).
D="$TOP/tests/golden"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
awk -v dir="$T" '/^== /{name=$2; f=dir "/" name; printf "" > f; next} {print >> f}' "$D/tls_expected.txt"
for exp in "$T"/*; do
    name=$(basename "$exp")
    prefix=0
    case $name in "~"*) prefix=1; name=${name#\~} ;; esac
    "$TLSWATCH" -q --all -r "$TOP/pcaps/$name.pcap" 2>/dev/null | jq -r -f "$D/tls_project.jq" > "$T/.got"
    if [ $prefix = 1 ]; then head -n "$(wc -l < "$exp")" "$T/.got" > "$T/.cmp"; else cp "$T/.got" "$T/.cmp"; fi
    if cmp -s "$exp" "$T/.cmp"; then
        echo "PASS tls $name: $(wc -l < "$exp") handshake(s) as expected"
    else
        echo "FAIL tls $name:"
        diff "$exp" "$T/.cmp" | head -10
    fi
done
# every event carries the common fields and a Community ID
n=$("$TLSWATCH" -q --all -r "$TOP/pcaps/demo.pcap" | jq -r 'select(.event_type=="tls") | select(.timestamp and .flow_id and (.community_id|startswith("1:")) and .src_ip and .src_port and .dest_ip and .dest_port and .proto=="TCP") | 1' | wc -l)
if [ "$n" -eq 3 ]; then echo "PASS tls events carry timestamp, flow_id, community_id, endpoints"; else echo "FAIL tls common fields ($n of 3)"; fi
# without --all, only the handshakes with findings (each followed by its findings)
n=$("$TLSWATCH" -q -r "$TOP/pcaps/demo.pcap" | jq -r 'select(.event_type=="tls") | .tls.version // "none"' | tr '\n' ' ')
case "$n" in *TLSv1.3*) echo "FAIL without --all: a clean TLS 1.3 handshake reported ($n)" ;;
             *none*) echo "PASS without --all only handshakes with findings are reported ($n)" ;;
             *) echo "FAIL without --all: the failed handshake is missing ($n)" ;; esac
f=$("$TLSWATCH" -q -r "$TOP/pcaps/demo.pcap" | jq -r 'select(.event_type=="finding") | .finding | select(.rule=="version-mismatch") | "\(.severity) \(.fix_side != null) \(.advice|length > 20)"')
if [ "$f" = "critical true true" ]; then echo "PASS finding events carry rule, severity, fix side and advice"; else echo "FAIL finding event: $f"; fi
# text mode: one line per handshake and a summary
out=$("$TLSWATCH" -q --all -F text -r "$TOP/pcaps/demo.pcap")
if [ "$(printf '%s\n' "$out" | grep -Ec ' -> [^ ]+ (established|failed|resumed|aborted|timeout)')" -eq 3 ] && printf '%s\n' "$out" | grep -q '^summary: .* 3 TLS handshakes: established 2 failed 1$'; then
    echo "PASS text output: a line per handshake and a summary"
else
    echo "FAIL text output:"; printf '%s\n' "$out"
fi
# stats count handshakes by outcome
s=$("$TLSWATCH" -q -r "$TOP/pcaps/demo.pcap" | jq -c 'select(.event_type=="stats") | .stats.tls.outcomes | [.established, .failed]')
if [ "$s" = "[2,1]" ]; then echo "PASS stats count handshakes by outcome"; else echo "FAIL stats outcomes $s"; fi
# --handshake-timeout decides a silent server as timeout even when the
# client never closes (capture cut before it): the capture's own timeout
# scenario waits ~3 s
t=$("$TLSWATCH" -q --all --handshake-timeout 1 -r "$TOP/pcaps/timeout.pcap" | jq -r 'select(.event_type=="tls") | "\(.tls.outcome) \(.tls.timing_ms.no_answer > 900)"')
if [ "$t" = "timeout true" ]; then echo "PASS --handshake-timeout 1: timeout with the time waited"; else echo "FAIL handshake timeout: $t"; fi
# a server answering after --handshake-timeout: the timeout was provisional,
# the real outcome and the time to the first answer come out
t=$("$TLSWATCH" -q --all -r "$TOP/pcaps/slow-server.pcap" | jq -r 'select(.event_type=="tls" or .event_type=="stats") | if .event_type=="tls" then "\(.tls.outcome) \(.tls.late_answer) \(.tls.timing_ms.first_answer > 11000) \(.tls.timing_ms.timeout)" else "\(.stats.tls.timeouts_passed) \(.stats.tls.late_answers)" end' | tr '\n' ' ')
if [ "$t" = "established true true 10000 1 1 " ]; then echo "PASS late answer after --handshake-timeout: established, late_answer, timing_ms.first_answer, stats"; else echo "FAIL late answer: $t"; fi
t=$("$TLSWATCH" -q -r "$TOP/pcaps/slow-server.pcap" | jq -r 'select(.event_type=="finding") | .finding | select(.rule=="slow-handshake") | .message')
case "$t" in *"after 12"*"later than the handshake timeout of 10 s"*"outcome established") echo "PASS slow-handshake names the delay and the timeout it passed" ;; *) echo "FAIL slow-handshake message: $t" ;; esac
t=$("$TLSWATCH" -q --all --handshake-timeout 30 -r "$TOP/pcaps/slow-server.pcap" | jq -r 'select(.event_type=="tls") | "\(.tls.outcome) \(.tls.late_answer)"')
t2=$("$TLSWATCH" -q --param slow_answer=20 -r "$TOP/pcaps/slow-server.pcap" | jq -r 'select(.event_type=="finding") | .finding.rule' | tr '\n' ' ')
t3=$("$TLSWATCH" -q --param slow_answer=11 -r "$TOP/pcaps/slow-server.pcap" | jq -r 'select(.event_type=="finding") | .finding.rule' | tr '\n' ' ')
if [ "$t" = "established null" ] && [ -z "$t2" ] && [ "$t3" = "slow-handshake " ]; then echo "PASS slow-handshake: --handshake-timeout 30 is no late answer; --param slow_answer sets the threshold"; else echo "FAIL slow-handshake threshold: [$t] [$t2] [$t3]"; fi

# --keylog: encrypted records read exactly (generated captures carry their key logs)
k=$("$TLSWATCH" -q --keylog "$TOP/pcaps/tls13-client-cert-missing.keylog" -r "$TOP/pcaps/tls13-client-cert-missing.pcap" |
    jq -r 'select(.event_type=="tls") | .tls | "\(.outcome) \(.last_alert.from):\(.last_alert.description) \(.last_alert.decrypted) \(.client_cert_sent):\(.client_cert_empty) \(.encrypted.decrypted)"')
if [ "$k" = "failed server:certificate_required true true:true true" ]; then echo "PASS keylog TLS 1.3: the server's encrypted certificate_required read exactly, empty client Certificate seen"; else echo "FAIL keylog TLS 1.3 client cert: $k"; fi
k=$("$TLSWATCH" -q --keylog "$TOP/pcaps/tls13-client-cert-missing.keylog" -r "$TOP/pcaps/tls13-client-cert-missing.pcap" |
    jq -r 'select(.event_type=="finding") | .finding | select(.rule=="client-certificate-missing") | .confidence')
if [ "$k" = "exact" ]; then echo "PASS keylog: client-certificate-missing becomes exact"; else echo "FAIL keylog finding confidence: $k"; fi
k=$("$TLSWATCH" -q --all --keylog "$TOP/pcaps/tls13-ok.keylog" -r "$TOP/pcaps/tls13-ok.pcap" |
    jq -r 'select(.event_type=="tls") | .tls | "\(.server_cert.subject) \(.server_cert_encrypted) \(.encrypted.decrypt_failures)"')
if [ "$k" = "CN=server.example false 0" ]; then echo "PASS keylog TLS 1.3: the encrypted server certificate is summarised"; else echo "FAIL keylog TLS 1.3 certificate: $k"; fi
k=$("$TLSWATCH" -q --keylog "$TOP/pcaps/tls12-reneg-rejected.keylog" -r "$TOP/pcaps/tls12-reneg-rejected.pcap" |
    jq -r 'select(.event_type=="tls" and .tls.outcome=="reneg_rejected") | .tls.alerts[0] | "\(.from):\(.level):\(.description)"')
if [ "$k" = "server:warning:no_renegotiation" ]; then echo "PASS keylog TLS 1.2: the encrypted no_renegotiation warning read exactly"; else echo "FAIL keylog TLS 1.2 renegotiation: $k"; fi
printf 'CLIENT_RANDOM zz 00\n' > "$T/bad.keylog" 2>/dev/null || printf 'CLIENT_RANDOM zz 00\n' > /tmp/tlswatch-bad.keylog
bad="$T/bad.keylog"; [ -f "$bad" ] || bad=/tmp/tlswatch-bad.keylog
"$TLSWATCH" -q --keylog "$bad" -r "$TOP/pcaps/tls12-ok.pcap" > /dev/null 2> "$T/kerr"
rc=$?
if [ $rc -eq 1 ] && grep -q 'bad.keylog:1: malformed key log line' "$T/kerr"; then echo "PASS a malformed key log: exit 1, file:line"; else echo "FAIL malformed key log: exit $rc $(cat "$T/kerr")"; fi
# resumption.offered: a TLS 1.3 ClientHello's legacy_session_id (middlebox
# compatibility) is no resumption offer
ro() { "$TLSWATCH" -q --all -r "$TOP/pcaps/$1.pcap" 2>/dev/null | jq -r 'select(.event_type=="tls") | .tls.resumption.offered // "null"' | tr '\n' ' '; }
r=$(ro tls13-group-mismatch)
if [ "$r" = "null " ]; then echo "PASS a refused TLS 1.3-only ClientHello: its legacy_session_id is no resumption offer"; else echo "FAIL tls13-group-mismatch resumption.offered: $r"; fi
r=$(ro alpn-mismatch)
if [ "$r" = "session_id_or_compat " ]; then echo "PASS an unanswered ClientHello offering TLS 1.3 and 1.2 with a session id: either is said"; else echo "FAIL alpn-mismatch resumption.offered: $r"; fi
r=$(ro tls12-resume-sessionid)
if [ "$r" = "null session_id " ]; then echo "PASS a TLS 1.2 session-id resumption is an offer (accepted)"; else echo "FAIL tls12-resume-sessionid resumption.offered: $r"; fi
# a key log written on Windows (CRLF line ends) decrypts like the original
sed 's/$/\r/' "$TOP/pcaps/tls12-ok.keylog" > "$T/crlf.keylog"
d=$("$TLSWATCH" -q --all --keylog "$T/crlf.keylog" -r "$TOP/pcaps/tls12-ok.pcap" 2>/dev/null | jq -r 'select(.event_type=="tls") | "\(.tls.encrypted.decrypted) \(.tls.encrypted.decrypt_failures)"')
if [ "$d" = "true 0" ]; then echo "PASS a CRLF key log decrypts (tls12-ok)"; else echo "FAIL CRLF key log: $d"; fi
