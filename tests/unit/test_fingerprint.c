/* JA3, JA3S and JA4 (src/fingerprint.c) on hellos built byte for byte from
 * published inputs, parsed by the dissector, then fingerprinted:
 *  - JA4: the example of FoxIO's spec (technical_details/JA4.md, also the
 *    Rust reference's test_client_stats_into_out): the ja4, the ja4_r, and
 *    the no-signature-algorithms hash "6d807ffa2a79"; the ALPN examples of
 *    the spec (0xAB -> "ab", 0xAB 0xCD -> "ad", 0x30 0xAB -> "3b",
 *    0x30 0x31 0xAB 0xCD -> "3d", 0x30 0xAB 0xCD 0x31 -> "01", "http/1.1"
 *    -> "h1", one character used twice, empty -> "00");
 *  - JA3: the two examples of Salesforce's README
 *    (ada70206e40642a3e4461f35503241d5, de350869b8c85de67a350c8d186f11e6);
 *  - JA3S: the README's example (836ce314215654b5b1f85f97c73e506f);
 * and the rules around them: GREASE everywhere, counts over 99, no ALPN,
 * no SNI, TLS 1.3 by supported_versions, lists over the caps, truncated
 * hellos (no fingerprint rather than a wrong one). */
#include <stdlib.h>

#include "fingerprint.h"
#include "t.h"
#include "tls_hello.h"

/* ------------------------------------------------------- hello builder */

