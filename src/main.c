/* tlswatch: command line, wiring of capture -> decode -> reassembly ->
 * (TLS layers) -> output, signals, statistics and exit codes. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "capture.h"
#include "certcheck.h"
#include "keylog.h"
#include "rules.h"
#include "decode.h"
#include "flow.h"
#include "json.h"
#include "output.h"
#include "reassembly.h"
#include "session.h"
#include "siphash.h"
#include "value.h"

#define TLSWATCH_VERSION "0.1.0"

struct config {
    const char **files;
    size_t nfiles;
    const char *iface;
    char *filter;
    const char *out_path;
    const char *user;
    int flows;          /* --flows: one record per TCP connection */
    int all;            /* --all: every handshake, not only problems */
    int text;           /* -F text */
    int quiet;
    int snaplen, promisc, buffer_mb;
    double stats_interval;
    struct reasm_opts ro;
    struct session_opts so;
    /* rules */
    const char **rule_paths, **params, **disabled;
    size_t nrule_paths, nparams, ndisabled;
    int check_rules, list_rules, list_format;
    int min_severity, fail_on;
    const char *ca_file, *ca_path;
    const char *keylog;
};

struct app {
    struct config cfg;
    struct reasm *reasm;
    struct sessions *sessions;
    struct ruleset *rules;
    struct certcheck *cc;
    struct keylog *kl;
    struct json pending;   /* finding lines of the handshake being reported */
    const struct flow *cur_flow;
    const struct value *cur_facts;
    uint64_t findings, findings_by_sev[5];
    struct decode_stats dstats;
    struct capture_stats cstats;
    struct json j;
    struct timeval first_ts, last_ts;
    double next_stats_at;
    int have_ts;
};

static volatile sig_atomic_t stats_requested;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: tlswatch -r FILE [-r FILE ...] [options] [BPF expression]\n"
        "       tlswatch -i IFACE [options] [BPF expression]\n"
        "\n"
        "Passive TLS handshake analyzer: reads packets, reassembles TCP, and reports\n"
        "each connection.\n"
        "\n"
        "sources:\n"
        "  -r FILE              read a pcap/pcapng file; repeat for several; - = stdin\n"
        "  -i IFACE             capture live until SIGINT/SIGTERM\n"
        "  -s, --snaplen N      live: bytes per packet (default 262144)\n"
        "  -B, --buffer-size MB live: kernel buffer size\n"
        "  -p, --no-promisc     live: don't put the interface in promiscuous mode\n"
        "  --user USER          drop privileges after opening the capture\n"
        "output:\n"
        "  -o FILE              append to FILE (SIGHUP reopens it)\n"
        "  -F json|text         output format (default json)\n"
        "  --all                a tls event for every handshake, not only problems\n"
        "  --flows              also one JSON line per TCP connection\n"
        "  --stats-interval S   a stats event every S seconds of capture time\n"
        "  -q                   no summary on stderr\n"
        "reassembly:\n"
        "  --checksums auto|on|off  TCP checksum policy (default auto: accept\n"
        "                       offloaded checksums, drop corrupt ones)\n"
        "  --max-flows N        connections tracked at once (default 65536)\n"
        "  --idle-timeout S     forget a connection idle for S seconds (default 300)\n"
        "rules:\n"
        "  --rules DIR|FILE     rule files (repeatable; default the installed rules/)\n"
        "  --check-rules        validate the rules and exit (file:line:col errors, exit 2)\n"
        "  --list-rules         list the rules and exit; --format text|markdown|json\n"
        "  --param NAME=VALUE   override a rule parameter (repeatable)\n"
        "  --disable RULE       turn a rule off (repeatable)\n"
        "  --min-severity S     report findings at or above S (info..critical)\n"
        "  --fail-on S          exit 3 when a finding at or above S was reported\n"
        "  --ca-file F, --ca-path D  trust store for chain validation (default: system)\n"
        "tls:\n"
        "  --handshake-timeout S  no server answer for S seconds is a timeout (default 10)\n"
        "  --keylog FILE        SSLKEYLOGFILE: read encrypted alerts, renegotiations and\n"
        "                       TLS 1.3 certificates exactly (AEAD suites)\n"
        "  --max-handshake-bytes N  largest handshake message reassembled (default 65536)\n"
        "other:\n"
        "  -V, --version        print the version\n"
        "  -h, --help           this help\n"
        "\n"
        "exit codes: 0 ok, 1 runtime error (bad file, capture failure), 2 usage or rule\n"
        "error, 3 findings at or above --fail-on\n");
}

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "tlswatch: %s: invalid value \"%s\" (expected %g..%g)\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* A keyword option: the index of arg in names (NULL-terminated), or -1 after
 * a usage message listing the choices. */
