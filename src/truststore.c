/* On-demand trust store: see truststore.h. */
#include "truststore.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tentry {
    uint64_t key;  /* name_key of the subject */
    int keyed;     /* 0: no key could be made: a candidate for every name */
    int bad;       /* OpenSSL could not parse it */
    unsigned char *der;
    size_t len;
    X509 *x; /* parsed (and added to the store) once asked for */
};

struct tindex {
    struct tentry *e;
    size_t n;
};

static size_t g_parsed, g_held;

size_t truststore_parsed(void) { return g_parsed; }
size_t truststore_held(void) { return g_held; }

/* ---------------------------------------------------------------- DER */

/* One TLV at *p (< end): its tag, content and total length. 0 on error. */
static int der_tlv(const unsigned char *p, const unsigned char *end, unsigned *tag,
                   const unsigned char **content, size_t *clen, size_t *total)
{
    if (end - p < 2) return 0;
    *tag = p[0];
    size_t hl = 2, len = p[1];
    if (len & 0x80) {
        size_t nb = len & 0x7f;
        if (nb == 0 || nb > 4 || (size_t)(end - p) < 2 + nb) return 0;
        len = 0;
        for (size_t i = 0; i < nb; i++) len = len << 8 | p[2 + i];
        hl += nb;
    }
    if (len > (size_t)(end - p) - hl) return 0;
    *content = p + hl;
    *clen = len;
    *total = hl + len;
    return 1;
}

/* The subject Name (whole TLV) of a certificate's DER, without parsing the
 * rest: Certificate { tbsCertificate { [0] version?, serialNumber,
 * signature, issuer, validity, subject, ... }, ... }. */
static int der_subject(const unsigned char *der, size_t len, const unsigned char **subj, size_t *slen)
{
    const unsigned char *end = der + len, *c, *tbs;
    size_t cl, tl, tot;
    unsigned tag;
    if (!der_tlv(der, end, &tag, &c, &cl, &tot) || tag != 0x30) return 0;
    if (!der_tlv(c, c + cl, &tag, &tbs, &tl, &tot) || tag != 0x30) return 0;
    const unsigned char *p = tbs, *tend = tbs + tl;
    if (p < tend && p[0] == 0xa0) { /* version */
        if (!der_tlv(p, tend, &tag, &c, &cl, &tot)) return 0;
        p += tot;
    }
    for (int i = 0; i < 4; i++) { /* serial, signature, issuer, validity */
        if (!der_tlv(p, tend, &tag, &c, &cl, &tot)) return 0;
        p += tot;
    }
    if (!der_tlv(p, tend, &tag, &c, &cl, &tot) || tag != 0x30) return 0;
    *subj = p;
    *slen = tot;
    return 1;
}

/* A key of a Name that two names OpenSSL finds equal always share: a hash
 * of what X509_NAME_cmp compares (the canonical encoding, x509_name_canon)
 * with every white-space character removed. Canonical encoding turns the
 * string types into UTF-8, lowercases ASCII letters and strips and
 * collapses ASCII white space; removing it all makes the key a function of
 * the canonical form, so equal canonical forms give equal keys (unequal
 * keys prove the names differ, and equal keys are checked with
 * X509_NAME_cmp). Made from the DER with no OpenSSL parse: indexing the
 * Debian bundle with d2i_X509_NAME and X509_NAME_hash_ex (which fetches
 * SHA-1 on each call) took 14 M instructions of every start-up. 0 when
 * the Name holds something this does not decode (then every lookup tries
 * the entry, as X509_NAME_cmp decides). */
static void key_byte(uint64_t *h, unsigned b) { *h = (*h ^ (b & 0xff)) * 0x100000001b3ull; }

