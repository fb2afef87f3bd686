/* Unit tests of the foundation: SipHash, Community ID (published vectors),
 * link-layer decoding of every supported link type (frames built here),
 * flow table keys/LRU/release, JSON escaping, the Internet checksum. */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "community_id.h"
#include "decode.h"
#include "flow.h"
#include "inet_cksum.h"
#include "json.h"
#include "siphash.h"
#include "t.h"

static void test_siphash(void)
{
    uint8_t key[16], msg[15];
    for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
    for (int i = 0; i < 15; i++) msg[i] = (uint8_t)i;
    CHECK(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL, "siphash24 reference vector, empty input");
    CHECK(siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL, "siphash24 reference vector, 15 bytes");
    /* SipHash-1-3 under the zero key, as Rust's DefaultHasher::new()
     * (SipHasher13, keys 0, 0) gives for write(bytes 0..n) then finish() */
    static const struct { size_t n; uint64_t want; } v13[] = {
        { 0, 0xd1fba762150c532cULL },  { 7, 0x2f098ab0c751325aULL },  { 8, 0xead411e67ebe2eeaULL },
        { 15, 0xf30eb725bb91c9eaULL }, { 16, 0x8972188433a5c5b7ULL }, { 40, 0x95bc321ab41d8206ULL },
        { 63, 0x385d3e39e5f37359ULL },
    };
    uint8_t zero[16] = { 0 }, m64[64];
    for (int i = 0; i < 64; i++) m64[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof v13 / sizeof v13[0]; i++)
        CHECK(siphash13(zero, m64, v13[i].n) == v13[i].want, "siphash13 vector, %zu bytes", v13[i].n);
}

static void cid(uint16_t seed, int fam, const char *s, const char *d, uint8_t proto, uint16_t sp,
                uint16_t dp, const char *want)
{
    uint8_t a[16], b[16];
    inet_pton(fam == 6 ? AF_INET6 : AF_INET, s, a);
    inet_pton(fam == 6 ? AF_INET6 : AF_INET, d, b);
    char out[COMMUNITY_ID_LEN], rev[COMMUNITY_ID_LEN];
    community_id_v1(seed, fam, a, b, proto, sp, dp, out);
    community_id_v1(seed, fam, b, a, proto, dp, sp, rev);
    CHECK_EQ_STR(out, want, "community id %s:%u -> %s:%u proto %u seed %u", s, sp, d, dp, proto, seed);
    CHECK_EQ_STR(rev, want, "community id reversed direction %s <- %s", s, d);
}

