/* X.509 summaries of real certificates (the OpenSSL-generated test CA,
 * leaf and EC client certificate carried in the captured handshakes),
 * dates beyond 2038, malformed DER at every truncation point. */
#include "t.h"
#include "test_dissect_fixture.h"
#include "tls_certificate.h"
#include "x509_summary.h"
#include "x509cache.h"

static tls_certificate chain;

static void load_chain(const char *fixture, bool tls13)
{
    size_t n, ml;
    const uint8_t *s = fx_get(fixture, &n);
    const uint8_t *m = tls13 ? s : (s ? fx_hs_msg(s, n, 11, 0, &ml) : NULL);
    if (tls13) ml = n;
    memset(&chain, 0, sizeof chain);
    if (m) tls_certificate_parse(m + 4, ml - 4, tls13, &chain);
}

static void test_leaf_and_ca(void)
{
    load_chain("4402.s.stream", false);
    CHECK_EQ_INT(chain.count, 3, "x509: chain from Certificate 1.2");
    x509_summary x;
    CHECK(x509_summary_parse(chain.certs[0].der, chain.certs[0].len, &x), "x509 leaf: parses");
    CHECK_EQ_STR(x.subject, "O=TLSWatch Test,CN=test.example", "x509 leaf: subject (RFC 2253 order)");
    CHECK_EQ_STR(x.issuer, "O=TLSWatch,CN=TLSWatch Test CA", "x509 leaf: issuer");
    CHECK_EQ_STR(x.cn, "test.example", "x509 leaf: CN");
    CHECK(x.san_dns_n == 2 && strcmp(x.san_dns[0], "test.example") == 0 && strcmp(x.san_dns[1], "www.test.example") == 0,
          "x509 leaf: SAN DNS");
    CHECK(x.san_ip_n == 1 && strcmp(x.san_ip[0], "127.0.0.1") == 0, "x509 leaf: SAN IP");
    CHECK_EQ_STR(x.key_type, "RSA", "x509 leaf: key type");
    CHECK_EQ_INT(x.key_bits, 2048, "x509 leaf: key bits");
    CHECK_EQ_STR(x.sig_alg, "sha256WithRSAEncryption", "x509 leaf: signature algorithm");
    CHECK(x.validity_ok && x.not_after - x.not_before == 825LL * 86400, "x509 leaf: 825-day validity");
    CHECK(!x.self_issued && !x.self_signed && !x.is_ca, "x509 leaf: not self-issued, not CA");
    CHECK(strlen(x.sha256) == 64 && strlen(x.serial) > 0 && x.version == 3, "x509 leaf: fingerprint, serial, v3");
    CHECK(x.der == chain.certs[0].der && x.der_len == chain.certs[0].len, "x509 leaf: DER view kept");
    CHECK(x509_summary_parse(chain.certs[2].der, chain.certs[2].len, &x), "x509 CA: parses");
    CHECK(x.self_issued && x.self_signed, "x509 CA: self-issued and self-signed");
    CHECK(x.has_basic_constraints && x.is_ca, "x509 CA: basicConstraints CA:TRUE");
    load_chain("4408.c.dec0", true);
    CHECK(chain.count == 1 && x509_summary_parse(chain.certs[0].der, chain.certs[0].len, &x), "x509 EC client cert: parses");
    CHECK(strcmp(x.key_type, "EC") == 0 && x.key_bits == 256 && strcmp(x.curve, "prime256v1") == 0, "x509 EC: P-256 key");
    CHECK_EQ_STR(x.sig_alg, "ecdsa-with-SHA256", "x509 EC: signature algorithm");
    CHECK(x.self_signed && strcmp(x.subject, "CN=ec.example") == 0, "x509 EC: self-signed, subject");
}

static void test_dates(void)
{
    CHECK_EQ_INT(x509_summary_epoch(1970, 1, 1, 0, 0, 0), 0, "epoch: 1970");
    CHECK_EQ_INT(x509_summary_epoch(2038, 1, 19, 3, 14, 8), 2147483648LL, "epoch: 2038 rollover + 1");
    CHECK_EQ_INT(x509_summary_epoch(2050, 1, 1, 0, 0, 0), 2524608000LL, "epoch: 2050 (GeneralizedTime era)");
    CHECK_EQ_INT(x509_summary_epoch(9999, 12, 31, 23, 59, 59), 253402300799LL, "epoch: 99991231235959Z");
    CHECK_EQ_INT(x509_summary_epoch(1950, 1, 1, 0, 0, 0), -631152000LL, "epoch: 1950 (UTCTime lower bound)");
}

