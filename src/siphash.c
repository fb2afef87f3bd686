/* SipHash-2-4 and SipHash-1-3, straight from the reference description. */
#include "siphash.h"

#include <string.h>
#include <sys/random.h>

uint8_t siphash_key[16];

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                   \
    do {                                                           \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);  \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                     \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                     \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);  \
    } while (0)

/* One load (the byte-by-byte loop was not merged by the compiler, and
 * was half of the flow hash on the packet path); swapped on big-endian. */
static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* SipHash-c-d: c rounds per 8-byte word, d to finish (constants at each
 * call, so the rounds unroll). */
static inline uint64_t siphash_cd(const uint8_t key[16], const void *data, size_t len, int c, int d)
{
    const uint8_t *in = data;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    uint64_t b = ((uint64_t)len) << 56;
    size_t full = len - (len % 8);

    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(in + i);
        v3 ^= m;
        for (int r = 0; r < c; r++) SIPROUND;
        v0 ^= m;
    }
    for (size_t i = 0; i < len % 8; i++) b |= ((uint64_t)in[full + i]) << (8 * i);
    v3 ^= b;
    for (int r = 0; r < c; r++) SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    for (int r = 0; r < d; r++) SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len) { return siphash_cd(key, data, len, 2, 4); }

uint64_t siphash13(const uint8_t key[16], const void *data, size_t len) { return siphash_cd(key, data, len, 1, 3); }

int siphash_key_init(void)
{
    size_t got = 0;
    while (got < sizeof siphash_key) {
        ssize_t n = getrandom(siphash_key + got, sizeof siphash_key - got, 0);
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    return 0;
}
