/* Per-connection TLS handshake state machine.
 *
 * Detection: a connection becomes TLS when one of its directions starts a
 * segment with a ClientHello (any port; after STARTTLS plaintext too), or,
 * for connections picked up mid-stream, with a TLS record. Until then up to
 * DETECT_LIMIT bytes per direction are looked at, then collection stops.
 *
 * Each direction runs through the dissector's tls_stream; its events drive
 * the handshake (struct hs). What is encrypted is judged by record type and
 * size, as the peers do (PEERS.md):
 *   TLS <= 1.2  the first encrypted handshake record after a side's CCS is
 *               its Finished; after both Finished, an encrypted handshake
 *               record starts a renegotiation (client: ClientHello, server:
 *               HelloRequest); CCS records stay visible, so a renegotiation
 *               completes when both sides send CCS again.
 *   TLS 1.3     after ServerHello everything is application_data; the
 *               client's first encrypted record is its Finished unless it
 *               is alert-sized (19..24 bytes: the client rejected the
 *               server); an alert-sized server record right after the
 *               client's Finished followed by a close means the server
 *               rejected the client (e.g. a missing client certificate).
 * Inferred conclusions say so in the facts (alerts with encrypted: true).
 *
 * A handshake's outcome is decided once: when it completes (≤1.2: both
 * Finished; 1.3: traffic after the client's Finished), at a fatal alert
 * followed by a close, at RST / both FIN, at the handshake timeout, or when
 * the flow ends (every exit path, see session_on_end). Then its facts tree
 * is built and emitted. */
#include "session.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certcheck.h"
#include "keylog.h"
#include "tlsdecrypt.h"
#include "tls_names.h"
#include "tls_stream.h"
#include "x509_summary.h"
#include "xalloc.h"

#define DETECT_LIMIT 65536
#define HIST_MAX 100
#define MAX_ALERTS 16
#define NAME_LEN 40
#define FIRST_BYTES 32
#define DEFER_REPORT 60.0 /* seconds an established handshake waits to be reported */
#define MAX_DER 10           /* server certificates kept for validation */
#define MAX_DER_BYTES 65536
#define MAX_RENEG_REPORTED 64 /* renegotiations reported per connection; later ones are counted */

enum { C = DIR_TO_SERVER, S = DIR_TO_CLIENT }; /* stream index = sender */
enum conn_state { ST_DETECT = 0, ST_TLS, ST_NOT_TLS };

struct alert_rec {
    uint8_t from;
    int level, code; /* -1 when encrypted */
    bool encrypted, during_hs, inferred, after_peer_close, decrypted;
    char after[NAME_LEN];
    double time;
};

struct hs {
    int64_t index;
    bool reneg, reneg_cleartext;
    int initiator;              /* renegotiation: C or S */
    bool reneg_answered, reneg_rejected_seen, reneg_ignored;
    int reneg_rejecter;
    double t_start, t_sh, t_done;
    bool have_ch, have_sh, hrr, sslv2;
    uint16_t hrr_group;
    tls_client_hello ch;
    tls_server_hello sh;
    bool tls13;
    bool server_cert_seen;
    /* certificates as parsed (once): the server's leaf and the rest of its
     * chain, the client's leaf; allocated when a Certificate arrives */
    x509_summary *leaf, *chain_x, *client_leaf;
    int nchain_x;
    int chain_len;
    bool client_cert_sent, client_cert_empty;
    bool cert_request;
    int ca_names;
    uint16_t ske_group;
    int dh_bits;
    int ocsp_status;
    bool nst, shd;
    bool ccs[2], fin[2];
    bool abbreviated;
    bool early_data_sent, eoed, inherited, early_accepted;
    char ee_alpn[TLS_ALPN_MAX_LEN + 1];
    bool client_rejected13, server_alert13;
    bool done, decided;
    bool fatal;
    bool enc_alert_in_hs;
    struct alert_rec alerts[MAX_ALERTS];
    int nalerts, alerts_dropped;
    bool duplicate_ch;
    uint8_t *der[MAX_DER];
    size_t der_len[MAX_DER];
    int nder;
    struct tconn *c;
    struct hs *to_prev, *to_next; /* timeout list */
    bool in_to;
};

struct side {
    struct tconn *c;
    int dir;
};

struct tconn {
    struct sessions *s;
    struct flow *f;
    enum conn_state state;
    tls_stream st[2];
    struct side side[2];
    struct tconn *lru_prev, *lru_next; /* least recently fed first */
    int in_feed;                       /* the dissector is reading this connection */
    bool free_pending;                 /* conn_free() waited for the dissector */
    bool want_headers_only;            /* deferred until the dissector returns */
    uint64_t seen[2];
    bool any_data[2];
    struct hs *cur;
    int64_t n_hs;
    bool first_done, tls13;
    bool headers_only;
    char hist[HIST_MAX + 1];
    int hist_len;
    char last[2][NAME_LEN], last_any[NAME_LEN];
    int close_by, close_how; /* -1 none; how: 0 fin, 1 rst */
    char close_after[NAME_LEN];
    bool fin[2];
    bool server_answered;
    char server_first[FIRST_BYTES + 1], client_first[FIRST_BYTES + 1];
    bool server_not_tls, client_not_tls;
    bool midstream;
    int64_t reneg_count;
    uint64_t enc_records[2], enc_bytes[2];
    uint32_t hb_req, hb_resp, hb_enc_req, hb_enc_resp;
    uint32_t post_alerts;                 /* alerts after the handshake */
    int post_alert_level, post_alert_code, post_alert_from;
    uint32_t hb_max_req, hb_max_resp; /* longest encrypted heartbeat record each way */
    bool hb_overflow, hb_encrypted;
    tls_anomalies anomalies;
    double now;
    /* decryption with a key log */
    struct tlsdec dec[2];
    tls_handshake_reasm inner[2];
    bool inner_on;
    bool keys_found, decrypted_any;
    int pending_level[2], pending_code[2]; /* TLS 1.2: alert read from the record just decrypted */
    uint8_t next_cr[32], next_sr[32];      /* renegotiation randoms seen decrypted */
    bool next_have_cr, next_have_sr;
    uint64_t dec_failed;
};

/* Room for what the facts of one handshake point to while they are
 * emitted (the emit callback runs synchronously). */
