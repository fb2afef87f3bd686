/* On-demand trust store: see truststore.h. */
#include "truststore.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tentry {
    unsigned long hash; /* X509_NAME_hash_ex of the subject */
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

/* ------------------------------------------------------------- lookup */

/* OpenSSL asks for the certificates named `name` (an issuer it is looking
 * for, or X509_STORE_CTX_get1_certs): every bundle entry with that subject
 * hash is parsed and added to the store once, the first exact match is
 * returned. */
static int by_subject(X509_LOOKUP *lu, X509_LOOKUP_TYPE type, const X509_NAME *name, X509_OBJECT *ret)
{
    struct tindex *ix = X509_LOOKUP_get_method_data(lu);
    if (!ix || type != X509_LU_X509 || !name) return 0;
    int ok = 0;
    unsigned long h = X509_NAME_hash_ex(name, NULL, NULL, &ok);
    if (!ok) return 0;
    X509_STORE *store = X509_LOOKUP_get_store(lu);
    X509 *found = NULL;
    for (size_t i = 0; i < ix->n; i++) {
        struct tentry *e = &ix->e[i];
        if (e->hash != h) continue;
        if (!e->x) {
            const unsigned char *p = e->der;
            e->x = d2i_X509(NULL, &p, (long)e->len);
            if (!e->x) continue;
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

/* Base64 body [b, e) to DER (whitespace ignored). */
static unsigned char *pem_body(const char *b, const char *e, size_t *len)
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
        X509_NAME *nm = NULL;
        if (der && der_subject(der, dlen, &subj, &slen)) nm = d2i_X509_NAME(NULL, &subj, (long)slen);
        int hok = 0;
        unsigned long h = nm ? X509_NAME_hash_ex(nm, NULL, NULL, &hok) : 0;
        X509_NAME_free(nm);
        if (!hok) { /* a block OpenSSL would refuse too: skipped, like it */
            free(der);
            ERR_clear_error();
            continue;
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
        ix->e[ix->n++] = (struct tentry){ h, der, dlen, NULL };
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
