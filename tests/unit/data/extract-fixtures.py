#!/usr/bin/env python3
"""Turns make-captures.sh output into openssl_flows.hex: one line per item,
"<port>.<c|s>.stream <hex>" (the direction's TCP payload in sequence order)
and "<port>.<c|s>.dec<N> <hex>" (TLS plaintext tshark decrypted with the key
log, in order). Usage: extract-fixtures.py CAPDIR > openssl_flows.hex"""
import re, subprocess, sys

cap = sys.argv[1]
pcap, keys = cap + '/lo.pcap', cap + '/keys'
out = subprocess.run(['tshark', '-r', pcap, '-Y', 'tcp.len>0', '-T', 'fields', '-e', 'tcp.srcport',
                      '-e', 'tcp.dstport', '-e', 'tcp.seq', '-e', 'tcp.payload'],
                     capture_output=True, text=True, check=True).stdout
labels = {}
def label(server, client):
    if (server, client) not in labels:
        used = sum(1 for k in labels if k[0] == server)
        labels[(server, client)] = str(server) + ('' if used == 0 else chr(ord('a') + used))
    return labels[(server, client)]
streams = {}
for line in out.splitlines():
    sp, dp, seq, pl = line.split('\t')
    sp, dp, seq = int(sp), int(dp), int(seq)
    key = (label(dp, sp), 'c') if 4400 <= dp < 4500 else (label(sp, dp), 's')
    streams.setdefault(key, {})[seq] = pl
for (port, d), segs in sorted(streams.items()):
    data, nxt = '', None
    for seq in sorted(segs):
        if nxt is None or seq == nxt:
            data += segs[seq]
            nxt = seq + len(segs[seq]) // 2
    print('%s.%s.stream %s' % (port, d, data))
x = subprocess.run(['tshark', '-r', pcap, '-o', 'tls.keylog_file:' + keys, '-P', '-x', '-o',
                    'gui.column.format:"S","%uS","D","%uD"'], capture_output=True, text=True).stdout
# -P -x prints a "srcport dstport" summary line, then hex dumps of each data source.
port = d = None
counts = {}
cur = None
def flush():
    global cur
    if cur is not None and port is not None:
        n = counts.get((port, d), 0)
        counts[(port, d)] = n + 1
        print('%s.%s.dec%d %s' % (port, d, n, cur))
    cur = None
for line in x.splitlines():
    m = re.match(r'^\s*(\d+)\s+(\d+)\s*$', line)
    if m:
        flush()
        sp, dp = int(m.group(1)), int(m.group(2))
        port, d = (label(dp, sp), 'c') if 4400 <= dp < 4500 else (label(sp, dp), 's')
        continue
    if line.startswith('Decrypted TLS'):
        flush()
        cur = ''
        continue
    m = re.match(r'^[0-9a-f]{4}  ((?:[0-9a-f]{2} )*[0-9a-f]{2})', line)
    if m and cur is not None:
        cur += m.group(1).replace(' ', '')
    elif not m and cur is not None:
        flush()
flush()
