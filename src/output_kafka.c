/* --kafka-brokers: a librdkafka producer, one message per event line.
 *
 * Threads: librdkafka runs its own (one per broker plus a main one); ours
 * only calls rd_kafka_producev() and rd_kafka_poll(). Delivery reports and
 * error callbacks are served by rd_kafka_poll() on our thread, so the
 * counters need no locking. The log callback runs on librdkafka's threads
 * and only writes to stderr.
 *
 * Copies: rd_kafka_producev(RD_KAFKA_MSG_F_COPY). The line lives in the
 * pipeline's JSON buffer, reused for the next event, while librdkafka holds
 * a message until it is acknowledged; one copy per event is cheap next to
 * formatting it (events are rare relative to packets).
 *
 * Backpressure: a full local queue (queue.buffering.max.messages/kbytes)
 * never blocks a live capture, where a stalled loop loses packets: the
 * event is dropped and counted. Reading files, the producer is given up to
 * a second to drain (rd_kafka_poll) and the event is tried once more;
 * after a retry that failed, later events are dropped at once until one is
 * accepted, so a run against a dead broker does not take a second per
 * event.
 *
 * Noise: librdkafka reports a broker that cannot be reached on every
 * reconnect attempt. Its error callback here prints one line when delivery
 * stops working and one when a delivery report says it works again; the
 * errors are counted (stats kafka.errors). Its log lines about the same
 * failures (facilities FAIL, ERROR) are not printed; other warnings are. */
#include "output_kafka.h"

#include <dlfcn.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

/* librdkafka is loaded when --kafka-brokers is given (dlopen), not linked:
 * mapping and relocating it and the libraries only it pulls in (libsasl2,
 * libssl) cost every run about 1.5 ms and 70 page faults, a tenth of the
 * start-up of a run on a small capture, for an output most runs do not
 * use. The functions used, resolved once by output_kafka_open(). */
#define KAFKA_SONAME "librdkafka.so.1"
#define KAFKA_FUNCS(X)                                                                                     \
    X(rd_kafka_conf_new) X(rd_kafka_conf_destroy) X(rd_kafka_conf_set) X(rd_kafka_conf_set_dr_msg_cb)      \
    X(rd_kafka_conf_set_error_cb) X(rd_kafka_conf_set_log_cb) X(rd_kafka_new) X(rd_kafka_destroy)          \
    X(rd_kafka_topic_new) X(rd_kafka_topic_destroy) X(rd_kafka_producev) X(rd_kafka_poll) X(rd_kafka_flush) \
    X(rd_kafka_purge) X(rd_kafka_outq_len) X(rd_kafka_err2str) X(rd_kafka_err2name) X(rd_kafka_last_error) \
    X(rd_kafka_fatal_error)

static struct {
    void *handle;
#define KAFKA_PTR(f) __typeof__(f) *p_##f;
    KAFKA_FUNCS(KAFKA_PTR)
#undef KAFKA_PTR
} klib;

