/* storage/record.c: the versioned record encoding. */
#include "record.h"

#include "../src/base/err.h"

#include <stdbool.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_ZIGZAG = 1, WIRE_BYTES = 2 };

static unsigned wire_of(enum field_type t)
{
    switch (t) {
    case FT_I64:
        return WIRE_ZIGZAG;
    case FT_STR:
        return WIRE_BYTES;
    default:
        return WIRE_VARINT;
    }
}

int varint_read(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return KITH_ECORRUPT;
        unsigned char c = *(*p)++;
        if (shift == 63 && (c & 0x7e))
            return KITH_ECORRUPT;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return KITH_OK;
        }
    }
    return KITH_ECORRUPT;
}

int record_encode(const struct record_desc *d, const void *rec, struct buf *out)
{
    const unsigned char *base = rec;
    size_t start = out->len;
    int rc = buf_add_byte(out, d->kind);
    if (!rc)
        rc = buf_add_byte(out, d->version);
    for (size_t i = 0; i < d->nfields && rc == KITH_OK; i++) {
        const struct field_desc *f = &d->fields[i];
        const void *p = base + f->offset;
        uint64_t key = (uint64_t)f->tag << 3 | wire_of(f->type);
        uint64_t v = 0;
        switch (f->type) {
        case FT_U64:
            memcpy(&v, p, 8);
            break;
        case FT_U32: {
            uint32_t x;
            memcpy(&x, p, 4);
            v = x;
            break;
        }
        case FT_U8:
            v = *(const uint8_t *)p;
            break;
        case FT_BOOL:
            v = *(const bool *)p;
            break;
        case FT_I64: {
            int64_t x;
            memcpy(&x, p, 8);
            v = ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
            break;
        }
        case FT_STR: {
            struct str s;
            memcpy(&s, p, sizeof(s));
            if (s.len == 0)
                continue;
            rc = buf_add_varint(out, key);
            if (!rc)
                rc = buf_add_varint(out, s.len);
            if (!rc)
                rc = buf_add(out, s.ptr, s.len);
            continue;
        }
        }
        if (v == 0)
            continue;
        rc = buf_add_varint(out, key);
        if (!rc)
            rc = buf_add_varint(out, v);
    }
    if (rc == KITH_OK && out->len - start > RECORD_MAX_BYTES)
        rc = KITH_ETOOBIG;
    if (rc) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return rc;
}

static const struct field_desc *find(const struct record_desc *d, uint64_t tag)
{
    for (size_t i = 0; i < d->nfields; i++)
        if (d->fields[i].tag == tag)
            return &d->fields[i];
    return NULL;
}

int record_decode(const struct record_desc *d, struct str in, struct arena *a, void *rec)
{
    const unsigned char *p = (const unsigned char *)in.ptr, *end = p + in.len;
    unsigned char *base = rec;

    memset(rec, 0, d->size);
    for (size_t i = 0; i < d->nfields; i++)
        if (d->fields[i].type == FT_STR)
            memcpy(base + d->fields[i].offset, &(struct str){"", 0}, sizeof(struct str));
    if (in.len < 2 || p[0] != d->kind)
        return KITH_ECORRUPT;
    uint8_t version = p[1];
    p += 2;
    while (p < end) {
        uint64_t key, v = 0;
        if (varint_read(&p, end, &key))
            return KITH_ECORRUPT;
        unsigned wire = key & 7;
        uint64_t tag = key >> 3;
        struct str s = STR_NULL;
        if (wire == WIRE_VARINT || wire == WIRE_ZIGZAG) {
            if (varint_read(&p, end, &v))
                return KITH_ECORRUPT;
        } else if (wire == WIRE_BYTES) {
            if (varint_read(&p, end, &v) || v > (uint64_t)(end - p))
                return KITH_ECORRUPT;
            s = str_make(p, (size_t)v);
            p += v;
        } else {
            return KITH_ECORRUPT;
        }
        const struct field_desc *f = find(d, tag);
        if (!f)
            continue; /* a field from a newer version: skip */
        if (wire_of(f->type) != wire)
            return KITH_ECORRUPT;
        void *dst = base + f->offset;
        switch (f->type) {
        case FT_U64:
            memcpy(dst, &v, 8);
            break;
        case FT_U32: {
            if (v > UINT32_MAX)
                return KITH_ECORRUPT;
            uint32_t x = (uint32_t)v;
            memcpy(dst, &x, 4);
            break;
        }
        case FT_U8:
            if (v > UINT8_MAX)
                return KITH_ECORRUPT;
            *(uint8_t *)dst = (uint8_t)v;
            break;
        case FT_BOOL:
            if (v > 1)
                return KITH_ECORRUPT;
            *(bool *)dst = v != 0;
            break;
        case FT_I64: {
            int64_t x = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            memcpy(dst, &x, 8);
            break;
        }
        case FT_STR: {
            struct str copy = arena_str(a, s);
            memcpy(dst, &copy, sizeof(copy));
            break;
        }
        }
    }
    if (version < d->version && d->upgrade)
        d->upgrade(rec, version);
    return KITH_OK;
}
