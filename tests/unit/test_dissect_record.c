/* Record layer and the per-direction pipeline (tls_stream) on real
 * direction streams from OpenSSL loopback traffic: record/message
 * sequences, every two-chunk split equals one chunk, every truncation
 * point leaves a clean partial state, headers-only mode, gaps and the
 * resynchronisation after them, non-TLS
 * bytes, SSLv2 record headers, encryption marking. */
#include "t.h"
#include "test_dissect_fixture.h"
#include "../fuzz/fuzz_common.h"
#include "tls_stream.h"

static const char *const streams[] = {
    "4401.c.stream", "4401.s.stream", "4402.c.stream", "4402.s.stream", "4403.c.stream", "4403.s.stream",
    "4404.c.stream", "4404.s.stream", "4405.c.stream", "4405.s.stream", "4406.c.stream", "4406.s.stream",
    "4407.c.stream", "4407.s.stream", "4408.c.stream", "4408.s.stream", "4409.c.stream", "4409.s.stream",
    "4410.c.stream", "4410.s.stream", "4412.c.stream", "4412.s.stream", "4413b.c.stream", "4413b.s.stream",
};
#define NSTREAMS (sizeof streams / sizeof streams[0])

typedef struct log {
    char hs[256];   /* handshake types seen, as letters */
    int records, alerts, ccs, enc_records;
    uint16_t sh_version, sh_cipher;
    char sni[64];
} log_t;

static void on_ev(void *user, const tls_event *ev)
{
    log_t *l = user;
    size_t n = strlen(l->hs);
    switch (ev->kind) {
    case TLS_EV_RECORD:
        l->records++;
        if (ev->rec->encrypted) l->enc_records++;
        break;
    case TLS_EV_HANDSHAKE:
        if (n + 4 < sizeof l->hs) snprintf(l->hs + n, sizeof l->hs - n, "%s%u", n ? "," : "", ev->hs->type);
        if (ev->hs->type == TLS_HS_SERVER_HELLO) {
            l->sh_version = ev->msg->u.sh.version;
            l->sh_cipher = ev->msg->u.sh.cipher;
        }
        if (ev->hs->type == TLS_HS_CLIENT_HELLO) snprintf(l->sni, sizeof l->sni, "%.63s", ev->msg->u.ch.ext.sni);
        break;
    case TLS_EV_ALERT: l->alerts++; break;
    case TLS_EV_CCS: l->ccs++; break;
    default: break;
    }
}

static uint8_t rec_buf[TLS_RECORD_BUF_SIZE], hs_buf[65536];

static void run(const char *name, log_t *l, bool headers_only)
{
    size_t n;
    const uint8_t *s = fx_get(name, &n);
    memset(l, 0, sizeof *l);
    tls_stream_config cfg = { rec_buf, sizeof rec_buf, hs_buf, sizeof hs_buf, 0, strstr(name, ".s.") != NULL, false };
    static tls_stream st;
    tls_stream_init(&st, &cfg, on_ev, l);
    if (headers_only) tls_stream_set_headers_only(&st, true);
    if (s) tls_stream_feed(&st, s, n);
}

