/* Bounds-checked byte cursor in the style of OpenSSL's PACKET.
 *
 * Every read checks the remaining length; a failed read sets a sticky flag,
 * returns 0 (or an empty sub-cursor) and leaves the cursor empty, so a
 * parser reads straight down and tests cur_ok() once at the end. A
 * length-prefixed field becomes a sub-cursor (cur_vec8/16/24): an inner
 * length can never overrun the parent. Header-only, no allocation. */
#ifndef TLSWATCH_CURSOR_H
#define TLSWATCH_CURSOR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cur {
    const uint8_t *p; /* next unread byte */
    size_t n;         /* bytes left */
    bool bad;         /* sticky: some read went past the end */
} cur_t;

static inline cur_t cur_init(const uint8_t *p, size_t n)
{
    cur_t c = { p, p ? n : 0, false };
    return c;
}

static inline void cur_fail(cur_t *c)
{
    c->bad = true;
    c->n = 0;
}

static inline bool cur_ok(const cur_t *c) { return !c->bad; }
static inline size_t cur_remaining(const cur_t *c) { return c->n; }
/* True when the cursor is intact and fully consumed. */
static inline bool cur_done(const cur_t *c) { return !c->bad && c->n == 0; }

static inline const uint8_t *cur_bytes(cur_t *c, size_t k)
{
    if (c->bad || c->n < k) {
        cur_fail(c);
        return NULL;
    }
    const uint8_t *r = c->p;
    c->p += k;
    c->n -= k;
    return r;
}

static inline void cur_skip(cur_t *c, size_t k) { (void)cur_bytes(c, k); }

static inline uint8_t cur_u8(cur_t *c)
{
    const uint8_t *b = cur_bytes(c, 1);
    return b ? b[0] : 0;
}

static inline uint16_t cur_u16(cur_t *c)
{
    const uint8_t *b = cur_bytes(c, 2);
    return b ? (uint16_t)((unsigned)b[0] << 8 | b[1]) : 0;
}

static inline uint32_t cur_u24(cur_t *c)
{
    const uint8_t *b = cur_bytes(c, 3);
    return b ? (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2] : 0;
}

static inline uint32_t cur_u32(cur_t *c)
{
    const uint8_t *b = cur_bytes(c, 4);
    return b ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3] : 0;
}

/* Sub-cursor over the next k bytes; on failure both parent and child fail. */
static inline cur_t cur_sub(cur_t *c, size_t k)
{
    const uint8_t *b = cur_bytes(c, k);
    cur_t s = { b, b ? k : 0, b == NULL };
    return s;
}

static inline cur_t cur_vec8(cur_t *c)
{
    size_t k = cur_u8(c);
    if (c->bad) return (cur_t){ NULL, 0, true };
    return cur_sub(c, k);
}

static inline cur_t cur_vec16(cur_t *c)
{
    size_t k = cur_u16(c);
    if (c->bad) return (cur_t){ NULL, 0, true };
    return cur_sub(c, k);
}

static inline cur_t cur_vec24(cur_t *c)
{
    size_t k = cur_u24(c);
    if (c->bad) return (cur_t){ NULL, 0, true };
    return cur_sub(c, k);
}

/* Copies k bytes into out (which must hold k); fails sticky when short. */
static inline bool cur_copy(cur_t *c, uint8_t *out, size_t k)
{
    const uint8_t *b = cur_bytes(c, k);
    if (!b) return false;
    for (size_t i = 0; i < k; i++) out[i] = b[i];
    return true;
}
#endif