struct emit_buf {
    tls_facts f;
    struct facts_ALERT alerts[MAX_ALERTS];
    struct facts_RENEG_ENTRY reneg;
    struct facts_CERT leaf, client_leaf, chain[TLS_CERT_CHAIN_MAX];
    const char *san[TLS_CERT_CHAIN_MAX + 2][X509_SUMMARY_SAN_MAX];
    const char *san_ip[TLS_CERT_CHAIN_MAX + 2][X509_SUMMARY_IP_MAX];
    const char *alpn[TLS_ALPN_MAX_ENTRIES];
    uint16_t one_version;
    struct certcheck_facts cc;
};

struct sessions {
    struct session_opts o;
    unsigned verdict;                   /* enum reasm_verdict of the current session_on_data */
    session_emit_fn emit;
    void *ctx;
    struct session_stats st;
    struct hs *to_head, *to_tail;
    struct certcheck *cc;
    struct keylog *kl;
    struct emit_buf eb;                 /* the facts of the handshake being emitted */
    tls_mem mem;                        /* the dissector's buffers, within the budget */
    struct tconn *lru_head, *lru_tail;  /* connections, least recently fed first */
    struct tconn *current;              /* being fed: never shed */
    uint8_t plain[TLS_RECORD_BUF_SIZE];
};

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

static double tvd(const struct timeval *tv) { return (double)tv->tv_sec + (double)tv->tv_usec / 1e6; }

/* ------------------------------------------------------------ detection */

static bool looks_record(const uint8_t *d, size_t n)
{
    if (n < 5 || d[0] < 20 || d[0] > 24 || d[1] != 3 || d[2] > 4) return false;
    unsigned len = (unsigned)(d[3] << 8 | d[4]);
    return len > 0 && len <= TLS_RECORD_MAX_LEN;
}

static bool looks_client_hello(const uint8_t *d, size_t n)
{
    if (n >= 6 && d[0] == 22 && looks_record(d, n) && d[5] == 1) return true;
    /* SSLv2-compatible CLIENT-HELLO: 2-byte header with the high bit */
    return n >= 5 && (d[0] & 0x80) && d[2] == 1 && (d[3] == 0 || d[3] == 3) && d[4] <= 4;
}

static bool looks_sslv2_server_hello(const uint8_t *d, size_t n)
{
    return n >= 3 && (d[0] & 0x80) && d[2] == 4;
}

/* The first bytes of a server's answer: a record (or SSLv2 hello) header,
 * judged on what has arrived -- a segment may hold only part of it. */
static bool may_start_record(const uint8_t *d, size_t n)
{
    if (n >= 5) return looks_record(d, n) || looks_sslv2_server_hello(d, n);
    if (d[0] & 0x80) return n < 3 || d[2] == 4;
    if (d[0] < 20 || d[0] > 24) return false;
    return (n < 2 || d[1] == 3) && (n < 3 || d[2] <= 4);
}

int session_role_hint(const uint8_t *d, size_t n)
{
    if (looks_client_hello(d, n)) return 1;
    if (n >= 6 && d[0] == 22 && looks_record(d, n) && d[5] == 2) return -1;
    if (looks_sslv2_server_hello(d, n)) return -1;
    return 0;
}

static void printable(char *out, const uint8_t *d, size_t n)
{
    size_t k = n < FIRST_BYTES ? n : FIRST_BYTES;
    for (size_t i = 0; i < k; i++) out[i] = (d[i] >= 0x20 && d[i] < 0x7f) ? (char)d[i] : '.';
    out[k] = '\0';
}

static bool looks_http_request(const uint8_t *d, size_t n)
{
    static const char *const m[] = { "GET ", "POST ", "HEAD ", "PUT ", "OPTIONS ", "CONNECT ", "DELETE " };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        size_t l = strlen(m[i]);
        if (n >= l && memcmp(d, m[i], l) == 0) return true;
    }
    return false;
}

/* -------------------------------------------------------------- history */

static void hist_add(struct tconn *c, int dir, char letter)
{
    if (c->hist_len >= HIST_MAX) return;
    char ch = dir == C ? letter : (char)(letter - 'A' + 'a');
    if (letter == '^') ch = '^';
    c->hist[c->hist_len++] = ch;
    c->hist[c->hist_len] = '\0';
}

static char hs_letter(uint8_t type)
{
    switch (type) {
    case TLS_HS_HELLO_REQUEST: return 'H';
    case TLS_HS_CLIENT_HELLO: return 'C';
    case TLS_HS_SERVER_HELLO: return 'S';
    case TLS_HS_HELLO_VERIFY_REQUEST: return 'V';
    case TLS_HS_NEW_SESSION_TICKET: return 'T';
    case TLS_HS_CERTIFICATE: return 'X';
    case TLS_HS_SERVER_KEY_EXCHANGE: return 'K';
    case TLS_HS_CERTIFICATE_REQUEST: return 'R';
    case TLS_HS_SERVER_HELLO_DONE: return 'N';
    case TLS_HS_CERTIFICATE_VERIFY: return 'Y';
    case TLS_HS_CLIENT_KEY_EXCHANGE: return 'G';
    case TLS_HS_FINISHED: return 'F';
    case TLS_HS_CERTIFICATE_STATUS: return 'U';
    case TLS_HS_ENCRYPTED_EXTENSIONS: return 'O';
    case TLS_HS_KEY_UPDATE: return 'P';
    default: return 'Z';
    }
}

static void set_last(struct tconn *c, int dir, const char *name)
{
    snprintf(c->last[dir], NAME_LEN, "%s", name);
    snprintf(c->last_any, NAME_LEN, "%s", name);
}

/* -------------------------------------------------------- timeout list */

static void to_unlink(struct sessions *s, struct hs *h)
{
    if (!h->in_to) return;
    if (h->to_prev) h->to_prev->to_next = h->to_next;
    else s->to_head = h->to_next;
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
    if (s->to_tail) s->to_tail->to_next = h;
    else s->to_head = h;
    s->to_tail = h;
    h->in_to = true;
}

/* ---------------------------------------------------------------- facts */

