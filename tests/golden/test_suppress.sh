#!/bin/sh
# --suppress FILE: each entry removes exactly the findings it names (by
# rule, server, SNI glob, leaf certificate, client network), no other;
# expired entries remove nothing; for= reports the first of a repeated
# finding and drops the rest of the window; suppressed findings are counted
# (stats findings.suppressed), don't trigger --fail-on and don't make a tls
# event appear; errors are file:line and exit 2.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
set -- $(ls "$TOP"/pcaps/*.pcap)
args=""
for f in "$@"; do args="$args -r $f"; done
proj='select(.event_type=="finding") | [.src_ip, .src_port, .dest_ip, .dest_port, (.tls.sni // "-"), .finding.rule] | @tsv'
# the findings of every bundled capture, with the SNI of their tls event
run() { # run OUT [options]: findings (with the handshake's SNI and leaf) as TSV
    out=$1; shift
    "$TLSWATCH" -q $args "$@" > "$T/$out.json" 2> "$T/$out.err"
    echo $? > "$T/$out.rc"
    jq -r 'if .event_type=="tls" then "T\t\(.src_port)\t\(.dest_port)\t\(.tls.sni // "-")\t\(.tls.server_cert.sha256 // "-")"
           elif .event_type=="finding" then "F\t\(.src_port)\t\(.dest_port)\t\(.finding.rule)\t\(.timestamp)" else empty end' \
        "$T/$out.json" | awk -F'\t' '$1=="T"{sni[$2" "$3]=$4; cert[$2" "$3]=$5; next}
                                    {print $2"\t"$3"\t"sni[$2" "$3]"\t"cert[$2" "$3]"\t"$4"\t"$5}' | sort > "$T/$out.txt"
}
run base
nb=$(wc -l < "$T/base.txt")
if [ "$nb" -ge 100 ]; then echo "PASS suppress: baseline: $nb findings over $# captures"
else echo "FAIL suppress: baseline has $nb findings"; fi

# check NAME ENTRY AWK-CONDITION: the entry drops exactly the baseline lines
# the condition selects ($1 client port, $2 server port, $3 SNI, $4 leaf, $5 rule)
check() {
    name=$1 entry=$2 cond=$3
    printf '# %s\n%s\n' "$name" "$entry" > "$T/s.conf"
    run s --suppress "$T/s.conf"
    awk -F'\t' "!($cond)" "$T/base.txt" > "$T/want.txt"
    gone=$(($(wc -l < "$T/base.txt") - $(wc -l < "$T/want.txt")))
    sup=$(jq -r 'select(.event_type=="stats") | .stats.findings.suppressed' "$T/s.json" | tail -1)
    if [ "$gone" -gt 0 ] && cmp -s "$T/want.txt" "$T/s.txt" && [ "$sup" = "$gone" ]; then
        echo "PASS suppress: $name removes exactly its $gone findings (counted in stats)"
    else
        echo "FAIL suppress: $name: want $gone removed, stats say '$sup'; differences:"; diff "$T/want.txt" "$T/s.txt" | head -5
    fi
}
check "by rule" 'suppress rule=certificate-unknown-ca reason="test CA not installed"' '$5=="certificate-unknown-ca"'
check "by server and port" 'suppress rule=* server=127.0.0.1:4460 reason="lab"' '$2=="4460"'
check "by rule and SNI glob" 'suppress rule=certificate-unknown-ca sni=*.EXAMPLE reason="internal names"' '$5=="certificate-unknown-ca" && $3 ~ /\.example$/'
leaf=$(awk -F'\t' '$5=="certificate-unknown-ca" && $4!="-" {print $4; exit}' "$T/base.txt")
check "by leaf certificate" "suppress rule=* cert=sha256:$leaf reason=\"known lab cert\"" "\$4==\"$leaf\""
check "by client network" 'suppress rule=weak-cipher client=127.0.0.0/8 reason="legacy clients"' '$5=="weak-cipher"'

# entries that match nothing remove nothing
printf '%s\n' 'suppress rule=* client=10.0.0.0/8 reason="other net"' \
    'suppress rule=certificate-unknown-ca until=2020-01-31 reason="expired entry"' \
    'suppress rule=* server=[::1]:1 reason="v6"' > "$T/s.conf"
run s --suppress "$T/s.conf"
if cmp -s "$T/base.txt" "$T/s.txt"; then echo "PASS suppress: another network, an expired entry, another server: nothing removed"
else echo "FAIL suppress: non-matching entries removed findings"; diff "$T/base.txt" "$T/s.txt" | head -5; fi

# for=: a capture whose one server repeats a finding (4 accepted
# renegotiations); with for=1h the first stays, the repeats go
R="$TOP/pcaps/tls12-reneg-storm.pcap"
a=$("$TLSWATCH" -q -r "$R" | grep -c '"rule":"renegotiation-accepted"')
printf 'suppress rule=renegotiation-accepted server=127.0.0.1 for=1h reason="known, once an hour"\n' > "$T/s.conf"
b=$("$TLSWATCH" -q -r "$R" --suppress "$T/s.conf" | grep -c '"rule":"renegotiation-accepted"')
if [ "$a" -ge 2 ] && [ "$b" = 1 ]; then echo "PASS suppress: for=1h reports the first of $a identical findings, drops the rest"
else echo "FAIL suppress: for=: $a findings without, $b with"; fi
P="$TOP/pcaps/version-mismatch.pcap"

# --fail-on ignores what is suppressed; the tls event goes when its only finding does
"$TLSWATCH" -q -r "$P" --fail-on high > /dev/null; r1=$?
printf 'suppress rule=version-mismatch reason="x"\n' > "$T/s.conf"
n=$("$TLSWATCH" -q -r "$P" --fail-on high --suppress "$T/s.conf" | grep -c '"event_type":"tls"'); r2=$?
"$TLSWATCH" -q -r "$P" --fail-on high --suppress "$T/s.conf" > /dev/null; r2=$?
if [ "$r1" = 3 ] && [ "$r2" = 0 ] && [ "$n" = 0 ]; then echo "PASS suppress: a suppressed finding neither fails --fail-on nor brings its tls event"
else echo "FAIL suppress: --fail-on exit $r1 then $r2, $n tls events"; fi

# errors: file:line, exit 2
bad() { # bad TEXT EXPECTED-SUBSTRING
    printf '# ok\n%s\n' "$1" > "$T/bad.conf"
    e=$("$TLSWATCH" -q -r "$P" --suppress "$T/bad.conf" 2>&1 >/dev/null); rc=$?
    case "$e" in *"bad.conf:2: "*"$2"*) [ "$rc" = 2 ] && { echo "PASS suppress: error '$2' at file:line, exit 2"; return; } ;; esac
    echo "FAIL suppress: '$1' gave exit $rc: $e"
}
bad 'suppress rule=handshake-timeout' 'reason= is required'
bad 'suppress server=10.0.0.1 reason="x"' 'rule= is required'
bad 'suppress rule=* until=2027-13-01 reason="x"' 'until='
bad 'suppress rule=* colour=blue reason="x"' 'unknown key'
bad 'suppress rule=* reason="unterminated' 'closing quote'
bad 'suppress rule=* cert=abcd reason="x"' 'cert='
bad 'allow rule=* reason="x"' "expected 'suppress"
