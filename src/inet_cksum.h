/* The Internet checksum (RFC 1071) of a byte range, as a partial sum in
 * network byte order that callers add pseudo-header words to and fold.
 *
 * The one's-complement sum does not depend on byte order (RFC 1071 §2(B)):
 * it is summed here in native 64-bit words (carries added back), folded
 * to 16 bits and swapped to network order once at the end, instead of one
 * big-endian 16-bit load per two bytes (the checksum of every sampled TCP
 * segment is on the packet path). */
#ifndef TLSWATCH_INET_CKSUM_H
#define TLSWATCH_INET_CKSUM_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Adds the 16-bit big-endian words of p[0..len) to sum (an odd last byte is
 * padded with a zero on its right); the range starts a new word. */
static inline uint32_t inet_sum(uint32_t sum, const uint8_t *p, size_t len)
{
    /* 32-bit words into four 64-bit accumulators (RFC 1071 §2(C), deferred
     * carries): no carry to add back until 2^32 words, and four independent
     * chains of one load and one add each, where 64-bit words with the
     * end-around carry were one chain of three dependent steps (a third of
     * the speed) */
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    while (len >= 16) {
        uint32_t w0, w1, w2, w3;
        memcpy(&w0, p, 4);
        memcpy(&w1, p + 4, 4);
        memcpy(&w2, p + 8, 4);
        memcpy(&w3, p + 12, 4);
        a0 += w0;
        a1 += w1;
        a2 += w2;
        a3 += w3;
        p += 16;
        len -= 16;
    }
    /* each accumulator holds less than 2^60 (lengths fit 32 bits): their sum
     * fits, then folds to 32 bits so that the 32-bit adds below cannot
     * overflow */
    uint64_t acc = a0 + a1 + a2 + a3;
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffffffu) + (acc >> 32);
    if (len >= 8) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + 4, 4);
        acc += (uint64_t)a + b;
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        uint32_t a;
        memcpy(&a, p, 4);
        acc += a;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t h;
        memcpy(&h, p, 2);
        acc += h;
        p += 2;
        len -= 2;
    }
    if (len) {
        uint8_t last[2] = { p[0], 0 };
        uint16_t h;
        memcpy(&h, last, 2);
        acc += h;
    }
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    uint16_t native = (uint16_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    native = (uint16_t)((native >> 8) | (native << 8));
#endif
    return sum + native;
}

/* One's-complement fold of a partial sum, complemented: 0 for a range that
 * includes a right checksum. */
static inline uint16_t inet_fold(uint32_t sum)
{
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

#endif
