#!/bin/sh
# Certificate check cost per handshake, and the verdict cache's hit rate.
#
#   sh tests/bench/certcache.sh NEW_BUILD [OLD_BUILD]
#   e.g. make BUILD=build/hcert-rel all && sh tests/bench/certcache.sh build/hcert-rel /tmp/tw-old/build/rel
#
# Two captures from pcaps/tls12-ok.pcap (gen_bulk, CERT_CONNS connections,
# 1 KB of application data each): "repeated" (every server sends the same
# chain) and "unique" (the leaf's signature gets the connection number
# XORed into its last bytes, TCP checksum recomputed: every chain differs,
# and fails to verify, which costs a full verification all the same).
# Measures (median of CERT_REPS runs, user+sys CPU): tlswatch -q -r FILE for
# each build given, and the stats event's "certificates" counters; then a
# micro-benchmark linked with BUILD/libtlswatch.a timing certcheck alone on
# the template's chain (repeated, and a new chain every call).
# Files in build/certcache/ (deleted unless KEEP=1). Never asserts a time.
NEW=${1:?usage: certcache.sh NEW_BUILD [OLD_BUILD]}
OLD=${2:-}
N=${CERT_CONNS:-20000}
REPS=${CERT_REPS:-3}
ITER=${CERT_ITER:-20000}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
D=build/certcache
mkdir -p "$D"
TEMPLATE=pcaps/tls12-ok.pcap

cc -O2 -o "$D/gen_bulk" tests/bench/gen_bulk.c || exit 1
"$D/gen_bulk" -t "$TEMPLATE" -n "$N" -m 1k -c 100 -o "$D/repeated.pcap" 2>/dev/null || exit 1

python3 - "$TEMPLATE" "$D/repeated.pcap" "$D/unique.pcap" "$D" <<'PY' || exit 1
import struct, sys
tmpl, src, dst, outdir = sys.argv[1:5]

def packets(path):
    f = open(path, 'rb'); gh = f.read(24)
    magic = struct.unpack('<I', gh[:4])[0]
    assert magic in (0xa1b2c3d4, 0xa1b23c4d), 'classic little-endian pcap expected'
    link = struct.unpack('<I', gh[20:24])[0]
    while True:
        h = f.read(16)
        if len(h) < 16: break
        incl = struct.unpack('<I', h[8:12])[0]
        yield gh, link, h, bytearray(f.read(incl))

def l3(link):
    return {1: 14, 101: 0, 228: 0, 0: 4, 108: 4, 113: 16}[link]

def tcp_payload(link, d):
    ip = l3(link); ihl = (d[ip] & 15) * 4; tcp = ip + ihl
    thl = (d[tcp + 12] >> 4) * 4
    return ip, tcp, tcp + thl

# the chain from the template's server flight (one segment in tls12-ok)
ders = None
for gh, link, h, d in packets(tmpl):
    ip, tcp, pay = tcp_payload(link, d)
    p = bytes(d[pay:])
    i = 0
    while i + 5 <= len(p) and ders is None:
        typ, ln = p[i], struct.unpack('>H', p[i + 3:i + 5])[0]
        body = p[i + 5:i + 5 + ln]
        j = 0
        while typ == 22 and j + 4 <= len(body):
            mt = body[j]; ml = int.from_bytes(body[j + 1:j + 4], 'big')
            if mt == 11:
                m = body[j + 4:j + 4 + ml]; k = 3; ders = []
                while k + 3 <= len(m):
                    cl = int.from_bytes(m[k:k + 3], 'big'); ders.append(m[k + 3:k + 3 + cl]); k += 3 + cl
                break
            j += 4 + ml
        i += 5 + ln
    if ders: break
assert ders, 'no Certificate message found in the template'
for n, c in enumerate(ders):
    open('%s/chain%d.der' % (outdir, n), 'wb').write(c)