static void test_sequences(void)
{
    log_t l;
    run("4401.c.stream", &l, false);
    CHECK_EQ_STR(l.hs, "1", "stream 1.3 client: ClientHello only in clear");
    CHECK_EQ_STR(l.sni, "test.example", "stream 1.3 client: SNI through the pipeline");
    run("4401.s.stream", &l, false);
    CHECK_EQ_STR(l.hs, "2", "stream 1.3 server: ServerHello then encrypted");
    CHECK(l.sh_version == 0x0304 && l.enc_records > 0, "stream 1.3 server: auto-encrypted after ServerHello");
    CHECK_EQ_INT(l.ccs, 1, "stream 1.3 server: middlebox CCS seen");
    run("4402.s.stream", &l, false);
    CHECK_EQ_STR(l.hs, "2,11,22,12,14,4", "stream 1.2 server: SH Cert Status SKE SHD NST");
    CHECK(l.ccs == 1 && l.enc_records >= 2, "stream 1.2 server: CCS then encrypted Finished/alert");
    run("4404.c.stream", &l, false);
    CHECK_EQ_STR(l.hs, "1,11,16,15", "stream 1.2 client: CH Cert CKE CV (client auth)");
    run("4405.c.stream", &l, false);
    CHECK_EQ_STR(l.hs, "1,1", "stream HRR client: two ClientHellos");
    run("4405.s.stream", &l, false);
    CHECK_EQ_STR(l.hs, "2,2", "stream HRR server: HRR, CCS, then the real ServerHello in clear");
    run("4406.s.stream", &l, false);
    CHECK(l.alerts == 1 && l.records == 1, "stream version failure: one alert record");
    run("4412.s.stream", &l, false);
    CHECK(l.enc_records > 0 && strcmp(l.hs, "2,11,12,14,4") == 0, "stream renegotiation: HelloRequest stays encrypted");
    run("4413b.c.stream", &l, false);
    CHECK_EQ_STR(l.hs, "1", "stream 0-RTT client: ClientHello, early data not parsed");
}

/* Every two-chunk split and a byte-by-byte feed give the same events. */
static void test_splits(void)
{
    int mismatches = 0, tried = 0;
    for (size_t k = 0; k < NSTREAMS; k++) {
        size_t n;
        const uint8_t *s = fx_get(streams[k], &n);
        if (!s) continue;
        bool srv = strstr(streams[k], ".s.") != NULL;
        fz_digest whole = fz_run_stream(s, n, srv, NULL, 0, TLS_RECORD_BUF_SIZE, 65536);
        for (size_t cut = 1; cut < n; cut++) {
            size_t chunks[2] = { cut, n - cut };
            fz_digest d = fz_run_stream(s, n, srv, chunks, 2, TLS_RECORD_BUF_SIZE, 65536);
            tried++;
            if (d.h != whole.h || d.events != whole.events) mismatches++;
        }
        size_t one = 1;
        fz_digest b = fz_run_stream(s, n, srv, &one, 1, TLS_RECORD_BUF_SIZE, 65536);
        if (b.h != whole.h) mismatches++;
    }
    CHECK(tried > 20000, "splits: %d two-chunk splits of %zu real streams", tried, NSTREAMS);
    CHECK_EQ_INT(mismatches, 0, "splits: same events as one chunk");
}

static void on_rec_count(void *user, const tls_record *r)
{
    int *c = user;
    (void)r;
    (*c)++;
}

/* Every prefix: no crash, a partial record is pending unless the prefix
 * ends on a record boundary, and no record past the prefix is reported. */
static void test_truncation(void)
{
    int bad = 0, cuts = 0;
    for (size_t k = 0; k < NSTREAMS; k++) {
        size_t n;
        const uint8_t *s = fx_get(streams[k], &n);
        if (!s) continue;
        int full = 0;
        tls_record_stream rs;
        tls_record_init(&rs, rec_buf, sizeof rec_buf, on_rec_count, &full);
        tls_record_feed(&rs, s, n);
        for (size_t cut = 0; cut < n; cut++) {
            int got = 0;
            uint8_t *exact = malloc(cut ? cut : 1);
            memcpy(exact, s, cut);
            tls_record_init(&rs, rec_buf, sizeof rec_buf, on_rec_count, &got);
            tls_record_feed(&rs, exact, cut);
            free(exact);
            cuts++;
            bool boundary = !tls_record_partial(&rs);
            if (got >= full || rs.desynced || (boundary && rs.offset != cut)) bad++;
        }
    }
    CHECK(cuts > 20000, "truncation: %d prefixes of real streams", cuts);
    CHECK_EQ_INT(bad, 0, "truncation: prefixes leave a clean partial state");
}

