#!/bin/sh
# docs/tlswatch.1 cannot drift from the program: every option `tlswatch -h`
# prints has its own entry in the man page, every option the man page
# lists exists, and man-db and groff render it without a warning.
MAN="$TOP/docs/tlswatch.1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ ! -f "$MAN" ]; then echo "FAIL man page: $MAN missing"; exit 0; fi
"$TLSWATCH" -h > "$T/help.txt" 2>&1
# options: -x or --long-name, not inside a word (file:line:col, non-zero)
grep -oE '(^|[^A-Za-z0-9-])--?[A-Za-z][A-Za-z0-9-]*' "$T/help.txt" | sed -E 's/^[^-]*//' | sort -u > "$T/help.opts"
n=$(wc -l < "$T/help.opts")
if [ "$n" -lt 30 ]; then echo "FAIL man page: only $n options found in tlswatch -h"; exit 0; fi

if command -v groff >/dev/null 2>&1; then
    LC_ALL=C groff -man -Tascii -P-c -P-b -P-u "$MAN" 2>/dev/null > "$T/man.txt"
    # the tag lines of the page's items: "       -x, --long ARG"
    grep -E '^ {7}-' "$T/man.txt" > "$T/tags.txt"
    missing=""
    while read -r o; do
        grep -qE -- "^ {7}(-[A-Za-z], )?$o([ ,]|\$)" "$T/tags.txt" || missing="$missing $o"
    done < "$T/help.opts"
    if [ -z "$missing" ]; then echo "PASS man page: all $n options of tlswatch -h have an entry"
    else echo "FAIL man page: options of tlswatch -h without an entry:$missing"; fi
    extra=""
    for o in $(grep -oE -- '(^| )--?[A-Za-z][A-Za-z0-9-]*' "$T/tags.txt" | tr -d ' ' | sort -u); do
        grep -qx -- "$o" "$T/help.opts" || extra="$extra $o"
    done
    if [ -z "$extra" ]; then echo "PASS man page: every option it lists is in tlswatch -h"
    else echo "FAIL man page: options not in tlswatch -h:$extra"; fi
    for s in "EXIT STATUS" SIGNALS FILES EXAMPLES; do
        grep -q "^$s" "$T/man.txt" || echo "FAIL man page: no $s section"
    done
    codes=$(sed -n '/^EXIT STATUS/,/^SIGNALS/p' "$T/man.txt" | grep -cE '^ {7}[0-3]( |$)')
    sigs=$(sed -n '/^SIGNALS/,/^FILES/p' "$T/man.txt" | grep -oE 'SIG(INT|TERM|HUP|USR1)' | sort -u | wc -l)
    if [ "$codes" = 4 ] && [ "$sigs" = 4 ]; then echo "PASS man page: exit codes 0-3 and SIGINT/SIGTERM/SIGHUP/SIGUSR1 documented"
    else echo "FAIL man page: $codes exit codes, $sigs signals documented"; fi
    groff -man -ww -z "$MAN" > "$T/groff.err" 2>&1
    if [ -s "$T/groff.err" ]; then echo "FAIL man page: groff -man -ww -z warns: $(head -3 "$T/groff.err")"
    else echo "PASS man page: groff -man -ww -z: no warning"; fi
else
    echo "SKIP man page: groff not installed (scripts/deps.sh --test installs groff-base)"
fi
if command -v man >/dev/null 2>&1; then
    MANWIDTH=80 man --warnings -l "$MAN" > /dev/null 2> "$T/man.err"
    rc=$?
    if [ $rc -eq 0 ] && [ ! -s "$T/man.err" ]; then echo "PASS man page: man --warnings -l: no warning"
    else echo "FAIL man page: man --warnings -l (exit $rc): $(head -3 "$T/man.err")"; fi
else
    echo "SKIP man page: man not installed (scripts/deps.sh --test installs man-db)"
fi
