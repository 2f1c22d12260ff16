/* storage/record.h: the versioned record encoding (format in schema.h).
 *
 * Layer: storage. A record kind is described by a table of fields (tag,
 * type, offset into the C struct); one encoder and one decoder serve every
 * kind. Decoding copies strings into the caller's arena, so a decoded
 * record outlives the transaction it was read in.
 * Errors: KITH_ECORRUPT for bytes that do not decode (wrong kind, truncated
 * varint or string, a known tag with the wrong wire type), KITH_ETOOBIG for
 * an encoding over RECORD_MAX_BYTES.
 */
#ifndef KITH_STORAGE_RECORD_H
#define KITH_STORAGE_RECORD_H

#include "../src/base/arena.h"
#include "../src/base/buf.h"
#include "../src/base/str.h"

#include <stddef.h>
#include <stdint.h>

#define RECORD_MAX_BYTES (4u << 20)

enum field_type {
    FT_U64,  /* uint64_t, wire 0 */
    FT_U32,  /* uint32_t, wire 0 */
    FT_U8,   /* uint8_t (enums, small counts), wire 0 */
    FT_BOOL, /* bool, wire 0 */
    FT_I64,  /* int64_t (times, scores), wire 1 */
    FT_STR,  /* struct str, wire 2 */
};

struct field_desc {
    uint32_t tag; /* >= 1, never reused within a kind */
    enum field_type type;
    size_t offset; /* offsetof(struct, member) */
};

struct record_desc {
    const char *name; /* for messages */
    uint8_t kind;     /* enum rec_kind, first byte of every record */
    uint8_t version;  /* written by the encoder */
    size_t size;      /* sizeof the struct */
    const struct field_desc *fields;
    size_t nfields;
    /* Called after decoding a record written by an older version, to fill
     * fields that version did not have; NULL when nothing to do. */
    void (*upgrade)(void *rec, uint8_t from_version);
};

/* Appends the encoding of rec to out. */
int record_encode(const struct record_desc *d, const void *rec, struct buf *out);
/* Decodes in into rec (zeroed first); strings are copied into a. */
int record_decode(const struct record_desc *d, struct str in, struct arena *a, void *rec);
/* Reads a varint at *p (advancing it); KITH_ECORRUPT if truncated or over 64 bits. */
int varint_read(const unsigned char **p, const unsigned char *end, uint64_t *out);

#endif