static void test_headers_only_and_gaps(void)
{
    log_t a, b;
    run("4402.s.stream", &a, false);
    run("4402.s.stream", &b, true);
    CHECK(a.records == b.records && b.hs[0] == '\0', "headers-only: same records, no bodies parsed");
    size_t n;
    const uint8_t *s = fx_get("4402.s.stream", &n);
    int cnt = 0;
    tls_record_stream rs;
    tls_record_init(&rs, NULL, 0, on_rec_count, &cnt);
    tls_record_feed(&rs, s, 10); /* header + 5 body bytes of the ServerHello record */
    tls_record_gap(&rs, 20);     /* lost bytes inside a skipped body: harmless */
    CHECK(!tls_record_desynced(&rs), "gap inside a skipped body keeps sync");
    tls_record_feed(&rs, s + 30, n - 30);
    CHECK(cnt == a.records && !tls_record_desynced(&rs), "gap: all records still found");
    tls_record_init(&rs, rec_buf, sizeof rec_buf, on_rec_count, &cnt);
    tls_record_feed(&rs, s, 3);
    tls_record_gap(&rs, 7);
    CHECK(tls_record_desynced(&rs) && (rs.anomalies & TLS_ANOM_BIT(STREAM_GAP)), "gap in a header: desynced, named");
    static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    tls_record_init(&rs, rec_buf, sizeof rec_buf, on_rec_count, &cnt);
    tls_record_feed(&rs, http, sizeof http - 1);
    CHECK(tls_record_desynced(&rs) && (rs.anomalies & TLS_ANOM_BIT(NOT_TLS)), "plaintext HTTP: not_tls");
}

static tls_record last;
static void on_rec_keep(void *user, const tls_record *r)
{
    (void)user;
    last = *r;
}

static void test_record_fields(void)
{
    size_t n;
    const uint8_t *s = fx_get("4401.c.stream", &n);
    tls_record_stream rs;
    tls_record_init(&rs, rec_buf, sizeof rec_buf, on_rec_keep, NULL);
    tls_record_feed(&rs, s, 5 + (size_t)(s[3] << 8 | s[4]));
    CHECK(last.content_type == 22 && last.version == 0x0301 && last.offset == 0 && last.body != NULL,
          "record: ClientHello record 22/0x0301 at offset 0");
    /* zeek ssl-v2.pcap: 2-byte SSLv2 header 80 2e + CLIENT-HELLO */
    static const uint8_t v2[] = {
        0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10, 0x07, 0x00, 0xc0, 0x05, 0x00,
        0x80, 0x03, 0x00, 0x80, 0x01, 0x00, 0x80, 0x06, 0x00, 0x40, 0x04, 0x00, 0x80, 0x02, 0x00, 0x80,
        0x1c, 0x30, 0xe2, 0xb1, 0x2f, 0x4c, 0x04, 0x52, 0x54, 0x76, 0xf2, 0x80, 0xc0, 0x7a, 0xbe, 0xe5 };
    tls_record_init(&rs, rec_buf, sizeof rec_buf, on_rec_keep, NULL);
    tls_record_feed(&rs, v2, sizeof v2);
    CHECK(last.sslv2 && last.content_type == 1 && last.version == 0x0002 && last.length == 46,
          "record: SSLv2 CLIENT-HELLO header");
    CHECK(last.anomalies & TLS_ANOM_BIT(SSLV2_RECORD), "record: SSLv2 anomaly named");
    /* same trace, a later client record with a 3-byte SSLv2 header
     * (00 18 07: length 0x18, 7 bytes of padding), after the 2-byte ones */
    static const uint8_t v2long[] = {
        0x00, 0x18, 0x07, 0x2e, 0xd0, 0x5c, 0x4a, 0x75, 0xd1, 0xca, 0xb5, 0x3f, 0x81, 0x94,
        0xbb, 0xbd, 0x54, 0x40, 0x8a, 0x13, 0xfe, 0x84, 0x51, 0xb1, 0xf5, 0x52, 0xfa };
    tls_record_feed(&rs, v2long, sizeof v2long);
    CHECK(last.sslv2 && last.length == 0x18 && last.offset == sizeof v2 && !tls_record_desynced(&rs) &&
              !tls_record_partial(&rs),
          "record: SSLv2 3-byte header after a 2-byte one");
    /* oversize length from a real header with the length bytes raised */
    static uint8_t big[5 + 0x5000] = { 0x17, 0x03, 0x03, 0x50, 0x00 };
    tls_record_init(&rs, rec_buf, sizeof rec_buf, on_rec_keep, NULL);
    memset(&last, 0, sizeof last);
    tls_record_feed(&rs, big, 5 + 0x4fff);
    CHECK(last.length == 0 && tls_record_partial(&rs), "record: incomplete record not reported");
    tls_record_feed(&rs, big + 5 + 0x4fff, 1);
    CHECK(last.length == 0x5000 && (last.anomalies & TLS_ANOM_BIT(INVALID_RECORD_LENGTH)), "record: length above 2^14+2048");
    uint8_t odd[5] = { 0x19, 0x03, 0x03, 0x00, 0x00 };
    tls_record_init(&rs, rec_buf, sizeof rec_buf, on_rec_keep, NULL);
    tls_record_feed(&rs, odd, 5);
    CHECK(last.content_type == 25 && (last.anomalies & TLS_ANOM_BIT(UNKNOWN_CONTENT_TYPE)), "record: unknown type 25 reported");
    uint8_t ver[5] = { 0x16, 0x03, 0x09, 0x00, 0x00 };
    tls_record_init(&rs, rec_buf, sizeof rec_buf, on_rec_keep, NULL);
    tls_record_feed(&rs, ver, 5);
    CHECK(last.anomalies & TLS_ANOM_BIT(RECORD_VERSION_INVALID), "record: version 0x0309 invalid");
}

