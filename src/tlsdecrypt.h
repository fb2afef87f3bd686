/* Record decryption with secrets from a key log. One struct per direction.
 *
 * Decrypted:
 *  - TLS 1.3 (traffic secrets by HKDF-Expand-Label): AES-128/256-GCM,
 *    ChaCha20-Poly1305, AES-128-CCM and AES-128-CCM_8; after a KeyUpdate the
 *    next generation of a traffic secret is derived ("traffic upd").
 *  - TLS 1.0-1.2 (keys from the master secret by the TLS PRF):
 *    AES-GCM, ChaCha20-Poly1305, AES-CCM and AES-CCM_8 (RFC 6655, RFC 7251);
 *    AES-128/256-CBC and 3DES-EDE-CBC with HMAC-SHA1/SHA256/SHA384, both
 *    MAC-then-encrypt and encrypt_then_mac (RFC 7366); TLS 1.0's IV chains
 *    from the previous record, TLS 1.1+ sends it with each record.
 * Not decrypted: SSLv3, RC4, NULL, DES, Camellia, ARIA, SEED, SM4, GOST,
 * MD5 MACs, TLS 1.3 0-RTT early data. */
#ifndef TLSWATCH_TLSDECRYPT_H
#define TLSWATCH_TLSDECRYPT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tlsdec_mode {
    TLSDEC_NONE,
    TLSDEC_AEAD12_SALT, /* TLS 1.2 GCM/CCM: 4-byte salt + 8-byte explicit nonce */
    TLSDEC_AEAD12_XOR,  /* TLS 1.2 ChaCha20-Poly1305: 12-byte IV xor sequence */
    TLSDEC_TLS13,
    TLSDEC_CBC,         /* TLS 1.0-1.2 CBC + HMAC */
};

struct tlsdec {
    void *ctx;            /* EVP_CIPHER_CTX */
    void *mac;            /* EVP_MAC_CTX (HMAC, CBC suites) */
    const void *cipher;   /* EVP_CIPHER */
    uint8_t key[32];
    uint8_t iv[16];       /* AEAD: implicit nonce part; CBC TLS 1.0: the chained IV */
    size_t key_len, iv_len;
    size_t tag_len;       /* AEAD: 16, or 8 for CCM_8 */
    size_t mac_len, block; /* CBC: HMAC output length, cipher block size */
    bool ccm, etm, chained_iv;
    uint64_t seq;
    int mode;             /* enum tlsdec_mode */
    uint16_t suite;       /* TLS 1.3: cipher suite and current traffic secret, */
    uint8_t secret[48];   /* kept to derive the next one after a KeyUpdate */
    size_t secret_len;
    uint64_t ok, failed;
};

/* Whether this suite can be decrypted at this negotiated version. */
int tlsdec_supported(uint16_t cipher, uint16_t version);
/* Keys of both directions of a TLS 1.0-1.2 connection. etm: encrypt_then_mac
 * was negotiated (extension 22 in both hellos; only matters for CBC). 0 on
 * success. */
int tlsdec_init_tls12(struct tlsdec *client, struct tlsdec *server, uint16_t version, uint16_t cipher,
                      bool etm, const uint8_t *master, size_t mlen, const uint8_t client_random[32],
                      const uint8_t server_random[32]);
/* One direction of TLS 1.3 from a traffic secret (handshake or application). */
int tlsdec_init_tls13(struct tlsdec *d, uint16_t cipher, const uint8_t *secret, size_t slen);
/* TLS 1.3 KeyUpdate: application_traffic_secret_N+1 =
 * HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length)
 * (RFC 8446 7.2); new key and IV, sequence number 0. 0 on success. */
int tlsdec_tls13_update(struct tlsdec *d);
/* Decrypts a record body into out; returns the plaintext length (content
 * only: TLS 1.3 padding and inner type, CBC MAC and padding removed) or -1
 * (counted in failed). *type is the real content type. The sequence number
 * advances on success. Never reads outside body[0..len) nor writes outside
 * out[0..cap). */
int tlsdec_record(struct tlsdec *d, uint8_t outer_type, uint16_t version, const uint8_t *body,
                  size_t len, uint8_t *out, size_t cap, uint8_t *type);
void tlsdec_free(struct tlsdec *d);

#endif
