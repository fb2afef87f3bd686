#!/usr/bin/python3
"""pcaptool.py -- post-processing for captures made by tests/gen/make-pcaps.sh.

Run with Debian's /usr/bin/python3 (it has scapy). Every subcommand reads
pcap files written by tcpdump on lo (DLT_EN10MB with zero MACs) or files this
tool wrote, and writes classic little-endian pcap (usec).

  fix IN OUT                 recompute IPv4/TCP checksums, give MACs per side
  clip IN OUT MODE [PORT]    drop packets: MODE = from-ch | from-sh | appdata
                             | client | server (PORT = server port)
  relink OUT KIND V4 [V6]    re-encapsulate the IP packets of fixed captures
                             (link layers, and tunnels: KIND tun-* below)
  overlap OUT V4             one connection twice in VXLAN, VNIs 100 and 200,
                             interleaved (same inner addresses)
  frag IN OUT PORT           IPv4-fragment the ClientHello packet
  drop IN OUT SIDE N         lose SIDE's (client|server) Nth data segment, ACKs kept
  v6ext IN OUT               insert hop-by-hop + destination options headers
  reuse IN OUT PORT          rewrite the 2nd connection's client port to the 1st's
  unknown OUT                a DLT_IEEE802_11 (105) file with arbitrary bytes
  inject IN OUT AFTER SIDE LEN  after packet record AFTER (0-based), a SIDE
                             (client|server) segment carrying one
                             application_data record of LEN bytes; later
                             sequence and acknowledgement numbers shifted
  offset IN N                byte offset of packet record N (0-based)
  count IN                   print the number of packet records
"""
import struct
import sys

from scapy.all import (IP, UDP, IPv6, TCP, Ether, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrHopByHop, PadN, Raw, fragment)

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


