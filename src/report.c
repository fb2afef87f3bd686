/* The HTML report (report.h). State: incidents keyed as incidents.c keys
 * them, each with its counts per time slot, distinct clients and one
 * sample flow (its message ladder and leaf certificate, copied from the
 * facts of its first finding); chart counters per time slot. Nothing is
 * formatted until the file is written. The page's CSS and JS are the
 * string constants below; its SVG is written here. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "community_id.h"
#include "incidents.h"
#include "json.h"
#include "session.h"
#include "uthash_keyed.h"
#include "xalloc.h"

#define LADDER_MAX 32
#define CHART_BARS 12

/* ------------------------------------------------------------- state */

struct counter {
    UT_hash_handle hh;
    char key[128];
    uint32_t n[REPORT_SLOTS];
};

enum { CH_OUTCOME, CH_VERSION, CH_CIPHER, CH_SERVER, CH_CLIENT, CH__N };
static const char *const chart_title[CH__N] = {
    "Handshakes by outcome", "Handshakes by version", "Handshakes by cipher",
    "Top failing servers", "Top failing clients",
};

struct chart {
    struct counter *map;
    size_t n;
    uint32_t other[REPORT_SLOTS]; /* beyond REPORT_KEYS_MAX keys */
};

struct lmsg {
    int8_t from;
    int16_t code;
    float ms;
    char type[24];
};

/* A sample flow of an incident, copied out of its facts. */
struct ladder {
    int n;
    struct lmsg m[LADDER_MAX];
    char client[64], server[64];
    unsigned cport, sport;
    char cid[COMMUNITY_ID_LEN];
    char outcome[24], version[32], cipher[64], history[104];
    bool cert;
    char subject[256], issuer[256], not_before[32], not_after[32], san[512], sha256[72];
};

struct rcli {
    uint32_t h;
    double last;
};

struct rinc {
    UT_hash_handle hh;
    char *key;
    unsigned id;
    enum rule_severity sev;
    char *rule, *sev_name, *fix_side, *message, *advice;
    char server[64], sni[256];
    unsigned port;
    uint32_t n[REPORT_SLOTS];
    double first, last;
    struct rcli *cli; /* sorted by hash */
    size_t ncli, ccap;
    bool capped;
    char samples[INCIDENT_SAMPLES][COMMUNITY_ID_LEN];
    int nsamples;
    struct ladder lad;
};

struct report {
    struct report_opts o;
    char *tmp, *source;
    double slot_len;
    int64_t slot_abs[REPORT_SLOTS];
    struct rinc *inc;
    size_t ninc;
    unsigned next_id;
    uint64_t evicted;
    struct chart ch[CH__N];
    double next_write, last_t;
};

struct report *report_new(const struct report_opts *o)
{
    struct report *r = xcalloc(1, sizeof *r);
    r->o = *o;
    if (!(r->o.interval > 0)) r->o.interval = 60;
    if (!(r->o.window > 0)) r->o.window = 3600;
    r->slot_len = r->o.window / REPORT_SLOTS;
    for (int i = 0; i < REPORT_SLOTS; i++) r->slot_abs[i] = INT64_MIN;
    size_t n = strlen(o->path) + 5;
    r->tmp = xmalloc(n);
    snprintf(r->tmp, n, "%s.tmp", o->path);
    r->source = xstrdup(o->source ? o->source : "");
    return r;
}

void report_set_live(struct report *r) { r->o.live = 1; }

static void rinc_free(struct rinc *x)
{
    free(x->key);
    free(x->rule);
    free(x->sev_name);
    free(x->fix_side);
    free(x->message);
    free(x->advice);
    free(x->cli);
    free(x);
}

void report_free(struct report *r)
{
    if (!r) return;
    struct rinc *x = r->inc;
    while (x) {
        struct rinc *next = x->hh.next;
        HASH_DEL(r->inc, x);
        rinc_free(x);
        x = next;
    }
    for (int c = 0; c < CH__N; c++) {
        struct counter *e = r->ch[c].map;
        while (e) {
            struct counter *next = e->hh.next;
            HASH_DEL(r->ch[c].map, e);
            free(e);
            e = next;
        }
    }
    free(r->tmp);
    free(r->source);
    free(r);
}

/* ------------------------------------------------------------- slots */

static int64_t abs_slot(const struct report *r, double t)
{
    return r->o.live ? (int64_t)floor(t / r->slot_len) : 0;
}

/* The ring column of time t, its old counts cleared when t starts a new
 * slot there; -1 when t is older than what the ring holds. */