/* A handshake message split over records and several messages per record. */
static int msgs_seen, msgs_too_large;
static void on_msg(void *user, const tls_hs_msg *m)
{
    (void)user;
    msgs_seen++;
    if (m->too_large && !m->body) msgs_too_large++;
}

static void test_reassembly(void)
{
    size_t n;
    const uint8_t *s = fx_get("4402.s.stream", &n);
    static uint8_t hs[65536];
    size_t hl = 0;
    for (size_t i = 0; i + 5 <= n;) {
        size_t rl = (size_t)(s[i + 3] << 8 | s[i + 4]);
        if (s[i] != 22) break;
        memcpy(hs + hl, s + i + 5, rl);
        hl += rl;
        i += 5 + rl;
    }
    int bad = 0;
    for (size_t frag = 1; frag < 200; frag += 7) {
        tls_handshake_reasm r;
        tls_handshake_init(&r, hs_buf, sizeof hs_buf, 0, on_msg, NULL);
        msgs_seen = 0;
        for (size_t off = 0; off < hl; off += frag) tls_handshake_feed(&r, hs + off, hl - off < frag ? hl - off : frag, 0);
        if (msgs_seen != 6 || tls_handshake_pending(&r)) bad++;
    }
    CHECK_EQ_INT(bad, 0, "reassembly: 6 messages whatever the fragment size");
    tls_handshake_reasm r;
    tls_handshake_init(&r, hs_buf, sizeof hs_buf, 1024, on_msg, NULL);
    msgs_seen = msgs_too_large = 0;
    tls_handshake_feed(&r, hs, hl, 0);
    CHECK(msgs_seen == 6 && msgs_too_large >= 1 && (r.anomalies & TLS_ANOM_BIT(HANDSHAKE_TOO_LARGE)),
          "reassembly: cap 1024 skips the certificate body, keeps the sequence");
}

