#!/usr/bin/env python3
"""Findings against what the corpus's source projects expect.

  zeek-validation  Zeek ssl.log validation_status (validate-certs baselines) vs our
                   certificate-expired / -unknown-ca / -chain-incomplete / -self-signed /
                   -not-yet-valid findings, per connection.
  zeek-notice      Zeek notice.log notes of the policy/protocols/ssl scripts
                   (expiring-certs, heartbleed, weak-keys) vs the rules they correspond
                   to, per connection of the traces the test reads.
  suricata         suricata-verify test.yaml: tls events with notafter/notbefore (expired /
                   not yet valid at packet time), subject == issuerdn (self-signed), tls.version
                   (obsolete or not), and TLS decoder-event alerts 2230xxx (malformed
                   handshake/certificate) vs our findings on that connection.
  flowtest         CESNET FlowTest: tls_version_error / tls_cipher_error / tls_invalid_cert /
                   tls_malformed_cert vs version-mismatch / cipher-mismatch / a certificate
                   finding; tls_server_version of every other capture vs obsolete-version.

Prints PASS/FAIL per comparison (per connection). Each disagreement must be listed with its
reason in findings_vs_sources.expected as  source<TAB>key<TAB>difference<TAB>reason;
a listed difference prints PASS (with "expected difference"), an unlisted one FAIL, a listed
one that no longer occurs FAIL (stale). Same tlswatch options as findings_corpus.py.
"""
import glob, os, re, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import findings_corpus as fc

corpus, top = fc.corpus, fc.top
ZB = os.path.join(corpus, "zeek", "baselines")
expected_path = os.path.join(top, "tests", "corpus", "findings_vs_sources.expected")
TRUST = {"certificate-expired", "certificate-unknown-ca", "certificate-chain-incomplete",
         "certificate-self-signed", "certificate-not-yet-valid"}

_cache = {}


def analyse(path, extra=()):
    """{client 'ip:port': {"tls": [tls facts...], "rules": set()}} for one capture."""
    key = (path, tuple(extra))
    if key in _cache:
        return _cache[key]
    rc, events, _ = fc.run_tlswatch(os.path.relpath(path, corpus), extra)
    conns = {}
    for e in events:
        if e.get("event_type") not in ("tls", "finding"):
            continue
        c = conns.setdefault(f"{e['src_ip']}:{e['src_port']}", {"tls": [], "rules": set(), "time": e.get("timestamp")})
        if e["event_type"] == "tls":
            c["tls"].append(e["tls"])
        else:
            c["rules"].add(e["finding"]["rule"])
    _cache[key] = conns
    return conns


results = []   # (source, key, difference or "")


def report(source, key, diff):
    results.append((source, key, diff))


def fmt(rules):
    return ",".join(sorted(rules)) or "none"


# ---------------------------------------------------------------- Zeek
def zeek_blocks(path):
    blocks, fields = [], None
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
            blocks.append([])
        elif line and not line.startswith("#") and fields:
            blocks[-1].append(dict(zip(fields, line.split("\t"))))
    return [r for b in blocks for r in b]


def zeek_traces(d):
    out = []
    for f in sorted(glob.glob(os.path.join(d, "*.test")) + glob.glob(os.path.join(d, "*.zeek"))):
        for m in re.finditer(r"-r\s+\$TRACES/(\S+)", open(f, errors="replace").read()):
            p = os.path.join(corpus, "zeek", "Traces", m.group(1))
            if p not in out:
                out.append(p)
    return out


def zeek_params(d):
    """tlswatch --param equivalents of the test's redefs."""
    txt = "".join(open(f, errors="replace").read() for f in glob.glob(os.path.join(d, "*.zeek")) + glob.glob(os.path.join(d, "*.test")))
    extra = []
    m = re.search(r"notify_minimal_key_length\s*=\s*(\d+)", txt)
    if m:
        extra += ["--param", f"min_rsa_bits={m.group(1)}"]
    return extra


VALIDATION = {
    "ok": set(),
    "certificate has expired": {"certificate-expired"},
    "unable to get local issuer certificate": {"certificate-unknown-ca", "certificate-chain-incomplete"},
    "self signed certificate": {"certificate-self-signed"},
    "self-signed certificate": {"certificate-self-signed"},
    "self signed certificate in certificate chain": {"certificate-unknown-ca"},
    "self-signed certificate in certificate chain": {"certificate-unknown-ca"},
    "certificate is not yet valid": {"certificate-not-yet-valid"},
}


