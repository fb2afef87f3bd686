/* Capture loop. Offline files are read with pcap_next_ex so a read error
 * (truncated or corrupt file) is reported with the packet number and every
 * packet before it has already been processed. Live capture uses
 * pcap_create so snaplen, buffer size, promiscuous mode and timeout can all
 * be set before activation; it reads without blocking and polls with its
 * own timeout, so timers advance on a quiet link. */
#include "capture.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_packet.h>
#include <sys/socket.h>
#include <zlib.h>

#include "decode.h"
#include "pcapng.h"
#include "xalloc.h"

static volatile sig_atomic_t stop_requested;
static pcap_t *volatile live_handle;

void capture_request_stop(void)
{
    stop_requested = 1;
    pcap_t *p = live_handle;
    if (p) pcap_breakloop(p);
}

static int drop_privileges(const char *user)
{
    if (!user) return 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        fprintf(stderr, "tlswatch: --user %s: no such user\n", user);
        return 2;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        fprintf(stderr, "tlswatch: --user %s: cannot drop privileges: %s\n", user, strerror(errno));
        return 1;
    }
    return 0;
}

static int apply_filter(pcap_t *p, const char *filter, const char *source)
{
    if (!filter || !*filter) return 0;
    struct bpf_program prog;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        fprintf(stderr, "tlswatch: bad filter \"%s\": %s\n", filter, pcap_geterr(p));
        return 2;
    }
    int rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        fprintf(stderr, "tlswatch: %s: cannot set filter: %s\n", source, pcap_geterr(p));
        return 1;
    }
    return 0;
}

static uint64_t wrap_delta(unsigned int now, unsigned int *last)
{
    unsigned int d = now - *last; /* modulo 2^32: survives counter wrap */
    *last = now;
    return d;
}

static unsigned int last_drop, last_ifdrop;

void capture_update_stats(struct capture_stats *st)
{
    pcap_t *p = live_handle;
    struct pcap_stat ps;
    if (!p || pcap_stats(p, &ps) != 0) return;
    st->kernel_drop += wrap_delta(ps.ps_drop, &last_drop);
    st->if_drop += wrap_delta(ps.ps_ifdrop, &last_ifdrop);
}

/* gzip-compressed captures (as some projects ship them) are read through a
 * stdio cookie over zlib's inflate, so libpcap sees an ordinary stream. Our
 * own inflate loop (not gzread) hands up every byte decompressed before a
 * damaged spot, and keeps zlib's reason (truncated stream, bad CRC) to
 * report instead of libpcap's stale errno. Concatenated members are read
 * in turn; bytes after the last member that are not gzip are ignored. */
struct gzsrc {
    FILE *raw;
    z_stream z;
    int eof_in, done, failed;
    char msg[160];
    unsigned char in[65536];
};

static void gz_fail(struct gzsrc *g, const char *what)
{
    if (g->failed) return;
    g->failed = 1;
    snprintf(g->msg, sizeof g->msg, "gzip: %s", what);
}

/* More compressed input when inflate has used all it had. */
static void gz_fill(struct gzsrc *g)
{
    if (g->z.avail_in > 0 || g->eof_in) return;
    size_t n = fread(g->in, 1, sizeof g->in, g->raw);
    if (n == 0) {
        if (ferror(g->raw)) gz_fail(g, strerror(errno ? errno : EIO));
        g->eof_in = 1;
    }
    g->z.next_in = g->in;
    g->z.avail_in = (unsigned)n;
}

static ssize_t gz_read(void *cookie, char *buf, size_t size)
{
    struct gzsrc *g = cookie;
    if (g->done) return 0;
    if (g->failed) {
        errno = EIO;
        return -1;
    }
    g->z.next_out = (unsigned char *)buf;
    g->z.avail_out = size > 1u << 30 ? 1u << 30 : (unsigned)size;
    unsigned want = g->z.avail_out;
    while (g->z.avail_out > 0 && !g->failed && !g->done) {
        gz_fill(g);
        int ret = inflate(&g->z, Z_NO_FLUSH);
        if (ret == Z_STREAM_END) {
            gz_fill(g); /* another member follows? */
            if (g->failed) break;
            if (g->z.avail_in >= 2 && g->z.next_in[0] == 0x1f && g->z.next_in[1] == 0x8b) inflateReset(&g->z);
            else g->done = 1;
        } else if (ret == Z_DATA_ERROR) {
            gz_fail(g, g->z.msg ? g->z.msg : "data error");
        } else if (ret == Z_MEM_ERROR) {
            gz_fail(g, "out of memory");
        } else if (ret == Z_NEED_DICT || ret == Z_STREAM_ERROR) {
            gz_fail(g, "not a gzip stream");
        } else if (ret == Z_BUF_ERROR && g->eof_in && g->z.avail_in == 0) {
            gz_fail(g, "stream truncated (unexpected end of file)");
        }
    }
    unsigned got = want - g->z.avail_out;
    if (got > 0) return got; /* an error is reported by the next read */
    if (g->failed) {
        errno = EIO;
        return -1;
    }
    return 0;
}

