/* Flow table: uthash keyed with SipHash plus an intrusive LRU list (head =
 * most recently seen). Idle expiry walks from the tail; eviction when full
 * takes the tail too. */
#include "flow.h"

#include "bytes.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The flow table's hash (every lookup is one per packet): keyed SipHash-1-3
 * over the bytes of the key that can differ. An IPv4 key without a tunnel
 * identity is 76 bytes of which 60 are always zero (flow_key_make clears
 * them): hashing the 16 others (family, tun_type, ports, addresses) takes 3
 * compression blocks instead of 10; an IPv6 key without one, its first 40
 * bytes. A key with a tunnel identity is hashed whole. Keys are compared
 * with flow_key_eq (16 bytes of an IPv4 key). */
static unsigned flow_key_hash(const struct flow_key *k)
{
    if (k->tun_type) return (unsigned)siphash13(siphash_key, k, sizeof *k);
    if (k->family == 6) return (unsigned)siphash13(siphash_key, k, offsetof(struct flow_key, tun_id));
    uint8_t b[16];
    memcpy(b, k, offsetof(struct flow_key, addr_a));
    memcpy(b + 8, k->addr_a, 4);
    memcpy(b + 12, k->addr_b, 4);
    return (unsigned)siphash13(siphash_key, b, sizeof b);
}
/* 16,384 buckets from the start (256 KiB) rather than 32: uthash doubles
 * its buckets only when one chain reaches 10, which leaves 1-2.5 flows per
 * bucket over a few thousand flows and a cache miss for each one walked
 * (1.5% of the CPU on 100,000 connections, 1,000 at a time) */
#undef HASH_INITIAL_NUM_BUCKETS
#undef HASH_INITIAL_NUM_BUCKETS_LOG2
#define HASH_INITIAL_NUM_BUCKETS 16384U
#define HASH_INITIAL_NUM_BUCKETS_LOG2 14U
#undef HASH_KEYCMP
#define HASH_KEYCMP(a, b, n) \
    (flow_key_eq((const struct flow_key *)(const void *)(a), (const struct flow_key *)(const void *)(b)) ? 0 : 1)
#undef HASH_FUNCTION
#define HASH_FUNCTION(keyptr, keylen, hashv)                                  \
    do {                                                                      \
        (void)(keylen);                                                       \
        (hashv) = flow_key_hash((const struct flow_key *)(const void *)(keyptr)); \
    } while (0)

struct flow_table {
    struct flow *hash;
    struct flow *lru_head, *lru_tail;
    struct flow *closed_head, *closed_tail; /* head: closed first */
    size_t nclosed;
    size_t count, max;
    uint64_t next_id;
    flow_release_fn release;
    void *release_ctx;
};

static const char *const end_names[] = {
    [FLOW_END_NONE] = "open",       [FLOW_END_FIN] = "fin",
    [FLOW_END_RST] = "rst",         [FLOW_END_IDLE] = "idle",
    [FLOW_END_EOF] = "end_of_capture", [FLOW_END_REUSED] = "port_reused",
    [FLOW_END_EVICTED] = "evicted",
};

const char *flow_end_name(enum flow_end e)
{
    if ((unsigned)e < sizeof end_names / sizeof end_names[0] && end_names[e]) return end_names[e];
    return "unknown";
}

struct flow_table *flow_table_new(size_t max_flows)
{
    struct flow_table *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->max = max_flows ? max_flows : 1;
    /* flow ids: random start so ids from two runs don't collide in one index */
    t->next_id = siphash24(siphash_key, "flow-id", 7) & 0x0000ffffffffffffULL;
    return t;
}

void flow_table_set_release(struct flow_table *t, flow_release_fn fn, void *ctx)
{
    t->release = fn;
    t->release_ctx = ctx;
}

void flow_table_destroy(struct flow_table *t)
{
    if (!t) return;
    while (t->lru_tail) flow_free(t->lru_tail);
    free(t);
}

/* memcmp's order of the addresses (as big-endian numbers), then the ports;
 * inlined loads rather than a library call for every packet. */
static int endpoint_cmp(size_t alen, const uint8_t *a1, uint16_t p1, const uint8_t *a2, uint16_t p2)
{
    if (alen == 4) {
        uint32_t x = be32(a1), y = be32(a2);
        if (x != y) return x < y ? -1 : 1;
    } else {
        uint64_t x = be64(a1), y = be64(a2);
        if (x == y) {
            x = be64(a1 + 8);
            y = be64(a2 + 8);
        }
        if (x != y) return x < y ? -1 : 1;
    }
    return (p1 > p2) - (p1 < p2);
}