/* 0 loaded (or already), -1 with a message on stderr. */
static int kafka_load(void)
{
    if (klib.handle) return 0;
    void *h = dlopen(KAFKA_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        fprintf(stderr, "tlswatch: kafka: cannot load %s (%s); install librdkafka1\n", KAFKA_SONAME,
                e ? e : "not found");
        return -1;
    }
#define KAFKA_SYM(f)                                                                               \
    if (!(*(void **)&klib.p_##f = dlsym(h, #f))) {                                                 \
        fprintf(stderr, "tlswatch: kafka: %s has no %s (librdkafka too old?)\n", KAFKA_SONAME, #f); \
        dlclose(h);                                                                                \
        return -1;                                                                                 \
    }
    KAFKA_FUNCS(KAFKA_SYM)
#undef KAFKA_SYM
    klib.handle = h;
    return 0;
}

#define rd_kafka_conf_new (*klib.p_rd_kafka_conf_new)
#define rd_kafka_conf_destroy (*klib.p_rd_kafka_conf_destroy)
#define rd_kafka_conf_set (*klib.p_rd_kafka_conf_set)
#define rd_kafka_conf_set_dr_msg_cb (*klib.p_rd_kafka_conf_set_dr_msg_cb)
#define rd_kafka_conf_set_error_cb (*klib.p_rd_kafka_conf_set_error_cb)
#define rd_kafka_conf_set_log_cb (*klib.p_rd_kafka_conf_set_log_cb)
#define rd_kafka_new (*klib.p_rd_kafka_new)
#define rd_kafka_destroy (*klib.p_rd_kafka_destroy)
#define rd_kafka_topic_new (*klib.p_rd_kafka_topic_new)
#define rd_kafka_topic_destroy (*klib.p_rd_kafka_topic_destroy)
#define rd_kafka_producev (*klib.p_rd_kafka_producev)
#define rd_kafka_poll (*klib.p_rd_kafka_poll)
#define rd_kafka_flush (*klib.p_rd_kafka_flush)
#define rd_kafka_purge (*klib.p_rd_kafka_purge)
#define rd_kafka_outq_len (*klib.p_rd_kafka_outq_len)
#define rd_kafka_err2str (*klib.p_rd_kafka_err2str)
#define rd_kafka_err2name (*klib.p_rd_kafka_err2name)
#define rd_kafka_last_error (*klib.p_rd_kafka_last_error)
#define rd_kafka_fatal_error (*klib.p_rd_kafka_fatal_error)

#define KAFKA_FULL_WAIT_MS 1000 /* reading files: how long a full queue may hold the run, once */
#define KAFKA_KEY_SCAN 256      /* community_id comes in the first members of a line */

static struct {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    char topic[256];
    int nonblock;
    int stalled;        /* files: a retry after a full queue failed; drop at once until one fits */
    int failing;        /* the error callback said so; a delivery report ends it */
    int dr_failing;     /* delivery reports with errors; a successful one ends it */
    int full_said;
    double flush_timeout;
    double deadline;    /* shutdown budget, set by the first flush (0: not started) */
    uint64_t undelivered, dropped_since_ok, failed_since_ok;
    struct output_kafka_stats st;
} kf;

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ checks */

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
}

/* One entry: host[:port] or [v6addr][:port]. librdkafka also takes a
 * PROTOCOL:// prefix, but ignores the broker (a log line, then nothing)
 * unless it matches security.protocol: refused here, with a hint. */
static int broker_check(const char *s, size_t n, char *err, size_t errlen)
{
    const char *p = s, *end = s + n;
    if (memmem(s, n, "://", 3)) {
        snprintf(err, errlen, "\"%.*s\": no PROTOCOL:// prefix; use --kafka-opt security.protocol=...", (int)n,
                 s);
        return -1;
    }
    if (p == end) goto bad;
    if (*p == '[') {
        const char *cl = memchr(p, ']', (size_t)(end - p));
        if (!cl || cl == p + 1) goto bad;
        for (const char *q = p + 1; q < cl; q++)
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F') || *q == ':' ||
                  *q == '.'))
                goto bad;
        p = cl + 1;
    } else {
        const char *h = p;
        while (p < end && host_char(*p)) p++;
        if (p == h) goto bad;
    }
    if (p == end) return 0;
    if (*p != ':' || p + 1 == end || end - p > 6) goto bad;
    long port = 0;
    for (p++; p < end; p++) {
        if (*p < '0' || *p > '9') goto bad;
        port = port * 10 + (*p - '0');
    }
    if (port < 1 || port > 65535) goto bad;
    return 0;
bad:
    snprintf(err, errlen, "\"%.*s\": expected host[:port] or [IPv6 address][:port]", (int)n, s);
    return -1;
}

int output_kafka_brokers_check(const char *list, char *err, size_t errlen)
{
    if (!*list) {
        snprintf(err, errlen, "empty broker list");
        return -1;
    }
    const char *p = list;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (broker_check(p, n, err, errlen) != 0) return -1;
        if (!c) return 0;
        p = c + 1;
    }
}

/* Kafka's own rule: 1..249 of [a-zA-Z0-9._-], not "." or "..". */
int output_kafka_topic_check(const char *t, char *err, size_t errlen)
{
    size_t n = strlen(t);
    int ok = n > 0 && n <= 249 && strcmp(t, ".") != 0 && strcmp(t, "..") != 0;
    for (size_t i = 0; ok && i < n; i++) ok = host_char(t[i]);
    if (!ok) snprintf(err, errlen, "\"%s\": a topic is 1 to 249 of a-z A-Z 0-9 . _ -", t);
    return ok ? 0 : -1;
}

