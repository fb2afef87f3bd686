/* Handshake message reassembly (the layer between records and messages, as
 * in Zeek's binpac split): fragments of handshake records go in, whole
 * messages come out. A message may span many records, a record may hold
 * many messages. Messages wholly inside one fragment are delivered as
 * views; split ones are gathered in a buffer: a fixed one the caller
 * provides, or (tls_handshake_set_mem) one grown as the message's bytes
 * arrive and given back once it is delivered. A message longer than max_msg
 * (or the fixed buffer) is skipped and delivered with too_large set and no
 * body; so is one whose buffer the owner refused (memory_budget anomaly). */
#ifndef TLSWATCH_TLS_HANDSHAKE_H
#define TLSWATCH_TLS_HANDSHAKE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_mem.h"
#include "tls_names.h"

#define TLS_HANDSHAKE_DEFAULT_MAX (64u * 1024u)

typedef struct tls_hs_msg {
    uint8_t type;         /* enum tls_hs_type */
    uint32_t length;      /* from the 4-byte header */
    const uint8_t *body;  /* NULL when too_large; valid during the callback only */
    size_t body_len;
    bool too_large;
    uint64_t record_offset; /* stream offset of the record holding the header */
    tls_anomalies anomalies;
} tls_hs_msg;

typedef void (*tls_handshake_cb)(void *user, const tls_hs_msg *msg);

typedef struct tls_handshake_reasm {
    tls_handshake_cb cb;
    void *user;
    uint8_t *buf;
    size_t cap;
    const tls_mem *mem;
    bool fixed, delivering, release_pending;
    uint32_t max_msg;
    uint8_t hdr[4];
    uint8_t hdr_have;
    bool in_body;
    bool skipping;
    size_t need, have;
    tls_hs_msg cur;
    tls_anomalies anomalies;
    uint64_t messages;
} tls_handshake_reasm;

/* max_msg 0 selects TLS_HANDSHAKE_DEFAULT_MAX; the effective cap is also
 * limited by cap (the buffer). */
void tls_handshake_init(tls_handshake_reasm *r, uint8_t *buf, size_t cap, uint32_t max_msg,
                        tls_handshake_cb cb, void *user);
/* One handshake record body (cleartext) at stream offset rec_offset. */
void tls_handshake_feed(tls_handshake_reasm *r, const uint8_t *frag, size_t len, uint64_t rec_offset);
/* A message is partially received. */
bool tls_handshake_pending(const tls_handshake_reasm *r);
/* Drops any partial message (e.g. when the direction becomes encrypted) and
 * gives its buffer back (after the delivery, when called from a callback). */
void tls_handshake_reset(tls_handshake_reasm *r);
/* Gather split messages in buffers from mem (only when init had no buf). */
void tls_handshake_set_mem(tls_handshake_reasm *r, const tls_mem *mem);
/* Bytes of lazy buffer held. */
size_t tls_handshake_buffered(const tls_handshake_reasm *r);
#endif
