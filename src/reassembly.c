/* libnids, wrapped. Packet path:
 *
 *   IPv4: our copy -> nids_pcap_handler (DLT_RAW dead handle) -> libnids
 *         defragmenter -> ip_cb (registered first, so it runs before
 *         libnids' own TCP dispatch) -> tcp_handle -> process_tcp
 *   IPv6: walk extension headers -> tcp_handle -> pseudo-IPv4 copy ->
 *         process_tcp
 *   tunnelled: decode.c hands up the innermost IP packet and the tunnel it
 *         came through (r->cur_tun, for the duration of reasm_packet). A
 *         flow whose key carries a tunnel identity (VNI, GRE key, ERSPAN
 *         session, GTP-U endpoints) gets pseudo-IPv4 addresses like an
 *         IPv6 flow, so that libnids, which keys streams by the IPv4
 *         4-tuple only, keeps overlapping tenants apart; its IPv4 packets
 *         go the IPv6 way (pseudo copy). Untunnelled IPv4 and tunnels
 *         without an identity keep the IPv4 path.
 *
 * tcp_handle is the one place that sees every TCP segment: it keeps our
 * flow table (libnids' is invisible and has no expiry), applies the
 * checksum policy, detects 4-tuple reuse, and synthesizes the missing
 * SYN / SYN-ACK / ACK for connections picked up mid-stream before calling
 * libnids' process_tcp itself. ip_cb then sets ip_p to an unused protocol so
 * libnids' generic dispatcher skips the packet (it has been handled).
 * libnids' checksum checks are off (NIDS_DONT_CHKSUM everywhere): the
 * policy here replaces them. */
#include "reassembly.h"
#include "bytes.h"
#include "inet_cksum.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <nids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* Exported by libnids (tcp.c) but not declared in nids.h. */
extern void process_tcp(u_char *data, int skblen);

#define PROTO_HANDLED 253 /* RFC 3692 experimental: libnids ignores it */
#define PSEUDO_CLI_BASE 0xF0000000u /* 240.0.0.0/5 */
#define PSEUDO_SRV_BASE 0xF8000000u /* 248.0.0.0/5 */
#define PSEUDO_MAX_ID 0x07FFFFFFu
#define MAX_IP_LEN 65535
#define SKB_OVERHEAD 184 /* what libnids adds to a packet for memory accounting */
#define CLOSED_MAX 4096 /* closed connections kept for trailing packets, at most */
/* libnids' table: 3,120 handshakes at once, the 4,160-stream table and its
 * 0.9 MB stream pool allocated and touched at start. */
#define NIDS_STREAMS_MAX (4096 + 64)

#define FILL_MAX (MAX_IP_LEN - 40) /* one filler segment (libnids drops acked segments) */

#define TH_FIN_ 0x01
#define TH_SYN_ 0x02
#define TH_RST_ 0x04
#define TH_ACK_ 0x10

struct v6_ids {
    uint32_t *free_ids;
    size_t nfree, cap;
    uint32_t next;
};

struct reasm {
    struct reasm_opts opt;
    struct reasm_callbacks cb;
    struct flow_table *flows;
    struct reasm_stats st;
    struct v6_ids ids;
    struct flow *cur_flow;           /* flow of the segment inside process_tcp */
    struct flow *last_flow;          /* flow of the previous segment (packet trains) */
    struct timeval expired_at;       /* capture time of the last idle scan */
    const struct timeval *cur_ts;
    const struct decoded_tunnel *cur_tun; /* the packet's tunnel (NULL: none), in reasm_packet only */
    struct timeval now;              /* latest capture time seen */
    uint32_t cur_wire_len;
    uint64_t byp_held;               /* bytes held by the bypass queues of all flows */
    uint32_t fill_left[2];           /* filler bytes libnids has yet to hand back, per direction */
    uint8_t *fill_buf;               /* the filler segment (allocated at the first hole): r->buf may hold the packet */
    struct pcap_pkthdr hdr;          /* nids_last_pcap_header points here */
    pcap_t *dead;
    uint8_t buf[MAX_IP_LEN + 64];    /* writable copy fed to libnids */
};

/* libnids has global state and calls back without a context pointer. */
static struct reasm *g_r;

struct tcp_seg {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    const uint8_t *tcp;   /* TCP header */
    size_t tcp_len;       /* header + payload bytes present */
    size_t hdr_len;
    const uint8_t *payload;
    size_t payload_len;   /* present */
    size_t wire_payload;  /* claimed by the IP header (>= present when truncated) */
};

static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Verifies a TCP checksum: returns 1 when it is correct. */
static int tcp_cksum_ok(int family, const uint8_t *saddr, const uint8_t *daddr,
                        const uint8_t *tcp, size_t len)
{
    size_t alen = family == 6 ? 16 : 4;
    uint32_t sum = inet_sum(0, saddr, alen);
    sum = inet_sum(sum, daddr, alen);
    sum += 6;
    sum += (uint32_t)(len & 0xffff) + (uint32_t)(len >> 16);
    sum = inet_sum(sum, tcp, len);
    return inet_fold(sum) == 0;
}

static uint16_t ip4_hdr_cksum(const uint8_t *h) { return inet_fold(inet_sum(0, h, 20)); }

const char *reasm_nids_warning_name(int errnum)
{
    static const char *const names[] = {
        "undefined", "ip_oversized", "ip_invalid_fragment_list", "ip_overlapping_fragments",
        "ip_bad_header", "ip_source_routed", "tcp_too_many_streams", "tcp_bad_header",
        "tcp_queue_too_big", "tcp_bad_flags",
    };
    if (errnum >= 0 && (size_t)errnum < sizeof names / sizeof names[0]) return names[errnum];
    return "unknown";
}

/* Replaces libnids' syslog(): a complaint becomes a counter. */
static void nids_complaint(int type, int errnum, struct ip *iph, void *data)
{
    (void)type;
    (void)iph;
    (void)data;
    if (!g_r) return;
    g_r->st.nids_complaints++;
    if (errnum >= 0 && errnum < 10) g_r->st.nids_warnings[errnum]++;
}

static void nids_out_of_memory(char *where)
{
    fprintf(stderr, "tlswatch: out of memory in libnids (%s)\n", where);
    exit(1);
}

/* ---------------------------------------------------------------- v6 ids */

static int v6_id_get(struct v6_ids *ids, uint32_t *out)
{
    if (ids->nfree) {
        *out = ids->free_ids[--ids->nfree];
        return 0;
    }
    if (ids->next >= PSEUDO_MAX_ID) return -1;
    *out = ++ids->next;
    return 0;
}

static void v6_id_put(struct v6_ids *ids, uint32_t id)
{
    if (ids->nfree == ids->cap) {
        size_t ncap = ids->cap ? ids->cap * 2 : 256;
        uint32_t *n = realloc(ids->free_ids, ncap * sizeof *n);
        if (!n) return; /* leaks one id, harmless */
        ids->free_ids = n;
        ids->cap = ncap;
    }
    ids->free_ids[ids->nfree++] = id;
}

/* IPv6 flows and flows keyed by a tunnel identity have pseudo-IPv4
 * addresses inside libnids. */
static int uses_pseudo(const struct flow *f) { return f->key.family == 6 || f->key.tun_type; }

/* libnids-side addresses of a flow's endpoints (network order). */
static void nids_addrs(const struct flow *f, uint32_t *cli, uint32_t *srv)
{
    if (!uses_pseudo(f)) {
        memcpy(cli, f->cli.addr, 4);
        memcpy(srv, f->srv.addr, 4);
    } else {
        *cli = htonl(PSEUDO_CLI_BASE | f->v6_pseudo_id);
        *srv = htonl(PSEUDO_SRV_BASE | f->v6_pseudo_id);
    }
}

