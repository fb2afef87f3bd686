/* Fixed-order integer reads from packet bytes (any alignment): the wire's
 * big-endian fields, and the little-endian ones of some link headers.
 * Written byte by byte; compilers turn them into a load and a byte swap. */
#ifndef TLSWATCH_BYTES_H
#define TLSWATCH_BYTES_H
#include <stdint.h>

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static inline uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

static inline uint16_t le16(const uint8_t *p) { return (uint16_t)((p[1] << 8) | p[0]); }

static inline uint32_t le32(const uint8_t *p)
{
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

#endif
