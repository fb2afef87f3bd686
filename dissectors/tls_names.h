/* Named vocabularies of TLS: alerts, cipher suites (with the properties that
 * decide "weak"), extensions, groups, signature schemes, versions, content
 * and handshake types, anomalies. Each comes from one .def X-macro table so
 * the enum and its name live on the same line. Lookups return a static
 * string or NULL; the *_fmt variants never return NULL ("unknown_0x1234"
 * written into the caller's buffer). */
#ifndef TLSWATCH_TLS_NAMES_H
#define TLSWATCH_TLS_NAMES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tls_anomaly {
#define ANOMALY(id, name, meaning) TLS_ANOM_##id,
#include "anomaly.def"
#undef ANOMALY
    TLS_ANOM_COUNT
};
typedef uint64_t tls_anomalies; /* bitmask of 1 << enum tls_anomaly */
#define TLS_ANOM_BIT(id) ((tls_anomalies)1 << TLS_ANOM_##id)

enum tls_alert_code {
#define TLS_ALERT(code, id, name, meaning) TLS_ALERT_##id = code,
#include "alerts.def"
#undef TLS_ALERT
};

enum tls_hs_type {
#define TLS_HS(code, id, name) TLS_HS_##id = code,
#include "handshake_types.def"
#undef TLS_HS
};

enum tls_content_type {
    TLS_CT_CHANGE_CIPHER_SPEC = 20,
    TLS_CT_ALERT = 21,
    TLS_CT_HANDSHAKE = 22,
    TLS_CT_APPLICATION_DATA = 23,
    TLS_CT_HEARTBEAT = 24,
    TLS_CT_TLS12_CID = 25,
    TLS_CT_ACK = 26,
};

enum tls_kx { TLS_KX_OTHER, TLS_KX_NULL, TLS_KX_RSA, TLS_KX_DH, TLS_KX_DHE, TLS_KX_DH_ANON,
              TLS_KX_ECDH, TLS_KX_ECDHE, TLS_KX_ECDH_ANON, TLS_KX_PSK, TLS_KX_DHE_PSK,
              TLS_KX_RSA_PSK, TLS_KX_ECDHE_PSK, TLS_KX_KRB5, TLS_KX_SRP, TLS_KX_TLS13,
              TLS_KX_ECCPWD, TLS_KX_GOST, TLS_KX_SCSV };
enum tls_au { TLS_AU_OTHER, TLS_AU_NONE, TLS_AU_NULL, TLS_AU_RSA, TLS_AU_DSS, TLS_AU_ANON,
              TLS_AU_ECDSA, TLS_AU_PSK, TLS_AU_KRB5, TLS_AU_SRP, TLS_AU_TLS13, TLS_AU_ECCPWD,
              TLS_AU_GOST };
enum tls_enc { TLS_ENC_OTHER, TLS_ENC_NULL, TLS_ENC_RC4, TLS_ENC_RC2, TLS_ENC_DES, TLS_ENC_3DES,
               TLS_ENC_IDEA, TLS_ENC_AES_CBC, TLS_ENC_AES_GCM, TLS_ENC_AES_CCM,
               TLS_ENC_CAMELLIA_CBC, TLS_ENC_CAMELLIA_GCM, TLS_ENC_ARIA_CBC, TLS_ENC_ARIA_GCM,
               TLS_ENC_SEED_CBC, TLS_ENC_CHACHA20, TLS_ENC_SM4_GCM, TLS_ENC_SM4_CCM,
               TLS_ENC_SM4_CBC, TLS_ENC_GOST };
enum tls_mac { TLS_MAC_OTHER, TLS_MAC_NONE, TLS_MAC_NULL, TLS_MAC_MD5, TLS_MAC_SHA1,
               TLS_MAC_SHA256, TLS_MAC_SHA384, TLS_MAC_SM3, TLS_MAC_AEAD };

typedef struct tls_cipher_info {
    uint16_t code;
    const char *name; /* IANA name */
    uint8_t kx, auth, enc; /* enum tls_kx / tls_au / tls_enc */
    uint16_t enc_bits;
    uint8_t mac;           /* enum tls_mac */
    bool is_export;
} tls_cipher_info;

/* Reasons a suite is weak (bitmask returned by tls_names_cipher_weakness). */
enum {
    TLS_WEAK_NULL = 1 << 0,
    TLS_WEAK_EXPORT = 1 << 1,
    TLS_WEAK_ANON = 1 << 2,
    TLS_WEAK_RC4 = 1 << 3,
    TLS_WEAK_DES = 1 << 4,   /* single DES, 40/56 bit */
    TLS_WEAK_3DES = 1 << 5,  /* sweet32 */
    TLS_WEAK_RSA_KX = 1 << 6, /* static RSA key transport: no forward secrecy */
    TLS_WEAK_CBC = 1 << 7,   /* CBC mode (lucky13/padding oracles) */
    TLS_WEAK_MD5 = 1 << 8,
    TLS_WEAK_UNKNOWN = 1 << 9, /* not in the table */
};

const tls_cipher_info *tls_names_cipher_info(uint16_t code);
const char *tls_names_cipher(uint16_t code);
unsigned tls_names_cipher_weakness(uint16_t code);
const char *tls_names_kx(uint8_t kx);
const char *tls_names_enc(uint8_t enc);
const char *tls_names_extension(uint16_t code);
const char *tls_names_group(uint16_t code);
const char *tls_names_sigscheme(uint16_t code);
const char *tls_names_version(uint16_t code);
const char *tls_names_alert(uint8_t code);
const char *tls_names_alert_meaning(uint8_t code);
const char *tls_names_alert_level(uint8_t level);
const char *tls_names_content_type(uint8_t type);
const char *tls_names_handshake_type(uint8_t type);
const char *tls_names_anomaly(enum tls_anomaly a);
const char *tls_names_anomaly_meaning(enum tls_anomaly a);
/* Anomaly by name, or -1. */
int tls_names_anomaly_lookup(const char *name);

/* GREASE (RFC 8701): 0x?A?A with both bytes equal. */
bool tls_names_is_grease(uint16_t v);
/* TLS1.3 final, drafts and experiments. */
bool tls_names_version_is_tls13(uint16_t v);

/* name, or "grease_0x0a0a" / "unknown_0x1234" written into buf. */
const char *tls_names_fmt(const char *name, uint16_t code, char *buf, size_t buflen);

/* Writes the names of the anomalies set in mask, separated by sep, into buf
 * (truncated to fit); returns buf. */
const char *tls_names_anomalies(tls_anomalies mask, const char *sep, char *buf, size_t buflen);
#endif