/* ------------------------------------------------------- flow lifecycle */

static void byp_flush(struct reasm *r, struct flow *f, enum flow_dir dir);
static void byp_free(struct reasm *r, struct flow *f);

static int seq_after(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

static void snapshot_nids(struct flow *f, const struct tcp_stream *ts)
{
    /* libnids counts the zeros of fill_hole(): they were not delivered */
    uint32_t cs = (uint32_t)ts->server.count, cc = (uint32_t)ts->client.count;
    f->tcp[DIR_TO_SERVER].delivered = cs - (f->tcp[DIR_TO_SERVER].filled <= cs ? f->tcp[DIR_TO_SERVER].filled : cs);
    f->tcp[DIR_TO_CLIENT].delivered = cc - (f->tcp[DIR_TO_CLIENT].filled <= cc ? f->tcp[DIR_TO_CLIENT].filled : cc);
}

static void compute_gaps(struct flow *f)
{
    for (int d = 0; d < 2; d++) {
        struct flow_tcp_dir *t = &f->tcp[d];
        if (!t->seq_valid || !f->nids_est) continue;
        /* what the peer acknowledged counts as sent, seen or not */
        uint32_t top = t->next_seq;
        const struct flow_tcp_dir *peer = &f->tcp[!d];
        uint32_t acked = peer->ack_max - (t->fin_seen ? 1u : 0u);
        if (peer->ack_valid && seq_after(acked, top) && acked - top <= FILL_MAX) top = acked;
        uint32_t span = top - t->start_seq;
        if (span > 0x7fffffffu) continue; /* nonsense: don't guess */
        if (span > t->delivered) f->gaps[d] = (uint32_t)(span - t->delivered);
    }
}

/* flow_free's release hook: the only place a flow's libnids stream and
 * pseudo address are released, and where the layer above sees the end. */
static void release_flow(struct flow *f, void *ctx)
{
    struct reasm *r = ctx;
    if (r->last_flow == f) r->last_flow = NULL;
    struct tcp_stream *ts = f->nids_stream;
    if (ts) {
        snapshot_nids(f, ts);
        nids_free_tcp_stream(ts);
        f->nids_stream = NULL;
    }
    if (f->bypass_q) {
        /* what waits behind a hole goes up before the end */
        byp_flush(r, f, DIR_TO_SERVER);
        byp_flush(r, f, DIR_TO_CLIENT);
        byp_free(r, f);
    }
    compute_gaps(f);
    if (f->end == FLOW_END_NONE) f->end = FLOW_END_EOF;
    if (r->cb.on_end) r->cb.on_end(r->cb.ctx, f);
    if (uses_pseudo(f) && f->v6_pseudo_id) v6_id_put(&r->ids, f->v6_pseudo_id);
}

static void end_flow(struct flow *f, enum flow_end why)
{
    if (f->end == FLOW_END_NONE || why == FLOW_END_EVICTED) f->end = why;
    flow_free(f);
}

void reasm_expire(struct reasm *r, const struct timeval *now)
{
    struct flow *f;
    /* the idle scan at most once per millisecond of capture time (a flow
     * leaves at most 1 ms after its idle timeout): it is on every packet */
    int64_t since_us = (int64_t)(now->tv_sec - r->expired_at.tv_sec) * 1000000 +
                       (now->tv_usec - r->expired_at.tv_usec);
    int scan = since_us >= 1000 || since_us < 0;
    if (scan) r->expired_at = *now;
    while (scan && (f = flow_oldest(r->flows)) != NULL) {
        double idle = (double)(now->tv_sec - f->last_ts.tv_sec) +
                      (double)(now->tv_usec - f->last_ts.tv_usec) / 1e6;
        if (idle <= r->opt.idle_timeout) break;
        r->st.flows_expired++;
        end_flow(f, FLOW_END_IDLE);
    }
    /* Closed connections stay for trailing packets (a late ACK or
     * retransmitted FIN, a SYN reopening after a RST: tshark keeps those in
     * the same conversation), but at most CLOSED_MAX of them, the oldest
     * closes leaving first: on a busy link they would otherwise fill the
     * table until the idle timeout. */
    while (flow_closed_count(r->flows) > CLOSED_MAX && (f = flow_oldest_closed(r->flows)) != NULL) {
        r->st.flows_closed_released++;
        end_flow(f, f->end);
    }
}

/* Which endpoint serves? Lower well-known port first, then the lower port. */
static int sender_is_client_by_ports(uint16_t sport, uint16_t dport)
{
    int s_low = sport < 1024, d_low = dport < 1024;
    if (s_low != d_low) return d_low;
    return sport > dport;
}

static struct flow *new_flow(struct reasm *r, const struct flow_key *k,
                             const uint8_t *saddr, const uint8_t *daddr,
                             const struct tcp_seg *s, const struct timeval *ts)
{
    if (flow_count(r->flows) >= r->opt.max_flows) {
        struct flow *old = flow_oldest(r->flows);
        if (old) {
            r->st.flows_evicted++;
            end_flow(old, FLOW_END_EVICTED);
        }
    }
    int sender_client;
    int guessed = 0;
    if ((s->flags & (TH_SYN_ | TH_ACK_)) == TH_SYN_) sender_client = 1;
    else if ((s->flags & (TH_SYN_ | TH_ACK_)) == (TH_SYN_ | TH_ACK_)) sender_client = 0;
    else {
        guessed = 1;
        int hint = 0;
        if (s->payload_len && r->cb.role_hint)
            hint = r->cb.role_hint(r->cb.ctx, s->payload, s->payload_len);
        sender_client = hint ? hint > 0 : sender_is_client_by_ports(s->sport, s->dport);
    }
    struct flow *f = sender_client
        ? flow_create(r->flows, k, saddr, s->sport, daddr, s->dport, ts)
        : flow_create(r->flows, k, daddr, s->dport, saddr, s->sport, ts);
    if (!f) {
        fprintf(stderr, "tlswatch: out of memory creating a flow\n");
        exit(1);
    }
    f->role_guessed = (uint8_t)guessed;
    f->midstream = !(s->flags & TH_SYN_);
    if (uses_pseudo(f) && v6_id_get(&r->ids, &f->v6_pseudo_id) != 0) f->v6_pseudo_id = 0;
    r->st.flows_total++;
    if (f->midstream) r->st.flows_midstream++;
    if (r->cb.on_open) r->cb.on_open(r->cb.ctx, f);
    return f;
}

/* A SYN on a known 4-tuple starts a new connection unless it retransmits
 * a SYN we already have (same ISN, even after a RST: Wireshark keeps those
 * in one conversation too) or is the SYN a seen SYN-ACK answered. */
static int syn_reuses(const struct flow *f, enum flow_dir dir, const struct tcp_seg *s)
{
    if ((s->flags & (TH_SYN_ | TH_ACK_ | TH_RST_)) != TH_SYN_) return 0;
    const struct flow_tcp_dir *t = &f->tcp[dir];
    if (t->syn_seen) return t->isn != s->seq;
    const struct flow_tcp_dir *peer = &f->tcp[!dir];
    if (dir == DIR_TO_SERVER && peer->syn_seen && f->synack_ack == s->seq + 1) return 0;
    return 1;
}

/* A retransmitted SYN after a RST reopens the flow it belongs to. */
static void syn_reopen(struct flow *f, const struct tcp_seg *s)
{
    if ((s->flags & (TH_SYN_ | TH_ACK_ | TH_RST_)) != TH_SYN_ || !f->closed) return;
    f->closed = 0;
    flow_unmark_closed(f);
    f->end = FLOW_END_NONE;
    for (int d = 0; d < 2; d++) f->tcp[d].fin_seen = f->tcp[d].rst_seen = 0;
}

/* -------------------------------------------------------- feeding nids */

static void feed_nids(struct reasm *r, struct flow *f, uint8_t *ip4, size_t len)
{
    r->cur_flow = f;
    process_tcp(ip4, (int)(len + SKB_OVERHEAD));
    r->cur_flow = NULL;
}

/* libnids finds a segment's stream by hashing its 4-tuple (mkhash: twelve
 * modulo steps) and walking a hash chain, twice for a segment from the
 * server (its own orientation first, then the reverse): 8% of the time of
 * a many-connections run. The flow layer has already found the segment's
 * flow, which holds its stream once libnids reported it established.
 * libnids calls nids_find_tcp_stream, its public lookup, through its PLT,
 * so this definition in the executable is the one it calls (ELF
 * interposition, as a program's own malloc replaces libc's for libc
 * itself): it answers from the flow being fed (feed_nids) and hands any
 * other lookup to libnids' own (before the stream is established, and
 * tlswatch's own calls). The answer is the same: libnids opens a stream
 * only when both lookups fail, so it never holds two for one 4-tuple in
 * either orientation, and the flow's stream seen reversed means no stream.
 * A libnids built to call its lookup directly only loses the shortcut. */
static struct tcp_stream *(*nids_lookup)(struct tuple4 *);

struct tcp_stream *nids_find_tcp_stream(struct tuple4 *addr)
{
    struct reasm *r = g_r;
    struct tcp_stream *ts = r && r->cur_flow ? r->cur_flow->nids_stream : NULL;
    if (ts) {
        const struct tuple4 *a = &ts->addr;
        if (a->saddr == addr->saddr && a->daddr == addr->daddr && a->source == addr->source &&
            a->dest == addr->dest) {
            r->st.nids_lookups_from_flow++;
            return ts;
        }
        if (a->saddr == addr->daddr && a->daddr == addr->saddr && a->source == addr->dest &&
            a->dest == addr->source) {
            r->st.nids_lookups_from_flow++;
            return NULL;
        }
    }
    return nids_lookup ? nids_lookup(addr) : NULL; /* NULL only before the first reasm_new */
}

/* The 20-byte IPv4 header of a packet libnids is to see from dir: the
 * flow's libnids addresses (real, or pseudo for IPv6 and tunnel ids). */
static void nids_ip4_hdr(uint8_t *p, const struct flow *f, enum flow_dir dir, size_t total_len)
{
    uint32_t cli, srv;
    nids_addrs(f, &cli, &srv);
    memset(p, 0, 20);
    p[0] = 0x45;
    wr16(p + 2, (uint16_t)total_len);
    p[8] = 64;
    p[9] = 6;
    memcpy(p + 12, dir == DIR_TO_SERVER ? &cli : &srv, 4);
    memcpy(p + 16, dir == DIR_TO_SERVER ? &srv : &cli, 4);
    wr16(p + 10, ip4_hdr_cksum(p));
}

/* A 44-byte SYN / SYN-ACK / ACK with a window-scale option of 14, so
 * libnids' window check accepts whatever the real connection sends. */
static void feed_synthetic(struct reasm *r, struct flow *f, int from_client, uint8_t flags,
                           uint32_t seq, uint32_t ack)
{
    uint8_t p[44];
    memset(p, 0, sizeof p);
    nids_ip4_hdr(p, f, from_client ? DIR_TO_SERVER : DIR_TO_CLIENT, sizeof p);
    uint8_t *t = p + 20;
    wr16(t, from_client ? f->cli.port : f->srv.port);
    wr16(t + 2, from_client ? f->srv.port : f->cli.port);
    wr32(t + 4, seq);
    wr32(t + 8, ack);
    t[12] = 6 << 4;
    t[13] = flags;
    wr16(t + 14, 65535);
    t[20] = 1;  /* NOP */
    t[21] = 3;  /* window scale */
    t[22] = 3;
    t[23] = 14;
    feed_nids(r, f, p, sizeof p);
}

/* Before the first payload of a connection libnids has not seen open,
 * feed it the handshake it missed, from the sequence numbers at hand. */
static void synthesize_handshake(struct reasm *r, struct flow *f, enum flow_dir dir,
                                 const struct tcp_seg *s)
{
    struct flow_tcp_dir *c = &f->tcp[DIR_TO_SERVER], *sv = &f->tcp[DIR_TO_CLIENT];
    int has_ack = (s->flags & TH_ACK_) != 0;
    uint32_t cisn, sisn;
    if (c->syn_seen) cisn = c->isn;
    else if (dir == DIR_TO_SERVER) cisn = s->seq - 1;
    else if (has_ack) cisn = s->ack - 1;
    else return;
    if (sv->syn_seen) sisn = sv->isn;
    else if (dir == DIR_TO_CLIENT) sisn = s->seq - 1;
    else if (has_ack) sisn = s->ack - 1;
    else return;

    struct tuple4 t4;
    uint32_t cli, srv;
    nids_addrs(f, &cli, &srv);
    t4.saddr = cli;
    t4.daddr = srv;
    t4.source = f->cli.port;
    t4.dest = f->srv.port;
    /* A real SYN-ACK that came before any SYN never reached a libnids
     * stream: whenever the SYN is synthesized, the SYN-ACK is too. */
    int fresh = !nids_find_tcp_stream(&t4);
    if (fresh) feed_synthetic(r, f, 1, TH_SYN_, cisn, 0);
    if (fresh || !sv->syn_seen) feed_synthetic(r, f, 0, TH_SYN_ | TH_ACK_, sisn, cisn + 1);
    feed_synthetic(r, f, 1, TH_ACK_, cisn + 1, sisn + 1);
    if (!f->nids_est) return;
    r->st.synthesized_handshakes++;
    if (!c->seq_valid || !c->syn_seen) {
        c->start_seq = cisn + 1;
        if (!c->seq_valid) c->next_seq = cisn + 1;
        c->seq_valid = 1;
    }
    if (!sv->seq_valid || !sv->syn_seen) {
        sv->start_seq = sisn + 1;
        if (!sv->seq_valid) sv->next_seq = sisn + 1;
        sv->seq_valid = 1;
    }
}

static int parse_tcp(const uint8_t *tcp, size_t len, size_t wire_len, struct tcp_seg *s)
{
    if (len < 20) return -1;
    size_t hl = (size_t)(tcp[12] >> 4) * 4;
    if (hl < 20 || hl > len) return -1;
    s->sport = be16(tcp);
    s->dport = be16(tcp + 2);
    s->seq = be32(tcp + 4);
    s->ack = be32(tcp + 8);
    s->flags = tcp[13];
    s->tcp = tcp;
    s->tcp_len = len;
    s->hdr_len = hl;
    s->payload = tcp + hl;
    s->payload_len = len - hl;
    s->wire_payload = wire_len >= hl ? wire_len - hl : 0;
    return 0;
}

static void track_seq(struct flow_tcp_dir *t, const struct tcp_seg *s)
{
    if ((s->flags & TH_SYN_) && !t->syn_seen) {
        t->syn_seen = 1;
        t->isn = s->seq;
        t->start_seq = s->seq + 1;
        if (!t->seq_valid || (int32_t)(s->seq + 1 - t->next_seq) > 0) t->next_seq = s->seq + 1;
        t->seq_valid = 1;
    }
    if (s->wire_payload && !(s->flags & TH_RST_)) {
        uint32_t start = s->seq + ((s->flags & TH_SYN_) ? 1u : 0u);
        uint32_t end = start + (uint32_t)s->wire_payload;
        if (!t->seq_valid) {
            t->next_seq = end;
            t->start_seq = start;
            t->seq_valid = 1;
        } else if ((int32_t)(end - t->next_seq) > 0) {
            t->next_seq = end;
        }
    }
    if (s->flags & TH_FIN_) t->fin_seen = 1;
    if (s->flags & TH_RST_) t->rst_seen = 1;
}

/* Checksum policy, decided per direction of each flow (flow_tcp_dir's
 * cksum_state), never for the whole capture: one crafted connection must
 * not turn checking off for the others.
 *
 *   on    every segment is checked; a bad one is dropped.
 *   off   nothing is checked.
 *   auto  a direction is checked until its policy is decided:
 *         - offloaded: its very first segment is bad (captured on the
 *           sending host, checksum not yet filled in by the NIC), or a bad
 *           segment is longer than any good one of the direction (TSO/GRO
 *           merged segments, checksum never recomputed). That segment and
 *           the rest of the direction are accepted unchecked.
 *         - verified: CKSUM_AUTO_SAMPLE good checksums in a row. The rest of
 *           the direction is accepted unchecked too.
 *         Before the decision a bad segment that shows no sign of offload is
 *         corrupt: dropped, and the good-in-a-row count starts over. A SYN
 *         that would end the tracked connection (4-tuple reuse) is never
 *         taken as a sign of offload: bad, it is dropped and ends nothing.
 *
 * After "verified" auto samples, as Suricata's checksum-validation: auto
 * does, rather than checking to the end as Zeek does: a checksum
 * authenticates nothing (whoever injects a segment computes a right one),
 * so checking on only catches corruption, which a path that has just
 * delivered CKSUM_AUTO_SAMPLE good checksums in a row is not showing, and
 * it would cost a pass over every payload byte of the capture. Who wants
 * every segment checked uses --checksums on. */
#define CKSUM_AUTO_SAMPLE 8

enum { CK_UNDECIDED = 0, CK_SAMPLING, CK_OFFLOADED, CK_VERIFIED }; /* flow_tcp_dir.cksum_state */
enum ck_verdict { CKV_UNCHECKED, CKV_GOOD, CKV_OFFLOAD, CKV_DROP };

/* The verdict on one segment, before it may create, end or touch a flow.
 * t: its direction in the tracked flow (NULL: none yet); reuse: it is a SYN
 * that would end that flow. cksum_settle records the verdict afterwards in
 * the direction that takes the segment. */
static enum ck_verdict cksum_verdict(struct reasm *r, const struct flow_tcp_dir *t, int reuse,
                                     int family, const uint8_t *saddr, const uint8_t *daddr,
                                     const struct tcp_seg *s)
{
    uint8_t state = t ? t->cksum_state : CK_UNDECIDED;
    if (r->opt.checksums == CKSUM_OFF) return CKV_UNCHECKED;
    if (r->opt.checksums == CKSUM_AUTO && (state == CK_OFFLOADED || state == CK_VERIFIED))
        return CKV_UNCHECKED;
    r->st.cksum_computed++;
    if (tcp_cksum_ok(family, saddr, daddr, s->tcp, s->tcp_len)) return CKV_GOOD;
    if (r->opt.checksums == CKSUM_AUTO && !reuse &&
        (!t || state == CK_UNDECIDED || s->payload_len > t->max_good_len))
        return CKV_OFFLOAD;
    return CKV_DROP;
}

static void cksum_settle(struct reasm *r, struct flow_tcp_dir *t, enum ck_verdict v,
                         size_t payload_len)
{
    if (r->opt.checksums != CKSUM_AUTO) return;
    if (v == CKV_GOOD) {
        if (payload_len > t->max_good_len) t->max_good_len = (uint32_t)payload_len;
        t->cksum_state = CK_SAMPLING;
        if (++t->cksum_good >= CKSUM_AUTO_SAMPLE) {
            t->cksum_state = CK_VERIFIED;
            r->st.cksum_dirs_verified++;
        }
    } else if (v == CKV_OFFLOAD) {
        t->cksum_state = CK_OFFLOADED;
        r->st.cksum_offloaded++;
        r->st.cksum_dirs_offloaded++;
        if (!r->st.cksum_auto_off) {
            r->st.cksum_auto_off = 1;
            r->st.cksum_auto_off_packet = r->st.tcp_packets;
        }
    }
}

/* ------------------------------------------------------------- bypass
 *
 * Once the layer above answers REASM_BYPASS (handshake over, record
 * headers only, no key log for the flow), the flow leaves libnids: its
 * stream and buffers are freed and every later segment is handled here,
 * after the flow lookup, without a copy: each direction delivers the
 * payload that continues it as a view of the packet. A segment ahead of
 * the stream is copied into a hold queue (BYP_QMAX segments, BYP_QBYTES
 * bytes per direction, BYP_HELD_MAX for all flows) until the hole before
 * it fills: real captures hold a lost segment's retransmission dozens of
 * segments later. A hole is given up as lost by the capture -- reported
 * through on_gap, then the held bytes flow -- when the peer acknowledges
 * bytes past it (the receiver had them), when the queue is full, at the
 * direction's FIN, at a RST and at the end of the flow. libnids, by contrast, waits for a hole forever and
 * goes blind after it. */
#define BYP_QMAX 128              /* segments held per direction */
#define BYP_QBYTES (1u << 20)      /* bytes held per direction */
#define BYP_HELD_MAX (64u << 20)   /* bytes held by all flows together */
#define BYP_WINDOW (64u << 20) /* a segment further ahead than this is not this stream's */

struct byp_seg {
    uint32_t seq, len;
    uint8_t *data;
};
struct byp_queue {
    uint32_t qbytes;
    uint8_t nq;
    struct byp_seg q[BYP_QMAX]; /* sorted by seq */
};
/* Allocated on the first segment that arrives ahead of its stream. */
struct bypass_q {
    struct byp_queue d[2];
};


static struct byp_queue *byp_q(const struct flow *f, enum flow_dir dir)
{
    struct bypass_q *bq = f->bypass_q;
    return bq && bq->d[dir].nq ? &bq->d[dir] : NULL;
}

static void apply_verdict(struct reasm *r, struct flow *f, unsigned v)
{
    if (v & REASM_STOP_TO_SERVER) reasm_stop_collect(r, f, DIR_TO_SERVER);
    if (v & REASM_STOP_TO_CLIENT) reasm_stop_collect(r, f, DIR_TO_CLIENT);
    if ((v & REASM_BYPASS) && !f->bypassed) f->bypass_pending = 1;
    /* nothing more wanted of either direction: libnids need not keep it */
    if (!f->tcp[0].collect && !f->tcp[1].collect && !f->bypassed) f->bypass_pending = 1;
}

static void byp_deliver(struct reasm *r, struct flow *f, enum flow_dir dir, const uint8_t *p,
                        size_t len)
{
    f->tcp[dir].delivered += len;
    if (!f->tcp[dir].collect || !r->cb.on_data) return;
    apply_verdict(r, f, r->cb.on_data(r->cb.ctx, f, dir, p, len, r->cur_ts));
}

/* Held segments that the stream has reached go up, in order. */
static void byp_drain(struct reasm *r, struct flow *f, enum flow_dir dir)
{
    struct byp_queue *b;
    while ((b = byp_q(f, dir)) != NULL && !seq_after(b->q[0].seq, f->bypass_next[dir])) {
        struct byp_seg sg = b->q[0];
        b->nq--;
        memmove(b->q, b->q + 1, b->nq * sizeof sg);
        b->qbytes -= sg.len;
        r->byp_held -= sg.len;
        if (seq_after(sg.seq + sg.len, f->bypass_next[dir])) {
            uint32_t skip = f->bypass_next[dir] - sg.seq;
            f->bypass_next[dir] = sg.seq + sg.len;
            byp_deliver(r, f, dir, sg.data + skip, sg.len - skip);
        }
        free(sg.data);
    }
}

/* The bytes up to `to` are lost by the capture: reported, passed over. */
static void byp_skip_to(struct reasm *r, struct flow *f, enum flow_dir dir, uint32_t to)
{
    if (!seq_after(to, f->bypass_next[dir])) return;
    uint32_t n = to - f->bypass_next[dir];
    f->bypass_next[dir] = to;
    f->holes[dir]++;
    r->st.bypass_holes++;
    r->st.bypass_hole_bytes += n;
    if (r->cb.on_gap && f->tcp[dir].collect)
        apply_verdict(r, f, r->cb.on_gap(r->cb.ctx, f, dir, n, r->cur_ts));
    byp_drain(r, f, dir);
}

/* Gives up every hole of the direction: what is held goes up. */
static void byp_flush(struct reasm *r, struct flow *f, enum flow_dir dir)
{
    struct byp_queue *b;
    for (int i = 0; i <= BYP_QMAX && (b = byp_q(f, dir)) != NULL; i++) byp_skip_to(r, f, dir, b->q[0].seq);
}

static void byp_hold(struct reasm *r, struct flow *f, enum flow_dir dir, uint32_t seq,
                     const uint8_t *p, uint32_t len)
{
    if (!f->bypass_q && (f->bypass_q = calloc(1, sizeof(struct bypass_q))) == NULL) return;
    struct byp_queue *b = &((struct bypass_q *)f->bypass_q)->d[dir];
    int at = 0;
    while (at < b->nq && seq_after(seq, b->q[at].seq)) at++;
    if (at < b->nq && b->q[at].seq == seq && b->q[at].len >= len) return; /* retransmission */
    uint8_t *copy = malloc(len);
    if (!copy) return; /* lost like a dropped packet: a hole later skipped */
    memcpy(copy, p, len);
    if (at < b->nq && b->q[at].seq == seq) {
        b->qbytes -= b->q[at].len;
        r->byp_held -= b->q[at].len;
        free(b->q[at].data);
    } else {
        memmove(b->q + at + 1, b->q + at, (size_t)(b->nq - at) * sizeof b->q[0]);
        b->nq++;
    }
    b->q[at] = (struct byp_seg){ seq, len, copy };
    b->qbytes += len;
    r->byp_held += len;
    r->st.bypass_queued++;
}

static int byp_room(const struct reasm *r, const struct flow *f, enum flow_dir dir, uint32_t len)
{
    const struct byp_queue *b = byp_q(f, dir);
    if (r->byp_held + len > BYP_HELD_MAX) return 0;
    return !b || (b->nq < BYP_QMAX && b->qbytes + len <= BYP_QBYTES);
}

/* One segment's payload [seq, seq+len) of a bypassed direction. */
static void byp_take(struct reasm *r, struct flow *f, enum flow_dir dir, uint32_t seq,
                     const uint8_t *p, uint32_t len)
{
    if (!seq_after(seq + len, f->bypass_next[dir])) return; /* old: a retransmission */
    if (seq_after(seq, f->bypass_next[dir])) {
        if (seq - f->bypass_next[dir] > BYP_WINDOW) return; /* not this stream's */
        /* no room: the oldest hole is given up (lost by the capture) */
        struct byp_queue *b;
        for (int i = 0; i <= BYP_QMAX && !byp_room(r, f, dir, len) && (b = byp_q(f, dir)) != NULL; i++) {
            r->st.bypass_queue_full++;
            byp_skip_to(r, f, dir, b->q[0].seq);
        }
        if (seq_after(seq, f->bypass_next[dir])) {
            if (len <= BYP_QBYTES && byp_room(r, f, dir, len)) {
                byp_hold(r, f, dir, seq, p, len);
                return;
            }
            r->st.bypass_queue_full++;
            byp_skip_to(r, f, dir, seq); /* larger than the whole queue */
        }
        if (!seq_after(seq + len, f->bypass_next[dir])) return;
    }
    uint32_t skip = f->bypass_next[dir] - seq;
    f->bypass_next[dir] = seq + len;
    byp_deliver(r, f, dir, p + skip, len - skip);
    byp_drain(r, f, dir);
}

static void byp_free(struct reasm *r, struct flow *f)
{
    struct bypass_q *bq = f->bypass_q;
    if (!bq) return;
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < bq->d[d].nq; i++) {
            r->byp_held -= bq->d[d].q[i].len;
            free(bq->d[d].q[i].data);
        }
    free(bq);
    f->bypass_q = NULL;
}

