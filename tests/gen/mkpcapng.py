#!/usr/bin/python3
"""Mixed-link-type pcapng files from real captures in pcaps/, for
tests/golden/test_pcapng_mixed.sh (plain struct writing, no scapy).

Usage: mkpcapng.py OUTDIR PCAPS_DIR

Writes to OUTDIR:
  mixed.pcapng   two sections, as `dumpcap -i eth0 -i any` or a Wireshark
                 merge would write them:
    section 1, little-endian:
      if 0  Ethernet             tls12-ok.pcap      if_tsresol 10^-9, EPBs with options
      if 1  Linux SLL            tls13-ok.pcap      if_tsresol 2^-20
      if 2  raw IP (LINKTYPE 101) gnutls-tls13.pcap if_tsresol 10^-6 (none written),
                                                    if_tsoffset 1700000000 s
      plus a name resolution, an interface statistics, a custom and a
      decryption secrets block, all to be skipped
    section 2, big-endian:
      if 0  Linux SLL2           ipv6-tls13.pcap    if_tsresol 10^-4; its last packet
                                                    as a Simple Packet Block
      if 1  BSD NULL             tls12-resume-ticket.pcap  obsolete Packet Blocks,
                                                    if_tsresol 2^-10 (coarse)
  cut.pcapng     mixed.pcapng cut in the middle of packet block CUT+1
  badlen.pcapng  mixed.pcapng with a block of length 13 after packet CUT
  expect.txt     "packets N", "cut K" (packets before the damage),
                 "cut_offset O" (its byte offset)
Packets of each section are merged in time order, as mergecap does.
"""
import os
import struct
import sys

LE, BE = "<", ">"


def read_pcap(path):
    d = open(path, "rb").read()
    magic = struct.unpack_from("<I", d, 0)[0]
    e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
    lt = struct.unpack_from(e + "I", d, 20)[0]
    assert lt == 1, "%s: want an Ethernet capture, link type %d" % (path, lt)
    off, out = 24, []
    while off + 16 <= len(d):
        s, frac, cap, ln = struct.unpack_from(e + "IIII", d, off)
        ns = s * 10**9 + (frac if nano else frac * 1000)
        out.append((ns, d[off + 16:off + 16 + cap], ln))
        off += 16 + cap
    return out


def ethertype(frame):
    return struct.unpack_from(">H", frame, 12)[0]


def to_sll(frame):
    # packet type 0 (to us), ARPHRD_ETHER, 6-byte address, protocol
    return struct.pack(">HHH", 0, 1, 6) + frame[6:12] + b"\0\0" + frame[12:14] + frame[14:]


def to_sll2(frame):
    return (frame[12:14] + b"\0\0" + struct.pack(">IHBB", 2, 1, 0, 6) + frame[6:12] + b"\0\0" + frame[14:])


def to_raw(frame):
    return frame[14:]


def to_null(frame):
    af = 2 if ethertype(frame) == 0x0800 else 10
    return struct.pack("<I", af) + frame[14:]  # capturing host's order: little-endian


def pad(b):
    return b + b"\0" * ((-len(b)) % 4)


def block(e, t, body):
    body = pad(body)
    n = 12 + len(body)
    return struct.pack(e + "II", t, n) + body + struct.pack(e + "I", n)


def opt(e, code, val):
    return struct.pack(e + "HH", code, len(val)) + pad(val)


def opts(e, *o):
    return b"".join(o) + struct.pack(e + "HH", 0, 0) if o else b""


def shb(e):
    return block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) +
                 opts(e, opt(e, 3, b"tlswatch mkpcapng.py"), opt(e, 4, b"test")))


def idb(e, linktype, *o):
    return block(e, 1, struct.pack(e + "HHI", linktype, 0, 262144) + opts(e, *o))


def ticks(ns, res, offset_s=0):
    """timestamp in units of if_tsresol res; round up so that the reader's
    floor conversion gives back the exact microsecond where res is finer"""
    ns -= offset_s * 10**9
    if res & 0x80:
        per = 2 ** (res & 0x7f)
        return (ns * per + 10**9 - 1) // 10**9
    e = res
    return ns * 10**e // 10**9 if e <= 9 else ns * 10**(e - 9)


def epb(e, ifid, t, data, ln, options=b""):
    return block(e, 6, struct.pack(e + "IIIII", ifid, t >> 32, t & 0xffffffff, len(data), ln) + pad(data) + options)


