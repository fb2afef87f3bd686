/* The rule engine. A rule file is a list of `param` declarations and
 * `rule ID { field: value ... }` blocks (docs/rules.md has the grammar).
 * Loading lexes and parses each file into expression trees, checking every
 * facts path against src/facts_schema.def and every operator against the
 * static types of its operands, so a typo is a load error with
 * file:line:col rather than a rule that silently never fires. Evaluation
 * walks the trees over a const facts tree; nothing in the facts is
 * modified. Thresholds (storms) keep per-key hit times in a keyed hash.
 *
 * Why a hand-written recursive-descent parser: the language is small, and
 * a parser generator would add a build step and make error columns harder
 * to get right. */
#include "rules.h"
#include "xalloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "facts.h"
#include "json.h"
#include "tls_names.h"
#include "uthash_keyed.h"

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
static unsigned schema_type(const char *path) { return facts_path_type(path); }

static const char *type_desc(unsigned t)
{
    t &= ~T_NULL;
    if (t == T_BOOL) return "bool";
    if (t == T_INT || t == T_NUM) return "number";
    if (t == T_DBL) return "number";
    if (t == T_STR) return "string";
    if (t == T_ASTR) return "array of strings";
    if (t == T_AOBJ) return "array of objects";
    if (t == T_OBJ) return "object";
    if (t == 0) return "null";
    return "value";
}


/* A growing string buffer. */
struct sbuf {
    char *s;
    size_t n, cap;
};
static void sb_addn(struct sbuf *b, const char *s, size_t n)
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
static void sb_add(struct sbuf *b, const char *s) { sb_addn(b, s, strlen(s)); }
static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
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
static const char *sb_str(struct sbuf *b) { return b->s ? b->s : ""; }

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

