#!/bin/sh
# Differential test: libdissect vs tshark on every TCP capture of the shared
# corpus. For each capture, tests/tools/dissect_dump prints both views
# (record types/versions/lengths, cleartext handshake types and versions,
# ciphers, SNI, ALPN, cleartext alerts, certificate hashes) per connection
# and direction; every (stream, direction, key) where they differ is a
# disagreement. Known disagreements are listed with their explanation in
# dissect_vs_tshark.expected; a capture PASSes when its disagreements are
# exactly the expected ones. tshark output is cached under build/.
# Usage: sh tests/corpus/test_dissect_vs_tshark.sh [--update]
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$TOP/build/san}
# tshark, the corpus and the expected file are part of make check
# (scripts/deps.sh --test installs tshark): a missing one is a FAIL.
CORPUS=${TLSWATCH_CORPUS:-$TOP/../shared/corpus}
DUMP=$BUILD/tools/dissect_dump
EXPECTED=${DISSECT_EXPECTED:-$TOP/tests/corpus/dissect_vs_tshark.expected}
CACHE=$TOP/build/tshark-cache
# A private work directory: runs against other build directories at the same
# time must not share "actual" (--update keeps it in build/ for review).
if [ "${1:-}" = --update ]; then
    WORK=$TOP/build/dissect-vs-tshark
else
    mkdir -p "$TOP/build"
    WORK=$(mktemp -d "$TOP/build/dissect-vs-tshark.XXXXXX") || { echo "FAIL dissect_vs_tshark: mktemp"; exit 1; }
    trap 'rm -rf "$WORK"' EXIT
fi
command -v tshark >/dev/null 2>&1 || { echo "FAIL dissect_vs_tshark: tshark not found (scripts/deps.sh --test installs it)"; exit 1; }
[ -x "$DUMP" ] || { echo "FAIL dissect_vs_tshark: $DUMP not built"; exit 1; }
[ -f "$CORPUS/TLS_FACTS.tsv" ] || { echo "FAIL dissect_vs_tshark: shared corpus not found ($CORPUS/TLS_FACTS.tsv)"; exit 1; }
[ -f "$EXPECTED" ] || { echo "FAIL dissect_vs_tshark: $EXPECTED missing"; exit 1; }
mkdir -p "$WORK"
: > "$WORK/actual"
tail -n +2 "$CORPUS/TLS_FACTS.tsv" | while IFS='	' read -r file streams rest; do
    case "$file" in *dtls*|*DTLS*|*quic*|*QUIC*) continue ;; esac
    [ "$streams" = 0 ] && continue
    name=$(echo "$file" | tr '/' '_')
    sh "$TOP/tests/corpus/dissect_fields.sh" "$CORPUS/$file" "$CACHE" | "$DUMP" > "$WORK/$name.out" 2> "$WORK/$name.err"
    rc=$?
    [ $rc -ne 0 ] && echo "$file	-	-	crash	exit $rc" >> "$WORK/actual"
    # one line per disagreeing (stream, dir, key)
    awk -v f="$file" '
        $1 == "D" || $1 == "T" { k = $2 " " $3 " " $4; v[$1, k] = $5; keys[k] = 1 }
        END { for (k in keys) if (v["D", k] != v["T", k]) { split(k, a, " "); print f "\t" a[1] "\t" a[2] "\t" a[3] } }
    ' "$WORK/$name.out" | sort >> "$WORK/actual"
done
sort -o "$WORK/actual" "$WORK/actual"
grep -v '^#' "$EXPECTED" 2>/dev/null | cut -f1-4 | grep . | sort > "$WORK/expected"
if [ "${1:-}" = --update ]; then
    cp "$WORK/actual" "$WORK/actual.keys"
    echo "disagreements written to $WORK/actual; explain them in $EXPECTED"
fi
ncap=$(tail -n +2 "$CORPUS/TLS_FACTS.tsv" | cut -f1,2 | grep -Eicv 'dtls|quic|	0$')
[ "$ncap" -gt 0 ] || { echo "FAIL dissect_vs_tshark: no TCP capture listed in $CORPUS/TLS_FACTS.tsv"; exit 1; }
tail -n +2 "$CORPUS/TLS_FACTS.tsv" | cut -f1,2 | while IFS='	' read -r file streams; do
    case "$file" in *dtls*|*DTLS*|*quic*|*QUIC*) continue ;; esac
    [ "$streams" = 0 ] && continue
    a=$(grep -F "$file	" "$WORK/actual" | cut -f1-4)
    e=$(grep -F "$file	" "$WORK/expected")
    if [ "$a" = "$e" ]; then
        n=$(printf '%s' "$a" | grep -c .)
        echo "PASS dissect_vs_tshark $file ($n known disagreements)"
    else
        echo "FAIL dissect_vs_tshark $file"
        printf '%s\n' "$a" > "$WORK/a.tmp"
        printf '%s\n' "$e" > "$WORK/e.tmp"
        diff "$WORK/e.tmp" "$WORK/a.tmp" | grep '^[<>]' | sed 's/^</  expected but agreeing now:/; s/^>/  new disagreement:/' | head -5
    fi
done
