#!/usr/bin/env python3
"""Judges the runs of test_corrupt_captures.sh (see mutate.py for the
variants and what each must do).

Usage: check_variants.py DIR KEEP_DIR REPRO_PREFIX

DIR holds the variants, variants.tsv and for each variant NAME the files
NAME.rc, NAME.out, NAME.err of `tlswatch -q -r DIR/NAME --all`. Prints
one PASS line per capture and class when every variant passes, a FAIL
line per bad variant (copied to KEEP_DIR, with the command reproducing it),
and per capture one line on the handshakes reported by its boundary
prefixes.
"""
import json
import os
import re
import shutil
import sys

D, KEEP, REPRO = sys.argv[1], sys.argv[2], sys.argv[3]
SAN = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "Sanitizer:DEADLYSIGNAL")
DECIDED = {"established", "resumed", "failed", "renegotiated", "reneg_rejected"}
MAX_FAIL_LINES = 6      # per capture and class; the rest is counted


def load(name):
    p = os.path.join(D, name)
    try:
        rc = int(open(p + ".rc").read().strip())
    except (OSError, ValueError):
        rc = None
    out = open(p + ".out", errors="replace").read() if os.path.exists(p + ".out") else ""
    err = open(p + ".err", errors="replace").read() if os.path.exists(p + ".err") else ""
    return rc, out, err


def tls_events(out):
    ev, bad = [], 0
    for line in out.splitlines():
        try:
            j = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if j.get("event_type") == "tls":
            ev.append(j)
    return ev, bad


def stable(events):
    """events without flow_id (a keyed hash, new key each run)"""
    return [{k: v for k, v in e.items() if k != "flow_id"} for e in events]


def facts(e):
    t = e["tls"]
    return (t.get("outcome"), t.get("version"), t.get("cipher"), t.get("sni"))


def conn(e):
    return (e.get("src_ip"), e.get("src_port"), e.get("dest_ip"), e.get("dest_port"))


rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(D, "variants.tsv")) if l.strip()]
results = {}
for name, cls, label, expect, ref, packet in rows:
    results[name] = load(name)

cache = {}


def events_of(name):
    if name not in cache:
        cache[name] = tls_events(results[name][1])[0]
    return cache[name]


def judge(name, cls, expect, ref, packet):
    """list of problems (empty = pass)"""
    rc, out, err = results[name]
    path = os.path.join(D, name)
    probs = []
    if rc is None:
        return ["not run"]
    if any(s in err for s in SAN):
        first = next(l for l in err.splitlines() if any(s in l for s in SAN))
        probs.append("sanitizer report: " + first.strip()[:200])
    if rc == 124:
        probs.append("timeout (no end within 20 s)")
    elif rc > 128:
        probs.append("killed by signal %d" % (rc - 128))
    elif rc not in (0, 1):
        probs.append("exit %d" % rc)
    lines = err.splitlines()
    if rc == 0 and lines and not probs:
        probs.append("exit 0 with stderr: " + lines[0][:160])
    if rc == 1 and not probs:
        if len(lines) != 1:
            probs.append("exit 1 with %d stderr lines: %s" % (len(lines), " | ".join(lines[:3])[:240]))
        elif not lines[0].startswith("tlswatch: %s: " % path):
            probs.append("error does not name the file: " + lines[0][:200])
        elif " read error" in lines[0] and not re.search(r": packet \d+: ", lines[0]):
            probs.append("read error without packet number: " + lines[0][:200])
    if expect == "ok" and rc != 0 and not probs:
        probs.append("exit %d, expected 0 (a valid file): %s" % (rc, " | ".join(lines[:2])[:200]))
    if expect == "err" and rc != 1 and not probs:
        probs.append("exit %d, expected 1 (a damaged file must be an error)" % rc)
    if expect == "err" and rc == 1 and packet != "-" and not probs:
        want = "tlswatch: %s: packet %s: " % (path, packet)
        if not lines[0].startswith(want):
            probs.append("error names the wrong place (want packet %s): %s" % (packet, lines[0][:200]))
    ev, badjson = tls_events(out)
    if badjson:
        probs.append("%d stdout lines are not JSON" % badjson)
    if ref != "-" and not probs:
        rev = events_of(ref)
        if results[ref][0] != 0:
            probs.append("reference %s itself failed (exit %s)" % (ref, results[ref][0]))
        elif stable(ev) != stable(rev):
            probs.append("tls events differ from the same packets written cleanly (%s): %d vs %d events; %s vs %s"
                         % (ref, len(ev), len(rev), [facts(e) for e in ev][:3], [facts(e) for e in rev][:3]))
    return probs


groups = {}
order = []
for name, cls, label, expect, ref, packet in rows:
    k = (label, cls)
    if k not in groups:
        groups[k] = []
        order.append(k)
    groups[k].append((name, judge(name, cls, expect, ref, packet)))

nfail = 0
for label, cls in order:
    g = groups[(label, cls)]
    bad = [(n, p) for n, p in g if p]
    if not bad:
        print("PASS corrupt %s %s: %d variant(s)" % (label, cls, len(g)))
        continue
    os.makedirs(KEEP, exist_ok=True)
    for n, p in bad[:MAX_FAIL_LINES]:
        shutil.copy(os.path.join(D, n), os.path.join(KEEP, n))
        nfail += 1
        print("FAIL corrupt %s %s %s: %s; reproduce: %s -q -r %s --all"
              % (label, cls, n, "; ".join(p), REPRO, os.path.join(KEEP, n)))
    if len(bad) > MAX_FAIL_LINES:
        for n, p in bad[MAX_FAIL_LINES:]:
            shutil.copy(os.path.join(D, n), os.path.join(KEEP, n))
        print("FAIL corrupt %s %s: %d more bad variant(s) of %d, copied to %s"
              % (label, cls, len(bad) - MAX_FAIL_LINES, len(g), KEEP))

# Boundary prefixes: a handshake reported with its final facts in a prefix
# (decided: established, failed, ...) stays reported so in every longer
# prefix, and a longer prefix never reports fewer handshakes.
for label in dict.fromkeys(r[2] for r in rows):
    bnds = sorted(((int(r[0].split(".")[2]), r[0]) for r in rows
                   if r[2] == label and r[1] == "cut-boundary" and results[r[0]][0] == 0))
    if not bnds:
        continue
    full = events_of(bnds[-1][1])
    final = {}
    for e in full:
        final.setdefault(conn(e), facts(e))
    probs = []
    prev_n = 0
    first_seen = {}
    for k, name in bnds:
        ev = events_of(name)
        if len(ev) < prev_n:
            probs.append("prefix %d reports %d handshake(s), prefix before %d" % (k, len(ev), prev_n))
        prev_n = len(ev)
        got = {}
        for e in ev:
            got.setdefault(conn(e), facts(e))
        for c, f in final.items():
            if c in first_seen:
                if got.get(c) != f:
                    probs.append("%s:%s reported %s from prefix %d on, but %s in prefix %d"
                                 % (c[0], c[1], f[0], first_seen[c], got.get(c), k))
            elif f[0] in DECIDED and got.get(c) == f:
                first_seen[c] = k
    if probs:
        nfail += 1
        print("FAIL corrupt %s prefixes: %s" % (label, "; ".join(probs[:4])))
    else:
        desc = ", ".join("%s %s from packet/block %d" % (final[c][0], c[1], k) for c, k in first_seen.items())
        print("PASS corrupt %s prefixes: %d handshake(s) in the whole capture; a prefix reports each decided one "
              "once complete, and every longer prefix keeps it (%s)" % (label, len(final), desc or "none decided"))
sys.exit(1 if nfail else 0)