struct node {
    enum nk k;
    int op;      /* cmpop, arithmetic char, fn, negation flag for in/contains/matches */
    int line, col;
    unsigned type; /* static type */
    char *sprefix; /* schema path of the value (objects), for field access */
    struct node *a, *b, *c; /* children; c: "where" condition */
    struct node **args;
    size_t nargs;
    /* literal */
    unsigned lt; /* T_NULL/T_BOOL/T_INT/T_DBL/T_STR */
    int64_t li;
    double ld;
    char *ls;
    /* path */
    struct pstep *steps;
    size_t nsteps;
    char *pathtext;
    /* param */
    size_t param;
    regex_t *re;
    int height; /* levels of the subtree (eval/node_free recurse this deep) */
    /* compiled comparison of a coded field (K_ENUM, K_NAME) with string
     * literals: 1 the path is n->a, 2 it is n->b; the literals' codes
     * (-2: a string the field can never hold) */
    int code_mode;
    long code;
    long *codes; /* N_IN: one per list element */
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
static const char *const by_names[] = { "client", "flow", "server", "sni" };

struct idref {
    char *id;
    char *file;
    int line, col;
};

struct rule {
    char *id, *category, *summary, *file;
    int line, col;
    enum rule_severity sev;
    struct node *when;
    struct cval confidence, fix_side, message, advice, evidence;
    struct idref *supp_ids, *explains;
    size_t nsupp_ids, nexplains;
    size_t *supp; /* indices of rules that suppress this one */
    size_t nsupp;
    int has_thr;
    struct node *thr_count, *thr_window, *thr_weight;
    enum thr_by thr_by;
    int disabled;
    int fired; /* scratch during rules_eval */
};

struct param {
    char *name;
    int is_str;
    double num;
    int is_int;
    char *s;
};

/* Per-key state of a threshold rule. The table is keyed by wire data
 * (client address, SNI), so it is bounded: uthash keeps its entries in
 * insertion order, and every hit moves its entry to the tail, so the head
 * is the least recently used key, the one evicted when the table is full. */
struct storm {
    char *key; /* "rule\x1fkey" */
    size_t keylen;
    double *times, *w; /* hit times and weights */
    size_t n, cap;
    double quiet_until, last;
    UT_hash_handle hh;
};

struct ruleset {
    struct rule *r;
    size_t n, cap;
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
};

static void node_free(struct node *n);
static void tmpl_free(struct tmpl *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->p[i].lit);
        node_free(t->p[i].expr);
    }
    free(t->p);
    t->p = NULL;
    t->n = 0;
}
static void cval_free(struct cval *c)
{
    for (size_t i = 0; i < c->n; i++) {
        node_free(c->cond[i]);
        tmpl_free(&c->val[i]);
    }
    free(c->cond);
    free(c->val);
    memset(c, 0, sizeof *c);
}
static void node_free(struct node *n)
{
    if (!n) return;
    node_free(n->a);
    node_free(n->b);
    node_free(n->c);
    for (size_t i = 0; i < n->nargs; i++) node_free(n->args[i]);
    free(n->args);
    free(n->ls);
    free(n->sprefix);
    for (size_t i = 0; i < n->nsteps; i++) free(n->steps[i].key);
    free(n->codes);
    free(n->steps);
    free(n->pathtext);
    if (n->re) {
        regfree(n->re);
        free(n->re);
    }
    free(n);
}
static void idrefs_free(struct idref *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].id);
        free(r[i].file);
    }
    free(r);
}
static void rule_free(struct rule *r)
{
    free(r->id);
    free(r->category);
    free(r->summary);
    free(r->file);
    node_free(r->when);
    cval_free(&r->confidence);
    cval_free(&r->fix_side);
    cval_free(&r->message);
    cval_free(&r->advice);
    cval_free(&r->evidence);
    idrefs_free(r->supp_ids, r->nsupp_ids);
    idrefs_free(r->explains, r->nexplains);
    free(r->supp);
    node_free(r->thr_count);
    node_free(r->thr_window);
    node_free(r->thr_weight);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ lexer */

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

static void report(struct parser *P, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(struct parser *P, int line, int col, const char *fmt, ...)
{
    char msg[600], full[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "%s:%d:%d: %s", P->file, line, col, msg);
    P->errors++;
    if (P->err)
        P->err(P->errctx, full);
    else
        fprintf(stderr, "%s\n", full);
}

static void syntax(struct parser *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void syntax(struct parser *P, const char *fmt, ...)
{
    if (P->bad) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    report(P, P->t.line, P->t.col, "%s", msg);
    P->bad = 1;
}

static int adv_char(struct parser *P)
{
    if (P->p >= P->end) return 0;
    if (*P->p == '\n') {
        P->line++;
        P->col = 1;
    } else {
        P->col++;
    }
    P->p++;
    return 1;
}

static void skip_space(struct parser *P)
{
    while (P->p < P->end) {
        char ch = *P->p;
        if (ch == '#') {
            while (P->p < P->end && *P->p != '\n') adv_char(P);
        } else if (isspace((unsigned char)ch)) {
            adv_char(P);
        } else {
            break;
        }
    }
}

static int is_id0(int ch) { return isalpha(ch) || ch == '_'; }
static int is_id(int ch) { return isalnum(ch) || ch == '_' || ch == '-'; }

static void next(struct parser *P)
{
    free(P->t.s);
    memset(&P->t, 0, sizeof P->t);
    skip_space(P);
    struct tok *t = &P->t;
    t->p = P->p;
    t->line = P->line;
    t->col = P->col;
    if (P->p >= P->end) {
        t->k = TK_EOF;
        return;
    }
    unsigned char ch = (unsigned char)*P->p;
    if (is_id0(ch)) {
        const char *s = P->p;
        while (P->p < P->end && is_id((unsigned char)*P->p)) adv_char(P);
        while (P->p > s + 1 && P->p[-1] == '-') { /* a trailing '-' is an operator */
            P->p--;
            P->col--;
        }
        t->k = TK_IDENT;
        t->n = (size_t)(P->p - s);
        t->s = xstrndup(s, t->n);
        return;
    }
    if (ch == '$') {
        adv_char(P);
        const char *s = P->p;
        while (P->p < P->end && (isalnum((unsigned char)*P->p) || *P->p == '_')) adv_char(P);
        t->k = TK_PARAM;
        t->n = (size_t)(P->p - t->p);
        t->s = xstrndup(s, (size_t)(P->p - s));
        if (!*t->s) t->k = TK_BAD;
        return;
    }
    if (isdigit(ch)) {
        const char *s = P->p;
        while (P->p < P->end && (isalnum((unsigned char)*P->p) || *P->p == '.')) adv_char(P);
        t->n = (size_t)(P->p - s);
        char buf[64];
        if (t->n >= sizeof buf) {
            t->k = TK_BAD;
            return;
        }
        memcpy(buf, s, t->n);
        buf[t->n] = '\0';
        char *e;
        int is_hex = t->n > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X');
        double mult = 1;
        size_t L = t->n;
        if (!is_hex && L > 1 && strchr("smhd", buf[L - 1])) { /* duration: 60s 5m 2h 30d */
            mult = buf[L - 1] == 's' ? 1 : buf[L - 1] == 'm' ? 60 : buf[L - 1] == 'h' ? 3600 : 86400;
            buf[L - 1] = '\0';
        }
        if (is_hex) {
            errno = 0;
            unsigned long long v = strtoull(buf, &e, 16);
            if (*e || errno) {
                t->k = TK_BAD;
                return;
            }
            t->k = TK_NUM;
            t->is_int = 1;
            t->inum = (int64_t)v;
            t->num = (double)v;
            return;
        }
        errno = 0;
        if (!strchr(buf, '.')) {
            long long v = strtoll(buf, &e, 10);
            if (*e || errno) {
                t->k = TK_BAD;
                return;
            }
            long long m = (long long)mult;
            if (v > LLONG_MAX / m) { /* 999999999999999999d: no int64 */
                t->k = TK_BAD;
                t->s = xstrdup("a number out of range");
                return;
            }
            t->k = TK_NUM;
            t->is_int = 1;
            t->inum = (int64_t)(v * m);
            t->num = (double)t->inum;
            return;
        }
        double v = strtod(buf, &e);
        if (*e || errno) {
            t->k = TK_BAD;
            return;
        }
        t->k = TK_NUM;
        t->num = v * mult;
        return;
    }
    if (ch == '"') {
        struct sbuf b = { 0 };
        int depth = 0, inq = 0;
        adv_char(P);
        for (;;) {
            if (P->p >= P->end || *P->p == '\n') {
                free(b.s);
                t->k = TK_BAD;
                t->s = xstrdup("unterminated string");
                return;
            }
            char c = *P->p;
            /* Inside {...} of a template the text is an expression and is
             * kept raw: its own "strings" do not end the outer string. */
            if (depth > 0) {
                if (inq) {
                    if (c == '\\' && P->p + 1 < P->end) {
                        sb_addn(&b, P->p, 1);
                        adv_char(P);
                        c = *P->p;
                    } else if (c == '"') {
                        inq = 0;
                    }
                } else if (c == '"') {
                    inq = 1;
                } else if (c == '{') {
                    depth++;
                } else if (c == '}') {
                    depth--;
                }
                sb_addn(&b, &c, 1);
                adv_char(P);
                continue;
            }
            if (c == '{') {
                if (P->p + 1 < P->end && P->p[1] == '{') { /* literal brace */
                    sb_addn(&b, "{{", 2);
                    adv_char(P);
                    adv_char(P);
                    continue;
                }
                depth = 1;
                sb_addn(&b, &c, 1);
                adv_char(P);
                continue;
            }
            if (c == '"') {
                adv_char(P);
                break;
            }
            if (c == '\\' && P->p + 1 < P->end) {
                adv_char(P);
                char e = *P->p;
                char o = e == 'n' ? '\n' : e == 't' ? '\t' : e;
                sb_addn(&b, &o, 1);
                adv_char(P);
                continue;
            }
            sb_addn(&b, &c, 1);
            adv_char(P);
        }
        t->k = TK_STR;
        t->n = (size_t)(P->p - t->p);
        t->s = b.s ? b.s : xstrdup("");
        return;
    }
    static const char *const ops2[] = { "==", "!=", "<=", ">=", "??" };
    for (size_t i = 0; i < sizeof ops2 / sizeof ops2[0]; i++) {
        if (P->p + 1 < P->end && P->p[0] == ops2[i][0] && P->p[1] == ops2[i][1]) {
            t->k = TK_OP;
            memcpy(t->op, ops2[i], 2);
            adv_char(P);
            adv_char(P);
            t->n = 2;
            return;
        }
    }
    if (strchr("{}[]():,.<>+-*/%=", ch)) {
        t->k = TK_OP;
        t->op[0] = (char)ch;
        t->n = 1;
        adv_char(P);
        return;
    }
    t->k = TK_BAD;
    t->n = 1;
    adv_char(P);
}

static int is_op(const struct parser *P, const char *op)
{
    return P->t.k == TK_OP && strcmp(P->t.op, op) == 0;
}
static int is_kw(const struct parser *P, const char *kw)
{
    return P->t.k == TK_IDENT && strcmp(P->t.s, kw) == 0;
}
static const char *tok_desc(const struct tok *t, char *buf, size_t n)
{
    switch (t->k) {
    case TK_EOF: return "end of file";
    case TK_STR: return "a string";
    case TK_NUM: return "a number";
    case TK_BAD: return t->s ? t->s : "an invalid character";
    default: break;
    }
    size_t len = t->n < 40 ? t->n : 40;
    snprintf(buf, n, "'%.*s'", (int)len, t->p);
    return buf;
}
static int expect_op(struct parser *P, const char *op)
{
    if (is_op(P, op)) {
        next(P);
        return 1;
    }
    char b[64];
    syntax(P, "expected '%s', found %s", op, tok_desc(&P->t, b, sizeof b));
    return 0;
}

/* ------------------------------------------------------------ expressions */

static struct node *new_node(struct parser *P, enum nk k, int line, int col)
{
    (void)P;
    struct node *n = xcalloc(1, sizeof *n);
    n->k = k;
    n->line = line;
    n->col = col;
    n->type = T_ANY;
    n->height = 1;
    return n;
}

/* Nesting limits. The parser recurses once per '(', 'not', unary '-' and
 * function call, and eval() and node_free() recurse once per level of the
 * finished tree, which a left-associative chain ("a and b and c ...")
 * deepens without any parser recursion. A crafted rule file (200,000 '(')
 * must be a file:line:col error, never a stack overflow. */
static int enter(struct parser *P)
{
    if (P->bad) return 0;
    if (P->depth >= RULES_MAX_NESTING) {
        syntax(P, "nesting deeper than %d", RULES_MAX_NESTING);
        return 0;
    }
    P->depth++;
    return 1;
}
static void leave(struct parser *P) { P->depth--; }

static int node_h(const struct node *n) { return n ? n->height : 0; }
/* Sets n's height from its children (call once they are attached); a tree
 * deeper than RULES_MAX_TREE_DEPTH is an error whose P->bad unwinds the
 * parse. Returns n. */
static struct node *grown(struct parser *P, struct node *n)
{
    int h = node_h(n->a);
    if (node_h(n->b) > h) h = node_h(n->b);
    if (node_h(n->c) > h) h = node_h(n->c);
    for (size_t i = 0; i < n->nargs; i++)
        if (node_h(n->args[i]) > h) h = node_h(n->args[i]);
    n->height = h + 1;
    if (n->height > RULES_MAX_TREE_DEPTH && !P->bad) {
        report(P, n->line, n->col, "expression nesting deeper than %d operators",
               RULES_MAX_TREE_DEPTH);
        P->bad = 1;
    }
    return n;
}

static const char *const reserved[] = { "and", "or", "not", "in", "contains", "matches", "exists",
                                        "where", "true", "false", "null", "it", "if", "then",
                                        "elif", "else" };
static int is_reserved(const char *s)
{
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(s, reserved[i]) == 0) return 1;
    return 0;
}

static struct node *parse_expr(struct parser *P);

static size_t find_param(const struct ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rs->np; i++)
        if (strcmp(rs->p[i].name, name) == 0) return i;
    return (size_t)-1;
}

/* Binds every key step of n to its field descriptor, walking the typed
 * facts from the object (or array) at schema path prefix (NULL: the
 * root), so that evaluation never looks a name up. 0 on a mismatch. */
static int resolve_steps(struct node *n, const char *prefix)
{
    const struct facts_type *obj = &facts_type_TLS; /* current: an object of this type */
    const struct facts_field *arr = NULL;            /* or an array (this field) */
    if (prefix && *prefix) {
        const struct facts_type *owner;
        const struct facts_field *fd;
        int elem;
        if (!facts_resolve(prefix, &owner, &fd, &elem)) return 0;
        obj = NULL;
        if (!fd) obj = &facts_type_TLS;
        else if (elem) obj = fd->kind == K_OBJA ? fd->sub : NULL;
        else if (fd->kind == K_OBJ || fd->kind == K_OBJP) obj = fd->sub;
        else if (fd->kind == K_OBJA || fd->kind == K_NAMES || fd->kind == K_STRS || fd->kind == K_BITS) arr = fd;
        if (!obj && !arr) return 0;
    }
    for (size_t i = 0; i < n->nsteps; i++) {
        struct pstep *st = &n->steps[i];
        if (st->key) {
            if (!obj) return 0;
            int k = facts_field_index(obj, st->key);
            if (k < 0) return 0;
            st->fd = &obj->fields[k];
            obj = NULL;
            arr = NULL;
            if (st->fd->kind == K_OBJ || st->fd->kind == K_OBJP) obj = st->fd->sub;
            else if (st->fd->kind == K_OBJA || st->fd->kind == K_NAMES || st->fd->kind == K_STRS ||
                     st->fd->kind == K_BITS)
                arr = st->fd;
        } else {
            if (!arr) return 0;
            obj = arr->kind == K_OBJA ? arr->sub : NULL;
            arr = NULL;
        }
    }
    return 1;
}

/* Resolves a path node (steps from the scope root, or from base n->a)
 * against the schema: sets type and sprefix, reports unknown fields. */
static void path_check(struct parser *P, struct node *n)
{
    const char *prefix = NULL;
    if (n->a) {
        prefix = n->a->sprefix;
        if (!prefix) {
            report(P, n->line, n->col, "field access on a %s", type_desc(n->a->type));
            n->type = T_ANY;
            return;
        }
    } else if (P->scope) {
        prefix = P->scope;
        if (P->scope_type != T_OBJ) {
            report(P, n->line, n->col, "elements here are strings: use 'it', not a field name");
            return;
        }
    }
    struct sbuf b = { 0 };
    if (prefix) sb_add(&b, prefix);
    for (size_t i = 0; i < n->nsteps; i++) {
        if (n->steps[i].key) {
            if (b.n) sb_add(&b, ".");
            sb_add(&b, n->steps[i].key);
        } else {
            sb_add(&b, "[]");
        }
    }
    const char *full = sb_str(&b);
    size_t L = strlen(full);
    unsigned t;
    if (L >= 2 && strcmp(full + L - 2, "[]") == 0) {
        char *arr = xstrndup(full, L - 2);
        unsigned at = schema_type(arr);
        free(arr);
        t = at == T_ASTR ? T_STR : at == T_AOBJ ? T_OBJ : 0;
        if (!t && at) {
            report(P, n->line, n->col, "'%s' is not an array", n->pathtext);
            free(b.s);
            return;
        }
    } else {
        t = schema_type(full);
    }
    if (!t && prefix && !n->a && P->scope) {
        /* not an element field: maybe a facts path from the root */
        const char *oscope = P->scope;
        struct sbuf rb = { 0 };
        for (size_t i = 0; i < n->nsteps; i++) {
            if (n->steps[i].key) {
                if (rb.n) sb_add(&rb, ".");
                sb_add(&rb, n->steps[i].key);
            } else {
                sb_add(&rb, "[]");
            }
        }
        size_t rl = rb.n;
        int found = schema_type(sb_str(&rb)) != 0;
        if (!found && rl > 2 && strcmp(rb.s + rl - 2, "[]") == 0) {
            rb.s[rl - 2] = '\0';
            found = schema_type(rb.s) != 0;
        }
        free(rb.s);
        if (found) {
            free(b.s);
            n->op = 1;
            P->scope = NULL;
            path_check(P, n);
            P->scope = oscope;
            return;
        }
    }
    if (!t) {
        if (prefix && !n->a)
            report(P, n->line, n->col, "unknown field '%s' in elements of %.*s", n->pathtext,
                   (int)(strlen(prefix) - 2), prefix);
        else
            report(P, n->line, n->col, "unknown field '%s' (not in docs/facts.md)", n->pathtext);
        free(b.s);
        return;
    }
    n->type = t;
    if (!resolve_steps(n, prefix)) {
        report(P, n->line, n->col, "'%s' does not resolve in the facts", n->pathtext);
        n->type = T_ANY;
    }
    if (t & (T_OBJ | T_AOBJ)) {
        n->sprefix = b.s;
        return;
    }
    free(b.s);
}

static void path_add_key(struct node *n, const char *key)
{
    n->steps = xrealloc(n->steps, (n->nsteps + 1) * sizeof *n->steps);
    n->steps[n->nsteps].key = xstrdup(key);
    n->steps[n->nsteps].idx = 0;
    n->steps[n->nsteps].fd = NULL;
    n->nsteps++;
}
static void path_add_idx(struct node *n, long idx)
{
    n->steps = xrealloc(n->steps, (n->nsteps + 1) * sizeof *n->steps);
    n->steps[n->nsteps].key = NULL;
    n->steps[n->nsteps].idx = idx;
    n->steps[n->nsteps].fd = NULL;
    n->nsteps++;
}

static struct node *parse_call(struct parser *P, const char *name, int line, int col)
{
    size_t f;
    for (f = 0; f < sizeof fns / sizeof fns[0]; f++)
        if (strcmp(fns[f].name, name) == 0) break;
    if (f == sizeof fns / sizeof fns[0]) {
        report(P, line, col, "unknown function '%s'", name);
        P->bad = 1;
        return NULL;
    }
    next(P); /* '(' */
    struct node *n = new_node(P, N_FUNC, line, col);
    n->op = (int)f;
    if (fns[f].where) {
        struct node *arr = parse_expr(P);
        if (!arr) goto fail;
        n->a = arr;
        if (!(arr->type & T_ARR) && arr->type != T_ANY) {
            report(P, arr->line, arr->col, "%s() needs an array, '%s' is a %s", name,
                   arr->pathtext ? arr->pathtext : "argument", type_desc(arr->type));
        }
        if (is_kw(P, "where")) {
            next(P);
            const char *oscope = P->scope;
            unsigned otype = P->scope_type;
            char *scope = NULL;
            if (arr->type == T_AOBJ && arr->sprefix) {
                size_t L = strlen(arr->sprefix);
                scope = xmalloc(L + 3);
                memcpy(scope, arr->sprefix, L);
                memcpy(scope + L, "[]", 3);
                P->scope = scope;
                P->scope_type = T_OBJ;
            } else {
                P->scope = "";
                P->scope_type = T_STR;
            }
            n->c = parse_expr(P);
            P->scope = oscope;
            P->scope_type = otype;
            if (f == F_FIRST && scope) n->sprefix = scope;
            else free(scope);
            if (!n->c) goto fail;
        } else if (f == F_FIRST && arr->sprefix) {
            size_t L = strlen(arr->sprefix);
            n->sprefix = xmalloc(L + 3);
            memcpy(n->sprefix, arr->sprefix, L);
            memcpy(n->sprefix + L, "[]", 3);
        }
    } else if (!is_op(P, ")")) {
        for (;;) {
            struct node *a = parse_expr(P);
            if (!a) goto fail;
            n->args = xrealloc(n->args, (n->nargs + 1) * sizeof *n->args);
            n->args[n->nargs++] = a;
            if (!is_op(P, ",")) break;
            next(P);
        }
    }
    if (!expect_op(P, ")")) goto fail;
    size_t na = fns[f].where ? 1 : n->nargs;
    if ((int)na < fns[f].minargs || (int)na > fns[f].maxargs) {
        report(P, line, col, "%s() takes %d%s argument%s, not %zu", name, fns[f].minargs,
               fns[f].maxargs > fns[f].minargs ? " or more" : "", fns[f].maxargs > 1 ? "s" : "", na);
        n->type = T_ANY;
        return grown(P, n);
    }
    switch (f) {
    case F_COUNT: case F_LEN: case F_BURST: case F_INT: n->type = T_INT; break;
    case F_ANY: case F_ALL: n->type = T_BOOL; break;
    case F_FIRST: n->type = n->a && n->a->type == T_ASTR ? T_STR : T_OBJ; break;
    case F_ALERT_MEANING: case F_ALERT_NAME: case F_JOIN: case F_RFC3339: case F_LOWER:
        n->type = T_STR;
        break;
    case F_CHOOSE: n->type = n->args[1]->type | n->args[2]->type; break;
    case F_ALERT_LIST:
        n->type = T_STR;
        if (!(n->args[0]->type & T_AOBJ))
            report(P, n->args[0]->line, n->args[0]->col, "alert_list() needs an array of alerts");
        break;
    default: break;
    }
    if ((f == F_ALERT_MEANING || f == F_ALERT_NAME || f == F_INT || f == F_RFC3339) &&
        !(n->args[0]->type & T_NUM))
        report(P, n->args[0]->line, n->args[0]->col, "%s() needs a number, got a %s", name,
               type_desc(n->args[0]->type));
    if (f == F_BURST) {
        if (!(n->args[0]->type & T_AOBJ))
            report(P, n->args[0]->line, n->args[0]->col,
                   "burst() needs an array of objects with a 'time' field");
        if (!(n->args[1]->type & T_NUM))
            report(P, n->args[1]->line, n->args[1]->col, "burst() window must be a number");
    }
    if (f == F_JOIN && !(n->args[0]->type & T_ARR))
        report(P, n->args[0]->line, n->args[0]->col, "join() needs an array");
    return grown(P, n);
fail:
    node_free(n);
    return NULL;
}

static struct node *parse_primary(struct parser *P)
{
    if (P->bad) return NULL;
    struct tok *t = &P->t;
    int line = t->line, col = t->col;
    char b[64];
    if (t->k == TK_NUM) {
        struct node *n = new_node(P, N_LIT, line, col);
        n->lt = t->is_int ? T_INT : T_DBL;
        n->li = t->inum;
        n->ld = t->num;
        n->type = n->lt;
        next(P);
        return n;
    }
    if (t->k == TK_STR) {
        struct node *n = new_node(P, N_LIT, line, col);
        n->lt = n->type = T_STR;
        n->ls = t->s;
        t->s = NULL;
        next(P);
        return n;
    }
    if (t->k == TK_PARAM) {
        size_t i = find_param(P->rs, t->s);
        struct node *n = new_node(P, N_PARAM, line, col);
        if (i == (size_t)-1) {
            report(P, line, col, "unknown parameter '$%s' (declare it with: param %s = ...)", t->s,
                   t->s);
            n->type = T_ANY;
        } else {
            n->param = i;
            n->type = P->rs->p[i].is_str ? T_STR : T_NUM;
        }
        next(P);
        return n;
    }
    if (is_op(P, "(")) {
        next(P);
        struct node *n = parse_expr(P);
        if (!n) return NULL;
        if (!expect_op(P, ")")) {
            node_free(n);
            return NULL;
        }
        return n;
    }
    if (t->k == TK_IDENT) {
        if (is_kw(P, "true") || is_kw(P, "false")) {
            struct node *n = new_node(P, N_LIT, line, col);
            n->lt = n->type = T_BOOL;
            n->li = is_kw(P, "true");
            next(P);
            return n;
        }
        if (is_kw(P, "null")) {
            struct node *n = new_node(P, N_LIT, line, col);
            n->lt = n->type = T_NULL;
            next(P);
            return n;
        }
        if (is_kw(P, "it")) {
            struct node *n = new_node(P, N_IT, line, col);
            if (!P->scope) report(P, line, col, "'it' is only valid after 'where'");
            n->type = P->scope_type ? P->scope_type : T_ANY;
            if (P->scope && P->scope_type == T_OBJ) n->sprefix = xstrdup(P->scope);
            next(P);
            return n;
        }
        if (is_reserved(t->s)) {
            syntax(P, "expected a value, found keyword '%s'", t->s);
            return NULL;
        }
        char *name = t->s;
        t->s = NULL;
        next(P);
        if (is_op(P, "(")) {
            struct node *n = parse_call(P, name, line, col);
            free(name);
            return n;
        }
        struct node *n = new_node(P, N_PATH, line, col);
        path_add_key(n, name);
        free(name);
        return n;
    }
    syntax(P, "expected a value, found %s", tok_desc(t, b, sizeof b));
    return NULL;
}

static struct node *parse_postfix(struct parser *P)
{
    struct node *n = parse_primary(P);
    if (!n) return NULL;
    int line = n->line, col = n->col;
    int grew = 0;
    while (!P->bad && (is_op(P, ".") || is_op(P, "["))) {
        grew = 1;
        if (n->k != N_PATH) { /* field access on an expression result */
            struct node *w = new_node(P, N_PATH, n->line, n->col);
            w->a = n;
            n = grown(P, w);
        }
        if (is_op(P, ".")) {
            next(P);
            if (P->t.k != TK_IDENT) {
                char b[64];
                syntax(P, "expected a field name after '.', found %s", tok_desc(&P->t, b, sizeof b));
                break;
            }
            path_add_key(n, P->t.s);
            next(P);
        } else {
            next(P);
            if (P->t.k != TK_NUM || !P->t.is_int) {
                char b[64];
                syntax(P, "expected an index after '[', found %s", tok_desc(&P->t, b, sizeof b));
                break;
            }
            path_add_idx(n, (long)P->t.inum);
            next(P);
            if (!expect_op(P, "]")) break;
        }
    }
    if (P->bad) {
        node_free(n);
        return NULL;
    }
    /* A parenthesised path "(a)" comes back checked already: redo it only
     * when steps were added here (and free what the first check set). */
    if (n->k == N_PATH && (grew || !n->pathtext)) {
        free(n->pathtext);
        free(n->sprefix);
        n->sprefix = NULL;
        struct sbuf b = { 0 };
        for (size_t i = 0; i < n->nsteps; i++) {
            if (n->steps[i].key) {
                if (i) sb_add(&b, ".");
                sb_add(&b, n->steps[i].key);
            } else {
                sb_printf(&b, "[%ld]", n->steps[i].idx);
            }
        }
        n->pathtext = b.s ? b.s : xstrdup("");
        n->line = line;
        n->col = col;
        path_check(P, n);
    }
    return n;
}

static struct node *parse_unary(struct parser *P)
{
    if (is_op(P, "-")) {
        int line = P->t.line, col = P->t.col;
        if (!enter(P)) return NULL;
        next(P);
        struct node *a = parse_unary(P);
        leave(P);
        if (!a) return NULL;
        struct node *n = new_node(P, N_NEG, line, col);
        n->a = a;
        grown(P, n);
        if (!(a->type & T_NUM)) report(P, line, col, "'-' needs a number, got a %s", type_desc(a->type));
        n->type = a->type & T_NUM ? a->type & T_NUM : T_NUM;
        return n;
    }
    return parse_postfix(P);
}

static struct node *parse_mul(struct parser *P);
static struct node *parse_arith(struct parser *P, int level)
{
    struct node *l = level ? parse_unary(P) : parse_mul(P);
    const char *ops = level ? "*/%" : "+-";
    while (l && P->t.k == TK_OP && P->t.op[1] == '\0' && strchr(ops, P->t.op[0])) {
        char op = P->t.op[0];
        int line = P->t.line, col = P->t.col;
        next(P);
        struct node *r = level ? parse_unary(P) : parse_mul(P);
        if (!r) {
            node_free(l);
            return NULL;
        }
        struct node *n = new_node(P, N_ARITH, line, col);
        n->op = op;
        n->a = l;
        n->b = r;
        grown(P, n);
        int concat = op == '+' && (l->type == T_STR || r->type == T_STR);
        if (concat) {
            n->type = T_STR; /* string + value: concatenation */
        } else {
            if (!(l->type & T_NUM) || !(r->type & T_NUM))
                report(P, line, col, "'%c' needs numbers, got %s and %s", op, type_desc(l->type),
                       type_desc(r->type));
            n->type = ((l->type | r->type) & T_DBL) || op == '/' ? T_NUM : T_INT;
            if (op == '/' && (l->type & T_NUM) == T_INT && (r->type & T_NUM) == T_INT) n->type = T_INT;
        }
        l = n;
    }
    return l;
}
static struct node *parse_mul(struct parser *P) { return parse_arith(P, 1); }

/* Are values of types a and b comparable with ==? */
static int eq_compatible(unsigned a, unsigned b)
{
    a &= ~T_NULL;
    b &= ~T_NULL;
    if (!a || !b) return 1; /* null literal */
    if (a == T_ANY || b == T_ANY) return 1;
    if ((a & T_NUM) && (b & T_NUM)) return 1;
    return (a & b) != 0;
}

static struct node *parse_list(struct parser *P, unsigned ltype)
{
    int line = P->t.line, col = P->t.col;
    if (!expect_op(P, "[")) return NULL;
    struct node *n = new_node(P, N_LIST, line, col);
    while (!is_op(P, "]")) {
        struct node *e = parse_unary(P);
        if (!e) {
            node_free(n);
            return NULL;
        }
        if (e->k != N_LIT && e->k != N_PARAM)
            report(P, e->line, e->col, "list items must be constants or $parameters");
        else if (!eq_compatible(ltype, e->type))
            report(P, e->line, e->col, "type mismatch: list item is a %s, the value tested is a %s",
                   type_desc(e->type), type_desc(ltype));
        n->args = xrealloc(n->args, (n->nargs + 1) * sizeof *n->args);
        n->args[n->nargs++] = e;
        if (e->height >= n->height) n->height = e->height + 1;
        if (is_op(P, ",")) next(P);
        else if (!is_op(P, "]")) {
            char b[64];
            syntax(P, "expected ',' or ']', found %s", tok_desc(&P->t, b, sizeof b));
            node_free(n);
            return NULL;
        }
    }
    next(P);
    return n;
}

/* Regexes run on wire strings (SNI, certificate names), so matching must
 * take linear time. glibc's regcomp accepts back-references (\1 .. \9)
 * even in ERE, and with one regexec backtracks: exponential time on a
 * crafted string. Without them glibc simulates an automaton. Two more
 * things blow up inside regcomp itself: it recurses once per '(' (stack),
 * and it copies the repeated atom of x{m,n} n times and of x+ twice, so
 * nested repetitions ((a{99}){99}){99} multiply. RE_MAX_SIZE bounds that
 * expanded size. */
#define RE_MAX_SIZE 2000

static size_t re_sat(size_t v) { return v > RE_MAX_SIZE ? RE_MAX_SIZE + 1 : v; }

/* Returns NULL, or why the pattern is refused with *at its byte offset. */
static const char *regex_refuse(const char *re, size_t *at)
{
    size_t cur = 0, last = 0, depth = 0;
    size_t saved[RULES_MAX_NESTING];
    size_t i = 0, n = strlen(re);
    while (i < n) {
        char c = re[i];
        size_t copies = 0; /* > 0: a repetition of the last atom */
        if (c == '\\') {
            if (i + 1 < n && re[i + 1] >= '1' && re[i + 1] <= '9') {
                *at = i;
                return "back-references (\\1 .. \\9) are not allowed in rule regexes";
            }
            i += i + 1 < n ? 2 : 1;
            last = 1;
            cur = re_sat(cur + 1);
        } else if (c == '[') { /* bracket expression: '\' is literal inside */
            size_t j = i + 1;
            if (j < n && re[j] == '^') j++;
            if (j < n && re[j] == ']') j++;
            while (j < n && re[j] != ']') {
                if (re[j] == '[' && j + 1 < n && strchr(".:=", re[j + 1])) {
                    const char *e = NULL;
                    for (size_t k = j + 2; k + 1 < n; k++)
                        if (re[k] == re[j + 1] && re[k + 1] == ']') {
                            e = re + k;
                            break;
                        }
                    if (!e) break; /* malformed: regcomp says so */
                    j = (size_t)(e - re) + 2;
                } else {
                    j++;
                }
            }
            i = j < n ? j + 1 : n;
            last = 1;
            cur = re_sat(cur + 1);
        } else if (c == '(') {
            if (depth == RULES_MAX_NESTING) {
                *at = i;
                return "regex groups nested too deep";
            }
            saved[depth++] = re_sat(cur + 1); /* the group node */
            cur = 0;
            last = 0;
            i++;
        } else if (c == ')' && depth > 0) {
            last = cur;
            cur = re_sat(saved[--depth] + cur);
            i++;
        } else if (c == '*' || c == '?') {
            i++; /* one copy */
        } else if (c == '+') {
            copies = 2;
            i++;
        } else if (c == '{' && i + 1 < n && isdigit((unsigned char)re[i + 1])) {
            size_t j = i + 1, m = 0, hi;
            while (j < n && isdigit((unsigned char)re[j])) m = re_sat(m * 10 + (size_t)(re[j++] - '0'));
            hi = m;
            if (j < n && re[j] == ',') {
                j++;
                if (j < n && isdigit((unsigned char)re[j])) {
                    hi = 0;
                    while (j < n && isdigit((unsigned char)re[j]))
                        hi = re_sat(hi * 10 + (size_t)(re[j++] - '0'));
                } else {
                    hi = re_sat(m + 1);
                }
            }
            copies = hi ? hi : 1;
            i = j < n && re[j] == '}' ? j + 1 : j;
        } else { /* a character, '.', or '|' '^' '$' (nodes too, not repeatable) */
            last = c != '|' && c != '^' && c != '$';
            cur = re_sat(cur + 1);
            i++;
        }
        if (copies > 1) {
            size_t add = last > RE_MAX_SIZE / copies ? RE_MAX_SIZE + 1 : last * (copies - 1);
            cur = re_sat(cur + add);
            last = re_sat(last * copies > RE_MAX_SIZE ? RE_MAX_SIZE + 1 : last * copies);
        }
        if (cur > RE_MAX_SIZE) {
            *at = i > 0 ? i - 1 : 0;
            return "regex too large once its repetitions are expanded";
        }
    }
    return NULL;
}

/* /regex/ right after "matches": the '/' is the current token. */
static struct node *parse_regex(struct parser *P)
{
    int line = P->t.line, col = P->t.col;
    if (!is_op(P, "/")) {
        char b[64];
        syntax(P, "expected /regex/ after 'matches', found %s", tok_desc(&P->t, b, sizeof b));
        return NULL;
    }
    /* The lexer stands right after the opening '/'. cols[i]: the source
     * column of pattern byte i (a regex is on one line). */
    struct sbuf b = { 0 };
    int *cols = NULL;
    size_t ncols = 0, colcap = 0;
    while (P->p < P->end && *P->p != '/' && *P->p != '\n') {
        int c0 = P->col;
        if (*P->p == '\\' && P->p + 1 < P->end && P->p[1] == '/') {
            adv_char(P);
        } else if (*P->p == '\\' && P->p + 1 < P->end) {
            sb_addn(&b, P->p, 1);
            adv_char(P);
        }
        sb_addn(&b, P->p, 1);
        adv_char(P);
        if (b.n > colcap) {
            colcap = b.n * 2;
            cols = xrealloc(cols, colcap * sizeof *cols);
        }
        for (; ncols < b.n; ncols++) cols[ncols] = c0;
    }
    if (P->p >= P->end || *P->p != '/') {
        free(b.s);
        free(cols);
        P->t.line = line;
        P->t.col = col;
        syntax(P, "unterminated /regex/");
        return NULL;
    }
    adv_char(P);
    int flags = REG_EXTENDED | REG_NOSUB;
    while (P->p < P->end && *P->p == 'i') {
        flags |= REG_ICASE;
        adv_char(P);
    }
    struct node *n = new_node(P, N_LIT, line, col);
    size_t at = 0;
    const char *why = regex_refuse(sb_str(&b), &at);
    if (why) {
        report(P, line, at < ncols ? cols[at] : col, "%s: /%.40s%s/", why, sb_str(&b),
               b.n > 40 ? "..." : "");
        free(b.s);
        free(cols);
        next(P);
        return n;
    }
    free(cols);
    n->re = xcalloc(1, sizeof *n->re);
    int rc = regcomp(n->re, sb_str(&b), flags);
    if (rc) {
        char eb[200];
        regerror(rc, n->re, eb, sizeof eb);
        report(P, line, col, "bad regex /%.40s%s/: %s", sb_str(&b), b.n > 40 ? "..." : "", eb);
        free(n->re);
        n->re = NULL;
    }
    free(b.s);
    next(P);
    return n;
}

static struct node *parse_cmp(struct parser *P)
{
    struct node *l = parse_arith(P, 0);
    if (!l) return NULL;
    int neg = 0;
    int line = P->t.line, col = P->t.col;
    if (is_kw(P, "not")) {
        /* "x not in [..]", "x not contains y", "x not matches /r/" */
        const char *save_p = P->p;
        int sl = P->line, sc = P->col;
        struct tok save = P->t;
        P->t.s = NULL;
        next(P);
        if (is_kw(P, "in") || is_kw(P, "contains") || is_kw(P, "matches")) {
            neg = 1;
            free(save.s);
        } else { /* not ours: restore */
            free(P->t.s);
            P->t = save;
            P->p = save_p;
            P->line = sl;
            P->col = sc;
            return l;
        }
    }
    struct node *n = NULL;
    static const char *const cmps[] = { "==", "!=", "<", "<=", ">", ">=" };
    for (int i = 0; i < 6; i++) {
        if (!neg && is_op(P, cmps[i])) {
            next(P);
            struct node *r = parse_arith(P, 0);
            if (!r) {
                node_free(l);
                return NULL;
            }
            n = new_node(P, N_CMP, line, col);
            n->op = i;
            n->a = l;
            n->b = r;
            n->type = T_BOOL;
            grown(P, n);
            if (i >= OP_LT) {
                if (!(l->type & T_NUM) || !(r->type & T_NUM))
                    report(P, line, col, "type mismatch: '%s' compares numbers, got %s and %s",
                           cmps[i], type_desc(l->type), type_desc(r->type));
            } else if (!eq_compatible(l->type, r->type)) {
                report(P, line, col, "type mismatch: %s %s %s", type_desc(l->type), cmps[i],
                       type_desc(r->type));
            }
            return n;
        }
    }
    if (is_kw(P, "in")) {
        next(P);
        n = new_node(P, N_IN, line, col);
        n->a = l;
        n->op = neg;
        n->type = T_BOOL;
        if (l->type & (T_ARR | T_OBJ) && !(l->type & (T_STR | T_NUM | T_BOOL)))
            report(P, l->line, l->col, "'in' tests a single value, '%s' is a %s",
                   l->pathtext ? l->pathtext : "left side", type_desc(l->type));
        n->b = parse_list(P, l->type);
        if (!n->b) {
            node_free(n);
            return NULL;
        }
        return grown(P, n);
    }
    if (is_kw(P, "contains")) {
        next(P);
        struct node *r = parse_arith(P, 0);
        if (!r) {
            node_free(l);
            return NULL;
        }
        n = new_node(P, N_CONTAINS, line, col);
        n->a = l;
        n->b = r;
        n->op = neg;
        n->type = T_BOOL;
        grown(P, n);
        if (!(l->type & (T_STR | T_ASTR)))
            report(P, l->line, l->col, "'contains' needs a string or an array of strings on the left, got a %s",
                   type_desc(l->type));
        else if (!(r->type & (T_STR | T_NUM)))
            report(P, r->line, r->col, "'contains' needs a string on the right, got a %s",
                   type_desc(r->type));
        return n;
    }
    if (is_kw(P, "matches")) {
        next(P);
        n = new_node(P, N_MATCHES, line, col);
        n->a = l;
        n->op = neg;
        n->type = T_BOOL;
        if (!(l->type & (T_STR | T_ASTR)))
            report(P, l->line, l->col, "'matches' needs a string or an array of strings, got a %s",
                   type_desc(l->type));
        n->b = parse_regex(P);
        if (!n->b) {
            node_free(n);
            return NULL;
        }
        return grown(P, n);
    }
    return l;
}

static struct node *parse_not(struct parser *P)
{
    int line = P->t.line, col = P->t.col;
    if (is_kw(P, "not")) {
        if (!enter(P)) return NULL;
        next(P);
        struct node *a = parse_not(P);
        leave(P);
        if (!a) return NULL;
        struct node *n = new_node(P, N_NOT, line, col);
        n->a = a;
        n->type = T_BOOL;
        return grown(P, n);
    }
    if (is_kw(P, "exists")) {
        next(P);
        struct node *a = parse_postfix(P);
        if (!a) return NULL;
        struct node *n = new_node(P, N_EXISTS, line, col);
        n->a = a;
        n->type = T_BOOL;
        grown(P, n);
        if (a->k != N_PATH) report(P, a->line, a->col, "'exists' needs a field path");
        return n;
    }
    return parse_cmp(P);
}

static struct node *parse_bool(struct parser *P, int is_or)
{
    struct node *l = is_or ? parse_bool(P, 0) : parse_not(P);
    const char *kw = is_or ? "or" : "and";
    while (l && is_kw(P, kw)) {
        int line = P->t.line, col = P->t.col;
        next(P);
        struct node *r = is_or ? parse_bool(P, 0) : parse_not(P);
        if (!r) {
            node_free(l);
            return NULL;
        }
        struct node *n = new_node(P, is_or ? N_OR : N_AND, line, col);
        n->a = l;
        n->b = r;
        n->type = T_BOOL;
        l = grown(P, n);
    }
    return l;
}

static struct node *parse_expr(struct parser *P)
{
    if (!enter(P)) return NULL;
    struct node *l = parse_bool(P, 1);
    while (l && is_op(P, "??")) {
        int line = P->t.line, col = P->t.col;
        next(P);
        struct node *r = parse_bool(P, 1);
        if (!r) {
            node_free(l);
            return NULL;
        }
        struct node *n = new_node(P, N_COALESCE, line, col);
        n->a = l;
        n->b = r;
        n->type = (l->type | r->type) & ~T_NULL;
        if (l->sprefix) n->sprefix = xstrdup(l->sprefix);
        l = grown(P, n);
    }
    leave(P);
    return l;
}

/* ------------------------------------------------------------ templates */

/* Parses "text {expr} text" (string token already decoded). Columns of
 * errors inside {} point into the source line (exact for strings without
 * escapes). */
static int parse_template(struct parser *P, const char *s, int line, int col, struct tmpl *out)
{
    size_t i = 0, L = strlen(s);
    struct sbuf lit = { 0 };
    int ok = 1;
    while (i < L) {
        if (s[i] == '{' && i + 1 < L && s[i + 1] == '{') {
            sb_add(&lit, "{");
            i += 2;
            continue;
        }
        if (s[i] == '}' && i + 1 < L && s[i + 1] == '}') {
            sb_add(&lit, "}");
            i += 2;
            continue;
        }
        if (s[i] != '{') {
            sb_addn(&lit, s + i, 1);
            i++;
            continue;
        }
        /* find the closing brace, skipping quoted strings */
        size_t j = i + 1;
        int inq = 0, depth = 1;
        for (; j < L; j++) {
            if (inq) {
                if (s[j] == '\\' && j + 1 < L) j++;
                else if (s[j] == '"') inq = 0;
            } else if (s[j] == '"') {
                inq = 1;
            } else if (s[j] == '{') {
                depth++;
            } else if (s[j] == '}' && --depth == 0) {
                break;
            }
        }
        if (j >= L) {
            report(P, line, col + 1 + (int)i, "unclosed '{' in template");
            ok = 0;
            break;
        }
        if (lit.n) {
            out->p = xrealloc(out->p, (out->n + 1) * sizeof *out->p);
            out->p[out->n].lit = lit.s;
            out->p[out->n].expr = NULL;
            out->n++;
            memset(&lit, 0, sizeof lit);
        }
        /* a sub-parser over the braces' content */
        struct parser sub = *P;
        memset(&sub.t, 0, sizeof sub.t);
        sub.src = sub.p = s + i + 1;
        sub.end = s + j;
        sub.line = line;
        sub.col = col + 2 + (int)i;
        sub.errors = 0;
        sub.bad = 0;
        next(&sub);
        struct node *e = parse_expr(&sub);
        if (e && sub.t.k != TK_EOF) {
            char b[64];
            syntax(&sub, "unexpected %s in template expression", tok_desc(&sub.t, b, sizeof b));
        }
        free(sub.t.s);
        P->errors += sub.errors;
        if (sub.errors) {
            node_free(e);
            ok = 0;
        } else {
            out->p = xrealloc(out->p, (out->n + 1) * sizeof *out->p);
            out->p[out->n].lit = NULL;
            out->p[out->n].expr = e;
            out->n++;
        }
        i = j + 1;
    }
    if (lit.n) {
        out->p = xrealloc(out->p, (out->n + 1) * sizeof *out->p);
        out->p[out->n].lit = lit.s;
        out->p[out->n].expr = NULL;
        out->n++;
    } else {
        free(lit.s);
    }
    return ok;
}

/* ATOM: one or more adjacent strings (a template), or a bare word. */
static int parse_atom(struct parser *P, struct tmpl *out, int words_ok)
{
    if (P->t.k == TK_IDENT && words_ok && !is_reserved(P->t.s)) {
        out->p = xcalloc(1, sizeof *out->p);
        out->p[0].lit = P->t.s;
        P->t.s = NULL;
        out->n = 1;
        next(P);
        return 1;
    }
    if (P->t.k != TK_STR) {
        char b[64];
        syntax(P, "expected %s, found %s", words_ok ? "a word or a string" : "a string",
               tok_desc(&P->t, b, sizeof b));
        return 0;
    }
    int ok = 1;
    while (P->t.k == TK_STR) {
        ok &= parse_template(P, P->t.s, P->t.line, P->t.col, out);
        next(P);
    }
    return ok;
}

static int parse_cval(struct parser *P, struct cval *cv, int words_ok)
{
    int had_if = 0;
    if (is_kw(P, "if")) {
        had_if = 1;
        next(P);
        for (;;) {
            struct node *c = parse_expr(P);
            if (!c) return 0;
            cv->cond = xrealloc(cv->cond, (cv->n + 1) * sizeof *cv->cond);
            cv->val = xrealloc(cv->val, (cv->n + 1) * sizeof *cv->val);
            cv->cond[cv->n] = c;
            memset(&cv->val[cv->n], 0, sizeof cv->val[cv->n]);
            cv->n++;
            if (!is_kw(P, "then")) {
                char b[64];
                syntax(P, "expected 'then', found %s", tok_desc(&P->t, b, sizeof b));
                return 0;
            }
            next(P);
            if (!parse_atom(P, &cv->val[cv->n - 1], words_ok)) return 0;
            if (is_kw(P, "elif")) {
                next(P);
                continue;
            }
            if (!is_kw(P, "else")) {
                char b[64];
                syntax(P, "expected 'elif' or 'else', found %s", tok_desc(&P->t, b, sizeof b));
                return 0;
            }
            next(P);
            break;
        }
    }
    (void)had_if;
    cv->cond = xrealloc(cv->cond, (cv->n + 1) * sizeof *cv->cond);
    cv->val = xrealloc(cv->val, (cv->n + 1) * sizeof *cv->val);
    cv->cond[cv->n] = NULL;
    memset(&cv->val[cv->n], 0, sizeof cv->val[cv->n]);
    cv->n++;
    return parse_atom(P, &cv->val[cv->n - 1], words_ok);
}

/* Checks that every branch of a word-valued field is one of allowed. */
static void cval_check_words(struct parser *P, const struct cval *cv, const char *field,
                             const char *const *allowed, int line, int col)
{
    for (size_t i = 0; i < cv->n; i++) {
        const struct tmpl *t = &cv->val[i];
        if (t->n != 1 || !t->p[0].lit) continue; /* a template: checked at run time */
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, t->p[0].lit) == 0) ok = 1;
        if (!ok) {
            struct sbuf b = { 0 };
            for (const char *const *a = allowed; *a; a++) {
                if (b.n) sb_add(&b, ", ");
                sb_add(&b, *a);
            }
            report(P, line, col, "bad %s '%s' (one of: %s)", field, t->p[0].lit, sb_str(&b));
            free(b.s);
        }
    }
}

