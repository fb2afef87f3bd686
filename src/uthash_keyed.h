/* Every uthash table in tlswatch hashes with keyed SipHash-1-3: keys come from
 * the wire (addresses, ports), and uthash's default Jenkins hash is unkeyed,
 * so crafted traffic could force every entry into one bucket. Include this
 * instead of <uthash.h>. */
#ifndef TLSWATCH_UTHASH_KEYED_H
#define TLSWATCH_UTHASH_KEYED_H
#include <stdio.h>
#include <stdlib.h>

#include "siphash.h"

#define HASH_FUNCTION(keyptr, keylen, hashv)                                 \
    do {                                                                     \
        (hashv) = (unsigned)siphash13(siphash_key, (keyptr), (size_t)(keylen)); \
    } while (0)
#define uthash_fatal(msg)                                                    \
    do {                                                                     \
        fprintf(stderr, "tlswatch: out of memory (%s)\n", (msg));            \
        exit(1);                                                             \
    } while (0)
#include <uthash.h>

#endif