/* Where libnids is in each direction: the sender's first data byte + what
 * the receiving half has taken (urgent bytes included). */
static void byp_from_nids(struct flow *f, const struct tcp_stream *ts)
{
    f->bypass_next[DIR_TO_SERVER] =
        ts->client.first_data_seq + (uint32_t)ts->server.count + (uint32_t)ts->server.urg_count;
    f->bypass_next[DIR_TO_CLIENT] =
        ts->server.first_data_seq + (uint32_t)ts->client.count + (uint32_t)ts->client.urg_count;
}

/* Applies a REASM_BYPASS asked during libnids' delivery, once libnids has
 * returned (it reads its stream until then). Waits while libnids holds
 * out-of-order data of the flow (it would be lost with the stream). */
static void byp_start(struct reasm *r, struct flow *f)
{
    struct tcp_stream *ts = f->nids_stream;
    if (!ts) {
        f->bypass_pending = 0; /* libnids closed it: nothing more to follow */
        return;
    }
    if (ts->server.list || ts->client.list) return;
    byp_from_nids(f, ts);
    snapshot_nids(f, ts);
    nids_free_tcp_stream(ts);
    f->nids_stream = NULL;
    f->bypassed = 1;
    f->bypass_pending = 0;
    r->st.flows_bypassed++;
}

