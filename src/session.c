/* Per-connection TLS handshake state machine: the connection's life (its
 * state is made at its first payload and released in one place), the
 * memory budget all connections share, and the handshakes (struct hs)
 * driven by the events of the dissector's tls_stream, one per direction,
 * fed in capture order. Its helpers, one job each (shared definitions in
 * session_int.h):
 *   session_detect.c   when a connection becomes TLS (detection by content)
 *   session_keyless.c  what encrypted records mean, without keys
 *   session_decrypt.c  reading encrypted records with a key log
 *   session_facts.c    the typed facts of a decided handshake
 *
 * A handshake's outcome is decided once: when it completes (≤1.2: both
 * Finished; 1.3: traffic after the client's Finished), at a fatal alert
 * followed by a close, at RST / both FIN, at the handshake timeout, or when
 * the flow ends (every exit path, see session_on_end). Then its facts tree
 * is built and emitted. */
#include "session.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certcheck.h"
#include "session_int.h"
#include "tls_names.h"
#include "tls_stream.h"
#include "x509_summary.h"
#include "xalloc.h"

#define DEFER_REPORT 60.0 /* seconds an established handshake waits to be reported */
#define MAX_DER_BYTES 65536
#define MAX_RENEG_REPORTED 64 /* renegotiations reported per connection; later ones are counted */

/* ------------------------------------------------------------- memory */

/* Every byte of connection state (struct tconn, struct hs, the dissector's
 * gathering buffers) is charged to one budget (--max-memory). When it would
 * be exceeded the least recently fed connections are shed whole: their
 * pending handshake is reported as incomplete_capture and their state
 * freed, the flow goes on untracked. The connection being fed is never
 * shed; if nothing else can go, a buffer is refused (the record or message
 * is skipped with the memory_budget anomaly) and the run goes on. */
static void shed(struct sessions *s, struct tconn *c);

static void charge(struct sessions *s, size_t n)
{
    s->st.mem_used += n;
    if (s->st.mem_used > s->st.mem_peak) s->st.mem_peak = s->st.mem_used;
}

static void uncharge(struct sessions *s, size_t n) { s->st.mem_used -= n <= s->st.mem_used ? n : s->st.mem_used; }

static bool make_room(struct sessions *s, size_t n)
{
    struct tconn *v = s->lru_head;
    while (s->st.mem_used + n > s->st.mem_budget && v) {
        struct tconn *next = v->lru_next;
        if (v != s->current && !v->in_feed) shed(s, v);
        v = next;
    }
    return s->st.mem_used + n <= s->st.mem_budget;
}

static void *mem_alloc(void *user, size_t n)
{
    struct sessions *s = user;
    void *p = make_room(s, n) ? malloc(n) : NULL;
    if (!p) {
        s->st.mem_refused++;
        return NULL;
    }
    charge(s, n);
    return p;
}

static void mem_release(void *user, void *p, size_t n)
{
    free(p);
    uncharge(user, n);
}

static void lru_unlink(struct sessions *s, struct tconn *c)
{
    if (c->lru_prev) c->lru_prev->lru_next = c->lru_next;
    else if (s->lru_head == c) s->lru_head = c->lru_next;
    if (c->lru_next) c->lru_next->lru_prev = c->lru_prev;
    else if (s->lru_tail == c) s->lru_tail = c->lru_prev;
    c->lru_prev = c->lru_next = NULL;
}

static void lru_touch(struct sessions *s, struct tconn *c)
{
    if (s->lru_tail == c) return;
    lru_unlink(s, c);
    c->lru_prev = s->lru_tail;
    if (s->lru_tail) s->lru_tail->lru_next = c;
    else s->lru_head = c;
    s->lru_tail = c;
}

const char *session_outcome_name(int o)
{
    const char *n = facts_enum_name(EN_OUTCOME, o); /* the facts' table */
    return n ? n : "unknown";
}

/* -------------------------------------------------------------- history */

static void mlog_put(struct tconn *c, int dir, char letter, int code)
{
    if (c->ml->n >= MLOG_MAX) return;
    struct mlog_ent *e = &c->ml->e[c->ml->n++];
    e->dir = (uint8_t)dir;
    e->type = letter;
    e->code = (int16_t)(code < 0 || code > 255 ? -1 : code);
    double ms = (c->now - tvd(&c->f->first_ts)) * 1e3;
    e->ms = (float)(ms > 0 ? ms : 0);
}

void mlog_add(struct tconn *c, int dir, char letter, int code)
{
    if (!c->ml) return;
    uint8_t np = c->ml->npend[dir];
    c->ml->npend[dir] = 0;
    if (np && (letter == 'E' || letter == 'c' || letter == 'h')) { /* the record's messages, read with the key log */
        for (uint8_t i = 0; i < np; i++) mlog_put(c, dir, c->ml->pend[dir][i], -1);
        return;
    }
    mlog_put(c, dir, letter, code);
}

void mlog_decrypted(struct tconn *c, int dir, char letter)
{
    if (c->ml && c->ml->npend[dir] < sizeof c->ml->pend[dir]) c->ml->pend[dir][c->ml->npend[dir]++] = letter;
}

void hist_add(struct tconn *c, int dir, char letter)
{
    if (letter != 'L') mlog_add(c, dir, letter, -1); /* alerts: with their code (handle_alert) */
    hist_letter(c, dir, letter);
}

void hist_letter(struct tconn *c, int dir, char letter)
{
    if (c->hist_len >= HIST_MAX) return;
    char ch = dir == C ? letter : (char)(letter - 'A' + 'a');
    if (letter == '^') ch = '^';
    c->hist[c->hist_len++] = ch;
    c->hist[c->hist_len] = '\0';
}

/* The history alphabet (facts history, the message log): handshake
 * messages by type, then the letters of other records and events. */
