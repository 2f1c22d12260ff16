/* src/api/tags.c: hashtags: a tag's page (GET /api/v1/tags/:name), and
 * following tags, whose public posts then come into the home timeline
 * (core's tag_follow; the fan-out is in public_index). */
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "routes.h"

#include "../base/err.h"
#include "../core/feeds.h"
#include "../core/posts.h"

#include <string.h>

/* A tag name from the path: letters, digits, underscores (UTF-8 kept). */
static bool tag_param(struct http_ctx *ctx, struct str *out)
{
    struct str raw = route_param(&ctx->params, "name"), tag;
    if (http_pct_decode(&ctx->arena, raw, &tag) || !tag.len || tag.len > TAG_MAX_LEN)
        goto bad;
    for (size_t i = 0; i < tag.len; i++) {
        unsigned char ch = (unsigned char)tag.ptr[i];
        if (!(ch >= 0x80 || ch == '_' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
              (ch >= 'A' && ch <= 'Z')))
            goto bad;
    }
    *out = tag;
    return true;
bad:
    http_reply_error(ctx, 404, "Record not found");
    return false;
}

cJSON *api_tag(struct http_ctx *ctx, struct str tag, int following)
{
    const char *name = arena_str(&ctx->arena, tag).ptr;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "url", http_url(ctx, "/tags/%s", name));
    cJSON_AddArrayToObject(o, "history");
    if (following >= 0)
        cJSON_AddBoolToObject(o, "following", following);
    return o;
}

/* GET /api/v1/tags/:name */
static int handle_tag(struct http_ctx *ctx)
{
    struct api_who who;
    struct str tag;
    if (!api_auth_optional(ctx, "read", &who) || !tag_param(ctx, &tag))
        return HANDLER_DONE;
    int following = who.token.account_id ? tag_followed(who.txn, who.acct.id, tag) : -1;
    http_reply_json(ctx, 200, api_tag(ctx, tag, following));
    return HANDLER_DONE;
}

struct follow_req {
    uint64_t account;
    struct str tag;
    bool on;
};

static int apply_follow(struct kv_txn *txn, void *arg)
{
    struct follow_req *r = arg;
    return tag_follow(txn, r->account, r->tag, r->on);
}

static void followed(struct http_ctx *ctx, int rc, void *arg)
{
    struct follow_req *r = arg;
    if (rc)
        return http_reply_error(ctx, 500, "the change could not be stored: %s", kith_strerror(rc));
    http_reply_json(ctx, 200, api_tag(ctx, r->tag, r->on));
}

static int follow(struct http_ctx *ctx, bool on)
{
    struct api_who who;
    struct follow_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    if (!api_auth(ctx, "write:follows", true, &who) || !tag_param(ctx, &r->tag))
        return HANDLER_DONE;
    r->account = who.acct.id;
    r->on = on;
    if (http_write(ctx, apply_follow, r, followed, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int handle_follow(struct http_ctx *ctx)
{
    return follow(ctx, true);
}
static int handle_unfollow(struct http_ctx *ctx)
{
    return follow(ctx, false);
}

/* GET /api/v1/followed_tags: by name, up to limit (default 100, at most 200). */
static int handle_followed(struct http_ctx *ctx)
{
    struct api_who who;
    if (!api_auth(ctx, "read:follows", true, &who))
        return HANDLER_DONE;
    struct str l = http_query(ctx, "limit");
    size_t limit = 100;
    if (l.len) {
        size_t v = 0;
        for (size_t i = 0; i < l.len && i < 6 && l.ptr[i] >= '0' && l.ptr[i] <= '9'; i++)
            v = v * 10 + (size_t)(l.ptr[i] - '0');
        limit = v == 0 ? 100 : v > 200 ? 200 : v;
    }
    cJSON *arr = cJSON_CreateArray();
    struct kv_cursor *c;
    struct str key;
    struct key8 k = key_id(who.acct.id);
    size_t n = 0;
    if (kv_cursor_open(who.txn, T_FOLLOWED_TAGS, &c) == KITH_OK) {
        for (int rc = kv_cursor_seek(c, KEY8(k), &key, NULL);
             rc == KITH_OK && n < limit && key.len > 8 && memcmp(key.ptr, k.b, 8) == 0;
             rc = kv_cursor_next(c, &key, NULL), n++)
            cJSON_AddItemToArray(arr, api_tag(ctx, str_make(key.ptr + 8, key.len - 8), 1));
        kv_cursor_close(c);
    }
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

const struct route tag_routes[] = {
    {"GET", "/api/v1/tags/{name}", handle_tag, 0, "read"},
    {"POST", "/api/v1/tags/{name}/follow", handle_follow, 0, "write:follows"},
    {"POST", "/api/v1/tags/{name}/unfollow", handle_unfollow, 0, "write:follows"},
    {"GET", "/api/v1/followed_tags", handle_followed, 0, "read:follows"},
};