def cmd_inject(inp, out, after, side, length):
    """A segment the capture shows after record AFTER: one application_data
    record (17 03 03 LEN, arbitrary bytes) from SIDE, acknowledging what
    that side had seen; the rest of the connection is shifted to account
    for it (SIDE's later seq, the peer's later ack)."""
    lt, pkts = read_pcap(inp)
    after, length = int(after), int(length)
    client_port = None
    nxt = {}  # (from_client) -> next seq; last ack seen from each side
    ack = {}
    res = []
    payload = b"\x17\x03\x03" + struct.pack(">H", length) + bytes((i * 37 + 11) & 0xFF for i in range(length))
    for i, (sec, usec, b) in enumerate(pkts):
        ipb = ip_of(lt, b)
        p, t, pl = tcp_info(ipb)
        if client_port is None and t.flags & 0x02 and not t.flags & 0x10:
            client_port = t.sport
        fc = t.sport == client_port
        if i > after:
            if fc == (side == "client"):
                t.seq = (t.seq + len(payload)) & 0xFFFFFFFF
            elif t.flags & 0x10:
                t.ack = (t.ack + len(payload)) & 0xFFFFFFFF
            ipb = rebuild(bytes(p))
        nxt[fc] = (t.seq + len(pl) + (1 if t.flags & 0x03 else 0)) & 0xFFFFFFFF
        if t.flags & 0x10:
            ack[fc] = t.ack
        res.append((sec, usec, b[:len(b) - len(ip_of(lt, b))] + ipb))
        if i == after:
            fc_new = side == "client"
            L3 = IP if IP in p else IPv6
            src, dst = p[L3].src, p[L3].dst
            sport, dport = t.sport, t.dport
            if fc_new != fc:
                src, dst, sport, dport = dst, src, dport, sport
            q = L3(src=src, dst=dst) / TCP(sport=sport, dport=dport, seq=nxt[fc_new], ack=nxt[not fc_new],
                                           flags="PA", window=t.window) / Raw(payload)
            ipn = rebuild(bytes(q))
            usec2 = usec + 1
            res.append((sec + usec2 // 1000000, usec2 % 1000000, b[:len(b) - len(ip_of(lt, b))] + ipn))
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
    if kind.startswith("tun-"):
        return 1, tunnel(kind[4:], ipb, to_server)
    if kind == "mpls":
        l1 = (1000 << 12) | (0 << 9) | (0 << 8) | 64
        l2 = (2000 << 12) | (0 << 9) | (1 << 8) | 64
        return 1, dst + src + b"\x88\x47" + struct.pack(">II", l1, l2) + ipb
    raise SystemExit("unknown link kind " + kind)


# Tunnels: outer endpoints on the client side / server side (TEP = tunnel end
# point); client -> server packets go from the client-side TEP.
TEP4 = ("192.0.2.1", "192.0.2.2")
TEP6 = ("2001:db8::1", "2001:db8::2")
TEP_MAC = (bytes.fromhex("020000000011"), bytes.fromhex("020000000012"))
TUN_STATE = {"seq": 0}


def outer_ip(payload, proto, to_server, v6=False, teps=None, udp=None):
    """Ethernet + outer IPv4/IPv6 (+ UDP (sport, dport) when udp) around payload."""
    a, b = teps or (TEP6 if v6 else TEP4)
    src, dst = (a, b) if to_server else (b, a)
    if udp:
        sp, dp = udp
        inner = UDP(sport=sp, dport=dp) / Raw(payload)
        pkt = (IPv6(src=src, dst=dst, hlim=64) if v6 else IP(src=src, dst=dst, ttl=64, flags="DF")) / inner
    elif v6:
        pkt = IPv6(src=src, dst=dst, nh=proto, hlim=64) / Raw(payload)
    else:
        pkt = IP(src=src, dst=dst, proto=proto, ttl=64, flags="DF") / Raw(payload)
    mdst, msrc = (TEP_MAC[1], TEP_MAC[0]) if to_server else (TEP_MAC[0], TEP_MAC[1])
    return mdst + msrc + (b"\x86\xdd" if v6 else b"\x08\x00") + bytes(pkt)


def inet_cksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def gre(proto, payload, key=None, seq=None, csum=False):
    flags = (0x8000 if csum else 0) | (0x2000 if key is not None else 0) | (0x1000 if seq is not None else 0)
    opt = b""
    if csum:
        opt += b"\0\0\0\0"
    if key is not None:
        opt += struct.pack(">I", key)
    if seq is not None:
        opt += struct.pack(">I", seq)
    h = struct.pack(">HH", flags, proto) + opt
    if csum:
        c = inet_cksum(h + payload)
        h = h[:4] + struct.pack(">H", c) + h[6:]
    return h + payload


def next_seq():
    TUN_STATE["seq"] += 1
    return TUN_STATE["seq"]


def vxlan(vni, frame):
    return struct.pack(">BBHI", 0x08, 0, 0, vni << 8) + frame


def tunnel(kind, ipb, to_server):
    """The Ethernet frame of one tunnelled packet (inner packet ipb)."""
    v4 = ipb[0] >> 4 == 4
    et = 0x0800 if v4 else 0x86DD
    dst, src = (SERVER_MAC, CLIENT_MAC) if to_server else (CLIENT_MAC, SERVER_MAC)
    frame = dst + src + struct.pack(">H", et) + ipb  # inner Ethernet
    sport = 49152 if to_server else 49153  # entropy port of the sending TEP
    if kind == "vxlan":
        return outer_ip(vxlan(42, frame), 17, to_server, udp=(sport, 4789))
    if kind == "geneve":
        # one option TLV: class 0x0102, type 0x80, 4 bytes of data (opt len 2 words)
        opt = struct.pack(">HBB", 0x0102, 0x80, 1) + b"\xde\xad\xbe\xef"
        h = struct.pack(">BBHI", len(opt) // 4, 0, 0x6558, 4242 << 8)
        return outer_ip(h + opt + frame, 17, to_server, udp=(sport, 6081))
    if kind == "gre-ip":
        return outer_ip(gre(et, ipb), 47, to_server)
    if kind == "gre-eth":
        return outer_ip(gre(0x6558, frame, key=0x1234, seq=next_seq(), csum=True), 47, to_server)
    if kind == "erspan1":
        return outer_ip(gre(0x88BE, frame), 47, to_server)
    if kind == "erspan2":
        # ver 1, vlan 0, cos 0, en 0, t 0, session 100; reserved, index 0
        h = struct.pack(">HHI", 1 << 12, 100, 0)
        return outer_ip(gre(0x88BE, h + frame, seq=next_seq()), 47, to_server)
    if kind == "erspan3":
        # ver 2, vlan 0, session 200, timestamp, sgt 0, p ft hw d gra, O=1 + platform subheader
        h = struct.pack(">HHIHBB", 2 << 12, 200, next_seq() * 1000, 0, 0, 0x01)
        plat = struct.pack(">II", 3 << 26, 0x12345678)
        return outer_ip(gre(0x22EB, h + plat + frame, seq=next_seq()), 47, to_server)
    if kind == "gtpu":
        # per-direction TEIDs; E flag: seq, N-PDU, next type 0x85 (PDU session
        # container, 4 bytes: length 1, 2 bytes, next type 0)
        teid = 0x1000 if to_server else 0x2000
        ext = struct.pack(">HBB", 0, 0, 0x85) + struct.pack(">BBBB", 1, 0x10 if to_server else 0x00, 9, 0)
        body = ext + ipb
        h = struct.pack(">BBHI", 0x34, 0xFF, len(body), teid)
        return outer_ip(h + body, 17, to_server, udp=(2152, 2152))
    if kind == "cmd-sgt":
        # Cisco MetaData on the client -> server direction only (TrustSec taps
        # tag one direction): version 1, length 1 (8 bytes), SGT option, SGT 17
        if to_server:
            return dst + src + b"\x89\x09" + struct.pack(">BBHHH", 1, 1, 0x0001, 17, et) + ipb
        return frame
    if kind == "ipip":
        return outer_ip(ipb, 4, to_server)
    if kind == "6in4":
        return outer_ip(ipb, 41, to_server)
    if kind == "ip6ip6":
        return outer_ip(ipb, 41, to_server, v6=True)
    if kind == "4in6":
        return outer_ip(ipb, 4, to_server, v6=True)
    if kind == "teredo":
        # client (port 50000) <-> relay (3544); the relay's packets carry an
        # origin indication, the client's SYN an authentication header
        pre = b""
        if not to_server:
            pre = struct.pack(">HH", 0x0000, 3544 ^ 0xFFFF) + bytes(a ^ 0xFF for a in (192, 0, 2, 2))
        elif ipb[6] == 6 and ipb[40 + 13] & 0x02:
            pre = struct.pack(">HBB", 0x0001, 0, 0) + b"\x11" * 8 + b"\x00"
        return outer_ip(pre + ipb, 17, to_server, udp=(50000, 3544) if to_server else (3544, 50000))
    if kind == "vxlan-in-gre":
        inner = outer_ip(vxlan(7, frame), 17, to_server, udp=(sport, 4789))[14:]
        return outer_ip(gre(0x0800, inner), 47, to_server, teps=("198.51.100.1", "198.51.100.2"))
    raise SystemExit("unknown tunnel kind " + kind)


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


def cmd_overlap(out, inp):
    """Two tenants, one address plan: the same connection in VXLAN VNI 100
    and VNI 200, interleaved (the VNI 200 copy 200 us behind)."""
    res = []
    for sec, usec, ipb, to_server in conn_packets(inp):
        for vni, dt in ((100, 0), (200, 200)):
            dst, src = (SERVER_MAC, CLIENT_MAC) if to_server else (CLIENT_MAC, SERVER_MAC)
            frame = dst + src + (b"\x08\x00" if ipb[0] >> 4 == 4 else b"\x86\xdd") + ipb
            u = usec + dt
            res.append((sec + u // 1000000, u % 1000000,
                        outer_ip(vxlan(vni, frame), 17, to_server, udp=(49152 if to_server else 49153, 4789))))
    res.sort(key=lambda r: (r[0], r[1]))
    write_pcap(out, 1, res)


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
    elif cmd == "overlap":
        cmd_overlap(*args)
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
    elif cmd == "inject":
        cmd_inject(*args)
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
