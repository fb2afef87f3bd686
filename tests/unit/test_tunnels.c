/* Tunnel decapsulation (src/decode.c): every tunnel type decoded to its
 * inner IP packet with the right type, id and outer endpoints; every
 * truncation of the headers up to the inner IP header's end either fails
 * or falls back to the outer packet, never reads out of bounds (each cut
 * is decoded from an exact-size heap copy: ASan sees an over-read); a
 * tunnel whose inside is not IP is kept as the outer packet; nesting is
 * bounded; the flow key's tunnel part. */
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "decode.h"
#include "flow.h"
#include "t.h"

#define BUF 2048

/* the inner packet: IPv4 TCP 10.0.0.1:40000 -> 10.0.0.2:443, 40 bytes */
static const uint8_t in4[40] = {
    0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
};
/* IPv6 TCP ::1 -> ::2, 60 bytes */
static uint8_t in6[60];

static void init_in6(void)
{
    memset(in6, 0, sizeof in6);
    in6[0] = 0x60;
    in6[5] = 20;
    in6[6] = 6;
    in6[7] = 64;
    in6[23] = 1;
    in6[39] = 2;
    in6[40] = 0x9c; in6[41] = 0x40; in6[42] = 0x01; in6[43] = 0xbb;
    in6[52] = 0x50; in6[53] = 0x02;
}

static const uint8_t mac12[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };

static void w16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void w32(uint8_t *p, uint32_t v) { w16(p, v >> 16); w16(p + 2, v & 0xffff); }

/* Ethernet frame of `type` around body */
static size_t eth(uint8_t *out, unsigned type, const uint8_t *body, size_t n)
{
    memcpy(out, mac12, 12);
    w16(out + 12, type);
    memcpy(out + 14, body, n);
    return 14 + n;
}

/* outer IPv4 192.0.2.1 -> 192.0.2.2 (proto) or IPv6 2001:db8::1 -> ::2 (nh) */
static size_t oip(uint8_t *out, int v6, unsigned proto, const uint8_t *body, size_t n)
{
    if (v6) {
        memset(out, 0, 40);
        out[0] = 0x60;
        w16(out + 4, (unsigned)n);
        out[6] = (uint8_t)proto;
        out[7] = 64;
        out[8] = 0x20; out[9] = 0x01; out[10] = 0x0d; out[11] = 0xb8; out[23] = 1;
        out[24] = 0x20; out[25] = 0x01; out[26] = 0x0d; out[27] = 0xb8; out[39] = 2;
        memcpy(out + 40, body, n);
        return 40 + n;
    }
    memset(out, 0, 20);
    out[0] = 0x45;
    w16(out + 2, (unsigned)(20 + n));
    out[8] = 64;
    out[9] = (uint8_t)proto;
    out[12] = 192; out[13] = 0; out[14] = 2; out[15] = 1;
    out[16] = 192; out[17] = 0; out[18] = 2; out[19] = 2;
    memcpy(out + 20, body, n);
    return 20 + n;
}

static size_t udp(uint8_t *out, unsigned sp, unsigned dp, const uint8_t *body, size_t n)
{
    w16(out, sp);
    w16(out + 2, dp);
    w16(out + 4, (unsigned)(8 + n));
    w16(out + 6, 0);
    memcpy(out + 8, body, n);
    return 8 + n;
}

/* Ethernet + outer IP (+ UDP) around a tunnel body: the frame */
static size_t frame_ip(uint8_t *out, int v6, unsigned proto, const uint8_t *body, size_t n)
{
    uint8_t t[BUF];
    size_t m = oip(t, v6, proto, body, n);
    return eth(out, v6 ? 0x86dd : 0x0800, t, m);
}
static size_t frame_udp(uint8_t *out, unsigned sp, unsigned dp, const uint8_t *body, size_t n)
{
    uint8_t t[BUF];
    size_t m = udp(t, sp, dp, body, n);
    return frame_ip(out, 0, 17, t, m);
}

struct tcase {
    const char *name;
    uint8_t f[BUF];
    size_t n;
    size_t inner_off; /* where the inner IP header starts */
    int inner_fam;
    int type, has_id;
    uint32_t id;
    int outer_v6;
};

