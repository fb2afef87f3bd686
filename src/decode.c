/* Link layers and tunnels down to IP. Every read is bounds-checked against
 * caplen; a frame that ends early is DECODE_TRUNCATED, never an over-read.
 * Tag stacks (VLAN, MPLS, CMD) are walked with a bound and tunnels nest at
 * most DECODE_MAX_TUNNELS deep (ip_layer -> tunnel -> decap -> ip_layer is
 * the only recursion), so a crafted frame can't loop. */
#include "decode.h"

#include "bytes.h"

#include <pcap/pcap.h>
#include <string.h>

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100
#define ETH_MPLS 0x8847
#define ETH_MPLS_MC 0x8848
#define ETH_PPPOE_SESS 0x8864
#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057
#define ETH_TEB 0x6558      /* transparent Ethernet bridging */
#define ETH_ERSPAN12 0x88be /* ERSPAN type I and II */
#define ETH_ERSPAN3 0x22eb
#define ETH_CMD 0x8909      /* Cisco MetaData (TrustSec SGT) */
#define MAX_TAGS 8

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#define LINKTYPE_RAW_ALT 101 /* LINKTYPE_RAW, if a reader didn't map it */


int decode_link_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2: case DLT_NULL: case DLT_LOOP:
    case DLT_RAW: case LINKTYPE_RAW_ALT: case DLT_IPV4: case DLT_IPV6:
#if defined(DLT_RAW) && DLT_RAW != 14
    case 14: /* DLT_RAW on OpenBSD */
#endif
        return 1;
    default:
        return 0;
    }
}

const char *decode_link_name(int dlt)
{
    const char *n = pcap_datalink_val_to_name(dlt);
    return n ? n : "unknown";
}

/* One decode: where results and counters go, and how many tunnels deep. */
struct dctx {
    struct decoded_ip *out;
    struct decode_stats *st;
    int depth;
    int too_deep; /* a tunnel past DECODE_MAX_TUNNELS: the packet is unsupported */
};

static enum decode_result ip_layer(struct dctx *c, const uint8_t *p, size_t len, int want_family);
static enum decode_result ethertype(struct dctx *c, uint16_t type, const uint8_t *p, size_t len);

/* The IP header at p, checked: version, header and total lengths. */
static enum decode_result ip_parse(const uint8_t *p, size_t len, int want_family,
                                   struct decoded_ip *ip)
{
    if (len < 1) return DECODE_TRUNCATED;
    int v = p[0] >> 4;
    if (want_family && v != want_family) return DECODE_BAD_IP;
    size_t hl, tot;
    if (v == 4) {
        if (len < 20) return DECODE_TRUNCATED;
        hl = (size_t)(p[0] & 0x0f) * 4;
        tot = be16(p + 2);
        if (hl < 20 || tot < hl) return DECODE_BAD_IP;
        if (len < hl) return DECODE_TRUNCATED;
    } else if (v == 6) {
        if (len < 40) return DECODE_TRUNCATED;
        tot = 40 + (size_t)be16(p + 4);
    } else {
        return DECODE_BAD_IP;
    }
    ip->family = v;
    ip->ip = p;
    ip->wire_ip_len = tot;
    ip->truncated = len < tot;
    ip->len = len < tot ? len : tot; /* drop Ethernet padding */
    return DECODE_OK;
}

/* ------------------------------------------------------------- tunnels
 *
 * A tunnel is decapsulated only when what it carries parses as IP (through
 * an inner Ethernet header for the layer-2 ones); otherwise the packet stays
 * the outer UDP/GRE/IP packet (not TLS-relevant), counted in
 * tunnel_fallback. Each tunnel is one level of depth, DECODE_MAX_TUNNELS at
 * most. Every header length read from the wire is checked against the
 * bytes captured before it is used. */

/* The outer IP header of the tunnel being decapsulated, and the payload its
 * header claims (IP payload or UDP payload). */
struct outer {
    const struct decoded_ip *ip;
    const uint8_t *pl;
    size_t pl_len; /* captured bytes of the payload */
};

