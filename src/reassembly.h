/* TCP reassembly: libnids, wrapped. This is the only module that knows
 * libnids exists. It adds what libnids lacks: IPv6 (mapped to pseudo-IPv4
 * 240.0.0.0/4 addresses on the way in, back on the way out), idle expiry
 * with an LRU, 4-tuple reuse, mid-stream pickup (synthesized handshake),
 * a checksum policy, bounded tables, and a callback API to the layer above. */
#ifndef TLSWATCH_REASSEMBLY_H
#define TLSWATCH_REASSEMBLY_H
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "decode.h"
#include "flow.h"

enum cksum_mode { CKSUM_AUTO = 0, CKSUM_ON, CKSUM_OFF };

struct reasm_opts {
    enum cksum_mode checksums;
    size_t max_flows;       /* flows tracked at once; LRU evicted beyond */
    double idle_timeout;    /* seconds of capture time without a packet */
};

enum reasm_tcp_event { REASM_EV_FIN = 1, REASM_EV_RST = 2 };

/* What the layer above answers on_data with, applied by reassembly once
 * on_data has returned: data flows up only, nothing above calls back
 * down into reassembly (as Suricata's app-layer parsers return their
 * verdict to the stream engine). Bits: */
enum reasm_verdict {
    REASM_GO_ON = 0,
    REASM_STOP_TO_SERVER = 1 << DIR_TO_SERVER, /* no more payload of this direction */
    REASM_STOP_TO_CLIENT = 1 << DIR_TO_CLIENT,
    /* The layer above is past the handshake and only reads record headers:
     * the flow leaves libnids (its stream and buffers are freed) and each
     * direction is followed by a light in-order tracker on TCP sequence
     * numbers (Suricata's "bypass" once a TLS session is encrypted). Bytes
     * still arrive through on_data, in order, as views of the packets; a
     * hole the capture lost is reported through on_gap. */
    REASM_BYPASS = 1 << 2,
};

struct reasm_callbacks {
    void *ctx;
    /* A flow was created (first packet of a connection). */
    void (*on_open)(void *ctx, struct flow *f);
    /* In-order payload bytes of one direction; the view dies on return.
     * Returns enum reasm_verdict bits. */
    unsigned (*on_data)(void *ctx, struct flow *f, enum flow_dir dir, const uint8_t *data,
                        size_t len, const struct timeval *ts);
    /* Bypassed flows only: n bytes of `dir` are missing from the capture
     * (the peer acknowledged them, or the hold queue of out-of-order
     * segments is full); the next on_data of `dir` starts after them.
     * Returns enum reasm_verdict bits like on_data. */
    unsigned (*on_gap)(void *ctx, struct flow *f, enum flow_dir dir, uint64_t n,
                       const struct timeval *ts);
    /* A FIN or RST was seen from `dir`'s sender, in capture order. */
    void (*on_tcp_event)(void *ctx, struct flow *f, enum flow_dir dir, enum reasm_tcp_event ev,
                         const struct timeval *ts);
    /* The flow is over (f->end says why); called once, right before flow_free. */
    void (*on_end)(void *ctx, struct flow *f);
    /* Optional: who sent this first payload? +1 the client, -1 the server,
     * 0 unknown. Used to orient connections picked up mid-stream. */
    int (*role_hint)(void *ctx, const uint8_t *payload, size_t len);
};

struct reasm_stats {
    uint64_t ip_packets, tcp_packets, non_tcp, ipv6_unsupported_ext;
    uint64_t bad_tcp_header;
    uint64_t cksum_bad_dropped;   /* segments dropped for a bad checksum (before any flow sees them) */
    uint64_t cksum_offloaded;     /* auto: bad checksums accepted as offload (one per offloaded direction) */
    uint64_t cksum_computed;      /* TCP checksums computed (auto: only until a direction is decided) */
    uint64_t cksum_dirs_offloaded, cksum_dirs_verified; /* auto: flow directions decided each way */
    uint64_t cksum_auto_off;        /* auto: 1 once some direction was found offloaded */
    uint64_t cksum_auto_off_packet; /* ... the TCP packet number of the first one */
    uint64_t flows_closed_released; /* closed connections let go after their linger */
    uint64_t flows_total, flows_expired, flows_evicted, flows_reused, flows_midstream;
    uint64_t synthesized_handshakes, snaplen_truncated;
    uint64_t nids_warnings[10]; /* libnids complaints, by NIDS_WARN_* errnum */
    uint64_t nids_complaints;
    uint64_t nids_buffers_released; /* large libnids direction buffers given back after delivery */
    uint64_t nids_table_full;       /* connections libnids let go of (table full), followed by the tracker */
    uint64_t ip_fast;               /* IPv4 TCP packets that needed no libnids IP layer (no copy) */
    uint64_t flows_bypassed;        /* flows handed from libnids to the in-order tracker */
    uint64_t bypass_packets;        /* TCP segments of bypassed flows (never seen by libnids) */
    uint64_t bypass_queued;         /* out-of-order segments held until their turn */
    uint64_t bypass_holes, bypass_hole_bytes; /* holes skipped (lost by the capture) */
    uint64_t holes_filled, hole_bytes_filled; /* holes in handshakes the peer's ACK proved lost */
    uint64_t bypass_queue_full;     /* holes skipped because the hold queue was full */
    uint64_t nids_lookups_from_flow; /* libnids' stream lookups answered from the flow (nids_find_tcp_stream) */
};

struct reasm;

/* One instance per process (libnids has global state). NULL on failure,
 * with a message on stderr. */
struct reasm *reasm_new(const struct reasm_opts *o, const struct reasm_callbacks *cb);
void reasm_packet(struct reasm *r, const struct timeval *ts, const struct decoded_ip *ip,
                  uint32_t wire_len);
/* Expires idle flows as of `now` (capture time). Called per packet too. */
void reasm_expire(struct reasm *r, const struct timeval *now);
/* No more payload of this direction (what REASM_STOP_* asks for). */
void reasm_stop_collect(struct reasm *r, struct flow *f, enum flow_dir dir);
/* Ends every flow (end of capture) and releases libnids. */
void reasm_finish(struct reasm *r);
void reasm_free(struct reasm *r);
const struct reasm_stats *reasm_stats(const struct reasm *r);
size_t reasm_active_flows(const struct reasm *r);
const char *reasm_nids_warning_name(int errnum);

#endif