pattern = ders[0][-12:]

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('>%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

out = open(dst, 'wb'); first = True; conns = {}; changed = 0
for gh, link, h, d in packets(src):
    if first: out.write(gh); first = False
    ip, tcp, pay = tcp_payload(link, d)
    at = bytes(d[pay:]).find(pattern)
    if at >= 0:
        key = bytes(d[ip + 16:ip + 20]) + bytes(d[tcp + 2:tcp + 4])  # client addr:port
        idx = conns.setdefault(key, len(conns) + 1)
        o = pay + at + len(pattern) - 4
        for b in range(4): d[o + b] ^= (idx >> (8 * b)) & 0xff
        tl = struct.unpack('>H', d[ip + 2:ip + 4])[0] - (d[ip] & 15) * 4
        d[tcp + 16:tcp + 18] = b'\0\0'
        pseudo = bytes(d[ip + 12:ip + 20]) + b'\0\x06' + struct.pack('>H', tl)
        d[tcp + 16:tcp + 18] = struct.pack('>H', csum(pseudo + bytes(d[tcp:tcp + tl])))
        changed += 1
    out.write(h); out.write(d)
out.close()
print('certcache: %d chain(s) of %d certificates, %d leaf signatures changed' % (1, len(ders), changed), file=sys.stderr)
PY

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cpu() { # BIN FILE -> median user+sys seconds
    for r in $(seq "$REPS"); do
        /usr/bin/time -f "%U %S" -o "$D/time.txt" "$1" -q -r "$2" > "$D/out.json" 2>/dev/null
        awk '{print $1 + $2}' "$D/time.txt"
    done | median
}
echo "| capture | build | CPU s (median of $REPS) | us/handshake | certificates (stats event) |"
echo "|---|---|---|---|---|"
for cap in repeated unique; do
    for b in "$NEW" $OLD; do
        t=$(cpu "$b/tlswatch" "$D/$cap.pcap")
        c=$(jq -c 'select(.event_type=="stats") | .stats.certificates // "-"' "$D/out.json")
        echo "| $cap ($N handshakes) | $b | $t | $(echo "$t $N" | awk '{printf "%.1f", $1 / $2 * 1e6}') | $c |"
    done
done

# micro-benchmark: certcheck alone
cat > "$D/micro.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "certcheck.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv)
{
    /* argv: iterations mode(0 chain+seen, 1 server) cache(0 off, 1 on) unique(0/1) ca_path|- der... */
    long iters = atol(argv[1]);
    int mode = atoi(argv[2]), cache = atoi(argv[3]), uniq = atoi(argv[4]);
    const char *cap = strcmp(argv[5], "-") ? argv[5] : NULL;
    size_t n = (size_t)(argc - 6);
    uint8_t *d[8]; size_t l[8];
    for (size_t i = 0; i < n && i < 8; i++) {
        FILE *f = fopen(argv[6 + i], "rb"); d[i] = malloc(65536); l[i] = fread(d[i], 1, 65536, f); fclose(f);
    }
    char err[256];
    struct certcheck_opts o = { NULL, cap, 0 };
    struct certcheck *cc = certcheck_new(&o, err, sizeof err);
    if (!cc) { fprintf(stderr, "%s\n", err); return 1; }
#ifndef OLD_API
    if (!cache) certcheck_set_cache(cc, CERTCHECK_CACHE_OFF);
#else
    (void)cache;
#endif
    double t0 = now();
    for (long i = 0; i < iters; i++) {
        if (uniq) for (int b = 0; b < 4; b++) d[0][l[0] - 4 + b] ^= (uint8_t)((i + 1) >> (8 * b)) ^ (uint8_t)(i >> (8 * b));
#ifndef OLD_API
        static tls_facts F;
        struct certcheck_facts cfs;
        memset(&cfs, 0, sizeof cfs);
        cfs.facts = &F;
        struct certcheck_facts *f = &cfs;
#else
        struct value *f = value_obj();
#endif
#ifndef OLD_API
        if (mode == 1) certcheck_server(cc, (const uint8_t *const *)d, l, n, "server.example", "server.example", 1795581558, f);
        else
#endif
        {
            certcheck_chain(cc, (const uint8_t *const *)d, l, n, "server.example", 1795581558, f);
            certcheck_seen(cc, "server.example", d[0], l[0], f);
        }
#ifdef OLD_API
        value_free(f);
#endif
    }
    double t = now() - t0;
    printf("%.1f\n", t / (double)iters * 1e6);
    certcheck_free(cc);
    return 0;
}
C
LIBS="-lnids -lnet -lpcap -lssl -lcrypto -lz -lm $(pkg-config --libs gthread-2.0 2>/dev/null)"
cc -O2 -Isrc -Idissectors -o "$D/micro" "$D/micro.c" "$NEW/libtlswatch.a" "$NEW/libdissect.a" $LIBS || exit 1
CH="$D/chain*.der"
echo
echo "| certcheck alone ($ITER calls, chain of $(ls $CH | wc -l)) | us/call |"
echo "|---|---|"
echo "| new: certcheck_server, cache on, same chain (hits) | $("$D/micro" "$ITER" 1 1 0 - $CH) |"
echo "| new: certcheck_server, cache on, every chain new (misses) | $("$D/micro" "$ITER" 1 1 1 - $CH) |"
echo "| new: certcheck_server, cache off, same chain | $("$D/micro" "$ITER" 1 0 0 - $CH) |"
echo "| new: certcheck_chain + certcheck_seen, cache off | $("$D/micro" "$ITER" 0 0 0 - $CH) |"
echo "| new: certcheck_server, cache off, --ca-path /etc/ssl/certs | $("$D/micro" "$ITER" 1 0 0 /etc/ssl/certs $CH) |"
if [ -n "$OLD" ] && [ -f "$OLD/libtlswatch.a" ]; then
    cc -O2 -DOLD_API -I"$OLD/../../src" -I"$OLD/../../dissectors" -o "$D/micro-old" "$D/micro.c" "$OLD/libtlswatch.a" "$OLD/libdissect.a" $LIBS || exit 1
    echo "| old: certcheck_chain + certcheck_seen (system hashed dir) | $("$D/micro-old" "$ITER" 0 0 0 - $CH) |"
fi
[ "${KEEP:-0}" = 1 ] || rm -f "$D"/*.pcap "$D/out.json"