static void run_case(const struct tcase *c)
{
    struct decoded_ip d;
    struct decode_stats st;
    memset(&st, 0, sizeof st);
    enum decode_result r = decode_packet(DLT_EN10MB, c->f, c->n, &d, &st);
    CHECK(r == DECODE_OK && d.ip == c->f + c->inner_off && d.family == c->inner_fam &&
              d.tun.type == c->type && d.tun.has_id == c->has_id && (!c->has_id || d.tun.id == c->id) &&
              st.tunnel[c->type] == 1,
          "%s: decapsulated to the inner IPv%d packet, type %s, id %u", c->name, c->inner_fam,
          decode_tunnel_name(c->type), (unsigned)c->id);
    static const uint8_t o4s[4] = { 192, 0, 2, 1 }, o4d[4] = { 192, 0, 2, 2 };
    static const uint8_t o6s[16] = { 0x20, 1, 0x0d, 0xb8, [15] = 1 }, o6d[16] = { 0x20, 1, 0x0d, 0xb8, [15] = 2 };
    int outer_ok = c->outer_v6 ? d.tun.outer_family == 6 && !memcmp(d.tun.outer_src, o6s, 16) &&
                                     !memcmp(d.tun.outer_dst, o6d, 16)
                               : d.tun.outer_family == 4 && !memcmp(d.tun.outer_src, o4s, 4) &&
                                     !memcmp(d.tun.outer_dst, o4d, 4);
    CHECK(r == DECODE_OK && outer_ok, "%s: outer endpoints", c->name);
    /* every cut before the inner IP header's end: an error or the outer
     * packet, never the tunnel (and never a read past the cut) */
    size_t inner_end = c->inner_off + (c->inner_fam == 6 ? 40 : 20);
    int clean = 1, inner_ok = 1;
    for (size_t cut = 0; cut <= c->n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, c->f, cut);
        r = decode_packet(DLT_EN10MB, copy, cut, &d, &st);
        if (cut < inner_end && r == DECODE_OK && d.tun.type != TUN_NONE) clean = 0;
        if (cut >= inner_end && (r != DECODE_OK || d.tun.type != c->type || d.ip != copy + c->inner_off))
            inner_ok = 0;
        free(copy);
    }
    CHECK(clean, "%s: every truncation before the inner IP header's end fails or falls back", c->name);
    CHECK(inner_ok, "%s: cut inside the inner packet: still decapsulated (snaplen)", c->name);
}

static struct tcase tc;

static void set(const char *name, size_t inner_off, int fam, int type, int has_id, uint32_t id, int outer_v6)
{
    tc.name = name;
    tc.inner_off = inner_off;
    tc.inner_fam = fam;
    tc.type = type;
    tc.has_id = has_id;
    tc.id = id;
    tc.outer_v6 = outer_v6;
}

