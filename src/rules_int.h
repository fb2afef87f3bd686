/* Private to the rule engine (src/rules*.c); the public API is rules.h.
 *
 * A rule file is a list of `param` declarations and
 * `rule ID { field: value ... }` blocks (docs/rules.md has the grammar).
 * Loading lexes and parses each file into expression trees, checking every
 * facts path against src/facts_schema.def and every operator against the
 * static types of its operands, so a typo is a load error with
 * file:line:col rather than a rule that silently never fires. Evaluation
 * walks the trees over a const facts tree; nothing in the facts is
 * modified. Thresholds (storms) keep per-key hit times in a keyed hash.
 *
 * One job per file:
 *   rules.c        the ruleset's lifecycle, lookups, severities, options
 *   rules_parse.c  lexer and parser: rule text to expression trees
 *   rules_check.c  types against the facts schema; load-time compilation
 *   rules_eval.c   the evaluator and the rendering of findings
 *   rules_func.c   built-in functions
 *   rules_storm.c  thresholds (storms)
 *   rules_list.c   --list-rules
 *
 * This header holds what they share: the trees, rules and ruleset, the
 * parser's state, the evaluator's values, and the functions that cross
 * files (external linkage in libtlswatch.a, hence their rules_ prefix). */
#ifndef TLSWATCH_RULES_INT_H
#define TLSWATCH_RULES_INT_H
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "rules.h"
#include "xalloc.h"

/* ------------------------------------------------------------ types */

/* Static type bits of facts and expressions. */
#define T_NULL 0x01u
#define T_BOOL 0x02u
#define T_INT 0x04u
#define T_DBL 0x08u
#define T_STR 0x10u
#define T_ASTR 0x20u
#define T_AOBJ 0x40u
#define T_OBJ 0x80u
#define T_NUM (T_INT | T_DBL)
#define T_ARR (T_ASTR | T_AOBJ)
#define T_ANY 0xffu

/* The schema is the typed facts' (src/facts_schema.def via facts.h). */
_Static_assert(T_NULL == FT_NULL && T_BOOL == FT_BOOL && T_INT == FT_INT && T_DBL == FT_DBL &&
                   T_STR == FT_STR && T_ASTR == FT_ASTR && T_AOBJ == FT_AOBJ && T_OBJ == FT_OBJ,
               "rule types are the facts' types");

/* A growing string buffer. */
struct sbuf {
    char *s;
    size_t n, cap;
};
static inline void sb_addn(struct sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap * 2 : 64;
        while (c < b->n + n + 1) c *= 2;
        b->s = xrealloc(b->s, c);
        b->cap = c;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}
static inline void sb_add(struct sbuf *b, const char *s) { sb_addn(b, s, strlen(s)); }
static inline void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof tmp) n = (int)sizeof tmp - 1;
    sb_addn(b, tmp, (size_t)n);
}
static inline const char *sb_str(struct sbuf *b) { return b->s ? b->s : ""; }

/* ------------------------------------------------------------ AST */