static int parse_choice(const char *opt, const char *arg, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(arg, names[i]) == 0) return i;
    fprintf(stderr, "tlswatch: %s: expected", opt);
    for (int i = 0; names[i]; i++)
        fprintf(stderr, "%s%s", i == 0 ? " " : names[i + 1] ? ", " : " or ", names[i]);
    fprintf(stderr, ", not \"%s\"\n", arg);
    return -1;
}

enum {
    OPT_FLOWS = 256, OPT_ALL, OPT_CHECKSUMS, OPT_MAX_FLOWS, OPT_IDLE, OPT_STATS, OPT_USER,
    OPT_HS_TIMEOUT, OPT_MAX_HS, OPT_RULES, OPT_CHECK_RULES, OPT_LIST_RULES, OPT_FORMAT, OPT_PARAM,
    OPT_DISABLE, OPT_MIN_SEV, OPT_FAIL_ON, OPT_CA_FILE, OPT_CA_PATH, OPT_KEYLOG,
};

static int parse_args(int argc, char **argv, struct config *c)
{
    static const struct option longopts[] = {
        { "flows", no_argument, NULL, OPT_FLOWS },
        { "all", no_argument, NULL, OPT_ALL },
        { "checksums", required_argument, NULL, OPT_CHECKSUMS },
        { "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
        { "idle-timeout", required_argument, NULL, OPT_IDLE },
        { "stats-interval", required_argument, NULL, OPT_STATS },
        { "user", required_argument, NULL, OPT_USER },
        { "handshake-timeout", required_argument, NULL, OPT_HS_TIMEOUT },
        { "max-handshake-bytes", required_argument, NULL, OPT_MAX_HS },
        { "rules", required_argument, NULL, OPT_RULES },
        { "check-rules", no_argument, NULL, OPT_CHECK_RULES },
        { "list-rules", no_argument, NULL, OPT_LIST_RULES },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "param", required_argument, NULL, OPT_PARAM },
        { "disable", required_argument, NULL, OPT_DISABLE },
        { "min-severity", required_argument, NULL, OPT_MIN_SEV },
        { "fail-on", required_argument, NULL, OPT_FAIL_ON },
        { "ca-file", required_argument, NULL, OPT_CA_FILE },
        { "ca-path", required_argument, NULL, OPT_CA_PATH },
        { "keylog", required_argument, NULL, OPT_KEYLOG },
        { "snaplen", required_argument, NULL, 's' },
        { "buffer-size", required_argument, NULL, 'B' },
        { "no-promisc", no_argument, NULL, 'p' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    double v;
    int ch;
    c->ro.checksums = CKSUM_AUTO;
    c->ro.max_flows = 65536;
    c->ro.idle_timeout = 300;
    c->promisc = 1;
    c->so.handshake_timeout = 10;
    c->so.max_handshake_bytes = 65536;
    c->files = calloc((size_t)argc, sizeof *c->files);
    c->rule_paths = calloc((size_t)argc, sizeof *c->rule_paths);
    c->params = calloc((size_t)argc, sizeof *c->params);
    c->disabled = calloc((size_t)argc, sizeof *c->disabled);
    if (!c->files || !c->rule_paths || !c->params || !c->disabled) return 1;
    c->min_severity = SEV_INFO;
    c->fail_on = -1;
    while ((ch = getopt_long(argc, argv, "+r:i:o:F:s:B:pqVh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'r': c->files[c->nfiles++] = optarg; break;
        case 'i': c->iface = optarg; break;
        case 'o': c->out_path = optarg; break;
        case 'F': {
            static const char *const formats[] = { "json", "text", NULL };
            int k = parse_choice("-F", optarg, formats);
            if (k < 0) return 2;
            c->text = k == 1;
            break;
        }
        case OPT_HS_TIMEOUT:
            if (parse_num("--handshake-timeout", optarg, 0.001, 86400, &v)) return 2;
            c->so.handshake_timeout = v;
            break;
        case OPT_MAX_HS:
            if (parse_num("--max-handshake-bytes", optarg, 1024, 16777216, &v)) return 2;
            c->so.max_handshake_bytes = (size_t)v;
            break;
        case 'q': c->quiet = 1; break;
        case 'p': c->promisc = 0; break;
        case 's':
            if (parse_num("--snaplen", optarg, 64, 262144, &v)) return 2;
            c->snaplen = (int)v;
            break;
        case 'B':
            if (parse_num("--buffer-size", optarg, 1, 4096, &v)) return 2;
            c->buffer_mb = (int)v;
            break;
        case OPT_FLOWS: c->flows = 1; break;
        case OPT_ALL: c->all = 1; break;
        case OPT_RULES: c->rule_paths[c->nrule_paths++] = optarg; break;
        case OPT_CHECK_RULES: c->check_rules = 1; break;
        case OPT_LIST_RULES: c->list_rules = 1; break;
        case OPT_FORMAT:
            c->list_format = rules_list_format_parse(optarg);
            if (c->list_format < 0) {
                fprintf(stderr, "tlswatch: --format: expected text, markdown or json, not \"%s\"\n", optarg);
                return 2;
            }
            break;
        case OPT_PARAM: c->params[c->nparams++] = optarg; break;
        case OPT_DISABLE: c->disabled[c->ndisabled++] = optarg; break;
        case OPT_MIN_SEV:
        case OPT_FAIL_ON: {
            int sev = rules_severity_parse(optarg);
            if (sev < 0) {
                fprintf(stderr, "tlswatch: %s: expected info, low, medium, high or critical, not \"%s\"\n",
                        ch == OPT_MIN_SEV ? "--min-severity" : "--fail-on", optarg);
                return 2;
            }
            if (ch == OPT_MIN_SEV) c->min_severity = sev;
            else c->fail_on = sev;
            break;
        }
        case OPT_CA_FILE: c->ca_file = optarg; break;
        case OPT_CA_PATH: c->ca_path = optarg; break;
        case OPT_KEYLOG: c->keylog = optarg; break;
        case OPT_CHECKSUMS: {
            /* same order as enum cksum_mode */
            static const char *const modes[] = { "auto", "on", "off", NULL };
            int k = parse_choice("--checksums", optarg, modes);
            if (k < 0) return 2;
            c->ro.checksums = (enum cksum_mode)k;
            break;
        }
        case OPT_MAX_FLOWS:
            if (parse_num("--max-flows", optarg, 1, 100000000, &v)) return 2;
            c->ro.max_flows = (size_t)v;
            break;
        case OPT_IDLE:
            if (parse_num("--idle-timeout", optarg, 0.001, 86400 * 30, &v)) return 2;
            c->ro.idle_timeout = v;
            break;
        case OPT_STATS:
            if (parse_num("--stats-interval", optarg, 0.001, 86400 * 30, &v)) return 2;
            c->stats_interval = v;
            break;
        case OPT_USER: c->user = optarg; break;
        case 'V': printf("tlswatch %s\n", TLSWATCH_VERSION); return -1;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return 2;
        }
    }
    if (c->check_rules || c->list_rules) return 0;
    if (!c->nfiles == !c->iface) {
        fprintf(stderr, "tlswatch: give either -r FILE or -i IFACE (see --help)\n");
        return 2;
    }
    /* trailing arguments form the BPF filter, as with tcpdump */
    size_t flen = 0;
    for (int i = optind; i < argc; i++) flen += strlen(argv[i]) + 1;
    if (flen) {
        c->filter = calloc(1, flen + 1);
        if (!c->filter) return 1;
        for (int i = optind; i < argc; i++) {
            if (i > optind) strncat(c->filter, " ", flen - strlen(c->filter));
            strncat(c->filter, argv[i], flen - strlen(c->filter));
        }
    }
    return 0;
}

/* ------------------------------------------------------------- events */

static void emit(struct app *a)
{
    json_end_line(&a->j);
    if (!a->j.oom) output_write(a->j.buf, a->j.len);
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
    json_kv_str(j, "community_id", f->community_id);
    json_kv_str(j, "src_ip", cip);
    json_kv_uint(j, "src_port", f->cli.port);
    json_kv_str(j, "dest_ip", sip);
    json_kv_uint(j, "dest_port", f->srv.port);
    json_kv_str(j, "proto", "TCP");
}

static void emit_flow(struct app *a, const struct flow *f)
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

static void emit_stats_text(struct app *a)
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
        output_write(line, (size_t)n);
    }
}

static void emit_stats(struct app *a, const struct timeval *ts)
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
    json_obj_end(j);
    json_key(j, "findings");
    json_obj_begin(j);
    json_kv_uint(j, "total", a->findings);
    for (int i = 0; i < 5; i++) json_kv_uint(j, rules_severity_name((enum rule_severity)i), a->findings_by_sev[i]);
    json_obj_end(j);
    json_key(j, "memory");
    json_obj_begin(j);
    json_kv_int(j, "rss_kib", rss_kib());
    json_kv_int(j, "max_rss_kib", ru.ru_maxrss);
    json_obj_end(j);
    json_obj_end(j);
    json_obj_end(j);
    emit(a);
}

