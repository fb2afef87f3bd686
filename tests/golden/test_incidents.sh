#!/bin/sh
# --incidents / --summary over every bundled capture: findings grouped into
# one incident per rule, server, SNI and evidence (leaf certificate for
# certificate rules, offered version + alert for protocol rules, alert for
# alert rules). The grouping is recomputed here from the finding and tls
# lines (jq) and must give the same incidents with the same counts; a
# repeated cause is one incident with its count and "updated" events; a
# changed certificate is a second cause; suppressed findings make no
# incident; the summary ranks them (critical first).
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
args=""
for f in "$TOP"/pcaps/*.pcap; do args="$args -r $f"; done
"$TLSWATCH" -q $args --incidents --incident-quiet 2592000 --summary > "$T/all.json" 2> "$T/all.err"
# the expected groups: each finding with the tls event written just before it
jq -rs '
  reduce .[] as $e ({tls: null, out: []};
    if $e.event_type == "tls" then .tls = $e
    elif $e.event_type == "finding" and ($e | has("src_ip")) then
      .tls as $t |
      ($t.tls.last_alert.code // -1) as $alert |
      (if $e.finding.category == "certificates" then
         (if $t.tls.server_cert.sha256 then "cert:" + $t.tls.server_cert.sha256
          elif $alert >= 0 then "alert:\($alert)" else "cert:unseen" end)
       elif $e.finding.category == "protocol" then "offered:\($t.tls.client_max_version_code // -1)/alert:\($alert)"
       elif $e.finding.category == "alerts" then "alert:\($alert)"
       else "-" end) as $ev |
      .out += ["\($e.finding.rule)|\($e.dest_ip)|\($e.dest_port)|\($t.tls.sni // "")|\($ev)"]
    else . end) | .out[]' "$T/all.json" | sort | uniq -c | awk '{print $2" "$1}' | sort > "$T/want.txt"
jq -r 'select(.event_type=="incident" and .incident.state=="closed") | .incident |
       "\(.rule)|\(.server_ip)|\(.server_port)|\(.sni // "")|\(.evidence_key) \(.count)"' "$T/all.json" | sort > "$T/got.txt"
n=$(wc -l < "$T/want.txt")
if [ "$n" -ge 50 ] && cmp -s "$T/want.txt" "$T/got.txt"; then
    echo "PASS incidents: $n incidents over every bundled capture, each with the count of its findings"
else echo "FAIL incidents: $n expected groups; differences:"; diff "$T/want.txt" "$T/got.txt" | head -8; fi
o=$(grep -c '"state":"opened"' "$T/all.json"); c=$(grep -c '"state":"closed"' "$T/all.json")
if [ "$o" = "$c" ] && [ "$o" = "$n" ]; then echo "PASS incidents: every incident opened once and closed once ($o)"
else echo "FAIL incidents: $o opened, $c closed, $n expected"; fi
s=$(grep -c '^ *[0-9]*\. ' "$T/all.err"); first=$(grep -m1 '^ *1\. ' "$T/all.err" | awk '{print $2}')
if [ "$s" = "$n" ] && [ "$first" = critical ]; then echo "PASS incidents: --summary ranks $s incidents, critical first"
else echo "FAIL incidents: summary has $s lines (want $n), first '$first'"; fi

# one cause repeated: 4 accepted renegotiations from one client, 1 s apart
R="$TOP/pcaps/tls12-reneg-storm.pcap"
r=$("$TLSWATCH" -q -r "$R" --incidents --incident-update 1 | jq -r 'select(.event_type=="incident" and .incident.rule=="renegotiation-accepted") | .incident | "\(.state):\(.count):\(.clients)"' | tr '\n' ' ')
if [ "$r" = "opened:1:1 updated:2:1 updated:3:1 updated:4:1 closed:4:1 " ]; then
    echo "PASS incidents: a repeated cause is one incident, updated as it grows ($r)"
else echo "FAIL incidents: repeated cause: '$r'"; fi
r=$("$TLSWATCH" -q -r "$R" --incidents | jq -r 'select(.event_type=="incident" and .incident.rule=="renegotiation-accepted") | .incident.state' | tr '\n' ' ')
if [ "$r" = "opened updated closed " ]; then echo "PASS incidents: with the default 60 s, one update before the close"
else echo "FAIL incidents: default update interval: '$r'"; fi

# a server that changed certificates: each certificate its own cause
C="$TOP/pcaps/cert-changed.pcap"
k=$("$TLSWATCH" -q -r "$C" --incidents | jq -r 'select(.event_type=="incident" and .incident.state=="opened" and .incident.rule=="certificate-unknown-ca") | .incident.evidence_key' | sort -u | wc -l)
if [ "$k" = 2 ]; then echo "PASS incidents: two certificates on one server are two incidents"
else echo "FAIL incidents: cert-changed: $k certificate-unknown-ca incidents"; fi

# suppressed findings make no incident
printf 'suppress rule=renegotiation-accepted reason="known"\n' > "$T/s.conf"
k=$("$TLSWATCH" -q -r "$R" --incidents --suppress "$T/s.conf" | grep -c '"rule":"renegotiation-accepted"')
if [ "$k" = 0 ]; then echo "PASS incidents: a suppressed finding makes no incident"
else echo "FAIL incidents: $k lines about a suppressed rule"; fi
# a quiet period closes an incident and a new finding opens another
k=$("$TLSWATCH" -q -r "$R" --incidents --incident-quiet 1 | jq -r 'select(.event_type=="incident" and .incident.rule=="renegotiation-accepted") | .incident.state' | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' ')
if [ "$k" = "closed=4 opened=4 " ]; then echo "PASS incidents: --incident-quiet 1 closes each before the next (1 s apart): $k"
else echo "FAIL incidents: quiet 1: '$k'"; fi
