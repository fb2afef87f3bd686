/* The evaluator: walks a rule's expression trees over one handshake's
 * typed facts (const: nothing in the facts is modified), renders the
 * templates of the findings, and runs every rule (rules_eval). Paths were
 * resolved to field descriptors at load, so evaluating allocates nothing
 * and compares no strings on the common nodes. eval(), eval_path(),
 * path_code() and walk() stay static in this one file so the compiler can
 * inline them; the built-in functions (rules_func.c) and thresholds
 * (rules_storm.c) call back through rules_eval_expr(). */
#include <math.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "rules_int.h"
#include "tls_names.h"

/* ------------------------------------------------------------ evaluation */

static int rv_eq(const struct rv *a, const struct rv *b)
{
    if (a->k == RV_NULL || b->k == RV_NULL) return a->k == b->k;
    if (a->k != b->k) return 0;
    switch (a->k) {
    case RV_BOOL: return a->i == b->i;
    case RV_NUM: return a->is_int && b->is_int ? a->i == b->i : a->d == b->d;
    case RV_STR: return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
    case RV_VAL: return a->v.k == b->v.k && a->v.p == b->v.p && a->v.bits == b->v.bits;
    default: return 0;
    }
}

static struct rv eval(const struct node *n, const struct env *E);

/* Follows the first nsteps of n's steps from base (an object view) over
 * the typed facts. */
static void walk(struct fval *v, const struct node *n, size_t nsteps, struct facts_scratch *sc)
{
    for (size_t i = 0; v->k != FV_NULL && i < nsteps; i++) {
        const struct pstep *st = &n->steps[i];
        if (st->key) {
            const struct facts_field *fd = st->fd;
            if (v->k != FV_OBJ || !fd || fd < v->t->fields || fd >= v->t->fields + v->t->nfields) {
                v->k = FV_NULL;
                return;
            }
            const void *obj = v->p;
            facts_get(fd, obj, v, sc);
        } else {
            long idx = st->idx;
            if (v->k != FV_LIST && v->k != FV_OBJS) {
                v->k = FV_NULL;
                return;
            }
            if (idx < 0) idx += (long)v->n;
            struct fval e;
            if (idx >= 0) facts_item(v, (size_t)idx, &e, sc);
            else e.k = FV_NULL;
            *v = e;
        }
    }
}

/* The object a path starts from: its base expression, the "where"
 * element, or the root. 0: none (the path is null). */
static int path_base(const struct node *n, const struct env *E, struct fval *base)
{
    if (n->a) {
        struct rv b = eval(n->a, E);
        int ok = b.k == RV_VAL;
        if (ok) *base = b.v;
        rv_free(&b);
        return ok;
    }
    if (E->elem && !n->op) {
        *base = *E->elem;
        return 1;
    }
    memset(base, 0, sizeof *base);
    base->k = FV_OBJ;
    base->t = &facts_type_TLS;
    base->p = E->root;
    return 1;
}

/* A direct path (node.fd set) up to its last field: 1 with the object
 * holding that field (*obj, unread), 0 when the path is null on the way.
 * Reads exactly what path_base() and walk() read: an object step follows
 * a present K_OBJ or non-NULL K_OBJP; any other value before the last
 * step makes the path null. */
static int direct_last(const struct node *n, const struct env *E, const char **obj)
{
    const struct facts_type *t = &facts_type_TLS;
    const char *o = (const char *)E->root;
    if (E->elem && !n->op) {
        if (E->elem->k != FV_OBJ) return 0;
        t = E->elem->t;
        o = E->elem->p;
    }
    /* every step but the last from the step array, the last from n->fd
     * (most paths have one step: no step array read) */
    for (size_t i = 0; i + 1 < n->nsteps; i++) {
        const struct facts_field *fd = n->steps[i].fd;
        if (!o || fd < t->fields || fd >= t->fields + t->nfields) return 0;
        if ((uint8_t)o[fd->st] != FACTS_VAL) return 0;
        if (fd->kind == K_OBJ) {
            o += fd->off;
        } else if (fd->kind == K_OBJP) {
            const char *p;
            memcpy(&p, o + fd->off, sizeof p);
            o = p;
        } else {
            return 0;
        }
        t = fd->sub;
    }
    const struct facts_field *fd = n->fd;
    if (!o || fd < t->fields || fd >= t->fields + t->nfields) return 0;
    *obj = o;
    return 1;
}

