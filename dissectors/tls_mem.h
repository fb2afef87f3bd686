/* Memory for the buffers a direction needs only while a record or a
 * handshake message spans several chunks. The dissector holds no memory of
 * its own: it asks its owner (the session layer, which keeps a budget) and
 * gives every buffer back as soon as the record or message it gathered has
 * been delivered, never while a callback is still reading it. alloc may
 * refuse (NULL): the record or message is then skipped and delivered
 * without a body, with the memory_budget anomaly. */
#ifndef TLSWATCH_TLS_MEM_H
#define TLSWATCH_TLS_MEM_H
#include <stddef.h>

typedef struct tls_mem {
    void *(*alloc)(void *user, size_t n);
    void (*release)(void *user, void *p, size_t n);
    void *user;
} tls_mem;

#endif
