/* src/api/page.c: Mastodon's pagination (see page.h). */
#include "page.h"

#include "../base/buf.h"
#include "../core/feeds.h"

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

struct page_index {
    const struct api_page *pg;
    cJSON *arr;
    api_item_fn *fn;
    void *arg;
    size_t n, looked;
    uint64_t newest, oldest;
};

static int page_index_step(uint64_t id, struct str val, void *arg)
{
    struct page_index *w = arg;
    if (++w->looked > 20 * w->pg->limit + 200)
        return 1; /* mostly skipped: stop looking */
    cJSON *item = w->fn(id, val, w->arg);
    if (!item)
        return 0;
    cJSON_AddItemToArray(w->arr, item);
    w->newest = w->newest > id ? w->newest : id;
    w->oldest = !w->oldest || id < w->oldest ? id : w->oldest;
    return ++w->n >= w->pg->limit;
}

size_t api_page_index(struct http_ctx *ctx, struct kv_txn *txn, unsigned table, uint64_t owner,
                      const struct api_page *pg, cJSON *arr, api_item_fn *fn, void *arg)
{
    struct page_index w = {.pg = pg, .arr = arr, .fn = fn, .arg = arg};
    struct key8 k = key_id(owner);
    bool forward = pg->min_id && !pg->since_id;
    index_each(txn, table, KEY8(k), pg->max_id, api_page_floor(pg), forward, page_index_step, &w);
    if (forward) { /* read oldest first: answered newest first */
        cJSON *items = NULL;
        while (arr->child) {
            cJSON *it = cJSON_DetachItemViaPointer(arr, arr->child);
            it->next = items;
            items = it;
        }
        while (items) {
            cJSON *next = items->next;
            items->next = items->prev = NULL;
            cJSON_AddItemToArray(arr, items);
            items = next;
        }
    }
    if (w.n)
        api_page_link(ctx, w.newest, w.oldest);
    return w.n;
}
