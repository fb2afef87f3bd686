/* pcapng reader (see pcapng.h for what is read and why).
 *
 * Input goes through one window buffer: buf[pos..end) holds bytes read but
 * not yet consumed. A block is made contiguous in the window (fill) and
 * parsed in place, so a packet is handed over as a pointer into the window:
 * no allocation and no copy per packet. From a regular file (or a stream
 * without a descriptor: gzip, memory) the window is refilled a whole buffer
 * at a time; from a pipe only the bytes the next block needs are asked for,
 * so a live `dumpcap -w - | tlswatch -r -` sees each packet when it arrives.
 *
 * The part of a block that is not needed (options after a packet's data,
 * the body of a skipped block longer than the window) and its trailer are
 * consumed at the start of the next call, after the caller is done with
 * the packet: the window may move when it is refilled.
 *
 * A large regular file is read ahead on a second thread (readahead.h):
 * the window then moves from segment to segment as the thread fills them,
 * and only the start of a block cut by a segment's end is copied. */
#include "pcapng.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "bytes.h"
#include "readahead.h"

#define BT_SHB PCAPNG_MAGIC
#define BT_IDB 1u
#define BT_PB 2u  /* obsolete Packet Block */
#define BT_SPB 3u
#define BT_EPB 6u
/* The window: eight times capture.c's 256 KiB stdio buffer. glibc's fread
 * reads straight into the caller's memory only whole multiples of the stdio
 * buffer and sends the rest through it (a second copy), so a refill asks
 * for a multiple of STDIO_BLOCK, after moving what is left of the window
 * to its front when less than that is free (with refills of 256-512 KiB
 * every byte went through the stdio buffer too: 114 ms of CPU against
 * 88 ms to read a 450 MB capture; with any size, half of them did).
 * 2 MiB rather than 512 KiB: a system call costs 1-2 us on a VM, and a
 * 446 MB capture took 1,760 reads, now 304 (0.97 of the run's time; 4 MiB
 * gave the same). The window lies on the heap's huge pages (heap_setup). */
#define READ_CHUNK (2u << 20)
#define STDIO_BLOCK PCAPNG_STDIO_BUF
/* A regular file of at least RA_MIN_BYTES is read ahead on a second thread
 * (readahead.h) into RA_SEGS segments of RA_SEG_BYTES taken in turn, each
 * preceded by a guard of PCAPNG_MAX_BLOCK: the start of a block cut by a
 * segment's end (at most a block, the most fill() asks for) is copied into
 * the next segment's guard, just before it, so every block is contiguous
 * with no copy of the segments themselves. Three segments rather than two
 * let the reader keep one ahead when the analysis speeds up (three of
 * 1 MiB took 0.96-0.98 of the time of two of 1.5 MiB); 640 KiB rather than
 * 1 MiB costs about 2% and keeps 1.2 MiB of peak RSS (200,000 short
 * connections peaked at 32.0 MiB with 1 MiB segments, 30.9 with these).
 * The window lies on the heap's huge pages (heap_setup). */
#define RA_MIN_BYTES (8u << 20)
#define RA_SEGS 3
#define RA_SEG_BYTES (640u << 10)
#define RA_GUARD PCAPNG_MAX_BLOCK
static uint64_t ra_min_bytes = RA_MIN_BYTES;
static size_t ra_seg_bytes = RA_SEG_BYTES;

#define OPT_ENDOFOPT 0
#define OPT_IF_TSRESOL 9
#define OPT_IF_TSOFFSET 14

struct pcapng_if {
    uint32_t linktype, snaplen;
    int dlt;
    uint8_t tsresol;
    int64_t tsoffset;
};

