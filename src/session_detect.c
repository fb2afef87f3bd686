/* TLS detection by content, so TLS is found on any port and after
 * STARTTLS-style plaintext: a connection becomes TLS when one of its
 * directions starts a segment with a ClientHello, or, for connections
 * picked up mid-stream, with a TLS record. Until then up to DETECT_LIMIT
 * bytes per direction are looked at, then collection stops. Also the
 * server-side judgements made on first bytes: an answer that is not TLS,
 * and plaintext sent to a TLS service that closed without answering. */
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

void detect(struct sessions *s, struct tconn *c, int dir, const uint8_t *d, size_t n)
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
