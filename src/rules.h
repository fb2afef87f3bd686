/* The rule engine: loads the declarative rule files in rules/ (language in
 * docs/rules.md), validates them against the facts schema
 * (src/facts_schema.def, i.e. docs/facts.md), and evaluates every enabled
 * rule on one handshake's typed facts, producing findings through a
 * callback. The knowledge (what a failure looks like, who must fix it, how)
 * lives in the rule files; this file only knows the language.
 *
 * Typical use (main.c):
 *   struct ruleset *rs = rules_new();
 *   for each --rules X:  errs += rules_load(rs, X, err_cb, NULL);
 *   (none given:         errs += rules_load(rs, rules_default_dir(), ...);)
 *   errs += rules_finalize(rs, err_cb, NULL);     -- cross-rule references
 *   for each --param N=V: rules_set_param(rs, "N=V", buf, sizeof buf);
 *   for each --disable R: rules_disable(rs, R);
 *   --min-severity S:     rules_set_min_severity(rs, rules_severity_parse(S));
 *   --fail-on S:          rules_set_fail_on(rs, rules_severity_parse(S));
 *   --check-rules:        exit(errs ? 2 : 0);
 *   --list-rules:         rules_list(rs, RULES_LIST_TEXT|MARKDOWN|JSON, stdout);
 *   per handshake:        rules_eval(rs, facts, &ctx, finding_cb, out);
 *   at exit:              if (rules_failed(rs)) exit code 3.
 */
#ifndef TLSWATCH_RULES_H
#define TLSWATCH_RULES_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "facts.h"

enum rule_severity { SEV_INFO = 0, SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL };

/* "critical" ... "info" (case-insensitive), or -1. */
int rules_severity_parse(const char *s);
const char *rules_severity_name(enum rule_severity s);

/* One finding. Every string is valid only during the callback. */
struct rule_finding {
    const char *rule;       /* stable id, e.g. "renegotiation-rejected" */
    enum rule_severity severity;
    const char *severity_name; /* "critical" ... */
    const char *category;   /* "renegotiation", "certificates", ... */
    const char *confidence; /* "exact" | "inferred" */
    const char *fix_side;   /* "client" | "server" | "network" | "either" | "none" */
    const char *message;
    const char *advice;
    const char *evidence;
};
typedef void (*rules_finding_fn)(void *ctx, const struct rule_finding *f);

/* Error reporter: one line "file:line:col: message" (no newline). */
typedef void (*rules_error_fn)(void *ctx, const char *line);

/* Per-call context. Any member may be 0/NULL: then the facts supply it
 * (time: flow.time; client: flow.client_ip; flow: flow_id, else the
 * 4-tuple from flow.*; server: flow.server_ip:server_port). Keys are only
 * formatted when a threshold rule's condition holds. */
struct rules_ctx {
    double time;        /* capture time (epoch seconds) of the decision */
    const char *client; /* key for "by client" thresholds (client ip) */
    const char *flow;   /* key for "by flow" thresholds (e.g. flow_id) */
    const char *server; /* key for "by server" thresholds */
    uint64_t flow_id;   /* when flow is NULL: "by flow" key (0: the 4-tuple) */
};

struct ruleset;

/* Load-time limits (errors "file:line:col: ..." beyond them): the parser's
 * recursion ('(', 'not', unary '-', function calls) and the depth of an
 * expression tree (a chain "a and b and c ..." is one level per operator),
 * which bounds the recursion of evaluation. */
#define RULES_MAX_NESTING 64
#define RULES_MAX_TREE_DEPTH 256

struct ruleset *rules_new(void);
void rules_free(struct ruleset *rs);

/* Loads a rule file, or every *.rules file of a directory (sorted by name).
 * Parameters must be declared (param x = ...) before they are used, in
 * load order. Returns the number of errors reported through err (NULL: to
 * stderr). A rule with an error is not kept. */
int rules_load(struct ruleset *rs, const char *path, rules_error_fn err, void *ctx);
/* Same from memory; name is used in error messages. */
int rules_load_string(struct ruleset *rs, const char *name, const char *text,
                      rules_error_fn err, void *ctx);
/* After the last load: resolves suppressed_by/explains ids (unknown id is an
 * error). Returns the number of errors. Must be called before rules_eval. */
int rules_finalize(struct ruleset *rs, rules_error_fn err, void *ctx);

/* The default rule directory: TLSWATCH_RULES_DIR when it exists, else
 * "rules" (the source tree, for runs from the checkout). */
const char *rules_default_dir(void);

/* --param NAME=VALUE: 0, or -1 with a message in err (unknown parameter,
 * value of the wrong type). */
int rules_set_param(struct ruleset *rs, const char *assignment, char *err, size_t errlen);
/* Current value of a numeric parameter (tests, --list-rules); NAN if none. */
double rules_param(const struct ruleset *rs, const char *name);
/* --disable RULE: 0, or -1 when no rule has that id. */
int rules_disable(struct ruleset *rs, const char *id);
/* --min-severity: findings below are not reported (they still suppress). */
void rules_set_min_severity(struct ruleset *rs, enum rule_severity s);
/* --fail-on: remember whether a finding at or above s was reported. */
void rules_set_fail_on(struct ruleset *rs, enum rule_severity s);
/* 1 when --fail-on was set and a finding at or above it was reported. */
int rules_failed(const struct ruleset *rs);

/* Threshold (storm) state: one entry per rule and key, at most max_keys
 * (default RULES_STORM_MAX_KEYS, 0 restores it). When full, the least
 * recently hit key is evicted; rules_storm_evictions() counts those (a
 * steady rise means the table is too small, or someone sprays keys). */
#define RULES_STORM_MAX_KEYS 100000
void rules_set_storm_max_keys(struct ruleset *rs, size_t max_keys);
size_t rules_storm_keys(const struct ruleset *rs);
uint64_t rules_storm_evictions(const struct ruleset *rs);

size_t rules_count(const struct ruleset *rs);
/* A finding about to be reported (after specificity and --min-severity,
 * before --fail-on and the callback) is dropped when filter returns 1
 * (suppress.h); dropped findings still quiet the rules they explain. */
typedef int (*rules_filter_fn)(void *ctx, const char *rule, const tls_facts *facts, double now);
void rules_set_filter(struct ruleset *rs, rules_filter_fn fn, void *ctx);
uint64_t rules_filtered(const struct ruleset *rs);
/* Rule id by index (load order), for tests and listings. */
const char *rules_id(const struct ruleset *rs, size_t i);

/* Evaluates every enabled rule on facts; emits at most one finding per rule
 * (storm rules: once per window per key). Returns the number of findings
 * passed to cb. Thresholds keep state across calls (per ruleset). */
size_t rules_eval(struct ruleset *rs, const tls_facts *facts, const struct rules_ctx *ctx,
                  rules_finding_fn cb, void *cbctx);

enum rules_list_format { RULES_LIST_TEXT, RULES_LIST_MARKDOWN, RULES_LIST_JSON };
/* --list-rules [--format text|markdown|json]. Returns 0, -1 on write error. */
int rules_list(const struct ruleset *rs, enum rules_list_format fmt, FILE *out);
/* "text" / "markdown" / "md" / "json", or -1. */
int rules_list_format_parse(const char *s);

#endif