/* A segment of a bypassed flow: the ACK may prove a hole of the other
 * direction lost, then the payload continues (or waits in) its own. */
static void byp_segment(struct reasm *r, struct flow *f, enum flow_dir dir, const struct tcp_seg *s)
{
    r->st.bypass_packets++;
    enum flow_dir other = (enum flow_dir)!dir;
    const struct byp_queue *o = byp_q(f, other);
    if ((s->flags & TH_ACK_) && o && !seq_after(o->q[0].seq, s->ack))
        byp_skip_to(r, f, other, o->q[0].seq);
    if (s->payload_len && !(s->flags & TH_RST_))
        byp_take(r, f, dir, s->seq + ((s->flags & TH_SYN_) ? 1u : 0u), s->payload,
                 (uint32_t)s->payload_len);
    if (s->flags & TH_RST_) {
        byp_flush(r, f, DIR_TO_SERVER);
        byp_flush(r, f, DIR_TO_CLIENT);
    } else if (s->flags & TH_FIN_) {
        byp_flush(r, f, dir);
    }
    if (f->bypass_q && !byp_q(f, DIR_TO_SERVER) && !byp_q(f, DIR_TO_CLIENT)) byp_free(r, f);
}

/* ---------------------------------------------- holes the peer proved */

/* The sequence number libnids expects next from dir (its EXP_SEQ). */
static uint32_t nids_expected(const struct tcp_stream *ts, enum flow_dir dir)
{
    const struct half_stream *snd = dir == DIR_TO_SERVER ? &ts->client : &ts->server;
    const struct half_stream *rcv = dir == DIR_TO_SERVER ? &ts->server : &ts->client;
    return snd->first_data_seq + (uint32_t)rcv->count + (uint32_t)rcv->urg_count;
}

