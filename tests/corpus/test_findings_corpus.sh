#!/bin/sh
# Every finding on every capture of the shared corpus against the reviewed list
# tests/corpus/findings_corpus.expected (see findings_corpus.py).
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
TLSWATCH=${TLSWATCH:-$TOP/build/rel/tlswatch}
export TOP TLSWATCH
if [ ! -f "$TOP/../shared/corpus/MANIFEST.tsv" ]; then
    echo "FAIL findings corpus: $TOP/../shared/corpus/MANIFEST.tsv not found"
    exit 1
fi
if [ ! -f /etc/ssl/certs/ca-certificates.crt ]; then
    echo "FAIL findings corpus: /etc/ssl/certs/ca-certificates.crt missing (scripts/deps.sh installs ca-certificates)"
    exit 1
fi
exec python3 "$TOP/tests/corpus/findings_corpus.py"
