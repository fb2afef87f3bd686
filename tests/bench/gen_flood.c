/* tests/bench/gen_flood.c -- flood captures for the memory budget tests.
 *
 * Writes a classic pcap (EN10MB, usec) to stdout:
 *   - S half-open connections: a SYN each from a distinct client address
 *     and port to one server, nothing else;
 *   - T TLS connections held open at once: each completes the TCP
 *     handshake, then the client sends one segment that starts a 16,384-byte
 *     handshake record (a ClientHello announcing 65,000 bytes) and carries
 *     only B bytes of it, so every connection holds a partial record and a
 *     partial message. All T handshakes come first, then all T segments, so
 *     every connection is open at the end; no FIN, no RST.
 * The bytes are made here (no traffic is sent anywhere); addresses are in
 * 10.0.0.0/8 and only name flows inside the file.
 *
 * usage: gen_flood [-s HALF_OPEN] [-t TLS_FLOWS] [-b BYTES] > flood.pcap
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t pkt[65600];
static uint32_t now_us;
static uint32_t now_s = 1700000000;

static void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, v >> 16);
    wr16(p + 2, v);
}

static uint16_t csum(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) s += (uint32_t)p[n - 1] << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void put(const void *p, size_t n)
{
    if (fwrite(p, 1, n, stdout) != n) {
        perror("gen_flood: write");
        exit(1);
    }
}

/* One IPv4/TCP packet; payload is already at pkt + 54. */
static void emit(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                 uint8_t flags, size_t paylen)
{
    uint8_t *e = pkt, *ip = pkt + 14, *t = pkt + 34;
    memset(e, 0, 12);
    e[5] = 1;
    e[11] = 2;
    wr16(e + 12, 0x0800);
    memset(ip, 0, 20);
    ip[0] = 0x45;
    wr16(ip + 2, (uint32_t)(40 + paylen));
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = 6;
    wr32(ip + 12, src);
    wr32(ip + 16, dst);
    wr16(ip + 10, csum(ip, 20, 0));
    memset(t, 0, 20);
    wr16(t, sport);
    wr16(t + 2, dport);
    wr32(t + 4, seq);
    wr32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    wr16(t + 14, 65535);
    uint32_t ph = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + (uint32_t)(20 + paylen);
    wr16(t + 16, csum(t, 20 + paylen, ph));
    uint32_t rec[4] = { now_s, now_us, (uint32_t)(54 + paylen), (uint32_t)(54 + paylen) };
    put(rec, sizeof rec);
    put(pkt, 54 + paylen);
    now_us += 10;
    if (now_us >= 1000000) {
        now_us -= 1000000;
        now_s++;
    }
}

int main(int argc, char **argv)
{
    unsigned long half = 0, tls = 0, bytes = 8192;
    int o;
    while ((o = getopt(argc, argv, "s:t:b:")) != -1) {
        if (o == 's') half = strtoul(optarg, NULL, 0);
        else if (o == 't') tls = strtoul(optarg, NULL, 0);
        else if (o == 'b') bytes = strtoul(optarg, NULL, 0);
        else {
            fprintf(stderr, "usage: gen_flood [-s HALF_OPEN] [-t TLS_FLOWS] [-b BYTES]\n");
            return 2;
        }
    }
    if (bytes < 16 || bytes > 16000 || tls > 1u << 24 || half > 1u << 26) {
        fprintf(stderr, "gen_flood: -b 16..16000, -t up to 2^24, -s up to 2^26\n");
        return 2;
    }
    uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
    put(hdr, sizeof hdr);
    const uint32_t server = 0x0a000001; /* 10.0.0.1 */
    for (unsigned long i = 0; i < half; i++) {
        uint32_t cli = 0x0b000000 | (uint32_t)(i >> 14);
        emit(cli, server, (uint16_t)(1024 + (i & 0x3fff)), 443, (uint32_t)(i * 7919u), 0, 0x02, 0);
    }
    for (unsigned long i = 0; i < tls; i++) {
        uint32_t cli = 0x0c000000 | (uint32_t)(i >> 14);
        uint16_t port = (uint16_t)(1024 + (i & 0x3fff));
        emit(cli, server, port, 443, 1000, 0, 0x02, 0);
        emit(server, cli, 443, port, 5000, 1001, 0x12, 0);
        emit(cli, server, port, 443, 1001, 5001, 0x10, 0);
    }
    uint8_t *pay = pkt + 54;
    memset(pay, 0x41, bytes);
    pay[0] = 22; /* handshake record, 16,384 bytes announced */
    wr16(pay + 1, 0x0301);
    wr16(pay + 3, 16384);
    pay[5] = 1; /* ClientHello announcing 65,000 bytes */
    pay[6] = 0;
    wr16(pay + 7, 65000);
    wr16(pay + 9, 0x0303);
    for (unsigned long i = 0; i < tls; i++) {
        uint32_t cli = 0x0c000000 | (uint32_t)(i >> 14);
        uint16_t port = (uint16_t)(1024 + (i & 0x3fff));
        emit(cli, server, port, 443, 1001, 5001, 0x18, bytes);
    }
    return fflush(stdout) ? 1 : 0;
}
