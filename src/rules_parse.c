/* The rule language's lexer and parser: rule files (or a string) to
 * expression trees, templates, rule blocks and parameters, reporting every
 * error as file:line:col. Each path is checked against the facts schema as
 * it is parsed (rules_check.c), and every operator against the static
 * types of its operands.
 *
 * Why a hand-written recursive-descent parser: the language is small, and
 * a parser generator would add a build step and make error columns harder
 * to get right. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules_int.h"

/* ------------------------------------------------------------ lexer */

void rules_report(struct parser *P, int line, int col, const char *fmt, ...)
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
    rules_report(P, P->t.line, P->t.col, "%s", msg);
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
 * function call, and eval() and rules_node_free() recurse once per level of the
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
        rules_report(P, n->line, n->col, "expression nesting deeper than %d operators",
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
        rules_report(P, line, col, "unknown function '%s'", name);
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
            rules_report(P, arr->line, arr->col, "%s() needs an array, '%s' is a %s", name,
                         arr->pathtext ? arr->pathtext : "argument", rules_type_desc(arr->type));
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
        rules_report(P, line, col, "%s() takes %d%s argument%s, not %zu", name, fns[f].minargs,
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
            rules_report(P, n->args[0]->line, n->args[0]->col, "alert_list() needs an array of alerts");
        break;
    default: break;
    }
    if ((f == F_ALERT_MEANING || f == F_ALERT_NAME || f == F_INT || f == F_RFC3339) &&
        !(n->args[0]->type & T_NUM))
        rules_report(P, n->args[0]->line, n->args[0]->col, "%s() needs a number, got a %s", name,
                     rules_type_desc(n->args[0]->type));
    if (f == F_BURST) {
        if (!(n->args[0]->type & T_AOBJ))
            rules_report(P, n->args[0]->line, n->args[0]->col,
                         "burst() needs an array of objects with a 'time' field");
        if (!(n->args[1]->type & T_NUM))
            rules_report(P, n->args[1]->line, n->args[1]->col, "burst() window must be a number");
    }
    if (f == F_JOIN && !(n->args[0]->type & T_ARR))
        rules_report(P, n->args[0]->line, n->args[0]->col, "join() needs an array");
    return grown(P, n);
fail:
    rules_node_free(n);
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
        size_t i = rules_find_param(P->rs, t->s);
        struct node *n = new_node(P, N_PARAM, line, col);
        if (i == (size_t)-1) {
            rules_report(P, line, col, "unknown parameter '$%s' (declare it with: param %s = ...)", t->s,
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
            rules_node_free(n);
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
            if (!P->scope) rules_report(P, line, col, "'it' is only valid after 'where'");
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
        rules_node_free(n);
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
        rules_path_check(P, n);
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
        if (!(a->type & T_NUM))
            rules_report(P, line, col, "'-' needs a number, got a %s", rules_type_desc(a->type));
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
            rules_node_free(l);
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
                rules_report(P, line, col, "'%c' needs numbers, got %s and %s", op, rules_type_desc(l->type),
                             rules_type_desc(r->type));
            n->type = ((l->type | r->type) & T_DBL) || op == '/' ? T_NUM : T_INT;
            if (op == '/' && (l->type & T_NUM) == T_INT && (r->type & T_NUM) == T_INT) n->type = T_INT;
        }
        l = n;
    }
    return l;
}
static struct node *parse_mul(struct parser *P) { return parse_arith(P, 1); }