struct buf {
    uint8_t b[8192];
    size_t n;
};
static void u8(struct buf *b, unsigned v) { b->b[b->n++] = (uint8_t)v; }
static void u16(struct buf *b, unsigned v)
{
    u8(b, v >> 8);
    u8(b, v & 0xff);
}
static void bytes(struct buf *b, const void *p, size_t n)
{
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
/* patches the 16-bit length of what follows position at */
static void len16_at(struct buf *b, size_t at) { b->b[at] = (uint8_t)((b->n - at - 2) >> 8), b->b[at + 1] = (uint8_t)(b->n - at - 2); }

struct hello {
    uint16_t version;
    const uint16_t *ciphers;
    size_t nciphers;
    const uint16_t *exts; /* in wire order; bodies from the lists below */
    size_t nexts;
    const uint16_t *groups, *sigs, *versions;
    size_t ngroups, nsigs, nversions;
    const uint8_t *ecpf;
    size_t necpf;
    const uint8_t *alpn; /* first protocol */
    size_t alpn_len;
    bool no_ext_block;
};

static void ext_body(struct buf *b, uint16_t t, const struct hello *h)
{
    size_t at;
    switch (t) {
    case 0:
        at = b->n;
        u16(b, 0);
        u8(b, 0);
        u16(b, 11);
        bytes(b, "example.com", 11);
        len16_at(b, at);
        break;
    case 10:
        u16(b, (unsigned)(2 * h->ngroups));
        for (size_t i = 0; i < h->ngroups; i++) u16(b, h->groups[i]);
        break;
    case 11:
        u8(b, (unsigned)h->necpf);
        bytes(b, h->ecpf, h->necpf);
        break;
    case 13:
        u16(b, (unsigned)(2 * h->nsigs));
        for (size_t i = 0; i < h->nsigs; i++) u16(b, h->sigs[i]);
        break;
    case 16:
        at = b->n;
        u16(b, 0);
        u8(b, (unsigned)h->alpn_len);
        bytes(b, h->alpn, h->alpn_len);
        u8(b, 8);
        bytes(b, "http/1.1", 8);
        len16_at(b, at);
        break;
    case 43:
        u8(b, (unsigned)(2 * h->nversions));
        for (size_t i = 0; i < h->nversions; i++) u16(b, h->versions[i]);
        break;
    case 5: bytes(b, "\x01\x00\x00\x00\x00", 5); break;            /* status_request: ocsp */
    case 27: bytes(b, "\x02\x00\x02", 3); break;                    /* compress_certificate: brotli */
    case 45: bytes(b, "\x01\x01", 2); break;                        /* psk_key_exchange_modes */
    case 51: u16(b, 0); break;                                       /* key_share: no share */
    case 0xff01: u8(b, 0); break;                                    /* renegotiation_info */
    default: break;                                                  /* empty body */
    }
}

/* A ClientHello body (after the 4-byte handshake header). */
static size_t build_ch(const struct hello *h, uint8_t *out)
{
    struct buf *b = calloc(1, sizeof *b);
    u16(b, h->version);
    for (int i = 0; i < 32; i++) u8(b, (unsigned)i);
    u8(b, 0);
    u16(b, (unsigned)(2 * h->nciphers));
    for (size_t i = 0; i < h->nciphers; i++) u16(b, h->ciphers[i]);
    u8(b, 1);
    u8(b, 0);
    if (!h->no_ext_block) {
        size_t at = b->n;
        u16(b, 0);
        for (size_t i = 0; i < h->nexts; i++) {
            u16(b, h->exts[i]);
            size_t lat = b->n;
            u16(b, 0);
            ext_body(b, h->exts[i], h);
            len16_at(b, lat);
        }
        len16_at(b, at);
    }
    size_t n = b->n;
    memcpy(out, b->b, n);
    free(b);
    return n;
}

static uint8_t wire[8192];
static tls_client_hello ch;

/* Parses h and formats field k (NULL: no fingerprint). */
static const char *fp(const struct hello *h, int k, char *out)
{
    size_t n = build_ch(h, wire);
    tls_hello_parse_client(wire, n, &ch);
    struct fp_hellos hs;
    memset(&hs, 0, sizeof hs);
    hs.have_c = true;
    fp_client_from_hello(&hs.c, &ch, false);
    return fp_format(k, &hs, out, FP_STR_MAX);
}

/* ------------------------------------------------------- the JA4 example */

static const uint16_t spec_ciphers[] = { 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                                         0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035 };
static const uint16_t spec_exts[] = { 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d,
                                      0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015 };
static const uint16_t spec_sigs[] = { 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601 };
static const uint16_t groups3[] = { 29, 23, 24 };
static const uint16_t v13[] = { 0x0304, 0x0303 };
static const uint8_t ecpf0[] = { 0 };

static struct hello spec_hello(void)
{
    return (struct hello){ .version = 0x0303, .ciphers = spec_ciphers, .nciphers = 15, .exts = spec_exts,
                           .nexts = 16, .groups = groups3, .ngroups = 3, .sigs = spec_sigs, .nsigs = 8,
                           .versions = v13, .nversions = 2, .ecpf = ecpf0, .necpf = 1,
                           .alpn = (const uint8_t *)"h2", .alpn_len = 2 };
}

#define SPEC_JA4 "t13d1516h2_8daaf6152771_e5627efa2ab1"
#define SPEC_JA4_R                                                                                          \
    "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b," \
    "000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
/* JA3 of the same hello (padding 21 counted, as Wireshark does); its MD5
 * checked against Python's hashlib */
#define SPEC_JA3_STRING                                                                                     \
    "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"                    \
    "27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0"
#define SPEC_JA3 "c000e2caf3a25423f9de6c8a4b12a975"

static void test_ja4_spec(void)
{
    char out[FP_STR_MAX];
    struct hello h = spec_hello();
    CHECK_EQ_STR(fp(&h, FP_JA4, out), SPEC_JA4, "ja4: the spec's example (JA4.md)");
    CHECK_EQ_STR(fp(&h, FP_JA4_R, out), SPEC_JA4_R, "ja4_r: the spec's raw example");
    CHECK_EQ_STR(fp(&h, FP_JA3_STRING, out), SPEC_JA3_STRING, "ja3_string of the spec's hello");
    CHECK_EQ_STR(fp(&h, FP_JA3, out), SPEC_JA3, "ja3 of the spec's hello");
    CHECK_EQ_INT(ch.ext.alpn0_len, 2, "dissector keeps the first ALPN value's length");

    /* without signature algorithms (extension 13 empty): no trailing '_' */
    h.nsigs = 0;
    CHECK_EQ_STR(fp(&h, FP_JA4, out), "t13d1516h2_8daaf6152771_6d807ffa2a79",
                 "ja4 without signature algorithms: the spec's 6d807ffa2a79");
    CHECK(strstr(fp(&h, FP_JA4_R, out), "ff01_") == NULL && out[strlen(out) - 1] == '1',
          "ja4_r without signature algorithms ends with the extensions");
}

/* The same hello with GREASE in every list: nothing changes. */
static void test_grease(void)
{
    static const uint16_t c[] = { 0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                                  0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035 };
    static const uint16_t e[] = { 0xfafa, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d,
                                  0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x3a3a, 0x0015 };
    static const uint16_t s[] = { 0x0403, 0x0804, 0x0401, 0x5a5a, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601 };
    static const uint16_t g[] = { 0x8a8a, 29, 23, 24 };
    static const uint16_t v[] = { 0xeaea, 0x0304, 0x0303 };
    struct hello h = spec_hello();
    h.ciphers = c, h.nciphers = 16, h.exts = e, h.nexts = 18, h.sigs = s, h.nsigs = 9;
    h.groups = g, h.ngroups = 4, h.versions = v, h.nversions = 3;
    char out[FP_STR_MAX];
    CHECK_EQ_STR(fp(&h, FP_JA4, out), SPEC_JA4, "ja4 ignores GREASE ciphers, extensions, groups, versions, sig algs");
    CHECK_EQ_STR(fp(&h, FP_JA3_STRING, out), SPEC_JA3_STRING, "ja3 leaves GREASE out of ciphers, extensions, groups");
    CHECK(fp_is_grease(0x0a0a) && fp_is_grease(0xfafa) && !fp_is_grease(0x0a1a) && !fp_is_grease(0x0b0b),
          "GREASE: the 16 RFC 8701 values only");
}

/* Salesforce's JA3 examples, and JA4 of the second (no extensions). */
static void test_ja3_readme(void)
{
    static const uint16_t c1[] = { 47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4 };
    static const uint16_t e1[] = { 0, 10, 11 };
    static const uint16_t g1[] = { 23, 24, 25 };
    struct hello h = { .version = 769, .ciphers = c1, .nciphers = 12, .exts = e1, .nexts = 3, .groups = g1,
                       .ngroups = 3, .ecpf = ecpf0, .necpf = 1 };
    char out[FP_STR_MAX];
    CHECK_EQ_STR(fp(&h, FP_JA3_STRING, out), "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0",
                 "ja3_string: Salesforce README example 1");
    CHECK_EQ_STR(fp(&h, FP_JA3, out), "ada70206e40642a3e4461f35503241d5", "ja3: Salesforce README example 1");
    static const uint16_t c2[] = { 4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99 };
    struct hello h2 = { .version = 769, .ciphers = c2, .nciphers = 11, .no_ext_block = true };
    CHECK_EQ_STR(fp(&h2, FP_JA3_STRING, out), "769,4-5-10-9-100-98-3-6-19-18-99,,,",
                 "ja3_string: Salesforce README example 2 (no extensions)");
    CHECK_EQ_STR(fp(&h2, FP_JA3, out), "de350869b8c85de67a350c8d186f11e6", "ja3: Salesforce README example 2");
    /* JA4 of it: TLS 1.0 by legacy_version, no SNI, no ALPN, the empty
     * extension list hashes to zeros (cipher hash from Python's hashlib) */
    CHECK_EQ_STR(fp(&h2, FP_JA4, out), "t10i110000_3609b414f052_000000000000",
                 "ja4 without extensions: t10i, 00 ALPN, c = 000000000000");
}

static void test_ja3s_readme(void)
{
    static const uint8_t sh[] = {
        0x03, 0x01, 0,    1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,   12,   13,   14,
        15,   16,   17,   18,   19,   20,   21,   22,   23,   24,   25,   26,   27,   28,   29,   30,   31,
        0,    0x00, 0x2f, 0x00, /* no session id, cipher 47, null compression */
        0x00, 0x20,             /* extensions: 32 bytes */
        0xff, 0x01, 0x00, 0x01, 0x00,             /* renegotiation_info */
        0x00, 0x00, 0x00, 0x00,                   /* server_name ack */
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,       /* ec_point_formats */
        0x00, 0x23, 0x00, 0x00,                   /* session_ticket */
        0x00, 0x05, 0x00, 0x00,                   /* status_request ack */
        0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, 'h', '2', /* ALPN h2 */
    };
    tls_server_hello s;
    uint8_t rd[sizeof sh];
    memcpy(rd, sh, sizeof sh);
    CHECK(tls_hello_parse_server(rd, sizeof rd, &s) && s.ext.types.n == 6, "the README's ServerHello parses");
    struct fp_hellos hs;
    memset(&hs, 0, sizeof hs);
    hs.have_s = true;
    fp_server_from_hello(&hs.s, &s);
    char out[FP_STR_MAX];
    CHECK_EQ_STR(fp_format(FP_JA3S_STRING, &hs, out, sizeof out), "769,47,65281-0-11-35-5-16",
                 "ja3s_string: the README's example");
    CHECK_EQ_STR(fp_format(FP_JA3S, &hs, out, sizeof out), "836ce314215654b5b1f85f97c73e506f",
                 "ja3s: the README's example");
    CHECK(fp_format(FP_JA3, &hs, out, sizeof out) == NULL, "no ClientHello: no ja3");
    /* cut inside the extensions: no ja3s rather than a wrong one */
    tls_hello_parse_server(rd, sizeof rd - 3, &s);
    fp_server_from_hello(&hs.s, &s);
    CHECK(fp_format(FP_JA3S, &hs, out, sizeof out) == NULL, "truncated ServerHello: no ja3s");
}

static void test_versions_sni_alpn(void)
{
    char out[FP_STR_MAX];
    struct hello h = spec_hello();
    /* no supported_versions: legacy_version decides */
    static const uint16_t e_nosv[] = { 0x0000, 0x0010, 0x000d, 0x000a, 0x000b };
    h.exts = e_nosv, h.nexts = 5;
    CHECK(strncmp(fp(&h, FP_JA4, out), "t12d1505h2_", 11) == 0, "ja4 version 12 from legacy_version (%s)", out);
    h.version = 0x0300;
    CHECK(strncmp(fp(&h, FP_JA4, out), "ts3d", 4) == 0, "ja4 SSL 3.0 is s3 (%s)", out);
    h.version = 0x0303;
    /* supported_versions with a draft only: unknown */
    static const uint16_t vd[] = { 0x7f17 };
    h = spec_hello();
    h.versions = vd, h.nversions = 1;
    CHECK(strncmp(fp(&h, FP_JA4, out), "t00d", 4) == 0, "ja4 of a draft-only supported_versions is 00 (%s)", out);
    /* no SNI: i, and 15 extensions */
    static const uint16_t e_nosni[] = { 0x001b, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005,
                                        0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015 };
    h = spec_hello();
    h.exts = e_nosni, h.nexts = 15;
    CHECK_EQ_STR(fp(&h, FP_JA4, out), "t13i1515h2_8daaf6152771_e5627efa2ab1",
                 "ja4 without SNI: i, one extension less, same hashes");
    /* no ALPN: 00 */
    static const uint16_t e_noalpn[] = { 0x001b, 0x0000, 0x0033, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005,
                                         0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015 };
    h = spec_hello();
    h.exts = e_noalpn, h.nexts = 15;
    CHECK_EQ_STR(fp(&h, FP_JA4, out), "t13d151500_8daaf6152771_e5627efa2ab1", "ja4 without ALPN: 00");
    /* the spec's ALPN examples */
    static const struct {
        const char *v;
        size_t n;
        const char *want;
    } al[] = {
        { "http/1.1", 8, "h1" }, { "h", 1, "hh" },         { "\xab", 1, "ab" },         { "\xab\xcd", 2, "ad" },
        { "\x30\xab", 2, "3b" }, { "\x30\x31\xab\xcd", 4, "3d" }, { "\x30\xab\xcd\x31", 4, "01" },
        { "", 0, "00" },         { "h3-29", 5, "h9" },      { "\xe4\xb8\xad", 3, "ed" },
    };
    for (size_t i = 0; i < sizeof al / sizeof al[0]; i++) {
        h = spec_hello();
        h.alpn = (const uint8_t *)al[i].v, h.alpn_len = al[i].n;
        fp(&h, FP_JA4, out);
        CHECK(strncmp(out + 8, al[i].want, 2) == 0, "ja4 ALPN %zu bytes -> %s (%.10s)", al[i].n, al[i].want, out);
    }
}

/* Counts over 99, and lists over the dissector's caps (160). */
static void test_counts_and_caps(void)
{
    static uint16_t c[170], e[170];
    for (int i = 0; i < 170; i++) c[i] = (uint16_t)(0x0100 + i), e[i] = (uint16_t)(1000 + i);
    char out[FP_STR_MAX];
    struct hello h = { .version = 0x0303, .ciphers = c, .nciphers = 150, .exts = e, .nexts = 120 };
    CHECK(strncmp(fp(&h, FP_JA4, out), "t12i999900_", 11) == 0, "ja4 counts over 99 are 99 (%.11s)", out);
    fp(&h, FP_JA4_R, out);
    size_t commas = 0;
    for (const char *p = out; *p; p++) commas += *p == ',';
    CHECK_EQ_INT(commas, 149 + 119, "ja4_r still lists all 150 ciphers and 120 extensions");
    CHECK(fp(&h, FP_JA3, out) != NULL, "ja3 of 150 ciphers and 120 extensions");
    h.nciphers = 170;
    CHECK(fp(&h, FP_JA3, out) == NULL && fp(&h, FP_JA4, out) == NULL,
          "170 ciphers (over the 160 kept): no ja3, no ja4 rather than wrong ones");
    h.nciphers = 10, h.nexts = 170;
    CHECK(fp(&h, FP_JA3_STRING, out) == NULL && fp(&h, FP_JA4_R, out) == NULL, "170 extensions: no fingerprint");
    /* a ClientHello cut in its extensions */
    struct hello s = spec_hello();
    size_t n = build_ch(&s, wire);
    tls_hello_parse_client(wire, n - 5, &ch);
    struct fp_hellos hs;
    memset(&hs, 0, sizeof hs);
    hs.have_c = true;
    fp_client_from_hello(&hs.c, &ch, false);
    CHECK(fp_format(FP_JA3, &hs, out, sizeof out) == NULL && fp_format(FP_JA4, &hs, out, sizeof out) == NULL,
          "truncated ClientHello: no fingerprint");
    fp_client_from_hello(&hs.c, &ch, true);
    tls_hello_parse_client(wire, n, &ch);
    fp_client_from_hello(&hs.c, &ch, true);
    CHECK(fp_format(FP_JA3, &hs, out, sizeof out) == NULL, "SSLv2-format ClientHello: no ja3");
    CHECK(fp_format(FP_JA3, NULL, out, sizeof out) == NULL, "no hellos: null");
}

int main(void)
{
    test_ja4_spec();
    test_grease();
    test_ja3_readme();
    test_ja3s_readme();
    test_versions_sni_alpn();
    test_counts_and_caps();
    return T_DONE();
}