static int slot_of(struct report *r, double t)
{
    int64_t s = abs_slot(r, t);
    int i = (int)(((s % REPORT_SLOTS) + REPORT_SLOTS) % REPORT_SLOTS);
    if (r->slot_abs[i] == s) return i;
    if (r->slot_abs[i] != INT64_MIN && r->slot_abs[i] > s) return -1;
    for (int c = 0; c < CH__N; c++) {
        for (struct counter *e = r->ch[c].map; e; e = e->hh.next) e->n[i] = 0;
        r->ch[c].other[i] = 0;
    }
    for (struct rinc *x = r->inc; x; x = x->hh.next) x->n[i] = 0;
    r->slot_abs[i] = s;
    return i;
}

/* The columns inside the window ending at now. */
static void window_cols(const struct report *r, double now, bool col[REPORT_SLOTS])
{
    int64_t s = abs_slot(r, now);
    for (int i = 0; i < REPORT_SLOTS; i++)
        col[i] = r->slot_abs[i] != INT64_MIN && r->slot_abs[i] <= s && r->slot_abs[i] > s - REPORT_SLOTS;
}

static uint64_t wsum(const uint32_t n[REPORT_SLOTS], const bool col[REPORT_SLOTS])
{
    uint64_t t = 0;
    for (int i = 0; i < REPORT_SLOTS; i++)
        if (col[i]) t += n[i];
    return t;
}

/* ------------------------------------------------------------ charts */

static void count(struct report *r, int c, const char *key, int col)
{
    struct chart *ch = &r->ch[c];
    struct counter *e = NULL;
    size_t kl = strnlen(key, sizeof e->key - 1);
    HASH_FIND(hh, ch->map, key, kl, e);
    if (!e) {
        if (ch->n >= REPORT_KEYS_MAX) {
            ch->other[col]++;
            return;
        }
        e = xcalloc(1, sizeof *e);
        memcpy(e->key, key, kl);
        HASH_ADD(hh, ch->map, key, kl, e);
        ch->n++;
    }
    e->n[col]++;
}

static const char *str_of(uint8_t st, const char *s) { return st == FACTS_VAL && s ? s : NULL; }

static void name_of(int nt, uint8_t st, uint16_t code, char *buf, size_t n)
{
    if (st != FACTS_VAL) {
        snprintf(buf, n, "none");
        return;
    }
    char tmp[64];
    snprintf(buf, n, "%s", facts_name(nt, code, tmp, sizeof tmp));
}

static bool failing(int outcome)
{
    /* established, resumed, renegotiated succeeded; incomplete_capture is
     * the capture's, not a peer's */
    return outcome == OUT_FAILED || outcome == OUT_ABORTED || outcome == OUT_TIMEOUT || outcome == OUT_RENEG_REJECTED;
}

void report_handshake(struct report *r, const struct flow *f, const tls_facts *facts, double t)
{
    int col = slot_of(r, t);
    if (t > r->last_t) r->last_t = t;
    if (col < 0) return;
    char buf[128];
    const char *o = FSTATE(TLS, facts, outcome) == FACTS_VAL ? facts_enum_name(EN_OUTCOME, facts->outcome) : NULL;
    count(r, CH_OUTCOME, o ? o : "none", col);
    name_of(NT_VERSION, FSTATE(TLS, facts, version), facts->version, buf, sizeof buf);
    count(r, CH_VERSION, buf, col);
    name_of(NT_CIPHER, FSTATE(TLS, facts, cipher), facts->cipher, buf, sizeof buf);
    count(r, CH_CIPHER, buf, col);
    if (!f || FSTATE(TLS, facts, outcome) != FACTS_VAL || !failing(facts->outcome)) return;
    char addr[64];
    flow_addr_str(f, f->srv.addr, addr, sizeof addr);
    const char *sni = str_of(FSTATE(TLS, facts, sni), facts->sni);
    snprintf(buf, sizeof buf, "%s:%u%s%.60s", addr, f->srv.port, sni ? " " : "", sni ? sni : "");
    count(r, CH_SERVER, buf, col);
    flow_addr_str(f, f->cli.addr, addr, sizeof addr);
    count(r, CH_CLIENT, addr, col);
}

/* --------------------------------------------------------- incidents */

