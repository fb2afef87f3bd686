#!/bin/sh
# The README's rule table is the one generated from rules/*.rules; every
# rule id of FAILURES.md is shipped; --check-rules reports broken files.
if sh "$TOP/scripts/rules-table.sh" "$TLSWATCH" --check "$TOP/README.md" >/dev/null 2>&1; then
    echo "PASS README rule table matches the rule files"
else
    echo "FAIL README rule table differs from the rule files (regenerate with scripts/rules-table.sh)"
fi
# FAILURES.md is the design's list of failures to diagnose; it is always
# there in make check, so a missing or unreadable one is a FAIL, not a pass.
FAILURES=${TLSWATCH_FAILURES_MD:-$TOP/../shared/design/FAILURES.md}
ids=$("$TLSWATCH" --rules "$TOP/rules" --list-rules --format json | jq -r '.id' | sort)
if [ ! -f "$FAILURES" ]; then
    echo "FAIL FAILURES.md rule ids: $FAILURES not found"
else
    want=$(grep -Eo '^\| [a-z0-9-]+ \|' "$FAILURES" | tr -d '| ' | grep -vx id | sort -u)
    missing=$(printf '%s\n' "$want" | while read -r id; do printf '%s\n' "$ids" | grep -qx "$id" || echo "$id"; done)
    if [ -z "$want" ]; then echo "FAIL FAILURES.md rule ids: no rule id found in the tables of $FAILURES"
    elif [ -z "$ids" ]; then echo "FAIL FAILURES.md rule ids: --list-rules --format json listed no rule"
    elif [ -z "$missing" ]; then echo "PASS all $(printf '%s\n' "$want" | wc -l) FAILURES.md rule ids are shipped"
    else echo "FAIL rule ids missing: $missing"; fi
fi
CRERR=$(mktemp)
trap 'rm -f "$CRERR"' EXIT
"$TLSWATCH" --rules "$TOP/tests/unit/data/rules" --check-rules >/dev/null 2>"$CRERR"
rc=$?
if [ $rc -eq 2 ] && grep -Eq '^[^:]+:[0-9]+:[0-9]+: ' "$CRERR"; then
    echo "PASS --check-rules on broken rule files: exit 2 with file:line:col errors"
else
    echo "FAIL --check-rules on broken rule files: exit $rc"; head -3 "$CRERR"
fi
"$TLSWATCH" --rules "$TOP/rules" --check-rules 2>/dev/null
if [ $? -eq 0 ]; then echo "PASS the shipped rules check clean"; else echo "FAIL the shipped rules do not check clean"; fi
"$TLSWATCH" -q --fail-on critical -r "$TOP/pcaps/version-mismatch.pcap" >/dev/null 2>&1
rc=$?
if [ $rc -eq 3 ]; then echo "PASS --fail-on critical: exit 3 on a failed handshake"; else echo "FAIL --fail-on: exit $rc"; fi