static void key_cp(uint64_t *h, uint32_t cp)
{
    if (cp < 0x80) {
        if (cp == ' ' || (cp >= '\t' && cp <= '\r')) return;
        if (cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
        key_byte(h, cp);
    } else if (cp < 0x800) {
        key_byte(h, 0xc0 | cp >> 6);
        key_byte(h, 0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        key_byte(h, 0xe0 | cp >> 12);
        key_byte(h, 0x80 | (cp >> 6 & 0x3f));
        key_byte(h, 0x80 | (cp & 0x3f));
    } else {
        key_byte(h, 0xf0 | cp >> 18);
        key_byte(h, 0x80 | (cp >> 12 & 0x3f));
        key_byte(h, 0x80 | (cp >> 6 & 0x3f));
        key_byte(h, 0x80 | (cp & 0x3f));
    }
}

/* One attribute value into the key. 0: not decodable. */
static int key_value(uint64_t *h, unsigned tag, const unsigned char *p, size_t n)
{
    size_t i = 0;
    switch (tag) {
    case 0x0c: /* UTF8String: decoded and re-encoded (canonical form is UTF-8) */
        key_byte(h, 'U');
        while (i < n) {
            unsigned c = p[i];
            uint32_t cp;
            size_t k;
            if (c < 0x80) { cp = c; k = 1; }
            else if (c >= 0xc2 && c < 0xe0) { cp = c & 0x1f; k = 2; }
            else if (c >= 0xe0 && c < 0xf0) { cp = c & 0x0f; k = 3; }
            else if (c >= 0xf0 && c < 0xf5) { cp = c & 0x07; k = 4; }
            else return 0;
            if (i + k > n) return 0;
            for (size_t m = 1; m < k; m++) {
                if ((p[i + m] & 0xc0) != 0x80) return 0;
                cp = cp << 6 | (p[i + m] & 0x3f);
            }
            /* overlong forms and values past U+10FFFF: OpenSSL refuses
             * the name (its d2i then decides, at attach) */
            if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
            key_cp(h, cp);
            i += k;
        }
        return 1;
    case 0x13: case 0x14: case 0x16: case 0x1a: /* Printable, T61, IA5, Visible: one byte each */
        key_byte(h, 'U');
        for (; i < n; i++) key_cp(h, p[i]);
        return 1;
    case 0x1e: /* BMPString */
        if (n % 2) return 0;
        key_byte(h, 'U');
        for (; i < n; i += 2) key_cp(h, (uint32_t)p[i] << 8 | p[i + 1]);
        return 1;
    case 0x1c: /* UniversalString */
        if (n % 4) return 0;
        key_byte(h, 'U');
        for (; i < n; i += 4) {
            uint32_t cp = (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 | p[i + 3];
            if (cp > 0x10ffff) return 0; /* not UTF-8: OpenSSL refuses it */
            key_cp(h, cp);
        }
        return 1;
    default: /* kept as it is by the canonical form, type included */
        key_byte(h, 'T');
        key_byte(h, tag);
        for (; i < n; i++) key_byte(h, p[i]);
        return 1;
    }
}

/* name: the whole Name TLV. */
static int name_key(const unsigned char *name, size_t len, uint64_t *key)
{
    const unsigned char *end = name + len, *c, *rdn, *atv, *v;
    size_t cl, rl, al, vl, tot;
    unsigned tag;
    uint64_t h = 0xcbf29ce484222325ull;
    if (!der_tlv(name, end, &tag, &c, &cl, &tot) || tag != 0x30 || tot != len) return 0;
    for (const unsigned char *p = c, *pe = c + cl; p < pe; p += tot) {
        if (!der_tlv(p, pe, &tag, &rdn, &rl, &tot) || tag != 0x31) return 0;
        size_t rtot = tot;
        for (const unsigned char *q = rdn, *qe = rdn + rl; q < qe; q += tot) {
            if (!der_tlv(q, qe, &tag, &atv, &al, &tot) || tag != 0x30) return 0;
            size_t atot = tot;
            const unsigned char *ae = atv + al;
            if (!der_tlv(atv, ae, &tag, &v, &vl, &tot) || tag != 0x06) return 0;
            key_byte(&h, 'O');
            key_byte(&h, (unsigned)vl);
            for (size_t i = 0; i < vl; i++) key_byte(&h, v[i]);
            const unsigned char *val = atv + tot;
            if (!der_tlv(val, ae, &tag, &v, &vl, &tot) || val + tot != ae) return 0;
            if (!key_value(&h, tag, v, vl)) return 0;
            tot = atot;
        }
        tot = rtot;
    }
    *key = h;
    return 1;
}

/* ------------------------------------------------------------- lookup */

/* OpenSSL asks for the certificates named `name` (an issuer it is looking
 * for, or X509_STORE_CTX_get1_certs): every bundle entry that may bear
 * that name (same name_key, or none) is parsed and added to the store
 * once, the first exact match (X509_NAME_cmp) is returned. */
static int by_subject(X509_LOOKUP *lu, X509_LOOKUP_TYPE type, const X509_NAME *name, X509_OBJECT *ret)
{
    struct tindex *ix = X509_LOOKUP_get_method_data(lu);
    if (!ix || type != X509_LU_X509 || !name) return 0;
    const unsigned char *der = NULL;
    size_t dlen = 0;
    uint64_t key = 0;
    int keyed = X509_NAME_get0_der(name, &der, &dlen) == 1 && name_key(der, dlen, &key);
    X509_STORE *store = X509_LOOKUP_get_store(lu);
    X509 *found = NULL;
    for (size_t i = 0; i < ix->n; i++) {
        struct tentry *e = &ix->e[i];
        if (keyed && e->keyed && e->key != key) continue;
        if (!e->x) {
            if (e->bad) continue;
            const unsigned char *p = e->der;
            e->x = d2i_X509(NULL, &p, (long)e->len);
            if (!e->x) {
                e->bad = 1;
                ERR_clear_error();
                continue;
            }
            g_parsed++;
            X509_STORE_add_cert(store, e->x); /* the store takes its own reference */
            ERR_clear_error();                /* "cert already in hash table" */
        }
        if (!found && X509_NAME_cmp(X509_get_subject_name(e->x), name) == 0) found = e->x;
    }
    if (!found || !X509_OBJECT_set1_X509(ret, found)) return 0;
    /* A lookup hands its object over without a reference (OpenSSL's
     * by_dir copies the store's pointer; X509_STORE_CTX_get_by_subject
     * takes its own): drop the one set1 took. The store and the index
     * keep the certificate alive. */
    X509_free(found);
    return 1;
}

static void index_free(X509_LOOKUP *lu)
{
    struct tindex *ix = X509_LOOKUP_get_method_data(lu);
    if (!ix) return;
    for (size_t i = 0; i < ix->n; i++) {
        X509_free(ix->e[i].x);
        free(ix->e[i].der);
    }
    g_held -= ix->n;
    free(ix->e);
    free(ix);
    X509_LOOKUP_set_method_data(lu, NULL);
}

static X509_LOOKUP_METHOD *method(void)
{
    static X509_LOOKUP_METHOD *m;
    if (!m) {
        m = X509_LOOKUP_meth_new("tlswatch in-memory bundle");
        if (!m) return NULL;
        X509_LOOKUP_meth_set_get_by_subject(m, by_subject);
        X509_LOOKUP_meth_set_free(m, index_free);
    }
    return m;
}

/* ---------------------------------------------------------------- PEM */

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, fp);
        n += r;
        if (n < cap) break;
        if (cap > ((size_t)64 << 20)) { /* no bundle is this large */
            free(b);
            b = NULL;
            break;
        }
        char *nb = realloc(b, cap * 2 + 1);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int err = ferror(fp);
    fclose(fp);
    if (!b || err) {
        free(b);
        return NULL;
    }
    b[n] = '\0';
    *len = n;
    return b;
}

static const char BEGIN_CERT[] = "-----BEGIN CERTIFICATE-----";
static const char END_CERT[] = "-----END CERTIFICATE-----";

/* Base64 body [b, e) to DER (whitespace ignored) with OpenSSL's decoder. */
static unsigned char *pem_body_evp(const char *b, const char *e, size_t *len)
{
    size_t n = (size_t)(e - b);
    unsigned char *out = malloc(n / 4 * 3 + 3);
    if (!out) return NULL;
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int o1 = 0, o2 = 0;
    int ok = ctx != NULL;
    if (ok) {
        EVP_DecodeInit(ctx);
        ok = EVP_DecodeUpdate(ctx, out, &o1, (const unsigned char *)b, (int)n) >= 0 &&
             EVP_DecodeFinal(ctx, out + o1, &o2) == 1;
    }
    EVP_ENCODE_CTX_free(ctx);
    if (!ok || o1 + o2 <= 0) {
        free(out);
        return NULL;
    }
    *len = (size_t)(o1 + o2);
    return out;
}

/* The same for the plain case (base64 lines, '=' padding only at the end),
 * with a table: EVP_DecodeUpdate took 5.8 M instructions of every start-up
 * for the Debian bundle. Anything else goes to OpenSSL's decoder. */
static unsigned char *pem_body(const char *b, const char *e, size_t *len)
{
    static signed char val[256];
    static int ready;
    if (!ready) {
        memset(val, -1, sizeof val);
        const char *al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 64; i++) val[(unsigned char)al[i]] = (signed char)i;
        val[' '] = val['\t'] = val['\r'] = val['\n'] = -2;
        val['='] = -3;
        ready = 1;
    }
    size_t n = (size_t)(e - b);
    unsigned char *out = malloc(n / 4 * 3 + 3);
    if (!out) return NULL;
    size_t o = 0;
    uint32_t acc = 0;
    int k = 0, pad = 0;
    for (const unsigned char *p = (const unsigned char *)b; p < (const unsigned char *)e; p++) {
        int v = val[*p];
        if (v == -2) continue;
        if (v == -3) {
            pad++;
            continue;
        }
        if (v < 0 || pad) goto slow; /* a character of no base64, or data after '=' */
        acc = acc << 6 | (uint32_t)v;
        if (++k == 4) {
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
            acc = 0;
            k = 0;
        }
    }
    if (k + pad != 0 && k + pad != 4) goto slow;
    if (pad > 2 || (pad && k < 2)) goto slow;
    if (k == 2) out[o++] = (unsigned char)(acc >> 4);
    else if (k == 3) {
        out[o++] = (unsigned char)(acc >> 10);
        out[o++] = (unsigned char)(acc >> 2);
    }
    if (o == 0) goto slow;
    *len = o;
    return out;
slow:
    free(out);
    return pem_body_evp(b, e, len);
}