/* facts_get() of a direct path's last field: its value, as eval_path. */
static void direct_get(const struct node *n, const struct env *E, struct fval *v)
{
    const char *obj;
    if (!direct_last(n, E, &obj)) {
        memset(v, 0, sizeof *v);
        v->k = FV_NULL;
        return;
    }
    facts_get(n->fd, obj, v, E->sc);
}

__attribute__((noinline)) static struct rv eval_path(const struct node *n, const struct env *E)
{
    struct fval base;
    if (n->fd) {
        direct_get(n, E, &base);
        return rv_from_fval(&base);
    }
    if (!path_base(n, E, &base)) return rv_null();
    walk(&base, n, n->nsteps, E->sc);
    return rv_from_fval(&base);
}

/* The raw code of a coded path (last step a K_ENUM or K_NAME field),
 * without looking its name up: 1 and *code, 0 when null or absent. */
static int path_code(const struct node *n, const struct env *E, long *code)
{
    const struct facts_field *fd = n->fd ? n->fd : n->steps[n->nsteps - 1].fd;
    const char *obj;
    if (n->fd) {
        if (!direct_last(n, E, &obj)) return 0;
    } else {
        struct fval o;
        if (!path_base(n, E, &o)) return 0;
        walk(&o, n, n->nsteps - 1, E->sc);
        if (o.k != FV_OBJ || !fd || fd < o.t->fields || fd >= o.t->fields + o.t->nfields) return 0;
        obj = o.p;
    }
    if ((uint8_t)obj[fd->st] != FACTS_VAL) return 0;
    if (fd->kind == K_ENUM) {
        int8_t v;
        memcpy(&v, obj + fd->off, sizeof v);
        if (v < 0) return 0;
        *code = v;
    } else {
        uint16_t v;
        memcpy(&v, obj + fd->off, sizeof v);
        *code = v;
    }
    return 1;
}

static int rv_contains(const struct rv *a, const struct rv *b, struct facts_scratch *sc)
{
    if (a->k == RV_STR && b->k == RV_STR) {
        if (b->n == 0) return 1;
        if (b->n > a->n) return 0;
        for (size_t i = 0; i + b->n <= a->n; i++)
            if (memcmp(a->s + i, b->s, b->n) == 0) return 1;
        return 0;
    }
    if (rv_is_list(a)) {
        for (size_t i = 0; i < a->v.n; i++) {
            size_t mark = sc->used;
            struct fval el;
            facts_item(&a->v, i, &el, sc);
            struct rv e = rv_from_fval(&el);
            int eq = rv_eq(&e, b);
            sc->used = mark;
            if (eq) return 1;
        }
    }
    return 0;
}

static int rx_match(const regex_t *re, const char *s, size_t n)
{
    char buf[512];
    char *heap = NULL;
    const char *p = buf;
    if (n < sizeof buf) {
        memcpy(buf, s, n);
        buf[n] = '\0';
    } else {
        heap = xstrndup(s, n);
        p = heap;
    }
    int m = regexec(re, p, 0, NULL, 0) == 0;
    free(heap);
    return m;
}

__attribute__((noinline)) static struct rv eval_rare(const struct node *n, const struct env *E);

/* The common nodes, in a small frame; the rest in eval_rare. */
static struct rv eval(const struct node *n, const struct env *E)
{
    switch (n->k) {
    case N_PATH: return eval_path(n, E);
    case N_NOT: {
        struct rv a = eval(n->a, E);
        int t = rv_truthy(&a);
        rv_free(&a);
        return rv_bool(!t);
    }
    case N_AND:
    case N_OR: {
        struct rv a = eval(n->a, E);
        int t = rv_truthy(&a);
        rv_free(&a);
        if (n->k == N_AND ? !t : t) return rv_bool(t);
        struct rv b = eval(n->b, E);
        t = rv_truthy(&b);
        rv_free(&b);
        return rv_bool(t);
    }
    case N_EXISTS: {
        struct rv a = eval(n->a, E);
        int t = a.k != RV_NULL;
        rv_free(&a);
        return rv_bool(t);
    }
    case N_CMP:
        if (n->code_mode) { /* a coded field against a string: codes compared */
            long c;
            int eq = path_code(n->code_mode == 1 ? n->a : n->b, E, &c) && c == n->code;
            return rv_bool(n->op == OP_EQ ? eq : !eq);
        }
        return eval_rare(n, E);
    case N_IN:
        if (n->code_mode) {
            long c;
            if (!path_code(n->a, E, &c)) return rv_bool(0);
            int res = 0;
            for (size_t i = 0; i < n->b->nargs && !res; i++) res = c == n->codes[i];
            return rv_bool(n->op ? !res : res);
        }
        return eval_rare(n, E);
    default: return eval_rare(n, E);
    }
}

