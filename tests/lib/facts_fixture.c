/* JSON -> typed facts, through the descriptors of src/facts_schema.def. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strptime, timegm */
#endif
#include "facts_fixture.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "value_parse.h"

struct fixture {
    tls_facts f; /* first: facts_fixture_free casts back */
    struct value *tree; /* strings point into it */
    void **allocs;
    size_t n, cap;
};

static void *falloc(struct fixture *x, size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) abort();
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 16;
        x->allocs = realloc(x->allocs, x->cap * sizeof *x->allocs);
        if (!x->allocs) abort();
    }
    x->allocs[x->n++] = p;
    return p;
}

static int fail(char *err, size_t errlen, const char *path, const char *key, const char *what)
{
    if (err) snprintf(err, errlen, "%s%s%s: %s", path, *path ? "." : "", key, what);
    return -1;
}

static int parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!e) return -1;
    if (*e == '.') /* fractions are not kept */
        while (*++e >= '0' && *e <= '9') {}
    if (*e != 'Z' || e[1]) return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

static int load_obj(struct fixture *x, const struct facts_type *t, void *obj, const struct value *vo,
                    const char *path, char *err, size_t errlen);

static int load_field(struct fixture *x, const struct facts_field *fd, void *obj, const struct value *v,
                      const char *path, char *err, size_t errlen)
{
    char *m = (char *)obj + fd->off;
    uint8_t *st = (uint8_t *)obj + fd->st;
    const char *k = fd->key;
    if (v->type == V_NULL) {
        *st = FACTS_NULL;
        return 0;
    }
    *st = FACTS_VAL;
    switch (fd->kind) {
    case K_BOOL:
        if (v->type != V_BOOL) return fail(err, errlen, path, k, "a bool expected");
        *(bool *)m = v->u.b != 0;
        return 0;
    case K_INT:
        if (v->type == V_INT) *(int64_t *)m = v->u.i;
        else if (v->type == V_DOUBLE && v->u.d == (double)(int64_t)v->u.d) *(int64_t *)m = (int64_t)v->u.d;
        else return fail(err, errlen, path, k, "an integer expected");
        return 0;
    case K_DBL:
        if (v->type == V_INT) *(double *)m = (double)v->u.i;
        else if (v->type == V_DOUBLE) *(double *)m = v->u.d;
        else return fail(err, errlen, path, k, "a number expected");
        return 0;
    case K_KEY:
        return 0; /* computed from key_type and key_bits */
    case K_FP:
        *st = FACTS_NULL; /* computed from the hellos, which fixtures do not hold */
        return 0;
    case K_OBJ:
    case K_OBJP: {
        if (v->type != V_OBJ) return fail(err, errlen, path, k, "an object expected");
        void *sub = m;
        if (fd->kind == K_OBJP) {
            sub = falloc(x, fd->sub->size);
            *(const void **)m = sub;
        }
        char p[256];
        snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", k);
        return load_obj(x, fd->sub, sub, v, p, err, errlen);
    }
    default:
        break;
    }
    if (fd->kind == K_NAMES || fd->kind == K_STRS || fd->kind == K_BITS || fd->kind == K_OBJA) {
        if (v->type != V_ARR) return fail(err, errlen, path, k, "an array expected");
        size_t n = v->u.arr.n;
        if (fd->kind == K_OBJA) {
            char *arr = falloc(x, n * fd->sub->size);
            for (size_t i = 0; i < n; i++) {
                char p[256];
                snprintf(p, sizeof p, "%s%s%s[%zu]", path, *path ? "." : "", k, i);
                if (v->u.arr.items[i]->type != V_OBJ) return fail(err, errlen, p, "", "an object expected");
                if (load_obj(x, fd->sub, arr + i * fd->sub->size, v->u.arr.items[i], p, err, errlen)) return -1;
            }
            *(struct facts_arr *)m = (struct facts_arr){ arr, (uint32_t)n };
            return 0;
        }
        uint16_t *codes = falloc(x, n * sizeof *codes);
        const char **strs = falloc(x, n * sizeof *strs);
        uint64_t bits = 0;
        for (size_t i = 0; i < n; i++) {
            const struct value *e = v->u.arr.items[i];
            if (e->type != V_STR) return fail(err, errlen, path, k, "strings expected");
            if (fd->kind == K_STRS) {
                strs[i] = e->u.str.s;
            } else if (fd->kind == K_NAMES) {
                long c = facts_name_code(fd->arg, e->u.str.s);
                if (c < 0) return fail(err, errlen, path, k, "a name not in the table");
                codes[i] = (uint16_t)c;
            } else {
                int b = facts_bit_index(fd->arg, e->u.str.s);
                if (b < 0) return fail(err, errlen, path, k, "a name not in the table");
                bits |= (uint64_t)1 << b;
            }
        }
        if (fd->kind == K_STRS) *(struct facts_strs *)m = (struct facts_strs){ strs, (uint32_t)n };
        else if (fd->kind == K_NAMES) *(struct facts_codes *)m = (struct facts_codes){ codes, (uint32_t)n };
        else *(uint64_t *)m = bits;
        return 0;
    }
    if (v->type != V_STR) return fail(err, errlen, path, k, "a string expected");
    const char *s = v->u.str.s;
    switch (fd->kind) {
    case K_STR: *(const char **)m = s; return 0;
    case K_ENUM: {
        int i = facts_enum_index(fd->arg, s);
        if (i < 0) return fail(err, errlen, path, k, "a value not in the enum");
        *(int8_t *)m = (int8_t)i;
        return 0;
    }
    case K_NAME: {
        long c = facts_name_code(fd->arg, s);
        if (c < 0) return fail(err, errlen, path, k, "a name not in the table");
        *(uint16_t *)m = (uint16_t)c;
        return 0;
    }
    case K_TIME:
        if (parse_time(s, (int64_t *)m)) return fail(err, errlen, path, k, "an RFC 3339 time expected");
        return 0;
    case K_IP: {
        struct facts_ip *ip = (struct facts_ip *)m;
        if (inet_pton(AF_INET, s, ip->a) == 1) ip->family = 4;
        else if (inet_pton(AF_INET6, s, ip->a) == 1) ip->family = 6;
        else return fail(err, errlen, path, k, "an address expected");
        return 0;
    }
    }
    return fail(err, errlen, path, k, "unsupported kind");
}