/* ------------------------------------------------------------ rules, params */

static const char *const fix_sides[] = { "client", "server", "network", "either", "none", NULL };
static const char *const confidences[] = { "exact", "inferred", NULL };
static const char *const sev_names[] = { "info", "low", "medium", "high", "critical" };

int rules_severity_parse(const char *s)
{
    if (!s) return -1;
    for (int i = 0; i < 5; i++)
        if (strcasecmp(s, sev_names[i]) == 0) return i;
    return -1;
}
const char *rules_severity_name(enum rule_severity s)
{
    return (unsigned)s < 5 ? sev_names[s] : "?";
}

/* Skips to the '}' closing the current rule (after a syntax error). */
static void recover(struct parser *P, int depth)
{
    while (P->t.k != TK_EOF) {
        if (is_op(P, "{")) depth++;
        if (is_op(P, "}")) {
            if (--depth <= 0) {
                next(P);
                return;
            }
        }
        next(P);
    }
}

static int parse_idlist(struct parser *P, struct idref **out, size_t *n)
{
    if (!expect_op(P, "[")) return 0;
    while (!is_op(P, "]")) {
        if (P->t.k != TK_IDENT) {
            char b[64];
            syntax(P, "expected a rule id, found %s", tok_desc(&P->t, b, sizeof b));
            return 0;
        }
        *out = xrealloc(*out, (*n + 1) * sizeof **out);
        (*out)[*n].id = P->t.s;
        (*out)[*n].file = xstrdup(P->file);
        (*out)[*n].line = P->t.line;
        (*out)[*n].col = P->t.col;
        (*n)++;
        P->t.s = NULL;
        next(P);
        if (is_op(P, ",")) next(P);
        else if (!is_op(P, "]")) {
            char b[64];
            syntax(P, "expected ',' or ']', found %s", tok_desc(&P->t, b, sizeof b));
            return 0;
        }
    }
    next(P);
    return 1;
}