/* --------------------------------------------------------- callbacks */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (!m->err) {
        kf.st.delivered++;
        if (kf.failing || kf.dr_failing)
            fprintf(stderr, "tlswatch: kafka: delivering again (%llu event(s) failed meanwhile)\n",
                    (unsigned long long)kf.failed_since_ok);
        kf.failing = kf.dr_failing = 0;
        kf.failed_since_ok = 0;
        return;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
        kf.undelivered++; /* given up at shutdown: counted there */
        return;
    }
    kf.st.failed++;
    kf.failed_since_ok++;
    if (!kf.dr_failing)
        fprintf(stderr, "tlswatch: kafka: %s: delivery failed: %s (further failures are counted)\n", kf.topic,
                rd_kafka_err2str(m->err));
    kf.dr_failing = 1;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    kf.st.errors++;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_fatal_error(rk, buf, sizeof buf);
        fprintf(stderr, "tlswatch: kafka: fatal: %s; no further events are delivered\n", buf);
        kf.failing = 1;
        return;
    }
    if (kf.failing) return;
    kf.failing = 1;
    fprintf(stderr, "tlswatch: kafka: %s (%s); events wait in the queue until a broker answers "
            "(message.timeout.ms)\n", reason, rd_kafka_err2name((rd_kafka_resp_err_t)err));
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* connection failures: the error callback says it once */
    if (level > LOG_WARNING || strcmp(fac, "FAIL") == 0 || strcmp(fac, "ERROR") == 0) return;
    fprintf(stderr, "tlswatch: kafka: %s\n", buf);
}

/* -------------------------------------------------------------- open */

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *val)
{
    char err[512];
    if (rd_kafka_conf_set(conf, key, val, err, sizeof err) == RD_KAFKA_CONF_OK) return 0;
    fprintf(stderr, "tlswatch: --kafka-opt %s=%s: %s\n", key, val, err);
    return -1;
}

static int apply_confs(rd_kafka_conf_t *conf, const struct output_kafka_opts *o)
{
    if (conf_set(conf, "client.id", "tlswatch") != 0) return -1;
    if (conf_set(conf, "bootstrap.servers", o->brokers) != 0) return -1;
    for (size_t i = 0; i < o->nconfs; i++) {
        const char *kv = o->confs[i], *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            fprintf(stderr, "tlswatch: --kafka-opt %s: expected KEY=VALUE (a librdkafka property)\n", kv);
            return -1;
        }
        char key[256];
        if ((size_t)(eq - kv) >= sizeof key) {
            fprintf(stderr, "tlswatch: --kafka-opt %.40s...: key too long\n", kv);
            return -1;
        }
        memcpy(key, kv, (size_t)(eq - kv));
        key[eq - kv] = '\0';
        if (strcmp(key, "delivery.report.only.error") == 0) { /* the counters need every report */
            fprintf(stderr, "tlswatch: --kafka-opt %s: not supported (tlswatch counts every delivery)\n", kv);
            return -1;
        }
        if (conf_set(conf, key, eq + 1) != 0) return -1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    return 0;
}

int output_kafka_open(const struct output_kafka_opts *o)
{
    char err[512];
    const char *topic = o->topic ? o->topic : OUTPUT_KAFKA_DEFAULT_TOPIC;
    if (output_kafka_brokers_check(o->brokers, err, sizeof err) != 0) {
        fprintf(stderr, "tlswatch: --kafka-brokers: %s\n", err);
        return -1;
    }
    if (output_kafka_topic_check(topic, err, sizeof err) != 0) {
        fprintf(stderr, "tlswatch: --kafka-topic: %s\n", err);
        return -1;
    }
    if (kafka_load() != 0) return -1;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf || apply_confs(conf, o) != 0) {
        if (conf) rd_kafka_conf_destroy(conf);
        return -1;
    }
    kf.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!kf.rk) { /* conf is still ours */
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "tlswatch: kafka: %s\n", err);
        return -1;
    }
    kf.rkt = rd_kafka_topic_new(kf.rk, topic, NULL);
    if (!kf.rkt) {
        fprintf(stderr, "tlswatch: kafka: topic %s: %s\n", topic, rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_destroy(kf.rk);
        kf.rk = NULL;
        return -1;
    }
    snprintf(kf.topic, sizeof kf.topic, "%s", topic);
    kf.nonblock = o->nonblock;
    kf.flush_timeout = o->flush_timeout > 0 ? o->flush_timeout : OUTPUT_KAFKA_DEFAULT_FLUSH_TIMEOUT;
    return 0;
}

/* ----------------------------------------------------------- produce */

/* The value of a JSON line's top-level "community_id" member. Inside a
 * JSON string every '"' is escaped, so the pattern cannot match there. */
const char *output_kafka_line_key(const char *s, size_t n, size_t *klen)
{
    static const char pat[] = "\"community_id\":\"";
    if (n == 0 || s[0] != '{') return NULL;
    size_t scan = n < KAFKA_KEY_SCAN ? n : KAFKA_KEY_SCAN;
    const char *k = memmem(s, scan, pat, sizeof pat - 1);
    if (!k) return NULL;
    const char *v = k + sizeof pat - 1, *e = memchr(v, '"', n - (size_t)(v - s));
    if (!e || e == v) return NULL;
    *klen = (size_t)(e - v);
    return v;
}