static void cert_facts(struct facts_CERT *o, const x509_summary *x, const char **san, const char **ips)
{
    memset(o, 0, sizeof *o);
    FALL(CERT, o);
    o->malformed = !x->parsed;
    o->subject = x->subject;
    o->issuer = x->issuer;
    o->cn = x->cn[0] ? x->cn : NULL;
    o->serial = x->serial;
    if (x->validity_ok) {
        o->not_before = o->not_before_epoch = x->not_before;
        o->not_after = o->not_after_epoch = x->not_after;
        o->validity_days = (x->not_after - x->not_before) / 86400;
    } else {
        FNULL(CERT, o, not_before);
        FNULL(CERT, o, not_after);
        FABSENT(CERT, o, not_before_epoch);
        FABSENT(CERT, o, not_after_epoch);
        FABSENT(CERT, o, validity_days);
    }
    for (unsigned i = 0; i < x->san_dns_n && i < X509_SUMMARY_SAN_MAX; i++) san[i] = x->san_dns[i];
    o->san = (struct facts_strs){ san, x->san_dns_n };
    for (unsigned i = 0; i < x->san_ip_n && i < X509_SUMMARY_IP_MAX; i++) ips[i] = x->san_ip[i];
    o->san_ip = (struct facts_strs){ ips, x->san_ip_n };
    o->key_type = x->key_type[0] ? x->key_type : NULL;
    o->key_bits = x->key_bits;
    o->curve = x->curve[0] ? x->curve : NULL;
    o->sig = x->sig_alg[0] ? x->sig_alg : NULL;
    o->sha256 = x->sha256;
    o->self_issued = x->self_issued;
    o->self_signed = x->self_signed;
    o->is_ca = x->is_ca;
}

static void alert_facts(struct facts_ALERT *o, const struct alert_rec *a)
{
    memset(o, 0, sizeof *o);
    FALL(ALERT, o);
    o->from = a->from == C ? FACTS_CLIENT : FACTS_SERVER;
    if (a->encrypted) {
        o->level = -1;
        FNULL(ALERT, o, code);
        FNULL(ALERT, o, description);
    } else {
        o->level = a->level == 2 ? FACTS_LEVEL_FATAL : a->level == 1 ? FACTS_LEVEL_WARNING : FACTS_LEVEL_UNKNOWN;
        o->code = a->code;
        o->description = (uint16_t)(uint8_t)a->code;
    }
    o->encrypted = a->encrypted || a->decrypted;
    o->decrypted = a->decrypted;
    o->inferred = a->inferred;
    o->after = a->after[0] ? a->after : NULL;
    o->time = a->time;
    o->during_handshake = a->during_hs;
    o->after_peer_close = a->after_peer_close;
}

static bool offered(const tls_u16_list *l, uint16_t v)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->v[i] == v) return true;
    return false;
}

static struct facts_codes codes(const tls_u16_list *l) { return (struct facts_codes){ l->v, l->n }; }

static void add_negotiation(tls_facts *o, struct emit_buf *eb, const struct hs *h)
{
    const tls_client_hello *ch = &h->ch;
    const tls_server_hello *sh = &h->sh;
    if (h->have_sh) {
        o->version = o->version_code = sh->version;
        if (sh->version == 0x0002) { /* SSLv2: 3-byte cipher specs, no TLS suite */
            FNULL(TLS, o, cipher);
            FNULL(TLS, o, cipher_code);
        } else {
            o->cipher = sh->cipher;
            o->cipher_code = sh->cipher;
        }
        const tls_cipher_info *ci = tls_names_cipher_info(sh->cipher);
        o->cipher_kx = ci ? tls_names_kx(ci->kx) : NULL;
        o->cipher_enc = ci ? tls_names_enc(ci->enc) : NULL;
        o->cipher_weakness = tls_names_cipher_weakness(sh->cipher);
    } else {
        FNULL(TLS, o, version);
        FNULL(TLS, o, version_code);
        FNULL(TLS, o, cipher);
        FNULL(TLS, o, cipher_code);
    }
    if (h->have_ch) {
        o->client_version = ch->legacy_version;
        uint16_t maxv = 0;
        if (ch->ext.versions.n) {
            o->client_versions = codes(&ch->ext.versions);
            for (unsigned i = 0; i < ch->ext.versions.n; i++) {
                uint16_t v = ch->ext.versions.v[i];
                if (tls_names_is_grease(v)) continue;
                uint16_t rank = tls_names_version_is_tls13(v) ? 0x0304 : v;
                if (rank > maxv) maxv = rank;
            }
        } else {
            eb->one_version = ch->legacy_version;
            o->client_versions = (struct facts_codes){ &eb->one_version, 1 };
            maxv = ch->legacy_version;
        }
        o->client_max_version_code = maxv;
        o->client_ciphers = codes(&ch->ciphers);
        bool weak_only = ch->ciphers.n > 0;
        for (unsigned i = 0; i < ch->ciphers.n && weak_only; i++) {
            uint16_t cs = ch->ciphers.v[i];
            if (tls_names_is_grease(cs) || cs == 0x00ff || cs == 0x5600) continue;
            if ((tls_names_cipher_weakness(cs) & ~(unsigned)TLS_WEAK_CBC) == 0) weak_only = false;
        }
        o->client_ciphers_weak_only = weak_only;
        o->scsv_fallback = offered(&ch->ciphers, 0x5600);
        o->scsv_renegotiation = offered(&ch->ciphers, 0x00ff);
        o->client_groups = codes(&ch->ext.groups);
        o->client_key_shares = codes(&ch->ext.key_share_groups);
        o->sni = ch->ext.has_sni ? ch->ext.sni : NULL;
        unsigned na = 0;
        for (; na < ch->ext.alpn_n && na < TLS_ALPN_MAX_ENTRIES; na++) eb->alpn[na] = ch->ext.alpn[na];
        o->alpn = (struct facts_strs){ eb->alpn, na };
        o->client_extensions = codes(&ch->ext.types);
        o->client_sig_algs = codes(&ch->ext.sig_algs);
    } else {
        FNULL(TLS, o, client_version);
        FNULL(TLS, o, client_max_version_code);
    }
    uint16_t grp = 0;
    if (h->have_sh && sh->ext.key_share_group) grp = sh->ext.key_share_group;
    else if (h->ske_group) grp = h->ske_group;
    if (grp) o->group = grp;
    else FNULL(TLS, o, group);
    if (h->dh_bits) o->dh_bits = h->dh_bits;
    else FNULL(TLS, o, dh_bits);
    o->hrr = h->hrr;
    if (h->hrr_group) o->hrr_group = h->hrr_group;
    else FNULL(TLS, o, hrr_group);
    o->alpn_selected = h->have_sh && sh->ext.alpn_n ? sh->ext.alpn[0] : h->ee_alpn[0] ? h->ee_alpn : NULL;
    if (h->have_sh) o->server_extensions = codes(&sh->ext.types);
    FALL(RENEG_INFO, &o->reneg_info);
    if (h->have_ch) o->reneg_info.client = ch->ext.has_reneg_info;
    else FNULL(RENEG_INFO, &o->reneg_info, client);
    if (h->have_sh) o->reneg_info.server = sh->ext.has_reneg_info;
    else FNULL(RENEG_INFO, &o->reneg_info, server);
    o->heartbeat_offered = h->have_ch && ch->ext.has_heartbeat;
    FALL(EARLY_DATA, &o->early_data);
    o->early_data.offered = h->have_ch && ch->ext.has_early_data;
    o->early_data.sent = h->early_data_sent;
    if (h->early_accepted) o->early_data.accepted = true;
    else FNULL(EARLY_DATA, &o->early_data, accepted);
}