/* Bytes [libnids' next, end) of dir that the peer acknowledged but the
 * capture never had (Wireshark's "ACKed segment that wasn't captured"):
 * libnids would hold everything after them forever, so it is fed one
 * segment of zeros in their place, and deliver() hands that span up as a
 * gap (on_gap), not as data. The layer above then resynchronises on the
 * next record. Only while the handshake is read (libnids has the stream)
 * and only when the peer's ACK proves the loss; a segment merely late in
 * the capture is left to arrive. */
static void fill_hole(struct reasm *r, struct flow *f, enum flow_dir dir, uint32_t end)
{
    struct tcp_stream *ts = f->nids_stream;
    struct flow_tcp_dir *t = &f->tcp[dir];
    const struct flow_tcp_dir *peer = &f->tcp[!dir];
    if (!ts || !t->collect || !peer->ack_valid || !r->cb.on_gap) return;
    uint32_t exp = nids_expected(ts, dir);
    if (t->ooo_valid && !seq_after(t->ooo_min, exp)) t->ooo_valid = 0; /* reached */
    if (t->ooo_valid && seq_after(end, t->ooo_min)) end = t->ooo_min;
    if (seq_after(end, peer->ack_max)) end = peer->ack_max; /* proven part only */
    if (!seq_after(end, exp)) return;
    uint32_t n = end - exp;
    if (n > FILL_MAX) return; /* a loss this large: the direction stalls, as before */
    if (!r->fill_buf && !(r->fill_buf = malloc(40 + FILL_MAX))) return;
    uint8_t *p = r->fill_buf;
    memset(p, 0, 40 + (size_t)n);
    nids_ip4_hdr(p, f, dir, 40 + (size_t)n);
    uint8_t *tc = p + 20;
    wr16(tc, dir == DIR_TO_SERVER ? f->cli.port : f->srv.port);
    wr16(tc + 2, dir == DIR_TO_SERVER ? f->srv.port : f->cli.port);
    wr32(tc + 4, exp);
    wr32(tc + 8, f->tcp[!dir].seq_valid ? f->tcp[!dir].next_seq : 0);
    tc[12] = 5 << 4;
    tc[13] = TH_ACK_;
    wr16(tc + 14, 65535);
    /* libnids drops a segment wholly below what the receiver has
     * acknowledged (a retransmission): the filler is, by definition */
    struct half_stream *rcv = dir == DIR_TO_SERVER ? &ts->server : &ts->client;
    u_int acked = rcv->ack_seq;
    rcv->ack_seq = exp;
    r->fill_left[dir] = n;
    feed_nids(r, f, p, 40 + (size_t)n);
    if (f->nids_stream == ts && seq_after(acked, rcv->ack_seq)) rcv->ack_seq = acked;
    if (r->fill_left[dir]) {
        /* libnids did not take it (window, state): nothing was passed over */
        r->fill_left[dir] = 0;
        return;
    }
    t->filled += n;
    f->gaps[dir] += n;
    r->st.holes_filled++;
    r->st.hole_bytes_filled += n;
}

