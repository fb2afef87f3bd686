/* The per-connection TLS handshake state machine. It detects TLS by content
 * (on any port, after STARTTLS-style plaintext too), feeds both directions
 * through the dissector in capture order, follows every handshake (TLS
 * 1.0-1.2 full, resumed, with client authentication, renegotiated; TLS 1.3
 * 1-RTT, HRR, PSK, 0-RTT; SSLv2/SSLv3 recognised), infers what encrypted
 * records mean, and at the end of each handshake fills its typed facts
 * (src/facts.h, docs/facts.md) and hands them to the caller. */
#ifndef TLSWATCH_SESSION_H
#define TLSWATCH_SESSION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "flow.h"
#include "reassembly.h"
#include "facts.h"

enum hs_outcome {
    OUT_ESTABLISHED = 0,
    OUT_RESUMED,
    OUT_FAILED,
    OUT_ABORTED,
    OUT_TIMEOUT,
    OUT_RENEGOTIATED,
    OUT_RENEG_REJECTED,
    OUT_INCOMPLETE,
    OUT_COUNT
};
const char *session_outcome_name(int o);

struct session_opts {
    double handshake_timeout;   /* seconds without a server answer */
    size_t max_handshake_bytes; /* largest handshake message reassembled */
    size_t max_memory;          /* bytes of connection state; 0 = SESSION_DEFAULT_MAX_MEMORY */
    bool no_bypass;             /* keep finished handshakes in libnids (--bypass off) */
    bool message_log;           /* keep each connection's first messages for the facts' "messages" (--report) */
    bool keylog_follow;         /* live: the key log grows; re-read it when a handshake's keys are missing */
};

#define SESSION_DEFAULT_MAX_MEMORY ((size_t)256 << 20)

struct session_stats {
    uint64_t tls_flows, handshakes, by_outcome[OUT_COUNT];
    uint64_t not_tls_flows, starttls_flows, buffers_freed, released_at_close;
    /* memory budget: state held now and at most, connections whose state
     * was shed (oldest first) to stay within it, buffers refused */
    uint64_t mem_used, mem_peak, mem_budget, shed_flows, mem_refused;
    uint64_t reneg_not_reported; /* renegotiations past MAX_RENEG_REPORTED on a connection */
    uint64_t keylog_added;       /* client randoms read from a growing key log after the start */
    /* certificates summarised, and how many of them came from the cache
     * of parsed certificates (src/x509cache.h) */
    uint64_t certs_summarised, certs_from_cache;
    /* holes reported by reassembly in bypassed flows, and what the record
     * streams did about them (found their records again / bytes scanned) */
    uint64_t gaps, gap_bytes, records_resynced, resync_skipped;
    /* handshakes unanswered at --handshake-timeout (the verdict waits for
     * the flow's end), and those the server answered after all */
    uint64_t timeouts_passed, late_answers;
    uint64_t ovpn_flows; /* OpenVPN connections (TLS in the control channel) */
};

/* Called once per handshake when its outcome is decided. facts, and all
 * they point to, are valid during the call only. ts is the time of the
 * decision. */
typedef void (*session_emit_fn)(void *ctx, struct flow *f, const tls_facts *facts,
                                const struct timeval *ts);

struct sessions;

struct sessions *sessions_new(const struct session_opts *o, session_emit_fn emit, void *ctx);
void sessions_free(struct sessions *s);

/* Reassembly callbacks (wired by main). Connection state is never freed
 * while the dissector is reading it: switching a finished handshake to
 * record headers only, and shedding state under the memory budget, happen
 * between dissector calls. */
/* Returns enum reasm_verdict bits: the directions whose payload is no
 * longer needed (not TLS, or a non-TLS answer). */
unsigned session_on_data(struct sessions *s, struct flow *f, enum flow_dir dir, const uint8_t *data,
                         size_t len, const struct timeval *ts);
/* n bytes of dir lost by the capture (bypassed flows): the record stream
 * resynchronises after them. Returns enum reasm_verdict bits. */
unsigned session_on_gap(struct sessions *s, struct flow *f, enum flow_dir dir, uint64_t n,
                        const struct timeval *ts);
void session_on_tcp_event(struct sessions *s, struct flow *f, enum flow_dir dir,
                          enum reasm_tcp_event ev, const struct timeval *ts);
/* The flow is over: decide what is pending, free the connection state. */
void session_on_end(struct sessions *s, struct flow *f);
/* +1 the sender of this payload is a TLS client, -1 a server, 0 unknown. */
int session_role_hint(const uint8_t *payload, size_t len);
/* Handshake timeouts in capture time (call per packet or per tick). */
void sessions_tick(struct sessions *s, const struct timeval *now);
/* Counts client randoms a refresh of the key log added (stats). */
void sessions_keylog_added(struct sessions *s, int n);
/* The capture dropped packets between capture times `from` and `to`
 * (kernel or interface drops seen by the capture's statistics): the
 * handshakes alive then say capture_loss, so a missing message is not read
 * as a peer's fault. Returns how many handshakes so far said it. */
void sessions_note_capture_loss(struct sessions *s, double from, double to);
uint64_t sessions_capture_loss_flagged(const struct sessions *s);

const struct session_stats *sessions_stats(const struct sessions *s);
/* Validate server chains (and remember leaves per name) with this checker. */
struct certcheck;
void sessions_set_certcheck(struct sessions *s, struct certcheck *cc);
/* Read encrypted records with the secrets of this key log (SSLKEYLOGFILE). */
struct keylog;
void sessions_set_keylog(struct sessions *s, struct keylog *kl);

#endif