struct pcapng {
    FILE *f;
    int lazy;          /* a pipe: read only what the next block needs */
    uint8_t *buf;
    size_t cap, pos, end;
    uint64_t base;     /* file offset of buf[0] */
    int big;           /* this section is big-endian */
    uint32_t section;
    struct pcapng_if *ifs;
    uint32_t nifs, ifcap, ifs_total;
    /* consumed at the start of the next call */
    uint64_t pend_skip;     /* bytes before the trailer */
    uint32_t pend_trailer;  /* the block length the trailer must repeat (0: none) */
    uint64_t pend_block;    /* that block's offset */
    /* read ahead on a second thread: planned at open, started by the first
     * fill past the headers (after the caller has dropped privileges) */
    int ra_on;
    struct readahead *ra;
    size_t ra_seg;
    int ra_taken;           /* a segment was taken (the window is in it) */
    struct timeval last_ts; /* for Simple Packet Blocks */
    uint64_t clamped;
    int failed;
    char err[200];
    /* a classic pcap file (libpcap's format) read through the same window */
    struct {
        int on;
        int nsec;          /* timestamps in nanoseconds */
        int lengths;       /* 0 as written; 1 swapped (2.2 and older); 2 swapped when caplen > len (2.3) */
        uint32_t hdrsize;  /* record header: 16, or 24 in Kuznetsov's patched format */
        uint32_t snapshot; /* the header's snaplen, made sane */
        uint32_t linktype;
        int dlt;
        int announced;     /* its one interface was handed over */
    } cl;
};

/* Section-endian reads (inlined: the record header of every packet goes
 * through them; each is a load and at most a byte swap). */
static inline uint16_t rd16(const struct pcapng *r, const uint8_t *p) { return r->big ? be16(p) : le16(p); }
static inline uint32_t rd32(const struct pcapng *r, const uint8_t *p) { return r->big ? be32(p) : le32(p); }

static uint64_t rd64(const struct pcapng *r, const uint8_t *p)
{
    uint64_t a = rd32(r, p), b = rd32(r, p + 4);
    return r->big ? a << 32 | b : b << 32 | a;
}

static uint64_t offset_of(const struct pcapng *r) { return r->base + r->pos; }

static int fail(struct pcapng *r, uint64_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct pcapng *r, uint64_t at, const char *fmt, ...)
{
    int n = snprintf(r->err, sizeof r->err, "%s at offset %llu: ", r->cl.on ? "record" : "block",
                     (unsigned long long)at);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof r->err) vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
    va_end(ap);
    r->failed = 1;
    return PCAPNG_ERROR;
}

/* --------------------------------------------------------------- input */

/* Makes n bytes (n <= PCAPNG_MAX_BLOCK) contiguous at buf+pos. 1: done;
 * 0: the file ends first (end - pos bytes are there); -1: read error. */
static int fill_more(struct pcapng *r, size_t n);
static inline int fill(struct pcapng *r, size_t n)
{
    if (r->end - r->pos >= n) return 1;
    return fill_more(r, n);
}

static int ra_fill(struct pcapng *r, size_t n);
static int fill_more(struct pcapng *r, size_t n)
{
    if (r->ra_on) return ra_fill(r, n);
    if (r->pos + n > r->cap || (!r->lazy && r->pos > 0 && r->cap - r->end < STDIO_BLOCK)) {
        memmove(r->buf, r->buf + r->pos, r->end - r->pos);
        r->base += r->pos;
        r->end -= r->pos;
        r->pos = 0;
    }
    if (n > r->cap) {
        uint8_t *nb = realloc(r->buf, n);
        if (!nb) return -1;
        r->buf = nb;
        r->cap = n;
    }
    while (r->end - r->pos < n) {
        size_t want = r->lazy ? n - (r->end - r->pos) : r->cap - r->end;
        if (!r->lazy && want >= STDIO_BLOCK && r->end - r->pos + want - want % STDIO_BLOCK >= n)
            want -= want % STDIO_BLOCK;
        size_t got = fread(r->buf + r->end, 1, want, r->f);
        r->end += got;
        if (got == 0) return ferror(r->f) ? -1 : 0;
    }
    return 1;
}

/* The next record's or block's header and the packet headers after it,
 * asked for while the current packet is processed: the kernel's copy into
 * the window does not leave them in the cache (each record's first touch
 * was a cache miss, about a sixth of the reader's time). */
static inline void prefetch_next(const struct pcapng *r)
{
    if (r->end - r->pos < 128) return;
    __builtin_prefetch(r->buf + r->pos);
    __builtin_prefetch(r->buf + r->pos + 64);
}

/* Consumes n bytes, reading (and dropping) what is not in the window yet.
 * 1: done; 0: the file ends first; -1: read error. */
