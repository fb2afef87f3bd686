#!/bin/sh
# Findings golden test: for every capture in pcaps/ (generated and crafted),
# the sorted list of "rule:severity:confidence" findings tlswatch reports with
# the generated captures' trust anchor (--ca-file pcaps/test-ca.pem) and the
# shipped rules (rules/, default parameters) must equal findings_expected.txt.
#
# findings_expected.txt, one line per capture:
#   NAME: rule:severity:confidence ...   (sorted, repeated per handshake; "-" = none)
#   ~NAME: ...    compare the distinct findings only (how many renegotiations a
#                 real stack makes varies per run: tls12-reneg-storm)
#   # KNOWN-WRONG: ...  on the line(s) right before NAME: today's result is
#                 encoded, but it is not what a correct analyser reports
#                 (the comment says what is expected and why it differs)
#
# Also checked here:
#   - pcaps/test-ca.pem holds certificates only (no key), the test root only;
#   - clean established handshakes raise no critical/high finding;
#   - the rule each capture was made for (pcaps/MANIFEST.md) fires, unless the
#     expected file marks the capture KNOWN-WRONG;
#   - every rule id of --list-rules fires on some capture in pcaps/ (or on a
#     several-capture run listed in MULTI below), or on the
#     ../shared/corpus capture named for it in CORPUS_ONLY below; a rule
#     reached nowhere is a FAIL.
# Prints PASS/FAIL lines (tests/run.sh). Runs in a few seconds.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
TLSWATCH=${TLSWATCH:-$TOP/build/san/tlswatch}
D="$TOP/tests/golden"
P=${PCAPS:-$TOP/pcaps}   # PCAPS=DIR: check a fresh "make-pcaps.sh DIR" run
CA="$P/test-ca.pem"
EXP="$D/findings_expected.txt"
CORPUS=$(cd "$TOP/.." && pwd)/shared/corpus
export LC_ALL=C
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

run() {   # run CAPTURE [tlswatch options...]: findings as sorted rule:severity:confidence lines
    f=$1; shift
    "$TLSWATCH" -q --rules "$TOP/rules" "$@" -r "$f" 2>"$T/.err" |
        jq -r 'select(.event_type=="finding") | .finding | "\(.rule):\(.severity):\(.confidence)"' | sort
}

# ---------------------------------------------------------------- trust anchor
if [ ! -s "$CA" ]; then
    echo "FAIL test-ca.pem: $CA missing (make pcaps writes it)"
else
    ncert=$(grep -c 'BEGIN CERTIFICATE' "$CA")
    # every certificate in the file: subject, issuer
    # (only the PEM blocks: a partial make-pcaps run appends "# subject=" comment
    # lines between them, which must not reopen and truncate the previous file)
    awk '/BEGIN CERTIFICATE/{n++; f=sprintf("%s/.ca%02d.pem", dir, n); in_pem=1} in_pem{print > f} /END CERTIFICATE/{close(f); in_pem=0}' dir="$T" "$CA"
    bad=""
    for c in "$T"/.ca*.pem; do
        [ -f "$c" ] || continue
        s=$(openssl x509 -in "$c" -noout -subject -nameopt oneline 2>/dev/null)
        i=$(openssl x509 -in "$c" -noout -issuer -nameopt oneline 2>/dev/null)
        case "$s" in *"CN = tlswatch test root") [ "${i#issuer=}" = "${s#subject=}" ] || bad="$bad [$s not self-issued]" ;;
                     *) bad="$bad [$s]" ;; esac
    done
    if grep -q 'PRIVATE KEY' "$CA"; then
        echo "FAIL test-ca.pem contains a private key"
    elif [ "$ncert" -lt 1 ] || [ -n "$bad" ]; then
        echo "FAIL test-ca.pem: $ncert certificate(s); not the test root:$bad"
    else
        echo "PASS test-ca.pem: $ncert certificate(s), the test root only (no intermediate, no rogue/self-signed root, no key)"
    fi
