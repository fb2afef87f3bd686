/* The packet path: capture -> decode -> reassembly -> session -> rules ->
 * events, wired: which events are written (tls, finding, flow, stats) and
 * where their lines go; events.c formats them. Used by main.c and by the
 * whole-pipeline fuzz target. */
#include "pipeline.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "certcheck.h"
#include "decode.h"
#include "events.h"
#include "flow.h"
#include "json.h"
#include "incidents.h"
#include "keylog.h"
#include "output.h"
#include "output_kafka.h"
#include "pcapng.h"
#include "reassembly.h"
#include "report.h"
#include "rules.h"
#include "session.h"
#include "facts.h"

struct pipeline {
    struct pipeline_opts cfg;
    struct reasm *reasm;
    struct sessions *sessions;
    struct ruleset *rules;  /* borrowed */
    struct certcheck *cc;   /* borrowed, may be NULL */
    struct keylog *kl;      /* borrowed, may be NULL */
    struct json pending;   /* finding lines of the handshake being reported */
    const struct flow *cur_flow;
    const tls_facts *cur_facts;
    double cur_time;          /* capture time of the handshake being reported */
    struct incidents *inc;    /* --incidents / --summary, else NULL */
    struct report *rep;       /* --report, else NULL */
    double inc_next_tick;
    int in_handshake;         /* incident lines wait behind the handshake's lines */
    uint64_t findings, findings_by_sev[5];
    struct decode_stats dstats;
    struct capture_stats cstats;
    struct json j;
    struct timeval first_ts, last_ts;
    double next_stats_at;
    int have_ts;
    /* capture loss (live): the current interval and the last tick */
    const char *iface;
    double progress_at, progress_t0; /* monotonic: next line due, start */
    int progress_shown;
    double loss_start, last_tick;
    uint64_t loss_pkts0, loss_kdrop0, loss_idrop0, loss_flagged0, last_drops;
};

static volatile sig_atomic_t stats_requested, keylog_requested;

void pipeline_request_stats(void) { stats_requested = 1; }
void pipeline_request_keylog(void) { keylog_requested = 1; }

static void put(void *ctx, const char *line, size_t len)
{
    struct pipeline *a = ctx;
    if (a->cfg.write) a->cfg.write(a->cfg.write_ctx, line, len);
    else output_write(line, len);
}

/* ------------------------------------------------------------- events */

static void emit(struct pipeline *a)
{
    json_end_line(&a->j);
    if (!a->j.oom) put(a, a->j.buf, a->j.len);
    json_reset(&a->j);
}

static void emit_stats(struct pipeline *a, const struct timeval *ts)
{
    struct events_stats st = {
        .capture = &a->cstats,
        .decode = &a->dstats,
        .reasm = reasm_stats(a->reasm),
        .active_flows = reasm_active_flows(a->reasm),
        .sessions = sessions_stats(a->sessions),
        .findings = a->findings,
        .findings_by_sev = a->findings_by_sev,
        .rules = a->rules,
        .certs = a->cc ? certcheck_stats(a->cc) : NULL,
        .kafka = a->cfg.write ? NULL : output_kafka_stats(),
    };
    if (a->cfg.text) {
        events_stats_text(&st, put, a);
        return;
    }
    events_stats_json(&a->j, ts, &st);
    emit(a);
}

/* ---------------------------------------------------------- callbacks */

static int is_ok_outcome(const tls_facts *facts)
{
    int o = facts->outcome;
    return o == OUT_ESTABLISHED || o == OUT_RESUMED || o == OUT_RENEGOTIATED;
}

/* A text finding line joins the handshake's pending finding lines, which
 * are written after its tls event. */
