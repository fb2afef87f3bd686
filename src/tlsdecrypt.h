/* Record decryption with secrets from a key log: TLS 1.2 AEAD suites
 * (AES-GCM, ChaCha20-Poly1305; keys from the master secret by the TLS PRF)
 * and TLS 1.3 (traffic secrets by HKDF-Expand-Label). CBC suites are not
 * decrypted (said so in the facts). One struct per direction. */
#ifndef TLSWATCH_TLSDECRYPT_H
#define TLSWATCH_TLSDECRYPT_H
#include <stddef.h>
#include <stdint.h>

struct tlsdec {
    void *ctx;            /* EVP_CIPHER_CTX */
    const void *cipher;   /* EVP_CIPHER */
    uint8_t key[32];
    uint8_t iv[12];
    size_t key_len, iv_len;
    uint64_t seq;
    int mode;             /* 0 none, 1 TLS1.2 GCM, 2 TLS1.2 ChaCha20, 3 TLS1.3 */
    uint64_t ok, failed;
};

/* Whether this suite can be decrypted (AEAD). */
int tlsdec_supported(uint16_t cipher);
/* Keys of both directions of a TLS 1.2 connection. 0 on success. */
int tlsdec_init_tls12(struct tlsdec *client, struct tlsdec *server, uint16_t cipher,
                      const uint8_t *master, size_t mlen, const uint8_t client_random[32],
                      const uint8_t server_random[32]);
/* One direction of TLS 1.3 from a traffic secret (handshake or application). */
int tlsdec_init_tls13(struct tlsdec *d, uint16_t cipher, const uint8_t *secret, size_t slen);
/* Decrypts a record body into out; returns the plaintext length (content
 * only: TLS 1.3 padding and inner type removed) or -1. *type is the real
 * content type. The sequence number advances on success. */
int tlsdec_record(struct tlsdec *d, uint8_t outer_type, uint16_t version, const uint8_t *body,
                  size_t len, uint8_t *out, size_t cap, uint8_t *type);
void tlsdec_free(struct tlsdec *d);

#endif