static int skip(struct pcapng *r, uint64_t n)
{
    size_t have = r->end - r->pos;
    while (r->ra_on && n > have) { /* through the segments: the reader reads them anyway */
        n -= have;
        r->pos = r->end;
        int rc = ra_fill(r, 1);
        if (rc != 1) return rc;
        have = r->end - r->pos;
    }
    if (n <= have) {
        r->pos += (size_t)n;
        return 1;
    }
    n -= have;
    r->base += r->end;
    r->pos = r->end = 0;
    while (n > 0) {
        size_t want = n < r->cap ? (size_t)n : r->cap;
        size_t got = fread(r->buf, 1, want, r->f);
        r->base += got;
        n -= got;
        if (got == 0) return ferror(r->f) ? -1 : 0;
    }
    return 1;
}

/* The reader thread, started at the first fill past the headers: what is
 * left of the window (less than a block) moves to the front of the first
 * guard, before the thread may write the first segment. Returns 0, or -1
 * when no thread could be started (the file is then read here). */
static int ra_begin(struct pcapng *r)
{
    size_t rem = r->end - r->pos;
    off_t off = ftello(r->f);
    if (rem > RA_GUARD || off < 0) goto alone;
    memmove(r->buf, r->buf + r->pos, rem);
    r->base += r->pos;
    r->pos = 0;
    r->end = rem;
    uint8_t *seg[RA_SEGS];
    for (int i = 0; i < RA_SEGS; i++) seg[i] = r->buf + RA_GUARD + (size_t)i * (RA_GUARD + r->ra_seg);
    r->ra = readahead_start(fileno(r->f), off, seg, RA_SEGS, r->ra_seg);
    if (r->ra) return 0;
alone:
    r->ra_on = 0;
    r->lazy = 0;
    return -1;
}

/* fill_more() for a file read ahead: the window moves to the next segment
 * with the start of a cut block copied into the guard just before it, and
 * the segment it was in goes back to the reader. */
static int ra_fill(struct pcapng *r, size_t n)
{
    if (!r->ra && ra_begin(r) != 0) return fill_more(r, n);
    if (n > RA_GUARD) {
        errno = EINVAL;
        return -1;
    }
    while (r->end - r->pos < n) {
        uint8_t *d;
        ssize_t len = readahead_take(r->ra, &d);
        if (len <= 0) return (int)len;
        size_t rem = r->end - r->pos;
        uint64_t off = r->base + r->end; /* the segment's offset in the file */
        memmove(d - rem, r->buf + r->pos, rem);
        if (r->ra_taken) readahead_release(r->ra);
        r->ra_taken = 1;
        r->pos = (size_t)(d - rem - r->buf);
        r->end = (size_t)(d + len - r->buf);
        r->base = off - (uint64_t)(d - r->buf);
    }
    return 1;
}

static int io_fail(struct pcapng *r, uint64_t at, int rc, const char *what)
{
    if (rc < 0) return fail(r, at, "%s: read error: %s", what, errno ? strerror(errno) : "I/O error");
    return fail(r, at, "%s: the file ends %llu bytes into it", what,
                (unsigned long long)(r->base + r->end - at));
}

/* --------------------------------------------------------------- timestamps */

static const uint64_t pow10_tab[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
    1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
    100000000000000ull, 1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
    1000000000000000000ull, 10000000000000000000ull,
};

/* floor(x * 10^6 / 2^e) for e >= 32, without 128-bit arithmetic:
 * x * 10^6 = hi * 2^32 + lo with lo < 2^32, and the floor of that over
 * 2^e (e >= 32) is floor(hi / 2^(e-32)). */
static uint64_t mul_1e6_shr(uint64_t x, unsigned e)
{
    uint64_t a = (x >> 32) * 1000000u, b = (x & 0xffffffffu) * 1000000u;
    uint64_t hi = a + (b >> 32);
    return e - 32 >= 64 ? 0 : hi >> (e - 32);
}

