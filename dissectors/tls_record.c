/* Record layer state machine: HEADER (collect 5 bytes, or 2 for SSLv2),
 * BODY (collect into the buffer, or deliver a view when the whole record is
 * in the chunk), SKIP (count body bytes down without keeping them, then
 * deliver the header alone: records are always reported complete). The
 * header checks follow Suricata's app-layer-ssl.c and Zeek's binpac
 * analyzer: a wrong major version or content type outside 20..26 means the
 * bytes are not TLS (or we lost sync), and nothing after can be trusted.
 * RESYNC follows a gap once the stream has shown records: the bytes are
 * scanned for the next plausible record header (as Wireshark's
 * tls.desegment heuristics and Suricata's stream gap handling do), and a
 * header that then proves wrong sends the stream back to scanning. */
#include "tls_record.h"

#include <string.h>

enum { ST_HEADER, ST_BODY, ST_SKIP, ST_RESYNC };

void tls_record_init(tls_record_stream *st, uint8_t *buf, size_t cap, tls_record_cb cb, void *user)
{
    memset(st, 0, sizeof *st);
    st->buf = buf;
    st->cap = buf ? cap : 0;
    st->fixed = buf != NULL;
    st->cb = cb;
    st->user = user;
    st->state = ST_HEADER;
}

void tls_record_set_encrypted(tls_record_stream *st, enum tls_record_enc enc) { st->enc = (uint8_t)enc; }
void tls_record_set_headers_only(tls_record_stream *st, bool on) { st->headers_only = on; }
void tls_record_set_tls_known(tls_record_stream *st) { st->tls_known = true; }
void tls_record_set_keep_encrypted(tls_record_stream *st, bool on) { st->keep_encrypted = on; }
bool tls_record_desynced(const tls_record_stream *st) { return st->desynced; }
bool tls_record_resyncing(const tls_record_stream *st) { return st->state == ST_RESYNC; }

void tls_record_set_mem(tls_record_stream *st, const tls_mem *mem)
{
    if (!st->fixed) st->mem = mem;
}

size_t tls_record_buffered(const tls_record_stream *st) { return st->fixed ? 0 : st->cap; }

/* The most a record body can need: the fixed buffer, or any legal record. */
static size_t body_limit(const tls_record_stream *st)
{
    return st->fixed ? st->cap : st->mem ? TLS_RECORD_BUF_SIZE : 0;
}

static void free_lazy(tls_record_stream *st)
{
    if (!st->fixed) tls_mem_free(st->mem, &st->buf, &st->cap);
}

/* A record being gathered loses its body: count the rest down (SKIP). */
static void body_to_skip(tls_record_stream *st)
{
    st->need -= st->have;
    st->skipped_bytes += st->have;
    st->have = 0;
    st->cur.anomalies |= TLS_ANOM_BIT(MEMORY_BUDGET);
    st->state = ST_SKIP;
}

void tls_record_release(tls_record_stream *st)
{
    if (st->fixed) return;
    if (st->delivering) {
        st->release_pending = true;
        return;
    }
    if (st->state == ST_BODY) body_to_skip(st);
    free_lazy(st);
}

/* Room for have + n body bytes, grown geometrically up to the record's
 * length: what is held follows what arrived, not what a header claims. */
static bool reserve(tls_record_stream *st, size_t n)
{
    if (st->fixed) return st->have + n <= st->cap;
    return tls_mem_grow(st->mem, &st->buf, &st->cap, st->have, st->have + n, st->need);
}

bool tls_record_partial(const tls_record_stream *st)
{
    return st->hdr_have > 0 || st->state != ST_HEADER;
}

bool tls_record_gathering(const tls_record_stream *st) { return st->state == ST_BODY; }

static void desync(tls_record_stream *st, enum tls_anomaly why)
{
    st->desynced = true;
    st->anomalies |= (tls_anomalies)1 << why;
    if (st->delivering) st->release_pending = true; /* nothing more will be gathered */
    else free_lazy(st);
}

