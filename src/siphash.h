/* SipHash-2-4 (Aumasson & Bernstein), used as the keyed hash of every table
 * whose keys an attacker controls (flow 5-tuples, IPv6 address maps), so
 * that crafted traffic cannot force hash-chain collisions. */
#ifndef TLSWATCH_SIPHASH_H
#define TLSWATCH_SIPHASH_H
#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);
/* SipHash-1-3: the variant Rust's and Python's hash tables use, for keys
 * hashed per packet (the flow table): a third of SipHash-2-4's rounds on a
 * 16-byte key, still keyed against chosen collisions. */
uint64_t siphash13(const uint8_t key[16], const void *data, size_t len);

/* Process-wide hash key, drawn from getrandom() once at start-up
 * (siphash_key_init). Tests may set a fixed key for reproducibility. */
extern uint8_t siphash_key[16];
int siphash_key_init(void);

#endif
