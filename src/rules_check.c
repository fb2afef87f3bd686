/* Type checking and load-time compilation of rules. Every facts path is
 * resolved against the facts schema (src/facts_schema.def) to its type and
 * to one field descriptor per step, so that evaluation never looks a name
 * up; comparisons of coded fields (enums, tls_names codes) with string
 * literals are compiled to code comparisons; rules_finalize() resolves the
 * cross-rule references (suppressed_by, explains). */
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

/* ------------------------------------------------------------ types */

/* The schema is the typed facts' (src/facts_schema.def via facts.h). */
static unsigned schema_type(const char *path) { return facts_path_type(path); }

const char *rules_type_desc(unsigned t)
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

/* Are values of types a and b comparable with ==? */
int rules_eq_compatible(unsigned a, unsigned b)
{
    a &= ~T_NULL;
    b &= ~T_NULL;
    if (!a || !b) return 1; /* null literal */
    if (a == T_ANY || b == T_ANY) return 1;
    if ((a & T_NUM) && (b & T_NUM)) return 1;
    return (a & b) != 0;
}

/* ------------------------------------------------------------ paths */

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
void rules_path_check(struct parser *P, struct node *n)
{
    const char *prefix = NULL;
    if (n->a) {
        prefix = n->a->sprefix;
        if (!prefix) {
            rules_report(P, n->line, n->col, "field access on a %s", rules_type_desc(n->a->type));
            n->type = T_ANY;
            return;
        }
    } else if (P->scope) {
        prefix = P->scope;
        if (P->scope_type != T_OBJ) {
            rules_report(P, n->line, n->col, "elements here are strings: use 'it', not a field name");
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
            rules_report(P, n->line, n->col, "'%s' is not an array", n->pathtext);
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
            rules_path_check(P, n);
            P->scope = oscope;
            return;
        }
    }
    if (!t) {
        if (prefix && !n->a)
            rules_report(P, n->line, n->col, "unknown field '%s' in elements of %.*s", n->pathtext,
                         (int)(strlen(prefix) - 2), prefix);
        else
            rules_report(P, n->line, n->col, "unknown field '%s' (not in docs/facts.md)", n->pathtext);
        free(b.s);
        return;
    }
    n->type = t;
    if (!resolve_steps(n, prefix)) {
        rules_report(P, n->line, n->col, "'%s' does not resolve in the facts", n->pathtext);
        n->type = T_ANY;
    }
    if (t & (T_OBJ | T_AOBJ)) {
        n->sprefix = b.s;
        return;
    }
    free(b.s);
}

/* ------------------------------------------------------------ compilation */

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

/* A path the evaluator may read directly (node.fd): no base
 * expression, and every step a key step bound to its field. */
static int direct_path(const struct node *p)
{
    if (p->k != N_PATH || p->a || !p->nsteps) return 0;
    for (size_t i = 0; i < p->nsteps; i++)
        if (!p->steps[i].key || !p->steps[i].fd) return 0;
    return 1;
}

/* Turns comparisons of coded fields with string literals into code
 * comparisons (no name lookup, no string comparison when evaluated), and
 * "contains" of a bit list with a string literal into a mask; marks the
 * paths read directly. Children first: a node's paths are marked before
 * the node looks at them. */
