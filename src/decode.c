/* Link layers down to IP. Every read is bounds-checked against caplen; a
 * frame that ends early is DECODE_TRUNCATED, never an over-read. Tag stacks
 * (VLAN, MPLS) are walked with a bound so a crafted frame can't loop. */
#include "decode.h"

#include <pcap/pcap.h>

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

static uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static uint32_t le32(const uint8_t *p)
{
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

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

static enum decode_result ip_any(const uint8_t *p, size_t len, int want_family,
                                 struct decoded_ip *out, struct decode_stats *st)
{
    if (len < 1) return DECODE_TRUNCATED;
    int v = p[0] >> 4;
    if (want_family && v != want_family) return DECODE_BAD_IP;
    if (v == 4) {
        if (len < 20) return DECODE_TRUNCATED;
        size_t hl = (size_t)(p[0] & 0x0f) * 4;
        size_t tot = be16(p + 2);
        if (hl < 20 || tot < hl) return DECODE_BAD_IP;
        if (len < hl) return DECODE_TRUNCATED;
        out->family = 4;
        out->ip = p;
        out->wire_ip_len = tot;
        out->truncated = len < tot;
        out->len = len < tot ? len : tot; /* drop Ethernet padding */
        st->ok++;
        return DECODE_OK;
    }
    if (v == 6) {
        if (len < 40) return DECODE_TRUNCATED;
        size_t tot = 40 + (size_t)be16(p + 4);
        out->family = 6;
        out->ip = p;
        out->wire_ip_len = tot;
        out->truncated = len < tot;
        out->len = len < tot ? len : tot;
        st->ok++;
        return DECODE_OK;
    }
    return DECODE_BAD_IP;
}

/* Dispatch on an EtherType, walking VLAN/QinQ, MPLS and PPPoE. */
static enum decode_result ethertype(uint16_t type, const uint8_t *p, size_t len,
                                    struct decoded_ip *out, struct decode_stats *st)
{
    for (int depth = 0; depth < MAX_TAGS; depth++) {
        switch (type) {
        case ETH_IPV4:
            return ip_any(p, len, 4, out, st);
        case ETH_IPV6:
            return ip_any(p, len, 6, out, st);
        case ETH_VLAN:
        case ETH_QINQ:
        case ETH_QINQ_OLD:
            if (len < 4) return DECODE_TRUNCATED;
            st->vlan++;
            type = be16(p + 2);
            p += 4;
            len -= 4;
            continue;
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
            return ip_any(p, len, 0, out, st);
        case ETH_PPPOE_SESS: {
            if (len < 8) return DECODE_TRUNCATED;
            st->pppoe++;
            uint16_t proto = be16(p + 6);
            p += 8;
            len -= 8;
            if (proto == PPP_IPV4) return ip_any(p, len, 4, out, st);
            if (proto == PPP_IPV6) return ip_any(p, len, 6, out, st);
            return DECODE_NOT_IP;
        }
        default:
            return DECODE_NOT_IP;
        }
    }
    return DECODE_UNSUPPORTED;
}

static enum decode_result af_family(uint32_t af, const uint8_t *p, size_t len,
                                    struct decoded_ip *out, struct decode_stats *st)
{
    if (af == 2) return ip_any(p, len, 4, out, st);
    /* AF_INET6 differs by OS: Linux 10, BSDs 24, FreeBSD 28, macOS 30 */
    if (af == 10 || af == 24 || af == 28 || af == 30) return ip_any(p, len, 6, out, st);
    return DECODE_NOT_IP;
}

static enum decode_result dispatch(int dlt, const uint8_t *f, size_t caplen,
                                   struct decoded_ip *out, struct decode_stats *st)
{
    switch (dlt) {
    case DLT_EN10MB:
        if (caplen < 14) return DECODE_TRUNCATED;
        if (be16(f + 12) < 0x0600) return DECODE_NOT_IP; /* 802.3 length + LLC */
        return ethertype(be16(f + 12), f + 14, caplen - 14, out, st);
    case DLT_LINUX_SLL:
        if (caplen < 16) return DECODE_TRUNCATED;
        return ethertype(be16(f + 14), f + 16, caplen - 16, out, st);
    case DLT_LINUX_SLL2:
        if (caplen < 20) return DECODE_TRUNCATED;
        return ethertype(be16(f), f + 20, caplen - 20, out, st);
    case DLT_NULL: {
        if (caplen < 4) return DECODE_TRUNCATED;
        /* host byte order of the capturing machine: try both */
        uint32_t le = le32(f), be = be32(f);
        return af_family(le < 256 ? le : be, f + 4, caplen - 4, out, st);
    }
    case DLT_LOOP:
        if (caplen < 4) return DECODE_TRUNCATED;
        return af_family(be32(f), f + 4, caplen - 4, out, st);
    case DLT_IPV4:
        return ip_any(f, caplen, 4, out, st);
    case DLT_IPV6:
        return ip_any(f, caplen, 6, out, st);
    default:
        if (decode_link_supported(dlt)) return ip_any(f, caplen, 0, out, st); /* RAW */
        return DECODE_UNSUPPORTED;
    }
}

enum decode_result decode_packet(int dlt, const uint8_t *frame, size_t caplen,
                                 struct decoded_ip *out, struct decode_stats *st)
{
    enum decode_result r = dispatch(dlt, frame, caplen, out, st);
    switch (r) {
    case DECODE_OK: break;
    case DECODE_NOT_IP: st->not_ip++; break;
    case DECODE_TRUNCATED: st->truncated++; break;
    case DECODE_BAD_IP: st->bad_ip++; break;
    case DECODE_UNSUPPORTED: st->unsupported++; break;
    }
    return r;
}
