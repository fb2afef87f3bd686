#!/usr/bin/python3
"""corrupt_tcp_cksum.py IN OUT N -- copy a classic pcap (Ethernet, IPv4 or
IPv6, no VLAN) with the TCP checksum of packet N (1-based, as tshark numbers
frames) made wrong: a segment corrupted on the way, everything else intact.
Standard library only."""
import struct
import sys


def main():
    src, dst, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = bytearray(open(src, "rb").read())
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        sys.exit("%s: not a classic pcap" % src)
    if struct.unpack(end + "I", data[20:24])[0] != 1:
        sys.exit("%s: not Ethernet" % src)
    off, n = 24, 0
    while off + 16 <= len(data):
        n += 1
        caplen = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        pkt = off + 16
        if n == want:
            etype = struct.unpack(">H", data[pkt + 12:pkt + 14])[0]
            ip = pkt + 14
            if etype == 0x0800 and data[ip + 9] == 6:
                tcp = ip + (data[ip] & 0x0F) * 4
            elif etype == 0x86DD and data[ip + 6] == 6:
                tcp = ip + 40
            else:
                sys.exit("%s: packet %d is not TCP over IPv4/IPv6" % (src, want))
            data[tcp + 16] ^= 0x5A
            data[tcp + 17] ^= 0xA5
            open(dst, "wb").write(data)
            return
        off = pkt + caplen
    sys.exit("%s: no packet %d" % (src, want))


main()