static struct rv eval_rare(const struct node *n, const struct env *E)
{
    switch (n->k) {
    case N_LIT:
        switch (n->lt) {
        case T_BOOL: return rv_bool((int)n->li);
        case T_INT: return rv_int(n->li);
        case T_DBL: return rv_dbl(n->ld);
        case T_STR: return rv_str(n->ls, strlen(n->ls));
        default: return rv_null();
        }
    case N_PARAM: {
        if (n->param >= E->rs->np) return rv_null();
        const struct param *p = &E->rs->p[n->param];
        if (p->is_str) return rv_str(p->s, strlen(p->s));
        return p->is_int && dbl_fits_i64(p->num) ? rv_int((int64_t)p->num) : rv_dbl(p->num);
    }
    case N_PATH: return eval_path(n, E);
    case N_IT: return rv_from_fval(E->elem);
    case N_NOT: {
        struct rv a = eval(n->a, E);
        int t = rv_truthy(&a);
        rv_free(&a);
        return rv_bool(!t);
    }
    case N_AND:
    case N_OR: {
        struct rv a = eval(n->a, E);
        int t = rv_truthy(&a);
        rv_free(&a);
        if (n->k == N_AND ? !t : t) return rv_bool(t);
        struct rv b = eval(n->b, E);
        t = rv_truthy(&b);
        rv_free(&b);
        return rv_bool(t);
    }
    case N_COALESCE: {
        struct rv a = eval(n->a, E);
        if (a.k != RV_NULL) return a;
        return eval(n->b, E);
    }
    case N_EXISTS: {
        struct rv a = eval(n->a, E);
        int t = a.k != RV_NULL;
        rv_free(&a);
        return rv_bool(t);
    }
    case N_CMP: {
        struct rv a = eval(n->a, E), b = eval(n->b, E);
        int res = 0;
        if (n->op == OP_EQ) res = rv_eq(&a, &b);
        else if (n->op == OP_NE) res = !rv_eq(&a, &b);
        else if (a.k == RV_NUM && b.k == RV_NUM) {
            int c;
            if (a.is_int && b.is_int) c = a.i < b.i ? -1 : a.i > b.i;
            else c = a.d < b.d ? -1 : a.d > b.d;
            res = n->op == OP_LT ? c < 0 : n->op == OP_LE ? c <= 0 : n->op == OP_GT ? c > 0 : c >= 0;
        }
        rv_free(&a);
        rv_free(&b);
        return rv_bool(res);
    }
    case N_IN: {
        struct rv a = eval(n->a, E);
        int res = 0;
        if (a.k != RV_NULL) {
            for (size_t i = 0; i < n->b->nargs && !res; i++) {
                struct rv e = eval(n->b->args[i], E);
                res = rv_eq(&a, &e);
                rv_free(&e);
            }
        }
        int null = a.k == RV_NULL;
        rv_free(&a);
        return rv_bool(null ? 0 : n->op ? !res : res);
    }
    case N_CONTAINS: {
        struct rv a = eval(n->a, E), b = eval(n->b, E);
        int res = a.k == RV_NULL ? -1 : rv_contains(&a, &b, E->sc);
        rv_free(&a);
        rv_free(&b);
        return rv_bool(res < 0 ? 0 : n->op ? !res : res);
    }
    case N_MATCHES: {
        struct rv a = eval(n->a, E);
        int res = 0, null = a.k == RV_NULL;
        if (n->b->re) {
            if (a.k == RV_STR) {
                res = rx_match(n->b->re, a.s, a.n);
            } else if (rv_is_list(&a)) {
                for (size_t i = 0; i < a.v.n && !res; i++) {
                    size_t mark = E->sc->used;
                    struct fval e;
                    facts_item(&a.v, i, &e, E->sc);
                    if (e.k == FV_STR) res = rx_match(n->b->re, e.s, e.n);
                    E->sc->used = mark;
                }
            }
        }
        rv_free(&a);
        return rv_bool(null ? 0 : n->op ? !res : res);
    }
    case N_NEG: {
        struct rv a = eval(n->a, E);
        if (a.k != RV_NUM) return rv_null();
        return a.is_int ? rv_int((int64_t)(0 - (uint64_t)a.i)) : rv_dbl(-a.d); /* wraps like + - */
    }
    case N_ARITH: {
        struct rv a = eval(n->a, E), b = eval(n->b, E);
        struct rv r = rv_null();
        if (n->type == T_STR) {
            struct sbuf sb = { 0 };
            rules_rv_render(&a, &sb);
            rules_rv_render(&b, &sb);
            r = rv_own(sb.s ? sb.s : xstrdup(""));
        } else if (a.k == RV_NUM && b.k == RV_NUM) {
            if (a.is_int && b.is_int) {
                int64_t x = a.i, y = b.i;
                switch (n->op) {
                case '+': r = rv_int((int64_t)((uint64_t)x + (uint64_t)y)); break;
                case '-': r = rv_int((int64_t)((uint64_t)x - (uint64_t)y)); break;
                case '*': r = rv_dbl((double)x * (double)y);
                    if (fabs(r.d) < 9e18) r = rv_int((int64_t)r.d);
                    break;
                case '/': if (y && !(x == INT64_MIN && y == -1)) r = rv_int(x / y); break;
                case '%': if (y && !(x == INT64_MIN && y == -1)) r = rv_int(x % y); break;
                default: break;
                }
            } else {
                double x = a.d, y = b.d;
                switch (n->op) {
                case '+': r = rv_dbl(x + y); break;
                case '-': r = rv_dbl(x - y); break;
                case '*': r = rv_dbl(x * y); break;
                case '/': if (y != 0) r = rv_dbl(x / y); break;
                case '%': if (y != 0) r = rv_dbl(fmod(x, y)); break;
                default: break;
                }
            }
        }
        rv_free(&a);
        rv_free(&b);
        return r;
    }
    case N_FUNC: return rules_eval_func(n, E);
    case N_LIST: return rv_null();
    }
    return rv_null();
}