static void test_community_id(void)
{
    /* vectors from the Community ID spec baseline (also Zeek's tests) */
    cid(0, 4, "1.2.3.4", "5.6.7.8", 6, 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM=");
    cid(0, 4, "1.2.3.4", "5.6.7.8", 17, 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=");
    cid(1, 4, "1.2.3.4", "5.6.7.8", 6, 1122, 3344, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=");
    cid(1, 4, "1.2.3.4", "5.6.7.8", 17, 1122, 3344, "1:OShq+iKDAMVouh/4bMxB9Sz4amw=");
    cid(0, 6, "fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 58, 128,
        129, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=");
}

/* A minimal IPv4/TCP packet and IPv6/TCP packet to wrap in link layers. */
static const uint8_t ip4[40] = {
    0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    0x30, 0x39, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
};
static const uint8_t ip6[60] = {
    0x60, 0, 0, 0, 0, 20, 6, 64,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
    0x30, 0x39, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
};

static size_t build(uint8_t *out, const uint8_t *hdr, size_t hlen, const uint8_t *ip, size_t iplen)
{
    if (hlen) memcpy(out, hdr, hlen);
    memcpy(out + hlen, ip, iplen);
    return hlen + iplen;
}

static void expect_ip(const char *name, int dlt, const uint8_t *hdr, size_t hlen, int fam)
{
    uint8_t frame[256];
    const uint8_t *ip = fam == 6 ? ip6 : ip4;
    size_t iplen = fam == 6 ? sizeof ip6 : sizeof ip4;
    size_t n = build(frame, hdr, hlen, ip, iplen);
    struct decoded_ip d;
    struct decode_stats st;
    memset(&st, 0, sizeof st);
    enum decode_result r = decode_packet(dlt, frame, n, &d, &st);
    CHECK(r == DECODE_OK && d.family == fam && d.len == iplen && d.ip == frame + hlen,
          "decode %s -> IPv%d at offset %zu", name, fam, hlen);
    /* every shorter capture of the headers fails cleanly, never over-reads */
    int clean = 1;
    for (size_t cut = 0; cut < hlen + (fam == 6 ? 40u : 20u); cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, frame, cut);
        if (decode_packet(dlt, copy, cut, &d, &st) == DECODE_OK) clean = 0;
        free(copy);
    }
    CHECK(clean, "decode %s: every truncation before the IP header end is rejected", name);
}

static void test_decode(void)
{
    uint8_t eth4[14] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00 };
    uint8_t eth6[14] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xdd };
    uint8_t vlan[18] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00 };
    uint8_t qinq[22] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x88, 0xa8, 0x00, 0x0a,
                         0x81, 0x00, 0x00, 0x64, 0x86, 0xdd };
    uint8_t pppoe[22] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x88, 0x64,
                          0x11, 0x00, 0x00, 0x01, 0x00, 42, 0x00, 0x21 };
    uint8_t mpls[22] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x88, 0x47,
                         0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40 };
    uint8_t sll[16] = { 0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00 };
    uint8_t sll2[20] = { 0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0 };
    uint8_t null_le[4] = { 2, 0, 0, 0 };
    uint8_t null_be6[4] = { 0, 0, 0, 30 };
    uint8_t loop[4] = { 0, 0, 0, 2 };
    expect_ip("ethernet", DLT_EN10MB, eth4, sizeof eth4, 4);
    expect_ip("ethernet ipv6", DLT_EN10MB, eth6, sizeof eth6, 6);
    expect_ip("802.1Q", DLT_EN10MB, vlan, sizeof vlan, 4);
    expect_ip("QinQ ipv6", DLT_EN10MB, qinq, sizeof qinq, 6);
    expect_ip("PPPoE session", DLT_EN10MB, pppoe, sizeof pppoe, 4);
    expect_ip("MPLS two labels", DLT_EN10MB, mpls, sizeof mpls, 4);
    expect_ip("linux SLL", DLT_LINUX_SLL, sll, sizeof sll, 4);
    expect_ip("linux SLL2 ipv6", 276, sll2, sizeof sll2, 6);
    expect_ip("NULL little-endian AF_INET", DLT_NULL, null_le, sizeof null_le, 4);
    expect_ip("NULL big-endian AF_INET6 (macOS 30)", DLT_NULL, null_be6, sizeof null_be6, 6);
    expect_ip("LOOP", DLT_LOOP, loop, sizeof loop, 4);
    expect_ip("RAW ipv4", DLT_RAW, NULL, 0, 4);
    expect_ip("RAW ipv6", DLT_RAW, NULL, 0, 6);
    expect_ip("LINKTYPE_IPV4", 228, NULL, 0, 4);
    expect_ip("LINKTYPE_IPV6", 229, NULL, 0, 6);
    CHECK(!decode_link_supported(105), "IEEE 802.11 (105) is reported unsupported");

    /* an ARP frame is not IP, and Ethernet padding is cut off */
    uint8_t arp[60] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x06 };
    struct decoded_ip d;
    struct decode_stats st;
    memset(&st, 0, sizeof st);
    CHECK(decode_packet(DLT_EN10MB, arp, sizeof arp, &d, &st) == DECODE_NOT_IP, "ARP is not IP");
    uint8_t padded[14 + 40 + 6];
    memset(padded, 0, sizeof padded);
    build(padded, eth4, 14, ip4, 40);
    CHECK(decode_packet(DLT_EN10MB, padded, sizeof padded, &d, &st) == DECODE_OK && d.len == 40,
          "Ethernet padding after the IP packet is not payload");
    /* snaplen cut inside the payload: decoded, flagged truncated */
    uint8_t big[14 + 40];
    build(big, eth4, 14, ip4, 40);
    big[14 + 3] = 100; /* IP total length 100, only 40 captured */
    CHECK(decode_packet(DLT_EN10MB, big, sizeof big, &d, &st) == DECODE_OK && d.truncated &&
          d.wire_ip_len == 100, "snaplen-cut packet is decoded and flagged truncated");
    /* 9 stacked VLAN tags: bounded, not looped forever */
    uint8_t deep[14 + 9 * 4 + 40];
    memcpy(deep, eth4, 12);
    size_t off = 12;
    for (int i = 0; i < 9; i++) {
        deep[off] = 0x81; deep[off + 1] = 0; deep[off + 2] = 0; deep[off + 3] = 1;
        off += 4;
    }
    deep[off] = 0x08; deep[off + 1] = 0;
    memcpy(deep + off + 2, ip4, 40);
    CHECK(decode_packet(DLT_EN10MB, deep, off + 42, &d, &st) == DECODE_UNSUPPORTED,
          "more than 8 stacked tags is unsupported, not an endless walk");
}

