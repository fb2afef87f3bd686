/* The remaining handshake messages (ServerKeyExchange, ClientKeyExchange,
 * NewSessionTicket, EncryptedExtensions, KeyUpdate, Finished and the empty
 * ones) and tls_message_parse(), which dispatches any reassembled message
 * to its parser. Some layouts depend on what was negotiated (version,
 * cipher key exchange), passed in tls_message_ctx. */
#ifndef TLSWATCH_TLS_MESSAGE_H
#define TLSWATCH_TLS_MESSAGE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_certificate.h"
#include "tls_handshake.h"
#include "tls_hello.h"

typedef struct tls_ske {
    uint8_t kx;            /* enum tls_kx used to parse */
    uint8_t curve_type;    /* ECDHE: 3 named_curve, 1/2 explicit */
    uint16_t group;        /* ECDHE named group */
    uint16_t dh_p_bits;    /* DHE prime size in bits */
    uint16_t dh_g_len;
    uint16_t rsa_modulus_bits; /* RSA_EXPORT temporary key */
    uint16_t pubkey_len;   /* ECDHE point / DHE Ys */
    uint16_t psk_hint_len;
    bool has_sig;
    uint16_t sig_scheme;   /* TLS1.2 */
    uint16_t sig_len;
    tls_anomalies anomalies;
} tls_ske;

typedef struct tls_cke {
    uint32_t length;       /* message body length */
    uint16_t pubkey_len;   /* inner vector length when recognised */
    tls_anomalies anomalies;
} tls_cke;

typedef struct tls_nst {
    bool tls13;
    uint32_t lifetime;
    uint32_t age_add;
    uint8_t nonce_len;
    uint16_t ticket_len;
    tls_exts ext;          /* 1.3 (early_data max) */
    tls_anomalies anomalies;
} tls_nst;

typedef struct tls_message_ctx {
    uint16_t version;      /* negotiated (effective) version, 0 unknown */
    uint16_t cipher;       /* negotiated suite, 0 unknown */
} tls_message_ctx;

typedef struct tls_message {
    uint8_t type;          /* enum tls_hs_type */
    bool ok;               /* parsed without truncation */
    tls_anomalies anomalies;
    union {
        tls_client_hello ch;
        tls_server_hello sh;   /* also HelloRetryRequest (sh.is_hrr) */
        tls_certificate cert;
        tls_cert_request cr;
        tls_cert_verify cv;
        tls_cert_status cs;
        tls_ske ske;
        tls_cke cke;
        tls_nst nst;
        tls_exts ee;
        uint8_t key_update;    /* request_update */
        uint16_t finished_len; /* verify_data length */
    } u;
} tls_message;

bool tls_message_parse_ske(const uint8_t *body, size_t len, uint8_t kx, uint16_t version, tls_ske *out);
bool tls_message_parse_cke(const uint8_t *body, size_t len, uint8_t kx, uint16_t version, tls_cke *out);
bool tls_message_parse_nst(const uint8_t *body, size_t len, bool tls13, tls_nst *out);
bool tls_message_parse_ee(const uint8_t *body, size_t len, tls_exts *out);
/* Dispatch on msg->type. A too-large message yields ok=false, anomalies. */
bool tls_message_parse(const tls_hs_msg *msg, const tls_message_ctx *ctx, tls_message *out);
#endif
