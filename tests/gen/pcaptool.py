#!/usr/bin/python3
"""pcaptool.py -- post-processing for captures made by tests/gen/make-pcaps.sh.

Run with Debian's /usr/bin/python3 (it has scapy). Every subcommand reads
pcap files written by tcpdump on lo (DLT_EN10MB with zero MACs) or files this
tool wrote, and writes classic little-endian pcap (usec).

  fix IN OUT                 recompute IPv4/TCP checksums, give MACs per side
  clip IN OUT MODE [PORT]    drop packets: MODE = from-ch | from-sh | appdata
                             | client | server (PORT = server port)
  relink OUT KIND V4 [V6]    re-encapsulate the IP packets of fixed captures
  frag IN OUT PORT           IPv4-fragment the ClientHello packet
  drop IN OUT SIDE N         lose SIDE's (client|server) Nth data segment, ACKs kept
  v6ext IN OUT               insert hop-by-hop + destination options headers
  reuse IN OUT PORT          rewrite the 2nd connection's client port to the 1st's
  unknown OUT                a DLT_IEEE802_11 (105) file with arbitrary bytes
  offset IN N                byte offset of packet record N (0-based)
  count IN                   print the number of packet records
"""
import struct
import sys

from scapy.all import (IP, IPv6, TCP, Ether, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrHopByHop, PadN, fragment)

CLIENT_MAC = bytes.fromhex("020000000001")
SERVER_MAC = bytes.fromhex("020000000002")


