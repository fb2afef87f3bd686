/* A Kafka cluster for the tests: librdkafka's mock cluster (one broker, in
 * this process), a topic with PARTITIONS partitions, and a consumer that
 * writes every message it reads from the topic to OUT, one per line:
 *
 *   PARTITION <TAB> OFFSET <TAB> KEY ("-": none) <TAB> VALUE
 *
 * Prints the bootstrap address on stdout (one line) once the topic exists.
 * SIGUSR1 takes the broker down (rd_kafka_mock_broker_set_down), SIGUSR2
 * brings it back; SIGTERM/SIGINT stop it after the consumer has read
 * nothing new for a second. Everything is destroyed before exit
 * (LeakSanitizer), and rd_kafka_wait_destroyed() checks it.
 *
 *   usage: kafka_mock TOPIC PARTITIONS OUT */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop, want_down, want_up;

static void on_signal(int sig)
{
    if (sig == SIGUSR1) want_down = 1;
    else if (sig == SIGUSR2) want_up = 1;
    else stop = 1;
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(c, k, v, err, sizeof err) == RD_KAFKA_CONF_OK) return 0;
    fprintf(stderr, "kafka_mock: %s: %s\n", k, err);
    return -1;
}

static void put_escaped(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') fputs("\\n", f);
        else if (s[i] == '\t') fputs("\\t", f);
        else fputc(s[i], f);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: kafka_mock TOPIC PARTITIONS OUT\n");
        return 2;
    }
    const char *topic = argv[1];
    int nparts = (int)strtol(argv[2], NULL, 10);
    FILE *out = fopen(argv[3], "w");
    if (nparts < 1 || nparts > 64 || !out) {
        fprintf(stderr, "kafka_mock: bad arguments\n");
        return 2;
    }
    char err[512];
    int rc = 1;

    /* the handle that owns the mock cluster (its threads and logging) */
    rd_kafka_conf_t *hc = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(hc, quiet_log);
    rd_kafka_t *host = rd_kafka_new(RD_KAFKA_PRODUCER, hc, err, sizeof err);
    if (!host) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(host, 1);
    rd_kafka_t *cons = NULL;
    if (!mc) {
        fprintf(stderr, "kafka_mock: rd_kafka_mock_cluster_new failed\n");
        goto done;
    }
    if (rd_kafka_mock_topic_create(mc, topic, nparts, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "kafka_mock: cannot create topic %s\n", topic);
        goto done;
    }
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);

    rd_kafka_conf_t *cc = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(cc, quiet_log);
    if (set(cc, "bootstrap.servers", boot) || set(cc, "group.id", "kafka_mock") ||
        set(cc, "enable.auto.commit", "false") || set(cc, "auto.offset.reset", "earliest") ||
        set(cc, "reconnect.backoff.max.ms", "200")) { /* back soon after SIGUSR2 */
        rd_kafka_conf_destroy(cc);
        goto done;
    }
    cons = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
    if (!cons) {
        rd_kafka_conf_destroy(cc);
        fprintf(stderr, "kafka_mock: consumer: %s\n", err);
        goto done;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t e = rd_kafka_assign(cons, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        fprintf(stderr, "kafka_mock: assign: %s\n", rd_kafka_err2str(e));
        goto done;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    printf("%s\n", boot);
    fflush(stdout);

    double last_msg = now_s();
    unsigned long n = 0;
    for (;;) {
        if (want_down) {
            want_down = 0;
            rd_kafka_mock_broker_set_down(mc, 1);
        }
        if (want_up) {
            want_up = 0;
            rd_kafka_mock_broker_set_up(mc, 1);
        }
        if (stop && now_s() - last_msg > 1.0) break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 100);
        if (!m) continue;
        if (!m->err) {
            fprintf(out, "%d\t%lld\t", (int)m->partition, (long long)m->offset);
            if (m->key) put_escaped(out, m->key, m->key_len);
            else fputc('-', out);
            fputc('\t', out);
            put_escaped(out, m->payload, m->len);
            fputc('\n', out);
            fflush(out);
            n++;
            last_msg = now_s();
        }
        rd_kafka_message_destroy(m);
    }
    fprintf(stderr, "kafka_mock: %lu message(s) consumed\n", n);
    rc = 0;
done:
    if (cons) {
        rd_kafka_consumer_close(cons);
        rd_kafka_destroy(cons);
    }
    if (mc) rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(host);
    fclose(out);
    if (rd_kafka_wait_destroyed(5000) != 0) {
        fprintf(stderr, "kafka_mock: librdkafka handles not destroyed\n");
        rc = 1;
    }
    return rc;
}