static void deliver(tls_record_stream *st, const uint8_t *body, size_t len)
{
    st->cur.body = body;
    st->cur.body_len = body ? len : 0;
    if (st->cur.sslv2 && body && len > 0) {
        tls_record *r = &st->cur;
        r->content_type = body[0];
        if (body[0] == 1 && len >= 3) r->version = (uint16_t)(body[1] << 8 | body[2]);
        if (body[0] == 4 && len >= 5) {
            r->version = (uint16_t)(body[3] << 8 | body[4]);
            r->anomalies |= TLS_ANOM_BIT(SSLV2_SERVER_HELLO);
        }
    }
    st->anomalies |= st->cur.anomalies;
    st->records++;
    st->delivering = true;
    if (st->cb) st->cb(st->user, &st->cur);
    st->delivering = false;
    st->cur.body = NULL;
    if (st->release_pending) {
        st->release_pending = false;
        free_lazy(st);
    }
}

/* SSLv2 3-byte header (high bit clear, third byte = padding length), only
 * right after another SSLv2 record and when the byte cannot start a TLS one. */
static bool is_v2_long(const tls_record_stream *st, uint8_t b0)
{
    return st->last_v2 && !(b0 & 0x80) && (b0 < 20 || b0 > 26);
}

/* Header complete: classify, then choose BODY or SKIP. Returns false when
 * the stream is abandoned. */