static void outer_addrs(const struct decoded_ip *ip, uint8_t src[16], uint8_t dst[16])
{
    size_t alen = ip->family == 6 ? 16 : 4;
    memset(src, 0, 16);
    memset(dst, 0, 16);
    memcpy(src, ip->ip + (ip->family == 6 ? 8 : 12), alen);
    memcpy(dst, ip->ip + (ip->family == 6 ? 24 : 16), alen);
}

/* Decapsulates what the tunnel `type` carries at p: an inner IP packet
 * (inner_eth 0, family by version nibble when want_family is 0) or an
 * inner Ethernet frame (inner_eth 1). id < 0: the tunnel has no identity.
 * DECODE_OK when the inside is IP (c->out is the inner packet); anything
 * else: not decapsulated (c->out untouched). */
static enum decode_result decap(struct dctx *c, const struct outer *o, enum decode_tunnel type,
                                int64_t id, const uint8_t *p, size_t len, int inner_eth,
                                int want_family)
{
    if (c->depth >= DECODE_MAX_TUNNELS) {
        if (!c->too_deep) c->st->tunnel_too_deep++;
        c->too_deep = 1;
        return DECODE_UNSUPPORTED;
    }
    c->depth++;
    enum decode_result r;
    if (inner_eth) {
        if (len < 14) r = DECODE_TRUNCATED;
        else if (be16(p + 12) < 0x0600) r = DECODE_NOT_IP;
        else r = ethertype(c, be16(p + 12), p + 14, len - 14);
    } else {
        r = ip_layer(c, p, len, want_family);
    }
    c->depth--;
    if (r != DECODE_OK) return r;
    struct decoded_tunnel *t = &c->out->tun;
    c->st->tunnel[type]++;
    t->depth++;
    if (t->type == TUN_NONE) { /* the innermost tunnel: the first to get here */
        t->type = (uint8_t)type;
        t->outer_family = (uint8_t)o->ip->family;
        t->has_id = id >= 0;
        t->id = id >= 0 ? (uint32_t)id : 0;
        outer_addrs(o->ip, t->outer_src, t->outer_dst);
    }
    if (t->key_type == TUN_NONE && (id >= 0 || type == TUN_GTPU)) {
        /* the innermost tunnel with an identity keys the flow */
        t->key_type = (uint8_t)type;
        t->key_id = id >= 0 ? (uint32_t)id : 0;
        t->key_family = 0;
        if (type == TUN_GTPU) {
            t->key_family = (uint8_t)o->ip->family;
            outer_addrs(o->ip, t->key_src, t->key_dst);
        }
    }
    return DECODE_OK;
}

/* VXLAN (RFC 7348): flags (I = 0x08 must be set), 3 reserved, VNI (24 bits),
 * 1 reserved; an Ethernet frame follows. */
static enum decode_result vxlan(struct dctx *c, const struct outer *o)
{
    const uint8_t *p = o->pl;
    if (o->pl_len < 8) return DECODE_TRUNCATED;
    if (!(p[0] & 0x08)) return DECODE_BAD_IP;
    int64_t vni = (int64_t)(be32(p + 4) >> 8);
    return decap(c, o, TUN_VXLAN, vni, p + 8, o->pl_len - 8, 1, 0);
}

/* Geneve (RFC 8926): ver (2 bits, 0) | option length (6 bits, 4-byte
 * words), O C flags, protocol type, VNI (24 bits), reserved; options; then
 * Ethernet (0x6558) or IP (0x0800, 0x86dd). */
static enum decode_result geneve(struct dctx *c, const struct outer *o)
{
    const uint8_t *p = o->pl;
    if (o->pl_len < 8) return DECODE_TRUNCATED;
    if (p[0] >> 6) return DECODE_UNSUPPORTED;
    size_t hl = 8 + (size_t)(p[0] & 0x3f) * 4;
    if (o->pl_len < hl) return DECODE_TRUNCATED;
    uint16_t proto = be16(p + 2);
    int64_t vni = (int64_t)(be32(p + 4) >> 8);
    if (proto == ETH_TEB) return decap(c, o, TUN_GENEVE, vni, p + hl, o->pl_len - hl, 1, 0);
    if (proto == ETH_IPV4) return decap(c, o, TUN_GENEVE, vni, p + hl, o->pl_len - hl, 0, 4);
    if (proto == ETH_IPV6) return decap(c, o, TUN_GENEVE, vni, p + hl, o->pl_len - hl, 0, 6);
    return DECODE_NOT_IP;
}