static void add_client(struct rinc *x, uint32_t h, double t)
{
    size_t lo = 0, hi = x->ncli;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x->cli[mid].h < h) lo = mid + 1;
        else hi = mid;
    }
    if (lo < x->ncli && x->cli[lo].h == h) {
        if (t > x->cli[lo].last) x->cli[lo].last = t;
        return;
    }
    if (x->ncli >= REPORT_CLIENTS_MAX) {
        x->capped = true;
        return;
    }
    if (x->ncli == x->ccap) {
        x->ccap = x->ccap ? x->ccap * 2 : 8;
        x->cli = xrealloc(x->cli, x->ccap * sizeof *x->cli);
    }
    memmove(x->cli + lo + 1, x->cli + lo, (x->ncli - lo) * sizeof *x->cli);
    x->cli[lo] = (struct rcli){ h, t };
    x->ncli++;
}

static void fmt_time(double t, char *buf, size_t n)
{
    struct timeval tv;
    tv.tv_sec = (time_t)t;
    tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
    format_time_rfc3339(&tv, buf, n);
}

static void copy_cert(struct ladder *l, const struct facts_CERT *c)
{
    l->cert = true;
    const char *s = str_of(FSTATE(CERT, c, subject), c->subject);
    snprintf(l->subject, sizeof l->subject, "%s", s ? s : "");
    s = str_of(FSTATE(CERT, c, issuer), c->issuer);
    snprintf(l->issuer, sizeof l->issuer, "%s", s ? s : "");
    s = str_of(FSTATE(CERT, c, sha256), c->sha256);
    snprintf(l->sha256, sizeof l->sha256, "%s", s ? s : "");
    if (FSTATE(CERT, c, not_before) == FACTS_VAL) fmt_time((double)c->not_before, l->not_before, sizeof l->not_before);
    if (FSTATE(CERT, c, not_after) == FACTS_VAL) fmt_time((double)c->not_after, l->not_after, sizeof l->not_after);
    size_t used = 0;
    if (FSTATE(CERT, c, san) != FACTS_VAL) return;
    for (uint32_t i = 0; i < c->san.n && used + 1 < sizeof l->san; i++) {
        int k = snprintf(l->san + used, sizeof l->san - used, "%s%s", i ? ", " : "", c->san.v[i] ? c->san.v[i] : "");
        if (k < 0) break;
        used += (size_t)k;
    }
}

static void copy_ladder(struct ladder *l, const struct flow *f, const tls_facts *facts)
{
    if (FSTATE(TLS, facts, messages) == FACTS_VAL) {
        const struct facts_MSG *m = facts->messages.v;
        for (uint32_t i = 0; i < facts->messages.n && l->n < LADDER_MAX; i++) {
            struct lmsg *e = &l->m[l->n++];
            e->from = m[i].from;
            e->code = FSTATE(MSG, &m[i], code) == FACTS_VAL ? (int16_t)m[i].code : -1;
            e->ms = (float)m[i].ms;
            snprintf(e->type, sizeof e->type, "%s", m[i].type ? m[i].type : "?");
        }
    }
    flow_addr_str(f, f->cli.addr, l->client, sizeof l->client);
    flow_addr_str(f, f->srv.addr, l->server, sizeof l->server);
    l->cport = f->cli.port;
    l->sport = f->srv.port;
    flow_community_id(f, l->cid);
    const char *o = FSTATE(TLS, facts, outcome) == FACTS_VAL ? facts_enum_name(EN_OUTCOME, facts->outcome) : NULL;
    snprintf(l->outcome, sizeof l->outcome, "%s", o ? o : "none");
    name_of(NT_VERSION, FSTATE(TLS, facts, version), facts->version, l->version, sizeof l->version);
    name_of(NT_CIPHER, FSTATE(TLS, facts, cipher), facts->cipher, l->cipher, sizeof l->cipher);
    const char *h = str_of(FSTATE(TLS, facts, history), facts->history);
    snprintf(l->history, sizeof l->history, "%s", h ? h : "");
    if (FSTATE(TLS, facts, server_cert) == FACTS_VAL && facts->server_cert) copy_cert(l, facts->server_cert);
}

static char *dup_or_empty(const char *s) { return xstrdup(s ? s : ""); }

/* Room for a new incident: the least recently seen goes. */
static void evict(struct report *r)
{
    struct rinc *old = NULL;
    for (struct rinc *x = r->inc; x; x = x->hh.next)
        if (!old || x->last < old->last) old = x;
    if (!old) return;
    HASH_DEL(r->inc, old);
    rinc_free(old);
    r->ninc--;
    r->evicted++;
}

