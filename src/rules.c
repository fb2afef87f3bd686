/* The ruleset: its lifecycle (rules_new, rules_free and the freeing of
 * every rule and expression tree it owns), the lookups of rules and
 * parameters by name, severity names, and the options set after loading
 * (--param, --disable, --min-severity, --fail-on). The rest of the engine
 * has one file per job; rules_int.h lists them. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "rules_int.h"

/* ------------------------------------------------------------ freeing */

static void tmpl_free(struct tmpl *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->p[i].lit);
        rules_node_free(t->p[i].expr);
    }
    free(t->p);
    t->p = NULL;
    t->n = 0;
}
void rules_cval_free(struct cval *c)
{
    for (size_t i = 0; i < c->n; i++) {
        rules_node_free(c->cond[i]);
        tmpl_free(&c->val[i]);
    }
    free(c->cond);
    free(c->val);
    memset(c, 0, sizeof *c);
}
void rules_node_free(struct node *n)
{
    if (!n) return;
    rules_node_free(n->a);
    rules_node_free(n->b);
    rules_node_free(n->c);
    for (size_t i = 0; i < n->nargs; i++) rules_node_free(n->args[i]);
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
    if (!n->packed) free(n);
}
static void idrefs_free(struct idref *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].id);
        free(r[i].file);
    }
    free(r);
}
void rules_rule_free(struct rule *r)
{
    free(r->id);
    free(r->category);
    free(r->summary);
    free(r->file);
    rules_node_free(r->when);
    rules_cval_free(&r->confidence);
    rules_cval_free(&r->fix_side);
    rules_cval_free(&r->message);
    rules_cval_free(&r->advice);
    rules_cval_free(&r->evidence);
    idrefs_free(r->supp_ids, r->nsupp_ids);
    idrefs_free(r->explains, r->nexplains);
    free(r->supp);
    rules_node_free(r->thr_count);
    rules_node_free(r->thr_window);
    rules_node_free(r->thr_weight);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ severities */

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

/* ------------------------------------------------------------ lookups */

size_t rules_find_param(const struct ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rs->np; i++)
        if (strcmp(rs->p[i].name, name) == 0) return i;
    return (size_t)-1;
}

size_t rules_find_rule(const struct ruleset *rs, const char *id)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].id, id) == 0) return i;
    return (size_t)-1;
}

/* ------------------------------------------------------------ ruleset */

struct ruleset *rules_new(void)
{
    struct ruleset *rs = xcalloc(1, sizeof *rs);
    rs->fail_on = -1;
    rs->storm_max_keys = RULES_STORM_MAX_KEYS;
    return rs;
}

void rules_free(struct ruleset *rs)
{
    if (!rs) return;
    for (size_t i = 0; i < rs->n; i++) rules_rule_free(&rs->r[i]);
    free(rs->when_block);
    free(rs->r);
    for (size_t i = 0; i < rs->np; i++) {
        free(rs->p[i].name);
        free(rs->p[i].s);
    }
    free(rs->p);
    rules_storms_clear(rs);
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
    size_t i = rules_find_param(rs, name);
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
    size_t i = rules_find_param(rs, name);
    if (i == (size_t)-1 || rs->p[i].is_str) return NAN;
    return rs->p[i].num;
}

int rules_disable(struct ruleset *rs, const char *id)
{
    size_t i = rules_find_rule(rs, id);
    if (i == (size_t)-1) return -1;
    rs->r[i].disabled = 1;
    return 0;
}
void rules_set_min_severity(struct ruleset *rs, enum rule_severity s) { rs->min_sev = s; }
void rules_set_fail_on(struct ruleset *rs, enum rule_severity s) { rs->fail_on = (int)s; }
int rules_failed(const struct ruleset *rs) { return rs->failed; }
size_t rules_count(const struct ruleset *rs) { return rs->n; }
void rules_set_filter(struct ruleset *rs, rules_filter_fn fn, void *ctx)
{
    rs->filter = fn;
    rs->filter_ctx = ctx;
}
uint64_t rules_filtered(const struct ruleset *rs) { return rs ? rs->filtered : 0; }
const char *rules_id(const struct ruleset *rs, size_t i) { return i < rs->n ? rs->r[i].id : NULL; }
