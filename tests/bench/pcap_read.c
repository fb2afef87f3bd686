/* tests/bench/pcap_read.c -- the floor for reading packets: a minimal libpcap
 * read loop (pcap_next_ex over a capture file, touching every captured byte
 * once so the read is not optimised away). Prints "PACKETS CAPTURED_BYTES".
 * Used by tests/bench/bench.sh as the baseline tlswatch is compared with.
 *
 * usage: pcap_read [-b] FILE      (FILE may be "-" for stdin)
 *   -b  read the file through a 256 KiB stdio buffer (as tlswatch does)
 *       instead of libpcap's own fopen (st_blksize, 4 KiB, per read)
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    static char buf[256 << 10];
    int big = argc == 3 && strcmp(argv[1], "-b") == 0;
    if (argc != 2 && !big) {
        fprintf(stderr, "usage: pcap_read [-b] FILE\n");
        return 2;
    }
    const char *name = argv[argc - 1];
    pcap_t *p = NULL;
    if (big) {
        FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
        if (!f) {
            perror(name);
            return 1;
        }
        setvbuf(f, buf, _IOFBF, sizeof buf);
        p = pcap_fopen_offline(f, err);
    } else {
        p = pcap_open_offline(name, err);
    }
    if (!p) {
        fprintf(stderr, "pcap_read: %s\n", err);
        return 1;
    }
    struct pcap_pkthdr *h;
    const unsigned char *d;
    uint64_t pkts = 0, bytes = 0, x = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
        pkts++;
        bytes += h->caplen;
        for (uint32_t i = 0; i < h->caplen; i += 64)
            x += d[i];
    }
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "pcap_read: %s\n", pcap_geterr(p));
        return 1;
    }
    pcap_close(p);
    printf("%llu %llu\n", (unsigned long long)pkts, (unsigned long long)bytes);
    return x == 0xffffffffffffffffULL; /* keep x alive */
}
