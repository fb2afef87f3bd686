/* The packet path, wired once for both the command line (main.c) and the
 * whole-pipeline fuzz target (tests/fuzz/fuzz_pipeline.c):
 *
 *   capture -> decode -> reassembly -> session -> rules -> output
 *
 * A pipeline owns its reassembly instance and sessions (so, like libnids,
 * one pipeline at a time per process; a new one may be made after
 * pipeline_free), and borrows the rules, the certificate checker and the
 * key log, which outlive it. Errors are returned, never exit()ed. Events
 * go to the sink given in the options (default: output_write). */
#ifndef TLSWATCH_PIPELINE_H
#define TLSWATCH_PIPELINE_H
#include <pcap/pcap.h>
#include <stddef.h>
#include <stdio.h>

#include "capture.h"
#include "reassembly.h"
#include "session.h"

struct ruleset;
struct certcheck;
struct keylog;

struct pipeline_opts {
    int flows;             /* --flows: one record per TCP connection */
    int all;               /* --all: every handshake, not only problems */
    int text;              /* -F text */
    double stats_interval; /* a stats event every S seconds of capture time (0: none) */
    int incidents;         /* --incidents: event_type incident lines (incidents.h) */
    double incident_update, incident_quiet; /* seconds of capture time (0: 60, 300) */
    int summary;           /* --summary: the ranked incident table on stderr at the end */
    const char *report;    /* --report FILE.html (report.h), else NULL */
    double report_interval, report_window; /* live: seconds (0: 60, 3600) */
    const char *report_source;             /* shown in the report: what was read */
    int progress;          /* file reads: a progress line on stderr twice a second
                              (1: and a last one if any was shown; 2: a last one always) */
    struct reasm_opts ro;
    struct session_opts so;
    /* Live: called at the timer tick after SIGHUP (pipeline_request_keylog):
     * main re-reads the --suppress file. */
    void (*on_hup)(void *ctx);
    void *on_hup_ctx;
    /* Where event lines go; NULL: output_write() (output.h). */
    void (*write)(void *ctx, const char *line, size_t len);
    void *write_ctx;
};

struct pipeline;

/* rules, cc, kl: borrowed, may be NULL (no rules: every handshake that is
 * not established/resumed/renegotiated is reported). NULL on failure
 * (reassembly could not start: message on stderr). */
struct pipeline *pipeline_new(const struct pipeline_opts *o, struct ruleset *rules,
                              struct certcheck *cc, struct keylog *kl);
/* Runs a capture (files or live interface, capture.h) through the
 * pipeline. Returns capture_run's code: 0 ok, 1 runtime error, 2 usage. */
int pipeline_run(struct pipeline *p, const struct capture_opts *co);
/* Runs an already opened offline handle to its end (the caller closes it).
 * Returns 0, or 1 on an unsupported link type or a read error (then err,
 * if given, says which; the packets before it were analysed). */
int pipeline_run_pcap(struct pipeline *p, pcap_t *pc, char *err, size_t errlen);
struct pcapng;
/* The same for a pcapng file opened with pcapng_open (the caller closes
 * it): each packet with its own interface's link type. Returns 0, or 1 on a
 * read error (err says which), no interface, or no supported link type. */
int pipeline_run_pcapng(struct pipeline *p, struct pcapng *r, char *err, size_t errlen);
/* One captured packet (what pipeline_run does per packet). */
void pipeline_packet(struct pipeline *p, const struct capture_pkt *pkt);
/* End of capture: ends every open flow (reporting what is pending), then,
 * when stats is non-zero, writes the final stats event. */
void pipeline_finish(struct pipeline *p, int stats);
/* One line of totals (packets, connections, checksums, libnids) to f. */
void pipeline_summary(const struct pipeline *p, FILE *f);
void pipeline_free(struct pipeline *p);

/* Async-signal-safe: a stats event at the next packet or tick (SIGUSR1). */
void pipeline_request_stats(void);
/* Async-signal-safe (SIGHUP): re-read the key log at the next timer tick. */
void pipeline_request_keylog(void);

#endif
