/* See xalloc.h. */
#include "xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *p)
{
    if (!p) {
        fprintf(stderr, "tlswatch: out of memory\n");
        exit(1);
    }
    return p;
}

void *xmalloc(size_t n) { return check(malloc(n ? n : 1)); }
void *xcalloc(size_t n, size_t sz) { return check(calloc(n ? n : 1, sz ? sz : 1)); }
void *xrealloc(void *p, size_t n) { return check(realloc(p, n ? n : 1)); }

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

#if defined(__SANITIZE_ADDRESS__)
#define FL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FL_ASAN 1
#endif
#endif
#ifdef FL_ASAN
#include <sanitizer/asan_interface.h>
#define FL_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define FL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define FL_POISON(p, n) ((void)(p), (void)(n))
#define FL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

void fl_init(struct freelist *fl, size_t size, unsigned cap)
{
    fl->head = NULL;
    fl->size = size < sizeof(void *) ? sizeof(void *) : size;
    fl->n = 0;
    fl->cap = cap;
}

void *fl_get(struct freelist *fl)
{
    void *p = fl->head;
    if (!p) return xcalloc(1, fl->size);
    FL_UNPOISON(p, fl->size);
    fl->head = *(void **)p;
    fl->n--;
    memset(p, 0, fl->size);
    return p;
}

void fl_put(struct freelist *fl, void *p)
{
    if (!p) return;
    if (fl->n >= fl->cap) {
        free(p);
        return;
    }
    *(void **)p = fl->head;
    fl->head = p;
    fl->n++;
    /* the link stays readable; the rest is poisoned */
    FL_POISON((uint8_t *)p + sizeof(void *), fl->size - sizeof(void *));
}

void fl_drain(struct freelist *fl)
{
    while (fl->head) {
        void *p = fl->head;
        FL_UNPOISON(p, fl->size);
        fl->head = *(void **)p;
        free(p);
    }
    fl->n = 0;
}
