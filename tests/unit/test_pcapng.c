/* Unit tests of the pcapng reader (src/pcapng.c): timestamp conversion for
 * every kind of if_tsresol (known values, overflow, clamping), and the
 * block parser on files built here, valid and hostile: lengths 0, 8, 13,
 * 0xFFFFFFFF, past the end; captured length past its block or above the
 * cap; undefined interfaces; options past their block; bad trailers, byte
 * order magic and version; sections of either byte order; a file cut at
 * every byte. Classic pcap files through the same reader: every magic,
 * byte order and version against libpcap's own reading of the same bytes,
 * snaplen cuts, hostile lengths and versions, every cut. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng.h"
#include "t.h"

/* ------------------------------------------------------------ builder */

struct buf {
    uint8_t b[1 << 20];
    size_t n;
    int big;
};

static void put(struct buf *w, const void *p, size_t n)
{
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void u16(struct buf *w, uint16_t v)
{
    uint8_t x[2] = { (uint8_t)(w->big ? v >> 8 : v), (uint8_t)(w->big ? v : v >> 8) };
    put(w, x, 2);
}

static void u32(struct buf *w, uint32_t v)
{
    if (w->big) {
        u16(w, (uint16_t)(v >> 16));
        u16(w, (uint16_t)v);
    } else {
        u16(w, (uint16_t)v);
        u16(w, (uint16_t)(v >> 16));
    }
}

static void u64(struct buf *w, uint64_t v)
{
    if (w->big) {
        u32(w, (uint32_t)(v >> 32));
        u32(w, (uint32_t)v);
    } else {
        u32(w, (uint32_t)v);
        u32(w, (uint32_t)(v >> 32));
    }
}

static void pad4(struct buf *w)
{
    while (w->n % 4) w->b[w->n++] = 0;
}

/* a block: header, body written by the caller between begin and end */
static size_t begin(struct buf *w, uint32_t type)
{
    size_t at = w->n;
    u32(w, type);
    u32(w, 0);
    return at;
}

static void end(struct buf *w, size_t at)
{
    pad4(w);
    uint32_t len = (uint32_t)(w->n - at + 4);
    size_t save = w->n;
    w->n = at + 4;
    u32(w, len);
    w->n = save;
    u32(w, len);
}

static void shb(struct buf *w, int big)
{
    w->big = big;
    size_t at = begin(w, PCAPNG_MAGIC);
    u32(w, 0x1A2B3C4D);
    u16(w, 1);
    u16(w, 0);
    u64(w, UINT64_MAX);
    end(w, at);
}

/* tsresol < 0: no option */
static void idb(struct buf *w, uint16_t linktype, int tsresol, int64_t tsoffset)
{
    size_t at = begin(w, 1);
    u16(w, linktype);
    u16(w, 0);
    u32(w, 65535);
    u16(w, 2); /* if_name */
    u16(w, 5);
    put(w, "eth42", 5);
    pad4(w);
    if (tsresol >= 0) {
        u16(w, 9);
        u16(w, 1);
        uint8_t r = (uint8_t)tsresol;
        put(w, &r, 1);
        pad4(w);
    }
    if (tsoffset) {
        u16(w, 14);
        u16(w, 8);
        u64(w, (uint64_t)tsoffset);
    }
    u16(w, 0);
    u16(w, 0);
    end(w, at);
}

static void epb(struct buf *w, uint32_t ifid, uint64_t ts, const void *data, uint32_t caplen, uint32_t len)
{
    size_t at = begin(w, 6);
    u32(w, ifid);
    u32(w, (uint32_t)(ts >> 32));
    u32(w, (uint32_t)ts);
    u32(w, caplen);
    u32(w, len);
    put(w, data, caplen);
    pad4(w);
    u16(w, 2); /* epb_flags */
    u16(w, 4);
    u32(w, 1);
    u16(w, 0);
    u16(w, 0);
    end(w, at);
}

static void raw_block(struct buf *w, uint32_t type, uint32_t len, size_t body)
{
    u32(w, type);
    u32(w, len);
    memset(w->b + w->n, 0, body);
    w->n += body;
}

/* ------------------------------------------------------------ running */

struct run {
    int npkt, nif, res;
    struct timeval ts[8];
    uint32_t caplen[8], len[8], iface[8];
    int dlt[8];
    char err[256];
    int opened;
    int ahead;       /* a reader thread read it ahead */
};

/* 1: files are written to a temporary file and read ahead on a second
 * thread in tiny segments (every block boundary, cut and skip then falls
 * across segments); 0: read from memory by the reader itself. */
static int via_file;
static unsigned ahead_runs;

static struct run run(const struct buf *w)
{
    struct run r;
    memset(&r, 0, sizeof r);
    FILE *f;
    if (via_file) {
        f = tmpfile();
        if (f && (fwrite(w->b, 1, w->n, f) != w->n || fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)) {
            fclose(f);
            f = NULL;
        }
        if (!f) {
            snprintf(r.err, sizeof r.err, "tmpfile failed");
            r.res = PCAPNG_ERROR;
            return r;
        }
    } else {
        f = fmemopen((void *)(uintptr_t)w->b, w->n ? w->n : 1, "rb");
        if (!w->n) {
            fclose(f);
            f = fopen("/dev/null", "rb");
        }
    }
    char err[200];
    struct pcapng *g = pcapng_open(f, err, sizeof err);
    if (!g) {
        snprintf(r.err, sizeof r.err, "open: %s", err);
        r.res = PCAPNG_ERROR;
        fclose(f);
        return r;
    }
    r.opened = 1;
    struct pcapng_pkt p;
    int res;
    while ((res = pcapng_next(g, &p)) > 0) {
        r.ahead |= pcapng_reading_ahead(g);
        if (res == PCAPNG_IFACE) {
            r.nif++;
            continue;
        }
        if (r.npkt < 8) {
            r.ts[r.npkt] = p.hdr.ts;
            r.caplen[r.npkt] = p.hdr.caplen;
            r.len[r.npkt] = p.hdr.len;
            r.iface[r.npkt] = p.iface;
            r.dlt[r.npkt] = p.dlt;
            /* every byte handed over is readable (ASan) */
            volatile uint8_t sum = 0;
            for (uint32_t i = 0; i < p.hdr.caplen; i++) sum ^= p.data[i];
            (void)sum;
        }
        r.npkt++;
    }
    r.res = res;
    r.ahead |= pcapng_reading_ahead(g);
    ahead_runs += (unsigned)r.ahead;
    if (res == PCAPNG_ERROR) {
        snprintf(r.err, sizeof r.err, "%s", pcapng_error(g));
        CHECK(pcapng_next(g, &p) == PCAPNG_ERROR, "an error is sticky (%s)", r.err);
    }
    pcapng_close(g);
    fclose(f);
    return r;
}

static struct buf W, V;

static void base(struct buf *w, int big)
{
    w->n = 0;
    shb(w, big);
    idb(w, 1, -1, 0);
}

/* ------------------------------------------------------------ timestamps */

static void ts_is(uint64_t ts, int res, int64_t off, long long sec, long usec, int clamped, const char *what)
{
    struct timeval tv;
    int c = pcapng_ts_to_timeval(ts, (uint8_t)res, off, &tv);
    CHECK(tv.tv_sec == sec && tv.tv_usec == usec && c == clamped, "timestamp %s: %llu at 0x%02x%+lld -> %lld.%06ld%s",
          what, (unsigned long long)ts, res, (long long)off, sec, usec, clamped ? " (clamped)" : "");
    if (tv.tv_sec != sec || tv.tv_usec != usec || c != clamped)
        printf("  got %lld.%06ld clamped %d\n", (long long)tv.tv_sec, (long)tv.tv_usec, c);
}

static void test_timestamps(void)
{
    ts_is(1795581558383769ull, 6, 0, 1795581558, 383769, 0, "microseconds");
    ts_is(1795581558383769123ull, 9, 0, 1795581558, 383769, 0, "nanoseconds, truncated");
    ts_is(17955815583837ull, 4, 0, 1795581558, 383700, 0, "10^-4");
    ts_is(1795581558ull, 0, 0, 1795581558, 0, 0, "10^0: seconds");
    ts_is(((uint64_t)1795581557 << 20) + 251608, 0x94, 0, 1795581557, 239952, 0, "2^-20");
    ts_is(((uint64_t)1795581557 << 10) + 1023, 0x8a, 0, 1795581557, 999023, 0, "2^-10");
    ts_is(1795581558ull, 0x80, 0, 1795581558, 0, 0, "2^0: seconds");
    ts_is(((uint64_t)5 << 32) + (1u << 31), 0xa0, 0, 5, 500000, 0, "2^-32");
    ts_is((uint64_t)1 << 63, 0xbf, 0, 1, 0, 0, "2^-63: the top bit is one second");
    ts_is(UINT64_MAX, 0xbf, 0, 1, 999999, 0, "2^-63, all ones");
    ts_is(UINT64_MAX, 0xc0, 0, 0, 999999, 0, "2^-64");
    ts_is(UINT64_MAX, 0xff, 0, 0, 0, 0, "2^-127 (tsresol 0xFF)");
    ts_is((uint64_t)1 << 63, 0xe3, 0, 0, 0, 0, "2^-99");
    ts_is(10000000000000000000ull, 19, 0, 1, 0, 0, "10^-19");
    ts_is(UINT64_MAX, 20, 0, 0, 184467, 0, "10^-20: below a second");
    ts_is(UINT64_MAX, 25, 0, 0, 1, 0, "10^-25: 1.8e19 x 1e-25 s = 1.8 us");
    ts_is(UINT64_MAX, 26, 0, 0, 0, 0, "10^-26");
    ts_is(UINT64_MAX, 0x7f, 0, 0, 0, 0, "10^-127 (tsresol 0x7F)");
    ts_is(UINT64_MAX, 0, 0, PCAPNG_MAX_SEC, 999999, 1, "2^64 seconds clamped to year 9999");
    ts_is(UINT64_MAX, 0x80, INT64_MIN, 9223372036854775807LL > PCAPNG_MAX_SEC ? PCAPNG_MAX_SEC : 0, 999999, 1,
          "2^64 s - 2^63 s still clamped");
    ts_is(1000, 6, 100, 100, 1000, 0, "if_tsoffset +100 s");
    ts_is(5000000, 6, -3, 2, 0, 0, "if_tsoffset -3 s");
    ts_is(5000000, 6, -6, 0, 0, 1, "before 1970 clamped to 0");
    ts_is(5000000, 6, INT64_MIN, 0, 0, 1, "if_tsoffset INT64_MIN");
    ts_is(5000000, 6, INT64_MAX, PCAPNG_MAX_SEC, 999999, 1, "if_tsoffset INT64_MAX");
    ts_is(UINT64_MAX, 0, -(int64_t)(UINT64_MAX / 2), PCAPNG_MAX_SEC, 999999, 1, "huge minus huge, still huge");
    ts_is((uint64_t)PCAPNG_MAX_SEC + 100, 0, -100, PCAPNG_MAX_SEC, 0, 0, "just in range after the offset");
}

/* ------------------------------------------------------------ blocks */

static void test_valid(void)
{
    static const uint8_t pkt[] = { 1, 2, 3, 4, 5, 6, 7 };
    for (int big = 0; big <= 1; big++) {
        W.n = 0;
        shb(&W, big);
        idb(&W, 1, 9, 0);
        idb(&W, 101, 0x94, 10);
        size_t at = begin(&W, 4); /* NRB: skipped */
        u16(&W, 0);
        u16(&W, 0);
        end(&W, at);
        epb(&W, 0, 1500000000123456789ull, pkt, 7, 60);
        epb(&W, 1, (uint64_t)3 << 20, pkt, 3, 3);
        at = begin(&W, 3); /* SPB: interface 0, previous time */
        u32(&W, 5);
        put(&W, pkt, 5);
        end(&W, at);
        at = begin(&W, 2); /* obsolete PB */
        u16(&W, 1);
        u16(&W, 0);
        u32(&W, 0);
        u32(&W, 1u << 19);
        u32(&W, 2);
        u32(&W, 2);
        put(&W, pkt, 2);
        end(&W, at);
        shb(&W, !big); /* a second section, the other byte order */
        idb(&W, 113, -1, 0);
        epb(&W, 0, 7000001, pkt, 4, 4);
        struct run r = run(&W);
        CHECK(r.res == PCAPNG_END && r.nif == 3 && r.npkt == 5, "%s file: 3 interfaces, 5 packets, clean end (%s)",
              big ? "big-endian" : "little-endian", r.err);
        CHECK(r.ts[0].tv_sec == 1500000000 && r.ts[0].tv_usec == 123456 && r.caplen[0] == 7 && r.len[0] == 60 &&
                  r.dlt[0] == DLT_EN10MB,
              "EPB, 10^-9: time, lengths, link type");
        CHECK(r.ts[1].tv_sec == 13 && r.ts[1].tv_usec == 0 && r.dlt[1] == DLT_RAW && r.iface[1] == 1,
              "EPB, 2^-20 + offset 10 s, LINKTYPE_RAW as DLT_RAW");
        CHECK(r.ts[2].tv_sec == 13 && r.caplen[2] == 5 && r.dlt[2] == DLT_EN10MB && r.iface[2] == 0,
              "SPB: interface 0, the previous packet's time");
        CHECK(r.ts[3].tv_sec == 10 && r.ts[3].tv_usec == 500000 && r.caplen[3] == 2 && r.iface[3] == 1,
              "obsolete Packet Block");
        CHECK(r.ts[4].tv_sec == 7 && r.ts[4].tv_usec == 1 && r.dlt[4] == DLT_LINUX_SLL && r.iface[4] == 2,
              "second section: its own byte order and interface list");
    }
}

/* base file + one more packet block, then the hostile part */
static void expect_error(const char *what, const char *needle, int npkt)
{
    struct run r = run(&W);
    CHECK(r.res == PCAPNG_ERROR && strstr(r.err, needle) && r.npkt == npkt, "%s: error after %d packet(s)", what,
          npkt);
    if (!(r.res == PCAPNG_ERROR && strstr(r.err, needle) && r.npkt == npkt))
        printf("  got res %d, %d packets, \"%s\"\n", r.res, r.npkt, r.err);
}

static void test_hostile(void)
{
    static uint8_t pkt[300 << 10];
    static const uint32_t lens[] = { 0, 8, 13, 0xFFFFFFFFu, 0xFFFFFFF0u, 0x80000000u };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        base(&W, 0);
        epb(&W, 0, 1, pkt, 60, 60);
        raw_block(&W, 0x0BADBEEF, lens[i], 16);
        epb(&W, 0, 2, pkt, 60, 60);
        char what[64];
        snprintf(what, sizeof what, "block length 0x%x", lens[i]);
        expect_error(what, "block at offset", 1);
    }
    base(&W, 0);
    raw_block(&W, 6, 0, 8);
    expect_error("EPB of length 0", "shorter than the block's minimum", 0);
    base(&W, 0);
    raw_block(&W, 1, 16, 8);
    expect_error("IDB of length 16", "shorter than the block's minimum", 0);

    base(&W, 1);
    epb(&W, 0, 1, pkt, 60, 60);
    W.n -= 10; /* cut in the last block */
    expect_error("cut inside a packet block", "the file ends", 0);

    base(&W, 0);
    size_t at = begin(&W, 6);
    u32(&W, 0);
    u32(&W, 0);
    u32(&W, 1);
    u32(&W, 0xFFFFFFF0u);
    u32(&W, 60);
    put(&W, pkt, 60);
    end(&W, at);
    expect_error("captured length 0xFFFFFFF0 past its block", "does not fit in block length", 0);

    base(&W, 0);
    epb(&W, 1, 1, pkt, 60, 60);
    expect_error("interface id 1 of 1 interface", "packet of interface 1", 0);
    base(&W, 0);
    epb(&W, 0xFFFFFFFFu, 1, pkt, 60, 60);
    expect_error("interface id 0xFFFFFFFF", "packet of interface 4294967295", 0);
    W.n = 0;
    shb(&W, 0);
    at = begin(&W, 3);
    u32(&W, 4);
    put(&W, pkt, 4);
    end(&W, at);
    expect_error("SPB without an interface", "defines 0 interfaces", 0);
    base(&W, 0);
    epb(&W, 0, 1, pkt, 60, 60);
    shb(&W, 1);
    epb(&W, 0, 1, pkt, 60, 60);
    expect_error("a new section forgets the interfaces", "section 2 defines 0", 1);

    W.n = 0;
    shb(&W, 0);
    at = begin(&W, 1);
    u16(&W, 1);
    u16(&W, 0);
    u32(&W, 0);
    u16(&W, 9);
    u16(&W, 200); /* option longer than the block */
    u32(&W, 0);
    end(&W, at);
    expect_error("IDB option past its block", "runs past its block", 0);

    base(&W, 0);
    epb(&W, 0, 1, pkt, 60, 60);
    W.b[W.n - 4] ^= 4; /* trailer */
    expect_error("trailer that does not repeat the length", "trailer length", 0);

    W.n = 0;
    shb(&W, 0);
    W.b[8] = 0x11;
    struct run r = run(&W);
    CHECK(!r.opened && strstr(r.err, "byte-order magic"), "bad byte-order magic: cannot open (%s)", r.err);
    W.n = 0;
    shb(&W, 1);
    W.b[12] = 0;
    W.b[13] = 2;
    r = run(&W);
    CHECK(!r.opened && strstr(r.err, "version 2.0"), "pcapng version 2: cannot open (%s)", r.err);
    W.n = 0;
    r = run(&W);
    CHECK(!r.opened, "empty file: cannot open (%s)", r.err);

    /* interface with tsresol 0xFF and an offset: conversions stay in range */
    W.n = 0;
    shb(&W, 0);
    idb(&W, 1, 0xFF, INT64_MAX);
    idb(&W, 1, 0x00, 0);
    epb(&W, 0, UINT64_MAX, pkt, 60, 60);
    epb(&W, 1, UINT64_MAX, pkt, 60, 60);
    r = run(&W);
    CHECK(r.res == PCAPNG_END && r.npkt == 2 && r.ts[0].tv_sec == PCAPNG_MAX_SEC && r.ts[1].tv_sec == PCAPNG_MAX_SEC,
          "tsresol 0xFF + INT64_MAX offset, tsresol 10^0 with 2^64-1: clamped, no overflow");

    /* a packet larger than the cap: cut to PCAPNG_MAX_CAPLEN, length kept;
     * the block (over PCAPNG_MAX_BLOCK) is read up to the data and its rest skipped */
    base(&W, 0);
    epb(&W, 0, 1, pkt, sizeof pkt, sizeof pkt);
    epb(&W, 0, 2, pkt, 10, 10);
    r = run(&W);
    CHECK(r.res == PCAPNG_END && r.npkt == 2 && r.caplen[0] == PCAPNG_MAX_CAPLEN && r.len[0] == sizeof pkt &&
              r.caplen[1] == 10,
          "300 KiB packet cut to %u bytes, original length kept, next block read", PCAPNG_MAX_CAPLEN);
    /* original length below the captured one */
    base(&W, 0);
    epb(&W, 0, 1, pkt, 60, 0);
    r = run(&W);
    CHECK(r.res == PCAPNG_END && r.len[0] == 60, "original length 0 raised to the captured length");

    /* too many interfaces */
    W.n = 0;
    shb(&W, 0);
    for (unsigned i = 0; i <= PCAPNG_MAX_IFACES; i++) {
        at = begin(&W, 1);
        u16(&W, 1);
        u16(&W, 0);
        u32(&W, 0);
        end(&W, at);
    }
    r = run(&W);
    CHECK(r.res == PCAPNG_ERROR && r.nif == (int)PCAPNG_MAX_IFACES && strstr(r.err, "more than"),
          "more than %u interfaces in a section: an error, not unbounded memory", PCAPNG_MAX_IFACES);
}

