/* Differential/seed driver for libdissect. Reads the tshark field dump made
 * by tests/corpus/dissect_fields.sh on stdin (one TCP packet per line:
 * stream, addresses, ports, flags, relative seq, payload hex, then
 * tshark's TLS fields), reassembles each direction in sequence order, feeds
 * it through tls_stream like the session layer would (the client learns
 * the version/cipher from the server's ServerHello), and prints two
 * canonical views, one line per (stream, direction, key):
 *   D <stream> <C|S> <key> <values>   what libdissect saw
 *   T <stream> <C|S> <key> <values>   what tshark saw
 * keys: rec (content types), rver (record versions), rlen (record lengths),
 * hs (cleartext handshake types), hsver, ciphers, sni, alpn, alert, cert
 * (SHA-256 of each certificate). "I" lines carry extra, uncompared detail.
 * --seeds DIR --name N: also write fuzz seeds under DIR/<entry>/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "tls_stream.h"
#include "x509_summary.h"

#define MAX_CONNS 4096
#define MAX_PENDING 512
#define LIST_MAX 65536
#define PRE_MAX 65536

enum { K_REC, K_RVER, K_RLEN, K_HS, K_HSVER, K_CIPHERS, K_SNI, K_ALPN, K_ALERT, K_CERT, K_COUNT };
static const char *const key_names[K_COUNT] = { "rec", "rver", "rlen", "hs", "hsver", "ciphers", "sni", "alpn", "alert", "cert" };

typedef struct strlist { char *s; size_t len, cap; } strlist;

typedef struct seg { uint64_t seq; uint8_t *data; size_t len; } seg;

struct conn;
typedef struct dir {
    struct conn *c;
    int d; /* 0 client, 1 server */
    char addr[64];
    unsigned port;
    bool have_next, syn_seen, started, gave_up, v2_encrypted;
    uint64_t next;
    seg pending[MAX_PENDING];
    size_t npending;
    uint8_t *pre;
    size_t pre_len;
    uint64_t skipped;
    tls_stream st;
    uint8_t *rec_buf, *hs_buf;
    strlist view[2][K_COUNT]; /* [0] dissector, [1] tshark */
    unsigned seeds_written;
} dir;

typedef struct conn {
    long id;
    bool used;
    dir dirs[2];
} conn;

static conn *conns;
static const char *seed_dir, *seed_name;

static void sl_add(strlist *l, const char *v)
{
    size_t n = strlen(v);
    if (l->len + n + 2 > LIST_MAX) return;
    if (l->len + n + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        while (cap < l->len + n + 2) cap *= 2;
        char *p = realloc(l->s, cap);
        if (!p) return;
        l->s = p;
        l->cap = cap;
    }
    if (l->len) l->s[l->len++] = ',';
    memcpy(l->s + l->len, v, n);
    l->len += n;
    l->s[l->len] = '\0';
}

static void sl_addf(strlist *l, bool hex, unsigned v)
{
    char b[32];
    if (hex) snprintf(b, sizeof b, "0x%04x", v);
    else snprintf(b, sizeof b, "%u", v);
    sl_add(l, b);
}

