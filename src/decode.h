/* Link-layer and IP decoding: from a captured frame down to the IP packet
 * handed to reassembly. tlswatch decodes link layers itself because libnids
 * alone rejects SLL2, LOOP, QinQ, PPPoE, MPLS and all of IPv6. */
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

struct decoded_ip {
    int family;         /* 4 or 6 */
    const uint8_t *ip;  /* start of the IP header */
    size_t len;         /* bytes from ip to the end of the IP packet (<= captured) */
    size_t wire_ip_len; /* IP total length claimed by the header */
    int truncated;      /* captured fewer bytes than the IP header claims (snaplen) */
};

struct decode_stats {
    uint64_t ok, not_ip, truncated, bad_ip, unsupported;
    uint64_t vlan, mpls, pppoe;
};

/* Non-zero when tlswatch can decode this pcap link type (DLT_ value). */
int decode_link_supported(int dlt);
const char *decode_link_name(int dlt);

enum decode_result decode_packet(int dlt, const uint8_t *frame, size_t caplen,
                                 struct decoded_ip *out, struct decode_stats *st);

#endif