static void add_certs(tls_facts *o, struct emit_buf *eb, const struct hs *h)
{
    if (h->leaf) {
        cert_facts(&eb->leaf, h->leaf, eb->san[0], eb->san_ip[0]);
        o->server_cert = &eb->leaf;
    }
    for (int i = 0; i < h->nchain_x; i++)
        cert_facts(&eb->chain[i], &h->chain_x[i], eb->san[i + 2], eb->san_ip[i + 2]);
    o->chain = (struct facts_arr){ eb->chain, (uint32_t)h->nchain_x };
    o->chain_len = h->chain_len;
    o->server_cert_encrypted = h->tls13 && !h->server_cert_seen;
    o->cert_request = h->cert_request;
    o->cert_request_ca_names = h->ca_names;
    o->client_cert_sent = h->client_cert_sent;
    o->client_cert_empty = h->client_cert_empty;
    if (h->client_leaf) {
        cert_facts(&eb->client_leaf, h->client_leaf, eb->san[1], eb->san_ip[1]);
        o->client_cert = &eb->client_leaf;
    }
    FALL(OCSP, &o->ocsp);
    o->ocsp.status = (int8_t)(h->ocsp_status >= 0 && h->ocsp_status <= 2 ? h->ocsp_status : -1);
}

static int resumption_offered(const struct hs *h)
{
    if (!h->have_ch) return -1;
    if (h->ch.ext.has_psk) return FACTS_RES_PSK;
    if (h->ch.ext.has_session_ticket && h->ch.ext.session_ticket_len > 0) return FACTS_RES_TICKET;
    if (h->ch.session_id_len > 0 && !h->tls13) return FACTS_RES_SESSION_ID;
    return -1;
}

static bool is_resumed(const struct hs *h)
{
    if (!h->have_sh) return false;
    if (h->tls13) return h->sh.ext.has_psk;
    return h->abbreviated;
}

static bool any_gap(const struct tconn *c)
{
    const struct flow *f = c->f;
    return f->gaps[0] || f->gaps[1] || tls_record_desynced(&c->st[0].rec) ||
           tls_record_desynced(&c->st[1].rec);
}

static int8_t side(int dir) { return dir == C ? FACTS_CLIENT : FACTS_SERVER; }

static void flow_ip(struct facts_ip *o, const struct flow *f, const uint8_t *addr)
{
    o->family = f->key.family == 6 ? 6 : 4;
    memcpy(o->a, addr, o->family == 6 ? 16 : 4);
}

