#!/bin/sh
# Every capture of ../shared/corpus: the TCP connections tlswatch finds
# (endpoints and packet count per connection) must equal tshark's
# "-z conv,tcp". Exceptions, with their reasons, are in
# conv_vs_tshark.expected; an exception that no longer differs fails too.
. "$(dirname "$0")/conv_lib.sh"
CORPUS="$TOP/../shared/corpus"
EXPECTED="$TOP/tests/corpus/conv_vs_tshark.expected"
if [ ! -f "$CORPUS/MANIFEST.tsv" ]; then
    echo "FAIL shared corpus not found at $CORPUS"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# both passes over every capture first, two processes at a time (2 cores),
# into $tmp/N.a (tshark) and $tmp/N.b (tlswatch); then compared in order
LIB="$(cd "$(dirname "$0")" && pwd)/conv_lib.sh"
tail -n +2 "$CORPUS/MANIFEST.tsv" | cut -f1 | awk -v c="$CORPUS" -v t="$tmp" '
    { printf "tshark_convs\t%s/%s\t%s/%d.a\n", c, $0, t, NR; printf "tlswatch_convs\t%s/%s\t%s/%d.b\n", c, $0, t, NR }' |
    tr '\t' '\n' | xargs -d '\n' -n 3 -P 2 sh -c '. "$0"; "$1" "$2" > "$3"' "$LIB"
i=0
tail -n +2 "$CORPUS/MANIFEST.tsv" | cut -f1 | while read -r f; do
    i=$((i + 1))
    mv "$tmp/$i.a" "$tmp/a" 2>/dev/null || : > "$tmp/a"
    mv "$tmp/$i.b" "$tmp/b" 2>/dev/null || : > "$tmp/b"
    n=$(wc -l < "$tmp/a")
    exc=$(awk -F'\t' -v f="$f" '$1 == f { print $2 }' "$EXPECTED" 2>/dev/null)
    if cmp -s "$tmp/a" "$tmp/b"; then
        if [ -n "$exc" ]; then echo "FAIL conv $f: listed as exception but now agrees with tshark"
        else echo "PASS conv $f: $n connections"; fi
    elif [ -n "$exc" ]; then
        echo "PASS conv $f: known difference: $exc"
    else
        echo "FAIL conv $f: differs from tshark:"
        diff "$tmp/a" "$tmp/b" | head -10
    fi
done