/* every prefix of a valid file: a clean end at block boundaries, an error
 * elsewhere; never a crash, never a packet from the cut block */
static void test_every_cut(void)
{
    static const uint8_t pkt[40] = { 9 };
    V.n = 0;
    shb(&V, 0);
    size_t b0 = V.n;
    idb(&V, 1, 9, 0);
    size_t bi = V.n;
    epb(&V, 0, 1, pkt, 40, 40);
    size_t b1 = V.n;
    epb(&V, 0, 2, pkt, 37, 37);
    size_t b2 = V.n;
    int bad = 0;
    for (size_t n = 0; n <= V.n; n++) {
        W = V;
        W.n = n;
        struct run r = run(&W);
        int want_pk = n >= b2 ? 2 : n >= b1 ? 1 : 0;
        int good;
        if (n < b0) good = !r.opened;
        else if (n == b0 || n == bi || n == b1 || n == b2) good = r.res == PCAPNG_END && r.npkt == want_pk;
        else good = r.res == PCAPNG_ERROR && r.npkt == want_pk && strstr(r.err, "the file ends");
        if (!good && bad++ < 3) printf("  cut at %zu: res %d, %d packets, %s\n", n, r.res, r.npkt, r.err);
    }
    CHECK(bad == 0, "every cut of a 2-packet file (%zu bytes): packets before the cut, \"the file ends\" inside a block",
          V.n);
}

