/* tests/bench/pcapng_read.c -- pcap_read.c's loop through tlswatch's own
 * pcapng reader (src/pcapng.c) instead of libpcap: the same work (every
 * 64th captured byte touched), to compare the two readers on one pcapng.
 * Prints "PACKETS CAPTURED_BYTES".
 *
 * usage: pcapng_read FILE      (FILE may be "-" for stdin)
 * build: cc -O2 -Isrc -o pcapng_read tests/bench/pcapng_read.c src/pcapng.c -lpcap
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pcapng.h"

int main(int argc, char **argv)
{
    static char buf[256 << 10];
    if (argc != 2) {
        fprintf(stderr, "usage: pcapng_read FILE\n");
        return 2;
    }
    FILE *f = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    setvbuf(f, buf, _IOFBF, sizeof buf); /* as tlswatch's capture.c */
    char err[200];
    struct pcapng *r = pcapng_open(f, err, sizeof err);
    if (!r) {
        fprintf(stderr, "pcapng_read: %s\n", err);
        return 1;
    }
    struct pcapng_pkt p;
    uint64_t pkts = 0, bytes = 0, x = 0;
    int rc;
    while ((rc = pcapng_next(r, &p)) > 0) {
        if (rc != PCAPNG_PACKET) continue;
        pkts++;
        bytes += p.hdr.caplen;
        for (uint32_t i = 0; i < p.hdr.caplen; i += 64)
            x += p.data[i];
    }
    if (rc == PCAPNG_ERROR) fprintf(stderr, "pcapng_read: %s\n", pcapng_error(r));
    printf("%llu %llu\n", (unsigned long long)pkts, (unsigned long long)(bytes + (x & 0)));
    pcapng_close(r);
    fclose(f);
    return rc == PCAPNG_ERROR;
}
