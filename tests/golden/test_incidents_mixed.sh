#!/bin/sh
# Issue 14, "what must be shown": on a mixed capture generated at test time
# from real TLS stacks (tests/gen/gen_incidents.sh: hundreds of flows, one
# openssl s_server per cause, python3/OpenSSL clients from several source
# addresses per cause, plus a healthy server), --incidents makes exactly one
# closed incident per generated cause, with the count and distinct clients
# of the connections that cause produced, and none for the healthy server;
# every handshake is one tls event (--all); --summary has one line per
# cause; a suppression entry naming one cause (by rule and server, by leaf
# certificate, by a client network covering some of its clients only)
# removes exactly those findings and leaves every other incident as it was.
# The expectations come from the generator's sidecars (what the clients
# actually did), never from numbers written here. Needs root, unshare,
# tcpdump, openssl and python3: otherwise SKIP.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ "$(id -u)" != 0 ]; then echo "SKIP incidents-mixed: root is required (unshare -n, tcpdump)"; exit 0; fi
for tool in unshare tcpdump openssl ip ss timeout /usr/bin/python3 jq; do
    command -v "$tool" >/dev/null 2>&1 || { echo "SKIP incidents-mixed: $tool is not installed"; exit 0; }
done
if ! unshare -n true 2>/dev/null; then echo "SKIP incidents-mixed: unshare -n is not permitted here"; exit 0; fi

t0=$(date +%s)
if ! bash "$TOP/tests/gen/gen_incidents.sh" "$T/cap.pcap" > "$T/gen.log" 2>&1; then
    echo "FAIL incidents-mixed: the generator failed:"; tail -5 "$T/gen.log"; exit 1
fi
t1=$(date +%s)
E=$T/cap.pcap.expected
N=$T/cap.pcap.conns
conns=$(wc -l < "$N")
connected=$(awk -F'\t' '$4 == 1' "$N" | wc -l)
unintended=$(awk -F'\t' '$5 != 1' "$N" | wc -l)
causes=$(awk -F'\t' '$6 > 0' "$E" | wc -l)
if [ "$conns" -ge 200 ] && [ "$unintended" = 0 ] && [ "$causes" -ge 5 ]; then
    echo "PASS incidents-mixed: generated $conns connections ($causes causes + a healthy server) in $((t1 - t0)) s, each ended as its cause says"
else
    echo "FAIL incidents-mixed: $conns connections, $causes causes, $unintended ended otherwise than their cause says:"
    awk -F'\t' '$5 != 1' "$N" | head -5
fi

# run OUT [options]: tlswatch over the capture (with the clients' key log:
# half of some causes are TLS 1.3, whose certificates are encrypted); OUT.txt
# the closed incidents
run() {
    out=$1; shift
    "$TLSWATCH" -q -r "$T/cap.pcap" --ca-file "$T/cap.pcap.ca.pem" --keylog "$T/cap.pcap.keylog" --all --incidents \
        --incident-quiet 2592000 --summary "$@" > "$T/$out.json" 2> "$T/$out.err"
    echo $? > "$T/$out.rc"
    jq -r 'select(.event_type=="incident" and .incident.state=="closed") | .incident |
           "\(.rule)|\(.server_ip)|\(.server_port)|\(.sni // "")|\(.count)|\(.clients)"' "$T/$out.json" | sort > "$T/$out.txt"
}
run base
# expected: cause rule server port sni count clients leaf
awk -F'\t' '$6 > 0 {print $2"|"$3"|"$4"|"$5"|"$6"|"$7}' "$E" | sort > "$T/want.txt"
if [ "$(cat "$T/base.rc")" = 0 ] && [ -s "$T/want.txt" ] && cmp -s "$T/want.txt" "$T/base.txt"; then
    echo "PASS incidents-mixed: exactly one incident per cause, none for the healthy server, each with the generated count and distinct clients ($(awk -F'|' '{printf "%s%s=%s/%s", s, $1, $5, $6; s=" "}' "$T/want.txt"))"
else
    echo "FAIL incidents-mixed: incidents differ from the generated causes (< generated, > tlswatch):"
    diff "$T/want.txt" "$T/base.txt" | grep '^[<>]' | head -10