static const struct {
    uint8_t type;
    char letter;
    const char *name;
} hs_alphabet[] = {
    { TLS_HS_HELLO_REQUEST, 'H', "HelloRequest" },
    { TLS_HS_CLIENT_HELLO, 'C', "ClientHello" },
    { TLS_HS_SERVER_HELLO, 'S', "ServerHello" },
    { TLS_HS_HELLO_VERIFY_REQUEST, 'V', "HelloVerifyRequest" },
    { TLS_HS_NEW_SESSION_TICKET, 'T', "NewSessionTicket" },
    { TLS_HS_CERTIFICATE, 'X', "Certificate" },
    { TLS_HS_SERVER_KEY_EXCHANGE, 'K', "ServerKeyExchange" },
    { TLS_HS_CERTIFICATE_REQUEST, 'R', "CertificateRequest" },
    { TLS_HS_SERVER_HELLO_DONE, 'N', "ServerHelloDone" },
    { TLS_HS_CERTIFICATE_VERIFY, 'Y', "CertificateVerify" },
    { TLS_HS_CLIENT_KEY_EXCHANGE, 'G', "ClientKeyExchange" },
    { TLS_HS_FINISHED, 'F', "Finished" },
    { TLS_HS_CERTIFICATE_STATUS, 'U', "CertificateStatus" },
    { TLS_HS_ENCRYPTED_EXTENSIONS, 'O', "EncryptedExtensions" },
    { TLS_HS_KEY_UPDATE, 'P', "KeyUpdate" },
};
static const struct {
    char letter;
    const char *name;
} other_alphabet[] = {
    { 'J', "HelloRetryRequest" }, { 'I', "ChangeCipherSpec" },
    { 'B', "Heartbeat" }, { 'L', "Alert" },
    { 'E', "EncryptedHandshake" }, { 'Q', "NotTLS" },
    { 'c', "ClientHello (encrypted)" }, { 'h', "HelloRequest (encrypted)" },
    { '.', "FIN" }, { '!', "RST" },
};

char hs_letter(uint8_t type)
{
    for (size_t i = 0; i < sizeof hs_alphabet / sizeof hs_alphabet[0]; i++)
        if (hs_alphabet[i].type == type) return hs_alphabet[i].letter;
    return 'Z';
}

const char *hist_letter_name(char letter)
{
    for (size_t i = 0; i < sizeof hs_alphabet / sizeof hs_alphabet[0]; i++)
        if (hs_alphabet[i].letter == letter) return hs_alphabet[i].name;
    for (size_t i = 0; i < sizeof other_alphabet / sizeof other_alphabet[0]; i++)
        if (other_alphabet[i].letter == letter) return other_alphabet[i].name;
    return "Other";
}

/* A message name into a NAME_LEN field, cut if longer (on every record:
 * a bounded copy, not snprintf). */
void copy_name(char dst[NAME_LEN], const char *name)
{
    size_t n = strnlen(name, NAME_LEN - 1);
    memcpy(dst, name, n);
    dst[n] = '\0';
}

void set_last(struct tconn *c, int dir, const char *name)
{
    copy_name(c->last[dir], name);
    copy_name(c->last_any, name);
}

/* -------------------------------------------------------- timeout list */

static void to_unlink(struct sessions *s, struct hs *h)
{
    if (!h->in_to) return;
    if (h->to_prev) {
        h->to_prev->to_next = h->to_next;
    } else {
        s->to_head = h->to_next;
        if (s->to_head) s->to_head_start = s->to_head->t_start;
    }
    if (h->to_next) h->to_next->to_prev = h->to_prev;
    else s->to_tail = h->to_prev;
    h->to_prev = h->to_next = NULL;
    h->in_to = false;
}

static void to_append(struct sessions *s, struct hs *h)
{
    if (h->in_to) return;
    h->to_prev = s->to_tail;
    h->to_next = NULL;
    if (s->to_tail) {
        s->to_tail->to_next = h;
    } else {
        s->to_head = h;
        s->to_head_start = h->t_start;
    }
    s->to_tail = h;
    h->in_to = true;
}

/* ------------------------------------------------------------- decisions */

static void free_hs(struct hs *h)
{
    uncharge(h->c->s, sizeof *h);
    for (int i = 0; i < h->nder; i++) free(h->der[i]);
    free(h->leaf);
    free(h->chain_x);
    free(h->client_leaf);
    if (h->alerts) {
        uncharge(h->c->s, MAX_ALERTS * sizeof *h->alerts);
        free(h->alerts);
    }
    fl_put(&h->c->s->hs_pool, h);
}

void decide(struct tconn *c, struct hs *h, int outcome)
{
    if (h->decided) return;
    h->decided = true;
    to_unlink(c->s, h);
    struct sessions *s = c->s;
    s->st.handshakes++;
    s->st.by_outcome[outcome]++;
    if (h->reneg && c->reneg_count > MAX_RENEG_REPORTED) {
        /* a renegotiation storm: counted (renegotiation_count of the
         * events that are written, stats), not reported one by one */
        s->st.reneg_not_reported++;
        c->anomalies |= TLS_ANOM_BIT(LIST_TRUNCATED);
        return;
    }
    struct emit_buf *eb = &s->eb;
    tls_facts *facts = build_facts(c, h, outcome, eb);
    if (s->cc && h->nder > 0 && !h->inherited) {
        const char *name = facts->sni;
        /* certificate memory keyed by server address, port and name: one
         * name served by several addresses may have several certificates */
        char key[384];
        char ip[64];
        flow_addr_str(c->f, c->f->srv.addr, ip, sizeof ip);
        snprintf(key, sizeof key, "%s:%u|%s", ip, c->f->srv.port, name ? name : "");
        /* chain verdict (cached by chain) + certificate-changed memory */
        eb->cc.facts = facts;
        certcheck_server(s->cc, (const uint8_t *const *)h->der, h->der_len, (size_t)h->nder, name, key,
                         (int64_t)h->t_start, &eb->cc);
    }
    struct timeval tv = { (time_t)c->now, (suseconds_t)((c->now - (double)(time_t)c->now) * 1e6) };
    if (s->emit) s->emit(s->ctx, c->f, facts, &tv);
}