enum nk {
    N_LIT, N_PATH, N_PARAM, N_IT, N_NOT, N_AND, N_OR, N_COALESCE, N_CMP, N_IN, N_CONTAINS,
    N_MATCHES, N_EXISTS, N_ARITH, N_NEG, N_FUNC, N_LIST
};
enum cmpop { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum fn {
    F_COUNT, F_ANY, F_ALL, F_FIRST, F_LEN, F_ALERT_MEANING, F_ALERT_NAME, F_JOIN, F_BURST, F_INT,
    F_RFC3339, F_LOWER, F_CHOOSE, F_ALERT_LIST
};
static const struct {
    const char *name;
    int where; /* takes "ARRAY where COND" */
    int minargs, maxargs;
} fns[] = {
    [F_COUNT] = { "count", 1, 1, 1 },       [F_ANY] = { "any", 1, 1, 1 },
    [F_ALL] = { "all", 1, 1, 1 },           [F_FIRST] = { "first", 1, 1, 1 },
    [F_LEN] = { "len", 0, 1, 1 },           [F_ALERT_MEANING] = { "alert_meaning", 0, 1, 1 },
    [F_ALERT_NAME] = { "alert_name", 0, 1, 1 }, [F_JOIN] = { "join", 0, 1, 2 },
    [F_BURST] = { "burst", 0, 2, 2 },       [F_INT] = { "int", 0, 1, 1 },
    [F_RFC3339] = { "rfc3339", 0, 1, 1 },   [F_LOWER] = { "lower", 0, 1, 1 },
    [F_CHOOSE] = { "choose", 0, 3, 3 },     [F_ALERT_LIST] = { "alert_list", 0, 1, 1 },
};

struct pstep {
    char *key; /* NULL: index step */
    long idx;
    const struct facts_field *fd; /* key step: its field, resolved at load */
};

/* Fields in the order evaluation reads them: the first cache line has
 * what every node's evaluation needs (kind, children, path steps, the
 * compiled code), the second what leaves of some kinds read, the rest is
 * for the checker, errors and rendering. */
struct node {
    enum nk k;
    int op; /* cmpop, arithmetic char, fn, negation flag for in/contains/matches */
    /* compiled comparison of a coded field (K_ENUM, K_NAME) with string
     * literals: 1 the path is n->a, 2 it is n->b; the literals' codes
     * (-2: a string the field can never hold) */
    int code_mode;
    uint32_t nsteps;
    struct node *a, *b, *c; /* children; c: "where" condition */
    /* N_PATH of key steps only, all resolved, from the root or the "where"
     * element (no base expression), read directly: its last step's field,
     * which evaluation reaches without walk() and facts_get() on every
     * step; NULL for any other node */
    const struct facts_field *fd;
    long code;
    /* path */
    struct pstep *steps;
    /* second cache line */
    long *codes; /* N_IN: one per list element */
    /* N_CONTAINS of a K_BITS path with a string literal (code_mode 1):
     * the bits whose names are that string */
    uint64_t bits;
    struct node **args;
    size_t nargs;
    /* literal */
    unsigned lt; /* T_NULL/T_BOOL/T_INT/T_DBL/T_STR */
    unsigned type; /* static type */
    int64_t li;
    double ld;
    /* param */
    size_t param;
    /* cold */
    char *ls;
    char *pathtext;
    char *sprefix; /* schema path of the value (objects), for field access */
    regex_t *re;
    int line, col;
    int height; /* levels of the subtree (eval/node_free recurse this deep) */
    int packed; /* in ruleset.when_block (freed with it), not its own allocation */
};

struct tpart {
    char *lit;
    struct node *expr;
};
struct tmpl {
    struct tpart *p;
    size_t n;
};
/* A value that may depend on conditions: if C1 then V1 elif ... else Vn. */
struct cval {
    struct node **cond; /* cond[i] NULL: unconditional */
    struct tmpl *val;
    size_t n;
};

enum thr_by { BY_CLIENT, BY_FLOW, BY_SERVER, BY_SNI };
struct idref {
    char *id;
    char *file;
    int line, col;
};

struct rule {
    /* what rules_eval reads of every rule for every handshake, first */
    struct node *when;
    int disabled;
    int sensor; /* category "capture": evaluated on capture intervals, not handshakes */
    int fired;  /* scratch during rules_eval */
    int has_thr;
    char *id, *category, *summary, *file;
    int line, col;
    enum rule_severity sev;
    struct cval confidence, fix_side, message, advice, evidence;
    struct idref *supp_ids, *explains;
    size_t nsupp_ids, nexplains;
    size_t *supp; /* indices of rules that suppress this one */
    size_t nsupp;
    struct node *thr_count, *thr_window, *thr_weight;
    enum thr_by thr_by;
};

struct param {
    char *name;
    int is_str;
    double num;
    int is_int;
    char *s;
};

struct storm; /* rules_storm.c */

struct ruleset {
    struct rule *r;
    size_t n, cap;
    struct node *when_block; /* every rule's condition, one after another (rules_finalize) */
    struct facts_scratch sc; /* names formatted while evaluating one rule */
    struct param *p;
    size_t np, pcap;
    enum rule_severity min_sev;
    int fail_on; /* -1: off */
    int failed;
    struct storm *storms; /* least recently hit first */
    size_t nstorms;
    size_t storm_max_keys;
    uint64_t storm_evictions;
    rules_filter_fn filter; /* --suppress */
    void *filter_ctx;
    uint64_t filtered;
};

/* ------------------------------------------------------------ lexer, parser */

enum tk { TK_EOF, TK_IDENT, TK_NUM, TK_STR, TK_PARAM, TK_OP, TK_BAD };

struct tok {
    enum tk k;
    const char *p; /* start in the source */
    size_t n;
    int line, col;
    double num;
    int is_int;
    int64_t inum;
    char *s; /* decoded string / identifier / param name (owned) */
    char op[3];
};

struct parser {
    const char *file;
    const char *src, *p, *end;
    int line, col;
    struct tok t;
    int errors;
    int bad; /* a syntax error in the current rule */
    rules_error_fn err;
    void *errctx;
    struct ruleset *rs;
    const char *scope;  /* schema prefix of "where" elements ("alerts[]"), or NULL */
    unsigned scope_type; /* T_OBJ or T_STR */
    int depth; /* recursion depth of the expression parser */
};

/* ------------------------------------------------------------ evaluation */

enum rvk { RV_NULL, RV_BOOL, RV_NUM, RV_STR, RV_VAL };
struct rv {
    enum rvk k;
    int is_int;
    int64_t i;
    double d;
    const char *s;
    size_t n;
    struct fval v;         /* RV_VAL: arrays, objects (views of the facts) */
    char *own;             /* s when allocated */
};

struct env {
    const struct ruleset *rs;
    const tls_facts *root;
    const struct fval *elem;     /* "where" element */
    struct facts_scratch *sc;    /* names formatted on reading */
};

static inline void rv_free(struct rv *r)
{
    free(r->own);
    r->own = NULL;
}
static inline struct rv rv_null(void)
{
    struct rv r;
    memset(&r, 0, sizeof r);
    return r;
}
static inline struct rv rv_bool(int b)
{
    struct rv r = rv_null();
    r.k = RV_BOOL;
    r.i = b != 0;
    return r;
}
static inline struct rv rv_int(int64_t i)
{
    struct rv r = rv_null();
    r.k = RV_NUM;
    r.is_int = 1;
    r.i = i;
    r.d = (double)i;
    return r;
}
/* A double converts to int64_t without undefined behaviour (NaN: no). */
static inline int dbl_fits_i64(double d) { return d > -9.2e18 && d < 9.2e18; }
static inline struct rv rv_dbl(double d)
{
    struct rv r = rv_null();
    r.k = RV_NUM;
    r.d = d;
    return r;
}
static inline struct rv rv_str(const char *s, size_t n)
{
    struct rv r = rv_null();
    r.k = RV_STR;
    r.s = s;
    r.n = n;
    return r;
}
static inline struct rv rv_own(char *s)
{
    struct rv r = rv_str(s, strlen(s));
    r.own = s;
    return r;
}
static inline struct rv rv_from_fval(const struct fval *v)
{
    if (!v) return rv_null();
    switch (v->k) {
    case FV_NULL: return rv_null();
    case FV_BOOL: return rv_bool((int)v->i);
    case FV_INT: return rv_int(v->i);
    case FV_DBL: return rv_dbl(v->d);
    case FV_STR: return rv_str(v->s, v->n);
    default: {
        struct rv r = rv_null();
        r.k = RV_VAL;
        r.v = *v;
        return r;
    }
    }
}
static inline int rv_is_list(const struct rv *r)
{
    return r->k == RV_VAL && (r->v.k == FV_LIST || r->v.k == FV_OBJS);
}

static inline int rv_truthy(const struct rv *r)
{
    switch (r->k) {
    case RV_NULL: return 0;
    case RV_BOOL: return (int)r->i;
    case RV_NUM: return r->is_int ? r->i != 0 : r->d != 0;
    case RV_STR: return r->n != 0;
    case RV_VAL: return facts_len(&r->v) != 0;
    }
    return 0;
}

/* ------------------------------------------------------------ across files */

/* rules.c */
void rules_node_free(struct node *n);
void rules_cval_free(struct cval *c);
void rules_rule_free(struct rule *r);
size_t rules_find_param(const struct ruleset *rs, const char *name);
size_t rules_find_rule(const struct ruleset *rs, const char *id);

/* rules_parse.c: "file:line:col: message" through P->err (else stderr) */
void rules_report(struct parser *P, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* rules_check.c */
const char *rules_type_desc(unsigned t);
int rules_eq_compatible(unsigned a, unsigned b);
void rules_path_check(struct parser *P, struct node *n);

/* rules_eval.c */
struct rv rules_eval_expr(const struct node *n, const struct env *E);
/* rv_truthy(rules_eval_expr(n, E)), without building the values of the
 * boolean structure (and, or, not, exists, coded comparisons) */
int rules_eval_truth(const struct node *n, const struct env *E);
void rules_rv_render(const struct rv *r, struct sbuf *b);

/* rules_func.c: n is an N_FUNC node */
struct rv rules_eval_func(const struct node *n, const struct env *E);

/* rules_storm.c */
int rules_threshold_hit(struct ruleset *rs, const struct rule *r, const tls_facts *facts,
                        const struct rules_ctx *ctx, double now, const struct env *E);
void rules_storms_clear(struct ruleset *rs);

#endif