static void test_types(void)
{
    uint8_t b[BUF], e[BUF];
    size_t n, en;
    en = eth(e, 0x0800, in4, sizeof in4); /* inner Ethernet frame */

    /* VXLAN, both ports */
    memset(b, 0, 8);
    b[0] = 0x08;
    w32(b + 4, 42u << 8);
    memcpy(b + 8, e, en);
    tc.n = frame_udp(tc.f, 49152, 4789, b, 8 + en);
    set("vxlan", 14 + 20 + 8 + 8 + 14, 4, TUN_VXLAN, 1, 42, 0);
    run_case(&tc);
    tc.n = frame_udp(tc.f, 49152, 8472, b, 8 + en);
    set("vxlan port 8472", 14 + 20 + 8 + 8 + 14, 4, TUN_VXLAN, 1, 42, 0);
    run_case(&tc);

    /* Geneve with an 8-byte option, Ethernet inside; and IPv6 directly */
    memset(b, 0, 16);
    b[0] = 2;
    w16(b + 2, 0x6558);
    w32(b + 4, 4242u << 8);
    w16(b + 8, 0x0102); b[10] = 0x80; b[11] = 1;
    memcpy(b + 16, e, en);
    tc.n = frame_udp(tc.f, 1, 6081, b, 16 + en);
    set("geneve option + ethernet", 14 + 20 + 8 + 16 + 14, 4, TUN_GENEVE, 1, 4242, 0);
    run_case(&tc);
    memset(b, 0, 8);
    w16(b + 2, 0x86dd);
    w32(b + 4, 7u << 8);
    memcpy(b + 8, in6, sizeof in6);
    tc.n = frame_udp(tc.f, 1, 6081, b, 8 + sizeof in6);
    set("geneve ipv6", 14 + 20 + 8 + 8, 6, TUN_GENEVE, 1, 7, 0);
    run_case(&tc);

    /* GRE: plain IPv4; C+K+S Ethernet; ERSPAN I, II, III (+ O) */
    memset(b, 0, 4);
    w16(b + 2, 0x0800);
    memcpy(b + 4, in4, sizeof in4);
    tc.n = frame_ip(tc.f, 0, 47, b, 4 + sizeof in4);
    set("gre ipv4", 14 + 20 + 4, 4, TUN_GRE, 0, 0, 0);
    run_case(&tc);
    memset(b, 0, 16);
    w16(b, 0xb000);
    w16(b + 2, 0x6558);
    w32(b + 8, 0x1234);
    w32(b + 12, 9);
    memcpy(b + 16, e, en);
    tc.n = frame_ip(tc.f, 0, 47, b, 16 + en);
    set("gre C+K+S ethernet", 14 + 20 + 16 + 14, 4, TUN_GRE, 1, 0x1234, 0);
    run_case(&tc);
    memset(b, 0, 4);
    w16(b + 2, 0x88be);
    memcpy(b + 4, e, en);
    tc.n = frame_ip(tc.f, 0, 47, b, 4 + en);
    set("erspan type I", 14 + 20 + 4 + 14, 4, TUN_ERSPAN1, 0, 0, 0);
    run_case(&tc);
    memset(b, 0, 16);
    w16(b, 0x1000);
    w16(b + 2, 0x88be);
    w16(b + 8, 0x1000);
    w16(b + 10, 0x0400 | 100); /* t bit + session 100 */
    memcpy(b + 16, e, en);
    tc.n = frame_ip(tc.f, 0, 47, b, 16 + en);
    set("erspan type II", 14 + 20 + 8 + 8 + 14, 4, TUN_ERSPAN2, 1, 100, 0);
    run_case(&tc);
    memset(b, 0, 28);
    w16(b, 0x1000);
    w16(b + 2, 0x22eb);
    w16(b + 8, 0x2000);
    w16(b + 10, 200);
    b[19] = 0x01; /* O: platform subheader follows */
    memcpy(b + 28, e, en);
    tc.n = frame_ip(tc.f, 0, 47, b, 28 + en);
    set("erspan type III + platform subheader", 14 + 20 + 8 + 20 + 14, 4, TUN_ERSPAN3, 1, 200, 0);
    run_case(&tc);
    b[19] = 0;
    memmove(b + 20, b + 28, en);
    tc.n = frame_ip(tc.f, 0, 47, b, 20 + en);
    set("erspan type III", 14 + 20 + 8 + 12 + 14, 4, TUN_ERSPAN3, 1, 200, 0);
    run_case(&tc);

    /* GTP-U: plain; E flag with two extension headers (4 and 8 bytes) */
    b[0] = 0x30; b[1] = 0xff;
    w16(b + 2, sizeof in4);
    w32(b + 4, 0x1000);
    memcpy(b + 8, in4, sizeof in4);
    tc.n = frame_udp(tc.f, 2152, 2152, b, 8 + sizeof in4);
    set("gtp-u", 14 + 20 + 8 + 8, 4, TUN_GTPU, 0, 0, 0);
    run_case(&tc);
    memset(b, 0, 24);
    b[0] = 0x34; b[1] = 0xff;
    w16(b + 2, 4 + 4 + 8 + sizeof in6);
    w32(b + 4, 0x2000);
    b[11] = 0x85;
    b[12] = 1; b[15] = 0x40;      /* 4 bytes, next 0x40 */
    b[16] = 2; b[23] = 0;         /* 8 bytes, last */
    memcpy(b + 24, in6, sizeof in6);
    tc.n = frame_udp(tc.f, 2152, 2152, b, 24 + sizeof in6);
    set("gtp-u extension headers, ipv6 inside", 14 + 20 + 8 + 24, 6, TUN_GTPU, 0, 0, 0);
    run_case(&tc);

    /* IP in IP, both families each way */
    tc.n = frame_ip(tc.f, 0, 4, in4, sizeof in4);
    set("ipip", 14 + 20, 4, TUN_IPIP, 0, 0, 0);
    run_case(&tc);
    tc.n = frame_ip(tc.f, 0, 41, in6, sizeof in6);
    set("6in4", 14 + 20, 6, TUN_6IN4, 0, 0, 0);
    run_case(&tc);
    tc.n = frame_ip(tc.f, 1, 41, in6, sizeof in6);
    set("ip6ip6", 14 + 40, 6, TUN_IP6IP6, 0, 0, 1);
    run_case(&tc);
    tc.n = frame_ip(tc.f, 1, 4, in4, sizeof in4);
    set("4in6", 14 + 40, 4, TUN_4IN6, 0, 0, 1);
    run_case(&tc);

    /* Teredo: authentication (id 2, auth 1 bytes) + origin indication */
    n = 0;
    w16(b, 1); b[2] = 2; b[3] = 1;
    memset(b + 4, 0xaa, 3 + 9);
    n = 4 + 3 + 9;
    memset(b + n, 0, 8);
    b[n + 2] = 0x12;
    n += 8;
    memcpy(b + n, in6, sizeof in6);
    tc.n = frame_udp(tc.f, 3544, 50000, b, n + sizeof in6);
    set("teredo auth + origin", 14 + 20 + 8 + n, 6, TUN_TEREDO, 0, 0, 0);
    run_case(&tc);
    tc.n = frame_udp(tc.f, 50000, 3544, in6, sizeof in6);
    set("teredo bare", 14 + 20 + 8, 6, TUN_TEREDO, 0, 0, 0);
    run_case(&tc);
}

