#!/bin/sh
# Corrupted captures: real captures from pcaps/ and ../shared/corpus, cut,
# bit-flipped and otherwise damaged deterministically (tests/robust/mutate.py,
# fixed seed), each read with `tlswatch -q -r FILE --all` under timeout 20.
# Every run must end with exit 0 or 1 (never a signal, never a timeout), no
# sanitizer report; exit 1 with exactly one stderr line naming the file (and
# the packet, for read errors); a damaged file whose packets up to the damage
# are known reports the same tls events as those packets written cleanly;
# a valid prefix keeps reporting every handshake it holds complete
# (tests/robust/check_variants.py judges). Bad variants are copied to
# build/robust-failures/ and named in the FAIL line with the command.
#
# Environment: TLSWATCH (binary under test), TLSWATCH_CORPUS (default
# ../shared/corpus), ROBUST_SEED (default 20261125), ROBUST_JOBS (default 2),
# ROBUST_WORKDIR (keep variants and outputs in that directory, for debugging).
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
TLSWATCH=${TLSWATCH:-$TOP/build/san/tlswatch}
CORPUS=${TLSWATCH_CORPUS:-$TOP/../shared/corpus}
SEED=${ROBUST_SEED:-20261125}
JOBS=${ROBUST_JOBS:-2}
R="$TOP/tests/robust"
KEEP="$TOP/build/robust-failures"

if [ ! -x "$TLSWATCH" ]; then
    echo "FAIL corrupt: binary under test $TLSWATCH not found (set TLSWATCH or run through tests/run.sh)"
    exit 1
fi
command -v python3 >/dev/null 2>&1 || { echo "FAIL corrupt: python3 not found"; exit 1; }
command -v timeout >/dev/null 2>&1 || { echo "FAIL corrupt: timeout (coreutils) not found"; exit 1; }

# label=capture: generated captures from real stacks, then real-world ones
set -- tls12=pcaps/tls12-ok.pcap tls13=pcaps/tls13-ok.pcap vmismatch=pcaps/version-mismatch.pcap \
    tls12ng=pcaps/tls12-ok.pcapng
SRCS=""
for a in "$@"; do
    f="$TOP/${a#*=}"
    if [ -f "$f" ]; then SRCS="$SRCS ${a%%=*}=$f"; else echo "FAIL corrupt: capture $f missing"; fi
done
for a in ecdsa=zeek/Traces/tls/ecdsa-cert.pcap \
         ff52abort=zeek/Traces/tls/tls13draft16-ff52.a01-aborted.pcap \
         psk13=zeek/Traces/tls/tls13_psk_succesfull.pcap \
         fraggz=zeek/Traces/tls/tls-fragmented-handshake.pcap.gz; do
    f="$CORPUS/${a#*=}"
    if [ -f "$f" ]; then SRCS="$SRCS ${a%%=*}=$f"
    else echo "FAIL corrupt: shared corpus capture $f missing (../shared/corpus is part of make check)"; fi
done
[ -n "$SRCS" ] || exit 1

if [ -n "${ROBUST_WORKDIR:-}" ]; then        # keep the variants and outputs there
    T=$ROBUST_WORKDIR; rm -rf "$T"; mkdir -p "$T"
else
    T=$(mktemp -d)
    trap 'rm -rf "$T"' EXIT
fi
rm -rf "$KEEP"
start=$(date +%s)
# shellcheck disable=SC2086
if ! summary=$(python3 "$R/mutate.py" "$T" "$SEED" $SRCS); then
    echo "FAIL corrupt: mutate.py failed"
    exit 1
fi
# sh -c gets $0 = the binary, $1 = the directory, then variant names
cut -f1 "$T/variants.tsv" | xargs -P "$JOBS" -n 16 sh -c '
    d=$1; shift
    for v; do
        timeout 20 "$0" -q -r "$d/$v" --all > "$d/$v.out" 2> "$d/$v.err" < /dev/null
        echo $? > "$d/$v.rc"
    done' "$TLSWATCH" "$T" 2>/dev/null
python3 "$R/check_variants.py" "$T" "$KEEP" "$TLSWATCH"
rc=$?
end=$(date +%s)
echo "corrupt: $summary from$(echo "$SRCS" | sed 's/=[^ ]*//g') (seed $SEED), $((end - start)) s;" \
    "regenerate: python3 tests/robust/mutate.py DIR $SEED$SRCS"
exit $rc
