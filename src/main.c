/* tlswatch: command line, rules and trust store set-up, signals and exit
 * codes. The packet path itself (capture -> decode -> reassembly -> session
 * -> rules -> output) is wired in pipeline.c. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
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
#include "suppress.h"
#include "workers.h"
#include "xalloc.h"
#include "output.h"
#include "output_kafka.h"
#include "output_syslog.h"
#include "pipeline.h"
#include "signals.h"
#include "reassembly.h"
#include "rules.h"
#include "session.h"
#include "siphash.h"

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
    int workers;        /* --workers N: N capture processes (fanout) */
    int progress;       /* --progress: -1 auto (stderr a terminal), 0 off, 1 on */
    double stats_interval;
    struct reasm_opts ro;
    struct session_opts so;
    /* rules */
    const char **rule_paths, **params, **disabled;
    size_t nrule_paths, nparams, ndisabled;
    int check_rules, list_rules, list_format;
    int min_severity, fail_on;
    const char *ca_file, *ca_path;
    size_t max_cert_servers; /* --max-cert-servers; 0: certcheck's default */
    const char *keylog;
    const char *suppress;  /* --suppress FILE */
    int incidents, summary;
    double incident_update, incident_quiet;
    const char *report;           /* --report FILE.html */
    double report_interval, report_window;
    int syslog, syslog_facility; /* --syslog, --syslog-facility */
    const char *syslog_socket;    /* --syslog-socket */
    struct output_kafka_opts kafka; /* --kafka-*: brokers NULL = no Kafka */
    const char **kafka_confs;
    int kafka_other;              /* a --kafka-* option other than --kafka-brokers */
};

struct app {
    struct config cfg;
    struct ruleset *rules;
    struct certcheck *cc;
    struct keylog *kl;
    struct pipeline *pl;
    struct suppress *sup;
};

static int suppress_filter(void *ctx, const char *rule, const tls_facts *facts, double now)
{
    struct app *a = ctx;
    return suppress_match(a->sup, rule, facts, now);
}

