/* --kafka-brokers: every event line also goes to a Kafka topic through
 * librdkafka, one message per line (the line without its newline). Additive
 * like --syslog: the lines are still written to stdout or -o FILE.
 *
 * A JSON line's message key is its community_id, so a handshake's tls event
 * and its findings land in one partition (in order), and so do the events
 * of one connection seen by several sensors (no NAT between them); stats
 * lines and -F text lines have no key. Delivery reports are counted; what
 * was not delivered at shutdown (after a bounded flush) is reported on
 * stderr. No librdkafka type appears here: events.c prints the counters. */
#ifndef TLSWATCH_OUTPUT_KAFKA_H
#define TLSWATCH_OUTPUT_KAFKA_H
#include <stddef.h>
#include <stdint.h>

#define OUTPUT_KAFKA_DEFAULT_TOPIC "tlswatch"
#define OUTPUT_KAFKA_DEFAULT_FLUSH_TIMEOUT 10.0 /* seconds */

struct output_kafka_opts {
    const char *brokers;       /* bootstrap.servers: host[:port][,host[:port]...] */
    const char *topic;         /* NULL: OUTPUT_KAFKA_DEFAULT_TOPIC */
    const char *const *confs;  /* "KEY=VALUE" for rd_kafka_conf_set, in order */
    size_t nconfs;
    double flush_timeout;      /* seconds at shutdown; <= 0: the default */
    int nonblock;              /* live: a full queue drops the event (counted), never waits */
};

struct output_kafka_stats {
    uint64_t produced;   /* accepted by librdkafka's queue */
    uint64_t delivered;  /* acknowledged by a broker */
    uint64_t failed;     /* delivery report with an error (e.g. message.timeout.ms) */
    uint64_t dropped;    /* refused by a full local queue */
    uint64_t errors;     /* librdkafka error callbacks (broker down, resolve, auth) */
    uint64_t queue;      /* messages and requests waiting in librdkafka (outq_len) */
};

/* Checks a broker list and a topic name without librdkafka: 0, or -1 with
 * a reason in err. Used by output_kafka_open(). */
int output_kafka_brokers_check(const char *list, char *err, size_t errlen);
int output_kafka_topic_check(const char *topic, char *err, size_t errlen);
/* The message key of one line (no newline): a JSON line's top-level
 * community_id value, pointing into the line, or NULL (text lines, stats). */
const char *output_kafka_line_key(const char *line, size_t len, size_t *klen);

/* Configures the producer; no connection is made yet (librdkafka connects
 * in its own threads). 0 ok; -1 after one line on stderr: a configuration
 * error (exit 2). */
int output_kafka_open(const struct output_kafka_opts *o);
/* Produces each '\n'-terminated line of buf as one message. No-op when not
 * open. Serves delivery reports (rd_kafka_poll(0)) afterwards. */
void output_kafka_lines(const char *buf, size_t len);
/* Serves delivery reports and errors without waiting (the capture tick). */
void output_kafka_poll(void);
/* Waits until everything produced is acknowledged, or until the shutdown
 * budget (--kafka-flush-timeout, counted from the first call) is spent.
 * Called before the final stats event so that its counters are complete. */
void output_kafka_flush(void);
/* In a process forked while the producer runs (a --workers worker): the
 * handle belongs to the parent, whose librdkafka threads the child does not
 * have; it is set aside untouched (still referenced, not destroyed) and
 * this process produces nothing. */
void output_kafka_forget(void);
/* The counters, or NULL when Kafka is not in use. */
const struct output_kafka_stats *output_kafka_stats(void);
/* Flushes within what is left of the budget, reports on stderr (one line)
 * what did not reach Kafka, destroys the producer. Returns the number of
 * event lines not delivered (failed + dropped + still queued). */
uint64_t output_kafka_close(void);

#endif
