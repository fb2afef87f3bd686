/* JSON documents of one shape summed into one (jsonsum.h). */
#include "jsonsum.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum jt { J_NULL, J_BOOL, J_INT, J_DBL, J_STR, J_ARR, J_OBJ };

struct jn {
    enum jt t;
    int b;
    long long i;
    double d;
    const char *s; /* J_STR: the raw bytes between the quotes; J_ARR: the raw array */
    size_t slen;
    /* J_OBJ */
    const char **keys; /* raw key bytes (between quotes) */
    size_t *klens;
    struct jn **kids;
    size_t n, cap;
};

struct parser {
    const char *p, *end;
    int depth;
};

static void jn_free(struct jn *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) jn_free(n->kids[i]);
    free(n->keys);
    free(n->klens);
    free(n->kids);
    free(n);
}

static void ws(struct parser *P)
{
    while (P->p < P->end && (*P->p == ' ' || *P->p == '\t' || *P->p == '\n' || *P->p == '\r')) P->p++;
}

/* The raw bytes of a string (P->p at its opening quote); -1 if unterminated. */
static int raw_string(struct parser *P, const char **s, size_t *len)
{
    if (P->p >= P->end || *P->p != '"') return -1;
    const char *b = ++P->p;
    while (P->p < P->end && *P->p != '"') {
        if (*P->p == '\\') P->p++;
        P->p++;
    }
    if (P->p >= P->end) return -1;
    *s = b;
    *len = (size_t)(P->p - b);
    P->p++;
    return 0;
}

/* Skips a value of any kind (arrays are kept raw). */
static int skip_value(struct parser *P)
{
    ws(P);
    if (P->p >= P->end) return -1;
    if (*P->p == '"') {
        const char *s;
        size_t l;
        return raw_string(P, &s, &l);
    }
    if (*P->p == '[' || *P->p == '{') {
        int level = 0;
        while (P->p < P->end) {
            char c = *P->p;
            if (c == '"') {
                const char *s;
                size_t l;
                if (raw_string(P, &s, &l) != 0) return -1;
                continue;
            }
            if (c == '[' || c == '{') level++;
            if (c == ']' || c == '}') {
                level--;
                if (level == 0) {
                    P->p++;
                    return 0;
                }
                if (level < 0) return -1;
            }
            P->p++;
        }
        return -1;
    }
    while (P->p < P->end && *P->p != ',' && *P->p != '}' && *P->p != ']' && *P->p != ' ') P->p++;
    return 0;
}

static struct jn *parse_value(struct parser *P);

static int obj_add(struct jn *o, const char *k, size_t kl, struct jn *v)
{
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 8;
        const char **nk = realloc(o->keys, nc * sizeof *nk);
        if (!nk) return -1;
        o->keys = nk;
        size_t *nl = realloc(o->klens, nc * sizeof *nl);
        if (!nl) return -1;
        o->klens = nl;
        struct jn **nv = realloc(o->kids, nc * sizeof *nv);
        if (!nv) return -1;
        o->kids = nv;
        o->cap = nc;
    }
    o->keys[o->n] = k;
    o->klens[o->n] = kl;
    o->kids[o->n] = v;
    o->n++;
    return 0;
}

static struct jn *parse_value(struct parser *P)
{
    ws(P);
    if (P->p >= P->end) return NULL;
    struct jn *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    char c = *P->p;
    if (c == '{') {
        if (++P->depth > JSONSUM_MAX_DEPTH) goto bad;
        n->t = J_OBJ;
        P->p++;
        ws(P);
        if (P->p < P->end && *P->p == '}') {
            P->p++;
            P->depth--;
            return n;
        }
        for (;;) {
            ws(P);
            const char *k;
            size_t kl;
            if (raw_string(P, &k, &kl) != 0) goto bad;
            ws(P);
            if (P->p >= P->end || *P->p != ':') goto bad;
            P->p++;
            struct jn *v = parse_value(P);
            if (!v) goto bad;
            if (obj_add(n, k, kl, v) != 0) {
                jn_free(v);
                goto bad;
            }
            ws(P);
            if (P->p < P->end && *P->p == ',') {
                P->p++;
                continue;
            }
            if (P->p < P->end && *P->p == '}') {
                P->p++;
                P->depth--;
                return n;
            }
            goto bad;
        }
    }
    if (c == '[') {
        n->t = J_ARR;
        const char *b = P->p;
        if (skip_value(P) != 0) goto bad;
        n->s = b;
        n->slen = (size_t)(P->p - b);
        return n;
    }
    if (c == '"') {
        n->t = J_STR;
        if (raw_string(P, &n->s, &n->slen) != 0) goto bad;
        return n;
    }
    if (P->end - P->p >= 4 && memcmp(P->p, "true", 4) == 0) {
        n->t = J_BOOL;
        n->b = 1;
        P->p += 4;
        return n;
    }
    if (P->end - P->p >= 5 && memcmp(P->p, "false", 5) == 0) {
        n->t = J_BOOL;
        P->p += 5;
        return n;
    }
    if (P->end - P->p >= 4 && memcmp(P->p, "null", 4) == 0) {
        n->t = J_NULL;
        P->p += 4;
        return n;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        char num[64];
        size_t l = 0;
        int is_int = 1;
        while (P->p < P->end && l < sizeof num - 1 && strchr("+-0123456789.eE", *P->p)) {
            if (*P->p == '.' || *P->p == 'e' || *P->p == 'E') is_int = 0;
            num[l++] = *P->p++;
        }
        num[l] = '\0';
        char *e;
        if (is_int) {
            n->t = J_INT;
            n->i = strtoll(num, &e, 10);
        } else {
            n->t = J_DBL;
            n->d = strtod(num, &e);
        }
        if (*e) goto bad;
        return n;
    }
bad:
    jn_free(n);
    return NULL;
}

