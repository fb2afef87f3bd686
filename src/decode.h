/* Link-layer, tunnel and IP decoding: from a captured frame down to the
 * (innermost) IP packet handed to reassembly. tlswatch decodes link layers
 * itself because libnids alone rejects SLL2, LOOP, QinQ, PPPoE, MPLS and all
 * of IPv6; it decapsulates the tunnels of cloud traffic mirrors, SDN fabrics
 * and SPAN sessions (VXLAN, Geneve, GRE, ERSPAN, GTP-U, IP-in-IP, Teredo),
 * at most DECODE_MAX_TUNNELS deep. */
#ifndef TLSWATCH_DECODE_H
#define TLSWATCH_DECODE_H
#include <stddef.h>
#include <stdint.h>

enum decode_result {
    DECODE_OK = 0,
    DECODE_NOT_IP,      /* ARP, LLDP, ...: not ours, silently counted */
    DECODE_TRUNCATED,   /* frame shorter than its headers */
    DECODE_BAD_IP,      /* IP header inconsistent */
    DECODE_UNSUPPORTED, /* encapsulation we do not decode */
};

/* Tunnels decapsulated (stats index and the "tunnel" object's type). */
#define DECODE_TUNNELS(X)                                                     \
    X(TUN_VXLAN, "vxlan") X(TUN_GENEVE, "geneve") X(TUN_GRE, "gre")           \
    X(TUN_ERSPAN1, "erspan1") X(TUN_ERSPAN2, "erspan2")                       \
    X(TUN_ERSPAN3, "erspan3") X(TUN_GTPU, "gtpu") X(TUN_IPIP, "ipip")         \
    X(TUN_6IN4, "6in4") X(TUN_4IN6, "4in6") X(TUN_IP6IP6, "ip6ip6")           \
    X(TUN_TEREDO, "teredo")

enum decode_tunnel {
    TUN_NONE = 0,
#define X(e, n) e,
    DECODE_TUNNELS(X)
#undef X
    TUN_COUNT
};

#define DECODE_MAX_TUNNELS 4 /* nested encapsulations decoded, at most */

/* The innermost tunnel a packet came through (type TUN_NONE: none), and
 * the identity its flow is keyed by: the innermost tunnel that has one
 * (VXLAN/Geneve VNI, GRE key, ERSPAN session id; GTP-U: the outer endpoint
 * pair, since its TEIDs differ per direction). Tunnels without an identity
 * (IP-in-IP, GRE without key, Teredo) add nothing to the key. */
struct decoded_tunnel {
    uint8_t type;        /* enum decode_tunnel of the innermost tunnel */
    uint8_t outer_family; /* 4 or 6: the innermost tunnel's outer IP header */
    uint8_t has_id;      /* the innermost tunnel has an id (below) */
    uint8_t depth;       /* tunnels decapsulated */
    uint32_t id;
    uint8_t outer_src[16], outer_dst[16]; /* IPv4 in the first 4 bytes */
    /* flow key part: key_type 0 = none */
    uint8_t key_type, key_family;
    uint32_t key_id;
    uint8_t key_src[16], key_dst[16]; /* GTP-U only: outer endpoints */
};

struct decoded_ip {
    int family;         /* 4 or 6 */
    const uint8_t *ip;  /* start of the IP header */
    size_t len;         /* bytes from ip to the end of the IP packet (<= captured) */
    size_t wire_ip_len; /* IP total length claimed by the header */
    int truncated;      /* captured fewer bytes than the IP header claims (snaplen) */
    struct decoded_tunnel tun; /* tun.type TUN_NONE: not tunnelled */
};

struct decode_stats {
    uint64_t ok, not_ip, truncated, bad_ip, unsupported;
    uint64_t vlan, mpls, pppoe;
    uint64_t cmd;              /* Cisco MetaData (SGT) headers skipped */
    uint64_t tunnel[TUN_COUNT]; /* decapsulations, by tunnel type (each level of a nested packet) */
    uint64_t tunnel_fallback;  /* tunnel-looking packets whose inside is not IP: kept as the outer packet */
    uint64_t tunnel_too_deep;  /* more than DECODE_MAX_TUNNELS nested (unsupported) */
    uint64_t tunnel_fragment;  /* tunnel packets in outer IPv4 fragments (unsupported) */
};

/* Non-zero when tlswatch can decode this pcap link type (DLT_ value). */
int decode_link_supported(int dlt);
const char *decode_link_name(int dlt);
/* "vxlan", "gre", ... ("none" for TUN_NONE). */
const char *decode_tunnel_name(int type);

enum decode_result decode_packet(int dlt, const uint8_t *frame, size_t caplen,
                                 struct decoded_ip *out, struct decode_stats *st);

#endif