/* Lazy buffers (tls_mem): same events as fixed buffers, at any split;
 * nothing held once a stream ends on a record boundary; what is held
 * follows what arrived; a refused buffer skips a body, not the stream; a
 * release requested from inside a callback waits until it returns. */
typedef struct counting_mem {
    size_t outstanding, peak, allocs;
    bool refuse;
    size_t refusals;
} counting_mem;

static void *cm_alloc(void *user, size_t n)
{
    counting_mem *m = user;
    if (m->refuse) {
        m->refusals++;
        return NULL;
    }
    m->allocs++;
    m->outstanding += n;
    if (m->outstanding > m->peak) m->peak = m->outstanding;
    return malloc(n);
}

static void cm_release(void *user, void *p, size_t n)
{
    counting_mem *m = user;
    m->outstanding -= n;
    free(p);
}

typedef struct lazy_run {
    log_t log;
    tls_stream *st;
    int release_in_cb; /* 1: in every callback, 2: in handshake message callbacks */
    unsigned long body_sum;
    tls_anomalies anomalies;
} lazy_run;

static void on_ev_lazy(void *user, const tls_event *ev)
{
    lazy_run *r = user;
    on_ev(&r->log, ev);
    r->anomalies |= ev->anomalies;
    if (!r->release_in_cb || (r->release_in_cb == 2 && ev->kind != TLS_EV_HANDSHAKE)) return;
    /* give the buffers back while the view is live, then read all of it:
     * ASan reports a use-after-free if the release is not deferred */
    tls_stream_release(r->st);
    const uint8_t *b = NULL;
    size_t n = 0;
    if (ev->kind == TLS_EV_RECORD && ev->rec->body) b = ev->rec->body, n = ev->rec->body_len;
    if (ev->kind == TLS_EV_HANDSHAKE && ev->hs->body) b = ev->hs->body, n = ev->hs->body_len;
    for (size_t i = 0; i < n; i++) r->body_sum += b[i];
}

static void run_lazy(const uint8_t *s, size_t n, bool srv, size_t chunk, counting_mem *m, lazy_run *r)
{
    static tls_stream st;
    tls_mem mem = { cm_alloc, cm_release, m };
    tls_stream_config cfg = { NULL, 0, NULL, 0, 0, srv, false };
    tls_stream_init(&st, &cfg, on_ev_lazy, r);
    tls_stream_set_mem(&st, &mem);
    r->st = &st;
    for (size_t o = 0; o < n; o += chunk) tls_stream_feed(&st, s + o, n - o < chunk ? n - o : chunk);
    r->anomalies |= st.anomalies;
    tls_stream_release(&st);
}

