/* Allocation that cannot fail quietly: out of memory ends the process with
 * one line on stderr (a half-built flow or rule would be worse). */
#ifndef TLSWATCH_XALLOC_H
#define TLSWATCH_XALLOC_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrndup(const char *s, size_t n);
char *xstrdup(const char *s);

/* A bounded free list of same-sized objects: what the per-connection
 * state is freed into and taken back from, so a steady stream of short
 * connections does not go through malloc (whose bins its 2-4 KB objects
 * would churn) for each. fl_get returns a zeroed object, as calloc; at most
 * cap objects wait in the list, the rest are freed. Under AddressSanitizer
 * an object in the list is poisoned, so a use after fl_put is still
 * reported. */
struct freelist {
    void *head;
    size_t size;
    unsigned n, cap;
};

void fl_init(struct freelist *fl, size_t size, unsigned cap);
void *fl_get(struct freelist *fl);
void fl_put(struct freelist *fl, void *p);
void fl_drain(struct freelist *fl);

#endif
