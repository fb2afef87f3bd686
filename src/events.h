/* The event lines tlswatch writes: tls (one per reported handshake),
 * finding, flow and stats, as JSON (one object per line) or as text.
 * Formatting only: the pipeline decides which events are written and where
 * their lines go. Formatting happens only for events that are written. */
#ifndef TLSWATCH_EVENTS_H
#define TLSWATCH_EVENTS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "facts.h"
#include "flow.h"
#include "json.h"

struct capture_stats;
struct decode_stats;
struct reasm_stats;
struct session_stats;
struct ruleset;
struct certcheck_stats;
struct output_kafka_stats;
struct rule_finding;

/* What a stats event shows. Everything is borrowed for the call. */
struct events_stats {
    const struct capture_stats *capture;
    const struct decode_stats *decode;
    const struct reasm_stats *reasm;
    uint64_t active_flows;
    const struct session_stats *sessions;
    uint64_t findings;
    const uint64_t *findings_by_sev;     /* one count per rule_severity (5) */
    const struct ruleset *rules;         /* NULL: no rules loaded */
    const struct certcheck_stats *certs; /* NULL: no certificate checker */
    const struct output_kafka_stats *kafka; /* NULL: no Kafka output */
};

/* JSON: each appends one event object to j; the caller ends the line. */
void events_flow_json(struct json *j, const struct flow *f);
void events_tls_json(struct json *j, const struct flow *f, const tls_facts *facts);
void events_finding_json(struct json *j, const struct flow *f, const tls_facts *facts,
                         const struct rule_finding *r);
void events_stats_json(struct json *j, const struct timeval *ts, const struct events_stats *st);

/* Text: each hands put at most one line, newline included (a line cut at
 * its buffer still ends with one). */
typedef void (*events_put_fn)(void *ctx, const char *line, size_t len);
void events_tls_text(const struct flow *f, const tls_facts *facts, events_put_fn put, void *ctx);
void events_finding_text(const struct flow *f, const tls_facts *facts, const struct rule_finding *r,
                         events_put_fn put, void *ctx);
/* The end-of-run summary line. */
void events_stats_text(const struct events_stats *st, events_put_fn put, void *ctx);

#endif
