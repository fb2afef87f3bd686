/* Shared by the fuzz targets: a digest of the event sequence a tls_stream
 * produces, so a target can check that splitting the input into chunks
 * never changes what is reported. */
#ifndef TLSWATCH_FUZZ_COMMON_H
#define TLSWATCH_FUZZ_COMMON_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls_stream.h"
#include "x509_summary.h"

typedef struct fz_digest {
    uint64_t h;
    unsigned events;
} fz_digest;

static inline void fz_mix(fz_digest *d, uint64_t v)
{
    d->h ^= v + 0x9e3779b97f4a7c15ull + (d->h << 6) + (d->h >> 2);
}

static inline void fz_on_event(void *user, const tls_event *ev)
{
    fz_digest *d = user;
    d->events++;
    fz_mix(d, ev->kind);
    fz_mix(d, ev->anomalies);
    if (ev->rec) {
        fz_mix(d, ev->rec->offset);
        fz_mix(d, ev->rec->content_type);
        fz_mix(d, ev->rec->length);
        fz_mix(d, ev->rec->encrypted);
    }
    if (ev->kind == TLS_EV_HANDSHAKE) {
        fz_mix(d, ev->hs->type);
        fz_mix(d, ev->hs->length);
        fz_mix(d, ev->msg->ok);
        if (ev->hs->type == TLS_HS_CERTIFICATE && ev->msg->ok) {
            for (unsigned i = 0; i < ev->msg->u.cert.count && i < 2; i++) {
                x509_summary xs;
                x509_summary_parse(ev->msg->u.cert.certs[i].der, ev->msg->u.cert.certs[i].len, &xs);
                fz_mix(d, (uint64_t)xs.not_after);
                fz_mix(d, strlen(xs.subject));
            }
        }
    }
    if (ev->kind == TLS_EV_ALERT) fz_mix(d, (uint64_t)ev->alert.level << 8 | ev->alert.description);
    if (ev->kind == TLS_EV_HEARTBEAT) fz_mix(d, ev->heartbeat.payload_length);
}

/* Feeds data in chunks of the given sizes (cycled), returns the digest. */
static inline fz_digest fz_run_stream(const uint8_t *data, size_t len, bool is_server, const size_t *chunks,
                               size_t nchunks, size_t rec_cap, size_t hs_cap)
{
    static uint8_t rec_buf[TLS_RECORD_BUF_SIZE], hs_buf[65536];
    tls_stream_config cfg = { rec_buf, rec_cap, hs_buf, hs_cap, 0, is_server, false };
    tls_stream *s = malloc(sizeof *s);
    fz_digest d = { 0, 0 };
    if (!s) return d;
    tls_stream_init(s, &cfg, fz_on_event, &d);
    size_t off = 0, k = 0;
    while (off < len) {
        size_t n = nchunks ? chunks[k++ % nchunks] : len;
        if (n == 0) n = 1;
        if (n > len - off) n = len - off;
        tls_stream_feed(s, data + off, n);
        off += n;
    }
    fz_mix(&d, s->anomalies);
    free(s);
    return d;
}
#endif