fi

# ---------------------------------------------------------------- findings per capture
: > "$T/got"
for f in "$P"/*.pcap "$P"/*.pcapng; do
    [ -f "$f" ] || continue
    n=$(basename "$f")
    run "$f" --ca-file "$CA" > "$T/$n.f"
    rc=$?
    l=$(tr '\n' ' ' < "$T/$n.f" | sed 's/ $//')
    printf '%s: %s\n' "$n" "${l:--}" >> "$T/got"
    if [ -s "$T/.err" ] && grep -q 'ERROR: AddressSanitizer\|runtime error' "$T/.err"; then
        echo "FAIL findings $n: sanitizer report"; head -5 "$T/.err"
    fi
done

# several captures read in one run (-r A -r B): findings that need state across
# files. The certificate memory is keyed by server address, port and name:
# tls12-ok and self-signed serve server.example on different ports, so reading
# them together reports no certificate-changed (cert-changed.pcap does, on one port). Named A+B in findings_expected.txt; counted for rule coverage.
MULTI="tls12-ok.pcap+self-signed.pcap"
for m in $MULTI; do
    set --
    for n in $(printf '%s\n' "$m" | tr '+' ' '); do set -- "$@" -r "$P/$n"; done
    "$TLSWATCH" -q --rules "$TOP/rules" --ca-file "$CA" "$@" 2>"$T/.err" |
        jq -r 'select(.event_type=="finding") | .finding | "\(.rule):\(.severity):\(.confidence)"' | sort > "$T/$m.f"
    l=$(tr '\n' ' ' < "$T/$m.f" | sed 's/ $//')
    printf '%s: %s\n' "$m" "${l:--}" >> "$T/got"
    if [ -s "$T/.err" ] && grep -q 'ERROR: AddressSanitizer\|runtime error' "$T/.err"; then
        echo "FAIL findings $m: sanitizer report"; head -5 "$T/.err"
    fi
done

# expected: NAME|mode|list|known-wrong
awk '
    /^# KNOWN-WRONG:/ { kw = 1; next }
    /^#/ || /^[ \t]*$/ { next }
    {
        name = $1; sub(/:$/, "", name); mode = "exact"
        if (substr(name, 1, 1) == "~") { mode = "set"; name = substr(name, 2) }
        list = $0; sub(/^[^:]*:[ \t]*/, "", list)
        print name "|" mode "|" list "|" kw; kw = 0
    }' "$EXP" > "$T/exp"

seen=" "
while IFS='|' read -r name mode list kw; do
    seen="$seen$name "
    g=$(awk -v n="$name: " 'index($0, n) == 1 {print; exit}' "$T/got")
    if [ -z "$g" ]; then
        echo "FAIL findings $name: capture missing from pcaps/"
        continue
    fi
    g=${g#*: }
    if [ "$mode" = set ]; then
        gc=$(printf '%s\n' $g | sort -u | tr '\n' ' ' | sed 's/ $//')
        ec=$(printf '%s\n' $list | sort -u | tr '\n' ' ' | sed 's/ $//')
    else
        gc=$g; ec=$list
    fi
    note=""
    [ "$kw" = 1 ] && note=" (KNOWN-WRONG, see findings_expected.txt)"
    if [ "$gc" = "$ec" ]; then
        echo "PASS findings $name: $ec$note"
    else
        echo "FAIL findings $name: expected [$ec] got [$gc]$note"
    fi
done < "$T/exp"
while read -r line; do
    name=${line%%: *}
    case "$seen" in *" $name "*) ;; *) echo "FAIL findings $name: not in findings_expected.txt (got ${line#*: })" ;; esac
done < "$T/got"

