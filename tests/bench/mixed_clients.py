#!/usr/bin/python3
"""Clients of tests/bench/gen_mixed.sh (run inside its network namespace).

Real OpenSSL clients (python3's ssl module is OpenSSL) against the
s_server -WWW instances gen_mixed.sh starts on loopback:
  4433, 4437, 4438  TLS 1.2/1.3, IPv4   4434  the same, IPv6 (::1)
  4435  TLS 1.2 only                     4436  client certificate required
(s_server serves one connection at a time: three of the main kind.)
Each connection asks for one file (2 KB .. 6 MB) with HTTP/1.0 and reads to
the end. The mix is drawn from a fixed seed, so a run is reproducible in
kind (not in bytes: keys and randoms are new every run). Several workers
run at once so that connections interleave in the capture. Every socket
has a timeout; the number of connections is bounded by --connections.
"""
import argparse
import random
import socket
import ssl
import struct
import sys
import threading
import time

SIZES = [("f2", 30), ("f8", 25), ("f32", 20), ("f128", 12), ("f512", 8), ("f2048", 4), ("f6144", 1)]
REUSED_PORTS = list(range(40100, 40116))


def pick_size(rng):
    r = rng.uniform(0, sum(w for _, w in SIZES))
    for name, w in SIZES:
        r -= w
        if r <= 0:
            return name
    return SIZES[0][0]


def plan(n, seed):
    """One dict per connection: what it does."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        c = {"i": i, "file": pick_size(rng), "host": "127.0.0.1", "port": rng.choice([4433, 4437, 4438]),
             "tls13": rng.random() < 0.5, "resume": rng.random() < 0.3,
             "fail": None, "bind": None}
        r = rng.random()
        if r < 0.06:
            c["host"], c["port"] = "::1", 4434
        elif r < 0.0735:
            c["fail"] = "version"      # TLS 1.3 only against a TLS 1.2-only server
            c["port"], c["tls13"], c["resume"] = 4435, True, False
        elif r < 0.087:
            c["fail"] = "no_client_cert"
            c["port"], c["resume"] = 4436, False
        elif r < 0.10:
            c["fail"] = "untrusted"     # the client does not trust the server's chain
            c["resume"] = False
        if c["fail"] is None and c["port"] in (4433, 4437, 4438) and rng.random() < 0.04:
            c["bind"] = rng.choice(REUSED_PORTS)  # the 4-tuple of an earlier connection
        out.append(c)
    return out


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = self.ok = self.resumed = self.failed = self.unexpected = 0
        self.v6 = self.reused = self.bytes = 0
        self.errors = []


CONTEXTS = {}
CTX_LOCK = threading.Lock()


def context(args, tls13, untrusted):
    """One context per kind: a session can only be resumed from its own."""
    with CTX_LOCK:
        k = (tls13, untrusted)
        if k not in CONTEXTS:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(args.rogue if untrusted else args.root)
            ctx.check_hostname = True
            if tls13:
                ctx.minimum_version = ssl.TLSVersion.TLSv1_3
            else:
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            CONTEXTS[k] = ctx
        return CONTEXTS[k]


def run_one(c, args, sessions, st, port_locks):
    fam = socket.AF_INET6 if ":" in c["host"] else socket.AF_INET
    ctx = context(args, c["tls13"], c["fail"] == "untrusted")
    key = (c["host"], c["port"], c["tls13"])
    sess = sessions.get(key) if c["resume"] else None
    lock = port_locks[c["bind"]] if c["bind"] else None
    if lock:
        lock.acquire()
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    got = 0
    resumed = False
    ok = False
    err = None
    t = None
    try:
        if c["bind"]:
            # a reused 4-tuple leaves with a RST (no TIME_WAIT on our side)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.bind((c["host"], c["bind"]))
        s.connect((c["host"], c["port"]))
        t = ctx.wrap_socket(s, server_hostname="server.example", session=sess)
        t.sendall(b"GET /" + c["file"].encode() + b" HTTP/1.0\r\n\r\n")
        while True:
            d = t.recv(65536)
            if not d:
                break
            got += len(d)
        resumed = t.session_reused
        if t.session is not None:
            sessions[key] = t.session
        ok = got > 0
    except Exception as e:  # noqa: BLE001 -- any failure ends this connection, never the run
        err = e
    finally:
        # always closed now: a socket left to the garbage collector keeps
        # its s_server (one connection at a time) waiting
        for sock in (t, s):
            try:
                if sock is not None:
                    sock.close()
            except OSError:
                pass
        if lock:
            lock.release()
    with st.lock:
        st.n += 1
        st.bytes += got
        st.v6 += fam == socket.AF_INET6
        st.reused += c["bind"] is not None
        if c["fail"]:
            if ok:
                st.unexpected += 1
                st.errors.append("connection %d (%s) succeeded" % (c["i"], c["fail"]))
            else:
                st.failed += 1
        elif ok:
            st.ok += 1
            st.resumed += resumed
        else:
            st.unexpected += 1
            st.errors.append("connection %d: %s" % (c["i"], err))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--root", required=True)
    ap.add_argument("--rogue", required=True)
    args = ap.parse_args()
    todo = plan(min(args.connections, 100000), args.seed)
    sessions = {}
    port_locks = {p: threading.Lock() for p in REUSED_PORTS}
    st = Stats()
    nxt = [0]
    qlock = threading.Lock()
    deadline = time.time() + 1000

    def worker():
        while time.time() < deadline:
            with qlock:
                if nxt[0] >= len(todo):
                    return
                c = todo[nxt[0]]
                nxt[0] += 1
            run_one(c, args, sessions, st, port_locks)

    ths = [threading.Thread(target=worker) for _ in range(max(1, min(args.workers, 32)))]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    for e in st.errors[:10]:
        print("unexpected:", e)
    print("mixed: %d connections: %d ok (%d resumed), %d failed as planned, %d unexpected; "
          "%d over IPv6, %d on a reused 4-tuple; %.1f MB of responses"
          % (st.n, st.ok, st.resumed, st.failed, st.unexpected, st.v6, st.reused, st.bytes / 1e6))
    # a few unexpected failures (a timeout under load) do not spoil the capture
    return 0 if st.n == len(todo) and st.unexpected <= max(5, st.n // 100) else 1


if __name__ == "__main__":
    sys.exit(main())
