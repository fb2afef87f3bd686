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

/* The heap policy of a long-lived process, set first thing in main while
 * the process is single-threaded. glibc keeps freed memory instead of
 * giving the top of the heap back to the kernel after each burst of frees
 * (connection and handshake state is allocated and freed at a steady rate:
 * trimming and faulting the top in again, zeroed, took 60% of the CPU time
 * on 20,000 short connections; the memory budget, --max-memory, bounds
 * what is held), and allocations
 * below 4 MiB (libnids' stream pool, the capture file's read window) come
 * from the heap rather than from mappings of their own. With huge_bytes,
 * the heap is grown by that much at once and the kernel asked to back it
 * with transparent huge pages (MADV_HUGEPAGE; a no-op where THP is set to
 * "never"): on a virtual machine each first touch of a 4 KiB page costs
 * some 10 us, and a run's working set is a few MiB. Returns the bytes
 * advised (0 when nothing was: not glibc's heap, brk could not grow). */
size_t heap_setup(size_t huge_bytes);

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