# ---------------------------------------------------------------- clean handshakes
# established without a problem: no critical/high finding
CLEAN="tls12-ok.pcap tls12-ok.pcapng tls13-ok.pcap ipv6-tls13.pcap offload-checksums.pcap reused-4tuple.pcap
 midstream-with-ch.pcap tls12-resume-sessionid.pcap tls12-resume-ticket.pcap tls13-resume-psk.pcap tls13-0rtt.pcap
 tls13-hrr.pcap tls12-client-auth.pcap gnutls-tls13.pcap link-ether.pcap link-vlan.pcap link-qinq.pcap link-sll.pcap
 link-sll2.pcap link-null.pcap link-loop.pcap link-raw.pcap link-ipv4.pcap link-ipv6.pcap link-pppoe.pcap
 link-mpls.pcap link-vlan-ipv6.pcap link-ipfrag.pcap link-ipv6-ext.pcap tun-vxlan.pcap tun-geneve.pcap
 tun-gre-ip.pcap tun-gre-eth.pcap tun-erspan1.pcap tun-erspan2.pcap tun-erspan3.pcap tun-gtpu.pcap tun-cmd-sgt.pcap
 tun-ipip.pcap tun-4in6.pcap tun-6in4.pcap tun-ip6ip6.pcap tun-teredo.pcap tun-vxlan-in-gre.pcap tun-overlap.pcap
 tls13-ccm.pcap tls13-ccm8-keyupdate.pcap"
for n in $CLEAN; do
    [ -f "$T/$n.f" ] || { echo "FAIL clean $n: no result"; continue; }
    h=$(grep -E ':(critical|high):' "$T/$n.f" | tr '\n' ' ')
    if [ -z "$h" ]; then echo "PASS clean $n: no critical/high finding"; else echo "FAIL clean $n: $h"; fi
done

# ---------------------------------------------------------------- made for
# capture -> the rule it was made for (pcaps/MANIFEST.md "rule" column)
MADE_FOR="demo.pcap version-mismatch
truncated.pcap incomplete-capture
midstream-no-ch.pcap incomplete-capture
midstream-appdata.pcap incomplete-capture
one-direction.pcap incomplete-capture
one-direction-server.pcap incomplete-capture
tls13-group-mismatch.pcap group-mismatch
tls13-group-mismatch-x448.pcap group-mismatch
tls13-cipher-mismatch.pcap cipher-mismatch
tls12-client-cert-missing.pcap client-certificate-missing
tls13-client-cert-missing.pcap client-certificate-missing
tls12-reneg-accepted.pcap renegotiation-accepted
tls12-cbc-reneg.pcap renegotiation-accepted
tls12-cbc-etm-reneg.pcap renegotiation-accepted
tls12-ccm8-reneg.pcap renegotiation-accepted
tls12-reneg-rejected.pcap renegotiation-rejected
tls12-server-reneg.pcap server-requested-renegotiation
tls12-server-reneg.pcap renegotiation-accepted
tls12-server-reneg-refused.pcap renegotiation-rejected
tls12-server-reneg-refused.pcap server-requested-renegotiation
tls12-reneg-storm.pcap renegotiation-storm
tls12-insecure-reneg.pcap insecure-renegotiation
tls12-insecure-reneg.pcap renegotiation-accepted
version-mismatch.pcap version-mismatch
version-old-client.pcap version-mismatch
cipher-mismatch.pcap cipher-mismatch
tls10-obsolete.pcap obsolete-version
tls10-obsolete.pcap weak-cipher
tls11-obsolete.pcap obsolete-version
weak-cipher.pcap weak-cipher
unknown-ca.pcap certificate-unknown-ca
self-signed.pcap certificate-self-signed
expired-cert.pcap certificate-expired
expired-cert-accepted.pcap certificate-expired
not-yet-valid.pcap certificate-not-yet-valid
chain-incomplete.pcap certificate-chain-incomplete
hostname-mismatch.pcap certificate-hostname-mismatch
sni-unrecognized.pcap sni-unrecognized
sni-missing.pcap sni-missing
alpn-mismatch.pcap no-application-protocol
weak-rsa-1024.pcap certificate-weak
weak-rsa-1024-rejected.pcap certificate-weak
sha1-cert.pcap certificate-weak
abort-rst.pcap handshake-aborted
abort-fin.pcap handshake-aborted
timeout.pcap handshake-timeout
slow-server.pcap slow-handshake
not-tls-http.pcap not-tls
plaintext-to-tls.pcap not-tls
ovpn-client-cert-rejected.pcap handshake-aborted
ovpn-tls-crypt.pcap incomplete-capture
crafted-heartbleed.pcap heartbleed
crafted-sslv3-rc4.pcap obsolete-version
crafted-sslv3-rc4.pcap weak-cipher
crafted-tls12-3des.pcap weak-cipher
crafted-tls12-null.pcap weak-cipher
crafted-tls10-export.pcap weak-cipher
crafted-tls10-export.pcap obsolete-version
crafted-tls13-renegotiation.pcap renegotiation-in-tls13
crafted-tls12-hello-request-cleartext.pcap server-requested-renegotiation
anon-dh.pcap server-certificate-missing
anon-dh.pcap weak-cipher
client-clock-skew.pcap client-clock-skew
cert-revoked.pcap certificate-revoked
cert-changed.pcap certificate-changed
cert-changed.pcap certificate-rotated"
printf '%s\n' "$MADE_FOR" | while read -r n r; do
    if grep -q "^$r:" "$T/$n.f" 2>/dev/null; then
        echo "PASS made-for $n: $r fires"
    elif grep -q "^$n|.*|1$" "$T/exp"; then
        echo "PASS made-for $n: $r does not fire (KNOWN-WRONG in findings_expected.txt)"
    else
        echo "FAIL made-for $n: $r does not fire (got $(tr '\n' ' ' < "$T/$n.f" 2>/dev/null))"
    fi
