/* Record decryption with libcrypto: AEAD records (RFC 5288 GCM, RFC 6655 /
 * RFC 7251 CCM, RFC 7905 ChaCha20-Poly1305, RFC 8446 5.2) and TLS 1.0-1.2
 * CBC records with HMAC, MAC-then-encrypt (RFC 5246 6.2.3.2) or
 * encrypt_then_mac (RFC 7366). Everything read comes off the wire: every
 * length is checked before it is used, and a record that does not
 * authenticate is a failure, never partly returned. Padding and MAC checks
 * need not be constant time (a passive reader is no padding oracle). */
#include "tlsdecrypt.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <string.h>

#include "tls_names.h"

enum suite_kind { K_NONE, K_GCM, K_CHACHA, K_CCM, K_CBC };

struct suite {
    int kind;
    size_t klen, tag_len, mac_len, block;
    const EVP_CIPHER *evp;
    const char *md; /* HMAC digest (CBC) */
    int prf384;     /* TLS 1.2 PRF and TLS 1.3 HKDF with SHA-384 */
};

static int name_has(uint16_t cipher, const char *part)
{
    const char *n = tls_names_cipher(cipher);
    return n && strstr(n, part) != NULL;
}

static int name_ends(uint16_t cipher, const char *suffix)
{
    const char *n = tls_names_cipher(cipher);
    size_t l = n ? strlen(n) : 0, s = strlen(suffix);
    return l > s && strcmp(n + l - s, suffix) == 0;
}

/* What it takes to decrypt this suite; kind K_NONE when it cannot be. */
static struct suite suite_of(uint16_t cipher)
{
    struct suite s = {0};
    const tls_cipher_info *ci = tls_names_cipher_info(cipher);
    if (!ci) return s;
    s.prf384 = name_ends(cipher, "_SHA384");
    if (ci->enc == TLS_ENC_AES_GCM && (ci->enc_bits == 128 || ci->enc_bits == 256)) {
        s.kind = K_GCM;
        s.klen = ci->enc_bits / 8;
        s.tag_len = 16;
        s.evp = s.klen == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
    } else if (ci->enc == TLS_ENC_CHACHA20 && ci->mac == TLS_MAC_AEAD) {
        s.kind = K_CHACHA;
        s.klen = 32;
        s.tag_len = 16;
        s.evp = EVP_chacha20_poly1305();
    } else if (ci->enc == TLS_ENC_AES_CCM && (ci->enc_bits == 128 || ci->enc_bits == 256)) {
        s.kind = K_CCM;
        s.klen = ci->enc_bits / 8;
        s.tag_len = name_has(cipher, "_CCM_8") ? 8 : 16;
        s.evp = s.klen == 16 ? EVP_aes_128_ccm() : EVP_aes_256_ccm();
    } else if ((ci->enc == TLS_ENC_AES_CBC && (ci->enc_bits == 128 || ci->enc_bits == 256)) ||
               ci->enc == TLS_ENC_3DES) {
        if (ci->is_export) return s;
        if (ci->mac == TLS_MAC_SHA1) {
            s.md = "SHA1";
            s.mac_len = 20;
        } else if (ci->mac == TLS_MAC_SHA256) {
            s.md = "SHA256";
            s.mac_len = 32;
        } else if (ci->mac == TLS_MAC_SHA384) {
            s.md = "SHA384";
            s.mac_len = 48;
        } else {
            return s;
        }
        s.kind = K_CBC;
        if (ci->enc == TLS_ENC_3DES) {
            s.klen = 24;
            s.block = 8;
            s.evp = EVP_des_ede3_cbc();
        } else {
            s.klen = ci->enc_bits / 8;
            s.block = 16;
            s.evp = s.klen == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
        }
    }
    if (!s.evp) s.kind = K_NONE; /* not in this libcrypto (e.g. 3DES without the legacy provider) */
    return s;
}

static int is_tls13_suite(uint16_t cipher)
{
    const tls_cipher_info *ci = tls_names_cipher_info(cipher);
    return ci && ci->kx == TLS_KX_TLS13;
}

int tlsdec_supported(uint16_t cipher, uint16_t version)
{
    struct suite s = suite_of(cipher);
    if (s.kind == K_NONE) return 0;
    if (tls_names_version_is_tls13(version)) return is_tls13_suite(cipher) && s.kind != K_CBC;
    if (is_tls13_suite(cipher)) return 0;
    if (s.kind == K_CBC) return version >= 0x0301 && version <= 0x0303; /* not SSLv3 */
    return version == 0x0303; /* AEAD suites are TLS 1.2 only */
}

