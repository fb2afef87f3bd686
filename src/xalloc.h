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

#endif
