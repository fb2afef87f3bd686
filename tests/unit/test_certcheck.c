/* certcheck: every status, built from certificates made here with
 * libcrypto (EC P-256), validated at fixed times against a test CA file. */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include "certcheck.h"
#include "json.h"
#include "t.h"
#include "truststore.h"
#include "value_parse.h"

/* What certcheck puts into the typed facts, read back as a value tree
 * (the JSON writer, then the test JSON reader) for path checks. */
struct ccf {
    tls_facts f;
    struct certcheck_facts c;
    struct value *tree;
};
static struct ccf *ccf_new(void)
{
    struct ccf *x = calloc(1, sizeof *x);
    x->c.facts = &x->f;
    return x;
}
static void ccf_json(const struct ccf *x, struct json *j)
{
    json_obj_begin(j);
    facts_write_members(&facts_type_TLS, &x->f, j, NULL);
    json_obj_end(j);
}
static const struct value *ccf_tree(struct ccf *x)
{
    struct json j;
    json_init(&j);
    ccf_json(x, &j);
    value_free(x->tree);
    char err[200];
    x->tree = value_parse_json(j.buf, j.len, err, sizeof err);
    json_free(&j);
    return x->tree;
}
static void ccf_free(struct ccf *x)
{
    if (!x) return;
    value_free(x->tree);
    free(x);
}

#define T0 1700000000LL /* 2023-11-14 */
#define DAY 86400LL

struct kc {
    EVP_PKEY *key;
    X509 *cert;
};

static void add_ext(X509 *x, X509 *issuer, int nid, const char *val)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, val);
    if (e) {
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
}