void report_finding(struct report *r, const struct rule_finding *rf, const struct flow *f,
                    const tls_facts *facts, double t)
{
    if (!f) return; /* findings about the capture itself are not grouped */
    int col = slot_of(r, t);
    if (col < 0) return;
    char server[64], ev[96], key[INCIDENT_KEY_LEN];
    size_t klen = incidents_key(rf, f, facts, key, sizeof key, server, ev);
    struct rinc *x = NULL;
    HASH_FIND(hh, r->inc, key, klen, x);
    if (!x) {
        if (r->ninc >= REPORT_INCIDENTS_MAX) evict(r);
        x = xcalloc(1, sizeof *x);
        x->key = xmalloc(klen + 1);
        memcpy(x->key, key, klen);
        x->key[klen] = '\0';
        x->id = ++r->next_id;
        x->sev = rf->severity;
        x->rule = dup_or_empty(rf->rule);
        x->sev_name = dup_or_empty(rf->severity_name);
        x->fix_side = dup_or_empty(rf->fix_side ? rf->fix_side : "either");
        x->message = dup_or_empty(rf->message);
        x->advice = dup_or_empty(rf->advice);
        snprintf(x->server, sizeof x->server, "%s", server);
        const char *sni = str_of(FSTATE(TLS, facts, sni), facts->sni);
        snprintf(x->sni, sizeof x->sni, "%s", sni ? sni : "");
        x->port = f->srv.port;
        x->first = t;
        copy_ladder(&x->lad, f, facts);
        HASH_ADD_KEYPTR(hh, r->inc, x->key, klen, x);
        r->ninc++;
    }
    x->n[col]++;
    if (t > x->last) x->last = t;
    add_client(x, incidents_client_of(f), t);
    if (x->nsamples < INCIDENT_SAMPLES) flow_community_id(f, x->samples[x->nsamples++]);
}

/* ------------------------------------------------------------ writing */

void report_escape(FILE *out, const char *s)
{
    if (!s) return;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
        }
    }
}

#define ESC(s) report_escape(out, s)

static const char report_css[] =
    "body{font:14px/1.4 'DejaVu Sans',sans-serif;margin:16px;color:#222;background:#fff}"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px;border-bottom:1px solid #ccc}"
    "h3{font-size:15px;margin:16px 0 4px}.meta{color:#555;font-size:12px}"
    "table{border-collapse:collapse;width:100%;font-size:12px}"
    "th,td{border:1px solid #ddd;padding:3px 5px;text-align:left;vertical-align:top}"
    "th{background:#f0f0f0}td.n{text-align:right}"
    ".sev{font-weight:bold;text-transform:uppercase;font-size:11px}"
    ".sev-critical .sev{color:#b00}.sev-high .sev{color:#d50}.sev-medium .sev{color:#a80}"
    ".sev-low .sev{color:#367}.sev-info .sev{color:#666}"
    ".cid{font-family:'DejaVu Sans Mono',monospace;font-size:10px;word-break:break-all;max-width:150px}"
    "td.msg{min-width:240px;max-width:360px}td.sni{max-width:180px;overflow-wrap:anywhere}"
    "td.msg{overflow-wrap:anywhere}td.sev,td.srv{white-space:nowrap}"
    ".charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #ddd;padding:6px}"
    ".chart h3{margin:0 0 4px;font-size:13px}.bar{fill:#4a7bb7}.fail .bar{fill:#c0504d}"
    ".chart text{font-size:11px;fill:#222}"
    ".filters{margin:8px 0}.filters input,.filters select{margin-right:8px}"
    ".detail{border:1px solid #ddd;padding:8px;margin:12px 0}"
    ".ladder text{font-size:12px;fill:#222}.ladder .t{fill:#777;font-size:11px}"
    ".ladder .life{stroke:#888;stroke-width:2}.ladder line.m{stroke-width:1.6}"
    ".from-client line.m{stroke:#2a62b0}.from-server line.m{stroke:#2b8a3e}"
    ".alert line.m{stroke:#c62828}.alert text{fill:#c62828;font-weight:bold}"
    ".close line.m{stroke:#777;stroke-dasharray:4 3}.sep{stroke:#a80;stroke-dasharray:6 4}"
    ".sep-l{fill:#a80;font-size:11px}"
    "dl.cert{display:grid;grid-template-columns:max-content auto;gap:2px 10px;font-size:12px}"
    "dl.cert dt{font-weight:bold}dl.cert dd{margin:0;word-break:break-all}"
    "#js-status{font-size:11px;color:#777}";

/* Filters the incident table (and the details) by text, severity and
 * rule; fills the rule list from the rows; a URL fragment
 * "#sev=high&rule=...&q=..." presets the filters. #js-status says it ran. */