static void test_cmd(void)
{
    uint8_t b[BUF];
    struct decoded_ip d;
    struct decode_stats st;
    memset(&st, 0, sizeof st);
    /* ver 1, len 1, SGT option, SGT 17, next type IPv4 */
    static const uint8_t cmd[8] = { 1, 1, 0, 1, 0, 17, 0x08, 0x00 };
    memcpy(b, cmd, 8);
    memcpy(b + 8, in4, sizeof in4);
    uint8_t f[BUF];
    size_t n = eth(f, 0x8909, b, 8 + sizeof in4);
    enum decode_result r = decode_packet(DLT_EN10MB, f, n, &d, &st);
    CHECK(r == DECODE_OK && d.ip == f + 22 && d.tun.type == TUN_NONE && st.cmd == 1,
          "cisco metadata: skipped like a tag (no tunnel, no key part), counted");
    int clean = 1;
    for (size_t cut = 0; cut < 22 + 20; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, f, cut);
        if (decode_packet(DLT_EN10MB, copy, cut, &d, &st) == DECODE_OK) clean = 0;
        free(copy);
    }
    CHECK(clean, "cisco metadata: every truncation before the IP header's end is rejected");
}

static void test_fallback(void)
{
    uint8_t b[BUF], f[BUF], e[BUF];
    struct decoded_ip d;
    struct decode_stats st;
    memset(&st, 0, sizeof st);
    /* VXLAN carrying ARP: the outer UDP packet */
    static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
    size_t en = eth(e, 0x0806, arp, sizeof arp);
    memset(b, 0, 8);
    b[0] = 0x08;
    memcpy(b + 8, e, en);
    size_t n = frame_udp(f, 1, 4789, b, 8 + en);
    enum decode_result r = decode_packet(DLT_EN10MB, f, n, &d, &st);
    CHECK(r == DECODE_OK && d.ip == f + 14 && d.tun.type == TUN_NONE && st.tunnel_fallback == 1,
          "vxlan with ARP inside: kept as the outer UDP packet, counted as a fallback");
    /* VXLAN without the I flag */
    b[0] = 0;
    en = eth(e, 0x0800, in4, sizeof in4);
    memcpy(b + 8, e, en);
    n = frame_udp(f, 1, 4789, b, 8 + en);
    r = decode_packet(DLT_EN10MB, f, n, &d, &st);
    CHECK(r == DECODE_OK && d.ip == f + 14 && d.tun.type == TUN_NONE, "vxlan without the I flag: not decapsulated");
    /* PPTP's enhanced GRE (version 1) */
    memset(b, 0, 8);
    w16(b, 0x2001);
    w16(b + 2, 0x880b);
    memcpy(b + 8, in4, sizeof in4);
    n = frame_ip(f, 0, 47, b, 8 + sizeof in4);
    r = decode_packet(DLT_EN10MB, f, n, &d, &st);
    CHECK(r == DECODE_OK && d.ip == f + 14 && d.tun.type == TUN_NONE, "GRE version 1 (PPTP): not decapsulated");
    /* GTP-U extension header of length 0; echo request; a long chain */
    memset(b, 0, 16);
    b[0] = 0x34; b[1] = 0xff;
    w16(b + 2, 4 + 4 + sizeof in4);
    b[11] = 0x85;
    memcpy(b + 16, in4, sizeof in4);
    n = frame_udp(f, 2152, 2152, b, 16 + sizeof in4);
    r = decode_packet(DLT_EN10MB, f, n, &d, &st);
    CHECK(r == DECODE_OK && d.tun.type == TUN_NONE, "gtp-u extension header of length 0: not decapsulated");
    b[1] = 1;
    r = decode_packet(DLT_EN10MB, f, n, &d, &st);
    CHECK(r == DECODE_OK && d.tun.type == TUN_NONE, "gtp-u echo request: not decapsulated");
    memset(b, 0, 12 + 40 * 4);
    b[0] = 0x34; b[1] = 0xff;
    w16(b + 2, 4 + 40 * 4);
    b[11] = 0x85;
    for (int i = 0; i < 40; i++) { b[12 + i * 4] = 1; b[12 + i * 4 + 3] = 0x85; }
    n = frame_udp(f, 2152, 2152, b, 12 + 40 * 4);
    r = decode_packet(DLT_EN10MB, f, n, &d, &st);
    CHECK(r == DECODE_OK && d.tun.type == TUN_NONE, "gtp-u chain of 40 extension headers: bounded, not decapsulated");
    /* GRE with an IPv4 inside that is not one (version 5) */
    memset(b, 0, 4);
    w16(b + 2, 0x0800);
    memcpy(b + 4, in4, sizeof in4);
    b[4] = 0x55;
    n = frame_ip(f, 0, 47, b, 4 + sizeof in4);
    r = decode_packet(DLT_EN10MB, f, n, &d, &st);
    CHECK(r == DECODE_OK && d.ip == f + 14 && d.tun.type == TUN_NONE, "gre carrying garbage: the outer packet");
    /* outer IPv4 fragment carrying GRE: unsupported */
    b[4] = 0x45;
    n = frame_ip(f, 0, 47, b, 4 + sizeof in4);
    f[14 + 6] = 0x20; /* MF */
    uint64_t unsup = st.unsupported;
    r = decode_packet(DLT_EN10MB, f, n, &d, &st);
    CHECK(r == DECODE_UNSUPPORTED && st.unsupported == unsup + 1 && st.tunnel_fragment == 1,
          "gre in an outer IPv4 fragment: unsupported, counted");
    /* UDP to another port is just UDP */
    n = frame_udp(f, 1, 53, in4, sizeof in4);
    uint64_t fb = st.tunnel_fallback;
    r = decode_packet(DLT_EN10MB, f, n, &d, &st);
    CHECK(r == DECODE_OK && d.ip == f + 14 && d.tun.type == TUN_NONE && st.tunnel_fallback == fb,
          "udp to port 53 carrying IP bytes: not a tunnel");
}

