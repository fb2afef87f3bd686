/* The flow table: one entry per TCP connection, keyed by a direction-free
 * 5-tuple, hashed with keyed SipHash (uthash HASH_FUNCTION), kept in LRU
 * order for idle expiry and eviction. flow_free() is the only place a flow's
 * memory is released; layers that hang state on a flow register a release
 * hook that flow_free() calls. */
#ifndef TLSWATCH_FLOW_H
#define TLSWATCH_FLOW_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>

#include "community_id.h"
#include "uthash_keyed.h"

enum flow_dir { DIR_TO_SERVER = 0, DIR_TO_CLIENT = 1 };

enum flow_end {
    FLOW_END_NONE = 0, /* still open */
    FLOW_END_FIN,      /* both sides (or one) closed with FIN */
    FLOW_END_RST,      /* reset */
    FLOW_END_IDLE,     /* idle timeout */
    FLOW_END_EOF,      /* end of capture */
    FLOW_END_REUSED,   /* a new SYN reused the 4-tuple */
    FLOW_END_EVICTED,  /* table full, least recently used evicted */
};
const char *flow_end_name(enum flow_end e);

struct flow_endpoint {
    uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
    uint16_t port;    /* host order */
};

/* Direction-free key: the smaller (addr, port) endpoint first, then the
 * tunnel identity, so that tenants with overlapping addresses behind one
 * mirror stay apart: the VXLAN/Geneve VNI, GRE key, ERSPAN session id
 * (tun_id), or for GTP-U the unordered pair of outer endpoint addresses
 * (tun_a < tun_b): GTP-U TEIDs differ per direction, so the TEID would
 * split a connection in two. tun_type 0: no identity (not tunnelled, or a
 * tunnel without one: IP-in-IP, GRE without key, Teredo; a Cisco SGT is
 * never part of the key). */
struct flow_key {
    uint8_t family;     /* 4 or 6 */
    uint8_t tun_type;   /* enum decode_tunnel of the identity, 0: none */
    uint8_t tun_family; /* GTP-U: family of tun_a/tun_b, else 0 */
    uint8_t pad;
    uint16_t port_a, port_b;
    uint8_t addr_a[16], addr_b[16];
    uint32_t tun_id;
    uint8_t tun_a[16], tun_b[16];
};

/* The innermost tunnel a flow came through (type 0: none), as the first
 * tunnelled packet of the flow showed it, oriented client -> server. */
struct flow_tunnel {
    uint8_t type;   /* enum decode_tunnel */
    uint8_t family; /* of the outer addresses */
    uint8_t has_id;
    uint8_t depth;  /* tunnels around the flow's packets */
    uint32_t id;
    uint8_t outer_cli[16], outer_srv[16]; /* outer source of client -> server packets, destination */
};

/* Per-direction TCP facts, kept by reassembly.c from the packets themselves
 * (independent of what libnids makes of them). */
struct flow_tcp_dir {
    uint32_t isn;          /* SYN's sequence number (or synthesized) */
    uint32_t start_seq;    /* first payload byte's sequence number */
    uint32_t next_seq;     /* highest seq+len seen (wrap-aware) */
    uint64_t delivered;    /* payload bytes handed up in order */
    uint8_t syn_seen, fin_seen, rst_seen, seq_valid;
    uint8_t cksum_state;   /* checksum policy of this direction (reassembly.c) */
    uint8_t cksum_good;    /* good checksums in a row while undecided */
    uint32_t max_good_len; /* longest payload with a good checksum */
    uint8_t collect;       /* still wanted by the layer above */
    uint8_t ack_valid;     /* ack_max holds an ACK this direction sent */
    uint32_t ack_max;      /* highest ACK this direction sent (wrap-aware) */
    uint32_t filled;       /* bytes of proven holes passed over (reassembly.c) */
    uint32_t ooo_min;      /* lowest segment fed to libnids ahead of its next byte */
    uint8_t ooo_valid;
};

struct flow_table;