int pcapng_ts_to_timeval(uint64_t ts, uint8_t tsresol, int64_t tsoffset, struct timeval *tv)
{
    unsigned e = tsresol & 0x7f;
    uint64_t sec, usec;
    if (!(tsresol & 0x80)) { /* 10^-e */
        if (e <= 6) {
            sec = ts / pow10_tab[e];
            usec = ts % pow10_tab[e] * pow10_tab[6 - e];
        } else if (e <= 19) {
            sec = ts / pow10_tab[e];
            usec = ts % pow10_tab[e] / pow10_tab[e - 6];
        } else { /* 10^e > 2^64 > ts */
            sec = 0;
            usec = e - 6 <= 19 ? ts / pow10_tab[e - 6] : 0;
        }
    } else { /* 2^-e */
        uint64_t rem;
        if (e < 64) {
            sec = ts >> e;
            rem = e == 0 ? 0 : ts & ((1ull << e) - 1);
        } else {
            sec = 0;
            rem = ts;
        }
        usec = e <= 44 ? (rem * 1000000u) >> e : mul_1e6_shr(rem, e);
    }
    /* seconds + offset, clamped to 0..PCAPNG_MAX_SEC (s = -1: below, MAX+1: above) */
    int clamped = 0;
    int64_t s;
    if (tsoffset >= 0) {
        if (sec > (uint64_t)PCAPNG_MAX_SEC || (uint64_t)tsoffset > (uint64_t)PCAPNG_MAX_SEC - sec)
            s = PCAPNG_MAX_SEC + 1;
        else
            s = (int64_t)(sec + (uint64_t)tsoffset);
    } else {
        uint64_t back = (uint64_t)(-(tsoffset + 1)) + 1; /* |tsoffset|, also for INT64_MIN */
        if (sec < back) s = -1;
        else if (sec - back > (uint64_t)PCAPNG_MAX_SEC) s = PCAPNG_MAX_SEC + 1;
        else s = (int64_t)(sec - back);
    }
    if (s < 0) {
        s = 0;
        usec = 0;
        clamped = 1;
    } else if (s > PCAPNG_MAX_SEC) {
        s = PCAPNG_MAX_SEC;
        usec = 999999;
        clamped = 1;
    }
    tv->tv_sec = (time_t)s;
    tv->tv_usec = (suseconds_t)usec;
    return clamped;
}

/* A packet's timestamp in one 16-byte store: the layers above copy the
 * timeval whole (one 16-byte load) right after, and a load that spans two
 * separate 8-byte stores still in the store buffer waits for them to
 * retire (a sixth of reasm_packet's samples sat on such a copy). */
static inline void put_tv(struct timeval *tv, time_t sec, suseconds_t usec)
{
#if defined(__SSE2__) && defined(__x86_64__)
    _Static_assert(sizeof(struct timeval) == 16 && sizeof(time_t) == 8 && sizeof(suseconds_t) == 8,
                   "timeval as two 64-bit words");
    _mm_storeu_si128((__m128i *)(void *)tv, _mm_set_epi64x((long long)usec, (long long)sec));
#else
    tv->tv_sec = sec;
    tv->tv_usec = usec;
#endif
}

static void set_ts(struct pcapng *r, const struct pcapng_if *ifc, uint64_t ts, struct timeval *tv)
{
    if (ifc->tsresol == 6 && ifc->tsoffset == 0 && ts / 1000000u <= (uint64_t)PCAPNG_MAX_SEC) {
        put_tv(tv, (time_t)(ts / 1000000u), (suseconds_t)(ts % 1000000u)); /* the usual case */
        return;
    }
    r->clamped += (uint64_t)pcapng_ts_to_timeval(ts, ifc->tsresol, ifc->tsoffset, tv);
}

/* --------------------------------------------------------------- link types */

int pcapng_linktype_to_dlt(uint32_t lt)
{
    switch (lt) {
    case 101: return DLT_RAW; /* LINKTYPE_RAW */
#ifdef DLT_ATM_RFC1483
    case 100: return DLT_ATM_RFC1483;
#endif
#ifdef DLT_SLIP_BSDOS
    case 102: return DLT_SLIP_BSDOS;
#endif
#ifdef DLT_PPP_BSDOS
    case 103: return DLT_PPP_BSDOS;
#endif
#ifdef DLT_LOOP
    case 108: return DLT_LOOP;
#endif
    default: return (int)lt;
    }
}

/* --------------------------------------------------------------- blocks */

/* Section Header Block at pos, its first 12 bytes in the window: sets the
 * byte order, checks the version, starts a new interface list. */
