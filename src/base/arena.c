/* src/base/arena.c: bump allocator with deferred destructors. */
#include "arena.h"

#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_MIN 4096
#define ARENA_ALIGN     16

struct arena_chunk {
    struct arena_chunk *next;
    size_t size; /* usable bytes in data */
    size_t off;  /* next free offset */
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena_defer {
    struct arena_defer *next;
    arena_defer_fn *fn;
    void *p;
};

void *arena_alloc(struct arena *a, size_t n)
{
    struct arena_chunk *c = a->head;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

    if (!c || c->size - c->off < need) {
        size_t size = ARENA_CHUNK_MIN;
        if (c && c->size * 2 > size)
            size = c->size * 2 > 1 << 20 ? 1 << 20 : c->size * 2;
        if (size < need)
            size = need;
        c = xmalloc(sizeof(*c) + size);
        c->size = size;
        c->off = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->off;
    c->off += need;
    a->used += need;
    return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

struct str arena_str(struct arena *a, struct str s)
{
    return (struct str){arena_strndup(a, s.ptr, s.len), s.len};
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    char small[256];

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return arena_strdup(a, "");
    if ((size_t)n < sizeof(small))
        return arena_strndup(a, small, (size_t)n);
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_defer(struct arena *a, arena_defer_fn *fn, void *p)
{
    struct arena_defer *d = arena_alloc(a, sizeof(*d));
    d->fn = fn;
    d->p = p;
    d->next = a->defers;
    a->defers = d;
}

void arena_release(struct arena *a)
{
    /* Destructors first: their records live in the chunks. */
    for (struct arena_defer *d = a->defers; d; d = d->next)
        d->fn(d->p);
    a->defers = NULL;
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}
