#!/usr/bin/env python3
"""Compare tlswatch's tls events with Zeek's ssl.log baselines in the shared
corpus: version, cipher, server_name, established and last_alert per
connection. Differences must be listed (with the reason) in
tls_vs_zeek.expected; anything else fails. Prints PASS/FAIL lines."""
import glob, json, os, re, subprocess, sys

top = os.environ["TOP"]
tlswatch = os.environ["TLSWATCH"]
corpus = os.path.join(top, "..", "shared", "corpus")
base = os.path.join(corpus, "zeek", "baselines")
expected_path = os.path.join(top, "tests", "corpus", "tls_vs_zeek.expected")

def zver(v):
    m = {"TLSv10": "TLSv1.0", "TLSv11": "TLSv1.1", "TLSv12": "TLSv1.2", "TLSv13": "TLSv1.3",
         "SSLv3": "SSLv3", "SSLv2": "SSLv2"}
    return m.get(v, v)

def read_ssl_log(path):
    fields, rows = None, []
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line and not line.startswith("#") and fields:
            rows.append(dict(zip(fields, line.split("\t"))))
    return rows

def trace_of(d):
    for f in glob.glob(os.path.join(d, "*.test")) + glob.glob(os.path.join(d, "*.zeek")):
        m = re.search(r"-r\s+\$TRACES/(\S+)", open(f, errors="replace").read())
        if m:
            return os.path.join(corpus, "zeek", "Traces", m.group(1))
    return None

expected = {}
if os.path.exists(expected_path):
    for line in open(expected_path):
        if line.strip() and not line.startswith("#"):
            parts = line.rstrip("\n").split("\t")
            expected[(parts[0], parts[1])] = parts[2] if len(parts) > 2 else ""

seen_keys = set()
cache = {}
for d in sorted(glob.glob(os.path.join(base, "*"))):
    log = os.path.join(d, "ssl.log")
    if not os.path.exists(log):
        continue
    trace = trace_of(d)
    if not trace or not os.path.exists(trace):
        continue
    rows = read_ssl_log(log)
    if not rows:
        continue
    if trace not in cache:
        out = subprocess.run([tlswatch, "-q", "--all", "-r", trace], capture_output=True, text=True).stdout
        ev = {}
        for l in out.splitlines():
            j = json.loads(l)
            if j.get("event_type") != "tls":
                continue
            k = (j["src_ip"], str(j["src_port"]), j["dest_ip"], str(j["dest_port"]))
            ev.setdefault(k, j["tls"])  # the first handshake of a connection
        cache[trace] = ev
    ev = cache[trace]
    name = os.path.basename(d)
    diffs = []
    for r in rows:
        k = (r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"])
        t = ev.get(k)
        if t is None:
            diffs.append("%s:%s missing" % (r["id.orig_h"], r["id.orig_p"]))
            continue
        ours = {
            "version": t.get("version") or "-",
            "cipher": t.get("cipher") or "-",
            "server_name": t.get("sni") or "-",
            "established": "T" if t.get("outcome") in ("established", "resumed") else "F",
            "last_alert": (t.get("last_alert") or {}).get("description") or "-",
        }
        theirs = {
            "version": zver(r.get("version", "-")),
            "cipher": r.get("cipher", "-"),
            "server_name": r.get("server_name", "-"),
            "established": r.get("established", "-"),
            "last_alert": r.get("last_alert", "-"),
        }
        for f in ours:
            if f not in r and f != "version":
                continue
            if ours[f] != theirs[f]:
                diffs.append("%s:%s %s zeek=%s ours=%s" % (r["id.orig_h"], r["id.orig_p"], f, theirs[f], ours[f]))
    key = (name, "; ".join(diffs))
    seen_keys.add(key)
    if not diffs:
        print("PASS zeek %s: %d connection(s) agree" % (name, len(rows)))
    elif key in expected:
        print("PASS zeek %s: known difference: %s (%s)" % (name, key[1], expected[key]))
    else:
        print("FAIL zeek %s: %s" % (name, key[1]))
for k in expected:
    if k not in seen_keys:
        print("FAIL zeek %s: expected difference no longer seen: %s" % k)
