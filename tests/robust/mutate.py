#!/usr/bin/env python3
"""Deterministic corrupted variants of real captures (test_corrupt_captures.sh).

Usage: mutate.py OUTDIR SEED LABEL=PATH [LABEL=PATH ...]

PATH is a pcap, a pcapng or a gzip-compressed capture. For each one the
variants below are written to OUTDIR/LABEL.CLASS.N[.pcap|.pcapng|.gz], and
one line per variant to OUTDIR/variants.tsv:

    name  class  label  expect  ref  packet

expect  ok   exit 0, nothing on stderr
        err  exit 1, one stderr line naming the file
        any  exit 0 (nothing on stderr) or 1 (one line naming the file)
ref     a variant whose tls events this one must report identically
        (the same packets written cleanly), or "-"
packet  for "err": the packet number the read error must name, or "-"
        (an error while opening the file names no packet)

Classes (pcap): cut-boundary (every packet boundary, a clean prefix),
cut-header (inside the file header), cut-mid (inside a packet record:
its record header, link/IP/TCP headers, TLS record header, payload),
flip-struct (bits of the file header, record headers and link/IP/TCP
headers), flip-payload (bits of TCP payloads, checksum recomputed so the
bytes reach the TLS parser), flip-any (anywhere), snaplen (file header
snaplen 0, 64, 0xffffffff), caplen (one record's
captured/original length wrong), garbage (random bytes after the file
header), trailing (bytes appended after the last packet).
Classes (pcapng): the same where they apply (boundaries are block
boundaries, snaplen is the IDB's), plus unknown-block (blocks of unknown
or custom type inserted: skipped, the capture reads as the original) and
bad-length (a block with an impossible length inserted or an existing
block's length damaged).
Classes (gzip): gz-cut (the compressed stream cut), gz-flip.

The same SEED always gives the same bytes (random.Random per capture).
"""
import gzip
import os
import random
import struct
import sys

FLIPS_PER_CAPTURE = 20      # variants with 1-4 flips each, split over the flip classes


class Out:
    def __init__(self, outdir):
        self.dir = outdir
        self.rows = []

    def add(self, name, cls, label, data, expect, ref="-", packet="-"):
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)
        self.rows.append((name, cls, label, expect, ref, str(packet)))

    def close(self):
        with open(os.path.join(self.dir, "variants.tsv"), "w") as f:
            for r in self.rows:
                f.write("\t".join(r) + "\n")


# --------------------------------------------------------------- packet headers

def csum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def l3_offset(linktype, pkt):
    """(offset of the IP header, ip version) or None."""
    off = None
    if linktype == 1:                                   # Ethernet (+ VLAN tags)
        if len(pkt) < 14:
            return None
        off, et = 14, struct.unpack_from("!H", pkt, 12)[0]
        while et in (0x8100, 0x88a8) and len(pkt) >= off + 4:
            et = struct.unpack_from("!H", pkt, off + 2)[0]
            off += 4
        if et not in (0x0800, 0x86dd):
            return None
    elif linktype in (101, 12, 14):                     # raw IP
        off = 0
    elif linktype in (0, 108):                          # BSD loopback
        off = 4
    elif linktype == 113:                               # Linux cooked
        off = 16
    elif linktype == 276:                               # Linux cooked v2
        off = 20
    if off is None or len(pkt) <= off:
        return None
    v = pkt[off] >> 4
    return (off, v) if v in (4, 6) else None


def tcp_info(linktype, pkt):
    """(tcp header offset, payload offset, payload end, pseudo header) of a
    whole (not snaplen-cut, not fragmented) TCP segment, or None."""
    l3 = l3_offset(linktype, pkt)
    if not l3:
        return None
    off, v = l3
    if v == 4:
        if len(pkt) < off + 20:
            return None
        ihl = (pkt[off] & 15) * 4
        tot = struct.unpack_from("!H", pkt, off + 2)[0]
        frag = struct.unpack_from("!H", pkt, off + 6)[0]
        if pkt[off + 9] != 6 or frag & 0x3fff or off + tot > len(pkt) or ihl < 20:
            return None
        t = off + ihl
        end = off + tot
        pseudo = pkt[off + 12:off + 20] + struct.pack("!BBH", 0, 6, end - t)
    else:
        if len(pkt) < off + 40 or pkt[off + 6] != 6:
            return None
        plen = struct.unpack_from("!H", pkt, off + 4)[0]
        t = off + 40
        end = t + plen
        if end > len(pkt):
            return None
        pseudo = pkt[off + 8:off + 40] + struct.pack("!I3xB", end - t, 6)
    if end - t < 20:
        return None
    doff = (pkt[t + 12] >> 4) * 4
    if doff < 20 or t + doff > end:
        return None
    return t, t + doff, end, pseudo


