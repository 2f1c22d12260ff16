/* src/base/arena.h: a bump allocator released all at once.
 *
 * Layer: base. One arena per HTTP request (owned by the request context and
 * released right after the reply), one per admin command, one per decoded
 * record batch. Nothing allocated from an arena is freed on its own.
 * Objects with destructors (cJSON trees, EVP_PKEY, xmlDoc) are attached with
 * arena_defer() and destroyed, newest first, by arena_release().
 * Thread: an arena belongs to one thread at a time.
 */
#ifndef KITH_BASE_ARENA_H
#define KITH_BASE_ARENA_H

#include "str.h"

#include <stddef.h>
#include <stdint.h>

struct arena_chunk;
struct arena_defer;

struct arena {
    struct arena_chunk *head;   /* newest chunk, allocation happens here */
    struct arena_defer *defers; /* destructors, newest first */
    size_t used;                /* bytes handed out, for limits and tests */
};

#define ARENA_INIT \
 {                 \
  NULL, NULL, 0    \
 }

typedef void arena_defer_fn(void *p);

/* Aligned allocation (16 bytes); aborts on out-of-memory. */
void *arena_alloc(struct arena *a, size_t n);
/* As arena_alloc, zero-filled. */
void *arena_zalloc(struct arena *a, size_t n);
/* NUL-terminated copies. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* Copies a slice into the arena; the copy is also NUL-terminated. */
struct str arena_str(struct arena *a, struct str s);
/* printf into the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Calls fn(p) when the arena is released. */
void arena_defer(struct arena *a, arena_defer_fn *fn, void *p);
/* Runs the destructors and frees every chunk; the arena is empty and reusable. */
void arena_release(struct arena *a);

#endif