static const char report_js[] =
    "(function(){"
    "var rows=document.querySelectorAll('#incidents tbody tr');"
    "var sel=document.getElementById('f-rule'),seen={};"
    "for(var i=0;i<rows.length;i++){var ru=rows[i].getAttribute('data-rule');"
    "if(!seen[ru]){seen[ru]=1;var o=document.createElement('option');o.value=ru;o.textContent=ru;sel.appendChild(o);}}"
    "function apply(){"
    "var q=document.getElementById('f-text').value.toLowerCase();"
    "var sv=document.getElementById('f-sev').value,rv=sel.value,shown=0;"
    "for(var i=0;i<rows.length;i++){var r=rows[i];"
    "var ok=(!sv||r.getAttribute('data-sev')===sv)&&(!rv||r.getAttribute('data-rule')===rv)"
    "&&(!q||r.textContent.toLowerCase().indexOf(q)>=0);"
    "r.style.display=ok?'':'none';if(ok)shown++;"
    "var d=document.getElementById('inc-'+r.getAttribute('data-id'));if(d)d.style.display=ok?'':'none';}"
    "document.getElementById('f-count').textContent=shown+' of '+rows.length+' incidents shown';}"
    "var hp=location.hash.replace(/^#/,'').split('&');"
    "for(var i=0;i<hp.length;i++){var kv=hp[i].split('='),v=decodeURIComponent(kv[1]||'');"
    "if(kv[0]==='q')document.getElementById('f-text').value=v;"
    "else if(kv[0]==='sev')document.getElementById('f-sev').value=v;"
    "else if(kv[0]==='rule')sel.value=v;}"
    "document.getElementById('f-text').addEventListener('input',apply);"
    "document.getElementById('f-sev').addEventListener('change',apply);"
    "sel.addEventListener('change',apply);apply();"
    "var st=document.getElementById('js-status');"
    "if(st.getAttribute('data-error')===null){st.setAttribute('data-ok','1');st.textContent='ok';}"
    "})();";

static const char report_onerror[] =
    "window.onerror=function(m){var s=document.getElementById('js-status');"
    "if(s){s.setAttribute('data-error',String(m));s.textContent='error: '+m;}};";

struct bar {
    const char *key;
    uint64_t n;
};

static int by_count(const void *a, const void *b)
{
    const struct bar *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->key, y->key);
}

static void write_chart(FILE *out, const struct report *r, int c, const bool col[REPORT_SLOTS])
{
    const struct chart *ch = &r->ch[c];
    struct bar *v = xcalloc(ch->n + 1, sizeof *v);
    size_t n = 0;
    for (const struct counter *e = ch->map; e; e = e->hh.next) {
        uint64_t s = wsum(e->n, col);
        if (s) v[n++] = (struct bar){ e->key, s };
    }
    qsort(v, n, sizeof *v, by_count);
    uint64_t other = wsum(ch->other, col);
    for (size_t i = CHART_BARS; i < n; i++) other += v[i].n;
    if (n > CHART_BARS) n = CHART_BARS;
    if (other) v[n++] = (struct bar){ "(other)", other };
    uint64_t max = 1;
    for (size_t i = 0; i < n; i++)
        if (v[i].n > max) max = v[i].n;
    const int lw = 230, bw = 180, rh = 18;
    int h = (int)(n ? n : 1) * rh + 4;
    fprintf(out, "<div class=\"chart%s\" id=\"chart-%d\"><h3>", c >= CH_SERVER ? " fail" : "", c);
    ESC(chart_title[c]);
    fprintf(out, "</h3><svg width=\"%d\" height=\"%d\" role=\"img\">", lw + bw + 60, h);
    if (!n) fprintf(out, "<text x=\"4\" y=\"14\">none</text>");
    for (size_t i = 0; i < n; i++) {
        int y = (int)i * rh + 2;
        int w = (int)((double)bw * (double)v[i].n / (double)max);
        fprintf(out, "<g class=\"row\" data-n=\"%llu\"><text x=\"%d\" y=\"%d\" text-anchor=\"end\">", (unsigned long long)v[i].n,
                lw - 4, y + 13);
        char lab[40];
        size_t kl = strlen(v[i].key);
        snprintf(lab, sizeof lab, "%.30s%s", v[i].key, kl > 30 ? "..." : "");
        ESC(lab);
        fprintf(out, "<title>");
        ESC(v[i].key);
        fprintf(out, "</title></text><rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>"
                     "<text x=\"%d\" y=\"%d\">%llu</text></g>",
                lw, y + 2, w > 1 ? w : 1, rh - 5, lw + (w > 1 ? w : 1) + 4, y + 13, (unsigned long long)v[i].n);
    }
    fprintf(out, "</svg></div>\n");
    free(v);
}