def tcp_csum_ok(pkt, info):
    t, _, end, pseudo = info
    return csum16(pseudo + bytes(pkt[t:end])) == 0xffff


def tcp_csum_fix(pkt, info):
    t, _, end, pseudo = info
    pkt[t + 16:t + 18] = b"\0\0"
    c = 0xffff - csum16(pseudo + bytes(pkt[t:end]))
    pkt[t + 16:t + 18] = struct.pack("!H", c or 0xffff)


# --------------------------------------------------------------- pcap

class Pcap:
    def __init__(self, data):
        self.data = data
        m = data[:4]
        if m in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            self.e = "<"
        elif m in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            self.e = ">"
        else:
            raise ValueError("not a pcap file")
        self.linktype = struct.unpack_from(self.e + "I", data, 20)[0] & 0x0fffffff
        self.recs = []          # (record offset, data offset, caplen)
        off = 24
        while off + 16 <= len(data):
            cap = struct.unpack_from(self.e + "I", data, off + 8)[0]
            if off + 16 + cap > len(data):
                break
            self.recs.append((off, off + 16, cap))
            off += 16 + cap
        self.end = off

    def bounds(self):
        return [r[0] for r in self.recs] + [self.end]

    def struct_ranges(self):
        """byte ranges of file/record/link-IP-TCP headers"""
        rs = [(0, 24)]
        for ro, do, cap in self.recs:
            rs.append((ro, ro + 16))
            info = tcp_info(self.linktype, self.data[do:do + cap])
            rs.append((do, do + (info[1] if info else min(cap, 54))))
        return rs

    def packets(self):
        return [(do, cap) for _, do, cap in self.recs]


# --------------------------------------------------------------- pcapng

class Pcapng:
    EPB, SPB, IDB, SHB = 6, 3, 1, 0x0a0d0d0a

    def __init__(self, data):
        self.data = data
        if data[:4] != b"\x0a\x0d\x0d\x0a":
            raise ValueError("not pcapng")
        bom = data[8:12]
        self.e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
        self.blocks = []        # (offset, type, length)
        off = 0
        while off + 12 <= len(data):
            t, ln = struct.unpack_from(self.e + "II", data, off)
            if ln < 12 or off + ln > len(data):
                break
            self.blocks.append((off, t, ln))
            off += ln
        self.end = off
        self.linktype = 1
        for off, t, ln in self.blocks:
            if t == self.IDB:
                self.linktype = struct.unpack_from(self.e + "H", data, off + 8)[0]
                break

    def bounds(self):
        return [b[0] for b in self.blocks] + [self.end]

    def packets_before(self, i):
        return sum(1 for b in self.blocks[:i] if b[1] in (self.EPB, self.SPB))

    def packets(self):
        out = []
        for off, t, ln in self.blocks:
            if t == self.EPB:
                cap = struct.unpack_from(self.e + "I", self.data, off + 20)[0]
                out.append((off + 28, cap))
        return out

    def struct_ranges(self):
        rs = []
        for off, t, ln in self.blocks:
            if t == self.EPB:
                rs.append((off, off + 28))
                cap = struct.unpack_from(self.e + "I", self.data, off + 20)[0]
                info = tcp_info(self.linktype, self.data[off + 28:off + 28 + cap])
                rs.append((off + 28, off + 28 + (info[1] if info else min(cap, 54))))
                rs.append((off + ln - 4, off + ln))
            else:
                rs.append((off, off + ln))
        return rs

    def block(self, t, body):
        pad = (-len(body)) % 4
        ln = 12 + len(body) + pad
        return struct.pack(self.e + "II", t, ln) + body + b"\0" * pad + struct.pack(self.e + "I", ln)