static bool header_done(tls_record_stream *st, const uint8_t *h)
{
    tls_record *r = &st->cur;
    memset(r, 0, sizeof *r);
    r->offset = st->offset;
    size_t len;
    if ((h[0] & 0x80) || is_v2_long(st, h[0])) {
        r->sslv2 = true;
        r->version = 0x0002;
        len = (h[0] & 0x80) ? (size_t)((h[0] & 0x7f) << 8 | h[1]) : (size_t)((h[0] & 0x3f) << 8 | h[1]);
        r->length = (uint16_t)len;
        r->anomalies |= TLS_ANOM_BIT(SSLV2_RECORD);
        if (len < 3) r->anomalies |= TLS_ANOM_BIT(INVALID_RECORD_LENGTH);
    } else {
        r->content_type = h[0];
        r->version = (uint16_t)(h[1] << 8 | h[2]);
        len = (size_t)(h[3] << 8 | h[4]);
        r->length = (uint16_t)len;
        if (h[1] != 3 || h[0] < 20 || h[0] > 26) {
            if (st->resync_trial) {
                /* the header found after a gap was chance: scan on */
                st->state = ST_RESYNC;
                st->rs_have = 0;
                return false;
            }
            desync(st, TLS_ANOM_NOT_TLS);
            return false;
        }
        st->resync_trial = false;
        if (h[2] > 4) r->anomalies |= TLS_ANOM_BIT(RECORD_VERSION_INVALID);
        if (h[0] > 24) r->anomalies |= TLS_ANOM_BIT(UNKNOWN_CONTENT_TYPE);
        if (len > TLS_RECORD_MAX_LEN) r->anomalies |= TLS_ANOM_BIT(INVALID_RECORD_LENGTH);
        if (len == 0 && h[0] != TLS_CT_APPLICATION_DATA) r->anomalies |= TLS_ANOM_BIT(EMPTY_RECORD);
        if (st->enc != TLS_RECORD_CLEAR) {
            r->encrypted = true;
            /* A 2-byte alert cannot carry a MAC or AEAD tag: sent in clear.
             * In TLS1.3 any handshake/alert outer type is cleartext (a
             * handshake one legitimately: ClientHello after HRR). */
            if ((h[0] == TLS_CT_ALERT && len == 2) ||
                (st->enc == TLS_RECORD_ENC_TLS13 && (h[0] == TLS_CT_ALERT || h[0] == TLS_CT_HANDSHAKE))) {
                r->encrypted = false;
                if (h[0] == TLS_CT_ALERT) r->anomalies |= TLS_ANOM_BIT(CLEAR_AFTER_ENCRYPTION);
            }
            if (h[0] == TLS_CT_CHANGE_CIPHER_SPEC && len == 1) r->encrypted = false;
        } else if (st->resyncs && h[0] == TLS_CT_ALERT && len > 2) {
            /* after a gap that may have held the ChangeCipherSpec: an alert
             * longer than one in clear (2 bytes) carries a MAC or tag */
            r->encrypted = true;
        }
    }
    st->need = len;
    st->have = 0;
    bool keep = !st->headers_only && (!r->encrypted || st->keep_encrypted) && r->content_type <= 24;
    if (keep && len > body_limit(st)) {
        keep = false;
        r->anomalies |= TLS_ANOM_BIT(RECORD_TOO_LARGE_TO_BUFFER);
    }
    if (r->sslv2) {
        st->sslv2_seen = true;
        keep = len <= body_limit(st); /* the message type is in the body */
        if (!keep) r->anomalies |= TLS_ANOM_BIT(RECORD_TOO_LARGE_TO_BUFFER);
    }
    st->last_v2 = r->sslv2;
    st->offset += r->sslv2 ? ((h[0] & 0x80) ? 2u : 3u) : 5u;
    if (keep && len > 0) {
        st->state = ST_BODY;
        return true;
    }
    if (len == 0) {
        deliver(st, keep ? h : NULL, 0);
        st->state = ST_HEADER;
    } else {
        st->state = ST_SKIP; /* delivered (without body) once skipped */
    }
    return true;
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* A header that proved wrong after a resync: the `used` bytes of this chunk
 * it was read from are skipped, scanning goes on from there. */
static size_t resync_reject(tls_record_stream *st, size_t used)
{
    st->offset += used;
    st->resync_skipped += used;
    return used;
}

/* Could a TLS record header start here? Content type 20..24, version
 * 3.0..3.4, length within what TLSCiphertext allows. */
static bool plausible_header(const uint8_t *h)
{
    return h[0] >= 20 && h[0] <= 24 && h[1] == 3 && h[2] <= 4 &&
           (size_t)(h[3] << 8 | h[4]) <= TLS_RECORD_MAX_LEN;
}

/* Found: the stream reads a header from here on (on trial: a wrong one
 * sends it back to scanning). */
static void resynced(tls_record_stream *st)
{
    st->state = ST_HEADER;
    st->resyncs++;
    st->resync_trial = true;
}

/* RESYNC: scan for a plausible header. Up to 4 bytes of a chunk's end are
 * carried over, so a header split across chunks is found too. A candidate
 * whose record ends inside the chunk must be followed by another plausible
 * header (or end the chunk exactly). Returns the bytes of d used. */
static size_t step_resync(tls_record_stream *st, const uint8_t *d, size_t len)
{
    /* candidates starting in the carried bytes */
    for (uint8_t i = 0; i < st->rs_have; i++) {
        uint8_t h[5];
        size_t from_carry = (size_t)(st->rs_have - i);
        if (from_carry + len < 5) break;
        memcpy(h, st->rs + i, from_carry);
        memcpy(h + from_carry, d, 5 - from_carry);
        if (!plausible_header(h)) continue;
        st->offset += i;
        st->resync_skipped += i;
        memcpy(st->hdr, st->rs + i, from_carry);
        st->hdr_have = (uint8_t)from_carry;
        st->rs_have = 0;
        resynced(st);
        return 0;
    }
    for (size_t i = 0; i + 5 <= len; i++) {
        if (!plausible_header(d + i)) continue;
        size_t next = i + 5 + (size_t)(d[i + 3] << 8 | d[i + 4]);
        if (next + 5 <= len && !plausible_header(d + next)) continue;
        if (next < len && next + 5 > len && (d[next] < 20 || d[next] > 24)) continue;
        st->offset += st->rs_have + i;
        st->resync_skipped += st->rs_have + i;
        st->rs_have = 0;
        resynced(st);
        return i;
    }
    /* none: keep the last (up to 4) bytes, skip the rest */
    size_t total = st->rs_have + len, keep = total < 4 ? total : 4;
    uint8_t tmp[8];
    memcpy(tmp, st->rs, st->rs_have);
    size_t tail = len < 4 ? len : 4;
    memcpy(tmp + st->rs_have, d + len - tail, tail);
    size_t tmp_len = st->rs_have + tail;
    memcpy(st->rs, tmp + tmp_len - keep, keep);
    st->offset += total - keep;
    st->resync_skipped += total - keep;
    st->rs_have = (uint8_t)keep;
    return len;
}

static size_t step_header(tls_record_stream *st, const uint8_t *d, size_t len)
{
    const uint8_t *first = st->hdr_have ? st->hdr : d;
    if (!(first[0] & 0x80) || (st->offset == 0 || st->sslv2_seen)) {
        /* ok */
    } else {
        desync(st, TLS_ANOM_NOT_TLS);
        return len;
    }
    size_t want = (first[0] & 0x80) ? 2 : is_v2_long(st, first[0]) ? 3 : 5;
    if (st->hdr_have == 0 && len >= want) {
        if (!header_done(st, d)) return st->state == ST_RESYNC ? resync_reject(st, 1) : len;
        return want;
    }
    size_t take = min_sz(want - st->hdr_have, len);
    memcpy(st->hdr + st->hdr_have, d, take);
    st->hdr_have = (uint8_t)(st->hdr_have + take);
    if (st->hdr_have == want) {
        st->hdr_have = 0;
        if (!header_done(st, st->hdr)) return st->state == ST_RESYNC ? resync_reject(st, take) : len;
    }
    return take;
}

static size_t step_body(tls_record_stream *st, const uint8_t *d, size_t len)
{
    if (st->have == 0 && len >= st->need) {
        size_t n = st->need;
        st->offset += n;
        st->state = ST_HEADER;
        deliver(st, d, n);
        return n;
    }
    size_t take = min_sz(st->need - st->have, len);
    if (!reserve(st, take)) {
        body_to_skip(st); /* refused: the record is delivered without body */
        return 0;
    }
    memcpy(st->buf + st->have, d, take);
    st->have += take;
    st->offset += take;
    if (st->have == st->need) {
        st->state = ST_HEADER;
        deliver(st, st->buf, st->have);
        free_lazy(st); /* gathered for this record only */
    }
    return take;
}

static size_t step_skip(tls_record_stream *st, size_t len)
{
    size_t take = min_sz(st->need, len);
    st->need -= take;
    st->offset += take;
    st->skipped_bytes += take;
    if (st->need == 0) {
        st->state = ST_HEADER;
        deliver(st, NULL, 0);
    }
    return take;
}

void tls_record_feed(tls_record_stream *st, const uint8_t *data, size_t len)
{
    while (len > 0 && !st->desynced) {
        size_t used;
        switch (st->state) {
        case ST_HEADER: used = step_header(st, data, len); break;
        case ST_BODY: used = step_body(st, data, len); break;
        case ST_RESYNC: used = step_resync(st, data, len); break;
        default: used = step_skip(st, len); break;
        }
        data += used;
        len -= used;
    }
}

void tls_record_gap(tls_record_stream *st, uint64_t n)
{
    if (n == 0 || st->desynced) return;
    if (st->state == ST_SKIP && st->hdr_have == 0 && n <= st->need) {
        st->need -= (size_t)n;
        st->offset += n;
        st->skipped_bytes += n;
        if (st->need == 0) {
            st->state = ST_HEADER;
            deliver(st, NULL, 0);
        }
        return;
    }
    if (st->state == ST_SKIP && st->hdr_have == 0) {
        /* the gap swallows the rest of a skipped body and more: the record
         * was seen whole by its header, report it, then resynchronise */
        n -= st->need;
        st->offset += st->need;
        st->skipped_bytes += st->need;
        st->need = 0;
        st->state = ST_HEADER;
        deliver(st, NULL, 0);
        if (st->desynced) return;
    }
    st->offset += n;
    if ((st->records == 0 && !st->tls_known) || st->sslv2_seen) {
        /* nothing shows yet what this stream's records look like */
        desync(st, TLS_ANOM_STREAM_GAP);
        return;
    }
    /* anything half gathered is lost with the gap */
    st->anomalies |= (tls_anomalies)1 << TLS_ANOM_STREAM_GAP;
    st->offset += st->rs_have + st->hdr_have; /* a body's gathered bytes are counted already */
    st->resync_skipped += st->rs_have + st->hdr_have + (st->state == ST_BODY ? st->have : 0);
    st->hdr_have = 0;
    st->rs_have = 0;
    st->have = 0;
    st->need = 0;
    if (!st->delivering) free_lazy(st);
    else st->release_pending = true;
    st->state = ST_RESYNC;
}
