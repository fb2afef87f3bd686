/* Chain validation with libcrypto, at capture time, against a fixed trust
 * store. The verify callback accepts every error so that one pass sees all
 * problems (an expired AND untrusted chain reports both); the status is the
 * most useful one by a fixed priority: trust problems first (they decide
 * the client's alert), then validity period, then the host name.
 *
 * "chain_incomplete" vs "unknown_ca": OpenSSL reports "unable to get
 * (local) issuer" for the top certificate it could build to. When that is
 * the leaf (depth 0), the server sent no issuer for the leaf: a missing
 * intermediate (or, indistinguishably without AIA, a leaf issued directly by
 * an unknown root). When it is deeper, the server sent a chain up to a CA
 * whose root is not trusted: unknown CA. */
#include "certcheck.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uthash_keyed.h"

struct seen {
    char *key;
    unsigned char spki[32], leaf[32];
    char *issuer;
    UT_hash_handle hh;
};

struct certcheck {
    X509_STORE *store;
    char trust[512];
    struct seen *seen;
    size_t nseen, max_seen;
};

static const char *const status_names[] = {
    "ok", "expired", "not_yet_valid", "self_signed", "unknown_ca", "chain_incomplete",
    "hostname_mismatch", "bad_signature", "invalid", "malformed", "no_certificate",
};

const char *certcheck_status_name(enum certcheck_status s)
{
    return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "invalid";
}

struct certcheck *certcheck_new(const struct certcheck_opts *o, char *err, size_t errlen)
{
    struct certcheck *cc = calloc(1, sizeof *cc);
    if (!cc) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    cc->store = X509_STORE_new();
    if (!cc->store) {
        free(cc);
        snprintf(err, errlen, "X509_STORE_new failed");
        return NULL;
    }
    const char *file = o ? o->ca_file : NULL, *path = o ? o->ca_path : NULL;
    cc->max_seen = o && o->max_seen ? o->max_seen : 65536;
    if (file || path) {
        if (X509_STORE_load_locations(cc->store, file, path) != 1) {
            snprintf(err, errlen, "cannot load trust store %s%s%s", file ? file : "",
                     file && path ? " / " : "", path ? path : "");
            X509_STORE_free(cc->store);
            free(cc);
            return NULL;
        }
        snprintf(cc->trust, sizeof cc->trust, "%s%s%s", file ? file : "", file && path ? " + " : "",
                 path ? path : "");
    } else {
        X509_STORE_set_default_paths(cc->store);
        snprintf(cc->trust, sizeof cc->trust, "system");
    }
    return cc;
}

void certcheck_free(struct certcheck *cc)
{
    if (!cc) return;
    struct seen *s, *tmp;
    HASH_ITER(hh, cc->seen, s, tmp) {
        HASH_DEL(cc->seen, s);
        free(s->key);
        free(s->issuer);
        free(s);
    }
    X509_STORE_free(cc->store);
    free(cc);
}

/* Errors collected by the verify callback. */
struct vres {
    int first_err, first_depth;
    int expired, not_yet, self_signed_leaf, self_signed_chain, no_issuer_leaf, no_issuer_deeper;
    int bad_sig, other;
    int other_err;
    char errs[8][64];
    int nerrs;
};

static int vres_idx = -1;

static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
    if (ok) return 1;
    struct vres *r = X509_STORE_CTX_get_ex_data(ctx, vres_idx);
    int e = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    if (!r) return 0;
    if (!r->first_err) {
        r->first_err = e;
        r->first_depth = depth;
    }
    switch (e) {
    case X509_V_ERR_CERT_HAS_EXPIRED: r->expired = 1; break;
    case X509_V_ERR_CERT_NOT_YET_VALID: r->not_yet = 1; break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: r->self_signed_leaf = 1; break;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: r->self_signed_chain = 1; break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        if (depth == 0) r->no_issuer_leaf = 1;
        else r->no_issuer_deeper = 1;
        break;
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: r->no_issuer_leaf = 1; break;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: r->bad_sig = 1; break;
    case X509_V_ERR_CERT_UNTRUSTED: r->self_signed_chain = 1; break;
    default:
        r->other = 1;
        if (!r->other_err) r->other_err = e;
        break;
    }
    if (r->nerrs < 8) {
        int dup = 0;
        const char *s = X509_verify_cert_error_string(e);
        for (int i = 0; i < r->nerrs; i++)
            if (strcmp(r->errs[i], s) == 0) dup = 1;
        if (!dup) snprintf(r->errs[r->nerrs++], sizeof r->errs[0], "%s", s);
    }
    return 1; /* keep going: collect every problem */
}