static struct node *parse_list(struct parser *P, unsigned ltype)
{
    int line = P->t.line, col = P->t.col;
    if (!expect_op(P, "[")) return NULL;
    struct node *n = new_node(P, N_LIST, line, col);
    while (!is_op(P, "]")) {
        struct node *e = parse_unary(P);
        if (!e) {
            rules_node_free(n);
            return NULL;
        }
        if (e->k != N_LIT && e->k != N_PARAM)
            rules_report(P, e->line, e->col, "list items must be constants or $parameters");
        else if (!rules_eq_compatible(ltype, e->type))
            rules_report(P, e->line, e->col, "type mismatch: list item is a %s, the value tested is a %s",
                         rules_type_desc(e->type), rules_type_desc(ltype));
        n->args = xrealloc(n->args, (n->nargs + 1) * sizeof *n->args);
        n->args[n->nargs++] = e;
        if (e->height >= n->height) n->height = e->height + 1;
        if (is_op(P, ",")) next(P);
        else if (!is_op(P, "]")) {
            char b[64];
            syntax(P, "expected ',' or ']', found %s", tok_desc(&P->t, b, sizeof b));
            rules_node_free(n);
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
            last = re_sat(cur + 1); /* the group's node with what it holds: ((){99}){99} is not empty */
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
        rules_report(P, line, at < ncols ? cols[at] : col, "%s: /%.40s%s/", why, sb_str(&b),
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
        rules_report(P, line, col, "bad regex /%.40s%s/: %s", sb_str(&b), b.n > 40 ? "..." : "", eb);
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
                rules_node_free(l);
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
                    rules_report(P, line, col, "type mismatch: '%s' compares numbers, got %s and %s",
                                 cmps[i], rules_type_desc(l->type), rules_type_desc(r->type));
            } else if (!rules_eq_compatible(l->type, r->type)) {
                rules_report(P, line, col, "type mismatch: %s %s %s", rules_type_desc(l->type), cmps[i],
                             rules_type_desc(r->type));
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
            rules_report(P, l->line, l->col, "'in' tests a single value, '%s' is a %s",
                         l->pathtext ? l->pathtext : "left side", rules_type_desc(l->type));
        n->b = parse_list(P, l->type);
        if (!n->b) {
            rules_node_free(n);
            return NULL;
        }
        return grown(P, n);
    }
    if (is_kw(P, "contains")) {
        next(P);
        struct node *r = parse_arith(P, 0);
        if (!r) {
            rules_node_free(l);
            return NULL;
        }
        n = new_node(P, N_CONTAINS, line, col);
        n->a = l;
        n->b = r;
        n->op = neg;
        n->type = T_BOOL;
        grown(P, n);
        if (!(l->type & (T_STR | T_ASTR)))
            rules_report(P, l->line, l->col,
                         "'contains' needs a string or an array of strings on the left, got a %s",
                         rules_type_desc(l->type));
        else if (!(r->type & (T_STR | T_NUM)))
            rules_report(P, r->line, r->col, "'contains' needs a string on the right, got a %s",
                         rules_type_desc(r->type));
        return n;
    }
    if (is_kw(P, "matches")) {
        next(P);
        n = new_node(P, N_MATCHES, line, col);
        n->a = l;
        n->op = neg;
        n->type = T_BOOL;
        if (!(l->type & (T_STR | T_ASTR)))
            rules_report(P, l->line, l->col, "'matches' needs a string or an array of strings, got a %s",
                         rules_type_desc(l->type));
        n->b = parse_regex(P);
        if (!n->b) {
            rules_node_free(n);
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
        if (a->k != N_PATH) rules_report(P, a->line, a->col, "'exists' needs a field path");
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
            rules_node_free(l);
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
            rules_node_free(l);
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
            rules_report(P, line, col + 1 + (int)i, "unclosed '{' in template");
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
            rules_node_free(e);
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
            rules_report(P, line, col, "bad %s '%s' (one of: %s)", field, t->p[0].lit, sb_str(&b));
            free(b.s);
        }
    }
}

/* ------------------------------------------------------------ rules, params */

static const char *const fix_sides[] = { "client", "server", "network", "either", "none", NULL };
static const char *const confidences[] = { "exact", "inferred", NULL };
static const char *const by_names[] = { "client", "flow", "server", "sni" };

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
            rules_report(P, ns[i]->line, ns[i]->col, "threshold %s must be a number, got a %s", what[i],
                         rules_type_desc(ns[i]->type));
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
        rules_rule_free(&r);
        return;
    }
    r.id = P->t.s;
    P->t.s = NULL;
    int idline = P->t.line, idcol = P->t.col;
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].id, r.id) == 0)
            rules_report(P, idline, idcol, "duplicate rule id '%s' (first defined at %s:%d:%d)", r.id,
                         rs->r[i].file, rs->r[i].line, rs->r[i].col);
    next(P);
    if (!expect_op(P, "{")) {
        recover(P, 0);
        rules_rule_free(&r);
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
        if (seen & (1u << f)) rules_report(P, fline, fcol, "field '%s' given twice", fields[f]);
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
            rules_node_free(r.when);
            r.when = parse_expr(P);
            break;
        case 4:
            rules_cval_free(&r.confidence);
            if (parse_cval(P, &r.confidence, 1))
                cval_check_words(P, &r.confidence, "confidence", confidences, vline, vcol);
            break;
        case 5:
            rules_cval_free(&r.fix_side);
            if (parse_cval(P, &r.fix_side, 1))
                cval_check_words(P, &r.fix_side, "fix_side", fix_sides, vline, vcol);
            break;
        case 6: rules_cval_free(&r.message); parse_cval(P, &r.message, 0); break;
        case 7: rules_cval_free(&r.advice); parse_cval(P, &r.advice, 0); break;
        case 8: rules_cval_free(&r.evidence); parse_cval(P, &r.evidence, 0); break;
        case 9: parse_idlist(P, &r.supp_ids, &r.nsupp_ids); break;
        case 10: parse_idlist(P, &r.explains, &r.nexplains); break;
        case 11:
            rules_node_free(r.thr_count);
            rules_node_free(r.thr_window);
            rules_node_free(r.thr_weight);
            r.thr_count = r.thr_window = r.thr_weight = NULL;
            parse_threshold(P, &r);
            break;
        default: break;
        }
    }
    if (P->bad) {
        recover(P, 1);
        rules_rule_free(&r);
        return;
    }
    next(P); /* '}' */
    if ((int)r.sev < 0) rules_report(P, line, col, "rule '%s' has no severity", r.id);
    if (!r.when) rules_report(P, line, col, "rule '%s' has no 'when' condition", r.id);
    if (!r.message.n) rules_report(P, line, col, "rule '%s' has no message", r.id);
    if (P->errors != errs0) {
        rules_rule_free(&r);
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
    if (rules_find_param(P->rs, name) != (size_t)-1) {
        rules_report(P, line, col, "parameter '%s' declared twice", name);
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