/* ------------------------------------------------------------ classic pcap */

/* A classic pcap file: header with this magic/version/snaplen/linktype,
 * then records (ts_sec, ts_frac, caplen, len as written, 8 more bytes for
 * Kuznetsov's format). */
static void cl_header(struct buf *w, int big, uint32_t magic, uint16_t major, uint16_t minor, uint32_t snap,
                      uint32_t linktype)
{
    w->n = 0;
    w->big = big;
    u32(w, magic);
    u16(w, major);
    u16(w, minor);
    u32(w, 0);
    u32(w, 0);
    u32(w, snap);
    u32(w, linktype);
}

static void cl_record(struct buf *w, uint32_t magic, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t len,
                      const uint8_t *data, uint32_t ndata)
{
    u32(w, sec);
    u32(w, frac);
    u32(w, caplen);
    u32(w, len);
    if (magic == 0xa1b2cd34u) {
        u32(w, 7); /* ifindex */
        u16(w, 0x0800);
        u16(w, 0);
    }
    put(w, data, ndata);
}

/* The same file through libpcap: what it hands over must be what we do. */
static int same_as_libpcap(const struct buf *w, const struct run *ours, char *why, size_t cap)
{
    FILE *f = fmemopen((void *)(uintptr_t)w->b, w->n, "rb");
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = f ? pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, err) : NULL;
    if (!p) {
        snprintf(why, cap, "libpcap cannot open it: %s", f ? err : "fmemopen");
        if (f) fclose(f);
        return 0;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    int n = 0, rc, ok = 1;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
        if (n < 8 && (h->ts.tv_sec != ours->ts[n].tv_sec || h->ts.tv_usec != ours->ts[n].tv_usec ||
                      h->caplen != ours->caplen[n] || h->len != ours->len[n])) {
            snprintf(why, cap, "packet %d: libpcap %lld.%06ld caplen %u len %u, ours %lld.%06ld caplen %u len %u", n + 1,
                     (long long)h->ts.tv_sec, (long)h->ts.tv_usec, h->caplen, h->len, (long long)ours->ts[n].tv_sec,
                     (long)ours->ts[n].tv_usec, ours->caplen[n], ours->len[n]);
            ok = 0;
        }
        n++;
    }
    if (ok && n != ours->npkt) {
        snprintf(why, cap, "libpcap read %d packets, ours %d", n, ours->npkt);
        ok = 0;
    }
    if (ok && (rc == PCAP_ERROR) != (ours->res == PCAPNG_ERROR)) {
        snprintf(why, cap, "libpcap %s, ours %s", rc == PCAP_ERROR ? "failed" : "ended cleanly",
                 ours->res == PCAPNG_ERROR ? ours->err : "ended cleanly");
        ok = 0;
    }
    pcap_close(p);
    return ok;
}