static bool server_silent(const struct tconn *c, const struct hs *h)
{
    (void)h;
    return !c->server_answered;
}

/* Decide a handshake that has not decided itself, on an exit path. */
static void settle(struct tconn *c, struct hs *h, bool closed)
{
    if (h->decided) return;
    double tmo = c->s->o.handshake_timeout;
    if (h->reneg) {
        if (h->done) decide(c, h, OUT_RENEGOTIATED);
        else if (h->reneg_rejected_seen || h->reneg_ignored || closed)
            decide(c, h, OUT_RENEG_REJECTED);
        else decide(c, h, OUT_INCOMPLETE);
        return;
    }
    if (h->done && (h->have_sh || !h->gap)) { /* lost ServerHello: what was agreed is unknown */
        decide(c, h, is_resumed(h) ? OUT_RESUMED : OUT_ESTABLISHED);
        return;
    }
    if (!h->have_ch) {
        decide(c, h, OUT_INCOMPLETE);
        return;
    }
    if (c->server_not_tls || h->fatal) {
        decide(c, h, OUT_FAILED);
        return;
    }
    if (h->gap) {
        /* what was lost may be what the inferences below would read: a
         * server that did nothing wrong must not be blamed for the tap */
        decide(c, h, OUT_INCOMPLETE);
        return;
    }
    if (h->tls13 && h->server_alert13 && closed && c->close_by == C && !h->client_rejected13) {
        /* the client closed first: a server that had sent a fatal alert
         * would have closed itself; its short record was data */
        undo_server_alert13(c, h);
        decide(c, h, is_resumed(h) ? OUT_RESUMED : OUT_ESTABLISHED);
        return;
    }
    if (h->client_rejected13 || (h->tls13 && h->server_alert13 && closed)) {
        decide(c, h, OUT_FAILED);
        return;
    }
    if (h->done) {
        decide(c, h, is_resumed(h) ? OUT_RESUMED : OUT_ESTABLISHED);
        return;
    }
    if (h->tls13 && h->fin[C]) {
        h->done = true;
        h->t_done = c->now;
        decide(c, h, is_resumed(h) ? OUT_RESUMED : OUT_ESTABLISHED);
        return;
    }
    if (h->enc_alert_in_hs && closed) {
        decide(c, h, OUT_FAILED);
        return;
    }
    if (any_gap(c)) {
        decide(c, h, OUT_INCOMPLETE);
        return;
    }
    double waited = c->now - h->t_start;
    if (closed) {
        /* the client gave up waiting for any answer (a timeout as it saw it),
         * or --handshake-timeout passed before either side closed */
        if (server_silent(c, h) && (h->timeout_passed || (c->close_by == C && waited >= (tmo < 1.0 ? tmo : 1.0))))
            decide(c, h, OUT_TIMEOUT);
        else decide(c, h, OUT_ABORTED);
        return;
    }
    /* the flow idled out or the capture ended: unanswered past
     * --handshake-timeout (seen by the timers, or by this flow's clock) */
    if (server_silent(c, h) && (h->timeout_passed || waited >= tmo)) {
        decide(c, h, OUT_TIMEOUT);
        return;
    }
    decide(c, h, OUT_INCOMPLETE);
}

/* A finished handshake no longer needs handshake bytes: keep record
 * headers only, so long flows cost nothing. Called from dissector
 * callbacks, so it only asks; apply_deferred() switches once the dissector
 * has returned and no record is half read (it may take a few feeds). */
static void maybe_headers_only(struct tconn *c)
{
    if (c->headers_only || !c->first_done || c->keys_found) return;
    c->want_headers_only = true;
}

static void apply_deferred(struct tconn *c)
{
    if (!c->want_headers_only || c->headers_only || c->in_feed) return;
    if (c->keys_found) {
        c->want_headers_only = false;
        return;
    }
    if (c->st[C].rec.enc == TLS_RECORD_CLEAR || c->st[S].rec.enc == TLS_RECORD_CLEAR) return;
    /* a record whose body is being gathered would lose it; one being
     * skipped (encrypted application data, most of a long flow) or half a
     * header (kept aside) loses nothing */
    if (tls_record_gathering(&c->st[C].rec) || tls_record_gathering(&c->st[S].rec)) return;
    for (int d = 0; d < 2; d++) {
        tls_stream_set_headers_only(&c->st[d], true);
        tls_stream_release(&c->st[d]);
    }
    c->want_headers_only = false;
    c->headers_only = true;
    c->s->st.buffers_freed++;
}

static void finish_current(struct tconn *c)
{
    struct hs *h = c->cur;
    if (!h) return;
    settle(c, h, false);
    free_hs(h);
    c->cur = NULL;
}

void complete(struct tconn *c, struct hs *h)
{
    if (h->done) return;
    h->done = true;
    h->t_done = c->now;
    if (!h->reneg) {
        /* reported later (next handshake, close, end of flow, or
         * DEFER_REPORT seconds on), so what happens right after it on the
         * connection -- heartbeats, alerts -- is in its facts */
        c->first_done = true;
    } else {
        decide(c, h, OUT_RENEGOTIATED);
    }
    maybe_headers_only(c);
}

struct hs *new_hs(struct tconn *c, bool reneg, int initiator)
{
    make_room(c->s, sizeof(struct hs)); /* never refused: bounded to one per connection */
    struct hs *h = fl_get(&c->s->hs_pool);
    charge(c->s, sizeof *h);
    if (reneg && c->cur && c->cur->have_sh) {
        /* an encrypted renegotiation shows no hellos: report it with what
         * the first handshake negotiated, and say so */
        h->ch = c->cur->ch;
        h->sh = c->cur->sh;
        h->have_ch = c->cur->have_ch;
        h->have_sh = true;
        h->inherited = true;
    }
    if (c->cur) finish_current(c);
    h->c = c;
    h->index = c->n_hs++;
    h->reneg = reneg;
    h->initiator = initiator;
    h->ocsp_status = -1;
    h->t_start = c->now;
    h->tls13 = c->tls13;
    if (reneg) c->reneg_count++;
    c->cur = h;
    return h;
}