static void write_ladder(FILE *out, const struct ladder *l)
{
    const int W = 720, xc = 170, xs = 600, top = 46, rh = 26;
    int h = top + (l->n ? l->n : 1) * rh + 16;
    fprintf(out, "<svg class=\"ladder\" width=\"%d\" height=\"%d\" role=\"img\">", W, h);
    fprintf(out, "<text x=\"%d\" y=\"16\" text-anchor=\"middle\">client ", xc);
    ESC(l->client);
    fprintf(out, ":%u</text><text x=\"%d\" y=\"16\" text-anchor=\"middle\">server ", l->cport, xs);
    ESC(l->server);
    fprintf(out, ":%u</text>", l->sport);
    fprintf(out, "<line class=\"life\" x1=\"%d\" y1=\"24\" x2=\"%d\" y2=\"%d\"/>", xc, xc, h - 4);
    fprintf(out, "<line class=\"life\" x1=\"%d\" y1=\"24\" x2=\"%d\" y2=\"%d\"/>", xs, xs, h - 4);
    if (!l->n) fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no messages recorded</text>", (xc + xs) / 2, top);
    int hellos = 0;
    for (int i = 0; i < l->n; i++) {
        const struct lmsg *m = &l->m[i];
        int y = top + i * rh;
        bool cl = m->from == FACTS_CLIENT;
        bool alert = strcmp(m->type, "Alert") == 0;
        bool close = strcmp(m->type, "FIN") == 0 || strcmp(m->type, "RST") == 0;
        bool hello = strncmp(m->type, "ClientHello", 11) == 0 || strncmp(m->type, "HelloRequest", 12) == 0;
        if (hello && hellos++ > 0) {
            fprintf(out, "<line class=\"sep\" x1=\"10\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
                         "<text class=\"sep-l\" x=\"%d\" y=\"%d\">renegotiation</text>",
                    y - 15, W - 10, y - 15, xs + 8, y - 17);
        }
        fprintf(out, "<g class=\"msg from-%s%s%s\" data-type=\"", cl ? "client" : "server", alert ? " alert" : "",
                close ? " close" : "");
        ESC(m->type);
        fprintf(out, "\" data-from=\"%s\" data-ms=\"%.3f\">", cl ? "client" : "server", (double)m->ms);
        int x1 = cl ? xc : xs, x2 = cl ? xs : xc;
        fprintf(out, "<line class=\"m\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" marker-end=\"url(#ah-%s)\"/>", x1, y,
                x2 + (cl ? -2 : 2), y + 8, alert ? "a" : cl ? "c" : "s");
        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (xc + xs) / 2, y - 2);
        ESC(m->type);
        if (alert) {
            if (m->code >= 0) {
                char nb[64];
                fprintf(out, " ");
                ESC(facts_name(NT_ALERT, (uint16_t)m->code, nb, sizeof nb));
                fprintf(out, "(%d)", m->code);
            } else {
                fprintf(out, " (encrypted)");
            }
        }
        fprintf(out, "</text><text class=\"t\" x=\"8\" y=\"%d\">%.3f ms</text></g>", y + 6, (double)m->ms);
    }
    fprintf(out, "</svg>\n");
}

static void write_cert(FILE *out, const struct ladder *l)
{
    if (!l->cert) {
        fprintf(out, "<p class=\"meta\">no server certificate seen in the clear</p>\n");
        return;
    }
    static const char *const names[] = { "subject", "issuer", "not before", "not after", "SAN", "SHA-256" };
    const char *vals[] = { l->subject, l->issuer, l->not_before, l->not_after, l->san, l->sha256 };
    fprintf(out, "<dl class=\"cert\">");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!vals[i][0]) continue;
        fprintf(out, "<dt>%s</dt><dd>", names[i]);
        ESC(vals[i]);
        fprintf(out, "</dd>");
    }
    fprintf(out, "</dl>\n");
}

struct ranked {
    const struct rinc *x;
    uint64_t count, clients;
};

static int by_impact(const void *a, const void *b)
{
    const struct ranked *p = a, *q = b;
    struct incident_impact x = { p->x->sev, p->clients, p->count, p->x->id }, y = { q->x->sev, q->clients, q->count, q->x->id };
    return incidents_impact_cmp(&x, &y);
}

