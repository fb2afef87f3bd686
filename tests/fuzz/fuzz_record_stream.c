/* Entry: the whole per-direction pipeline (records, reassembly, every
 * parser). Byte 0 picks the direction and buffer sizes; bytes 1..3 pick
 * chunk sizes. The one-chunk and chunked runs must report the same events. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    bool is_server = data[0] & 1;
    size_t rec_cap = (data[0] & 2) ? TLS_RECORD_BUF_SIZE : 512;
    size_t hs_cap = (data[0] & 4) ? 65536 : 300;
    size_t chunks[3] = { (size_t)data[1] + 1, (size_t)data[2] % 7 + 1, (size_t)data[3] * 3 + 1 };
    const uint8_t *p = data + 4;
    size_t n = size - 4;
    fz_digest whole = fz_run_stream(p, n, is_server, NULL, 0, rec_cap, hs_cap);
    fz_digest split = fz_run_stream(p, n, is_server, chunks, 3, rec_cap, hs_cap);
    if (whole.h != split.h || whole.events != split.events) abort();
    return 0;
}
