#!/bin/sh
# Fingerprints on the bundled captures (pcaps/): every tls event whose
# ClientHello was read carries a ja3 (32 hex digits), a ja3_string and a
# ja4 (JA4's shape); every ServerHello read gives a ja3s; and ja3/ja3s
# equal tshark's on every hello of every capture (tests/corpus/
# fingerprints_vs_tshark.py --pcaps; differences with a reason in
# tests/corpus/fingerprints.expected). A handshake without a ClientHello
# read (mid-stream, inherited by an encrypted renegotiation) has none.
for f in "$TOP"/pcaps/*.pcap; do
    name=$(basename "$f" .pcap)
    r=$("$TLSWATCH" -q --all -r "$f" 2>/dev/null | jq -r 'select(.event_type=="tls") | .tls |
        (((.client_version != null) and (.client_version != "SSLv2") and ((.renegotiation.inherited_negotiation // false) | not)) as $ch |
         ((.server_hello_seen // false) and (.version != "SSLv2") and ((.renegotiation.inherited_negotiation // false) | not)) as $sh |
         if $ch and ((.ja3 // "" | test("^[0-9a-f]{32}$")) | not) then "no ja3"
         elif $ch and ((.ja4 // "" | test("^t(1[0-3]|s[23]|00)[di][0-9]{4}[0-9A-Za-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$")) | not) then "no ja4 (\(.ja4))"
         elif $ch and (.ja3_string == null) then "no ja3_string"
         elif $sh and ((.ja3s // "" | test("^[0-9a-f]{32}$")) | not) then "no ja3s"
         elif ($ch | not) and (.ja3 != null or .ja4 != null) then "ja3/ja4 without a ClientHello"
         else "ok" end)')
    ok=$(printf '%s\n' "$r" | grep -c '^ok$')
    bad=$(printf '%s\n' "$r" | grep -v '^ok$' | grep . | sort | uniq -c | tr -s ' ' | tr '\n' ';')
    if [ -z "$bad" ]; then echo "PASS fingerprints $name: $ok handshake(s) with their fingerprints"
    else echo "FAIL fingerprints $name: $bad ($ok fine)"; fi
done
# rules read the fingerprints like any string field (threat-intel lists)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ja3=$("$TLSWATCH" -q --all -r "$TOP/pcaps/demo.pcap" | jq -r 'select(.event_type=="tls") | .tls.ja3' | head -1)
cat > "$T/watch.rules" <<RULES
rule ja3-watch {
  severity: info
  category: protocol
  summary: "A ClientHello whose JA3 is on a watch list."
  when: ja3 in ["$ja3"] and ja4 != null
  confidence: exact
  fix_side: client
  message: "JA3 {ja3} JA4 {ja4}"
  evidence: "{ja3_string}"
  advice: "Look the client up."
}
RULES
m=$("$TLSWATCH" -q --rules "$T/watch.rules" -r "$TOP/pcaps/demo.pcap" | jq -r 'select(.event_type=="finding") | .finding.message')
case "$m" in "JA3 $ja3 JA4 t13d"*) echo "PASS a rule matches ja3 from a list and formats ja4 in its message" ;;
             *) echo "FAIL rule on ja3: [$m] (ja3 $ja3)" ;; esac
python3 "$TOP/tests/corpus/fingerprints_vs_tshark.py" --pcaps "$TOP/pcaps"
