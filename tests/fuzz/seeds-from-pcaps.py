#!/usr/bin/env python3
"""Writes the committed seeds of the src/ fuzz targets from the captures in
pcaps/ (our own generator's output, so copying them is allowed):

  corpus/pipeline/  small captures copied whole, truncated in the middle of a
                    packet, with the option bytes of fuzz_pipeline.c set
                    (text, --flows, stats, 4 flows, checksums, no key log),
                    and one as pcapng (editcap)
  corpus/session/   every TCP connection of every capture as a fuzz_session
                    program: both directions' payloads interleaved in capture
                    order (tshark, retransmissions left out), FIN/RST as TCP
                    events, capture time gaps as time ops; a few re-chunked
                    (every segment cut in 5-byte and 700-byte pieces) and
                    crafted variants (cleartext ClientHello split over two
                    segments after a TLS 1.3 handshake and application data,
                    the session-layer use-after-free scenario; issue 9's
                    exact sequences, after tests/gen/split_variants.py)

Usage: tests/fuzz/seeds-from-pcaps.py [PCAPS_DIR] [CORPUS_DIR]
       tests/fuzz/seeds-from-pcaps.py --session OUTDIR CAPTURE...
         (session programs only, from any captures: run-fuzz.sh seeds
         fuzz_session from the shared corpus this way, never committed)"""
import os
import shutil
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARGS = [] if len(sys.argv) > 1 and sys.argv[1] == "--session" else sys.argv[1:]
PCAPS = ARGS[0] if len(ARGS) > 0 else os.path.join(TOP, "pcaps")
CORPUS = ARGS[1] if len(ARGS) > 1 else os.path.join(TOP, "tests", "fuzz", "corpus")
PIPE = os.path.join(CORPUS, "pipeline")
SESS = os.path.join(CORPUS, "session")

# fuzz_session.c flags
F_KEYLOG, F_CERTCHECK, F_SMALL_HS, F_IPV6, F_MIDSTREAM, F_PORT80 = 1, 2, 4, 8, 16, 32


