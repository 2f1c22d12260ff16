/* src/api/page.c: Mastodon's pagination (see page.h). */
#include "page.h"

#include "../base/buf.h"

#include <stdlib.h>
#include <string.h>

static uint64_t parse_id(struct str s)
{
    uint64_t v = 0;
    if (!s.len || s.len > 19)
        return 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s.ptr[i] - '0');
    }
    return v;
}

void api_page_read(struct http_ctx *ctx, size_t def, size_t max, struct api_page *p)
{
    p->max_id = parse_id(http_query(ctx, "max_id"));
    p->since_id = parse_id(http_query(ctx, "since_id"));
    p->min_id = parse_id(http_query(ctx, "min_id"));
    struct str l = http_query(ctx, "limit");
    uint64_t n = parse_id(l);
    p->limit = !l.len || !n ? def : n > max ? max : (size_t)n;
}

uint64_t api_page_floor(const struct api_page *p)
{
    return p->since_id > p->min_id ? p->since_id : p->min_id;
}

void api_page_link(struct http_ctx *ctx, uint64_t newest, uint64_t oldest)
{
    struct buf rest, link;
    buf_init(&rest, 16 << 10);
    buf_init(&link, 20 << 10);
    const char *q = ctx->query.ptr, *end = q + ctx->query.len;
    while (q < end) { /* the other parameters, as sent */
        const char *amp = memchr(q, '&', (size_t)(end - q));
        struct str kv = str_make(q, (size_t)((amp ? amp : end) - q));
        q = amp ? amp + 1 : end;
        static const char *const drop[] = {"max_id=", "since_id=", "min_id="};
        bool skip = !kv.len;
        for (size_t i = 0; i < 3 && !skip; i++)
            skip = kv.len >= strlen(drop[i]) && memcmp(kv.ptr, drop[i], strlen(drop[i])) == 0;
        for (size_t i = 0; i < kv.len && !skip; i++)
            skip = kv.ptr[i] == '<' || kv.ptr[i] == '>' || kv.ptr[i] == '"' || kv.ptr[i] == ' ';
        if (!skip) {
            buf_add_byte(&rest, '&');
            buf_add_str(&rest, kv);
        }
    }
    const char *base = http_url(ctx, "%.*s", (int)ctx->path.len, ctx->path.ptr);
    buf_printf(&link, "<%s?max_id=%llu%.*s>; rel=\"next\", <%s?min_id=%llu%.*s>; rel=\"prev\"",
               base, (unsigned long long)oldest, (int)rest.len, buf_str(&rest).ptr, base,
               (unsigned long long)newest, (int)rest.len, buf_str(&rest).ptr);
    http_add_header(ctx, "Link", buf_str(&link).ptr);
    buf_free(&rest);
    buf_free(&link);
}

bool api_id_param(struct http_ctx *ctx, const char *name, uint64_t *out)
{
    *out = parse_id(route_param(&ctx->params, name));
    if (*out)
        return true;
    http_reply_error(ctx, 404, "Record not found");
    return false;
}
