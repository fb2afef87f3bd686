/* The packet path: capture -> decode -> reassembly -> session -> rules ->
 * output, and the events it writes (tls, finding, flow, stats). Used by
 * main.c and by the whole-pipeline fuzz target. */
#include "pipeline.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "capture.h"
#include "certcheck.h"
#include "decode.h"
#include "flow.h"
#include "json.h"
#include "keylog.h"
#include "output.h"
#include "reassembly.h"
#include "rules.h"
#include "session.h"
#include "facts.h"

struct pipeline {
    struct pipeline_opts cfg;
    struct reasm *reasm;
    struct sessions *sessions;
    struct ruleset *rules;  /* borrowed */
    struct certcheck *cc;   /* borrowed, may be NULL */
    struct json pending;   /* finding lines of the handshake being reported */
    const struct flow *cur_flow;
    const tls_facts *cur_facts;
    uint64_t findings, findings_by_sev[5];
    struct decode_stats dstats;
    struct capture_stats cstats;
    struct json j;
    struct timeval first_ts, last_ts;
    double next_stats_at;
    int have_ts;
};

static volatile sig_atomic_t stats_requested;

void pipeline_request_stats(void) { stats_requested = 1; }

static void put(struct pipeline *a, const char *line, size_t len)
{
    if (a->cfg.write) a->cfg.write(a->cfg.write_ctx, line, len);
    else output_write(line, len);
}

/* The length of a text line snprintf'd into line[cap] (n from snprintf,
 * > 0): a line cut at its buffer still ends with a newline. */
static size_t line_len(char *line, size_t n, size_t cap)
{
    if (n >= cap) {
        n = cap - 1;
        line[n - 1] = '\n';
    }
    return n;
}

/* ------------------------------------------------------------- events */

static void emit(struct pipeline *a)
{
    json_end_line(&a->j);
    if (!a->j.oom) put(a, a->j.buf, a->j.len);
    json_reset(&a->j);
}

static void common_fields(struct json *j, const struct flow *f, const struct timeval *ts,
                          const char *event_type)
{
    char cip[64], sip[64];
    flow_addr_str(f, f->cli.addr, cip, sizeof cip);
    flow_addr_str(f, f->srv.addr, sip, sizeof sip);
    json_key(j, "timestamp");
    json_time(j, ts);
    json_kv_str(j, "event_type", event_type);
    json_kv_uint(j, "flow_id", f->id);
    char cid[COMMUNITY_ID_LEN];
    json_kv_str(j, "community_id", flow_community_id(f, cid));
    json_kv_str(j, "src_ip", cip);
    json_kv_uint(j, "src_port", f->cli.port);
    json_kv_str(j, "dest_ip", sip);
    json_kv_uint(j, "dest_port", f->srv.port);
    json_kv_str(j, "proto", "TCP");
}

