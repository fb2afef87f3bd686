/* --report FILE.html: one self-contained HTML page (inline CSS, JS and
 * SVG; nothing fetched) of the incidents (grouped as incidents.c groups
 * them, ranked by severity, distinct clients, count), a handshake ladder
 * of a sample flow per incident (from the facts' "messages" log), the
 * sample's certificate, client-side filters and summary charts.
 *
 * A file run writes it once at the end. A live sensor rewrites it
 * atomically (FILE.tmp, then rename) every `interval` seconds, covering
 * the last `window` seconds: counts are kept in REPORT_SLOTS time slots
 * that roll over, and the state is bounded (REPORT_INCIDENTS_MAX
 * incidents with one sample ladder each, REPORT_KEYS_MAX bars per chart,
 * REPORT_CLIENTS_MAX distinct clients per incident).
 *
 * Everything from the wire is HTML-escaped when written. */
#ifndef TLSWATCH_REPORT_H
#define TLSWATCH_REPORT_H
#include <stdio.h>

#include "facts.h"
#include "flow.h"
#include "rules.h"

#define REPORT_SLOTS 60
#define REPORT_INCIDENTS_MAX 500
#define REPORT_KEYS_MAX 1024
#define REPORT_CLIENTS_MAX 1024

struct report_opts {
    const char *path;
    int live;        /* rolling window, rewritten every interval */
    double interval; /* seconds (0: 60) */
    double window;   /* seconds (0: 3600) */
    const char *source; /* what was read: files or interface (shown) */
};

struct report;
struct report *report_new(const struct report_opts *o);
void report_free(struct report *r);
/* The capture is a live interface: a rolling window (before any data). */
void report_set_live(struct report *r);
/* Every handshake (charts), at capture time t. */
void report_handshake(struct report *r, const struct flow *f, const tls_facts *facts, double t);
/* A finding on that handshake (incidents and their sample ladders). */
void report_finding(struct report *r, const struct rule_finding *rf, const struct flow *f,
                    const tls_facts *facts, double t);
/* Live: the file is rewritten when an interval has passed since the last
 * write (now: capture time). */
void report_tick(struct report *r, double now);
/* Writes the file now (FILE.tmp renamed over FILE). 0, or -1 with a
 * message on stderr. */
int report_write(struct report *r, double now);

/* s, HTML-escaped (& < > " ' as entities; control bytes as '?'), to out. */
void report_escape(FILE *out, const char *s);

#endif
