/* tests/bench/gen_bulk.c -- bulk TLS capture generator for `make bench`.
 *
 * Takes ONE real TLS connection from a capture made by tests/gen (e.g.
 * pcaps/tls12-ok.pcap) as a template and writes N connections built from it:
 *
 *   - the template's packets from the SYN up to the end of the handshake
 *     (both sides have sent a record after their ChangeCipherSpec), with a
 *     distinct client address/port and fresh ISNs per connection;
 *   - one client application_data record (a request);
 *   - M bytes of server application_data records (random bodies, record
 *     bodies of at most 16408 bytes = 16384 + 24 AEAD overhead, record
 *     version copied from the template), cut into TCP segments of 1448
 *     bytes, a client ACK every 2 segments;
 *   - a close_notify-sized record each way (21/26 bytes for TLS <= 1.2,
 *     23/19 bytes for TLS 1.3), FIN both ways, last ACK.
 *
 * IPv4 header and TCP checksums, sequence/ack numbers and TCP timestamps are
 * correct. Up to C connections are interleaved packet by packet (round
 * robin) so a reassembler holds C flows at once. Output is streamed (memory
 * use is constant whatever N and M are): classic pcap, usec, same link type
 * as the template (EN10MB or RAW/IPV4).
 *
 * usage: gen_bulk -t TEMPLATE.pcap -n N -m BYTES [-c CONCURRENT] [-o OUT]
 *                 [-s SEED] [-a ACKEVERY]
 * (-n, -m, -c accept k/M/G suffixes, powers of 1024)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXPKT 65600
#define MSS 1448
#define RECBODY 16408 /* <= 16384 + 256 */
#define RNDSZ (1u << 20)

struct tpkt {
    uint32_t sec, usec;
    int dir; /* 0 client->server, 1 server->client */
    uint8_t *data;
    uint32_t len;
};