static int section_header(struct pcapng *r, uint64_t at, uint32_t *len)
{
    const uint8_t *b = r->buf + r->pos;
    if (memcmp(b + 8, "\x1a\x2b\x3c\x4d", 4) == 0) r->big = 1;
    else if (memcmp(b + 8, "\x4d\x3c\x2b\x1a", 4) == 0) r->big = 0;
    else return fail(r, at, "section header: byte-order magic %02x%02x%02x%02x is neither 1a2b3c4d nor 4d3c2b1a",
                     b[8], b[9], b[10], b[11]);
    *len = rd32(r, b + 4);
    if (*len < 28 || *len % 4)
        return fail(r, at, "section header: block length %u is %s", *len,
                    *len < 28 ? "shorter than a section header (28)" : "not a multiple of 4");
    int rc = fill(r, 16);
    if (rc != 1) return io_fail(r, at, rc, "section header");
    b = r->buf + r->pos;
    uint16_t major = rd16(r, b + 12), minor = rd16(r, b + 14);
    if (major != 1) return fail(r, at, "section header: unsupported pcapng version %u.%u", major, minor);
    r->section++;
    r->nifs = 0;
    return 0;
}

/* Interface Description Block, whole in the window at pos. */
static int interface(struct pcapng *r, uint64_t at, uint32_t len, struct pcapng_pkt *p)
{
    const uint8_t *b = r->buf + r->pos;
    if (r->nifs >= PCAPNG_MAX_IFACES)
        return fail(r, at, "more than %u interfaces in section %u", PCAPNG_MAX_IFACES, r->section);
    struct pcapng_if ifc = { rd16(r, b + 8), rd32(r, b + 12), 0, 6, 0 };
    ifc.dlt = pcapng_linktype_to_dlt(ifc.linktype);
    const uint8_t *o = b + 16, *oend = b + len - 4;
    while (oend - o >= 4) {
        uint16_t code = rd16(r, o), olen = rd16(r, o + 2);
        if (code == OPT_ENDOFOPT) break;
        size_t padded = ((size_t)olen + 3) & ~(size_t)3;
        if (padded > (size_t)(oend - o) - 4)
            return fail(r, at, "interface %u: option %u (%u bytes) runs past its block", r->nifs, code, olen);
        if (code == OPT_IF_TSRESOL && olen >= 1) ifc.tsresol = o[4];
        else if (code == OPT_IF_TSOFFSET && olen >= 8) ifc.tsoffset = (int64_t)rd64(r, o + 4);
        o += 4 + padded;
    }
    if (r->nifs == r->ifcap) {
        uint32_t ncap = r->ifcap ? r->ifcap * 2 : 8;
        struct pcapng_if *n = realloc(r->ifs, ncap * sizeof *n);
        if (!n) return fail(r, at, "out of memory for interface %u", r->nifs);
        r->ifs = n;
        r->ifcap = ncap;
    }
    r->ifs[r->nifs++] = ifc;
    p->dlt = ifc.dlt;
    p->linktype = ifc.linktype;
    p->iface = r->ifs_total++;
    p->section = r->section;
    return PCAPNG_IFACE;
}

/* Minimum total length of a block of this type (12 for the others). */
static uint32_t min_len(uint32_t type)
{
    switch (type) {
    case BT_IDB: return 20;
    case BT_SPB: return 16;
    case BT_EPB: case BT_PB: return 32;
    default: return 12;
    }
}

/* A packet block whose first `head` bytes are in the window at pos: an
 * Enhanced or obsolete Packet Block (head 28) or a Simple one (head 12). */
static int packet(struct pcapng *r, uint64_t at, uint32_t type, uint32_t len, struct pcapng_pkt *p, size_t *need)
{
    const uint8_t *b = r->buf + r->pos;
    uint32_t ifid, caplen, origlen, room;
    size_t head;
    if (type == BT_SPB) {
        head = 12;
        ifid = 0;
        origlen = rd32(r, b + 8);
        room = len - 16;
        caplen = origlen < room ? origlen : room;
    } else {
        head = 28;
        ifid = type == BT_PB ? rd16(r, b + 8) : rd32(r, b + 8);
        caplen = rd32(r, b + 20);
        origlen = rd32(r, b + 24);
        room = len - 32;
        if (caplen > room)
            return fail(r, at, "captured length %u does not fit in block length %u", caplen, len);
    }
    if (ifid >= r->nifs)
        return fail(r, at, "packet of interface %u, but section %u defines %u interface%s", ifid, r->section,
                    r->nifs, r->nifs == 1 ? "" : "s");
    const struct pcapng_if *ifc = &r->ifs[ifid];
    if (type == BT_SPB && ifc->snaplen && caplen > ifc->snaplen) caplen = ifc->snaplen;
    if (caplen > PCAPNG_MAX_CAPLEN) caplen = PCAPNG_MAX_CAPLEN;
    if (origlen < caplen) origlen = caplen;
    *need = head + caplen;
    if (len <= PCAPNG_MAX_BLOCK) *need = len;
    int rc = fill(r, *need);
    if (rc != 1) return io_fail(r, at, rc, "packet block");
    b = r->buf + r->pos;
    if (type == BT_SPB) p->hdr.ts = r->last_ts;
    else set_ts(r, ifc, (uint64_t)rd32(r, b + 12) << 32 | rd32(r, b + 16), &p->hdr.ts);
    r->last_ts = p->hdr.ts;
    p->hdr.caplen = caplen;
    p->hdr.len = origlen;
    p->data = b + head;
    p->dlt = ifc->dlt;
    p->linktype = ifc->linktype;
    p->iface = r->ifs_total - r->nifs + ifid;
    p->section = r->section;
    return PCAPNG_PACKET;
}

