/* The event writers (OUTPUT.md): tls, finding, flow and stats events as
 * JSON lines, and the text lines of -F text. They format what they
 * are given; which events are written, and where, is the pipeline's. */
#include "events.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "capture.h"
#include "certcheck.h"
#include "decode.h"
#include "output_kafka.h"
#include "reassembly.h"
#include "rules.h"
#include "session.h"

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

/* ------------------------------------------------------------- JSON */

/* "tunnel": the innermost tunnel the flow came through (decode.h), its
 * outer endpoints oriented like src/dest (client side first), its id when
 * it has one (VNI, GRE key, ERSPAN session), and how many tunnels were
 * nested when more than one. */
static void tunnel_json(struct json *j, const struct flow *f)
{
    const struct flow_tunnel *t = &f->tun;
    if (t->type == TUN_NONE) return;
    char a[64], b[64];
    int af = t->family == 6 ? AF_INET6 : AF_INET;
    if (!inet_ntop(af, t->outer_cli, a, sizeof a)) a[0] = '\0';
    if (!inet_ntop(af, t->outer_srv, b, sizeof b)) b[0] = '\0';
    json_key(j, "tunnel");
    json_obj_begin(j);
    json_kv_str(j, "type", decode_tunnel_name(t->type));
    json_kv_str(j, "outer_src_ip", a);
    json_kv_str(j, "outer_dest_ip", b);
    if (t->has_id) json_kv_uint(j, "id", t->id);
    if (t->depth > 1) json_kv_uint(j, "depth", t->depth);
    json_obj_end(j);
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
    tunnel_json(j, f);
}

void events_flow_json(struct json *j, const struct flow *f)
{
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
    json_kv_uint(j, "holes_toserver", f->holes[DIR_TO_SERVER]);
    json_kv_uint(j, "holes_toclient", f->holes[DIR_TO_CLIENT]);
    json_kv_uint(j, "records_resynced", f->records_resynced);
    json_kv_uint(j, "resync_skipped_bytes", f->resync_skipped);
    json_kv_str(j, "end_reason", flow_end_name(f->end));
    json_kv_bool(j, "midstream", f->midstream);
    json_kv_bool(j, "role_guessed", f->role_guessed);
    json_kv_bool(j, "reassembled", f->nids_est);
    json_obj_end(j);
    json_obj_end(j);
}

/* The time of a handshake's event: its first record (facts flow.time). */
static struct timeval event_time(const tls_facts *facts, const struct flow *f)
{
    if (FSTATE(FLOW, &facts->flow, time) != FACTS_VAL || FSTATE(TLS, facts, flow) != FACTS_VAL) return f->first_ts;
    return json_timeval_of(facts->flow.time);
}

void events_tls_json(struct json *j, const struct flow *f, const tls_facts *facts)
{
    struct timeval tv = event_time(facts, f);
    json_obj_begin(j);
    common_fields(j, f, &tv, "tls");
    json_key(j, "tls");
    json_obj_begin(j);
    /* "flow" is in the common fields */
    facts_write_members(&facts_type_TLS, facts, j, &facts_type_TLS.fields[FI_TLS_flow]);
    json_obj_end(j);
    json_obj_end(j);
}

/* A capture interval's facts (no flow): the interval's end. */
static struct timeval capture_time(const struct facts_CAPTURE *c)
{
    return json_timeval_of(c->start + c->seconds);
}

