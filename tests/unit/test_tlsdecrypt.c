/* tlsdecrypt: records sealed here with libcrypto's own primitives (TLS1-PRF
 * key blocks laid out as RFC 5246 6.3 says, TLS13-KDF for HKDF-Expand-Label,
 * EVP ciphers, HMAC) and opened with tlsdec_record: CBC + HMAC
 * (MAC-then-encrypt, encrypt_then_mac, TLS 1.0 chained IV, TLS 1.1+
 * explicit IV, AES and 3DES, SHA-1/256/384), AES-CCM and CCM_8 (TLS 1.2
 * and 1.3), TLS 1.3 KeyUpdate; and hostile records (every truncation, block
 * misalignment, bad padding, bad MAC, bad tag, output too small) that must
 * fail, be counted, and leave the sequence number where it was. The
 * real-stack counterparts are pcaps/tls12-cbc-*, tls12-ccm8-reneg,
 * tls13-ccm*, checked by tests/golden/test_decrypt_pcaps.sh. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "t.h"
#include "tlsdecrypt.h"

#define BUF 20000

static uint8_t master[48], cr[32], sr[32];

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + i * 7);
}

/* key_block = PRF(master, "key expansion", server_random + client_random) */
static void key_block(const char *digest, uint8_t *out, size_t len)
{
    uint8_t seed[13 + 64];
    memcpy(seed, "key expansion", 13);
    memcpy(seed + 13, sr, 32);
    memcpy(seed + 45, cr, 32);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t)digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master, sizeof master),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof seed),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_KDF_derive(k, out, len, p) != 1) memset(out, 0, len);
    EVP_KDF_CTX_free(k);
    EVP_KDF_free(kdf);
}

static void hmac(const char *md, const uint8_t *key, size_t klen, const uint8_t *a, size_t alen,
                 const uint8_t *b, size_t blen, uint8_t *out)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *m = EVP_MAC_CTX_new(mac);
    OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t)md, 0),
                       OSSL_PARAM_construct_end() };
    size_t ol = 0;
    EVP_MAC_init(m, key, klen, p);
    EVP_MAC_update(m, a, alen);
    EVP_MAC_update(m, b, blen);
    EVP_MAC_final(m, out, &ol, 64);
    EVP_MAC_CTX_free(m);
    EVP_MAC_free(mac);
}

static void hdr(uint8_t h[13], uint64_t seq, uint8_t type, uint16_t version, size_t len)
{
    for (int i = 0; i < 8; i++) h[i] = (uint8_t)(seq >> (56 - 8 * i));
    h[8] = type;
    h[9] = (uint8_t)(version >> 8);
    h[10] = (uint8_t)version;
    h[11] = (uint8_t)(len >> 8);
    h[12] = (uint8_t)len;
}

struct cbc_suite {
    uint16_t code;
    const EVP_CIPHER *evp;
    const char *md;
    size_t mac_len, klen, bs;
    const char *prf;
};

/* Damage done while sealing a CBC record. */
enum { OK = 0, BAD_PAD = 1, BAD_MAC = 2, PAD_TOO_LONG = 3 };

/* Seals content as one CBC record: [iv] E([content mac] pad) [mac].
 * iv: the explicit IV (TLS 1.1+) or the chained one (TLS 1.0, updated). */
static size_t cbc_seal(const struct cbc_suite *s, uint16_t version, bool etm, const uint8_t *mac_key,
                       const uint8_t *key, uint8_t *iv, uint64_t seq, uint8_t type, const uint8_t *content,
                       size_t clen, size_t pad, int damage, uint8_t *rec)
{
    uint8_t pt[BUF], h[13], mac[64];
    bool explicit_iv = version >= 0x0302;
    size_t n = 0, r = 0;
    memcpy(pt, content, clen);
    n = clen;
    if (!etm) {
        hdr(h, seq, type, version, clen);
        hmac(s->md, mac_key, s->mac_len, h, 13, content, clen, mac);
        if (damage == BAD_MAC) mac[0] ^= 1;
        memcpy(pt + n, mac, s->mac_len);
        n += s->mac_len;
    }
    for (size_t i = 0; i <= pad; i++) pt[n++] = (uint8_t)pad;
    if (damage == BAD_PAD) pt[n - 2] ^= 0x40;
    if (damage == PAD_TOO_LONG) pt[n - 1] = 0xff;
    if (explicit_iv) {
        memcpy(rec, iv, s->bs);
        r = s->bs;
    }
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ol = 0, fl = 0;
    EVP_EncryptInit_ex(c, s->evp, NULL, key, iv);
    EVP_CIPHER_CTX_set_padding(c, 0);
    EVP_EncryptUpdate(c, rec + r, &ol, pt, (int)n);
    EVP_EncryptFinal_ex(c, rec + r + ol, &fl);
    EVP_CIPHER_CTX_free(c);
    size_t ct_end = r + (size_t)ol + (size_t)fl;
    if (!explicit_iv) memcpy(iv, rec + ct_end - s->bs, s->bs);
    if (etm) {
        hdr(h, seq, type, version, ct_end);
        hmac(s->md, mac_key, s->mac_len, h, 13, rec, ct_end, mac);
        if (damage == BAD_MAC) mac[0] ^= 1;
        memcpy(rec + ct_end, mac, s->mac_len);
        ct_end += s->mac_len;
    }
    return ct_end;
}