static int gz_close(void *cookie)
{
    struct gzsrc *g = cookie;
    inflateEnd(&g->z);
    int rc = fclose(g->raw);
    free(g);
    return rc;
}

static int is_gzip(const char *name)
{
    if (strcmp(name, "-") == 0) return 0;
    FILE *f = fopen(name, "rb");
    if (!f) return 0;
    unsigned char m[2] = {0, 0};
    size_t n = fread(m, 1, 2, f);
    fclose(f);
    return n == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

/* Capture files are read through stdio in 256 KiB blocks: libpcap's own
 * fopen reads st_blksize (4 KiB) at a time, a system call per 4 KiB (a
 * third of a bulk capture's reading time on a VM). Files are read one at
 * a time, so one buffer serves them all. */
static char *rd_buf;

static FILE *open_plain(const char *name, char *err)
{
    FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
    if (!f) {
        snprintf(err, PCAP_ERRBUF_SIZE, "%s: %s", name, strerror(errno));
        return NULL;
    }
    if (!rd_buf) rd_buf = xmalloc(PCAPNG_STDIO_BUF);     /* on the heap's huge pages (heap_setup) */
    setvbuf(f, rd_buf, _IOFBF, PCAPNG_STDIO_BUF);
    return f;
}

/* The capture as a stream: the file, stdin, or the file through zlib. */
static FILE *open_stream(const char *name, char *err, struct gzsrc **gzp)
{
    *gzp = NULL;
    if (!is_gzip(name)) return open_plain(name, err);
    struct gzsrc *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, PCAP_ERRBUF_SIZE, "out of memory");
        return NULL;
    }
    g->raw = fopen(name, "rb");
    if (!g->raw || inflateInit2(&g->z, 15 + 16) != Z_OK) {
        snprintf(err, PCAP_ERRBUF_SIZE, "cannot open gzip stream: %s", g->raw ? "zlib init failed" : strerror(errno));
        if (g->raw) fclose(g->raw);
        free(g);
        return NULL;
    }
    cookie_io_functions_t io = { .read = gz_read, .close = gz_close };
    FILE *f = fopencookie(g, "rb", io);
    if (!f) {
        snprintf(err, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
        gz_close(g);
        return NULL;
    }
    *gzp = g;
    return f;
}

static void close_stream(FILE *f)
{
    if (f != stdin) fclose(f);
}

static int cannot_read(const char *name, const char *label, const char *err)
{
    size_t nl = strlen(name);
    const char *why = strncmp(err, name, nl) == 0 && err[nl] == ':' ? err + nl + 2 : err;
    fprintf(stderr, "tlswatch: %s: cannot read capture: %s\n", label, why);
    return 1;
}

static int run_pcap(FILE *f, const char *name, const char *label, struct gzsrc *gz, const struct capture_opts *o,
                    const struct capture_cbs *cbs, struct capture_stats *st, int *privs_dropped)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, err);
    if (!p) {
        if (gz && gz->failed) snprintf(err, PCAP_ERRBUF_SIZE, "%s", gz->msg);
        close_stream(f);
        return cannot_read(name, label, err);
    }
    if (!*privs_dropped) {
        int rc = drop_privileges(o->user);
        if (rc) { pcap_close(p); return rc; }
        *privs_dropped = 1;
    }
    int dlt = pcap_datalink(p);
    if (!decode_link_supported(dlt)) {
        fprintf(stderr, "tlswatch: %s: unsupported link type %d (%s)\n", label, dlt,
                decode_link_name(dlt));
        pcap_close(p);
        return 1;
    }
    int rc = apply_filter(p, o->filter, label);
    if (rc) {
        pcap_close(p);
        return rc;
    }
    uint64_t n = 0;
    struct pcap_pkthdr *h;
    const u_char *data;
    int r = 0;
    while (!stop_requested && (r = pcap_next_ex(p, &h, &data)) >= 0) {
        if (r == 0) continue;
        n++;
        st->packets++;
        st->bytes += h->len;
        struct capture_pkt cp = { h, data, dlt, label, n };
        cbs->packet(cbs->ctx, &cp);
    }
    if (!stop_requested && (r == PCAP_ERROR || (gz && gz->failed))) {
        fprintf(stderr, "tlswatch: %s: packet %llu: read error: %s (%llu good packets before it were analysed)\n",
                label, (unsigned long long)(n + 1), gz && gz->failed ? gz->msg : pcap_geterr(p),
                (unsigned long long)n);
        pcap_close(p);
        return 1;
    }
    pcap_close(p);
    return 0;
}