/* The typed facts of handshake h (docs/facts.md), in eb. */
static tls_facts *build_facts(struct tconn *c, struct hs *h, int outcome, struct emit_buf *eb)
{
    struct flow *f = c->f;
    tls_facts *o = &eb->f;
    memset(o, 0, sizeof *o);
    FALL(TLS, o);
    /* set by certificate validation only */
    FABSENT(TLS, o, server_cert_validation);
    FABSENT(TLS, o, server_cert_previous_sha256);
    FABSENT(TLS, o, server_cert_previous_issuer);
    FABSENT(TLS, o, server_cert_changed);
    add_negotiation(o, eb, h);
    o->outcome = (int8_t)outcome;
    o->history = c->hist;
    o->handshakes = h->index + 1;
    o->established = h->done;
    o->resumed = is_resumed(h);
    FALL(RESUMPTION, &o->resumption);
    o->resumption.offered = (int8_t)resumption_offered(h);
    o->resumption.accepted = is_resumed(h);
    FALL(LAST_MESSAGE, &o->last_message);
    o->last_message.client = c->last[C][0] ? c->last[C] : NULL;
    o->last_message.server = c->last[S][0] ? c->last[S] : NULL;
    o->server_hello_seen = h->have_sh;
    int why = -1;
    if (!h->have_ch && !h->reneg && !c->client_not_tls)
        why = c->n_hs > 1 ? FACTS_INC_START_MISSING : FACTS_INC_NO_CH;
    else if (any_gap(c)) why = FACTS_INC_BYTES;
    o->capture_incomplete = why >= 0;
    o->capture_incomplete_reason = (int8_t)why;
    o->server_not_tls = c->server_not_tls;
    o->server_first_bytes = c->server_not_tls ? c->server_first : NULL;
    o->client_not_tls = c->client_not_tls;
    o->client_first_bytes = c->client_not_tls ? c->client_first : NULL;
    FALL(CLOSE, &o->close);
    o->close.by = (int8_t)(c->close_by < 0 ? -1 : side(c->close_by));
    o->close.how = (int8_t)(c->close_by < 0 ? -1 : c->close_how ? FACTS_RST : FACTS_FIN);
    o->close.after = c->close_by < 0 || !c->close_after[0] ? NULL : c->close_after;
    struct facts_TIMING *tm = &o->timing_ms;
    FALL(TIMING, tm);
    if (h->have_sh && h->have_ch && !h->inherited) tm->server_hello = (h->t_sh - h->t_start) * 1000.0;
    else FNULL(TIMING, tm, server_hello);
    if (h->done && h->have_ch) tm->finished = (h->t_done - h->t_start) * 1000.0;
    else FNULL(TIMING, tm, finished);
    if (outcome == OUT_TIMEOUT) tm->no_answer = (c->now - h->t_start) * 1000.0;
    else FNULL(TIMING, tm, no_answer);

    for (int i = 0; i < h->nalerts; i++) alert_facts(&eb->alerts[i], &h->alerts[i]);
    o->alerts = (struct facts_arr){ eb->alerts, (uint32_t)h->nalerts };
    o->alert_count = h->nalerts + h->alerts_dropped;
    struct facts_POST_ALERTS *pa = &o->alerts_after_handshake;
    FSET(POST_ALERTS, pa, count, c->post_alerts);
    if (c->post_alerts) {
        FSET(POST_ALERTS, pa, last_from, side(c->post_alert_from));
        if (c->post_alert_code >= 0) FSET(POST_ALERTS, pa, last_description, (uint16_t)(uint8_t)c->post_alert_code);
        else FNULL(POST_ALERTS, pa, last_description);
        FSET(POST_ALERTS, pa, last_fatal, c->post_alert_level == 2);
    }
    o->last_alert = h->nalerts ? &eb->alerts[h->nalerts - 1] : NULL;
    add_certs(o, eb, h);

    o->hello_request = h->reneg && h->initiator == S;
    struct facts_RENEG *rn = &o->renegotiation;
    FALL(RENEG, rn);
    rn->attempt = h->reneg;
    rn->initiator = (int8_t)(h->reneg ? side(h->initiator) : -1);
    rn->encrypted = h->reneg && !h->reneg_cleartext;
    rn->rejected_by = (int8_t)(outcome == OUT_RENEG_REJECTED ? side(h->reneg_rejecter) : -1);
    rn->after_tls13 = h->reneg && c->tls13;
    rn->inherited_negotiation = h->inherited;
    /* the same, in the docs/facts.md list form the rules use */
    if (h->reneg) {
        struct facts_RENEG_ENTRY *e = &eb->reneg;
        memset(e, 0, sizeof *e);
        FALL(RENEG_ENTRY, e);
        e->initiator = side(h->initiator);
        e->time = h->t_start;
        e->encrypted = !h->reneg_cleartext;
        e->result = outcome == OUT_RENEGOTIATED ? FACTS_RR_ACCEPTED
                    : outcome == OUT_RENEG_REJECTED && h->reneg_ignored && !h->reneg_rejected_seen ? FACTS_RR_IGNORED
                    : outcome == OUT_RENEG_REJECTED ? FACTS_RR_REJECTED : FACTS_RR_UNKNOWN;
        e->evidence = h->reneg_rejected_seen ? "alert from the peer instead of a handshake answer"
                      : h->reneg_ignored ? "the peer kept sending data without answering"
                      : outcome == OUT_RENEG_REJECTED ? "the connection closed without a handshake answer"
                      : outcome == OUT_RENEGOTIATED ? "both sides sent ChangeCipherSpec and Finished again"
                      : "no answer seen";
        o->renegotiations = (struct facts_arr){ e, 1 };
    }
    /* a peer that just carried on (ignored the request) did not reject it */
    bool rejected = outcome == OUT_RENEG_REJECTED && !(h->reneg_ignored && !h->reneg_rejected_seen);
    o->renegotiation_rejected_by = (int8_t)(rejected ? side(h->reneg_rejecter) : -1);
    o->renegotiation_count = c->reneg_count;

    struct facts_HEARTBEAT *hb = &o->heartbeat;
    FALL(HEARTBEAT, hb);
    hb->requests = c->hb_req;
    hb->responses = c->hb_resp;
    hb->overflow = c->hb_overflow;
    hb->encrypted = c->hb_encrypted;
    hb->encrypted_requests = c->hb_enc_req;
    hb->encrypted_responses = c->hb_enc_resp;
    hb->max_request_record = c->hb_max_req;
    hb->max_response_record = c->hb_max_resp;
    struct facts_ENCRYPTED *en = &o->encrypted;
    FALL(ENCRYPTED, en);
    en->client_records = (int64_t)c->enc_records[C];
    en->server_records = (int64_t)c->enc_records[S];
    en->client_app_bytes = (int64_t)c->enc_bytes[C];
    en->server_app_bytes = (int64_t)c->enc_bytes[S];
    en->keys_found = c->keys_found;
    en->decrypted = c->decrypted_any;
    en->decrypt_failures = (int64_t)c->dec_failed;

    tls_anomalies all = c->anomalies | c->st[0].anomalies | c->st[1].anomalies;
    all &= ((tls_anomalies)1 << TLS_ANOM_COUNT) - 1;
    if (h->duplicate_ch) all |= (tls_anomalies)1 << FACTS_ANOM_DUPLICATE_CH;
    o->anomalies = all;

    struct facts_FLOW *fl = &o->flow;
    FALL(FLOW, fl);
    flow_ip(&fl->client_ip, f, f->cli.addr);
    flow_ip(&fl->server_ip, f, f->srv.addr);
    fl->client_port = f->cli.port;
    fl->server_port = f->srv.port;
    fl->time = h->t_start;
    fl->midstream = f->midstream;
    fl->end_reason = flow_end_name(f->end);
    fl->missing_toserver = (int64_t)f->gaps[DIR_TO_SERVER];
    fl->missing_toclient = (int64_t)f->gaps[DIR_TO_CLIENT];
    return o;
}

/* ------------------------------------------------------------- decisions */

/* The handshake is over (decided, or complete and only waiting to be
 * reported with what follows it on the connection). */
static bool over(const struct hs *h) { return h->decided || h->done; }

static void free_hs(struct hs *h)
{
    uncharge(h->c->s, sizeof *h);
    for (int i = 0; i < h->nder; i++) free(h->der[i]);
    free(h->leaf);
    free(h->chain_x);
    free(h->client_leaf);
    free(h);
}