fi
o=$(jq -r 'select(.event_type=="incident" and .incident.state=="opened") | .incident.id' "$T/base.json" | wc -l)
u=$(jq -r 'select(.event_type=="incident" and .incident.state=="updated") | .incident.id' "$T/base.json" | sort -u | wc -l)
c=$(wc -l < "$T/base.txt")
if [ "$o" = "$causes" ] && [ "$c" = "$causes" ]; then echo "PASS incidents-mixed: $o incidents opened and $c closed, one per cause"
else echo "FAIL incidents-mixed: $o opened, $c closed, $causes causes ($u updated)"; fi
# the evidence of the certificate incidents is the leaf the cause's server sent
bad=$(jq -r 'select(.event_type=="incident" and .incident.state=="closed") | .incident |
             select(.evidence_key | startswith("cert:")) | "\(.server_port) \(.evidence_key | ltrimstr("cert:"))"' "$T/base.json" |
      awk -v e="$E" 'BEGIN { while ((getline l < e) > 0) { split(l, f, "\t"); fp[f[4]] = f[8] } }
                     { n++; if (fp[$1] != $2) { print; bad++ } } END { if (n < 4) print "only " n " certificate incidents" }')
if [ -z "$bad" ]; then echo "PASS incidents-mixed: every certificate incident's evidence is the SHA-256 of the leaf its server was given"
else echo "FAIL incidents-mixed: certificate evidence: $bad"; fi

# every connection is one tls event, on the port of its cause
awk -F'\t' -v e="$E" 'BEGIN { while ((getline l < e) > 0) { split(l, f, "\t"); port[f[1]] = f[4] } }
                      $4 == 1 { print port[$1] }' "$N" | sort | uniq -c > "$T/tls-want.txt"
jq -r 'select(.event_type=="tls") | .dest_port' "$T/base.json" | sort | uniq -c > "$T/tls-got.txt"
tls=$(grep -c '"event_type":"tls"' "$T/base.json")
if [ "$tls" = "$connected" ] && cmp -s "$T/tls-want.txt" "$T/tls-got.txt"; then
    echo "PASS incidents-mixed: $tls tls events (--all) for $connected connections, per server port as generated"
else echo "FAIL incidents-mixed: $tls tls events for $connected connections:"; diff "$T/tls-want.txt" "$T/tls-got.txt" | head -5; fi

# without the key log, every failed connection still makes one finding on
# its cause's server (TLS 1.3: inferred from the cleartext or encrypted alert)
"$TLSWATCH" -q -r "$T/cap.pcap" --ca-file "$T/cap.pcap.ca.pem" > "$T/nokeys.json" 2> "$T/nokeys.err"
awk -F'\t' '$6 > 0 {print $4" "$6}' "$E" | sort > "$T/nk-want.txt"
jq -r 'select(.event_type=="finding") | .dest_port' "$T/nokeys.json" | sort | uniq -c | awk '{print $2" "$1}' | sort > "$T/nk-got.txt"
n13=$(awk -F'\t' '$7 == 13' "$N" | wc -l)
# The one ambiguity the README documents: a TLS 1.3 server's encrypted
# alert after the client's Finished is data when the client closes first.
# On loopback s_server sometimes closes a few ms after s_client has: such a
# failed connection (checked in the capture: its client's FIN is the
# connection's first) may go without its finding, no other, and few of them.
jq -r 'select(.event_type=="finding") | .src_port' "$T/nokeys.json" | sort -u > "$T/nk-ports.txt"
awk -F'\t' -v e="$E" 'BEGIN { while ((getline l < e) > 0) { split(l, f, "\t"); if (f[6] > 0) bad[f[1]] = 1 } }
                      ($1 in bad) && $4 == 1 && $5 == 1 && $7 == 13 {print $3}' "$N" | sort -u | comm -23 - "$T/nk-ports.txt" > "$T/nk-missing.txt"
: > "$T/nk-ambiguous.txt"
if [ -s "$T/nk-missing.txt" ] && [ "$(wc -l < "$T/nk-missing.txt")" -le 3 ]; then
    tshark -r "$T/cap.pcap" -Y 'tcp.flags.fin==1' -T fields -e tcp.stream -e tcp.srcport -e tcp.dstport 2>/dev/null |
        awk '!seen[$1]++ {print $2}' | sort -u | comm -12 - "$T/nk-missing.txt" > "$T/nk-client-first.txt"
    if cmp -s "$T/nk-client-first.txt" "$T/nk-missing.txt"; then
        awk -F'\t' -v e="$E" 'BEGIN { while ((getline l < e) > 0) { split(l, f, "\t"); port[f[1]] = f[4] } }
                     NR == FNR { miss[$1] = 1; next } ($3 in miss) { print port[$1] }' "$T/nk-missing.txt" "$N" |
            sort | uniq -c | awk '{print $2" "$1}' > "$T/nk-ambiguous.txt"
    fi
fi
awk 'FILENAME == ARGV[1] { a[$1] = $2; next } { n = $2 - a[$1]; if (n > 0) print $1" "n }' "$T/nk-ambiguous.txt" "$T/nk-want.txt" > "$T/nk-want-adj.txt"
amb=$(awk '{s += $2} END {print s + 0}' "$T/nk-ambiguous.txt")
if [ "$n13" -gt 0 ] && cmp -s "$T/nk-want-adj.txt" "$T/nk-got.txt"; then
    echo "PASS incidents-mixed: without the key log ($n13 TLS 1.3 connections), one finding per failed connection on each cause's server ($amb left without one because the client closed first, as documented)"
else echo "FAIL incidents-mixed: without the key log, findings per server port differ (< generated, > tlswatch; capture kept in build/incidents-mixed-failure):"; diff "$T/nk-want.txt" "$T/nk-got.txt" | grep '^[<>]'
     rm -rf "$TOP/build/incidents-mixed-failure"; cp -r "$T" "$TOP/build/incidents-mixed-failure"; fi

# --summary: one line per cause, with its handshakes and clients
s=$(grep -c '^ *[0-9]*\. ' "$T/base.err")
miss=$(awk -F'|' '{print $1" "$2":"$3" sni="$4": "$5" handshakes from "$6" clients"}' "$T/base.txt" |
       while read -r line; do [ "$(grep -cF "$line" "$T/base.err")" = 1 ] || echo "$line"; done)
if [ "$s" = "$causes" ] && [ -z "$miss" ]; then echo "PASS incidents-mixed: --summary has one line per cause ($s), each with its handshakes and clients"
else echo "FAIL incidents-mixed: summary has $s lines for $causes causes; not found once: $miss"; fi

# suppress NAME ENTRY: run with the entry; WANT.txt is what must remain
suppress() {
    name=$1 entry=$2
    printf '# %s\n%s\n' "$name" "$entry" > "$T/s.conf"
    run s --suppress "$T/s.conf"
    sup=$(jq -r 'select(.event_type=="stats") | .stats.findings.suppressed' "$T/s.json" | tail -1)
    if [ "$(cat "$T/s.rc")" = 0 ] && cmp -s "$T/swant.txt" "$T/s.txt" && [ "$sup" = "$gone" ] && [ "$gone" -gt 0 ]; then
        echo "PASS incidents-mixed: suppress $name removes exactly its $gone findings; every other incident unchanged"
    else
        echo "FAIL incidents-mixed: suppress $name: want $gone removed, stats say '$sup'; differences (< want, > got):"
        diff "$T/swant.txt" "$T/s.txt" | grep '^[<>]' | head -6
    fi
}
field() { awk -F'\t' -v c="$1" -v k="$2" '$1 == c {print $k}' "$E"; }

# by rule and server: the version cause disappears
rule=$(field version 2) port=$(field version 4) gone=$(field version 6)
grep -v "^$rule|127.0.0.1|$port|" "$T/base.txt" > "$T/swant.txt"
suppress "by rule and server ($rule on :$port)" "suppress rule=$rule server=127.0.0.1:$port reason=\"TLS 1.2-only appliance, known\""

# by leaf certificate (any rule): the expired cause disappears
fp=$(field expired 8) port=$(field expired 4) gone=$(field expired 6)
grep -v "^[^|]*|127.0.0.1|$port|" "$T/base.txt" > "$T/swant.txt"
suppress "by leaf certificate (the expired one)" "suppress rule=* cert=sha256:$fp reason=\"decommissioned host\""

# by client network covering part of the name-mismatch cause's clients:
# its count drops by their connections, its clients by their number
rule=$(field name-mismatch 2) port=$(field name-mismatch 4)
net=$(awk -F'\t' '$1 == "name-mismatch" {split($2, a, "."); print a[1]"."a[2]"."a[3]; exit}' "$N")
gone=$(awk -F'\t' -v n="$net" '$1 == "name-mismatch" && $5 == 1 { split($2, a, "."); if (a[4] >= 128) c++ } END { print c + 0 }' "$N")
gcl=$(awk -F'\t' '$1 == "name-mismatch" && $5 == 1 { split($2, a, "."); if (a[4] >= 128) s[$2] = 1 } END { print length(s) }' "$N")
awk -F'|' -v r="$rule" -v p="$port" -v g="$gone" -v k="$gcl" 'BEGIN { OFS = "|" }
    $1 == r && $3 == p { $5 -= g; $6 -= k } { print }' "$T/base.txt" | sort > "$T/swant.txt"
total=$(field name-mismatch 6)
if [ "$gone" -gt 0 ] && [ "$gone" -lt "$total" ]; then
    suppress "by client network $net.128/25 ($gcl of $(field name-mismatch 7) clients of $rule)" \
        "suppress rule=$rule client=$net.128/25 reason=\"lab clients with a stale hosts file\""
else echo "FAIL incidents-mixed: the name-mismatch cause's clients are not split by $net.128/25 ($gone of $total connections)"; fi
t2=$(date +%s)
if [ $((t2 - t0)) -lt 60 ]; then echo "PASS incidents-mixed: generated and checked in $((t2 - t0)) s"
else echo "FAIL incidents-mixed: took $((t2 - t0)) s (limit 60)"; fi
