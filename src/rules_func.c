/* The rule language's built-in functions (count, any, all, first, len,
 * alert_meaning, alert_name, join, burst, int, rfc3339, lower, choose,
 * alert_list), evaluated over the typed facts. Their names, arities and
 * which take "ARRAY where COND" are the fns[] table of rules_int.h, which
 * the parser checks calls against. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "json.h"
#include "rules_int.h"
#include "tls_names.h"

/* A number field of the objects of arr, by name (NAN: none). */
static double obj_num(const struct fval *obj, int fi, struct facts_scratch *sc)
{
    struct fval v;
    if (fi < 0) return NAN;
    facts_get(&obj->t->fields[fi], obj->p, &v, sc);
    return v.k == FV_DBL ? v.d : v.k == FV_INT ? (double)v.i : NAN;
}

static double burst(const struct fval *arr, double window, struct facts_scratch *sc)
{
    if (arr->k != FV_OBJS) return 0;
    int fi = facts_field_index(arr->t, "time");
    size_t n = arr->n, best = 0;
    for (size_t i = 0; i < n; i++) {
        struct fval oi, oj;
        facts_item(arr, i, &oi, sc);
        double t0 = obj_num(&oi, fi, sc);
        if (isnan(t0)) continue;
        size_t c = 0;
        for (size_t j = 0; j < n; j++) {
            facts_item(arr, j, &oj, sc);
            double t = obj_num(&oj, fi, sc);
            if (isnan(t)) continue;
            if (t >= t0 && t - t0 <= window) c++;
        }
        if (c > best) best = c;
    }
    return (double)best;
}

/* A string field of an object view, or NULL. */
static const char *obj_str(const struct fval *obj, const char *key, struct facts_scratch *sc)
{
    int fi = facts_field_index(obj->t, key);
    if (fi < 0) return NULL;
    struct fval v;
    facts_get(&obj->t->fields[fi], obj->p, &v, sc);
    return v.k == FV_STR ? v.s : NULL;
}

