/* src/base/mem.h: allocation that aborts on out-of-memory.
 *
 * Layer: base. Hostile input cannot drive memory use because every buffer that
 * holds network bytes is capped (buf.h), so running out of memory is a
 * programmer or operator error and aborting is the honest answer.
 * Owned: everything returned here is freed with free().
 */
#ifndef KITH_BASE_MEM_H
#define KITH_BASE_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