/* GTP-U (3GPP TS 29.281): version 1, PT 1, E S PN flags; message type 255
 * (G-PDU), length (after the 8 mandatory bytes), TEID; with any of E S PN,
 * 4 more bytes (sequence, N-PDU, next extension type); extension headers
 * (length in 4-byte words, the last byte the next type) while the type is
 * not 0. The inner packet's IP version says its family. Flows are keyed by
 * the outer endpoint pair, not the TEID: each direction has its own TEID. */
#define GTPU_MAX_EXT 16
static enum decode_result gtpu(struct dctx *c, const struct outer *o)
{
    const uint8_t *p = o->pl;
    size_t len = o->pl_len;
    if (len < 8) return DECODE_TRUNCATED;
    if ((p[0] >> 5) != 1 || !(p[0] & 0x10)) return DECODE_UNSUPPORTED;
    if (p[1] != 0xff) return DECODE_NOT_IP; /* echo, error indication, end marker */
    size_t glen = be16(p + 2);
    if (len > 8 + glen) len = 8 + glen; /* trailing bytes are not the T-PDU */
    size_t off = 8;
    if (p[0] & 0x07) {
        if (len < 12) return DECODE_TRUNCATED;
        uint8_t next = (p[0] & 0x04) ? p[11] : 0;
        off = 12;
        for (int i = 0; next; i++) {
            if (i >= GTPU_MAX_EXT) return DECODE_UNSUPPORTED;
            if (len < off + 1) return DECODE_TRUNCATED;
            size_t el = (size_t)p[off] * 4;
            if (el == 0) return DECODE_BAD_IP;
            if (len < off + el) return DECODE_TRUNCATED;
            next = p[off + el - 1];
            off += el;
        }
    }
    return decap(c, o, TUN_GTPU, -1, p + off, len - off, 0, 0);
}

/* Teredo (RFC 4380): IPv6 in UDP, after an optional authentication header
 * (0x0001, client id length, auth value length, id, value, 8-byte nonce,
 * confirmation byte) and an optional origin indication (0x0000, 8 bytes). */
static enum decode_result teredo(struct dctx *c, const struct outer *o)
{
    const uint8_t *p = o->pl;
    size_t len = o->pl_len, off = 0;
    if (len >= 2 && be16(p) == 0x0001) {
        if (len < 4) return DECODE_TRUNCATED;
        off = 4 + (size_t)p[2] + p[3] + 9;
        if (len < off) return DECODE_TRUNCATED;
    }
    if (len >= off + 2 && be16(p + off) == 0x0000) {
        off += 8;
        if (len < off) return DECODE_TRUNCATED;
    }
    if (len < off + 1) return DECODE_TRUNCATED;
    return decap(c, o, TUN_TEREDO, -1, p + off, len - off, 0, 6);
}

/* GRE (RFC 2784/2890), version 0 only (version 1 is PPTP's enhanced GRE):
 * flags C (checksum + reserved, 4 bytes), K (key, 4), S (sequence, 4);
 * routing (R) is not decoded. Protocols: IPv4, IPv6, Ethernet (0x6558),
 * ERSPAN type I (0x88be without S: Ethernet follows) and II (0x88be with
 * S: 8-byte header), ERSPAN type III (0x22eb: 12 bytes, + 8 with O). */