static void emit_flow(struct pipeline *a, const struct flow *f)
{
    struct json *j = &a->j;
    json_obj_begin(j);
    common_fields(j, f, &f->first_ts, "flow");
    json_key(j, "flow");
    json_obj_begin(j);
    json_key(j, "start");
    json_time(j, &f->first_ts);
    json_key(j, "end");
    json_time(j, &f->last_ts);
    json_kv_uint(j, "pkts_toserver", f->pkts[DIR_TO_SERVER]);
    json_kv_uint(j, "pkts_toclient", f->pkts[DIR_TO_CLIENT]);
    json_kv_uint(j, "bytes_toserver", f->bytes[DIR_TO_SERVER]);
    json_kv_uint(j, "bytes_toclient", f->bytes[DIR_TO_CLIENT]);
    json_kv_uint(j, "payload_toserver", f->payload[DIR_TO_SERVER]);
    json_kv_uint(j, "payload_toclient", f->payload[DIR_TO_CLIENT]);
    json_kv_uint(j, "delivered_toserver", f->tcp[DIR_TO_SERVER].delivered);
    json_kv_uint(j, "delivered_toclient", f->tcp[DIR_TO_CLIENT].delivered);
    json_kv_uint(j, "missing_toserver", f->gaps[DIR_TO_SERVER]);
    json_kv_uint(j, "missing_toclient", f->gaps[DIR_TO_CLIENT]);
    json_kv_str(j, "end_reason", flow_end_name(f->end));
    json_kv_bool(j, "midstream", f->midstream);
    json_kv_bool(j, "role_guessed", f->role_guessed);
    json_kv_bool(j, "reassembled", f->nids_est);
    json_obj_end(j);
    json_obj_end(j);
    emit(a);
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void emit_stats_text(struct pipeline *a)
{
    const struct session_stats *ss = sessions_stats(a->sessions);
    const struct reasm_stats *rs = reasm_stats(a->reasm);
    char line[1024];
    int n = snprintf(line, sizeof line, "summary: %llu packets, %llu TCP connections, %llu TLS handshakes:",
                     (unsigned long long)a->cstats.packets, (unsigned long long)rs->flows_total,
                     (unsigned long long)ss->handshakes);
    for (int i = 0; i < OUT_COUNT && n > 0 && (size_t)n < sizeof line; i++)
        if (ss->by_outcome[i])
            n += snprintf(line + n, sizeof line - (size_t)n, " %s %llu", session_outcome_name(i),
                          (unsigned long long)ss->by_outcome[i]);
    if (n > 0 && (size_t)n < sizeof line - 1) {
        line[n++] = '\n';
        put(a, line, (size_t)n);
    }
}

static void emit_stats(struct pipeline *a, const struct timeval *ts)
{
    if (a->cfg.text) {
        emit_stats_text(a);
        return;
    }
    const struct reasm_stats *rs = reasm_stats(a->reasm);
    struct json *j = &a->j;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    json_obj_begin(j);
    json_key(j, "timestamp");
    json_time(j, ts);
    json_kv_str(j, "event_type", "stats");
    json_key(j, "stats");
    json_obj_begin(j);
    json_kv_uint(j, "packets", a->cstats.packets);
    json_kv_uint(j, "bytes", a->cstats.bytes);
    json_kv_uint(j, "kernel_dropped", a->cstats.kernel_drop);
    json_kv_uint(j, "interface_dropped", a->cstats.if_drop);
    json_key(j, "decode");
    json_obj_begin(j);
    json_kv_uint(j, "ip", a->dstats.ok);
    json_kv_uint(j, "not_ip", a->dstats.not_ip);
    json_kv_uint(j, "truncated", a->dstats.truncated);
    json_kv_uint(j, "bad_ip", a->dstats.bad_ip);
    json_kv_uint(j, "unsupported", a->dstats.unsupported);
    json_kv_uint(j, "vlan", a->dstats.vlan);
    json_kv_uint(j, "mpls", a->dstats.mpls);
    json_kv_uint(j, "pppoe", a->dstats.pppoe);
    json_obj_end(j);
    json_key(j, "tcp");
    json_obj_begin(j);
    json_kv_uint(j, "packets", rs->tcp_packets);
    json_kv_uint(j, "non_tcp", rs->non_tcp);
    json_kv_uint(j, "bad_header", rs->bad_tcp_header);
    json_kv_uint(j, "checksum_bad_dropped", rs->cksum_bad_dropped);
    json_kv_uint(j, "checksum_offloaded_accepted", rs->cksum_offloaded);
    json_kv_bool(j, "checksum_offload_detected", (int)rs->cksum_auto_off);
    if (rs->cksum_auto_off) json_kv_uint(j, "checksum_checks_stopped_at_tcp_packet", rs->cksum_auto_off_packet);
    json_kv_uint(j, "checksums_computed", rs->cksum_computed);
    json_kv_uint(j, "checksum_directions_offloaded", rs->cksum_dirs_offloaded);
    json_kv_uint(j, "checksum_directions_verified", rs->cksum_dirs_verified);
    json_kv_uint(j, "libnids_buffers_released", rs->nids_buffers_released);
    json_kv_uint(j, "snaplen_truncated", rs->snaplen_truncated);
    json_kv_uint(j, "ipv6_unsupported", rs->ipv6_unsupported_ext);
    json_kv_uint(j, "synthesized_handshakes", rs->synthesized_handshakes);
    json_kv_uint(j, "libnids_complaints", rs->nids_complaints);
    json_key(j, "libnids");
    json_obj_begin(j);
    for (int i = 0; i < 10; i++)
        if (rs->nids_warnings[i]) json_kv_uint(j, reasm_nids_warning_name(i), rs->nids_warnings[i]);
    json_obj_end(j);
    json_obj_end(j);
    json_key(j, "flows");
    json_obj_begin(j);
    json_kv_uint(j, "active", reasm_active_flows(a->reasm));
    json_kv_uint(j, "total", rs->flows_total);
    json_kv_uint(j, "expired", rs->flows_expired);
    json_kv_uint(j, "evicted", rs->flows_evicted);
    json_kv_uint(j, "reused", rs->flows_reused);
    json_kv_uint(j, "midstream", rs->flows_midstream);
    json_obj_end(j);
    const struct session_stats *ss = sessions_stats(a->sessions);
    json_key(j, "tls");
    json_obj_begin(j);
    json_kv_uint(j, "flows", ss->tls_flows);
    json_kv_uint(j, "starttls_flows", ss->starttls_flows);
    json_kv_uint(j, "not_tls_flows", ss->not_tls_flows);
    json_kv_uint(j, "handshakes", ss->handshakes);
    json_key(j, "outcomes");
    json_obj_begin(j);
    for (int i = 0; i < OUT_COUNT; i++) json_kv_uint(j, session_outcome_name(i), ss->by_outcome[i]);
    json_obj_end(j);
    json_kv_uint(j, "renegotiations_not_reported", ss->reneg_not_reported);
    json_obj_end(j);
    json_key(j, "findings");
    json_obj_begin(j);
    json_kv_uint(j, "total", a->findings);
    for (int i = 0; i < 5; i++) json_kv_uint(j, rules_severity_name((enum rule_severity)i), a->findings_by_sev[i]);
    if (a->rules) {
        json_kv_uint(j, "storm_keys", rules_storm_keys(a->rules));
        json_kv_uint(j, "storm_evictions", rules_storm_evictions(a->rules));
    }
    json_obj_end(j);
    if (a->cc) {
        const struct certcheck_stats *cs = certcheck_stats(a->cc);
        json_key(j, "certificates");
        json_obj_begin(j);
        json_kv_uint(j, "checks", cs->checks);
        json_kv_uint(j, "cache_hits", cs->cache_hits);
        json_kv_uint(j, "cache_misses", cs->cache_misses);
        json_kv_uint(j, "cache_evictions", cs->cache_evictions);
        json_obj_end(j);
    }
    json_key(j, "memory");
    json_obj_begin(j);
    json_kv_int(j, "rss_kib", rss_kib());
    json_kv_int(j, "max_rss_kib", ru.ru_maxrss);
    json_kv_uint(j, "tls_state_budget", ss->mem_budget);
    json_kv_uint(j, "tls_state_bytes", ss->mem_used);
    json_kv_uint(j, "tls_state_peak_bytes", ss->mem_peak);
    json_kv_uint(j, "tls_state_shed_flows", ss->shed_flows);
    json_kv_uint(j, "tls_buffers_refused", ss->mem_refused);
    json_obj_end(j);
    json_obj_end(j);
    json_obj_end(j);
    emit(a);
}

/* ---------------------------------------------------------- callbacks */

static int is_ok_outcome(const tls_facts *facts)
{
    int o = facts->outcome;
    return o == OUT_ESTABLISHED || o == OUT_RESUMED || o == OUT_RENEGOTIATED;
}

/* The time of a handshake's event: its first record (facts flow.time). */
static struct timeval event_time(const tls_facts *facts, const struct flow *f)
{
    if (FSTATE(FLOW, &facts->flow, time) != FACTS_VAL || FSTATE(TLS, facts, flow) != FACTS_VAL) return f->first_ts;
    double when = facts->flow.time;
    struct timeval tv = { (time_t)when, (suseconds_t)((when - (double)(time_t)when) * 1e6 + 0.5) };
    if (tv.tv_usec >= 1000000) {
        tv.tv_sec++;
        tv.tv_usec -= 1000000;
    }
    return tv;
}

static void emit_tls_json(struct pipeline *a, const struct flow *f, const tls_facts *facts)
{
    struct json *j = &a->j;
    struct timeval tv = event_time(facts, f);
    json_obj_begin(j);
    common_fields(j, f, &tv, "tls");
    json_key(j, "tls");
    json_obj_begin(j);
    /* "flow" is in the common fields */
    facts_write_members(&facts_type_TLS, facts, j, &facts_type_TLS.fields[FI_TLS_flow]);
    json_obj_end(j);
    json_obj_end(j);
    emit(a);
}

/* A string field of the facts as the text writer shows it ("-": none). */
static const char *fstr(const tls_facts *facts, int fi, char *buf, size_t n)
{
    struct facts_scratch sc;
    facts_scratch_reset(&sc);
    struct fval v;
    facts_get(&facts_type_TLS.fields[fi], facts, &v, &sc);
    snprintf(buf, n, "%s", v.k == FV_STR ? v.s : "-");
    return buf;
}

static void emit_tls_text(struct pipeline *a, const struct flow *f, const tls_facts *facts)
{
    char cip[64], sip[64], ts[48], line[1024], ver[32], sni[300], lab[40];
    flow_addr_str(f, f->cli.addr, cip, sizeof cip);
    flow_addr_str(f, f->srv.addr, sip, sizeof sip);
    struct timeval tv = event_time(facts, f);
    format_time_rfc3339(&tv, ts, sizeof ts);
    const struct facts_ALERT *last = facts->last_alert;
    bool have_la = last && FSTATE(ALERT, last, description) == FACTS_VAL;
    const char *la = have_la ? facts_name(NT_ALERT, last->description, lab, sizeof lab) : NULL;
    int n = snprintf(line, sizeof line, "%s %s%s%s:%u -> %s%s%s:%u %s %s sni=%s history=%s%s%s%s%s\n", ts,
                     f->key.family == 6 ? "[" : "", cip, f->key.family == 6 ? "]" : "", f->cli.port,
                     f->key.family == 6 ? "[" : "", sip, f->key.family == 6 ? "]" : "", f->srv.port,
                     session_outcome_name(facts->outcome), fstr(facts, FI_TLS_version, ver, sizeof ver),
                     fstr(facts, FI_TLS_sni, sni, sizeof sni), facts->history ? facts->history : "",
                     have_la ? " alert=" : "", have_la ? la : "", have_la ? " from " : "",
                     have_la ? facts_enum_name(EN_SIDE, last->from) : "");
    if (n > 0) put(a, line, line_len(line, (size_t)n, sizeof line));
}

static void pending_put(struct json *j, const char *s, size_t n)
{
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

static void finding_text(struct pipeline *a, const struct flow *f, const tls_facts *facts,
                         const struct rule_finding *r)
{
    char cip[64], sip[64], ts[48], up[16], line[4096], ver[32], sni[300];
    flow_addr_str(f, f->cli.addr, cip, sizeof cip);
    flow_addr_str(f, f->srv.addr, sip, sizeof sip);
    struct timeval tv = event_time(facts, f);
    format_time_rfc3339(&tv, ts, sizeof ts);
    size_t i = 0;
    for (; i < sizeof up - 1 && r->severity_name[i]; i++) {
        char ch = r->severity_name[i];
        up[i] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
    }
    up[i] = '\0';
    int n = snprintf(line, sizeof line, "%s %s%s%s:%u -> %s%s%s:%u %s %s (fix: %s) %s [%s sni=%s]\n", ts,
                     f->key.family == 6 ? "[" : "", cip, f->key.family == 6 ? "]" : "", f->cli.port,
                     f->key.family == 6 ? "[" : "", sip, f->key.family == 6 ? "]" : "", f->srv.port, up, r->rule,
                     r->fix_side ? r->fix_side : "-", r->message ? r->message : "",
                     fstr(facts, FI_TLS_version, ver, sizeof ver), fstr(facts, FI_TLS_sni, sni, sizeof sni));
    if (n > 0) pending_put(&a->pending, line, line_len(line, (size_t)n, sizeof line));
}

static void on_finding(void *ctx, const struct rule_finding *r)
{
    struct pipeline *a = ctx;
    a->findings++;
    if ((unsigned)r->severity < 5) a->findings_by_sev[r->severity]++;
    if (a->cfg.text) {
        finding_text(a, a->cur_flow, a->cur_facts, r);
        return;
    }
    struct json *j = &a->pending;
    struct timeval tv = event_time(a->cur_facts, a->cur_flow);
    j->depth = 0;
    j->after_key = 0;
    json_obj_begin(j);
    common_fields(j, a->cur_flow, &tv, "finding");
    json_key(j, "finding");
    json_obj_begin(j);
    json_kv_str(j, "rule", r->rule);
    json_kv_str(j, "severity", r->severity_name);
    json_kv_str(j, "category", r->category);
    json_kv_str(j, "confidence", r->confidence);
    json_kv_str(j, "message", r->message);
    json_kv_str(j, "fix_side", r->fix_side);
    json_kv_str(j, "advice", r->advice);
    json_kv_str(j, "evidence", r->evidence);
    json_obj_end(j);
    json_obj_end(j);
    json_end_line(j);
}

static void on_handshake(void *ctx, struct flow *f, const tls_facts *facts, const struct timeval *ts)
{
    struct pipeline *a = ctx;
    size_t n = 0;
    json_reset(&a->pending);
    if (a->rules) {
        /* threshold keys (client, server ip:port) come from the facts,
         * formatted only when a threshold rule's condition holds */
        struct rules_ctx rc = { (double)ts->tv_sec + (double)ts->tv_usec / 1e6, NULL, NULL, NULL, f->id };
        a->cur_flow = f;
        a->cur_facts = facts;
        n = rules_eval(a->rules, facts, &rc, on_finding, a);
    }
    if (a->cfg.all || n > 0 || (!a->rules && !is_ok_outcome(facts))) {
        if (a->cfg.text) emit_tls_text(a, f, facts);
        else emit_tls_json(a, f, facts);
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
    if (a->cfg.flows && !a->cfg.text) emit_flow(a, f);
}

static void maybe_stats(struct pipeline *a, const struct timeval *now)
{
    if (stats_requested) {
        stats_requested = 0;
        emit_stats(a, now);
    }
    if (a->cfg.stats_interval <= 0) return;
    double t = (double)now->tv_sec + (double)now->tv_usec / 1e6;
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

static void on_packet(void *ctx, const struct capture_pkt *p)
{
    struct pipeline *a = ctx;
    const struct timeval *ts = &p->hdr->ts;
    if (!a->have_ts) {
        a->first_ts = *ts;
        a->have_ts = 1;
    }
    a->last_ts = *ts;
    struct decoded_ip ip;
    if (decode_packet(p->dlt, p->data, p->hdr->caplen, &ip, &a->dstats) == DECODE_OK)
        reasm_packet(a->reasm, ts, &ip, p->hdr->len);
    sessions_tick(a->sessions, ts);
    maybe_stats(a, ts);
}

static void on_tick(void *ctx, const struct timeval *now)
{
    struct pipeline *a = ctx;
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
    json_init(&a->j);
    struct reasm_callbacks cb = { .ctx = a, .on_data = on_data, .on_tcp_event = on_tcp_event,
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
    if (cc) sessions_set_certcheck(a->sessions, cc);
    if (kl) sessions_set_keylog(a->sessions, kl);
    return a;
}

int pipeline_run(struct pipeline *p, const struct capture_opts *co)
{
    struct capture_cbs ccb = { .ctx = p, .packet = on_packet, .tick = on_tick };
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

void pipeline_finish(struct pipeline *p, int stats)
{
    reasm_finish(p->reasm);
    if (!stats) return;
    struct timeval end = p->last_ts;
    if (!p->have_ts) gettimeofday(&end, NULL);
    emit_stats(p, &end);
}

void pipeline_free(struct pipeline *p)
{
    if (!p) return;
    reasm_free(p->reasm);
    sessions_free(p->sessions);
    json_free(&p->j);
    json_free(&p->pending);
    free(p);
}