static int load_obj(struct fixture *x, const struct facts_type *t, void *obj, const struct value *vo,
                    const char *path, char *err, size_t errlen)
{
    memset(obj, 0, t->size); /* every field absent */
    for (size_t i = 0; i < vo->u.obj.n; i++) {
        int fi = facts_field_index(t, vo->u.obj.keys[i]);
        if (fi < 0) return fail(err, errlen, path, vo->u.obj.keys[i], "not in the facts schema");
        if (load_field(x, &t->fields[fi], obj, vo->u.obj.vals[i], path, err, errlen)) return -1;
    }
    return 0;
}

static tls_facts *from_tree(struct value *tree, char *err, size_t errlen)
{
    if (!tree) return NULL;
    if (tree->type != V_OBJ) {
        if (err) snprintf(err, errlen, "facts: an object expected");
        value_free(tree);
        return NULL;
    }
    struct fixture *x = calloc(1, sizeof *x);
    if (!x) abort();
    x->tree = tree;
    if (load_obj(x, &facts_type_TLS, &x->f, tree, "", err, errlen)) {
        facts_fixture_free(&x->f);
        return NULL;
    }
    return &x->f;
}

tls_facts *facts_fixture_parse(const char *json, size_t len, char *err, size_t errlen)
{
    return from_tree(value_parse_json(json, len, err, errlen), err, errlen);
}

tls_facts *facts_fixture_file(const char *path, char *err, size_t errlen)
{
    return from_tree(value_parse_json_file(path, err, errlen), err, errlen);
}

void facts_fixture_free(tls_facts *f)
{
    if (!f) return;
    struct fixture *x = (struct fixture *)f;
    for (size_t i = 0; i < x->n; i++) free(x->allocs[i]);
    free(x->allocs);
    value_free(x->tree);
    free(x);
}
