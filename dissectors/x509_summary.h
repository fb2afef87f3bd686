/* X.509 certificate and OCSP response summaries via libcrypto. Strings are
 * copied into fixed arrays; `der` stays a view of the caller's bytes (so a
 * consumer that copied them can later build a chain for X509_verify_cert).
 * Malformed DER is reported as an anomaly (CERT_MALFORMED), never fatal:
 * the SHA-256 fingerprint is computed over the bytes in any case. */
#ifndef TLSWATCH_X509_SUMMARY_H
#define TLSWATCH_X509_SUMMARY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_names.h"

#define X509_SUMMARY_NAME_MAX 256
#define X509_SUMMARY_SAN_MAX 16
#define X509_SUMMARY_SAN_LEN 128
#define X509_SUMMARY_IP_MAX 8

typedef struct x509_summary {
    bool parsed;                 /* d2i_X509 succeeded */
    const uint8_t *der;          /* view of the input */
    size_t der_len;
    int version;                 /* 1..3 */
    char subject[X509_SUMMARY_NAME_MAX]; /* RFC 2253 one-line, e.g. "CN=x,O=y" */
    char issuer[X509_SUMMARY_NAME_MAX];
    char cn[X509_SUMMARY_SAN_LEN];
    char serial[80];             /* hex, upper case */
    int64_t not_before, not_after; /* seconds since the epoch (UTC) */
    bool validity_ok;            /* both times parsed */
    char san_dns[X509_SUMMARY_SAN_MAX][X509_SUMMARY_SAN_LEN];
    uint8_t san_dns_n;
    uint16_t san_dns_truncated;
    char san_ip[X509_SUMMARY_IP_MAX][46];
    uint8_t san_ip_n;
    uint16_t san_ip_truncated;
    char key_type[16];           /* RSA, EC, DSA, DH, ED25519, ED448, RSA-PSS, ... */
    int key_bits;
    char curve[32];              /* EC group name (e.g. prime256v1) */
    char sig_alg[64];            /* e.g. sha256WithRSAEncryption */
    char sha256[65];             /* hex fingerprint of the DER */
    bool self_issued;            /* subject == issuer */
    bool self_signed;            /* signature verifies with its own key */
    bool has_basic_constraints, is_ca;
    tls_anomalies anomalies;
} x509_summary;

enum x509_ocsp_cert_status { X509_OCSP_GOOD = 0, X509_OCSP_REVOKED = 1, X509_OCSP_UNKNOWN = 2, X509_OCSP_NONE = -1 };

typedef struct x509_ocsp {
    bool parsed;
    int response_status;   /* 0 successful, 1 malformedRequest, ... */
    int cert_status;       /* enum x509_ocsp_cert_status, first SingleResponse */
    int revocation_reason; /* -1 when none */
    int64_t this_update, next_update, revocation_time; /* 0 when absent */
    tls_anomalies anomalies;
} x509_ocsp;

bool x509_summary_parse(const uint8_t *der, size_t len, x509_summary *out);
bool x509_summary_ocsp(const uint8_t *der, size_t len, x509_ocsp *out);
/* Seconds since the epoch for a broken-down UTC time (no time zone, no
 * 2038 limit). */
int64_t x509_summary_epoch(int year, int mon, int mday, int hour, int min, int sec);
#endif