static int open_rec(struct tlsdec *d, uint16_t version, const uint8_t *rec, size_t len, uint8_t *out)
{
    uint8_t type = 0;
    int n = tlsdec_record(d, 23, version, rec, len, out, BUF, &type);
    return n;
}

static void test_cbc(const struct cbc_suite *s, uint16_t version, bool etm)
{
    char name[96];
    snprintf(name, sizeof name, "0x%04x v%04x %s", s->code, version, etm ? "etm" : "mte");
    fill(master, sizeof master, 1);
    fill(cr, 32, 2);
    fill(sr, 32, 3);
    struct tlsdec c = {0}, sv = {0};
    CHECK_EQ_INT(tlsdec_init_tls12(&c, &sv, version, s->code, etm, master, sizeof master, cr, sr), 0,
                 "%s: keys", name);
    uint8_t kb[256];
    size_t m = s->mac_len, k = s->klen, ivl = version == 0x0301 ? s->bs : 0;
    key_block(version < 0x0303 ? "MD5-SHA1" : s->prf, kb, 2 * (m + k + ivl));
    /* the server direction: MAC key, key and (TLS 1.0) IV after the client's */
    const uint8_t *mk = kb + m, *key = kb + 2 * m + k;
    uint8_t iv[16] = {0};
    if (ivl) memcpy(iv, kb + 2 * m + 2 * k + ivl, ivl);
    uint8_t content[300], rec[BUF], out[BUF];
    fill(content, sizeof content, 9);
    size_t extra = etm ? 0 : m; /* the MAC inside the padded plaintext */
    uint64_t seq = 0;
    bool all = true;
    /* several records: sequence numbers, chained IVs, padding lengths */
    for (int i = 0; i < 4; i++) {
        size_t clen = (size_t)(i * 97) % 300;
        size_t pad = (s->bs - (clen + extra + 1) % s->bs) % s->bs + (size_t)i * s->bs;
        if (!ivl) fill(iv, s->bs, (uint8_t)(40 + i));
        size_t len = cbc_seal(s, version, etm, mk, key, iv, seq++, 23, content, clen, pad, OK, rec);
        int n = open_rec(&sv, version, rec, len, out);
        if (n != (int)clen || memcmp(out, content, clen) != 0) all = false;
    }
    CHECK(all && sv.ok == 4 && sv.failed == 0, "%s: four records of 0-291 bytes decrypt", name);

    /* hostile records: each fails, is counted, and leaves the sequence
     * number (and, TLS 1.0, the chained IV: restored here) where it was */
    size_t pad40 = (s->bs - (40 + extra + 1) % s->bs) % s->bs;
    uint8_t chained[16], ivd[16];
    memcpy(chained, sv.iv, 16);
#define PREP_IV() do { if (ivl) memcpy(ivd, chained, 16); else fill(ivd, s->bs, 77); } while (0)
    PREP_IV();
    size_t good = cbc_seal(s, version, etm, mk, key, ivd, seq, 23, content, 40, pad40, OK, rec);
    uint64_t seq_before = sv.seq, failed_before = sv.failed;
    int bad = 0;
    for (size_t l = 0; l < good; l++) {
        if (open_rec(&sv, version, rec, l, out) >= 0) bad++;
        memcpy(sv.iv, chained, 16);
    }
    CHECK(bad == 0 && sv.seq == seq_before && sv.failed == failed_before + good,
          "%s: every truncation (0-%zu bytes) fails and is counted", name, good - 1);
    int damages[] = { BAD_PAD, BAD_MAC, PAD_TOO_LONG };
    const char *dn[] = { "bad padding", "bad MAC", "padding longer than the record" };
    for (int i = 0; i < 3; i++) {
        PREP_IV();
        size_t len = cbc_seal(s, version, etm, mk, key, ivd, seq, 23, content, 40, pad40 + s->bs, damages[i], rec);
        uint64_t f = sv.failed;
        int n = open_rec(&sv, version, rec, len, out);
        memcpy(sv.iv, chained, 16);
        CHECK(n < 0 && sv.failed == f + 1 && sv.seq == seq_before, "%s: %s fails", name, dn[i]);
    }
    /* a flipped ciphertext bit in the last block */
    {
        PREP_IV();
        size_t len = cbc_seal(s, version, etm, mk, key, ivd, seq, 23, content, 40, pad40, OK, rec);
        rec[len - 1 - (etm ? m : 0)] ^= 0x80;
        int n = open_rec(&sv, version, rec, len, out);
        memcpy(sv.iv, chained, 16);
        CHECK(n < 0 && sv.seq == seq_before, "%s: a flipped ciphertext bit fails", name);
    }
    /* out too small for the ciphertext */
    {
        PREP_IV();
        uint8_t type;
        size_t len = cbc_seal(s, version, etm, mk, key, ivd, seq, 23, content, 200,
                              (s->bs - (200 + extra + 1) % s->bs) % s->bs, OK, rec);
        int n = tlsdec_record(&sv, 23, version, rec, len, out, 100, &type);
        memcpy(sv.iv, chained, 16);
        CHECK(n < 0, "%s: an output buffer smaller than the record is refused", name);
    }
    /* and the good record still opens afterwards */
    {
        PREP_IV();
        size_t len = cbc_seal(s, version, etm, mk, key, ivd, seq, 23, content, 40, pad40, OK, rec);
        int n = open_rec(&sv, version, rec, len, out);
        CHECK(n == 40 && memcmp(out, content, 40) == 0 && sv.seq == seq_before + 1,
              "%s: the good record after the bad ones decrypts", name);
    }
    /* the other direction has its own keys */
    {
        fill(ivd, s->bs, 5);
        if (ivl) memcpy(ivd, kb + 2 * m + 2 * k, ivl);
        size_t len = cbc_seal(s, version, etm, kb, kb + 2 * m, ivd, 0, 21, content, 2,
                              (s->bs - (2 + extra + 1) % s->bs) % s->bs, OK, rec);
        uint8_t type = 0;
        int n = tlsdec_record(&c, 21, version, rec, len, out, BUF, &type);
        int wrong = tlsdec_record(&sv, 21, version, rec, len, out, BUF, &type);
        CHECK(n == 2 && type == 21 && wrong < 0, "%s: client direction with the client keys only", name);
    }
    /* encrypt_then_mac negotiated or not must match */
    {
        struct tlsdec c2 = {0}, s2 = {0};
        tlsdec_init_tls12(&c2, &s2, version, s->code, !etm, master, sizeof master, cr, sr);
        fill(ivd, s->bs, 5);
        if (ivl) memcpy(ivd, kb + 2 * m + 2 * k, ivl);
        size_t len = cbc_seal(s, version, etm, kb, kb + 2 * m, ivd, 0, 23, content, 64,
                              (s->bs - (64 + extra + 1) % s->bs) % s->bs, OK, rec);
        uint8_t type = 0;
        CHECK(tlsdec_record(&c2, 23, version, rec, len, out, BUF, &type) < 0,
              "%s: read with the other MAC order fails", name);
        tlsdec_free(&c2);
        tlsdec_free(&s2);
    }
    tlsdec_free(&c);
    tlsdec_free(&sv);
    CHECK(c.mode == 0 && c.ctx == NULL && c.mac == NULL, "%s: freed", name);
}