/* threshold: count N within DURATION by client|flow|server|sni */
static int parse_threshold(struct parser *P, struct rule *r)
{
    if (!is_kw(P, "count")) {
        char b[64];
        syntax(P, "expected 'count N within DURATION by KEY', found %s", tok_desc(&P->t, b, sizeof b));
        return 0;
    }
    next(P);
    r->thr_count = parse_arith(P, 0);
    if (!r->thr_count) return 0;
    if (!is_kw(P, "within")) {
        char b[64];
        syntax(P, "expected 'within', found %s", tok_desc(&P->t, b, sizeof b));
        return 0;
    }
    next(P);
    r->thr_window = parse_arith(P, 0);
    if (!r->thr_window) return 0;
    if (!is_kw(P, "by")) {
        char b[64];
        syntax(P, "expected 'by', found %s", tok_desc(&P->t, b, sizeof b));
        return 0;
    }
    next(P);
    int found = -1;
    for (int i = 0; i < 4; i++)
        if (is_kw(P, by_names[i])) found = i;
    if (found < 0) {
        char b[64];
        syntax(P, "threshold key must be client, flow, server or sni, not %s", tok_desc(&P->t, b, sizeof b));
        return 0;
    }
    r->thr_by = (enum thr_by)found;
    next(P);
    if (is_kw(P, "weight")) {
        next(P);
        r->thr_weight = parse_arith(P, 0);
        if (!r->thr_weight) return 0;
    }
    struct node *ns[3] = { r->thr_count, r->thr_window, r->thr_weight };
    static const char *const what[3] = { "count", "window", "weight" };
    for (int i = 0; i < 3; i++)
        if (ns[i] && !(ns[i]->type & T_NUM))
            report(P, ns[i]->line, ns[i]->col, "threshold %s must be a number, got a %s", what[i],
                   type_desc(ns[i]->type));
    r->has_thr = 1;
    return 1;
}