/* ------------------------------------------------------------ truth */

/* Whether the last field of a direct path reads as null (facts_get gives
 * FV_NULL): absent or null state, a NULL string or object pointer, an
 * enum value without a name; -1 when only reading it can tell (K_FP: the
 * fingerprint may not format). */
static int field_null(const struct facts_field *fd, const char *obj)
{
    if ((uint8_t)obj[fd->st] != FACTS_VAL) return 1;
    const char *m = obj + fd->off;
    switch (fd->kind) {
    case K_STR:
    case K_OBJP: {
        const void *p;
        memcpy(&p, m, sizeof p);
        return p == NULL;
    }
    case K_ENUM: {
        int8_t v;
        memcpy(&v, m, sizeof v);
        return facts_enum_name(fd->arg, v) == NULL;
    }
    case K_FP: return -1;
    default: return 0;
    }
}

/* rv_truthy of a direct path's last field for the kinds whose truth needs
 * no formatting; -1 for the others (read through facts_get). */
static int field_truth(const struct facts_field *fd, const char *obj)
{
    if ((uint8_t)obj[fd->st] != FACTS_VAL) return 0;
    const char *m = obj + fd->off;
    switch (fd->kind) {
    case K_BOOL: {
        bool v;
        memcpy(&v, m, sizeof v);
        return v;
    }
    case K_INT: {
        int64_t v;
        memcpy(&v, m, sizeof v);
        return v != 0;
    }
    case K_DBL: {
        double v;
        memcpy(&v, m, sizeof v);
        return v != 0;
    }
    case K_STR: {
        const char *p;
        memcpy(&p, m, sizeof p);
        return p && p[0];
    }
    case K_ENUM: {
        int8_t v;
        memcpy(&v, m, sizeof v);
        const char *s = facts_enum_name(fd->arg, v);
        return s && s[0];
    }
    case K_OBJA: {
        struct facts_arr a;
        memcpy(&a, m, sizeof a);
        return a.v && a.n;
    }
    default: return -1;
    }
}

