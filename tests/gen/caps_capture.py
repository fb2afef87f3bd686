#!/usr/bin/python3
"""caps_capture.py PCAPS_DIR OUT.pcap -- two connections built from the
real OpenSSL handshake in pcaps/tls12-ok.pcap that run past tlswatch's
per-handshake and per-connection lists:

  port 20000: the server's flight, then 20 warning alerts
              (unrecognized_name) before the client's answer: more alerts
              than one handshake keeps (16)
  port 20001: the whole handshake and application data, then 70 encrypted
              renegotiations (each side's handshake records, CCS under the
              old keys, Finished): more than one connection reports (64)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import split_variants as sv  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    s12 = sv.streams(os.path.join(sys.argv[1], "tls12-ok.pcap"))
    warn = sv.rec(21, bytes([1, 112]))
    w = sv.Writer()
    w.conn([s12[0], s12[1]] + [(1, warn)] * 20 + s12[2:])
    reneg = []
    ccs = sv.rec(20, bytes(25))  # under the old keys: longer than 1 byte
    for _ in range(70):
        reneg += [(0, sv.rec(22, bytes(64))), (1, sv.rec(22, bytes(96))),
                  (0, ccs + sv.rec(22, bytes(64))), (1, ccs + sv.rec(22, bytes(64)))]
    w.conn(s12[:6] + reneg + s12[6:])
    sv.write_pcap(sys.argv[2], 1, w.pkts)


if __name__ == "__main__":
    main()
