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
    struct value *server_cert, *chain, *client_cert;
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

struct sessions {
    struct session_opts o;
    unsigned verdict;                   /* enum reasm_verdict of the current session_on_data */
    session_emit_fn emit;
    void *ctx;
    struct session_stats st;
    struct hs *to_head, *to_tail;
    struct certcheck *cc;
    struct keylog *kl;
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

static const char *const outcome_names[OUT_COUNT] = {
    "established", "resumed", "failed", "aborted", "timeout", "renegotiated", "reneg_rejected",
    "incomplete_capture",
};

const char *session_outcome_name(int o)
{
    return o >= 0 && o < OUT_COUNT ? outcome_names[o] : "unknown";
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

static const char *ver_name(uint16_t v, char *buf, size_t n)
{
    return tls_names_fmt(tls_names_version(v), v, buf, n);
}

static struct value *u16_names(const tls_u16_list *l, const char *(*name)(uint16_t))
{
    struct value *a = value_arr();
    char b[32];
    for (unsigned i = 0; i < l->n; i++) {
        if (tls_names_is_grease(l->v[i])) continue;
        value_arr_push_str(a, tls_names_fmt(name(l->v[i]), l->v[i], b, sizeof b));
    }
    return a;
}

static const char *ext_name(uint16_t c) { return tls_names_extension(c); }
static const char *group_name(uint16_t c) { return tls_names_group(c); }
static const char *sig_name(uint16_t c) { return tls_names_sigscheme(c); }
static const char *cipher_name(uint16_t c) { return tls_names_cipher(c); }
static const char *version_name(uint16_t c) { return tls_names_version(c); }

static void time_str(int64_t epoch, char *buf, size_t n)
{
    struct timeval tv = { (time_t)epoch, 0 };
    char b[48];
    format_time_rfc3339(&tv, b, sizeof b);
    /* certificates have second precision: drop the zero microseconds */
    char *dot = strchr(b, '.');
    if (dot) {
        dot[0] = 'Z';
        dot[1] = '\0';
    }
    snprintf(buf, n, "%s", b);
}

static struct value *cert_value(const x509_summary *x)
{
    struct value *o = value_obj();
    char b[64];
    value_set_bool(o, "malformed", !x->parsed);
    value_set_str(o, "subject", x->subject);
    value_set_str(o, "issuer", x->issuer);
    value_set_str(o, "cn", x->cn[0] ? x->cn : NULL);
    value_set_str(o, "serial", x->serial);
    if (x->validity_ok) {
        time_str(x->not_before, b, sizeof b);
        value_set_str(o, "not_before", b);
        time_str(x->not_after, b, sizeof b);
        value_set_str(o, "not_after", b);
        value_set_int(o, "not_before_epoch", x->not_before);
        value_set_int(o, "not_after_epoch", x->not_after);
        value_set_int(o, "validity_days", (x->not_after - x->not_before) / 86400);
    } else {
        value_obj_set(o, "not_before", value_null());
        value_obj_set(o, "not_after", value_null());
    }
    struct value *san = value_arr();
    for (unsigned i = 0; i < x->san_dns_n; i++) value_arr_push_str(san, x->san_dns[i]);
    value_obj_set(o, "san", san);
    struct value *ips = value_arr();
    for (unsigned i = 0; i < x->san_ip_n; i++) value_arr_push_str(ips, x->san_ip[i]);
    value_obj_set(o, "san_ip", ips);
    snprintf(b, sizeof b, "%s-%d", x->key_type[0] ? x->key_type : "unknown", x->key_bits);
    value_set_str(o, "key", b);
    value_set_str(o, "key_type", x->key_type[0] ? x->key_type : NULL);
    value_set_int(o, "key_bits", x->key_bits);
    value_set_str(o, "curve", x->curve[0] ? x->curve : NULL);
    value_set_str(o, "sig", x->sig_alg[0] ? x->sig_alg : NULL);
    value_set_str(o, "sha256", x->sha256);
    value_set_bool(o, "self_issued", x->self_issued);
    value_set_bool(o, "self_signed", x->self_signed);
    value_set_bool(o, "is_ca", x->is_ca);
    return o;
}

static struct value *alert_value(const struct alert_rec *a)
{
    struct value *o = value_obj();
    value_set_str(o, "from", a->from == C ? "client" : "server");
    if (a->encrypted) {
        value_obj_set(o, "level", value_null());
        value_obj_set(o, "code", value_null());
        value_obj_set(o, "description", value_null());
    } else {
        value_set_str(o, "level", a->level == 2 ? "fatal" : a->level == 1 ? "warning" : "unknown");
        value_set_int(o, "code", a->code);
        char b[32];
        value_set_str(o, "description", tls_names_fmt(tls_names_alert((uint8_t)a->code), (uint16_t)a->code, b, sizeof b));
    }
    value_set_bool(o, "encrypted", a->encrypted || a->decrypted);
    value_set_bool(o, "decrypted", a->decrypted);
    value_set_bool(o, "inferred", a->inferred);
    value_set_str(o, "after", a->after[0] ? a->after : NULL);
    value_set_double(o, "time", a->time);
    value_set_bool(o, "during_handshake", a->during_hs);
    value_set_bool(o, "after_peer_close", a->after_peer_close);
    return o;
}

static bool offered(const tls_u16_list *l, uint16_t v)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->v[i] == v) return true;
    return false;
}

