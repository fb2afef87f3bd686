/* Typed facts: descriptors generated from facts_schema.def, reading a
 * field as a value view, and the schema-driven JSON writer. */
#include "facts.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "certcheck.h"
#include "tls_names.h"

/* ------------------------------------------------------------ descriptors */

#define FACTS_SUB_K_OBJ(a) &facts_type_##a
#define FACTS_SUB_K_OBJP(a) &facts_type_##a
#define FACTS_SUB_K_OBJA(a) &facts_type_##a
#define FACTS_SUB_K_BOOL(a) NULL
#define FACTS_SUB_K_INT(a) NULL
#define FACTS_SUB_K_DBL(a) NULL
#define FACTS_SUB_K_STR(a) NULL
#define FACTS_SUB_K_ENUM(a) NULL
#define FACTS_SUB_K_NAME(a) NULL
#define FACTS_SUB_K_NAMES(a) NULL
#define FACTS_SUB_K_STRS(a) NULL
#define FACTS_SUB_K_BITS(a) NULL
#define FACTS_SUB_K_TIME(a) NULL
#define FACTS_SUB_K_IP(a) NULL
#define FACTS_SUB_K_KEY(a) NULL
#define FACTS_SUB_K_FP(a) NULL
#define FACTS_ARG_K_OBJ(a) 0
#define FACTS_ARG_K_OBJP(a) 0
#define FACTS_ARG_K_OBJA(a) 0
#define FACTS_ARG_K_BOOL(a) a
#define FACTS_ARG_K_INT(a) a
#define FACTS_ARG_K_DBL(a) a
#define FACTS_ARG_K_STR(a) a
#define FACTS_ARG_K_ENUM(a) a
#define FACTS_ARG_K_NAME(a) a
#define FACTS_ARG_K_NAMES(a) a
#define FACTS_ARG_K_STRS(a) a
#define FACTS_ARG_K_BITS(a) a
#define FACTS_ARG_K_TIME(a) a
#define FACTS_ARG_K_IP(a) a
#define FACTS_ARG_K_KEY(a) a
#define FACTS_ARG_K_FP(a) a

