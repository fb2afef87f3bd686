/* Sums JSON documents of the same shape: the stats events of several
 * capture workers (--workers) become one. Objects merge by key (the union
 * of keys, in first-seen order), numbers add (integers exactly as 64-bit,
 * others as doubles), booleans OR, strings keep the greatest (RFC 3339
 * timestamps: the latest), arrays and nulls keep the first document's.
 * Used on our own output only, but parsed defensively (depth and size
 * bounded, -1 on anything malformed). */
#ifndef TLSWATCH_JSONSUM_H
#define TLSWATCH_JSONSUM_H
#include <stddef.h>

#define JSONSUM_MAX_DEPTH 16

/* Merges n documents docs[i] (lens[i] bytes each, no trailing newline
 * needed) into out (NUL-terminated, no newline). Returns the length, or -1
 * when a document is not JSON or out is too small. */
long jsonsum(const char *const *docs, const size_t *lens, size_t n, char *out, size_t outlen);

#endif