static void parse_rule(struct parser *P)
{
    struct ruleset *rs = P->rs;
    int line = P->t.line, col = P->t.col;
    next(P); /* 'rule' */
    P->bad = 0;
    P->depth = 0;
    int errs0 = P->errors;
    struct rule r;
    memset(&r, 0, sizeof r);
    r.file = xstrdup(P->file);
    r.line = line;
    r.col = col;
    r.sev = (enum rule_severity)-1;
    if (P->t.k != TK_IDENT) {
        char b[64];
        syntax(P, "expected a rule id after 'rule', found %s", tok_desc(&P->t, b, sizeof b));
        recover(P, 0);
        rule_free(&r);
        return;
    }
    r.id = P->t.s;
    P->t.s = NULL;
    int idline = P->t.line, idcol = P->t.col;
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].id, r.id) == 0)
            report(P, idline, idcol, "duplicate rule id '%s' (first defined at %s:%d:%d)", r.id,
                   rs->r[i].file, rs->r[i].line, rs->r[i].col);
    next(P);
    if (!expect_op(P, "{")) {
        recover(P, 0);
        rule_free(&r);
        return;
    }
    unsigned seen = 0;
    static const char *const fields[] = { "severity", "category", "summary", "when", "confidence",
                                          "fix_side", "message", "advice", "evidence",
                                          "suppressed_by", "explains", "threshold" };
    while (!P->bad && !is_op(P, "}")) {
        if (P->t.k != TK_IDENT) {
            char b[64];
            syntax(P, "expected a field name or '}', found %s", tok_desc(&P->t, b, sizeof b));
            break;
        }
        int f = -1;
        for (int i = 0; i < (int)(sizeof fields / sizeof fields[0]); i++)
            if (strcmp(fields[i], P->t.s) == 0) f = i;
        int fline = P->t.line, fcol = P->t.col;
        if (f < 0) {
            syntax(P, "unknown rule field '%s'", P->t.s);
            break;
        }
        if (seen & (1u << f)) report(P, fline, fcol, "field '%s' given twice", fields[f]);
        seen |= 1u << f;
        next(P);
        if (!expect_op(P, ":")) break;
        int vline = P->t.line, vcol = P->t.col;
        switch (f) {
        case 0: {
            int s = P->t.k == TK_IDENT ? rules_severity_parse(P->t.s) : -1;
            if (s < 0) {
                char b[64];
                syntax(P, "bad severity %s (critical, high, medium, low or info)",
                       tok_desc(&P->t, b, sizeof b));
                break;
            }
            r.sev = (enum rule_severity)s;
            next(P);
            break;
        }
        case 1:
            if (P->t.k != TK_IDENT) {
                char b[64];
                syntax(P, "expected a category word, found %s", tok_desc(&P->t, b, sizeof b));
                break;
            }
            free(r.category);
            r.category = P->t.s;
            P->t.s = NULL;
            next(P);
            break;
        case 2: {
            if (P->t.k != TK_STR) {
                char b[64];
                syntax(P, "expected a string, found %s", tok_desc(&P->t, b, sizeof b));
                break;
            }
            struct sbuf b = { 0 };
            while (P->t.k == TK_STR) {
                sb_add(&b, P->t.s);
                next(P);
            }
            free(r.summary);
            r.summary = b.s;
            break;
        }
        case 3:
            node_free(r.when);
            r.when = parse_expr(P);
            break;
        case 4:
            cval_free(&r.confidence);
            if (parse_cval(P, &r.confidence, 1))
                cval_check_words(P, &r.confidence, "confidence", confidences, vline, vcol);
            break;
        case 5:
            cval_free(&r.fix_side);
            if (parse_cval(P, &r.fix_side, 1))
                cval_check_words(P, &r.fix_side, "fix_side", fix_sides, vline, vcol);
            break;
        case 6: cval_free(&r.message); parse_cval(P, &r.message, 0); break;
        case 7: cval_free(&r.advice); parse_cval(P, &r.advice, 0); break;
        case 8: cval_free(&r.evidence); parse_cval(P, &r.evidence, 0); break;
        case 9: parse_idlist(P, &r.supp_ids, &r.nsupp_ids); break;
        case 10: parse_idlist(P, &r.explains, &r.nexplains); break;
        case 11:
            node_free(r.thr_count);
            node_free(r.thr_window);
            node_free(r.thr_weight);
            r.thr_count = r.thr_window = r.thr_weight = NULL;
            parse_threshold(P, &r);
            break;
        default: break;
        }
    }
    if (P->bad) {
        recover(P, 1);
        rule_free(&r);
        return;
    }
    next(P); /* '}' */
    if ((int)r.sev < 0) report(P, line, col, "rule '%s' has no severity", r.id);
    if (!r.when) report(P, line, col, "rule '%s' has no 'when' condition", r.id);
    if (!r.message.n) report(P, line, col, "rule '%s' has no message", r.id);
    if (P->errors != errs0) {
        rule_free(&r);
        return;
    }
    if (!r.category) r.category = xstrdup("general");
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 32;
        rs->r = xrealloc(rs->r, rs->cap * sizeof *rs->r);
    }
    rs->r[rs->n++] = r;
}