/* A direct path to an object array (K_OBJA), read as facts_get would:
 * 1 and *arr (FV_OBJS), 0 when null; -1 for any other node. */
static int direct_objs(const struct node *n, const struct env *E, struct fval *arr)
{
    if (n->k != N_PATH || !n->fd) return -1;
    const struct facts_field *fd = n->fd;
    if (fd->kind != K_OBJA) return -1;
    const char *obj;
    if (!direct_last(n, E, &obj) || (uint8_t)obj[fd->st] != FACTS_VAL) return 0;
    facts_get(fd, obj, arr, E->sc);
    return 1;
}

static int eval_truth(const struct node *n, const struct env *E);

/* count, any, all over an object array read directly (rules_eval_func's
 * loop, same scratch marks): the count, or for any/all their truth. */
static int64_t where_loop(const struct node *n, const struct fval *arr, const struct env *E)
{
    int f = n->op;
    int64_t count = 0;
    for (size_t i = 0; i < arr->n; i++) {
        size_t mark = E->sc->used;
        struct fval el;
        facts_item(arr, i, &el, E->sc);
        int hit = 1;
        if (n->c) {
            struct env sub = *E;
            sub.elem = &el;
            hit = eval_truth(n->c, &sub);
        }
        if (f == F_ANY && hit) return 1;
        if (f == F_ALL && !hit) return 0;
        count += hit;
        E->sc->used = mark;
    }
    return f == F_COUNT ? count : f == F_ALL;
}

/* A scalar as eval() would give it (kind RV_NULL, RV_BOOL or RV_NUM, and
 * the same i, d, is_int), without a struct rv. */
struct sv {
    int k;
    int is_int;
    int64_t i;
    double d;
};

static void sv_int(struct sv *v, int64_t i)
{
    v->k = RV_NUM;
    v->is_int = 1;
    v->i = i;
    v->d = (double)i;
}

static void sv_dbl(struct sv *v, double d)
{
    v->k = RV_NUM;
    v->is_int = 0;
    v->i = 0;
    v->d = d;
}

/* eval() of literals, numeric parameters, direct paths of bool and number
 * fields, ?? and arithmetic over those: 1 and *v; 0 for any other node
 * (the caller evaluates it in full). */
