/* X.509 summaries of real certificates (the OpenSSL-generated test CA,
 * leaf and EC client certificate carried in the captured handshakes),
 * dates beyond 2038, malformed DER at every truncation point. */
#include "t.h"
#include "test_dissect_fixture.h"
#include "tls_certificate.h"
#include "x509_summary.h"

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

int main(void)
{
    if (fx_load("tests/unit/data/openssl_flows.hex") <= 0) {
        printf("FAIL cannot load tests/unit/data/openssl_flows.hex\n");
        return 1;
    }
    test_leaf_and_ca();
    test_dates();
    test_malformed();
    fx_free();
    return T_DONE();
}
