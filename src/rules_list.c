/* --list-rules: the loaded rules (and parameters) as aligned text, a
 * Markdown table (README's rules table) or JSON lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "rules_int.h"

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