/* ------------------------------------------------------------- handlers */

void add_alert(struct tconn *c, struct hs *h, int dir, int level, int code, bool enc, bool inferred)
{
    if (h->nalerts >= MAX_ALERTS) {
        h->alerts_dropped++; /* counted in alert_count, flagged as a cut list */
        c->anomalies |= TLS_ANOM_BIT(LIST_TRUNCATED);
        return;
    }
    if (!h->alerts) {
        h->alerts = xcalloc(MAX_ALERTS, sizeof *h->alerts);
        charge(c->s, MAX_ALERTS * sizeof *h->alerts);
    }
    struct alert_rec *a = &h->alerts[h->nalerts++];
    a->from = (uint8_t)dir;
    a->level = enc ? -1 : level;
    a->code = enc ? -1 : code;
    a->encrypted = enc;
    a->inferred = inferred;
    a->during_hs = !h->done && !(h->reneg && h->reneg_ignored);
    a->after_peer_close = c->close_by >= 0 && c->close_by != dir;
    a->time = c->now;
    copy_name(a->after, c->last_any);
}

/* One parse per certificate: the summaries are what the facts show. */
static x509_summary *summary_slot(x509_summary **p)
{
    if (!*p) *p = xmalloc(sizeof **p);
    return *p;
}

/* x509_summary_parse through the sessions' cache of parsed certificates. */
static void summarize(struct sessions *s, const uint8_t *der, size_t len, x509_summary *out)
{
    uint64_t hits = x509cache_stats(s->xc)->hits;
    x509cache_summary(s->xc, der, len, out);
    s->st.certs_summarised++;
    if (x509cache_stats(s->xc)->hits != hits) s->st.certs_from_cache++;
}

void summarize_chain(struct hs *h, const tls_certificate *cert, bool from_server)
{
    struct sessions *s = h->c->s;
    for (unsigned i = 0; i < cert->count; i++) {
        if (!from_server) {
            if (i == 0) summarize(s, cert->certs[i].der, cert->certs[i].len, summary_slot(&h->client_leaf));
            continue;
        }
        if (i == 0) {
            summarize(s, cert->certs[i].der, cert->certs[i].len, summary_slot(&h->leaf));
        } else if (h->nchain_x < TLS_CERT_CHAIN_MAX) {
            if (!h->chain_x) h->chain_x = xmalloc(TLS_CERT_CHAIN_MAX * sizeof *h->chain_x);
            summarize(s, cert->certs[i].der, cert->certs[i].len, &h->chain_x[h->nchain_x++]);
        }
        if (h->nder < MAX_DER && cert->certs[i].len <= MAX_DER_BYTES) {
            uint8_t *copy = malloc(cert->certs[i].len);
            if (copy) {
                memcpy(copy, cert->certs[i].der, cert->certs[i].len);
                h->der[h->nder] = copy;
                h->der_len[h->nder++] = cert->certs[i].len;
            }
        }
    }
}

static void on_client_hello(struct tconn *c, const tls_message *m, bool sslv2)
{
    struct hs *h = c->cur;
    if (!h || over(h)) {
        bool reneg = c->first_done;
        h = new_hs(c, reneg, C);
        if (reneg) h->reneg_cleartext = true;
    } else if (h->hrr && !h->have_sh) {
        /* second ClientHello after HelloRetryRequest: same handshake */
    } else if (h->have_ch) {
        /* a second ClientHello without a HelloRetryRequest: keep the offer
         * the server answers (the first), flag the second */
        h->duplicate_ch = true;
        return;
    }
    h->ch = m->u.ch;
    h->have_ch = true;
    h->ch_read = true;
    h->sslv2 = sslv2;
    if (!h->hrr) h->t_start = c->now;
    if (!h->reneg && !h->hrr) to_append(c->s, h);
}

static void keep_server_hello(struct sh_kept *k, const tls_server_hello *sh)
{
    k->legacy_version = sh->legacy_version;
    k->version = sh->version;
    k->cipher = sh->cipher;
    k->key_share_group = sh->ext.key_share_group;
    memcpy(k->random, sh->random, sizeof k->random);
    k->has_psk = sh->ext.has_psk;
    k->has_etm = sh->ext.has_etm;
    k->has_reneg_info = sh->ext.has_reneg_info;
    k->alpn_n = sh->ext.alpn_n;
    memcpy(k->alpn0, sh->ext.alpn[0], sizeof k->alpn0);
    k->types.n = sh->ext.types.n;
    k->types.truncated = sh->ext.types.truncated;
    memcpy(k->types.v, sh->ext.types.v, sh->ext.types.n * sizeof k->types.v[0]);
    k->anomalies = sh->anomalies;
}

static void on_server_hello(struct tconn *c, const tls_message *m)
{
    struct hs *h = c->cur;
    if (!h || over(h)) h = new_hs(c, c->first_done, S);
    const tls_server_hello *sh = &m->u.sh;
    if (sh->is_hrr) {
        h->hrr = true;
        h->hrr_group = sh->ext.key_share_group;
        return;
    }
    keep_server_hello(&h->sh, sh);
    h->have_sh = true;
    h->sh_read = true;
    h->t_sh = c->now;
    to_unlink(c->s, h);
    if (tls_names_version_is_tls13(sh->version)) {
        h->tls13 = true;
        c->tls13 = true;
    }
    tls_stream_set_context(&c->st[C], sh->version, sh->cipher);
    keys_at_server_hello(c, h);
}