static int aead_seal(const EVP_CIPHER *evp, bool ccm, size_t taglen, const uint8_t *key, const uint8_t nonce[12],
                     const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t n, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ol = 0, fl = 0;
    EVP_EncryptInit_ex(c, evp, NULL, NULL, NULL);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL);
    if (ccm) EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)taglen, NULL);
    EVP_EncryptInit_ex(c, NULL, NULL, key, nonce);
    if (ccm) EVP_EncryptUpdate(c, NULL, &ol, NULL, (int)n);
    EVP_EncryptUpdate(c, NULL, &ol, aad, (int)aadlen);
    EVP_EncryptUpdate(c, out, &ol, pt, (int)n);
    EVP_EncryptFinal_ex(c, out + ol, &fl);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, (int)taglen, out + n);
    EVP_CIPHER_CTX_free(c);
    return (int)(n + taglen);
}

static void test_ccm12(uint16_t code, const EVP_CIPHER *evp, size_t klen, size_t taglen)
{
    fill(master, sizeof master, 11);
    fill(cr, 32, 12);
    fill(sr, 32, 13);
    struct tlsdec c = {0}, sv = {0};
    CHECK_EQ_INT(tlsdec_init_tls12(&c, &sv, 0x0303, code, false, master, sizeof master, cr, sr), 0,
                 "0x%04x: keys", code);
    uint8_t kb[2 * 32 + 8];
    key_block("SHA256", kb, 2 * klen + 8);
    const uint8_t *key = kb + klen, *salt = kb + 2 * klen + 4; /* server */
    uint8_t content[100], rec[BUF], out[BUF], aad[13], nonce[12];
    fill(content, sizeof content, 21);
    bool all = true;
    for (uint64_t seq = 0; seq < 3; seq++) {
        size_t n = seq == 1 ? 0 : 100; /* an empty record too */
        memcpy(nonce, salt, 4);
        fill(nonce + 4, 8, (uint8_t)(seq * 31));
        memcpy(rec, nonce + 4, 8);
        hdr(aad, seq, 23, 0x0303, n);
        int l = aead_seal(evp, true, taglen, key, nonce, aad, 13, content, n, rec + 8);
        uint8_t type = 0;
        int got = tlsdec_record(&sv, 23, 0x0303, rec, 8 + (size_t)l, out, BUF, &type);
        if (got != (int)n || memcmp(out, content, n) != 0) all = false;
    }
    CHECK(all && sv.failed == 0, "0x%04x: three records (one empty) with %zu-byte tags decrypt", code, taglen);
    memcpy(nonce, salt, 4);
    fill(nonce + 4, 8, 99);
    memcpy(rec, nonce + 4, 8);
    hdr(aad, 3, 23, 0x0303, 100);
    size_t len = 8 + (size_t)aead_seal(evp, true, taglen, key, nonce, aad, 13, content, 100, rec + 8);
    int bad = 0;
    for (size_t l = 0; l < len; l++)
        if (tlsdec_record(&sv, 23, 0x0303, rec, l, out, BUF, &(uint8_t){0}) >= 0) bad++;
    CHECK(bad == 0 && sv.seq == 3, "0x%04x: every truncation fails", code);
    rec[len - 1] ^= 1;
    CHECK(tlsdec_record(&sv, 23, 0x0303, rec, len, out, BUF, &(uint8_t){0}) < 0, "0x%04x: a bad tag fails", code);
    rec[len - 1] ^= 1;
    CHECK(tlsdec_record(&sv, 22, 0x0303, rec, len, out, BUF, &(uint8_t){0}) < 0,
          "0x%04x: another record type (additional data) fails", code);
    CHECK_EQ_INT(tlsdec_record(&sv, 23, 0x0303, rec, len, out, BUF, &(uint8_t){0}), 100,
                 "0x%04x: the intact record still decrypts", code);
    tlsdec_free(&c);
    tlsdec_free(&sv);
}

