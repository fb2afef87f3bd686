/* Parsed certificates, remembered: real traffic repeats the same few
 * thousand chains, and parsing one (d2i, names, the self-signature check)
 * costs tens to hundreds of microseconds. A direct-mapped table of
 * X509CACHE_DEFAULT slots keyed by a keyed hash (SipHash) of the DER, each
 * hit confirmed by comparing the DER itself, so a collision can only cost
 * a parse, never give a wrong summary. Bounded: at most `slots` entries. */
#ifndef TLSWATCH_X509CACHE_H
#define TLSWATCH_X509CACHE_H
#include <stddef.h>
#include <stdint.h>

#include "x509_summary.h"

#define X509CACHE_DEFAULT 256
#define X509CACHE_MAX_DER 16384 /* larger certificates are parsed every time */

struct x509cache_stats {
    uint64_t hits, misses, replaced;
    size_t entries, bytes;
};

struct x509cache;
/* slots 0: X509CACHE_DEFAULT. Never NULL (out of memory ends the process). */
struct x509cache *x509cache_new(size_t slots);
void x509cache_free(struct x509cache *c);
/* x509_summary_parse(der, len, out), from the cache when the same DER was
 * parsed before (out->der then points at der, as a parse would). c NULL:
 * a plain parse. */
bool x509cache_summary(struct x509cache *c, const uint8_t *der, size_t len, x509_summary *out);
const struct x509cache_stats *x509cache_stats(const struct x509cache *c);

#endif
