/* AEAD record decryption (RFC 5288, RFC 7905, RFC 8446 5.2) with libcrypto. */
#include "tlsdecrypt.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <string.h>

#include "tls_names.h"

static int suite_hash_384(uint16_t cipher)
{
    const char *n = tls_names_cipher(cipher);
    size_t l = n ? strlen(n) : 0;
    return l > 7 && strcmp(n + l - 7, "_SHA384") == 0;
}

/* 1 AES-GCM, 2 ChaCha20-Poly1305, 0 other; key length in *klen. */
static int suite_aead(uint16_t cipher, size_t *klen)
{
    const tls_cipher_info *ci = tls_names_cipher_info(cipher);
    if (!ci) return 0;
    if (ci->enc == TLS_ENC_AES_GCM && (ci->enc_bits == 128 || ci->enc_bits == 256)) {
        *klen = ci->enc_bits / 8;
        return 1;
    }
    if (ci->enc == TLS_ENC_CHACHA20) {
        *klen = 32;
        return 2;
    }
    return 0;
}

int tlsdec_supported(uint16_t cipher)
{
    size_t k;
    return suite_aead(cipher, &k) != 0;
}

static const EVP_CIPHER *evp_of(int aead, size_t klen)
{
    if (aead == 2) return EVP_chacha20_poly1305();
    return klen == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
}

static int setup(struct tlsdec *d, int mode, const EVP_CIPHER *c, const uint8_t *key, size_t klen,
                 const uint8_t *iv, size_t ivlen)
{
    tlsdec_free(d);
    d->ctx = EVP_CIPHER_CTX_new();
    if (!d->ctx) return -1;
    d->cipher = c;
    memcpy(d->key, key, klen);
    memcpy(d->iv, iv, ivlen);
    d->key_len = klen;
    d->iv_len = ivlen;
    d->seq = 0;
    d->mode = mode;
    return 0;
}

static int tls1_prf(int sha384, const uint8_t *secret, size_t slen, const char *label,
                    const uint8_t *s1, const uint8_t *s2, uint8_t *out, size_t outlen)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    if (!kdf) return -1;
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (!kctx) return -1;
    uint8_t seed[128];
    size_t ll = strlen(label);
    memcpy(seed, label, ll);
    memcpy(seed + ll, s1, 32);
    memcpy(seed + ll + 32, s2, 32);
    OSSL_PARAM p[4];
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t)(sha384 ? "SHA384" : "SHA256"), 0);
    p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)(uintptr_t)secret, slen);
    p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, ll + 64);
    p[3] = OSSL_PARAM_construct_end();
    int rc = EVP_KDF_derive(kctx, out, outlen, p) == 1 ? 0 : -1;
    EVP_KDF_CTX_free(kctx);
    return rc;
}

int tlsdec_init_tls12(struct tlsdec *client, struct tlsdec *server, uint16_t cipher,
                      const uint8_t *master, size_t mlen, const uint8_t client_random[32],
                      const uint8_t server_random[32])
{
    size_t klen = 0;
    int aead = suite_aead(cipher, &klen);
    if (!aead) return -1;
    size_t ivlen = aead == 1 ? 4 : 12;
    uint8_t kb[2 * 32 + 2 * 12];
    /* key_block = PRF(master, "key expansion", server_random + client_random) */
    if (tls1_prf(suite_hash_384(cipher), master, mlen, "key expansion", server_random, client_random, kb,
                 2 * klen + 2 * ivlen) != 0)
        return -1;
    const EVP_CIPHER *c = evp_of(aead, klen);
    if (setup(client, aead, c, kb, klen, kb + 2 * klen, ivlen) != 0) return -1;
    if (setup(server, aead, c, kb + klen, klen, kb + 2 * klen + ivlen, ivlen) != 0) return -1;
    return 0;
}