static void reset(struct tlsdec *d)
{
    if (d->ctx) EVP_CIPHER_CTX_free(d->ctx);
    if (d->mac) EVP_MAC_CTX_free(d->mac);
    OPENSSL_cleanse(d, sizeof *d);
}

static int setup(struct tlsdec *d, int mode, const struct suite *s, const uint8_t *key, const uint8_t *iv,
                 size_t ivlen)
{
    reset(d);
    d->ctx = EVP_CIPHER_CTX_new();
    if (!d->ctx) return -1;
    d->cipher = s->evp;
    memcpy(d->key, key, s->klen);
    if (ivlen) memcpy(d->iv, iv, ivlen);
    d->key_len = s->klen;
    d->iv_len = ivlen;
    d->tag_len = s->tag_len;
    d->ccm = s->kind == K_CCM;
    d->mode = mode;
    if (mode == TLSDEC_CBC) {
        /* the key is set once; each record only sets its IV */
        if (EVP_DecryptInit_ex(d->ctx, s->evp, NULL, key, NULL) != 1) goto fail;
        EVP_CIPHER_CTX_set_padding(d->ctx, 0);
        d->block = s->block;
        d->mac_len = s->mac_len;
    }
    return 0;
fail:
    reset(d);
    return -1;
}

static int setup_hmac(struct tlsdec *d, const char *md, const uint8_t *key, size_t klen)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac) return -1;
    d->mac = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    if (!d->mac) return -1;
    OSSL_PARAM p[2];
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t)md, 0);
    p[1] = OSSL_PARAM_construct_end();
    return EVP_MAC_init(d->mac, key, klen, p) == 1 ? 0 : -1;
}

/* TLS 1.0/1.1: MD5 and SHA-1 combined; TLS 1.2: SHA-256 or the suite's SHA-384. */
static int tls1_prf(const char *digest, const uint8_t *secret, size_t slen, const char *label,
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
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t)digest, 0);
    p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)(uintptr_t)secret, slen);
    p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, ll + 64);
    p[3] = OSSL_PARAM_construct_end();
    int rc = EVP_KDF_derive(kctx, out, outlen, p) == 1 ? 0 : -1;
    EVP_KDF_CTX_free(kctx);
    return rc;
}

int tlsdec_init_tls12(struct tlsdec *client, struct tlsdec *server, uint16_t version, uint16_t cipher,
                      bool etm, const uint8_t *master, size_t mlen, const uint8_t client_random[32],
                      const uint8_t server_random[32])
{
    if (!tlsdec_supported(cipher, version)) return -1;
    struct suite s = suite_of(cipher);
    int mode;
    size_t ivlen;
    if (s.kind == K_CBC) {
        mode = TLSDEC_CBC;
        ivlen = version == 0x0301 ? s.block : 0; /* TLS 1.1+: explicit IV per record */
    } else {
        mode = s.kind == K_CHACHA ? TLSDEC_AEAD12_XOR : TLSDEC_AEAD12_SALT;
        ivlen = s.kind == K_CHACHA ? 12 : 4;
    }
    const char *prf = version < 0x0303 ? "MD5-SHA1" : s.prf384 ? "SHA384" : "SHA256";
    /* key_block = PRF(master, "key expansion", server_random + client_random):
     * client MAC key, server MAC key, client key, server key, client IV, server IV */
    uint8_t kb[2 * 48 + 2 * 32 + 2 * 16];
    size_t m = s.mac_len, k = s.klen;
    int rc = -1;
    if (tls1_prf(prf, master, mlen, "key expansion", server_random, client_random, kb, 2 * (m + k + ivlen)) != 0)
        goto out;
    if (setup(client, mode, &s, kb + 2 * m, kb + 2 * m + 2 * k, ivlen) != 0) goto out;
    if (setup(server, mode, &s, kb + 2 * m + k, kb + 2 * m + 2 * k + ivlen, ivlen) != 0) goto out;
    if (mode == TLSDEC_CBC) {
        for (int i = 0; i < 2; i++) {
            struct tlsdec *d = i ? server : client;
            d->etm = etm;
            d->chained_iv = ivlen != 0;
            if (setup_hmac(d, s.md, kb + (size_t)i * m, m) != 0) goto out;
        }
    }
    rc = 0;
out:
    OPENSSL_cleanse(kb, sizeof kb);
    if (rc != 0) {
        reset(client);
        reset(server);
    }
    return rc;
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
    struct suite s = suite_of(cipher);
    if (!is_tls13_suite(cipher) || s.kind == K_NONE || s.kind == K_CBC) return -1;
    if (slen == 0 || slen > sizeof d->secret) return -1;
    uint8_t key[32], iv[12], sec[48];
    memcpy(sec, secret, slen); /* secret may be d->secret (KeyUpdate) */
    int rc = -1;
    if (hkdf_expand_label(s.prf384, sec, slen, "key", key, s.klen) != 0) goto out;
    if (hkdf_expand_label(s.prf384, sec, slen, "iv", iv, 12) != 0) goto out;
    if (setup(d, TLSDEC_TLS13, &s, key, iv, 12) != 0) goto out;
    d->suite = cipher;
    memcpy(d->secret, sec, slen);
    d->secret_len = slen;
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(sec, sizeof sec);
    return rc;
}