# --------------------------------------------------------------- flips

def flip_variants(out, label, cap, rng, ext):
    """flip-struct, flip-payload, flip-any: FLIPS_PER_CAPTURE variants of 1-4 flips."""
    data = cap.data
    sranges = cap.struct_ranges()
    payloads = []                                       # (packet data offset, info) with payload
    for do, caplen in cap.packets():
        info = tcp_info(cap.linktype, data[do:do + caplen])
        if info and info[2] > info[1] and tcp_csum_ok(data[do:do + caplen], info):
            payloads.append((do, caplen, info))
    classes = ["flip-struct", "flip-payload", "flip-any"]
    if not payloads:
        classes.remove("flip-payload")
    nflips = 0
    for i in range(FLIPS_PER_CAPTURE):
        cls = classes[i % len(classes)]
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            if cls == "flip-struct":
                lo, hi = rng.choice(sranges)
                pos = rng.randrange(lo, hi)
                b[pos] ^= 1 << rng.randrange(8)
            elif cls == "flip-any":
                pos = rng.randrange(len(b))
                b[pos] ^= 1 << rng.randrange(8)
            else:
                do, caplen, info = rng.choice(payloads)
                pkt = bytearray(b[do:do + caplen])
                lo, hi = info[1], info[2]
                if rng.random() < 0.5:
                    hi = min(hi, lo + 64)               # record/handshake headers, hello fields
                pos = rng.randrange(lo, hi)
                pkt[pos] ^= 1 << rng.randrange(8)
                tcp_csum_fix(pkt, info)
                b[do:do + caplen] = pkt
            nflips += 1
        out.add("%s.%s.%d%s" % (label, cls, i, ext), cls, label, bytes(b), "any")
    return nflips


# --------------------------------------------------------------- per format

def mutate_pcap(out, label, data, rng):
    cap = Pcap(data)
    ext = ".pcap"
    n = len(cap.recs)
    bnd = cap.bounds()
    bname = lambda k: "%s.cut-boundary.%d%s" % (label, k, ext)
    for k in range(n + 1):
        out.add(bname(k), "cut-boundary", label, data[:bnd[k]], "ok")
    for c in (0, rng.randrange(1, 24)):
        out.add("%s.cut-header.%d%s" % (label, c, ext), "cut-header", label, data[:c], "err")
    # one cut per packet: in its record header, its link/IP/TCP headers, the
    # first TLS record header of its payload, or anywhere in the payload
    for k, (ro, do, caplen) in enumerate(cap.recs, 1):
        info = tcp_info(cap.linktype, data[do:do + caplen])
        where = rng.choice(["rec", "hdr", "tls", "any"])
        if where == "rec":
            o = rng.randrange(ro + 1, ro + 16)
        elif where == "hdr":
            o = do + rng.randrange(0, info[1] if info else min(caplen, 54))
        elif where == "tls" and info and info[2] - info[1] > 5:
            o = do + info[1] + rng.randrange(1, 5)
        else:
            o = rng.randrange(ro + 1, ro + 16 + caplen)
        for o in [o]:
            out.add("%s.cut-mid.%d%s" % (label, o, ext), "cut-mid", label, data[:o], "err",
                    bname(k - 1), k)
    nflips = flip_variants(out, label, cap, rng, ext)
    for s in (0, 64, 0xffffffff):
        b = bytearray(data)
        struct.pack_into(cap.e + "I", b, 16, s)
        out.add("%s.snaplen.%d%s" % (label, s, ext), "snaplen", label, bytes(b), "any")
    # one record's lengths wrong
    for j, (capv, lenv) in enumerate([(0xfffffff0, None), (None, 0), ("+1", None)]):
        k = rng.randrange(1, n + 1)
        ro, do, caplen = cap.recs[k - 1]
        b = bytearray(data)
        expect, ref, pkt = "any", "-", "-"
        if capv == "+1":
            struct.pack_into(cap.e + "I", b, ro + 8, caplen + 1)
        elif capv is not None:
            struct.pack_into(cap.e + "I", b, ro + 8, capv)
            expect, ref, pkt = "err", bname(k - 1), k   # longer than the file or than any snaplen
        if lenv is not None:
            struct.pack_into(cap.e + "I", b, ro + 12, lenv)
        out.add("%s.caplen.%d.pkt%d%s" % (label, j, k, ext), "caplen", label, bytes(b), expect, ref, pkt)
    for g in (16, 1000):
        junk = bytes(rng.randrange(256) for _ in range(g))
        out.add("%s.garbage.%d%s" % (label, g, ext), "garbage", label, data[:24] + junk + data[24:], "any")
    full = bname(n)
    out.add("%s.trailing.ff%s" % (label, ext), "trailing", label, data[:bnd[n]] + b"\xff" * 20, "err", full, n + 1)
    out.add("%s.trailing.7%s" % (label, ext), "trailing", label,
            data[:bnd[n]] + bytes(rng.randrange(256) for _ in range(7)), "err", full, n + 1)
    return nflips