/* SIGHUP (live): the suppression file again; on an error the old entries stay. */
static void suppress_reload(void *ctx)
{
    struct app *a = ctx;
    if (!a->cfg.suppress) return;
    char err[512] = "";
    struct suppress *n = suppress_load(a->cfg.suppress, err, sizeof err);
    if (!n) {
        fprintf(stderr, "tlswatch: %s (keeping the previous suppressions)\n", err);
        return;
    }
    suppress_free(a->sup);
    a->sup = n;
    fprintf(stderr, "tlswatch: %s: %zu suppressions re-read\n", a->cfg.suppress, suppress_entries(n));
}

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
        "  --workers N          live: N capture processes sharing the interface by flow\n"
        "                       hash (PACKET_FANOUT); one output, stats summed\n"
        "output:\n"
        "  -o FILE              append to FILE (SIGHUP reopens it)\n"
        "  -F json|text         output format (default json)\n"
        "  --all                a tls event for every handshake, not only problems\n"
        "  --flows              also one JSON line per TCP connection\n"
        "  --incidents          also incident events: findings grouped by rule, server, SNI\n"
        "                       and evidence (opened, updated, closed)\n"
        "  --incident-update S  an updated event at most every S s of capture time (60)\n"
        "  --incident-quiet S   closed after S s without a finding (300)\n"
        "  --summary            at the end, the ranked incident table on stderr\n"
        "  --report FILE.html   a self-contained HTML report: incidents, handshake\n"
        "                       ladders, certificates, charts (file: at the end)\n"
        "  --report-interval S  live: rewrite the report every S seconds (60)\n"
        "  --report-window S    live: the report covers the last S seconds (3600)\n"
        "  --stats-interval S   a stats event every S seconds of capture time\n"
        "  --syslog             also send each event line to syslog (RFC 5424, /dev/log)\n"
        "  --syslog-facility F  daemon (default), user or local0..local7\n"
        "  --syslog-socket PATH syslog's AF_UNIX datagram socket (default /dev/log;\n"
        "                       implies --syslog)\n"
        "  --kafka-brokers LIST also produce each event line to Kafka (host:port,...)\n"
        "  --kafka-topic NAME   the topic (default tlswatch)\n"
        "  --kafka-opt KEY=VALUE  a librdkafka property (repeatable), e.g.\n"
        "                       security.protocol=ssl, compression.codec=zstd\n"
        "  --kafka-flush-timeout S  at exit, wait at most S seconds for Kafka to\n"
        "                       acknowledge what is queued (default 10)\n"
        "  -q                   no summary on stderr\n"
        "  --progress auto|on|off  file reads: a progress line on stderr (default auto:\n"
        "                       when stderr is a terminal and not -q)\n"
        "reassembly:\n"
        "  --checksums auto|on|off  TCP checksum policy (default auto: accept\n"
        "                       offloaded checksums, drop corrupt ones)\n"
        "  --bypass on|off      once a handshake is over (no key log for it), follow\n"
        "                       the connection by record headers outside libnids\n"
        "                       (default on)\n"
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
        "  --suppress FILE      drop the findings its entries name (rule, server, SNI glob,\n"
        "                       certificate, client network; expiry, for=, reason);\n"
        "                       re-read on SIGHUP\n"
        "  --ca-file F, --ca-path D  trust store for chain validation (default: system)\n"
        "  --max-cert-servers N  servers whose certificate is remembered for\n"
        "                       certificate-changed; least recently seen forgotten\n"
        "                       beyond N (default 65536)\n"
        "tls:\n"
        "  --handshake-timeout S  no server answer for S seconds is a timeout (default 10)\n"
        "  --keylog FILE        SSLKEYLOGFILE: read encrypted alerts, renegotiations and\n"
        "                       TLS 1.3 certificates exactly; live, followed as it grows\n"
        "                       (may appear later; rotation and SIGHUP re-read it)\n"
        "  --max-handshake-bytes N  largest handshake message reassembled (default 65536)\n"
        "  --max-memory N[KMG]  budget for TLS connection state; the least recently active\n"
        "                       connections are shed beyond it (default 256M)\n"
        "other:\n"
        "  -V, --version        print the version\n"
        "  -h, --help           this help\n"
        "\n"
        "exit codes: 0 ok, 1 runtime error (bad file, capture failure), 2 usage or rule\n"
        "error, 3 findings at or above --fail-on; an event that did not reach Kafka\n"
        "makes a run that would exit 0 exit 1\n");
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

/* A byte count with an optional K, M or G suffix (powers of 1024). */
static int parse_size(const char *opt, const char *s, double lo, double hi, double *out)
{
    char buf[64];
    size_t n = strlen(s);
    double mul = 1;
    if (n > 0 && n < sizeof buf && strchr("kKmMgG", s[n - 1])) {
        char u = (char)(s[n - 1] | 0x20);
        mul = u == 'k' ? 1024.0 : u == 'm' ? 1048576.0 : 1073741824.0;
        memcpy(buf, s, n - 1);
        buf[n - 1] = '\0';
        s = buf;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end) * mul;
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "tlswatch: %s: invalid size \"%s\" (expected %gK..%gG)\n", opt, s, lo / 1024, hi / 1073741824.0);
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
    OPT_FLOWS = 256, OPT_ALL, OPT_CHECKSUMS, OPT_BYPASS, OPT_MAX_FLOWS, OPT_IDLE, OPT_STATS, OPT_USER,
    OPT_HS_TIMEOUT, OPT_MAX_HS, OPT_MAX_MEMORY, OPT_MAX_CERT_SERVERS, OPT_RULES, OPT_CHECK_RULES, OPT_LIST_RULES, OPT_FORMAT, OPT_PARAM,
    OPT_DISABLE, OPT_MIN_SEV, OPT_FAIL_ON, OPT_CA_FILE, OPT_CA_PATH, OPT_KEYLOG,
    OPT_SYSLOG, OPT_SYSLOG_FACILITY, OPT_SYSLOG_SOCKET, OPT_WORKERS, OPT_PROGRESS, OPT_SUPPRESS,
    OPT_INCIDENTS, OPT_INCIDENT_UPDATE, OPT_INCIDENT_QUIET, OPT_SUMMARY,
    OPT_REPORT, OPT_REPORT_INTERVAL, OPT_REPORT_WINDOW,
    OPT_KAFKA_BROKERS, OPT_KAFKA_TOPIC, OPT_KAFKA_OPT, OPT_KAFKA_FLUSH_TIMEOUT,
};

