/* Thresholds (storms): "threshold: count N within DURATION by KEY". Each
 * rule and key (client, flow, server or SNI, formatted from the facts only
 * when the rule's condition holds) keeps its recent hit times in a keyed,
 * bounded hash table with least-recently-hit eviction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"
#include "uthash_keyed.h"

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
    double window; /* the rule's window at the last hit */
    UT_hash_handle hh;
};

static void storm_free(struct ruleset *rs, struct storm *s)
{
    HASH_DEL(rs->storms, s);
    free(s->key);
    free(s->times);
    free(s->w);
    free(s);
    rs->nstorms--;
}

void rules_storms_clear(struct ruleset *rs)
{
    struct storm *s, *tmp;
    HASH_ITER(hh, rs->storms, s, tmp) {
        storm_free(rs, s);
    }
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

/* Makes room for one more key. Clearing the whole table here would let a
 * sender reset every storm count by sending enough distinct keys; instead
 * idle keys at the head are dropped (no hit within their rule's window and
 * no longer quiet: they hold nothing a later hit would read, so dropping
 * them changes no verdict), then the least recently hit ones are evicted
 * (and counted). O(1) amortised: only the head is looked at. */
static void storms_make_room(struct ruleset *rs, double now)
{
    while (rs->storms && now - rs->storms->last > rs->storms->window && now >= rs->storms->quiet_until)
        storm_free(rs, rs->storms);
    while (rs->storms && rs->nstorms >= rs->storm_max_keys) {
        storm_free(rs, rs->storms);
        rs->storm_evictions++;
    }
}

/* Counts one hit (of the rule's weight, default 1) of r at time now;
 * returns 1 when the hits within the window reach the count. */
int rules_threshold_hit(struct ruleset *rs, const struct rule *r, const tls_facts *facts,
                         const struct rules_ctx *ctx, double now, const struct env *E)
{
    struct rv c = rules_eval_expr(r->thr_count, E), w = rules_eval_expr(r->thr_window, E);
    double count = c.k == RV_NUM ? c.d : 1, window = w.k == RV_NUM ? w.d : 0, weight = 1;
    rv_free(&c);
    rv_free(&w);
    if (r->thr_weight) {
        struct rv x = rules_eval_expr(r->thr_weight, E);
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
    s->window = window;
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

void rules_set_storm_max_keys(struct ruleset *rs, size_t n)
{
    rs->storm_max_keys = n ? n : RULES_STORM_MAX_KEYS;
}
size_t rules_storm_keys(const struct ruleset *rs) { return rs->nstorms; }
uint64_t rules_storm_evictions(const struct ruleset *rs) { return rs->storm_evictions; }