static void test_malformed(void)
{
    load_chain("4402.s.stream", false);
    const uint8_t *der = chain.certs[0].der;
    size_t len = chain.certs[0].len;
    int ok = 0, flagged = 0;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *exact = malloc(cut ? cut : 1);
        memcpy(exact, der, cut);
        x509_summary x;
        if (x509_summary_parse(exact, cut, &x)) ok++;
        if (x.anomalies & TLS_ANOM_BIT(CERT_MALFORMED)) flagged++;
        free(exact);
    }
    CHECK_EQ_INT(ok, 0, "x509: no proper prefix parses");
    CHECK_EQ_INT(flagged, (long long)len, "x509: every prefix flagged cert_malformed");
    uint8_t *flip = malloc(len);
    memcpy(flip, der, len);
    flip[len / 2] ^= 0xff;
    x509_summary x;
    x509_summary_parse(flip, len, &x);
    CHECK(strlen(x.sha256) == 64, "x509: corrupted DER still fingerprinted");
    free(flip);
    x509_ocsp o;
    CHECK(!x509_summary_ocsp(der, len, &o) && (o.anomalies & TLS_ANOM_BIT(OCSP_MALFORMED)), "ocsp: certificate is not a response");
}

/* The parsed-certificate cache gives exactly what a parse gives. */
static int same_summary(const x509_summary *a, const x509_summary *b)
{
    return strcmp(a->subject, b->subject) == 0 && strcmp(a->issuer, b->issuer) == 0 &&
           strcmp(a->sha256, b->sha256) == 0 && a->not_after == b->not_after &&
           a->self_signed == b->self_signed && a->key_bits == b->key_bits && a->parsed == b->parsed &&
           a->san_dns_n == b->san_dns_n && a->der == b->der && a->der_len == b->der_len;
}

static void test_cache(void)
{
    load_chain("4402.s.stream", false);
    const uint8_t *leaf = chain.certs[0].der, *ca = chain.certs[2].der;
    size_t ll = chain.certs[0].len, cl = chain.certs[2].len;
    x509_summary want_leaf, want_ca, got;
    x509_summary_parse(leaf, ll, &want_leaf);
    x509_summary_parse(ca, cl, &want_ca);
    struct x509cache *c = x509cache_new(8);
    CHECK(x509cache_summary(c, leaf, ll, &got) && same_summary(&got, &want_leaf), "cache: first leaf parsed");
    CHECK(x509cache_summary(c, leaf, ll, &got) && same_summary(&got, &want_leaf), "cache: leaf again, same summary");
    CHECK_EQ_INT(x509cache_stats(c)->hits, 1, "cache: second sighting is a hit");
    uint8_t *copy = malloc(ll);
    memcpy(copy, leaf, ll);
    CHECK(x509cache_summary(c, copy, ll, &got) && got.der == copy && strcmp(got.sha256, want_leaf.sha256) == 0,
          "cache: a copy elsewhere hits, and the view points at the copy");
    copy[ll - 1] ^= 1;
    x509_summary flipped;
    x509_summary_parse(copy, ll, &flipped);
    x509cache_summary(c, copy, ll, &got);
    CHECK(same_summary(&got, &flipped) && strcmp(got.sha256, want_leaf.sha256) != 0,
          "cache: one byte changed is not a hit on the original");
    free(copy);
    x509cache_free(c);
    /* one slot: every other certificate replaces the last, never mixed up */
    c = x509cache_new(1);
    int ok = 1;
    for (int i = 0; i < 6; i++) {
        int is_leaf = i % 2 == 0;
        x509cache_summary(c, is_leaf ? leaf : ca, is_leaf ? ll : cl, &got);
        ok &= same_summary(&got, is_leaf ? &want_leaf : &want_ca);
    }
    CHECK(ok && x509cache_stats(c)->replaced == 5 && x509cache_stats(c)->entries == 1,
          "cache: one slot, alternating certificates: replaced, never mixed up");
    x509cache_free(c);
    CHECK(x509cache_summary(NULL, leaf, ll, &got) && same_summary(&got, &want_leaf), "cache: NULL cache parses");
}

int main(void)
{
    if (fx_load("tests/unit/data/openssl_flows.hex") <= 0) {
        printf("FAIL cannot load tests/unit/data/openssl_flows.hex\n");
        return 1;
    }
    test_leaf_and_ca();
    test_dates();
    test_malformed();
    test_cache();
    fx_free();
    return T_DONE();
}
