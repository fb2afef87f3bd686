/* TLS record layer over one TCP direction, streaming.
 *
 * Bytes are fed in capture order in chunks of any size; every complete
 * record is delivered to a callback with its header fields, its stream
 * offset and (when wanted) its body. Records split across chunks are
 * gathered in a buffer (at most one partial record per direction): either
 * a fixed one the caller provides, or, with tls_record_set_mem(), one
 * asked for when a record spans chunks, grown as its bytes arrive and given
 * back once the record is delivered. Records wholly inside a chunk are
 * delivered as a view without copying. Bodies are not delivered (only type and length once
 * the record is complete, body bytes skipped without buffering) when the stream is in
 * headers-only mode, when the caller has marked the direction encrypted, or
 * when the record is larger than the buffer.
 *
 * A gap (bytes missing from the capture) inside a skipped body is harmless.
 * Anywhere else, once the stream has shown at least one record, the bytes
 * after the gap are scanned for the next plausible record header and the
 * stream goes on from there (resyncs, resync_skipped count it); before the
 * first record it cannot know what to look for and stops (desynced). */
#ifndef TLSWATCH_TLS_RECORD_H
#define TLSWATCH_TLS_RECORD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_mem.h"
#include "tls_names.h"

#define TLS_RECORD_MAX_PLAIN 16384u
#define TLS_RECORD_MAX_LEN (16384u + 2048u) /* TLSCiphertext cap */
/* Buffer size that holds any legal record; SSLv2 records can reach 32767. */
#define TLS_RECORD_BUF_SIZE TLS_RECORD_MAX_LEN

enum tls_record_enc {
    TLS_RECORD_CLEAR = 0,
    TLS_RECORD_ENC_TLS12, /* after this side's ChangeCipherSpec (SSL3..TLS1.2) */
    TLS_RECORD_ENC_TLS13, /* after ServerHello (TLS1.3): outer type 23 + CCS */
};

typedef struct tls_record {
    uint64_t offset;      /* stream offset of the first header byte */
    uint8_t content_type; /* 20..24, unknown ones too; SSLv2: message type (body[0]) */
    uint16_t version;     /* record version; SSLv2: version carried in the hello */
    uint16_t length;      /* body length from the header */
    bool sslv2;           /* SSLv2 2-byte header */
    bool encrypted;       /* body is ciphertext (per the caller's marking) */
    const uint8_t *body;  /* NULL when not delivered; valid during the callback only */
    size_t body_len;      /* == length when body != NULL */
    tls_anomalies anomalies;
} tls_record;

typedef void (*tls_record_cb)(void *user, const tls_record *rec);

typedef struct tls_record_stream {
    tls_record_cb cb;
    void *user;
    uint8_t *buf; /* partial-record buffer: fixed (caller owned) or from mem */
    size_t cap;
    const tls_mem *mem; /* lazy buffers when buf was not given */
    bool fixed;         /* buf is the caller's */
    bool delivering;    /* a callback is reading cur.body */
    bool release_pending; /* tls_record_release() called during delivery */
    uint8_t hdr[5];
    uint8_t hdr_have;
    uint8_t state; /* internal */
    size_t need;   /* body bytes still expected */
    size_t have;   /* body bytes buffered */
    tls_record cur;
    uint64_t offset;  /* bytes consumed so far */
    bool headers_only;
    bool keep_encrypted;
    uint8_t enc;      /* enum tls_record_enc */
    bool desynced;
    bool resync_trial; /* the header found by a resync is not confirmed yet */
    uint8_t rs[4];     /* RESYNC: last bytes of the previous chunk */
    uint8_t rs_have;
    bool sslv2_seen;
    bool tls_known;   /* the connection is TLS (the peer's records show it) */
    bool last_v2;     /* previous record had an SSLv2 header */
    tls_anomalies anomalies; /* union of everything seen on this stream */
    uint64_t records;
    uint64_t skipped_bytes;
    uint64_t resyncs;        /* times the stream found its records again after a gap */
    uint64_t resync_skipped; /* bytes passed over while scanning (after the gap itself) */
} tls_record_stream;

/* buf may be NULL (cap 0): then only headers are ever delivered. */
void tls_record_init(tls_record_stream *st, uint8_t *buf, size_t cap, tls_record_cb cb, void *user);
/* Feeds the next bytes of this direction. The callback may call
 * tls_record_set_encrypted / set_headers_only; they apply from the next record. */
void tls_record_feed(tls_record_stream *st, const uint8_t *data, size_t len);
/* n bytes missing from the capture at the current position (see above). */
void tls_record_gap(tls_record_stream *st, uint64_t n);
void tls_record_set_encrypted(tls_record_stream *st, enum tls_record_enc enc);
void tls_record_set_headers_only(tls_record_stream *st, bool on);
/* The connection is known to be TLS: a gap before this stream's first
 * record is resynchronised like any other instead of desynchronising it. */
void tls_record_set_tls_known(tls_record_stream *st);
/* Deliver the bodies of encrypted records too (for a caller holding keys). */
void tls_record_set_keep_encrypted(tls_record_stream *st, bool on);
/* Gather split records in buffers from mem (only when init had no buf). */
void tls_record_set_mem(tls_record_stream *st, const tls_mem *mem);
/* Gives a lazy buffer back now. A record being gathered is skipped instead
 * (delivered without body, memory_budget anomaly). Called from inside a
 * callback, the buffer is given back when the delivery returns. */
void tls_record_release(tls_record_stream *st);
/* Bytes of lazy buffer held. */
size_t tls_record_buffered(const tls_record_stream *st);
bool tls_record_desynced(const tls_record_stream *st);
/* Scanning for a record header after a gap. */
bool tls_record_resyncing(const tls_record_stream *st);
/* True while part of a record is pending (header or body). */
bool tls_record_partial(const tls_record_stream *st);
/* True while a record's body is being gathered into the buffer (a record
 * being skipped, or half a header, holds no buffer). */
bool tls_record_gathering(const tls_record_stream *st);
#endif
