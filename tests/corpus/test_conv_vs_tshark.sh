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
tail -n +2 "$CORPUS/MANIFEST.tsv" | cut -f1 | while read -r f; do
    p="$CORPUS/$f"
    tshark_convs "$p" > "$tmp/a"
    tlswatch_convs "$p" > "$tmp/b"
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