static int released;
static void count_release(struct flow *f, void *ctx)
{
    (void)f;
    (void)ctx;
    released++;
}

static void test_flow_table(void)
{
    struct flow_table *t = flow_table_new(4);
    flow_table_set_release(t, count_release, NULL);
    uint8_t a[16] = { 10, 0, 0, 1 }, b[16] = { 10, 0, 0, 2 };
    struct flow_key k1, k2;
    flow_key_make(&k1, 4, a, 40000, b, 443);
    flow_key_make(&k2, 4, b, 443, a, 40000);
    CHECK(memcmp(&k1, &k2, sizeof k1) == 0, "flow key is the same in both directions");
    struct timeval ts = { 100, 0 };
    struct flow *f = flow_create(t, &k1, a, 40000, b, 443, &ts);
    CHECK(flow_lookup(t, &k2) == f, "lookup by the reverse direction finds the flow");
    CHECK(flow_dir_of(f, a, 40000) == DIR_TO_SERVER && flow_dir_of(f, b, 443) == DIR_TO_CLIENT,
          "direction of client and server packets");
    char cid[COMMUNITY_ID_LEN];
    flow_community_id(f, cid);
    CHECK(cid[0] == '1' && cid[1] == ':', "community id of a flow");
    struct flow *g[3];
    for (int i = 0; i < 3; i++) {
        struct flow_key k;
        flow_key_make(&k, 4, a, (uint16_t)(40001 + i), b, 443);
        ts.tv_sec++;
        g[i] = flow_create(t, &k, a, (uint16_t)(40001 + i), b, 443, &ts);
    }
    CHECK(flow_oldest(t) == f, "oldest flow is the first created");
    ts.tv_sec++;
    flow_touch(f, &ts);
    CHECK(flow_oldest(t) == g[0], "touching a flow moves it to the young end");
    struct timeval back = { 50, 0 };
    flow_touch(f, &back);
    CHECK(f->last_ts.tv_sec == ts.tv_sec, "a timestamp going backwards does not age a flow");
    flow_swap_roles(f);
    CHECK(f->cli.port == 443 && f->srv.port == 40000, "roles can be swapped");
    flow_free(g[0]);
    CHECK(released == 1 && flow_count(t) == 3, "flow_free calls the release hook once");
    flow_table_destroy(t);
    CHECK(released == 4, "destroying the table releases every flow");
}