static void on_handshake(struct tconn *c, int dir, const tls_event *ev)
{
    const tls_message *m = ev->msg;
    uint8_t type = ev->hs->type;
    if (type == TLS_HS_SERVER_HELLO && m->u.sh.is_hrr) hist_add(c, dir, 'J');
    else hist_add(c, dir, hs_letter(type));
    char nb[NAME_LEN];
    set_last(c, dir, tls_names_fmt(tls_names_handshake_type(type), type, nb, sizeof nb));
    if (type == TLS_HS_CLIENT_HELLO && dir == C) {
        on_client_hello(c, m, false);
        return;
    }
    if (type == TLS_HS_SERVER_HELLO && dir == S) {
        on_server_hello(c, m);
        return;
    }
    struct hs *h = c->cur;
    if (type == TLS_HS_HELLO_REQUEST && dir == S) {
        if (c->first_done && (!h || over(h))) new_hs(c, true, S)->reneg_cleartext = true;
        return;
    }
    if (!h) h = new_hs(c, c->first_done, dir);
    switch (type) {
    case TLS_HS_CERTIFICATE:
        if (dir == S) {
            h->server_cert_seen = true;
            h->chain_len = m->u.cert.count + m->u.cert.truncated;
            summarize_chain(h, &m->u.cert, true);
        } else {
            h->client_cert_sent = true;
            h->client_cert_empty = m->u.cert.count == 0;
            summarize_chain(h, &m->u.cert, false);
        }
        break;
    case TLS_HS_SERVER_KEY_EXCHANGE:
        h->ske_group = m->u.ske.group;
        h->dh_bits = m->u.ske.dh_p_bits;
        break;
    case TLS_HS_CERTIFICATE_REQUEST:
        h->cert_request = true;
        h->ca_names = m->u.cr.ca_names;
        break;
    case TLS_HS_CERTIFICATE_STATUS: {
        x509_ocsp oc;
        if (m->u.cs.response && x509_summary_ocsp(m->u.cs.response, m->u.cs.response_len, &oc))
            h->ocsp_status = oc.cert_status;
        break;
    }
    case TLS_HS_NEW_SESSION_TICKET:
        h->nst = true;
        break;
    case TLS_HS_SERVER_HELLO_DONE:
        h->shd = true;
        break;
    default:
        break;
    }
}

static void on_sslv2(struct tconn *c, int dir, const tls_event *ev)
{
    if (ev->msg && dir == C) {
        hist_add(c, dir, 'C');
        set_last(c, dir, "client_hello");
        on_client_hello(c, ev->msg, true);
        return;
    }
    if (ev->sslv2_sh && dir == S) {
        hist_add(c, dir, 'S');
        set_last(c, dir, "server_hello");
        struct hs *h = c->cur;
        if (!h) h = new_hs(c, false, S);
        memset(&h->sh, 0, sizeof h->sh);
        h->sh.version = 0x0002;
        h->sh.legacy_version = 0x0002;
        h->have_sh = true;
        h->t_sh = c->now;
        to_unlink(c->s, h);
        if (ev->sslv2_sh->cert && ev->sslv2_sh->cert_len) {
            summarize(c->s, ev->sslv2_sh->cert, ev->sslv2_sh->cert_len, summary_slot(&h->leaf));
            h->server_cert_seen = true;
            h->chain_len = 1;
        }
        /* SSLv2 is not followed further: its handshake is encrypted
         * without a visible CCS; the server answering is the verdict. */
        h->done = true;
        h->t_done = c->now;
        c->first_done = true;
        decide(c, h, OUT_ESTABLISHED);
    }
}

static void on_alert(struct tconn *c, int dir, const tls_event *ev)
{
    const tls_alert *a = &ev->alert;
    if (a->encrypted && c->pending_code[dir] >= 0) {
        int l = c->pending_level[dir], code = c->pending_code[dir];
        c->pending_code[dir] = -1;
        handle_alert(c, dir, l, code, true, true);
        return;
    }
    handle_alert(c, dir, a->encrypted ? -1 : a->level, a->encrypted ? -1 : a->description, a->encrypted, false);
}

void handle_alert(struct tconn *c, int dir, int level, int code, bool encrypted, bool decrypted)
{
    struct hs *h = c->cur;
    int known = encrypted && !decrypted ? -1 : code; /* the description, when read */
    mlog_add(c, dir, 'L', known);
    if (h && h->done && !h->decided && !h->reneg) {
        /* after the handshake (close_notify and the like): counted, not
         * part of the handshake's alerts or history */
        c->post_alerts++;
        c->post_alert_level = encrypted && !decrypted ? -1 : level;
        c->post_alert_code = known;
        c->post_alert_from = dir;
        set_last(c, dir, "alert");
        return;
    }
    hist_add(c, dir, 'L');
    if (!h && !c->first_done) h = new_hs(c, false, dir);
    if (!h || h->decided) {
        /* after a decided handshake (close_notify and the like) */
        set_last(c, dir, "alert");
        return;
    }
    bool peer_closed = c->close_by >= 0 && c->close_by != dir;
    if (encrypted && !decrypted) {
        add_alert(c, h, dir, -1, -1, true, false);
        if (h->reneg && dir != h->initiator && !h->reneg_answered && !h->reneg_ignored) {
            h->reneg_rejected_seen = true;
            h->reneg_rejecter = dir;
        } else if (!h->done && !peer_closed && !h->reneg) {
            h->enc_alert_in_hs = true;
        }
    } else {
        add_alert(c, h, dir, level, code, false, false);
        if (decrypted) {
            if (h->nalerts) h->alerts[h->nalerts - 1].decrypted = true;
            if (h->reneg && dir != h->initiator && !h->reneg_answered && !h->reneg_ignored &&
                (level == 2 || code == TLS_ALERT_NO_RENEGOTIATION)) {
                h->reneg_rejected_seen = true;
                h->reneg_rejecter = dir;
            }
        }
        /* a fatal alert sent after the peer hung up is a consequence of the
         * abort, not its cause */
        if (level == 2 && !h->done && !peer_closed && code != 0) h->fatal = true;
        if (h->reneg && dir != h->initiator && code == TLS_ALERT_NO_RENEGOTIATION) {
            h->reneg_rejected_seen = true;
            h->reneg_rejecter = dir;
        }
    }
    set_last(c, dir, "alert");
}