/* HKDF-Expand-Label(secret, label, "", len) */
static int hkdf_expand_label(int sha384, const uint8_t *secret, size_t slen, const char *label,
                             uint8_t *out, size_t outlen)
{
    uint8_t info[2 + 1 + 255 + 1];
    size_t ll = strlen("tls13 ") + strlen(label), n = 0;
    info[n++] = (uint8_t)(outlen >> 8);
    info[n++] = (uint8_t)outlen;
    info[n++] = (uint8_t)ll;
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, strlen(label));
    n += strlen(label);
    info[n++] = 0; /* empty context */
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!kdf) return -1;
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (!kctx) return -1;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM p[5];
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t)(sha384 ? "SHA384" : "SHA256"), 0);
    p[1] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)secret, slen);
    p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
    p[4] = OSSL_PARAM_construct_end();
    int rc = EVP_KDF_derive(kctx, out, outlen, p) == 1 ? 0 : -1;
    EVP_KDF_CTX_free(kctx);
    return rc;
}

int tlsdec_init_tls13(struct tlsdec *d, uint16_t cipher, const uint8_t *secret, size_t slen)
{
    size_t klen = 0;
    int aead = suite_aead(cipher, &klen);
    if (!aead) return -1;
    int sha384 = suite_hash_384(cipher);
    uint8_t key[32], iv[12];
    if (hkdf_expand_label(sha384, secret, slen, "key", key, klen) != 0) return -1;
    if (hkdf_expand_label(sha384, secret, slen, "iv", iv, 12) != 0) return -1;
    return setup(d, 3, evp_of(aead, klen), key, klen, iv, 12);
}

static void seq_nonce(const struct tlsdec *d, uint8_t nonce[12])
{
    memcpy(nonce, d->iv, 12);
    for (int i = 0; i < 8; i++) nonce[4 + i] ^= (uint8_t)(d->seq >> (56 - 8 * i));
}

int tlsdec_record(struct tlsdec *d, uint8_t outer_type, uint16_t version, const uint8_t *body,
                  size_t len, uint8_t *out, size_t cap, uint8_t *type)
{
    if (!d->mode || !d->ctx) return -1;
    uint8_t nonce[12], aad[13];
    size_t aad_len;
    const uint8_t *ct = body;
    size_t ct_len;
    if (d->mode == 1) { /* GCM: salt + explicit nonce */
        if (len < 8 + 16) goto fail;
        memcpy(nonce, d->iv, 4);
        memcpy(nonce + 4, body, 8);
        ct = body + 8;
        ct_len = len - 8 - 16;
    } else {
        if (len < 16) goto fail;
        seq_nonce(d, nonce);
        ct_len = len - 16;
    }
    if (ct_len > cap) goto fail;
    if (d->mode == 3) { /* AAD: the record header */
        aad[0] = outer_type;
        aad[1] = (uint8_t)(version >> 8);
        aad[2] = (uint8_t)version;
        aad[3] = (uint8_t)(len >> 8);
        aad[4] = (uint8_t)len;
        aad_len = 5;
    } else { /* seq, type, version, plaintext length */
        for (int i = 0; i < 8; i++) aad[i] = (uint8_t)(d->seq >> (56 - 8 * i));
        aad[8] = outer_type;
        aad[9] = (uint8_t)(version >> 8);
        aad[10] = (uint8_t)version;
        aad[11] = (uint8_t)(ct_len >> 8);
        aad[12] = (uint8_t)ct_len;
        aad_len = 13;
    }
    EVP_CIPHER_CTX *ctx = d->ctx;
    int outl = 0, fl = 0;
    if (EVP_DecryptInit_ex(ctx, d->cipher, NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, d->key, nonce) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1 ||
        EVP_DecryptUpdate(ctx, out, &outl, ct, (int)ct_len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(uintptr_t)(ct + ct_len)) != 1 ||
        EVP_DecryptFinal_ex(ctx, out + outl, &fl) != 1)
        goto fail;
    size_t n = (size_t)outl + (size_t)fl;
    d->seq++;
    d->ok++;
    if (d->mode == 3) { /* TLSInnerPlaintext: content, type, zero padding */
        while (n > 0 && out[n - 1] == 0) n--;
        if (n == 0) return -1;
        *type = out[n - 1];
        return (int)(n - 1);
    }
    *type = outer_type;
    return (int)n;
fail:
    d->failed++;
    return -1;
}

void tlsdec_free(struct tlsdec *d)
{
    if (d->ctx) EVP_CIPHER_CTX_free(d->ctx);
    memset(d, 0, sizeof *d);
}
