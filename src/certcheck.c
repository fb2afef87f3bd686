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
 * whose root is not trusted: unknown CA.
 *
 * Verdict cache. A verdict is a function of: the certificates sent, in
 * order (each one's SHA-256 goes into the key; a reordered or extra
 * certificate is another key), the SNI (hostname_match), the trust store
 * (its identity: the label plus the SHA-256 of every certificate of the
 * bundle, or of the store loaded in memory), and the validation time. Nothing else is configurable per call
 * (no CRLs, no AIA, default verify parameters), so that is the whole key.
 *
 * Time is the delicate part. Keying by the exact second would make the
 * cache useless on real traffic (the same chain is seen every few seconds,
 * rarely twice in one second). Instead the key holds the capture day
 * (at_time / 86400, so the key names the day it was judged for and a live
 * sensor's entries of past days age out through the LRU), and each entry
 * holds the window [lo, hi) of validation times over which the verdict is
 * provably the same: time enters verification only through comparisons of
 * at_time with the notBefore/notAfter of certificates (valid iff notBefore
 * <= t < notAfter... strictly "not before > t" and "not after <= t" in
 * OpenSSL's x509_check_cert_time), so the verdict is constant between two
 * consecutive such dates. The dates taken are those of every certificate
 * that could have been looked at: the ones sent, the chain built (with
 * the trust anchor), and every trust store certificate whose subject is
 * the issuer or subject of one of those -- OpenSSL's issuer lookup prefers
 * a candidate that is valid at the time, so a cross-signed or renewed root
 * expiring within the day could change the path built, not just its dates.
 * Each date d adds the boundaries d and d + 1 (fractional seconds of a
 * GeneralizedTime fall inside [d, d + 1)). A lookup whose at_time falls
 * outside the entry's window is a miss: the chain is verified again and the
 * entry replaced. So a hit is exactly what a fresh verification would say,
 * including a certificate expiring in the middle of the day.
 *
 * With --ca-path, OpenSSL reads the hashed directory lazily: a certificate
 * added to it while tlswatch runs is not seen by cached verdicts (nor, in
 * general, by OpenSSL's own in-memory copy of the files it already read). */
#include "certcheck.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "truststore.h"
#include "uthash_keyed.h"

/* Issuer names longer than this are not kept in a cache entry (the leaf is
 * parsed again for certcheck_seen): entries stay small whatever the wire
 * carries. */
#define CC_CACHED_ISSUER_MAX 1024

struct seen {
    char *key;
    unsigned char spki[32], leaf[32];
    char *issuer;
    int trusted; /* the chain verified: 1, did not: 0, not known: -1 */
    UT_hash_handle hh;
};

/* What certcheck_seen needs of the leaf. */
struct leafinfo {
    unsigned char sha256[32], spki[32];
    char *issuer; /* RFC 2253; NULL: unknown */
};

struct centry {
    unsigned char key[32];
    struct certcheck_verdict v; /* at_time not used */
    int64_t lo, hi;             /* v holds for validation times in [lo, hi) */
    struct leafinfo leaf;       /* leaf.issuer owned, may be NULL */
    struct centry *newer, *older;
    UT_hash_handle hh;
};

struct certcheck {
    X509_STORE *store;
    char trust[512];
    unsigned char trust_id[32];
    struct seen *seen;
    size_t nseen, max_seen;
    struct centry *cache, *mru, *lru;
    size_t max_cache; /* 0: no cache */
    struct certcheck_stats st;
    const EVP_MD *md; /* SHA-256 (digest.c: fetched once for the process) */
    EVP_MD_CTX *outer, *inner;
};

const char *certcheck_status_name(enum certcheck_status s)
{
    const char *n = facts_enum_name(EN_CERTSTATUS, (int)s); /* the facts' table */
    return n ? n : "invalid";
}

static void sha256_into(EVP_MD_CTX *c, const EVP_MD *md, const void *d, size_t n, unsigned char out[32])
{
    unsigned int l = 0;
    if (EVP_DigestInit_ex(c, md, NULL) != 1 || EVP_DigestUpdate(c, d, n) != 1 ||
        EVP_DigestFinal_ex(c, out, &l) != 1)
        memset(out, 0, 32);
}

/* The trust store's identity: its label, and for a store held in memory
 * every certificate in it. */
static void trust_identity(struct certcheck *cc)
{
    EVP_MD_CTX *c = cc->outer;
    unsigned int l = 0;
    EVP_DigestInit_ex(c, cc->md, NULL);
    EVP_DigestUpdate(c, cc->trust, strlen(cc->trust) + 1);
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(cc->store);
    for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
        X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        unsigned char h[EVP_MAX_MD_SIZE];
        unsigned int hl = 0;
        if (x && X509_digest(x, cc->md, h, &hl) == 1) EVP_DigestUpdate(c, h, hl);
    }
    if (EVP_DigestFinal_ex(c, cc->trust_id, &l) != 1) memset(cc->trust_id, 0, sizeof cc->trust_id);
}

struct certcheck *certcheck_new(const struct certcheck_opts *o, char *err, size_t errlen)
{
    struct certcheck *cc = calloc(1, sizeof *cc);
    if (!cc) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    cc->store = X509_STORE_new();
    cc->md = digest_sha256();
    cc->outer = EVP_MD_CTX_new();
    cc->inner = EVP_MD_CTX_new();
    if (!cc->store || !cc->md || !cc->outer || !cc->inner) {
        certcheck_free(cc);
        snprintf(err, errlen, "libcrypto initialisation failed");
        return NULL;
    }
    const char *file = o ? o->ca_file : NULL, *path = o ? o->ca_path : NULL;
    cc->max_seen = o && o->max_seen ? o->max_seen : 65536;
    cc->max_cache = CERTCHECK_CACHE_DEFAULT;
    if (file || path) {
        snprintf(cc->trust, sizeof cc->trust, "%s%s%s", file ? file : "", file && path ? " + " : "",
                 path ? path : "");
        int lazy = 0;
        if (file && !path) {
            err[0] = '\0';
            lazy = truststore_attach(cc->store, file, cc->md, cc->trust, cc->trust_id, err, errlen);
            if (lazy < 0) {
                certcheck_free(cc);
                return NULL;
            }
        }
        if (!lazy) {
            if (X509_STORE_load_locations(cc->store, file, path) != 1) {
                snprintf(err, errlen, "cannot load trust store %s%s%s", file ? file : "",
                         file && path ? " / " : "", path ? path : "");
                certcheck_free(cc);
                return NULL;
            }
            trust_identity(cc);
        }
    } else {
        /* The system store as OpenSSL's default paths define it, but the
         * bundle file only, held in memory and parsed on demand
         * (truststore.h): the hashed directory costs a directory scan and
         * file opens on every verification. $SSL_CERT_DIR alone (no
         * $SSL_CERT_FILE) asks for a directory: then, and when the bundle
         * is missing, the default paths. */
        snprintf(cc->trust, sizeof cc->trust, "system");
        const char *envf = getenv(X509_get_default_cert_file_env());
        const char *envd = getenv(X509_get_default_cert_dir_env());
        const char *bundle = envf && *envf ? envf : X509_get_default_cert_file();
        int loaded = 0;
        if (!(envd && *envd && !(envf && *envf)) && bundle && access(bundle, R_OK) == 0) {
            char e2[256] = "";
            loaded = truststore_attach(cc->store, bundle, cc->md, cc->trust, cc->trust_id, e2, sizeof e2) == 1;
            if (!loaded) {
                loaded = X509_STORE_load_file(cc->store, bundle) == 1;
                if (loaded) trust_identity(cc);
            }
        }
        if (!loaded) {
            X509_STORE_set_default_paths(cc->store);
            trust_identity(cc);
        }
        ERR_clear_error();
    }
    return cc;
}

static void centry_free(struct centry *e)
{
    free(e->leaf.issuer);
    free(e);
}

static void seen_free(struct certcheck *cc, struct seen *s)
{
    HASH_DEL(cc->seen, s);
    cc->st.seen_entries = --cc->nseen;
    free(s->key);
    free(s->issuer);
    free(s);
}

void certcheck_free(struct certcheck *cc)
{
    if (!cc) return;
    while (cc->seen) seen_free(cc, cc->seen);
    struct centry *e, *etmp;
    HASH_ITER(hh, cc->cache, e, etmp) {
        HASH_DEL(cc->cache, e);
        centry_free(e);
    }
    X509_STORE_free(cc->store);
    EVP_MD_CTX_free(cc->outer);
    EVP_MD_CTX_free(cc->inner);
    free(cc);
}

const struct certcheck_stats *certcheck_stats(const struct certcheck *cc)
{
    return &cc->st;
}

/* Errors collected by the verify callback. */
struct vres {
    int first_err, first_depth;
    int expired, not_yet, self_signed_leaf, self_signed_chain, no_issuer_leaf, no_issuer_deeper;
    int bad_sig, other;
    int other_err;
    int errs[CERTCHECK_MAX_ERRORS];
    int nerrs;
};

static int vres_idx = -1;

/* An error's string as the facts print it (at most 63 bytes). */
static void err_str(int e, char out[64])
{
    snprintf(out, 64, "%s", X509_verify_cert_error_string(e));
}

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
    if (r->nerrs < CERTCHECK_MAX_ERRORS) {
        int dup = 0;
        char s[64], t[64];
        err_str(e, s);
        for (int i = 0; i < r->nerrs && !dup; i++) {
            err_str(r->errs[i], t);
            if (strcmp(t, s) == 0) dup = 1;
        }
        if (!dup) r->errs[r->nerrs++] = e;
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

/* ------------------------------------------------------------ time window */

struct window {
    int64_t at, lo, hi; /* the verdict holds on [lo, hi) */
    bool bad;           /* a date did not convert: do not cache */
};

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void window_point(struct window *w, int64_t b)
{
    if (b <= w->at) {
        if (b > w->lo) w->lo = b;
    } else if (b < w->hi) {
        w->hi = b;
    }
}

static void window_time(struct window *w, const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        w->bad = true;
        return;
    }
    int64_t s = days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) * 86400 +
                tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    window_point(w, s);
    window_point(w, s + 1);
}

static void window_cert(struct window *w, X509 *x)
{
    window_time(w, X509_get0_notBefore(x));
    window_time(w, X509_get0_notAfter(x));
}

/* Store certificates named nm (candidates OpenSSL may have weighed). */
static void window_store(struct window *w, X509_STORE_CTX *ctx, const X509_NAME *nm)
{
    STACK_OF(X509) *sk = X509_STORE_CTX_get1_certs(ctx, nm);
    for (int i = 0; i < sk_X509_num(sk); i++) window_cert(w, sk_X509_value(sk, i));
    sk_X509_pop_free(sk, X509_free);
    ERR_clear_error();
}

static void window_around(struct window *w, X509_STORE_CTX *ctx, X509 *x)
{
    window_cert(w, x);
    window_store(w, ctx, X509_get_issuer_name(x));
    window_store(w, ctx, X509_get_subject_name(x));
}

/* ------------------------------------------------------------------ cache */

static void lru_unlink(struct certcheck *cc, struct centry *e)
{
    if (e->newer) e->newer->older = e->older;
    else cc->mru = e->older;
    if (e->older) e->older->newer = e->newer;
    else cc->lru = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(struct certcheck *cc, struct centry *e)
{
    e->newer = NULL;
    e->older = cc->mru;
    if (cc->mru) cc->mru->newer = e;
    cc->mru = e;
    if (!cc->lru) cc->lru = e;
}

static void cache_drop(struct certcheck *cc, struct centry *e)
{
    lru_unlink(cc, e);
    HASH_DEL(cc->cache, e);
    centry_free(e);
    cc->st.cache_entries--;
}

void certcheck_set_cache(struct certcheck *cc, size_t entries)
{
    cc->max_cache = entries == CERTCHECK_CACHE_OFF ? 0 : entries ? entries : CERTCHECK_CACHE_DEFAULT;
    while (cc->st.cache_entries > cc->max_cache && cc->lru) cache_drop(cc, cc->lru);
}

/* The key: SHA-256 over each certificate's SHA-256 in order, the SNI, the
 * trust store identity and the day. leaf_sha256 gets ders[0]'s hash. */
static void cache_key(struct certcheck *cc, const uint8_t *const *ders, const size_t *lens, size_t n,
                      const char *sni, int64_t day, unsigned char key[32], unsigned char leaf_sha256[32])
{
    EVP_MD_CTX *c = cc->outer;
    unsigned int l = 0;
    uint64_t n64 = n;
    EVP_DigestInit_ex(c, cc->md, NULL);
    EVP_DigestUpdate(c, &n64, sizeof n64);
    for (size_t i = 0; i < n; i++) {
        unsigned char h[32];
        sha256_into(cc->inner, cc->md, ders[i] ? ders[i] : (const uint8_t *)"", ders[i] ? lens[i] : 0, h);
        if (i == 0) memcpy(leaf_sha256, h, 32);
        EVP_DigestUpdate(c, h, 32);
    }
    uint64_t sl = sni && *sni ? strlen(sni) + 1 : 0; /* NULL and "" judge alike */
    EVP_DigestUpdate(c, &sl, sizeof sl);
    if (sl) EVP_DigestUpdate(c, sni, sl - 1);
    EVP_DigestUpdate(c, cc->trust_id, sizeof cc->trust_id);
    EVP_DigestUpdate(c, &day, sizeof day);
    if (EVP_DigestFinal_ex(c, key, &l) != 1) memset(key, 0, 32);
}

/* ------------------------------------------------------------ verification */

/* Verifies (no cache). Fills v and, when the leaf parses, li (li->issuer
 * allocated) and w. */
static void verify_now(struct certcheck *cc, const uint8_t *const *ders, const size_t *lens, size_t n,
                       const char *sni, int64_t at, struct certcheck_verdict *v, struct leafinfo *li,
                       bool *have_li, struct window *w)
{
    *have_li = false;
    w->bad = true;
    if (n == 0 || !ders || !ders[0]) {
        v->status = CC_NO_CERT;
        return;
    }
    const unsigned char *p = ders[0];
    X509 *leaf = d2i_X509(NULL, &p, (long)lens[0]);
    if (!leaf) {
        v->status = CC_MALFORMED;
        return;
    }
    /* what certcheck_seen needs, from this one parse */
    unsigned int dl = 0;
    if (X509_pubkey_digest(leaf, cc->md, li->spki, &dl) != 1) memset(li->spki, 0, sizeof li->spki);
    li->issuer = name_rfc2253(X509_get_issuer_name(leaf));
    *have_li = true;

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
    bool ran = false;
    if (ctx && X509_STORE_CTX_init(ctx, cc->store, leaf, untrusted) == 1) {
        X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_time(param, (time_t)at);
        X509_STORE_CTX_set_ex_data(ctx, vres_idx, &r);
        X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
        X509_verify_cert(ctx);
        ran = true;
        STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
        v->depth = chain ? sk_X509_num(chain) - 1 : 0;
        /* the window of validation times giving this same verdict */
        w->at = at;
        w->lo = INT64_MIN;
        w->hi = INT64_MAX;
        w->bad = false;
        window_around(w, ctx, leaf);
        for (int i = 0; i < sk_X509_num(untrusted); i++) window_around(w, ctx, sk_X509_value(untrusted, i));
        for (int i = 0; i < sk_X509_num(chain); i++) window_around(w, ctx, sk_X509_value(chain, i));
    }
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    v->verified = ran;

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
    time_t att = (time_t)at;
    if (X509_cmp_time(X509_get0_notBefore(leaf), &att) > 0) r.not_yet = 1;
    if (X509_cmp_time(X509_get0_notAfter(leaf), &att) < 0) r.expired = 1;
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
    v->status = st;
    v->error_code = r.first_err;
    v->nerrors = r.nerrs;
    memcpy(v->errors, r.errs, sizeof v->errors);
    v->trusted_root = ran && !trust_err;
    v->chain_complete = ran && !r.no_issuer_leaf;
    v->time_valid = ran && !r.expired && !r.not_yet;
    v->hostname_match = host;
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(leaf);
}

/* The verdict, from the cache when it can; *li describes the leaf when
 * *have_li (li->issuer then belongs to the cache when *li_cached, else to
 * the caller; valid until the next call). */
static enum certcheck_status verify_cached(struct certcheck *cc, const uint8_t *const *ders,
                                           const size_t *lens, size_t n, const char *sni,
                                           int64_t at_time, struct certcheck_verdict *out,
                                           struct leafinfo *li, bool *have_li, bool *li_cached)
{
    int64_t at = at_time ? at_time : (int64_t)time(NULL);
    memset(out, 0, sizeof *out);
    memset(li, 0, sizeof *li);
    *have_li = *li_cached = false;
    cc->st.checks++;
    unsigned char key[32];
    struct centry *e = NULL;
    bool keyed = cc->max_cache > 0 && n > 0 && ders && ders[0];
    if (keyed) {
        int64_t day = at >= 0 ? at / 86400 : -((-at + 86399) / 86400);
        cache_key(cc, ders, lens, n, sni, day, key, li->sha256);
        HASH_FIND(hh, cc->cache, key, sizeof key, e);
        if (e && at >= e->lo && at < e->hi) {
            cc->st.cache_hits++;
            lru_unlink(cc, e);
            lru_push(cc, e);
            *out = e->v;
            out->at_time = at;
            out->trust_store = cc->trust;
            if (e->leaf.issuer) {
                *li = e->leaf;
                *have_li = *li_cached = true;
            }
            return out->status;
        }
    } else if (n > 0 && ders && ders[0]) {
        sha256_into(cc->inner, cc->md, ders[0], lens[0], li->sha256);
    }
    cc->st.cache_misses++;
    struct window w;
    verify_now(cc, ders, lens, n, sni, at, out, li, have_li, &w);
    out->at_time = at;
    out->trust_store = cc->trust;
    if (e) cache_drop(cc, e); /* cached for another validity window */
    if (!keyed || w.bad || !*have_li || !li->issuer) return out->status;
    if (cc->st.cache_entries >= cc->max_cache && cc->lru) {
        cache_drop(cc, cc->lru);
        cc->st.cache_evictions++;
    }
    e = calloc(1, sizeof *e);
    if (!e) return out->status;
    memcpy(e->key, key, sizeof key);
    e->v = *out;
    e->v.at_time = 0;
    e->lo = w.lo;
    e->hi = w.hi;
    e->leaf = *li;
    if (strlen(li->issuer) > CC_CACHED_ISSUER_MAX) e->leaf.issuer = NULL; /* caller keeps it */
    else *li_cached = true;
    HASH_ADD(hh, cc->cache, key, sizeof e->key, e);
    lru_push(cc, e);
    cc->st.cache_entries++;
    return out->status;
}

enum certcheck_status certcheck_verify(struct certcheck *cc, const uint8_t *const *ders,
                                       const size_t *lens, size_t n, const char *sni,
                                       int64_t at_time, struct certcheck_verdict *out)
{
    struct leafinfo li;
    bool have_li, li_cached;
    enum certcheck_status st = verify_cached(cc, ders, lens, n, sni, at_time, out, &li, &have_li, &li_cached);
    if (have_li && !li_cached) free(li.issuer);
    return st;
}

void certcheck_verdict_facts(const struct certcheck_verdict *r, struct certcheck_facts *out)
{
    if (!out || !out->facts) return;
    struct facts_VALIDATION *v = &out->facts->server_cert_validation;
    memset(v, 0, sizeof *v);
    FSTATE(TLS, out->facts, server_cert_validation) = FACTS_VAL;
    FSET(VALIDATION, v, trust_store, r->trust_store ? r->trust_store : "");
    FSET(VALIDATION, v, at_time, r->at_time);
    if (r->status == CC_NO_CERT || r->status == CC_MALFORMED) {
        FSET(VALIDATION, v, status, (int8_t)r->status);
        if (r->status == CC_MALFORMED) FSET(VALIDATION, v, error, "leaf certificate does not parse");
        return;
    }
    if (r->verified) FSET(VALIDATION, v, depth, r->depth);
    FSET(VALIDATION, v, status, (int8_t)r->status);
    if (r->error_code) {
        FSET(VALIDATION, v, error, X509_verify_cert_error_string(r->error_code));
        FSET(VALIDATION, v, error_code, r->error_code);
    } else {
        FNULL(VALIDATION, v, error);
    }
    int n = 0;
    for (int i = 0; i < r->nerrors && i < CERTCHECK_MAX_ERRORS; i++)
        out->errors[n++] = X509_verify_cert_error_string(r->errors[i]);
    FSET(VALIDATION, v, errors, ((struct facts_strs){ out->errors, (uint32_t)n }));
    FSET(VALIDATION, v, trusted_root, r->trusted_root);
    FSET(VALIDATION, v, chain_complete, r->chain_complete);
    FSET(VALIDATION, v, time_valid, r->time_valid);
    if (r->hostname_match < 0) FNULL(VALIDATION, v, hostname_match);
    else FSET(VALIDATION, v, hostname_match, r->hostname_match != 0);
}

enum certcheck_status certcheck_chain(struct certcheck *cc, const uint8_t *const *ders,
                                      const size_t *lens, size_t n, const char *sni,
                                      int64_t at_time, struct certcheck_facts *facts_out)
{
    struct certcheck_verdict v;
    enum certcheck_status st = certcheck_verify(cc, ders, lens, n, sni, at_time, &v);
    certcheck_verdict_facts(&v, facts_out);
    return st;
}

/* ------------------------------------------------------------- seen leaves */

static void hex(const unsigned char *d, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[d[i] >> 4];
        out[2 * i + 1] = h[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* certcheck_seen with the leaf already described (issuer not NULL). */
static int seen_update(struct certcheck *cc, const char *key, const struct leafinfo *li, int trusted,
                       struct certcheck_facts *facts_out)
{
    struct seen *s = NULL;
    size_t kl = strlen(key);
    HASH_FIND(hh, cc->seen, key, kl, s);
    int changed = 0;
    if (s) {
        /* to the tail: the head is the least recently seen server */
        HASH_DEL(cc->seen, s);
        HASH_ADD_KEYPTR(hh, cc->seen, s->key, kl, s);
    }
    if (!s) {
        /* at the cap the least recently seen server is forgotten, so a
         * sensor keeps following the servers in use however many it met */
        while (cc->seen && cc->nseen >= cc->max_seen) {
            seen_free(cc, cc->seen);
            cc->st.seen_evictions++;
        }
        s = calloc(1, sizeof *s);
        if (s) {
            s->key = strdup(key);
            s->issuer = strdup(li->issuer);
            if (!s->key || !s->issuer) {
                free(s->key);
                free(s->issuer);
                free(s);
                s = NULL;
            } else {
                memcpy(s->spki, li->spki, 32);
                memcpy(s->leaf, li->sha256, 32);
                s->trusted = trusted;
                HASH_ADD_KEYPTR(hh, cc->seen, s->key, kl, s);
                cc->st.seen_entries = ++cc->nseen;
            }
        }
    } else if (memcmp(s->spki, li->spki, 32) != 0 || strcmp(s->issuer, li->issuer) != 0) {
        char *issuer = strdup(li->issuer);
        if (!issuer) return -1;
        changed = 1;
        /* what kind of change: the same issuer (rotation, several backends
         * behind one name), another issuer, or a chain that verified before
         * and no longer does (the interception signal) */
        const char *kind = s->trusted == 1 && trusted == 0      ? "trust_lost"
                           : strcmp(s->issuer, li->issuer) != 0 ? "issuer"
                                                                : "rotation";
        if (facts_out && facts_out->facts) {
            FSET(TLS, facts_out->facts, server_cert_change, kind);
            hex(s->leaf, 32, facts_out->prev_sha256);
            snprintf(facts_out->prev_issuer, sizeof facts_out->prev_issuer, "%s", s->issuer);
            FSET(TLS, facts_out->facts, server_cert_previous_sha256, facts_out->prev_sha256);
            FSET(TLS, facts_out->facts, server_cert_previous_issuer, facts_out->prev_issuer);
        }
        /* remember the latest, so a flip back is reported too */
        memcpy(s->spki, li->spki, 32);
        memcpy(s->leaf, li->sha256, 32);
        free(s->issuer);
        s->issuer = issuer;
        if (trusted >= 0) s->trusted = trusted;
    }
    if (facts_out && facts_out->facts) FSET(TLS, facts_out->facts, server_cert_changed, changed != 0);
    return changed;
}

int certcheck_seen(struct certcheck *cc, const char *key, const uint8_t *leaf_der, size_t len,
                   struct certcheck_facts *facts_out)
{
    const unsigned char *p = leaf_der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x) return -1;
    struct leafinfo li;
    unsigned int dl = 0;
    X509_pubkey_digest(x, cc->md, li.spki, &dl);
    sha256_into(cc->inner, cc->md, leaf_der, len, li.sha256);
    li.issuer = name_rfc2253(X509_get_issuer_name(x));
    X509_free(x);
    if (!li.issuer) return -1;
    int r = seen_update(cc, key, &li, -1, facts_out);
    free(li.issuer);
    return r;
}

enum certcheck_status certcheck_server(struct certcheck *cc, const uint8_t *const *ders,
                                       const size_t *lens, size_t n, const char *sni,
                                       const char *seen_key, int64_t at_time,
                                       struct certcheck_facts *facts_out)
{
    struct certcheck_verdict v;
    struct leafinfo li;
    bool have_li, li_cached;
    enum certcheck_status st = verify_cached(cc, ders, lens, n, sni, at_time, &v, &li, &have_li, &li_cached);
    certcheck_verdict_facts(&v, facts_out);
    if (seen_key && n > 0 && ders && ders[0]) {
        int trusted = st == CC_OK || st == CC_HOSTNAME_MISMATCH ? 1
                      : st == CC_SELF_SIGNED || st == CC_UNKNOWN_CA || st == CC_CHAIN_INCOMPLETE ||
                              st == CC_BAD_SIGNATURE
                          ? 0
                          : -1;
        if (have_li && li.issuer) seen_update(cc, seen_key, &li, trusted, facts_out);
        else if (st != CC_MALFORMED) certcheck_seen(cc, seen_key, ders[0], lens[0], facts_out);
    }
    if (have_li && !li_cached) free(li.issuer);
    return st;
}
