/* Private to the session layer (session*.c): the connection and handshake
 * state, and the functions that cross its files. Nothing outside src/session*.c
 * includes this; the public API is session.h.
 *
 *   session.c          connection lifecycle, memory budget, handshake state machine
 *   session_detect.c   TLS detection by content (and inside OpenVPN's control channel)
 *   session_facts.c    the typed facts of a handshake
 *   session_keyless.c  what encrypted records mean, without keys
 *   session_decrypt.c  reading encrypted records with a key log */
#ifndef TLSWATCH_SESSION_INT_H
#define TLSWATCH_SESSION_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "certcheck.h"
#include "facts.h"
#include "ovpn_stream.h"
#include "session.h"
#include "tlsdecrypt.h"
#include "tls_stream.h"
#include "x509_summary.h"
#include "x509cache.h"
#include "xalloc.h"

#define HIST_MAX 100
#define MAX_ALERTS 16
#define NAME_LEN 40
#define FIRST_BYTES 32
#define MAX_DER 10           /* server certificates kept for validation */
#define MLOG_MAX 32          /* entries of a connection's message log */

enum { C = DIR_TO_SERVER, S = DIR_TO_CLIENT }; /* stream index = sender */
enum conn_state { ST_DETECT = 0, ST_TLS, ST_NOT_TLS };

struct alert_rec {
    uint8_t from;
    int level, code; /* -1 when encrypted */
    bool encrypted, during_hs, inferred, after_peer_close, decrypted;
    char after[NAME_LEN];
    double time;
};

/* What a handshake keeps of its ServerHello: the fields the facts, the
 * fingerprints and decryption read (the parsed message is 2.6 KB, this
 * about 0.4 KB: the state of a thousand handshakes at once is smaller,
 * and so is the copy). */
struct sh_kept {
    uint16_t legacy_version;
    uint16_t version;       /* effective: supported_versions if present, else legacy */
    uint16_t cipher;
    uint16_t key_share_group;
    uint8_t random[32];
    bool has_psk, has_etm, has_reneg_info;
    uint8_t alpn_n;
    char alpn0[TLS_ALPN_MAX_LEN + 1]; /* the selected protocol (sanitised) */
    tls_u16_list types;     /* extension types, wire order */
    tls_anomalies anomalies;
};

struct hs {
    int64_t index;
    bool reneg, reneg_cleartext;
    int initiator;              /* renegotiation: C or S */
    bool reneg_answered, reneg_rejected_seen, reneg_ignored;
    int reneg_rejecter;
    double t_start, t_sh, t_done;
    double t_answer;            /* the server's first bytes after this ClientHello; 0 none */
    bool have_ch, have_sh, hrr, sslv2;
    bool ch_read, sh_read;  /* the hellos were read in this handshake (not inherited) */
    uint16_t hrr_group;
    tls_client_hello ch;
    struct sh_kept sh;
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
    char last_s_before_alert13[NAME_LEN]; /* last[S] before server_alert13 was inferred */
    bool done, decided;
    bool gap;  /* bytes of this handshake lost by the capture (proven by an ACK) */
    bool fatal;
    bool enc_alert_in_hs;
    struct alert_rec *alerts; /* MAX_ALERTS, allocated with the first alert */
    int nalerts, alerts_dropped;
    bool duplicate_ch;
    uint8_t *der[MAX_DER];
    size_t der_len[MAX_DER];
    int nder;
    struct tconn *c;
    struct hs *to_prev, *to_next; /* timeout list */
    bool in_to;
    /* --handshake-timeout passed without an answer: the timeout verdict is
     * provisional until the flow ends or idles out (a late answer gives the
     * real outcome) */
    bool timeout_passed, late_answer;
};

/* One message of the connection's log (session_opts.message_log): a
 * history letter (upper case; '.' FIN, '!' RST), its sender, the alert
 * description (-1: none or encrypted), ms since the flow's first packet.
 * 'c' and 'h': an encrypted record taken for a renegotiation's ClientHello
 * or HelloRequest. */
struct mlog_ent {
    uint8_t dir;
    char type;
    int16_t code;
    float ms;
};

/* The log itself, allocated with the connection when it is kept. */
struct mlog {
    struct mlog_ent e[MLOG_MAX];
    uint8_t n;
    /* TLS 1.2: messages read with the key log in the record being handled,
     * named in the log in place of the record's 'E' */
    char pend[2][8];
    uint8_t npend[2];
};

struct side {
    struct tconn *c;
    int dir;
};