static void decide(struct tconn *c, struct hs *h, int outcome)
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
        char key[128];
        if (name) snprintf(key, sizeof key, "%s", name);
        else {
            char ip[64];
            flow_addr_str(c->f, c->f->srv.addr, ip, sizeof ip);
            snprintf(key, sizeof key, "%s:%u", ip, c->f->srv.port);
        }
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
    if (h->done) {
        decide(c, h, is_resumed(h) ? OUT_RESUMED : OUT_ESTABLISHED);
        return;
    }
    if (!h->have_ch) {
        decide(c, h, OUT_INCOMPLETE);
        return;
    }
    if (c->server_not_tls || h->fatal || h->client_rejected13 || (h->tls13 && h->server_alert13 && closed)) {
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
        /* the client gave up waiting for any answer: a timeout as it saw it */
        if (server_silent(c, h) && c->close_by == C && waited >= (tmo < 1.0 ? tmo : 1.0))
            decide(c, h, OUT_TIMEOUT);
        else decide(c, h, OUT_ABORTED);
        return;
    }
    if (server_silent(c, h) && waited >= tmo) {
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
    if (tls_record_partial(&c->st[C].rec) || tls_record_partial(&c->st[S].rec)) return;
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

static void complete(struct tconn *c, struct hs *h)
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

static struct hs *new_hs(struct tconn *c, bool reneg, int initiator)
{
    make_room(c->s, sizeof(struct hs)); /* never refused: bounded to one per connection */
    struct hs *h = xcalloc(1, sizeof *h);
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

static void add_alert(struct tconn *c, struct hs *h, int dir, int level, int code, bool enc, bool inferred)
{
    if (h->nalerts >= MAX_ALERTS) {
        h->alerts_dropped++; /* counted in alert_count, flagged as a cut list */
        c->anomalies |= TLS_ANOM_BIT(LIST_TRUNCATED);
        return;
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
    snprintf(a->after, NAME_LEN, "%s", c->last_any);
}

/* One parse per certificate: the summaries are what the facts show. */
static x509_summary *summary_slot(x509_summary **p)
{
    if (!*p) *p = xmalloc(sizeof **p);
    return *p;
}

static void summarize_chain(struct hs *h, const tls_certificate *cert, bool from_server)
{
    for (unsigned i = 0; i < cert->count; i++) {
        if (!from_server) {
            if (i == 0) x509_summary_parse(cert->certs[i].der, cert->certs[i].len, summary_slot(&h->client_leaf));
            continue;
        }
        if (i == 0) {
            x509_summary_parse(cert->certs[i].der, cert->certs[i].len, summary_slot(&h->leaf));
        } else if (h->nchain_x < TLS_CERT_CHAIN_MAX) {
            if (!h->chain_x) h->chain_x = xmalloc(TLS_CERT_CHAIN_MAX * sizeof *h->chain_x);
            x509_summary_parse(cert->certs[i].der, cert->certs[i].len, &h->chain_x[h->nchain_x++]);
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
    h->sslv2 = sslv2;
    if (!h->hrr) h->t_start = c->now;
    if (!h->reneg && !h->hrr) to_append(c->s, h);
}

static void keys_at_server_hello(struct tconn *c, struct hs *h);

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
    h->sh = *sh;
    h->have_sh = true;
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
            x509_summary_parse(ev->sslv2_sh->cert, ev->sslv2_sh->cert_len, summary_slot(&h->leaf));
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

/* level/code -1: encrypted and unknown. decrypted: read with the key log. */
static void handle_alert(struct tconn *c, int dir, int level, int code, bool encrypted, bool decrypted);

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

static void handle_alert(struct tconn *c, int dir, int level, int code, bool encrypted, bool decrypted)
{
    struct hs *h = c->cur;
    if (h && h->done && !h->decided && !h->reneg) {
        /* after the handshake (close_notify and the like): counted, not
         * part of the handshake's alerts or history */
        c->post_alerts++;
        c->post_alert_level = encrypted && !decrypted ? -1 : level;
        c->post_alert_code = encrypted && !decrypted ? -1 : code;
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
            h->alerts[h->nalerts ? h->nalerts - 1 : 0].decrypted = true;
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
        if (c->keys_found && c->next_have_cr && c->next_have_sr && h->have_sh) {
            const struct keylog_secret *ms = keylog_find(c->s->kl, c->next_cr, KL_MASTER);
            struct tlsdec nc = {0}, ns = {0};
            if (ms && tlsdec_init_tls12(&nc, &ns, h->sh.cipher, ms->v, ms->len, c->next_cr, c->next_sr) == 0) {
                tlsdec_free(&c->dec[dir]);
                c->dec[dir] = dir == C ? nc : ns;
                tlsdec_free(dir == C ? &ns : &nc);
            } else {
                tlsdec_free(&c->dec[dir]);
            }
        }
        return;
    }
    h->ccs[dir] = true;
    /* abbreviated (resumed): the server's CCS follows its ServerHello with
     * no Certificate, ServerKeyExchange or ServerHelloDone in between
     * (anonymous and PSK suites send no Certificate in a full handshake) */
    if (dir == S && h->have_sh && !h->server_cert_seen && !h->shd) h->abbreviated = true;
    set_last(c, dir, "change_cipher_spec");
}

static bool alert_sized(uint16_t len) { return len >= 19 && len <= 24; }

static void on_encrypted_tls12(struct tconn *c, int dir, const tls_record *r)
{
    struct hs *h = c->cur;
    if (r->content_type == TLS_CT_HANDSHAKE && r->length == 4 && dir == S && c->first_done &&
        (!h || over(h))) {
        /* no cipher suite makes a 4-byte record: this is a cleartext
         * HelloRequest (00 00 00 00) sent after the handshake */
        struct hs *n = new_hs(c, true, S);
        n->reneg_cleartext = true;
        hist_add(c, dir, 'H');
        set_last(c, dir, "hello_request");
        return;
    }
    if (r->content_type != TLS_CT_HANDSHAKE) {
        /* the peer carries on with data instead of answering */
        if (r->content_type == TLS_CT_APPLICATION_DATA && h && h->reneg && !h->decided &&
            dir != h->initiator && !h->reneg_answered && !h->reneg_rejected_seen) {
            h->reneg_ignored = true;
            h->reneg_rejecter = dir;
        }
        return;
    }
    if (h && !h->decided && !h->reneg && h->ccs[dir] && !h->fin[dir]) {
        h->fin[dir] = true;
        hist_add(c, dir, 'F');
        set_last(c, dir, "finished");
        if (h->fin[C] && h->fin[S]) complete(c, h);
        return;
    }
    if (h && h->reneg && !h->decided) {
        if (dir != h->initiator) h->reneg_answered = true;
        hist_add(c, dir, h->ccs[dir] ? 'F' : 'E');
        set_last(c, dir, h->ccs[dir] ? "finished" : "encrypted_handshake");
        /* after its new CCS, a side's handshake record is its Finished */
        if (h->ccs[dir]) h->fin[dir] = true;
        if (h->fin[C] && h->fin[S]) complete(c, h);
        return;
    }
    if (c->first_done) {
        /* after both Finished: a renegotiation starts (client: ClientHello,
         * server: HelloRequest) */
        struct hs *n = new_hs(c, true, dir);
        (void)n;
        hist_add(c, dir, 'E');
        set_last(c, dir, dir == C ? "encrypted_client_hello" : "encrypted_hello_request");
        return;
    }
    hist_add(c, dir, 'E');
    set_last(c, dir, "encrypted_handshake");
}

static void on_encrypted_tls13(struct tconn *c, int dir, const tls_record *r)
{
    struct hs *h = c->cur;
    if (!h || over(h) || r->content_type != TLS_CT_APPLICATION_DATA) return;
    if (h->reneg) {
        if (dir != h->initiator && !h->reneg_rejected_seen) {
            h->reneg_ignored = true; /* the peer carries on */
            h->reneg_rejecter = dir;
        }
        return;
    }
    if (dir == S) {
        if (!h->fin[C]) {
            if (!c->last[S][0] || strcmp(c->last[S], "encrypted_server_flight") != 0) hist_add(c, dir, 'E');
            set_last(c, dir, "encrypted_server_flight");
            return;
        }
        if (alert_sized(r->length) && !h->server_alert13) {
            h->server_alert13 = true;
            add_alert(c, h, S, -1, -1, true, true);
            hist_add(c, dir, 'L');
            set_last(c, dir, "alert");
            return;
        }
        if (!h->server_alert13) complete(c, h);
        return;
    }
    /* client */
    if (!h->fin[C]) {
        if (alert_sized(r->length) && h->have_ch && h->ch.ext.has_early_data && !h->eoed) {
            h->eoed = true; /* EndOfEarlyData is alert-sized too */
            hist_add(c, dir, 'E');
            set_last(c, dir, "end_of_early_data");
            return;
        }
        if (alert_sized(r->length)) {
            h->client_rejected13 = true;
            add_alert(c, h, C, -1, -1, true, true);
            hist_add(c, dir, 'L');
            set_last(c, dir, "alert");
            return;
        }
        /* the client's flight (Certificate, CertificateVerify, Finished)
         * may span several records: the first one marks it */
        h->fin[C] = true;
        hist_add(c, dir, 'F');
        set_last(c, dir, "finished");
    }
    /* more client records: the rest of its flight, or early application
     * data; only the server's answer tells the handshake went through */
}

static void on_inner_message(void *user, const tls_hs_msg *m);

/* Reads an encrypted record with the key log. Returns true when it was
 * decrypted and fully handled (TLS 1.3), false to go on with inference. */
static bool decrypt_record(struct tconn *c, int dir, const tls_record *r)
{
    struct tlsdec *d = &c->dec[dir];
    if (!d->mode || !r->body) return false;
    uint8_t type = 0;
    int n = tlsdec_record(d, r->content_type, r->version, r->body, r->body_len, c->s->plain,
                          sizeof c->s->plain, &type);
    if (n < 0) {
        c->dec_failed++;
        return false;
    }
    c->decrypted_any = true;
    const uint8_t *p = c->s->plain;
    if (type == TLS_CT_ALERT && n >= 2) {
        if (c->tls13) {
            handle_alert(c, dir, p[0], p[1], true, true);
            return true;
        }
        c->pending_level[dir] = p[0]; /* the TLS_EV_ALERT of this record follows */
        c->pending_code[dir] = p[1];
        return false;
    }
    if (type == TLS_CT_HANDSHAKE && c->inner_on) {
        c->side[dir].c = c;
        tls_handshake_feed(&c->inner[dir], p, (size_t)n, r->offset);
        return c->tls13;
    }
    if (type == TLS_CT_APPLICATION_DATA && c->tls13) {
        struct hs *h = c->cur;
        if (h && !h->decided && !h->reneg && dir == S && h->fin[C]) complete(c, h);
        return true;
    }
    return false;
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

/* TLS 1.3 key schedule as far as the key log tells it: handshake traffic
 * secrets from the ServerHello, application secrets after each Finished. */
static void set_tls13_keys(struct tconn *c, int dir, enum keylog_kind kind)
{
    struct hs *h = c->cur;
    const struct keylog_secret *sec = h && h->have_ch ? keylog_find(c->s->kl, h->ch.random, kind) : NULL;
    if (!sec || tlsdec_init_tls13(&c->dec[dir], h->sh.cipher, sec->v, sec->len) != 0) {
        tlsdec_free(&c->dec[dir]);
        return;
    }
    c->keys_found = true;
}

static void start_inner(struct tconn *c)
{
    if (c->inner_on) return;
    c->inner_on = true;
    size_t cap = c->s->o.max_handshake_bytes;
    for (int d = 0; d < 2; d++) {
        tls_handshake_init(&c->inner[d], NULL, 0, (uint32_t)cap, on_inner_message, &c->side[d]);
        tls_handshake_set_mem(&c->inner[d], &c->s->mem);
    }
}

/* Keys at the ServerHello, when a key log has them. */
static void keys_at_server_hello(struct tconn *c, struct hs *h)
{
    if (!c->s->kl || !h->have_ch || !tlsdec_supported(h->sh.cipher)) return;
    if (h->tls13) {
        set_tls13_keys(c, C, KL_CLIENT_HS);
        set_tls13_keys(c, S, KL_SERVER_HS);
    } else {
        const struct keylog_secret *ms = keylog_find(c->s->kl, h->ch.random, KL_MASTER);
        if (!ms || tlsdec_init_tls12(&c->dec[C], &c->dec[S], h->sh.cipher, ms->v, ms->len, h->ch.random,
                                     h->sh.random) != 0)
            return;
        c->keys_found = true;
    }
    if (!c->keys_found) return;
    start_inner(c);
    for (int d = 0; d < 2; d++) tls_record_set_keep_encrypted(&c->st[d].rec, true);
}

static void on_inner_message(void *user, const tls_hs_msg *m)
{
    struct side *sd = user;
    struct tconn *c = sd->c;
    int dir = sd->dir;
    struct hs *h = c->cur;
    tls_message msg;
    tls_message_ctx ctx = { h && h->have_sh ? h->sh.version : 0, h && h->have_sh ? h->sh.cipher : 0 };
    tls_message_parse(m, &ctx, &msg);
    char nb[NAME_LEN];
    const char *name = tls_names_fmt(tls_names_handshake_type(m->type), m->type, nb, sizeof nb);
    if (!c->tls13) {
        /* TLS 1.2: Finished and renegotiation messages; the record-type
         * inference keeps driving the state, the randoms give the new keys */
        if (m->type == TLS_HS_CLIENT_HELLO && msg.ok) {
            memcpy(c->next_cr, msg.u.ch.random, 32);
            c->next_have_cr = true;
        } else if (m->type == TLS_HS_SERVER_HELLO && msg.ok) {
            memcpy(c->next_sr, msg.u.sh.random, 32);
            c->next_have_sr = true;
        }
        return;
    }
    if (!h) return;
    if (m->type == TLS_HS_KEY_UPDATE) {
        tlsdec_free(&c->dec[dir]); /* next generation secrets are not in key logs */
        return;
    }
    if (h->decided) return;
    hist_add(c, dir, hs_letter(m->type));
    set_last(c, dir, name);
    switch (m->type) {
    case TLS_HS_CERTIFICATE:
        if (dir == S) {
            h->server_cert_seen = true;
            h->chain_len = msg.u.cert.count + msg.u.cert.truncated;
            summarize_chain(h, &msg.u.cert, true);
        } else {
            h->client_cert_sent = true;
            h->client_cert_empty = msg.u.cert.count == 0;
            summarize_chain(h, &msg.u.cert, false);
        }
        break;
    case TLS_HS_CERTIFICATE_REQUEST:
        h->cert_request = true;
        break;
    case TLS_HS_ENCRYPTED_EXTENSIONS:
        if (msg.u.ee.alpn_n) snprintf(h->ee_alpn, sizeof h->ee_alpn, "%s", msg.u.ee.alpn[0]);
        if (msg.u.ee.has_early_data) h->early_accepted = true;
        break;
    case TLS_HS_FINISHED:
        h->fin[dir] = true;
        set_tls13_keys(c, dir, dir == C ? KL_CLIENT_APP : KL_SERVER_APP);
        break;
    case TLS_HS_NEW_SESSION_TICKET:
        if (dir == S && h->fin[C]) complete(c, h);
        break;
    case TLS_HS_KEY_UPDATE:
        tlsdec_free(&c->dec[dir]); /* next generation secrets are not in key logs */
        break;
    default:
        break;
    }
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
        for (int d = 0; d < 2; d++) tls_stream_release(&c->st[d]);
    if (c->inner_on)
        for (int d = 0; d < 2; d++) tls_handshake_reset(&c->inner[d]);
    tlsdec_free(&c->dec[0]);
    tlsdec_free(&c->dec[1]);
    lru_unlink(s, c);
    if (s->current == c) s->current = NULL;
    uncharge(s, sizeof *c);
    free(c);
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
    c = xcalloc(1, sizeof *c);
    charge(s, sizeof *c);
    c->s = s;
    c->f = f;
    c->close_by = -1;
    c->pending_code[0] = c->pending_code[1] = -1;
    f->app = c;
    return c;
}

static void start_tls(struct sessions *s, struct tconn *c)
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

static void give_up(struct sessions *s, struct tconn *c)
{
    c->state = ST_NOT_TLS;
    s->st.not_tls_flows++;
    s->verdict |= REASM_STOP_TO_SERVER | REASM_STOP_TO_CLIENT;
}

static void detect(struct sessions *s, struct tconn *c, int dir, const uint8_t *d, size_t n)
{
    bool first = !c->any_data[dir];
    c->any_data[dir] = true;
    if (dir == C && looks_client_hello(d, n)) {
        if (c->seen[C] || c->seen[S]) s->st.starttls_flows++;
        start_tls(s, c);
        return;
    }
    if (looks_record(d, n) && (first || c->seen[dir] == 0)) {
        /* mid-stream: a TLS record where a segment starts */
        start_tls(s, c);
        return;
    }
    if (dir == C && first && looks_http_request(d, n)) {
        printable(c->client_first, d, n);
    }
    c->seen[dir] += n;
    if (c->seen[C] > DETECT_LIMIT || c->seen[S] > DETECT_LIMIT) give_up(s, c);
}

static void feed(struct sessions *s, struct tconn *c, int dir, const uint8_t *data, size_t len,
                 const struct timeval *ts);

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
    if (c->free_pending) {
        c->free_pending = false;
        conn_free(c);
        return s->verdict;
    }
    apply_deferred(c);
    return s->verdict;
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
        if (c->state != ST_TLS) return;
    }
    if (dir == DIR_TO_CLIENT && !c->server_answered) {
        c->server_answered = true;
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
        snprintf(c->close_after, NAME_LEN, "%s", c->last_any);
    }
    if (ev == REASM_EV_FIN) c->fin[dir] = true;
    if (c->state != ST_TLS) return;
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

static void plaintext_to_tls(struct sessions *s, struct tconn *c)
{
    /* A request line sent where the server then closed without a byte:
     * most likely plaintext to a TLS port. Reported as a failed handshake
     * without a ClientHello so the not-tls rule can say so. */
    struct flow *f = c->f;
    if (!c->client_first[0] || f->payload[DIR_TO_CLIENT] || c->close_by < 0) return;
    if (f->srv.port == 80 || f->srv.port == 8080 || f->srv.port == 3128) return; /* plain HTTP */
    c->client_not_tls = true;
    struct hs *h = new_hs(c, false, C);
    h->t_start = tvd(&f->first_ts);
    s->st.tls_flows++;
    decide(c, h, OUT_FAILED);
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
    double t = tvd(now);
    while (s->to_head) {
        struct hs *h = s->to_head;
        if (t - h->t_start < s->o.handshake_timeout) break;
        struct tconn *c = h->c;
        to_unlink(s, h);
        if (c->server_answered || h->decided) continue;
        c->now = t;
        decide(c, h, OUT_TIMEOUT);
    }
}

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
    return s;
}

void sessions_free(struct sessions *s) { free(s); }

const struct session_stats *sessions_stats(const struct sessions *s) { return &s->st; }

void sessions_set_certcheck(struct sessions *s, struct certcheck *cc) { s->cc = cc; }

void sessions_set_keylog(struct sessions *s, struct keylog *kl) { s->kl = kl; }
