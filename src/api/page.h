/* src/api/page.h: Mastodon's pagination: max_id, since_id, min_id, limit,
 * and the Link header.
 * Layer: api. Ids are exclusive bounds; min_id pages forward from the
 * cursor (read ascending, answered newest first). */
#ifndef KITH_API_PAGE_H
#define KITH_API_PAGE_H

#include "../http/server.h"

#include <cjson/cJSON.h>

#include <stdint.h>

struct api_page {
    uint64_t max_id, since_id, min_id; /* 0: absent */
    size_t limit;                      /* clamped to 1..max, def when absent */
};

/* Reads the paging parameters; a bound that is not a number is ignored,
 * as Mastodon does. */
void api_page_read(struct http_ctx *ctx, size_t def, size_t max, struct api_page *p);
/* The lower bound of a page: since_id or min_id, whichever is higher. */
uint64_t api_page_floor(const struct api_page *p);
/* Adds Link: <...?max_id=oldest>; rel="next", <...?min_id=newest>; rel="prev",
 * keeping the request's other parameters; nothing for an empty page. */
void api_page_link(struct http_ctx *ctx, uint64_t newest, uint64_t oldest);
/* One page of an index whose keys are an owner's id then an item's id
 * (bookmarks, notifications, a list's accounts...): fn makes the entity of
 * each item (NULL: skipped), appended to arr newest first; the Link header
 * is added. Returns how many went in. */
typedef cJSON *api_item_fn(uint64_t id, struct str val, void *arg);
size_t api_page_index(struct http_ctx *ctx, struct kv_txn *txn, unsigned table, uint64_t owner,
                      const struct api_page *pg, cJSON *arr, api_item_fn *fn, void *arg);
/* A numeric path parameter; false (after a 404 reply) when not a number. */
bool api_id_param(struct http_ctx *ctx, const char *name, uint64_t *out);

#endif