static void test_nesting(void)
{
    uint8_t a[BUF], b[BUF], f[BUF];
    struct decoded_ip d;
    struct decode_stats st;
    memset(&st, 0, sizeof st);
    /* VXLAN in GRE: the innermost named, depth 2, both counted */
    uint8_t e[BUF], v[BUF];
    size_t en = eth(e, 0x0800, in4, sizeof in4);
    memset(v, 0, 8);
    v[0] = 0x08;
    w32(v + 4, 7u << 8);
    memcpy(v + 8, e, en);
    size_t un = udp(a, 1, 4789, v, 8 + en);
    size_t in = oip(b, 0, 17, a, un);
    b[19] = 9; /* inner tunnel endpoints 192.0.2.1 -> 192.0.2.9 */
    memset(a, 0, 4);
    w16(a + 2, 0x0800);
    memcpy(a + 4, b, in);
    size_t n = frame_ip(f, 0, 47, a, 4 + in);
    enum decode_result r = decode_packet(DLT_EN10MB, f, n, &d, &st);
    CHECK(r == DECODE_OK && d.tun.type == TUN_VXLAN && d.tun.depth == 2 && d.tun.id == 7 &&
              d.tun.outer_dst[3] == 9 && d.tun.key_type == TUN_VXLAN && d.tun.key_id == 7 &&
              st.tunnel[TUN_GRE] == 1 && st.tunnel[TUN_VXLAN] == 1,
          "vxlan in gre: the innermost tunnel named (depth 2), its VNI keys the flow");
    /* IP in IP k times: 4 decoded, 5 unsupported */
    for (int k = 4; k <= 5; k++) {
        size_t len = sizeof in4;
        memcpy(a, in4, len);
        for (int i = 0; i < k; i++) {
            len = oip(b, 0, 4, a, len);
            memcpy(a, b, len);
        }
        n = eth(f, 0x0800, a, len);
        memset(&st, 0, sizeof st);
        r = decode_packet(DLT_EN10MB, f, n, &d, &st);
        if (k == 4)
            CHECK(r == DECODE_OK && d.tun.depth == 4 && d.ip == f + 14 + 4 * 20,
                  "4 nested IP-in-IP: decoded to the innermost packet");
        else
            CHECK(r == DECODE_UNSUPPORTED && st.tunnel_too_deep == 1 && st.unsupported == 1,
                  "5 nested IP-in-IP: past the depth limit, unsupported (counted)");
    }
    /* 64 nested: still bounded */
    size_t len = sizeof in4;
    memcpy(a, in4, len);
    for (int i = 0; i < 64; i++) {
        len = oip(b, 0, 4, a, len);
        memcpy(a, b, len);
    }
    n = eth(f, 0x0800, a, len);
    r = decode_packet(DLT_EN10MB, f, n, &d, &st);
    CHECK(r == DECODE_UNSUPPORTED, "64 nested IP-in-IP: unsupported, bounded");
}