static void compile_codes(struct node *n)
{
    if (!n) return;
    compile_codes(n->a);
    compile_codes(n->b);
    compile_codes(n->c);
    for (size_t i = 0; i < n->nargs; i++) compile_codes(n->args[i]);
    n->fd = direct_path(n) ? n->steps[n->nsteps - 1].fd : NULL;
    if (n->k == N_CMP && (n->op == OP_EQ || n->op == OP_NE) && !n->code_mode) {
        const struct facts_field *fd;
        if ((fd = coded_path(n->a)) && str_lit(n->b)) {
            n->code_mode = 1;
            n->code = literal_code(fd, n->b->ls);
        } else if ((fd = coded_path(n->b)) && str_lit(n->a)) {
            n->code_mode = 2;
            n->code = literal_code(fd, n->a->ls);
        }
    } else if (n->k == N_CONTAINS && !n->code_mode && n->a->fd && str_lit(n->b) &&
               n->a->fd->kind == K_BITS) {
        /* a bit list's items are the names of its set bits: contains is a
         * mask test (every bit of that name, should two share one) */
        const struct facts_field *fd = n->a->steps[n->a->nsteps - 1].fd;
        n->bits = 0;
        for (int i = 0; i < 64; i++) {
            const char *bn = facts_bit_name(fd->arg, i);
            if (bn && strcmp(bn, n->b->ls) == 0) n->bits |= (uint64_t)1 << i;
        }
        n->code_mode = 1;
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

/* ------------------------------------------------------------ cross-references */

static void add_supp(struct rule *r, size_t by)
{
    for (size_t i = 0; i < r->nsupp; i++)
        if (r->supp[i] == by) return;
    r->supp = xrealloc(r->supp, (r->nsupp + 1) * sizeof *r->supp);
    r->supp[r->nsupp++] = by;
}

/* ------------------------------------------------------------ packing */

static size_t count_nodes(const struct node *n)
{
    if (!n) return 0;
    size_t c = 1 + count_nodes(n->a) + count_nodes(n->b) + count_nodes(n->c);
    for (size_t i = 0; i < n->nargs; i++) c += count_nodes(n->args[i]);
    return c;
}

/* Moves a tree into blk from *next on, in the order evaluation visits it
 * (a node, then its children left to right). What the nodes own (steps,
 * strings, argument arrays) moves with them; their own allocations are
 * freed. */
static struct node *pack_node(struct node *n, struct node *blk, size_t *next)
{
    if (!n) return NULL;
    struct node *m = &blk[(*next)++];
    *m = *n;
    m->packed = 1;
    if (!n->packed) free(n);
    m->a = pack_node(m->a, blk, next);
    m->b = pack_node(m->b, blk, next);
    m->c = pack_node(m->c, blk, next);
    for (size_t i = 0; i < m->nargs; i++) m->args[i] = pack_node(m->args[i], blk, next);
    return m;
}

/* Every rule's condition in one block, rule after rule, each in the order
 * its evaluation reads it: the conditions of one handshake's evaluation
 * are read front to back through memory, not from wherever the parser's
 * allocations landed (one cache miss per node otherwise). */
static void pack_conditions(struct ruleset *rs)
{
    size_t total = 0;
    for (size_t i = 0; i < rs->n; i++) total += count_nodes(rs->r[i].when);
    struct node *blk = total ? xcalloc(total, sizeof *blk) : NULL;
    size_t next = 0;
    for (size_t i = 0; i < rs->n; i++) rs->r[i].when = pack_node(rs->r[i].when, blk, &next);
    free(rs->when_block); /* an earlier packing's nodes, all moved */
    rs->when_block = blk;
}

int rules_finalize(struct ruleset *rs, rules_error_fn err, void *ctx)
{
    for (size_t i = 0; i < rs->n; i++) {
        struct rule *r = &rs->r[i];
        r->sensor = r->category && strcmp(r->category, "capture") == 0;
        compile_codes(r->when);
        compile_cval(&r->confidence);
        compile_cval(&r->fix_side);
        compile_cval(&r->message);
        compile_cval(&r->advice);
        compile_cval(&r->evidence);
    }
    pack_conditions(rs);
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
            size_t j = rules_find_rule(rs, r->supp_ids[k].id);
            P.file = r->supp_ids[k].file;
            if (j == (size_t)-1)
                rules_report(&P, r->supp_ids[k].line, r->supp_ids[k].col,
                             "suppressed_by: unknown rule id '%s'", r->supp_ids[k].id);
            else if (j == i)
                rules_report(&P, r->supp_ids[k].line, r->supp_ids[k].col, "a rule cannot suppress itself");
            else
                add_supp(r, j);
        }
        for (size_t k = 0; k < r->nexplains; k++) {
            size_t j = rules_find_rule(rs, r->explains[k].id);
            P.file = r->explains[k].file;
            if (j == (size_t)-1)
                rules_report(&P, r->explains[k].line, r->explains[k].col, "explains: unknown rule id '%s'",
                             r->explains[k].id);
            else if (j == i)
                rules_report(&P, r->explains[k].line, r->explains[k].col, "a rule cannot explain itself");
            else
                add_supp(&rs->r[j], i);
        }
    }
    return P.errors;
}
