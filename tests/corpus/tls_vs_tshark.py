#!/usr/bin/env python3
"""Per TLS connection of every TCP capture in ../shared/corpus: the
version, cipher and SNI of the first handshake, whether a ServerHello was
seen, and the last cleartext alert, as tlswatch reports them (tls events)
and as tshark dissects them. Differences must be listed with a reason in
tls_vs_tshark.expected. Prints PASS/FAIL lines."""
import json, os, subprocess
from concurrent.futures import ThreadPoolExecutor

top = os.environ["TOP"]
tlswatch = os.environ["TLSWATCH"]
corpus = os.path.join(top, "..", "shared", "corpus")
exp_path = os.path.join(top, "tests", "corpus", "tls_vs_tshark.expected")
VER = {"0x0300": "SSLv3", "0x0301": "TLSv1.0", "0x0302": "TLSv1.1", "0x0303": "TLSv1.2",
       "0x0304": "TLSv1.3", "0x0002": "SSLv2"}
FIELDS = ["tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
          "tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.ciphersuite",
          "tls.handshake.version", "tls.handshake.extensions.supported_version",
          "tls.alert_message.desc"]

def tshark(path):
    cmd = ["tshark", "-n", "-r", path, "-o", "tls.desegment_ssl_records:TRUE",
           "-o", "tls.desegment_ssl_application_data:TRUE", "-Y", "tls", "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    conns = {}
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        if not v.get("tcp.stream") or not v.get("tcp.srcport"):
            continue  # TLS over UDP (QUIC/DTLS): not ours
        src = v["ip.src"] or v["ipv6.src"]
        dst = v["ip.dst"] or v["ipv6.dst"]
        types = v["tls.handshake.type"].split(",") if v["tls.handshake.type"] else []
        key = v["tcp.stream"]
        c = conns.setdefault(key, {"sni": "-", "cipher": "-", "version": "-", "alert": "-", "sh": False,
                                   "client": None, "server": None, "done": False})
        if "1" in types and c["client"] is None:
            c["client"] = (src, v["tcp.srcport"])
            c["server"] = (dst, v["tcp.dstport"])
            if v["tls.handshake.extensions_server_name"]:
                c["sni"] = v["tls.handshake.extensions_server_name"].split(",")[0]
        if "2" in types and not c["sh"] and c["client"] is not None:
            c["sh"] = True
            cs = v["tls.handshake.ciphersuite"].split(",")
            c["cipher_code"] = int(cs[-1], 16) if cs and cs[-1] else None
            sv = v["tls.handshake.extensions.supported_version"].split(",")
            hv = v["tls.handshake.version"].split(",")
            ver = sv[-1] if sv and sv[-1] else (hv[-1] if hv and hv[-1] else "")
            c["version"] = VER.get(ver, ver or "-")
        if v["tls.alert_message.desc"] and c["client"] is not None and not c["done"]:
            c["alert"] = v["tls.alert_message.desc"].split(",")[-1]
    return {(c["client"][0], c["client"][1], c["server"][0], c["server"][1]): c
            for c in conns.values() if c["client"]}

def ours(path):
    out = subprocess.run([tlswatch, "-q", "--all", "-r", path], capture_output=True, text=True).stdout
    ev = {}
    for l in out.splitlines():
        j = json.loads(l)
        if j.get("event_type") == "tls":
            ev.setdefault((j["src_ip"], str(j["src_port"]), j["dest_ip"], str(j["dest_port"])), j["tls"])
    return ev

expected = {}
if os.path.exists(exp_path):
    for line in open(exp_path):
        if line.strip() and not line.startswith("#"):
            p = line.rstrip("\n").split("\t")
            expected[(p[0], p[1])] = p[2] if len(p) > 2 else ""
seen = set()
rows = [l.split("\t") for l in open(os.path.join(corpus, "MANIFEST.tsv")).read().splitlines()[1:]]
def both(r):
    """tshark's and our view of one capture (ours only where tshark saw TLS)."""
    path = os.path.join(corpus, r[0])
    t = tshark(path)
    return t, (ours(path) if t else None)

# two captures at a time (2 cores; each pass is one process), results in order
with ThreadPoolExecutor(max_workers=2) as pool:
    results = list(pool.map(both, rows))
for r, (t, o) in zip(rows, results):
    f = r[0]
    if not t:
        continue
    diffs = []
    for k, c in sorted(t.items()):
        e = o.get(k)
        who = "%s:%s" % (k[0], k[1])
        if e is None:
            diffs.append("%s missing" % who)
            continue
        if c["sni"] != (e.get("sni") or "-"):
            diffs.append("%s sni tshark=%s ours=%s" % (who, c["sni"], e.get("sni") or "-"))
        if c["sh"] != bool(e.get("server_hello_seen")):
            diffs.append("%s server_hello tshark=%s ours=%s" % (who, c["sh"], e.get("server_hello_seen")))
        elif c["sh"]:
            if c.get("cipher_code") != e.get("cipher_code"):
                diffs.append("%s cipher tshark=%s ours=%s" % (who, c.get("cipher_code"), e.get("cipher_code")))
            ev = e.get("version") or "-"
            if c["version"] != ev and not (c["version"].startswith("0x7") or ev.startswith("TLSv1.3-")):
                diffs.append("%s version tshark=%s ours=%s" % (who, c["version"], ev))
        la = [a for a in e.get("alerts", []) if not a.get("encrypted")]
        our_alert = la[-1]["code"] if la else None
        if c["alert"] != "-" and str(our_alert) != c["alert"]:
            diffs.append("%s last_alert tshark=%s ours=%s" % (who, c["alert"], our_alert))
    key = (f, "; ".join(diffs))
    seen.add(key)
    if not diffs:
        print("PASS tshark %s: %d TLS connection(s) agree" % (f, len(t)))
    elif key in expected:
        print("PASS tshark %s: known difference (%s)" % (f, expected[key]))
    else:
        print("FAIL tshark %s: %s" % (f, key[1]))
for k in expected:
    if k not in seen:
        print("FAIL tshark %s: expected difference no longer seen: %s" % k)