static void on_ccs(struct tconn *c, int dir, const tls_event *ev)
{
    hist_add(c, dir, 'I');
    struct hs *h = c->cur;
    if (!h || c->tls13) return; /* TLS 1.3 middlebox compatibility CCS */
    if (ev->rec && ev->rec->encrypted) {
        /* a renegotiation's CCS, under the old keys */
        if (h->reneg && !h->decided) h->ccs[dir] = true;
        keys_at_renegotiation_ccs(c, dir, h);
        return;
    }
    h->ccs[dir] = true;
    /* abbreviated (resumed): the server's CCS follows its ServerHello with
     * no Certificate, ServerKeyExchange or ServerHelloDone in between
     * (anonymous and PSK suites send no Certificate in a full handshake) */
    if (dir == S && h->have_sh && !h->server_cert_seen && !h->shd) h->abbreviated = true;
    set_last(c, dir, "change_cipher_spec");
}

static void on_record(struct tconn *c, int dir, const tls_record *r)
{
    if (r->encrypted) {
        if (decrypt_record(c, dir, r)) {
            c->enc_records[dir]++;
            c->enc_bytes[dir] += r->length;
            return;
        }
        c->enc_records[dir]++;
        c->enc_bytes[dir] += r->length;
        if (r->content_type == TLS_CT_HEARTBEAT) {
            /* encrypted: a client record is a request, a server record a
             * response; a response far longer than the request is what a
             * successful Heartbleed looks like from outside */
            c->hb_encrypted = true;
            if (dir == C) {
                c->hb_enc_req++;
                if (r->length > c->hb_max_req) c->hb_max_req = r->length;
            } else {
                c->hb_enc_resp++;
                if (r->length > c->hb_max_resp) c->hb_max_resp = r->length;
            }
        }
        if (c->tls13) on_encrypted_tls13(c, dir, r);
        else on_encrypted_tls12(c, dir, r);
        return;
    }
    if (r->content_type == TLS_CT_APPLICATION_DATA && dir == C && c->cur && c->cur->have_ch &&
        !c->cur->have_sh) {
        c->cur->early_data_sent = true; /* TLS 1.3 0-RTT before the ServerHello */
        return;
    }
    if (r->content_type == TLS_CT_APPLICATION_DATA && !c->cur) {
        /* picked up after the handshake: everything from here is ciphertext */
        tls_stream_set_encrypted(&c->st[dir], TLS_RECORD_ENC_TLS12);
        c->enc_records[dir]++;
        c->enc_bytes[dir] += r->length;
        return;
    }
    if (r->content_type == TLS_CT_HANDSHAKE && dir == C && c->tls13 && c->cur && !over(c->cur) &&
        !c->cur->reneg && c->cur->fin[C] && !c->cur->server_alert13)
        complete(c, c->cur); /* the client finished; what follows is after the handshake */
    if (r->content_type == TLS_CT_HANDSHAKE && dir == C && c->tls13 && c->first_done &&
        (!c->cur || over(c->cur))) {
        /* a cleartext handshake record from the client after a TLS 1.3
         * handshake: a ClientHello, i.e. renegotiation, which 1.3 forbids */
        struct hs *h = new_hs(c, true, C);
        h->reneg_cleartext = true;
        hist_add(c, dir, 'C');
        set_last(c, dir, "client_hello");
        return;
    }
    if (r->content_type < 20 || r->content_type > 24) hist_add(c, dir, 'Q');
}

static void on_tls_event(void *user, const tls_event *ev)
{
    struct side *sd = user;
    struct tconn *c = sd->c;
    int dir = sd->dir;
    switch (ev->kind) {
    case TLS_EV_RECORD: on_record(c, dir, ev->rec); break;
    case TLS_EV_HANDSHAKE: on_handshake(c, dir, ev); break;
    case TLS_EV_ALERT: on_alert(c, dir, ev); break;
    case TLS_EV_CCS: on_ccs(c, dir, ev); break;
    case TLS_EV_HEARTBEAT:
        hist_add(c, dir, 'B');
        if (ev->heartbeat.type == 1) c->hb_req++;
        else if (ev->heartbeat.type == 2) c->hb_resp++;
        if (ev->heartbeat.overflow) c->hb_overflow = true;
        break;
    case TLS_EV_SSLV2: on_sslv2(c, dir, ev); break;
    default: break;
    }
}

/* --------------------------------------------------------- data entry */

/* Everything a connection holds, released in one place, never while the
 * dissector is reading it (then it waits for session_on_data to return). */
static void conn_free(struct tconn *c)
{
    if (c->in_feed) {
        c->free_pending = true;
        return;
    }
    struct sessions *s = c->s;
    if (c->state == ST_TLS)
        for (int d = 0; d < 2; d++) {
            tls_stream_release(&c->st[d]);
            s->st.records_resynced += c->st[d].rec.resyncs;
            s->st.resync_skipped += c->st[d].rec.resync_skipped;
            if (c->f) {
                c->f->records_resynced += (uint32_t)c->st[d].rec.resyncs;
                c->f->resync_skipped += c->st[d].rec.resync_skipped;
            }
        }
    if (c->inner_on)
        for (int d = 0; d < 2; d++) tls_handshake_reset(&c->inner[d]);
    tlsdec_free(&c->dec[0]);
    tlsdec_free(&c->dec[1]);
    lru_unlink(s, c);
    if (s->current == c) s->current = NULL;
    if (c->ml) uncharge(s, sizeof *c->ml);
    free(c->ml);
    uncharge(s, sizeof *c);
    fl_put(&s->conn_pool, c);
}

/* Budget pressure: the connection's pending handshake is reported as it
 * stands (incomplete_capture unless it had completed), then its state goes;
 * the flow's later bytes are ignored. */