/* ---------------------------------------------------------- callbacks */

static int is_ok_outcome(const char *o)
{
    return o && (strcmp(o, "established") == 0 || strcmp(o, "resumed") == 0 ||
                 strcmp(o, "renegotiated") == 0);
}

/* The time of a handshake's event: its first record (facts flow.time). */
static struct timeval event_time(const struct value *facts, const struct flow *f)
{
    const struct value *t = value_path(facts, "flow.time");
    if (!t || t->type != V_DOUBLE) return f->first_ts;
    double when = t->u.d;
    struct timeval tv = { (time_t)when, (suseconds_t)((when - (double)(time_t)when) * 1e6 + 0.5) };
    if (tv.tv_usec >= 1000000) {
        tv.tv_sec++;
        tv.tv_usec -= 1000000;
    }
    return tv;
}

static void emit_tls_json(struct app *a, const struct flow *f, const struct value *facts)
{
    struct json *j = &a->j;
    struct timeval tv = event_time(facts, f);
    json_obj_begin(j);
    common_fields(j, f, &tv, "tls");
    json_key(j, "tls");
    json_obj_begin(j);
    for (size_t i = 0; i < facts->u.obj.n; i++) {
        if (strcmp(facts->u.obj.keys[i], "flow") == 0) continue; /* in the common fields */
        json_key(j, facts->u.obj.keys[i]);
        value_to_json(facts->u.obj.vals[i], j);
    }
    json_obj_end(j);
    json_obj_end(j);
    emit(a);
}