/* param NAME = NUMBER|DURATION|STRING */
static void parse_param(struct parser *P)
{
    next(P);
    P->bad = 0;
    if (P->t.k != TK_IDENT || strchr(P->t.s, '-')) {
        char b[64];
        syntax(P, "expected a parameter name, found %s", tok_desc(&P->t, b, sizeof b));
        next(P);
        return;
    }
    char *name = P->t.s;
    P->t.s = NULL;
    int line = P->t.line, col = P->t.col;
    next(P);
    if (!expect_op(P, "=")) {
        free(name);
        return;
    }
    struct param p;
    memset(&p, 0, sizeof p);
    p.name = name;
    int neg = 0;
    if (is_op(P, "-")) {
        neg = 1;
        next(P);
    }
    if (P->t.k == TK_NUM) {
        p.num = neg ? -P->t.num : P->t.num;
        p.is_int = P->t.is_int;
    } else if (P->t.k == TK_STR && !neg) {
        p.is_str = 1;
        p.s = P->t.s;
        P->t.s = NULL;
    } else {
        char b[64];
        syntax(P, "expected a number, duration or string, found %s", tok_desc(&P->t, b, sizeof b));
        free(name);
        return;
    }
    next(P);
    if (find_param(P->rs, name) != (size_t)-1) {
        report(P, line, col, "parameter '%s' declared twice", name);
        free(p.name);
        free(p.s);
        return;
    }
    struct ruleset *rs = P->rs;
    if (rs->np == rs->pcap) {
        rs->pcap = rs->pcap ? rs->pcap * 2 : 16;
        rs->p = xrealloc(rs->p, rs->pcap * sizeof *rs->p);
    }
    rs->p[rs->np++] = p;
}

int rules_load_string(struct ruleset *rs, const char *name, const char *text, rules_error_fn err,
                      void *ctx)
{
    struct parser P;
    memset(&P, 0, sizeof P);
    P.file = name;
    P.src = P.p = text;
    P.end = text + strlen(text);
    P.line = P.col = 1;
    P.err = err;
    P.errctx = ctx;
    P.rs = rs;
    next(&P);
    while (P.t.k != TK_EOF) {
        P.bad = 0;
        if (is_kw(&P, "rule")) {
            parse_rule(&P);
        } else if (is_kw(&P, "param")) {
            parse_param(&P);
        } else {
            char b[64];
            syntax(&P, "expected 'rule' or 'param', found %s", tok_desc(&P.t, b, sizeof b));
            /* skip to the next line starting with rule/param */
            int line = P.t.line;
            while (P.t.k != TK_EOF && (P.t.line == line || !(is_kw(&P, "rule") || is_kw(&P, "param"))))
                next(&P);
        }
    }
    free(P.t.s);
    return P.errors;
}

static int load_file(struct ruleset *rs, const char *path, rules_error_fn err, void *ctx)
{
    FILE *f = fopen(path, "rb");
    char msg[1200];
    if (!f) {
        snprintf(msg, sizeof msg, "%s:0:0: cannot open: %s", path, strerror(errno));
        if (err) err(ctx, msg);
        else fprintf(stderr, "%s\n", msg);
        return 1;
    }
    struct sbuf b = { 0 };
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        sb_addn(&b, buf, n);
        if (b.n > (8u << 20)) break;
    }
    fclose(f);
    if (b.s && strlen(b.s) != b.n) {
        free(b.s);
        snprintf(msg, sizeof msg, "%s:0:0: NUL byte in rule file", path);
        if (err) err(ctx, msg);
        else fprintf(stderr, "%s\n", msg);
        return 1;
    }
    int e = rules_load_string(rs, path, sb_str(&b), err, ctx);
    free(b.s);
    return e;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int rules_load(struct ruleset *rs, const char *path, rules_error_fn err, void *ctx)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return load_file(rs, path, err, ctx);
    DIR *d = opendir(path);
    if (!d) return load_file(rs, path, err, ctx);
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t L = strlen(de->d_name);
        if (L < 7 || strcmp(de->d_name + L - 6, ".rules") != 0 || de->d_name[0] == '.') continue;
        names = xrealloc(names, (n + 1) * sizeof *names);
        size_t pl = strlen(path) + L + 2;
        names[n] = xmalloc(pl);
        snprintf(names[n], pl, "%s/%s", path, de->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    int e = 0;
    for (size_t i = 0; i < n; i++) {
        e += load_file(rs, names[i], err, ctx);
        free(names[i]);
    }
    free(names);
    if (n == 0) {
        char msg[1200];
        snprintf(msg, sizeof msg, "%s:0:0: no *.rules files in this directory", path);
        if (err) err(ctx, msg);
        else fprintf(stderr, "%s\n", msg);
        return e + 1;
    }
    return e;
}

static size_t find_rule(const struct ruleset *rs, const char *id)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].id, id) == 0) return i;
    return (size_t)-1;
}

static void add_supp(struct rule *r, size_t by)
{
    for (size_t i = 0; i < r->nsupp; i++)
        if (r->supp[i] == by) return;
    r->supp = xrealloc(r->supp, (r->nsupp + 1) * sizeof *r->supp);
    r->supp[r->nsupp++] = by;
}

/* The code a coded field (K_ENUM, K_NAME) holds when it reads as s; -2
 * when it never does. */
static long literal_code(const struct facts_field *fd, const char *s)
{
    if (fd->kind == K_ENUM) {
        int i = facts_enum_index(fd->arg, s);
        return i < 0 ? -2 : i;
    }
    long c = facts_name_code(fd->arg, s);
    char buf[32];
    if (c < 0 || strcmp(facts_name(fd->arg, (uint16_t)c, buf, sizeof buf), s) != 0) return -2;
    return c;
}

static const struct facts_field *coded_path(const struct node *p)
{
    if (!p || p->k != N_PATH || !p->nsteps || !p->steps[p->nsteps - 1].key) return NULL;
    const struct facts_field *fd = p->steps[p->nsteps - 1].fd;
    return fd && (fd->kind == K_ENUM || fd->kind == K_NAME) ? fd : NULL;
}

static int str_lit(const struct node *l) { return l && l->k == N_LIT && l->lt == T_STR; }

/* Turns comparisons of coded fields with string literals into code
 * comparisons (no name lookup, no string comparison when evaluated). */