/* Before a segment of dir goes to libnids: a proven hole in front of it
 * is filled; a segment still ahead of libnids is remembered, so a later
 * fill never covers it. */
static void fill_before(struct reasm *r, struct flow *f, enum flow_dir dir, const struct tcp_seg *s)
{
    struct tcp_stream *ts = f->nids_stream;
    if (!ts || !s->payload_len || (s->flags & (TH_SYN_ | TH_RST_))) return;
    if (!seq_after(s->seq, nids_expected(ts, dir))) return; /* in order: the common case */
    fill_hole(r, f, dir, s->seq);
    if (!f->nids_stream || !seq_after(s->seq, nids_expected(f->nids_stream, dir))) return;
    struct flow_tcp_dir *t = &f->tcp[dir];
    if (!t->ooo_valid || seq_after(t->ooo_min, s->seq)) t->ooo_min = s->seq;
    t->ooo_valid = 1;
}

/* At a FIN or RST nothing more is coming in order: what the peer
 * acknowledged and the capture lacks is a gap, in both directions. */
static void fill_at_close(struct reasm *r, struct flow *f)
{
    for (int d = 0; d < 2 && f->nids_stream; d++) {
        const struct flow_tcp_dir *peer = &f->tcp[!d];
        if (!peer->ack_valid) continue;
        /* a FIN takes one sequence number: its ACK is one past the data */
        uint32_t end = peer->ack_max - (f->tcp[d].fin_seen ? 1u : 0u);
        fill_hole(r, f, (enum flow_dir)d, end);
    }
}

/* The flow's tunnel, from its first tunnelled packet (going dir). */
static void set_tunnel(struct flow *f, const struct decoded_tunnel *t, enum flow_dir dir)
{
    f->tun.type = t->type;
    f->tun.family = t->outer_family;
    f->tun.has_id = t->has_id;
    f->tun.id = t->id;
    f->tun.depth = t->depth;
    memcpy(dir == DIR_TO_SERVER ? f->tun.outer_cli : f->tun.outer_srv, t->outer_src, 16);
    memcpy(dir == DIR_TO_SERVER ? f->tun.outer_srv : f->tun.outer_cli, t->outer_dst, 16);
}

/* Every TCP segment comes through here, in capture order. ip4 is the IPv4
 * packet (NULL for IPv6: a pseudo-IPv4 copy is built for libnids), ip4w the
 * same as libnids is handed it; when it is NULL, the packet is copied for
 * libnids, and only if libnids is to see it (not for bypassed flows). */