static enum decode_result gre(struct dctx *c, const struct outer *o)
{
    const uint8_t *p = o->pl;
    size_t len = o->pl_len;
    if (len < 4) return DECODE_TRUNCATED;
    uint16_t fl = be16(p), proto = be16(p + 2);
    if ((fl & 0x0007) != 0) return DECODE_UNSUPPORTED; /* PPTP */
    if (fl & 0x4000) return DECODE_UNSUPPORTED;         /* source routing */
    size_t off = 4;
    int64_t key = -1;
    if (fl & 0x8000) off += 4;
    if (fl & 0x2000) {
        if (len < off + 4) return DECODE_TRUNCATED;
        key = be32(p + off);
        off += 4;
    }
    int seq = (fl & 0x1000) != 0;
    if (seq) off += 4;
    if (len < off) return DECODE_TRUNCATED;
    p += off;
    len -= off;
    switch (proto) {
    case ETH_IPV4: return decap(c, o, TUN_GRE, key, p, len, 0, 4);
    case ETH_IPV6: return decap(c, o, TUN_GRE, key, p, len, 0, 6);
    case ETH_TEB: return decap(c, o, TUN_GRE, key, p, len, 1, 0);
    case ETH_ERSPAN12:
        if (!seq) return decap(c, o, TUN_ERSPAN1, -1, p, len, 1, 0);
        if (len < 8) return DECODE_TRUNCATED;
        if ((p[0] >> 4) != 1) return DECODE_UNSUPPORTED;
        return decap(c, o, TUN_ERSPAN2, be16(p + 2) & 0x3ff, p + 8, len - 8, 1, 0);
    case ETH_ERSPAN3: {
        if (len < 12) return DECODE_TRUNCATED;
        if ((p[0] >> 4) != 2) return DECODE_UNSUPPORTED;
        if ((p[10] >> 2) & 0x1f) return DECODE_UNSUPPORTED; /* frame type: Ethernet only */
        size_t hl = (p[11] & 0x01) ? 20 : 12;                /* O: platform subheader */
        if (len < hl) return DECODE_TRUNCATED;
        return decap(c, o, TUN_ERSPAN3, be16(p + 2) & 0x3ff, p + hl, len - hl, 1, 0);
    }
    default:
        return DECODE_NOT_IP;
    }
}

/* The transport payload of an IP packet: IPv4 protocol / IPv6 next header
 * (after hop-by-hop, routing and destination options) and where it starts.
 * Non-zero when there is none to look at (fragments, truncation). */
static int ip_payload(const struct decoded_ip *ip, uint8_t *proto, size_t *off, int *frag)
{
    const uint8_t *p = ip->ip;
    *frag = 0;
    if (ip->family == 4) {
        *proto = p[9];
        *off = (size_t)(p[0] & 0x0f) * 4;
        *frag = (be16(p + 6) & 0x3fff) != 0;
        return 0;
    }
    uint8_t nh = p[6];
    size_t o = 40;
    for (int i = 0; i < 4; i++) {
        if (nh != 0 && nh != 43 && nh != 60) {
            *proto = nh;
            *off = o;
            *frag = nh == 44;
            return 0;
        }
        if (ip->len < o + 8) return -1;
        nh = p[o];
        o += ((size_t)p[o + 1] + 1) * 8;
    }
    return -1;
}

#define UDP_VXLAN 4789
#define UDP_VXLAN_LINUX 8472
#define UDP_GENEVE 6081
#define UDP_GTPU 2152
#define UDP_TEREDO 3544

static int tunnel_port(uint16_t sp, uint16_t dp)
{
    return dp == UDP_VXLAN || dp == UDP_VXLAN_LINUX || dp == UDP_GENEVE || dp == UDP_GTPU ||
           dp == UDP_TEREDO || sp == UDP_TEREDO;
}

/* A tunnel inside this IP packet? DECODE_OK: decapsulated into c->out;
 * DECODE_UNSUPPORTED: a tunnel we do not follow (outer fragment, too
 * deep): the packet is dropped; anything else: not a tunnel (or not one
 * whose inside is IP): the caller keeps the packet as it is. */