/* What the previous call left of its block: skipped bytes, the trailer. */
static int finish_pending(struct pcapng *r)
{
    if (!r->pend_trailer) return 0;
    uint64_t at = r->pend_block;
    uint32_t want = r->pend_trailer;
    r->pend_trailer = 0;
    int rc = skip(r, r->pend_skip);
    if (rc == 1) rc = fill(r, 4);
    if (rc != 1) return io_fail(r, at, rc, "block");
    uint32_t got = rd32(r, r->buf + r->pos);
    if (got != want)
        return fail(r, at, "trailer length %u does not repeat the block length %u", got, want);
    r->pos += 4;
    return 0;
}

/* ------------------------------------------------------ classic pcap
 *
 * Read as libpcap 1.10 reads it (sf-pcap.c), but in place: the record
 * header and the packet are parsed in the window, no copy per packet.
 * Magic a1b2c3d4 (microseconds) or a1b23c4d (nanoseconds, truncated to
 * microseconds as libpcap does for a microsecond handle), either byte
 * order, and Kuznetsov's a1b2cd34 (8 more bytes per record header, skipped).
 * Version 2.x up to 2.4 (and 543.0): before 2.3 the captured and original
 * lengths were written swapped, in 2.3 maybe (swapped when caplen > len).
 * The link type's upper 6 bits (FCS length) are dropped. A snaplen of 0
 * or above PCAPNG_MAX_CAPLEN means PCAPNG_MAX_CAPLEN. A record whose
 * captured length is above PCAPNG_MAX_CAPLEN is an error (a damaged file);
 * one above the snaplen but not above the maximum is cut to the snaplen,
 * the rest skipped, as libpcap does. */
#define CL_MAGIC_US 0xa1b2c3d4u
#define CL_MAGIC_NS 0xa1b23c4du
#define CL_MAGIC_KUZ 0xa1b2cd34u

/* The first 4 bytes: 1 a classic pcap magic (sets the byte order), else 0. */
static int cl_magic(struct pcapng *r, const uint8_t *b)
{
    uint32_t le = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    uint32_t be = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
    uint32_t m = le == CL_MAGIC_US || le == CL_MAGIC_NS || le == CL_MAGIC_KUZ ? le : be;
    if (m != CL_MAGIC_US && m != CL_MAGIC_NS && m != CL_MAGIC_KUZ) return 0;
    r->big = m == be;
    r->cl.nsec = m == CL_MAGIC_NS;
    r->cl.hdrsize = m == CL_MAGIC_KUZ ? 24 : 16;
    return 1;
}

/* The 24-byte file header, in the window at pos. */
static int cl_header(struct pcapng *r)
{
    const uint8_t *b = r->buf + r->pos;
    uint16_t major = rd16(r, b + 4), minor = rd16(r, b + 6);
    if (major < 2) return fail(r, 0, "file header: archaic pcap version %u.%u", major, minor);
    if (!(major == 2 && minor <= 4) && !(major == 543 && minor == 0))
        return fail(r, 0, "file header: unsupported pcap version %u.%u", major, minor);
    r->cl.lengths = major == 2 && minor < 3 ? 1 : major == 2 && minor == 3 ? 2 : 0;
    uint32_t snap = rd32(r, b + 16);
    r->cl.snapshot = snap == 0 || snap > PCAPNG_MAX_CAPLEN ? PCAPNG_MAX_CAPLEN : snap;
    r->cl.linktype = rd32(r, b + 20) & 0x03FFFFFFu;
    r->cl.dlt = pcapng_linktype_to_dlt(r->cl.linktype);
    r->cl.on = 1;
    r->section = 1;
    r->pos += 24;
    return 0;
}