/* The BPF filter of a pcapng file, compiled once per distinct link type of
 * its interfaces (libpcap compiles for one link type per handle). */
#define MAX_LINK_FILTERS 32
struct link_filter {
    int dlt;
    int ok; /* compiled; else that link type's packets are skipped */
    struct bpf_program prog;
};

struct ng_filters {
    struct link_filter f[MAX_LINK_FILTERS];
    size_t n;
    size_t last; /* cache: the slot of the previous packet */
};

static struct link_filter *ng_filter_find(struct ng_filters *nf, int dlt)
{
    if (nf->last < nf->n && nf->f[nf->last].dlt == dlt) return &nf->f[nf->last];
    for (size_t i = 0; i < nf->n; i++)
        if (nf->f[i].dlt == dlt) {
            nf->last = i;
            return &nf->f[i];
        }
    return NULL;
}

/* A new interface: compiles the filter for its link type if that is new.
 * 0, or 2 when the filter compiles for no link type of the file's first
 * supported interface (a bad filter, as for a pcap file). */
static int ng_filter_add(struct ng_filters *nf, const char *filter, const char *label, const struct pcapng_pkt *pk)
{
    if (ng_filter_find(nf, pk->dlt) || !decode_link_supported(pk->dlt)) return 0;
    char why[PCAP_ERRBUF_SIZE] = "too many link types in one file";
    struct link_filter lf = { pk->dlt, 0, { 0, NULL } };
    pcap_t *dead = nf->n < MAX_LINK_FILTERS ? pcap_open_dead(pk->dlt, PCAPNG_MAX_CAPLEN) : NULL;
    if (dead) {
        lf.ok = pcap_compile(dead, &lf.prog, filter, 1, PCAP_NETMASK_UNKNOWN) == 0;
        if (!lf.ok) snprintf(why, sizeof why, "%s", pcap_geterr(dead));
        pcap_close(dead);
    } else if (nf->n < MAX_LINK_FILTERS) {
        snprintf(why, sizeof why, "out of memory");
    }
    if (!lf.ok && nf->n == 0) {
        fprintf(stderr, "tlswatch: bad filter \"%s\": %s\n", filter, why);
        return 2;
    }
    if (!lf.ok)
        fprintf(stderr, "tlswatch: %s: filter \"%s\" cannot be compiled for link type %d (%s) of interface %u: %s; "
                "its packets are skipped\n", label, filter, pk->dlt, decode_link_name(pk->dlt), pk->iface, why);
    if (nf->n < MAX_LINK_FILTERS) nf->f[nf->n++] = lf;
    return 0;
}

static void ng_filters_free(struct ng_filters *nf)
{
    for (size_t i = 0; i < nf->n; i++)
        if (nf->f[i].ok) pcap_freecode(&nf->f[i].prog);
}

/* A pcapng file through our reader: each packet with its own interface's
 * link type and timestamp resolution. Packets are numbered as in the file
 * (Wireshark's frame numbers), filtered or not. */