def find_conn(traces, orig, extra=()):
    for t in traces:
        if os.path.exists(t):
            c = analyse(t, extra).get(orig)
            if c is not None:
                return t, c
    return None, None


def zeek_validation():
    for d in sorted(glob.glob(os.path.join(ZB, "*"))):
        traces = zeek_traces(d)
        for log in sorted(glob.glob(os.path.join(d, "ssl*.log"))):
            for r in zeek_blocks(log):
                st = r.get("validation_status")
                if st is None or st in ("-", "(empty)"):
                    continue
                orig = f"{r['id.orig_h']}:{r['id.orig_p']}"
                key = f"{os.path.basename(d)}/{os.path.basename(log)} {orig}"
                t, c = find_conn(traces, orig)
                if c is None:
                    report("zeek-validation", key, f"zeek={st} ours=no-tls-event")
                    continue
                ours = c["rules"] & TRUST
                want = VALIDATION.get(st)
                if want is None:
                    report("zeek-validation", key, f"zeek={st} (unmapped) ours={fmt(ours)}")
                elif (not want and not ours) or (want and ours and ours <= want | {"certificate-expired"} and ours & want):
                    report("zeek-validation", key, "")
                else:
                    report("zeek-validation", key, f"zeek={st} ours={fmt(ours)}")


NOTES = {
    "SSL::Certificate_Expired": "certificate-expired",
    "SSL::Certificate_Expires_Soon": "certificate-expiring-soon",
    "SSL::Certificate_Not_Valid_Yet": "certificate-not-yet-valid",
    "SSL::Invalid_Server_Cert": "certificate-invalid",   # any of TRUST
    "Heartbleed::SSL_Heartbeat_Attack": "heartbleed",
    "Heartbleed::SSL_Heartbeat_Attack_Success": "heartbleed",
    "Heartbleed::SSL_Heartbeat_Odd_Length": "heartbleed",
    "Heartbleed::SSL_Heartbeat_Many_Requests": "heartbleed",
    "SSL::Weak_Key": "certificate-weak",
    "SSL::Old_Version": "obsolete-version",
    "SSL::Weak_Cipher": "weak-cipher",
}
# the rules a Zeek policy script's notes correspond to (compared both ways)
SCRIPT_RULES = {
    "expiring-certs": {"certificate-expired", "certificate-expiring-soon", "certificate-not-yet-valid"},
    "heartbleed": {"heartbleed"},
    "weak-keys": {"certificate-weak", "obsolete-version", "weak-cipher"},
    "validate-certs": TRUST,
}


def zeek_notice():
    for d in sorted(glob.glob(os.path.join(ZB, "scripts.policy.protocols.ssl.*"))):
        logs = sorted(glob.glob(os.path.join(d, "notice*.log")))
        script = os.path.basename(d).split("scripts.policy.protocols.ssl.")[-1]
        if not logs or script not in SCRIPT_RULES:
            continue
        covered = SCRIPT_RULES[script]
        traces = [t for t in zeek_traces(d) if os.path.exists(t)]
        extra = zeek_params(d)
        notes = {}
        for log in logs:
            for r in zeek_blocks(log):
                orig = f"{r['id.orig_h']}:{r['id.orig_p']}"
                notes.setdefault(orig, []).append(r.get("note", "?"))
        seen = set()
        for t in traces:
            for orig, c in sorted(analyse(t, extra).items()):
                seen.add(orig)
                zn = notes.get(orig, [])
                want = {NOTES.get(n, n) for n in zn}
                ours = c["rules"] & covered
                if "certificate-invalid" in want:
                    want.discard("certificate-invalid")
                    if ours & TRUST:
                        want |= ours & TRUST
                    else:
                        want.add("certificate-invalid")
                key = f"{os.path.basename(d)} {os.path.relpath(t, corpus)} {orig}"
                if want == ours:
                    report("zeek-notice", key, "")
                else:
                    report("zeek-notice", key, f"zeek={','.join(sorted(set(zn))) or 'none'} ours={fmt(ours)}")
        for orig in sorted(set(notes) - seen):
            report("zeek-notice", f"{os.path.basename(d)} {orig}", f"zeek={','.join(sorted(set(notes[orig])))} ours=no-tls-event")


# ---------------------------------------------------------------- Suricata
OLD = {"SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"}