def packets(pcap):
    out = subprocess.run(
        ["tshark", "-n", "-r", pcap, "-Y", "tcp", "-T", "fields", "-E", "separator=|",
         "-e", "frame.time_epoch", "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.dstport",
         "-e", "tcp.flags", "-e", "tcp.analysis.retransmission", "-e", "tcp.payload",
         "-e", "ipv6.src"],
        capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        f = line.split("|")
        if len(f) < 8 or not f[1]:
            continue
        yield {"t": float(f[0]), "stream": int(f[1]), "sport": int(f[2]), "dport": int(f[3]),
               "flags": int(f[4], 16), "retrans": bool(f[5]),
               "payload": bytes.fromhex(f[6].replace(":", "")) if f[6] else b"", "v6": bool(f[7])}


def time_ops(ms):
    """Time ops for a gap of ms milliseconds; returns (ops, rest <= 31)."""
    ops = bytearray()
    while ms > 31:
        b = min(255, int((ms / 4) ** 0.5))
        if b == 0:
            break
        ops += bytes([6, b])
        ms -= b * b * 4
    return ops, max(0, min(31, ms))


def program(pkts, chunk=None):
    syn = [p for p in pkts if p["flags"] & 0x12 == 0x02]
    if syn:
        cport = syn[0]["sport"]
    else:
        a = pkts[0]
        cport = a["sport"] if a["sport"] > a["dport"] else a["dport"]
    flags = F_KEYLOG | F_CERTCHECK
    if pkts[0]["v6"]:
        flags |= F_IPV6
    if not syn:
        flags |= F_MIDSTREAM
    prog = bytearray([flags])
    prev = pkts[0]["t"]
    for p in pkts:
        gap = int(round((p["t"] - prev) * 1000))
        prev = p["t"]
        d = 0 if p["sport"] == cport else 1
        ops, rest = time_ops(gap)
        prog += ops
        dt = rest
        if p["payload"] and not p["retrans"]:
            pl = p["payload"]
            step = chunk or 65535
            for i in range(0, len(pl), step):
                piece = pl[i:i + step]
                prog += bytes([d | dt << 3, len(piece) >> 8, len(piece) & 255]) + piece
                dt = 0
        if p["flags"] & 0x04:
            prog += bytes([4 + d | dt << 3])
            dt = 0
        elif p["flags"] & 0x01:
            prog += bytes([2 + d | dt << 3])
            dt = 0
        if dt:
            prog += bytes([6 | dt << 3, 0])
    return prog


def streams(pcap):
    by = {}
    for p in packets(pcap):
        by.setdefault(p["stream"], []).append(p)
    return [by[k] for k in sorted(by)]


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    os.makedirs(PIPE, exist_ok=True)
    os.makedirs(SESS, exist_ok=True)
    names = sorted(n for n in os.listdir(PCAPS) if n.endswith(".pcap"))
    # session programs
    for n in names:
        base = n[:-5]
        if base.startswith("tun-"):
            continue  # the same TCP payloads as the captures they wrap
        for i, pk in enumerate(streams(os.path.join(PCAPS, n))):
            if not any(p["payload"] for p in pk):
                continue
            write(os.path.join(SESS, "%s.%d" % (base, i)), program(pk))
    for n, chunk in (("tls13-ok", 5), ("tls12-ok", 700), ("tls12-reneg-accepted", 5), ("tls13-hrr", 700)):
        st = streams(os.path.join(PCAPS, n + ".pcap"))
        if st:
            write(os.path.join(SESS, "%s.0.chunk%d" % (n, chunk)), program(st[0], chunk))
    for n in ("tls13-ok", "tls12-ok", "tls12-reneg-accepted", "gnutls-tls13"):
        st = streams(os.path.join(PCAPS, n + ".pcap"))
        if st:
            prog = program(st[0])
            prog[0] &= ~F_KEYLOG
            write(os.path.join(SESS, "%s.0.nokeylog" % n), bytes(prog))
    # crafted: TLS 1.3 handshake, application data both ways, then a
    # cleartext ClientHello record split over two segments
    st = streams(os.path.join(PCAPS, "tls13-ok.pcap"))
    if st:
        pk = [p for p in st[0] if not p["flags"] & 0x05]
        ch = next(p["payload"] for p in pk if p["payload"][:1] == b"\x16")
        prog = program(pk)
        prog[0] &= ~F_KEYLOG  # with the secrets the buffers are kept (no headers-only mode)
        for cut in (3, 9):
            tail = bytearray()
            for piece in (ch[:cut], ch[cut:]):
                tail += bytes([0 | 1 << 3, len(piece) >> 8, len(piece) & 255]) + piece
            write(os.path.join(SESS, "crafted-tls13-cleartext-ch-split%d" % cut), bytes(prog + tail))
            write(os.path.join(SESS, "crafted-tls13-cleartext-ch-split%d-fin" % cut),
                  bytes(prog + tail + bytes([2, 3])))
    # issue 9 (tests/gen/split_variants.py's first family): TLS 1.3
    # ClientHello, ServerHello, server application data (400 bytes), client
    # application data (53 bytes), then the ClientHello record again from
    # the client split over two segments at k, FIN both ways
    st = streams(os.path.join(PCAPS, "tls13-ok.pcap"))
    if st:
        pl = [p["payload"] for p in st[0] if p["payload"] and not p["retrans"]]
        c0 = next(p for p in st[0] if p["payload"])
        cport = c0["sport"]
        first = {0: None, 1: None}
        for p in st[0]:
            if p["payload"] and not p["retrans"]:
                d = 0 if p["sport"] == cport else 1
                if first[d] is None:
                    first[d] = p["payload"]
        rec0 = lambda b: b[:5 + (b[3] << 8 | b[4])]
        ch, sh = rec0(first[0]), rec0(first[1])
        app400 = bytes([23, 3, 3, 400 >> 8, 400 & 255]) + bytes(range(256)) + bytes(144)
        app53 = bytes([23, 3, 3, 0, 53]) + bytes(53)

        def seg(d, b):
            return bytes([d | 1 << 3, len(b) >> 8, len(b) & 255]) + b
        base = bytes([F_CERTCHECK]) + seg(0, ch) + seg(1, sh) + seg(1, app400) + seg(0, app53)
        for k in (1, 5, 6, 9, 64, len(ch) - 1):
            prog = base + seg(0, ch[:k]) + seg(0, ch[k:]) + bytes([2 | 1 << 3, 3 | 1 << 3])
            write(os.path.join(SESS, "issue9-tls13-client-hs-after-appdata.split%d" % k), prog)
        for k in (1, 6, 40):
            prog = base + seg(1, sh[:k]) + seg(1, sh[k:]) + bytes([2 | 1 << 3, 3 | 1 << 3])
            write(os.path.join(SESS, "issue9-tls13-server-hs-after-appdata.split%d" % k), prog)
    # pipeline: small captures whole, a few truncated, option variants, pcapng
    small = [n for n in names if os.path.getsize(os.path.join(PCAPS, n)) <= 4700]
    for n in small:
        shutil.copyfile(os.path.join(PCAPS, n), os.path.join(PIPE, n))
    # tunnels (the small ones come in above): the nested, GTP-U, Teredo,
    # Geneve and overlapping-VNI captures whole, whatever their size
    for n in ("tun-vxlan-in-gre.pcap", "tun-gtpu.pcap", "tun-teredo.pcap", "tun-geneve.pcap",
              "tun-overlap.pcap", "tun-gre-eth.pcap"):
        if os.path.exists(os.path.join(PCAPS, n)):
            shutil.copyfile(os.path.join(PCAPS, n), os.path.join(PIPE, n))
    for n in ("tls13-ok.pcap", "tls12-ok.pcap", "link-ipfrag.pcap", "midstream-appdata.pcap",
              "tun-vxlan-in-gre.pcap"):
        data = open(os.path.join(PCAPS, n), "rb").read()
        write(os.path.join(PIPE, n[:-5] + ".trunc"), data[:len(data) * 2 // 3])
    variants = {"text": 1, "flows": 2, "stats": 4, "maxflows4": 8, "idle2s": 16, "cksum-on": 32,
                "cksum-off": 64, "nokeylog": 128}
    data = open(os.path.join(PCAPS, "tls13-ok.pcap"), "rb").read()
    for v, bit in variants.items():
        d = bytearray(data)
        d[12] = bit
        write(os.path.join(PIPE, "tls13-ok.opt-" + v), bytes(d))
    d = bytearray(open(os.path.join(PCAPS, "tls12-ok.pcap"), "rb").read())
    d[13] = 3  # no certificate checker, max_handshake_bytes 1024
    write(os.path.join(PIPE, "tls12-ok.opt-nocc-smallhs"), bytes(d))
    subprocess.run(["editcap", "-F", "pcapng", os.path.join(PCAPS, "tls12-client-auth.pcap"),
                    os.path.join(PIPE, "tls12-client-auth.pcapng")], check=False)


def session_only(outdir, captures):
    os.makedirs(outdir, exist_ok=True)
    for cap in captures:
        base = cap.strip("./").replace("/", "_")
        try:
            sts = streams(cap)
        except (ValueError, IndexError):
            continue
        for i, pk in enumerate(sts):
            if any(p["payload"] for p in pk) and i < 50:
                prog = program(pk)
                if len(prog) <= 65536:
                    write(os.path.join(outdir, "%s.%d" % (base, i)), bytes(prog))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--session":
        session_only(sys.argv[2], sys.argv[3:])
    else:
        main()
