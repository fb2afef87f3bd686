/* ClientHello, ServerHello (HelloRetryRequest detected by its random) and
 * the SSLv2 CLIENT-HELLO / SERVER-HELLO. Results are self-contained
 * structs (no pointers into the input). */
#ifndef TLSWATCH_TLS_HELLO_H
#define TLSWATCH_TLS_HELLO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_extension.h"

typedef struct tls_client_hello {
    uint16_t legacy_version;
    uint8_t random[32];
    uint8_t session_id_len;
    uint8_t session_id[32];
    tls_u16_list ciphers;   /* SSLv2 specs with a 0x00 first byte mapped to 16 bits */
    uint16_t sslv2_only_specs; /* SSLv2 3-byte specs without a TLS equivalent */
    uint8_t compression_n;
    bool compression_null;  /* method 0 offered */
    tls_exts ext;
    bool sslv2;             /* came as SSLv2-compatible CLIENT-HELLO */
    tls_anomalies anomalies;
} tls_client_hello;

typedef struct tls_server_hello {
    uint16_t legacy_version;
    uint16_t version;       /* effective: supported_versions if present, else legacy */
    uint8_t random[32];
    uint8_t session_id_len;
    uint8_t session_id[32];
    uint16_t cipher;
    uint8_t compression;
    bool is_hrr;            /* HelloRetryRequest (special random) */
    bool downgrade_tls12, downgrade_tls11; /* RFC 8446 4.1.3 sentinels */
    tls_exts ext;
    tls_anomalies anomalies;
} tls_server_hello;

typedef struct tls_sslv2_server_hello {
    bool session_id_hit;
    uint8_t cert_type;
    uint16_t version;
    const uint8_t *cert; /* view into the input (X.509 DER) */
    uint16_t cert_len;
    uint16_t cipher_specs; /* count of 3-byte specs */
    uint16_t connection_id_len;
    tls_anomalies anomalies;
} tls_sslv2_server_hello;

/* Body of a handshake message (after the 4-byte header). Return false when
 * the message is truncated or malformed (partial results are kept). */
bool tls_hello_parse_client(const uint8_t *body, size_t len, tls_client_hello *out);
bool tls_hello_parse_server(const uint8_t *body, size_t len, tls_server_hello *out);
/* SSLv2 record body starting with the message type byte (1 / 4). */
bool tls_hello_parse_sslv2_client(const uint8_t *msg, size_t len, tls_client_hello *out);
bool tls_hello_parse_sslv2_server(const uint8_t *msg, size_t len, tls_sslv2_server_hello *out);
/* The HelloRetryRequest random (SHA-256 of "HelloRetryRequest"). */
bool tls_hello_is_hrr_random(const uint8_t random[32]);
#endif
