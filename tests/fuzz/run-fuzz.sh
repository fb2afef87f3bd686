#!/bin/sh
# Builds every tests/fuzz/fuzz_*.c with clang -fsanitize=fuzzer,address,undefined
# and runs each for SECONDS (two at a time). Seeds: the committed corpus plus
# seeds generated from the shared captures (make-seeds.sh) when available.
# New interesting inputs go to build/fuzz/corpus/<entry>; crashes to
# tests/fuzz/findings/ (gitignored) — minimise them and add to corpus/<entry>.
# Usage: tests/fuzz/run-fuzz.sh SECONDS [ENTRY...]
set -eu
SECONDS_PER=${1:-60}
shift || true
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
OUT=build/fuzz
mkdir -p "$OUT/obj" tests/fuzz/findings
CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -Idissectors"
for c in dissectors/*.c; do
    clang $CFLAGS -c "$c" -o "$OUT/obj/$(basename "$c" .c).o"
done
ENTRIES=${*:-$(for f in tests/fuzz/fuzz_*.c; do b=$(basename "$f" .c); echo "${b#fuzz_}"; done)}
SEEDS=build/seeds
[ -d "$SEEDS" ] || sh tests/fuzz/make-seeds.sh "$SEEDS" >/dev/null 2>&1 || true
for e in $ENTRIES; do
    clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=c11 \
        -D_DEFAULT_SOURCE -D_GNU_SOURCE -Idissectors -o "$OUT/fuzz_$e" "tests/fuzz/fuzz_$e.c" \
        "$OUT"/obj/*.o -lssl -lcrypto
done
run_one() {
    e=$1
    mkdir -p "$OUT/corpus/$e"
    set -- "$OUT/corpus/$e" "tests/fuzz/corpus/$e"
    [ -d "$SEEDS/$e" ] && set -- "$@" "$SEEDS/$e"
    "$OUT/fuzz_$e" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 -max_len=70000 \
        -artifact_prefix="tests/fuzz/findings/$e-" -print_final_stats=1 "$@" \
        > "$OUT/fuzz_$e.log" 2>&1
    rc=$?
    echo "fuzz_$e: exit $rc, $(grep -E 'stat::number_of_executed_units' "$OUT/fuzz_$e.log" | awk '{print $2}') execs"
    return $rc
}
status=0
set -- $ENTRIES
while [ $# -gt 0 ]; do
    a=$1; shift
    if [ $# -gt 0 ]; then
        b=$1; shift
        run_one "$a" & pa=$!
        run_one "$b" & pb=$!
        wait $pa || status=1
        wait $pb || status=1
    else
        run_one "$a" || status=1
    fi
done
ls tests/fuzz/findings/ 2>/dev/null | head
exit $status