def mutate_pcapng(out, label, data, rng):
    cap = Pcapng(data)
    ext = ".pcapng"
    nb = len(cap.blocks)
    bnd = cap.bounds()
    bname = lambda k: "%s.cut-boundary.%d%s" % (label, k, ext)
    first_idb = next(i for i, b in enumerate(cap.blocks) if b[1] == cap.IDB)
    for k in range(nb + 1):
        # no file without a section header and an interface: cannot be opened
        out.add(bname(k), "cut-boundary", label, data[:bnd[k]], "ok" if k > first_idb else "err")
    for k, (bo, t, ln) in enumerate(cap.blocks, 1):
        o = rng.randrange(bo + 1, bo + ln)
        if t == cap.EPB:
            d = bo + 28
            caplen = struct.unpack_from(cap.e + "I", data, bo + 20)[0]
            info = tcp_info(cap.linktype, data[d:d + caplen])
            where = rng.choice(["blk", "hdr", "tls", "any"])
            if where == "blk":
                o = bo + rng.randrange(1, 28)           # block header, packet header
            elif where == "hdr" and info:
                o = d + rng.randrange(0, info[1])
            elif where == "tls" and info and info[2] - info[1] > 5:
                o = d + info[1] + rng.randrange(1, 5)
        for o in [o]:
            if k - 1 > first_idb:
                out.add("%s.cut-mid.%d%s" % (label, o, ext), "cut-mid", label, data[:o], "err",
                        bname(k - 1), cap.packets_before(k - 1) + 1)
            else:
                out.add("%s.cut-mid.%d%s" % (label, o, ext), "cut-mid", label, data[:o], "err")
    nflips = flip_variants(out, label, cap, rng, ext)
    # IDB snaplen (the pcapng "snaplen in the header")
    io = cap.blocks[first_idb][0]
    for s in (0, 64, 0xffffffff):
        b = bytearray(data)
        struct.pack_into(cap.e + "I", b, io + 12, s)
        out.add("%s.snaplen.%d%s" % (label, s, ext), "snaplen", label, bytes(b), "any")
    epbs = [i for i, b in enumerate(cap.blocks) if b[1] == cap.EPB]
    # an EPB's captured length larger than its block / its original length 0
    for j, (capv, lenv) in enumerate([(0xfffffff0, None), (None, 0), ("+1", None)]):
        i = rng.choice(epbs)
        bo = cap.blocks[i][0]
        b = bytearray(data)
        caplen = struct.unpack_from(cap.e + "I", data, bo + 20)[0]
        expect, ref, pkt = "any", "-", "-"
        if capv == "+1":
            struct.pack_into(cap.e + "I", b, bo + 20, caplen + 1)
        elif capv is not None:
            struct.pack_into(cap.e + "I", b, bo + 20, capv)
            expect, ref, pkt = "err", bname(i), cap.packets_before(i) + 1
        if lenv is not None:
            struct.pack_into(cap.e + "I", b, bo + 24, lenv)
        out.add("%s.caplen.%d.blk%d%s" % (label, j, i, ext), "caplen", label, bytes(b), expect, ref, pkt)
    # unknown block types: skipped, the capture reads like the original
    full = bname(nb)
    unknown = [(0x0badbeef, b"tlswatch robust"), (0x00000bad, struct.pack(cap.e + "I", 32473) + b"custom"),
               (0x40000bad, struct.pack(cap.e + "I", 32473) + b"custom, no copy"),
               (0x80000001, b"local use" * 9), (0x00000099, b""), (0x00000007, b"\1\2\3\4" * 3)]
    positions = sorted({first_idb + 1, epbs[0] + 1, epbs[len(epbs) // 2], nb})
    for j, (t, body) in enumerate(unknown):
        p = positions[j % len(positions)]
        out.add("%s.unknown-block.%x.at%d%s" % (label, t, p, ext), "unknown-block", label,
                data[:bnd[p]] + cap.block(t, body) + data[bnd[p]:], "ok", full)
    # a block with an impossible length
    p = epbs[len(epbs) // 2]
    pk = cap.packets_before(p) + 1
    pre, post = data[:bnd[p]], data[bnd[p]:]
    e = cap.e
    bad = [("len8", struct.pack(e + "II", 0x0badbeef, 8) + b"\0" * 8, "err"),
           ("len13", struct.pack(e + "II", 0x0badbeef, 13) + b"\0" * 12, "err"),
           ("len0", struct.pack(e + "II", 0x0badbeef, 0) + b"\0" * 8, "err"),
           ("huge", struct.pack(e + "II", 0x0badbeef, 0xfffffff0) + b"\0" * 8, "err"),
           ("pasteof", struct.pack(e + "II", 0x0badbeef, len(post) + 1024) + b"\0" * 8, "err"),
           ("trailer", struct.pack(e + "II", 0x0badbeef, 16) + b"abcd" + struct.pack(e + "I", 20), "any"),
           ("epb-in-idb-order", cap.block(cap.EPB, struct.pack(e + "IIIII", 7, 0, 0, 4, 4) + b"abcd"), "any")]
    for name, blk, expect in bad:
        if expect == "err":
            out.add("%s.bad-length.%s%s" % (label, name, ext), "bad-length", label, pre + blk + post,
                    expect, bname(p), pk)
        else:
            out.add("%s.bad-length.%s%s" % (label, name, ext), "bad-length", label, pre + blk + post, expect)
    # an existing packet block's length damaged
    bo, t, ln = cap.blocks[p]
    for name, v in (("epb-len-short", ln - 4), ("epb-len-odd", ln + 1), ("epb-len-small", 8)):
        b = bytearray(data)
        struct.pack_into(e + "I", b, bo + 4, v)
        out.add("%s.bad-length.%s%s" % (label, name, ext), "bad-length", label, bytes(b), "any")
    return nflips


def mutate_gzip(out, label, data, rng):
    out.add("%s.gz-full.gz" % label, "gz-cut", label, data, "ok")
    for c in sorted({rng.randrange(20, len(data)) for _ in range(4)} | {5, len(data) - 4}):
        out.add("%s.gz-cut.%d.gz" % (label, c), "gz-cut", label, data[:c], "any")
    for i in range(3):
        b = bytearray(data)
        pos = rng.randrange(10, len(b))
        b[pos] ^= 1 << rng.randrange(8)
        out.add("%s.gz-flip.%d.gz" % (label, i), "gz-flip", label, bytes(b), "any")
    return 3


def main():
    outdir, seed = sys.argv[1], int(sys.argv[2])
    os.makedirs(outdir, exist_ok=True)
    out = Out(outdir)
    flips = 0
    for arg in sys.argv[3:]:
        label, path = arg.split("=", 1)
        data = open(path, "rb").read()
        rng = random.Random("%d:%s" % (seed, label))
        if data[:2] == b"\x1f\x8b":
            flips += mutate_gzip(out, label, data, rng)
        elif data[:4] == b"\x0a\x0d\x0d\x0a":
            flips += mutate_pcapng(out, label, data, rng)
        else:
            flips += mutate_pcap(out, label, data, rng)
    out.close()
    print("%d variants, %d bit flips" % (len(out.rows), flips))


if __name__ == "__main__":
    main()
