#!/usr/bin/python3
"""hostile_sni.py SRC.pcap OUT.pcap NAME -- SRC with the ClientHello's SNI
replaced by NAME (e.g. markup: '<script>...'), every length rebuilt (see
craft.py). For the --report test: strings from the wire must come out
HTML-escaped."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from craft import Conn, edit_hello  # noqa: E402


def main():
    src, out, name = sys.argv[1], sys.argv[2], sys.argv[3].encode()

    def fn(ch):
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        ch.exts = [(t, struct.pack("!H", len(entry)) + entry if t == 0 else d) for t, d in ch.exts]

    c = Conn(src)
    edit_hello(c, 1, fn)
    c.save(out)


if __name__ == "__main__":
    main()