def suri_version(v):
    v = str(v).strip('"')
    m = {"TLSv1": "TLSv1.0", "TLS 1.1": "TLSv1.1", "TLS 1.2": "TLSv1.2", "TLS 1.3": "TLSv1.3",
         "SSLv2": "SSLv2", "SSLv3": "SSLv3", "SSLv3.0": "SSLv3"}
    if v in m:
        return m[v]
    d = re.match(r"TLS 1\.3 draft-(\d+)", v)
    if d:
        return f"TLSv1.3-draft{d.group(1)}"
    if v == "TLS 1.3 draft-<16":
        return "TLSv1.3-draft<16"
    return v


def suricata():
    try:
        import yaml
    except ImportError:
        report("suricata", "(all)", "python3 yaml module missing")
        return
    base = os.path.join(corpus, "suricata-verify")
    for ty in sorted(glob.glob(os.path.join(base, "**", "test.yaml"), recursive=True)):
        d = os.path.dirname(ty)
        name = os.path.relpath(d, base)
        try:
            doc = yaml.safe_load(open(ty, encoding="utf-8", errors="replace")) or {}
        except yaml.YAMLError:
            continue
        pcap = doc.get("pcap")
        pcap = os.path.normpath(os.path.join(d, pcap)) if pcap else (sorted(glob.glob(os.path.join(d, "*.pcap"))) or [None])[0]
        if not pcap or not os.path.exists(pcap):
            continue
        for i, chk in enumerate(doc.get("checks") or []):
            f = (chk or {}).get("filter") or {}
            m = f.get("match") or {}
            if f.get("count") == 0:
                continue
            conns = analyse(pcap)
            if m.get("event_type") == "alert" and 2230000 <= int(m.get("alert.signature_id") or 0) < 2231000:
                sid = int(m["alert.signature_id"])
                ours = set().union(*[c["rules"] for c in conns.values()]) if conns else set()
                certs = {r for r in ours if r.startswith("certificate-") or r == "fatal-alert"}
                key = f"{name} sid {sid}"
                report("suricata", key, "" if certs else f"suricata=decoder-event-{sid} ours={fmt(ours)}")
                continue
            if m.get("event_type") != "tls":
                continue
            cand = [(o, c) for o, c in conns.items() if c["tls"]]
            if "src_port" in m:
                cand = [(o, c) for o, c in cand if o.endswith(f":{m['src_port']}")]
            na, nb = m.get("tls.notafter"), m.get("tls.notbefore")
            if na:
                cand = [(o, c) for o, c in cand if any(((t.get("server_cert") or {}).get("not_after") or "").startswith(str(na)) for t in c["tls"])]
            ver = suri_version(m["tls.version"]) if "tls.version" in m else None
            if not cand:
                if na or ver or ("tls.subject" in m and m.get("tls.subject") == m.get("tls.issuerdn")):
                    report("suricata", f"{name} check {i}", "suricata=tls-event ours=no-matching-tls-event")
                continue
            for o, c in cand:
                key = f"{name} check {i} {o}"
                t = c["tls"][0]
                diffs = []
                if na or nb:
                    import datetime
                    when = datetime.datetime.fromisoformat(c["time"].replace("Z", "+00:00")).timestamp()
                    sc = t.get("server_cert") or {}
                    exp = sc.get("not_after_epoch") is not None and sc["not_after_epoch"] < when
                    nyv = sc.get("not_before_epoch") is not None and sc["not_before_epoch"] > when
                    if exp != ("certificate-expired" in c["rules"]):
                        diffs.append(f"notafter={na} expired-at-packet-time={exp} ours-expired={'certificate-expired' in c['rules']}")
                    if nyv != ("certificate-not-yet-valid" in c["rules"]):
                        diffs.append(f"notbefore={nb} not-yet-valid={nyv} ours-not-yet-valid={'certificate-not-yet-valid' in c['rules']}")
                if "tls.subject" in m and "tls.issuerdn" in m:
                    ss = m["tls.subject"] == m["tls.issuerdn"]
                    if ss != ("certificate-self-signed" in c["rules"]):
                        diffs.append(f"suricata subject{'==' if ss else '!='}issuerdn ours-self-signed={'certificate-self-signed' in c['rules']}")
                if ver:
                    old = ver in OLD
                    if old != ("obsolete-version" in c["rules"]):
                        diffs.append(f"suricata version {ver} ours={t.get('version')} obsolete-version={'obsolete-version' in c['rules']}")
                    if "version-mismatch" in c["rules"]:
                        diffs.append(f"suricata version {ver} negotiated but ours=version-mismatch")
                if na or nb or ver or "tls.subject" in m:
                    report("suricata", key, "; ".join(diffs))
    # ssl_version rules without tls events: ssl_version_negated expects 12 alerts on
    # 'ssl_version:tls1.0' (sid 3) and none on 'ssl_version:!tls1.0' (sid 4): every TLS
    # connection of the capture is TLS 1.0, so each must get obsolete-version.
    p = os.path.join(base, "ssl_version_negated", "input.pcap")
    for o, c in sorted(analyse(p).items()):
        if c["tls"]:
            report("suricata", f"ssl_version_negated ssl_version:tls1.0 {o}",
                   "" if "obsolete-version" in c["rules"] else f"suricata=tls1.0 ours={fmt(c['rules'])}")


