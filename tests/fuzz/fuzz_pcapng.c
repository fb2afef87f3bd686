/* Entry: the pcapng reader alone (src/pcapng.c) on fuzzed bytes, through
 * fmemopen as tlswatch reads a gzip stream or memory: every packet and
 * interface it hands over is read whole (ASan checks the bounds), until
 * the end or an error; the error must stay sticky. Much faster than
 * fuzz_pipeline, so it goes deeper into the block parser. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pcapng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    FILE *fp = fmemopen((void *)(uintptr_t)data, size, "rb");
    if (!fp) return 0;
    char err[200];
    struct pcapng *r = pcapng_open(fp, err, sizeof err);
    if (r) {
        struct pcapng_pkt p;
        int res;
        volatile uint8_t x = 0;
        while ((res = pcapng_next(r, &p)) > 0) {
            if (res != PCAPNG_PACKET) continue;
            if (p.hdr.caplen > PCAPNG_MAX_CAPLEN || p.hdr.len < p.hdr.caplen || p.hdr.ts.tv_sec < 0 ||
                p.hdr.ts.tv_sec > PCAPNG_MAX_SEC || p.hdr.ts.tv_usec < 0 || p.hdr.ts.tv_usec > 999999)
                abort();
            for (uint32_t i = 0; i < p.hdr.caplen; i++) x ^= p.data[i];
        }
        if (res == PCAPNG_ERROR && pcapng_next(r, &p) != PCAPNG_ERROR) abort();
        (void)x;
        pcapng_close(r);
    }
    fclose(fp);
    return 0;
}
