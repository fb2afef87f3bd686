/* Findings grouped into incidents (incidents.h). */
#include "incidents.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "community_id.h"
#include "uthash_keyed.h"
#include "xalloc.h"

enum { INC_OPEN, INC_CLOSED };

struct inc {
    UT_hash_handle hh;
    char *key;
    unsigned id;
    int state;
    enum rule_severity sev;
    char *rule, *sev_name, *category, *fix_side, *message, *advice;
    char server[64], sni[256], evidence[96];
    int port;
    uint64_t count, count_at_update;
    double first, last, last_event;
    uint32_t *clients; /* sorted hashes of client addresses */
    size_t nclients, ccap;
    int clients_capped;
    char samples[INCIDENT_SAMPLES][COMMUNITY_ID_LEN];
    int nsamples;
};

struct incidents {
    struct inc *map; /* insertion order: least recently opened first */
    size_t n, total;
    uint64_t evicted;
    unsigned next_id;
    double update_s, quiet_s;
    incidents_put_fn put;
    void *ctx;
    struct json j;
};

struct incidents *incidents_new(double update_s, double quiet_s, incidents_put_fn put, void *ctx)
{
    struct incidents *in = xcalloc(1, sizeof *in);
    in->update_s = update_s > 0 ? update_s : 60;
    in->quiet_s = quiet_s > 0 ? quiet_s : 300;
    in->put = put;
    in->ctx = ctx;
    json_init(&in->j);
    return in;
}

static void inc_free(struct inc *x)
{
    free(x->key);
    free(x->rule);
    free(x->sev_name);
    free(x->category);
    free(x->fix_side);
    free(x->message);
    free(x->advice);
    free(x->clients);
    free(x);
}

void incidents_free(struct incidents *in)
{
    if (!in) return;
    struct inc *x, *tmp;
    HASH_ITER(hh, in->map, x, tmp) {
        HASH_DEL(in->map, x);
        inc_free(x);
    }
    json_free(&in->j);
    free(in);
}

static void emit(struct incidents *in, struct inc *x, const char *state, double t)
{
    struct json *j = &in->j;
    json_reset(j);
    struct timeval tv = json_timeval_of(t);
    json_obj_begin(j);
    json_key(j, "timestamp");
    json_time(j, &tv);
    json_kv_str(j, "event_type", "incident");
    json_key(j, "incident");
    json_obj_begin(j);
    json_kv_uint(j, "id", x->id);
    json_kv_str(j, "state", state);
    json_kv_str(j, "rule", x->rule);
    json_kv_str(j, "severity", x->sev_name);
    json_kv_str(j, "category", x->category);
    json_kv_str(j, "fix_side", x->fix_side);
    json_kv_str(j, "server_ip", x->server);
    json_kv_uint(j, "server_port", (uint64_t)x->port);
    if (x->sni[0]) json_kv_str(j, "sni", x->sni);
    else {
        json_key(j, "sni");
        json_null(j);
    }
    json_kv_str(j, "evidence_key", x->evidence);
    json_kv_uint(j, "count", x->count);
    json_kv_uint(j, "clients", x->nclients);
    json_kv_bool(j, "clients_capped", x->clients_capped);
    json_key(j, "first_seen");
    tv = json_timeval_of(x->first);
    json_time(j, &tv);
    json_key(j, "last_seen");
    tv = json_timeval_of(x->last);
    json_time(j, &tv);
    json_key(j, "samples");
    json_arr_begin(j);
    for (int i = 0; i < x->nsamples; i++) json_str(j, x->samples[i]);
    json_arr_end(j);
    json_kv_str(j, "message", x->message);
    json_kv_str(j, "advice", x->advice);
    json_obj_end(j);
    json_obj_end(j);
    json_end_line(j);
    if (!j->oom && in->put) in->put(in->ctx, j->buf, j->len);
    x->last_event = t;
    x->count_at_update = x->count;
}

static void close_inc(struct incidents *in, struct inc *x, double t)
{
    if (x->state == INC_CLOSED) return;
    if (x->count != x->count_at_update) emit(in, x, "updated", t);
    x->state = INC_CLOSED;
    emit(in, x, "closed", t);
    in->n--;
}

