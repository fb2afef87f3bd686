/* Handshake reassembly: HEADER (4 bytes, may itself be split across
 * records), then BODY (buffered or viewed) or SKIP (too large). */
#include "tls_handshake.h"

#include <string.h>

void tls_handshake_init(tls_handshake_reasm *r, uint8_t *buf, size_t cap, uint32_t max_msg,
                        tls_handshake_cb cb, void *user)
{
    memset(r, 0, sizeof *r);
    r->buf = buf;
    r->cap = buf ? cap : 0;
    r->fixed = buf != NULL;
    r->max_msg = max_msg ? max_msg : TLS_HANDSHAKE_DEFAULT_MAX;
    r->cb = cb;
    r->user = user;
}

bool tls_handshake_pending(const tls_handshake_reasm *r) { return r->hdr_have > 0 || r->in_body; }

void tls_handshake_set_mem(tls_handshake_reasm *r, const tls_mem *mem)
{
    if (!r->fixed) r->mem = mem;
}

size_t tls_handshake_buffered(const tls_handshake_reasm *r) { return r->fixed ? 0 : r->cap; }

static void free_lazy(tls_handshake_reasm *r)
{
    if (r->fixed || !r->buf) return;
    if (r->delivering) {
        r->release_pending = true;
        return;
    }
    tls_mem_free(r->mem, &r->buf, &r->cap);
}

void tls_handshake_reset(tls_handshake_reasm *r)
{
    r->hdr_have = 0;
    r->in_body = false;
    r->skipping = false;
    r->need = r->have = 0;
    free_lazy(r);
}

/* Room for have + n bytes, grown geometrically up to the message length. */
static bool reserve(tls_handshake_reasm *r, size_t n)
{
    if (r->fixed) return r->have + n <= r->cap;
    if (r->delivering) return false;
    return tls_mem_grow(r->mem, &r->buf, &r->cap, r->have, r->have + n, r->need);
}

static void deliver(tls_handshake_reasm *r, const uint8_t *body, size_t len)
{
    r->cur.body = body;
    r->cur.body_len = body ? len : 0;
    if (!tls_names_handshake_type(r->cur.type)) r->cur.anomalies |= TLS_ANOM_BIT(UNKNOWN_HANDSHAKE_TYPE);
    r->anomalies |= r->cur.anomalies;
    r->messages++;
    r->in_body = false;
    r->delivering = true;
    if (r->cb) r->cb(r->user, &r->cur);
    r->delivering = false;
    r->cur.body = NULL;
    if (r->release_pending) {
        r->release_pending = false;
        free_lazy(r);
    }
}

static void start(tls_handshake_reasm *r, const uint8_t *h, uint64_t rec_offset)
{
    memset(&r->cur, 0, sizeof r->cur);
    r->cur.type = h[0];
    r->cur.length = (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    r->cur.record_offset = rec_offset;
    r->need = r->cur.length;
    r->have = 0;
    r->in_body = true;
    r->skipping = r->cur.length > r->max_msg || (r->fixed && r->cur.length > r->cap) || (!r->fixed && !r->mem && r->cur.length > 0);
    if (r->skipping) {
        r->cur.too_large = true;
        r->cur.anomalies |= TLS_ANOM_BIT(HANDSHAKE_TOO_LARGE);
    }
}

void tls_handshake_feed(tls_handshake_reasm *r, const uint8_t *d, size_t len, uint64_t rec_offset)
{
    while (len > 0) {
        if (!r->in_body) {
            if (r->hdr_have == 0 && len >= 4) {
                start(r, d, rec_offset);
                d += 4;
                len -= 4;
            } else {
                size_t take = 4u - r->hdr_have < len ? 4u - r->hdr_have : len;
                memcpy(r->hdr + r->hdr_have, d, take);
                r->hdr_have = (uint8_t)(r->hdr_have + take);
                d += take;
                len -= take;
                if (r->hdr_have < 4) return;
                r->hdr_have = 0;
                start(r, r->hdr, rec_offset);
            }
            if (r->need == 0) {
                deliver(r, r->hdr, 0);
                continue;
            }
            continue;
        }
        size_t take = r->need - r->have < len ? r->need - r->have : len;
        if (r->skipping) {
            r->have += take;
        } else if (r->have == 0 && take == r->need) {
            r->have = take;
            d += take;
            len -= take;
            deliver(r, d - take, take);
            continue;
        } else if (!reserve(r, take)) {
            /* refused: the message is delivered without a body */
            r->skipping = true;
            r->cur.too_large = true;
            r->cur.anomalies |= TLS_ANOM_BIT(MEMORY_BUDGET);
            r->have += take;
            free_lazy(r);
        } else {
            memcpy(r->buf + r->have, d, take);
            r->have += take;
        }
        d += take;
        len -= take;
        if (r->have == r->need) {
            deliver(r, r->skipping ? NULL : r->buf, r->have);
            free_lazy(r); /* gathered for this message only */
        }
    }
}
