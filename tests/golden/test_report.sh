#!/bin/sh
# --report FILE.html over a few bundled captures (a rejected renegotiation
# read with its key log, a renegotiation storm, certificate findings) and a
# crafted one whose SNI is markup: the page is self-contained (nothing
# fetched), every string from the wire is escaped, headless Chromium runs
# its script without error, the incident table matches --summary's ranked
# table, the rejected renegotiation's ladder shows both ClientHellos and
# the server's no_renegotiation alert, the samples' certificates are
# shown, a URL fragment presets the filters,
# and the screenshot has the expected structure (size, not blank, title,
# chart bars, red alert arrows) -- no pixel-exact golden image.
T=$(mktemp -d)
trap '[ -n "$KEEP" ] || rm -rf "$T"' EXIT
P="$TOP/pcaps"
PY=/usr/bin/python3
HOSTILE='<script>document.title="pwned"</script><img/src=x/onerror=alert(1)>.example'

args="-r $P/tls12-reneg-rejected.pcap -r $P/tls12-reneg-storm.pcap -r $P/expired-cert.pcap -r $P/abort-rst.pcap -r $P/cipher-mismatch.pcap"
if $PY -c 'import scapy' 2>/dev/null && $PY "$TOP/tests/gen/hostile_sni.py" "$P/hostname-mismatch.pcap" "$T/hostile.pcap" "$HOSTILE" 2>"$T/craft.err"; then
    args="$args -r $T/hostile.pcap" # hostname-mismatch.pcap with that SNI
    hostile=1
else
    echo "SKIP report: cannot craft the capture with a hostile SNI (python3-scapy): $(tail -1 "$T/craft.err" 2>/dev/null)"
    hostile=0
fi
# shellcheck disable=SC2086
"$TLSWATCH" -q $args --keylog "$P/tls12-reneg-rejected.keylog" --summary --report "$T/r.html" > "$T/out.json" 2> "$T/err.txt"
rc=$?
if [ "$rc" = 0 ] && [ -s "$T/r.html" ] && [ ! -e "$T/r.html.tmp" ]; then echo "PASS report: written ($(wc -c < "$T/r.html") bytes), no temporary file left"
else echo "FAIL report: exit $rc; $(head -3 "$T/err.txt")"; exit 1; fi

# self-contained: no URL, and every src/href/url() is a fragment or data:
if grep -qiE 'https?://|//[a-z0-9.-]+\.[a-z]{2,}/' "$T/r.html"; then echo "FAIL report: an external URL: $(grep -oiE 'https?://[^ "]*' "$T/r.html" | head -2)"
else echo "PASS report: no http:// or https:// URL"; fi
python3 - "$T/r.html" "$hostile" > "$T/static.txt" <<'EOF'
import sys
from html.parser import HTMLParser
bad, tags = [], {}
class P(HTMLParser):
    def handle_starttag(self, tag, attrs):
        tags[tag] = tags.get(tag, 0) + 1
        if tag in ("link", "iframe", "object", "embed", "base", "img", "audio", "video", "source", "form"):
            bad.append("<%s>" % tag)
        for k, v in attrs:
            v = (v or "").strip()
            if k in ("src", "href", "xlink:href", "action", "poster", "srcset") and not (v.startswith("#") or v.startswith("data:")):
                bad.append('%s="%s"' % (k, v))
            if k == "style" and "url(" in v and "url(#" not in v:
                bad.append("style url()")
            if k.startswith("on"):
                bad.append("handler attribute %s" % k)
            if k == "http-equiv":
                bad.append("meta http-equiv")
    handle_startendtag = handle_starttag
html = open(sys.argv[1], encoding="utf-8").read()
P().feed(html)
import re
for u in re.findall(r"url\(([^)]*)\)", html):
    if not u.strip("'\" ").startswith("#"):
        bad.append("url(%s)" % u)
print("bad", len(bad), " ".join(bad[:4]))
print("scripts", tags.get("script", 0))
if sys.argv[2] == "1":
    print("escaped", int("&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;&lt;img/src=x/onerror=alert(1)&gt;" in html))
EOF
if grep -q '^bad 0 ' "$T/static.txt"; then echo "PASS report: every src/href/url() is a fragment; no external element, no handler attribute"
else echo "FAIL report: $(grep '^bad' "$T/static.txt")"; fi
if grep -q '^scripts 2$' "$T/static.txt"; then echo "PASS report: only the report's own two scripts"
else echo "FAIL report: $(grep '^scripts' "$T/static.txt") script elements (want 2)"; fi
if [ "$hostile" = 1 ]; then
    if grep -q '^escaped 1$' "$T/static.txt"; then echo "PASS report: the hostile SNI is written HTML-escaped"
    else echo "FAIL report: the hostile SNI is not found escaped"; fi
fi

# headless Chromium: the DOM after the script ran, and a screenshot
if ! command -v chromium >/dev/null 2>&1; then
    echo "SKIP report: chromium not installed (scripts/deps.sh --test)"
    exit 0