static enum decode_result tunnel(struct dctx *c, const struct decoded_ip *ip)
{
    uint8_t proto;
    size_t off;
    int frag;
    if (ip_payload(ip, &proto, &off, &frag) != 0 || off > ip->len) return DECODE_NOT_IP;
    struct outer o = { ip, ip->ip + off, ip->len - off };
    enum decode_result r;
    switch (proto) {
    case 4: case 41: case 47: break;
    case 17: break;
    default: return DECODE_NOT_IP;
    }
    if (frag) {
        /* IPv6 fragments: left to reassembly, which counts them */
        if (ip->family == 6) return DECODE_NOT_IP;
        if (proto == 17) {
            int first = (be16(ip->ip + 6) & 0x1fff) == 0;
            if (!first || o.pl_len < 4 || !tunnel_port(be16(o.pl), be16(o.pl + 2))) return DECODE_NOT_IP;
        }
        c->st->tunnel_fragment++;
        return DECODE_UNSUPPORTED;
    }
    if (proto == 17) {
        if (o.pl_len < 8) return DECODE_NOT_IP;
        uint16_t sp = be16(o.pl), dp = be16(o.pl + 2), ul = be16(o.pl + 4);
        if (ul < 8) return DECODE_NOT_IP;
        size_t n = o.pl_len - 8;
        if (n > (size_t)ul - 8) n = (size_t)ul - 8;
        o.pl += 8;
        o.pl_len = n;
        if (dp == UDP_VXLAN || dp == UDP_VXLAN_LINUX) r = vxlan(c, &o);
        else if (dp == UDP_GENEVE) r = geneve(c, &o);
        else if (dp == UDP_GTPU) r = gtpu(c, &o);
        else if (dp == UDP_TEREDO || sp == UDP_TEREDO) r = teredo(c, &o);
        else return DECODE_NOT_IP;
    } else if (proto == 47) {
        r = gre(c, &o);
    } else {
        enum decode_tunnel t = ip->family == 4 ? (proto == 4 ? TUN_IPIP : TUN_6IN4)
                                               : (proto == 4 ? TUN_4IN6 : TUN_IP6IP6);
        r = decap(c, &o, t, -1, o.pl, o.pl_len, 0, proto == 4 ? 4 : 6);
    }
    if (r == DECODE_OK) return r;
    if (c->too_deep) return DECODE_UNSUPPORTED; /* the whole packet, not a level of it */
    c->st->tunnel_fallback++;
    return DECODE_NOT_IP;
}

/* An IP packet at p: itself, or the IP packet a tunnel inside it carries. */
static enum decode_result ip_layer(struct dctx *c, const uint8_t *p, size_t len, int want_family)
{
    struct decoded_ip ip;
    enum decode_result r = ip_parse(p, len, want_family, &ip);
    if (r != DECODE_OK) return r;
    r = tunnel(c, &ip);
    if (r == DECODE_OK || r == DECODE_UNSUPPORTED) return r;
    c->out->family = ip.family;
    c->out->ip = ip.ip;
    c->out->len = ip.len;
    c->out->wire_ip_len = ip.wire_ip_len;
    c->out->truncated = ip.truncated;
    return DECODE_OK;
}

/* Dispatch on an EtherType, walking VLAN/QinQ, MPLS, PPPoE and Cisco
 * MetaData (SGT) headers. */
static enum decode_result ethertype(struct dctx *c, uint16_t type, const uint8_t *p, size_t len)
{
    struct decode_stats *st = c->st;
    for (int depth = 0; depth < MAX_TAGS; depth++) {
        switch (type) {
        case ETH_IPV4:
            return ip_layer(c, p, len, 4);
        case ETH_IPV6:
            return ip_layer(c, p, len, 6);
        case ETH_VLAN:
        case ETH_QINQ:
        case ETH_QINQ_OLD:
            if (len < 4) return DECODE_TRUNCATED;
            st->vlan++;
            type = be16(p + 2);
            p += 4;
            len -= 4;
            continue;
        case ETH_CMD: {
            /* Cisco MetaData: version, length (8-byte units), option
             * (SGT option type 0x0001 + the 16-bit SGT)..., next EtherType.
             * TrustSec taps tag one direction only: the SGT is not part of
             * the flow key, the tag is skipped like a VLAN tag. */
            if (len < 8) return DECODE_TRUNCATED;
            size_t hl = (size_t)p[1] * 8;
            if (hl < 8) hl = 8;
            if (len < hl) return DECODE_TRUNCATED;
            st->cmd++;
            type = be16(p + hl - 2);
            p += hl;
            len -= hl;
            continue;
        }
        case ETH_MPLS:
        case ETH_MPLS_MC:
            st->mpls++;
            for (int labels = 0;; labels++) {
                if (len < 4) return DECODE_TRUNCATED;
                if (labels >= MAX_TAGS) return DECODE_UNSUPPORTED;
                uint32_t l = be32(p);
                p += 4;
                len -= 4;
                if (l & 0x100) break; /* bottom of stack */
            }
            /* No payload type in MPLS: the IP version nibble tells. */
            return ip_layer(c, p, len, 0);
        case ETH_PPPOE_SESS: {
            if (len < 8) return DECODE_TRUNCATED;
            st->pppoe++;
            uint16_t proto = be16(p + 6);
            p += 8;
            len -= 8;
            if (proto == PPP_IPV4) return ip_layer(c, p, len, 4);
            if (proto == PPP_IPV6) return ip_layer(c, p, len, 6);
            return DECODE_NOT_IP;
        }
        default:
            return DECODE_NOT_IP;
        }
    }
    return DECODE_UNSUPPORTED;
}