def read_pcap(path):
    """Return (linktype, [(sec, usec, bytes)])."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        e, nano = "<", False
    elif magic == b"\xa1\xb2\xc3\xd4":
        e, nano = ">", False
    elif magic == b"\x4d\x3c\xb2\xa1":
        e, nano = "<", True
    elif magic == b"\xa1\xb2\x3c\x4d":
        e, nano = ">", True
    else:
        raise SystemExit("%s: not a classic pcap" % path)
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off, pkts = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if off + incl > len(data):
            break
        pkts.append((sec, frac // 1000 if nano else frac, data[off:off + incl]))
        off += incl
    return linktype, pkts


def write_pcap(path, linktype, pkts, snaplen=262144):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
        for sec, usec, b in pkts:
            f.write(struct.pack("<IIII", sec, usec, len(b), len(b)))
            f.write(b)


def ip_of(linktype, b):
    """The IP packet bytes inside a DLT_EN10MB (1) or RAW (101) record."""
    if linktype == 1:
        return b[14:]
    if linktype in (101, 228, 229):
        return b
    raise SystemExit("unsupported input linktype %d" % linktype)


def rebuild(ipb):
    """Parse IP bytes, drop length/checksum fields, rebuild (correct checksums)."""
    p = IP(ipb) if ipb[0] >> 4 == 4 else IPv6(ipb)
    if IP in p:
        del p[IP].chksum
        del p[IP].len
    if IPv6 in p:
        del p[IPv6].plen
    if TCP in p:
        del p[TCP].chksum
    return bytes(p)


def tcp_info(ipb):
    p = IP(ipb) if ipb[0] >> 4 == 4 else IPv6(ipb)
    t = p[TCP]
    return p, t, bytes(t.payload)


def cmd_fix(inp, out):
    lt, pkts = read_pcap(inp)
    res = []
    server_port = None
    for sec, usec, b in pkts:
        ipb = rebuild(ip_of(lt, b))
        p, t, _ = tcp_info(ipb)
        if server_port is None:
            # first packet is the SYN (client -> server)
            server_port = t.dport if t.flags & 0x02 and not t.flags & 0x10 else t.sport
        to_server = t.dport == server_port
        dst, src = (SERVER_MAC, CLIENT_MAC) if to_server else (CLIENT_MAC, SERVER_MAC)
        et = b"\x08\x00" if ipb[0] >> 4 == 4 else b"\x86\xdd"
        res.append((sec, usec, dst + src + et + ipb))
    write_pcap(out, 1, res)


def cmd_clip(inp, out, mode, port=None):
    lt, pkts = read_pcap(inp)
    port = int(port) if port else None
    res = []
    started = False
    for rec in pkts:
        p, t, pl = tcp_info(ip_of(lt, rec[2]))
        from_client = t.dport == port if port else None
        if mode == "from-ch":
            started = started or (len(pl) > 0 and pl[0] == 0x16)
        elif mode == "from-sh":
            started = started or (len(pl) > 0 and pl[0] == 0x16 and not from_client)
        elif mode == "appdata":
            # from the first client application-data record after the
            # handshake, skipping the first few so the capture starts mid-flow
            if not started and len(pl) > 0 and pl[0] == 0x17 and from_client:
                cmd_clip.seen = getattr(cmd_clip, "seen", 0) + 1
                started = cmd_clip.seen > 2
        elif mode == "client":
            started = from_client
        elif mode == "server":
            started = not from_client
        else:
            raise SystemExit("bad clip mode " + mode)
        if started:
            res.append(rec)
        if mode in ("client", "server"):
            started = False
    write_pcap(out, lt, res)


def cmd_drop(inp, out, side, nth):
    """Drops the nth (1-based) segment with payload that side (client: the
    SYN sender, or server) sent: a segment the capture lost while the peer
    got it (its ACKs still cover it)."""
    lt, pkts = read_pcap(inp)
    nth = int(nth)
    res, client_port, seen, dropped = [], None, 0, False
    for rec in pkts:
        p, t, pl = tcp_info(ip_of(lt, rec[2]))
        if client_port is None and t.flags & 0x02 and not t.flags & 0x10:
            client_port = t.sport
        from_client = t.sport == client_port
        if len(pl) > 0 and from_client == (side == "client") and not dropped:
            seen += 1
            if seen == nth:
                dropped = True
                continue
        res.append(rec)
    if not dropped:
        raise SystemExit("drop: %s sent fewer than %d segments" % (side, nth))
    write_pcap(out, lt, res)


def encap(kind, ipb, to_server):
    v4 = ipb[0] >> 4 == 4
    dst, src = (SERVER_MAC, CLIENT_MAC) if to_server else (CLIENT_MAC, SERVER_MAC)
    et = b"\x08\x00" if v4 else b"\x86\xdd"
    if kind in ("ether",):
        return 1, dst + src + et + ipb
    if kind in ("vlan", "vlan-ipv6"):
        return 1, dst + src + b"\x81\x00" + struct.pack(">H", 100) + et + ipb
    if kind == "qinq":
        return 1, (dst + src + b"\x88\xa8" + struct.pack(">H", 200)
                   + b"\x81\x00" + struct.pack(">H", 100) + et + ipb)
    if kind == "sll":
        # packet type 0 = to us, 4 = outgoing; ARPHRD_ETHER; 6-byte address
        return 113, struct.pack(">HHH8s", 0 if to_server else 4, 1, 6, src + b"\0\0") + et + ipb
    if kind == "sll2":
        return 276, (et + b"\0\0" + struct.pack(">IHBB8s", 2, 1, 0 if to_server else 4, 6, src + b"\0\0")
                     + ipb)
    if kind == "null":
        # host byte order (this file is little-endian); AF_INET 2, BSD AF_INET6 24
        return 0, struct.pack("<I", 2 if v4 else 24) + ipb
    if kind == "loop":
        return 108, struct.pack(">I", 2 if v4 else 24) + ipb
    if kind == "raw":
        return 101, ipb
    if kind == "ipv4":
        return 228, ipb
    if kind == "ipv6":
        return 229, ipb
    if kind == "pppoe":
        ppp = (b"\x00\x21" if v4 else b"\x00\x57") + ipb
        return 1, dst + src + b"\x88\x64" + struct.pack(">BBHH", 0x11, 0, 0x1234, len(ppp)) + ppp
    if kind == "mpls":
        l1 = (1000 << 12) | (0 << 9) | (0 << 8) | 64
        l2 = (2000 << 12) | (0 << 9) | (1 << 8) | 64
        return 1, dst + src + b"\x88\x47" + struct.pack(">II", l1, l2) + ipb
    raise SystemExit("unknown link kind " + kind)


def conn_packets(path):
    """IP packets of a fixed capture with direction flags."""
    lt, pkts = read_pcap(path)
    res, sport = [], None
    for sec, usec, b in pkts:
        ipb = ip_of(lt, b)
        _, t, _ = tcp_info(ipb)
        if sport is None:
            sport = t.dport
        res.append((sec, usec, ipb, t.dport == sport))
    return res


def cmd_relink(out, kind, *inputs):
    allp = []
    last = None
    for path in inputs:
        ps = conn_packets(path)
        if last is not None and ps:
            # place this connection 1 s after the previous one ended
            shift = last + 1 - ps[0][0]
            ps = [(s + shift, u, b, d) for s, u, b, d in ps]
        allp += ps
        if ps:
            last = ps[-1][0]
    res, lt = [], None
    for sec, usec, ipb, to_server in allp:
        lt, b = encap(kind, ipb, to_server)
        res.append((sec, usec, b))
    write_pcap(out, lt, res)


def cmd_frag(inp, out, port):
    port = int(port)
    res, done = [], False
    for sec, usec, ipb, to_server in conn_packets(inp):
        p, t, pl = tcp_info(ipb)
        if not done and to_server and len(pl) > 0 and pl[0] == 0x16:
            done = True
            p[IP].flags = 0
            p[IP].id = 0x4242
            for fr in fragment(p, fragsize=96):
                fb = rebuild_frag(fr)
                res.append((sec, usec, encap("ether", fb, True)[1]))
            continue
        res.append((sec, usec, encap("ether", ipb, to_server)[1]))
    if not done:
        raise SystemExit("no ClientHello found")
    write_pcap(out, 1, res)


def rebuild_frag(fr):
    del fr[IP].chksum
    del fr[IP].len
    return bytes(fr)


def cmd_v6ext(inp, out):
    res = []
    for sec, usec, ipb, to_server in conn_packets(inp):
        p = IPv6(ipb)
        tcp = p[TCP]
        np_ = IPv6(src=p.src, dst=p.dst, hlim=p.hlim, tc=p.tc, fl=p.fl) \
            / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0\0\0\0")]) \
            / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0\0\0\0")]) / tcp
        del np_[TCP].chksum
        res.append((sec, usec, encap("ether", bytes(np_), to_server)[1]))
    write_pcap(out, 1, res)


def cmd_reuse(inp, out, port):
    """Two connections with different client ports -> same client port."""
    port = int(port)
    first = None
    res = []
    for sec, usec, ipb, _ in conn_packets(inp):
        p, t, _ = tcp_info(ipb)
        cport = t.sport if t.dport == port else t.dport
        if first is None:
            first = cport
        if cport != first:
            if t.dport == port:
                t.sport = first
            else:
                t.dport = first
        del t.chksum
        ipb = bytes(p)
        res.append((sec, usec, encap("ether", ipb, t.dport == port)[1]))
    write_pcap(out, 1, res)


def cmd_unknown(out):
    frames = [bytes.fromhex("08020000ffffffffffff020000000001020000000001") + bytes(range(32)),
              bytes.fromhex("88020000020000000002020000000001020000000002") + bytes(range(48))]
    write_pcap(out, 105, [(1700000000, i * 1000, f) for i, f in enumerate(frames)])


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "fix":
        cmd_fix(*args)
    elif cmd == "clip":
        cmd_clip(*args)
    elif cmd == "relink":
        cmd_relink(*args)
    elif cmd == "frag":
        cmd_frag(*args)
    elif cmd == "drop":
        cmd_drop(*args)
    elif cmd == "v6ext":
        cmd_v6ext(*args)
    elif cmd == "reuse":
        cmd_reuse(*args)
    elif cmd == "unknown":
        cmd_unknown(*args)
    elif cmd == "offset":
        # byte offset of packet record N (0-based) in a classic pcap
        _, pkts = read_pcap(args[0])
        n = int(args[1])
        print(24 + sum(16 + len(b) for _, _, b in pkts[:n]))
    elif cmd == "count":
        print(len(read_pcap(args[0])[1]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