static int cl_next(struct pcapng *r, struct pcapng_pkt *p)
{
    p->linktype = r->cl.linktype;
    p->dlt = r->cl.dlt;
    p->iface = 0;
    p->section = 1;
    if (!r->cl.announced) {
        r->cl.announced = 1;
        r->ifs_total = 1;
        return PCAPNG_IFACE;
    }
    if (r->failed) return PCAPNG_ERROR;
    if (r->pend_skip) { /* the rest of a record cut to the snaplen */
        uint64_t at = r->pend_block, n = r->pend_skip;
        r->pend_skip = 0;
        int rc = skip(r, n);
        if (rc != 1) return io_fail(r, at, rc, "record");
    }
    uint64_t at = offset_of(r);
    uint32_t hs = r->cl.hdrsize;
    int rc = fill(r, hs);
    if (rc == 0 && r->end == r->pos) return PCAPNG_END;
    if (rc != 1) return io_fail(r, at, rc, "record header");
    const uint8_t *b = r->buf + r->pos;
    uint32_t sec = rd32(r, b), frac = rd32(r, b + 4), caplen = rd32(r, b + 8), len = rd32(r, b + 12);
    if (r->cl.lengths == 1 || (r->cl.lengths == 2 && caplen > len)) {
        uint32_t t = caplen;
        caplen = len;
        len = t;
    }
    if (caplen > PCAPNG_MAX_CAPLEN)
        return fail(r, at, "captured length %u is more than the maximum of %u", caplen, PCAPNG_MAX_CAPLEN);
    uint32_t take = caplen <= r->cl.snapshot ? caplen : r->cl.snapshot;
    rc = fill(r, hs + take);
    if (rc < 0) return io_fail(r, at, rc, "record");
    if (rc == 0)
        return fail(r, at, "the file ends %llu bytes into the record (%u header + %u captured bytes)",
                    (unsigned long long)(r->base + r->end - at), hs, take);
    b = r->buf + r->pos;
    uint32_t usec = r->cl.nsec ? frac / 1000u : frac;
    put_tv(&p->hdr.ts, (time_t)sec + (time_t)(usec / 1000000u), (suseconds_t)(usec % 1000000u));
    p->hdr.caplen = take;
    p->hdr.len = len >= caplen ? len : caplen; /* as for pcapng: never less than was captured */
    p->data = b + hs;
    r->pos += hs + take;
    if (take < caplen) {
        r->pend_block = at;
        r->pend_skip = caplen - take;
    }
    prefetch_next(r);
    return PCAPNG_PACKET;
}

int pcapng_next(struct pcapng *r, struct pcapng_pkt *p)
{
    if (r->cl.on) return cl_next(r, p);
    for (;;) {
        if (r->failed || finish_pending(r)) return PCAPNG_ERROR;
        uint64_t at = offset_of(r);
        int rc = fill(r, 12);
        if (rc == 0 && r->end == r->pos) return PCAPNG_END;
        if (rc != 1) return io_fail(r, at, rc, "block header");
        const uint8_t *b = r->buf + r->pos;
        uint32_t type = rd32(r, b), len;
        if (type == BT_SHB) {
            if (section_header(r, at, &len)) return PCAPNG_ERROR;
        } else {
            len = rd32(r, b + 4);
            if (len % 4 || len < min_len(type))
                return fail(r, at, "block type 0x%08x: length %u is %s", type, len,
                            len % 4 ? "not a multiple of 4" : "shorter than the block's minimum");
        }
        if (!r->section) return fail(r, at, "block type 0x%08x before the first section header", type);
        size_t need = len <= PCAPNG_MAX_BLOCK ? len : 12;
        int res = 0;
        if (type == BT_IDB) {
            if (len > PCAPNG_MAX_BLOCK)
                return fail(r, at, "interface block of %u bytes (more than %u)", len, PCAPNG_MAX_BLOCK);
            rc = fill(r, len);
            if (rc != 1) return io_fail(r, at, rc, "interface block");
            res = interface(r, at, len, p);
        } else if (type == BT_EPB || type == BT_PB || type == BT_SPB) {
            rc = fill(r, type == BT_SPB ? 12 : 28);
            if (rc != 1) return io_fail(r, at, rc, "packet block");
            res = packet(r, at, type, len, p, &need);
        } else if (need > 12) {
            rc = fill(r, need); /* small skipped block: whole, so its trailer is checked here */
            if (rc != 1) return io_fail(r, at, rc, "block");
        }
        if (res < 0) return PCAPNG_ERROR;
        r->pos += need;
        if (need == len) {
            uint32_t tr = rd32(r, r->buf + r->pos - 4);
            if (tr != len) return fail(r, at, "trailer length %u does not repeat the block length %u", tr, len);
        } else {
            r->pend_block = at;
            r->pend_skip = (uint64_t)len - need - 4;
            r->pend_trailer = len;
        }
        if (res > 0) {
            if (need == len) prefetch_next(r);
            return res;
        }
    }
}