#define FACTS_DESC(T, m, key, kind, arg)                                                            \
    { key, kind, FACTS_ARG_##kind(arg), (uint16_t)offsetof(struct facts_##T, m),                  \
      (uint16_t)(offsetof(struct facts_##T, st) + FI_##T##_##m), FACTS_SUB_##kind(arg) },
#define FACTS_TABLE(T)                                                                              \
    static const struct facts_field fields_##T[] = { FACTS_FIELDS_##T(FACTS_DESC, T) };             \
    const struct facts_type facts_type_##T = { #T, fields_##T, FI_##T##__N,                         \
                                               (uint16_t)offsetof(struct facts_##T, st),            \
                                               sizeof(struct facts_##T) };
FACTS_TYPES(FACTS_TABLE)

int facts_field_index(const struct facts_type *t, const char *key)
{
    for (int i = 0; i < (int)t->nfields; i++)
        if (strcmp(t->fields[i].key, key) == 0) return i;
    return -1;
}

int facts_resolve(const char *path, const struct facts_type **owner, const struct facts_field **fd,
                  int *elem)
{
    const struct facts_type *t = &facts_type_TLS;
    *fd = NULL;
    *elem = 0;
    *owner = t;
    const char *p = path;
    if (!*p) return 1;
    for (;;) {
        if (!t) return 0;
        const char *e = p;
        while (*e && *e != '.' && *e != '[') e++;
        const struct facts_field *f = NULL;
        size_t len = (size_t)(e - p);
        /* the key equals p[0..len): first byte, then the rest and its end
         * (no strlen of every key: the rules resolve some 700 paths at load) */
        for (unsigned i = 0; i < t->nfields; i++) {
            const char *k = t->fields[i].key;
            if ((len == 0 || k[0] == p[0]) && strncmp(k, p, len) == 0 && k[len] == '\0') f = &t->fields[i];
        }
        if (!f) return 0;
        *owner = t;
        *fd = f;
        *elem = 0;
        if (*e == '[') {
            if (e[1] != ']' || (f->kind != K_OBJA && f->kind != K_NAMES && f->kind != K_STRS && f->kind != K_BITS))
                return 0;
            *elem = 1;
            e += 2;
        }
        if (!*e) return 1;
        if (*e != '.') return 0;
        if (*elem ? f->kind != K_OBJA : (f->kind != K_OBJ && f->kind != K_OBJP)) return 0;
        t = f->sub;
        p = e + 1;
    }
}

unsigned facts_path_type(const char *path)
{
    const struct facts_type *owner;
    const struct facts_field *fd;
    int elem;
    if (!facts_resolve(path, &owner, &fd, &elem)) return 0;
    if (!fd) return FT_OBJ;
    if (elem) return fd->kind == K_OBJA ? FT_OBJ : FT_STR;
    switch (fd->kind) {
    case K_BOOL: return FT_BOOL;
    case K_INT: return FT_INT;
    case K_DBL: return FT_DBL | FT_INT;
    case K_STR: case K_ENUM: case K_NAME: case K_TIME: case K_IP: case K_KEY: case K_FP: return FT_STR;
    case K_NAMES: case K_STRS: case K_BITS: return FT_ASTR;
    case K_OBJ: case K_OBJP: return FT_OBJ;
    case K_OBJA: return FT_AOBJ;
    }
    return 0;
}

const struct facts_type *facts_path_object(const char *path)
{
    const struct facts_type *owner;
    const struct facts_field *fd;
    int elem;
    if (!facts_resolve(path, &owner, &fd, &elem)) return NULL;
    if (!fd) return &facts_type_TLS;
    if (elem) return fd->kind == K_OBJA ? fd->sub : NULL;
    return fd->kind == K_OBJ || fd->kind == K_OBJP ? fd->sub : NULL;
}

/* ------------------------------------------------------------- tables */

static const char *const en_side[] = { "client", "server" };
static const char *const en_how[] = { "fin", "rst" };
static const char *const en_level[] = { "unknown", "warning", "fatal" };
static const char *const en_outcome[] = { "established", "resumed", "failed", "aborted", "timeout",
                                          "renegotiated", "reneg_rejected", "incomplete_capture" };
static const char *const en_resumption[] = { "psk", "ticket", "session_id", "session_id_or_compat" };
static const char *const en_incomplete[] = { "handshake_start_missing", "no_client_hello", "bytes_missing", "gap",
                                             "encrypted_control_channel" };
static const char *const en_ovpn_prot[] = { "none", "tls-auth", "tls-crypt", "tls-crypt-v2" };
static const char *const en_ocsp[] = { "good", "revoked", "unknown" };
static const char *const en_rr[] = { "accepted", "ignored", "rejected", "unknown" };
static const char *const en_certstatus[] = { "ok", "expired", "not_yet_valid", "self_signed", "unknown_ca",
                                             "chain_incomplete", "hostname_mismatch", "bad_signature",
                                             "invalid", "malformed", "no_certificate" };
#define TAB(x) { x, sizeof x / sizeof x[0] }
static const struct {
    const char *const *s;
    size_t n;
} enums[EN__N] = {
    [EN_SIDE] = TAB(en_side),           [EN_HOW] = TAB(en_how),
    [EN_LEVEL] = TAB(en_level),         [EN_OUTCOME] = TAB(en_outcome),
    [EN_RESUMPTION] = TAB(en_resumption), [EN_INCOMPLETE] = TAB(en_incomplete),
    [EN_OCSP] = TAB(en_ocsp),           [EN_CERTSTATUS] = TAB(en_certstatus),
    [EN_RENEG_RESULT] = TAB(en_rr),     [EN_OVPN_PROT] = TAB(en_ovpn_prot),
};

const char *facts_enum_name(int en, int i)
{
    if (en < 0 || en >= EN__N || i < 0 || (size_t)i >= enums[en].n) return NULL;
    return enums[en].s[i];
}

int facts_enum_index(int en, const char *s)
{
    if (en < 0 || en >= EN__N || !s) return -1;
    for (size_t i = 0; i < enums[en].n; i++)
        if (strcmp(enums[en].s[i], s) == 0) return (int)i;
    return -1;
}

static const char *const weakness[] = { "null", "export", "anon", "rc4", "des", "3des", "rsa_kx", "cbc", "md5", "unknown" };

const char *facts_bit_name(int bt, int i)
{
    if (i < 0 || i > 63) return NULL;
    if (bt == BT_WEAKNESS) return (size_t)i < sizeof weakness / sizeof weakness[0] ? weakness[i] : NULL;
    if (bt == BT_ANOMALY) {
        if (i == FACTS_ANOM_DUPLICATE_CH) return "duplicate_client_hello";
        return i < TLS_ANOM_COUNT ? tls_names_anomaly((enum tls_anomaly)i) : NULL;
    }
    return NULL;
}

int facts_bit_index(int bt, const char *name)
{
    for (int i = 0; i < 64; i++) {
        const char *s = facts_bit_name(bt, i);
        if (s && strcmp(s, name) == 0) return i;
    }
    return -1;
}

static const char *raw_name(int nt, uint16_t code)
{
    switch (nt) {
    case NT_VERSION: return tls_names_version(code);
    case NT_CIPHER: return tls_names_cipher(code);
    case NT_GROUP: return tls_names_group(code);
    case NT_EXT: return tls_names_extension(code);
    case NT_SIG: return tls_names_sigscheme(code);
    case NT_ALERT: return code <= 255 ? tls_names_alert((uint8_t)code) : NULL;
    }
    return NULL;
}

const char *facts_name(int nt, uint16_t code, char *buf, size_t n)
{
    return tls_names_fmt(raw_name(nt, code), code, buf, n);
}

long facts_name_code(int nt, const char *name)
{
    if (!name) return -1;
    const char *h = NULL;
    if (strncmp(name, "unknown_0x", 10) == 0) h = name + 10;
    else if (strncmp(name, "grease_0x", 9) == 0) h = name + 9;
    if (h) {
        char *end;
        unsigned long v = strtoul(h, &end, 16);
        return *end || end == h || v > 0xffff ? -1 : (long)v;
    }
    unsigned max = nt == NT_ALERT ? 255 : 0xffff;
    for (unsigned c = 0; c <= max; c++) {
        const char *s = raw_name(nt, (uint16_t)c);
        if (s && strcmp(s, name) == 0) return (long)c;
    }
    return -1;
}

/* ------------------------------------------------------------- reading */

static char *scratch(struct facts_scratch *sc, size_t n)
{
    if (sc->used + n > sizeof sc->buf) sc->used = 0; /* a ring: views live one rule */
    char *p = sc->buf + sc->used;
    sc->used += n;
    return p;
}

static void set_str(struct fval *o, const char *s)
{
    if (!s) {
        o->k = FV_NULL;
        return;
    }
    o->k = FV_STR;
    o->s = s;
    o->n = strlen(s);
}

static const char *time_str(int64_t epoch, struct facts_scratch *sc)
{
    time_t t = (time_t)epoch;
    struct tm tm;
    char *b = scratch(sc, 32);
    if (!gmtime_r(&t, &tm) || !strftime(b, 32, "%Y-%m-%dT%H:%M:%SZ", &tm)) b[0] = '\0';
    return b;
}

void facts_get(const struct facts_field *fd, const void *obj, struct fval *o, struct facts_scratch *sc)
{
    const char *base = obj;
    memset(o, 0, sizeof *o);
    o->k = FV_NULL;
    if (!obj || (uint8_t)base[fd->st] != FACTS_VAL) return;
    const void *m = base + fd->off;
    switch (fd->kind) {
    case K_BOOL:
        o->k = FV_BOOL;
        o->i = *(const bool *)m;
        return;
    case K_INT:
        o->k = FV_INT;
        o->i = *(const int64_t *)m;
        return;
    case K_DBL:
        o->k = FV_DBL;
        o->d = *(const double *)m;
        return;
    case K_STR: set_str(o, *(const char *const *)m); return;
    case K_ENUM: set_str(o, facts_enum_name(fd->arg, *(const int8_t *)m)); return;
    case K_NAME: {
        char *b = scratch(sc, 24);
        set_str(o, facts_name(fd->arg, *(const uint16_t *)m, b, 24));
        return;
    }
    case K_TIME: set_str(o, time_str(*(const int64_t *)m, sc)); return;
    case K_IP: {
        const struct facts_ip *ip = m;
        char *b = scratch(sc, 48);
        if (!inet_ntop(ip->family == 6 ? AF_INET6 : AF_INET, ip->a, b, 48)) b[0] = '\0';
        set_str(o, b);
        return;
    }
    case K_KEY: {
        /* computed from the certificate's key_type and key_bits */
        const struct facts_CERT *c = obj;
        char *b = scratch(sc, 40);
        snprintf(b, 40, "%s-%lld", c->key_type && c->key_type[0] ? c->key_type : "unknown", (long long)c->key_bits);
        set_str(o, b);
        return;
    }
    case K_FP: {
        /* formatted here, on reading, into a stack buffer first: only the
         * string's own length is taken from the scratch ring */
        char tmp[FP_STR_MAX];
        const char *s = fp_format(fd->arg, *(const struct fp_hellos *const *)m, tmp, sizeof tmp);
        if (!s) return;
        size_t n = strlen(s) + 1;
        if (n > sizeof sc->buf) return;
        char *b = scratch(sc, n);
        memcpy(b, s, n);
        set_str(o, b);
        return;
    }
    case K_NAMES: {
        const struct facts_codes *l = m;
        o->k = FV_LIST;
        o->p = l;
        o->n = l->n;
        for (uint32_t i = 0; i < l->n; i++)
            if (tls_names_is_grease(l->v[i])) o->n--;
        break;
    }
    case K_STRS: {
        const struct facts_strs *l = m;
        o->k = FV_LIST;
        o->p = l;
        o->n = l->n;
        break;
    }
    case K_BITS: {
        o->k = FV_LIST;
        o->bits = *(const uint64_t *)m;
        o->n = 0;
        for (int i = 0; i < 64; i++)
            if ((o->bits >> i) & 1 && facts_bit_name(fd->arg, i)) o->n++;
        break;
    }
    case K_OBJ:
        o->k = FV_OBJ;
        o->p = m;
        o->t = fd->sub;
        return;
    case K_OBJP:
        if (!*(const void *const *)m) return;
        o->k = FV_OBJ;
        o->p = *(const void *const *)m;
        o->t = fd->sub;
        return;
    case K_OBJA: {
        const struct facts_arr *a = m;
        o->k = FV_OBJS;
        o->p = a->v;
        o->n = a->v ? a->n : 0;
        o->t = fd->sub;
        return;
    }
    }
    o->lkind = fd->kind;
    o->larg = fd->arg;
}

void facts_item(const struct fval *v, size_t i, struct fval *out, struct facts_scratch *sc)
{
    memset(out, 0, sizeof *out);
    out->k = FV_NULL;
    if (i >= v->n) return;
    if (v->k == FV_OBJS) {
        out->k = FV_OBJ;
        out->t = v->t;
        out->p = (const char *)v->p + i * v->t->size;
        return;
    }
    if (v->k != FV_LIST) return;
    switch (v->lkind) {
    case K_STRS: {
        const struct facts_strs *l = v->p;
        set_str(out, l->v[i]);
        return;
    }
    case K_NAMES: {
        const struct facts_codes *l = v->p;
        size_t k = 0;
        for (uint32_t j = 0; j < l->n; j++) {
            if (tls_names_is_grease(l->v[j])) continue;
            if (k++ == i) {
                char *b = scratch(sc, 24);
                set_str(out, facts_name(v->larg, l->v[j], b, 24));
                return;
            }
        }
        return;
    }
    case K_BITS: {
        size_t k = 0;
        for (int b = 0; b < 64; b++) {
            const char *s = (v->bits >> b) & 1 ? facts_bit_name(v->larg, b) : NULL;
            if (s && k++ == i) {
                set_str(out, s);
                return;
            }
        }
        return;
    }
    }
}

size_t facts_len(const struct fval *v)
{
    switch (v->k) {
    case FV_STR: case FV_LIST: case FV_OBJS: return v->n;
    case FV_OBJ: {
        size_t n = 0;
        const uint8_t *st = (const uint8_t *)v->p + v->t->st_off;
        for (unsigned i = 0; i < v->t->nfields; i++) n += st[i] != FACTS_ABSENT;
        return n;
    }
    }
    return 0;
}

/* ------------------------------------------------------------- writing */

void facts_write_value(const struct fval *v, struct json *j, struct facts_scratch *sc)
{
    switch (v->k) {
    case FV_NULL: json_null(j); return;
    case FV_BOOL: json_bool(j, (int)v->i); return;
    case FV_INT: json_int(j, v->i); return;
    case FV_DBL: json_double(j, v->d, 3); return;
    case FV_STR: json_strn(j, v->s, v->n); return;
    case FV_LIST:
    case FV_OBJS:
        json_arr_begin(j);
        if (v->k == FV_LIST && v->lkind == K_NAMES) {
            /* in one pass (facts_item finds the i-th name from the start) */
            const struct facts_codes *l = v->p;
            char b[24];
            for (uint32_t i = 0; i < l->n; i++)
                if (!tls_names_is_grease(l->v[i])) json_str(j, facts_name(v->larg, l->v[i], b, sizeof b));
            json_arr_end(j);
            return;
        }
        if (v->k == FV_LIST && v->lkind == K_BITS) {
            for (int b = 0; b < 64; b++) {
                const char *s = (v->bits >> b) & 1 ? facts_bit_name(v->larg, b) : NULL;
                if (s) json_str(j, s);
            }
            json_arr_end(j);
            return;
        }
        for (size_t i = 0; i < v->n; i++) {
            struct fval e;
            size_t mark = sc->used;
            facts_item(v, i, &e, sc);
            facts_write_value(&e, j, sc);
            sc->used = mark;
        }
        json_arr_end(j);
        return;
    case FV_OBJ:
        json_obj_begin(j);
        facts_write_members(v->t, v->p, j, NULL);
        json_obj_end(j);
        return;
    }
}

void facts_write_members(const struct facts_type *t, const void *obj, struct json *j,
                         const struct facts_field *skip)
{
    const uint8_t *st = (const uint8_t *)obj + t->st_off;
    struct facts_scratch sc;
    sc.used = 0;
    for (unsigned i = 0; i < t->nfields; i++) {
        const struct facts_field *fd = &t->fields[i];
        if (st[i] == FACTS_ABSENT || fd == skip) continue;
        json_key(j, fd->key);
        if (st[i] == FACTS_NULL) {
            json_null(j);
            continue;
        }
        struct fval v;
        facts_get(fd, obj, &v, &sc);
        facts_write_value(&v, j, &sc);
        sc.used = 0;
    }
}