static void test_lazy_buffers(void)
{
    int differ = 0, held = 0, tried = 0, refused_ok = 0, refused_tried = 0, over = 0;
    size_t peak = 0;
    static const size_t chunks[] = { 1, 7, 100, 1000, 1448, 100000 };
    for (size_t k = 0; k < NSTREAMS; k++) {
        size_t n;
        const uint8_t *s = fx_get(streams[k], &n);
        if (!s) continue;
        bool srv = strstr(streams[k], ".s.") != NULL;
        log_t fixed;
        run(streams[k], &fixed, false);
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            counting_mem m = { 0, 0, 0, false, 0 };
            lazy_run r;
            memset(&r, 0, sizeof r);
            run_lazy(s, n, srv, chunks[c], &m, &r);
            tried++;
            if (memcmp(&r.log, &fixed, sizeof fixed) != 0) differ++;
            if (m.outstanding != 0) held++;
            if (m.peak > peak) peak = m.peak;
            /* never more than twice what one record and one message need */
            if (m.peak > 2 * (TLS_RECORD_BUF_SIZE + n)) over++;
            /* release from inside every callback: same events, no UAF */
            counting_mem m2 = { 0, 0, 0, false, 0 };
            lazy_run r2;
            memset(&r2, 0, sizeof r2);
            r2.release_in_cb = 1;
            run_lazy(s, n, srv, chunks[c], &m2, &r2);
            if (m2.outstanding != 0) held++;
            /* refused: the same records, bodies that spanned chunks skipped */
            if (chunks[c] < 100) {
                counting_mem m3 = { 0, 0, 0, true, 0 };
                lazy_run r3;
                memset(&r3, 0, sizeof r3);
                run_lazy(s, n, srv, chunks[c], &m3, &r3);
                refused_tried++;
                if (r3.log.records == fixed.records && m3.outstanding == 0 &&
                    (m3.refusals == 0 || (r3.anomalies & TLS_ANOM_BIT(MEMORY_BUDGET))))
                    refused_ok++;
            }
        }
    }
    /* a message spanning records: the ClientHello of a real stream cut
     * into 50-byte records gathers in the handshake buffer */
    size_t n0;
    const uint8_t *ch = fx_get("4401.c.stream", &n0);
    if (ch && n0 > 5) {
        size_t body = (size_t)(ch[3] << 8 | ch[4]);
        static uint8_t frag[8192];
        size_t fl = 0;
        for (size_t o = 0; o < body && fl + 55 < sizeof frag; o += 50) {
            size_t part = body - o < 50 ? body - o : 50;
            memcpy(frag + fl, ch, 3);
            frag[fl + 3] = 0;
            frag[fl + 4] = (uint8_t)part;
            memcpy(frag + fl + 5, ch + 5 + o, part);
            fl += 5 + part;
        }
        counting_mem m = { 0, 0, 0, false, 0 };
        lazy_run r;
        memset(&r, 0, sizeof r);
        r.release_in_cb = 2;
        run_lazy(frag, fl, false, 1000, &m, &r);
        CHECK(strcmp(r.log.hs, "1") == 0 && m.allocs > 0 && m.outstanding == 0 && r.body_sum > 0,
              "lazy buffers: a ClientHello over %zu records gathered, released inside its callback, read whole",
              (body + 49) / 50);
    }
    CHECK(tried >= 100, "lazy buffers: %d runs of %zu real streams at 6 chunk sizes", tried, NSTREAMS);
    CHECK_EQ_INT(differ, 0, "lazy buffers: the same events as fixed buffers");
    CHECK_EQ_INT(held, 0, "lazy buffers: nothing held at the end, also when released from inside callbacks");
    CHECK_EQ_INT(over, 0, "lazy buffers: peak held follows the bytes that arrived (max %zu)", peak);
    CHECK(refused_tried > 0 && refused_ok == refused_tried,
          "lazy buffers refused: every record still reported, memory_budget flagged (%d/%d)", refused_ok,
          refused_tried);
}

/* Record offsets delivered, for the resync tests. */
typedef struct offs {
    uint64_t at[512];
    int n;
} offs_t;

static void on_rec_off(void *user, const tls_record *r)
{
    offs_t *o = user;
    if (o->n < 512) o->at[o->n++] = r->offset;
}

/* Feeds s[0..n) with s[k..k+gap) missing; step 0 = one chunk after the
 * gap, else chunks of `step` bytes. */
static void feed_with_gap(tls_record_stream *rs, const uint8_t *s, size_t n, size_t k, size_t gap,
                          size_t step)
{
    tls_record_feed(rs, s, k);
    tls_record_gap(rs, gap);
    for (size_t at = k + gap; at < n;) {
        size_t c = step ? (n - at < step ? n - at : step) : n - at;
        tls_record_feed(rs, s + at, c);
        at += c;
    }
}

/* A gap anywhere after the first record of a real stream: the records
 * whose header starts after the gap are found again at their true stream
 * offsets (the scan may take a chance header first: counted, bounded). */
