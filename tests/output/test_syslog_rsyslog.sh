#!/bin/sh
# --syslog against a real syslog daemon: rsyslogd, in the foreground, on a
# socket of its own (imuxsock with the regular parser chain, the set-up
# docs/deploy.md gives), writes what it parsed: facility.severity, host,
# APP-NAME, PROCID, MSGID and MSG. Each MSG must be the stdout line.
if ! command -v rsyslogd >/dev/null 2>&1 || ! command -v jq >/dev/null 2>&1; then
    echo "SKIP syslog via rsyslog: rsyslogd or jq not installed (scripts/deps.sh --test installs rsyslog)"
    exit 0
fi
T=$(mktemp -d)
RS=""
trap '[ -n "$RS" ] && kill "$RS" 2>/dev/null; rm -rf "$T"' EXIT
cat > "$T/rs.conf" <<EOS
global(workDirectory="$T" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$T/tlswatch.sock" UseSpecialParser="off" ParseHostname="on")
template(name="fields" type="string"
         string="%syslogfacility-text%.%syslogseverity-text% %hostname% %app-name% %procid% %msgid%|%msg%\n")
if \$app-name == "tlswatch" then action(type="omfile" file="$T/parsed.log" template="fields")
EOS
rsyslogd -n -f "$T/rs.conf" -i "$T/rs.pid" > "$T/rs.out" 2>&1 &
RS=$!
i=0
while [ $i -lt 50 ] && [ ! -S "$T/tlswatch.sock" ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -S "$T/tlswatch.sock" ]; then echo "FAIL syslog via rsyslog: rsyslogd did not start: $(head -2 "$T/rs.out")"; exit 0; fi
"$TLSWATCH" -q --all -r "$TOP/pcaps/demo.pcap" -r "$TOP/pcaps/hostname-mismatch.pcap" \
    --syslog-socket "$T/tlswatch.sock" --syslog-facility local0 > "$T/out.json" &
TW=$!
wait $TW
rc=$?
# rsyslog writes asynchronously: wait until every line is there
n=$(wc -l < "$T/out.json")
i=0
while [ $i -lt 50 ] && [ "$(cat "$T/parsed.log" 2>/dev/null | wc -l)" -lt "$n" ]; do sleep 0.1; i=$((i + 1)); done
kill "$RS"; wait "$RS" 2>/dev/null; RS=""
host=$(hostname)
m=$(wc -l < "$T/parsed.log" 2>/dev/null)
if [ $rc -eq 0 ] && [ "$m" = "$n" ]; then echo "PASS syslog via rsyslog: rsyslogd received $m messages for $n lines"
else echo "FAIL syslog via rsyslog: exit $rc, $m messages for $n lines"; fi
bad=$(cut -d'|' -f1 "$T/parsed.log" | grep -Evc "^local0\.[a-z]+ $host tlswatch $TW -\$")
if [ "$bad" = 0 ]; then echo "PASS syslog via rsyslog: parsed as RFC 5424: facility local0, host $host, APP-NAME tlswatch, PROCID $TW, MSGID -"
else echo "FAIL syslog via rsyslog: $bad headers parsed otherwise: $(cut -d'|' -f1 "$T/parsed.log" | head -2 | tr '\n' ' ')"; fi
cut -d'|' -f2- "$T/parsed.log" > "$T/msg.json"
if cmp -s "$T/msg.json" "$T/out.json"; then echo "PASS syslog via rsyslog: every MSG is the stdout line, byte for byte"
else echo "FAIL syslog via rsyslog: MSG differs from stdout: $(diff "$T/msg.json" "$T/out.json" | head -3 | cut -c1-160)"; fi
exp=$(jq -r 'if .event_type == "finding" then
        ({"critical":"crit","high":"err","medium":"warning","low":"notice","info":"info"}[.finding.severity]) else "info" end' "$T/out.json")
got=$(cut -d'|' -f1 "$T/parsed.log" | sed -E 's/^local0\.([a-z]+) .*/\1/')
if [ "$exp" = "$got" ]; then echo "PASS syslog via rsyslog: severities as rsyslog reads them: $(echo $got | tr ' ' '\n' | sort | uniq -c | tr -s ' ' | tr '\n' ',')"
else echo "FAIL syslog via rsyslog: severities: expected $(echo $exp), got $(echo $got)"; fi
