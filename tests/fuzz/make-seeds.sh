#!/bin/sh
# Generates fuzz seeds from the shared captures (never committed): for every
# TCP capture in MANIFEST.tsv, tshark dumps the TCP payloads and
# build/<variant>/tools/dissect_dump --seeds cuts them into per-entry seeds
# (direction streams, handshake messages, hello bodies, certificate DER).
# Usage: tests/fuzz/make-seeds.sh OUTDIR [BUILD]
set -eu
OUTDIR=${1:?outdir}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${2:-$TOP/build/san}
CORPUS=${TLSWATCH_CORPUS:-$TOP/../shared/corpus}
[ -d "$CORPUS" ] || CORPUS=/work/shared/corpus
DUMP=$BUILD/tools/dissect_dump
[ -x "$DUMP" ] || DUMP=$TOP/build/rel/tools/dissect_dump
[ -x "$DUMP" ] || { echo "make-seeds: no dissect_dump built" >&2; exit 1; }
mkdir -p "$OUTDIR"
tail -n +2 "$CORPUS/MANIFEST.tsv" | cut -f1 | while read -r f; do
    case "$f" in *dtls*|*DTLS*) continue ;; esac
    sh "$TOP/tests/corpus/dissect_fields.sh" "$CORPUS/$f" "$TOP/build/tshark-cache" |
        "$DUMP" --seeds "$OUTDIR" --name "$(echo "$f" | tr '/' '_')" >/dev/null 2>&1 || true
done
for d in "$OUTDIR"/*; do echo "$(basename "$d"): $(ls "$d" | wc -l) seeds"; done
