#!/usr/bin/python3
"""Clients of tests/gen/gen_incidents.sh (run inside its network namespace).

Real OpenSSL clients (python3's ssl module) against the openssl s_server
instances gen_incidents.sh starts on loopback, one server per cause. Each
cause is given as
    --cause NAME:PORT:SNI:COUNT:NCLIENTS:NET:MODE
and makes COUNT connections to 127.0.0.1:PORT with SNI, each from one of
NCLIENTS source addresses NET.H (picked with a fixed seed, so some
addresses make more connections than others). MODE is the client's
configuration and the outcome it expects:
  healthy    TLS 1.2 or 1.3, trusts the test root, GET / must answer
  verify12   TLS 1.2, trusts the test root, checks the name; must fail
             with the certificate verification error given by --want
  tls13only  TLS 1.3 only; must fail with a protocol_version alert
  cipher12   TLS 1.2 with AES-128-GCM only; must fail with handshake_failure
  nocert12   TLS 1.2 without a client certificate; must fail (alert from
             the server)
One thread per cause (s_server serves one connection at a time), so the
causes interleave in the capture. Every socket has a timeout; every loop
is bounded by COUNT. One line per connection on stdout (TSV):
    cause  src_ip  src_port  connected(0/1)  intended(0/1)  outcome
intended is 1 when the connection ended the way its cause says (the
expectations of the test are derived from these lines only).
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
    """n distinct host numbers in 1..254, spread over both /25 halves."""
    pool = list(range(2, 254))
    rng.shuffle(pool)
    hs = sorted(pool[:n])
    return ["%s.%d" % (net, h) for h in hs]


def make_ctx(args, mode):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(args.root)
    ctx.check_hostname = True
    if mode in ("verify12", "cipher12", "nocert12"):
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if mode == "tls13only":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if mode == "cipher12":
        ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
    return ctx


def judge(name, mode, ok, err):
    """(intended, outcome text) of one connection."""
    if mode == "healthy":
        return ok, "ok" if ok else "error: %r" % (err,)
    if ok:
        return False, "succeeded"
    if mode == "verify12":
        code = getattr(err, "verify_code", None)
        return code == VERIFY_WANT.get(name), "verify_code=%s %s" % (code, getattr(err, "verify_message", err))
    reason = getattr(err, "reason", None) or str(err)
    if mode == "tls13only":
        return reason == "TLSV1_ALERT_PROTOCOL_VERSION", reason
    if mode == "cipher12":
        return reason == "SSLV3_ALERT_HANDSHAKE_FAILURE", reason
    if mode == "nocert12":
        return reason == "SSLV3_ALERT_HANDSHAKE_FAILURE", reason
    return False, "unknown mode"


def run_cause(spec, args, out, lock, deadline):
    name, port, sni, count, ncl, net, mode = spec
    rng = random.Random("%s/%d" % (name, args.seed))
    hosts = hosts_for(net, ncl, rng)
    # every address makes at least one connection, the rest are drawn
    order = hosts + [rng.choice(hosts) for _ in range(count - len(hosts))]
    rng.shuffle(order)
    ctx = make_ctx(args, mode)
    ctx13 = None
    if mode == "healthy":
        ctx13 = make_ctx(args, "healthy")
        ctx13.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    for i, src in enumerate(order):
        if time.monotonic() > deadline:
            with lock:
                out.write("%s\t%s\t0\t0\t0\tnot run (time budget)\n" % (name, src))
            continue
        c = ctx13 if ctx13 is not None and i % 2 else ctx
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
            t = c.wrap_socket(s, server_hostname=sni)
            if mode == "healthy":
                t.sendall(b"GET /index.txt HTTP/1.0\r\n\r\n")
                got = 0
                while True:
                    d = t.recv(65536)
                    if not d:
                        break
                    got += len(d)
                ok = got > 0
            else:
                ok = True
        except Exception as e:  # noqa: BLE001 -- the outcome is recorded, never fatal
            err = e
        finally:
            for sock in (t, s):
                try:
                    if sock is not None:
                        sock.close()
                except OSError:
                    pass
        intended, outcome = judge(name, mode, ok, err)
        with lock:
            out.write("%s\t%s\t%d\t%d\t%d\t%s\n" % (name, src, sport, connected, intended,
                                                    str(outcome).replace("\t", " ").replace("\n", " ")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--cause", action="append", default=[])
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--budget", type=float, default=40.0)
    args = ap.parse_args()
    specs = []
    for c in args.cause:
        name, port, sni, count, ncl, net, mode = c.split(":")
        specs.append((name, int(port), sni, int(count), int(ncl), net, mode))
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