int tlsdec_tls13_update(struct tlsdec *d)
{
    if (d->mode != TLSDEC_TLS13 || !d->secret_len) return -1;
    uint8_t next[48];
    uint64_t ok = d->ok, failed = d->failed;
    int rc = -1;
    if (hkdf_expand_label(suite_of(d->suite).prf384, d->secret, d->secret_len, "traffic upd", next,
                          d->secret_len) == 0)
        rc = tlsdec_init_tls13(d, d->suite, next, d->secret_len);
    OPENSSL_cleanse(next, sizeof next);
    if (rc != 0) {
        reset(d);
        return -1;
    }
    d->ok = ok;
    d->failed = failed;
    return 0;
}

static void put_seq(uint8_t *p, uint64_t seq)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(seq >> (56 - 8 * i));
}

/* Additional data of TLS 1.2 AEAD and the MAC header of CBC suites:
 * seq_num, type, version, length. */
static void tls12_header(uint8_t h[13], uint64_t seq, uint8_t type, uint16_t version, size_t len)
{
    put_seq(h, seq);
    h[8] = type;
    h[9] = (uint8_t)(version >> 8);
    h[10] = (uint8_t)version;
    h[11] = (uint8_t)(len >> 8);
    h[12] = (uint8_t)len;
}

static int aead_open(struct tlsdec *d, const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                     const uint8_t *ct, size_t ct_len, const uint8_t *tag, uint8_t *out, size_t *n)
{
    EVP_CIPHER_CTX *ctx = d->ctx;
    int outl = 0, fl = 0;
    void *t = (void *)(uintptr_t)tag;
    if (EVP_DecryptInit_ex(ctx, d->cipher, NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1)
        return -1;
    if (d->ccm) {
        /* CCM: the tag (and its length) before the key, the total length
         * before the additional data; the tag is checked by the one update */
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)d->tag_len, t) != 1 ||
            EVP_DecryptInit_ex(ctx, NULL, NULL, d->key, nonce) != 1 ||
            EVP_DecryptUpdate(ctx, NULL, &outl, NULL, (int)ct_len) != 1 ||
            EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1 ||
            EVP_DecryptUpdate(ctx, out, &outl, ct, (int)ct_len) != 1)
            return -1;
        *n = ct_len;
        return 0;
    }
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, d->key, nonce) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1 ||
        EVP_DecryptUpdate(ctx, out, &outl, ct, (int)ct_len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)d->tag_len, t) != 1 ||
        EVP_DecryptFinal_ex(ctx, out + outl, &fl) != 1)
        return -1;
    *n = (size_t)outl + (size_t)fl;
    return 0;
}

static int aead_record(struct tlsdec *d, uint8_t outer_type, uint16_t version, const uint8_t *body,
                       size_t len, uint8_t *out, size_t cap, size_t *n)
{
    uint8_t nonce[12], aad[13];
    size_t aad_len = 13, explicit_len = d->mode == TLSDEC_AEAD12_SALT ? 8 : 0;
    if (len < explicit_len + d->tag_len) return -1;
    const uint8_t *ct = body + explicit_len;
    size_t ct_len = len - explicit_len - d->tag_len;
    if (ct_len > cap) return -1;
    if (d->mode == TLSDEC_AEAD12_SALT) { /* salt + explicit nonce */
        memcpy(nonce, d->iv, 4);
        memcpy(nonce + 4, body, 8);
    } else { /* IV xor sequence number */
        memcpy(nonce, d->iv, 12);
        for (int i = 0; i < 8; i++) nonce[4 + i] ^= (uint8_t)(d->seq >> (56 - 8 * i));
    }
    if (d->mode == TLSDEC_TLS13) { /* AAD: the record header */
        aad[0] = outer_type;
        aad[1] = (uint8_t)(version >> 8);
        aad[2] = (uint8_t)version;
        aad[3] = (uint8_t)(len >> 8);
        aad[4] = (uint8_t)len;
        aad_len = 5;
    } else {
        tls12_header(aad, d->seq, outer_type, version, ct_len);
    }
    return aead_open(d, nonce, aad, aad_len, ct, ct_len, ct + ct_len, out, n);
}