int truststore_attach(X509_STORE *store, const char *file, const EVP_MD *sha256, const char *label,
                      unsigned char id[32], char *err, size_t errlen)
{
    size_t flen = 0;
    char *text = read_file(file, &flen);
    if (!text) {
        snprintf(err, errlen, "cannot read trust store %s", file);
        return -1;
    }
    struct tindex *ix = calloc(1, sizeof *ix);
    size_t cap = 0;
    int rc = 1;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!ix || !c || EVP_DigestInit_ex(c, sha256, NULL) != 1) rc = -1;
    if (rc == 1) EVP_DigestUpdate(c, label, strlen(label) + 1);
    for (const char *p = text; rc == 1 && (p = strstr(p, "-----BEGIN ")) != NULL;) {
        if (strncmp(p, BEGIN_CERT, sizeof BEGIN_CERT - 1) != 0) {
            rc = 0; /* another kind of block: OpenSSL loads those */
            break;
        }
        const char *body = p + sizeof BEGIN_CERT - 1, *end = strstr(body, END_CERT);
        if (!end) {
            rc = 0;
            break;
        }
        p = end + sizeof END_CERT - 1;
        size_t dlen = 0;
        unsigned char *der = pem_body(body, end, &dlen);
        const unsigned char *subj = NULL;
        size_t slen = 0;
        uint64_t key = 0;
        if (!der || !der_subject(der, dlen, &subj, &slen)) { /* OpenSSL would refuse it too: skipped */
            free(der);
            continue;
        }
        int keyed = name_key(subj, slen, &key);
        if (!keyed) { /* skipped too when OpenSSL cannot parse the name, as before */
            X509_NAME *nm = d2i_X509_NAME(NULL, &subj, (long)slen);
            ERR_clear_error();
            if (!nm) {
                free(der);
                continue;
            }
            X509_NAME_free(nm);
        }
        if (ix->n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            struct tentry *ne = realloc(ix->e, ncap * sizeof *ne);
            if (!ne) {
                free(der);
                rc = -1;
                break;
            }
            ix->e = ne;
            cap = ncap;
        }
        ix->e[ix->n++] = (struct tentry){ key, keyed, 0, der, dlen, NULL };
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned int dl = 0;
        if (EVP_Digest(der, dlen, d, &dl, sha256, NULL) == 1) EVP_DigestUpdate(c, d, dl);
    }
    free(text);
    unsigned int l = 0;
    if (rc == 1 && ix->n == 0) {
        snprintf(err, errlen, "no certificate in trust store %s", file);
        rc = -1;
    }
    if (rc == 1 && EVP_DigestFinal_ex(c, id, &l) != 1) rc = -1;
    EVP_MD_CTX_free(c);
    X509_LOOKUP *lu = NULL;
    if (rc == 1) {
        X509_LOOKUP_METHOD *m = method();
        lu = m ? X509_STORE_add_lookup(store, m) : NULL;
        if (!lu || !X509_LOOKUP_set_method_data(lu, ix)) rc = -1;
    }
    if (rc == 1) {
        g_held += ix->n;
        return 1;
    }
    if (ix) {
        for (size_t i = 0; i < ix->n; i++) free(ix->e[i].der);
        free(ix->e);
        free(ix);
    }
    if (rc < 0 && !*err) snprintf(err, errlen, "cannot load trust store %s", file);
    ERR_clear_error();
    return rc;
}
