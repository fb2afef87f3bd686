#!/usr/bin/env python3
"""Every finding the shipped rules raise on every capture of the shared corpus
(../shared/corpus/MANIFEST.tsv), compared with the reviewed list in
findings_corpus.expected.

Line format (expected file and --dump):
    capture<TAB>client_ip:port<TAB>rule<TAB>severity<TAB>confidence[  # comment]
A capture without any finding has one line
    capture<TAB>-<TAB>no-findings<TAB>-<TAB>-
and a capture tlswatch cannot read to its end (exit status 1) one more line
    capture<TAB>-<TAB>read-error<TAB>-<TAB>-
so that no capture is skipped silently. Trailing "# ..." comments (review
notes, "# FALSE: <why>" for findings known to be wrong) and comment lines are
ignored when comparing. Prints PASS/FAIL per capture (FAIL with a diff).

Usage: findings_corpus.py            (check; needs TOP and TLSWATCH)
       findings_corpus.py --dump     (print the current lines, for review)
The certificate trust store is fixed: --ca-file /etc/ssl/certs/ca-certificates.crt.
"""
import concurrent.futures, json, os, re, subprocess, sys

top = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
tlswatch = os.environ.get("TLSWATCH") or os.path.join(top, "build", "rel", "tlswatch")
corpus = os.path.join(top, "..", "shared", "corpus")
expected_path = os.path.join(top, "tests", "corpus", "findings_corpus.expected")
CA_FILE = "/etc/ssl/certs/ca-certificates.crt"


def captures():
    out = []
    with open(os.path.join(corpus, "MANIFEST.tsv")) as f:
        for i, line in enumerate(f):
            if i == 0 or not line.strip():
                continue
            out.append(line.split("\t")[0])
    return out


def run_tlswatch(cap, extra=()):
    """(exit status, list of event dicts) for one capture."""
    cmd = [tlswatch, "-q", "--all", "--rules", os.path.join(top, "rules"),
           "--ca-file", CA_FILE] + list(extra) + ["-r", os.path.join(corpus, cap)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    events = []
    for l in p.stdout.splitlines():
        try:
            events.append(json.loads(l))
        except ValueError:
            pass
    return p.returncode, events, p.stderr


def finding_lines(cap):
    rc, events, err = run_tlswatch(cap)
    lines = []
    if rc not in (0, 3):
        # the packets before the error are still analysed: keep their findings
        lines.append(f"{cap}\t-\tread-error\t-\t-")
    for e in events:
        if e.get("event_type") != "finding":
            continue
        fd = e["finding"]
        lines.append(f"{cap}\t{e.get('src_ip')}:{e.get('src_port')}\t{fd['rule']}\t{fd['severity']}\t{fd['confidence']}")
    if not lines:
        lines = [f"{cap}\t-\tno-findings\t-\t-"]
    return sorted(lines), events


def strip(line):
    return re.sub(r"\s+#.*$", "", line.rstrip("\n")).rstrip()


def main():
    caps = captures()
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        results = dict(zip(caps, ex.map(lambda c: finding_lines(c)[0], caps)))
    if "--dump" in sys.argv:
        for c in caps:
            for l in results[c]:
                print(l)
        return 0
    expected = {}
    if os.path.exists(expected_path):
        for line in open(expected_path, encoding="utf-8"):
            if not line.strip() or line.startswith("#"):
                continue
            s = strip(line)
            expected.setdefault(s.split("\t")[0], []).append(s)
    for c in caps:
        got = results[c]
        exp = sorted(expected.pop(c, []))
        if got == exp:
            n = sum(1 for l in got if l.split("\t")[2] not in ("no-findings", "read-error"))
            print(f"PASS findings {c}: {n} finding(s)")
        else:
            print(f"FAIL findings {c}:")
            for l in exp:
                if l not in got or exp.count(l) > got.count(l):
                    print(f"    - {l}")
            for l in got:
                if l not in exp or got.count(l) > exp.count(l):
                    print(f"    + {l}")
    for c in sorted(expected):
        print(f"FAIL findings {c}: listed in findings_corpus.expected but not in MANIFEST.tsv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