static enum decode_result af_family(struct dctx *c, uint32_t af, const uint8_t *p, size_t len)
{
    if (af == 2) return ip_layer(c, p, len, 4);
    /* AF_INET6 differs by OS: Linux 10, BSDs 24, FreeBSD 28, macOS 30 */
    if (af == 10 || af == 24 || af == 28 || af == 30) return ip_layer(c, p, len, 6);
    return DECODE_NOT_IP;
}

static enum decode_result dispatch(struct dctx *c, int dlt, const uint8_t *f, size_t caplen)
{
    switch (dlt) {
    case DLT_EN10MB:
        if (caplen < 14) return DECODE_TRUNCATED;
        if (be16(f + 12) < 0x0600) return DECODE_NOT_IP; /* 802.3 length + LLC */
        return ethertype(c, be16(f + 12), f + 14, caplen - 14);
    case DLT_LINUX_SLL:
        if (caplen < 16) return DECODE_TRUNCATED;
        return ethertype(c, be16(f + 14), f + 16, caplen - 16);
    case DLT_LINUX_SLL2:
        if (caplen < 20) return DECODE_TRUNCATED;
        return ethertype(c, be16(f), f + 20, caplen - 20);
    case DLT_NULL: {
        if (caplen < 4) return DECODE_TRUNCATED;
        /* host byte order of the capturing machine: try both */
        uint32_t le = le32(f), be = be32(f);
        return af_family(c, le < 256 ? le : be, f + 4, caplen - 4);
    }
    case DLT_LOOP:
        if (caplen < 4) return DECODE_TRUNCATED;
        return af_family(c, be32(f), f + 4, caplen - 4);
    case DLT_IPV4:
        return ip_layer(c, f, caplen, 4);
    case DLT_IPV6:
        return ip_layer(c, f, caplen, 6);
    default:
        if (decode_link_supported(dlt)) return ip_layer(c, f, caplen, 0); /* RAW */
        return DECODE_UNSUPPORTED;
    }
}

enum decode_result decode_packet(int dlt, const uint8_t *frame, size_t caplen,
                                 struct decoded_ip *out, struct decode_stats *st)
{
    /* only these are read when no tunnel is found: no per-packet memset */
    out->tun.type = TUN_NONE;
    out->tun.key_type = TUN_NONE;
    out->tun.depth = 0;
    struct dctx c = { out, st, 0, 0 };
    enum decode_result r = dispatch(&c, dlt, frame, caplen);
    switch (r) {
    case DECODE_OK: st->ok++; break;
    case DECODE_NOT_IP: st->not_ip++; break;
    case DECODE_TRUNCATED: st->truncated++; break;
    case DECODE_BAD_IP: st->bad_ip++; break;
    case DECODE_UNSUPPORTED: st->unsupported++; break;
    }
    return r;
}

const char *decode_tunnel_name(int type)
{
    static const char *const names[TUN_COUNT] = {
        [TUN_NONE] = "none",
#define X(e, n) [e] = n,
        DECODE_TUNNELS(X)
#undef X
    };
    if (type >= 0 && type < TUN_COUNT && names[type]) return names[type];
    return "unknown";
}
