#!/usr/bin/env python3
"""Fingerprints of the tls events against their references on the shared
corpus (../shared/corpus), per handshake:

1. ja3 / ja3s (and ja3_string / ja3s_string) against tshark 4.0's
   tls.handshake.ja3 / ja3_full / ja3s / ja3s_full, on every TCP capture
   with a ClientHello or ServerHello. Matching is by flow (client and
   server address and port) and order: the n-th handshake of a flow in
   tlswatch (tls.handshakes) against the n-th ClientHello tshark saw on it,
   after the HelloRetryRequest rule (a handshake with hrr holds the second
   ClientHello; tshark's HelloRetryRequest is no ServerHello of ours) and
   the duplicate rule (a second ClientHello without a HelloRetryRequest is
   flagged duplicate_client_hello and not a handshake of its own). Every
   disagreement is a FAIL naming the capture, the flow and the handshake,
   unless tls_vs_tshark-style reasons list it in fingerprints.expected.
2. ja4 / ja4_r against the values published for corpus captures by other
   JA4 implementations: Arkime's expected session fields (arkime/pcap/
   *.test: tls.ja4, tls.ja4_r, per flow), and Suricata's (test.yaml of
   suricata-verify ja4-tls, ja4-tls-quic, bug-5713-02-ja4).

Runtime: one tshark and one tlswatch pass per capture (about 180 small
captures); tshark output is not cached. Prints PASS/FAIL lines."""
import hashlib, json, os, subprocess, sys

top = os.environ["TOP"]
tlswatch = os.environ["TLSWATCH"]
corpus = os.environ.get("TLSWATCH_CORPUS", os.path.join(top, "..", "shared", "corpus"))
exp_path = os.path.join(top, "tests", "corpus", "fingerprints.expected")
HRR_RANDOM = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
# application ports where tshark's own dissector hands over to TLS (STARTTLS)
APP_PORTS = {"21", "25", "110", "143", "389", "587", "3306", "5432", "3389", "1080"}
FIELDS = ["tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
          "tls.handshake.type", "tls.handshake.random", "tls.handshake.ja3", "tls.handshake.ja3_full",
          "tls.handshake.ja3s", "tls.handshake.ja3s_full"]


def tls_ports():
    ports = {}
    path = os.path.join(corpus, "TLS_FACTS.tsv")
    for line in open(path).read().splitlines()[1:]:
        p = line.split("\t")
        if len(p) > 13:
            ports[p[0]] = [x for x in p[13].replace(";", ",").split(",") if x.isdigit() and x not in APP_PORTS]
    return ports