static struct jn *parse(const char *s, size_t len)
{
    struct parser P = { s, s + len, 0 };
    struct jn *n = parse_value(&P);
    if (!n) return NULL;
    ws(&P);
    if (P.p != P.end) {
        jn_free(n);
        return NULL;
    }
    return n;
}

/* dst += src; src's nodes that dst lacks are moved over. */
static void merge(struct jn *dst, struct jn *src)
{
    if (dst->t == J_OBJ && src->t == J_OBJ) {
        for (size_t k = 0; k < src->n; k++) {
            size_t j = 0;
            while (j < dst->n && !(dst->klens[j] == src->klens[k] && memcmp(dst->keys[j], src->keys[k], src->klens[k]) == 0))
                j++;
            if (j < dst->n) {
                merge(dst->kids[j], src->kids[k]);
            } else if (obj_add(dst, src->keys[k], src->klens[k], src->kids[k]) == 0) {
                src->kids[k] = NULL; /* moved */
            }
        }
        return;
    }
    if ((dst->t == J_INT || dst->t == J_DBL) && (src->t == J_INT || src->t == J_DBL)) {
        if (dst->t == J_INT && src->t == J_INT) {
            dst->i = (long long)((unsigned long long)dst->i + (unsigned long long)src->i);
        } else {
            double a = dst->t == J_INT ? (double)dst->i : dst->d;
            double b = src->t == J_INT ? (double)src->i : src->d;
            dst->t = J_DBL;
            dst->d = a + b;
        }
        return;
    }
    if (dst->t == J_BOOL && src->t == J_BOOL) {
        dst->b |= src->b;
        return;
    }
    if (dst->t == J_STR && src->t == J_STR) {
        size_t m = dst->slen < src->slen ? dst->slen : src->slen;
        int c = memcmp(dst->s, src->s, m);
        if (c < 0 || (c == 0 && src->slen > dst->slen)) {
            dst->s = src->s;
            dst->slen = src->slen;
        }
        return;
    }
    if (dst->t == J_NULL && src->t != J_NULL && src->t != J_OBJ) { /* a value where the first had none */
        dst->t = src->t;
        dst->b = src->b;
        dst->i = src->i;
        dst->d = src->d;
        dst->s = src->s;
        dst->slen = src->slen;
    }
    /* arrays, other mismatches: the first document's value stays */
}

struct out {
    char *b;
    size_t len, cap;
    int err;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->err || o->len + n + 1 > o->cap) {
        o->err = 1;
        return;
    }
    memcpy(o->b + o->len, s, n);
    o->len += n;
    o->b[o->len] = '\0';
}

static void emit(struct out *o, const struct jn *n)
{
    char num[64];
    int k;
    switch (n->t) {
    case J_NULL: put(o, "null", 4); break;
    case J_BOOL: n->b ? put(o, "true", 4) : put(o, "false", 5); break;
    case J_INT:
        k = snprintf(num, sizeof num, "%lld", n->i);
        put(o, num, (size_t)k);
        break;
    case J_DBL:
        k = snprintf(num, sizeof num, "%.3f", n->d);
        put(o, num, (size_t)k);
        break;
    case J_STR:
        put(o, "\"", 1);
        put(o, n->s, n->slen);
        put(o, "\"", 1);
        break;
    case J_ARR: put(o, n->s, n->slen); break;
    case J_OBJ:
        put(o, "{", 1);
        for (size_t i = 0, first = 1; i < n->n; i++) {
            if (!n->kids[i]) continue;
            if (!first) put(o, ",", 1);
            first = 0;
            put(o, "\"", 1);
            put(o, n->keys[i], n->klens[i]);
            put(o, "\":", 2);
            emit(o, n->kids[i]);
        }
        put(o, "}", 1);
        break;
    }
}

long jsonsum(const char *const *docs, const size_t *lens, size_t n, char *out, size_t outlen)
{
    if (!n || !outlen) return -1;
    struct jn **t = calloc(n, sizeof *t);
    if (!t) return -1;
    long rc = -1;
    for (size_t i = 0; i < n; i++) {
        size_t l = lens[i];
        while (l && (docs[i][l - 1] == '\n' || docs[i][l - 1] == '\r')) l--;
        if (!(t[i] = parse(docs[i], l))) goto done;
    }
    for (size_t i = 1; i < n; i++) merge(t[0], t[i]);
    struct out o = { out, 0, outlen, 0 };
    out[0] = '\0';
    emit(&o, t[0]);
    if (!o.err) rc = (long)o.len;
done:
    for (size_t i = 0; i < n; i++) jn_free(t[i]);
    free(t);
    return rc;
}
