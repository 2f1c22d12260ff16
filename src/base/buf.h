/* src/base/buf.h: growable byte buffers with a ceiling.
 *
 * Layer: base. Every buffer that may hold bytes from outside has a maximum
 * size set at buf_init (like curl's dynbuf); appends beyond it fail with
 * KITH_ETOOBIG and leave the buffer as it was. The data is always
 * NUL-terminated (the terminator is not counted in len).
 * Owned: the caller frees with buf_free(); buf_detach() hands the bytes over.
 */
#ifndef KITH_BASE_BUF_H
#define KITH_BASE_BUF_H

#include "str.h"

#include <stddef.h>
#include <stdint.h>

struct buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* ceiling on len */
};

void buf_init(struct buf *b, size_t max);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_add_str(struct buf *b, struct str s);
int buf_add_cstr(struct buf *b, const char *s);
int buf_add_byte(struct buf *b, uint8_t c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends v as a base-128 varint (7 bits a byte, low first). */
int buf_add_varint(struct buf *b, uint64_t v);
/* Appends v big-endian in 8 bytes. */
int buf_add_be64(struct buf *b, uint64_t v);
/* Appends s with & < > " ' escaped for HTML text and attribute values. */
int buf_add_html(struct buf *b, struct str s);
/* Appends base64url of n bytes, without padding (RFC 4648 section 5). */
int buf_add_base64url(struct buf *b, const unsigned char *p, size_t n);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Returns the bytes (caller frees with free()) and empties the buffer. */
char *buf_detach(struct buf *b, size_t *len);

static inline struct str buf_str(const struct buf *b)
{
    return (struct str){b->data ? b->data : "", b->len};
}

/* Big-endian helpers for keys. */
static inline void be64_put(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static inline uint64_t be64_get(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

#endif
