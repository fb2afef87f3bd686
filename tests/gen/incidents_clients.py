#!/usr/bin/python3
"""Clients of tests/gen/gen_incidents.sh (run inside its network namespace).

Real OpenSSL clients (python3's ssl module) against the servers
gen_incidents.sh starts on loopback, one server per cause. Each cause is
given as
    --cause NAME:PORT:SNI:COUNT:NCLIENTS:NET:MODE:VERS
and makes COUNT connections to 127.0.0.1:PORT with SNI, each from one of
NCLIENTS source addresses NET.H (picked with a fixed seed, so some
addresses make more connections than others). VERS is the version the
client is limited to: 12, 13, or mix (alternately). MODE is the client's
configuration and the outcome it expects:
  healthy    trusts the test root; GET /index.txt must be answered
  verify     trusts the test root, checks the name; must fail with the
             certificate verification error of the cause (VERIFY_WANT)
  tls13only  TLS 1.3 only (VERS ignored); must get a protocol_version alert
  cipher     AES-128-GCM suites only; must get handshake_failure
  nocert     no client certificate; must get the server's alert
             (handshake_failure in TLS 1.2, certificate_required in 1.3,
             which arrives after the client's Finished: read for it)
One thread per cause (s_server serves one connection at a time), so the
causes interleave in the capture. Every socket has a timeout; every loop
is bounded by COUNT and by --budget seconds. With --keylog the clients
write their secrets there (SSLKEYLOGFILE format). One line per connection
on stdout (TSV):
    cause  src_ip  src_port  connected(0/1)  intended(0/1)  outcome  version
intended is 1 when the connection ended the way its cause says (the
expectations of the test are derived from these lines only); version is
the version the client was limited to (12 or 13).
"""
import argparse
import random
import socket
import ssl
import sys
import threading
import time

# verify codes of X509_V_ERR_*: what the client must see for each cause
VERIFY_WANT = {"expired": 10, "unknown-ca": 19, "self-signed": 18, "name-mismatch": 62}


def hosts_for(net, n, rng):
    """n distinct host numbers in 2..253, spread over both /25 halves."""
    pool = list(range(2, 254))
    rng.shuffle(pool)
    hs = sorted(pool[:n])
    return ["%s.%d" % (net, h) for h in hs]


def make_ctx(args, mode, vers):
    """The client's context: mode as above, vers "12" or "13" (the version
    it is limited to; tls13only is always TLS 1.3 only)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(args.root)
    ctx.check_hostname = True
    if args.keylog:
        ctx.keylog_filename = args.keylog
    if mode == "tls13only" or vers == "13":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    else:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if mode == "cipher":
        ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
    return ctx


def judge(name, mode, vers, ok, err):
    """(intended, outcome text) of one connection."""
    if mode == "healthy":
        return ok, "ok" if ok else "error: %r" % (err,)
    if ok:
        return False, "succeeded"
    if mode == "verify":
        code = getattr(err, "verify_code", None)
        return code == VERIFY_WANT.get(name), "verify_code=%s %s" % (code, getattr(err, "verify_message", err))
    reason = getattr(err, "reason", None) or str(err)
    want = {"tls13only": "TLSV1_ALERT_PROTOCOL_VERSION", "cipher": "SSLV3_ALERT_HANDSHAKE_FAILURE",
            "nocert": "TLSV13_ALERT_CERTIFICATE_REQUIRED" if vers == "13" else "SSLV3_ALERT_HANDSHAKE_FAILURE"}
    return reason == want.get(mode), reason


def run_cause(spec, args, out, lock, deadline):
    name, port, sni, count, ncl, net, mode, vers = spec
    rng = random.Random("%s/%d" % (name, args.seed))
    hosts = hosts_for(net, ncl, rng)
    # every address makes at least one connection, the rest are drawn
    order = hosts + [rng.choice(hosts) for _ in range(count - len(hosts))]
    rng.shuffle(order)
    ctxs = {v: make_ctx(args, mode, v) for v in ("12", "13")}
    for i, src in enumerate(order):
        v = ("12", "13")[i % 2] if vers == "mix" else vers
        if mode == "tls13only":
            v = "13"
        if time.monotonic() > deadline:
            with lock:
                out.write("%s\t%s\t0\t0\t0\tnot run (time budget)\t%s\n" % (name, src, v))
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        t = None
        ok = connected = False
        err = None
        sport = 0
        try:
            s.bind((src, 0))
            sport = s.getsockname()[1]
            s.connect(("127.0.0.1", port))
            connected = True
            t = ctxs[v].wrap_socket(s, server_hostname=sni)
            t.sendall(b"GET /index.txt HTTP/1.0\r\n\r\n")
            got = 0
            while True:
                d = t.recv(65536)
                if not d:
                    break
                got += len(d)
            ok = got > 0
        except Exception as e:  # noqa: BLE001 -- the outcome is recorded, never fatal
            err = e
        finally:
            for sock in (t, s):
                try:
                    if sock is not None:
                        sock.close()
                except OSError:
                    pass
        intended, outcome = judge(name, mode, v, ok, err)
        with lock:
            out.write("%s\t%s\t%d\t%d\t%d\t%s\t%s\n" % (name, src, sport, connected, intended,
                                                        str(outcome).replace("\t", " ").replace("\n", " "), v))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--cause", action="append", default=[])
    ap.add_argument("--keylog", default=None)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--budget", type=float, default=40.0)
    args = ap.parse_args()
    specs = []
    for c in args.cause:
        name, port, sni, count, ncl, net, mode, vers = c.split(":")
        specs.append((name, int(port), sni, int(count), int(ncl), net, mode, vers))
    lock = threading.Lock()
    deadline = time.monotonic() + args.budget
    threads = [threading.Thread(target=run_cause, args=(sp, args, sys.stdout, lock, deadline)) for sp in specs]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