# ---------------------------------------------------------------- FlowTest
def flowtest():
    try:
        import yaml
    except ImportError:
        report("flowtest", "(all)", "python3 yaml module missing")
        return
    base = os.path.join(corpus, "flowtest")
    want_by_name = {
        "tls_version_error": ({"version-mismatch"}, "version-mismatch"),
        "tls_cipher_error": ({"cipher-mismatch"}, "cipher-mismatch"),
        "tls_invalid_cert": (None, "a certificate-* finding"),
        "tls_malformed_cert": (None, "a certificate-* finding"),
    }
    for y in sorted(glob.glob(os.path.join(base, "validation", "*.yml"))):
        doc = yaml.safe_load(open(y)) or {}
        name = os.path.splitext(os.path.basename(y))[0]
        pcap = os.path.join(base, "pcap", doc.get("pcap", name + ".pcap"))
        conns = analyse(pcap)
        for fl in doc.get("flows") or []:
            if "tls_server_version" not in fl and "tls_client_version" not in fl:
                continue
            o = f"{fl.get('src_ip')}:{fl.get('src_port')}"
            c = conns.get(o)
            key = f"{name} {o}"
            if c is None:
                report("flowtest", key, "flowtest=tls-flow ours=no-tls-event")
                continue
            rules = c["rules"]
            if name in want_by_name:
                want, label = want_by_name[name]
                ok = (want <= rules) if want else any(r.startswith("certificate-") for r in rules)
                report("flowtest", key, "" if ok else f"flowtest={name} wants {label} ours={fmt(rules)}")
                continue
            sv = fl.get("tls_server_version")
            if isinstance(sv, str):
                sv = int(sv, 0)
            old = sv in (0x0002, 0x0300, 0x0301, 0x0302)
            diffs = []
            if old != ("obsolete-version" in rules):
                diffs.append(f"server version 0x{sv:04x} ours obsolete-version={'obsolete-version' in rules}")
            bad = rules & {"version-mismatch", "cipher-mismatch", "fatal-alert", "handshake-aborted"}
            if bad:
                diffs.append(f"successful handshake but ours={fmt(bad)}")
            report("flowtest", key, "; ".join(diffs))


def main():
    zeek_validation()
    zeek_notice()
    suricata()
    flowtest()
    if "--dump" in sys.argv:
        for s, k, dif in results:
            if dif:
                print(f"{s}\t{k}\t{dif}\t")
        return 0
    expected = {}
    if os.path.exists(expected_path):
        for line in open(expected_path, encoding="utf-8"):
            if line.strip() and not line.startswith("#"):
                p = line.rstrip("\n").split("\t")
                expected[(p[0], p[1])] = (p[2] if len(p) > 2 else "", p[3] if len(p) > 3 else "")
    for s, k, dif in results:
        e = expected.pop((s, k), None)
        if not dif and e is None:
            print(f"PASS {s} {k}")
        elif dif and e is not None and e[0] == dif:
            print(f"PASS {s} {k}: expected difference ({e[1]})")
        elif dif:
            print(f"FAIL {s} {k}: {dif}" + (f" (expected file says: {e[0]})" if e else " (not in findings_vs_sources.expected)"))
        else:
            print(f"FAIL {s} {k}: now agrees, remove it from findings_vs_sources.expected")
    for (s, k), (dif, _) in sorted(expected.items()):
        print(f"FAIL {s} {k}: listed difference no longer compared ({dif})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