static void test_resync(void)
{
    int cuts = 0, exact = 0, desynced = 0, resynced_cuts = 0, split_bad = 0, split_cuts = 0;
    static const size_t gaps[] = { 1, 5, 37, 1500 };
    for (size_t i = 0; i < NSTREAMS; i++) {
        size_t n;
        const uint8_t *s = fx_get(streams[i], &n);
        if (!s) continue;
        static offs_t truth, got, got1;
        memset(&truth, 0, sizeof truth);
        tls_record_stream rs;
        tls_record_init(&rs, rec_buf, sizeof rec_buf, on_rec_off, &truth);
        tls_record_feed(&rs, s, n);
        if (truth.n < 2) continue;
        size_t first_end = (size_t)truth.at[1];
        for (size_t k = first_end; k + 1 < n; k++) {
            for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
                size_t gap = gaps[g];
                if (k + gap >= n) continue;
                memset(&got, 0, sizeof got);
                tls_record_init(&rs, rec_buf, sizeof rec_buf, on_rec_off, &got);
                feed_with_gap(&rs, s, n, k, gap, 0);
                cuts++;
                if (rs.desynced) desynced++;
                if (rs.resyncs) resynced_cuts++;
                /* delivered offsets after the gap == true ones after it */
                int a = 0, b = 0;
                while (a < truth.n && truth.at[a] < k + gap) a++;
                while (b < got.n && got.at[b] < k + gap) b++;
                int same = truth.n - a == got.n - b;
                for (int j = 0; same && a + j < truth.n; j++) same = truth.at[a + j] == got.at[b + j];
                exact += same;
                /* chunked 1..7 bytes at a time: the same records as one chunk
                 * wherever the one-chunk run found them all */
                if (same && gap == 37 && k % 7 == 0) {
                    memset(&got1, 0, sizeof got1);
                    tls_record_init(&rs, rec_buf, sizeof rec_buf, on_rec_off, &got1);
                    feed_with_gap(&rs, s, n, k, gap, 1 + k % 7);
                    split_cuts++;
                    int same1 = got1.n == got.n;
                    for (int j = 0; same1 && j < got.n; j++) same1 = got1.at[j] == got.at[j];
                    split_bad += !same1;
                }
            }
        }
    }
    CHECK(cuts > 10000, "resync: %d gaps cut into 24 real streams", cuts);
    CHECK_EQ_INT(desynced, 0, "resync: a gap after the first record never abandons the stream");
    CHECK(resynced_cuts > cuts / 2, "resync: %d of %d gaps needed a scan (the rest fell in skipped bodies)",
          resynced_cuts, cuts);
    CHECK(exact * 100 >= cuts * 97, "resync: every record after the gap found at its true offset in %d of %d",
          exact, cuts);
    printf("  resync exact: %d / %d\n", exact, cuts);
    CHECK(split_cuts > 100 && split_bad == 0,
          "resync: fed in chunks of 1..7 bytes, the same records as in one chunk (%d cuts)", split_cuts);
    /* a stream that never showed a record still stops at a gap */
    tls_record_stream rs;
    offs_t none = { { 0 }, 0 };
    size_t n;
    const uint8_t *s = fx_get("4402.s.stream", &n);
    tls_record_init(&rs, rec_buf, sizeof rec_buf, on_rec_off, &none);
    tls_record_feed(&rs, s, 3);
    tls_record_gap(&rs, 7);
    tls_record_feed(&rs, s + 10, n - 10);
    CHECK(rs.desynced && none.n == 0 && rs.resyncs == 0, "resync: not before the first record");
}

int main(void)
{
    if (fx_load("tests/unit/data/openssl_flows.hex") <= 0) {
        printf("FAIL cannot load tests/unit/data/openssl_flows.hex\n");
        return 1;
    }
    test_sequences();
    test_splits();
    test_truncation();
    test_headers_only_and_gaps();
    test_record_fields();
    test_reassembly();
    test_lazy_buffers();
    test_resync();
    fx_free();
    return T_DONE();
}