void events_finding_json(struct json *j, const struct flow *f, const tls_facts *facts,
                         const struct rule_finding *r)
{
    json_obj_begin(j);
    if (f) {
        struct timeval tv = event_time(facts, f);
        common_fields(j, f, &tv, "finding");
    } else { /* a finding about the capture itself (rules of category capture) */
        struct timeval tv = capture_time(facts->capture);
        json_key(j, "timestamp");
        json_time(j, &tv);
        json_kv_str(j, "event_type", "finding");
        json_key(j, "capture");
        json_obj_begin(j);
        facts_write_members(&facts_type_CAPTURE, facts->capture, j, NULL);
        json_obj_end(j);
    }
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

void events_stats_json(struct json *j, const struct timeval *ts, const struct events_stats *st)
{
    const struct reasm_stats *rs = st->reasm;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    json_obj_begin(j);
    json_key(j, "timestamp");
    json_time(j, ts);
    json_kv_str(j, "event_type", "stats");
    json_key(j, "stats");
    json_obj_begin(j);
    json_kv_uint(j, "packets", st->capture->packets);
    json_kv_uint(j, "bytes", st->capture->bytes);
    json_kv_uint(j, "kernel_dropped", st->capture->kernel_drop);
    json_kv_uint(j, "interface_dropped", st->capture->if_drop);
    json_key(j, "decode");
    json_obj_begin(j);
    json_kv_uint(j, "ip", st->decode->ok);
    json_kv_uint(j, "not_ip", st->decode->not_ip);
    json_kv_uint(j, "truncated", st->decode->truncated);
    json_kv_uint(j, "bad_ip", st->decode->bad_ip);
    json_kv_uint(j, "unsupported", st->decode->unsupported);
    json_kv_uint(j, "vlan", st->decode->vlan);
    json_kv_uint(j, "mpls", st->decode->mpls);
    json_kv_uint(j, "pppoe", st->decode->pppoe);
    json_kv_uint(j, "cmd", st->decode->cmd);
    for (int i = 1; i < TUN_COUNT; i++) json_kv_uint(j, decode_tunnel_name(i), st->decode->tunnel[i]);
    json_kv_uint(j, "tunnel_fallback", st->decode->tunnel_fallback);
    json_kv_uint(j, "tunnel_too_deep", st->decode->tunnel_too_deep);
    json_kv_uint(j, "tunnel_fragment", st->decode->tunnel_fragment);
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
    json_kv_uint(j, "ipv4_fast_path", rs->ip_fast);
    json_kv_uint(j, "bypassed_flows", rs->flows_bypassed);
    json_kv_uint(j, "libnids_table_full", rs->nids_table_full);
    json_kv_uint(j, "bypass_packets", rs->bypass_packets);
    json_kv_uint(j, "bypass_segments_held", rs->bypass_queued);
    json_kv_uint(j, "bypass_holes", rs->bypass_holes);
    json_kv_uint(j, "bypass_hole_bytes", rs->bypass_hole_bytes);
    json_kv_uint(j, "holes_acked_unseen", rs->holes_filled);
    json_kv_uint(j, "hole_bytes_acked_unseen", rs->hole_bytes_filled);
    json_kv_uint(j, "bypass_queue_full", rs->bypass_queue_full);
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
    json_kv_uint(j, "active", st->active_flows);
    json_kv_uint(j, "total", rs->flows_total);
    json_kv_uint(j, "expired", rs->flows_expired);
    json_kv_uint(j, "closed_released", rs->flows_closed_released);
    json_kv_uint(j, "evicted", rs->flows_evicted);
    json_kv_uint(j, "reused", rs->flows_reused);
    json_kv_uint(j, "midstream", rs->flows_midstream);
    json_obj_end(j);
    const struct session_stats *ss = st->sessions;
    json_key(j, "tls");
    json_obj_begin(j);
    json_kv_uint(j, "flows", ss->tls_flows);
    json_kv_uint(j, "starttls_flows", ss->starttls_flows);
    json_kv_uint(j, "openvpn_flows", ss->ovpn_flows);
    json_kv_uint(j, "not_tls_flows", ss->not_tls_flows);
    json_kv_uint(j, "handshakes", ss->handshakes);
    json_key(j, "outcomes");
    json_obj_begin(j);
    for (int i = 0; i < OUT_COUNT; i++) json_kv_uint(j, session_outcome_name(i), ss->by_outcome[i]);
    json_obj_end(j);
    json_kv_uint(j, "renegotiations_not_reported", ss->reneg_not_reported);
    json_kv_uint(j, "certificates_summarised", ss->certs_summarised);
    json_kv_uint(j, "certificates_from_cache", ss->certs_from_cache);
    json_kv_uint(j, "gaps", ss->gaps);
    json_kv_uint(j, "gap_bytes", ss->gap_bytes);
    json_kv_uint(j, "records_resynced", ss->records_resynced);
    json_kv_uint(j, "resync_skipped_bytes", ss->resync_skipped);
    json_kv_uint(j, "timeouts_passed", ss->timeouts_passed);
    json_kv_uint(j, "late_answers", ss->late_answers);
    json_kv_uint(j, "keylog_added", ss->keylog_added);
    json_obj_end(j);
    json_key(j, "findings");
    json_obj_begin(j);
    json_kv_uint(j, "total", st->findings);
    for (int i = 0; i < 5; i++) json_kv_uint(j, rules_severity_name((enum rule_severity)i), st->findings_by_sev[i]);
    if (st->rules) {
        json_kv_uint(j, "storm_keys", rules_storm_keys(st->rules));
        json_kv_uint(j, "storm_evictions", rules_storm_evictions(st->rules));
        json_kv_uint(j, "suppressed", rules_filtered(st->rules));
    }
    json_obj_end(j);
    if (st->certs) {
        const struct certcheck_stats *cs = st->certs;
        json_key(j, "certificates");
        json_obj_begin(j);
        json_kv_uint(j, "checks", cs->checks);
        json_kv_uint(j, "cache_hits", cs->cache_hits);
        json_kv_uint(j, "cache_misses", cs->cache_misses);
        json_kv_uint(j, "cache_evictions", cs->cache_evictions);
        json_kv_uint(j, "servers", cs->seen_entries);
        json_kv_uint(j, "server_evictions", cs->seen_evictions);
        json_obj_end(j);
    }
    if (st->kafka) {
        const struct output_kafka_stats *ks = st->kafka;
        json_key(j, "kafka");
        json_obj_begin(j);
        json_kv_uint(j, "produced", ks->produced);
        json_kv_uint(j, "delivered", ks->delivered);
        json_kv_uint(j, "failed", ks->failed);
        json_kv_uint(j, "dropped", ks->dropped);
        json_kv_uint(j, "errors", ks->errors);
        json_kv_uint(j, "queue", ks->queue);
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
}

/* ------------------------------------------------------------- text */

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

/* " tunnel=vxlan:42" (innermost tunnel, its id if any), or "". */
static void tunnel_text(const struct flow *f, char *buf, size_t n)
{
    buf[0] = '\0';
    if (f->tun.type == TUN_NONE) return;
    if (f->tun.has_id) snprintf(buf, n, " tunnel=%s:%u", decode_tunnel_name(f->tun.type), (unsigned)f->tun.id);
    else snprintf(buf, n, " tunnel=%s", decode_tunnel_name(f->tun.type));
}

void events_tls_text(const struct flow *f, const tls_facts *facts, events_put_fn put, void *ctx)
{
    char cip[64], sip[64], ts[48], line[1024], ver[32], sni[300], lab[40];
    flow_addr_str(f, f->cli.addr, cip, sizeof cip);
    flow_addr_str(f, f->srv.addr, sip, sizeof sip);
    struct timeval tv = event_time(facts, f);
    format_time_rfc3339(&tv, ts, sizeof ts);
    const struct facts_ALERT *last = facts->last_alert;
    bool have_la = last && FSTATE(ALERT, last, description) == FACTS_VAL;
    const char *la = have_la ? facts_name(NT_ALERT, last->description, lab, sizeof lab) : NULL;
    char tun[48];
    tunnel_text(f, tun, sizeof tun);
    int n = snprintf(line, sizeof line, "%s %s%s%s:%u -> %s%s%s:%u %s %s sni=%s history=%s%s%s%s%s%s\n", ts,
                     f->key.family == 6 ? "[" : "", cip, f->key.family == 6 ? "]" : "", f->cli.port,
                     f->key.family == 6 ? "[" : "", sip, f->key.family == 6 ? "]" : "", f->srv.port,
                     session_outcome_name(facts->outcome), fstr(facts, FI_TLS_version, ver, sizeof ver),
                     fstr(facts, FI_TLS_sni, sni, sizeof sni), facts->history ? facts->history : "",
                     have_la ? " alert=" : "", have_la ? la : "", have_la ? " from " : "",
                     have_la ? facts_enum_name(EN_SIDE, last->from) : "", tun);
    if (n > 0) put(ctx, line, line_len(line, (size_t)n, sizeof line));
}

void events_finding_text(const struct flow *f, const tls_facts *facts, const struct rule_finding *r,
                         events_put_fn put, void *ctx)
{
    char cip[64], sip[64], ts[48], up[16], line[4096], ver[32], sni[300];
    size_t i = 0;
    for (; i < sizeof up - 1 && r->severity_name[i]; i++) {
        char ch = r->severity_name[i];
        up[i] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
    }
    up[i] = '\0';
    if (!f) { /* about the capture itself */
        struct timeval ctv = capture_time(facts->capture);
        format_time_rfc3339(&ctv, ts, sizeof ts);
        int n = snprintf(line, sizeof line, "%s capture %s %s %s (fix: %s) %s\n", ts,
                         facts->capture->interface ? facts->capture->interface : "-", up, r->rule,
                         r->fix_side ? r->fix_side : "-", r->message ? r->message : "");
        if (n > 0) put(ctx, line, line_len(line, (size_t)n, sizeof line));
        return;
    }
    flow_addr_str(f, f->cli.addr, cip, sizeof cip);
    flow_addr_str(f, f->srv.addr, sip, sizeof sip);
    struct timeval tv = event_time(facts, f);
    format_time_rfc3339(&tv, ts, sizeof ts);
    int n = snprintf(line, sizeof line, "%s %s%s%s:%u -> %s%s%s:%u %s %s (fix: %s) %s [%s sni=%s]\n", ts,
                     f->key.family == 6 ? "[" : "", cip, f->key.family == 6 ? "]" : "", f->cli.port,
                     f->key.family == 6 ? "[" : "", sip, f->key.family == 6 ? "]" : "", f->srv.port, up, r->rule,
                     r->fix_side ? r->fix_side : "-", r->message ? r->message : "",
                     fstr(facts, FI_TLS_version, ver, sizeof ver), fstr(facts, FI_TLS_sni, sni, sizeof sni));
    if (n > 0) put(ctx, line, line_len(line, (size_t)n, sizeof line));
}

void events_stats_text(const struct events_stats *st, events_put_fn put, void *ctx)
{
    const struct session_stats *ss = st->sessions;
    const struct reasm_stats *rs = st->reasm;
    char line[1024];
    int n = snprintf(line, sizeof line, "summary: %llu packets, %llu TCP connections, %llu TLS handshakes:",
                     (unsigned long long)st->capture->packets, (unsigned long long)rs->flows_total,
                     (unsigned long long)ss->handshakes);
    for (int i = 0; i < OUT_COUNT && n > 0 && (size_t)n < sizeof line; i++)
        if (ss->by_outcome[i])
            n += snprintf(line + n, sizeof line - (size_t)n, " %s %llu", session_outcome_name(i),
                          (unsigned long long)ss->by_outcome[i]);
    if (n > 0 && (size_t)n < sizeof line - 1) {
        line[n++] = '\n';
        put(ctx, line, (size_t)n);
    }
}