static void tcp_handle(struct reasm *r, int family, const uint8_t *saddr, const uint8_t *daddr,
                       const uint8_t *tcp, size_t tcp_len, size_t wire_tcp_len,
                       const uint8_t *ip4, uint8_t *ip4w, int feed)
{
    struct tcp_seg s;
    r->st.tcp_packets++;
    if (parse_tcp(tcp, tcp_len, wire_tcp_len, &s) != 0) {
        r->st.bad_tcp_header++;
        return;
    }
    const struct timeval *ts = r->cur_ts;
    reasm_expire(r, &r->now);

    struct flow_key k;
    flow_key_make(&k, family, saddr, s.sport, daddr, s.dport);
    const struct decoded_tunnel *tun = r->cur_tun;
    if (tun && tun->key_type)
        flow_key_tunnel(&k, tun->key_type, tun->key_id, tun->key_family,
                        tun->key_family ? tun->key_src : NULL, tun->key_family ? tun->key_dst : NULL);
    /* packet trains: the previous segment's flow first, then the table */
    struct flow *f = r->last_flow && flow_key_eq(&r->last_flow->key, &k)
                         ? r->last_flow
                         : flow_lookup(r->flows, &k);
    enum flow_dir dir = f ? flow_dir_of(f, saddr, s.sport) : DIR_TO_SERVER;
    int reuse = f && syn_reuses(f, dir, &s);

    /* The checksum verdict comes first: a dropped segment creates no flow,
     * ends none (4-tuple reuse) and feeds nothing. */
    enum ck_verdict v = feed && wire_tcp_len == tcp_len
                            ? cksum_verdict(r, f ? &f->tcp[dir] : NULL, reuse, family, saddr,
                                            daddr, &s)
                            : CKV_UNCHECKED;
    if (v == CKV_DROP) {
        r->st.cksum_bad_dropped++;
        if (f) {
            /* still one of the connection's packets on the wire (as tshark counts) */
            f->tcp[dir].cksum_good = 0;
            f->pkts[dir]++;
            f->bytes[dir] += r->cur_wire_len;
            f->payload[dir] += s.wire_payload;
        }
        return;
    }

    if (reuse) {
        r->st.flows_reused++;
        end_flow(f, FLOW_END_REUSED);
        f = NULL;
    }
    if (!f) f = new_flow(r, &k, saddr, daddr, &s, ts);
    else syn_reopen(f, &s);
    r->last_flow = f;
    dir = flow_dir_of(f, saddr, s.sport);

    /* A guessed orientation can still be fixed by the first payload. */
    if (f->role_guessed && !f->nids_est && s.payload_len && r->cb.role_hint &&
        !f->tcp[0].syn_seen && !f->tcp[1].syn_seen) {
        int hint = r->cb.role_hint(r->cb.ctx, s.payload, s.payload_len);
        if ((hint > 0 && dir == DIR_TO_CLIENT) || (hint < 0 && dir == DIR_TO_SERVER)) {
            flow_swap_roles(f);
            dir = flow_dir_of(f, saddr, s.sport);
        }
    }

    if (tun && !f->tun.type) set_tunnel(f, tun, dir);
    f->pkts[dir]++;
    f->bytes[dir] += r->cur_wire_len;
    f->payload[dir] += s.wire_payload;
    flow_touch(f, ts);
    cksum_settle(r, &f->tcp[dir], v, s.payload_len);

    track_seq(&f->tcp[dir], &s);
    if ((s.flags & (TH_SYN_ | TH_ACK_)) == (TH_SYN_ | TH_ACK_)) f->synack_ack = s.ack;
    if ((s.flags & TH_ACK_) && !(s.flags & TH_RST_)) {
        struct flow_tcp_dir *t = &f->tcp[dir];
        if (!t->ack_valid || seq_after(s.ack, t->ack_max)) t->ack_max = s.ack;
        t->ack_valid = 1;
    }
    if (!feed) return;

    if (f->bypassed) {
        byp_segment(r, f, dir, &s);
        goto events;
    }

    if (s.payload_len && !f->nids_est && !f->closed) synthesize_handshake(r, f, dir, &s);

    if (f->nids_stream) fill_before(r, f, dir, &s);

    if (uses_pseudo(f)) {
        /* pseudo-IPv4 copy for libnids (tcp may be in r->buf: memmove) */
        if (tcp_len + 20 > sizeof r->buf) return;
        uint8_t *p = r->buf;
        memmove(p + 20, tcp, tcp_len); /* tcp may be in r->buf: moved before the header is written */
        nids_ip4_hdr(p, f, dir, tcp_len + 20);
        feed_nids(r, f, p, tcp_len + 20);
    } else {
        size_t tot = be16(ip4 + 2);
        if (!ip4w) {
            memcpy(r->buf, ip4, tot);
            ip4w = r->buf;
        }
        feed_nids(r, f, ip4w, tot);
    }
    if (f->bypass_pending) byp_start(r, f);

events:
    if ((s.flags & (TH_FIN_ | TH_RST_)) && f->nids_stream) fill_at_close(r, f);
    /* FIN/RST after the segment's data went up, in capture order. */
    if (s.flags & TH_RST_) {
        f->closed = 1;
        flow_mark_closed(f);
        if (f->end == FLOW_END_NONE) f->end = FLOW_END_RST;
        if (r->cb.on_tcp_event) r->cb.on_tcp_event(r->cb.ctx, f, dir, REASM_EV_RST, ts);
    } else if (s.flags & TH_FIN_) {
        if (f->tcp[0].fin_seen && f->tcp[1].fin_seen) {
            f->closed = 1;
            flow_mark_closed(f);
            if (f->end == FLOW_END_NONE) f->end = FLOW_END_FIN;
        }
        if (r->cb.on_tcp_event) r->cb.on_tcp_event(r->cb.ctx, f, dir, REASM_EV_FIN, ts);
    }
}

/* libnids ip callback: runs on every complete (defragmented) IPv4 packet
 * before libnids' own dispatcher, which we then make skip it. */
static void ip_cb(struct ip *iph, int skblen)
{
    (void)skblen;
    struct reasm *r = g_r;
    uint8_t *p = (uint8_t *)iph;
    if (!r) return;
    if (p[9] == IPPROTO_TCP) {
        size_t hl = (size_t)(p[0] & 0x0f) * 4;
        size_t tot = be16(p + 2);
        if (tot >= hl)
            tcp_handle(r, 4, p + 12, p + 16, p + hl, tot - hl, tot - hl, p, p, 1);
    } else {
        r->st.non_tcp++;
    }
    p[9] = PROTO_HANDLED;
}

#define RELEASE_NIDS_BUF_ABOVE 8192

static void deliver(struct reasm *r, struct flow *f, enum flow_dir dir, struct half_stream *h)
{
    if (!h->count_new) return;
    const uint8_t *data = (const uint8_t *)h->data + (h->count - h->offset) - h->count_new;
    size_t n = (size_t)h->count_new;
    if (r->fill_left[dir]) {
        /* the zeros of fill_hole(): a gap for the layer above, not data */
        size_t g = n < r->fill_left[dir] ? n : r->fill_left[dir];
        r->fill_left[dir] -= (uint32_t)g;
        if (f->tcp[dir].collect && r->cb.on_gap)
            apply_verdict(r, f, r->cb.on_gap(r->cb.ctx, f, dir, g, r->cur_ts));
        data += g;
        n -= g;
    }
    if (!n || !f->tcp[dir].collect || !r->cb.on_data) return;
    apply_verdict(r, f, r->cb.on_data(r->cb.ctx, f, dir, data, n, r->cur_ts));
    /* libnids keeps a direction's buffer at twice the largest segment it
     * ever held, for the connection's life: 65,536 connections that each
     * sent one 16 KB segment would pin 2 GB. Everything delivered is
     * consumed (libnids memmoves nothing after this callback), so a large
     * buffer is given back now and allocated again only if another large
     * segment comes. Never earlier: libnids reads it until we return. */
    if (h->bufsize > RELEASE_NIDS_BUF_ABOVE) {
        free(h->data);
        h->data = NULL;
        h->bufsize = 0;
        r->st.nids_buffers_released++;
    }
}

static void tcp_cb(struct tcp_stream *ts, void **param)
{
    struct reasm *r = g_r;
    struct flow *f;
    switch (ts->nids_state) {
    case NIDS_JUST_EST:
        f = r->cur_flow;
        if (!f) return;
        ts->client.collect++;
        ts->server.collect++;
        *param = f;
        f->nids_stream = ts;
        f->nids_est = 1;
        return;
    case NIDS_DATA:
        f = *param;
        if (!f) return;
        deliver(r, f, DIR_TO_SERVER, &ts->server);
        deliver(r, f, DIR_TO_CLIENT, &ts->client);
        return;
    default: /* CLOSE, RESET, TIMED_OUT, EXITING: libnids frees the stream */
        f = *param;
        if (!f) return;
        snapshot_nids(f, ts);
        f->nids_stream = NULL;
        if (ts->nids_state == NIDS_TIMED_OUT && !f->closed && !f->bypassed) {
            /* libnids' table is full and it lets go of its oldest stream
             * (add_new_tcp): the in-order tracker follows the connection
             * from where libnids was; what libnids held out of order is
             * lost with its stream and shows as a hole. */
            byp_from_nids(f, ts);
            f->bypassed = 1;
            f->bypass_pending = 0;
            r->st.nids_table_full++;
        }
        return;
    }
}

void reasm_stop_collect(struct reasm *r, struct flow *f, enum flow_dir dir)
{
    (void)r;
    if (!f->tcp[dir].collect) return;
    f->tcp[dir].collect = 0;
    struct tcp_stream *ts = f->nids_stream;
    if (!ts) return;
    /* libnids drops its listener (and would never report the close) once
     * no direction is collected: keep the last one, ignored above. */
    if (!f->tcp[!dir].collect) return;
    struct half_stream *h = dir == DIR_TO_SERVER ? &ts->server : &ts->client;
    if (h->collect > 0) h->collect--;
}

/* ------------------------------------------------------------- packets */