static int eval_scalar(const struct node *n, const struct env *E, struct sv *v)
{
    memset(v, 0, sizeof *v);
    v->k = RV_NULL;
    switch (n->k) {
    case N_LIT:
        switch (n->lt) {
        case T_NULL: return 1;
        case T_BOOL: v->k = RV_BOOL; v->i = (int)n->li != 0; return 1;
        case T_INT: sv_int(v, n->li); return 1;
        case T_DBL: sv_dbl(v, n->ld); return 1;
        default: return 0;
        }
    case N_PARAM: {
        if (n->param >= E->rs->np) return 1;
        const struct param *p = &E->rs->p[n->param];
        if (p->is_str) return 0;
        if (p->is_int && dbl_fits_i64(p->num)) sv_int(v, (int64_t)p->num);
        else sv_dbl(v, p->num);
        return 1;
    }
    case N_PATH: {
        if (!n->fd) return 0;
        const struct facts_field *fd = n->fd;
        if (fd->kind != K_BOOL && fd->kind != K_INT && fd->kind != K_DBL) return 0;
        const char *obj;
        if (!direct_last(n, E, &obj) || (uint8_t)obj[fd->st] != FACTS_VAL) return 1;
        if (fd->kind == K_BOOL) {
            bool b;
            memcpy(&b, obj + fd->off, sizeof b);
            v->k = RV_BOOL;
            v->i = b;
        } else if (fd->kind == K_INT) {
            int64_t i;
            memcpy(&i, obj + fd->off, sizeof i);
            sv_int(v, i);
        } else {
            double d;
            memcpy(&d, obj + fd->off, sizeof d);
            sv_dbl(v, d);
        }
        return 1;
    }
    case N_FUNC: {
        /* count(ARRAY where ...) and len(ARRAY) of object arrays */
        struct fval arr;
        int k;
        if (n->op == F_COUNT && (k = direct_objs(n->a, E, &arr)) >= 0) {
            sv_int(v, k ? where_loop(n, &arr, E) : 0);
            return 1;
        }
        if (n->op == F_LEN && n->nargs == 1 && (k = direct_objs(n->args[0], E, &arr)) >= 0) {
            sv_int(v, k ? (int64_t)arr.n : 0);
            return 1;
        }
        return 0;
    }
    case N_COALESCE:
        if (!eval_scalar(n->a, E, v)) return 0;
        return v->k != RV_NULL ? 1 : eval_scalar(n->b, E, v);
    case N_ARITH: {
        struct sv a, b;
        if (n->type == T_STR || !eval_scalar(n->a, E, &a) || !eval_scalar(n->b, E, &b)) return 0;
        if (a.k != RV_NUM || b.k != RV_NUM) return 1; /* null, as eval_rare */
        if (a.is_int && b.is_int) {
            int64_t x = a.i, y = b.i;
            switch (n->op) {
            case '+': sv_int(v, (int64_t)((uint64_t)x + (uint64_t)y)); break;
            case '-': sv_int(v, (int64_t)((uint64_t)x - (uint64_t)y)); break;
            case '*': sv_dbl(v, (double)x * (double)y);
                if (fabs(v->d) < 9e18) sv_int(v, (int64_t)v->d);
                break;
            case '/': if (y && !(x == INT64_MIN && y == -1)) sv_int(v, x / y); break;
            case '%': if (y && !(x == INT64_MIN && y == -1)) sv_int(v, x % y); break;
            default: break;
            }
        } else {
            double x = a.d, y = b.d;
            switch (n->op) {
            case '+': sv_dbl(v, x + y); break;
            case '-': sv_dbl(v, x - y); break;
            case '*': sv_dbl(v, x * y); break;
            case '/': if (y != 0) sv_dbl(v, x / y); break;
            case '%': if (y != 0) sv_dbl(v, fmod(x, y)); break;
            default: break;
            }
        }
        return 1;
    }
    default: return 0;
    }
}

/* rv_eq() and eval_rare's N_CMP over scalars. */
static int sv_eq(const struct sv *a, const struct sv *b)
{
    if (a->k == RV_NULL || b->k == RV_NULL) return a->k == b->k;
    if (a->k != b->k) return 0;
    if (a->k == RV_BOOL) return a->i == b->i;
    return a->is_int && b->is_int ? a->i == b->i : a->d == b->d;
}

static int sv_cmp(int op, const struct sv *a, const struct sv *b)
{
    if (op == OP_EQ) return sv_eq(a, b);
    if (op == OP_NE) return !sv_eq(a, b);
    if (a->k != RV_NUM || b->k != RV_NUM) return 0;
    int c;
    if (a->is_int && b->is_int) c = a->i < b->i ? -1 : a->i > b->i;
    else c = a->d < b->d ? -1 : a->d > b->d;
    return op == OP_LT ? c < 0 : op == OP_LE ? c <= 0 : op == OP_GT ? c > 0 : c >= 0;
}

/* N_CONTAINS without building the list's items: a bit list against a
 * string literal (the mask compiled at load), or a name list against a
 * name field of the same table when the field's code is in the list (the
 * same code is the same name). 1 or 0; -1 when only the full evaluation
 * can tell. */
static int contains_fast(const struct node *n, const struct env *E)
{
    if (!n->a->fd) return -1;
    const struct facts_field *fd = n->a->fd;
    const char *obj;
    if (!direct_last(n->a, E, &obj) || (uint8_t)obj[fd->st] != FACTS_VAL) {
        if (fd->kind == K_BITS || fd->kind == K_NAMES) return 0; /* null: false, negated or not */
        return -1;
    }
    if (n->code_mode && fd->kind == K_BITS) {
        uint64_t bits;
        memcpy(&bits, obj + fd->off, sizeof bits);
        int res = (bits & n->bits) != 0;
        return n->op ? !res : res;
    }
    const struct node *b = n->b;
    if (fd->kind != K_NAMES || !b->fd) return -1;
    const struct facts_field *bfd = b->fd;
    const char *bobj;
    if (bfd->kind != K_NAME || bfd->arg != fd->arg || !direct_last(b, E, &bobj) ||
        (uint8_t)bobj[bfd->st] != FACTS_VAL)
        return -1;
    uint16_t code;
    memcpy(&code, bobj + bfd->off, sizeof code);
    struct facts_codes l;
    memcpy(&l, obj + fd->off, sizeof l);
    for (uint32_t i = 0; i < l.n; i++)
        if (l.v[i] == code && !tls_names_is_grease(code)) return n->op ? 0 : 1;
    return -1;
}

