#!/bin/sh
# Builds every tests/fuzz/fuzz_*.c with clang -fsanitize=fuzzer,address,undefined
# (libdissect and the src/ objects except main.c, so the pipeline and session
# targets run the real program) and runs each for SECONDS (two at a time).
# Seeds: the committed corpus plus, when available, seeds generated from the
# shared captures: make-seeds.sh for the libdissect targets, the shared
# captures under 200 KB used in place for fuzz_pipeline (symlinks in
# build/fuzz/seeds-pipeline) plus pcaps/ and the mixed-link-type pcapng
# files of tests/gen/mkpcapng.py, and session programs cut from those
# captures for fuzz_session (seeds-from-pcaps.py --session).
# New interesting inputs go to build/fuzz/corpus/<entry>; crashes to
# tests/fuzz/findings/ (gitignored) — minimise them and add to corpus/<entry>.
# Each run's log (libFuzzer final stats, /usr/bin/time -v rusage) is
# build/fuzz/fuzz_<entry>.log.
# Usage: tests/fuzz/run-fuzz.sh SECONDS [ENTRY...]
set -eu
SECONDS_PER=${1:-60}
shift || true
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
OUT=build/fuzz
CORPUS=${TLSWATCH_CORPUS:-$TOP/../shared/corpus}
[ -d "$CORPUS" ] || CORPUS=/work/shared/corpus
mkdir -p "$OUT/obj" "$OUT/srcobj" tests/fuzz/findings
DEFS="-D_DEFAULT_SOURCE -D_GNU_SOURCE -DTLSWATCH_RULES_DIR='\"/nonexistent\"' -DTLSWATCH_SOURCE_RULES_DIR='\"$TOP/rules\"'"
GLIB_CFLAGS=$(pkg-config --cflags glib-2.0 2>/dev/null || true)
GLIB_LIBS=$(pkg-config --libs gthread-2.0 2>/dev/null || true)
CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -std=c11 $DEFS -Idissectors -Isrc"
LIBS="-lnids -lnet -lpcap $GLIB_LIBS -lssl -lcrypto -lz -lm -ldl"
for c in dissectors/*.c; do
    eval clang $CFLAGS -c "$c" -o "$OUT/obj/$(basename "$c" .c).o"
done
for c in src/*.c tests/lib/*.c; do
    [ "$c" = src/main.c ] && continue
    eval clang $CFLAGS $GLIB_CFLAGS -c "$c" -o "$OUT/srcobj/$(basename "$c" .c).o"
done
ENTRIES=${*:-$(for f in tests/fuzz/fuzz_*.c; do b=$(basename "$f" .c); echo "${b#fuzz_}"; done)}
SEEDS=build/seeds
[ -d "$SEEDS" ] || sh tests/fuzz/make-seeds.sh "$SEEDS" >/dev/null 2>&1 || true
for e in $ENTRIES; do
    eval clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=c11 \
        $DEFS -Idissectors -Isrc -Itests/fuzz -Itests/lib -o "$OUT/fuzz_$e" "tests/fuzz/fuzz_$e.c" \
        "$OUT"/obj/*.o "$OUT"/srcobj/*.o $LIBS
done
# Shared captures under 200 KB (not DTLS), for the pipeline and session targets.
small_captures() {
    [ -f "$CORPUS/MANIFEST.tsv" ] || return 0
    tail -n +2 "$CORPUS/MANIFEST.tsv" | awk -F'\t' '$6 < 200000 { print $1 }' |
        grep -vi dtls | while read -r f; do [ -f "$CORPUS/$f" ] && echo "$CORPUS/$f"; done
}
case " $ENTRIES " in *" pipeline "*)
    if [ ! -d "$OUT/seeds-pipeline" ]; then
        mkdir -p "$OUT/seeds-pipeline"
        small_captures | while read -r f; do
            ln -sf "$f" "$OUT/seeds-pipeline/$(echo "${f#"$CORPUS"/}" | tr '/' '_')"
        done
    fi
    # mixed-link-type pcapng files (tests/gen/mkpcapng.py), for src/pcapng.c
    if [ ! -f "$OUT/seeds-pipeline/ng-mixed.pcapng" ] && mkdir -p "$OUT/ng" &&
        /usr/bin/python3 tests/gen/mkpcapng.py "$OUT/ng" pcaps >/dev/null 2>&1; then
        for f in mixed cut badlen; do cp "$OUT/ng/$f.pcapng" "$OUT/seeds-pipeline/ng-$f.pcapng"; done
    fi ;;
esac
case " $ENTRIES " in *" session "*)
    if [ ! -d "$OUT/seeds-session" ]; then
        # shellcheck disable=SC2046
        python3 tests/fuzz/seeds-from-pcaps.py --session "$OUT/seeds-session" $(small_captures) \
            >/dev/null 2>&1 || true
    fi ;;
esac
run_one() {
    e=$1
    mkdir -p "$OUT/corpus/$e"
    set -- "$OUT/corpus/$e" "tests/fuzz/corpus/$e"
    rss=2048 maxlen=70000
    case "$e" in
    pipeline) rss=512 maxlen=262144; set -- "$@" pcaps "$OUT/seeds-pipeline" ;;
    pcapng) maxlen=400000; mkdir -p "$OUT/ng"; /usr/bin/python3 tests/gen/mkpcapng.py "$OUT/ng" pcaps >/dev/null 2>&1 || true
        set -- "$@" "$OUT/ng" ;;
    session) rss=512 maxlen=65536; [ -d "$OUT/seeds-session" ] && set -- "$@" "$OUT/seeds-session" ;;
    *) [ -d "$SEEDS/$e" ] && set -- "$@" "$SEEDS/$e" ;;
    esac
    rc=0
    # a smaller ASan quarantine keeps the src/ targets (libnids, 170 KB
    # session buffers per connection) under -rss_limit_mb=512
    ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64} nice /usr/bin/time -v "$OUT/fuzz_$e" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=$rss \
        -max_len=$maxlen -artifact_prefix="tests/fuzz/findings/$e-" -print_final_stats=1 "$@" \
        > "$OUT/fuzz_$e.log" 2>&1 || rc=$?
    echo "fuzz_$e: exit $rc, $(grep -E 'stat::number_of_executed_units' "$OUT/fuzz_$e.log" | awk '{print $2}') execs," \
        "$(grep -E 'Elapsed \(wall' "$OUT/fuzz_$e.log" | awk '{print $NF}') wall," \
        "$(grep -E 'User time|System time' "$OUT/fuzz_$e.log" | awk '{s += $NF} END {print s}') s CPU," \
        "$(grep -E '^#[0-9]+' "$OUT/fuzz_$e.log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+')"
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