/* HKDF-Expand-Label by libcrypto's TLS13-KDF (an implementation other than tlsdecrypt's) */
static void expand_label(const char *md, const uint8_t *secret, size_t slen, const char *label, uint8_t *out,
                         size_t outlen)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS13-KDF", NULL);
    EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t)md, 0),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)secret, slen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, (void *)(uintptr_t)"tls13 ", 6),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, (void *)(uintptr_t)label, strlen(label)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA, (void *)(uintptr_t)"", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_KDF_derive(k, out, outlen, p) != 1) memset(out, 0, outlen);
    EVP_KDF_CTX_free(k);
    EVP_KDF_free(kdf);
}

/* One TLS 1.3 record: content + type + two bytes of padding, sealed with
 * the key and IV of secret. */
static size_t seal13(const EVP_CIPHER *evp, bool ccm, size_t taglen, const char *md, const uint8_t *secret,
                     size_t slen, size_t klen, uint64_t seq, uint8_t type, const uint8_t *content, size_t n,
                     uint8_t *rec)
{
    uint8_t key[32], iv[12], pt[BUF], aad[5];
    expand_label(md, secret, slen, "key", key, klen);
    expand_label(md, secret, slen, "iv", iv, 12);
    for (int i = 0; i < 8; i++) iv[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
    memcpy(pt, content, n);
    pt[n] = type;
    pt[n + 1] = pt[n + 2] = 0;
    size_t len = n + 3 + taglen;
    aad[0] = 23;
    aad[1] = 3;
    aad[2] = 3;
    aad[3] = (uint8_t)(len >> 8);
    aad[4] = (uint8_t)len;
    return (size_t)aead_seal(evp, ccm, taglen, key, iv, aad, 5, pt, n + 3, rec);
}

static void test_tls13(uint16_t code, const EVP_CIPHER *evp, bool ccm, size_t klen, size_t taglen, const char *md,
                       size_t hlen)
{
    uint8_t secret[48], next[48], rec[BUF], out[BUF], content[64];
    fill(secret, hlen, 31);
    fill(content, sizeof content, 41);
    struct tlsdec d = {0};
    CHECK_EQ_INT(tlsdec_init_tls13(&d, code, secret, hlen), 0, "0x%04x: keys from a traffic secret", code);
    uint8_t type = 0;
    bool all = true;
    for (uint64_t seq = 0; seq < 3; seq++) {
        size_t len = seal13(evp, ccm, taglen, md, secret, hlen, klen, seq, 22, content, 64, rec);
        if (tlsdec_record(&d, 23, 0x0303, rec, len, out, BUF, &type) != 64 || type != 22 ||
            memcmp(out, content, 64) != 0)
            all = false;
    }
    CHECK(all, "0x%04x: three records decrypt, inner type and padding removed", code);
    size_t len = seal13(evp, ccm, taglen, md, secret, hlen, klen, 3, 23, content, 10, rec);
    int bad = 0;
    for (size_t l = 0; l < len; l++)
        if (tlsdec_record(&d, 23, 0x0303, rec, l, out, BUF, &type) >= 0) bad++;
    CHECK(bad == 0 && d.seq == 3, "0x%04x: every truncation fails", code);
    rec[0] ^= 1;
    CHECK(tlsdec_record(&d, 23, 0x0303, rec, len, out, BUF, &type) < 0, "0x%04x: a flipped bit fails", code);

    /* KeyUpdate: the next generation, sequence numbers from 0 */
    expand_label(md, secret, hlen, "traffic upd", next, hlen);
    len = seal13(evp, ccm, taglen, md, next, hlen, klen, 0, 21, content, 2, rec);
    uint64_t failed = d.failed;
    CHECK(tlsdec_record(&d, 23, 0x0303, rec, len, out, BUF, &type) < 0 && d.failed == failed + 1,
          "0x%04x: a record under the next secret fails before the KeyUpdate", code);
    CHECK_EQ_INT(tlsdec_tls13_update(&d), 0, "0x%04x: KeyUpdate", code);
    CHECK(d.seq == 0 && d.secret_len == hlen && memcmp(d.secret, next, hlen) == 0 && d.failed == failed + 1,
          "0x%04x: the secret rolled (traffic upd), sequence 0, counters kept", code);
    CHECK(tlsdec_record(&d, 23, 0x0303, rec, len, out, BUF, &type) == 2 && type == 21 &&
              memcmp(out, content, 2) == 0,
          "0x%04x: the record under the next secret decrypts after it", code);
    /* a second generation */
    expand_label(md, next, hlen, "traffic upd", secret, hlen);
    len = seal13(evp, ccm, taglen, md, secret, hlen, klen, 0, 23, content, 5, rec);
    CHECK(tlsdec_tls13_update(&d) == 0 && tlsdec_record(&d, 23, 0x0303, rec, len, out, BUF, &type) == 5,
          "0x%04x: and the one after", code);
    /* all-zero inner plaintext: no content type */
    memset(content, 0, 8);
    len = seal13(evp, ccm, taglen, md, secret, hlen, klen, 1, 0, content, 8, rec);
    CHECK(tlsdec_record(&d, 23, 0x0303, rec, len, out, BUF, &type) < 0, "0x%04x: an inner plaintext of zeros is no record", code);
    tlsdec_free(&d);
    CHECK(tlsdec_tls13_update(&d) < 0, "0x%04x: no KeyUpdate without keys", code);
}

static void test_supported(void)
{
    CHECK(tlsdec_supported(0x1304, 0x0304) && tlsdec_supported(0x1305, 0x0304), "TLS 1.3 CCM, CCM_8");
    CHECK(!tlsdec_supported(0x1304, 0x0303), "a TLS 1.3 suite in TLS 1.2: no");
    CHECK(tlsdec_supported(0xC0AE, 0x0303) && !tlsdec_supported(0xC0AE, 0x0302), "TLS 1.2 CCM_8; not before TLS 1.2");
    CHECK(tlsdec_supported(0x002F, 0x0301) && tlsdec_supported(0x002F, 0x0302) && tlsdec_supported(0x002F, 0x0303),
          "AES-CBC in TLS 1.0-1.2");
    CHECK(!tlsdec_supported(0x002F, 0x0300), "SSLv3: no");
    CHECK(!tlsdec_supported(0x002F, 0x0304), "CBC in TLS 1.3: no");
    CHECK(!tlsdec_supported(0x0005, 0x0303), "RC4: no");
    CHECK(!tlsdec_supported(0x0002, 0x0303), "NULL: no");
    CHECK(!tlsdec_supported(0x0041, 0x0303), "Camellia: no");
    CHECK(!tlsdec_supported(0x0004, 0x0303), "RC4-MD5: no");
    struct tlsdec a = {0}, b = {0};
    CHECK(tlsdec_init_tls12(&a, &b, 0x0303, 0x0005, false, master, 48, cr, sr) < 0 && a.mode == 0,
          "init refuses an unsupported suite");
    uint8_t sec[64] = {0};
    CHECK(tlsdec_init_tls13(&a, 0x1301, sec, 64) < 0, "a 64-byte TLS 1.3 secret is refused");
    uint8_t out[16], type;
    CHECK(tlsdec_record(&a, 23, 0x0303, out, 16, out, 16, &type) < 0, "no keys: no record");
}

int main(void)
{
    const struct cbc_suite aes128_sha = { 0x002F, EVP_aes_128_cbc(), "SHA1", 20, 16, 16, "SHA256" };
    const struct cbc_suite aes256_sha = { 0xC00A, EVP_aes_256_cbc(), "SHA1", 20, 32, 16, "SHA256" };
    const struct cbc_suite aes128_sha256 = { 0x003C, EVP_aes_128_cbc(), "SHA256", 32, 16, 16, "SHA256" };
    const struct cbc_suite aes256_sha384 = { 0xC024, EVP_aes_256_cbc(), "SHA384", 48, 32, 16, "SHA384" };
    const struct cbc_suite des3_sha = { 0x000A, EVP_des_ede3_cbc(), "SHA1", 20, 24, 8, "SHA256" };
    test_supported();
    for (int etm = 0; etm < 2; etm++) {
        test_cbc(&aes128_sha, 0x0303, etm);
        test_cbc(&aes256_sha, 0x0301, etm); /* TLS 1.0: chained IV */
        test_cbc(&aes256_sha, 0x0302, etm);
        test_cbc(&aes128_sha256, 0x0303, etm);
        test_cbc(&aes256_sha384, 0x0303, etm);
        test_cbc(&des3_sha, 0x0302, etm);
        test_cbc(&des3_sha, 0x0301, etm);
    }
    test_ccm12(0xC0AE, EVP_aes_128_ccm(), 16, 8);  /* ECDHE_ECDSA_AES_128_CCM_8 */
    test_ccm12(0xC0AD, EVP_aes_256_ccm(), 32, 16); /* ECDHE_ECDSA_AES_256_CCM */
    test_ccm12(0xC09C, EVP_aes_128_ccm(), 16, 16); /* RSA_AES_128_CCM */
    test_tls13(0x1304, EVP_aes_128_ccm(), true, 16, 16, "SHA256", 32);
    test_tls13(0x1305, EVP_aes_128_ccm(), true, 16, 8, "SHA256", 32);
    test_tls13(0x1301, EVP_aes_128_gcm(), false, 16, 16, "SHA256", 32);
    test_tls13(0x1302, EVP_aes_256_gcm(), false, 32, 16, "SHA384", 48);
    test_tls13(0x1303, EVP_chacha20_poly1305(), false, 32, 16, "SHA256", 32);
    return T_DONE();
}
