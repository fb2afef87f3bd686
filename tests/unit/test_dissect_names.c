/* Named tables: every alert code has a name, cipher properties decide
 * weakness, GREASE recognised everywhere, versions incl. drafts, anomaly
 * names round-trip, unknown values formatted. */
#include "t.h"
#include "tls_names.h"

int main(void)
{
    int named = 0;
    for (int c = 0; c <= 120; c++)
        if (tls_names_alert((uint8_t)c)) named++;
    CHECK_EQ_INT(named, 35, "alerts: 35 registered codes in 0..120 named");
    CHECK_EQ_STR(tls_names_alert(40), "handshake_failure", "alert 40");
    CHECK_EQ_STR(tls_names_alert(112), "unrecognized_name", "alert 112");
    CHECK(tls_names_alert_meaning(48) != NULL, "alert meaning present");
    CHECK_EQ_STR(tls_names_cipher(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "cipher c02f IANA name");
    CHECK_EQ_STR(tls_names_cipher(0x1301), "TLS_AES_128_GCM_SHA256", "cipher 1301");
    CHECK(tls_names_cipher_info(0x0039)->kx == TLS_KX_DHE, "cipher 0039 kx DHE");
    CHECK_EQ_INT(tls_names_cipher_weakness(0xc02f), 0, "weak: ECDHE-RSA-AES128-GCM is not");
    CHECK_EQ_INT(tls_names_cipher_weakness(0x1302), 0, "weak: TLS_AES_256_GCM_SHA384 is not");
    CHECK(tls_names_cipher_weakness(0x0003) & TLS_WEAK_EXPORT, "weak: RSA_EXPORT_WITH_RC4_40_MD5 export");
    CHECK(tls_names_cipher_weakness(0x0004) & TLS_WEAK_RC4, "weak: RC4");
    CHECK(tls_names_cipher_weakness(0x000a) & TLS_WEAK_3DES, "weak: 3DES");
    CHECK(tls_names_cipher_weakness(0x0009) & TLS_WEAK_DES, "weak: DES");
    CHECK(tls_names_cipher_weakness(0x0018) & TLS_WEAK_ANON, "weak: DH_anon");
    CHECK(tls_names_cipher_weakness(0x0002) & TLS_WEAK_NULL, "weak: NULL encryption");
    CHECK(tls_names_cipher_weakness(0x002f) & TLS_WEAK_RSA_KX, "weak: static RSA kx");
    CHECK(tls_names_cipher_weakness(0xc013) & TLS_WEAK_CBC, "weak: CBC");
    CHECK(tls_names_cipher_weakness(0x00ff) == 0, "SCSV is not a weak cipher");
    CHECK(tls_names_cipher_weakness(0x9999) & TLS_WEAK_UNKNOWN, "unknown suite reported");
    CHECK(tls_names_is_grease(0x0a0a) && tls_names_is_grease(0xfafa) && !tls_names_is_grease(0x0a1a), "GREASE pattern");
    char buf[32];
    CHECK_EQ_STR(tls_names_fmt(tls_names_extension(0x2a2a), 0x2a2a, buf, sizeof buf), "grease_0x2a2a", "GREASE extension formatted");
    CHECK_EQ_STR(tls_names_fmt(tls_names_group(0x1234), 0x1234, buf, sizeof buf), "unknown_0x1234", "unknown group formatted");
    CHECK_EQ_STR(tls_names_group(0x001d), "x25519", "group x25519");
    CHECK_EQ_STR(tls_names_group(0x11ec), "X25519MLKEM768", "group X25519MLKEM768");
    CHECK_EQ_STR(tls_names_group(0x6399), "X25519Kyber768Draft00", "group X25519Kyber768Draft00");
    CHECK_EQ_STR(tls_names_group(0x0100), "ffdhe2048", "group ffdhe2048");
    CHECK_EQ_STR(tls_names_sigscheme(0x0804), "rsa_pss_rsae_sha256", "sigscheme 0804");
    CHECK_EQ_STR(tls_names_extension(0), "server_name", "extension 0");
    CHECK_EQ_STR(tls_names_extension(0xfe0d), "encrypted_client_hello", "extension ECH");
    CHECK_EQ_STR(tls_names_extension(0xff01), "renegotiation_info", "extension ff01");
    CHECK_EQ_STR(tls_names_version(0x0304), "TLSv1.3", "version 1.3");
    CHECK_EQ_STR(tls_names_version(0x7f12), "TLSv1.3-draft18", "version draft 18");
    CHECK_EQ_STR(tls_names_version(0x7e02), "TLSv1.3-google-exp2", "version Chrome experiment");
    CHECK(tls_names_version_is_tls13(0x7f1c) && !tls_names_version_is_tls13(0x0303), "is_tls13");
    CHECK_EQ_STR(tls_names_handshake_type(15), "certificate_verify", "handshake type 15");
    CHECK_EQ_STR(tls_names_content_type(24), "heartbeat", "content type 24");
    int rt = 1;
    for (int a = 0; a < TLS_ANOM_COUNT; a++)
        if (tls_names_anomaly_lookup(tls_names_anomaly((enum tls_anomaly)a)) != a) rt = 0;
    CHECK(rt, "anomaly names round-trip (%d names)", TLS_ANOM_COUNT);
    char list[256];
    tls_names_anomalies(TLS_ANOM_BIT(NOT_TLS) | TLS_ANOM_BIT(HEARTBEAT_OVERFLOW), ",", list, sizeof list);
    CHECK_EQ_STR(list, "not_tls,heartbeat_overflow", "anomaly list formatted");
    return T_DONE();
}
