#!/usr/bin/env python3
"""Give the two ends of a loopback capture distinct addresses (make soak).

The captures of pcaps/ were taken on lo: client and server are both
127.0.0.1 (or ::1). tcpreplay --unique-ip makes each loop's flows new by
moving the lower address down and the higher one up by the loop count; with
src == dst it moves both directions the same way, and the two halves of a
connection no longer pair up. So before the soak, in every Ethernet frame
(after any 802.1Q/802.1ad tags and Cisco MetaData) whose IPv4 or IPv6 source equals its
destination, the server's side becomes 127.0.0.2 / ::2 (the client keeps
.1 / ::1), and the IP and TCP/UDP checksums are updated incrementally
(RFC 1624), so a checksum that was wrong on purpose (offload-checksums)
stays wrong by the same amount. The server is the side with the lower TCP/UDP
port (every server port of pcaps/ is below its clients' ephemeral ports);
without ports (a non-first fragment), the side whose MAC is
02:00:00:00:00:02 when the other is 02:00:00:00:00:01 (pcaps/MANIFEST.md;
not used first: demo.pcap's later connections carry the server's MAC both
ways), else the frame is left as it is.
Frames under MPLS, PPPoE, tunnels or other link types are copied as they
are. Standard library only.

usage: soak_prep.py IN.pcap OUT.pcap   (classic pcap, microsecond or nano)
"""
import struct
import sys

CLIENT_MAC = bytes.fromhex("020000000001")
SERVER_MAC = bytes.fromhex("020000000002")


def csum_fix(buf, off, old, new):
    """RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') over 16-bit words."""
    hc = struct.unpack_from("!H", buf, off)[0]
    s = (~hc & 0xFFFF)
    for i in range(0, len(old), 2):
        s += (~struct.unpack_from("!H", old, i)[0] & 0xFFFF) + struct.unpack_from("!H", new, i)[0]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    struct.pack_into("!H", buf, off, ~s & 0xFFFF)


def server_is_src(frame, l4, proto):
    if l4 is not None and proto in (6, 17) and len(frame) >= l4 + 4:
        sport, dport = struct.unpack_from("!HH", frame, l4)
        if sport != dport:
            return sport < dport
    macs = (bytes(frame[6:12]), bytes(frame[0:6]))
    if macs == (SERVER_MAC, CLIENT_MAC):
        return True
    if macs == (CLIENT_MAC, SERVER_MAC):
        return False
    return None


def l4_csum_off(proto, frame, l4):
    if proto == 6 and len(frame) >= l4 + 18:
        return l4 + 16
    if proto == 17 and len(frame) >= l4 + 8 and struct.unpack_from("!H", frame, l4 + 6)[0] != 0:
        return l4 + 6
    return None


def rewrite(frame):
    """Returns 1 if the frame was changed."""
    off = 12
    etype = struct.unpack_from("!H", frame, off)[0] if len(frame) >= 14 else 0
    while etype in (0x8100, 0x88A8, 0x8909) and len(frame) >= off + 10:
        off += 8 if etype == 0x8909 else 4      # Cisco MetaData: 6 bytes, then the EtherType
        etype = struct.unpack_from("!H", frame, off)[0]
    ip = off + 2
    if etype == 0x0800 and len(frame) >= ip + 20:
        ihl = (frame[ip] & 0x0F) * 4
        src, dst = frame[ip + 12:ip + 16], frame[ip + 16:ip + 20]
        if src != dst:
            return 0
        proto = frame[ip + 9]
        first = (struct.unpack_from("!H", frame, ip + 6)[0] & 0x1FFF) == 0
        l4 = ip + ihl if first else None
        srv = server_is_src(frame, l4, proto)
        if srv is None:
            return 0
        new = src[:3] + bytes([src[3] + 1 if src[3] < 255 else src[3] - 1])
        at = ip + 12 if srv else ip + 16
        frame[at:at + 4] = new
        csum_fix(frame, ip + 10, src, new)
        co = l4_csum_off(proto, frame, l4) if l4 is not None else None
        if co is not None:
            csum_fix(frame, co, src, new)
        return 1
    if etype == 0x86DD and len(frame) >= ip + 40:
        src, dst = frame[ip + 8:ip + 24], frame[ip + 24:ip + 40]
        if src != dst:
            return 0
        proto, l4 = frame[ip + 6], ip + 40
        while proto in (0, 43, 44, 60) and l4 is not None and len(frame) >= l4 + 8:
            if proto == 44:     # fragment header: the L4 header is in the first fragment only
                first = (struct.unpack_from("!H", frame, l4 + 2)[0] & 0xFFF8) == 0
                proto, l4 = frame[l4], (l4 + 8 if first else None)
            else:
                proto, l4 = frame[l4], l4 + (frame[l4 + 1] + 1) * 8
        if proto not in (6, 17):
            l4 = None
        srv = server_is_src(frame, l4, proto)
        if srv is None:
            return 0
        new = src[:15] + bytes([src[15] + 1 if src[15] < 255 else src[15] - 1])
        at = ip + 8 if srv else ip + 24
        frame[at:at + 16] = new
        co = l4_csum_off(proto, frame, l4) if l4 is not None else None
        if co is not None:
            csum_fix(frame, co, src, new)
        return 1
    return 0


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        sys.exit("soak_prep: not a classic pcap file")
    linktype = struct.unpack_from(end + "I", data, 20)[0]
    out = bytearray(data[:24])
    pos, n, changed = 24, 0, 0
    while pos + 16 <= len(data):
        incl = struct.unpack_from(end + "I", data, pos + 8)[0]
        rec = data[pos:pos + 16]
        frame = bytearray(data[pos + 16:pos + 16 + incl])
        if len(frame) < incl:
            break
        if linktype == 1:
            changed += rewrite(frame)
        out += rec + frame
        pos += 16 + incl
        n += 1
    with open(sys.argv[2], "wb") as f:
        f.write(out)
    print("soak_prep: %d frames, %d with src == dst given distinct ends" % (n, changed))


if __name__ == "__main__":
    main()