static void sha256_hex(const uint8_t *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int ml = 0;
    out[0] = '\0';
    if (!EVP_Digest(p, n, md, &ml, EVP_sha256(), NULL)) return;
    for (unsigned i = 0; i < ml; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void write_seed(dir *d, const char *entry, const uint8_t *prefix, size_t plen, const uint8_t *p, size_t n)
{
    if (!seed_dir || d->seeds_written > 64 || n == 0) return;
    char path[1024];
    char h[65];
    sha256_hex(p, n, h);
    snprintf(path, sizeof path, "%s/%s", seed_dir, entry);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%.16s", seed_dir, entry, h);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    if (plen) fwrite(prefix, 1, plen, f);
    fwrite(p, 1, n > 65536 ? 65536 : n, f);
    fclose(f);
    d->seeds_written++;
}

static void on_event(void *user, const tls_event *ev)
{
    dir *d = user;
    strlist *v = d->view[0];
    char b[128];
    switch (ev->kind) {
    case TLS_EV_RECORD:
        if (ev->rec->sslv2) { /* tshark: version 0x0002 and length, no content type */
            sl_addf(&v[K_RVER], true, 0x0002);
            if (d->v2_encrypted) break; /* after CLIENT-MASTER-KEY / SERVER-HELLO: ciphertext */
            sl_addf(&v[K_RLEN], false, ev->rec->length);
            if (ev->rec->body && ev->rec->body_len && ev->rec->body[0] != 1 && ev->rec->body[0] != 4 && !d->d)
                sl_addf(&v[K_HS], false, ev->rec->body[0]); /* e.g. CLIENT-MASTER-KEY */
            if (ev->rec->body && ev->rec->body_len && ev->rec->body[0] == (d->d ? 4 : 2)) d->v2_encrypted = true;
            break;
        }
        sl_addf(&v[K_REC], false, ev->rec->content_type);
        sl_addf(&v[K_RVER], true, ev->rec->version);
        sl_addf(&v[K_RLEN], false, ev->rec->length);
        break;
    case TLS_EV_HANDSHAKE: {
        const tls_message *m = ev->msg;
        sl_addf(&v[K_HS], false, ev->hs->type);
        if (ev->hs->body) {
            uint8_t pre[5] = { (uint8_t)(d->d ? 4 : 5), (uint8_t)(d->st.ctx.cipher >> 8), (uint8_t)d->st.ctx.cipher, 0xff, 0 };
            uint8_t *msg = malloc(ev->hs->body_len + 4);
            if (msg) {
                msg[0] = ev->hs->type;
                msg[1] = (uint8_t)(ev->hs->length >> 16);
                msg[2] = (uint8_t)(ev->hs->length >> 8);
                msg[3] = (uint8_t)ev->hs->length;
                memcpy(msg + 4, ev->hs->body, ev->hs->body_len);
                write_seed(d, "handshake", pre, 5, msg, ev->hs->body_len + 4);
                free(msg);
            }
            if (ev->hs->type <= 2) write_seed(d, "client_hello", NULL, 0, ev->hs->body, ev->hs->body_len);
        }
        if (ev->hs->type == TLS_HS_CLIENT_HELLO && m->ok) {
            const tls_client_hello *ch = &m->u.ch;
            sl_addf(&v[K_HSVER], true, ch->legacy_version);
            for (unsigned i = 0; i < ch->ciphers.n; i++) sl_addf(&v[K_CIPHERS], true, ch->ciphers.v[i]);
            if (ch->ext.has_sni && ch->ext.sni[0]) sl_add(&v[K_SNI], ch->ext.sni);
            for (unsigned i = 0; i < ch->ext.alpn_n; i++) sl_add(&v[K_ALPN], ch->ext.alpn[i]);
        } else if (ev->hs->type == TLS_HS_SERVER_HELLO && m->ok) {
            const tls_server_hello *sh = &m->u.sh;
            sl_addf(&v[K_HSVER], true, sh->legacy_version);
            sl_addf(&v[K_CIPHERS], true, sh->cipher);
            for (unsigned i = 0; i < sh->ext.alpn_n; i++) sl_add(&v[K_ALPN], sh->ext.alpn[i]);
            if (!sh->is_hrr) tls_stream_set_context(&d->c->dirs[0].st, sh->version, sh->cipher);
            printf("I %ld S version %s cipher %s%s\n", d->c->id,
                   tls_names_fmt(tls_names_version(sh->version), sh->version, b, sizeof b),
                   tls_names_cipher(sh->cipher) ? tls_names_cipher(sh->cipher) : "unknown", sh->is_hrr ? " (HRR)" : "");
        } else if (ev->hs->type == TLS_HS_CERTIFICATE && m->ok) {
            for (unsigned i = 0; i < m->u.cert.count; i++) {
                x509_summary xs;
                x509_summary_parse(m->u.cert.certs[i].der, m->u.cert.certs[i].len, &xs);
                char h[65];
                sha256_hex(m->u.cert.certs[i].der, m->u.cert.certs[i].len, h);
                sl_add(&v[K_CERT], h);
                write_seed(d, "x509", NULL, 0, m->u.cert.certs[i].der, m->u.cert.certs[i].len);
                printf("I %ld %c cert %u subject=\"%s\" issuer=\"%s\" notAfter=%lld%s\n", d->c->id, d->d ? 'S' : 'C', i,
                       xs.subject, xs.issuer, (long long)xs.not_after, xs.parsed ? "" : " MALFORMED");
            }
        }
        break;
    }
    case TLS_EV_SSLV2:
        if (ev->msg) {
            sl_addf(&v[K_HS], false, 1);
            sl_addf(&v[K_HSVER], true, ev->msg->u.ch.legacy_version);
        } else if (ev->sslv2_sh) {
            char h[65];
            sl_addf(&v[K_HS], false, 4);
            sl_addf(&v[K_HSVER], true, ev->sslv2_sh->version);
            if (ev->sslv2_sh->cert) {
                sha256_hex(ev->sslv2_sh->cert, ev->sslv2_sh->cert_len, h);
                sl_add(&v[K_CERT], h);
            }
        }
        printf("I %ld %c sslv2 %s\n", d->c->id, d->d ? 'S' : 'C', ev->msg ? "client_hello" : "server_hello");
        break;
    case TLS_EV_ALERT:
        if (!ev->alert.encrypted) {
            snprintf(b, sizeof b, "%u:%u", ev->alert.level, ev->alert.description);
            sl_add(&v[K_ALERT], b);
        }
        break;
    default:
        break;
    }
    if (ev->anomalies) {
        char an[512];
        printf("I %ld %c anomalies %s\n", d->c->id, d->d ? 'S' : 'C', tls_names_anomalies(ev->anomalies, ",", an, sizeof an));
    }
}

static conn *get_conn(long id)
{
    for (int i = 0; i < MAX_CONNS; i++) {
        if (conns[i].used && conns[i].id == id) return &conns[i];
        if (!conns[i].used) {
            conn *c = &conns[i];
            memset(c, 0, sizeof *c);
            c->used = true;
            c->id = id;
            for (int k = 0; k < 2; k++) {
                dir *d = &c->dirs[k];
                d->c = c;
                d->d = k;
                d->rec_buf = malloc(TLS_RECORD_BUF_SIZE);
                d->hs_buf = malloc(1 << 20);
                tls_stream_config cfg = { d->rec_buf, TLS_RECORD_BUF_SIZE, d->hs_buf, 1 << 20, 1 << 20, k == 1, false };
                tls_stream_init(&d->st, &cfg, on_event, d);
            }
            return c;
        }
    }
    return NULL;
}

/* Where TLS starts in a direction: at 0 for TLS/SSLv2-looking bytes, else
 * after a STARTTLS-style plaintext prefix (first "16 03 0x .. .. 01|02"). */
static long find_start(const uint8_t *p, size_t n, int client, bool final)
{
    if (n >= 3 && p[0] >= 20 && p[0] <= 24 && p[1] == 3 && p[2] <= 4) return 0;
    if (n >= 3 && (p[0] & 0x80) && (p[2] == 1 || p[2] == 4)) return 0;
    for (size_t i = 0; i + 6 <= n; i++)
        if (p[i] == 0x16 && p[i + 1] == 3 && p[i + 2] <= 4 && p[i + 5] == (client ? 1 : 2)) return (long)i;
    return final ? -2 : -1;
}

static void feed(dir *d, const uint8_t *p, size_t n, bool final)
{
    if (d->gave_up) return;
    if (!d->started) {
        if (n) {
            if (!d->pre) d->pre = malloc(PRE_MAX);
            size_t k = n < PRE_MAX - d->pre_len ? n : PRE_MAX - d->pre_len;
            memcpy(d->pre + d->pre_len, p, k);
            d->pre_len += k;
        }
        long s = find_start(d->pre, d->pre_len, d->d == 0, final || d->pre_len == PRE_MAX);
        if (s == -1) return;
        if (s == -2) {
            d->gave_up = true;
            d->skipped = d->pre_len;
            return;
        }
        d->started = true;
        d->skipped = (uint64_t)s;
        tls_stream_feed(&d->st, d->pre + s, d->pre_len - (size_t)s);
        return;
    }
    tls_stream_feed(&d->st, p, n);
}

static void drain(dir *d, bool final)
{
    for (;;) {
        size_t best = MAX_PENDING;
        for (size_t i = 0; i < d->npending; i++)
            if (d->pending[i].seq <= d->next && (best == MAX_PENDING || d->pending[i].seq < d->pending[best].seq)) best = i;
        if (best == MAX_PENDING && final && d->npending) {
            best = 0;
            for (size_t i = 1; i < d->npending; i++)
                if (d->pending[i].seq < d->pending[best].seq) best = i;
            uint64_t gap = d->pending[best].seq - d->next;
            if (d->started) tls_stream_gap(&d->st, gap);
            else d->gave_up = true;
            d->next = d->pending[best].seq;
        }
        if (best == MAX_PENDING) return;
        seg s = d->pending[best];
        d->pending[best] = d->pending[--d->npending];
        if (s.seq + s.len > d->next) {
            size_t off = (size_t)(d->next - s.seq);
            feed(d, s.data + off, s.len - off, false);
            d->next = s.seq + s.len;
        }
        free(s.data);
    }
}

static void segment(dir *d, uint64_t seq, const uint8_t *p, size_t n)
{
    if (!d->have_next) {
        d->have_next = true;
        d->next = seq;
    }
    if (seq + n <= d->next) return; /* retransmission */
    if (seq <= d->next) {
        size_t off = (size_t)(d->next - seq);
        feed(d, p + off, n - off, false);
        d->next = seq + n;
        drain(d, false);
        return;
    }
    if (d->npending >= MAX_PENDING) return;
    uint8_t *c = malloc(n);
    if (!c) return;
    memcpy(c, p, n);
    d->pending[d->npending++] = (seg){ seq, c, n };
}

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; h[0] && h[1] && n < cap; h += 2) {
        unsigned v;
        if (sscanf(h, "%2x", &v) != 1) break;
        out[n++] = (uint8_t)v;
    }
    return n;
}