struct flow {
    struct flow_key key;
    struct flow_endpoint cli, srv; /* client = initiator (SYN sender or inferred) */
    uint64_t id;                   /* flow_id of events */
    struct timeval first_ts, last_ts;
    uint64_t pkts[2], bytes[2], payload[2]; /* indexed by enum flow_dir */
    enum flow_end end;
    uint8_t midstream;   /* no SYN seen: picked up mid-connection */
    uint8_t role_guessed; /* client/server chosen by heuristics, not SYN */
    uint8_t closed;      /* FIN/RST completed; lingers for trailing ACKs */
    uint8_t nids_est;    /* libnids has an established stream */
    uint32_t synack_ack; /* ack number of the SYN-ACK seen, if any */
    uint32_t gaps[2];    /* bytes known missing per direction (capture loss) */
    uint32_t holes[2];   /* holes the bypass tracker gave up as lost, per direction */
    uint32_t records_resynced;  /* set by the layer above: record streams found again after holes */
    uint64_t resync_skipped;    /* ... and the bytes they scanned past */
    struct flow_tcp_dir tcp[2];
    void *nids_stream;   /* owned by reassembly.c */
    void *bypass_q;      /* owned by reassembly.c: out-of-order hold queues (bypassed, on demand) */
    uint32_t bypass_next[2]; /* bypassed: sequence number of each direction's next in-order byte */
    uint8_t bypassed;    /* followed by reassembly.c's in-order tracker, not libnids */
    uint8_t bypass_pending; /* the layer above asked; applied after libnids returns */
    uint32_t v6_pseudo_id; /* reassembly.c: pseudo-IPv4 id of an IPv6 or tunnel-keyed flow */
    struct flow_tunnel tun;
    void *app;           /* owned by the layer above; freed by the release hook */
    uint8_t app_done;    /* the layer above is finished with this flow */
    struct flow *lru_prev, *lru_next;
    struct flow *closed_prev, *closed_next; /* closed flows, oldest close first */
    uint8_t in_closed;
    struct flow_table *table;
    UT_hash_handle hh;
};

typedef void (*flow_release_fn)(struct flow *f, void *ctx);

struct flow_table *flow_table_new(size_t max_flows);
void flow_table_destroy(struct flow_table *t); /* frees every flow via flow_free */
void flow_table_set_release(struct flow_table *t, flow_release_fn fn, void *ctx);

/* Equality of two keys made by flow_key_make (the bytes an address family
 * or a missing tunnel identity leaves unused are zero in both): 8 bytes of
 * family, tunnel type and ports, then the addresses; an IPv4 key without a
 * tunnel identity needs 16 bytes compared, not 76. */
_Static_assert(offsetof(struct flow_key, addr_a) == 8, "flow_key_eq compares the first 8 bytes as one word");
static inline int flow_key_eq(const struct flow_key *a, const struct flow_key *b)
{
    uint64_t ha, hb;
    memcpy(&ha, a, sizeof ha);
    memcpy(&hb, b, sizeof hb);
    if (ha != hb) return 0;
    if (a->family == 4 && !a->tun_type) {
        uint32_t x[2], y[2];
        memcpy(&x[0], a->addr_a, 4);
        memcpy(&x[1], a->addr_b, 4);
        memcpy(&y[0], b->addr_a, 4);
        memcpy(&y[1], b->addr_b, 4);
        return x[0] == y[0] && x[1] == y[1];
    }
    return memcmp(a, b, sizeof *a) == 0;
}

void flow_key_make(struct flow_key *k, int family, const uint8_t *saddr, uint16_t sport,
                   const uint8_t *daddr, uint16_t dport);
/* Adds a tunnel identity to a key made by flow_key_make: type and id, and
 * for GTP-U the outer endpoints (ofamily 4 or 6; stored in order). */
void flow_key_tunnel(struct flow_key *k, int type, uint32_t id, int ofamily, const uint8_t *oa,
                     const uint8_t *ob);
struct flow *flow_lookup(struct flow_table *t, const struct flow_key *k);
/* Creates a flow with the given client and server; NULL on allocation failure. */
struct flow *flow_create(struct flow_table *t, const struct flow_key *k, const uint8_t *caddr,
                         uint16_t cport, const uint8_t *saddr, uint16_t sport,
                         const struct timeval *ts);
/* Swaps client and server (used when a guess was wrong). */
void flow_swap_roles(struct flow *f);
/* The Community ID (v1, seed 0) of the flow, into out (computed each call:
 * only for events that are written). */
const char *flow_community_id(const struct flow *f, char out[COMMUNITY_ID_LEN]);
/* Direction of a packet from (addr, port). */
enum flow_dir flow_dir_of(const struct flow *f, const uint8_t *saddr, uint16_t sport);
void flow_touch(struct flow *f, const struct timeval *ts);
struct flow *flow_oldest(struct flow_table *t);
/* Closed connections (FIN both ways, or RST) linger a little for trailing
 * ACKs and retransmitted FINs, in a list of their own ordered by closing
 * time, so that the oldest closes can leave the table first when too many
 * closed connections are kept. */
void flow_mark_closed(struct flow *f);
void flow_unmark_closed(struct flow *f); /* reopened (a retransmitted SYN) */
struct flow *flow_oldest_closed(struct flow_table *t);
size_t flow_closed_count(const struct flow_table *t);
size_t flow_count(const struct flow_table *t);
size_t flow_table_max(const struct flow_table *t);
/* The only release point: unlinks, calls the release hook, frees. */
void flow_free(struct flow *f);

/* Calls fn for every flow, oldest first; fn may flow_free() its argument. */
void flow_table_foreach(struct flow_table *t, void (*fn)(struct flow *f, void *ctx), void *ctx);

int flow_family(const struct flow *f);
/* Formats an endpoint address ("10.0.0.1" / "2001:db8::1"). */
void flow_addr_str(const struct flow *f, const uint8_t *addr, char *buf, size_t len);

#endif