static void shed(struct sessions *s, struct tconn *c)
{
    struct flow *f = c->f;
    s->st.shed_flows++;
    if (c->cur) {
        struct hs *h = c->cur;
        if (h->done) settle(c, h, false);
        else decide(c, h, OUT_INCOMPLETE);
        free_hs(h);
        c->cur = NULL;
    }
    conn_free(c);
    f->app = NULL;
    f->app_done = 1;
}

static struct tconn *conn_of(struct sessions *s, struct flow *f)
{
    struct tconn *c = f->app;
    if (c) return c;
    make_room(s, sizeof *c);
    c = fl_get(&s->conn_pool);
    charge(s, sizeof *c);
    if (s->o.message_log) { /* one allocation per connection, none per message */
        c->ml = xcalloc(1, sizeof *c->ml);
        charge(s, sizeof *c->ml);
    }
    c->s = s;
    c->f = f;
    c->close_by = -1;
    c->pending_code[0] = c->pending_code[1] = -1;
    f->app = c;
    return c;
}

void start_tls(struct sessions *s, struct tconn *c)
{
    size_t hs_cap = s->o.max_handshake_bytes;
    for (int d = 0; d < 2; d++) {
        /* no buffers up front: the dissector asks s->mem when a record or
         * message spans segments, for as much as has arrived */
        tls_stream_config cfg = {
            .max_handshake = (uint32_t)hs_cap, .is_server = d == S,
        };
        c->side[d].c = c;
        c->side[d].dir = d;
        tls_stream_init(&c->st[d], &cfg, on_tls_event, &c->side[d]);
        tls_stream_set_mem(&c->st[d], &s->mem);
    }
    c->state = ST_TLS;
    c->midstream = c->f->midstream;
    s->st.tls_flows++;
}

static void feed(struct sessions *s, struct tconn *c, int dir, const uint8_t *data, size_t len,
                 const struct timeval *ts);

/* What session_on_data and session_on_gap do once the dissector has
 * returned: a free asked meanwhile, deferred switches, and the verdict for
 * reassembly (REASM_BYPASS once only record headers are read). */
static unsigned after_feed(struct sessions *s, struct tconn *c)
{
    if (c->free_pending) {
        c->free_pending = false;
        conn_free(c);
        return s->verdict;
    }
    apply_deferred(c);
    /* the bypass tracker reads TLS record headers on the TCP bytes: not
     * what an OpenVPN connection carries */
    if (c->headers_only && c->state == ST_TLS && !c->ovpn && !s->o.no_bypass) s->verdict |= REASM_BYPASS;
    return s->verdict;
}

unsigned session_on_data(struct sessions *s, struct flow *f, enum flow_dir dir, const uint8_t *data,
                         size_t len, const struct timeval *ts)
{
    if (f->app_done) return REASM_GO_ON; /* retransmissions after the close */
    struct tconn *c = conn_of(s, f);
    lru_touch(s, c);
    s->current = c;
    s->verdict = REASM_GO_ON;
    c->in_feed++;
    feed(s, c, (int)dir, data, len, ts);
    c->in_feed--;
    if (s->current == c) s->current = NULL;
    return after_feed(s, c);
}

unsigned session_on_gap(struct sessions *s, struct flow *f, enum flow_dir dir, uint64_t n,
                        const struct timeval *ts)
{
    if (f->app_done) return REASM_GO_ON;
    struct tconn *c = f->app;
    if (!c) return REASM_GO_ON;
    s->current = c;
    s->verdict = REASM_GO_ON;
    s->st.gaps++;
    s->st.gap_bytes += n;
    c->now = tvd(ts);
    c->in_feed++;
    if (c->state == ST_TLS) {
        /* the other direction's records show the connection is TLS */
        if (c->st[!dir].rec.records) tls_record_set_tls_known(&c->st[dir].rec);
        if (c->ovpn) ovpn_gap(c, (int)dir, n); /* tells the record layer what it lost */
        else tls_stream_gap(&c->st[dir], n);
        /* lost bytes were sent: what follows is not a first answer to test */
        if ((int)dir == S) c->server_answered = true;
        if (c->cur && !c->cur->done && !c->cur->decided) c->cur->gap = true;
    }
    c->in_feed--;
    if (s->current == c) s->current = NULL;
    return after_feed(s, c);
}

static void feed(struct sessions *s, struct tconn *c, int dir, const uint8_t *data, size_t len,
                 const struct timeval *ts)
{
    c->now = tvd(ts);
    if (c->cur && c->cur->done && !c->cur->decided && c->now - c->cur->t_done > DEFER_REPORT)
        settle(c, c->cur, false);
    if (c->state == ST_NOT_TLS || !len) return;
    if (c->state == ST_DETECT) {
        detect(s, c, dir, data, len);
        if (c->state != ST_TLS || c->ovpn) return; /* OpenVPN: the demultiplexer had the bytes */
    }
    if (c->ovpn) {
        ovpn_feed(c, dir, data, len);
        return;
    }
    if (dir == DIR_TO_CLIENT && !c->server_answered) {
        c->server_answered = true;
        if (c->cur && c->cur->have_ch && !c->cur->t_answer) {
            c->cur->t_answer = c->now;
            if (c->cur->timeout_passed) {
                c->cur->late_answer = true;
                s->st.late_answers++;
            }
        }
        if (c->cur && c->cur->have_ch && !may_start_record(data, len)) {
            c->server_not_tls = true;
            printable(c->server_first, data, len);
            hist_add(c, S, 'Q');
            s->verdict |= REASM_STOP_TO_CLIENT;
            return;
        }
    }
    if (dir == DIR_TO_CLIENT && c->server_not_tls) return;
    tls_stream_feed(&c->st[dir], data, len);
}

static void tcp_event(struct sessions *s, struct flow *f, enum flow_dir dir, enum reasm_tcp_event ev,
                      const struct timeval *ts);

void session_on_tcp_event(struct sessions *s, struct flow *f, enum flow_dir dir,
                          enum reasm_tcp_event ev, const struct timeval *ts)
{
    tcp_event(s, f, dir, ev, ts);
    s->current = NULL;
}

