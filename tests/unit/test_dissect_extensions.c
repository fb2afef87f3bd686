/* Extensions that OpenSSL 3 does not send, from whole ClientHello messages
 * cut out of the shared captures (tests/unit/data/make-corpus-excerpts.sh):
 * Chrome 125 (GREASE, ECH, ALPS, X25519Kyber768, SCT, compress_certificate),
 * record_size_limit, heartbeat (CVE-2015-3194 trace), a malformed cookie
 * extension, padding, signature_algorithms_cert. Also:
 * duplicate extensions, malformed SNI and every truncation of an extension. */
#include "t.h"
#include "test_dissect_fixture.h"
#include "tls_hello.h"
#include "tls_names.h"

static tls_client_hello ch;

static bool has16(const tls_u16_list *l, uint16_t v)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->v[i] == v) return true;
    return false;
}

static bool parse(const char *name)
{
    size_t n;
    const uint8_t *m = fx_get(name, &n);
    if (!m || n < 4) return false;
    return tls_hello_parse_client(m + 4, n - 4, &ch);
}

static void test_chrome(void)
{
    CHECK(parse("chrome_kyber.ch"), "chrome 125 ClientHello parses");
    CHECK_EQ_INT(ch.anomalies, 0, "chrome: no anomalies");
    CHECK(tls_names_is_grease(ch.ciphers.v[0]), "GREASE cipher first");
    CHECK(tls_names_is_grease(ch.ext.types.v[0]) && tls_names_is_grease(ch.ext.types.v[ch.ext.types.n - 1]),
          "GREASE extensions first and last");
    CHECK(tls_names_is_grease(ch.ext.groups.v[0]), "GREASE group");
    CHECK(has16(&ch.ext.groups, 0x6399) && has16(&ch.ext.key_share_groups, 0x6399), "X25519Kyber768Draft00 offered and shared");
    CHECK_EQ_STR(tls_names_group(0x6399), "X25519Kyber768Draft00", "Kyber group named");
    bool gv = false;
    for (unsigned i = 0; i < ch.ext.versions.n; i++) gv |= tls_names_is_grease(ch.ext.versions.v[i]);
    CHECK(gv, "GREASE in supported_versions");
    CHECK(ch.ext.has_ech && ch.ext.ech_type == 0, "encrypted_client_hello (outer)");
    CHECK(tls_extension_has(&ch.ext, 17513), "application_settings (ALPS) kept by number");
    CHECK(ch.ext.has_sct, "signed_certificate_timestamp");
    CHECK(ch.ext.has_compress_cert, "compress_certificate");
    CHECK_EQ_STR(ch.ext.sni, "lh3.google.com", "chrome SNI");
    CHECK(ch.ext.alpn_n == 2 && strcmp(ch.ext.alpn[0], "h2") == 0, "chrome ALPN");
    CHECK(ch.ext.has_reneg_info && ch.ext.reneg_info_len == 0, "renegotiation_info");
    CHECK(ch.ext.has_status_request, "status_request");
}

static void test_others(void)
{
    CHECK(parse("ftp_auth.ch") && ch.ext.record_size_limit == 16385, "record_size_limit 16385");
    CHECK(has16(&ch.ext.groups, 0x0100), "ffdhe2048 offered");
    CHECK(parse("cve3194.ch") && ch.ext.has_heartbeat && ch.ext.heartbeat_mode == 1, "heartbeat peer_allowed_to_send");
    /* tls-duplicate-hello: extension 44 (cookie) carries a version list
     * (08 0304 0303 0302 0301), not a cookie vector: reported, not fatal. */
    parse("dup_hello.ch2");
    CHECK(ch.ext.has_cookie && (ch.anomalies & TLS_ANOM_BIT(EXTENSION_MALFORMED)), "cookie: malformed body reported");
    CHECK(parse("rds.ch") && ch.ext.has_padding && ch.ext.padding_len == 230, "padding 230 bytes");
    CHECK(parse("openjdk.ch") && ch.ext.sig_algs_cert.n == 21 && ch.ext.sig_algs.n > 0, "signature_algorithms_cert");
    CHECK(parse("sslh.ch") && ch.ext.has_sct, "SCT request");
}

/* Synthetic mutations of a real hello: duplicate extension, bad SNI. */
static void test_mutations(void)
{
    size_t n;
    const uint8_t *m = fx_get("sslh.ch", &n);
    /* sslh.ch extensions: 10 11 13 5 18 (block at the end). Rename 11 -> 10. */
    uint8_t *copy = malloc(n);
    memcpy(copy, m, n);
    size_t ext_off = 0;
    for (size_t i = 4; i + 4 < n; i++)
        if (copy[i] == 0x00 && copy[i + 1] == 0x0b && copy[i + 2] == 0x00 && copy[i + 3] == 0x02) { ext_off = i; break; }
    CHECK(ext_off > 0, "mutation: found ec_point_formats");
    copy[ext_off + 1] = 0x0a;
    tls_hello_parse_client(copy + 4, n - 4, &ch);
    CHECK(ch.anomalies & TLS_ANOM_BIT(DUPLICATE_EXTENSION), "duplicate extension reported");
    free(copy);
    m = fx_get("openjdk.ch", &n);
    copy = malloc(n);
    memcpy(copy, m, n);
    const uint8_t *z = NULL;
    for (size_t i = 4; i + 9 < n; i++)
        if (memcmp(copy + i, "zeek.org", 8) == 0) { z = copy + i; break; }
    CHECK(z != NULL, "mutation: found SNI");
    copy[z - copy + 4] = ' ';
    tls_hello_parse_client(copy + 4, n - 4, &ch);
    CHECK((ch.anomalies & TLS_ANOM_BIT(SNI_MALFORMED)) && strcmp(ch.ext.sni, "zeek?org") == 0,
          "SNI with a space: sanitised, sni_malformed");
    free(copy);
}

/* Every prefix of each excerpt: never "ok" without a truncation/malformed
 * flag unless it ends exactly before the extensions block. */
static void test_truncation(void)
{
    int bad = 0, cuts = 0;
    for (size_t k = 0; k < fx_n; k++) {
        const uint8_t *m = fx_items[k].data;
        size_t n = fx_items[k].len;
        for (size_t cut = 0; cut + 4 < n; cut++) {
            uint8_t *exact = malloc(cut ? cut : 1);
            memcpy(exact, m + 4, cut);
            bool ok = tls_hello_parse_client(exact, cut, &ch);
            if (ok && ch.ext.present && !(ch.anomalies & (TLS_ANOM_BIT(HANDSHAKE_TRUNCATED) |
                                                           TLS_ANOM_BIT(HANDSHAKE_LENGTH_MISMATCH))))
                bad++;
            free(exact);
            cuts++;
        }
    }
    CHECK(cuts > 3000, "truncation: %d prefixes of real ClientHellos", cuts);
    CHECK_EQ_INT(bad, 0, "truncation: each reported");
}

int main(void)
{
    if (fx_load("tests/unit/data/corpus_hellos.hex") <= 0) {
        printf("FAIL cannot load tests/unit/data/corpus_hellos.hex\n");
        return 1;
    }
    test_chrome();
    test_others();
    test_mutations();
    test_truncation();
    fx_free();
    return T_DONE();
}
