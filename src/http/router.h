/* src/http/router.h: routes as data, and matching a request to one.
 *
 * Layer: http. A pattern is a path whose segments are literals or
 * parameters written {name}; a parameter matches one non-empty segment.
 * Matching is exact (no prefix matches, one optional trailing slash is
 * ignored). The router holds no state beyond the table it is given.
 */
#ifndef KITH_HTTP_ROUTER_H
#define KITH_HTTP_ROUTER_H

#include "../base/str.h"

#include <stddef.h>

#define ROUTE_MAX_PARAMS 8

struct http_ctx;

/* Returns HANDLER_DONE after replying, or HANDLER_ASYNC when the reply will
 * be sent later from the same thread. */
typedef int http_handler_fn(struct http_ctx *ctx);

enum { HANDLER_DONE = 0, HANDLER_ASYNC = 1 };

struct route {
    const char *method;  /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *pattern; /* "/api/v1/accounts/{id}" */
    http_handler_fn *handler;
    size_t body_limit; /* bytes; 0 = the server's max_body_bytes; ROUTE_BODY_UPLOAD = an upload */
    const char *scope; /* the OAuth scope an API route needs (the API's auth reads it); NULL */
};

/* A route taking a media upload: its body may be as large as the largest
 * file the config takes (media_max_*_bytes), plus the form around it. */
#define ROUTE_BODY_UPLOAD ((size_t)-1)

/* A module's routes, for main.c to mount several tables as one. */
struct route_table {
    const struct route *routes;
    size_t n;
};

struct route_params {
    size_t n;
    struct str names[ROUTE_MAX_PARAMS];
    struct str values[ROUTE_MAX_PARAMS]; /* borrowed from the path */
};

enum route_result {
    ROUTE_FOUND,
    ROUTE_NOT_FOUND,  /* no pattern matches the path */
    ROUTE_BAD_METHOD, /* a pattern matches, but not for this method */
};

/* Finds the route for method and path (path without the query string).
 * On ROUTE_BAD_METHOD, allow (if not NULL, >= 64 bytes) lists the methods
 * that would match, comma-separated, for the Allow header. */
enum route_result router_match(const struct route *routes, size_t nroutes, struct str method,
                               struct str path, const struct route **found,
                               struct route_params *params, char *allow, size_t allowlen);

/* Looks a parameter up by name; STR_NULL when absent. */
struct str route_param(const struct route_params *p, const char *name);

#endif