static void write_row(FILE *out, const struct ranked *k, size_t rank)
{
    const struct rinc *x = k->x;
    char a[40], b[40];
    fmt_time(x->first, a, sizeof a);
    fmt_time(x->last, b, sizeof b);
    fprintf(out, "<tr class=\"sev-");
    ESC(x->sev_name);
    fprintf(out, "\" data-id=\"%u\" data-sev=\"", x->id);
    ESC(x->sev_name);
    fprintf(out, "\" data-rule=\"");
    ESC(x->rule);
    /* the rank is the row's place; the number shown is the incident's
     * own, as its ladder section and the JSON events name it (and stable
     * across the rewrites of a live report) */
    fprintf(out, "\" data-count=\"%llu\" data-clients=\"%llu\" data-rank=\"%zu\"><td class=\"n\">%u</td><td class=\"sev\">",
            (unsigned long long)k->count, (unsigned long long)k->clients, rank, x->id);
    ESC(x->sev_name);
    fprintf(out, "</td><td>");
    ESC(x->rule);
    fprintf(out, "</td><td class=\"srv\">");
    ESC(x->server);
    fprintf(out, ":%u</td><td class=\"sni\">", x->port);
    ESC(x->sni);
    fprintf(out, "</td><td class=\"n count\">%llu</td><td class=\"n\">%llu%s</td><td>%s</td><td>%s</td>",
            (unsigned long long)k->count, (unsigned long long)k->clients, x->capped ? "+" : "", a, b);
    fprintf(out, "<td class=\"msg\">");
    ESC(x->message);
    fprintf(out, "<br><i>fix (");
    ESC(x->fix_side);
    fprintf(out, "):</i> ");
    ESC(x->advice);
    fprintf(out, "</td><td class=\"cid\">");
    for (int i = 0; i < x->nsamples; i++) {
        if (i) fprintf(out, "<br>");
        ESC(x->samples[i]);
    }
    fprintf(out, "</td><td><a href=\"#inc-%u\">ladder</a></td></tr>\n", x->id);
}

/* A certificate for an incident whose sample handshake showed none (a
 * renegotiation's facts do not repeat the first handshake's): the one of
 * another incident on the same server and name, or NULL. */
static const struct rinc *cert_elsewhere(const struct report *r, const struct rinc *x)
{
    for (const struct rinc *y = r->inc; y; y = y->hh.next)
        if (y != x && y->lad.cert && y->port == x->port && strcmp(y->server, x->server) == 0 &&
            strcmp(y->sni, x->sni) == 0)
            return y;
    return NULL;
}

static void write_detail(FILE *out, const struct report *r, const struct rinc *x)
{
    const struct ladder *l = &x->lad;
    fprintf(out, "<section class=\"detail\" id=\"inc-%u\" data-rule=\"", x->id);
    ESC(x->rule);
    fprintf(out, "\"><h3>#%u ", x->id);
    ESC(x->rule);
    fprintf(out, " &mdash; ");
    ESC(x->server);
    fprintf(out, ":%u", x->port);
    if (x->sni[0]) {
        fprintf(out, " sni=");
        ESC(x->sni);
    }
    fprintf(out, "</h3><p>");
    ESC(x->message);
    fprintf(out, "</p><p class=\"meta\">sample flow <span class=\"cid\">");
    ESC(l->cid);
    fprintf(out, "</span>: outcome ");
    ESC(l->outcome);
    fprintf(out, ", version ");
    ESC(l->version);
    fprintf(out, ", cipher ");
    ESC(l->cipher);
    fprintf(out, ", history ");
    ESC(l->history);
    fprintf(out, "</p>\n");
    write_ladder(out, l);
    const struct rinc *y = l->cert ? NULL : cert_elsewhere(r, x);
    if (y) fprintf(out, "<p class=\"meta\">server certificate from incident #%u (same server and name):</p>\n", y->id);
    write_cert(out, y ? &y->lad : l);
    fprintf(out, "</section>\n");
}