static void test_classic(void)
{
    static const uint8_t pkt[300] = { 0x45 };
    static const uint32_t magics[] = { 0xa1b2c3d4u, 0xa1b23c4du, 0xa1b2cd34u };
    char why[300];
    /* every magic in both byte orders, versions 2.4, 2.3 and 2.2 (lengths
     * written swapped): what libpcap reads, packet for packet */
    for (int m = 0; m < 3; m++)
        for (int big = 0; big < 2; big++)
            for (uint16_t minor = 2; minor <= 4; minor++) {
                int swapped = minor < 3;
                cl_header(&W, big, magics[m], 2, minor, 65535, 1);
                cl_record(&W, magics[m], 1700000000, m == 1 ? 123456789u : 123456u, swapped ? 60 : 40,
                          swapped ? 40 : 60, pkt, 40);
                cl_record(&W, magics[m], 1700000001, m == 1 ? 999999999u : 999999u, 300, 300, pkt, 300);
                /* 2.3: swapped only when caplen > len as written */
                cl_record(&W, magics[m], 1700000002, 5, minor <= 3 ? 30 : 20, minor <= 3 ? 20 : 30, pkt, 20);
                struct run r = run(&W);
                int ok = r.res == PCAPNG_END && r.npkt == 3 && r.nif == 1 && r.dlt[0] == 1 && r.caplen[0] == 40 &&
                         r.len[0] == 60 && r.ts[0].tv_sec == 1700000000 &&
                         r.ts[0].tv_usec == 123456 && r.ts[1].tv_usec == 999999 && r.caplen[2] == 20 && r.len[2] == 30;
                CHECK(ok, "classic pcap magic %08x %s-endian 2.%u: 3 packets, lengths and time as written (%s)",
                      magics[m], big ? "big" : "little", minor, r.err);
                CHECK(same_as_libpcap(&W, &r, why, sizeof why), "classic pcap magic %08x %s-endian 2.%u: as libpcap reads it%s%s",
                      magics[m], big ? "big" : "little", minor, *why ? ": " : "", why);
                why[0] = '\0';
            }
    /* snaplen 100: a 300-byte record is cut to 100 and the rest skipped;
     * the next record still reads */
    cl_header(&W, 0, magics[0], 2, 4, 100, 1);
    cl_record(&W, magics[0], 1, 0, 300, 300, pkt, 300);
    cl_record(&W, magics[0], 2, 0, 40, 40, pkt, 40);
    struct run r = run(&W);
    CHECK(r.res == PCAPNG_END && r.npkt == 2 && r.caplen[0] == 100 && r.len[0] == 300 && r.caplen[1] == 40 &&
              r.ts[1].tv_sec == 2,
          "a record above the snaplen is cut to it, the next one reads (%s)", r.err);
    CHECK(same_as_libpcap(&W, &r, why, sizeof why), "snaplen cut: as libpcap reads it %s", why);
    /* snaplen 0 and linktype with FCS bits: maximum snaplen, Ethernet */
    cl_header(&W, 1, magics[0], 2, 4, 0, 1u | 0x14000000u);
    cl_record(&W, magics[0], 1, 0, 300, 300, pkt, 300);
    r = run(&W);
    CHECK(r.res == PCAPNG_END && r.npkt == 1 && r.caplen[0] == 300 && r.dlt[0] == 1,
          "snaplen 0 means the maximum; the FCS bits of the link type are dropped (%s)", r.err);
    /* LINKTYPE_RAW (101) is DLT_RAW */
    cl_header(&W, 0, magics[0], 2, 4, 65535, 101);
    r = run(&W);
    CHECK(r.res == PCAPNG_END && r.nif == 1 && r.npkt == 0, "a header alone: one interface, no packet (%s)", r.err);
    /* hostile */
    cl_header(&W, 0, magics[0], 2, 4, 65535, 1);
    cl_record(&W, magics[0], 1, 0, 40, 40, pkt, 40);
    cl_record(&W, magics[0], 2, 0, PCAPNG_MAX_CAPLEN + 1, 70, pkt, 40);
    r = run(&W);
    CHECK(r.res == PCAPNG_ERROR && r.npkt == 1 && strstr(r.err, "record at offset 80: captured length 262145"),
          "a captured length above the maximum: an error at its record's offset, the packet before it read (%s)", r.err);
    cl_header(&W, 0, magics[0], 1, 0, 65535, 1);
    r = run(&W);
    CHECK(!r.opened && strstr(r.err, "archaic"), "version 1.0 is refused at open (%s)", r.err);
    cl_header(&W, 0, magics[0], 2, 5, 65535, 1);
    r = run(&W);
    CHECK(!r.opened && strstr(r.err, "unsupported pcap version 2.5"), "version 2.5 is refused at open (%s)", r.err);
    cl_header(&W, 0, 0xa1b2c3d5u, 2, 4, 65535, 1);
    r = run(&W);
    CHECK(!r.opened, "an unknown magic is no pcap file (%s)", r.err);
    /* every cut: the packets before it, "the file ends" inside a record */
    cl_header(&V, 0, magics[0], 2, 4, 65535, 1);
    size_t b0 = V.n;
    cl_record(&V, magics[0], 1, 0, 40, 40, pkt, 40);
    size_t b1 = V.n;
    cl_record(&V, magics[0], 2, 0, 37, 37, pkt, 37);
    size_t b2 = V.n;
    int bad = 0;
    for (size_t n = 0; n <= V.n; n++) {
        W = V;
        W.n = n;
        r = run(&W);
        int want_pk = n >= b2 ? 2 : n >= b1 ? 1 : 0;
        int good;
        if (n < b0) good = !r.opened;
        else if (n == b0 || n == b1 || n == b2) good = r.res == PCAPNG_END && r.npkt == want_pk;
        else good = r.res == PCAPNG_ERROR && r.npkt == want_pk && strstr(r.err, "the file ends");
        if (!good && bad++ < 3) printf("  cut at %zu: res %d, %d packets, %s\n", n, r.res, r.npkt, r.err);
        if (n >= b0 && !same_as_libpcap(&W, &r, why, sizeof why) && bad++ < 3) printf("  cut at %zu: %s\n", n, why);
    }
    CHECK(bad == 0, "every cut of a 2-packet classic pcap (%zu bytes): as libpcap, and \"the file ends\" inside a record",
          V.n);
}

/* The same files from a temporary file, read ahead on a second thread in
 * segments of 61 bytes (smaller than most blocks: each is assembled
 * across several, and a cut file ends inside one) and 4093 bytes: the
 * same packets, errors and offsets as read from memory. */
static void test_read_ahead(size_t seg)
{
    pcapng_readahead(0, seg);
    via_file = 1;
    ahead_runs = 0;
    printf("-- the same, read ahead in segments of %zu bytes\n", seg);
    test_valid();
    test_hostile();
    test_every_cut();
    test_classic();
    CHECK(ahead_runs > 50, "segments of %zu bytes: %u files were read ahead on a second thread", seg, ahead_runs);
    via_file = 0;
    pcapng_readahead(8u << 20, 0);
}

int main(void)
{
    test_timestamps();
    test_valid();
    test_hostile();
    test_every_cut();
    test_classic();
    test_read_ahead(61);
    test_read_ahead(4093);
    return T_DONE();
}
