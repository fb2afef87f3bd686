/* One TCP direction of a TLS connection, wired end to end: record layer ->
 * handshake reassembly -> message parsers, alerts, CCS, heartbeats, SSLv2.
 * Everything arrives through one callback as tls_event, in stream order.
 * The session layer owns two of these per flow (client, server) and tells
 * each what the other negotiated (tls_stream_set_context). With
 * auto_encrypt (default on) a direction becomes encrypted after its own
 * ChangeCipherSpec (TLS <= 1.2), after its own TLS1.3 ServerHello, or when
 * its context is set to a TLS1.3 version (client side); the caller can
 * override with tls_stream_set_encrypted(). */
#ifndef TLSWATCH_TLS_STREAM_H
#define TLSWATCH_TLS_STREAM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_alert.h"
#include "tls_message.h"
#include "tls_record.h"

enum tls_event_kind {
    TLS_EV_RECORD = 1, /* every record, before its contents */
    TLS_EV_HANDSHAKE,  /* a whole cleartext handshake message, parsed */
    TLS_EV_ALERT,      /* cleartext alert, or an encrypted alert record */
    TLS_EV_CCS,
    TLS_EV_HEARTBEAT,
    TLS_EV_SSLV2,      /* SSLv2 CLIENT-HELLO (msg->u.ch) or SERVER-HELLO (sslv2_sh) */
};

typedef struct tls_event {
    uint8_t kind;
    const tls_record *rec;      /* the record this event came from */
    const tls_hs_msg *hs;       /* TLS_EV_HANDSHAKE: raw message (body view) */
    const tls_message *msg;     /* TLS_EV_HANDSHAKE / SSLV2 client hello (valid during the callback) */
    const tls_sslv2_server_hello *sslv2_sh;
    tls_alert alert;
    tls_heartbeat heartbeat;
    tls_anomalies anomalies;    /* of this event (record + message) */
} tls_event;

typedef void (*tls_stream_cb)(void *user, const tls_event *ev);

typedef struct tls_stream_config {
    uint8_t *rec_buf;     /* >= TLS_RECORD_BUF_SIZE recommended; NULL = headers only */
    size_t rec_cap;
    uint8_t *hs_buf;      /* handshake reassembly; its size caps split messages */
    size_t hs_cap;
    uint32_t max_handshake; /* 0 = TLS_HANDSHAKE_DEFAULT_MAX */
    bool is_server;
    bool no_auto_encrypt;
} tls_stream_config;

typedef struct tls_stream {
    tls_record_stream rec;
    tls_handshake_reasm hs;
    tls_stream_cb cb;
    void *user;
    bool is_server;
    bool auto_encrypt;
    bool offered_tls13;   /* own ClientHello listed a TLS1.3 version */
    tls_message_ctx ctx;  /* learned from own ServerHello or set by caller */
    const tls_record *cur_rec;
    tls_anomalies anomalies; /* union over the stream */
} tls_stream;

void tls_stream_init(tls_stream *s, const tls_stream_config *cfg, tls_stream_cb cb, void *user);
/* With rec_buf/hs_buf NULL in the config: gather records and messages that
 * span chunks in buffers from mem, only while they do (see tls_mem.h). */
void tls_stream_set_mem(tls_stream *s, const tls_mem *mem);
void tls_stream_feed(tls_stream *s, const uint8_t *data, size_t len);
void tls_stream_gap(tls_stream *s, uint64_t n);
/* Negotiated version/cipher (from the peer's ServerHello for the client). */
void tls_stream_set_context(tls_stream *s, uint16_t version, uint16_t cipher);
void tls_stream_set_encrypted(tls_stream *s, enum tls_record_enc enc);
/* After the handshake: stop buffering bodies (records still reported). */
void tls_stream_set_headers_only(tls_stream *s, bool on);
/* Gives the lazy buffers back (a record or message being gathered loses its
 * body). Safe from inside a callback: the release then waits until the
 * delivery that is reading the buffer has returned. */
void tls_stream_release(tls_stream *s);
/* Bytes of lazy buffer held by this direction. */
size_t tls_stream_buffered(const tls_stream *s);
#endif
