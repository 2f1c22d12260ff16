/* src/base/str.h: string slices.
 *
 * Layer: base. A struct str is a borrowed (pointer, length) view; it is not
 * guaranteed to be NUL-terminated and never owns its bytes.
 */
#ifndef KITH_BASE_STR_H
#define KITH_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct str {
    const char *ptr;
    size_t len;
};

#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})
#define STR_NULL   ((struct str){NULL, 0})

static inline struct str str_from(const char *s)
{
    return (struct str){s, s ? strlen(s) : 0};
}

static inline struct str str_make(const void *p, size_t n)
{
    return (struct str){(const char *)p, n};
}

static inline bool str_eq(struct str a, struct str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool str_eq_cstr(struct str a, const char *b)
{
    return str_eq(a, str_from(b));
}

/* ASCII case-insensitive equality. */
bool str_eq_nocase(struct str a, struct str b);

/* A 64-bit FNV-1a hash of the bytes (for hash tables; not for secrets). */
uint64_t str_hash(struct str s);

/* Removes leading and trailing ASCII spaces and tabs. */
struct str str_trim(struct str s);

/* The authority (host[:port]) of an absolute URL "scheme://authority/...":
 * a slice of url up to the first '/', '?' or '#'; STR_NULL without "://". */
struct str str_url_authority(struct str url);

/* The value of parameter name in a query string ("a=1&b=2"), as written
 * (still percent-encoded); a parameter without '=' has an empty value.
 * Returns false when the parameter is absent. */
bool str_query_param(struct str query, struct str name, struct str *value);

#endif