static int run_pcapng(FILE *f, const char *name, const char *label, struct gzsrc *gz, const struct capture_opts *o,
                      const struct capture_cbs *cbs, struct capture_stats *st, int *privs_dropped)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    struct pcapng *r = pcapng_open(f, err, sizeof err);
    if (!r) {
        if (gz && gz->failed) snprintf(err, sizeof err, "%s", gz->msg);
        close_stream(f);
        return cannot_read(name, label, err);
    }
    int rc = 0;
    if (!*privs_dropped) {
        rc = drop_privileges(o->user);
        *privs_dropped = rc == 0;
    }
    const char *filter = o->filter && *o->filter ? o->filter : NULL;
    struct ng_filters nf;
    nf.n = nf.last = 0;
    uint64_t n = 0;
    int res = PCAPNG_END, supported = 0;
    int first_dlt = -1;
    struct pcapng_pkt pk;
    while (!rc && !stop_requested && (res = pcapng_next(r, &pk)) > 0) {
        if (res == PCAPNG_IFACE) {
            if (first_dlt < 0) first_dlt = pk.dlt;
            if (decode_link_supported(pk.dlt)) supported = 1;
            if (filter) rc = ng_filter_add(&nf, filter, label, &pk);
            continue;
        }
        n++;
        if (filter) {
            const struct link_filter *lf = ng_filter_find(&nf, pk.dlt);
            if (lf && (!lf->ok || !pcap_offline_filter(&lf->prog, &pk.hdr, pk.data))) continue;
        }
        st->packets++;
        st->bytes += pk.hdr.len;
        struct capture_pkt cp = { &pk.hdr, pk.data, pk.dlt, label, n };
        cbs->packet(cbs->ctx, &cp);
    }
    if (!rc && !stop_requested) {
        if (res == PCAPNG_ERROR || (gz && gz->failed)) {
            fprintf(stderr, "tlswatch: %s: packet %llu: read error: %s (%llu good packets before it were analysed)\n",
                    label, (unsigned long long)(n + 1), gz && gz->failed ? gz->msg : pcapng_error(r),
                    (unsigned long long)n);
            rc = 1;
        } else if (pcapng_ifaces(r) == 0) {
            fprintf(stderr, "tlswatch: %s: cannot read capture: no interface description block\n", label);
            rc = 1;
        } else if (!supported) {
            fprintf(stderr, "tlswatch: %s: unsupported link type %d (%s)\n", label, first_dlt,
                    decode_link_name(first_dlt));
            rc = 1;
        }
    }
    ng_filters_free(&nf);
    pcapng_close(r);
    close_stream(f);
    return rc;
}

static int run_file(const char *name, const struct capture_opts *o, const struct capture_cbs *cbs,
                    struct capture_stats *st, int *privs_dropped)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    const char *label = strcmp(name, "-") == 0 ? "(stdin)" : name;
    struct gzsrc *gz;
    FILE *f = open_stream(name, err, &gz);
    if (!f) return cannot_read(name, label, err);
    /* pcapng (first block a Section Header Block, 0x0A...) and classic
     * pcap go to our own reader, which hands each packet over in place
     * (libpcap copies every packet twice: into stdio's buffer, then into
     * its own); anything else to libpcap, which names what it is not. One
     * byte of look-ahead, pushed back, works on stdin and on the gzip
     * stream alike. */
    int c = getc(f);
    if (c != EOF) ungetc(c, f);
    if (pcapng_reads_first_byte(c)) return run_pcapng(f, name, label, gz, o, cbs, st, privs_dropped);
    return run_pcap(f, name, label, gz, o, cbs, st, privs_dropped);
}

static int set_or_fail(int rc, pcap_t *p, const char *what, const char *iface)
{
    if (rc == 0) return 0;
    fprintf(stderr, "tlswatch: %s: cannot set %s: %s\n", iface, what, pcap_geterr(p));
    return 1;
}

/* Live packets: at most LIVE_BATCH per pcap_dispatch() so the timers
 * run between batches on a busy link too. */
#define LIVE_BATCH 256
#define LIVE_POLL_MS 200

struct live_ctx {
    const struct capture_cbs *cbs;
    struct capture_stats *st;
    int dlt;
    const char *iface;
    uint64_t n;
};

static void live_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct live_ctx *lc = (struct live_ctx *)user;
    lc->n++;
    lc->st->packets++;
    lc->st->bytes += h->len;
    struct capture_pkt cp = { h, data, lc->dlt, lc->iface, lc->n };
    lc->cbs->packet(lc->cbs->ctx, &cp);
}

