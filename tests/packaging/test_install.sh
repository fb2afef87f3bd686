#!/bin/sh
# make install into a DESTDIR: binary, rules, man page, systemd unit,
# sysusers.d, logrotate snippet, /etc/default file, each where it belongs
# and usable; systemd-analyze verify (and security) on the installed unit;
# make uninstall removes it all again, keeping a changed default file.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
D="$T/root"
P=/usr/local
# install the binary under test as it is (-o: never rebuilt here, so a
# sanitizer build directory never gets objects of other flags)
inst() { make -s -C "$TOP" "$1" DESTDIR="$D" BIN="$TLSWATCH" -o "$TLSWATCH"; }
if ! inst install > "$T/install.log" 2>&1; then
    echo "FAIL install: make install failed: $(tail -3 "$T/install.log")"
    exit 0
fi
missing=""
for f in $P/bin/tlswatch $P/share/man/man1/tlswatch.1.gz $P/lib/systemd/system/tlswatch.service \
         $P/lib/sysusers.d/tlswatch.conf /etc/default/tlswatch /etc/logrotate.d/tlswatch; do
    [ -s "$D$f" ] || missing="$missing $f"
done
nr=$(ls "$TOP"/rules/*.rules | wc -l)
ni=$(ls "$D$P"/share/tlswatch/rules/*.rules 2>/dev/null | wc -l)
if [ -z "$missing" ] && [ "$nr" = "$ni" ] && [ -x "$D$P/bin/tlswatch" ]; then
    echo "PASS install: binary, $ni rule files, man page, unit, sysusers.d, logrotate, default file under DESTDIR"
else echo "FAIL install: missing:$missing; rules $ni of $nr"; fi
extra=$(cd "$D" && find . -type f | sed 's|^\.||' | grep -v "^$P/share/tlswatch/rules/" | sort | tr '\n' ' ')
[ "$(echo "$extra" | wc -w)" = 6 ] || echo "FAIL install: unexpected files: $extra"
if "$D$P/bin/tlswatch" --rules "$D$P/share/tlswatch/rules" --check-rules 2>/dev/null; then
    echo "PASS install: the installed binary checks the installed rules clean"
else echo "FAIL install: installed rules do not check clean"; fi
if gzip -dc "$D$P/share/man/man1/tlswatch.1.gz" | cmp -s - "$TOP/docs/tlswatch.1"; then
    echo "PASS install: man1/tlswatch.1.gz is docs/tlswatch.1"
else echo "FAIL install: installed man page differs from docs/tlswatch.1"; fi
U="$D$P/lib/systemd/system/tlswatch.service"
if grep -q "^ExecStart=$P/bin/tlswatch -q -i \${TLSWATCH_IFACE} " "$U" && grep -q '^EnvironmentFile=/etc/default/tlswatch$' "$U" \
   && ! grep -q '@[A-Z]*@' "$U" "$D/etc/default/tlswatch" "$D/etc/logrotate.d/tlswatch"; then
    echo "PASS install: unit paths filled in (ExecStart=$P/bin/tlswatch, EnvironmentFile=/etc/default/tlswatch)"
else echo "FAIL install: unit paths: $(grep -E '^(ExecStart|EnvironmentFile)=' "$U" | tr '\n' ' ')"; fi
for k in "User=tlswatch" "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN" "CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN" \
         "NoNewPrivileges=yes" "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" "LogsDirectory=tlswatch" \
         "RestrictAddressFamilies=AF_PACKET AF_UNIX AF_INET AF_INET6 AF_NETLINK" "SystemCallFilter=@system-service" \
         "ExecReload=/bin/kill -HUP \$MAINPID" "Restart=on-failure"; do
    grep -qxF "$k" "$U" || echo "FAIL install: unit lacks $k"
done

# systemd-analyze verify needs ExecStart's binary and the Documentation=
# man page to exist: a copy of the unit pointing at the DESTDIR binary, man
# looking in the DESTDIR man tree.
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$T/verify"
    sed "s|=$P/bin/tlswatch|=$D$P/bin/tlswatch|" "$U" > "$T/verify/tlswatch.service"
    MANPATH="$D$P/share/man" systemd-analyze verify "$T/verify/tlswatch.service" > "$T/verify.log" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && [ ! -s "$T/verify.log" ]; then echo "PASS install: systemd-analyze verify: clean"
    else echo "FAIL install: systemd-analyze verify (exit $rc): $(head -3 "$T/verify.log")"; fi
    # the same unit with a binary that does not exist must fail: verify is really checking
    sed "s|=$P/bin/tlswatch|=$T/nonexistent/tlswatch|" "$U" > "$T/verify/tlswatch.service"
    if ! MANPATH="$D$P/share/man" systemd-analyze verify "$T/verify/tlswatch.service" > /dev/null 2>&1; then
        echo "PASS install: systemd-analyze verify rejects the unit when ExecStart's binary is missing"
    else echo "FAIL install: systemd-analyze verify accepts a missing binary (not checking?)"; fi
    sed "s|=$P/bin/tlswatch|=$D$P/bin/tlswatch|" "$U" > "$T/verify/tlswatch.service"
    sec=$(systemd-analyze security --offline=yes "$T/verify/tlswatch.service" 2>/dev/null | grep 'Overall exposure level')
    score=$(echo "$sec" | grep -oE '[0-9]+\.[0-9]' | head -1)
    if [ -n "$score" ] && awk "BEGIN { exit !($score <= 2.5) }"; then echo "PASS install: systemd-analyze security --offline: ${sec#*: }"
    elif [ -n "$score" ]; then echo "FAIL install: systemd-analyze security: ${sec#*: } (expected at most 2.5)"
    else echo "SKIP install: systemd-analyze security --offline gave no score"; fi
else
    echo "SKIP install: systemd-analyze not installed (Debian package systemd)"
fi

# the sysusers.d file creates the system user (into the DESTDIR's own
# /etc/passwd: the host's is not touched)
if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers --root="$D" > "$T/sysusers.log" 2>&1
    if grep -qE '^tlswatch:x:[0-9]+:[0-9]+:tlswatch sensor:/nonexistent:/usr/sbin/nologin$' "$D/etc/passwd" 2>/dev/null \
       && grep -q '^tlswatch:' "$D/etc/group"; then
        echo "PASS install: systemd-sysusers creates the system user and group tlswatch from the installed file"
    else echo "FAIL install: systemd-sysusers: $(head -2 "$T/sysusers.log") / $(grep tlswatch "$D/etc/passwd" 2>/dev/null)"; fi
    rm -f "$D"/etc/passwd* "$D"/etc/group* "$D"/etc/shadow* "$D"/etc/gshadow* "$D"/etc/.pwd.lock
else
    echo "SKIP install: systemd-sysusers not installed (Debian package systemd)"
fi

# logrotate accepts the snippet (debug mode: nothing is rotated). The user
# tlswatch exists only where the unit is installed for real: the debug run
# names the current user instead.
if command -v logrotate >/dev/null 2>&1; then
    me=$(id -un); grp=$(id -gn)
    getent passwd tlswatch > /dev/null 2>&1 && { me=tlswatch; grp=tlswatch; }
    sed "s/ tlswatch tlswatch$/ $me $grp/" "$D/etc/logrotate.d/tlswatch" > "$T/lr.conf"
    if logrotate -d -s "$T/lr.state" "$T/lr.conf" > "$T/lr.log" 2>&1 && ! grep -qi 'error' "$T/lr.log"; then
        echo "PASS install: logrotate -d accepts the snippet (create as $me:$grp)"
    else echo "FAIL install: logrotate -d: $(grep -i error "$T/lr.log" | head -2)"; fi
else
    echo "SKIP install: logrotate not installed (scripts/deps.sh --test installs it)"
fi

# uninstall: everything goes, except a default file the administrator changed
echo "TLSWATCH_IFACE=ens3" >> "$D/etc/default/tlswatch"
inst uninstall > "$T/uninstall.log" 2>&1
left=$(cd "$D" && find . -type f | sed 's|^\.||' | tr '\n' ' ')
if [ "$left" = "/etc/default/tlswatch " ] && grep -q 'keeping.*changed' "$T/uninstall.log"; then
    echo "PASS uninstall: removes every installed file, keeps the changed /etc/default/tlswatch"
else echo "FAIL uninstall: left: $left"; fi
rm -f "$D/etc/default/tlswatch"
inst install > /dev/null 2>&1
inst uninstall > /dev/null 2>&1
left=$(cd "$D" && find . -type f | wc -l)
if [ "$left" = 0 ]; then echo "PASS uninstall: an unchanged default file goes too (no file left)"
else echo "FAIL uninstall: $left files left"; fi