static void compile_codes(struct node *n)
{
    if (!n) return;
    compile_codes(n->a);
    compile_codes(n->b);
    compile_codes(n->c);
    for (size_t i = 0; i < n->nargs; i++) compile_codes(n->args[i]);
    if (n->k == N_CMP && (n->op == OP_EQ || n->op == OP_NE) && !n->code_mode) {
        const struct facts_field *fd;
        if ((fd = coded_path(n->a)) && str_lit(n->b)) {
            n->code_mode = 1;
            n->code = literal_code(fd, n->b->ls);
        } else if ((fd = coded_path(n->b)) && str_lit(n->a)) {
            n->code_mode = 2;
            n->code = literal_code(fd, n->a->ls);
        }
    } else if (n->k == N_IN && !n->code_mode && n->b && n->b->k == N_LIST) {
        const struct facts_field *fd = coded_path(n->a);
        int all = fd != NULL;
        for (size_t i = 0; all && i < n->b->nargs; i++) all = str_lit(n->b->args[i]);
        if (all) {
            n->codes = xcalloc(n->b->nargs ? n->b->nargs : 1, sizeof *n->codes);
            for (size_t i = 0; i < n->b->nargs; i++) n->codes[i] = literal_code(fd, n->b->args[i]->ls);
            n->code_mode = 1;
        }
    }
}

static void compile_cval(struct cval *cv)
{
    for (size_t i = 0; i < cv->n; i++) compile_codes(cv->cond[i]);
}

int rules_finalize(struct ruleset *rs, rules_error_fn err, void *ctx)
{
    for (size_t i = 0; i < rs->n; i++) {
        struct rule *r = &rs->r[i];
        compile_codes(r->when);
        compile_cval(&r->confidence);
        compile_cval(&r->fix_side);
        compile_cval(&r->message);
        compile_cval(&r->advice);
        compile_cval(&r->evidence);
    }
    struct parser P;
    memset(&P, 0, sizeof P);
    P.err = err;
    P.errctx = ctx;
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->r[i].supp);
        rs->r[i].supp = NULL;
        rs->r[i].nsupp = 0;
    }
    for (size_t i = 0; i < rs->n; i++) {
        struct rule *r = &rs->r[i];
        for (size_t k = 0; k < r->nsupp_ids; k++) {
            size_t j = find_rule(rs, r->supp_ids[k].id);
            P.file = r->supp_ids[k].file;
            if (j == (size_t)-1)
                report(&P, r->supp_ids[k].line, r->supp_ids[k].col,
                       "suppressed_by: unknown rule id '%s'", r->supp_ids[k].id);
            else if (j == i)
                report(&P, r->supp_ids[k].line, r->supp_ids[k].col, "a rule cannot suppress itself");
            else
                add_supp(r, j);
        }
        for (size_t k = 0; k < r->nexplains; k++) {
            size_t j = find_rule(rs, r->explains[k].id);
            P.file = r->explains[k].file;
            if (j == (size_t)-1)
                report(&P, r->explains[k].line, r->explains[k].col, "explains: unknown rule id '%s'",
                       r->explains[k].id);
            else if (j == i)
                report(&P, r->explains[k].line, r->explains[k].col, "a rule cannot explain itself");
            else
                add_supp(&rs->r[j], i);
        }
    }
    return P.errors;
}

/* ------------------------------------------------------------ ruleset */

struct ruleset *rules_new(void)
{
    struct ruleset *rs = xcalloc(1, sizeof *rs);
    rs->fail_on = -1;
    rs->storm_max_keys = RULES_STORM_MAX_KEYS;
    return rs;
}

static void storm_free(struct ruleset *rs, struct storm *s)
{
    HASH_DEL(rs->storms, s);
    free(s->key);
    free(s->times);
    free(s->w);
    free(s);
    rs->nstorms--;
}

static void storms_clear(struct ruleset *rs)
{
    struct storm *s, *tmp;
    HASH_ITER(hh, rs->storms, s, tmp) {
        storm_free(rs, s);
    }
}

void rules_free(struct ruleset *rs)
{
    if (!rs) return;
    for (size_t i = 0; i < rs->n; i++) rule_free(&rs->r[i]);
    free(rs->r);
    for (size_t i = 0; i < rs->np; i++) {
        free(rs->p[i].name);
        free(rs->p[i].s);
    }
    free(rs->p);
    storms_clear(rs);
    free(rs);
}

const char *rules_default_dir(void)
{
    struct stat st;
#ifdef TLSWATCH_RULES_DIR
    if (stat(TLSWATCH_RULES_DIR, &st) == 0 && S_ISDIR(st.st_mode)) return TLSWATCH_RULES_DIR;
#endif
    /* not installed: the rules of the source tree the binary was built in */
#ifdef TLSWATCH_SOURCE_RULES_DIR
    if (stat(TLSWATCH_SOURCE_RULES_DIR, &st) == 0 && S_ISDIR(st.st_mode)) return TLSWATCH_SOURCE_RULES_DIR;
#endif
    return "rules";
}

int rules_set_param(struct ruleset *rs, const char *assignment, char *err, size_t errlen)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        snprintf(err, errlen, "--param needs NAME=VALUE, got '%s'", assignment);
        return -1;
    }
    char name[128];
    size_t nl = (size_t)(eq - assignment);
    if (nl >= sizeof name) nl = sizeof name - 1;
    memcpy(name, assignment, nl);
    name[nl] = '\0';
    size_t i = find_param(rs, name);
    if (i == (size_t)-1) {
        struct sbuf b = { 0 };
        for (size_t k = 0; k < rs->np; k++) {
            if (b.n) sb_add(&b, ", ");
            sb_add(&b, rs->p[k].name);
        }
        snprintf(err, errlen, "unknown parameter '%s' (known: %s)", name, b.s ? b.s : "none");
        free(b.s);
        return -1;
    }
    const char *v = eq + 1;
    struct param *p = &rs->p[i];
    if (p->is_str) {
        free(p->s);
        p->s = xstrdup(v);
        return 0;
    }
    char *e;
    errno = 0;
    double d = strtod(v, &e);
    double mult = 1;
    if (e != v && *e && !e[1] && strchr("smhd", *e)) {
        mult = *e == 's' ? 1 : *e == 'm' ? 60 : *e == 'h' ? 3600 : 86400;
        e++;
    }
    if (e == v || *e || errno || !isfinite(d)) {
        snprintf(err, errlen, "parameter '%s' needs a number, got '%s'", name, v);
        return -1;
    }
    p->num = d * mult;
    p->is_int = p->num == floor(p->num);
    return 0;
}

double rules_param(const struct ruleset *rs, const char *name)
{
    size_t i = find_param(rs, name);
    if (i == (size_t)-1 || rs->p[i].is_str) return NAN;
    return rs->p[i].num;
}

int rules_disable(struct ruleset *rs, const char *id)
{
    size_t i = find_rule(rs, id);
    if (i == (size_t)-1) return -1;
    rs->r[i].disabled = 1;
    return 0;
}
void rules_set_min_severity(struct ruleset *rs, enum rule_severity s) { rs->min_sev = s; }
void rules_set_fail_on(struct ruleset *rs, enum rule_severity s) { rs->fail_on = (int)s; }
int rules_failed(const struct ruleset *rs) { return rs->failed; }
size_t rules_count(const struct ruleset *rs) { return rs->n; }
void rules_set_storm_max_keys(struct ruleset *rs, size_t n)
{
    rs->storm_max_keys = n ? n : RULES_STORM_MAX_KEYS;
}
size_t rules_storm_keys(const struct ruleset *rs) { return rs->nstorms; }
uint64_t rules_storm_evictions(const struct ruleset *rs) { return rs->storm_evictions; }
const char *rules_id(const struct ruleset *rs, size_t i) { return i < rs->n ? rs->r[i].id : NULL; }

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

static void rv_free(struct rv *r)
{
    free(r->own);
    r->own = NULL;
}
static struct rv rv_null(void)
{
    struct rv r;
    memset(&r, 0, sizeof r);
    return r;
}
static struct rv rv_bool(int b)
{
    struct rv r = rv_null();
    r.k = RV_BOOL;
    r.i = b != 0;
    return r;
}
static struct rv rv_int(int64_t i)
{
    struct rv r = rv_null();
    r.k = RV_NUM;
    r.is_int = 1;
    r.i = i;
    r.d = (double)i;
    return r;
}
/* A double converts to int64_t without undefined behaviour (NaN: no). */
static int dbl_fits_i64(double d) { return d > -9.2e18 && d < 9.2e18; }
static struct rv rv_dbl(double d)
{
    struct rv r = rv_null();
    r.k = RV_NUM;
    r.d = d;
    return r;
}
static struct rv rv_str(const char *s, size_t n)
{
    struct rv r = rv_null();
    r.k = RV_STR;
    r.s = s;
    r.n = n;
    return r;
}
static struct rv rv_own(char *s)
{
    struct rv r = rv_str(s, strlen(s));
    r.own = s;
    return r;
}
static struct rv rv_from_fval(const struct fval *v)
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
static int rv_is_list(const struct rv *r) { return r->k == RV_VAL && (r->v.k == FV_LIST || r->v.k == FV_OBJS); }

static int rv_truthy(const struct rv *r)
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

__attribute__((noinline)) static struct rv eval_path(const struct node *n, const struct env *E)
{
    struct fval base;
    if (!path_base(n, E, &base)) return rv_null();
    walk(&base, n, n->nsteps, E->sc);
    return rv_from_fval(&base);
}

/* The raw code of a coded path (last step a K_ENUM or K_NAME field),
 * without looking its name up: 1 and *code, 0 when null or absent. */
static int path_code(const struct node *n, const struct env *E, long *code)
{
    struct fval o;
    if (!path_base(n, E, &o)) return 0;
    walk(&o, n, n->nsteps - 1, E->sc);
    const struct facts_field *fd = n->steps[n->nsteps - 1].fd;
    if (o.k != FV_OBJ || !fd || fd < o.t->fields || fd >= o.t->fields + o.t->nfields) return 0;
    const char *obj = o.p;
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

static void rv_render(const struct rv *r, struct sbuf *b);

__attribute__((noinline)) static struct rv eval_func(const struct node *n, const struct env *E)
{
    int f = n->op;
    if (fns[f].where) {
        struct rv a = eval(n->a, E);
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
                struct rv c = eval(n->c, &sub);
                hit = rv_truthy(&c);
                rv_free(&c);
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
        struct rv c = eval(n->args[0], E);
        int t = rv_truthy(&c);
        rv_free(&c);
        return eval(n->args[t ? 1 : 2], E);
    }
    struct rv a = eval(n->args[0], E);
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
            s = eval(n->args[1], E);
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
                rv_render(&e, &b);
                E->sc->used = mark;
            }
        }
        rv_free(&s);
        out = rv_own(b.s ? b.s : xstrdup(""));
        break;
    }
    case F_BURST: {
        struct rv w = eval(n->args[1], E);
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
            rv_render(&a, &sb);
            rv_render(&b, &sb);
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
    case N_FUNC: return eval_func(n, E);
    case N_LIST: return rv_null();
    }
    return rv_null();
}

static void rv_render(const struct rv *r, struct sbuf *b)
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
                    rv_render(&e, b);
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
        rv_render(&r, b);
        rv_free(&r);
    }
}

/* Picks the branch of a conditional value and renders it ("" if none). */
static char *render_cval(const struct cval *cv, const struct env *E, const char *dflt)
{
    struct sbuf b = { 0 };
    for (size_t i = 0; i < cv->n; i++) {
        int take = 1;
        if (cv->cond[i]) {
            struct rv c = eval(cv->cond[i], E);
            take = rv_truthy(&c);
            rv_free(&c);
        }
        if (take) {
            render_tmpl(&cv->val[i], E, &b);
            return b.s ? b.s : xstrdup("");
        }
    }
    return xstrdup(dflt);
}