static void pending_put(void *ctx, const char *s, size_t n)
{
    struct json *j = ctx;
    if (j->len + n + 1 > j->cap) {
        size_t nc = j->cap ? j->cap : 1024;
        while (nc < j->len + n + 1) nc *= 2;
        char *nb = realloc(j->buf, nc);
        if (!nb) return;
        j->buf = nb;
        j->cap = nc;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void on_finding(void *ctx, const struct rule_finding *r)
{
    struct pipeline *a = ctx;
    a->findings++;
    if ((unsigned)r->severity < 5) a->findings_by_sev[r->severity]++;
    if (a->cfg.text) {
        events_finding_text(a->cur_flow, a->cur_facts, r, pending_put, &a->pending);
    } else {
        struct json *j = &a->pending;
        j->depth = 0;
        j->after_key = 0;
        events_finding_json(j, a->cur_flow, a->cur_facts, r);
        json_end_line(j);
    }
    if (a->inc) incidents_add(a->inc, r, a->cur_flow, a->cur_facts, a->cur_time);
    if (a->rep) report_finding(a->rep, r, a->cur_flow, a->cur_facts, a->cur_time);
}

/* An incident line: behind the handshake's own lines while one is being
 * reported, else straight out. */
static void put_incident(void *ctx, const char *line, size_t len)
{
    struct pipeline *a = ctx;
    if (!a->cfg.incidents || a->cfg.text) return;
    if (a->in_handshake) pending_put(&a->pending, line, len);
    else put(a, line, len);
}

/* A capture or wall-clock time in seconds, as rules, incidents and the
 * report take it. */
static double secs(const struct timeval *tv) { return (double)tv->tv_sec + (double)tv->tv_usec / 1e6; }

/* Incidents move with capture time, checked once a second of it. */
static void incidents_clock(struct pipeline *a, const struct timeval *ts)
{
    if (!a->inc) return;
    double t = secs(ts);
    if (t < a->inc_next_tick) return;
    a->inc_next_tick = t + 1;
    incidents_tick(a->inc, t);
}

static void on_handshake(void *ctx, struct flow *f, const tls_facts *facts, const struct timeval *ts)
{
    struct pipeline *a = ctx;
    size_t n = 0;
    double t = secs(ts);
    json_reset(&a->pending);
    if (a->rules) {
        /* threshold keys (client, server ip:port) come from the facts,
         * formatted only when a threshold rule's condition holds */
        struct rules_ctx rc = { t, NULL, NULL, NULL, f->id };
        a->cur_flow = f;
        a->cur_facts = facts;
        a->cur_time = t;
        a->in_handshake = 1;
        n = rules_eval(a->rules, facts, &rc, on_finding, a);
        a->in_handshake = 0;
    }
    if (a->rep) report_handshake(a->rep, f, facts, t);
    if (a->cfg.all || n > 0 || (!a->rules && !is_ok_outcome(facts))) {
        if (a->cfg.text) {
            events_tls_text(f, facts, put, a);
        } else {
            events_tls_json(&a->j, f, facts);
            emit(a);
        }
    }
    if (a->pending.len) put(a, a->pending.buf, a->pending.len);
    json_reset(&a->pending);
}

static unsigned on_data(void *ctx, struct flow *f, enum flow_dir dir, const uint8_t *data, size_t len,
                        const struct timeval *ts)
{
    struct pipeline *a = ctx;
    return session_on_data(a->sessions, f, dir, data, len, ts);
}

static unsigned on_gap(void *ctx, struct flow *f, enum flow_dir dir, uint64_t n,
                       const struct timeval *ts)
{
    struct pipeline *a = ctx;
    return session_on_gap(a->sessions, f, dir, n, ts);
}

static void on_tcp_event(void *ctx, struct flow *f, enum flow_dir dir, enum reasm_tcp_event ev,
                         const struct timeval *ts)
{
    struct pipeline *a = ctx;
    session_on_tcp_event(a->sessions, f, dir, ev, ts);
}

static int role_hint(void *ctx, const uint8_t *payload, size_t len)
{
    (void)ctx;
    return session_role_hint(payload, len);
}

static void on_end(void *ctx, struct flow *f)
{
    struct pipeline *a = ctx;
    session_on_end(a->sessions, f);
    if (a->cfg.flows && !a->cfg.text) {
        events_flow_json(&a->j, f);
        emit(a);
    }
}

static void maybe_stats(struct pipeline *a, const struct timeval *now)
{
    if (stats_requested) {
        stats_requested = 0;
        emit_stats(a, now);
    }
    if (a->cfg.stats_interval <= 0) return;
    double t = secs(now);
    if (a->next_stats_at == 0) {
        a->next_stats_at = t + a->cfg.stats_interval;
        return;
    }
    if (t >= a->next_stats_at) {
        emit_stats(a, now);
        /* one event per interval, however long the gap in the capture */
        a->next_stats_at = t + a->cfg.stats_interval;
    }
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "\r" + one line, overwritten in place (a terminal), newline at the end. */
static void progress_line(struct pipeline *a, int last)
{
    double el = mono() - a->progress_t0;
    const struct session_stats *ss = sessions_stats(a->sessions);
    double mb = (double)a->cstats.bytes / 1e6;
    fprintf(stderr, "\r%s: %.1f MB, %llu packets, %llu handshakes, %llu findings, %.1f MB/s, %.0f packets/s%s",
            last ? "read" : "reading", mb, (unsigned long long)a->cstats.packets,
            (unsigned long long)ss->handshakes, (unsigned long long)a->findings, el > 0 ? mb / el : 0.0,
            el > 0 ? (double)a->cstats.packets / el : 0.0, last ? "\n" : "\033[K");
    a->progress_shown = 1;
}

static void on_packet(void *ctx, const struct capture_pkt *p)
{
    struct pipeline *a = ctx;
    /* a clock read per 4096 packets, a line twice a second */
    if (a->cfg.progress && (a->cstats.packets & 4095) == 0) {
        double t = mono();
        if (t >= a->progress_at) {
            a->progress_at = t + 0.5;
            progress_line(a, 0);
        }
    }
    const struct timeval *ts = &p->hdr->ts;
    if (!a->have_ts) {
        a->first_ts = *ts;
        a->have_ts = 1;
    }
    a->last_ts = *ts;
    /* timers that expired before this packet fire first: a server's answer
     * after --handshake-timeout arrives on a handshake already timed out */
    sessions_tick(a->sessions, ts);
    incidents_clock(a, ts);
    struct decoded_ip ip;
    if (decode_packet(p->dlt, p->data, p->hdr->caplen, &ip, &a->dstats) == DECODE_OK)
        reasm_packet(a->reasm, ts, &ip, p->hdr->len);
    maybe_stats(a, ts);
}

/* The end of a capture interval with drops: the rules of category
 * capture (rules/capture.rules) see its counts as "capture" facts. */
static void capture_interval_end(struct pipeline *a, double t)
{
    const struct capture_stats *cs = &a->cstats;
    uint64_t kd = cs->kernel_drop - a->loss_kdrop0, id = cs->if_drop - a->loss_idrop0;
    uint64_t pk = cs->packets - a->loss_pkts0;
    if ((kd || id) && a->rules) {
        struct facts_CAPTURE cf;
        memset(&cf, 0, sizeof cf);
        FALL(CAPTURE, &cf);
        cf.interface = a->iface ? a->iface : "-";
        cf.start = a->loss_start;
        cf.seconds = t - a->loss_start;
        cf.packets = (int64_t)pk;
        cf.kernel_dropped = (int64_t)kd;
        cf.interface_dropped = (int64_t)id;
        cf.dropped = (int64_t)(kd + id);
        cf.loss_pct = 100.0 * (double)(kd + id) / (double)(kd + id + pk);
        cf.handshakes = (int64_t)(sessions_capture_loss_flagged(a->sessions) - a->loss_flagged0);
        tls_facts *f = calloc(1, sizeof *f); /* once per lossy interval */
        if (f) {
            FSET(TLS, f, capture, &cf);
            struct rules_ctx rc = { t, NULL, NULL, NULL, 0 };
            json_reset(&a->pending);
            a->cur_flow = NULL;
            a->cur_facts = f;
            rules_eval(a->rules, f, &rc, on_finding, a);
            if (a->pending.len) put(a, a->pending.buf, a->pending.len);
            json_reset(&a->pending);
            a->cur_facts = NULL;
            free(f);
        }
    }
    a->loss_start = t;
    a->loss_pkts0 = cs->packets;
    a->loss_kdrop0 = cs->kernel_drop;
    a->loss_idrop0 = cs->if_drop;
    a->loss_flagged0 = sessions_capture_loss_flagged(a->sessions);
}

/* Live, once a second (after the capture's statistics were read): a tick
 * that sees new drops marks the span since the last tick, so the
 * handshakes alive then say capture_loss; every capture_loss_interval the
 * interval's counts go to the capture rules. */
static void capture_loss_tick(struct pipeline *a, const struct timeval *now)
{
    double t = secs(now);
    uint64_t drops = a->cstats.kernel_drop + a->cstats.if_drop;
    if (a->loss_start == 0) {
        a->loss_start = a->last_tick = t;
        a->loss_pkts0 = a->cstats.packets;
        a->loss_kdrop0 = a->cstats.kernel_drop;
        a->loss_idrop0 = a->cstats.if_drop;
        a->last_drops = drops;
        return;
    }
    if (drops > a->last_drops) sessions_note_capture_loss(a->sessions, a->last_tick, t);
    a->last_drops = drops;
    a->last_tick = t;
    double iv = a->rules ? rules_param(a->rules, "capture_loss_interval") : 0;
    if (!(iv > 0)) iv = 10;
    if (t - a->loss_start >= iv) capture_interval_end(a, t);
}

static void on_tick(void *ctx, const struct timeval *now)
{
    struct pipeline *a = ctx;
    capture_loss_tick(a, now);
    incidents_clock(a, now);
    if (a->rep) report_tick(a->rep, secs(now));
    int hup = keylog_requested;
    keylog_requested = 0;
    if (a->kl && (a->cfg.so.keylog_follow || hup))
        /* live: what the key log gained (one stat() when nothing); SIGHUP
         * forces it, for a file replaced by rotation */
        sessions_keylog_added(a->sessions, keylog_refresh(a->kl));
    if (hup && a->cfg.on_hup) a->cfg.on_hup(a->cfg.on_hup_ctx);
    reasm_expire(a->reasm, now);
    sessions_tick(a->sessions, now);
    maybe_stats(a, now);
    output_tick();
}

void pipeline_summary(const struct pipeline *a, FILE *f)
{
    const struct reasm_stats *rs = reasm_stats(a->reasm);
    fprintf(f,
            "tlswatch: %llu packets, %llu TCP connections (%llu picked up mid-stream), "
            "%llu checksum failures dropped, %llu offloaded checksums accepted, %llu libnids complaints\n",
            (unsigned long long)a->cstats.packets, (unsigned long long)rs->flows_total,
            (unsigned long long)rs->flows_midstream, (unsigned long long)rs->cksum_bad_dropped,
            (unsigned long long)rs->cksum_offloaded, (unsigned long long)rs->nids_complaints);
}

struct pipeline *pipeline_new(const struct pipeline_opts *o, struct ruleset *rules,
                              struct certcheck *cc, struct keylog *kl)
{
    struct pipeline *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->cfg = *o;
    a->rules = rules;
    if (o->report) a->cfg.so.message_log = true; /* the ladders' messages */
    json_init(&a->j);
    struct reasm_callbacks cb = { .ctx = a, .on_data = on_data, .on_gap = on_gap, .on_tcp_event = on_tcp_event,
                                  .on_end = on_end, .role_hint = role_hint };
    a->reasm = reasm_new(&a->cfg.ro, &cb);
    if (!a->reasm) {
        pipeline_free(a);
        return NULL;
    }
    a->sessions = sessions_new(&a->cfg.so, on_handshake, a);
    if (!a->sessions) {
        fprintf(stderr, "tlswatch: cannot initialise the session layer\n");
        pipeline_free(a);
        return NULL;
    }
    a->cc = cc;
    if (a->cfg.incidents || a->cfg.summary)
        a->inc = incidents_new(a->cfg.incident_update, a->cfg.incident_quiet, put_incident, a);
    if (o->report) {
        struct report_opts ro = { .path = o->report, .live = 0, .interval = o->report_interval,
                                  .window = o->report_window, .source = o->report_source };
        a->rep = report_new(&ro);
    }
    if (cc) sessions_set_certcheck(a->sessions, cc);
    if (kl) sessions_set_keylog(a->sessions, kl);
    a->kl = kl;
    return a;
}

int pipeline_run(struct pipeline *p, const struct capture_opts *co)
{
    struct capture_cbs ccb = { .ctx = p, .packet = on_packet, .tick = on_tick };
    p->iface = co->iface;
    if (p->rep && co->iface) report_set_live(p->rep);
    if (co->iface) p->cfg.progress = 0; /* file reads only */
    p->progress_t0 = mono();
    p->progress_at = p->progress_t0 + 0.5;
    return capture_run(co, &ccb, &p->cstats);
}

void pipeline_packet(struct pipeline *p, const struct capture_pkt *pkt)
{
    on_packet(p, pkt);
}

int pipeline_run_pcap(struct pipeline *p, pcap_t *pc, char *err, size_t errlen)
{
    int dlt = pcap_datalink(pc);
    if (!decode_link_supported(dlt)) {
        if (err && errlen) snprintf(err, errlen, "unsupported link type %d (%s)", dlt, decode_link_name(dlt));
        return 1;
    }
    uint64_t n = 0;
    struct pcap_pkthdr *h;
    const u_char *data;
    int r;
    while ((r = pcap_next_ex(pc, &h, &data)) >= 0) {
        if (r == 0) continue;
        n++;
        p->cstats.packets++;
        p->cstats.bytes += h->len;
        struct capture_pkt cp = { h, data, dlt, "(pcap)", n };
        on_packet(p, &cp);
    }
    if (r == PCAP_ERROR) {
        if (err && errlen)
            snprintf(err, errlen, "packet %llu: read error: %s", (unsigned long long)(n + 1), pcap_geterr(pc));
        return 1;
    }
    return 0;
}

int pipeline_run_pcapng(struct pipeline *p, struct pcapng *r, char *err, size_t errlen)
{
    uint64_t n = 0;
    int res, supported = 0;
    struct pcapng_pkt pk;
    while ((res = pcapng_next(r, &pk)) > 0) {
        if (res == PCAPNG_IFACE) {
            supported |= decode_link_supported(pk.dlt);
            continue;
        }
        n++;
        p->cstats.packets++;
        p->cstats.bytes += pk.hdr.len;
        struct capture_pkt cp = { &pk.hdr, pk.data, pk.dlt, "(pcapng)", n };
        on_packet(p, &cp);
    }
    if (res == PCAPNG_ERROR || !supported) {
        if (err && errlen) {
            if (res == PCAPNG_ERROR)
                snprintf(err, errlen, "packet %llu: read error: %s", (unsigned long long)(n + 1), pcapng_error(r));
            else
                snprintf(err, errlen, "no interface with a supported link type");
        }
        return 1;
    }
    return 0;
}

void pipeline_finish(struct pipeline *p, int stats)
{
    /* the last line stays: always when asked for (--progress on), after
     * progress was shown otherwise */
    if (p->cfg.progress && !p->iface && (p->cfg.progress > 1 || p->progress_shown)) progress_line(p, 1);
    if (p->loss_start > 0) { /* live: drops since the last tick, then the last interval */
        struct timeval now;
        gettimeofday(&now, NULL);
        capture_loss_tick(p, &now);
        double t = secs(&now);
        if (p->loss_start < t) capture_interval_end(p, t);
    }
    reasm_finish(p->reasm);
    if (p->inc || p->rep) {
        /* incidents close and the report is written at the capture's last
         * packet (a file), or now (live, or nothing read) */
        struct timeval end = p->last_ts;
        if (!p->have_ts || p->iface) gettimeofday(&end, NULL);
        if (p->inc) {
            incidents_finish(p->inc, secs(&end));
            if (p->cfg.summary) incidents_summary(p->inc, stderr);
        }
        if (p->rep) report_write(p->rep, secs(&end));
    }
    if (!stats) return;
    struct timeval end = p->last_ts;
    if (!p->have_ts) gettimeofday(&end, NULL);
    /* the final stats event counts every line before it as delivered or not */
    if (!p->cfg.write) output_kafka_flush();
    emit_stats(p, &end);
}

void pipeline_free(struct pipeline *p)
{
    if (!p) return;
    reasm_free(p->reasm);
    sessions_free(p->sessions);
    incidents_free(p->inc);
    report_free(p->rep);
    json_free(&p->j);
    json_free(&p->pending);
    free(p);
}
