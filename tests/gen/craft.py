#!/usr/bin/python3
"""craft.py OUTDIR -- crafted captures for what the real stacks in tests/gen
cannot produce (heartbleed, SSLv3, RC4/3DES/NULL/EXPORT suites, a ClientHello
after a TLS 1.3 handshake, a cleartext HelloRequest).

Each one starts from a REAL capture already in OUTDIR (made by make-pcaps.sh
from OpenSSL), edits the TLS bytes at the record / handshake-message level
(every length field rebuilt from the edited structures), then recomputes TCP
sequence/ack numbers, IPv4 lengths and all checksums. Writes
OUTDIR/crafted-*.pcap and checks each with tshark (TLS decoding on ports
4400-4499, record desegmentation on). See pcaps/MANIFEST.md, "Crafted".

Run with Debian's /usr/bin/python3 (scapy). Exit status 1 if a source
capture is missing or a tshark check fails.
"""
import os
import random
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcaptool import read_pcap, write_pcap  # noqa: E402
from scapy.all import IP, TCP, Ether, Raw  # noqa: E402

MSS = 1448
RND = random.Random(0x7157)


def rbytes(n):
    return bytes(RND.getrandbits(8) for _ in range(n))


# ------------------------------------------------------------------ TLS bytes
def parse_records(b):
    """Complete records of one TCP payload -> [[type, version, body]]."""
    out, o = [], 0
    while o < len(b):
        if o + 5 > len(b):
            raise ValueError("partial record header")
        t, v, n = struct.unpack("!BHH", b[o:o + 5])
        if o + 5 + n > len(b):
            raise ValueError("record spans segments")
        out.append([t, v, b[o + 5:o + 5 + n]])
        o += 5 + n
    return out


def ser_records(recs):
    return b"".join(struct.pack("!BHH", t, v, len(body)) + body for t, v, body in recs)


def hs_msg(htype, body):
    return struct.pack("!B", htype) + struct.pack("!I", len(body))[1:] + body


def hs_type(rec):
    return rec[2][0] if rec[0] == 22 and rec[2] else None


def vec(b, o, lenlen):
    n = int.from_bytes(b[o:o + lenlen], "big")
    return b[o + lenlen:o + lenlen + n], o + lenlen + n


def parse_exts(b):
    out, o = [], 0
    while o < len(b):
        t, n = struct.unpack("!HH", b[o:o + 4])
        out.append((t, b[o + 4:o + 4 + n]))
        o += 4 + n
    return out


def ser_exts(exts):
    if exts is None:
        return b""
    body = b"".join(struct.pack("!HH", t, len(d)) + d for t, d in exts)
    return struct.pack("!H", len(body)) + body


class ClientHello:
    def __init__(self, body):  # body: handshake message body (after type/len)
        self.version = struct.unpack("!H", body[:2])[0]
        self.random = body[2:34]
        self.sid, o = vec(body, 34, 1)
        cs, o = vec(body, o, 2)
        self.ciphers = [struct.unpack("!H", cs[i:i + 2])[0] for i in range(0, len(cs), 2)]
        self.comp, o = vec(body, o, 1)
        self.exts = parse_exts(vec(body, o, 2)[0]) if o < len(body) else None

    def msg(self):
        cs = b"".join(struct.pack("!H", c) for c in self.ciphers)
        body = (struct.pack("!H", self.version) + self.random + bytes([len(self.sid)]) + self.sid +
                struct.pack("!H", len(cs)) + cs + bytes([len(self.comp)]) + self.comp + ser_exts(self.exts))
        return hs_msg(1, body)


class ServerHello:
    def __init__(self, body):
        self.version = struct.unpack("!H", body[:2])[0]
        self.random = body[2:34]
        self.sid, o = vec(body, 34, 1)
        self.cipher = struct.unpack("!H", body[o:o + 2])[0]
        self.comp = body[o + 2]
        o += 3
        self.exts = parse_exts(vec(body, o, 2)[0]) if o < len(body) else None

    def msg(self):
        body = (struct.pack("!H", self.version) + self.random + bytes([len(self.sid)]) + self.sid +
                struct.pack("!HB", self.cipher, self.comp) + ser_exts(self.exts))
        return hs_msg(2, body)


