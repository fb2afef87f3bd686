/* Entry: the pcapng reader alone (src/pcapng.c) on fuzzed bytes, read
 * twice: through fmemopen, as tlswatch reads a gzip stream or memory, and
 * from a memfd (a regular file) read ahead on a second thread in small
 * segments (61 to 4156 bytes, from the input's length), so block
 * boundaries, cuts and skips fall across segments. Every packet and
 * interface handed over is read whole (ASan checks the bounds), until the
 * end or an error; the error must stay sticky; both readings must hand
 * over the same packets and end the same way (same error text, offsets
 * included). Much faster than fuzz_pipeline, so it goes deeper into the
 * block parser. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pcapng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reading {
    int opened, res;
    uint64_t h;      /* every packet and interface handed over */
    char err[200];
};

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull; }

static struct reading read_all(FILE *fp)
{
    struct reading g;
    memset(&g, 0, sizeof g);
    struct pcapng *r = pcapng_open(fp, g.err, sizeof g.err);
    if (!r) return g;
    g.opened = 1;
    struct pcapng_pkt p;
    int res;
    uint64_t h = 0xcbf29ce484222325ull;
    while ((res = pcapng_next(r, &p)) > 0) {
        h = mix(h, (uint64_t)res << 32 | p.iface);
        h = mix(h, (uint64_t)(uint32_t)p.dlt << 32 | p.linktype);
        if (res != PCAPNG_PACKET) continue;
        if (p.hdr.caplen > PCAPNG_MAX_CAPLEN || p.hdr.len < p.hdr.caplen || p.hdr.ts.tv_sec < 0 ||
            p.hdr.ts.tv_sec > PCAPNG_MAX_SEC || p.hdr.ts.tv_usec < 0 || p.hdr.ts.tv_usec > 999999)
            abort();
        h = mix(h, (uint64_t)p.hdr.ts.tv_sec << 20 | (uint64_t)p.hdr.ts.tv_usec);
        h = mix(h, (uint64_t)p.hdr.caplen << 32 | p.hdr.len);
        for (uint32_t i = 0; i < p.hdr.caplen; i++) h = mix(h, p.data[i]);
    }
    if (res == PCAPNG_ERROR) {
        snprintf(g.err, sizeof g.err, "%s", pcapng_error(r));
        if (pcapng_next(r, &p) != PCAPNG_ERROR) abort();
    }
    g.res = res;
    g.h = h;
    pcapng_close(r);
    return g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    FILE *fp = fmemopen((void *)(uintptr_t)data, size, "rb");
    if (!fp) return 0;
    struct reading a = read_all(fp);
    fclose(fp);

    int fd = memfd_create("fuzz_pcapng", MFD_CLOEXEC);
    if (fd < 0) return 0;
    FILE *ff = NULL;
    if (write(fd, data, size) == (ssize_t)size && lseek(fd, 0, SEEK_SET) == 0) ff = fdopen(fd, "rb");
    if (!ff) {
        close(fd);
        return 0;
    }
    pcapng_readahead(0, 61 + size % 4096);
    struct reading b = read_all(ff);
    pcapng_readahead(8u << 20, 0);
    fclose(ff);
    if (a.opened != b.opened || a.res != b.res || a.h != b.h || strcmp(a.err, b.err) != 0) {
        fprintf(stderr, "read ahead differs: opened %d/%d res %d/%d hash %d, \"%s\" / \"%s\"\n", a.opened, b.opened,
                a.res, b.res, a.h == b.h, a.err, b.err);
        abort();
    }
    return 0;
}
