/* Entry: the whole packet path on a fuzzed capture file, the way
 * `tlswatch -r FILE` runs it: tlswatch's own reader (src/pcapng.c) reads
 * the bytes (pcap or pcapng, through fmemopen; libpcap what it does not
 * know) -> decode -> reassembly (libnids, set up and torn down
 * per input) -> session -> the shipped rules/ (loaded once) -> JSON or text
 * events written to a discarding sink, then the end-of-capture flush and
 * the final stats event (src/pipeline.c, shared with main.c).
 *
 * Options come from the classic pcap header's thiszone/sigfigs bytes
 * (8..15), which libpcap ignores, so every input stays a valid capture:
 * byte 12 bit 0 text output, 1 --flows, 2 --stats-interval 1, 3 max 4
 * flows (LRU eviction), 4 idle timeout 2 s, 5 --checksums on, 6
 * --checksums off, 7 no key log (else every .keylog of pcaps/); byte 13 bit 0 no certificate
 * checker, bit 1 max_handshake_bytes 1024, bit 2 --max-memory 1M, bit 3 the
 * message log of --report (tls.messages). pcapng inputs (first block a
 * Section Header Block) run with the defaults (JSON, --all, key log,
 * checker). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "pcapng.h"
#include "pipeline.h"

#include "fuzz_src.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t sink_bytes;

static void sink(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    /* read every byte written, so a line made of freed memory is caught */
    uint64_t h = 0;
    for (size_t i = 0; i < len; i++) h = h * 31 + (unsigned char)line[i];
    sink_bytes += len + (h & 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init_once();
    if (size < 24) return 0;
    uint8_t o1 = 0, o2 = 0;
    uint32_t magic = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
    if (magic == 0xa1b2c3d4 || magic == 0xd4c3b2a1 || magic == 0xa1b23c4d || magic == 0x4d3cb2a1) {
        o1 = data[12];
        o2 = data[13];
    }
    FILE *fp = fmemopen((void *)(uintptr_t)data, size, "rb");
    if (!fp) return 0;
    char err[PCAP_ERRBUF_SIZE] = "";
    struct pcapng *ng = NULL;
    pcap_t *pc = NULL;
    if (pcapng_reads_first_byte(data[0])) ng = pcapng_open(fp, err, sizeof err);
    else pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, err);
    if (!pc && !ng) {
        fclose(fp);
        return 0;
    }
    struct pipeline_opts po = {
        .all = 1,
        .text = o1 & 1,
        .flows = (o1 >> 1) & 1,
        .stats_interval = (o1 & 4) ? 1.0 : 0,
        .ro = { .checksums = (o1 & 32) ? CKSUM_ON : (o1 & 64) ? CKSUM_OFF : CKSUM_AUTO, .max_flows = (o1 & 8) ? 4 : 64,
                .idle_timeout = (o1 & 16) ? 2.0 : 300 },
        .so = { .handshake_timeout = 10, .max_handshake_bytes = (o2 & 2) ? 1024 : 65536,
                .max_memory = (o2 & 4) ? (size_t)1 << 20 : 0, .message_log = (o2 & 8) != 0 },
        .write = sink,
    };
    struct certcheck *cc = (o2 & 1) ? NULL : fz_certcheck_new();
    struct pipeline *p = pipeline_new(&po, fz_rules(), cc, (o1 & 128) ? NULL : fz_keylog());
    if (!p) abort(); /* reassembly could not be set up again: libnids re-initialisation broke */
    char perr[256];
    if (ng) pipeline_run_pcapng(p, ng, perr, sizeof perr);
    else pipeline_run_pcap(p, pc, perr, sizeof perr);
    pipeline_finish(p, 1);
    pipeline_free(p);
    certcheck_free(cc);
    if (ng) {
        pcapng_close(ng);
        fclose(fp);
    } else {
        pcap_close(pc);
    }
    return 0;
}