static struct value *weakness_names(unsigned w)
{
    static const char *const n[] = { "null", "export", "anon", "rc4", "des", "3des", "rsa_kx", "cbc", "md5", "unknown" };
    struct value *a = value_arr();
    for (unsigned i = 0; i < sizeof n / sizeof n[0]; i++)
        if (w & (1u << i)) value_arr_push_str(a, n[i]);
    return a;
}

static void add_negotiation(struct value *o, const struct tconn *c, const struct hs *h)
{
    char b[64];
    const tls_client_hello *ch = &h->ch;
    const tls_server_hello *sh = &h->sh;
    if (h->have_sh) {
        value_set_str(o, "version", ver_name(sh->version, b, sizeof b));
        value_set_int(o, "version_code", sh->version);
        if (sh->version == 0x0002) { /* SSLv2: 3-byte cipher specs, no TLS suite */
            value_obj_set(o, "cipher", value_null());
            value_obj_set(o, "cipher_code", value_null());
        } else {
            value_set_str(o, "cipher", tls_names_fmt(tls_names_cipher(sh->cipher), sh->cipher, b, sizeof b));
            value_set_int(o, "cipher_code", sh->cipher);
        }
        const tls_cipher_info *ci = tls_names_cipher_info(sh->cipher);
        value_set_str(o, "cipher_kx", ci ? tls_names_kx(ci->kx) : NULL);
        value_set_str(o, "cipher_enc", ci ? tls_names_enc(ci->enc) : NULL);
        value_obj_set(o, "cipher_weakness", weakness_names(tls_names_cipher_weakness(sh->cipher)));
    } else {
        value_obj_set(o, "version", value_null());
        value_obj_set(o, "version_code", value_null());
        value_obj_set(o, "cipher", value_null());
        value_obj_set(o, "cipher_code", value_null());
        value_obj_set(o, "cipher_kx", value_null());
        value_obj_set(o, "cipher_enc", value_null());
        value_obj_set(o, "cipher_weakness", value_arr());
    }
    if (h->have_ch) {
        value_set_str(o, "client_version", ver_name(ch->legacy_version, b, sizeof b));
        struct value *vs;
        uint16_t maxv = 0;
        if (ch->ext.versions.n) {
            vs = u16_names(&ch->ext.versions, version_name);
            for (unsigned i = 0; i < ch->ext.versions.n; i++) {
                uint16_t v = ch->ext.versions.v[i];
                if (tls_names_is_grease(v)) continue;
                uint16_t rank = tls_names_version_is_tls13(v) ? 0x0304 : v;
                if (rank > maxv) maxv = rank;
            }
        } else {
            vs = value_arr();
            value_arr_push_str(vs, ver_name(ch->legacy_version, b, sizeof b));
            maxv = ch->legacy_version;
        }
        value_obj_set(o, "client_versions", vs);
        value_set_int(o, "client_max_version_code", maxv);
        value_obj_set(o, "client_ciphers", u16_names(&ch->ciphers, cipher_name));
        bool weak_only = ch->ciphers.n > 0;
        for (unsigned i = 0; i < ch->ciphers.n && weak_only; i++) {
            uint16_t cs = ch->ciphers.v[i];
            if (tls_names_is_grease(cs) || cs == 0x00ff || cs == 0x5600) continue;
            if ((tls_names_cipher_weakness(cs) & ~(unsigned)TLS_WEAK_CBC) == 0) weak_only = false;
        }
        value_set_bool(o, "client_ciphers_weak_only", weak_only);
        value_set_bool(o, "scsv_fallback", offered(&ch->ciphers, 0x5600));
        value_set_bool(o, "scsv_renegotiation", offered(&ch->ciphers, 0x00ff));
        value_obj_set(o, "client_groups", u16_names(&ch->ext.groups, group_name));
        value_obj_set(o, "client_key_shares", u16_names(&ch->ext.key_share_groups, group_name));
        value_set_str(o, "sni", ch->ext.has_sni ? ch->ext.sni : NULL);
        struct value *alpn = value_arr();
        for (unsigned i = 0; i < ch->ext.alpn_n; i++) value_arr_push_str(alpn, ch->ext.alpn[i]);
        value_obj_set(o, "alpn", alpn);
        value_obj_set(o, "client_extensions", u16_names(&ch->ext.types, ext_name));
        value_obj_set(o, "client_sig_algs", u16_names(&ch->ext.sig_algs, sig_name));
    } else {
        value_obj_set(o, "client_version", value_null());
        value_obj_set(o, "client_versions", value_arr());
        value_obj_set(o, "client_max_version_code", value_null());
        value_obj_set(o, "client_ciphers", value_arr());
        value_set_bool(o, "client_ciphers_weak_only", false);
        value_set_bool(o, "scsv_fallback", false);
        value_set_bool(o, "scsv_renegotiation", false);
        value_obj_set(o, "client_groups", value_arr());
        value_obj_set(o, "client_key_shares", value_arr());
        value_obj_set(o, "sni", value_null());
        value_obj_set(o, "alpn", value_arr());
        value_obj_set(o, "client_extensions", value_arr());
        value_obj_set(o, "client_sig_algs", value_arr());
    }
    uint16_t grp = 0;
    if (h->have_sh && sh->ext.key_share_group) grp = sh->ext.key_share_group;
    else if (h->ske_group) grp = h->ske_group;
    value_set_str(o, "group", grp ? tls_names_fmt(tls_names_group(grp), grp, b, sizeof b) : NULL);
    if (h->dh_bits) value_set_int(o, "dh_bits", h->dh_bits);
    else value_obj_set(o, "dh_bits", value_null());
    value_set_bool(o, "hrr", h->hrr);
    value_set_str(o, "hrr_group", h->hrr_group ? tls_names_fmt(tls_names_group(h->hrr_group), h->hrr_group, b, sizeof b) : NULL);
    value_set_str(o, "alpn_selected", h->have_sh && sh->ext.alpn_n ? sh->ext.alpn[0] : h->ee_alpn[0] ? h->ee_alpn : NULL);
    value_obj_set(o, "server_extensions", h->have_sh ? u16_names(&sh->ext.types, ext_name) : value_arr());
    struct value *ri = value_obj();
    if (h->have_ch) value_set_bool(ri, "client", ch->ext.has_reneg_info);
    else value_obj_set(ri, "client", value_null());
    if (h->have_sh) value_set_bool(ri, "server", sh->ext.has_reneg_info);
    else value_obj_set(ri, "server", value_null());
    value_obj_set(o, "reneg_info", ri);
    value_set_bool(o, "heartbeat_offered", h->have_ch && ch->ext.has_heartbeat);
    struct value *ed = value_obj();
    value_set_bool(ed, "offered", h->have_ch && ch->ext.has_early_data);
    value_set_bool(ed, "sent", h->early_data_sent);
    if (h->early_accepted) value_set_bool(ed, "accepted", true);
    else value_obj_set(ed, "accepted", value_null());
    value_obj_set(o, "early_data", ed);
    (void)c;
}

