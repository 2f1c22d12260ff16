/* src/base/str.c: string slice helpers. */
#include "str.h"

#include <ctype.h>

uint64_t str_hash(struct str s)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < s.len; i++) {
        h ^= (unsigned char)s.ptr[i];
        h *= 1099511628211ull;
    }
    return h;
}

bool str_eq_nocase(struct str a, struct str b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (tolower((unsigned char)a.ptr[i]) != tolower((unsigned char)b.ptr[i]))
            return false;
    return true;
}

struct str str_trim(struct str s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t' ||
                     s.ptr[s.len - 1] == '\r' || s.ptr[s.len - 1] == '\n'))
        s.len--;
    return s;
}

bool str_query_param(struct str query, struct str name, struct str *value)
{
    size_t i = 0;
    while (i < query.len) {
        size_t start = i;
        while (i < query.len && query.ptr[i] != '&')
            i++;
        struct str pair = str_make(query.ptr + start, i - start);
        i++;
        const char *eq = memchr(pair.ptr, '=', pair.len);
        struct str k = eq ? str_make(pair.ptr, (size_t)(eq - pair.ptr)) : pair;
        if (str_eq(k, name)) {
            *value = eq ? str_make(eq + 1, pair.len - k.len - 1) : STR_LIT("");
            return true;
        }
    }
    return false;
}

struct str str_url_authority(struct str url)
{
    const char *p = url.ptr && url.len >= 3 ? memmem(url.ptr, url.len, "://", 3) : NULL;
    if (!p)
        return STR_NULL;
    p += 3;
    const char *end = url.ptr + url.len, *q = p;
    while (q < end && *q != '/' && *q != '?' && *q != '#')
        q++;
    return str_make(p, (size_t)(q - p));
}
