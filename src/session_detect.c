/* TLS detection by content, so TLS is found on any port and after
 * STARTTLS-style plaintext: a connection becomes TLS when one of its
 * directions starts a segment with a ClientHello, or, for connections
 * picked up mid-stream, with a TLS record. Until then up to DETECT_LIMIT
 * bytes per direction are looked at, then collection stops. Also the
 * server-side judgements made on first bytes: an answer that is not TLS,
 * and plaintext sent to a TLS service that closed without answering.
 *
 * OpenVPN over TCP runs TLS inside its control channel: a client whose
 * first bytes are a P_CONTROL_HARD_RESET_CLIENT_V2/V3 is OpenVPN once the
 * server's first bytes are a HARD_RESET_SERVER_V2 that acknowledges the
 * client's session id (or, with tls-crypt, has the same encrypted shape).
 * From then on each direction goes through a demultiplexer
 * (dissectors/ovpn_stream.c) that hands the P_CONTROL_V1 payloads, in
 * packet-id order, to the same tls_stream as plain TLS. */
#include <stdbool.h>
#include <string.h>

#include "session_int.h"

#define DETECT_LIMIT 65536

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
bool may_start_record(const uint8_t *d, size_t n)
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

void printable(char *out, const uint8_t *d, size_t n)
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

static void give_up(struct sessions *s, struct tconn *c)
{
    c->state = ST_NOT_TLS;
    s->st.not_tls_flows++;
    s->verdict |= REASM_STOP_TO_SERVER | REASM_STOP_TO_CLIENT;
}

/* ---------------------------------------------------------------- OpenVPN */

/* A gap of unknown size: larger than any record, so the record layer
 * resynchronises instead of assuming it knows how much was lost. */
#define OVPN_GAP_UNKNOWN ((uint64_t)TLS_RECORD_MAX_LEN + 5 + 1)

static void on_ovpn_payload(void *user, const uint8_t *d, size_t n)
{
    struct side *sd = user;
    struct tconn *c = sd->c;
    if (c->state != ST_TLS || !c->ovpn) return; /* not confirmed yet: not TLS to read */
    if (sd->dir == S) c->server_answered = true;
    tls_stream_feed(&c->st[sd->dir], d, n);
}

static void on_ovpn_gap(void *user, uint64_t n)
{
    struct side *sd = user;
    struct tconn *c = sd->c;
    if (c->state != ST_TLS || !c->ovpn) return;
    /* nothing read yet on this side: the peer's records show it is TLS */
    tls_record_set_tls_known(&c->st[sd->dir].rec);
    tls_stream_gap(&c->st[sd->dir], n ? n : OVPN_GAP_UNKNOWN);
    if (c->cur && !c->cur->done && !c->cur->decided) c->cur->gap = true;
}

static void ovpn_stream_start(struct tconn *c, int dir, uint8_t hmac, bool encrypted)
{
    c->side[dir].c = c;
    c->side[dir].dir = dir;
    ovpn_stream_init(&c->ov[dir], hmac, encrypted, on_ovpn_payload, on_ovpn_gap, &c->side[dir]);
}

/* The client's reset: its demultiplexer starts now with the layout the
 * reset itself shows (the server's answer confirms or corrects it). */
static void ovpn_client(struct tconn *c, const uint8_t *d, size_t n)
{
    uint8_t hmac = 0;
    for (size_t i = 0; i < sizeof ovpn_hmac_sizes; i++)
        if (c->ovh.layouts & (1u << i)) {
            hmac = ovpn_hmac_sizes[i];
            break;
        }
    c->ovpn_pending = true;
    ovpn_stream_start(c, C, hmac, !c->ovh.layouts);
    ovpn_stream_feed(&c->ov[C], d, n);
}

/* The server's reset confirmed OpenVPN: TLS from here on, through the
 * demultiplexers. */
static void ovpn_confirmed(struct sessions *s, struct tconn *c, enum ovpn_protection prot, uint8_t hmac,
                           const uint8_t *d, size_t n)
{
    bool enc = prot == OVPN_PROT_TLS_CRYPT || prot == OVPN_PROT_TLS_CRYPT_V2;
    ovpn_stream *cl = &c->ov[C];
    if (cl->hmac != hmac || cl->encrypted != enc) {
        /* the client's reset was read with another layout: the framing
         * (lengths) holds, its packet ids start again with the next one */
        cl->hmac = hmac;
        cl->encrypted = enc;
        cl->key_set = false;
    }
    c->ovpn_pending = false;
    c->ovpn = true;
    c->ovpn_prot = (uint8_t)prot;
    c->ovpn_hmac = hmac;
    start_tls(s, c);
    s->st.ovpn_flows++;
    for (int dir = 0; dir < 2; dir++) tls_record_set_tls_known(&c->st[dir].rec);
    ovpn_stream_start(c, S, hmac, enc);
    ovpn_stream_feed(&c->ov[S], d, n);
}

void ovpn_feed(struct tconn *c, int dir, const uint8_t *d, size_t n) { ovpn_stream_feed(&c->ov[dir], d, n); }

void ovpn_gap(struct tconn *c, int dir, uint64_t n) { ovpn_stream_lost(&c->ov[dir], n); }

/* OpenVPN detection on a connection's first bytes; true when they were
 * taken (the bytes went to a demultiplexer). */
static bool detect_ovpn(struct sessions *s, struct tconn *c, int dir, bool first, const uint8_t *d, size_t n)
{
    if (dir == C && first && !c->any_data[S] && ovpn_client_reset(d, n, &c->ovh)) {
        ovpn_client(c, d, n);
        return true;
    }
    if (!c->ovpn_pending) return false;
    if (dir == C) {
        ovpn_stream_feed(&c->ov[C], d, n);
        return true;
    }
    enum ovpn_protection prot;
    uint8_t hmac;
    if (first && ovpn_server_reset(d, n, &c->ovh, &prot, &hmac)) {
        ovpn_confirmed(s, c, prot, hmac, d, n);
        return true;
    }
    c->ovpn_pending = false; /* the server does not speak OpenVPN: go on as usual */
    return false;
}

void detect(struct sessions *s, struct tconn *c, int dir, const uint8_t *d, size_t n)
{
    bool first = !c->any_data[dir];
    if (detect_ovpn(s, c, dir, first, d, n)) {
        c->any_data[dir] = true;
        if (c->state == ST_TLS) return;
        c->seen[dir] += n;
        if (c->seen[C] > DETECT_LIMIT || c->seen[S] > DETECT_LIMIT) give_up(s, c);
        return;
    }
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

void plaintext_to_tls(struct sessions *s, struct tconn *c)
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