/* The general case, out of line: eval_truth's own frame stays small (no
 * struct rv in it). */
__attribute__((noinline)) static int truth_of_value(const struct node *n, const struct env *E)
{
    struct rv r = eval(n, E);
    int t = rv_truthy(&r);
    rv_free(&r);
    return t;
}

/* The leaves of eval_truth, one out-of-line function each: the locals
 * whose address they take stay out of eval_truth's frame, which the and /
 * or / not recursion enters for every node. -1: evaluate in full. */
__attribute__((noinline)) static int truth_leaf(const struct node *n, const struct env *E)
{
    const char *obj;
    long c;
    switch (n->k) {
    case N_EXISTS:
        if (n->a->fd) {
            if (!direct_last(n->a, E, &obj)) return 0;
            int null = field_null(n->a->fd, obj);
            if (null >= 0) return !null;
        }
        return -1;
    case N_PATH:
        if (n->fd) {
            if (!direct_last(n, E, &obj)) return 0;
            return field_truth(n->fd, obj);
        }
        return -1;
    case N_CMP:
        if (n->code_mode) {
            int eq = path_code(n->code_mode == 1 ? n->a : n->b, E, &c) && c == n->code;
            return n->op == OP_EQ ? eq : !eq;
        } else {
            struct sv a, b;
            if (eval_scalar(n->a, E, &a) && eval_scalar(n->b, E, &b)) return sv_cmp(n->op, &a, &b);
        }
        return -1;
    case N_IN:
        if (n->code_mode) {
            if (!path_code(n->a, E, &c)) return 0;
            int res = 0;
            for (size_t i = 0; i < n->b->nargs && !res; i++) res = c == n->codes[i];
            return n->op ? !res : res;
        }
        return -1;
    case N_CONTAINS: return contains_fast(n, E);
    case N_FUNC:
        if (n->op == F_ANY || n->op == F_ALL) {
            struct fval arr;
            int k = direct_objs(n->a, E, &arr);
            if (k == 0) return n->op == F_ALL;
            if (k > 0) return (int)where_loop(n, &arr, E);
        }
        return -1;
    default: return -1;
    }
}

static int eval_truth(const struct node *n, const struct env *E)
{
    switch (n->k) {
    case N_AND: return eval_truth(n->a, E) && eval_truth(n->b, E);
    case N_OR: return eval_truth(n->a, E) || eval_truth(n->b, E);
    case N_NOT: return !eval_truth(n->a, E);
    default: {
        int t = truth_leaf(n, E);
        return t >= 0 ? t : truth_of_value(n, E);
    }
    }
}

int rules_eval_truth(const struct node *n, const struct env *E) { return eval_truth(n, E); }

/* eval() for the built-in functions and thresholds in the other files;
 * eval itself stays static so that its hot path is inlined here. */
struct rv rules_eval_expr(const struct node *n, const struct env *E) { return eval(n, E); }

/* ------------------------------------------------------------ rendering */

