/* Memory for the buffers a direction needs only while a record or a
 * handshake message spans several chunks. The dissector holds no memory of
 * its own: it asks its owner (the session layer, which keeps a budget) and
 * gives every buffer back as soon as the record or message it gathered has
 * been delivered, never while a callback is still reading it. alloc may
 * refuse (NULL): the record or message is then skipped and delivered
 * without a body, with the memory_budget anomaly. */
#ifndef TLSWATCH_TLS_MEM_H
#define TLSWATCH_TLS_MEM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tls_mem {
    void *(*alloc)(void *user, size_t n);
    void (*release)(void *user, void *p, size_t n);
    void *user;
} tls_mem;

/* Makes *buf (have bytes used, *cap allocated) hold want bytes: doubles
 * from 2 KiB, never beyond limit (the length the record or message
 * announced), copies what it held. false when mem refuses; *buf is then
 * unchanged. Never call it while a callback reads *buf. */
bool tls_mem_grow(const tls_mem *m, uint8_t **buf, size_t *cap, size_t have, size_t want, size_t limit);
/* Gives *buf back and clears it. */
void tls_mem_free(const tls_mem *m, uint8_t **buf, size_t *cap);

#endif
