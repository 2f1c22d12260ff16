/* src/base/buf.c: capped growable buffers. */
#include "buf.h"

#include "err.h"
#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static int grow(struct buf *b, size_t extra)
{
    if (extra > b->max - b->len)
        return KITH_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return KITH_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return KITH_OK;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
    int rc = grow(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return KITH_OK;
}

int buf_add_str(struct buf *b, struct str s)
{
    return buf_add(b, s.ptr, s.len);
}

int buf_add_cstr(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_add_byte(struct buf *b, uint8_t c)
{
    return buf_add(b, &c, 1);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return KITH_EINVAL;
    if ((size_t)n < sizeof(small))
        return buf_add(b, small, (size_t)n);
    int rc = grow(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return KITH_OK;
}

int buf_add_varint(struct buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        tmp[n++] = c | (v ? 0x80 : 0);
    } while (v);
    return buf_add(b, tmp, n);
}

int buf_add_be64(struct buf *b, uint64_t v)
{
    unsigned char tmp[8];
    be64_put(tmp, v);
    return buf_add(b, tmp, 8);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *p = b->data ? b->data : xstrdup("");
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

int buf_add_html(struct buf *b, struct str s)
{
    int rc = 0;
    for (size_t i = 0; i < s.len && !rc; i++) {
        switch (s.ptr[i]) {
        case '&':
            rc = buf_add_cstr(b, "&amp;");
            break;
        case '<':
            rc = buf_add_cstr(b, "&lt;");
            break;
        case '>':
            rc = buf_add_cstr(b, "&gt;");
            break;
        case '"':
            rc = buf_add_cstr(b, "&quot;");
            break;
        case '\'':
            rc = buf_add_cstr(b, "&#39;");
            break;
        default:
            rc = buf_add_byte(b, (uint8_t)s.ptr[i]);
        }
    }
    return rc;
}

int buf_add_base64url(struct buf *b, const unsigned char *p, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        size_t chars = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
        for (size_t j = 0; j < chars && !rc; j++)
            rc = buf_add_byte(b, (uint8_t)b64[(w >> (18 - 6 * j)) & 63]);
    }
    return rc;
}
