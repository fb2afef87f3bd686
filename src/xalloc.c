/* See xalloc.h. */
#include "xalloc.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* AddressSanitizer brings its own allocator: heap_setup leaves it alone */
#if defined(__SANITIZE_ADDRESS__)
#define TLSWATCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TLSWATCH_ASAN 1
#endif
#endif

static void *check(void *p)
{
    if (!p) {
        fprintf(stderr, "tlswatch: out of memory\n");
        exit(1);
    }
    return p;
}

size_t heap_setup(size_t huge_bytes)
{
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 1 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
#if defined(__GLIBC__) && defined(MADV_HUGEPAGE) && !defined(TLSWATCH_ASAN)
    /* x86-64's and arm64's (4 KiB pages) PMD size; elsewhere the advice
     * covers fewer whole huge pages or none, which is harmless */
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (huge_bytes < huge || huge_bytes > (16u << 20)) return 0;
    /* One chunk spanning the whole stretch, carved from a heap grown for
     * it: malloc writes only the chunk's header (below it) and the new top's
     * (past it), so no 4 KiB page inside the chunk is touched before the
     * advice. A page touched first would give its 2 MiB stretch a page
     * table of small pages for good. */
    size_t req = huge_bytes + huge;
    mallopt(M_MMAP_THRESHOLD, (int)(req + huge));
    void *p = malloc(req);
    __asm__ volatile("" : : "r"(p) : "memory");     /* kept: a malloc and free of nothing may be elided */
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + req) & ~(huge - 1);
    size_t done = p && hi > lo && madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0 ? hi - lo : 0;
    free(p);                    /* into the top chunk, below the trim threshold: the heap keeps it */
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    /* The top chunk now starts at p's header, below lo: what malloc hands
     * out next would fill [p, lo) in small pages first. A filler chunk
     * takes that stretch (its bytes are never touched, so they cost no
     * memory) and leaves the top's header just below lo. */
    static void *filler;
    if (done && lo - (uintptr_t)p >= 4096) {
        filler = malloc(lo - (uintptr_t)p - 8);
        if (filler != p) {  /* served from elsewhere: of no use */
            free(filler);
            filler = NULL;
        }
    }
    return done;
#else
    (void)huge_bytes;
    return 0;
#endif
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
