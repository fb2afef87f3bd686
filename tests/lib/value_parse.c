/* A strict recursive-descent JSON reader producing struct value trees.
 * \uXXXX escapes (with surrogate pairs) are decoded to UTF-8; a lone
 * surrogate or \u0000 is rejected so strings stay C strings. */
#include "value_parse.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jp {
    const char *s, *p, *end;
    char *err;
    size_t errlen;
    int failed;
};

static void jp_fail(struct jp *J, const char *what)
{
    if (J->failed) return;
    J->failed = 1;
    if (!J->err || !J->errlen) return;
    int line = 1, col = 1;
    for (const char *q = J->s; q < J->p && q < J->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(J->err, J->errlen, "%d:%d: %s", line, col, what);
}

static void ws(struct jp *J)
{
    while (J->p < J->end && (*J->p == ' ' || *J->p == '\t' || *J->p == '\n' || *J->p == '\r')) J->p++;
}

static int lit(struct jp *J, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(J->end - J->p) >= n && memcmp(J->p, w, n) == 0) {
        J->p += n;
        return 1;
    }
    return 0;
}

static int hex4(struct jp *J, unsigned *out)
{
    if (J->end - J->p < 4) return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = J->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    J->p += 4;
    *out = v;
    return 1;
}

static char *jstring(struct jp *J, size_t *outlen)
{
    /* J->p at the opening quote */
    J->p++;
    size_t cap = 32, n = 0;
    char *b = malloc(cap);
    if (!b) {
        fprintf(stderr, "tlswatch: out of memory\n");
        exit(1);
    }
    for (;;) {
        if (J->p >= J->end) {
            jp_fail(J, "unterminated string");
            free(b);
            return NULL;
        }
        unsigned char c = (unsigned char)*J->p;
        char tmp[4];
        size_t tn = 0;
        if (c == '"') {
            J->p++;
            break;
        }
        if (c < 0x20) {
            jp_fail(J, "control character in string");
            free(b);
            return NULL;
        }
        if (c == '\\') {
            J->p++;
            if (J->p >= J->end) continue;
            char e = *J->p++;
            unsigned u;
            switch (e) {
            case '"': tmp[tn++] = '"'; break;
            case '\\': tmp[tn++] = '\\'; break;
            case '/': tmp[tn++] = '/'; break;
            case 'b': tmp[tn++] = '\b'; break;
            case 'f': tmp[tn++] = '\f'; break;
            case 'n': tmp[tn++] = '\n'; break;
            case 'r': tmp[tn++] = '\r'; break;
            case 't': tmp[tn++] = '\t'; break;
            case 'u':
                if (!hex4(J, &u)) {
                    jp_fail(J, "bad \\u escape");
                    free(b);
                    return NULL;
                }
                if (u >= 0xd800 && u < 0xdc00) {
                    unsigned lo;
                    if (!lit(J, "\\u") || !hex4(J, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                        jp_fail(J, "lone surrogate");
                        free(b);
                        return NULL;
                    }
                    u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                } else if ((u >= 0xdc00 && u < 0xe000) || u == 0) {
                    jp_fail(J, "bad \\u escape");
                    free(b);
                    return NULL;
                }
                if (u < 0x80) {
                    tmp[tn++] = (char)u;
                } else if (u < 0x800) {
                    tmp[tn++] = (char)(0xc0 | (u >> 6));
                    tmp[tn++] = (char)(0x80 | (u & 0x3f));
                } else if (u < 0x10000) {
                    tmp[tn++] = (char)(0xe0 | (u >> 12));
                    tmp[tn++] = (char)(0x80 | ((u >> 6) & 0x3f));
                    tmp[tn++] = (char)(0x80 | (u & 0x3f));
                } else {
                    tmp[tn++] = (char)(0xf0 | (u >> 18));
                    tmp[tn++] = (char)(0x80 | ((u >> 12) & 0x3f));
                    tmp[tn++] = (char)(0x80 | ((u >> 6) & 0x3f));
                    tmp[tn++] = (char)(0x80 | (u & 0x3f));
                }
                break;
            default:
                J->p--;
                jp_fail(J, "bad escape");
                free(b);
                return NULL;
            }
        } else {
            tmp[tn++] = (char)c;
            J->p++;
        }
        if (n + tn + 1 > cap) {
            cap *= 2;
            char *nb = realloc(b, cap);
            if (!nb) {
                fprintf(stderr, "tlswatch: out of memory\n");
                exit(1);
            }
            b = nb;
        }
        memcpy(b + n, tmp, tn);
        n += tn;
    }
    b[n] = '\0';
    *outlen = n;
    return b;
}

static struct value *jvalue(struct jp *J, int depth);

static struct value *jnumber(struct jp *J)
{
    const char *s = J->p;
    if (J->p < J->end && *J->p == '-') J->p++;
    int isint = 1, digits = 0;
    while (J->p < J->end && *J->p >= '0' && *J->p <= '9') {
        J->p++;
        digits++;
    }
    if (!digits) {
        jp_fail(J, "bad number");
        return NULL;
    }
    if (J->p < J->end && *J->p == '.') {
        isint = 0;
        J->p++;
        while (J->p < J->end && *J->p >= '0' && *J->p <= '9') J->p++;
    }
    if (J->p < J->end && (*J->p == 'e' || *J->p == 'E')) {
        isint = 0;
        J->p++;
        if (J->p < J->end && (*J->p == '+' || *J->p == '-')) J->p++;
        while (J->p < J->end && *J->p >= '0' && *J->p <= '9') J->p++;
    }
    char buf[64];
    size_t n = (size_t)(J->p - s);
    if (n >= sizeof buf) {
        jp_fail(J, "number too long");
        return NULL;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    if (isint) {
        char *e;
        long long v = strtoll(buf, &e, 10);
        if (!*e && !errno) return value_int((int64_t)v);
    }
    char *e;
    double d = strtod(buf, &e);
    if (*e) {
        jp_fail(J, "bad number");
        return NULL;
    }
    return value_double(d);
}

static struct value *jvalue(struct jp *J, int depth)
{
    ws(J);
    if (depth > 64) {
        jp_fail(J, "nesting too deep");
        return NULL;
    }
    if (J->p >= J->end) {
        jp_fail(J, "unexpected end of input");
        return NULL;
    }
    char c = *J->p;
    if (c == '{') {
        J->p++;
        struct value *o = value_obj();
        ws(J);
        if (J->p < J->end && *J->p == '}') {
            J->p++;
            return o;
        }
        for (;;) {
            ws(J);
            if (J->p >= J->end || *J->p != '"') {
                jp_fail(J, "expected a key");
                value_free(o);
                return NULL;
            }
            size_t kl;
            char *k = jstring(J, &kl);
            if (!k) {
                value_free(o);
                return NULL;
            }
            ws(J);
            if (J->p >= J->end || *J->p != ':') {
                jp_fail(J, "expected ':'");
                free(k);
                value_free(o);
                return NULL;
            }
            J->p++;
            struct value *v = jvalue(J, depth + 1);
            if (!v) {
                free(k);
                value_free(o);
                return NULL;
            }
            value_obj_set(o, k, v);
            free(k);
            ws(J);
            if (J->p < J->end && *J->p == ',') {
                J->p++;
                continue;
            }
            if (J->p < J->end && *J->p == '}') {
                J->p++;
                return o;
            }
            jp_fail(J, "expected ',' or '}'");
            value_free(o);
            return NULL;
        }
    }
    if (c == '[') {
        J->p++;
        struct value *a = value_arr();
        ws(J);
        if (J->p < J->end && *J->p == ']') {
            J->p++;
            return a;
        }
        for (;;) {
            struct value *v = jvalue(J, depth + 1);
            if (!v) {
                value_free(a);
                return NULL;
            }
            value_arr_push(a, v);
            ws(J);
            if (J->p < J->end && *J->p == ',') {
                J->p++;
                continue;
            }
            if (J->p < J->end && *J->p == ']') {
                J->p++;
                return a;
            }
            jp_fail(J, "expected ',' or ']'");
            value_free(a);
            return NULL;
        }
    }
    if (c == '"') {
        size_t n;
        char *s = jstring(J, &n);
        if (!s) return NULL;
        struct value *v = value_strn(s, n);
        free(s);
        return v;
    }
    if (lit(J, "true")) return value_bool(1);
    if (lit(J, "false")) return value_bool(0);
    if (lit(J, "null")) return value_null();
    if (c == '-' || (c >= '0' && c <= '9')) return jnumber(J);
    jp_fail(J, "unexpected character");
    return NULL;
}

struct value *value_parse_json(const char *text, size_t len, char *err, size_t errlen)
{
    struct jp J = { text, text, text + len, err, errlen, 0 };
    struct value *v = jvalue(&J, 0);
    if (!v) return NULL;
    ws(&J);
    if (J.p != J.end) {
        jp_fail(&J, "trailing characters after the value");
        value_free(v);
        return NULL;
    }
    return v;
}

struct value *value_parse_json_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err) snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0, r;
    char *b = malloc(cap);
    if (!b) {
        fclose(f);
        return NULL;
    }
    while ((r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            if (cap > (64u << 20)) break;
            cap *= 2;
            char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                fclose(f);
                return NULL;
            }
            b = nb;
        }
    }
    fclose(f);
    char e2[200] = "";
    struct value *v = value_parse_json(b, n, e2, sizeof e2);
    free(b);
    if (!v && err) snprintf(err, errlen, "%s:%s", path, e2);
    return v;
}
