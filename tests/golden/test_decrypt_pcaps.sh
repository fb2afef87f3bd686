#!/bin/sh
# Key-log decryption golden test: for captures of each decrypted suite family
# (pcaps/MANIFEST.md), read with their key log, every encrypted record of
# every handshake must be decrypted (client_decrypted == client_records,
# server_decrypted == server_records, no failure), with what only decryption
# shows: the TLS 1.3 certificate, the alert after the handshake, KeyUpdates.
# One line per tls event:
#   version|cipher|outcome|keys_found|all|decrypt_failures|key_updates|last alert after the handshake|server cert CN
# Then the same captures with a wrong key log: nothing is read, failures counted.
D="$TOP/tests/golden"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
proj='select(.event_type == "tls") | .tls | .encrypted as $e |
  [ .version, .cipher, .outcome, $e.keys_found,
    (if $e.client_decrypted == $e.client_records and $e.server_decrypted == $e.server_records
        and $e.client_records + $e.server_records > 0 then "all" else "\($e.client_decrypted)/\($e.client_records),\($e.server_decrypted)/\($e.server_records)" end),
    $e.decrypt_failures, $e.key_updates, (.alerts_after_handshake.last_description // "-"),
    (.server_cert.cn // "-") ] | map(tostring) | join("|")'
cat > "$T/expected" <<'EXP'
== tls12-ok
TLSv1.2|TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384|established|true|all|0|0|close_notify|server.example
== tls13-ok
TLSv1.3|TLS_AES_256_GCM_SHA384|established|true|all|0|0|close_notify|server.example
== weak-cipher
TLSv1.2|TLS_RSA_WITH_AES_128_CBC_SHA|established|true|all|0|0|close_notify|server.example
== tls10-obsolete
TLSv1.0|TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA|established|true|all|0|0|close_notify|server.example
== tls11-obsolete
TLSv1.1|TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA|established|true|all|0|0|close_notify|server.example
== tls12-cbc-reneg
TLSv1.2|TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256|established|true|all|0|0|-|server.example
TLSv1.2|TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256|renegotiated|true|all|0|0|-|-
== tls12-cbc-etm-reneg
TLSv1.2|TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384|established|true|all|0|0|-|server.example
TLSv1.2|TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384|renegotiated|true|all|0|0|-|-
== tls12-ccm8-reneg
TLSv1.2|TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8|established|true|all|0|0|-|server.example
TLSv1.2|TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8|renegotiated|true|all|0|0|-|-
== tls13-ccm
TLSv1.3|TLS_AES_128_CCM_SHA256|established|true|all|0|0|close_notify|server.example
== tls13-ccm8-keyupdate
TLSv1.3|TLS_AES_128_CCM_8_SHA256|established|true|all|0|3|close_notify|server.example
EXP
awk -v dir="$T" '/^== /{name=$2; f=dir "/" name ".exp"; printf "" > f; next} {print >> f}' "$T/expected"
for exp in "$T"/*.exp; do
    name=$(basename "$exp" .exp)
    "$TLSWATCH" -q --all --keylog "$TOP/pcaps/$name.keylog" -r "$TOP/pcaps/$name.pcap" 2>/dev/null | jq -r "$proj" > "$T/got"
    if cmp -s "$exp" "$T/got"; then
        echo "PASS decrypt $name: every record of $(wc -l < "$exp") handshake(s) read"
    else
        echo "FAIL decrypt $name:"
        diff "$exp" "$T/got" | head -10
    fi
    # a key log with the right client randoms and wrong secrets: the keys are
    # "found", nothing decrypts, and the failures are counted, not hidden
    awk '{ s = $3; c = substr(s, 1, 1); sub(/^./, c == "0" ? "1" : "0", s); print $1, $2, s }' \
        "$TOP/pcaps/$name.keylog" > "$T/wrong.keylog"
    w=$("$TLSWATCH" -q --all --keylog "$T/wrong.keylog" -r "$TOP/pcaps/$name.pcap" 2>/dev/null |
        jq -r 'select(.event_type == "tls") | .tls.encrypted | "\(.decrypted) \(.client_decrypted + .server_decrypted) \(.decrypt_failures > 0)"' | head -1)
    if [ "$w" = "false 0 true" ]; then echo "PASS decrypt $name with wrong secrets: nothing read, failures counted"
    else echo "FAIL decrypt $name with wrong secrets: $w"; fi
done