void rules_rv_render(const struct rv *r, struct sbuf *b)
{
    switch (r->k) {
    case RV_NULL: sb_add(b, "unknown"); break;
    case RV_BOOL: sb_add(b, r->i ? "true" : "false"); break;
    case RV_NUM:
        if (r->is_int) sb_printf(b, "%lld", (long long)r->i);
        else if (r->d == floor(r->d) && fabs(r->d) < 1e15) sb_printf(b, "%.0f", r->d);
        else sb_printf(b, "%.3f", r->d);
        break;
    case RV_STR: sb_addn(b, r->s, r->n); break;
    case RV_VAL: {
        struct facts_scratch sc;
        facts_scratch_reset(&sc);
        if (r->v.k == FV_LIST || r->v.k == FV_OBJS) {
            if (r->v.n == 0) {
                sb_add(b, "none");
                break;
            }
            for (size_t i = 0; i < r->v.n; i++) {
                if (i) sb_add(b, ",");
                struct fval el;
                facts_item(&r->v, i, &el, &sc);
                struct rv e = rv_from_fval(&el);
                if (e.k == RV_VAL) {
                    struct json j;
                    json_init(&j);
                    facts_write_value(&el, &j, &sc);
                    sb_addn(b, j.buf, j.len);
                    json_free(&j);
                } else {
                    rules_rv_render(&e, b);
                }
                facts_scratch_reset(&sc);
            }
        } else {
            struct json j;
            json_init(&j);
            facts_write_value(&r->v, &j, &sc);
            sb_addn(b, j.buf, j.len);
            json_free(&j);
        }
        break;
    }
    }
}

static void render_tmpl(const struct tmpl *t, const struct env *E, struct sbuf *b)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->p[i].lit) {
            sb_add(b, t->p[i].lit);
            continue;
        }
        struct rv r = eval(t->p[i].expr, E);
        rules_rv_render(&r, b);
        rv_free(&r);
    }
}

/* Picks the branch of a conditional value and renders it ("" if none). */
static char *render_cval(const struct cval *cv, const struct env *E, const char *dflt)
{
    struct sbuf b = { 0 };
    for (size_t i = 0; i < cv->n; i++) {
        int take = 1;
        if (cv->cond[i]) take = eval_truth(cv->cond[i], E);
        if (take) {
            render_tmpl(&cv->val[i], E, &b);
            return b.s ? b.s : xstrdup("");
        }
    }
    return xstrdup(dflt);
}

/* ------------------------------------------------------------ rules */

size_t rules_eval(struct ruleset *rs, const tls_facts *facts, const struct rules_ctx *ctx,
                  rules_finding_fn cb, void *cbctx)
{
    struct env E = { rs, facts, NULL, &rs->sc };
    double ftime = FSTATE(TLS, facts, flow) == FACTS_VAL && FSTATE(FLOW, &facts->flow, time) == FACTS_VAL
                       ? facts->flow.time : 0;
    double now = ctx && ctx->time > 0 ? ctx->time : ftime;
    /* facts of a capture interval (a "capture" object) meet the rules of
     * category capture only; a handshake's facts every other rule */
    int sensor = FSTATE(TLS, facts, capture) == FACTS_VAL && facts->capture;
    for (size_t i = 0; i < rs->n; i++) {
        struct rule *r = &rs->r[i];
        r->fired = 0;
        if (r->disabled || !r->when || r->sensor != sensor) continue;
        facts_scratch_reset(&rs->sc);
        int hit = eval_truth(r->when, &E);
        if (hit && r->has_thr) hit = rules_threshold_hit(rs, r, facts, ctx, now, &E);
        r->fired = hit;
    }
    size_t emitted = 0;
    for (size_t i = 0; i < rs->n; i++) {
        struct rule *r = &rs->r[i];
        if (!r->fired) continue;
        int supp = 0;
        for (size_t k = 0; k < r->nsupp && !supp; k++) supp = rs->r[r->supp[k]].fired;
        if (supp || r->sev < rs->min_sev) continue;
        if (rs->filter && rs->filter(rs->filter_ctx, r->id, facts, now)) {
            rs->filtered++;
            continue;
        }
        facts_scratch_reset(&rs->sc);
        char *conf = render_cval(&r->confidence, &E, "exact");
        char *fix = render_cval(&r->fix_side, &E, "either");
        char *msg = render_cval(&r->message, &E, "");
        char *adv = render_cval(&r->advice, &E, "");
        char *evi = render_cval(&r->evidence, &E, "");
        struct rule_finding f = { r->id, r->sev, rules_severity_name(r->sev), r->category,
                                  conf, fix, msg, adv, evi };
        if (rs->fail_on >= 0 && (int)r->sev >= rs->fail_on) rs->failed = 1;
        if (cb) cb(cbctx, &f);
        emitted++;
        free(conf);
        free(fix);
        free(msg);
        free(adv);
        free(evi);
    }
    return emitted;
}