/* issuer NULL: self-signed. san: "DNS:a,DNS:b" or NULL. */
static struct kc make(const char *cn, const struct kc *issuer, int ca, long long nb, long long na,
                      const char *san, long serial)
{
    struct kc r;
    r.key = EVP_EC_gen("P-256");
    r.cert = X509_new();
    X509_set_version(r.cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(r.cert), serial);
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(r.cert, n);
    X509_set_issuer_name(r.cert, issuer ? X509_get_subject_name(issuer->cert) : n);
    X509_NAME_free(n);
    ASN1_TIME_set(X509_getm_notBefore(r.cert), (time_t)nb);
    ASN1_TIME_set(X509_getm_notAfter(r.cert), (time_t)na);
    X509_set_pubkey(r.cert, r.key);
    X509 *iss = issuer ? issuer->cert : r.cert;
    add_ext(r.cert, iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (ca) add_ext(r.cert, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(r.cert, iss, NID_subject_key_identifier, "hash");
    if (issuer) add_ext(r.cert, iss, NID_authority_key_identifier, "keyid:always");
    if (san) add_ext(r.cert, iss, NID_subject_alt_name, san);
    X509_sign(r.cert, issuer ? issuer->key : r.key, EVP_sha256());
    return r;
}

static void kc_free(struct kc *k)
{
    X509_free(k->cert);
    EVP_PKEY_free(k->key);
}

struct der {
    unsigned char *d[4];
    size_t len[4];
    size_t n;
};
static void der_add(struct der *d, X509 *x)
{
    unsigned char *p = NULL;
    int l = i2d_X509(x, &p);
    d->d[d->n] = p;
    d->len[d->n] = (size_t)l;
    d->n++;
}
static void der_free(struct der *d)
{
    for (size_t i = 0; i < d->n; i++) OPENSSL_free(d->d[i]);
    d->n = 0;
}

static enum certcheck_status run(struct certcheck *cc, struct der *d, const char *sni, long long at,
                                 struct ccf **facts)
{
    *facts = ccf_new();
    return certcheck_chain(cc, (const uint8_t *const *)d->d, d->len, d->n, sni, at, &(*facts)->c);
}

static const char *vstr(struct ccf *f, const char *path)
{
    const struct value *v = value_path(ccf_tree(f), path);
    return v && v->type == V_STR ? v->u.str.s : NULL;
}
static int vbool(struct ccf *f, const char *path)
{
    const struct value *v = value_path(ccf_tree(f), path);
    return !v ? -2 : v->type == V_NULL ? -1 : v->type == V_BOOL ? v->u.b : -3;
}

/* The facts certcheck_server writes, as one JSON string (caller frees). */
static char *server_json(struct certcheck *cc, const struct der *d, const char *sni, const char *seen,
                         long long at)
{
    struct ccf *f = ccf_new();
    certcheck_server(cc, (const uint8_t *const *)d->d, d->len, d->n, sni, seen, at, &f->c);
    struct json j;
    json_init(&j);
    ccf_json(f, &j);
    char *out = strndup(j.buf ? j.buf : "", j.len);
    json_free(&j);
    ccf_free(f);
    return out;
}

static int same_json(struct certcheck *a, struct certcheck *b, const struct der *d, const char *sni,
                     long long at)
{
    char *x = server_json(a, d, sni, NULL, at), *y = server_json(b, d, sni, NULL, at);
    int same = x && y && strcmp(x, y) == 0;
    if (!same) printf("  %s\n  %s\n", x, y);
    free(x);
    free(y);
    return same;
}

#define HITS(cc) ((long long)certcheck_stats(cc)->cache_hits)
#define MISSES(cc) ((long long)certcheck_stats(cc)->cache_misses)

int main(void)
{
    long long nb = T0 - 10 * DAY, na = T0 + 355 * DAY;
    struct kc root = make("tlswatch test root", NULL, 1, T0 - 100 * DAY, T0 + 3650 * DAY, NULL, 1);
    struct kc inter = make("tlswatch test intermediate", &root, 1, T0 - 100 * DAY, T0 + 1000 * DAY, NULL, 2);
    struct kc leaf = make("server.example", &inter, 0, nb, na, "DNS:server.example,DNS:*.wild.example", 3);
    struct kc selfs = make("server.example", NULL, 0, nb, na, "DNS:server.example", 4);
    struct kc rogue = make("rogue root", NULL, 1, T0 - 100 * DAY, T0 + 3650 * DAY, NULL, 5);
    struct kc rogue_int = make("rogue intermediate", &rogue, 1, T0 - 100 * DAY, T0 + 1000 * DAY, NULL, 6);
    struct kc rogue_leaf = make("server.example", &rogue_int, 0, nb, na, "DNS:server.example", 7);
    struct kc other_key = make("server.example", &inter, 0, nb, na, "DNS:server.example", 8);

    char dir[] = "/tmp/tw-certcheck-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    char cafile[256];
    snprintf(cafile, sizeof cafile, "%s/root.pem", dir);
    FILE *f = fopen(cafile, "w");
    PEM_write_X509(f, root.cert);
    fclose(f);

    char err[256] = "";
    struct certcheck_opts o = { cafile, NULL, 0 };
    struct certcheck *cc = certcheck_new(&o, err, sizeof err);
    CHECK(cc != NULL, "certcheck_new with a CA file (%s)", err);
    struct certcheck_opts bad = { "/nonexistent/ca.pem", NULL, 0 };
    struct certcheck *cc2 = certcheck_new(&bad, err, sizeof err);
    CHECK(cc2 == NULL && strstr(err, "/nonexistent/ca.pem"), "missing CA file is an error: %s", err);

    struct der d = { 0 };
    struct ccf *fa;
    enum certcheck_status st;

    /* ok: leaf + intermediate, trusted root, host matches */
    der_add(&d, leaf.cert);
    der_add(&d, inter.cert);
    st = run(cc, &d, "server.example", T0, &fa);
    CHECK_EQ_INT(st, CC_OK, "leaf+intermediate to trusted root: ok");
    CHECK_EQ_STR(vstr(fa, "server_cert_validation.status"), "ok", "status fact ok");
    CHECK_EQ_INT(vbool(fa, "server_cert_validation.trusted_root"), 1, "trusted_root true");
    CHECK_EQ_INT(vbool(fa, "server_cert_validation.chain_complete"), 1, "chain_complete true");
    CHECK_EQ_INT(vbool(fa, "server_cert_validation.hostname_match"), 1, "hostname_match true");
    CHECK_EQ_INT(value_path(ccf_tree(fa), "server_cert_validation.depth")->u.i, 2, "depth 2 (leaf, int, root)");
    CHECK(value_path(ccf_tree(fa), "server_cert_validation.error")->type == V_NULL, "no error string");
    CHECK_EQ_STR(vstr(fa, "server_cert_validation.trust_store"), cafile, "trust store named");
    ccf_free(fa);

    /* no SNI: hostname_match null, still ok */
    st = run(cc, &d, NULL, T0, &fa);
    CHECK_EQ_INT(st, CC_OK, "no SNI: ok");
    CHECK_EQ_INT(vbool(fa, "server_cert_validation.hostname_match"), -1, "no SNI: hostname_match null");
    ccf_free(fa);

    /* expired / not yet valid against the given time, not the wall clock */
    st = run(cc, &d, "server.example", na + DAY, &fa);
    CHECK_EQ_INT(st, CC_EXPIRED, "validated after notAfter: expired");
    CHECK_EQ_STR(vstr(fa, "server_cert_validation.error"), "certificate has expired", "X509 error string");
    CHECK_EQ_INT(vbool(fa, "server_cert_validation.time_valid"), 0, "time_valid false");
    ccf_free(fa);
    st = run(cc, &d, "server.example", nb - DAY, &fa);
    CHECK_EQ_INT(st, CC_NOT_YET_VALID, "validated before notBefore: not_yet_valid");
    CHECK_EQ_STR(vstr(fa, "server_cert_validation.status"), "not_yet_valid", "status not_yet_valid");
    ccf_free(fa);

    /* hostname mismatch and RFC 6125 wildcards */
    st = run(cc, &d, "other.example", T0, &fa);
    CHECK_EQ_INT(st, CC_HOSTNAME_MISMATCH, "other.example: hostname_mismatch");
    CHECK_EQ_INT(vbool(fa, "server_cert_validation.hostname_match"), 0, "hostname_match false");
    CHECK_EQ_INT(vbool(fa, "server_cert_validation.trusted_root"), 1, "chain still trusted");
    ccf_free(fa);
    static const struct { const char *name; int ok; } wild[] = {
        { "a.wild.example", 1 }, { "A.WILD.EXAMPLE", 1 }, { "a.b.wild.example", 0 },
        { "wild.example", 0 },   { "xwild.example", 0 },  { "server.example.", 1 },
    };
    for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++) {
        st = run(cc, &d, wild[i].name, T0, &fa);
        CHECK_EQ_INT(st == CC_OK, wild[i].ok, "*.wild.example vs %s: %s", wild[i].name,
                     wild[i].ok ? "match" : "no match");
        ccf_free(fa);
    }
    der_free(&d);

    /* incomplete chain: leaf only, its issuer (intermediate) not sent */
    der_add(&d, leaf.cert);
    st = run(cc, &d, "server.example", T0, &fa);
    CHECK_EQ_INT(st, CC_CHAIN_INCOMPLETE, "leaf without intermediate: chain_incomplete");
    CHECK_EQ_INT(vbool(fa, "server_cert_validation.chain_complete"), 0, "chain_complete false");
    CHECK_EQ_INT(vbool(fa, "server_cert_validation.trusted_root"), 0, "trusted_root false");
    ccf_free(fa);
    der_free(&d);

    /* self-signed leaf */
    der_add(&d, selfs.cert);
    st = run(cc, &d, "server.example", T0, &fa);
    CHECK_EQ_INT(st, CC_SELF_SIGNED, "self-signed leaf: self_signed");
    CHECK_EQ_STR(vstr(fa, "server_cert_validation.error"), "self-signed certificate", "self-signed error string");
    ccf_free(fa);
    der_free(&d);

    /* unknown CA: complete chain up to an untrusted root (root sent) */
    der_add(&d, rogue_leaf.cert);
    der_add(&d, rogue_int.cert);
    der_add(&d, rogue.cert);
    st = run(cc, &d, "server.example", T0, &fa);
    CHECK_EQ_INT(st, CC_UNKNOWN_CA, "chain to an untrusted root (root sent): unknown_ca");
    CHECK_EQ_INT(vbool(fa, "server_cert_validation.chain_complete"), 1, "unknown_ca: chain complete");
    ccf_free(fa);
    der_free(&d);
    /* ... and with the root not sent: the intermediate's issuer is missing */
    der_add(&d, rogue_leaf.cert);
    der_add(&d, rogue_int.cert);
    st = run(cc, &d, "server.example", T0, &fa);
    CHECK_EQ_INT(st, CC_UNKNOWN_CA, "chain to an untrusted root (root not sent): unknown_ca");
    ccf_free(fa);
    der_free(&d);

    /* an intermediate trusted by a different store only */
    struct certcheck_opts sys = { NULL, NULL, 0 };
    struct certcheck *ccs = certcheck_new(&sys, err, sizeof err);
    CHECK(ccs != NULL, "system store loads");
    der_add(&d, leaf.cert);
    der_add(&d, inter.cert);
    st = certcheck_chain(ccs, (const uint8_t *const *)d.d, d.len, d.n, "server.example", T0, NULL);
    CHECK_EQ_INT(st, CC_UNKNOWN_CA, "test chain against the system store: unknown_ca");
    der_free(&d);
    certcheck_free(ccs);

    /* malformed / no certificate */
    unsigned char junk[] = { 0x30, 0x03, 0x01, 0x02, 0x03 };
    const uint8_t *jp = junk;
    size_t jl = sizeof junk;
    fa = ccf_new();
    st = certcheck_chain(cc, &jp, &jl, 1, "x", T0, &fa->c);
    CHECK_EQ_INT(st, CC_MALFORMED, "garbage DER: malformed");
    CHECK_EQ_STR(vstr(fa, "server_cert_validation.status"), "malformed", "status malformed");
    ccf_free(fa);
    CHECK_EQ_INT(certcheck_chain(cc, NULL, NULL, 0, "x", T0, NULL), CC_NO_CERT, "no certificate");

    /* certificate-changed memory */
    der_add(&d, leaf.cert);
    der_add(&d, other_key.cert);
    der_add(&d, rogue_leaf.cert);
    fa = ccf_new();
    CHECK_EQ_INT(certcheck_seen(cc, "server.example", d.d[0], d.len[0], &fa->c), 0, "first sighting: not changed");
    CHECK_EQ_INT(vbool(fa, "server_cert_changed"), 0, "server_cert_changed false");
    CHECK_EQ_INT(certcheck_seen(cc, "server.example", d.d[0], d.len[0], &fa->c), 0, "same leaf again: not changed");
    CHECK_EQ_INT(certcheck_seen(cc, "other.example", d.d[2], d.len[2], &fa->c), 0, "other name: independent");
    ccf_free(fa);
    fa = ccf_new();
    CHECK_EQ_INT(certcheck_seen(cc, "server.example", d.d[1], d.len[1], &fa->c), 1, "new key, same issuer: changed");
    CHECK_EQ_INT(vbool(fa, "server_cert_changed"), 1, "server_cert_changed true");
    CHECK(vstr(fa, "server_cert_previous_sha256") && strlen(vstr(fa, "server_cert_previous_sha256")) == 64,
          "previous sha256 given");
    ccf_free(fa);
    fa = ccf_new();
    CHECK_EQ_INT(certcheck_seen(cc, "server.example", d.d[2], d.len[2], &fa->c), 1, "other issuer: changed");
    CHECK(vstr(fa, "server_cert_previous_issuer") && strstr(vstr(fa, "server_cert_previous_issuer"), "tlswatch test intermediate"),
          "previous issuer named: %s", vstr(fa, "server_cert_previous_issuer"));
    ccf_free(fa);
    CHECK_EQ_INT(certcheck_seen(cc, "server.example", junk, sizeof junk, NULL), -1, "garbage: -1");

    /* the memory is bounded by max_seen, least recently seen forgotten */
    {
        struct certcheck_opts o2 = { cafile, NULL, 2 };
        struct certcheck *c2 = certcheck_new(&o2, err, sizeof err);
        CHECK(c2 != NULL, "certcheck_new with max_seen 2");
        if (c2) {
            certcheck_seen(c2, "a", d.d[0], d.len[0], NULL);
            certcheck_seen(c2, "b", d.d[0], d.len[0], NULL);
            certcheck_seen(c2, "a", d.d[0], d.len[0], NULL); /* a: most recent */
            certcheck_seen(c2, "c", d.d[0], d.len[0], NULL); /* evicts b */
            const struct certcheck_stats *s = certcheck_stats(c2);
            CHECK(s->seen_entries == 2 && s->seen_evictions == 1, "seen LRU: 2 kept, 1 evicted (%zu, %llu)",
                  s->seen_entries, (unsigned long long)s->seen_evictions);
            CHECK_EQ_INT(certcheck_seen(c2, "a", d.d[1], d.len[1], NULL), 1, "seen LRU: recently seen a still remembered");
            CHECK_EQ_INT(certcheck_seen(c2, "b", d.d[1], d.len[1], NULL), 0, "seen LRU: evicted b is a first sighting");
            CHECK_EQ_INT(certcheck_seen(c2, "c", d.d[1], d.len[1], NULL), 0, "seen LRU: c was evicted by b");
            CHECK(s->seen_entries == 2 && s->seen_evictions == 3, "seen LRU: still 2 kept, 3 evicted");
            certcheck_free(c2);
        }
    }
    der_free(&d);

    /* ---- verdict cache ---- */
    {
        long long D = (T0 / DAY + 1) * DAY; /* a midnight after T0 */
        struct kc leaf_mid = make("server.example", &inter, 0, nb, D + DAY / 2, "DNS:server.example", 9);
        struct kc inter_mid = make("tlswatch test intermediate", &root, 1, T0 - 100 * DAY, D + DAY / 2 + 7, NULL, 10);
        struct kc leaf_im = make("server.example", &inter_mid, 0, nb, na, "DNS:server.example", 11);
        struct kc leaf_nb = make("server.example", &inter, 0, D + 3600, na, "DNS:server.example", 12);
        struct certcheck *c1 = certcheck_new(&o, err, sizeof err);
        struct certcheck *ref = certcheck_new(&o, err, sizeof err); /* no cache: the reference */
        CHECK(c1 && ref, "cache test stores");
        certcheck_set_cache(ref, CERTCHECK_CACHE_OFF);
        struct der ok = { 0 }, mid = { 0 }, im = { 0 }, nbd = { 0 }, self1 = { 0 };
        der_add(&ok, leaf.cert);
        der_add(&ok, inter.cert);
        der_add(&mid, leaf_mid.cert);
        der_add(&mid, inter.cert);
        der_add(&im, leaf_im.cert);
        der_add(&im, inter_mid.cert);
        der_add(&nbd, leaf_nb.cert);
        der_add(&nbd, inter.cert);
        der_add(&self1, selfs.cert);

        /* a miss, then a hit with the identical facts */
        char *a = server_json(c1, &ok, "server.example", NULL, D + 10);
        CHECK_EQ_INT(MISSES(c1), 1, "first sight: miss");
        char *b = server_json(c1, &ok, "server.example", NULL, D + 10);
        CHECK_EQ_INT(HITS(c1), 1, "same chain, SNI, time: hit");
        CHECK(a && b && strcmp(a, b) == 0, "hit facts == miss facts: %s", b);
        CHECK(strstr(b, "\"status\":\"ok\"") != NULL, "hit says ok");
        free(a);
        free(b);
        /* later the same day: a hit, identical to an uncached verification */
        CHECK(same_json(c1, ref, &ok, "server.example", D + 40000), "hit later that day == uncached");
        CHECK_EQ_INT(HITS(c1), 2, "later the same day: hit");
        /* another SNI: a miss (hostname_match differs) */
        CHECK(same_json(c1, ref, &ok, "other.example", D + 10), "other SNI == uncached (mismatch)");
        CHECK_EQ_INT(MISSES(c1), 2, "other SNI: miss");
        CHECK(same_json(c1, ref, &ok, NULL, D + 10), "no SNI == uncached");
        CHECK_EQ_INT(MISSES(c1), 3, "no SNI: miss");
        CHECK(same_json(c1, ref, &ok, "other.example", D + 20), "other SNI again: hit, == uncached");
        CHECK_EQ_INT(HITS(c1), 3, "other SNI again: hit");
        /* another day: a miss */
        CHECK(same_json(c1, ref, &ok, "server.example", D + DAY + 10), "next day == uncached");
        CHECK_EQ_INT(MISSES(c1), 4, "next day: miss");
        /* the chain order is part of the key */
        struct der rev = { 0 };
        der_add(&rev, inter.cert);
        der_add(&rev, leaf.cert);
        CHECK(same_json(c1, ref, &rev, "server.example", D + 10), "reversed chain == uncached");
        CHECK_EQ_INT(MISSES(c1), 5, "reversed chain: miss");
        der_free(&rev);

        /* leaf expiring at noon: morning valid, afternoon expired, same day */
        CHECK(same_json(c1, ref, &mid, "server.example", D + 100), "morning (valid) == uncached");
        long long m0 = MISSES(c1), h0 = HITS(c1);
        CHECK(same_json(c1, ref, &mid, "server.example", D + DAY / 2 - 1), "last valid second: hit == uncached");
        CHECK_EQ_INT(HITS(c1) - h0, 1, "last valid second: hit");
        CHECK(same_json(c1, ref, &mid, "server.example", D + DAY / 2), "notAfter second: expired == uncached");
        CHECK_EQ_INT(MISSES(c1) - m0, 1, "notAfter crossed within the day: miss");
        /* (each date d bounds a window at d and d + 1: the notAfter second
         * is a window of its own) */
        CHECK(same_json(c1, ref, &mid, "server.example", D + DAY / 2 + 100), "afternoon: expired == uncached");
        CHECK_EQ_INT(MISSES(c1) - m0, 2, "afternoon: miss (the notAfter second had its own window)");
        char *e = server_json(c1, &mid, "server.example", NULL, D + DAY / 2 + 200);
        CHECK(e && strstr(e, "\"status\":\"expired\""), "afternoon again: expired (%s)", e);
        free(e);
        CHECK_EQ_INT(HITS(c1) - h0, 2, "afternoon again: hit");
        CHECK(same_json(c1, ref, &mid, "server.example", D + 200), "morning again == uncached (valid)");
        CHECK_EQ_INT(MISSES(c1) - m0, 3, "back before notAfter: miss");
        /* an intermediate expiring within the day: its dates count too */
        CHECK(same_json(c1, ref, &im, "server.example", D + 100), "intermediate valid == uncached");
        CHECK(same_json(c1, ref, &im, "server.example", D + DAY / 2 + 8), "intermediate expired == uncached");
        e = server_json(c1, &im, "server.example", NULL, D + DAY / 2 + 9);
        CHECK(e && strstr(e, "\"status\":\"expired\""), "intermediate expired: expired (%s)", e);
        free(e);
        /* a leaf becoming valid within the day */
        CHECK(same_json(c1, ref, &nbd, "server.example", D + 10), "before notBefore == uncached");
        CHECK(same_json(c1, ref, &nbd, "server.example", D + 3600), "at notBefore == uncached");
        CHECK(same_json(c1, ref, &nbd, "server.example", D + 3599), "a second before == uncached");
        /* failures are cached too */
        CHECK(same_json(c1, ref, &self1, "server.example", D + 10), "self-signed == uncached");
        h0 = HITS(c1);
        CHECK(same_json(c1, ref, &self1, "server.example", D + 11), "self-signed again == uncached");
        CHECK_EQ_INT(HITS(c1) - h0, 1, "self-signed again: hit");

        /* the verdict struct and its writer */
        struct certcheck_verdict v;
        CHECK_EQ_INT(certcheck_verify(c1, (const uint8_t *const *)ok.d, ok.len, ok.n, "server.example", D + 77, &v),
                     CC_OK, "certcheck_verify: ok");
        CHECK(v.at_time == D + 77 && v.verified && v.depth == 2 && v.trusted_root && v.chain_complete &&
              v.time_valid && v.hostname_match == 1 && v.error_code == 0 && v.nerrors == 0,
              "verdict fields of a hit");
        const struct certcheck_stats *cs = certcheck_stats(c1);
        CHECK_EQ_INT(cs->checks, cs->cache_hits + cs->cache_misses, "checks = hits + misses (%llu)",
                     (unsigned long long)cs->checks);
        CHECK_EQ_INT(certcheck_stats(ref)->cache_hits, 0, "cache off: no hit");
        CHECK_EQ_INT(certcheck_stats(ref)->cache_entries, 0, "cache off: nothing held");

        /* certcheck_server = chain + seen, leaf details kept across hits */
        struct certcheck *c3 = certcheck_new(&o, err, sizeof err);
        struct der ok2 = { 0 };
        der_add(&ok2, other_key.cert);
        der_add(&ok2, inter.cert);
        char *s1 = server_json(c3, &ok, "server.example", "server.example", D + 10);
        CHECK(s1 && strstr(s1, "\"server_cert_changed\":false"), "server: first leaf not changed");
        char *s2 = server_json(c3, &ok2, "server.example", "server.example", D + 11);
        CHECK(s2 && strstr(s2, "\"server_cert_changed\":true") && strstr(s2, "server_cert_previous_sha256"),
              "server: other key changed");
        char *s3 = server_json(c3, &ok, "server.example", "server.example", D + 12); /* a hit */
        CHECK_EQ_INT(HITS(c3), 1, "server: third call is a hit");
        CHECK(s3 && strstr(s3, "\"server_cert_changed\":true"), "server, hit: flip back reported");
        /* the same through the uncached functions */
        struct certcheck *c4 = certcheck_new(&o, err, sizeof err);
        certcheck_set_cache(c4, CERTCHECK_CACHE_OFF);
        struct der *seq[] = { &ok, &ok2, &ok };
        char *want[3];
        for (int i = 0; i < 3; i++) {
            struct ccf *fv = ccf_new();
            certcheck_chain(c4, (const uint8_t *const *)seq[i]->d, seq[i]->len, seq[i]->n, "server.example",
                            D + 10 + i, &fv->c);
            certcheck_seen(c4, "server.example", seq[i]->d[0], seq[i]->len[0], &fv->c);
            struct json j;
            json_init(&j);
            ccf_json(fv, &j);
            want[i] = strndup(j.buf, j.len);
            json_free(&j);
            ccf_free(fv);
        }
        CHECK(strcmp(s1, want[0]) == 0 && strcmp(s2, want[1]) == 0 && strcmp(s3, want[2]) == 0,
              "certcheck_server == certcheck_chain + certcheck_seen (3 calls)");
        for (int i = 0; i < 3; i++) free(want[i]);
        free(s1);
        free(s2);
        free(s3);
        certcheck_free(c4);
        certcheck_free(c3);

        /* LRU at the cap */
        struct certcheck *c2 = certcheck_new(&o, err, sizeof err);
        certcheck_set_cache(c2, 2);
        free(server_json(c2, &ok, "a.example", NULL, D)); /* A */
        free(server_json(c2, &ok, "b.example", NULL, D)); /* B */
        free(server_json(c2, &ok, "a.example", NULL, D)); /* A hit: B is now least recent */
        CHECK_EQ_INT(HITS(c2), 1, "LRU: A hit");
        free(server_json(c2, &ok, "c.example", NULL, D)); /* C evicts B */
        CHECK_EQ_INT(certcheck_stats(c2)->cache_evictions, 1, "LRU: one eviction at the cap");
        CHECK_EQ_INT(certcheck_stats(c2)->cache_entries, 2, "LRU: 2 entries held");
        free(server_json(c2, &ok, "a.example", NULL, D));
        CHECK_EQ_INT(HITS(c2), 2, "LRU: A (recently used) kept");
        free(server_json(c2, &ok, "b.example", NULL, D));
        CHECK_EQ_INT(HITS(c2), 2, "LRU: B (least recent) evicted: miss");
        CHECK_EQ_INT(certcheck_stats(c2)->cache_evictions, 2, "LRU: B back in evicts C");
        const struct certcheck_stats *s = certcheck_stats(c2);
        CHECK(s->checks == 6 && s->cache_hits == 2 && s->cache_misses == 4 && s->cache_evictions == 2,
              "stats: 6 checks, 2 hits, 4 misses, 2 evictions");
        certcheck_set_cache(c2, 1);
        CHECK_EQ_INT(certcheck_stats(c2)->cache_entries, 1, "smaller cap drops the least recent");
        certcheck_free(c2);

        der_free(&ok);
        der_free(&ok2);
        der_free(&mid);
        der_free(&im);
        der_free(&nbd);
        der_free(&self1);
        certcheck_free(c1);
        certcheck_free(ref);
        kc_free(&leaf_mid);
        kc_free(&inter_mid);
        kc_free(&leaf_im);
        kc_free(&leaf_nb);
    }

    /* system store = the bundle file named by SSL_CERT_FILE, in memory */
    {
        setenv("SSL_CERT_FILE", cafile, 1);
        struct certcheck_opts sy = { NULL, NULL, 0 };
        struct certcheck *cs = certcheck_new(&sy, err, sizeof err);
        der_add(&d, leaf.cert);
        der_add(&d, inter.cert);
        fa = ccf_new();
        st = certcheck_chain(cs, (const uint8_t *const *)d.d, d.len, d.n, "server.example", T0, &fa->c);
        CHECK_EQ_INT(st, CC_OK, "SSL_CERT_FILE names the system bundle: trusted");
        CHECK_EQ_STR(vstr(fa, "server_cert_validation.trust_store"), "system", "still called system");
        ccf_free(fa);
        der_free(&d);
        certcheck_free(cs);
        unsetenv("SSL_CERT_FILE");
    }

    /* a large bundle held as DER, parsed on demand (truststore.h): the same
     * verdicts as the same file loaded eagerly, and only the CAs asked for
     * are parsed */
    {
        char big[300];
        snprintf(big, sizeof big, "%s/big.pem", dir);
        FILE *bf = fopen(big, "w");
        FILE *sysb = fopen("/etc/ssl/certs/ca-certificates.crt", "r");
        char line[4096];
        while (sysb && fgets(line, sizeof line, sysb)) fputs(line, bf);
        if (sysb) fclose(sysb);
        PEM_write_X509(bf, rogue.cert);
        PEM_write_X509(bf, root.cert);
        fclose(bf);
        size_t held0 = truststore_held(), parsed0 = truststore_parsed();
        struct certcheck_opts lz = { big, NULL, 0 };
        struct certcheck *lazy = certcheck_new(&lz, err, sizeof err);
        CHECK(lazy && truststore_held() - held0 >= 2 && truststore_parsed() == parsed0,
              "bundle of %zu certificates attached, none parsed yet", truststore_held() - held0);
        struct certcheck_opts eg = { big, dir, 0 }; /* with a directory: loaded eagerly */
        struct certcheck *eager = certcheck_new(&eg, err, sizeof err);
        struct kc *chains[][2] = { { &leaf, &inter }, { &rogue_leaf, &rogue_int }, { &selfs, NULL },
                                   { &leaf, NULL }, { &other_key, &inter } };
        int same = 0, n = 0;
        for (size_t i = 0; i < sizeof chains / sizeof chains[0]; i++) {
            for (long long t = T0 - 200 * DAY; t <= T0 + 4000 * DAY; t += 450 * DAY) {
                der_add(&d, chains[i][0]->cert);
                if (chains[i][1]) der_add(&d, chains[i][1]->cert);
                enum certcheck_status a1 = certcheck_chain(lazy, (const uint8_t *const *)d.d, d.len, d.n,
                                                           "server.example", t, NULL);
                enum certcheck_status a2 = certcheck_chain(eager, (const uint8_t *const *)d.d, d.len, d.n,
                                                           "server.example", t, NULL);
                same += a1 == a2;
                n++;
                der_free(&d);
            }
        }
        CHECK(lazy && eager && same == n, "on-demand bundle: the eager store's verdicts (%d/%d)", same, n);
        CHECK(truststore_parsed() - parsed0 <= 4,
              "on-demand bundle: %zu of %zu certificates parsed", truststore_parsed() - parsed0,
              truststore_held() - held0);
        certcheck_free(lazy);
        certcheck_free(eager);
        CHECK(truststore_held() == held0, "on-demand bundle: freed with its store");
        unlink(big);
    }

    /* the on-demand bundle finds a CA whose subject OpenSSL finds equal to
     * the issuer asked for without the same bytes: a BMPString "Odd  Root
     * CA" asked for as the UTF8String "odd root ca" (its lookup key is
     * made from the DER, without OpenSSL's parse) */
    {
        X509_NAME *n1 = X509_NAME_new(), *n2 = X509_NAME_new();
        static const unsigned char bmp[] = { 0, 'O', 0, 'd', 0, 'd', 0, ' ', 0, ' ', 0, 'R', 0, 'o', 0, 'o',
                                             0, 't', 0, ' ', 0, 'C', 0, 'A' };
        X509_NAME_add_entry_by_NID(n1, NID_organizationName, MBSTRING_ASC, (const unsigned char *)"Tlswatch Tests", -1, -1, 0);
        X509_NAME_add_entry_by_NID(n1, NID_commonName, V_ASN1_BMPSTRING, bmp, (int)sizeof bmp, -1, 0);
        X509_NAME_add_entry_by_NID(n2, NID_organizationName, MBSTRING_UTF8, (const unsigned char *)" tlswatch   TESTS", -1, -1, 0);
        X509_NAME_add_entry_by_NID(n2, NID_commonName, MBSTRING_UTF8, (const unsigned char *)"odd root ca", -1, -1, 0);
        CHECK(X509_NAME_cmp(n1, n2) == 0, "OpenSSL finds the two encodings of the name equal");
        struct kc odd = make("placeholder", NULL, 1, T0 - 100 * DAY, T0 + 3650 * DAY, NULL, 20);
        X509_set_subject_name(odd.cert, n1);
        X509_set_issuer_name(odd.cert, n1);
        X509_sign(odd.cert, odd.key, EVP_sha256());
        struct kc odd_leaf = make("server.example", &odd, 0, nb, na, "DNS:server.example", 21);
        X509_set_issuer_name(odd_leaf.cert, n2);
        X509_sign(odd_leaf.cert, odd.key, EVP_sha256());
        char big[300];
        snprintf(big, sizeof big, "%s/odd.pem", dir);
        FILE *bf = fopen(big, "w");
        PEM_write_X509(bf, root.cert);
        PEM_write_X509(bf, odd.cert);
        fclose(bf);
        struct certcheck_opts lz = { big, NULL, 0 }, eg = { big, dir, 0 };
        struct certcheck *lazy = certcheck_new(&lz, err, sizeof err);
        struct certcheck *eager = certcheck_new(&eg, err, sizeof err);
        der_add(&d, odd_leaf.cert);
        enum certcheck_status a1 = lazy ? certcheck_chain(lazy, (const uint8_t *const *)d.d, d.len, d.n,
                                                          "server.example", T0, NULL) : CC_NO_CERT;
        enum certcheck_status a2 = eager ? certcheck_chain(eager, (const uint8_t *const *)d.d, d.len, d.n,
                                                           "server.example", T0, NULL) : CC_NO_CERT;
        der_free(&d);
        CHECK_EQ_INT(a2, CC_OK, "eager store: the leaf chains to the CA of the equal name");
        CHECK_EQ_INT(a1, CC_OK, "on-demand bundle: the same CA found by its other encoding");
        certcheck_free(lazy);
        certcheck_free(eager);
        unlink(big);
        X509_NAME_free(n1);
        X509_NAME_free(n2);
        kc_free(&odd);
        kc_free(&odd_leaf);
    }

    certcheck_free(cc);
    unlink(cafile);
    rmdir(dir);
    struct kc *all[] = { &root, &inter, &leaf, &selfs, &rogue, &rogue_int, &rogue_leaf, &other_key };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) kc_free(all[i]);
    return T_DONE();
}
