/* heap_setup (src/xalloc.c): the heap's first stretch advised for
 * transparent huge pages, and what malloc hands out next placed inside it.
 * A process of its own: heap_setup must run before anything else grows
 * the heap. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "xalloc.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#endif

/* The VmFlags line of the mapping holding p, from /proc/self/smaps. */
__attribute__((unused)) static int vm_flags_of(const void *p, char *flags, size_t n)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int in = 0, found = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(flags, n, "%s", line + 8);
            flags[strcspn(flags, "\n")] = '\0';
            found = 0;
            break;
        }
    }
    fclose(f);
    return found;
}

int main(void)
{
    size_t got = heap_setup(16u << 20);
#ifdef T_ASAN
    CHECK_EQ_INT(got, 0, "heap_setup: under AddressSanitizer (its own allocator) nothing is advised");
#else
    CHECK(got >= (16u << 20) && got <= (18u << 20), "heap_setup: 16-18 MiB advised (got %zu)", got);
    /* the next allocations come from the advised stretch, not from the
     * small pages below it (the filler took those) */
    char *a = malloc(100000), *b = malloc(3000);
    char flags[512] = "";
    CHECK(a && vm_flags_of(a, flags, sizeof flags) == 0 && strstr(flags, " hg") != NULL,
          "heap_setup: a 100 kB block after it lies in a mapping advised for huge pages (VmFlags:%s)", flags);
    CHECK(b && vm_flags_of(b, flags, sizeof flags) == 0 && strstr(flags, " hg") != NULL,
          "heap_setup: so does a 3 kB block");
    memset(a, 1, 100000);
    memset(b, 2, 3000);
    CHECK(a[99999] == 1 && b[2999] == 2, "heap_setup: the blocks are usable");
    free(a);
    free(b);
    /* freed memory stays with the process: the heap's top is not given
     * back (and faulted in again) after a burst of frees */
    void *brk0 = sbrk(0);
    char *big = malloc(8u << 20);
    if (big) memset(big, 3, 8u << 20);
    free(big);
    CHECK(big && sbrk(0) == brk0, "heap_setup: 8 MiB freed again: the heap keeps its size (%p -> %p)", brk0, sbrk(0));
#endif
    CHECK_EQ_INT(heap_setup(1u << 20), 0, "heap_setup: less than one huge page: nothing advised");
    return T_DONE();
}