def pb(e, ifid, t, data, ln):
    return block(e, 2, struct.pack(e + "HHIIII", ifid, 0, t >> 32, t & 0xffffffff, len(data), ln) + pad(data))


def spb(e, data, ln):
    return block(e, 3, struct.pack(e + "I", ln) + pad(data))


def main():
    outdir, pc = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    P = lambda n: read_pcap(os.path.join(pc, n))
    out = []        # (bytes, is_packet)

    # section 1, little-endian
    e = LE
    out.append((shb(e), 0))
    out.append((idb(e, 1, opt(e, 2, b"eth0"), opt(e, 9, b"\x09")), 0))
    out.append((idb(e, 113, opt(e, 2, b"any"), opt(e, 9, b"\x94")), 0))
    out.append((idb(e, 101, opt(e, 2, b"tun0"), opt(e, 14, struct.pack(e + "q", 1700000000))), 0))
    out.append((block(e, 4, struct.pack(e + "HH", 1, 8) + bytes([127, 0, 0, 1]) + b"lo\0\0" +
                      struct.pack(e + "HH", 0, 0)), 0))                    # NRB
    out.append((block(e, 0xBAD, struct.pack(e + "I", 32473) + b"custom, copy"), 0))
    keylog = open(os.path.join(pc, "tls12-ok.keylog"), "rb").read()
    out.append((block(e, 0xA, struct.pack(e + "II", 0x544c534b, len(keylog)) + pad(keylog)), 0))  # DSB
    pk = []
    for ns, d, ln in P("tls12-ok.pcap"):
        pk.append((ns, epb(e, 0, ticks(ns, 9), d, ln, opts(e, opt(e, 2, struct.pack(e + "I", 1))))))
    for ns, d, ln in P("tls13-ok.pcap"):
        pk.append((ns, epb(e, 1, ticks(ns, 0x94), to_sll(d), ln + 2)))
    for ns, d, ln in P("gnutls-tls13.pcap"):
        pk.append((ns, epb(e, 2, ticks(ns, 6, 1700000000), to_raw(d), ln - 14)))
    pk.sort(key=lambda x: x[0])
    mid = len(pk) // 2
    for i, (ns, b) in enumerate(pk):
        out.append((b, 1))
        if i == mid:
            out.append((block(e, 5, struct.pack(e + "III", 0, 0, 0) + opts(e, opt(e, 4, struct.pack(e + "Q", 3)))), 0))

    # section 2, big-endian
    e = BE
    sec2 = sum(len(b) for b, _ in out)
    out.append((shb(e), 0))
    out.append((idb(e, 276, opt(e, 9, b"\x04")), 0))
    out.append((idb(e, 0, opt(e, 9, b"\x8a")), 0))
    pk = []
    v6 = P("ipv6-tls13.pcap")
    for i, (ns, d, ln) in enumerate(v6):
        if i == len(v6) - 1:
            pk.append((ns, spb(e, to_sll2(d), ln + 6)))
        else:
            pk.append((ns, epb(e, 0, ticks(ns, 4), to_sll2(d), ln + 6)))
    for ns, d, ln in P("tls12-resume-ticket.pcap"):
        pk.append((ns, pb(e, 1, ticks(ns, 0x8a), to_null(d), ln - 10)))
    pk.sort(key=lambda x: x[0])
    out += [(b, 1) for ns, b in pk]

    data = b"".join(b for b, _ in out)
    open(os.path.join(outdir, "mixed.pcapng"), "wb").write(data)
    npk = sum(p for _, p in out)
    # damage after 3/4 of the packets: a cut inside packet block K+1, and a
    # block of impossible length (13) inserted before it
    k = npk * 3 // 4
    off, seen = 0, 0
    for b, p in out:
        if p and seen == k:
            break
        off += len(b)
        seen += p
    open(os.path.join(outdir, "cut.pcapng"), "wb").write(data[:off + 40])
    open(os.path.join(outdir, "badlen.pcapng"), "wb").write(
        data[:off] + struct.pack((LE if off < sec2 else BE) + "II", 0x0badbeef, 13) + b"\0" * 8 + data[off:])
    with open(os.path.join(outdir, "expect.txt"), "w") as f:
        f.write("packets %d\ncut %d\ncut_offset %d\n" % (npk, k, off))


if __name__ == "__main__":
    main()
