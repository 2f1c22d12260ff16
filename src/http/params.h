/* src/http/params.h: the parameters of a request (API calls and forms).
 *
 * Layer: http. Clients send them as a query string, a form body
 * (application/x-www-form-urlencoded) or a JSON object, and Mastodon reads
 * all three; so does this. Names ending in "[]" (Rails' arrays) lose the
 * suffix, and a JSON array gives one entry per element, so a repeated name
 * is how a list arrives. Values are percent-decoded, in the request's arena.
 */
#ifndef KITH_HTTP_PARAMS_H
#define KITH_HTTP_PARAMS_H

#include "server.h"

struct api_param {
    struct str name, value;
    struct str filename;     /* multipart: a file part's filename (may be empty) */
    struct str content_type; /* multipart: the part's Content-Type, or empty */
};

struct api_params {
    struct api_param *v;
    size_t n, cap;
};

/* Percent-decoding with '+' as a space, into a; KITH_EINVAL when the result
 * would hold a NUL byte. */
int http_pct_decode(struct arena *a, struct str in, struct str *out);
/* Reads the query string and the body (by its Content-Type: a form, JSON,
 * or multipart/form-data, whose file parts keep their bytes, filename and
 * type). KITH_EINVAL for a body that does not parse (the caller answers 400). */
int api_params_read(struct http_ctx *ctx, struct api_params *out);
/* The first value of name, or STR_NULL. */
struct str api_param(const struct api_params *p, const char *name);
/* The first entry named name (with its multipart details), or NULL. */
const struct api_param *api_param_entry(const struct api_params *p, const char *name);
/* The i-th value of name (0-based), or STR_NULL past the last. */
struct str api_param_at(const struct api_params *p, const char *name, size_t i);

#endif
