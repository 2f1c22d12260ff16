/* src/http/router.c: matching requests to routes. */
#include "router.h"

#include <stdbool.h>
#include <string.h>

/* Matches one pattern against path, filling params on success. */
static bool match_pattern(const char *pattern, struct str path, struct route_params *params)
{
    const char *p = pattern;
    size_t i = 0;

    params->n = 0;
    if (path.len > 1 && path.ptr[path.len - 1] == '/')
        path.len--;
    while (*p && i <= path.len) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close)
                return false;
            size_t start = i;
            while (i < path.len && path.ptr[i] != '/')
                i++;
            if (i == start || params->n == ROUTE_MAX_PARAMS)
                return false;
            params->names[params->n] = str_make(p + 1, (size_t)(close - p - 1));
            params->values[params->n] = str_make(path.ptr + start, i - start);
            params->n++;
            p = close + 1;
            continue;
        }
        if (i == path.len || *p != path.ptr[i])
            return false;
        p++;
        i++;
    }
    return *p == '\0' && i == path.len;
}

enum route_result router_match(const struct route *routes, size_t nroutes, struct str method,
                               struct str path, const struct route **found,
                               struct route_params *params, char *allow, size_t allowlen)
{
    struct route_params tmp;
    bool path_matched = false;
    size_t alen = 0;

    if (allow && allowlen)
        allow[0] = '\0';
    for (size_t r = 0; r < nroutes; r++) {
        if (!match_pattern(routes[r].pattern, path, &tmp))
            continue;
        if (str_eq_cstr(method, routes[r].method) ||
            (str_eq_cstr(method, "HEAD") && strcmp(routes[r].method, "GET") == 0)) {
            *found = &routes[r];
            *params = tmp;
            return ROUTE_FOUND;
        }
        path_matched = true;
        if (allow) {
            /* GET routes answer HEAD too. */
            const char *names[2] = {routes[r].method,
                                    strcmp(routes[r].method, "GET") == 0 ? "HEAD" : NULL};
            for (int i = 0; i < 2 && names[i]; i++) {
                size_t ml = strlen(names[i]);
                if (alen + ml + 3 < allowlen) {
                    if (alen) {
                        memcpy(allow + alen, ", ", 2);
                        alen += 2;
                    }
                    memcpy(allow + alen, names[i], ml);
                    alen += ml;
                    allow[alen] = '\0';
                }
            }
        }
    }
    return path_matched ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
}

struct str route_param(const struct route_params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (str_eq_cstr(p->names[i], name))
            return p->values[i];
    return STR_NULL;
}