static void add_certs(struct value *o, struct hs *h)
{
    value_obj_set(o, "server_cert", h->server_cert ? h->server_cert : value_null());
    value_obj_set(o, "chain", h->chain ? h->chain : value_arr());
    h->server_cert = h->chain = NULL;
    value_set_int(o, "chain_len", h->chain_len);
    value_set_bool(o, "server_cert_encrypted", h->tls13 && !h->server_cert_seen);
    value_set_bool(o, "cert_request", h->cert_request);
    value_set_int(o, "cert_request_ca_names", h->ca_names);
    value_set_bool(o, "client_cert_sent", h->client_cert_sent);
    value_set_bool(o, "client_cert_empty", h->client_cert_empty);
    value_obj_set(o, "client_cert", h->client_cert ? h->client_cert : value_null());
    h->client_cert = NULL;
    struct value *ocsp = value_obj();
    static const char *const st[] = { "good", "revoked", "unknown" };
    value_set_str(ocsp, "status", h->ocsp_status >= 0 && h->ocsp_status <= 2 ? st[h->ocsp_status] : NULL);
    value_obj_set(o, "ocsp", ocsp);
}

static const char *resumption_offered(const struct hs *h)
{
    if (!h->have_ch) return NULL;
    if (h->ch.ext.has_psk) return "psk";
    if (h->ch.ext.has_session_ticket && h->ch.ext.session_ticket_len > 0) return "ticket";
    if (h->ch.session_id_len > 0 && !h->tls13) return "session_id";
    return NULL;
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

static struct value *build_facts(struct tconn *c, struct hs *h, int outcome)
{
    struct flow *f = c->f;
    struct value *o = value_obj();
    add_negotiation(o, c, h);
    value_set_str(o, "outcome", session_outcome_name(outcome));
    value_set_str(o, "history", c->hist);
    value_set_int(o, "handshakes", h->index + 1);
    value_set_bool(o, "established", h->done);
    value_set_bool(o, "resumed", is_resumed(h));
    struct value *res = value_obj();
    value_set_str(res, "offered", resumption_offered(h));
    value_set_bool(res, "accepted", is_resumed(h));
    value_obj_set(o, "resumption", res);
    struct value *lm = value_obj();
    value_set_str(lm, "client", c->last[C][0] ? c->last[C] : NULL);
    value_set_str(lm, "server", c->last[S][0] ? c->last[S] : NULL);
    value_obj_set(o, "last_message", lm);
    value_set_bool(o, "server_hello_seen", h->have_sh);
    const char *why = NULL;
    if (!h->have_ch && !h->reneg && !c->client_not_tls)
        why = c->n_hs > 1 ? "handshake_start_missing" : "no_client_hello";
    else if (any_gap(c)) why = "bytes_missing";
    value_set_bool(o, "capture_incomplete", why != NULL);
    value_set_str(o, "capture_incomplete_reason", why);
    value_set_bool(o, "server_not_tls", c->server_not_tls);
    value_set_str(o, "server_first_bytes", c->server_not_tls ? c->server_first : NULL);
    value_set_bool(o, "client_not_tls", c->client_not_tls);
    value_set_str(o, "client_first_bytes", c->client_not_tls ? c->client_first : NULL);
    struct value *cl = value_obj();
    value_set_str(cl, "by", c->close_by < 0 ? NULL : c->close_by == C ? "client" : "server");
    value_set_str(cl, "how", c->close_by < 0 ? NULL : c->close_how ? "rst" : "fin");
    value_set_str(cl, "after", c->close_by < 0 || !c->close_after[0] ? NULL : c->close_after);
    value_obj_set(o, "close", cl);
    struct value *tm = value_obj();
    if (h->have_sh && h->have_ch && !h->inherited) value_set_double(tm, "server_hello", (h->t_sh - h->t_start) * 1000.0);
    else value_obj_set(tm, "server_hello", value_null());
    if (h->done && h->have_ch) value_set_double(tm, "finished", (h->t_done - h->t_start) * 1000.0);
    else value_obj_set(tm, "finished", value_null());
    if (outcome == OUT_TIMEOUT) value_set_double(tm, "no_answer", (c->now - h->t_start) * 1000.0);
    else value_obj_set(tm, "no_answer", value_null());
    value_obj_set(o, "timing_ms", tm);

    struct value *al = value_arr();
    for (int i = 0; i < h->nalerts; i++) value_arr_push(al, alert_value(&h->alerts[i]));
    value_obj_set(o, "alerts", al);
    value_set_int(o, "alert_count", h->nalerts + h->alerts_dropped);
    struct value *pa = value_obj();
    value_set_int(pa, "count", c->post_alerts);
    if (c->post_alerts) {
        char ab[32];
        value_set_str(pa, "last_from", c->post_alert_from == C ? "client" : "server");
        if (c->post_alert_code >= 0)
            value_set_str(pa, "last_description",
                          tls_names_fmt(tls_names_alert((uint8_t)c->post_alert_code), (uint16_t)c->post_alert_code, ab, sizeof ab));
        else value_obj_set(pa, "last_description", value_null());
        value_set_bool(pa, "last_fatal", c->post_alert_level == 2);
    }
    value_obj_set(o, "alerts_after_handshake", pa);
    value_obj_set(o, "last_alert", h->nalerts ? alert_value(&h->alerts[h->nalerts - 1]) : value_null());
    add_certs(o, h);

    value_set_bool(o, "hello_request", h->reneg && h->initiator == S);
    struct value *rn = value_obj();
    value_set_bool(rn, "attempt", h->reneg);
    value_set_str(rn, "initiator", h->reneg ? (h->initiator == C ? "client" : "server") : NULL);
    value_set_bool(rn, "encrypted", h->reneg && !h->reneg_cleartext);
    value_set_str(rn, "rejected_by", outcome == OUT_RENEG_REJECTED ? (h->reneg_rejecter == C ? "client" : "server") : NULL);
    value_set_bool(rn, "after_tls13", h->reneg && c->tls13);
    value_set_bool(rn, "inherited_negotiation", h->inherited);
    value_obj_set(o, "renegotiation", rn);
    /* the same, in the docs/facts.md list form the rules use */
    struct value *rl = value_arr();
    if (h->reneg) {
        struct value *e = value_obj();
        value_set_str(e, "initiator", h->initiator == C ? "client" : "server");
        value_set_double(e, "time", h->t_start);
        value_set_bool(e, "encrypted", !h->reneg_cleartext);
        value_set_str(e, "result", outcome == OUT_RENEGOTIATED ? "accepted"
                                   : outcome == OUT_RENEG_REJECTED && h->reneg_ignored && !h->reneg_rejected_seen ? "ignored"
                                   : outcome == OUT_RENEG_REJECTED ? "rejected" : "unknown");
        value_set_str(e, "evidence", h->reneg_rejected_seen ? "alert from the peer instead of a handshake answer"
                                     : h->reneg_ignored ? "the peer kept sending data without answering"
                                     : outcome == OUT_RENEG_REJECTED ? "the connection closed without a handshake answer"
                                     : outcome == OUT_RENEGOTIATED ? "both sides sent ChangeCipherSpec and Finished again"
                                     : "no answer seen");
        value_arr_push(rl, e);
    }
    value_obj_set(o, "renegotiations", rl);
    /* a peer that just carried on (ignored the request) did not reject it */
    bool rejected = outcome == OUT_RENEG_REJECTED && !(h->reneg_ignored && !h->reneg_rejected_seen);
    value_set_str(o, "renegotiation_rejected_by", rejected ? (h->reneg_rejecter == C ? "client" : "server") : NULL);
    value_set_int(o, "renegotiation_count", c->reneg_count);

    struct value *hb = value_obj();
    value_set_int(hb, "requests", c->hb_req);
    value_set_int(hb, "responses", c->hb_resp);
    value_set_bool(hb, "overflow", c->hb_overflow);
    value_set_bool(hb, "encrypted", c->hb_encrypted);
    value_set_int(hb, "encrypted_requests", c->hb_enc_req);
    value_set_int(hb, "encrypted_responses", c->hb_enc_resp);
    value_set_int(hb, "max_request_record", c->hb_max_req);
    value_set_int(hb, "max_response_record", c->hb_max_resp);
    value_obj_set(o, "heartbeat", hb);
    struct value *en = value_obj();
    value_set_int(en, "client_records", (int64_t)c->enc_records[C]);
    value_set_int(en, "server_records", (int64_t)c->enc_records[S]);
    value_set_int(en, "client_app_bytes", (int64_t)c->enc_bytes[C]);
    value_set_int(en, "server_app_bytes", (int64_t)c->enc_bytes[S]);
    value_set_bool(en, "keys_found", c->keys_found);
    value_set_bool(en, "decrypted", c->decrypted_any);
    value_set_int(en, "decrypt_failures", (int64_t)c->dec_failed);
    value_obj_set(o, "encrypted", en);

    struct value *an = value_arr();
    tls_anomalies all = c->anomalies | c->st[0].anomalies | c->st[1].anomalies;
    for (int i = 0; i < TLS_ANOM_COUNT; i++)
        if (all & ((tls_anomalies)1 << i)) value_arr_push_str(an, tls_names_anomaly((enum tls_anomaly)i));
    if (h->duplicate_ch) value_arr_push_str(an, "duplicate_client_hello");
    value_obj_set(o, "anomalies", an);

    struct value *fl = value_obj();
    char ip[64];
    flow_addr_str(f, f->cli.addr, ip, sizeof ip);
    value_set_str(fl, "client_ip", ip);
    flow_addr_str(f, f->srv.addr, ip, sizeof ip);
    value_set_str(fl, "server_ip", ip);
    value_set_int(fl, "client_port", f->cli.port);
    value_set_int(fl, "server_port", f->srv.port);
    value_set_double(fl, "time", h->t_start);
    value_set_bool(fl, "midstream", f->midstream);
    value_set_str(fl, "end_reason", flow_end_name(f->end));
    value_set_int(fl, "missing_toserver", f->gaps[DIR_TO_SERVER]);
    value_set_int(fl, "missing_toclient", f->gaps[DIR_TO_CLIENT]);
    value_obj_set(o, "flow", fl);
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
    value_free(h->server_cert);
    value_free(h->chain);
    value_free(h->client_cert);
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
    struct value *facts = build_facts(c, h, outcome);
    if (s->cc && h->nder > 0 && !h->inherited) {
        const struct value *sni = value_obj_get(facts, "sni");
        const char *name = sni && sni->type == V_STR ? sni->u.str.s : NULL;
        char key[128];
        if (name) snprintf(key, sizeof key, "%s", name);
        else {
            char ip[64];
            flow_addr_str(c->f, c->f->srv.addr, ip, sizeof ip);
            snprintf(key, sizeof key, "%s:%u", ip, c->f->srv.port);
        }
        /* chain verdict (cached by chain) + certificate-changed memory */
        certcheck_server(s->cc, (const uint8_t *const *)h->der, h->der_len, (size_t)h->nder, name, key,
                         (int64_t)h->t_start, facts);
    }
    struct timeval tv = { (time_t)c->now, (suseconds_t)((c->now - (double)(time_t)c->now) * 1e6) };
    if (s->emit) s->emit(s->ctx, c->f, facts, &tv);
    else value_free(facts);
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

static void summarize_chain(struct hs *h, const tls_certificate *cert, bool from_server)
{
    for (unsigned i = 0; i < cert->count; i++) {
        x509_summary x;
        x509_summary_parse(cert->certs[i].der, cert->certs[i].len, &x);
        struct value *v = cert_value(&x);
        if (!from_server) {
            if (i == 0) {
                value_free(h->client_cert);
                h->client_cert = v;
            } else {
                value_free(v);
            }
            continue;
        }
        if (i == 0) {
            value_free(h->server_cert);
            h->server_cert = v;
        } else {
            if (!h->chain) h->chain = value_arr();
            value_arr_push(h->chain, v);
        }
        if (from_server && h->nder < MAX_DER && cert->certs[i].len <= MAX_DER_BYTES) {
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
            x509_summary x;
            x509_summary_parse(ev->sslv2_sh->cert, ev->sslv2_sh->cert_len, &x);
            value_free(h->server_cert);
            h->server_cert = cert_value(&x);
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