static int split(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
    char *nl = strchr(f[n - 1], '\n');
    if (nl) *nl = '\0';
    return n;
}

/* tshark side: append each ';'-separated value of field v to list l. */
static void tshark_list(strlist *l, const char *v, bool hex16, bool hash)
{
    if (!*v) return;
    char *copy = strdup(v);
    char *save = NULL;
    for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
        if (hash) {
            size_t hl = strlen(t);
            uint8_t *der = malloc(hl / 2 + 1);
            size_t n = unhex(t, der, hl / 2);
            char h[65];
            sha256_hex(der, n, h);
            sl_add(l, h);
            free(der);
        } else if (hex16) {
            sl_addf(l, true, (unsigned)strtoul(t, NULL, 0));
        } else {
            sl_add(l, t);
        }
    }
    free(copy);
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--seeds") == 0) seed_dir = argv[++i];
        else if (strcmp(argv[i], "--name") == 0) seed_name = argv[++i];
    }
    if (seed_dir) mkdir(seed_dir, 0755);
    conns = calloc(MAX_CONNS, sizeof *conns);
    if (!conns) return 1;
    char *line = NULL;
    size_t cap = 0;
    uint8_t *payload = malloc(1 << 17);
    while (getline(&line, &cap, stdin) > 0) {
        char *f[24];
        int nf = split(line, f, 24);
        if (nf < 21) continue;
        conn *c = get_conn(strtol(f[0], NULL, 10));
        if (!c) continue;
        char addr[64];
        snprintf(addr, sizeof addr, "%s", f[1][0] ? f[1] : f[2]);
        unsigned sport = (unsigned)strtoul(f[3], NULL, 10);
        bool syn = f[5][0] == '1' || strcmp(f[5], "True") == 0;
        bool ack = f[6][0] == '1' || strcmp(f[6], "True") == 0;
        if (!c->dirs[0].addr[0]) {
            /* first packet: its sender is the client unless it is a SYN-ACK */
            int k = (syn && ack) ? 1 : 0;
            snprintf(c->dirs[k].addr, sizeof c->dirs[k].addr, "%s", addr);
            c->dirs[k].port = sport;
            if (k == 1) snprintf(c->dirs[0].addr, sizeof c->dirs[0].addr, "-");
        }
        int k = (strcmp(c->dirs[0].addr, addr) == 0 && c->dirs[0].port == sport) ? 0 : 1;
        if (strcmp(c->dirs[0].addr, "-") == 0) k = (strcmp(c->dirs[1].addr, addr) == 0 && c->dirs[1].port == sport) ? 1 : 0;
        dir *d = &c->dirs[k];
        uint64_t seq = strtoull(f[7], NULL, 10);
        if (syn) {
            d->syn_seen = true;
            if (!d->have_next || d->next <= seq) {
                d->have_next = true;
                d->next = seq + 1;
            }
        }
        size_t hl = strlen(f[8]);
        size_t n = unhex(f[8], payload, 1 << 17);
        (void)hl;
        if (n) segment(d, seq, payload, n);
        strlist *t = d->view[1];
        tshark_list(&t[K_REC], f[9], false, false);
        tshark_list(&t[K_REC], f[20], false, false); /* TLS1.3 opaque_type, after cleartext ones */
        tshark_list(&t[K_RVER], f[10], true, false);
        tshark_list(&t[K_RLEN], f[11], false, false);
        tshark_list(&t[K_HS], f[12], false, false);
        tshark_list(&t[K_HSVER], f[13], true, false);
        tshark_list(&t[K_CIPHERS], f[14], true, false);
        tshark_list(&t[K_SNI], f[15], false, false);
        tshark_list(&t[K_ALPN], f[16], false, false);
        if (f[17][0]) {
            char *lv = strdup(f[17]), *ds = strdup(f[18]);
            char *s1 = NULL, *s2 = NULL;
            for (char *a = strtok_r(lv, ";", &s1), *b = strtok_r(ds, ";", &s2); a && b;
                 a = strtok_r(NULL, ";", &s1), b = strtok_r(NULL, ";", &s2)) {
                char v[32];
                snprintf(v, sizeof v, "%s:%s", a, b);
                sl_add(&t[K_ALERT], v);
            }
            free(lv);
            free(ds);
        }
        tshark_list(&t[K_CERT], f[19], false, true);
    }
    free(line);
    free(payload);
    for (int i = 0; i < MAX_CONNS && conns[i].used; i++) {
        conn *c = &conns[i];
        for (int k = 0; k < 2; k++) {
            dir *d = &c->dirs[k];
            drain(d, true);
            if (!d->started && d->pre_len) feed(d, NULL, 0, true);
            if (d->pre_len && seed_dir && d->started) {
                uint8_t pre[4] = { (uint8_t)(k ? 7 : 6), 0x7f, 3, 0x11 };
                write_seed(d, "record_stream", pre, 4, d->pre + d->skipped, d->pre_len - d->skipped);
            }
            if (d->skipped) printf("I %ld %c skipped %llu plaintext bytes before TLS\n", c->id, k ? 'S' : 'C',
                                   (unsigned long long)d->skipped);
            for (int v = 0; v < 2; v++)
                for (int key = 0; key < K_COUNT; key++)
                    if (d->view[v][key].len)
                        printf("%c %ld %c %s %s\n", v ? 'T' : 'D', c->id, k ? 'S' : 'C', key_names[key], d->view[v][key].s);
            for (int v = 0; v < 2; v++)
                for (int key = 0; key < K_COUNT; key++) free(d->view[v][key].s);
            for (size_t p = 0; p < d->npending; p++) free(d->pending[p].data);
            free(d->pre);
            free(d->rec_buf);
            free(d->hs_buf);
        }
    }
    free(conns);
    (void)seed_name;
    return 0;
}