static int parse_args(int argc, char **argv, struct config *c)
{
    static const struct option longopts[] = {
        { "flows", no_argument, NULL, OPT_FLOWS },
        { "all", no_argument, NULL, OPT_ALL },
        { "checksums", required_argument, NULL, OPT_CHECKSUMS },
        { "bypass", required_argument, NULL, OPT_BYPASS },
        { "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
        { "idle-timeout", required_argument, NULL, OPT_IDLE },
        { "stats-interval", required_argument, NULL, OPT_STATS },
        { "user", required_argument, NULL, OPT_USER },
        { "handshake-timeout", required_argument, NULL, OPT_HS_TIMEOUT },
        { "max-handshake-bytes", required_argument, NULL, OPT_MAX_HS },
        { "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
        { "max-cert-servers", required_argument, NULL, OPT_MAX_CERT_SERVERS },
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
        { "syslog", no_argument, NULL, OPT_SYSLOG },
        { "workers", required_argument, NULL, OPT_WORKERS },
        { "progress", required_argument, NULL, OPT_PROGRESS },
        { "suppress", required_argument, NULL, OPT_SUPPRESS },
        { "incidents", no_argument, NULL, OPT_INCIDENTS },
        { "incident-update", required_argument, NULL, OPT_INCIDENT_UPDATE },
        { "incident-quiet", required_argument, NULL, OPT_INCIDENT_QUIET },
        { "summary", no_argument, NULL, OPT_SUMMARY },
        { "report", required_argument, NULL, OPT_REPORT },
        { "report-interval", required_argument, NULL, OPT_REPORT_INTERVAL },
        { "report-window", required_argument, NULL, OPT_REPORT_WINDOW },
        { "syslog-facility", required_argument, NULL, OPT_SYSLOG_FACILITY },
        { "syslog-socket", required_argument, NULL, OPT_SYSLOG_SOCKET },
        { "kafka-brokers", required_argument, NULL, OPT_KAFKA_BROKERS },
        { "kafka-topic", required_argument, NULL, OPT_KAFKA_TOPIC },
        { "kafka-opt", required_argument, NULL, OPT_KAFKA_OPT },
        { "kafka-flush-timeout", required_argument, NULL, OPT_KAFKA_FLUSH_TIMEOUT },
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
    c->kafka_confs = calloc((size_t)argc, sizeof *c->kafka_confs);
    if (!c->files || !c->rule_paths || !c->params || !c->disabled || !c->kafka_confs) return 1;
    c->kafka.confs = c->kafka_confs;
    c->min_severity = SEV_INFO;
    c->fail_on = -1;
    c->syslog_facility = output_syslog_facility_parse("daemon");
    c->progress = -1; /* auto */
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
        case OPT_MAX_MEMORY:
            if (parse_size("--max-memory", optarg, 1048576.0, 1099511627776.0, &v)) return 2;
            c->so.max_memory = (size_t)v;
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
        case OPT_MAX_CERT_SERVERS:
            if (parse_num("--max-cert-servers", optarg, 1, 100000000, &v)) return 2;
            c->max_cert_servers = (size_t)v;
            break;
        case OPT_CA_PATH: c->ca_path = optarg; break;
        case OPT_KEYLOG: c->keylog = optarg; break;
        case OPT_SUPPRESS: c->suppress = optarg; break;
        case OPT_INCIDENTS: c->incidents = 1; break;
        case OPT_SUMMARY: c->summary = 1; break;
        case OPT_REPORT: c->report = optarg; break;
        case OPT_REPORT_INTERVAL:
            if (parse_num("--report-interval", optarg, 1, 86400, &v)) return 2;
            c->report_interval = v;
            break;
        case OPT_REPORT_WINDOW:
            if (parse_num("--report-window", optarg, 60, 86400 * 30, &v)) return 2;
            c->report_window = v;
            break;
        case OPT_INCIDENT_UPDATE:
            if (parse_num("--incident-update", optarg, 1, 86400, &v)) return 2;
            c->incident_update = v;
            break;
        case OPT_INCIDENT_QUIET:
            if (parse_num("--incident-quiet", optarg, 1, 86400 * 30, &v)) return 2;
            c->incident_quiet = v;
            break;
        case OPT_SYSLOG: c->syslog = 1; break;
        case OPT_SYSLOG_SOCKET:
            c->syslog = 1;
            c->syslog_socket = optarg;
            break;
        case OPT_SYSLOG_FACILITY:
            c->syslog_facility = output_syslog_facility_parse(optarg);
            if (c->syslog_facility < 0) {
                fprintf(stderr, "tlswatch: --syslog-facility: expected daemon, user or local0..local7, not \"%s\"\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_KAFKA_BROKERS: c->kafka.brokers = optarg; break;
        case OPT_KAFKA_TOPIC:
            c->kafka.topic = optarg;
            c->kafka_other = 1;
            break;
        case OPT_KAFKA_OPT:
            c->kafka_confs[c->kafka.nconfs++] = optarg;
            c->kafka_other = 1;
            break;
        case OPT_KAFKA_FLUSH_TIMEOUT:
            if (parse_num("--kafka-flush-timeout", optarg, 0.001, 3600, &v)) return 2;
            c->kafka.flush_timeout = v;
            c->kafka_other = 1;
            break;
        case OPT_CHECKSUMS: {
            /* same order as enum cksum_mode */
            static const char *const modes[] = { "auto", "on", "off", NULL };
            int k = parse_choice("--checksums", optarg, modes);
            if (k < 0) return 2;
            c->ro.checksums = (enum cksum_mode)k;
            break;
        }
        case OPT_BYPASS: {
            static const char *const onoff[] = { "on", "off", NULL };
            int k = parse_choice("--bypass", optarg, onoff);
            if (k < 0) return 2;
            c->so.no_bypass = k == 1;
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
        case OPT_PROGRESS: {
            static const char *const modes[] = { "off", "on", "auto", NULL };
            int k = parse_choice("--progress", optarg, modes);
            if (k < 0) return 2;
            c->progress = k == 2 ? -1 : k;
            break;
        }
        case OPT_WORKERS:
            if (parse_num("--workers", optarg, 1, WORKERS_MAX, &v) || v != (int)v) {
                if (v != (int)v) fprintf(stderr, "tlswatch: --workers: a whole number 1..%d\n", WORKERS_MAX);
                return 2;
            }
            c->workers = (int)v;
            break;
        case 'V': printf("tlswatch %s\n", TLSWATCH_VERSION); return -1;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return 2;
        }
    }
    if (c->check_rules || c->list_rules) return 0;
    if (c->kafka_other && !c->kafka.brokers) {
        fprintf(stderr, "tlswatch: --kafka-topic, --kafka-opt and --kafka-flush-timeout need --kafka-brokers\n");
        return 2;
    }
    if (!c->nfiles == !c->iface) {
        fprintf(stderr, "tlswatch: give either -r FILE or -i IFACE (see --help)\n");
        return 2;
    }
    if (c->workers > 1 && !c->iface) {
        fprintf(stderr, "tlswatch: --workers needs a live interface (-i); a file is read by one process\n");
        return 2;
    }
    if (c->report && c->workers > 1) {
        fprintf(stderr, "tlswatch: --report needs one process (not --workers)\n");
        return 2;
    }
    if ((c->report_interval > 0 || c->report_window > 0) && !c->report) {
        fprintf(stderr, "tlswatch: --report-interval and --report-window need --report\n");
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

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        output_request_reopen();
        pipeline_request_keylog();
    }
    else if (sig == SIGUSR1) {
        pipeline_request_stats();
        output_request_flush();
    }
    else capture_request_stop();
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

/* One capture through the pipeline, to the end (file) or a stop signal
 * (live); fanout_group > 0: one of --workers' processes. */
static int run_capture(struct app *a, int fanout_group)
{
    char source[512]; /* what the report says was read */
    if (a->cfg.iface) snprintf(source, sizeof source, "%s", a->cfg.iface);
    else if (a->cfg.nfiles > 1) snprintf(source, sizeof source, "%s and %zu more files", a->cfg.files[0], a->cfg.nfiles - 1);
    else snprintf(source, sizeof source, "%s", a->cfg.nfiles ? a->cfg.files[0] : "");
    struct pipeline_opts po = {
        .flows = a->cfg.flows, .all = a->cfg.all, .text = a->cfg.text,
        .stats_interval = a->cfg.stats_interval, .ro = a->cfg.ro, .so = a->cfg.so,
        .progress = a->cfg.progress > 0 ? 2 : a->cfg.progress < 0 && !a->cfg.quiet && isatty(STDERR_FILENO) ? 1 : 0,
        .on_hup = suppress_reload, .on_hup_ctx = a,
        .incidents = a->cfg.incidents, .summary = a->cfg.summary,
        .incident_update = a->cfg.incident_update, .incident_quiet = a->cfg.incident_quiet,
        .report = a->cfg.report, .report_interval = a->cfg.report_interval,
        .report_window = a->cfg.report_window, .report_source = source,
    };
    a->pl = pipeline_new(&po, a->rules, a->cc, a->kl);
    if (!a->pl) return 1;
    signals_install(on_signal);

    struct capture_opts co = {
        .files = a->cfg.files, .nfiles = a->cfg.nfiles, .iface = a->cfg.iface,
        .filter = a->cfg.filter, .snaplen = a->cfg.snaplen, .promisc = a->cfg.promisc,
        .buffer_mb = a->cfg.buffer_mb, .timeout_ms = 250, .user = a->cfg.user,
        .fanout_group = fanout_group,
    };
    int rc = pipeline_run(a->pl, &co);

    /* Decide on every exit path: flush every flow still open. */
    pipeline_finish(a->pl, rc != 2);
    if (!a->cfg.quiet && rc != 2 && !fanout_group) pipeline_summary(a->pl, stderr);
    pipeline_free(a->pl);
    a->pl = NULL;
    return rc;
}

/* A --workers process (forked): its lines go to stdout, the pipe to the
 * parent, which alone writes the output file and syslog. */
static int worker_main(void *ctx, int index, int fanout_group)
{
    struct app *a = ctx;
    (void)index;
    output_to_stdout();
    output_syslog_close();
    output_kafka_forget();
    int rc = run_capture(a, fanout_group);
    certcheck_free(a->cc);
    keylog_free(a->kl);
    suppress_free(a->sup);
    if (!rc && a->rules && rules_failed(a->rules)) rc = 3;
    rules_free(a->rules);
    free(a->cfg.rule_paths);
    free(a->cfg.params);
    free(a->cfg.disabled);
    output_close();
    free(a->cfg.files);
    free(a->cfg.filter);
    if (!rc && output_failed()) rc = 1;
    return rc;
}

/* workers_opts.ready: Kafka opened in the supervisor after the fork. */
static int open_kafka(void *ctx)
{
    struct app *a = ctx;
    return output_kafka_open(&a->cfg.kafka) != 0 ? 2 : 0;
}

/* The heap's first part on huge pages (see heap_setup): the mixed capture
 * of `make bench` touches 6 MiB of it; a run that needs more grows the heap
 * past it in 4 KiB pages. */
#ifndef HEAP_HUGE_BYTES
#define HEAP_HUGE_BYTES (16u << 20)
#endif

int main(int argc, char **argv)
{
    static struct app a;
    heap_setup(HEAP_HUGE_BYTES);
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
        free(a.cfg.kafka_confs);
        return rc;
    }
    rc = 0;
    if (a.cfg.suppress) {
        char err[512] = "";
        a.sup = suppress_load(a.cfg.suppress, err, sizeof err);
        if (!a.sup) {
            fprintf(stderr, "tlswatch: %s\n", err);
            return 2;
        }
        if (a.rules) rules_set_filter(a.rules, suppress_filter, &a);
    }
    if (output_open(a.cfg.out_path) != 0) return 1;
    /* live: a syslog daemon that falls behind costs events, not packets */
    if (a.cfg.syslog && output_syslog_open(a.cfg.syslog_socket, a.cfg.syslog_facility, a.cfg.iface != NULL) != 0)
        return 1;
    {
        char err[256] = "";
        struct certcheck_opts cko = { a.cfg.ca_file, a.cfg.ca_path, a.cfg.max_cert_servers };
        a.cc = certcheck_new(&cko, err, sizeof err);
        if (!a.cc) {
            fprintf(stderr, "tlswatch: trust store: %s\n", err);
            return 2;
        }
    }
    if (a.cfg.keylog) {
        char err[512] = "";
        /* live, the key log is followed as it grows (and may not exist yet:
         * a sensor can start before the clients) */
        if (a.cfg.iface && access(a.cfg.keylog, F_OK) != 0 && errno == ENOENT) {
            fprintf(stderr, "tlswatch: %s: no key log yet; read when it appears\n", a.cfg.keylog);
            a.kl = keylog_follow(a.cfg.keylog);
        } else {
            a.kl = keylog_load(a.cfg.keylog, err, sizeof err);
        }
        if (!a.kl) {
            fprintf(stderr, "tlswatch: %s\n", err[0] ? err : "out of memory");
            return 1;
        }
        a.cfg.so.keylog_follow = a.cfg.iface != NULL;
    }
    /* live: a full Kafka queue costs events, not packets; a configuration
     * error (broker list, topic, property) is a usage error. Opened last,
     * so that no early return leaves its threads running; with --workers
     * only this process produces (the workers' lines come through it), and
     * it opens Kafka once the workers are forked: a process forked beside
     * librdkafka's threads inherits their locks mid-flight (under ASan a
     * worker then hung or lost its lines). */
    a.cfg.kafka.nonblock = a.cfg.iface != NULL;
    if (a.cfg.workers > 1) {
        /* the workers inherit the rules, trust store and key log loaded
         * above; this process only supervises and writes their lines */
        struct workers_opts wo = { a.cfg.workers, a.cfg.text, a.cfg.quiet, a.cfg.kafka.brokers ? open_kafka : NULL };
        rc = workers_run(&wo, worker_main, &a);
    } else {
        if (a.cfg.kafka.brokers && output_kafka_open(&a.cfg.kafka) != 0) return 2;
        rc = run_capture(&a, 0);
    }
    certcheck_free(a.cc);
    keylog_free(a.kl);
    suppress_free(a.sup);
    if (!rc && a.rules && rules_failed(a.rules)) rc = 3;
    rules_free(a.rules);
    free(a.cfg.rule_paths);
    free(a.cfg.params);
    free(a.cfg.disabled);
    output_close();
    output_syslog_close();
    /* events that did not reach Kafka: the run's record there is incomplete */
    uint64_t kafka_lost = output_kafka_close();
    free(a.cfg.kafka_confs);
    free(a.cfg.files);
    free(a.cfg.filter);
    if (!rc && (output_failed() || kafka_lost)) rc = 1;
    return rc;
}
