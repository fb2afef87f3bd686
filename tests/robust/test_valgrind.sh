#!/bin/sh
# valgrind memcheck on a build without sanitizers (an ASan binary cannot run
# under valgrind): no invalid read/write, no use of uninitialised values, no
# definitely or indirectly lost block, on a few captures from pcaps/ that go
# through the key log decryption, text output, pcapng and read-error paths.
#
# The binary: $VALGRIND_TLSWATCH if set; else build/clang/tlswatch (make
# check builds it with clang, no sanitizer) when it is newer than every
# source file; else build/valgrind/tlswatch, built (incrementally) here with
# the release flags.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
P="$TOP/pcaps"
cd "$TOP" || exit 1

if ! command -v valgrind >/dev/null 2>&1; then
    echo "FAIL valgrind: valgrind not found (scripts/deps.sh --test installs it)"
    exit 1
fi

newer_than_sources() {   # BIN: true if BIN is newer than every source file
    [ -x "$1" ] || return 1
    [ -z "$(find src dissectors Makefile -newer "$1" \( -name '*.[ch]' -o -name '*.def' -o -name Makefile \) 2>/dev/null | head -1)" ]
}
BIN=${VALGRIND_TLSWATCH:-}
if [ -z "$BIN" ]; then
    if newer_than_sources "$TOP/build/clang/tlswatch"; then
        BIN="$TOP/build/clang/tlswatch"
    else
        if ! nice make -s BUILD=build/valgrind all > "$TOP/build/valgrind-make.log" 2>&1; then
            echo "FAIL valgrind: building build/valgrind/tlswatch failed (see build/valgrind-make.log)"
            tail -5 "$TOP/build/valgrind-make.log"
            exit 1
        fi
        BIN="$TOP/build/valgrind/tlswatch"
    fi
fi
if [ ! -x "$BIN" ]; then
    echo "FAIL valgrind: $BIN not found"
    exit 1
fi
if nm -D "$BIN" 2>/dev/null | grep -q '__asan_init\|__ubsan_handle'; then
    echo "FAIL valgrind: $BIN is a sanitizer build (valgrind needs a plain one)"
    exit 1
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
vg() {   # vg NAME EXPECTED_EXIT tlswatch-args...
    name=$1; want=$2; shift 2
    n=$((n + 1))
    valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        --log-file="$T/vg.$n" "$BIN" "$@" > "$T/out.$n" 2> "$T/err.$n"
    rc=$?
    if [ $rc -eq 99 ] || [ -s "$T/vg.$n" ]; then
        echo "FAIL valgrind $name: memcheck errors or leaks (exit $rc); command: valgrind --leak-check=full $BIN $*"
        grep -E 'Invalid|uninitialised|definitely lost|indirectly lost|ERROR SUMMARY|^==[0-9]+== +(at|by) ' "$T/vg.$n" | head -12
    elif [ $rc -ne "$want" ]; then
        echo "FAIL valgrind $name: exit $rc, expected $want: $(head -2 "$T/err.$n")"
    elif [ "$(grep -c '"event_type":"tls"\|^[0-9T:.-]*Z ' "$T/out.$n")" -eq 0 ]; then
        echo "FAIL valgrind $name: no handshake reported"
    else
        echo "PASS valgrind $name: no memory error, no definite/indirect leak (exit $rc)"
    fi
}
vg "tls13-ok --keylog (TLS 1.3 decryption)" 0 -q --all --keylog "$P/tls13-ok.keylog" -r "$P/tls13-ok.pcap"
vg "tls12-reneg-rejected --keylog (TLS 1.2 decryption, renegotiation)" 0 -q --all \
    --keylog "$P/tls12-reneg-rejected.keylog" -r "$P/tls12-reneg-rejected.pcap"
vg "demo --all -F text (3 handshakes, findings, summary)" 0 -q --all -F text -r "$P/demo.pcap"
vg "tls12-ok.pcapng" 0 -q --all -r "$P/tls12-ok.pcapng"
vg "truncated.pcap (read error path)" 1 -q --all -r "$P/truncated.pcap"
echo "valgrind: $n runs of $BIN"