struct tconn {
    struct sessions *s;
    struct flow *f;
    enum conn_state state;
    /* what every delivery reads, in the first cache line */
    bool ovpn; /* OpenVPN over TCP, confirmed by the server's reset */
    bool headers_only;
    bool server_answered;
    bool server_not_tls, client_not_tls;
    bool free_pending;      /* conn_free() waited for the dissector */
    bool want_headers_only; /* deferred until the dissector returns */
    int in_feed; /* the dissector is reading this connection */
    double now;
    struct hs *cur;
    tls_stream st[2];
    struct side side[2];
    struct tconn *lru_prev, *lru_next; /* least recently fed first */
    uint64_t seen[2];
    bool any_data[2];
    int64_t n_hs;
    bool first_done, tls13;
    char hist[HIST_MAX + 1];
    int hist_len;
    struct mlog *ml;                /* the first MLOG_MAX messages (session_opts.message_log), else NULL */
    char last[2][NAME_LEN], last_any[NAME_LEN];
    int close_by, close_how; /* -1 none; how: 0 fin, 1 rst */
    char close_after[NAME_LEN];
    bool fin[2];
    char server_first[FIRST_BYTES + 1], client_first[FIRST_BYTES + 1];
    bool midstream;
    int64_t reneg_count;
    uint64_t enc_records[2], enc_bytes[2];
    uint32_t hb_req, hb_resp, hb_enc_req, hb_enc_resp;
    uint32_t post_alerts;                 /* alerts after the handshake */
    int post_alert_level, post_alert_code, post_alert_from;
    uint32_t hb_max_req, hb_max_resp; /* longest encrypted heartbeat record each way */
    bool hb_overflow, hb_encrypted;
    tls_anomalies anomalies;
    /* decryption with a key log */
    struct tlsdec dec[2];
    tls_handshake_reasm inner[2];
    bool inner_on;
    bool keys_found, decrypted_any;
    int pending_level[2], pending_code[2]; /* TLS 1.2: alert read from the record just decrypted */
    uint8_t next_cr[32], next_sr[32];      /* renegotiation hellos seen decrypted: randoms, */
    bool next_have_cr, next_have_sr;
    uint16_t next_cipher, next_version;    /* suite, version, */
    bool next_etm_c, next_etm_s;           /* encrypt_then_mac offered / accepted */
    uint32_t key_updates[2];               /* TLS 1.3 KeyUpdates followed (keys rolled) */
    uint64_t dec_failed, dec_ok[2];
    /* OpenVPN over TCP (session_detect.c): the TLS of its control channel
     * reaches st[] through a demultiplexer per direction */
    bool ovpn_pending;         /* the client's reset seen, the server's not yet */
    uint8_t ovpn_prot;         /* enum ovpn_protection */
    uint8_t ovpn_hmac;         /* tls-auth HMAC bytes */
    ovpn_hello ovh;            /* the client's reset */
    ovpn_stream ov[2];
};

/* Room for what the facts of one handshake point to while they are
 * emitted (the emit callback runs synchronously). */
struct emit_buf {
    tls_facts f;
    struct facts_ALERT alerts[MAX_ALERTS];
    struct facts_RENEG_ENTRY reneg;
    struct facts_MSG msgs[MLOG_MAX];
    struct facts_CERT leaf, client_leaf, chain[TLS_CERT_CHAIN_MAX];
    const char *san[TLS_CERT_CHAIN_MAX + 2][X509_SUMMARY_SAN_MAX];
    const char *san_ip[TLS_CERT_CHAIN_MAX + 2][X509_SUMMARY_IP_MAX];
    const char *alpn[TLS_ALPN_MAX_ENTRIES];
    uint16_t one_version;
    struct fp_hellos fp;
    struct certcheck_facts cc;
};

#define SESSION_LOSS_SPANS 16

struct sessions {
    struct session_opts o;
    unsigned verdict;                   /* enum reasm_verdict of the current session_on_data */
    session_emit_fn emit;
    void *ctx;
    struct session_stats st;
    struct hs *to_head, *to_tail;
    double to_head_start;               /* to_head->t_start: sessions_tick reads it for every packet */
    struct certcheck *cc;
    struct keylog *kl;
    struct emit_buf eb;                 /* the facts of the handshake being emitted */
    struct x509cache *xc;               /* certificates parsed once */
    struct freelist hs_pool, conn_pool; /* freed state, taken back by the next connections */
    tls_mem mem;                        /* the dissector's buffers, within the budget */
    struct tconn *lru_head, *lru_tail;  /* connections, least recently fed first */
    struct tconn *current;              /* being fed: never shed */
    /* capture time spans in which the capture dropped packets (the last
     * SESSION_LOSS_SPANS, oldest overwritten): a handshake overlapping one
     * says capture_loss */
    struct { double from, to; } loss[SESSION_LOSS_SPANS];
    unsigned nloss;                     /* spans recorded (ring index = nloss % N) */
    uint64_t loss_flagged;              /* handshakes that said capture_loss */
    uint8_t plain[TLS_RECORD_BUF_SIZE];
};