static void test_json(void)
{
    struct json j;
    json_init(&j);
    json_obj_begin(&j);
    json_kv_str(&j, "a", "q\"b\\\n\x01");
    json_key(&j, "l");
    json_arr_begin(&j);
    json_int(&j, -5);
    json_uint(&j, 18446744073709551615ULL);
    json_bool(&j, 1);
    json_null(&j);
    json_arr_end(&j);
    json_kv_str(&j, "u", "caf\xc3\xa9 \xff");
    json_obj_end(&j);
    CHECK_EQ_STR(j.buf,
                 "{\"a\":\"q\\\"b\\\\\\u000a\\u0001\",\"l\":[-5,18446744073709551615,true,null],"
                 "\"u\":\"caf\xc3\xa9 \\u00ff\"}",
                 "JSON writer: commas, escapes, UTF-8 kept, stray bytes escaped");
    /* a key that needs escaping, and plain strings written in one copy
     * across the buffer's growth (the first allocation is 512 bytes) */
    json_reset(&j);
    char longs[700];
    memset(longs, 'x', sizeof longs - 1);
    longs[sizeof longs - 1] = '\0';
    json_obj_begin(&j);
    json_kv_str(&j, "k\"1", "");
    json_kv_str(&j, "k2", longs);
    json_kv_str(&j, "k3", "end");
    json_obj_end(&j);
    CHECK(j.len == strlen(j.buf) && j.len == 10 + 7 + 699 + 1 + 11 + 1 &&
              strncmp(j.buf, "{\"k\\\"1\":\"\",\"k2\":\"xxx", 20) == 0 &&
              strcmp(j.buf + j.len - 13, "\",\"k3\":\"end\"}") == 0,
          "JSON writer: escaped key, long plain string across growth (%zu bytes: %.24s...)", j.len, j.buf);
    struct timeval tv = { 1763805600, 123456 };
    char b[48];
    format_time_rfc3339(&tv, b, sizeof b);
    CHECK_EQ_STR(b, "2025-11-22T10:00:00.123456Z", "RFC 3339 timestamps in UTC with microseconds");
    /* the kept second: same second, next second, back to an earlier one */
    struct timeval tv2 = { 1763805600, 7 }, tv3 = { 1763805601, 999999 }, tv4 = { 0, 0 }, tv5 = { 951782400, 500000 };
    format_time_rfc3339(&tv2, b, sizeof b);
    CHECK_EQ_STR(b, "2025-11-22T10:00:00.000007Z", "same second, other microseconds");
    format_time_rfc3339(&tv3, b, sizeof b);
    CHECK_EQ_STR(b, "2025-11-22T10:00:01.999999Z", "next second");
    format_time_rfc3339(&tv4, b, sizeof b);
    CHECK_EQ_STR(b, "1970-01-01T00:00:00.000000Z", "the epoch after a later second");
    format_time_rfc3339(&tv5, b, sizeof b);
    CHECK_EQ_STR(b, "2000-02-29T00:00:00.500000Z", "a leap day");
    struct timeval tv6 = { (time_t)253402300800LL, 1 }; /* year 10000: strftime's path */
    format_time_rfc3339(&tv6, b, sizeof b);
    CHECK_EQ_STR(b, "10000-01-01T00:00:00.000001Z", "a year of five digits");
    char small[10];
    format_time_rfc3339(&tv2, small, sizeof small);
    CHECK_EQ_STR(small, "2025-11-2", "cut to the buffer as snprintf does");
    json_free(&j);
}

/* The definition, one big-endian 16-bit word at a time. */
static uint32_t naive_sum(uint32_t sum, const uint8_t *p, size_t len)
{
    for (; len > 1; p += 2, len -= 2) sum += (uint32_t)(p[0] << 8 | p[1]);
    if (len) sum += (uint32_t)p[0] << 8;
    return sum;
}

static void test_inet_cksum(void)
{
    /* RFC 1071 section 3's example: sum 0xddf2 */
    static const uint8_t rfc[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
    CHECK_EQ_INT(inet_sum(0, rfc, sizeof rfc), 0xddf2, "inet_sum: RFC 1071 example");
    CHECK_EQ_INT(inet_fold(inet_sum(0, rfc, sizeof rfc)), 0x220d, "inet_fold: RFC 1071 example");
    /* every length 0..1500 at every alignment 0..7, random bytes (many
     * 0xff to exercise carries), against the definition after folding */
    static uint8_t buf[1600];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (x >> 16) % 3 ? (uint8_t)(x >> 16) : 0xff;
    }
    int bad = 0;
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len <= 1500; len++)
            if (inet_fold(inet_sum(7, buf + off, len)) != inet_fold(naive_sum(7, buf + off, len)))
                bad++;
    CHECK_EQ_INT(bad, 0, "inet_sum: equals the 16-bit definition for 12,008 ranges");
    /* a range with its own right checksum folds to 0 */
    uint8_t pkt[64];
    memcpy(pkt, buf + 3, sizeof pkt);
    pkt[10] = pkt[11] = 0;
    uint16_t c = inet_fold(inet_sum(0, pkt, sizeof pkt));
    pkt[10] = (uint8_t)(c >> 8);
    pkt[11] = (uint8_t)c;
    CHECK_EQ_INT(inet_fold(inet_sum(0, pkt, sizeof pkt)), 0, "inet_fold: 0 with the checksum in place");
}

int main(void)
{
    siphash_key_init();
    test_siphash();
    test_community_id();
    test_decode();
    test_flow_table();
    test_json();
    test_inet_cksum();
    return T_DONE();
}
