/* Incidents (--incidents): findings grouped into the few causes an
 * operator fixes. One incident per rule, server endpoint and SNI, and the
 * evidence that makes the findings one cause: the leaf certificate's
 * SHA-256 for certificate rules, the highest offered version and the
 * alert for protocol rules, the alert for alert rules. Each keeps its
 * count, first and last capture time, distinct clients, up to
 * INCIDENT_SAMPLES Community IDs, and the first finding's message and
 * advice. Events (event_type "incident"): opened with the first finding,
 * updated at most every update_s of capture time while it grows, closed
 * after quiet_s without a finding (or at the end). At most INCIDENTS_MAX
 * are open; beyond that the least recently seen is closed. */
#ifndef TLSWATCH_INCIDENTS_H
#define TLSWATCH_INCIDENTS_H
#include <stdint.h>
#include <stdio.h>

#include "facts.h"
#include "flow.h"
#include "json.h"
#include "rules.h"

#define INCIDENT_SAMPLES 5
#define INCIDENTS_MAX 10000
#define INCIDENT_CLIENTS_MAX 4096 /* distinct clients counted exactly up to this */

#define INCIDENT_KEY_LEN 600

struct incidents;
/* The grouping key of a finding ("rule|server|port|sni|evidence", cut to
 * n - 1 bytes; its length returned), with the server's address and the
 * evidence key as they go into it. --report groups with it too. */
size_t incidents_key(const struct rule_finding *r, const struct flow *f, const tls_facts *facts,
                     char *key, size_t n, char server[64], char ev[96]);
/* Writes one event line (json, newline included). */
typedef void (*incidents_put_fn)(void *ctx, const char *line, size_t len);

struct incidents *incidents_new(double update_s, double quiet_s, incidents_put_fn put, void *ctx);
void incidents_free(struct incidents *in);
/* A finding reported on flow f (facts of its handshake) at capture time t. */
void incidents_add(struct incidents *in, const struct rule_finding *r, const struct flow *f,
                   const tls_facts *facts, double t);
/* Capture time moved to t: due updates, quiet incidents closed. */
void incidents_tick(struct incidents *in, double t);
/* End of the run: every open incident closed. */
void incidents_finish(struct incidents *in, double t);
/* The ranked table (severity, then distinct clients, then count) of every
 * incident of the run, as text. */
void incidents_summary(const struct incidents *in, FILE *out);
size_t incidents_count(const struct incidents *in);

/* The flow's client, as incidents count distinct clients (a hash of its
 * address; the report counts them the same way). */
uint32_t incidents_client_of(const struct flow *f);

/* The ranking of --summary and of the report, by impact: severity, then
 * distinct clients, then handshakes, then the order opened (id). */
struct incident_impact {
    enum rule_severity sev;
    uint64_t clients, count;
    unsigned id;
};
/* < 0 when a ranks before b. */
int incidents_impact_cmp(const struct incident_impact *a, const struct incident_impact *b);

#endif