uint32_t incidents_client_of(const struct flow *f)
{
    /* FNV-1a over the address bytes */
    const uint8_t *a = f->cli.addr;
    size_t n = f->key.family == 6 ? 16 : 4;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ a[i]) * 16777619u;
    return h;
}

static void add_client(struct inc *x, uint32_t h)
{
    size_t lo = 0, hi = x->nclients;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x->clients[mid] < h) lo = mid + 1;
        else hi = mid;
    }
    if (lo < x->nclients && x->clients[lo] == h) return;
    if (x->nclients >= INCIDENT_CLIENTS_MAX) {
        x->clients_capped = 1;
        return;
    }
    if (x->nclients == x->ccap) {
        x->ccap = x->ccap ? x->ccap * 2 : 8;
        x->clients = xrealloc(x->clients, x->ccap * sizeof *x->clients);
    }
    memmove(x->clients + lo + 1, x->clients + lo, (x->nclients - lo) * sizeof *x->clients);
    x->clients[lo] = h;
    x->nclients++;
}

/* What makes findings of one rule on one server one cause. */
static void evidence_of(const struct rule_finding *r, const tls_facts *f, char *out, size_t n)
{
    out[0] = '\0';
    const struct facts_ALERT *a = FSTATE(TLS, f, last_alert) == FACTS_VAL ? f->last_alert : NULL;
    long long alert = a && FSTATE(ALERT, a, code) == FACTS_VAL ? (long long)a->code : -1;
    if (r->category && strcmp(r->category, "certificates") == 0) {
        const struct facts_CERT *c = FSTATE(TLS, f, server_cert) == FACTS_VAL ? f->server_cert : NULL;
        if (c && FSTATE(CERT, c, sha256) == FACTS_VAL && c->sha256) snprintf(out, n, "cert:%.64s", c->sha256);
        else if (alert >= 0) snprintf(out, n, "alert:%lld", alert);
        else snprintf(out, n, "cert:unseen");
    } else if (r->category && strcmp(r->category, "protocol") == 0) {
        long long v = FSTATE(TLS, f, client_max_version_code) == FACTS_VAL ? (long long)f->client_max_version_code : -1;
        snprintf(out, n, "offered:%lld/alert:%lld", v, alert);
    } else if (r->category && strcmp(r->category, "alerts") == 0) {
        snprintf(out, n, "alert:%lld", alert);
    } else {
        snprintf(out, n, "-");
    }
}

size_t incidents_key(const struct rule_finding *r, const struct flow *f, const tls_facts *facts,
                     char *key, size_t n, char server[64], char ev[96])
{
    flow_addr_str(f, f->srv.addr, server, 64);
    const char *sni = FSTATE(TLS, facts, sni) == FACTS_VAL && facts->sni ? facts->sni : "";
    evidence_of(r, facts, ev, 96);
    int kl = snprintf(key, n, "%s|%s|%u|%.255s|%s", r->rule, server, f->srv.port, sni, ev);
    return kl < 0 ? 0 : (size_t)kl >= n ? n - 1 : (size_t)kl;
}

