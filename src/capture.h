/* Packet sources: saved files (pcap/pcapng, several in order, "-" = stdin)
 * or a live interface, with an optional BPF filter. Owns the pcap_t; hands
 * (timestamp, link type, bytes) to the caller one packet at a time. */
#ifndef TLSWATCH_CAPTURE_H
#define TLSWATCH_CAPTURE_H
#include <pcap/pcap.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct capture_opts {
    const char *const *files; /* offline sources, in order */
    size_t nfiles;
    const char *iface;        /* live source (exclusive with files) */
    const char *filter;       /* BPF expression or NULL */
    int snaplen;              /* live: bytes kept per packet */
    int promisc;              /* live: promiscuous mode */
    int buffer_mb;            /* live: kernel ring size, MiB (0 = default) */
    int timeout_ms;           /* live: read timeout */
    const char *user;         /* drop privileges to this user after opening */
    int fanout_group;         /* live: 1..65535 joins that PACKET_FANOUT_HASH group
                                 (--workers: the kernel splits flows between processes) */
};

struct capture_pkt {
    const struct pcap_pkthdr *hdr;
    const uint8_t *data;
    int dlt;
    const char *source; /* file name or interface */
    uint64_t pktno;     /* 1-based, per source */
};

struct capture_stats {
    uint64_t packets, bytes;
    uint64_t kernel_drop, if_drop; /* live only; 64-bit, wrap-safe */
    uint64_t files_ok, files_failed;
};

struct capture_cbs {
    void *ctx;
    void (*packet)(void *ctx, const struct capture_pkt *p);
    /* live only: called about once a second, even without packets */
    void (*tick)(void *ctx, const struct timeval *now);
};

/* Returns 0 on success, 1 on a runtime error (bad file, capture failure:
 * already reported on stderr as one line naming the file and packet), 2 on
 * a usage error (bad filter, unsupported link type of a live interface). */
int capture_run(const struct capture_opts *o, const struct capture_cbs *cbs,
                struct capture_stats *st);

/* Async-signal-safe: ends the capture loop after the current packet. */
void capture_request_stop(void);
/* Refreshes kernel/interface drop counters of a live capture. */
void capture_update_stats(struct capture_stats *st);

#endif