__attribute__((noinline)) struct rv rules_eval_func(const struct node *n, const struct env *E)
{
    int f = n->op;
    if (fns[f].where) {
        struct rv a = rules_eval_expr(n->a, E);
        if (!rv_is_list(&a)) {
            rv_free(&a);
            return f == F_COUNT ? rv_int(0) : f == F_ANY ? rv_bool(0) : f == F_ALL ? rv_bool(1)
                                                                                  : rv_null();
        }
        const struct fval arr = a.v;
        int64_t count = 0;
        for (size_t i = 0; i < arr.n; i++) {
            size_t mark = E->sc->used;
            struct fval el;
            facts_item(&arr, i, &el, E->sc);
            int hit = 1;
            if (n->c) {
                struct env sub = *E;
                sub.elem = &el;
                hit = rules_eval_truth(n->c, &sub);
            }
            if (f == F_FIRST && hit) return rv_from_fval(&el);
            if (f == F_ANY && hit) return rv_bool(1);
            if (f == F_ALL && !hit) return rv_bool(0);
            count += hit;
            E->sc->used = mark;
        }
        return f == F_COUNT ? rv_int(count) : f == F_ANY ? rv_bool(0) : f == F_ALL ? rv_bool(1)
                                                                                  : rv_null();
    }
    if (f == F_CHOOSE) { /* lazy: only the chosen branch is evaluated */
        struct rv c = rules_eval_expr(n->args[0], E);
        int t = rv_truthy(&c);
        rv_free(&c);
        return rules_eval_expr(n->args[t ? 1 : 2], E);
    }
    struct rv a = rules_eval_expr(n->args[0], E);
    struct rv out = rv_null();
    switch (f) {
    case F_LEN:
        if (a.k == RV_STR) out = rv_int((int64_t)a.n);
        else if (a.k == RV_VAL) out = rv_int((int64_t)facts_len(&a.v));
        else out = rv_int(0);
        break;
    case F_ALERT_MEANING:
    case F_ALERT_NAME:
        if (a.k == RV_NUM && a.d >= 0 && a.d <= 255) {
            const char *s = f == F_ALERT_MEANING ? tls_names_alert_meaning((uint8_t)a.d)
                                                 : tls_names_alert((uint8_t)a.d);
            if (s) out = rv_str(s, strlen(s));
        }
        break;
    case F_JOIN: {
        const char *sep = ", ";
        size_t sepn = 2;
        struct rv s = rv_null();
        if (n->nargs > 1) {
            s = rules_eval_expr(n->args[1], E);
            if (s.k == RV_STR) {
                sep = s.s;
                sepn = s.n;
            }
        }
        struct sbuf b = { 0 };
        if (rv_is_list(&a)) {
            for (size_t i = 0; i < a.v.n; i++) {
                if (i) sb_addn(&b, sep, sepn);
                size_t mark = E->sc->used;
                struct fval el;
                facts_item(&a.v, i, &el, E->sc);
                struct rv e = rv_from_fval(&el);
                rules_rv_render(&e, &b);
                E->sc->used = mark;
            }
        }
        rv_free(&s);
        out = rv_own(b.s ? b.s : xstrdup(""));
        break;
    }
    case F_BURST: {
        struct rv w = rules_eval_expr(n->args[1], E);
        if (a.k == RV_VAL && w.k == RV_NUM) out = rv_int((int64_t)burst(&a.v, w.d, E->sc));
        else out = rv_int(0);
        rv_free(&w);
        break;
    }
    case F_ALERT_LIST: {
        /* "server warning no_renegotiation(100) after finished; client encrypted alert" */
        struct sbuf b = { 0 };
        if (a.k == RV_VAL && a.v.k == FV_OBJS) {
            for (size_t i = 0; i < a.v.n; i++) {
                size_t mark = E->sc->used;
                struct fval al, code, enc;
                facts_item(&a.v, i, &al, E->sc);
                const char *from = obj_str(&al, "from", E->sc), *lvl = obj_str(&al, "level", E->sc),
                           *desc = obj_str(&al, "description", E->sc), *after = obj_str(&al, "after", E->sc);
                int fc = facts_field_index(al.t, "code"), fe = facts_field_index(al.t, "encrypted");
                code.k = enc.k = FV_NULL;
                if (fc >= 0) facts_get(&al.t->fields[fc], al.p, &code, E->sc);
                if (fe >= 0) facts_get(&al.t->fields[fe], al.p, &enc, E->sc);
                int encrypted = enc.k == FV_BOOL && enc.i;
                if (i) sb_add(&b, "; ");
                sb_add(&b, from ? from : "?");
                if (desc) {
                    if (lvl) sb_printf(&b, " %s", lvl);
                    sb_printf(&b, " %s", desc);
                    if (code.k == FV_INT) sb_printf(&b, "(%lld)", (long long)code.i);
                    if (encrypted) sb_add(&b, " (decrypted)");
                } else if (encrypted) {
                    sb_add(&b, " encrypted alert");
                } else {
                    sb_add(&b, " alert");
                }
                if (after) sb_printf(&b, " after %s", after);
                E->sc->used = mark;
            }
        }
        out = b.s ? rv_own(b.s) : rv_str("none", 4);
        break;
    }
    case F_INT:
        if (a.k == RV_NUM && (a.is_int || dbl_fits_i64(a.d)))
            out = rv_int(a.is_int ? a.i : (int64_t)floor(a.d));
        break;
    case F_RFC3339:
        if (a.k == RV_NUM && dbl_fits_i64(a.d)) {
            struct timeval tv = { (time_t)floor(a.d), 0 };
            char buf[48];
            format_time_rfc3339(&tv, buf, sizeof buf);
            char *dot = strchr(buf, '.'); /* seconds are enough */
            if (dot) {
                dot[0] = 'Z';
                dot[1] = '\0';
            }
            out = rv_own(xstrdup(buf));
        }
        break;
    case F_LOWER:
        if (a.k == RV_STR) {
            char *s = xstrndup(a.s, a.n);
            for (char *p = s; *p; p++) *p = (char)tolower((unsigned char)*p);
            out = rv_own(s);
        }
        break;
    default: break;
    }
    rv_free(&a);
    return out;
}