static void test_key(void)
{
    static const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
    static const uint8_t ta[4] = { 192, 0, 2, 1 }, tb[4] = { 192, 0, 2, 2 };
    struct flow_key k1, k2, k3;
    flow_key_make(&k1, 4, a, 40000, b, 443);
    flow_key_make(&k2, 4, b, 443, a, 40000);
    flow_key_tunnel(&k1, TUN_GTPU, 0, 4, ta, tb);
    flow_key_tunnel(&k2, TUN_GTPU, 0, 4, tb, ta);
    CHECK(memcmp(&k1, &k2, sizeof k1) == 0, "gtp-u key: the outer endpoint pair, either direction");
    flow_key_make(&k1, 4, a, 40000, b, 443);
    flow_key_make(&k2, 4, a, 40000, b, 443);
    flow_key_make(&k3, 4, a, 40000, b, 443);
    flow_key_tunnel(&k1, TUN_VXLAN, 100, 0, NULL, NULL);
    flow_key_tunnel(&k2, TUN_VXLAN, 200, 0, NULL, NULL);
    CHECK(memcmp(&k1, &k2, sizeof k1) != 0 && memcmp(&k1, &k3, sizeof k1) != 0,
          "vxlan key: two VNIs, two keys; tunnelled and untunnelled differ");
}

int main(void)
{
    init_in6();
    test_types();
    test_cmd();
    test_fallback();
    test_nesting();
    test_key();
    return t_failed_ ? 1 : 0;
}