static void tcp_event(struct sessions *s, struct flow *f, enum flow_dir dir, enum reasm_tcp_event ev,
                      const struct timeval *ts)
{
    struct tconn *c = f->app;
    if (!c) {
        /* the client sent plaintext to a TLS service that closed on it */
        return;
    }
    s->current = c; /* new_hs() below may make room: never by shedding c */
    c->now = tvd(ts);
    if (c->close_by < 0) {
        c->close_by = (int)dir;
        c->close_how = ev == REASM_EV_RST;
        copy_name(c->close_after, c->last_any);
    }
    bool new_fin = ev == REASM_EV_FIN && !c->fin[dir];
    if (ev == REASM_EV_FIN) c->fin[dir] = true;
    if (c->state != ST_TLS) return;
    if (new_fin || ev == REASM_EV_RST) mlog_add(c, dir, ev == REASM_EV_RST ? '!' : '.', -1);
    if (ev == REASM_EV_RST || (c->fin[0] && c->fin[1])) {
        /* the connection is over: decide, and give the state back now
         * rather than when the flow leaves the table */
        if (!c->n_hs) new_hs(c, false, C)->t_start = tvd(&f->first_ts);
        if (c->cur) {
            settle(c, c->cur, true);
            free_hs(c->cur);
            c->cur = NULL;
        }
        conn_free(c);
        f->app = NULL;
        f->app_done = 1;
        s->st.released_at_close++;
    }
}

static void conn_end(struct sessions *s, struct flow *f);

void session_on_end(struct sessions *s, struct flow *f)
{
    conn_end(s, f);
    s->current = NULL;
}

static void conn_end(struct sessions *s, struct flow *f)
{
    struct tconn *c = f->app;
    if (!c) return;
    s->current = c;
    c->now = tvd(&f->last_ts);
    if (c->state == ST_TLS) {
        if (!c->n_hs) new_hs(c, false, C)->t_start = tvd(&f->first_ts); /* records, no handshake */
        if (c->cur) {
            settle(c, c->cur, f->end == FLOW_END_FIN || f->end == FLOW_END_RST);
            free_hs(c->cur);
            c->cur = NULL;
        }
    } else if (c->state == ST_DETECT) {
        plaintext_to_tls(s, c);
        if (c->cur) {
            free_hs(c->cur);
            c->cur = NULL;
        }
    }
    conn_free(c);
    f->app = NULL;
}

void sessions_tick(struct sessions *s, const struct timeval *now)
{
    /* the head's start is kept beside the list: no handshake is read
     * (a cache miss) for the packets before its deadline, and until two
     * seconds before it the whole seconds say so (no division) */
    if (!s->to_head || (double)now->tv_sec + 2.0 < s->to_head_start + s->o.handshake_timeout) return;
    double t = tvd(now);
    while (s->to_head && t - s->to_head_start >= s->o.handshake_timeout) {
        struct hs *h = s->to_head;
        struct tconn *c = h->c;
        to_unlink(s, h);
        if (c->server_answered || h->decided) continue;
        /* provisional: settle() decides timeout when the flow ends or idles
         * out still unanswered; an answer after this is a late answer */
        h->timeout_passed = true;
        s->st.timeouts_passed++;
    }
}

void sessions_note_capture_loss(struct sessions *s, double from, double to)
{
    if (to < from) to = from;
    unsigned last = (s->nloss - 1) % SESSION_LOSS_SPANS;
    if (s->nloss && from <= s->loss[last].to + 1.0) { /* contiguous: extend */
        if (to > s->loss[last].to) s->loss[last].to = to;
        return;
    }
    s->loss[s->nloss % SESSION_LOSS_SPANS].from = from;
    s->loss[s->nloss % SESSION_LOSS_SPANS].to = to;
    s->nloss++;
}

void sessions_keylog_added(struct sessions *s, int n)
{
    if (n > 0) s->st.keylog_added += (uint64_t)n;
}

uint64_t sessions_capture_loss_flagged(const struct sessions *s) { return s->loss_flagged; }

bool session_loss_overlaps(struct sessions *s, double from, double to)
{
    unsigned n = s->nloss < SESSION_LOSS_SPANS ? s->nloss : SESSION_LOSS_SPANS;
    for (unsigned i = 0; i < n; i++)
        if (s->loss[i].from <= to && from <= s->loss[i].to) return true;
    return false;
}

/* Freed handshake and connection states kept for reuse, at most (about
 * 3 MB): a burst's worth, not the burst's peak. */
#define SESSION_POOL_CAP 512

struct sessions *sessions_new(const struct session_opts *o, session_emit_fn emit, void *ctx)
{
    struct sessions *s = xcalloc(1, sizeof *s);
    s->o = *o;
    if (s->o.handshake_timeout <= 0) s->o.handshake_timeout = 10;
    if (s->o.max_handshake_bytes < 1024) s->o.max_handshake_bytes = 65536;
    if (s->o.max_memory == 0) s->o.max_memory = SESSION_DEFAULT_MAX_MEMORY;
    s->st.mem_budget = s->o.max_memory;
    s->mem = (tls_mem){ mem_alloc, mem_release, s };
    s->emit = emit;
    s->ctx = ctx;
    s->xc = x509cache_new(0);
    fl_init(&s->hs_pool, sizeof(struct hs), SESSION_POOL_CAP);
    fl_init(&s->conn_pool, sizeof(struct tconn), SESSION_POOL_CAP);
    return s;
}

void sessions_free(struct sessions *s)
{
    if (!s) return;
    x509cache_free(s->xc);
    fl_drain(&s->hs_pool);
    fl_drain(&s->conn_pool);
    free(s);
}

const struct session_stats *sessions_stats(const struct sessions *s) { return &s->st; }

void sessions_set_certcheck(struct sessions *s, struct certcheck *cc) { s->cc = cc; }

void sessions_set_keylog(struct sessions *s, struct keylog *kl) { s->kl = kl; }