fi
export HOME="$T" XDG_CONFIG_HOME="$T/cfg" XDG_CACHE_HOME="$T/cache"
CHROME="chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --user-data-dir=$T/profile"
(cd "$T" && timeout 60 $CHROME --enable-logging=stderr --v=0 --virtual-time-budget=3000 --dump-dom "file://$T/r.html" > "$T/dom.html" 2> "$T/chrome.err")
(cd "$T" && timeout 60 $CHROME --virtual-time-budget=1000 --dump-dom "file://$T/r.html#sev=critical" > "$T/dom-crit.html" 2>/dev/null)
(cd "$T" && timeout 60 $CHROME --hide-scrollbars --window-size=1280,2000 --screenshot="$T/out.png" "file://$T/r.html" > /dev/null 2>&1)
if grep -q 'id="js-status" data-ok="1">ok<' "$T/dom.html"; then echo "PASS report: the page's script ran without error (marker set)"
else echo "FAIL report: script marker: $(grep -o 'id="js-status"[^<]*' "$T/dom.html" | head -1)"; fi
if grep -qE 'CONSOLE|Uncaught|SyntaxError|TypeError' "$T/chrome.err"; then echo "FAIL report: console errors: $(grep -E 'CONSOLE|Uncaught' "$T/chrome.err" | head -2)"
else echo "PASS report: no console error in Chromium's log"; fi
if grep -q '<title>tlswatch report</title>' "$T/dom.html" && ! grep -q 'pwned</title>' "$T/dom.html"; then echo "PASS report: the hostile SNI did not run (title unchanged)"
else echo "FAIL report: the title changed"; fi

# the incident table (rule, count, clients, rank order) against --summary
python3 - "$T/dom.html" > "$T/rows.txt" <<'EOF'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.rows = []; self.inbody = False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tbody": self.inbody = True
        if tag == "tr" and self.inbody and "data-rule" in a:
            self.rows.append("%s %s %s" % (a["data-rule"], a["data-count"], a["data-clients"]))
    def handle_endtag(self, tag):
        if tag == "tbody": self.inbody = False
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
print("\n".join(p.rows))
EOF
sed -n 's/^ *[0-9]*\. *[a-z]* *\([a-z0-9-]*\) .*: \([0-9]*\) handshakes from \([0-9]*\)+* clients.*/\1 \2 \3/p' "$T/err.txt" > "$T/want.txt"
n=$(wc -l < "$T/want.txt")
if [ "$n" -ge 5 ] && cmp -s "$T/want.txt" "$T/rows.txt"; then echo "PASS report: $n incident rows, ranked and counted as --summary"
else echo "FAIL report: incident rows differ from --summary ($n): $(diff "$T/want.txt" "$T/rows.txt" | head -4 | tr '\n' ' ')"; fi
if grep -q '^renegotiation-accepted 4 1$' "$T/rows.txt"; then echo "PASS report: the renegotiation storm is one incident of 4 handshakes"
else echo "FAIL report: no 'renegotiation-accepted 4 1' row"; fi

# the rejected renegotiation's ladder
python3 - "$T/dom.html" > "$T/ladder.txt" <<'EOF'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.sec = None; self.msgs = []; self.cur = None; self.seps = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and a.get("data-rule") == "renegotiation-rejected" and self.sec is None:
            self.sec = 1
        elif tag == "section" and self.sec == 1:
            self.sec = 2
        if self.sec != 1: return
        if tag == "g" and "msg" in (a.get("class") or "").split():
            self.cur = [a.get("data-from"), a.get("data-type"), ""]
            self.msgs.append(self.cur)
        if tag == "line" and "sep" in (a.get("class") or "").split(): self.seps += 1
    def handle_endtag(self, tag):
        if tag == "section" and self.sec == 1: self.sec = 2
        if tag == "g": self.cur = None
    def handle_data(self, d):
        if self.cur is not None and not self.cur[2]: self.cur[2] = d.strip()
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
ch = [i for i, m in enumerate(p.msgs) if m[0] == "client" and m[1] == "ClientHello"]
al = [i for i, m in enumerate(p.msgs) if m[0] == "server" and m[1] == "Alert" and "no_renegotiation(100)" in m[2]]
print("clienthellos", len(ch))
print("alert", int(bool(al)))
print("order", int(len(ch) == 2 and bool(al) and ch[1] < al[0]))
print("separator", p.seps)
print("sequence", " ".join(m[1].replace(" ", "_") + ("/" + m[2].split()[-1] if m[1] == "Alert" else "") for m in p.msgs))
EOF
if grep -q '^clienthellos 2$' "$T/ladder.txt" && grep -q '^alert 1$' "$T/ladder.txt" && grep -q '^order 1$' "$T/ladder.txt"; then
    echo "PASS report: the renegotiation-rejected ladder shows two ClientHellos, then the server's no_renegotiation alert"