/* A name as the certificate summaries print it (RFC 2253 one-line), so
 * "previous issuer" and "issuer" read alike. Heap string, or NULL. */
static char *name_rfc2253(X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return NULL;
    unsigned long fl = XN_FLAG_RFC2253 & ~(unsigned long)ASN1_STRFLGS_ESC_MSB;
    char *out = NULL;
    if (X509_NAME_print_ex(b, n, 0, fl) >= 0) {
        char *data = NULL;
        long len = BIO_get_mem_data(b, &data);
        out = malloc((size_t)(len > 0 ? len : 0) + 1);
        if (out) {
            if (len > 0) memcpy(out, data, (size_t)len);
            out[len > 0 ? len : 0] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

static void put(struct value *facts, struct value *v)
{
    if (facts) value_obj_set(facts, "server_cert_validation", v);
    else value_free(v);
}

enum certcheck_status certcheck_chain(struct certcheck *cc, const uint8_t *const *ders,
                                      const size_t *lens, size_t n, const char *sni,
                                      int64_t at_time, struct value *facts_out)
{
    struct value *v = value_obj();
    value_set_str(v, "trust_store", cc->trust);
    value_set_int(v, "at_time", at_time ? at_time : (int64_t)time(NULL));
    if (n == 0 || !ders || !ders[0]) {
        value_set_str(v, "status", "no_certificate");
        put(facts_out, v);
        return CC_NO_CERT;
    }
    const unsigned char *p = ders[0];
    X509 *leaf = d2i_X509(NULL, &p, (long)lens[0]);
    if (!leaf) {
        value_set_str(v, "status", "malformed");
        value_set_str(v, "error", "leaf certificate does not parse");
        put(facts_out, v);
        return CC_MALFORMED;
    }
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    for (size_t i = 1; i < n && untrusted; i++) {
        const unsigned char *q = ders[i];
        X509 *x = d2i_X509(NULL, &q, (long)lens[i]);
        if (x && !sk_X509_push(untrusted, x)) X509_free(x);
    }
    if (vres_idx < 0) vres_idx = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    struct vres r;
    memset(&r, 0, sizeof r);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ran = 0;
    if (ctx && X509_STORE_CTX_init(ctx, cc->store, leaf, untrusted) == 1) {
        X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_time(param, at_time ? (time_t)at_time : time(NULL));
        X509_STORE_CTX_set_ex_data(ctx, vres_idx, &r);
        X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
        X509_verify_cert(ctx);
        ran = 1;
        STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
        value_set_int(v, "depth", chain ? sk_X509_num(chain) - 1 : 0);
    }
    X509_STORE_CTX_free(ctx);

    /* Host name, RFC 6125: SAN dNSName (CN only without SANs), wildcard only
     * as the whole left-most label, matching exactly one label. */
    int host = -1;
    if (sni && *sni) {
        size_t sl = strlen(sni);
        if (sl > 1 && sni[sl - 1] == '.') sl--; /* absolute name "host." */
        host = X509_check_host(leaf, sni, sl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
    }
    /* A lone self-issued leaf whose signature libcrypto cannot check (an
     * algorithm it doesn't know, e.g. ML-DSA in OpenSSL 3.0) reads as
     * "unable to get local issuer": it is self-signed, not an incomplete
     * chain. */
    if (ran && r.no_issuer_leaf && n == 1 &&
        X509_NAME_cmp(X509_get_subject_name(leaf), X509_get_issuer_name(leaf)) == 0) {
        r.no_issuer_leaf = 0;
        r.self_signed_leaf = 1;
    }
    /* Validity from the leaf's own dates too: verification can stop before
     * it looks at them. */
    time_t at = at_time ? (time_t)at_time : time(NULL);
    if (X509_cmp_time(X509_get0_notBefore(leaf), &at) > 0) r.not_yet = 1;
    if (X509_cmp_time(X509_get0_notAfter(leaf), &at) < 0) r.expired = 1;
    int trust_err = r.self_signed_leaf || r.self_signed_chain || r.no_issuer_leaf || r.no_issuer_deeper;
    enum certcheck_status st;
    if (!ran) st = CC_INVALID;
    else if (r.self_signed_leaf) st = CC_SELF_SIGNED;
    else if (r.no_issuer_leaf) st = CC_CHAIN_INCOMPLETE;
    else if (r.self_signed_chain || r.no_issuer_deeper) st = CC_UNKNOWN_CA;
    else if (r.expired) st = CC_EXPIRED;
    else if (r.not_yet) st = CC_NOT_YET_VALID;
    else if (r.bad_sig) st = CC_BAD_SIGNATURE;
    else if (r.other) st = CC_INVALID;
    else if (host == 0) st = CC_HOSTNAME_MISMATCH;
    else st = CC_OK;
    value_set_str(v, "status", certcheck_status_name(st));
    if (r.first_err) {
        value_set_str(v, "error", X509_verify_cert_error_string(r.first_err));
        value_set_int(v, "error_code", r.first_err);
    } else {
        value_obj_set(v, "error", value_null());
    }
    struct value *errs = value_arr();
    for (int i = 0; i < r.nerrs; i++) value_arr_push_str(errs, r.errs[i]);
    value_obj_set(v, "errors", errs);
    value_set_bool(v, "trusted_root", ran && !trust_err);
    value_set_bool(v, "chain_complete", ran && !r.no_issuer_leaf);
    value_set_bool(v, "time_valid", ran && !r.expired && !r.not_yet);
    if (host < 0) value_obj_set(v, "hostname_match", value_null());
    else value_set_bool(v, "hostname_match", host);
    put(facts_out, v);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(leaf);
    return st;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[d[i] >> 4];
        out[2 * i + 1] = h[d[i] & 15];
    }
    out[2 * n] = '\0';
}

int certcheck_seen(struct certcheck *cc, const char *key, const uint8_t *leaf_der, size_t len,
                   struct value *facts_out)
{
    const unsigned char *p = leaf_der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x) return -1;
    unsigned char spki[32], leaf[32];
    unsigned int dl = 0;
    X509_pubkey_digest(x, EVP_sha256(), spki, &dl);
    EVP_Digest(leaf_der, len, leaf, &dl, EVP_sha256(), NULL);
    char *issuer = name_rfc2253(X509_get_issuer_name(x));
    X509_free(x);
    if (!issuer) return -1;
    struct seen *s = NULL;
    size_t kl = strlen(key);
    HASH_FIND(hh, cc->seen, key, kl, s);
    int changed = 0;
    if (!s) {
        if (cc->nseen < cc->max_seen) {
            s = calloc(1, sizeof *s);
            if (s) {
                s->key = strdup(key);
                if (!s->key) {
                    free(s);
                    s = NULL;
                } else {
                    memcpy(s->spki, spki, 32);
                    memcpy(s->leaf, leaf, 32);
                    s->issuer = issuer;
                    issuer = NULL;
                    HASH_ADD_KEYPTR(hh, cc->seen, s->key, kl, s);
                    cc->nseen++;
                }
            }
        }
    } else if (memcmp(s->spki, spki, 32) != 0 || strcmp(s->issuer, issuer) != 0) {
        changed = 1;
        char h[65];
        hex(s->leaf, 32, h);
        if (facts_out) {
            value_set_str(facts_out, "server_cert_previous_sha256", h);
            value_set_str(facts_out, "server_cert_previous_issuer", s->issuer);
        }
        /* remember the latest, so a flip back is reported too */
        memcpy(s->spki, spki, 32);
        memcpy(s->leaf, leaf, 32);
        free(s->issuer);
        s->issuer = issuer;
        issuer = NULL;
    }
    free(issuer);
    if (facts_out) value_set_bool(facts_out, "server_cert_changed", changed);
    return changed;
}