def tshark(path, ports, ooo=True):
    cmd = ["tshark", "-n", "-r", path, "-o", "tcp.reassemble_out_of_order:%s" % ("TRUE" if ooo else "FALSE")]
    for p in ports:
        cmd += ["-d", "tcp.port==%s,tls" % p]
    cmd += ["-Y", "tls.handshake.type == 1 || tls.handshake.type == 2", "-T", "fields",
            "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    flows = {}  # (cip, cport, sip, sport) -> {"C": [(ja3, full)], "S": [(ja3s, full)]}
    streams = {}
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        if not v.get("tcp.stream") or not v.get("tcp.srcport"):
            continue
        # the innermost addresses (tunnels: the outer ones come first)
        src = (v["ipv6.src"] or v["ip.src"]).split("|")[-1] if v["ipv6.src"] and v["ip.src"] else (v["ip.src"] or v["ipv6.src"]).split("|")[-1]
        dst = (v["ipv6.dst"] or v["ip.dst"]).split("|")[-1] if v["ipv6.dst"] and v["ip.dst"] else (v["ip.dst"] or v["ipv6.dst"]).split("|")[-1]
        types = [t for t in v["tls.handshake.type"].split("|") if t in ("1", "2")]
        rnds = v["tls.handshake.random"].split("|") if v["tls.handshake.random"] else []
        ja3 = v["tls.handshake.ja3"].split("|") if v["tls.handshake.ja3"] else []
        ja3f = v["tls.handshake.ja3_full"].split("|") if v["tls.handshake.ja3_full"] else []
        ja3s = v["tls.handshake.ja3s"].split("|") if v["tls.handshake.ja3s"] else []
        ja3sf = v["tls.handshake.ja3s_full"].split("|") if v["tls.handshake.ja3s_full"] else []
        ci = si = 0
        for k, t in enumerate(types):
            rnd = rnds[k].replace(":", "").lower() if k < len(rnds) else ""
            if t == "1":
                key = (src, v["tcp.srcport"], dst, v["tcp.dstport"])
                streams[v["tcp.stream"]] = key
                e = flows.setdefault(key, {"C": [], "S": []})
                e["C"].append((ja3[ci] if ci < len(ja3) else None, ja3f[ci] if ci < len(ja3f) else None))
                ci += 1
            else:
                key = streams.get(v["tcp.stream"], (dst, v["tcp.dstport"], src, v["tcp.srcport"]))
                e = flows.setdefault(key, {"C": [], "S": []})
                hrr = rnd == HRR_RANDOM
                if not hrr:
                    e["S"].append((ja3s[si] if si < len(ja3s) else None, ja3sf[si] if si < len(ja3sf) else None))
                si += 1
    return flows


def both(names, path_of, ports_of):
    """(name, ours, tshark) per capture, two captures at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def one(n):
        o = ours(path_of(n))
        return n, o, tshark_best(path_of(n), ports_of(n), o)
    with ThreadPoolExecutor(max_workers=2) as ex:
        for r in ex.map(one, names):
            yield r


def tshark_best(path, ports, o):
    """tshark with out-of-order reassembly (it then reads hellos sent after
    a retransmitted segment); a flow where it shows fewer hellos than we
    read (it waits forever for a segment the capture lost) is taken from a
    second pass without it."""
    t = tshark(path, ports)
    short = False
    for key, evs in o.items():
        k = match_key(key, t)
        n = sum(1 for e in evs if e.get("server_hello_seen"))
        if k is None or len(t[k]["S"]) < n:
            short = True
    if short:
        t2 = tshark(path, ports, ooo=False)
        for k, v in t2.items():
            if k not in t or len(v["S"]) + len(v["C"]) > len(t[k]["S"]) + len(t[k]["C"]):
                t[k] = v
    return t


def match_key(key, t):
    """Our flow's key in tshark's flows: the same addresses and ports, else
    the one flow with the same ports (tunnels whose inner addresses tshark
    names differently)."""
    if key in t:
        return key
    same = [k for k in t if k[1] == key[1] and k[3] == key[3]]
    return same[0] if len(same) == 1 else None


def ours(path):
    out = subprocess.run([tlswatch, "-q", "--all", "-r", path], capture_output=True, text=True).stdout
    flows = {}
    for l in out.splitlines():
        j = json.loads(l)
        if j.get("event_type") != "tls":
            continue
        key = (j["src_ip"], str(j["src_port"]), j["dest_ip"], str(j["dest_port"]))
        flows.setdefault(key, []).append(j["tls"])
    for evs in flows.values():
        evs.sort(key=lambda t: t.get("handshakes", 0))
    return flows


def compare(f, t, o, expected, seen, counts):
    fails = []
    keys = []
    used = set()
    for key in sorted(o):
        tk = match_key(key, t)
        if tk is not None:
            used.add(tk)
        keys.append((key, tk))
    keys += [(None, k) for k in sorted(set(t) - used)]
    for key, tk in keys:
        tc = list(t.get(tk, {}).get("C", [])) if tk else []
        ts = list(t.get(tk, {}).get("S", [])) if tk else []
        flow = "%s:%s->%s:%s" % (key or tk)
        for ev in (o.get(key, []) if key else []):
            hs = ev.get("handshakes")
            inherited = (ev.get("renegotiation") or {}).get("inherited_negotiation")
            ch_read = ev.get("client_version") is not None and not inherited and ev.get("client_version") != "SSLv2"
            sh_read = ev.get("server_hello_seen") and not inherited and ev.get("version") != "SSLv2"
            if ch_read and ev.get("hrr") and len(tc) >= 2:
                tc.pop(0)  # the first ClientHello; the event holds the second
            if ch_read:
                ref = tc.pop(0) if tc else (None, None)
                if "duplicate_client_hello" in (ev.get("anomalies") or []) and tc:
                    tc.pop(0)
                for name, mine, theirs in (("ja3", ev.get("ja3"), ref[0]), ("ja3_string", ev.get("ja3_string"), ref[1])):
                    counts[name] += 1
                    if mine == theirs:
                        counts[name + "_eq"] += 1
                    else:
                        fails.append((flow, hs, name, mine, theirs))
            if sh_read:
                ref = ts.pop(0) if ts else (None, None)
                for name, mine, theirs in (("ja3s", ev.get("ja3s"), ref[0]), ("ja3s_string", ev.get("ja3s_string"), ref[1])):
                    counts[name] += 1
                    if mine == theirs:
                        counts[name + "_eq"] += 1
                    else:
                        fails.append((flow, hs, name, mine, theirs))
        # hellos tshark fingerprinted that no handshake of ours holds (an
        # SSLv2 hello has no fingerprint on either side)
        for left in tc:
            if left[0]:
                fails.append((flow, "-", "ja3", None, left[0]))
        for left in ts:
            if left[0]:
                fails.append((flow, "-", "ja3s", None, left[0]))
    bad = []
    for flow, hs, name, mine, theirs in fails:
        k = (f, flow, str(hs), name)
        if k in expected:
            seen.add(k)
            continue
        bad.append("FAIL fingerprints %s flow %s handshake %s: %s ours=%s tshark=%s" % (f, flow, hs, name, mine, theirs))
    return bad


def main():
    expected = {}
    if os.path.exists(exp_path):
        for line in open(exp_path):
            if line.strip() and not line.startswith("#"):
                p = line.rstrip("\n").split("\t")
                expected[tuple(p[:4])] = p[4] if len(p) > 4 else ""
    seen = set()
    if len(sys.argv) > 2 and sys.argv[1] == "--pcaps":
        return bundled(sys.argv[2], expected, seen)
    ports = tls_ports()
    counts = {k: 0 for k in ("ja3", "ja3_eq", "ja3_string", "ja3_string_eq", "ja3s", "ja3s_eq", "ja3s_string", "ja3s_string_eq")}
    rows = [l.split("\t") for l in open(os.path.join(corpus, "MANIFEST.tsv")).read().splitlines()[1:]]
    files = [r[0] for r in rows if "dtls" not in r[0].lower() and "quic" not in r[0].lower()]
    ncap = 0
    nbad = 0
    for f, o, t in both(files, lambda f: os.path.join(corpus, f), lambda f: ports.get(f, [])):
        if not t:
            continue
        ncap += 1
        before = dict(counts)
        bad = compare(f, t, o, expected, seen, counts)
        n3 = counts["ja3"] - before["ja3"]
        n3s = counts["ja3s"] - before["ja3s"]
        nbad += len(bad)
        if bad:
            for b in bad[:10]:
                print(b)
            if len(bad) > 10:
                print("FAIL fingerprints %s: %d more disagreements" % (f, len(bad) - 10))
        else:
            print("PASS fingerprints %s: %d ja3 and %d ja3s equal to tshark" % (f, n3, n3s))
    stale(expected, seen, lambda k: "/" in k[0])
    listed = len([k for k in seen if k[0] != "-"])
    print("%s fingerprints summary: %d captures; equal to tshark: ja3 %d of %d, ja3_string %d of %d, ja3s %d of %d, "
          "ja3s_string %d of %d; %d differences explained in fingerprints.expected"
          % ("FAIL" if nbad else "PASS", ncap, counts["ja3_eq"], counts["ja3"], counts["ja3_string_eq"], counts["ja3_string"],
             counts["ja3s_eq"], counts["ja3s"], counts["ja3s_string_eq"], counts["ja3s_string"], listed))
    published_ja4(expected, seen)


def stale(expected, seen, mine):
    """Listed differences (of this mode's captures) that went away."""
    for k in sorted(set(expected) - seen):
        if mine(k):
            print("FAIL fingerprints.expected lists %s, which no longer disagrees" % "\t".join(k))


def bundled(d, expected, seen):
    """The same comparison on the captures of a directory (pcaps/)."""
    import glob
    counts = {k: 0 for k in ("ja3", "ja3_eq", "ja3_string", "ja3_string_eq", "ja3s", "ja3s_eq", "ja3s_string", "ja3s_string_eq")}
    nbad = 0
    paths = sorted(glob.glob(os.path.join(d, "*.pcap")) + glob.glob(os.path.join(d, "*.pcapng")))
    for path, o, t in both(paths, lambda p: p, lambda p: []):
        if not t:
            continue
        bad = compare(os.path.basename(path), t, o, expected, seen, counts)
        nbad += len(bad)
        for b in bad[:10]:
            print(b)
    stale(expected, seen, lambda k: "/" not in k[0])
    print("%s fingerprints of %s: ja3 %d of %d, ja3s %d of %d equal to tshark (strings: %d of %d, %d of %d)"
          % ("FAIL" if nbad else "PASS", os.path.basename(d.rstrip("/")), counts["ja3_eq"], counts["ja3"],
             counts["ja3s_eq"], counts["ja3s"], counts["ja3_string_eq"], counts["ja3_string"],
             counts["ja3s_string_eq"], counts["ja3s_string"]))


def published_ja4(expected, seen):
    """ja4/ja4_r against Arkime's and Suricata's expected outputs."""
    import glob
    for test in sorted(glob.glob(os.path.join(corpus, "arkime", "pcap", "*.test"))):
        pcap = test[:-5] + ".pcap"
        if not os.path.exists(pcap) or "dtls" in test:
            continue
        try:
            sessions = json.load(open(test)).get("sessions3", [])
        except ValueError:
            continue
        o = ours(pcap)
        name = os.path.relpath(pcap, corpus)
        for s in sessions:
            b = s.get("body", {})
            tls = b.get("tls") or {}
            if "ja4" not in tls:
                continue
            key = (b["source"]["ip"], str(b["source"]["port"]), b["destination"]["ip"], str(b["destination"]["port"]))
            evs = o.get(key, [])
            for fld in ("ja4", "ja4_r"):
                mine = sorted({e.get(fld) for e in evs if e.get(fld)})
                theirs = sorted(set(tls.get(fld, [])))
                flow = "%s:%s->%s:%s" % key
                if mine == theirs:
                    print("PASS ja4 %s flow %s: %s equal to Arkime's (%s)" % (name, flow, fld, ",".join(theirs)[:60]))
                elif (name, flow, "-", fld) in expected:
                    seen.add((name, flow, "-", fld))
                else:
                    print("FAIL ja4 %s flow %s: %s ours=%s Arkime=%s" % (name, flow, fld, mine, theirs))
    suricata = [("suricata-verify/ja4-tls/input.pcap", "t12i1810s1_27d4652c4487_06a4338d0495", "ja4-tls"),
                ("suricata-verify/ja4-tls-quic/input.pcap", "t13d1516h2_8daaf6152771_e5627efa2ab1", "ja4-tls-quic")]
    for rel, want, test in suricata:
        path = os.path.join(corpus, rel)
        got = sorted({e.get("ja4") for evs in ours(path).values() for e in evs if e.get("ja4")})
        if got == [want]:
            print("PASS ja4 %s: %s as Suricata's %s test expects" % (rel, want, test))
        else:
            print("FAIL ja4 %s: ours=%s Suricata's %s test=%s" % (rel, got, test, want))


if __name__ == "__main__":
    main()
