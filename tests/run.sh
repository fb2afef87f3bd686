#!/bin/sh
# Runs every test and prints one closing line "N passed, N failed" (with
# ", N skipped" appended when any test skipped something).
# A test is either a unit binary build/<variant>/tests/test_* or replay_*,
# or a script tests/*/test_*.sh. Each prints one line per assertion starting
# with "PASS " or "FAIL ", or "SKIP " for a check it could not run (shown and
# counted, never as a pass). A test that exits non-zero without printing a
# FAIL line counts as one failure (a crash is never silent).
# Usage: tests/run.sh BUILD_DIR [PATTERN]
BUILD=${1:-build/san}
PATTERN=${2:-}
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
export TLSWATCH="$TOP/$BUILD/tlswatch" BUILD="$TOP/$BUILD" TOP
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
LOG="$TOP/build/test-log.txt"
: > "$LOG"
passed=0
failed=0
skipped=0
run_one() {
    name=$1; shift
    t0=$(date +%s)
    out=$("$@" 2>&1)
    rc=$?
    secs=$(( $(date +%s) - t0 ))
    printf '%s\n' "$out" >> "$LOG"
    p=$(printf '%s\n' "$out" | grep -c '^PASS ')
    f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
    s=$(printf '%s\n' "$out" | grep -c '^SKIP ')
    printf '%s\n' "$out" | grep '^FAIL \|^SKIP ' | sed "s|^|[$name] |"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "[$name] FAIL exited $rc without a FAIL line; last output:"
        printf '%s\n' "$out" | tail -5
        f=1
    fi
    if [ "$s" -gt 0 ]; then echo "$name: $p passed, $f failed, $s skipped ($secs s)"
    else echo "$name: $p passed, $f failed ($secs s)"; fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
}
for t in "$BUILD"/tests/test_* "$BUILD"/tests/replay_*; do
    [ -x "$t" ] || continue
    case "$t" in *"$PATTERN"*) ;; *) continue ;; esac
    n=$(basename "$t")
    case "$n" in replay_*) sd="$BUILD/seeds"; [ -d "$sd" ] || sh tests/fuzz/make-seeds.sh "$sd" "$BUILD" >/dev/null 2>&1; run_one "$n" "$t" "tests/fuzz/corpus/${n#replay_}" $([ -d "$sd/${n#replay_}" ] && echo "$sd/${n#replay_}") ;;
                 *) run_one "$n" "$t" ;; esac
done
for s in tests/*/test_*.sh; do
    [ -f "$s" ] || continue
    case "$s" in *"$PATTERN"*) ;; *) continue ;; esac
    run_one "$s" sh "$s"
done
echo "full log: $LOG"
if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"
else echo "$passed passed, $failed failed"; fi
[ "$failed" -eq 0 ]