static void write_page(FILE *out, const struct report *r, double now)
{
    bool col[REPORT_SLOTS];
    window_cols(r, now, col);
    double cutoff = r->o.live ? now - r->o.window : -INFINITY;
    struct ranked *v = xcalloc(r->ninc + 1, sizeof *v);
    size_t n = 0;
    for (const struct rinc *x = r->inc; x; x = x->hh.next) {
        uint64_t c = wsum(x->n, col);
        if (!c) continue;
        uint64_t cl = 0;
        for (size_t i = 0; i < x->ncli; i++)
            if (x->cli[i].last >= cutoff) cl++;
        v[n++] = (struct ranked){ x, c, cl };
    }
    qsort(v, n, sizeof *v, by_impact);
    char gen[40];
    fmt_time(now, gen, sizeof gen);
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<title>tlswatch report</title><style>%s</style><script>%s</script></head><body>\n",
            report_css, report_onerror);
    fprintf(out, "<svg width=\"0\" height=\"0\" style=\"position:absolute\"><defs>");
    static const char *const mk[][2] = { { "c", "#2a62b0" }, { "s", "#2b8a3e" }, { "a", "#c62828" } };
    for (size_t i = 0; i < 3; i++)
        fprintf(out, "<marker id=\"ah-%s\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" "
                     "markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"%s\"/></marker>",
                mk[i][0], mk[i][1]);
    fprintf(out, "</defs></svg>\n<h1>tlswatch report</h1><p class=\"meta\">");
    ESC(r->source);
    if (r->o.live) fprintf(out, " &middot; the last %.0f s", r->o.window);
    fprintf(out, " &middot; generated at %s (capture time) &middot; %zu incidents%s</p>\n", gen, n,
            r->evicted ? " (the least recently seen forgotten beyond the table's size)" : "");
    fprintf(out, "<h2>Summary</h2><div class=\"charts\">\n");
    for (int c = 0; c < CH__N; c++) write_chart(out, r, c, col);
    fprintf(out, "</div>\n<h2>Incidents</h2><div class=\"filters\">"
                 "<input id=\"f-text\" type=\"search\" placeholder=\"filter text\">"
                 "<select id=\"f-sev\"><option value=\"\">all severities</option><option>critical</option>"
                 "<option>high</option><option>medium</option><option>low</option><option>info</option></select>"
                 "<select id=\"f-rule\"><option value=\"\">all rules</option></select>"
                 "<span id=\"f-count\"></span></div>\n"
                 "<table id=\"incidents\"><thead><tr><th title=\"incident number\">#</th><th>severity</th><th>rule</th><th>server</th>"
                 "<th>SNI</th><th>count</th><th>clients</th><th>first seen</th><th>last seen</th>"
                 "<th>message and advice</th><th>sample Community IDs</th><th></th></tr></thead><tbody>\n");
    for (size_t i = 0; i < n; i++) write_row(out, &v[i], i + 1);
    fprintf(out, "</tbody></table>\n<h2>Handshake ladders</h2>\n");
    for (size_t i = 0; i < n; i++) write_detail(out, r, v[i].x);
    fprintf(out, "<div id=\"js-status\" data-ok=\"0\">script not run</div>\n<script>%s</script>\n</body></html>\n",
            report_js);
    free(v);
}

int report_write(struct report *r, double now)
{
    if (!(now > 0)) now = r->last_t;
    FILE *out = fopen(r->tmp, "w");
    if (!out) {
        fprintf(stderr, "tlswatch: --report: %s: cannot write: %s\n", r->tmp, strerror(errno));
        return -1;
    }
    write_page(out, r, now);
    if (ferror(out) | fclose(out)) {
        fprintf(stderr, "tlswatch: --report: %s: write error\n", r->tmp);
        remove(r->tmp);
        return -1;
    }
    if (rename(r->tmp, r->o.path) != 0) {
        fprintf(stderr, "tlswatch: --report: cannot rename %s to %s: %s\n", r->tmp, r->o.path, strerror(errno));
        remove(r->tmp);
        return -1;
    }
    return 0;
}

/* Live: what left the window goes (chart keys, incidents), so the
 * tables hold what is current. */
static void prune(struct report *r, double now)
{
    bool col[REPORT_SLOTS];
    window_cols(r, now, col);
    for (int c = 0; c < CH__N; c++) {
        struct counter *e = r->ch[c].map;
        while (e) {
            struct counter *next = e->hh.next;
            if (!wsum(e->n, col)) {
                HASH_DEL(r->ch[c].map, e);
                free(e);
                r->ch[c].n--;
            }
            e = next;
        }
    }
    struct rinc *x = r->inc;
    while (x) {
        struct rinc *next = x->hh.next;
        if (!wsum(x->n, col) && x->last < now - r->o.window) {
            HASH_DEL(r->inc, x);
            rinc_free(x);
            r->ninc--;
        }
        x = next;
    }
}

void report_tick(struct report *r, double now)
{
    if (!r->o.live) return;
    if (r->next_write == 0) r->next_write = now + r->o.interval;
    if (now < r->next_write) return;
    r->next_write = now + r->o.interval;
    slot_of(r, now); /* the window moves on even without handshakes */
    prune(r, now);
    report_write(r, now);
}