else echo "FAIL report: ladder: $(tr '\n' ' ' < "$T/ladder.txt")"; fi
if grep -q '^separator 1$' "$T/ladder.txt" && grep -q '^sequence ClientHello ServerHello .*Finished ClientHello Alert/no_renegotiation(100) .*FIN' "$T/ladder.txt"; then
    echo "PASS report: the second handshake is marked as a renegotiation and the connection's close is drawn"
else echo "FAIL report: ladder sequence: $(grep -e '^sep' -e '^seq' "$T/ladder.txt" | tr '\n' ' ')"; fi

# certificate details of the samples
nc=$(grep -o '<dl class="cert"><dt>subject</dt><dd>CN=server.example</dd><dt>issuer</dt><dd>[^<]*</dd><dt>not before</dt><dd>[^<]*</dd><dt>not after</dt><dd>[^<]*</dd><dt>SAN</dt><dd>server.example, localhost</dd><dt>SHA-256</dt><dd>[0-9A-F]\{64\}</dd>' "$T/dom.html" | wc -l)
if [ "$nc" -ge 5 ]; then echo "PASS report: $nc ladders with their certificate (subject, issuer, validity, SANs, SHA-256)"
else echo "FAIL report: $nc complete certificate blocks"; fi

# a fragment presets the filters: only critical rows shown
tot=$(grep -c '<tr class="sev-' "$T/dom-crit.html"); hid=$(grep -c '<tr class="sev-[a-z]*"[^>]*style="display: none;"' "$T/dom-crit.html")
crit=$(grep -c '<tr class="sev-critical"' "$T/dom-crit.html")
if [ "$tot" -ge 5 ] && [ "$crit" -ge 1 ] && [ "$((tot - hid))" = "$crit" ]; then echo "PASS report: #sev=critical leaves the $crit critical rows of $tot"
else echo "FAIL report: filter: $tot rows, $hid hidden, $crit critical"; fi

# the screenshot, for structure (its first 700 rows decoded: the title,
# the charts and the top of the table)
python3 - "$T/out.png" > "$T/png.txt" <<'EOF'
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n"
o, idat, w = 8, b"", 0
while o < len(b):
    n, t = struct.unpack(">I4s", b[o:o + 8]); d = b[o + 8:o + 8 + n]; o += 12 + n
    if t == b"IHDR": w, h, depth, ctype = struct.unpack(">IIBB", d[:10])
    elif t == b"IDAT": idat += d
bpp = {2: 3, 6: 4}[ctype]
H = min(h, 700); stride = w * bpp
raw = zlib.decompressobj().decompress(idat, H * (stride + 1)); rows = []; prev = bytearray(stride); o = 0
for y in range(H):
    f = raw[o]; cur = bytearray(raw[o + 1:o + 1 + stride]); o += 1 + stride
    for i in range(stride):
        a = cur[i - bpp] if i >= bpp else 0; up = prev[i]; c = prev[i - bpp] if i >= bpp else 0
        if f == 1: cur[i] = (cur[i] + a) & 255
        elif f == 2: cur[i] = (cur[i] + up) & 255
        elif f == 3: cur[i] = (cur[i] + (a + up) // 2) & 255
        elif f == 4:
            p = a + up - c; pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
            cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
    rows.append(cur); prev = cur
def px(x, y): r = rows[y]; return r[x * bpp], r[x * bpp + 1], r[x * bpp + 2]
def count(y0, y1, pred, step=2):
    return sum(1 for y in range(y0, min(y1, H), step) for x in range(0, w, step) if pred(*px(x, y)))
dark = lambda r, g, b: r + g + b < 200
blue = lambda r, g, b: b > 150 and r < 120 and 90 < g < 150
red = lambda r, g, b: r > 170 and g < 110 and b < 110
print("size %dx%d" % (w, h))
print("title", count(0, 50, dark))
print("bars", count(50, 600, blue))
print("red", count(0, H, red))
print("ink", count(0, H, lambda r, g, b: r + g + b < 600, 4))
EOF
if grep -q '^size 1280x2000$' "$T/png.txt"; then echo "PASS report: screenshot 1280x2000"
else echo "FAIL report: screenshot $(head -1 "$T/png.txt")"; fi
t=$(sed -n 's/^title //p' "$T/png.txt"); b=$(sed -n 's/^bars //p' "$T/png.txt"); r=$(sed -n 's/^red //p' "$T/png.txt"); i=$(sed -n 's/^ink //p' "$T/png.txt")
if [ "${t:-0}" -ge 50 ] && [ "${b:-0}" -ge 200 ] && [ "${r:-0}" -ge 50 ] && [ "${i:-0}" -ge 2000 ]; then
    echo "PASS report: screenshot not blank: title text at the top, blue chart bars below it, red failing-server bars"
else echo "FAIL report: screenshot structure: title $t bars $b red $r ink $i"; fi
