# Shared by the golden tests that build a capture with a generator from
# tests/bench/ (gen_bulk.c, gen_flood.c). Sourced after TOP is set:
# TLSWATCH (the ASan build unless given), a work directory $T removed at
# exit, the generator NAME compiled to $T/NAME (or one FAIL line and exit),
# and check NAME CONDITION DETAIL: PASS when CONDITION is "true".
benchgen_start() {
    TLSWATCH=${TLSWATCH:-$TOP/build/san/tlswatch}
    T=$(mktemp -d)
    trap 'rm -rf "$T"' EXIT
    if ! cc -O2 -o "$T/$1" "$TOP/tests/bench/$1.c"; then
        echo "FAIL cannot build tests/bench/$1.c"
        exit 1
    fi
}

check() { # name, condition, detail
    if [ "$2" = true ]; then echo "PASS $1"; else echo "FAIL $1 ($3)"; fi
}