done

# ---------------------------------------------------------------- rule coverage
# Rules no capture in pcaps/ reaches, and the ../shared/corpus capture where
# each fires (default trust store: the corpus certificates are real ones).
CORPUS_ONLY="certificate-unknown-ca arkime/pcap/badcurveball.pcap
certificate-expiring-soon flowtest/pcap/tls12.pcap"
cat "$T"/*.f | cut -d: -f1 | sort -u > "$T/fired"
"$TLSWATCH" --rules "$TOP/rules" --list-rules --format json | jq -r 'select(.id != null) | .id' > "$T/ids"
if [ ! -s "$T/ids" ]; then echo "FAIL coverage: --list-rules --format json listed no rule"; fi
# Rules that no file can reach: capture-loss needs a live capture's drop
# counts (tests/golden/test_capture_loss.sh makes the kernel drop packets).
LIVE_ONLY="capture-loss tests/golden/test_capture_loss.sh"
while read -r id; do
    lt=$(printf '%s\n' "$LIVE_ONLY" | awk -v id="$id" '$1 == id {print $2}')
    if [ -n "$lt" ]; then
        if grep -q "capture-loss" "$TOP/$lt"; then echo "PASS coverage $id: live only, fires in $lt"
        else echo "FAIL coverage $id: $lt does not test it"; fi
        continue
    fi
    if grep -qx "$id" "$T/fired"; then
        echo "PASS coverage $id: fires on pcaps/"
        continue
    fi
    cf=$(printf '%s\n' "$CORPUS_ONLY" | awk -v id="$id" '$1 == id {print $2}')
    if [ -z "$cf" ]; then
        echo "FAIL coverage $id: reached by no capture in pcaps/ and no corpus capture listed"
    elif [ ! -f "$CORPUS/$cf" ]; then
        echo "FAIL coverage $id: corpus capture ../shared/corpus/$cf missing"
    elif run "$CORPUS/$cf" | grep -q "^$id:"; then
        echo "PASS coverage $id: fires on ../shared/corpus/$cf only"
    else
        echo "FAIL coverage $id: does not fire on ../shared/corpus/$cf"
    fi
done < "$T/ids"
exit 0