static void handle_ipv6(struct reasm *r, const struct decoded_ip *ip)
{
    const uint8_t *p = ip->ip;
    size_t len = ip->len;
    uint8_t nh = p[6];
    size_t off = 40;
    for (int i = 0; i < 16; i++) {
        switch (nh) {
        case IPPROTO_TCP: {
            size_t wire = ip->wire_ip_len >= off ? ip->wire_ip_len - off : 0;
            if (off > len) return;
            tcp_handle(r, 6, p + 8, p + 24, p + off, len - off, wire, NULL, NULL, !ip->truncated);
            if (ip->truncated) r->st.snaplen_truncated++;
            return;
        }
        case 0:   /* hop-by-hop */
        case 43:  /* routing */
        case 60:  /* destination options */
            if (off + 8 > len) return;
            nh = p[off];
            off += ((size_t)p[off + 1] + 1) * 8;
            continue;
        case 51:  /* AH */
            if (off + 8 > len) return;
            nh = p[off];
            off += ((size_t)p[off + 1] + 2) * 4;
            continue;
        case 44:  /* fragment: no IPv6 reassembly */
            r->st.ipv6_unsupported_ext++;
            return;
        default:
            r->st.non_tcp++;
            return;
        }
    }
    r->st.ipv6_unsupported_ext++;
}

static void packet(struct reasm *r, const struct timeval *ts, const struct decoded_ip *ip,
                   uint32_t wire_len)
{
    r->st.ip_packets++;
    /* Capture time only moves forward: a corrupt or reordered timestamp
     * must not expire every flow. */
    if (ts->tv_sec > r->now.tv_sec || (ts->tv_sec == r->now.tv_sec && ts->tv_usec > r->now.tv_usec))
        r->now = *ts;
    r->cur_ts = ts;
    r->cur_wire_len = wire_len;
    r->hdr.ts = *ts;
    r->hdr.caplen = (bpf_u_int32)ip->len;
    r->hdr.len = (bpf_u_int32)ip->len;
    nids_last_pcap_header = &r->hdr;
    if (ip->family == 6) {
        handle_ipv6(r, ip);
        return;
    }
    const uint8_t *p = ip->ip;
    size_t hl = (size_t)(p[0] & 0x0f) * 4;
    if (ip->truncated) {
        /* Cut by the snaplen: count it in its flow, mark the bytes missing. */
        r->st.snaplen_truncated++;
        uint16_t frag = be16(p + 6);
        if (p[9] == IPPROTO_TCP && (frag & 0x1fff) == 0 && ip->len > hl)
            tcp_handle(r, 4, p + 12, p + 16, p + hl, ip->len - hl, ip->wire_ip_len - hl, NULL, NULL, 0);
        return;
    }
    if (ip->len > MAX_IP_LEN) return;
    if (p[9] == IPPROTO_TCP && (be16(p + 6) & 0x3fff) == 0 && hl == 20 && ip->len >= 20) {
        /* An unfragmented TCP packet without IP options: libnids' IP layer
         * (defragmentation, source-route checks) has nothing to do, and its
         * header checks are these (the IP checksum is not one: libnids is
         * told not to check any, captures from sending hosts carry
         * offloaded ones). No copy: libnids reads the packet where it is.
         * process_tcp takes a u_char * but only reads through it (its
         * header checks, the 4-tuple, options, and memcpy of the payload
         * into its own buffers; checksums are off), and keeps nothing of
         * it past the call. */
        r->st.ip_fast++;
        if ((p[0] >> 4) != 4 || be16(p + 2) != ip->len) {
            nids_complaint(NIDS_WARN_IP, NIDS_WARN_IP_HDR, NULL, NULL);
            return;
        }
        tcp_handle(r, 4, p + 12, p + 16, p + hl, ip->len - hl, ip->len - hl, p, (uint8_t *)(uintptr_t)p, 1);
        return;
    }
    memcpy(r->buf, p, ip->len);
    nids_pcap_handler(NULL, &r->hdr, r->buf);
}

void reasm_packet(struct reasm *r, const struct timeval *ts, const struct decoded_ip *ip,
                  uint32_t wire_len)
{
    r->cur_tun = ip->tun.type ? &ip->tun : NULL;
    packet(r, ts, ip, wire_len);
    r->cur_tun = NULL;
}

/* ------------------------------------------------------------ lifecycle */

struct reasm *reasm_new(const struct reasm_opts *o, const struct reasm_callbacks *cb)
{
    if (g_r) {
        fprintf(stderr, "tlswatch: one reassembly instance per process (libnids)\n");
        return NULL;
    }
    struct reasm *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->opt = *o;
    if (!r->opt.max_flows) r->opt.max_flows = 1;
    r->cb = *cb;
    r->flows = flow_table_new(r->opt.max_flows);
    r->dead = pcap_open_dead(DLT_RAW, MAX_IP_LEN);
    if (!r->flows || !r->dead) {
        fprintf(stderr, "tlswatch: cannot initialise reassembly\n");
        reasm_free(r);
        return NULL;
    }
    flow_table_set_release(r->flows, release_flow, r);

    /* libnids keeps 3/4 of n_tcp_streams before evicting its oldest
     * stream. It only holds connections still in their handshake (the
     * others are bypassed), so its table is sized for those, not for
     * --max-flows: its pool is allocated and touched whole at start
     * (19 MB for 65,536 flows), and a page costs 5-10 us to fault in on a
     * VM: 12,352 streams took 5.5 ms (a fifth) of a run on a small
     * capture. A connection libnids lets go of when the table is full
     * goes on in the in-order tracker (tcp_cb), which delivers the same
     * bytes of an in-order stream. */
    size_t n = r->opt.max_flows + r->opt.max_flows / 3 + 64;
    if (n > NIDS_STREAMS_MAX) n = NIDS_STREAMS_MAX;
    nids_params.n_tcp_streams = n > 0x3fffffff ? 0x3fffffff : (int)n;
    nids_params.n_hosts = 4096;
    nids_params.pcap_desc = r->dead;
    nids_params.filename = NULL;
    nids_params.device = NULL;
    nids_params.pcap_filter = NULL;
    nids_params.scan_num_hosts = 0; /* the scan detector crashes on some input */
    nids_params.syslog = nids_complaint;
    nids_params.no_mem = nids_out_of_memory;
    nids_params.promisc = 0;
    nids_params.multiproc = 0;
    nids_params.tcp_workarounds = 0;
    nids_lookup = (struct tcp_stream * (*)(struct tuple4 *))dlsym(RTLD_NEXT, "nids_find_tcp_stream");
    if (!nids_lookup) {
        fprintf(stderr, "tlswatch: libnids: no nids_find_tcp_stream: %s\n", dlerror());
        reasm_free(r);
        return NULL;
    }
    g_r = r;
    if (!nids_init()) {
        fprintf(stderr, "tlswatch: libnids: %s\n", nids_errbuf);
        g_r = NULL;
        reasm_free(r);
        return NULL;
    }
    static struct nids_chksum_ctl all = { 0, 0, NIDS_DONT_CHKSUM, 0 };
    nids_register_chksum_ctl(&all, 1);
    nids_register_ip(ip_cb);
    nids_register_tcp(tcp_cb);
    return r;
}

void reasm_finish(struct reasm *r)
{
    struct flow *f;
    while ((f = flow_oldest(r->flows)) != NULL) end_flow(f, FLOW_END_EOF);
}

void reasm_free(struct reasm *r)
{
    if (!r) return;
    if (r->flows) {
        reasm_finish(r);
        flow_table_destroy(r->flows);
    }
    if (g_r == r) {
        nids_unregister_tcp(tcp_cb);
        nids_unregister_ip(ip_cb);
        nids_exit();
        g_r = NULL;
    }
    /* nids_exit leaves a handle it was given in nids_params.pcap_desc open */
    if (r->dead) {
        if (nids_params.pcap_desc == r->dead) nids_params.pcap_desc = NULL;
        pcap_close(r->dead);
    }
    free(r->ids.free_ids);
    free(r->fill_buf);
    free(r);
}

const struct reasm_stats *reasm_stats(const struct reasm *r) { return &r->st; }
size_t reasm_active_flows(const struct reasm *r) { return flow_count(r->flows); }