/* The flow's addresses for threshold keys (written only when a storm
 * rule fires its condition). */
static const char *flow_ip(const struct facts_FLOW *fl, int fi, char *buf, size_t n)
{
    struct facts_scratch sc;
    facts_scratch_reset(&sc);
    struct fval v;
    facts_get(&facts_type_FLOW.fields[fi], fl, &v, &sc);
    if (v.k != FV_STR) return NULL;
    snprintf(buf, n, "%s", v.s);
    return buf;
}

static void thr_key(const struct rule *r, const tls_facts *facts, const struct rules_ctx *ctx,
                    struct sbuf *b)
{
    sb_add(b, r->id);
    sb_add(b, "\x1f");
    const char *k = NULL;
    char tmp[300], cip[64], sip[64];
    const struct facts_FLOW *fl = &facts->flow;
    double cport = FSTATE(FLOW, fl, client_port) == FACTS_VAL ? (double)fl->client_port : 0;
    double sport = FSTATE(FLOW, fl, server_port) == FACTS_VAL ? (double)fl->server_port : 0;
    switch (r->thr_by) {
    case BY_CLIENT:
        k = ctx && ctx->client ? ctx->client : flow_ip(fl, FI_FLOW_client_ip, cip, sizeof cip);
        break;
    case BY_SERVER:
    case BY_SNI:
        if (r->thr_by == BY_SNI && FSTATE(TLS, facts, sni) == FACTS_VAL) k = facts->sni;
        if (!k && ctx && ctx->server) k = ctx->server;
        if (!k) {
            const char *ip = flow_ip(fl, FI_FLOW_server_ip, sip, sizeof sip);
            snprintf(tmp, sizeof tmp, "%s:%.0f", ip ? ip : "?", sport);
            k = tmp;
        }
        break;
    case BY_FLOW:
        k = ctx ? ctx->flow : NULL;
        if (!k && ctx && ctx->flow_id) {
            snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)ctx->flow_id);
            k = tmp;
        }
        if (!k) {
            const char *ci = flow_ip(fl, FI_FLOW_client_ip, cip, sizeof cip);
            const char *si = flow_ip(fl, FI_FLOW_server_ip, sip, sizeof sip);
            snprintf(tmp, sizeof tmp, "%s:%.0f-%s:%.0f", ci ? ci : "?", cport, si ? si : "?", sport);
            k = tmp;
        }
        break;
    }
    sb_add(b, k ? k : "?");
}

#define STORM_MAX_TIMES 4096
#define STORM_IDLE 3600 /* seconds without a hit after which a key is dropped */

/* Makes room for one more key. Clearing the whole table here would let a
 * sender reset every storm count by sending enough distinct keys; instead
 * idle keys at the head are dropped, then the least recently hit ones are
 * evicted (and counted). O(1) amortised: only the head is looked at. */
static void storms_make_room(struct ruleset *rs, double now)
{
    while (rs->storms && now - rs->storms->last > STORM_IDLE && now >= rs->storms->quiet_until)
        storm_free(rs, rs->storms);
    while (rs->storms && rs->nstorms >= rs->storm_max_keys) {
        storm_free(rs, rs->storms);
        rs->storm_evictions++;
    }
}

/* Counts one hit (of the rule's weight, default 1) of r at time now;
 * returns 1 when the hits within the window reach the count. */
static int threshold_hit(struct ruleset *rs, const struct rule *r, const tls_facts *facts,
                         const struct rules_ctx *ctx, double now, const struct env *E)
{
    struct rv c = eval(r->thr_count, E), w = eval(r->thr_window, E);
    double count = c.k == RV_NUM ? c.d : 1, window = w.k == RV_NUM ? w.d : 0, weight = 1;
    rv_free(&c);
    rv_free(&w);
    if (r->thr_weight) {
        struct rv x = eval(r->thr_weight, E);
        weight = x.k == RV_NUM ? x.d : 0;
        rv_free(&x);
        if (!(weight > 0)) return 0;
    }
    struct sbuf key = { 0 };
    thr_key(r, facts, ctx, &key);
    struct storm *s = NULL;
    HASH_FIND(hh, rs->storms, key.s, key.n, s);
    if (!s) {
        storms_make_room(rs, now);
        s = xcalloc(1, sizeof *s);
        s->key = key.s;
        s->keylen = key.n;
        s->quiet_until = -INFINITY;
        rs->nstorms++;
    } else {
        free(key.s);
        HASH_DEL(rs->storms, s); /* re-added below: to the tail (most recent) */
    }
    HASH_ADD_KEYPTR(hh, rs->storms, s->key, s->keylen, s);
    s->last = now;
    /* drop hits that left the window */
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (now - s->times[i] <= window) {
            s->times[k] = s->times[i];
            s->w[k++] = s->w[i];
        }
    }
    s->n = k;
    if (s->n == s->cap) {
        if (s->cap >= STORM_MAX_TIMES) {
            memmove(s->times, s->times + 1, (s->n - 1) * sizeof *s->times);
            memmove(s->w, s->w + 1, (s->n - 1) * sizeof *s->w);
            s->n--;
        } else {
            s->cap = s->cap ? s->cap * 2 : 8;
            s->times = xrealloc(s->times, s->cap * sizeof *s->times);
            s->w = xrealloc(s->w, s->cap * sizeof *s->w);
        }
    }
    s->times[s->n] = now;
    s->w[s->n++] = weight;
    double sum = 0;
    for (size_t i = 0; i < s->n; i++) sum += s->w[i];
    if (sum >= count && now >= s->quiet_until) {
        s->quiet_until = now + window; /* once per window per key */
        s->n = 0;
        return 1;
    }
    return 0;
}

size_t rules_eval(struct ruleset *rs, const tls_facts *facts, const struct rules_ctx *ctx,
                  rules_finding_fn cb, void *cbctx)
{
    struct env E = { rs, facts, NULL, &rs->sc };
    double ftime = FSTATE(TLS, facts, flow) == FACTS_VAL && FSTATE(FLOW, &facts->flow, time) == FACTS_VAL
                       ? facts->flow.time : 0;
    double now = ctx && ctx->time > 0 ? ctx->time : ftime;
    for (size_t i = 0; i < rs->n; i++) {
        struct rule *r = &rs->r[i];
        r->fired = 0;
        if (r->disabled || !r->when) continue;
        facts_scratch_reset(&rs->sc);
        struct rv c = eval(r->when, &E);
        int hit = rv_truthy(&c);
        rv_free(&c);
        if (hit && r->has_thr) hit = threshold_hit(rs, r, facts, ctx, now, &E);
        r->fired = hit;
    }
    size_t emitted = 0;
    for (size_t i = 0; i < rs->n; i++) {
        struct rule *r = &rs->r[i];
        if (!r->fired) continue;
        int supp = 0;
        for (size_t k = 0; k < r->nsupp && !supp; k++) supp = rs->r[r->supp[k]].fired;
        if (supp || r->sev < rs->min_sev) continue;
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

/* ------------------------------------------------------------ listing */

/* The distinct literal values a word field can take ("server/client"). */
static char *cval_words(const struct cval *cv, const char *dflt)
{
    struct sbuf b = { 0 };
    for (size_t i = 0; i < cv->n; i++) {
        const struct tmpl *t = &cv->val[i];
        const char *w = t->n == 1 && t->p[0].lit ? t->p[0].lit : "varies";
        int dup = 0;
        if (b.s) {
            char *tmp = xstrdup(b.s);
            for (char *save = NULL, *tok = strtok_r(tmp, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
                if (strcmp(tok, w) == 0) dup = 1;
            free(tmp);
        }
        if (dup) continue;
        if (b.n) sb_add(&b, "/");
        sb_add(&b, w);
    }
    return b.s ? b.s : xstrdup(dflt);
}

static void md_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", out);
        else if (*s == '\n') fputc(' ', out);
        else fputc(*s, out);
    }
}

int rules_list_format_parse(const char *s)
{
    if (!s) return -1;
    if (strcmp(s, "text") == 0) return RULES_LIST_TEXT;
    if (strcmp(s, "markdown") == 0 || strcmp(s, "md") == 0) return RULES_LIST_MARKDOWN;
    if (strcmp(s, "json") == 0) return RULES_LIST_JSON;
    return -1;
}

int rules_list(const struct ruleset *rs, enum rules_list_format fmt, FILE *out)
{
    if (fmt == RULES_LIST_MARKDOWN) {
        fputs("| id | severity | category | fix at | what it means |\n", out);
        fputs("|---|---|---|---|---|\n", out);
    }
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->r[i];
        char *fix = cval_words(&r->fix_side, "either");
        char *conf = cval_words(&r->confidence, "exact");
        const char *sum = r->summary ? r->summary : "";
        switch (fmt) {
        case RULES_LIST_TEXT:
            fprintf(out, "%-34s %-8s %-14s fix:%-15s %s%s\n", r->id, rules_severity_name(r->sev),
                    r->category, fix, sum, r->disabled ? " [disabled]" : "");
            break;
        case RULES_LIST_MARKDOWN:
            fprintf(out, "| `%s` | %s | %s | ", r->id, rules_severity_name(r->sev), r->category);
            md_cell(out, fix);
            fputs(" | ", out);
            md_cell(out, sum);
            fputs(" |\n", out);
            break;
        case RULES_LIST_JSON: {
            struct json j;
            json_init(&j);
            json_obj_begin(&j);
            json_kv_str(&j, "id", r->id);
            json_kv_str(&j, "severity", rules_severity_name(r->sev));
            json_kv_str(&j, "category", r->category);
            json_kv_str(&j, "fix_side", fix);
            json_kv_str(&j, "confidence", conf);
            json_kv_str(&j, "summary", sum);
            json_kv_bool(&j, "enabled", !r->disabled);
            json_kv_bool(&j, "threshold", r->has_thr);
            json_key(&j, "file");
            json_str(&j, r->file);
            json_kv_int(&j, "line", r->line);
            json_obj_end(&j);
            json_end_line(&j);
            fwrite(j.buf, 1, j.len, out);
            json_free(&j);
            break;
        }
        }
        free(fix);
        free(conf);
    }
    if (fmt == RULES_LIST_JSON) {
        for (size_t i = 0; i < rs->np; i++) {
            struct json j;
            json_init(&j);
            json_obj_begin(&j);
            json_kv_str(&j, "param", rs->p[i].name);
            json_key(&j, "value");
            if (rs->p[i].is_str) json_str(&j, rs->p[i].s);
            else json_double(&j, rs->p[i].num, rs->p[i].is_int ? 0 : 3);
            json_obj_end(&j);
            json_end_line(&j);
            fwrite(j.buf, 1, j.len, out);
            json_free(&j);
        }
    } else if (fmt == RULES_LIST_TEXT && rs->np) {
        fputs("\nparameters (--param NAME=VALUE):\n", out);
        for (size_t i = 0; i < rs->np; i++) {
            if (rs->p[i].is_str) fprintf(out, "  %s = \"%s\"\n", rs->p[i].name, rs->p[i].s);
            else fprintf(out, "  %s = %g\n", rs->p[i].name, rs->p[i].num);
        }
    }
    return ferror(out) ? -1 : 0;
}