/* --------------------------------------------------------------- open/close */

int pcapng_is_magic(const uint8_t *b)
{
    return b[0] == 0x0a && b[1] == 0x0d && b[2] == 0x0d && b[3] == 0x0a;
}

int pcapng_reads_first_byte(int c)
{
    /* pcapng: 0a0d0d0a; classic pcap: a1b2c3d4, a1b23c4d, a1b2cd34
     * big-endian, d4/4d/34 first little-endian */
    return c == 0x0a || c == 0xa1 || c == 0xd4 || c == 0x4d || c == 0x34;
}

void pcapng_readahead(uint64_t min_bytes, size_t seg_bytes)
{
    ra_min_bytes = min_bytes;
    ra_seg_bytes = seg_bytes ? seg_bytes : RA_SEG_BYTES;
}

struct pcapng *pcapng_open(FILE *f, char *err, size_t errlen)
{
    struct pcapng *r = calloc(1, sizeof *r);
    struct stat st;
    int fd = fileno(f);
    int regular = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    off_t at = regular ? ftello(f) : -1;
    int ahead = at >= 0 && st.st_size > at && readahead_worth((uint64_t)(st.st_size - at), ra_min_bytes);
    if (r) {
        r->ra_seg = ra_seg_bytes;
        r->cap = ahead ? RA_SEGS * (RA_GUARD + r->ra_seg) : READ_CHUNK;
        r->buf = malloc(r->cap);
    }
    if (!r || !r->buf) {
        if (r) free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->f = f;
    /* a pipe, or a file about to be read ahead: the headers are read a
     * block at a time, so the reader thread starts just past them */
    r->lazy = (fd >= 0 && !regular) || ahead;
    /* the first block must be a section header; read it now, so that a
     * file that is no pcapng is reported as unreadable, not as damaged */
    int rc = fill(r, 4);
    if (rc == 1 && cl_magic(r, r->buf)) {
        rc = fill(r, 24);
        if (rc != 1) {
            snprintf(err, errlen, "%s", rc < 0 ? strerror(errno ? errno : EIO) : "file ends inside the pcap file header");
        } else if (cl_header(r) == 0) {
            r->ra_on = ahead;
            return r;
        } else {
            snprintf(err, errlen, "%s", r->err);
        }
        pcapng_close(r);
        return NULL;
    }
    if (rc == 1) rc = fill(r, 12);
    if (rc != 1 || !pcapng_is_magic(r->buf)) {
        snprintf(err, errlen, "%s", rc < 0 ? strerror(errno ? errno : EIO)
                                            : rc == 0 ? "file ends inside the pcapng section header"
                                                      : "not a pcapng or pcap file");
        pcapng_close(r);
        return NULL;
    }
    uint32_t len;
    if (section_header(r, 0, &len) == 0) {
        r->pos += 16;
        r->pend_block = 0;
        r->pend_skip = (uint64_t)len - 16 - 4;
        r->pend_trailer = len;
        if (finish_pending(r) == 0) {
            r->ra_on = ahead;
            return r;
        }
    }
    snprintf(err, errlen, "%s", r->err);
    pcapng_close(r);
    return NULL;
}

const char *pcapng_error(const struct pcapng *r) { return r->err; }
uint32_t pcapng_ifaces(const struct pcapng *r) { return r->ifs_total; }
uint64_t pcapng_ts_clamped(const struct pcapng *r) { return r->clamped; }
int pcapng_reading_ahead(const struct pcapng *r) { return r->ra != NULL; }

void pcapng_close(struct pcapng *r)
{
    if (!r) return;
    readahead_stop(r->ra);
    free(r->ifs);
    free(r->buf);
    free(r);
}