static int linktype, l2len;
static struct tpkt *tp;
static size_t ntp;
static uint8_t *rnd;
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void die(const char *m)
{
    fprintf(stderr, "gen_bulk: %s\n", m);
    exit(1);
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint64_t sum_bytes(const uint8_t *p, size_t n, uint64_t s)
{
    while (n >= 4) {
        s += (uint32_t)p[0] << 8 | p[1];
        s += (uint32_t)p[2] << 8 | p[3];
        p += 4;
        n -= 4;
    }
    while (n >= 2) {
        s += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        n -= 2;
    }
    if (n)
        s += (uint32_t)p[0] << 8;
    return s;
}

static uint16_t fold(uint64_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* ip points at an IPv4 header; fixes IP and TCP checksums. */
static void fix_checksums(uint8_t *ip)
{
    unsigned ihl = (ip[0] & 15u) * 4u;
    unsigned tot = rd16(ip + 2);
    ip[10] = ip[11] = 0;
    wr16(ip + 10, fold(sum_bytes(ip, ihl, 0)));
    uint8_t *tcp = ip + ihl;
    unsigned tlen = tot - ihl;
    tcp[16] = tcp[17] = 0;
    uint64_t s = sum_bytes(ip + 12, 8, 0);
    s += 6 + tlen;
    s = sum_bytes(tcp, tlen, s);
    uint16_t c = fold(s);
    wr16(tcp + 16, c);
}

static void load_template(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(strerror(errno));
    uint8_t gh[24];
    if (fread(gh, 1, 24, f) != 24)
        die("short pcap header");
    int swap, nano;
    uint32_t magic = (uint32_t)gh[0] | (uint32_t)gh[1] << 8 | (uint32_t)gh[2] << 16 | (uint32_t)gh[3] << 24;
    if (magic == 0xa1b2c3d4u) { swap = 0; nano = 0; }
    else if (magic == 0xd4c3b2a1u) { swap = 1; nano = 0; }
    else if (magic == 0xa1b23c4du) { swap = 0; nano = 1; }
    else if (magic == 0x4d3cb2a1u) { swap = 1; nano = 1; }
    else die("template is not a classic pcap");
#define LE32(p) ((uint32_t)(p)[0] | (uint32_t)(p)[1] << 8 | (uint32_t)(p)[2] << 16 | (uint32_t)(p)[3] << 24)
#define U32(p) (swap ? rd32(p) : LE32(p))
    linktype = (int)(U32(gh + 20) & 0x0fffffff);
    if (linktype == 1)
        l2len = 14;
    else if (linktype == 101 || linktype == 228)
        l2len = 0;
    else
        die("template link type must be EN10MB, RAW or IPV4");
    size_t cap = 64;
    tp = calloc(cap, sizeof *tp);
    uint8_t rh[16];
    while (fread(rh, 1, 16, f) == 16) {
        uint32_t incl = U32(rh + 8);
        if (incl > MAXPKT)
            die("oversized packet in template");
        uint8_t *d = malloc(incl ? incl : 1);
        if (fread(d, 1, incl, f) != incl)
            die("truncated template");
        if (ntp == cap) {
            cap *= 2;
            tp = realloc(tp, cap * sizeof *tp);
        }
        tp[ntp].sec = U32(rh);
        tp[ntp].usec = nano ? U32(rh + 4) / 1000 : U32(rh + 4);
        tp[ntp].data = d;
        tp[ntp].len = incl;
        ntp++;
    }
    fclose(f);
}

/* template connection */
static uint32_t cip, sip;
static uint16_t cport, sport;
static uint32_t cisn, sisn;
static size_t nkeep;                 /* template packets kept (handshake) */
static uint32_t cnext, snext;        /* relative next seq at the cut */
static uint32_t cack_at_cut;         /* unused: acks computed from snext */
static uint8_t hdr_tmpl[2][128];     /* l2 + ip + tcp header per direction */
static unsigned hdr_len[2], ip_off, tcp_off[2];
static int ts_off[2] = {-1, -1};     /* offset of TSval inside hdr_tmpl */
static uint32_t ts_base[2];
static uint8_t rec_ver[2] = {3, 3};
static int tls13;
static uint32_t *tkeep_idx;          /* indices of kept template packets */

static uint8_t *ip_of(uint8_t *d) { return d + l2len; }

static void analyse_template(void)
{
    size_t i;
    int have_syn = 0;
    tkeep_idx = calloc(ntp, sizeof *tkeep_idx);
    /* record parser state per direction */
    uint8_t hdr[2][5];
    unsigned hdrfill[2] = {0, 0};
    uint32_t recleft[2] = {0, 0};
    int seen_ccs[2] = {0, 0}, done[2] = {0, 0};
    uint8_t after_ccs_type[2] = {0, 0};
    size_t n = 0;
    for (i = 0; i < ntp; i++) {
        uint8_t *d = tp[i].data;
        if (tp[i].len < (unsigned)l2len + 40)
            continue;
        if (l2len == 14 && rd16(d + 12) != 0x0800)
            continue;
        uint8_t *ip = ip_of(d);
        if ((ip[0] >> 4) != 4 || ip[9] != 6)
            continue;
        unsigned ihl = (ip[0] & 15u) * 4u;
        uint8_t *tcp = ip + ihl;
        unsigned thl = (tcp[12] >> 4) * 4u;
        uint32_t src = rd32(ip + 12), dst = rd32(ip + 16);
        uint16_t sp = rd16(tcp), dp = rd16(tcp + 2);
        uint8_t fl = tcp[13];
        if (!have_syn) {
            if ((fl & 0x12) != 0x02)
                continue;
            have_syn = 1;
            cip = src; sip = dst; cport = sp; sport = dp;
            cisn = rd32(tcp + 4);
        }
        int dir;
        if (src == cip && dst == sip && sp == cport && dp == sport)
            dir = 0;
        else if (src == sip && dst == cip && sp == sport && dp == cport)
            dir = 1;
        else
            continue;
        if (dir == 1 && (fl & 0x12) == 0x12)
            sisn = rd32(tcp + 4);
        if (fl & 0x05)
            break; /* FIN/RST: handshake must be over before */
        tp[i].dir = dir;
        tkeep_idx[n++] = (uint32_t)i;
        /* header template: last pure ACK-carrying segment of each direction */
        if (!(fl & 0x02) && (fl & 0x10) && ihl + thl + (unsigned)l2len <= sizeof hdr_tmpl[0]) {
            hdr_len[dir] = (unsigned)l2len + ihl + thl;
            memcpy(hdr_tmpl[dir], d, hdr_len[dir]);
            ip_off = (unsigned)l2len;
            tcp_off[dir] = (unsigned)l2len + ihl;
            ts_off[dir] = -1;
            unsigned o = 20;
            while (o < thl) {
                uint8_t k = tcp[o];
                if (k == 0) break;
                if (k == 1) { o++; continue; }
                if (o + 1 >= thl || tcp[o + 1] < 2) break;
                if (k == 8 && tcp[o + 1] == 10) {
                    ts_off[dir] = (int)(tcp_off[dir] + o + 2);
                    ts_base[dir] = rd32(tcp + o + 2);
                }
                o += tcp[o + 1];
            }
        }
        unsigned plen = rd16(ip + 2) - ihl - thl;
        const uint8_t *p = tcp + thl;
        uint32_t seq = rd32(tcp + 4);
        uint32_t base = dir ? sisn : cisn;
        uint32_t endrel = seq - base + (fl & 0x02 ? 1 : 0) + plen;
        if (dir) { if ((int32_t)(endrel - snext) > 0) snext = endrel; }
        else { if ((int32_t)(endrel - cnext) > 0) cnext = endrel; }
        /* TLS records */
        for (unsigned k = 0; k < plen;) {
            if (recleft[dir] == 0) {
                hdr[dir][hdrfill[dir]++] = p[k++];
                if (hdrfill[dir] == 5) {
                    hdrfill[dir] = 0;
                    recleft[dir] = rd16(hdr[dir] + 3);
                    rec_ver[dir] = hdr[dir][2];
                    if (recleft[dir] == 0)
                        goto complete;
                }
                continue;
            }
            {
                unsigned take = plen - k < recleft[dir] ? plen - k : recleft[dir];
                k += take;
                recleft[dir] -= take;
                if (recleft[dir])
                    continue;
            }
        complete:
            if (hdr[dir][0] == 20)
                seen_ccs[dir] = 1;
            else if (seen_ccs[dir] && !done[dir]) {
                done[dir] = 1;
                after_ccs_type[dir] = hdr[dir][0];
            }
        }
        if (done[0] && done[1]) {
            nkeep = n;
            break;
        }
    }
    if (!have_syn)
        die("template: no SYN found (need a connection captured from its start)");
    if (!nkeep)
        die("template: no complete handshake found (both sides must send a record after ChangeCipherSpec)");
    if (!hdr_len[0] || !hdr_len[1])
        die("template: no ACK segment in one direction");
    tls13 = after_ccs_type[1] == 23;
    (void)cack_at_cut;
}

/* ------------------------------------------------------------ output */
static FILE *out;
static uint64_t now_us, pkts_out, bytes_out;
static uint8_t pkt[MAXPKT];

static void emit(const uint8_t *d, uint32_t len)
{
    uint8_t rh[16];
    uint32_t sec = (uint32_t)(now_us / 1000000), usec = (uint32_t)(now_us % 1000000);
    memcpy(rh, &sec, 4); /* little-endian host assumed (x86/arm) */
    memcpy(rh + 4, &usec, 4);
    memcpy(rh + 8, &len, 4);
    memcpy(rh + 12, &len, 4);
    fwrite(rh, 1, 16, out);
    fwrite(d, 1, len, out);
    pkts_out++;
    bytes_out += len;
}

struct conn {
    uint64_t id;
    uint32_t cip;
    uint16_t cport;
    uint32_t cdelta, sdelta;   /* ISN offsets */
    uint32_t tsdelta[2];
    uint16_t ipid[2];
    uint64_t t0;               /* capture time of first packet */
    int phase;
    size_t ti;                 /* template index */
    uint32_t cseq, sseq;       /* absolute next seq */
    uint64_t spos, stotal;     /* server stream position / length */
    unsigned since_ack;
    int active;
};

static uint64_t M;             /* app data bytes per connection (record bodies) */
static unsigned ackevery = 2;

static void build(struct conn *c, int dir, uint8_t flags, const uint8_t *pay, unsigned plen, uint8_t *dst_pay_out)
{
    memcpy(pkt, hdr_tmpl[dir], hdr_len[dir]);
    uint8_t *ip = pkt + ip_off;
    uint8_t *tcp = pkt + tcp_off[dir];
    unsigned tot = hdr_len[dir] - ip_off + plen;
    wr16(ip + 2, (uint16_t)tot);
    wr16(ip + 4, c->ipid[dir]++);
    if (dir == 0) {
        wr32(ip + 12, c->cip); wr32(ip + 16, sip);
        wr16(tcp, c->cport); wr16(tcp + 2, sport);
        wr32(tcp + 4, c->cseq); wr32(tcp + 8, c->sseq);
    } else {
        wr32(ip + 12, sip); wr32(ip + 16, c->cip);
        wr16(tcp, sport); wr16(tcp + 2, c->cport);
        wr32(tcp + 4, c->sseq); wr32(tcp + 8, c->cseq);
    }
    tcp[13] = flags;
    if (ts_off[dir] >= 0) {
        uint32_t el = (uint32_t)((now_us - c->t0) / 1000);
        wr32(pkt + ts_off[dir], ts_base[dir] + c->tsdelta[dir] + el);
        wr32(pkt + ts_off[dir] + 4, ts_base[!dir] + c->tsdelta[!dir] + el);
    }
    if (pay)
        memcpy(pkt + hdr_len[dir], pay, plen);
    (void)dst_pay_out;
    fix_checksums(ip);
    emit(pkt, hdr_len[dir] + plen);
    if (dir == 0)
        c->cseq += plen + ((flags & 0x01) ? 1u : 0u);
    else
        c->sseq += plen + ((flags & 0x01) ? 1u : 0u);
}

/* Bytes [pos, pos+n) of the server record stream into buf. */
static void server_stream(struct conn *c, uint64_t pos, unsigned n, uint8_t *buf)
{
    const uint64_t R = RECBODY + 5;
    uint64_t nrec_full = M / RECBODY;
    unsigned last = (unsigned)(M % RECBODY);
    while (n) {
        uint64_t r = pos / R, off = pos % R;
        unsigned body = r < nrec_full ? RECBODY : last;
        unsigned chunk;
        if (off < 5) {
            uint8_t h[5] = {23, 3, rec_ver[1], (uint8_t)(body >> 8), (uint8_t)body};
            chunk = (unsigned)(5 - off);
            if (chunk > n) chunk = n;
            memcpy(buf, h + off, chunk);
        } else {
            uint64_t left = body - (off - 5);
            chunk = left < n ? (unsigned)left : n;
            uint64_t ro = (pos * 2654435761u + c->id * 7919u) % (RNDSZ - MAXPKT);
            memcpy(buf, rnd + ro, chunk);
        }
        buf += chunk;
        pos += chunk;
        n -= chunk;
    }
}

static void rec(uint8_t *buf, uint8_t type, uint8_t ver, unsigned body, struct conn *c)
{
    buf[0] = type; buf[1] = 3; buf[2] = ver;
    wr16(buf + 3, (uint16_t)body);
    memcpy(buf + 5, rnd + (c->id * 131u) % (RNDSZ - MAXPKT), body);
}

/* Emit the next packet of c; returns 0 when the connection is finished. */
static int step(struct conn *c)
{
    static uint8_t pay[MAXPKT];
    if (c->phase == 0) {
        struct tpkt *t = &tp[tkeep_idx[c->ti]];
        memcpy(pkt, t->data, t->len);
        uint8_t *ip = pkt + l2len;
        unsigned ihl = (ip[0] & 15u) * 4u;
        uint8_t *tcp = ip + ihl;
        unsigned thl = (tcp[12] >> 4) * 4u;
        int dir = t->dir;
        uint32_t seq = rd32(tcp + 4), ack = rd32(tcp + 8);
        if (dir == 0) {
            wr32(ip + 12, c->cip);
            wr16(tcp, c->cport);
            wr32(tcp + 4, seq + c->cdelta);
            if (tcp[13] & 0x10) wr32(tcp + 8, ack + c->sdelta);
        } else {
            wr32(ip + 16, c->cip);
            wr16(tcp + 2, c->cport);
            wr32(tcp + 4, seq + c->sdelta);
            if (tcp[13] & 0x10) wr32(tcp + 8, ack + c->cdelta);
        }
        /* shift TCP timestamps per connection */
        for (unsigned o = 20; o < thl;) {
            uint8_t k = tcp[o];
            if (k == 0) break;
            if (k == 1) { o++; continue; }
            if (o + 1 >= thl || tcp[o + 1] < 2) break;
            if (k == 8 && tcp[o + 1] == 10) {
                wr32(tcp + o + 2, rd32(tcp + o + 2) + c->tsdelta[dir]);
                if (rd32(tcp + o + 6))
                    wr32(tcp + o + 6, rd32(tcp + o + 6) + c->tsdelta[!dir]);
            }
            o += tcp[o + 1];
        }
        fix_checksums(ip);
        emit(pkt, t->len);
        if (++c->ti == nkeep) {
            c->phase = 1;
            c->cseq = cisn + cnext + c->cdelta;
            c->sseq = sisn + snext + c->sdelta;
        }
        return 1;
    }
    switch (c->phase) {
    case 1: /* client request */
        rec(pay, 23, rec_ver[0], 100, c);
        build(c, 0, 0x18, pay, 105, NULL);
        c->phase = 2;
        return 1;
    case 2: { /* server bulk data */
        if (c->spos >= c->stotal) {
            c->phase = 3;
            return step(c);
        }
        if (c->since_ack >= ackevery) {
            c->since_ack = 0;
            build(c, 0, 0x10, NULL, 0, NULL);
            return 1;
        }
        uint64_t left = c->stotal - c->spos;
        unsigned n = left < MSS ? (unsigned)left : MSS;
        server_stream(c, c->spos, n, pay);
        c->spos += n;
        c->since_ack++;
        build(c, 1, n < MSS || c->spos == c->stotal ? 0x18 : 0x10, pay, n, NULL);
        return 1;
    }
    case 3: /* server close_notify */
        rec(pay, tls13 ? 23 : 21, rec_ver[1], tls13 ? 19 : 26, c);
        build(c, 1, 0x18, pay, tls13 ? 24 : 31, NULL);
        c->phase = 4;
        return 1;
    case 4: /* client close_notify (acks everything) */
        rec(pay, tls13 ? 23 : 21, rec_ver[0], tls13 ? 19 : 26, c);
        build(c, 0, 0x18, pay, tls13 ? 24 : 31, NULL);
        c->phase = 5;
        return 1;
    case 5:
        build(c, 1, 0x11, NULL, 0, NULL);
        c->phase = 6;
        return 1;
    case 6:
        build(c, 0, 0x11, NULL, 0, NULL);
        c->phase = 7;
        return 1;
    case 7:
        build(c, 1, 0x10, NULL, 0, NULL);
        c->phase = 8;
        return 0;
    }
    return 0;
}

static uint64_t parse_size(const char *s)
{
    char *e;
    double v = strtod(s, &e);
    if (e == s || v < 0)
        die("bad size");
    switch (*e) {
    case 'k': case 'K': v *= 1024; break;
    case 'm': case 'M': v *= 1024 * 1024; break;
    case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
    case 0: break;
    default: die("bad size suffix");
    }
    return (uint64_t)v;
}

static void start(struct conn *c, uint64_t id)
{
    memset(c, 0, sizeof *c);
    c->id = id;
    c->cip = cip + (uint32_t)(id / 64000);
    uint32_t port = 1024 + (uint32_t)(id % 64000);
    if (c->cip == sip && port >= sport)
        port++; /* never the server's own address:port */
    c->cport = (uint16_t)port;
    c->cdelta = (uint32_t)rng();
    c->sdelta = (uint32_t)rng();
    c->tsdelta[0] = (uint32_t)(now_us / 1000);
    c->tsdelta[1] = (uint32_t)(now_us / 1000) + 17;
    c->ipid[0] = (uint16_t)rng();
    c->ipid[1] = (uint16_t)rng();
    c->t0 = now_us;
    uint64_t nrec = M / RECBODY + (M % RECBODY ? 1 : 0);
    c->stotal = M + 5 * nrec;
    c->active = 1;
}

int main(int argc, char **argv)
{
    const char *tmpl = NULL, *outp = NULL;
    uint64_t n = 100, conc = 10, seed = 1;
    int o;
    M = 1 << 20;
    while ((o = getopt(argc, argv, "t:n:m:c:o:s:a:")) != -1) {
        switch (o) {
        case 't': tmpl = optarg; break;
        case 'n': n = parse_size(optarg); break;
        case 'm': M = parse_size(optarg); break;
        case 'c': conc = parse_size(optarg); break;
        case 'o': outp = optarg; break;
        case 's': seed = parse_size(optarg); break;
        case 'a': ackevery = (unsigned)parse_size(optarg); break;
        default:
            fprintf(stderr, "usage: gen_bulk -t TEMPLATE.pcap -n N -m BYTES [-c CONCURRENT] [-o OUT] [-s SEED] [-a ACKEVERY]\n");
            return 2;
        }
    }
    if (!tmpl || n == 0 || conc == 0 || ackevery == 0)
        die("need -t TEMPLATE, N > 0, C > 0, ACKEVERY > 0");
    if (n > 64000ull * 200)
        die("N too large (client addresses)");
    rng_state ^= seed * 0x9E3779B97F4A7C15ULL + 1;
    rnd = malloc(RNDSZ);
    for (size_t i = 0; i < RNDSZ; i += 8) {
        uint64_t v = rng();
        memcpy(rnd + i, &v, 8);
    }
    load_template(tmpl);
    analyse_template();
    out = outp ? fopen(outp, "wb") : stdout;
    if (!out)
        die(strerror(errno));
    static char obuf[1 << 20];
    setvbuf(out, obuf, _IOFBF, sizeof obuf);
    uint8_t gh[24];
    uint32_t v32;
    uint16_t v16;
    v32 = 0xa1b2c3d4; memcpy(gh, &v32, 4);
    v16 = 2; memcpy(gh + 4, &v16, 2);
    v16 = 4; memcpy(gh + 6, &v16, 2);
    memset(gh + 8, 0, 8);
    v32 = 262144; memcpy(gh + 16, &v32, 4);
    v32 = (uint32_t)linktype; memcpy(gh + 20, &v32, 4);
    fwrite(gh, 1, 24, out);

    now_us = (uint64_t)tp[tkeep_idx[0]].sec * 1000000u + tp[tkeep_idx[0]].usec;
    if (conc > n)
        conc = n;
    struct conn *cs = calloc(conc, sizeof *cs);
    uint64_t started = 0, finished = 0;
    for (uint64_t i = 0; i < conc; i++)
        start(&cs[i], started++);
    while (finished < n) {
        for (uint64_t i = 0; i < conc; i++) {
            struct conn *c = &cs[i];
            if (!c->active)
                continue;
            now_us += 5;
            if (!step(c)) {
                c->active = 0;
                finished++;
                if (started < n)
                    start(c, started++);
            }
        }
    }
    if (fflush(out) != 0 || ferror(out))
        die("write error");
    if (outp)
        fclose(out);
    fprintf(stderr, "gen_bulk: %llu connections (%s, %zu handshake packets each), %llu bytes app data each, %llu packets, %llu bytes of frames\n",
            (unsigned long long)n, tls13 ? "TLS 1.3" : "TLS <= 1.2", nkeep, (unsigned long long)M,
            (unsigned long long)pkts_out, (unsigned long long)bytes_out);
    return 0;
}
