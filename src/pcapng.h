/* Our own capture file reader, used for every capture file (or stdin) whose
 * first block is a Section Header Block, and for classic pcap files (see
 * pcapng.c: read as libpcap reads them, but with no copy per packet). libpcap (1.10) refuses or stops at a
 * pcapng file whose interfaces have different link types, and converts
 * every interface's timestamps to one resolution; this reader hands each
 * packet over with its own interface's link type and its timestamp
 * converted exactly from that interface's if_tsresol/if_tsoffset.
 *
 * Read: several sections (each with its own byte order and interface
 * list), Interface Description Blocks (link type, snaplen, if_tsresol,
 * if_tsoffset), Enhanced Packet Blocks, Simple Packet Blocks (interface 0,
 * the previous packet's time), the obsolete Packet Block. Every other block
 * type (name resolution, interface statistics, decryption secrets, custom,
 * compressed, ...) is skipped by its length.
 *
 * Everything in the file is hostile: a block length that is not a multiple
 * of 4, shorter than its type's minimum or past the end of the file, a
 * captured length past its block, an undefined interface, a trailer that
 * does not repeat the header's length, is an error naming the byte offset;
 * the packets before it have been handed over. Memory is one reusable
 * buffer that grows to the largest block read (bounded by PCAPNG_MAX_BLOCK)
 * plus the interface table (at most PCAPNG_MAX_IFACES per section). */
#ifndef TLSWATCH_PCAPNG_H
#define TLSWATCH_PCAPNG_H
#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PCAPNG_MAGIC 0x0A0D0D0Au
/* Bytes of a packet handed over, at most (longer packets are cut, their
 * original length kept): libpcap's own MAXIMUM_SNAPLEN. */
#define PCAPNG_MAX_CAPLEN (256u << 10)
/* Blocks read whole, at most: a packet of PCAPNG_MAX_CAPLEN plus options.
 * Longer packet blocks are read up to their data and the rest skipped;
 * longer interface blocks are an error. */
#define PCAPNG_MAX_BLOCK (PCAPNG_MAX_CAPLEN + (64u << 10))
/* The stdio buffer the FILE handed to pcapng_open should have (capture.c
 * sets it): the reader's refills are whole multiples of it, which glibc
 * reads straight into the reader's window. */
#define PCAPNG_STDIO_BUF (256u << 10)
#define PCAPNG_MAX_IFACES 4096u /* interfaces per section */
/* Timestamps are clamped to what RFC 3339 output can show: 1970 to 9999. */
#define PCAPNG_MAX_SEC 253402300799LL

enum pcapng_result {
    PCAPNG_ERROR = -1, /* pcapng_error() says what and where */
    PCAPNG_END = 0,    /* clean end of file (at a block boundary) */
    PCAPNG_PACKET = 1, /* a packet: hdr, data, dlt, iface */
    PCAPNG_IFACE = 2,  /* an interface was defined: dlt, linktype, iface */
};

struct pcapng_pkt {
    struct pcap_pkthdr hdr;
    const uint8_t *data; /* hdr.caplen bytes, valid until the next call */
    int dlt;             /* the interface's link type as a DLT_ value */
    uint32_t linktype;   /* as written in the file (LINKTYPE_ value) */
    uint32_t iface;      /* file-wide interface number, 0-based, in order of definition */
    uint32_t section;    /* 1-based */
};

struct pcapng;

/* Non-zero when the 4 bytes are a Section Header Block's type. */
int pcapng_is_magic(const uint8_t *b);
/* Non-zero when a file starting with this byte may be pcapng or classic
 * pcap, for this reader (pcapng_open decides on the whole magic). */
int pcapng_reads_first_byte(int c);
/* Reads the first Section Header Block from f (borrowed; the caller closes
 * it), or a classic pcap file header: such a file reads as one section
 * with one interface, announced by the first pcapng_next as PCAPNG_IFACE,
 * and its errors name "record at offset N". NULL on failure, with the
 * reason in err. */
struct pcapng *pcapng_open(FILE *f, char *err, size_t errlen);
/* The next packet or interface definition (enum pcapng_result). After
 * PCAPNG_ERROR every later call returns PCAPNG_ERROR again. */
int pcapng_next(struct pcapng *r, struct pcapng_pkt *p);
/* Files of at least min_bytes (default 8 MiB) are read ahead on a second
 * thread in segments of seg_bytes (0: the default, 640 KiB), where two
 * CPUs are free; for the tests, which read small files through small
 * segments. Applies to files opened after the call. */
void pcapng_readahead(uint64_t min_bytes, size_t seg_bytes);
/* Non-zero while a reader thread reads this file ahead. */
int pcapng_reading_ahead(const struct pcapng *r);
/* One line, no newline: "block at offset N: what was wrong". */
const char *pcapng_error(const struct pcapng *r);
uint32_t pcapng_ifaces(const struct pcapng *r);   /* interfaces defined so far, file-wide */
uint64_t pcapng_ts_clamped(const struct pcapng *r); /* timestamps outside 1970..9999 */
void pcapng_close(struct pcapng *r);

/* pcapng link type (LINKTYPE_) to libpcap's DLT_ where they differ. */
int pcapng_linktype_to_dlt(uint32_t linktype);

/* if_tsresol (the option byte) and if_tsoffset applied to a 64-bit
 * timestamp: exact, no overflow, clamped to 0..PCAPNG_MAX_SEC. Returns 1
 * when the value was clamped. (Exposed for the unit tests.) */
int pcapng_ts_to_timeval(uint64_t ts, uint8_t tsresol, int64_t tsoffset, struct timeval *tv);

#endif