# ------------------------------------------------------------------ TCP level
class Conn:
    """The TCP connection of a capture as a list of packets whose payloads
    are edited as lists of TLS records; seq/ack/checksums rebuilt on save."""

    def __init__(self, path):
        self.linktype, raw = read_pcap(path)
        if self.linktype != 1:
            raise SystemExit("%s: expected Ethernet" % path)
        self.pkts = []
        client = None
        for sec, usec, b in raw:
            p = Ether(b)
            if TCP not in p or IP not in p:
                continue
            if client is None and p[TCP].flags.S and not p[TCP].flags.A:
                client = (p[IP].src, p[TCP].sport)
            d = 0 if (p[IP].src, p[TCP].sport) == client else 1
            pay = bytes(p[TCP].payload)
            p[TCP].remove_payload()
            self.pkts.append({"t": sec * 1000000 + usec, "dir": d, "p": p, "pay": pay})
        self.isn = {}
        for k in self.pkts:
            if k["p"][TCP].flags.S and k["dir"] not in self.isn:
                self.isn[k["dir"]] = k["p"][TCP].seq

    def recs(self, i):
        return parse_records(self.pkts[i]["pay"])

    def set_recs(self, i, recs):
        self.pkts[i]["pay"] = ser_records(recs)

    def find(self, pred):
        """Index of the first packet whose records satisfy pred(dir, recs)."""
        for i, k in enumerate(self.pkts):
            if k["pay"] and pred(k["dir"], parse_records(k["pay"])):
                return i
        raise SystemExit("craft: packet not found")

    def find_hs(self, htype):
        return self.find(lambda d, rs: any(hs_type(r) == htype for r in rs))

    def map_records(self, fn):
        """fn(dir, rec, index_in_stream) -> rec or None (drop), on every record."""
        for k in self.pkts:
            if not k["pay"]:
                continue
            out = []
            for r in parse_records(k["pay"]):
                r2 = fn(k["dir"], r)
                if r2 is not None:
                    out.append(r2)
            k["pay"] = ser_records(out)

    def insert(self, after, d, payload):
        """Insert packets from direction d carrying payload after packet index
        `after` (split at the MSS); returns the index of the last one."""
        tmpl = next(k for k in reversed(self.pkts[:after + 1]) if k["dir"] == d and not k["p"][TCP].flags.S)
        t = self.pkts[after]["t"]
        i = after
        for o in range(0, len(payload), MSS):
            p = tmpl["p"].copy()
            p[TCP].flags = "PA" if o + MSS >= len(payload) else "A"
            t += 2
            i += 1
            self.pkts.insert(i, {"t": t, "dir": d, "p": p, "pay": payload[o:o + MSS]})
        return i

    def save(self, path):
        nxt = dict(self.isn)
        out, last_t = [], 0
        pkts = []
        for k in self.pkts:  # an edit may have grown a payload beyond the MSS: resegment
            pay = k["pay"]
            while len(pay) > MSS:
                p = k["p"].copy()
                p[TCP].flags = "A"
                pkts.append({"t": k["t"], "dir": k["dir"], "p": p, "pay": pay[:MSS]})
                pay = pay[MSS:]
            pkts.append(dict(k, pay=pay))
        for k in pkts:
            p, d = k["p"].copy(), k["dir"]
            f = p[TCP].flags
            p[TCP].seq = nxt[d] & 0xFFFFFFFF
            nxt[d] += len(k["pay"]) + (1 if f.S else 0) + (1 if f.F else 0)
            if f.A:
                p[TCP].ack = nxt[1 - d] & 0xFFFFFFFF
            if k["pay"]:
                p = p / Raw(k["pay"])
            del p[IP].len, p[IP].chksum, p[TCP].chksum
            t = max(k["t"], last_t + 1)
            last_t = t
            out.append((t // 1000000, t % 1000000, bytes(p)))
        write_pcap(path, self.linktype, out)


def edit_hello(conn, htype, fn):
    """Apply fn to the ClientHello/ServerHello object, re-serialize it."""
    i = conn.find_hs(htype)
    recs = conn.recs(i)
    for r in recs:
        if hs_type(r) == htype:
            obj = (ClientHello if htype == 1 else ServerHello)(r[2][4:])
            fn(obj)
            r[2] = obj.msg()
    conn.set_recs(i, recs)
    return i


def after_ccs_rewriter(sizes, contents=None):
    """map_records callback: records after each side's ChangeCipherSpec get
    bodies of plausible sizes for the new cipher. sizes(type, old_len) -> n;
    contents(dir, type, n, old) -> bytes (default random)."""
    state = {0: False, 1: False}

    def fn(d, r):
        if r[0] == 20:
            state[d] = True
            return r
        if state[d]:
            n = sizes(r[0], len(r[2]))
            r[2] = contents(d, r[0], n, r[2]) if contents else rbytes(n)
        return r
    return fn


def set_version(v):
    def fn(d, r):
        if not (hs_type(r) == 1 and v >= 0x0301):  # ClientHello records stay 0x0301, as sent by OpenSSL
            r[1] = v
        return r
    return fn


# ------------------------------------------------------------------ captures
def heartbleed(src, out):
    c = Conn(src)
    hb = (15, b"\x01")  # heartbeat extension, peer_allowed_to_send
    edit_hello(c, 1, lambda ch: ch.exts.append(hb))
    edit_hello(c, 2, lambda sh: sh.exts.append(hb))
    i = c.find_hs(14)  # ServerHelloDone
    # request: type 1, payload_length 4000, no payload, no padding (record length 3)
    i = c.insert(i, 0, ser_records([[24, 0x0303, b"\x01" + struct.pack("!H", 4000)]]))
    # response: type 2, payload_length 4000, 4000 bytes of "server memory", 16 bytes padding
    resp = b"\x02" + struct.pack("!H", 4000) + rbytes(4000) + rbytes(16)
    c.insert(i, 1, ser_records([[24, 0x0303, resp]]))
    c.save(out)


def cipher_swap(src, out, version, suite, offered, sizes, contents=None, ske=None, cke=None, drop_nst=False,
                strip_exts=False, not_cbc=False):
    """weak-cipher.pcap (static RSA, AES128-SHA, TLS 1.2) rewritten to another
    version/suite: hellos, record versions, key exchange, and the sizes (or
    contents) of the encrypted records."""
    c = Conn(src)

    def ch_fn(ch):
        ch.version = version
        ch.ciphers = offered
        if strip_exts:
            ch.exts = None
    edit_hello(c, 1, ch_fn)

    def sh_fn(sh):
        sh.version = version
        sh.cipher = suite
        if strip_exts:
            sh.exts = None
        elif not_cbc:  # encrypt_then_mac (22) is only negotiated for CBC suites
            sh.exts = [e for e in sh.exts if e[0] != 22]
    edit_hello(c, 2, sh_fn)
    if ske is not None:  # insert a ServerKeyExchange record after the Certificate
        i = c.find_hs(11)
        recs = c.recs(i)
        j = next(n for n, r in enumerate(recs) if hs_type(r) == 11)
        recs.insert(j + 1, [22, 0x0303, hs_msg(12, ske)])
        c.set_recs(i, recs)
    if cke is not None or drop_nst:
        def kx(d, r):
            if cke is not None and hs_type(r) == 16:
                r[2] = hs_msg(16, cke(r[2][4:]))
            if drop_nst and hs_type(r) == 4:
                return None
            return r
        c.map_records(kx)
    c.map_records(after_ccs_rewriter(sizes, contents))
    c.map_records(set_version(version))
    c.save(out)


def sslv3_rc4(src, out):
    # SSLv3: no extensions, no tickets, ClientKeyExchange without the 2-byte
    # length; RC4-SHA: Finished 36+4 bytes + 20-byte MAC, alert 2 + 20
    cipher_swap(src, out, 0x0300, 0x0005, [0x0005, 0x0004, 0x000a, 0x00ff],
                lambda t, n: {22: 60, 21: 22}.get(t, n),
                cke=lambda b: b[2:], drop_nst=True, strip_exts=True)


def tls12_3des(src, out):
    # TLS 1.2 3DES-CBC-SHA: 8-byte explicit IV + (plaintext + 20 MAC + pad) to 8
    def sz(t, n):
        plain = {22: 16, 21: 2}.get(t, max(n - 52, 1))
        return 8 + (plain + 20 + 8) // 8 * 8
    cipher_swap(src, out, 0x0303, 0x000a, [0x000a, 0x002f, 0x0035, 0x00ff], sz)


def tls12_null(src, out):
    # TLS_RSA_WITH_NULL_SHA: records after CCS are plaintext + 20-byte MAC
    def sz(t, n):
        return {22: 16 + 20, 21: 2 + 20}.get(t, n)

    def contents(d, t, n, old):
        if t == 22:
            return hs_msg(20, rbytes(12)) + rbytes(20)
        if t == 21:
            return b"\x01\x00" + rbytes(20)
        text = (b"GET / HTTP/1.0\r\nHost: server.example\r\n\r\n" if d == 0 else
                b"HTTP/1.0 200 OK\r\nContent-Length: 20\r\n\r\nhello from tlswatch\n")
        return text + rbytes(20)
    cipher_swap(src, out, 0x0303, 0x0002, [0x0002, 0x003b, 0x002f, 0x00ff], sz, contents, not_cbc=True)


def tls10_export(src, out):
    # TLS 1.0 TLS_RSA_EXPORT_WITH_RC4_40_MD5: the certificate key is 2048
    # bits, so the server sends a ServerKeyExchange with a 512-bit RSA key
    # (modulus, exponent, then a 2048-bit signature without algorithm in 1.0);
    # the premaster is encrypted to the 512-bit key (64 bytes). RC4-MD5:
    # Finished 16 + 16 MAC, alert 2 + 16.
    mod = b"\xc3" + rbytes(63)
    ske = struct.pack("!H", 64) + mod + struct.pack("!H", 3) + b"\x01\x00\x01" + struct.pack("!H", 256) + rbytes(256)
    cipher_swap(src, out, 0x0301, 0x0003, [0x0003, 0x0006, 0x0008, 0x0005, 0x002f, 0x00ff],
                lambda t, n: {22: 32, 21: 18}.get(t, n), ske=ske,
                cke=lambda b: struct.pack("!H", 64) + rbytes(64), not_cbc=True)


def tls13_reneg(src, out):
    c = Conn(src)
    ch = next(r for r in c.recs(c.find_hs(1)) if hs_type(r) == 1)
    # after the client's first application data following its Finished
    fin = c.find(lambda d, rs: d == 0 and any(r[0] == 20 for r in rs))
    app = next(i for i in range(fin + 1, len(c.pkts)) if c.pkts[i]["dir"] == 0 and c.pkts[i]["pay"])
    c.insert(app, 0, ser_records([[22, 0x0301, ch[2][:6] + rbytes(32) + ch[2][38:]]]))
    c.save(out)


def hello_request_cleartext(src, out):
    c = Conn(src)
    # after the server's CCS + Finished (TLS 1.2: NewSessionTicket, CCS, Finished)
    i = c.find(lambda d, rs: d == 1 and any(r[0] == 20 for r in rs))
    c.insert(i, 1, ser_records([[22, 0x0303, hs_msg(0, b"")]]))
    c.save(out)


# name, source capture, function, tshark filter that must match
CRAFTED = [
    ("heartbleed", "tls12-ok", heartbleed,
     "tls.heartbeat_message.type == 1 && tls.heartbeat_message.payload_length == 4000 && tls.record.length == 3"),
    ("heartbleed", "tls12-ok", None,
     "tls.heartbeat_message.type == 2 && tls.record.length == 4019"),
    ("heartbleed", "tls12-ok", None,
     "tls.handshake.type == 2 && tls.handshake.extension.type == 15"),
    ("sslv3-rc4", "weak-cipher", sslv3_rc4,
     "tls.handshake.type == 2 && tls.handshake.version == 0x0300 && tls.handshake.ciphersuite == 0x0005"),
    ("tls12-3des", "weak-cipher", tls12_3des,
     "tls.handshake.type == 2 && tls.handshake.version == 0x0303 && tls.handshake.ciphersuite == 0x000a"),
    ("tls12-null", "weak-cipher", tls12_null,
     "tls.handshake.type == 2 && tls.handshake.ciphersuite == 0x0002"),
    ("tls10-export", "weak-cipher", tls10_export,
     "tls.handshake.type == 2 && tls.handshake.version == 0x0301 && tls.handshake.ciphersuite == 0x0003"),
    ("tls10-export", "weak-cipher", None,
     "tls.handshake.type == 12 && tls.handshake.modulus_len == 64"),
    ("tls13-renegotiation", "tls13-ok", tls13_reneg,
     "tls.handshake.type == 1 && frame.number > 10"),
    ("tls12-hello-request-cleartext", "tls12-ok", hello_request_cleartext,
     "tls.handshake.type == 0 && tls.record.length == 4"),
]


def tshark_count(path, flt):
    r = subprocess.run(["tshark", "-n", "-r", path, "-d", "tcp.port==4400-4499,tls",
                        "-o", "tls.desegment_ssl_records:TRUE", "-o", "tcp.check_checksum:TRUE",
                        "-o", "ip.check_checksum:TRUE",
                        "-Y", flt], capture_output=True, text=True)
    if r.returncode != 0:
        return -1
    return len([ln for ln in r.stdout.splitlines() if ln.strip()])


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: craft.py OUTDIR")
    outdir = sys.argv[1]
    rc = 0
    made = set()
    for name, src, fn, flt in CRAFTED:
        path = os.path.join(outdir, "crafted-%s.pcap" % name)
        if fn is not None:
            srcp = os.path.join(outdir, src + ".pcap")
            if not os.path.exists(srcp):
                print("craft: %s: source %s missing" % (name, srcp), file=sys.stderr)
                rc = 1
                continue
            fn(srcp, path)
            made.add(name)
        if name not in made:
            continue
        n = tshark_count(path, flt)
        # anything tshark finds wrong, except the heartbleed request itself
        # (tshark flags its payload_length as malformed: that is the point)
        bad = tshark_count(path, "(tcp.checksum.status == 0 || ip.checksum.status == 0 || "
                           "tcp.analysis.flags && !tcp.analysis.window_update || _ws.malformed || "
                           "_ws.expert.severity >= 6291456) && !tls.heartbeat_message.type == 1")
        ok = n > 0 and bad == 0
        print("craft: %-32s %s (%s: %d packets; bad/malformed %d)" % (
            os.path.basename(path), "ok" if ok else "FAILED", flt, n, bad), file=sys.stderr)
        if not ok:
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