void incidents_add(struct incidents *in, const struct rule_finding *r, const struct flow *f,
                   const tls_facts *facts, double t)
{
    if (!f) return; /* findings about the capture itself are not grouped */
    char server[64], ev[96], key[INCIDENT_KEY_LEN];
    size_t klen = incidents_key(r, f, facts, key, sizeof key, server, ev);
    const char *sni = FSTATE(TLS, facts, sni) == FACTS_VAL && facts->sni ? facts->sni : "";
    struct inc *x = NULL;
    HASH_FIND(hh, in->map, key, klen, x);
    if (x && x->state == INC_CLOSED) { /* the cause came back: a new incident */
        HASH_DEL(in->map, x);
        inc_free(x);
        in->total--;
        x = NULL;
    }
    if (!x) {
        if (in->total >= INCIDENTS_MAX) { /* forget the least recently opened */
            struct inc *old = in->map;
            close_inc(in, old, t);
            HASH_DEL(in->map, old);
            inc_free(old);
            in->total--;
            in->evicted++;
        }
        x = xcalloc(1, sizeof *x);
        x->key = xmalloc(klen + 1);
        memcpy(x->key, key, klen);
        x->key[klen] = '\0';
        x->id = ++in->next_id;
        x->sev = r->severity;
        x->rule = xstrdup(r->rule);
        x->sev_name = xstrdup(r->severity_name);
        x->category = xstrdup(r->category ? r->category : "-");
        x->fix_side = xstrdup(r->fix_side ? r->fix_side : "either");
        x->message = xstrdup(r->message ? r->message : "");
        x->advice = xstrdup(r->advice ? r->advice : "");
        snprintf(x->server, sizeof x->server, "%s", server);
        snprintf(x->sni, sizeof x->sni, "%s", sni);
        snprintf(x->evidence, sizeof x->evidence, "%s", ev);
        x->port = f->srv.port;
        x->first = t;
        HASH_ADD_KEYPTR(hh, in->map, x->key, klen, x);
        in->n++;
        in->total++;
    }
    x->count++;
    x->last = t;
    add_client(x, incidents_client_of(f));
    if (x->nsamples < INCIDENT_SAMPLES) flow_community_id(f, x->samples[x->nsamples++]);
    if (x->count == 1) emit(in, x, "opened", t);
    else if (t - x->last_event >= in->update_s) emit(in, x, "updated", t);
}

void incidents_tick(struct incidents *in, double t)
{
    /* the table's own order (uthash's next), not HASH_ITER: cppcheck
     * cannot see that it visits only initialised entries */
    for (struct inc *x = in->map; x; x = x->hh.next) {
        if (x->state == INC_CLOSED) continue;
        if (t - x->last >= in->quiet_s) close_inc(in, x, t);
        else if (x->count != x->count_at_update && t - x->last_event >= in->update_s) emit(in, x, "updated", t);
    }
}

void incidents_finish(struct incidents *in, double t)
{
    for (struct inc *x = in->map; x; x = x->hh.next) close_inc(in, x, t > x->last ? t : x->last);
}

int incidents_impact_cmp(const struct incident_impact *a, const struct incident_impact *b)
{
    if (a->sev != b->sev) return a->sev > b->sev ? -1 : 1;
    if (a->clients != b->clients) return a->clients > b->clients ? -1 : 1;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int by_impact(const void *a, const void *b)
{
    const struct inc *x = *(const struct inc *const *)a, *y = *(const struct inc *const *)b;
    struct incident_impact p = { x->sev, x->nclients, x->count, x->id }, q = { y->sev, y->nclients, y->count, y->id };
    return incidents_impact_cmp(&p, &q);
}

void incidents_summary(const struct incidents *in, FILE *out)
{
    size_t n = HASH_COUNT(in->map), k = 0;
    struct inc **v = xcalloc(n ? n : 1, sizeof *v);
    for (struct inc *x = in->map; x; x = x->hh.next) v[k++] = x;
    qsort(v, n, sizeof *v, by_impact);
    fprintf(out, "incidents: %zu%s, ranked by severity, distinct clients, handshakes\n", n,
            in->evicted ? " (older ones forgotten beyond the table's size)" : "");
    for (size_t i = 0; i < n; i++) {
        const struct inc *x = v[i];
        char a[32], b[32];
        struct timeval tv = json_timeval_of(x->first);
        format_time_rfc3339(&tv, a, sizeof a);
        tv = json_timeval_of(x->last);
        format_time_rfc3339(&tv, b, sizeof b);
        fprintf(out, "%3zu. %-8s %s %s:%d%s%s: %llu handshakes from %zu%s clients, %s .. %s\n     %s\n     fix (%s): %s\n",
                i + 1, x->sev_name, x->rule, x->server, x->port, x->sni[0] ? " sni=" : "", x->sni,
                (unsigned long long)x->count, x->nclients, x->clients_capped ? "+" : "", a, b, x->message,
                x->fix_side, x->advice);
    }
    free(v);
}

size_t incidents_count(const struct incidents *in) { return in ? HASH_COUNT(in->map) : 0; }