static void dropped(rd_kafka_resp_err_t err)
{
    kf.st.dropped++;
    kf.dropped_since_ok++;
    if (kf.full_said) return;
    kf.full_said = 1;
    fprintf(stderr, "tlswatch: kafka: %s: %s; events are dropped until it has room (counted)\n", kf.topic,
            err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? "the local queue is full (brokers not keeping up)"
                                                 : rd_kafka_err2str(err));
}

static void produce_one(const char *line, size_t len)
{
    size_t klen = 0;
    /* librdkafka copies both (RD_KAFKA_MSG_F_COPY) and never writes them */
    void *key = (void *)(uintptr_t)output_kafka_line_key(line, len, &klen), *val = (void *)(uintptr_t)line;
    for (int tries = 0;; tries++) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            kf.rk, RD_KAFKA_V_RKT(kf.rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(val, len),
            RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_END);
        if (!err) {
            kf.st.produced++;
            kf.stalled = 0;
            if (kf.full_said)
                fprintf(stderr, "tlswatch: kafka: %s: the queue has room again (%llu event(s) dropped)\n",
                        kf.topic, (unsigned long long)kf.dropped_since_ok);
            kf.full_said = 0;
            kf.dropped_since_ok = 0;
            return;
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !kf.nonblock && !kf.stalled && tries == 0) {
            rd_kafka_poll(kf.rk, KAFKA_FULL_WAIT_MS);
            continue;
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !kf.nonblock) kf.stalled = 1;
        dropped(err);
        return;
    }
}

void output_kafka_lines(const char *buf, size_t len)
{
    if (!kf.rk) return;
    while (len > 0) {
        const char *nl = memchr(buf, '\n', len);
        size_t n = nl ? (size_t)(nl - buf) : len;
        if (n > 0) produce_one(buf, n);
        if (!nl) break;
        len -= n + 1;
        buf = nl + 1;
    }
    rd_kafka_poll(kf.rk, 0);
}

void output_kafka_poll(void)
{
    if (kf.rk) rd_kafka_poll(kf.rk, 0);
}

void output_kafka_forget(void)
{
    static rd_kafka_t *parents; /* keeps it reachable (LeakSanitizer) */
    parents = kf.rk;
    (void)parents;
    memset(&kf, 0, sizeof kf);
}

const struct output_kafka_stats *output_kafka_stats(void)
{
    if (!kf.rk) return NULL;
    kf.st.queue = (uint64_t)rd_kafka_outq_len(kf.rk);
    return &kf.st;
}

/* ---------------------------------------------------------- shutdown */

static int budget_ms(void)
{
    double now = mono_now();
    if (kf.deadline == 0) kf.deadline = now + kf.flush_timeout;
    double left = kf.deadline - now;
    return left > 0 ? (int)(left * 1000 + 0.5) : 0;
}

void output_kafka_flush(void)
{
    if (kf.rk) rd_kafka_flush(kf.rk, budget_ms());
}

uint64_t output_kafka_close(void)
{
    if (!kf.rk) return 0;
    rd_kafka_flush(kf.rk, budget_ms());
    rd_kafka_poll(kf.rk, 0);
    /* what is still queued or in flight is given up: its delivery reports
     * (purged) are served here and counted as undelivered */
    rd_kafka_purge(kf.rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(kf.rk, 0);
    rd_kafka_poll(kf.rk, 0);
    uint64_t unacked = kf.st.produced - kf.st.delivered - kf.st.failed;
    if (unacked > kf.undelivered) kf.undelivered = unacked;
    uint64_t lost = kf.st.failed + kf.st.dropped + kf.undelivered;
    if (lost)
        fprintf(stderr,
                "tlswatch: kafka: %s: %llu of %llu event(s) not delivered (%llu failed, %llu dropped on a full "
                "queue, %llu still queued after the %g s flush timeout)\n",
                kf.topic, (unsigned long long)lost, (unsigned long long)(kf.st.produced + kf.st.dropped),
                (unsigned long long)kf.st.failed, (unsigned long long)kf.st.dropped,
                (unsigned long long)kf.undelivered, kf.flush_timeout);
    rd_kafka_topic_destroy(kf.rkt);
    rd_kafka_destroy(kf.rk);
    memset(&kf, 0, sizeof kf);
    return lost;
}