static inline double tvd(const struct timeval *tv) { return (double)tv->tv_sec + (double)tv->tv_usec / 1e6; }

/* The handshake is over (decided, or complete and only waiting to be
 * reported with what follows it on the connection). */
static inline bool over(const struct hs *h) { return h->decided || h->done; }

/* session.c: history, decisions, handlers */
bool session_loss_overlaps(struct sessions *s, double from, double to);
void hist_add(struct tconn *c, int dir, char letter);
/* The history letter only (the message log told otherwise). */
void hist_letter(struct tconn *c, int dir, char letter);
/* The message log (kept when session_opts.message_log): letter as in
 * hist_add, code an alert's description or -1. */
void mlog_add(struct tconn *c, int dir, char letter, int code);
/* A message of the record being handled, read with the key log. */
void mlog_decrypted(struct tconn *c, int dir, char letter);
char hs_letter(uint8_t type);
/* A history letter's message name (upper case; '.' FIN, '!' RST; 'c', 'h'
 * an encrypted renegotiation ClientHello or HelloRequest), "Other" if none. */
const char *hist_letter_name(char letter);
void set_last(struct tconn *c, int dir, const char *name);
/* Decides h's outcome (once) and, unless it is a renegotiation past
 * MAX_RENEG_REPORTED, emits its facts. */
void decide(struct tconn *c, struct hs *h, int outcome);
/* The handshake went through: a renegotiation is reported now, a first
 * handshake later, with what follows it on the connection. */
void complete(struct tconn *c, struct hs *h);
/* A new handshake on c; the current one is settled and freed first. */
struct hs *new_hs(struct tconn *c, bool reneg, int initiator);
void add_alert(struct tconn *c, struct hs *h, int dir, int level, int code, bool enc, bool inferred);
void summarize_chain(struct hs *h, const tls_certificate *cert, bool from_server);
/* level/code -1: encrypted and unknown. decrypted: read with the key log. */
void handle_alert(struct tconn *c, int dir, int level, int code, bool encrypted, bool decrypted);
void start_tls(struct sessions *s, struct tconn *c);

/* session_detect.c */
bool may_start_record(const uint8_t *d, size_t n);
/* The first FIRST_BYTES of d as text (non-printable bytes as '.'). */
void printable(char *out, const uint8_t *d, size_t n);
/* Payload of a connection not yet known as TLS: starts TLS on it, or gives up. */
void detect(struct sessions *s, struct tconn *c, int dir, const uint8_t *d, size_t n);
/* End of a connection that never became TLS: plaintext sent to a TLS service? */
void plaintext_to_tls(struct sessions *s, struct tconn *c);
/* Bytes of an OpenVPN connection (c->ovpn): through its demultiplexer. */
void ovpn_feed(struct tconn *c, int dir, const uint8_t *d, size_t n);
void ovpn_gap(struct tconn *c, int dir, uint64_t n);
/* The control channel is encrypted (tls-crypt, tls-crypt-v2): no TLS to read. */
static inline bool ovpn_encrypted(const struct tconn *c)
{
    return c->ovpn && (c->ovpn_prot == OVPN_PROT_TLS_CRYPT || c->ovpn_prot == OVPN_PROT_TLS_CRYPT_V2);
}

/* session_facts.c */
bool is_resumed(const struct hs *h);
bool any_gap(const struct tconn *c);
void copy_name(char dst[NAME_LEN], const char *name);
/* The typed facts of handshake h, in eb (valid until the next build). */
tls_facts *build_facts(struct tconn *c, struct hs *h, int outcome, struct emit_buf *eb);

/* session_keyless.c: an encrypted record that was not decrypted */
void on_encrypted_tls12(struct tconn *c, int dir, const tls_record *r);
void on_encrypted_tls13(struct tconn *c, int dir, const tls_record *r);
/* The server's short record after the client's Finished was data after all
 * (the client went on, or closed first): the inferred alert is taken back
 * and the handshake completes. */
void undo_server_alert13(struct tconn *c, struct hs *h);

/* session_decrypt.c */
/* true: decrypted and fully handled; false: go on with inference. */
bool decrypt_record(struct tconn *c, int dir, const tls_record *r);
void keys_at_server_hello(struct tconn *c, struct hs *h);
void keys_at_renegotiation_ccs(struct tconn *c, int dir, const struct hs *h);

#endif
