/* Lazy gathering buffers: the one growth policy of the record and
 * handshake layers (see tls_mem.h). */
#include "tls_mem.h"

#include <string.h>

bool tls_mem_grow(const tls_mem *m, uint8_t **buf, size_t *cap, size_t have, size_t want, size_t limit)
{
    if (want <= *cap) return true;
    if (!m || !m->alloc) return false;
    size_t ncap = *cap ? *cap * 2 : 2048;
    if (ncap < want) ncap = want;
    if (ncap > limit) ncap = limit;
    if (ncap < want) return false;
    uint8_t *nb = m->alloc(m->user, ncap);
    if (!nb) return false;
    if (have) memcpy(nb, *buf, have);
    tls_mem_free(m, buf, cap);
    *buf = nb;
    *cap = ncap;
    return true;
}

void tls_mem_free(const tls_mem *m, uint8_t **buf, size_t *cap)
{
    if (*buf && m && m->release) m->release(m->user, *buf, *cap);
    *buf = NULL;
    *cap = 0;
}