static int run_live(const struct capture_opts *o, const struct capture_cbs *cbs,
                    struct capture_stats *st)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(o->iface, err);
    if (!p) {
        fprintf(stderr, "tlswatch: %s: cannot open interface: %s\n", o->iface, err);
        return 1;
    }
    int rc = set_or_fail(pcap_set_snaplen(p, o->snaplen > 0 ? o->snaplen : 262144), p, "snaplen", o->iface);
    if (!rc) rc = set_or_fail(pcap_set_promisc(p, o->promisc), p, "promiscuous mode", o->iface);
    if (!rc) rc = set_or_fail(pcap_set_timeout(p, o->timeout_ms > 0 ? o->timeout_ms : 250), p, "timeout", o->iface);
    if (!rc && o->buffer_mb > 0)
        rc = set_or_fail(pcap_set_buffer_size(p, o->buffer_mb * 1024 * 1024), p, "buffer size", o->iface);
    if (rc) { pcap_close(p); return rc; }
    int act = pcap_activate(p);
    if (act < 0) {
        fprintf(stderr, "tlswatch: %s: cannot start capture: %s\n", o->iface,
                act == PCAP_ERROR ? pcap_geterr(p) : pcap_statustostr(act));
        pcap_close(p);
        return 1;
    }
    if (act > 0)
        fprintf(stderr, "tlswatch: %s: warning: %s\n", o->iface, pcap_statustostr(act));
    int dlt = pcap_datalink(p);
    if (!decode_link_supported(dlt)) {
        fprintf(stderr, "tlswatch: %s: unsupported link type %d (%s)\n", o->iface, dlt,
                decode_link_name(dlt));
        pcap_close(p);
        return 2;
    }
    rc = apply_filter(p, o->filter, o->iface);
    if (!rc && o->fanout_group > 0) {
        /* both directions of a flow hash alike; DEFRAG: fragments are
         * reassembled before hashing so they land with their flow */
        unsigned uval = ((unsigned)o->fanout_group & 0xffffu) | ((unsigned)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
        int val = (int)uval;
        if (setsockopt(pcap_fileno(p), SOL_PACKET, PACKET_FANOUT, &val, sizeof val) != 0) {
            fprintf(stderr, "tlswatch: %s: cannot join fanout group %d: %s\n", o->iface, o->fanout_group,
                    strerror(errno));
            rc = 1;
        }
    }
    if (!rc) rc = drop_privileges(o->user);
    if (rc) { pcap_close(p); return rc; }
    live_handle = p;
    /* Non-blocking reads and our own poll(): with TPACKET_V3 libpcap blocks
     * in poll() until the kernel retires a block, and the kernel retires
     * only blocks that hold packets, so on a quiet link pcap_next_ex()
     * never returns and the idle and handshake timers would never fire.
     * Here they advance at least every LIVE_POLL_MS whatever the traffic. */
    if (pcap_setnonblock(p, 1, err) != 0) {
        fprintf(stderr, "tlswatch: %s: cannot set non-blocking mode: %s\n", o->iface, err);
        live_handle = NULL;
        pcap_close(p);
        return 1;
    }
    int fd = pcap_get_selectable_fd(p);
    struct live_ctx lc = { cbs, st, dlt, o->iface, 0 };
    struct timeval last_tick = {0, 0};
    while (!stop_requested) {
        int r = pcap_dispatch(p, LIVE_BATCH, live_packet, (u_char *)&lc);
        if (r == PCAP_ERROR_BREAK) break;
        if (r < 0) {
            fprintf(stderr, "tlswatch: %s: capture error after %llu packets: %s\n", o->iface,
                    (unsigned long long)lc.n, pcap_geterr(p));
            live_handle = NULL;
            pcap_close(p);
            return 1;
        }
        if (r == 0 && !stop_requested) {
            if (fd >= 0) {
                struct pollfd pfd = { fd, POLLIN, 0 };
                (void)poll(&pfd, 1, LIVE_POLL_MS); /* EINTR: a signal, look at the flags */
            } else {
                struct timespec ts = { 0, LIVE_POLL_MS * 1000000L };
                nanosleep(&ts, NULL);
            }
        }
        struct timeval now;
        gettimeofday(&now, NULL);
        if (now.tv_sec != last_tick.tv_sec) {
            last_tick = now;
            capture_update_stats(st);
            if (cbs->tick) cbs->tick(cbs->ctx, &now);
        }
    }
    capture_update_stats(st);
    live_handle = NULL;
    pcap_close(p);
    return 0;
}

int capture_run(const struct capture_opts *o, const struct capture_cbs *cbs,
                struct capture_stats *st)
{
    stop_requested = 0;
    if (o->iface) return run_live(o, cbs, st);
    int worst = 0, privs_dropped = 0;
    for (size_t i = 0; i < o->nfiles && !stop_requested; i++) {
        int rc = run_file(o->files[i], o, cbs, st, &privs_dropped);
        if (rc) st->files_failed++;
        else st->files_ok++;
        if (rc > worst) worst = rc;
        if (rc == 2) break; /* usage errors apply to every file */
    }
    return worst;
}
