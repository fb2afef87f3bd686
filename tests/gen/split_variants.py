#!/usr/bin/python3
"""split_variants.py PCAPS_DIR OUT.pcap [--only NAME] -- one capture, many
connections, each a variant of a real OpenSSL handshake (pcaps/tls13-ok.pcap,
pcaps/tls12-ok.pcap) re-segmented so that a record, or the bytes that decide
a handshake, arrive split over two TCP segments at one offset.

The first family is the crash of issue 9 (the session decided a TLS 1.3
handshake complete while the record layer was delivering a buffered record,
freed the buffer, and the dissector then read the freed body): ClientHello,
ServerHello, a server application_data record (400 bytes), a client one
(53 bytes), then a cleartext handshake record from the client split in two.
The others generalise it: the same record from the server, the TLS 1.2
equivalent, and the real handshake streams of both versions with each of
their data segments split at every offset (a stride past the first bytes
keeps the file small). The first connection of each family is the same
traffic unsplit, the reference its variants must agree with. Connection i
uses client port 20000+i; every one ends with FIN both ways. Prints
"NAME COUNT" per family (reference included) on stdout.

No scapy: IPv4/TCP headers and checksums are written here (fast, exact).
"""
import struct
import sys



def read_pcap(path):
    """(linktype, [(sec, usec, bytes)]) of a little-endian usec pcap (our generator's)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        sys.exit("%s: expected a little-endian usec pcap" % path)
    linktype = struct.unpack("<I", data[20:24])[0]
    off, pkts = 24, []
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        pkts.append((sec, usec, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return linktype, pkts


def write_pcap(path, linktype, pkts):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
        for sec, usec, b in pkts:
            f.write(struct.pack("<IIII", sec, usec, len(b), len(b)) + b)

CLIENT, SERVER = b"\x7f\x00\x00\x01", b"\x7f\x00\x00\x02"


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def packet(src, dst, sport, dport, seq, ack, flags, pay):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    ph = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(pay))
    c = csum(ph + tcp + pay)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(pay), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp + pay


def streams(path):
    """Data segments of the first TCP connection: [(dir, payload)], dir 0 = client."""
    lt, pkts = read_pcap(path)
    assert lt == 1, path
    out, client = [], None
    for _s, _u, b in pkts:
        ip = b[14:]
        ihl = (ip[0] & 15) * 4
        t = ip[ihl:]
        sport, dport = struct.unpack("!HH", t[:4])
        flags = t[13]
        if client is None and flags & 0x02 and not flags & 0x10:
            client = sport
        pay = t[(t[12] >> 4) * 4:]
        if pay:
            out.append((0 if sport == client else 1, pay))
    return out


def records(b):
    out, o = [], 0
    while o + 5 <= len(b):
        n = struct.unpack("!H", b[o + 3:o + 5])[0]
        out.append(b[o:o + 5 + n])
        o += 5 + n
    return out


def rec(ctype, body, ver=0x0303):
    return struct.pack("!BHH", ctype, ver, len(body)) + body


class Writer:
    def __init__(self):
        self.pkts, self.n, self.t = [], 0, 1700000000 * 1000000

    def conn(self, segs):
        """segs: [(dir, payload)] in order; SYN/SYN-ACK/ACK before, FIN both ways after."""
        port = 20000 + self.n
        self.n += 1
        nxt = [1000, 5000]
        addr = [(CLIENT, SERVER, port, 443), (SERVER, CLIENT, 443, port)]

        def emit(d, flags, pay=b""):
            src, dst, sp, dp = addr[d]
            self.pkts.append((self.t // 1000000, self.t % 1000000,
                              packet(src, dst, sp, dp, nxt[d], nxt[1 - d], flags, pay)))
            nxt[d] += len(pay) + (1 if flags & 0x03 else 0)
            self.t += 1000

        src, dst, sp, dp = addr[0]
        self.pkts.append((self.t // 1000000, self.t % 1000000, packet(src, dst, sp, dp, nxt[0], 0, 0x02, b"")))
        nxt[0] += 1
        self.t += 1000
        emit(1, 0x12)
        emit(0, 0x10)
        for d, pay in segs:
            emit(d, 0x18, pay)
        emit(0, 0x11)
        emit(1, 0x11)
        emit(0, 0x10)
        self.t += 10000


def offsets(n):
    """Every offset in the first 64 bytes and the last 8, a stride of 7 between."""
    return sorted(set(list(range(1, min(n, 64))) + list(range(max(1, n - 8), n)) + list(range(64, n, 7))))


def split_at(segs, i, k):
    d, p = segs[i]
    return segs[:i] + [(d, p[:k]), (d, p[k:])] + segs[i + 1:]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    pdir, out = sys.argv[1], sys.argv[2]
    only = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--only" else None
    s13, s12 = streams(pdir + "/tls13-ok.pcap"), streams(pdir + "/tls12-ok.pcap")
    ch13 = records(s13[0][1])[0]
    sh13 = records(s13[1][1])[0]
    ch12 = records(s12[0][1])[0]
    sh12 = records(s12[1][1])[0]
    app400, app53 = rec(23, bytes(range(256)) + bytes(144)), rec(23, bytes(53))
    fam = {}
    # issue 9: TLS 1.3 hello exchange, app data both ways, cleartext
    # handshake record from the client split in two
    # (the first connection of each family is the reference: nothing split)
    base = [(0, ch13), (1, sh13), (1, app400), (0, app53)]
    fam["tls13-client-hs-after-appdata"] = [base + [(0, ch13)]] + [
        base + [(0, ch13[:k]), (0, ch13[k:])] for k in offsets(len(ch13))]
    fam["tls13-server-hs-after-appdata"] = [base + [(1, sh13)]] + [
        base + [(1, sh13[:k]), (1, sh13[k:])] for k in offsets(len(sh13))]
    # TLS 1.2: the real handshake, app data, then a handshake record split
    fam["tls12-client-hs-after-appdata"] = [s12[:6] + [(0, app53), (0, ch12)]] + [
        s12[:6] + [(0, app53), (0, ch12[:k]), (0, ch12[k:])] for k in offsets(len(ch12))]
    fam["tls12-server-hs-after-appdata"] = [s12[:6] + [(1, app400), (1, sh12)]] + [
        s12[:6] + [(1, app400), (1, sh12[:k]), (1, sh12[k:])] for k in offsets(len(sh12))]
    # the real streams, every data segment split at every offset
    for name, s in (("tls13-real-split", s13), ("tls12-real-split", s12)):
        fam[name] = [s] + [split_at(s, i, k) for i in range(len(s)) for k in offsets(len(s[i][1]))]
    w = Writer()
    for name, variants in fam.items():
        if only and name != only:
            continue
        for v in variants:
            w.conn(v)
        print(name, len(variants))
    write_pcap(out, 1, w.pkts)


if __name__ == "__main__":
    main()
