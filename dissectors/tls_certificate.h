/* Certificate (TLS1.2 list and TLS1.3 context + entries with extensions),
 * CertificateRequest (1.2 and 1.3 forms), CertificateVerify and
 * CertificateStatus. Certificate DER and OCSP bytes are views into the
 * message body: valid during the handshake callback; summarise them with
 * x509_summary_parse() / x509_summary_ocsp() or copy them. */
#ifndef TLSWATCH_TLS_CERTIFICATE_H
#define TLSWATCH_TLS_CERTIFICATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_extension.h"

#define TLS_CERT_CHAIN_MAX 16

typedef struct tls_cert_entry {
    const uint8_t *der;
    uint32_t len;
    uint16_t ext_len;      /* TLS1.3 per-entry extensions block */
    bool has_ocsp, has_sct;
} tls_cert_entry;

typedef struct tls_certificate {
    bool tls13;
    uint8_t context_len;   /* TLS1.3 certificate_request_context */
    uint32_t list_len;
    uint16_t count;        /* entries kept */
    uint16_t truncated;    /* entries beyond TLS_CERT_CHAIN_MAX */
    tls_cert_entry certs[TLS_CERT_CHAIN_MAX];
    tls_anomalies anomalies;
} tls_certificate;

typedef struct tls_cert_request {
    bool tls13;
    uint8_t context_len;
    uint8_t cert_types[16];
    uint8_t cert_types_n;
    tls_u16_list sig_algs;  /* 1.2 list, or 1.3 signature_algorithms ext */
    uint16_t ca_names;      /* count of distinguished names (1.2) */
    tls_exts ext;           /* 1.3 */
    tls_anomalies anomalies;
} tls_cert_request;

typedef struct tls_cert_verify {
    uint16_t scheme;        /* 0 before TLS1.2 */
    uint16_t sig_len;
    tls_anomalies anomalies;
} tls_cert_verify;

typedef struct tls_cert_status {
    uint8_t status_type;    /* 1 = ocsp */
    const uint8_t *response;
    uint32_t response_len;
    tls_anomalies anomalies;
} tls_cert_status;

bool tls_certificate_parse(const uint8_t *body, size_t len, bool tls13, tls_certificate *out);
/* version: negotiated version; 0 = unknown (TLS1.2 vs 1.0/1.1 layout guessed). */
bool tls_certificate_parse_request(const uint8_t *body, size_t len, uint16_t version, tls_cert_request *out);
/* has_scheme: TLS1.2 and later carry a SignatureScheme. */
bool tls_certificate_parse_verify(const uint8_t *body, size_t len, bool has_scheme, tls_cert_verify *out);
bool tls_certificate_parse_status(const uint8_t *body, size_t len, tls_cert_status *out);
#endif
