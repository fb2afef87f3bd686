/* Parsed certificates, remembered (see x509cache.h). */
#include "x509cache.h"

#include <stdlib.h>
#include <string.h>

#include "siphash.h"
#include "xalloc.h"

/* An entry, with its DER after it. Slots are pointers, filled as they are
 * first used: a table of summaries (3.4 KB each) allocated and cleared
 * whole at start cost ~200 page faults of every run, certificates or not. */
struct slot {
    uint64_t h;
    size_t len;
    bool ok;
    x509_summary sum;
    uint8_t der[];
};

struct x509cache {
    struct slot **slots;
    size_t n;
    struct x509cache_stats st;
};

struct x509cache *x509cache_new(size_t slots)
{
    struct x509cache *c = xcalloc(1, sizeof *c);
    c->n = slots ? slots : X509CACHE_DEFAULT;
    c->slots = xcalloc(c->n, sizeof *c->slots);
    return c;
}

void x509cache_free(struct x509cache *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) free(c->slots[i]);
    free(c->slots);
    free(c);
}

bool x509cache_summary(struct x509cache *c, const uint8_t *der, size_t len, x509_summary *out)
{
    if (!c || !der || len == 0 || len > X509CACHE_MAX_DER) return x509_summary_parse(der, len, out);
    uint64_t h = siphash24(siphash_key, der, len);
    struct slot **sp = &c->slots[h % c->n], *s = *sp;
    if (s && s->h == h && s->len == len && memcmp(s->der, der, len) == 0) {
        c->st.hits++;
        *out = s->sum;
        out->der = der;
        return s->ok;
    }
    c->st.misses++;
    bool ok = x509_summary_parse(der, len, out);
    if (s) {
        c->st.replaced++;
        c->st.bytes -= s->len;
        free(s);
    } else {
        c->st.entries++;
    }
    *sp = s = xmalloc(sizeof *s + len);
    memcpy(s->der, der, len);
    s->len = len;
    s->h = h;
    s->ok = ok;
    s->sum = *out;
    s->sum.der = NULL; /* a view of the input: not kept */
    c->st.bytes += len;
    return ok;
}

const struct x509cache_stats *x509cache_stats(const struct x509cache *c) { return &c->st; }
