#!/bin/sh
# Prints the README rule table generated from the rule files, or with
# --check FILE exits non-zero when the table in FILE (between the markers
# "<!-- rules-table:begin -->" and "<!-- rules-table:end -->") differs.
# Usage: scripts/rules-table.sh [TLSWATCH_BINARY] [--check README.md]
# The binary must support --list-rules --format markdown (rules_list()).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$TOP/build/rel/tlswatch}
gen() { "$BIN" --rules "$TOP/rules" --list-rules --format markdown; }
if [ "${2:-}" = "--check" ]; then
    FILE=${3:?file to check}
    want=$(gen)
    have=$(sed -n '/<!-- rules-table:begin -->/,/<!-- rules-table:end -->/p' "$FILE" | sed '1d;$d')
    if [ "$want" = "$have" ]; then echo "rules table in $FILE is up to date"; exit 0; fi
    echo "rules table in $FILE differs from the rule files; regenerate with: $0 $BIN > table.md" >&2
    printf '%s\n' "$want" > /tmp/rules-table.want.$$; printf '%s\n' "$have" > /tmp/rules-table.have.$$
    diff /tmp/rules-table.have.$$ /tmp/rules-table.want.$$ >&2 || true
    rm -f /tmp/rules-table.want.$$ /tmp/rules-table.have.$$
    exit 1
fi
gen