static int hmac_check(struct tlsdec *d, uint8_t type, uint16_t version, const uint8_t *data, size_t len,
                      const uint8_t *want)
{
    uint8_t h[13], got[64];
    size_t gl = 0;
    tls12_header(h, d->seq, type, version, len);
    if (EVP_MAC_init(d->mac, NULL, 0, NULL) != 1 || EVP_MAC_update(d->mac, h, 13) != 1 ||
        EVP_MAC_update(d->mac, data, len) != 1 || EVP_MAC_final(d->mac, got, &gl, sizeof got) != 1 ||
        gl != d->mac_len)
        return -1;
    return CRYPTO_memcmp(got, want, gl) == 0 ? 0 : -1;
}

/* CBC: [IV (TLS 1.1+)] ciphertext [MAC (encrypt_then_mac)]; decrypted,
 * content [MAC (MAC-then-encrypt)] padding padding_length. */
static int cbc_record(struct tlsdec *d, uint8_t outer_type, uint16_t version, const uint8_t *body,
                      size_t len, uint8_t *out, size_t cap, size_t *n)
{
    size_t bs = d->block, iv_part = d->chained_iv ? 0 : bs;
    size_t enc_len = len; /* IV part and ciphertext */
    if (d->etm) {
        if (len < d->mac_len) return -1;
        enc_len = len - d->mac_len;
    }
    if (enc_len < iv_part + bs || (enc_len - iv_part) % bs) return -1;
    size_t ct_len = enc_len - iv_part;
    if (ct_len > cap || ct_len > INT32_MAX) return -1;
    if (d->etm && hmac_check(d, outer_type, version, body, enc_len, body + enc_len) != 0) return -1;
    const uint8_t *iv = d->chained_iv ? d->iv : body, *ct = body + iv_part;
    int outl = 0, fl = 0;
    if (EVP_DecryptInit_ex(d->ctx, NULL, NULL, NULL, iv) != 1 || EVP_CIPHER_CTX_set_padding(d->ctx, 0) != 1 ||
        EVP_DecryptUpdate(d->ctx, out, &outl, ct, (int)ct_len) != 1 ||
        EVP_DecryptFinal_ex(d->ctx, out + outl, &fl) != 1 || (size_t)outl + (size_t)fl != ct_len)
        return -1;
    /* TLS 1.0: the next record's IV is this record's last ciphertext block
     * (the sender chained it whether or not this record checks out) */
    if (d->chained_iv) memcpy(d->iv, ct + ct_len - bs, bs);
    size_t pad = out[ct_len - 1];
    size_t tail = pad + 1 + (d->etm ? 0 : d->mac_len);
    if (tail > ct_len) return -1;
    for (size_t i = ct_len - 1 - pad; i < ct_len - 1; i++)
        if (out[i] != pad) return -1;
    size_t content = ct_len - tail;
    if (!d->etm && hmac_check(d, outer_type, version, out, content, out + content) != 0) return -1;
    *n = content;
    return 0;
}

int tlsdec_record(struct tlsdec *d, uint8_t outer_type, uint16_t version, const uint8_t *body,
                  size_t len, uint8_t *out, size_t cap, uint8_t *type)
{
    if (!d->mode || !d->ctx || (!body && len)) return -1;
    size_t n = 0;
    int rc = d->mode == TLSDEC_CBC ? cbc_record(d, outer_type, version, body, len, out, cap, &n)
                                   : aead_record(d, outer_type, version, body, len, out, cap, &n);
    if (rc != 0) {
        d->failed++;
        return -1;
    }
    d->seq++;
    d->ok++;
    if (d->mode == TLSDEC_TLS13) { /* TLSInnerPlaintext: content, type, zero padding */
        while (n > 0 && out[n - 1] == 0) n--;
        if (n == 0) return -1;
        *type = out[n - 1];
        return (int)(n - 1);
    }
    *type = outer_type;
    return (int)n;
}

void tlsdec_free(struct tlsdec *d) { reset(d); }