static const char *vstr(const struct value *facts, const char *path)
{
    const struct value *v = value_path(facts, path);
    return v && v->type == V_STR ? v->u.str.s : NULL;
}

static void emit_tls_text(const struct flow *f, const struct value *facts)
{
    char cip[64], sip[64], ts[48], line[1024];
    flow_addr_str(f, f->cli.addr, cip, sizeof cip);
    flow_addr_str(f, f->srv.addr, sip, sizeof sip);
    struct timeval tv = event_time(facts, f);
    format_time_rfc3339(&tv, ts, sizeof ts);
    const char *la = vstr(facts, "last_alert.description");
    const char *lf = vstr(facts, "last_alert.from");
    int n = snprintf(line, sizeof line, "%s %s%s%s:%u -> %s%s%s:%u %s %s sni=%s history=%s%s%s%s%s\n", ts,
                     f->key.family == 6 ? "[" : "", cip, f->key.family == 6 ? "]" : "", f->cli.port,
                     f->key.family == 6 ? "[" : "", sip, f->key.family == 6 ? "]" : "", f->srv.port,
                     vstr(facts, "outcome"), vstr(facts, "version") ? vstr(facts, "version") : "-",
                     vstr(facts, "sni") ? vstr(facts, "sni") : "-", vstr(facts, "history"),
                     la ? " alert=" : "", la ? la : "", la ? " from " : "", la ? lf : "");
    if (n > 0) output_write(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
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

static void finding_text(struct app *a, const struct flow *f, const struct value *facts,
                         const struct rule_finding *r)
{
    char cip[64], sip[64], ts[48], up[16], line[4096];
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
                     vstr(facts, "version") ? vstr(facts, "version") : "-", vstr(facts, "sni") ? vstr(facts, "sni") : "-");
    if (n > 0) pending_put(&a->pending, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void on_finding(void *ctx, const struct rule_finding *r)
{
    struct app *a = ctx;
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

static void on_handshake(void *ctx, struct flow *f, struct value *facts, const struct timeval *ts)
{
    struct app *a = ctx;
    size_t n = 0;
    json_reset(&a->pending);
    if (a->rules) {
        char cip[64], sip[80], fid[32];
        flow_addr_str(f, f->cli.addr, cip, sizeof cip);
        flow_addr_str(f, f->srv.addr, sip, sizeof sip - 8);
        size_t l = strlen(sip);
        snprintf(sip + l, sizeof sip - l, ":%u", f->srv.port);
        snprintf(fid, sizeof fid, "%llu", (unsigned long long)f->id);
        struct rules_ctx rc = { (double)ts->tv_sec + (double)ts->tv_usec / 1e6, cip, fid, sip };
        a->cur_flow = f;
        a->cur_facts = facts;
        n = rules_eval(a->rules, facts, &rc, on_finding, a);
    }
    if (a->cfg.all || n > 0 || (!a->rules && !is_ok_outcome(vstr(facts, "outcome")))) {
        if (a->cfg.text) emit_tls_text(f, facts);
        else emit_tls_json(a, f, facts);
    }
    if (a->pending.len) output_write(a->pending.buf, a->pending.len);
    json_reset(&a->pending);
    value_free(facts);
}

static void on_data(void *ctx, struct flow *f, enum flow_dir dir, const uint8_t *data, size_t len,
                    const struct timeval *ts)
{
    struct app *a = ctx;
    session_on_data(a->sessions, f, dir, data, len, ts);
}

static void on_tcp_event(void *ctx, struct flow *f, enum flow_dir dir, enum reasm_tcp_event ev,
                         const struct timeval *ts)
{
    struct app *a = ctx;
    session_on_tcp_event(a->sessions, f, dir, ev, ts);
}

static int role_hint(void *ctx, const uint8_t *payload, size_t len)
{
    (void)ctx;
    return session_role_hint(payload, len);
}

static void on_end(void *ctx, struct flow *f)
{
    struct app *a = ctx;
    session_on_end(a->sessions, f);
    if (a->cfg.flows && !a->cfg.text) emit_flow(a, f);
}

static void maybe_stats(struct app *a, const struct timeval *now)
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
    struct app *a = ctx;
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
    struct app *a = ctx;
    reasm_expire(a->reasm, now);
    sessions_tick(a->sessions, now);
    maybe_stats(a, now);
}

static void on_signal(int sig)
{
    if (sig == SIGHUP) output_request_reopen();
    else if (sig == SIGUSR1) stats_requested = 1;
    else capture_request_stop();
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void summary(const struct app *a)
{
    const struct reasm_stats *rs = reasm_stats(a->reasm);
    fprintf(stderr,
            "tlswatch: %llu packets, %llu TCP connections (%llu picked up mid-stream), "
            "%llu checksum failures dropped, %llu offloaded checksums accepted, %llu libnids complaints\n",
            (unsigned long long)a->cstats.packets, (unsigned long long)rs->flows_total,
            (unsigned long long)rs->flows_midstream, (unsigned long long)rs->cksum_bad_dropped,
            (unsigned long long)rs->cksum_offloaded, (unsigned long long)rs->nids_complaints);
}

static void rule_error(void *ctx, const char *line)
{
    int *n = ctx;
    (*n)++;
    fprintf(stderr, "%s\n", line);
}

/* Loads the rules. Returns -1 to go on, or an exit code (list/check done,
 * or an error). */
static int setup_rules(struct app *a)
{
    struct config *c = &a->cfg;
    int errors = 0;
    a->rules = rules_new();
    if (!a->rules) return 1;
    if (c->nrule_paths == 0) {
        const char *d = rules_default_dir();
        if (rules_load(a->rules, d, rule_error, &errors) < 0 && !errors) errors++;
    }
    for (size_t i = 0; i < c->nrule_paths; i++)
        if (rules_load(a->rules, c->rule_paths[i], rule_error, &errors) < 0 && !errors) errors++;
    for (size_t i = 0; i < c->nparams; i++) {
        char err[256];
        if (rules_set_param(a->rules, c->params[i], err, sizeof err) != 0) {
            fprintf(stderr, "tlswatch: --param %s: %s\n", c->params[i], err);
            return 2;
        }
    }
    if (!errors) rules_finalize(a->rules, rule_error, &errors);
    for (size_t i = 0; i < c->ndisabled; i++) {
        if (rules_disable(a->rules, c->disabled[i]) != 0) {
            fprintf(stderr, "tlswatch: --disable %s: no such rule\n", c->disabled[i]);
            return 2;
        }
    }
    if (errors) {
        fprintf(stderr, "tlswatch: %d error(s) in the rules\n", errors);
        return 2;
    }
    if (c->check_rules) {
        fprintf(stderr, "tlswatch: %zu rules, no errors\n", rules_count(a->rules));
        return 0;
    }
    if (c->list_rules) {
        rules_list(a->rules, (enum rules_list_format)c->list_format, stdout);
        return 0;
    }
    rules_set_min_severity(a->rules, (enum rule_severity)c->min_severity);
    if (c->fail_on >= 0) rules_set_fail_on(a->rules, (enum rule_severity)c->fail_on);
    return -1;
}

int main(int argc, char **argv)
{
    static struct app a;
    int rc = parse_args(argc, argv, &a.cfg);
    if (rc) {
        free(a.cfg.files);
        free(a.cfg.filter);
        return rc < 0 ? 0 : rc;
    }
    if (siphash_key_init() != 0) {
        fprintf(stderr, "tlswatch: getrandom failed: %s\n", strerror(errno));
        return 1;
    }
    rc = setup_rules(&a);
    if (rc >= 0) {
        rules_free(a.rules);
        free(a.cfg.files);
        free(a.cfg.filter);
        free(a.cfg.rule_paths);
        free(a.cfg.params);
        free(a.cfg.disabled);
        return rc;
    }
    rc = 0;
    if (output_open(a.cfg.out_path) != 0) return 1;
    json_init(&a.j);
    struct reasm_callbacks cb = { .ctx = &a, .on_data = on_data, .on_tcp_event = on_tcp_event,
                                  .on_end = on_end, .role_hint = role_hint };
    a.reasm = reasm_new(&a.cfg.ro, &cb);
    if (!a.reasm) return 1;
    a.sessions = sessions_new(&a.cfg.so, a.reasm, on_handshake, &a);
    {
        char err[256] = "";
        struct certcheck_opts cko = { a.cfg.ca_file, a.cfg.ca_path, 0 };
        a.cc = certcheck_new(&cko, err, sizeof err);
        if (!a.cc) {
            fprintf(stderr, "tlswatch: trust store: %s\n", err);
            return 2;
        }
        sessions_set_certcheck(a.sessions, a.cc);
    }
    if (a.cfg.keylog) {
        char err[512] = "";
        a.kl = keylog_load(a.cfg.keylog, err, sizeof err);
        if (!a.kl) {
            fprintf(stderr, "tlswatch: %s\n", err);
            return 1;
        }
        sessions_set_keylog(a.sessions, a.kl);
    }
    install_signals();

    struct capture_opts co = {
        .files = a.cfg.files, .nfiles = a.cfg.nfiles, .iface = a.cfg.iface,
        .filter = a.cfg.filter, .snaplen = a.cfg.snaplen, .promisc = a.cfg.promisc,
        .buffer_mb = a.cfg.buffer_mb, .timeout_ms = 250, .user = a.cfg.user,
    };
    struct capture_cbs ccb = { .ctx = &a, .packet = on_packet, .tick = on_tick };
    rc = capture_run(&co, &ccb, &a.cstats);

    /* Decide on every exit path: flush every flow still open. */
    reasm_finish(a.reasm);
    struct timeval end = a.last_ts;
    if (!a.have_ts) gettimeofday(&end, NULL);
    if (rc != 2) emit_stats(&a, &end);
    if (!a.cfg.quiet && rc != 2) summary(&a);
    reasm_free(a.reasm);
    sessions_free(a.sessions);
    certcheck_free(a.cc);
    keylog_free(a.kl);
    if (!rc && a.rules && rules_failed(a.rules)) rc = 3;
    rules_free(a.rules);
    json_free(&a.j);
    json_free(&a.pending);
    free(a.cfg.rule_paths);
    free(a.cfg.params);
    free(a.cfg.disabled);
    output_close();
    free(a.cfg.files);
    free(a.cfg.filter);
    if (!rc && output_failed()) rc = 1;
    return rc;
}
