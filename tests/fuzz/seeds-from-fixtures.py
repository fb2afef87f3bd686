#!/usr/bin/env python3
"""Builds the small committed seed corpus (tests/fuzz/corpus/<entry>/) from
our own OpenSSL loopback traffic (tests/unit/data/openssl_flows.hex)."""
import hashlib, os, sys

top = sys.argv[1] if len(sys.argv) > 1 else '.'
items = {}
for line in open(os.path.join(top, 'tests/unit/data/openssl_flows.hex')):
    k, v = line.split()
    items[k] = bytes.fromhex(v)

def put(entry, data):
    d = os.path.join(top, 'tests/fuzz/corpus', entry)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), 'wb').write(data)

def records(stream):
    out, i = [], 0
    while i + 5 <= len(stream):
        t, n = stream[i], int.from_bytes(stream[i + 3:i + 5], 'big')
        out.append((t, stream[i + 5:i + 5 + n]))
        i += 5 + n
    return out

def messages(hs):
    out, i = [], 0
    while i + 4 <= len(hs):
        n = int.from_bytes(hs[i + 1:i + 4], 'big')
        out.append(hs[i:i + 4 + n])
        i += 4 + n
    return out

for k, v in items.items():
    port, d, kind = k.split('.')
    if kind == 'stream':
        put('record_stream', bytes([0x07 if d == 's' else 0x06, 0xff, 3, 0x20]) + v[:65536])
        hs = b''
        for t, body in records(v):
            if t == 22:
                hs += body
            elif t == 20:
                break
        msgs = messages(hs)
    else:
        msgs = messages(v) if v[:1] != b'\x01' else []
    ver = 5 if port in ('4401', '4405', '4408') else 4
    for m in msgs:
        put('handshake', bytes([ver, 0xc0, 0x2f, 0x40, 0]) + m)
        if m[0] in (1, 2):
            put('client_hello', m[4:])
        if m[0] == 8:
            put('client_hello', m[4:])
        if m[0] == 11:
            put('x509', m[4:])
            body = m[4:]
            off = 4 if body[0] == 0 and ver == 5 else 3
            if ver == 5:
                off = 1 + body[0] + 3
            if off + 3 <= len(body):
                n = int.from_bytes(body[off:off + 3], 'big')
                put('x509', body[off + 3:off + 3 + n])
        if m[0] == 22:
            put('x509', m[8:])