/* The key is written in whole 64-bit words, each stored once: the next
 * reads of it (flow_key_eq's first word, SipHash's words) then forward from
 * those stores, where a memset followed by 1-, 2- and 4-byte stores made
 * every 8-byte load wait for the stores to reach the cache (a stall of
 * about 2% of a run's time on the first load of the key). */
_Static_assert(sizeof(struct flow_key) == 76 && offsetof(struct flow_key, port_a) == 4 &&
                   offsetof(struct flow_key, port_b) == 6 && offsetof(struct flow_key, addr_a) == 8 &&
                   offsetof(struct flow_key, addr_b) == 24 && offsetof(struct flow_key, tun_id) == 40,
               "flow_key_make writes the key as nine words and a tail");

static inline uint64_t word_of(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Four address bytes followed by four zero bytes, as memory holds them. */
static inline uint64_t word_of4(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (uint64_t)v << 32;
#else
    return v;
#endif
}

void flow_key_make(struct flow_key *k, int family, const uint8_t *saddr, uint16_t sport,
                   const uint8_t *daddr, uint16_t dport)
{
    size_t alen = family == 6 ? 16 : 4;
    const uint8_t *a = saddr, *b = daddr;
    uint16_t pa = sport, pb = dport;
    if (endpoint_cmp(alen, saddr, sport, daddr, dport) > 0) {
        a = daddr;
        b = saddr;
        pa = dport;
        pb = sport;
    }
    /* family, no tunnel, the ports: the first word, built in a register */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint64_t w0 = (uint64_t)(uint8_t)family << 56 | (uint64_t)pa << 16 | pb;
#else
    uint64_t w0 = (uint8_t)family | (uint64_t)pa << 32 | (uint64_t)pb << 48;
#endif
    uint64_t w1, w2, w3, w4;
    if (alen == 4) {
        w1 = word_of4(a);
        w2 = 0;
        w3 = word_of4(b);
        w4 = 0;
    } else {
        w1 = word_of(a);
        w2 = word_of(a + 8);
        w3 = word_of(b);
        w4 = word_of(b + 8);
    }
    uint8_t *o = (uint8_t *)k;
    const uint64_t z = 0;
    memcpy(o, &w0, 8);
    memcpy(o + 8, &w1, 8);
    memcpy(o + 16, &w2, 8);
    memcpy(o + 24, &w3, 8);
    memcpy(o + 32, &w4, 8);
    for (size_t i = 40; i < 72; i += 8) memcpy(o + i, &z, 8);
    memcpy(o + 72, &z, 4);
}

void flow_key_tunnel(struct flow_key *k, int type, uint32_t id, int ofamily, const uint8_t *oa,
                     const uint8_t *ob)
{
    k->tun_type = (uint8_t)type;
    k->tun_id = id;
    if (!oa || !ob || (ofamily != 4 && ofamily != 6)) return;
    size_t alen = ofamily == 6 ? 16 : 4;
    int swap = memcmp(oa, ob, alen) > 0;
    k->tun_family = (uint8_t)ofamily;
    memcpy(k->tun_a, swap ? ob : oa, alen);
    memcpy(k->tun_b, swap ? oa : ob, alen);
}

struct flow *flow_lookup(struct flow_table *t, const struct flow_key *k)
{
    struct flow *f = NULL;
    HASH_FIND(hh, t->hash, k, sizeof *k, f);
    return f;
}

static void lru_unlink(struct flow_table *t, struct flow *f)
{
    if (f->lru_prev) f->lru_prev->lru_next = f->lru_next;
    else t->lru_head = f->lru_next;
    if (f->lru_next) f->lru_next->lru_prev = f->lru_prev;
    else t->lru_tail = f->lru_prev;
    f->lru_prev = f->lru_next = NULL;
}

static void lru_push_head(struct flow_table *t, struct flow *f)
{
    f->lru_prev = NULL;
    f->lru_next = t->lru_head;
    if (t->lru_head) t->lru_head->lru_prev = f;
    t->lru_head = f;
    if (!t->lru_tail) t->lru_tail = f;
}

/* Computed when an event is written (a SHA-1: only reported flows pay). */
const char *flow_community_id(const struct flow *f, char out[COMMUNITY_ID_LEN])
{
    if (community_id_v1(0, f->key.family, f->cli.addr, f->srv.addr, 6, f->cli.port, f->srv.port, out) != 0)
        out[0] = '\0';
    return out;
}

struct flow *flow_create(struct flow_table *t, const struct flow_key *k, const uint8_t *caddr,
                         uint16_t cport, const uint8_t *saddr, uint16_t sport,
                         const struct timeval *ts)
{
    struct flow *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    size_t alen = k->family == 6 ? 16 : 4;
    f->key = *k;
    memcpy(f->cli.addr, caddr, alen);
    f->cli.port = cport;
    memcpy(f->srv.addr, saddr, alen);
    f->srv.port = sport;
    f->id = t->next_id++;
    f->first_ts = f->last_ts = *ts;
    f->table = t;
    f->tcp[0].collect = f->tcp[1].collect = 1;
    HASH_ADD(hh, t->hash, key, sizeof f->key, f);
    lru_push_head(t, f);
    t->count++;
    return f;
}

void flow_swap_roles(struct flow *f)
{
    struct flow_endpoint e = f->cli;
    f->cli = f->srv;
    f->srv = e;
    uint64_t tmp;
    tmp = f->pkts[0]; f->pkts[0] = f->pkts[1]; f->pkts[1] = tmp;
    tmp = f->bytes[0]; f->bytes[0] = f->bytes[1]; f->bytes[1] = tmp;
    tmp = f->payload[0]; f->payload[0] = f->payload[1]; f->payload[1] = tmp;
    uint32_t g = f->gaps[0]; f->gaps[0] = f->gaps[1]; f->gaps[1] = g;
    struct flow_tcp_dir d = f->tcp[0];
    f->tcp[0] = f->tcp[1];
    f->tcp[1] = d;
    uint8_t o[16];
    memcpy(o, f->tun.outer_cli, 16);
    memcpy(f->tun.outer_cli, f->tun.outer_srv, 16);
    memcpy(f->tun.outer_srv, o, 16);
}

enum flow_dir flow_dir_of(const struct flow *f, const uint8_t *saddr, uint16_t sport)
{
    size_t alen = f->key.family == 6 ? 16 : 4;
    if (sport == f->cli.port && memcmp(saddr, f->cli.addr, alen) == 0) return DIR_TO_SERVER;
    return DIR_TO_CLIENT;
}

void flow_touch(struct flow *f, const struct timeval *ts)
{
    if (ts->tv_sec > f->last_ts.tv_sec ||
        (ts->tv_sec == f->last_ts.tv_sec && ts->tv_usec > f->last_ts.tv_usec))
        f->last_ts = *ts;
    if (f->table->lru_head != f) {
        lru_unlink(f->table, f);
        lru_push_head(f->table, f);
    }
}

struct flow *flow_oldest(struct flow_table *t) { return t->lru_tail; }
size_t flow_count(const struct flow_table *t) { return t->count; }
size_t flow_table_max(const struct flow_table *t) { return t->max; }

void flow_mark_closed(struct flow *f)
{
    struct flow_table *t = f->table;
    if (f->in_closed) return;
    f->in_closed = 1;
    f->closed_next = NULL;
    f->closed_prev = t->closed_tail;
    if (t->closed_tail) t->closed_tail->closed_next = f;
    else t->closed_head = f;
    t->closed_tail = f;
    t->nclosed++;
}

void flow_unmark_closed(struct flow *f)
{
    struct flow_table *t = f->table;
    if (!f->in_closed) return;
    if (f->closed_prev) f->closed_prev->closed_next = f->closed_next;
    else t->closed_head = f->closed_next;
    if (f->closed_next) f->closed_next->closed_prev = f->closed_prev;
    else t->closed_tail = f->closed_prev;
    f->closed_prev = f->closed_next = NULL;
    f->in_closed = 0;
    t->nclosed--;
}

struct flow *flow_oldest_closed(struct flow_table *t) { return t->closed_head; }
size_t flow_closed_count(const struct flow_table *t) { return t->nclosed; }

void flow_free(struct flow *f)
{
    struct flow_table *t = f->table;
    HASH_DELETE(hh, t->hash, f);
    lru_unlink(t, f);
    flow_unmark_closed(f);
    t->count--;
    if (t->release) t->release(f, t->release_ctx);
    free(f);
}

void flow_table_foreach(struct flow_table *t, void (*fn)(struct flow *f, void *ctx), void *ctx)
{
    struct flow *f = t->lru_tail;
    while (f) {
        struct flow *prev = f->lru_prev;
        fn(f, ctx);
        f = prev;
    }
}

int flow_family(const struct flow *f) { return f->key.family; }

void flow_addr_str(const struct flow *f, const uint8_t *addr, char *buf, size_t len)
{
    if (!inet_ntop(f->key.family == 6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len) && len)
        buf[0] = '\0';
}
